"""PyTorch's tensor factories, stored for tests/test_creation.py:

    python tools/torch_reference/creation.py      # writes tests/fixtures/torch_creation.npz

What is pinned is what does not depend on a generator: the dtype each factory infers from its arguments,
arange's sizes and values, linspace's values (PyTorch's symmetric formula), eye, full and full_like with
casts, and which argument lists PyTorch refuses.

tinynet has PyTorch's names, so each case is one expression that runs unchanged in both, with ``T`` bound
to ``torch`` here and to ``tinynet`` in the test (and ``np`` to NumPy in both); the expressions are stored
in the fixture, so the tables below are the only copy. Keys:

    cases                 JSON {"dtype": {case: expr}, "linspace": [expr], "eye": [expr], "value": {case: expr},
                          "refused": {case: expr}}: the tables below
    dtype_<case>          the dtype name PyTorch gives (a str array, e.g. "int64")
    arange_<k>            arange(*ARANGE[k]) as float64 values, with arange_<k>_dtype
    arange_args           repr of each ARANGE[k]
    linspace_<k>          the values of LINSPACE[k] in their own dtype, with linspace_<k>_dtype
    eye_<k>               the values of EYE[k]
    value_<case>          the values of a cast case (full with an int dtype, full_like of an int tensor)
    refused_<case>        1 if PyTorch raises for the case, else 0
"""
import json

import numpy as np
import torch
from _common import save

out = {}


def name(dtype):
    return np.array(str(dtype).removeprefix("torch."))


def run(expr):
    """The value of case ``expr`` with ``T`` bound to torch."""
    return eval(expr, {"T": torch, "np": np})  # noqa: S307 -- the expressions are the constants below


# --- the dtype inferred from the arguments (no dtype= given)
DTYPE_CASES = {
    "full_bool": "T.full((2,), True)",
    "full_int": "T.full((2,), 3)",
    "full_float": "T.full((2,), 2.5)",
    "full_np_float64": "T.full((2,), np.float64(2.5))",
    "full_np_int32": "T.full((2,), np.int32(3))",
    "zeros": "T.zeros(2)",
    "ones": "T.ones(2, 3)",
    "empty": "T.empty(2)",
    "eye": "T.eye(2)",
    "rand": "T.rand(2)",
    "randn": "T.randn(2)",
    "randint": "T.randint(5, (3,))",
    "randint_low_high": "T.randint(2, 5, (3,))",
    "randperm": "T.randperm(4)",
    "linspace_int_args": "T.linspace(0, 10, 5)",
    "linspace_float_args": "T.linspace(0.0, 1.0, 5)",
    "arange_int": "T.arange(5)",
    "arange_float_end": "T.arange(5.0)",
    "arange_float_step": "T.arange(0, 5, 0.5)",
    "arange_float_start": "T.arange(1.0, 5)",
    "as_tensor_float_list": "T.as_tensor([1.0, 2.0])",
    "as_tensor_int_list": "T.as_tensor([1, 2])",
    "as_tensor_bool_list": "T.as_tensor([True, False])",
    "as_tensor_np_float64": "T.as_tensor(np.zeros(2))",
    "from_numpy_float64": "T.from_numpy(np.zeros(2))",
    "from_numpy_int32": "T.from_numpy(np.zeros(2, dtype=np.int32))",
    "zeros_like_int": "T.zeros_like(T.tensor([1, 2]))",
    "full_like_int_float_fill": "T.full_like(T.tensor([1, 2]), 2.5)",
    "randint_like_float": "T.randint_like(T.zeros(3), 7)",
}
for case, expr in DTYPE_CASES.items():
    out[f"dtype_{case}"] = name(run(expr).dtype)
out["shape_zeros_no_args"] = np.array(torch.zeros(()).shape, dtype=np.int64)
out["shape_zeros_empty_list"] = np.array(torch.zeros([]).shape, dtype=np.int64)

# --- arange: sizes and values, ints and floats, both step signs
ARANGE = [(5,), (2, 7), (0, 10, 3), (10, 0, -3), (0.0, 1.0, 0.1), (1, 2.5, 0.5), (-1.0, 1.0, 0.3), (0, 1, 0.3333),
          (5, 5), (3, 1.5, -0.25), (0.5,), (1e6, 1e6 + 1, 0.125)]
for k, args in enumerate(ARANGE):
    r = torch.arange(*args)
    out[f"arange_{k}"] = r.double().numpy()
    out[f"arange_{k}_dtype"] = name(r.dtype)
out["arange_args"] = np.array([repr(a) for a in ARANGE])

# --- linspace: PyTorch's formula, values in float32 (the default) and in float64 / int64
LINSPACE = ["T.linspace(0, 1, 5)", "T.linspace(0.0, 1.0, 7)", "T.linspace(-3.0, 3.0, 11)", "T.linspace(1.0, 2.0, 1)",
            "T.linspace(0.0, 1.0, 0)", "T.linspace(0.1, 0.9, 9, dtype=T.float64)",
            "T.linspace(0, 10, 4, dtype=T.int64)", "T.linspace(10, 0, 6)", "T.linspace(0.0, 1.0, 2)",
            "T.linspace(-1, 1, 8, dtype=T.int64)", "T.linspace(0.1, 0.7, 13)"]
for k, expr in enumerate(LINSPACE):
    r = run(expr)
    out[f"linspace_{k}"] = r.numpy()
    out[f"linspace_{k}_dtype"] = name(r.dtype)

EYE = ["T.eye(3)", "T.eye(2, 4)", "T.eye(4, 2)", "T.eye(0)", "T.eye(1, 0)"]
for k, expr in enumerate(EYE):
    out[f"eye_{k}"] = run(expr).numpy()

# --- casts: what PyTorch does when the fill does not fit the dtype exactly
CASTS = {
    "full_float_fill_int_dtype": "T.full((2,), 2.7, dtype=T.int64)",
    "full_negative_float_fill_int_dtype": "T.full((2,), -2.7, dtype=T.int64)",
    "full_like_int_float_fill": "T.full_like(T.tensor([1, 2]), 2.5)",
    "full_int_fill_float_dtype": "T.full((2,), 3, dtype=T.float64)",
    "full_bool_fill_int_dtype": "T.full((2,), True, dtype=T.int64)",
    "full_int_fill_bool_dtype": "T.full((2,), 2, dtype=T.bool)",
}
for case, expr in CASTS.items():
    out[f"value_{case}"] = run(expr).numpy()

# --- what PyTorch refuses (1) and accepts (0)
REFUSED = {
    "zeros_negative": "T.zeros(-1)",
    "zeros_float_size": "T.zeros(2.0)",
    "zeros_float_in_tuple": "T.zeros((2, 2.0))",
    "zeros_bool_size": "T.zeros(True)",
    "zeros_str_size": 'T.zeros("3")',
    "zeros_zero": "T.zeros(0)",
    "full_int_size": "T.full(3, 1.0)",
    "full_str_fill": 'T.full((2,), "a")',
    "full_none_fill": "T.full((2,), None)",
    "full_uint8_overflow": "T.full((2,), 300, dtype=T.uint8)",
    "full_int8_negative_overflow": "T.full((2,), -200, dtype=T.int8)",
    "full_nan_int": 'T.full((2,), float("nan"), dtype=T.int64)',
    "full_inf_int": 'T.full((2,), float("inf"), dtype=T.int32)',
    "arange_step_zero": "T.arange(0, 5, 0)",
    "arange_wrong_sign": "T.arange(0, 5, -1)",
    "arange_empty_same": "T.arange(3, 3)",
    "arange_inf": 'T.arange(0, float("inf"))',
    "arange_nan": 'T.arange(0, float("nan"))',
    "arange_str": 'T.arange("5")',
    "linspace_negative_steps": "T.linspace(0, 1, -1)",
    "linspace_float_steps": "T.linspace(0, 1, 2.0)",
    "linspace_no_steps": "T.linspace(0, 1)",
    "linspace_int_dtype": "T.linspace(0, 1, 3, dtype=T.int64)",
    "linspace_nan": 'T.linspace(0, float("nan"), 3)',
    "eye_negative": "T.eye(-1)",
    "eye_float": "T.eye(2.0)",
    "eye_m_negative": "T.eye(2, -1)",
    "randint_high_equal_low": "T.randint(3, 3, (2,))",
    "randint_high_below_low": "T.randint(5, 3, (2,))",
    "randint_zero_high": "T.randint(0, (2,))",
    "randint_no_size": "T.randint(5)",
    "randint_int_size": "T.randint(0, 5, 3)",
    "randint_float_high": "T.randint(0, 5.5, (2,))",
    "randint_uint8_too_high": "T.randint(0, 300, (2,), dtype=T.uint8)",
    "randint_float_dtype": "T.randint(0, 5, (2,), dtype=T.float32)",
    "randint_bool_dtype": "T.randint(0, 2, (2,), dtype=T.bool)",
    "randint_negative_low": "T.randint(-5, 5, (2,))",
    "randperm_negative": "T.randperm(-1)",
    "randperm_float": "T.randperm(2.0)",
    "randperm_zero": "T.randperm(0)",
    "rand_int_dtype": "T.rand(2, dtype=T.int64)",
    "randn_int_dtype": "T.randn(2, dtype=T.int64)",
    "rand_like_int": "T.rand_like(T.tensor([1, 2]))",
    "zeros_like_list": "T.zeros_like([1, 2])",
    "zeros_requires_grad_int": "T.zeros(2, dtype=T.int64, requires_grad=True)",
    "full_requires_grad_int_fill": "T.full((2,), 3, requires_grad=True)",
    "from_numpy_list": "T.from_numpy([1, 2])",
    "from_numpy_str_array": 'T.from_numpy(np.array(["a"]))',
    "from_numpy_object_array": "T.from_numpy(np.array([None]))",
    "as_tensor_str": 'T.as_tensor("a")',
    "zeros_no_args": "T.zeros()",
    "zeros_tuple_and_int": "T.zeros((2,), 3)",
    "randint_list_size": "T.randint(0, 5, [3])",
    "full_list_size": "T.full([2], 1.0)",
    "full_like_nan_int": 'T.full_like(T.tensor([1, 2]), float("nan"))',
    "arange_float_start_end_int_dtype": "T.arange(0.5, 3.5, dtype=T.int64)",
}
for case, expr in REFUSED.items():
    try:
        run(expr)
    except Exception:
        out[f"refused_{case}"] = np.array(1)
    else:
        out[f"refused_{case}"] = np.array(0)

out["cases"] = np.array(json.dumps({"dtype": DTYPE_CASES, "linspace": LINSPACE, "eye": EYE, "value": CASTS,
                                    "refused": REFUSED}))
save("creation", out)
