"""PyTorch's Tensor API ops, stored for tests/test_tensor_methods.py and tests/functional/test_{shape,join,
indexing,reduction,arithmetic}.py:

    python tools/torch_reference/tensor_ops.py      # writes tests/fixtures/torch_tensor_ops.npz

tinynet has PyTorch's names, so each case is one expression that runs unchanged in both, with ``F`` bound
to ``torch`` here and to ``tinynet.functional`` in the tests, and the inputs bound to tensors of the
stored arrays (float64 ones require grad; int64 ones are indices, bool ones masks). Keys:

    cases                  JSON list of {"name", "expr", "inputs"}: the expression and its inputs' names
    in__<input>            an input array (float64, int64 or bool)
    <case>__y              the expression's value
    <case>__g              a random upstream gradient of y's shape (float cases only)
    <case>__d<input>       the gradient of sum(y * g) with respect to each float input
    dtypes                 JSON list of [expr, dtype]: the result dtype of arithmetic between tensors
                           made by T(values, dtype) and Python numbers (type promotion)
    chunks                 JSON list of [n, chunks, sizes]: the sizes torch.chunk gives

The inputs hold what the backward formulas must get right: ties (max, min, amax, amin, sort), values
exactly at clamp's bounds and abs at 0, var/std with correction 0, 1, 2, pow with 0 in base and exponent.
"""
import json
import re

import numpy as np
import torch

from _common import SEED, arr, save

rng = np.random.default_rng(SEED)
inputs = {
    "x": rng.standard_normal((3, 4)),
    "y": rng.standard_normal((3, 4)),
    "v": rng.standard_normal((3, 2)),
    "x3": rng.standard_normal((2, 3, 4)),
    "row": rng.standard_normal((1, 4)),
    "col": rng.standard_normal((3, 1)),
    # ties: the maximum 2.0 three times, the minimum -1.0 twice, and a row of one value
    "ties": np.array([[2.0, 0.5, 2.0, -1.0], [0.0, 2.0, -1.0, 1.0], [0.25, 0.25, 0.25, 0.25]]),
    # clamp: values exactly at the bounds -0.5 and 0.5, inside and outside them
    "c": np.array([[-1.0, -0.5, -0.2, 0.0], [0.2, 0.5, 0.7, -0.5], [0.5, 1.5, -2.0, 0.3]]),
    "lo": np.array([[-0.5, -0.5, -0.5, 0.1], [-0.5, 0.6, -0.5, -0.5], [-0.5, 2.0, -0.5, -0.5]]),
    "hi": np.array([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.0, 0.5], [0.5, 1.0, 0.5, 0.4]]),
    "z": np.array([-1.5, -0.0, 0.0, 2.0, 0.5]),  # abs at 0
    "base": np.array([[0.0, 0.0, 0.5, 2.0], [1.5, 0.0, 3.0, 0.7], [0.3, 1.2, 2.5, 0.9]]),
    "ex": np.array([[2.0, 0.0, 0.0, 1.5], [-1.0, 3.0, 2.0, 0.5], [0.0, 2.5, -0.5, 1.0]]),
    "pos": rng.uniform(0.5, 2.0, (3, 4)),
    "idx": np.array([[0, 2], [1, 1], [2, 0]], dtype=np.int64),  # gather along dim 1 of a (3, 4): repeats
    "perm": np.array([[3, 0], [1, 2], [0, 3]], dtype=np.int64),  # scatter along dim 1: no repeats in a row
    "idx0": np.array([[2, 0, 1, 0], [0, 1, 2, 2]], dtype=np.int64),  # gather along dim 0
    "mask": rng.random((3, 4)) > 0.5,
    "mrow": np.array([True, False, True, False]),
    "s0": np.array(1.5),
}

CASES = [
    # reductions
    ("max_ties", "F.max(ties)"), ("min_ties", "F.min(ties)"),
    ("max_dim_ties", "F.max(ties, 1).values"), ("max_dim_ties_idx", "F.max(ties, 1).indices"),
    ("min_dim_ties", "F.min(ties, 1, keepdim=True).values"), ("min_dim_ties_idx", "F.min(ties, 1).indices"),
    ("max_dim0", "F.max(x, 0).values"), ("max_dim0_idx", "F.max(x, 0).indices"),
    ("amax_ties", "F.amax(ties, 1)"), ("amin_ties", "F.amin(ties, 1)"), ("amax_all", "F.amax(ties, (0, 1))"),
    ("amax_keep", "F.amax(ties, 0, keepdim=True)"),
    ("argmax_ties", "F.argmax(ties, 1)"), ("argmin_ties", "F.argmin(ties, 1)"), ("argmin_all", "F.argmin(x)"),
    ("var_all", "F.var(x)"), ("var_c0", "F.var(x, 1, correction=0)"), ("var_c2", "F.var(x3, (0, 2), correction=2)"),
    ("var_keep", "F.var(x, 0, keepdim=True)"), ("var_unbiased_false", "F.var(x, 1, False)"),
    ("std_all", "F.std(x)"), ("std_c0", "F.std(x3, 1, correction=0)"), ("std_c2", "F.std(x, 1, correction=2)"),
    ("std_keep", "x3.std(-1, keepdim=True)"),
    ("sum_dims", "F.sum(x3, (0, 2))"), ("mean_dim", "F.mean(x3, 1, keepdim=True)"),
    # arithmetic
    ("clamp_scalar", "F.clamp(c, -0.5, 0.5)"), ("clamp_min", "F.clamp(c, min=-0.5)"),
    ("clamp_max", "c.clamp(max=0.5)"), ("clamp_tensor", "F.clamp(c, lo, hi)"),
    ("clamp_tensor_min", "F.clamp(c, min=lo)"), ("clamp_row", "F.clamp(c, min=row, max=hi)"),
    ("clamp_inverted", "F.clamp(c, 0.5, -0.5)"), ("clip", "c.clip(-0.5, 0.5)"),
    ("abs", "F.abs(z)"), ("sqrt", "F.sqrt(pos)"), ("exp", "F.exp(x)"), ("log", "F.log(pos)"),
    ("pow_tensor", "F.pow(base, ex)"), ("pow_op", "pos ** ex"), ("pow_broadcast", "pos ** row"),
    ("rpow", "2 ** x"), ("rpow_float", "0.5 ** x"), ("pow_const_zero", "base ** 0"), ("pow_const", "base ** 2.5"),
    ("matmul", "F.matmul(x, y.t())"),
    # shape and join
    ("squeeze", "F.squeeze(row)"), ("squeeze_dim", "col.squeeze(1)"), ("squeeze_tuple", "F.squeeze(row, (0, 1))"),
    ("unsqueeze", "F.unsqueeze(x, -1)"), ("t", "x.t()"), ("expand", "row.expand(2, 3, -1)"),
    ("expand_as", "col.expand_as(x)"), ("repeat", "x.repeat(2, 1, 3)"), ("repeat_row", "row.repeat(3, 2)"),
    ("clone", "x.clone()"), ("cat", "F.cat([x, v, x], 1)"), ("cat0", "F.cat([x, y])"),
    ("stack", "F.stack([x, y], 1)"), ("split_int", "F.split(x, 3, 1)[1]"), ("split_list", "x.split([1, 3], 1)[0]"),
    ("chunk", "F.chunk(x, 3, 1)[1]"), ("reshape", "F.reshape(x, (2, -1))"),
    # indexing
    ("gather", "F.gather(x, 1, idx)"), ("gather0", "x.gather(0, idx0)"),
    ("scatter", "F.scatter(x, 1, perm, v)"), ("scatter_value", "x.scatter(1, perm, 2.5)"),
    ("scatter_add", "F.scatter_add(x, 1, idx, v)"),
    ("masked_fill", "F.masked_fill(x, mask, -1.0)"), ("masked_fill_row", "x.masked_fill(mrow, 3.0)"),
    ("masked_fill_tensor", "x.masked_fill(mask, s0)"),
    ("where", "F.where(mask, x, y)"), ("where_broadcast", "F.where(mrow, col, row)"),
    ("where_scalar", "F.where(mask, x, 0.0)"),
    ("topk", "F.topk(x, 2).values"), ("topk_idx", "F.topk(x, 2).indices"),
    ("topk_small", "x.topk(3, 0, largest=False).values"), ("topk_small_idx", "x.topk(3, 0, largest=False).indices"),
    ("sort", "F.sort(x).values"), ("sort_idx", "F.sort(x).indices"),
    ("sort_desc", "F.sort(x, 0, descending=True).values"), ("sort_desc_idx", "F.sort(x, 0, descending=True).indices"),
    ("sort_ties_stable", "F.sort(ties, dim=1, stable=True).indices"),
    ("sort_ties_desc_stable", "F.sort(ties, dim=1, descending=True, stable=True).indices"),
    ("argsort", "F.argsort(x, 1)"), ("argsort_desc", "x.argsort(0, descending=True)"),
    # binary.py: ties between the operands (c and lo share -0.5 twice, c and hi 0.5 once), broadcasting
    ("binary_maximum_ties", "F.maximum(c, lo)"), ("binary_minimum_ties", "F.minimum(c, hi)"),
    ("binary_maximum_broadcast", "x.maximum(row)"), ("binary_minimum_method", "x.minimum(y)"),
    ("binary_remainder", "F.remainder(x, pos)"), ("binary_remainder_negative", "x % -pos"),
    ("binary_remainder_broadcast", "x.remainder(col)"),
    # rearrange.py
    ("rearrange_flip", "F.flip(x3, (0, 2))"), ("rearrange_flip_method", "x.flip(1)"),
    ("rearrange_roll", "F.roll(x3, (1, -2), (0, 2))"), ("rearrange_roll_flat", "x.roll(5)"),
    ("rearrange_narrow", "F.narrow(x3, 2, 1, 2)"), ("rearrange_narrow_negative", "x.narrow(-1, -3, 2)"),
    ("rearrange_unbind", "F.unbind(x3, 1)[2]"), ("rearrange_movedim", "F.movedim(x3, 0, 2)"),
    ("rearrange_movedim_tuple", "x3.movedim((0, 1), (2, 0))"), ("rearrange_swapaxes", "F.swapaxes(x3, 0, 2)"),
]


def as_torch(name):
    a = inputs[name]
    if a.dtype == np.float64:
        return torch.tensor(a, requires_grad=True)
    return torch.tensor(a)


out = {f"in__{k}": v for k, v in inputs.items()}
cases = []
for name, expr in CASES:
    used = [k for k in inputs if k in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", expr)]
    env = {"F": torch, **{k: as_torch(k) for k in used}}
    y = eval(expr, env)
    out[f"{name}__y"] = arr(y)
    if y.dtype == torch.float64:
        g = rng.standard_normal(tuple(y.shape))
        y.backward(torch.tensor(g))
        out[f"{name}__g"] = g
        for k in used:
            if env[k].dtype == torch.float64:
                grad = env[k].grad
                out[f"{name}__d{k}"] = np.zeros(inputs[k].shape) if grad is None else arr(grad)
    cases.append({"name": name, "expr": expr, "inputs": used})
out["cases"] = np.array(json.dumps(cases))

# --- type promotion -----------------------------------------------------------------------------------------
DTYPE_EXPRS = [
    "T([0, 1, 2], 'int64') + 0.5", "T([0, 1, 2], 'int64') * 0.5", "T([0, 1, 2], 'int64') / 2", "0.5 - T([0, 1, 2], 'int64')",
    "T([0, 1, 2], 'int64') / T([1, 2, 3], 'int64')", "T([0, 1, 2], 'int32') / T([1, 2, 3], 'int32')",
    "T([1.0, 2.0], 'float32') + 1", "T([1.0, 2.0], 'float32') * 2.5", "2 ** T([1.0, 2.0], 'float32')",
    "T([1.0, 2.0], 'float32') + T([1.0, 2.0], 'float64')", "T([1.0, 2.0], 'float32') * T(3.0, 'float64')",
    "T([1.0, 2.0], 'float16') + T(3.0, 'float64')", "T([1, 2], 'int64') + T([1.0, 2.0], 'float32')",
    "T([1, 2], 'int32') + T([1, 2], 'int64')", "T([1, 2], 'int32') + 1", "T([1, 2], 'int32') * T(3, 'int64')",
    "T([1, 2], 'int32') + T(3.0, 'float64')", "T([True, False], 'bool') + 1", "T([True, False], 'bool') * 1.5",
    "T([True, False], 'bool') + T([True, True], 'bool')", "T([1, 2], 'uint8') + T([1, 2], 'int8')",
    "T([1, 2], 'int64') ** 2", "T([1, 2], 'int64') ** 0.5", "T([1.0, 2.0], 'float64') + 1.5",
    "T([1, 2], 'int16') / 2",
]


def T(values, dtype):
    return torch.tensor(values, dtype=getattr(torch, dtype))


out["dtypes"] = np.array(json.dumps([[e, str(eval(e, {"T": T}).dtype).removeprefix("torch.")] for e in DTYPE_EXPRS]))
out["chunks"] = np.array(json.dumps([[n, k, [c.shape[0] for c in torch.chunk(torch.zeros(n), k)]]
                                     for n in (1, 5, 6, 7, 10) for k in (1, 2, 3, 4, 6)]))
save("tensor_ops", out)
