"""SGD with momentum, dampening, weight decay, Nesterov momentum and maximize: PyTorch's rule.

For each parameter p with gradient g (docs/optimizers.md derives it):

    g   <- -g                                   if maximize
    g   <- g + weight_decay * p
    buf <- g                                    (first step)
    buf <- momentum * buf + (1 - dampening) * g  (later steps)
    g   <- g + momentum * buf   if nesterov   else   buf
    p   <- p - lr * g
"""
import kernels
from tinynet import backend
from tinynet.functional._util import flag_arg
from tinynet.optim.optimizer import Optimizer, check_nonnegative
from tinynet.validate import check_number


class SGD(Optimizer):
    """Stochastic gradient descent, ``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
    nesterov=False, *, maximize=False)``.

    ``params`` is an iterable of distinct leaf Tensors (``model.parameters()``, not the model) or of
    param-group dicts; lr, momentum and weight_decay are finite numbers >= 0, dampening one in [0, 1],
    nesterov and maximize bools. All are checked here, once; ``step()`` checks only that each ``.grad``
    fits its parameter.
    """

    STATE_ARRAYS = ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    @staticmethod
    def _check(group, where):
        """lr, momentum, weight_decay finite numbers >= 0, dampening in [0, 1], nesterov and maximize bools
        (nesterov needing momentum > 0 and dampening 0)."""
        check_nonnegative(group, where, "lr", "momentum")
        check_number(f"{where}: dampening", group["dampening"], low=0, high=1)
        check_nonnegative(group, where, "weight_decay")
        group["nesterov"] = flag_arg(group["nesterov"], "nesterov", where)
        group["maximize"] = flag_arg(group["maximize"], "maximize", where)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{where}: Nesterov momentum needs momentum > 0 and dampening = 0")
        return group

    @property
    def buffers(self):
        """The momentum buffer of each parameter, None before its first step (the arrays themselves)."""
        return [self.state.get(p, {}).get("momentum_buffer") for p in self.params]

    def _update(self, p, g, state, group, i):
        """The arithmetic is kernels.sgd_update: on the host the whole update for one cache-sized block of
        a parameter at a time, on every core, so each of p, g and the momentum buffer is read from memory
        once per step rather than once per operation (the update of AlexNet's 62M parameters is
        memory-bound); on the GPU one fused kernel."""
        momentum = group["momentum"]
        buf = state.get("momentum_buffer")
        first = momentum and buf is None
        if first:  # filled by the first update; kept only once that has run through
            buf = backend.get_array_module(p).empty_like(p)
        h = {k: group[k] for k in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")}
        kernels.sgd_update(p, g, buf if momentum else None, first=bool(first), **h)
        if momentum:
            state["momentum_buffer"] = buf
