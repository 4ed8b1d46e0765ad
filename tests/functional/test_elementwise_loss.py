"""mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy, binary_cross_entropy_with_logits: values and the
gradients of input and target against PyTorch (tests/fixtures/torch_loss.npz, at 1e-12) and against the loops of
tinynet/functional/reference/loss.py, gradient checks, the clamps and tails, and a table of bad arguments.
"""
import re
import warnings

import numpy as np
import pytest

import tinynet
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet.functional import reference
from tinynet.functional.elementwise_loss import (binary_cross_entropy, binary_cross_entropy_with_logits, l1_loss,
                                                 mse_loss, smooth_l1_loss)

TORCH = torch_fixture("loss")
TOL = dict(rtol=1e-12, atol=1e-12)
REDUCTIONS = ["mean", "sum", "none"]

CASES = {  # fixture name -> (the loss, its keyword options)
    "mse": (mse_loss, {}),
    "l1": (l1_loss, {}),
    "smooth_l1_beta1": (smooth_l1_loss, {"beta": 1.0}),
    "smooth_l1_beta0.5": (smooth_l1_loss, {"beta": 0.5}),
    "smooth_l1_beta0": (smooth_l1_loss, {"beta": 0.0}),
    "bce_now": (binary_cross_entropy, {}),
    "bce_w4": (binary_cross_entropy, {}),
    "bce_w34": (binary_cross_entropy, {}),
    "bcel_now": (binary_cross_entropy_with_logits, {}),
    "bcel_w31": (binary_cross_entropy_with_logits, {}),
    "bcel_pw4": (binary_cross_entropy_with_logits, {}),
    "bcel_w4_pw31": (binary_cross_entropy_with_logits, {}),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(device, name, reduction):
    """Loss, dx and dy equal torch's at 1e-12: an exact tie and |d| = beta for l1 / smooth_l1; x = 0, 1 and 1e-50
    for bce (the -100 clamp, PyTorch's 1e-12 bound in the slope, infinite target slopes); logits of +-60 for
    bce with logits; weights of shape (4,), (3, 1), (3, 4) and pos_weight (4,) and (3, 1) broadcast."""
    fn, options = CASES[name]
    options = dict(options)
    for extra in ("weight", "pos_weight"):
        if f"{name}_{extra}" in TORCH:
            options[extra] = tensor(TORCH[f"{name}_{extra}"], device)
    x = tensor(TORCH[f"{name}_x"], device, requires_grad=True)
    y = tensor(TORCH[f"{name}_y"], device, requires_grad=True)
    key = f"{name}_{reduction}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the infinite slopes come without a NumPy warning
        loss = fn(x, y, reduction=reduction, **options)
        np.testing.assert_allclose(host(loss), TORCH[f"{key}_loss"], **TOL)
        loss.backward(tensor(TORCH[f"{key}_g"], device))
    np.testing.assert_allclose(host(x.grad), TORCH[f"{key}_dx"], **TOL)
    np.testing.assert_allclose(host(y.grad), TORCH[f"{key}_dy"], **TOL)


def test_the_fixture_has_every_case():
    assert all(f"{name}_{r}_loss" in TORCH for name in CASES for r in REDUCTIONS)


# --- the formulas, the loops, gradient checks ----------------------------------------------------------------

def _apart(rng, shape, keep_away=(0.0,), margin=0.05):
    """x, y with every difference at least ``margin`` away from each kink in ``keep_away`` (central
    differences across a kink are wrong)."""
    x = rng.normal(0, 1.5, shape)
    d = rng.normal(0, 1.5, shape)
    for k in keep_away:
        for sign in (1, -1):
            close = np.abs(d - sign * k) < margin
            d[close] = sign * k + margin * 2 * np.sign(d[close] - sign * k + 1e-300)
    return x, x - d


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_equal_their_formulas(device, rng, reduction):
    x, y = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    got = mse_loss(tensor(x, device), tensor(y, device), reduction=reduction)
    np.testing.assert_allclose(host(got), reduce((x - y) ** 2), rtol=1e-12)
    got = l1_loss(tensor(x, device), tensor(y, device), reduction=reduction)
    np.testing.assert_allclose(host(got), reduce(np.abs(x - y)), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.3, 0.0])
def test_smooth_l1_equals_the_loop(device, rng, beta, reduction):
    x, y = _apart(rng, (4, 3), keep_away=(0.0, beta))
    got = smooth_l1_loss(tensor(x, device), tensor(y, device), reduction=reduction, beta=beta)
    np.testing.assert_allclose(host(got), reference.smooth_l1_loss(x, y, reduction, beta), rtol=1e-12, atol=1e-14)


def test_smooth_l1_with_beta_0_is_l1(device, rng):
    x, y = tensor(rng.normal(size=(6,)), device), tensor(rng.normal(size=(6,)), device)
    np.testing.assert_array_equal(host(smooth_l1_loss(x, y, beta=0.0, reduction="none")),
                                  host(l1_loss(x, y, reduction="none")))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 1), (2, 3, 4)])
def test_bce_equals_the_loop(device, rng, weight_shape, reduction):
    x = rng.uniform(0, 1, (2, 3, 4))
    x.reshape(-1)[:3] = [0.0, 1.0, 1e-60]  # the clamped logs
    y = rng.uniform(0, 1, (2, 3, 4))
    w = None if weight_shape is None else rng.uniform(0.2, 2, weight_shape)
    got = binary_cross_entropy(tensor(x, device), tensor(y, device), None if w is None else tensor(w, device),
                               reduction=reduction)
    np.testing.assert_allclose(host(got), reference.binary_cross_entropy(x, y, w, reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape, pos_weight_shape", [(None, None), ((4,), None), (None, (4,)), ((3, 1), (3, 4)),
                                                            (None, (1, 3, 1))])
def test_bce_with_logits_equals_the_loop(device, rng, weight_shape, pos_weight_shape, reduction):
    x = rng.normal(0, 4, (2, 3, 4))
    x.reshape(-1)[:2] = [-800.0, 800.0]  # e^800 overflows: the loop and the op must both avoid it
    y = rng.uniform(0, 1, (2, 3, 4))
    w = None if weight_shape is None else rng.uniform(0.2, 2, weight_shape)
    P = None if pos_weight_shape is None else rng.uniform(0.2, 3, pos_weight_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = binary_cross_entropy_with_logits(tensor(x, device), tensor(y, device),
                                               None if w is None else tensor(w, device), reduction=reduction,
                                               pos_weight=None if P is None else tensor(P, device))
        expected = reference.binary_cross_entropy_with_logits(x, y, w, reduction, P)
    np.testing.assert_allclose(host(got), expected, rtol=1e-12, atol=1e-13)


def test_bce_with_logits_is_bce_of_the_sigmoid(device, rng):
    x = rng.normal(0, 2, (5, 3))
    y = rng.uniform(0, 1, (5, 3))
    a = binary_cross_entropy_with_logits(tensor(x, device), tensor(y, device), reduction="none")
    b = binary_cross_entropy(tensor(1 / (1 + np.exp(-x)), device), tensor(y, device), reduction="none")
    np.testing.assert_allclose(host(a), host(b), rtol=1e-10)


def test_pos_weight_per_class_weighs_only_the_positives(device):
    """pos_weight (C,) on an (N, C) input: class c's positive term is multiplied by P_c, the negative one not."""
    x = tensor(np.zeros((2, 3)), device)
    y = tensor(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]), device)
    P = tensor(np.array([1.0, 2.0, 3.0]), device)
    got = host(binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=P))
    np.testing.assert_allclose(got, np.log(2) * np.array([[1, 2, 1], [1, 2, 3]]), rtol=1e-15)


def test_bce_clamps_each_log_at_minus_100(device):
    """x = 0 with y = 1 (and x = 1 with y = 0) would be log 0 = -inf: PyTorch clamps it, the loss is 100."""
    x, y = tensor(np.array([0.0, 1.0, 0.0, 1.0]), device), tensor(np.array([1.0, 0.0, 0.0, 1.0]), device)
    np.testing.assert_array_equal(host(binary_cross_entropy(x, y, reduction="none")), [100.0, 100.0, 0.0, 0.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse", "l1", "smooth_l1", "smooth_l1_beta0", "bce", "bce_weighted", "bcel",
                                  "bcel_weighted"])
def test_gradcheck_input_and_target(device, rng, name, reduction):
    """dx and dy agree with central differences (float64, random upstream), away from the kinks."""
    shape = (3, 4)
    if name.startswith("bce"):
        x = rng.uniform(0.05, 0.95, shape) if not name.startswith("bcel") else rng.normal(0, 3, shape)
        y = rng.uniform(0, 1, shape)
    else:
        x, y = _apart(rng, shape, keep_away=(0.0, 1.0))
    x, y = tensor(x, device, requires_grad=True), tensor(y, device, requires_grad=True)
    w = tensor(rng.uniform(0.2, 2, (4,)), device)
    P = tensor(rng.uniform(0.2, 3, (3, 1)), device)
    fn = {
        "mse": lambda x, y: mse_loss(x, y, reduction=reduction),
        "l1": lambda x, y: l1_loss(x, y, reduction=reduction),
        "smooth_l1": lambda x, y: smooth_l1_loss(x, y, reduction=reduction),
        "smooth_l1_beta0": lambda x, y: smooth_l1_loss(x, y, reduction=reduction, beta=0.0),
        "bce": lambda x, y: binary_cross_entropy(x, y, reduction=reduction),
        "bce_weighted": lambda x, y: binary_cross_entropy(x, y, w, reduction=reduction),
        "bcel": lambda x, y: binary_cross_entropy_with_logits(x, y, reduction=reduction),
        "bcel_weighted": lambda x, y: binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=P),
    }[name]
    assert tinynet.gradcheck(fn, [x, y])


def test_a_target_that_needs_no_gradient_gets_none(device, rng):
    x = rand(rng, (3,), device)
    y = rand(rng, (3,), device, requires_grad=False)
    mse_loss(x, y).backward()
    assert x.grad is not None and y.grad is None


def test_under_no_grad_an_op_keeps_nothing(device, rng):
    """No backward will follow under no_grad: the ops keep no array (e.g. bce neither x nor y)."""
    from tinynet.functional.elementwise_loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, SmoothL1Loss

    x, y = tensor(rng.uniform(0.1, 0.9, (3,)), device), tensor(rng.uniform(0, 1, (3,)), device)
    with tinynet.no_grad():
        for op in (BinaryCrossEntropy(), BinaryCrossEntropyWithLogits(), SmoothL1Loss()):
            op(x, y)
            assert not any(isinstance(v, (np.ndarray, tinynet.Tensor)) or hasattr(v, "__cuda_array_interface__")
                           for v in vars(op).values())


@pytest.mark.parametrize("fn", [mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy,
                                binary_cross_entropy_with_logits])
def test_float32_empty_and_0d(device, fn):
    """float32 stays float32; an empty input's mean is nan (sum 0), as PyTorch; a 0-d pair works."""
    x = tensor(np.full((2, 3), 0.25), device, dtype="float32")
    assert fn(x, x).dtype == np.float32
    empty = tensor(np.zeros((0, 3)), device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(fn(empty, empty).item()) and fn(empty, empty, reduction="sum").item() == 0.0
    half = tensor(0.5, device, dtype="float64")
    assert fn(half, half, reduction="none").shape == ()


# --- bad arguments and bad inputs -------------------------------------------------------------------------------

NAN = float("nan")


def _x(*shape, value=0.5, dtype=np.float64):
    return tinynet.Tensor(np.full(shape, value, dtype=dtype))


BCE, BCEL = binary_cross_entropy, binary_cross_entropy_with_logits
BAD = [
    # reduction and the deprecated slots, every loss
    *[(lambda fn=fn: fn(_x(2), _x(2), reduction="avg"), ValueError,
       rf"^{fn.__name__}: reduction must be 'mean', 'sum' or 'none', got 'avg'$")
      for fn in (mse_loss, l1_loss, smooth_l1_loss, BCE, BCEL)],
    (lambda: mse_loss(_x(2), _x(2), True), ValueError,
     r"^mse_loss: size_average is deprecated and not supported, got True; use reduction="),
    (lambda: l1_loss(_x(2), _x(2), None, False), ValueError,
     r"^l1_loss: reduce is deprecated and not supported, got False"),
    (lambda: mse_loss(_x(2), _x(2), "sum"), ValueError, r"^mse_loss: size_average is deprecated .*got 'sum'"),
    (lambda: BCE(_x(2), _x(2), None, False), ValueError, r"^binary_cross_entropy: size_average is deprecated"),
    (lambda: mse_loss(_x(2), _x(2), reduction=0), ValueError, r"^mse_loss: reduction must be .*got 0$"),
    # shapes and dtypes
    (lambda: mse_loss(_x(3, 1), _x(3)), tinynet.ShapeError,
     r"^mse_loss: target shape \(3,\) must equal input shape \(3, 1\) \(tinynet does not broadcast a loss's target\)$"),
    (lambda: l1_loss(_x(2, 3), _x(3, 2)), tinynet.ShapeError,
     r"^l1_loss: target shape \(3, 2\) must equal input shape \(2, 3\)"),
    (lambda: BCE(_x(2, 3), _x(3)), tinynet.ShapeError, r"^binary_cross_entropy: target shape \(3,\) must equal"),
    (lambda: BCEL(_x(2, 3), _x()), tinynet.ShapeError,
     r"^binary_cross_entropy_with_logits: target shape \(\) must equal"),
    (lambda: mse_loss(_x(2), _x(2, dtype=np.float32)), TypeError,
     r"^mse_loss: inputs must have one dtype, got input float64, target float32"),
    (lambda: smooth_l1_loss(_x(2), np.array([1, 2])), TypeError,
     r"^smooth_l1_loss: inputs must have one dtype, got input "
                                                               r"float64, target int64"),
    (lambda: mse_loss(np.array([1, 2]), np.array([1, 2])), TypeError,
     r"^mse_loss: input must be floating point, got dtype int64$"),
    (lambda: l1_loss(np.array([True]), np.array([True])), TypeError,
     r"^l1_loss: input must be floating point, got dtype bool$"),
    (lambda: mse_loss("a", _x(2)), TypeError, r"^mse_loss: input: Tensor: data must be numbers .*got a str 'a'$"),
    (lambda: BCEL(_x(2), None), TypeError, r"^binary_cross_entropy_with_logits: target: Tensor: data must be numbers"),
    (lambda: l1_loss([[1.0], [1.0, 2.0]], _x(2)), ValueError,
     r"^l1_loss: input: Tensor: nested lists must be rectangular"),
    # beta
    (lambda: smooth_l1_loss(_x(2), _x(2), beta=-1.0), ValueError,
     r"^smooth_l1_loss: beta must be a finite number >= 0, got -1.0$"),
    (lambda: smooth_l1_loss(_x(2), _x(2), beta=NAN), ValueError,
     r"^smooth_l1_loss: beta must be a finite number >= 0, got nan$"),
    (lambda: smooth_l1_loss(_x(2), _x(2), beta=float("inf")), ValueError, r"^smooth_l1_loss: beta must be .*got inf$"),
    (lambda: smooth_l1_loss(_x(2), _x(2), beta="1"), TypeError,
     r"^smooth_l1_loss: beta must be a finite number >= 0, got '1'$"),
    (lambda: smooth_l1_loss(_x(2), _x(2), beta=True), TypeError, r"^smooth_l1_loss: beta must be .*got True$"),
    (lambda: smooth_l1_loss(_x(2), _x(2), beta=None), TypeError, r"^smooth_l1_loss: beta must be .*got None$"),
    # probabilities of binary_cross_entropy
    (lambda: BCE(_x(2, value=1.5), _x(2)), ValueError,
     r"^binary_cross_entropy: every element of input must be in \[0, 1\], got 1.5 at position \(0,\)$"),
    (lambda: BCE(tinynet.Tensor(np.array([[0.5, 0.5], [0.5, -0.1]])), _x(2, 2)), ValueError,
     r"^binary_cross_entropy: every element of input must be in \[0, 1\], got -0.1 at position \(1, 1\)$"),
    (lambda: BCE(_x(2, value=NAN), _x(2)), ValueError, r"^binary_cross_entropy: every element of input .*got nan at"),
    (lambda: BCE(_x(2), _x(2, value=2.0)), ValueError,
     r"^binary_cross_entropy: every element of target must be in \[0, 1\], got 2.0 at position \(0,\)$"),
    (lambda: BCE(_x(), _x(value=-1.0)), ValueError,
     r"^binary_cross_entropy: every element of target .*got -1.0 at position \(\)$"),
    # weight and pos_weight
    (lambda: BCE(_x(2), _x(2), "mean"), TypeError,
     r"^binary_cross_entropy: weight must be a Tensor of floats or None, got 'mean'; pass reduction= by name$"),
    (lambda: BCE(_x(2), _x(2), 2.0), TypeError,
     r"^binary_cross_entropy: weight must be a Tensor of floats or None, got 2.0$"),
    (lambda: BCE(_x(2), _x(2), np.ones(2, dtype=np.int64)), TypeError,
     r"^binary_cross_entropy: weight must hold floating-point numbers, got dtype int64$"),
    (lambda: BCE(_x(2, 3), _x(2, 3), np.ones(2)), tinynet.ShapeError,
     r"^binary_cross_entropy: weight of shape \(2,\) does not broadcast to the input's shape \(2, 3\)$"),
    (lambda: BCE(_x(2, 3), _x(2, 3), np.ones((3, 2, 3))), tinynet.ShapeError,
     r"^binary_cross_entropy: weight of shape \(3, 2, 3\) does not broadcast"),
    (lambda: BCE(_x(2), _x(2), np.ones(2, dtype=np.float32)), TypeError,
     r"^binary_cross_entropy: inputs must have one dtype, got input float64, target float64, weight float32"),
    (lambda: BCE(_x(2), _x(2), tinynet.Tensor(np.ones(2), requires_grad=True)), RuntimeError,
     r"^binary_cross_entropy: weight requires grad, but no gradient flows to a loss's weight"),
    (lambda: BCEL(_x(2, 3), _x(2, 3), pos_weight=np.ones(2)), tinynet.ShapeError,
     r"^binary_cross_entropy_with_logits: pos_weight of shape \(2,\) does not broadcast to the input's shape \(2, 3\)$"),
    (lambda: BCEL(_x(2, 3), _x(2, 3), pos_weight=[1.0, 2.0, 3.0]), TypeError,
     r"^binary_cross_entropy_with_logits: pos_weight must be a Tensor of floats or None, got \[1.0, 2.0, 3.0\]$"),
    (lambda: BCEL(_x(2, 3), _x(2, 3), pos_weight=np.ones(3, dtype=np.int32)), TypeError,
     r"^binary_cross_entropy_with_logits: pos_weight must hold floating-point numbers, got dtype int32$"),
    (lambda: BCEL(_x(2), _x(2), pos_weight=tinynet.Tensor(np.ones(2), requires_grad=True)), RuntimeError,
     r"^binary_cross_entropy_with_logits: pos_weight requires grad"),
    (lambda: BCEL(_x(2), _x(2), np.ones((2, 2))), tinynet.ShapeError,
     r"^binary_cross_entropy_with_logits: weight of shape \(2, 2\) does not broadcast"),
    (lambda: BCEL(_x(2), _x(2), pos_weight=np.ones(2, dtype=np.float32)), TypeError,
     r"^binary_cross_entropy_with_logits: inputs must have one dtype"),
]


def _id(i, message):
    return f"{i}-" + re.sub(r"[^a-z_]+", "-", message[1:].split(" must ")[0].split(" is ")[0])[:40].strip("-")


@pytest.mark.parametrize("call, error, message", [pytest.param(*row, id=_id(i, row[2])) for i, row in enumerate(BAD)])
def test_bad_arguments_and_inputs_name_the_op_and_the_argument(call, error, message):
    """Each row: the exception type, and a message that starts with the loss's name and names the argument."""
    assert re.match(r"^\^(mse_loss|l1_loss|smooth_l1_loss|binary_cross_entropy|binary_cross_entropy_with_logits): ",
                    message)
    with pytest.raises(error, match=message):
        call()
