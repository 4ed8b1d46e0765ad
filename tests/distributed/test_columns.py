"""The paper's two-GPU split as two real MPI processes: each holds half of every layer, and together they
compute what the single-process paper network (LRN per column) computes: outputs, gradients, SGD steps; and
`tinynet train --variant paper --model-parallel 2`, whose checkpoints are one whole network's."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.distributed.mpi_tools import ROOT, env, mpiexec, needs_mpi, run_ranks
from tinynet.checkpoint import load_checkpoint, optimizer_state_dict

SETUP = r'''
import numpy as np
import tinynet
from tinynet import distributed as dist, functional as F
from tinynet.distributed.columns import ColumnNet
from tinynet.models import alexnet

tinynet.manual_seed(0)
full = alexnet("paper", num_classes=10, input_size=67, lrn_groups=2, dropout=0.0, init="kaiming")
for layer in full.modules():  # the same algorithm on both sides (a column's shapes differ from the whole's)
    if isinstance(layer, tinynet.nn.Conv2d):
        layer.algorithm = "im2col"
rng = np.random.default_rng(3)
x = tinynet.tensor(rng.standard_normal((2, 3, 67, 67)).astype(np.float32))
y = tinynet.tensor(rng.integers(0, 10, 2))


def run(model, rank):
    """The forward, the loss, conv3's gradient, then 3 SGD steps (model: the whole network or a column)."""
    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    conv3 = [m for m in model.modules() if isinstance(m, tinynet.nn.Conv2d)][2]
    result = {"rank": rank, "logits": out.numpy().tolist(), "loss": loss.item(),
              "conv3_grad": conv3.weight.grad.numpy().tolist()}
    opt = tinynet.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for step in range(3):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return result
'''

COLUMNS = SETUP + r'''
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
column = ColumnNet(full, rank, world)
result = run(column, rank)
state = column.full_state_dict(full)  # one ordinary paper-variant state dict, the same on both ranks
fc8 = state["classifier.6.weight"]
result["fc8"] = np.asarray(getattr(fc8, "data", fc8)).tolist()
report(result)
'''

SINGLE = SETUP + r'''
result = run(full, 0)
result["fc8"] = full.classifier[6].weight.numpy().tolist()
report(result)
'''


@needs_mpi
def test_two_columns_compute_the_single_paper_network(tmp_path):
    (tmp_path / "one").mkdir()
    (single,) = run_ranks(SINGLE, 1, tmp_path / "one")
    columns = run_ranks(COLUMNS, 2, tmp_path)
    for r, c in enumerate(columns):
        np.testing.assert_allclose(c["logits"], single["logits"], rtol=1e-4, atol=1e-5)  # whole output, every rank
        assert abs(c["loss"] - single["loss"]) < 1e-4 * abs(single["loss"])
        half = np.asarray(single["conv3_grad"])[r * 192:(r + 1) * 192]  # rank r's 192 of conv3's 384 kernels
        np.testing.assert_allclose(c["conv3_grad"], half, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(c["fc8"], single["fc8"], rtol=1e-3, atol=1e-6)  # after 3 steps, merged


def test_a_network_that_cannot_be_split_evenly_is_refused():
    import pytest

    from tinynet import nn
    from tinynet.distributed.columns import ColumnNet

    with pytest.raises(ValueError, match="ColumnNet: .*Linear.* has 5 outputs, which 2 ranks can't share"):
        ColumnNet(nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)), 0, 2)
    # The last layer may have a width the ranks can't share (the logits of 3 classes): it is held whole.
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    column = ColumnNet(net, 1, 2)
    assert [tuple(p.shape) for p in column.parameters()] == [(3, 4), (3,), (3, 6), (3,)]
    np.testing.assert_array_equal(column.pairs(replicas=True)[0][0].data, net[2].weight.data)
    with pytest.raises(ValueError, match="ColumnNet: a convolution with groups=2 splits over 2 ranks, not 4"):
        ColumnNet(nn.Sequential(nn.Conv2d(4, 8, 3), nn.Conv2d(8, 8, 3, groups=2)), 0, 4)
    with pytest.raises(ValueError, match=r"ColumnNet: LocalResponseNorm.* normalises over 1 block\(s\) of channels; a "
                                         r"column normalises only its own, so the whole network must have LRN groups=2"):
        ColumnNet(nn.Sequential(nn.Conv2d(4, 8, 3), nn.LocalResponseNorm(5)), 0, 2)
    with pytest.raises(ValueError, match="ColumnNet: need ints 0 <= rank < world"):
        ColumnNet(nn.Sequential(nn.Linear(4, 4)), 2, 2)


# --- tinynet train --model-parallel 2 ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def paper_images(tmp_path_factory):
    """3 classes (so the logits are held whole on both ranks) x 8 images at the paper variant's smallest size."""
    from tinynet.data import synth

    root = tmp_path_factory.mktemp("paper_images")
    synth.generate(root, classes=3, per_class=8, val_per_class=2, size=67, seed=1)
    return root


def _train(*args, ranks=None, timeout=300):
    command = [sys.executable, "-m", "tinynet", "train", "-j", "0", "--no-progress", *map(str, args)]
    if ranks:
        command = [mpiexec(), "-n", str(ranks)] + command
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env())


def _paper_run(images, out, *extra):
    # im2col everywhere: the columns' layers have other shapes than the whole network's, so "auto" could pick
    # other algorithms for them, and the runs would differ by those algorithms' rounding.
    return ("--data-path", images, "--variant", "paper", "--image-size", "67", "-b", "6", "--lr", "0.002",
            "--lr-scheduler", "exponential", "--lr-gamma", "0.5", "--conv-algorithm", "im2col", "--output-dir", out,
            *extra)


@needs_mpi
def test_a_columns_layers_are_named_as_the_whole_networks():
    from tinynet import nn
    from tinynet.distributed.columns import ColumnNet
    from tinynet.train_distributed import Columns

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    columns = Columns.__new__(Columns)  # (no process group: only the naming is checked)
    columns.net, columns.column = net, ColumnNet(net, 0, 2)
    names = columns.layer_names()
    assert sorted(names.values()) == ["0", "3", "5"]  # the split conv and dense layers, and the whole last one
    assert all(name.startswith("body.") for name in names)


def test_model_parallel_training_is_the_single_process_networks(paper_images, tmp_path):
    # Epoch 1 as two columns (the launcher); epoch 2 resumed from its checkpoint twice: as two columns again
    # (mpiexec), and in one process. The same weights and momentum buffers at the end: the checkpoint is the
    # whole network with its optimizer (buffers gathered), a resume cuts both into columns again, the LRN form
    # (per column) travels in the checkpoint, and the columns' epoch is the single network's epoch. Dropout
    # and augmentation on: drawn per sample, the same on every rank.
    first = tmp_path / "first"
    done = _train(*_paper_run(paper_images, first, "--epochs", "1", "--nproc-per-node", "2", "--model-parallel", "2"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "batch 6, model-parallel: one column on each of 2 processes (mpi)" in done.stdout
    ckpt = load_checkpoint(first / "checkpoint.npz")
    assert ckpt.meta["lrn_groups"] == 2 and ckpt.model_state["classifier.6.weight"].shape == (3, 4096)
    assert ckpt.meta["lr"] == 0.001  # the next epoch's, as one process's checkpoint holds it
    for name in ("columns", "single"):
        shutil.copytree(first, tmp_path / name)
    two = _train("--resume", tmp_path / "columns" / "checkpoint.npz", "--epochs", "2", "--model-parallel", "2",
                 "--conv-algorithm", "im2col", ranks=2)
    assert two.returncode == 0, two.stdout + two.stderr
    one = _train("--resume", tmp_path / "single" / "checkpoint.npz", "--epochs", "2", "--conv-algorithm", "im2col")
    assert one.returncode == 0, one.stdout + one.stderr
    a = load_checkpoint(tmp_path / "columns" / "checkpoint.npz")
    b = load_checkpoint(tmp_path / "single" / "checkpoint.npz")
    assert a.meta["lrn_groups"] == b.meta["lrn_groups"] == 2
    assert a.meta["lr"] == b.meta["lr"] == 0.0005
    # each layer's gradient size, named as the whole network's layers (rank 0's column: half of a split layer)
    assert list(a.meta["history"][1]["grad_abs_mean"]) == list(b.meta["history"][1]["grad_abs_mean"])
    assert "note: the learning rate" not in two.stdout + one.stdout  # the checkpoint's lr is the schedule's
    for name, w in b.model_state.items():
        np.testing.assert_allclose(a.model_state[name], w, rtol=1e-3, atol=1e-6, err_msg=name)
        assert not np.array_equal(w, ckpt.model_state[name]) or name.endswith("bias"), name  # epoch 2 moved it
    sa, sb = (optimizer_state_dict(c.optimizer_state)["state"] for c in (a, b))
    assert sorted(sa) == sorted(sb) == list(range(16))  # a momentum buffer per weight and bias
    for k in sb:  # float32 sums in another order: to 1e-3 of each buffer's largest entry
        want = sb[k]["momentum_buffer"]
        np.testing.assert_allclose(sa[k]["momentum_buffer"], want, rtol=1e-3, atol=1e-3 * float(np.abs(want).max()),
                                   err_msg=f"momentum buffer {k}")
        assert np.abs(want).max() > 0
    for name in ("first", "columns", "single"):  # 160 MB a checkpoint
        shutil.rmtree(tmp_path / name)


MODEL_PARALLEL_REFUSALS = [
    (["--variant", "paper", "--model-parallel", "3"], None,
     "--model-parallel must be 2, got 3: the paper variant splits into two columns"),
    (["--variant", "paper", "--model-parallel", "0"], None, "--model-parallel must be 2, got 0"),
    (["--variant", "paper", "--model-parallel", "x"], None, "argument --model-parallel: must be an int, got 'x'"),
    (["--model-parallel", "2"], None, "--model-parallel 2 splits the paper variant's two columns: give --variant "
                                      "paper (the mini variant has no grouped layers"),
    (["--variant", "seed", "--model-parallel", "2"], None, "give --variant paper (the seed variant"),
    (["--variant", "paper", "--model-parallel", "2"], None, "--model-parallel 2 runs as two processes, one column "
                                                            "each: add --nproc-per-node 2"),
    (["--variant", "paper", "--model-parallel", "2", "--nproc-per-node", "3"], None,
     "--model-parallel 2 needs exactly 2 processes, one column each: give --nproc-per-node 2, not 3"),
    (["--variant", "paper", "--model-parallel", "2"], 3, "--model-parallel 2 needs exactly 2 processes, one column "
                                                         "each; this job has 3"),
]


@needs_mpi
@pytest.mark.parametrize("args, ranks, message", MODEL_PARALLEL_REFUSALS)
def test_model_parallel_refusals(paper_images, tmp_path, args, ranks, message):
    done = _train("--data-path", paper_images, "--image-size", "67", "--epochs", "1", "--output-dir", tmp_path / "r",
                  *args, ranks=ranks, timeout=120)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert not os.path.exists(tmp_path / "r" / "checkpoint.npz")


@needs_mpi
def test_a_run_with_lrn_over_all_channels_does_not_resume_as_columns(paper_images, tmp_path):
    first = _train(*_paper_run(paper_images, tmp_path / "run", "--epochs", "1"))
    assert first.returncode == 0, first.stderr
    message = "normalised LRN over all the channels; the columns normalise over their own halves"
    done = _train("--resume", tmp_path / "run" / "checkpoint.npz", "--epochs", "2", "--model-parallel", "2", ranks=2)
    assert done.returncode != 0 and message in done.stderr
    # Under the launcher, refused before any rank starts: said once.
    launched = _train("--resume", tmp_path / "run" / "checkpoint.npz", "--epochs", "2", "--model-parallel", "2",
                      "--nproc-per-node", "2")
    assert launched.returncode != 0 and launched.stderr.count(message) == 1, launched.stderr
    assert not os.path.exists(tmp_path / "run" / "checkpoint_epoch2.npz")
    shutil.rmtree(tmp_path / "run")
