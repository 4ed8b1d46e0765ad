"""im2col / col2im against explicit loops, on both backends.

Reference layout: col[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh*sH + i, ow*sW + j].
"""
import numpy as np
import pytest

from kernels import col2im, conv_output_size, im2col
from tests.helpers import host

# (x shape (N, C, H, W), kernel, stride, padding): square and non-square, strides that
# do not tile the input evenly (floor), padding as large as the kernel allows.
CASES = [
    pytest.param((2, 3, 5, 5), (3, 3), (1, 1), (0, 0), id="3x3-s1-p0"),
    pytest.param((1, 2, 7, 6), (3, 2), (2, 1), (1, 0), id="3x2-s21-p10"),
    pytest.param((2, 1, 6, 7), (2, 3), (2, 2), (0, 1), id="2x3-s2-p01"),
    pytest.param((1, 2, 4, 4), (4, 4), (1, 1), (2, 2), id="4x4-s1-p2"),
    pytest.param((2, 2, 8, 9), (3, 3), (3, 2), (1, 1), id="3x3-s32-p1"),
    pytest.param((1, 3, 11, 11), (5, 5), (4, 4), (2, 2), id="5x5-s4-p2"),
    pytest.param((3, 2, 3, 3), (1, 1), (1, 1), (0, 0), id="1x1"),
]


def naive_output_size(size, k, s, p):
    # Count window positions one by one: start at -p, step s, window must end inside size + p.
    n, start = 0, -p
    while start + k <= size + p:
        n += 1
        start += s
    return n


def naive_im2col(x, kernel, stride, padding):
    N, C, H, W = x.shape
    (kH, kW), (sH, sW), (pH, pW) = kernel, stride, padding
    OH, OW = naive_output_size(H, kH, sH, pH), naive_output_size(W, kW, sW, pW)
    col = np.zeros((C * kH * kW, N * OH * OW), dtype=x.dtype)
    for c in range(C):
        for i in range(kH):
            for j in range(kW):
                row = (c * kH + i) * kW + j
                for n in range(N):
                    for oh in range(OH):
                        for ow in range(OW):
                            h, w = oh * sH + i - pH, ow * sW + j - pW
                            if 0 <= h < H and 0 <= w < W:
                                col[row, (n * OH + oh) * OW + ow] = x[n, c, h, w]
    return col


def naive_coverage(x_shape, kernel, stride, padding):
    # How many windows contain each input pixel.
    N, C, H, W = x_shape
    (kH, kW), (sH, sW), (pH, pW) = kernel, stride, padding
    OH, OW = naive_output_size(H, kH, sH, pH), naive_output_size(W, kW, sW, pW)
    count = np.zeros(x_shape)
    for oh in range(OH):
        for ow in range(OW):
            for i in range(kH):
                for j in range(kW):
                    h, w = oh * sH + i - pH, ow * sW + j - pW
                    if 0 <= h < H and 0 <= w < W:
                        count[:, :, h, w] += 1
    return count


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_conv_output_size_matches_counting(x_shape, kernel, stride, padding):
    # The closed form floor((H + 2p - k) / s) + 1 equals counting window positions.
    for size, k, s, p in zip(x_shape[2:], kernel, stride, padding):
        assert conv_output_size(size, k, s, p) == naive_output_size(size, k, s, p)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_im2col_matches_naive_loops(xp, rng, x_shape, kernel, stride, padding):
    # Every entry of the column matrix, including zeros from padding, matches the loop reference.
    x = rng.standard_normal(x_shape)
    expected = naive_im2col(x, kernel, stride, padding)
    col = im2col(xp.asarray(x), kernel, stride, padding)
    assert col.shape == expected.shape
    assert col.dtype == x.dtype
    np.testing.assert_array_equal(host(col), expected)


def test_im2col_keeps_float32(xp, rng):
    # The columns take the input's dtype (no silent promotion to float64).
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    col = im2col(xp.asarray(x), (3, 3), (1, 1), (1, 1))
    assert col.dtype == np.float32
    np.testing.assert_array_equal(host(col), naive_im2col(x, (3, 3), (1, 1), (1, 1)))


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_col2im_is_the_adjoint_of_im2col(xp, rng, x_shape, kernel, stride, padding):
    # <im2col(x), c> == <x, col2im(c)> for random x and c: col2im is im2col's transpose,
    # which is exactly what the convolution's backward needs.
    x = rng.standard_normal(x_shape)
    col_shape = naive_im2col(x, kernel, stride, padding).shape
    c = rng.standard_normal(col_shape)
    lhs = float(np.sum(host(im2col(xp.asarray(x), kernel, stride, padding)) * c))
    folded = col2im(xp.asarray(c), x_shape, kernel, stride, padding)
    assert folded.shape == x_shape
    rhs = float(np.sum(x * host(folded)))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_col2im_of_ones_counts_covering_windows(xp, x_shape, kernel, stride, padding):
    # Folding all-ones columns gives, at each pixel, the number of windows covering it.
    col_rows = x_shape[1] * kernel[0] * kernel[1]
    OH = conv_output_size(x_shape[2], kernel[0], stride[0], padding[0])
    OW = conv_output_size(x_shape[3], kernel[1], stride[1], padding[1])
    ones = xp.ones((col_rows, x_shape[0] * OH * OW))
    counts = col2im(ones, x_shape, kernel, stride, padding)
    np.testing.assert_array_equal(host(counts), naive_coverage(x_shape, kernel, stride, padding))
