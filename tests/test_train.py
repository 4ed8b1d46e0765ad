"""The training loop and the `tinynet` command end to end, on tiny generated image folders."""
import json
import os

import numpy as np
import pytest
from PIL import Image

import tinynet
from tinynet import backend, cli, train_flags
from tinynet import train as train_mod
from tinynet.checkpoint import CheckpointError, load_checkpoint
from tinynet.data import DataLoader, ImageFolder, synth, transforms
from tinynet.train import (ConfigError, GPUOutOfMemory, TrainConfig, TrainingDiverged, TrainingInterrupted,
                           accuracy_counts, evaluate, train)
from tests.conftest import CUDA_SKIP_REASON

HAS_CUDA = tinynet.cuda.is_available()
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason=f"needs a CUDA GPU: {CUDA_SKIP_REASON or 'tinynet sees none'}")
needs_no_gpu = pytest.mark.skipif(HAS_CUDA, reason="checks the error on a machine without a GPU; this one has one")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """3 classes x 8 training and 3 validation images of 32x32, plus odd modes and one corrupt file."""
    root = tmp_path_factory.mktemp("data")
    synth.generate(root, classes=3, per_class=8, val_per_class=3, size=32, seed=0)
    cls = sorted(os.listdir(root / "train"))[0]
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert("L").save(root / "train" / cls / "gray.png")
    Image.fromarray(pixels).convert("CMYK").save(root / "train" / cls / "cmyk.jpg")
    Image.fromarray(np.dstack([pixels, pixels[..., :1]]), "RGBA").save(root / "train" / cls / "alpha.png")
    Image.fromarray(pixels).convert("P").save(root / "train" / cls / "palette.png")
    (root / "train" / cls / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return root


def _cfg(data, out, **kw):
    base = dict(data_path=str(data), variant="mini", image_size=32, batch_size=8, epochs=1, workers=0,
                lr=0.01, lr_scheduler="step", output_dir=None if out is None else str(out), progress=False, seed=0)
    base.update(kw)
    return TrainConfig(**base)


def test_pipeline_with_odd_images_and_a_corrupt_file(tiny_data, tmp_path):
    """One epoch over grayscale, CMYK, RGBA and palette images and one corrupt file: the corrupt file is
    skipped and counted, every other image is used, and the epoch's files are all written."""
    logs = []
    with pytest.warns(UserWarning, match="broken.jpg"):
        history = train(_cfg(tiny_data, tmp_path / "run"), log=logs.append)
    m = history[0]
    assert m["epoch"] == 1 and m["skipped_files"] == 1
    assert m["train_images"] == 3 * 8 + 4 and m["val_images"] == 3 * 3
    assert np.isfinite(m["train_loss"]) and 0 <= m["top1"] <= m["top5"] <= 1
    assert any("broken.jpg" in line for line in logs)
    out = tmp_path / "run"
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "checkpoint_epoch1.npz", "conv_algorithms.json", "curves.png",
                                     "metrics.jsonl"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["top1"] == m["top1"]
    meta = load_checkpoint(out / "checkpoint.npz").meta
    assert meta["epoch"] == 1 and meta["variant"] == "mini" and len(meta["classes"]) == 3
    assert Image.open(out / "curves.png").size[0] > 0


@pytest.mark.parametrize("schedule, last_lr", [
    (dict(lr_scheduler="step", lr_step_size=2), 0.001),
    (dict(lr_scheduler="cosine"), 0.0),
    # torchvision's flags (issue 14): every optimizer, warm-ups, label smoothing
    (dict(opt="adamw", lr_scheduler="cosineannealinglr", lr_warmup_epochs=1, label_smoothing=0.1), 0.0),
    (dict(opt="rmsprop", lr_scheduler="multisteplr", lr_milestones=[1], lr_warmup_epochs=1, lr_warmup_method="linear",
          momentum=0.5), 0.001),
], ids=["step", "cosine", "adamw-warmup-smoothing", "rmsprop-multistep-linear-warmup"])
def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(tiny_data, tmp_path, monkeypatch, schedule,
                                                                   last_lr):
    """A three-epoch run killed during epoch 2 and resumed from its checkpoint == three epochs straight
    (dropout, shuffling and the schedule included): every parameter and the final metrics are
    bit-for-bit equal."""
    # A fixed algorithm: two separate runs with "auto" may time their way to different ones (the resumed run
    # itself keeps its first part's, from the checkpoint).
    kw = dict(schedule, dropout=0.5, conv_algorithm="winograd")
    straight = train(_cfg(tiny_data, tmp_path / "a", epochs=3, **kw), log=lambda m: None)

    real_epoch = train_mod._train_epoch

    def killed_in_epoch_2(model, optimizer, loader, epoch, cfg, *rest):
        if epoch == 1:
            raise KeyboardInterrupt
        return real_epoch(model, optimizer, loader, epoch, cfg, *rest)

    monkeypatch.setattr(train_mod, "_train_epoch", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(tiny_data, tmp_path / "b", epochs=3, **kw), log=lambda m: None)
    monkeypatch.setattr(train_mod, "_train_epoch", real_epoch)
    resumed = train(_cfg(tiny_data, tmp_path / "b", epochs=3, resume=str(tmp_path / "b" / "checkpoint.npz"), **kw),
                    log=lambda m: None)
    a = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    b = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    for name in a.model_state:
        np.testing.assert_array_equal(a.model_state[name], b.model_state[name], err_msg=name)
    assert a.meta["lr"] == b.meta["lr"] == pytest.approx(last_lr, abs=1e-12)  # the schedule resumed too
    assert [h["train_loss"] for h in straight] == [h["train_loss"] for h in resumed]
    assert [h["epoch"] for h in resumed] == [1, 2, 3]


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_data, tmp_path, monkeypatch):
    train(_cfg(tiny_data, tmp_path / "r"), log=lambda m: None)
    good = (tmp_path / "r" / "checkpoint.npz").read_bytes()

    real = train_mod.F.cross_entropy
    calls = {"n": 0}

    def diverging(logits, targets):
        calls["n"] += 1
        loss = real(logits, targets)
        return loss * float("nan") if calls["n"] == 2 else loss

    monkeypatch.setattr(train_mod.F, "cross_entropy", diverging)
    with pytest.raises(TrainingDiverged, match=r"nan at epoch 2, step 2 \(learning rate 0\.01\).*smaller --lr"):
        train(_cfg(tiny_data, tmp_path / "r", epochs=2, resume=str(tmp_path / "r" / "checkpoint.npz")),
              log=lambda m: None)
    assert (tmp_path / "r" / "checkpoint.npz").read_bytes() == good
    assert not (tmp_path / "r" / "checkpoint_epoch2.npz").exists()


def test_a_checkpoint_of_another_variant_or_class_list_is_refused(tiny_data, tmp_path):
    train(_cfg(tiny_data, tmp_path / "r"), log=lambda m: None)
    ckpt = str(tmp_path / "r" / "checkpoint.npz")
    with pytest.raises(ConfigError, match="--variant 'seed' differs from the checkpoint's 'mini'"):
        train(_cfg(tiny_data, tmp_path / "s", variant="seed", image_size=None, resume=ckpt), log=lambda m: None)
    with pytest.raises(CheckpointError, match="variant 'mini', not 'seed'"):
        train_mod.check_compatible(load_checkpoint(ckpt).meta, "seed", ["a"], ckpt)
    other = tmp_path / "other"
    synth.generate(other, classes=4, per_class=2, val_per_class=1, size=32, seed=1)
    with pytest.raises(CheckpointError, match="trained on 3 classes.*the data has 4"):
        train(_cfg(other, tmp_path / "t", resume=ckpt, epochs=2), log=lambda m: None)


def test_accuracy_counts():
    logits = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5]])
    assert accuracy_counts(logits, np.array([1, 2, 1]), ks=(1, 2)) == [1, 2]


def test_cli_synth_train_eval_predict_filters(tmp_path, capsys):
    """The whole command line on a tiny set: synth -> one epoch -> eval (and ten-crop) -> predict -> filters."""
    data, run = tmp_path / "data", tmp_path / "run"
    assert cli.main(["data", "synth", "--out", str(data), "--classes", "3", "--per-class", "6",
                     "--val-per-class", "2", "--size", "32"]) == 0
    assert cli.main(["train", "--data-path", str(data), "--variant", "mini", "--image-size", "32", "-b", "6",
                     "--epochs", "1", "-j", "0", "--output-dir", str(run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "top-1" in out
    ckpt = str(run / "checkpoint.npz")
    assert cli.main(["eval", "--checkpoint", ckpt, "--data-path", str(data)]) == 0
    assert "6 images" in capsys.readouterr().out
    assert cli.main(["eval", "--checkpoint", ckpt, "--data-path", str(data), "--ten-crop"]) == 0
    assert "(ten-crop)" in capsys.readouterr().out
    image = next((data / "val").rglob("*.png"))
    assert cli.main(["predict", "--checkpoint", ckpt, str(image), str(tmp_path / "missing.png")]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{image}: ") and captured.out.count("%") == 3  # top-5 of 3 classes: all 3
    assert "missing.png: can't read this image" in captured.err
    assert cli.main(["filters", "--checkpoint", ckpt, "--out", str(tmp_path / "conv1.png")]) == 0
    assert Image.open(tmp_path / "conv1.png").mode == "RGB"
    assert Image.open(tmp_path / "conv1.png").size == (492, 348)  # 32 kernels of 5x5 at the automatic scale, 12
    assert cli.main(["filters", "--checkpoint", ckpt, "--out", str(tmp_path / "small.png"), "--scale", "2"]) == 0
    assert Image.open(tmp_path / "small.png").size == (82, 58)
    assert cli.main(["eval", "--checkpoint", str(tmp_path / "nope.npz"), "--data-path", str(data)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_main_job_generates_its_data_once_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYNET_CACHE", str(tmp_path))
    monkeypatch.setattr(train_mod, "SYNTH_DEFAULTS", dict(classes=2, per_class=2, val_per_class=1, size=32, seed=0))
    logs = []
    first = train_mod.default_data_path(logs.append)
    assert os.path.isdir(os.path.join(first, "train")) and any("generating" in m for m in logs)
    logs.clear()
    assert train_mod.default_data_path(logs.append) == first and logs == []
    assert [p for p in os.listdir(tmp_path) if ".tmp" in p] == []


def test_main_job_defaults():
    """`tinynet train` with no flags: the mini AlexNet on the CPU, on the generated set."""
    cfg, _ = train_flags.resolve(TrainConfig(), None)
    assert (cfg.data_path, cfg.variant, cfg.device, cfg.model) == (None, "mini", "cpu", "alexnet")
    assert tinynet.models.VARIANTS[cfg.variant].input_size == 64


# --- the GPU: --tf32, the memory report, out of memory, no GPU -------------------------------------------------
# What needs no GPU is tested everywhere (flags, messages, error paths with a stand-in exception).

class FakeOutOfMemory(MemoryError):
    """Stands in for cupy.cuda.memory.OutOfMemoryError."""


# --- TF32 ----------------------------------------------------------------------------------------------------

def test_tf32_is_a_train_and_eval_flag(monkeypatch):
    # `tinynet train --tf32` reaches TrainConfig.tf32; eval takes the flag too; both default to off.
    seen = {}
    monkeypatch.setattr(train_mod, "train", lambda cfg: seen.setdefault("cfg", cfg))
    assert cli.main(["train", "--tf32"]) == 0
    assert seen["cfg"].tf32 is True
    parser = cli.build_parser()
    assert parser.parse_args(["eval", "--tf32", "--checkpoint", "c", "--data-path", "d"]).tf32 is True
    assert parser.parse_args(["train"]).tf32 is False and TrainConfig().tf32 is False


@pytest.mark.filterwarnings("ignore:enable_tf32")
@pytest.mark.parametrize("command", [["train", "--data-path", "{missing}"],
                                     ["eval", "--checkpoint", "{missing}", "--data-path", "{missing}"]])
def test_tf32_sets_cupy_tf32_before_cupy_is_used(command, tmp_path, monkeypatch, capsys):
    # CuPy reads CUPY_TF32 when it first picks the compute type of a float32 matrix product, so the
    # flag sets it first of all: here the run then fails (no GPU, or no data), and it is set anyway.
    monkeypatch.delenv("CUPY_TF32", raising=False)
    argv = [a.format(missing=tmp_path / "missing") for a in command] + ["--device", "cuda", "--tf32"]
    assert cli.main(argv) == 1
    assert os.environ.get("CUPY_TF32") == "1"


def test_tf32_on_the_cpu_is_refused_not_ignored(tmp_path, monkeypatch):
    monkeypatch.delenv("CUPY_TF32", raising=False)
    with pytest.raises(ConfigError, match="--tf32 only affects --device cuda; this run is on --device cpu"):
        train(TrainConfig(data_path=str(tmp_path / "missing"), tf32=True), log=lambda m: None)
    assert "CUPY_TF32" not in os.environ


# --- no GPU --------------------------------------------------------------------------------------------------

@needs_no_gpu
def test_device_cuda_without_a_gpu_is_a_clear_error_before_any_work(tmp_path, monkeypatch, capsys):
    # The existing DeviceError (how to install CuPy, or use 'cpu'), printed without a traceback, and
    # before the synthetic set is generated or a folder is read.
    monkeypatch.setattr(train_mod, "default_data_path", lambda log: pytest.fail("read data before the device"))
    assert cli.main(["train", "--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinynet train: device 'cuda' was requested") and "'cpu'" in err
    assert cli.main(["eval", "--device", "cuda", "--checkpoint", "c.npz", "--data-path", str(tmp_path)]) == 1
    assert "device 'cuda' was requested" in capsys.readouterr().err
    with pytest.raises(tinynet.DeviceError, match="'cpu'"):
        backend.out_of_memory_errors("cuda")


def test_out_of_memory_errors_on_the_cpu_is_empty():
    # `except ():` catches nothing, so the training loop needs no device branch.
    assert backend.out_of_memory_errors("cpu") == ()


# --- out of memory -------------------------------------------------------------------------------------------

def test_out_of_memory_in_a_training_step_names_the_batch_size(tiny_data, tmp_path, monkeypatch, capsys):
    # The step's out-of-memory error becomes GPUOutOfMemory saying which batch size failed and what to
    # try; the original stays attached as the cause; the command prints it and exits 1.
    monkeypatch.setattr(backend, "out_of_memory_errors", lambda device: (FakeOutOfMemory,))

    def out_of_memory(logits, targets):
        raise FakeOutOfMemory("Out of memory allocating 1,073,741,824 bytes (allocated so far: 0 bytes).")

    monkeypatch.setattr(train_mod.F, "cross_entropy", out_of_memory)
    with pytest.raises(GPUOutOfMemory, match=r"in training \(epoch 1, step 1\) with batch size 8 .*-b 4") as e:
        train(_cfg(tiny_data, tmp_path / "r"), log=lambda m: None)
    assert isinstance(e.value.__cause__, FakeOutOfMemory) and "1,073,741,824 bytes" in str(e.value)
    assert not (tmp_path / "r" / "checkpoint.npz").exists()
    assert cli.main(["train", "--data-path", str(tiny_data), "--image-size", "32", "-b", "6", "-j", "0",
                     "--epochs", "1", "--output-dir", str(tmp_path / "c"), "--no-progress"]) == 1
    assert "with batch size 6" in capsys.readouterr().err


def test_out_of_memory_in_evaluation_names_the_batch_size(tiny_data, monkeypatch):
    monkeypatch.setattr(backend, "out_of_memory_errors", lambda device: (FakeOutOfMemory,))

    class Model:
        def eval(self):
            return self

        def train(self):
            return self

        def __call__(self, x):
            raise FakeOutOfMemory("Out of memory")

    loader = DataLoader(ImageFolder(tiny_data / "val", transforms.eval_transform(32)), batch_size=5)
    with pytest.raises(GPUOutOfMemory, match="during evaluation with batch size 5.*-b 2"):
        evaluate(Model(), loader, "cpu")


def test_other_errors_pass_through(tiny_data, tmp_path, monkeypatch):
    # Only out-of-memory errors are reworded.
    monkeypatch.setattr(backend, "out_of_memory_errors", lambda device: (FakeOutOfMemory,))

    def broken(logits, targets):
        raise KeyError("not memory")

    monkeypatch.setattr(train_mod.F, "cross_entropy", broken)
    with pytest.raises(KeyError, match="not memory"):
        train(_cfg(tiny_data, tmp_path / "r"), log=lambda m: None)


# --- the memory report ---------------------------------------------------------------------------------------

def test_epoch_line_reports_the_gpu_memory_pool():
    m = {"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "top1": 0.5, "top5": 0.9, "lr": 0.01,
         "train_seconds": 2.0, "images_per_second": 100.0}
    assert "GPU" not in train_mod._epoch_line(m, 3)
    m.update(gpu_memory_peak_bytes=3 * 2**29, gpu_memory_held_bytes=2 * 2**30)
    assert "GPU memory 1.50 GiB in use at most, 2.00 GiB held by the pool" in train_mod._epoch_line(m, 3)


# --- on a GPU ------------------------------------------------------------------------------------------------

@needs_gpu
def test_one_epoch_on_the_gpu_reports_memory(tiny_data, tmp_path):
    # A real run: finite loss, the pool's use in the metrics and the epoch line.
    logs = []
    m = train(_cfg(tiny_data, tmp_path / "r", device="cuda"), log=logs.append)[0]
    assert np.isfinite(m["train_loss"])
    assert 0 < m["gpu_memory_peak_bytes"] <= m["gpu_memory_held_bytes"]
    assert any("GPU memory" in line for line in logs)


@needs_gpu
def test_real_out_of_memory_is_explained(tiny_data, tmp_path, monkeypatch):
    # CuPy's own OutOfMemoryError (an impossible 1 PiB allocation) becomes GPUOutOfMemory.
    import cupy

    def huge(logits, targets):
        cupy.empty(2**50, dtype=cupy.uint8)

    monkeypatch.setattr(train_mod.F, "cross_entropy", huge)
    with pytest.raises(GPUOutOfMemory, match="batch size 8") as e:
        train(_cfg(tiny_data, tmp_path / "r", device="cuda"), log=lambda m: None)
    assert isinstance(e.value.__cause__, cupy.cuda.memory.OutOfMemoryError)


# --- faults: nothing of a bad epoch is written; resume under changed flags; interruption ----------------------

def _quiet(cfg):
    return train(cfg, log=lambda m: None)


def test_a_step_that_blows_up_the_weights_never_replaces_the_good_checkpoint(tiny_data, tmp_path):
    # One step per epoch (-b larger than the set): the training loss is measured before the step, so it is
    # finite; the step at a huge learning rate makes the validation loss NaN. Measured before the fix:
    # rc 0 and the NaN model saved as checkpoint.npz.
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run, batch_size=64))
    good = (run / "checkpoint.npz").read_bytes()
    with pytest.raises(TrainingDiverged, match=r"after epoch 2 .*(validation loss is nan|NaN or infinite)"
                                               r".*nothing of this epoch was saved"):
        _quiet(_cfg(tiny_data, run, batch_size=64, epochs=2, lr=1e30, resume=str(run / "checkpoint.npz")))
    assert (run / "checkpoint.npz").read_bytes() == good
    assert not (run / "checkpoint_epoch2.npz").exists()
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1


def test_non_finite_weights_with_a_finite_validation_loss_are_caught(tiny_data, tmp_path, monkeypatch):
    real = train_mod.evaluate

    def poisoned(model, loader, device, world=None):
        result = real(model, loader, device, world)
        model.classifier[-1].bias.data[0] = np.inf  # a weight the evaluation did not show
        return result

    monkeypatch.setattr(train_mod, "evaluate", poisoned)
    with pytest.raises(TrainingDiverged, match=r"after epoch 1 1 parameter tensor\(s\) hold NaN or infinite values "
                                               r"\(classifier\.\d+\.bias\)"):
        _quiet(_cfg(tiny_data, tmp_path / "r"))
    assert not (tmp_path / "r" / "checkpoint.npz").exists()


def test_a_resumed_runs_metrics_read_as_one_run(tiny_data, tmp_path):
    # The line of an epoch whose checkpoint was never written (killed in between) is not repeated, and a
    # run branched off an earlier checkpoint carries its history.
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run))
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"epoch": 2, "train_loss": 9.0}) + "\n")  # as if killed after this line
    _quiet(_cfg(tiny_data, run, epochs=3, resume=str(run / "checkpoint.npz")))
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    _quiet(_cfg(tiny_data, tmp_path / "b", epochs=2, resume=str(run / "checkpoint_epoch1.npz")))
    branch = [json.loads(line)["epoch"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert branch == [1, 2]


def test_resuming_an_earlier_epoch_where_a_later_checkpoint_is_would_replace_it(tiny_data, tmp_path):
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run, epochs=2))
    with pytest.raises(ConfigError, match=r"checkpoint.npz is at epoch 2, later than .*checkpoint_epoch1.npz "
                                          r"\(epoch 1\).*--output-dir NEW"):
        _quiet(_cfg(tiny_data, None, epochs=3, resume=str(run / "checkpoint_epoch1.npz")))


def test_extending_a_finished_cosine_run_replans_the_schedule(tiny_data, tmp_path):
    # Before: epochs 3 and 4 trained at lr 0 (the cosine had reached its end at epoch 2).
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run, epochs=2, lr_scheduler="cosine"))
    logs = []
    history = train(_cfg(tiny_data, run, epochs=4, lr_scheduler="cosine", resume=str(run / "checkpoint.npz")),
                    log=logs.append)
    # Each epoch records the lr it trained at; epoch e + 1 trains at 0.01 * (1 + cos(pi e / 4)) / 2 (T_max 4).
    assert [h["lr"] for h in history[2:]] == pytest.approx([0.005, 0.01 * (1 + np.cos(np.pi * 3 / 4)) / 2])
    assert any("learning rate of epoch 3 is 0.005" in line for line in logs)


def test_a_new_lr_on_resume_applies_and_is_said(tiny_data, tmp_path):
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run))
    logs = []
    history = train(_cfg(tiny_data, run, epochs=2, lr=0.003, resume=str(run / "checkpoint.npz")), log=logs.append)
    assert history[1]["lr"] == 0.003  # step schedule, step size 30: the base lr itself
    assert any(line.startswith("note: --lr 0.003 applies") for line in logs)
    assert load_checkpoint(run / "checkpoint.npz").meta["flags"]["lr"] == 0.003


def test_ctrl_c_says_which_checkpoint_is_intact(tiny_data, tmp_path, monkeypatch):
    real = train_mod._train_epoch
    monkeypatch.setattr(train_mod, "_train_epoch", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(TrainingInterrupted, match="before the first epoch ended: no checkpoint was written"):
        _quiet(_cfg(tiny_data, tmp_path / "r"))
    monkeypatch.setattr(train_mod, "_train_epoch", real)
    _quiet(_cfg(tiny_data, tmp_path / "r"))
    monkeypatch.setattr(train_mod, "_train_epoch", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    ckpt = str(tmp_path / "r" / "checkpoint.npz")
    with pytest.raises(TrainingInterrupted, match=rf"{ckpt} \(epoch 1\) is intact: continue with --resume {ckpt}"):
        _quiet(_cfg(tiny_data, tmp_path / "r", epochs=2, resume=ckpt))


def test_the_output_folder_and_the_data_are_checked_before_training(tiny_data, tmp_path, monkeypatch):
    epochs = []
    monkeypatch.setattr(train_mod, "_train_epoch", lambda *a: epochs.append(1) or pytest.fail("trained"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        _quiet(_cfg(tiny_data, tmp_path / "file"))
    bad = tmp_path / "bad"
    synth.generate(bad, classes=2, per_class=2, val_per_class=1, size=32, seed=0)
    for image in (bad / "val").rglob("*.png"):
        image.write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"none of the 2 image files in .*val \(val/\) can be decoded"):
        _quiet(_cfg(bad, tmp_path / "out"))
    assert epochs == []


def test_the_default_output_folder_run_twice_moves_on(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _quiet(_cfg(tiny_data, None))
    logs = []
    train(_cfg(tiny_data, None), log=logs.append)
    assert (tmp_path / "runs" / "alexnet" / "checkpoint.npz").exists()
    assert (tmp_path / "runs" / "alexnet-2" / "checkpoint.npz").exists()
    assert any("this run goes to runs/alexnet-2" in line for line in logs)


def test_overwrite_keeps_the_earlier_run_until_the_new_one_has_an_epoch(tiny_data, tmp_path):
    # Before: --overwrite removed the earlier run at once, so a typo in --data-path lost it.
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run))
    before = sorted(os.listdir(run))
    with pytest.raises(FileNotFoundError, match="has no train/ folder"):
        _quiet(_cfg(tmp_path / "typo", run, overwrite=True))
    assert sorted(os.listdir(run)) == before
    logs = []
    train(_cfg(tiny_data, run, overwrite=True, seed=1), log=logs.append)
    assert load_checkpoint(run / "checkpoint.npz").meta["seed"] == 1
    assert any("--overwrite: removed the earlier run's" in line for line in logs)


def test_resuming_into_a_folder_of_another_run_is_refused(tiny_data, tmp_path):
    # Before: a checkpoint of run B copied into run A's folder and resumed there replaced run A.
    _quiet(_cfg(tiny_data, tmp_path / "a"))
    _quiet(_cfg(tiny_data, tmp_path / "b", epochs=2, seed=5))
    (tmp_path / "a" / "downloaded.npz").write_bytes((tmp_path / "b" / "checkpoint.npz").read_bytes())
    a = (tmp_path / "a" / "checkpoint.npz").read_bytes()
    with pytest.raises(ConfigError, match=r"holds another run: .*checkpoint.npz is not from the run of "
                                          r".*downloaded.npz \(their histories differ\)"):
        _quiet(_cfg(tiny_data, None, epochs=3, seed=5, resume=str(tmp_path / "a" / "downloaded.npz")))
    assert (tmp_path / "a" / "checkpoint.npz").read_bytes() == a


def test_failing_to_write_the_metrics_is_a_warning_not_the_end(tiny_data, tmp_path, monkeypatch):
    def full(folder, history):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train_mod.run_folder, "write_metrics", full)
    logs = []
    history = train(_cfg(tiny_data, tmp_path / "r", epochs=2), log=logs.append)
    assert len(history) == 2 and (tmp_path / "r" / "checkpoint_epoch2.npz").exists()
    warned = [line for line in logs if line.startswith("warning: could not write")]
    assert len(warned) == 2 and "metrics.jsonl (No space left on device)" in warned[0]


def test_the_default_set_generation_leaves_nothing_half_made(tmp_path, monkeypatch):
    # Ctrl-C while generating removes the temporary folder; an unwritable cache is one clear error.
    monkeypatch.setenv("TINYNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(train_mod, "SYNTH_DEFAULTS", dict(classes=2, per_class=2, val_per_class=1, size=32, seed=0))
    real = synth.generate

    def interrupted(out, **kw):
        real(out, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "generate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_mod.default_data_path(lambda line: None)
    assert os.listdir(tmp_path / "cache") == []
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(synth, "generate", real)
    monkeypatch.setenv("TINYNET_CACHE", str(tmp_path / "file" / "cache"))
    with pytest.raises(OSError, match=r"can't generate the default data set in .*file/cache .*set TINYNET_CACHE"):
        train_mod.default_data_path(lambda line: None)


def test_ctrl_c_between_an_epochs_two_checkpoints_names_the_one_written(tiny_data, tmp_path, monkeypatch):
    real = train_mod.save_checkpoint

    def interrupted_at_the_second(path, *a, **kw):
        if str(path).endswith("checkpoint.npz"):
            raise KeyboardInterrupt
        return real(path, *a, **kw)

    monkeypatch.setattr(train_mod, "save_checkpoint", interrupted_at_the_second)
    with pytest.raises(TrainingInterrupted, match=r"checkpoint_epoch1.npz \(epoch 1\) is intact: continue with "
                                                  r"--resume .*checkpoint_epoch1.npz"):
        _quiet(_cfg(tiny_data, tmp_path / "r"))


def test_numpy_numbers_in_a_config_are_stored_as_json_numbers(tiny_data, tmp_path):
    # Before: lr=np.float32(0.01) trained an epoch, then failed writing the checkpoint's JSON metadata.
    history = _quiet(_cfg(tiny_data, tmp_path / "r", lr=np.float32(0.01), batch_size=np.int64(8)))
    assert len(history) == 1 and load_checkpoint(tmp_path / "r" / "checkpoint.npz").meta["flags"]["batch_size"] == 8


def test_a_schedule_that_makes_the_lr_infinite_stops_before_writing(tiny_data, tmp_path):
    # Before: rc 0 with an inf lr in the checkpoint, which every later load then refused.
    with pytest.raises(TrainingDiverged, match=r"after epoch 2 the schedule made the learning rate inf; nothing of "
                                               r"this epoch was saved\. The schedule raised the learning rate"):
        _quiet(_cfg(tiny_data, tmp_path / "r", epochs=3, lr=1e-300, lr_step_size=1, lr_gamma=1e200))
    assert load_checkpoint(tmp_path / "r" / "checkpoint.npz").meta["epoch"] == 1


# --- torchvision's flags (issue 14) -------------------------------------------------------------------------
from tinynet.checkpoint import save_checkpoint  # noqa: E402
from tinynet.optim import SGD  # noqa: E402
from tinynet.saved_run import build_model  # noqa: E402
from tinynet.train_flags import check, resolve  # noqa: E402


def _resaved(ckpt, path, meta, **sgd):
    """The mini model of checkpoint ``ckpt`` saved again to ``path`` with ``meta`` and a fresh SGD optimizer
    (lr 0.01, momentum 0.9, and ``sgd``): a checkpoint forged, or made to look older, for a resume test."""
    model = build_model("mini", 3, 32)
    model.load_state_dict(ckpt.model_state)
    return save_checkpoint(path, model, SGD(model.parameters(), lr=0.01, momentum=0.9, **sgd), meta)


def test_label_smoothing_reaches_the_loss(tiny_data, tmp_path):
    plain = _quiet(_cfg(tiny_data, tmp_path / "a"))
    smooth = _quiet(_cfg(tiny_data, tmp_path / "b", label_smoothing=0.2))
    assert plain[0]["train_loss"] != smooth[0]["train_loss"]
    assert plain[0]["val_loss"] != smooth[0]["val_loss"]  # the weights differ after the epoch


def test_the_optimizer_and_its_hyper_parameters_are_torchvisions(tiny_data, tmp_path):
    from tinynet.train_optimizer import make_optimizer

    model = build_model("mini", 3, 32)
    for opt, cls, checks in [("sgd", "SGD", dict(nesterov=False, momentum=0.9)),
                             ("sgd_nesterov", "SGD", dict(nesterov=True)),
                             ("rmsprop", "RMSprop", dict(eps=0.0316, alpha=0.9, momentum=0.9)),
                             ("adamw", "AdamW", dict(betas=(0.9, 0.999), weight_decay=5e-4)),
                             ("adam", "Adam", dict(decoupled_weight_decay=False))]:
        cfg, _ = resolve(check(TrainConfig(opt=opt)), None)
        o = make_optimizer(cfg, model)
        assert type(o).__name__ == cls and len(o.param_groups) == 1  # no AlexNet layer has norm parameters
        for key, value in checks.items():
            assert o.param_groups[0][key] == value, (opt, key)


def test_norm_layers_get_their_own_weight_decay():
    from tinynet import nn
    from tinynet.train_optimizer import param_groups

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2), nn.LayerNorm(2))
    groups = param_groups(model, 0.1, 0.0)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert [len(g["params"]) for g in groups] == [4, 4]
    assert [g["weight_decay"] for g in param_groups(model, 0.1, None)] == [0.1, 0.1]  # None: --wd


def test_a_checkpoint_of_another_optimizer_than_its_flags_say_is_refused(tiny_data, tmp_path):
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run))
    ckpt = load_checkpoint(run / "checkpoint.npz")
    meta = dict(ckpt.meta, flags=dict(ckpt.meta["flags"], opt="adam", momentum=None))
    forged = _resaved(ckpt, tmp_path / "forged.npz", meta)
    with pytest.raises(CheckpointError, match=r"forged\.npz holds the state of a SGD optimizer; this run's is Adam "
                                              r"\(--opt adam\)"):
        _quiet(_cfg(tiny_data, None, epochs=2, resume=str(forged)))


def test_a_checkpoint_written_before_the_torchvision_flags_resumes(tiny_data, tmp_path):
    """Its flags lack --opt, the warm-up and the rest: they take the defaults (SGD, no warm-up), and the
    cosine schedule state of kind "cosine" without warm-up fields loads as before."""
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run, lr_scheduler="cosine", epochs=2))
    ckpt = load_checkpoint(run / "checkpoint.npz")
    new = ("opt", "norm_weight_decay", "label_smoothing", "lr_milestones", "lr_warmup_epochs", "lr_warmup_method",
           "lr_warmup_decay")
    flags = {k: v for k, v in ckpt.meta["flags"].items() if k not in new}
    assert ckpt.meta["scheduler"] == {"kind": "cosine", "T_max": 2, "eta_min": 0.0, "base_lr": 0.01, "last_epoch": 2}
    old = _resaved(ckpt, tmp_path / "old" / "checkpoint.npz", dict(ckpt.meta, flags=flags), weight_decay=5e-4)
    history = _quiet(_cfg(tiny_data, None, epochs=3, lr_scheduler=None, resume=str(old)))
    assert [h["epoch"] for h in history] == [1, 2, 3] and history[2]["lr"] == pytest.approx(0.0025)


def test_the_convolution_algorithms_are_recorded_and_resumed(tiny_data, tmp_path, monkeypatch):
    # "auto" times each convolution shape once; the run records what it chose (checkpoint and
    # conv_algorithms.json), and a resumed run computes with the recorded choices, not new timings.
    from tinynet.checkpoint import save_checkpoint
    from tinynet.functional import conv_choice
    from tinynet.saved_run import build_model

    conv_choice.clear()
    train(_cfg(tiny_data, tmp_path / "run", epochs=1), log=lambda m: None)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    table = ckpt.meta["conv_algorithms"]
    assert table and set(table.values()) <= set(conv_choice.NAMES)
    assert any("weight=64x32x3x3" in key for key in table)  # the mini variant's conv2, 3x3 and stride 1
    assert json.loads((tmp_path / "run" / "conv_algorithms.json").read_text()) == table
    # The checkpoint now says F(4x4, 3x3) for every shape; the resumed run uses that, times nothing.
    forced = {key: "winograd F(4x4,3x3)" for key in table if "x3x3 stride=1x1" in key}  # conv1 can't
    assert forced and len(forced) < len(table)
    model = build_model("mini", 3, 32)
    model.load_state_dict(ckpt.model_state)
    save_checkpoint(tmp_path / "run" / "checkpoint.npz", model, None, dict(ckpt.meta, conv_algorithms=forced))
    conv_choice.clear()
    made = []
    real = conv_choice.make_op
    monkeypatch.setattr(conv_choice, "make_op", lambda name, *a: made.append(name) or real(name, *a))
    real_time = conv_choice._time

    def timing(name, x, w, *rest):  # a batch of another size (the unreadable file moved) is a new shape
        assert conv_choice.shape_key(x, w, *rest[:4]) not in forced, "a recorded shape was timed again"
        return real_time(name, x, w, *rest)

    monkeypatch.setattr(conv_choice, "_time", timing)
    train(_cfg(tiny_data, tmp_path / "run", epochs=2, resume=str(tmp_path / "run" / "checkpoint.npz")),
          log=lambda m: None)
    assert made.count("winograd F(4x4,3x3)") >= len(forced)
    after = load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta["conv_algorithms"]
    assert {k: after[k] for k in forced} == forced
    conv_choice.clear()


def test_conv_algorithm_flag_sets_every_layer_that_can(tiny_data, tmp_path, monkeypatch):
    from tinynet.functional import conv_choice

    monkeypatch.setattr(conv_choice, "_time", lambda *a: pytest.fail("winograd forced: nothing to time"))
    with pytest.warns(UserWarning, match="broken.jpg"):
        train(_cfg(tiny_data, tmp_path / "w", conv_algorithm="winograd"), log=lambda m: None)
    # The mini variant's four 3x3 layers; its conv1 (5x5, stride 2) can't, and stays on im2col. The record
    # says so, so a resume without the flag computes the same.
    table = load_checkpoint(tmp_path / "w" / "checkpoint.npz").meta["conv_algorithms"]
    assert table == conv_choice.used()
    assert {name for key, name in table.items() if "x3x3 stride=1x1" in key} == {"winograd F(2x2,3x3)"}
    assert {name for key, name in table.items() if "stride=2x2" in key} == {"im2col"}
    with pytest.raises(ConfigError, match="--conv-algorithm must be one of 'auto', 'im2col', 'winograd', got 'fft'"):
        train(_cfg(tiny_data, tmp_path / "x", conv_algorithm="fft"), log=lambda m: None)


# --- each layer's gradient size per epoch (issue 20) -----------------------------------------------------------

def test_every_epoch_records_each_parameter_layers_mean_absolute_gradient(tiny_data, tmp_path):
    run = tmp_path / "r"
    history = _quiet(_cfg(tiny_data, run, epochs=2))
    layers = [name for name, m in build_model("mini", 3, 32).named_modules()
              if list(m.named_parameters(recurse=False))]
    assert layers == ["features.0", "features.3", "features.6", "features.8", "features.10", "classifier.1",
                      "classifier.4", "classifier.6"]
    for h in history:
        assert list(h["grad_abs_mean"]) == layers
        assert all(np.isfinite(v) and v > 0 for v in h["grad_abs_mean"].values())
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["grad_abs_mean"] for line in lines] == [h["grad_abs_mean"] for h in history]
    assert load_checkpoint(run / "checkpoint.npz").meta["history"][1]["grad_abs_mean"] == history[1]["grad_abs_mean"]
    assert Image.open(run / "curves.png").size[0] == 1500  # the third panel


def test_a_run_recorded_before_the_gradient_sizes_resumes_and_still_draws(tiny_data, tmp_path):
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run))
    ckpt = load_checkpoint(run / "checkpoint.npz")
    history = [{k: v for k, v in h.items() if k != "grad_abs_mean"} for h in ckpt.meta["history"]]
    old = _resaved(ckpt, tmp_path / "old" / "checkpoint.npz", dict(ckpt.meta, history=history))
    resumed = _quiet(_cfg(tiny_data, None, epochs=2, resume=str(old)))
    assert "grad_abs_mean" not in resumed[0] and len(resumed[1]["grad_abs_mean"]) == 8
    assert Image.open(tmp_path / "old" / "curves.png").size[0] == 1500


@pytest.mark.parametrize("bad", [[1.0], {"features.0": -1.0}, {"features.0": "big"}, {"features.0": True}])
def test_a_forged_gradient_size_in_the_history_is_refused_by_name(tiny_data, tmp_path, bad):
    run = tmp_path / "r"
    _quiet(_cfg(tiny_data, run))
    ckpt = load_checkpoint(run / "checkpoint.npz")
    history = [dict(ckpt.meta["history"][0], grad_abs_mean=bad)]
    forged = _resaved(ckpt, tmp_path / "forged.npz", dict(ckpt.meta, history=history))
    with pytest.raises(CheckpointError, match=r"forged\.npz, epoch 1 of field 'history': field 'grad_abs_mean' must "
                                              r"be an object \{layer name: mean \|gradient\|"):
        _quiet(_cfg(tiny_data, None, epochs=2, resume=str(forged)))
