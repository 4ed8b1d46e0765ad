"""The activations and dropouts: values, gradients (gradcheck over the edge cases), PyTorch's values
(tests/fixtures/torch_activation.npz, from tools/torch_reference/activation.py), what each op keeps,
and the dropouts' randomness (scaling, rate, seeding). Bad arguments: tests/functional/test_bad_arguments.py."""
import functools
import inspect
import math
import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet import backend


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


# --- PyTorch's values: tanh, sigmoid, gelu (both forms), leaky_relu and elu (several constants) ----------------

TORCH = torch_fixture("activation")


def _torch_cases():
    cases = {"tanh": F.tanh, "sigmoid": F.sigmoid, "gelu_none": F.gelu,
             "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
             "leaky_relu_default": F.leaky_relu, "elu_default": F.elu}
    for k, slope in enumerate(TORCH["leaky_slopes"]):
        cases[f"leaky_relu_{k}"] = functools.partial(F.leaky_relu, negative_slope=float(slope))
    for k, alpha in enumerate(TORCH["elu_alphas"]):
        cases[f"elu_{k}"] = functools.partial(F.elu, alpha=float(alpha))
    return cases


TORCH_CASES = _torch_cases()


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
@pytest.mark.parametrize("inputs", ["", "_special"], ids=["finite", "nan-inf"])
def test_values_and_gradients_match_pytorch(device, case, inputs):
    """Outputs and input gradients (for a random upstream g) equal PyTorch's to 1e-12, from 1e-300 to
    +-1e6, at 0 and -0 (the kinks: PyTorch's one-sided slopes), and for NaN and +-inf."""
    x = tensor(TORCH[f"special_x" if inputs else "x"], device, requires_grad=True)
    g = tensor(TORCH[f"special_g" if inputs else "g"], device)
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 in gelu: NaN, as in PyTorch
        y = TORCH_CASES[case](x)
        y.backward(g)
    np.testing.assert_allclose(host(y), TORCH[f"{case}{inputs}_y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(x.grad), TORCH[f"{case}{inputs}_dx"], rtol=1e-12, atol=1e-12)


def test_pytorch_defaults_are_ours():
    """The fixture's default-argument runs are the ones with slope 0.01 and alpha 1.0 (the signatures agree)."""
    assert TORCH["leaky_slopes"][0] == 0.01 and TORCH["elu_alphas"][0] == 1.0
    for name in ("y", "dx"):
        np.testing.assert_array_equal(TORCH[f"leaky_relu_default_{name}"], TORCH[f"leaky_relu_0_{name}"])
        np.testing.assert_array_equal(TORCH[f"elu_default_{name}"], TORCH[f"elu_0_{name}"])


@pytest.mark.parametrize("fn", [F.tanh, F.sigmoid, F.gelu, functools.partial(F.gelu, approximate="tanh"),
                                F.leaky_relu, functools.partial(F.leaky_relu, negative_slope=-0.5), F.elu,
                                functools.partial(F.elu, alpha=-0.7)],
                         ids=["tanh", "sigmoid", "gelu", "gelu-tanh", "leaky", "leaky-negative", "elu", "elu-negative"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_and_shape_are_kept(device, rng, fn, dtype):
    """Any shape, the input's dtype; float32 agrees with float64 to float32's precision."""
    x64 = rng.uniform(-4, 4, size=(2, 3, 4))
    x = tensor(x64, device, dtype=dtype, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.dtype(dtype) and y.shape == (2, 3, 4)
    y.backward(tensor(np.ones((2, 3, 4)), device, dtype=dtype))
    assert x.grad.dtype == np.dtype(dtype)
    ref = fn(tensor(x64.astype(dtype).astype("float64"), device))
    np.testing.assert_allclose(host(y), host(ref), rtol=2e-6, atol=2e-7)


# --- gradient checks over the edge cases ------------------------------------------------------------------------

@pytest.mark.parametrize("fn, x, atol", [
    (F.sigmoid, [-30.0, -20.0, -12.0, -6.0, -0.3, 0.4, 6.0, 9.0, 12.0], 1e-10),
    (F.tanh, [-7.0, -5.0, -3.0, -0.2, 0.1, 3.0, 5.0, 7.0], 1e-10),
], ids=["sigmoid", "tanh"])
def test_gradcheck_tanh_sigmoid_at_large_magnitudes(device, fn, x, atol):
    """Where the slope is down to 1e-13 (sigmoid at -30) or 3e-6 (tanh at 7), with an absolute tolerance
    below the slope itself (central differences of a value near 1 are good to about 5e-11)."""
    assert tinynet.gradcheck(fn, [tensor(x, device, requires_grad=True)], atol=atol)


def test_sigmoid_and_tanh_keep_their_output_not_their_input(device, rng):
    """The op stores y (the derivative is y (1 - y), 1 - y^2), never x; nothing under no_grad."""
    from tinynet.functional.activation import Sigmoid, Tanh

    x = rand(rng, (3, 4), device)
    for Op in (Sigmoid, Tanh):
        op = Op()
        y = op(x)
        assert op.y is y.data and not hasattr(op, "x")
        with tinynet.no_grad():
            op = Op()
            op(x)
        assert op.y is None


def test_sigmoid_is_stable_and_accurate_in_both_tails(device):
    """No overflow warning for any x, and y to 2 ulps of 1 / (1 + e^-x) computed with 40 digits (Decimal),
    from x = -745 (y ~ 5e-324) to x = 40 (y rounds to 1)."""
    x = np.array([-745.0, -700.0, -300.0, -40.0, -20.0, -5.0, -1e-10, 0.0, 1e-10, 5.0, 20.0, 36.0, 40.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = host(F.sigmoid(tensor(x, device)))
        extreme = host(F.sigmoid(tensor([-1e308, -1e3, 1e3, 1e308], device)))
    np.testing.assert_array_equal(extreme, [0.0, 0.0, 1.0, 1.0])
    with localcontext() as ctx:
        ctx.prec = 40
        want = np.array([float(1 / (1 + (-Decimal(v)).exp())) for v in x])
    assert np.all(np.abs(y - want) <= 2 * np.spacing(want)), (y, want)


def test_sigmoid_slope_from_the_kept_output(device):
    """dy/dx = y (1 - y): exact for x << 0 (y keeps its relative precision, e^-40 here), 0 for x >> 0 where
    y rounds to 1 (the true slope, e^-40, is below float64's resolution near 1: PyTorch gives 0 too)."""
    x = tensor([-40.0, 40.0], device, requires_grad=True)
    F.sigmoid(x).backward(tensor([1.0, 1.0], device))
    slope = math.exp(-40.0) / (1 + math.exp(-40.0)) ** 2
    np.testing.assert_allclose(host(x.grad)[0], slope, rtol=1e-15)
    assert host(x.grad)[1] == 0.0


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("scale", [1e-3, 0.5, 3.0], ids=["near-0", "unit", "wide"])
def test_gelu_gradcheck(device, rng, approximate, scale):
    """GELU is smooth everywhere: around 0 (|x| <= 1e-3), where its slope goes 1/2 -> 1, and further out."""
    x = tensor(rng.uniform(-scale, scale, size=(3, 5)), device, requires_grad=True)
    assert tinynet.gradcheck(lambda v: F.gelu(v, approximate=approximate), [x], atol=1e-8)


def test_gelu_is_x_times_the_normal_cdf(device):
    """gelu(x) = x Phi(x) as accurately as the argument x / sqrt(2) allows (rounding it moves erfc's value by
    up to x^2 * eps, relative: erfc's condition number), in the left tail too (x = -30: Phi ~ 5e-198), where
    PyTorch's 1 + erf(x / sqrt 2) cancels (it returns -0.0 from about x = -8.4 on); the slope Phi + x phi likewise."""
    x = np.array([-30.0, -20.0, -10.0, -8.0, -5.0, -2.0, -0.5, -1e-6, 0.0, 1e-6, 0.5, 2.0, 5.0, 10.0])
    t = tensor(x, device, requires_grad=True)
    y = F.gelu(t)
    y.backward(tensor(np.ones_like(x), device))
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    eps = np.finfo(np.float64).eps
    tolerance = (8 + 2 * x * x) * eps
    assert np.all(np.abs(host(y) - x * cdf) <= tolerance * np.abs(x * cdf))
    assert np.all(np.abs(host(t.grad) - (cdf + x * pdf)) <= tolerance * np.abs(cdf + x * pdf))
    assert host(y)[0] < 0  # not -0.0: the tail is kept


def test_gelu_tanh_form_is_close_to_the_exact_one(device, rng):
    """The tanh form is within 5e-4 of x Phi(x) (PyTorch's claim for it is "approximately")."""
    x = tensor(rng.uniform(-6, 6, size=1000), device)
    assert np.max(np.abs(host(F.gelu(x, "tanh")) - host(F.gelu(x)))) < 5e-4


@pytest.mark.parametrize("slope", [0.01, 0.2, -0.5, 1.5, 0.0])
def test_leaky_relu_gradcheck_away_from_the_kink(device, rng, slope):
    """Any slope PyTorch allows, negative and above 1 included; x at least 0.05 away from 0."""
    x = _away_from_kink(rng, (3, 4), device)
    assert tinynet.gradcheck(functools.partial(F.leaky_relu, negative_slope=slope), [x])


def test_leaky_relu_keeps_only_a_mask(device, rng):
    from tinynet.functional.activation import LeakyReLU

    x = rand(rng, (3, 4), device)
    op = LeakyReLU(0.1)
    op(x)
    assert op.mask.dtype == bool and not hasattr(op, "x")
    np.testing.assert_array_equal(host(op.mask), host(x) > 0)


@pytest.mark.parametrize("alpha", [1.0, 0.5, -0.7, 2.0])
@pytest.mark.parametrize("side", [-1.0, 1.0], ids=["left", "right"])
@pytest.mark.parametrize("distance", [1e-4, 1e-2, 1.0])
def test_elu_gradcheck_approaching_the_kink(device, rng, alpha, side, distance):
    """ELU at distance 1e-4, 1e-2 and 1 from its kink, from each side (never at it; the step, 1e-6, never
    crosses 0): slope 1 on the right, alpha e^x on the left (so the slopes disagree at 0 unless alpha = 1)."""
    x = tensor(side * distance * rng.uniform(1.0, 2.0, size=(2, 3)), device, requires_grad=True)
    assert tinynet.gradcheck(functools.partial(F.elu, alpha=alpha), [x], atol=1e-9)


def test_elu_keeps_its_input(device, rng):
    """ELU keeps x (its slope alpha e^x; y + alpha would lose e^x where it is below alpha's last bit)."""
    from tinynet.functional.activation import ELU

    x = rand(rng, (3, 4), device)
    op = ELU(1.0)
    op(x)
    assert op.x is x.data and not hasattr(op, "y")


def test_elu_is_exact_near_zero(device):
    """expm1, not exp - 1: elu(-1e-10) = -1e-10 + 5e-21 to the last bit."""
    y = host(F.elu(tensor([-1e-10, -1e-300], device)))
    assert y[0] == math.expm1(-1e-10) and y[1] == -1e-300


@pytest.mark.parametrize("call", [
    lambda x: F.relu(x, inplace=True), lambda x: F.leaky_relu(x, 0.1, inplace=True),
    lambda x: F.elu(x, inplace=True), lambda x: F.dropout(x, 0.5, inplace=True),
    lambda x: F.dropout2d(x, 0.5, inplace=True)], ids=["relu", "leaky_relu", "elu", "dropout", "dropout2d"])
def test_inplace_writes_into_the_input_and_returns_it(device, rng, call):
    """inplace=True, as in PyTorch: the result is written into the input tensor, which is returned
    (values and gradients against the out-of-place ops: tests/functional/test_inplace.py)."""
    x_host = rng.uniform(-1, 1, size=(2, 3, 4, 4))
    x = tensor(x_host.copy(), device)
    y = call(x)
    assert y is x and x._version == 1
    assert not np.array_equal(host(x), x_host)  # each of these changes some negative (or dropped) element


# --- dropout2d ----------------------------------------------------------------------------------------------

def _channel_is_all_or_nothing(y, x, p):
    """Each channel (the last two axes) is either all 0 or exactly x / (1 - p); returns the kept mask."""
    kept = np.any(y != 0, axis=(-2, -1))
    for idx in np.ndindex(kept.shape):
        want = x[idx] / (1 - p) if kept[idx] else np.zeros_like(x[idx])
        np.testing.assert_array_equal(y[idx], want)
    return kept


@pytest.mark.parametrize("shape", [(4, 6, 3, 5), (6, 3, 5)], ids=["NCHW", "CHW"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout2d_zeroes_whole_channels(device, rng, shape, dtype):
    """Every channel x[n, c] (x[c] unbatched) is dropped whole or kept whole and scaled by 1/(1-p), in x's dtype."""
    p = 0.4
    x_host = (rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)).astype(dtype)
    tinynet.manual_seed(3)
    y = F.dropout2d(tensor(x_host, device), p)
    assert y.dtype == np.dtype(dtype) and y.shape == shape
    scale = np.dtype(dtype).type(1 / (1 - p))
    kept = np.any(host(y) != 0, axis=(-2, -1))
    assert kept.shape == shape[:-2] and 0 < kept.sum() < kept.size
    want = np.where(kept[..., None, None], x_host * scale, 0)
    np.testing.assert_array_equal(host(y), want)


def test_dropout2d_drops_about_p_of_the_channels(device):
    """On 100,000 channels the dropped fraction is within 0.01 of p."""
    x = tensor(np.ones((1000, 100, 2, 2)), device, dtype="float32")
    tinynet.manual_seed(9)
    y = host(F.dropout2d(x, 0.3))
    dropped = np.mean(np.all(y == 0, axis=(2, 3)))
    assert abs(dropped - 0.3) < 0.01


def test_dropout2d_backward_uses_the_forward_mask(device, rng):
    """dx = g * m / (1 - p) with the forward's channel mask, broadcast over H and W; the op keeps only the
    (N, C, 1, 1) factor m / (1 - p)."""
    from tinynet.functional.activation import Dropout2d

    p = 0.5
    x = tensor(rng.uniform(0.5, 2.0, size=(3, 4, 2, 3)), device, requires_grad=True)
    tinynet.manual_seed(2)
    op = Dropout2d(p)
    y = op(x)
    assert op.factor.shape == (3, 4, 1, 1) and not hasattr(op, "x")
    kept = _channel_is_all_or_nothing(host(y), host(x), p)
    g = rng.standard_normal(y.shape)
    y.backward(tensor(g, device))
    np.testing.assert_array_equal(host(x.grad), np.where(kept[..., None, None], g / (1 - p), 0.0))


def test_dropout2d_seeding(device, rng):
    """manual_seed fixes the mask; another seed, or the next call, draws another."""
    x = tensor(rng.uniform(0.5, 2.0, size=(8, 16, 2, 2)), device)
    tinynet.manual_seed(42)
    a = host(F.dropout2d(x))
    b = host(F.dropout2d(x))
    tinynet.manual_seed(42)
    np.testing.assert_array_equal(host(F.dropout2d(x)), a)
    tinynet.manual_seed(43)
    c = host(F.dropout2d(x))
    assert not np.array_equal(a != 0, b != 0) and not np.array_equal(a != 0, c != 0)


@pytest.mark.parametrize("p", [0.3, 0.6])
@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (4, 2, 3)], ids=["NCHW", "CHW"])
def test_dropout2d_gradcheck_with_fixed_mask(device, rng, p, shape):
    x = rand(rng, shape, device)

    def fn(x):
        tinynet.manual_seed(11)
        return F.dropout2d(x, p)

    kept = np.any(host(fn(x)) != 0, axis=(-2, -1))
    assert 0 < kept.sum() < kept.size
    assert tinynet.gradcheck(fn, [x])


def test_dropout2d_p0_eval_and_p1(device, rng):
    """p = 0 and training=False return the input itself; p = 1 zeroes everything, gradient included."""
    x = rand(rng, (2, 3, 4, 4), device)
    assert F.dropout2d(x, 0.0) is x and F.dropout2d(x, 0.5, training=False) is x
    y = F.dropout2d(x, 1.0)
    np.testing.assert_array_equal(host(y), np.zeros(x.shape))
    y.backward(tensor(rng.standard_normal(x.shape), device))
    np.testing.assert_array_equal(host(x.grad), np.zeros(x.shape))


def test_dropout2d_matches_pytorch_given_its_mask(device, monkeypatch):
    """Fed the channels torch dropped (its p = 0.3 run), our output and gradient are torch's to 1e-12;
    p = 1 and evaluation as torch's."""
    x_host, g = TORCH["dropout2d_x"], TORCH["dropout2d_g"]
    kept = np.any(TORCH["dropout2d_p03_y"] != 0, axis=(2, 3), keepdims=True)
    assert 0 < kept.sum() < kept.size

    def uniforms(shape, dtype, like):  # u >= p exactly where torch kept the channel
        assert tuple(shape) == kept.shape
        return backend.to_device(np.where(kept, 0.9, 0.1).astype(dtype), device)

    monkeypatch.setattr(backend, "random_uniform", uniforms)
    x = tensor(x_host, device, requires_grad=True)
    y = F.dropout2d(x, 0.3)
    y.backward(tensor(g, device))
    np.testing.assert_allclose(host(y), TORCH["dropout2d_p03_y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(x.grad), TORCH["dropout2d_p03_dx"], rtol=1e-12, atol=1e-12)

    x = tensor(x_host, device, requires_grad=True)
    y = F.dropout2d(x, 1.0)
    y.backward(tensor(g, device))
    np.testing.assert_array_equal(host(y), TORCH["dropout2d_p1_y"])
    np.testing.assert_array_equal(host(x.grad), TORCH["dropout2d_p1_dx"])
    np.testing.assert_array_equal(host(F.dropout2d(tensor(x_host, device), training=False)), TORCH["dropout2d_eval_y"])


def test_dropout2d_unbatched_is_per_channel_unlike_pytorch_2_13(device):
    """A 3-d input is one sample (C, H, W): x[c] is dropped whole. PyTorch 2.13 takes it as (N, C, L) (and
    warns that this will change), so its zeros run along the last axis only: rows of x[0] differ."""
    torch_y = TORCH["dropout2d_3d_y"]  # torch's F.dropout2d(ones(2, 3, 4), 0.5)
    rows_kept = np.any(torch_y != 0, axis=-1)
    assert np.all((torch_y == 0) | (torch_y == 2.0))
    assert np.any(rows_kept.any(axis=1) & ~rows_kept.all(axis=1))  # some x[n] partly kept: not (C, H, W)
    tinynet.manual_seed(0)
    y = host(F.dropout2d(tensor(np.ones((8, 3, 4)), device), 0.5))
    kept = np.any(y != 0, axis=(1, 2))
    assert 0 < kept.sum() < 8
    np.testing.assert_array_equal(y, np.broadcast_to(np.where(kept[:, None, None], 2.0, 0.0), y.shape))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "dropout", "dropout2d"])
def test_signatures_are_pytorchs(name):
    """Parameter names, order and defaults as torch.nn.functional's (recorded from PyTorch in the fixture)."""
    params = inspect.signature(getattr(F, name)).parameters.values()
    ours = ", ".join(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}" for p in params)
    assert ours == str(TORCH[f"sig_{name}"])
