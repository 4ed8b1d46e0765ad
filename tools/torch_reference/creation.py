"""PyTorch's tensor factories, stored for tests/test_creation.py:

    python tools/torch_reference/creation.py      # writes tests/fixtures/torch_creation.npz

What is pinned is what does not depend on a generator: the dtype each factory infers from its arguments,
arange's sizes and values, linspace's values (PyTorch's symmetric formula), eye, full and full_like with
casts, and which argument lists PyTorch refuses. Keys:

    dtype_<case>          the dtype name PyTorch gives (a str array, e.g. "int64")
    arange_<k>            arange(*ARANGE[k]) as float64 values, with arange_<k>_dtype
    linspace_<k>          linspace(*LINSPACE[k]) values in their own dtype, with linspace_<k>_dtype
    eye_<k>               eye(*EYE[k])
    value_<case>          the values of a cast case (full with an int dtype, full_like of an int tensor)
    refused_<case>        1 if PyTorch raises for the case, else 0
"""
import numpy as np
import torch
from _common import save

out = {}


def name(dtype):
    return np.array(str(dtype).removeprefix("torch."))


# --- the dtype inferred from the arguments (no dtype= given)
DTYPE_CASES = {
    "full_bool": lambda: torch.full((2,), True),
    "full_int": lambda: torch.full((2,), 3),
    "full_float": lambda: torch.full((2,), 2.5),
    "full_np_float64": lambda: torch.full((2,), np.float64(2.5)),
    "full_np_int32": lambda: torch.full((2,), np.int32(3)),
    "zeros": lambda: torch.zeros(2),
    "ones": lambda: torch.ones(2, 3),
    "empty": lambda: torch.empty(2),
    "eye": lambda: torch.eye(2),
    "rand": lambda: torch.rand(2),
    "randn": lambda: torch.randn(2),
    "randint": lambda: torch.randint(5, (3,)),
    "randint_low_high": lambda: torch.randint(2, 5, (3,)),
    "randperm": lambda: torch.randperm(4),
    "linspace_int_args": lambda: torch.linspace(0, 10, 5),
    "linspace_float_args": lambda: torch.linspace(0.0, 1.0, 5),
    "arange_int": lambda: torch.arange(5),
    "arange_float_end": lambda: torch.arange(5.0),
    "arange_float_step": lambda: torch.arange(0, 5, 0.5),
    "arange_float_start": lambda: torch.arange(1.0, 5),
    "as_tensor_float_list": lambda: torch.as_tensor([1.0, 2.0]),
    "as_tensor_int_list": lambda: torch.as_tensor([1, 2]),
    "as_tensor_bool_list": lambda: torch.as_tensor([True, False]),
    "as_tensor_np_float64": lambda: torch.as_tensor(np.zeros(2)),
    "from_numpy_float64": lambda: torch.from_numpy(np.zeros(2)),
    "from_numpy_int32": lambda: torch.from_numpy(np.zeros(2, dtype=np.int32)),
    "zeros_like_int": lambda: torch.zeros_like(torch.tensor([1, 2])),
    "full_like_int_float_fill": lambda: torch.full_like(torch.tensor([1, 2]), 2.5),
    "randint_like_float": lambda: torch.randint_like(torch.zeros(3), 7),
}
for case, make in DTYPE_CASES.items():
    out[f"dtype_{case}"] = name(make().dtype)
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
LINSPACE = [(0, 1, 5, None), (0.0, 1.0, 7, None), (-3.0, 3.0, 11, None), (1.0, 2.0, 1, None), (0.0, 1.0, 0, None),
            (0.1, 0.9, 9, torch.float64), (0, 10, 4, torch.int64), (10, 0, 6, None), (0.0, 1.0, 2, None),
            (-1, 1, 8, torch.int64), (0.1, 0.7, 13, None)]
for k, (start, end, steps, dtype) in enumerate(LINSPACE):
    r = torch.linspace(start, end, steps, dtype=dtype)
    out[f"linspace_{k}"] = r.numpy()
    out[f"linspace_{k}_dtype"] = name(r.dtype)

EYE = [(3,), (2, 4), (4, 2), (0,), (1, 0)]
for k, args in enumerate(EYE):
    out[f"eye_{k}"] = torch.eye(*args).numpy()

# --- casts: what PyTorch does when the fill does not fit the dtype exactly
CASTS = {
    "full_float_fill_int_dtype": lambda: torch.full((2,), 2.7, dtype=torch.int64),
    "full_negative_float_fill_int_dtype": lambda: torch.full((2,), -2.7, dtype=torch.int64),
    "full_like_int_float_fill": lambda: torch.full_like(torch.tensor([1, 2]), 2.5),
    "full_int_fill_float_dtype": lambda: torch.full((2,), 3, dtype=torch.float64),
    "full_bool_fill_int_dtype": lambda: torch.full((2,), True, dtype=torch.int64),
    "full_int_fill_bool_dtype": lambda: torch.full((2,), 2, dtype=torch.bool),
}
for case, make in CASTS.items():
    out[f"value_{case}"] = make().numpy()

# --- what PyTorch refuses (1) and accepts (0)
REFUSED = {
    "zeros_negative": lambda: torch.zeros(-1),
    "zeros_float_size": lambda: torch.zeros(2.0),
    "zeros_float_in_tuple": lambda: torch.zeros((2, 2.0)),
    "zeros_bool_size": lambda: torch.zeros(True),
    "zeros_str_size": lambda: torch.zeros("3"),
    "zeros_zero": lambda: torch.zeros(0),
    "full_int_size": lambda: torch.full(3, 1.0),
    "full_str_fill": lambda: torch.full((2,), "a"),
    "full_none_fill": lambda: torch.full((2,), None),
    "full_uint8_overflow": lambda: torch.full((2,), 300, dtype=torch.uint8),
    "full_int8_negative_overflow": lambda: torch.full((2,), -200, dtype=torch.int8),
    "full_nan_int": lambda: torch.full((2,), float("nan"), dtype=torch.int64),
    "full_inf_int": lambda: torch.full((2,), float("inf"), dtype=torch.int32),
    "arange_step_zero": lambda: torch.arange(0, 5, 0),
    "arange_wrong_sign": lambda: torch.arange(0, 5, -1),
    "arange_empty_same": lambda: torch.arange(3, 3),
    "arange_inf": lambda: torch.arange(0, float("inf")),
    "arange_nan": lambda: torch.arange(0, float("nan")),
    "arange_str": lambda: torch.arange("5"),
    "linspace_negative_steps": lambda: torch.linspace(0, 1, -1),
    "linspace_float_steps": lambda: torch.linspace(0, 1, 2.0),
    "linspace_no_steps": lambda: torch.linspace(0, 1),
    "linspace_int_dtype": lambda: torch.linspace(0, 1, 3, dtype=torch.int64),
    "linspace_nan": lambda: torch.linspace(0, float("nan"), 3),
    "eye_negative": lambda: torch.eye(-1),
    "eye_float": lambda: torch.eye(2.0),
    "eye_m_negative": lambda: torch.eye(2, -1),
    "randint_high_equal_low": lambda: torch.randint(3, 3, (2,)),
    "randint_high_below_low": lambda: torch.randint(5, 3, (2,)),
    "randint_zero_high": lambda: torch.randint(0, (2,)),
    "randint_no_size": lambda: torch.randint(5),
    "randint_int_size": lambda: torch.randint(0, 5, 3),
    "randint_float_high": lambda: torch.randint(0, 5.5, (2,)),
    "randint_uint8_too_high": lambda: torch.randint(0, 300, (2,), dtype=torch.uint8),
    "randint_float_dtype": lambda: torch.randint(0, 5, (2,), dtype=torch.float32),
    "randint_bool_dtype": lambda: torch.randint(0, 2, (2,), dtype=torch.bool),
    "randint_negative_low": lambda: torch.randint(-5, 5, (2,)),
    "randperm_negative": lambda: torch.randperm(-1),
    "randperm_float": lambda: torch.randperm(2.0),
    "randperm_zero": lambda: torch.randperm(0),
    "rand_int_dtype": lambda: torch.rand(2, dtype=torch.int64),
    "randn_int_dtype": lambda: torch.randn(2, dtype=torch.int64),
    "rand_like_int": lambda: torch.rand_like(torch.tensor([1, 2])),
    "zeros_like_list": lambda: torch.zeros_like([1, 2]),
    "zeros_requires_grad_int": lambda: torch.zeros(2, dtype=torch.int64, requires_grad=True),
    "full_requires_grad_int_fill": lambda: torch.full((2,), 3, requires_grad=True),
    "from_numpy_list": lambda: torch.from_numpy([1, 2]),
    "from_numpy_str_array": lambda: torch.from_numpy(np.array(["a"])),
    "from_numpy_object_array": lambda: torch.from_numpy(np.array([None])),
    "as_tensor_str": lambda: torch.as_tensor("a"),
    "zeros_no_args": lambda: torch.zeros(),
    "zeros_tuple_and_int": lambda: torch.zeros((2,), 3),
    "randint_list_size": lambda: torch.randint(0, 5, [3]),
    "full_list_size": lambda: torch.full([2], 1.0),
    "full_like_nan_int": lambda: torch.full_like(torch.tensor([1, 2]), float("nan")),
    "arange_float_start_end_int_dtype": lambda: torch.arange(0.5, 3.5, dtype=torch.int64),
}
for case, make in REFUSED.items():
    try:
        make()
    except Exception:
        out[f"refused_{case}"] = np.array(1)
    else:
        out[f"refused_{case}"] = np.array(0)

save("creation", out)
