"""What the dataset file formats share (CIFAR in tinynet/data/cifar.py, MNIST's IDX in tinynet/data/mnist.py):
the error that names a file, and the dataset of images held as one uint8 array.

    DatasetFileError(path, reason)   a file of a data set that is missing or not what its format says;
                                     a ValueError whose message starts with the path
    ArrayImageSet                    len(), [i] and load(i, rng) as ImageFolder has them: sample i is
                                     (transform(PIL RGB image, rng), class index)

A format's class reads its files once when it is made, checking every size and label, so a broken
file is an error naming it before any training starts. Its images are then one uint8 array, ``data``:
(N, H, W, 3) for colour, (N, H, W) for grey, as torchvision's datasets hold them. A grey image becomes
an RGB PIL image with the grey value repeated in the three channels, so the transforms ImageFolder's
images go through (tinynet.data.transforms) apply unchanged, Resize included: a 32x32 or 28x28 image is
resized up to the model's input like any other.

Pickled into a DataLoader worker ('spawn'), a set carries its file paths, not its pixels: the worker
reads the files again on its first sample (a binary file is memory-mapped, so that costs nothing).
"""
import os

import numpy as np
from PIL import Image

from tinynet.data.folder import _check_transform, image_index


class DatasetFileError(ValueError):
    """A file of a data set that is missing or malformed. ``.path`` is the file, ``.reason`` what is wrong."""

    def __init__(self, path, reason):
        self.path, self.reason = str(path), str(reason)
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):  # picklable with its two arguments (it may cross a process boundary)
        return type(self), (self.path, self.reason)


def require_file(folder, name, what):
    """The path of ``folder/name``, or DatasetFileError naming it when it is not a file (``what``: the layout)."""
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        reason = "is a folder, not a file" if os.path.isdir(path) else "is missing"
        raise DatasetFileError(path, f"{reason} ({what} has {name} here)")
    return path


def read_bytes(path):
    """The whole file at ``path``; an OSError becomes DatasetFileError naming it."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise DatasetFileError(path, f"cannot read it ({e.strerror or type(e).__name__})") from e


def check_labels(path, labels, count, what="labels"):
    """``labels`` (a 1-d integer array) as int64, or DatasetFileError naming ``path`` when one is outside 0..count-1."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise DatasetFileError(path, f"{what} must be a list of integers, got an array of {labels.dtype} "
                                     f"and shape {labels.shape}")
    bad = np.flatnonzero((labels < 0) | (labels >= count))
    if bad.size:
        k = int(bad[0])
        raise DatasetFileError(path, f"{what}[{k}] is {int(labels[k])}, outside 0..{count - 1} "
                                     f"({bad.size} out of range)")
    return labels.astype(np.int64)


class ArrayImageSet:
    """Images held as one uint8 array, with their class indices: the base of CIFAR10, CIFAR100, MNIST.

    A subclass sets ``root``, ``train``, ``classes`` in ``__init__``, then calls ``_init(transform)``; it
    writes ``_read()``, which reads and checks the files, sets ``targets`` and returns ``data``:
    (N, H, W, 3) uint8 RGB or (N, H, W) uint8 grey (a view of a memory map is fine).

    Attributes: data, targets (list of class indices), classes, class_to_idx, root, train, transform.
    ``ds[i]`` is ``load(i, np.random.default_rng(i))``, as in ImageFolder.
    """

    transform_gives_sample = True  # the DataLoader may split its transform (tinynet/data/loader.py)

    format_name = "array images"  # what the describe() line calls the set, e.g. "CIFAR-10 (binary)"

    def _init(self, transform):
        self.transform = _check_transform(transform)
        self._data = self._read()
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}

    def _read(self):
        raise NotImplementedError

    @property
    def data(self):
        if self._data is None:  # in a worker process: read the files again (see the module docstring)
            self._data = self._read()
        return self._data

    @property
    def grey(self):
        return self.data.ndim == 3

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_data"] = None
        return state

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        i = image_index(type(self).__name__, i, len(self))
        return self.load(i, np.random.default_rng(i))

    def image(self, i):
        """Image ``i`` as a PIL image in mode 'RGB' (grey repeated in the three channels)."""
        pixels = np.ascontiguousarray(self.data[i])
        if pixels.ndim == 2:
            return Image.fromarray(pixels, "L").convert("RGB")
        return Image.fromarray(pixels, "RGB")

    def load(self, i, rng):
        """(sample, target) for image ``i``, random transforms drawing from the Generator ``rng``."""
        img = self.image(i)
        if self.transform is not None:
            img = self.transform(img, rng)
        return img, self.targets[i]

    def describe(self):
        """E.g. '50000 images of 10 classes, 32x32 RGB' (grey: '28x28 grey')."""
        h, w = self.data.shape[1:3]
        return f"{len(self)} images of {len(self.classes)} classes, {h}x{w} {'grey' if self.grey else 'RGB'}"

    def __repr__(self):
        split = "train" if self.train else "test"
        return (f"{type(self).__name__}(root={self.root!r}, {split}, {self.describe()}, "
                f"transform={self.transform!r})")
