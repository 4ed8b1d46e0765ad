"""DataLoader: batches of Tensors from a dataset, decoded in worker processes ahead of the consumer.

    loader = DataLoader(ImageFolder(root, train_transform(224)), batch_size=128, shuffle=True,
                        seed=0, num_workers=4)
    for epoch in range(90):
        loader.set_epoch(epoch)          # optional: pins this pass to epoch `epoch`
        for x, y in loader:              # Tensors: x float32 (N, 3, 224, 224), y int64 (N,)
            loss = F.cross_entropy(model(x.to("cuda")), y.to("cuda"))

What determines a pass. Each pass (each ``iter(loader)``) has an epoch number: the one given to
``set_epoch`` if it was called since the previous pass, else the previous pass's epoch + 1 (0 for the
first pass). So iterating twice gives two orders, as PyTorch's shuffling does, and calling
``set_epoch(e)`` before a pass reproduces pass ``e`` exactly. The pass's order is
``np.random.default_rng([seed, epoch]).permutation(len(dataset))`` (or 0..len-1 without shuffle),
cut into batches in the main process, and sample ``i`` is loaded with its own generator
``np.random.default_rng([seed, epoch, i])``, so which process loads it does not matter: the batches
are a pure function of (seed, epoch), whatever ``num_workers``.

Workers. With ``num_workers > 0`` (W of them; ``workers`` is an alias), W processes (multiprocessing,
start method ``mp_context``) load batches and hand back stacked arrays: through shared-memory slots that
the main process owns (tinynet/data/shm.py; no pickling of the pixels), the first batch of each worker and
any that does not fit its slot through the worker's result pipe.

Start methods, as measured for a worker of a small dataset on Linux (2 cores): 'fork' about 9 ms, but a
fork copies whatever the parent holds, threads' locks included (a BLAS pool, tqdm's monitor, a CUDA
context: CUDA does not survive a fork), so it can hang or crash a child; 'spawn' about 300 ms, a fresh
interpreter that imports NumPy and tinynet again, safe everywhere; 'forkserver' (the default where the
platform has it, as in Python 3.14) forks each worker from a clean server process started once, that has
imported tinynet already: safe like spawn, about 16 ms per worker once the server runs. With
``persistent_workers`` the cost is paid once per run anyway. The batches do not depend on the method. Each worker has two pipes of its own, one for its
tasks and one for its results, and the main process holds the only other end of each: batch k goes
to worker k % W (round robin, as PyTorch does), and at most ``W * prefetch`` batches are in flight
(submitted and not yet handed to the consumer), so decoding runs ahead of the training step by a
bounded amount of memory; batches are handed out in order. The workers are started when iteration
begins and stopped when it ends: at the last batch (unless ``persistent_workers``: then a pass that ran
to its end hands them to the next pass, and ``close()`` or collecting the loader stops them), when the
consumer breaks out of the loop (the generator is closed), on an exception, or on Ctrl-C (workers ignore
SIGINT; the main process receives KeyboardInterrupt and terminates, joins and if need be kills them).
Each task carries its pass's epoch, so a kept worker serves any pass.

Failures are DataLoaderError (a RuntimeError), each naming the batch, its samples and the worker:

- a worker that dies (killed for memory, say), also halfway through sending a batch: the main process
  waits on every worker's result pipe and process sentinel at once, so it sees the death at once (the
  pipe ends, or the sentinel fires) instead of waiting for a message that will never be complete;
- an exception inside a worker: raised in the main process with the worker's traceback text;
- a batch that takes longer than ``timeout`` seconds (default 120; 0 or None: no limit) to arrive
  after the consumer asked for it, e.g. a dataset whose ``load`` never returns. With ``num_workers=0`` the
  main process loads each batch itself, so there is nothing to time out.

A worker whose parent has died exits on its own within about a second: a send to the parent gets
BrokenPipeError (the parent held the pipe's only read end), reading a task gets end-of-file, and a
watchdog thread in every worker checks twice a second that its parent is alive (``os.getppid()``
unchanged, ``multiprocessing.parent_process()`` alive) and calls ``os._exit`` otherwise, so a worker
stuck in the dataset or in a send also goes. Under 'fork' a worker inherits the parent's other pipe
ends; it closes them first, so end-of-file and broken pipes still happen.

An image that cannot be decoded (CorruptImageError) is skipped: its batch is one sample shorter, a
UserWarning whose filename is the skipped file says so (once per file per loader), and
``loader.skipped`` lists it. A batch whose samples all fail is not yielded at all. A target must be
an int class index (an int or NumPy integer; a float only when it is whole); anything else (a class
name, None, a bool) is refused with the sample's index.
"""
import copy
import math
import multiprocessing
import multiprocessing.connection
from multiprocessing import resource_tracker
import os
import pickle
import queue
import reprlib
import signal
import threading
import time
import traceback
import warnings
import weakref

import numpy as np

import kernels
from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.data import shm
from tinynet.data.transforms import Pixels, split_for_transport
from tinynet.data.dataset import load_sample
from tinynet.data.folder import CorruptImageError
from tinynet.validate import check_number

DEFAULT_TIMEOUT_S = 120.0  # the longest the main process waits for one batch, unless told otherwise
_POLL_S = 0.5  # the longest single wait of the main process (it waits on pipes and sentinels together)
_WATCHDOG_S = 0.5  # how often a worker checks that its parent is alive
_JOIN_S = 5.0  # how long stopping the workers waits for them, after terminate and again after kill
_ORPHANED_EXIT = 3  # the exit code of a worker that found its parent gone


class DataLoaderError(RuntimeError):
    """The loader could not deliver a batch: a worker died, failed, or took longer than ``timeout``."""


def load_batch(dataset, indices, seed, epoch):
    """Load samples ``indices`` (sample i with generator default_rng([seed, epoch, i])) and stack them.

    Returns (x, y, skipped, affine): x float32 (N, ...), y int64 (N,), skipped [(path, reason, index)] for the
    samples that raised CorruptImageError (N = len(indices) - len(skipped)); x and y are None when
    every sample was skipped. A dataset without ``load(i, rng)`` is read as ``dataset[i]``. When the
    samples are ``Pixels`` (a transform split by ``transforms.split_for_transport``), x is their uint8
    pixels and ``affine`` float32 (N, 2, C) their scales and offsets (``to_float`` finishes them); else
    ``affine`` is None.
    """
    xs, ys, skipped = [], [], []
    for i in indices:
        i = int(i)
        try:
            sample = load_sample(dataset, i, np.random.default_rng([seed, epoch, i]))
        except CorruptImageError as e:
            skipped.append((e.path, e.reason, i))
            continue
        if not isinstance(sample, (tuple, list)) or len(sample) != 2:
            size = f" of {len(sample)} items" if isinstance(sample, (tuple, list)) else ""
            raise TypeError(f"DataLoader: sample {i} is a {type(sample).__name__}{size}; it batches "
                            "(input, class index) pairs, e.g. TensorDataset(x, y)")
        x, y = sample
        xs.append(x)
        ys.append(_class_index(y, i))
    if not xs:
        return None, None, skipped, None
    y = np.asarray(ys, dtype=np.int64)
    if all(isinstance(x, Pixels) for x in xs):
        affine = np.stack([np.stack([x[1] for x in xs]), np.stack([x[2] for x in xs])], axis=1)
        return _stack([x[0] for x in xs], np.uint8), y, skipped, affine.astype(np.float32, copy=False)
    return _stack(xs), y, skipped, None


def to_float(x, affine):
    """A batch as load_batch returned it, as float32: uint8 pixels finished with their affine map."""
    return x if affine is None else kernels.pixels_to_float(x, affine[:, 0], affine[:, 1])


def _for_transport(dataset):
    """What the loader loads from: ``dataset``, or a shallow copy of it whose transform stops at uint8
    pixels (``transforms.split_for_transport``), the rest done on the whole batch (``to_float``). The same
    for any number of workers, so the batches stay a pure function of (seed, epoch).

    Only datasets that declare ``transform_gives_sample = True`` are split (ImageFolder, PackedDataset, the
    CIFAR and MNIST sets: their sample is their transform's output, untouched); any other keeps its own
    transform, whatever it is.
    """
    if not getattr(type(dataset), "transform_gives_sample", False):
        return dataset
    head = split_for_transport(getattr(dataset, "transform", None))
    if head is None:
        return dataset
    source = copy.copy(dataset)
    source.transform = head
    return source


def _kept(indices, skipped):
    """``indices`` (a batch's) less those of the samples skipped, as int64."""
    gone = {i for _, _, i in skipped}
    return np.asarray([i for i in indices if int(i) not in gone] if gone else indices, dtype=np.int64)


def _sampled(sampler, epoch, n):
    """The indices ``sampler`` gives for ``epoch`` (told through its set_epoch, if it has one), as int64."""
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    order = np.asarray(list(sampler), dtype=object)
    bad = [i for i in order.tolist() if not (isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                                              and 0 <= i < n)]
    if bad:
        raise ValueError(f"DataLoader: the sampler gave {reprlib.repr(bad[0])}, not a dataset index (an int from 0 "
                         f"to {n - 1})")
    return order.astype(np.int64)


def _class_index(y, i):
    """Sample ``i``'s target ``y`` as an int: an int, a NumPy integer (or 0-d array of one), a whole float."""
    given = f"DataLoader: sample {i} has target {reprlib.repr(y)} ({type(y).__name__})"
    wanted = "expected an int class index (0, 1, ...)"
    if isinstance(y, np.ndarray) and y.ndim == 0:
        y = y[()]
    if isinstance(y, (bool, np.bool_)):
        raise TypeError(f"{given}; {wanted}, not a bool: give int(target) if class 0/1 is meant")
    if isinstance(y, (float, np.floating)):
        if not (math.isfinite(y) and float(y).is_integer()):
            raise ValueError(f"{given}, not a whole number; {wanted}")
        y = int(y)
    if not isinstance(y, (int, np.integer)):
        hint = ("; map class names to indices first, e.g. with ImageFolder's class_to_idx"
                if isinstance(y, (str, bytes)) else "")
        raise TypeError(f"{given}; {wanted}{hint}")
    if not -2**63 <= int(y) < 2**63:
        raise ValueError(f"{given}, outside int64; {wanted}")
    return int(y)


def _stack(xs, dtype=np.float32):
    if not all(isinstance(x, np.ndarray) for x in xs):
        kind = next(type(x).__name__ for x in xs if not isinstance(x, np.ndarray))
        raise TypeError(f"DataLoader batches NumPy arrays, but the dataset gave a {kind}; give it a transform "
                        "that ends in ToArray() (or TenCrop), e.g. transforms.train_transform(224)")
    shapes = sorted({x.shape for x in xs})
    if len(shapes) > 1:
        raise ValueError(f"DataLoader: samples in one batch have different shapes {shapes}; crop or resize "
                         "them to one size (e.g. RandomCrop or CenterCrop after Resize)")
    return np.stack(xs).astype(dtype, copy=False)


def _check_timeout(timeout):
    """``timeout`` as float seconds, or None for no limit (given as 0 or None)."""
    if timeout is None:
        return None
    try:
        check_number("DataLoader: timeout", timeout, low=0)
    except (TypeError, ValueError):
        raise ValueError(f"DataLoader: timeout must be a finite number of seconds >= 0 (0 or None: wait "
                         f"without limit), got {timeout!r}") from None
    return float(timeout) or None


class DataLoader:
    """Iterate over ``dataset`` in batches ``(x, y)`` of Tensors on the host: x float32 (N, ...) stacked
    samples, y int64 (N,) class indices (``x.data``, ``y.data``: the NumPy arrays).

    dataset     has ``len()`` and ``load(i, rng) -> (sample array, int target)`` (like ImageFolder),
                or just ``[i]``; with workers it is pickled into each worker process
    batch_size  samples per batch (the last is shorter unless ``drop_last``)
    shuffle     a new order each pass, from (seed, epoch); see set_epoch
    seed        an int >= 0 that fixes the order and every random transform
    num_workers 0 (default; None is 0): load in this process; > 0: that many worker processes
    workers     an alias of num_workers (give one; both only when they agree)
    prefetch    batches in flight per worker
    mp_context  the multiprocessing start method for workers: None (default) is 'forkserver' where the
                platform has it (Linux, macOS), else 'spawn'; or 'spawn', 'forkserver', 'fork' (see above)
    persistent_workers  keep the workers from one complete pass to the next (PyTorch's flag): no start-up
                cost per epoch; ``close()`` (or collecting the loader) stops them
    device      None or "cpu": batches on the host; "cuda": each batch copied to the GPU as it travels
                (uint8, for a split transform) and finished there (kernels.pixels_to_float, one CUDA pass);
                the copy is asynchronous, from pinned memory on a side stream, one batch ahead (backend.Uploader)
    sampler     an iterable of dataset indices that gives each pass's order instead of shuffle (e.g. a
                DistributedSampler: this rank's share); told the pass's epoch through its set_epoch
    timeout     seconds to wait for each batch from the workers before raising DataLoaderError
                (default 120; 0 or None: no limit; with workers=0 there is nothing to time out)

    Pass k's epoch is set_epoch's if it was called before it, else pass k-1's epoch + 1 (0 for the
    first): the order and the augmentations are a pure function of (seed, epoch).
    ``last_indices``: the dataset indices (int64) of the samples of the batch last yielded, skipped ones left
    out (what per-sample random streams key on, e.g. dropout drawn per sample under data parallelism).
    Every failure to deliver a batch from workers is a DataLoaderError naming the batch and the worker.
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, seed=0, num_workers=None, prefetch=2,
                 drop_last=False, mp_context=None, timeout=DEFAULT_TIMEOUT_S, *, workers=None,
                 persistent_workers=False, device=None, sampler=None):
        if num_workers is not None and workers is not None and num_workers != workers:
            raise ValueError(f"DataLoader: num_workers={num_workers!r} and workers={workers!r} disagree; give "
                             "num_workers only (workers is its alias)")
        name = "workers" if num_workers is None and workers is not None else "num_workers"
        num_workers = workers if name == "workers" else (0 if num_workers is None else num_workers)
        for name, value, low in [("batch_size", batch_size, 1), ("seed", seed, 0), (name, num_workers, 0),
                                 ("prefetch", prefetch, 1)]:
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"DataLoader: {name} must be an int >= {low}, got {value!r}")
        methods = multiprocessing.get_all_start_methods()
        if mp_context is not None and mp_context not in methods:
            raise ValueError(f"DataLoader: mp_context must be None (the default: {default_start_method()!r} "
                             f"here) or one of {methods}, got {mp_context!r}")
        self.dataset = dataset
        self._source, self._source_of = _for_transport(dataset), getattr(dataset, "transform", None)
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        if sampler is not None and (self.shuffle or not hasattr(sampler, "__iter__")):
            why = ("is mutually exclusive with shuffle=True (the sampler decides the order; give it shuffle)"
                   if self.shuffle else f"must be iterable (yield dataset indices), got {type(sampler).__name__}")
            raise ValueError(f"DataLoader: sampler {why}")
        self.sampler = sampler
        self.last_indices = np.zeros(0, np.int64)  # the dataset indices of the batch last yielded
        # True: a batch whose every sample was skipped is yielded as (None, None) instead of left out (the
        # ranks of data-parallel training must take the same number of steps; tinynet train sets it there).
        self.keep_empty_batches = False
        self.num_workers, self.prefetch, self.drop_last = int(num_workers), int(prefetch), bool(drop_last)
        self.mp_context = mp_context
        self.timeout = _check_timeout(timeout)
        if not isinstance(persistent_workers, (bool, np.bool_)):
            raise ValueError(f"DataLoader: persistent_workers must be True or False, got {persistent_workers!r}")
        self.persistent_workers = bool(persistent_workers)
        try:
            self.device = None if device is None else backend.normalize_device(device)
            if self.device == "cuda":
                backend.cupy_or_raise()  # now, not at the first batch
        except backend.DeviceError as e:
            raise ValueError(f"DataLoader: {e}") from None
        self._pool = None  # with persistent_workers: the workers kept from the last complete pass
        self._finalizer = None
        self.epoch = 0  # the epoch of the next pass (see set_epoch); advances by one as each pass begins
        self._skipped = {}  # path -> reason, for every file skipped so far

    @property
    def skipped(self):
        """Sorted paths of every file skipped so far (undecodable), over all epochs."""
        return sorted(self._skipped)

    @property
    def workers(self):
        """An alias of num_workers."""
        return self.num_workers

    def set_epoch(self, epoch):
        """Pin the next pass to ``epoch``: it seeds the order (when shuffling) and every sample's generator.

        Without it, each pass takes the previous pass's epoch + 1 (0 for the first).
        """
        if not isinstance(epoch, (int, np.integer)) or isinstance(epoch, (bool, np.bool_)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be an int >= 0, got {epoch!r}")
        self.epoch = int(epoch)

    def batch_indices(self, epoch=None):
        """Epoch ``epoch``'s batches (default: the next pass's) as int64 index arrays, in the order yielded."""
        epoch = self.epoch if epoch is None else epoch
        n = len(self.dataset)
        if self.sampler is not None:
            order = _sampled(self.sampler, epoch, n)
            n = len(order)
        else:
            order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)
        batches = [order[k:k + self.batch_size] for k in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        transform = getattr(self.dataset, "transform", None)
        if transform is not self._source_of:  # the dataset's transform was changed since: follow it
            self.close()  # kept workers hold the old one
            self._source, self._source_of = _for_transport(self.dataset), transform
        # The pass's epoch is fixed here, when iter() is called, not at the first batch.
        epoch = self.epoch
        self.epoch = epoch + 1
        return self._iterate(self.batch_indices(epoch), epoch)

    def _iterate(self, batches, epoch):
        if self.num_workers == 0:
            results = (load_batch(self._source, b, self.seed, epoch) for b in batches)
        else:
            results = self._from_workers(batches, epoch)
        on_gpu = self.device not in (None, "cpu")
        # Each pass its own (two iterators of one loader may be under way): CuPy's pools keep the pinned and
        # device memory for the next.
        uploader = backend.Uploader() if on_gpu else None
        ahead = None  # on the GPU: the batch whose copy is under way while the one before it is used
        try:
            k = -1
            # Neither zip (the results generator must run to its end) nor enumerate (it keeps its last tuple,
            # and so the batch, alive).
            for batch in results:
                k += 1
                x, y, skipped, affine = batch
                batch = None  # x may be a view of a worker's slot: no reference kept past its use
                self._warn_skipped(skipped)
                if x is None:
                    if self.keep_empty_batches:
                        if ahead is not None:  # (keep the order: the batch sent ahead first)
                            batch, ahead = ahead, None
                            yield self._on_gpu(uploader, *batch)
                        self.last_indices = np.zeros(0, np.int64)
                        yield None, None
                    continue
                indices = _kept(batches[k], skipped)
                if not on_gpu:
                    out = to_float(x, affine)
                    x = None
                    self.last_indices = indices
                    yield Tensor._wrap(out), Tensor._wrap(y)
                    continue
                # Batch k+1 is sent (host to pinned memory, then an asynchronous copy on a side stream) before
                # batch k is handed out, so the copy runs while the GPU works on batch k.
                sent = uploader.send([x, y] if affine is None else [x, y, affine]), indices
                x = None
                if ahead is not None:
                    yield self._on_gpu(uploader, *ahead)
                ahead = sent
            if ahead is not None:
                batch, ahead = ahead, None
                yield self._on_gpu(uploader, *batch)
        finally:
            results.close()  # stops the workers now, not whenever this generator is collected
            if uploader is not None:
                uploader.close()  # a copy still under way from its pinned memory finishes before it is freed

    def _on_gpu(self, uploader, sent, indices):
        """A sent batch as (x, y) Tensors on the GPU: new arrays, the upload buffer free for reuse."""
        def finish(x, y, affine=None):
            return Tensor._wrap(x.copy() if affine is None else to_float(x, affine)), Tensor._wrap(y.copy())
        self.last_indices = indices
        return uploader.receive(sent, finish)

    def _warn_skipped(self, skipped):
        for path, reason, _ in skipped:
            if path not in self._skipped:
                self._skipped[path] = reason
                # Located at the file skipped (the caller's frame may be a wrapper such as tqdm), named in
                # <...> so that the warning printer never opens it for a source line: a FIFO would block
                # it, a link to /dev/zero would fill memory.
                warnings.warn_explicit(f"DataLoader: skipping {path}: cannot decode it ({reason})",
                                       UserWarning, filename=f"<skipped image {path}>", lineno=0,
                                       module=__name__)

    def _from_workers(self, batches, epoch):
        """Yield load_batch's result for each batch in order, computed by worker processes.

        With ``persistent_workers``, the workers of a pass that ran to its end serve the next one too;
        a pass that ends otherwise (a break, an error, Ctrl-C) stops them, as without it.
        """
        if not batches:
            return
        pool, self._pool = self._pool, None
        if pool is None or not pool.alive():
            if pool is not None:
                pool.shutdown()
            pool = _WorkerPool(self)
        finished = False
        try:
            pool.begin(batches, epoch)
            for want in range(len(batches)):
                yield pool.get(want)
                pool.release(want)  # the consumer asks for the next batch: it is done with this one
            finished = True
        finally:
            if finished and self.persistent_workers:
                if self._pool is not None:  # another pass (a second iterator) kept its workers meanwhile
                    self._pool.shutdown()
                self._pool = pool
                if self._finalizer is None:  # at garbage collection or interpreter exit: stop them
                    self._finalizer = weakref.finalize(self, _shutdown_kept, self.__dict__)
            else:
                pool.shutdown()

    def close(self):
        """Stop the workers kept by ``persistent_workers`` (also done when the loader is collected)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_pool"] = state["_finalizer"] = None  # processes and pipes stay with this loader
        return state


def default_start_method():
    """The start method of DataLoader(mp_context=None): 'forkserver' where it exists, else 'spawn'."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


# What a forkserver started by the loader imports once, so that each worker forked from it has them
# already ('__main__' is multiprocessing's own default: the user's script, for a dataset defined there).
_FORKSERVER_PRELOAD = ["__main__", "tinynet.data.loader"]


def _context(method):
    """The multiprocessing context for ``method`` (None: default_start_method(), with our preload)."""
    if method is not None:
        return multiprocessing.get_context(method)
    ctx = multiprocessing.get_context(default_start_method())
    if ctx.get_start_method() == "forkserver" and _forkserver_preload() == ["__main__"]:
        # Only over multiprocessing's default list: one the program set itself is kept. It takes effect
        # only if this starts the server (a running one keeps what it has).
        ctx.set_forkserver_preload(_FORKSERVER_PRELOAD)
    return ctx


def _forkserver_preload():
    """The forkserver's preload list as the program left it (multiprocessing has no public getter), or
    None where it can't be read (then it is left alone)."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    preload = getattr(server, "_preload_modules", None)
    return list(preload) if isinstance(preload, (list, tuple)) else None


def _shutdown_kept(state):
    pool, state["_pool"] = state.get("_pool"), None
    if pool is not None:
        pool.shutdown()


def _samples(indices, shown=8):
    """A batch's sample indices for a message: '[4, 5]', or '[3, 1, ..., 6, ... 24 more]' for a long one."""
    idx = [int(i) for i in indices]
    more = f", ... {len(idx) - shown} more" if len(idx) > shown else ""
    return f"[{', '.join(map(str, idx[:shown]))}{more}]"


class _Worker:
    """One worker process and the main process's ends of its two pipes (tasks out, results in)."""

    def __init__(self, index, process, tasks, results, slots):
        self.index, self.process, self.tasks, self.results = index, process, tasks, results
        self.pending = set()  # batches sent to it and not yet received
        self.slots = slots  # its shared-memory slots (tinynet/data/shm.py)
        self.slot_of = {}  # batch -> the slot its task named

    def __str__(self):
        return f"{self.process.name} (pid {self.process.pid})"


class _WorkerPool:
    """The workers of one epoch: batch k is worker k % W's; get(k) returns its load_batch result."""

    def __init__(self, loader):
        # A proxy: a pool kept by persistent_workers must not keep its loader alive (collecting the loader
        # is what stops it).
        self.loader, self.batches, self.epoch = weakref.proxy(loader), [], None
        self.workers, self.sent, self.done = [], 0, {}
        self.lent = {}  # batch -> (worker, slot) of a batch delivered as a view of its slot, until release()

    def begin(self, batches, epoch):
        """Start serving a pass: ``batches`` (index arrays) of ``epoch``; starts the workers on first use."""
        self.batches, self.epoch, self.sent, self.done = batches, epoch, 0, {}
        for k in list(self.lent):  # none after a complete pass; freed in any case
            self.release(k)
        if not self.workers:
            self.start()

    def alive(self):
        """Whether every worker is still running (a kept pool is reused only then)."""
        return bool(self.workers) and all(w.process.exitcode is None for w in self.workers)

    def start(self):
        ctx = _context(self.loader.mp_context)
        # The resource tracker that unlinks the slots if this process is killed: started before the workers,
        # so that forked ones share it instead of each starting its own (which would warn about slots that
        # this process unlinked).
        resource_tracker.ensure_running()
        # SIGINT is blocked while the workers start, and so in them from their first instruction (a
        # mask is inherited): a Ctrl-C to the whole job then never prints a booting worker's traceback.
        # Here it stays pending, and raises KeyboardInterrupt as soon as the mask is restored.
        blocked = hasattr(signal, "pthread_sigmask")
        if blocked:
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            count = self.loader.num_workers if self.loader.persistent_workers else \
                min(self.loader.num_workers, len(self.batches))
            for w in range(count):
                self.workers.append(self._start_one(ctx, w))
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def _start_one(self, ctx, w):
        task_r, task_w = ctx.Pipe(duplex=False)
        result_r, result_w = ctx.Pipe(duplex=False)
        # A forked child holds a copy of every fd of the parent: it closes the parent's ends (its own
        # pipes' and the earlier workers'), or those pipes would outlive the parent. Spawned children
        # hold only what they are sent.
        inherited = [] if ctx.get_start_method() != "fork" else \
            [c for o in self.workers for c in (o.tasks, o.results)] + [task_w, result_r]
        p = ctx.Process(target=_worker_main, name=f"tinynet-data-worker-{w}", daemon=True,
                        args=(self.loader._source, task_r, result_w, self.loader.seed, inherited))
        try:
            p.start()
        except BaseException as e:
            task_w.close()
            result_r.close()
            if isinstance(e, (pickle.PicklingError, AttributeError, TypeError)):  # spawn pickles the dataset
                raise TypeError(f"DataLoader(num_workers={self.loader.num_workers}) sends the dataset to worker "
                                "processes, so it and its transforms must be picklable (top-level classes "
                                f"and functions, no lambdas): {type(e).__name__}: {e}") from e
            raise
        finally:
            task_r.close()  # the worker holds these ends now; closed here, the pipes end with the worker
            result_w.close()
        return _Worker(w, p, task_w, result_r, shm.Slots(self.loader.prefetch + 1, f"w{w}"))

    def get(self, want):
        """Batch ``want``'s result, keeping the next ones in flight; raises DataLoaderError on failure."""
        limit = len(self.workers) * self.loader.prefetch
        while self.sent < len(self.batches) and self.sent - want < limit:
            self._send(self.sent)
            self.sent += 1
        timeout = self.loader.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while want not in self.done:
            wait_s = _POLL_S
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DataLoaderError(
                        f"DataLoader: batch {want} (samples {_samples(self.batches[want])}) did not arrive "
                        f"from worker {self._owner(want)} within the timeout of {timeout:g} s; the dataset's "
                        "load may be stuck, or one batch takes longer than that: raise the limit with "
                        "DataLoader(timeout=...) or `tinynet train --loader-timeout SECONDS` (0: no limit)")
                wait_s = min(wait_s, left)
            needed = [w for w in self.workers if self._needs(w)]
            ready = multiprocessing.connection.wait([w.results for w in needed]
                                                    + [w.process.sentinel for w in needed], timeout=wait_s)
            for w in needed:
                if w.results in ready or (w.process.sentinel in ready and w.results.poll()):
                    self._receive(w)  # a message, or the end of the pipe (then the worker is gone)
                elif w.process.sentinel in ready:
                    raise self._died(w)  # gone, and nothing (not even a part of a message) left to read
        return self.done.pop(want)

    def release(self, k):
        """Batch ``k`` is consumed: free the slot it was read from in place, if it was."""
        w, slot = self.lent.pop(k, (None, None))
        if w is not None:
            w.slots.give_back(slot)

    def _owner(self, k):
        return self.workers[k % len(self.workers)]

    def _needs(self, w):
        """Whether batches of worker ``w`` are still to come (sent and not received, or not sent yet)."""
        n = len(self.workers)
        return bool(w.pending) or self.sent + (w.index - self.sent) % n < len(self.batches)

    def _send(self, k):
        w = self._owner(k)
        w.pending.add(k)
        taken = w.slots.take()
        slot = None
        if taken is not None:
            w.slot_of[k], slot = taken
        try:
            w.tasks.send((k, self.batches[k], slot, self.epoch))
        except OSError:  # BrokenPipeError: it is gone
            raise self._died(w) from None

    def _receive(self, w):
        try:
            # Unpickling is safe here, and the same as multiprocessing's own queues do: the bytes come from
            # our own child over a pipe that only it and this process hold, never from a file.
            k, payload, error = pickle.loads(w.results.recv_bytes())
        except (EOFError, OSError):  # the pipe ended, perhaps halfway through a message: the worker is gone
            raise self._died(w) from None
        w.pending.discard(k)
        slot = w.slot_of.pop(k, None)
        if error is not None:
            raise DataLoaderError(f"DataLoader worker {w} failed on batch {k} (samples "
                                  f"{_samples(self.batches[k])}):\n{error}")
        if isinstance(payload, shm.InSlot):
            payload, freed = w.slots.read(slot, payload)
            if not freed:  # uint8 pixels, read in place: the slot is freed once they are converted (release)
                self.lent[k] = (w, slot)
        else:  # through the pipe: the first batch (its size makes the slots), or one that did not fit
            if slot is not None:
                w.slots.give_back(slot)
            x, y = payload[0], payload[1]
            if x is not None:
                w.slots.ensure(shm.batch_bytes(x, y))
        self.done[k] = payload

    def _died(self, w):
        """The DataLoaderError for worker ``w``, found gone while batches of it were still to come."""
        w.process.join(timeout=_JOIN_S)  # reap it, to learn how it ended
        code = w.process.exitcode
        if code is None:
            how = "closed its result pipe"
        elif code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "an unknown signal"
            how = f"was killed by signal {-code} ({name}" + ("; out of memory?" if -code == 9 else "") + ")"
        else:
            how = f"exited with code {code} (its error, if any, is printed above)"
        k = min(w.pending) if w.pending else self.sent + (w.index - self.sent) % len(self.workers)
        return DataLoaderError(f"DataLoader worker {w} {how} with batch {k} (samples {_samples(self.batches[k])}) "
                               "still to deliver; the epoch cannot finish")

    def shutdown(self):
        """Terminate, join and if need be kill the workers, then close the pipes; bounded in time."""
        self.done, self.lent = {}, {}  # batches not handed out: some may be views of slots released below
        started = [w.process for w in self.workers if w.process.pid is not None]
        for p in started:
            if p.exitcode is None:
                p.terminate()
        _join_all(started, _JOIN_S)
        for p in started:
            if p.exitcode is None:  # it ignores SIGTERM, or is stuck: SIGKILL cannot be ignored
                p.kill()
        _join_all(started, _JOIN_S)
        for w in self.workers:
            w.tasks.close()
            w.results.close()
            w.slots.release()  # the worker is stopped (or gone): nothing writes into them any more
            if w.process.exitcode is not None:
                w.process.close()  # releases its sentinel now


def _join_all(procs, seconds):
    """Join ``procs``, all within ``seconds`` in total."""
    deadline = time.monotonic() + seconds
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))


def _worker_main(dataset, tasks, results, seed, inherited):
    """A worker process: load each batch of indices that arrives on ``tasks``, send the result back.

    Ends when the tasks pipe ends or the results pipe breaks (the main process closed its ends, or
    died), when terminated, or from its watchdog thread when the parent is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's: it stops the workers
    for conn in inherited:  # under 'fork' only: the parent's ends of this and earlier workers' pipes
        conn.close()
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="tinynet-parent-watchdog",
                     daemon=True).start()
    inbox = queue.SimpleQueue()
    # Tasks are read by a thread of their own, so the main process's sends never block on this
    # worker while it is busy loading (and it, in turn, blocked sending a result nobody reads yet).
    threading.Thread(target=_read_tasks, args=(tasks, inbox), name="tinynet-task-reader", daemon=True).start()
    attached = {}  # the shared-memory slots this worker has opened, by name
    while True:
        try:
            task = inbox.get(timeout=_POLL_S)
        except queue.Empty:
            continue
        if task is None:
            return
        k, indices, slot, epoch = task
        try:
            batch = load_batch(dataset, indices, seed, epoch)
            if slot is not None and batch[0] is not None:
                batch = shm.write_batch(attached, slot, *batch) or batch  # a small message, the data in the slot
            message = pickle.dumps((k, batch, None), pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 -- any failure goes back to the main process, which raises it
            message = pickle.dumps((k, None, traceback.format_exc()))
        try:
            results.send_bytes(message)
        except OSError:  # BrokenPipeError: the main process stopped listening or died
            return


def _read_tasks(tasks, inbox):
    """Move tasks from the pipe to ``inbox``; None there once the pipe ends (bounded by the watchdog)."""
    try:
        while True:
            inbox.put(tasks.recv())
    except (EOFError, OSError):
        inbox.put(None)


def _watch_parent(ppid):
    """Exit the process as soon as its parent is gone, whatever its main thread is blocked in."""
    parent = multiprocessing.parent_process()
    while True:
        time.sleep(_WATCHDOG_S)
        if os.getppid() != ppid or (parent is not None and not parent.is_alive()):
            os._exit(_ORPHANED_EXIT)
