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
import kernels
from tinynet import backend
from tinynet.functional._util import flag_arg
from tinynet.optim.optimizer import Optimizer, check_nonnegative
from tinynet.validate import check_number


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
        """The arithmetic is kernels.adam_update (one fused kernel on the GPU)."""
        (beta1, beta2) = group["betas"]
        state["step"] += 1
        vmax = None
        if group["amsgrad"]:  # made here too if amsgrad was switched on after the first step
            vmax = state.setdefault("max_exp_avg_sq", backend.get_array_module(p).zeros_like(p))
        kernels.adam_update(p, g, state["exp_avg"], state["exp_avg_sq"], vmax,
                            step=state["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                            weight_decay=group["weight_decay"], decoupled=group["decoupled_weight_decay"],
                            maximize=group["maximize"])


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
    maximize=False)``: Adam whose weight decay shrinks p by ``lr * weight_decay`` directly, apart from
    the adaptive step (Loshchilov and Hutter's decoupled weight decay)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
