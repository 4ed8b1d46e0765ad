// Fused element-wise kernels, the CUDA twins of kernels/activation.py: one
// pass over the data where the array-library version makes several (compare,
// multiply, select), each writing a temporary.
#include "common.cuh"

using namespace tinynet;

// ReLU of z, keeping the mask z > 0: y = max(z, 0) as NumPy's maximum computes
// it (a NaN stays NaN, -0 becomes +0).
template <typename T>
__device__ __forceinline__ void relu_store(const T z, T* y, bool* mask, long long at) {
    const typename Acc<T>::type v = to_acc(z);
    const bool positive = v > 0;
    mask[at] = positive;
    y[at] = (positive || is_nan(v)) ? z : from_acc<T>(0);
}

// y = max(x, 0), mask = x > 0, for x of any shape (flat, `total` elements).
template <typename T, typename I>
__global__ void relu_kernel(const T* __restrict__ x, T* __restrict__ y, bool* __restrict__ mask, const I total) {
    for (I idx = first<I>(); idx < total; idx += step<I>()) relu_store<T>(x[idx], y, mask, idx);
}

// z = x + bias[c] for x (N, C, S) C-contiguous (bias along axis 1: channels of
// a convolution's output, features of a linear layer's with S = 1), rounded to
// T as NumPy's x + bias is; then y = max(z, 0), mask = z > 0.
template <typename T, typename I>
__global__ void bias_relu_kernel(const T* __restrict__ x, const T* __restrict__ bias, T* __restrict__ y,
                                 bool* __restrict__ mask, const I total, const I C, const I S) {
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const T z = from_acc<T>(add_rn(to_acc(x[idx]), to_acc(bias[(idx / S) % C])));
        relu_store<T>(z, y, mask, idx);
    }
}

// Inverted dropout from uniform samples u in [0, 1): keep where u >= p,
//     mask = u >= p,   y = mask ? x * scale : 0,   scale = 1 / (1 - p)
// with p and scale already rounded to T by the caller (as NumPy compares and
// multiplies in T). The samples come from tinynet's generator for the device
// (tinynet.backend.random_uniform), so tinynet.manual_seed fixes the mask and
// the mask equals the one the array-library version draws from the same u.
template <typename T, typename I>
__global__ void dropout_kernel(const T* __restrict__ x, const T* __restrict__ u, T* __restrict__ y,
                               bool* __restrict__ mask, const I total,
                               const typename Acc<T>::type p, const typename Acc<T>::type scale) {
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const bool keep = to_acc(u[idx]) >= p;
        mask[idx] = keep;
        y[idx] = keep ? from_acc<T>(mul_rn(to_acc(x[idx]), scale)) : from_acc<T>(0);
    }
}

// uint8 images to float32 with a per-sample, per-channel affine map (kernels/pixels.py):
//     y[n, c, s] = float(x[n, c, s]) * scale[n, c] + offset[n, c]
// for x (N, C, S) C-contiguous (S = H * W), the product rounded to float, then the sum, as NumPy's
// float32 `x * s + o` (mul_rn / add_rn: no fused multiply-add). One pass: the loader's batches stay
// uint8 until they are on the device, a quarter of float32's bytes to copy.
template <typename I>
__global__ void pixels_to_float_kernel(const unsigned char* __restrict__ x, const float* __restrict__ scale,
                                       const float* __restrict__ offset, float* __restrict__ y, const I total,
                                       const I S) {
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I nc = idx / S;
        y[idx] = add_rn(mul_rn(static_cast<float>(x[idx]), scale[nc]), offset[nc]);
    }
}

// Counter-based uniform numbers, one stream per row (kernels/random.py): element j of row r from the
// bits b = mix(keys[r] + (j + 1) G) of splitmix64 (wrapping 64-bit arithmetic), as
//     double: (b >> 11) 2^-53      float: (b >> 40) 2^-24      half: floor(float * 2048) / 2048
//     bfloat16: floor(float * 256) / 256
// all exact (k / 256 for k < 256 has at most 8 significant bits, bfloat16's precision; so no sample rounds
// up to 1), so the NumPy version gives the same numbers. ``row`` is the elements per row.
__device__ __forceinline__ unsigned long long splitmix_finish(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

template <typename T>
__device__ __forceinline__ T uniform_from_bits(unsigned long long b) {
    const float u = static_cast<float>(b >> 40) * 5.9604644775390625e-08f;  // 2^-24
    return from_acc<T>(floorf(u * 2048.0f) * 4.8828125e-04f);  // float16: the grid k / 2048
}

template <>
__device__ __forceinline__ float uniform_from_bits<float>(unsigned long long b) {
    return static_cast<float>(b >> 40) * 5.9604644775390625e-08f;  // 2^-24
}

template <>
__device__ __forceinline__ bf16 uniform_from_bits<bf16>(unsigned long long b) {
    const float u = static_cast<float>(b >> 40) * 5.9604644775390625e-08f;  // 2^-24
    return from_acc<bf16>(floorf(u * 256.0f) * 3.90625e-03f);  // bfloat16: the grid k / 256
}

template <>
__device__ __forceinline__ double uniform_from_bits<double>(unsigned long long b) {
    return static_cast<double>(b >> 11) * 1.1102230246251565e-16;  // 2^-53
}

template <typename T, typename I>
__global__ void uniform_rows_kernel(const unsigned long long* __restrict__ keys, T* __restrict__ out,
                                    const I total, const I row) {
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I r = idx / row;
        const unsigned long long j = static_cast<unsigned long long>(idx - r * row) + 1ULL;
        out[idx] = uniform_from_bits<T>(splitmix_finish(keys[r] + j * 0x9E3779B97F4A7C15ULL));
    }
}

// float32 <-> bfloat16 words (kernels/half.py), with common.cuh's rounding (from_acc<bf16>) and widening
// (to_acc). These words are what cuBLAS's mixed-precision GEMM reads as CUDA_R_16BF.
template <typename I>
__global__ void float_to_bfloat16_kernel(const float* __restrict__ x, bf16* __restrict__ y, const I total) {
    for (I idx = first<I>(); idx < total; idx += step<I>()) y[idx] = from_acc<bf16>(x[idx]);
}

template <typename I>
__global__ void bfloat16_to_float_kernel(const bf16* __restrict__ x, float* __restrict__ y, const I total) {
    for (I idx = first<I>(); idx < total; idx += step<I>()) y[idx] = to_acc(x[idx]);
}
