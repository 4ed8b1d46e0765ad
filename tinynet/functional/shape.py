"""Ops that move elements around without changing them: reshape, transpose, indexing, flatten.

Each backward undoes the forward's rearrangement on the gradient:

    Reshape:   dx = g.reshape(x.shape)
    Transpose: dx = g.transpose(inverse permutation)
    GetItem:   dx = zeros like x, with g written (or, for repeated integer indices, added) at x[key]
"""
import numpy as np

from tinynet.autograd import Function
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, as_input, check_dim
from tinynet.validate import is_int

__all__ = ["flatten"]


class Reshape(Function):
    def __init__(self, shape):
        shape = tuple(shape)
        if not all(is_int(n) for n in shape):
            raise TypeError(f"reshape: the sizes must be ints, got {shape!r}")
        if any(n < -1 for n in shape):
            raise ValueError(f"reshape: sizes must be >= 0 (or -1 for one size to infer), got {shape}")
        if shape.count(-1) > 1:
            raise ValueError(f"reshape: only one size can be inferred (-1), got {shape}")
        self.shape = tuple(int(n) for n in shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot view a tensor of shape {tuple(x.shape)} ({x.size} elements) as {self.shape}"
            ) from None

    def backward(self, g):
        return g.reshape(self.x_shape)


class Transpose(Function):
    """Reorder dimensions: output dimension i is input dimension ``axes[i]``."""

    def __init__(self, axes):
        self.axes = tuple(axes)

    def forward(self, x):
        axes = tuple(check_dim("permute", a, x.ndim) for a in self.axes)
        if len(axes) != x.ndim or sorted(axes) != list(range(x.ndim)):
            raise ShapeError(f"permute: {self.axes} is not a permutation of the {x.ndim} dimensions")
        self.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    def backward(self, g):
        return g.transpose(self.inverse)


def _is_basic(key) -> bool:
    """True if ``key`` uses only ints, slices, None and Ellipsis (each input element read at most once)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, np.integer, slice)) or k is None or k is Ellipsis for k in parts)


def _is_bool_mask(key) -> bool:
    return getattr(key, "dtype", None) is not None and key.dtype == bool


class GetItem(Function):
    def __init__(self, key):
        self.key = key

    def forward(self, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        try:
            return x[self.key]
        except IndexError as e:
            key = repr(self.key)
            key = key if len(key) <= 60 else key[:57] + "..."
            raise IndexError(f"indexing a tensor of shape {tuple(x.shape)} with {key}: {e}") from None

    def backward(self, g):
        xp = get_array_module(g)
        gx = xp.zeros(self.x_shape, dtype=g.dtype)
        if _is_basic(self.key) or _is_bool_mask(self.key):
            gx[self.key] = g
        else:
            # Integer-array indexing may pick an element several times: add, don't overwrite.
            xp.add.at(gx, self.key, g)
        return gx


def getitem(x, key):
    """``x[key]`` with NumPy's indexing rules; Tensor indices are used by value."""
    if isinstance(key, Tensor):
        key = key.data
    elif isinstance(key, tuple):
        key = tuple(k.data if isinstance(k, Tensor) else k for k in key)
    elif isinstance(key, list):
        key = get_array_module(x.data).asarray(key)
    return GetItem(key)(x)


def transpose(x, dim0, dim1):
    """Swap dimensions ``dim0`` and ``dim1`` (PyTorch's meaning; ``permute`` reorders them all)."""
    d0, d1 = check_dim("transpose", dim0, x.ndim), check_dim("transpose", dim1, x.ndim)
    axes = list(range(x.ndim))
    if axes:
        axes[d0], axes[d1] = axes[d1], axes[d0]
    return Transpose(axes)(x)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` .. ``end_dim`` (inclusive) into one, as ``torch.flatten``.

    (N, C, H, W) with start_dim=1 becomes (N, C*H*W): the step between the last
    pooling layer and the first dense layer of a convnet.
    """
    x = as_input("flatten", "input", x)
    shape = x.shape
    ndim = len(shape)
    start, end = check_dim("flatten", start_dim, ndim), check_dim("flatten", end_dim, ndim)
    if ndim == 0:
        return x.reshape(1)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a {ndim}-D tensor")
    merged = 1
    for n in shape[start:end + 1]:
        merged *= n
    return x.reshape(shape[:start] + (merged,) + shape[end + 1:])
