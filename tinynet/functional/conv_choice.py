"""Which algorithm computes a convolution: im2col, or Winograd's minimal filtering (tinynet/functional/winograd.py).

    "im2col"     every convolution (tinynet/functional/conv.py)
    "winograd"   F(2x2, 3x3) for 3x3 kernels, F(2x2, 5x5) for 5x5 ones: stride 1, no dilation
    "auto"       the fastest of the eligible ones for this convolution's shapes, timed once per shape (each
                 candidate's forward and backward, the best of two runs after one to warm up), as
                 cudnn.benchmark does; 3x3 kernels also try F(4x4, 3x3). Only float32 and float64 try Winograd:
                 its error grows with the transforms' entries, and in float16 that is past what a layer can take.

Every variant used by default stays within 10x of im2col's float32 error on AlexNet's layers (measured in
benchmarks/winograd.py; docs/winograd.md). "auto"'s choices are kept per process in a table keyed by
the shapes (``choices()``); ``tinynet train`` records those of its layers in the checkpoint and the run folder
and loads them on --resume (``load_choices``), so a resumed run computes what the first one did, bit for bit.
"""
import time

from kernels.winograd import VARIANTS
from tinynet import backend
from tinynet.functional.conv import Conv2d
from tinynet.functional.winograd import WinogradConv2d, eligible

ALGORITHMS = ("auto", "im2col", "winograd")
IM2COL = "im2col"
_choices = {}  # shape key -> algorithm name ("im2col" or "winograd F(2x2,3x3)", ...)


def variant_name(m, r):
    return f"winograd F({m}x{m},{r}x{r})"


NAMES = (IM2COL,) + tuple(variant_name(m, r) for m, r in VARIANTS)


def shape_key(x, w, stride, padding, dilation, groups):
    """The table's key: what decides the speed of a convolution (dtype, device, shapes, geometry)."""
    dims = "x".join
    return (f"{x.dtype} {backend.device_of(x)} input={dims(map(str, x.shape))} weight={dims(map(str, w.shape))} "
            f"stride={dims(map(str, stride))} padding={dims(map(str, padding))} dilation={dims(map(str, dilation))} "
            f"groups={groups}")


def resolve(algorithm, x, w, stride, padding, dilation, groups, input_grad=True):
    """The name of the algorithm ``algorithm`` ("auto", "im2col" or "winograd") means for this convolution
    (x, w arrays; stride, padding, dilation pairs; ``input_grad``: whether x's gradient is wanted, so timed).
    ValueError for "winograd" where it can't compute it."""
    if algorithm == IM2COL:
        return IM2COL
    kernel = tuple(w.shape[2:])
    variants = eligible(kernel, stride, dilation, x.dtype)
    if algorithm == "winograd":
        if not variants:
            raise ValueError(f"conv2d: algorithm='winograd' computes square 3x3 or 5x5 kernels with stride 1 and "
                             f"dilation 1 on float arrays; got kernel {kernel[0]}x{kernel[1]}, stride {stride}, "
                             f"dilation {dilation}, {x.dtype}")
        return variant_name(*variants[0])
    if algorithm != "auto":
        raise ValueError(f"conv2d: algorithm must be one of {', '.join(map(repr, ALGORITHMS))}, got {algorithm!r}")
    if not variants or x.dtype.itemsize < 4:
        return IM2COL
    key = shape_key(x, w, stride, padding, dilation, groups)
    if key not in _choices:
        candidates = [IM2COL] + [variant_name(*v) for v in variants]
        _choices[key] = min(candidates, key=lambda name: _time(name, x, w, stride, padding, dilation, groups,
                                                                          input_grad))
    return _choices[key]


def make_op(name, stride, padding, dilation, groups):
    """The Function computing algorithm ``name`` (``resolve``'s answer)."""
    if name == IM2COL:
        return Conv2d(stride, padding, dilation, groups)
    for m, r in VARIANTS:
        if name == variant_name(m, r):
            return WinogradConv2d(m, r, padding, groups)
    raise ValueError(f"conv2d: unknown algorithm {name!r}; the algorithms are {', '.join(NAMES)}")


def _time(name, x, w, stride, padding, dilation, groups, input_grad, runs=2):
    """Seconds of the fastest of ``runs`` forward + backward passes of algorithm ``name`` (after one warm-up)."""
    xp = backend.get_array_module(x)
    best = float("inf")
    for k in range(runs + 1):
        op = make_op(name, stride, padding, dilation, groups)
        op.needs_input_grad = (input_grad, True)
        backend.synchronize(x)
        start = time.perf_counter()
        y = op.forward(x, w)
        op.backward(xp.ones_like(y))
        backend.synchronize(x)
        if k:
            best = min(best, time.perf_counter() - start)
    return best


def choices():
    """A copy of the table: {shape key: algorithm name}."""
    return dict(_choices)


def check_table(table, where="conv_algorithms"):
    """ValueError naming ``where`` unless ``table`` has ``choices()``'s form: {shape key: algorithm name}."""
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) and v in NAMES
                                              for k, v in table.items()):
        raise ValueError(f"'{where}' must map shape keys to one of {', '.join(NAMES)}, got {str(table)[:200]}")


def load_choices(table, where="conv_algorithms"):
    """Put earlier choices (``choices()``'s form, from a checkpoint) into the table (``check_table`` first)."""
    check_table(table, where)
    _choices.update(table)


def clear():
    """Forget every choice (the next "auto" convolution of each shape is timed again)."""
    _choices.clear()
