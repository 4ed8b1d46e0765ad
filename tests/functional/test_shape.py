"""Shape ops (tinynet/functional/shape.py): indexing, reshape, transpose, permute, flatten.

Values are compared with NumPy; gradients with central differences, and
repeated indices checked to accumulate.
"""

import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand, tensor

# --- indexing --------------------------------------------------------------------------------------------------

BASIC_KEYS = [
    pytest.param((slice(1, None), slice(None, None, 2)), id="[1:, ::2]"),
    pytest.param(0, id="[0]"),
    pytest.param((Ellipsis, 1), id="[..., 1]"),
    pytest.param((None, 1), id="[None, 1]"),
    pytest.param((-1, slice(1, 3)), id="[-1, 1:3]"),
    pytest.param((slice(None), 0, slice(None, None, -1)), id="[:, 0, ::-1]"),
]


@pytest.mark.parametrize("key", BASIC_KEYS)
def test_basic_indexing(device, rng, key):
    """Slices, ints, None and Ellipsis select what NumPy selects; the gradient lands back in place."""
    x = rand(rng, (3, 4, 3), device)
    np.testing.assert_array_equal(host(x[key]), host(x)[key])
    assert tinynet.gradcheck(lambda x: x[key], [x])


def _index_counts(shape, rows, cols=None):
    """How many times each cell is picked by x[rows] (or x[rows, cols]), counted with a plain loop."""
    counts = np.zeros(shape)
    for i in range(len(rows)):
        if cols is None:
            counts[rows[i]] += 1
        else:
            counts[rows[i], cols[i]] += 1
    return counts


@pytest.mark.parametrize("make_key", [
    pytest.param(lambda xp: [0, 2, 0, 0], id="list"),
    pytest.param(lambda xp: xp.asarray(np.array([0, 2, 0, 0])), id="array"),
    pytest.param(lambda xp: tinynet.Tensor(xp.asarray(np.array([0, 2, 0, 0]))), id="tensor"),
])
def test_integer_array_indexing_accumulates_repeats(device, xp, rng, make_key):
    """x[[0, 2, 0, 0]]: row 0 is picked three times, so its gradient is the sum of three rows of g."""
    x = rand(rng, (3, 4), device)
    y = x[make_key(xp)]
    rows = [0, 2, 0, 0]
    np.testing.assert_array_equal(host(y), host(x)[rows])
    g = rng.standard_normal((4, 4))
    y.backward(tensor(g, device))
    expected = np.zeros((3, 4))
    expected[0] = g[0] + g[2] + g[3]
    expected[2] = g[1]
    np.testing.assert_allclose(host(x.grad), expected, rtol=1e-14)
    x.grad = None
    assert tinynet.gradcheck(lambda x: x[make_key(xp)], [x])


def test_paired_integer_arrays_accumulate_repeats(device, xp, rng):
    """x[rows, cols] with the pair (0, 2) twice: that cell's gradient is counted twice."""
    rows, cols = np.array([0, 1, 0, 2]), np.array([2, 0, 2, 1])
    x = rand(rng, (3, 3), device)
    key = (xp.asarray(rows), xp.asarray(cols))
    np.testing.assert_array_equal(host(x[key]), host(x)[rows, cols])
    x[key].sum().backward()
    np.testing.assert_array_equal(host(x.grad), _index_counts((3, 3), rows, cols))
    x.grad = None
    assert tinynet.gradcheck(lambda x: x[key], [x])


@pytest.mark.parametrize("kind", ["array", "comparison-tensor", "row-mask"])
def test_boolean_mask_indexing(device, xp, rng, kind):
    """x[mask] picks the True cells (or rows); the gradient is g at those cells and 0 elsewhere."""
    x = rand(rng, (3, 4), device)
    x_host = host(x)
    if kind == "array":
        mask_host = x_host > 0
        mask = xp.asarray(mask_host)
    elif kind == "comparison-tensor":
        mask_host = x_host > 0
        mask = x > 0
    else:
        mask_host = np.array([True, False, True])
        mask = xp.asarray(mask_host)
    y = x[mask]
    np.testing.assert_array_equal(host(y), x_host[mask_host])
    g = rng.standard_normal(y.shape)
    y.backward(tensor(g, device))
    expected = np.zeros((3, 4))
    expected[mask_host] = g
    np.testing.assert_array_equal(host(x.grad), expected)
    x.grad = None
    assert tinynet.gradcheck(lambda x: x[mask], [x])


# --- shape ops ---------------------------------------------------------------------------------------------------

SHAPE_OPS = [
    pytest.param(lambda t: t.reshape(4, 6), lambda a: a.reshape(4, 6), id="reshape"),
    pytest.param(lambda t: t.reshape((6, -1)), lambda a: a.reshape(6, -1), id="reshape-tuple-minus1"),
    pytest.param(lambda t: t.view(-1), lambda a: a.reshape(-1), id="view"),
    pytest.param(lambda t: t.transpose(0, 2), lambda a: a.transpose(2, 1, 0), id="transpose(0,2)"),
    pytest.param(lambda t: t.transpose(-1, 1), lambda a: a.transpose(0, 2, 1), id="transpose(-1,1)"),
    pytest.param(lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), id="permute"),
    pytest.param(lambda t: t.permute((1, 2, 0)), lambda a: a.transpose(1, 2, 0), id="permute-tuple"),
    pytest.param(lambda t: t.T, lambda a: a.transpose(2, 1, 0), id=".T"),
    pytest.param(lambda t: t.flatten(), lambda a: a.reshape(-1), id="flatten"),
    pytest.param(lambda t: t.flatten(1), lambda a: a.reshape(2, 12), id="flatten(1)"),
    pytest.param(lambda t: t.flatten(0, 1), lambda a: a.reshape(6, 4), id="flatten(0,1)"),
    pytest.param(lambda t: F.flatten(t, -2, -1), lambda a: a.reshape(2, 12), id="F.flatten(-2,-1)"),
    pytest.param(lambda t: t.permute(2, 0, 1).reshape(4, 6), lambda a: a.transpose(2, 0, 1).reshape(4, 6),
                 id="permute-then-reshape"),
]


@pytest.mark.parametrize("op, reference", SHAPE_OPS)
def test_shape_ops(device, rng, op, reference):
    """Rearrangements match NumPy and their gradients undo the rearrangement (gradcheck)."""
    x = rand(rng, (2, 3, 4), device)
    y = op(x)
    expected = reference(host(x))
    assert y.shape == expected.shape
    np.testing.assert_array_equal(host(y), expected)
    assert tinynet.gradcheck(op, [x])


def test_transpose_2d_and_T(device, rng):
    """On a matrix, .T and transpose(0, 1) are the matrix transpose."""
    x = rand(rng, (2, 5), device)
    np.testing.assert_array_equal(host(x.T), host(x).T)
    np.testing.assert_array_equal(host(x.transpose(0, 1)), host(x).T)
    assert tinynet.gradcheck(lambda x: x.T, [x])


def test_flatten_conv_features(device, rng):
    """F.flatten(x, 1) turns (N, C, H, W) into (N, C*H*W) in row-major order, as before a dense layer."""
    x = rand(rng, (2, 3, 2, 2), device, requires_grad=False)
    np.testing.assert_array_equal(host(F.flatten(x, 1)), host(x).reshape(2, 12))


def test_reshape_error(device, rng):
    """Reshaping to a different element count is a ShapeError naming both shapes."""
    x = rand(rng, (2, 3), device, requires_grad=False)
    with pytest.raises(tinynet.ShapeError) as info:
        x.reshape(4, 2)
    message = str(info.value)
    assert "(2, 3)" in message and "(4, 2)" in message


def test_transpose_with_a_bad_dimension_says_so(rng):
    with pytest.raises(IndexError, match=r"transpose: dim 2 is out of range for a tensor of 2 dimensions \(valid: -2\.\.1\)"):
        tensor(rng.standard_normal((2, 3))).transpose(0, 2)


# --- squeeze, unsqueeze, t, expand, repeat, clone, contiguous --------------------------------------------------

from tests.functional.torch_cases import check_case, names  # noqa: E402


@pytest.mark.parametrize("name", names("squeeze", "unsqueeze", "t", "expand", "repeat", "clone", "reshape"))
def test_matches_pytorch(device, name):
    check_case(name, device)


MORE_SHAPE_OPS = [
    pytest.param(lambda t: t.squeeze(), lambda a: a.reshape(3, 4), id="squeeze"),
    pytest.param(lambda t: t.squeeze(0), lambda a: a.reshape(3, 1, 4), id="squeeze(0)"),
    pytest.param(lambda t: t.squeeze(1), lambda a: a, id="squeeze(1)-not-1"),
    pytest.param(lambda t: F.squeeze(t, (0, -2)), lambda a: a.reshape(3, 4), id="squeeze((0,-2))"),
    pytest.param(lambda t: t.unsqueeze(0), lambda a: a[None], id="unsqueeze(0)"),
    pytest.param(lambda t: t.unsqueeze(-1), lambda a: a[..., None], id="unsqueeze(-1)"),
    pytest.param(lambda t: F.unsqueeze(t, 4), lambda a: a[..., None], id="unsqueeze(ndim)"),
    pytest.param(lambda t: t.expand(2, 3, 2, 4), lambda a: np.broadcast_to(a, (2, 3, 2, 4)), id="expand"),
    pytest.param(lambda t: t.expand(5, -1, -1, -1, -1), lambda a: np.broadcast_to(a, (5, 1, 3, 1, 4)),
                 id="expand-new-dim"),
    pytest.param(lambda t: t.expand((1, 3, 6, 4)), lambda a: np.broadcast_to(a, (1, 3, 6, 4)), id="expand-tuple"),
    pytest.param(lambda t: t.repeat(2, 1, 3, 1), lambda a: np.tile(a, (2, 1, 3, 1)), id="repeat"),
    pytest.param(lambda t: t.repeat((2, 1, 1, 2, 1)), lambda a: np.tile(a, (2, 1, 1, 2, 1)), id="repeat-new-dim"),
    pytest.param(lambda t: F.repeat(t, 1, 2, 2, 2), lambda a: np.tile(a, (1, 2, 2, 2)), id="F.repeat"),
    pytest.param(lambda t: t.clone(), lambda a: a.copy(), id="clone"),
    pytest.param(lambda t: t.permute(3, 2, 1, 0).contiguous(), lambda a: a.transpose(3, 2, 1, 0), id="contiguous"),
    pytest.param(lambda t: F.reshape(t, (4, 3)), lambda a: a.reshape(4, 3), id="F.reshape"),
    pytest.param(lambda t: F.permute(t, 1, 0, 3, 2), lambda a: a.transpose(1, 0, 3, 2), id="F.permute"),
]


@pytest.mark.parametrize("op, reference", MORE_SHAPE_OPS)
def test_more_shape_ops(device, rng, op, reference):
    """Values match NumPy; expand's gradient sums over the copies, repeat's over the tiles (gradcheck)."""
    x = rand(rng, (1, 3, 1, 4), device)
    y = op(x)
    expected = reference(host(x))
    assert y.shape == expected.shape
    np.testing.assert_array_equal(host(y), expected)
    assert tinynet.gradcheck(op, [x])


def test_repeat_gradient_is_the_sum_over_tiles(device):
    x = tensor(np.array([1.0, 2.0]), device, requires_grad=True)
    g = np.arange(12.0).reshape(2, 6)
    x.repeat(2, 3).backward(tensor(g, device))
    np.testing.assert_array_equal(host(x.grad), [g[:, 0::2].sum(), g[:, 1::2].sum()])


def test_t_and_clone(device, rng):
    """t() transposes a matrix and leaves 0-d / 1-d alone; a clone is a new array, contiguous() of a
    contiguous tensor is the tensor itself."""
    v = rand(rng, (3,), device)
    assert v.t().shape == (3,) and tinynet.Tensor(np.array(1.0)).t().shape == ()
    c = v.clone()
    assert c.data is not v.data and c.grad_fn is not None
    assert v.contiguous() is v


SHAPE_REFUSED = [
    pytest.param(lambda x: x.t(), tinynet.ShapeError, r"^t: expects a tensor of at most 2 dimensions, got shape \(2, 1, 3\)",
                 id="t-3d"),
    pytest.param(lambda x: x.squeeze(3), IndexError, r"^squeeze: dim 3 is out of range", id="squeeze-dim"),
    pytest.param(lambda x: x.squeeze("0"), TypeError, r"^squeeze: dim must be an int, got '0'", id="squeeze-str"),
    pytest.param(lambda x: x.unsqueeze(5), IndexError, r"^unsqueeze: dim 5 is out of range for a tensor of 4 dim",
                 id="unsqueeze-dim"),
    pytest.param(lambda x: x.unsqueeze(1.0), TypeError, r"^unsqueeze: dim must be an int, got 1\.0", id="unsqueeze-float"),
    pytest.param(lambda x: x.expand(3, 1, 3), tinynet.ShapeError,
                 r"^expand: dimension 0 of shape \(2, 1, 3\) has size 2, which can't expand to 3",
                 id="expand-mismatch"),
    pytest.param(lambda x: x.expand(2, 1, 4), tinynet.ShapeError, r"^expand: dimension 2 of shape \(2, 1, 3\) has size 3, "
                 r"which can't expand to 4", id="expand-wrong-size"),
    pytest.param(lambda x: x.expand(3), tinynet.ShapeError, r"^expand: 1 sizes \(3,\) for a tensor of 3 dimensions",
                 id="expand-too-few"),
    pytest.param(lambda x: x.expand(-1, 2, 1, 3), tinynet.ShapeError, r"^expand: size -1 is not allowed for a new leading",
                 id="expand-new-minus-1"),
    pytest.param(lambda x: x.expand(2, 1.5, 3), TypeError, r"^expand: the sizes must be ints, got \(2, 1\.5, 3\)",
                 id="expand-float"),
    pytest.param(lambda x: x.repeat(2, 2), tinynet.ShapeError, r"^repeat: 2 repeat counts \(2, 2\) for a tensor of 3 dim",
                 id="repeat-too-few"),
    pytest.param(lambda x: x.repeat(2, -1, 1), ValueError, r"^repeat: repeat counts must be >= 0", id="repeat-negative"),
    pytest.param(lambda x: x.repeat("2"), TypeError, r"^repeat: the sizes must be ints", id="repeat-str"),
    pytest.param(lambda x: F.reshape(x, "6"), TypeError, r"^reshape: shape must be a tuple of ints", id="reshape-str"),
    pytest.param(lambda x: F.squeeze("abc"), TypeError, r"^squeeze: input: Tensor: data must be numbers", id="squeeze-input"),
]


@pytest.mark.parametrize("action, error, message", SHAPE_REFUSED)
def test_bad_shape_arguments_are_refused_naming_the_op(rng, action, error, message):
    with pytest.raises(error, match=message):
        action(tensor(rng.standard_normal((2, 1, 3))))
