"""The element-wise parameter updates of SGD and Adam, in place (PyTorch's single-tensor order).

    sgd_update:   g <- -g (maximize);  g <- g + wd * p;  buf <- g (first) or momentum * buf + (1 - dampening) * g;
                  g <- g + momentum * buf (nesterov) or buf;  p <- p - lr * g
    adam_update:  g <- -g (maximize);  p <- p * (1 - lr * wd) (decoupled) or g <- g + wd * p;
                  m <- lerp(m, g, 1 - beta1);  v <- beta2 * v + (1 - beta2) * g * g;
                  vmax <- max(vmax, v) and v <- vmax (amsgrad);
                  p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

tinynet/optim/sgd.py and adam.py check the hyper-parameters and keep the state; these functions do the
arithmetic. Scalars are rounded to the parameter's dtype and every operation is rounded in it, as
NumPy computes ``p -= g * lr`` for a float32 p and a Python float lr.

With the array library, each line above is one or two passes over the parameter, each writing a
temporary: about 4 passes for SGD with momentum and 12 for Adam. On the host both run in cache-sized
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
