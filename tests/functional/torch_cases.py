"""PyTorch's values for the Tensor API ops (tests/fixtures/torch_tensor_ops.npz, written by
tools/torch_reference/tensor_ops.py): each case is one expression that runs unchanged on torch and on
tinynet, with ``F`` bound to ``tinynet.functional`` here. Used by the test files of each op family."""
import json

import numpy as np

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, tensor

FIXTURE = torch_fixture("tensor_ops")
CASES = {c["name"]: c for c in json.loads(str(FIXTURE["cases"]))}
DTYPES = json.loads(str(FIXTURE["dtypes"]))
CHUNKS = json.loads(str(FIXTURE["chunks"]))


def names(*prefixes):
    """The fixture's case names starting with one of ``prefixes``."""
    return [n for n in CASES if n.startswith(prefixes)]


def check_case(name, device):
    """Run case ``name`` on tinynet on ``device``: its value (shape, dtype, numbers) and the gradient of
    sum(y * g) with respect to every float input must be PyTorch's (to 1e-12)."""
    case = CASES[name]
    env = {"F": F}
    for k in case["inputs"]:
        a = FIXTURE[f"in__{k}"]
        env[k] = tensor(a, device, requires_grad=a.dtype == np.float64)
    y = eval(case["expr"], env)
    expected = FIXTURE[f"{name}__y"]
    assert isinstance(y, tinynet.Tensor), case["expr"]
    assert y.shape == expected.shape and y.dtype == expected.dtype, (case["expr"], y.shape, y.dtype)
    np.testing.assert_allclose(host(y), expected, rtol=1e-12, atol=1e-14, err_msg=case["expr"])
    if f"{name}__g" not in FIXTURE:
        return
    y.backward(tensor(FIXTURE[f"{name}__g"], device))
    for k in case["inputs"]:
        if f"{name}__d{k}" in FIXTURE:
            got = np.zeros(env[k].shape) if env[k].grad is None else host(env[k].grad)
            np.testing.assert_allclose(got, FIXTURE[f"{name}__d{k}"], rtol=1e-12, atol=1e-14,
                                       err_msg=f"{case['expr']}: d/d{k}")
