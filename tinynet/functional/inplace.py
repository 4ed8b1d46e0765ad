"""In-place changes of a tensor: ``x += y``, ``x.add_(y)``, ``x[key] = v``, ``x.zero_()``, ``x.copy_(src)``, ...

An in-place op writes new values into the tensor's own memory, which its views share, and adds one to
the tensor's version counter (tinynet/autograd.py), so that a Function which saved the old values for
its backward refuses to run that backward instead of computing a wrong gradient.

Two paths:

- Nothing needs a gradient (under ``no_grad()``, or no operand requires grad): the result is written
  straight into the array, ``xp.add(x, y, out=x)``. This is the optimizer's update and ``grad.zero_()``.
- The result needs a gradient (``h += residual`` inside a model): the change is recorded in the graph,
  as PyTorch records it. The op runs out of place, the result is written into the tensor's memory, and
  the tensor's history moves to the op's output: ``x.grad_fn`` becomes the Add, whose input is x's old
  history.

The gradients of the recorded forms, with x_old the values before the change and g the gradient
arriving at the new x:

    x.add_(y, alpha=a)   dx_old = g              dy = a * unbroadcast(g)
    x.mul_(y)            dx_old = g * y          dy = unbroadcast(g * x_old)
    x[key] = v           dx_old = g, 0 at key    dv = unbroadcast(g[key])
    x.copy_(src)         dx_old = 0              dsrc = unbroadcast(g)
    x.fill_(c), x.zero_(), x.uniform_(), x.normal_()     dx_old = 0
    x.relu_(), F.relu(x, inplace=True), ...             the out-of-place op's own gradient

The op runs on x's memory as it is; only when it keeps x's old values for its backward (mul_ by a
tensor that needs a gradient keeps x for that gradient) does it run again on a private copy.

A view (``y[0]``, ``y[:, 1]``, ``y.view(6)``, ``y.t()``) changed in place updates the tensor it views in
the graph too, as PyTorch's does (tinynet/functional/views.py): ``y[:, 1] *= 2`` then backward gives y's
history its gradient.

Refused, as PyTorch refuses them (RuntimeError naming the op):
- a change to a leaf that requires grad outside ``no_grad()`` (a parameter: its ``.grad`` would describe
  values that no longer exist; an optimizer's update runs under ``no_grad()``);
- a result of a kind the tensor can't hold (``int_tensor += 0.5``, ``int_tensor /= 2``: the result is
  floating point and the tensor keeps its dtype);
- an operand whose shape does not broadcast to the tensor's (an in-place op can't change the shape);
- memory that is read-only or repeats one element (an ``expand``-ed tensor).
- a recorded change to a view of a leaf that requires grad, or to a view taken under no_grad() of a
  tensor that requires grad.
A view taken before its base was changed in place (recorded) gets a new history when next used in a
recorded op, read from the base as it is then, as PyTorch regenerates a view's grad_fn.
"""
import weakref

import numpy as np

from tinynet import backend
from tinynet.autograd import Function, check_views_current, is_grad_enabled, no_grad
from tinynet._tensor import Tensor, as_number_array
from tinynet.backend import get_array_module
from tinynet.functional import arithmetic as _arith
from tinynet.functional import views as _views
from tinynet.functional._util import ShapeError, unbroadcast
from tinynet.functional.shape import index_key

__all__ = []  # reached as Tensor methods: add_, sub_, mul_, div_, zero_, fill_, copy_, clamp_, ...

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_KIND_NAME = {0: "bool", 1: "integer", 2: "floating point", 3: "complex"}


class SetItem(Function):
    """y = x with y[key] = v (v broadcast to x[key]'s shape, cast to x's dtype).

    dx = g with zeros at key (those elements were overwritten), dv = g[key] summed back to v's shape.
    """

    def __init__(self, key):
        self.key = key

    def forward(self, x, v):
        self.v_shape = v.shape
        y = x.copy()
        _assign(y, self.key, v)
        return y

    def backward(self, g):
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = g.copy()
            gx[self.key] = 0
        if self.needs_input_grad[1]:
            gv = unbroadcast(g[self.key], self.v_shape)
        return gx, gv


class CopyFrom(Function):
    """y = src broadcast to x's shape and cast to x's dtype:  dx = 0,  dsrc = unbroadcast(g)."""

    def forward(self, x, src):
        self.src_shape, self.src_device = src.shape, backend.device_of(src)
        xp = get_array_module(x)
        return xp.broadcast_to(backend.to_device(src, backend.device_of(x)), x.shape).astype(x.dtype)

    def backward(self, g):
        xp = get_array_module(g)
        return xp.zeros_like(g), backend.to_device(unbroadcast(g, self.src_shape), self.src_device)


class Overwrite(Function):
    """y = the given values (fill_, zero_, uniform_, normal_): the old values get no gradient."""

    def __init__(self, values):
        self.values = values

    def forward(self, x):
        return self.values

    def backward(self, g):
        return get_array_module(g).zeros_like(g)  # a gradient of zeros, as PyTorch's (not none)


def _check_target(t, op):
    """Refuse an in-place change to a parameter under recording, or to memory that can't take it."""
    if is_grad_enabled() and t.is_leaf and t.requires_grad:
        raise RuntimeError(
            f"{op}: an in-place change to a leaf tensor that requires grad (a parameter?) outside no_grad(); "
            "its .grad would describe values that no longer exist. Do the update under `with tinynet.no_grad():` "
            "(as an optimizer's step does), or compute a new tensor out of place"
        )
    a = t.data
    if not getattr(a.flags, "writeable", True) or any(s == 0 and n > 1 for n, s in zip(a.shape, a.strides)):
        raise RuntimeError(
            f"{op}: this tensor's memory is read-only or repeats elements (an expand()-ed tensor, shape "
            f"{t.shape}, strides {a.strides}); clone() it first"
        )


def _operand(op, t, other):
    """``other`` (a Tensor, an array, a number or nested lists) as an array or Python number for ``t``."""
    if isinstance(other, Tensor):
        backend.check_same_device([t.data, other.data], op)
        return other.data
    if isinstance(other, (bool, int, float, complex, np.number, np.bool_)):
        return other
    if isinstance(other, np.ndarray):
        other = as_number_array(other, op)  # refuses strings and objects
    if backend.is_cupy_array(other) or isinstance(other, np.ndarray):
        backend.check_same_device([t.data, other], op)
        return other
    try:
        return get_array_module(t.data).asarray(as_number_array(other, op))
    except (TypeError, ValueError):
        raise TypeError(
            f"{op}: the other operand must be a Tensor, an array or a number, got {type(other).__name__}"
        ) from None


def _kind(value):
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    if isinstance(value, (float, np.floating)):
        return 2
    if isinstance(value, (complex, np.complexfloating)):
        return 3
    return _KIND_RANK[value.dtype.kind]


def _check_result(op, t, other, floating_result=False):
    """The result's kind must fit the tensor's dtype, and ``other``'s shape broadcast to the tensor's."""
    mine = _KIND_RANK[t.dtype.kind]
    result = max(mine, _kind(other), 2 if floating_result else 0)
    if result > mine:
        raise RuntimeError(
            f"{op}: the result is {_KIND_NAME[result]} and this tensor is {t.dtype}; an in-place op keeps the "
            f"tensor's dtype. Convert first (x = x.float()) or compute out of place"
        )
    shape = getattr(other, "shape", ())
    try:
        fits = np.broadcast_shapes(t.shape, tuple(shape)) == t.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(
            f"{op}: an operand of shape {tuple(shape)} does not broadcast to this tensor's shape {t.shape} "
            "(an in-place op can't change the shape)"
        )


def _modify(t, op, write, record, operand=None):
    """Change ``t`` in place: ``write(array)`` writes the new values into t's array (nothing to record);
    ``record(old)`` computes them as an out-of-place op on Tensor ``old`` (t's old values and history).
    """
    _check_target(t, op)
    recording = is_grad_enabled() and (
        t.requires_grad or (isinstance(operand, Tensor) and operand.requires_grad)
        or (t._base is not None and t._base.requires_grad)  # the change reaches a tensor in the graph
    )
    if not recording:
        write(t.data)
    elif t._base is None:
        new = _recorded(t, record)
        t.data[...] = new.data
        _take_history(t, new)
        t._version_counter.rebased += 1
    else:
        _change_view(t, op, record)
    t._version_counter.value += 1
    return t


def _recorded(t, record):
    """``record`` run on t's values and history. It runs on t's memory as it is; if the op kept those
    values for its backward (mul_ by a tensor that needs a gradient keeps x), it runs again on a private
    copy, which the change can't reach."""
    old = Tensor._wrap(t.data)
    old._node, old._version_counter = t._node, t._version_counter
    new = record(old)
    if _keeps(new, t._version_counter):
        old = Tensor._wrap(t.data.copy())
        old._node = t._node
        new = record(old)
    return new


def _take_history(t, result):
    """Make ``result``'s node (its creator, its place in the graph) ``t``'s own; a ``retain_grad()`` moves
    with it (t's .grad is then the gradient of t's new values, as in PyTorch)."""
    node, old = result._node, t._node
    node.tensor = weakref.ref(t)
    node.retains_grad, old.retains_grad = old.retains_grad and node.requires_grad, False
    t._node = node


def refresh_view(t, op):
    """t, a view whose base was changed in place (recorded) after t was taken: t's history becomes
    TakeAt(the base as it is now), which holds t's current values."""
    p = _views.positions(t.data, t._base.data)
    if p is None:
        raise RuntimeError(f"{op}: an input is a view of a tensor changed in place since, and its elements can't be "
                           "located in that tensor; take the view again")
    _take_history(t, _views.TakeAt(p)(t._base))
    t._view_rebased = t._version_counter.rebased


def _change_view(t, op, record):
    """The recorded change of a view ``t`` of ``base``: base's history becomes PutAt(old base, new values)
    and t's TakeAt(new base), as tinynet/functional/views.py explains."""
    base = t._base
    if base.is_leaf and base.requires_grad:
        raise RuntimeError(
            f"{op}: an in-place change to a view of a leaf tensor that requires grad (a parameter?) outside "
            "no_grad(); do it under `with tinynet.no_grad():`, or compute out of place"
        )
    if base.requires_grad and not t.requires_grad:
        raise RuntimeError(
            f"{op}: this view was taken under no_grad() from a tensor that requires grad, so it has no history "
            "to record the change in; take the view again with gradients on"
        )
    check_views_current(op, (t,))
    p = _views.positions(t.data, base.data)
    if p is None:
        raise RuntimeError(f"{op}: can't locate this view's elements in the tensor it views; compute out of place")
    new = _recorded(t, record)
    old_base = Tensor._wrap(base.data)
    old_base._node = base._node
    new_base = _views.PutAt(p)(old_base, new)
    t.data[...] = new.data  # the memory: written once, through the view
    _take_history(base, new_base)
    counter = t._version_counter
    counter.rebased += 1
    _take_history(t, _views.TakeAt(p)(base))
    t._view_rebased = counter.rebased


def _keeps(result, counter):
    """True if the Function that made ``result`` keeps, for its backward, memory counted by ``counter``."""
    creator = result._node.creator
    return any(c is counter for c, _, _ in getattr(creator, "_saved_versions", ()))


def apply_(t, op, fn):
    """``t <- fn(t)`` in place, for an out-of-place op ``fn`` on Tensors (relu, sigmoid, dropout, ...):
    the result is written into t's memory, recorded in the graph when it needs a gradient; returns t."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: an in-place op needs a Tensor, got {type(t).__name__}")

    def write(a):
        with no_grad():
            a[...] = fn(Tensor._wrap(a)).data

    return _modify(t, op, write, fn)


def _scaled(other, alpha, op):
    if alpha == 1:
        return other
    if not isinstance(alpha, (bool, int, float, np.number)):
        raise TypeError(f"{op}: alpha must be a number, got {type(alpha).__name__}")
    return other * alpha


def _binary(op, t, other, ufunc, out_of_place, alpha=1, floating_result=False):
    """``t = t <op> alpha * other`` in place: ``ufunc`` (a name in the array module) on the fast path,
    ``out_of_place`` (an op of arithmetic.py) when recorded."""
    o = _scaled(_operand(op, t, other), alpha, op)
    _check_result(op, t, o, floating_result)
    xp = get_array_module(t.data)

    def record(old):
        # A Tensor operand keeps its history (alpha applied as a recorded product); anything else is a constant.
        return out_of_place(old, _scaled(other, alpha, op) if isinstance(other, Tensor) else o)

    return _modify(t, op, lambda a: getattr(xp, ufunc)(a, o, out=a, casting="same_kind"), record, other)


def add_(t, other, alpha=1):
    """``t += alpha * other`` in place."""
    return _binary("add_", t, other, "add", _arith.add, alpha)


def sub_(t, other, alpha=1):
    """``t -= alpha * other`` in place."""
    return _binary("sub_", t, other, "subtract", _arith.sub, alpha)


def mul_(t, other):
    """``t *= other`` in place."""
    return _binary("mul_", t, other, "multiply", _arith.mul)


def div_(t, other):
    """``t /= other`` in place (true division: an integer tensor is refused, as in PyTorch)."""
    return _binary("div_", t, other, "true_divide", _arith.div, floating_result=True)


def fill_(t, value):
    """Set every element to ``value`` (a number or a one-element tensor; cast to t's dtype)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"fill_: the value must be a number or a one-element tensor, got shape {value.shape}")
        value = value.item()
    if not isinstance(value, (bool, int, float, np.number, np.bool_)):
        raise TypeError(f"fill_: the value must be a number, got {type(value).__name__}")
    xp = get_array_module(t.data)

    def write(a):
        a[...] = value

    return _modify(t, "fill_", write, lambda old: Overwrite(xp.full(t.shape, value, dtype=t.dtype))(old))


def zero_(t):
    """Set every element to 0."""
    return fill_(t, 0)


def copy_(t, src):
    """Copy ``src``'s values into t (broadcast to t's shape, cast to its dtype, from either device)."""
    if not isinstance(src, Tensor):
        src = Tensor(src) if not isinstance(src, (bool, int, float)) else Tensor(np.asarray(src))
    shape = src.shape
    try:
        fits = np.broadcast_shapes(t.shape, shape) == t.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"copy_: a source of shape {shape} does not broadcast to this tensor's shape {t.shape}")

    def write(a):
        a[...] = backend.to_device(src.data, backend.device_of(a))

    return _modify(t, "copy_", write, lambda old: CopyFrom()(old, src), src)


def clamp_(t, min=None, max=None):
    """Limit every element to [min, max] in place (either may be None)."""
    if min is None and max is None:
        raise ValueError("clamp_: give min, max or both")
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and not isinstance(bound, (bool, int, float, np.number)):
            raise TypeError(f"clamp_: {name} must be a number or None, got {type(bound).__name__}")
        if bound is not None:
            _check_result("clamp_", t, bound)
    xp = get_array_module(t.data)
    return _modify(t, "clamp_", lambda a: xp.clip(a, min, max, out=a), lambda old: old.clamp(min, max))


def _random_fill(t, op, draw):
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: needs a floating point tensor, got dtype {t.dtype}")
    values = draw()

    def write(a):
        a[...] = values

    return _modify(t, op, write, lambda old: Overwrite(values)(old))


def _numbers(op, **values):
    for name, v in values.items():
        if not isinstance(v, (int, float, np.number)) or isinstance(v, bool):
            raise TypeError(f"{op}: {name} must be a number, got {v!r}")


def uniform_(t, a=0.0, b=1.0):
    """Fill with samples of U[a, b), from the generator that ``tinynet.manual_seed`` seeds."""
    _numbers("uniform_", a=a, b=b)
    if not a <= b:
        raise ValueError(f"uniform_: needs a <= b, got a={a}, b={b}")
    return _random_fill(t, "uniform_", lambda: (
        backend.random_uniform(t.shape, t.dtype, t.data) * t.dtype.type(b - a) + t.dtype.type(a)).astype(t.dtype))


def normal_(t, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std**2), from the generator that ``tinynet.manual_seed`` seeds."""
    _numbers("normal_", mean=mean, std=std)
    if not std >= 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _random_fill(t, "normal_", lambda: (
        backend.random_normal(t.shape, t.dtype, t.data) * t.dtype.type(std) + t.dtype.type(mean)).astype(t.dtype))


def setitem(t, key, value):
    """``t[key] = value``: NumPy's indexing rules, ``value`` broadcast to ``t[key]`` and cast to t's dtype."""
    key = index_key(t, key)
    if isinstance(value, Tensor):
        backend.check_same_device([t.data, value.data], "setitem")
        v = value
    else:
        v = Tensor._wrap(get_array_module(t.data).asarray(as_number_array(value, "setitem: value"), dtype=t.dtype))

    return _modify(t, "setitem", lambda a: _assign(a, key, v.data), lambda old: SetItem(key)(old, v), v)


def _assign(a, key, v):
    """``a[key] = v``, NumPy's errors turned into ones that name the shapes and the key."""
    try:
        a[key] = v
    except IndexError as e:
        raise IndexError(f"setitem: indexing a tensor of shape {tuple(a.shape)} with {key!r:.60}: {e}") from None
    except ValueError as e:
        raise ShapeError(f"setitem: a value of shape {tuple(v.shape)} can't be written into a tensor of shape "
                         f"{tuple(a.shape)} at {key!r:.60}: {e}") from None
