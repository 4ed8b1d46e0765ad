"""The element-wise parameter updates of SGD, Adam, RMSprop and Adagrad, in place (PyTorch's
single-tensor order).

    sgd_update:   g <- -g (maximize);  g <- g + wd * p;  buf <- g (first) or momentum * buf + (1 - dampening) * g;
                  g <- g + momentum * buf (nesterov) or buf;  p <- p - lr * g
    adam_update:  g <- -g (maximize);  p <- p * (1 - lr * wd) (decoupled) or g <- g + wd * p;
                  m <- lerp(m, g, 1 - beta1);  v <- beta2 * v + (1 - beta2) * g * g;
                  vmax <- max(vmax, v) and v <- vmax (amsgrad);
                  p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    rmsprop_update: g <- -g;  g <- g + wd * p;  v <- alpha * v + (1 - alpha) * g * g;
                  centered: a <- lerp(a, g, 1 - alpha), d = sqrt(v - a * a) + eps, else d = sqrt(v) + eps;
                  buf <- momentum * buf + g / d and p <- p - lr * buf (momentum > 0), else p <- p - lr * g / d
    adagrad_update: g <- -g;  g <- g + wd * p;  s <- s + g * g;  p <- p - clr * g / (sqrt(s) + eps)

tinynet/optim/{sgd,adam,rmsprop,adagrad}.py check the hyper-parameters and keep the state; these functions do the
arithmetic. Scalars are rounded to the parameter's dtype and every operation is rounded in it, as
NumPy computes ``p -= g * lr`` for a float32 p and a Python float lr.

With the array library, each line above is one or two passes over the parameter, each writing a
temporary: about 4 passes for SGD with momentum and 12 for Adam. On the host each runs in cache-sized
blocks on every core (kernels.parallel), so each array is read from memory once per step (Adam's step
over AlexNet's 62M parameters took 0.58 s whole-array and 0.16 s blocked, on two cores). On the GPU each
update is one kernel (kernels/cuda/optim.cu) that reads p, g and the state once and writes p and the
state once: one launch per parameter instead of a dozen.
"""
from kernels import cuda as _cuda
from kernels import parallel
from kernels.array import get_array_module


def _fused(*arrays):
    """True if the CUDA kernel takes these arrays (CuPy floats, C-contiguous, one dtype)."""
    return (_cuda.handles(*arrays) and all(a.flags.c_contiguous for a in arrays)
            and len({a.dtype for a in arrays}) == 1)


def sgd_update(p, g, buf=None, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
               maximize=False, first=False):
    """SGD's update of parameter ``p`` (in place) from gradient ``g``; ``buf`` the momentum buffer, written
    in place (given when momentum > 0; ``first``: its first step, buf <- g, its old contents unread)."""
    h = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
             maximize=maximize, first=first)
    arrays = (p, g) + ((buf,) if momentum else ())
    if _fused(*arrays):
        _cuda.sgd_update(p, g, buf if momentum else None, **h)
        return
    parallel.blockwise(lambda *blocks: _sgd_block(*blocks, **h), *arrays)


def _sgd_block(p, g, buf=None, *, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    """The SGD update of one block: p and buf in place, g read only."""
    t = p.dtype.type
    if maximize:
        g = -g
    if weight_decay:  # g + wd * p, computed as wd * p, then + g (the same sum)
        d = p * t(weight_decay)
        d += g
        g = d
    if momentum:
        if first:
            buf[...] = g
        else:
            buf *= t(momentum)
            if dampening:
                buf += t(1 - dampening) * g
            else:
                buf += g  # (1 - 0) * g is g exactly
        g = g + t(momentum) * buf if nesterov else buf
    p -= g * t(lr)  # lr * g, then subtracted in place


def lerp_(a, b, w):
    """a <- a + w * (b - a) in place, computed as PyTorch's lerp does (from the nearer end)."""
    if w < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


def adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr, beta1, beta2, eps,
                weight_decay=0.0, decoupled=False, maximize=False):
    """Adam's update of ``p`` (in place) at step ``step`` (1, 2, ...), with its moments ``exp_avg``,
    ``exp_avg_sq`` (and ``max_exp_avg_sq`` for amsgrad) updated in place; ``decoupled``: AdamW's decay."""
    h = dict(step=step, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
             decoupled=decoupled, maximize=maximize)
    arrays = (p, g, exp_avg, exp_avg_sq) + (() if max_exp_avg_sq is None else (max_exp_avg_sq,))
    if _fused(*arrays):
        _cuda.adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, **h)
        return
    parallel.blockwise(lambda *blocks: _adam_block(*blocks, **h), *arrays)


def _adam_block(p, g, m, v, vmax=None, *, step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize):
    """The Adam update of one block: p, m, v (and vmax) in place, g read only."""
    xp = get_array_module(p)
    if maximize:
        g = -g
    if weight_decay:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    lerp_(m, g, 1 - beta1)
    v *= beta2
    v += (1 - beta2) * g * g
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    if vmax is not None:
        xp.maximum(vmax, v, out=vmax)
        v = vmax
    denom = xp.sqrt(v) / bias_correction2_sqrt
    denom += eps
    p += -(lr / bias_correction1) * m / denom


def rmsprop_update(p, g, square_avg, grad_avg=None, momentum_buffer=None, *, lr, alpha, eps, weight_decay=0.0,
                   momentum=0.0, maximize=False):
    """RMSprop's update of ``p`` (in place) with its running mean of g*g ``square_avg`` (and, centered, of g
    ``grad_avg``; with momentum > 0, ``momentum_buffer``), each updated in place."""
    h = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, maximize=maximize)
    arrays = [p, g, square_avg] + [a for a in (grad_avg, momentum_buffer) if a is not None]
    if _fused(*arrays):
        _cuda.rmsprop_update(p, g, square_avg, grad_avg, momentum_buffer, **h)
        return
    centered, with_momentum = grad_avg is not None, momentum_buffer is not None

    def block(p, g, v, *rest):
        rest = list(rest)
        a = rest.pop(0) if centered else None
        buf = rest.pop(0) if with_momentum else None
        _rmsprop_block(p, g, v, a, buf, **h)

    parallel.blockwise(block, *arrays)


def _rmsprop_block(p, g, v, a, buf, *, lr, alpha, eps, weight_decay, momentum, maximize):
    xp = get_array_module(p)
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    v *= alpha
    v += (1 - alpha) * g * g
    if a is not None:
        lerp_(a, g, 1 - alpha)
        d = xp.sqrt(v + (-a) * a)
    else:
        d = xp.sqrt(v)
    d += eps
    if buf is not None:
        buf *= momentum
        buf += g / d
        p += -lr * buf
    else:
        p += -lr * g / d


def adagrad_update(p, g, state_sum, *, clr, eps, weight_decay=0.0, maximize=False):
    """Adagrad's update of ``p`` (in place) with its running sum of g*g ``state_sum`` (in place), at the
    decayed learning rate ``clr`` = lr / (1 + (step - 1) * lr_decay)."""
    h = dict(clr=clr, eps=eps, weight_decay=weight_decay, maximize=maximize)
    if _fused(p, g, state_sum):
        _cuda.adagrad_update(p, g, state_sum, **h)
        return
    parallel.blockwise(lambda *blocks: _adagrad_block(*blocks, **h), p, g, state_sum)


def _adagrad_block(p, g, s, *, clr, eps, weight_decay, maximize):
    xp = get_array_module(p)
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    s += g * g
    std = xp.sqrt(s)
    std += eps
    p += -clr * g / std

