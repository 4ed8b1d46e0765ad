"""Packed image sets: decoded, resized uint8 pixels in memory-mapped shards and a JSON index.

    pack(src, out, size=256)              src/train/<class>/<image> (and src/val/) -> out/train/, out/val/
    PackedDataset(out / "train", tf)      len(), classes, load(i, rng): crops read straight from the shards
    open_packed(out, image_size)          (train set, val set) with AlexNet's transforms, as train.py uses
    is_packed(path)                       a split folder holding index.json, or a root holding train/index.json

On disk, per split (out/train/, out/val/):

    shard-00000.u8, shard-00001.u8 ...    raw uint8 RGB pixels, H x W x 3 (HWC), image after image, each shard
                                          up to ``shard_bytes`` (1 GiB; one larger image has a shard to itself)
    index.json                            {"format": "tinynet-packed", "version": 1, "split", "size",
                                           "classes": [names], "plan": <sha256 of what was packed>,
                                           "shards": [{"file", "bytes"}],
                                           "images": {"shard": [...], "offset": [...], "height": [...],
                                                      "width": [...], "label": [...], "source": [...]},
                                           "skipped": [{"source", "reason"}]}

``images`` holds one list per field, image k at position k of each (a column each, not a dict per image:
a third the size, and read straight into NumPy arrays for ImageNet's 1.28M images). ``source`` is the
file's path relative to the split folder it came from; ``offset`` is the byte offset of the image in
its shard. Images keep ImageFolder's order (classes sorted, files sorted), less the skipped ones.

Pixels: each image is decoded as ImageFolder decodes it (tinynet.data.folder: any mode to RGB), its
shorter side resized to ``size`` with the aspect ratio kept, by transforms.Resize's rule and resampling,
so every crop the folder allows is still possible, and for a PNG (lossless) source the packed image is
the very image the folder path makes: training on it gives the same samples, bit for bit, for the same
generators. A JPEG at least twice the target on both sides is decoded at a reduced DCT scale first
(Pillow's draft mode: the decoded size is still at least the target), which is faster and differs from
the full decode by a little interpolation.

Writing. Every file is written as ``<name>.tmp-<pid>`` and renamed into place when complete
(``os.replace``); a shard is named only after it is whole, and the small ``shard-NNNNN.json`` beside it
(which images it holds) only after the shard. Stopping a pack (Ctrl-C, a kill, a crash) therefore
leaves whole shards and their manifests, plus perhaps a temporary file. A rerun of the same command
resumes: it removes temporary files, keeps the run of whole shards (each with its manifest, for the same
plan: the same size, classes and source files in the same order), and packs on from the image after the
last one; a shard without a manifest, and any after a gap, are redone. When a split is complete its
index.json is written (atomically) and the manifests removed: a split with an index is done, and a
rerun leaves it be. A source file changed in place under the same name is not noticed: --overwrite
repacks. One pack at a time into one folder.

Reading. Nothing read here runs code: the index is JSON (no pickle), the shards are raw bytes mapped
read-only. A missing or damaged index or shard (bad JSON, another format or version, a shard that is
missing or not the size the index records, an image past its shard's end, a label outside the
classes) raises PackedFormatError (a ValueError) naming the file.
"""
import hashlib
import json
import os
import re
import stat
import warnings

import numpy as np
from PIL import Image

from tinynet._npz import TEMPORARY, remove_quietly, temporary_path, write_atomically
from tinynet.data.dataset import _index
from tinynet.data.folder import CorruptImageError, ImageFolder, _check_transform, load_rgb, target_size  # noqa: F401 (target_size: packed's own name for it, used by tests)
from tinynet.data.transforms import apply_to_pixels
from tinynet.validate import check_number, is_int

FORMAT = "tinynet-packed"
VERSION = 1
SPLITS = ("train", "val")
INDEX = "index.json"
SHARD_BYTES = 1 << 30
MAX_SIDE = 1 << 20  # the longest image side an index may record
_SHARD = re.compile(r"shard-(\d{5})\.u8")
_MANIFEST = re.compile(r"shard-(\d{5})\.json")
_OURS = re.compile(r"(shard-\d{5}\.(u8|json)|index\.json)(\.tmp-\d+)?")
_COLUMNS = ("shard", "offset", "height", "width", "label", "source")
_REPACK = "repack it with `tinynet data pack SRC OUT --overwrite`"


class PackedFormatError(ValueError):
    """A packed set's index or shard that is missing, damaged or of another format; the message names the file."""


# --- the pixels ------------------------------------------------------------------------------------
def decode(path, size):
    """The image file at ``path`` as uint8 (H, W, 3), RGB, its shorter side resized to ``size``.

    Decoded and resized as ImageFolder does with a transform that starts with Resize(size)
    (folder.load_rgb: a JPEG at least twice the target on both sides is decoded in Pillow's draft mode).
    Raises CorruptImageError naming the file if it cannot be decoded, is not a regular file, or would
    become too large to resize.
    """
    return np.asarray(load_rgb(path, size), dtype=np.uint8)


# --- reading ---------------------------------------------------------------------------------------
def is_packed(path):
    """Whether ``path`` is a packed split (it holds index.json) or a packed root (it holds train/index.json)."""
    path = os.fspath(path)
    return os.path.isfile(os.path.join(path, INDEX)) or os.path.isfile(os.path.join(path, "train", INDEX))


def _reject_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def read_index(path):
    """The JSON object in the index file ``path``; PackedFormatError naming it if it is not one."""
    if not os.path.exists(path):
        raise PackedFormatError(f"{path} does not exist: not a packed set (write one with `tinynet data pack`)")
    if not os.path.isfile(path):
        raise PackedFormatError(f"{path} is not a file: not a packed set's index")
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"), parse_constant=_reject_constant)
    except OSError as e:
        raise PackedFormatError(f"{path}: cannot read the index ({e.strerror or e})") from e
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise PackedFormatError(f"{path} is not a valid JSON index ({type(e).__name__}: {e}); {_REPACK}") from None
    if not isinstance(data, dict):
        raise PackedFormatError(f"{path} holds a JSON {type(data).__name__}, not a packed set's index; {_REPACK}")
    return data


def _ints(column, path, name, low, high):
    """``column`` (a JSON list) as an int64 array of values in [low, high]; PackedFormatError otherwise."""
    if not all(is_int(v) for v in column):
        raise PackedFormatError(f"{path}: images.{name} must be a list of ints; {_REPACK}")
    try:
        a = np.array(column, dtype=np.int64).reshape(len(column))
    except OverflowError:
        a = None
    if a is None or (len(a) and (a.min() < low or a.max() > high)):
        raise PackedFormatError(f"{path}: images.{name} holds a value outside {low}..{high}; {_REPACK}")
    return a


def check_index(data, path):
    """The index ``data`` (as read from ``path``) checked field by field; returns (shards, columns)
    with the columns as arrays (source: a list). Raises PackedFormatError naming ``path`` and the field."""
    def bad(what):
        return PackedFormatError(f"{path}: {what}; {_REPACK}")

    if data.get("format") != FORMAT:
        raise bad(f"format is {data.get('format')!r}, not {FORMAT!r}: not a tinynet packed set")
    if not is_int(data.get("version")) or data["version"] != VERSION:
        raise PackedFormatError(f"{path}: format version {data.get('version')!r}; this tinynet reads version "
                                f"{VERSION} only; {_REPACK}")
    size, classes, shards = data.get("size"), data.get("classes"), data.get("shards")
    if not is_int(size) or not 1 <= size <= MAX_SIDE:
        raise bad(f"size must be an int from 1 to {MAX_SIDE}, got {size!r}")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes) \
            or len(set(classes)) != len(classes):
        raise bad("classes must be a list of distinct non-empty names")
    if not isinstance(shards, list) or not all(
            isinstance(s, dict) and isinstance(s.get("file"), str) and _SHARD.fullmatch(s["file"])
            and is_int(s.get("bytes")) and 1 <= s["bytes"] < 2**62 for s in shards):
        raise bad('shards must be a list of {"file": "shard-NNNNN.u8", "bytes": n >= 1}')
    if len({s["file"] for s in shards}) != len(shards):
        raise bad("shards names a file twice")
    images, skipped = data.get("images"), data.get("skipped")
    if not isinstance(images, dict) or not all(isinstance(images.get(k), list) for k in _COLUMNS):
        raise bad(f"images must hold the lists {', '.join(_COLUMNS)}")
    n = len(images["shard"])
    if any(len(images[k]) != n for k in _COLUMNS):
        raise bad(f"the lists in images differ in length ({', '.join(f'{k} {len(images[k])}' for k in _COLUMNS)})")
    if not isinstance(skipped, list) or not all(isinstance(s, dict) and isinstance(s.get("source"), str)
                                                and isinstance(s.get("reason"), str) for s in skipped):
        raise bad('skipped must be a list of {"source": path, "reason": text}')
    cols = {"shard": _ints(images["shard"], path, "shard", 0, max(len(shards) - 1, 0)),
            "offset": _ints(images["offset"], path, "offset", 0, 2**62),
            "height": _ints(images["height"], path, "height", 1, MAX_SIDE),
            "width": _ints(images["width"], path, "width", 1, MAX_SIDE),
            "label": _ints(images["label"], path, "label", 0, len(classes) - 1)}
    if n and not shards:
        raise bad("images are listed but there are no shards")
    if not all(isinstance(s, str) for s in images["source"]):
        raise bad("images.source must be a list of paths")
    cols["source"] = list(images["source"])
    short = np.minimum(cols["height"], cols["width"])
    if np.any(short != size):
        k = int(np.flatnonzero(short != size)[0])
        raise bad(f"image {k} is {cols['height'][k]}x{cols['width'][k]}, but the set's shorter side is {size}")
    ends = cols["offset"] + cols["height"] * cols["width"] * 3
    limit = np.array([s["bytes"] for s in shards], dtype=np.int64)[cols["shard"]] if n else ends
    if np.any(ends > limit):
        k = int(np.flatnonzero(ends > limit)[0])
        raise bad(f"image {k} ({cols['source'][k]}) ends at byte {ends[k]}, past the end of "
                  f"{shards[cols['shard'][k]]['file']} ({limit[k]} bytes)")
    return shards, cols


class PackedDataset:
    """One split of a packed set (the folder holding index.json and its shards), read as ImageFolder is.

    Attributes:
        root          the split folder given
        size          the shorter side of every image
        classes       class names, as ImageFolder found them: class index k is classes[k]
        class_to_idx  {class name: index}
        targets       [class index] for each image
        sources       [path of each image's source file, relative to the split folder packed]
        skipped       [(source path, reason)] for the files the pack could not decode

    ``ds.load(i, rng)`` is ``(transform(img, rng), target)`` with ``img`` the packed image as a PIL RGB
    image (``(img, target)`` without a transform), as ImageFolder.load gives it; ``ds[i]`` uses
    ``rng = np.random.default_rng(i)``. ``ds.pixels(i)`` is the image as a read-only uint8 (H, W, 3) view
    of its shard's memory map. Shards are mapped on first use, so a DataLoader's worker processes can
    pickle the dataset ('spawn'): each maps the shards itself.
    """

    transform_gives_sample = True  # the DataLoader may split its transform (tinynet/data/loader.py)

    def __init__(self, root, transform=None):
        if not isinstance(root, (str, os.PathLike)) or not isinstance(os.fspath(root), str):
            raise TypeError(f"PackedDataset: root must be a folder path (str or os.PathLike), "
                            f"got {type(root).__name__} {root!r}")
        self.root = os.fspath(root)
        try:
            self.transform = _check_transform(transform)
        except TypeError as e:
            raise TypeError(str(e).replace("ImageFolder:", "PackedDataset:", 1)) from None
        index = os.path.join(self.root, INDEX)
        data = read_index(index)
        shards, cols = check_index(data, index)
        self.size = data["size"]
        self.classes = list(data["classes"])
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}
        self.skipped = [(s["source"], s["reason"]) for s in data["skipped"]]
        self.sources = cols["source"]
        self.targets = cols["label"].tolist()
        self._shard, self._offset = cols["shard"], cols["offset"]
        self._height, self._width = cols["height"], cols["width"]
        self._files = [os.path.join(self.root, s["file"]) for s in shards]
        for s, file in zip(shards, self._files):
            _check_shard(file, s["bytes"], index)
        self._maps = {}

    def __len__(self):
        return len(self.targets)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_maps"] = {}  # memory maps are not sent to workers: each maps the shards itself
        return state

    def pixels(self, i):
        """Image ``i`` as a read-only uint8 (H, W, 3) array: a view of its shard's memory map."""
        i = _index("PackedDataset", i, len(self))
        k = int(self._shard[i])
        if k not in self._maps:
            # A plain array over the map (it keeps the map open): slicing it skips np.memmap's Python overhead.
            self._maps[k] = np.memmap(self._files[k], dtype=np.uint8, mode="r").view(np.ndarray)
        h, w, start = int(self._height[i]), int(self._width[i]), int(self._offset[i])
        return self._maps[k][start:start + h * w * 3].reshape(h, w, 3)

    def load(self, i, rng):
        """(sample, target) for image ``i``, random transforms drawing from the Generator ``rng``."""
        if self.transform is None:
            return Image.fromarray(np.array(self.pixels(i))), self.targets[i]  # a copy, not the map
        # Crops and flips as views of the map, one copy at ToPixels or ToArray: no PIL image made
        # (a third of the cost of a sample), the same result as through one.
        return apply_to_pixels(self.transform, self.pixels(i), rng), self.targets[i]

    def __getitem__(self, i):
        i = _index("PackedDataset", i, len(self))
        return self.load(i, np.random.default_rng(i))

    def __repr__(self):
        return (f"PackedDataset(root={self.root!r}, {len(self)} images of {self.size} px (shorter side), "
                f"{len(self.classes)} classes, transform={self.transform!r})")


def _check_shard(file, expected, index):
    try:
        st = os.stat(file)
    except FileNotFoundError:
        raise PackedFormatError(f"{file} is missing (the index {index} lists it); {_REPACK}") from None
    except OSError as e:
        raise PackedFormatError(f"{file}: cannot read the shard ({e.strerror or e})") from e
    if not stat.S_ISREG(st.st_mode):
        raise PackedFormatError(f"{file} is not a regular file; {_REPACK}")
    if st.st_size != expected:
        how = "truncated" if st.st_size < expected else "longer than the index says"
        raise PackedFormatError(f"{file} is {how}: {st.st_size} bytes, the index {index} records {expected}; "
                                f"{_REPACK}")


def open_packed(root, image_size):
    """(train set, val set) of the packed set at ``root`` (root/train/, root/val/), with
    transforms.train_transform(image_size) and eval_transform(image_size), as train.py builds them
    from an image folder. The set's size must be at least the transforms' Resize side
    (round(image_size * 256 / 224): 256 for 224); at exactly that side the samples are the image
    folder's own (for lossless sources), larger ones are resized down again per sample."""
    from tinynet.data import transforms

    root = os.fspath(root)
    train_tf, val_tf = transforms.train_transform(image_size), transforms.eval_transform(image_size)
    side = train_tf.transforms[0].size  # the Resize that opens both pipelines
    sets = []
    for split, tf in (("train", train_tf), ("val", val_tf)):
        folder = os.path.join(root, split)
        if not os.path.isfile(os.path.join(folder, INDEX)):
            raise FileNotFoundError(f"{root} has no {split}/{INDEX}: expected a packed set with train/ and val/ "
                                    f"(`tinynet data pack SRC {root}` writes one)")
        ds = PackedDataset(folder, tf)
        if ds.size < side:
            raise ValueError(f"{folder} was packed at --size {ds.size}, smaller than the {side} that --image-size "
                             f"{image_size} resizes to: repack with --size {side}")
        if not len(ds):
            raise ValueError(f"{folder} holds no images (all {len(ds.skipped)} were skipped when packed)")
        sets.append(ds)
    train_set, val_set = sets
    if train_set.classes != val_set.classes:
        raise ValueError(f"train/ and val/ of {root} have different classes: {train_set.classes} vs "
                         f"{val_set.classes}")
    return train_set, val_set


# --- writing ---------------------------------------------------------------------------------------
def _write_json(path, obj):
    data = json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")
    write_atomically(path, lambda f: f.write(data))


def _plan(size, classes, files):
    """What a split's pack is made of, as a digest: the format, the size, the classes, the files in order."""
    text = json.dumps([FORMAT, VERSION, size, classes, files], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _shard_name(k):
    return f"shard-{k:05d}.u8"


def _manifest_name(k):
    return f"shard-{k:05d}.json"


def _foreign(out):
    """The first entry under ``out`` that a pack would not have written, or None."""
    for name in sorted(os.listdir(out)):
        d = os.path.join(out, name)
        if name not in SPLITS or os.path.islink(d) or not os.path.isdir(d):
            return d
        for f in sorted(os.listdir(d)):
            path = os.path.join(d, f)
            if not _OURS.fullmatch(f) or os.path.islink(path) or not os.path.isfile(path):
                return path
    return None


def _clear(split_out, everything):
    """Remove temporary files (and with ``everything`` all packed files) from the split folder."""
    for f in os.listdir(split_out):
        if _OURS.fullmatch(f) and (everything or TEMPORARY.fullmatch(f)):
            os.remove(os.path.join(split_out, f))


def _read_manifest(path):
    """The JSON object in the shard manifest ``path``, or None if it cannot be read as one."""
    try:
        with open(path, "rb") as f:
            m = json.loads(f.read().decode("utf-8"), parse_constant=_reject_constant)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return m if isinstance(m, dict) else None


def _manifest_ok(m, plan, first, n, shard_size):
    """Whether the manifest ``m`` describes a whole shard of ``shard_size`` bytes of ``plan``, from image
    ``first`` on: its images back to back from byte 0, their indices and the skipped ones in order inside
    [first, end), end <= n."""
    im, skipped = m["images"], m["skipped"]
    if not (m["format"] == FORMAT + "-shard" and m["version"] == VERSION and m["plan"] == plan
            and m["first"] == first and is_int(m["end"]) and first < m["end"] <= n and m["bytes"] == shard_size
            and len({len(im[k]) for k in ("index", "offset", "height", "width")}) == 1 and im["index"]):
        return False
    values = im["index"] + im["offset"] + im["height"] + im["width"] + [s["index"] for s in skipped]
    if not all(is_int(v) and v >= 0 for v in values) or not all(isinstance(s["reason"], str) for s in skipped):
        return False
    order = sorted(im["index"] + [s["index"] for s in skipped])
    ends = np.cumsum([h * w * 3 for h, w in zip(im["height"], im["width"])]).tolist()
    return (len(set(order)) == len(order) and first <= order[0] and order[-1] < m["end"]
            and im["offset"] == [0] + ends[:-1] and ends[-1] == shard_size and im["index"] == sorted(im["index"]))


def _resumable(split_out, plan, n):
    """(manifests, next image): the whole shards 0, 1, ... an interrupted pack of ``plan`` left, each
    with its manifest and of the size it records, in an unbroken run; every later shard file and
    manifest is removed."""
    kept, end = [], 0
    while True:
        k = len(kept)
        m = _read_manifest(os.path.join(split_out, _manifest_name(k)))
        try:
            ok = _manifest_ok(m, plan, end, n, os.path.getsize(os.path.join(split_out, _shard_name(k))))
        except (OSError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            break
        kept.append(m)
        end = m["end"]
    for f in os.listdir(split_out):
        match = _SHARD.fullmatch(f) or _MANIFEST.fullmatch(f)
        if match and int(match.group(1)) >= len(kept):
            os.remove(os.path.join(split_out, f))
    return kept, end


def _pack_split(src, out, split, size, shard_bytes, overwrite, progress):
    """Pack src/<split> into out/<split>; returns that split's summary."""
    from tqdm import tqdm

    folder = ImageFolder(os.path.join(src, split))
    base = os.path.join(src, split)
    files = [(os.path.relpath(p, base), label) for p, label in folder.samples]
    plan = _plan(size, folder.classes, files)
    split_out = os.path.join(out, split)
    index_path = os.path.join(split_out, INDEX)
    os.makedirs(split_out, exist_ok=True)
    _clear(split_out, everything=overwrite)
    if os.path.exists(index_path):
        data = read_index(index_path)
        if data.get("plan") != plan:
            images = data.get("images")
            count = len(images.get("shard", [])) if isinstance(images, dict) else "?"
            raise ValueError(f"{index_path} is a packed set of other images or another --size (its size "
                             f"{data.get('size')!r}, {count} images); --overwrite replaces it")
        PackedDataset(split_out)  # every shard whole too, or a PackedFormatError naming the first that is not
        for f in os.listdir(split_out):
            if _MANIFEST.fullmatch(f):  # a pack stopped after writing the index: its manifests are spent
                os.remove(os.path.join(split_out, f))
        return {"images": len(data["images"]["shard"]), "skipped": data["skipped"], "shards": len(data["shards"]),
                "resumed": "complete"}
    for f in sorted(os.listdir(split_out)):
        m = _read_manifest(os.path.join(split_out, f)) if _MANIFEST.fullmatch(f) else None
        if m is not None and m.get("plan") != plan:
            raise ValueError(f"{split_out} holds an unfinished pack of other images or another --size "
                             f"({f}); --overwrite replaces it")
    manifests, start = _resumable(split_out, plan, len(files))
    bar = tqdm(total=len(files), initial=start, desc=f"pack {split}", unit="img", disable=not progress,
               leave=False, dynamic_ncols=True)
    carry = None  # (index, pixels) decoded, waiting for the next shard
    i, tail_skipped = start, []
    try:
        while i < len(files) or carry is not None:
            k = len(manifests)
            shard = os.path.join(split_out, _shard_name(k))
            tmp = temporary_path(shard)
            m = {"format": FORMAT + "-shard", "version": VERSION, "plan": plan, "first": i if carry is None
                 else carry[0], "bytes": 0, "images": {"index": [], "offset": [], "height": [], "width": []},
                 "skipped": []}
            f = None
            try:
                while i < len(files) or carry is not None:
                    if carry is None:
                        try:
                            carry = (i, decode(os.path.join(base, files[i][0]), size))
                        except CorruptImageError as e:
                            m["skipped"].append({"index": i, "reason": e.reason})
                            i, carry = i + 1, None
                            bar.update(1)
                            continue
                        i += 1
                    j, pixels = carry
                    if m["bytes"] and m["bytes"] + pixels.nbytes > shard_bytes:
                        break  # the shard is full: this image opens the next one
                    if f is None:
                        if os.path.lexists(tmp):
                            os.remove(tmp)
                        f = open(tmp, "xb")
                    f.write(memoryview(np.ascontiguousarray(pixels)).cast("B"))
                    for key, v in zip(("index", "offset", "height", "width"), (j, m["bytes"], *pixels.shape[:2])):
                        m["images"][key].append(int(v))
                    m["bytes"] += pixels.nbytes
                    carry = None
                    bar.update(1)
                m["end"] = carry[0] if carry is not None else i
                if f is not None:
                    f.flush()
                    os.fsync(f.fileno())
                    f.close()
                    f = None
                    os.replace(tmp, shard)
            except BaseException:
                if f is not None:
                    f.close()
                remove_quietly(tmp)
                raise
            if not m["bytes"]:
                tail_skipped = m["skipped"]  # only unreadable files after the last shard: no shard for them
                break
            _write_json(os.path.join(split_out, _manifest_name(k)), m)
            manifests.append(m)
    except KeyboardInterrupt:
        done = manifests[-1]["end"] if manifests else 0
        raise KeyboardInterrupt(f"interrupted: {len(manifests)} whole shard(s) of {split}/ ({done} of {len(files)} "
                                f"images) kept in {split_out}; run the same command again to go on") from None
    finally:
        bar.close()
    index = _index_of(manifests, tail_skipped, files, folder.classes, size, plan, split)
    check_index(index, index_path)
    if not index["images"]["shard"]:
        raise ValueError(f"none of the {len(files)} image files in {base} can be decoded, e.g. "
                         f"{index['skipped'][0]['source']}: {index['skipped'][0]['reason']}")
    _write_json(index_path, index)
    for k in range(len(manifests)):
        remove_quietly(os.path.join(split_out, _manifest_name(k)))
    return {"images": len(index["images"]["shard"]), "skipped": index["skipped"], "shards": len(manifests),
            "resumed": "resumed" if start else "new"}


def _index_of(manifests, tail_skipped, files, classes, size, plan, split):
    cols = {k: [] for k in _COLUMNS}
    skipped = []
    for k, m in enumerate(manifests):
        im = m["images"]
        cols["shard"] += [k] * len(im["index"])
        cols["offset"] += im["offset"]
        cols["height"] += im["height"]
        cols["width"] += im["width"]
        cols["label"] += [files[j][1] for j in im["index"]]
        cols["source"] += [files[j][0] for j in im["index"]]
        skipped += m["skipped"]
    skipped = [{"source": files[s["index"]][0], "reason": s["reason"]} for s in skipped + tail_skipped]
    return {"format": FORMAT, "version": VERSION, "split": split, "size": size, "classes": classes, "plan": plan,
            "shards": [{"file": _shard_name(k), "bytes": m["bytes"]} for k, m in enumerate(manifests)],
            "images": cols, "skipped": skipped}


def pack(src, out, size=256, overwrite=False, shard_bytes=SHARD_BYTES, progress=False):
    """Pack the image folder ``src`` (src/train/<class>/<image>, and src/val/ if there is one) into ``out``.

    size         the shorter side of every packed image (an int >= 1); 256 for AlexNet's 224 crops
    overwrite    replace a packed set already in ``out`` (other files there are left alone); without it,
                 ``out`` must be new, empty, or a pack of the same images at the same size (a rerun:
                 it resumes, or finds the work done)
    shard_bytes  the most bytes of pixels in one shard (an image larger than that has a shard to itself)
    progress     show a progress bar (tqdm, on stderr)

    Unreadable source files are skipped: one UserWarning per split names the first few, and the index's
    ``skipped`` lists them all. Returns {"root": out, "size": size, "splits": {split: {"images": n,
    "skipped": [{"source", "reason"}], "shards": k, "resumed": "new" | "resumed" | "complete"}}}.
    """
    check_number("--size", size, integer=True, low=1, high=MAX_SIDE)
    check_number("shard_bytes", shard_bytes, integer=True, low=1)
    for flag, path in (("SRC", src), ("OUT", out)):
        if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str) or not os.fspath(path):
            raise ValueError(f"{flag} {path!r}: need a folder path")
    src, out = os.fspath(src), os.fspath(out)
    if not os.path.isdir(src):
        raise FileNotFoundError(f"SRC {src} is not a folder" if os.path.exists(src) else f"SRC {src} does not exist")
    if not os.path.isdir(os.path.join(src, "train")):
        raise FileNotFoundError(f"SRC {src} has no train/ folder: expected {src}/train/<class>/<image> (and "
                                f"{src}/val/<class>/<image>)")
    real_out, real_src = os.path.realpath(out), os.path.realpath(src)
    if real_out == real_src or any(real_out == p or real_out.startswith(p + os.sep)
                                   for p in (os.path.join(real_src, s) for s in SPLITS)):
        raise ValueError(f"OUT {out} is SRC {src} or lies in one of its split folders: choose another folder")
    if os.path.lexists(out) and not os.path.isdir(out):
        raise ValueError(f"OUT {out} is {'a broken link' if os.path.islink(out) else 'a file, not a folder'}")
    if os.path.isdir(out) and not overwrite:
        other = _foreign(out)
        if other is not None:
            raise ValueError(f"OUT {out} is not a packed set ({other} was not written by `tinynet data pack`): "
                             f"choose a new or empty folder, or pass --overwrite to write the packed set there "
                             f"(its other files are left alone)")
    os.makedirs(out, exist_ok=True)
    splits = {}
    for split in SPLITS:
        if split == "train" or os.path.isdir(os.path.join(src, split)):
            s = splits[split] = _pack_split(src, out, split, size, shard_bytes, overwrite, progress)
            if s["skipped"]:
                shown = "; ".join(f"{x['source']} ({x['reason']})" for x in s["skipped"][:5])
                more = len(s["skipped"]) - 5
                warnings.warn(f"tinynet data pack: skipped {len(s['skipped'])} unreadable file(s) in "
                              f"{os.path.join(src, split)}: {shown}" + (f"; ... {more} more" if more > 0 else "")
                              + f" (all in {os.path.join(out, split, INDEX)}, 'skipped')", UserWarning, stacklevel=2)
    return {"root": out, "size": size, "splits": splits}
