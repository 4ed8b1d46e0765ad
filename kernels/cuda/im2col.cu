// im2col and col2im on the GPU, the CUDA twins of kernels/im2col.py.
//
// Notation: x (N, C, H, W) C-contiguous, kernel kH x kW, stride (sH, sW),
// padding (pH, pW), output OH x OW. The column matrix has the layout of the
// NumPy version, (C*kH*kW, N*OH*OW), C-contiguous:
//
//     col[(c*kH + i)*kW + j][(n*OH + oh)*OW + ow] = x[n, c, oh*sH + i - pH, ow*sW + j - pW]
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
                              const I pH, const I pW, const I OH, const I OW) {
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
            const I h = oh * sH + i - pH;
            const bool row_inside = h >= 0 && h < H;
            for (I j = 0; j < kW; ++j) {
                const I w = ow * sW + j - pW;
                const bool inside = row_inside && w >= 0 && w < W;
                col_c[(i * kW + j) * cols] = inside ? x_nc[h * W + w] : from_acc<T>(0);
            }
        }
    }
}

// The adjoint of im2col as a gather: one thread per input pixel (n, c, h, w)
// sums the column entries that were copied from it. The padded row h + pH is
// covered by kernel row i exactly when (h + pH - i) is a multiple of sH and
// oh = (h + pH - i) / sH is a valid output row, so i runs over
// (h + pH) % sH, + sH, ... (same for columns). Offsets are visited in the
// order i, then j - the order in which the NumPy version adds its slices -
// so float32 and float64 results are the same sums in the same order. No
// atomics: every output is written by one thread, and the result is
// deterministic.
template <typename T, typename I>
__global__ void col2im_kernel(const T* __restrict__ col, T* __restrict__ x,
                              const I N, const I C, const I H, const I W,
                              const I kH, const I kW, const I sH, const I sW,
                              const I pH, const I pW, const I OH, const I OW) {
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
        A sum = 0;
        for (I i = hp % sH; i < kH && i <= hp; i += sH) {
            const I oh = (hp - i) / sH;
            if (oh >= OH) continue;
            for (I j = wp % sW; j < kW && j <= wp; j += sW) {
                const I ow = (wp - j) / sW;
                if (ow >= OW) continue;
                sum += to_acc(col[((c * kH + i) * kW + j) * cols + (n * OH + oh) * OW + ow]);
            }
        }
        x[idx] = from_acc<T>(sum);
    }
}
