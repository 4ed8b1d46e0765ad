"""Picking, placing and ordering by index (tinynet/functional/indexing.py): gather, scatter, scatter_add,
masked_fill, where, sort, argsort, topk.

Values and gradients are compared with PyTorch's (the fixture), with a plain loop, and with central
differences; gather's backward is a scatter-add, so an index that repeats must add its gradients.
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.functional.torch_cases import check_case, names
from tests.helpers import host, rand, tensor, tie_free


@pytest.mark.parametrize("name", names("gather", "scatter", "masked_fill", "where", "topk", "sort", "argsort"))
def test_matches_pytorch(device, name):
    check_case(name, device)


def _index(xp, values):
    return tinynet.Tensor(xp.asarray(np.array(values, dtype=np.int64)))


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gather_matches_a_loop_and_gradchecks(device, xp, rng, dim):
    """out[p] = x[p with p[dim] = index[p]]; index smaller than x outside dim is allowed, as in PyTorch."""
    x = rand(rng, (3, 4, 5), device)
    axis = dim % 3
    ishape = [2, 3, 4]
    ishape[axis] = 6  # longer than x along dim: indices repeat
    idx = rng.integers(0, x.shape[axis], size=ishape)
    y = F.gather(x, dim, _index(xp, idx))
    expected = np.empty(ishape)
    for p in np.ndindex(*ishape):
        q = list(p)
        q[axis] = idx[p]
        expected[p] = host(x)[tuple(q)]
    np.testing.assert_array_equal(host(y), expected)
    assert tinynet.gradcheck(lambda x: x.gather(dim, _index(xp, idx)), [x])


def test_gather_backward_adds_repeated_indices(device, xp):
    x = tensor(np.zeros((1, 3)), device, requires_grad=True)
    x.gather(1, _index(xp, [[2, 2, 0, 2]])).backward(tensor(np.array([[1.0, 2.0, 3.0, 4.0]]), device))
    np.testing.assert_array_equal(host(x.grad), [[3.0, 0.0, 7.0]])


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_gradcheck(device, xp, rng, dim):
    """scatter writes src at index (no repeats here); input's gradient is g with zeros where written, src's
    is g gathered there."""
    x, src = rand(rng, (4, 5), device), rand(rng, (4, 5), device)
    n = x.shape[dim]
    idx = np.stack([rng.permutation(n)[:3] for _ in range(3)], axis=1 - dim)  # 3 distinct per line
    y = F.scatter(x, dim, _index(xp, idx), src)
    expected = host(x).copy()
    for p in np.ndindex(*idx.shape):
        q = list(p)
        q[dim] = idx[p]
        expected[tuple(q)] = host(src)[p]
    np.testing.assert_array_equal(host(y), expected)
    assert tinynet.gradcheck(lambda x, s: x.scatter(dim, _index(xp, idx), s), [x, src])
    assert tinynet.gradcheck(lambda x: x.scatter(dim, _index(xp, idx), value=-2.0), [x])
    rep = rng.integers(0, n, size=idx.shape)  # scatter_add: repeats add up
    assert tinynet.gradcheck(lambda x, s: x.scatter_add(dim, _index(xp, rep), s), [x, src])


def test_masked_fill_and_where_gradcheck(device, xp, rng):
    x, z = rand(rng, (3, 4), device), rand(rng, (4,), device)
    mask = tinynet.Tensor(xp.asarray(rng.random((3, 4)) > 0.5))
    row = tinynet.Tensor(xp.asarray(np.array([True, False, False, True])))
    v = tensor(np.array(0.7), device, requires_grad=True)
    np.testing.assert_array_equal(host(x.masked_fill(mask, 2.0)), np.where(host(mask), 2.0, host(x)))
    assert tinynet.gradcheck(lambda x: x.masked_fill(mask, 2.0), [x])
    assert tinynet.gradcheck(lambda x, v: F.masked_fill(x, row, v), [x, v])
    np.testing.assert_array_equal(host(F.where(mask, x, z)), np.where(host(mask), host(x), host(z)))
    assert tinynet.gradcheck(lambda x, z: F.where(mask, x, z), [x, z])
    assert tinynet.gradcheck(lambda z: F.where(x > 0, 1.5, z), [z])


def test_where_of_two_numbers(device, xp):
    cond = tinynet.Tensor(xp.asarray(np.array([True, False])))
    y = F.where(cond, 1, 0)
    assert y.dtype == np.int64 and host(y).tolist() == [1, 0] and y.device == device
    assert F.where(cond, 1.0, 0).dtype == np.float32


@pytest.mark.parametrize("dim, descending", [(-1, False), (0, True), (1, False), (2, True)])
def test_sort_values_indices_and_gradcheck(device, rng, dim, descending):
    x = tie_free(rng, (3, 4, 5), device)
    values, indices = x.sort(dim, descending)
    order = np.argsort(-host(x) if descending else host(x), axis=dim)
    np.testing.assert_array_equal(host(indices), order)
    np.testing.assert_array_equal(host(values), np.take_along_axis(host(x), order, axis=dim))
    np.testing.assert_array_equal(host(x.argsort(dim, descending)), order)
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert tinynet.gradcheck(lambda x: F.sort(x, dim, descending).values, [x])


def test_sort_is_stable_both_ways(device):
    """Equal elements keep their order ascending and descending (PyTorch's stable=True)."""
    x = tensor(np.array([1.0, 3.0, 1.0, 3.0, 2.0]), device)
    assert host(x.sort().indices).tolist() == [0, 2, 4, 1, 3]
    assert host(x.sort(descending=True).indices).tolist() == [1, 3, 4, 0, 2]
    nan = tensor(np.array([1.0, np.nan, 0.0]), device)
    assert host(nan.sort().indices).tolist() == [2, 0, 1]  # NaN sorts as the largest, as in PyTorch
    assert host(nan.sort(descending=True).indices).tolist() == [1, 0, 2]


@pytest.mark.parametrize("k, dim, largest", [(1, -1, True), (3, 1, False), (4, 0, True), (0, 2, True), (5, 2, False)])
def test_topk_values_indices_and_gradcheck(device, rng, k, dim, largest):
    x = tie_free(rng, (4, 3, 5), device)
    values, indices = F.topk(x, k, dim, largest)
    order = np.argsort(-host(x) if largest else host(x), axis=dim)
    order = np.take(order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(host(indices), order)
    np.testing.assert_array_equal(host(values), np.take_along_axis(host(x), order, axis=dim))
    assert tinynet.gradcheck(lambda x: x.topk(k, dim, largest).values, [x])


def test_0d_inputs(device):
    x = tensor(np.array(2.0), device, requires_grad=True)
    assert float(host(x.sort().values)) == 2.0 and x.topk(1).indices.shape == ()
    assert float(host(x.gather(0, tinynet.Tensor(np.array(0))))) == 2.0


def _t(*shape):
    return tinynet.Tensor(np.zeros(shape))


def _i(values):
    return tinynet.Tensor(np.array(values, dtype=np.int64))


INDEX_REFUSED = [
    pytest.param(lambda: _t(2, 3).gather(1, tinynet.Tensor(np.zeros((2, 1)))), TypeError,
                 r"^gather: index must be an int64 \(long\) tensor, got dtype float64; convert with \.long\(\)",
                 id="gather-float-index"),
    pytest.param(lambda: _t(2, 3).gather(1, tinynet.Tensor(np.zeros((2, 1), bool))), TypeError,
                 r"^gather: index must be an int64 \(long\) tensor, got dtype bool", id="gather-bool-index"),
    pytest.param(lambda: _t(2, 3).gather(1, _i([0, 1])), tinynet.ShapeError,
                 r"^gather: index must have as many dimensions as the input \(2, shape \(2, 3\)\), got shape \(2,\)",
                 id="gather-index-ndim"),
    pytest.param(lambda: _t(2, 3).gather(1, _i([[0], [1], [2]])), tinynet.ShapeError,
                 r"^gather: index has shape \(3, 1\), larger than the input \(2, 3\) in dimension 0", id="gather-index-big"),
    pytest.param(lambda: _t(2, 3).gather(1, _i([[0], [3]])), IndexError,
                 r"^gather: index 3 is out of bounds for dimension 1 with size 3", id="gather-out-of-range"),
    pytest.param(lambda: _t(2, 3).gather(1, _i([[0], [-1]])), IndexError, r"^gather: index -1 is out of bounds",
                 id="gather-negative"),
    pytest.param(lambda: _t(2, 3).gather(2, _i([[0], [1]])), IndexError, r"^gather: dim 2 is out of range", id="gather-dim"),
    pytest.param(lambda: _t(2, 3).gather(1, 0), TypeError, r"^gather: index must be a Tensor of int64", id="gather-int"),
    pytest.param(lambda: _t(2, 3).gather(1, "0"), TypeError, r"^gather: index must be a Tensor", id="gather-str"),
    pytest.param(lambda: _t(2, 3).scatter(1, _i([[0], [1]])), TypeError, r"^scatter: give src", id="scatter-nothing"),
    pytest.param(lambda: _t(2, 3).scatter(1, _i([[0], [1]]), _t(2, 1), value=1.0), TypeError,
                 r"^scatter: give src or value, not both", id="scatter-both"),
    pytest.param(lambda: _t(2, 3).scatter(1, _i([[0], [1]]), tinynet.Tensor(np.zeros((2, 1), np.float32))), TypeError,
                 r"^scatter: src has dtype float32, input float64", id="scatter-dtype"),
    pytest.param(lambda: _t(2, 3).scatter(1, _i([[0, 1]]), _t(1, 1)), tinynet.ShapeError,
                 r"^scatter: index has shape \(1, 2\), larger than src \(1, 1\)", id="scatter-src-small"),
    pytest.param(lambda: _t(2, 3).scatter(1, _i([[5]]), 1.0), IndexError, r"^scatter: index 5 is out of bounds",
                 id="scatter-range"),
    pytest.param(lambda: _t(2, 3).scatter(1, _i([[0]]), "a"), TypeError, r"^scatter: src: Tensor: data must be numbers",
                 id="scatter-str"),
    pytest.param(lambda: F.scatter(_t(2, 3), 1, _i([[0]]), 1.0, reduce="max"), ValueError,
                 r"^scatter: reduce must be None or 'add'", id="scatter-reduce"),
    pytest.param(lambda: _t(2, 3).masked_fill(_t(2, 3), 1.0), TypeError,
                 r"^masked_fill: mask must be a bool tensor, got dtype float64", id="masked_fill-float-mask"),
    pytest.param(lambda: _t(2, 3).masked_fill(tinynet.Tensor(np.ones(2, bool)), 1.0), tinynet.ShapeError,
                 r"^masked_fill: mask of shape \(2,\) doesn't broadcast with input \(2, 3\)", id="masked_fill-shape"),
    pytest.param(lambda: _t(2, 3).masked_fill(_t(2, 3) > 0, "x"), TypeError, r"^masked_fill: value must be a number",
                 id="masked_fill-str"),
    pytest.param(lambda: _t(2, 3).masked_fill(_t(2, 3) > 0, _t(2)), tinynet.ShapeError,
                 r"^masked_fill: value must be a number or a 0-d tensor, got shape \(2,\)", id="masked_fill-value-shape"),
    pytest.param(lambda: _i([1, 2]).masked_fill(_i([1, 2]) > 0, 0.5), TypeError,
                 r"^masked_fill: value 0\.5 can't be held by an input of dtype int64", id="masked_fill-int"),
    pytest.param(lambda: F.where(_t(2), _t(2), _t(2)), TypeError, r"^where: condition must be a bool tensor",
                 id="where-float-cond"),
    pytest.param(lambda: F.where(_t(2) > 0, _t(3), _t(2)), tinynet.ShapeError,
                 r"^where: shapes \(2,\) \(condition\), \(3,\) and \(2,\) can't be broadcast", id="where-shape"),
    pytest.param(lambda: F.where(_t(2) > 0, None, _t(2)), TypeError, r"^where: input must be a Tensor or a number",
                 id="where-None"),
    pytest.param(lambda: _t(2, 3).topk(4), ValueError,
                 r"^topk: k=4 is out of range for dimension -1 of size 3 \(shape \(2, 3\)\); k must be in 0\.\.3",
                 id="topk-k-too-big"),
    pytest.param(lambda: _t(2, 3).topk(-1), ValueError, r"^topk: k=-1 is out of range", id="topk-negative"),
    pytest.param(lambda: _t(2, 3).topk(1.0), TypeError, r"^topk: k must be an int, got 1\.0", id="topk-float"),
    pytest.param(lambda: _t(2, 3).topk(1, 2), IndexError, r"^topk: dim 2 is out of range", id="topk-dim"),
    pytest.param(lambda: _t(2, 3).topk(1, largest="no"), TypeError, r"^topk: largest must be True or False",
                 id="topk-largest-str"),
    pytest.param(lambda: _t(2, 3).sort(1.5), TypeError, r"^sort: dim must be an int, got 1\.5", id="sort-float-dim"),
    pytest.param(lambda: _t(2, 3).sort(0, descending=1), TypeError, r"^sort: descending must be True or False",
                 id="sort-descending-int"),
    pytest.param(lambda: _t(2, 3).argsort(3), IndexError, r"^argsort: dim 3 is out of range",
                 id="argsort-dim"),
]


@pytest.mark.parametrize("action, error, message", INDEX_REFUSED)
def test_bad_arguments_are_refused_naming_the_op(action, error, message):
    with pytest.raises(error, match=message):
        action()


def test_scatter_add_of_a_number_and_scatter_add_refusing_one(device, xp):
    x = tensor(np.zeros((2, 3)), device)
    idx = _index(xp, [[0, 0], [2, 0]])
    np.testing.assert_array_equal(host(x.scatter(1, idx, 1.0, reduce="add")), [[2.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    with pytest.raises(TypeError, match=r"^scatter_add: src must be a Tensor, got 1\.0"):
        x.scatter_add(1, idx, 1.0)
