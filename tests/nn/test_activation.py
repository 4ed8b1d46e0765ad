"""The activation and dropout layers: PyTorch's constructors (signatures) and reprs, both recorded from
PyTorch in tests/fixtures/torch_activation.npz; each layer calls its function of tinynet.functional
(whose values tests/functional/test_activation.py pins); modes; Identity. Bad arguments:
tests/nn/test_bad_arguments.py."""
import inspect
import warnings

import numpy as np
import pytest

import tinynet
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet import functional as F
from tinynet import nn

TORCH = torch_fixture("activation")


@pytest.mark.parametrize("expr, want", list(zip(TORCH["repr_exprs"], TORCH["repr_torch"])),
                         ids=[str(e) for e in TORCH["repr_exprs"]])
def test_repr_is_pytorchs(expr, want):
    """The same constructor call prints what PyTorch prints (the arguments as given: p=1, alpha=1)."""
    assert repr(eval(str(expr), {"nn": nn})) == str(want)


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ELU", "GELU", "Softmax", "LogSoftmax", "Identity", "Dropout",
                                  "Dropout2d"])
def test_constructor_signatures_are_pytorchs(name):
    params = [p for p in inspect.signature(getattr(nn, name).__init__).parameters.values() if p.name != "self"]
    ours = ", ".join(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}" for p in params)
    assert ours == str(TORCH[f"sig_{name}"])


@pytest.mark.parametrize("layer, fn", [
    (nn.Tanh(), F.tanh), (nn.Sigmoid(), F.sigmoid), (nn.GELU(), F.gelu),
    (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (nn.LeakyReLU(), F.leaky_relu), (nn.LeakyReLU(-0.3, inplace=True), lambda x: F.leaky_relu(x, -0.3)),
    (nn.ELU(), F.elu), (nn.ELU(alpha=0.4), lambda x: F.elu(x, 0.4)),
    (nn.Softmax(dim=1), lambda x: F.softmax(x, 1)), (nn.LogSoftmax(dim=0), lambda x: F.log_softmax(x, 0)),
], ids=["Tanh", "Sigmoid", "GELU", "GELU-tanh", "LeakyReLU", "LeakyReLU-negative", "ELU", "ELU-0.4", "Softmax",
        "LogSoftmax"])
def test_layer_is_its_function(device, rng, layer, fn):
    """Forward and backward equal the function's with the layer's constants, exactly; no parameters."""
    x = rand(rng, (3, 4), device, low=-3, high=3)
    g = tensor(rng.standard_normal((3, 4)), device)
    y = layer(x * 1.0)  # not the leaf itself: an inplace=True layer may not change a leaf that requires grad
    y.backward(g)
    grad = host(x.grad)
    x.grad = None
    want = fn(x)
    want.backward(g)
    np.testing.assert_array_equal(host(y), host(want))
    np.testing.assert_array_equal(grad, host(x.grad))
    assert list(layer.parameters()) == [] and len(layer.state_dict()) == 0


@pytest.mark.parametrize("Layer, fn", [(nn.Softmax, F.softmax), (nn.LogSoftmax, F.log_softmax)])
def test_softmax_layers_default_to_pytorchs_implicit_dim(device, rng, Layer, fn):
    """dim=None is the default, as in PyTorch: the function picks the implicit dim (1 for a 2-d input) and warns."""
    layer = Layer()
    assert layer.dim is None
    x = rand(rng, (3, 4), device, requires_grad=False)
    with pytest.warns(UserWarning, match="dim=1"):
        y = layer(x)
    np.testing.assert_array_equal(host(y), host(fn(x, 1)))


def test_identity_returns_its_input_whatever_it_was_given(rng):
    """Identity(*args, **kwargs) ignores its arguments and returns the very object it is called with."""
    x = rand(rng, (2, 3))
    for layer in (nn.Identity(), nn.Identity(54, unused_argument=0.1), nn.Identity("anything", None)):
        assert layer(x) is x and list(layer.parameters()) == [] and repr(layer) == "Identity()"
    obj = object()
    assert nn.Identity()(obj) is obj


def test_identity_replaces_a_head(rng):
    """The usual use: swap a model's last layer for Identity to read the features in front of it."""
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = rand(rng, (5, 4), requires_grad=False, dtype="float32")
    features = model[1](model[0](x))
    model[2] = nn.Identity()
    np.testing.assert_array_equal(host(model(x)), host(features))


def test_dropout2d_layer_follows_its_mode(device, rng):
    """Training: channels dropped (all-or-nothing per (n, c)), scaled by 1/(1-p); eval: the input itself."""
    layer = nn.Dropout2d(0.5)
    x = tensor(rng.uniform(0.5, 2.0, size=(4, 8, 3, 3)), device)
    tinynet.manual_seed(1)
    y = host(layer(x))
    kept = np.any(y != 0, axis=(2, 3))
    assert 0 < kept.sum() < kept.size
    np.testing.assert_array_equal(y, np.where(kept[..., None, None], host(x) * 2.0, 0.0))
    tinynet.manual_seed(1)
    np.testing.assert_array_equal(host(F.dropout2d(x, 0.5)), y)  # the layer is the function
    layer.eval()
    assert layer(x) is x


def test_dropout2d_layer_names_itself_for_a_bad_input(rng):
    """A 2-d input fails naming the op and the layer (ShapeError's layer prefix), in either mode."""
    layer = nn.Dropout2d()
    for mode in (True, False):
        layer.train(mode)
        with pytest.raises(tinynet.ShapeError, match=r"^Dropout2d\(p=0.5, inplace=False\): dropout2d: expected a 4-d"):
            layer(rand(rng, (3, 4)))


def test_inplace_flags_are_stored_and_honoured(rng):
    """inplace=True is kept (it shows in the repr) and the layer writes into its input and returns it."""
    x_host = rng.uniform(-1, 1, size=(2, 3, 2, 2))
    for layer in (nn.ReLU(inplace=True), nn.LeakyReLU(inplace=True), nn.ELU(inplace=True),
                  nn.Dropout(inplace=True), nn.Dropout2d(inplace=True)):
        assert layer.inplace is True
        x = tinynet.Tensor(x_host.copy())
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = layer(x)
        assert y is x and not np.array_equal(x.numpy(), x_host)
