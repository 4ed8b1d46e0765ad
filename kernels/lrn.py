"""Windowed sums along the channel axis, for local response normalisation.

For a (N, C, ...) array ``a`` and a window reaching ``before`` channels back
and ``after`` channels forward,

    S[n, c, ...] = sum_{c' = c - before}^{c + after} a[n, c', ...]

with channels outside [0, C) contributing zero (the window is clipped at the
edges, which is the same as zero padding).
"""
from kernels.array import get_array_module


def channel_window_sum(a, before: int, after: int):
    """Sum of ``a`` over the channel window [c - before, c + after] for every c.

    Args:
        a: (N, C, ...) array.
        before, after: non-negative window reach along axis 1.

    Returns:
        (N, C, ...) array of window sums, same dtype as ``a``.
    """
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
