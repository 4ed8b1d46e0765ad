"""Reductions (tinynet/functional/reduction.py): sum, mean, max with dim/keepdim.

Values are compared with NumPy; gradients by hand and with central differences.
"""

import numpy as np
import pytest

import tinynet
from tests.helpers import host, rand, tensor, tie_free

# --- reductions ----------------------------------------------------------------------------------------------

REDUCE_DIMS = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", REDUCE_DIMS)
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean_values_and_gradcheck(device, rng, name, dim, keepdim):
    """sum/mean over dim (int, tuple or all) with keepdim match NumPy; the gradient spreads g back evenly."""
    x = rand(rng, (2, 3, 4), device)
    y = getattr(x, name)(dim=dim, keepdim=keepdim)
    expected = getattr(np, name)(host(x), axis=dim, keepdims=keepdim)
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(host(y), expected, rtol=1e-14)
    assert tinynet.gradcheck(lambda x: getattr(x, name)(dim=dim, keepdim=keepdim), [x])


def test_mean_gradient_by_hand(device, rng):
    """mean over dim 1 of a (2, 4): each element gets g[n] / 4."""
    x = rand(rng, (2, 4), device)
    g = np.array([2.0, -8.0])
    x.mean(dim=1).backward(tensor(g, device))
    np.testing.assert_array_equal(host(x.grad), np.repeat(g[:, None] / 4, 4, axis=1))


def test_leaf_grad_from_sum_is_writable(device, rng):
    """The gradient of sum is a broadcast view internally; the leaf's .grad is still a writable array."""
    x = rand(rng, (2, 3), device)
    x.sum().backward()
    x.grad.data += 1.0
    np.testing.assert_array_equal(host(x.grad), np.full((2, 3), 2.0))


def test_max_scalar(device, rng):
    """x.max() is a 0-d tensor holding the maximum; its gradient is g at the argmax, 0 elsewhere."""
    x = tie_free(rng, (3, 4), device)
    m = x.max()
    assert m.shape == () and float(host(m)) == host(x).max()
    m.backward(tensor(np.array(2.5), device))
    expected = np.zeros((3, 4))
    expected[np.unravel_index(np.argmax(host(x)), (3, 4))] = 2.5
    np.testing.assert_array_equal(host(x.grad), expected)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_dim_values_and_indices(device, rng, dim, keepdim):
    """x.max(dim) returns (values, indices) equal to NumPy's max and argmax, with keepdim shapes."""
    x = tie_free(rng, (3, 4, 2), device, requires_grad=False)
    values, indices = x.max(dim, keepdim=keepdim)
    result = x.max(dim, keepdim=keepdim)
    np.testing.assert_array_equal(host(result.values), host(values))
    expected_v = np.max(host(x), axis=dim, keepdims=keepdim)
    expected_i = np.argmax(host(x), axis=dim)
    if keepdim:
        expected_i = np.expand_dims(expected_i, dim)
    assert values.shape == expected_v.shape and indices.shape == expected_v.shape
    np.testing.assert_array_equal(host(values), expected_v)
    assert host(indices).dtype.kind in "iu"
    np.testing.assert_array_equal(host(indices), expected_i)
    assert not indices.requires_grad


def test_max_dim_gradient_by_hand(device):
    """max over dim 1 of [[1, 5, 2], [7, 0, 3]]: values (5, 7), indices (1, 0); g lands on those cells."""
    x = tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]), device, requires_grad=True)
    values, indices = x.max(1)
    np.testing.assert_array_equal(host(values), [5.0, 7.0])
    np.testing.assert_array_equal(host(indices), [1, 0])
    values.backward(tensor(np.array([2.0, 3.0]), device))
    np.testing.assert_array_equal(host(x.grad), [[0.0, 2.0, 0.0], [3.0, 0.0, 0.0]])


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_max_gradcheck_tie_free(device, rng, dim, keepdim):
    """On tie-free inputs the max's gradient agrees with central differences."""
    x = tie_free(rng, (3, 4, 2), device)
    if dim is None:
        assert tinynet.gradcheck(lambda x: x.max(), [x])
    else:
        assert tinynet.gradcheck(lambda x: x.max(dim, keepdim=keepdim).values, [x])


def test_max_over_several_dims_is_refused_clearly(rng):
    with pytest.raises(ValueError, match="max: dim must be one int"):
        tensor(rng.standard_normal((2, 3, 4))).max(dim=(0, 1))
