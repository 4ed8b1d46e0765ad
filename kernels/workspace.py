"""Reusable host buffers for the large arrays a training step allocates again every step.

Why. A NumPy array of more than a few MB is memory fresh from the operating
system: every page is faulted in and zeroed on first touch, and where the
kernel backs it with huge pages it may compact memory first. For the column
matrices of a convolution (hundreds of MB per step for the seed AlexNet at
batch 32) that costs several times the copy that fills them (measured: an
im2col for conv2 took 40 ms into a recycled buffer and 200-400 ms into fresh
memory). PyTorch avoids it with a caching allocator; CuPy has one for GPU
memory; this module is the small version of that idea for NumPy.

How. ``empty(shape, dtype, xp)`` returns an uninitialised array like
``xp.empty``. For NumPy arrays of at least ``MIN_BYTES`` it first looks for a
buffer of the same shape and dtype that it handed out before and that nobody
references any more, and returns that one. "Nobody references it" is read off
the reference count: a buffer held only by this module's list has the count
``_FREE_REFCOUNT`` (measured once, below, through the same code path), and any
array, view or slice still using it adds to that count, since a NumPy view
keeps its base alive. So a buffer is reused only once every array that could
see it is gone - the same guarantee as freeing it.

CuPy arrays take ``cupy.empty`` (CuPy's pool already reuses device memory).
At most ``MAX_PER_SHAPE`` buffers are kept per (shape, dtype); ``clear()``
drops them all.
"""
import sys

import numpy as np

MIN_BYTES = 1 << 20  # smaller arrays come from malloc's own free lists cheaply
MAX_PER_SHAPE = 4

_buffers = {}  # (shape, dtype) -> [np.ndarray, ...]


def _is_free(buf):
    # References while we look: the list, the caller's loop variable, this argument, getrefcount's argument.
    return sys.getrefcount(buf) <= _FREE_REFCOUNT


def empty(shape, dtype, xp=np):
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` on ``xp``'s device (recycled if possible)."""
    shape, dtype = tuple(int(s) for s in shape), np.dtype(dtype)
    if xp is not np or dtype.itemsize * int(np.prod(shape)) < MIN_BYTES:
        return xp.empty(shape, dtype=dtype)
    bufs = _buffers.setdefault((shape, dtype.str), [])
    for buf in bufs:
        if _is_free(buf):
            return buf
    buf = np.empty(shape, dtype=dtype)
    if len(bufs) < MAX_PER_SHAPE:
        bufs.append(buf)
    return buf


def clear():
    """Forget every kept buffer (memory returns to the system once no array uses it)."""
    _buffers.clear()


def held_bytes():
    """Bytes of all buffers kept for reuse, in use or not."""
    return sum(b.nbytes for bufs in _buffers.values() for b in bufs)


def _calibrate():
    """The reference count of a buffer that only a list holds, seen the way ``_is_free`` sees it:
    a list entry, a loop variable, a function argument and getrefcount's own argument."""
    for buf in [np.empty(1)]:
        return _count(buf)


def _count(buf):
    return sys.getrefcount(buf)


_FREE_REFCOUNT = _calibrate()
