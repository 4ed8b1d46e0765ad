"""A stand-in for the few CuPy calls backend.Uploader makes, on host arrays, to test the logic around it
(buffers taking turns, tickets, passes left early) where there is no GPU. Copies happen at once and
events are always complete, so it checks bookkeeping, not timing; the real CuPy runs the same tests on a GPU.
"""
import types

import numpy as np


class DeviceArray(np.ndarray):
    """A host array with CuPy's ``set(host_array, stream=...)``."""

    def set(self, arr, stream=None):
        assert stream is not None and arr.shape == self.shape and arr.dtype == self.dtype
        self[...] = arr


class Event:
    done = True

    def synchronize(self):
        pass


class Stream:
    def __init__(self, non_blocking=False):
        self.waited = []

    def record(self):
        return Event()

    def wait_event(self, event):
        assert isinstance(event, Event)
        self.waited.append(event)

    def synchronize(self):
        pass


def module():
    """A module-like object with cuda.Stream, cuda.get_current_stream, cuda.alloc_pinned_memory, empty."""
    current = Stream()
    cuda = types.SimpleNamespace(Stream=Stream, get_current_stream=lambda: current,
                                 alloc_pinned_memory=lambda n: bytearray(n))
    return types.SimpleNamespace(cuda=cuda, empty=lambda n, dtype: np.zeros(n, dtype).view(DeviceArray))
