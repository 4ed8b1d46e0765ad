"""Element-wise ReLU (with an optional bias added first) and dropout, each returning its mask.

    relu_forward:     z = x + bias[c] (bias along axis 1; no bias: z = x)
                      y = max(z, 0),  mask = z > 0
    dropout_forward:  mask = u >= p,  y = mask ? x / (1 - p) : 0     for uniform samples u in [0, 1)

The masks are what the backward passes keep (one byte per element). With the
array library each is a few element-wise passes, each writing a temporary; on
the GPU one fused kernel reads the inputs once (kernels/cuda/elementwise.cu).
"""
import math

from kernels import cuda as _cuda
from kernels import parallel, workspace
from kernels.array import get_array_module


def relu_forward(x, bias=None, with_mask=True):
    """ReLU of ``x`` (plus ``bias`` along axis 1) and the mask of its positive entries.

    Args:
        x: (N, C, ...) float array ((N, C) for a linear layer's output).
        bias: optional (C,) array of x's dtype.
        with_mask: False when no backward will follow (inference): no mask is made.

    Returns:
        y: max(x + bias, 0), same shape and dtype as x (a NaN stays NaN, as NumPy's maximum keeps it).
        mask: boolean array, x + bias > 0 (None without ``with_mask``).
    """
    if _cuda.handles(x) and (bias is None or _cuda.handles(bias)):  # one CUDA pass (elementwise.cu)
        y, mask = _cuda.relu_forward(x, bias)
        return y, (mask if with_mask else None)
    xp = get_array_module(x)
    # On the host, blocks of samples go through both passes while they are in cache, on every
    # core (kernels.parallel); each block writes only its own samples of y and mask.
    lead = x.shape[:2] if x.ndim >= 2 else (1, x.size)  # (N, C), or one row for a 0-d or 1-d x
    rows = x.reshape(lead[0], lead[1], math.prod(x.shape[2:]))  # (N, C, everything after C)
    N = lead[0]
    b = None if bias is None else bias.reshape(1, -1, 1)
    y = workspace.empty(x.shape, x.dtype, xp)
    mask = workspace.empty(x.shape, bool, xp) if with_mask else None
    y_rows = y.reshape(rows.shape)
    m_rows = None if mask is None else mask.reshape(rows.shape)
    zero = xp.zeros((), dtype=x.dtype)

    def block(start, stop):
        z = rows[start:stop] if b is None else rows[start:stop] + b
        if m_rows is not None:
            xp.greater(z, zero, out=m_rows[start:stop])
        xp.maximum(z, zero, out=y_rows[start:stop])

    per_sample = rows.shape[1] * rows.shape[2] * (2 * x.itemsize + 1)
    parallel.run_blocks(N, block, parallel.items_per_block(per_sample), xp)
    return y, mask


def dropout_forward(x, u, p):
    """Inverted dropout of ``x`` given uniform samples ``u`` (same shape and dtype): keep where u >= p.

    ``p`` (0 <= p < 1) and the scale 1 / (1 - p) are rounded to x's dtype, and kept
    elements are ``x * scale`` computed in that dtype.

    Returns:
        y: x * scale where kept, 0 elsewhere.
        mask: boolean array, u >= p.
    """
    if _cuda.handles(x, u):  # one CUDA pass (elementwise.cu)
        return _cuda.dropout_forward(x, u, p)
    xp = get_array_module(x)
    mask = u >= x.dtype.type(p)
    scale = x.dtype.type(1.0 / (1.0 - p))
    return xp.where(mask, x * scale, xp.zeros((), dtype=x.dtype)), mask
