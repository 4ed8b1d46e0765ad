"""Elementwise arithmetic and the matrix product, with NumPy broadcasting.

For z = f(x, y) with broadcasting, dL/dx is computed at the broadcast shape and
then summed back to x's shape (``unbroadcast``).

    Add:    dx = g,           dy = g
    Sub:    dx = g,           dy = -g
    Mul:    dx = g * y,       dy = g * x
    Div:    dx = g / y,       dy = -g * x / y**2
    Pow:    y = x**p:  dx = g * p * x**(p-1)   (0 where p == 0)
                       dp = g * y * log(x)     (0 where x == 0 and p >= 0; p a tensor)
    Exp:    dx = g * exp(x)   (the output is kept, not x)
    Log:    dx = g / x
    Sqrt:   dx = g / (2 sqrt(x))  (the output is kept)
    Abs:    dx = g * sign(x)      (0 at x = 0, as PyTorch)
    Clamp:  y = min(max(x, lo), hi):  dx = g where lo <= x <= hi (both boundaries included),
            dlo = g where x < lo (and lo < hi), dhi = g where x > hi (or hi < lo): PyTorch's rule
    MatMul: Z = X @ Y:  dX = G @ Y^T,  dY = X^T @ G   (over the last two axes)

Operands are promoted to one dtype as PyTorch does (``_util.result_dtype``): an integer tensor with a
Python float is float32, ``int / int`` is float32, a float32 tensor with any Python number stays float32.
The functions take Tensors or plain arrays / numbers, so ``F.sqrt(x.data)`` works as ``torch.sqrt`` would.
"""
import numbers

import numpy as np

from kernels import blas
from tinynet.autograd import Function, _is_array
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import NUMBERS, ShapeError, as_input, promote, unbroadcast

__all__ = ["add", "sub", "mul", "div", "pow", "matmul", "exp", "log", "sqrt", "abs", "clamp", "clip", "bitwise_not"]


def _broadcasting(op_name, fn, x, y):
    """fn(x, y), turning NumPy's broadcast error into a ShapeError that names the op and both shapes."""
    try:
        return fn(x, y)
    except ValueError as e:
        try:
            np.broadcast_shapes(x.shape, y.shape)  # shapes only: was it the broadcast that failed?
        except ValueError:
            raise ShapeError(
                f"{op_name}: shapes {tuple(x.shape)} and {tuple(y.shape)} can't be broadcast together"
            ) from None
        raise ValueError(f"{op_name}: {e}") from None  # e.g. NumPy's "Integers to negative integer powers ..."


class Add(Function):
    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return _broadcasting("add", lambda a, b: a + b, x, y)

    def backward(self, g):
        return unbroadcast(g, self.x_shape), unbroadcast(g, self.y_shape)


class Sub(Function):
    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return _broadcasting("sub", lambda a, b: a - b, x, y)

    def backward(self, g):
        return unbroadcast(g, self.x_shape), unbroadcast(-g, self.y_shape)


class Mul(Function):
    def forward(self, x, y):
        # Each gradient needs the other operand only.
        self.x = x if self.needs_input_grad[1] else None
        self.y = y if self.needs_input_grad[0] else None
        self.x_shape, self.y_shape = x.shape, y.shape
        return _broadcasting("mul", lambda a, b: a * b, x, y)

    def backward(self, g):
        gx = unbroadcast(g * self.y, self.x_shape) if self.y is not None else None
        gy = unbroadcast(g * self.x, self.y_shape) if self.x is not None else None
        return gx, gy


class Div(Function):
    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        self.y = y  # both gradients need the divisor
        self.x = x if self.needs_input_grad[1] else None  # only dy needs the dividend
        return _broadcasting("div", lambda a, b: a / b, x, y)

    def backward(self, g):
        gx = unbroadcast(g / self.y, self.x_shape) if self.needs_input_grad[0] else None
        gy = unbroadcast(-g * self.x / (self.y * self.y), self.y_shape) if self.needs_input_grad[1] else None
        return gx, gy


class Neg(Function):
    def forward(self, x):
        if x.dtype.kind == "b":
            raise TypeError("neg: negating a bool tensor (the - operator) is not supported, as in PyTorch; "
                            "to invert a mask use ~mask")
        return -x

    def backward(self, g):
        return -g


class Pow(Function):
    """x ** p for a constant exponent p."""

    def __init__(self, exponent):
        self.p = exponent

    def forward(self, x):
        self.x = x
        return x ** self.p

    def backward(self, g):
        if self.p == 0:  # d(x**0)/dx = 0, also at x = 0 where p * x**(p-1) would be 0 * inf
            return get_array_module(g).zeros_like(g)
        return g * self.p * self.x ** (self.p - 1)


class PowTensor(Function):
    """x ** p elementwise for a tensor exponent p (broadcasting): gradients to both."""

    def forward(self, x, p):
        self.x_shape, self.p_shape = x.shape, p.shape
        y = _broadcasting("pow", lambda a, b: a ** b, x, p)
        self.x, self.p = x, p
        self.y = y if self.needs_input_grad[1] else None
        return y

    def backward(self, g):
        xp = get_array_module(g)
        x, p = self.x, self.p
        zero = xp.zeros((), dtype=g.dtype)
        gx = gp = None
        if self.needs_input_grad[0]:
            p_less_1 = xp.where(p == 0, xp.ones((), dtype=p.dtype), p - 1)  # p == 0: no 0 ** -1 computed
            gx = unbroadcast(xp.where(p == 0, zero, g * p * x ** p_less_1), self.x_shape)
        if self.needs_input_grad[1]:
            # log(0) = -inf would give 0 * -inf = nan; PyTorch's gradient there is 0 (for p >= 0).
            at_zero = (x == 0) & (p >= 0)
            log_x = xp.log(xp.where(at_zero, xp.ones((), dtype=x.dtype), x))
            gp = xp.where(at_zero, zero, g * self.y * log_x)
            gp = unbroadcast(gp, self.p_shape)
        return gx, gp


class Exp(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, g):
        return g * get_array_module(g).sign(self.x)  # sign(0) = 0: PyTorch's choice at the kink


class Clamp(Function):
    """min(max(x, lo), hi) elementwise, lo and hi tensors (broadcasting) or absent (None).

    Inputs: x, then lo and/or hi when given (``has_min``, ``has_max`` say which).
    """

    def __init__(self, has_min, has_max):
        self.has_min, self.has_max = has_min, has_max

    def forward(self, x, *bounds):
        xp = get_array_module(x)
        bounds = list(bounds)
        lo = bounds.pop(0) if self.has_min else None
        hi = bounds.pop(0) if self.has_max else None
        self.x, self.lo, self.hi = x, lo, hi
        self.shapes = [x.shape] + [b.shape for b in (lo, hi) if b is not None]
        y = x
        if lo is not None:
            y = _broadcasting("clamp", xp.maximum, y, lo)
        if hi is not None:
            y = _broadcasting("clamp", xp.minimum, y, hi)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        x, lo, hi = self.x, self.lo, self.hi
        zero = xp.zeros((), dtype=g.dtype)
        if lo is not None and hi is not None:
            masks = [(x >= lo) & (x <= hi), (x < lo) & (lo < hi), (x > hi) | (hi < lo)]
        elif lo is not None:
            masks = [x >= lo, x < lo]
        else:
            masks = [x <= hi, x > hi]
        return tuple(unbroadcast(xp.where(m, g, zero), shape) if needed else None  # a number bound: no gradient
                     for m, shape, needed in zip(masks, self.shapes, self.needs_input_grad))


class MatMul(Function):
    """Matrix product with NumPy's rules (1-D operands, batched leading axes)."""

    def forward(self, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes {x.shape} and {y.shape}")
        k_x, k_y = x.shape[-1], (y.shape[0] if y.ndim == 1 else y.shape[-2])
        if k_x != k_y:
            raise ShapeError(
                f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} don't match: {k_x} columns on the left, "
                f"{k_y} rows on the right"
            )
        # dX needs Y and dY needs X: keep each only if the other input wants a gradient.
        self.x = x if self.needs_input_grad[1] else None
        self.y = y if self.needs_input_grad[0] else None
        self.x_shape, self.y_shape = x.shape, y.shape
        return _broadcasting("matmul", blas.matmul, x, y)  # a @ b; split over our threads on the host (kernels/blas.py)

    def backward(self, g):
        x_shape, y_shape = self.x_shape, self.y_shape
        # matmul reads a 1-D left operand as a row (1, n) and a 1-D right operand as a
        # column (n, 1), then drops those axes from the result: put them back on g.
        x2_shape = (1,) + x_shape if len(x_shape) == 1 else x_shape
        y2_shape = y_shape + (1,) if len(y_shape) == 1 else y_shape
        g2 = g
        if len(y_shape) == 1:
            g2 = g2[..., None]
        if len(x_shape) == 1:
            g2 = g2[..., None, :]
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = unbroadcast(blas.matmul(g2, self.y.reshape(y2_shape).swapaxes(-1, -2)), x2_shape).reshape(x_shape)
        if self.needs_input_grad[1]:
            gy = unbroadcast(blas.matmul(self.x.reshape(x2_shape).swapaxes(-1, -2), g2), y2_shape).reshape(y_shape)
        return gx, gy


def add(input, other):
    """``input + other`` elementwise with broadcasting (either may be a Tensor, an array or a number)."""
    input, other = _operands("+", input, other)
    return Add()(input, other)


def sub(input, other):
    input, other = _operands("-", input, other)
    if input.dtype.kind == "b":  # both bool (anything else would have promoted)
        raise TypeError("sub: subtracting bool tensors (the - operator) is not supported, as in PyTorch; to "
                        "invert a mask use ~mask, for a difference convert first with .int() or .float()")
    return Sub()(input, other)


def mul(input, other):
    input, other = _operands("*", input, other)
    return Mul()(input, other)


def div(input, other):
    """True division: an integer result is float32 (PyTorch's ``int / int``)."""
    input, other = _operands("/", input, other, floating=True)
    return Div()(input, other)


def pow(input, exponent):
    """``input ** exponent``: a number, or a tensor (then the exponent gets a gradient too); either side
    may be a plain number (``2 ** t`` is ``pow(2, t)``)."""
    if isinstance(exponent, NUMBERS) and not isinstance(exponent, numbers.Number):
        exponent = exponent.item()  # a NumPy scalar
    if isinstance(exponent, numbers.Number) and not isinstance(input, NUMBERS):
        if isinstance(exponent, complex):
            raise TypeError("pow: a complex exponent is not supported")
        input = promote("pow", as_input("pow", "input", input), exponent)[0]
        if input.dtype.kind in "biu" and exponent < 0:
            raise ValueError(f"pow: an integer tensor to a negative integer power ({exponent}) is not allowed, as in "
                             "PyTorch; convert it with .float() first")
        return Pow(exponent)(input)
    input, exponent = _operands("**", input, exponent)
    return PowTensor()(input, exponent)


def matmul(input, other):
    """The matrix product with NumPy's / PyTorch's rules (1-D operands, batched leading axes)."""
    input, other = _operands("@", input, other)
    return MatMul()(input, other)


def exp(input):
    """e ** x elementwise (integer inputs become float32, as in PyTorch)."""
    return Exp()(_floating("exp", input))


def log(input):
    """The natural logarithm elementwise (log(0) = -inf, log of a negative number nan, as in PyTorch)."""
    return Log()(_floating("log", input))


def sqrt(input):
    """The square root elementwise; its gradient 1 / (2 sqrt(x)) is inf at 0."""
    return Sqrt()(_floating("sqrt", input))


def abs(input):
    """|x| elementwise; the gradient is sign(x), 0 at x = 0."""
    return Abs()(as_input("abs", "input", input))


def clamp(input, min=None, max=None):
    """Each element limited to [min, max], as ``torch.clamp``; ``min`` and ``max`` are numbers or tensors
    (broadcasting), one of them may be None. With min > max every element is max.

    The gradient passes where min <= x <= max (a value exactly at a bound keeps its gradient); a tensor
    bound gets the gradient of the elements it clipped.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given (not None)")
    input = as_input("clamp", "input", input)
    for name, bound in (("min", min), ("max", max)):
        if isinstance(bound, (bool, np.bool_)) or not (bound is None or isinstance(bound, NUMBERS + (Tensor,))
                                                       or _is_array(bound)):
            raise TypeError(f"clamp: {name} must be a number, a Tensor or None, got {bound!r:.60}")
    x, lo, hi = promote("clamp", input, min, max)
    return Clamp(lo is not None, hi is not None)(x, *[b for b in (lo, hi) if b is not None])


clip = clamp


def bitwise_not(input):
    """~x: logical not of a bool tensor, bitwise not of an integer one, as ``torch.bitwise_not`` (no
    gradient: the result is not floating point)."""
    x = as_input("bitwise_not", "input", input)
    if x.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not (~): input must be bool or integer, got dtype {x.dtype}")
    return Tensor._wrap(~x.data)


def _floating(op, x):
    """``x`` as a Tensor; an integer or bool one converted to float32 (PyTorch's rule for exp, log, sqrt)."""
    x = as_input(op, "input", x)
    return x if x.dtype.kind in "fc" else x.to(np.float32)


def _operands(op, x, y, floating=False):
    """(x, y) as Tensors of PyTorch's result dtype; each may be a Tensor, a number or an array of numbers.

    Anything else (a str, None, a dict) is refused as Python refuses ``1 + "a"``, naming ``op``
    (the operator's symbol, e.g. "+") and what was given.
    """
    # The common cases first: two tensors of one dtype, a float tensor with a Python number (its dtype).
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            if x.dtype == y.dtype and (not floating or x.dtype.kind in "fc"):
                return x, y
        elif type(y) in (int, float) and x.dtype.kind == "f":
            return x, Tensor._wrap(get_array_module(x.data).asarray(y, dtype=x.dtype))
    elif type(x) in (int, float) and isinstance(y, Tensor) and y.dtype.kind == "f":
        return Tensor._wrap(get_array_module(y.data).asarray(x, dtype=y.dtype)), y
    try:
        if x is None or y is None:
            raise TypeError("None is not a number")
        return promote(op, x, y, floating=floating)
    except TypeError as e:
        raise TypeError(
            f"unsupported operand type(s) for {op}: {type(x).__name__!r} and {type(y).__name__!r} ({e})"
        ) from None
