"""linear: y = x @ W^T + b against NumPy, gradients for 1-D/2-D/3-D inputs, and shape errors."""
import re

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand, tensor


@pytest.mark.parametrize("x_shape", [(3, 5), (2, 3, 5), (5,)], ids=["2d", "3d", "1d"])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
def test_linear_forward_matches_numpy(device, rng, x_shape, with_bias):
    """y = x @ W.T + b over the last dimension, for (N, in), (*, in) and (in,) inputs."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, (4, 5), device, requires_grad=False)
    b = rand(rng, (4,), device, requires_grad=False) if with_bias else None
    y = F.linear(x, w, b)
    expected = host(x) @ host(w).T + (host(b) if with_bias else 0.0)
    assert y.shape == x_shape[:-1] + (4,)
    np.testing.assert_allclose(host(y), expected, rtol=1e-12, atol=1e-12)


def test_linear_float32_keeps_dtype(device, rng):
    """float32 in, float32 out, close to the float64 result."""
    x = rand(rng, (3, 6), device, requires_grad=False, dtype="float32")
    w = rand(rng, (2, 6), device, requires_grad=False, dtype="float32")
    b = rand(rng, (2,), device, requires_grad=False, dtype="float32")
    y = F.linear(x, w, b)
    assert y.dtype == np.float32
    expected = host(x).astype(np.float64) @ host(w).astype(np.float64).T + host(b)
    np.testing.assert_allclose(host(y), expected, rtol=1e-5, atol=1e-6)


def test_linear_does_not_modify_inputs(device, rng):
    """Adding the bias must not write into x, W or b."""
    x, w, b = (rand(rng, s, device, requires_grad=False) for s in [(3, 5), (4, 5), (4,)])
    before = [host(t).copy() for t in (x, w, b)]
    F.linear(x, w, b)
    for t, old in zip((x, w, b), before):
        np.testing.assert_array_equal(host(t), old)


@pytest.mark.parametrize("x_shape", [(3, 5), (2, 3, 5), (5,)], ids=["2d", "3d", "1d"])
@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
def test_linear_gradcheck(device, rng, x_shape, with_bias):
    """dx, dW (and db) agree with central differences, gradients summed over all leading dimensions."""
    inputs = [rand(rng, x_shape, device), rand(rng, (4, 5), device)]
    if with_bias:
        inputs.append(rand(rng, (4,), device))
    assert tinynet.gradcheck(F.linear, inputs)


def test_linear_gradcheck_input_without_grad(device, rng):
    """With x not requiring grad, W and b still get correct gradients and x.grad stays None."""
    x = rand(rng, (2, 3, 5), device, requires_grad=False)
    w, b = rand(rng, (4, 5), device), rand(rng, (4,), device)
    assert tinynet.gradcheck(F.linear, [x, w, b])
    F.linear(x, w, b).sum().backward()
    assert x.grad is None


def test_linear_gradcheck_frozen_weight(device, rng):
    """With a weight that needs no gradient, dx is still correct."""
    x = rand(rng, (3, 5), device)
    w = rand(rng, (4, 5), device, requires_grad=False)
    assert tinynet.gradcheck(F.linear, [x, w])
    assert w.grad is None


def _has_number(message, number):
    return re.search(rf"(?<![\d.]){number}(?![\d.])", message) is not None


@pytest.mark.parametrize("x_shape", [(2, 13), (2, 3, 13), (13,)])
def test_linear_feature_mismatch_names_both_counts(device, rng, x_shape):
    """Weight (4, 9) fed 13 features: ShapeError naming linear, 9 and 13 (like (4096, 9216) fed 6400)."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, (4, 9), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.linear(x, w)
    message = str(info.value)
    assert "linear" in message
    assert _has_number(message, 9) and _has_number(message, 13)


def test_linear_rejects_wrong_bias_shape(device, rng):
    """A bias that doesn't match out_features: ShapeError naming the expected shape."""
    x = rand(rng, (2, 9), device, requires_grad=False)
    w = rand(rng, (4, 9), device, requires_grad=False)
    b = rand(rng, (5,), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.linear(x, w, b)
    message = str(info.value)
    assert "linear" in message and "(4,)" in message and "(5,)" in message


def test_linear_rejects_non_2d_weight(device, rng):
    """A 1-D or 3-D weight is a ShapeError naming linear."""
    x = rand(rng, (2, 9), device, requires_grad=False)
    for shape in [(9,), (2, 4, 9)]:
        with pytest.raises(tinynet.ShapeError, match="linear"):
            F.linear(x, rand(rng, shape, device, requires_grad=False))


def test_mixed_dtypes_are_refused(rng):
    x = tensor(rng.standard_normal((2, 3)), dtype="float64")
    w = tensor(rng.standard_normal((4, 3)), dtype="float32")
    with pytest.raises(TypeError, match="linear: inputs must have one dtype"):
        F.linear(x, w)
