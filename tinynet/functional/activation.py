"""ReLU and dropout.

ReLU:     y = max(x, 0)                 dx = g * [x > 0]
BiasReLU: y = max(x + b, 0)             dx = g * [x + b > 0],  db = dx summed over all axes but 1
          (b along axis 1; one pass instead of a bias add and a ReLU, each writing a full array)
Dropout:  y = x * m / (1 - p)           dx = g * m / (1 - p)
          with m[i] ~ Bernoulli(1 - p) drawn once per forward ("inverted"
          dropout: the scaling happens in training, so evaluation is the identity)

ReLU keeps a boolean mask (one byte per element), not its input. The gradient
at exactly x = 0 is taken as 0, and a NaN input stays NaN (so a diverging
activation is not hidden), both as in PyTorch.

The backward passes multiply by the mask, ``g * mask``, exactly the formulas
above: in NumPy that is about five times faster than ``where(mask, g, 0)``
(measured on the seed AlexNet's conv1 output). One difference from PyTorch,
which selects: an infinite or NaN upstream gradient at a masked position gives
NaN (inf * 0) instead of 0 - a gradient that is already non-finite.
"""
from kernels import dropout_forward, relu_forward, workspace
from tinynet import backend
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, check_same_dtype
from tinynet.validate import check_number

__all__ = ["relu", "bias_relu", "dropout"]


def _times_mask(g, mask):
    """g * mask for a boolean mask, written into a recycled buffer (kernels.workspace): a fresh
    array of this size costs more than the product itself on the host."""
    xp = get_array_module(g)
    return xp.multiply(g, mask, out=workspace.empty(g.shape, g.dtype, xp))


class ReLU(Function):
    def forward(self, x):
        # y = max(x, 0) (NaN stays NaN), mask = x > 0 (only when a backward will follow)
        y, self.mask = relu_forward(x, with_mask=self.needs_input_grad[0])
        return y

    def backward(self, g):
        return _times_mask(g, self.mask)  # g where x > 0, 0 elsewhere


class BiasReLU(Function):
    """relu(x + b) for x (N, C, ...) and b (C,), in one pass; keeps only the mask."""

    def forward(self, x, b):
        if x.ndim < 2 or b.shape != (x.shape[1],):
            raise ShapeError(f"bias_relu: bias must have shape (C,) = ({x.shape[1] if x.ndim > 1 else '?'},) "
                             f"for input of shape {tuple(x.shape)}, got {tuple(b.shape)}")
        check_same_dtype("bias_relu", input=x, bias=b)
        y, self.mask = relu_forward(x, b)
        return y

    def backward(self, g):
        gx = _times_mask(g, self.mask)
        gb = gx.sum(axis=(0,) + tuple(range(2, gx.ndim))) if self.needs_input_grad[1] else None
        return gx, gb


def dropout_p(p, where="dropout"):
    """``p`` as a float if it is a probability (a finite number from 0 to 1), else the error naming
    ``where`` (nn.Dropout calls this too)."""
    return float(check_number(f"{where}: p", p, low=0, high=1))


class Dropout(Function):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The mask comes from tinynet's generator for the input's device, so
    ``tinynet.manual_seed(s)`` makes it reproducible. Only the boolean mask is kept.
    """

    def __init__(self, p=0.5):
        self.p = dropout_p(p)

    def forward(self, x):
        xp = get_array_module(x)
        if self.p == 1.0:
            self.mask, self.scale = xp.zeros(x.shape, dtype=bool), 0.0
            return xp.zeros_like(x)
        u = backend.random_uniform(x.shape, x.dtype, x)
        y, self.mask = dropout_forward(x, u, self.p)  # mask = u >= p, y = x / (1 - p) where kept
        self.scale = x.dtype.type(1.0 / (1.0 - self.p))
        return y

    def backward(self, g):
        gx = _times_mask(g, self.mask)  # g where kept, 0 where dropped
        gx *= g.dtype.type(self.scale)  # then g / (1 - p), rounded as forward's x / (1 - p)
        return gx


def relu(x):
    """max(x, 0) elementwise."""
    return ReLU()(x)


def bias_relu(x, bias):
    """relu(x + bias) with ``bias`` (C,) added along axis 1 of ``x`` (N, C, ...), in one pass.

    Equal to ``relu(x + bias.reshape(1, C, 1, ...))``; for a layer whose bias is
    followed by a ReLU, pass it the layer's output without its bias.
    """
    return BiasReLU()(x, bias)


def dropout(x, p=0.5, training=True):
    """Inverted dropout: in training, zero elements with probability ``p`` and scale by 1/(1-p);
    when not training, return ``x`` unchanged."""
    dropout_p(p)
    if not training or p == 0.0:
        return x
    return Dropout(p)(x)
