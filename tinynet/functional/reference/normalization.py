"""Reference loops: see tinynet/functional/reference/__init__.py. Imports only NumPy.

Local response norm, batch norm (forward, and its backward by the chain rule one stage at a time) and
layer norm, every statistic an explicit sum, in float64. The fast ops are in
tinynet/functional/normalization.py, batchnorm.py and layernorm.py; docs/local_response_norm.md,
docs/batch_norm.md and docs/layer_norm.md derive them.
"""
import numpy as np

__all__ = ["local_response_norm", "batch_norm", "batch_norm_backward", "layer_norm"]


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """y[n, c] = x[n, c] * (k + alpha/size * sum_{c' in window(c), 0 <= c' < C} x[n, c']^2) ** -beta,
    window(c) = c - size//2 .. c + (size-1)//2 (PyTorch's convention)."""
    x = np.asarray(x, dtype=np.float64)
    N, C = x.shape[:2]
    y = np.empty_like(x)
    for n in range(N):
        for c in range(C):
            lo = max(0, c - size // 2)
            hi = min(C - 1, c + (size - 1) // 2)
            energy = np.zeros(x.shape[2:])
            for c2 in range(lo, hi + 1):
                energy += x[n, c2] ** 2
            y[n, c] = x[n, c] * (k + alpha / size * energy) ** (-beta)
    return y


def _channel_values(x, c):
    """The indices of channel c of x (N, C, ...): every (n, c, position), in order."""
    return [(n, c) + p for n in range(x.shape[0]) for p in np.ndindex(x.shape[2:])]


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch norm of x (N, C, ...), channel by channel: (y, new running_mean, new running_var).

    training: mu = sum(x) / n and var = sum((x - mu)^2) / n over the n values of a channel normalise,
    and the running statistics become (1 - momentum) * old + momentum * (mu, sum((x - mu)^2) / (n - 1)).
    Otherwise the running statistics normalise and are returned unchanged. The inputs are not modified.
    """
    x = np.asarray(x, dtype=np.float64)
    C = x.shape[1]
    y = np.empty_like(x)
    new_mean = None if running_mean is None else np.array(running_mean, dtype=np.float64)
    new_var = None if running_var is None else np.array(running_var, dtype=np.float64)
    for c in range(C):
        cells = _channel_values(x, c)
        n = len(cells)
        if training:
            total = 0.0
            for i in cells:
                total += x[i]
            mu = total / n
            squares = 0.0
            for i in cells:
                squares += (x[i] - mu) ** 2
            var = squares / n  # biased: this is the variance of these n numbers
            if running_mean is not None:
                new_mean[c] = (1 - momentum) * running_mean[c] + momentum * mu
                new_var[c] = (1 - momentum) * running_var[c] + momentum * squares / (n - 1)  # unbiased
        else:
            mu, var = running_mean[c], running_var[c]
        gamma = 1.0 if weight is None else weight[c]
        beta = 0.0 if bias is None else bias[c]
        for i in cells:
            y[i] = gamma * (x[i] - mu) / np.sqrt(var + eps) + beta
    return y, new_mean, new_var


def batch_norm_backward(x, g, weight=None, eps=1e-5):
    """The gradients (dx, dgamma, dbeta) of training-mode batch norm, by the chain rule one stage at a time.

    Per channel, with x_hat = (x - mu) / s, s = sqrt(var + eps), and y = gamma * x_hat + beta:

        dx_hat = g * gamma
        dvar   = sum(dx_hat * (x - mu)) * (-1/2) * (var + eps)^(-3/2)
        dmu    = sum(-dx_hat / s) + dvar * sum(-2 * (x - mu)) / n          (the second sum is 0)
        dx     = dx_hat / s + dvar * 2 * (x - mu) / n + dmu / n
        dgamma = sum(g * x_hat)        dbeta = sum(g)

    The fast op uses the compact form docs/batch_norm.md derives from this one.
    """
    x, g = np.asarray(x, dtype=np.float64), np.asarray(g, dtype=np.float64)
    C = x.shape[1]
    dx = np.empty_like(x)
    dgamma, dbeta = np.zeros(C), np.zeros(C)
    for c in range(C):
        cells = _channel_values(x, c)
        n = len(cells)
        mu = sum(x[i] for i in cells) / n
        var = sum((x[i] - mu) ** 2 for i in cells) / n
        s = np.sqrt(var + eps)
        gamma = 1.0 if weight is None else weight[c]
        dvar = 0.0
        for i in cells:
            dvar += g[i] * gamma * (x[i] - mu)
        dvar *= -0.5 * (var + eps) ** -1.5
        dmu = 0.0
        centred_sum = 0.0
        for i in cells:
            dmu += -g[i] * gamma / s
            centred_sum += -2 * (x[i] - mu)
        dmu += dvar * centred_sum / n
        for i in cells:
            dx[i] = g[i] * gamma / s + dvar * 2 * (x[i] - mu) / n + dmu / n
            dgamma[c] += g[i] * (x[i] - mu) / s
            dbeta[c] += g[i]
    return dx, dgamma, dbeta


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer norm of x (*, *normalized_shape), sample by sample: each index of the leading dims is
    normalised by the mean and biased variance of its trailing values, then y = gamma * x_hat + beta
    with gamma and beta of shape normalized_shape (one value per normalised element)."""
    x = np.asarray(x, dtype=np.float64)
    k = len(normalized_shape)
    leading, trailing = x.shape[:x.ndim - k], x.shape[x.ndim - k:]
    y = np.empty_like(x)
    for sample in np.ndindex(leading):
        cells = list(np.ndindex(trailing))
        m = len(cells)
        total = 0.0
        for p in cells:
            total += x[sample + p]
        mu = total / m
        squares = 0.0
        for p in cells:
            squares += (x[sample + p] - mu) ** 2
        var = squares / m
        for p in cells:
            gamma = 1.0 if weight is None else weight[p]
            beta = 0.0 if bias is None else bias[p]
            y[sample + p] = gamma * (x[sample + p] - mu) / np.sqrt(var + eps) + beta
    return y
