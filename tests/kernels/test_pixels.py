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


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"pixels_to_float: scale \(2, 3\) and offset \(2, 3\) must be \(N, C\) = \(4, 3\)"):
        kernels.pixels_to_float(np.zeros((4, 3, 2, 2), np.uint8), np.ones((2, 3), np.float32),
                                np.ones((2, 3), np.float32))
