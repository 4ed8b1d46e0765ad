"""Joining and splitting (tinynet/functional/join.py): cat, stack, split, chunk.

Values are compared with NumPy and PyTorch (the fixture); cat and split are each other's adjoint, so
each gradient is checked by hand and with central differences.
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.functional.torch_cases import CHUNKS, check_case, names
from tests.helpers import host, rand, tensor


@pytest.mark.parametrize("name", names("cat", "stack", "split", "chunk"))
def test_matches_pytorch(device, name):
    check_case(name, device)


@pytest.mark.parametrize("n, chunks, sizes", CHUNKS, ids=[f"{n}-in-{k}" for n, k, _ in CHUNKS])
def test_chunk_sizes_are_pytorchs(n, chunks, sizes):
    """Pieces of ceil(n / chunks), so 6 in 4 chunks is 2, 2, 2 (three, not four)."""
    assert [c.shape[0] for c in F.chunk(np.zeros(n), chunks)] == sizes


def test_chunk_and_split_of_an_empty_dimension():
    """As PyTorch: chunk gives ``chunks`` empty pieces, split one."""
    assert [c.shape for c in F.chunk(np.zeros(0), 3)] == [(0,), (0,), (0,)]
    assert [c.shape for c in F.split(np.zeros((2, 0)), 2, 1)] == [(2, 0)]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_values_and_gradcheck(device, rng, dim):
    shapes = [(2, 3, 4), (2, 3, 4)]
    shapes[1] = tuple(5 if i == dim % 3 else n for i, n in enumerate(shapes[1]))
    a, b = rand(rng, shapes[0], device), rand(rng, shapes[1], device)
    y = F.cat([a, b], dim)
    np.testing.assert_array_equal(host(y), np.concatenate([host(a), host(b)], axis=dim))
    assert tinynet.gradcheck(lambda a, b: F.cat((a, b, a), dim), [a, b])


def test_cat_gradient_is_the_slices_of_g(device, rng):
    """Input k of cat gets the slice of g it filled."""
    a, b = rand(rng, (2, 1), device), rand(rng, (2, 3), device)
    g = rng.standard_normal((2, 4))
    F.cat([a, b], 1).backward(tensor(g, device))
    np.testing.assert_array_equal(host(a.grad), g[:, :1])
    np.testing.assert_array_equal(host(b.grad), g[:, 1:])


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack_values_and_gradcheck(device, rng, dim):
    a, b = rand(rng, (2, 3), device), rand(rng, (2, 3), device)
    np.testing.assert_array_equal(host(F.stack([a, b], dim)), np.stack([host(a), host(b)], axis=dim))
    assert tinynet.gradcheck(lambda a, b: F.stack([a, b, b], dim), [a, b])


@pytest.mark.parametrize("split_size, dim", [(2, 1), (3, 0), ([1, 4, 0, 2], 1), ((4, 0), 0), (10, 1)])
def test_split_values_and_gradcheck(device, rng, split_size, dim):
    x = rand(rng, (4, 7), device)
    pieces = x.split(split_size, dim)
    cuts = np.cumsum(split_size)[:-1] if isinstance(split_size, (list, tuple)) else \
        list(range(split_size, x.shape[dim], split_size))
    expected = np.split(host(x), cuts, axis=dim)
    assert len(pieces) == len(expected)
    for p, e in zip(pieces, expected):
        np.testing.assert_array_equal(host(p), e)
    assert tinynet.gradcheck(lambda x: F.split(x, split_size, dim), [x])


def test_split_gradient_with_unused_pieces(device, rng):
    """Only the middle piece used: x's gradient is its g, zeros where the other pieces were (a cat of them)."""
    x = rand(rng, (6,), device)
    _, middle, _ = F.chunk(x, 3)
    middle.backward(tensor(np.array([1.0, 2.0]), device))
    np.testing.assert_array_equal(host(x.grad), [0.0, 0.0, 1.0, 2.0, 0.0, 0.0])


def test_cat_promotes_and_takes_arrays(rng):
    a = tensor(rng.standard_normal((2, 2)), dtype="float32")
    y = F.cat([a, np.ones((1, 2))])
    assert y.dtype == np.float64 and y.shape == (3, 2)
    assert F.cat([np.arange(2), np.arange(3)]).dtype == np.int64
    assert F.stack([[1.0, 2.0], [3.0, 4.0]]).shape == (2, 2)


def _t(*shape):
    return tinynet.Tensor(np.zeros(shape))


JOIN_REFUSED = [
    pytest.param(lambda: F.cat(_t(2, 3)), TypeError, r"^cat: tensors must be a list or tuple of Tensors, got a Tensor",
                 id="cat-a-tensor"),
    pytest.param(lambda: F.cat([]), ValueError, r"^cat: expects a non-empty list", id="cat-empty"),
    pytest.param(lambda: F.cat([_t(2, 3), _t(3, 3)], 1), tinynet.ShapeError,
                 r"^cat: tensors\[1\] has shape \(3, 3\), tensors\[0\] has shape \(2, 3\); all sizes must match "
                 r"except along dim 1", id="cat-mismatch"),
    pytest.param(lambda: F.cat([_t(2, 3), _t(2)]), tinynet.ShapeError, r"^cat: tensors\[1\] has shape \(2,\)",
                 id="cat-ndim"),
    pytest.param(lambda: F.cat([_t(2), _t(2)], 1), IndexError, r"^cat: dim 1 is out of range", id="cat-dim"),
    pytest.param(lambda: F.cat([_t(), _t()]), tinynet.ShapeError, r"^cat: zero-dimensional tensors", id="cat-0d"),
    pytest.param(lambda: F.cat([_t(2), "a"]), TypeError, r"^cat: tensors\[1\]: Tensor: data must be numbers",
                 id="cat-str"),
    pytest.param(lambda: F.cat([_t(2)], dim="0"), TypeError, r"^cat: dim must be an int, got '0'", id="cat-dim-str"),
    pytest.param(lambda: F.stack([_t(2, 3), _t(3, 2)]), tinynet.ShapeError,
                 r"^stack: tensors\[1\] has shape \(3, 2\), tensors\[0\] has shape \(2, 3\)", id="stack-mismatch"),
    pytest.param(lambda: F.stack([_t(2)], 2), IndexError, r"^stack: dim 2 is out of range", id="stack-dim"),
    pytest.param(lambda: F.stack(5), TypeError, r"^stack: tensors must be a list or tuple", id="stack-int"),
    pytest.param(lambda: _t(4).split(0), ValueError, r"^split: split_size must be a positive int, got 0", id="split-0"),
    pytest.param(lambda: _t(4).split([1, 2]), ValueError, r"^split: split sizes \[1, 2\] add up to 3, but dim 0 has size 4",
                 id="split-sum"),
    pytest.param(lambda: _t(4).split(1.5), TypeError, r"^split: split_size_or_sections must be an int or a list",
                 id="split-float"),
    pytest.param(lambda: _t(4).split([2, -1, 3]), ValueError, r"^split: split sizes must be ints >= 0", id="split-negative"),
    pytest.param(lambda: _t().split(1), tinynet.ShapeError, r"^split: a 0-d tensor", id="split-0d"),
    pytest.param(lambda: _t(4).chunk(0), ValueError, r"^chunk: chunks must be a positive int, got 0", id="chunk-0"),
    pytest.param(lambda: _t(4).chunk(2.0), TypeError, r"^chunk: chunks must be an int, got 2\.0", id="chunk-float"),
    pytest.param(lambda: _t(4).chunk(2, 1), IndexError, r"^chunk: dim 1 is out of range", id="chunk-dim"),
]


@pytest.mark.parametrize("action, error, message", JOIN_REFUSED)
def test_bad_arguments_are_refused_naming_the_op(action, error, message):
    with pytest.raises(error, match=message):
        action()
