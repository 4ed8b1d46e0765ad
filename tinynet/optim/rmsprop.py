"""RMSprop: PyTorch's rule (docs/optimizers.md derives it).

For each parameter p with gradient g:

    g   <- -g                                     if maximize
    g   <- g + weight_decay * p
    v   <- alpha * v + (1 - alpha) * g * g        square_avg
    a   <- a + (1 - alpha) * (g - a)              grad_avg, if centered
    d   <- sqrt(v - a * a) + eps   if centered   else   sqrt(v) + eps
    buf <- momentum * buf + g / d;  p <- p - lr * buf     if momentum > 0
    p   <- p - lr * g / d                                  otherwise
"""
import kernels
from tinynet import backend
from tinynet.functional._util import flag_arg
from tinynet.optim.optimizer import Optimizer, check_nonnegative


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
    maximize=False)``."""

    STATE_ARRAYS = ("square_avg", "momentum_buffer", "grad_avg")
    HAS_STEP = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    @staticmethod
    def _check(group, where):
        """lr, alpha, eps, weight_decay, momentum finite numbers >= 0; centered, maximize bools."""
        check_nonnegative(group, where, "lr", "alpha", "eps", "weight_decay", "momentum")
        group["centered"] = flag_arg(group["centered"], "centered", where)
        group["maximize"] = flag_arg(group["maximize"], "maximize", where)
        return group

    def _state_keys(self, group):
        return (("step", "square_avg") + (("momentum_buffer",) if group["momentum"] > 0 else ())
                + (("grad_avg",) if group["centered"] else ()))

    def _init_state(self, p, group):
        xp = backend.get_array_module(p)
        return {"step": 0, **{k: xp.zeros_like(p) for k in self._state_keys(group)[1:]}}

    def _update(self, p, g, state, group, i):
        """The arithmetic is kernels.rmsprop_update (blocked on the host, one fused kernel on the GPU)."""
        state["step"] += 1
        kernels.rmsprop_update(p, g, state["square_avg"], state.get("grad_avg") if group["centered"] else None,
                               state.get("momentum_buffer") if group["momentum"] > 0 else None,
                               **{k: group[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum",
                                                        "maximize")})
