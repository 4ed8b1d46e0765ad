"""Small helpers shared by the ops in tinynet.functional (no autograd here)."""
import numpy as np

from tinynet import backend
from tinynet.tensor import Tensor


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


def check_same_dtype(op: str, **arrays):
    """Raise TypeError if the named arrays (None ignored) don't share one dtype.

    A float64 input to a float32 layer would otherwise run the whole network in
    float64 (NumPy promotes), at twice the memory, without anyone noticing.
    """
    named = {k: a for k, a in arrays.items() if a is not None}
    dtypes = {a.dtype for a in named.values()}
    if len(dtypes) > 1:
        listed = ", ".join(f"{k} {a.dtype}" for k, a in named.items())
        raise TypeError(
            f"{op}: inputs must have one dtype, got {listed}; convert the input with .float() or "
            ".double() (or the model with .to(dtype))"
        )


def pair(value, name: str, op: str):
    """Turn an int or a 2-sequence of ints into a (h, w) pair, with a clear error otherwise."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    try:
        h, w = value
        return int(h), int(w)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}") from None


def as_tensor(x, like: Tensor) -> Tensor:
    """``x`` as a Tensor on ``like``'s device; a Python number takes ``like``'s float dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float, np.number)):
        xp = backend.get_array_module(like.data)
        if like.dtype.kind == "f":
            dtype = like.dtype
        else:
            dtype = np.float32 if isinstance(x, float) else like.dtype
        return Tensor._wrap(xp.asarray(x, dtype=dtype))
    return Tensor(x)


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
