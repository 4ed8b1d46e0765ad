"""The schedules that are more than a rule of the epoch (tinynet/optim/lr_scheduler.py exports them):

    OneCycleLR          per batch: up to max_lr and down to far below it, moving momentum the other way
    SequentialLR        one schedule after another, switching at milestones
    ChainedScheduler    several schedules stepped together, each multiplying what the others set
    ReduceLROnPlateau   lr * factor when a metric stops improving

PyTorch's semantics throughout; docs/schedules.md has the formulas and the values the tests pin.
"""
import math
import warnings
from bisect import bisect_right

from tinynet.functional._util import flag_arg
from tinynet.optim._lr_base import EPOCH_WARNING, LRScheduler, _check_optimizer, _group_lrs, _per_group
from tinynet.validate import check_number


class OneCycleLR(LRScheduler):
    """``OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
    anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
    final_div_factor=1e4, three_phase=False, last_epoch=-1)``; step it after every batch.

    The lr starts at initial_lr = max_lr / div_factor, reaches max_lr at step pct_start * total_steps - 1
    (PyTorch's phase boundary: one step before the fraction its docs name), then falls to
    min_lr = initial_lr / final_div_factor at step total_steps - 1. three_phase: up, back down to
    initial_lr at step 2 pct_start total_steps - 2, then on down to min_lr. Each phase follows a half
    cosine (anneal_strategy "cos") or a line ("linear"). With cycle_momentum the group's "momentum" (SGD,
    RMSprop) or betas[0] (Adam, AdamW) moves from max_momentum to base_momentum and back. A step past
    total_steps is a ValueError, as in PyTorch (step total_steps itself extrapolates the last phase).
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        where = "OneCycleLR"
        _check_optimizer(optimizer, where)
        if total_steps is not None:
            check_number(f"{where}: total_steps", total_steps, integer=True, low=1)
            self.total_steps = int(total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            check_number(f"{where}: epochs", epochs, integer=True, low=1)
            check_number(f"{where}: steps_per_epoch", steps_per_epoch, integer=True, low=1)
            self.total_steps = int(epochs) * int(steps_per_epoch)
        else:
            raise ValueError(f"{where}: give total_steps, or both epochs and steps_per_epoch")
        check_number(f"{where}: pct_start", pct_start, low=0, high=1)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{where}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        check_number(f"{where}: div_factor", div_factor, low=0, low_open=True)
        check_number(f"{where}: final_div_factor", final_div_factor, low=0, low_open=True)
        three_phase = flag_arg(three_phase, "three_phase", where)
        self.cycle_momentum = flag_arg(cycle_momentum, "cycle_momentum", where)
        up = float(pct_start * self.total_steps) - 1
        if three_phase:
            phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                       "max_momentum"),
                      (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self._schedule_phases = [dict(zip(("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum"), p))
                                 for p in phases]
        starts = [0.0] + [p["end_step"] for p in self._schedule_phases[:-1]]
        for k, (start, phase) in enumerate(zip(starts, self._schedule_phases)):
            if phase["end_step"] == start:  # PyTorch divides 0 by 0 on reaching it
                raise ValueError(f"{where}: pct_start={pct_start} with total_steps={self.total_steps} leaves phase "
                                 f"{k + 1} of the cycle no steps (it ends at step {start:g}, where it starts)")
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group(f"{where}: max_lr", optimizer, max_lr)
        for k, v in enumerate(max_lrs):
            check_number(f"{where}: max_lr" + (f"[{k}]" if isinstance(max_lr, (list, tuple)) else ""), v,
                         low=0, low_open=True)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{where}: cycle_momentum=True needs an optimizer with momentum or betas; "
                                 f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            tops = _per_group(f"{where}: max_momentum", optimizer, max_momentum)
            bottoms = _per_group(f"{where}: base_momentum", optimizer, base_momentum)
            for name, values in (("max_momentum", tops), ("base_momentum", bottoms)):
                for v in values:
                    check_number(f"{where}: {name}", v, low=0, high=1, high_open=self.use_beta1)
            if last_epoch == -1:
                for top, bottom, group in zip(tops, bottoms, optimizer.param_groups):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, bottom
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, past total_steps={self.total_steps} (the cycle "
                             "has ended; make total_steps cover every step)")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for k, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or k == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                    break
                start = end
            lrs.append(lr)
            if self.cycle_momentum:
                self._set_momentum(group, momentum)
        return lrs


def _check_members(name, optimizer, schedulers):
    if isinstance(schedulers, (str, bytes, dict, LRScheduler)) or not hasattr(schedulers, "__iter__"):
        raise TypeError(f"{name}: schedulers must be a list of schedules, got {type(schedulers).__name__}")
    schedulers = list(schedulers)
    if not schedulers:
        raise ValueError(f"{name}: schedulers is empty; give at least one schedule")
    for k, s in enumerate(schedulers):
        if not isinstance(s, LRScheduler):
            raise TypeError(f"{name}: schedulers[{k}] is a {type(s).__name__}, not a learning-rate schedule")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{name}: schedulers[{k}] is a ReduceLROnPlateau, whose step needs a metric; "
                             f"{name} can't hold one")
        if optimizer is not None and s.optimizer is not optimizer:
            raise ValueError(f"{name}: schedulers[{k}] ({type(s).__name__}) changes another optimizer than "
                             f"the one given; every schedule must be built on the same optimizer")
    return schedulers


def _nested_state(schedule):
    state = {k: (list(v) if isinstance(v, list) else v) for k, v in schedule.__dict__.items()
             if k not in ("optimizer", "_schedulers", "_is_initial")}
    state["_schedulers"] = [s.state_dict() for s in schedule._schedulers]
    return state


def _load_nested(schedule, state_dict):
    name = type(schedule).__name__
    state = LRScheduler._checked_state(schedule, state_dict)
    saved = state.pop("_schedulers")
    if not isinstance(saved, list) or len(saved) != len(schedule._schedulers):
        raise ValueError(f"{name}.load_state_dict: _schedulers must be a list of {len(schedule._schedulers)} "
                         "states, one per schedule")
    for s, sub in zip(schedule._schedulers, saved):  # each checks its own, before anything changes here
        s.load_state_dict(sub)
    schedule.__dict__.update(state)


class SequentialLR(LRScheduler):
    """``SequentialLR(optimizer, schedulers, milestones, last_epoch=-1)``: schedulers[0] until epoch
    milestones[0], then schedulers[1] (restarted at its epoch 0, with its closed form), and so on;
    len(milestones) == len(schedulers) - 1, increasing. The constructor undoes the steps the schedules
    took when they were built, resets each group's lr to its initial_lr, and takes the first one's step."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = "SequentialLR"
        _check_optimizer(optimizer, name)
        schedulers = _check_members(name, optimizer, schedulers)
        if isinstance(milestones, (str, bytes, dict)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"{name}: milestones must be a list of increasing ints, got {type(milestones).__name__}")
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: {len(schedulers)} schedulers need {len(schedulers) - 1} milestone"
                             f"{'s' * (len(schedulers) != 2)} (the epochs where the next one starts), "
                             f"got {len(milestones)}: {milestones}")
        for k, m in enumerate(milestones):
            check_number(f"{name}: milestones[{k}]", m, integer=True, low=1)
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"{name}: milestones must be increasing, got {milestones}")
        check_number(f"{name}: last_epoch", last_epoch, integer=True, low=-1)
        self._schedulers, self._milestones = schedulers, [int(m) for m in milestones]
        self.last_epoch = int(last_epoch) + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo(self, schedule):
        """Take back the step every (nested) schedule took in its constructor."""
        if hasattr(schedule, "_schedulers"):
            for s in schedule._schedulers:
                self._undo(s)
        else:
            schedule.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        k = bisect_right(self._milestones, self.last_epoch)
        schedule = self._schedulers[k]
        if k > 0 and self._milestones[k - 1] == self.last_epoch:
            schedule._update_lr(0)  # its epoch 0, from its closed form where it has one
        else:
            schedule.step()
        self._last_lr = schedule.get_last_lr()

    def state_dict(self):
        """Its own attributes, and under "_schedulers" each schedule's state_dict()."""
        return _nested_state(self)

    def load_state_dict(self, state_dict):
        _load_nested(self, state_dict)


class ChainedScheduler(LRScheduler):
    """``ChainedScheduler(schedulers, optimizer=None)``: one step() steps every schedule in order, so
    chainable schedules multiply (e.g. ConstantLR's warm-up factor on top of ExponentialLR's decay)."""

    def __init__(self, schedulers, optimizer=None):
        name = "ChainedScheduler"
        if optimizer is not None:
            _check_optimizer(optimizer, name)
        schedulers = _check_members(name, optimizer, schedulers)
        optimizer = optimizer or schedulers[0].optimizer
        _check_members(name, optimizer, schedulers)
        self._schedulers, self.optimizer = schedulers, optimizer
        self._last_lr = _group_lrs(optimizer)

    def step(self):
        for s in self._schedulers:
            s.step()
        self._last_lr = _group_lrs(self.optimizer)

    def state_dict(self):
        return _nested_state(self)

    def load_state_dict(self, state_dict):
        _load_nested(self, state_dict)


class ReduceLROnPlateau(LRScheduler):
    """``ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
    threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8)``; call ``step(metric)`` once per epoch.

    A metric is better when below best * (1 - threshold) ("min", "rel"), best - threshold ("min",
    "abs"), above best * (1 + threshold) ("max", "rel") or best + threshold ("max", "abs"). After more
    than ``patience`` epochs in a row without a better one, each group's lr becomes max(lr * factor,
    min_lr) (min_lr one number or one per group), unless that changes it by eps or less; then the
    counting pauses for ``cooldown`` epochs. mode "max" for an accuracy: the paper's "divide the
    learning rate by 10 when the validation error stops improving".
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        where = "ReduceLROnPlateau"
        _check_optimizer(optimizer, where)
        check_number(f"{where}: factor", factor, low=0, high=1, low_open=True, high_open=True)
        check_number(f"{where}: patience", patience, integer=True, low=0)
        check_number(f"{where}: threshold", threshold, low=0)
        check_number(f"{where}: cooldown", cooldown, integer=True, low=0)
        check_number(f"{where}: eps", eps, low=0)
        self.factor, self.optimizer = factor, optimizer
        if isinstance(min_lr, (list, tuple)):
            self.min_lrs = _per_group(f"{where}: min_lr", optimizer, min_lr)
            self.default_min_lr = None
        else:
            self.min_lrs, self.default_min_lr = [min_lr] * len(optimizer.param_groups), min_lr
        for k, v in enumerate(self.min_lrs):
            check_number(f"{where}: min_lr" + (f"[{k}]" if self.default_min_lr is None else ""), v, low=0)
        self.patience, self.cooldown, self.eps = int(patience), int(cooldown), eps
        self.last_epoch = 0
        self._last_lr = _group_lrs(optimizer)
        self._init_is_better(mode, threshold, threshold_mode)
        self.best, self.cooldown_counter, self.num_bad_epochs = self.mode_worse, 0, 0

    def _init_is_better(self, mode, threshold, threshold_mode):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    def step(self, metrics, epoch=None):
        """One epoch's value of the monitored metric (a number; a 0-d tensor or array works too)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be the monitored number (e.g. the validation "
                            f"loss), got {type(metrics).__name__} {metrics!r:.60}") from None
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = _group_lrs(self.optimizer)

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} param groups, but min_lr "
                                   f"gave {len(self.min_lrs)} (a group was added since); set min_lrs to one per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict):
        state = self._checked_state(state_dict)
        mode, threshold, threshold_mode = state["mode"], state["threshold"], state["threshold_mode"]
        self._init_is_better(mode, threshold, threshold_mode)  # refuses a bad mode before anything changes
        self.__dict__.update(state)
