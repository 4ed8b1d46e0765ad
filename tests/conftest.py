"""Shared fixtures: every device-dependent test runs once per backend.

``device`` is "cpu" (NumPy) always, and "cuda" (CuPy) where CuPy sees a GPU;
elsewhere the cuda case is skipped with the reason printed by ``pytest -rs``.
"""
import numpy as np
import pytest


def _cuda_skip_reason():
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install -e .[gpu] on a machine with an NVIDIA GPU)"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, no device
        return f"CuPy finds no CUDA GPU ({type(e).__name__}: {e})"
    return None if count > 0 else "CuPy finds no CUDA GPU"


CUDA_SKIP_REASON = _cuda_skip_reason()

DEVICES = [
    pytest.param("cpu", id="numpy"),
    pytest.param(
        "cuda",
        id="cupy",
        marks=pytest.mark.skipif(CUDA_SKIP_REASON is not None, reason=str(CUDA_SKIP_REASON)),
    ),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """'cpu' or 'cuda': the device a test's tensors live on."""
    return request.param


@pytest.fixture
def xp(device):
    """The array module of ``device``: numpy or cupy."""
    if device == "cuda":
        import cupy

        return cupy
    return np


@pytest.fixture
def rng():
    """A seeded NumPy generator: test data is drawn on the host, then moved."""
    return np.random.default_rng(1234)
