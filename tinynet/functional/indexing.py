"""Ops that pick, place or order elements by index: gather, scatter, masked_fill, where, sort, topk.

gather reads x at given positions along one dimension; scatter writes there. Each is the other's
adjoint, so each backward is the other op:

    Gather:  y[p] = x[p with p_d replaced by index[p]]        (p runs over index's shape)
             dx = zeros like x, g[p] ADDED at those positions  (a scatter-add: an element read twice
                                                                gets both gradients)
    Scatter: y = x, then y[p with p_d replaced by index[p]] = src[p]
             dx = g with 0 at the overwritten positions;  dsrc[p] = g[that position] (a gather)
    MaskedFill: y = value where mask else x;   dx = g where not mask;  dvalue = sum of g where mask
    Where:   y = x where cond else z;          dx = g where cond;  dz = g where not cond  (unbroadcast)
    Sort / topk: values = gather(x, dim, indices), so their gradient is gather's: g put back at indices.

Index tensors are int64 (PyTorch's long), every value in 0 .. size-1 of its dimension.
"""
import math
from collections import namedtuple

import numpy as np

from tinynet.autograd import Function
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import (NUMBERS, ShapeError, as_input, check_dim, flag_arg, promote, result_dtype,
                                     unbroadcast)
from tinynet.functional.shape import Clone
from tinynet.validate import is_int

__all__ = ["gather", "scatter", "scatter_add", "masked_fill", "where", "nonzero", "sort", "argsort", "topk"]

SortResult = namedtuple("SortResult", ["values", "indices"])  # torch.return_types.sort
TopkResult = namedtuple("TopkResult", ["values", "indices"])


def _flat_positions(shape, axis, index):
    """The flat (C-order) offsets into an array of ``shape`` of the positions p of ``index``'s shape with
    p[axis] replaced by index[p]: what gather reads and scatter writes."""
    xp = get_array_module(index)
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    flat = index * strides[axis]
    for i, n in enumerate(index.shape):
        if i != axis:
            flat = flat + xp.arange(n).reshape([n if j == i else 1 for j in range(index.ndim)]) * strides[i]
    return flat


def _scatter_add(shape, flat, values):
    """zeros(shape) with ``values`` added at the flat offsets ``flat`` (repeats summed), via bincount."""
    xp = get_array_module(values)
    total = xp.bincount(flat.reshape(-1), weights=values.reshape(-1), minlength=math.prod(shape))
    return total.astype(values.dtype, copy=False).reshape(shape)


class Gather(Function):
    """y = x gathered along ``axis`` at ``index`` (int64, x's ndim; checked by ``gather``)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x, index):
        self.x_shape = x.shape
        self.flat = _flat_positions(x.shape, self.axis, index)
        return x.reshape(-1)[self.flat]

    def backward(self, g):
        return _scatter_add(self.x_shape, self.flat, g), None


class Scatter(Function):
    """y = x with ``src`` (cut to index's shape) written along ``axis`` at ``index``; ``reduce="add"``
    adds instead (scatter_add). With a number instead of src (``value``), only x is an input."""

    def __init__(self, axis, value=None, add=False):
        self.axis, self.value, self.add = axis, value, add

    def forward(self, x, index, src=None):
        self.flat = _flat_positions(x.shape, self.axis, index)
        self.index_shape, self.src_shape = index.shape, None if src is None else src.shape
        piece = None if src is None else src[tuple(slice(0, n) for n in index.shape)]
        if self.add:
            return x + _scatter_add(x.shape, self.flat, piece)
        y = x.copy()  # C-contiguous, so its reshape(-1) is a view to write through
        y.reshape(-1)[self.flat] = self.value if src is None else piece
        return y

    def backward(self, g):
        xp = get_array_module(g)
        gx = g
        if not self.add:
            gx = g.copy()
            gx.reshape(-1)[self.flat] = 0
        if self.src_shape is None:
            return gx, None
        gsrc = xp.zeros(self.src_shape, dtype=g.dtype)
        gsrc[tuple(slice(0, n) for n in self.index_shape)] = g.reshape(-1)[self.flat]
        return gx, None, gsrc


class MaskedFill(Function):
    """y = value where mask else x (x and mask broadcast together); value a ``number`` or a 0-d tensor input."""

    def __init__(self, number=None):
        self.number = number

    def forward(self, x, mask, value=None):
        xp = get_array_module(x)
        self.x_shape, self.mask = x.shape, mask
        fill = self.number if value is None else value
        return xp.where(mask, xp.asarray(fill, dtype=x.dtype), x)

    def backward(self, g):
        xp = get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        gx = unbroadcast(xp.where(self.mask, zero, g), self.x_shape)
        if len(self.inputs) == 2:
            return gx, None
        return gx, None, xp.where(self.mask, g, zero).sum()


class Where(Function):
    """y = x where cond else z, all three broadcast together."""

    def forward(self, cond, x, z):
        xp = get_array_module(x)
        self.cond, self.x_shape, self.z_shape = cond, x.shape, z.shape
        try:
            return xp.where(cond, x, z)
        except ValueError:
            raise ShapeError(f"where: shapes {tuple(cond.shape)} (condition), {tuple(x.shape)} and "
                             f"{tuple(z.shape)} can't be broadcast together") from None

    def backward(self, g):
        xp = get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        return None, unbroadcast(xp.where(self.cond, g, zero), self.x_shape), \
            unbroadcast(xp.where(self.cond, zero, g), self.z_shape)


# --- checks ------------------------------------------------------------------------------------------------

def _index(op, index, x, axis, src=None):
    """``index`` as an int64 Tensor that may index ``x`` along ``axis`` (PyTorch's rules), else a clear error."""
    if not isinstance(index, Tensor):
        if isinstance(index, (list, tuple)) or hasattr(index, "dtype"):
            index = as_input(op, "index", index)
        else:
            raise TypeError(f"{op}: index must be a Tensor of int64 (long) indices, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an int64 (long) tensor, got dtype {index.dtype}; convert with .long()")
    if index.ndim != x.ndim and not (x.ndim <= 1 and index.ndim <= 1):
        raise ShapeError(f"{op}: index must have as many dimensions as the input ({x.ndim}, shape {x.shape}), "
                         f"got shape {index.shape}")
    if x.ndim == 0 or index.ndim == 0:  # PyTorch treats a 0-d input or index as 1-d here
        x_shape, i_shape = x.shape or (1,), index.shape or (1,)
    else:
        x_shape, i_shape = x.shape, index.shape
    for d, n in enumerate(i_shape):
        if d != axis and n > x_shape[d]:
            raise ShapeError(f"{op}: index has shape {index.shape}, larger than the input {x.shape} in dimension "
                             f"{d} ({n} > {x_shape[d]}); only dimension {axis} may differ")
        if src is not None and n > (src.shape or (1,))[d]:
            raise ShapeError(f"{op}: index has shape {index.shape}, larger than src {src.shape} in dimension {d}")
    if index.data.size:
        xp = get_array_module(index.data)
        low, high = int(xp.min(index.data)), int(xp.max(index.data))
        size = x_shape[axis]
        if low < 0 or high >= size:
            bad = low if low < 0 else high
            raise IndexError(f"{op}: index {bad} is out of bounds for dimension {axis} with size {size}")
    data = index.data.astype(get_array_module(index.data).int64, copy=False).reshape(i_shape)
    return Tensor._wrap(data)


def _as_1d(x):
    """A 0-d tensor as shape (1,), for the ops PyTorch lets treat it so."""
    return x.reshape(1) if x.ndim == 0 else x


# --- the functions -----------------------------------------------------------------------------------------

def gather(input, dim, index):
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for dim 0 (likewise for others), as ``torch.gather``:
    index is int64 with input's number of dimensions, no larger than input outside ``dim``; out has
    index's shape. Gradient: a scatter-add of g into zeros like input."""
    x = as_input("gather", "input", input)
    axis = check_dim("gather", dim, x.ndim)
    index = _index("gather", index, x, axis)
    y = Gather(axis)(_as_1d(x), index)
    return y.reshape(()) if x.ndim == 0 else y


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``src[i][j][k]`` written at ``[index[i][j][k]][j][k]`` (dim 0; likewise for
    others), as out-of-place ``torch.scatter``; ``src`` may be a number (or give ``value=``).
    ``reduce="add"`` adds instead (see ``scatter_add``). Where index repeats a position, one of the
    written values wins (PyTorch leaves which unspecified too).
    Gradients: input gets g with zeros where written; src gets g gathered at index."""
    x = as_input("scatter", "input", input)
    if reduce not in (None, "add"):
        raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
    if src is None and value is None:
        raise TypeError("scatter: give src (a Tensor) or value (a number)")
    if src is not None and value is not None:
        raise TypeError("scatter: give src or value, not both")
    if value is None and isinstance(src, NUMBERS):
        src, value = None, src
    if value is not None and not isinstance(value, NUMBERS):
        raise TypeError(f"scatter: value must be a number, got {value!r:.40}")
    axis = check_dim("scatter", dim, x.ndim)
    if src is not None:
        src = as_input("scatter", "src", src)
        if src.dtype != x.dtype:
            raise TypeError(f"scatter: src has dtype {src.dtype}, input {x.dtype}; they must match")
        if src.ndim != x.ndim:
            raise ShapeError(f"scatter: src must have as many dimensions as the input ({x.ndim}), got shape {src.shape}")
    index = _index("scatter", index, x, axis, src)
    if src is None and reduce == "add":  # add a number at each indexed position: src full of it
        src = Tensor._wrap(get_array_module(x.data).full(index.shape, value, dtype=x.dtype))
    if src is None:
        y = Scatter(axis, value=value)(_as_1d(x), index)
    else:
        y = Scatter(axis, add=reduce == "add")(_as_1d(x), index, _as_1d(src))
    return y.reshape(()) if x.ndim == 0 else y


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src`` added at the positions scatter would write (repeats all added),
    as ``torch.scatter_add``; the gradient of input is g, of src g gathered at index."""
    if src is None or isinstance(src, NUMBERS):
        raise TypeError(f"scatter_add: src must be a Tensor, got {src!r:.40}; for a number use "
                        "scatter(input, dim, index, value, reduce='add')")
    return scatter(input, dim, index, src, reduce="add")


def masked_fill(input, mask, value):
    """``value`` where ``mask`` (bool, broadcastable with input) is True, ``input`` elsewhere, as
    ``torch.masked_fill``. ``value`` is a number or a 0-d tensor (which then gets the masked gradient)."""
    x = as_input("masked_fill", "input", input)
    mask = as_input("masked_fill", "mask", mask)
    if mask.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}; e.g. mask = x > 0")
    try:
        np.broadcast_shapes(x.shape, mask.shape)  # shapes only, no arrays
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} doesn't broadcast with input {x.shape}") from None
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        return MaskedFill()(x, mask, value.to(x.dtype))
    if not isinstance(value, NUMBERS):
        raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got {value!r:.40}")
    if x.dtype.kind in "biu" and isinstance(value, float) and value != int(value):
        raise TypeError(f"masked_fill: value {value} can't be held by an input of dtype {x.dtype}")
    return MaskedFill(value)(x, mask)


def nonzero(input, as_tuple=False):
    """The indices of the nonzero elements, as ``torch.nonzero``: an int64 (n, ndim) tensor, or with
    ``as_tuple`` one int64 (n,) tensor per dimension. Outside the graph."""
    x = as_input("nonzero", "input", input)
    xp = get_array_module(x.data)
    found = xp.nonzero(x.data.reshape(1) if x.ndim == 0 else x.data)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(xp.int64, copy=False)) for i in found)
    return Tensor._wrap(xp.stack(found, axis=1).astype(xp.int64, copy=False)) if found else \
        Tensor._wrap(xp.zeros((0, 0), dtype=xp.int64))


_NOT_GIVEN = object()


def where(condition, input=_NOT_GIVEN, other=_NOT_GIVEN):
    """``input`` where ``condition`` (bool) is True, ``other`` elsewhere, all broadcast together, as
    ``torch.where``; input and other are tensors or numbers, promoted to one dtype. Both get gradients.
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``, as in PyTorch."""
    if input is _NOT_GIVEN and other is _NOT_GIVEN:
        return nonzero(condition, as_tuple=True)
    if input is _NOT_GIVEN or other is _NOT_GIVEN:
        raise TypeError("where: give both input and other (where(condition, input, other)), or neither "
                        "(where(condition): the indices where it is True)")
    cond = as_input("where", "condition", condition)
    if cond.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}; e.g. where(x > 0, x, 0)")
    for name, v in (("input", input), ("other", other)):
        if v is None or isinstance(v, (str, dict)):
            raise TypeError(f"where: {name} must be a Tensor or a number, got {v!r:.40}")
    if not any(isinstance(v, Tensor) or hasattr(v, "ndim") for v in (input, other)):  # two numbers
        xp, dtype = get_array_module(cond.data), result_dtype(input, other)
        input, other = (Tensor._wrap(xp.asarray(v, dtype=dtype)) for v in (input, other))
    x, z = promote("where", input, other)
    return Where()(cond, x, z)


def _order(op, x, axis, descending, stable=True):
    """Indices (int64) that sort ``x`` along ``axis``; descending keeps ties in their original order."""
    xp = get_array_module(x)
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable").astype(xp.int64, copy=False)
    # A stable ascending sort of the reversed array orders ties by original index descending; reversing
    # that result gives descending values with ties in their original order (and NaN first, as PyTorch).
    n = x.shape[axis]
    flipped = xp.flip(x, axis=axis)
    order = (n - 1) - xp.argsort(flipped, axis=axis, kind="stable")
    return xp.flip(order, axis=axis).astype(xp.int64, copy=False)


def _sorting_input(op, input, dim, flags):
    x = as_input(op, "input", input)
    for name, v in flags.items():
        flag_arg(v, name, op)
    axis = check_dim(op, dim, x.ndim)
    return x, axis


def sort(input, dim=-1, descending=False, *, stable=False):
    """(values, indices) of ``input`` sorted along ``dim``, as ``torch.sort`` (the sort is always stable:
    equal elements keep their order). Gradient through values: g put back at the indices."""
    x, axis = _sorting_input("sort", input, dim, {"descending": descending, "stable": stable})
    if x.ndim == 0:
        return SortResult(Clone()(x), Tensor._wrap(get_array_module(x.data).zeros((), dtype="int64")))
    indices = Tensor._wrap(_order("sort", x.data, axis, descending))
    return SortResult(Gather(axis)(x, indices), indices)


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (int64), as ``torch.argsort``."""
    x, axis = _sorting_input("argsort", input, dim, {"descending": descending, "stable": stable})
    if x.ndim == 0:
        return Tensor._wrap(get_array_module(x.data).zeros((), dtype="int64"))
    return Tensor._wrap(_order("argsort", x.data, axis, descending))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (``largest=False``: smallest) elements along ``dim``, as
    ``torch.topk``; always in sorted order (allowed for sorted=False too). Gradient through values."""
    x, axis = _sorting_input("topk", input, dim, {"largest": largest, "sorted": sorted})
    if not is_int(k):
        raise TypeError(f"topk: k must be an int, got {k!r}")
    n = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for dimension {dim} of size {n} (shape {x.shape}); "
                         f"k must be in 0..{n}")
    if x.ndim == 0:
        return TopkResult(Clone()(x), Tensor._wrap(get_array_module(x.data).zeros((), dtype="int64")))
    order = _order("topk", x.data, axis, largest)
    indices = Tensor._wrap(order[tuple(slice(0, k) if i == axis else slice(None) for i in range(x.ndim))])
    return TopkResult(Gather(axis)(x, indices), indices)
