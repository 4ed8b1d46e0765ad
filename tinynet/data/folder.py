"""ImageFolder: a labelled image set on disk, laid out as torchvision lays it out.

    root/
        cat/001.jpg  cat/002.png  ...        class 0 ("cat": class folders sorted by name)
        dog/xyz.jpeg dog/sub/abc.png ...     class 1 (images may sit in sub-folders of a class)

Every image is decoded with Pillow and converted to RGB, whatever its mode: grayscale ('L', '1'),
palette ('P'), 'CMYK', with alpha ('RGBA', 'LA', 'PA': the alpha channel is dropped, as
torchvision's loader does), 16-bit grayscale ('I;16', 'I': scaled to 8 bits, where Pillow alone
would clip them to white). A file that cannot be decoded raises CorruptImageError naming the file;
DataLoader catches it, skips the sample with a warning and lists the file in ``loader.skipped``.
"""
import os

import numpy as np
from PIL import Image

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")

_LAYOUT = "expected root/<class>/<image>, e.g. root/cat/001.jpg and root/dog/002.png"


class CorruptImageError(ValueError):
    """An image file that Pillow cannot decode. ``.path`` is the file, ``.reason`` what went wrong."""

    def __init__(self, path, reason):
        self.path, self.reason = str(path), str(reason)
        super().__init__(f"cannot decode image {self.path}: {self.reason}")

    def __reduce__(self):  # picklable with its two arguments (it may cross a process boundary)
        return type(self), (self.path, self.reason)


def load_rgb(path):
    """Decode the image file at ``path`` into a PIL image in mode 'RGB' of size (W, H).

    Raises CorruptImageError (naming the file) if Pillow cannot read it: not an image, an unknown
    format, truncated data, a decompression bomb.
    """
    try:
        with Image.open(path) as img:
            img.load()  # decode now: Image.open only reads the header, and a truncated file fails here
            return _to_rgb(img)
    except Exception as e:  # Pillow's plugins raise OSError, SyntaxError, ValueError, struct.error, ...
        raise CorruptImageError(path, f"{type(e).__name__}: {e}") from e


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


class ImageFolder:
    """Images in root/<class>/<image>, labelled by their class folder.

    Attributes:
        root          the folder given
        classes       class folder names, sorted: class index k is classes[k]
        class_to_idx  {class name: index}
        samples       [(path, class index)], class by class, each class's files sorted by path
        targets       [class index] for each sample

    ``ds[i]`` is ``(transform(img, rng), target)`` with ``rng = np.random.default_rng(i)``, or
    ``(img, target)`` (a PIL RGB image) without a transform; ``ds.load(i, rng)`` takes the generator
    explicitly (DataLoader passes one seeded from (seed, epoch, i)). Hidden files (".name") and
    files without an image extension (IMG_EXTENSIONS, any case) are ignored.
    """

    def __init__(self, root, transform=None):
        self.root = os.fspath(root)
        self.transform = transform
        if not os.path.exists(self.root):
            raise FileNotFoundError(f"ImageFolder: root {self.root!r} does not exist ({_LAYOUT})")
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"ImageFolder: root {self.root!r} is a file, not a folder ({_LAYOUT})")
        entries = sorted(os.scandir(self.root), key=lambda e: e.name)
        self.classes = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
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
            files = _image_files(os.path.join(self.root, c))
            if not files:
                empty.append(c)
            self.samples += [(f, self.class_to_idx[c]) for f in files]
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
        i = range(len(self))[i]  # IndexError for out-of-range, negative indices counted from the end
        return self.load(i, np.random.default_rng(i))

    def load(self, i, rng):
        """(sample, target) for sample ``i``, random transforms drawing from the Generator ``rng``.

        Raises CorruptImageError if the file cannot be decoded.
        """
        path, target = self.samples[i]
        img = load_rgb(path)
        if self.transform is not None:
            img = self.transform(img, rng)
        return img, target

    def __repr__(self):
        return (f"ImageFolder(root={self.root!r}, {len(self)} images, {len(self.classes)} classes, "
                f"transform={self.transform!r})")


def _image_files(folder):
    """Sorted paths of the image files under ``folder``, sub-folders included (symlinks followed)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [os.path.join(dirpath, f) for f in filenames if _is_image(f)]
    return sorted(found)


def _examples(names, k=3):
    shown = ", ".join(repr(n) for n in names[:k])
    return shown + (f", ... {len(names) - k} more" if len(names) > k else "")


def _describe(files):
    return f"{len(files)} non-image file(s) ({_examples(files)})" if files else "nothing"
