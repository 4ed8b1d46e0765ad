// The gathers and scatters of Winograd convolution (kernels/winograd.py): the overlapping a x a input
// tiles (a = m + r - 1, one every m pixels) and the m x m output tiles, moved between the image layout
// (N, C, H, W) and the transform layout (C, a*a, P): per channel, the tile's entries, then the P = N * tH * tW
// tiles ordered (n, tile row, tile column). The transforms and the products are matrix products (cuBLAS
// through CuPy). One thread per element written; the scatter of overlapping tiles is a gather (one thread
// per pixel), so no atomics.
#include "common.cuh"

using namespace tinynet;

// Where element ``idx`` of a (channels, k*k, N*tH*tW) tile array sits: its channel, its entry (row i, column
// j of the k x k tile) and its tile (sample n, tile row t, tile column u).
template <typename I>
struct TileIndex {
    I channel, i, j, n, t, u;
    __device__ TileIndex(const I idx, const I k, const I N, const I tH, const I tW) {
        const I P = N * tH * tW;
        const I p = idx % P;
        const I ij = (idx / P) % (k * k);
        channel = idx / (P * k * k);
        i = ij / k;
        j = ij % k;
        u = p % tW;
        t = (p / tW) % tH;
        n = p / (tW * tH);
    }
};

// D[c, (i, j), (n, t, u)] = x[n, c, t*m + i - pH, u*m + j - pW], zero outside x.
template <typename T, typename I>
__global__ void winograd_input_tiles_kernel(const T* __restrict__ x, T* __restrict__ D, const I N, const I C,
                                            const I H, const I W, const I pH, const I pW, const I tH,
                                            const I tW, const I m, const I a) {
    const I total = a * a * C * N * tH * tW;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const TileIndex<I> at(idx, a, N, tH, tW);
        const I h = at.t * m + at.i - pH, w = at.u * m + at.j - pW;
        D[idx] = (h >= 0 && h < H && w >= 0 && w < W) ? x[((at.n * C + at.channel) * H + h) * W + w]
                                                      : from_acc<T>(0);
    }
}

// dx[n, c, h, w] = the sum of dD over every tile entry that reads x[n, c, h, w]: entry (i, j) of tile (t, u)
// with t*m + i = h + pH and u*m + j = w + pW. Added with i ascending, then j ascending (t and u
// descending), as kernels/winograd.py's slices add them, so the two give the same bits.
template <typename T, typename I>
__global__ void winograd_input_untiles_kernel(const T* __restrict__ dD, T* __restrict__ dx, const I N,
                                              const I C, const I H, const I W, const I pH, const I pW,
                                              const I tH, const I tW, const I m, const I a) {
    typedef typename Acc<T>::type A;
    const I P = N * tH * tW;
    const I total = N * C * H * W;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I w = idx % W, h = (idx / W) % H, c = (idx / (W * H)) % C, n = idx / (W * H * C);
        const I hp = h + pH, wp = w + pW;
        // Tiles whose rows cover hp: t*m <= hp <= t*m + a - 1, 0 <= t < tH (columns alike).
        const I t_hi = (hp / m < tH - 1) ? hp / m : tH - 1;
        const I t_lo = (hp - a + 1 > 0) ? (hp - a + 1 + m - 1) / m : 0;
        const I u_hi = (wp / m < tW - 1) ? wp / m : tW - 1;
        const I u_lo = (wp - a + 1 > 0) ? (wp - a + 1 + m - 1) / m : 0;
        A sum = 0;
        for (I t = t_hi; t >= t_lo; --t) {
            const I i = hp - t * m;
            for (I u = u_hi; u >= u_lo; --u) {
                const I j = wp - u * m;
                sum = add_rn(sum, to_acc(dD[(c * a * a + i * a + j) * P + (n * tH + t) * tW + u]));
            }
        }
        dx[idx] = from_acc<T>(sum);
    }
}

// y[n, o, h, w] = Y[o, (h % m, w % m), (n, h / m, w / m)] (+ bias[o] with has_bias): the output tiles
// placed (those past the edge dropped), the bias added in the same pass, rounded once.
template <typename T, typename I>
__global__ void winograd_output_untiles_kernel(const T* __restrict__ Y, const T* __restrict__ bias,
                                               T* __restrict__ y, const I N, const I OC, const I OH, const I OW,
                                               const I tH, const I tW, const I m, const I has_bias) {
    const I P = N * tH * tW;
    const I total = N * OC * OH * OW;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I w = idx % OW, h = (idx / OW) % OH, o = (idx / (OW * OH)) % OC, n = idx / (OW * OH * OC);
        const I ij = (h % m) * m + w % m;
        const T v = Y[(o * m * m + ij) * P + (n * tH + h / m) * tW + w / m];
        y[idx] = has_bias ? from_acc<T>(add_rn(to_acc(v), to_acc(bias[o]))) : v;
    }
}

// dY[o, (i, j), (n, t, u)] = gy[n, o, t*m + i, u*m + j], zero past the output's edge.
template <typename T, typename I>
__global__ void winograd_output_tiles_kernel(const T* __restrict__ gy, T* __restrict__ dY, const I N,
                                             const I OC, const I OH, const I OW, const I tH, const I tW,
                                             const I m) {
    const I total = m * m * OC * N * tH * tW;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const TileIndex<I> at(idx, m, N, tH, tW);
        const I h = at.t * m + at.i, w = at.u * m + at.j;
        dY[idx] = (h < OH && w < OW) ? gy[((at.n * OC + at.channel) * OH + h) * OW + w] : from_acc<T>(0);
    }
}
