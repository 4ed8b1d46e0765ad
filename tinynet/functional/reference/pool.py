"""Reference loops: see tinynet/functional/reference/__init__.py. Imports only NumPy.

Pooling as the definitions read, one window at a time, on (N, C, H, W) arrays:

    window_starts         where the windows along one axis begin (floor or ceil_mode), said in words
    max_pool2d            the maximum of each window's taps and where it is (PyTorch's indices)
    max_pool2d_backward   each output's gradient added to the cell its index names (adaptive max too)
    avg_pool2d            each window's sum divided by PyTorch's divisor
    avg_pool2d_backward   each output's gradient shared out over its window's cells
    adaptive_bin          the input cells output cell i of an adaptive pool covers
    adaptive_max_pool2d   the maximum of each bin and where it is
    adaptive_avg_pool2d   the mean of each bin

Window (oh, ow) of a pool with kernel (kH, kW), stride (sH, sW), padding (pH, pW) and dilation
(dH, dW) reads the taps h = oh*sH - pH + i*dH, w = ow*sW - pW + j*dW for i < kH, j < kW. A tap
outside the input is padding: -inf for max pooling, 0 for average pooling.
"""
import numpy as np

__all__ = ["window_starts", "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
           "adaptive_bin", "adaptive_max_pool2d", "adaptive_avg_pool2d"]


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def window_starts(size, kernel, stride, padding, dilation=1, ceil_mode=False):
    """The first tap of each window along an axis of ``size`` cells padded by ``padding`` on both sides.

    Windows start at -padding, -padding + stride, ... A window is kept while it fits inside input +
    padding. With ceil_mode one more is kept if the last one that fits left cells uncovered at the
    end, provided it starts inside the input or the left padding (PyTorch's rule): it hangs past the
    padded edge. (When not even the first window fits, ceil_mode keeps it if it is the only window
    and the stride is larger than the excess.)
    """
    span = dilation * (kernel - 1) + 1  # cells from the first tap to the last
    end = size + padding  # the padded edge: cells -padding .. end - 1 are input or padding
    starts = []
    start = -padding
    while True:
        fits = start + span <= end
        previous_left_cells = start - stride + span < end
        if fits or (ceil_mode and start < size and previous_left_cells):
            starts.append(start)
            start += stride
        else:
            return starts


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """y[n, c, oh, ow] = the maximum over the window's taps (padding is -inf), and its index h*W + w.

    The taps are read in row-major order, starting from -inf at the first tap on or past the top-left
    edge of the input; a value greater than the best so far, or a NaN, takes over (PyTorch's rule:
    the first cell wins a tie, the last NaN wins the window). Returns (y, indices), indices int64.
    """
    (kH, kW), (pH, pW), (dH, dW) = _pair(kernel_size), _pair(padding), _pair(dilation)
    sH, sW = _pair(kernel_size if stride is None else stride)
    N, C, H, W = x.shape
    rows = window_starts(H, kH, sH, pH, dH, ceil_mode)
    cols = window_starts(W, kW, sW, pW, dW, ceil_mode)
    y = np.empty((N, C, len(rows), len(cols)), dtype=x.dtype)
    indices = np.empty(y.shape, dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh, h0 in enumerate(rows):
                for ow, w0 in enumerate(cols):
                    h_first = h0 + dH * -(h0 // dH) if h0 < 0 else h0  # first tap row >= 0
                    w_first = w0 + dW * -(w0 // dW) if w0 < 0 else w0
                    best, where = -np.inf, h_first * W + w_first
                    for i in range(kH):
                        for j in range(kW):
                            h, w = h0 + i * dH, w0 + j * dW
                            if 0 <= h < H and 0 <= w < W:
                                v = x[n, c, h, w]
                                if v > best or np.isnan(v):
                                    best, where = v, h * W + w
                    y[n, c, oh, ow], indices[n, c, oh, ow] = best, where
    return y, indices


def max_pool2d_backward(grad_output, indices, input_shape):
    """dx[n, c, p] = the sum of grad_output[n, c, o] over the outputs o whose index is p (p = h*W + w).

    Serves adaptive_max_pool2d as well. An index outside the plane sends nothing: it is that of a
    window with no real cell (possible with dilation), whose output is -inf whatever x is.
    """
    N, C, H, W = input_shape
    dx = np.zeros((N, C, H * W), dtype=grad_output.dtype)
    for n in range(N):
        for c in range(C):
            for o in np.ndindex(*grad_output.shape[2:]):
                p = indices[(n, c) + o]
                if 0 <= p < H * W:
                    dx[n, c, p] += grad_output[(n, c) + o]
    return dx.reshape(input_shape)


def _divisor(h0, w0, kH, kW, H, W, pH, pW, count_include_pad, divisor_override):
    """PyTorch's divisor of the window starting at (h0, w0)."""
    if divisor_override is not None:
        return divisor_override
    if count_include_pad:  # the window's cells inside input + padding
        return (min(h0 + kH, H + pH) - h0) * (min(w0 + kW, W + pW) - w0)
    return (min(h0 + kH, H) - max(h0, 0)) * (min(w0 + kW, W) - max(w0, 0))  # its cells inside the input


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """y[n, c, oh, ow] = (the sum of the window's cells inside the input) / divisor, the divisor being

        divisor_override, if given;
        with count_include_pad, the window's cells inside input + padding (a ceil_mode window that
        hangs past the padded edge counts only the part inside);
        otherwise the window's cells inside the input.
    """
    (kH, kW), (pH, pW) = _pair(kernel_size), _pair(padding)
    sH, sW = _pair(kernel_size if stride is None else stride)
    N, C, H, W = x.shape
    rows, cols = window_starts(H, kH, sH, pH, 1, ceil_mode), window_starts(W, kW, sW, pW, 1, ceil_mode)
    y = np.empty((N, C, len(rows), len(cols)), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for oh, h0 in enumerate(rows):
                for ow, w0 in enumerate(cols):
                    total = 0.0
                    for h in range(max(h0, 0), min(h0 + kH, H)):
                        for w in range(max(w0, 0), min(w0 + kW, W)):
                            total += x[n, c, h, w]
                    y[n, c, oh, ow] = total / _divisor(h0, w0, kH, kW, H, W, pH, pW, count_include_pad,
                                                       divisor_override)
    return y


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """dx[n, c, h, w] = the sum of grad_output[n, c, oh, ow] / divisor over the windows holding (h, w)."""
    (kH, kW), (pH, pW) = _pair(kernel_size), _pair(padding)
    sH, sW = _pair(kernel_size if stride is None else stride)
    N, C, H, W = input_shape
    rows, cols = window_starts(H, kH, sH, pH, 1, ceil_mode), window_starts(W, kW, sW, pW, 1, ceil_mode)
    dx = np.zeros(input_shape, dtype=grad_output.dtype)
    for n in range(N):
        for c in range(C):
            for oh, h0 in enumerate(rows):
                for ow, w0 in enumerate(cols):
                    share = grad_output[n, c, oh, ow] / _divisor(h0, w0, kH, kW, H, W, pH, pW,
                                                                count_include_pad, divisor_override)
                    for h in range(max(h0, 0), min(h0 + kH, H)):
                        for w in range(max(w0, 0), min(w0 + kW, W)):
                            dx[n, c, h, w] += share
    return dx


def adaptive_bin(i, in_size, out_size):
    """The input cells [floor(i*in/out), ceil((i+1)*in/out)) of output cell i, as a range."""
    return range((i * in_size) // out_size, -(-(i + 1) * in_size // out_size))


def adaptive_max_pool2d(x, output_size):
    """y[n, c, i, j] = the maximum over bin i of the rows and bin j of the columns, and its index h*W + w
    (the first on a tie, the last NaN if any). Returns (y, indices), indices int64."""
    OH, OW = _pair(output_size)
    N, C, H, W = x.shape
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    indices = np.empty(y.shape, dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    best, where = -np.inf, None
                    for h in adaptive_bin(i, H, OH):
                        for w in adaptive_bin(j, W, OW):
                            if where is None or x[n, c, h, w] > best or np.isnan(x[n, c, h, w]):
                                best, where = x[n, c, h, w], h * W + w
                    y[n, c, i, j], indices[n, c, i, j] = best, where
    return y, indices


def adaptive_avg_pool2d(x, output_size):
    """y[n, c, i, j] = the mean over bin i of the rows and bin j of the columns."""
    OH, OW = _pair(output_size)
    N, C, H, W = x.shape
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    for i in range(OH):
        for j in range(OW):
            rows, cols = adaptive_bin(i, H, OH), adaptive_bin(j, W, OW)
            y[:, :, i, j] = x[:, :, rows.start:rows.stop, cols.start:cols.stop].mean(axis=(2, 3))
    return y
