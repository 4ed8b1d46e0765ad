"""max_pool2d: forward against a naive loop reference, gradients, overlapping windows, errors.

Padding must count as -inf (STYLE.md practice 6): an engine that pads with 0
returns 0 for a border window of an all-negative input, which the
all-negative tests below catch in the forward and in the gradient.
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand, tensor, tie_free


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def max_pool2d_reference(x, kernel_size, stride=None, padding=0):
    """y[n, c, oh, ow] = max of the window of x padded with -inf; OH = floor((H + 2p - k) / s) + 1."""
    (kH, kW) = _pair(kernel_size)
    (sH, sW) = _pair(kernel_size if stride is None else stride)
    (pH, pW) = _pair(padding)
    N, C, H, W = x.shape
    x_pad = np.full((N, C, H + 2 * pH, W + 2 * pW), -np.inf)
    x_pad[:, :, pH:pH + H, pW:pW + W] = x
    OH = (H + 2 * pH - kH) // sH + 1
    OW = (W + 2 * pW - kW) // sW + 1
    y = np.empty((N, C, OH, OW))
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    y[n, c, oh, ow] = x_pad[n, c, oh * sH:oh * sH + kH, ow * sW:ow * sW + kW].max()
    return y


# (x shape, kernel_size, stride, padding)
CASES = [
    pytest.param((2, 3, 7, 7), 3, 2, 0, id="alexnet-3x3-s2"),
    pytest.param((1, 2, 13, 13), 3, 2, 0, id="alexnet-13-to-6"),
    pytest.param((1, 2, 8, 8), 3, 2, 0, id="floor-drops-last-row"),
    pytest.param((2, 2, 5, 7), (2, 3), (1, 2), 0, id="non-square"),
    pytest.param((1, 2, 5, 5), 3, 2, 1, id="padding1"),
    pytest.param((1, 2, 6, 5), 2, 1, 1, id="padding1-k2-s1"),
    pytest.param((1, 1, 4, 6), (2, 4), (2, 2), (1, 2), id="padding-pair"),
    pytest.param((2, 2, 6, 6), 2, None, 0, id="stride-defaults-to-kernel"),
    pytest.param((1, 2, 7, 5), 3, None, 0, id="stride-default-floor"),
    pytest.param((1, 2, 3, 4), (3, 4), None, 0, id="global-window"),
    pytest.param((1, 2, 7, 8), 2, 3, 1, id="stride-larger-than-kernel"),
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_max_pool2d_forward_matches_loop_reference(device, rng, x_shape, kernel, stride, padding):
    """Forward equals the -inf-padded, floor-sized window maximum for every layout case."""
    x = rand(rng, x_shape, device, requires_grad=False)
    y = F.max_pool2d(x, kernel, stride, padding)
    expected = max_pool2d_reference(host(x), kernel, stride, padding)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(host(y), expected)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_max_pool2d_all_negative_input(device, rng, x_shape, kernel, stride, padding):
    """All-negative inputs pool to negative maxima: padding is -inf, never 0."""
    x = rand(rng, x_shape, device, requires_grad=False, low=-2.0, high=-1.0)
    y = host(F.max_pool2d(x, kernel, stride, padding))
    assert np.all(y < 0)
    np.testing.assert_array_equal(y, max_pool2d_reference(host(x), kernel, stride, padding))


def test_max_pool2d_corner_window_with_one_real_cell(device, rng):
    """kernel 2, stride 2, padding 1 on 4x4: the corner windows hold one real cell each, whatever its sign."""
    x_host = -rng.uniform(1.0, 2.0, size=(1, 1, 4, 4))
    y = host(F.max_pool2d(tensor(x_host, device), 2, 2, 1))
    assert y.shape == (1, 1, 3, 3)
    assert y[0, 0, 0, 0] == x_host[0, 0, 0, 0]
    assert y[0, 0, 0, 2] == x_host[0, 0, 0, 3]
    assert y[0, 0, 2, 0] == x_host[0, 0, 3, 0]
    assert y[0, 0, 2, 2] == x_host[0, 0, 3, 3]


def test_max_pool2d_float32_keeps_dtype(device, rng):
    """A float32 input gives a float32 output (with -inf padding in the input's dtype)."""
    x = rand(rng, (1, 2, 5, 5), device, requires_grad=False, dtype="float32", low=-2.0, high=-1.0)
    y = F.max_pool2d(x, 3, 2, 1)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(host(y), max_pool2d_reference(host(x).astype(np.float64), 3, 2, 1))


@pytest.mark.parametrize("x_shape, kernel, stride, padding", [
    pytest.param((2, 2, 7, 7), 3, 2, 0, id="alexnet-3x3-s2"),
    pytest.param((1, 2, 5, 6), 3, 2, 1, id="overlap-padding1"),
    pytest.param((1, 2, 5, 7), (3, 2), (1, 2), (1, 1), id="non-square-overlap-padding"),
    pytest.param((1, 2, 4, 6), 2, None, 0, id="stride-default"),
    pytest.param((1, 1, 7, 8), 2, 3, 1, id="stride-larger-than-kernel"),
])
def test_max_pool2d_gradcheck_tie_free(device, rng, x_shape, kernel, stride, padding):
    """On tie-free, mostly negative inputs the gradient (summed over overlapping windows) is exact."""
    x = tie_free(rng, x_shape, device)
    assert tinynet.gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), [x])


def test_max_pool2d_gradcheck_all_negative_with_padding(device, rng):
    """All-negative, tie-free input with padding: gradient reaches real cells, not the padding."""
    x = tie_free(rng, (1, 1, 4, 4), device, offset=-1.5)
    assert host(x).max() < 0
    assert tinynet.gradcheck(lambda x: F.max_pool2d(x, 2, 2, 1), [x])
    # Gradient mass is conserved: every output's gradient lands on some input cell.
    y = F.max_pool2d(x, 2, 2, 1)
    x.grad = None
    y.backward(tensor(np.ones(y.shape), device))
    assert host(x.grad).sum() == pytest.approx(float(np.prod(y.shape)))


def test_max_pool2d_shared_max_gets_sum_of_gradients(device):
    """3x3 stride-2 windows on 5x5 all share the center cell; as their max it receives g00+g01+g10+g11."""
    x_host = -np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5) - 1.0  # all negative, distinct
    x_host[0, 0, 2, 2] = -0.5  # the largest value, inside all four windows
    x = tensor(x_host, device, requires_grad=True)
    y = F.max_pool2d(x, 3, 2)
    np.testing.assert_array_equal(host(y), np.full((1, 1, 2, 2), -0.5))
    g = np.array([[[[1.0, 2.0], [4.0, 8.0]]]])
    y.backward(tensor(g, device))
    expected = np.zeros((1, 1, 5, 5))
    expected[0, 0, 2, 2] = 15.0
    np.testing.assert_array_equal(host(x.grad), expected)


def test_max_pool2d_overlap_splits_between_different_winners(device):
    """Two overlapping windows on a 3x5 strip: one cell wins both (gets 3 + 5), then each wins its own."""
    x_host = np.array([[[[-9.0, -8.0, -7.0, -6.0, -5.0],
                         [-4.0, -3.0, -0.1, -2.0, -1.5],
                         [-9.5, -8.5, -7.5, -6.5, -5.5]]]])
    x = tensor(x_host, device, requires_grad=True)
    y = F.max_pool2d(x, 3, 2)  # windows over columns 0-2 and 2-4, sharing column 2
    np.testing.assert_array_equal(host(y), [[[[-0.1, -0.1]]]])
    y.backward(tensor(np.array([[[[3.0, 5.0]]]]), device))
    expected = np.zeros_like(x_host)
    expected[0, 0, 1, 2] = 8.0
    np.testing.assert_array_equal(host(x.grad), expected)

    # Move the maximum of the right window off the shared column: the gradients separate.
    x_host[0, 0, 0, 4] = 0.5
    x = tensor(x_host, device, requires_grad=True)
    y = F.max_pool2d(x, 3, 2)
    np.testing.assert_array_equal(host(y), [[[[-0.1, 0.5]]]])
    y.backward(tensor(np.array([[[[3.0, 5.0]]]]), device))
    expected = np.zeros_like(x_host)
    expected[0, 0, 1, 2] = 3.0
    expected[0, 0, 0, 4] = 5.0
    np.testing.assert_array_equal(host(x.grad), expected)


def test_max_pool2d_ties_send_each_gradient_to_one_cell(device):
    """With a constant input every window ties: each output's gradient goes to exactly one cell, none is lost."""
    x = tensor(np.zeros((1, 1, 4, 4)), device, requires_grad=True)
    y = F.max_pool2d(x, 2)
    g = np.array([[[[1.0, 2.0], [4.0, 8.0]]]])
    y.backward(tensor(g, device))
    gx = host(x.grad)
    for oh in range(2):
        for ow in range(2):
            block = gx[0, 0, 2 * oh:2 * oh + 2, 2 * ow:2 * ow + 2]
            assert np.count_nonzero(block) == 1
            assert block.sum() == g[0, 0, oh, ow]


# --- errors -------------------------------------------------------------------------------------------------

def test_max_pool2d_rejects_3d_input(device, rng):
    """A (C, H, W) input: ShapeError naming max_pool2d and the dimensionality."""
    x = rand(rng, (2, 5, 5), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.max_pool2d(x, 2)
    message = str(info.value)
    assert "max_pool2d" in message and "3-D" in message and "(2, 5, 5)" in message


@pytest.mark.parametrize("x_shape, kernel, padding, padded", [
    pytest.param((1, 1, 2, 2), 3, 0, "2x2", id="kernel3-on-2x2"),
    pytest.param((1, 1, 2, 6), 5, 1, "4x8", id="padded-still-too-small"),
    pytest.param((1, 1, 6, 2), (2, 3), 0, "6x2", id="too-wide"),
])
def test_max_pool2d_rejects_window_larger_than_input(device, rng, x_shape, kernel, padding, padded):
    """A window that doesn't fit the padded input: ShapeError naming max_pool2d and the sizes."""
    x = rand(rng, x_shape, device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        F.max_pool2d(x, kernel, padding=padding)
    message = str(info.value)
    assert "max_pool2d" in message and padded in message
    kH, kW = _pair(kernel)
    assert f"{kH}x{kW}" in message


@pytest.mark.parametrize("kernel, padding", [(3, 2), (2, 2), ((4, 2), (1, 2))])
def test_max_pool2d_rejects_padding_over_half_the_kernel(device, rng, kernel, padding):
    """Padding larger than half the kernel would make all-padding windows: ValueError naming the padding."""
    x = rand(rng, (1, 1, 6, 6), device, requires_grad=False)
    with pytest.raises(ValueError, match="padding"):
        F.max_pool2d(x, kernel, padding=padding)


def test_max_pool2d_allows_padding_of_exactly_half(device, rng):
    """padding == kernel/2 (as PyTorch allows) is accepted and matches the reference."""
    x = rand(rng, (1, 1, 4, 4), device, requires_grad=False, low=-2.0, high=-1.0)
    y = F.max_pool2d(x, 2, 2, 1)
    np.testing.assert_array_equal(host(y), max_pool2d_reference(host(x), 2, 2, 1))


# --- adaptive average pooling ----------------------------------------------------------------------


def _adaptive_avg_reference(x, out_h, out_w):
    """Loop reference: output cell (i, j) averages rows [floor(i*H/OH), ceil((i+1)*H/OH)) and likewise columns."""
    N, C, H, W = x.shape
    y = np.zeros((N, C, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            h0, h1 = (i * H) // out_h, -((-(i + 1) * H) // out_h)
            w0, w1 = (j * W) // out_w, -((-(j + 1) * W) // out_w)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


@pytest.mark.parametrize("in_hw, out_hw", [((13, 13), (6, 6)), ((6, 6), (6, 6)), ((1, 1), (6, 6)),
                                          ((7, 5), (3, 4)), ((10, 9), (1, 1))])
def test_adaptive_avg_pool2d_matches_reference_and_gradcheck(device, rng, in_hw, out_hw):
    x = rand(rng, (2, 3, *in_hw), device)
    y = F.adaptive_avg_pool2d(x, out_hw)
    np.testing.assert_allclose(host(y), _adaptive_avg_reference(host(x), *out_hw), rtol=1e-12, atol=1e-12)
    assert tinynet.gradcheck(lambda x: F.adaptive_avg_pool2d(x, out_hw), [x])


def test_adaptive_avg_pool2d_same_size_is_identity_and_float32_stays_float32(device, rng):
    x = tensor(rng.standard_normal((1, 2, 6, 6)), device, dtype="float32")
    y = F.adaptive_avg_pool2d(x, 6)
    assert y.dtype == np.float32
    np.testing.assert_allclose(host(y), host(x), rtol=1e-6)


def test_max_pool2d_keeps_no_argmax_when_no_backward_follows(device, rng):
    """Under no_grad the op keeps nothing for a backward (and skips computing the argmax); same output."""
    from tinynet.functional.pool import MaxPool2d

    x = tie_free(rng, (2, 3, 7, 7), device)
    with_grad = MaxPool2d(3, 2)
    y = with_grad(x)
    assert with_grad.argmax is not None
    op = MaxPool2d(3, 2)
    with tinynet.no_grad():
        y_inference = op(x)
    assert op.argmax is None
    np.testing.assert_array_equal(host(y_inference), host(y))
