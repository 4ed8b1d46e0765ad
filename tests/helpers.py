"""Helpers for building test tensors on a device and reading them back."""
import numpy as np

import tinynet
from tinynet import backend


def tensor(array, device="cpu", requires_grad=False, dtype=None):
    """A Tensor holding ``array`` (host data) on ``device``."""
    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype)
    return tinynet.Tensor(backend.to_device(array, device), requires_grad=requires_grad)


def rand(rng, shape, device="cpu", requires_grad=True, low=-1.0, high=1.0, dtype="float64"):
    """Uniform random float64 tensor (the default for gradient checks)."""
    return tensor(rng.uniform(low, high, size=shape), device, requires_grad, dtype)


def tie_free(rng, shape, device="cpu", requires_grad=True, offset=-0.5, spacing=0.01):
    """Distinct values (a shuffled arithmetic sequence), mostly negative by default.

    For max-pool checks: no two cells in a window tie, and the spacing is far
    larger than the finite-difference step, so the argmax never flips.
    """
    n = int(np.prod(shape))
    values = rng.permutation(n).reshape(shape) * spacing + offset * n * spacing
    return tensor(values, device, requires_grad, "float64")


def host(t):
    """Host NumPy copy of a Tensor or array."""
    if isinstance(t, tinynet.Tensor):
        return t.numpy()
    return backend.host(t)


def record_jpeg_drafts(monkeypatch):
    """A list that collects the size of every JPEG draft-mode request Pillow gets from now on."""
    from PIL import JpegImagePlugin

    asked = []
    real = JpegImagePlugin.JpegImageFile.draft

    def draft(img, mode, size):
        asked.append(size)
        return real(img, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    return asked
