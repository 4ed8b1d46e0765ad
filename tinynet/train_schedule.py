"""The learning-rate plan of ``tinynet train``: the lr of each epoch as a closed-form function of the
epoch and the flags, so that a resumed run can re-plan it from the flags in force (train_flags.ON_RESUME).

    kind         lr of epoch e (0-based), after W = --lr-warmup-epochs epochs of warm-up
    step         base_lr * gamma ** ((e - W) // step_size)
    multistep    base_lr * gamma ** (number of milestones <= e - W)
    exponential  base_lr * gamma ** (e - W)
    cosine       eta_min + (base_lr - eta_min) * (1 + cos(pi * min(e - W, T_max) / T_max)) / 2,
                 T_max = --epochs - W: down to eta_min at the end of the run, and held there
    plateau      base_lr, times gamma each time val top-1 has not improved for more than 2 epochs

    warm-up (e < W): base_lr * decay ("constant"), or base_lr * (decay + (1 - decay) * e / W) ("linear")

This is what torchvision's reference script builds from the same flags out of PyTorch's
LinearLR/ConstantLR, then StepLR/MultiStepLR/ExponentialLR/CosineAnnealingLR in a SequentialLR,
stepped once per epoch, but written as closed forms: tinynet.optim.lr_scheduler's
CosineAnnealingLR climbs back up past T_max, which the CLI's "cosine" never does (it stays at its
floor, and is re-planned when --epochs is extended on --resume). As every main schedule, the
multistep one starts counting at the end of the warm-up: --lr-milestones (a flag torchvision's
script does not have) are epochs after it.

Each plan's ``state_dict()`` is {"kind", its fields, "base_lr", "last_epoch"}, plus the warm-up's fields
when there is one: the checkpoint's "scheduler" field, of the same form as the checkpoints written
before these plans existed (kinds "step", "cosine", "plateau").
"""
import math
from bisect import bisect_right

from tinynet.validate import check_number

WARMUP_FIELDS = ("warmup_epochs", "warmup_method", "warmup_decay")


class _Plan:
    """A closed-form plan: ``lr_at(epoch)``; ``step()`` once per epoch sets the optimizer's lr to it."""

    KIND, FIELDS = None, ()

    def __init__(self, optimizer, warmup_epochs=0, warmup_method="constant", warmup_decay=0.01, **fields):
        self.optimizer, self.base_lr, self.last_epoch = optimizer, optimizer.lr, 0
        self.warmup_epochs, self.warmup_method, self.warmup_decay = warmup_epochs, warmup_method, warmup_decay
        for name in self.FIELDS:
            setattr(self, name, fields[name])

    def lr_at(self, epoch):
        """The learning rate of epoch ``epoch`` (0-based)."""
        w = self.warmup_epochs
        if epoch < w:
            decay = self.warmup_decay
            return self.base_lr * (decay if self.warmup_method == "constant" else decay + (1 - decay) * epoch / w)
        try:
            return self._main(epoch)
        except OverflowError:  # gamma > 1 raised to a large power: the lr is unbounded
            return math.inf

    def step(self, metric=None):
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def state_dict(self):
        state = {"kind": self.KIND, **{k: getattr(self, k) for k in self.FIELDS}, "base_lr": self.base_lr,
                 "last_epoch": self.last_epoch}
        if self.warmup_epochs:
            state.update({k: getattr(self, k) for k in WARMUP_FIELDS})
        return state

    def load_state_dict(self, state):
        check_state(self, self.KIND, state, (*self.FIELDS, "base_lr", "last_epoch"))
        for key in (*self.FIELDS, "base_lr", "last_epoch"):
            setattr(self, key, list(state[key]) if isinstance(state[key], list) else state[key])
        self.warmup_epochs = state.get("warmup_epochs", 0)
        self.warmup_method = state.get("warmup_method", "constant")
        self.warmup_decay = state.get("warmup_decay", 0.01)


class StepPlan(_Plan):
    KIND, FIELDS = "step", ("step_size", "gamma")

    def _main(self, epoch):
        return self.base_lr * self.gamma ** ((epoch - self.warmup_epochs) // self.step_size)


class MultiStepPlan(_Plan):
    KIND, FIELDS = "multistep", ("milestones", "gamma")

    def _main(self, epoch):
        return self.base_lr * self.gamma ** bisect_right(self.milestones, epoch - self.warmup_epochs)


class ExponentialPlan(_Plan):
    KIND, FIELDS = "exponential", ("gamma",)

    def _main(self, epoch):
        return self.base_lr * self.gamma ** (epoch - self.warmup_epochs)


class CosinePlan(_Plan):
    KIND, FIELDS = "cosine", ("T_max", "eta_min")

    def _main(self, epoch):
        phase = math.pi * min(epoch - self.warmup_epochs, self.T_max) / self.T_max
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(phase)) / 2


class PlateauPlan:
    """lr * factor once val top-1 ("max") has not improved by a relative ``threshold`` for more than
    ``patience`` epochs: the paper's "divide the learning rate by 10 when the validation error stops
    improving". Not a function of the epoch: its state (best, bad_epochs) is what a resume continues."""

    KIND = "plateau"
    KEYS = ("mode", "factor", "patience", "threshold", "min_lr", "best", "bad_epochs")

    def __init__(self, optimizer, mode="max", factor=0.1, patience=2, threshold=1e-4, min_lr=0.0):
        self.optimizer, self.mode, self.factor = optimizer, mode, factor
        self.patience, self.threshold, self.min_lr = patience, threshold, min_lr
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0

    def _improved(self, metric):
        if self.mode == "min":
            return metric < self.best * (1 - self.threshold) if self.best != math.inf else True
        return metric > self.best * (1 + self.threshold) if self.best != -math.inf else True

    def step(self, metric):
        if self._improved(metric):
            self.best, self.bad_epochs = metric, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.optimizer.lr = max(self.optimizer.lr * self.factor, self.min_lr)
            self.bad_epochs = 0

    def state_dict(self):
        return {"kind": self.KIND, **{k: getattr(self, k) for k in self.KEYS}}

    def load_state_dict(self, state):
        check_state(self, self.KIND, state, self.KEYS)
        for key in self.KEYS:
            setattr(self, key, state[key])


PLANS = {cls.KIND: cls for cls in (StepPlan, MultiStepPlan, ExponentialPlan, CosinePlan, PlateauPlan)}


def make_plan(cfg, optimizer):
    """The plan of the (resolved, checked) config ``cfg`` over ``optimizer``, its lr the run's --lr."""
    warmup = dict(warmup_epochs=cfg.lr_warmup_epochs, warmup_method=cfg.lr_warmup_method,
                  warmup_decay=cfg.lr_warmup_decay)
    kind = cfg.lr_scheduler
    if kind == "plateau":
        return PlateauPlan(optimizer, mode="max", factor=cfg.lr_gamma, patience=2)
    if kind == "step":
        plan = StepPlan(optimizer, step_size=cfg.lr_step_size, gamma=cfg.lr_gamma, **warmup)
    elif kind == "multistep":
        plan = MultiStepPlan(optimizer, milestones=list(cfg.lr_milestones), gamma=cfg.lr_gamma, **warmup)
    elif kind == "exponential":
        plan = ExponentialPlan(optimizer, gamma=cfg.lr_gamma, **warmup)
    else:
        plan = CosinePlan(optimizer, T_max=cfg.epochs - cfg.lr_warmup_epochs, eta_min=0.0, **warmup)
    optimizer.lr = plan.lr_at(0)  # the warm-up's, where there is one
    return plan


def replan(plan, cfg):
    """Put the flags now in force (``cfg``, on --resume) into ``plan``, a closed-form one loaded from the
    checkpoint: the lr of every later epoch is recomputed from them."""
    plan.warmup_epochs, plan.warmup_method, plan.warmup_decay = (cfg.lr_warmup_epochs, cfg.lr_warmup_method,
                                                                 cfg.lr_warmup_decay)
    if plan.KIND == "step":
        plan.step_size, plan.gamma = cfg.lr_step_size, cfg.lr_gamma
    elif plan.KIND == "multistep":
        plan.milestones, plan.gamma = list(cfg.lr_milestones), cfg.lr_gamma
    elif plan.KIND == "exponential":
        plan.gamma = cfg.lr_gamma
    else:
        plan.T_max = cfg.epochs - cfg.lr_warmup_epochs


def check_state(plan, kind, state, keys):
    """Refuse a plan state that is not a dict of ``kind`` holding ``keys``, naming what is wrong."""
    name = type(plan).__name__
    if not isinstance(state, dict):
        raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state).__name__}")
    if state.get("kind", kind) != kind:
        raise ValueError(f"{name}.load_state_dict: the state is of a {state.get('kind')!r} schedule, "
                         f"this is a {kind!r} one")
    missing = [k for k in keys if k not in state]
    if missing:
        raise ValueError(f"{name}.load_state_dict: the state lacks {', '.join(missing)}")
