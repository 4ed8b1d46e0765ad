"""AlexNet variants: per-layer shapes and parameter counts against values worked out by hand,
forward/backward passes, the paper's initialisation, torchvision's names, and shape errors."""
import numpy as np
import pytest

import tinynet
from tinynet import functional as F, nn
from tinynet.model_summary import profile
from tinynet.models import alexnet, parameter_count

# (in_channels, out_channels, kernel, groups) of the five convolutions, and the dense layers
# (in, out), written from the paper / torchvision, not from tinynet's tables.
CONVS = {
    "seed": [(3, 96, 11, 1), (96, 256, 5, 1), (256, 384, 3, 1), (384, 384, 3, 1), (384, 256, 3, 1)],
    "paper": [(3, 96, 11, 1), (96, 256, 5, 2), (256, 384, 3, 1), (384, 384, 3, 2), (384, 256, 3, 2)],
    "torchvision": [(3, 64, 11, 1), (64, 192, 5, 1), (192, 384, 3, 1), (384, 256, 3, 1), (256, 256, 3, 1)],
    "mini": [(3, 32, 5, 1), (32, 64, 3, 1), (64, 96, 3, 1), (96, 96, 3, 1), (96, 64, 3, 1)],
}
DENSE = {
    "seed": [(9216, 4096), (4096, 4096), (4096, 1000)],
    "paper": [(9216, 4096), (4096, 4096), (4096, 1000)],
    "torchvision": [(9216, 4096), (4096, 4096), (4096, 1000)],
    "mini": [(576, 256), (256, 256), (256, 1000)],
}
# The totals the issue states for 1000 classes; mini's is the sum of its layers, by hand below.
TOTALS = {"seed": 62_378_344, "paper": 60_965_224, "torchvision": 61_100_840}


@pytest.fixture(scope="module")
def models():
    """One model of each variant (1000 classes, default init), built once for the read-only tests."""
    tinynet.manual_seed(0)
    return {v: alexnet(v) for v in CONVS}


def hand_param_count(variant):
    convs = sum(oc * (c // g) * k * k + oc for c, oc, k, g in CONVS[variant])
    dense = sum(i * o + o for i, o in DENSE[variant])
    return convs + dense


@pytest.mark.parametrize("variant", ["seed", "paper", "torchvision", "mini"])
def test_parameter_count_matches_the_hand_count(models, variant):
    model = models[variant]
    total = sum(p.numel() for p in model.parameters())
    assert total == hand_param_count(variant)
    if variant in TOTALS:
        assert total == TOTALS[variant]


def test_mini_size():
    # 2,432 + 18,496 + 55,392 + 83,040 + 55,360 conv, 147,712 + 65,792 + 2,570 dense (10 classes).
    assert sum(p.numel() for p in alexnet("mini", num_classes=10).parameters()) == 430_794


@pytest.mark.parametrize("variant", ["seed", "paper", "torchvision", "mini"])
def test_weight_shapes_in_order(models, variant):
    model = models[variant]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    dense = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [m.weight.shape for m in convs] == [(oc, c // g, k, k) for c, oc, k, g in CONVS[variant]]
    assert [m.weight.shape for m in dense] == [(o, i) for i, o in DENSE[variant]]


# Output shapes (C, H, W) after every layer of the seed variant at 224x224, as the issue spells them out.
SEED_SHAPES = [
    ("features.0", "Conv2d", (96, 55, 55)), ("features.1", "ReLU", (96, 55, 55)),
    ("features.2", "MaxPool2d", (96, 27, 27)),
    ("features.3", "Conv2d", (256, 27, 27)), ("features.4", "ReLU", (256, 27, 27)),
    ("features.5", "MaxPool2d", (256, 13, 13)),
    ("features.6", "Conv2d", (384, 13, 13)), ("features.7", "ReLU", (384, 13, 13)),
    ("features.8", "Conv2d", (384, 13, 13)), ("features.9", "ReLU", (384, 13, 13)),
    ("features.10", "Conv2d", (256, 13, 13)), ("features.11", "ReLU", (256, 13, 13)),
    ("features.12", "MaxPool2d", (256, 6, 6)),
    ("flatten", "Flatten", (9216,)),
    ("classifier.0", "Dropout", (9216,)), ("classifier.1", "Linear", (4096,)), ("classifier.2", "ReLU", (4096,)),
    ("classifier.3", "Dropout", (4096,)), ("classifier.4", "Linear", (4096,)), ("classifier.5", "ReLU", (4096,)),
    ("classifier.6", "Linear", (1000,)),
]


def test_seed_layer_shapes(models):
    rows = profile(models["seed"], (3, 224, 224)).rows
    assert [(r.name, r.kind, r.output_shape) for r in rows] == SEED_SHAPES


def test_paper_layer_shapes_with_lrn_and_227_input(models):
    rows = profile(models["paper"], (3, 227, 227)).rows
    got = [(r.kind, r.output_shape) for r in rows if r.kind != "ReLU"]
    assert got[:9] == [
        ("Conv2d", (96, 55, 55)), ("LocalResponseNorm", (96, 55, 55)), ("MaxPool2d", (96, 27, 27)),
        ("Conv2d", (256, 27, 27)), ("LocalResponseNorm", (256, 27, 27)), ("MaxPool2d", (256, 13, 13)),
        ("Conv2d", (384, 13, 13)), ("Conv2d", (384, 13, 13)), ("Conv2d", (256, 13, 13)),
    ]
    assert got[9:11] == [("MaxPool2d", (256, 6, 6)), ("Flatten", (9216,))]
    lrn = [m for m in models["paper"].modules() if isinstance(m, nn.LocalResponseNorm)]
    # The paper's alpha=1e-4 without division by n is alpha=5e-4 in PyTorch's convention (alpha/size).
    assert [(m.size, m.alpha, m.beta, m.k) for m in lrn] == [(5, 5e-4, 0.75, 2.0)] * 2


def test_mini_layer_shapes_at_64():
    rows = profile(alexnet("mini", num_classes=10), (3, 64, 64)).rows
    got = [r.output_shape for r in rows if r.kind in ("Conv2d", "MaxPool2d", "Flatten")]
    # conv1 5x5/2 pad 2: 64 -> 32; pool: 15; conv2: 15; pool: 7; conv3-5: 7; pool: 3; 64*3*3 = 576
    assert got == [(32, 32, 32), (32, 15, 15), (64, 15, 15), (64, 7, 7), (96, 7, 7), (96, 7, 7), (64, 7, 7),
                   (64, 3, 3), (576,)]


def test_torchvision_layer_shapes(models):
    """64-192-384-256-256 at 224x224: 55, 27, 27, 13, 13, 13, 13, 6, then the adaptive pool keeps 6x6."""
    rows = profile(models["torchvision"], (3, 224, 224)).rows
    got = [(r.kind, r.output_shape) for r in rows if r.kind not in ("ReLU", "Dropout")]
    assert got == [
        ("Conv2d", (64, 55, 55)), ("MaxPool2d", (64, 27, 27)), ("Conv2d", (192, 27, 27)), ("MaxPool2d", (192, 13, 13)),
        ("Conv2d", (384, 13, 13)), ("Conv2d", (256, 13, 13)), ("Conv2d", (256, 13, 13)), ("MaxPool2d", (256, 6, 6)),
        ("AdaptiveAvgPool2d", (256, 6, 6)), ("Flatten", (9216,)),
        ("Linear", (4096,)), ("Linear", (4096,)), ("Linear", (1000,)),
    ]
    assert [r.name for r in rows if r.kind == "AdaptiveAvgPool2d"] == ["avgpool"]


TORCHVISION_STATE = [
    ("features.0.weight", (64, 3, 11, 11)), ("features.0.bias", (64,)),
    ("features.3.weight", (192, 64, 5, 5)), ("features.3.bias", (192,)),
    ("features.6.weight", (384, 192, 3, 3)), ("features.6.bias", (384,)),
    ("features.8.weight", (256, 384, 3, 3)), ("features.8.bias", (256,)),
    ("features.10.weight", (256, 256, 3, 3)), ("features.10.bias", (256,)),
    ("classifier.1.weight", (4096, 9216)), ("classifier.1.bias", (4096,)),
    ("classifier.4.weight", (4096, 4096)), ("classifier.4.bias", (4096,)),
    ("classifier.6.weight", (1000, 4096)), ("classifier.6.bias", (1000,)),
]


def test_torchvision_state_dict_names_and_shapes(models):
    state = models["torchvision"].state_dict()
    assert [(k, v.shape) for k, v in state.items()] == TORCHVISION_STATE


def _reference_torchvision_forward(state, x):
    """torchvision's AlexNet in plain NumPy (windows by sliding_window_view, not im2col), eval mode."""
    from numpy.lib.stride_tricks import sliding_window_view

    def conv(x, w, b, stride, pad):
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        win = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
        return np.einsum("nchwij,ocij->nohw", win, w) + b[None, :, None, None]

    def pool(x):
        return sliding_window_view(x, (3, 3), axis=(2, 3))[:, :, ::2, ::2].max(axis=(4, 5))

    def adaptive6(x):
        H, W = x.shape[2:]
        out = np.empty(x.shape[:2] + (6, 6))
        for i in range(6):
            for j in range(6):
                h0, h1 = (i * H) // 6, -(-(i + 1) * H // 6)
                w0, w1 = (j * W) // 6, -(-(j + 1) * W // 6)
                out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
        return out

    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    s = state
    x = pool(relu(conv(x, s["features.0.weight"], s["features.0.bias"], 4, 2)))
    x = pool(relu(conv(x, s["features.3.weight"], s["features.3.bias"], 1, 2)))
    x = relu(conv(x, s["features.6.weight"], s["features.6.bias"], 1, 1))
    x = relu(conv(x, s["features.8.weight"], s["features.8.bias"], 1, 1))
    x = pool(relu(conv(x, s["features.10.weight"], s["features.10.bias"], 1, 1)))
    x = adaptive6(x).reshape(x.shape[0], -1)
    x = relu(x @ s["classifier.1.weight"].T + s["classifier.1.bias"])
    x = relu(x @ s["classifier.4.weight"].T + s["classifier.4.bias"])
    return x @ s["classifier.6.weight"].T + s["classifier.6.bias"]


def test_torchvision_state_dict_loads_and_gives_the_reference_outputs():
    """A state dict with torchvision's names, as NumPy arrays, loads into a fresh model, and the
    model then computes what an independent NumPy implementation of torchvision's AlexNet computes.
    A 67x67 input makes the last feature map 1x1, so the adaptive pool's copying to 6x6 is exercised."""
    rng = np.random.default_rng(0)
    state = {k: rng.standard_normal(shape) * (0.5 / np.sqrt(np.prod(shape[1:])) if len(shape) > 1 else 0.1)
             for k, shape in TORCHVISION_STATE}
    model = alexnet("torchvision", num_classes=1000).double().eval()
    model.load_state_dict(state)
    x = rng.standard_normal((2, 3, 67, 67))
    with tinynet.no_grad():
        out = model(tinynet.Tensor(x)).numpy()
    np.testing.assert_allclose(out, _reference_torchvision_forward(state, x), rtol=1e-9, atol=1e-12)


def test_seed_forward_and_backward_batch_of_two():
    """One training step's worth of gradient on two 224x224 images: every parameter gets a finite,
    correctly shaped gradient, and the loss is about ln(1000) at PyTorch's initialisation."""
    tinynet.manual_seed(0)
    model = alexnet("seed")
    x = tinynet.Tensor(np.random.default_rng(0).random((2, 3, 224, 224), dtype=np.float32))
    logits = model(x)
    assert logits.shape == (2, 1000) and logits.dtype == np.float32
    loss = F.cross_entropy(logits, np.array([3, 999]))
    assert abs(loss.item() - np.log(1000)) < 0.5
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert np.isfinite(p.grad.numpy()).all(), name
    assert np.abs(model.classifier[6].weight.grad.numpy()).sum() > 0


def test_mini_gradcheck_on_a_tiny_input():
    """float64, eval mode (no dropout), at 29x29 (the smallest side whose feature map survives all three
    pools): element-wise gradcheck of 400 random input elements (of 2,523), and directional checks
    through every parameter."""
    tinynet.manual_seed(1)
    model = alexnet("mini", num_classes=4, input_size=29).double().eval()
    rng = np.random.default_rng(1)
    x = tinynet.Tensor(rng.standard_normal((1, 3, 29, 29)), requires_grad=True)
    assert tinynet.gradcheck(lambda x: model(x), [x], max_elements=400)
    xb = tinynet.Tensor(rng.standard_normal((2, 3, 29, 29)), requires_grad=True)
    params = list(model.parameters())
    assert tinynet.gradcheck_directional(lambda x, *p: model(x), [xb, *params], directions=4)


def test_input_size_too_small_is_refused():
    with pytest.raises(ValueError, match="too small"):
        alexnet("mini", input_size=20)


def test_paper_initialisation(models):
    """Weights ~ N(0, 0.01^2); biases 1 in conv2, conv4, conv5, fc6, fc7 and 0 in conv1, conv3, fc8."""
    model = models["paper"]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    dense = [m for m in model.modules() if isinstance(m, nn.Linear)]
    ones = [convs[1], convs[3], convs[4], dense[0], dense[1]]
    zeros = [convs[0], convs[2], dense[2]]
    for m in ones:
        assert np.all(m.bias.numpy() == 1.0)
    for m in zeros:
        assert np.all(m.bias.numpy() == 0.0)
    w = model.classifier[1].weight.numpy()
    assert abs(w.mean()) < 1e-4 and abs(w.std() - 0.01) < 1e-4


def test_kaiming_initialisation_keeps_the_signal_through_the_mini_net():
    """He init: weight std sqrt(2 / fan_in) before each ReLU, sqrt(1 / fan_in) for the last layer,
    zero biases; the mini variant's default. It keeps the logits' scale near the input's, where
    PyTorch's default shrinks the second moment by about 6 per layer (see the module docstring)."""
    tinynet.manual_seed(0)
    model = alexnet("mini", num_classes=10)
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for i, m in enumerate(layers):
        w = m.weight.numpy()
        fan_in = w[0].size
        gain = 1.0 if i == len(layers) - 1 else 2.0
        assert abs(w.std() / np.sqrt(gain / fan_in) - 1) < 0.1, (i, w.std())
        assert np.all(m.bias.numpy() == 0.0)
    assert all(d.p == 0.0 for d in model.modules() if isinstance(d, nn.Dropout))

    x = tinynet.Tensor(np.random.default_rng(0).standard_normal((32, 3, 64, 64)).astype(np.float32))
    with tinynet.no_grad():
        kaiming = model.eval()(x).numpy().std()
        tinynet.manual_seed(0)
        pytorch = alexnet("mini", num_classes=10, init="pytorch").eval()(x).numpy()
    pytorch = (pytorch - pytorch.mean(axis=0)).std()  # the part of the logits that depends on the input
    assert kaiming > 0.2, kaiming
    assert pytorch < kaiming / 100, (pytorch, kaiming)


def test_init_presets_are_independent_of_the_variant():
    tinynet.manual_seed(0)
    mini_paper = alexnet("mini", init="paper")
    assert np.all(mini_paper.features[3].bias.numpy() == 1.0)
    assert abs(mini_paper.features[0].weight.numpy().std() - 0.01) < 1e-3
    paper_pytorch = alexnet("paper", init="pytorch")
    bound = 1 / np.sqrt(3 * 11 * 11)
    w = paper_pytorch.features[0].weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    with pytest.raises(ValueError, match="initialisation"):
        alexnet("seed", init="xavier")
    with pytest.raises(ValueError, match="variant"):
        alexnet("vgg")


def test_dense_layer_fed_43264_features_names_the_layer(models):
    """The classic mistake: no pool before flatten leaves 256x13x13 = 43,264 features for a dense
    layer that expects 256x6x6 = 9,216. The error names the layer and both numbers."""
    model = models["seed"]
    no_last_pool = nn.Sequential(model.features[:12], model.flatten, model.classifier)
    x = tinynet.Tensor(np.zeros((1, 3, 224, 224), dtype=np.float32))
    with pytest.raises(tinynet.ShapeError) as info:
        no_last_pool(x)
    message = str(info.value)
    assert "layer 2.1 Linear(in_features=9216" in message
    assert "9216" in message and "43264" in message


def test_wrong_input_size_names_the_first_layer_that_cannot_take_it(models):
    with pytest.raises(tinynet.ShapeError, match=r"classifier\.1 .*9216.*6400"):
        models["seed"](tinynet.Tensor(np.zeros((1, 3, 200, 200), dtype=np.float32)))
    with pytest.raises(tinynet.ShapeError, match=r"features\.0 .*expected input with 3 channels.*got 1"):
        models["seed"](tinynet.Tensor(np.zeros((1, 1, 224, 224), dtype=np.float32)))


@pytest.mark.parametrize("variant, num_classes, size", [("seed", 1000, 224), ("paper", 1000, 227),
                                                       ("torchvision", 10, 100), ("mini", 3, 29), ("mini", 7, 96)])
def test_parameter_count_without_building_equals_the_built_models(variant, num_classes, size):
    model = alexnet(variant, num_classes=num_classes, input_size=size)
    assert parameter_count(variant, num_classes, size) == sum(p.numel() for p in model.parameters())


def test_the_paper_variant_can_normalise_within_each_columns_half():
    # lrn_groups=2: each LRN over its own half of the channels, as the paper's two GPUs; the same weights
    # (one state dict fits both), other activations.
    import tinynet
    from tinynet.models import alexnet

    tinynet.manual_seed(0)
    one = alexnet("paper", num_classes=10, input_size=67)
    two = alexnet("paper", num_classes=10, input_size=67, lrn_groups=2)
    two.load_state_dict(one.state_dict())
    lrns = [m for m in two.modules() if isinstance(m, tinynet.nn.LocalResponseNorm)]
    assert len(lrns) == 2 and all(m.groups == 2 for m in lrns)
    x = tinynet.randn(2, 3, 67, 67)
    a, b = one(x).numpy(), two(x).numpy()
    assert a.shape == b.shape == (2, 10) and not np.allclose(a, b)
