"""MNIST and Fashion-MNIST IDX files, gzipped and not, built here to the published layout (big-endian magic
2051 for images, 2049 for labels, then the sizes): values round-trip, grey becomes RGB, and malformed files
are refused naming the file.

``write_idx_set(folder, n, gz)`` (also used by test_layouts) writes the four files and returns what it wrote.
"""
import gzip
import os
import struct

import numpy as np
import pytest

from tinynet.data import transforms
from tinynet.data.files import DatasetFileError
from tinynet.data.mnist import FASHION_CLASSES, MNIST, FashionMNIST, has_idx, read_idx


def idx_bytes(array, magic=None):
    """``array`` (uint8) as an IDX file: magic (0x0000 08 ndim unless given), one >u4 size a dimension, the values."""
    magic = 0x0800 | array.ndim if magic is None else magic
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_idx_set(folder, n=(5, 3), gz=False, size=28, seed=0):
    """The four MNIST files in ``folder`` (gzipped with ``gz``): n[0] training and n[1] test images.
    Returns {"train": (images (N, size, size), labels (N,)), "t10k": ...}."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    written = {}
    for prefix, count in zip(("train", "t10k"), n):
        images = rng.integers(0, 256, (count, size, size), dtype=np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = os.path.join(folder, f"{prefix}-{kind}-ubyte")
            data = idx_bytes(array)
            if gz:
                with gzip.open(name + ".gz", "wb") as f:
                    f.write(data)
            else:
                with open(name, "wb") as f:
                    f.write(data)
        written[prefix] = (images, labels)
    return written


@pytest.mark.parametrize("gz", [False, True])
def test_values_labels_and_grey_to_rgb_round_trip(tmp_path, gz):
    written = write_idx_set(tmp_path / "mnist", gz=gz)
    assert has_idx(tmp_path / "mnist")
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = MNIST(tmp_path / "mnist", train=train)
        images, labels = written[prefix]
        assert len(ds) == len(images) and ds.data.shape == images.shape and ds.grey
        assert ds.classes == [str(k) for k in range(10)]
        for k in range(len(ds)):
            img, target = ds[k]
            assert img.mode == "RGB" and img.size == (28, 28)
            pixels = np.asarray(img)
            for c in range(3):  # the grey value (y, x) of image k, in every channel
                np.testing.assert_array_equal(pixels[:, :, c], images[k])
            assert target == labels[k] and type(target) is int


def test_fashion_mnist_names_its_classes_and_raw_folders_are_found(tmp_path):
    write_idx_set(tmp_path / "FashionMNIST" / "raw", gz=True)
    ds = FashionMNIST(tmp_path)  # root/FashionMNIST/raw, as torchvision keeps it
    assert ds.classes == FASHION_CLASSES and ds.classes[9] == "Ankle boot"
    assert ds.root == str(tmp_path / "FashionMNIST" / "raw")
    assert MNIST(tmp_path / "FashionMNIST").classes[0] == "0"  # root/raw


def test_the_dotted_names_and_the_transform(tmp_path):
    write_idx_set(tmp_path, n=(2, 1))
    for name in os.listdir(tmp_path):
        os.rename(tmp_path / name, tmp_path / name.replace("-idx", ".idx"))
    ds = MNIST(tmp_path, transform=transforms.eval_transform(32))
    x, _ = ds[0]
    assert x.shape == (3, 32, 32) and np.allclose(x[0] * 0.229 + 0.485, x[1] * 0.224 + 0.456, atol=1e-5)


def test_a_gzipped_file_is_told_by_its_bytes_not_its_name(tmp_path):
    data = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(data)))
    np.testing.assert_array_equal(read_idx(str(path), 2051), data)


MALFORMED = {
    "labels where images belong": (lambda img, lab: (idx_bytes(lab), None),
                                   "images", r"magic number 2049 \(0x00000801\), not 2051"),
    "signed bytes": (lambda img, lab: (idx_bytes(img, magic=0x0903), None), "images", r"0x00000903\), not 2051"),
    "truncated values": (lambda img, lab: (idx_bytes(img)[:-5], None), "images",
                         r"holds 3915 bytes of values, but its header \(5 x 28 x 28\) says 3920: the file is truncated"),
    "truncated header": (lambda img, lab: (idx_bytes(img)[:9], None), "images", "of its header: the file is truncated"),
    "empty": (lambda img, lab: (b"", None), "images", "of its magic number: the file is truncated"),
    "bytes after the values": (lambda img, lab: (idx_bytes(img) + b"\0", None), "images",
                               r"goes on after the 3920 bytes of values"),
    "a huge header": (lambda img, lab: (struct.pack(">4I", 2051, 2**31, 2**31, 1), None), "images",
                      "more than the 4294967296 tinynet reads"),
    "no images": (lambda img, lab: (idx_bytes(img[:0]), idx_bytes(lab[:0])), "images", r"holds no images \(its header"),
    "counts that differ": (lambda img, lab: (None, idx_bytes(lab[:4])), "labels", "holds 4 labels, but .* holds 5 images"),
    "a label of 10": (lambda img, lab: (None, idx_bytes(np.r_[lab[:4], 10].astype(np.uint8))), "labels",
                      r"label\[4\] is 10, outside 0..9"),
    "a broken gzip stream": (lambda img, lab: (gzip.compress(idx_bytes(img))[:-12], None), "images",
                             "is not a valid gzip file"),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_idx_file_is_refused_naming_it(tmp_path, kind):
    written = write_idx_set(tmp_path)
    make, named, message = MALFORMED[kind]
    images, labels = make(*written["train"])
    for data, name in ((images, "train-images-idx3-ubyte"), (labels, "train-labels-idx1-ubyte")):
        if data is not None:
            (tmp_path / name).write_bytes(data)
    with pytest.raises(DatasetFileError, match=message) as e:
        MNIST(tmp_path)
    assert e.value.path == str(tmp_path / f"train-{named}-idx{3 if named == 'images' else 1}-ubyte")
    MNIST(tmp_path, train=False)  # the test files are fine


def test_a_missing_file_is_named(tmp_path):
    write_idx_set(tmp_path, gz=True)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetFileError, match=r"t10k-labels-idx1-ubyte: is missing \(nor is there a .gz of it\)"):
        MNIST(tmp_path, train=False)
    with pytest.raises(DatasetFileError, match="holds no MNIST IDX files"):
        MNIST(tmp_path / "empty") if os.mkdir(tmp_path / "empty") is None else None
