"""Array-level primitives with no autograd.

Everything in this package works on plain ndarrays (NumPy or CuPy) and knows
nothing about Tensors or gradients. ``tinynet.functional`` builds its ops from
these pieces, so the index gymnastics of a convolution or a pooling window are
written here once and the ops above read as the math they implement.

Modules:
    array   which array library an array belongs to (numpy or cupy)
    im2col  im2col / col2im for convolutions, column layout (C*kH*kW, N*OH*OW)
    pool    max-pool windows: forward with argmax, backward scatter by offset;
            adaptive average pooling matrices
    lrn     windowed sums along the channel axis for local response norm

Each function here is written once against the array module of its input
(``xp``). CUDA versions for CuPy will live beside them (``*.cu``) and be picked
by the same function, so callers never branch on the device.
"""
from kernels.array import get_array_module, is_cupy_array
from kernels.im2col import col2im, conv_output_size, im2col
from kernels.lrn import channel_window_sum
from kernels.pool import adaptive_pool_matrix, maxpool_backward, maxpool_forward

__all__ = [
    "get_array_module",
    "is_cupy_array",
    "im2col",
    "col2im",
    "conv_output_size",
    "maxpool_forward",
    "maxpool_backward",
    "adaptive_pool_matrix",
    "channel_window_sum",
]
