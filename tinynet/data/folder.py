"""ImageFolder: a labelled image set on disk, laid out as torchvision lays it out.

    root/
        cat/001.jpg  cat/002.png  ...        class 0 ("cat": class folders sorted by name)
        dog/xyz.jpeg dog/sub/abc.png ...     class 1 (images may sit in sub-folders of a class)

Every image is decoded with Pillow and converted to RGB, whatever its mode: grayscale ('L', '1'),
palette ('P'), 'CMYK', with alpha ('RGBA', 'LA', 'PA': the alpha channel is dropped, as
torchvision's loader does), 16-bit grayscale ('I;16', 'I': scaled to 8 bits, where Pillow alone
would clip them to white). A file that cannot be decoded raises CorruptImageError naming the file;
DataLoader catches it, skips the sample with a warning and lists the file in ``loader.skipped``.

Links. A file link to an image (anywhere, e.g. a subset built with ``ln -s``) is an image of the class
it sits in. A directory link inside a class folder is followed only if its target stays inside that
class folder and is neither the folder holding the link nor one of its ancestors, nor a folder that
was walked already; anything else (``ln -s .. cat/loop``, ``ln -s ../dog cat/dogs``) is skipped, as
is a broken link. Each skipped link is listed in ``ImageFolder.skipped_links`` as (path, reason), and
one warning per ImageFolder says how many were skipped and names the first few. A class folder that
is itself a link (root/cat -> /elsewhere/cat) is fine: its target is the folder the rule refers to;
class folders that are the same folder, lie inside one another, or hold the root (root/all -> .)
are refused with a ValueError naming them, since their images would carry two labels. Plain
sub-folders are walked before any directory link is followed, so of a folder reachable both
directly and through a link, the link is the one skipped.

A folder that cannot be listed (no permission, an I/O error), the root or any folder under a class,
is an error naming it: the set would otherwise lose images without a word.
"""
import inspect
import operator
import os
import stat
import warnings

import numpy as np
from PIL import Image

from tinynet.data.transforms import Compose, Resize
from tinynet.validate import is_int

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

_LAYOUT = "expected root/<class>/<image>, e.g. root/cat/001.jpg and root/dog/002.png"


class CorruptImageError(ValueError):
    """An image file that Pillow cannot decode. ``.path`` is the file, ``.reason`` what went wrong."""

    def __init__(self, path, reason):
        self.path, self.reason = str(path), str(reason)
        super().__init__(f"cannot decode image {self.path}: {self.reason}")

    def __reduce__(self):  # picklable with its two arguments (it may cross a process boundary)
        return type(self), (self.path, self.reason)


def load_rgb(path, shorter=None):
    """Decode the image file at ``path`` into a PIL image in mode 'RGB' of size (W, H).

    ``shorter``: an int, the side that a Resize(shorter) coming next would give the shorter side; the
    image is then returned so resized already (the Resize has nothing left to do). A JPEG at least twice
    that on both sides is first decoded in Pillow's draft mode, at the smallest DCT scale of 1/2, 1/4 or 1/8
    that keeps it at least the target size: several times faster for a large photo (1/8 of a 12-megapixel
    image's pixels), and it differs from the full decode by a little interpolation.

    Raises CorruptImageError (naming the file) if Pillow cannot read it: not an image, an unknown
    format, truncated data, a decompression bomb, an image too large to resize; or if it is not a
    regular file (a FIFO would block).
    """
    if shorter is not None and (not is_int(shorter) or shorter <= 0):
        raise ValueError(f"load_rgb: shorter must be None or a positive int (a Resize side), got {shorter!r}")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device named *.png would block the reader
            raise ValueError("not a regular file")
        with Image.open(path) as img:
            w, h = img.size
            target = None if shorter is None else target_size(w, h, shorter)
            drafted = target is not None and img.format == "JPEG" and w >= 2 * target[0] and h >= 2 * target[1]
            if drafted:
                img.draft("RGB", target)
            img.load()  # decode now: Image.open only reads the header, and a truncated file fails here
            rgb = _to_rgb(img)
        if target is None:
            return rgb
        if drafted and (rgb.width < target[0] or rgb.height < target[1]):
            raise AssertionError(f"draft mode decoded {rgb.width}x{rgb.height}, smaller than {target}")
        if drafted:
            return rgb if rgb.size == target else rgb.resize(target, Image.BILINEAR)
        return Resize(shorter)(rgb)
    except Exception as e:  # Pillow's plugins raise OSError, SyntaxError, ValueError, struct.error, ...
        raise CorruptImageError(path, f"{type(e).__name__}: {e}") from e


def target_size(width, height, size):
    """(W, H) of an image of ``width`` x ``height`` once its shorter side is ``size``: the rule of
    transforms.Resize(size), the longer side ``long * size / short`` truncated."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def leading_resize(transform):
    """The int ``size`` of a Resize(size) that ``transform`` (a Compose) starts with, or None."""
    steps = getattr(transform, "transforms", None)
    if type(transform) is Compose and steps and type(steps[0]) is Resize and not np.ndim(steps[0].size):
        return steps[0].size
    return None


def _to_rgb(img):
    if img.mode == "RGB":
        return img  # decoded already: the pixels outlive the file, which Image.open's `with` closes
    if img.mode.startswith("I;16") or img.mode == "I":
        # 16-bit grayscale (PNG): 0..65535 -> 0..255. Pillow's own convert would clip at 255.
        a = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")  # through RGBA, as Pillow asks, so the palette's transparency is handled
    return img.convert("RGB")


def _is_image(name):
    return name.lower().endswith(IMG_EXTENSIONS) and not name.startswith(".")


def image_index(name, i, n):
    """``i`` as an index 0..n-1 into a set of ``n`` images (negative ones counted from the end), or a
    TypeError / IndexError naming ``name`` (the dataset's class) and the valid range."""
    if isinstance(i, (bool, np.bool_)):
        raise TypeError(f"{name} index must be an int, got {i!r} (bool)")
    try:
        i = operator.index(i)
    except TypeError:
        raise TypeError(f"{name} index must be an int from {-n} to {n - 1} (the dataset holds {n} images), "
                        f"got {type(i).__name__} {i!r}") from None
    if not -n <= i < n:
        raise IndexError(f"{name} index {i} is out of range: the dataset holds {n} images "
                         f"(indices {-n} to {n - 1})")
    return i % n


class ImageFolder:
    """Images in root/<class>/<image>, labelled by their class folder.

    Attributes:
        root          the folder given
        classes       class folder names, sorted: class index k is classes[k]
        class_to_idx  {class name: index}
        samples       [(path, class index)], class by class, each class's files sorted by path
        targets       [class index] for each sample
        skipped_links [(link path, reason)] for the links not followed (see the module docstring)

    ``transform`` is None or a callable taking (img, rng), checked when the set is made.
    ``ds[i]`` is ``(transform(img, rng), target)`` with ``rng = np.random.default_rng(i)``, or
    ``(img, target)`` (a PIL RGB image) without a transform; ``ds.load(i, rng)`` takes the generator
    explicitly (DataLoader passes one seeded from (seed, epoch, i)). Hidden files (".name") and
    files without an image extension (IMG_EXTENSIONS, any case) are ignored.
    """

    transform_gives_sample = True  # the DataLoader may split its transform (tinynet/data/loader.py)

    def __init__(self, root, transform=None):
        if not isinstance(root, (str, os.PathLike)) or not isinstance(os.fspath(root), str):
            raise TypeError(f"ImageFolder: root must be a folder path (str or os.PathLike), "
                            f"got {type(root).__name__} {root!r}")
        self.root = os.fspath(root)
        self.transform = _check_transform(transform)
        if not self.root:
            raise ValueError(f"ImageFolder: root is an empty string; give the folder ({_LAYOUT})")
        if not os.path.exists(self.root):
            raise FileNotFoundError(f"ImageFolder: root {self.root!r} does not exist ({_LAYOUT})")
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"ImageFolder: root {self.root!r} is a file, not a folder ({_LAYOUT})")
        entries = _list(self.root, "the root")
        self.skipped_links = [(e.path, _broken(e.path)) for e in entries
                              if e.is_symlink() and _broken(e.path) and not e.name.startswith(".")]
        self.classes = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
        _check_class_folders(self.root, self.classes)
        if not self.classes:
            loose = [e.name for e in entries if e.is_file()]
            images = [n for n in loose if _is_image(n)]
            found = (f"{len(images)} image file(s) directly in the root ({_examples(images)}) but no class "
                     "sub-folders" if images else f"{_describe(loose)} and no class sub-folders")
            raise ValueError(f"ImageFolder: {self.root!r} holds {found}; {_LAYOUT}")
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}
        self.samples = []
        empty = []
        for c in self.classes:
            files, skipped = _image_files(os.path.join(self.root, c), c)
            self.skipped_links += skipped
            if not files:
                empty.append(c)
            self.samples += [(f, self.class_to_idx[c]) for f in files]
        if self.skipped_links:
            shown = "; ".join(f"{p} ({why})" for p, why in self.skipped_links[:3])
            more = len(self.skipped_links) - 3
            warnings.warn(f"ImageFolder: skipped {len(self.skipped_links)} link(s) under {self.root!r}: {shown}"
                          + (f"; ... {more} more" if more > 0 else "") + " (all in ImageFolder.skipped_links)",
                          UserWarning, stacklevel=2)
        if not self.samples:
            raise ValueError(f"ImageFolder: {self.root!r} has {len(self.classes)} class folder(s) "
                             f"({_examples(self.classes)}) but no image files in them "
                             f"(extensions {', '.join(IMG_EXTENSIONS)}); {_LAYOUT}")
        if empty:
            raise ValueError(f"ImageFolder: class folder(s) {_examples(empty)} in {self.root!r} hold no image "
                             f"files (extensions {', '.join(IMG_EXTENSIONS)}); every class needs at least one "
                             f"image ({_LAYOUT})")
        self.targets = [t for _, t in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        i = image_index("ImageFolder", i, len(self))
        return self.load(i, np.random.default_rng(i))

    def load(self, i, rng):
        """(sample, target) for sample ``i``, random transforms drawing from the Generator ``rng``.

        Raises CorruptImageError if the file cannot be decoded.
        """
        path, target = self.samples[i]
        img = load_rgb(path, leading_resize(self.transform))  # a large JPEG is decoded at a reduced scale
        if self.transform is not None:
            img = self.transform(img, rng)
        return img, target

    def __repr__(self):
        return (f"ImageFolder(root={self.root!r}, {len(self)} images, {len(self.classes)} classes, "
                f"transform={self.transform!r})")


def _broken(link):
    """Why the link ``link`` leads nowhere ("broken link: ..."), or None when its target exists."""
    try:
        os.stat(link)
        return None
    except FileNotFoundError:
        return "broken link: its target does not exist"
    except OSError as e:  # ELOOP: a chain of links that comes back to itself; EACCES ...
        return f"broken link: {e.strerror or type(e).__name__}"


def _within(path, folder):
    """Whether the real path ``path`` is ``folder`` or lies under it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _check_class_folders(root, classes):
    """Refuse class folders that are, hold or lie in the root or one another (through links)."""
    home = os.path.realpath(root)
    real = {c: os.path.realpath(os.path.join(root, c)) for c in classes}
    owner = {}
    for c in classes:
        if _within(home, real[c]):
            raise ValueError(f"ImageFolder: class folder {os.path.join(root, c)!r} is a link to {real[c]!r}, "
                             f"which holds the root {root!r} itself: its images would be labelled {c!r} "
                             f"as well as their own class; remove the link")
        if real[c] in owner:
            raise ValueError(f"ImageFolder: class folders {owner[real[c]]!r} and {c!r} in {root!r} are the "
                             f"same folder {real[c]!r} (through a link): each image must belong to one class")
        owner[real[c]] = c
    for c in classes:
        up = os.path.dirname(real[c])
        while up and up not in owner and os.path.dirname(up) != up:
            up = os.path.dirname(up)
        if up in owner:
            raise ValueError(f"ImageFolder: class folder {c!r} in {root!r} is {real[c]!r}, inside class "
                             f"folder {owner[up]!r} ({up!r}): each image must belong to one class")


def _check_transform(transform):
    """``transform`` itself, once it is None or callable as transform(img, rng)."""
    if transform is None:
        return None
    if not callable(transform):
        raise TypeError(f"ImageFolder: transform must be callable as transform(img, rng) or None, "
                        f"got {type(transform).__name__} {transform!r}")
    try:
        signature = inspect.signature(transform)
    except (TypeError, ValueError):  # some builtins have no signature to read: trust them
        return transform
    try:
        signature.bind(None, None)
    except TypeError:
        raise TypeError(f"ImageFolder: transform {transform!r} cannot be called as transform(img, rng) "
                        f"(its signature is {signature}); tinynet's transforms take the random generator "
                        f"as a second argument (see tinynet.data.transforms)") from None
    return transform


def _list(folder, what):
    """The entries of ``folder`` sorted by name; an OSError names the folder (``what`` says which it is)."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise type(e)(f"ImageFolder: cannot list {what} {folder!r} ({reason}); fix its permissions, "
                      f"or move it out of the data folder") from e


def _image_files(folder, name):
    """(files, skipped): sorted paths of the image files under the class folder ``folder`` (class
    ``name``), sub-folders included, and [(link path, reason)] for the links not followed.

    An explicit stack walks the plain sub-folders first; directory links wait in a queue and are
    followed afterwards, one at a time in the order found, only when their target stays inside the
    class folder and is not an ancestor of the link or a folder walked already (see the module
    docstring). Hidden entries (".name") are ignored.
    """
    top = os.path.realpath(folder)
    walked = {}   # real path of every folder walked -> the path it was walked under
    files, skipped, links = [], [], []
    stack = [(folder, top)]
    while stack or links:
        if not stack:
            link, parent = links.pop(0)
            target = os.path.realpath(link)
            reason = _link_problem(target, parent, top, name, walked)
            if reason:
                skipped.append((link, reason))
            else:
                stack.append((link, target))
            continue
        path, real = stack.pop()
        walked[real] = path
        subfolders = []
        for e in _list(path, f"a folder of class {name!r},"):
            if e.name.startswith("."):
                continue
            if e.is_symlink():
                broken = _broken(e.path)
                if broken:
                    skipped.append((e.path, broken))
                elif e.is_dir():
                    links.append((e.path, real))
                elif _is_image(e.name):
                    files.append(e.path)  # a file link: the image it points at, wherever it lies
            elif e.is_dir():
                subfolders.append((e.path, os.path.join(real, e.name)))
            elif _is_image(e.name):
                files.append(e.path)
        stack += reversed(subfolders)  # popped in name order
    return sorted(files), skipped


def _link_problem(target, parent, top, name, walked):
    """Why the directory link in the folder ``parent`` (a real path) to ``target`` must not be followed, or None."""
    if _within(parent, target):
        return "loops back to an ancestor"
    if not _within(target, top):
        return f"leaves the class folder {name!r}"
    if target in walked:
        return f"leads to a folder walked already ({walked[target]})"
    return None


def _examples(names, k=3):
    shown = ", ".join(repr(n) for n in names[:k])
    return shown + (f", ... {len(names) - k} more" if len(names) > k else "")


def _describe(files):
    return f"{len(files)} non-image file(s) ({_examples(files)})" if files else "nothing"
