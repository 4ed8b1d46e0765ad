"""Tensor arithmetic (tinynet/functional/arithmetic.py): broadcasting, matmul, Python scalars, comparisons.

Values are compared with NumPy doing the same thing; gradients with central
differences (float64, random upstream gradient).
"""
import operator

import numpy as np
import pytest

import tinynet
from tests.helpers import host, rand, tensor

# --- elementwise arithmetic with broadcasting ------------------------------------------------------------------

BINARY_OPS = [
    pytest.param(operator.add, id="add"),
    pytest.param(operator.sub, id="sub"),
    pytest.param(operator.mul, id="mul"),
    pytest.param(operator.truediv, id="div"),
]

BROADCAST_SHAPES = [
    pytest.param((3, 1), (4,), id="(3,1)-(4,)"),
    pytest.param((2, 3, 4), (3, 1), id="(2,3,4)-(3,1)"),
    pytest.param((1, 4), (3, 1), id="(1,4)-(3,1)"),
    pytest.param((2, 1, 4), (1, 3, 1), id="(2,1,4)-(1,3,1)"),
    pytest.param((2, 3), (), id="(2,3)-scalar"),
    pytest.param((), (2, 3), id="scalar-(2,3)"),
    pytest.param((2, 3), (2, 3), id="same"),
]


def _operands(rng, a_shape, b_shape, device, requires_grad=True):
    a = rand(rng, a_shape, device, requires_grad)
    # Divisor kept away from zero; the same draw serves the other ops.
    b = tensor(rng.uniform(0.5, 1.5, size=b_shape) * rng.choice([-1.0, 1.0], size=b_shape), device,
               requires_grad)
    return a, b


@pytest.mark.parametrize("a_shape, b_shape", BROADCAST_SHAPES)
@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_op_values(device, rng, op, a_shape, b_shape):
    """a op b follows NumPy's broadcasting and values."""
    a, b = _operands(rng, a_shape, b_shape, device, requires_grad=False)
    y = op(a, b)
    expected = op(host(a), host(b))
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(host(y), expected, rtol=1e-15)


@pytest.mark.parametrize("a_shape, b_shape", BROADCAST_SHAPES)
@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_op_gradcheck_broadcasting(device, rng, op, a_shape, b_shape):
    """Gradients are summed back to each operand's own shape and agree with central differences."""
    a, b = _operands(rng, a_shape, b_shape, device)
    assert tinynet.gradcheck(op, [a, b])
    # Also run a plain backward: each .grad has its input's shape.
    a.grad = b.grad = None
    y = op(a, b)
    y.backward(tensor(np.ones(y.shape), device))
    assert a.grad.shape == a_shape and b.grad.shape == b_shape


def test_broadcast_add_gradient_by_hand(device, rng):
    """(3,1) + (4,) with upstream g (3,4): da = g summed over columns, db = g summed over rows."""
    a, b = rand(rng, (3, 1), device), rand(rng, (4,), device)
    g = rng.standard_normal((3, 4))
    (a + b).backward(tensor(g, device))
    np.testing.assert_allclose(host(a.grad), g.sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(host(b.grad), g.sum(axis=0), rtol=1e-14)


def test_reused_input_accumulates(device, rng):
    """A tensor used several times (x * x + x, a diamond) gets the sum of all paths: 2x + 1."""
    x = rand(rng, (3, 4), device)
    (x * x + x).backward(tensor(np.ones((3, 4)), device))
    np.testing.assert_allclose(host(x.grad), 2 * host(x) + 1, rtol=1e-14)
    x2 = rand(rng, (2, 3), device)
    assert tinynet.gradcheck(lambda x: (x * x + x) * x.exp() - x / (x * x + 2), [x2])


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, 1.5, -2.5])
def test_pow_gradcheck(device, rng, exponent):
    """x ** p equals NumPy's power and d/dx = p x^(p-1) (positive x so any real p is defined)."""
    x = rand(rng, (2, 3), device, low=0.5, high=2.0)
    np.testing.assert_allclose(host(x ** exponent), host(x) ** exponent, rtol=1e-15)
    assert tinynet.gradcheck(lambda x: x ** exponent, [x])


def test_neg_exp_log(device, rng):
    """-x, exp(x) and log(x) equal NumPy's and pass gradcheck (log on positive inputs)."""
    x = rand(rng, (2, 3), device, low=0.2, high=2.0)
    np.testing.assert_array_equal(host(-x), -host(x))
    np.testing.assert_allclose(host(x.exp()), np.exp(host(x)), rtol=1e-15)
    np.testing.assert_allclose(host(x.log()), np.log(host(x)), rtol=1e-15)
    assert tinynet.gradcheck(lambda x: -x, [x])
    assert tinynet.gradcheck(lambda x: x.exp(), [x])
    assert tinynet.gradcheck(lambda x: x.log(), [x])
    assert tinynet.gradcheck(lambda x: x.exp().log() * x.log().exp(), [x])


# --- matmul -------------------------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    pytest.param((3,), (3,), id="1d@1d"),
    pytest.param((3,), (3, 4), id="1d@2d"),
    pytest.param((2, 3), (3,), id="2d@1d"),
    pytest.param((2, 3), (3, 4), id="2d@2d"),
    pytest.param((2, 2, 3), (2, 3, 4), id="batched"),
    pytest.param((2, 2, 3), (3, 4), id="batched@2d"),
    pytest.param((2, 3), (2, 3, 2), id="2d@batched"),
    pytest.param((1, 2, 3), (2, 3, 2), id="broadcast-batch"),
    pytest.param((3,), (2, 3, 2), id="1d@batched"),
    pytest.param((2, 2, 3), (3,), id="batched@1d"),
]


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
def test_matmul_values(device, rng, a_shape, b_shape):
    """a @ b follows NumPy's matmul rules for 1-D, 2-D and batched operands."""
    a, b = rand(rng, a_shape, device, False), rand(rng, b_shape, device, False)
    y = a @ b
    expected = host(a) @ host(b)
    assert y.shape == np.shape(expected)
    # atol: an output that nearly cancels (a sum of O(1) terms landing near 0) keeps only an
    # absolute error of a few ulps of its terms, whichever BLAS summed it (cuBLAS differs from NumPy).
    np.testing.assert_allclose(host(y), expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
def test_matmul_gradcheck(device, rng, a_shape, b_shape):
    """dA = G @ B^T and dB = A^T @ G, reduced over broadcast batch dimensions and 1-D promotions."""
    a, b = rand(rng, a_shape, device), rand(rng, b_shape, device)
    assert tinynet.gradcheck(operator.matmul, [a, b])


def test_matmul_with_array_on_the_left(device, xp, rng):
    """ndarray @ Tensor goes through Tensor.__rmatmul__ and gives the Tensor's gradient."""
    a = rng.uniform(-1, 1, size=(2, 3))
    b = rand(rng, (3, 4), device)
    y = xp.asarray(a) @ b
    assert isinstance(y, tinynet.Tensor)
    g = rng.standard_normal((2, 4))
    y.backward(tensor(g, device))
    np.testing.assert_allclose(host(b.grad), a.T @ g, rtol=1e-13)


# --- Python scalars and dtypes -------------------------------------------------------------------------------------

SCALAR_EXPRS = [
    pytest.param(lambda x: 2 * x, lambda a: 2 * a, id="2*x"),
    pytest.param(lambda x: x * 2, lambda a: a * 2, id="x*2"),
    pytest.param(lambda x: 2.5 * x, lambda a: 2.5 * a, id="2.5*x"),
    pytest.param(lambda x: 1 - x, lambda a: 1 - a, id="1-x"),
    pytest.param(lambda x: x - 1, lambda a: a - 1, id="x-1"),
    pytest.param(lambda x: 1 + x, lambda a: 1 + a, id="1+x"),
    pytest.param(lambda x: x + 0.5, lambda a: a + 0.5, id="x+0.5"),
    pytest.param(lambda x: x / 2, lambda a: a / 2, id="x/2"),
    pytest.param(lambda x: 2 / x, lambda a: 2 / a, id="2/x"),
    pytest.param(lambda x: x ** 2, lambda a: a ** 2, id="x**2"),
    pytest.param(lambda x: 0.1 * x + 3, lambda a: 0.1 * a + 3, id="0.1*x+3"),
]


def _positive(rng, shape, device, dtype, requires_grad=True):
    return tensor(rng.uniform(0.5, 2.0, size=shape), device, requires_grad, dtype)


@pytest.mark.parametrize("expr, reference", SCALAR_EXPRS)
def test_scalar_operands_keep_float32(device, rng, expr, reference):
    """A Python number on either side doesn't promote a float32 tensor: output and gradient stay float32."""
    x = _positive(rng, (3, 4), device, "float32")
    y = expr(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(host(y), reference(host(x).astype(np.float64)), rtol=1e-6)
    y.backward(tensor(np.ones((3, 4)), device, dtype="float32"))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("expr, reference", SCALAR_EXPRS)
def test_scalar_operands_gradcheck(device, rng, expr, reference):
    """The same expressions in float64: gradients agree with central differences."""
    x = _positive(rng, (2, 3), device, "float64")
    np.testing.assert_allclose(host(expr(x)), reference(host(x)), rtol=1e-15)
    assert tinynet.gradcheck(expr, [x])


def test_numpy_scalar_operand_keeps_float32(device, rng):
    """A NumPy float64 scalar times a float32 tensor is still a float32 Tensor."""
    x = _positive(rng, (3,), device, "float32")
    y = np.float64(3.0) * x
    assert isinstance(y, tinynet.Tensor) and y.dtype == np.float32
    np.testing.assert_allclose(host(y), 3.0 * host(x), rtol=1e-7)


# --- comparisons -----------------------------------------------------------------------------------------------------

COMPARISONS = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


@pytest.mark.parametrize("op", COMPARISONS, ids=lambda op: op.__name__)
def test_comparisons_return_bool_without_grad(device, rng, op):
    """Comparisons with a scalar or a tensor give bool tensors that need no grad and have no graph."""
    a = tensor(rng.integers(-2, 3, size=(3, 4)).astype(np.float64), device, requires_grad=True)
    b = tensor(rng.integers(-2, 3, size=(4,)).astype(np.float64), device, requires_grad=True)
    for other, other_host in [(0.0, 0.0), (b, host(b))]:
        c = op(a, other)
        assert isinstance(c, tinynet.Tensor)
        assert c.dtype == np.bool_
        assert not c.requires_grad and c.grad_fn is None
        np.testing.assert_array_equal(host(c), op(host(a), other_host))


def test_broadcast_and_matmul_mismatches_are_shape_errors_naming_the_shapes(rng):
    a = tensor(rng.standard_normal((2, 3)))
    with pytest.raises(tinynet.ShapeError, match=r"add: shapes \(2, 3\) and \(5,\)"):
        a + tensor(rng.standard_normal(5))
    with pytest.raises(tinynet.ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 2\).*3 columns.*4 rows"):
        a @ tensor(rng.standard_normal((4, 2)))


def test_a_broadcast_error_inside_a_module_names_the_module(rng):
    class AddBias(tinynet.nn.Module):
        def __init__(self):
            super().__init__()
            self.b = tinynet.nn.Parameter(np.zeros(5, dtype=np.float32))

        def forward(self, x):
            return x + self.b

    net = tinynet.nn.Sequential(tinynet.nn.ReLU(), AddBias())
    with pytest.raises(tinynet.ShapeError, match=r"layer 1 AddBias\(\): add: shapes \(2, 3\) and \(5,\)"):
        net(tensor(rng.standard_normal((2, 3)), dtype="float32"))


# --- pow with tensor exponents, sqrt, abs, clamp, and PyTorch's type promotion --------------------------------

import tinynet.functional as F  # noqa: E402
from tests.functional.torch_cases import DTYPES, check_case, names  # noqa: E402


@pytest.mark.parametrize("name", names("clamp", "clip", "abs", "sqrt", "exp", "log", "pow", "rpow", "matmul"))
def test_matches_pytorch(device, name):
    """Values and gradients equal PyTorch's, at clamp's bounds, abs at 0 and pow at 0 included."""
    check_case(name, device)


@pytest.mark.parametrize("expr, dtype", DTYPES, ids=[e for e, _ in DTYPES])
def test_type_promotion_is_pytorchs(expr, dtype):
    """int + 0.5 is float32, int / int float32, float32 with any Python number float32, bool + 1 int64, ..."""
    def T(values, dt):
        return tinynet.Tensor(np.array(values, dtype=dt))
    assert str(eval(expr, {"T": T}).dtype) == dtype


def test_mixed_dtypes_give_each_input_its_own_gradient_dtype(rng):
    a = tensor(rng.standard_normal(3), dtype="float32", requires_grad=True)
    b = tensor(rng.standard_normal(3), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((1, 3), (2, 1)), ((), (2, 3))])
def test_pow_tensor_exponent_gradcheck(device, rng, shapes):
    """x ** p with p a tensor: dx = p x^(p-1), dp = x^p log(x), each summed back to its shape."""
    x = rand(rng, shapes[0], device, low=0.5, high=2.0)
    p = rand(rng, shapes[1], device, low=-2.0, high=2.0)
    np.testing.assert_allclose(host(x ** p), host(x) ** host(p), rtol=1e-15)
    assert tinynet.gradcheck(lambda x, p: x ** p, [x, p])
    assert tinynet.gradcheck(lambda x, p: F.pow(x, p), [x, p])
    assert tinynet.gradcheck(lambda p: 2.5 ** p, [p])
    assert tinynet.gradcheck(lambda x, p: x.pow(p), [x, p])


def test_sqrt_abs_clamp_gradcheck(device, rng):
    """Away from their kinks (abs at 0, clamp at its bounds) the gradients agree with central differences."""
    x = rand(rng, (3, 4), device, low=0.5, high=2.0)
    assert tinynet.gradcheck(lambda x: x.sqrt(), [x])
    z = tensor(rng.uniform(0.1, 1.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4)), device, requires_grad=True)
    assert tinynet.gradcheck(lambda z: abs(z), [z])
    assert tinynet.gradcheck(lambda z: z.clamp(-0.5, 0.5), [z], eps=1e-7)
    lo = tensor(np.full((1, 4), -0.3) + rng.uniform(-0.05, 0.05, (1, 4)), device, requires_grad=True)
    hi = tensor(np.full((3, 1), 0.4) + rng.uniform(-0.05, 0.05, (3, 1)), device, requires_grad=True)
    assert tinynet.gradcheck(lambda z, lo, hi: F.clamp(z, lo, hi), [z, lo, hi], eps=1e-7)
    assert tinynet.gradcheck(lambda z, lo: z.clip(min=lo, max=0.6), [z, lo], eps=1e-7)


def test_clamp_at_its_bounds_passes_the_gradient(device):
    """PyTorch's rule: an element equal to min or max keeps its gradient (1 where min <= x <= max)."""
    x = tensor(np.array([-1.0, -0.5, 0.0, 0.5, 1.0]), device, requires_grad=True)
    y = x.clamp(-0.5, 0.5)
    np.testing.assert_array_equal(host(y), [-0.5, -0.5, 0.0, 0.5, 0.5])
    y.backward(tensor(np.ones(5), device))
    np.testing.assert_array_equal(host(x.grad), [0.0, 1.0, 1.0, 1.0, 0.0])


def test_abs_gradient_at_zero_is_zero(device):
    x = tensor(np.array([-2.0, 0.0, 3.0]), device, requires_grad=True)
    abs(x).backward(tensor(np.ones(3), device))
    np.testing.assert_array_equal(host(x.grad), [-1.0, 0.0, 1.0])


def test_namespace_calls_on_arrays(rng):
    """Each function takes a plain array (or nested list) as torch's do for tensors."""
    a = rng.uniform(0.5, 2.0, (2, 3))
    b = rng.uniform(0.5, 2.0, (3, 2))
    for fn, ref in [(F.exp, np.exp), (F.log, np.log), (F.sqrt, np.sqrt), (F.abs, np.abs), (F.tanh, np.tanh)]:
        np.testing.assert_allclose(host(fn(a)), ref(a), rtol=1e-14)
    np.testing.assert_allclose(host(F.sigmoid(a)), 1 / (1 + np.exp(-a)), rtol=1e-14)
    np.testing.assert_allclose(host(F.matmul(a, b)), a @ b, rtol=1e-14)
    np.testing.assert_allclose(host(F.pow(a, b.T)), a ** b.T, rtol=1e-14)
    np.testing.assert_allclose(host(F.clamp(a, 0.8, 1.2)), np.clip(a, 0.8, 1.2))
    np.testing.assert_allclose(host(F.add([1.0, 2.0], 1)), [2.0, 3.0])
    assert F.sqrt(np.arange(4)).dtype == np.float32  # an integer input becomes float32, as torch.sqrt


ARITH_REFUSED = [
    pytest.param(lambda x: x.clamp(), ValueError, r"^clamp: at least one of min and max", id="clamp-none"),
    pytest.param(lambda x: x.clamp("0", 1), TypeError, r"^clamp: min must be a number, a Tensor or None, got '0'",
                 id="clamp-str"),
    pytest.param(lambda x: x.clamp(min=True), TypeError, r"^clamp: min must be a number", id="clamp-bool"),
    pytest.param(lambda x: x.clamp(tinynet.Tensor(np.zeros(5))), tinynet.ShapeError,
                 r"^clamp: shapes \(2, 3\) and \(5,\) can't be broadcast", id="clamp-shape"),
    pytest.param(lambda x: x ** "2", TypeError, r"^unsupported operand type\(s\) for \*\*: 'Tensor' and 'str'",
                 id="pow-str"),
    pytest.param(lambda x: x ** None, TypeError, r"for \*\*: 'Tensor' and 'NoneType'", id="pow-None"),
    pytest.param(lambda x: "2" ** x, TypeError, r"for \*\*: 'str' and 'Tensor'", id="rpow-str"),
    pytest.param(lambda x: x ** tinynet.Tensor(np.ones(4)), tinynet.ShapeError,
                 r"^pow: shapes \(2, 3\) and \(4,\) can't be broadcast", id="pow-shape"),
    pytest.param(lambda x: F.sqrt("x"), TypeError, r"^sqrt: input: Tensor: data must be numbers", id="sqrt-str"),
    pytest.param(lambda x: F.abs(None), TypeError, r"^abs: input: Tensor: data must be numbers .*None", id="abs-None"),
    pytest.param(lambda x: F.matmul(x, [[1, "a"]]), TypeError, r"for @: 'Tensor' and 'list'", id="matmul-list-str"),
    pytest.param(lambda x: F.exp({}), TypeError, r"^exp: input: ", id="exp-dict"),
]


@pytest.mark.parametrize("action, error, message", ARITH_REFUSED)
def test_bad_arguments_are_refused_naming_the_op(rng, action, error, message):
    with pytest.raises(error, match=message):
        action(tensor(rng.standard_normal((2, 3))))


def test_integer_to_a_negative_power_is_refused_naming_pow():
    ints = tinynet.Tensor(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"^pow: an integer tensor to a negative integer power \(-1\)"):
        ints ** -1
    with pytest.raises(ValueError, match=r"^pow: Integers to negative integer powers are not allowed"):
        ints ** tinynet.Tensor(np.array([-1, 2]))
    assert (ints ** 2).dtype == np.int64 and (2 ** ints).dtype == np.int64 and (ints ** 0.5).dtype == np.float32


def test_bool_tensors_promote_or_are_refused_as_in_pytorch():
    b = tinynet.Tensor(np.array([True, False]))
    assert (b + b).dtype == np.bool_ and (b - 1).dtype == np.int64 and (b * 2.5).dtype == np.float32
    with pytest.raises(TypeError, match=r"^sub: subtracting bool tensors .*~mask"):
        b - b
    with pytest.raises(TypeError, match=r"^neg: negating a bool tensor"):
        -b


def test_invert_a_mask():
    b = tinynet.Tensor(np.array([True, False]))
    assert (~b).tolist() == [False, True] and (~tinynet.Tensor(np.array([0, 5]))).tolist() == [-1, -6]
    with pytest.raises(TypeError, match=r"^bitwise_not \(~\): input must be bool or integer, got dtype float64"):
        ~tinynet.Tensor(np.zeros(2))
