"""gradcheck: passes correct ops, catches wrong ones, and reports where."""
import re

import numpy as np
import pytest

import tinynet
from tinynet import functional as F
from tests.helpers import host, rand


class Mul(tinynet.Function):
    """x * y with a correct backward."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        return g * self.y, g * self.x


class MulWrongAtOneElement(Mul):
    """x * y whose gradient for y is 3 times too large at element (1, 2) only."""

    def backward(self, g):
        gx, gy = super().backward(g)
        gy = gy.copy()
        gy[1, 2] *= 3.0
        return gx, gy


class DoubleWithHalfGradient(tinynet.Function):
    """y = 2x, but backward says dy/dx = 1: off by a factor of 2 everywhere."""

    def forward(self, x):
        return 2.0 * x

    def backward(self, g):
        return g


class SoftmaxZeroBackward(tinynet.Function):
    """A real softmax forward with a backward that returns zeros."""

    def forward(self, z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def backward(self, g):
        return np.zeros_like(g)


def _message_numbers(msg):
    analytic = float(re.search(r"analytic\s+(-?[\d.eE+-]+)", msg).group(1))
    numeric = float(re.search(r"numeric\s+(-?[\d.eE+-]+)", msg).group(1))
    return analytic, numeric


def test_correct_op_passes(rng):
    # A hand-written correct op and a built-in one both pass, and gradcheck returns True.
    x, y = rand(rng, (3, 4)), rand(rng, (3, 4))
    assert tinynet.gradcheck(lambda a, b: Mul()(a, b), [x, y]) is True
    assert tinynet.gradcheck(lambda a: F.softmax(a, dim=-1), [rand(rng, (2, 5))]) is True


def test_off_by_factor_backward_is_detected(rng):
    # dy/dx reported as 1 instead of 2: analytic/numeric = 1/2 at the worst element.
    x = rand(rng, (2, 3))
    with pytest.raises(tinynet.GradcheckError) as e:
        tinynet.gradcheck(lambda a: DoubleWithHalfGradient()(a), [x])
    msg = str(e.value)
    assert "input 0" in msg
    analytic, numeric = _message_numbers(msg)
    assert analytic == pytest.approx(numeric / 2, rel=1e-4)


def test_report_names_input_worst_index_and_values(rng):
    # Only y's gradient at (1, 2) is wrong (x3): the report must name input 1, index (1, 2),
    # and give analytic = 3 * numeric there. GradcheckError is an AssertionError (pytest shows it).
    x, y = rand(rng, (3, 4)), rand(rng, (3, 4))
    with pytest.raises(tinynet.GradcheckError) as e:
        tinynet.gradcheck(lambda a, b: MulWrongAtOneElement()(a, b), [x, y])
    assert isinstance(e.value, AssertionError)
    msg = str(e.value)
    assert "input 1" in msg and "input 0" not in msg
    assert "(1, 2)" in msg
    analytic, numeric = _message_numbers(msg)
    assert abs(numeric) > 1e-3
    assert analytic == pytest.approx(3 * numeric, rel=1e-4)
    # numeric = dL/dy[1, 2] = G[1, 2] * x[1, 2] for the (unknown) upstream G: its magnitude
    # is bounded by |x[1, 2]| times a standard-normal draw, never larger than, say, 10|x|.
    assert abs(numeric) < 10 * abs(host(x)[1, 2])


def test_softmax_with_zero_backward_fails(rng):
    # sum(softmax(z)) == 1 for every z, so a check against sum(outputs) would pass a zero
    # backward; gradcheck's random upstream gradient must catch it.
    z = rand(rng, (2, 4))
    # (The premise: with an all-ones upstream the true gradient is zero.)
    z_ones = rand(rng, (2, 4))
    F.softmax(z_ones, dim=-1).backward(np.ones((2, 4)))
    np.testing.assert_allclose(host(z_ones.grad), 0.0, atol=1e-12)
    with pytest.raises(tinynet.GradcheckError, match="input 0"):
        tinynet.gradcheck(lambda a: SoftmaxZeroBackward()(a), [z])


def test_float32_inputs_raise_type_error(rng):
    # Float32 can't resolve central differences with eps=1e-6: refused up front.
    x = rand(rng, (3,), dtype="float32")
    with pytest.raises(TypeError, match="float64"):
        tinynet.gradcheck(lambda a: a * 2.0, [x])


def test_no_input_requiring_grad_raises(rng):
    # Nothing to check is an error, not a silent pass.
    x = rand(rng, (3,), requires_grad=False)
    with pytest.raises(ValueError):
        tinynet.gradcheck(lambda a: a * 2.0, [x])


def test_inputs_restored_after_passing_check(rng):
    # Each element is perturbed in place and put back: data (same array) and .grad unchanged.
    x, y = rand(rng, (3, 4)), rand(rng, (3, 4))
    x_before, y_before = host(x).copy(), host(y).copy()
    x_data = x.data
    x.grad = tinynet.Tensor(np.full((3, 4), 7.0))
    tinynet.gradcheck(lambda a, b: Mul()(a, b), [x, y])
    assert x.data is x_data
    np.testing.assert_array_equal(host(x), x_before)
    np.testing.assert_array_equal(host(y), y_before)
    np.testing.assert_array_equal(host(x.grad), np.full((3, 4), 7.0))
    assert y.grad is None


def test_inputs_restored_after_failing_check(rng):
    # A failing check also leaves the inputs' values as they were.
    x, y = rand(rng, (3, 4)), rand(rng, (3, 4))
    x_before, y_before = host(x).copy(), host(y).copy()
    with pytest.raises(tinynet.GradcheckError):
        tinynet.gradcheck(lambda a, b: MulWrongAtOneElement()(a, b), [x, y])
    np.testing.assert_array_equal(host(x), x_before)
    np.testing.assert_array_equal(host(y), y_before)


def test_inputs_not_requiring_grad_are_left_alone(rng):
    # A constant input is used as given and not checked: the wrong gradient for it goes unreported.
    x = rand(rng, (3, 4))
    c = rand(rng, (3, 4), requires_grad=False)
    assert tinynet.gradcheck(lambda a, b: MulWrongAtOneElement()(a, b), [x, c])


# --- directional check ------------------------------------------------------------------------------


def test_directional_check_passes_through_a_whole_network():
    from tinynet import nn

    tinynet.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 2))
    net.double()
    x = tinynet.Tensor(np.random.default_rng(0).standard_normal((2, 2, 4, 4)), requires_grad=True)
    params = list(net.parameters())
    before = [p.numpy() for p in params]
    assert tinynet.gradcheck_directional(lambda x, *p: net(x), [x, *params], directions=3)
    for p, b in zip(params, before):  # every input is restored
        np.testing.assert_array_equal(p.numpy(), b)


def test_directional_check_catches_a_one_percent_error_in_one_parameter_gradient():
    class ScaledGradLinear(tinynet.Function):
        """y = x @ w, but backward reports dL/dw 1% too large."""

        def forward(self, x, w):
            self.x, self.w = x, w
            return x @ w

        def backward(self, g):
            return g @ self.w.T, 1.01 * (self.x.T @ g)

    rng = np.random.default_rng(0)
    x = tinynet.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = tinynet.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    with pytest.raises(tinynet.GradcheckError, match="direction 0"):
        tinynet.gradcheck_directional(lambda x, w: ScaledGradLinear()(x, w), [x, w])


@pytest.mark.parametrize("forward", [np.sqrt, lambda x: 1 / (x - x)], ids=["nan", "inf"])
def test_gradcheck_fails_when_the_function_is_not_finite(forward):
    """A forward that gives NaN or inf makes every difference NaN; that must fail, never pass."""

    class Bogus(tinynet.Function):
        def forward(self, x):
            return forward(x)

        def backward(self, g):
            return 5 * g

    x = tinynet.Tensor(-np.ones(3), requires_grad=True)
    with pytest.raises(tinynet.GradcheckError):
        with np.errstate(all="ignore"):
            tinynet.gradcheck(lambda x: Bogus()(x), [x])


def test_sampled_gradcheck_checks_only_the_sampled_elements_but_catches_errors_there():
    class WrongAtOne(tinynet.Function):
        """y = 2x, but backward is wrong for element 7 only."""

        def forward(self, x):
            return 2 * x

        def backward(self, g):
            gx = 2 * g
            gx[7] += 1.0
            return gx

    x = tinynet.Tensor(np.random.default_rng(0).standard_normal(50), requires_grad=True)
    with pytest.raises(tinynet.GradcheckError, match=r"index \(7,\)"):
        tinynet.gradcheck(lambda x: WrongAtOne()(x), [x])  # all elements
    caught = 0
    for seed in range(10):  # samples of 10 of 50 elements include element 7 about one time in five
        try:
            tinynet.gradcheck(lambda x: WrongAtOne()(x), [x], max_elements=10, seed=seed)
        except tinynet.GradcheckError as e:
            assert "index (7,)" in str(e)
            caught += 1
    assert 0 < caught < 10


# (keyword arguments, error, message): settings refused before any forward pass.
BAD_SETTINGS = [
    (dict(eps=0.0), ValueError, r"gradcheck: eps must be a finite number > 0, got 0.0"),
    (dict(eps=float("nan")), ValueError, r"gradcheck: eps must be .* got nan"),
    (dict(atol=-1e-5), ValueError, r"gradcheck: atol must be a finite number >= 0"),
    (dict(rtol="1e-3"), TypeError, r"gradcheck: rtol must be a finite number >= 0, got '1e-3'"),
    (dict(seed=-1), ValueError, r"gradcheck: seed must be an int >= 0"),
    (dict(max_elements=0), ValueError, r"gradcheck: max_elements must be an int >= 1"),
]


@pytest.mark.parametrize("kwargs, error, message", BAD_SETTINGS, ids=[str(k) for k, _, _ in BAD_SETTINGS])
def test_bad_settings_are_refused(kwargs, error, message):
    x = tinynet.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(error, match=message):
        tinynet.gradcheck(lambda t: (t * t).sum(), [x], **kwargs)


def test_bad_directions_are_refused():
    x = tinynet.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="gradcheck_directional: directions must be an int >= 1, got 0"):
        tinynet.gradcheck_directional(lambda t: (t * t).sum(), [x], directions=0)
