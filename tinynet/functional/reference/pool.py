"""Reference loops: see tinynet/functional/reference/__init__.py. Imports only NumPy."""
import numpy as np  # noqa: F401

__all__ = []
