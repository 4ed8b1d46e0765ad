"""A Module's state dict: which tensors it lists, in what order, and loading values back into them.

``Module.state_dict()`` and ``Module.load_state_dict()`` call the two functions here. A state dict
maps dotted names to arrays, the keys PyTorch gives the same model: module by module depth first,
each module's parameters, then its persistent buffers, then its children's entries.
"""
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.functional._util import flag_arg

__all__ = ["state_tensors", "state_dict", "load_state_dict"]


def state_tensors(module):
    """(dotted name, Tensor) of every state dict entry of ``module``, in PyTorch's order: depth first,
    each module's parameters, then its persistent buffers, then its children. As in PyTorch, a
    module or tensor reachable under several names is listed under each. A module that contains
    itself (``seq.append(seq)``) would make the names endless: a ValueError names the cycle."""
    stack = [("", module, ())]  # (prefix, module, the ids of the modules above it)
    while stack:
        prefix, m, above = stack.pop()
        for name, p in m._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in m._buffers.items():
            if b is not None and name not in m._non_persistent_buffers:
                yield prefix + name, b
        above = above + (id(m),)
        children = [(f"{prefix}{n}.", c, above) for n, c in m._modules.items() if c is not None]
        for child_prefix, c, _ in children:
            if id(c) in above:
                raise ValueError(f"state_dict of {type(module).__name__}: the child {child_prefix[:-1]!r} "
                                 f"({type(c).__name__}) contains itself, so its entries would have no end")
        stack.extend(reversed(children))


def state_dict(module):
    """An OrderedDict of dotted name -> NumPy array (a host copy): the parameters and the persistent
    buffers of ``module`` (see ``state_tensors`` for the order)."""
    return OrderedDict((name, t.numpy()) for name, t in state_tensors(module))


def load_state_dict(module, state_dict, strict=True):
    """Copy arrays (or array-likes, or Tensors) into the parameters and persistent buffers of
    ``module``, by name.

    Each value keeps the parameter's (buffer's) device and dtype: an int64 step counter stays
    int64. With ``strict``, the keys must match exactly; shapes must always match. Errors list
    what is missing, unexpected or mismatched (RuntimeError). A value that is not an array of
    real numbers (strings, objects, complex) is refused, naming its key and dtype (TypeError),
    rather than cast; so is a float that an integer buffer can't hold (2.5, NaN). Values are
    copied as given: NaN is data here (tinynet.checkpoint refuses non-finite weights). Nothing is
    copied unless every value passes.
    """
    where = f"load_state_dict into {type(module).__name__}"
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"{where}: expected a mapping of parameter name -> array (such as model.state_dict()), "
            f"got type {type(state_dict).__name__}"
        )
    flag_arg(strict, "strict", where)
    own = OrderedDict(state_tensors(module))
    missing = [k for k in own if k not in state_dict]
    unexpected = [str(k) for k in state_dict if k not in own]
    problems, not_numbers = [], []
    if strict and missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    values = {}
    for name, t in own.items():
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
        if tuple(v.shape) != t.shape:
            problems.append(f"{name}: expected shape {t.shape}, got {tuple(v.shape)}")
            continue
        if t.dtype.kind in "biu" and v.dtype.kind == "f" and not np.all(np.isfinite(v) & (v == np.round(v))):
            problems.append(f"{name}: the buffer holds {t.dtype}, the value has floats that are not whole numbers")
            continue
        values[name] = v
    if not_numbers:
        raise TypeError(f"{where}: " + "; ".join(not_numbers))
    if problems:
        raise RuntimeError(f"{where}: " + "; ".join(problems))
    for name, v in values.items():
        t = own[name]
        t.data = backend.to_device(np.array(v, dtype=t.dtype, copy=True), t.device)
