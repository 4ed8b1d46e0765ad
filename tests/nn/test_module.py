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


# --- buffers ------------------------------------------------------------------------------------------------


class BNLike(nn.Module):
    """Batch norm's registrations (PyTorch's BatchNorm2d): two parameters, two float buffers and an
    int64 counter. Its forward only counts batches, enough for the state to change."""

    def __init__(self, c=3):
        super().__init__()
        self.weight = nn.Parameter(np.ones(c, dtype=np.float32))
        self.bias = nn.Parameter(np.zeros(c, dtype=np.float32))
        self.register_buffer("running_mean", np.zeros(c, dtype=np.float32))
        self.register_buffer("running_var", np.ones(c, dtype=np.float32))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        if self.training:
            self.num_batches_tracked.data = self.num_batches_tracked.data + 1
            self.running_mean.data = 0.9 * self.running_mean.data + 0.1 * x.data.mean(axis=0)
        return x * self.weight + self.bias


class Block(nn.Module):
    """A buffer and a parameter of its own, registered around two children: the state dict still lists
    the module's own parameters, then its own buffers, then its children's entries (PyTorch's order)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("scale", np.full(2, 2.0, dtype=np.float32))
        self.lin = nn.Linear(2, 2)
        self.bn = BNLike(2)
        self.register_buffer("cache", np.zeros(5), persistent=False)
        self.gamma = nn.Parameter(np.ones(2, dtype=np.float32))

    def forward(self, x):
        return self.bn(self.lin(x)) * self.gamma * self.scale


BLOCK_KEYS = ["gamma", "scale", "lin.weight", "lin.bias", "bn.weight", "bn.bias", "bn.running_mean",
              "bn.running_var", "bn.num_batches_tracked"]


def test_state_dict_lists_parameters_then_buffers_then_children_as_pytorch():
    sd = Block().state_dict()
    assert list(sd) == BLOCK_KEYS
    assert sd["bn.num_batches_tracked"].dtype == np.int64 and sd["bn.num_batches_tracked"].shape == ()
    assert sd["bn.running_var"].dtype == np.float32
    assert all(type(v) is np.ndarray for v in sd.values())
    # Nested one level more, every key gains the prefix, in the same order.
    assert list(nn.Sequential(nn.ReLU(), Block()).state_dict()) == [f"1.{k}" for k in BLOCK_KEYS]


def test_buffers_are_not_parameters():
    # parameters(), the optimizer and zero_grad never see a buffer; named_buffers lists them all,
    # the non-persistent one included.
    from tinynet.optim import SGD

    block = Block()
    assert [n for n, _ in block.named_parameters()] == ["gamma", "lin.weight", "lin.bias", "bn.weight", "bn.bias"]
    assert [n for n, _ in block.named_buffers()] == ["scale", "cache", "bn.running_mean", "bn.running_var",
                                                      "bn.num_batches_tracked"]
    assert all(not b.requires_grad for b in block.buffers())
    params = {id(p) for p in block.parameters()}
    assert not any(id(b) in params for b in block.buffers())
    x = tinynet.Tensor(np.ones((4, 2), dtype=np.float32))
    block(x).sum().backward()
    assert all(b.grad is None for b in block.buffers())
    scale = block.scale.numpy()
    opt = SGD(block.parameters(), lr=1.0, momentum=0.9)
    opt.step()
    block.zero_grad()
    np.testing.assert_array_equal(block.scale.numpy(), scale)
    assert int(block.bn.num_batches_tracked.item()) == 1


def test_named_buffers_prefix_recurse_and_duplicates():
    bn = BNLike(2)
    model = nn.Sequential(bn, nn.ReLU(), bn)
    assert [n for n, _ in model.named_buffers()] == ["0.running_mean", "0.running_var", "0.num_batches_tracked"]
    assert len(list(model.named_buffers(remove_duplicate=False))) == 6
    assert [n for n, _ in model.named_buffers(prefix="net")][:1] == ["net.0.running_mean"]
    assert list(model.named_buffers(recurse=False)) == [] and list(model.buffers(recurse=False)) == []
    assert [b is bn.running_mean for b in bn.buffers()] == [True, False, False]


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    block = Block()
    assert "cache" not in block.state_dict() and "cache" in dict(block.named_buffers())
    sd = block.state_dict()
    sd["cache"] = np.zeros(5)
    with pytest.raises(RuntimeError, match=r"unexpected keys: cache$"):
        block.load_state_dict(sd)
    # register_buffer again under the name changes its persistence
    block.register_buffer("cache", np.zeros(5))
    assert list(block.state_dict())[:3] == ["gamma", "scale", "cache"]


def test_register_buffer_keeps_a_tensor_copies_an_array_and_detaches_a_graph():
    m = nn.Module()
    t = tinynet.Tensor(np.zeros(3, dtype=np.float32))
    m.register_buffer("t", t)
    assert m.t is t and m._buffers["t"] is t  # the same object, as PyTorch
    values = np.zeros(3)
    m.register_buffer("a", values)
    values[0] = 5.0
    assert m.a.numpy()[0] == 0.0 and m.a.dtype == np.float64  # a copy, its dtype kept
    w = tinynet.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    m.register_buffer("g", w * 2)
    assert not m.g.requires_grad and m.g.is_leaf and m.g.numpy().tolist() == [2.0, 2.0, 2.0]
    m.register_buffer("empty", None)
    assert m.empty is None and "empty" not in m.state_dict() and "empty" not in dict(m.named_buffers())


def test_assigning_to_a_buffer_replaces_it_and_del_removes_it():
    bn = BNLike(2)
    new = tinynet.Tensor(np.full(2, 7.0, dtype=np.float32))
    bn.running_mean = new
    assert bn.running_mean is new and dict(bn.named_buffers())["running_mean"] is new
    assert bn.state_dict()["running_mean"].tolist() == [7.0, 7.0]
    bn.running_mean = np.zeros(2, dtype=np.float32)  # an array is wrapped, as in register_buffer
    assert isinstance(bn.running_mean, tinynet.Tensor)
    bn.running_var = None  # an empty slot: not listed, still a buffer name
    assert "running_var" not in bn.state_dict() and "running_var" in bn._buffers
    bn.running_var = tinynet.Tensor(np.ones(2, dtype=np.float32))
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    del bn.num_batches_tracked
    assert "num_batches_tracked" not in bn.state_dict() and not hasattr(bn, "num_batches_tracked")
    bn.num_batches_tracked = 3  # no longer a buffer: a plain attribute, as PyTorch
    assert "num_batches_tracked" not in bn._buffers
    with pytest.raises(TypeError, match=r"^BNLike: cannot assign buffer 'running_mean': expected a Tensor"):
        bn.running_mean = [0.0, 0.0]


def test_a_parameter_or_module_takes_over_a_buffer_name_as_pytorch():
    bn = BNLike(2)
    bn.running_mean = nn.Parameter(np.zeros(2, dtype=np.float32))
    assert "running_mean" in dict(bn.named_parameters()) and "running_mean" not in bn._buffers
    bn.running_var = nn.ReLU()
    assert "running_var" in bn._modules and "running_var" not in bn._buffers
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "num_batches_tracked"]


def test_load_state_dict_loads_buffers_keeping_their_dtype_and_objects():
    a, b = Block(), Block()
    for _ in range(3):
        a(tinynet.Tensor(np.arange(8, dtype=np.float32).reshape(4, 2)))
    counter, mean = b.bn.num_batches_tracked, b.bn.running_mean
    b.load_state_dict(a.state_dict())
    assert b.bn.num_batches_tracked is counter and b.bn.running_mean is mean
    assert b.bn.num_batches_tracked.dtype == np.int64 and b.bn.num_batches_tracked.item() == 3
    np.testing.assert_array_equal(b.bn.running_mean.numpy(), a.bn.running_mean.numpy())


def test_load_a_state_dict_as_pytorch_writes_it():
    # torch's BatchNorm state as NumPy: float32 vectors, num_batches_tracked a 0-d int64; a float64
    # vector and a plain int load too, each converted to the buffer's own dtype.
    bn = BNLike(3)
    torch_like = OrderedDict([
        ("weight", np.array([1.5, 2.0, 2.5], dtype=np.float32)),
        ("bias", np.array([0.1, 0.2, 0.3], dtype=np.float32)),
        ("running_mean", np.array([0.5, -0.5, 1.0])),  # float64
        ("running_var", np.array([2.0, 3.0, 4.0], dtype=np.float32)),
        ("num_batches_tracked", np.array(1200, dtype=np.int64)),
    ])
    bn.load_state_dict(torch_like)
    assert bn.running_mean.dtype == np.float32 and bn.running_mean.numpy().tolist() == [0.5, -0.5, 1.0]
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 1200
    bn.load_state_dict({**torch_like, "num_batches_tracked": 7})
    assert bn.num_batches_tracked.item() == 7 and bn.num_batches_tracked.dtype == np.int64
    bn.load_state_dict({**torch_like, "num_batches_tracked": np.float64(8.0)})  # a whole float
    assert bn.num_batches_tracked.item() == 8 and bn.num_batches_tracked.dtype == np.int64


def test_load_state_dict_reports_buffers_as_parameters():
    block = Block()
    sd = block.state_dict()
    del sd["bn.running_var"]
    sd["bn.running_mean"] = np.zeros(3)
    with pytest.raises(RuntimeError) as e:
        block.load_state_dict(sd)
    assert "missing keys: bn.running_var" in str(e.value)
    assert "bn.running_mean: expected shape (2,), got (3,)" in str(e.value)
    sd = block.state_dict()
    del sd["bn.num_batches_tracked"]
    block.load_state_dict(sd, strict=False)  # the rest loads; the counter is left as it was
    assert block.bn.num_batches_tracked.item() == 0


@pytest.mark.parametrize("convert, dtype", [(lambda m: m.double(), np.float64), (lambda m: m.to("float64"), np.float64),
                                            (lambda m: m.half(), np.float16), (lambda m: m.float(), np.float32)],
                         ids=["double", "to-float64", "half", "float"])
def test_dtype_casts_reach_float_buffers_only(convert, dtype):
    block = Block()
    block.register_buffer("mask", np.array([True, False]))
    buffers = {n: b for n, b in block.named_buffers()}
    assert convert(block) is block
    got = {n: b.dtype for n, b in block.named_buffers()}
    assert got == {"scale": dtype, "cache": dtype, "mask": np.bool_, "bn.running_mean": dtype,
                   "bn.running_var": dtype, "bn.num_batches_tracked": np.int64}
    assert all(b is buffers[n] for n, b in block.named_buffers())  # the same objects
    assert all(p.dtype == dtype for p in block.parameters())


def test_buffers_follow_the_module_to_a_device(device):
    block = Block().to(device)
    assert {b.device for b in block.buffers()} == {device}
    assert all(type(v) is np.ndarray for v in block.state_dict().values())  # host copies
    block.load_state_dict(Block().state_dict())
    assert {b.device for b in block.buffers()} == {device}
    assert block.bn.num_batches_tracked.dtype == np.int64
    assert {b.device for b in block.cpu().buffers()} == {"cpu"}


def test_shared_modules_appear_under_each_name_in_the_state_dict_as_pytorch():
    # named_parameters lists a shared parameter once; the state dict, as PyTorch's, under every name.
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.load_state_dict(model.state_dict())


# --- traversal, apply, requires_grad_, attribute rules ------------------------------------------------------------


def test_named_modules_yields_a_shared_module_once_unless_asked():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.Sequential(lin, nn.ReLU()))
    assert [n for n, _ in model.named_modules()] == ["", "0", "1", "1.1"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == ["", "0", "1", "1.0", "1.1"]
    assert [n for n, _ in model.named_modules(prefix="net")] == ["net", "net.0", "net.1", "net.1.1"]
    memo = {model[1]}
    assert [n for n, _ in model.named_modules(memo)] == ["", "0"]  # the memo's module and its subtree are skipped
    assert lin in memo and model in memo
    assert len(list(model.modules())) == 4


def test_apply_visits_children_before_their_parent_and_returns_self():
    seen = []
    model = Net()
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Conv2d", "ReLU", "MaxPool2d", "Sequential", "Dropout", "Linear", "ReLU", "Linear", "Sequential",
                    "Net"]
    # the usual use: re-initialise the Linears
    model.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
    assert not model.classifier[1].bias.numpy().any() and model.features[0].bias.numpy().any()


def test_requires_grad_freezes_and_unfreezes_parameters(rng):
    model = Net()
    assert model.features.requires_grad_(False) is model.features
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True, True, True]
    model.eval()(tensor(rng.standard_normal((1, 1, 6, 6)), dtype="float32")).sum().backward()
    assert model.features[0].weight.grad is None and model.classifier[1].weight.grad is not None
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_register_buffer_refuses_a_name_that_is_taken_as_pytorch():
    lin = nn.Linear(2, 2)
    lin.note = "a plain attribute"
    for name, what in [("weight", "a parameter"), ("forward", "an attribute"), ("note", "an attribute"),
                       ("training", "an attribute")]:
        with pytest.raises(KeyError, match=rf"Linear.register_buffer: '{name}' is already {what} of Linear"):
            lin.register_buffer(name, np.zeros(1))
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(KeyError, match=r"'0' is already a child module of Sequential"):
        seq.register_buffer("0", np.zeros(1))
    bn = BNLike()
    with pytest.raises(KeyError, match=r"BNLike.register_parameter: 'running_mean' is already a buffer"):
        bn.register_parameter("running_mean", nn.Parameter(np.zeros(3)))
    with pytest.raises(KeyError, match=r"BNLike.add_module: 'running_mean' is already a buffer"):
        bn.add_module("running_mean", nn.ReLU())


def test_child_slots_take_a_module_or_none():
    model = Net()
    with pytest.raises(TypeError, match=r"^cannot assign a int as child module 'features' of Net"):
        model.features = 3
    model.features = None  # an empty slot: not in children, modules or the state dict
    assert [n for n, _ in model.named_children()] == ["classifier"]
    assert not any(k.startswith("features") for k in model.state_dict())
    model.add_module("extra", None)
    assert "extra" in model._modules and model.extra is None


def test_module_list_layers_named_in_a_shape_error():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 3), nn.Linear(4, 2)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    with pytest.raises(tinynet.ShapeError, match=r"^layer layers\.1 Linear\(in_features=4, out_features=2"):
        Tower()(tinynet.Tensor(np.zeros((1, 4), dtype=np.float32)))


# --- the Module API given bad arguments: one row per case (what is done, exception, message) --------------------


def _bn():
    return BNLike(2)


MODULE_API_ROWS = [
    # register_buffer: the name
    ("buffer-name-int", lambda: _bn().register_buffer(1, np.zeros(1)), TypeError,
     r"^BNLike.register_buffer: a buffer's name must be a str, got 1$"),
    ("buffer-name-None", lambda: _bn().register_buffer(None, np.zeros(1)), TypeError,
     r"^BNLike.register_buffer: a buffer's name must be a str, got None$"),
    ("buffer-name-bool", lambda: _bn().register_buffer(True, np.zeros(1)), TypeError,
     r"^BNLike.register_buffer: a buffer's name must be a str, got True$"),
    ("buffer-name-empty", lambda: _bn().register_buffer("", np.zeros(1)), ValueError,
     r"^BNLike.register_buffer: a buffer's name must be non-empty and without '\.', got ''$"),
    ("buffer-name-dot", lambda: _bn().register_buffer("a.b", np.zeros(1)), ValueError,
     r"^BNLike.register_buffer: a buffer's name must be non-empty and without '\.', got 'a\.b'$"),
    ("buffer-name-parameter", lambda: _bn().register_buffer("weight", np.zeros(1)), KeyError,
     r"BNLike.register_buffer: 'weight' is already a parameter of BNLike"),
    ("buffer-name-method", lambda: _bn().register_buffer("eval", np.zeros(1)), KeyError,
     r"BNLike.register_buffer: 'eval' is already an attribute of BNLike"),
    # register_buffer: the tensor
    ("buffer-str", lambda: _bn().register_buffer("x", "zeros"), TypeError,
     r"^BNLike.register_buffer: buffer 'x': expected a Tensor, a NumPy or CuPy array or None, got type str"),
    ("buffer-int", lambda: _bn().register_buffer("x", 0), TypeError,
     r"^BNLike.register_buffer: buffer 'x': expected a Tensor, .* got type int"),
    ("buffer-bool", lambda: _bn().register_buffer("x", True), TypeError,
     r"^BNLike.register_buffer: buffer 'x': expected a Tensor, .* got type bool"),
    ("buffer-nan", lambda: _bn().register_buffer("x", float("nan")), TypeError,
     r"^BNLike.register_buffer: buffer 'x': expected a Tensor, .* got type float"),
    ("buffer-list", lambda: _bn().register_buffer("x", [0.0, 1.0]), TypeError,
     r"^BNLike.register_buffer: buffer 'x': expected a Tensor, .* got type list"),
    ("buffer-parameter", lambda: _bn().register_buffer("x", nn.Parameter(np.zeros(2))), TypeError,
     r"^BNLike.register_buffer: buffer 'x' is a Parameter; a buffer is not learned"),
    ("buffer-str-array", lambda: _bn().register_buffer("x", np.array(["a"])), TypeError,
     r"^BNLike.register_buffer: buffer 'x': a buffer holds bool, int or float, got dtype <U1$"),
    ("buffer-object-array", lambda: _bn().register_buffer("x", np.array([None])), TypeError,
     r"^BNLike.register_buffer: buffer 'x': a buffer holds bool, int or float, got dtype object$"),
    ("buffer-complex", lambda: _bn().register_buffer("x", np.zeros(2, dtype=np.complex64)), TypeError,
     r"^BNLike.register_buffer: buffer 'x': a buffer holds bool, int or float, got dtype complex64$"),
    ("buffer-complex-tensor", lambda: _bn().register_buffer("x", tinynet.Tensor(np.zeros(2, dtype=complex))), TypeError,
     r"^BNLike.register_buffer: buffer 'x': a buffer holds bool, int or float, got dtype complex128$"),
    ("buffer-record", lambda: _bn().register_buffer("x", np.zeros(2, dtype=[("a", "f4")])), TypeError,
     r"^BNLike.register_buffer: buffer 'x': a buffer holds bool, int or float"),
    # register_buffer: persistent
    ("persistent-str", lambda: _bn().register_buffer("x", np.zeros(1), persistent="no"), TypeError,
     r"^BNLike.register_buffer: persistent must be True or False, got 'no'$"),
    ("persistent-int", lambda: _bn().register_buffer("x", np.zeros(1), persistent=0), TypeError,
     r"^BNLike.register_buffer: persistent must be True or False, got 0$"),
    ("persistent-None", lambda: _bn().register_buffer("x", np.zeros(1), persistent=None), TypeError,
     r"^BNLike.register_buffer: persistent must be True or False, got None$"),
    # assigning to a registered buffer
    ("assign-buffer-int", lambda: setattr(_bn(), "running_var", 1), TypeError,
     r"^BNLike: cannot assign buffer 'running_var': expected a Tensor, .* got type int"),
    ("assign-buffer-str-array", lambda: setattr(_bn(), "running_var", np.array(["a", "b"])), TypeError,
     r"^BNLike: cannot assign buffer 'running_var': a buffer holds bool, int or float, got dtype <U1$"),
    ("assign-child-int", lambda: setattr(nn.Sequential(nn.ReLU()), "0", 1), TypeError,
     r"^cannot assign a int as child module '0' of Sequential \(a Module or None is expected\)$"),
    # the other registrations
    ("parameter-name-taken", lambda: nn.Linear(2, 2).register_parameter("forward", None), KeyError,
     r"Linear.register_parameter: 'forward' is already an attribute of Linear"),
    ("child-name-taken", lambda: nn.Linear(2, 2).add_module("weight", nn.ReLU()), KeyError,
     r"Linear.add_module: 'weight' is already a parameter of Linear"),
    # traversal
    ("named_buffers-prefix-int", lambda: _bn().named_buffers(prefix=1), TypeError,
     r"^BNLike.named_buffers: prefix must be a str, got 1$"),
    ("named_buffers-prefix-None", lambda: _bn().named_buffers(None), TypeError,
     r"^BNLike.named_buffers: prefix must be a str, got None$"),
    ("named_buffers-recurse-str", lambda: _bn().named_buffers(recurse="yes"), TypeError,
     r"^BNLike.named_buffers: recurse must be True or False, got 'yes'$"),
    ("named_buffers-duplicate-int", lambda: _bn().named_buffers(remove_duplicate=0), TypeError,
     r"^BNLike.named_buffers: remove_duplicate must be True or False, got 0$"),
    ("buffers-recurse-int", lambda: _bn().buffers(1), TypeError,
     r"^BNLike.buffers: recurse must be True or False, got 1$"),
    ("named_parameters-prefix-int", lambda: _bn().named_parameters(3), TypeError,
     r"^BNLike.named_parameters: prefix must be a str, got 3$"),
    ("named_parameters-recurse-None", lambda: _bn().named_parameters(recurse=None), TypeError,
     r"^BNLike.named_parameters: recurse must be True or False, got None$"),
    ("named_parameters-duplicate-str", lambda: _bn().named_parameters(remove_duplicate="no"), TypeError,
     r"^BNLike.named_parameters: remove_duplicate must be True or False, got 'no'$"),
    ("parameters-recurse-nan", lambda: _bn().parameters(float("nan")), TypeError,
     r"^BNLike.parameters: recurse must be True or False, got nan$"),
    ("named_modules-memo-list", lambda: _bn().named_modules([]), TypeError,
     r"^BNLike.named_modules: memo must be a set of modules or None, got list$"),
    ("named_modules-prefix-int", lambda: _bn().named_modules(prefix=0), TypeError,
     r"^BNLike.named_modules: prefix must be a str, got 0$"),
    ("named_modules-duplicate-None", lambda: _bn().named_modules(remove_duplicate=None), TypeError,
     r"^BNLike.named_modules: remove_duplicate must be True or False, got None$"),
    # apply, requires_grad_
    ("apply-None", lambda: _bn().apply(None), TypeError,
     r"^BNLike.apply: fn must be callable as fn\(module\), got None$"),
    ("apply-str", lambda: _bn().apply("print"), TypeError, r"^BNLike.apply: fn must be callable .*got 'print'$"),
    ("apply-module-list", lambda: _bn().apply([print]), TypeError, r"^BNLike.apply: fn must be callable"),
    ("requires_grad_-str", lambda: _bn().requires_grad_("yes"), TypeError,
     r"^BNLike.requires_grad_: requires_grad must be True or False, got 'yes'$"),
    ("requires_grad_-int", lambda: _bn().requires_grad_(1), TypeError,
     r"^BNLike.requires_grad_: requires_grad must be True or False, got 1$"),
    ("requires_grad_-None", lambda: _bn().requires_grad_(None), TypeError,
     r"^BNLike.requires_grad_: requires_grad must be True or False, got None$"),
    # dtype casts, state dicts with buffers
    ("to-int-dtype", lambda: _bn().to("int64"), TypeError,
     r"^Module.to: parameters must stay floating point, got dtype int64$"),
    ("load-strict-str", lambda: _bn().load_state_dict(_bn().state_dict(), strict="no"), TypeError,
     r"^load_state_dict into BNLike: strict must be True or False, got 'no'$"),
    ("load-counter-fraction", lambda: _bn().load_state_dict({**_bn().state_dict(), "num_batches_tracked": 2.5}),
     RuntimeError, r"^load_state_dict into BNLike: num_batches_tracked: the buffer holds int64, the value has floats"),
    ("load-counter-nan", lambda: _bn().load_state_dict({**_bn().state_dict(), "num_batches_tracked": np.nan}),
     RuntimeError, r"num_batches_tracked: the buffer holds int64, the value has floats that are not whole numbers$"),
    ("load-counter-str", lambda: _bn().load_state_dict({**_bn().state_dict(), "num_batches_tracked": "5"}),
     TypeError,
     r"^load_state_dict into BNLike: num_batches_tracked: expected an array of real numbers, got dtype <U1$"),
    ("load-buffer-shape", lambda: _bn().load_state_dict({**_bn().state_dict(), "running_var": np.ones((2, 1))}),
     RuntimeError, r"^load_state_dict into BNLike: running_var: expected shape \(2,\), got \(2, 1\)$"),
    ("load-buffer-missing", lambda: _bn().load_state_dict({k: v for k, v in _bn().state_dict().items()
                                                           if k != "running_var"}),
     RuntimeError, r"^load_state_dict into BNLike: missing keys: running_var$"),
]


@pytest.mark.parametrize("action, error, message", [pytest.param(a, e, m, id=i) for i, a, e, m in MODULE_API_ROWS])
def test_the_new_module_api_refuses_bad_arguments_naming_the_method_and_the_argument(action, error, message):
    with pytest.raises(error, match=message):
        action()


def test_replacing_a_parameter_or_a_child_keeps_its_place_in_the_order():
    lin = nn.Linear(2, 2)
    lin.weight = nn.Parameter(np.zeros((2, 2), dtype=np.float32))
    assert list(lin.state_dict()) == ["weight", "bias"]
    seq = nn.Sequential(nn.ReLU(), nn.Linear(2, 2), nn.ReLU())
    setattr(seq, "0", nn.Linear(2, 2))
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_a_module_that_contains_itself_has_no_state_dict_but_a_clear_error():
    seq = nn.Sequential(nn.Linear(2, 2))
    seq.append(seq)  # a cycle: names would be 0.weight, 1.0.weight, 1.1.0.weight, ...
    with pytest.raises(ValueError, match=r"^state_dict of Sequential: the child '1' \(Sequential\) contains itself"):
        seq.state_dict()
    with pytest.raises(ValueError, match="contains itself"):
        seq.load_state_dict({})
    shared = nn.Linear(2, 2)  # shared, not a cycle: listed under each name, as PyTorch does
    assert list(nn.Sequential(shared, nn.ReLU(), shared).state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
