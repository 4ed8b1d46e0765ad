"""channel_window_sum (the sums behind local response norm) against an explicit loop."""
import numpy as np
import pytest

from kernels import channel_window_sum
from tests.helpers import host


def naive_window_sum(a, before, after):
    # S[:, c] = sum of a[:, c'] for c' in [c - before, c + after], clipped to [0, C).
    C = a.shape[1]
    s = np.zeros_like(a)
    for c in range(C):
        for cc in range(c - before, c + after + 1):
            if 0 <= cc < C:
                s[:, c] += a[:, cc]
    return s


@pytest.mark.parametrize(
    "before, after",
    [(0, 0), (1, 1), (2, 2), (2, 1), (1, 2), (0, 3), (3, 0), (4, 4), (6, 6), (9, 2)],
)
@pytest.mark.parametrize("shape", [(2, 5, 3, 2), (1, 3, 4), (3, 7)], ids=["4d", "3d", "2d"])
def test_matches_naive(xp, rng, shape, before, after):
    # Symmetric, lopsided, one-sided windows, and windows wider than C (C = 3, 5, 7): the
    # channels outside [0, C) count as zero.
    a = rng.standard_normal(shape)
    s = channel_window_sum(xp.asarray(a), before, after)
    assert s.shape == a.shape and s.dtype == a.dtype
    np.testing.assert_allclose(host(s), naive_window_sum(a, before, after), rtol=1e-12, atol=1e-12)


def test_window_wider_than_all_channels_is_the_total(xp, rng):
    # A window reaching past both ends sums every channel, the same value for each c.
    a = rng.standard_normal((2, 4, 3))
    s = host(channel_window_sum(xp.asarray(a), 10, 10))
    total = a.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(s, np.broadcast_to(total, a.shape), rtol=1e-12)


def test_input_is_not_modified(xp, rng):
    # The sum is a new array; the input stays as it was.
    a = rng.standard_normal((1, 5, 2))
    a_dev = xp.asarray(a)
    channel_window_sum(a_dev, 2, 2)
    np.testing.assert_array_equal(host(a_dev), a)


def test_ones_count_window_size(xp):
    # On all-ones input each sum is the number of channels the clipped window covers.
    C, before, after = 6, 2, 1
    s = host(channel_window_sum(xp.ones((1, C)), before, after))
    expected = [min(C - 1, c + after) - max(0, c - before) + 1 for c in range(C)]
    np.testing.assert_array_equal(s[0], expected)
