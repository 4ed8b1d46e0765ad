"""Batch normalisation (Ioffe and Szegedy, 2015), PyTorch's ``F.batch_norm``; docs/batch_norm.md derives it.

Shapes: x and y (N, C), (N, C, L), (N, C, H, W) or any (N, C, ...); weight, bias, running_mean and
running_var (C,). Each channel c is normalised with statistics over every axis but 1: its
n = N * L (or N * H * W) values.

Forward, per channel (gamma = weight, beta = bias; 1 and 0 when None):

    training:  mu = sum(x) / n               var = sum((x - mu)^2) / n          (biased)
    eval:      mu = running_mean             var = running_var
               invstd = 1 / sqrt(var + eps)  x_hat = (x - mu) * invstd          y = gamma * x_hat + beta

In training the running statistics, when given, are updated in place (outside the graph) with the
momentum m, the variance taken *unbiased*:

    running_mean = (1 - m) * running_mean + m * mu
    running_var  = (1 - m) * running_var  + m * var * n / (n - 1)

Backward in training (mu and var depend on every x of the channel), per channel, with g = dL/dy:

    dbeta  = sum(g)        dgamma = sum(g * x_hat)
    dx     = gamma * invstd / n * (n * g - sum(g) - x_hat * sum(g * x_hat))

which is (1/n) * invstd * (n*g_hat - sum(g_hat) - x_hat*sum(g_hat*x_hat)) with g_hat = g * gamma,
gamma taken out of the sums because it is one number per channel. The op keeps x_hat and invstd.

Backward in eval (mu and var are constants: y is an affine map per channel, y = x * scale + shift):

    dx = g * scale  with scale = gamma * invstd        dgamma = sum(g * x_hat)        dbeta = sum(g)
"""
import math

import numpy as np

from tinynet._tensor import Tensor
from tinynet.autograd import Function
from tinynet.backend import check_same_device, get_array_module, is_cupy_array
from tinynet.functional import _autocast
from tinynet.functional._util import ShapeError, check_same_dtype, flag_arg, float_input
from tinynet.validate import check_number

__all__ = ["batch_norm"]


def momentum_arg(momentum, where, allow_none=False):
    """The running statistics' momentum: a number in [0, 1] (None, the cumulative average, only for a
    layer: ``allow_none``)."""
    if momentum is None and allow_none:
        return None
    return float(check_number(f"{where}: momentum", momentum, low=0, high=1))


def eps_arg(eps, where, positive=False):
    """eps: a finite number >= 0 (> 0 when ``positive``: batch statistics can be exactly constant)."""
    return float(check_number(f"{where}: eps", eps, low=0, low_open=positive))


# What batch_norm and layer_norm say after "input must be floating point".
FLOAT_NOTE = " (float32 or float64)"


def optional_array(value, name, op):
    """A Tensor, an array (NumPy or CuPy) or None, as given; anything else (a list, a number, a str) is a
    TypeError naming ``op`` and ``name``."""
    if value is None or isinstance(value, (Tensor, np.ndarray)) or is_cupy_array(value):
        return value
    raise TypeError(f"{op}: {name} must be a Tensor, an array or None, got {type(value).__name__} {value!r:.40}")


def _stats_array(value, name):
    """running_mean / running_var as the array itself (never a copy: it is updated in place), or None."""
    value = optional_array(value, name, "batch_norm")
    if isinstance(value, Tensor):
        value = value.data
    if value is not None:
        float_input("batch_norm", value, name)
    return value


def _channel_shape(x):
    """(1, C, 1, ...): a per-channel (C,) array reshaped to broadcast over x."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


class BatchNorm(Function):
    """One batch-norm call. Inputs: x, then weight and bias where given (``has_weight``, ``has_bias``)."""

    def __init__(self, running_mean, running_var, training, momentum, eps, has_weight, has_bias):
        self.running = (running_mean, running_var)
        self.training, self.momentum, self.eps = training, momentum, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *affine):
        running_mean, running_var = self.running
        del self.running  # the op updates them here and never again: no reference kept with the graph
        w = affine[0] if self.has_weight else None
        b = affine[-1] if self.has_bias else None
        self._check(x, w, b, running_mean, running_var)
        xp = get_array_module(x)
        shape = _channel_shape(x)
        self.axes = (0,) + tuple(range(2, x.ndim))
        n = math.prod(x.shape[:1] + x.shape[2:])  # values per channel
        wants_x, wants_w = self.needs_input_grad[0], self.has_weight and self.needs_input_grad[1]
        if not self.training:
            # Constants per channel: y = x * scale + shift (the eval-mode op is an affine map).
            invstd = 1 / xp.sqrt(running_var + x.dtype.type(self.eps))
            scale = invstd if w is None else w * invstd
            shift = -running_mean * scale if b is None else b - running_mean * scale
            y = x * scale.reshape(shape) + shift.reshape(shape)
            self.scale = scale if wants_x else None
            # dgamma = sum(g * x_hat) needs x and this call's statistics (copies: the running ones may change
            # in place before backward runs, in a later training step).
            self.x = x if wants_w else None
            self.mean, self.invstd = (running_mean.copy(), invstd) if wants_w else (None, None)
            return y
        if n == 1:
            raise ValueError(f"batch_norm: Expected more than 1 value per channel when training, got input size "
                             f"{tuple(x.shape)}")
        self.n = n
        if n == 0:  # an empty batch, as in PyTorch: an empty output, the running statistics untouched
            return x.copy()
        mean = x.mean(axis=self.axes)
        centred = x - mean.reshape(shape)
        var = (centred * centred).mean(axis=self.axes)  # biased: divided by n
        invstd = 1 / xp.sqrt(var + x.dtype.type(self.eps))
        centred *= invstd.reshape(shape)
        x_hat = centred  # (x - mu) * invstd, in the same buffer
        if running_mean is not None:
            m = x.dtype.type(self.momentum)
            running_mean[...] = (1 - m) * running_mean + m * mean
            running_var[...] = (1 - m) * running_var + m * var * x.dtype.type(n / (n - 1))  # unbiased
        y = x_hat if w is None else x_hat * w.reshape(shape)
        if b is not None:
            y = y + b.reshape(shape)
        self.w = w if wants_x else None
        self.x_hat = x_hat if (wants_x or wants_w) else None
        self.invstd = invstd if wants_x else None
        return y

    def _check(self, x, w, b, running_mean, running_var):
        float_input("batch_norm", x, note=FLOAT_NOTE)
        if x.ndim < 2:
            raise ShapeError(f"batch_norm: expected an input of 2 or more dimensions (N, C, ...), got shape "
                             f"{tuple(x.shape)}")
        channels = (x.shape[1],)
        for name, a in (("weight", w), ("bias", b), ("running_mean", running_mean), ("running_var", running_var)):
            if a is not None and tuple(a.shape) != channels:
                raise ShapeError(f"batch_norm: {name} must have shape {channels} (one value per channel of the "
                                 f"input of shape {tuple(x.shape)}), got {tuple(a.shape)}")
        check_same_dtype("batch_norm", input=x, weight=w, bias=b, running_mean=running_mean, running_var=running_var)
        check_same_device([x, running_mean, running_var], "batch_norm (input and running statistics)")

    def backward(self, g):
        gx = gw = gb = None
        shape = _channel_shape(g)
        wants_x = self.needs_input_grad[0]
        wants_w = self.has_weight and self.needs_input_grad[1]
        wants_b = self.has_bias and self.needs_input_grad[-1]
        if wants_b:
            gb = g.sum(axis=self.axes)
        if not self.training:
            if wants_x:
                gx = g * self.scale.reshape(shape)
            if wants_w:
                gw = (g * (self.x - self.mean.reshape(shape))).sum(axis=self.axes) * self.invstd
            return self._per_input(gx, gw, gb)
        if self.n == 0:  # an empty batch: nothing to sum, every gradient is zero
            xp = get_array_module(g)
            zeros = xp.zeros(g.shape[1], dtype=g.dtype)
            return self._per_input(xp.zeros_like(g), zeros, zeros)
        sum_g_xhat = (g * self.x_hat).sum(axis=self.axes) if (wants_x or wants_w) else None
        if wants_w:
            gw = sum_g_xhat
        if wants_x:
            sum_g = gb if gb is not None else g.sum(axis=self.axes)
            n = g.dtype.type(self.n)
            k = self.invstd / n if self.w is None else self.w * self.invstd / n
            gx = k.reshape(shape) * (n * g - sum_g.reshape(shape) - self.x_hat * sum_g_xhat.reshape(shape))
        return self._per_input(gx, gw, gb)

    def _per_input(self, gx, gw, gb):
        """One gradient per input: x's, then weight's and bias's where they were inputs."""
        return (gx, *([gw] if self.has_weight else []), *([gb] if self.has_bias else []))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) of ``input`` (N, C, ...) to mean 0 and variance 1, then scale by
    ``weight`` and shift by ``bias`` (C,), as PyTorch's ``F.batch_norm``.

    training=True: the batch's mean and biased variance normalise; ``running_mean`` and ``running_var``
    (arrays or Tensors of shape (C,), or None) are updated in place with ``momentum``, the variance
    unbiased (times n / (n - 1)). training=False: the running statistics normalise (they must be given).
    The update is outside the graph: no gradient flows to the running statistics.
    """
    input, weight, bias = _autocast.to_float32(input, weight, bias)  # statistics in float32 inside amp.autocast
    training = flag_arg(training, "training", "batch_norm")
    momentum = momentum_arg(momentum, "batch_norm")
    eps = eps_arg(eps, "batch_norm", positive=training)
    running_mean = _stats_array(running_mean, "running_mean")
    running_var = _stats_array(running_var, "running_var")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: running_mean and running_var must be given together (or both be None), "
                         f"got running_mean {'None' if running_mean is None else 'given'} and running_var "
                         f"{'None' if running_var is None else 'given'}")
    if not training and running_mean is None:
        raise ValueError("batch_norm: running_mean and running_var must be given in evaluation mode "
                         "(training=False normalises with them), got None")
    weight, bias = optional_array(weight, "weight", "batch_norm"), optional_array(bias, "bias", "batch_norm")
    affine = [a for a in (weight, bias) if a is not None]
    op = BatchNorm(running_mean, running_var, training, momentum, eps, weight is not None, bias is not None)
    return op(input, *affine)
