"""ReLU and dropout.

ReLU:     y = max(x, 0)                 dx = g * [x > 0]
Dropout:  y = x * m / (1 - p)           dx = g * m / (1 - p)
          with m[i] ~ Bernoulli(1 - p) drawn once per forward ("inverted"
          dropout: the scaling happens in training, so evaluation is the identity)

ReLU keeps a boolean mask (one byte per element), not its input. The gradient
at exactly x = 0 is taken as 0, and a NaN input stays NaN (so a diverging
activation is not hidden), both as in PyTorch.
"""
from tinynet import backend
from tinynet.autograd import Function
from tinynet.backend import get_array_module


class ReLU(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.mask = x > 0
        return xp.maximum(x, xp.zeros((), dtype=x.dtype))  # maximum propagates NaN

    def backward(self, g):
        xp = get_array_module(g)
        return xp.where(self.mask, g, xp.zeros((), dtype=g.dtype))


class Dropout(Function):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The mask comes from tinynet's generator for the input's device, so
    ``tinynet.manual_seed(s)`` makes it reproducible. Only the boolean mask is kept.
    """

    def __init__(self, p=0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        self.p = float(p)

    def forward(self, x):
        xp = get_array_module(x)
        if self.p == 1.0:
            self.mask, self.scale = xp.zeros(x.shape, dtype=bool), 0.0
            return xp.zeros_like(x)
        self.mask = backend.random_uniform(x.shape, x.dtype, x) >= x.dtype.type(self.p)
        self.scale = x.dtype.type(1.0 / (1.0 - self.p))
        return xp.where(self.mask, x * self.scale, xp.zeros((), dtype=x.dtype))

    def backward(self, g):
        xp = get_array_module(g)
        return xp.where(self.mask, g * g.dtype.type(self.scale), xp.zeros((), dtype=g.dtype))


def relu(x):
    """max(x, 0) elementwise."""
    return ReLU()(x)


def dropout(x, p=0.5, training=True):
    """Inverted dropout: in training, zero elements with probability ``p`` and scale by 1/(1-p);
    when not training, return ``x`` unchanged."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    return Dropout(p)(x)
