"""Softmax and log-softmax, and the losses on class scores: cross-entropy and negative log-likelihood.

Logits z are (N, C), (N, C, d1, ..., dk) or one unbatched sample (C,), the classes along dim 1
(dim 0 unbatched). The losses move the classes last and flatten the rest: M = N*d1*...*dk rows of
C scores, targets t (M,), p = softmax(z) and l = log p along the classes.

    softmax:      p_k = exp(z_k - m) / sum_j exp(z_j - m)      m = max_j z_j
    log_softmax:  l_k = (z_k - m) - log sum_j exp(z_j - m)

Subtracting the row maximum m changes nothing mathematically and keeps every exp() argument <= 0,
so logits of +-1e4 neither overflow nor give NaN. Backward, with upstream gradient g:

    softmax:      dz = p * (g - sum_k g_k p_k)
    log_softmax:  dz = g - p * sum_k g_k

Cross-entropy on class indices, class weights w (C,) (all 1 when not given), label smoothing e;
rows whose target is ignore_index count for nothing (loss 0, weight 0):

    loss_m = (1 - e) w[t_m] (-l[m, t_m]) + (e / C) sum_c w_c (-l[m, c])
    'mean' = sum_m loss_m / sum_m w[t_m]          (over the rows not ignored; 0 / 0 = nan)
    dz[m, c] = s_m (p[m, c] ((1 - e) w[t_m] + (e / C) W) - (1 - e) w[t_m] [c = t_m] - (e / C) w_c)

with W = sum_c w_c and s_m row m's upstream (g, or g / the denominator for 'mean'). No weight,
nothing ignored, e = 0: dz = s (p - onehot). On class probabilities T (the logits' shape), with
q = (1 - e) T + e / C:

    loss_m = -sum_c w_c q[m, c] l[m, c]             'mean' divides by M
    dz[m, c] = s_m (p[m, c] sum_k w_k q[m, k] - w_c q[m, c]),   dT[m, c] = -s_m (1 - e) w_c l[m, c]

nll_loss takes l itself: loss_m = -w[t_m] l[m, t_m] and dl[m, t_m] = -s_m w[t_m].
docs/softmax_cross_entropy.md and docs/losses.md derive these step by step.
"""
import math
import warnings

import numpy as np

from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional import _autocast
from tinynet.functional._loss_util import check_no_weight_grad, class_loss_args, divide, quiet, reduction_args
from tinynet.functional._util import ShapeError, as_input, check_dim, check_same_dtype, float_input, user_stacklevel

__all__ = ["softmax", "log_softmax", "cross_entropy", "nll_loss"]


def _log_softmax(z, axis):
    xp = get_array_module(z)
    if z.ndim and z.shape[axis] == 0:  # nothing to normalise (a max over no classes has no value)
        return z.copy()
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    def __init__(self, dim=-1):
        self.dim = dim

    def forward(self, z):
        float_input("softmax", z)
        axis = check_dim("softmax", self.dim, z.ndim)
        self.axis = axis if z.ndim else None  # a 0-d z is its own single class: softmax 1, log-softmax 0
        self.y = get_array_module(z).exp(_log_softmax(z, self.axis))
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, dim=-1):
        self.dim = dim

    def forward(self, z):
        float_input("log_softmax", z)
        axis = check_dim("log_softmax", self.dim, z.ndim)
        self.axis = axis if z.ndim else None
        self.y = _log_softmax(z, self.axis)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        return g - xp.exp(self.y) * g.sum(axis=self.axis, keepdims=True)


def _implicit_dim(op, x):
    """PyTorch's choice when no dim is given (dim 0 for a 0-, 1- or 3-d input, else 1), with a warning."""
    ndim = x.ndim
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(f"{op}: no dim given, so dim={dim} was used (PyTorch's implicit choice for a {ndim}-d input, "
                  f"deprecated there); pass dim explicitly: {op}(x, dim={dim})", UserWarning, stacklevel=user_stacklevel())
    return dim


def softmax(input, dim=None):
    """exp(x) / sum exp(x) along ``dim``, computed with the maximum subtracted; any shape.

    ``dim=None`` takes PyTorch's implicit dim (0 for a 0-, 1- or 3-d input, else 1) and warns.
    """
    input, = _autocast.to_float32(as_input("softmax", "input", input))  # in float32 inside amp.autocast
    return Softmax(_implicit_dim("softmax", input) if dim is None else dim)(input)


def log_softmax(input, dim=None):
    """log(softmax(x)) along ``dim``, computed stably (no log of a tiny number); ``dim`` as softmax's."""
    input, = _autocast.to_float32(as_input("log_softmax", "input", input))
    return LogSoftmax(_implicit_dim("log_softmax", input) if dim is None else dim)(input)


# --- class scores as rows -----------------------------------------------------------------------------------

def _rows(op, z):
    """z (C,), (N, C) or (N, C, d1, ..., dk) as (M, C) rows with the classes last."""
    if z.ndim == 0:
        raise ShapeError(f"{op}: needs input (C,), (N, C) or (N, C, d1, ...) with the classes along dim 1, "
                         "got a 0-d tensor")
    M, C = math.prod(_sample_shape(z.shape)), z.shape[min(z.ndim - 1, 1)]  # M = 0 and C = 0 allowed
    if z.ndim <= 2:
        return z.reshape(M, C)
    return get_array_module(z).moveaxis(z, 1, -1).reshape(M, C)


def _unrows(d, shape):
    """The inverse of _rows: a gradient (M, C) back to the input's shape."""
    if len(shape) <= 2:
        return d.reshape(shape)
    xp = get_array_module(d)
    return xp.ascontiguousarray(xp.moveaxis(d.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1))


def _sample_shape(shape):
    return shape[:1] + shape[2:] if len(shape) > 1 else ()


def _position(i, shape):
    """Flat index ``i`` as an index into ``shape`` (an int for a 1-d shape)."""
    index = []
    for n in reversed(shape):
        i, r = divmod(i, n)
        index.append(r)
    return index[0] if len(index) == 1 else tuple(reversed(index))


def _class_targets(op, shape, t, ignore_index, w, dtype, hint=""):
    """Check class-index targets for logits of ``shape``; return (safe targets (M,), per-target
    weights (None: all 1), ignored mask (None: none), the 'mean' denominator)."""
    C = shape[-1] if len(shape) == 1 else shape[1]
    if C == 0:
        raise ShapeError(f"{op}: needs at least one class, got input of shape {shape}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets of shape {t.shape} must be integer class indices, got dtype {t.dtype}{hint}")
    if t.shape != _sample_shape(shape):
        raise ShapeError(f"{op}: expected targets of shape {_sample_shape(shape)} (class indices) for input "
                         f"of shape {shape}, got {t.shape}")
    if w is not None and w.shape != (C,):
        raise ShapeError(f"{op}: weight must have one entry per class, shape ({C},), got {w.shape}")
    xp = get_array_module(t)
    flat = t.reshape(-1)
    outside = (flat < 0) | (flat >= C)
    if 0 <= ignore_index < C or bool(outside.any()):  # else (the common case) no target is ignored
        info = np.iinfo(t.dtype)  # an ignore_index the dtype can't hold equals no target
        ignored = flat == ignore_index if info.min <= ignore_index <= info.max else xp.zeros(flat.shape, dtype=bool)
        bad = outside & ~ignored
        if bool(bad.any()):
            i = int(xp.argmax(bad))
            raise IndexError(f"{op}: target {int(flat[i])} at position {_position(i, t.shape)} is out of range "
                             f"for {C} classes (valid: 0..{C - 1}, or ignore_index={ignore_index})")
    else:
        ignored = None
    if ignored is None or not bool(ignored.any()):
        if w is None:
            return flat, None, None, flat.shape[0]
        wt = w[flat]
        return flat, wt, None, wt.sum()
    safe = xp.where(ignored, 0, flat)
    wt = (~ignored).astype(dtype) if w is None else xp.where(ignored, 0, w[safe])
    return safe, wt, ignored, wt.sum()


class _ClassLoss(Function):
    """What cross-entropy and nll_loss share: the reduction of the row losses, each row's upstream."""

    def _reduce(self, losses, denom, dtype):
        if self.reduction == "none":
            return losses.reshape(self.sample_shape)
        total = losses.sum()
        if self.reduction == "sum":
            return total
        if isinstance(denom, int):  # no weights, nothing ignored: the number of rows
            return total / dtype.type(denom) if denom else divide(total, dtype.type(0))
        return divide(total, denom.astype(dtype))

    def _row_upstream(self, g):
        """(M, 1) for 'none', else 0-d: g for 'sum', g / denominator for 'mean'."""
        if self.reduction == "none":
            return g.reshape(-1, 1)
        if self.reduction == "sum":
            return g
        if isinstance(self.denom, int) and self.denom:
            return g / g.dtype.type(self.denom)
        return divide(g, g.dtype.type(self.denom) if isinstance(self.denom, int) else self.denom)


class CrossEntropy(_ClassLoss):
    """Fused log-softmax + (weighted, smoothed) negative log-likelihood over C classes.

    Class indices: keeps p (M, C), the targets, their weights and the ignored mask.
    Class probabilities: keeps l (M, C) and the weighted smoothed targets w q.
    """

    def __init__(self, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        self.ignore_index, self.reduction, self.eps = ignore_index, reduction, label_smoothing

    def forward(self, z, t, w=None):
        float_input("cross_entropy", z)
        rows = _rows("cross_entropy", z)
        self.shape, self.sample_shape = z.shape, _sample_shape(z.shape)
        if t.shape == z.shape:
            return self._forward_probabilities(rows, t, w)
        check_same_dtype("cross_entropy", input=z, weight=w)
        hint = f" (class probabilities have the input's shape {z.shape})"
        safe, wt, ignored, denom = _class_targets("cross_entropy", z.shape, t, self.ignore_index, w, z.dtype, hint)
        xp = get_array_module(z)
        logp = _log_softmax(rows, 1)
        M, C = logp.shape
        e = self.eps
        losses = -logp[xp.arange(M), safe]
        if wt is not None or e:
            with quiet():  # an ignored row may hold -inf logits: its nan (-inf * 0) is replaced by 0 below
                if wt is not None:
                    losses = losses * wt
                if e:
                    smooth = -(logp.sum(axis=1) if w is None else logp @ w)
                    losses = (1 - e) * losses + (e / C) * smooth
        if ignored is not None:
            losses = xp.where(ignored, 0, losses)
        if self.needs_input_grad[0]:
            self.p, self.safe, self.wt, self.ignored, self.w, self.denom = xp.exp(logp), safe, wt, ignored, w, denom
        return self._reduce(losses, denom, z.dtype)

    def _forward_probabilities(self, rows, T, w):
        if T.dtype.kind != "f":
            raise TypeError(f"cross_entropy: targets of the input's shape {T.shape} are class probabilities and "
                            f"must be floating point, got dtype {T.dtype} (class indices have shape "
                            f"{self.sample_shape})")
        check_same_dtype("cross_entropy", input=rows, target=T, weight=w)
        if self.ignore_index >= 0:
            raise ValueError(f"cross_entropy: ignore_index applies to class-index targets only, got "
                             f"ignore_index={self.ignore_index} with class-probability targets (as PyTorch)")
        logp = _log_softmax(rows, 1)
        M, C = logp.shape
        if C == 0:
            raise ShapeError(f"cross_entropy: needs at least one class, got input of shape {self.shape}")
        if w is not None and w.shape != (C,):
            raise ShapeError(f"cross_entropy: weight must have one entry per class, shape ({C},), got {w.shape}")
        e = self.eps
        q = _rows("cross_entropy", T)
        if e:
            q = (1 - e) * q + e / C
        wq = q if w is None else q * w
        losses = -(wq * logp).sum(axis=1)
        self.denom = M
        if any(self.needs_input_grad):
            self.logp, self.wq, self.w = logp, wq, w
        return self._reduce(losses, M, rows.dtype)

    def backward(self, g):
        s = self._row_upstream(g)
        if hasattr(self, "logp"):
            return self._backward_probabilities(s)
        xp = get_array_module(g)
        p, safe, wt, w, e = self.p, self.safe, self.wt, self.w, self.eps
        M, C = p.shape
        rows = xp.arange(M)
        if wt is None and not e:
            d = p.copy()  # the common case: (p - onehot) s
            d[rows, safe] -= 1
        else:
            w_t = 1 if wt is None else wt  # each row's target weight, 0 where ignored
            kept = 1 if self.ignored is None else ~self.ignored
            coef = (1 - e) * w_t  # sum_c w_c q_c: the factor of p
            if e:
                coef = coef + (e / C) * (C if w is None else w.sum()) * kept
            d = p * (coef[:, None] if getattr(coef, "ndim", 0) else coef)
            d[rows, safe] -= (1 - e) * w_t
            if e:  # the smoothed mass e / C on every class, w_c each, in the rows not ignored
                d -= (e / C) * (1 if w is None else w) * (1 if self.ignored is None else kept[:, None])
        if self.ignored is None:
            d *= s
        else:
            with quiet():  # s is inf where 'mean' divided by a zero count (every target ignored)
                d *= s
            d[self.ignored] = 0
        dz = _unrows(d, self.shape)
        return (dz, None) if w is None else (dz, None, None)

    def _backward_probabilities(self, s):
        xp = get_array_module(s)
        logp, wq, w = self.logp, self.wq, self.w
        dz = dT = None
        if self.needs_input_grad[0]:
            dz = _unrows((xp.exp(logp) * wq.sum(axis=1, keepdims=True) - wq) * s, self.shape)
        if self.needs_input_grad[1]:
            dT = _unrows(-(1 - self.eps) * logp * (1 if w is None else w) * s, self.shape)
        return (dz, dT) if w is None else (dz, dT, None)


class NLLLoss(_ClassLoss):
    """Negative log-likelihood of log-probabilities x: picks -w[t] x[t]. Keeps the targets and their weights."""

    def __init__(self, ignore_index=-100, reduction="mean"):
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, x, t, w=None):
        float_input("nll_loss", x)
        rows = _rows("nll_loss", x)
        check_same_dtype("nll_loss", input=x, weight=w)
        self.shape, self.sample_shape = x.shape, _sample_shape(x.shape)
        safe, wt, ignored, denom = _class_targets("nll_loss", x.shape, t, self.ignore_index, w, x.dtype)
        xp = get_array_module(x)
        losses = -rows[xp.arange(rows.shape[0]), safe]
        if wt is not None:
            with quiet():  # -inf * 0 in an ignored row, replaced by 0 below
                losses = losses * wt
        if ignored is not None:
            losses = xp.where(ignored, 0, losses)
        if self.needs_input_grad[0]:
            self.safe, self.wt, self.ignored, self.denom, self.C = safe, wt, ignored, denom, rows.shape[1]
            self.weighted = w is not None
        return self._reduce(losses, denom, x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        s = self._row_upstream(g).reshape(-1)
        M = self.safe.shape[0]
        d = xp.zeros((M, self.C), dtype=g.dtype)
        with quiet():
            d[xp.arange(M), self.safe] = -s if self.wt is None else -s * self.wt
        if self.ignored is not None:
            d[self.ignored] = 0
        dx = _unrows(d, self.shape)
        return (dx, None, None) if self.weighted else (dx, None)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and targets, with log-softmax fused in (PyTorch's signature).

    input   logits (N, C), (N, C, d1, ..., dk) or one unbatched sample (C,)
    target  class indices, integers of shape (N,), (N, d1, ..., dk) or (); or class probabilities,
            floats of the input's shape
    weight  (C,) class weights; 'mean' then divides by the summed weights of the counted targets
    ignore_index   class-index targets equal to it add nothing and are not counted
    reduction      'mean', 'sum', or 'none' (a loss per sample: the target's shape without C)
    label_smoothing  e in [0, 1]: the target mixes (1 - e) of itself with e spread over the C classes
    size_average, reduce   PyTorch's deprecated slots: None only
    """
    reduction = reduction_args("cross_entropy", size_average, reduce, reduction)
    weight, ignore_index, label_smoothing = class_loss_args("cross_entropy", weight, ignore_index, label_smoothing)
    check_no_weight_grad("cross_entropy", "weight", weight)
    input, target = as_input("cross_entropy", "input", input), as_input("cross_entropy", "target", target)
    input, target, weight = _autocast.to_float32(input, target, weight)  # inside amp.autocast: the loss in float32
    op = CrossEntropy(ignore_index, reduction, label_smoothing)
    return op(input, target) if weight is None else op(input, target, weight)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities (e.g. log_softmax's output), PyTorch's signature.

    Shapes, weight, ignore_index and reduction as cross_entropy's with class-index targets.
    """
    reduction = reduction_args("nll_loss", size_average, reduce, reduction)
    weight, ignore_index, _ = class_loss_args("nll_loss", weight, ignore_index)
    check_no_weight_grad("nll_loss", "weight", weight)
    input, target = as_input("nll_loss", "input", input), as_input("nll_loss", "target", target)
    input, target, weight = _autocast.to_float32(input, target, weight)
    op = NLLLoss(ignore_index, reduction)
    return op(input, target) if weight is None else op(input, target, weight)
