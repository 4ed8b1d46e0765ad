"""Learning-rate schedules, each changing ``optimizer.lr`` once per epoch (PyTorch's names):

    StepLR(opt, step_size, gamma=0.1)      lr = base_lr * gamma ** (epoch // step_size)
    CosineAnnealingLR(opt, T_max, eta_min=0) lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2
    ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=10, threshold=1e-4, min_lr=0)
        lr *= factor once the monitored metric has not improved by a relative ``threshold``
        for more than ``patience`` epochs: the paper's "divide the learning rate by 10 when
        the validation error stops improving".

Each has ``state_dict()`` / ``load_state_dict()`` of plain numbers, for checkpoints.
"""
import math

from tinynet.validate import check_number


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
