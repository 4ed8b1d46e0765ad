"""Padding the last dimensions of a tensor: ``pad``, PyTorch's ``F.pad`` (derivations: docs/padding.md).

``pad`` lists (before, after) pairs from the last dimension backwards, PyTorch's order:
(left, right) pads W; (left, right, top, bottom) pads W and H. With a pad of 4:

    x (..., H, W)  ->  y (..., top + H + bottom, left + W + right)

What goes into the new cells, shown on one row [a b c d] padded by 2 on each side:

    constant   v v | a b c d | v v     ``value`` (default 0); a negative pad crops instead
    reflect    c b | a b c d | c b     mirrored about the edge cell, which is not repeated
    replicate  a a | a b c d | d d     the edge cell, repeated
    circular   c d | a b c d | a b     the cells at the other end, as if the row were a ring

Forward. The output is one buffer; the input is copied into its interior. In constant mode the
rest is ``value``. In the other three modes each border is a copy of cells already in the buffer,
made one padded dimension at a time (the last first): a border of dimension d is one slice
assignment, across everything padded so far, so the corners come out as the border of a border
(reflect of reflect, ...), which is what PyTorch computes. The copies, along one dimension of n
input cells with a cells before them (buffer indices a..a+n-1 hold the input) and b after:

    reflect    y[0:a]         = flip(y[a+1 : 2a+1])         y[a+n : a+n+b] = flip(y[a+n-1-b : a+n-1])
    replicate  y[0:a]         = y[a] (broadcast)            y[a+n : a+n+b] = y[a+n-1] (broadcast)
    circular   y[0:a]         = y[n : n+a]                  y[a+n : a+n+b] = y[a : a+b]

Backward. Each copy is linear, and its adjoint adds the copied cells' gradient back into the cells
they were copied from: g[src] += flip(g[dst]) for reflect, g[src] += sum of g[dst] along the
dimension for replicate, g[src] += g[dst] for circular. Going through the dimensions in the reverse
order of the forward (the last copy first) folds the corner cells back in two steps, as they were
made. The input's gradient is then the interior of the folded buffer. Constant mode: the new cells
hold a constant, so their gradient is dropped, dx = g[interior] (zeros where a negative pad cropped).

No loop runs over cells: at most two slice assignments per padded dimension, in NumPy or CuPy.
"""
import math
import numbers

import numpy as np

from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError
from tinynet.validate import is_int

__all__ = ["pad"]

MODES = ("constant", "reflect", "replicate", "circular")


def pad_args(pad, mode, value, where="pad"):
    """Check ``pad`` (a tuple or list of ints, an even number of them), ``mode`` (one of MODES) and
    ``value`` (None or a real number, only for mode 'constant'): (pad as a tuple of ints, mode, value)."""
    if not isinstance(mode, str):
        raise TypeError(f"{where}: mode must be one of {_listed(MODES)}, got {mode!r}")
    if mode not in MODES:
        raise ValueError(f"{where}: mode must be one of {_listed(MODES)}, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(is_int(p) for p in pad):
        raise TypeError(f"{where}: pad must be a tuple of ints (left, right, top, bottom, ...), got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError(f"{where}: pad must hold pairs (before, after), one per padded dimension, "
                         f"got {len(pad)} values {pad}")
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{where}: value must be a real number or None, got {value!r}")
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"{where}: mode {mode!r} copies input cells and takes no value, got value={value!r}")
        if min(pad, default=0) < 0:
            raise ValueError(f"{where}: mode {mode!r} takes pads >= 0 (only mode 'constant' crops with a "
                             f"negative pad), got {pad}")
    return pad, mode, 0 if value is None else value


def _listed(names):
    return ", ".join(repr(n) for n in names)


def _pairs(pad):
    """(axis, before, after) per padded dimension, the last dimension first (axis counted from the end)."""
    return [(-1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]


def _fill_value(value, dtype):
    """``value`` for an array of ``dtype``: an integer array takes a finite value in its range (truncated
    toward 0, as PyTorch converts it), a bool array any number (nonzero is True); else a ValueError."""
    if dtype.kind == "f" or dtype.kind == "b":
        return value
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not math.isfinite(value) or not info.min <= math.trunc(value) <= info.max:
            raise ValueError(f"pad: value {value!r} does not fit the input's dtype {dtype} "
                             f"({info.min} .. {info.max})")
        return math.trunc(value)
    return value


class ConstantPad(Function):
    """y = ``value`` everywhere, with x copied in at offset ``before`` on each padded dimension; a
    negative pad drops that many cells of x. Backward: dx = the gradient of the copied cells."""

    def __init__(self, pad, value=0):
        self.pad, self.value = pad, value

    def forward(self, x):
        if len(self.pad) // 2 > x.ndim:
            raise ShapeError(f"pad: pad {self.pad} pads {len(self.pad) // 2} dimensions, but the input has "
                             f"{x.ndim} (shape {tuple(x.shape)})")
        xp = get_array_module(x)
        out_shape = list(x.shape)
        src, dst = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for axis, before, after in _pairs(self.pad):
            n = x.shape[axis]
            size = n + before + after
            if size < 0:
                raise ShapeError(f"pad: padding ({before}, {after}) of dimension {x.ndim + axis} (size {n}) "
                                 f"leaves a negative size {size} (input shape {tuple(x.shape)})")
            out_shape[axis] = size
            lo, hi = max(-before, 0), n - max(-after, 0)  # the cells of x that are kept
            if hi < lo:
                raise ShapeError(f"pad: padding ({before}, {after}) of dimension {x.ndim + axis} crops "
                                 f"{lo + n - hi} cells of its {n} (input shape {tuple(x.shape)})")
            src[axis] = slice(lo, max(hi, lo))
            dst[axis] = slice(max(before, 0), max(before, 0) + max(hi - lo, 0))
        self.x_shape, self.src, self.dst = x.shape, tuple(src), tuple(dst)
        y = xp.full(out_shape, _fill_value(self.value, x.dtype), dtype=x.dtype)
        y[self.dst] = x[self.src]
        return y

    def backward(self, g):
        xp = get_array_module(g)
        if min(self.pad, default=0) >= 0:  # nothing cropped: dx is the interior
            return xp.ascontiguousarray(g[self.dst])
        gx = xp.zeros(self.x_shape, dtype=g.dtype)
        gx[self.src] = g[self.dst]
        return gx


class _CopyPad(Function):
    """The three modes whose borders copy input cells; a subclass says which cells (``borders``)."""

    mode = None

    def __init__(self, pad):
        self.pad = pad

    @staticmethod
    def borders(n, before, after):
        """[(dst, src, how)] along one dimension of ``n`` input cells in a buffer padded by
        ``before`` and ``after``: y[dst] = how(y[src]), ``how`` one of "copy", "flip", "edge"."""
        raise NotImplementedError

    def _check(self, x):
        k = len(self.pad) // 2
        if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
            raise ShapeError(
                f"pad: mode {self.mode!r} pads the last 1, 2 or 3 dimensions of an input with 1 or 2 more "
                f"(pad of 2: 2-D or 3-D input; 4: 3-D or 4-D; 6: 4-D or 5-D), got a pad of {len(self.pad)} "
                f"for a {x.ndim}-D input of shape {tuple(x.shape)}"
            )
        for axis, before, after in _pairs(self.pad):
            self._check_size(x, axis, before, after)

    def _check_size(self, x, axis, before, after):
        pass

    def _size_error(self, x, axis, before, after, rule):
        return ShapeError(f"pad: {self.mode} padding {rule}, got padding ({before}, {after}) for dimension "
                          f"{x.ndim + axis} of size {x.shape[axis]} (input shape {tuple(x.shape)})")

    def _steps(self, shape):
        """Per padded dimension, in forward order: (region of the buffer the copies act on, axis, borders).
        The region spans in full the dimensions padded before this one and only the input's cells of
        those still to pad (their borders hold nothing yet)."""
        ndim = len(shape)
        region = [slice(None)] * ndim
        for axis, before, after in _pairs(self.pad):
            region[axis] = slice(before, before + shape[axis])
        steps = []
        for axis, before, after in _pairs(self.pad):
            region[axis] = slice(None)
            steps.append((tuple(region), axis % ndim, self.borders(shape[axis], before, after)))
        return steps

    def forward(self, x):
        self._check(x)
        xp = get_array_module(x)
        out_shape = list(x.shape)
        interior = [slice(None)] * x.ndim
        for axis, before, after in _pairs(self.pad):
            out_shape[axis] += before + after
            interior[axis] = slice(before, before + x.shape[axis])
        y = xp.empty(out_shape, dtype=x.dtype)
        y[tuple(interior)] = x
        for region, axis, borders in self._steps(x.shape):
            for dst, src, how in borders:
                cells = y[_at(region, axis, src)]
                y[_at(region, axis, dst)] = xp.flip(cells, axis=axis) if how == "flip" else cells
        self.x_shape, self.interior = x.shape, tuple(interior)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        g = g.copy()  # folded in place; the engine's gradient arrays are never modified
        for region, axis, borders in reversed(self._steps(self.x_shape)):
            for dst, src, how in borders:
                cells = g[_at(region, axis, dst)]
                if how == "flip":
                    cells = xp.flip(cells, axis=axis)
                elif how == "edge":
                    cells = cells.sum(axis=axis, keepdims=True)
                g[_at(region, axis, src)] += cells
        return xp.ascontiguousarray(g[self.interior])


def _at(region, axis, cells):
    """``region`` with its slice along ``axis`` replaced by ``cells``."""
    index = list(region)
    index[axis] = cells
    return tuple(index)


class ReflectPad(_CopyPad):
    """Border cells mirror the input about its edge cell: y[before - k] = x[k] for k = 1..before."""

    mode = "reflect"

    @staticmethod
    def borders(n, a, b):
        out = []
        if a:
            out.append((slice(0, a), slice(a + 1, 2 * a + 1), "flip"))
        if b:
            out.append((slice(a + n, a + n + b), slice(a + n - 1 - b, a + n - 1), "flip"))
        return out

    def _check_size(self, x, axis, before, after):
        if max(before, after) >= x.shape[axis]:
            raise self._size_error(x, axis, before, after, "must be less than the size of the dimension it pads")


class ReplicatePad(_CopyPad):
    """Border cells repeat the edge cell: y[0:before] = x[0], y[before + n:] = x[n - 1]."""

    mode = "replicate"

    @staticmethod
    def borders(n, a, b):
        out = []
        if a:
            out.append((slice(0, a), slice(a, a + 1), "edge"))
        if b:
            out.append((slice(a + n, a + n + b), slice(a + n - 1, a + n), "edge"))
        return out

    def _check_size(self, x, axis, before, after):
        if x.shape[axis] == 0 and (before or after):
            raise self._size_error(x, axis, before, after, "needs a non-empty dimension to copy")


class CircularPad(_CopyPad):
    """Border cells wrap around: y[0:before] = x[n - before:n], y[before + n:] = x[0:after]."""

    mode = "circular"

    @staticmethod
    def borders(n, a, b):
        out = []
        if a:
            out.append((slice(0, a), slice(n, n + a), "copy"))
        if b:
            out.append((slice(a + n, a + n + b), slice(a, a + b), "copy"))
        return out

    def _check_size(self, x, axis, before, after):
        if max(before, after) > x.shape[axis]:
            raise self._size_error(x, axis, before, after,
                                   "must be at most the size of the dimension it pads (it wraps around once)")


_OPS = {"reflect": ReflectPad, "replicate": ReplicatePad, "circular": CircularPad}


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions of ``input``, PyTorch's ``F.pad``.

    Args:
        input: tensor; mode 'constant' takes any number of dimensions, the others (N, C, W) or (C, W)
            for a pad of 2, (N, C, H, W) or (C, H, W) for 4, (N, C, D, H, W) or (C, D, H, W) for 6.
        pad: (left, right) for the last dimension, then (top, bottom) for the one before, ... .
        mode: 'constant', 'reflect' (each pad < the size it pads), 'replicate' or 'circular'
            (each pad <= the size it pads).
        value: the fill of mode 'constant' (None: 0).

    Returns:
        a tensor with each padded dimension grown by its before + after.
    """
    pad, mode, value = pad_args(pad, mode, value)
    op = ConstantPad(pad, value) if mode == "constant" else _OPS[mode](pad)
    return op(input)
