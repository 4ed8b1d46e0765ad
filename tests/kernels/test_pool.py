"""Max-pool windows (forward values, argmax offsets, backward scatter) against explicit loops."""
import numpy as np
import pytest

from kernels import maxpool_backward, maxpool_forward
from tests.helpers import host

# (x shape, kernel, stride, padding)
CASES = [
    pytest.param((2, 3, 7, 7), (3, 3), (2, 2), (0, 0), id="3x3-s2-overlap"),
    pytest.param((1, 2, 6, 6), (2, 2), (2, 2), (0, 0), id="2x2-s2"),
    pytest.param((2, 1, 5, 8), (2, 3), (1, 2), (1, 1), id="2x3-s12-p1"),
    pytest.param((1, 2, 5, 5), (3, 3), (1, 1), (1, 1), id="3x3-s1-p1"),
    pytest.param((1, 1, 6, 5), (3, 2), (3, 1), (1, 1), id="3x2-s31-p1"),
]


def out_size(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def naive_maxpool(x, kernel, stride, padding):
    """Window maxima and the row-major offset i*kW + j of the (first) winning cell."""
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW) = kernel, stride, padding
    OH, OW = out_size(H, kH, sH, pH), out_size(W, kW, sW, pW)
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    arg = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    best, best_k = -np.inf, -1
                    for i in range(kH):
                        for j in range(kW):
                            h, w = oh * sH + i - pH, ow * sW + j - pW
                            if 0 <= h < H and 0 <= w < W and x[n, c, h, w] > best:
                                best, best_k = x[n, c, h, w], i * kW + j
                    y[n, c, oh, ow], arg[n, c, oh, ow] = best, best_k
    return y, arg


def naive_maxpool_backward(gy, arg, x_shape, kernel, stride, padding):
    """Add each output's gradient to the input cell its window's argmax points at."""
    gx = np.zeros(x_shape)
    (kH, kW), (sH, sW), (pH, pW) = kernel, stride, padding
    N, C, OH, OW = gy.shape
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    i, j = divmod(int(arg[n, c, oh, ow]), kW)
                    gx[n, c, oh * sH + i - pH, ow * sW + j - pW] += gy[n, c, oh, ow]
    return gx


def tie_free(rng, shape, offset=-0.5):
    """Distinct values, mostly negative (an all-negative window must not return the padding)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) + offset * n) * 0.01


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


def test_nan_propagates(xp):
    # A NaN wins its window (as in PyTorch), so it is not silently dropped.
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    y, arg = maxpool_forward(xp.asarray(x), (2, 2), (2, 2), (0, 0))
    y = host(y)
    assert np.isnan(y[0, 0, 0, 0])
    assert int(host(arg)[0, 0, 0, 0]) == 1
    np.testing.assert_array_equal(y[0, 0, 1], [13.0, 15.0])


def test_argmax_dtype_holds_large_windows(xp, rng):
    # A 17x17 window has 289 offsets: more than a uint8 holds; offsets must not wrap around.
    x = tie_free(rng, (1, 1, 17, 17))
    _, arg = maxpool_forward(xp.asarray(x), (17, 17), (1, 1), (0, 0))
    _, arg_ref = naive_maxpool(x, (17, 17), (1, 1), (0, 0))
    assert int(host(arg).ravel()[0]) == int(arg_ref.ravel()[0])


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_backward_matches_naive_scatter(xp, rng, x_shape, kernel, stride, padding):
    # Each output's gradient lands on its window's winner; overlapping windows that pick
    # the same cell add up (the naive reference uses +=).
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
