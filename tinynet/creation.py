"""Tensor factories, with PyTorch's names, argument orders, defaults and dtype rules.

    zeros(2, 3)  ones((2, 3))  empty(4)  full((2, 3), 7)  eye(3)  arange(0, 1, 0.25)  linspace(0, 1, 5)
    rand(2, 3)  randn(2, 3)  randint(10, (2, 3))  randint(5, 10, (4,))  randperm(8)
    zeros_like(t) ... randint_like(t, 10)     as_tensor(data)  from_numpy(ndarray)

Sizes are varargs or one tuple/list: ``zeros(2, 3)`` is ``zeros((2, 3))``; ``zeros(())`` is 0-d.
Every factory takes ``dtype=``, ``device=`` ("cpu" by default, or "cuda") and ``requires_grad=``
(floating dtypes only) as keywords. Without ``dtype`` (see docs/creation_and_saving.md):

    zeros, ones, empty, eye, rand, randn, linspace     float32 (get_default_dtype())
    full(size, v)        bool for a bool v, int64 for an int, float32 for a float, complex64 for a complex
    arange(...)          int64 if start, end and step are all ints, else float32
    randint, randperm    int64
    *_like(t)            t's dtype (and t's device)

The random factories draw from the generators ``tinynet.manual_seed`` seeds: NumPy's (backend.host_rng())
for "cpu" and CuPy's for "cuda" (tinynet/backend.py, random_uniform / random_normal / random_integers /
random_permutation), so the same seed gives the same numbers on a device.

Each bad argument is an error whose message starts with the function's name ("tinynet.zeros: ...") and
says what was expected and what was given: TypeError for the wrong kind of value (a float size, a str
fill value, a dtype that is not one), ValueError for a value out of range (a negative size, high <= low),
DeviceError for a device tinynet doesn't know or this machine doesn't have.
"""
import math
import numbers

import numpy as np

from tinynet import backend
from tinynet._tensor import NUMBER_KINDS, Tensor, number_dtype
from tinynet.dtypes import get_default_dtype
from tinynet.validate import is_int

__all__ = [
    "as_tensor", "from_numpy",
    "zeros", "ones", "empty", "full", "eye", "arange", "linspace",
    "rand", "randn", "randint", "randperm",
    "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like",
]

_INT64 = np.iinfo(np.int64)
MAX_ELEMENTS = 2**60  # beyond, NumPy can't even describe the array (its byte count passes 2**63)


def _shown(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _given(value):
    """How an error message shows a wrong value: its type and its repr ("float 2.5")."""
    return f"{type(value).__name__} {_shown(value)}"


# --- the arguments every factory shares ------------------------------------------------------------
def _size(where, args):
    """The shape from ``size`` varargs: ``(2, 3)`` from ``(2, 3)`` or ``((2, 3),)``; each dim an int >= 0."""
    example = f"e.g. {where.rsplit('.', 1)[-1]}(2, 3) or {where.rsplit('.', 1)[-1]}((2, 3))"
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        dims = tuple(args[0])
    elif not args:
        raise TypeError(f"{where}: expected a size, {example} (() for a 0-d tensor), got none")
    else:
        dims = args
    for i, d in enumerate(dims):
        if not is_int(d):
            raise TypeError(f"{where}: size must be ints, {example}; got {_given(d)} at dimension {i} "
                            f"of {_shown(dims)}")
        if d < 0:
            raise ValueError(f"{where}: size must be ints >= 0, got {d} at dimension {i} of {_shown(dims)}")
    dims = tuple(int(d) for d in dims)
    _check_elements(where, f"size {_shown(dims)}", math.prod(dims))
    return dims


def _check_elements(where, what, n):
    if n > MAX_ELEMENTS:
        raise ValueError(f"{where}: {what} would have {n:.3g} elements, more than an array can hold "
                         f"({MAX_ELEMENTS:.3g})")


def _dtype(where, dtype, default=None):
    """``dtype`` as a NumPy dtype of numbers (``default`` when None)."""
    return number_dtype(default if dtype is None else dtype, where)


def _float_dtype(where, dtype, default=None):
    """``dtype`` (``default`` when None) as a floating-point NumPy dtype, for the random floats."""
    dt = _dtype(where, dtype, default)
    if dt.kind != "f":
        raise TypeError(f"{where}: dtype must be floating point (float16, float32, float64), got {dt}")
    return dt


def _device(where, device, default="cpu"):
    """"cpu" or "cuda" (``default`` when None); CuPy and a GPU are checked for "cuda"."""
    return backend.device_arg(where, device, default, expected="'cpu' or 'cuda'", shown=_given)


def _xp(device):
    return np if device == "cpu" else backend.cupy_or_raise()


def _leaf(where, array, requires_grad):
    """A new leaf Tensor wrapping ``array``; ``requires_grad`` must be a bool, True only for floats."""
    if not isinstance(requires_grad, (bool, np.bool_)):
        raise TypeError(f"{where}: requires_grad must be True or False, got {_given(requires_grad)}")
    t = Tensor._wrap(array)
    if requires_grad:
        if array.dtype.kind not in "fc":
            raise TypeError(f"{where}: only floating-point tensors can require gradients, got requires_grad=True "
                            f"with dtype {array.dtype}")
        t.requires_grad = True
    return t


def _input(where, input):
    if not isinstance(input, Tensor):
        name = where.rsplit(".", 1)[-1].removesuffix("_like")
        raise TypeError(f"{where}: input must be a Tensor, got {_given(input)} (for an array a, use "
                        f"{name}(a.shape, ...) or tinynet.as_tensor(a) first)")
    return input


def _real(where, name, value):
    """A finite real number (a bool is not one); TypeError or ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number (int or float), got {_given(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return value


def _count(where, name, value):
    """An int >= 0 (steps, n, m)."""
    if not is_int(value):
        raise TypeError(f"{where}: {name} must be an int >= 0, got {_given(value)}")
    if value < 0:
        raise ValueError(f"{where}: {name} must be an int >= 0, got {value}")
    return int(value)


# --- from data ---------------------------------------------------------------------------------------
def as_tensor(data, dtype=None, device=None):
    """``data`` as a Tensor, sharing its memory where possible, as ``torch.as_tensor``.

    A Tensor of the asked dtype and device is returned itself; one of another dtype or device is
    converted as ``data.to(...)`` (differentiable). An ndarray (NumPy or CuPy) is wrapped without a copy
    when its dtype and device already fit, so writes to one show in the other. Anything else (a number,
    nested lists) is copied into a new array: Python floats become float32, ints int64, bools bool.
    """
    where = "tinynet.as_tensor"
    dt = None if dtype is None else _dtype(where, dtype)
    dev = None if device is None else _device(where, device)
    if isinstance(data, Tensor):
        out = data if dev is None else data.to(dev)
        return out if dt is None else out.to(dt)
    try:
        return Tensor(data, dtype=dt, device=dev)
    except (TypeError, ValueError) as e:  # Tensor's own message, naming this function
        raise type(e)(f"{where}: {str(e).removeprefix('Tensor: ')}") from None


def from_numpy(ndarray):
    """A Tensor sharing the memory of NumPy array ``ndarray`` (same dtype, shape and strides), as
    ``torch.from_numpy``: writes to either show in the other. Only a ``numpy.ndarray`` of numbers or
    bools is accepted (a list, a CuPy array, an array of strings or objects is a TypeError)."""
    where = "tinynet.from_numpy"
    if not isinstance(ndarray, np.ndarray):
        hint = " (use tinynet.as_tensor for a CuPy array)" if backend.is_cupy_array(ndarray) else \
            " (use tinynet.tensor or tinynet.as_tensor for other data)"
        raise TypeError(f"{where}: expected a numpy.ndarray, got {type(ndarray).__name__}{hint}")
    if ndarray.dtype.kind not in NUMBER_KINDS or ndarray.dtype.fields is not None:
        raise TypeError(f"{where}: the array must hold numbers (bool, int, float, complex), got dtype "
                        f"{ndarray.dtype}")
    # A subclass (np.matrix, a masked array) is seen as a plain ndarray over the same memory: a matrix's *
    # would otherwise be a matrix product inside the ops.
    return Tensor._wrap(ndarray if type(ndarray) is np.ndarray else ndarray.view(np.ndarray))


# --- filled with one value ---------------------------------------------------------------------------
def _filled(where, fill, shape, dtype, device, requires_grad):
    xp = _xp(device)
    if fill == "empty":
        array = xp.empty(shape, dtype=dtype)
    elif fill == 0:
        array = xp.zeros(shape, dtype=dtype)
    else:
        array = xp.ones(shape, dtype=dtype)
    return _leaf(where, array, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros of ``size`` (varargs or one tuple/list); float32 unless ``dtype``."""
    where = "tinynet.zeros"
    return _filled(where, 0, _size(where, size), _dtype(where, dtype, get_default_dtype()),
                   _device(where, device), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones of ``size`` (varargs or one tuple/list); float32 unless ``dtype``."""
    where = "tinynet.ones"
    return _filled(where, 1, _size(where, size), _dtype(where, dtype, get_default_dtype()),
                   _device(where, device), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of ``size`` (its values are whatever the memory held); float32 unless ``dtype``."""
    where = "tinynet.empty"
    return _filled(where, "empty", _size(where, size), _dtype(where, dtype, get_default_dtype()),
                   _device(where, device), requires_grad)


def _fill_dtype(where, fill_value):
    """PyTorch's dtype for ``full(size, fill_value)``: bool, int64, float32 (the default) or complex64."""
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(fill_value, numbers.Real):
        return get_default_dtype()
    if isinstance(fill_value, numbers.Complex):
        return np.dtype(np.complex64)
    raise TypeError(f"{where}: fill_value must be a number (bool, int, float), got {_given(fill_value)}")


def _fill_scalar(where, fill_value, dtype):
    """``fill_value`` converted to ``dtype`` as PyTorch does (a float truncated toward zero for an int dtype,
    any number true unless 0 for bool), refusing what does not fit: NaN or inf for an int dtype, an int
    beyond the dtype's range, a finite float beyond float16's, a complex for a real dtype."""
    _fill_dtype(where, fill_value)  # a number at all
    if dtype.kind == "b":
        return np.bool_(fill_value != 0)
    if isinstance(fill_value, numbers.Complex) and not isinstance(fill_value, numbers.Real):
        if dtype.kind != "c":
            raise TypeError(f"{where}: fill_value {fill_value!r} is complex, dtype {dtype} is not")
        return dtype.type(fill_value)
    if dtype.kind in "iu":
        if isinstance(fill_value, numbers.Integral):
            value = int(fill_value)
        elif not math.isfinite(fill_value):
            raise ValueError(f"{where}: fill_value {fill_value!r} can't be held by dtype {dtype}")
        else:
            value = int(fill_value)  # toward zero, as PyTorch: 2.7 -> 2, -2.7 -> -2
        info = np.iinfo(dtype)
        if not info.min <= value <= info.max:
            raise ValueError(f"{where}: fill_value {fill_value!r} does not fit dtype {dtype} "
                             f"({info.min} to {info.max})")
        return dtype.type(value)
    try:
        value = float(fill_value)
    except OverflowError:  # an int of hundreds of digits
        raise ValueError(f"{where}: fill_value {_shown(fill_value)} does not fit dtype {dtype}") from None
    with np.errstate(over="ignore"):
        converted = dtype.type(value)
    if math.isfinite(value) and not np.isfinite(converted):
        raise ValueError(f"{where}: fill_value {fill_value!r} does not fit dtype {dtype} (largest "
                         f"{np.finfo(dtype).max})")
    return converted


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` (a tuple or list, as in PyTorch) filled with ``fill_value``.

    Without ``dtype``, the dtype follows the fill value: bool -> bool, int -> int64, float -> float32,
    complex -> complex64. With ``dtype``, the value is converted as PyTorch does (2.7 -> 2 for an int
    dtype); a value the dtype can't hold (NaN for an int dtype, 300 for uint8) is a ValueError.
    """
    where = "tinynet.full"
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{where}: size must be a tuple or list of ints such as (2, 3), got {_given(size)}")
    shape = _size(where, (size,))
    dt = _fill_dtype(where, fill_value) if dtype is None else _dtype(where, dtype)
    value = _fill_scalar(where, fill_value, dt)
    return _leaf(where, _xp(_device(where, device)).full(shape, value, dtype=dt), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """An n x m matrix (m = n by default) with ones on the diagonal; float32 unless ``dtype``."""
    where = "tinynet.eye"
    n = _count(where, "n", n)
    m = n if m is None else _count(where, "m", m)
    xp = _xp(_device(where, device))
    return _leaf(where, xp.eye(n, m, dtype=_dtype(where, dtype, get_default_dtype())), requires_grad)


# --- ranges ------------------------------------------------------------------------------------------
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """The values start, start + step, ... short of ``end``, as ``torch.arange``: ``arange(end)`` or
    ``arange(start, end, step=1)``.

    There are ceil((end - start) / step) values, each start + i * step (computed in float64, then
    converted). Without ``dtype``: int64 if start, end and step are all ints, else float32. With an int
    ``dtype``, start, end and step are truncated to ints first, as PyTorch does. step must be nonzero and
    point from start toward end (or start == end: no values).
    """
    where = "tinynet.arange"
    if end is None:
        start, end = 0, start
    for name, value in (("start", start), ("end", end), ("step", step)):
        _real(where, name, value)
    all_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = _dtype(where, dtype, np.int64 if all_int else get_default_dtype())
    if dt.kind in "biu":
        start, end, step = int(start), int(end), int(step)
        for name, value in (("start", start), ("end", end), ("step", step)):
            if not _INT64.min <= value <= _INT64.max:
                raise ValueError(f"{where}: {name} {value} lies outside int64's range")
    if step == 0:
        raise ValueError(f"{where}: step must be nonzero, got {step!r}")
    if (end - start) * step < 0:
        raise ValueError(f"{where}: step {step!r} points away from end: start={start!r}, end={end!r} "
                         f"(step must be {'> 0' if end > start else '< 0'})")
    if all(isinstance(v, numbers.Integral) for v in (start, end, step)):
        n = -(-(int(end) - int(start)) // int(step))  # an exact ceiling for ints
    else:
        try:
            span = (float(end) - float(start)) / float(step)
        except OverflowError:  # an int too large for a float
            span = math.inf
        n = math.ceil(span) if math.isfinite(span) else math.inf
    _check_elements(where, f"arange({start!r}, {end!r}, {step!r})", n)
    xp = _xp(_device(where, device))
    if dt.kind in "biu":  # start, end and step are ints by now
        values = start + step * xp.arange(n, dtype=np.int64)
    else:
        values = float(start) + float(step) * xp.arange(n, dtype=np.float64)
    return _leaf(where, values.astype(dt, copy=False), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` values evenly spaced from ``start`` to ``end`` (both included), as ``torch.linspace``.

    With s = (end - start) / (steps - 1), value i is start + i * s in the first half and
    end - (steps - 1 - i) * s in the second (PyTorch's formula, symmetric, so the last value is ``end``
    exactly). start, end and s are rounded to ``dtype`` (float32 by default, even for int start and end;
    float64 for an int dtype), each value is computed from them in float64 and rounded once (PyTorch's
    values, pinned by tests/test_creation.py), and for an int dtype truncated toward zero. steps is an
    int >= 0; steps=1 gives [start].
    """
    where = "tinynet.linspace"
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{where}: {name} must be a real number (int or float), got {_given(value)}")
    steps = _count(where, "steps", steps)
    _check_elements(where, f"steps={steps}", steps)
    dt = _dtype(where, dtype, get_default_dtype())
    for name, value in (("start", start), ("end", end)):
        try:
            float(value)
        except OverflowError:
            raise ValueError(f"{where}: {name} {_shown(value)} is too large for a float") from None
    if dt.kind in "biu" and not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"{where}: start and end must be finite for dtype {dt}, got {start!r} and {end!r}")
    xp = _xp(_device(where, device))
    work = dt if dt.kind == "f" else np.dtype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or inf bounds give NaN or inf, as in PyTorch
        first, last = work.type(start), work.type(end)
        step = float((last - first) / work.type(max(steps - 1, 1)))
        i = xp.arange(steps, dtype=np.float64)
        values = xp.where(i < steps // 2, float(first) + step * i, float(last) - step * (steps - 1 - i))
        if steps == 1:  # PyTorch gives start, where the formula would give end
            values = xp.full(1, float(first))
        if dt.kind in "iu":
            values = xp.trunc(values)
        out = values.astype(dt)
    return _leaf(where, out, requires_grad)


# --- random ------------------------------------------------------------------------------------------
def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples from [0, 1) of ``size``; float32 unless ``dtype`` (a float dtype)."""
    where = "tinynet.rand"
    shape, dt = _size(where, size), _float_dtype(where, dtype, get_default_dtype())
    return _leaf(where, backend.random_uniform(shape, dt, _device(where, device)), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples (mean 0, variance 1) of ``size``; float32 unless ``dtype`` (a float dtype)."""
    where = "tinynet.randn"
    shape, dt = _size(where, size), _float_dtype(where, dtype, get_default_dtype())
    return _leaf(where, backend.random_normal(shape, dt, _device(where, device)), requires_grad)


def _bounds(where, args, low, high, usage):
    """(low, high) from ``randint``'s positional ``args`` ((high,) or (low, high)) and keywords."""
    if len(args) > 2:
        raise TypeError(f"{where}: expected {usage}, got {len(args)} numbers before the size")
    names = ("low", "high") if len(args) == 2 else ("low",) if (len(args) == 1 and high is not None) else \
        ("high",) if args else ()
    given = dict(zip(names, args))
    if "low" in given and low is not None or "high" in given and high is not None:
        raise TypeError(f"{where}: got low or high both as a positional and as a keyword argument")
    low, high = given.get("low", low), given.get("high", high)
    if high is None:
        raise TypeError(f"{where}: expected {usage}, high is missing")
    low = 0 if low is None else low
    for name, value in (("low", low), ("high", high)):
        if not is_int(value):
            raise TypeError(f"{where}: {name} must be an int, got {_given(value)}")
    if not low < high:
        raise ValueError(f"{where}: expected low < high, got low={low} and high={high}")
    if low < _INT64.min or high - 1 > _INT64.max:
        raise ValueError(f"{where}: low and high - 1 must lie in int64's range, got low={low} and high={high}")
    return int(low), int(high)


def _check_bounds_fit(where, low, high, dt):
    """The values [low, high) must be ones ``dt`` holds exactly (0 and 1 for bool)."""
    if dt.kind == "b":
        lo, hi = 0, 1
    elif dt.kind in "iu":
        lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
    else:
        return
    if low < lo or high - 1 > hi:
        raise ValueError(f"{where}: values from {low} to {high - 1} don't fit dtype {dt} ({lo} to {hi})")


def randint(*args, low=None, high=None, size=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high), of ``size`` (a tuple or list), as ``torch.randint``:
    ``randint(high, size)`` or ``randint(low, high, size)`` (low = 0 by default); int64 unless ``dtype``."""
    where = "tinynet.randint"
    usage = "randint(high, size) or randint(low, high, size) with size a tuple such as (2, 3)"
    args = list(args)
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            got = f"{_given(args[-1])} last" if args else "no arguments"
            raise TypeError(f"{where}: expected {usage}, got {got}")
        size = args.pop()
    elif not isinstance(size, (tuple, list)):
        raise TypeError(f"{where}: size must be a tuple or list of ints such as (2, 3), got {_given(size)}")
    shape = _size(where, (size,))
    low, high = _bounds(where, args, low, high, usage)
    dt = _dtype(where, dtype, np.int64)
    _check_bounds_fit(where, low, high, dt)
    return _leaf(where, backend.random_integers(low, high, shape, dt, _device(where, device)), requires_grad)


def randperm(n, *, dtype=None, device=None, requires_grad=False):
    """A random ordering of 0, 1, ..., n-1; int64 unless ``dtype``."""
    where = "tinynet.randperm"
    n = _count(where, "n", n)
    dt = _dtype(where, dtype, np.int64)
    _check_bounds_fit(where, 0, max(n, 1), dt)
    values = backend.random_permutation(n, _device(where, device))
    return _leaf(where, values.astype(dt, copy=False), requires_grad)


# --- shaped like another tensor ----------------------------------------------------------------------
def _like(where, input, dtype, device):
    """(shape, dtype, device) of a new tensor like ``input``, with ``dtype`` and ``device`` overriding."""
    input = _input(where, input)
    return input.shape, _dtype(where, dtype, input.dtype), _device(where, device, input.device)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    """Zeros of ``input``'s shape, dtype and device (``dtype``/``device`` override them)."""
    where = "tinynet.zeros_like"
    return _filled(where, 0, *_like(where, input, dtype, device), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    """Ones of ``input``'s shape, dtype and device (``dtype``/``device`` override them)."""
    where = "tinynet.ones_like"
    return _filled(where, 1, *_like(where, input, dtype, device), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of ``input``'s shape, dtype and device."""
    where = "tinynet.empty_like"
    return _filled(where, "empty", *_like(where, input, dtype, device), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` in ``input``'s shape, dtype and device: the dtype is input's (2.5 in an int64 tensor
    is 2, as in PyTorch), not inferred from the value."""
    where = "tinynet.full_like"
    shape, dt, dev = _like(where, input, dtype, device)
    value = _fill_scalar(where, fill_value, dt)
    return _leaf(where, _xp(dev).full(shape, value, dtype=dt), requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) samples of ``input``'s shape, dtype (a float dtype) and device."""
    where = "tinynet.rand_like"
    shape, dt, dev = _like(where, input, dtype, device)
    dt = _float_dtype(where, dt)
    return _leaf(where, backend.random_uniform(shape, dt, dev), requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False):
    """Standard normal samples of ``input``'s shape, dtype (a float dtype) and device."""
    where = "tinynet.randn_like"
    shape, dt, dev = _like(where, input, dtype, device)
    dt = _float_dtype(where, dt)
    return _leaf(where, backend.random_normal(shape, dt, dev), requires_grad)


def randint_like(input, *args, low=None, high=None, dtype=None, device=None, requires_grad=False):
    """Integers from [low, high) in ``input``'s shape, dtype and device: ``randint_like(t, high)`` or
    ``randint_like(t, low, high)``, as ``torch.randint_like``."""
    where = "tinynet.randint_like"
    shape, dt, dev = _like(where, input, dtype, device)
    low, high = _bounds(where, args, low, high, "randint_like(input, high) or randint_like(input, low, high)")
    _check_bounds_fit(where, low, high, dt)
    return _leaf(where, backend.random_integers(low, high, shape, dt, dev), requires_grad)
