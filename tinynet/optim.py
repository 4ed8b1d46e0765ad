"""Optimizers.

SGD with PyTorch's update rule. For each parameter p with gradient g:

    g   <- g + weight_decay * p
    buf <- g                                   (first step)
    buf <- momentum * buf + (1 - dampening) * g (later steps)
    g   <- g + momentum * buf   if nesterov   else   buf
    p   <- p - lr * g
"""


class SGD:
    """Stochastic gradient descent with optional momentum, weight decay and Nesterov momentum."""

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD: got an empty parameter list")
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.buffers = [None] * len(self.params)

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data = p.grad.data * 0

    def step(self):
        """Update every parameter that has a gradient, in place (the Parameter objects stay the same)."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if self.weight_decay:
                g = g + p.data.dtype.type(self.weight_decay) * p.data
            if self.momentum:
                buf = self.buffers[i]
                if buf is None:
                    buf = g.copy()
                else:
                    buf *= p.data.dtype.type(self.momentum)
                    buf += p.data.dtype.type(1 - self.dampening) * g
                self.buffers[i] = buf
                g = g + p.data.dtype.type(self.momentum) * buf if self.nesterov else buf
            p.data -= p.data.dtype.type(self.lr) * g
