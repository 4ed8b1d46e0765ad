"""Reductions: sum, mean, max (and argmax, which has no gradient).

    Sum over axes A:   y = sum_A x          dx = g broadcast back over A
    Mean over axes A:  y = sum_A x / |A|    dx = g / |A| broadcast back over A
    Max over axis d:   y = x[argmax]        dx = g at the argmax, 0 elsewhere

Max sends the gradient to one element (the first maximum), as max_pool2d does.
"""
import math
from collections import namedtuple

from tinynet.autograd import Function
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import check_dim

MaxResult = namedtuple("MaxResult", ["values", "indices"])


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
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return x.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        xp = get_array_module(g)
        g = g.reshape(_kept_shape(self.x_shape, self.axes)) / g.dtype.type(self.count)
        return xp.broadcast_to(g, self.x_shape)


class Max(Function):
    """Maximum over all elements (dim=None) or along one dimension.

    Keeps only the argmax indices (and the input's shape) for backward.
    After the call, ``self.indices`` holds the argmax along ``dim``.
    """

    def __init__(self, dim=None, keepdim=False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        xp = get_array_module(x)
        self.x_shape = x.shape
        if x.size == 0:
            raise ValueError(f"max of an empty tensor (shape {x.shape})")
        if self.dim is None:
            self.indices = xp.argmax(x)
            return x.reshape(-1)[self.indices]
        if not isinstance(self.dim, int) or x.ndim == 0:
            raise ValueError(
                f"max: dim must be one int for a tensor of 1 or more dimensions, got dim={self.dim!r} "
                f"for shape {tuple(x.shape)}"
            )
        (self.axis,) = _axes("max", self.dim, x.ndim)
        idx = xp.argmax(x, axis=self.axis, keepdims=True)
        y = xp.take_along_axis(x, idx, axis=self.axis)
        self.indices = idx if self.keepdim else idx.squeeze(self.axis)
        self._idx = idx
        return y if self.keepdim else y.squeeze(self.axis)

    def backward(self, g):
        xp = get_array_module(g)
        if self.dim is None:
            gx = xp.zeros(math.prod(self.x_shape), dtype=g.dtype)
            gx[self.indices] = g
            return gx.reshape(self.x_shape)
        n = self.x_shape[self.axis]
        positions = xp.arange(n).reshape([n if i == self.axis else 1 for i in range(len(self.x_shape))])
        g = g.reshape(self._idx.shape)
        return xp.where(positions == self._idx, g, xp.zeros((), dtype=g.dtype))


def argmax(x, dim=None, keepdim=False):
    """``x.argmax()``: the flat index of the (first) maximum; with ``dim``, the indices along it.

    An integer tensor, outside the graph (an index has no gradient).
    """
    xp = get_array_module(x.data)
    if dim is None:
        if x.data.size == 0:
            raise ValueError(f"argmax of an empty tensor (shape {x.shape})")
        return Tensor._wrap(xp.asarray(xp.argmax(x.data)))
    axis = check_dim("argmax", dim, x.ndim)
    if x.ndim and x.shape[axis] == 0:
        raise ValueError(f"argmax: dim {dim} of the tensor (shape {x.shape}) is empty")
    return Tensor._wrap(xp.argmax(x.data, axis=axis, keepdims=keepdim))


def max_with_indices(x, dim=None, keepdim=False):
    """``x.max()``: a scalar tensor; ``x.max(dim)``: (values, indices) as in PyTorch."""
    f = Max(dim, keepdim)
    values = f(x)
    if dim is None:
        return values
    return MaxResult(values, Tensor._wrap(f.indices))
