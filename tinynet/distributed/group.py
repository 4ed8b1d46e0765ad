"""The process group: which process this is among how many, and the collectives between them.

One process per device, as PyTorch does: one Python process cannot keep several GPUs busy (each launch
goes through the one interpreter), and a collective library moves the data between processes.

    init_process_group("mpi")     host arrays through mpi4py; the world is MPI's (mpiexec -n N, srun)
    init_process_group("nccl")    CuPy arrays through NCCL; rank and world from RANK, WORLD_SIZE, the
                                  meeting point from MASTER_ADDR, MASTER_PORT, the GPU from LOCAL_RANK
                                  (torchrun's names; `tinynet train --nproc-per-node N` sets them)
    backend None                  "nccl" if CuPy sees a GPU, else "mpi"

The collectives take a tinynet Tensor (its array is changed in place, as PyTorch's are) or an array of the
backend's device, C-contiguous:

    all_reduce(t, op="sum")          t <- sum (prod, min, max, avg) of t over the ranks
    broadcast(t, src=0)              t <- rank src's t
    all_gather(out_list, t)          out_list[r] <- rank r's t
    barrier()                        returns once every rank has called it

A collective has no timeout: a rank that never joins it leaves the others waiting. The launcher
(tinynet/distributed/launch.py) is what notices a dead or stalled rank and stops the rest.
"""
import os

import numpy as np

from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.distributed import launch

__all__ = ["ReduceOp", "init_process_group", "destroy_process_group", "is_initialized", "get_rank",
           "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather", "barrier",
           "launched_world"]

BACKENDS = ("mpi", "nccl")


class ReduceOp:
    """The reductions of all_reduce, by PyTorch's names (the strings "sum", ... are accepted too)."""
    SUM, PRODUCT, MIN, MAX, AVG = "sum", "prod", "min", "max", "avg"


_OPS = {"sum": "sum", "prod": "prod", "product": "prod", "min": "min", "max": "max", "avg": "avg"}
_group = None  # the backend object of this process, once init_process_group has run


def _env_int(names, what):
    """The first of the environment variables ``names`` that is set, as an int >= 0, or None."""
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            try:
                n = int(value)
            except ValueError:
                n = -1
            if n < 0:
                raise ValueError(f"tinynet.distributed: {name}={value!r} is not a {what} (an int >= 0)")
            return n
    return None


# Set by mpiexec (MPICH's Hydra: PMI_*; Open MPI: OMPI_COMM_WORLD_*), so that a process started by it alone
# knows its place without RANK and WORLD_SIZE.
_RANK_VARS = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK")
_SIZE_VARS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
_LOCAL_VARS = ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")


def launched_world():
    """(rank, world_size, local_rank) from the environment a launcher sets, or None outside one."""
    size = _env_int(_SIZE_VARS, "world size")
    if size is None:
        return None
    rank = _env_int(_RANK_VARS, "rank")
    if rank is None:
        raise ValueError("tinynet.distributed: a world size is set in the environment but no rank "
                         f"(one of {', '.join(_RANK_VARS)})")
    if size == 0 or rank >= size:
        raise ValueError(f"tinynet.distributed: rank {rank} of a world of {size}: need 0 <= rank < world size")
    local = _env_int(_LOCAL_VARS, "local rank")
    return rank, size, rank if local is None else local


def init_process_group(backend_name=None, *, rank=None, world_size=None):
    """Join the process group of this job (once per process); see the module's docstring.

    ``rank`` and ``world_size`` default to the launcher's environment (RANK and WORLD_SIZE, or mpiexec's
    own); under "mpi" they must agree with MPI's world if given.
    """
    global _group
    if _group is not None:
        raise RuntimeError(f"tinynet.distributed: init_process_group was already called (backend "
                           f"{_group.name!r}); call destroy_process_group() first")
    if backend_name is None:
        backend_name = "nccl" if backend.cuda_available() else "mpi"
    if backend_name not in BACKENDS:
        raise ValueError(f"tinynet.distributed: backend must be one of {BACKENDS} (or None: nccl on a GPU, "
                         f"else mpi), got {backend_name!r}")
    env = launched_world()
    if backend_name == "mpi":
        from tinynet.distributed._mpi import MpiBackend

        group = MpiBackend()
        for name, given in (("rank", rank), ("world_size", world_size)):
            have = getattr(group, name)
            if given is not None and given != have:
                group.close()
                raise ValueError(f"tinynet.distributed: {name}={given} but MPI's world gives this process "
                                 f"{name} {have}; start the processes with mpiexec -n N (it sets them)")
    else:
        rank = rank if rank is not None else env[0] if env else None
        world_size = world_size if world_size is not None else env[1] if env else None
        if rank is None or world_size is None:
            raise ValueError("tinynet.distributed: the 'nccl' backend needs the rank and the world size: set "
                             "RANK and WORLD_SIZE (tinynet train --nproc-per-node N does), or pass them")
        if not 0 <= rank < world_size:
            raise ValueError(f"tinynet.distributed: rank {rank} of a world of {world_size}")
        host = os.environ.get("MASTER_ADDR", "127.0.0.1")
        port = _env_int(["MASTER_PORT"], "port")
        from tinynet.distributed._nccl import NcclBackend

        group = NcclBackend(rank, world_size, env[2] if env else rank, host, 29500 if port is None else port)
    _group = group
    return group


def destroy_process_group():
    """Leave the process group (a no-op if none was joined)."""
    global _group
    group, _group = _group, None
    if group is not None:
        group.close()


def abort(code=1):
    """End every process of the job now (MPI_Abort under the mpi backend); a no-op without a group, or
    under nccl, whose launcher stops the other ranks itself."""
    if _group is not None and _group.name == "mpi":
        _group.comm.Abort(int(code) or 1)


def is_initialized():
    return _group is not None


def _need(what):
    if _group is None:
        raise RuntimeError(f"tinynet.distributed.{what}: no process group; call "
                           "tinynet.distributed.init_process_group() first")
    return _group


def get_rank():
    """This process's rank, 0 .. world size - 1 (0 without a process group, as one process alone)."""
    return 0 if _group is None else _group.rank


def get_world_size():
    """How many processes the group holds (1 without a process group)."""
    return 1 if _group is None else _group.world_size


def get_backend():
    """'mpi' or 'nccl'; raises without a process group."""
    return _need("get_backend").name


def _array(what, t):
    """The array behind ``t`` (a Tensor or an array), checked for the group's device and layout."""
    group = _need(what)
    a = t.data if isinstance(t, Tensor) else t
    if not hasattr(a, "dtype") or not hasattr(a, "flags"):
        raise TypeError(f"tinynet.distributed.{what}: expected a Tensor or an array, got {type(t).__name__}")
    device = backend.device_of(a)
    want = "cuda" if group.name == "nccl" else "cpu"
    if device != want:
        raise ValueError(f"tinynet.distributed.{what}: the {group.name!r} backend works on {want} arrays, got one "
                         f"on {device}; move it with .to({want!r}) (or use the {'mpi' if want == 'cuda' else 'nccl'} "
                         "backend)")
    if not a.flags.c_contiguous:
        raise ValueError(f"tinynet.distributed.{what}: the array must be C-contiguous (its memory is sent as it "
                         "is); give tensor.contiguous()")
    if not a.flags.writeable:
        raise ValueError(f"tinynet.distributed.{what}: the array is read-only and the collective writes into it")
    return group, a


def _changed(t):
    if isinstance(t, Tensor):
        t._version_counter.value += 1  # changed in place, as an in-place op changes it


def all_reduce(tensor, op=ReduceOp.SUM, async_op=False):
    """``tensor`` <- ``op`` of it over all ranks, in place. With ``async_op`` a handle whose ``wait()``
    completes it (an average divides once the sum has arrived, in wait)."""
    group, a = _array("all_reduce", tensor)
    name = _OPS.get(op) if isinstance(op, str) else None
    if name is None:
        raise ValueError(f"tinynet.distributed.all_reduce: op must be one of {sorted(set(_OPS))} "
                         f"(or ReduceOp.SUM, ...), got {op!r}")
    if name == "avg" and a.dtype.kind not in "fc":
        raise TypeError(f"tinynet.distributed.all_reduce: an average needs a floating-point array, got {a.dtype}")
    launch.beat()  # a collective begun: the launcher's count of this rank's progress
    work = group.all_reduce(a, "sum" if name == "avg" else name, async_op=async_op)
    _changed(tensor)
    if name != "avg":
        return work
    scale = a.dtype.type(1.0 / group.world_size)
    if work is None:
        a *= scale
        return None
    return _Averaged(work, a, scale)


class _Averaged:
    """An asynchronous average: the sum under way, divided by the world size once it has arrived."""

    def __init__(self, work, a, scale):
        self._work, self._a, self._scale = work, a, scale

    def wait(self):
        self._work.wait()
        self._a *= self._scale
        return True

    def is_completed(self):
        return self._work.is_completed()


def broadcast(tensor, src=0):
    """``tensor`` <- rank ``src``'s ``tensor``, in place (same shape and dtype on every rank)."""
    group, a = _array("broadcast", tensor)
    _check_rank("broadcast", src, group)
    group.broadcast(a, int(src))
    _changed(tensor)


def all_gather(tensor_list, tensor):
    """``tensor_list[r]`` <- rank r's ``tensor``, for every rank r (a list of world size Tensors or arrays
    of its shape and dtype, as PyTorch's all_gather)."""
    group, a = _array("all_gather", tensor)
    if not isinstance(tensor_list, list) or len(tensor_list) != group.world_size:
        got = f"a list of {len(tensor_list)}" if isinstance(tensor_list, list) else type(tensor_list).__name__
        raise ValueError(f"tinynet.distributed.all_gather: tensor_list must be a list of {group.world_size} "
                         f"(the world size) tensors, got {got}")
    gathered = group.all_gather(a)
    for r, out in enumerate(tensor_list):
        o = out.data if isinstance(out, Tensor) else out
        if getattr(o, "shape", None) != a.shape or getattr(o, "dtype", None) != a.dtype:
            raise ValueError(f"tinynet.distributed.all_gather: tensor_list[{r}] must be {a.dtype} of shape "
                             f"{a.shape}, like tensor, got {getattr(o, 'dtype', type(o).__name__)} of shape "
                             f"{getattr(o, 'shape', None)}")
        o[...] = gathered[r]
        _changed(out)


def barrier():
    """Wait until every rank has called barrier()."""
    _need("barrier").barrier()


def _check_rank(what, r, group):
    if not isinstance(r, (int, np.integer)) or isinstance(r, bool) or not 0 <= r < group.world_size:
        raise ValueError(f"tinynet.distributed.{what}: src must be a rank from 0 to {group.world_size - 1}, got {r!r}")
