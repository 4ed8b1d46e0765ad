"""The activations and dropout: elementwise nonlinearities, and random masks in training.

ReLU:       y = max(x, 0)                          dx = g * [x > 0]
BiasReLU:   y = max(x + b, 0)                      dx = g * [x + b > 0],  db = dx summed over all axes but 1
            (b along axis 1; one pass instead of a bias add and a ReLU, each writing a full array)
LeakyReLU:  y = x if x > 0 else s x                dx = g if x > 0 else s g         (s: negative_slope)
ELU:        y = x if x > 0 else a (exp(x) - 1)     dx = g if x > 0 else g a exp(x)  (a: alpha)
Tanh:       y = tanh(x)                            dx = g (1 - y^2)
Sigmoid:    y = 1 / (1 + exp(-x))                  dx = g y (1 - y)
GELU:       y = x Phi(x)                           dx = g (Phi(x) + x phi(x))
            Phi the standard normal CDF, phi = Phi' its density; approximate='tanh':
            y = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)
            dx = g ((1 + t) / 2 + x (1 - t^2) u' / 2),  t = tanh(u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
Dropout:    y = x * m / (1 - p)                    dx = g * m / (1 - p)
            with m[i] ~ Bernoulli(1 - p) drawn once per forward ("inverted"
            dropout: the scaling happens in training, so evaluation is the identity)
Dropout2d:  the same with one m per channel: m (N, C, 1, 1) for x (N, C, H, W), broadcast over H, W

What each op keeps for its backward: ReLU and LeakyReLU a boolean mask (one byte per element),
tanh and sigmoid their output y (their derivative is a function of y), ELU its input (exp(x) is
needed; see docs/activations.md for why not y), GELU its input and Phi(x) (or tanh(u)), Dropout
its boolean mask, Dropout2d one factor m / (1 - p) per channel. The gradient at a kink (x = 0) is
PyTorch's: 0 for ReLU, s for LeakyReLU, a for ELU (their "x > 0" is false there); a NaN input
stays NaN.

``inplace=True`` (relu, leaky_relu, elu, dropout, dropout2d) writes the result into the input tensor
and returns it, as PyTorch's does (tinynet/functional/inplace.py: recorded in the graph when it needs
a gradient; each op here keeps a mask, its output or a copy, never the memory it overwrites).

The ReLU backward passes multiply by the mask, ``g * mask``, exactly the formulas
above: in NumPy that is about five times faster than ``where(mask, g, 0)``
(measured on the seed AlexNet's conv1 output). One difference from PyTorch,
which selects: an infinite or NaN upstream gradient at a masked position gives
NaN (inf * 0) instead of 0 - a gradient that is already non-finite.
Derivations: docs/relu.md, docs/activations.md, docs/dropout.md.
"""
from kernels import dropout_forward, relu_forward, workspace
from kernels.special import erfc
from tinynet import backend
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, as_input, check_same_dtype, flag_arg, float_input
from tinynet.functional import inplace as _inplace
from tinynet.validate import check_number

__all__ = ["relu", "bias_relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "dropout", "dropout2d"]

GELU_APPROXIMATIONS = ("none", "tanh")
_SQRT_HALF = 0.7071067811865476       # 1 / sqrt(2)
_ONE_OVER_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi), phi(0)
_SQRT_2_OVER_PI = 0.7978845608028654  # sqrt(2 / pi), the tanh form's scale
_GELU_CUBIC = 0.044715                # the tanh form's cubic coefficient


# --- arguments (nn/activation.py and nn/dropout.py check theirs with these) -------------------------------

def finite_arg(value, name, where):
    """A finite real number (any sign, as PyTorch allows), e.g. leaky_relu's slope or ELU's alpha."""
    return check_number(f"{where}: {name}", value)


def gelu_approximate(approximate, where):
    """``approximate`` if it is 'none' or 'tanh' (a str not in that list is a ValueError, anything else a TypeError)."""
    if isinstance(approximate, str) and approximate in GELU_APPROXIMATIONS:
        return approximate
    error = ValueError if isinstance(approximate, str) else TypeError
    raise error(f"{where}: approximate must be 'none' or 'tanh', got {approximate!r}")


# --- ReLU -----------------------------------------------------------------------------------------------------

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


# --- leaky ReLU and ELU: the identity for x > 0, another curve below --------------------------------------

class LeakyReLU(Function):
    """y = x where x > 0, negative_slope * x elsewhere (NaN too: NaN stays NaN); keeps the mask x > 0."""

    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        float_input("leaky_relu", x)
        xp = get_array_module(x)
        positive = x > 0
        y = xp.where(positive, x, x * x.dtype.type(self.negative_slope))
        self.mask = positive if self.needs_input_grad[0] else None
        return y

    def backward(self, g):
        xp = get_array_module(g)
        return xp.where(self.mask, g, g * g.dtype.type(self.negative_slope))  # slope s at x = 0 and below


class ELU(Function):
    """y = x where x > 0, alpha * (exp(x) - 1) elsewhere (expm1: exact near 0); keeps x."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        float_input("elu", x)
        xp = get_array_module(x)
        below = xp.minimum(x, x.dtype.type(0))  # exp of the x > 0 entries is never needed (nor overflows)
        y = xp.where(x > 0, x, x.dtype.type(self.alpha) * xp.expm1(below))
        self.x = x if self.needs_input_grad[0] else None
        return y

    def backward(self, g):
        xp = get_array_module(g)
        x = self.x
        below = xp.minimum(x, x.dtype.type(0))
        # PyTorch's branch test is x <= 0, so a NaN input passes g through, as x > 0 would
        return xp.where(x <= 0, g * (x.dtype.type(self.alpha) * xp.exp(below)), g)


# --- tanh and sigmoid: the derivative is a function of the output ----------------------------------------

class Tanh(Function):
    """y = tanh(x); keeps y, since dy/dx = 1 - y^2."""

    def forward(self, x):
        float_input("tanh", x)
        y = get_array_module(x).tanh(x)
        self.y = y if self.needs_input_grad[0] else None
        return y

    def backward(self, g):
        y = self.y
        return g * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)) computed without overflow; keeps y, since dy/dx = y (1 - y).

    With e = exp(-|x|) in (0, 1]:  y = 1 / (1 + e) for x >= 0,  e / (1 + e) for x < 0
    (the same value, e / (1 + e) = 1 / (1 + exp(-x)) when x < 0): exp is never of a positive
    number, so never overflows, and y is accurate to the last bit on both sides, down to
    y ~ 1e-308 for x ~ -709.
    """

    def forward(self, x):
        float_input("sigmoid", x)
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, x.dtype.type(1), e) / (1 + e)
        self.y = y if self.needs_input_grad[0] else None
        return y

    def backward(self, g):
        y = self.y
        return g * y * (1 - y)


# --- GELU ---------------------------------------------------------------------------------------------------

class GELU(Function):
    """x Phi(x) (approximate='none') or PyTorch's tanh form; keeps x and Phi(x) (or tanh(u)).

    Phi(x) = erfc(-x / sqrt(2)) / 2, the same as (1 + erf(x / sqrt(2))) / 2 but without the
    cancellation of 1 + erf for x << 0 (kernels/special.py computes erfc to a few ulps).
    """

    def __init__(self, approximate="none"):
        self.approximate = approximate

    def forward(self, x):
        float_input("gelu", x)
        xp = get_array_module(x)
        dtype = x.dtype.type
        if self.approximate == "none":
            s = erfc(-x * dtype(_SQRT_HALF)) * dtype(0.5)  # s = Phi(x)
            y = x * s
        else:
            u = dtype(_SQRT_2_OVER_PI) * (x + dtype(_GELU_CUBIC) * (x * x * x))
            s = xp.tanh(u)  # s = t, and (1 + t) / 2 stands for Phi(x)
            y = dtype(0.5) * x * (1 + s)
        self.x, self.s = (x, s) if self.needs_input_grad[0] else (None, None)
        return y

    def backward(self, g):
        xp = get_array_module(g)
        x, s = self.x, self.s
        dtype = x.dtype.type
        if self.approximate == "none":
            pdf = dtype(_ONE_OVER_SQRT_2PI) * xp.exp(dtype(-0.5) * (x * x))  # phi(x)
            return g * (s + x * pdf)
        du = dtype(_SQRT_2_OVER_PI) * (1 + dtype(3 * _GELU_CUBIC) * (x * x))
        return g * (dtype(0.5) * (1 + s) + dtype(0.5) * x * (1 - s * s) * du)


# --- dropout ------------------------------------------------------------------------------------------------

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


def _dropout2d_input(x):
    """Refuse what dropout2d can't take: not floating point, or not (N, C, H, W) / (C, H, W)."""
    float_input("dropout2d", x)
    if x.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected a 4-d input (N, C, H, W) or a 3-d one (C, H, W), "
                         f"got shape {tuple(x.shape)}")


class Dropout2d(Function):
    """Zero whole channels with probability ``p`` and scale the rest by 1/(1-p).

    One uniform sample per channel (N, C, 1, 1) ((C, 1, 1) unbatched), drawn in float64 from
    tinynet's generator for the input's device; m = [u >= p], and the factor m / (1 - p) in x's
    dtype is broadcast over H and W. Only that factor (one number per channel) is kept.
    """

    def __init__(self, p=0.5):
        self.p = dropout_p(p, "dropout2d")

    def forward(self, x):
        _dropout2d_input(x)
        xp = get_array_module(x)
        channels = x.shape[:-2] + (1, 1)
        if self.p == 1.0:
            factor = xp.zeros(channels, dtype=x.dtype)
        else:
            keep = backend.random_uniform(channels, xp.float64, x) >= self.p
            factor = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        self.factor = factor
        return x * factor

    def backward(self, g):
        return g * self.factor  # g / (1 - p) in kept channels, 0 in dropped ones


# --- the functions -------------------------------------------------------------------------------------------

def relu(input, inplace=False):
    """max(x, 0) elementwise, any shape; ``inplace=True`` writes it into ``input`` and returns that."""
    if flag_arg(inplace, "inplace", "relu"):
        return _inplace.apply_(as_input("relu", "input", input), "relu", lambda x: ReLU()(x))
    return ReLU()(input)


def bias_relu(x, bias):
    """relu(x + bias) with ``bias`` (C,) added along axis 1 of ``x`` (N, C, ...), in one pass.

    Equal to ``relu(x + bias.reshape(1, C, 1, ...))``; for a layer whose bias is
    followed by a ReLU, pass it the layer's output without its bias.
    """
    return BiasReLU()(x, bias)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, negative_slope * x elsewhere, elementwise, any shape.

    ``negative_slope`` is any finite number (negative, or above 1, as PyTorch allows); the
    gradient at x = 0 is negative_slope. ``inplace=True`` writes the result into ``input``.
    """
    slope = finite_arg(negative_slope, "negative_slope", "leaky_relu")
    if flag_arg(inplace, "inplace", "leaky_relu"):
        return _inplace.apply_(as_input("leaky_relu", "input", input), "leaky_relu", lambda x: LeakyReLU(slope)(x))
    return LeakyReLU(slope)(input)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, alpha * (exp(x) - 1) elsewhere, elementwise, any shape.

    ``alpha`` is any finite number (PyTorch allows a negative one too); the gradient at x = 0 is
    alpha, PyTorch's choice. ``inplace=True`` writes the result into ``input``.
    """
    alpha = finite_arg(alpha, "alpha", "elu")
    if flag_arg(inplace, "inplace", "elu"):
        return _inplace.apply_(as_input("elu", "input", input), "elu", lambda x: ELU(alpha)(x))
    return ELU(alpha)(input)


def tanh(input):
    """tanh(x) elementwise, any shape; the backward is g * (1 - y^2) from the kept output y."""
    return Tanh()(input)


def sigmoid(input):
    """1 / (1 + exp(-x)) elementwise, any shape, without overflow for any x; backward g * y * (1 - y)."""
    return Sigmoid()(input)


def gelu(input, approximate="none"):
    """x * Phi(x) elementwise, any shape, Phi the standard normal CDF (through erf).

    ``approximate='tanh'`` uses PyTorch's tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    """
    return GELU(gelu_approximate(approximate, "gelu"))(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: in training, zero elements with probability ``p`` and scale by 1/(1-p);
    when not training, return ``input`` unchanged. ``inplace=True`` writes the result into ``input``."""
    dropout_p(p)
    training = flag_arg(training, "training", "dropout")
    inplace = flag_arg(inplace, "inplace", "dropout")
    input = as_input("dropout", "input", input)
    float_input("dropout", input)  # in evaluation too, as dropout2d: a bad input fails in both modes
    if not training or p == 0.0:
        return input
    if inplace:
        return _inplace.apply_(input, "dropout", lambda x: Dropout(p)(x))
    return Dropout(p)(input)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout of ``input`` (N, C, H, W), or one unbatched sample (C, H, W): in training,
    each channel input[n, c] is zeroed with probability ``p`` and the others scaled by 1/(1-p);
    when not training (or p = 0) ``input`` is returned unchanged.

    A 3-d input is (C, H, W), as PyTorch documents; PyTorch 2.13 itself still takes it as
    (N, C, L) and warns that this will change (docs/dropout.md). Other shapes, refused here, only
    warn there. ``inplace=True`` writes the result into ``input``.
    """
    p = dropout_p(p, "dropout2d")
    training = flag_arg(training, "training", "dropout2d")
    inplace = flag_arg(inplace, "inplace", "dropout2d")
    input = as_input("dropout2d", "input", input)
    _dropout2d_input(input.data)  # in evaluation too: a bad input fails in both modes
    if not training or p == 0.0:
        return input
    if inplace:
        return _inplace.apply_(input, "dropout2d", lambda x: Dropout2d(p)(x))
    return Dropout2d(p)(input)
