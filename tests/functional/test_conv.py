"""conv2d: forward and backward against the loop reference (tinynet/functional/reference/conv.py) and
PyTorch's values (tests/fixtures/torch_conv.npz), gradients against central differences, errors.

Every stride/padding/dilation/groups case runs through the same reference (explicit loops over n,
oc, oh, ow and the kernel taps) and the same float64 gradient check.
"""
import json
import re

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet.functional import reference
from tinynet.functional.conv import Conv2d, same_padding

FIXTURE = torch_fixture("conv")
# The F.conv2d cases of the fixture: those without a padding_mode (the module's, tests/nn/test_conv.py).
TORCH_CASES = [c for c in json.loads(str(FIXTURE["conv_cases"])) if "padding_mode" not in c["args"]]


def _tuples(args):
    """JSON lists back to tuples (stride=[2, 1] -> (2, 1))."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}


# (x shape, weight shape, stride, padding, dilation, groups); each case runs with and without bias.
CASES = [
    pytest.param((2, 3, 5, 5), (4, 3, 3, 3), 1, 0, 1, 1, id="plain"),
    pytest.param((2, 2, 7, 7), (3, 2, 3, 3), 2, 0, 1, 1, id="stride2"),
    pytest.param((1, 2, 7, 8), (2, 2, 3, 2), (3, 2), 0, 1, 1, id="stride-pair-floor"),
    pytest.param((2, 2, 4, 4), (3, 2, 3, 3), 1, 1, 1, 1, id="padding1"),
    pytest.param((1, 2, 4, 5), (2, 2, 3, 2), 1, (2, 1), 1, 1, id="padding-pair"),
    pytest.param((2, 4, 5, 5), (6, 2, 3, 3), 1, 1, 1, 2, id="groups2"),
    pytest.param((2, 2, 5, 7), (3, 2, 2, 4), 1, 0, 1, 1, id="non-square"),
    pytest.param((2, 2, 4, 3), (3, 2, 4, 3), 1, 0, 1, 1, id="kernel-equals-image"),
    pytest.param((1, 2, 3, 3), (2, 2, 5, 5), 1, 1, 1, 1, id="kernel-equals-padded-image"),
    pytest.param((1, 3, 4, 4), (2, 3, 3, 3), 1, 0, 1, 1, id="batch-of-one"),
    pytest.param((1, 4, 5, 6), (4, 2, 3, 2), (2, 2), (1, 0), 1, 2, id="all-combined"),
    pytest.param((1, 2, 5, 5), (3, 2, 1, 1), 2, 0, 1, 1, id="1x1-stride2"),
    pytest.param((1, 2, 5, 6), (2, 2, 2, 2), 3, 1, 1, 1, id="stride-larger-than-kernel"),
    pytest.param((2, 2, 7, 7), (3, 2, 3, 3), 1, 0, 2, 1, id="dilation2"),
    pytest.param((1, 2, 9, 8), (2, 2, 3, 2), 1, (2, 1), (2, 3), 1, id="dilation-pair-padding"),
    pytest.param((1, 1, 10, 11), (2, 1, 3, 3), 3, 1, 2, 1, id="dilation2-stride3"),
    pytest.param((1, 2, 9, 9), (2, 2, 2, 3), (2, 2), 0, (2, 2), 1, id="dilation-equals-stride"),
    pytest.param((1, 2, 8, 9), (2, 2, 3, 2), (2, 3), (1, 2), (4, 3), 1, id="dilation-stride-shared-factor"),
    pytest.param((1, 4, 8, 7), (4, 2, 2, 2), 2, 1, 3, 2, id="dilation-groups"),
    pytest.param((1, 1, 3, 3), (1, 1, 3, 3), 1, 1, 2, 1, id="dilated-kernel-equals-padded-image"),
    pytest.param((1, 2, 6, 5), (2, 2, 3, 2), 1, "valid", 1, 1, id="valid"),
    pytest.param((2, 2, 5, 6), (3, 2, 3, 3), 1, "same", 1, 1, id="same-odd"),
    pytest.param((1, 2, 5, 6), (2, 2, 4, 2), 1, "same", 1, 1, id="same-even"),
    pytest.param((1, 2, 6, 7), (2, 2, 3, 2), 1, "same", (2, 3), 1, id="same-dilation"),
    pytest.param((1, 4, 4, 5), (2, 2, 2, 3), 1, "same", (1, 2), 2, id="same-even-groups"),
    pytest.param((3, 5, 6), (2, 3, 3, 3), 2, 1, 1, 1, id="unbatched"),
    pytest.param((2, 5, 5), (4, 1, 2, 2), 1, "same", 2, 2, id="unbatched-same-dilation-groups"),
]


def _conv(stride, padding, dilation, groups):
    return lambda x, w, b=None: F.conv2d(x, w, b, stride, padding, dilation, groups)


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CASES)
def test_conv2d_forward_matches_loop_reference(device, rng, x_shape, w_shape, stride, padding, dilation, groups,
                                                with_bias):
    """Forward equals the definition of cross-correlation, element by element, for every layout case."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, w_shape, device, requires_grad=False)
    b = rand(rng, (w_shape[0],), device, requires_grad=False) if with_bias else None
    y = _conv(stride, padding, dilation, groups)(x, w, b)
    expected = reference.conv2d(host(x), host(w), host(b) if with_bias else None, stride, padding, dilation, groups)
    assert y.shape == expected.shape
    assert y.dtype == np.float64
    np.testing.assert_allclose(host(y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CASES)
def test_conv2d_gradcheck(device, rng, x_shape, w_shape, stride, padding, dilation, groups, with_bias):
    """Analytic dL/dx, dL/dw (and dL/db) agree with central differences in float64."""
    inputs = [rand(rng, x_shape, device), rand(rng, w_shape, device)]
    if with_bias:
        inputs.append(rand(rng, (w_shape[0],), device))
    assert tinynet.gradcheck(_conv(stride, padding, dilation, groups), inputs)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups",
                         [c for c in CASES if isinstance(c.values[3], (int, tuple)) and len(c.values[0]) == 4])
def test_conv2d_backward_matches_loop_reference(device, rng, x_shape, w_shape, stride, padding, dilation, groups):
    """dx, dW and db equal the chain rule applied term by term (reference.conv2d_backward)."""
    x = rand(rng, x_shape, device)
    w = rand(rng, w_shape, device)
    b = rand(rng, (w_shape[0],), device)
    y = _conv(stride, padding, dilation, groups)(x, w, b)
    gy = rng.standard_normal(y.shape)
    y.backward(tensor(gy, device))
    gx, gw, gb = reference.conv2d_backward(host(x), host(w), gy, stride, padding, dilation, groups)
    np.testing.assert_allclose(host(x.grad), gx, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(host(w.grad), gw, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(host(b.grad), gb, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c["name"] for c in TORCH_CASES])
def test_conv2d_matches_pytorch(device, case):
    """Output and the gradients of sum(y * gy) for x, weight and bias equal PyTorch's (float64, 1e-12)."""
    name = case["name"]
    x = tensor(FIXTURE[f"{name}__x"], device, requires_grad=True)
    w = tensor(FIXTURE[f"{name}__w"], device, requires_grad=True)
    b = tensor(FIXTURE[f"{name}__b"], device, requires_grad=True) if case["bias"] else None
    y = F.conv2d(x, w, b, **_tuples(case["args"]))
    np.testing.assert_allclose(host(y), FIXTURE[f"{name}__y"], rtol=1e-12, atol=1e-12)
    y.backward(tensor(FIXTURE[f"{name}__gy"], device))
    np.testing.assert_allclose(host(x.grad), FIXTURE[f"{name}__gx"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(host(w.grad), FIXTURE[f"{name}__gw"], rtol=1e-12, atol=1e-12)
    if b is not None:
        np.testing.assert_allclose(host(b.grad), FIXTURE[f"{name}__gb"], rtol=1e-12, atol=1e-12)


def test_conv2d_positional_order_is_pytorchs(rng):
    """F.conv2d(input, weight, bias, stride, padding, dilation, groups): the 6th is dilation, the 7th groups."""
    x = rand(rng, (1, 4, 9, 9), requires_grad=False)
    w = rand(rng, (2, 2, 3, 3), requires_grad=False)
    y = F.conv2d(x, w, None, 1, 0, 2, 2)
    assert y.shape == (1, 2, 5, 5)
    np.testing.assert_allclose(host(y), reference.conv2d(host(x), host(w), None, 1, 0, 2, 2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, dilation, sides", [
    ((3, 3), (1, 1), ((1, 1), (1, 1))),
    ((4, 2), (1, 1), ((1, 2), (0, 1))),
    ((3, 2), (2, 3), ((2, 2), (1, 2))),
    ((1, 5), (4, 2), ((0, 0), (4, 4))),
])
def test_same_padding_puts_the_odd_cell_after(kernel, dilation, sides):
    """dilation*(k - 1) cells in all, half before and the rest after (PyTorch: the extra one right/below)."""
    assert same_padding(kernel, dilation) == sides


@pytest.mark.parametrize("h, w, kernel, dilation", [(5, 6, 3, 1), (5, 6, 4, 1), (4, 7, (2, 5), (3, 1)), (2, 2, 5, 2)])
def test_same_keeps_the_size(rng, h, w, kernel, dilation):
    """padding='same' gives an output of the input's size, even for a kernel larger than the input."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rand(rng, (1, 2, h, w), requires_grad=False)
    y = F.conv2d(x, rand(rng, (3, 2, *k), requires_grad=False), padding="same", dilation=dilation)
    assert y.shape == (1, 3, h, w)


def test_unbatched_is_the_batch_of_one(rng):
    """A (C, H, W) input gives (OC, OH, OW): the batched result for a batch of one, without its batch axis."""
    x = rand(rng, (2, 6, 5))
    w = rand(rng, (3, 2, 3, 2))
    y = F.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2))
    assert y.shape == (3, 3, 5)  # OH = (6 + 2 - 3) // 2 + 1, OW = (5 + 2 - 3) // 1 + 1
    batched = F.conv2d(tensor(host(x)[None]), w, stride=(2, 1), padding=1, dilation=(1, 2))
    np.testing.assert_array_equal(host(y), host(batched)[0])
    y.backward(tensor(np.ones(y.shape)))
    assert x.grad.shape == x.shape


def test_conv2d_float32_keeps_dtype(device, rng):
    """A float32 convolution (with dilation) returns float32 values close to the float64 reference."""
    x = rand(rng, (2, 3, 8, 7), device, requires_grad=False, dtype="float32")
    w = rand(rng, (4, 3, 3, 3), device, requires_grad=False, dtype="float32")
    b = rand(rng, (4,), device, requires_grad=False, dtype="float32")
    y = F.conv2d(x, w, b, stride=2, padding=1, dilation=2)
    assert y.dtype == np.float32
    expected = reference.conv2d(host(x).astype(np.float64), host(w).astype(np.float64),
                                host(b).astype(np.float64), 2, 1, 2)
    np.testing.assert_allclose(host(y), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", [
    pytest.param((2, 2, 5, 5), (3, 2, 3, 3), 2, 1, 1, 1, id="stride2-padding1"),
    pytest.param((1, 4, 4, 5), (4, 2, 2, 3), 1, 0, 1, 2, id="groups2"),
    pytest.param((1, 2, 7, 6), (2, 2, 3, 2), 1, 2, (2, 3), 1, id="dilation"),
])
def test_conv2d_input_without_grad_gets_none(device, rng, x_shape, w_shape, stride, padding, dilation, groups):
    """An input that needs no gradient (the image fed to layer 1) gets x.grad None; dW and db stay exact."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, w_shape, device)
    b = rand(rng, (w_shape[0],), device)
    fn = _conv(stride, padding, dilation, groups)
    y = fn(x, w, b)
    assert y.grad_fn.w is None  # only dx needs W, and no dx is wanted
    gy = rng.standard_normal(y.shape)
    y.backward(tensor(gy, device))
    assert x.grad is None
    _, expected_gw, expected_gb = reference.conv2d_backward(host(x), host(w), gy, stride, padding, dilation, groups)
    np.testing.assert_allclose(host(w.grad), expected_gw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(b.grad), expected_gb, rtol=1e-10, atol=1e-12)
    # And the same through the numerical check, with only w and b perturbed.
    assert tinynet.gradcheck(fn, [x, w, b])


def test_conv2d_frozen_weight_still_gives_input_grad(device, rng):
    """With a weight that needs no gradient, dL/dx is still correct, w.grad stays None and col is not kept."""
    x = rand(rng, (2, 2, 5, 4), device)
    w = rand(rng, (3, 2, 3, 2), device, requires_grad=False)
    assert F.conv2d(x, w, stride=2, padding=1).grad_fn.col is None
    assert tinynet.gradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1, dilation=(1, 2)), [x, w])
    assert w.grad is None


def test_the_op_takes_checked_pairs():
    """The Function holds what conv2d checked and resolved: pairs of ints, no strings."""
    op = Conv2d((1, 1), (2, 2), (2, 1), 1)
    assert (op.stride, op.padding, op.dilation, op.groups) == ((1, 1), (2, 2), (2, 1), 1)


# --- errors -------------------------------------------------------------------------------------------------

def _has_number(message, number):
    return re.search(rf"(?<![\d.]){number}(?![\d.])", message) is not None


@pytest.mark.parametrize("x_shape", [(5, 6), (1, 1, 3, 5, 6)])
def test_conv2d_rejects_input_that_is_not_3d_or_4d(device, rng, x_shape):
    """The message names conv2d, both accepted layouts, and the shape given."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, (2, x_shape[-3] if len(x_shape) > 2 else 1, 3, 3), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.conv2d(x, w)
    message = str(info.value)
    assert message.startswith("conv2d")
    assert "3-D (C, H, W) or 4-D (N, C, H, W)" in message
    assert str(x_shape) in message


@pytest.mark.parametrize("x_shape, w_shape, padding, dilation, expected", [
    pytest.param((1, 1, 4, 4), (1, 1, 5, 5), 0, 1, ["5x5", "4x4"], id="no-padding"),
    pytest.param((1, 1, 4, 6), (1, 1, 7, 3), 1, 1, ["7x3", "6x8"], id="padding1-too-tall"),
    pytest.param((1, 1, 4, 6), (1, 1, 3, 3), 0, (2, 1), ["3x3", "spans 5x3", "4x6"], id="dilation-too-tall"),
])
def test_conv2d_rejects_kernel_larger_than_padded_image(device, rng, x_shape, w_shape, padding, dilation, expected):
    """A kernel that doesn't fit the padded image: the message names conv2d, the kernel (and its dilated
    span) and the padded size."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, w_shape, device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.conv2d(x, w, padding=padding, dilation=dilation)
    message = str(info.value)
    assert message.startswith("conv2d: kernel")
    for part in expected:
        assert part in message


def test_conv2d_rejects_channels_not_divisible_by_groups(device, rng):
    """3 input channels can't be split into 2 groups: the message names conv2d, the groups and the channels."""
    x = rand(rng, (1, 3, 5, 5), device, requires_grad=False)
    w = rand(rng, (4, 1, 3, 3), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.conv2d(x, w, groups=2)
    message = str(info.value)
    assert "conv2d" in message
    assert "groups" in message and _has_number(message, 2)
    assert _has_number(message, 3)


def test_conv2d_rejects_channel_mismatch_with_weight(device, rng):
    """Weight expects 2 input channels, input has 3: the message names conv2d and both channel counts."""
    x = rand(rng, (1, 3, 5, 5), device, requires_grad=False)
    w = rand(rng, (4, 2, 3, 3), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.conv2d(x, w)
    message = str(info.value)
    assert "conv2d" in message
    assert _has_number(message, 2) and _has_number(message, 3)
    assert "channels" in message
    with pytest.raises(ValueError):  # ShapeError is a ValueError, so generic handlers catch it too
        F.conv2d(x, w)


def _t(*shape, dtype="float64"):
    return tinynet.Tensor(np.ones(shape, dtype=dtype))


def _c(**kwargs):
    return F.conv2d(_t(1, 2, 5, 5), _t(3, 2, 3, 3), **kwargs)


NAN = float("nan")
BAD = [
    # stride
    pytest.param(lambda: _c(stride=0), ValueError, r"^conv2d: stride must be an int >= 1 or a pair of them, got 0$",
                 id="stride-0"),
    pytest.param(lambda: _c(stride=(1, -1)), ValueError, r"^conv2d: stride must be .*got \(1, -1\)$", id="stride-neg"),
    pytest.param(lambda: _c(stride=1.0), TypeError, r"^conv2d: stride must be .*got 1\.0$", id="stride-float"),
    pytest.param(lambda: _c(stride=(1, 1, 1)), ValueError, r"^conv2d: stride must be .*got \(1, 1, 1\)$",
                 id="stride-triple"),
    pytest.param(lambda: _c(stride="1"), TypeError, r"^conv2d: stride must be .*got '1'$", id="stride-str"),
    # padding
    pytest.param(lambda: _c(padding=-1), ValueError, r"^conv2d: padding must be an int >= 0 or a pair of them, got -1$",
                 id="padding-neg"),
    pytest.param(lambda: _c(padding=NAN), TypeError, r"^conv2d: padding must be .*got nan$", id="padding-nan"),
    pytest.param(lambda: _c(padding=(True, 0)), TypeError, r"^conv2d: padding must be .*got \(True, 0\)$",
                 id="padding-bool"),
    pytest.param(lambda: _c(padding="full"), ValueError,
                 r"^conv2d: padding must be 'valid', 'same', an int >= 0 or a pair of them, got 'full'$",
                 id="padding-str"),
    pytest.param(lambda: _c(padding="SAME"), ValueError, r"^conv2d: padding must be 'valid', 'same'.*got 'SAME'$",
                 id="padding-SAME"),
    pytest.param(lambda: _c(padding="same", stride=2), ValueError,
                 r"^conv2d: padding='same' is not supported for strided convolutions, got stride=\(2, 2\)$",
                 id="same-strided"),
    pytest.param(lambda: _c(padding=None), TypeError, r"^conv2d: padding must be .*got None$", id="padding-None"),
    # dilation
    pytest.param(lambda: _c(dilation=0), ValueError, r"^conv2d: dilation must be an int >= 1 or a pair of them, got 0$",
                 id="dilation-0"),
    pytest.param(lambda: _c(dilation=(2, -1)), ValueError, r"^conv2d: dilation must be .*got \(2, -1\)$",
                 id="dilation-neg"),
    pytest.param(lambda: _c(dilation=1.5), TypeError, r"^conv2d: dilation must be .*got 1\.5$", id="dilation-float"),
    pytest.param(lambda: _c(dilation=False), TypeError, r"^conv2d: dilation must be .*got False$", id="dilation-bool"),
    pytest.param(lambda: _c(dilation="2"), TypeError, r"^conv2d: dilation must be .*got '2'$", id="dilation-str"),
    # groups
    pytest.param(lambda: _c(groups=0), ValueError, r"^conv2d: groups must be an int >= 1, got 0$", id="groups-0"),
    pytest.param(lambda: _c(groups=True), TypeError, r"^conv2d: groups must be an int >= 1, got True$",
                 id="groups-bool"),
    pytest.param(lambda: _c(groups=NAN), TypeError, r"^conv2d: groups must be an int >= 1, got nan$", id="groups-nan"),
    pytest.param(lambda: F.conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2), tinynet.ShapeError,
                 r"^conv2d: groups=2 must divide both the input channels \(4\) and the output channels \(3\)$",
                 id="groups-not-dividing-out"),
    # inputs
    pytest.param(lambda: F.conv2d(_t(5, 5), _t(3, 2, 3, 3)), tinynet.ShapeError,
                 r"^conv2d expects a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got a 2-D input of shape \(5, 5\)$",
                 id="input-2d"),
    pytest.param(lambda: F.conv2d(_t(1, 2, 5, 5), _t(3, 2, 3)), tinynet.ShapeError,
                 r"^conv2d expects a 4-D weight \(OC, C/groups, kH, kW\), got shape \(3, 2, 3\)$", id="weight-3d"),
    pytest.param(lambda: F.conv2d(_t(1, 2, 5, 5), _t(3, 2, 3), padding="same"), tinynet.ShapeError,
                 r"^conv2d expects a 4-D weight .*got shape \(3, 2, 3\)$", id="weight-3d-same"),
    pytest.param(lambda: F.conv2d(_t(1, 2, 5, 5), _t(3, 2, 3, 3), _t(4)), tinynet.ShapeError,
                 r"^conv2d: bias must have shape \(3,\), got \(4,\)$", id="bias-shape"),
    pytest.param(lambda: F.conv2d(_t(2, 5, 5), _t(3, 3, 3, 3)), tinynet.ShapeError,
                 r"^conv2d: expected input with 3 channels .*got 2 channels", id="unbatched-channels"),
    pytest.param(lambda: F.conv2d(_t(1, 2, 5, 5, dtype="float32"), _t(3, 2, 3, 3)), TypeError,
                 r"^conv2d: inputs must have one dtype, got input float32, weight float64", id="dtype-mixed"),
    pytest.param(lambda: F.conv2d(_t(1, 2, 5, 5), _t(3, 2, 3, 3), _t(3, dtype="float32")), TypeError,
                 r"^conv2d: inputs must have one dtype, .*bias float32", id="dtype-bias"),
    pytest.param(lambda: F.conv2d("x", _t(3, 2, 3, 3)), TypeError, r"^Conv2d: input 0: Tensor: data must be numbers",
                 id="input-str"),
    pytest.param(lambda: F.conv2d(_t(1, 2, 5, 5), None), TypeError, r"^Conv2d: input 1: ", id="weight-None"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments_name_conv2d_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_weight_gradient_is_the_same_whether_the_columns_are_kept_or_rebuilt(monkeypatch):
    # The default rebuilds im2col's columns from the input in backward (less memory kept); keeping them gives
    # the same bits. The kept input is the caller's array: changing it in place before backward is caught.
    from tinynet.functional import conv

    rng = np.random.default_rng(5)
    x = tinynet.tensor(rng.standard_normal((2, 3, 9, 8)).astype(np.float32), requires_grad=True)
    w = tinynet.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    results = []
    for mode in (True, False):
        monkeypatch.setattr(conv, "KEEP_COLUMNS", mode)
        x.grad = w.grad = None
        y = F.conv2d(x, w, padding=1, stride=(2, 1))
        assert (y.grad_fn.col is not None) == mode and (y.grad_fn.x_in is None) == mode
        y.backward(tinynet.tensor(np.ones(y.shape, np.float32)))
        results.append((x.grad.numpy(), w.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(conv, "KEEP_COLUMNS", False)
    image = tinynet.tensor(rng.standard_normal((1, 3, 6, 6)).astype(np.float32))
    y = F.conv2d(image, w, padding=1)
    image.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
