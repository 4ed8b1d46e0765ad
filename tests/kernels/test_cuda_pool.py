"""The max-pool kernels of kernels/cuda/pool.cu with dilation and ceil_mode, and PyTorch's winner rules
(first cell on a tie, last NaN, first real tap of a -inf window), against the NumPy version and the
reference loop.

The targets are those of tests/kernels/test_cuda_kernels.py: "emulated" (the .cu source built with
g++ and run on the CPU through kernels.cuda's own launchers) and "cuda" (CuPy on a GPU, skipped
where there is none). Without a GPU these kernels are checked only by nvcc (test_cuda_sources.py)
and this emulation.
"""
import numpy as np
import pytest

import kernels
from kernels import pool
from tests.kernels.test_cuda_kernels import (DTYPES, _inputs, _tie_free, assert_matches, host_modules,  # noqa: F401
                                             index, target)
from tinynet.functional import reference

# (x shape, kernel, stride, padding, dilation, ceil_mode)
WINDOW_CASES = [
    pytest.param((2, 2, 9, 8), (3, 3), (1, 1), (1, 1), (2, 2), False, id="dilation2-p1"),
    pytest.param((1, 3, 10, 9), (3, 2), (2, 1), (1, 1), (2, 3), False, id="dilation-pairs"),
    pytest.param((1, 2, 8, 8), (3, 3), (2, 2), (0, 0), (1, 1), True, id="ceil-hangs-past-edge"),
    pytest.param((2, 2, 6, 7), (3, 3), (2, 2), (1, 1), (1, 1), True, id="ceil-padding"),
    pytest.param((1, 1, 9, 10), (2, 2), (3, 3), (1, 1), (2, 2), True, id="ceil-dilation"),
    pytest.param((1, 2, 7, 8), (2, 3), (3, 2), (1, 1), (3, 1), True, id="stride-over-kernel-dilation3"),
    pytest.param((1, 1, 2, 2), (3, 3), (3, 3), (0, 0), (1, 1), True, id="ceil-window-over-input"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil_mode", WINDOW_CASES)
def test_forward_with_dilation_and_ceil_mode(target, index, rng, dtype, x_shape, kernel, stride, padding, dilation,
                                             ceil_mode):
    # Maxima and offsets exactly as NumPy's version, and PyTorch's indices as the reference loop's.
    x = _tie_free(rng, x_shape).astype(dtype)
    y, arg = target.run("maxpool_forward", x, kernel, stride, padding, np.dtype("uint8"), dilation, ceil_mode)
    y_ref, arg_ref = kernels.maxpool_forward(x, kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(arg, arg_ref)
    _, idx_ref = reference.max_pool2d(x.astype(np.float64), kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(pool.maxpool_indices(arg, x_shape, kernel, stride, padding, dilation), idx_ref)
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, dilation, ceil_mode", WINDOW_CASES)
def test_backward_with_dilation_and_ceil_mode(target, index, rng, dtype, x_shape, kernel, stride, padding, dilation,
                                              ceil_mode):
    # The gather finds every window that has the pixel as a tap (dilated taps, hanging windows) and
    # adds the same values in the same order as NumPy's slice additions.
    x = _tie_free(rng, x_shape)
    y_ref, arg = kernels.maxpool_forward(x, kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode)
    (gy,), (gy_ref,) = _inputs(dtype, rng.standard_normal(y_ref.shape))
    got = target.run("maxpool_backward", gy, arg, x_shape, kernel, stride, padding, dilation)
    want = kernels.maxpool_backward(gy_ref, arg, x_shape, kernel, stride, padding, dilation)
    assert_matches(got, want, dtype, exact=True)
    assert target.index_dtypes() == [index]


@pytest.mark.parametrize("dtype", DTYPES)
def test_winner_rules_match_numpy(target, dtype):
    # Two NaNs in a window (the last wins), windows of -inf cells with padding (the first real tap
    # wins), a tie over a whole window (the first cell), and a dilated window with no real cell.
    x = -np.arange(1.0, 1.0 + 2 * 6 * 6).reshape(1, 2, 6, 6)
    x[0, 0, 0, 0] = x[0, 0, 0, 1] = np.nan
    x[0, 0, 3:, 3:] = -np.inf
    x[0, 1, :3, :3] = 7.0
    x = x.astype(dtype)
    for kernel, stride, padding, dilation in [((2, 2), (2, 2), (1, 1), (1, 1)), ((3, 3), (3, 3), (0, 0), (1, 1)),
                                              ((2, 2), (1, 1), (1, 1), (2, 2)), ((2, 2), (3, 3), (1, 1), (5, 5))]:
        y, arg = target.run("maxpool_forward", x, kernel, stride, padding, np.dtype("uint8"), dilation)
        y_ref, arg_ref = kernels.maxpool_forward(x, kernel, stride, padding, dilation=dilation)
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(arg, arg_ref)
        _, idx_ref = reference.max_pool2d(x.astype(np.float64), kernel, stride, padding, dilation)
        np.testing.assert_array_equal(pool.maxpool_indices(arg, x.shape, kernel, stride, padding, dilation), idx_ref)


def test_a_window_with_no_real_cell_sends_no_gradient(target):
    # 2x2 input, k2 d3 p1: the one window's taps are -1 and 2 on each axis, all padding. Its maximum
    # is -inf, and no pixel gathers its gradient.
    x = np.arange(8.0, dtype=np.float32).reshape(1, 2, 2, 2)
    y, arg = target.run("maxpool_forward", x, (2, 2), (1, 1), (1, 1), np.dtype("uint8"), (3, 3))
    np.testing.assert_array_equal(y, np.full((1, 2, 1, 1), -np.inf, np.float32))
    gx = target.run("maxpool_backward", np.ones((1, 2, 1, 1), np.float32), arg, x.shape, (2, 2), (1, 1), (1, 1),
                    (3, 3))
    np.testing.assert_array_equal(gx, np.zeros_like(x))
