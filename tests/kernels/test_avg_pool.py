"""Average pooling (kernels/avg_pool.py) against the textbook loops of tinynet/functional/reference/pool.py:
the window sums, PyTorch's divisors (ceil_mode windows hanging past the edge, count_include_pad,
divisor_override) and the backward's even shares.
"""
import numpy as np
import pytest

from kernels import avg_pool
from kernels.sizes import conv_output_size
from tests.helpers import host
from tinynet.functional import reference

# (x shape, kernel, stride, padding, ceil_mode)
AVG_GEOMETRIES = [
    pytest.param((1, 2, 7, 6), (3, 3), (2, 2), (1, 1), False, id="k3s2p1"),
    pytest.param((1, 2, 7, 6), (3, 3), (2, 2), (1, 1), True, id="k3s2p1-ceil"),
    pytest.param((2, 1, 5, 5), (2, 2), (2, 2), (1, 1), True, id="k2s2p1-ceil-hangs-past-padding"),
    pytest.param((1, 1, 4, 4), (3, 3), (2, 2), (0, 0), True, id="k3s2-ceil-hangs-past-input"),
    pytest.param((1, 1, 2, 2), (3, 3), (3, 3), (0, 0), True, id="ceil-window-over-input"),
    pytest.param((1, 2, 6, 9), (2, 3), (1, 2), (1, 1), False, id="non-square"),
]
DIVISORS = [pytest.param(True, None, id="count-pad"), pytest.param(False, None, id="count-input"),
            pytest.param(True, 3, id="override-3"), pytest.param(False, -2, id="override--2")]


@pytest.mark.parametrize("count_include_pad, divisor_override", DIVISORS)
@pytest.mark.parametrize("x_shape, kernel, stride, padding, ceil_mode", AVG_GEOMETRIES)
def test_avgpool_matches_the_reference(xp, rng, x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                                       divisor_override):
    x = rng.standard_normal(x_shape)
    out = (conv_output_size(x_shape[2], kernel[0], stride[0], padding[0], 1, ceil_mode),
           conv_output_size(x_shape[3], kernel[1], stride[1], padding[1], 1, ceil_mode))
    divisor = avg_pool.avgpool_divisor(x_shape[2:], out, kernel, stride, padding, count_include_pad, divisor_override,
                                   np.float64, xp)
    y = avg_pool.avgpool_forward(xp.asarray(x), kernel, stride, padding, divisor)
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    np.testing.assert_allclose(host(y), reference.avg_pool2d(x, *args), rtol=1e-14, atol=1e-15)
    gy = rng.standard_normal(y.shape)
    gx = avg_pool.avgpool_backward(xp.asarray(gy), x_shape, kernel, stride, padding, divisor)
    np.testing.assert_allclose(host(gx), reference.avg_pool2d_backward(gy, x_shape, *args), rtol=1e-14,
                               atol=1e-15)


def test_avgpool_divisor_rules_on_a_hanging_window():
    # 4 cells, k3 s2, no padding, ceil_mode: windows [0, 3) and [2, 5); the second hangs one cell
    # past the edge and counts 2 cells (not 3) under count_include_pad, as PyTorch computes it.
    d = avg_pool.avgpool_divisor((4, 4), (2, 2), (3, 3), (2, 2), (0, 0), True)
    np.testing.assert_array_equal(d, [[9, 6], [6, 4]])
    # Padding 1, k2 s2 on 5 cells: windows [-1, 1), [1, 3), [3, 5); count_include_pad counts the
    # padded cell of the first, the count of input cells does not.
    np.testing.assert_array_equal(avg_pool.avgpool_divisor((5, 5), (3, 3), (2, 2), (2, 2), (1, 1), True)[0], [4, 4, 4])
    np.testing.assert_array_equal(avg_pool.avgpool_divisor((5, 5), (3, 3), (2, 2), (2, 2), (1, 1), False)[0],
                                  [1, 2, 2])
    np.testing.assert_array_equal(avg_pool.avgpool_divisor((5, 5), (3, 3), (2, 2), (2, 2), (1, 1), False, 7), 7)
