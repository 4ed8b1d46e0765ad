"""DistributedDataParallel in real MPI processes: the same gradients and weights as one process with the
whole batch, and bucket reduces that start during backward."""
import numpy as np

from tests.distributed.mpi_tools import needs_mpi, run_ranks

TRAIN = r'''
import sys
import numpy as np
import tinynet
from tinynet import distributed as dist, functional as F, nn

world = int(sys.argv[2])
if world > 1:
    dist.init_process_group("mpi")
rank = dist.get_rank()
tinynet.manual_seed(100 + rank)  # different initial weights per rank: the wrapper must broadcast rank 0's
net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
if world == 1:
    tinynet.manual_seed(100)
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    model = net
else:
    model = dist.DistributedDataParallel(net, bucket_cap_mb=80e-6)  # 80 bytes: several buckets
events = []
if world > 1:
    real = dist.group.all_reduce
    def traced(t, op="sum", async_op=False):
        events.append(("reduce", int(t.size)))
        return real(t, op=op, async_op=async_op)
    dist.group.all_reduce = traced
for name, p in net.named_parameters():
    p.register_post_accumulate_grad_hook(lambda t, name=name: events.append(("ready", name)))
opt = tinynet.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
data = np.random.default_rng(7)
for step in range(4):
    x = data.standard_normal((16, 6)).astype(np.float32)
    y = data.integers(0, 3, 16)
    mine = slice(rank * 16 // world, (rank + 1) * 16 // world)
    loss = F.cross_entropy(model(tinynet.tensor(x[mine])), tinynet.tensor(y[mine]))
    opt.zero_grad()
    loss.backward()
    if step == 0:
        grads = {n: p.grad.numpy().tolist() for n, p in net.named_parameters()}
        first = list(events)
    opt.step()
report({"rank": rank, "grads": grads, "events": first,
        "weights": {n: p.numpy().tolist() for n, p in net.named_parameters()},
        "log": model.reduce_log if world > 1 else []})
'''


@needs_mpi
def test_two_ranks_with_half_batches_step_as_one_process_with_the_whole(tmp_path):
    (tmp_path / "one").mkdir()
    (one,) = run_ranks(TRAIN, 1, tmp_path / "one", args=("1",))
    two = run_ranks(TRAIN, 2, tmp_path, args=("2",))
    for r in (0, 1):
        for name, g in one["grads"].items():
            np.testing.assert_allclose(two[r]["grads"][name], g, rtol=1e-5, atol=1e-6, err_msg=name)
        for name, w in one["weights"].items():
            np.testing.assert_allclose(two[r]["weights"][name], w, rtol=1e-5, atol=1e-6, err_msg=name)
    assert two[0]["weights"] == two[1]["weights"]  # the ranks' weights are equal to the last bit


@needs_mpi
def test_bucket_reduces_start_during_backward_last_layers_first(tmp_path):
    ranks = run_ranks(TRAIN, 2, tmp_path, args=("2",))
    events = [tuple(e) for e in ranks[0]["events"]]
    reduces = [k for k, e in enumerate(events) if e[0] == "reduce"]
    first_layer = events.index(("ready", "0.weight"))
    assert len(reduces) >= 3, events  # several buckets
    assert reduces[0] < first_layer, events  # the last layers' bucket was on its way before backward ended
    assert ranks[0]["log"][0] == list(range(len(reduces)))  # started in order, the same on both ranks
    assert ranks[0]["log"] == ranks[1]["log"]


EDGES = r'''
import numpy as np
import tinynet
from tinynet import distributed as dist, functional as F, nn

dist.init_process_group("mpi")
rank = dist.get_rank()


class Fails(tinynet.Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        raise RuntimeError("backward failed on purpose")


tinynet.manual_seed(rank)  # different weights per rank: frozen ones must come from rank 0 too
net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
spare = nn.Linear(3, 3)  # used by no rank
holder = nn.ModuleList([net, spare])
net[2].bias.requires_grad = False
model = dist.DistributedDataParallel(holder, bucket_cap_mb=40e-6)
out = {"rank": rank, "frozen": net[2].bias.numpy().tolist()}
x = tinynet.tensor(np.full((2, 3), rank + 1.0, np.float32))
try:
    Fails()(net(x)).sum().backward()
except RuntimeError as e:
    out["raised"] = str(e)
holder.zero_grad()
net(x).sum().backward()  # after the failed one: reduced and averaged as usual
out["grad"] = net[0].weight.grad.numpy().tolist()
out["spare"] = spare.weight.grad is None
out["log"] = model.reduce_log
report(out)
'''


@needs_mpi
def test_frozen_weights_come_from_rank_0_unused_ones_keep_no_gradient_and_a_failed_backward_leaves_no_trace(tmp_path):
    ranks = run_ranks(EDGES, 2, tmp_path)
    assert ranks[0]["frozen"] == ranks[1]["frozen"]  # a parameter without requires_grad is broadcast too
    assert all(r["raised"] == "backward failed on purpose" for r in ranks)
    assert ranks[0]["grad"] == ranks[1]["grad"]  # averaged over both ranks, the failure forgotten
    assert ranks[0]["spare"] and ranks[1]["spare"]  # no rank used it: None, as alone, so no step moves it
    assert ranks[0]["log"][-1] == list(range(len(ranks[0]["log"][-1]))) and len(ranks[0]["log"][-1]) > 1
