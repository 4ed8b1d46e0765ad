"""The synthetic set: determinism, ImageFolder layout, image format, argument checks, and that
the classes differ in shape rather than in colour."""
import os

import numpy as np
import pytest
from PIL import Image

from tinynet.data import synth


def files(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def tree(root):
    """{relative path: bytes of a file, ("link", target) of a link, or "dir"} of everything under root."""
    out = {}
    for dirpath, dirnames, names in os.walk(root):
        for name in dirnames + names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[rel] = "dir"
            else:
                with open(path, "rb") as f:
                    out[rel] = f.read()
    return out


def load(root, split, classes):
    """float images (n, size, size, 3) in [0, 1] and labels (n,) from root/split/<class>/*.png."""
    xs, ys = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(root, split, name)
        for f in sorted(os.listdir(folder)):
            xs.append(np.asarray(Image.open(os.path.join(folder, f)), dtype=np.float64) / 255)
            ys.append(label)
    return np.stack(xs), np.array(ys)


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory):
    """Every kind, 16 training and 8 validation images each, 32x32."""
    root = tmp_path_factory.mktemp("synth_all")
    summary = synth.generate(root, classes=len(synth.KINDS), per_class=16, size=32, seed=3, val_per_class=8)
    return root, summary


def test_same_seed_gives_identical_bytes(tmp_path):
    a = synth.generate(tmp_path / "a", classes=3, per_class=3, size=32, seed=7, val_per_class=1)
    b = synth.generate(tmp_path / "b", classes=3, per_class=3, size=32, seed=7, val_per_class=1)
    fa, fb = files(tmp_path / "a"), files(tmp_path / "b")
    assert len(fa) == 3 * 3 + 3 and fa == fb
    assert {k: v for k, v in a.items() if k != "root"} == {k: v for k, v in b.items() if k != "root"}


def test_different_seed_gives_different_images(tmp_path):
    synth.generate(tmp_path / "a", classes=2, per_class=2, size=32, seed=0, val_per_class=1)
    synth.generate(tmp_path / "b", classes=2, per_class=2, size=32, seed=1, val_per_class=1)
    fa, fb = files(tmp_path / "a"), files(tmp_path / "b")
    assert fa.keys() == fb.keys()
    assert all(fa[k] != fb[k] for k in fa)


def test_an_image_does_not_depend_on_how_many_were_asked_for(tmp_path):
    synth.generate(tmp_path / "small", classes=2, per_class=2, size=32, seed=5, val_per_class=1)
    synth.generate(tmp_path / "large", classes=4, per_class=5, size=32, seed=5, val_per_class=3)
    small, large = files(tmp_path / "small"), files(tmp_path / "large")
    assert all(large[k] == v for k, v in small.items())


def test_train_and_val_images_differ(tmp_path):
    synth.generate(tmp_path, classes=2, per_class=2, size=32, val_per_class=2)
    assert files(tmp_path / "train") != files(tmp_path / "val")


def test_layout_and_summary(tmp_path):
    summary = synth.generate(tmp_path, classes=4, per_class=5, size=32, seed=0, val_per_class=2)
    names = list(synth.KINDS[:4])
    assert summary == {
        "root": os.fspath(tmp_path), "classes": names, "size": 32, "seed": 0,
        "per_class": {"train": 5, "val": 2}, "counts": {"train": 20, "val": 8},
    }
    assert sorted(os.listdir(tmp_path)) == ["train", "val"]
    for split, n in (("train", 5), ("val", 2)):
        assert sorted(os.listdir(tmp_path / split)) == sorted(names)
        for name in names:
            assert sorted(os.listdir(tmp_path / split / name)) == sorted(f"{k}.png" for k in range(n))


def test_val_per_class_defaults_to_a_fifth(tmp_path):
    summary = synth.generate(tmp_path, classes=2, per_class=11, size=16)
    assert summary["per_class"] == {"train": 11, "val": 2}
    assert len(os.listdir(tmp_path / "val" / "circle")) == 2


def test_images_are_rgb_png_of_the_asked_size(every_kind):
    root, summary = every_kind
    for split in ("train", "val"):
        for name in summary["classes"]:
            with Image.open(root / split / name / "0.png") as img:
                assert (img.format, img.mode, img.size) == ("PNG", "RGB", (32, 32))


def test_every_kind_has_a_readable_distinct_name():
    assert len(set(synth.KINDS)) == len(synth.KINDS) >= 10
    assert all(name.isalpha() and name.islower() for name in synth.KINDS)


N_KINDS = len(synth.KINDS)
CLASSES = rf"--classes .*need an integer from 2 to {N_KINDS}"

# (arguments over classes=2, per_class=5, size=16; the message, which names the `tinynet data synth` flag)
BAD_ARGUMENTS = [
    (dict(per_class=3), r"^--per-class 3 gives 0 validation images per class .*pass --val-per-class N "
                        r"\(N >= 1\) or a --per-class of at least 5$"),  # wrote empty val/ folders
    (dict(per_class=4), r"--per-class 4 gives 0 validation images"),
    (dict(per_class=1), r"--per-class 1 gives 0 validation images"),
    (dict(per_class=0), r"--per-class 0: need an integer >= 1"),
    (dict(per_class=-2, val_per_class=1), r"--per-class -2: need an integer >= 1"),
    (dict(per_class=2.5), r"--per-class 2.5: need an integer"),
    (dict(per_class="5"), r"--per-class '5': need an integer"),
    (dict(classes=1), CLASSES),  # one class: nothing to classify
    (dict(classes=0), CLASSES),
    (dict(classes=-1), CLASSES),
    (dict(classes=N_KINDS + 1), CLASSES + r" .*there are \d+ kinds: circle, square"),
    (dict(classes=2.0), CLASSES),
    (dict(classes="3"), CLASSES),
    (dict(classes=True), CLASSES),
    (dict(val_per_class=0), r"--val-per-class 0: need an integer >= 1"),
    (dict(val_per_class=-1), r"--val-per-class -1: need an integer >= 1"),
    (dict(val_per_class=1.5), r"--val-per-class 1.5: need an integer"),
    (dict(size=8), rf"--size 8: need an integer from {synth.MIN_SIZE} .* to {synth.MAX_SIZE}"),
    (dict(size=synth.MIN_SIZE - 1), r"--size 15: need an integer from 16"),
    (dict(size=synth.MAX_SIZE + 1), r"--size 1025: need an integer from 16 .* to 1024"),
    (dict(size=0), r"--size 0: need an integer"),
    (dict(size=32.0), r"--size 32.0: need an integer"),
    (dict(size=None), r"--size None: need an integer"),
    (dict(seed=-1), r"--seed -1: need an integer >= 0"),
    (dict(seed=1.5), r"--seed 1.5: need an integer >= 0"),
    (dict(seed="0"), r"--seed '0': need an integer >= 0"),
    (dict(seed=None), r"--seed None: need an integer >= 0"),
]


@pytest.mark.parametrize("kwargs, message", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_naming_the_flag_before_anything_is_written(tmp_path, kwargs, message):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        synth.generate(out, **{"classes": 2, "per_class": 5, "size": 16, **kwargs})
    assert not out.exists()


def _file(out):
    out.write_text("mine")


def _under_a_file(out):
    out.parent.joinpath("f").write_text("mine")
    return (out.parent / "f" / "sub",)


def _notes(out):
    out.mkdir()
    (out / "notes.txt").write_text("mine")


def _foreign_class(out):
    (out / "train" / "cat").mkdir(parents=True)
    (out / "train" / "cat" / "1.jpg").write_text("mine")


def _foreign_file_in_a_kind(out):
    (out / "val" / "circle").mkdir(parents=True)
    (out / "val" / "circle" / "notes.txt").write_text("mine")


def _folder_named_like_an_image(out):
    (out / "train" / "circle" / "0.png").mkdir(parents=True)
    (out / "train" / "circle" / "0.png" / "keep.txt").write_text("mine")


def _split_is_a_file(out):
    out.mkdir()
    (out / "train").write_text("mine")


def _kind_is_a_link(out):
    elsewhere = out.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "7.png").write_text("mine")  # an earlier, larger run would have its 7.png deleted
    (out / "train").mkdir(parents=True)
    os.symlink(elsewhere, out / "train" / "circle")


def _png_is_a_link(out):
    (out / "train" / "circle").mkdir(parents=True)
    (out.parent / "precious.png").write_text("mine")
    os.symlink(out.parent / "precious.png", out / "train" / "circle" / "0.png")


def _broken_link(out):
    os.symlink(out.parent / "nowhere", out)


# (how the --out folder is prepared: returns the out path if not the given one; the message)
BAD_OUT = [
    (_file, r"^--out '.*out' is a file, not a folder"),
    (_under_a_file, r"^--out '.*f/sub': cannot use the folder: Not a directory"),
    (_notes, r"^--out '.*out': .*notes.txt was not written by this generator; choose a new or empty folder"),
    (_foreign_class, r"train/cat was not written by this generator"),
    (_foreign_file_in_a_kind, r"val/circle/notes.txt was not written"),
    (_folder_named_like_an_image, r"train/circle/0.png was not written"),
    (_split_is_a_file, r"out/train was not written"),
    (_kind_is_a_link, r"train/circle was not written"),
    (_png_is_a_link, r"train/circle/0.png was not written"),
    (_broken_link, r"^--out '.*out' is a broken link"),
    (lambda out: ("",), r"^--out '': need a folder path"),
    (lambda out: (5,), r"^--out 5: need a folder path"),
    (lambda out: (None,), r"^--out None: need a folder path"),
]


@pytest.mark.parametrize("prepare, message", BAD_OUT)
def test_an_out_folder_that_is_not_new_empty_or_ours_is_refused_and_left_alone(tmp_path, prepare, message):
    out = tmp_path / "out"
    given = prepare(out)
    out = out if given is None else given[0]
    before = tree(tmp_path)
    with pytest.raises(ValueError, match=message):
        synth.generate(out, classes=2, per_class=5, size=16, val_per_class=8)
    assert tree(tmp_path) == before  # nothing written, nothing deleted


def test_the_cli_prints_one_line_naming_the_flag(tmp_path, capsys):
    from tinynet import cli

    rc = cli.main(["data", "synth", "--out", str(tmp_path / "d"), "--per-class", "3", "--size", "16"])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "--val-per-class" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_rerun_with_fewer_images_removes_the_old_ones(tmp_path):
    synth.generate(tmp_path, classes=3, per_class=4, size=16, val_per_class=2)
    synth.generate(tmp_path, classes=2, per_class=2, size=16, val_per_class=1)
    assert sorted(os.listdir(tmp_path / "train")) == ["circle", "square"]
    assert sorted(os.listdir(tmp_path / "train" / "circle")) == ["0.png", "1.png"]
    assert os.listdir(tmp_path / "val" / "square") == ["0.png"]


def test_foreign_files_are_never_overwritten_or_deleted(tmp_path):
    (tmp_path / "train" / "cat").mkdir(parents=True)
    (tmp_path / "train" / "cat" / "1.jpg").write_bytes(b"mine")
    with pytest.raises(ValueError, match="cat"):
        synth.generate(tmp_path, classes=2, per_class=5, size=16)
    assert (tmp_path / "train" / "cat" / "1.jpg").read_bytes() == b"mine"


def nearest_mean_accuracy(train_x, train_y, val_x, val_y):
    """Accuracy on val of assigning each row to the class whose mean (standardised) training row is nearest."""
    mu, sd = train_x.mean(axis=0), train_x.std(axis=0) + 1e-9
    train_x, val_x = (train_x - mu) / sd, (val_x - mu) / sd
    means = np.stack([train_x[train_y == c].mean(axis=0) for c in np.unique(train_y)])
    dist = ((val_x[:, None, :] - means[None]) ** 2).sum(axis=-1)
    return float((dist.argmin(axis=1) == val_y).mean())


def radial_power(images):
    """Log power spectrum of each (n, S, S) image summed over rings of equal frequency, normalised:
    a signature of scale and texture that does not change when the object moves or turns."""
    n = images.shape[-1]
    freq = np.fft.fftfreq(n)
    ring = np.minimum((np.hypot(freq[:, None], freq[None, :]) * n).astype(int), n // 2).ravel()
    power = np.abs(np.fft.fft2(images)) ** 2
    rings = np.stack([np.bincount(ring, p.ravel(), minlength=n // 2 + 1) for p in power])
    return np.log(rings / rings.sum(axis=1, keepdims=True) + 1e-6)


def shape_features(images):
    """Rotation- and translation-invariant features of the grey image and of its edges."""
    grey = images.mean(axis=-1)
    grey = grey - grey.mean(axis=(1, 2), keepdims=True)
    gy, gx = np.gradient(grey, axis=(1, 2))
    return np.concatenate([radial_power(grey), radial_power(np.hypot(gx, gy))], axis=1)


def test_classes_differ_in_shape_not_in_colour(every_kind):
    """A nearest-class-mean classifier on rotation- and translation-invariant spectra beats chance
    by far; one on the image's mean colour does not: colour is not what makes a class."""
    root, summary = every_kind
    x_train, y_train = load(root, "train", summary["classes"])
    x_val, y_val = load(root, "val", summary["classes"])
    chance = 1 / len(summary["classes"])

    shape_acc = nearest_mean_accuracy(shape_features(x_train), y_train, shape_features(x_val), y_val)
    colour_acc = nearest_mean_accuracy(x_train.mean(axis=(1, 2)), y_train, x_val.mean(axis=(1, 2)), y_val)
    # A nearest-mean rule on fixed spectra is a crude classifier (2.5-3.5x chance on such small sets);
    # indistinct classes would leave it at chance. The real measure of learnability is training the
    # mini AlexNet on the full set (see the module docstring of tinynet.data.synth).
    assert shape_acc >= 2 * chance, shape_acc
    assert colour_acc <= 2 * chance, colour_acc

    class_means = np.stack([x_train[y_train == c].mean(axis=0) for c in range(len(summary["classes"]))])
    gaps = [np.abs(class_means[i] - class_means[j]).mean()
            for i in range(len(class_means)) for j in range(i)]
    assert min(gaps) > 0.005
