"""`tinynet train` as several processes: the launcher, and data parallelism end to end (real mpiexec)."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import CUDA_SKIP_REASON
from tests.distributed.mpi_tools import ROOT, env, mpiexec, needs_mpi
from tinynet.checkpoint import load_checkpoint
from tinynet.data import synth


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """2 classes x 32 training images (64: whole global batches of 32) and 4 validation ones, 32x32."""
    root = tmp_path_factory.mktemp("images")
    synth.generate(root, classes=2, per_class=32, val_per_class=2, size=32, seed=1)
    return root


def _train_args(data, out, *extra):
    return ["train", "--data-path", str(data), "--variant", "mini", "--image-size", "32", "--epochs", "2",
            "-j", "0", "--lr", "0.05", "--dropout", "0.5", "--lr-scheduler", "step", "--no-progress",
            "--output-dir", str(out), *extra]


def _run(command, timeout=180):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env())


def _weights(out):
    return load_checkpoint(os.path.join(out, "checkpoint.npz")).model_state


@needs_mpi
def test_two_processes_of_16_end_with_the_weights_of_one_process_of_32(images, tmp_path):
    # Dropout on, augmentation on: each drawn per sample (its dataset index), so the two runs draw the same
    # numbers; 64 images, so every step of both runs holds the same 32 samples. 2 epochs, 4 SGD steps.
    one = _run([sys.executable, "-m", "tinynet", *_train_args(images, tmp_path / "one", "-b", "32")])
    assert one.returncode == 0, one.stderr
    two = _run([mpiexec(), "-n", "2", sys.executable, "-m", "tinynet", *_train_args(images, tmp_path / "two", "-b", "16")])
    assert two.returncode == 0, two.stdout + two.stderr
    assert "batch 16 per process x 2 processes (mpi) = 32" in two.stdout
    assert two.stdout.count("epoch 2/2") == 1  # rank 0 alone logs
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=2e-4, atol=2e-6, err_msg=name)
    moved = max(float(np.abs(a[n] - load_checkpoint(os.path.join(tmp_path / "one", "checkpoint_epoch1.npz"))
                             .model_state[n]).max()) for n in a)
    assert moved > 1e-3  # the second epoch changed the weights: the comparison is not of untrained nets
    # Without per-sample dropout the two would differ: the first dense layer's mask is drawn per sample.


@needs_mpi
def test_the_launcher_runs_n_ranks_and_a_run_resumes_with_another_number(images, tmp_path):
    out = tmp_path / "run"
    first = _run([sys.executable, "-m", "tinynet", *_train_args(images, out, "-b", "8", "--epochs", "1", "--lr",
                                                                "0.005", "--nproc-per-node", "2")])
    assert first.returncode == 0, first.stderr
    assert "batch 8 per process x 2 processes (mpi) = 16" in first.stdout
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "checkpoint_epoch1.npz", "conv_algorithms.json", "curves.png",
                                     "metrics.jsonl"]
    resumed = _run([sys.executable, "-m", "tinynet", "train", "--resume", str(out / "checkpoint.npz"), "--epochs",
                    "2", "-j", "0", "--no-progress"])  # one process now
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 2/2" in resumed.stdout and os.path.exists(out / "checkpoint_epoch2.npz")


def _children_of(pid):
    """Every process below ``pid`` (from /proc)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == parent:
                    found.append(int(entry))
                    frontier.append(int(entry))
    return found


def _ranks(launcher):
    """{rank: pid} of the two launched ranks under ``launcher`` (their rank from mpiexec's PMI_RANK), once
    both run."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ranks = {}
        for pid in _children_of(launcher.pid):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    environ = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            if b"PMI_RANK" in environ and b"tinynet" in cmd:
                ranks[int(environ[b"PMI_RANK"])] = pid
        if len(ranks) == 2:
            return ranks
        assert launcher.poll() is None, launcher.communicate()
        time.sleep(0.2)
    raise AssertionError("the two ranks did not start within 60 s")


def _gone(pids, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(os.path.exists(f"/proc/{p}") and "Z" not in open(f"/proc/{p}/stat").read().split()[2]
                   for p in pids if os.path.exists(f"/proc/{p}")):
            return True
        time.sleep(0.1)
    return False


@needs_mpi
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the ranks' processes through /proc (Linux)")
@pytest.mark.parametrize("how", ["killed", "stalled"])
def test_a_rank_that_dies_or_hangs_stops_the_job_naming_it(images, tmp_path, how):
    args = _train_args(images, tmp_path / "run", "-b", "4", "--epochs", "50", "--lr", "0.001", "--nproc-per-node",
                       "2", "--dist-timeout", "4")
    launcher = subprocess.Popen([sys.executable, "-m", "tinynet", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env())
    try:
        ranks = _ranks(launcher)
        time.sleep(3)  # training
        assert launcher.poll() is None, launcher.communicate()
        os.kill(ranks[1], signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        start = time.monotonic()
        _, err = launcher.communicate(timeout=60)
        took = time.monotonic() - start
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode != 0
    if how == "killed":
        assert took < 15, err
        assert "tinynet train: rank 1 ended the MPI job (mpiexec exited with code 9); stopping the other ranks" in err
    else:
        assert 3 < took < 25, err
        # Named alone, or beside rank 0 when both had done as much when it stopped (both then wait in MPI).
        assert ("rank 1 made no progress for" in err or "ranks 0, 1 made no progress for" in err), err
        assert "--dist-timeout 4" in err, err
    assert _gone(ranks.values()), "a rank outlived the launcher"


@pytest.mark.parametrize("flags, code, message", [
    (["--nproc-per-node", "0"], 2, "argument --nproc-per-node: must be an int >= 1, got 0"),
    (["--nproc-per-node", "two"], 2, "argument --nproc-per-node: must be an int, got 'two'"),
    (["--nproc-per-node", "2", "--dist-backend", "gloo"], 2, "argument --dist-backend: invalid choice: 'gloo'"),
    (["--nproc-per-node", "2", "--dist-timeout", "-1"], 2, "argument --dist-timeout: must be a finite number >= 0, got -1.0"),
    (["--nproc-per-node", "2", "--dist-backend", "nccl"], 1, "--dist-backend nccl works on GPU tensors: give "
                                                             "--device cuda (or --dist-backend mpi)"),
    (["--dist-backend", "mpi"], 1, "--dist-backend mpi: this process was not started by a launcher; give "
                                   "--nproc-per-node N (or start it with mpiexec -n N)"),
    (["--nproc-per-node", "2", "--epochs", "0"], 1, "--epochs must be"),  # the run's flags checked once, first
])
def test_bad_distributed_flags_are_refused_naming_the_flag(flags, code, message, capsys, monkeypatch, tmp_path):
    from tinynet import cli

    for name in ("RANK", "WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    try:
        got = cli.main(["train", "--output-dir", str(tmp_path / "run"), *flags])
    except SystemExit as e:  # argparse
        got = e.code
    assert got == code
    assert message in capsys.readouterr().err


def test_a_rank_asked_to_launch_again_is_refused(capsys, monkeypatch, tmp_path):
    from tinynet import cli

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert cli.main(["train", "--nproc-per-node", "2", "--output-dir", str(tmp_path / "run")]) == 1
    assert "--nproc-per-node: this process is already one of a launched job's ranks" in capsys.readouterr().err


@pytest.mark.skipif(CUDA_SKIP_REASON is not None, reason=f"an NCCL job needs a CUDA GPU ({CUDA_SKIP_REASON}); NCCL "
                    "refuses two ranks on one GPU, so one card runs world size 1")
def test_an_nccl_job_of_world_size_1_through_the_launcher(images, tmp_path):
    out = tmp_path / "run"
    done = _run([sys.executable, "-m", "tinynet", *_train_args(images, out, "-b", "8", "--epochs", "1", "--device",
                                                               "cuda", "--nproc-per-node", "1")], timeout=300)
    assert done.returncode == 0, done.stderr
    assert "batch 8 per process x 1 processes (nccl) = 8" in done.stdout
    assert os.path.exists(out / "checkpoint.npz")


@needs_mpi
def test_a_rank_whose_whole_batch_is_unreadable_still_takes_the_step(images, tmp_path):
    # With -b 1 the rank that draws the corrupt file has an empty batch: it steps with zero gradients instead of
    # leaving the other rank waiting in its all-reduce for ever.
    import shutil

    data = tmp_path / "data"
    shutil.copytree(images, data)
    first_class = sorted(os.listdir(data / "train"))[0]
    victim = sorted(os.listdir(data / "train" / first_class))[0]
    (data / "train" / first_class / victim).write_bytes(b"not an image")
    done = _run([sys.executable, "-m", "tinynet", *_train_args(data, tmp_path / "run", "-b", "1", "--epochs", "1",
                                                               "--lr", "0.001", "--nproc-per-node", "2",
                                                               "--dist-timeout", "30")], timeout=120)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/1" in done.stdout and victim in done.stderr + done.stdout


@needs_mpi
def test_sigterm_to_the_launcher_stops_the_ranks_and_leaves_no_folder(images, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    launcher = subprocess.Popen([sys.executable, "-m", "tinynet", *_train_args(images, tmp_path / "run", "-b", "4",
                                                                               "--epochs", "50", "--lr", "0.001",
                                                                               "--nproc-per-node", "2")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env=dict(env(), TMPDIR=str(scratch)))
    try:
        ranks = _ranks(launcher)
        launcher.terminate()
        _, err = launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 143 and "terminated; stopping every rank" in err, err
    assert _gone(ranks.values()) and not [p for p in scratch.iterdir() if p.name.startswith("tinynet-ranks-")]


@pytest.mark.parametrize("argv, rest", [
    (["train", "--nproc-per-node", "2", "-b", "4"], ["train", "-b", "4"]),
    (["train", "--nproc-per-node=2", "-b", "4"], ["train", "-b", "4"]),
    (["train", "--nproc", "2", "-b", "4"], ["train", "-b", "4"]),  # argparse takes a unique prefix
    (["train", "--np=3"], ["train"]),
    (["train", "--no-progress"], ["train", "--no-progress"]),
])
def test_the_launcher_hands_the_ranks_the_command_without_its_own_flag(argv, rest):
    from tinynet.cli import _without_nproc

    assert _without_nproc(argv) == rest


@pytest.mark.parametrize("flags, message", [
    (["--dist-timeout", "30"], "--dist-timeout: only the launcher watches the ranks; give --nproc-per-node N"),
    (["--nproc-per-node", "2", "--dist-backend", "mpi", "--device", "cuda"],
     "--dist-backend mpi works on host arrays: with --device cuda use --dist-backend nccl"),
])
def test_flags_that_would_do_nothing_are_refused(flags, message, capsys, monkeypatch, tmp_path):
    from tinynet import cli

    for name in ("RANK", "WORLD_SIZE", "PMI_RANK", "PMI_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["train", "--output-dir", str(tmp_path / "run"), *flags]) == 1
    assert message in capsys.readouterr().err
