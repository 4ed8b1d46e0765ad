"""DistributedDataParallel: one model per process, gradients averaged over the processes during backward.

Each of the R ranks holds the same model (rank 0's initial weights are broadcast when the wrapper is made),
runs forward and backward on its own b samples, and before the optimizer steps every parameter's gradient
is replaced by its average over the ranks:

    g = (1/R) sum_r g_r,    g_r = (1/b) sum_{i in rank r's batch} dL_i/dw        (a mean loss per rank)
      = (1/(R b)) sum_{i in all R b samples} dL_i/dw                              the gradient of the big batch

so R ranks with batch b step exactly as one process with batch R x b (up to the order of float sums), and
each rank's optimizer, starting from the same weights, makes the same step: the weights stay equal.

Buckets. The parameters are grouped, in reverse order of ``module.parameters()`` (backward reaches the last
layers first), into buckets of about ``bucket_cap_mb`` MB. Each parameter has a post-accumulate-grad hook;
when the last gradient of a bucket is complete, the bucket's gradients are copied into one flat array and
its all-reduce is started asynchronously (MPI_Iallreduce; NCCL on a stream of its own), while backward goes
on through the earlier layers. Buckets are started strictly in order, the same on every rank (collectives
must match). At the end of backward (a callback the engine runs then) every reduce is waited for, divided by
R and copied back into the ``.grad`` of its parameters. A parameter that got no gradient on this rank counts
as zeros there (its ``.grad`` is then set to the average of the others'); one that got none on any rank keeps
``.grad`` None, as alone (each bucket carries a flag per parameter for that).

``no_sync()`` skips the reduce (gradient accumulation over several backward passes, then one synchronised).
With ``broadcast_buffers`` (default) the buffers (BatchNorm's running statistics) are broadcast from rank 0
at each forward, as PyTorch does. ``state_dict()`` keys carry the ``module.`` prefix, as PyTorch's; the model
itself is ``ddp.module``.
"""
import contextlib

import numpy as np

from tinynet import autograd, backend
from tinynet._tensor import Tensor
from tinynet.distributed import group as _group
from tinynet.nn.module import Module
from tinynet.validate import check_number

__all__ = ["DistributedDataParallel"]


class _Bucket:
    def __init__(self, params):
        self.params = params
        self.size = sum(int(np.prod(p.shape)) for p in params)
        self.flat = None  # the flat gradient array being reduced
        self.work = None
        self.ready = 0


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training in the process group (init_process_group first).

    module          a tinynet Module, already on this rank's device
    bucket_cap_mb   the size of a gradient bucket in MB (of float32: 25 MB holds 6.5 M numbers)
    broadcast_buffers  broadcast the buffers from rank 0 at each forward
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a tinynet Module, got {type(module).__name__}")
        cap = check_number("DistributedDataParallel: bucket_cap_mb", bucket_cap_mb, low=0, low_open=True)
        if not isinstance(broadcast_buffers, (bool, np.bool_)):
            raise ValueError(f"DistributedDataParallel: broadcast_buffers must be True or False, got {broadcast_buffers!r}")
        if not _group.is_initialized():
            raise RuntimeError("DistributedDataParallel: no process group; call "
                               "tinynet.distributed.init_process_group() first")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = float(cap)
        for t in list(module.parameters()) + list(module.buffers()):  # every rank starts from rank 0's weights
            _group.broadcast(t.data, src=0)
        params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = self._make_buckets(params, cap * 2**20)
        self._bucket_of = {id(p): k for k, b in enumerate(self._buckets) for p in b.params}
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]
        self._sync, self._backward, self._next = True, None, 0
        self.reduce_log = []  # per backward: the bucket indices in the order their reduces started

    @staticmethod
    def _make_buckets(params, cap_bytes):
        buckets, current, size, key = [], [], 0, None
        for p in reversed(params):
            k = (p.data.dtype.str, backend.device_of(p.data))
            if current and (k != key or size + p.data.nbytes > cap_bytes):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
            key = k
        if current:
            buckets.append(_Bucket(current))
        return buckets

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and _group.get_world_size() > 1:
            for b in self.module.buffers():
                _group.broadcast(b.data, src=0)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Within: backward accumulates the local gradients without reducing them."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    # --- during backward -------------------------------------------------------------------------------------
    def _grad_ready(self, param):
        if not self._sync:
            return
        this = autograd.current_backward()
        if self._backward is not this:  # the first gradient of this backward: reset, and finish at its end
            # (compared with the backward itself, not a flag: one that raised midway never reached _finish)
            self._backward, self._next = this, 0
            for b in self._buckets:
                b.ready, b.work, b.flat = 0, None, None
            self.reduce_log.append([])
            autograd.queue_callback(self._finish)
        bucket = self._buckets[self._bucket_of[id(param)]]
        bucket.ready += 1
        while self._next < len(self._buckets) and self._buckets[self._next].ready == len(self._buckets[self._next].params):
            self._start(self._next)

    def _start(self, k):
        """Flatten bucket k's gradients (zeros for a parameter that got none), then one flag per parameter (1 if
        it has a gradient here), and start its all-reduce: the flags' sums say which no rank gave a gradient."""
        bucket = self._buckets[k]
        xp = backend.get_array_module(bucket.params[0].data)
        dtype = bucket.params[0].data.dtype
        has = xp.asarray([0 if p.grad is None else 1 for p in bucket.params], dtype=dtype)
        bucket.flat = xp.concatenate([(p.grad.data if p.grad is not None else xp.zeros_like(p.data)).ravel()
                                      for p in bucket.params] + [has])
        bucket.work = _group.all_reduce(bucket.flat, op="sum", async_op=True)
        self.reduce_log[-1].append(k)
        self._next = k + 1

    def _finish(self):
        """At the end of backward: start what is left, wait for every reduce, write the averages back."""
        try:
            while self._next < len(self._buckets):
                self._start(self._next)
            scale = 1.0 / _group.get_world_size()
            for bucket in self._buckets:
                bucket.work.wait()
                flat, start = bucket.flat, 0
                given = backend.host(flat[bucket.size:])  # how many ranks gave each parameter a gradient
                flat *= flat.dtype.type(scale)
                for p, ranks in zip(bucket.params, given):
                    n = int(np.prod(p.shape))
                    avg = flat[start:start + n].reshape(p.shape)
                    if p.grad is not None:
                        p.grad.data[...] = avg
                    elif ranks > 0:  # another rank used it: the average of theirs and this rank's zeros
                        p.grad = Tensor._wrap(avg.copy())
                    start += n  # (no rank used it: its .grad stays None, as alone)
                bucket.flat = bucket.work = None
        finally:
            self._backward = None

    def extra_repr(self):
        sizes = ", ".join(str(b.size) for b in self._buckets)
        return f"world_size={_group.get_world_size()}, buckets of {sizes} numbers"
