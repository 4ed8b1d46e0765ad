"""layer_norm: PyTorch's F.layer_norm (statistics of each sample over its trailing normalized_shape dims,
weight and bias per normalised element), against the loop reference, central differences, a graph of Tensor
primitives and PyTorch's values (tests/fixtures/torch_normalization.npz).
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet.functional import reference
from tinynet.functional.layernorm import LayerNorm

CASES = [
    pytest.param((4, 5), (5,), id="N,D-over-D"),
    pytest.param((2, 3, 4), (4,), id="N,L,D-over-D"),
    pytest.param((2, 3, 4), (3, 4), id="N,L,D-over-L,D"),
    pytest.param((2, 2, 3, 2), (2, 3, 2), id="N,C,H,W-over-C,H,W"),
    pytest.param((3, 4), (3, 4), id="no-leading-dims"),
    pytest.param((3, 2), (2,), id="m=2"),
    pytest.param((3, 1), (1,), id="m=1"),
]
AFFINE = ["weight and bias", "weight", "bias", "none"]


def _affine(rng, shape, device, requires_grad=True):
    w = tensor(rng.normal(1.0, 0.5, shape), device, requires_grad=requires_grad)
    b = tensor(rng.normal(0.0, 0.5, shape), device, requires_grad=requires_grad)
    return w, b


@pytest.mark.parametrize("shape, normalized", CASES)
@pytest.mark.parametrize("affine", AFFINE)
def test_layer_norm_matches_loop_reference(device, rng, shape, normalized, affine):
    x = rand(rng, shape, device, requires_grad=False, low=-3.0, high=2.0)
    w, b = _affine(rng, normalized, device, requires_grad=False)
    w, b = (w if "weight" in affine else None), (b if "bias" in affine else None)
    expected = reference.layer_norm(host(x), normalized, None if w is None else host(w), None if b is None else host(b))
    y = F.layer_norm(x, normalized, w, b)
    np.testing.assert_allclose(host(y), expected, rtol=1e-12, atol=1e-12)


def test_layer_norm_hand_computed(device):
    """One sample (1, 2, 3, 6): mean 3, variance 14/4; weight (1, 2, 1, 1), bias (0, 0, 0, 10)."""
    x = tensor(np.array([[1.0, 2.0, 3.0, 6.0]]), device)
    w, b = tensor([1.0, 2.0, 1.0, 1.0], device, dtype="float64"), tensor([0.0, 0.0, 0.0, 10.0], device, dtype="float64")
    y = host(F.layer_norm(x, (4,), w, b, eps=1e-5))
    s = np.sqrt(14 / 4 + 1e-5)
    np.testing.assert_allclose(y.ravel(), [-2 / s, -2 / s, 0.0, 3 / s + 10], rtol=1e-14)


def test_layer_norm_samples_are_independent(device, rng):
    """Each sample is normalised alone: changing sample 0 leaves sample 1's output as it was."""
    x = rng.normal(size=(2, 3, 4))
    y = host(F.layer_norm(tensor(x, device), (3, 4)))
    x[0] *= 7.0
    np.testing.assert_array_equal(host(F.layer_norm(tensor(x, device), (3, 4)))[1], y[1])


@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-5), ("float64", 1e-12)])
def test_layer_norm_keeps_dtype(device, rng, dtype, rtol):
    x = rand(rng, (3, 4, 5), device, requires_grad=False, dtype=dtype)
    w, b = (tensor(rng.normal(size=5), device, dtype=dtype) for _ in range(2))
    y = F.layer_norm(x, [5], w, b)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(host(y), reference.layer_norm(host(x), (5,), host(w), host(b)), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("shape, normalized", CASES)
@pytest.mark.parametrize("affine", AFFINE)
def test_layer_norm_gradcheck(device, rng, shape, normalized, affine):
    x = rand(rng, shape, device, low=-2.0, high=2.0)
    w, b = _affine(rng, normalized, device)
    use_w, use_b = "weight" in affine, "bias" in affine
    assert tinynet.gradcheck(lambda x, w, b: F.layer_norm(x, normalized, w if use_w else None, b if use_b else None),
                             [x, w, b])


def _layer_norm_by_primitives(x, normalized, w, b, eps):
    axes = tuple(range(x.ndim - len(normalized), x.ndim))
    mu = x.mean(dim=axes, keepdim=True)
    centred = x - mu
    var = (centred * centred).mean(dim=axes, keepdim=True)
    return centred * (var + eps) ** -0.5 * w + b


@pytest.mark.parametrize("shape, normalized", CASES)
def test_layer_norm_compact_backward_equals_the_graph_of_primitives(device, rng, shape, normalized):
    x = rand(rng, shape, device, low=-2.0, high=3.0)
    w, b = _affine(rng, normalized, device)
    x2, w2, b2 = (tensor(host(t), device, requires_grad=True) for t in (x, w, b))
    g = tensor(rng.normal(size=shape), device)
    y = F.layer_norm(x, normalized, w, b)
    y2 = _layer_norm_by_primitives(x2, normalized, w2, b2, 1e-5)
    np.testing.assert_allclose(host(y), host(y2), rtol=1e-12, atol=1e-12)
    y.backward(g)
    y2.backward(g)
    for fast, graph in ((x, x2), (w, w2), (b, b2)):
        np.testing.assert_allclose(host(fast.grad), host(graph.grad), rtol=1e-10, atol=1e-12)


def test_layer_norm_keeps_x_hat_and_invstd_only(device, rng):
    x = rand(rng, (4, 3, 5), device)
    w, b = _affine(rng, (5,), device)
    op = LayerNorm((5,), 1e-5, True, True)
    op(x, w, b)
    arrays = {k: v for k, v in vars(op).items() if hasattr(v, "shape") and hasattr(v, "dtype")}
    assert set(arrays) == {"x_hat", "invstd", "w"}
    assert arrays["x_hat"].shape == (4, 3, 5) and arrays["invstd"].shape == (4, 3, 1)


@pytest.mark.parametrize("case", ["last", "two", "plain", "weight", "all"])
def test_layer_norm_matches_torch(device, case):
    fx = torch_fixture("normalization")
    p = f"ln_{case}"
    normalized = tuple(int(d) for d in fx[f"{p}_normalized_shape"])
    x = tensor(fx[f"{p}_x"], device, requires_grad=True)
    w = tensor(fx[f"{p}_weight"], device, requires_grad=True) if f"{p}_dweight" in fx else None
    b = tensor(fx[f"{p}_bias"], device, requires_grad=True) if f"{p}_dbias" in fx else None
    y = F.layer_norm(x, normalized, w, b, eps=1e-5)
    y.backward(tensor(fx[f"{p}_g"], device))
    np.testing.assert_allclose(host(y), fx[f"{p}_y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(x.grad), fx[f"{p}_dx"], rtol=1e-12, atol=1e-12)
    if w is not None:
        np.testing.assert_allclose(host(w.grad), fx[f"{p}_dweight"], rtol=1e-12, atol=1e-12)
    if b is not None:
        np.testing.assert_allclose(host(b.grad), fx[f"{p}_dbias"], rtol=1e-12, atol=1e-12)


# --- hostile arguments and inputs --------------------------------------------------------------------------------

def _x(*shape, dtype=np.float64):
    return tinynet.Tensor(np.arange(np.prod(shape), dtype=dtype).reshape(shape))


BAD = [
    pytest.param(lambda: F.layer_norm(_x(2, 3), 3), TypeError,
                 r"^layer_norm: normalized_shape must be a tuple or list of ints >= 1 .*got 3; for one dimension "
                 r"write \(3,\)$", id="normalized_shape-int"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), ()), ValueError, r"^layer_norm: normalized_shape must be .*got \(\)$",
                 id="normalized_shape-empty"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (0,)), ValueError, r"^layer_norm: normalized_shape must be .*got \(0,\)$",
                 id="normalized_shape-0"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (-3,)), ValueError, r"^layer_norm: normalized_shape must be .*got \(-3,\)$",
                 id="normalized_shape-negative"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3.0,)), TypeError, r"^layer_norm: normalized_shape must be .*got \(3.0,\)$",
                 id="normalized_shape-float"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (True,)), TypeError,
                 r"^layer_norm: normalized_shape must be .*got \(True,\)$",
                 id="normalized_shape-bool"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), "3"), TypeError, r"^layer_norm: normalized_shape must be .*got '3'$",
                 id="normalized_shape-str"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), None), TypeError, r"^layer_norm: normalized_shape must be .*got None$",
                 id="normalized_shape-None"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (4,)), tinynet.ShapeError,
                 r"^layer_norm: normalized_shape \(4,\) expects an input of shape \(\*, 4\), got \(2, 3\)$",
                 id="input-trailing-mismatch"),
    pytest.param(lambda: F.layer_norm(_x(3), (2, 3)), tinynet.ShapeError,
                 r"^layer_norm: normalized_shape \(2, 3\) expects an input of shape \(\*, 2, 3\), got \(3,\)$",
                 id="input-too-few-dims"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), np.ones(4)), tinynet.ShapeError,
                 r"^layer_norm: weight must have the shape normalized_shape \(3,\), got \(4,\)$", id="weight-shape"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), None, np.ones((1, 3))), tinynet.ShapeError,
                 r"^layer_norm: bias must have the shape normalized_shape \(3,\), got \(1, 3\)$", id="bias-shape"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), [1.0, 1.0, 1.0]), TypeError,
                 r"^layer_norm: weight must be a Tensor, an array or None, got list", id="weight-list"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), None, "0"), TypeError,
                 r"^layer_norm: bias must be a Tensor, an array or None, got str", id="bias-str"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), np.ones(3, dtype=np.float32)), TypeError,
                 r"^layer_norm: inputs must have one dtype, got input float64, weight float32", id="weight-dtype"),
    pytest.param(lambda: F.layer_norm(_x(2, 3, dtype=np.int32), (3,)), TypeError,
                 r"^layer_norm: input must be floating point \(float32 or float64\), got dtype int32$", id="input-int"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), eps=-1.0), ValueError,
                 r"^layer_norm: eps must be a finite number >= 0, got -1.0$", id="eps-negative"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), eps=float("nan")), ValueError,
                 r"^layer_norm: eps must be a finite number >= 0, got nan$", id="eps-nan"),
    pytest.param(lambda: F.layer_norm(_x(2, 3), (3,), eps=None), TypeError,
                 r"^layer_norm: eps must be a finite number >= 0, got None$", id="eps-None"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_layer_norm_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
