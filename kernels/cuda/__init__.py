"""CUDA versions of the kernels/ primitives, for CuPy arrays.

The public functions of ``kernels`` call these when their input is a CuPy
array of float16, float32 or float64 (see ``handles``); they take the same
arguments and return the same arrays as the array-library versions.

bfloat16. Called directly, every function here that takes float arrays also
takes uint16 arrays, read as bfloat16 words (kernels/half.py): the kernels
widen them to float32, compute, and round the results back to words once,
so each result is the float32 kernel's on the widened inputs, rounded. Their
scalars (a learning rate, LRN's alpha) stay float32 for that reason, where
float16's are rounded to half as NumPy's float16 arithmetic would round them.
``handles`` never routes uint16 arrays here: to ``kernels`` they are integers.

Sources. Each ``*.cu`` file beside this one holds kernel templates over the
storage type T (``__half``, ``tinynet::bf16``, ``float``, ``double``) and the index type I
(``int``, ``long long``); ``KERNELS`` lists every template with the types it
is instantiated for. ``read_source`` pastes ``common.cuh`` in place of its
``#include``, so the text CuPy compiles, and hashes for its on-disk cache, is
the whole program.

Loading. A source file is compiled on first use into one ``cupy.RawModule``
whose ``name_expressions`` are all of its instantiations, and the module is
kept for the life of the process; CuPy also keeps the binary in its kernel
cache (``~/.cupy/kernel_cache``), so later processes skip the compile. CuPy
is imported only then: ``import kernels`` works without it.

Launching. One thread per output element in a grid-stride loop, 256 threads
a block, at most 32 blocks per multiprocessor. Index arithmetic is 32-bit
(``int``) when every index a kernel forms, plus the loop's stride, stays
below 2**31 (``index_dtype`` checks), and 64-bit (``long long``) otherwise.
"""
import itertools
import os
import re

import numpy as np

from kernels.array import is_cupy_array
from kernels.sizes import conv_output_size

SOURCE_DIR = os.path.dirname(os.path.abspath(__file__))
COMPILE_OPTIONS = ("-std=c++14",)

# C++ spelling of each NumPy dtype, per template parameter.
FLOAT_TYPES = {np.dtype("float16"): "__half", np.dtype("float32"): "float", np.dtype("float64"): "double"}
BFLOAT16_WORDS = np.dtype("uint16")  # the storage of bfloat16 (common.cuh's struct bf16)
STORAGE_TYPES = {**FLOAT_TYPES, BFLOAT16_WORDS: "tinynet::bf16"}  # T: what the float kernels are built for
INDEX_TYPES = {np.dtype("int32"): "int", np.dtype("int64"): "long long"}
# The argmax dtypes kernels.pool chooses (uint8 up to 256 window offsets, uint16 up to 65536).
ARGMAX_TYPES = {np.dtype("uint8"): "unsigned char", np.dtype("uint16"): "unsigned short",
                np.dtype("int64"): "long long"}

# source file -> {kernel template -> its template parameters, in order}
KERNELS = {
    "im2col.cu": {
        "im2col_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "col2im_kernel": (STORAGE_TYPES, INDEX_TYPES),
    },
    "pool.cu": {
        "maxpool_forward_kernel": (STORAGE_TYPES, ARGMAX_TYPES, INDEX_TYPES),
        "maxpool_backward_kernel": (STORAGE_TYPES, ARGMAX_TYPES, INDEX_TYPES),
    },
    "lrn.cu": {
        "channel_window_sum_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "lrn_forward_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "lrn_backward_kernel": (STORAGE_TYPES, INDEX_TYPES),
    },
    "elementwise.cu": {
        "relu_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "bias_relu_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "dropout_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "pixels_to_float_kernel": (INDEX_TYPES,),
        "uniform_rows_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "float_to_bfloat16_kernel": (INDEX_TYPES,),
        "bfloat16_to_float_kernel": (INDEX_TYPES,),
    },
    "winograd.cu": {
        "winograd_input_tiles_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "winograd_input_untiles_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "winograd_output_untiles_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "winograd_output_tiles_kernel": (STORAGE_TYPES, INDEX_TYPES),
    },
    "optim.cu": {
        "sgd_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "adam_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "rmsprop_kernel": (STORAGE_TYPES, INDEX_TYPES),
        "adagrad_kernel": (STORAGE_TYPES, INDEX_TYPES),
    },
}

THREADS = 256
BLOCKS_PER_SM = 32
INT32_LIMIT = 2**31 - 1  # the largest index the int instantiations may form

_INCLUDE = re.compile(r'^#include "([A-Za-z0-9_]+\.cuh)"[ \t]*$', re.M)
_modules = {}
_functions = {}
_sm_counts = {}


# --- sources and modules -------------------------------------------------------------------------------------

def read_source(name):
    """The text of ``name`` (a file in this folder) with each ``#include "x.cuh"`` replaced by x.cuh's text."""
    with open(os.path.join(SOURCE_DIR, name), encoding="utf-8") as f:
        text = f.read()

    def paste(match):
        with open(os.path.join(SOURCE_DIR, match.group(1)), encoding="utf-8") as header:
            return f"// ---- {match.group(1)} ----\n{header.read()}// ---- end of {match.group(1)} ----"

    return _INCLUDE.sub(paste, text)


def template_name(kernel, *types):
    """``kernel<t1, t2, ...>`` with the C++ spelling of each template argument."""
    return f"{kernel}<{', '.join(types)}>"


def name_expressions(source):
    """Every instantiation of every kernel template in ``source``, e.g. ``im2col_kernel<__half, int>``."""
    names = []
    for kernel, params in KERNELS[source].items():
        for combo in itertools.product(*(p.values() for p in params)):
            names.append(template_name(kernel, *combo))
    return names


def _cupy():
    import cupy  # only reached with a CuPy array in hand, so CuPy is installed and imported

    return cupy


def module(source):
    """The ``cupy.RawModule`` of ``source``, built once per process (compiled on first use)."""
    mod = _modules.get(source)
    if mod is None:
        mod = _cupy().RawModule(code=read_source(source), options=COMPILE_OPTIONS,
                                name_expressions=name_expressions(source))
        _modules[source] = mod
    return mod


def function(source, kernel, *dtypes):
    """The compiled ``kernel`` of ``source`` instantiated for ``dtypes`` (NumPy dtypes, one per parameter)."""
    key = (source, kernel, dtypes)
    fn = _functions.get(key)
    if fn is None:
        params = KERNELS[source][kernel]
        name = template_name(kernel, *(p[np.dtype(d)] for p, d in zip(params, dtypes)))
        try:
            fn = module(source).get_function(name)  # the first call compiles the whole source
        except Exception as e:
            if hasattr(e, "add_note"):  # Python 3.11+: keep CuPy's exception, say what to check
                e.add_note(
                    f"tinynet: compiling kernels/cuda/{source} for {name} failed. The sources include "
                    "<cuda_fp16.h>, which NVRTC must find among CuPy's include paths (set CUDA_PATH to a "
                    "CUDA toolkit if it is not found); CUPY_DUMP_CUDA_SOURCE_ON_ERROR=1 prints the source."
                )
            raise
        _functions[key] = fn
    return fn


# --- launch geometry -----------------------------------------------------------------------------------------

def _max_blocks():
    cupy = _cupy()
    device = cupy.cuda.Device().id
    if device not in _sm_counts:
        props = cupy.cuda.runtime.getDeviceProperties(device)
        _sm_counts[device] = int(props.get("multiProcessorCount", 80))
    return _sm_counts[device] * BLOCKS_PER_SM


def blocks_for(n):
    """Blocks for a grid-stride loop over ``n`` elements (n >= 1)."""
    return max(1, min(-(-n // THREADS), _max_blocks()))


def index_dtype(largest, blocks):
    """int32 if indices up to ``largest`` plus one grid stride fit below 2**31, else int64."""
    return np.dtype("int32") if largest + blocks * THREADS <= INT32_LIMIT else np.dtype("int64")


def _launch(source, kernel, n, largest, arrays, ints, floats=(), types=()):
    """Run ``kernel`` over ``n`` elements: args are ``arrays``, then ``ints`` as the index type, then ``floats``.

    ``types`` are the template arguments before the index type (dtypes); ``largest``
    is the largest array size the kernel indexes. Nothing runs when ``n`` is 0.
    """
    if n == 0:
        return
    blocks = blocks_for(n)
    idx = index_dtype(largest, blocks)
    fn = function(source, kernel, *types, idx)
    fn((blocks,), (THREADS,), tuple(arrays) + tuple(idx.type(v) for v in ints) + tuple(floats))


def _acc(dtype, value):
    """``value`` rounded to ``dtype`` (as the NumPy version's ``dtype.type(value)``), as the kernel's Acc type.
    bfloat16 words: float32, the precision the kernels compute in (there is no NumPy version to mimic)."""
    dtype = np.dtype(dtype)
    if dtype == BFLOAT16_WORDS:
        return np.float32(value)
    acc = np.float64 if dtype == np.float64 else np.float32
    return acc(dtype.type(value))


def handles_words(x):
    """True for a CuPy uint16 array: bfloat16 words to the kernels that copy (im2col), the same bits for any
    16-bit data."""
    return is_cupy_array(x) and x.dtype == BFLOAT16_WORDS


def handles(*arrays):
    """True if every argument is a CuPy array of a dtype the kernels are built for (float16/32/64).

    Other CuPy arrays (integers, say) take the array-library path, which runs on CuPy as well.
    """
    return all(is_cupy_array(a) and a.dtype in FLOAT_TYPES for a in arrays)


def _contiguous(a):
    return _cupy().ascontiguousarray(a)


# --- im2col / col2im -----------------------------------------------------------------------------------------

def im2col(x, kernel_size, stride, padding, dilation=(1, 1)):
    """``kernels.im2col`` on the GPU: x (N, C, H, W) -> col (C*kH*kW, N*OH*OW)."""
    cupy = _cupy()
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH, OW = conv_output_size(H, kH, sH, pH, dH), conv_output_size(W, kW, sW, pW, dW)
    x = _contiguous(x)
    col = cupy.empty((C * kH * kW, N * OH * OW), dtype=x.dtype)
    # One thread per (channel, output pixel); each writes its kH*kW column entries.
    _launch("im2col.cu", "im2col_kernel", C * N * OH * OW, max(col.size, x.size), (x, col),
            (N, C, H, W, kH, kW, sH, sW, pH, pW, dH, dW, OH, OW), types=(x.dtype,))
    return col


def col2im(col, x_shape, kernel_size, stride, padding, dilation=(1, 1)):
    """``kernels.col2im`` on the GPU, as a gather: col (C*kH*kW, N*OH*OW) -> (N, C, H, W)."""
    cupy = _cupy()
    N, C, H, W = x_shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH, OW = conv_output_size(H, kH, sH, pH, dH), conv_output_size(W, kW, sW, pW, dW)
    col = _contiguous(col)
    if col.shape != (C * kH * kW, N * OH * OW):
        raise ValueError(f"col2im: expected columns of shape {(C * kH * kW, N * OH * OW)} for input "
                         f"{tuple(x_shape)}, got {tuple(col.shape)}")
    x = cupy.empty((N, C, H, W), dtype=col.dtype)
    # The taps that read one pixel are tH rows (tW columns) apart: the smallest step t with t*d a
    # multiple of s (t = s undilated); see first_tap in im2col.cu.
    tH, tW = sH // int(np.gcd(sH, dH)), sW // int(np.gcd(sW, dW))
    _launch("im2col.cu", "col2im_kernel", x.size, max(col.size, x.size), (col, x),
            (N, C, H, W, kH, kW, sH, sW, pH, pW, dH, dW, tH, tW, OH, OW), types=(col.dtype,))
    return x


# --- Winograd tiles (kernels/winograd.py) ---------------------------------------------------------------------

def _winograd():
    from kernels import winograd  # (kernels.winograd imports this module: at call time, not at import)

    return winograd


def winograd_input_tiles(x, m, r, padding):
    """The tiles ``kernels.winograd.input_transform`` transforms: x (N, C, H, W) -> D (C, a*a, N*tH*tW)."""
    N, C, H, W, pH, pW, tH, tW = _winograd().geometry(x.shape, m, r, padding)
    a = m + r - 1
    x = _contiguous(x)
    D = _cupy().empty((C, a * a, N * tH * tW), dtype=x.dtype)
    _launch("winograd.cu", "winograd_input_tiles_kernel", D.size, max(D.size, x.size), (x, D),
            (N, C, H, W, pH, pW, tH, tW, m, a), types=(x.dtype,))
    return D


def winograd_input_untiles(dD, x_shape, m, r, padding):
    """The tiles' entries added back onto the pixels they were read from, as a gather: dD (C, a*a, P) ->
    dx (N, C, H, W)."""
    N, C, H, W, pH, pW, tH, tW = _winograd().geometry(x_shape, m, r, padding)
    a = m + r - 1
    dD = _contiguous(dD)
    dx = _cupy().empty((N, C, H, W), dtype=dD.dtype)
    _launch("winograd.cu", "winograd_input_untiles_kernel", dx.size, max(dD.size, dx.size), (dD, dx),
            (N, C, H, W, pH, pW, tH, tW, m, a), types=(dD.dtype,))
    return dx


def winograd_output_untiles(Y, out_shape, m, bias=None, out=None):
    """The output tiles placed: Y (OC, m*m, P) -> y (N, OC, OH, OW), plus ``bias`` (OC,) in the same pass;
    into ``out`` (C-contiguous) if given."""
    N, OC, OH, OW = out_shape
    tH, tW = _winograd().tile_counts(OH, OW, m)
    Y = _contiguous(Y)
    y = _cupy().empty((N, OC, OH, OW), dtype=Y.dtype) if out is None else out
    b = Y if bias is None else _contiguous(bias)  # never read without a bias
    _launch("winograd.cu", "winograd_output_untiles_kernel", y.size, max(Y.size, y.size), (Y, b, y),
            (N, OC, OH, OW, tH, tW, m, int(bias is not None)), types=(Y.dtype,))
    return y


def winograd_output_tiles(gy, m):
    """The output gradient as tiles: gy (N, OC, OH, OW) -> dY (OC, m*m, P), zeros past the edge."""
    N, OC, OH, OW = gy.shape
    tH, tW = _winograd().tile_counts(OH, OW, m)
    gy = _contiguous(gy)
    dY = _cupy().empty((OC, m * m, N * tH * tW), dtype=gy.dtype)
    _launch("winograd.cu", "winograd_output_tiles_kernel", dY.size, max(dY.size, gy.size), (gy, dY),
            (N, OC, OH, OW, tH, tW, m), types=(gy.dtype,))
    return dY


# --- max-pool ------------------------------------------------------------------------------------------------

def maxpool_forward(x, kernel_size, stride, padding, argmax_dtype, dilation=(1, 1), ceil_mode=False):
    """``kernels.maxpool_forward`` on the GPU: (y, argmax), argmax of ``argmax_dtype`` (uint8 for 3x3)."""
    cupy = _cupy()
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH = conv_output_size(H, kH, sH, pH, dH, ceil_mode)
    OW = conv_output_size(W, kW, sW, pW, dW, ceil_mode)
    x = _contiguous(x)
    y = cupy.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = cupy.empty((N, C, OH, OW), dtype=argmax_dtype)
    _launch("pool.cu", "maxpool_forward_kernel", y.size, max(x.size, y.size), (x, y, argmax),
            (N, C, H, W, kH, kW, sH, sW, pH, pW, dH, dW, OH, OW), types=(x.dtype, argmax.dtype))
    return y, argmax


def maxpool_backward(gy, argmax, x_shape, kernel_size, stride, padding, dilation=(1, 1)):
    """``kernels.maxpool_backward`` on the GPU, as a gather: gx (N, C, H, W)."""
    cupy = _cupy()
    N, C, H, W = x_shape
    (kH, kW), (sH, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    OH, OW = gy.shape[2], gy.shape[3]
    gy, argmax = _contiguous(gy), _contiguous(argmax)
    gx = cupy.empty((N, C, H, W), dtype=gy.dtype)
    _launch("pool.cu", "maxpool_backward_kernel", gx.size, max(gx.size, gy.size), (gy, argmax, gx),
            (N, C, H, W, kH, kW, sH, sW, pH, pW, dH, dW, OH, OW), types=(gy.dtype, argmax.dtype))
    return gx


# --- local response norm -------------------------------------------------------------------------------------

def _ncs(a):
    """(N, C, S) of an (N, C, ...) array, S the product of the trailing dimensions."""
    return a.shape[0], a.shape[1], int(np.prod(a.shape[2:], dtype=np.int64))


def channel_window_sum(a, before, after):
    """``kernels.channel_window_sum`` on the GPU."""
    a = _contiguous(a)
    out = _cupy().empty_like(a)
    N, C, S = _ncs(a)
    _launch("lrn.cu", "channel_window_sum_kernel", a.size, a.size, (a, out), (N, C, S, before, after),
            types=(a.dtype,))
    return out


def lrn_forward(x, size, alpha, beta, k):
    """``kernels.lrn_forward`` on the GPU, one fused pass: (y, s)."""
    cupy = _cupy()
    x = _contiguous(x)
    y, s = cupy.empty_like(x), cupy.empty_like(x)
    N, C, S = _ncs(x)
    t = x.dtype
    _launch("lrn.cu", "lrn_forward_kernel", x.size, x.size, (x, y, s), (N, C, S, size // 2, (size - 1) // 2),
            (_acc(t, k), _acc(t, alpha / size), _acc(t, -beta)), types=(t,))
    return y, s


def lrn_backward(g, x, s, size, alpha, beta):
    """``kernels.lrn_backward`` on the GPU, one fused pass: dx."""
    g, x, s = _contiguous(g), _contiguous(x), _contiguous(s)
    gx = _cupy().empty_like(g)
    N, C, S = _ncs(g)
    t = g.dtype
    _launch("lrn.cu", "lrn_backward_kernel", g.size, g.size, (g, x, s, gx), (N, C, S, (size - 1) // 2, size // 2),
            (_acc(t, -beta), _acc(t, 2 * alpha * beta / size)), types=(t,))
    return gx


# --- element-wise --------------------------------------------------------------------------------------------

def relu_forward(x, bias=None):
    """``kernels.relu_forward`` on the GPU, one pass: (max(x + bias, 0), x + bias > 0); no bias: max(x, 0)."""
    cupy = _cupy()
    x = _contiguous(x)
    y = cupy.empty_like(x)
    mask = cupy.empty(x.shape, dtype=bool)
    if bias is None:
        _launch("elementwise.cu", "relu_kernel", x.size, x.size, (x, y, mask), (x.size,), types=(x.dtype,))
    else:
        N, C, S = _ncs(x)
        _launch("elementwise.cu", "bias_relu_kernel", x.size, x.size, (x, _contiguous(bias), y, mask),
                (x.size, C, S), types=(x.dtype,))
    return y, mask


def dropout_forward(x, u, p):
    """``kernels.dropout_forward`` on the GPU, one pass: (y, mask) from uniform samples ``u``."""
    cupy = _cupy()
    x, u = _contiguous(x), _contiguous(u)
    y = cupy.empty_like(x)
    mask = cupy.empty(x.shape, dtype=bool)
    t = x.dtype
    _launch("elementwise.cu", "dropout_kernel", x.size, x.size, (x, u, y, mask), (x.size,),
            (_acc(t, p), _acc(t, 1.0 / (1.0 - p))), types=(t,))
    return y, mask


# --- optimizer updates (kernels/optim.py) -----------------------------------------------------------------------

# The bits of optim.cu's `flags` argument.
(_MAXIMIZE, _WEIGHT_DECAY, _MOMENTUM, _FIRST, _DAMPENING, _NESTEROV, _DECOUPLED, _AMSGRAD, _LERP_FROM_END,
 _CENTERED) = (1 << k for k in range(10))


def sgd_update(p, g, buf, *, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """``kernels.sgd_update`` on the GPU: p (and buf, None without momentum) updated in place, one pass.

    All arrays C-contiguous of one dtype (kernels/optim.py checks)."""
    t = p.dtype
    flags = ((_MAXIMIZE if maximize else 0) | (_WEIGHT_DECAY if weight_decay else 0)
             | (_MOMENTUM if momentum else 0) | (_FIRST if first else 0) | (_DAMPENING if dampening else 0)
             | (_NESTEROV if nesterov else 0))
    # Without momentum the buffer is never touched; p stands in for the pointer.
    _launch("optim.cu", "sgd_kernel", p.size, p.size, (p, g, p if buf is None else buf), (p.size, flags),
            (_acc(t, lr), _acc(t, momentum), _acc(t, 1 - dampening), _acc(t, weight_decay)), types=(t,))


def adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps, weight_decay,
                decoupled, maximize):
    """``kernels.adam_update`` on the GPU: p and the moments updated in place, one pass."""
    t = p.dtype
    w = 1 - beta1
    from_end = not w < 0.5  # PyTorch's lerp computes from the end nearer the weight
    flags = ((_MAXIMIZE if maximize else 0) | (_WEIGHT_DECAY if weight_decay else 0)
             | (_DECOUPLED if decoupled else 0) | (_AMSGRAD if max_exp_avg_sq is not None else 0)
             | (_LERP_FROM_END if from_end else 0))
    vmax = p if max_exp_avg_sq is None else max_exp_avg_sq  # never touched without amsgrad
    scalars = (1 - lr * weight_decay, weight_decay, (1 - w) if from_end else w, beta2, 1 - beta2,
               -(lr / (1 - beta1 ** step)), (1 - beta2 ** step) ** 0.5, eps)
    _launch("optim.cu", "adam_kernel", p.size, p.size, (p, g, exp_avg, exp_avg_sq, vmax), (p.size, flags),
            tuple(_acc(t, v) for v in scalars), types=(t,))


def rmsprop_update(p, g, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps, weight_decay, momentum,
                   maximize):
    """``kernels.rmsprop_update`` on the GPU: p and the state updated in place, one pass."""
    t = p.dtype
    w = 1 - alpha
    from_end = not w < 0.5
    flags = ((_MAXIMIZE if maximize else 0) | (_WEIGHT_DECAY if weight_decay else 0)
             | (_MOMENTUM if momentum_buffer is not None else 0) | (_CENTERED if grad_avg is not None else 0)
             | (_LERP_FROM_END if from_end else 0))
    a = p if grad_avg is None else grad_avg  # never touched without their flags
    buf = p if momentum_buffer is None else momentum_buffer
    scalars = (-lr, alpha, 1 - alpha, (1 - w) if from_end else w, eps, weight_decay, momentum)
    _launch("optim.cu", "rmsprop_kernel", p.size, p.size, (p, g, square_avg, a, buf), (p.size, flags),
            tuple(_acc(t, v) for v in scalars), types=(t,))


def adagrad_update(p, g, state_sum, *, clr, eps, weight_decay, maximize):
    """``kernels.adagrad_update`` on the GPU: p and the sum of squares updated in place, one pass."""
    t = p.dtype
    flags = (_MAXIMIZE if maximize else 0) | (_WEIGHT_DECAY if weight_decay else 0)
    _launch("optim.cu", "adagrad_kernel", p.size, p.size, (p, g, state_sum), (p.size, flags),
            (_acc(t, -clr), _acc(t, eps), _acc(t, weight_decay)), types=(t,))


# --- the loader's uint8 batches (kernels/pixels.py) -------------------------------------------------------------

def pixels_to_float(pixels, scale, offset):
    """``kernels.pixels_to_float`` on the GPU: uint8 (N, C, ...) -> float32, one pass."""
    cupy = _cupy()
    x = _contiguous(pixels)
    n, c = x.shape[:2]
    s = int(np.prod(x.shape[2:])) if x.ndim > 2 else 1
    y = cupy.empty(x.shape, dtype=np.float32)
    _launch("elementwise.cu", "pixels_to_float_kernel", x.size, x.size,
            (x, _contiguous(scale.astype(np.float32, copy=False)), _contiguous(offset.astype(np.float32, copy=False)),
             y), (x.size, s))
    return y


def uniform_rows(keys, shape, dtype):
    """``kernels.uniform_rows`` on the GPU: keys uint64 (N,) -> (N, ...) = shape of ``dtype``, one pass."""
    cupy = _cupy()
    out = cupy.empty(shape, dtype=dtype)
    row = int(np.prod(shape[1:], dtype=np.int64))
    _launch("elementwise.cu", "uniform_rows_kernel", out.size, out.size,
            (_contiguous(keys.astype(np.uint64, copy=False)), out), (out.size, row), types=(np.dtype(dtype),))
    return out


def _convert(kernel, x, dtype):
    """``x`` through the one-pass elementwise ``kernel`` of elementwise.cu into a new array of ``dtype``."""
    x = _contiguous(x)
    out = _cupy().empty(x.shape, dtype=dtype)
    _launch("elementwise.cu", kernel, x.size, x.size, (x, out), (x.size,))
    return out


def float_to_bfloat16(x):
    """``kernels.to_bfloat16_bits`` on the GPU: float32 -> uint16 words of bfloat16, one pass."""
    return _convert("float_to_bfloat16_kernel", x, np.uint16)


def bfloat16_to_float(bits):
    """``kernels.from_bfloat16_bits`` on the GPU: uint16 words of bfloat16 -> float32, one pass."""
    return _convert("bfloat16_to_float_kernel", bits, np.float32)


_CUDA_R_32F, _CUDA_R_16BF, _CUBLAS_COMPUTE_32F, _CUBLAS_GEMM_DEFAULT = 0, 14, 68, -1


def matmul_bfloat16(a, b):
    """(M, K) @ (K, N) on the GPU, each side float32 (converted to words here) or bfloat16 words already, the
    products summed in float32 (cublasGemmEx, CUDA_R_16BF in, CUDA_R_32F out, CUBLAS_COMPUTE_32F): the tensor
    cores' bfloat16 rate."""
    cupy = _cupy()
    from cupy_backends.cuda.libs import cublas

    (m, k), (k2, n) = a.shape, b.shape
    if k != k2:
        raise ValueError(f"matmul_bfloat16: shapes {a.shape} and {b.shape} do not chain")
    aw, bw = (_contiguous(x) if x.dtype == BFLOAT16_WORDS else float_to_bfloat16(x) for x in (a, b))
    out = cupy.empty((m, n), dtype=np.float32)
    one, zero = np.ones(1, np.float32), np.zeros(1, np.float32)
    # Row-major out = a @ b is column-major out^T = b^T a^T: cuBLAS's first operand is our b (n x k, leading
    # dimension n), its second our a (k x m, leading dimension k).
    cublas.gemmEx(cupy.cuda.device.get_cublas_handle(), 0, 0, n, m, k, one.ctypes.data, bw.data.ptr, _CUDA_R_16BF,
                  n, aw.data.ptr, _CUDA_R_16BF, k, zero.ctypes.data, out.data.ptr, _CUDA_R_32F, n,
                  _CUBLAS_COMPUTE_32F, _CUBLAS_GEMM_DEFAULT)
    return out
