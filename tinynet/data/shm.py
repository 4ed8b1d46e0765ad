"""Batches handed from the loader's worker processes to the main process in shared memory, not pipes.

Pickling a batch through a pipe costs about 1.3 ms per MB (a batch of 128 images of 224 x 224 in
float32 is 77 MB), and it is the main process that unpickles. Instead each worker gets a few slots:
segments of shared memory, each the size of one batch, that the main process creates and owns.

    main process                                    worker
    task (k, indices, free slot s)       ------->   loads batch k, writes x and y into slot s
    reads x and y in s, frees s          <-------   (k, InSlot(shapes, dtypes, skipped, affine))

The first batch of each worker goes through the pipe as before: its size is what the slots are made
for. A batch that does not fit its slot (a larger sample shape), or a task sent while all slots are in
use, also goes through the pipe, so nothing waits on a slot. The Tensors the loader yields never share
memory with a worker: a finished float batch is copied out of its slot (one memcpy) before the slot is
freed; uint8 pixels are read in place by the float map (or the copy to the GPU), and their slot is freed
once it has run.

Lifetime. Segments are made with ``multiprocessing.shared_memory``: the main process unlinks them when
the pass ends (normally, on an error, on Ctrl-C), and if the main process is killed the resource tracker
that ``multiprocessing`` runs beside it unlinks what is left, so no segment outlives the job. Where the
shared-memory file system has too little room for the slots (Docker's default /dev/shm is 64 MB; a
worker writing past it would die of SIGBUS), no slots are made and batches go through the pipes.
"""
import os
import secrets
import warnings
from collections import namedtuple
from multiprocessing import shared_memory

import numpy as np

__all__ = ["InSlot", "Slots", "write_batch", "batch_bytes"]

# A worker's message for a batch it wrote into its slot.
InSlot = namedtuple("InSlot", ["x_shape", "x_dtype", "y_shape", "y_dtype", "skipped", "affine"])

_ALIGN = 64  # y starts on a cache line after x
_SHM_DIR = "/dev/shm"
_HEADROOM = 1.25  # the slots may take at most 1/1.25 of the free space of /dev/shm


def _y_offset(x_nbytes):
    return -(-x_nbytes // _ALIGN) * _ALIGN


def batch_bytes(x, y):
    """The bytes a slot needs for the stacked batch (x, y)."""
    return _y_offset(x.nbytes) + y.nbytes


def _room_for(nbytes):
    """Whether the shared-memory file system can hold ``nbytes`` more (True where it can't be told)."""
    try:
        st = os.statvfs(_SHM_DIR)
    except (OSError, AttributeError):  # no /dev/shm (macOS, Windows): the OS backs segments otherwise
        return True
    return st.f_bavail * st.f_frsize >= nbytes * _HEADROOM


class Slots:
    """The main process's side: ``count`` slots for one worker, made at its first batch."""

    def __init__(self, count, tag):
        self.count, self.tag = count, tag
        self.segments, self.free, self.size = [], [], 0
        self.unavailable = False  # too little room: this worker's batches go through its pipe

    def ensure(self, nbytes):
        """Make the slots, once, each of ``nbytes`` (the worker's first batch)."""
        if self.segments or self.unavailable or nbytes == 0:
            return
        if not _room_for(nbytes * self.count):
            self.unavailable = True
            warnings.warn(f"DataLoader: {_SHM_DIR} has too little free space for {self.count} batches of "
                          f"{nbytes / 2**20:.0f} MiB, so batches go through pipes (slower); give the container "
                          "more shared memory (docker run --shm-size=2g) or lower the batch size", RuntimeWarning,
                          stacklevel=2)
            return
        try:
            for i in range(self.count):
                name = f"tn{os.getpid()}{self.tag}s{i}{secrets.token_hex(3)}"
                self.segments.append(shared_memory.SharedMemory(name=name, create=True, size=nbytes))
        except OSError:  # out of segments or of memory: the pipes still work
            self.release()
            self.unavailable = True
            return
        self.free, self.size = list(range(self.count)), nbytes

    def take(self):
        """A free slot as (index, (name, size)) for a task, or None (then the batch comes by pipe)."""
        if not self.free:
            return None
        i = self.free.pop()
        return i, (self.segments[i].name, self.size)

    def give_back(self, i):
        self.free.append(i)

    def read(self, i, msg):
        """Batch ``msg`` in slot ``i``: (x, y, skipped, affine), and whether the slot is free again.

        y is copied out. So is x when it is the finished batch (affine None), and the slot is freed at
        once; uint8 pixels (affine given) are only read by the float map, which writes a new array, so x
        is a view of the slot, and the caller frees the slot (``give_back``) once that has run.
        """
        buf = self.segments[i].buf
        x_dtype, y_dtype = np.dtype(msg.x_dtype), np.dtype(msg.y_dtype)
        x_count = int(np.prod(msg.x_shape))
        x = np.frombuffer(buf, x_dtype, x_count).reshape(msg.x_shape)
        y = np.frombuffer(buf, y_dtype, int(np.prod(msg.y_shape)), _y_offset(x_count * x_dtype.itemsize))
        y = y.reshape(msg.y_shape).copy()
        lent = msg.affine is not None
        if not lent:
            x = x.copy()
            self.free.append(i)
        return (x, y, msg.skipped, msg.affine), not lent

    def release(self):
        """Close and unlink every slot (after the worker has stopped)."""
        for shm in self.segments:
            try:
                shm.unlink()  # first: a view still held (a pass abandoned mid-batch) only delays close()
            except OSError:
                pass
            try:
                shm.close()
            except BufferError:  # that view: the mapping goes when it does
                pass
        self.segments, self.free = [], []


def write_batch(attached, slot, x, y, skipped, affine=None):
    """In a worker: write (x, y) into ``slot`` = (name, size) and return its InSlot message, or None
    if it does not fit (the caller then sends the batch through the pipe). ``attached`` caches the
    worker's open segments by name."""
    name, size = slot
    if batch_bytes(x, y) > size:
        return None
    shm = attached.get(name)
    if shm is None:
        shm = attached[name] = shared_memory.SharedMemory(name=name)
    np.frombuffer(shm.buf, x.dtype, x.size).reshape(x.shape)[...] = x
    np.frombuffer(shm.buf, y.dtype, y.size, _y_offset(x.nbytes)).reshape(y.shape)[...] = y
    return InSlot(x.shape, x.dtype.str, y.shape, y.dtype.str, skipped, affine)  # affine: small, in the message
