"""Host work in cache-sized blocks, spread over the CPU's cores.

Why. Outside the matrix products (which BLAS already runs on every core), a
NumPy step is a chain of element-wise passes and strided copies, each over a
whole array of tens or hundreds of MB, on one core. Two things are lost:

* the cache: nine passes of a 3x3 max-pool over a 37 MB input each stream it
  from main memory, where the same nine passes over about 80 planes at a time
  (1 MB, which stays in a core's L2 cache) read it from memory once;
* the other cores: NumPy releases the GIL inside a ufunc or a copy, so two
  threads working on different blocks of the same arrays run side by side.

Measured with benchmarks/blocks.py on the project's 2-core machine, the seed
AlexNet at batch 32: pool1's forward (maxima and argmax) 53 ms as whole-array
passes, 27 ms in blocks on one thread, 20 ms on two; conv2's col2im 66, 47 and
28 ms; the SGD update of fc6's 37.7M weights 87, 46 and 24 ms.

How. ``run_blocks(n, fn, block)`` calls ``fn(start, stop)`` for the blocks
[0, block), [block, 2*block), ... of ``range(n)``; the calling thread and
``num_threads() - 1`` pool threads each take the next block not yet taken
until none is left, and the call returns once all are done (an exception in
any block is raised in the caller). Each block writes only its own part of
the output, so the result is the same, bit for bit, as one whole-array pass,
whatever the number of threads. ``blockwise(fn, *arrays)`` is the flat
version for element-wise updates (the SGD step): the same ``fn`` on matching
slices of several equally sized contiguous arrays; a CuPy array gets one call
on the whole arrays, since a GPU kernel has no use for host cache blocks.

The number of threads is the number of cores this process may use, or the
environment variable ``TINYNET_NUM_THREADS``, or ``set_num_threads(n)``.
A call from inside a block runs on the calling thread only (no nesting), and
a forked child process starts a fresh pool (the parent's threads do not exist
there).
"""
import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

BLOCK_BYTES = 1 << 20  # a block's working set: a 1 MB L2 cache per core (AMD EPYC, many x86 cores); measured best here

_pool = None
_pool_threads = 0
_num_threads = None
_lock = threading.Lock()
_inside = threading.local()  # set while this thread runs a block: a nested call stays serial


def _default_threads():
    env = os.environ.get("TINYNET_NUM_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"TINYNET_NUM_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"TINYNET_NUM_THREADS must be a positive integer, got {env!r}")
        return n
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def num_threads() -> int:
    """How many threads ``run_blocks`` uses (the caller's included)."""
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_threads()
    return _num_threads


def set_num_threads(n: int):
    """Use ``n`` threads from now on (1: everything on the calling thread)."""
    global _num_threads
    if int(n) < 1:
        raise ValueError(f"set_num_threads: need at least 1 thread, got {n}")
    _num_threads = int(n)


def _executor(workers):
    global _pool, _pool_threads
    with _lock:
        if _pool is None or _pool_threads < workers:
            # A larger pool replaces the old one, which is not shut down: another thread may be
            # using it right now. Its idle threads end when it is garbage-collected.
            _pool, _pool_threads = ThreadPoolExecutor(workers, thread_name_prefix="tinynet-kernels"), workers
        return _pool


def _forget_pool():  # in a forked child: the parent's pool threads (and a lock they held) were not copied
    global _pool, _pool_threads, _lock
    _pool, _pool_threads, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


# --- OpenBLAS's own threads ----------------------------------------------------------------------
# A block that makes a matrix product (kernels.blas's parts, Winograd's transforms) already has a core
# of its own: OpenBLAS must not hand it to its worker threads too, which then busy-wait on the cores our
# other blocks use. So while run_blocks runs with more than one thread, OpenBLAS runs on one.

_blas_lock = threading.Lock()
_blas_depth = 0  # run_blocks calls in progress (any thread); OpenBLAS is held at one thread while > 0
_blas_saved = None  # its thread count before the first of them
_blas_controls = None  # (get, set) of the loaded OpenBLAS, () where there is none, None before the first look


def _find_openblas():
    """``(get_num_threads, set_num_threads)`` of the OpenBLAS this process loaded, or ``()``."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split(None, 5)[-1].strip() for line in f if "openblas" in line.lower()}
    except OSError:  # not Linux: OpenBLAS keeps its own threads
        return ()
    for path in sorted(p for p in paths if os.path.isfile(p)):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            try:
                get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
                put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}")
            except AttributeError:
                continue
            get.restype, get.argtypes = ctypes.c_int, []
            put.restype, put.argtypes = None, [ctypes.c_int]
            return get, put
    return ()


def openblas_controls():
    """``(get_num_threads, set_num_threads)`` of the OpenBLAS NumPy loaded, or ``()`` where there is none.

    Found through the process's mapped libraries (Linux), under the names of NumPy's wheels
    (``scipy_openblas_*64_``) or a plain OpenBLAS's; looked up once, after a first product has
    surely loaded NumPy's BLAS."""
    global _blas_controls
    if _blas_controls is None:
        np.ones((2, 2)) @ np.ones((2, 2))
        _blas_controls = _find_openblas()
    return _blas_controls


class _OneBlasThread:
    """Inside: OpenBLAS on one thread. Re-entrant and shared by threads: the first to enter saves the
    count, the last to leave restores it, so a user's own ``a @ b`` outside tinynet keeps OpenBLAS's
    threads."""

    def __enter__(self):
        global _blas_depth, _blas_saved
        controls = openblas_controls()
        with _blas_lock:
            if controls and _blas_depth == 0:
                _blas_saved = controls[0]()
                if _blas_saved != 1:
                    controls[1](1)
            _blas_depth += 1

    def __exit__(self, *exc):
        global _blas_depth
        controls = _blas_controls
        with _blas_lock:
            _blas_depth -= 1
            if controls and _blas_depth == 0 and _blas_saved not in (None, 1):
                controls[1](_blas_saved)
        return False


one_blas_thread = _OneBlasThread()


def run_blocks(n: int, fn, block: int, xp=np):
    """Call ``fn(start, stop)`` for the blocks of ``block`` items of ``range(n)``, on all threads.

    ``fn`` must write only the part of its outputs that belongs to its block. ``xp`` is the
    array library of the arrays ``fn`` works on: for any but NumPy (CuPy) there is one call
    ``fn(0, n)`` on the calling thread, since a GPU has no use for host cache blocks and
    CuPy's current device belongs to the thread.

    Returns only once no block is running any more, even when a block raised or the caller
    was interrupted (Ctrl-C): the callers' arrays are never written after it returns. The
    first exception of any block is raised here.
    """
    if xp is not np:
        fn(0, n)
        return
    block = max(1, int(block))
    starts = range(0, n, block)
    if getattr(_inside, "active", False) or num_threads() <= 1:  # nested (OpenBLAS already held), or serial
        for s in starts:
            fn(s, min(s + block, n))
        return
    with one_blas_thread:
        _run(n, fn, block, starts, min(num_threads(), len(starts)))


def _run(n, fn, block, starts, threads):
    if threads <= 1:
        for s in starts:
            fn(s, min(s + block, n))
        return
    todo = iter(starts)
    take = threading.Lock()  # hands out each block once (needed without a GIL; cheap with one)
    errors = []  # the first failure stops every thread before its next block

    def work():
        _inside.active = True
        try:
            while not errors:
                with take:
                    s = next(todo, None)
                if s is None:
                    return
                fn(s, min(s + block, n))
        except BaseException as e:  # reported by the caller, once every thread has stopped
            errors.append(e)
        finally:
            _inside.active = False

    helpers = []
    try:
        try:
            pool = _executor(threads - 1)
            for _ in range(threads - 1):
                helpers.append(pool.submit(work))
        except RuntimeError:  # no new threads at interpreter exit: the caller takes the remaining blocks
            pass
        work()
    except BaseException as e:  # an interrupt between blocks: stop the helpers too
        errors.append(e)
        raise
    finally:
        _wait(helpers, errors)
    if errors:
        raise errors[0]


def _wait(helpers, errors):
    """Wait until no helper runs a block. One that has not started is cancelled (the caller took
    its blocks). A Ctrl-C while waiting stops the helpers before their next block, and is raised
    once they have."""
    interrupt = None
    for h in helpers:
        h.cancel()
    for h in helpers:
        while not h.done():
            try:
                wait([h])
            except KeyboardInterrupt as e:
                interrupt = interrupt or e
                errors.append(e)
    if interrupt is not None:
        raise interrupt


def items_per_block(bytes_per_item: int) -> int:
    """How many items of ``bytes_per_item`` bytes of working set fit in one block of ``BLOCK_BYTES``."""
    return max(1, BLOCK_BYTES // max(1, int(bytes_per_item)))


def blockwise(fn, *arrays):
    """Apply the element-wise ``fn(*arrays)`` block by block: ``fn(*chunks)`` on matching flat slices.

    For in-place updates: ``fn`` may write into its chunks, which are views. The
    arrays must have the same number of elements; if any is not a C-contiguous
    NumPy array (a CuPy array, or one whose flat version would be a copy), there
    is one call ``fn(*arrays)`` on the arrays as they are.
    """
    size = arrays[0].size
    if any(a.size != size for a in arrays):
        raise ValueError(f"blockwise: arrays of different sizes {[a.size for a in arrays]}")
    if any(not isinstance(a, np.ndarray) or not a.flags.c_contiguous for a in arrays):
        fn(*arrays)
        return
    flat = [a.reshape(-1) for a in arrays]
    per_item = sum(a.itemsize for a in arrays)

    def one(start, stop):
        fn(*(f[start:stop] for f in flat))

    run_blocks(size, one, items_per_block(per_item))
