"""Adaptive pooling: the bins, the averaging matrices of adaptive average pooling, and adaptive max.

Notation: x (N, C, H, W) pooled to (N, C, OH, OW) for any OH, OW >= 1. Output cell (i, j) pools the
rows of bin i along H and the columns of bin j along W (``adaptive_bins``, the one place the rule
is written); bins may overlap or, with more outputs than inputs, repeat cells. No CUDA kernel:
the matrix products, gathers and ``bincount`` run on CuPy as they do on NumPy.
"""
import numpy as np

from kernels.array import get_array_module

def adaptive_bins(in_size: int, out_size: int):
    """The bins of adaptive pooling along one axis: output cell i covers the input cells
    [floor(i*in/out), ceil((i+1)*in/out)). Returns (starts, ends), two int64 host arrays of ``out_size``.
    Neighbouring bins overlap by a cell where in/out is not an integer; with out > in cells repeat."""
    i = np.arange(out_size, dtype=np.int64)
    return (i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)


def adaptive_pool_matrix(in_size: int, out_size: int, dtype, xp):
    """The (out_size, in_size) averaging matrix of adaptive average pooling along one axis.

    Output cell i averages the input cells of its bin (``adaptive_bins``), so P[i, j] = 1/len(bin i)
    for j in bin i and 0 elsewhere. Pooling an (H, W) map is then P_h @ x @ P_w^T: two small matrix
    products and no loop over output cells. Built on the host (it is out_size x in_size) and moved
    to ``xp``'s device.
    """
    p = np.zeros((out_size, in_size), dtype=dtype)
    for i, (start, end) in enumerate(zip(*adaptive_bins(in_size, out_size))):
        p[i, start:end] = 1.0 / (end - start)
    return xp.asarray(p)


def adaptive_maxpool_forward(x, output_size):
    """Max over each adaptive bin, and where it was.

    Bins differ in length by at most one cell per axis, so the loop runs over the offsets (i, j)
    of the longest bin: at each, one gather of the cell (start_h + i, start_w + j) of every bin,
    -inf where the offset is past a shorter bin's end. A value greater than the best so far, or a
    NaN, takes over (PyTorch's rule: first cell on a tie, last NaN).

    Args:
        x: (N, C, H, W) float array; output_size: (OH, OW).

    Returns:
        y: (N, C, OH, OW); indices: (N, C, OH, OW) int64, the flat position h*W + w of each maximum.
    """
    xp = get_array_module(x)
    H, W = x.shape[2:]
    (hs, he), (ws, we) = adaptive_bins(H, output_size[0]), adaptive_bins(W, output_size[1])
    y = indices = None
    for i in range(int((he - hs).max())):
        rows, row_in = np.minimum(hs + i, he - 1), hs + i < he
        x_rows = xp.take(x, xp.asarray(rows), axis=2)  # (N, C, OH, W): row start_h + i of every bin
        for j in range(int((we - ws).max())):
            cols, col_in = np.minimum(ws + j, we - 1), ws + j < we
            v = xp.take(x_rows, xp.asarray(cols), axis=3)
            inside = row_in[:, None] & col_in[None, :]
            if not inside.all():
                v = xp.where(xp.asarray(inside), v, -xp.inf)
            position = xp.asarray(rows[:, None] * W + cols[None, :])
            if y is None:  # offset (0, 0) is inside every bin
                y, indices = v, xp.broadcast_to(position, v.shape)
                continue
            take = (v > y) | xp.isnan(v)
            y, indices = xp.where(take, v, y), xp.where(take, position, indices)
    return y, xp.ascontiguousarray(indices)


def adaptive_maxpool_backward(gy, indices, x_shape):
    """Each output's gradient to its maximum's cell, summed where bins share a winner.

    Overlapping bins (in/out not an integer) can pick the same cell at different offsets of
    their bins, so the scatter is a ``bincount`` with weights over the flat positions n*C*H*W +
    c*H*W + indices: a sum per cell, on NumPy and CuPy alike.
    """
    xp = get_array_module(gy)
    N, C, H, W = x_shape
    planes = xp.arange(N * C, dtype=np.int64).reshape(N, C, 1, 1) * (H * W)
    flat = (indices + planes).ravel()
    gx = xp.bincount(flat, weights=gy.ravel(), minlength=N * C * H * W)
    return gx.astype(gy.dtype, copy=False).reshape(x_shape)
