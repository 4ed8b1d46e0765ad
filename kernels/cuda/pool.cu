// Max-pool forward and backward on the GPU, the CUDA twins of kernels/pool.py.
//
// Notation: x (N, C, H, W) C-contiguous, window kH x kW, stride (sH, sW),
// padding (pH, pW), dilation (dH, dW), output (N, C, OH, OW); the launcher
// computes OH and OW (kernels.sizes, floor or ceil_mode). Window (oh, ow)
// reads the taps h = oh*sH - pH + i*dH, w = ow*sW - pW + j*dW; a tap outside
// the input is padding (with ceil_mode a last window may hang past the edge).
//
// Same rules as the NumPy version, which are PyTorch's:
//   - padding is -inf: a padded cell never wins, and an all-negative window
//     returns its true (negative) maximum;
//   - the argmax is the kernel offset k = i*kW + j of the winner inside its
//     window, stored as Arg (unsigned char for up to 256 offsets, unsigned
//     short up to 65536, long long beyond);
//   - the taps are scanned in row-major order and a value greater than the
//     best so far, or a NaN, takes over: ties go to the first cell, the last
//     NaN wins its window (NaN propagates);
//   - before any tap is read the winner is the first tap at or past the
//     input's top-left edge, which is what a window whose real cells are all
//     -inf (or that has none, which dilation allows) keeps.
#include "common.cuh"

using namespace tinynet;

// The offset of the first tap at or past the edge along one axis: ceil((p - o*s) / d), or 0.
template <typename I>
__device__ __forceinline__ I first_tap(const I start, const I dilation) {
    return start >= 0 ? I(0) : (-start + dilation - 1) / dilation;
}

// One thread per output (n, c, oh, ow).
template <typename T, typename Arg, typename I>
__global__ void maxpool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, Arg* __restrict__ argmax,
                                       const I N, const I C, const I H, const I W,
                                       const I kH, const I kW, const I sH, const I sW,
                                       const I pH, const I pW, const I dH, const I dW,
                                       const I OH, const I OW) {
    typedef typename Acc<T>::type A;
    const I total = N * C * OH * OW;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I ow = idx % OW;
        I q = idx / OW;
        const I oh = q % OH;
        const I nc = q / OH;  // n * C + c
        const T* plane = x + nc * H * W;
        const I h0 = oh * sH - pH;
        const I w0 = ow * sW - pW;
        // Start from -inf at the first tap past the top-left edge: a real cell
        // replaces it unless it is -inf itself, which leaves the same value.
        A best = neg_inf<A>();
        T best_value = from_acc<T>(best);
        I best_k = first_tap(h0, dH) * kW + first_tap(w0, dW);
        for (I i = first_tap(h0, dH); i < kH; ++i) {
            const I h = h0 + i * dH;
            if (h >= H) break;  // this tap and the rest are padding: -inf never wins
            for (I j = first_tap(w0, dW); j < kW; ++j) {
                const I w = w0 + j * dW;
                if (w >= W) break;
                const T raw = plane[h * W + w];
                const A v = to_acc(raw);
                if (v > best || is_nan(v)) {
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
// gradients of the outputs whose window has it as a tap and whose argmax is
// its offset in that window. Overlapping windows (3x3, stride 2) that pick
// the same pixel add up; no atomics, so the result is deterministic. Offsets
// are visited in the order of the NumPy version's slice additions (i, then j).
//
// Pixel hp = h + pH (in padded coordinates) is tap i of window oh when
// hp = oh*sH + i*dH. With dilation 1 those i are hp % sH, hp % sH + sH, ...;
// otherwise every i < kH is tried and kept where sH divides hp - i*dH.
template <typename T, typename Arg, typename I>
__global__ void maxpool_backward_kernel(const T* __restrict__ gy, const Arg* __restrict__ argmax,
                                        T* __restrict__ gx,
                                        const I N, const I C, const I H, const I W,
                                        const I kH, const I kW, const I sH, const I sW,
                                        const I pH, const I pW, const I dH, const I dW,
                                        const I OH, const I OW) {
    typedef typename Acc<T>::type A;
    const I total = N * C * H * W;
    const I i_step = dH == 1 ? sH : 1;
    const I j_step = dW == 1 ? sW : 1;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I w = idx % W;
        I q = idx / W;
        const I h = q % H;
        const I nc = q / H;
        const I hp = h + pH;
        const I wp = w + pW;
        const I out_plane = nc * OH * OW;
        A sum = 0;
        for (I i = dH == 1 ? hp % sH : 0; i < kH; i += i_step) {
            const I th = hp - i * dH;
            if (th < 0) break;
            if (dH != 1 && th % sH != 0) continue;
            const I oh = th / sH;
            if (oh >= OH) continue;
            for (I j = dW == 1 ? wp % sW : 0; j < kW; j += j_step) {
                const I tw = wp - j * dW;
                if (tw < 0) break;
                if (dW != 1 && tw % sW != 0) continue;
                const I ow = tw / sW;
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
