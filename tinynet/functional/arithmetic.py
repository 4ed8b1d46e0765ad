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

from tinynet.autograd import Function, Tensor
from tinynet.backend import get_array_module
from tinynet.functional._util import as_tensor, unbroadcast


class Add(Function):
    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return x + y

    def backward(self, g):
        return unbroadcast(g, self.x_shape), unbroadcast(g, self.y_shape)


class Sub(Function):
    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return x - y

    def backward(self, g):
        return unbroadcast(g, self.x_shape), unbroadcast(-g, self.y_shape)


class Mul(Function):
    def forward(self, x, y):
        # Each gradient needs the other operand only.
        self.x = x if self.needs_input_grad[1] else None
        self.y = y if self.needs_input_grad[0] else None
        self.x_shape, self.y_shape = x.shape, y.shape
        return x * y

    def backward(self, g):
        gx = unbroadcast(g * self.y, self.x_shape) if self.y is not None else None
        gy = unbroadcast(g * self.x, self.y_shape) if self.x is not None else None
        return gx, gy


class Div(Function):
    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, g):
        gx = unbroadcast(g / self.y, self.x.shape) if self.needs_input_grad[0] else None
        gy = unbroadcast(-g * self.x / (self.y * self.y), self.y.shape) if self.needs_input_grad[1] else None
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
        self.x, self.y = x, y
        return x @ y

    def backward(self, g):
        x, y = self.x, self.y
        # Promote 1-D operands to matrices as matmul does, then undo.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = g
        if y.ndim == 1:
            g2 = g2[..., None]
        if x.ndim == 1:
            g2 = g2[..., None, :]
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = g2 @ y2.swapaxes(-1, -2)
            gx = unbroadcast(gx, x2.shape).reshape(x.shape) if x.ndim > 1 else gx.reshape(-1, x.shape[0]).sum(0)
        if self.needs_input_grad[1]:
            gy = x2.swapaxes(-1, -2) @ g2
            gy = unbroadcast(gy, y2.shape).reshape(y.shape) if y.ndim > 1 else gy.reshape(-1, y.shape[0]).sum(0)
        return gx, gy


def add(x, y):
    x, y = _operands(x, y)
    return Add()(x, y)


def sub(x, y):
    x, y = _operands(x, y)
    return Sub()(x, y)


def mul(x, y):
    x, y = _operands(x, y)
    return Mul()(x, y)


def div(x, y):
    x, y = _operands(x, y)
    return Div()(x, y)


def pow(x, exponent):
    if not isinstance(exponent, numbers.Number):
        raise TypeError(f"pow: the exponent must be a constant number, got {type(exponent).__name__}")
    return Pow(exponent)(x)


def matmul(x, y):
    x, y = _operands(x, y)
    return MatMul()(x, y)


def _operands(x, y):
    if isinstance(x, Tensor):
        return x, as_tensor(y, x)
    return as_tensor(x, y), y
