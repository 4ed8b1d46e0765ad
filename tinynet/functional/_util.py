"""Small helpers shared by the ops in tinynet.functional (no autograd here).

The checks of user arguments and inputs live here too (``check_dim``, ``int_arg``, ``pair``,
``flag_arg``, ``as_input``, ``float_input``), so that an op, the layer in tinynet.nn that calls it and
the Tensor method of the same name say one thing; real numbers (rates, constants) go through
``tinynet.validate.check_number``.
"""
import os
import sys

import numpy as np

from tinynet import backend
from tinynet._tensor import Tensor
from tinynet.validate import check_number, is_int


class ShapeError(ValueError):
    """An op or layer was given an input it can't take.

    The message names the op, what it expected and what it got. When raised
    inside a ``tinynet.nn.Module``, each enclosing module adds its name on the
    way out, so the final message also says which layer of the model failed,
    e.g. ``layer classifier.1 Linear(in_features=9216, out_features=4096, bias=True): ...``.
    """

    def __init__(self, message):
        super().__init__(message)
        self.message = message
        self.path = []  # child names, innermost first, added by Module.__call__
        self.layer = None  # repr of the innermost module, added by Module.__call__
        self._last_module = None  # the module the error last passed through

    def __str__(self):
        if self.layer is None:
            return self.message
        where = ".".join(reversed(self.path))
        prefix = f"layer {where} {self.layer}" if where else self.layer
        return f"{prefix}: {self.message}"


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../tinynet


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn``, called here, that names the user's line: the first
    caller outside the tinynet package (a layer's forward, Module.__call__ and the op in between are
    skipped), so a warning points at ``model(x)`` or ``F.softmax(x)`` in the user's script."""
    level, frame = 1, sys._getframe(1)  # level 1: the function that is about to warn
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def check_same_dtype(op: str, **arrays):
    """Raise TypeError if the named arrays (None ignored) don't share one dtype.

    A float64 input to a float32 layer would otherwise run the whole network in
    float64 (NumPy promotes), at twice the memory, without anyone noticing.
    """
    named = {k: a for k, a in arrays.items() if a is not None}
    dtypes = {a.dtype for a in named.values()}
    if len(dtypes) > 1:
        listed = ", ".join(f"{k} {a.dtype}" for k, a in named.items())
        first_name, first = next(iter(named.items()))
        others = " and ".join(k for k, a in named.items() if a.dtype != first.dtype)
        raise TypeError(
            f"{op}: inputs must have one dtype, got {listed}; convert the {first_name} with .float() or "
            f".double(), or the {others} to {first.dtype} (a model's parameters: model.to(dtype))"
        )


def int_arg(value, name: str, where: str, low=None) -> int:
    """``value`` as an int >= ``low`` (None: any int); a float, bool or str is a TypeError, one below
    ``low`` a ValueError, each naming ``where`` and ``name``: "Linear: in_features must be an int >= 1, got 0".
    """
    if is_int(value) and (low is None or value >= low):  # the common case, without building a message
        return int(value)
    return int(check_number(f"{where}: {name}", value, integer=True, low=low))


def flag_arg(value, name: str, where: str) -> bool:
    """``value`` as a bool: True or False (a NumPy bool too); anything else (1, "yes", None) is a TypeError
    naming ``where`` and ``name``, since it would otherwise be taken as true or false silently:
    "ReLU: inplace must be True or False, got 'yes'".
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{where}: {name} must be True or False, got {value!r}")


def pair(value, name: str, op: str, low=None):
    """(h, w) from an int or a pair of ints, each >= ``low`` (None: any int).

    A float, bool or str (or such an entry) is a TypeError, a sequence of another length or a value
    below ``low`` a ValueError: "Conv2d: kernel_size must be an int >= 1 or a pair of them, got 0".
    """
    parts = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(parts) == 2 and is_int(parts[0]) and is_int(parts[1]) and (low is None or min(parts) >= low):
        return int(parts[0]), int(parts[1])  # the common case, without building a message
    rule = f"an int{'' if low is None else f' >= {low}'} or a pair of them"
    if not all(is_int(v) for v in parts):
        raise TypeError(f"{op}: {name} must be {rule}, got {value!r}")
    raise ValueError(f"{op}: {name} must be {rule}, got {value!r}")


def check_dim(op: str, dim, ndim: int) -> int:
    """``dim`` as an axis 0..ndim-1 (a negative one counts from the end), PyTorch's rule and message.

    Every op that takes a ``dim`` calls this once per call (a few Python comparisons):
    "softmax: dim 5 is out of range for a tensor of 2 dimensions (valid: -2..1)". A 0-d tensor
    takes dim 0 or -1, as in PyTorch; both return 0.
    """
    if not is_int(dim):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not low <= dim <= high:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor of {ndim} dimensions (valid: {low}..{high})"
        )
    return int(dim) % max(ndim, 1)


def as_input(where: str, name: str, x) -> Tensor:
    """``x`` as a Tensor (a Tensor as it is); what a Tensor can't hold is refused with Tensor's own
    TypeError or ValueError, prefixed with ``where`` and ``name``: "dropout2d: input: ...".
    """
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {name}: {e}") from None


def float_input(op: str, x, name: str = "input", note: str = ""):
    """Refuse ``x`` (a Tensor or an array) unless its dtype is floating point: a TypeError naming ``op``
    and ``name``, with ``note`` after "floating point": "tanh: input must be floating point, got dtype
    int64" (an int input would otherwise be computed in integer arithmetic, or fail deep inside).
    """
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating point{note}, got dtype {x.dtype}")


def _combine(higher, lower):
    """PyTorch's ``combine_categories``: the result of a more important tier (``higher``) stands unless the
    less important one (``lower``) is of a higher category (bool < integer < float < complex).
    None is a tier with no operand."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "c" or (higher.kind == "f" and lower.kind != "c"):
        return higher
    if higher.kind == "f":  # a float tensor with a complex number: the complex of the tensor's precision
        return np.promote_types(higher, np.complex64)
    if higher.kind == "b" or lower.kind in "fc":
        return _promote_within(higher, lower)
    return higher


def result_dtype(*operands, floating=False):
    """The dtype PyTorch gives an op on ``operands`` (Tensors, arrays, Python or NumPy numbers).

    PyTorch ranks operands in three tiers: tensors with dimensions, 0-d tensors, plain numbers. Each tier
    promotes within itself (int32 with int64 is int64, float32 with float64 is float64, an integer with a
    float is the float); a lower tier changes the result only when its category (bool < int < float) is
    higher. A Python float counts as float32 (the default dtype), a Python int as int64, so
    ``int tensor + 0.5`` is float32, ``float32 tensor * 2.0`` stays float32, ``bool tensor + 1`` is int64,
    ``float32 tensor + float64 tensor`` is float64 and ``float32 (3,) + float64 0-d`` stays float32.
    ``floating``: a bool or integer result becomes float32 (true division: ``int / int`` is float32).
    """
    tiers = [None, None, None]  # dimensioned, 0-d, numbers
    for x in operands:
        if x is None:
            continue
        if isinstance(x, Tensor) or hasattr(x, "dtype") and hasattr(x, "ndim"):
            dt, tier = np.dtype(x.dtype), 0 if x.ndim else 1
        elif isinstance(x, (bool, np.bool_)):
            dt, tier = np.dtype(np.bool_), 2
        elif isinstance(x, int):
            dt, tier = np.dtype(np.int64), 2
        elif isinstance(x, float):
            dt, tier = np.dtype(np.float32), 2
        elif isinstance(x, complex):
            dt, tier = np.dtype(np.complex64), 2
        elif isinstance(x, np.number):  # a NumPy scalar counts as a number of its kind
            dt = np.dtype(x.dtype)
            dt, tier = {"i": np.dtype(np.int64), "u": np.dtype(np.int64), "f": np.dtype(np.float32),
                        "c": np.dtype(np.complex64)}[dt.kind], 2
        else:
            continue
        tiers[tier] = dt if tiers[tier] is None else _promote_within(tiers[tier], dt)
    dtype = _combine(tiers[0], _combine(tiers[1], tiers[2]))
    if dtype is None:
        dtype = np.dtype(np.float32)
    if floating and dtype.kind in "biu":
        dtype = np.dtype(np.float32)
    return dtype


def _promote_within(a, b):
    """Promotion inside one tier, as PyTorch's table: an integer with a float is that float (NumPy would
    widen int64 + float32 to float64), otherwise NumPy's rule (int32 + int64 = int64, uint8 + int8 = int16)."""
    if a.kind in "biu" and b.kind in "fc":
        return b
    if b.kind in "biu" and a.kind in "fc":
        return a
    return np.promote_types(a, b)


NUMBERS = (bool, int, float, complex, np.number, np.bool_)


def promote(where: str, *operands, floating=False):
    """``operands`` (Tensors, arrays, nested lists, numbers; None passes through) as Tensors of one dtype,
    PyTorch's ``result_dtype`` of them, on the device of the first Tensor or array among them.

    A Tensor of another dtype is converted with ``.to`` (differentiable: its gradient is converted back);
    a number becomes a 0-d array; an array or a list a Tensor (what a Tensor can't hold is refused, as
    ``as_input`` does, naming ``where``). ``floating``: integer results become float32 (true division).
    """
    items = [x if x is None or isinstance(x, (Tensor,) + NUMBERS) else as_input(where, f"input {i}", x)
             for i, x in enumerate(operands)]
    dtype = result_dtype(*items, floating=floating)
    like = next((x for x in items if isinstance(x, Tensor)), None)
    xp = np if like is None else backend.get_array_module(like.data)
    out = []
    for x in items:
        if x is None:
            out.append(None)
        elif not isinstance(x, Tensor):
            out.append(Tensor._wrap(xp.asarray(x, dtype=dtype)))
        else:
            out.append(x if x.dtype == dtype else x.to(dtype))
    return out


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting ``shape`` up to ``grad.shape``.

    Broadcasting prepends dimensions and stretches dimensions of size 1; the
    gradient of a stretched input is the sum over the copies it was stretched to.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
