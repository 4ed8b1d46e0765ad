"""batch_norm: PyTorch's F.batch_norm (statistics over every axis but 1; running statistics updated in place
with the unbiased variance; eval mode normalises with them).

Three independent checks of the op: the textbook loops of tinynet/functional/reference/normalization.py
(forward, running statistics, and a backward by the chain rule one stage at a time), central differences,
and PyTorch's own values (tests/fixtures/torch_normalization.npz, made by tools/torch_reference/normalization.py).
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet import backend
from tinynet.functional import reference
from tinynet.functional.batchnorm import BatchNorm

SHAPES = [
    pytest.param((5, 3), id="N,C"),
    pytest.param((4, 3, 5), id="N,C,L"),
    pytest.param((3, 2, 4, 5), id="N,C,H,W"),
    pytest.param((2, 2, 2, 3, 2), id="N,C,D,H,W"),
]
SMALL_N = [
    pytest.param((2, 3), id="n=2-N,C"),
    pytest.param((1, 3, 2), id="n=2-N=1,L=2"),
    pytest.param((1, 2, 1, 2), id="n=2-N=1,H=1,W=2"),
]


def _stats(rng, C, device):
    """Running statistics as the op expects them: (C,) arrays on ``device``, var positive."""
    mean = backend.to_device(rng.normal(0.0, 1.0, C), device)
    var = backend.to_device(rng.uniform(0.5, 2.0, C), device)
    return mean, var


def _affine(rng, C, device, requires_grad=True):
    w = tensor(rng.normal(1.0, 0.5, C), device, requires_grad=requires_grad)
    b = tensor(rng.normal(0.0, 0.5, C), device, requires_grad=requires_grad)
    return w, b


# --- forward and the running statistics against the textbook loop --------------------------------------------

@pytest.mark.parametrize("shape", SHAPES + SMALL_N)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 0.0, 1.0])
def test_batch_norm_matches_loop_reference(device, rng, shape, training, momentum):
    """y and the updated running statistics equal the loop's, channel by channel (eval: unchanged)."""
    x = rand(rng, shape, device, requires_grad=False, low=-3.0, high=2.0)
    w, b = _affine(rng, shape[1], device, requires_grad=False)
    mean, var = _stats(rng, shape[1], device)
    expected_y, expected_mean, expected_var = reference.batch_norm(
        host(x), host(mean), host(var), host(w), host(b), training=training, momentum=momentum, eps=1e-5)
    y = F.batch_norm(x, mean, var, w, b, training=training, momentum=momentum, eps=1e-5)
    np.testing.assert_allclose(host(y), expected_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(mean), expected_mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(var), expected_var, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_training_output_has_mean_0_and_variance_1(device, rng, shape):
    """Without weight and bias, each channel of y has mean 0 and biased variance var / (var + eps)."""
    x = rand(rng, shape, device, requires_grad=False, low=-5.0, high=9.0)
    y = host(F.batch_norm(x, None, None, training=True, eps=0.5))
    axes = (0,) + tuple(range(2, len(shape)))
    var = host(x).var(axis=axes)
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), var / (var + 0.5), rtol=1e-12)


def test_batch_norm_running_variance_is_unbiased_hand_computed(device):
    """One channel holding (1, 2, 3, 6): mean 3, biased variance 14/4 normalises, unbiased 14/3 is tracked.

    momentum 0.5 from running (0, 1): running_mean = 0.5 * 3 = 1.5, running_var = 0.5 + 0.5 * 14/3 = 17/6.
    """
    x = tensor(np.array([1.0, 2.0, 3.0, 6.0]).reshape(4, 1), device)
    mean, var = backend.to_device(np.zeros(1), device), backend.to_device(np.ones(1), device)
    y = F.batch_norm(x, mean, var, training=True, momentum=0.5, eps=1e-5)
    np.testing.assert_allclose(host(y).ravel(), (np.array([1, 2, 3, 6]) - 3) / np.sqrt(14 / 4 + 1e-5), rtol=1e-14)
    np.testing.assert_allclose(host(mean), [1.5], rtol=1e-15)
    np.testing.assert_allclose(host(var), [17 / 6], rtol=1e-15)


def test_batch_norm_eval_is_an_affine_map_with_the_running_statistics(device):
    """Eval: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, the batch plays no part:
    mean 1, var 3 (+ eps 1 = 4), weight 2, bias 0.5: x = 5 -> (5 - 1) / 2 * 2 + 0.5 = 4.5."""
    x = tensor(np.array([5.0, -1.0, 1.0]).reshape(3, 1), device)
    mean, var = backend.to_device(np.array([1.0]), device), backend.to_device(np.array([3.0]), device)
    w, b = tensor([2.0], device, dtype="float64"), tensor([0.5], device, dtype="float64")
    y = F.batch_norm(x, mean, var, w, b, training=False, eps=1.0)
    np.testing.assert_allclose(host(y).ravel(), [4.5, -1.5, 0.5], rtol=1e-15)
    np.testing.assert_array_equal(host(mean), [1.0])  # eval never updates
    np.testing.assert_array_equal(host(var), [3.0])


def test_batch_norm_updates_tensor_buffers_in_place(device, rng):
    """Tensors as running statistics: the same objects and the same arrays are updated, outside the graph,
    even under no_grad (PyTorch updates them whenever training=True)."""
    x = rand(rng, (4, 3, 2), device, requires_grad=True)
    mean, var = (tinynet.Tensor(a) for a in _stats(rng, 3, device))
    arrays = (mean.data, var.data)
    before = host(mean).copy(), host(var).copy()
    expected = reference.batch_norm(host(x), before[0], before[1], training=True, momentum=0.1)
    y = F.batch_norm(x, mean, var, training=True)
    assert mean.data is arrays[0] and var.data is arrays[1]
    assert not mean.requires_grad and not var.requires_grad and y.requires_grad
    np.testing.assert_allclose(host(mean), expected[1], rtol=1e-12)
    with tinynet.no_grad():
        F.batch_norm(x, mean, var, training=True)
    assert not np.allclose(host(mean), expected[1])
    y.backward(tensor(rng.normal(size=y.shape), device))  # backward does not touch them
    assert mean.data is arrays[0]


def test_batch_norm_training_without_running_statistics(device, rng):
    """running_mean = running_var = None in training: batch statistics only, nothing to update."""
    x = rand(rng, (4, 3), device, requires_grad=False)
    expected, _, _ = reference.batch_norm(host(x), None, None, training=True)
    np.testing.assert_allclose(host(F.batch_norm(x, None, None, training=True)), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [("float32", 1e-5), ("float64", 1e-12)])
def test_batch_norm_keeps_dtype(device, rng, dtype, rtol):
    x = rand(rng, (4, 3, 2, 2), device, requires_grad=False, dtype=dtype)
    mean, var = (a.astype(dtype) for a in _stats(rng, 3, device))
    w, b = (tensor(a, device, dtype=dtype) for a in (rng.normal(size=3), rng.normal(size=3)))
    expected = reference.batch_norm(host(x), host(mean), host(var), host(w), host(b), training=True)
    y = F.batch_norm(x, mean, var, w, b, training=True)
    assert y.dtype == np.dtype(dtype) and mean.dtype == np.dtype(dtype) and var.dtype == np.dtype(dtype)
    np.testing.assert_allclose(host(y), expected[0], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(host(var), expected[2], rtol=rtol)


def test_batch_norm_empty_batch(device):
    """N = 0 in training: an empty output, zero gradients, running statistics untouched (as PyTorch)."""
    x = tensor(np.zeros((0, 3)), device, requires_grad=True)
    w = tensor(np.ones(3), device, requires_grad=True)
    mean, var = backend.to_device(np.zeros(3), device), backend.to_device(np.ones(3), device)
    y = F.batch_norm(x, mean, var, w, training=True)
    assert y.shape == (0, 3)
    y.backward(tensor(np.zeros((0, 3)), device))
    np.testing.assert_array_equal(host(w.grad), np.zeros(3))
    np.testing.assert_array_equal(host(mean), np.zeros(3))
    np.testing.assert_array_equal(host(var), np.ones(3))


# --- backward ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES + SMALL_N)
def test_batch_norm_backward_matches_staged_chain_rule(device, rng, shape):
    """The compact dx equals the loop's stage-by-stage chain rule (dvar, dmu, then dx); dgamma, dbeta too."""
    x = rand(rng, shape, device, low=-2.0, high=3.0)
    w, b = _affine(rng, shape[1], device)
    g = rng.normal(size=shape)
    F.batch_norm(x, None, None, w, b, training=True, eps=1e-3).backward(tensor(g, device))
    dx, dgamma, dbeta = reference.batch_norm_backward(host(x), g, host(w), eps=1e-3)
    np.testing.assert_allclose(host(x.grad), dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(w.grad), dgamma, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(b.grad), dbeta, rtol=1e-12, atol=1e-12)


AFFINE = ["weight and bias", "weight", "bias", "none"]


@pytest.mark.parametrize("shape", SHAPES + SMALL_N)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", AFFINE)
def test_batch_norm_gradcheck(device, rng, shape, training, affine):
    """dx, dweight, dbias against central differences; training (statistics depend on x) and eval (constants)."""
    C = shape[1]
    x = rand(rng, shape, device, low=-2.0, high=2.0)
    w, b = _affine(rng, C, device)
    mean, var = _stats(rng, C, device)
    use_w, use_b = "weight" in affine, "bias" in affine

    def fn(x, w, b):
        # fresh copies: a training call updates the running statistics, which must not drift between calls
        return F.batch_norm(x, mean.copy(), var.copy(), w if use_w else None, b if use_b else None,
                            training=training, momentum=0.1, eps=1e-5)

    assert tinynet.gradcheck(fn, [x, w, b])


def test_batch_norm_gradient_of_the_weight_alone(device, rng):
    """Only the weight wants a gradient (the input is data): the op still keeps x_hat and gets dgamma right."""
    x = rand(rng, (4, 3, 2), device, requires_grad=False)
    w, b = _affine(rng, 3, device)
    assert tinynet.gradcheck(lambda w: F.batch_norm(x, None, None, w, b.detach(), training=True), [w])
    mean, var = _stats(rng, 3, device)
    assert tinynet.gradcheck(lambda w: F.batch_norm(x, mean, var, w, training=False), [w])


def _batch_norm_by_primitives(x, w, b, eps):
    """The training-mode formula written with Tensor operations only; autograd differentiates it stage by stage."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mu = x.mean(dim=axes, keepdim=True)
    centred = x - mu
    var = (centred * centred).mean(dim=axes, keepdim=True)
    x_hat = centred * (var + eps) ** -0.5
    return x_hat * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("shape", SHAPES + SMALL_N)
def test_batch_norm_compact_backward_equals_the_graph_of_primitives(device, rng, shape):
    """One hand-written Function and a graph of mean, -, *, ** give the same y and the same three gradients."""
    x = rand(rng, shape, device, low=-2.0, high=3.0)
    w, b = _affine(rng, shape[1], device)
    x2, w2, b2 = (tensor(host(t), device, requires_grad=True) for t in (x, w, b))
    g = tensor(rng.normal(size=shape), device)
    y = F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
    y2 = _batch_norm_by_primitives(x2, w2, b2, 1e-5)
    np.testing.assert_allclose(host(y), host(y2), rtol=1e-12, atol=1e-12)
    y.backward(g)
    y2.backward(g)
    for fast, graph in ((x, x2), (w, w2), (b, b2)):
        np.testing.assert_allclose(host(fast.grad), host(graph.grad), rtol=1e-10, atol=1e-12)


def test_batch_norm_keeps_x_hat_and_invstd_only(device, rng):
    """Training keeps x_hat (input-sized) and invstd (C,), plus a reference to the weight; not x, not y."""
    x = rand(rng, (4, 3, 2, 2), device)
    w, b = _affine(rng, 3, device)
    op = BatchNorm(None, None, True, 0.1, 1e-5, True, True)
    op(x, w, b)
    arrays = {k: v for k, v in vars(op).items() if hasattr(v, "shape") and hasattr(v, "dtype")}
    assert set(arrays) == {"x_hat", "invstd", "w"}
    assert arrays["x_hat"].shape == (4, 3, 2, 2) and arrays["invstd"].shape == (3,)
    assert op.w is w.data
    with tinynet.no_grad():  # no backward will come: nothing is kept
        op = BatchNorm(None, None, True, 0.1, 1e-5, True, True)
        op(x, w, b)
    assert op.x_hat is None and op.invstd is None and op.w is None


def test_batch_norm_eval_backward_uses_the_statistics_of_its_forward(device, rng):
    """An eval forward, then a training step that moves the running statistics in place, then the eval
    backward: dweight still uses the statistics the forward normalised with (the op keeps a copy)."""
    x = rand(rng, (4, 3), device, requires_grad=False)
    w = tensor(rng.normal(size=3), device, requires_grad=True)
    mean, var = _stats(rng, 3, device)
    saved_mean, saved_var = mean.copy(), var.copy()
    g = rng.normal(size=(4, 3))
    y = F.batch_norm(x, mean, var, w, training=False)
    F.batch_norm(rand(rng, (4, 3), device, requires_grad=False), mean, var, training=True, momentum=0.9)
    y.backward(tensor(g, device))
    x_hat = (host(x) - host(saved_mean)) / np.sqrt(host(saved_var) + 1e-5)
    np.testing.assert_allclose(host(w.grad), (g * x_hat).sum(axis=0), rtol=1e-12)


# --- PyTorch's values --------------------------------------------------------------------------------------------

TORCH_CASES = ["2d", "3d", "4d", "n2"]


@pytest.mark.parametrize("case", TORCH_CASES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm_matches_torch(device, case, mode):
    """y, dx, dweight, dbias and the running statistics after the call, as torch computed them (1e-12)."""
    fx = torch_fixture("normalization")
    p = f"bn_{case}"
    x = tensor(fx[f"{p}_x"], device, requires_grad=True)
    w = tensor(fx[f"{p}_weight"], device, requires_grad=True)
    b = tensor(fx[f"{p}_bias"], device, requires_grad=True)
    mean = backend.to_device(fx[f"{p}_running_mean"].copy(), device)
    var = backend.to_device(fx[f"{p}_running_var"].copy(), device)
    y = F.batch_norm(x, mean, var, w, b, training=mode == "train", momentum=0.1, eps=1e-5)
    y.backward(tensor(fx[f"{p}_g"], device))
    for name, ours in (("y", y), ("dx", x.grad), ("dweight", w.grad), ("dbias", b.grad),
                       ("running_mean", mean), ("running_var", var)):
        np.testing.assert_allclose(host(ours), fx[f"{p}_{mode}_{name}"], rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", TORCH_CASES)
def test_batch_norm_without_affine_matches_torch(device, case):
    fx = torch_fixture("normalization")
    x = tensor(fx[f"bn_{case}_x"], device, requires_grad=True)
    y = F.batch_norm(x, None, None, training=True)
    y.backward(tensor(fx[f"bn_{case}_g"], device))
    np.testing.assert_allclose(host(y), fx[f"bn_{case}_plain_y"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(x.grad), fx[f"bn_{case}_plain_dx"], rtol=1e-12, atol=1e-12)


# --- hostile arguments and inputs --------------------------------------------------------------------------------

def _x(*shape, dtype=np.float64):
    return tinynet.Tensor(np.ones(shape, dtype=dtype) + np.arange(np.prod(shape), dtype=dtype).reshape(shape))


def _c(n=3, value=0.0, dtype=np.float64):
    return np.full(n, value, dtype=dtype)


def _bn(x=None, rm="default", rv="default", **kwargs):
    x = _x(4, 3) if x is None else x
    rm = _c() if isinstance(rm, str) and rm == "default" else rm
    rv = _c(value=1.0) if isinstance(rv, str) and rv == "default" else rv
    return F.batch_norm(x, rm, rv, **kwargs)


BAD = [
    # training, momentum, eps
    pytest.param(lambda: _bn(training="yes"), TypeError, r"^batch_norm: training must be True or False, got 'yes'$",
                 id="training-str"),
    pytest.param(lambda: _bn(training=1), TypeError, r"^batch_norm: training must be True or False, got 1$",
                 id="training-int"),
    pytest.param(lambda: _bn(training=True, momentum=float("nan")), ValueError,
                 r"^batch_norm: momentum must be a finite number >= 0 and <= 1, got nan$", id="momentum-nan"),
    pytest.param(lambda: _bn(training=True, momentum=-0.1), ValueError, r"^batch_norm: momentum must be .*got -0.1$",
                 id="momentum-negative"),
    pytest.param(lambda: _bn(training=True, momentum=1.5), ValueError, r"^batch_norm: momentum must be .*got 1.5$",
                 id="momentum-above-1"),
    pytest.param(lambda: _bn(training=True, momentum=None), TypeError,
                 r"^batch_norm: momentum must be a finite number .*got None$", id="momentum-None"),
    pytest.param(lambda: _bn(training=True, momentum="0.1"), TypeError, r"^batch_norm: momentum must be .*got '0.1'$",
                 id="momentum-str"),
    pytest.param(lambda: _bn(training=True, momentum=True), TypeError, r"^batch_norm: momentum must be .*got True$",
                 id="momentum-bool"),
    pytest.param(lambda: _bn(training=True, eps=0.0), ValueError,
                 r"^batch_norm: eps must be a finite number > 0, got 0.0$", id="eps-0-training"),
    pytest.param(lambda: _bn(training=False, eps=-1e-5), ValueError,
                 r"^batch_norm: eps must be a finite number >= 0, got -1e-05$", id="eps-negative-eval"),
    pytest.param(lambda: _bn(eps=float("inf")), ValueError, r"^batch_norm: eps must be a finite number >= 0, got inf$",
                 id="eps-inf"),
    pytest.param(lambda: _bn(eps="1e-5"), TypeError, r"^batch_norm: eps must be a finite number", id="eps-str"),
    # running statistics
    pytest.param(lambda: _bn(rm=[0.0, 0.0, 0.0]), TypeError,
                 r"^batch_norm: running_mean must be a Tensor, an array or None, got list", id="running_mean-list"),
    pytest.param(lambda: _bn(rv=1.0), TypeError, r"^batch_norm: running_var must be a Tensor, an array or None, got float",
                 id="running_var-float"),
    pytest.param(lambda: _bn(rm=np.zeros(3, dtype=np.int64)), TypeError,
                 r"^batch_norm: running_mean must be floating point, got dtype int64$", id="running_mean-int"),
    pytest.param(lambda: _bn(rm=_c(4)), tinynet.ShapeError,
                 r"^batch_norm: running_mean must have shape \(3,\) .*got \(4,\)$", id="running_mean-shape"),
    pytest.param(lambda: _bn(rv=np.ones((3, 1))), tinynet.ShapeError,
                 r"^batch_norm: running_var must have shape \(3,\) .*got \(3, 1\)$", id="running_var-2d"),
    pytest.param(lambda: _bn(rm=_c(dtype=np.float32)), TypeError,
                 r"^batch_norm: inputs must have one dtype, got input float64, running_mean float32",
                 id="running_mean-dtype"),
    pytest.param(lambda: _bn(rm=None), ValueError, r"^batch_norm: running_mean and running_var must be given together",
                 id="running_var-without-mean"),
    pytest.param(lambda: _bn(rm=None, rv=None, training=False), ValueError,
                 r"^batch_norm: running_mean and running_var must be given in evaluation mode", id="eval-without-stats"),
    # weight and bias
    pytest.param(lambda: _bn(weight=_c(2)), tinynet.ShapeError, r"^batch_norm: weight must have shape \(3,\) .*got \(2,\)$",
                 id="weight-shape"),
    pytest.param(lambda: _bn(bias=np.zeros((1, 3))), tinynet.ShapeError,
                 r"^batch_norm: bias must have shape \(3,\) .*got \(1, 3\)$", id="bias-shape"),
    pytest.param(lambda: _bn(weight="ones"), TypeError, r"^batch_norm: weight must be a Tensor, an array or None, got str",
                 id="weight-str"),
    pytest.param(lambda: _bn(bias=0.0), TypeError, r"^batch_norm: bias must be a Tensor, an array or None, got float",
                 id="bias-float"),
    pytest.param(lambda: _bn(weight=tinynet.Tensor(np.ones(3, dtype=np.float32))), TypeError,
                 r"^batch_norm: inputs must have one dtype, got input float64, weight float32", id="weight-dtype"),
    # the input
    pytest.param(lambda: _bn(x=_x(4)), tinynet.ShapeError,
                 r"^batch_norm: expected an input of 2 or more dimensions \(N, C, \.\.\.\), got shape \(4,\)$",
                 id="input-1d"),
    pytest.param(lambda: _bn(x=tinynet.Tensor(np.float64(1.0))), tinynet.ShapeError,
                 r"^batch_norm: expected an input of 2 or more dimensions .*got shape \(\)$", id="input-0d"),
    pytest.param(lambda: _bn(x=_x(4, 2)), tinynet.ShapeError,
                 r"^batch_norm: running_mean must have shape \(2,\) \(one value per channel of the input of shape "
                 r"\(4, 2\)\), got \(3,\)$", id="input-channels"),
    pytest.param(lambda: _bn(x=tinynet.Tensor(np.ones((4, 3), dtype=np.int64))), TypeError,
                 r"^batch_norm: input must be floating point \(float32 or float64\), got dtype int64$", id="input-int"),
    pytest.param(lambda: _bn(x=_x(1, 3), training=True), ValueError,
                 r"^batch_norm: Expected more than 1 value per channel when training, got input size \(1, 3\)$",
                 id="training-n=1"),
    pytest.param(lambda: _bn(x=_x(1, 3, 1, 1), rm=None, rv=None, training=True), ValueError,
                 r"^batch_norm: Expected more than 1 value per channel when training, got input size \(1, 3, 1, 1\)$",
                 id="training-n=1-4d"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_batch_norm_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_batch_norm_n_equal_1_is_fine_in_eval():
    """PyTorch's rule: one value per channel is refused in training only; eval has its statistics."""
    y = _bn(x=_x(1, 3), training=False)
    np.testing.assert_allclose(y.numpy(), _x(1, 3).numpy() / np.sqrt(1 + 1e-5), rtol=1e-15)


def test_a_refused_call_leaves_the_running_statistics_alone():
    """A wrong weight shape is caught before the update: the buffers keep their values."""
    mean, var = _c(), _c(value=1.0)
    with pytest.raises(tinynet.ShapeError):
        F.batch_norm(_x(4, 3), mean, var, weight=_c(2), training=True)
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(var, 1.0)
