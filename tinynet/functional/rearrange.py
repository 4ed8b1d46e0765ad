"""Ops that reorder or cut a tensor along its dimensions: flip, roll, narrow, unbind, movedim, swapaxes.

Each backward undoes the rearrangement on the gradient:

    Flip(dims):          y = x reversed along dims            dx = g reversed along the same dims
    Roll(shifts, dims):  y[i] = x[i - shift] (cyclically)      dx = g rolled by -shift
    narrow, unbind       slices (tinynet/functional/shape.py's GetItem): a view, dx = g put back in place
    movedim, swapaxes    permutations (Transpose): a view, dx = g permuted back

flip and roll copy, as PyTorch's do; the others are views of the input, as PyTorch's are.
"""
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import as_input, check_dim
from tinynet.functional.shape import Transpose, getitem, transpose
from tinynet.validate import is_int

__all__ = ["flip", "roll", "narrow", "unbind", "movedim", "swapaxes", "swapdims"]


def _dims(op, dims, ndim):
    """``dims`` (an int or a sequence of ints) as distinct non-negative axes."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    axes = tuple(check_dim(op, d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dims {dims} name a dimension more than once")
    return axes


class Flip(Function):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return get_array_module(x).flip(x, axis=self.axes).copy()

    def backward(self, g):
        return get_array_module(g).flip(g, axis=self.axes)


class Roll(Function):
    def __init__(self, shifts, axes):
        self.shifts, self.axes = shifts, axes

    def forward(self, x):
        return get_array_module(x).roll(x, self.shifts, axis=self.axes)

    def backward(self, g):
        return get_array_module(g).roll(g, tuple(-s for s in self.shifts) if self.axes is not None
                                        else -self.shifts, axis=self.axes)


def flip(input, dims):
    """``input`` reversed along ``dims`` (an int or a tuple), as ``torch.flip`` (a copy)."""
    x = as_input("flip", "input", input)
    return Flip(_dims("flip", dims, x.ndim))(x)


def roll(input, shifts, dims=None):
    """Elements shifted cyclically by ``shifts`` along ``dims`` (without dims: the flattened tensor, then
    its shape back), as ``torch.roll``."""
    x = as_input("roll", "input", input)
    if dims is None:
        if not is_int(shifts):
            raise TypeError(f"roll: without dims, shifts must be one int, got {shifts!r}")
        return Roll(int(shifts), None)(x)
    axes = _dims("roll", dims, x.ndim)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    if len(shifts) != len(axes) or not all(is_int(s) for s in shifts):
        raise ValueError(f"roll: shifts {shifts!r} and dims {dims!r} must be ints, as many of each")
    return Roll(tuple(int(s) for s in shifts), axes)(x)


def narrow(input, dim, start, length):
    """``input[..., start:start + length, ...]`` along ``dim``: a view, as ``torch.narrow``."""
    x = as_input("narrow", "input", input)
    axis = check_dim("narrow", dim, x.ndim)
    n = x.shape[axis] if x.ndim else 1
    if not (is_int(start) and is_int(length)):
        raise TypeError(f"narrow: start and length must be ints, got {start!r} and {length!r}")
    start = int(start) + (n if start < 0 else 0)
    if not (0 <= start <= n and 0 <= length <= n - start):
        raise IndexError(f"narrow: start {start} and length {length} go past dimension {dim} of size {n}")
    return getitem(x, (slice(None),) * axis + (slice(start, start + int(length)),))


def unbind(input, dim=0):
    """The slices along ``dim``, that dimension removed: a tuple of views, as ``torch.unbind``."""
    x = as_input("unbind", "input", input)
    axis = check_dim("unbind", dim, x.ndim)
    if x.ndim == 0:
        raise IndexError("unbind: a 0-d tensor has no dimension to unbind")
    return tuple(getitem(x, (slice(None),) * axis + (i,)) for i in range(x.shape[axis]))


def movedim(input, source, destination):
    """Dimensions ``source`` moved to positions ``destination`` (ints or tuples), the others in order."""
    x = as_input("movedim", "input", input)
    src, dst = _dims("movedim", source, x.ndim), _dims("movedim", destination, x.ndim)
    if len(src) != len(dst):
        raise ValueError(f"movedim: {len(src)} source and {len(dst)} destination dimensions; give as many of each")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Transpose(order)(x)


def swapaxes(input, axis0, axis1):
    """``transpose(input, axis0, axis1)`` under NumPy's name (PyTorch has both)."""
    return transpose(input, axis0, axis1)


swapdims = swapaxes
