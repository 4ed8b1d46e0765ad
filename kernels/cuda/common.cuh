// What every tinynet kernel shares: the arithmetic type of each storage type,
// conversions, -inf, and the launch geometry of a grid-stride loop.
//
// The Python loader (kernels/cuda/__init__.py) pastes this file in place of
// `#include "common.cuh"`, so the text CuPy compiles (and hashes for its
// kernel cache) is the whole program. Only <cuda_fp16.h> is included: NVRTC,
// which CuPy compiles with, has no C++ standard library headers.
//
// Type parameters used throughout:
//   T  the storage type of the arrays: __half, bf16 (below), float or double
//   I  the index type: int when every index the kernel forms is below 2**31
//      (the loader checks), long long otherwise
#ifndef TINYNET_COMMON_CUH
#define TINYNET_COMMON_CUH

#include <cuda_fp16.h>

namespace tinynet {

// Arithmetic happens in Acc<T>::type: __half is widened to float once on load
// and rounded once on store, so a sum of many halves is not rounded at every step.
template <typename T> struct Acc { typedef T type; };
template <> struct Acc<__half> { typedef float type; };

__device__ __forceinline__ float to_acc(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_acc(float v) { return v; }
__device__ __forceinline__ double to_acc(double v) { return v; }

template <typename T> __device__ __forceinline__ T from_acc(typename Acc<T>::type v) { return v; }
template <> __device__ __forceinline__ __half from_acc<__half>(float v) { return __float2half_rn(v); }

// bfloat16 as a 16-bit word, float32's upper half (kernels/half.py; the arrays are uint16 on the Python
// side, as NumPy and CuPy have no bfloat16 dtype). Widened exactly by shifting up; rounded to nearest, ties
// to even, on the 16 bits dropped, a NaN keeping its sign and upper half and made quiet (rounding its
// payload could carry it into infinity's pattern):
//     bits = (f + 0x7FFF + ((f >> 16) & 1)) >> 16
// Our own struct rather than cuda_bf16.h's __nv_bfloat16: the rounding is spelled out here, and the same
// text builds for the CPU emulation.
struct bf16 {
    unsigned short bits;
};
template <> struct Acc<bf16> { typedef float type; };

__device__ __forceinline__ float to_acc(bf16 v) { return __uint_as_float(static_cast<unsigned int>(v.bits) << 16); }

__device__ __forceinline__ unsigned short bfloat16_bits(float v) {
    const unsigned int f = __float_as_uint(v);
    const bool nan = (f & 0x7FFFFFFFu) > 0x7F800000u;
    return static_cast<unsigned short>(nan ? ((f >> 16) | 0x0040u) : ((f + 0x7FFFu + ((f >> 16) & 1u)) >> 16));
}
template <> __device__ __forceinline__ bf16 from_acc<bf16>(float v) {
    bf16 r;
    r.bits = bfloat16_bits(v);
    return r;
}

template <typename A> __device__ __forceinline__ A neg_inf();
template <> __device__ __forceinline__ float neg_inf<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double neg_inf<double>() {
    return __longlong_as_double(static_cast<long long>(0xfff0000000000000ULL));
}

// Correctly rounded products, quotients and sums that the compiler may not fuse
// into a multiply-add: where the NumPy version rounds after each operation,
// so does the kernel (for float and double; __half is computed in float).
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float div_rn(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double div_rn(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }

__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double sqrt_rn(double a) { return __dsqrt_rn(a); }

__device__ __forceinline__ float power(float base, float exponent) { return powf(base, exponent); }
__device__ __forceinline__ double power(double base, double exponent) { return pow(base, exponent); }

// NaN is the only value unequal to itself (no fast-math flags are used).
template <typename A> __device__ __forceinline__ bool is_nan(A v) { return v != v; }

// Grid-stride loop bounds: thread t handles first(), first() + step(), ...
template <typename I> __device__ __forceinline__ I first() {
    return static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x);
}
template <typename I> __device__ __forceinline__ I step() {
    return static_cast<I>(blockDim.x) * static_cast<I>(gridDim.x);
}

}  // namespace tinynet

#endif  // TINYNET_COMMON_CUH
