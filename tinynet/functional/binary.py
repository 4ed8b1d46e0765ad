"""More elementwise binary ops, with broadcasting and PyTorch's promotion: maximum, minimum, remainder
(Python's ``%``) and floor_divide (``//``).

    Maximum:   z = max(x, y):  dx = g where x > y, dy = g where y > x; a tie sends g / 2 to each
    Minimum:   the same with <
    Remainder: z = x - floor(x / y) * y  (the sign of y, as Python's and PyTorch's %):
               dx = g,  dy = -g * floor(x / y)
    floor_divide: floor(x / y), a step function: no gradient (PyTorch's is not differentiable either;
               the result is outside the graph)

A tie in maximum / minimum splits the gradient evenly, as PyTorch's does (and as ``max()`` splits a tie
among the tied elements, docs/tensor_ops.md). A NaN in either input is the result, as NumPy's
maximum and PyTorch's keep it.
"""
from tinynet.autograd import Function
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import unbroadcast
from tinynet.functional.arithmetic import _broadcasting, _operands

__all__ = ["maximum", "minimum", "remainder", "floor_divide"]


class _Extremum(Function):
    """z = max(x, y) (``pick`` = "maximum") or min(x, y): g to the larger (smaller), halved at a tie."""

    pick = None

    def forward(self, x, y):
        xp = get_array_module(x)
        z = _broadcasting(self.pick, getattr(xp, self.pick), x, y)
        if any(self.needs_input_grad):
            # Where each input is the result: 1 for the winner, 0.5 each at a tie, 0 for the other.
            self.share_x = (x == z).astype(z.dtype) - (x == y).astype(z.dtype) * z.dtype.type(0.5)
            self.x_shape, self.y_shape = x.shape, y.shape
        return z

    def backward(self, g):
        xp = get_array_module(g)
        share_x = xp.broadcast_to(self.share_x, g.shape)
        gx = unbroadcast(g * share_x, self.x_shape) if self.needs_input_grad[0] else None
        gy = unbroadcast(g * (1 - share_x), self.y_shape) if self.needs_input_grad[1] else None
        return gx, gy


class Maximum(_Extremum):
    pick = "maximum"


class Minimum(_Extremum):
    pick = "minimum"


class Remainder(Function):
    """z = x - floor(x / y) * y:  dx = g,  dy = -g * floor(x / y)."""

    def forward(self, x, y):
        xp = get_array_module(x)
        self.x_shape, self.y_shape = x.shape, y.shape
        if self.needs_input_grad[1]:
            self.quotient = _broadcasting("remainder", lambda a, b: xp.floor_divide(a, b), x, y)
        return _broadcasting("remainder", lambda a, b: xp.remainder(a, b), x, y)

    def backward(self, g):
        gx = unbroadcast(g, self.x_shape) if self.needs_input_grad[0] else None
        gy = unbroadcast(-g * self.quotient, self.y_shape) if self.needs_input_grad[1] else None
        return gx, gy


def maximum(input, other):
    """The elementwise maximum of two tensors (or a tensor and a number), as ``torch.maximum``."""
    return Maximum()(*_operands("maximum", input, other))


def minimum(input, other):
    """The elementwise minimum, as ``torch.minimum``."""
    return Minimum()(*_operands("minimum", input, other))


def remainder(input, other):
    """``input % other`` with the sign of ``other`` (Python's and PyTorch's rule)."""
    x, y = _operands("%", input, other)
    _no_integer_zero("remainder", y)
    return Remainder()(x, y)


def floor_divide(input, other):
    """``input // other``: floor(input / other) elementwise, outside the graph (no gradient)."""
    x, y = _operands("//", input, other)
    _no_integer_zero("floor_divide", y)
    xp = get_array_module(x.data)
    return Tensor._wrap(_broadcasting("floor_divide", lambda a, b: xp.floor_divide(a, b), x.data, y.data))


def _no_integer_zero(op, y):
    """Integer division by zero: PyTorch raises ZeroDivisionError; NumPy would warn and give 0."""
    if y.dtype.kind in "biu" and bool((y.data == 0).any()):
        raise ZeroDivisionError(f"{op}: integer division by zero")
