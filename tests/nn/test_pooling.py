"""The pooling layers (tinynet/nn/pooling.py): PyTorch's argument order, defaults and repr (the reprs
PyTorch prints are stored in tests/fixtures/torch_pool.npz), forward through the functional op,
unbatched inputs, and bad arguments failing where the layer is built."""
import json

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, tensor, tie_free
from tinynet import nn

NAN = float("nan")
MODULES = json.loads(str(torch_fixture("pool")["modules"]))


def _tuples(v):
    """JSON lists back to the tuples the fixture script passed."""
    return tuple(_tuples(e) for e in v) if isinstance(v, list) else v


@pytest.mark.parametrize("entry", MODULES, ids=[f"{m['cls']}-{i}" for i, m in enumerate(MODULES)])
def test_repr_is_pytorchs(entry):
    args = [_tuples(a) for a in entry["args"]]
    kwargs = {k: _tuples(v) for k, v in entry["kwargs"].items()}
    assert repr(getattr(nn, entry["cls"])(*args, **kwargs)) == entry["repr"]


def test_defaults_and_argument_order():
    """MaxPool2d's order is (kernel, stride, padding, dilation, return_indices, ceil_mode), PyTorch's;
    F.max_pool2d has ceil_mode before return_indices."""
    m = nn.MaxPool2d(3, 2, 1, 2, True, False)
    assert (m.kernel_size, m.stride, m.padding, m.dilation, m.return_indices, m.ceil_mode) == (3, 2, 1, 2, True, False)
    m = nn.MaxPool2d(3)
    assert (m.stride, m.padding, m.dilation, m.return_indices, m.ceil_mode) == (3, 0, 1, False, False)
    a = nn.AvgPool2d(2, None, 1, True, False, 3)
    assert (a.stride, a.padding, a.ceil_mode, a.count_include_pad, a.divisor_override) == (2, 1, True, False, 3)
    a = nn.AvgPool2d((2, 3))
    assert (a.stride, a.padding, a.ceil_mode, a.count_include_pad, a.divisor_override) == ((2, 3), 0, False, True, None)
    assert nn.AdaptiveMaxPool2d(4).return_indices is False
    for layer in (nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveMaxPool2d(2), nn.AdaptiveAvgPool2d(2)):
        assert list(layer.parameters()) == [] and dict(layer.state_dict()) == {}


@pytest.mark.parametrize("layer, op", [
    pytest.param(nn.MaxPool2d(3, 2, 1, 2, False, True), lambda x: F.max_pool2d(x, 3, 2, 1, 2, True), id="MaxPool2d"),
    pytest.param(nn.AvgPool2d(3, 2, 1, True, False), lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), id="AvgPool2d"),
    pytest.param(nn.AvgPool2d(2, divisor_override=3), lambda x: F.avg_pool2d(x, 2, divisor_override=3),
                 id="AvgPool2d-divisor"),
    pytest.param(nn.AdaptiveMaxPool2d((3, None)), lambda x: F.adaptive_max_pool2d(x, (3, None)),
                 id="AdaptiveMaxPool2d"),
    pytest.param(nn.AdaptiveAvgPool2d((None, 2)), lambda x: F.adaptive_avg_pool2d(x, (None, 2)),
                 id="AdaptiveAvgPool2d"),
])
@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (3, 9, 8)], ids=["batched", "unbatched"])
def test_forward_and_backward_are_the_ops(device, rng, layer, op, shape):
    x_host = tie_free(rng, shape).numpy()
    x1, x2 = tensor(x_host, device, requires_grad=True), tensor(x_host, device, requires_grad=True)
    y1, y2 = layer(x1), op(x2)
    assert y1.shape == y2.shape and len(y1.shape) == len(shape)
    np.testing.assert_array_equal(host(y1), host(y2))
    g = rng.standard_normal(y1.shape)
    y1.backward(tensor(g, device))
    y2.backward(tensor(g, device))
    np.testing.assert_array_equal(host(x1.grad), host(x2.grad))


@pytest.mark.parametrize("layer", [nn.MaxPool2d(2, return_indices=True), nn.AdaptiveMaxPool2d(3, return_indices=True)],
                         ids=["MaxPool2d", "AdaptiveMaxPool2d"])
def test_return_indices(device, rng, layer):
    x = tie_free(rng, (1, 2, 6, 6), device)
    y, indices = layer(x)
    assert indices.dtype == np.int64 and indices.shape == y.shape and not indices.requires_grad
    planes = host(x).reshape(2, 36)  # each maximum is the cell its index names in its plane
    np.testing.assert_array_equal(host(y)[0], planes[np.arange(2)[:, None, None], host(indices)[0]])


def test_layers_in_a_model(device, rng):
    """Conv -> MaxPool (dilated, ceil) -> AvgPool -> AdaptiveMaxPool -> Flatten -> Linear, float64 gradcheck."""
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, dtype="float64"), nn.MaxPool2d(3, 2, 1, 2, ceil_mode=True),
                          nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False), nn.AdaptiveMaxPool2d((2, None)),
                          nn.Flatten(), nn.Linear(12, 2, dtype="float64"))
    model.to(device)
    x = tie_free(rng, (2, 2, 9, 9), device)
    assert model(x).shape == (2, 2)
    assert tinynet.gradcheck(model, [x])


# --- bad arguments: the layer fails where it is built --------------------------------------------------------

BAD = [
    # MaxPool2d
    pytest.param(lambda: nn.MaxPool2d(0), ValueError,
                 r"^MaxPool2d: kernel_size must be an int >= 1 or a pair of them, got 0$",
                 id="MaxPool2d-kernel-0"),
    pytest.param(lambda: nn.MaxPool2d(-1), ValueError, r"^MaxPool2d: kernel_size must be .*got -1$",
                 id="MaxPool2d-kernel-negative"),
    pytest.param(lambda: nn.MaxPool2d(2.5), TypeError, r"^MaxPool2d: kernel_size must be .*got 2.5$",
                 id="MaxPool2d-kernel-float"),
    pytest.param(lambda: nn.MaxPool2d(True), TypeError, r"^MaxPool2d: kernel_size must be .*got True$",
                 id="MaxPool2d-kernel-bool"),
    pytest.param(lambda: nn.MaxPool2d("a"), TypeError, r"^MaxPool2d: kernel_size must be .*got 'a'$",
                 id="MaxPool2d-kernel-str"),
    pytest.param(lambda: nn.MaxPool2d((2, NAN)), TypeError, r"^MaxPool2d: kernel_size must be .*got \(2, nan\)$",
                 id="MaxPool2d-kernel-nan"),
    pytest.param(lambda: nn.MaxPool2d((2, 2, 2)), ValueError, r"^MaxPool2d: kernel_size must be .*got \(2, 2, 2\)$",
                 id="MaxPool2d-kernel-triple"),
    pytest.param(lambda: nn.MaxPool2d(3, stride=0), ValueError, r"^MaxPool2d: stride must be an int >= 1",
                 id="MaxPool2d-stride-0"),
    pytest.param(lambda: nn.MaxPool2d(3, stride="2"), TypeError, r"^MaxPool2d: stride must be .*got '2'$",
                 id="MaxPool2d-stride-str"),
    pytest.param(lambda: nn.MaxPool2d(2, padding=2), ValueError, r"^MaxPool2d: padding must be between 0 and half",
                 id="MaxPool2d-padding-over-half"),
    pytest.param(lambda: nn.MaxPool2d(2, padding=-1), ValueError, r"^MaxPool2d: padding must be an int >= 0",
                 id="MaxPool2d-padding-negative"),
    pytest.param(lambda: nn.MaxPool2d(2, dilation=0), ValueError, r"^MaxPool2d: dilation must be an int >= 1 or a pair",
                 id="MaxPool2d-dilation-0"),
    pytest.param(lambda: nn.MaxPool2d(2, dilation=(2, False)), TypeError,
                 r"^MaxPool2d: dilation must be .*got \(2, False\)$",
                 id="MaxPool2d-dilation-bool"),
    pytest.param(lambda: nn.MaxPool2d(2, return_indices="yes"), TypeError,
                 r"^MaxPool2d: return_indices must be True or False, got 'yes'$", id="MaxPool2d-indices-str"),
    pytest.param(lambda: nn.MaxPool2d(2, ceil_mode=1), TypeError,
                 r"^MaxPool2d: ceil_mode must be True or False, got 1$",
                 id="MaxPool2d-ceil-int"),
    pytest.param(lambda: nn.MaxPool2d(2, 2, 0, 1, False, None), TypeError,
                 r"^MaxPool2d: ceil_mode must be True or False",
                 id="MaxPool2d-ceil-positional-None"),
    # AvgPool2d
    pytest.param(lambda: nn.AvgPool2d(0), ValueError,
                 r"^AvgPool2d: kernel_size must be an int >= 1 or a pair of them, got 0$",
                 id="AvgPool2d-kernel-0"),
    pytest.param(lambda: nn.AvgPool2d(None), TypeError, r"^AvgPool2d: kernel_size must be .*got None$",
                 id="AvgPool2d-kernel-None"),
    pytest.param(lambda: nn.AvgPool2d(2, stride=(1, 0)), ValueError, r"^AvgPool2d: stride must be .*got \(1, 0\)$",
                 id="AvgPool2d-stride-0"),
    pytest.param(lambda: nn.AvgPool2d(3, padding=2), ValueError, r"^AvgPool2d: padding must be between 0 and half",
                 id="AvgPool2d-padding-over-half"),
    pytest.param(lambda: nn.AvgPool2d(3, padding=1.0), TypeError, r"^AvgPool2d: padding must be .*got 1.0$",
                 id="AvgPool2d-padding-float"),
    pytest.param(lambda: nn.AvgPool2d(2, ceil_mode="no"), TypeError, r"^AvgPool2d: ceil_mode must be True or False",
                 id="AvgPool2d-ceil-str"),
    pytest.param(lambda: nn.AvgPool2d(2, count_include_pad=0), TypeError,
                 r"^AvgPool2d: count_include_pad must be True or False, got 0$", id="AvgPool2d-count-int"),
    pytest.param(lambda: nn.AvgPool2d(2, divisor_override=0), ValueError,
                 r"^AvgPool2d: divisor_override must be None or a nonzero int, got 0$", id="AvgPool2d-divisor-0"),
    pytest.param(lambda: nn.AvgPool2d(2, divisor_override=1.5), TypeError,
                 r"^AvgPool2d: divisor_override must be None or a nonzero int, got 1.5$", id="AvgPool2d-divisor-float"),
    pytest.param(lambda: nn.AvgPool2d(2, divisor_override=False), TypeError,
                 r"^AvgPool2d: divisor_override must be .*got False$", id="AvgPool2d-divisor-bool"),
    pytest.param(lambda: nn.AvgPool2d(2, divisor_override=float("inf")), TypeError,
                 r"^AvgPool2d: divisor_override must be .*got inf$", id="AvgPool2d-divisor-inf"),
    # AdaptiveMaxPool2d, AdaptiveAvgPool2d
    pytest.param(lambda: nn.AdaptiveMaxPool2d(0), ValueError,
                 r"^AdaptiveMaxPool2d: output_size must be an int >= 1 or a pair of them, got 0$", id="AdaptiveMax-0"),
    pytest.param(lambda: nn.AdaptiveMaxPool2d((None, -2)), ValueError,
                 r"^AdaptiveMaxPool2d: output_size must be .*got \(None, -2\)$", id="AdaptiveMax-None-negative"),
    pytest.param(lambda: nn.AdaptiveMaxPool2d(None), TypeError, r"^AdaptiveMaxPool2d: output_size must be .*got None$",
                 id="AdaptiveMax-None"),
    pytest.param(lambda: nn.AdaptiveMaxPool2d("6"), TypeError, r"^AdaptiveMaxPool2d: output_size must be .*got '6'$",
                 id="AdaptiveMax-str"),
    pytest.param(lambda: nn.AdaptiveMaxPool2d(6, return_indices=1), TypeError,
                 r"^AdaptiveMaxPool2d: return_indices must be True or False, got 1$", id="AdaptiveMax-indices-int"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d((6, 6, 6)), ValueError, r"^AdaptiveAvgPool2d: output_size must be",
                 id="AdaptiveAvg-triple"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d((None, True)), TypeError,
                 r"^AdaptiveAvgPool2d: output_size must be .*got \(None, True\)$", id="AdaptiveAvg-None-bool"),
]


@pytest.mark.parametrize("build, error, message", BAD)
def test_a_pooling_layer_with_bad_arguments_fails_where_it_is_built(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("layer, x, error, message", [
    pytest.param(nn.MaxPool2d(2), np.ones((4, 4)), tinynet.ShapeError,
                 r"MaxPool2d\(kernel_size=2.*: max_pool2d expects",
                 id="MaxPool2d-2d-input"),
    pytest.param(nn.AvgPool2d(5), np.ones((1, 1, 4, 4)), tinynet.ShapeError,
                 r"AvgPool2d\(kernel_size=5.*: avg_pool2d: window 5x5 is larger", id="AvgPool2d-window-too-large"),
    pytest.param(nn.AdaptiveMaxPool2d(2), np.ones((1, 1, 4, 4), dtype=np.int64), TypeError,
                 r"adaptive_max_pool2d: expects a floating-point input, got int64", id="AdaptiveMax-int-input"),
])
def test_bad_inputs_name_the_layer(layer, x, error, message):
    with pytest.raises(error, match=message):
        layer(tinynet.Tensor(x))
