"""`tinynet show activations`: one image's maps after every layer of model.features (tinynet/activations.py)."""
import os

import numpy as np
import pytest
from PIL import Image

from tinynet import cli
from tinynet.activations import capture, softmax, tiles
from tinynet.models import alexnet
from tinynet._tensor import Tensor

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A one-epoch mini run on 3 classes of 32x32 images: (checkpoint path, an image of its val set)."""
    root = tmp_path_factory.mktemp("show")
    assert cli.main(["data", "synth", "--out", str(root / "data"), "--classes", "3", "--per-class", "4",
                     "--val-per-class", "1", "--size", "32"]) == 0
    assert cli.main(["train", "--data-path", str(root / "data"), "--variant", "mini", "--image-size", "32", "-b", "6",
                     "--epochs", "1", "-j", "0", "--output-dir", str(root / "run"), "--no-progress"]) == 0
    return str(root / "run" / "checkpoint.npz"), str(next((root / "data" / "val").rglob("*.png")))


def test_tiles_normalise_each_map_on_its_own_with_gaps_between():
    maps = np.stack([np.arange(4.0).reshape(2, 2), 100 + 0.01 * np.arange(4.0).reshape(2, 2), np.full((2, 2), 7.0)])
    image = tiles(maps)
    assert image.shape == (2, 3 * 3 - 1)
    assert np.isnan(image[:, 2]).all() and np.isnan(image[:, 5]).all()  # the gaps
    np.testing.assert_allclose(image[:, 0:2], [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_allclose(image[:, 3:5], [[0, 1 / 3], [2 / 3, 1]])  # tiny range, same picture
    assert (image[:, 6:8] == 0).all()  # a constant map (a dead ReLU's): black


def test_tiles_keep_the_first_channels_sixteen_to_a_row():
    image = tiles(np.random.default_rng(0).standard_normal((40, 3, 3)), channels=20)
    assert image.shape == (2 * 4 - 1, 16 * 4 - 1)  # 20 maps: a row of 16 and a row of 4
    assert np.isnan(image[4:, 4 * 4:]).all()  # the second row's unused places stay blank


def test_tiles_of_single_pixels_are_shaded_against_each_other():
    image = tiles(np.array([1.0, 3.0, 2.0]))  # a 1-D output: three maps of 1x1
    np.testing.assert_allclose(image[0, ::2], [0, 1, 0.5])


def test_capture_gives_every_feature_layers_output_for_the_image_and_removes_its_hooks():
    model = alexnet("mini", num_classes=3, input_size=32).eval()
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    layers, logits = capture(model, Tensor(x))
    names = [name for name, _, _ in layers]
    assert names == [f"features.{k}" for k in range(len(model.features))]
    assert [type(m).__name__ for _, m, _ in layers][:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    assert layers[0][2].shape == (32, 16, 16) and layers[-1][2].shape == (64, 1, 1)
    assert logits.shape == (3,)
    np.testing.assert_array_equal(layers[1][2], np.maximum(layers[0][2], 0))
    assert all(not m._forward_hooks for m in model.features.children())
    np.testing.assert_allclose(softmax(logits).sum(), 1.0)


def test_show_activations_draws_one_picture(run, tmp_path, capsys, monkeypatch):
    ckpt, image = run
    monkeypatch.chdir(tmp_path)
    assert cli.main(["show", "activations", image, "--checkpoint", ckpt]) == 0  # default: ./activations.png
    out = capsys.readouterr().out
    assert out.startswith("wrote the maps of 13 feature layers for ") and out.rstrip().endswith("activations.png")
    picture = Image.open(tmp_path / "activations.png")
    assert picture.format == "PNG" and picture.size[0] == 1200 and picture.size[1] > 1000
    assert sorted(os.listdir(tmp_path)) == ["activations.png"]  # no temporary file left
    assert cli.main(["show", "activations", image, "--checkpoint", ckpt, "--out", "a.pdf", "--channels", "4"]) == 0
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("args, message", [
    (["{root}/nope.png"], r"IMAGE .*nope.png does not exist"),
    (["{root}"], r"IMAGE .* is a folder: give one image file"),
    (["{root}/corrupt.png"], r"cannot decode image .*corrupt.png"),
    (["{image}", "--checkpoint", "{root}/nope.npz"], r"checkpoint .*nope.npz does not exist"),
    (["{image}", "--checkpoint", "{root}/corrupt.png"], r"checkpoint .*corrupt.png is truncated or corrupt"),
    (["{image}", "--out", "{root}/missing/a.png"], r"--out .*missing/a.png': the folder .*missing' does not exist"),
    (["{image}", "--out", "{root}"], r"--out .* is a folder: give a file path such as .*activations.png"),
    (["{image}", "--out", "{root}/a.xyz"], r"--out .*a.xyz': can't tell the picture format from its extension"),
], ids=["missing-image", "folder-image", "corrupt-image", "missing-checkpoint", "garbage-checkpoint",
        "out-in-a-missing-folder", "out-a-folder", "out-unknown-format"])
def test_bad_inputs_are_one_line_naming_the_thing(run, tmp_path, capsys, args, message):
    import re

    ckpt, image = run
    (tmp_path / "corrupt.png").write_bytes(os.urandom(300))
    argv = ["show", "activations"] + [a.format(root=tmp_path, image=image) for a in args]
    if "--checkpoint" not in argv:
        argv += ["--checkpoint", ckpt]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "a.png")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinynet show activations: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--device", "tpu"], r"argument --device: invalid choice: 'tpu'"),
    (["--channels", "0"], r"argument --channels: must be an int >= 1"),
])
def test_bad_flags_are_refused_by_the_parser(run, capsys, args, message):
    import re

    ckpt, image = run
    with pytest.raises(SystemExit) as e:
        cli.main(["show", "activations", image, "--checkpoint", ckpt] + args)
    assert e.value.code == 2 and re.search(message, capsys.readouterr().err)
