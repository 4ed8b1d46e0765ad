"""Element-wise ReLU (with an optional bias added first) and dropout, each returning its mask.

    relu_forward:     z = x + bias[c] (bias along axis 1; no bias: z = x)
                      y = max(z, 0),  mask = z > 0
    dropout_forward:  mask = u >= p,  y = mask ? x / (1 - p) : 0     for uniform samples u in [0, 1)

The masks are what the backward passes keep (one byte per element). With the
array library each is a few element-wise passes, each writing a temporary; on
the GPU one fused kernel reads the inputs once (kernels/cuda/elementwise.cu).
"""
from kernels import cuda as _cuda
from kernels.array import get_array_module


def relu_forward(x, bias=None):
    """ReLU of ``x`` (plus ``bias`` along axis 1) and the mask of its positive entries.

    Args:
        x: (N, C, ...) float array ((N, C) for a linear layer's output).
        bias: optional (C,) array of x's dtype.

    Returns:
        y: max(x + bias, 0), same shape and dtype as x (a NaN stays NaN, as NumPy's maximum keeps it).
        mask: boolean array, x + bias > 0.
    """
    if _cuda.handles(x) and (bias is None or _cuda.handles(bias)):  # one CUDA pass (elementwise.cu)
        return _cuda.bias_relu(x, bias)
    xp = get_array_module(x)
    z = x if bias is None else x + bias.reshape((1, -1) + (1,) * (x.ndim - 2))
    mask = z > 0
    return xp.maximum(z, xp.zeros((), dtype=z.dtype)), mask


def dropout_forward(x, u, p):
    """Inverted dropout of ``x`` given uniform samples ``u`` (same shape and dtype): keep where u >= p.

    ``p`` (0 <= p < 1) and the scale 1 / (1 - p) are rounded to x's dtype, and kept
    elements are ``x * scale`` computed in that dtype.

    Returns:
        y: x * scale where kept, 0 elsewhere.
        mask: boolean array, u >= p.
    """
    if _cuda.handles(x, u):  # one CUDA pass (elementwise.cu)
        return _cuda.dropout(x, u, p)
    xp = get_array_module(x)
    mask = u >= x.dtype.type(p)
    scale = x.dtype.type(1.0 / (1.0 - p))
    return xp.where(mask, x * scale, xp.zeros((), dtype=x.dtype)), mask
