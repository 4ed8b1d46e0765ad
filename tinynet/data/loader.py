"""DataLoader: batches of NumPy arrays from a dataset, decoded in worker processes ahead of the consumer.

    loader = DataLoader(ImageFolder(root, train_transform(224)), batch_size=128, shuffle=True,
                        seed=0, workers=4)
    for epoch in range(90):
        loader.set_epoch(epoch)          # a new order and new augmentations each epoch
        for x, y in loader:              # x float32 (N, 3, 224, 224), y int64 (N,)
            ...

Reproducible whatever the number of workers: the epoch's order is
``np.random.default_rng([seed, epoch]).permutation(len(dataset))`` (or 0..len-1 without shuffle),
cut into batches in the main process, and sample ``i`` is loaded with its own generator
``np.random.default_rng([seed, epoch, i])``, so which process loads it does not matter.

With ``workers > 0``, ``workers`` processes (multiprocessing, context ``mp_context``: 'spawn' by
default, safe with threads and CUDA and the same on every OS; 'fork' starts faster on Linux) take
batches of indices from a task queue and send back stacked arrays. At most ``workers * prefetch``
batches are in flight (submitted and not yet handed to the consumer), so decoding runs ahead of the
training step by a bounded amount of memory; batches are handed out in order. The workers are started
when iteration begins and stopped when it ends: at the last batch, when the consumer breaks out of the
loop (the generator is closed), on an exception, or on Ctrl-C (workers ignore SIGINT; the main process
receives KeyboardInterrupt and terminates and joins them). A worker that dies (killed for memory, say)
is reported as a RuntimeError rather than a hang, and a worker whose parent has died exits on its own.

An image that cannot be decoded (CorruptImageError) is skipped: its batch is one sample shorter, a
warning names the file (once per file per loader), and ``loader.skipped`` lists it. A batch whose
samples all fail is not yielded at all.
"""
import math
import multiprocessing
import pickle
import queue
import signal
import traceback
import warnings

import numpy as np

from tinynet.data.folder import CorruptImageError

_POLL_S = 0.5  # how often a waiting main process checks that its workers are alive
_WORKER_POLL_S = 5.0  # how often an idle worker checks that its parent is alive


def load_batch(dataset, indices, seed, epoch):
    """Load samples ``indices`` (sample i with generator default_rng([seed, epoch, i])) and stack them.

    Returns (x, y, skipped): x float32 (N, ...), y int64 (N,), skipped [(path, reason)] for the
    samples that raised CorruptImageError (N = len(indices) - len(skipped)); x and y are None when
    every sample was skipped. A dataset without ``load(i, rng)`` is read as ``dataset[i]``.
    """
    xs, ys, skipped = [], [], []
    for i in indices:
        i = int(i)
        try:
            if hasattr(dataset, "load"):
                x, y = dataset.load(i, np.random.default_rng([seed, epoch, i]))
            else:
                x, y = dataset[i]
        except CorruptImageError as e:
            skipped.append((e.path, e.reason))
            continue
        xs.append(x)
        ys.append(y)
    if not xs:
        return None, None, skipped
    return _stack(xs), np.asarray(ys, dtype=np.int64), skipped


def _stack(xs):
    if not all(isinstance(x, np.ndarray) for x in xs):
        kind = next(type(x).__name__ for x in xs if not isinstance(x, np.ndarray))
        raise TypeError(f"DataLoader batches NumPy arrays, but the dataset gave a {kind}; give it a transform "
                        "that ends in ToArray() (or TenCrop), e.g. transforms.train_transform(224)")
    shapes = sorted({x.shape for x in xs})
    if len(shapes) > 1:
        raise ValueError(f"DataLoader: samples in one batch have different shapes {shapes}; crop or resize "
                         "them to one size (e.g. RandomCrop or CenterCrop after Resize)")
    return np.stack(xs).astype(np.float32, copy=False)


class DataLoader:
    """Iterate over ``dataset`` in batches ``(x, y)``: x float32 (N, ...) stacked samples, y int64 (N,).

    dataset     has ``len()`` and ``load(i, rng) -> (sample array, int target)`` (like ImageFolder),
                or just ``[i]``; with workers it is pickled into each worker process
    batch_size  samples per batch (the last is shorter unless ``drop_last``)
    shuffle     a new order each epoch, from (seed, epoch); see set_epoch
    seed        an int >= 0 that fixes the order and every random transform
    workers     0: load in this process; > 0: that many worker processes
    prefetch    batches in flight per worker
    mp_context  the multiprocessing start method for workers: 'spawn' (default), 'forkserver', 'fork'
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, seed=0, workers=0, prefetch=2, drop_last=False,
                 mp_context="spawn"):
        for name, value, low in [("batch_size", batch_size, 1), ("seed", seed, 0), ("workers", workers, 0),
                                 ("prefetch", prefetch, 1)]:
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"DataLoader: {name} must be an int >= {low}, got {value!r}")
        self.dataset = dataset
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.workers, self.prefetch, self.drop_last = int(workers), int(prefetch), bool(drop_last)
        self.mp_context = mp_context
        self.epoch = 0
        self._skipped = {}  # path -> reason, for every file skipped so far

    @property
    def skipped(self):
        """Sorted paths of every file skipped so far (undecodable), over all epochs."""
        return sorted(self._skipped)

    def set_epoch(self, epoch):
        """Choose the epoch: it seeds the order (when shuffling) and every sample's generator."""
        if not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be an int >= 0, got {epoch!r}")
        self.epoch = int(epoch)

    def batch_indices(self):
        """The current epoch's batches as a list of int64 index arrays, in the order they are yielded."""
        n = len(self.dataset)
        order = np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)
        batches = [order[k:k + self.batch_size] for k in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        batches, epoch = self.batch_indices(), self.epoch
        if self.workers == 0:
            results = (load_batch(self.dataset, b, self.seed, epoch) for b in batches)
        else:
            results = self._from_workers(batches, epoch)
        try:
            for x, y, skipped in results:
                for path, reason in skipped:
                    if path not in self._skipped:
                        self._skipped[path] = reason
                        warnings.warn(f"DataLoader: skipping {path}: cannot decode it ({reason})", stacklevel=2)
                if x is not None:
                    yield x, y
        finally:
            results.close()  # stops the workers now, not whenever this generator is collected

    def _from_workers(self, batches, epoch):
        """Yield load_batch's result for each batch in order, computed by worker processes."""
        if not batches:
            return
        ctx = multiprocessing.get_context(self.mp_context)
        tasks, results = ctx.Queue(), ctx.Queue()
        procs = [ctx.Process(target=_worker_loop, args=(self.dataset, tasks, results, self.seed, epoch),
                             name=f"tinynet-data-worker-{k}", daemon=True)
                 for k in range(min(self.workers, len(batches)))]
        try:
            for p in procs:
                try:
                    p.start()
                except (pickle.PicklingError, AttributeError, TypeError) as e:  # spawn pickles the dataset
                    raise TypeError(f"DataLoader(workers={self.workers}) sends the dataset to worker processes, "
                                    "so it and its transforms must be picklable (top-level classes and "
                                    f"functions, no lambdas): {type(e).__name__}: {e}") from e
            sent, done = 0, {}
            for want in range(len(batches)):
                while sent < len(batches) and sent - want < self.workers * self.prefetch:
                    tasks.put((sent, batches[sent]))
                    sent += 1
                while want not in done:
                    try:
                        k, payload, error = results.get(timeout=_POLL_S)
                    except queue.Empty:
                        _check_alive(procs)
                        continue
                    if error is not None:
                        raise RuntimeError(f"DataLoader worker failed on batch {k} (samples "
                                           f"{batches[k].tolist()}):\n{error}")
                    done[k] = payload
                yield done.pop(want)
        finally:
            _shutdown(procs, tasks, results)


def _worker_loop(dataset, tasks, results, seed, epoch):
    """A worker process: load the batches of indices it is sent, until it is terminated."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's: it stops the workers
    parent = multiprocessing.parent_process()
    while True:
        try:
            task = tasks.get(timeout=_WORKER_POLL_S)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return  # orphaned (the main process was killed): do not linger
            continue
        if task is None:
            return
        k, indices = task
        try:
            results.put((k, load_batch(dataset, indices, seed, epoch), None))
        except Exception:  # noqa: BLE001 -- any failure goes back to the main process, which raises it
            results.put((k, None, traceback.format_exc()))


def _check_alive(procs):
    for p in procs:
        if p.exitcode is not None:
            how = (f"was killed by signal {-p.exitcode}" + (" (out of memory?)" if -p.exitcode == 9 else "")
                   if p.exitcode < 0 else f"exited with code {p.exitcode} (its error, if any, is printed above)")
            raise RuntimeError(f"DataLoader worker {p.name} (pid {p.pid}) {how}; the epoch cannot finish")


def _shutdown(procs, tasks, results):
    """Terminate and join the workers, then release the queues without waiting on unsent data."""
    started = [p for p in procs if p.pid is not None]
    for p in started:
        if p.is_alive():
            p.terminate()
    for p in started:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join()
    for q in (tasks, results):
        q.cancel_join_thread()
        q.close()
