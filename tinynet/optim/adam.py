"""Adam and AdamW: PyTorch's rules (docs/optimizers.md derives them).

For each parameter p with gradient g, at step t = 1, 2, ...:

    g  <- -g                                  if maximize
    p  <- p * (1 - lr * weight_decay)         AdamW (decoupled decay)
    g  <- g + weight_decay * p                Adam (L2 penalty in the gradient)
    m  <- m + (1 - beta1) * (g - m)           exp_avg, a lerp toward g
    v  <- beta2 * v + (1 - beta2) * g * g     exp_avg_sq
    vmax <- max(vmax, v); use vmax for v      if amsgrad
    p  <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""
from tinynet import backend
from tinynet.functional._util import flag_arg
from tinynet.optim.optimizer import Optimizer, check_nonnegative
from tinynet.validate import check_number


def lerp_(a, b, w):
    """a <- a + w * (b - a) in place, computed as PyTorch's lerp does (from the nearer end)."""
    if w < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


def check_betas(group, where):
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{where}: betas must be a pair of numbers in [0, 1), got {betas!r}")
    for k, b in enumerate(betas):
        check_number(f"{where}: betas[{k}]", b, low=0, high=1, high_open=True)
    group["betas"] = tuple(betas)


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False,
    decoupled_weight_decay=False)``.

    weight_decay adds ``weight_decay * p`` to the gradient (an L2 penalty); with decoupled_weight_decay
    (AdamW) it shrinks p itself.
    """

    STATE_ARRAYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    HAS_STEP = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled_weight_decay=decoupled_weight_decay))

    @staticmethod
    def _check(group, where):
        """lr, eps, weight_decay finite numbers >= 0; betas a pair in [0, 1); amsgrad, maximize bools."""
        check_nonnegative(group, where, "lr", "eps")
        check_betas(group, where)
        check_nonnegative(group, where, "weight_decay")
        group["amsgrad"] = flag_arg(group["amsgrad"], "amsgrad", where)
        group["maximize"] = flag_arg(group["maximize"], "maximize", where)
        group["decoupled_weight_decay"] = flag_arg(group["decoupled_weight_decay"], "decoupled_weight_decay", where)
        return group

    def _state_keys(self, group):
        return ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    def _init_state(self, p, group):
        xp = backend.get_array_module(p)
        return {"step": 0, **{k: xp.zeros_like(p) for k in self._state_keys(group)[1:]}}

    def _update(self, p, g, state, group, i):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        xp = backend.get_array_module(p)
        if group["maximize"]:
            g = -g
        if wd:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]
        lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = xp.sqrt(v) / bias_correction2_sqrt
        denom += eps
        p += -(lr / bias_correction1) * m / denom


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False)``: Adam whose weight decay shrinks p by ``lr * weight_decay`` directly, apart from
    the adaptive step (Loshchilov and Hutter's decoupled weight decay)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
