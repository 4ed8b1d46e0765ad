"""Module: the base class of layers and models (PyTorch's ``nn.Module`` API).

A Module registers every ``Parameter`` and sub-``Module`` assigned to it as an
attribute, in assignment order. Names join with dots: a Sequential whose
child "0" is a Conv2d has parameters "0.weight" and "0.bias", exactly the keys
PyTorch gives the same model, so state dicts map one to one.
"""
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.functional import ShapeError
from tinynet.nn.parameter import Parameter


class Module:
    """Base class: subclass it, create parameters and sub-modules in ``__init__``, write ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # --- registration -------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() runs: call super().__init__() first "
                f"in {type(self).__name__}.__init__"
            )
        params, modules = self.__dict__["_parameters"], self.__dict__["_modules"]
        was_parameter = name in params
        if was_parameter and value is not None and not isinstance(value, Parameter):
            raise TypeError(
                f"cannot assign a {type(value).__name__} as parameter {name!r} of {type(self).__name__} "
                f"(a Parameter or None is expected); to change its values, set .data or wrap it: "
                f"nn.Parameter(...)"
            )
        params.pop(name, None)
        modules.pop(name, None)
        if isinstance(value, Parameter):
            params[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        elif value is None and was_parameter:
            params[name] = None  # a parameter slot left empty, e.g. bias=False
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an empty slot such as a disabled bias)."""
        where = _check_name(self, "register_parameter", "a parameter's", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"{where}: {name!r} has type {type(param).__name__}; a Parameter or None is expected "
                "(wrap the values: nn.Parameter(...))"
            )
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        """Register ``module`` (a Module, or None for an empty slot) as the child ``name``."""
        where = _check_name(self, "add_module", "a child's", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{where}: child {name!r} has type {type(module).__name__}, not a Module")
        setattr(self, name, module)

    # --- traversal ------------------------------------------------------------------
    def named_children(self):
        return iter(self._modules.items())

    def children(self):
        return iter(self._modules.values())

    def named_modules(self, prefix=""):
        """Yield (dotted name, module) for this module and every descendant."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        """Yield (dotted name, Parameter), each parameter once even if shared."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # --- calling --------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; a non-None return replaces the output.

        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not callable(hook):
            raise TypeError(
                f"{type(self).__name__}.register_forward_hook: the hook must be callable as "
                f"hook(module, inputs, output), got {hook!r}"
            )
        return _HookHandle(self._forward_hooks, hook)

    def __call__(self, *args, **kwargs):
        try:
            out = self.forward(*args, **kwargs)
        except ShapeError as e:
            # Say which layer failed: the innermost module names itself, each
            # parent adds the child's name on the way out.
            if e.layer is None:
                e.layer = self._short_repr()
            else:
                for name, child in self._modules.items():
                    if child is e._last_module:
                        e.path.append(name)
                        break
            e._last_module = self
            raise
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    # --- modes, devices, gradients ------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (True) or evaluation mode (False) on this module and every descendant."""
        if not isinstance(mode, (bool, np.bool_)):  # train("no") would be truthy: training mode
            raise ValueError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def to(self, target):
        """Move every parameter (and its gradient) to a device ("cpu", "cuda"), or cast to a dtype.

        Parameters stay the same objects (an optimizer holding them keeps working).
        """
        if target is None:  # NumPy would read None as float64
            raise TypeError("Module.to(None): expected a device ('cpu' or 'cuda') or a dtype ('float32', 'float64')")
        kind, value = backend.device_or_dtype(target)
        if kind == "device":
            def move(a):
                return backend.to_device(a, value)
        else:
            if value.kind != "f":
                raise TypeError(f"Module.to: parameters must stay floating point, got dtype {value}")

            def move(a):
                return a.astype(value, copy=False)
        for p in self.parameters():
            p.data = move(p.data)
            if p.grad is not None:
                p.grad.data = move(p.grad.data)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient (set to None, or to zeros with set_to_none=False)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data = p.grad.data * 0

    # --- state ---------------------------------------------------------------------------
    def state_dict(self):
        """An OrderedDict of dotted parameter name -> NumPy array (a host copy)."""
        return OrderedDict((name, p.numpy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or array-likes, or Tensors) into this module's parameters, by name.

        Each value keeps the parameter's device and dtype. With ``strict``, the
        keys must match exactly; shapes must always match. Errors list what is
        missing, unexpected or mismatched (RuntimeError). A value that is not
        an array of real numbers (strings, objects, complex) is refused, naming
        its key and dtype (TypeError), rather than cast. Values are copied as
        given: NaN is data here (tinynet.checkpoint refuses non-finite weights).
        """
        where = f"load_state_dict into {type(self).__name__}"
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"{where}: expected a mapping of parameter name -> array (such as model.state_dict()), "
                f"got type {type(state_dict).__name__}"
            )
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [str(k) for k in state_dict if k not in own]
        problems, not_numbers = [], []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        values = {}
        for name, p in own.items():
            if name not in state_dict:
                continue
            v = state_dict[name]
            v = v.data if isinstance(v, Tensor) else v
            try:
                v = backend.host(v) if backend.is_cupy_array(v) else np.asarray(v)
            except ValueError:  # ragged nested lists
                not_numbers.append(f"{name}: expected an array, got a {type(v).__name__} of ragged rows")
                continue
            if v.dtype.kind not in "biuf":
                not_numbers.append(f"{name}: expected an array of real numbers, got dtype {v.dtype}")
                continue
            if tuple(v.shape) != p.shape:
                problems.append(f"{name}: expected shape {p.shape}, got {tuple(v.shape)}")
                continue
            values[name] = v
        if not_numbers:
            raise TypeError(f"{where}: " + "; ".join(not_numbers))
        if problems:
            raise RuntimeError(f"{where}: " + "; ".join(problems))
        for name, v in values.items():
            p = own[name]
            p.data = backend.to_device(np.array(v, dtype=p.dtype, copy=True), p.device)
        return self

    # --- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _short_repr(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self):
        if not self._modules:
            return self._short_repr()
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)


class _HookHandle:
    """What ``register_forward_hook`` returns: ``remove()`` takes the hook off again."""

    _ids = iter(range(1 << 62))

    def __init__(self, hooks, hook):
        self.hooks, self.key = hooks, next(self._ids)
        hooks[self.key] = hook

    def remove(self):
        self.hooks.pop(self.key, None)


def _check_name(module, method, whose, name):
    """Refuse a parameter or child name that is not a non-empty str without '.'; returns the
    "<Class>.<method>" that messages start with."""
    where = f"{type(module).__name__}.{method}"
    if not isinstance(name, str):
        raise TypeError(f"{where}: {whose} name must be a str, got {name!r}")
    if not name or "." in name:
        raise ValueError(f"{where}: {whose} name must be non-empty and without '.', got {name!r}")
    return where
