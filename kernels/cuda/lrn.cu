// Local response normalisation on the GPU, the CUDA twins of kernels/lrn.py.
//
// Arrays are (N, C, S) C-contiguous, S the product of the trailing dimensions
// (1 for a 2-D input). A channel window reaching `before` channels back and
// `after` forward is clipped to [0, C) (channels outside count as zero).
//
// Sums run over the window in the NumPy version's order - the centre, then
// c-1, c-2, ..., c-before, then c+1, ..., c+after - and each product, sum and
// quotient is rounded as NumPy rounds it, so float32 and float64 results
// differ from NumPy's only through pow().
#include "common.cuh"

using namespace tinynet;

// out[n, c, s] = sum of a[n, c', s] for c' in [c - before, c + after].
template <typename T, typename I>
__global__ void channel_window_sum_kernel(const T* __restrict__ a, T* __restrict__ out,
                                          const I N, const I C, const I S,
                                          const I before, const I after) {
    typedef typename Acc<T>::type A;
    const I total = N * C * S;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I c = (idx / S) % C;
        A sum = to_acc(a[idx]);
        for (I d = 1; d <= before && d <= c; ++d) sum = add_rn(sum, to_acc(a[idx - d * S]));
        for (I d = 1; d <= after && c + d < C; ++d) sum = add_rn(sum, to_acc(a[idx + d * S]));
        out[idx] = from_acc<T>(sum);
    }
}

// Forward, fused: with window [c - before, c + after] (before = size // 2,
// after = (size - 1) // 2),
//     s[n, c] = k + (alpha / size) * sum over the window of x^2
//     y[n, c] = x[n, c] * s[n, c]^(-beta)
// s is stored (in T) for the backward; y is computed from the stored s.
template <typename T, typename I>
__global__ void lrn_forward_kernel(const T* __restrict__ x, T* __restrict__ y, T* __restrict__ s,
                                   const I N, const I C, const I S, const I before, const I after,
                                   const typename Acc<T>::type k,
                                   const typename Acc<T>::type alpha_over_size,
                                   const typename Acc<T>::type neg_beta) {
    typedef typename Acc<T>::type A;
    const I total = N * C * S;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I c = (idx / S) % C;
        const A xc = to_acc(x[idx]);
        A sum = mul_rn(xc, xc);
        for (I d = 1; d <= before && d <= c; ++d) {
            const A v = to_acc(x[idx - d * S]);
            sum = add_rn(sum, mul_rn(v, v));
        }
        for (I d = 1; d <= after && c + d < C; ++d) {
            const A v = to_acc(x[idx + d * S]);
            sum = add_rn(sum, mul_rn(v, v));
        }
        const T s_t = from_acc<T>(add_rn(k, mul_rn(alpha_over_size, sum)));
        s[idx] = s_t;
        y[idx] = from_acc<T>(mul_rn(xc, power(to_acc(s_t), neg_beta)));
    }
}

// Backward, fused: with u[c'] = g[c'] * x[c'] * s[c']^(-beta) / s[c'] summed
// over the mirrored window [c - before, c + after] (before = (size - 1) // 2,
// after = size // 2),
//     dx[n, c] = g[n, c] * s[n, c]^(-beta) - coef * x[n, c] * sum u
// with coef = 2 * alpha * beta / size.
template <typename T, typename I>
__device__ __forceinline__ typename Acc<T>::type lrn_backward_term(const T* g, const T* x, const T* s, I at,
                                                                     typename Acc<T>::type neg_beta) {
    typedef typename Acc<T>::type A;
    const A sv = to_acc(s[at]);
    return div_rn(mul_rn(mul_rn(to_acc(g[at]), to_acc(x[at])), power(sv, neg_beta)), sv);
}

template <typename T, typename I>
__global__ void lrn_backward_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ s,
                                    T* __restrict__ gx,
                                    const I N, const I C, const I S, const I before, const I after,
                                    const typename Acc<T>::type neg_beta,
                                    const typename Acc<T>::type coef) {
    typedef typename Acc<T>::type A;
    const I total = N * C * S;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const I c = (idx / S) % C;
        A back = lrn_backward_term<T, I>(g, x, s, idx, neg_beta);
        for (I d = 1; d <= before && d <= c; ++d) {
            back = add_rn(back, lrn_backward_term<T, I>(g, x, s, idx - d * S, neg_beta));
        }
        for (I d = 1; d <= after && c + d < C; ++d) {
            back = add_rn(back, lrn_backward_term<T, I>(g, x, s, idx + d * S, neg_beta));
        }
        const A xc = to_acc(x[idx]);
        const A s_pow = power(to_acc(s[idx]), neg_beta);
        gx[idx] = from_acc<T>(sub_rn(mul_rn(to_acc(g[idx]), s_pow), mul_rn(mul_rn(coef, xc), back)));
    }
}
