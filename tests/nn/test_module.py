"""Module: names, shapes, state dicts, modes, dtypes, initialisation, errors, repr.

Names, shapes and reprs are compared with what PyTorch gives for the same modules.
"""
import math
from collections import OrderedDict

import numpy as np
import pytest

import tinynet
from tinynet import nn
from tests.helpers import host, rand, tensor


def small_convnet():
    # Conv(3->4, 3x3) on 10x10 -> 8x8 -> pool 2 -> 4x4; 4*4*4 = 64 features.
    return nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 5),
    )


class Net(nn.Module):
    """features / classifier, as torchvision's AlexNet is organised."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 2))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


# --- names and shapes ------------------------------------------------------------------


def test_named_parameters_of_sequential():
    # Order of registration; parameter-free layers keep their index (no renumbering).
    names = [(n, p.shape) for n, p in small_convnet().named_parameters()]
    assert names == [
        ("0.weight", (4, 3, 3, 3)),
        ("0.bias", (4,)),
        ("4.weight", (5, 64)),
        ("4.bias", (5,)),
    ]


def test_nested_modules_give_dotted_names():
    # Module attributes nest with dots: "features.0.weight", "classifier.1.bias", ...
    names = [n for n, _ in Net().named_parameters()]
    assert names == [
        "features.0.weight",
        "features.0.bias",
        "classifier.1.weight",
        "classifier.1.bias",
        "classifier.3.weight",
        "classifier.3.bias",
    ]
    assert [n for n, _ in Net().named_modules()][:3] == ["", "features", "features.0"]


def test_shared_parameter_listed_once():
    # The same Linear registered twice: its parameters appear once (first name wins).
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]


@pytest.fixture(scope="module")
def fc6():
    # AlexNet's first dense layer (a 4096 x 9216 float32 weight, ~150 MB), built once.
    return nn.Linear(9216, 4096)


@pytest.mark.parametrize(
    "make, weight_shape",
    [
        (lambda: nn.Conv2d(3, 96, 11, stride=4, padding=2), (96, 3, 11, 11)),
        (lambda: nn.Conv2d(96, 256, 5, padding=2, groups=2), (256, 48, 5, 5)),
        (lambda: nn.Conv2d(4, 6, (3, 5)), (6, 4, 3, 5)),
        ("fc6", (4096, 9216)),
    ],
    ids=["conv1", "conv2-groups", "conv-nonsquare", "fc6"],
)
def test_parameter_shapes_match_pytorch(make, weight_shape, request):
    # weight (out, in/groups, kH, kW) or (out, in), bias (out,), float32 by default.
    m = request.getfixturevalue(make) if isinstance(make, str) else make()
    params = dict(m.named_parameters())
    assert list(params) == ["weight", "bias"]
    assert params["weight"].shape == weight_shape
    assert params["bias"].shape == (weight_shape[0],)
    assert params["weight"].dtype == np.float32
    assert all(p.requires_grad for p in params.values())


def test_bias_false_gives_no_bias_entry():
    # bias=False: attribute None, no "bias" in parameters or state_dict.
    conv, lin = nn.Conv2d(2, 3, 3, bias=False), nn.Linear(4, 2, bias=False)
    for m in (conv, lin):
        assert m.bias is None
        assert [n for n, _ in m.named_parameters()] == ["weight"]
        assert list(m.state_dict()) == ["weight"]
    y = lin(tensor(np.ones((1, 4)), dtype="float32"))
    np.testing.assert_allclose(host(y), host(lin.weight).sum(axis=1)[None, :], rtol=1e-6)


# --- state dicts ---------------------------------------------------------------------------

# RuntimeError as in PyTorch; the message names the key (and shapes).
LOAD_ERRORS = RuntimeError


def test_state_dict_is_numpy_copies():
    # Values are host NumPy arrays; writing into them leaves the model alone.
    model = small_convnet()
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "4.weight", "4.bias"]
    assert all(type(v) is np.ndarray for v in sd.values())
    before = model[0].weight.numpy()
    sd["0.weight"][...] = 123.0
    np.testing.assert_array_equal(model[0].weight.numpy(), before)
    assert not np.shares_memory(sd["0.weight"], model[0].weight.data)


def test_load_state_dict_round_trip(rng):
    # A fresh model (different init) loaded with another's state dict computes the same outputs.
    tinynet.manual_seed(1)
    a = small_convnet()
    tinynet.manual_seed(2)
    b = small_convnet()
    x = tensor(rng.standard_normal((2, 3, 10, 10)), dtype="float32")
    assert not np.array_equal(host(a(x)), host(b(x)))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(host(b(x)), host(a(x)))
    # The loaded arrays are copies: changing a's parameters afterwards leaves b as it was.
    a[0].weight.data[...] = 0.0
    assert not np.array_equal(host(b[0].weight), host(a[0].weight))


def test_load_state_dict_keeps_parameter_dtype_and_identity():
    # float64 arrays loaded into a float32 model stay float32, in the same Parameter objects.
    model = nn.Linear(3, 2)
    params = list(model.parameters())
    model.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2)})
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert model.weight.dtype == np.float32
    np.testing.assert_array_equal(model.weight.numpy(), np.ones((2, 3)))


def test_load_state_dict_missing_key():
    # A missing key is named in the error, and nothing is loaded.
    model = small_convnet()
    sd = model.state_dict()
    w_before = model[0].weight.numpy()
    del sd["4.bias"]
    sd["0.weight"] = sd["0.weight"] + 1.0
    with pytest.raises(LOAD_ERRORS, match=r"4\.bias"):
        model.load_state_dict(sd)
    np.testing.assert_array_equal(model[0].weight.numpy(), w_before)


def test_load_state_dict_unexpected_key():
    # An extra key is named in the error.
    model = small_convnet()
    sd = model.state_dict()
    sd["5.weight"] = np.zeros((3, 3))
    with pytest.raises(LOAD_ERRORS, match=r"5\.weight"):
        model.load_state_dict(sd)


def test_load_state_dict_wrong_shape():
    # A shape mismatch names the key and both shapes.
    model = small_convnet()
    sd = model.state_dict()
    sd["4.weight"] = np.zeros((5, 63))
    with pytest.raises(LOAD_ERRORS, match=r"4\.weight") as e:
        model.load_state_dict(sd)
    assert "(5, 64)" in str(e.value) and "(5, 63)" in str(e.value)


# --- modes, gradients, dtypes -----------------------------------------------------------------------


def test_train_eval_propagate_to_children():
    # eval() and train() reach every descendant, and return the module.
    model = Net()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not model.classifier[0].training


def test_dropout_identity_in_eval_only(rng):
    # Training-mode dropout zeroes about half and scales the rest by 2; eval mode is the identity.
    drop = nn.Sequential(nn.Dropout(0.5))
    x = tensor(rng.uniform(1.0, 2.0, size=(20, 50)), dtype="float64")
    y = host(drop(x))
    kept = y != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(y[kept], 2.0 * host(x)[kept])
    drop.eval()  # set on the container: must reach the Dropout inside
    np.testing.assert_array_equal(host(drop(x)), host(x))


def test_zero_grad(rng):
    # After backward every parameter has a grad; zero_grad() clears them (to None, or zeros).
    model = small_convnet()
    x = tensor(rng.standard_normal((2, 3, 10, 10)), dtype="float32")
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        np.testing.assert_array_equal(host(p.grad), np.zeros(p.shape))
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("convert", [lambda m: m.to("float64"), lambda m: m.double()], ids=["to", "double"])
def test_module_to_float64(convert, rng):
    # Parameters become float64 (same objects, same values), and so do outputs and gradients.
    model = small_convnet()
    params = list(model.parameters())
    before = [p.numpy() for p in params]
    assert convert(model) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for p, b in zip(model.parameters(), before):
        assert p.dtype == np.float64
        np.testing.assert_array_equal(p.numpy(), b.astype(np.float64))
    y = model(rand(rng, (1, 3, 10, 10), requires_grad=False))
    assert y.dtype == np.float64
    y.sum().backward()
    assert all(p.grad.dtype == np.float64 for p in model.parameters())
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())


# --- initialisation -----------------------------------------------------------------------------------


def _check_uniform(values, bound):
    # Within [-bound, bound], filling the range, std of U(-b, b) = b / sqrt(3), flat histogram.
    values = np.asarray(values, dtype=np.float64).ravel()
    assert np.abs(values).max() <= bound * (1 + 1e-6)  # float32 rounding of the bound itself
    assert np.abs(values).max() > 0.95 * bound
    assert abs(values.mean()) < 0.05 * bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    counts, _ = np.histogram(values, bins=4, range=(-bound, bound))
    np.testing.assert_allclose(counts / values.size, 0.25, atol=0.05)


def test_linear_default_init():
    # PyTorch's default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 400.
    tinynet.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    _check_uniform(lin.weight.numpy(), bound)
    b = lin.bias.numpy()
    assert np.abs(b).max() <= bound * (1 + 1e-6) and np.abs(b).max() > 0.8 * bound
    assert b.std() == pytest.approx(bound / math.sqrt(3), rel=0.2)


@pytest.mark.parametrize(
    "make, fan_in",
    [
        (lambda: nn.Conv2d(6, 64, (3, 5)), 6 * 3 * 5),
        (lambda: nn.Conv2d(8, 64, 3, groups=2), 4 * 3 * 3),  # fan_in counts C / groups
    ],
    ids=["nonsquare", "groups"],
)
def test_conv_default_init(make, fan_in):
    # Same rule with fan_in = (C / groups) * kH * kW.
    tinynet.manual_seed(0)
    conv = make()
    bound = 1 / math.sqrt(fan_in)
    _check_uniform(conv.weight.numpy(), bound)
    b = conv.bias.numpy()
    assert np.abs(b).max() <= bound * (1 + 1e-6) and np.abs(b).max() > 0.7 * bound


def test_manual_seed_makes_init_reproducible():
    # Same seed, same weights; another seed, other weights.
    tinynet.manual_seed(7)
    a = small_convnet().state_dict()
    tinynet.manual_seed(7)
    b = small_convnet().state_dict()
    tinynet.manual_seed(8)
    c = small_convnet().state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["0.weight"], c["0.weight"])


# --- shape errors name the layer ---------------------------------------------------------------------


def test_shape_error_names_the_layer_in_a_sequential(fc6):
    # 256*13*13 = 43,264 features into a 9216-input Linear: the message says which layer
    # (index 1, a Linear) and both numbers.
    model = nn.Sequential(nn.Flatten(), fc6)
    x = tinynet.Tensor(np.zeros((1, 256, 13, 13), dtype=np.float32))
    with pytest.raises(tinynet.ShapeError) as e:
        model(x)
    msg = str(e.value)
    assert "Linear" in msg
    assert "9216" in msg and "43264" in msg
    assert "layer 1" in msg


def test_shape_error_names_the_layer_in_a_nested_model(fc6):
    # Inside model.classifier at index 1: the message says "classifier.1".
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.ReLU())
            self.classifier = nn.Sequential(nn.Dropout(0.5), fc6)

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))

    model = Model().eval()
    with pytest.raises(tinynet.ShapeError) as e:
        model(tinynet.Tensor(np.zeros((1, 256, 13, 13), dtype=np.float32)))
    msg = str(e.value)
    assert "classifier.1" in msg and "Linear" in msg
    assert "9216" in msg and "43264" in msg


def test_shape_error_is_not_decorated_twice():
    # Calling a model again after a ShapeError gives the same message (no accumulated path).
    model = nn.Sequential(nn.Sequential(nn.Flatten(), nn.Linear(6, 2)))
    x = tinynet.Tensor(np.zeros((1, 7), dtype=np.float32))
    messages = []
    for _ in range(2):
        with pytest.raises(tinynet.ShapeError) as e:
            model(x)
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    assert "0.1" in messages[0]


# --- a whole small network through gradcheck -----------------------------------------------------------


def test_small_convnet_gradcheck_input_and_parameters(rng):
    # Conv -> ReLU -> MaxPool(3, 2) -> LRN -> Flatten -> Dropout -> Linear, in float64:
    # the analytic gradient w.r.t. the input and all four parameters matches central
    # differences. Dropout stays in training mode with the mask fixed by reseeding.
    tinynet.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),   # (1, 2, 7, 7) -> (1, 3, 7, 7)
        nn.ReLU(),
        nn.MaxPool2d(3, 2),              # -> (1, 3, 3, 3)
        nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0),
        nn.Flatten(),                    # -> (1, 27)
        nn.Dropout(0.3),
        nn.Linear(27, 4),
    ).double()
    x = rand(rng, (1, 2, 7, 7))
    params = list(model.parameters())
    assert len(params) == 4

    def fn(inp, *_params):
        tinynet.manual_seed(11)
        return model(inp)

    assert tinynet.gradcheck(fn, [x, *params])


# --- repr --------------------------------------------------------------------------------------------------


def test_repr_like_pytorch(fc6):
    # Layer reprs and the indented "(name): child" layout are PyTorch's.
    assert repr(nn.Conv2d(3, 96, 11, stride=4, padding=2)) == (
        "Conv2d(3, 96, kernel_size=(11, 11), stride=(4, 4), padding=(2, 2))"
    )
    assert repr(nn.Conv2d(96, 256, 5, padding=2, groups=2, bias=False)) == (
        "Conv2d(96, 256, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2), groups=2, bias=False)"
    )
    assert repr(fc6) == "Linear(in_features=9216, out_features=4096, bias=True)"
    assert repr(nn.Linear(16, 8, bias=False)) == "Linear(in_features=16, out_features=8, bias=False)"
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2.0)) == (
        "LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2.0)"
    )
    assert repr(nn.MaxPool2d(3, 2)).startswith("MaxPool2d(kernel_size=3, stride=2, padding=0")
    assert repr(nn.Dropout(0.5)).startswith("Dropout(p=0.5")

    model = Net()
    assert repr(model) == "\n".join([
        "Net(",
        "  (features): Sequential(",
        "    (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))",
        "    (1): ReLU()",
        "    (2): " + repr(nn.MaxPool2d(2)),
        "  )",
        "  (classifier): Sequential(",
        "    (0): " + repr(nn.Dropout(0.5)),
        "    (1): Linear(in_features=8, out_features=3, bias=True)",
        "    (2): ReLU()",
        "    (3): Linear(in_features=3, out_features=2, bias=True)",
        "  )",
        ")",
    ])


def test_sequential_indexing_and_ordered_dict():
    # Sequential supports len, indexing, slicing and named children from an OrderedDict.
    model = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert len(model) == 2
    assert isinstance(model[0], nn.Conv2d) and isinstance(model[-1], nn.ReLU)
    assert [n for n, _ in model.named_parameters()] == ["conv.weight", "conv.bias"]
    assert isinstance(model[:1], nn.Sequential) and len(model[:1]) == 1


# --- forward hooks ----------------------------------------------------------------------------------


def test_forward_hooks_see_each_call_and_can_be_removed():
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    seen = []
    handle = net[0].register_forward_hook(lambda m, inputs, out: seen.append((type(m).__name__, out.shape)))
    x = tinynet.Tensor(np.ones((4, 3), dtype=np.float32))
    net(x)
    net(x)
    assert seen == [("Linear", (4, 2)), ("Linear", (4, 2))]
    handle.remove()
    net(x)
    assert len(seen) == 2


def test_forward_hook_can_replace_the_output():
    lin = nn.Linear(2, 2)
    lin.register_forward_hook(lambda m, inputs, out: out * 0)
    out = lin(tinynet.Tensor(np.ones((1, 2), dtype=np.float32)))
    assert np.all(out.numpy() == 0)


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_refused():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        lin.weight = tinynet.Tensor(np.zeros((2, 2), dtype=np.float32))
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    lin.bias = None  # an empty slot is fine
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_parameter_copies_the_callers_array():
    """An optimizer updates parameters in place; that must not write into the array they came from."""
    from tinynet.optim import SGD

    values = np.ones(3, dtype=np.float32)
    p = nn.Parameter(values)
    p.grad = tinynet.Tensor(np.ones(3, dtype=np.float32))
    SGD([p], lr=1.0).step()
    np.testing.assert_array_equal(values, np.ones(3))
    np.testing.assert_array_equal(p.numpy(), np.zeros(3))
