"""Elementwise arithmetic and the matrix product, with NumPy broadcasting.

For z = f(x, y) with broadcasting, dL/dx is computed at the broadcast shape and
then summed back to x's shape (``unbroadcast``).

    Add:    dx = g,           dy = g
    Sub:    dx = g,           dy = -g
    Mul:    dx = g * y,       dy = g * x
    Div:    dx = g / y,       dy = -g * x / y**2
    Pow:    d(x**p)/dx = p * x**(p-1)       (p a constant)
    Exp:    dx = g * exp(x)   (the output is kept, not x)
    Log:    dx = g / x
    MatMul: Z = X @ Y:  dX = G @ Y^T,  dY = X^T @ G   (over the last two axes)
"""
import numbers

from tinynet.autograd import Function
from tinynet._tensor import Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, as_tensor, unbroadcast


def _broadcasting(op_name, fn, x, y):
    """fn(x, y), turning NumPy's broadcast error into a ShapeError that names the op and both shapes."""
    try:
        return fn(x, y)
    except ValueError:
        if x.ndim and y.ndim:
            raise ShapeError(
                f"{op_name}: shapes {tuple(x.shape)} and {tuple(y.shape)} can't be broadcast together"
            ) from None
        raise


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
        return g * self.p * self.x ** (self.p - 1)


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
        return _broadcasting("matmul", lambda a, b: a @ b, x, y)

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
            gx = unbroadcast(g2 @ self.y.reshape(y2_shape).swapaxes(-1, -2), x2_shape).reshape(x_shape)
        if self.needs_input_grad[1]:
            gy = unbroadcast(self.x.reshape(x2_shape).swapaxes(-1, -2) @ g2, y2_shape).reshape(y_shape)
        return gx, gy


def add(x, y):
    x, y = _operands("+", x, y)
    return Add()(x, y)


def sub(x, y):
    x, y = _operands("-", x, y)
    return Sub()(x, y)


def mul(x, y):
    x, y = _operands("*", x, y)
    return Mul()(x, y)


def div(x, y):
    x, y = _operands("/", x, y)
    return Div()(x, y)


def pow(x, exponent):
    if not isinstance(exponent, numbers.Number):
        raise TypeError(f"pow: the exponent must be a constant number, got {type(exponent).__name__}")
    return Pow(exponent)(x)


def matmul(x, y):
    x, y = _operands("@", x, y)
    return MatMul()(x, y)


def _operands(op, x, y):
    """(x, y) as Tensors, one of which already is; the other may be a number or an array of numbers.

    Anything else (a str, None, a dict) is refused as Python refuses ``1 + "a"``, naming ``op``
    (the operator's symbol, e.g. "+") and what was given.
    """
    try:
        if isinstance(x, Tensor):
            return x, as_tensor(y, x)
        return as_tensor(x, y), y
    except TypeError as e:
        raise TypeError(
            f"unsupported operand type(s) for {op}: {type(x).__name__!r} and {type(y).__name__!r} ({e})"
        ) from None
