"""Pooling windows: max-pool forward with an integer argmax and backward by kernel offset; average
pooling as sums of strided slices; the bins of adaptive pooling (average and max).

Notation: x (N, C, H, W), window kH x kW, stride (sH, sW), padding (pH, pW), dilation (dH, dW),
output (N, C, OH, OW) with OH = kernels.sizes.conv_output_size(H, kH, sH, pH, dH, ceil_mode).

Window (oh, ow) reads the taps h = oh*sH - pH + i*dH, w = ow*sW - pW + j*dW for i < kH, j < kW.
Every function here pads the input far enough that each tap of each window is a cell of the padded
array: by pH on the top and left, and on the bottom and right by pH or more, as far as the last
window reaches (with ceil_mode a last window may hang past the padded edge). Then the taps at
offset k = i*kW + j of all the windows are one strided slice of the padded planes, and every loop
below runs over the kH*kW offsets, never over pixels.

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
than once per pass.

Average pooling pads with 0 and divides each window's sum by the divisor of
``avgpool_divisor`` (PyTorch's three rules).
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
    gx_pad = gx_pad.reshape(N, C, Hp, Wp)
    if (Hp, Wp) != (H, W):
        return xp.ascontiguousarray(gx_pad[:, :, pH:pH + H, pW:pW + W])
    return gx_pad


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


# --- average pooling -----------------------------------------------------------------------------------------

def _window_counts(size, out, kernel, stride, padding, include_pad):
    """Along one axis, how many cells window o counts: with ``include_pad`` those inside input + padding
    [o*s - p, min(o*s - p + k, size + p)), else those inside the input [max(o*s - p, 0), min(o*s - p + k, size))."""
    start = np.arange(out) * stride - padding
    if include_pad:
        return np.minimum(start + kernel, size + padding) - start
    return np.minimum(start + kernel, size) - np.maximum(start, 0)


def avgpool_divisor(in_size, out_size, kernel_size, stride, padding, count_include_pad=True, divisor_override=None,
                    dtype=np.float64, xp=np):
    """The (OH, OW) divisors of average pooling, PyTorch's rules:

        divisor_override given:      that number for every window
        count_include_pad (default): the window's cells inside input + padding, so a window that
                                     hangs past the padded edge (ceil_mode) counts only the part inside
        otherwise:                   the window's cells inside the input

    Each count is a product of a row count and a column count (``_window_counts``). Built on the host
    (it is OH x OW) and moved to ``xp``'s device in ``dtype``.
    """
    (H, W), (OH, OW) = in_size, out_size
    if divisor_override is not None:
        return xp.full((OH, OW), divisor_override, dtype=dtype)
    rows = _window_counts(H, OH, kernel_size[0], stride[0], padding[0], count_include_pad)
    cols = _window_counts(W, OW, kernel_size[1], stride[1], padding[1], count_include_pad)
    return xp.asarray((rows[:, None] * cols[None, :]).astype(dtype))


def avgpool_forward(x, kernel_size, stride, padding, divisor):
    """Each window's sum over the zero-padded input, divided by its divisor.

    Args:
        x: (N, C, H, W) float array.
        kernel_size, stride, padding: pairs.
        divisor: (OH, OW) from ``avgpool_divisor``; its shape gives the output size.

    Returns:
        y: (N, C, OH, OW). The sum adds the kH*kW strided slices in row-major offset order (the
        padding adds exact zeros), then divides once: in float64 PyTorch's numbers bit for bit.
    """
    xp = get_array_module(x)
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW) = kernel_size, stride, padding
    OH, OW = divisor.shape
    extent = (_extent(H, pH, OH, kH, sH, 1), _extent(W, pW, OW, kW, sW, 1))
    planes = _pad(x, padding, extent, 0, xp)
    y = xp.empty((N * C, OH, OW), dtype=x.dtype)

    def block(start, stop):
        xb, yb = planes[start:stop], y[start:stop]
        yb[...] = _taps(xb, 0, 0, (OH, OW), (sH, sW), (1, 1))
        for k in range(1, kH * kW):
            yb += _taps(xb, *divmod(k, kW), (OH, OW), (sH, sW), (1, 1))
        yb /= divisor

    plane_bytes = x.itemsize * (extent[0] * extent[1] + OH * OW)
    parallel.run_blocks(N * C, block, parallel.items_per_block(plane_bytes), xp)
    return y.reshape(N, C, OH, OW)


def avgpool_backward(gy, x_shape, kernel_size, stride, padding, divisor):
    """Spread each output's gradient evenly over its window: every counted cell gets g / divisor.

    dx_pad[taps at offset (i, j)] += g / divisor for each of the kH*kW offsets (a fixed offset
    touches each cell at most once, so ``+=`` is exact), then the padding is cropped off: the
    share of a padded cell is dropped, as its value was a constant 0.
    """
    xp = get_array_module(gy)
    N, C, H, W = x_shape
    (kH, kW), (sH, sW), (pH, pW) = kernel_size, stride, padding
    OH, OW = gy.shape[2], gy.shape[3]
    Hp, Wp = _extent(H, pH, OH, kH, sH, 1), _extent(W, pW, OW, kW, sW, 1)
    share = (gy / divisor).reshape(N * C, OH, OW)
    gx_pad = xp.empty((N * C, Hp, Wp), dtype=gy.dtype)

    def block(start, stop):
        sb, gxb = share[start:stop], gx_pad[start:stop]
        gxb.fill(0)
        for i in range(kH):
            for j in range(kW):
                _taps(gxb, i, j, (OH, OW), (sH, sW), (1, 1))[...] += sb

    plane_bytes = gy.itemsize * (Hp * Wp + OH * OW)
    parallel.run_blocks(N * C, block, parallel.items_per_block(plane_bytes), xp)
    gx_pad = gx_pad.reshape(N, C, Hp, Wp)
    if (Hp, Wp) != (H, W):
        return xp.ascontiguousarray(gx_pad[:, :, pH:pH + H, pW:pW + W])
    return gx_pad


# --- adaptive pooling ----------------------------------------------------------------------------------------

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
