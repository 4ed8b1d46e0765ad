// Fused optimizer updates, the CUDA twins of kernels/optim.py: one pass that
// reads a parameter, its gradient and its state once and writes the parameter
// and the state once, where the array-library version makes a pass (and a
// temporary) per operation. Every operation is rounded as NumPy rounds it in
// the parameter's dtype (mul_rn and friends: no fused multiply-adds), in the
// order of kernels/optim.py, so float32 and float64 results equal NumPy's.
// Scalars arrive already rounded to T by the launcher (kernels/cuda/__init__.py).
#include "common.cuh"

using namespace tinynet;

// Bits of the `flags` argument.
#define TN_MAXIMIZE 1
#define TN_WEIGHT_DECAY 2
#define TN_MOMENTUM 4
#define TN_FIRST 8
#define TN_DAMPENING 16
#define TN_NESTEROV 32
#define TN_DECOUPLED 64
#define TN_AMSGRAD 128
#define TN_LERP_FROM_END 256

// The gradient as every rule here starts: negated (maximize), then plus the L2 term wd * p (weight decay
// added to the gradient; AdamW's decoupled decay is not this). wd * p + g and g + wd * p are one sum.
template <typename A>
__device__ __forceinline__ A prepared_grad(A g, const A w, const bool maximize, const bool decay, const A wd) {
    if (maximize) g = -g;
    return decay ? add_rn(g, mul_rn(wd, w)) : g;
}

// SGD (PyTorch's rule, kernels/optim.py's _sgd_block):
//   g <- -g (maximize);  g <- wd * p + g;  buf <- g (first) or momentum * buf + (1 - dampening) * g
//   (buf + g without dampening);  g <- g + momentum * buf (nesterov) or buf;  p <- p - g * lr
// buf is unread and may be null without TN_MOMENTUM.
template <typename T, typename I>
__global__ void sgd_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf, const I total,
                           const I flags, const typename Acc<T>::type lr, const typename Acc<T>::type momentum,
                           const typename Acc<T>::type one_minus_dampening,
                           const typename Acc<T>::type weight_decay) {
    typedef typename Acc<T>::type A;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const A w = to_acc(p[idx]);
        A d = prepared_grad<A>(to_acc(g[idx]), w, flags & TN_MAXIMIZE, flags & TN_WEIGHT_DECAY, weight_decay);
        if (flags & TN_MOMENTUM) {
            A b;
            if (flags & TN_FIRST) {
                b = d;
            } else {
                b = mul_rn(to_acc(buf[idx]), momentum);
                b = (flags & TN_DAMPENING) ? add_rn(b, mul_rn(one_minus_dampening, d)) : add_rn(b, d);
            }
            buf[idx] = from_acc<T>(b);
            d = (flags & TN_NESTEROV) ? add_rn(d, mul_rn(momentum, b)) : b;
        }
        p[idx] = from_acc<T>(sub_rn(w, mul_rn(d, lr)));
    }
}

// Adam and AdamW at one step (kernels/optim.py's adam_update), with
//   shrink = 1 - lr * wd (AdamW),  lerp_w = 1 - beta1 (or beta1 with TN_LERP_FROM_END, PyTorch's lerp
//   from the nearer end),  neg_step = -lr / (1 - beta1^t),  bc2_sqrt = sqrt(1 - beta2^t):
//   g <- -g;  p <- p * shrink (AdamW) or g <- g + wd * p (Adam);  m <- m + lerp_w * (g - m)
//   (or g - (g - m) * beta1);  v <- v * beta2 + ((1 - beta2) * g) * g;  vmax <- max(vmax, v), v <- vmax;
//   p <- p + (neg_step * m) / (sqrt(v) / bc2_sqrt + eps)
// vmax is unread and may be null without TN_AMSGRAD. max() keeps a NaN, as NumPy's maximum does.
template <typename T, typename I>
__global__ void adam_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                            T* __restrict__ vmax, const I total, const I flags,
                            const typename Acc<T>::type shrink, const typename Acc<T>::type weight_decay,
                            const typename Acc<T>::type lerp_w, const typename Acc<T>::type beta2,
                            const typename Acc<T>::type one_minus_beta2, const typename Acc<T>::type neg_step,
                            const typename Acc<T>::type bc2_sqrt, const typename Acc<T>::type eps) {
    typedef typename Acc<T>::type A;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        A w = to_acc(p[idx]);
        const bool decoupled = flags & TN_DECOUPLED;
        A d = prepared_grad<A>(to_acc(g[idx]), w, flags & TN_MAXIMIZE, (flags & TN_WEIGHT_DECAY) && !decoupled,
                               weight_decay);
        if ((flags & TN_WEIGHT_DECAY) && decoupled) w = mul_rn(w, shrink);
        A mi = to_acc(m[idx]);
        mi = (flags & TN_LERP_FROM_END) ? sub_rn(d, mul_rn(sub_rn(d, mi), lerp_w))
                                        : add_rn(mi, mul_rn(lerp_w, sub_rn(d, mi)));
        A vi = add_rn(mul_rn(to_acc(v[idx]), beta2), mul_rn(mul_rn(one_minus_beta2, d), d));
        m[idx] = from_acc<T>(mi);
        v[idx] = from_acc<T>(vi);
        if (flags & TN_AMSGRAD) {
            const A old = to_acc(vmax[idx]);
            vi = (is_nan(old) || old > vi) ? old : vi;
            vmax[idx] = from_acc<T>(vi);
        }
        const A denom = add_rn(div_rn(sqrt_rn(vi), bc2_sqrt), eps);
        p[idx] = from_acc<T>(add_rn(w, div_rn(mul_rn(neg_step, mi), denom)));
    }
}

// RMSprop (kernels/optim.py's _rmsprop_block), with lerp_w = 1 - alpha (or its complement with
// TN_LERP_FROM_END) for the centered running mean a of g:
//   g <- -g;  g <- g + wd * p;  v <- v * alpha + ((1 - alpha) * g) * g;
//   centered: a <- lerp(a, g), d = sqrt(v + (-a) * a) + eps;  else d = sqrt(v) + eps;
//   momentum: buf <- buf * momentum + g / d, p <- p + neg_lr * buf;  else p <- p + (neg_lr * g) / d
// grad_avg (centered) and buf (TN_MOMENTUM) are unread and may be any pointer without their flag.
#define TN_CENTERED 512
template <typename T, typename I>
__global__ void rmsprop_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ v, T* __restrict__ a,
                               T* __restrict__ buf, const I total, const I flags, const typename Acc<T>::type neg_lr,
                               const typename Acc<T>::type alpha, const typename Acc<T>::type one_minus_alpha,
                               const typename Acc<T>::type lerp_w, const typename Acc<T>::type eps,
                               const typename Acc<T>::type weight_decay, const typename Acc<T>::type momentum) {
    typedef typename Acc<T>::type A;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const A w = to_acc(p[idx]);
        const A d = prepared_grad<A>(to_acc(g[idx]), w, flags & TN_MAXIMIZE, flags & TN_WEIGHT_DECAY, weight_decay);
        const A vi = add_rn(mul_rn(to_acc(v[idx]), alpha), mul_rn(mul_rn(one_minus_alpha, d), d));
        v[idx] = from_acc<T>(vi);
        A den;
        if (flags & TN_CENTERED) {
            A ai = to_acc(a[idx]);
            ai = (flags & TN_LERP_FROM_END) ? sub_rn(d, mul_rn(sub_rn(d, ai), lerp_w))
                                            : add_rn(ai, mul_rn(lerp_w, sub_rn(d, ai)));
            a[idx] = from_acc<T>(ai);
            den = sqrt_rn(add_rn(vi, mul_rn(-ai, ai)));
        } else {
            den = sqrt_rn(vi);
        }
        den = add_rn(den, eps);
        if (flags & TN_MOMENTUM) {
            const A b = add_rn(mul_rn(to_acc(buf[idx]), momentum), div_rn(d, den));
            buf[idx] = from_acc<T>(b);
            p[idx] = from_acc<T>(add_rn(w, mul_rn(neg_lr, b)));
        } else {
            p[idx] = from_acc<T>(add_rn(w, div_rn(mul_rn(neg_lr, d), den)));
        }
    }
}

// Adagrad (kernels/optim.py's _adagrad_block), neg_clr = -lr / (1 + (step - 1) * lr_decay):
//   g <- -g;  g <- g + wd * p;  s <- s + g * g;  p <- p + (neg_clr * g) / (sqrt(s) + eps)
template <typename T, typename I>
__global__ void adagrad_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ s, const I total,
                               const I flags, const typename Acc<T>::type neg_clr, const typename Acc<T>::type eps,
                               const typename Acc<T>::type weight_decay) {
    typedef typename Acc<T>::type A;
    for (I idx = first<I>(); idx < total; idx += step<I>()) {
        const A w = to_acc(p[idx]);
        const A d = prepared_grad<A>(to_acc(g[idx]), w, flags & TN_MAXIMIZE, flags & TN_WEIGHT_DECAY, weight_decay);
        const A si = add_rn(to_acc(s[idx]), mul_rn(d, d));
        s[idx] = from_acc<T>(si);
        p[idx] = from_acc<T>(add_rn(w, div_rn(mul_rn(neg_clr, d), add_rn(sqrt_rn(si), eps))));
    }
}
