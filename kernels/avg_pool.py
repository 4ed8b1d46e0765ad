"""Average pooling: PyTorch's divisors, the forward as a sum of strided slices, the backward as even shares.

Notation: x (N, C, H, W), window kH x kW, stride (sH, sW), padding (pH, pW), output (N, C, OH, OW)
with OH = kernels.sizes.conv_output_size(H, kH, sH, pH, 1, ceil_mode). Window (oh, ow) holds the
cells h = oh*sH - pH + i, w = ow*sW - pW + j for i < kH, j < kW.

The window geometry is max pooling's (kernels/pool.py, without dilation): the input is padded with 0
far enough that every cell of every window is a cell of the padded planes (``_extent``, ``_pad``),
the cells at offset (i, j) of all the windows are one strided slice (``_taps``), and the loops run
over the kH*kW offsets. Each window's sum is divided by its divisor from ``avgpool_divisor``
(PyTorch's three rules).
"""
import numpy as np

from kernels import parallel
from kernels.array import get_array_module
from kernels.pool import _crop, _extent, _pad, _taps


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
    return _crop(gx_pad, x_shape, padding, xp)
