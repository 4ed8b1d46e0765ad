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
the maximum (an equality test per offset, the write done as integer
arithmetic). It runs on blocks of (n, c) planes small enough to stay in a
core's cache, on all cores (kernels.parallel), so the input is read from
memory once rather than once per pass.
"""
import numpy as np

from kernels import cuda as _cuda
from kernels import parallel, workspace
from kernels.array import get_array_module
from kernels.sizes import conv_output_size


def _offset_dtype(n_offsets):
    if n_offsets <= 256:
        return "uint8"
    if n_offsets <= 65536:
        return "uint16"
    return "int64"


def maxpool_forward(x, kernel_size, stride, padding, with_argmax=True):
    """Max over each window.

    Args:
        x: (N, C, H, W) float array.
        kernel_size, stride, padding: pairs (kH, kW), (sH, sW), (pH, pW).
        with_argmax: False when no backward will follow (inference): only the maxima are taken.

    Returns:
        y: (N, C, OH, OW), the window maxima.
        argmax: (N, C, OH, OW) unsigned ints, the winning offset i*kW + j (None without ``with_argmax``).
    """
    dtype = _offset_dtype(kernel_size[0] * kernel_size[1])
    if _cuda.handles(x):  # a CuPy float array: the CUDA kernel (kernels/cuda/pool.cu)
        y, argmax = _cuda.maxpool_forward(x, kernel_size, stride, padding, dtype)
        return y, (argmax if with_argmax else None)
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
    # The N*C planes are independent: work on blocks of planes that fit in a core's cache,
    # on every core (kernels.parallel). Each block writes only its own planes of y and argmax.
    planes = x_pad.reshape(N * C, H + 2 * pH, W + 2 * pW)
    y = workspace.empty((N * C, OH, OW), x.dtype, xp)
    argmax = workspace.empty((N * C, OH, OW), dtype, xp) if with_argmax else None

    def window(xb, k):  # the cells at offset k = i*kW + j of every window of the planes xb: one strided view
        i, j = divmod(k, kW)
        return xb[:, i:i + sH * OH:sH, j:j + sW * OW:sW]

    def block(start, stop):
        xb, yb = planes[start:stop], y[start:stop]
        # The maxima: a running maximum over the kH*kW offsets (np.maximum propagates NaN).
        yb[...] = window(xb, 0)
        for k in range(1, kH * kW):
            xp.maximum(yb, window(xb, k), out=yb)
        if argmax is None:
            return
        # The argmax: the first offset, in row-major order, whose cell equals the maximum.
        # Visiting the offsets last to first and overwriting leaves the first match. The
        # overwrite "ab = k where equal" is written as arithmetic, ab += equal * (k - ab): it
        # adds k - ab where equal and 0 elsewhere. In unsigned ints k - ab may wrap around, and
        # adding it wraps back, so the sum is exactly k. Three plain passes over small integer
        # arrays cost a fraction of one masked assignment (``copyto(..., where=)``) in NumPy.
        ab = argmax[start:stop]
        ab.fill(0)
        equal = xp.empty(yb.shape, dtype=bool)
        step = xp.empty(yb.shape, dtype=ab.dtype)
        for k in reversed(range(kH * kW)):
            xp.equal(window(xb, k), yb, out=equal)
            xp.subtract(ab.dtype.type(k), ab, out=step)
            step *= equal
            ab += step

    plane_bytes = x.itemsize * (H + 2 * pH) * (W + 2 * pW) + (x.itemsize + 1) * OH * OW
    parallel.run_blocks(N * C, block, parallel.items_per_block(plane_bytes), xp)
    # A NaN maximum equals nothing: its argmax is the window's first NaN cell. Rare (a NaN
    # activation means a diverging run), so it costs one check in the common case.
    if argmax is not None:
        nan = xp.isnan(y)
        if nan.any():
            for k in reversed(range(kH * kW)):
                xp.copyto(argmax, argmax.dtype.type(k), where=nan & xp.isnan(window(planes, k)))
        argmax = argmax.reshape(N, C, OH, OW)
    return y.reshape(N, C, OH, OW), argmax


def maxpool_backward(gy, argmax, x_shape, kernel_size, stride, padding):
    """Send each output's gradient to the input cell that won its window.

    Where overlapping windows (e.g. 3x3 stride 2) pick the same cell, its
    gradient is the sum of theirs. For a fixed offset (i, j) the strided slice
    touches each input cell at most once, so ``+=`` per offset is exact. The
    N*C planes are independent and go in cache-sized blocks over every core.

    The gradient routed through offset k is ``gy * (argmax == k)``, a product with
    a boolean mask, which NumPy computes about twice as fast as ``where(argmax == k,
    gy, 0)``. As for ReLU, the one difference from selecting: an infinite or NaN
    upstream gradient also puts NaN (inf * 0) on the cells of its window that did
    not win - for a gradient that is already non-finite.

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

    gx_pad = workspace.empty((N * C, H + 2 * pH, W + 2 * pW), gy.dtype, xp)
    g_planes = gy.reshape(N * C, OH, OW)
    a_planes = argmax.reshape(N * C, OH, OW)

    def block(start, stop):
        gb, ab, gxb = g_planes[start:stop], a_planes[start:stop], gx_pad[start:stop]
        gxb.fill(0)
        for i in range(kH):
            for j in range(kW):  # g where offset (i, j) won, 0 elsewhere: a product with the bool mask
                gxb[:, i:i + sH * OH:sH, j:j + sW * OW:sW] += gb * (ab == i * kW + j)

    plane_bytes = gy.itemsize * ((H + 2 * pH) * (W + 2 * pW) + OH * OW) + argmax.itemsize * OH * OW
    parallel.run_blocks(N * C, block, parallel.items_per_block(plane_bytes), xp)
    gx_pad = gx_pad.reshape(N, C, H + 2 * pH, W + 2 * pW)
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
