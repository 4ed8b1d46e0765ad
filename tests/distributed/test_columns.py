"""The paper's two-GPU split as two real MPI processes: each holds half of every layer, and together they
compute what the single-process paper network (LRN per column) computes: outputs, gradients, SGD steps."""
import numpy as np

from tests.distributed.mpi_tools import needs_mpi, run_ranks

SETUP = r'''
import numpy as np
import tinynet
from tinynet import distributed as dist, functional as F
from tinynet.distributed.columns import ColumnNet
from tinynet.models import alexnet

tinynet.manual_seed(0)
full = alexnet("paper", num_classes=10, input_size=67, lrn_groups=2, dropout=0.0, init="kaiming")
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
        ColumnNet(nn.Sequential(nn.Linear(4, 5)), 0, 2)
    with pytest.raises(ValueError, match="ColumnNet: a convolution with groups=2 splits over 2 ranks, not 4"):
        ColumnNet(nn.Sequential(nn.Conv2d(4, 8, 3), nn.Conv2d(8, 8, 3, groups=2)), 0, 4)
    with pytest.raises(ValueError, match="ColumnNet: need ints 0 <= rank < world"):
        ColumnNet(nn.Sequential(nn.Linear(4, 4)), 2, 2)
