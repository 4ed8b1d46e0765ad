"""Layer normalisation (Ba, Kiros and Hinton, 2016), PyTorch's ``F.layer_norm``; docs/layer_norm.md.

Shapes: x and y (*, D_1, ..., D_k), normalized_shape = (D_1, ..., D_k); weight and bias (D_1, ..., D_k).
Each sample (one index of the leading dims *) is normalised with statistics over its m = D_1 * ... * D_k
trailing values, the same in training and in evaluation (there are no running statistics):

    mu = sum(x) / m      var = sum((x - mu)^2) / m  (biased)      invstd = 1 / sqrt(var + eps)
    x_hat = (x - mu) * invstd                                     y = gamma * x_hat + beta

gamma (weight) and beta (bias) hold one value per normalised *element*, not per sample. Backward is
batch norm's with the axes swapped (the sums run over the trailing dims; docs/batch_norm.md derives it):

    g_hat = g * gamma
    dx     = invstd / m * (m * g_hat - sum(g_hat) - x_hat * sum(g_hat * x_hat))     sums over the trailing dims
    dgamma = sum(g * x_hat)       dbeta = sum(g)                                    sums over the leading dims

gamma is not one number per sum here, so it stays inside the sums as g_hat. The op keeps x_hat and invstd.
"""
import math

from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional import _autocast
from tinynet.functional._util import ShapeError, check_same_dtype, float_input
from tinynet.functional.batchnorm import FLOAT_NOTE, eps_arg, optional_array
from tinynet.validate import is_int

__all__ = ["layer_norm"]


def normalized_shape_arg(value, where, allow_int=False):
    """normalized_shape as a tuple of ints >= 1, at least one. PyTorch's ``F.layer_norm`` takes a sequence
    only; ``nn.LayerNorm`` also takes an int (``allow_int``)."""
    if allow_int and is_int(value):
        value = (value,)
    rule = "a tuple or list of ints >= 1 (the trailing dimensions to normalise)" + (", or an int" if allow_int else "")
    if not isinstance(value, (tuple, list)) or not all(is_int(d) for d in value):
        hint = f"; for one dimension write ({value},)" if is_int(value) else ""
        raise TypeError(f"{where}: normalized_shape must be {rule}, got {value!r}{hint}")
    if not value or min(value) < 1:
        raise ValueError(f"{where}: normalized_shape must be {rule}, got {value!r}")
    return tuple(int(d) for d in value)


class LayerNorm(Function):
    """One layer-norm call. Inputs: x, then weight and bias where given (``has_weight``, ``has_bias``)."""

    def __init__(self, normalized_shape, eps, has_weight, has_bias):
        self.normalized_shape, self.eps = normalized_shape, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *affine):
        w = affine[0] if self.has_weight else None
        b = affine[-1] if self.has_bias else None
        self._check(x, w, b)
        xp = get_array_module(x)
        k = len(self.normalized_shape)
        self.axes = tuple(range(x.ndim - k, x.ndim))  # normalised over, per sample
        self.leading = tuple(range(x.ndim - k))  # summed over for dgamma and dbeta
        mean = x.mean(axis=self.axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=self.axes, keepdims=True)  # biased: divided by m
        invstd = 1 / xp.sqrt(var + x.dtype.type(self.eps))
        centred *= invstd
        x_hat = centred  # (x - mu) * invstd, in the same buffer
        y = x_hat if w is None else x_hat * w
        if b is not None:
            y = y + b
        wants_x, wants_w = self.needs_input_grad[0], self.has_weight and self.needs_input_grad[1]
        self.w = w if wants_x else None
        self.x_hat = x_hat if (wants_x or wants_w) else None
        self.invstd = invstd if wants_x else None
        return y

    def _check(self, x, w, b):
        float_input("layer_norm", x, note=FLOAT_NOTE)
        shape = self.normalized_shape
        if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
            raise ShapeError(f"layer_norm: normalized_shape {shape} expects an input of shape "
                             f"(*, {', '.join(map(str, shape))}), got {tuple(x.shape)}")
        for name, a in (("weight", w), ("bias", b)):
            if a is not None and tuple(a.shape) != shape:
                raise ShapeError(f"layer_norm: {name} must have the shape normalized_shape {shape}, "
                                 f"got {tuple(a.shape)}")
        check_same_dtype("layer_norm", input=x, weight=w, bias=b)

    def backward(self, g):
        gx = gw = gb = None
        if self.has_bias and self.needs_input_grad[-1]:
            gb = g.sum(axis=self.leading)
        if self.has_weight and self.needs_input_grad[1]:
            gw = (g * self.x_hat).sum(axis=self.leading)
        if self.needs_input_grad[0]:
            g_hat = g if self.w is None else g * self.w
            m = g.dtype.type(math.prod(self.normalized_shape))  # values per sample
            sum_g = g_hat.sum(axis=self.axes, keepdims=True)
            sum_g_xhat = (g_hat * self.x_hat).sum(axis=self.axes, keepdims=True)
            gx = (self.invstd / m) * (m * g_hat - sum_g - self.x_hat * sum_g_xhat)
        return (gx, *([gw] if self.has_weight else []), *([gb] if self.has_bias else []))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise each sample of ``input`` (*, *normalized_shape) over its trailing ``normalized_shape``
    dims to mean 0 and variance 1 (biased), then scale by ``weight`` and shift by ``bias``
    (normalized_shape each), as PyTorch's ``F.layer_norm``.
    """
    normalized_shape = normalized_shape_arg(normalized_shape, "layer_norm")
    eps = eps_arg(eps, "layer_norm")
    weight, bias = optional_array(weight, "weight", "layer_norm"), optional_array(bias, "bias", "layer_norm")
    input, weight, bias = _autocast.to_float32(input, weight, bias)  # the statistics in float32 inside amp.autocast
    affine = [a for a in (weight, bias) if a is not None]
    return LayerNorm(normalized_shape, eps, weight is not None, bias is not None)(input, *affine)
