"""relu and dropout: values, gradients, and dropout's randomness (scaling, rate, seeding)."""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand, tensor


def _away_from_kink(rng, shape, device, margin=0.05):
    """Random signs with |x| in [margin, 1]: central differences never straddle x = 0."""
    magnitude = rng.uniform(margin, 1.0, size=shape)
    sign = rng.choice([-1.0, 1.0], size=shape)
    return tensor(sign * magnitude, device, requires_grad=True)


# --- relu -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_forward(device, rng, dtype):
    """relu(x) = max(x, 0) elementwise, in the input's dtype."""
    x = rand(rng, (3, 4, 5), device, requires_grad=False, dtype=dtype)
    y = F.relu(x)
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    np.testing.assert_array_equal(host(y), np.maximum(host(x), 0))


def test_relu_backward_is_upstream_times_step(device, rng):
    """dx = g * [x > 0]; the gradient at exactly x = 0 is 0 (PyTorch's choice)."""
    x_host = rng.uniform(-1, 1, size=(4, 6))
    x_host[0, :3] = 0.0
    x = tensor(x_host, device, requires_grad=True)
    g = rng.standard_normal(x_host.shape)
    F.relu(x).backward(tensor(g, device))
    np.testing.assert_array_equal(host(x.grad), np.where(x_host > 0, g, 0.0))
    assert np.all(host(x.grad)[0, :3] == 0)


def test_relu_gradcheck_away_from_kink(device, rng):
    """Analytic gradient agrees with central differences where relu is differentiable."""
    x = _away_from_kink(rng, (2, 3, 4), device)
    assert tinynet.gradcheck(F.relu, [x])


# --- dropout --------------------------------------------------------------------------------------------------

def test_dropout_eval_is_identity(device, rng):
    """training=False returns the input unchanged (the same tensor, or at least equal values)."""
    x = rand(rng, (4, 5), device, requires_grad=True)
    y = F.dropout(x, p=0.5, training=False)
    assert y is x or np.array_equal(host(y), host(x))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.75])
def test_dropout_scales_kept_elements(device, rng, p, dtype):
    """Kept elements are exactly x / (1 - p); the others are exactly 0; dtype is preserved."""
    x_host = rng.uniform(0.5, 2.0, size=(20, 30)) * rng.choice([-1.0, 1.0], size=(20, 30))  # never 0
    x = tensor(x_host, device, dtype=dtype)
    tinynet.manual_seed(0)
    y = F.dropout(x, p=p)
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    out = host(y)
    kept = out != 0
    assert 0 < kept.sum() < kept.size
    x_typed = x_host.astype(dtype)
    np.testing.assert_allclose(out[kept], x_typed[kept] / (1 - p), rtol=3e-7 if dtype == "float32" else 1e-15)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_drops_about_p_of_the_elements(device, p):
    """On 100,000 elements the dropped fraction is within 0.01 of p (about 6 standard deviations)."""
    x = tensor(np.ones((100, 1000)), device, dtype="float32")
    tinynet.manual_seed(123)
    out = host(F.dropout(x, p=p))
    dropped = np.mean(out == 0)
    assert abs(dropped - p) < 0.01
    np.testing.assert_allclose(out[out != 0], np.float32(1.0) / np.float32(1 - p), rtol=1e-6)


def test_dropout_backward_uses_the_forward_mask(device, rng):
    """dx = g * m / (1 - p) with the same mask m the forward drew."""
    p = 0.4
    x = tensor(rng.uniform(0.5, 2.0, size=(6, 7)), device, requires_grad=True)
    tinynet.manual_seed(5)
    y = F.dropout(x, p=p)
    mask = host(y) != 0
    g = rng.standard_normal(y.shape)
    y.backward(tensor(g, device))
    np.testing.assert_allclose(host(x.grad), np.where(mask, g / (1 - p), 0.0), rtol=1e-15)


def test_dropout_same_seed_same_mask(device, rng):
    """manual_seed makes the mask reproducible; a different seed gives a different mask."""
    x = tensor(rng.uniform(0.5, 2.0, size=(30, 40)), device)
    tinynet.manual_seed(42)
    a = host(F.dropout(x, 0.5))
    tinynet.manual_seed(42)
    b = host(F.dropout(x, 0.5))
    tinynet.manual_seed(43)
    c = host(F.dropout(x, 0.5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a != 0, c != 0)


def test_dropout_fresh_mask_each_call(device, rng):
    """Without reseeding, two calls draw different masks."""
    x = tensor(rng.uniform(0.5, 2.0, size=(30, 40)), device)
    tinynet.manual_seed(1)
    a = host(F.dropout(x, 0.5))
    b = host(F.dropout(x, 0.5))
    assert not np.array_equal(a != 0, b != 0)


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_dropout_gradcheck_with_fixed_mask(device, rng, p):
    """Reseeding inside fn fixes the mask, so dropout is a fixed linear map and its gradient checks out."""
    x = rand(rng, (3, 5), device)

    def fn(x):
        tinynet.manual_seed(7)
        return F.dropout(x, p=p)

    # The check is only meaningful if the mask drops something and keeps something.
    mask = host(fn(x)) != 0
    assert 0 < mask.sum() < mask.size
    assert tinynet.gradcheck(fn, [x])


def test_dropout_p0_is_identity(device, rng):
    """p = 0 in training keeps every element unscaled, and the gradient passes through unchanged."""
    x = rand(rng, (5, 6), device)
    y = F.dropout(x, p=0.0, training=True)
    np.testing.assert_array_equal(host(y), host(x))
    g = rng.standard_normal(x.shape)
    (y * tensor(g, device)).sum().backward()  # works whether y is x itself or a new node
    np.testing.assert_array_equal(host(x.grad), g)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_p1_zeroes_everything(device, rng, dtype):
    """p = 1 gives all zeros (no division by zero, no NaN) and a zero gradient."""
    x = rand(rng, (5, 6), device, dtype=dtype)
    y = F.dropout(x, p=1.0)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(host(y), np.zeros((5, 6)))
    y.backward(tensor(rng.standard_normal((5, 6)), device))
    np.testing.assert_array_equal(host(x.grad), np.zeros((5, 6)))


@pytest.mark.parametrize("p", [-0.1, 1.5, 2])
@pytest.mark.parametrize("training", [True, False])
def test_dropout_invalid_p_raises(device, rng, p, training):
    """p outside [0, 1] raises ValueError naming the value, in training and in evaluation."""
    x = rand(rng, (2, 3), device, requires_grad=False)
    with pytest.raises(ValueError, match=str(p)):
        F.dropout(x, p=p, training=training)


def test_relu_keeps_nan(device):
    """A NaN stays NaN through ReLU (as in PyTorch), so a diverging activation is not hidden as 0."""
    y = F.relu(tensor([np.nan, -1.0, 2.0], device))
    out = host(y)
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == 2.0


def test_relu_keeps_no_mask_when_no_backward_follows(device, rng):
    """Under no_grad ReLU makes and keeps no mask; the output is the same."""
    from tinynet.functional.activation import ReLU

    x = rand(rng, (4, 5), device)
    op = ReLU()
    with tinynet.no_grad():
        y = op(x)
    assert op.mask is None
    np.testing.assert_array_equal(host(y), np.maximum(host(x), 0))


# --- bias_relu ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (4, 6), (2, 3, 7)], ids=["conv", "linear", "3d"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bias_relu_is_relu_of_x_plus_bias(device, rng, shape, dtype):
    """bias_relu(x, b) equals relu(x + b) with b along axis 1, exactly, in the input's dtype."""
    x = rand(rng, shape, device, requires_grad=False, dtype=dtype)
    b = rand(rng, (shape[1],), device, requires_grad=False, dtype=dtype)
    y = F.bias_relu(x, b)
    b_host = host(b).reshape((1, -1) + (1,) * (len(shape) - 2))
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    np.testing.assert_array_equal(host(y), np.maximum(host(x) + b_host, 0))


def test_bias_relu_gradients(device, rng):
    """dx = g * [x + b > 0] and db = dx summed over every axis but 1; gradcheck away from the kink."""
    x_host = rng.uniform(-1, 1, size=(2, 3, 4, 4))
    b_host = rng.uniform(-0.5, 0.5, size=3)
    z = x_host + b_host.reshape(1, 3, 1, 1)
    x_host[np.abs(z) < 0.05] += 0.1  # keep x + b away from 0
    x, b = tensor(x_host, device, requires_grad=True), tensor(b_host, device, requires_grad=True)
    g = rng.standard_normal(x_host.shape)
    F.bias_relu(x, b).backward(tensor(g, device))
    step = (x_host + b_host.reshape(1, 3, 1, 1)) > 0
    np.testing.assert_allclose(host(x.grad), np.where(step, g, 0.0), rtol=1e-15)
    np.testing.assert_allclose(host(b.grad), np.where(step, g, 0.0).sum(axis=(0, 2, 3)), rtol=1e-12)
    x.grad = b.grad = None
    assert tinynet.gradcheck(F.bias_relu, [x, b])


def test_bias_relu_checks_the_bias(device, rng):
    """A bias that does not match axis 1, or of another dtype, is refused with a message saying so."""
    x = rand(rng, (2, 3, 4), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError, match=r"bias must have shape \(C,\) = \(3,\)"):
        F.bias_relu(x, rand(rng, (4,), device, requires_grad=False))
    with pytest.raises(TypeError, match="bias_relu"):
        F.bias_relu(x, rand(rng, (3,), device, requires_grad=False, dtype="float32"))
