"""Reference loops: see tinynet/functional/reference/__init__.py. Imports only NumPy.

The losses as the formulas read, one sample (or one element) at a time, in float64:

    cross_entropy    log-softmax of each sample's C scores, then the weighted, smoothed pick of its target,
                     with class indices (ignore_index skipped, not counted) or class probabilities
    nll_loss         the weighted pick of each sample's target among its C log-probabilities
    smooth_l1_loss, binary_cross_entropy, binary_cross_entropy_with_logits    element by element
"""
import numpy as np

__all__ = ["cross_entropy", "nll_loss", "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


def _samples(scores):
    """(index of the sample's loss, its C scores) for scores (C,), (N, C) or (N, C, d1, ..., dk)."""
    if scores.ndim == 1:
        yield (), list(scores)
        return
    N, C = scores.shape[:2]
    for n in range(N):
        for rest in np.ndindex(*scores.shape[2:]):
            yield (n, *rest), [scores[(n, c, *rest)] for c in range(C)]


def _reduce(losses, count, reduction):
    """losses: an array of the samples' (or elements') shape; 'mean' divides the sum by ``count``."""
    if reduction == "none":
        return losses
    total = float(np.sum(losses))
    if reduction == "sum":
        return total
    return total / count if count else float(np.nan)


def _log_softmax(row):
    m = max(row)
    log_sum = np.log(sum(np.exp(v - m) for v in row))
    return [v - m - log_sum for v in row]


def cross_entropy(z, t, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Logits z, targets t: class indices (z's shape without C) or probabilities (z's shape)."""
    z = np.asarray(z, dtype=np.float64)
    C = z.shape[1] if z.ndim > 1 else z.shape[0]
    w = [1.0] * C if weight is None else [float(v) for v in weight]
    e = label_smoothing
    probabilities = np.shape(t) == z.shape
    losses = np.zeros(z.shape[:1] + z.shape[2:] if z.ndim > 1 else ())
    count = 0.0
    for index, row in _samples(z):
        logp = _log_softmax(row)
        if probabilities:
            dist = [float(t[(index[0], c, *index[1:])] if index else t[c]) for c in range(C)]
            q = [(1 - e) * p + e / C for p in dist]
            losses[index] = -sum(w[c] * q[c] * logp[c] for c in range(C))
            count += 1
            continue
        k = int(t[index])
        if k == ignore_index:
            continue  # no loss, not counted
        nll = -w[k] * logp[k]
        smooth = -sum(w[c] * logp[c] for c in range(C))
        losses[index] = (1 - e) * nll + e / C * smooth
        count += w[k]  # the weighted mean divides by the weights of the counted targets
    return _reduce(losses, count, reduction)


def nll_loss(x, t, weight=None, ignore_index=-100, reduction="mean"):
    """Log-probabilities x, class-index targets t."""
    x = np.asarray(x, dtype=np.float64)
    C = x.shape[1] if x.ndim > 1 else x.shape[0]
    w = [1.0] * C if weight is None else [float(v) for v in weight]
    losses = np.zeros(x.shape[:1] + x.shape[2:] if x.ndim > 1 else ())
    count = 0.0
    for index, row in _samples(x):
        k = int(t[index])
        if k != ignore_index:
            losses[index] = -w[k] * row[k]
            count += w[k]
    return _reduce(losses, count, reduction)


def _elementwise(loss, x, y, reduction, *weights):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    weights = [np.broadcast_to(np.asarray(1.0 if w is None else w, dtype=np.float64), x.shape) for w in weights]
    losses = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        losses[i] = loss(float(x[i]), float(y[i]), *(float(w[i]) for w in weights))
    return _reduce(losses, x.size, reduction)


def smooth_l1_loss(x, y, reduction="mean", beta=1.0):
    def loss(a, b):
        d = abs(a - b)
        return 0.5 * d * d / beta if d < beta else d - 0.5 * beta
    return _elementwise(loss, x, y, reduction)


def binary_cross_entropy(x, y, weight=None, reduction="mean"):
    def clamped_log(v):
        return max(np.log(v), -100.0) if v > 0 else -100.0

    def loss(p, target, w):
        return -w * (target * clamped_log(p) + (1 - target) * clamped_log(1 - p))
    return _elementwise(loss, x, y, reduction, weight)


def binary_cross_entropy_with_logits(x, y, weight=None, reduction="mean", pos_weight=None):
    def log_sigmoid(v):  # log(1 / (1 + e^-v)), written so that e^ never overflows
        return v - np.log1p(np.exp(v)) if v < 0 else -np.log1p(np.exp(-v))

    def loss(v, target, w, P):
        return -w * (P * target * log_sigmoid(v) + (1 - target) * log_sigmoid(-v))
    return _elementwise(loss, x, y, reduction, weight, pos_weight)
