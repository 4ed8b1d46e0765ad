// im2col and col2im on the GPU, the CUDA twins of kernels/im2col.py.
//
// Notation: x (N, C, H, W) C-contiguous, kernel kH x kW, stride (sH, sW),
// padding (pH, pW), dilation (dH, dW), output OH x OW. The column matrix has
// the layout of the NumPy version, (C*kH*kW, N*OH*OW), C-contiguous:
//
//     col[(c*kH + i)*kW + j][(n*OH + oh)*OW + ow] = x[n, c, oh*sH + i*dH - pH, ow*sW + j*dW - pW]
//
// (zero where the input index falls in the padding). Groups need nothing
// here: a group of channels is a block of rows, sliced by the caller.
#include "common.cuh"

using namespace tinynet;

// One thread per (channel, output pixel) pair: the thread splits its index
// into (c, n, oh, ow) once, then copies the kH*kW entries of that column
// position, one per kernel offset (i, j). For a fixed offset, consecutive
// threads write consecutive ow, so stores are coalesced; the index arithmetic
// (integer divisions, the costly part) is paid once per kH*kW entries.
template <typename T, typename I>
__global__ void im2col_kernel(const T* __restrict__ x, T* __restrict__ col,
                              const I N, const I C, const I H, const I W,
                              const I kH, const I kW, const I sH, const I sW,
                              const I pH, const I pW, const I dH, const I dW,
                              const I OH, const I OW) {
    const I cols = N * OH * OW;
    const I total = C * cols;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I q = idx % cols;  // (n, oh, ow) flattened: the column
        const I c = idx / cols;
        const I ow = q % OW;
        const I oh = (q / OW) % OH;
        const I n = q / (OW * OH);
        const T* x_nc = x + (n * C + c) * H * W;
        T* col_c = col + c * kH * kW * cols + q;
        for (I i = 0; i < kH; ++i) {
            const I h = oh * sH + i * dH - pH;
            const bool row_inside = h >= 0 && h < H;
            for (I j = 0; j < kW; ++j) {
                const I w = ow * sW + j * dW - pW;
                const bool inside = row_inside && w >= 0 && w < W;
                col_c[(i * kW + j) * cols] = inside ? x_nc[h * W + w] : from_acc<T>(0);
            }
        }
    }
}

// The first kernel tap i that can read padded row p: the smallest i >= 0
// with p - i*d a multiple of the stride s (then oh = (p - i*d) / s, if in
// range). The taps that line up with p are i0, i0 + tap_step, ..., where
// tap_step = s / gcd(s, d) (the host passes it: the smallest step whose
// tap_step*d is a multiple of s), so i0 < tap_step; if no i below tap_step
// lines up, none does, and this returns `none`. Undilated (d = 1,
// tap_step = s) it is one division, p % s, as before dilation existed.
template <typename I>
__device__ __forceinline__ I first_tap(const I p, const I s, const I d, const I tap_step, const I none) {
    if (d == 1) return p % s;
    for (I i = 0; i < tap_step; ++i) {
        if ((p - i * d) % s == 0) return i;
    }
    return none;
}

// The adjoint of im2col as a gather: one thread per input pixel (n, c, h, w)
// sums the column entries that were copied from it. The padded row
// hp = h + pH is read by kernel row i exactly when th = hp - i*dH is >= 0, a
// multiple of sH, and oh = th / sH is a valid output row; those i are
// first_tap(hp), + tH, + 2*tH, ... with tH = sH / gcd(sH, dH) (tH = sH
// undilated), th stepping down by tH*dH (same for columns). Offsets are
// visited in the order i, then j - the order in which the NumPy version adds
// its slices - so float32 and float64 results are the same sums in the same
// order. No atomics: every output is written by one thread, and the result
// is deterministic.
template <typename T, typename I>
__global__ void col2im_kernel(const T* __restrict__ col, T* __restrict__ x,
                              const I N, const I C, const I H, const I W,
                              const I kH, const I kW, const I sH, const I sW,
                              const I pH, const I pW, const I dH, const I dW,
                              const I tH, const I tW, const I OH, const I OW) {
    typedef typename Acc<T>::type A;
    const I cols = N * OH * OW;
    const I total = N * C * H * W;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I w = idx % W;
        I q = idx / W;
        const I h = q % H;
        q /= H;
        const I c = q % C;
        const I n = q / C;
        const I hp = h + pH;
        const I wp = w + pW;
        const I j0 = first_tap(wp, sW, dW, tW, kW);
        A sum = 0;
        for (I i = first_tap(hp, sH, dH, tH, kH), th = hp - i * dH; i < kH && th >= 0; i += tH, th -= tH * dH) {
            const I oh = th / sH;
            if (oh >= OH) continue;
            for (I j = j0, tw = wp - j0 * dW; j < kW && tw >= 0; j += tW, tw -= tW * dW) {
                const I ow = tw / sW;
                if (ow >= OW) continue;
                sum += to_acc(col[((c * kH + i) * kW + j) * cols + (n * OH + oh) * OW + ow]);
            }
        }
        x[idx] = from_acc<T>(sum);
    }
}
