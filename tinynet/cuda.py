"""``tinynet.cuda``: is a GPU usable, and waiting for it.

    >>> import tinynet
    >>> tinynet.cuda.is_available()
    False          # on a machine without CuPy or an NVIDIA GPU
"""
from tinynet.backend import cuda_available, cupy_or_raise


def is_available() -> bool:
    """True if CuPy is installed and sees a CUDA GPU. Never raises."""
    return cuda_available()


def synchronize() -> None:
    """Wait for all queued GPU work to finish (CUDA launches are asynchronous)."""
    cupy_or_raise().cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    """Seed CuPy's generator (dropout masks on the GPU)."""
    cupy_or_raise().random.seed(seed)
