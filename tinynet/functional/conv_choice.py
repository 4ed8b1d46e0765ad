"""Which algorithm computes a convolution: im2col, or Winograd's minimal filtering (tinynet/functional/winograd.py).

    "im2col"     every convolution (tinynet/functional/conv.py)
    "winograd"   F(2x2, 3x3) for 3x3 kernels, F(2x2, 5x5) for 5x5 ones: stride 1, no dilation
    "auto"       the fastest of the eligible ones for this convolution's shapes, timed once per shape (each
                 candidate's forward and backward, the best of two runs after one to warm up), as
                 cudnn.benchmark does; 3x3 kernels also try F(4x4, 3x3). Only float32 and float64 try Winograd:
                 its error grows with the transforms' entries, and in float16 that is past what a layer can take.

Every variant used by default stays within 10x of im2col's float32 error on AlexNet's layers (measured in
benchmarks/winograd.py; docs/winograd.md).

Two tables, per process, keyed by the shapes (``shape_key``): "auto"'s decisions (``load_choices`` adds to
them), and what each shape was computed with, fixed or chosen (``used()``). ``tinynet train`` starts each run
with both empty (``clear``), records ``used()`` in the checkpoint and the run folder, and on --resume loads
the checkpoint's as "auto"'s decisions, so a resumed run computes what the first one did, bit for bit.
"""
import re
import time

from kernels import workspace
from kernels.winograd import VARIANTS
from tinynet import backend
from tinynet.functional.conv import Conv2d
from tinynet.functional.winograd import WinogradConv2d, eligible

ALGORITHMS = ("auto", "im2col", "winograd")
IM2COL = "im2col"
_choices = {}  # shape key -> "auto"'s decision ("im2col" or "winograd F(2x2,3x3)", ...)
_used = {}  # shape key -> what computed it, whatever the algorithm asked for


def variant_name(m, r):
    return f"winograd F({m}x{m},{r}x{r})"


NAMES = (IM2COL,) + tuple(variant_name(m, r) for m, r in VARIANTS)
_VARIANT_OF = {variant_name(m, r): (m, r) for m, r in VARIANTS}


def shape_key(x, w, stride, padding, dilation, groups):
    """The tables' key: what decides the speed of a convolution (dtype, device, shapes, geometry)."""
    dims = "x".join
    return (f"{x.dtype} {backend.device_of(x)} input={dims(map(str, x.shape))} weight={dims(map(str, w.shape))} "
            f"stride={dims(map(str, stride))} padding={dims(map(str, padding))} dilation={dims(map(str, dilation))} "
            f"groups={groups}")


_KEY = re.compile(r"(float16|float32|float64) (cpu|cuda) input=\d+x\d+x\d+x\d+ weight=\d+x\d+x(\d+)x(\d+) "
                  r"stride=(\d+)x(\d+) padding=\d+x\d+ dilation=(\d+)x(\d+) groups=\d+")


def _can_compute(name, kernel, stride, dilation):
    """Whether algorithm ``name`` computes a convolution of this geometry."""
    return name == IM2COL or (name in _VARIANT_OF and _VARIANT_OF[name] in eligible(kernel, stride, dilation))


def resolve(algorithm, x, w, stride, padding, dilation, groups, input_grad=True):
    """The name of the algorithm ``algorithm`` ("auto", "im2col" or "winograd") means for this convolution
    (x, w arrays; stride, padding, dilation pairs; ``input_grad``: whether x's gradient is wanted, so timed),
    noted in ``used()``. ValueError for "winograd" where it can't compute it."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv2d: algorithm must be one of {', '.join(map(repr, ALGORITHMS))}, got {algorithm!r}")
    kernel = tuple(w.shape[2:])
    variants = eligible(kernel, stride, dilation, x.dtype)
    key = shape_key(x, w, stride, padding, dilation, groups)
    if algorithm == IM2COL:
        name = IM2COL
    elif algorithm == "winograd":
        if not variants:
            raise ValueError(f"conv2d: algorithm='winograd' computes square 3x3 or 5x5 kernels with stride 1 and "
                             f"dilation 1 on float arrays; got kernel {kernel[0]}x{kernel[1]}, stride {stride}, "
                             f"dilation {dilation}, {x.dtype}")
        name = variant_name(*variants[0])
    elif key in _choices:
        name = _choices[key]
        if not _can_compute(name, kernel, stride, dilation):  # check_table refuses such a table; a last guard
            raise ValueError(f"conv2d: the recorded algorithm {name!r} can't compute {key}")
    elif not variants or x.dtype.itemsize < 4:
        name = IM2COL
    else:
        candidates = [IM2COL] + [variant_name(*v) for v in variants]
        name = min(candidates, key=lambda c: _time(c, x, w, stride, padding, dilation, groups, input_grad))
        _choices[key] = name
        workspace.clear()  # the losers' buffers (the winner's come back at its next call)
    _used[key] = name
    return name


def make_op(name, stride, padding, dilation, groups):
    """The Function computing algorithm ``name`` (``resolve``'s answer)."""
    if name == IM2COL:
        return Conv2d(stride, padding, dilation, groups)
    if name in _VARIANT_OF:
        return WinogradConv2d(*_VARIANT_OF[name], padding, groups)
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
    """A copy of "auto"'s decisions: {shape key: algorithm name}."""
    return dict(_choices)


def used():
    """A copy of what computed each shape so far (fixed or chosen): {shape key: algorithm name}."""
    return dict(_used)


def check_table(table, where="conv_algorithms"):
    """ValueError naming ``where`` and the first bad entry unless ``table`` maps shape keys (``shape_key``'s
    form) to algorithms that can compute them."""
    if not isinstance(table, dict):
        raise ValueError(f"'{where}' must be a dict of shape key -> algorithm, got {type(table).__name__} "
                         f"{str(table)[:80]}")
    for key, name in table.items():
        found = _KEY.fullmatch(key) if isinstance(key, str) else None
        if found is None:
            raise ValueError(f"'{where}': {key!r} is not a shape key (such as 'float32 "
                             "cpu input=32x96x27x27 weight=256x96x5x5 stride=1x1 padding=2x2 dilation=1x1 groups=1')")
        kernel, stride, dilation = ((int(found[i]), int(found[i + 1])) for i in (3, 5, 7))
        if not isinstance(name, str) or name not in NAMES or not _can_compute(name, kernel, stride, dilation):
            raise ValueError(f"'{where}': {key!r} maps to {name!r}, which can't compute it (one of "
                             f"{', '.join(n for n in NAMES if _can_compute(n, kernel, stride, dilation))})")


def load_choices(table, where="conv_algorithms"):
    """Put earlier decisions (``used()``'s form, from a checkpoint) among "auto"'s, and among those used, so a
    run resumed twice still records a shape only its first part met (``check_table`` first)."""
    check_table(table, where)
    _choices.update(table)
    _used.update(table)


def clear():
    """Forget every decision and use (the next "auto" convolution of each shape is timed again)."""
    _choices.clear()
    _used.clear()
