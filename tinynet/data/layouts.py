"""Which data set a folder holds, by the files in it: what ``tinynet train --data-path PATH`` reads.

    layout = find_layout(path)            a Layout, or None when path holds none of these sets
    train_set, test_set = open_layout(layout, train_transform, eval_transform)
    describe(layout, train_set, test_set, size)
        'CIFAR-10 (binary version) at PATH: 50000 train / 10000 test images of 10 classes, 32x32 RGB,
         resized to 64x64'

PATH is the folder an archive unpacks to (cifar-10-batches-bin/, cifar-10-batches-py/, cifar-100-binary/,
cifar-100-python/, or a folder of MNIST-layout IDX files), or a folder holding exactly one of them
(~/data holding only cifar-10-batches-py/, say); two or more there is an error naming them. The folder
is recognised by its files, not by its name, except in one respect: MNIST and Fashion-MNIST files are
alike to the byte, so IDX files on a path with 'fashion' in it (any case: FashionMNIST/raw,
fashion-mnist/) are read as Fashion-MNIST, any others as MNIST, and the line says which was taken.
An ImageFolder layout (train/ and val/) is not this module's: the caller looks for it first.
"""
import os
from collections import namedtuple

from tinynet.data import cifar, mnist

Layout = namedtuple("Layout", "name version folder cls")  # e.g. ("CIFAR-10", "binary", path, CIFAR10)

_CIFAR_CLASSES = {"CIFAR-10": cifar.CIFAR10, "CIFAR-100": cifar.CIFAR100}


def recognise(folder):
    """The Layout of the data set whose files are in ``folder`` itself, or None."""
    found = cifar.cifar_layout(folder)
    if found is not None:
        name, version = found
        return Layout(name, version, folder, _CIFAR_CLASSES[name])
    if mnist.has_idx(folder):
        fashion = "fashion" in os.path.abspath(folder).lower()
        return Layout("Fashion-MNIST" if fashion else "MNIST", "IDX files", folder,
                      mnist.FashionMNIST if fashion else mnist.MNIST)
    return None


def find_layout(path):
    """The Layout at ``path`` or in the one sub-folder of it that holds a data set; None if there is none.

    A ValueError names the sub-folders when more than one holds a data set.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        return None
    here = recognise(path)
    if here is not None:
        return here
    try:
        with os.scandir(path) as it:
            subfolders = sorted(e.path for e in it if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return None  # the caller's own error about the folder follows
    found = [layout for layout in map(recognise, subfolders) if layout is not None]
    if len(found) > 1:
        listed = ", ".join(f"{os.path.basename(f.folder)}/ ({f.name}, {f.version})" for f in found)
        raise ValueError(f"{path} holds {len(found)} data sets: {listed}; give the one to use as --data-path, "
                         f"e.g. {found[0].folder}")
    return found[0] if found else None


def open_layout(layout, train_transform=None, eval_transform=None):
    """(training set, test set) of ``layout``, the test split standing for the validation set."""
    train_set = layout.cls(layout.folder, train=True, transform=train_transform)
    test_set = layout.cls(layout.folder, train=False, transform=eval_transform)
    return train_set, test_set


def describe(layout, train_set, test_set, size):
    """One line saying what was found and what becomes of its images for a model input of size x size."""
    h, w = train_set.data.shape[1:3]
    grey = train_set.grey
    if layout.cls is mnist.FashionMNIST:
        named = ", classes named as Fashion-MNIST's (the path says 'fashion')"
    elif layout.cls is mnist.MNIST:
        named = ", classes '0'..'9' (a path with 'fashion' in it would be read as Fashion-MNIST)"
    else:
        named = ""
    steps = (["grey repeated to 3 channels"] if grey else []) + \
        ([f"resized to {size}x{size}"] if (h, w) != (size, size) else [])
    return (f"{layout.name} ({layout.version}) at {layout.folder}: {len(train_set)} train / {len(test_set)} test "
            f"images of {len(train_set.classes)} classes, {h}x{w} {'grey' if grey else 'RGB'}"
            + "".join(f", {s}" for s in steps) + named)
