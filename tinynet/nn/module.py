"""Module: the base class of layers and models (PyTorch's ``nn.Module`` API).

A Module registers what is assigned to it as an attribute, in assignment order, in three tables:

    _parameters  Parameter (or None, an empty slot such as bias=False): learnable, seen by
                 parameters(), optimizers and zero_grad()
    _buffers     Tensor (or None) registered with register_buffer: state that is not learned
                 (batch norm's running mean, a step counter); never a parameter, never gets a grad
    _modules     the children (Module, or None for an empty slot)

Names join with dots: a Sequential whose child "0" is a Conv2d has parameters "0.weight" and
"0.bias", exactly the keys PyTorch gives the same model, so state dicts map one to one. A state
dict lists, module by module depth first, each module's parameters, then its persistent buffers,
then its children's entries.
"""
from collections import OrderedDict

import numpy as np

from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.functional._util import ShapeError, flag_arg
from tinynet.nn import state
from tinynet.nn.parameter import Parameter

# What a buffer may hold: bool, int, unsigned int, float (a state dict entry loads back into it).
BUFFER_KINDS = "biuf"


class Module:
    """Base class: subclass it, create parameters, buffers and sub-modules in ``__init__``, write ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # --- registration -------------------------------------------------------------
    def __setattr__(self, name, value):
        """Register a Parameter or a Module; fill or empty a registered slot; else a plain attribute.

        As in PyTorch: a Parameter or a Module takes over the name (from a buffer, a child or a
        parameter slot); a parameter slot takes only a Parameter or None, a child slot only a
        Module or None, a buffer only a Tensor, an array or None.
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() runs: call super().__init__() first "
                f"in {type(self).__name__}.__init__"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        owner = type(self).__name__
        if isinstance(value, Parameter):
            self._forget(name, keep=params)  # a parameter replaced keeps its place in the order
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} as parameter {name!r} of {owner} "
                    f"(a Parameter or None is expected); to change its values, set .data or wrap it: "
                    f"nn.Parameter(...)"
                )
            params[name] = None  # a parameter slot left empty, e.g. bias=False
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} as child module {name!r} of {owner} "
                    "(a Module or None is expected)"
                )
            modules[name] = None
        elif name in buffers:
            value = buffers[name] = _as_buffer(value, f"{owner}: cannot assign buffer {name!r}")
        object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Take ``name`` out of the three tables but ``keep`` (its attribute stays until it is reassigned)."""
        for table in (self._parameters, self._buffers, self._modules):
            if table is not keep:
                table.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __delattr__(self, name):
        self._forget(name)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an empty slot such as a disabled bias).

        Registering again under the same name replaces it; a name that is another attribute
        (a buffer, a child, a method, a plain attribute) is a KeyError, as in PyTorch.
        """
        where = _check_name(self, "register_parameter", "a parameter's", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"{where}: {name!r} has type {type(param).__name__}; a Parameter or None is expected "
                "(wrap the values: nn.Parameter(...))"
            )
        _check_free(self, where, name, self._parameters)
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register ``tensor`` as the buffer ``name``: state that is not learned, such as a running mean.

        tensor      a Tensor (kept as it is; one that requires grad is kept detached, sharing its
                    data), a NumPy or CuPy array (copied into a new Tensor), or None (an empty slot:
                    in no list and no state dict until a Tensor is assigned). Its dtype is bool,
                    int or float; it stays on its device until ``.to()`` moves the module.
        persistent  True: the buffer is part of ``state_dict()``; False: it is not (a cache that
                    can be recomputed).

        A buffer is not a parameter: ``parameters()``, optimizers and ``zero_grad()`` never see it.
        Afterwards ``self.<name> = tensor`` replaces it and ``del self.<name>`` removes it. Names
        are checked as register_parameter's; a name that is a parameter, a child or any other
        attribute is a KeyError, as in PyTorch; registering a buffer's name again replaces it.
        """
        where = _check_name(self, "register_buffer", "a buffer's", name)
        persistent = flag_arg(persistent, "persistent", where)
        if isinstance(tensor, Parameter):
            raise TypeError(
                f"{where}: buffer {name!r} is a Parameter; a buffer is not learned: register a Parameter "
                "with register_parameter, or pass its values (a Tensor or an array)"
            )
        tensor = _as_buffer(tensor, f"{where}: buffer {name!r}")
        _check_free(self, where, name, self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        """Register ``module`` (a Module, or None for an empty slot) as the child ``name``.

        Adding under a child's name again replaces it; a name that is another attribute is a
        KeyError, as in PyTorch.
        """
        where = _check_name(self, "add_module", "a child's", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{where}: child {name!r} has type {type(module).__name__}, not a Module")
        _check_free(self, where, name, self._modules)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # --- traversal ------------------------------------------------------------------
    def named_children(self):
        """Yield (name, child) for each direct child, each child module once (None slots skipped)."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield (dotted name, module) for this module and every descendant, depth first, parents first.

        memo              a set of modules not to yield (filled with those yielded), or None
        prefix            put before every name ("" for this module itself)
        remove_duplicate  True: a module reachable under several names is yielded once, under the
                          first; False: under each name
        """
        where = f"{type(self).__name__}.named_modules"
        if memo is not None and not isinstance(memo, set):
            raise TypeError(f"{where}: memo must be a set of modules or None, got {type(memo).__name__}")
        _check_str(where, "prefix", prefix)
        flag_arg(remove_duplicate, "remove_duplicate", where)
        return self._walk(set() if memo is None else memo, prefix, remove_duplicate)

    def _walk(self, memo, prefix, remove_duplicate):
        stack = [(prefix, self)]  # an explicit stack: pre-order, children in registration order
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in memo:
                    continue
                memo.add(module)
            yield name, module
            children = [(f"{name}.{n}" if name else n, c) for n, c in module._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield (dotted name, Parameter), each parameter once even if shared (unless remove_duplicate=False)."""
        return self._named_tensors("named_parameters", "_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        flag_arg(recurse, "recurse", f"{type(self).__name__}.parameters")
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield (dotted name, buffer Tensor), persistent or not, each once even if shared
        (unless remove_duplicate=False); empty (None) slots are skipped."""
        return self._named_tensors("named_buffers", "_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        flag_arg(recurse, "recurse", f"{type(self).__name__}.buffers")
        return (b for _, b in self.named_buffers(recurse=recurse))

    def _named_tensors(self, method, table, prefix, recurse, remove_duplicate):
        where = f"{type(self).__name__}.{method}"
        _check_str(where, "prefix", prefix)
        flag_arg(recurse, "recurse", where)
        flag_arg(remove_duplicate, "remove_duplicate", where)
        return self._tensors_of(table, prefix, recurse, remove_duplicate)

    def _tensors_of(self, table, prefix, recurse, remove_duplicate):
        mods = self._walk(set(), prefix, remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for mod_name, mod in mods:
            for name, t in getattr(mod, table).items():
                if t is None or id(t) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

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
                name = self._name_of(e._last_module)
                if name is not None:
                    e.path.append(name)
            e._last_module = self
            raise
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def _name_of(self, module):
        """The dotted name of ``module`` below this one: a direct child's name first, else the first
        descendant's (a layer inside a ModuleList that ``forward`` loops over: "blocks.2"); None if
        it is not below this module."""
        for name, child in self._modules.items():
            if child is module:
                return name
        for name, m in self._walk(set(), "", True):
            if m is module and name:
                return name
        return None

    # --- modes, devices, gradients ------------------------------------------------------
    def apply(self, fn):
        """Call ``fn(module)`` on every child's subtree, then on this module (children first, as
        PyTorch: a module reachable twice is visited twice); returns self.

            model.apply(lambda m: init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
        """
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}.apply: fn must be callable as fn(module), got {fn!r}")
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter (False freezes them: backward leaves their .grad
        alone); returns self. Buffers never require grad."""
        flag_arg(requires_grad, "requires_grad", f"{type(self).__name__}.requires_grad_")
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

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
        """Move every parameter (and its gradient) and buffer to a device ("cpu", "cuda"), or cast
        the floating-point ones to a floating dtype.

        As in PyTorch, a dtype cast leaves integer and bool buffers (a step counter, a mask) as they
        are. Parameters and buffers stay the same objects (an optimizer holding them keeps working).
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
                return a.astype(value, copy=False) if a.dtype.kind == "f" else a
        for p in self.parameters():
            p.data = move(p.data)
            if p.grad is not None:
                p.grad.data = move(p.grad.data)
        for b in self.buffers():
            b.data = move(b.data)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient (set to None, or to zeros with set_to_none=False)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    # --- state (the rules and the order: tinynet/nn/state.py) -------------------------------
    def state_dict(self):
        """An OrderedDict of dotted name -> NumPy array (a host copy): the parameters and the
        persistent buffers, in PyTorch's order (``state.state_tensors``)."""
        return state.state_dict(self)

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or array-likes, or Tensors) into this module's parameters and persistent
        buffers, by name, keeping their devices and dtypes; returns self. With ``strict`` the keys
        must match exactly (``state.load_state_dict`` says what else is checked)."""
        state.load_state_dict(self, state_dict, strict)
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
    """Refuse a parameter, buffer or child name that is not a non-empty str without '.'; returns the
    "<Class>.<method>" that messages start with."""
    where = f"{type(module).__name__}.{method}"
    if not isinstance(name, str):
        raise TypeError(f"{where}: {whose} name must be a str, got {name!r}")
    if not name or "." in name:
        raise ValueError(f"{where}: {whose} name must be non-empty and without '.', got {name!r}")
    return where


def _check_free(module, where, name, table):
    """Refuse ``name`` if it is an attribute of ``module`` other than an entry of ``table`` (KeyError, as PyTorch)."""
    if name in table or not hasattr(module, name):
        return
    if name in module._parameters:
        what = "a parameter"
    elif name in module._buffers:
        what = "a buffer"
    elif name in module._modules:
        what = "a child module"
    else:
        what = "an attribute"
    raise KeyError(f"{where}: {name!r} is already {what} of {type(module).__name__}; choose another name"
                   + (" or delete it first" if what != "an attribute" or name in module.__dict__ else ""))


def _check_str(where, argument, value):
    if not isinstance(value, str):
        raise TypeError(f"{where}: {argument} must be a str, got {value!r}")


def _as_buffer(value, what):
    """``value`` as a buffer: None, a Tensor that requires no grad (one that does is detached), or a
    new Tensor holding a copy of a NumPy/CuPy array; bool, int or float. ``what`` starts messages."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        tensor = value if value.is_leaf and not value.requires_grad else value.detach()
    elif isinstance(value, np.ndarray) or backend.is_cupy_array(value):
        if value.dtype.kind not in BUFFER_KINDS or value.dtype.fields is not None:
            raise TypeError(f"{what}: a buffer holds bool, int or float, got dtype {value.dtype}")
        tensor = Tensor(value.copy())
    else:
        raise TypeError(
            f"{what}: expected a Tensor, a NumPy or CuPy array or None, got type {type(value).__name__} "
            "(for a number, np.array(0) or tinynet.Tensor(0))"
        )
    if tensor.dtype.kind not in BUFFER_KINDS:
        raise TypeError(f"{what}: a buffer holds bool, int or float, got dtype {tensor.dtype}")
    return tensor
