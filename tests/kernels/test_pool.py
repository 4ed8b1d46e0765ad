"""Max pooling (kernels/pool.py) against the textbook loops of tinynet/functional/reference/pool.py: values,
argmax offsets, PyTorch's indices and the backward scatter (with dilation and ceil_mode), and the window
geometry that average pooling shares. Average and adaptive pooling: test_avg_pool.py, test_adaptive_pool.py.

``CASES``, ``naive_maxpool`` and ``naive_maxpool_backward`` are also used by tests/kernels/test_parallel.py
and test_cuda_kernels.py, ``tie_free`` by test_adaptive_pool.py: the kernels keep offsets i*kW + j inside
each window, the reference gives PyTorch's flat indices h*W + w; the two helpers translate.
"""
import numpy as np
import pytest

from kernels import maxpool_backward, maxpool_forward, pool
from kernels.sizes import conv_output_size
from tests.helpers import host
from tinynet.functional import reference

# (x shape, kernel, stride, padding)
CASES = [
    pytest.param((2, 3, 7, 7), (3, 3), (2, 2), (0, 0), id="3x3-s2-overlap"),
    pytest.param((1, 2, 6, 6), (2, 2), (2, 2), (0, 0), id="2x2-s2"),
    pytest.param((2, 1, 5, 8), (2, 3), (1, 2), (1, 1), id="2x3-s12-p1"),
    pytest.param((1, 2, 5, 5), (3, 3), (1, 1), (1, 1), id="3x3-s1-p1"),
    pytest.param((1, 1, 6, 5), (3, 2), (3, 1), (1, 1), id="3x2-s31-p1"),
]

# (x shape, kernel, stride, padding, dilation, ceil_mode): the windows dilation and ceil_mode make
WINDOW_CASES = [
    pytest.param((1, 2, 9, 8), (3, 3), (1, 1), (1, 1), (2, 2), False, id="dilation2-p1"),
    pytest.param((2, 1, 10, 9), (3, 2), (2, 1), (1, 1), (2, 3), False, id="dilation-pairs"),
    pytest.param((1, 2, 8, 8), (3, 3), (2, 2), (0, 0), (1, 1), True, id="ceil-hangs-past-edge"),
    pytest.param((1, 2, 6, 7), (3, 3), (2, 2), (1, 1), (1, 1), True, id="ceil-padding"),
    pytest.param((1, 2, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), True, id="ceil-k2-odd"),
    pytest.param((1, 1, 7, 8), (2, 2), (3, 3), (0, 0), (1, 1), True, id="ceil-stride-over-kernel"),
    pytest.param((1, 1, 9, 10), (2, 2), (3, 3), (1, 1), (2, 2), True, id="ceil-dilation"),
    pytest.param((1, 1, 2, 2), (3, 3), (3, 3), (0, 0), (1, 1), True, id="ceil-window-over-input"),
    pytest.param((2, 3, 7, 7), (3, 3), (2, 2), (0, 0), (1, 1), True, id="alexnet-ceil-same-size"),
]


def _offsets_from_indices(indices, x_shape, kernel, stride, padding, dilation):
    """PyTorch's flat indices h*W + w as window offsets i*kW + j (each window's winner is a real tap)."""
    W = x_shape[3]
    OH, OW = indices.shape[2:]
    h0 = (np.arange(OH) * stride[0] - padding[0])[:, None]
    w0 = np.arange(OW) * stride[1] - padding[1]
    i, j = (indices // W - h0) // dilation[0], (indices % W - w0) // dilation[1]
    return i * kernel[1] + j


def _indices_from_offsets(offsets, x_shape, kernel, stride, padding, dilation):
    W = x_shape[3]
    OH, OW = offsets.shape[2:]
    i, j = np.divmod(offsets.astype(np.int64), kernel[1])
    h = (np.arange(OH) * stride[0] - padding[0])[:, None] + i * dilation[0]
    w = np.arange(OW) * stride[1] - padding[1] + j * dilation[1]
    return h * W + w


def naive_maxpool(x, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    """Window maxima and the row-major offset i*kW + j of the (first) winning cell, from the reference loop."""
    y, indices = reference.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    return y, _offsets_from_indices(indices, x.shape, kernel, stride, padding, dilation)


def naive_maxpool_backward(gy, arg, x_shape, kernel, stride, padding, dilation=(1, 1)):
    """Each output's gradient added to the input cell its window's offset points at (the reference scatter)."""
    indices = _indices_from_offsets(np.asarray(arg), x_shape, kernel, stride, padding, dilation)
    return reference.max_pool2d_backward(gy, indices, x_shape)


def tie_free(rng, shape, offset=-0.5):
    """Distinct values, mostly negative (an all-negative window must not return the padding)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) + offset * n) * 0.01


# --- max pooling ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_forward_values_and_argmax_match_naive(xp, rng, x_shape, kernel, stride, padding):
    # Maxima and winning offsets equal the loop reference (which ignores padded cells).
    x = tie_free(rng, x_shape)
    y_ref, arg_ref = naive_maxpool(x, kernel, stride, padding)
    y, arg = maxpool_forward(xp.asarray(x), kernel, stride, padding)
    assert y.shape == y_ref.shape and arg.shape == arg_ref.shape
    assert y.dtype == x.dtype
    assert np.dtype(arg.dtype).kind in "iu"
    np.testing.assert_array_equal(host(y), y_ref)
    np.testing.assert_array_equal(host(arg).astype(np.int64), arg_ref)


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil_mode", WINDOW_CASES)
def test_dilated_and_ceil_windows_match_the_reference(xp, rng, x_shape, kernel, stride, padding, dilation,
                                                      ceil_mode):
    # Values, offsets, PyTorch's indices and the backward scatter, for windows whose taps are spread
    # out or hang past the bottom/right edge (the padding is extended with -inf far enough).
    x = tie_free(rng, x_shape)
    y_ref, idx_ref = reference.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    y, arg = maxpool_forward(xp.asarray(x), kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode)
    assert y.shape == y_ref.shape
    np.testing.assert_array_equal(host(y), y_ref)
    indices = pool.maxpool_indices(arg, x_shape, kernel, stride, padding, dilation)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(host(indices), idx_ref)
    gy = rng.standard_normal(y_ref.shape)
    gx = maxpool_backward(xp.asarray(gy), arg, x_shape, kernel, stride, padding, dilation)
    assert gx.shape == x_shape
    np.testing.assert_allclose(host(gx), reference.max_pool2d_backward(gy, idx_ref, x_shape), rtol=1e-12,
                               atol=1e-15)


def test_ceil_mode_keeps_a_window_that_starts_inside_and_drops_one_in_the_padding():
    # 5 cells, k2 s2: floor gives 2 windows, ceil a third over cells 4 and 5 (5 is past the edge).
    # With padding 1 the fourth ceil window would start at cell 5, in the right padding: dropped.
    assert len(reference.window_starts(5, 2, 2, 0, 1, False)) == conv_output_size(5, 2, 2, 0, 1, False) == 2
    assert reference.window_starts(5, 2, 2, 0, 1, True) == [0, 2, 4]
    assert reference.window_starts(5, 2, 2, 1, 1, True) == [-1, 1, 3]
    assert conv_output_size(5, 2, 2, 1, 1, True) == 3


def test_all_negative_input_with_padding(xp, rng):
    # Every value is negative: with zero padding the border maxima would be 0; with -inf they are not.
    x = -1.0 - rng.uniform(0, 1, size=(1, 2, 4, 4))
    y, _ = maxpool_forward(xp.asarray(x), (3, 3), (1, 1), (1, 1))
    y_ref, _ = naive_maxpool(x, (3, 3), (1, 1), (1, 1))
    assert (host(y) < 0).all()
    np.testing.assert_array_equal(host(y), y_ref)


def test_ties_pick_the_first_cell_in_row_major_order(xp):
    # A constant window: the argmax is offset 0 (the documented tie rule), value the constant.
    x = np.full((1, 1, 4, 4), 2.5)
    y, arg = maxpool_forward(xp.asarray(x), (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(host(y), np.full((1, 1, 2, 2), 2.5))
    np.testing.assert_array_equal(host(arg), np.zeros((1, 1, 2, 2)))


def test_nan_propagates_and_the_last_nan_wins(xp):
    # A NaN wins its window (as in PyTorch), so it is not silently dropped; of two, the last one.
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 2, 2] = np.nan
    x[0, 0, 3, 2] = np.nan
    y, arg = maxpool_forward(xp.asarray(x), (2, 2), (2, 2), (0, 0))
    y, arg = host(y), host(arg)
    assert np.isnan(y[0, 0, 0, 0]) and int(arg[0, 0, 0, 0]) == 1
    assert np.isnan(y[0, 0, 1, 1]) and int(arg[0, 0, 1, 1]) == 2  # (3, 2), not (2, 2) at offset 0
    np.testing.assert_array_equal(y[0, 0, 0, 1], 7.0)
    assert int(arg[0, 0, 0, 1]) == 3


@pytest.mark.parametrize("kernel, stride, padding, dilation", [
    ((2, 2), (2, 2), (1, 1), (1, 1)),
    ((3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 2), (1, 1), (1, 1), (2, 2)),
])
def test_minus_inf_windows_keep_their_first_real_cell(xp, kernel, stride, padding, dilation):
    # Every cell -inf: each window's maximum is -inf, and the winner is its first tap at or past the
    # top-left edge (PyTorch's), never a padded cell - so its gradient reaches the input.
    x = np.full((1, 1, 5, 5), -np.inf)
    y_ref, idx_ref = reference.max_pool2d(x, kernel, stride, padding, dilation)
    y, arg = maxpool_forward(xp.asarray(x), kernel, stride, padding, dilation=dilation)
    np.testing.assert_array_equal(host(y), y_ref)
    np.testing.assert_array_equal(host(pool.maxpool_indices(arg, x.shape, kernel, stride, padding, dilation)),
                                  idx_ref)
    gy = np.arange(1.0, 1.0 + y_ref.size).reshape(y_ref.shape)
    gx = host(maxpool_backward(xp.asarray(gy), arg, x.shape, kernel, stride, padding, dilation))
    assert gx.sum() == gy.sum()  # every gradient lands on a real cell
    np.testing.assert_array_equal(gx, reference.max_pool2d_backward(gy, idx_ref, x.shape))


def test_a_window_with_no_real_cell_is_minus_inf_and_passes_no_gradient(xp, rng):
    # 2x2 plane, k2 d3 p1: the one window's taps are rows/columns -1 and 2, all padding. PyTorch gives
    # -inf and index 2*2 + 2 = 6 (its first tap past the edge); the gradient goes nowhere.
    x = rng.standard_normal((1, 2, 2, 2))
    y, arg = maxpool_forward(xp.asarray(x), (2, 2), (1, 1), (1, 1), dilation=(3, 3))
    np.testing.assert_array_equal(host(y), np.full((1, 2, 1, 1), -np.inf))
    np.testing.assert_array_equal(host(pool.maxpool_indices(arg, x.shape, (2, 2), (1, 1), (1, 1), (3, 3))), 6)
    gx = maxpool_backward(xp.asarray(np.ones((1, 2, 1, 1))), arg, x.shape, (2, 2), (1, 1), (1, 1), (3, 3))
    np.testing.assert_array_equal(host(gx), np.zeros(x.shape))


def test_argmax_dtype_holds_large_windows(xp, rng):
    # A 17x17 window has 289 offsets: more than a uint8 holds; offsets must not wrap around.
    x = tie_free(rng, (1, 1, 17, 17))
    _, arg = maxpool_forward(xp.asarray(x), (17, 17), (1, 1), (0, 0))
    _, arg_ref = naive_maxpool(x, (17, 17), (1, 1), (0, 0))
    assert arg.dtype == np.uint16
    assert int(host(arg).ravel()[0]) == int(arg_ref.ravel()[0])


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_backward_matches_naive_scatter(xp, rng, x_shape, kernel, stride, padding):
    # Each output's gradient lands on its window's winner; overlapping windows that pick
    # the same cell add up (the reference scatter uses +=).
    x = tie_free(rng, x_shape)
    y_ref, arg_ref = naive_maxpool(x, kernel, stride, padding)
    gy = rng.standard_normal(y_ref.shape)
    _, arg = maxpool_forward(xp.asarray(x), kernel, stride, padding)
    gx = maxpool_backward(xp.asarray(gy), arg, x_shape, kernel, stride, padding)
    assert gx.shape == x_shape
    np.testing.assert_allclose(host(gx), naive_maxpool_backward(gy, arg_ref, x_shape, kernel, stride, padding),
                               rtol=1e-12, atol=1e-15)


def test_backward_sums_where_overlapping_windows_share_a_winner(xp):
    # A single large value at the centre of a 5x5 input wins all four 3x3/stride-2 windows
    # (all contain it): its gradient is the sum of the four upstream values, 1+2+3+4 = 10.
    x = -np.ones((1, 1, 5, 5))
    x[0, 0, 2, 2] = 5.0
    y, arg = maxpool_forward(xp.asarray(x), (3, 3), (2, 2), (0, 0))
    np.testing.assert_array_equal(host(y), np.full((1, 1, 2, 2), 5.0))
    gy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    gx = host(maxpool_backward(xp.asarray(gy), arg, x.shape, (3, 3), (2, 2), (0, 0)))
    expected = np.zeros((1, 1, 5, 5))
    expected[0, 0, 2, 2] = 10.0
    np.testing.assert_array_equal(gx, expected)


def test_no_copy_without_padding(rng):
    # The AlexNet path (no padding, windows that fit): the planes are views of x, nothing padded,
    # and cropping them back (as the backward does) copies nothing either.
    x = tie_free(rng, (2, 3, 7, 7))
    planes = pool._pad(x, (0, 0), (7, 7), -np.inf, np)
    assert np.shares_memory(planes, x)
    assert np.shares_memory(pool._crop(planes, x.shape, (0, 0), np), x)
    np.testing.assert_array_equal(pool._crop(pool._pad(x, (1, 2), (10, 11), -np.inf, np), x.shape, (1, 2), np), x)
    assert pool._extent(7, 0, 3, 3, 2, 1) == 7  # floor: the last window ends at the edge
    assert pool._extent(8, 0, 4, 3, 2, 1) == 9  # ceil: the last window hangs one cell past it
