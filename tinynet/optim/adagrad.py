"""Adagrad: PyTorch's rule (docs/optimizers.md derives it).

For each parameter p with gradient g, at step t = 1, 2, ...:

    g   <- -g                                 if maximize
    g   <- g + weight_decay * p
    clr  = lr / (1 + (t - 1) * lr_decay)
    s   <- s + g * g                          sum, starting at initial_accumulator_value
    p   <- p - clr * g / (sqrt(s) + eps)
"""
import kernels
from tinynet import backend
from tinynet.functional._util import flag_arg
from tinynet.optim.optimizer import Optimizer, check_nonnegative


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
    maximize=False)``. As in PyTorch the state of every parameter exists from the start."""

    STATE_ARRAYS = ("sum",)
    HAS_STEP = True

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 *, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def _add_group(self, group, where):
        super()._add_group(group, where)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = self._init_state(p.data, group)

    @staticmethod
    def _check(group, where):
        """lr, lr_decay, eps, weight_decay, initial_accumulator_value finite numbers >= 0; maximize a bool."""
        check_nonnegative(group, where, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
        group["maximize"] = flag_arg(group["maximize"], "maximize", where)
        return group

    def _state_keys(self, group):
        return ("step", "sum")

    def _init_state(self, p, group):
        xp = backend.get_array_module(p)
        return {"step": 0, "sum": xp.full_like(p, group["initial_accumulator_value"])}

    def _update(self, p, g, state, group, i):
        """The arithmetic is kernels.adagrad_update (blocked on the host, one fused kernel on the GPU)."""
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        kernels.adagrad_update(p, g, state["sum"], clr=clr, eps=group["eps"], weight_decay=group["weight_decay"],
                               maximize=group["maximize"])
