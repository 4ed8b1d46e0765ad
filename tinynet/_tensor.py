"""Tensor: an array (NumPy on "cpu", CuPy on "cuda") that records the ops applied to it.

A Tensor holds its data (``.data``), its accumulated gradient (``.grad``), a
``Node``, its record in the graph (see tinynet/autograd.py), and a version
counter shared with its views, which in-place changes increment. Its operators
and methods (``+``, ``@``, ``sum``, ``reshape``, ``gather``, ``add_``, ...) apply
the Functions defined in tinynet/functional/{arithmetic, reduction, shape, join,
indexing, conversion, inplace}.py and the layer ops of activation.py and loss.py.
"""
import numpy as np

from tinynet import backend
from tinynet.autograd import Node, Version, _is_array, add_grad_hook, is_grad_enabled, run_backward

__all__ = ["Tensor", "tensor"]

NUMBER_KINDS = "biufc"  # the dtype kinds a Tensor may hold: bool, int, unsigned int, float, complex


def _first_non_number(data):
    """The first leaf of nested lists/tuples ``data`` that is not a number (for an error message)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif not isinstance(item, (bool, int, float, complex, np.number, np.bool_)):
            return item
    return None


def _refuse_non_numbers(data, array, what):
    """Raise TypeError naming ``what`` and the offending value unless ``array`` (made from ``data``) holds numbers."""
    if array.dtype.kind in NUMBER_KINDS:
        return
    if isinstance(data, (list, tuple)):
        leaf = _first_non_number(data)
        given = f"a {type(data).__name__} holding a {type(leaf).__name__} {leaf!r:.40}"
    elif _is_array(data):
        given = f"an array of dtype {array.dtype}"
    elif data is None:
        given = "None"
    else:
        given = f"a {type(data).__name__} {data!r:.40}"
    raise TypeError(f"{what}: data must be numbers (bool, int, float), got {given}")


def as_number_array(data, what):
    """``data`` (a number, nested lists of numbers, any array-like) as a NumPy array of numbers.

    A str, None, a dict, nested lists of mixed or ragged rows, arrays of strings or objects or
    records: a TypeError (ragged rows: ValueError) whose message starts with ``what``.
    """
    try:
        array = np.asarray(data)
    except ValueError:  # NumPy refuses ragged nested lists
        raise ValueError(
            f"{what}: nested lists must be rectangular (every row of one length), got {data!r:.60}"
        ) from None
    _refuse_non_numbers(data, array, what)
    return array


def number_dtype(dtype, what):
    """``dtype`` as a NumPy dtype of numbers (bool, int, float, complex), else a TypeError naming ``what``."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None:
        raise TypeError(f"{what}: {dtype!r} is not a dtype (e.g. 'float32', 'float64', 'int64')")
    if dt.kind not in NUMBER_KINDS:
        raise TypeError(f"{what}: dtype must be a number type (bool, int, float), got {dt}")
    return dt


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new Tensor holding a copy of ``data``, as ``torch.tensor``.

    ``Tensor(array)`` wraps an array without copying (``torch.as_tensor``); this always copies, so
    changing the result never changes ``data``. Python floats become float32, an array keeps its
    dtype unless ``dtype`` is given. ``data`` may also be a Tensor (its values are copied, without
    its graph).
    """
    if isinstance(data, Tensor):
        data = data.data
    if _is_array(data):
        data = data.copy()
    try:
        return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)
    except (TypeError, ValueError, backend.DeviceError) as e:  # Tensor's own message, naming this function
        message = str(e).removeprefix("Tensor: ")
        raise type(e)(f"tinynet.tensor: {message}") from None


class Tensor:
    """An n-dimensional array (NumPy on "cpu", CuPy on "cuda") that records the ops applied to it.

    Args:
        data: an ndarray of either library (kept as it is, dtype included),
            or a Python number / nested list (floats become float32, as in PyTorch).
            Numbers only: strings, None, dicts, ragged or mixed lists, arrays of strings,
            objects or records are refused with a TypeError (ragged lists: ValueError).
        requires_grad: True or False: track gradients for this tensor (floating dtypes only).
        dtype: optional dtype of numbers to convert to, e.g. "float64".
        device: optional "cpu" or "cuda".

    Attributes:
        data: the underlying array.
        grad: a Tensor holding the accumulated gradient, or None.
    """

    # NumPy hands its operators to Tensor (``ndarray + Tensor`` is Tensor.__radd__, a Tensor) rather
    # than converting the Tensor to an array and dropping the graph; ``np.asarray(t)`` reads __array__.
    __array_priority__ = 1000
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, like an array
            data = np.asarray(data)
        if _is_array(data):
            _refuse_non_numbers(data, data, "Tensor")  # a look at the dtype, not at the data
        else:
            data = as_number_array(data, "Tensor")
            if data.dtype == np.float64 and dtype is None:
                data = data.astype(np.float32)
        if dtype is not None:
            data = data.astype(number_dtype(dtype, "Tensor"), copy=False)
        if device is not None:
            data = backend.to_device(data, device)
        self.data = data
        self.grad = None
        self._node = Node(self, requires_grad=False)
        self._version_counter, self._base = Version(), None
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array):
        """Wrap an array produced by the engine (no conversion, no checks)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t._node = Node(t, requires_grad=False)
        t._version_counter, t._base = Version(), None
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
        return self.shape if dim is None else self.shape[_util.check_dim("size", dim, self.ndim)]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        """The sub-tensors along dimension 0, as ``self[0]``, ``self[1]``, ..."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    @property
    def requires_grad(self) -> bool:
        self._bring_view_up_to_date("requires_grad")
        return self._node.requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if not isinstance(value, (bool, np.bool_)):  # requires_grad="no" would be truthy
            raise TypeError(f"requires_grad must be True or False, got {value!r}")
        value = bool(value)
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad can only be changed on a leaf tensor; use .detach() to start a new leaf"
            )
        if value and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, not {self.data.dtype}")
        self._node.requires_grad = value

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (leaf tensors only) and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def _version(self) -> int:
        """How many times this tensor's memory (shared with its views) was changed in place."""
        return self._version_counter.value

    @property
    def is_leaf(self) -> bool:
        self._bring_view_up_to_date("is_leaf")
        return self._node.creator is None

    @property
    def grad_fn(self):
        """The Function that produced this tensor, or None for a leaf."""
        self._bring_view_up_to_date("grad_fn")
        return self._node.creator

    def _bring_view_up_to_date(self, where):
        """A view whose base was changed in place (recorded) since it was taken: its history now reads it
        from the base as it is (tinynet/functional/views.py); nothing for any other tensor."""
        if self._base is not None and self._view_rebased != self._version_counter.rebased and is_grad_enabled():
            self._refresh_view(where)

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

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: the data of a CPU tensor (a GPU tensor must be copied with .cpu() first)."""
        if self.device != "cpu":
            raise TypeError(f"can't convert a tensor on {self.device} to a NumPy array: copy it to the host first "
                            "with .cpu() (or .numpy(), which copies)")
        if copy:
            return self.data.astype(dtype or self.data.dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous: only a one-element tensor "
                "is True or False; reduce it first, e.g. bool((t > 0).sum() == t.numel())"
            )
        return bool(self.data)

    def __int__(self):
        return int(self.item())

    def __float__(self):
        return float(self.item())

    def __index__(self):
        """A one-element integer tensor as an index: ``range(t)``, ``a[t]``."""
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of one element can be used as an index, not {self.data.dtype}")
        return int(self.item())

    __hash__ = object.__hash__

    # --- gradients --------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) * grad into the ``.grad`` of every leaf that requires grad.

        Args:
            grad: array or Tensor of this tensor's shape: the gradient of the final
                scalar with respect to this tensor. May be omitted only when this
                tensor has one element (then it is 1).
            retain_graph: keep the arrays the ops saved, to call backward through
                this graph again (by default they are freed as backward goes).
        """
        self._bring_view_up_to_date("backward")
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
            if _is_array(g):
                _refuse_non_numbers(g, g, "backward(): grad")
            else:
                g = xp.asarray(as_number_array(g, "backward(): grad"), dtype=self.data.dtype)
            backend.check_same_device([self.data, g], "backward (output and grad)")
            if g.shape != self.data.shape:
                raise ValueError(f"backward(): grad has shape {tuple(g.shape)}, the output has shape {self.shape}")
            if g.dtype != self.data.dtype:
                g = g.astype(self.data.dtype)
        run_backward(self._node, g, retain_graph)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after ``backward()``."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._node.retains_grad = True

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` in each backward() once this leaf's ``.grad`` holds its whole gradient
        (every contribution of that backward added), as PyTorch's hook of the same name. Returns a handle
        whose ``remove()`` takes the hook off. Data parallelism starts a bucket's all-reduce from it."""
        if self._node.creator is not None or not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: only a leaf tensor that requires grad (a "
                               "parameter, or a tensor made with requires_grad=True) accumulates a .grad")
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {type(hook).__name__}")
        return add_grad_hook(self, hook)

    def zero_grad(self):
        """Clear the accumulated gradient (same as ``tensor.grad = None``)."""
        self.grad = None

    def detach(self):
        """A new leaf sharing this tensor's data (and its version counter), cut from the graph."""
        t = Tensor._wrap(self.data)
        t._version_counter = self._version_counter
        return t

    # --- devices and dtypes (differentiable) -------------------------------------
    def to(self, target):
        """Move to a device ("cpu", "cuda") or convert to a dtype ("float64", np.float32).

        Returns self if nothing changes. Gradients flow back through the move.
        """
        if target is None:  # NumPy would read None as float64
            raise TypeError("to(None): expected a device ('cpu' or 'cuda') or a dtype ('float32', 'float64')")
        kind, value = backend.device_or_dtype(target)
        if kind == "device":
            return self if value == self.device else _conversion.ToDevice(value)(self)
        value = number_dtype(value, f"to({target!r})")
        return self if value == self.data.dtype else _conversion.AsType(value)(self)

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

    def long(self):
        """As int64 (PyTorch's long), the dtype of index tensors."""
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def type(self, dtype=None):
        """With no argument, the type's name as PyTorch spells it, under tinynet: 'tinynet.FloatTensor'
        (float32), 'tinynet.LongTensor' (int64), 'tinynet.cuda.DoubleTensor' on a GPU, ...; with a dtype
        (or such a name, 'torch.' or 'tinynet.' in front), the tensor converted to it, as ``to(dtype)``."""
        return _conversion.tensor_type(self, dtype)

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

    def __floordiv__(self, other):
        return _binary.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _binary.floor_divide(other, self)

    def __mod__(self, other):
        return _binary.remainder(self, other)

    def __rmod__(self, other):
        return _binary.remainder(other, self)

    def maximum(self, other):
        return _binary.maximum(self, other)

    def minimum(self, other):
        return _binary.minimum(self, other)

    def remainder(self, other):
        return _binary.remainder(self, other)

    def floor_divide(self, other):
        return _binary.floor_divide(self, other)

    def nonzero(self, as_tuple=False):
        return _indexing.nonzero(self, as_tuple)

    def __pos__(self):
        return self

    def flip(self, *dims):
        return _rearrange.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts, dims=None):
        return _rearrange.roll(self, shifts, dims)

    def narrow(self, dim, start, length):
        return _rearrange.narrow(self, dim, start, length)

    def unbind(self, dim=0):
        return _rearrange.unbind(self, dim)

    def movedim(self, source, destination):
        return _rearrange.movedim(self, source, destination)

    def swapaxes(self, axis0, axis1):
        return _rearrange.swapaxes(self, axis0, axis1)

    swapdims = swapaxes

    def __neg__(self):
        return _arith.Neg()(self)

    def __pow__(self, exponent):
        return _arith.pow(self, exponent)

    def __rpow__(self, base):
        return _arith.pow(base, self)

    def pow(self, exponent):
        return _arith.pow(self, exponent)

    def __abs__(self):
        return _arith.abs(self)

    def __invert__(self):
        """~mask: logical not of a bool tensor (bitwise not of an integer one)."""
        return _arith.bitwise_not(self)

    def abs(self):
        return _arith.abs(self)

    def sqrt(self):
        return _arith.sqrt(self)

    def clamp(self, min=None, max=None):
        return _arith.clamp(self, min, max)

    clip = clamp

    def __matmul__(self, other):
        return _arith.matmul(self, other)

    def __rmatmul__(self, other):
        return _arith.matmul(other, self)

    def exp(self):
        return _arith.exp(self)

    # --- activations (the layer ops of tinynet.functional, as PyTorch's Tensor methods) -----------
    def relu(self):
        return _activation.relu(self)

    def tanh(self):
        return _activation.tanh(self)

    def sigmoid(self):
        return _activation.sigmoid(self)

    def softmax(self, dim):
        """Softmax along ``dim`` (required, as for PyTorch's ``Tensor.softmax``)."""
        return _loss.softmax(self, dim)

    def log_softmax(self, dim):
        return _loss.log_softmax(self, dim)

    def log(self):
        return _arith.log(self)

    # --- comparisons (no gradient; a bool tensor) ---------------------------------
    def _compare(self, other, symbol, op):
        # Something that is not numbers (a str, None) gives NotImplemented, as in PyTorch: Python then
        # raises "'<' not supported between instances of 'Tensor' and 'str'", and == / != compare identity.
        if isinstance(other, Tensor):
            other = other.data
        elif _is_array(other):
            if other.dtype.kind not in NUMBER_KINDS:
                return NotImplemented
        elif not isinstance(other, (bool, int, float, np.number, np.bool_)):
            try:
                other = as_number_array(other, symbol)  # nested lists of numbers
            except (TypeError, ValueError):
                return NotImplemented
        return Tensor._wrap(op(self.data, other))

    def __lt__(self, other):
        return self._compare(other, "<", lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, "<=", lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, ">", lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, ">=", lambda a, b: a >= b)

    def __eq__(self, other):
        return self._compare(other, "==", lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, "!=", lambda a, b: a != b)

    # The comparisons and the arithmetic under their method names (PyTorch's pred.eq(target).sum()).
    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return -self

    def matmul(self, other):
        return self @ other

    def all(self, dim=None, keepdim=False):
        """True where every element (along ``dim``) is nonzero: a bool tensor, outside the graph."""
        return _reduction.logical("all", self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        """True where some element (along ``dim``) is nonzero: a bool tensor, outside the graph."""
        return _reduction.logical("any", self, dim, keepdim)

    # --- reductions ----------------------------------------------------------------
    def sum(self, dim=None, keepdim=False):
        return _reduction.sum(self, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        """The mean over ``dim``; floating-point tensors only, as in PyTorch (convert with .float())."""
        return _reduction.mean(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        """The maximum (a tie's gradient split evenly); with ``dim``, a pair (values, indices) as in PyTorch."""
        return _reduction.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        """The minimum (a tie's gradient split evenly); with ``dim``, a pair (values, indices) as in PyTorch."""
        return _reduction.min(self, dim, keepdim)

    def amax(self, dim=(), keepdim=False):
        return _reduction.amax(self, dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        return _reduction.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _reduction.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _reduction.argmin(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """The variance over ``dim``, divisor N - correction (1 by default), as ``torch.var``."""
        return _reduction.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _reduction.std(self, dim, unbiased, keepdim, correction=correction)

    # --- shape -------------------------------------------------------------------------
    def view_as(self, other):
        """``self.view(other.shape)``."""
        return self.view(other.shape)

    def type_as(self, other):
        """This tensor in ``other``'s dtype."""
        return self.to(other.dtype)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _shape.Reshape(shape)(self)

    def view(self, *shape):
        """This tensor's memory seen with another shape (shared: a change to one shows in the other).

        Fails, as PyTorch's does, only where no view exists (the strides don't allow one); ``reshape``
        returns a view when it can and a copy otherwise.
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _shape.View(shape)(self)

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        """Swap two dimensions (PyTorch's meaning; see ``permute`` for a full reordering)."""
        return _shape.transpose(self, dim0, dim1)

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return _shape.Transpose(dims)(self)

    @property
    def T(self):
        return _shape.Transpose(tuple(reversed(range(self.ndim))))(self)

    def t(self):
        """The transpose of a matrix (at most 2 dimensions, as PyTorch)."""
        return _shape.t(self)

    def squeeze(self, dim=None):
        return _shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _shape.unsqueeze(self, dim)

    def expand(self, *sizes):
        """Broadcast to ``sizes`` (-1 keeps a dimension); the gradient sums over the copies."""
        return _shape.expand(self, *sizes)

    def expand_as(self, other):
        return _shape.expand_as(self, other)

    def repeat(self, *sizes):
        """Tile ``sizes[i]`` times along dimension i (PyTorch's repeat, NumPy's tile)."""
        return _shape.repeat(self, *sizes)

    def chunk(self, chunks, dim=0):
        return _join.chunk(self, chunks, dim)

    def split(self, split_size, dim=0):
        return _join.split(self, split_size, dim)

    def clone(self):
        return _shape.clone(self)

    def contiguous(self):
        return _shape.contiguous(self)

    # --- indexing, sorting ---------------------------------------------------------------
    def gather(self, dim, index):
        return _indexing.gather(self, dim, index)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return _indexing.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        return _indexing.scatter_add(self, dim, index, src)

    def masked_fill(self, mask, value):
        return _indexing.masked_fill(self, mask, value)

    def where(self, condition, other):
        """``self`` where ``condition`` is True, ``other`` elsewhere (``torch.where(condition, self, other)``)."""
        return _indexing.where(condition, self, other)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _indexing.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, *, stable=False):
        return _indexing.sort(self, dim, descending, stable=stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _indexing.argsort(self, dim, descending, stable)

    def __getitem__(self, key):
        return _shape.getitem(self, key)

    # --- in place (tinynet/functional/inplace.py: the version counter, and when a change is recorded) ---
    def __setitem__(self, key, value):
        _inplace.setitem(self, key, value)

    def add_(self, other, alpha=1):
        return _inplace.add_(self, other, alpha)

    def sub_(self, other, alpha=1):
        return _inplace.sub_(self, other, alpha)

    def mul_(self, other):
        return _inplace.mul_(self, other)

    def div_(self, other):
        return _inplace.div_(self, other)

    def __iadd__(self, other):
        return _inplace.add_(self, other)

    def __isub__(self, other):
        return _inplace.sub_(self, other)

    def __imul__(self, other):
        return _inplace.mul_(self, other)

    def __itruediv__(self, other):
        return _inplace.div_(self, other)

    def zero_(self):
        return _inplace.zero_(self)

    def fill_(self, value):
        return _inplace.fill_(self, value)

    def copy_(self, src):
        return _inplace.copy_(self, src)

    def clamp_(self, min=None, max=None):
        return _inplace.clamp_(self, min, max)

    def uniform_(self, a=0.0, b=1.0):
        return _inplace.uniform_(self, a, b)

    def normal_(self, mean=0.0, std=1.0):
        return _inplace.normal_(self, mean, std)

    def _refresh_view(self, op):
        """Give this view, whose base was changed in place in the graph since, a history from the base now."""
        _inplace.refresh_view(self, op)

    def relu_(self):
        return _inplace.apply_(self, "relu_", _activation.relu)

    def sigmoid_(self):
        return _inplace.apply_(self, "sigmoid_", _activation.sigmoid)

    def tanh_(self):
        return _inplace.apply_(self, "tanh_", _activation.tanh)

    def exp_(self):
        return _inplace.apply_(self, "exp_", _arith.exp)

    def masked_fill_(self, mask, value):
        return _inplace.apply_(self, "masked_fill_", lambda x: _indexing.masked_fill(x, mask, value))


# ---- The import knot, tied here and only here -------------------------------------------------
# Three parts need each other:
#   tinynet/autograd.py      Function wraps its outputs in Tensors; run_backward fills tensor.grad
#   tinynet/_tensor.py       Tensor records itself with autograd's Node; its operators run ops
#   tinynet/functional/*.py  the ops: Function subclasses that take and return Tensors
# Python can't run two files' top-level imports of each other, so the order is fixed:
#   1. tinynet/__init__.py imports autograd, which defines Node, run_backward and Function, and
#      as its last line imports this file (it needs the Tensor class only when an op runs);
#   2. this file defines Tensor and then, below, loads tinynet.functional, whose ops import
#      Function and Tensor, both complete by now.
# Every operator of Tensor is therefore a method above that calls an op from one of the modules
# imported below: `+` is Tensor.__add__ -> tinynet/functional/arithmetic.py's add.
from tinynet.functional import _util  # noqa: E402
from tinynet.functional import activation as _activation  # noqa: E402
from tinynet.functional import arithmetic as _arith  # noqa: E402
from tinynet.functional import binary as _binary  # noqa: E402
from tinynet.functional import conversion as _conversion  # noqa: E402
from tinynet.functional import indexing as _indexing  # noqa: E402
from tinynet.functional import join as _join  # noqa: E402
from tinynet.functional import inplace as _inplace  # noqa: E402
from tinynet.functional import loss as _loss  # noqa: E402
from tinynet.functional import rearrange as _rearrange  # noqa: E402
from tinynet.functional import reduction as _reduction  # noqa: E402
from tinynet.functional import shape as _shape  # noqa: E402
