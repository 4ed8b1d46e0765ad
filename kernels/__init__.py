"""Array-level primitives with no autograd.

Everything in this package works on plain ndarrays (NumPy or CuPy) and knows
nothing about Tensors or gradients. ``tinynet.functional`` builds its ops from
these pieces, so the index gymnastics of a convolution or a pooling window are
written here once and the ops above read as the math they implement.

Modules:
    array          which array library an array belongs to (numpy or cupy)
    sizes          the output-size formula of a sliding window (conv and pooling)
    im2col         im2col / col2im for convolutions, column layout (C*kH*kW, N*OH*OW)
    winograd       Winograd's minimal filtering: the transform matrices (exact, from their points), the
                   input, filter and output transforms and their adjoints
    pool           max pooling: forward with argmax and backward by offset (dilation, ceil_mode),
                   PyTorch's flat indices; the window geometry (padding, taps) average pooling shares
    avg_pool       average pooling: PyTorch's divisors, forward and backward
    adaptive_pool  adaptive pooling: the bins, averaging matrices, adaptive max
    lrn            windowed sums along the channel axis; local response norm forward/backward
    activation     ReLU (optionally after a bias) and dropout, each returning its mask
    special        erf and erfc on arrays (NumPy has none), for the exact GELU
    workspace      recycled host buffers for the large arrays every training step allocates
    optim          the element-wise updates of SGD, Adam/AdamW, RMSprop, Adagrad, in place (one kernel each on the GPU)
    pixels         uint8 batches to float32 with a per-sample, per-channel scale and offset (the loader's end)
    half           bfloat16 emulated in float32 (rounding to its grid)
    random         counter-based uniform numbers, one stream per sample (dropout under data parallelism)
    parallel       host work in cache-sized blocks on every core (pooling, im2col, ReLU, SGD); OpenBLAS
                   held at one thread meanwhile
    blas           matrix products split over those threads, one single-threaded OpenBLAS call each
    cuda           the CUDA versions, for CuPy arrays (see below)

Each function here is written once against the array module of its input
(``xp``), and starts by handing a CuPy float16/float32/float64 array to its
CUDA version in ``kernels.cuda``, so callers never branch on the device. The
CUDA sources are ``kernels/cuda/*.cu``: kernel templates over the dtype
(``__half``, ``float``, ``double``) and a 32- or 64-bit index type, compiled
on first use into one ``cupy.RawModule`` per file (every instantiation named
in ``name_expressions``) and cached. col2im and the max-pool backward are
gathers (one thread per input pixel), so they are deterministic and need no
atomics. CuPy is imported only when a CuPy array arrives.
"""
from kernels.activation import dropout_forward, relu_forward
from kernels.adaptive_pool import (adaptive_maxpool_backward, adaptive_maxpool_forward,
                                   adaptive_pool_matrix)
from kernels.array import get_array_module, is_cupy_array
from kernels.avg_pool import avgpool_backward, avgpool_divisor, avgpool_forward
from kernels.half import from_bfloat16_bits, matmul_bfloat16, round_to_bfloat16, to_bfloat16_bits
from kernels.im2col import col2im, im2col
from kernels.lrn import channel_window_sum, lrn_backward, lrn_forward
from kernels.optim import adagrad_update, adam_update, lerp_, rmsprop_update, sgd_update
from kernels.pixels import pixels_to_float
from kernels.pool import maxpool_backward, maxpool_forward, maxpool_indices
from kernels.random import sample_keys, uniform_rows
from kernels.special import erf, erfc
from kernels.sizes import conv_output_size

__all__ = [
    "get_array_module",
    "is_cupy_array",
    "im2col",
    "col2im",
    "conv_output_size",
    "maxpool_forward",
    "maxpool_backward",
    "maxpool_indices",
    "avgpool_divisor",
    "avgpool_forward",
    "avgpool_backward",
    "adaptive_pool_matrix",
    "adaptive_maxpool_forward",
    "adaptive_maxpool_backward",
    "erf",
    "erfc",
    "channel_window_sum",
    "lrn_forward",
    "lrn_backward",
    "relu_forward",
    "dropout_forward",
    "sgd_update",
    "adam_update",
    "rmsprop_update",
    "adagrad_update",
    "pixels_to_float",
    "round_to_bfloat16",
    "to_bfloat16_bits",
    "from_bfloat16_bits",
    "matmul_bfloat16",
    "sample_keys",
    "uniform_rows",
    "lerp_",
]
