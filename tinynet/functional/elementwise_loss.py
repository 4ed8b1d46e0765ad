"""Losses that compare an input x with a target y element by element (PyTorch's names and signatures):
mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy, binary_cross_entropy_with_logits.

x and y have one shape, any shape (tinynet refuses a mismatch, where PyTorch broadcasts mse_loss and
l1_loss with a warning); the optional weights w and pos_weight P broadcast to it. Each op forms the
loss L of every element, then reduces: 'none' returns L, 'sum' sum(L), 'mean' sum(L) / n with
n = x.size (nan for n = 0, as PyTorch). Backward multiplies dL/dx (and dL/dy) by the upstream g,
elementwise for 'none', g / n for 'mean'. With d = x - y:

    mse_loss         L = d^2                                dx = 2 d               dy = -2 d
    l1_loss          L = |d|                                dx = sign(d)           dy = -sign(d)
    smooth_l1_loss   L = d^2 / (2 beta) if |d| < beta,      dx = clip(d / beta, -1, 1)   dy = -dx
                         |d| - beta / 2 otherwise           (beta = 0: l1_loss)
    binary_cross_entropy, x in [0, 1]:
                     L = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100))
                     dx = w (x - y) / max(x (1 - x), 1e-12)    dy = -w log(x / (1 - x))
    binary_cross_entropy_with_logits, h = 1 + (P - 1) y, ls(x) = log sigmoid(x) = min(x, 0) - log(1 + e^-|x|):
                     L = w ((1 - y) x - h ls(x))
                     dx = w (h sigmoid(x) - P y)             dy = w (ls(-x) - P ls(x))   (P = 1: dy = -w x)

The bce derivatives are PyTorch's: they ignore the -100 clamp and bound the denominator by 1e-12
(as float32: 9.99999996e-13)
(docs/losses.md says why and derives every line).
"""
import numpy as np

from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, as_input, check_same_dtype, float_input
from tinynet.functional import _autocast
from tinynet.functional._loss_util import check_no_weight_grad, divide, loss_weight, quiet, reduction_args
from tinynet.validate import check_number

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


# PyTorch's lower bound on x (1 - x) in the bce slope: 1e-12 rounded to float32, in every dtype.
BCE_EPSILON = float(np.float32(1e-12))


def _check_broadcast(op, name, w, shape):
    """A weight must broadcast to the input's shape without growing it (PyTorch's rule)."""
    try:
        ok = np.broadcast_shapes(w.shape, shape) == shape  # shapes only, no data
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{op}: {name} of shape {w.shape} does not broadcast to the input's shape {shape}")


class _Elementwise(Function):
    """What the elementwise losses share: the checks, the reduction, the upstream of each element."""

    op = ""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def _check(self, x, y, **weights):
        float_input(self.op, x)
        if y.shape != x.shape:
            raise ShapeError(f"{self.op}: target shape {y.shape} must equal input shape {x.shape} "
                             "(tinynet does not broadcast a loss's target)")
        check_same_dtype(self.op, input=x, target=y, **weights)
        for name, w in weights.items():
            if w is not None:
                _check_broadcast(self.op, name, w, x.shape)
        self.n = x.size

    def _reduce(self, loss):
        if self.reduction == "none":
            return loss
        total = loss.sum()
        return total if self.reduction == "sum" else divide(total, loss.dtype.type(loss.size))

    def _upstream(self, g):
        """g per element ('none'), g ('sum') or g / n ('mean')."""
        return divide(g, g.dtype.type(self.n)) if self.reduction == "mean" else g

    def _grads(self, dx, dy, extra=0):
        """(dx, dy) for the inputs that want one, None for the rest and the ``extra`` weights."""
        need = self.needs_input_grad
        return (dx if need[0] else None, dy if need[1] else None) + (None,) * extra


class MSELoss(_Elementwise):
    op = "mse_loss"

    def forward(self, x, y):
        self._check(x, y)
        d = x - y
        if any(self.needs_input_grad):
            self.d = d
        return self._reduce(d * d)

    def backward(self, g):
        gd = 2 * self.d * self._upstream(g)
        return self._grads(gd, -gd)


class L1Loss(_Elementwise):
    op = "l1_loss"

    def forward(self, x, y):
        self._check(x, y)
        d = x - y
        if any(self.needs_input_grad):
            self.sign = get_array_module(d).sign(d)
        return self._reduce(abs(d))

    def backward(self, g):
        gd = self.sign * self._upstream(g)
        return self._grads(gd, -gd)


class SmoothL1Loss(_Elementwise):
    op = "smooth_l1_loss"

    def __init__(self, reduction="mean", beta=1.0):
        self.reduction, self.beta = reduction, beta

    def forward(self, x, y):
        self._check(x, y)
        xp = get_array_module(x)
        d = x - y
        a = abs(d)
        beta = self.beta
        loss = a if beta == 0 else xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)
        if any(self.needs_input_grad):
            self.slope = xp.sign(d) if beta == 0 else xp.clip(d / beta, -1, 1)  # dL/dd
        return self._reduce(loss)

    def backward(self, g):
        gd = self.slope * self._upstream(g)
        return self._grads(gd, -gd)


class BinaryCrossEntropy(_Elementwise):
    op = "binary_cross_entropy"

    def forward(self, x, y, w=None):
        self._check(x, y, weight=w)
        _check_unit_interval(self.op, "input", x)
        _check_unit_interval(self.op, "target", y)
        xp = get_array_module(x)
        with quiet():  # log(0) = -inf, clamped to -100
            loss = (y - 1) * xp.maximum(xp.log1p(-x), -100) - y * xp.maximum(xp.log(x), -100)
        if w is not None:
            loss = loss * w
        if any(self.needs_input_grad):
            self.x, self.y, self.w = x, y, w
        return self._reduce(loss)

    def backward(self, g):
        xp = get_array_module(g)
        x, y, w = self.x, self.y, self.w
        s = self._upstream(g) if w is None else self._upstream(g) * w
        need = self.needs_input_grad
        dx = (x - y) / xp.maximum(x * (1 - x), x.dtype.type(BCE_EPSILON)) * s if need[0] else None
        with quiet():  # x = 0 or 1: an infinite slope, as PyTorch
            dy = -xp.log(x / (1 - x)) * s if need[1] else None
        return self._grads(dx, dy, extra=w is not None)


def _log_sigmoid(x):
    """log(1 / (1 + e^-x)) = min(x, 0) - log(1 + e^-|x|): no overflow for any x."""
    xp = get_array_module(x)
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-abs(x)))


class BinaryCrossEntropyWithLogits(_Elementwise):
    op = "binary_cross_entropy_with_logits"

    def __init__(self, reduction="mean", weighted=False, pos_weighted=False):
        self.reduction, self.weighted, self.pos_weighted = reduction, weighted, pos_weighted

    def forward(self, x, y, *weights):
        w = weights[0] if self.weighted else None
        P = weights[-1] if self.pos_weighted else None
        self._check(x, y, weight=w, pos_weight=P)
        ls = _log_sigmoid(x)
        h = 1 if P is None else 1 + (P - 1) * y
        loss = (1 - y) * x - h * ls
        if w is not None:
            loss = loss * w
        if any(self.needs_input_grad):
            self.x, self.y, self.ls, self.h, self.w, self.P = x, y, ls, h, w, P
        return self._reduce(loss)

    def backward(self, g):
        xp = get_array_module(g)
        x, y, ls, h, w, P = self.x, self.y, self.ls, self.h, self.w, self.P
        s = self._upstream(g) if w is None else self._upstream(g) * w
        need = self.needs_input_grad
        dx = dy = None
        if need[0]:
            dx = (h * xp.exp(ls) - (y if P is None else P * y)) * s
        if need[1]:
            dy = (-x if P is None else _log_sigmoid(-x) - P * ls) * s
        return self._grads(dx, dy, extra=self.weighted + self.pos_weighted)


def _check_unit_interval(op, name, a):
    """binary_cross_entropy takes probabilities: every element in [0, 1] (NaN is not), as PyTorch."""
    xp = get_array_module(a)
    bad = ~((a >= 0) & (a <= 1))
    if bool(bad.any()):
        i = int(xp.argmax(bad.reshape(-1)))
        where = tuple(int(k) for k in np.unravel_index(i, a.shape)) if a.ndim else ()
        raise ValueError(f"{op}: every element of {name} must be in [0, 1], got {float(a.reshape(-1)[i])!r} "
                         f"at position {where}")


def _pair(op, input, target):
    """The two, in float32 inside tinynet.amp.autocast (a loss sums every element: not in float16)."""
    return _autocast.to_float32(as_input(op, "input", input), as_input(op, "target", target))


def _weights(op, weight, pos_weight=None):
    w = loss_weight(op, "weight", weight)
    P = loss_weight(op, "pos_weight", pos_weight)
    check_no_weight_grad(op, "weight", w)
    check_no_weight_grad(op, "pos_weight", P)
    return _autocast.to_float32(w, P)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error (x - y)^2 of input and target of one shape; 'mean', 'sum' or 'none'."""
    return MSELoss(reduction_args("mse_loss", size_average, reduce, reduction))(*_pair("mse_loss", input, target))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean absolute error |x - y| of input and target of one shape."""
    return L1Loss(reduction_args("l1_loss", size_average, reduce, reduction))(*_pair("l1_loss", input, target))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Huber-like loss: quadratic d^2 / (2 beta) for |d| < beta, linear |d| - beta / 2 beyond; beta >= 0."""
    reduction = reduction_args("smooth_l1_loss", size_average, reduce, reduction)
    beta = float(check_number("smooth_l1_loss: beta", beta, low=0))
    return SmoothL1Loss(reduction, beta)(*_pair("smooth_l1_loss", input, target))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1], each log clamped at -100.

    ``weight`` broadcasts to the input's shape; 'mean' divides by the number of elements.
    """
    reduction = reduction_args("binary_cross_entropy", size_average, reduce, reduction)
    w, _ = _weights("binary_cross_entropy", weight)
    op = BinaryCrossEntropy(reduction)
    return op(*_pair("binary_cross_entropy", input, target), *([] if w is None else [w]))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(x), y) in the stable form (1 - y) x - h log sigmoid(x).

    ``pos_weight`` P weighs the positive term, h = 1 + (P - 1) y; a (C,) P broadcasts along the
    last dim (one weight per class of a multi-label (N, C) input), as PyTorch.
    """
    op = "binary_cross_entropy_with_logits"
    reduction = reduction_args(op, size_average, reduce, reduction)
    w, P = _weights(op, weight, pos_weight)
    weights = [a for a in (w, P) if a is not None]
    return BinaryCrossEntropyWithLogits(reduction, w is not None, P is not None)(*_pair(op, input, target), *weights)
