"""Reductions: sum, mean, max/min (and amax/amin), var/std; argmax/argmin have no gradient.

    Sum over axes A:    y = sum_A x               dx = g broadcast back over A
    Mean over axes A:   y = sum_A x / N           dx = g / N broadcast back over A      (N = |A| elements)
    Max, no dim:        y = max x                 dx = g / k at each of the k elements equal to y
    Max over dim d:     (y, i) = max, argmax      dx = g at the returned index i, 0 elsewhere
    Amax over axes A:   y = max_A x               dx = g / k at the k ties of each reduced slice
    Var over axes A:    y = sum_A (x - m)^2 / (N - c)          dx = g * 2 (x - m) / (N - c)
    Std:                s = sqrt(var)                          dx = g * (x - m) / ((N - c) s)

(m the mean over A, c the ``correction``: 1 is Bessel's, the sample variance; 0 the population one.)
The mean's own dependence on x drops out of var's gradient: sum_A (x - m) = 0.

A maximum reached by several elements (a tie) is not differentiable; PyTorch's choice, matched here, is
to split g evenly among the tied elements when the result is a value alone (max(), amax), so the
gradient is the average of the one-sided choices, and to send it all to the returned index when the
result is (values, indices): the index names one element, and the gradient follows it. min/amin alike.
"""
import builtins
import math
from collections import namedtuple

import numpy as np

from tinynet.autograd import Function
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional import _autocast
from tinynet.functional._util import as_input, check_dim, flag_arg
from tinynet.validate import check_number

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std"]

MaxResult = namedtuple("MaxResult", ["values", "indices"])  # what max(dim) returns (torch.return_types.max)
MinResult = namedtuple("MinResult", ["values", "indices"])


def _axes(op, dim, ndim):
    """Normalise ``dim`` (None, int or sequence of ints) to a sorted tuple of non-negative axes.

    A 0-d tensor has no axis to reduce: dim 0 or -1 (PyTorch accepts both) gives ().
    """
    if dim is None:
        return tuple(range(ndim))
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    axes = [check_dim(op, d, ndim) for d in dims]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim={dim!r} names a dimension more than once")
    return tuple(sorted(axes)) if ndim else ()


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape, axes):
    return math.prod(shape[a] for a in axes)


class Sum(Function):
    def __init__(self, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.x_shape = x.shape
        self.axes = _axes("sum", self.dim, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.broadcast_to(g.reshape(_kept_shape(self.x_shape, self.axes)), self.x_shape)


class Mean(Function):
    def __init__(self, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.x_shape = x.shape
        self.axes = _axes("mean", self.dim, x.ndim)
        self.count = _count(x.shape, self.axes)
        return x.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        g = g.reshape(_kept_shape(self.x_shape, self.axes)) / g.dtype.type(self.count)
        return xp.broadcast_to(g, self.x_shape)


def _ties(x, y_kept):
    """The elements of ``x`` equal to the reduced ``y_kept`` (keepdim shape); a NaN result ties with NaNs."""
    xp = get_array_module(x)
    same = x == y_kept
    if x.dtype.kind in "fc":
        same |= xp.isnan(x) & xp.isnan(y_kept)
    return same


class Extreme(Function):
    """Max (``largest``) or min over ``dim``: None (all elements, a 0-d result) or a tuple of axes
    (amax/amin), the gradient split evenly among the ties of each reduced slice.

    Keeps the tie mask (bool, x's shape) and each slice's tie count for backward, not x.
    """

    def __init__(self, largest, dim=None, keepdim=False, op=None):
        self.largest, self.dim, self.keepdim = largest, dim, keepdim
        self.op = op or ("max" if largest else "min")

    def forward(self, x):
        xp = get_array_module(x)
        self.axes = _axes(self.op, self.dim, x.ndim)
        if any(x.shape[a] == 0 for a in self.axes):
            raise ValueError(
                f"{self.op}: the reduced dimensions of a tensor of shape {tuple(x.shape)} are empty; "
                f"a {'maximum' if self.largest else 'minimum'} needs at least one element"
            )
        reduce = xp.max if self.largest else xp.min
        y = reduce(x, axis=self.axes, keepdims=True)
        self.x_shape = x.shape
        if any(self.needs_input_grad):
            self.ties = _ties(x, y)
            self.counts = self.ties.sum(axis=self.axes, keepdims=True)
        return y if self.keepdim else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    def backward(self, g):
        g = g.reshape(_kept_shape(self.x_shape, self.axes))
        return self.ties * (g / self.counts.astype(g.dtype))


class ExtremeDim(Function):
    """Max (``largest``) or min along one dimension: the values; ``self.indices`` after the call holds the
    indices (int64). The gradient goes to the index. Keeps the indices (keepdim shape) for backward. On a tie the first index wins, as NumPy's argmax.
    """

    def __init__(self, largest, dim, keepdim=False):
        self.largest, self.dim, self.keepdim = largest, dim, keepdim

    def forward(self, x):
        xp = get_array_module(x)
        op = "max" if self.largest else "min"
        self.axis = check_dim(op, self.dim, x.ndim)
        self.x_shape = x.shape
        if x.ndim == 0:  # PyTorch: the value itself, index 0
            self.idx, self.indices = None, xp.zeros((), dtype=xp.int64)
            return x.copy()
        if x.shape[self.axis] == 0:
            raise ValueError(f"{op}: dim {self.dim} of the tensor (shape {tuple(x.shape)}) is empty")
        pick = xp.argmax if self.largest else xp.argmin
        idx = pick(x, axis=self.axis, keepdims=True)
        y = xp.take_along_axis(x, idx, axis=self.axis)
        self.idx = idx
        if not self.keepdim:
            y, idx = y.squeeze(self.axis), idx.squeeze(self.axis)
        self.indices = idx.astype(xp.int64, copy=False)  # read by max(); not an output (no gradient)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        if self.idx is None:
            return g
        n = self.x_shape[self.axis]
        positions = xp.arange(n).reshape([n if i == self.axis else 1 for i in range(len(self.x_shape))])
        return xp.where(positions == self.idx, g.reshape(self.idx.shape), xp.zeros((), dtype=g.dtype))


class Var(Function):
    """Variance over ``dim`` with ``correction`` (divisor N - correction, at least 0: 0 gives inf or nan,
    as PyTorch). ``root``: the standard deviation instead. Keeps x - mean (and std's output)."""

    def __init__(self, dim=None, correction=1, keepdim=False, root=False):
        self.dim, self.correction, self.keepdim, self.root = dim, correction, keepdim, root

    def forward(self, x):
        xp = get_array_module(x)
        op = "std" if self.root else "var"
        self.axes = _axes(op, self.dim, x.ndim)
        self.x_shape = x.shape
        d = x - x.mean(axis=self.axes, keepdims=True)
        self.divisor = builtins.max(_count(x.shape, self.axes) - self.correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = (d * d).sum(axis=self.axes, keepdims=True) / x.dtype.type(self.divisor)
            if self.root:
                y = xp.sqrt(y)
        self.d = d
        self.y = y if self.root else None
        return y if self.keepdim else y.reshape([n for i, n in enumerate(y.shape) if i not in self.axes])

    def backward(self, g):
        g = g.reshape(_kept_shape(self.x_shape, self.axes))
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.root:
                return g * self.d / (g.dtype.type(self.divisor) * self.y)
            return g * 2 * self.d / g.dtype.type(self.divisor)


# --- the functions -----------------------------------------------------------------------------------------

def _keepdim(op, keepdim):
    return flag_arg(keepdim, "keepdim", op)


def sum(input, dim=None, keepdim=False):
    """The sum over ``dim`` (None: all elements; an int or a tuple of ints), as ``torch.sum``."""
    input, = _autocast.to_float32(as_input("sum", "input", input))  # inside amp.autocast: summed in float32
    return Sum(dim, _keepdim("sum", keepdim))(input)


def mean(input, dim=None, keepdim=False):
    """The mean over ``dim`` (None: all elements; an int or a tuple of ints), as ``torch.mean``."""
    input, = _autocast.to_float32(as_input("mean", "input", input))
    if input.dtype.kind not in "fc":
        raise TypeError(f"mean: input must be floating point, got dtype {input.dtype}; convert it with .float()")
    return Mean(dim, _keepdim("mean", keepdim))(input)


def _extreme(largest, input, dim, keepdim):
    op = "max" if largest else "min"
    input = as_input(op, "input", input)
    keepdim = _keepdim(op, keepdim)
    if dim is None:
        return Extreme(largest)(input)
    if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
        raise TypeError(f"{op}: dim must be an int; for the elementwise {op}imum of two tensors use "
                        f"where(a {'>=' if largest else '<='} b, a, b) or clamp")
    if isinstance(dim, (tuple, list)):
        raise ValueError(f"{op}: dim must be one int (amax/amin reduce over several), got dim={dim!r}")
    f = ExtremeDim(largest, dim, keepdim)
    values = f(input)
    return (MaxResult if largest else MinResult)(values, Tensor._wrap(f.indices))


def max(input, dim=None, keepdim=False):
    """``max(x)``: the largest element, a 0-d tensor (a tie's gradient is split evenly among the tied
    elements); ``max(x, dim)``: a named tuple (values, indices) along ``dim``, the gradient going to the
    returned index (the first maximum), as ``torch.max``."""
    return _extreme(True, input, dim, keepdim)


def min(input, dim=None, keepdim=False):
    """As ``max``, for the smallest element: ``min(x)`` a 0-d tensor, ``min(x, dim)`` (values, indices)."""
    return _extreme(False, input, dim, keepdim)


def amax(input, dim=(), keepdim=False):
    """The maximum over ``dim`` (an int or a tuple; () or None: all), values only, as ``torch.amax``:
    the gradient of each reduced slice is split evenly among its tied maxima."""
    input = as_input("amax", "input", input)
    return Extreme(True, None if dim == () else dim, _keepdim("amax", keepdim), op="amax")(input)


def amin(input, dim=(), keepdim=False):
    """The minimum over ``dim`` (an int or a tuple; () or None: all), as ``torch.amin``."""
    input = as_input("amin", "input", input)
    return Extreme(False, None if dim == () else dim, _keepdim("amin", keepdim), op="amin")(input)


def _arg(largest, x, dim, keepdim):
    op = "argmax" if largest else "argmin"
    x = as_input(op, "input", x)
    keepdim = _keepdim(op, keepdim)
    xp = get_array_module(x.data)
    pick = xp.argmax if largest else xp.argmin
    if dim is None:
        if x.data.size == 0:
            raise ValueError(f"{op} of an empty tensor (shape {x.shape})")
        idx = pick(x.data)
        return Tensor._wrap(xp.asarray(idx, dtype=xp.int64).reshape((1,) * x.ndim if keepdim else ()))
    axis = check_dim(op, dim, x.ndim)
    if x.ndim and x.shape[axis] == 0:
        raise ValueError(f"{op}: dim {dim} of the tensor (shape {x.shape}) is empty")
    data = x.data if x.ndim else x.data.reshape(1)
    idx = pick(data, axis=axis, keepdims=keepdim and x.ndim > 0)
    return Tensor._wrap(idx.astype(xp.int64, copy=False).reshape(idx.shape if x.ndim else ()))


def argmax(input, dim=None, keepdim=False):
    """The flat index of the (first) maximum; with ``dim``, the indices along it. An int64 tensor,
    outside the graph (an index has no gradient)."""
    return _arg(True, input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """The flat index of the (first) minimum; with ``dim``, the indices along it (int64, no gradient)."""
    return _arg(False, input, dim, keepdim)


def _correction(op, unbiased, correction):
    """The divisor's correction from PyTorch's two spellings: ``correction=`` (a number) or the older
    ``unbiased=`` (True: 1, False: 0); default 1."""
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: give correction= or unbiased=, not both")
    if unbiased is not None:
        return 1 if flag_arg(unbiased, "unbiased", op) else 0
    if correction is None:
        return 1
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: correction must be a number (0, 1, ...), got {correction!r}")
    return check_number(f"{op}: correction", correction)


def _var(root, input, dim, unbiased, keepdim, correction):
    op = "std" if root else "var"
    input, = _autocast.to_float32(as_input(op, "input", input))
    if isinstance(dim, (bool, np.bool_)):  # torch.var(x, True): the unbiased flag in dim's place
        dim, unbiased = None, dim
    if input.dtype.kind not in "fc":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}; convert it with .float()")
    return Var(dim, _correction(op, unbiased, correction), _keepdim(op, keepdim), root=root)(input)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The variance over ``dim`` (None: all elements), sum (x - mean)^2 / (N - correction), as
    ``torch.var``: ``correction=1`` (the default) is the sample variance, 0 the population one;
    ``unbiased=True/False`` is PyTorch's older spelling of correction 1/0."""
    return _var(False, input, dim, unbiased, keepdim, correction)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """The standard deviation sqrt(var(...)), with var's arguments, as ``torch.std``."""
    return _var(True, input, dim, unbiased, keepdim, correction)


def logical(op, x, dim=None, keepdim=False):
    """``x.all()`` / ``x.any()`` (``op``): whether every / some element (along ``dim``) is nonzero.

    A bool tensor, outside the graph (a truth value has no gradient).
    """
    axes = _axes(op, dim, x.ndim)
    return Tensor._wrap(getattr(x.data, op)(axis=axes, keepdims=keepdim))

