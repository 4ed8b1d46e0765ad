"""softmax, log_softmax and cross_entropy: values against NumPy formulas, gradients, stability, errors.

Gradient checks use gradcheck's random upstream gradient: the plain sum of a
softmax is constant, so a backward returning zeros would pass a check on sum(y).
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.conftest import CUDA_SKIP_REASON
from tests.helpers import host, rand, tensor


def softmax_reference(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_reference(z, axis):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def cross_entropy_reference(z, t, reduction="mean"):
    losses = -np.array([log_softmax_reference(z[n], 0)[t[n]] for n in range(len(t))])
    return {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]


# --- softmax / log_softmax ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, dim", [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1)])
@pytest.mark.parametrize("op, reference", [(F.softmax, softmax_reference), (F.log_softmax, log_softmax_reference)],
                         ids=["softmax", "log_softmax"])
def test_softmax_values(device, rng, op, reference, shape, dim):
    """softmax and log_softmax equal their NumPy formulas along the chosen dimension."""
    z = rand(rng, shape, device, requires_grad=False, low=-3.0, high=3.0)
    y = op(z, dim=dim)
    assert y.shape == shape
    np.testing.assert_allclose(host(y), reference(host(z), dim), rtol=1e-12, atol=1e-14)


def test_softmax_rows_sum_to_one_and_log_matches(device, rng):
    """softmax sums to 1 along dim, and exp(log_softmax) equals softmax."""
    z = rand(rng, (4, 5), device, requires_grad=False, low=-5.0, high=5.0)
    for dim in (0, 1):
        p = host(F.softmax(z, dim=dim))
        np.testing.assert_allclose(p.sum(axis=dim), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.exp(host(F.log_softmax(z, dim=dim))), p, rtol=1e-12)


@pytest.mark.parametrize("shape, dim", [((3, 4), 0), ((3, 4), 1), ((2, 3, 2), 1), ((2, 3, 2), -1)])
@pytest.mark.parametrize("op", [F.softmax, F.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_gradcheck(device, rng, op, shape, dim):
    """Backward agrees with central differences under a random upstream gradient, along each dim."""
    z = rand(rng, shape, device, low=-2.0, high=2.0)
    assert tinynet.gradcheck(lambda z: op(z, dim=dim), [z])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_large_logits_are_finite(device, dtype):
    """Logits of +-1e4 neither overflow nor give NaN: the row max is subtracted first."""
    z = tensor(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]]), device, dtype=dtype)
    p = host(F.softmax(z, dim=1))
    logp = host(F.log_softmax(z, dim=1))
    assert p.dtype == np.dtype(dtype)
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-30)
    np.testing.assert_allclose(logp, [[0.0, -2e4, -1e4], [-np.log(2), -np.log(2), -2e4 - np.log(2)]], rtol=1e-6)


# --- cross_entropy --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_value(device, xp, rng, reduction):
    """Loss equals -log_softmax(z)[n, t_n], averaged, summed or per sample."""
    z = rand(rng, (5, 4), device, requires_grad=False, low=-3.0, high=3.0)
    t = np.array([0, 3, 1, 3, 2])
    loss = F.cross_entropy(z, xp.asarray(t), reduction=reduction)  # targets on the logits' device
    expected = cross_entropy_reference(host(z), t, reduction)
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(host(loss), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradcheck(device, xp, rng, reduction):
    """dL/dz = (softmax - onehot) (/N for mean) agrees with central differences."""
    z = rand(rng, (4, 3), device, low=-2.0, high=2.0)
    t = xp.asarray(np.array([2, 0, 0, 1]))
    assert tinynet.gradcheck(lambda z: F.cross_entropy(z, t, reduction=reduction), [z])


def test_cross_entropy_gradient_closed_form(device, xp, rng):
    """With mean reduction and upstream 1, dz[n, k] = (p[n, k] - [k == t_n]) / N exactly as derived."""
    z = rand(rng, (3, 4), device, low=-2.0, high=2.0)
    t = np.array([1, 3, 1])
    F.cross_entropy(z, xp.asarray(t)).backward()
    onehot = np.eye(4)[t]
    expected = (softmax_reference(host(z), 1) - onehot) / 3
    np.testing.assert_allclose(host(z.grad), expected, rtol=1e-12, atol=1e-15)


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
    assert np.isfinite(host(loss)).all()
    assert float(host(loss)) == pytest.approx((0.0 + np.log(2) + 2e4) / 3, rel=1e-6)
    loss.backward()
    grad = host(z.grad)
    assert np.isfinite(grad).all()
    expected = np.array([[0.0, 0.0, 0.0], [0.0, 0.5, -0.5], [1.0, -1.0, 0.0]]) / 3
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "tensor"])
@pytest.mark.parametrize("target_dtype", ["int64", "int32"])
def test_cross_entropy_targets_array_or_tensor(device, xp, rng, as_tensor, target_dtype):
    """Targets may be an integer array (NumPy on the CPU) or a tinynet.Tensor: same loss, same gradient."""
    z_host = rng.uniform(-2, 2, size=(4, 5))
    t_host = np.array([4, 0, 2, 2], dtype=target_dtype)
    targets = tinynet.Tensor(xp.asarray(t_host)) if as_tensor else xp.asarray(t_host)
    z = tensor(z_host, device, requires_grad=True)
    loss = F.cross_entropy(z, targets)
    np.testing.assert_allclose(float(host(loss)), cross_entropy_reference(z_host, t_host), rtol=1e-12)
    loss.backward()
    expected = (softmax_reference(z_host, 1) - np.eye(5)[t_host]) / 4
    np.testing.assert_allclose(host(z.grad), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.skipif(CUDA_SKIP_REASON is not None, reason=f"needs a CUDA GPU: {CUDA_SKIP_REASON}")
def test_cross_entropy_host_targets_with_gpu_logits_name_both_devices(rng):
    """Targets left in host memory while the logits are on the GPU: a DeviceError naming both devices
    (as PyTorch refuses tensors on two devices), not a failure inside CuPy."""
    z = rand(rng, (3, 4), "cuda", requires_grad=False)
    with pytest.raises(tinynet.DeviceError, match=r"CrossEntropy.*cuda.*cpu"):
        F.cross_entropy(z, np.array([0, 1, 2]))


@pytest.mark.parametrize("bad", [5, 7, -1])
def test_cross_entropy_target_out_of_range(device, xp, rng, bad):
    """A class index outside [0, K) raises ValueError naming that class and the number of classes."""
    z = rand(rng, (3, 5), device, requires_grad=False)
    t = xp.asarray(np.array([0, bad, 1]))
    with pytest.raises(ValueError) as info:
        F.cross_entropy(z, t)
    message = str(info.value)
    assert str(bad) in message
    assert "5 classes" in message


def test_cross_entropy_float_targets_raise_type_error(device, xp, rng):
    """Float targets (probabilities or a forgotten cast) raise TypeError, not a silent wrong loss."""
    z = rand(rng, (2, 3), device, requires_grad=False)
    with pytest.raises(TypeError, match="integer"):
        F.cross_entropy(z, xp.asarray(np.array([0.0, 2.0])))


@pytest.mark.parametrize("t_shape", [(3,), (2, 1), (1, 2), ()])
def test_cross_entropy_wrong_target_shape(device, xp, rng, t_shape):
    """Targets that aren't (N,) raise ShapeError naming the expected shape."""
    z = rand(rng, (2, 3), device, requires_grad=False)
    t = xp.asarray(np.zeros(t_shape, dtype=np.int64))
    with pytest.raises(tinynet.ShapeError, match=r"\(2,\)"):
        F.cross_entropy(z, t)


def test_cross_entropy_rejects_non_2d_logits(device, xp, rng):
    """Logits must be (N, K): a 1-D or 3-D input is a ShapeError naming cross_entropy."""
    for shape in [(3,), (2, 3, 4)]:
        z = rand(rng, shape, device, requires_grad=False)
        with pytest.raises(tinynet.ShapeError, match="cross_entropy"):
            F.cross_entropy(z, xp.asarray(np.zeros(shape[:1], dtype=np.int64)))


def test_cross_entropy_bad_reduction(device, rng):
    """An unknown reduction raises ValueError naming it."""
    z = rand(rng, (2, 3), device, requires_grad=False)
    with pytest.raises(ValueError, match="avg"):
        F.cross_entropy(z, np.array([0, 1]), reduction="avg")


def test_cross_entropy_unbatched_sample(device, xp):
    """Logits (K,) with a 0-d target are one sample: the same loss as the (1, K) batch."""
    z = tensor([2.0, 0.0, 0.0], device, requires_grad=True, dtype="float64")
    loss = F.cross_entropy(z, xp.asarray(0))
    np.testing.assert_allclose(loss.item(), np.log(1 + 2 * np.exp(-2.0)))
    loss.backward()
    p = np.array([1.0, np.exp(-2.0), np.exp(-2.0)]) / (1 + 2 * np.exp(-2.0))
    np.testing.assert_allclose(host(z.grad), p - np.array([1.0, 0.0, 0.0]))
