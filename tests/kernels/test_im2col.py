"""im2col / col2im against the loop reference (tinynet/functional/reference/conv.py), on both backends.

Reference layout: col[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh*sH + i*dH, ow*sW + j*dW].
"""
import numpy as np
import pytest

from kernels import col2im, conv_output_size, im2col
from tests.helpers import host
from tinynet.functional import reference

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
# The same with dilation (x shape, kernel, stride, padding, dilation): taps spaced out, with strides
# that share a factor with the dilation (so some pixels are read by no tap at all) or none.
DILATED_CASES = [
    pytest.param((2, 2, 7, 7), (3, 3), (1, 1), (0, 0), (2, 2), id="3x3-d2"),
    pytest.param((1, 2, 9, 8), (3, 2), (1, 2), (2, 1), (2, 3), id="3x2-s12-p21-d23"),
    pytest.param((1, 1, 11, 10), (3, 3), (3, 2), (1, 1), (2, 3), id="3x3-s32-d23-coprime"),
    pytest.param((2, 1, 9, 9), (2, 3), (2, 2), (0, 1), (2, 2), id="2x3-s2-d2-shared-factor"),
    pytest.param((1, 2, 10, 9), (2, 2), (4, 2), (1, 0), (2, 4), id="2x2-s42-d24"),
    pytest.param((1, 1, 3, 3), (3, 3), (1, 1), (1, 1), (2, 2), id="span-equals-padded"),
    pytest.param((1, 2, 5, 6), (1, 1), (2, 1), (0, 0), (3, 2), id="1x1-dilation-is-moot"),
]


def naive_output_size(size, k, s, p, d=1):
    # Count window positions one by one: start at -p, step s, the last tap (d*(k - 1) further)
    # must fall inside size + p.
    n, start = 0, -p
    while start + d * (k - 1) < size + p:
        n += 1
        start += s
    return n


def naive_im2col(x, kernel, stride, padding, dilation=(1, 1)):
    """The loop reference (tests/kernels/test_parallel.py uses it under this name)."""
    return reference.im2col(x, kernel, stride, padding, dilation)


def naive_coverage(x_shape, kernel, stride, padding, dilation=(1, 1)):
    # How many windows contain each input pixel: unfold an image of distinct labels 1, 2, ... with
    # the loop reference and count each label among the column entries (the padding reads 0).
    labels = np.arange(1, 1 + int(np.prod(x_shape))).reshape(x_shape)
    col = reference.im2col(labels, kernel, stride, padding, dilation)
    return np.bincount(col.ravel(), minlength=labels.size + 1)[1:].reshape(x_shape).astype(np.float64)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", CASES)
def test_conv_output_size_matches_counting(x_shape, kernel, stride, padding):
    # The closed form floor((H + 2p - k) / s) + 1 equals counting window positions.
    for size, k, s, p in zip(x_shape[2:], kernel, stride, padding):
        assert conv_output_size(size, k, s, p) == naive_output_size(size, k, s, p)


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", DILATED_CASES)
def test_dilated_output_size_matches_counting(x_shape, kernel, stride, padding, dilation):
    # floor((H + 2p - d*(k - 1) - 1) / s) + 1 equals counting window positions.
    for size, k, s, p, d in zip(x_shape[2:], kernel, stride, padding, dilation):
        assert conv_output_size(size, k, s, p, d) == naive_output_size(size, k, s, p, d)


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


# --- dilation -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", DILATED_CASES)
def test_dilated_im2col_matches_the_loop_reference(xp, rng, x_shape, kernel, stride, padding, dilation):
    # Every entry, the zeros of the padding included, is the pixel its tap reads (i*dH, j*dW apart).
    x = rng.standard_normal(x_shape)
    col = im2col(xp.asarray(x), kernel, stride, padding, dilation)
    np.testing.assert_array_equal(host(col), reference.im2col(x, kernel, stride, padding, dilation))


@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", DILATED_CASES)
def test_dilated_col2im_is_the_adjoint(xp, rng, x_shape, kernel, stride, padding, dilation):
    # <im2col(x), c> == <x, col2im(c)>, and col2im of ones counts the windows covering each pixel
    # (0 for the pixels that no tap reads when stride and dilation share a factor).
    x = rng.standard_normal(x_shape)
    c = rng.standard_normal(reference.im2col(x, kernel, stride, padding, dilation).shape)
    lhs = float(np.sum(host(im2col(xp.asarray(x), kernel, stride, padding, dilation)) * c))
    folded = col2im(xp.asarray(c), x_shape, kernel, stride, padding, dilation)
    assert lhs == pytest.approx(float(np.sum(x * host(folded))), rel=1e-12, abs=1e-12)
    counts = col2im(xp.ones(c.shape), x_shape, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(host(counts), naive_coverage(x_shape, kernel, stride, padding, dilation))


def test_a_pixel_between_the_taps_gets_no_gradient(xp):
    # Stride 2 and dilation 2 without padding: every tap lands on an even row and column, so the odd
    # rows and columns are never read and their gradient is exactly 0.
    counts = host(col2im(xp.ones((4, 9)), (1, 1, 7, 7), (2, 2), (2, 2), (0, 0), (2, 2)))[0, 0]
    assert (counts[1::2, :] == 0).all() and (counts[:, 1::2] == 0).all()
    # Windows start at rows 0, 2, 4 and read rows (0, 2), (2, 4), (4, 6): rows 0..6 step 2 are read 1, 2, 2, 1 times.
    np.testing.assert_array_equal(counts[::2, ::2], np.outer([1, 2, 2, 1], [1, 2, 2, 1]))
