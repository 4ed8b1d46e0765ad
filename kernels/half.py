"""bfloat16 emulated in float32: round a float32 array to the values bfloat16 can hold.

bfloat16 is float32's upper 16 bits: the same 8-bit exponent (the same range, up to 3.4e38), 7 stored
mantissa bits instead of 23 (about 3 significant digits; the spacing of 1.0 is 2^-7 = 0.0078). NumPy and
CuPy have no bfloat16 dtype, so tinynet keeps such values in float32 storage, rounded:

    bits  = the float32's 32 bits as an unsigned int
    bits += 0x7FFF + ((bits >> 16) & 1)        round to nearest, ties to even (on the 16 bits dropped)
    bits &= 0xFFFF0000                         keep the upper 16

so a value already on bfloat16's grid is unchanged, the largest finite values round up to infinity as
bfloat16's do, infinities stay, and a NaN keeps its sign and upper half and is made quiet (the same NaN the
word conversion below gives). One code path for both devices (xp's integer ops).

    round_to_bfloat16(a)    float32 array -> float32 array on bfloat16's grid
    to_bfloat16_bits(a)     float32 array -> uint16 words (bfloat16 as cuBLAS's CUDA_R_16BF stores it)
    from_bfloat16_bits(b)   uint16 words -> float32 array (exact: every bfloat16 is a float32)
    matmul_bfloat16(a, b)   (M, K) @ (K, N), each float32 or words, read as bfloat16, summed in float32: on the
                            GPU cuBLAS's mixed-precision GEMM on the words; on the host the float32 product
                            of the rounded values (what autocast's bfloat16 emulation computes)

The word conversions have CUDA twins (kernels/cuda/elementwise.cu), bit for bit the same in the CPU
emulation; a NaN keeps its sign and becomes a quiet NaN.
"""
import numpy as np

from kernels import cuda as _cuda
from kernels.array import get_array_module, is_cupy_array


def _check(what, a, dtype, wanted):
    if getattr(a, "dtype", None) != dtype or not hasattr(a, "view"):
        raise TypeError(f"{what}: expected {wanted}, got {getattr(a, 'dtype', type(a).__name__)}")


def round_to_bfloat16(a):
    """``a`` (float32, any shape) rounded to the nearest bfloat16 value, ties to even; float32 storage: the
    word conversion there and back (one rounding rule, and one pass each on the GPU)."""
    _check("round_to_bfloat16", a, np.float32, "a float32 array")
    return from_bfloat16_bits(to_bfloat16_bits(a))


def to_bfloat16_bits(a):
    """float32 ``a`` -> uint16 bfloat16 words of its shape, rounded to nearest, ties to even (a NaN keeps
    its sign and upper half, made quiet: rounding its payload could carry it into infinity's pattern)."""
    _check("to_bfloat16_bits", a, np.float32, "a float32 array")
    if is_cupy_array(a):
        return _cuda.float_to_bfloat16(a)
    xp = get_array_module(a)
    bits = xp.ascontiguousarray(a).view(xp.uint32)
    rounded = (bits + (xp.uint32(0x7FFF) + ((bits >> xp.uint32(16)) & xp.uint32(1)))) >> xp.uint32(16)
    quiet = (bits >> xp.uint32(16)) | xp.uint32(0x0040)
    nan = (bits & xp.uint32(0x7FFFFFFF)) > xp.uint32(0x7F800000)
    return xp.where(nan, quiet, rounded).astype(xp.uint16).reshape(a.shape)


def from_bfloat16_bits(b):
    """uint16 bfloat16 words ``b`` -> float32 of its shape (shifted into float32's upper half)."""
    _check("from_bfloat16_bits", b, np.uint16, "uint16 words")
    if is_cupy_array(b):
        return _cuda.bfloat16_to_float(b)
    xp = get_array_module(b)
    return (xp.ascontiguousarray(b).astype(xp.uint32) << xp.uint32(16)).view(xp.float32).reshape(b.shape)


def matmul_bfloat16(a, b, on_grid=False):
    """a (M, K) @ b (K, N) with both read as bfloat16 and the products summed in float32 -> float32.

    Each operand is float32 (rounded to bfloat16 first; ``on_grid``: it holds bfloat16 values already, so the
    host skips that) or uint16 bfloat16 words, taken as they are (a convolution's columns, made from words by
    im2col's bfloat16 kernel: half the bytes of float32 columns, and no conversion of the largest operand)."""
    for name, x in (("a", a), ("b", b)):
        if getattr(x, "dtype", None) not in (np.float32, np.uint16) or getattr(x, "ndim", None) != 2:
            raise TypeError(f"matmul_bfloat16: {name} must be a 2-D float32 array or uint16 bfloat16 words, got "
                            f"{getattr(x, 'dtype', type(x).__name__)} of shape {getattr(x, 'shape', None)}")
    if is_cupy_array(a):
        return _cuda.matmul_bfloat16(a, b)

    def host(x):
        return from_bfloat16_bits(x) if x.dtype == np.uint16 else x if on_grid else round_to_bfloat16(x)

    return host(a) @ host(b)
