"""The "mpi" backend: collectives on host (NumPy) arrays through mpi4py, on one machine or a cluster.

mpi4py talks to whichever MPI library it was built against; ``pip install -e ".[distributed]"`` brings
mpi4py and MPICH as wheels, so ``mpiexec -n 2 ...`` works with no system packages. The world is MPI's
own (``MPI.COMM_WORLD``): its ranks come from the launcher (mpiexec, srun), not from environment variables.

Every collective works in place on a C-contiguous NumPy array, with MPI's buffer interface (no pickling):

    all_reduce(a, op)       a <- op over the ranks of a        (MPI_Allreduce with MPI_IN_PLACE)
    broadcast(a, src)       a <- rank src's a                   (MPI_Bcast)
    all_gather(a)           (world, *a.shape): every rank's a   (MPI_Allgather)
    barrier()               returns once every rank has called it

``all_reduce(..., async_op=True)`` starts MPI_Iallreduce and returns at once; ``.wait()`` on the result
completes it (the data-parallel wrapper overlaps its gradient buckets with the rest of backward so).
"""
import numpy as np

__all__ = ["MpiBackend", "import_mpi"]

_INSTALL = 'pip install -e ".[distributed]" (mpi4py and an MPI library as wheels: mpich, or impi-rt on Windows)'


def import_mpi():
    """mpi4py's MPI module, or an ImportError that names the extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"tinynet.distributed: the 'mpi' backend needs mpi4py and an MPI library: {_INSTALL} "
                          f"({type(e).__name__}: {e})") from e
    return MPI


class _Request:
    """An MPI collective under way: ``wait()`` completes it, ``is_completed()`` asks without waiting."""

    def __init__(self, request):
        self._request = request

    def wait(self):
        self._request.Wait()
        return True

    def is_completed(self):
        return bool(self._request.Test())


class MpiBackend:
    name = "mpi"

    def __init__(self):
        self.MPI = import_mpi()
        self.comm = self.MPI.COMM_WORLD
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()
        self._ops = {"sum": self.MPI.SUM, "prod": self.MPI.PROD, "min": self.MPI.MIN, "max": self.MPI.MAX}

    def all_reduce(self, a, op, async_op=False):
        if async_op:
            return _Request(self.comm.Iallreduce(self.MPI.IN_PLACE, a, op=self._ops[op]))
        self.comm.Allreduce(self.MPI.IN_PLACE, a, op=self._ops[op])
        return None

    def broadcast(self, a, src):
        self.comm.Bcast(a, root=src)

    def all_gather(self, a):
        out = np.empty((self.world_size,) + a.shape, a.dtype)
        self.comm.Allgather(a, out)
        return out

    def barrier(self):
        self.comm.Barrier()

    def close(self):
        """Nothing to free: MPI itself is finalized by mpi4py when the process exits."""
