"""The base of the learning-rate schedules (tinynet/optim/lr_scheduler.py has them all): LRScheduler,
its initial step, get_last_lr, step(epoch), state_dict / load_state_dict, and the checks they share."""
import numbers
import warnings

from tinynet.optim.optimizer import Optimizer
from tinynet.validate import check_number

EPOCH_WARNING = ("scheduler.step(epoch) is deprecated in PyTorch: it jumps to that epoch with the closed form "
                 "where the schedule has one; call step() without an argument to follow the chainable form")


def _check_optimizer(optimizer, name):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name}: expected an optimizer (a tinynet.optim.Optimizer such as SGD), "
                        f"got {type(optimizer).__name__}")


def _per_group(name, optimizer, value):
    """``value`` once per param group: a list or tuple of that length, or one value for every group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have one value per param group: {len(value)} values given, "
                             f"the optimizer has {n} param group{'s' * (n != 1)}")
        return list(value)
    return [value] * n


def _group_lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


class LRScheduler:
    """The base of every schedule but ReduceLROnPlateau's own constructor: ``LRScheduler(optimizer,
    last_epoch=-1)``. A subclass gives ``get_lr()`` (the chainable values at ``last_epoch``, read from
    each group's current lr) and may give ``_get_closed_form_lr()`` (the values from ``base_lrs``).

    With last_epoch=-1 each group gets "initial_lr" = its lr unless it has one already; with
    last_epoch >= 0 (continuing a schedule) every group must have one.
    """

    _is_initial = False  # True only during the step the constructor takes
    _NOT_STATE = ("optimizer", "_is_initial")

    def __init__(self, optimizer, last_epoch=-1):
        name = type(self).__name__
        _check_optimizer(optimizer, name)
        check_number(f"{name}: last_epoch", last_epoch, integer=True, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            lacking = [i for i, group in enumerate(optimizer.param_groups) if "initial_lr" not in group]
            if lacking:
                raise KeyError(f"{name}: last_epoch={last_epoch} continues a schedule, but param_groups[{lacking[0]}] "
                               "has no 'initial_lr' (load the optimizer's state_dict first, or pass last_epoch=-1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            del self._is_initial  # back to the class's False

    def get_lr(self):
        raise NotImplementedError

    def get_last_lr(self):
        """The lr of each param group after the last step (a list, one entry per group)."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Move to the next epoch (or, deprecated, to ``epoch``) and set each group's lr."""
        if epoch is not None:
            check_number(f"{type(self).__name__}.step: epoch", epoch, integer=True, low=0)
            warnings.warn(EPOCH_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = int(epoch)
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = _group_lrs(self.optimizer)

    def state_dict(self):
        """Every attribute of the schedule except the optimizer (a new dict; lists copied)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
                if k not in self._NOT_STATE}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` returned; a state with keys this schedule lacks, or lacking its
        own, is refused (it is another schedule's)."""
        self.__dict__.update(self._checked_state(state_dict))

    def _checked_state(self, state):
        name = type(self).__name__
        if not isinstance(state, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got {type(state).__name__}")
        mine = set(self.state_dict())
        unknown, missing = sorted(set(state) - mine, key=str), sorted(mine - set(state))
        if unknown:
            raise ValueError(f"{name}.load_state_dict: the state holds {', '.join(map(str, unknown))}, not "
                             f"attributes of a {name} (is it another schedule's state?)")
        if missing:
            raise ValueError(f"{name}.load_state_dict: the state lacks {', '.join(missing)}")
        for key, v in state.items():
            have = getattr(self, key)
            if have is not None and v is not None and _kind(v) != _kind(have):
                raise TypeError(f"{name}.load_state_dict: {key} must be {_kind(have)}, as this schedule's is, "
                                f"got {type(v).__name__} {v!r:.60}")
        return {k: (list(v) if isinstance(v, list) else v) for k, v in state.items()}


def _kind(value):
    """What a state entry is, for load_state_dict's check: a bool, a number, a string, a list or a dict."""
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a dict" if isinstance(value, dict) else type(value).__name__
