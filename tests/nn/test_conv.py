"""nn.Conv2d: PyTorch's signature, padding modes, repr and device argument; values and gradients
against PyTorch's module (tests/fixtures/torch_conv.npz) and the loop reference; bad arguments.
"""
import json

import numpy as np
import pytest

import tinynet
from tests.conftest import CUDA_SKIP_REASON
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet import backend, nn
from tinynet.functional import reference

FIXTURE = torch_fixture("conv")
CONV_CASES = json.loads(str(FIXTURE["conv_cases"]))


def _tuples(args):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}


def _layer(in_channels, out_channels, kernel, device="cpu", **args):
    """A float64 Conv2d on ``device``."""
    kernel = tuple(kernel) if isinstance(kernel, list) else kernel
    return nn.Conv2d(in_channels, out_channels, kernel, dtype="float64", **args).to(device)


def _set(layer, w, b, device):
    layer.weight.data = backend.to_device(np.array(w), device)
    if b is not None:
        layer.bias.data = backend.to_device(np.array(b), device)


@pytest.mark.parametrize("case", CONV_CASES, ids=[c["name"] for c in CONV_CASES])
def test_conv2d_layer_matches_pytorch(device, case):
    """Output and gradients (input, weight, bias) of PyTorch's nn.Conv2d with the same weights, every
    padding mode included, at 1e-12 in float64."""
    name = case["name"]
    layer = _layer(*case["layer"], device, bias=case["bias"], **_tuples(case["args"]))
    _set(layer, FIXTURE[f"{name}__w"], FIXTURE[f"{name}__b"] if case["bias"] else None, device)
    x = tensor(FIXTURE[f"{name}__x"], device, requires_grad=True)
    y = layer(x)
    np.testing.assert_allclose(host(y), FIXTURE[f"{name}__y"], rtol=1e-12, atol=1e-12)
    y.backward(tensor(FIXTURE[f"{name}__gy"], device))
    np.testing.assert_allclose(host(x.grad), FIXTURE[f"{name}__gx"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(layer.weight.grad), FIXTURE[f"{name}__gw"], rtol=1e-12, atol=1e-12)
    if case["bias"]:
        np.testing.assert_allclose(host(layer.bias.grad), FIXTURE[f"{name}__gb"], rtol=1e-12, atol=1e-12)


# (x shape, in, out, kernel, arguments)
MODE_CASES = [
    pytest.param((2, 2, 5, 6), 2, 3, 3, dict(padding=2, padding_mode="reflect"), id="reflect"),
    pytest.param((1, 2, 4, 5), 2, 2, (3, 2), dict(padding=(3, 1), stride=2, padding_mode="replicate"), id="replicate"),
    pytest.param((1, 4, 4, 5), 4, 2, 3, dict(padding=(1, 2), dilation=(2, 1), groups=2, padding_mode="circular"),
                 id="circular-dilation-groups"),
    pytest.param((1, 2, 5, 6), 2, 2, 4, dict(padding="same", padding_mode="reflect"), id="reflect-same-even"),
    pytest.param((1, 1, 5, 5), 1, 2, 3, dict(padding="same", dilation=2, padding_mode="circular"), id="circular-same"),
    pytest.param((2, 4, 5), 2, 3, 3, dict(padding=1, padding_mode="replicate"), id="replicate-unbatched"),
    pytest.param((1, 2, 4, 4), 2, 2, 3, dict(padding="valid", padding_mode="reflect"), id="valid-reflect"),
    pytest.param((1, 2, 5, 4), 2, 2, 2, dict(padding="same"), id="zeros-same-even"),
]


@pytest.mark.parametrize("x_shape, cin, cout, kernel, args", MODE_CASES)
def test_padding_modes_match_the_loop_reference(device, rng, x_shape, cin, cout, kernel, args):
    """The layer pads in its mode, then convolves: the loop reference's pad and sum, cell by cell."""
    layer = _layer(cin, cout, kernel, device, **args)
    x = rand(rng, x_shape, device, requires_grad=False)
    expected = reference.conv2d(host(x), host(layer.weight), host(layer.bias), layer.stride, layer.padding,
                                layer.dilation, layer.groups, layer.padding_mode)
    np.testing.assert_allclose(host(layer(x)), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, cin, cout, kernel, args", MODE_CASES)
def test_padding_modes_gradcheck(device, rng, x_shape, cin, cout, kernel, args):
    """dL/dx through the mode's pad (border gradients folded back) and dL/dW, dL/db, in float64."""
    layer = _layer(cin, cout, kernel, device, **args)
    x = rand(rng, x_shape, device)
    # The parameters are the layer's own tensors: gradcheck perturbs them in place, the layer reads them.
    assert tinynet.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_positional_order_is_pytorchs(rng):
    """Conv2d(in, out, kernel, stride, padding, dilation, groups, bias, padding_mode): each in its place."""
    layer = nn.Conv2d(4, 6, 3, 2, 1, 2, 2, False, "circular")
    assert (layer.stride, layer.padding, layer.dilation, layer.groups) == ((2, 2), (1, 1), (2, 2), 2)
    assert layer.bias is None and layer.padding_mode == "circular"
    assert layer.weight.shape == (6, 2, 3, 3)


# The strings PyTorch 2.13 prints for the same layers (torch.nn.Conv2d(...).__repr__()).
REPRS = [
    (lambda: nn.Conv2d(1, 2, 3, padding="same", dilation=2, padding_mode="reflect", bias=False),
     "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2), bias=False, "
     "padding_mode=reflect)"),
    (lambda: nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1), groups=2, padding_mode="circular"),
     "Conv2d(2, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1), groups=2, "
     "padding_mode=circular)"),
    (lambda: nn.Conv2d(2, 4, 3, padding="valid"), "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=valid)"),
    (lambda: nn.Conv2d(2, 4, 3, padding=0, dilation=1), "Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1))"),
]


@pytest.mark.parametrize("build, text", REPRS)
def test_repr_is_pytorchs(build, text):
    assert repr(build()) == text


def test_unbatched_input_and_state_dict(rng):
    layer = nn.Conv2d(3, 5, 3, padding=1, padding_mode="reflect", dtype="float64")
    y = layer(rand(rng, (3, 6, 7), requires_grad=False))
    assert y.shape == (5, 6, 7)
    assert sorted(layer.state_dict()) == ["bias", "weight"]


def test_device_argument():
    """device=None or 'cpu' builds on the host; 'cuda' puts the parameters on the GPU where there is one."""
    for device in (None, "cpu", "CPU"):
        assert nn.Conv2d(1, 2, 3, device=device).weight.device == "cpu"
    if CUDA_SKIP_REASON is None:
        layer = nn.Conv2d(1, 2, 3, device="cuda")
        assert layer.weight.device == "cuda" and layer.bias.device == "cuda"
    else:
        with pytest.raises(backend.DeviceError, match=r"^Conv2d: device 'cuda' was requested"):
            nn.Conv2d(1, 2, 3, device="cuda")


def test_a_bad_padding_mode_input_fails_naming_the_layer(rng):
    """Reflect padding of 3 on a 3x3 image: F.pad's error, with the layer that asked for it."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=3, padding_mode="reflect"))
    with pytest.raises(tinynet.ShapeError, match=r"Conv2d\(1, 2, .*padding_mode=reflect\): pad: reflect padding "
                                                 r"must be less than"):
        model(rand(rng, (1, 1, 3, 3), requires_grad=False, dtype="float32"))


NAN = float("nan")
BAD = [
    pytest.param(lambda: nn.Conv2d(3, 4, 3, dilation=0), ValueError,
                 r"^Conv2d: dilation must be an int >= 1 or a pair of them, got 0$", id="dilation-0"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, dilation=(1, -2)), ValueError, r"^Conv2d: dilation must be .*\(1, -2\)$",
                 id="dilation-negative"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, dilation=2.0), TypeError, r"^Conv2d: dilation must be .*got 2\.0$",
                 id="dilation-float"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, dilation=True), TypeError, r"^Conv2d: dilation must be .*got True$",
                 id="dilation-bool"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, dilation="1"), TypeError, r"^Conv2d: dilation must be .*got '1'$",
                 id="dilation-str"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding="full"), ValueError,
                 r"^Conv2d: padding must be 'valid', 'same', an int >= 0 or a pair of them, got 'full'$",
                 id="padding-str"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding="same", stride=2), ValueError,
                 r"^Conv2d: padding='same' is not supported for strided convolutions, got stride=\(2, 2\)$",
                 id="same-strided"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding="same", stride=(1, 3)), ValueError,
                 r"^Conv2d: padding='same' is not supported .*\(1, 3\)$", id="same-strided-pair"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding=NAN), TypeError, r"^Conv2d: padding must be .*got nan$",
                 id="padding-nan"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding=(1, 1, 1, 1)), ValueError,
                 r"^Conv2d: padding must be an int >= 0 or a pair of them, got \(1, 1, 1, 1\)$", id="padding-four"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding_mode="zero"), ValueError,
                 r"^Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'zero'$",
                 id="padding_mode-zero"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding_mode="constant"), ValueError,
                 r"^Conv2d: padding_mode must be one of .*got 'constant'$", id="padding_mode-constant"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding_mode=None), TypeError, r"^Conv2d: padding_mode must be .*got None$",
                 id="padding_mode-None"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, padding_mode=0), TypeError, r"^Conv2d: padding_mode must be .*got 0$",
                 id="padding_mode-int"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, bias="False"), TypeError,
                 r"^Conv2d: bias must be True or False, got 'False'$",
                 id="bias-str"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, bias=None), TypeError, r"^Conv2d: bias must be True or False, got None$",
                 id="bias-None"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, device="tpu"), backend.DeviceError,
                 r"^Conv2d: unknown device 'tpu': expected 'cpu' or 'cuda'$", id="device-tpu"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, device="cuda:1"), backend.DeviceError,
                 r"^Conv2d: device 'cuda:1': tinynet uses one GPU", id="device-cuda1"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, device=0), TypeError,
                 r"^Conv2d: device must be None, 'cpu' or 'cuda', got 0$",
                 id="device-int"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError,
                 r"^Conv2d: groups=2 must divide in_channels \(3\) and out_channels \(4\)$", id="groups-not-dividing"),
    pytest.param(lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError,
                 r"^Conv2d: groups=4 must divide in_channels \(4\) and out_channels \(6\)$",
                 id="groups-not-dividing-out"),
    pytest.param(lambda: nn.Conv2d(3, 4, (3, 3, 3)), ValueError, r"^Conv2d: kernel_size must be .*got \(3, 3, 3\)$",
                 id="kernel-triple"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, stride=NAN), TypeError, r"^Conv2d: stride must be .*got nan$",
                 id="stride-nan"),
    pytest.param(lambda: nn.Conv2d(3, 4, 3, dtype="float16x"), TypeError, r"^Conv2d: dtype: 'float16x' is not a dtype",
                 id="dtype-unknown"),
]


@pytest.mark.parametrize("build, error, message", BAD)
def test_a_bad_conv2d_fails_where_it_is_built(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("x_shape, args, error, message", [
    pytest.param((1, 1, 2, 2), dict(padding=2, padding_mode="reflect"), tinynet.ShapeError,
                 r"pad: reflect padding must be less than the size", id="reflect-too-large"),
    pytest.param((1, 1, 2, 2), dict(padding=3, padding_mode="circular"), tinynet.ShapeError,
                 r"pad: circular padding must be at most the size", id="circular-too-large"),
    pytest.param((2, 4, 4), dict(padding=1, padding_mode="replicate"), tinynet.ShapeError,
                 r"conv2d: expected input with 1 channels .*got 2 channels", id="unbatched-wrong-channels"),
    pytest.param((4, 4), dict(padding=1, padding_mode="reflect"), tinynet.ShapeError,
                 r"pad: mode 'reflect' pads .*got a pad of 4 for a 2-D input", id="reflect-2d-input"),
    pytest.param((4, 4), dict(padding=1), tinynet.ShapeError, r"conv2d expects a 3-D \(C, H, W\) or 4-D",
                 id="zeros-2d-input"),
])
def test_bad_inputs_name_the_layer_and_the_op(rng, x_shape, args, error, message):
    layer = nn.Conv2d(1, 2, 3, dtype="float64", **args)
    with pytest.raises(error, match=r"^Conv2d\(1, 2, kernel_size=\(3, 3\).*: " + message):
        layer(rand(rng, x_shape, requires_grad=False))
