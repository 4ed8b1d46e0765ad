"""nn.BatchNorm1d, nn.BatchNorm2d and nn.LayerNorm: PyTorch's constructors, parameters, buffers, state dicts,
reprs and training/eval behaviour; the running statistics over several steps against PyTorch's values
(tests/fixtures/torch_normalization.npz, made by tools/torch_reference/normalization.py).
"""
import numpy as np
import pytest

import tinynet
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet import functional as F
from tinynet import nn
from tinynet.functional import reference

TOL = dict(rtol=1e-12, atol=1e-12)


# --- what a layer holds -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [nn.BatchNorm1d, nn.BatchNorm2d])
def test_batch_norm_layer_holds_what_pytorch_holds(device, cls):
    """weight ones and bias zeros (parameters), running_mean zeros, running_var ones and an int64 scalar
    num_batches_tracked (buffers, not parameters); the state dict keys, shapes and dtypes of torch's."""
    layer = cls(4, device=device)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in layer.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(host(layer.weight), np.ones(4))
    np.testing.assert_array_equal(host(layer.bias), np.zeros(4))
    np.testing.assert_array_equal(host(layer.running_mean), np.zeros(4))
    np.testing.assert_array_equal(host(layer.running_var), np.ones(4))
    assert not layer.running_mean.requires_grad and layer.weight.requires_grad
    assert layer.weight.device == device and layer.running_var.device == device
    state = layer.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert {k: (v.shape, v.dtype) for k, v in state.items()} == {
        "weight": ((4,), np.float32), "bias": ((4,), np.float32), "running_mean": ((4,), np.float32),
        "running_var": ((4,), np.float32), "num_batches_tracked": ((), np.int64)}
    assert int(state["num_batches_tracked"]) == 0


def test_batch_norm_layer_without_affine_or_tracking():
    """affine=False: weight and bias are None (registered, not listed); track_running_stats=False: the three
    buffers are None and not in the state dict; bias=False (keyword only, as PyTorch 2.13): no bias."""
    layer = nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    assert layer.weight is None and layer.bias is None and list(layer.parameters()) == []
    assert layer.running_mean is None and layer.running_var is None and layer.num_batches_tracked is None
    assert list(layer.state_dict()) == [] and list(layer.buffers()) == []
    layer = nn.BatchNorm1d(3, bias=False)
    assert layer.bias is None and list(layer.state_dict()) == ["weight", "running_mean", "running_var",
                                                               "num_batches_tracked"]


@pytest.mark.parametrize("build, text", [
    (lambda: nn.BatchNorm1d(3),
     "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"),
    (lambda: nn.BatchNorm2d(3, momentum=None, affine=False, track_running_stats=False),
     "BatchNorm2d(3, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=False)"),
    (lambda: nn.BatchNorm1d(3, bias=False), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=False, "
                                            "track_running_stats=True)"),
    (lambda: nn.LayerNorm(4), "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"),
    (lambda: nn.LayerNorm([2, 3], elementwise_affine=False, bias=False),
     "LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, bias=False)"),
    (lambda: nn.LayerNorm(3, elementwise_affine=False), "LayerNorm((3,), eps=1e-05, elementwise_affine=False, bias=False)"),
], ids=["bn1d", "bn2d-plain", "bn1d-no-bias", "ln", "ln-plain", "ln-affine-off"])
def test_repr_is_pytorchs(build, text):
    """The strings torch 2.13 prints for the same layers."""
    assert repr(build()) == text


def test_layers_take_dtype_and_move_with_the_module(device):
    """dtype= makes float64 parameters and running statistics; .to() and .double() move the buffers too and
    leave num_batches_tracked int64."""
    layer = nn.BatchNorm2d(2, dtype="float64")
    assert layer.weight.dtype == np.float64 and layer.running_var.dtype == np.float64
    layer = nn.BatchNorm2d(2).to(device).double()
    assert layer.running_mean.dtype == np.float64 and layer.running_mean.device == device
    assert layer.num_batches_tracked.dtype == np.int64 and layer.num_batches_tracked.device == device
    ln = nn.LayerNorm((2, 3), dtype="float64", device=device)
    assert ln.weight.shape == (2, 3) and ln.weight.dtype == np.float64 and ln.bias.device == device


# --- behaviour ---------------------------------------------------------------------------------------------------

def _layer(cls, fx, prefix, device, **kwargs):
    layer = cls(fx[f"{prefix}_x0"].shape[1], device=device, dtype="float64", **kwargs)
    if layer.weight is not None:
        layer.weight.data[...] = tensor(fx[f"{prefix}_weight"], device).data
        layer.bias.data[...] = tensor(fx[f"{prefix}_bias"], device).data
    return layer


RUNS = [
    pytest.param(nn.BatchNorm2d, "bn2d_m01", {}, id="2d-momentum-0.1"),
    pytest.param(nn.BatchNorm2d, "bn2d_m05", {"momentum": 0.5}, id="2d-momentum-0.5"),
    pytest.param(nn.BatchNorm2d, "bn2d_mnone", {"momentum": None}, id="2d-momentum-None"),
    pytest.param(nn.BatchNorm2d, "bn2d_untracked", {"track_running_stats": False}, id="2d-untracked"),
    pytest.param(nn.BatchNorm2d, "bn2d_noaffine", {"affine": False, "momentum": 0.3}, id="2d-no-affine"),
    pytest.param(nn.BatchNorm1d, "bn1d_2d", {}, id="1d-N,C"),
    pytest.param(nn.BatchNorm1d, "bn1d_3d", {"momentum": None}, id="1d-N,C,L-momentum-None"),
]


@pytest.mark.parametrize("cls, prefix, kwargs", RUNS)
def test_training_steps_then_eval_match_torch(device, cls, prefix, kwargs):
    """Each training step's output, running_mean, running_var and num_batches_tracked, then an eval output,
    equal torch's for the same layer fed the same batches (batches of different sizes: n changes the
    unbiased correction and, for momentum None, the weights of the cumulative average)."""
    fx = torch_fixture("normalization")
    layer = _layer(cls, fx, prefix, device, **kwargs)
    step = 0
    while f"{prefix}_x{step}" in fx:
        y = layer(tensor(fx[f"{prefix}_x{step}"], device))
        np.testing.assert_allclose(host(y), fx[f"{prefix}_y{step}"], **TOL, err_msg=f"y, step {step}")
        if layer.track_running_stats:
            np.testing.assert_allclose(host(layer.running_mean), fx[f"{prefix}_running_mean{step}"], **TOL)
            np.testing.assert_allclose(host(layer.running_var), fx[f"{prefix}_running_var{step}"], **TOL)
            assert layer.num_batches_tracked.item() == fx[f"{prefix}_num_batches_tracked{step}"] == step + 1
        step += 1
    assert step >= 3
    layer.eval()
    y = layer(tensor(fx[f"{prefix}_eval_x"], device))
    np.testing.assert_allclose(host(y), fx[f"{prefix}_eval_y"], **TOL)


def test_momentum_none_is_the_plain_average_of_the_batch_statistics(device, rng):
    """momentum=None: after k batches running_mean is the mean of the k batch means (weight 1/k each),
    running_var the mean of the k unbiased batch variances; computed here from the batches themselves."""
    layer = nn.BatchNorm1d(3, momentum=None, dtype="float64", device=device)
    batches = [rng.normal(rng.uniform(-2, 2), 1.5, (n, 3)) for n in (4, 2, 7, 3)]
    for x in batches:
        layer(tensor(x, device))
    np.testing.assert_allclose(host(layer.running_mean), np.mean([x.mean(axis=0) for x in batches], axis=0), **TOL)
    np.testing.assert_allclose(host(layer.running_var), np.mean([x.var(axis=0, ddof=1) for x in batches], axis=0),
                               **TOL)


def test_eval_uses_and_keeps_the_running_statistics(device, rng):
    """Eval: y from the running statistics (the batch plays no part), buffers and count unchanged."""
    layer = nn.BatchNorm2d(2, dtype="float64", device=device)
    layer(rand(rng, (3, 2, 2, 2), device, requires_grad=False))
    layer.eval()
    state = {k: v.copy() for k, v in layer.state_dict().items()}
    x = rand(rng, (1, 2, 1, 1), device, requires_grad=False)  # one value per channel is fine in eval
    y = layer(x)
    expected, _, _ = reference.batch_norm(host(x), state["running_mean"], state["running_var"], state["weight"],
                                          state["bias"], training=False)
    np.testing.assert_allclose(host(y), expected, **TOL)
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, state[key])


def test_untracked_layer_uses_batch_statistics_in_eval_too(device, rng):
    layer = nn.BatchNorm1d(3, track_running_stats=False, dtype="float64", device=device).eval()
    x = rand(rng, (5, 3, 2), device, requires_grad=False)
    np.testing.assert_allclose(host(layer(x)), reference.batch_norm(host(x), None, None, training=True)[0], **TOL)


def test_layer_gradients_flow_to_input_and_parameters(device, rng):
    """The module is the op: gradcheck through a BatchNorm2d and a LayerNorm in training mode."""
    bn = nn.BatchNorm2d(2, dtype="float64", device=device)
    bn.weight.data[...] = tensor(rng.normal(1, 0.3, 2), device).data
    x = rand(rng, (2, 2, 2, 3), device)
    assert tinynet.gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])
    ln = nn.LayerNorm((2, 3), dtype="float64", device=device)
    ln.bias.data[...] = tensor(rng.normal(0, 0.3, (2, 3)), device).data
    assert tinynet.gradcheck(lambda x, w, b: ln(x), [x, ln.weight, ln.bias])


def test_layer_norm_module_is_the_op(device, rng):
    ln = nn.LayerNorm(4, dtype="float64", device=device)
    ln.weight.data[...] = tensor(rng.normal(size=4), device).data
    x = rand(rng, (2, 3, 4), device, requires_grad=False)
    expected = reference.layer_norm(host(x), (4,), host(ln.weight), host(ln.bias))
    np.testing.assert_allclose(host(ln(x)), expected, **TOL)
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"] and list(ln.buffers()) == []


def test_reset_running_stats_and_parameters_work_in_place(device, rng):
    """reset_running_stats() writes into the buffers' arrays (as torch's zero_/fill_); reset_parameters()
    also sets weight to 1 and bias to 0, keeping the Parameter objects (an optimizer holds them)."""
    layer = nn.BatchNorm2d(2, device=device)
    weight = layer.weight
    arrays = [t.data for t in (layer.running_mean, layer.running_var, layer.num_batches_tracked)]
    layer(rand(rng, (3, 2, 2, 2), device, requires_grad=False, dtype="float32"))
    layer.weight.data[...] = 5
    layer.reset_running_stats()
    np.testing.assert_array_equal(host(layer.running_mean), 0.0)
    np.testing.assert_array_equal(host(layer.running_var), 1.0)
    assert layer.num_batches_tracked.item() == 0 and host(layer.weight)[0] == 5
    layer.reset_parameters()
    np.testing.assert_array_equal(host(layer.weight), 1.0)
    now = [t.data for t in (layer.running_mean, layer.running_var, layer.num_batches_tracked)]
    assert all(a is b for a, b in zip(now, arrays)) and layer.weight is weight


def test_a_refused_batch_leaves_the_buffers_and_the_count_alone(device):
    """One value per channel in training is PyTorch's ValueError; the layer's state is as before."""
    layer = nn.BatchNorm1d(3, device=device)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size \(1, 3\)"):
        layer(tensor(np.ones((1, 3), dtype=np.float32), device))
    assert layer.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(host(layer.running_var), 1.0)


def test_state_dict_round_trip(device, rng):
    """A trained layer's state dict loads into a fresh one: same eval outputs, count int64 and equal."""
    layer = nn.BatchNorm2d(3, momentum=None, dtype="float64", device=device)
    for _ in range(3):
        layer(rand(rng, (4, 3, 2, 2), device, requires_grad=False))
    fresh = nn.BatchNorm2d(3, momentum=None, dtype="float64", device=device)
    fresh.load_state_dict(layer.state_dict())
    assert fresh.num_batches_tracked.dtype == np.int64 and fresh.num_batches_tracked.item() == 3
    x = rand(rng, (2, 3, 2, 2), device, requires_grad=False)
    np.testing.assert_array_equal(host(fresh.eval()(x)), host(layer.eval()(x)))
    fresh.train()(x)  # the 4th batch: weight 1/4, as it would have been in the first layer
    assert fresh.num_batches_tracked.item() == 4


def test_pytorch_state_dict_of_conv_bn_relu_loads_and_matches(device):
    """A Sequential(Conv2d, BatchNorm2d, ReLU) trained 3 SGD steps in torch: its state dict (running
    statistics and num_batches_tracked included) loads; eval and train outputs and every gradient match torch,
    and so do the buffers after the train-mode step."""
    fx = torch_fixture("normalization")
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU()).double().to(device)
    state = {k[len("seq_state_"):]: v for k, v in fx.items() if k.startswith("seq_state_")}
    assert list(state) == list(model.state_dict())
    model.load_state_dict(state)
    assert model[1].num_batches_tracked.item() == 3 and model[1].num_batches_tracked.dtype == np.int64
    for mode in ("eval", "train"):
        model.train(mode == "train")
        model.zero_grad()
        x = tensor(fx["seq_x"], device, requires_grad=True)
        y = model(x)
        y.backward(tensor(fx["seq_g"], device))
        np.testing.assert_allclose(host(y), fx[f"seq_{mode}_y"], **TOL, err_msg=mode)
        np.testing.assert_allclose(host(x.grad), fx[f"seq_{mode}_dx"], **TOL, err_msg=mode)
        for name, p in model.named_parameters():
            np.testing.assert_allclose(host(p.grad), fx[f"seq_{mode}_grad_{name}"], **TOL, err_msg=f"{mode} {name}")
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(value, fx[f"seq_after_{name}"], **TOL, err_msg=name)


def test_shape_error_inside_a_model_names_the_layer():
    model = nn.Sequential(nn.Conv2d(2, 4, 1), nn.BatchNorm2d(3))
    with pytest.raises(tinynet.ShapeError) as info:
        model(tinynet.Tensor(np.ones((2, 2, 3, 3), dtype=np.float32)))
    message = str(info.value)
    assert message.startswith("layer 1 BatchNorm2d(3, ") and "num_features = 3" in message and "got 4" in message


# --- hostile arguments and inputs ------------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")


def _forward(layer, *shape, dtype=np.float32):
    return layer(tinynet.Tensor(np.arange(np.prod(shape), dtype=dtype).reshape(shape)))


BAD = [
    # BatchNorm constructors
    pytest.param(lambda: nn.BatchNorm1d(0), ValueError, r"^BatchNorm1d: num_features must be an int >= 1, got 0$",
                 id="bn1d-num_features-0"),
    pytest.param(lambda: nn.BatchNorm2d(-2), ValueError, r"^BatchNorm2d: num_features must be an int >= 1, got -2$",
                 id="bn2d-num_features-negative"),
    pytest.param(lambda: nn.BatchNorm2d(3.0), TypeError, r"^BatchNorm2d: num_features must be an int >= 1, got 3.0$",
                 id="bn2d-num_features-float"),
    pytest.param(lambda: nn.BatchNorm2d(True), TypeError, r"^BatchNorm2d: num_features must be .*got True$",
                 id="bn2d-num_features-bool"),
    pytest.param(lambda: nn.BatchNorm1d("3"), TypeError, r"^BatchNorm1d: num_features must be .*got '3'$",
                 id="bn1d-num_features-str"),
    pytest.param(lambda: nn.BatchNorm2d(3, eps=0.0), ValueError,
                 r"^BatchNorm2d: eps must be a finite number > 0, got 0.0$", id="bn2d-eps-0"),
    pytest.param(lambda: nn.BatchNorm2d(3, eps=NAN), ValueError, r"^BatchNorm2d: eps must be a finite number > 0, got nan$",
                 id="bn2d-eps-nan"),
    pytest.param(lambda: nn.BatchNorm2d(3, eps="1e-5"), TypeError, r"^BatchNorm2d: eps must be .*got '1e-5'$",
                 id="bn2d-eps-str"),
    pytest.param(lambda: nn.BatchNorm1d(3, momentum=-0.5), ValueError,
                 r"^BatchNorm1d: momentum must be a finite number >= 0 and <= 1, got -0.5$", id="bn1d-momentum-negative"),
    pytest.param(lambda: nn.BatchNorm1d(3, momentum=INF), ValueError, r"^BatchNorm1d: momentum must be .*got inf$",
                 id="bn1d-momentum-inf"),
    pytest.param(lambda: nn.BatchNorm1d(3, momentum="cumulative"), TypeError,
                 r"^BatchNorm1d: momentum must be .*got 'cumulative'$", id="bn1d-momentum-str"),
    pytest.param(lambda: nn.BatchNorm2d(3, affine="no"), TypeError, r"^BatchNorm2d: affine must be True or False, got 'no'$",
                 id="bn2d-affine-str"),
    pytest.param(lambda: nn.BatchNorm2d(3, track_running_stats=0), TypeError,
                 r"^BatchNorm2d: track_running_stats must be True or False, got 0$", id="bn2d-track-int"),
    pytest.param(lambda: nn.BatchNorm2d(3, bias=None), TypeError, r"^BatchNorm2d: bias must be True or False, got None$",
                 id="bn2d-bias-None"),
    pytest.param(lambda: nn.BatchNorm2d(3, dtype="int64"), TypeError,
                 r"^BatchNorm2d: parameters must be floating point, got dtype int64$", id="bn2d-dtype-int"),
    pytest.param(lambda: nn.BatchNorm2d(3, device="tpu"), RuntimeError, r"^BatchNorm2d: unknown device 'tpu'",
                 id="bn2d-device-unknown"),
    pytest.param(lambda: nn.BatchNorm2d(3, device=0), TypeError, r"^BatchNorm2d: device must be None, 'cpu' or 'cuda'",
                 id="bn2d-device-int"),
    # BatchNorm inputs
    pytest.param(lambda: _forward(nn.BatchNorm1d(3), 2, 3, 2, 2), tinynet.ShapeError,
                 r"BatchNorm1d: expected 2D or 3D input \(got 4D input of shape \(2, 3, 2, 2\)\)$", id="bn1d-input-4d"),
    pytest.param(lambda: _forward(nn.BatchNorm1d(3), 3), tinynet.ShapeError,
                 r"BatchNorm1d: expected 2D or 3D input \(got 1D input of shape \(3,\)\)$", id="bn1d-input-1d"),
    pytest.param(lambda: _forward(nn.BatchNorm2d(3), 2, 3, 4), tinynet.ShapeError,
                 r"BatchNorm2d: expected 4D input \(got 3D input of shape \(2, 3, 4\)\)$", id="bn2d-input-3d"),
    pytest.param(lambda: _forward(nn.BatchNorm2d(3), 2, 4, 2, 2), tinynet.ShapeError,
                 r"BatchNorm2d: expected an input with num_features = 3 channels \(dimension 1\), got 4 "
                 r"\(input shape \(2, 4, 2, 2\)\)$", id="bn2d-input-channels"),
    pytest.param(lambda: _forward(nn.BatchNorm1d(3), 4, 3, dtype=np.float64), TypeError,
                 r"^batch_norm: inputs must have one dtype, got input float64, weight float32", id="bn1d-input-float64"),
    pytest.param(lambda: _forward(nn.BatchNorm1d(3), 4, 3, dtype=np.int64), TypeError,
                 r"^batch_norm: input must be floating point", id="bn1d-input-int"),
    pytest.param(lambda: nn.BatchNorm1d(3)([[1.0, 2.0, 3.0]] * 2), TypeError,
                 r"^BatchNorm1d: input must be a Tensor, got list$",
                 id="bn1d-input-list"),
    pytest.param(lambda: _forward(nn.BatchNorm2d(3), 1, 3, 1, 1), ValueError,
                 r"^batch_norm: Expected more than 1 value per channel when training, got input size \(1, 3, 1, 1\)$",
                 id="bn2d-input-n=1"),
    # running statistics of the wrong shape or type (as a bad state dict or a careless assignment leaves them)
    pytest.param(lambda: _with(nn.BatchNorm1d(3), running_mean=tinynet.Tensor(np.zeros(4, dtype=np.float32))),
                 tinynet.ShapeError, r"batch_norm: running_mean must have shape \(3,\) .*got \(4,\)$",
                 id="bn-running_mean-shape"),
    pytest.param(lambda: _with(nn.BatchNorm1d(3), running_var=tinynet.Tensor(np.ones(3, dtype=np.float64))),
                 TypeError, r"^batch_norm: inputs must have one dtype, got .*running_var float64",
                 id="bn-running_var-dtype"),
    pytest.param(lambda: _with(nn.BatchNorm1d(3), running_var=tinynet.Tensor(np.ones(3, dtype=np.int32))),
                 TypeError, r"^batch_norm: running_var must be floating point, got dtype int32$", id="bn-running_var-int"),
    pytest.param(lambda: nn.BatchNorm1d(3).load_state_dict({**nn.BatchNorm1d(3).state_dict(), "running_mean": np.zeros(4)}),
                 RuntimeError, r"running_mean: expected shape \(3,\), got \(4,\)", id="bn-load-running_mean-shape"),
    # LayerNorm constructor and inputs
    pytest.param(lambda: nn.LayerNorm(0), ValueError, r"^LayerNorm: normalized_shape must be .*got \(0,\)$", id="ln-0"),
    pytest.param(lambda: nn.LayerNorm(-4), ValueError, r"^LayerNorm: normalized_shape must be .*got \(-4,\)$",
                 id="ln-negative"),
    pytest.param(lambda: nn.LayerNorm(()), ValueError, r"^LayerNorm: normalized_shape must be .*got \(\)$", id="ln-empty"),
    pytest.param(lambda: nn.LayerNorm(4.0), TypeError, r"^LayerNorm: normalized_shape must be .*, or an int, got 4.0$",
                 id="ln-float"),
    pytest.param(lambda: nn.LayerNorm(True), TypeError, r"^LayerNorm: normalized_shape must be .*got True$", id="ln-bool"),
    pytest.param(lambda: nn.LayerNorm("4"), TypeError, r"^LayerNorm: normalized_shape must be .*got '4'$", id="ln-str"),
    pytest.param(lambda: nn.LayerNorm((2, "3")), TypeError, r"^LayerNorm: normalized_shape must be .*got \(2, '3'\)$",
                 id="ln-tuple-str"),
    pytest.param(lambda: nn.LayerNorm(4, eps=-1e-5), ValueError,
                 r"^LayerNorm: eps must be a finite number >= 0, got -1e-05$",
                 id="ln-eps-negative"),
    pytest.param(lambda: nn.LayerNorm(4, eps=NAN), ValueError, r"^LayerNorm: eps must be .*got nan$", id="ln-eps-nan"),
    pytest.param(lambda: nn.LayerNorm(4, elementwise_affine="yes"), TypeError,
                 r"^LayerNorm: elementwise_affine must be True or False, got 'yes'$", id="ln-affine-str"),
    pytest.param(lambda: nn.LayerNorm(4, bias=1), TypeError, r"^LayerNorm: bias must be True or False, got 1$",
                 id="ln-bias-int"),
    pytest.param(lambda: nn.LayerNorm(4, dtype="int32"), TypeError,
                 r"^LayerNorm: parameters must be floating point, got dtype int32$", id="ln-dtype-int"),
    pytest.param(lambda: nn.LayerNorm(4, device="gpu:1"), RuntimeError, r"^LayerNorm: ", id="ln-device-unknown"),
    pytest.param(lambda: _forward(nn.LayerNorm(4), 2, 3), tinynet.ShapeError,
                 r"layer_norm: normalized_shape \(4,\) expects an input of shape \(\*, 4\), got \(2, 3\)$",
                 id="ln-input-shape"),
    pytest.param(lambda: _forward(nn.LayerNorm((2, 3)), 3), tinynet.ShapeError,
                 r"layer_norm: normalized_shape \(2, 3\) expects an input of shape \(\*, 2, 3\), got \(3,\)$",
                 id="ln-input-too-few-dims"),
    pytest.param(lambda: _forward(nn.LayerNorm(3), 2, 3, dtype=np.float64), TypeError,
                 r"^layer_norm: inputs must have one dtype, got input float64, weight float32", id="ln-input-float64"),
]


def _with(layer, **buffers):
    """``layer`` with some buffers replaced, run on a valid (4, 3) float32 batch."""
    for name, value in buffers.items():
        setattr(layer, name, value)
    return _forward(layer, 4, 3)


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments_and_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
