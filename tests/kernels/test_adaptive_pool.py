"""Adaptive pooling (kernels/adaptive_pool.py) against the textbook loops of tinynet/functional/reference/pool.py:
the bins, and adaptive max's values, indices and backward (overlapping bins, repeated cells, ties, NaN).
"""
import numpy as np
import pytest

from kernels import adaptive_pool
from tests.helpers import host
from tests.kernels.test_pool import tie_free
from tinynet.functional import reference


@pytest.mark.parametrize("in_size, out_size", [(13, 6), (6, 6), (7, 3), (2, 5), (10, 1), (1, 4)])
def test_adaptive_bins_are_the_reference_bins(in_size, out_size):
    starts, ends = adaptive_pool.adaptive_bins(in_size, out_size)
    assert [range(s, e) for s, e in zip(starts, ends)] == [reference.adaptive_bin(i, in_size, out_size)
                                                           for i in range(out_size)]


@pytest.mark.parametrize("x_shape, out", [((1, 2, 13, 13), (6, 6)), ((2, 1, 7, 5), (3, 4)), ((1, 1, 2, 3), (5, 4)),
                                          ((1, 2, 10, 9), (1, 1)), ((1, 1, 6, 6), (6, 6))],
                         ids=["13-to-6", "overlapping-bins", "repeated-cells", "global", "identity"])
def test_adaptive_max_matches_the_reference(xp, rng, x_shape, out):
    # Overlapping bins (7 -> 3) can share a winner; with more outputs than inputs cells repeat: the
    # backward adds up every output's gradient on its winner.
    x = tie_free(rng, x_shape)
    y_ref, idx_ref = reference.adaptive_max_pool2d(x, out)
    y, indices = adaptive_pool.adaptive_maxpool_forward(xp.asarray(x), out)
    np.testing.assert_array_equal(host(y), y_ref)
    np.testing.assert_array_equal(host(indices), idx_ref)
    gy = rng.standard_normal(y_ref.shape)
    gx = adaptive_pool.adaptive_maxpool_backward(xp.asarray(gy), indices, x_shape)
    np.testing.assert_allclose(host(gx), reference.max_pool2d_backward(gy, idx_ref, x_shape), rtol=1e-12,
                               atol=1e-15)


def test_adaptive_max_ties_nan_and_float32(xp):
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # bin (0, 0) holds both: the last NaN (row-major) wins
    y, indices = adaptive_pool.adaptive_maxpool_forward(xp.asarray(x), (2, 2))
    assert y.dtype == np.float32
    y_ref, idx_ref = reference.adaptive_max_pool2d(x, (2, 2))
    np.testing.assert_array_equal(host(y), y_ref)
    np.testing.assert_array_equal(host(indices), idx_ref)
    np.testing.assert_array_equal(host(indices)[0, 0], [[4, 2], [8, 10]])  # ties: the first cell of each bin
