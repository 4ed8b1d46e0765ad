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


# --- min / max with ties, amax / amin, argmin, var / std (PyTorch's values from the fixture) ------------------

import tinynet.functional as F  # noqa: E402
from tests.functional.torch_cases import check_case, names  # noqa: E402


@pytest.mark.parametrize("name", names("max", "min", "amax", "amin", "argmax", "argmin", "var", "std", "sum", "mean"))
def test_matches_pytorch(device, name):
    """Values and gradients equal PyTorch's: ties split evenly without dim, to the index with dim."""
    check_case(name, device)


def test_max_tie_splits_the_gradient_evenly(device):
    """max() reached by three elements: each gets g / 3; max(dim) sends each row's g to its first maximum."""
    x = tensor(np.array([[2.0, 0.5, 2.0], [2.0, -1.0, 1.0]]), device, requires_grad=True)
    x.max().backward(tensor(np.array(3.0), device))
    np.testing.assert_array_equal(host(x.grad), [[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    x.grad = None
    x.max(1).values.backward(tensor(np.array([1.0, 1.0]), device))
    np.testing.assert_array_equal(host(x.grad), [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    x.grad = None
    F.amin(x, 1).backward(tensor(np.array([1.0, 1.0]), device))
    np.testing.assert_array_equal(host(x.grad), [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])


def test_max_of_nan_sends_the_gradient_to_the_nans(device):
    x = tensor(np.array([1.0, np.nan, 3.0, np.nan]), device, requires_grad=True)
    m = x.max()
    assert np.isnan(float(host(m)))
    m.backward()
    np.testing.assert_array_equal(host(x.grad), [0.0, 0.5, 0.0, 0.5])


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_min_gradcheck_tie_free(device, rng, dim, keepdim):
    x = tie_free(rng, (3, 4, 2), device)
    fn = (lambda x: x.min()) if dim is None else (lambda x: x.min(dim, keepdim=keepdim).values)
    assert tinynet.gradcheck(fn, [x])


@pytest.mark.parametrize("dim", [(), 1, (0, 2), -1])
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_gradcheck(device, rng, name, dim):
    x = tie_free(rng, (3, 4, 2), device)
    assert tinynet.gradcheck(lambda x: getattr(x, name)(dim), [x])
    assert tinynet.gradcheck(lambda x: getattr(F, name)(x, dim, keepdim=True), [x])


@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), ((0, 2), True), (-1, True)])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_values_and_gradcheck(device, rng, name, dim, keepdim, correction):
    """var = sum (x - mean)^2 / (N - correction) as NumPy's ddof; its gradient 2 (x - mean) / (N - c), std's
    that over 2 std."""
    x = rand(rng, (3, 4, 5), device)
    y = getattr(x, name)(dim, keepdim=keepdim, correction=correction)
    expected = getattr(np, name)(host(x), axis=dim, ddof=correction, keepdims=keepdim)
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(host(y), expected, rtol=1e-12)
    assert tinynet.gradcheck(lambda x: getattr(F, name)(x, dim, keepdim=keepdim, correction=correction), [x])


def test_var_spellings(device, rng):
    """unbiased=False is correction=0; var(x, True) reads the flag in dim's place, as torch.var does."""
    x = rand(rng, (3, 4), device, requires_grad=False)
    np.testing.assert_allclose(host(x.var(1, False)), np.var(host(x), axis=1), rtol=1e-13)
    np.testing.assert_allclose(host(x.var(unbiased=False)), np.var(host(x)), rtol=1e-13)
    np.testing.assert_allclose(host(F.var(x, True)), np.var(host(x), ddof=1), rtol=1e-13)
    np.testing.assert_allclose(host(x.std(correction=0.5)), np.std(host(x), ddof=0.5), rtol=1e-13)


def test_var_of_one_element_is_nan(device):
    """N - correction = 0: 0 / 0, nan, as PyTorch (which also warns)."""
    assert np.isnan(float(host(tensor(np.array([3.0]), device).var())))


def test_functions_take_plain_arrays(rng):
    """``_, pred = F.max(out.data, 1)`` works as with torch.max on a tensor."""
    a = rng.standard_normal((4, 3))
    _, pred = F.max(a, 1)
    np.testing.assert_array_equal(host(pred), a.argmax(1))
    assert pred.dtype == np.int64
    np.testing.assert_allclose(host(F.sum(a, 0)), a.sum(0))
    np.testing.assert_allclose(host(F.mean(a)), a.mean())
    np.testing.assert_array_equal(host(F.argmin(a, 1, keepdim=True)), a.argmin(1)[:, None])
    assert F.argmax(a).dtype == np.int64 and F.argmax(a).shape == ()
    np.testing.assert_allclose(host(F.std(a, 0)), a.std(0, ddof=1))


def test_max_min_of_0d_tensors_with_dim(device):
    """A 0-d tensor with dim 0: the value itself and index 0, as PyTorch."""
    x = tensor(np.array(2.5), device, requires_grad=True)
    values, indices = x.max(0)
    assert values.shape == () and float(host(values)) == 2.5 and int(host(indices)) == 0
    values.backward()
    assert float(host(x.grad)) == 1.0


REFUSED = [
    pytest.param(lambda x: x.max(3), IndexError, r"^max: dim 3 is out of range for a tensor of 2 dimensions", id="max-dim-3"),
    pytest.param(lambda x: x.min(1.0), TypeError, r"^min: dim must be an int, got 1\.0", id="min-float-dim"),
    pytest.param(lambda x: x.min((0, 1)), ValueError, r"^min: dim must be one int", id="min-tuple"),
    pytest.param(lambda x: x.max(x), TypeError, r"^max: dim must be an int; for the elementwise", id="max-of-two"),
    pytest.param(lambda x: x.max(1, keepdim="yes"), TypeError, r"^max: keepdim must be True or False", id="keepdim-str"),
    pytest.param(lambda x: tinynet.Tensor(np.zeros((0, 3))).max(), ValueError, r"^max: .*are empty", id="max-empty"),
    pytest.param(lambda x: tinynet.Tensor(np.zeros((2, 0))).min(1), ValueError, r"^min: dim 1 .* is empty",
                 id="min-empty-dim"),
    pytest.param(lambda x: x.amax((0, 0)), ValueError, r"^amax: dim=\(0, 0\) names a dimension more than once",
                 id="amax-repeat"),
    pytest.param(lambda x: x.argmin(2), IndexError, r"^argmin: dim 2 is out of range", id="argmin-dim"),
    pytest.param(lambda x: x.var(correction="1"), TypeError, r"^var: correction must be a number", id="var-str"),
    pytest.param(lambda x: x.var(unbiased=1), TypeError, r"^var: unbiased must be True or False", id="var-unbiased-int"),
    pytest.param(lambda x: x.std(unbiased=True, correction=0), TypeError, r"^std: give correction= or unbiased=",
                 id="std-both"),
    pytest.param(lambda x: tinynet.Tensor(np.arange(3)).var(), TypeError, r"^var: input must be floating point",
                 id="var-int"),
    pytest.param(lambda x: F.mean(np.arange(3)), TypeError, r"^mean: input must be floating point", id="mean-int"),
    pytest.param(lambda x: F.sum("abc"), TypeError, r"^sum: input: Tensor: data must be numbers", id="sum-str"),
    pytest.param(lambda x: F.max([1.0, "a"]), TypeError, r"^max: input: .*holding a str", id="max-list-str"),
]


@pytest.mark.parametrize("action, error, message", REFUSED)
def test_bad_arguments_are_refused_naming_the_op(rng, action, error, message):
    with pytest.raises(error, match=message):
        action(tensor(rng.standard_normal((2, 3))))


def test_var_refuses_a_non_finite_correction(rng):
    with pytest.raises(ValueError, match=r"^var: correction must be a finite number, got nan"):
        tensor(rng.standard_normal(3)).var(correction=float("nan"))
