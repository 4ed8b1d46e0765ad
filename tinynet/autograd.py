"""Differentiable functions, the graph, and the backward traversal (Tensor itself: tinynet/_tensor.py).

The graph
---------
Every ``Tensor`` owns a small ``Node``: the graph's record of that tensor
(which ``Function`` made it, its generation, whether it wants a gradient) with
no reference to its data. A ``Function`` that ran on tensors keeps its inputs'
Nodes and weak references to its outputs' Nodes, plus whatever arrays its own
``backward`` needs. So the graph itself holds no activations: a ReLU that
saved only a boolean mask lets its input array be freed as soon as nothing
else uses it ("keep only what backward needs").

Backward
--------
``tensor.backward(g)`` walks the graph without recursion. Each Node has a
generation: 0 for leaves, 1 + its creator's generation otherwise; a Function's
generation is the largest of its inputs'. Every Function that consumes a
tensor has a higher generation than the tensor's creator, so popping Functions
from a max-heap on generation guarantees that all gradient contributions to a
tensor have been summed before its creator's ``backward`` runs. Depth is
bounded by memory, not by Python's recursion limit.

Gradients of leaves (tensors made by the user, such as parameters) are added
into ``tensor.grad`` and accumulate over ``backward()`` calls until cleared,
as in PyTorch. Intermediate gradients live only during the traversal, unless
``retain_grad()`` was called on that tensor.

After a Function's backward has run, the arrays it saved are released (the
activations of a whole network, in a training step), so a second
``backward()`` through the same graph raises, unless the first one was called
with ``retain_graph=True``.

The engine never modifies a gradient array in place (accumulation is ``a + b``),
so an op may return the same array for two inputs.

Saved arrays and in-place changes
---------------------------------
Every Tensor has a version counter, shared with its views (an op's output
that uses its input's memory, such as ``reshape`` or basic indexing), which
each in-place change (``x += 1``, ``x.add_()``, ``x[0] = 5``, an optimizer's
step) increments. When a Function is recorded, the engine notes the version
of every input or output whose memory the Function keeps for its backward:
the arrays it declared with ``self.save_for_backward(...)``, and any array
kept as an attribute (``self.x = x``, the older form) that is one of those
tensors' data or a view of it. Before that Function's backward runs, each
noted version is compared with the tensor's version now; a difference means
backward would read overwritten values, and it raises RuntimeError naming
the Function, as PyTorch does.
"""
import heapq
import itertools
import weakref

import numpy as np

from tinynet import backend

__all__ = ["Function", "Node", "no_grad", "enable_grad", "inference_mode", "set_grad_enabled", "is_grad_enabled", "run_backward"]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _grad_enabled


class _GradMode:
    """Context manager and decorator (``@no_grad()`` or bare ``@no_grad``) that sets whether ops are recorded."""

    _mode = True

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        return self if fn is None else self(fn)

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = self._mode

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev
        return False

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: a decorator for a function, got {fn!r}; as a context "
                            f"manager it takes no argument: with {type(self).__name__}(): ...")

        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


class no_grad(_GradMode):
    """Run ops without recording them: no graph, no saved arrays, outputs need no grad.

        with tinynet.no_grad():
            logits = model(x)
    """

    _mode = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad()`` block."""

    _mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)``: turn recording on or off, as PyTorch's: at once when called
    (``tinynet.set_grad_enabled(False)`` on its own line), and back to the previous mode at the end of a
    ``with tinynet.set_grad_enabled(is_train):`` block."""

    def __new__(cls, mode):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        global _grad_enabled
        self = object.__new__(cls)
        self._prev, _grad_enabled = _grad_enabled, bool(mode)
        return self

    def __enter__(self):
        pass  # the mode was set when this was made

    def __call__(self, fn):
        raise TypeError("set_grad_enabled: use it as `with tinynet.set_grad_enabled(mode):` or on its own; "
                        "as a decorator use tinynet.no_grad() or tinynet.enable_grad()")


class inference_mode(_GradMode):
    """``no_grad()`` under PyTorch's other name: ``with tinynet.inference_mode(): ...``, or as a
    decorator (bare or called). ``inference_mode(False)`` changes nothing, as PyTorch's ``mode=False``.

    PyTorch also marks the tensors made in inference mode as unusable in autograd later; here they are
    ordinary tensors that need no grad, as under ``no_grad``.
    """

    def __new__(cls, mode=True):
        if callable(mode):  # bare @inference_mode over a function
            return cls()(mode)
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"inference_mode: mode must be True or False, got {mode!r}")
        self = object.__new__(cls)
        self.mode = bool(mode)
        return self

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        if self.mode:
            _grad_enabled = False

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"inference_mode: a decorator for a function, got {fn!r}")
        mode = self.mode

        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


class Version:
    """A tensor's version counter, shared with its views.

    ``value`` counts the in-place changes of the memory; ``rebased`` counts those that were recorded in
    the graph (the tensor's history then moved to a new node, and views made before are out of date).
    """

    __slots__ = ("value", "rebased")

    def __init__(self):
        self.value = 0
        self.rebased = 0


class Node:
    """The graph's record of one tensor. Holds no data.

    Attributes:
        creator: the Function whose output this is, or None for a leaf.
        generation: 0 for a leaf, creator.generation + 1 otherwise.
        requires_grad: whether a gradient flows to this tensor.
        retains_grad: for a non-leaf, whether its gradient is kept in ``.grad``.
        tensor: weak reference to the Tensor, to deliver ``.grad``.
    """

    __slots__ = ("creator", "generation", "requires_grad", "retains_grad", "tensor", "grad_hooks", "__weakref__")

    def __init__(self, tensor, requires_grad, creator=None):
        self.creator = creator
        self.generation = 0 if creator is None else creator.generation + 1
        self.requires_grad = requires_grad
        self.retains_grad = False
        self.tensor = weakref.ref(tensor)
        self.grad_hooks = None  # a leaf's post-accumulate-grad hooks: {key: hook}, or None


# --- hooks: a leaf's gradient complete, and the end of backward ----------------------------------------
# The engine fires a leaf's hooks when the last function of this backward that sends it a gradient has
# sent it: it counts those edges first (only when some leaf has hooks, so plain backward pays nothing).

_hooked_nodes = 0  # how many nodes have hooks
_final_callbacks = None  # during a backward: the callbacks to run at its end (queue_callback)


def _unhooked():
    global _hooked_nodes
    _hooked_nodes -= 1


class _GradHookHandle:
    """What register_post_accumulate_grad_hook returns: ``remove()`` takes the hook off."""

    _keys = itertools.count()

    def __init__(self, node, hook):
        global _hooked_nodes
        if node.grad_hooks is None:
            node.grad_hooks = {}
            _hooked_nodes += 1
            node_gone = weakref.finalize(node, _unhooked)  # a hooked tensor collected: no longer counted
            node.grad_hooks[None] = node_gone
        self.node, self.key = weakref.ref(node), next(self._keys)
        node.grad_hooks[self.key] = hook

    def remove(self):
        node = self.node()
        hooks = None if node is None else node.grad_hooks
        if hooks is not None and hooks.pop(self.key, None) is not None and len(hooks) == 1:
            hooks.pop(None)()  # the finalizer, called now: the count goes down once
            node.grad_hooks = None


def add_grad_hook(tensor, hook):
    return _GradHookHandle(tensor._node, hook)


def current_backward():
    """An object that stands for the backward now running (the same one throughout it), or None."""
    return _final_callbacks


def queue_callback(callback):
    """Run ``callback()`` once the backward now running has finished (PyTorch's engine.queue_callback); only
    from inside a backward (a hook's or a Function's code)."""
    if _final_callbacks is None:
        raise RuntimeError("queue_callback: no backward is running; call it from a hook during backward()")
    _final_callbacks.append(callback)


def _hooked_edges(root):
    """{leaf node with hooks: how many edges of the graph under ``root`` deliver a gradient to it}."""
    counts, seen, stack = {}, set(), [root.creator]
    while stack:
        f = stack.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        for node in f.inputs:
            if not node.requires_grad:
                continue
            if node.creator is None:
                if node.grad_hooks:
                    counts[node] = counts.get(node, 0) + 1
            else:
                stack.append(node.creator)
    return counts


def _fire(node):
    tensor = node.tensor()
    if tensor is not None:
        for key, hook in list((node.grad_hooks or {}).items()):
            if key is not None:  # (None: the finalizer that keeps the count)
                hook(tensor)


class Function:
    """A differentiable operation on arrays, written by hand.

    Subclass it and write ``forward(self, *arrays)`` returning an array (or a
    tuple of arrays) and ``backward(self, *grads)`` returning one gradient
    array per input (``None`` for an input that needs none). Both take and
    return plain NumPy or CuPy arrays. Configuration goes to ``__init__``;
    the inputs (or outputs) that ``backward`` needs are declared with
    ``self.save_for_backward(...)`` during ``forward`` and read back as
    ``self.saved_arrays`` (PyTorch's ``ctx.save_for_backward`` and
    ``ctx.saved_tensors``, on arrays); anything else backward needs (a mask,
    a shape) is stored on ``self``. Apply it as ``MyOp(**config)(*tensors)``;
    each call needs a new instance.

        class Square(tinynet.Function):
            def forward(self, x):
                self.save_for_backward(x)
                return x * x
            def backward(self, gy):
                (x,) = self.saved_arrays
                return 2 * x * gy

        y = Square()(x)

    Keeping an input as an attribute (``self.x = x``) works too: the engine
    finds the arrays kept on ``self`` that are an input's or output's memory
    and checks them the same way (see "Saved arrays and in-place changes").

    During ``forward``, ``self.needs_input_grad`` is a tuple of bools, one per
    input, so an op can skip work (and saved arrays) for inputs that need no
    gradient; under ``no_grad`` every entry is False (no backward will follow).
    """

    inputs = ()
    generation = 0

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(self, *arrays)")

    def backward(self, *grads):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(self, *grads)")

    @property
    def name(self) -> str:
        return type(self).__name__

    def save_for_backward(self, *arrays):
        """Keep ``arrays`` (inputs or outputs of this op, or arrays made in forward) for ``backward``.

        An input or output kept here that is changed in place before backward runs makes backward
        raise (its values would be wrong); read them back with ``self.saved_arrays``.
        """
        for i, a in enumerate(arrays):
            if a is not None and not _is_array(a):
                raise TypeError(f"{self.name}.save_for_backward: argument {i} is a {type(a).__name__}; it keeps "
                                "the arrays forward received or made (None for one not needed)")
        self._saved = arrays

    @property
    def saved_arrays(self) -> tuple:
        """The arrays given to ``save_for_backward``, in order."""
        if getattr(self, "_released", False):
            raise RuntimeError(f"{self.name}: its saved arrays were freed after backward() (retain_graph=False)")
        try:
            return self._saved
        except AttributeError:
            raise RuntimeError(f"{self.name}: saved_arrays read, but forward never called "
                               "save_for_backward(...)") from None

    def __call__(self, *inputs):
        if getattr(self, "_called", False):
            raise RuntimeError(
                f"{self.name}: a Function instance can be applied once; create a new one per call, "
                f"e.g. {self.name}(...)(x)"
            )
        self._called = True
        self._config_keys = frozenset(self.__dict__)  # what __init__ set: kept when saved arrays are released
        tensors = tuple(x if isinstance(x, Tensor) else self._as_input(i, x) for i, x in enumerate(inputs))
        arrays = tuple(t.data for t in tensors)
        backend.check_same_device(arrays, self.name)
        if _grad_enabled:
            check_views_current(self.name, tensors)  # a view whose base changed since: its history now
        # Under no_grad nothing is recorded, so no input will get a gradient from this op.
        self.needs_input_grad = tuple(_grad_enabled and t._node.requires_grad for t in tensors)
        record = any(self.needs_input_grad)

        ys = self.forward(*arrays)
        single = not isinstance(ys, tuple)
        if single:
            ys = (ys,)
        # NumPy reductions return scalars (np.float32), not 0-d arrays.
        xp = backend.get_array_module(*arrays)
        ys = tuple(y if _is_array(y) else xp.asarray(y) for y in ys)
        outputs = tuple(Tensor._wrap(y) for y in ys)

        _share_versions(tensors, outputs)
        if record:
            self.inputs = tuple(t._node for t in tensors)
            self._input_meta = tuple((a.shape, a.dtype) for a in arrays)
            self._output_meta = tuple((y.shape, y.dtype) for y in ys)
            self.generation = max(n.generation for n in self.inputs)
            for out in outputs:
                out._node = Node(out, requires_grad=True, creator=self)
            self.outputs = tuple(weakref.ref(out._node) for out in outputs)
            self._saved_versions = _saved_versions(self, tensors, outputs)
        return outputs[0] if single else outputs

    def _as_input(self, i, x):
        """Input ``i``, not a Tensor, as one; what a Tensor can't hold is refused naming this op."""
        try:
            return Tensor(x)
        except TypeError as e:
            raise TypeError(f"{self.name}: input {i}: {e}") from None
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"{self.name}: input {i}: {e}") from None

    _ENGINE_KEYS = frozenset(
        {"needs_input_grad", "inputs", "_input_meta", "_output_meta", "generation", "outputs", "_released",
         "_config_keys", "_saved_versions"}
    )

    def release(self):
        """Drop everything ``forward`` saved for ``backward`` (the engine calls this after backward)."""
        keep = self._config_keys | self._ENGINE_KEYS
        for key in [k for k in self.__dict__ if k not in keep]:
            del self.__dict__[key]
        self._released = True

    def __repr__(self):
        return f"<{self.name} generation={self.generation}>"


def _memory_owner(a):
    """What owns ``a``'s memory: ``a`` itself unless it is a view; else the array (or, for an array made
    on a buffer such as a pipe's message, the bytes or memoryview) at the end of its ``.base`` chain."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def _share_versions(inputs, outputs):
    """Give each output that uses an input's memory (a view: reshape, indexing, transpose) that
    input's version counter, and remember the tensor it views (``_base``)."""
    for out in outputs:
        a = out.data
        if a.base is None and all(a is not t.data for t in inputs):  # a new array: the common case
            continue
        mine = _memory_owner(a)
        for t in inputs:
            if _memory_owner(t.data) is mine:
                out._version_counter = t._version_counter
                out._base = t if t._base is None else t._base
                out._view_rebased = t._version_counter.rebased
                break


def check_views_current(name, tensors):
    """Bring up to date the history of each view in ``tensors`` whose base was changed in place, with the
    change recorded, after the view was taken (its node predates the change): its new history reads it
    from the base as it is now, as PyTorch regenerates a view's grad_fn (tinynet/functional/views.py)."""
    for t in tensors:
        if t._base is not None and t._view_rebased != t._version_counter.rebased:
            t._refresh_view(name)


def _saved_versions(f, inputs, outputs):
    """(counter, version now, what) for each input or output whose memory ``f`` keeps for backward."""
    config, engine = f._config_keys, f._ENGINE_KEYS
    owners = {id(_memory_owner(v)) for k, v in f.__dict__.items()
              if k not in config and k not in engine and _is_array(v)}
    owners.update(id(_memory_owner(a)) for a in f.__dict__.get("_saved", ()) if a is not None)
    if not owners:
        return ()
    found, seen = [], set()
    for what, group in (("input", inputs), ("output", outputs)):
        for i, t in enumerate(group):
            counter = t._version_counter
            if id(counter) not in seen and id(_memory_owner(t.data)) in owners:
                seen.add(id(counter))
                found.append((counter, counter.value, f"{what} {i} ({t.dtype} of shape {t.shape})"))
    return tuple(found)


def _check_saved_versions(f):
    for counter, version, what in getattr(f, "_saved_versions", ()):
        if counter.value != version:
            raise RuntimeError(
                f"backward through {f.name}: one of the arrays it saved for backward, its {what}, was modified "
                f"by an in-place operation: it is at version {counter.value}, and was at version {version} when "
                f"{f.name} ran, so its gradient would be computed from the wrong values. Make the change out of "
                "place (y = x + 1 instead of x += 1), or modify a clone()"
            )


def _deliver(node, g, delivered):
    """Add gradient ``g`` into the ``.grad`` of the tensor behind ``node``.

    ``delivered`` holds the ids of the memory owners of arrays already stored
    as some ``.grad`` during this backward pass.
    """
    tensor = node.tensor()
    if tensor is None:  # nobody can read this gradient any more
        return
    if g.dtype != tensor.data.dtype:
        g = g.astype(tensor.data.dtype)
    if tensor.grad is None:
        # Store the array itself unless its memory is already some other
        # .grad (ops may return one array, or views of it, to several inputs),
        # is read-only, or is a broadcast view; then the user can modify each
        # .grad in place without touching another.
        shared = id(_memory_owner(g)) in delivered
        if shared or not getattr(g.flags, "writeable", True) or (g.size > 1 and 0 in g.strides):
            g = g.copy()
        delivered.add(id(_memory_owner(g)))
        tensor.grad = Tensor._wrap(g)
    else:
        # A .grad set by the user: adding would broadcast a wrong shape silently (or fail on a non-Tensor).
        old = tensor.grad
        if not isinstance(old, Tensor) or old.shape != tuple(g.shape):
            given = f"a Tensor of shape {old.shape}" if isinstance(old, Tensor) else f"of type {type(old).__name__}"
            raise ValueError(
                f"backward: the .grad of a tensor of shape {tensor.shape} is {given}; a gradient is accumulated "
                f"into .grad, which must be a Tensor of the tensor's shape (or None)"
            )
        tensor.grad.data = old.data + g


def run_backward(root: Node, grad, retain_graph=False) -> None:
    """Propagate ``grad`` (the gradient of some scalar w.r.t. ``root``) through the graph.

    Unless ``retain_graph``, each Function releases its saved arrays once its backward has run.
    """
    global _final_callbacks
    outer, _final_callbacks = _final_callbacks, []
    try:
        _run_backward(root, grad, retain_graph)
        while _final_callbacks:  # a callback may queue another
            _final_callbacks.pop(0)()
    finally:
        _final_callbacks = outer


def _run_backward(root, grad, retain_graph):
    delivered = {id(_memory_owner(grad))}  # the caller's array is theirs, never a .grad
    if root.creator is None:
        _deliver(root, grad, delivered)
        if root.grad_hooks:
            _fire(root)
        return
    pending = _hooked_edges(root) if _hooked_nodes else {}  # leaf -> deliveries still to come
    fired, reached = set(), set()
    grads = {root: grad}
    heap, tiebreak, queued = [], itertools.count(), {root.creator}
    heapq.heappush(heap, (-root.creator.generation, next(tiebreak), root.creator))

    while heap:
        f = heapq.heappop(heap)[2]
        gys = []
        for ref in f.outputs:
            node = ref()
            gy = None if node is None else grads.pop(node, None)
            if gy is not None and node.retains_grad:
                _deliver(node, gy, delivered)
            gys.append(gy)
        some = next(g for g in gys if g is not None)
        xp = backend.get_array_module(some)
        gys = [xp.zeros(shape, dtype) if g is None else g for g, (shape, dtype) in zip(gys, f._output_meta)]

        if getattr(f, "_released", False):
            raise RuntimeError(
                f"backward through {f.name} a second time: its saved arrays were freed after the first "
                "backward(). Call the first backward(retain_graph=True) to backpropagate twice, or recompute "
                "the forward pass."
            )
        _check_saved_versions(f)
        with no_grad():
            gxs = f.backward(*gys)
        if not retain_graph:
            f.release()
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        if len(gxs) != len(f.inputs):
            raise RuntimeError(
                f"{f.name}.backward returned {len(gxs)} gradients for {len(f.inputs)} inputs"
            )

        for i, (node, gx) in enumerate(zip(f.inputs, gxs)):
            if gx is None or not node.requires_grad:
                continue
            if not _is_array(gx):
                gx = backend.get_array_module(*gys).asarray(gx)
            shape, dtype = f._input_meta[i]
            if gx.shape != shape:
                raise RuntimeError(
                    f"{f.name}.backward returned a gradient of shape {tuple(gx.shape)} for input {i}, "
                    f"whose shape is {tuple(shape)}"
                )
            if gx.dtype != dtype:  # e.g. float32 input * float64 input: each gets its own dtype back
                gx = gx.astype(dtype)
            if node.creator is None:
                _deliver(node, gx, delivered)
                if node in pending:
                    reached.add(node)
                    pending[node] -= 1
                    if pending[node] == 0:
                        fired.add(node)
                        _fire(node)
                continue
            grads[node] = grads[node] + gx if node in grads else gx
            if node.creator not in queued:
                queued.add(node.creator)
                heapq.heappush(heap, (-node.creator.generation, next(tiebreak), node.creator))
    # Leaves that got a gradient but not along every edge (a function upstream got none): complete now.
    for node, left in pending.items():
        if left and node in reached and node not in fired:
            _fire(node)



_NOT_ARRAYS = (type(None), bool, int, float, str, tuple, frozenset, np.dtype)


def _is_array(x) -> bool:
    if type(x) is np.ndarray or isinstance(x, np.ndarray):
        return True
    return not isinstance(x, _NOT_ARRAYS) and backend.is_cupy_array(x)


# The import knot (autograd <-> Tensor <-> the ops) is explained where it is tied: at the end of
# tinynet/_tensor.py. Function needs the Tensor class only when an op runs, so it is imported last.
from tinynet._tensor import Tensor  # noqa: E402
