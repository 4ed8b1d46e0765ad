"""The optimizer base class: param groups, per-parameter state, zero_grad, state_dict, as in PyTorch.

    opt = SGD([{"params": model.features.parameters(), "lr": 0.1},   # this group's own lr
               {"params": model.classifier.parameters()}],           # the defaults below
              lr=0.01, momentum=0.9)
    opt.param_groups     [{"params": [...], "lr": 0.1, "momentum": 0.9, ...}, {...}]
    opt.state            {parameter: {"momentum_buffer": array, ...}}, filled by step()
    opt.state_dict()     {"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}

A parameter's index is its position when the groups' "params" lists are read one after the other;
the arrays of ``state_dict()`` are host NumPy copies. A subclass gives its defaults, ``_check``
(the hyper-parameters of one group, checked), ``_state_keys`` and ``_update`` (one parameter).
"""
from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.autograd import enable_grad, no_grad
from tinynet.nn.module import Module
from tinynet.validate import check_number, is_int


class Optimizer:
    #: every array that state[p] may hold, and whether it holds an int "step" too
    STATE_ARRAYS = ()
    HAS_STEP = False

    def __init__(self, params, defaults):
        where = type(self).__name__
        self.defaults = self._check(dict(defaults), where)
        self.param_groups, self.state = [], {}
        for group in self._groups(params, where):
            self._add_group(group, where)

    # --- building ------------------------------------------------------------------------------------
    @staticmethod
    def _groups(params, where):
        """``params`` as a list of group dicts: an iterable of Tensors is one group."""
        if isinstance(params, Module):
            raise TypeError(f"{where}: got a Module ({type(params).__name__}); pass model.parameters()")
        if isinstance(params, (Tensor, str, bytes, dict)) or not hasattr(params, "__iter__"):
            hint = " (wrap a single tensor in a list: [t])" if isinstance(params, Tensor) else ""
            raise TypeError(
                f"{where}: params argument given to the optimizer should be an iterable of Tensors, but got "
                f"{type(params).__name__}{hint}"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{where}: got an empty parameter list")
        dicts = [isinstance(p, dict) for p in params]
        if all(dicts):
            return params
        if any(dicts):
            raise TypeError(f"{where}: params mixes param groups (dicts) and tensors; give one or the other")
        return [{"params": params}]

    def add_param_group(self, param_group):
        """Add a group (a dict with "params"; missing hyper-parameters take the defaults)."""
        self._add_group(param_group, f"{type(self).__name__}.add_param_group")

    def _add_group(self, group, where):
        k = len(self.param_groups)
        if not isinstance(group, dict):
            raise TypeError(f"{where}: param group {k} must be a dict, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"{where}: param group {k} has no 'params' key")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{where}: param group {k}: params must be an ordered collection, not a set")
        elif isinstance(params, (Module, str, bytes, dict)) or not hasattr(params, "__iter__"):
            raise TypeError(f"{where}: param group {k}: params must be an iterable of Tensors, "
                            f"got {type(params).__name__}")
        params = list(params)
        seen = {id(p): i for i, p in enumerate(self.params)}
        for j, p in enumerate(params):
            i = len(seen)
            if not isinstance(p, Tensor):
                raise TypeError(f"{where}: parameter {i} has type {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(
                    f"{where}: parameter {i} is not a leaf tensor (it was computed by {p.grad_fn.name}); "
                    "an optimizer updates the tensors that others are computed from"
                )
            if id(p) in seen:
                raise ValueError(f"{where}: parameter {i} is the same tensor as parameter {seen[id(p)]} (given twice)")
            seen[id(p)] = i
        group = {**self.defaults, **{key: v for key, v in group.items() if key != "params"}}
        group = self._check(group, f"{where}: param_groups[{k}]")  # the defaults passed already
        group["params"] = params
        self.param_groups.append(group)

    # --- what a subclass gives -----------------------------------------------------------------------
    @staticmethod
    def _check(group, where):
        """The group's hyper-parameters, checked (values normalised); ``where`` starts each message."""
        return group

    def _state_keys(self, group):
        """The entries that state[p] must hold once created, for ``group``'s options."""
        return ()

    def _init_state(self, p, group):
        """A fresh state for parameter ``p`` (created at its first step)."""
        return {}

    def _update(self, p, g, state, group, i):
        """Update the array ``p`` in place from gradient ``g``; ``state`` is p's state dict."""
        raise NotImplementedError

    # --- using ---------------------------------------------------------------------------------------
    @property
    def params(self):
        """Every parameter, group after group (index i of the state_dict is params[i])."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self):
        """The learning rate of every group (an error where the groups differ); setting it sets all."""
        lrs = {group["lr"] for group in self.param_groups}
        if len(lrs) > 1:
            raise ValueError(f"{type(self).__name__}.lr: the param groups have different learning rates "
                             f"{[g['lr'] for g in self.param_groups]}; read param_groups[i]['lr']")
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        for group in self.param_groups:
            group["lr"] = value

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    def step(self, closure=None):
        """Update, in place, every parameter that has a gradient (the Parameter objects stay the same).

        ``closure``, as PyTorch's: a function of no arguments that recomputes the loss (zero_grad, forward,
        backward) and returns it; it runs first, with gradients on, and its loss is returned.
        """
        where = f"{type(self).__name__}.step"
        loss = None
        if closure is not None:
            if not callable(closure):
                raise TypeError(f"{where}: closure must be a function of no arguments returning the loss, got "
                                f"{type(closure).__name__}")
            with enable_grad():
                loss = closure()
        i = -1
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    i += 1
                    g = p.grad
                    if g is None:
                        continue
                    # A .grad set by hand: a wrong shape of the same size would update the wrong elements.
                    if not isinstance(g, Tensor):
                        raise TypeError(
                            f"{where}: parameter {i}'s .grad has type {type(g).__name__}, expected a Tensor or None")
                    if g.shape != p.shape:
                        raise ValueError(
                            f"{where}: parameter {i} has shape {p.shape} but its .grad has shape {g.shape}; "
                            "a gradient must have its parameter's shape")
                    backend.check_same_device([p.data, g.data], f"{where}: parameter {i} and its .grad")
                    state = self.state.get(p)
                    if state is None:
                        state = self._init_state(p.data, group)
                    self._update(p.data, g.data, state, group, i)
                    p._version_counter.value += 1  # changed in place: a graph that saved p can't backward
                    if state:
                        self.state[p] = state  # kept only once an update has run through
        return loss

    # --- saving --------------------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {name: host array or int}}, "param_groups": [{..., "params": [indices]}]}."""
        groups, state, i = [], {}, 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = list(range(i, i + len(group["params"])))
            for p in group["params"]:
                if p in self.state:
                    state[i] = {k: backend.host(v).copy() if hasattr(v, "shape") else v
                                for k, v in self.state[p].items()}
                i += 1
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` returned, each entry checked (hyper-parameters as the constructor
        checks them, arrays against their parameter's shape); nothing changes if a check fails."""
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where}: expected a dict, got {type(state_dict).__name__}")
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ValueError(f"{where}: the state lacks {', '.join(missing)} (a {name}.state_dict() holds "
                             "'state' and 'param_groups')")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)):
            raise TypeError(f"{where}: param_groups must be a list, got {type(saved_groups).__name__}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: the state has {len(saved_groups)} param groups, this optimizer "
                             f"{len(self.param_groups)}")
        by_index, groups = {}, []
        for k, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            at = f"{where}: param_groups[{k}]"
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
                raise TypeError(f"{at} must be a dict with a list 'params'")
            n, m = len(saved["params"]), len(group["params"])
            if n != m:
                raise ValueError(f"{at} of the state has {n} parameter{'s' * (n != 1)}, this optimizer's "
                                 f"has {m} parameter{'s' * (m != 1)}")
            lacking = [key for key in self.defaults if key not in saved]
            if lacking:
                raise ValueError(f"{at} lacks {', '.join(lacking)}")
            for index, p in zip(saved["params"], group["params"]):
                if not is_int(index) or index in by_index:
                    raise ValueError(f"{at}: params holds {index!r}, not a distinct parameter index")
                by_index[index] = (p, k)
            checked = self._check({key: v for key, v in saved.items() if key != "params"}, at)
            groups.append({**checked, "params": group["params"]})
        if not isinstance(saved_state, dict):
            raise TypeError(f"{where}: state must be a dict of parameter index -> dict, "
                            f"got {type(saved_state).__name__}")
        state = {}
        for index, entry in saved_state.items():
            if index not in by_index:
                raise ValueError(f"{where}: state key {index!r} is not the index of a parameter of the param groups")
            p, k = by_index[index]
            state[p] = self._load_entry(entry, p, groups[k], f"{where}: state[{index}]")
        for group, checked in zip(self.param_groups, groups):
            group.update(checked)
        self.state = state

    def _load_entry(self, entry, p, group, at):
        """One parameter's saved state, checked, with its arrays on p's device in p's dtype."""
        if not isinstance(entry, dict):
            raise TypeError(f"{at} must be a dict, got {type(entry).__name__}")
        allowed = set(self.STATE_ARRAYS) | ({"step"} if self.HAS_STEP else set())
        unknown = [k for k in entry if k not in allowed]
        if unknown:
            raise ValueError(f"{at} holds {unknown[0]!r}, not an entry of a {type(self).__name__} state "
                             f"({', '.join(sorted(allowed)) or 'none'})")
        lacking = [k for k in self._state_keys(group) if k not in entry]
        if lacking:
            raise ValueError(f"{at} lacks {', '.join(lacking)}")
        out = {}
        for key, v in entry.items():
            if key == "step":
                check_number(f"{at}: step", v, integer=True, low=0)
                out[key] = int(v)
                continue
            if not all(hasattr(v, a) for a in ("shape", "dtype", "astype")):
                raise TypeError(f"{at}: {key} has type {type(v).__name__}, expected an array")
            if v.dtype.kind != "f":
                raise TypeError(f"{at}: {key} has dtype {v.dtype}, expected a floating-point array")
            if tuple(v.shape) != p.shape:
                raise ValueError(f"{at}: {key} has shape {tuple(v.shape)}, its parameter {p.shape}")
            out[key] = backend.to_device(v.astype(p.dtype), p.device)
        return out

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            lines += [f"    {key}: {v}" for key, v in sorted(group.items()) if key != "params"]
        return "\n".join(lines + [")"])


def check_nonnegative(group, where, *names):
    """Each named hyper-parameter of ``group`` a finite number >= 0 (the rule of lr, eps, weight_decay...)."""
    for name in names:
        check_number(f"{where}: {name}", group[name], low=0)
