"""maximum, minimum, remainder (%) and floor_divide (//) (tinynet/functional/binary.py): PyTorch's values
and gradients from the fixture (ties split evenly), gradchecks, and the refusals."""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.functional.torch_cases import check_case, names
from tests.helpers import host, rand, tensor


@pytest.mark.parametrize("name", names("binary_"))
def test_matches_pytorch(device, name):
    """Values and gradients equal PyTorch's, ties between the operands included."""
    check_case(name, device)


@pytest.mark.parametrize("fn", [F.maximum, F.minimum, F.remainder], ids=["maximum", "minimum", "remainder"])
def test_gradcheck_with_broadcasting(rng, fn):
    x = rand(rng, (3, 4), low=-2, high=2)
    y = tensor(rng.uniform(0.6, 1.4, (1, 4)) * rng.choice([-1.0, 1.0], (1, 4)), requires_grad=True)
    assert tinynet.gradcheck(fn, [x, y])


def test_a_tie_splits_the_gradient_evenly():
    a = tinynet.tensor([1.0, 5.0, 3.0], requires_grad=True)
    b = tinynet.tensor([2.0, 5.0, 1.0], requires_grad=True)
    tinynet.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(host(a.grad), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(host(b.grad), [1.0, 0.5, 0.0])


def test_floor_divide_and_remainder_follow_pythons_signs(device):
    # PyTorch's (and Python's) rule: floor division, a remainder with the divisor's sign.
    a = tensor(np.array([7, -7, 7, -7]), device)
    b = tensor(np.array([2, 2, -2, -2]), device)
    np.testing.assert_array_equal(host(a // b), np.array([7, -7, 7, -7]) // np.array([2, 2, -2, -2]))
    np.testing.assert_array_equal(host(a % b), [1, 1, -1, -1])
    np.testing.assert_array_equal(host(7 // tensor(np.array([2.0, -2.0]), device)), [3.0, -4.0])
    np.testing.assert_array_equal(host(7.5 % tensor(np.array([2.0]), device)), [1.5])
    assert (a // 2).dtype == np.int64 and (a % 2.5).dtype == np.float32  # PyTorch's promotion
    x = tensor(np.array([3.5]), device, requires_grad=True)
    assert not (x // 2).requires_grad  # a step function: outside the graph


@pytest.mark.parametrize("call, error, message", [
    (lambda: tinynet.tensor([1, 2]) // 0, ZeroDivisionError, "floor_divide: integer division by zero"),
    (lambda: tinynet.tensor([1, 2]) % tinynet.tensor([1, 0]), ZeroDivisionError, "remainder: integer division"),
    (lambda: tinynet.maximum(tinynet.zeros(2), tinynet.zeros(3)), tinynet.ShapeError,
     r"maximum: shapes \(2,\) and \(3,\) can't be broadcast"),
    (lambda: tinynet.maximum(tinynet.zeros(2), "a"), TypeError, "unsupported operand type"),
    (lambda: tinynet.zeros(2) % None, TypeError, "unsupported operand type"),
])
def test_bad_operands_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_nonzero_and_one_argument_where():
    m = tinynet.tensor([[True, False, True], [False, False, True]])
    rows, cols = tinynet.where(m)
    assert rows.tolist() == [0, 0, 1] and cols.tolist() == [0, 2, 2] and rows.dtype == np.int64
    assert tinynet.nonzero(m).tolist() == [[0, 0], [0, 2], [1, 2]]
    assert tinynet.tensor([0, 3, 0, 4]).nonzero(as_tuple=True)[0].tolist() == [1, 3]
    assert tinynet.nonzero(tinynet.zeros(2, 2)).shape == (0, 2)
    with pytest.raises(TypeError, match="where: give both input and other"):
        tinynet.where(m, 1.0)
