"""Max pooling: the forward with an integer argmax, the backward by kernel offset, and PyTorch's flat
indices; and the window geometry (padded extent, padding, the taps at one offset, cropping) that
average pooling (kernels/avg_pool.py) imports from here.

Notation: x (N, C, H, W), window kH x kW, stride (sH, sW), padding (pH, pW), dilation (dH, dW),
output (N, C, OH, OW) with OH = kernels.sizes.conv_output_size(H, kH, sH, pH, dH, ceil_mode).

Window (oh, ow) reads the taps h = oh*sH - pH + i*dH, w = ow*sW - pW + j*dW for i < kH, j < kW.
The pooling kernels pad the input far enough that each tap of each window is a cell of the padded
array: by pH on the top and left, and on the bottom and right by pH or more, as far as the last
window reaches (``_extent``; with ceil_mode a last window may hang past the padded edge). Then the
taps at offset k = i*kW + j of all the windows are one strided slice of the padded planes
(``_taps``), and every loop runs over the kH*kW offsets, never over pixels.

Max pooling pads with -inf, so a padded cell never wins a window, and an all-negative window
returns its true (negative) maximum. The argmax is stored as the offset k of the winning tap, in the
smallest unsigned integer type that holds kH*kW (uint8 for 3x3): one byte per output instead of a
copy of the input. The winner is PyTorch's: scanning the taps in row-major order, a value greater
than the best so far, or a NaN, takes over. So on a tie the first cell wins, the last NaN of a
window wins it (NaN propagates), and a window whose real cells are all -inf (or that has none,
which dilation allows) keeps its first tap at or after the top-left edge of the input. The NumPy
version takes the maxima first (a running ``maximum`` over the offsets), then the first offset
that holds the maximum (an equality test per offset, the write done as integer arithmetic), and
then fixes the rare NaN and -inf windows. It runs on blocks of (n, c) planes small enough to stay
in a core's cache, on all cores (kernels.parallel), so the input is read from memory once rather
than once per pass. The CUDA twins are in kernels/cuda/pool.cu.
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


def _extent(size, padding, out, kernel, stride, dilation):
    """The padded length along one axis that holds every tap of ``out`` windows (at least size + 2*padding)."""
    return max(size + 2 * padding, (out - 1) * stride + dilation * (kernel - 1) + 1)


def _pad(x, padding, extent, value, xp):
    """(N*C, Hp, Wp) planes of ``x`` (N, C, H, W) placed at (pH, pW) in a block of ``value``
    (x itself, reshaped, where no padding is needed)."""
    N, C, H, W = x.shape
    (pH, pW), (Hp, Wp) = padding, extent
    if (Hp, Wp) == (H, W):
        return x.reshape(N * C, H, W)
    planes = xp.full((N * C, Hp, Wp), value, dtype=x.dtype)
    planes[:, pH:pH + H, pW:pW + W] = x.reshape(N * C, H, W)
    return planes


def _taps(planes, i, j, out, stride, dilation):
    """The taps at offset (i, j) of every window: planes[:, i*dH + oh*sH, j*dW + ow*sW], one strided view."""
    (OH, OW), (sH, sW), (dH, dW) = out, stride, dilation
    h, w = i * dH, j * dW
    return planes[:, h:h + sH * (OH - 1) + 1:sH, w:w + sW * (OW - 1) + 1:sW]


def _crop(planes, x_shape, padding, xp):
    """The (N, C, H, W) input cells of (N*C, Hp, Wp) planes laid out as by ``_pad``: a contiguous copy
    where there is padding to drop, else the planes themselves, reshaped."""
    N, C, H, W = x_shape
    (pH, pW), (Hp, Wp) = padding, planes.shape[1:]
    planes = planes.reshape(N, C, Hp, Wp)
    if (Hp, Wp) == (H, W):
        return planes
    return xp.ascontiguousarray(planes[:, :, pH:pH + H, pW:pW + W])


def _first_real_tap(out, stride, padding, dilation):
    """Per axis, the offset of the first tap at or past the input's top (left) edge: ceil((p - o*s) / d) or 0."""
    o = np.arange(out)
    return np.maximum(0, -((o * stride - padding) // dilation))


# --- max pooling ---------------------------------------------------------------------------------------------

def maxpool_forward(x, kernel_size, stride, padding, with_argmax=True, dilation=(1, 1), ceil_mode=False):
    """Max over each window.

    Args:
        x: (N, C, H, W) float array.
        kernel_size, stride, padding, dilation: pairs (kH, kW), (sH, sW), (pH, pW), (dH, dW).
        with_argmax: False when no backward will follow (inference): only the maxima are taken.
        ceil_mode: round the output size up (PyTorch's rule, kernels.sizes).

    Returns:
        y: (N, C, OH, OW), the window maxima.
        argmax: (N, C, OH, OW) unsigned ints, the winning offset i*kW + j (None without ``with_argmax``).
    """
    dtype = _offset_dtype(kernel_size[0] * kernel_size[1])
    if _cuda.handles(x):  # a CuPy float array: the CUDA kernel (kernels/cuda/pool.cu)
        y, argmax = _cuda.maxpool_forward(x, kernel_size, stride, padding, dtype, dilation, ceil_mode)
        return y, (argmax if with_argmax else None)
    xp = get_array_module(x)
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH = conv_output_size(H, kH, sH, pH, dH, ceil_mode)
    OW = conv_output_size(W, kW, sW, pW, dW, ceil_mode)
    Hp, Wp = _extent(H, pH, OH, kH, sH, dH), _extent(W, pW, OW, kW, sW, dW)

    # The N*C planes are independent: work on blocks of planes that fit in a core's cache,
    # on every core (kernels.parallel). Each block writes only its own planes of y and argmax.
    planes = _pad(x, (pH, pW), (Hp, Wp), -xp.inf, xp)
    y = workspace.empty((N * C, OH, OW), x.dtype, xp)
    argmax = workspace.empty((N * C, OH, OW), dtype, xp) if with_argmax else None

    def window(xb, k):  # the cells at offset k = i*kW + j of every window of the planes xb: one strided view
        return _taps(xb, *divmod(k, kW), (OH, OW), (sH, sW), (dH, dW))

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

    plane_bytes = x.itemsize * Hp * Wp + (x.itemsize + 1) * OH * OW
    parallel.run_blocks(N * C, block, parallel.items_per_block(plane_bytes), xp)
    if argmax is not None:
        _fix_special_windows(y, argmax, planes, window, kernel_size, (OH, OW), stride, padding, dilation, xp)
        argmax = argmax.reshape(N, C, OH, OW)
    return y.reshape(N, C, OH, OW), argmax


def _fix_special_windows(y, argmax, planes, window, kernel_size, out, stride, padding, dilation, xp):
    """The argmax where the maximum equals no cell by ``==`` (NaN) or may equal padding (-inf).

    A NaN maximum: the window's last NaN cell, as PyTorch. A -inf maximum: every real cell is -inf
    (or there is none), and PyTorch keeps the first tap at or after the input's top-left edge,
    offset (i0, j0) of ``_first_real_tap``. Both are rare (a NaN activation means a diverging run;
    -inf comes from masking), so the common case costs one comparison pass over y.
    """
    if bool((y > -xp.inf).all()):
        return
    nan = xp.isnan(y)
    if nan.any():
        for k in range(kernel_size[0] * kernel_size[1]):  # first to last: the last NaN stays
            xp.copyto(argmax, argmax.dtype.type(k), where=nan & xp.isnan(window(planes, k)))
    i0 = _first_real_tap(out[0], stride[0], padding[0], dilation[0])
    j0 = _first_real_tap(out[1], stride[1], padding[1], dilation[1])
    first = xp.asarray((i0[:, None] * kernel_size[1] + j0[None, :]).astype(argmax.dtype))
    xp.copyto(argmax, first, where=y == -xp.inf)


def maxpool_backward(gy, argmax, x_shape, kernel_size, stride, padding, dilation=(1, 1)):
    """Send each output's gradient to the input cell that won its window.

    Where overlapping windows (e.g. 3x3 stride 2) pick the same cell, its
    gradient is the sum of theirs. For a fixed offset (i, j) the strided slice
    touches each input cell at most once, so ``+=`` per offset is exact. The
    N*C planes are independent and go in cache-sized blocks over every core.
    A window with no real cell (possible with dilation) sends its gradient to
    the padding, which is cropped off: its output is -inf whatever x is.

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
        return _cuda.maxpool_backward(gy, argmax, x_shape, kernel_size, stride, padding, dilation)
    xp = get_array_module(gy)
    N, C, H, W = x_shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH, OW = gy.shape[2], gy.shape[3]
    Hp, Wp = _extent(H, pH, OH, kH, sH, dH), _extent(W, pW, OW, kW, sW, dW)

    gx_pad = workspace.empty((N * C, Hp, Wp), gy.dtype, xp)
    g_planes = gy.reshape(N * C, OH, OW)
    a_planes = argmax.reshape(N * C, OH, OW)

    def block(start, stop):
        gb, ab, gxb = g_planes[start:stop], a_planes[start:stop], gx_pad[start:stop]
        gxb.fill(0)
        for i in range(kH):
            for j in range(kW):  # g where offset (i, j) won, 0 elsewhere: a product with the bool mask
                _taps(gxb, i, j, (OH, OW), (sH, sW), (dH, dW))[...] += gb * (ab == i * kW + j)

    plane_bytes = gy.itemsize * (Hp * Wp + OH * OW) + argmax.itemsize * OH * OW
    parallel.run_blocks(N * C, block, parallel.items_per_block(plane_bytes), xp)
    return _crop(gx_pad, x_shape, padding, xp)


def maxpool_indices(argmax, x_shape, kernel_size, stride, padding, dilation=(1, 1)):
    """PyTorch's ``return_indices``: each winner's flat position h*W + w in its (n, c) plane of the
    unpadded input, as int64, from the offsets of ``maxpool_forward``:

        h = oh*sH - pH + i*dH,   w = ow*sW - pW + j*dW,   (i, j) = divmod(argmax, kW)

    (A window with no real cell gets the position of its first tap at or past the top-left edge,
    which lies outside the plane or on another row, as in PyTorch.)
    """
    xp = get_array_module(argmax)
    W = x_shape[3]
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH, OW = argmax.shape[-2:]
    i, j = xp.divmod(argmax.astype(np.int64), kW)
    h = xp.arange(OH, dtype=np.int64)[:, None] * sH - pH + i * dH
    w = xp.arange(OW, dtype=np.int64) * sW - pW + j * dW
    return h * W + w
