"""Pooling ops (tinynet/functional/pool.py): max_pool2d, avg_pool2d, adaptive_max_pool2d and
adaptive_avg_pool2d against the reference loops (tinynet/functional/reference/pool.py) and PyTorch's
values (tests/fixtures/torch_pool.npz, written by tools/torch_reference/pool.py), float64 gradient
checks, unbatched inputs, and bad arguments.

Max-pool padding must count as -inf (STYLE.md practice 6): an engine that pads with 0 returns 0 for
a border window of an all-negative input, which the all-negative tests below catch in the forward
and in the gradient.
"""
import json

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor, tie_free
from tinynet.functional import reference
from tinynet.functional.pool import AdaptiveMaxPool2d, MaxPool2d

NAN = float("nan")


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# --- max_pool2d: forward -------------------------------------------------------------------------------------

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

# (x shape, kernel_size, stride, padding, dilation, ceil_mode)
OPTION_CASES = [
    pytest.param((1, 2, 9, 8), 3, 1, 1, 2, False, id="dilation2"),
    pytest.param((2, 1, 10, 9), (3, 2), (2, 1), 1, (2, 3), False, id="dilation-pairs"),
    pytest.param((1, 2, 8, 8), 3, 2, 0, 1, True, id="ceil-hangs-past-edge"),
    pytest.param((1, 2, 6, 7), 3, 2, 1, 1, True, id="ceil-padding"),
    pytest.param((1, 1, 7, 8), 2, 3, 0, 1, True, id="ceil-stride-over-kernel"),
    pytest.param((1, 1, 9, 10), 2, 3, 1, 2, True, id="ceil-dilation"),
    pytest.param((1, 1, 2, 2), 3, None, 0, 1, True, id="ceil-window-over-input"),
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_max_pool2d_forward_matches_loop_reference(device, rng, x_shape, kernel, stride, padding):
    """Forward equals the -inf-padded, floor-sized window maximum for every layout case."""
    x = rand(rng, x_shape, device, requires_grad=False)
    y = F.max_pool2d(x, kernel, stride, padding)
    expected, _ = reference.max_pool2d(host(x), kernel, stride, padding)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(host(y), expected)


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil_mode", OPTION_CASES)
def test_max_pool2d_dilation_ceil_mode_and_indices_match_the_reference(device, rng, x_shape, kernel, stride, padding,
                                                                       dilation, ceil_mode):
    """Values and PyTorch's indices (int64, h*W + w in the unpadded plane) for dilated and ceil-mode windows."""
    x = tie_free(rng, x_shape, device, requires_grad=False)
    y, indices = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    y_ref, idx_ref = reference.max_pool2d(host(x), kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(host(y), y_ref)
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_array_equal(host(indices), idx_ref)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_max_pool2d_all_negative_input(device, rng, x_shape, kernel, stride, padding):
    """All-negative inputs pool to negative maxima: padding is -inf, never 0."""
    x = rand(rng, x_shape, device, requires_grad=False, low=-2.0, high=-1.0)
    y = host(F.max_pool2d(x, kernel, stride, padding))
    assert np.all(y < 0)
    np.testing.assert_array_equal(y, reference.max_pool2d(host(x), kernel, stride, padding)[0])


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
    np.testing.assert_array_equal(host(y), reference.max_pool2d(host(x).astype(np.float64), 3, 2, 1)[0])


def test_max_pool2d_ceil_mode_adds_the_hanging_window(device, rng):
    """8x8, 3x3 stride 2: floor gives 3 windows per axis, ceil_mode a 4th over rows 6, 7 (and one past the edge)."""
    x = tie_free(rng, (1, 1, 8, 8), device, requires_grad=False)
    floor, ceil = F.max_pool2d(x, 3, 2), F.max_pool2d(x, 3, 2, ceil_mode=True)
    assert floor.shape == (1, 1, 3, 3) and ceil.shape == (1, 1, 4, 4)
    np.testing.assert_array_equal(host(ceil)[..., :3, :3], host(floor))
    assert host(ceil)[0, 0, 3, 3] == host(x)[0, 0, 6:, 6:].max()


def test_max_pool2d_allows_padding_of_exactly_half(device, rng):
    """padding == kernel/2 (as PyTorch allows) is accepted and matches the reference."""
    x = rand(rng, (1, 1, 4, 4), device, requires_grad=False, low=-2.0, high=-1.0)
    y = F.max_pool2d(x, 2, 2, 1)
    np.testing.assert_array_equal(host(y), reference.max_pool2d(host(x), 2, 2, 1)[0])


# --- max_pool2d: gradients -----------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil_mode", [
    pytest.param((2, 2, 7, 7), 3, 2, 0, 1, False, id="alexnet-3x3-s2"),
    pytest.param((1, 2, 5, 6), 3, 2, 1, 1, False, id="overlap-padding1"),
    pytest.param((1, 2, 5, 7), (3, 2), (1, 2), (1, 1), 1, False, id="non-square-overlap-padding"),
    pytest.param((1, 2, 4, 6), 2, None, 0, 1, False, id="stride-default"),
    pytest.param((1, 1, 7, 8), 2, 3, 1, 1, False, id="stride-larger-than-kernel"),
    pytest.param((1, 2, 9, 8), 3, 1, 1, 2, False, id="dilation2-overlap"),
    pytest.param((1, 1, 10, 9), (3, 2), (2, 1), 1, (2, 3), False, id="dilation-pairs"),
    pytest.param((1, 2, 8, 8), 3, 2, 0, 1, True, id="ceil"),
    pytest.param((1, 2, 6, 7), 3, 2, 1, 1, True, id="ceil-padding"),
    pytest.param((1, 1, 9, 10), 2, 3, 1, 2, True, id="ceil-dilation"),
    pytest.param((3, 7, 7), 3, 2, 1, 1, True, id="unbatched-ceil-padding"),
])
def test_max_pool2d_gradcheck_tie_free(device, rng, x_shape, kernel, stride, padding, dilation, ceil_mode):
    """On tie-free, mostly negative inputs the gradient (summed over overlapping windows) is exact."""
    x = tie_free(rng, x_shape, device)
    assert tinynet.gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode), [x])


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


def test_max_pool2d_gradient_goes_where_the_indices_say(device, rng):
    """With return_indices, dx is the upstream gradient scattered to the returned positions."""
    x = tie_free(rng, (2, 2, 9, 8), device)
    y, indices = F.max_pool2d(x, 3, 2, 1, 2, True, return_indices=True)
    g = rng.standard_normal(y.shape)
    y.backward(tensor(g, device))
    np.testing.assert_allclose(host(x.grad), reference.max_pool2d_backward(g, host(indices), x.shape),
                               rtol=1e-12, atol=1e-15)


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


def test_max_pool2d_keeps_no_argmax_when_no_backward_follows(device, rng):
    """Under no_grad the op keeps nothing for a backward (and skips computing the argmax); same output."""
    x = tie_free(rng, (2, 3, 7, 7), device)
    with_grad = MaxPool2d(3, 2)
    y = with_grad(x)
    assert with_grad.argmax is not None
    op = MaxPool2d(3, 2)
    with tinynet.no_grad():
        y_inference = op(x)
    assert op.argmax is None
    np.testing.assert_array_equal(host(y_inference), host(y))
    with tinynet.no_grad():  # indices asked for: the argmax is computed, handed out, not kept
        y_again, indices = F.max_pool2d(x, 3, 2, return_indices=True)
    np.testing.assert_array_equal(host(y_again), host(y))
    np.testing.assert_array_equal(host(indices), reference.max_pool2d(host(x), 3, 2)[1])


# --- unbatched inputs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", [
    pytest.param(lambda x: F.max_pool2d(x, 3, 2, 1, 2, True, return_indices=True), id="max_pool2d"),
    pytest.param(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), id="avg_pool2d"),
    pytest.param(lambda x: F.adaptive_max_pool2d(x, (3, None), return_indices=True), id="adaptive_max_pool2d"),
    pytest.param(lambda x: F.adaptive_avg_pool2d(x, (None, 4)), id="adaptive_avg_pool2d"),
])
def test_unbatched_input_is_a_batch_of_one(device, rng, pool):
    """(C, H, W) -> (C, OH, OW), values, indices and gradients those of the (1, C, H, W) input."""
    x_host = tie_free(rng, (3, 9, 8)).numpy()
    x3, x4 = tensor(x_host, device, requires_grad=True), tensor(x_host[None], device, requires_grad=True)
    out3, out4 = pool(x3), pool(x4)
    out3, out4 = (out3 if isinstance(out3, tuple) else (out3,)), (out4 if isinstance(out4, tuple) else (out4,))
    assert len(out3) == len(out4)
    for a, b in zip(out3, out4):
        assert a.shape == b.shape[1:]
        np.testing.assert_array_equal(host(a), host(b)[0])
    g = rng.standard_normal(out3[0].shape)
    out3[0].backward(tensor(g, device))
    out4[0].backward(tensor(g[None], device))
    assert x3.grad.shape == (3, 9, 8)
    np.testing.assert_array_equal(host(x3.grad), host(x4.grad)[0])
    assert tinynet.gradcheck(lambda x: _first(pool(x)), [tensor(x_host, device, requires_grad=True)])


def _first(out):
    return out[0] if isinstance(out, tuple) else out


# --- avg_pool2d ----------------------------------------------------------------------------------------------

# (x shape, kernel_size, stride, padding, ceil_mode)
AVG_CASES = [
    pytest.param((1, 2, 7, 6), 3, 2, 1, False, id="k3s2p1"),
    pytest.param((1, 2, 7, 6), 3, 2, 1, True, id="k3s2p1-ceil"),
    pytest.param((2, 1, 5, 5), 2, 2, 1, True, id="k2s2p1-ceil-hangs-past-padding"),
    pytest.param((1, 1, 4, 4), 3, 2, 0, True, id="ceil-hangs-past-input"),
    pytest.param((1, 2, 6, 9), (2, 3), (1, 2), (1, 1), False, id="non-square-overlap"),
    pytest.param((2, 2, 6, 7), 2, None, 0, False, id="stride-default"),
]
DIVISOR_RULES = [pytest.param(True, None, id="count-include-pad"), pytest.param(False, None, id="count-input"),
                 pytest.param(True, 5, id="override-5"), pytest.param(False, -2, id="override--2")]


@pytest.mark.parametrize("count_include_pad, divisor_override", DIVISOR_RULES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, ceil_mode", AVG_CASES)
def test_avg_pool2d_matches_reference_and_gradcheck(device, rng, x_shape, kernel, stride, padding, ceil_mode,
                                                    count_include_pad, divisor_override):
    """Sums over the window divided by PyTorch's divisor; the gradient shares each output's gradient out."""
    x = rand(rng, x_shape, device)
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    y = F.avg_pool2d(x, *args)
    np.testing.assert_allclose(host(y), reference.avg_pool2d(host(x), *args), rtol=1e-14, atol=1e-15)
    g = rng.standard_normal(y.shape)
    y.backward(tensor(g, device))
    np.testing.assert_allclose(host(x.grad), reference.avg_pool2d_backward(g, x_shape, *args), rtol=1e-14, atol=1e-15)
    assert tinynet.gradcheck(lambda x: F.avg_pool2d(x, *args), [rand(rng, x_shape, device)])


def test_avg_pool2d_float32_stays_float32_and_keeps_only_the_divisor(device, rng):
    x = rand(rng, (2, 3, 6, 6), device, dtype="float32")
    y = F.avg_pool2d(x, 3, 2, 1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(host(y), reference.avg_pool2d(host(x).astype(np.float64), 3, 2, 1), rtol=1e-6)
    assert y.grad_fn.divisor.shape == (3, 3) and not hasattr(y.grad_fn, "x")
    with tinynet.no_grad():
        op = y.grad_fn.__class__(3, 2, 1)
        op(x)
    assert not hasattr(op, "divisor")


def test_avg_pool2d_of_ones_shows_the_divisor(device):
    """On ones the output is (real cells) / divisor: 1 inside, smaller where the divisor counts padding."""
    ones = tensor(np.ones((1, 1, 4, 4)), device)
    np.testing.assert_array_equal(host(F.avg_pool2d(ones, 3, 2, 0, ceil_mode=True))[0, 0], np.ones((2, 2)))
    np.testing.assert_array_equal(host(F.avg_pool2d(ones, 2, 2, 1))[0, 0],
                                  [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    np.testing.assert_array_equal(host(F.avg_pool2d(ones, 2, 2, 1, count_include_pad=False)), np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(host(F.avg_pool2d(ones, 2, 2, 1, divisor_override=2))[0, 0, 1], [1.0, 2.0, 1.0])


# --- adaptive pooling ----------------------------------------------------------------------------------------

ADAPTIVE_CASES = [((13, 13), (6, 6)), ((6, 6), (6, 6)), ((1, 1), (6, 6)), ((7, 5), (3, 4)), ((10, 9), (1, 1)),
                  ((2, 3), (5, 4))]


@pytest.mark.parametrize("in_hw, out_hw", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d_matches_reference_and_gradcheck(device, rng, in_hw, out_hw):
    x = rand(rng, (2, 3, *in_hw), device)
    y = F.adaptive_avg_pool2d(x, out_hw)
    np.testing.assert_allclose(host(y), reference.adaptive_avg_pool2d(host(x), out_hw), rtol=1e-12, atol=1e-12)
    assert tinynet.gradcheck(lambda x: F.adaptive_avg_pool2d(x, out_hw), [x])


@pytest.mark.parametrize("in_hw, out_hw", ADAPTIVE_CASES)
def test_adaptive_max_pool2d_matches_reference_and_gradcheck(device, rng, in_hw, out_hw):
    """Overlapping bins (7 -> 3) and repeated cells (2 -> 5) can share a winner: its gradient is the sum."""
    x = tie_free(rng, (2, 3, *in_hw), device)
    y, indices = F.adaptive_max_pool2d(x, out_hw, return_indices=True)
    y_ref, idx_ref = reference.adaptive_max_pool2d(host(x), out_hw)
    np.testing.assert_array_equal(host(y), y_ref)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(host(indices), idx_ref)
    assert tinynet.gradcheck(lambda x: F.adaptive_max_pool2d(x, out_hw), [x])


@pytest.mark.parametrize("op", [F.adaptive_avg_pool2d, F.adaptive_max_pool2d])
def test_adaptive_none_keeps_that_dimension(device, rng, op):
    x = rand(rng, (2, 3, 7, 5), device, requires_grad=False)
    assert op(x, (None, 2)).shape == (2, 3, 7, 2)
    assert op(x, (3, None)).shape == (2, 3, 3, 5)
    assert op(x, [None, None]).shape == (2, 3, 7, 5)
    np.testing.assert_array_equal(host(op(x, (None, None))), host(x))  # one cell per bin: the identity


def test_adaptive_avg_pool2d_same_size_is_identity_and_float32_stays_float32(device, rng):
    x = tensor(rng.standard_normal((1, 2, 6, 6)), device, dtype="float32")
    y = F.adaptive_avg_pool2d(x, 6)
    assert y.dtype == np.float32
    np.testing.assert_allclose(host(y), host(x), rtol=1e-6)


def test_adaptive_max_pool2d_hands_out_its_own_indices(device, rng):
    """The indices returned are a copy: changing them does not change where backward sends gradients."""
    x = tie_free(rng, (1, 2, 7, 5), device)
    y, indices = F.adaptive_max_pool2d(x, (3, 2), return_indices=True)
    expected = reference.max_pool2d_backward(np.ones(y.shape), host(indices), x.shape)
    indices.data[...] = 0
    y.backward(tensor(np.ones(y.shape), device))
    np.testing.assert_array_equal(host(x.grad), expected)
    op = AdaptiveMaxPool2d(2)
    with tinynet.no_grad():
        op(x)
    assert not hasattr(op, "indices")


# --- PyTorch's values ----------------------------------------------------------------------------------------

FIXTURE = torch_fixture("pool")
FIXTURE_CASES = json.loads(str(FIXTURE["cases"]))


def test_the_fixture_covers_every_option():
    ops = {c["op"] for c in FIXTURE_CASES}
    assert ops == {"max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d"}
    used = {(c["op"], k, json.dumps(v)) for c in FIXTURE_CASES for k, v in c["args"].items()}
    for option in [("max_pool2d", "dilation", "2"), ("max_pool2d", "ceil_mode", "true"),
                   ("avg_pool2d", "ceil_mode", "true"), ("avg_pool2d", "count_include_pad", "false"),
                   ("avg_pool2d", "divisor_override", "-2"), ("adaptive_max_pool2d", "output_size", "[null, 2]")]:
        assert option in used, option
    assert any(FIXTURE[f"{c['name']}__x"].ndim == 3 for c in FIXTURE_CASES if c["op"] == "avg_pool2d")
    assert str(FIXTURE["torch_version"]).startswith("2.")


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=[c["name"] for c in FIXTURE_CASES])
def test_matches_pytorch(device, case):
    """Output, indices and gradient equal PyTorch's at 1e-12 in float64 (NaN where PyTorch has NaN)."""
    name, args = case["name"], dict(case["args"])
    if isinstance(args.get("output_size"), list):
        args["output_size"] = tuple(args["output_size"])
    x = tensor(FIXTURE[f"{name}__x"], device, requires_grad=case["grad"])
    op = getattr(F, case["op"])
    if case["op"] in ("max_pool2d", "adaptive_max_pool2d"):
        y, indices = op(x, return_indices=True, **args)
        np.testing.assert_array_equal(host(indices), FIXTURE[f"{name}__indices"])
    else:
        y = op(x, **args)
    np.testing.assert_allclose(host(y), FIXTURE[f"{name}__y"], rtol=1e-12, atol=1e-12)
    if case["grad"]:
        y.backward(tensor(FIXTURE[f"{name}__gy"], device))
        np.testing.assert_allclose(host(x.grad), FIXTURE[f"{name}__gx"], rtol=1e-12, atol=1e-12)


REFUSED = json.loads(str(FIXTURE["refused"]))


@pytest.mark.parametrize("case", REFUSED, ids=[f"{c['op']}-{i}" for i, c in enumerate(REFUSED)])
def test_refuses_what_pytorch_refuses(case):
    """Arguments PyTorch rejects (padding over half the kernel size even when dilated, an empty output,
    a zero divisor) are rejected here too, naming the op; PyTorch's own message is in the fixture."""
    x = tinynet.Tensor(np.zeros(case["shape"]))
    with pytest.raises((ValueError, tinynet.ShapeError), match=f"^{case['op']}"):
        getattr(F, case["op"])(x, **case["args"])


def test_avg_pool2d_sums_in_pytorchs_order():
    """In float64 on NumPy the averages are PyTorch's bit for bit (docs/avg_pool2d.md says so): the slices
    are added in row-major offset order, the padding adds exact zeros, and the sum is divided once."""
    cases = [c for c in FIXTURE_CASES if c["op"] == "avg_pool2d"]
    assert len(cases) > 50
    for case in cases:
        y = F.avg_pool2d(tinynet.Tensor(FIXTURE[f"{case['name']}__x"]), **case["args"])
        np.testing.assert_array_equal(host(y), FIXTURE[f"{case['name']}__y"], err_msg=case["name"])


# --- bad arguments and inputs --------------------------------------------------------------------------------

def _t(*shape, dtype=np.float64):
    return tinynet.Tensor(np.ones(shape, dtype=dtype))


def _max(**kwargs):
    return F.max_pool2d(_t(1, 1, 6, 6), **{"kernel_size": 2, **kwargs})


def _avg(**kwargs):
    return F.avg_pool2d(_t(1, 1, 6, 6), **{"kernel_size": 2, **kwargs})


BAD = [
    # --- max_pool2d: arguments
    pytest.param(lambda: _max(kernel_size=0), ValueError,
                 r"^max_pool2d: kernel_size must be an int >= 1 or a pair of them, got 0$", id="max-kernel-0"),
    pytest.param(lambda: _max(kernel_size=-2), ValueError, r"^max_pool2d: kernel_size must be .*got -2$",
                 id="max-kernel-negative"),
    pytest.param(lambda: _max(kernel_size=(3, 0)), ValueError, r"^max_pool2d: kernel_size must be .*got \(3, 0\)$",
                 id="max-kernel-3x0"),
    pytest.param(lambda: _max(kernel_size=(2, 2, 2)), ValueError, r"^max_pool2d: kernel_size must be .*\(2, 2, 2\)$",
                 id="max-kernel-triple"),
    pytest.param(lambda: _max(kernel_size=2.0), TypeError, r"^max_pool2d: kernel_size must be .*got 2.0$",
                 id="max-kernel-float"),
    pytest.param(lambda: _max(kernel_size=NAN), TypeError, r"^max_pool2d: kernel_size must be .*got nan$",
                 id="max-kernel-nan"),
    pytest.param(lambda: _max(kernel_size=True), TypeError, r"^max_pool2d: kernel_size must be .*got True$",
                 id="max-kernel-bool"),
    pytest.param(lambda: _max(kernel_size="2"), TypeError, r"^max_pool2d: kernel_size must be .*got '2'$",
                 id="max-kernel-str"),
    pytest.param(lambda: _max(kernel_size=None), TypeError, r"^max_pool2d: kernel_size must be .*got None$",
                 id="max-kernel-None"),
    pytest.param(lambda: _max(stride=0), ValueError,
                 r"^max_pool2d: stride must be an int >= 1 or a pair of them, got 0$",
                 id="max-stride-0"),
    pytest.param(lambda: _max(stride=True), TypeError,
                 r"^max_pool2d: stride must be .*got True$", id="max-stride-bool"),
    pytest.param(lambda: _max(stride=(1, 1.5)), TypeError, r"^max_pool2d: stride must be .*got \(1, 1.5\)$",
                 id="max-stride-float"),
    pytest.param(lambda: _max(padding=-1), ValueError, r"^max_pool2d: padding must be an int >= 0 or a pair",
                 id="max-padding-negative"),
    pytest.param(lambda: _max(kernel_size=3, padding=2), ValueError,
                 r"^max_pool2d: padding must be between 0 and half the kernel size, got padding \(2, 2\) for kernel "
                 r"\(3, 3\)$", id="max-padding-over-half"),
    pytest.param(lambda: _max(kernel_size=(4, 2), padding=(1, 2)), ValueError, r"^max_pool2d: padding must be between",
                 id="max-padding-over-half-pair"),
    pytest.param(lambda: _max(kernel_size=3, padding=2, dilation=2), ValueError,
                 r"^max_pool2d: padding must be between 0 and half the kernel size",
                 id="max-padding-half-of-kernel-not-span"),
    pytest.param(lambda: _max(padding="1"), TypeError,
                 r"^max_pool2d: padding must be .*got '1'$", id="max-padding-str"),
    pytest.param(lambda: _max(dilation=0), ValueError,
                 r"^max_pool2d: dilation must be an int >= 1 or a pair of them, got 0$", id="max-dilation-0"),
    pytest.param(lambda: _max(dilation=(1, -1)), ValueError, r"^max_pool2d: dilation must be .*got \(1, -1\)$",
                 id="max-dilation-negative"),
    pytest.param(lambda: _max(dilation=1.0), TypeError, r"^max_pool2d: dilation must be .*got 1.0$",
                 id="max-dilation-float"),
    pytest.param(lambda: _max(ceil_mode=1), TypeError, r"^max_pool2d: ceil_mode must be True or False, got 1$",
                 id="max-ceil-int"),
    pytest.param(lambda: _max(ceil_mode="yes"), TypeError, r"^max_pool2d: ceil_mode must be True or False, got 'yes'$",
                 id="max-ceil-str"),
    pytest.param(lambda: _max(return_indices=None), TypeError,
                 r"^max_pool2d: return_indices must be True or False, got None$", id="max-indices-None"),
    # --- max_pool2d: inputs
    pytest.param(lambda: F.max_pool2d(_t(6, 6), 2), tinynet.ShapeError,
                 r"^max_pool2d expects a 4-D input \(N, C, H, W\) or a 3-D one \(C, H, W\), got a 2-D input of shape "
                 r"\(6, 6\)$", id="max-input-2d"),
    pytest.param(lambda: F.max_pool2d(_t(1, 1, 1, 6, 6), 2), tinynet.ShapeError, r"^max_pool2d expects .*got a 5-D",
                 id="max-input-5d"),
    pytest.param(lambda: F.max_pool2d(_t(1, 1, 6, 6, dtype=np.int64), 2), TypeError,
                 r"^max_pool2d: expects a floating-point input, got int64$", id="max-input-int"),
    pytest.param(lambda: F.max_pool2d(_t(1, 1, 6, 6, dtype=bool), 2), TypeError,
                 r"^max_pool2d: expects a floating-point input, got bool$", id="max-input-bool"),
    pytest.param(lambda: F.max_pool2d(_t(1, 1, 0, 6), 2), tinynet.ShapeError,
                 r"^max_pool2d: the channel, height and width of the input must be nonzero, got shape \(1, 1, 0, 6\)$",
                 id="max-input-empty-height"),
    pytest.param(lambda: F.max_pool2d(_t(0, 6, 6), 2), tinynet.ShapeError, r"^max_pool2d: the channel, height",
                 id="max-input-no-channels"),
    pytest.param(lambda: F.max_pool2d(_t(1, 1, 2, 2), 3), tinynet.ShapeError,
                 r"^max_pool2d: window 3x3 is larger than the padded input 2x2 \(input shape \(1, 1, 2, 2\)\)$",
                 id="max-window-too-large"),
    pytest.param(lambda: F.max_pool2d(_t(1, 1, 4, 4), 3, dilation=2), tinynet.ShapeError,
                 r"^max_pool2d: window 3x3 \(dilation \(2, 2\): spanning 5x5\) is larger than the padded input 4x4",
                 id="max-dilated-window-too-large"),
    pytest.param(lambda: F.max_pool2d("abc", 2), TypeError, r"^MaxPool2d: input 0: Tensor: data must be numbers",
                 id="max-input-str"),
    pytest.param(lambda: F.max_pool2d(None, 2), TypeError, r"^MaxPool2d: input 0: .*got None$", id="max-input-None"),
    # --- avg_pool2d: arguments
    pytest.param(lambda: _avg(kernel_size=0), ValueError,
                 r"^avg_pool2d: kernel_size must be an int >= 1 or a pair of them, got 0$", id="avg-kernel-0"),
    pytest.param(lambda: _avg(kernel_size=(2, 2.5)), TypeError, r"^avg_pool2d: kernel_size must be .*\(2, 2.5\)$",
                 id="avg-kernel-float"),
    pytest.param(lambda: _avg(kernel_size=False), TypeError, r"^avg_pool2d: kernel_size must be .*got False$",
                 id="avg-kernel-bool"),
    pytest.param(lambda: _avg(stride=-1), ValueError,
                 r"^avg_pool2d: stride must be an int >= 1", id="avg-stride-negative"),
    pytest.param(lambda: _avg(stride="2"), TypeError, r"^avg_pool2d: stride must be .*got '2'$", id="avg-stride-str"),
    pytest.param(lambda: _avg(padding=-1), ValueError,
                 r"^avg_pool2d: padding must be an int >= 0", id="avg-padding-negative"),
    pytest.param(lambda: _avg(padding=2), ValueError,
                 r"^avg_pool2d: padding must be between 0 and half the kernel size",
                 id="avg-padding-over-half"),
    pytest.param(lambda: _avg(ceil_mode=0), TypeError, r"^avg_pool2d: ceil_mode must be True or False, got 0$",
                 id="avg-ceil-int"),
    pytest.param(lambda: _avg(count_include_pad="no"), TypeError,
                 r"^avg_pool2d: count_include_pad must be True or False, got 'no'$", id="avg-count-str"),
    pytest.param(lambda: _avg(count_include_pad=None), TypeError,
                 r"^avg_pool2d: count_include_pad must be True or False",
                 id="avg-count-None"),
    pytest.param(lambda: _avg(divisor_override=0), ValueError,
                 r"^avg_pool2d: divisor_override must be None or a nonzero int, got 0$", id="avg-divisor-0"),
    pytest.param(lambda: _avg(divisor_override=2.5), TypeError,
                 r"^avg_pool2d: divisor_override must be None or a nonzero int, got 2.5$", id="avg-divisor-float"),
    pytest.param(lambda: _avg(divisor_override=NAN), TypeError, r"^avg_pool2d: divisor_override must be .*got nan$",
                 id="avg-divisor-nan"),
    pytest.param(lambda: _avg(divisor_override=True), TypeError, r"^avg_pool2d: divisor_override must be .*got True$",
                 id="avg-divisor-bool"),
    pytest.param(lambda: _avg(divisor_override="4"), TypeError, r"^avg_pool2d: divisor_override must be .*got '4'$",
                 id="avg-divisor-str"),
    # --- avg_pool2d: inputs
    pytest.param(lambda: F.avg_pool2d(_t(6,), 2), tinynet.ShapeError, r"^avg_pool2d expects a 4-D input .*got a 1-D",
                 id="avg-input-1d"),
    pytest.param(lambda: F.avg_pool2d(_t(1, 1, 6, 6, dtype=np.int32), 2), TypeError,
                 r"^avg_pool2d: expects a floating-point input, got int32$", id="avg-input-int"),
    pytest.param(lambda: F.avg_pool2d(_t(1, 1, 6, 0), 2), tinynet.ShapeError,
                 r"^avg_pool2d: the channel, height and width",
                 id="avg-input-empty-width"),
    pytest.param(lambda: F.avg_pool2d(_t(1, 1, 2, 6), 3), tinynet.ShapeError,
                 r"^avg_pool2d: window 3x3 is larger than the padded input 2x6", id="avg-window-too-large"),
    pytest.param(lambda: F.avg_pool2d(_t(1, 1, 2, 2), 3, stride=1, ceil_mode=True), tinynet.ShapeError,
                 r"^avg_pool2d: window 3x3 is larger than the padded input 2x2", id="avg-window-too-large-ceil"),
    # --- adaptive_max_pool2d
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), 0), ValueError,
                 r"^adaptive_max_pool2d: output_size must be an int >= 1 or a pair of them, got 0$", id="amax-0"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), (2, -1)), ValueError,
                 r"^adaptive_max_pool2d: output_size must be .*got \(2, -1\)$", id="amax-negative"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), 2.0), TypeError,
                 r"^adaptive_max_pool2d: output_size must be .*got 2.0$", id="amax-float"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), True), TypeError,
                 r"^adaptive_max_pool2d: output_size must be .*got True$", id="amax-bool"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), None), TypeError,
                 r"^adaptive_max_pool2d: output_size must be .*got None$", id="amax-bare-None"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), (None, 0)), ValueError,
                 r"^adaptive_max_pool2d: output_size must be .*an entry may be None.*got \(None, 0\)$",
                 id="amax-None-0"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), (None, 2.5)), TypeError,
                 r"^adaptive_max_pool2d: output_size must be .*got \(None, 2.5\)$", id="amax-None-float"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), (2, 2, 2)), ValueError,
                 r"^adaptive_max_pool2d: output_size must be .*got \(2, 2, 2\)$", id="amax-triple"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), "2"), TypeError,
                 r"^adaptive_max_pool2d: output_size must be .*got '2'$", id="amax-str"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4), 2, return_indices=1), TypeError,
                 r"^adaptive_max_pool2d: return_indices must be True or False, got 1$", id="amax-indices-int"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(4, 4), 2), tinynet.ShapeError,
                 r"^adaptive_max_pool2d expects a 4-D input .*got a 2-D input of shape \(4, 4\)$", id="amax-input-2d"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 1, 4, 4, dtype=np.int64), 2), TypeError,
                 r"^adaptive_max_pool2d: expects a floating-point input, got int64$", id="amax-input-int"),
    pytest.param(lambda: F.adaptive_max_pool2d(_t(1, 0, 4, 4), 2), tinynet.ShapeError,
                 r"^adaptive_max_pool2d: the channel, height and width", id="amax-input-no-channels"),
    # --- adaptive_avg_pool2d
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 4, 4), 0), ValueError,
                 r"^adaptive_avg_pool2d: output_size must be an int >= 1 or a pair of them, got 0$", id="aavg-0"),
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 4, 4), (None, -1)), ValueError,
                 r"^adaptive_avg_pool2d: output_size must be .*got \(None, -1\)$", id="aavg-None-negative"),
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 4, 4), None), TypeError,
                 r"^adaptive_avg_pool2d: output_size must be .*got None$", id="aavg-bare-None"),
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 4, 4), [None, "2"]), TypeError,
                 r"^adaptive_avg_pool2d: output_size must be .*got \[None, '2'\]$", id="aavg-None-str"),
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 1, 4, 4), 2), tinynet.ShapeError,
                 r"^adaptive_avg_pool2d expects a 4-D input .*got a 5-D", id="aavg-input-5d"),
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 4, 4, dtype=np.int64), 2), TypeError,
                 r"^adaptive_avg_pool2d: expects a floating-point input, got int64$", id="aavg-input-int"),
    pytest.param(lambda: F.adaptive_avg_pool2d(_t(1, 1, 0, 4), 2), tinynet.ShapeError,
                 r"^adaptive_avg_pool2d: the channel, height and width", id="aavg-input-empty"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments_and_inputs_name_the_op_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_batch_of_zero_is_fine(device):
    """N = 0 is allowed, as in PyTorch: empty outputs of the right shape, and an empty gradient."""
    x = tensor(np.zeros((0, 2, 6, 6)), device, requires_grad=True)
    y, indices = F.max_pool2d(x, 3, 2, return_indices=True)
    assert y.shape == indices.shape == (0, 2, 2, 2)
    assert F.avg_pool2d(x, 3, 2).shape == (0, 2, 2, 2)
    assert F.adaptive_max_pool2d(x, 3).shape == F.adaptive_avg_pool2d(x, 3).shape == (0, 2, 3, 3)
    y.backward(tensor(np.zeros(y.shape), device))
    assert x.grad.shape == x.shape
