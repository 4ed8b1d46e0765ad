"""Which data set a folder holds, and ``tinynet train --data-path`` on each: the folder an archive unpacks to
or its parent, the line that says what was found, and a short training run on tiny CIFAR and MNIST files."""
import os

import numpy as np
import pytest

from tests.data.test_cifar import SETS, write_cifar
from tests.data.test_mnist import write_idx_set
from tinynet import cli
from tinynet import train as train_mod
from tinynet.data import CIFAR10, CIFAR100, FashionMNIST, MNIST, synth
from tinynet.data.layouts import describe, find_layout, open_layout


@pytest.mark.parametrize("name,version", SETS)
def test_each_cifar_layout_is_recognised_here_and_from_its_parent(tmp_path, name, version):
    folder, _ = write_cifar(tmp_path, name, version, n=2)
    for path in (folder, tmp_path):
        layout = find_layout(path)
        assert (layout.name, layout.version, layout.folder) == (name, version, folder)
        assert layout.cls is {"CIFAR-10": CIFAR10, "CIFAR-100": CIFAR100}[name]
    train_set, test_set = open_layout(layout)
    classes = 10 if name == "CIFAR-10" else 100
    files = 5 if name == "CIFAR-10" else 1
    assert describe(layout, train_set, test_set, 64) == (
        f"{name} ({version}) at {folder}: {2 * files} train / 2 test images of {classes} classes, 32x32 RGB, "
        "resized to 64x64")
    assert describe(layout, train_set, test_set, 32).endswith("32x32 RGB")


def test_idx_files_are_mnist_unless_the_path_says_fashion(tmp_path):
    write_idx_set(tmp_path / "mnist", gz=True)
    layout = find_layout(tmp_path / "mnist")
    assert (layout.name, layout.version, layout.cls) == ("MNIST", "IDX files", MNIST)
    line = describe(layout, *open_layout(layout), 32)
    assert line == (f"MNIST (IDX files) at {tmp_path / 'mnist'}: 5 train / 3 test images of 10 classes, 28x28 grey, "
                    "grey repeated to 3 channels, resized to 32x32, classes '0'..'9' (a path with 'fashion' in it "
                    "would be read as Fashion-MNIST)")
    write_idx_set(tmp_path / "Fashion-MNIST" / "raw")
    layout = find_layout(tmp_path / "Fashion-MNIST")  # its one sub-folder holding a set
    assert layout.cls is FashionMNIST and layout.folder == str(tmp_path / "Fashion-MNIST" / "raw")
    train_set, test_set = open_layout(layout)
    assert train_set.classes[0] == "T-shirt/top"
    assert "classes named as Fashion-MNIST's" in describe(layout, train_set, test_set, 32)


def test_two_sets_in_one_folder_are_an_error_naming_both_and_none_is_none(tmp_path):
    assert find_layout(tmp_path) is None and find_layout(tmp_path / "missing") is None
    write_cifar(tmp_path, "CIFAR-10", "binary", n=1)
    write_idx_set(tmp_path / "mnist")
    with pytest.raises(ValueError, match=r"holds 2 data sets: cifar-10-batches-bin/ \(CIFAR-10, binary\), "
                                         r"mnist/ \(MNIST, IDX files\); give the one to use as --data-path"):
        find_layout(tmp_path)


def test_datasets_logs_what_it_found_and_image_folders_still_come_first(tmp_path):
    folder, _ = write_cifar(tmp_path / "c", "CIFAR-100", "python", n=2)
    logs = []
    train_set, val_set = train_mod._datasets(str(tmp_path / "c"), 40, logs.append)
    assert isinstance(train_set, CIFAR100) and not val_set.train and len(train_set.classes) == 100
    assert logs == [f"data: CIFAR-100 (python) at {folder}: 2 train / 2 test images of 100 classes, 32x32 RGB, "
                    "resized to 40x40"]
    x, y = train_set.load(0, np.random.default_rng(0))
    assert x.shape == (3, 40, 40) and type(y) is int
    # a train/ and val/ image folder beside CIFAR files: the image folders are what is read
    synth.generate(tmp_path / "s", classes=2, per_class=2, val_per_class=1, size=32, seed=0)
    for split in ("train", "val"):
        os.rename(tmp_path / "s" / split, tmp_path / "c" / split)
    train_set, _ = train_mod._datasets(str(tmp_path / "c"), 32, logs.append)
    assert type(train_set).__name__ == "ImageFolder" and len(logs) == 1
    with pytest.raises(FileNotFoundError, match="has no train/ folder: .* or the folder a CIFAR-10, CIFAR-100, MNIST"):
        train_mod._datasets(str(tmp_path / "empty"), 32)


@pytest.mark.parametrize("kind", ["cifar-10 binary", "mnist gz"])
def test_tinynet_train_on_the_files(tmp_path, capsys, kind):
    if kind == "cifar-10 binary":
        data = tmp_path / "cifar"
        write_cifar(data, "CIFAR-10", "binary", n=2)
        expect = "data: CIFAR-10 (binary) at "
        found = "10 train / 2 test images of 10 classes, 32x32 RGB"
    else:
        data = tmp_path / "mnist"
        write_idx_set(data, n=(8, 4), gz=True)
        expect = "data: MNIST (IDX files) at "
        found = "8 train / 4 test images of 10 classes, 28x28 grey, grey repeated to 3 channels, resized to 32x32"
    assert cli.main(["train", "--data-path", str(data), "--variant", "mini", "--image-size", "32", "-b", "4",
                     "--epochs", "1", "-j", "0", "--output-dir", str(tmp_path / "run"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert expect in out and found in out and "epoch 1/1" in out
    assert os.path.isfile(tmp_path / "run" / "checkpoint.npz")


def test_a_broken_file_ends_train_with_one_line_naming_it(tmp_path, capsys):
    folder, _ = write_cifar(tmp_path, "CIFAR-10", "binary", n=2)
    with open(os.path.join(folder, "test_batch.bin"), "ab") as f:
        f.write(b"xyz")
    assert cli.main(["train", "--data-path", str(tmp_path), "--variant", "mini", "--image-size", "32",
                     "--epochs", "1", "-j", "0", "--output-dir", str(tmp_path / "run"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "test_batch.bin: holds 6149 bytes, not a whole number of 3073-byte records" in err
