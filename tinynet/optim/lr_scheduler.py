"""Learning-rate schedules with PyTorch's names, arguments, defaults and values (torch.optim.lr_scheduler).

    sched = StepLR(optimizer, step_size=30, gamma=0.1)   # its first step runs here: the lr of epoch 0
    for epoch in range(90):
        train(...)                                        # optimizer.step() once per batch
        sched.step()                                      # the lr of epoch + 1, in every param group

Each schedule keeps ``base_lrs`` (each group's "initial_lr", which the first schedule built on the
optimizer stores), ``last_epoch`` (-1 before the step done in the constructor) and ``get_last_lr()``
(the lr of each group after the last step). Most are *chainable*: a step multiplies the group's
current lr, so an lr changed by hand between steps carries on from the new value, as in PyTorch.
``step(epoch)`` (deprecated there, kept here) jumps to ``epoch`` with the closed form where one exists.
docs/schedules.md gives every formula, the two forms, and where PyTorch's values differ from its prose.

    StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR   (multiplicative)
    CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR                (cycles)
    LambdaLR, MultiplicativeLR                                                (your function of the epoch)
    SequentialLR, ChainedScheduler                                            (several in one)
    ReduceLROnPlateau                                                         (follows a metric)

``state_dict()`` holds the schedule's own attributes (plain numbers and lists, never the optimizer);
``load_state_dict`` puts them back, refusing a state of another schedule. tinynet train does not use
these classes: its schedules are closed-form plans of the epoch (tinynet/train_schedule.py).
"""
import math
import types
from bisect import bisect_right

from tinynet.optim._lr_base import LRScheduler, _check_optimizer, _group_lrs, _per_group
from tinynet.optim._lr_special import ChainedScheduler, OneCycleLR, ReduceLROnPlateau, SequentialLR
from tinynet.validate import check_number

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
           "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LambdaLR", "MultiplicativeLR", "OneCycleLR",
           "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"]


# --- multiplicative schedules -----------------------------------------------------------------------
class StepLR(LRScheduler):
    """``StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1)``: multiply each group's lr by gamma at
    every epoch that is a multiple of step_size (closed form: base_lr * gamma ** (epoch // step_size))."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        check_number("StepLR: step_size", step_size, integer=True, low=1)
        check_number("StepLR: gamma", gamma, low=0, low_open=True)
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


def _milestones(name, milestones, low):
    """``milestones`` as a sorted list of ints >= low; a repeated one stays repeated (it counts twice)."""
    if isinstance(milestones, (str, bytes, dict)) or not hasattr(milestones, "__iter__"):
        raise TypeError(f"{name}: milestones must be a list of ints, got {type(milestones).__name__}")
    milestones = list(milestones)
    for k, m in enumerate(milestones):
        check_number(f"{name}: milestones[{k}]", m, integer=True, low=low)
    return sorted(int(m) for m in milestones)


class MultiStepLR(LRScheduler):
    """``MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1)``: multiply each group's lr by gamma
    at each epoch in milestones, as many times as the epoch is listed (PyTorch counts them: the order does
    not matter and a repeat applies gamma twice); closed form base_lr * gamma ** (milestones passed)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = _milestones("MultiStepLR", milestones, low=0)
        check_number("MultiStepLR: gamma", gamma, low=0, low_open=True)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        times = self.milestones.count(self.last_epoch)
        if not times:
            return _group_lrs(self.optimizer)
        return [group["lr"] * self.gamma ** times for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** bisect_right(self.milestones, self.last_epoch) for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """``ConstantLR(optimizer, factor=1/3, total_iters=5, last_epoch=-1)``: lr * factor for the first
    total_iters epochs, then the lr itself (the step at total_iters divides by factor)."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        check_number("ConstantLR: factor", factor, low=0, high=1, low_open=True)
        check_number("ConstantLR: total_iters", total_iters, integer=True, low=1)
        self.factor, self.total_iters = factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _group_lrs(self.optimizer)
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1)``: the factor
    of the lr goes in a straight line from start_factor at epoch 0 to end_factor at total_iters, then stays."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        check_number("LinearLR: start_factor", start_factor, low=0, high=1, low_open=True)
        check_number("LinearLR: end_factor", end_factor, low=0, high=1)
        check_number("LinearLR: total_iters", total_iters, integer=True, low=1)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_lrs(self.optimizer)
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * done) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``ExponentialLR(optimizer, gamma, last_epoch=-1)``: lr * gamma every epoch (base_lr * gamma ** epoch)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_number("ExponentialLR: gamma", gamma, low=0, low_open=True)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return _group_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """``PolynomialLR(optimizer, total_iters=5, power=1.0, last_epoch=-1)``: base_lr * (1 - epoch /
    total_iters) ** power up to total_iters, then 0 (each step multiplies by the ratio of two such terms)."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        check_number("PolynomialLR: total_iters", total_iters, integer=True, low=1)
        check_number("PolynomialLR: power", power, low=0)
        self.total_iters, self.power = int(total_iters), power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_lrs(self.optimizer)
        decay = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * decay for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base in self.base_lrs]


# --- cycles -----------------------------------------------------------------------------------------
class CosineAnnealingLR(LRScheduler):
    """``CosineAnnealingLR(optimizer, T_max, eta_min=0.0, last_epoch=-1)``: half a cosine from the lr at
    epoch 0 down to eta_min at epoch T_max, stepped in PyTorch's recursive form

        lr_e = eta_min + (lr_{e-1} - eta_min) * (1 + cos(pi e / T_max)) / (1 + cos(pi (e - 1) / T_max))

    so an lr set by hand is annealed from where it is. Past T_max it does not stay at eta_min: it climbs
    back up the cosine (a period of 2 T_max), as PyTorch's does. Closed form (``step(epoch)``):
    eta_min + (base_lr - eta_min) * (1 + cos(pi epoch / T_max)) / 2.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_number("CosineAnnealingLR: T_max", T_max, integer=True, low=1)
        check_number("CosineAnnealingLR: eta_min", eta_min, low=0)
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, floor = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:  # the constructor's step, also when continuing (last_epoch given)
            return _group_lrs(self.optimizer)
        if (e - 1 - T) % (2 * T) == 0:  # the bottom of the cosine: the ratio below would be 0 / 0
            return [group["lr"] + (base - floor) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, self.optimizer.param_groups)]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (group["lr"] - floor) + floor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1)``: a cosine from
    base_lr to eta_min over T_i epochs, then a restart at base_lr, with T_0, T_0 * T_mult, ... epochs per
    cycle. ``step(epoch)`` takes a fractional epoch (e.g. epoch + batch / batches) and finds its cycle.

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        check_number("CosineAnnealingWarmRestarts: T_0", T_0, integer=True, low=1)
        check_number("CosineAnnealingWarmRestarts: T_mult", T_mult, integer=True, low=1)
        check_number("CosineAnnealingWarmRestarts: eta_min", eta_min, low=0)
        self.T_0, self.T_i, self.T_mult, self.eta_min = int(T_0), int(T_0), int(T_mult), eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None):
        """The next epoch, or the (possibly fractional) ``epoch`` given; no deprecation warning here."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            check_number("CosineAnnealingWarmRestarts.step: epoch", epoch, low=0)
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = _group_lrs(self.optimizer)


# --- your function of the epoch ---------------------------------------------------------------------
class _LambdaSchedule(LRScheduler):
    """LambdaLR and MultiplicativeLR: a function of the epoch per group. In their state_dict a plain
    function (a def or a lambda) is None: it can't be stored as data; a callable object's attributes
    (its __dict__) are stored, and put back into the object this schedule holds."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        name = type(self).__name__
        _check_optimizer(optimizer, name)
        self.optimizer = optimizer
        self.lr_lambdas = _per_group(f"{name}: lr_lambda", optimizer, lr_lambda)
        for k, fn in enumerate(self.lr_lambdas):
            if not callable(fn):
                at = f" at index {k}" if len(self.lr_lambdas) > 1 else ""
                raise TypeError(f"{name}: lr_lambda must be a function of the epoch (or a list of one per param "
                                f"group), got {type(fn).__name__}{at}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        state = {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(getattr(fn, "__dict__", {}))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = self._checked_state(state_dict)
        saved = state.pop("lr_lambdas")
        if not isinstance(saved, list) or len(saved) != len(self.lr_lambdas):
            raise ValueError(f"{type(self).__name__}.load_state_dict: lr_lambdas must be a list of "
                             f"{len(self.lr_lambdas)} entries (None or a dict)")
        self.__dict__.update(state)
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                fn.__dict__.update(attributes)


class LambdaLR(_LambdaSchedule):
    """``LambdaLR(optimizer, lr_lambda, last_epoch=-1)``: lr = base_lr * lr_lambda(epoch), lr_lambda a
    function of the epoch or a list of one per param group."""

    def get_lr(self):
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaSchedule):
    """``MultiplicativeLR(optimizer, lr_lambda, last_epoch=-1)``: each step multiplies the group's lr by
    lr_lambda(epoch) (not at the constructor's step)."""

    def get_lr(self):
        if self._is_initial:
            return _group_lrs(self.optimizer)
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
