"""The "nccl" backend: collectives on CuPy arrays through NCCL, via cupyx.distributed.NCCLBackend.

One process per GPU (NCCL refuses two ranks on one device). The ranks meet through the small TCP store
that cupyx.distributed runs in rank 0's process, at MASTER_ADDR:MASTER_PORT; each process picks its GPU
(LOCAL_RANK) before the communicator is made. NCCL collectives are enqueued on a CUDA stream and return
at once; the result is there for every later kernel on that stream.

    all_reduce(a, op)       a <- op over the ranks of a, on the current stream
    broadcast(a, src)       a <- rank src's a
    all_gather(a)           (world, *a.shape): every rank's a
    barrier()               on the host, through the store

``all_reduce(..., async_op=True)`` runs on a stream of its own, after the work queued so far on the current
stream (an event), and returns at once; ``.wait()`` makes the current stream wait for it (on the device:
the host does not block), so the reduce of one gradient bucket overlaps the backward of the next layers.
"""
from tinynet import backend

__all__ = ["NcclBackend"]


class _Work:
    def __init__(self, cupy, done):
        self._cupy, self._done = cupy, done

    def wait(self):
        self._cupy.cuda.get_current_stream().wait_event(self._done)
        return True

    def is_completed(self):
        return bool(self._done.done)


class NcclBackend:
    name = "nccl"

    def __init__(self, rank, world_size, local_rank, host, port):
        self.cupy = backend.cupy_or_raise()
        try:
            import cupyx.distributed
        except ImportError as e:
            raise ImportError(f"tinynet.distributed: the 'nccl' backend needs cupyx.distributed (CuPy >= 12 with "
                              f"NCCL): {type(e).__name__}: {e}") from e
        count = self.cupy.cuda.runtime.getDeviceCount()
        if local_rank >= count:
            raise RuntimeError(f"tinynet.distributed: LOCAL_RANK {local_rank} but this machine has {count} GPU(s); "
                               "NCCL needs one GPU per process (start at most that many per node)")
        self.cupy.cuda.Device(local_rank).use()
        self.rank, self.world_size = rank, world_size
        self.comm = cupyx.distributed.NCCLBackend(world_size, rank, host=host, port=port)
        self.stream = self.cupy.cuda.Stream(non_blocking=True)

    def all_reduce(self, a, op, async_op=False):
        if not async_op:
            self.comm.all_reduce(a, a, op)
            return None
        ready = self.cupy.cuda.get_current_stream().record()  # what wrote ``a`` so far
        self.stream.wait_event(ready)
        self.comm.all_reduce(a, a, op, stream=self.stream)
        return _Work(self.cupy, self.stream.record())

    def broadcast(self, a, src):
        self.comm.broadcast(a, src)

    def all_gather(self, a):
        out = self.cupy.empty((self.world_size,) + a.shape, a.dtype)
        self.comm.all_gather(a, out, a.size)
        return out

    def barrier(self):
        self.cupy.cuda.get_current_stream().synchronize()
        self.comm.barrier()

    def close(self):
        self.cupy.cuda.get_current_stream().synchronize()
        self.stream.synchronize()
