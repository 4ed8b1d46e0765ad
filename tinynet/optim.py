"""Optimizers and learning-rate schedules, with PyTorch's update rules and names.

SGD. For each parameter p with gradient g:

    g   <- g + weight_decay * p
    buf <- g                                    (first step)
    buf <- momentum * buf + (1 - dampening) * g  (later steps)
    g   <- g + momentum * buf   if nesterov   else   buf
    p   <- p - lr * g

Schedules change ``optimizer.lr`` once per epoch:

    StepLR(opt, step_size, gamma=0.1)      lr = base_lr * gamma ** (epoch // step_size)
    CosineAnnealingLR(opt, T_max, eta_min=0) lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2
    ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=10, threshold=1e-4, min_lr=0)
        lr *= factor once the monitored metric has not improved by a relative ``threshold``
        for more than ``patience`` epochs: the paper's "divide the learning rate by 10 when
        the validation error stops improving".

Each has ``state_dict()`` / ``load_state_dict()`` of plain numbers and arrays, for checkpoints.
"""
import math

from kernels import parallel
from tinynet import backend


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
        """Update every parameter that has a gradient, in place (the Parameter objects stay the same).

        The arithmetic is the formula in the module docstring, operation for operation. On the
        host it runs through ``kernels.parallel.blockwise``: the whole update for one cache-sized
        block of a parameter at a time, on every core, so each of p, g and the momentum buffer is
        read from memory once per step rather than once per operation (the update of AlexNet's
        62M parameters is memory-bound).
        """
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            buf = self.buffers[i]
            first = self.momentum and buf is None
            if first:  # filled by the first update; kept only once that has run through
                buf = backend.get_array_module(p.data).empty_like(p.data)
            arrays = (p.data, p.grad.data) + ((buf,) if self.momentum else ())
            parallel.blockwise(lambda *blocks: self._update(*blocks, first=first), *arrays)
            self.buffers[i] = buf

    def _update(self, p, g, buf=None, first=False):
        """The SGD update of one block: p and buf (the momentum buffer) in place, g read only."""
        t = p.dtype.type
        if self.weight_decay:  # g + wd * p, computed as wd * p, then + g (the same sum)
            d = p * t(self.weight_decay)
            d += g
            g = d
        if self.momentum:
            if first:
                buf[...] = g
            else:
                buf *= t(self.momentum)
                if self.dampening:
                    buf += t(1 - self.dampening) * g
                else:
                    buf += g  # (1 - 0) * g is g exactly
            g = g + t(self.momentum) * buf if self.nesterov else buf
        p -= g * t(self.lr)  # lr * g, then subtracted in place

    def state_dict(self):
        """{'lr', 'momentum', ..., 'buffers': [array or None per parameter]} (host NumPy arrays)."""
        return {
            "lr": self.lr, "momentum": self.momentum, "dampening": self.dampening,
            "weight_decay": self.weight_decay, "nesterov": self.nesterov,
            "buffers": [None if b is None else backend.host(b).copy() for b in self.buffers],
        }

    def load_state_dict(self, state):
        buffers = state["buffers"]
        if len(buffers) != len(self.params):
            raise ValueError(
                f"SGD.load_state_dict: the state has {len(buffers)} momentum buffers for {len(self.params)} parameters"
            )
        for i, (b, p) in enumerate(zip(buffers, self.params)):
            if b is not None and tuple(b.shape) != p.shape:
                raise ValueError(f"SGD.load_state_dict: buffer {i} has shape {tuple(b.shape)}, parameter {p.shape}")
        self.lr, self.momentum, self.dampening = state["lr"], state["momentum"], state["dampening"]
        self.weight_decay, self.nesterov = state["weight_decay"], state["nesterov"]
        self.buffers = [None if b is None else backend.to_device(b.astype(p.dtype), p.device)
                        for b, p in zip(buffers, self.params)]


class StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs; call ``step()`` once per epoch."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.optimizer, self.step_size, self.gamma = optimizer, int(step_size), float(gamma)
        self.base_lr, self.last_epoch = optimizer.lr, 0

    def step(self, metric=None):
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.last_epoch // self.step_size)

    def state_dict(self):
        return {"kind": "step", "step_size": self.step_size, "gamma": self.gamma,
                "base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state):
        self.step_size, self.gamma = state["step_size"], state["gamma"]
        self.base_lr, self.last_epoch = state["base_lr"], state["last_epoch"]


class CosineAnnealingLR:
    """Lower the learning rate along half a cosine, from its starting value at epoch 0 to ``eta_min``
    at epoch ``T_max``, and there after (PyTorch would climb back up the cosine); call ``step()`` once
    per epoch.

        lr(e) = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.optimizer, self.T_max, self.eta_min = optimizer, int(T_max), float(eta_min)
        self.base_lr, self.last_epoch = optimizer.lr, 0

    def step(self, metric=None):
        self.last_epoch += 1
        phase = math.pi * min(self.last_epoch, self.T_max) / self.T_max
        self.optimizer.lr = self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(phase)) / 2

    def state_dict(self):
        return {"kind": "cosine", "T_max": self.T_max, "eta_min": self.eta_min,
                "base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state):
        self.T_max, self.eta_min = state["T_max"], state["eta_min"]
        self.base_lr, self.last_epoch = state["base_lr"], state["last_epoch"]


class ReduceLROnPlateau:
    """Divide the learning rate by 1/factor when a metric stops improving; call ``step(metric)`` per epoch.

    mode "min" for a loss or an error rate, "max" for an accuracy.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, min_lr=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.optimizer, self.mode, self.factor = optimizer, mode, float(factor)
        self.patience, self.threshold, self.min_lr = int(patience), float(threshold), float(min_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0

    def _improved(self, metric):
        if self.mode == "min":
            return metric < self.best * (1 - self.threshold) if self.best != math.inf else True
        return metric > self.best * (1 + self.threshold) if self.best != -math.inf else True

    def step(self, metric):
        if metric is None:
            raise ValueError("ReduceLROnPlateau.step needs the monitored metric")
        if self._improved(metric):
            self.best, self.bad_epochs = metric, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.optimizer.lr = max(self.optimizer.lr * self.factor, self.min_lr)
            self.bad_epochs = 0

    def state_dict(self):
        return {"kind": "plateau", "mode": self.mode, "factor": self.factor, "patience": self.patience,
                "threshold": self.threshold, "min_lr": self.min_lr, "best": self.best,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state):
        for key in ("mode", "factor", "patience", "threshold", "min_lr", "best", "bad_epochs"):
            setattr(self, key, state[key])
