"""kernels.pixels_to_float (kernels/pixels.py): uint8 batches finished with their per-sample affine map."""
import numpy as np
import pytest

import kernels


def test_matches_the_float32_formula(rng):
    x = rng.integers(0, 256, (5, 3, 7, 9), dtype=np.uint8)
    scale = rng.uniform(0.001, 0.02, (5, 3)).astype(np.float32)
    offset = rng.uniform(-2, 2, (5, 3)).astype(np.float32)
    y = kernels.pixels_to_float(x, scale, offset)
    want = x.astype(np.float32) * scale[:, :, None, None] + offset[:, :, None, None]
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(y, want)  # the product rounded to float32, then the sum


@pytest.mark.parametrize("pixels, scale, error, message", [
    (np.zeros((4, 3, 2, 2), np.uint8), np.ones((2, 3), np.float32), ValueError,
     r"scale must be a float array \(N, C\) = \(4, 3\), got float32 of shape \(2, 3\)"),
    (np.zeros((4, 3, 2, 2), np.float32), np.ones((4, 3), np.float32), TypeError, "pixels must be a uint8 array"),
    (np.zeros((4, 3), np.uint8), np.ones((4, 3), np.float32), TypeError, r"pixels must be a uint8 array \(N, C, \.\.\.\), got uint8 of shape \(4, 3\)"),
    (np.zeros((4, 3, 2), np.uint8), [[1.0] * 3] * 4, ValueError, "scale must be a float array"),
    (np.zeros((4, 3, 2), np.uint8), np.ones((4, 3), np.int64), ValueError, "scale must be a float array .* got int64"),
])
def test_bad_inputs_are_named(pixels, scale, error, message):
    with pytest.raises(error, match="pixels_to_float: " + message):
        kernels.pixels_to_float(pixels, scale, np.ones((4, 3), np.float32))
