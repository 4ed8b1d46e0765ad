// Compile tinynet's CUDA kernels (kernels/cuda/*.cu) as plain C++ and run them
// on the CPU, so their index arithmetic can be tested on a machine without a GPU
// (tests/kernels/test_cuda_kernels.py, target "emulated").
//
// Why this is faithful: every kernel is a grid-stride loop in which each output
// element is written by exactly one thread and no thread reads what another
// writes - no shared memory, no synchronisation, no atomics - so running the
// threads of a grid one after another computes what the GPU computes. What it
// cannot check: the GPU's memory system, NVRTC's compile (test_cuda_sources.py
// compiles every source with nvcc instead), and speed.
//
// Launch convention (CUDA's own, as CuPy uses it): args[i] points to the value
// of parameter i, sizeof(parameter i) bytes, a pointer for an array parameter.
#ifndef TINYNET_CUDA_HOST_SHIM_H
#define TINYNET_CUDA_HOST_SHIM_H

#include <cuda_fp16.h>  // host versions of __half, __half2float, __float2half_rn

#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#ifndef __global__
#define __global__
#endif

struct HostDim3 {
    unsigned int x, y, z;
};
static HostDim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1};

// The device intrinsics the kernels use, with the same results on the host
// (IEEE arithmetic; compile with -ffp-contract=off so nothing is fused).
static inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}
static inline double __longlong_as_double(long long i) {
    double d;
    std::memcpy(&d, &i, sizeof d);
    return d;
}
static inline float __uint_as_float(unsigned int i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
}
static inline unsigned int __float_as_uint(float f) {
    unsigned int i;
    std::memcpy(&i, &f, sizeof i);
    return i;
}
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline float __fsqrt_rn(float a) { return std::sqrt(a); }
static inline double __dsqrt_rn(double a) { return std::sqrt(a); }

template <typename... Args, std::size_t... Is>
static void host_call(void (*kernel)(Args...), void** args, std::index_sequence<Is...>) {
    kernel(*static_cast<typename std::decay<Args>::type*>(args[Is])...);
}

// Run every thread of a (grid x block) launch, one after another.
template <typename... Args>
static void host_launch(void (*kernel)(Args...), void** args, unsigned int grid, unsigned int block) {
    gridDim.x = grid;
    blockDim.x = block;
    for (unsigned int b = 0; b < grid; ++b) {
        for (unsigned int t = 0; t < block; ++t) {
            blockIdx.x = b;
            threadIdx.x = t;
            host_call(kernel, args, std::index_sequence_for<Args...>{});
        }
    }
}

// What each parameter is, for checking what the caller passes: its byte size
// for a value, minus the byte size of the element for a pointer (an array).
template <typename P> struct HostParam {
    static int code() { return static_cast<int>(sizeof(P)); }
};
template <typename P> struct HostParam<P*> {
    static int code() { return -static_cast<int>(sizeof(P)); }
};

template <typename... Args>
static int host_param_codes(void (*)(Args...), int* out) {
    const int codes[] = {HostParam<typename std::decay<Args>::type>::code()..., 0};
    for (std::size_t i = 0; i < sizeof...(Args); ++i) out[i] = codes[i];
    return static_cast<int>(sizeof...(Args));
}

#endif  // TINYNET_CUDA_HOST_SHIM_H
