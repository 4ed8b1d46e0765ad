"""Parameter initialisation, in place, with PyTorch's names and formulas.

Random draws come from tinynet's host generator (``tinynet.manual_seed``), are
made on the CPU in the parameter's dtype and then moved to its device, so a
seed gives the same initial weights on either device.

fan_in of a weight (out, in, *kernel) is in * prod(kernel); fan_out is out * prod(kernel).

PyTorch's default for Conv2d and Linear, which tinynet's layers use:
    weight ~ U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)), a = sqrt(5)
           = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
"""
import math

import numbers

import numpy as np

from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.validate import check_number


def _check_tensor(tensor, fn):
    """Refuse what ``init.<fn>`` can't fill: anything but a floating-point Tensor."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{fn}: expected a Tensor (e.g. a layer's weight), got type {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"init.{fn}: only floating-point tensors can be initialised, got {tensor.dtype}")


def _fan(tensor, mode, fn):
    """fan_in or fan_out of ``tensor`` as ``mode`` says."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init.{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    values = np.asarray(values, dtype=tensor.dtype).reshape(tensor.shape)
    tensor.data = backend.to_device(values, tensor.device)
    return tensor


def calculate_fan_in_and_fan_out(tensor):
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor of 2 or more dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity: 1 for linear, sqrt(2) for relu, sqrt(2/(1+a^2)) for leaky_relu."""
    if nonlinearity in ("linear", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else check_number("init.calculate_gain: the leaky_relu slope", param)
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity == "tanh":
        return 5.0 / 3
    raise ValueError(
        f"init.calculate_gain: unsupported nonlinearity {nonlinearity!r} "
        "(expected linear, conv2d, sigmoid, relu, leaky_relu or tanh)"
    )


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b), a <= b."""
    _check_tensor(tensor, "uniform_")
    check_number("init.uniform_: a", a)
    check_number("init.uniform_: b", b)
    if a > b:
        raise ValueError(f"init.uniform_: needs a <= b, got a={a}, b={b}")
    t = tensor.dtype.type
    u = backend.host_rng().random(tensor.shape, dtype=tensor.dtype)
    u *= t(b - a)
    u += t(a)
    return _fill(tensor, u)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2), std >= 0."""
    _check_tensor(tensor, "normal_")
    check_number("init.normal_: mean", mean)
    check_number("init.normal_: std", std, low=0)
    t = tensor.dtype.type
    z = backend.host_rng().standard_normal(tensor.shape, dtype=tensor.dtype)
    z *= t(std)
    z += t(mean)
    return _fill(tensor, z)


def constant_(tensor, value):
    """Fill with ``value`` (any real number, inf and NaN included)."""
    _check_tensor(tensor, "constant_")
    if not isinstance(value, numbers.Real):
        raise TypeError(f"init.constant_: value must be a real number, got {value!r}")
    return _fill(tensor, np.full(tensor.shape, value))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b) with b = gain * sqrt(3 / fan): He et al., 2015, uniform form.

    A tensor with no elements (fan 0) is left as it is, as in PyTorch.
    """
    _check_tensor(tensor, "kaiming_uniform_")
    fan = _fan(tensor, mode, "kaiming_uniform_")
    if tensor.numel() == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2) with std = gain / sqrt(fan): He et al., 2015.

    A tensor with no elements (fan 0) is left as it is, as in PyTorch.
    """
    _check_tensor(tensor, "kaiming_normal_")
    fan = _fan(tensor, mode, "kaiming_normal_")
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def default_init_(weight, bias=None):
    """PyTorch's default for Conv2d and Linear (see the module docstring)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
