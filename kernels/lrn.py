"""Windowed sums along the channel axis, and local response normalisation built on them.

For a (N, C, ...) array ``a`` and a window reaching ``before`` channels back
and ``after`` channels forward,

    S[n, c, ...] = sum_{c' = c - before}^{c + after} a[n, c', ...]

with channels outside [0, C) contributing zero (the window is clipped at the
edges, which is the same as zero padding).

``lrn_forward`` and ``lrn_backward`` are the arrays behind
``tinynet.functional.local_response_norm`` (whose docstring derives them):
here with the array library, a handful of element-wise passes around two
window sums; on the GPU one fused kernel each (kernels/cuda/lrn.cu).
"""
from kernels import cuda as _cuda
from kernels.array import get_array_module


def channel_window_sum(a, before: int, after: int):
    """Sum of ``a`` over the channel window [c - before, c + after] for every c.

    Args:
        a: (N, C, ...) array.
        before, after: non-negative window reach along axis 1.

    Returns:
        (N, C, ...) array of window sums, same dtype as ``a``.
    """
    if _cuda.handles(a):  # a CuPy float array: the CUDA kernel (kernels/cuda/lrn.cu)
        return _cuda.channel_window_sum(a, before, after)
    xp = get_array_module(a)
    C = a.shape[1]
    s = a.copy()
    # Loop over the window's offsets (size - 1 of them); each adds one shifted
    # slice of ``a``.
    for d in range(1, before + 1):
        if d < C:
            s[:, d:] += a[:, :C - d]
    for d in range(1, after + 1):
        if d < C:
            s[:, :C - d] += a[:, d:]
    return s


def lrn_forward(x, size, alpha, beta, k):
    """Local response norm across channels (PyTorch's convention, alpha divided by ``size``).

        s[n, c] = k + (alpha / size) * sum_{c' = c - size//2}^{c + (size-1)//2} x[n, c']^2
        y[n, c] = x[n, c] * s[n, c]^(-beta)

    Args:
        x: (N, C, ...) float array.
        size, alpha, beta, k: the layer's constants (rounded to x's dtype, as the arithmetic is).

    Returns:
        y: (N, C, ...), and s: (N, C, ...) the scale, which ``lrn_backward`` needs.
    """
    if _cuda.handles(x):  # one fused CUDA pass (kernels/cuda/lrn.cu)
        return _cuda.lrn_forward(x, size, alpha, beta, k)
    t = x.dtype.type
    window = channel_window_sum(x * x, size // 2, (size - 1) // 2)
    s = t(k) + t(alpha / size) * window
    return x * s ** t(-beta), s


def lrn_backward(g, x, s, size, alpha, beta):
    """The input gradient of ``lrn_forward`` for upstream gradient ``g`` (all (N, C, ...), one dtype).

        dx[n, c] = g * s^(-beta) - (2 * alpha * beta / size) * x * sum_{i} g_i * x_i * s_i^(-beta - 1)

    the sum running over the channels i whose window holds c: the window mirrored,
    (size-1)//2 channels back and size//2 forward.
    """
    if _cuda.handles(g, x, s):  # one fused CUDA pass (kernels/cuda/lrn.cu)
        return _cuda.lrn_backward(g, x, s, size, alpha, beta)
    t = g.dtype.type
    s_pow = s ** t(-beta)
    back = channel_window_sum(g * x * s_pow / s, (size - 1) // 2, size // 2)
    return g * s_pow - t(2 * alpha * beta / size) * x * back
