"""The process group and its collectives, in real MPI processes (mpiexec -n 2 and 3)."""
import numpy as np
import pytest

import tinynet
from tinynet import distributed as dist
from tests.distributed.mpi_tools import needs_mpi, run_ranks

COLLECTIVES = r'''
import numpy as np
import tinynet
from tinynet import distributed as dist

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
out = {"rank": r, "world": n, "backend": dist.get_backend()}
t = tinynet.tensor(np.arange(4, dtype=np.float32) + 10 * r)
v = t._version_counter.value
dist.all_reduce(t)
out["sum"], out["bumped"] = t.numpy().tolist(), t._version_counter.value == v + 1
for op in ("max", "min", "prod", "avg"):
    a = np.array([r + 1.0, -(r + 1.0)])
    dist.all_reduce(a, op=op)
    out[op] = a.tolist()
a = np.full(3, float(r))
work = dist.all_reduce(a, op=dist.ReduceOp.AVG, async_op=True)
work.wait()
out["async_avg"] = a.tolist()
b = tinynet.tensor(np.full(2, 7.0 if r == n - 1 else -1.0))
dist.broadcast(b, src=n - 1)
out["broadcast"] = b.numpy().tolist()
got = [np.zeros(2, np.int64) for _ in range(n)]
dist.all_gather(got, np.array([r, r * r]))
out["gather"] = [g.tolist() for g in got]
dist.barrier()
dist.destroy_process_group()
out["after"] = [dist.is_initialized(), dist.get_rank(), dist.get_world_size()]
report(out)
'''


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_across_real_mpi_processes(tmp_path, n):
    ranks = run_ranks(COLLECTIVES, n, tmp_path)
    total = sum(10 * r for r in range(n))
    for r, out in enumerate(ranks):
        assert out["world"] == n and out["backend"] == "mpi" and out["bumped"]
        assert out["sum"] == [n * k + total for k in range(4)]
        assert out["max"] == [n, -1.0] and out["min"] == [1.0, -n]
        assert out["prod"] == [float(np.prod(np.arange(1, n + 1))), float(np.prod(-np.arange(1.0, n + 1)))]
        assert out["avg"] == [(n + 1) / 2, -(n + 1) / 2]
        assert out["async_avg"] == [sum(range(n)) / n] * 3
        assert out["broadcast"] == [7.0, 7.0]
        assert out["gather"] == [[q, q * q] for q in range(n)]
        assert out["after"] == [False, 0, 1]


BAD = r'''
import numpy as np
import tinynet
from tinynet import distributed as dist

errors = []
def refused(f):
    try:
        f()
    except (TypeError, ValueError, RuntimeError) as e:
        errors.append(f"{type(e).__name__}: {e}")
    else:
        errors.append("accepted")

refused(lambda: dist.all_reduce(np.zeros(2)))            # before init
dist.init_process_group("mpi")
refused(lambda: dist.init_process_group("mpi"))          # twice
refused(lambda: dist.all_reduce(np.zeros(2), op="mean"))
refused(lambda: dist.all_reduce(np.zeros((2, 2))[:, 0]))  # not contiguous
refused(lambda: dist.all_reduce([1.0, 2.0]))
refused(lambda: dist.all_reduce(np.zeros(2, np.int64), op="avg"))
ro = np.zeros(2); ro.flags.writeable = False
refused(lambda: dist.all_reduce(ro))
refused(lambda: dist.broadcast(np.zeros(2), src=5))
refused(lambda: dist.broadcast(np.zeros(2), src=True))
refused(lambda: dist.all_gather([np.zeros(2)], np.zeros(2)))
refused(lambda: dist.all_gather([np.zeros(3), np.zeros(3)], np.zeros(2)))
dist.destroy_process_group()
refused(lambda: dist.init_process_group("gloo"))
refused(lambda: dist.init_process_group("mpi", rank=5))
from mpi4py import MPI
report({"rank": MPI.COMM_WORLD.Get_rank(), "errors": errors})
'''


@needs_mpi
def test_bad_calls_are_refused_naming_what_and_why(tmp_path):
    (first, _) = run_ranks(BAD, 2, tmp_path)
    want = [
        "RuntimeError: tinynet.distributed.all_reduce: no process group; call tinynet.distributed.init_process_group",
        "RuntimeError: tinynet.distributed: init_process_group was already called (backend 'mpi')",
        "ValueError: tinynet.distributed.all_reduce: op must be one of",
        "ValueError: tinynet.distributed.all_reduce: the array must be C-contiguous",
        "TypeError: tinynet.distributed.all_reduce: expected a Tensor or an array, got list",
        "TypeError: tinynet.distributed.all_reduce: an average needs a floating-point array, got int64",
        "ValueError: tinynet.distributed.all_reduce: the array is read-only",
        "ValueError: tinynet.distributed.broadcast: src must be a rank from 0 to 1, got 5",
        "ValueError: tinynet.distributed.broadcast: src must be a rank from 0 to 1, got True",
        "ValueError: tinynet.distributed.all_gather: tensor_list must be a list of 2 (the world size) tensors, got a list of 1",
        "ValueError: tinynet.distributed.all_gather: tensor_list[0] must be float64 of shape (2,)",
        "ValueError: tinynet.distributed: backend must be one of ('mpi', 'nccl')",
        "ValueError: tinynet.distributed: rank=5 but MPI's world gives this process rank 0",
    ]
    assert len(first["errors"]) == len(want)
    for got, start in zip(first["errors"], want):
        assert got.startswith(start), (got, start)


def test_one_process_without_a_group_is_rank_0_of_1():
    assert not dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    with pytest.raises(RuntimeError, match="get_backend: no process group"):
        dist.get_backend()


@pytest.mark.parametrize("env, message", [
    ({"WORLD_SIZE": "2"}, "a world size is set in the environment but no rank"),
    ({"WORLD_SIZE": "2", "RANK": "2"}, r"rank 2 of a world of 2: need 0 <= rank < world size"),
    ({"WORLD_SIZE": "two", "RANK": "0"}, r"WORLD_SIZE='two' is not a world size"),
    ({"WORLD_SIZE": "2", "RANK": "-1"}, r"RANK='-1' is not a rank"),
])
def test_a_bad_launcher_environment_is_named(monkeypatch, env, message):
    from tinynet.distributed.group import launched_world

    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_RANK",
              "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValueError, match=message):
        launched_world()


def test_importing_tinynet_does_not_import_mpi4py():
    import subprocess
    import sys

    code = "import sys, tinynet, tinynet.distributed; print('mpi4py' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
    assert tinynet is not None
