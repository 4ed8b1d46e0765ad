"""Joining tensors and splitting one: cat, stack, split, chunk, with PyTorch's sizes and errors.

cat and split are each other's adjoints. cat puts the inputs side by side along ``dim``, so the
gradient of input k is the slice of g that input k filled; split cuts x into slices along ``dim``,
so the gradient of x is the slices' gradients put back side by side (a cat):

    Cat:   y = [x_0 | x_1 | ...] along d       dx_k = g[..., o_k : o_k + n_k, ...]   (o_k = n_0 + ... + n_{k-1})
    Stack: y[..., k, ...] = x_k (a new axis d)  dx_k = g[..., k, ...]
    Split: y_k = x[..., o_k : o_k + n_k, ...]   dx = [g_0 | g_1 | ...] along d  (an unused piece: zeros)
"""
import math

from tinynet.autograd import Function
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, as_input, check_dim, promote
from tinynet.validate import is_int

__all__ = ["cat", "concat", "stack", "split", "chunk"]


class Cat(Function):
    """The inputs joined along ``axis`` (already normalised; shapes checked by ``cat``)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, g):
        xp = get_array_module(g)
        cuts = [sum(self.sizes[:k + 1]) for k in range(len(self.sizes) - 1)]
        return tuple(xp.split(g, cuts, axis=self.axis))


class Stack(Function):
    """The inputs (one shape) stacked along a new axis ``axis``."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, g):
        xp = get_array_module(g)
        return tuple(xp.take(g, k, axis=self.axis) for k in range(g.shape[self.axis]))


class Split(Function):
    """x cut along ``axis`` into pieces of ``sizes`` (summing to x.shape[axis]): one output per piece."""

    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, x):
        cuts = [sum(self.sizes[:k + 1]) for k in range(len(self.sizes) - 1)]
        return tuple(get_array_module(x).split(x, cuts, axis=self.axis))

    def backward(self, *gs):  # the engine passes zeros for a piece that was not used
        return get_array_module(*gs).concatenate(gs, axis=self.axis)


def _tensor_list(op, tensors):
    """``tensors`` (a list or tuple of Tensors or arrays) as a list of Tensors; a Tensor, a number or an
    empty list is refused as PyTorch refuses it."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: tensors must be a list or tuple of Tensors, got a {type(tensors).__name__}; "
                        f"write {op}([a, b], dim)")
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty list of Tensors")
    return [as_input(op, f"tensors[{k}]", x) for k, x in enumerate(tensors)]


def cat(tensors, dim=0):
    """The tensors joined along ``dim``, as ``torch.cat``: every size but ``dim``'s must match; the dtypes
    are promoted as arithmetic's (PyTorch's rule). Gradient: each input gets its slice of g."""
    xs = _tensor_list("cat", tensors)
    ndim = xs[0].ndim
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensors can't be concatenated; use stack, or reshape them to (1,)")
    axis = check_dim("cat", dim, ndim)
    for k, x in enumerate(xs):
        if x.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if i != axis):
            raise ShapeError(
                f"cat: tensors[{k}] has shape {x.shape}, tensors[0] has shape {xs[0].shape}; all sizes must "
                f"match except along dim {dim}"
            )
    return Cat(axis)(*promote("cat", *xs))


concat = cat


def stack(tensors, dim=0):
    """The tensors (all of one shape) stacked along a new dimension ``dim`` (0 .. ndim), as
    ``torch.stack``. Gradient: input k gets g's slice k along ``dim``."""
    xs = _tensor_list("stack", tensors)
    for k, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise ShapeError(f"stack: tensors[{k}] has shape {x.shape}, tensors[0] has shape {xs[0].shape}; "
                             "stack expects each tensor to be of equal size")
    axis = check_dim("stack", dim, xs[0].ndim + 1)
    return Stack(axis)(*promote("stack", *xs))


def split(tensor, split_size_or_sections, dim=0):
    """``tensor`` cut along ``dim``, as ``torch.split``: an int gives pieces of that size (the last one
    smaller if it doesn't divide), a list gives pieces of those sizes (which must add up to the size of
    ``dim``). A tuple of Tensors; the gradient of ``tensor`` is the pieces' gradients joined back (cat)."""
    x = as_input("split", "tensor", tensor)
    if x.ndim == 0:
        raise ShapeError("split: a 0-d tensor has no dimension to split")
    axis = check_dim("split", dim, x.ndim)
    n = x.shape[axis]
    s = split_size_or_sections
    if is_int(s):
        if s <= 0 and not (s == 0 and n == 0):
            raise ValueError(f"split: split_size must be a positive int, got {s}")
        sizes = [s] * (n // s) + ([n % s] if n % s else []) if s else [0]
    elif isinstance(s, (list, tuple)):
        if not all(is_int(k) and k >= 0 for k in s):
            raise ValueError(f"split: split sizes must be ints >= 0, got {s!r}")
        if sum(s) != n:
            raise ValueError(f"split: split sizes {list(s)} add up to {sum(s)}, but dim {dim} has size {n} "
                             f"(shape {x.shape})")
        sizes = [int(k) for k in s]
    else:
        raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, got {s!r}")
    pieces = Split(sizes, axis)(x)
    return pieces if isinstance(pieces, tuple) else (pieces,)


def chunk(input, chunks, dim=0):
    """``input`` cut into at most ``chunks`` pieces along ``dim``, as ``torch.chunk``: each of size
    ceil(n / chunks), the last smaller, so there may be fewer than ``chunks`` (6 in 4 chunks: 2, 2, 2)."""
    x = as_input("chunk", "input", input)
    if not is_int(chunks):
        raise TypeError(f"chunk: chunks must be an int, got {chunks!r}")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks}")
    if x.ndim == 0:
        raise ShapeError("chunk: a 0-d tensor has no dimension to split")
    n = x.shape[check_dim("chunk", dim, x.ndim)]
    if n == 0:  # PyTorch: ``chunks`` empty pieces
        return split(x, [0] * chunks, dim)
    return split(x, math.ceil(n / chunks), dim)
