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
from tinynet.functional._util import flag_arg
from tinynet.nn.module import Module
from tinynet._tensor import Tensor
from tinynet.validate import check_number


class SGD:
    """Stochastic gradient descent with optional momentum, weight decay and Nesterov momentum.

    ``params`` is an iterable of distinct leaf Tensors (``model.parameters()``, not the model);
    lr, momentum and weight_decay are finite numbers >= 0, dampening one in [0, 1], nesterov a bool.
    All are checked here, once; ``step()`` checks only that each ``.grad`` fits its parameter.
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        settings = self._settings("SGD", lr, momentum, dampening, weight_decay, nesterov)
        self.lr, self.momentum, self.dampening, self.weight_decay, self.nesterov = settings
        self.params = self._parameter_list(params)
        self.buffers = [None] * len(self.params)

    @staticmethod
    def _settings(where, lr, momentum, dampening, weight_decay, nesterov):
        """The hyper-parameters, checked: lr, momentum, weight_decay finite numbers >= 0, dampening in
        [0, 1], nesterov a bool (needing momentum > 0 and dampening 0). ``where`` starts the message."""
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            check_number(f"{where}: {name}", value, low=0)
        check_number(f"{where}: dampening", dampening, low=0, high=1)
        nesterov = flag_arg(nesterov, "nesterov", where)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"{where}: Nesterov momentum needs momentum > 0 and dampening = 0")
        return lr, momentum, dampening, weight_decay, nesterov

    @staticmethod
    def _parameter_list(params):
        """``params`` as a list of distinct leaf Tensors, or the error saying what was given instead."""
        if isinstance(params, Module):
            raise TypeError(f"SGD: got a Module ({type(params).__name__}); pass model.parameters()")
        if isinstance(params, (Tensor, str, bytes, dict)) or not hasattr(params, "__iter__"):
            hint = " (wrap a single tensor in a list: [t])" if isinstance(params, Tensor) else ""
            raise TypeError(
                "SGD: params argument given to the optimizer should be an iterable of Tensors, but got "
                f"{type(params).__name__}{hint}"
            )
        params, seen = list(params), {}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"SGD: parameter {i} has type {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(
                    f"SGD: parameter {i} is not a leaf tensor (it was computed by {p.grad_fn.name}); "
                    "an optimizer updates the tensors that others are computed from"
                )
            if id(p) in seen:
                raise ValueError(f"SGD: parameter {i} is the same tensor as parameter {seen[id(p)]} (given twice)")
            seen[id(p)] = i
        if not params:
            raise ValueError("SGD: got an empty parameter list")
        return params

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
            g = p.grad
            if g is None:
                continue
            # A .grad set by hand: a wrong shape of the same size would update the wrong elements.
            if not isinstance(g, Tensor):
                raise TypeError(
                    f"SGD.step: parameter {i}'s .grad has type {type(g).__name__}, expected a Tensor or None"
                )
            if g.shape != p.shape:
                raise ValueError(
                    f"SGD.step: parameter {i} has shape {p.shape} but its .grad has shape {g.shape}; "
                    "a gradient must have its parameter's shape"
                )
            backend.check_same_device([p.data, g.data], f"SGD.step: parameter {i} and its .grad")
            buf = self.buffers[i]
            first = self.momentum and buf is None
            if first:  # filled by the first update; kept only once that has run through
                buf = backend.get_array_module(p.data).empty_like(p.data)
            arrays = (p.data, g.data) + ((buf,) if self.momentum else ())
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
        """Restore what ``state_dict()`` returned, each entry checked as the constructor checks it."""
        where = "SGD.load_state_dict"
        keys = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "buffers")
        _check_state(self, "sgd", state, keys)
        settings = self._settings(where, *(state[k] for k in keys[:5]))
        buffers = state["buffers"]
        if not isinstance(buffers, (list, tuple)):
            raise TypeError(
                f"{where}: buffers must be a list (an array or None per parameter), got {type(buffers).__name__}"
            )
        if len(buffers) != len(self.params):
            raise ValueError(
                f"SGD.load_state_dict: the state has {len(buffers)} momentum buffers for {len(self.params)} parameters"
            )
        for i, (b, p) in enumerate(zip(buffers, self.params)):
            if b is None:
                continue
            if not all(hasattr(b, a) for a in ("shape", "dtype", "astype")):
                raise TypeError(f"{where}: buffers[{i}] has type {type(b).__name__}, expected an array or None")
            if b.dtype.kind != "f":
                raise TypeError(f"{where}: buffers[{i}] has dtype {b.dtype}, expected a floating-point array")
            if tuple(b.shape) != p.shape:
                raise ValueError(f"SGD.load_state_dict: buffer {i} has shape {tuple(b.shape)}, parameter {p.shape}")
        self.lr, self.momentum, self.dampening, self.weight_decay, self.nesterov = settings
        self.buffers = [None if b is None else backend.to_device(b.astype(p.dtype), p.device)
                        for b, p in zip(buffers, self.params)]


class StepLR:
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs; call ``step()`` once per epoch."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        check_number("StepLR: step_size", step_size, integer=True, low=1)
        check_number("StepLR: gamma", gamma, low=0, low_open=True)
        self.optimizer, self.step_size, self.gamma = optimizer, int(step_size), float(gamma)
        self.base_lr, self.last_epoch = optimizer.lr, 0

    def lr_at(self, epoch):
        """The learning rate of epoch ``epoch`` (0-based): base_lr * gamma ** (epoch // step_size)."""
        try:
            return self.base_lr * self.gamma ** (epoch // self.step_size)
        except OverflowError:  # gamma > 1 raised to a large power: the lr is unbounded
            return math.inf

    def step(self, metric=None):
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def state_dict(self):
        return {"kind": "step", "step_size": self.step_size, "gamma": self.gamma,
                "base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state):
        _check_state(self, "step", state, ("step_size", "gamma", "base_lr", "last_epoch"))
        self.step_size, self.gamma = state["step_size"], state["gamma"]
        self.base_lr, self.last_epoch = state["base_lr"], state["last_epoch"]


class CosineAnnealingLR:
    """Lower the learning rate along half a cosine, from its starting value at epoch 0 to ``eta_min``
    at epoch ``T_max``, and there after (PyTorch would climb back up the cosine); call ``step()`` once
    per epoch.

        lr(e) = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        check_number("CosineAnnealingLR: T_max", T_max, integer=True, low=1)
        check_number("CosineAnnealingLR: eta_min", eta_min, low=0)
        self.optimizer, self.T_max, self.eta_min = optimizer, int(T_max), float(eta_min)
        self.base_lr, self.last_epoch = optimizer.lr, 0

    def lr_at(self, epoch):
        """The learning rate of epoch ``epoch`` (0-based): the formula above, held at eta_min past T_max."""
        phase = math.pi * min(epoch, self.T_max) / self.T_max
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(phase)) / 2

    def step(self, metric=None):
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def state_dict(self):
        return {"kind": "cosine", "T_max": self.T_max, "eta_min": self.eta_min,
                "base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state):
        _check_state(self, "cosine", state, ("T_max", "eta_min", "base_lr", "last_epoch"))
        self.T_max, self.eta_min = state["T_max"], state["eta_min"]
        self.base_lr, self.last_epoch = state["base_lr"], state["last_epoch"]


class ReduceLROnPlateau:
    """Divide the learning rate by 1/factor when a metric stops improving; call ``step(metric)`` per epoch.

    mode "min" for a loss or an error rate, "max" for an accuracy.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, min_lr=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        check_number("ReduceLROnPlateau: factor", factor, low=0, high=1, low_open=True, high_open=True)
        check_number("ReduceLROnPlateau: patience", patience, integer=True, low=0)
        check_number("ReduceLROnPlateau: threshold", threshold, low=0)
        check_number("ReduceLROnPlateau: min_lr", min_lr, low=0)
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
        keys = ("mode", "factor", "patience", "threshold", "min_lr", "best", "bad_epochs")
        _check_state(self, "plateau", state, keys)
        for key in keys:
            setattr(self, key, state[key])


def _check_state(schedule, kind, state, keys):
    """Refuse a schedule state that is not a dict of ``kind`` holding ``keys``, naming what is wrong."""
    name = type(schedule).__name__
    if not isinstance(state, dict):
        raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state).__name__}")
    if state.get("kind", kind) != kind:
        raise ValueError(f"{name}.load_state_dict: the state is of a {state.get('kind')!r} schedule, "
                         f"this is a {kind!r} one")
    missing = [k for k in keys if k not in state]
    if missing:
        raise ValueError(f"{name}.load_state_dict: the state lacks {', '.join(missing)}")
