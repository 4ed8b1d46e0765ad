"""A run's output folder: never written over silently, checked before training, metrics as one run."""
import json
import os
import subprocess
import sys

import pytest

from tinynet import run_folder
from tinynet.train_flags import DEFAULT_OUTPUT_DIR, ConfigError


def _make_run(folder, *names):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        with open(os.path.join(folder, name), "w") as f:
            f.write("x")


def _open(output_dir, resume=None, overwrite=False, log=lambda line: None):
    with run_folder.open_run(output_dir, resume, overwrite, log) as run:
        return run.path, run.earlier


def test_the_default_folder_moves_on_to_a_numbered_one_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    logs = []
    assert _open(None, log=logs.append) == (DEFAULT_OUTPUT_DIR, []) and logs == []
    _make_run(DEFAULT_OUTPUT_DIR, "metrics.jsonl")
    _make_run(DEFAULT_OUTPUT_DIR + "-2", "checkpoint_epoch1.npz")  # killed between an epoch's two checkpoints
    os.makedirs(DEFAULT_OUTPUT_DIR + "-3")  # an empty folder holds no run
    assert _open(None, log=logs.append)[0] == DEFAULT_OUTPUT_DIR + "-3"
    assert logs == [f"{DEFAULT_OUTPUT_DIR} holds an earlier run; this run goes to {DEFAULT_OUTPUT_DIR}-3 "
                    "(give --output-dir to choose, --resume to continue a run)"]


def test_two_runs_at_once_never_share_a_folder(tmp_path, monkeypatch):
    # Before: two runs started together both wrote to runs/alexnet (it held no files yet).
    monkeypatch.chdir(tmp_path)
    with run_folder.open_run(None, None, False, lambda line: None) as first:
        assert first.path == DEFAULT_OUTPUT_DIR
        assert _open(None)[0] == DEFAULT_OUTPUT_DIR + "-2"  # the default moves on past the locked folder
        with pytest.raises(ConfigError, match=f"another tinynet train is writing to {DEFAULT_OUTPUT_DIR} right now"):
            _open(DEFAULT_OUTPUT_DIR)
    assert _open(DEFAULT_OUTPUT_DIR)[0] == DEFAULT_OUTPUT_DIR  # released when the run ends


def test_the_lock_is_released_when_its_process_dies(tmp_path):
    script = ("import sys, time; from tinynet import run_folder; "
              "r = run_folder.open_run(sys.argv[1], None, False, print); print('locked', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "r")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match="another tinynet train is writing"):
            _open(str(tmp_path / "r"))
    finally:
        child.kill()
        child.wait()
    assert _open(str(tmp_path / "r"))[0] == str(tmp_path / "r")


@pytest.mark.parametrize("files", [["checkpoint.npz"], ["metrics.jsonl"], ["checkpoint.npz", "metrics.jsonl"],
                                   ["checkpoint_epoch3.npz"]])
def test_a_given_folder_that_holds_a_run_is_refused(tmp_path, files):
    _make_run(tmp_path / "r", *files)
    newest = "checkpoint.npz" if "checkpoint.npz" in files else files[0] if "npz" in files[0] else None
    resume = rf"continue it with --resume .*{newest}, " if newest else ""
    with pytest.raises(ConfigError, match=rf"--output-dir {tmp_path / 'r'} holds a run \({', '.join(files)}\): "
                                          rf"{resume}replace it with --overwrite"):
        _open(str(tmp_path / "r"))


def test_overwrite_removes_the_earlier_runs_files_only_when_asked_to(tmp_path):
    _make_run(tmp_path / "r", "checkpoint.npz", "checkpoint_epoch3.npz", "metrics.jsonl", "curves.png", "notes.txt")
    logs = []
    with run_folder.open_run(str(tmp_path / "r"), None, True, logs.append) as run:
        assert len(os.listdir(tmp_path / "r")) == 5  # nothing removed yet: the new run may still fail to start
        run.clear_earlier(logs.append)
    assert os.listdir(tmp_path / "r") == ["notes.txt"] and "--overwrite: removed the earlier run's files" in logs[0]


def test_resume_continues_in_the_checkpoints_folder(tmp_path):
    _make_run(tmp_path / "r", "checkpoint.npz", "metrics.jsonl")
    ckpt = str(tmp_path / "r" / "checkpoint.npz")
    assert _open(None, ckpt)[0] == str(tmp_path / "r")
    assert _open(str(tmp_path / "r"), ckpt)[0] == str(tmp_path / "r")
    assert _open(str(tmp_path / "new"), ckpt)[0] == str(tmp_path / "new")  # branching off


def test_prepare_makes_the_folder_or_refuses_a_file(tmp_path):
    assert run_folder.prepare(str(tmp_path / "a" / "b")) == str(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("a file")
    with pytest.raises(ConfigError, match=r"--output-dir .*f is a file, not a folder"):
        run_folder.prepare(str(tmp_path / "f"))


def test_an_unwritable_folder_is_found_before_training(tmp_path, monkeypatch):
    # Tests run as root, which may write anywhere: the refusal is simulated where the probe file is made.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(run_folder.tempfile, "TemporaryFile", refuse)
    with pytest.raises(ConfigError, match=r"--output-dir .*out can't be written to: Permission denied"):
        run_folder.prepare(str(tmp_path / "out"))
    with pytest.raises(ConfigError, match="can't be written to"):
        run_folder.prepare("/proc/version/sub")  # under a file: can't be created


def test_opening_a_run_removes_the_temporaries_of_dead_writers(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"checkpoint.npz.tmp-{int(dead.stdout)}"
    stale.write_bytes(b"PK\x03\x04 half a checkpoint")  # a partial .npz (a zip)
    mine = tmp_path / f"checkpoint.npz.tmp-{os.getpid()}"
    mine.write_bytes(b"being written")
    logs = []
    _open(str(tmp_path), log=logs.append)  # once the folder is locked: no writer of this run can be in it
    assert not stale.exists() and mine.exists()
    assert len(logs) == 1 and str(stale) in logs[0] and "killed" in logs[0]


def test_metrics_are_rewritten_whole_as_one_run(tmp_path):
    history = [{"epoch": 1, "top1": 0.5}, {"epoch": 2, "top1": 0.6}]
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3}\n')
    run_folder.write_metrics(str(tmp_path), history)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == history
    assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl"]  # no temporary left


@pytest.mark.parametrize("make, message", [
    (lambda f: os.makedirs(f / "checkpoint.npz"), r"holds checkpoint.npz, which is not a regular file"),
    (lambda f: os.makedirs(f / "checkpoint_epoch1.npz"), r"holds checkpoint_epoch1.npz, which is not a regular"),
    (lambda f: os.symlink(f.parent / "elsewhere.txt", f / "metrics.jsonl"), r"holds metrics.jsonl, which is not a"),
])
def test_a_folder_or_link_named_like_a_run_file_is_refused_before_training(tmp_path, make, message):
    # Before: an epoch trained, then the checkpoint write failed ("Is a directory").
    folder = tmp_path / "out"
    folder.mkdir()
    make(folder)
    with pytest.raises(ConfigError, match=message):
        run_folder.prepare(str(folder))


def test_a_broken_link_as_the_folder_is_named(tmp_path):
    os.symlink(tmp_path / "gone", tmp_path / "out")
    with pytest.raises(ConfigError, match=r"--output-dir .*out is a broken symbolic link"):
        run_folder.prepare(str(tmp_path / "out"))


def test_temporary_files_are_never_written_through_a_planted_link(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (tmp_path / "r").mkdir()
    os.symlink(precious, tmp_path / "r" / "curves.png.tmp.png")  # the names the writers used to use
    os.symlink(precious, tmp_path / "r" / f"metrics.jsonl.tmp-{os.getpid()}")
    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "top1": 0.5, "top5": 0.9}]
    run_folder.write_metrics(str(tmp_path / "r"), history)
    run_folder.plot_curves(history, str(tmp_path / "r" / "curves.png"))
    assert precious.read_text() == "keep me"
    assert not os.path.islink(tmp_path / "r" / "curves.png") and not os.path.islink(tmp_path / "r" / "metrics.jsonl")


def _history(epochs, grads=True):
    return [dict({"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "top1": 0.1 * e, "top5": 0.2 * e},
                 **({"grad_abs_mean": {"features.0": 1e-2 / e, "classifier.6": 3e-1 / e}} if grads and e > 1 else {}))
            for e in range(1, epochs + 1)]


@pytest.mark.parametrize("grads, width", [(True, 1500), (False, 1000)], ids=["with-gradient-sizes", "without"])
def test_curves_draw_the_gradient_sizes_beside_the_losses_when_the_history_has_them(tmp_path, grads, width):
    from PIL import Image

    pytest.importorskip("matplotlib")
    # with: epoch 1 lacks the key (a run recorded before it, resumed), epochs 2 and 3 have it
    path = run_folder.plot_curves(_history(3, grads), str(tmp_path / "curves.png"))
    assert Image.open(path).size == (width, 400)
    assert os.listdir(tmp_path) == ["curves.png"]


def test_curves_with_gradient_sizes_of_zero_still_draw(tmp_path):
    pytest.importorskip("matplotlib")
    history = [dict(h, grad_abs_mean={"features.0": 0.0}) for h in _history(2, grads=False)]
    assert run_folder.plot_curves(history, str(tmp_path / "curves.png")) == str(tmp_path / "curves.png")
