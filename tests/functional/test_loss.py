"""softmax, log_softmax, cross_entropy and nll_loss: values and gradients against PyTorch (tests/fixtures/
torch_loss.npz, at 1e-12) and against the loops of tinynet/functional/reference/loss.py, gradient checks over
every option, stability, and a table of bad arguments.

Gradient checks use gradcheck's random upstream gradient: the plain sum of a softmax is constant, so a
backward returning zeros would pass a check on sum(y).
"""
import itertools
import re
import warnings

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.conftest import CUDA_SKIP_REASON
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet.functional import reference

TORCH = torch_fixture("loss")
TOL = dict(rtol=1e-12, atol=1e-12)


def softmax_reference(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_reference(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _cases(prefix, fields):
    """The fixture's case names ``prefix_<f1>_..._<fn>`` (the keys ending in _loss), split into fields."""
    names = sorted(k[len(prefix) + 1:-5] for k in TORCH if k.startswith(prefix + "_") and k.endswith("_loss"))
    return [pytest.param(*name.split("_"), id=name) for name in names if name.count("_") == fields - 1]


# --- softmax / log_softmax ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, dim", [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1)])
@pytest.mark.parametrize("op, reference_fn", [(F.softmax, softmax_reference), (F.log_softmax, log_softmax_reference)],
                         ids=["softmax", "log_softmax"])
def test_softmax_values(device, rng, op, reference_fn, shape, dim):
    """softmax and log_softmax equal their NumPy formulas along the chosen dimension."""
    z = rand(rng, shape, device, requires_grad=False, low=-3.0, high=3.0)
    y = op(z, dim=dim)
    assert y.shape == shape
    np.testing.assert_allclose(host(y), reference_fn(host(z), dim), rtol=1e-12, atol=1e-14)


def test_softmax_rows_sum_to_one_and_log_matches(device, rng):
    """softmax sums to 1 along dim, and exp(log_softmax) equals softmax."""
    z = rand(rng, (4, 5), device, requires_grad=False, low=-5.0, high=5.0)
    for dim in (0, 1):
        p = host(F.softmax(z, dim=dim))
        np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.exp(host(F.log_softmax(z, dim=dim))), p, rtol=1e-12)


@pytest.mark.parametrize("shape, dim", [((3, 4), 0), ((3, 4), 1), ((2, 3, 2), 1), ((2, 3, 2), -1), ((), 0), ((5,), 0)])
@pytest.mark.parametrize("op", [F.softmax, F.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_gradcheck(device, rng, op, shape, dim):
    """Backward agrees with central differences under a random upstream gradient, along each dim (0-d too)."""
    z = rand(rng, shape, device, low=-2.0, high=2.0)
    assert tinynet.gradcheck(lambda z: op(z, dim=dim), [z])


@pytest.mark.parametrize("ndim", range(5))
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_without_dim_takes_pytorchs_implicit_dim(device, op, ndim):
    """dim=None: dim 0 for a 0-, 1- or 3-d input, else 1, as torch (values and gradients at 1e-12), with a
    UserWarning that names the dim used and says to pass it."""
    x = tensor(TORCH[f"{op}_{ndim}d_x"], device, requires_grad=True)
    dim = 0 if ndim in (0, 1, 3) else 1
    with pytest.warns(UserWarning, match=rf"^{op}: no dim given, so dim={dim} was used .*{ndim}-d input.*"
                                         rf"pass dim explicitly: {op}\(x, dim={dim}\)$"):
        y = getattr(F, op)(x)
    np.testing.assert_allclose(host(y), TORCH[f"{op}_{ndim}d_y"], **TOL)
    y.backward(tensor(TORCH[f"{op}_{ndim}d_g"], device))
    np.testing.assert_allclose(host(x.grad), TORCH[f"{op}_{ndim}d_dx"], **TOL)


def test_softmax_with_dim_does_not_warn(device, rng):
    x = rand(rng, (2, 3), device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(x, 1), F.log_softmax(x, dim=0), F.softmax(x, -1)


def test_softmax_of_a_0d_tensor_is_one(device):
    """A 0-d input is one class: softmax 1, log_softmax 0, gradient 0 (PyTorch's values)."""
    x = tensor(3.5, device, requires_grad=True, dtype="float64")
    y = F.softmax(x, dim=0)
    assert y.shape == () and y.item() == 1.0 and F.log_softmax(x, dim=-1).item() == 0.0
    y.backward(tensor(2.0, device, dtype="float64"))
    assert x.grad.item() == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_large_logits_are_finite(device, dtype):
    """Logits of +-1e4 neither overflow nor give NaN: the row max is subtracted first."""
    z = tensor(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]]), device, dtype=dtype)
    p = host(F.softmax(z, dim=1))
    logp = host(F.log_softmax(z, dim=1))
    assert p.dtype == np.dtype(dtype)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-30)
    np.testing.assert_allclose(logp, [[0.0, -2e4, -1e4], [-np.log(2), -np.log(2), -2e4 - np.log(2)]], rtol=1e-6)


# --- cross_entropy and nll_loss against PyTorch -----------------------------------------------------------------

def _ignore_index(ignore):
    return 1 if ignore == "inrange" else -100


def _weight(shape, weighted, device):
    return tensor(TORCH[f"ce_{shape}_w"], device) if weighted == "w" else None


@pytest.mark.parametrize("shape, weighted, ignore, smoothing, reduction", _cases("ce", 5))
def test_cross_entropy_class_indices_match_torch(device, xp, shape, weighted, ignore, smoothing, reduction):
    """Every combination of (N, C) / (N, C, d1, d2) / unbatched (C,), weight, ignored targets (some, all, an
    in-range ignore_index), label smoothing 0 / 0.3 / 1 and reduction: loss and dz equal torch's at 1e-12."""
    key = f"ce_{shape}_{weighted}_{ignore}_{smoothing}_{reduction}"
    z = tensor(TORCH[f"ce_{shape}_z"], device, requires_grad=True)
    t = xp.asarray(TORCH[f"ce_{shape}_t_{ignore}"])
    loss = F.cross_entropy(z, t, _weight(shape, weighted, device), ignore_index=_ignore_index(ignore),
                           reduction=reduction, label_smoothing=float(smoothing[2:]))
    assert loss.shape == TORCH[f"{key}_loss"].shape
    np.testing.assert_allclose(host(loss), TORCH[f"{key}_loss"], **TOL)
    loss.backward(tensor(TORCH[f"{key}_g"], device))
    np.testing.assert_allclose(host(z.grad), TORCH[f"{key}_dz"], **TOL)


@pytest.mark.parametrize("shape, weighted, smoothing, reduction", _cases("cep", 4))
def test_cross_entropy_class_probabilities_match_torch(device, shape, weighted, smoothing, reduction):
    """Targets of the logits' shape are probabilities: loss, dz and the target's gradient dT equal torch's."""
    key = f"cep_{shape}_{weighted}_{smoothing}_{reduction}"
    z = tensor(TORCH[f"ce_{shape}_z"], device, requires_grad=True)
    T = tensor(TORCH[f"cep_{shape}_T"], device, requires_grad=True)
    loss = F.cross_entropy(z, T, _weight(shape, weighted, device), reduction=reduction,
                           label_smoothing=float(smoothing[2:]))
    np.testing.assert_allclose(host(loss), TORCH[f"{key}_loss"], **TOL)
    loss.backward(tensor(TORCH[f"{key}_g"], device))
    np.testing.assert_allclose(host(z.grad), TORCH[f"{key}_dz"], **TOL)
    np.testing.assert_allclose(host(T.grad), TORCH[f"{key}_dT"], **TOL)


@pytest.mark.parametrize("shape, weighted, ignore, reduction", _cases("nll", 4))
def test_nll_loss_matches_torch(device, xp, shape, weighted, ignore, reduction):
    """nll_loss on torch's log_softmax output: loss and dx equal torch's for every shape, weight, ignore, reduction."""
    key = f"nll_{shape}_{weighted}_{ignore}_{reduction}"
    x = tensor(TORCH[f"nll_{shape}_x"], device, requires_grad=True)
    t = xp.asarray(TORCH[f"ce_{shape}_t_{ignore}"])
    loss = F.nll_loss(x, t, _weight(shape, weighted, device), ignore_index=_ignore_index(ignore), reduction=reduction)
    np.testing.assert_allclose(host(loss), TORCH[f"{key}_loss"], **TOL)
    loss.backward(tensor(TORCH[f"{key}_g"], device))
    np.testing.assert_allclose(host(x.grad), TORCH[f"{key}_dx"], **TOL)


def test_the_fixture_covers_every_option():
    """The fixture has the cases the tests above expect (a regenerated file that lost some would pass silently)."""
    assert len(_cases("ce", 5)) == 2 * (4 + 4 + 2) * 3 * 3  # 2d and 4d: 4 ignore cases, 1d: 2
    assert len(_cases("cep", 4)) == 3 * 2 * 3 * 3
    assert len(_cases("nll", 4)) == 2 * (4 + 4 + 2) * 3


# --- against the loops, and gradient checks ---------------------------------------------------------------------

OPTIONS = list(itertools.product(["2d", "4d", "1d"], ["now", "w"], ["none", "some", "all"], [0.0, 0.3, 1.0],
                                 ["mean", "sum", "none"]))
OPTIONS = [pytest.param(*o, id="-".join(map(str, o))) for o in OPTIONS if not (o[0] == "1d" and o[2] == "some")]
SHAPES = {"2d": (5, 4), "4d": (2, 3, 2, 3), "1d": (4,)}


def _problem(rng, shape, ignore, probabilities=False):
    """Logits, class-index targets with the ``ignore`` pattern (or probabilities) and class weights."""
    shape = SHAPES[shape]
    C = shape[1] if len(shape) > 1 else shape[0]
    sample = shape[:1] + shape[2:] if len(shape) > 1 else ()
    z = rng.normal(0, 2, shape)
    if probabilities:
        t = rng.uniform(0, 1, shape)
        t /= t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    else:
        t = rng.integers(0, C, sample)
        if ignore == "some":
            t.reshape(-1)[1::2] = -100
        elif ignore == "all":
            t = np.full(sample, -100)
    return z, t, rng.uniform(0.2, 2.0, C)


@pytest.mark.parametrize("shape, weighted, ignore, smoothing, reduction", OPTIONS)
def test_cross_entropy_equals_the_loop_and_passes_gradcheck(device, xp, rng, shape, weighted, ignore, smoothing,
                                                            reduction):
    """The fused op equals reference.cross_entropy (a sample at a time), and its gradient passes gradcheck
    (float64, random upstream) for weights, ignored and all-ignored targets, smoothing 0 / 0.3 / 1, 4-d and
    unbatched logits and each reduction."""
    z_host, t_host, w_host = _problem(rng, shape, ignore)
    w = tensor(w_host, device) if weighted == "w" else None
    t = xp.asarray(t_host)
    z = tensor(z_host, device, requires_grad=True)
    loss = F.cross_entropy(z, t, w, reduction=reduction, label_smoothing=smoothing)
    expected = reference.cross_entropy(z_host, t_host, None if w is None else w_host, reduction=reduction,
                                       label_smoothing=smoothing)
    np.testing.assert_allclose(host(loss), expected, rtol=1e-12, atol=1e-13)
    if ignore == "all" and reduction == "mean":
        return  # nan, a mean over nothing (its zero gradient is PyTorch's, pinned by the fixture test)
    assert tinynet.gradcheck(lambda z: F.cross_entropy(z, t, w, reduction=reduction, label_smoothing=smoothing), [z])


@pytest.mark.parametrize("shape", ["2d", "4d", "1d"])
@pytest.mark.parametrize("weighted", ["now", "w"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probabilities_equal_the_loop_and_pass_gradcheck(device, rng, shape, weighted, smoothing,
                                                                       reduction):
    """Class-probability targets: the loop's value, and gradcheck of both the logits and the targets."""
    z_host, t_host, w_host = _problem(rng, shape, "none", probabilities=True)
    w = tensor(w_host, device) if weighted == "w" else None
    z, T = tensor(z_host, device, requires_grad=True), tensor(t_host, device, requires_grad=True)
    loss = F.cross_entropy(z, T, w, reduction=reduction, label_smoothing=smoothing)
    expected = reference.cross_entropy(z_host, t_host, None if w is None else w_host, reduction=reduction,
                                       label_smoothing=smoothing)
    np.testing.assert_allclose(host(loss), expected, rtol=1e-12, atol=1e-13)
    assert tinynet.gradcheck(lambda z, T: F.cross_entropy(z, T, w, reduction=reduction, label_smoothing=smoothing),
                             [z, T])


@pytest.mark.parametrize("shape", ["2d", "4d", "1d"])
@pytest.mark.parametrize("weighted", ["now", "w"])
@pytest.mark.parametrize("ignore", ["none", "some", "all"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_equals_the_loop_and_passes_gradcheck(device, xp, rng, shape, weighted, ignore, reduction):
    if shape == "1d" and ignore == "some":
        pytest.skip("one unbatched target is either ignored or not")
    z_host, t_host, w_host = _problem(rng, shape, ignore)
    x_host = log_softmax_reference(z_host, 1 if z_host.ndim > 1 else 0)
    w = tensor(w_host, device) if weighted == "w" else None
    t = xp.asarray(t_host)
    x = tensor(x_host, device, requires_grad=True)
    loss = F.nll_loss(x, t, w, reduction=reduction)
    expected = reference.nll_loss(x_host, t_host, None if w is None else w_host, reduction=reduction)
    np.testing.assert_allclose(host(loss), expected, rtol=1e-12, atol=1e-13)
    if ignore == "all" and reduction == "mean":
        return
    assert tinynet.gradcheck(lambda x: F.nll_loss(x, t, w, reduction=reduction), [x])


# --- the rules, one at a time ---------------------------------------------------------------------------------

def test_cross_entropy_gradient_closed_form(device, xp, rng):
    """With mean reduction and upstream 1, dz[n, k] = (p[n, k] - [k == t_n]) / N exactly as derived."""
    z = rand(rng, (3, 4), device, low=-2.0, high=2.0)
    t = np.array([1, 3, 1])
    F.cross_entropy(z, xp.asarray(t)).backward()
    expected = (softmax_reference(host(z), 1) - np.eye(4)[t]) / 3
    np.testing.assert_allclose(host(z.grad), expected, rtol=1e-12, atol=1e-15)


def test_weighted_mean_divides_by_the_weights_of_the_counted_targets(device, xp):
    """Uniform logits over 2 classes: each loss is log 2, so the weighted mean is log 2 * sum(w[t]) / sum(w[t])
    = log 2 whatever the weights, while a division by N would give log 2 * (3 + 3 + 1) / 3."""
    z = tensor(np.zeros((4, 2)), device)
    t = xp.asarray(np.array([0, 0, 1, -100]))
    w = tensor(np.array([3.0, 1.0]), device)
    assert F.cross_entropy(z, t, w).item() == pytest.approx(np.log(2), rel=1e-15)
    assert F.cross_entropy(z, t, w, reduction="sum").item() == pytest.approx(7 * np.log(2), rel=1e-15)
    np.testing.assert_allclose(host(F.cross_entropy(z, t, w, reduction="none")), np.log(2) * np.array([3, 3, 1, 0]))


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_all_targets_ignored_gives_nan_mean_and_zero_gradient(device, xp, rng, smoothing):
    """Mean over no counted target is 0 / 0 = nan, as PyTorch; sum 0, 'none' zeros; the gradient is 0,
    not nan; and no NumPy warning escapes."""
    z = rand(rng, (3, 4), device)
    t = xp.asarray(np.full(3, -100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(z, t, label_smoothing=smoothing)
        assert np.isnan(loss.item())
        loss.backward()
    np.testing.assert_array_equal(host(z.grad), 0.0)
    assert F.cross_entropy(z, t, reduction="sum").item() == 0.0
    np.testing.assert_array_equal(host(F.cross_entropy(z, t, reduction="none")), 0.0)
    assert np.isnan(F.nll_loss(z, t).item())


def test_an_ignored_row_may_hold_minus_infinity(device, xp):
    """An ignored target contributes exactly 0, even when its row's logits give -inf log-probabilities."""
    z = tensor(np.array([[0.0, 0.0], [-np.inf, 0.0]]), device)
    t = xp.asarray(np.array([1, -100]))
    w = tensor(np.array([1.0, 2.0]), device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for options in ({}, {"label_smoothing": 0.2}, {"weight": w}):
            np.testing.assert_allclose(host(F.cross_entropy(z, t, reduction="none", **options))[1], 0.0)
        np.testing.assert_allclose(host(F.nll_loss(z, t, w, reduction="none")), [0.0, 0.0])


def test_label_smoothing_one_ignores_the_target(device, xp, rng):
    """e = 1: the target is spread uniformly, so the loss is the mean of -l over the classes, for any target."""
    z_host = rng.normal(size=(3, 4))
    z = tensor(z_host, device)
    for t in ([0, 1, 2], [3, 3, 3]):
        loss = F.cross_entropy(z, xp.asarray(np.array(t)), label_smoothing=1.0, reduction="none")
        np.testing.assert_allclose(host(loss), -log_softmax_reference(z_host, 1).mean(axis=1), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_extreme_logits(device, xp, dtype):
    """Logits of +-1e4 give a finite loss and finite gradients with the exact expected values.

    Row 0: target is the runaway winner -> loss 0, gradient 0.
    Row 1: two tied winners, target one of them -> loss log 2, gradient (0, 1/2, -1/2).
    Row 2: target sits 2e4 below the winner -> loss 2e4, gradient (1, -1, 0).
    """
    z = tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [1e4, -1e4, 0.0]]), device, dtype=dtype,
               requires_grad=True)
    t = xp.asarray(np.array([0, 2, 1]))
    loss = F.cross_entropy(z, t)
    assert loss.dtype == np.dtype(dtype)
    assert float(host(loss)) == pytest.approx((0.0 + np.log(2) + 2e4) / 3, rel=1e-6)
    loss.backward()
    grad = host(z.grad)
    assert np.isfinite(grad).all()
    expected = np.array([[0.0, 0.0, 0.0], [0.0, 0.5, -0.5], [1.0, -1.0, 0.0]]) / 3
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"reduction": "none"}], ids=["plain", "ls", "none"])
def test_float32_stays_float32(device, xp, rng, options):
    """float32 logits with a float32 weight give a float32 loss and gradient."""
    z = rand(rng, (4, 3, 2), device, dtype="float32")
    w = tensor(np.array([1.0, 2.0, 0.5]), device, dtype="float32")
    loss = F.cross_entropy(z, xp.asarray(np.array([[0, 1], [2, -100], [1, 1], [0, 2]])), w, **options)
    assert loss.dtype == np.float32
    loss.sum().backward()
    assert z.grad.dtype == np.float32


@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "tensor"])
@pytest.mark.parametrize("target_dtype", ["int64", "int32", "uint8"])
def test_cross_entropy_targets_array_or_tensor(device, xp, rng, as_tensor, target_dtype):
    """Targets may be an integer array or a tinynet.Tensor, int64 or narrower (PyTorch wants int64 or uint8)."""
    z_host = rng.uniform(-2, 2, size=(4, 5))
    t_host = np.array([4, 0, 2, 2], dtype=target_dtype)
    targets = tinynet.Tensor(xp.asarray(t_host)) if as_tensor else xp.asarray(t_host)
    z = tensor(z_host, device, requires_grad=True)
    loss = F.cross_entropy(z, targets)
    np.testing.assert_allclose(float(host(loss)), reference.cross_entropy(z_host, t_host), rtol=1e-12)
    loss.backward()
    expected = (softmax_reference(z_host, 1) - np.eye(5)[t_host]) / 4
    np.testing.assert_allclose(host(z.grad), expected, rtol=1e-12, atol=1e-15)


def test_cross_entropy_unbatched_sample(device, xp):
    """Logits (C,) with a 0-d target are one sample: a 0-d loss, the closed-form gradient."""
    z = tensor([2.0, 0.0, 0.0], device, requires_grad=True, dtype="float64")
    loss = F.cross_entropy(z, xp.asarray(0))
    np.testing.assert_allclose(loss.item(), np.log(1 + 2 * np.exp(-2.0)))
    assert F.cross_entropy(z, xp.asarray(0), reduction="none").shape == ()
    loss.backward()
    p = np.array([1.0, np.exp(-2.0), np.exp(-2.0)]) / (1 + 2 * np.exp(-2.0))
    np.testing.assert_allclose(host(z.grad), p - np.array([1.0, 0.0, 0.0]))


def test_an_empty_batch(device, xp):
    """No samples: 'mean' is nan, 'sum' 0, 'none' an empty loss, as PyTorch."""
    z = tensor(np.zeros((0, 3)), device)
    t = xp.asarray(np.zeros(0, dtype=np.int64))
    assert np.isnan(F.cross_entropy(z, t).item()) and F.cross_entropy(z, t, reduction="sum").item() == 0.0
    assert F.cross_entropy(z, t, reduction="none").shape == (0,)
    assert np.isnan(F.cross_entropy(z, tensor(np.zeros((0, 3)), device)).item())


def test_two_argument_call_keeps_only_probabilities_and_targets(device, xp, rng):
    """The AlexNet path: F.cross_entropy(logits, targets) keeps p and the targets, no weights, no mask;
    under no_grad it keeps nothing (no backward will come)."""
    from tinynet.functional.loss import CrossEntropy

    z = rand(rng, (8, 10), device)
    t = xp.asarray(rng.integers(0, 10, 8))
    op = CrossEntropy()
    op(z, t)
    assert op.p.shape == (8, 10) and op.wt is None and op.ignored is None
    with tinynet.no_grad():
        op = CrossEntropy()
        op(z, t)
    assert not hasattr(op, "p")


@pytest.mark.skipif(CUDA_SKIP_REASON is not None, reason=f"needs a CUDA GPU: {CUDA_SKIP_REASON}")
def test_cross_entropy_host_targets_with_gpu_logits_name_both_devices(rng):
    """Targets left in host memory while the logits are on the GPU: a DeviceError naming both devices
    (as PyTorch refuses tensors on two devices), not a failure inside CuPy."""
    z = rand(rng, (3, 4), "cuda", requires_grad=False)
    with pytest.raises(tinynet.DeviceError, match=r"CrossEntropy.*cuda.*cpu"):
        F.cross_entropy(z, np.array([0, 1, 2]))


# --- bad arguments and bad inputs -------------------------------------------------------------------------------

NAN = float("nan")


def _z(*shape, dtype=np.float64):
    return tinynet.Tensor(np.zeros(shape, dtype=dtype))


def _t(*values):
    return np.array(values, dtype=np.int64)


W3 = tinynet.Tensor(np.ones(3))
CE = F.cross_entropy
BAD = [
    # weight
    (lambda: CE(_z(2, 3), _t(0, 1), "sum"), TypeError,
     r"^cross_entropy: weight must be a Tensor of floats or None, got 'sum'; pass reduction= by name$"),
    (lambda: CE(_z(2, 3), _t(0, 1), [1.0, 1.0, 1.0]), TypeError,
     r"^cross_entropy: weight must be a Tensor .*got \[1.0"),
    (lambda: CE(_z(2, 3), _t(0, 1), 2.0), TypeError,
     r"^cross_entropy: weight must be a Tensor of floats or None, got 2.0$"),
    (lambda: CE(_z(2, 3), _t(0, 1), np.ones(3, dtype=np.int64)), TypeError,
     r"^cross_entropy: weight must hold floating-point numbers, got dtype int64$"),
    (lambda: CE(_z(2, 3), _t(0, 1), np.ones((1, 3))), tinynet.ShapeError,
     r"^cross_entropy: weight must be 1-d, one entry per class, got shape \(1, 3\)$"),
    (lambda: CE(_z(2, 3), _t(0, 1), np.ones(4)), tinynet.ShapeError,
     r"^cross_entropy: weight must have one entry per class, shape \(3,\), got \(4,\)$"),
    (lambda: CE(_z(2, 3), _z(2, 3), np.ones(2)), tinynet.ShapeError,
     r"^cross_entropy: weight must have one entry per class, shape \(3,\), got \(2,\)$"),
    (lambda: CE(_z(2, 3), _t(0, 1), np.ones(3, dtype=np.float32)), TypeError,
     r"^cross_entropy: inputs must have one dtype, got input float64, weight float32"),
    (lambda: CE(_z(2, 3), _t(0, 1), tinynet.Tensor(np.ones(3), requires_grad=True)), RuntimeError,
     r"^cross_entropy: weight requires grad, but no gradient flows to a loss's weight .*weight.detach\(\)$"),
    # ignore_index
    (lambda: CE(_z(2, 3), _t(0, 1), ignore_index=1.5), TypeError,
     r"^cross_entropy: ignore_index must be an int, got 1.5$"),
    (lambda: CE(_z(2, 3), _t(0, 1), ignore_index=True), TypeError,
     r"^cross_entropy: ignore_index must be an int, got True$"),
    (lambda: CE(_z(2, 3), _t(0, 1), ignore_index="-100"), TypeError,
     r"^cross_entropy: ignore_index must be an int, got '-100'$"),
    (lambda: CE(_z(2, 3), _z(2, 3), ignore_index=0), ValueError,
     r"^cross_entropy: ignore_index applies to class-index targets only, got ignore_index=0 with class-probability"),
    # label_smoothing
    (lambda: CE(_z(2, 3), _t(0, 1), label_smoothing=-0.1), ValueError,
     r"^cross_entropy: label_smoothing must be a finite number >= 0 and <= 1, got -0.1$"),
    (lambda: CE(_z(2, 3), _t(0, 1), label_smoothing=1.5), ValueError,
     r"^cross_entropy: label_smoothing must be .*got 1.5$"),
    (lambda: CE(_z(2, 3), _t(0, 1), label_smoothing=NAN), ValueError,
     r"^cross_entropy: label_smoothing must be .*got nan$"),
    (lambda: CE(_z(2, 3), _t(0, 1), label_smoothing="0.1"), TypeError,
     r"^cross_entropy: label_smoothing must be .*got '0.1'$"),
    (lambda: CE(_z(2, 3), _t(0, 1), label_smoothing=True), TypeError,
     r"^cross_entropy: label_smoothing must be .*got True$"),
    # reduction and the deprecated slots
    (lambda: CE(_z(2, 3), _t(0, 1), reduction="avg"), ValueError,
     r"^cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'$"),
    (lambda: CE(_z(2, 3), _t(0, 1), reduction=None), ValueError, r"^cross_entropy: reduction must be .*got None$"),
    (lambda: CE(_z(2, 3), _t(0, 1), None, True), ValueError,
     r"^cross_entropy: size_average is deprecated and not supported, got True; use reduction="),
    (lambda: CE(_z(2, 3), _t(0, 1), reduce=False), ValueError,
     r"^cross_entropy: reduce is deprecated and not supported, got False; use reduction=.*reduce=False is 'none'"),
    # targets
    (lambda: CE(_z(3, 5), _t(0, 5, 1)), IndexError,
     r"^cross_entropy: target 5 at position 1 is out of range for 5 classes \(valid: 0..4, or ignore_index=-100\)$"),
    (lambda: CE(_z(3, 5), _t(0, 1, -1)), IndexError, r"^cross_entropy: target -1 at position 2 is out of range for 5"),
    (lambda: CE(_z(3, 5), _t(0, -100, 1), ignore_index=0), IndexError,
     r"^cross_entropy: target -100 at position 1 .*ignore_index=0\)$"),
    (lambda: CE(_z(2, 3, 2, 2), np.array([[[0, 0], [0, 0]], [[0, 0], [0, 7]]])), IndexError,
     r"^cross_entropy: target 7 at position \(1, 1, 1\) is out of range for 3 classes"),
    (lambda: CE(_z(2, 3), np.array([0.0, 2.0])), TypeError,
     r"^cross_entropy: targets of shape \(2,\) must be integer class indices, got dtype float64 \(class probabilities "
     r"have the input's shape \(2, 3\)\)$"),
    (lambda: CE(_z(2, 3), np.array([True, False])), TypeError, r"^cross_entropy: targets .*got dtype bool"),
    (lambda: CE(_z(2, 3), np.zeros((2, 3), dtype=np.int64)), TypeError,
     r"^cross_entropy: targets of the input's shape \(2, 3\) are class probabilities and must be floating point, "
     r"got dtype int64 \(class indices have shape \(2,\)\)$"),
    (lambda: CE(_z(2, 3), np.zeros((2, 3), dtype=np.float32)), TypeError,
     r"^cross_entropy: inputs must have one dtype, got input float64, target float32"),
    (lambda: CE(_z(2, 3), _t(0, 1, 2)), tinynet.ShapeError,
     r"^cross_entropy: expected targets of shape \(2,\) \(class indices\) for input of shape \(2, 3\), got \(3,\)$"),
    (lambda: CE(_z(2, 3), np.zeros((2, 1), dtype=np.int64)), tinynet.ShapeError,
     r"^cross_entropy: expected targets of shape \(2,\)"),
    (lambda: CE(_z(3), _t(0)), tinynet.ShapeError, r"^cross_entropy: expected targets of shape \(\) .*got \(1,\)$"),
    (lambda: CE(_z(2, 3, 4), np.zeros((2, 3), dtype=np.int64)), tinynet.ShapeError,
     r"^cross_entropy: expected targets of shape \(2, 4\)"),
    (lambda: CE(_z(2, 3), "a"), TypeError, r"^cross_entropy: target: Tensor: data must be numbers"),
    (lambda: CE(_z(2, 3), None), TypeError, r"^cross_entropy: target: Tensor: data must be numbers .*got None$"),
    # input
    (lambda: CE(_z(), _t()), tinynet.ShapeError, r"^cross_entropy: needs input \(C,\), \(N, C\) .*got a 0-d tensor$"),
    (lambda: CE(_z(2, 0), _t(0, 0)), tinynet.ShapeError,
     r"^cross_entropy: needs at least one class, got input of shape \(2, 0\)$"),
    (lambda: CE(np.zeros((2, 3), dtype=np.int64), _t(0, 1)), TypeError,
     r"^cross_entropy: input must be floating point, got dtype int64$"),
    (lambda: CE(np.zeros((2, 3), dtype=bool), _t(0, 1)), TypeError,
     r"^cross_entropy: input must be floating point, got dtype bool$"),
    (lambda: CE("logits", _t(0, 1)), TypeError,
     r"^cross_entropy: input: Tensor: data must be numbers .*got a str 'logits'$"),
    (lambda: CE([[1.0, 2.0], [3.0]], _t(0, 1)), ValueError,
     r"^cross_entropy: input: Tensor: nested lists must be rectangular"),
    # nll_loss
    (lambda: F.nll_loss(_z(2, 3), _t(0, 1), "mean"), TypeError,
     r"^nll_loss: weight must be a Tensor .*got 'mean'; pass reduction="),
    (lambda: F.nll_loss(_z(2, 3), _t(0, 1), np.ones(2)), tinynet.ShapeError,
     r"^nll_loss: weight must have one entry per class"),
    (lambda: F.nll_loss(_z(2, 3), _t(0, 1), reduction="max"), ValueError, r"^nll_loss: reduction must be .*got 'max'$"),
    (lambda: F.nll_loss(_z(2, 3), _t(0, 1), None, False), ValueError, r"^nll_loss: size_average is deprecated"),
    (lambda: F.nll_loss(_z(2, 3), _t(0, 1), ignore_index=2.0), TypeError,
     r"^nll_loss: ignore_index must be an int, got 2.0$"),
    (lambda: F.nll_loss(_z(2, 3), _t(0, 3)), IndexError,
     r"^nll_loss: target 3 at position 1 is out of range for 3 classes"),
    (lambda: F.nll_loss(_z(2, 3), np.zeros(2)), TypeError,
     r"^nll_loss: targets of shape \(2,\) must be integer class indices, got dtype float64$"),
    (lambda: F.nll_loss(_z(2, 3), _z(2, 3)), TypeError, r"^nll_loss: targets of shape \(2, 3\) must be integer"),
    (lambda: F.nll_loss(_z(2, 3), _t(0)), tinynet.ShapeError, r"^nll_loss: expected targets of shape \(2,\)"),
    (lambda: F.nll_loss(_z(), _t()), tinynet.ShapeError, r"^nll_loss: needs input .*0-d tensor$"),
    (lambda: F.nll_loss(np.zeros((2, 3), dtype=np.int32), _t(0, 1)), TypeError,
     r"^nll_loss: input must be floating point"),
    (lambda: F.nll_loss(_z(2, 3), _t(0, 1), tinynet.Tensor(np.ones(3), requires_grad=True)), RuntimeError,
     r"^nll_loss: weight requires grad"),
    # softmax / log_softmax
    (lambda: F.softmax(_z(2, 3), dim="1"), TypeError, r"^softmax: dim must be an int, got '1'$"),
    (lambda: F.softmax(_z(2, 3), dim=True), TypeError, r"^softmax: dim must be an int, got True$"),
    (lambda: F.log_softmax(_z(2, 3), 1.0), TypeError, r"^log_softmax: dim must be an int, got 1.0$"),
    (lambda: F.softmax(_z(2, 3), 2), IndexError, r"^softmax: dim 2 is out of range for a tensor of 2 dimensions"),
    (lambda: F.log_softmax(_z(), 1), IndexError, r"^log_softmax: dim 1 is out of range for a tensor of 0 dimensions"),
    (lambda: F.softmax(np.arange(3), 0), TypeError, r"^softmax: input must be floating point, got dtype int64$"),
    (lambda: F.log_softmax("x", 0), TypeError, r"^log_softmax: input: Tensor: data must be numbers"),
]


def _id(i, message):
    return f"{i}-" + re.sub(r"[^a-z_]+", "-", message[1:].split(" must ")[0].split(" is ")[0])[:40].strip("-")


@pytest.mark.parametrize("call, error, message", [pytest.param(*row, id=_id(i, row[2])) for i, row in enumerate(BAD)])
def test_bad_arguments_and_inputs_name_the_op_and_the_argument(call, error, message):
    """Each row: the exception type, and a message that starts with the op's name and names the argument."""
    assert re.match(r"^\^(cross_entropy|nll_loss|softmax|log_softmax): ", message)
    with pytest.raises(error, match=message):
        call()


def test_the_implicit_dim_warning_points_at_the_users_line():
    """From F.softmax, or from a layer inside a container, the warning names the caller's file, not tinynet's."""
    import tinynet.nn as nn

    x = tinynet.Tensor(np.ones((2, 3)))
    for call in (lambda: F.softmax(x), lambda: nn.Sequential(nn.LogSoftmax())(x)):
        with pytest.warns(UserWarning, match=r"no dim given, so dim=1 was used") as record:
            call()
        assert record[0].filename == __file__
