"""Ops that move elements around without changing them: reshape, squeeze/unsqueeze, transpose, expand,
repeat, indexing, flatten, clone (joining and splitting: join.py; gather/scatter/sort: indexing.py).

Each backward undoes the forward's rearrangement on the gradient:

    Reshape:   dx = g.reshape(x.shape)          (squeeze, unsqueeze, flatten are reshapes)
    Transpose: dx = g.transpose(inverse permutation)
    Expand:    y = x broadcast to a larger shape;  dx = g summed over the broadcast copies (unbroadcast)
    Repeat:    y = x tiled r_0 x r_1 x ... times;  dx = g summed over the tiles:
               g reshaped to (r_0, s_0, r_1, s_1, ...) and summed over the r axes
    GetItem:   dx = zeros like x, with g written (or, for repeated integer indices, added) at x[key]
    Clone:     y = a copy of x;  dx = g
"""
import numpy as np

from tinynet.autograd import Function, _memory_owner
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, as_input, check_dim, unbroadcast
from tinynet.validate import is_int

__all__ = ["flatten", "reshape", "squeeze", "unsqueeze", "transpose", "permute", "t", "expand", "repeat",
           "clone", "contiguous"]


class Reshape(Function):
    op = "reshape"  # the name its errors give

    def __init__(self, shape):
        shape = tuple(shape)
        if not all(is_int(n) for n in shape):
            raise TypeError(f"{self.op}: the sizes must be ints, got {shape!r}")
        if any(n < -1 for n in shape):
            raise ValueError(f"{self.op}: sizes must be >= 0 (or -1 for one size to infer), got {shape}")
        if shape.count(-1) > 1:
            raise ValueError(f"{self.op}: only one size can be inferred (-1), got {shape}")
        self.shape = tuple(int(n) for n in shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(
                f"{self.op}: cannot view a tensor of shape {tuple(x.shape)} ({x.size} elements) as {self.shape}"
            ) from None

    def backward(self, g):
        return g.reshape(self.x_shape)


class View(Reshape):
    """Reshape that must share the input's memory, as PyTorch's ``view``: refused where the elements'
    strides allow no such view (a transposed tensor viewed as one row, say); ``reshape`` then copies."""

    op = "view"

    def forward(self, x):
        y = super().forward(x)
        if x.size and _memory_owner(x) is not _memory_owner(y):
            raise ShapeError(
                f"view: a tensor of shape {tuple(x.shape)} and strides {tuple(x.strides)} can't be viewed as "
                f"{self.shape} without copying (its elements are not laid out in that order); use "
                ".reshape(...) instead, which copies when it must"
            )
        return y


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


class Expand(Function):
    """x broadcast to ``shape`` (a read-only view, as PyTorch's expand shares memory)."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, g):
        return unbroadcast(g, self.x_shape)


class Repeat(Function):
    """x tiled ``reps`` times along each dimension (len(reps) >= x.ndim; x gets leading 1s first)."""

    def __init__(self, reps):
        self.reps = reps

    def forward(self, x):
        self.x_shape = x.shape
        self.padded = (1,) * (len(self.reps) - x.ndim) + tuple(x.shape)
        return get_array_module(x).tile(x.reshape(self.padded), self.reps)

    def backward(self, g):
        interleaved = [n for pair in zip(self.reps, self.padded) for n in pair]  # (r_0, s_0, r_1, s_1, ...)
        tiles = tuple(range(0, 2 * len(self.reps), 2))
        return g.reshape(interleaved).sum(axis=tiles).reshape(self.x_shape)


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


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
        key = self.key
        if _is_basic(key):
            parts = key if isinstance(key, tuple) else (key,)
            if Ellipsis not in parts:
                key = parts + (Ellipsis,)  # x[0, 0] is then a 0-d view, as in PyTorch, not a NumPy scalar copy
        try:
            return x[key]
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


def index_key(x, key):
    """An index for Tensor ``x`` as NumPy takes it: Tensor indices by their arrays, a list as an array."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return get_array_module(x.data).asarray(key)
    return key


def getitem(x, key):
    """``x[key]`` with NumPy's indexing rules; Tensor indices are used by value."""
    return GetItem(index_key(x, key))(x)


def transpose(x, dim0, dim1):
    """Swap dimensions ``dim0`` and ``dim1`` (PyTorch's meaning; ``permute`` reorders them all)."""
    x = as_input("transpose", "input", x)
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


def _sizes(op, sizes):
    """``sizes`` given as ints (``f(2, 3)``) or as one sequence (``f((2, 3))``), as a tuple of ints."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if not all(is_int(n) for n in sizes):
        raise TypeError(f"{op}: the sizes must be ints, got {sizes!r}")
    return tuple(int(n) for n in sizes)


def reshape(input, shape):
    """``input`` with a new ``shape`` (a tuple; one entry may be -1), as ``torch.reshape``."""
    if is_int(shape):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"reshape: shape must be a tuple of ints, got {shape!r}")
    return Reshape(shape)(as_input("reshape", "input", input))


def squeeze(input, dim=None):
    """Drop dimensions of size 1: all of them (dim=None), or those of ``dim`` (an int or a tuple) that have
    size 1 (a named dimension of another size is kept, as in PyTorch)."""
    x = as_input("squeeze", "input", input)
    if dim is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    else:
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        axes = [check_dim("squeeze", d, x.ndim) for d in dims]
        axes = [a for a in axes if x.ndim and x.shape[a] == 1]
    return Reshape([n for i, n in enumerate(x.shape) if i not in axes])(x)


def unsqueeze(input, dim):
    """Insert a dimension of size 1 at ``dim`` (-ndim-1 .. ndim: a negative one counts from the end of
    the result), as ``torch.unsqueeze``."""
    x = as_input("unsqueeze", "input", input)
    axis = check_dim("unsqueeze", dim, x.ndim + 1)
    return Reshape(x.shape[:axis] + (1,) + x.shape[axis:])(x)


def permute(input, *dims):
    """Reorder the dimensions: output dimension i is input dimension ``dims[i]``."""
    return Transpose(_sizes("permute", dims))(as_input("permute", "input", input))


def t(input):
    """The transpose of a matrix; a 0-d or 1-d tensor as it is. More dimensions: an error, as PyTorch."""
    x = as_input("t", "input", input)
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor of at most 2 dimensions, got shape {x.shape}; use transpose(dim0, dim1)")
    return Transpose(tuple(reversed(range(x.ndim))))(x)


def expand(input, *sizes):
    """``input`` broadcast to ``sizes``, as ``Tensor.expand``: -1 keeps a dimension, a dimension of size 1
    stretches to any size, new dimensions may be added in front. The gradient sums over the copies."""
    x = as_input("expand", "input", input)
    sizes = _sizes("expand", sizes)
    new = len(sizes) - x.ndim
    if new < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes {sizes} for a tensor of {x.ndim} dimensions {x.shape}; "
                         "give at least one size per dimension")
    shape = []
    for i, n in enumerate(sizes):
        old = x.shape[i - new] if i >= new else None
        if n == -1 and old is None:
            raise ShapeError(f"expand: size -1 is not allowed for a new leading dimension (dimension {i} of {sizes})")
        if n < -1:
            raise ValueError(f"expand: sizes must be >= 0 (or -1 to keep a dimension), got {sizes}")
        n = old if n == -1 else n
        if old is not None and old != 1 and old != n:
            raise ShapeError(f"expand: dimension {i - new} of shape {x.shape} has size {old}, which can't "
                             f"expand to {n} (only a dimension of size 1 can), in expand{sizes}")
        shape.append(n)
    return Expand(tuple(shape))(x)


def expand_as(input, other):
    """``input`` expanded to ``other``'s shape (``other`` a Tensor or an array)."""
    if not hasattr(other, "shape") or not hasattr(other, "dtype"):
        raise TypeError(f"expand_as: other must be a Tensor, got {type(other).__name__}")
    return expand(input, tuple(other.shape))


def repeat(input, *sizes):
    """``input`` tiled ``sizes[i]`` times along dimension i, as ``Tensor.repeat`` (NumPy's tile): at least
    one size per dimension, extra sizes add leading dimensions. The gradient sums over the tiles."""
    x = as_input("repeat", "input", input)
    sizes = _sizes("repeat", sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: {len(sizes)} repeat counts {sizes} for a tensor of {x.ndim} dimensions "
                         f"{x.shape}; give at least one per dimension")
    if any(n < 0 for n in sizes):
        raise ValueError(f"repeat: repeat counts must be >= 0, got {sizes}")
    return Repeat(sizes)(x)


def clone(input):
    """A copy of ``input`` that records the copy: the gradient flows back unchanged."""
    return Clone()(as_input("clone", "input", input))


def contiguous(input):
    """``input`` itself if its data is C-contiguous, else a contiguous copy (differentiable)."""
    x = as_input("contiguous", "input", input)
    return x if x.data.flags.c_contiguous else Clone()(x)
