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
buffer it handed out before that nobody references any more, of at least the
bytes asked for and at most ``SLACK`` times as many (the smallest such), and
returns the front of it, shaped as asked; so one buffer serves every layer
whose arrays are about its size, one after another, as a caching allocator's
blocks do. "Nobody references it" is read off the reference count: a buffer
held only by this module's list has the count ``_FREE_REFCOUNT`` (measured
once, below, through the same code path), and any array, view or slice still
using it adds to that count, since a NumPy view keeps its base alive. So a
buffer is reused only once every array that could see it is gone - the same
guarantee as freeing it.

CuPy arrays take ``cupy.empty`` (CuPy's pool already reuses device memory).
A new buffer replaces the free ones it can stand in for (those of at least
1/SLACK of its size), so the sizes a step meets converge on a few buffers. At
most ``MAX_BUFFERS`` buffers are kept; past that, a new one replaces the free
buffer least recently handed out. ``clear()`` drops them all.
"""
import sys

import numpy as np

MIN_BYTES = 1 << 20  # smaller arrays come from malloc's own free lists cheaply
SLACK = 2  # a request may take a free buffer of up to this many times its bytes
MAX_BUFFERS = 64

_buffers = []  # [[uint8 array, the request count when last handed out], ...]
_requests = 0


def _is_free(entry):
    """Whether nothing but this module references the buffer of ``entry``: its references are then the entry's
    own and getrefcount's argument (``_FREE_REFCOUNT``, measured below the same way)."""
    return sys.getrefcount(entry[0]) <= _FREE_REFCOUNT


def empty(shape, dtype, xp=np):
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` on ``xp``'s device (recycled if possible)."""
    global _requests
    shape, dtype = tuple(int(s) for s in shape), np.dtype(dtype)
    nbytes = dtype.itemsize * int(np.prod(shape))
    if xp is not np or nbytes < MIN_BYTES:
        return xp.empty(shape, dtype=dtype)
    _requests += 1
    best = None
    for entry in _buffers:
        size = entry[0].nbytes
        if nbytes <= size <= SLACK * nbytes and (best is None or size < best[0].nbytes) and _is_free(entry):
            best = entry
    if best is None:
        # The free buffers this new one can stand in for (at least 1/SLACK of its size) are dropped: whatever
        # they served, it serves, so a step's sizes converge on a few buffers instead of one per size met.
        _buffers[:] = [e for e in _buffers if not (nbytes // SLACK <= e[0].nbytes < nbytes and _is_free(e))]
        best = [np.empty(nbytes, dtype=np.uint8), 0]
        if len(_buffers) >= MAX_BUFFERS:
            free = [e for e in _buffers if _is_free(e)]
            if not free:
                return best[0].view(dtype).reshape(shape)  # not kept
            oldest = min(free, key=lambda e: e[1])
            del _buffers[next(i for i, e in enumerate(_buffers) if e is oldest)]  # (== would compare the arrays)
        _buffers.append(best)
    best[1] = _requests
    return best[0][:nbytes].view(dtype).reshape(shape)


def clear():
    """Forget every kept buffer (memory returns to the system once no array uses it)."""
    _buffers.clear()


def held_bytes():
    """Bytes of all buffers kept for reuse, in use or not."""
    return sum(entry[0].nbytes for entry in _buffers)


def _calibrate():
    """The reference count of a buffer that only an entry of the list holds, seen the way ``_is_free`` sees it."""
    held = [[np.empty(1), 0]]
    return _count(held[0])


def _count(entry):
    return sys.getrefcount(entry[0])


_FREE_REFCOUNT = _calibrate()
