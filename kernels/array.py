"""Which array library an array belongs to, without importing CuPy.

``import tinynet`` must work where CuPy is absent, so we recognise a CuPy array
by its type's module name instead of ``isinstance(x, cupy.ndarray)``.
"""
import sys

import numpy as np


def is_cupy_array(a) -> bool:
    """True if ``a`` is a ``cupy.ndarray`` (checked without importing CuPy)."""
    return type(a).__module__.startswith("cupy")


def get_array_module(*arrays):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``.

    Arguments that are not arrays (None, Python scalars) are ignored.
    """
    for a in arrays:
        if is_cupy_array(a):
            return sys.modules["cupy"]
    return np
