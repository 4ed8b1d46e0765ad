"""Tensors, differentiable functions, and the backward traversal.

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

The engine never modifies a gradient array in place (accumulation is ``a + b``),
so an op may return the same array for two inputs.
"""
import heapq
import itertools
import weakref

import numpy as np

from tinynet import backend

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled"]

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


class Node:
    """The graph's record of one tensor. Holds no data.

    Attributes:
        creator: the Function whose output this is, or None for a leaf.
        generation: 0 for a leaf, creator.generation + 1 otherwise.
        requires_grad: whether a gradient flows to this tensor.
        retains_grad: for a non-leaf, whether its gradient is kept in ``.grad``.
        tensor: weak reference to the Tensor, to deliver ``.grad``.
    """

    __slots__ = ("creator", "generation", "requires_grad", "retains_grad", "tensor", "__weakref__")

    def __init__(self, tensor, requires_grad, creator=None):
        self.creator = creator
        self.generation = 0 if creator is None else creator.generation + 1
        self.requires_grad = requires_grad
        self.retains_grad = False
        self.tensor = weakref.ref(tensor)


class Function:
    """A differentiable operation on arrays, written by hand.

    Subclass it and write ``forward(self, *arrays)`` returning an array (or a
    tuple of arrays) and ``backward(self, *grads)`` returning one gradient
    array per input (``None`` for an input that needs none). Both take and
    return plain NumPy or CuPy arrays. Configuration goes to ``__init__``;
    anything ``backward`` needs is stored on ``self`` during ``forward``.
    Apply it as ``MyOp(**config)(*tensors)``; each call needs a new instance.

        class Square(tinynet.Function):
            def forward(self, x):
                self.x = x
                return x * x
            def backward(self, gy):
                return 2 * self.x * gy

        y = Square()(x)

    During ``forward``, ``self.needs_input_grad`` is a tuple of bools, one per
    input, so an op can skip work (and saved arrays) for inputs that need no
    gradient.
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

    def __call__(self, *inputs):
        if getattr(self, "_called", False):
            raise RuntimeError(
                f"{self.name}: a Function instance can be applied once; create a new one per call, "
                f"e.g. {self.name}(...)(x)"
            )
        self._called = True
        tensors = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
        arrays = tuple(t.data for t in tensors)
        backend.check_same_device(arrays, self.name)
        self.needs_input_grad = tuple(t._node.requires_grad for t in tensors)
        record = _grad_enabled and any(self.needs_input_grad)

        ys = self.forward(*arrays)
        single = not isinstance(ys, tuple)
        if single:
            ys = (ys,)
        # NumPy reductions return scalars (np.float32), not 0-d arrays.
        ys = tuple(y if _is_array(y) else np.asarray(y) for y in ys)
        outputs = tuple(Tensor._wrap(y) for y in ys)

        if record:
            self.inputs = tuple(t._node for t in tensors)
            self._input_meta = tuple((a.shape, a.dtype) for a in arrays)
            self._output_meta = tuple((y.shape, y.dtype) for y in ys)
            self.generation = max(n.generation for n in self.inputs)
            for out in outputs:
                out._node = Node(out, requires_grad=True, creator=self)
            self.outputs = tuple(weakref.ref(out._node) for out in outputs)
        return outputs[0] if single else outputs

    def __repr__(self):
        return f"<{self.name} generation={self.generation}>"


def _memory_owner(a):
    """The array that owns ``a``'s memory (``a`` itself unless it is a view)."""
    while a.base is not None:
        a = a.base
    return a


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
        tensor.grad.data = tensor.grad.data + g


def run_backward(root: Node, grad) -> None:
    """Propagate ``grad`` (the gradient of some scalar w.r.t. ``root``) through the graph."""
    delivered = {id(_memory_owner(grad))}  # the caller's array is theirs, never a .grad
    if root.creator is None:
        _deliver(root, grad, delivered)
        return
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

        with no_grad():
            gxs = f.backward(*gys)
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
                gx = np.asarray(gx)
            shape = f._input_meta[i][0]
            if gx.shape != shape:
                raise RuntimeError(
                    f"{f.name}.backward returned a gradient of shape {tuple(gx.shape)} for input {i}, "
                    f"whose shape is {tuple(shape)}"
                )
            if node.creator is None:
                _deliver(node, gx, delivered)
                continue
            grads[node] = grads[node] + gx if node in grads else gx
            if node.creator not in queued:
                queued.add(node.creator)
                heapq.heappush(heap, (-node.creator.generation, next(tiebreak), node.creator))


def _is_array(x) -> bool:
    return isinstance(x, np.ndarray) or backend.is_cupy_array(x)


class Tensor:
    """An n-dimensional array (NumPy on "cpu", CuPy on "cuda") that records the ops applied to it.

    Args:
        data: an ndarray of either library (kept as it is, dtype included),
            or a Python number / nested list (floats become float32, as in PyTorch).
        requires_grad: track gradients for this tensor (floating dtypes only).
        dtype: optional dtype to convert to, e.g. "float64".
        device: optional "cpu" or "cuda".

    Attributes:
        data: the underlying array.
        grad: a Tensor holding the accumulated gradient, or None.
    """

    # Make ``ndarray + Tensor`` call Tensor.__radd__ instead of NumPy broadcasting over it.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
            data = np.asarray(data)
        if not _is_array(data):
            data = np.asarray(data)
            if data.dtype == np.float64 and dtype is None:
                data = data.astype(np.float32)
        if dtype is not None:
            data = data.astype(dtype, copy=False)
        if device is not None:
            data = backend.to_device(data, device)
        self.data = data
        self.grad = None
        self._node = Node(self, requires_grad=False)
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array):
        """Wrap an array produced by the engine (no conversion, no checks)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t._node = Node(t, requires_grad=False)
        return t

    # --- what it is -----------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    def size(self, dim=None):
        """The shape (as PyTorch's ``size()``), or the length of dimension ``dim``."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self):
        return len(self.data)

    @property
    def requires_grad(self) -> bool:
        return self._node.requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad can only be changed on a leaf tensor; use .detach() to start a new leaf"
            )
        if value and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, not {self.data.dtype}")
        self._node.requires_grad = value

    @property
    def is_leaf(self) -> bool:
        return self._node.creator is None

    @property
    def grad_fn(self):
        """The Function that produced this tensor, or None for a leaf."""
        return self._node.creator

    def __repr__(self):
        body = np.array2string(backend.host(self.data), separator=", ", prefix="tensor(")
        extra = ""
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self.data.dtype != np.float32:
            extra += f", dtype={self.data.dtype}"
        if self._node.creator is not None:
            extra += f", grad_fn=<{self._node.creator.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # --- data out ---------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A NumPy copy of the data on the host (safe to modify)."""
        return np.array(backend.host(self.data), copy=True)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return backend.host(self.data).tolist()

    def __bool__(self):
        return bool(self.data)

    __hash__ = object.__hash__

    # --- gradients --------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) * grad into the ``.grad`` of every leaf that requires grad.

        Args:
            grad: array or Tensor of this tensor's shape: the gradient of the final
                scalar with respect to this tensor. May be omitted only when this
                tensor has one element (then it is 1).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph; set requires_grad=True "
                "on the inputs (or parameters) before computing it, and not under no_grad()"
            )
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be omitted only for a one-element output, this one has shape "
                    f"{self.shape}; pass grad= an array of that shape"
                )
            g = xp.ones_like(self.data)
        else:
            g = grad.data if isinstance(grad, Tensor) else grad
            if not _is_array(g):
                g = np.asarray(g, dtype=self.data.dtype)
            backend.check_same_device([self.data, g], "backward (output and grad)")
            if g.shape != self.data.shape:
                raise ValueError(f"backward(): grad has shape {tuple(g.shape)}, the output has shape {self.shape}")
            if g.dtype != self.data.dtype:
                g = g.astype(self.data.dtype)
        run_backward(self._node, g)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after ``backward()``."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._node.retains_grad = True

    def zero_grad(self):
        """Clear the accumulated gradient (same as ``tensor.grad = None``)."""
        self.grad = None

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._wrap(self.data)

    # --- devices and dtypes (differentiable) -------------------------------------
    def to(self, target):
        """Move to a device ("cpu", "cuda") or convert to a dtype ("float64", np.float32).

        Returns self if nothing changes. Gradients flow back through the move.
        """
        kind, value = backend.device_or_dtype(target)
        if kind == "device":
            return self if value == self.device else _conversion.ToDevice(value)(self)
        return self if value == self.data.dtype else _conversion.AsType(value)(self)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # --- arithmetic (NumPy broadcasting; gradients summed back to each input's shape)
    def __add__(self, other):
        return _arith.add(self, other)

    def __radd__(self, other):
        return _arith.add(other, self)

    def __sub__(self, other):
        return _arith.sub(self, other)

    def __rsub__(self, other):
        return _arith.sub(other, self)

    def __mul__(self, other):
        return _arith.mul(self, other)

    def __rmul__(self, other):
        return _arith.mul(other, self)

    def __truediv__(self, other):
        return _arith.div(self, other)

    def __rtruediv__(self, other):
        return _arith.div(other, self)

    def __neg__(self):
        return _arith.Neg()(self)

    def __pow__(self, exponent):
        return _arith.pow(self, exponent)

    def __matmul__(self, other):
        return _arith.matmul(self, other)

    def __rmatmul__(self, other):
        return _arith.matmul(other, self)

    def exp(self):
        return _arith.Exp()(self)

    def log(self):
        return _arith.Log()(self)

    # --- comparisons (no gradient; a bool tensor) ---------------------------------
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(op(self.data, other))

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    # --- reductions ----------------------------------------------------------------
    def sum(self, dim=None, keepdim=False):
        return _reduction.Sum(dim, keepdim)(self)

    def mean(self, dim=None, keepdim=False):
        return _reduction.Mean(dim, keepdim)(self)

    def max(self, dim=None, keepdim=False):
        """The maximum; with ``dim``, a pair (values, indices) as in PyTorch."""
        return _reduction.max_with_indices(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        xp = backend.get_array_module(self.data)
        if dim is None:
            return Tensor._wrap(xp.asarray(xp.argmax(self.data)))
        return Tensor._wrap(xp.argmax(self.data, axis=dim, keepdims=keepdim))

    # --- shape -------------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _shape.Reshape(shape)(self)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        """Swap two dimensions (PyTorch's meaning; see ``permute`` for a full reordering)."""
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return _shape.Transpose(axes)(self)

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return _shape.Transpose(dims)(self)

    @property
    def T(self):
        return _shape.Transpose(tuple(reversed(range(self.ndim))))(self)

    def __getitem__(self, key):
        return _shape.getitem(self, key)


# The ops behind Tensor's operators subclass Function, defined above; importing
# them here (not at the top) is what lets that module import this one.
from tinynet.functional import arithmetic as _arith  # noqa: E402
from tinynet.functional import conversion as _conversion  # noqa: E402
from tinynet.functional import reduction as _reduction  # noqa: E402
from tinynet.functional import shape as _shape  # noqa: E402
