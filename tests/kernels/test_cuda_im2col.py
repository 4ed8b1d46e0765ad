"""The dilated im2col / col2im CUDA kernels (kernels/cuda/im2col.cu) against the NumPy versions.

The targets, dtypes and index widths of tests/kernels/test_cuda_kernels.py (its fixtures are reused
here): "emulated" compiles the .cu source with g++ and runs it on the CPU thread by thread through
kernels.cuda's own launch code; "cuda" runs it with CuPy on a GPU (skipped where there is none, so
on a machine without a GPU these kernels are verified by the emulation and nvcc alone).
The undilated cases stay in test_cuda_kernels.py.
"""
import numpy as np
import pytest

import kernels
from tests.kernels.test_cuda_kernels import DTYPES, _inputs, assert_matches, host_modules, index, target  # noqa: F401
from tests.kernels.test_im2col import DILATED_CASES


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", DILATED_CASES)
def test_dilated_im2col(target, index, rng, dtype, x_shape, kernel, stride, padding, dilation):
    # A copy: every entry, the zeros of the padding included, equals NumPy's in every dtype.
    x = rng.standard_normal(x_shape).astype(dtype)
    got = target.run("im2col", x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(got, kernels.im2col(x, kernel, stride, padding, dilation))
    assert got.dtype == x.dtype
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation", DILATED_CASES)
def test_dilated_col2im(target, index, rng, dtype, x_shape, kernel, stride, padding, dilation):
    # The gather visits the taps that read each pixel (first_tap, then every tH-th) in NumPy's order,
    # so float32 and float64 sums are equal bit for bit.
    rows = x_shape[1] * kernel[0] * kernel[1]
    OH = kernels.conv_output_size(x_shape[2], kernel[0], stride[0], padding[0], dilation[0])
    OW = kernels.conv_output_size(x_shape[3], kernel[1], stride[1], padding[1], dilation[1])
    (col,), (col_ref,) = _inputs(dtype, rng.standard_normal((rows, x_shape[0] * OH * OW)))
    got = target.run("col2im", col, x_shape, kernel, stride, padding, dilation)
    expected = kernels.col2im(col_ref, x_shape, kernel, stride, padding, dilation)
    assert_matches(got, expected, dtype, exact=True)
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("stride, dilation", [((2, 2), (2, 2)), ((4, 6), (2, 4)), ((3, 2), (2, 3)), ((6, 4), (4, 6))])
def test_col2im_counts_the_taps_of_every_pixel(target, stride, dilation):
    # col2im of all-ones columns counts, at each pixel, the taps that read it; where stride and
    # dilation share a factor, whole rows or columns are read by none (first_tap finds no tap and
    # returns kH), and the count there must be 0, as NumPy's.
    x_shape, kernel, padding = (1, 1, 17, 16), (3, 3), (1, 2)
    OH = kernels.conv_output_size(17, 3, stride[0], 1, dilation[0])
    OW = kernels.conv_output_size(16, 3, stride[1], 2, dilation[1])
    ones = np.ones((9, OH * OW), np.float64)
    got = target.run("col2im", ones, x_shape, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(got, kernels.col2im(ones, x_shape, kernel, stride, padding, dilation))


def test_dilation_1_passes_the_same_kernel_arguments(target):
    # The undilated launch (the AlexNet path) is the dilated one with d = 1 and tap step = stride.
    x = np.arange(2 * 3 * 6 * 5, dtype=np.float32).reshape(2, 3, 6, 5)
    a = target.run("im2col", x, (3, 3), (2, 1), (1, 1))
    b = target.run("im2col", x, (3, 3), (2, 1), (1, 1), (1, 1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(target.run("col2im", a, x.shape, (3, 3), (2, 1), (1, 1)),
                                  kernels.col2im(a, x.shape, (3, 3), (2, 1), (1, 1)))
