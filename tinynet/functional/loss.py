"""Softmax, log-softmax and cross-entropy over class scores.

For logits z (N, K) along the class dimension:

    softmax:      p_k = exp(z_k - m) / sum_j exp(z_j - m)      m = max_j z_j
    log_softmax:  l_k = (z_k - m) - log sum_j exp(z_j - m)

Subtracting the row maximum m changes nothing mathematically and keeps every
exp() argument <= 0, so logits of +-1e4 neither overflow nor give NaN.

Backward, with upstream gradient g:
    softmax:      dz = p * (g - sum_k g_k p_k)
    log_softmax:  dz = g - p * sum_k g_k

Cross-entropy with integer targets t (mean over the batch):
    loss = -(1/N) sum_n l[n, t_n]
    dz[n, k] = (p[n, k] - [k == t_n]) / N
fused into one op, so the backward is the stable closed form above.
"""
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, check_dim

__all__ = ["softmax", "log_softmax", "cross_entropy"]


def _log_softmax(z, axis):
    xp = get_array_module(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _check_class_dim(op, z, dim):
    """Refuse a 0-d input and a ``dim`` outside its dimensions, naming ``op``."""
    if z.ndim == 0:
        raise ShapeError(f"{op}: needs a tensor of 1 or more dimensions (the classes along dim), got a 0-d tensor")
    check_dim(op, dim, z.ndim)


class Softmax(Function):
    def __init__(self, dim=-1):
        self.dim = dim

    def forward(self, z):
        _check_class_dim("softmax", z, self.dim)
        self.y = get_array_module(z).exp(_log_softmax(z, self.dim))
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, dim=-1):
        self.dim = dim

    def forward(self, z):
        _check_class_dim("log_softmax", z, self.dim)
        self.y = _log_softmax(z, self.dim)
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        return g - xp.exp(self.y) * g.sum(axis=self.dim, keepdims=True)


REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, where="cross_entropy"):
    """``reduction`` if it is one of REDUCTIONS, else a ValueError naming ``where`` (nn.CrossEntropyLoss too)."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over integer targets.

    Keeps the softmax probabilities (N, K) and the targets (N,).
    """

    def __init__(self, reduction="mean"):
        self.reduction = check_reduction(reduction)

    def _check(self, z, t):
        xp = get_array_module(z)
        if z.ndim != 2:
            raise ShapeError(
                f"cross_entropy expects logits of shape (N, num_classes), got shape {tuple(z.shape)}"
            )
        if t.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {t.dtype}")
        if t.shape != (z.shape[0],):
            raise ShapeError(
                f"cross_entropy: expected targets of shape ({z.shape[0]},) for logits of shape "
                f"{tuple(z.shape)}, got {tuple(t.shape)}"
            )
        K = z.shape[1]
        bad = (t < 0) | (t >= K)
        if bool(bad.any()):
            i = int(xp.argmax(bad))
            raise ValueError(
                f"cross_entropy: target class {int(t[i])} at position {i} is out of range for "
                f"{K} classes (valid classes are 0..{K - 1})"
            )

    def forward(self, z, t):
        self._check(z, t)
        xp = get_array_module(z)
        N = z.shape[0]
        logp = _log_softmax(z, 1)
        rows = xp.arange(N)
        losses = -logp[rows, t]
        self.p, self.t = xp.exp(logp), t
        if self.reduction == "none":
            return losses
        total = losses.sum()
        return total / z.dtype.type(N) if self.reduction == "mean" else total

    def backward(self, g):
        xp = get_array_module(g)
        N = self.p.shape[0]
        d = self.p.copy()
        d[xp.arange(N), self.t] -= 1
        if self.reduction == "none":
            return d * g[:, None], None
        if self.reduction == "mean":
            g = g / g.dtype.type(N)
        return d * g, None


def softmax(x, dim=-1):
    """exp(x) / sum exp(x) along ``dim``, computed with the row maximum subtracted."""
    return Softmax(dim)(x)


def log_softmax(x, dim=-1):
    """log(softmax(x)) along ``dim``, computed stably (no log of a tiny number)."""
    return LogSoftmax(dim)(x)


def cross_entropy(logits, targets, reduction="mean"):
    """Cross-entropy between logits (N, K) and integer class indices (N,), averaged over the batch.

    ``targets`` may be an array or a Tensor of integers in [0, K). One unbatched
    sample, logits (K,) with a 0-d target, is taken as a batch of one.
    """
    if getattr(logits, "ndim", None) == 1 and getattr(targets, "ndim", None) == 0:
        loss = CrossEntropy(reduction)(logits.reshape(1, -1), targets.reshape(1))
        return loss.reshape(()) if reduction == "none" else loss
    return CrossEntropy(reduction)(logits, targets)
