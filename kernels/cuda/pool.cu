// Max-pool forward and backward on the GPU, the CUDA twins of kernels/pool.py.
//
// Notation: x (N, C, H, W) C-contiguous, window kH x kW, stride (sH, sW),
// padding (pH, pW), output (N, C, OH, OW).
//
// Same rules as the NumPy version:
//   - padding is -inf: a padded cell never wins, and an all-negative window
//     returns its true (negative) maximum;
//   - the argmax is the kernel offset k = i*kW + j of the winner inside its
//     window, stored as Arg (unsigned char for up to 256 offsets, unsigned
//     short up to 65536, long long beyond);
//   - ties go to the first cell in row-major window order (strict >);
//   - a NaN wins its window (the first NaN), so NaN propagates.
#include "common.cuh"

using namespace tinynet;

// One thread per output (n, c, oh, ow).
template <typename T, typename Arg, typename I>
__global__ void maxpool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, Arg* __restrict__ argmax,
                                       const I N, const I C, const I H, const I W,
                                       const I kH, const I kW, const I sH, const I sW,
                                       const I pH, const I pW, const I OH, const I OW) {
    typedef typename Acc<T>::type A;
    const I total = N * C * OH * OW;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I ow = idx % OW;
        I q = idx / OW;
        const I oh = q % OH;
        const I nc = q / OH;  // n * C + c
        const T* plane = x + nc * H * W;
        // Start from -inf at offset 0, as if the first cell were padding: a
        // real first cell replaces it unless it is -inf itself, which leaves
        // the same value and offset.
        A best = neg_inf<A>();
        T best_value = from_acc<T>(best);
        I best_k = 0;
        for (I i = 0; i < kH; ++i) {
            const I h = oh * sH + i - pH;
            if (h < 0 || h >= H) continue;  // padding: -inf never wins
            for (I j = 0; j < kW; ++j) {
                const I w = ow * sW + j - pW;
                if (w < 0 || w >= W) continue;
                const T raw = plane[h * W + w];
                const A v = to_acc(raw);
                if (v > best || (is_nan(v) && !is_nan(best))) {
                    best = v;
                    best_value = raw;
                    best_k = i * kW + j;
                }
            }
        }
        y[idx] = best_value;
        argmax[idx] = static_cast<Arg>(best_k);
    }
}

// The backward as a gather: one thread per input pixel (n, c, h, w) sums the
// gradients of the outputs whose window contains it and whose argmax is its
// offset in that window. Overlapping windows (3x3, stride 2) that pick the
// same pixel add up; no atomics, so the result is deterministic. Offsets are
// visited in the order of the NumPy version's slice additions (i, then j).
template <typename T, typename Arg, typename I>
__global__ void maxpool_backward_kernel(const T* __restrict__ gy, const Arg* __restrict__ argmax,
                                        T* __restrict__ gx,
                                        const I N, const I C, const I H, const I W,
                                        const I kH, const I kW, const I sH, const I sW,
                                        const I pH, const I pW, const I OH, const I OW) {
    typedef typename Acc<T>::type A;
    const I total = N * C * H * W;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I w = idx % W;
        I q = idx / W;
        const I h = q % H;
        const I nc = q / H;
        const I hp = h + pH;
        const I wp = w + pW;
        const I out_plane = nc * OH * OW;
        A sum = 0;
        for (I i = hp % sH; i < kH && i <= hp; i += sH) {
            const I oh = (hp - i) / sH;
            if (oh >= OH) continue;
            for (I j = wp % sW; j < kW && j <= wp; j += sW) {
                const I ow = (wp - j) / sW;
                if (ow >= OW) continue;
                const I o = out_plane + oh * OW + ow;
                if (static_cast<long long>(argmax[o]) == static_cast<long long>(i * kW + j)) {
                    sum += to_acc(gy[o]);
                }
            }
        }
        gx[idx] = from_acc<T>(sum);
    }
}
