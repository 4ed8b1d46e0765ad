"""conv2d: forward against a naive loop reference, gradients against central differences, errors.

Every shape/stride/padding/groups case runs through the same reference
(explicit loops over n, oc, oh, ow) and the same float64 gradient check.
"""
import re

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand, tensor


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_reference(x, w, b=None, stride=1, padding=0, groups=1):
    """Cross-correlation by definition, one output element at a time.

    y[n, oc, oh, ow] = b[oc] + sum_{c, i, j} x_pad[n, g*Cg + c, oh*sH + i, ow*sW + j] * w[oc, c, i, j]
    where g = oc // (OC / groups) is the group of output channel oc and Cg = C / groups.
    """
    N, C, H, W = x.shape
    OC, Cg, kH, kW = w.shape
    (sH, sW), (pH, pW) = _pair(stride), _pair(padding)
    x_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=np.float64)
    x_pad[:, :, pH:pH + H, pW:pW + W] = x
    OH = (H + 2 * pH - kH) // sH + 1
    OW = (W + 2 * pW - kW) // sW + 1
    out_per_group = OC // groups
    y = np.zeros((N, OC, OH, OW), dtype=np.float64)
    for n in range(N):
        for oc in range(OC):
            g = oc // out_per_group
            for oh in range(OH):
                for ow in range(OW):
                    window = x_pad[n, g * Cg:(g + 1) * Cg, oh * sH:oh * sH + kH, ow * sW:ow * sW + kW]
                    y[n, oc, oh, ow] = np.sum(window * w[oc]) + (b[oc] if b is not None else 0.0)
    return y


def conv2d_weight_grad_reference(x, gy, w_shape, stride=1, padding=0, groups=1):
    """dL/dw[oc, c, i, j] = sum_{n, oh, ow} gy[n, oc, oh, ow] * x_pad[n, g*Cg + c, oh*sH + i, ow*sW + j]."""
    N, C, H, W = x.shape
    OC, Cg, kH, kW = w_shape
    (sH, sW), (pH, pW) = _pair(stride), _pair(padding)
    x_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dtype=np.float64)
    x_pad[:, :, pH:pH + H, pW:pW + W] = x
    OH, OW = gy.shape[2:]
    out_per_group = OC // groups
    gw = np.zeros(w_shape, dtype=np.float64)
    for n in range(N):
        for oc in range(OC):
            g = oc // out_per_group
            for oh in range(OH):
                for ow in range(OW):
                    window = x_pad[n, g * Cg:(g + 1) * Cg, oh * sH:oh * sH + kH, ow * sW:ow * sW + kW]
                    gw[oc] += gy[n, oc, oh, ow] * window
    return gw


# (x shape, weight shape, stride, padding, groups); each case runs with and without bias.
CASES = [
    pytest.param((2, 3, 5, 5), (4, 3, 3, 3), 1, 0, 1, id="plain"),
    pytest.param((2, 2, 7, 7), (3, 2, 3, 3), 2, 0, 1, id="stride2"),
    pytest.param((1, 2, 7, 8), (2, 2, 3, 2), (3, 2), 0, 1, id="stride-pair-floor"),
    pytest.param((2, 2, 4, 4), (3, 2, 3, 3), 1, 1, 1, id="padding1"),
    pytest.param((1, 2, 4, 5), (2, 2, 3, 2), 1, (2, 1), 1, id="padding-pair"),
    pytest.param((2, 4, 5, 5), (6, 2, 3, 3), 1, 1, 2, id="groups2"),
    pytest.param((2, 2, 5, 7), (3, 2, 2, 4), 1, 0, 1, id="non-square"),
    pytest.param((2, 2, 4, 3), (3, 2, 4, 3), 1, 0, 1, id="kernel-equals-image"),
    pytest.param((1, 2, 3, 3), (2, 2, 5, 5), 1, 1, 1, id="kernel-equals-padded-image"),
    pytest.param((1, 3, 4, 4), (2, 3, 3, 3), 1, 0, 1, id="batch-of-one"),
    pytest.param((1, 4, 5, 6), (4, 2, 3, 2), (2, 2), (1, 0), 2, id="all-combined"),
    pytest.param((1, 2, 5, 5), (3, 2, 1, 1), 2, 0, 1, id="1x1-stride2"),
    pytest.param((1, 2, 5, 6), (2, 2, 2, 2), 3, 1, 1, id="stride-larger-than-kernel"),
]


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, groups", CASES)
def test_conv2d_forward_matches_loop_reference(device, rng, x_shape, w_shape, stride, padding, groups, with_bias):
    """Forward equals the definition of cross-correlation, element by element, for every layout case."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, w_shape, device, requires_grad=False)
    b = rand(rng, (w_shape[0],), device, requires_grad=False) if with_bias else None
    y = F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    expected = conv2d_reference(host(x), host(w), host(b) if with_bias else None, stride, padding, groups)
    assert y.shape == expected.shape
    assert y.dtype == np.float64
    np.testing.assert_allclose(host(y), expected, rtol=1e-12, atol=1e-12)


def test_conv2d_float32_keeps_dtype(device, rng):
    """A float32 convolution returns float32 values close to the float64 reference."""
    x = rand(rng, (2, 3, 6, 5), device, requires_grad=False, dtype="float32")
    w = rand(rng, (4, 3, 3, 3), device, requires_grad=False, dtype="float32")
    b = rand(rng, (4,), device, requires_grad=False, dtype="float32")
    y = F.conv2d(x, w, b, stride=2, padding=1)
    assert y.dtype == np.float32
    expected = conv2d_reference(host(x).astype(np.float64), host(w).astype(np.float64),
                                host(b).astype(np.float64), 2, 1)
    np.testing.assert_allclose(host(y), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, groups", CASES)
def test_conv2d_gradcheck(device, rng, x_shape, w_shape, stride, padding, groups, with_bias):
    """Analytic dL/dx, dL/dw (and dL/db) agree with central differences in float64."""
    x = rand(rng, x_shape, device)
    w = rand(rng, w_shape, device)
    inputs = [x, w]
    if with_bias:
        inputs.append(rand(rng, (w_shape[0],), device))

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)

    assert tinynet.gradcheck(fn, inputs)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, groups", [
    pytest.param((2, 2, 5, 5), (3, 2, 3, 3), 2, 1, 1, id="stride2-padding1"),
    pytest.param((1, 4, 4, 5), (4, 2, 2, 3), 1, 0, 2, id="groups2"),
])
def test_conv2d_input_without_grad_gets_none(device, rng, x_shape, w_shape, stride, padding, groups):
    """An input that needs no gradient (the image fed to layer 1) gets x.grad None; dW and db stay exact."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, w_shape, device)
    b = rand(rng, (w_shape[0],), device)
    y = F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    gy = rng.standard_normal(y.shape)
    y.backward(tensor(gy, device))
    assert x.grad is None
    expected_gw = conv2d_weight_grad_reference(host(x), gy, w_shape, stride, padding, groups)
    np.testing.assert_allclose(host(w.grad), expected_gw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(host(b.grad), gy.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-12)
    # And the same through the numerical check, with only w and b perturbed.
    assert tinynet.gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups), [x, w, b]
    )


def test_conv2d_frozen_weight_still_gives_input_grad(device, rng):
    """With a weight that needs no gradient, dL/dx is still correct and w.grad stays None."""
    x = rand(rng, (2, 2, 5, 4), device)
    w = rand(rng, (3, 2, 3, 2), device, requires_grad=False)
    assert tinynet.gradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1), [x, w])
    assert w.grad is None


# --- errors -------------------------------------------------------------------------------------------------

def _has_number(message, number):
    return re.search(rf"(?<![\d.]){number}(?![\d.])", message) is not None


def test_conv2d_rejects_3d_input(device, rng):
    """A single image without a batch dimension: the message names conv2d, 4-D, and the 3-D shape."""
    x = rand(rng, (3, 5, 6), device, requires_grad=False)
    w = rand(rng, (2, 3, 3, 3), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.conv2d(x, w)
    message = str(info.value)
    assert "conv2d" in message
    assert "4-D" in message and "3-D" in message
    assert "(3, 5, 6)" in message


@pytest.mark.parametrize("x_shape, w_shape, padding, padded", [
    pytest.param((1, 1, 4, 4), (1, 1, 5, 5), 0, "4x4", id="no-padding"),
    pytest.param((1, 1, 4, 6), (1, 1, 7, 3), 1, "6x8", id="padding1-too-tall"),
])
def test_conv2d_rejects_kernel_larger_than_padded_image(device, rng, x_shape, w_shape, padding, padded):
    """A kernel that doesn't fit the padded image: the message names conv2d, the kernel and the padded size."""
    x = rand(rng, x_shape, device, requires_grad=False)
    w = rand(rng, w_shape, device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.conv2d(x, w, padding=padding)
    message = str(info.value)
    assert "conv2d" in message
    assert f"{w_shape[2]}x{w_shape[3]}" in message
    assert padded in message


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


def test_conv2d_shape_error_is_a_value_error(device, rng):
    """ShapeError is a ValueError, so generic handlers catch it too."""
    x = rand(rng, (1, 3, 5, 5), device, requires_grad=False)
    w = rand(rng, (4, 2, 3, 3), device, requires_grad=False)
    with pytest.raises(ValueError):
        F.conv2d(x, w)


def test_mixed_dtypes_are_refused(rng):
    """A float64 image fed to float32 weights would silently run in float64 (twice the memory)."""
    x = tensor(rng.standard_normal((1, 2, 5, 5)), dtype="float64")
    w = tensor(rng.standard_normal((3, 2, 3, 3)), dtype="float32")
    with pytest.raises(TypeError, match="conv2d: inputs must have one dtype.*input float64.*weight float32"):
        F.conv2d(x, w)
