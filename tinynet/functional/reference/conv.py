"""Reference loops: see tinynet/functional/reference/__init__.py. Imports only NumPy.

A convolution and its padding as the formulas read, one output element at a time:

    pad           F.pad in every mode: each output cell looks up the input cell it copies
    pad_backward  its adjoint: each output cell's gradient added to that input cell
    im2col        the column matrix, entry by entry
    conv2d        the sum over channels and kernel taps, with stride, padding (also "same"/"valid"
                  and a padding mode), dilation and groups
    conv2d_backward  dx, dW, db by the chain rule, tap by tap
"""
import numpy as np

__all__ = ["pad", "pad_backward", "im2col", "conv2d", "conv2d_backward"]


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def _source(o, n, before, mode):
    """The input index that output index ``o`` of a padded axis copies (None: a constant cell).

    The axis has ``n`` input cells, ``before`` of padding in front of them."""
    i = o - before
    if 0 <= i < n:
        return i
    if mode == "constant":
        return None
    if mode == "reflect":  # mirror about the edge cell, which is not repeated
        return -i if i < 0 else 2 * (n - 1) - i
    if mode == "replicate":  # the edge cell, repeated
        return 0 if i < 0 else n - 1
    if mode == "circular":  # the other end of the axis, wrapped around
        return i % n
    raise ValueError(f"unknown mode {mode!r}")


def _pad_map(shape, pad):
    """The padded shape, and per padded axis (axis, n, before). ``pad`` lists (before, after)
    pairs from the last axis backwards, as F.pad takes them."""
    out_shape = list(shape)
    axes = []
    for k in range(len(pad) // 2):
        axis = len(shape) - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        axes.append((axis, shape[axis], before))
        out_shape[axis] = shape[axis] + before + after
    return tuple(out_shape), axes


def _source_index(o, axes, mode):
    index = list(o)
    for axis, n, before in axes:
        index[axis] = _source(o[axis], n, before, mode)
        if index[axis] is None:
            return None
    return tuple(index)


def pad(x, pad, mode="constant", value=0.0):
    """y[o] = x[source(o)]: per padded axis, source(o) = o - before inside, and outside

        constant   (none: y[o] = value)
        reflect    -i before the start, 2*(n - 1) - i past the end       (i = o - before)
        replicate  0 before the start, n - 1 past the end
        circular   i mod n
    """
    out_shape, axes = _pad_map(x.shape, pad)
    y = np.empty(out_shape, dtype=x.dtype)
    for o in np.ndindex(*out_shape):
        s = _source_index(o, axes, mode)
        y[o] = value if s is None else x[s]
    return y


def pad_backward(gy, x_shape, pad, mode="constant"):
    """dL/dx[s] = sum of dL/dy[o] over every output o that copies x[s] (a constant cell copies nothing)."""
    _, axes = _pad_map(x_shape, pad)
    gx = np.zeros(x_shape, dtype=gy.dtype)
    for o in np.ndindex(*gy.shape):
        s = _source_index(o, axes, mode)
        if s is not None:
            gx[s] += gy[o]
    return gx


def _out_size(size, k, s, d):
    """Window positions along an axis of ``size`` (already padded) cells, counted one by one."""
    n, start = 0, 0
    while start + d * (k - 1) < size:
        n += 1
        start += s
    return n


def im2col(x, kernel_size, stride, padding, dilation=(1, 1)):
    """col[(c, i, j), (n, oh, ow)] = x[n, c, oh*sH + i*dH - pH, ow*sW + j*dW - pW], 0 in the padding."""
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH, OW = _out_size(H + 2 * pH, kH, sH, dH), _out_size(W + 2 * pW, kW, sW, dW)
    col = np.zeros((C * kH * kW, N * OH * OW), dtype=x.dtype)
    for c in range(C):
        for i in range(kH):
            for j in range(kW):
                for n in range(N):
                    for oh in range(OH):
                        for ow in range(OW):
                            h, w = oh * sH + i * dH - pH, ow * sW + j * dW - pW
                            if 0 <= h < H and 0 <= w < W:
                                col[(c * kH + i) * kW + j, (n * OH + oh) * OW + ow] = x[n, c, h, w]
    return col


def _padded(x, kernel_size, padding, dilation, padding_mode):
    """x padded on its last two axes: ints or a pair (both sides), "valid" (none) or "same" (a total
    of d*(k - 1) per axis, the odd cell after), in ``padding_mode`` ("zeros" or an F.pad mode)."""
    if padding == "valid":
        return x
    if padding == "same":
        sides = []
        for k, d in zip(kernel_size, dilation):
            total = d * (k - 1)
            sides.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = sides
    else:
        (top, left) = _pair(padding)
        bottom, right = top, left
    mode = "constant" if padding_mode == "zeros" else padding_mode
    return pad(x, (left, right, top, bottom), mode)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Cross-correlation by definition, one output element at a time: x (N, C, H, W) or (C, H, W).

        y[n, oc, oh, ow] = b[oc] + sum over c < C/G, i < kH, j < kW of
                           w[oc, c, i, j] * x_pad[n, g*C/G + c, oh*sH + i*dH, ow*sW + j*dW]

    g = oc // (OC/G) is the group of output channel oc.
    """
    if x.ndim == 3:
        return conv2d(x[None], w, b, stride, padding, dilation, groups, padding_mode)[0]
    OC, Cg, kH, kW = w.shape
    (sH, sW), (dH, dW) = _pair(stride), _pair(dilation)
    x_pad = _padded(x.astype(np.float64), (kH, kW), padding, (dH, dW), padding_mode)
    N, _, Hp, Wp = x_pad.shape
    OH, OW = _out_size(Hp, kH, sH, dH), _out_size(Wp, kW, sW, dW)
    per_group = OC // groups
    y = np.zeros((N, OC, OH, OW))
    for n in range(N):
        for oc in range(OC):
            g = oc // per_group
            for oh in range(OH):
                for ow in range(OW):
                    total = 0.0 if b is None else float(b[oc])
                    for c in range(Cg):
                        for i in range(kH):
                            for j in range(kW):
                                total += w[oc, c, i, j] * x_pad[n, g * Cg + c, oh * sH + i * dH, ow * sW + j * dW]
                    y[n, oc, oh, ow] = total
    return y


def conv2d_backward(x, w, gy, stride=1, padding=0, dilation=1, groups=1):
    """(dx, dw, db) for x (N, C, H, W), by the chain rule on the sum above, one term at a time:
    each product w[oc, c, i, j] * x_pad[n, g*C/G + c, h, v] sends gy[n, oc, oh, ow] times the other
    factor to each of its two factors; db[oc] sums gy over n, oh, ow. Integer padding (zeros)."""
    OC, Cg, kH, kW = w.shape
    (sH, sW), (pH, pW), (dH, dW) = _pair(stride), _pair(padding), _pair(dilation)
    N, C, H, W = x.shape
    x_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW))
    x_pad[:, :, pH:pH + H, pW:pW + W] = x
    gx_pad = np.zeros_like(x_pad)
    gw = np.zeros(w.shape)
    per_group = OC // groups
    for n, oc, oh, ow in np.ndindex(*gy.shape):
        g = oc // per_group
        for c in range(Cg):
            for i in range(kH):
                for j in range(kW):
                    h, v = oh * sH + i * dH, ow * sW + j * dW
                    gw[oc, c, i, j] += gy[n, oc, oh, ow] * x_pad[n, g * Cg + c, h, v]
                    gx_pad[n, g * Cg + c, h, v] += gy[n, oc, oh, ow] * w[oc, c, i, j]
    return gx_pad[:, :, pH:pH + H, pW:pW + W], gw, gy.sum(axis=(0, 2, 3))
