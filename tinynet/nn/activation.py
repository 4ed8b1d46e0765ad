"""Activation layers (tinynet/functional/activation.py; docs/relu.md, docs/activations.md; softmax:
docs/softmax_cross_entropy.md), and Identity.

Each holds its constants, checked where it is built, and calls one function of tinynet.functional.
``inplace=True`` (ReLU, LeakyReLU, ELU) writes the result into the input tensor, as PyTorch's does.
"""
from tinynet import functional as F
from tinynet.functional.activation import finite_arg, gelu_approximate
from tinynet.functional._util import flag_arg, int_arg
from tinynet.nn.module import Module

__all__ = ["ReLU", "LeakyReLU", "ELU", "Tanh", "Sigmoid", "GELU", "Softmax", "LogSoftmax", "Identity"]


def _inplace_repr(inplace, first):
    """PyTorch's way of showing the flag: only when it is set."""
    return ("inplace=True" if first else ", inplace=True") if inplace else ""


class ReLU(Module):
    """max(x, 0) elementwise, any shape; ``inplace=True`` writes it into the input and returns that."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = flag_arg(inplace, "inplace", "ReLU")

    def forward(self, x):
        return F.relu(x, inplace=self.inplace)

    def extra_repr(self):
        return _inplace_repr(self.inplace, first=True)


class LeakyReLU(Module):
    """x where x > 0, negative_slope * x elsewhere (any finite slope, as PyTorch allows); any shape."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = finite_arg(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = flag_arg(inplace, "inplace", "LeakyReLU")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, inplace=self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_repr(self.inplace, first=False)}"


class ELU(Module):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere (any finite alpha, as PyTorch allows); any shape."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = finite_arg(alpha, "alpha", "ELU")
        self.inplace = flag_arg(inplace, "inplace", "ELU")

    def forward(self, x):
        return F.elu(x, self.alpha, inplace=self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_repr(self.inplace, first=False)}"


class Tanh(Module):
    """tanh(x) elementwise, any shape."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise, any shape."""

    def forward(self, x):
        return F.sigmoid(x)


class GELU(Module):
    """x * Phi(x) elementwise (Phi the standard normal CDF), or its tanh form with approximate='tanh'."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = gelu_approximate(approximate, "GELU")

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


def _dim_or_none(dim, where):
    return None if dim is None else int_arg(dim, "dim", where)


class Softmax(Module):
    """softmax along ``dim``; None (the default, as in PyTorch) lets F.softmax pick PyTorch's implicit
    dim, with a warning."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = _dim_or_none(dim, "Softmax")

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax along ``dim``; None as for Softmax."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = _dim_or_none(dim, "LogSoftmax")

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Identity(Module):
    """Returns its input unchanged (the same object). Any arguments are accepted and ignored, as in
    PyTorch, so it can stand in for a layer that takes some (e.g. to remove a model's head)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
