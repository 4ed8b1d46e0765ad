"""tinynet.experiments: the arms of every experiment differ only in the layers under test and start from
the same weights; each experiment, run at a tiny size, prints its table, writes its JSON and draws its plot;
the summary's arithmetic on made-up histories; the command's bad inputs. Accuracy is never asserted."""
import json
import os

import numpy as np
import pytest

from tinynet import backend, cli
from tinynet import experiments as E
from tinynet import nn

SIDE = 32


def tiny_data(classes=4, n_train=24, n_val=12, side=SIDE, seed=0):
    rng = np.random.default_rng(seed)
    return E.Data(rng.integers(0, 256, (n_train, 3, side, side), dtype=np.uint8), np.arange(n_train) % classes,
                  rng.integers(0, 256, (n_val, 3, side, side), dtype=np.uint8), np.arange(n_val) % classes,
                  [f"c{k}" for k in range(classes)], "random test images")


def settings(**kw):
    return E.Settings(**{"seeds": 2, "epochs": 2, "batch_size": 8, **kw})


# --- the arms ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", E.NAMES)
def test_the_arms_differ_only_in_the_layers_under_test(name):
    size = 64
    a, b = E.build_arm(name, 0, 10, size), E.build_arm(name, 1, 10, size)
    differences = E.arm_differences(a, b)
    kinds = {t for left, right in differences for t, _ in left + right}
    assert kinds <= set(E.CLAIMS[name].tested)
    if name == "augmentation":
        assert differences == []  # the same model: only the data differ
    else:
        assert kinds == set(E.CLAIMS[name].tested)
    E.check_arms(name, a, b)


def test_the_layer_lists_show_what_each_arm_changes():
    on, off = E.build_arm("lrn", 0, 10, 64), E.build_arm("lrn", 1, 10, 64)
    differences = E.arm_differences(on, off)
    assert [([t for t, _ in left], right) for left, right in differences] == [(["LocalResponseNorm"], [])] * 2
    assert [type(m).__name__ for m in on.features][:4] == ["Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d"]
    with_p, without = E.build_arm("dropout", 0, 10, 64), E.build_arm("dropout", 1, 10, 64)
    assert [(l[0][1], r[0][1]) for l, r in E.arm_differences(with_p, without)] == [
        ("p=0.5, inplace=False", "p=0.0, inplace=False")] * 2
    relu, tanh = E.build_arm("relu-tanh", 0, 10, 32), E.build_arm("relu-tanh", 1, 10, 32)
    assert [(l[0][0], r[0][0]) for l, r in E.arm_differences(relu, tanh)] == [("ReLU", "Tanh")] * 3
    overlap, plain = E.build_arm("pooling", 0, 10, 64), E.build_arm("pooling", 1, 10, 64)
    changed = E.arm_differences(overlap, plain)
    assert all(t == "MaxPool2d" for l, r in changed for t, _ in l + r) and len(changed) == 3
    pools = [(m.kernel_size, m.stride, m.ceil_mode) for m in overlap.features if isinstance(m, nn.MaxPool2d)]
    assert pools == [(3, 2, True)] * 3  # arm 0 is the paper's choice
    assert [(m.kernel_size, m.stride) for m in plain.features if isinstance(m, nn.MaxPool2d)] == [(2, 2)] * 3
    # the same feature-map sizes, so the same dense layers
    assert overlap.classifier[1].in_features == plain.classifier[1].in_features == 64 * 4 * 4
    x = np.zeros((2, 3, 64, 64), dtype=np.float32)
    from tinynet import Tensor
    assert overlap(Tensor(x)).shape == plain(Tensor(x)).shape == (2, 10)


def test_a_pair_that_differs_elsewhere_is_refused():
    a = E.build_arm("dropout", 0, 10, 64)
    b = E.build_arm("dropout", 1, 10, 64)
    b.classifier[4] = nn.Linear(256, 128)  # a change that is not the layer under test
    b.classifier[6] = nn.Linear(128, 10)
    with pytest.raises(AssertionError, match="differ in .*Linear"):
        E.check_arms("dropout", a, b)
    with pytest.raises(AssertionError, match="ReLU"):
        E.check_arms("pooling", E.build_arm("relu-tanh", 0, 10, 32), E.build_arm("relu-tanh", 1, 10, 32))


@pytest.mark.parametrize("name", E.NAMES)
def test_a_seed_gives_both_arms_the_same_starting_weights(name):
    size = 64
    models = []
    for arm in (0, 1):
        backend.manual_seed(5)
        models.append(E.build_arm(name, arm, 10, size))
    wa = [p.numpy() for p in models[0].parameters()]
    wb = [p.numpy() for p in models[1].parameters()]
    assert len(wa) == len(wb) > 0
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb))


@pytest.mark.parametrize("side", [32, 64])
def test_the_four_layer_net_is_three_convolutions_and_one_dense_layer(side):
    from tinynet import Tensor

    net = E.four_layer_net("tanh", num_classes=7, input_size=side)
    kinds = [t for t, _ in E.layer_list(net)]
    assert kinds.count("Conv2d") == 3 and kinds.count("Linear") == 1 and kinds.count("Tanh") == 3
    assert net(Tensor(np.zeros((2, 3, side, side), dtype=np.float32))).shape == (2, 7)


# --- the data ------------------------------------------------------------------------------------------

def test_a_limited_set_is_class_balanced():
    y = np.repeat(np.arange(5), [50, 40, 30, 3, 20])
    keep = E._balanced(y, 40)
    assert len(keep) == 40 and len(set(keep.tolist())) == 40 and list(keep) == sorted(keep)
    counts = np.bincount(y[keep], minlength=5)
    assert counts[3] == 3 and set(counts[[0, 1, 2, 4]]) <= {9, 10}
    assert len(E._balanced(y, None)) == len(y) == len(E._balanced(y, 10_000))


def test_batches_are_normalised_and_augmented_ones_shifted_flipped_and_lit():
    data = tiny_data()
    x = data.x_train[:3]
    plain = E.batch_input(data, x)
    expect = (x / 255.0 - data.mean[:, None, None]) / data.std[:, None, None]
    np.testing.assert_allclose(plain, expect, rtol=1e-5, atol=1e-5)
    one = E.batch_input(data, x, augment=True, rng=np.random.default_rng(3))
    two = E.batch_input(data, x, augment=True, rng=np.random.default_rng(3))
    assert one.shape == plain.shape == (3, 3, SIDE, SIDE) and one.dtype == np.float32
    np.testing.assert_array_equal(one, two)  # the same draws, the same batch
    assert not np.allclose(one, plain)
    # replay the draws of image 0: flip, lighting, shift
    rng = np.random.default_rng(3)
    from tinynet.data import transforms
    img = plain[0, :, :, ::-1] if rng.random() < 0.5 else plain[0]
    img = img + (transforms.PCALighting().offset(rng) / data.std).astype(np.float32)[:, None, None]
    dy, dx = rng.integers(-2, 3, size=2)  # up to SIDE / 16 each way
    shifted = np.roll(img, (dy, dx), axis=(1, 2))
    rows = slice(max(dy, 0), SIDE + min(dy, 0))
    cols = slice(max(dx, 0), SIDE + min(dx, 0))
    np.testing.assert_allclose(one[0][:, rows, cols], shifted[:, rows, cols], rtol=1e-6)
    outside = np.ones((SIDE, SIDE), bool)
    outside[rows, cols] = False
    assert (one[0][:, outside] == 0).all()


def test_scaling_keeps_labels_and_averages_areas():
    data = tiny_data(side=64)
    small = data.scaled(32)
    assert small.x_train.shape == (24, 3, 32, 32) and (small.y_train == data.y_train).all()
    block = data.x_train[0, 0, :2, :2].astype(float).mean()
    assert abs(int(small.x_train[0, 0, 0, 0]) - block) <= 1


# --- the summary -----------------------------------------------------------------------------------------

def history(train_errors, val_errors=None, val5=None):
    val_errors = val_errors or train_errors
    return [{"epoch": k + 1, "train_loss": 1.0, "train_error": t, "val_loss": 1.0, "val_error": v,
             "val_error5": val5, "fit_error": t} for k, (t, v) in enumerate(zip(train_errors, val_errors))]


def test_epochs_to_the_target_error():
    assert E.epochs_to(history([0.9, 0.5, 0.25, 0.1])) == 3
    assert E.epochs_to(history([0.9, 0.5])) is None


def test_the_relu_tanh_row_is_the_ratio_of_epochs_to_25_percent():
    runs = {0: {0: history([0.5, 0.2, 0.1]), 1: history([0.3, 0.24, 0.1])},
            1: {0: history([0.8, 0.6, 0.4, 0.3, 0.2, 0.1]), 1: history([0.8, 0.6, 0.24])}}
    [row, final] = E.summarise("relu-tanh", runs, list("abcdefghij"))
    assert row["arms"][0][:2] == (2.0, 0.0) and row["arms"][1][0] == 4.0
    assert row["ours"].startswith("2.0x (+-0.5)") and row["holds"] == "yes"  # 5/2 and 3/2
    assert final["holds"] == "-"
    never = {0: {0: history([0.5, 0.4])}, 1: {0: history([0.2, 0.1])}}
    assert E.summarise("relu-tanh", never, ["a"])[0]["holds"] == "no"
    # each arm faster in one seed; and a tanh run that gets there first in one seed of three
    mixed = {0: {0: history([0.2]), 1: history([0.5, 0.2])}, 1: {0: history([0.5, 0.2]), 1: history([0.2])}}
    assert E.summarise("relu-tanh", mixed, ["a"])[0]["holds"] == "unclear"
    one_off = {0: {s: history([0.5, 0.5, 0.2]) for s in range(3)},
               1: {0: history([0.5, 0.2, 0.1]), 1: history([0.5, 0.5, 0.5]), 2: history([0.5, 0.5, 0.5])}}
    assert E.summarise("relu-tanh", one_off, ["a"])[0]["holds"] == "unclear"  # gains -1, +1, +1
    only_relu = {0: {0: history([0.5, 0.2, 0.1, 0.1]), 1: history([0.4, 0.3, 0.24, 0.1])},
                 1: {0: history([0.8, 0.6, 0.4, 0.3]), 1: history([0.8, 0.6, 0.3, 0.24])}}
    row = E.summarise("relu-tanh", only_relu, ["a"])[0]
    # seed 1: 4 / 3; seed 0: tanh not there in 4 epochs, ReLU in 2: more than 2x
    assert row["ours"] == "1.3x (+-0.0); more than 2.0x in 1 seed(s) where tanh did not get there"
    assert row["holds"] == "yes"


def test_rows_say_yes_no_or_unclear_from_the_paired_differences():
    better = {0: {0: history([0.2], [0.30]), 1: history([0.2], [0.32])},
              1: {0: history([0.2], [0.35]), 1: history([0.2], [0.36])}}
    rows = E.summarise("lrn", better, list("abcdefghij"))
    assert [r["metric"] for r in rows] == ["top-1 validation error (%)", "overfitting: val - train error (points)"]
    assert rows[0]["holds"] == "yes" and rows[0]["ours"].startswith("-4.5") and rows[1]["holds"] == "-"
    noisy = {0: {0: history([0.2], [0.30]), 1: history([0.2], [0.40])},
             1: {0: history([0.2], [0.35]), 1: history([0.2], [0.33])}}
    assert E.summarise("pooling", noisy, list("abcdefghij"))[0]["holds"] == "unclear"
    worse = {0: {0: history([0.1], [0.40])}, 1: {0: history([0.1], [0.30])}}
    gap = E.summarise("dropout", worse, list("abcdefghij"))[-1]
    assert gap["holds"] == "no" and gap["ours"].startswith("+10.0")
    tie = {a: {0: history([0.1], [0.30])} for a in (0, 1)}
    assert E.summarise("lrn", tie, list("abcdefghij"))[0]["holds"] == "unclear"
    # the gap is validation error against the fit error (eval mode, no augmentation), not the running error
    fit = {0: {0: [{**history([0.5], [0.30])[0], "fit_error": 0.28}]},
           1: {0: [{**history([0.1], [0.30])[0], "fit_error": 0.10}]}}
    assert E.summarise("dropout", fit, list("abcdefghij"))[-1]["ours"].startswith("-18.0")
    twenty = {a: {0: history([0.2], [0.3], val5=0.1)} for a in (0, 1)}
    assert "top-5 validation error (%)" in [r["metric"] for r in E.summarise("lrn", twenty, list(range(20)))]


# --- whole experiments, tiny ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", E.NAMES)
def test_each_experiment_writes_its_table_json_and_plot(tmp_path, name):
    lines = []
    result = E.run_experiment(name, settings(), tiny_data(), str(tmp_path), log=lines.append, bar=False)
    table = lines[0]
    assert table.startswith(f"{name}: ") and E.CLAIMS[name].arms[0] in table and E.CLAIMS[name].arms[1] in table
    expected = (["epochs to 25% training error", "final training error (%)"] if name == "relu-tanh" else
                ["top-1 validation error (%)", "overfitting: val - train error (points)"])
    assert [r["metric"] for r in result["rows"]] == expected
    for metric in expected:
        assert metric in table
    folder = tmp_path / name
    saved = json.loads((folder / f"{name}.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(result["rows"]))
    assert set(saved["runs"]) == set(E.CLAIMS[name].arms)
    assert all(len(h) == 2 and set(h[0]) >= {"train_error", "val_error", "train_loss"}
               for arm in saved["runs"].values() for h in arm.values())
    assert sorted(saved["runs"][E.CLAIMS[name].arms[0]]) == ["0", "1"]
    from PIL import Image

    with Image.open(folder / f"{name}.png") as img:
        assert img.size[0] > 400 and img.size[1] > 200
    assert sorted(os.listdir(folder)) == [f"{name}.json", f"{name}.png"]  # no temporary file left behind
    mask = os.umask(0)
    os.umask(mask)
    assert all((os.stat(folder / f).st_mode & 0o777) == 0o666 & ~mask for f in os.listdir(folder))


def test_top5_rows_appear_with_twenty_classes(tmp_path):
    result = E.run_experiment("pooling", settings(seeds=1, epochs=1), tiny_data(classes=20, n_train=40, n_val=20),
                              str(tmp_path), log=lambda s: None, bar=False)
    assert "top-5 validation error (%)" in [r["metric"] for r in result["rows"]]


def test_both_arms_see_the_same_batches_and_only_the_augmented_arm_is_augmented(monkeypatch):
    seen = {0: [], 1: []}
    real = E.batch_input
    arm_of = {}

    def recording(data, x, augment=False, rng=None):
        if len(x) != len(data.y_val) and len(x) != len(data.fit_subset):  # a training batch
            seen[arm_of["arm"]].append((x.copy(), augment))
        return real(data, x, augment, rng)

    monkeypatch.setattr(E, "batch_input", recording)
    data = tiny_data()
    for arm in (0, 1):
        arm_of["arm"] = arm
        E.train_arm("augmentation", arm, 4, data, settings(lr=1e-3, optimizer="adam"), 2)
    assert len(seen[0]) == len(seen[1]) == 2 * 3  # 24 images in batches of 8, two epochs
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(seen[0], seen[1]))
    assert {a[1] for a in seen[0]} == {True} and {b[1] for b in seen[1]} == {False}


def test_each_epoch_records_the_fit_error_on_a_fixed_training_subset():
    data = tiny_data()
    assert len(data.fit_subset) == len(data.y_val)
    history = E.train_arm("lrn", 1, 0, data, settings(lr=1e-3, optimizer="adam"), 2)
    assert all(0 <= h["fit_error"] <= 1 and h["val_error5"] is None for h in history)


def test_the_same_seed_repeats_a_run_exactly(tmp_path):
    data = tiny_data()
    one = E.train_arm("dropout", 0, 3, data, settings(lr=1e-3, optimizer="adam"), 2)
    two = E.train_arm("dropout", 0, 3, data, settings(lr=1e-3, optimizer="adam"), 2)
    assert one == two


# --- the command ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image_folders(tmp_path_factory):
    from tinynet.data import synth

    root = tmp_path_factory.mktemp("synth")
    synth.generate(str(root / "set"), classes=3, per_class=6, size=64, seed=0, val_per_class=3)
    return str(root / "set")


def test_the_command_runs_an_experiment_on_image_folders(tmp_path, image_folders, capsys):
    out = tmp_path / "exp"
    status = cli.main(["experiment", "lrn", "--epochs", "1", "--seeds", "1", "--data-path", image_folders,
                       "--output-dir", str(out), "--no-progress", "-b", "6"])
    text = capsys.readouterr().out
    assert status == 0
    assert "18 training and 9 validation images of 3 classes" in text and "with LRN" in text
    assert (out / "lrn" / "lrn.json").is_file() and (out / "lrn" / "lrn.png").is_file()


@pytest.mark.parametrize("argv, message", [
    (["experiment", "lrn", "--data-path", "/no/such/folder"], "--data-path /no/such/folder: no such file"),
    (["experiment", "lrn", "--data-path", __file__], "not a folder"),
    (["experiment", "lrn", "--output-dir", __file__], "--output-dir"),
])
def test_bad_paths_are_one_line_errors(tmp_path, image_folders, capsys, argv, message):
    if "--data-path" not in argv:
        argv += ["--data-path", image_folders]
    status = cli.main(argv + ["--epochs", "1", "--seeds", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flags", [["nonsense"], ["lrn", "--seeds", "0"], ["lrn", "--lr", "-1"], ["lrn", "--lr", "nan"],
                                   ["lrn", "--epochs", "0"], ["lrn", "--optimizer", "lbfgs"],
                                   ["lrn", "--train-images", "3"], ["lrn", "-b", "0"], []])
def test_bad_flags_are_refused_by_the_parser(capsys, flags):
    with pytest.raises(SystemExit) as e:
        cli.main(["experiment"] + flags)
    assert e.value.code == 2
    assert "tinynet experiment: error:" in capsys.readouterr().err


def test_an_empty_training_folder_is_refused_naming_it(tmp_path):
    for split in ("train", "val"):
        (tmp_path / split / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match=f"{tmp_path}/train.* no image files"):
        E.load_data(str(tmp_path))


def test_a_missing_val_folder_one_class_or_different_classes_are_refused(tmp_path, image_folders):
    import shutil

    root = tmp_path / "set"
    shutil.copytree(image_folders, root)
    classes = sorted(os.listdir(root / "train"))
    shutil.move(str(root / "val" / classes[0]), str(root / "val" / "renamed"))
    with pytest.raises(ValueError, match=f"different classes \\(({classes[0]}, renamed|renamed, {classes[0]})"):
        E.load_data(str(root))
    shutil.rmtree(root / "val")
    with pytest.raises(FileNotFoundError, match="has train/ but no val/"):
        E.load_data(str(root))
    one = tmp_path / "one"
    for split in ("train", "val"):
        shutil.copytree(os.path.join(image_folders, split, classes[1]), one / split / classes[1])
    with pytest.raises(ValueError, match="at least 2 classes, found 1"):
        E.load_data(str(one))


def test_an_empty_output_dir_is_refused(image_folders):
    with pytest.raises(ValueError, match="--output-dir is empty"):
        E.main(["lrn"], settings(), image_folders, output_dir="", log=lambda s: None)


def test_cifar_files_are_read_at_their_own_size_and_relu_tanh_runs_on_them(tmp_path):
    from tests.data.test_cifar import write_cifar

    folder, written = write_cifar(str(tmp_path), n=4)
    data = E.load_data(folder, log=lambda s: None)
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_val.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(data.x_train, written["train"][0])
    np.testing.assert_array_equal(data.y_train, written["train"][1][:, 0])
    assert "CIFAR-10" in data.description and len(data.classes) == 10
    result = E.run_experiment("relu-tanh", settings(seeds=1, epochs=1), data, str(tmp_path / "out"),
                              log=lambda s: None, bar=False)
    assert "scaled" not in result["settings"]["data"]  # already 32x32, the four-layer net's side
    limited = E.load_data(folder, train_limit=10, val_limit=2, log=lambda s: None)
    assert len(limited.y_train) == 10 and len(limited.y_val) == 2


def test_mnist_sized_images_are_scaled_up_for_the_mini_alexnet(tmp_path):
    data = tiny_data(side=28)
    result = E.run_experiment("dropout", settings(seeds=1, epochs=1), data, str(tmp_path), log=lambda s: None,
                              bar=False)
    assert "scaled to 32x32" in result["settings"]["data"]


def test_names_are_run_once_each_and_all_means_every_one(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(E, "load_data", lambda *a, **k: tiny_data())
    monkeypatch.setattr(E, "run_experiment", lambda n, *a, **k: ran.append(n))
    E.main(["lrn", "dropout", "lrn"], settings(), output_dir=str(tmp_path), log=lambda s: None)
    assert ran == ["lrn", "dropout"]
    ran.clear()
    E.main(["pooling", "all"], settings(), output_dir=str(tmp_path), log=lambda s: None)
    assert ran == list(E.NAMES)
    with pytest.raises(ValueError, match="unknown experiment 'nope'"):
        E.main(["nope"], settings(), output_dir=str(tmp_path), log=lambda s: None)


def test_an_output_dir_that_cannot_be_made_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="--output-dir .*file.*can't write into"):
        E.run_experiment("lrn", settings(seeds=1, epochs=1), tiny_data(), str(blocker / "sub"), log=lambda s: None,
                         bar=False)


def test_an_image_that_does_not_decode_is_skipped_and_counted(tmp_path, image_folders):
    import shutil

    root = tmp_path / "set"
    shutil.copytree(image_folders, root)
    cls = sorted(os.listdir(root / "train"))[0]
    (root / "train" / cls / "broken.png").write_bytes(b"not an image")
    lines = []
    data = E.load_data(str(root), log=lines.append)
    assert len(data.y_train) == 18 and any("skipped 1 image" in l and "broken.png" in l for l in lines)
    for f in (root / "val" / cls).iterdir():
        f.write_bytes(b"junk")
    for other in sorted(os.listdir(root / "val"))[1:]:
        for f in (root / "val" / other).iterdir():
            f.write_bytes(b"junk")
    with pytest.raises(ValueError, match="none of the 9 images .* decodes"):
        E.load_data(str(root), log=lines.append)


def test_the_convolution_algorithm_can_be_fixed(monkeypatch):
    used = []
    real = E.build_arm

    def recording(*a, **k):
        model = real(*a, **k)
        used.append(model)
        return model

    monkeypatch.setattr(E, "build_arm", recording)
    E.train_arm("lrn", 0, 0, tiny_data(), settings(conv_algorithm="im2col", lr=1e-3, optimizer="adam"), 1)
    assert {m.algorithm for m in used[-1].modules() if isinstance(m, nn.Conv2d)} == {"im2col"}


def test_at_initialisation_lrn_divides_by_nearly_a_constant():
    """docs/experiments.md: with He et al.'s scale the sum term of the LRN arm is under 1% of k at the start."""
    from tinynet import Tensor
    from tinynet.autograd import no_grad

    data = tiny_data(n_train=16, side=64)
    backend.manual_seed(0)
    model = E.build_arm("lrn", 0, 10, 64)
    h = Tensor(E.batch_input(data, data.x_train))
    terms = []
    with no_grad():
        for layer in model.features:
            if isinstance(layer, nn.LocalResponseNorm):
                sq = h.numpy().astype(np.float64) ** 2
                C, n = sq.shape[1], layer.size
                padded = np.pad(sq, ((0, 0), (n // 2, (n - 1) // 2), (0, 0), (0, 0)))
                terms.append(layer.alpha / n * sum(padded[:, i:i + C] for i in range(n)))
            h = layer(h)
    assert len(terms) == 2
    assert all(t.mean() < 0.01 * 2.0 for t in terms)


def test_quick_and_the_flags_reach_the_settings(monkeypatch):
    got = {}
    monkeypatch.setattr(E, "main", lambda names, settings, data_path, output_dir, bar: got.update(
        names=names, settings=settings, data_path=data_path, output_dir=output_dir, bar=bar))
    assert cli.main(["experiment", "lrn", "pooling", "--quick"]) == 0
    s = got["settings"]
    assert got["names"] == ["lrn", "pooling"] and got["output_dir"] == E.DEFAULT_OUTPUT_DIR and got["bar"]
    assert (s.seeds, s.train_limit, s.val_limit, s.quick, s.epochs) == (2, 1200, 400, True, None)
    assert cli.main(["experiment", "all", "--quick", "--seeds", "5", "--train-images", "300", "--epochs", "2",
                     "--optimizer", "sgd", "--lr", "0.05", "-b", "16", "--conv-algorithm", "im2col",
                     "--no-progress", "--output-dir", "out", "--data-path", "d"]) == 0
    s = got["settings"]
    assert (s.seeds, s.train_limit, s.val_limit, s.epochs, s.optimizer, s.lr, s.batch_size, s.conv_algorithm) == (
        5, 300, 400, 2, "sgd", 0.05, 16, "im2col")
    assert (got["data_path"], got["output_dir"], got["bar"]) == ("d", "out", False)
    assert E.Settings().seeds == 3 and E.Settings().train_limit is None  # the defaults without --quick
