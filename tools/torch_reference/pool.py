"""PyTorch's pooling, stored for tests/functional/test_pool.py: python tools/torch_reference/pool.py

Writes tests/fixtures/torch_pool.npz. For every case of CASES below, in float64:

    <name>__x        the input
    <name>__y        F.<op>(x, **args)  (the output)
    <name>__indices  the indices (max pools, return_indices=True), int64
    <name>__gy       a random upstream gradient (cases with "grad")
    <name>__gx       the gradient of sum(y * gy) with respect to x

and ``cases``, a JSON list of {"name", "op", "args", "grad"}, so the test calls our op with the same
arguments; ``modules``, a JSON list of layers built with given arguments and their repr (for
tests/nn/test_pooling.py); ``refused``, a JSON list of arguments PyTorch rejects, with its message. The cases cover every option: dilation, ceil_mode (windows hanging past the edge),
padding, return_indices, count_include_pad, divisor_override, adaptive bins (overlapping, repeated,
None entries), unbatched inputs, ties, NaN, -inf windows and a window with no real cell.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

from _common import SEED, arr, save, t

rng = np.random.default_rng(SEED)


def tie_free(shape, offset=-0.5):
    """Distinct values 0.01 apart, mostly negative: no window holds a tie."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) + offset * n) * 0.01


def ties(shape):
    return rng.integers(-2, 3, size=shape).astype(np.float64)


def minus_inf_windows(shape):
    x = tie_free(shape)
    x[..., :2, :] = -np.inf  # the top windows' real cells are all -inf
    return x


def two_nans(shape):
    x = tie_free(shape)
    x[..., 0, 0] = np.nan
    x[..., 0, 2] = np.nan  # the same 3-wide window holds both: the last NaN wins it
    x[..., 3, 1] = np.nan
    return x


CASES = []


def case(name, op, shape_or_x, args, grad=True):
    x = tie_free(shape_or_x) if isinstance(shape_or_x, tuple) else shape_or_x
    CASES.append(dict(name=name, op=op, args=args, grad=grad, x=x))


# --- max_pool2d: F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)
MAX = [
    ("alexnet", (2, 3, 7, 7), dict(kernel_size=3, stride=2)),
    ("overlap_pad1", (1, 2, 5, 6), dict(kernel_size=3, stride=2, padding=1)),
    ("non_square", (2, 2, 5, 7), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))),
    ("stride_default", (1, 2, 6, 6), dict(kernel_size=2)),
    ("dilation2", (1, 2, 9, 8), dict(kernel_size=3, stride=1, padding=1, dilation=2)),
    ("dilation_pairs", (2, 1, 10, 9), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(2, 3))),
    ("ceil", (1, 2, 8, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("ceil_pad", (1, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("ceil_k2_odd", (1, 2, 5, 5), dict(kernel_size=2, stride=2, ceil_mode=True)),
    ("ceil_stride_over_kernel", (1, 1, 7, 8), dict(kernel_size=2, stride=3, ceil_mode=True)),
    ("ceil_dilation", (1, 1, 9, 10), dict(kernel_size=2, stride=3, padding=1, dilation=2, ceil_mode=True)),
    ("ceil_window_over_input", (1, 1, 2, 2), dict(kernel_size=3, ceil_mode=True)),
    ("unbatched", (3, 7, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("unbatched_dilation", (2, 6, 5), dict(kernel_size=2, stride=1, dilation=2)),
]
for name, shape, args in MAX:
    case(f"max_{name}", "max_pool2d", shape, args)
case("max_ties", "max_pool2d", ties((1, 2, 4, 5)), dict(kernel_size=3, stride=1, padding=1))
case("max_minus_inf", "max_pool2d", minus_inf_windows((1, 1, 5, 5)), dict(kernel_size=2, stride=2, padding=1))
case("max_minus_inf_dilation", "max_pool2d", minus_inf_windows((1, 1, 6, 5)),
     dict(kernel_size=2, stride=1, padding=1, dilation=2))
case("max_nan", "max_pool2d", two_nans((1, 1, 5, 6)), dict(kernel_size=3, stride=3))
# Taps at -1 and 2 of a 2x2 plane: a window with no real cell. PyTorch returns -inf and an index
# past the plane; its backward then writes into the next plane, so no gradient is stored.
case("max_no_real_cell", "max_pool2d", (1, 2, 2, 2), dict(kernel_size=2, stride=1, padding=1, dilation=3),
     grad=False)

# --- avg_pool2d: every combination of ceil_mode, count_include_pad and divisor_override per geometry
GEOMETRIES = [
    ("k3s2p1", (1, 2, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ("k2s2p1", (2, 1, 5, 5), dict(kernel_size=2, stride=2, padding=1)),  # ceil: last windows hang out
    ("k3s2p0", (1, 1, 4, 4), dict(kernel_size=3, stride=2)),  # ceil: hangs past an unpadded edge
    ("k3_over_input", (1, 1, 2, 2), dict(kernel_size=3)),  # ceil: the one window is larger than x
    ("non_square", (1, 2, 6, 9), dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))),
    ("stride_default", (2, 2, 6, 7), dict(kernel_size=2)),
    ("unbatched", (3, 5, 5), dict(kernel_size=3, stride=2, padding=1)),
]
for name, shape, geometry in GEOMETRIES:
    for ceil_mode in (False, True):
        for count_include_pad in (True, False):
            for divisor_override in (None, 3, -2):
                if ceil_mode is False and name == "k3_over_input":
                    continue  # no window fits
                args = dict(geometry, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                            divisor_override=divisor_override)
                tag = f"{'ceil' if ceil_mode else 'floor'}_{'pad' if count_include_pad else 'nopad'}_" \
                      f"{'div' + str(divisor_override) if divisor_override is not None else 'count'}"
                case(f"avg_{name}_{tag}", "avg_pool2d", shape, args)

# --- adaptive pools
ADAPTIVE = [
    ("13_to_6", (1, 2, 13, 13), (6, 6)),
    ("7x5_to_3x4", (2, 1, 7, 5), (3, 4)),  # overlapping bins
    ("2x3_to_5x4", (1, 1, 2, 3), (5, 4)),  # more outputs than inputs: cells repeat
    ("global", (1, 2, 10, 9), (1, 1)),
    ("none_w", (3, 7, 5), (None, 2)),  # unbatched, keep W
    ("none_h", (1, 1, 6, 8), (4, None)),
    ("int", (2, 6, 6), 4),
]
for name, shape, size in ADAPTIVE:
    for op in ("adaptive_max_pool2d", "adaptive_avg_pool2d"):
        case(f"{op}_{name}", op, shape, dict(output_size=list(size) if isinstance(size, tuple) else size))
case("adaptive_max_pool2d_ties", "adaptive_max_pool2d", ties((1, 2, 7, 6)), dict(output_size=[3, 4]))
case("adaptive_max_pool2d_nan", "adaptive_max_pool2d", two_nans((1, 1, 5, 6)), dict(output_size=[2, 2]))


def run(c):
    x = t(c["x"], c["grad"])
    args = dict(c["args"])
    if "output_size" in args and isinstance(args["output_size"], list):
        args["output_size"] = tuple(args["output_size"])
    out = {"x": c["x"]}
    if c["op"] in ("max_pool2d", "adaptive_max_pool2d"):
        y, indices = getattr(F, c["op"])(x, return_indices=True, **args)
        out["indices"] = arr(indices)
    else:
        y = getattr(F, c["op"])(x, **args)
    out["y"] = arr(y)
    if c["grad"]:
        gy = rng.standard_normal(tuple(y.shape))
        y.backward(t(gy))
        out["gy"], out["gx"] = gy, arr(x.grad)
    return out


# --- the layers' reprs: (class name, positional args, keyword args) -> repr(torch.nn.<class>(...)).
# Pairs are tuples (JSON stores them as lists; the test turns every list back into a tuple).
MODULES = [
    ("MaxPool2d", [3], {}),
    ("MaxPool2d", [3, 2], {}),
    ("MaxPool2d", [(3, 2), (2, 1), (1, 1), 2, True, True], {}),
    ("MaxPool2d", [2], dict(ceil_mode=True, dilation=(1, 2))),
    ("AvgPool2d", [3], {}),
    ("AvgPool2d", [3, 2, 1, True, False, 2], {}),
    ("AvgPool2d", [(2, 3)], dict(padding=(1, 0), divisor_override=-3)),
    ("AdaptiveMaxPool2d", [6], {}),
    ("AdaptiveMaxPool2d", [(None, 3)], dict(return_indices=True)),
    ("AdaptiveAvgPool2d", [(6, 6)], {}),
    ("AdaptiveAvgPool2d", [(None, 2)], {}),
]
reprs = [dict(cls=cls, args=args, kwargs=kwargs, repr=repr(getattr(torch.nn, cls)(*args, **kwargs)))
         for cls, args, kwargs in MODULES]

# --- arguments PyTorch refuses: (op, input shape, args) -> its error message. Padding is checked
# against half the kernel size, not half the dilated span; an output that would be empty is an error.
REFUSED = [
    ("max_pool2d", (1, 1, 9, 9), dict(kernel_size=3, stride=1, padding=2, dilation=2)),
    ("max_pool2d", (1, 1, 5, 5), dict(kernel_size=3, stride=1, padding=2)),
    ("max_pool2d", (1, 1, 2, 2), dict(kernel_size=3, stride=1, ceil_mode=True)),
    ("max_pool2d", (1, 1, 4, 4), dict(kernel_size=3, dilation=2)),
    ("avg_pool2d", (1, 1, 5, 5), dict(kernel_size=2, padding=2)),
    ("avg_pool2d", (1, 1, 2, 2), dict(kernel_size=3)),
    ("avg_pool2d", (1, 1, 5, 5), dict(kernel_size=2, divisor_override=0)),
]
refused = []
for op, shape, args in REFUSED:
    try:
        getattr(F, op)(torch.zeros(shape, dtype=torch.float64), **args)
    except RuntimeError as e:
        refused.append(dict(op=op, shape=shape, args=args, error=str(e).splitlines()[0]))
    else:
        raise SystemExit(f"PyTorch accepts {op}{shape} {args}: move it to CASES")

arrays = {"modules": np.array(json.dumps(reprs)), "refused": np.array(json.dumps(refused))}
for c in CASES:
    for key, value in run(c).items():
        arrays[f"{c['name']}__{key}"] = np.ascontiguousarray(value)
arrays["cases"] = np.array(json.dumps([{k: c[k] for k in ("name", "op", "args", "grad")} for c in CASES]))
save("pool", arrays)
