"""Checkpoints: round trip, atomic writes that survive a crash, clear errors, and no pickle."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tinynet
from tinynet import nn
from tinynet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinynet.optim import SGD


def _model(seed=0):
    tinynet.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def test_round_trip_restores_model_optimizer_and_meta(tmp_path):
    model = _model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = tinynet.Tensor(np.ones(p.shape, dtype=p.dtype))
    opt.step()
    path = save_checkpoint(tmp_path / "c.npz", model, opt, {"epoch": 3, "classes": ["a", "b"]})
    ckpt = load_checkpoint(path)
    assert ckpt.meta["epoch"] == 3 and ckpt.meta["classes"] == ["a", "b"]
    fresh = _model(seed=1)
    fresh.load_state_dict(ckpt.model_state)
    for (n, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=n)
    assert ckpt.optimizer_state["lr"] == 0.1 and len(ckpt.optimizer_state["buffers"]) == 4
    np.testing.assert_array_equal(ckpt.optimizer_state["buffers"][0], np.ones((4, 3, 3, 3), np.float32))


def test_failed_write_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, _model(), meta={"epoch": 1})

    def broken_savez(f, **arrays):  # writes half a file, then the disk "fills up"
        f.write(b"PK\x03\x04 partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, _model(), meta={"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path).meta["epoch"] == 1
    assert os.listdir(tmp_path) == ["c.npz"]


def test_a_writer_killed_midway_never_leaves_a_broken_checkpoint(tmp_path):
    """A process rewriting a 40 MB checkpoint in a loop is killed with SIGKILL at some point in a write;
    the file at the final path is always a complete checkpoint (the old or the new one)."""
    path = tmp_path / "c.npz"
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {os.getcwd()!r})
        from tinynet import nn
        from tinynet.checkpoint import save_checkpoint
        model = nn.Linear(2500, 4000)
        i = 0
        while True:
            i += 1
            save_checkpoint({str(path)!r}, model, meta={{"epoch": i}})
            print(i, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(0.35)  # somewhere inside a later write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ckpt = load_checkpoint(path)
    assert ckpt.meta["epoch"] >= 1
    assert ckpt.model_state["weight"].shape == (4000, 2500)


def test_missing_truncated_and_foreign_files_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.npz")
    path = save_checkpoint(tmp_path / "c.npz", _model(), meta={"epoch": 1})
    data = open(path, "rb").read()
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"t\.npz is truncated or corrupt"):
        load_checkpoint(truncated)
    foreign = tmp_path / "f.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a tinynet checkpoint"):
        load_checkpoint(foreign)


def test_loading_never_unpickles(tmp_path):
    """An .npz holding a pickled object array is refused, not executed."""
    evil = tmp_path / "evil.npz"
    np.savez(evil, meta=np.frombuffer(b'{"format": 1}', dtype=np.uint8), payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="evil.npz"):
        load_checkpoint(evil)
