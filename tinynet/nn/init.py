"""Parameter initialisation, in place, with PyTorch's names and formulas.

Random draws come from tinynet's host generator (``tinynet.manual_seed``), are
made on the CPU in the parameter's dtype and then moved to its device, so a
seed gives the same initial weights on either device.

fan_in of a weight (out, in, *kernel) is in * prod(kernel); fan_out is out * prod(kernel).

PyTorch's default for Conv2d and Linear, which tinynet's layers use:
    weight ~ U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)), a = sqrt(5)
           = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

Glorot & Bengio (2010), "xavier": Var(w) = gain^2 * 2 / (fan_in + fan_out), which keeps the variance
of activations and of gradients alike from layer to layer of a linear (or tanh) network:
    xavier_uniform_  U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))   (U(-b, b) has variance b^2/3)
    xavier_normal_   N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))

trunc_normal_ draws N(mean, std^2) conditioned on [a, b] by inverting its CDF (see its docstring);
orthogonal_ fills a (flattened) weight with a random orthogonal matrix (Saxe et al., 2014).

Every function fills the tensor in place (it writes into the array ``.data`` holds, recording nothing
in the graph, as under no_grad), keeps its device and dtype, and returns it.
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
    fan_in, fan_out = _fans(tensor, fn)
    return fan_in if mode == "fan_in" else fan_out


def _fans(tensor, fn):
    """(fan_in, fan_out) of a weight (out, in, *kernel), errors naming ``init.<fn>``."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"init.{fn}: fan in and fan out need a tensor of 2 or more dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor, values):
    """Write ``values`` (drawn on the host) into ``tensor``'s own array, in place, as PyTorch's init
    functions do: a view of the array, or another holder of it, sees the new values."""
    values = np.asarray(values, dtype=tensor.dtype).reshape(tensor.shape)
    tensor.data[...] = backend.to_device(values, tensor.device)
    return tensor


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): (in * prod(kernel), out * prod(kernel)), as PyTorch."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.calculate_fan_in_and_fan_out: expected a Tensor, got type {type(tensor).__name__}")
    return _fans(tensor, "calculate_fan_in_and_fan_out")


# The gain of each nonlinearity PyTorch names; leaky_relu's depends on its slope.
_GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
          "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3,
          "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, PyTorch's table: 1 for linear, the convolutions and
    sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2/(1+a^2)) for leaky_relu of slope a (``param``,
    default 0.01), 3/4 for selu. ``param`` is read only for leaky_relu."""
    if not isinstance(nonlinearity, str):
        raise TypeError(f"init.calculate_gain: nonlinearity must be a str such as 'relu', got {nonlinearity!r}")
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else check_number("init.calculate_gain: the leaky_relu slope", param)
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity not in _GAINS:
        raise ValueError(
            f"init.calculate_gain: unsupported nonlinearity {nonlinearity!r} "
            f"(expected one of {', '.join(list(_GAINS) + ['leaky_relu'])})"
        )
    return _GAINS[nonlinearity]


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


def _xavier_std(tensor, gain, fn):
    _check_tensor(tensor, fn)
    check_number(f"init.{fn}: gain", gain, low=0)
    fan_in, fan_out = _fans(tensor, fn)
    return gain * math.sqrt(2.0 / (fan_in + fan_out)) if tensor.numel() else 0.0


def xavier_uniform_(tensor, gain=1.0):
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)): Glorot & Bengio, 2010, uniform form.

    A tensor with no elements is left as it is (fan_in + fan_out may be 0).
    """
    std = _xavier_std(tensor, gain, "xavier_uniform_")
    if tensor.numel() == 0:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)): Glorot & Bengio, 2010.

    A tensor with no elements is left as it is.
    """
    std = _xavier_std(tensor, gain, "xavier_normal_")
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, std)


# --- the standard normal's CDF and its inverse --------------------------------------------------
def _normal_cdf(x):
    """Phi(x) for a Python float, accurate in both tails (erfc has no cancellation for x < 0)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


# Acklam's rational approximation of Phi^-1 (relative error below 1.2e-9, far below float32's
# 6e-8): one rational function in the middle, one in sqrt(-2 log p) for each tail.
_ACKLAM_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_ACKLAM_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
             6.680131188771972e+01, -1.328068155288572e+01, 1.0)
_ACKLAM_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_ACKLAM_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
             3.754408661907416e+00, 1.0)
_ACKLAM_LOW = 0.02425


def _polynomial(coefficients, x):
    """c[0] x^(n-1) + ... + c[n-1], by Horner's rule."""
    result = np.zeros_like(x)
    for c in coefficients:
        result = result * x + c
    return result


def _normal_ppf(p):
    """Phi^-1(p) of a float64 array with 0 < p < 1."""
    z = np.empty_like(p)
    low, high = p < _ACKLAM_LOW, p > 1 - _ACKLAM_LOW
    mid = ~(low | high)
    q = p[mid] - 0.5
    r = q * q
    z[mid] = q * _polynomial(_ACKLAM_A, r) / _polynomial(_ACKLAM_B, r)
    for tail, sign, tail_p in ((low, 1.0, p[low]), (high, -1.0, 1.0 - p[high])):
        q = np.sqrt(-2.0 * np.log(tail_p))
        z[tail] = sign * _polynomial(_ACKLAM_C, q) / _polynomial(_ACKLAM_D, q)
    return z


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with N(mean, std^2) truncated to [a, b] (a and b are values, not multiples of std, as PyTorch).

    With alpha = (a - mean)/std, beta = (b - mean)/std and Phi the standard normal CDF, a draw is
        z = Phi^-1(u), u ~ U(Phi(alpha), Phi(beta)),   value = mean + std * z
    (inverse-CDF sampling: P(z <= t) = (Phi(t) - Phi(alpha)) / (Phi(beta) - Phi(alpha)), exactly
    the truncated normal's CDF). An interval in the upper tail is drawn as the mirror image of the
    lower one, where Phi is tiny but precise rather than near 1 and rounded, so even [5 std, 6 std]
    comes out right. Values are then clipped into [a, b] against rounding.
    """
    _check_tensor(tensor, "trunc_normal_")
    check_number("init.trunc_normal_: mean", mean)
    check_number("init.trunc_normal_: std", std, low=0, low_open=True)
    check_number("init.trunc_normal_: a", a)
    check_number("init.trunc_normal_: b", b)
    if not a < b:
        raise ValueError(f"init.trunc_normal_: needs a < b, got a={a}, b={b}")
    alpha, beta = (a - mean) / std, (b - mean) / std
    flip = alpha > 0  # all of [alpha, beta] above the mean: draw -z from [-beta, -alpha]
    if flip:
        alpha, beta = -beta, -alpha
    low, high = _normal_cdf(alpha), _normal_cdf(beta)
    if not low < high or high < 1e-300:
        raise ValueError(
            f"init.trunc_normal_: under N({mean}, {std}^2), [a, b] = [{a}, {b}] is too narrow or too far in "
            f"the tail for float64 (Phi(alpha) = {low:.3g}, Phi(beta) = {high:.3g} with alpha, beta = "
            f"(a - mean)/std, (b - mean)/std, mirrored into the lower tail)"
        )
    u = backend.host_rng().random(tensor.shape)  # float64 in [0, 1)
    p = np.clip(low + u * (high - low), 5e-324, np.nextafter(1.0, 0.0))  # never 0 or 1, where Phi^-1 is infinite
    z = _normal_ppf(p)
    if flip:
        z = -z
    values = (mean + std * z).astype(tensor.dtype)
    t = tensor.dtype.type
    lo, hi = t(a), t(b)  # the bounds in the tensor's dtype, rounded inwards
    lo = np.nextafter(lo, t(np.inf)) if lo < a else lo
    hi = np.nextafter(hi, t(-np.inf)) if hi > b else hi
    return _fill(tensor, np.clip(values, lo, hi))


def orthogonal_(tensor, gain=1):
    """Fill with ``gain`` times a random orthogonal matrix (Saxe et al., 2014).

    The tensor is seen as a matrix (rows = shape[0], cols = the product of the rest). With
    M ~ N(0, 1) of shape (max, min) and M = QR its QR decomposition, Q has orthonormal columns;
    multiplying each column by the sign of R's diagonal makes the factorisation unique and Q
    uniformly (Haar) distributed; without it Q would lean towards the signs the QR routine picks.
    rows >= cols: the columns are orthonormal (W^T W = gain^2 I); rows < cols: Q^T fills it, so the
    rows are (W W^T = gain^2 I). A tensor with no elements is left as it is.
    """
    _check_tensor(tensor, "orthogonal_")
    check_number("init.orthogonal_: gain", gain)
    if tensor.ndim < 2:
        raise ValueError(f"init.orthogonal_: needs a tensor of 2 or more dimensions (rows, cols...), got shape "
                         f"{tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    m = backend.host_rng().standard_normal((max(rows, cols), min(rows, cols)))  # float64, on the host
    q, r = np.linalg.qr(m)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # column j times sign(R_jj)
    w = q if rows >= cols else q.T
    return _fill(tensor, gain * w)
