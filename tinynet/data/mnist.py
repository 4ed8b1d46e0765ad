"""MNIST and Fashion-MNIST from their IDX files, gzipped or not.

    MNIST(root, train=True, transform=None)          classes '0' .. '9'
    FashionMNIST(root, train=True, transform=None)   classes 'T-shirt/top', 'Trouser', ... 'Ankle boot'

root holds the four files (or root/raw/ or root/<MNIST|FashionMNIST>/raw/ does, as torchvision keeps them):

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]     60000 training images and labels
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]      10000 test images and labels

(``train-images.idx3-ubyte``, with a dot, as some copies name them, is read too.) An IDX file
(http://yann.lecun.com/exdb/mnist/) is a big-endian header, then the values as a C array: a 4-byte
magic number, two zero bytes, a type byte (0x08: unsigned bytes, the only type these files use) and
the number of dimensions, so 2051 (0x00000803) for (N, rows, cols) images and 2049 (0x00000801) for
(N,) labels, then one 4-byte size per dimension. A gzipped file is told by its first two bytes
(1f 8b), whatever its name.

The two sets share every byte of their layout, so the files alone cannot tell them apart: the class
chosen says which names the classes get. Every file is checked when the set is made (magic number,
sizes against the header, the image and label counts, labels 0..9); a problem is a DatasetFileError
naming the file.
"""
import gzip
import os
import struct
import zlib

import numpy as np

from tinynet.data.files import ArrayImageSet, DatasetFileError, check_labels

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
MAX_IDX_BYTES = 2**32  # 4 GiB of values: 70 times MNIST's training images; a header past it is refused

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def idx_file(folder, name):
    """The path of IDX file ``name`` (e.g. 'train-images-idx3-ubyte') in ``folder``: as named, gzipped
    (``.gz``), or with a dot before 'idx'; None when there is none."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, name + ".gz", dotted, dotted + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def has_idx(folder):
    """Whether ``folder`` holds any of the four MNIST-layout IDX files (then the set is read from there)."""
    return any(idx_file(folder, name) for pair in FILES.values() for name in pair)


def _read_exactly(f, n, path, what):
    data = f.read(n)
    if len(data) < n:
        raise DatasetFileError(path, f"ends after {len(data)} of the {n} bytes of its {what}: the file is truncated")
    return data


def read_idx(path, magic):
    """The values of the unsigned-byte IDX file at ``path`` as a uint8 array, its header's magic number
    checked against ``magic`` (2051: images (N, rows, cols); 2049: labels (N,))."""
    ndim = magic & 0xFF
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            f = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
            head = _read_exactly(f, 4, path, "magic number")
            found = int.from_bytes(head, "big")
            if head[:2] != b"\0\0" or head[2] != 0x08 or head[3] != ndim:
                kind = "images" if magic == IMAGES_MAGIC else "labels"
                raise DatasetFileError(path, f"starts with the magic number {found} (0x{found:08x}), not {magic} "
                                             f"(0x{magic:08x}, unsigned-byte {kind} of {ndim} dimension(s))"
                                       + ("; gunzip it?" if head[:2] == b"\x1f\x8b" else ""))
            dims = struct.unpack(f">{ndim}I", _read_exactly(f, 4 * ndim, path, "header"))
            size = int(np.prod(dims, dtype=np.float64))
            if size > MAX_IDX_BYTES:
                raise DatasetFileError(path, f"its header says {' x '.join(map(str, dims))} values, more than the "
                                             f"{MAX_IDX_BYTES} tinynet reads from one IDX file")
            body = f.read(size + 1)
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        reason = "is not a valid gzip file" if isinstance(e, (gzip.BadGzipFile, EOFError, zlib.error)) else \
            "cannot be read"
        raise DatasetFileError(path, f"{reason} ({type(e).__name__}: {getattr(e, 'strerror', None) or e})") from None
    shape = " x ".join(map(str, dims))
    if len(body) < size:
        raise DatasetFileError(path, f"holds {len(body)} bytes of values, but its header ({shape}) says {size}: "
                                     "the file is truncated")
    if len(body) > size:
        raise DatasetFileError(path, f"goes on after the {size} bytes of values its header ({shape}) says")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


class MNIST(ArrayImageSet):
    """MNIST's training images (60000) or, with ``train=False``, its test images (10000): 28x28 grey,
    read from IDX files; ``classes`` are '0' .. '9'. ``data`` is (N, 28, 28) uint8."""

    format_name = "MNIST (IDX files)"
    classes = [str(k) for k in range(10)]

    def __init__(self, root, train=True, transform=None):
        self.root = _locate(os.fspath(root), type(self).__name__)
        self.train = bool(train)
        images, labels = FILES["train" if self.train else "t10k"]
        self.files = []
        for name in (images, labels):
            path = idx_file(self.root, name)
            if path is None:
                raise DatasetFileError(os.path.join(self.root, name), "is missing (nor is there a .gz of it); "
                                                                      f"{type(self).__name__} reads {images} and {labels}")
            self.files.append(path)
        self.classes = list(type(self).classes)
        self._init(transform)

    def _read(self):
        images_path, labels_path = self.files
        images = read_idx(images_path, IMAGES_MAGIC)
        labels = read_idx(labels_path, LABELS_MAGIC)
        if len(images) != len(labels):
            raise DatasetFileError(labels_path, f"holds {len(labels)} labels, but {images_path} holds "
                                                f"{len(images)} images")
        if 0 in images.shape:
            raise DatasetFileError(images_path, f"holds no images (its header says {' x '.join(map(str, images.shape))})")
        self.targets = check_labels(labels_path, labels, len(self.classes), "label").tolist()
        return images


class FashionMNIST(MNIST):
    """Fashion-MNIST: MNIST's layout and sizes, clothes instead of digits; ``classes`` are its ten names."""

    format_name = "Fashion-MNIST (IDX files)"
    classes = FASHION_CLASSES


def _locate(root, name):
    if not os.path.isdir(root):
        raise DatasetFileError(root, "does not exist" if not os.path.exists(root) else "is a file, not a folder")
    for folder in (root, os.path.join(root, "raw"), os.path.join(root, name, "raw")):
        if os.path.isdir(folder) and has_idx(folder):
            return folder
    raise DatasetFileError(root, f"holds no {name} IDX files: expected {FILES['train'][0]}[.gz] and the other "
                                 "three there (or in raw/)")
