"""Pooling windows: max-pool forward with an integer argmax and backward by kernel
offset; the averaging matrices of adaptive average pooling.

Notation: x (N, C, H, W), window kH x kW, stride (sH, sW), padding (pH, pW),
output (N, C, OH, OW) with OH = floor((H + 2*pH - kH) / sH) + 1.

Padding is -inf, so a padded cell never wins a window, and an all-negative
window returns its true (negative) maximum.

The argmax is stored as the kernel offset k = i*kW + j of the winning cell
inside its window, in the smallest unsigned integer type that holds kH*kW
(uint8 for 3x3): one byte per output instead of a copy of the input.

Ties: the first cell in row-major window order wins; a NaN in a window wins
it, so NaN propagates as in PyTorch. The NumPy version takes the maxima first
(a running ``maximum`` over the offsets) and then the first offset that holds
the maximum: two passes per offset, about a third of the work of tracking a
"better" mask per offset.
"""
import numpy as np

from kernels import cuda as _cuda
from kernels.array import get_array_module
from kernels.im2col import conv_output_size


def _offset_dtype(n_offsets):
    if n_offsets <= 256:
        return "uint8"
    if n_offsets <= 65536:
        return "uint16"
    return "int64"


def maxpool_forward(x, kernel_size, stride, padding):
    """Max over each window.

    Args:
        x: (N, C, H, W) float array.
        kernel_size, stride, padding: pairs (kH, kW), (sH, sW), (pH, pW).

    Returns:
        y: (N, C, OH, OW), the window maxima.
        argmax: (N, C, OH, OW) unsigned ints, the winning offset i*kW + j.
    """
    if _cuda.handles(x):  # a CuPy float array: the CUDA kernel (kernels/cuda/pool.cu)
        return _cuda.maxpool_forward(x, kernel_size, stride, padding, _offset_dtype(kernel_size[0] * kernel_size[1]))
    xp = get_array_module(x)
    N, C, H, W = x.shape
    kH, kW = kernel_size
    sH, sW = stride
    pH, pW = padding
    OH = conv_output_size(H, kH, sH, pH)
    OW = conv_output_size(W, kW, sW, pW)

    if pH or pW:
        x_pad = xp.full((N, C, H + 2 * pH, W + 2 * pW), -xp.inf, dtype=x.dtype)
        x_pad[:, :, pH:pH + H, pW:pW + W] = x
    else:
        x_pad = x

    def window(k):  # the cells at offset k = i*kW + j of every window: one strided view
        i, j = divmod(k, kW)
        return x_pad[:, :, i:i + sH * OH:sH, j:j + sW * OW:sW]

    # The maxima: a running maximum over the kH*kW offsets (np.maximum propagates NaN).
    y = window(0).copy()
    for k in range(1, kH * kW):
        xp.maximum(y, window(k), out=y)
    # The argmax: the first offset, in row-major order, whose cell equals the maximum.
    # Visiting the offsets last to first and overwriting leaves the first match.
    argmax = xp.zeros((N, C, OH, OW), dtype=_offset_dtype(kH * kW))
    for k in reversed(range(kH * kW)):
        xp.copyto(argmax, argmax.dtype.type(k), where=window(k) == y)
    # A NaN maximum equals nothing: its argmax is the window's first NaN cell. Rare (a NaN
    # activation means a diverging run), so it costs one check in the common case.
    nan = xp.isnan(y)
    if nan.any():
        for k in reversed(range(kH * kW)):
            xp.copyto(argmax, argmax.dtype.type(k), where=nan & xp.isnan(window(k)))
    return y, argmax


def maxpool_backward(gy, argmax, x_shape, kernel_size, stride, padding):
    """Send each output's gradient to the input cell that won its window.

    Where overlapping windows (e.g. 3x3 stride 2) pick the same cell, its
    gradient is the sum of theirs. For a fixed offset (i, j) the strided slice
    touches each input cell at most once, so ``+=`` per offset is exact.

    Args:
        gy: (N, C, OH, OW) upstream gradient.
        argmax: (N, C, OH, OW) offsets from ``maxpool_forward``.
        x_shape: (N, C, H, W).

    Returns:
        gx: (N, C, H, W), same dtype as ``gy``.
    """
    if _cuda.handles(gy) and argmax.dtype in _cuda.ARGMAX_TYPES:  # the CUDA gather (kernels/cuda/pool.cu)
        return _cuda.maxpool_backward(gy, argmax, x_shape, kernel_size, stride, padding)
    xp = get_array_module(gy)
    N, C, H, W = x_shape
    kH, kW = kernel_size
    sH, sW = stride
    pH, pW = padding
    OH, OW = gy.shape[2], gy.shape[3]

    gx_pad = xp.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=gy.dtype)
    zero = xp.zeros((), dtype=gy.dtype)
    for i in range(kH):
        for j in range(kW):
            gx_pad[:, :, i:i + sH * OH:sH, j:j + sW * OW:sW] += xp.where(argmax == i * kW + j, gy, zero)
    if pH or pW:
        return xp.ascontiguousarray(gx_pad[:, :, pH:pH + H, pW:pW + W])
    return gx_pad


def adaptive_pool_matrix(in_size: int, out_size: int, dtype, xp):
    """The (out_size, in_size) averaging matrix of adaptive average pooling along one axis.

    Output cell i averages input cells [floor(i*in/out), ceil((i+1)*in/out)),
    so P[i, j] = 1/len(bin i) for j in bin i and 0 elsewhere. Pooling an
    (H, W) map is then P_h @ x @ P_w^T: two small matrix products and no
    loop over output cells. Built on the host (it is out_size x in_size) and
    moved to ``xp``'s device.
    """
    p = np.zeros((out_size, in_size), dtype=dtype)
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = -((-(i + 1) * in_size) // out_size)  # ceil((i+1) * in / out)
        p[i, start:end] = 1.0 / (end - start)
    return xp.asarray(p)
