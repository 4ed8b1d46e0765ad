"""The Tensor methods a PyTorch user reaches for (tinynet/_tensor.py), each one line over an op of
tinynet.functional: same names, argument orders and defaults as torch.Tensor's, the same values.

The ops themselves (values against PyTorch, gradchecks, refused arguments) are tested in
tests/functional/test_{shape,join,indexing,reduction,arithmetic}.py; here: that each method is there,
gives what the function gives, and the dtype conversions and type names.
"""
import numpy as np
import pytest

import tinynet
import tinynet.functional as F
from tests.helpers import host, rand, tie_free

METHODS_AND_FUNCTIONS = [
    pytest.param(lambda x: x.squeeze(), lambda x: F.squeeze(x), id="squeeze"),
    pytest.param(lambda x: x.unsqueeze(1), lambda x: F.unsqueeze(x, 1), id="unsqueeze"),
    pytest.param(lambda x: x.t(), lambda x: F.t(x), id="t"),
    pytest.param(lambda x: x.expand(2, 3, 4), lambda x: F.expand(x, 2, 3, 4), id="expand"),
    pytest.param(lambda x: x.expand_as(tinynet.Tensor(np.zeros((5, 3, 4)))), lambda x: F.expand(x, (5, 3, 4)),
                 id="expand_as"),
    pytest.param(lambda x: x.repeat(2, 2), lambda x: F.repeat(x, 2, 2), id="repeat"),
    pytest.param(lambda x: x.chunk(2, 1)[1], lambda x: F.chunk(x, 2, 1)[1], id="chunk"),
    pytest.param(lambda x: x.split(3, 1)[0], lambda x: F.split(x, 3, 1)[0], id="split"),
    pytest.param(lambda x: x.clone(), lambda x: F.clone(x), id="clone"),
    pytest.param(lambda x: x.T.contiguous(), lambda x: F.contiguous(x.T), id="contiguous"),
    pytest.param(lambda x: x.gather(1, x.argsort(1)), lambda x: F.gather(x, 1, F.argsort(x, 1)), id="gather"),
    pytest.param(lambda x: x.scatter(1, x.argsort(1)[:, :2], 0.0), lambda x: F.scatter(x, 1, F.argsort(x, 1)[:, :2], 0.0),
                 id="scatter"),
    pytest.param(lambda x: x.masked_fill(x > 0, 1.0), lambda x: F.masked_fill(x, x > 0, 1.0), id="masked_fill"),
    pytest.param(lambda x: x.where(x > 0, -x), lambda x: F.where(x > 0, x, -x), id="where"),
    pytest.param(lambda x: x.topk(2).values, lambda x: F.topk(x, 2).values, id="topk"),
    pytest.param(lambda x: x.sort(0, True).values, lambda x: F.sort(x, 0, True).values, id="sort"),
    pytest.param(lambda x: x.argsort(), lambda x: F.argsort(x), id="argsort"),
    pytest.param(lambda x: x.max(1).values, lambda x: F.max(x, 1).values, id="max-dim"),
    pytest.param(lambda x: x.min(), lambda x: F.min(x), id="min"),
    pytest.param(lambda x: x.min(0).indices, lambda x: F.min(x, 0).indices, id="min-dim-indices"),
    pytest.param(lambda x: x.amax(0), lambda x: F.amax(x, 0), id="amax"),
    pytest.param(lambda x: x.amin(), lambda x: F.amin(x), id="amin"),
    pytest.param(lambda x: x.argmin(1), lambda x: F.argmin(x, 1), id="argmin"),
    pytest.param(lambda x: x.var(0), lambda x: F.var(x, 0), id="var"),
    pytest.param(lambda x: x.std(1, correction=0), lambda x: F.std(x, 1, correction=0), id="std"),
    pytest.param(lambda x: x.pow(2), lambda x: F.pow(x, 2), id="pow"),
    pytest.param(lambda x: x.abs() ** x, lambda x: F.pow(F.abs(x), x), id="__pow__-tensor"),
    pytest.param(lambda x: 3 ** x, lambda x: F.pow(3, x), id="__rpow__"),
    pytest.param(lambda x: x.abs().sqrt(), lambda x: F.sqrt(F.abs(x)), id="sqrt"),
    pytest.param(lambda x: abs(x), lambda x: F.abs(x), id="__abs__"),
    pytest.param(lambda x: x.clamp(-0.2, 0.3), lambda x: F.clamp(x, -0.2, 0.3), id="clamp"),
    pytest.param(lambda x: x.clip(max=0.1), lambda x: F.clip(x, max=0.1), id="clip"),
    pytest.param(lambda x: x.sum(1), lambda x: F.sum(x, 1), id="sum"),
    pytest.param(lambda x: x.mean(), lambda x: F.mean(x), id="mean"),
]


@pytest.mark.parametrize("method, function", METHODS_AND_FUNCTIONS)
def test_method_is_the_function(device, rng, method, function):
    """x.name(...) equals F.name(x, ...) and gradchecks (tie-free input, away from the kinks)."""
    x = tie_free(rng, (3, 4), device, offset=-0.45, spacing=0.073)
    np.testing.assert_array_equal(host(method(x)), host(function(x)))
    y = method(x)
    if y.requires_grad:
        assert tinynet.gradcheck(method, [x])


def test_max_and_min_with_dim_are_named_tuples(device, rng):
    x = tie_free(rng, (3, 4), device, requires_grad=False)
    result = x.max(1)
    values, indices = result
    assert result.values is values and result.indices is indices
    assert type(result).__name__ == "MaxResult" and type(x.min(0)).__name__ == "MinResult"
    assert type(x.sort()).__name__ == "SortResult" and type(x.topk(1)).__name__ == "TopkResult"
    assert indices.dtype == np.int64 and not indices.requires_grad


@pytest.mark.parametrize("method, dtype, name", [
    ("float", np.float32, "tinynet.FloatTensor"), ("double", np.float64, "tinynet.DoubleTensor"),
    ("half", np.float16, "tinynet.HalfTensor"), ("long", np.int64, "tinynet.LongTensor"),
    ("int", np.int32, "tinynet.IntTensor"), ("bool", np.bool_, "tinynet.BoolTensor"),
])
def test_dtype_methods_and_type_names(method, dtype, name):
    x = tinynet.Tensor(np.array([0.0, 1.5, -2.0]))
    y = getattr(x, method)()
    assert y.dtype == dtype and y.type() == name
    assert x.type(dtype).dtype == dtype
    assert x.type(name).dtype == dtype and x.type(name.replace("tinynet.", "torch.")).dtype == dtype


def test_long_truncates_and_bool_is_nonzero():
    x = tinynet.Tensor(np.array([-1.7, 0.0, 2.9]))
    assert x.long().tolist() == [-1, 0, 2] and x.bool().tolist() == [True, False, True]


def test_type_conversion_is_differentiable(rng):
    x = rand(rng, (3,))
    y = x.type("tinynet.FloatTensor")
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float64 and host(x.grad).tolist() == [1.0, 1.0, 1.0]


def test_integer_tensors_index_and_divide_as_in_pytorch():
    """An int64 argmax indexes gather; an int tensor divided is float32, as in torch."""
    x = tinynet.Tensor(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    idx = x.argmax(1, keepdim=True)
    assert x.gather(1, idx).tolist() == [[5.0], [7.0]]
    assert (idx / 2).dtype == np.float32 and (idx * 0.5).dtype == np.float32


def _t(*shape):
    return tinynet.Tensor(np.zeros(shape))


METHOD_REFUSED = [
    pytest.param(lambda: _t(3).type("foo"), TypeError, r"^type\('foo'\): 'foo' is not a dtype", id="type-str"),
    pytest.param(lambda: _t(3).type(5), TypeError, r"^type\(5\): 5 is not a dtype", id="type-int"),
    pytest.param(lambda: _t(3).type("torch.FooTensor"), TypeError, r"^type\('torch.FooTensor'\): expected a dtype",
                 id="type-unknown-name"),
    pytest.param(lambda: _t(3).type(object), TypeError, r"^type\(<class 'object'>\): dtype must be a number type",
                 id="type-object"),
    pytest.param(lambda: _t(3).expand_as([1, 2, 3]), TypeError, r"^expand_as: other must be a Tensor, got list",
                 id="expand_as-list"),
    pytest.param(lambda: _t(3).long().mean(), TypeError, r"^mean: input must be floating point, got dtype int64",
                 id="mean-long"),
    pytest.param(lambda: _t(3).chunk("2"), TypeError, r"^chunk: chunks must be an int, got '2'", id="chunk-str"),
    pytest.param(lambda: _t(3).split(None), TypeError, r"^split: split_size_or_sections must be", id="split-None"),
    pytest.param(lambda: _t(3).sort(None), TypeError, r"^sort: dim must be an int, got None", id="sort-None"),
    pytest.param(lambda: _t(3).topk(True), TypeError, r"^topk: k must be an int, got True", id="topk-bool"),
    pytest.param(lambda: _t(3).unsqueeze(None), TypeError, r"^unsqueeze: dim must be an int, got None",
                 id="unsqueeze-None"),
    pytest.param(lambda: _t(3).where(_t(3), 0.0), TypeError, r"^where: condition must be a bool tensor", id="where-float"),
    pytest.param(lambda: _t(3) ** [1, "a", 2], TypeError, r"for \*\*: 'Tensor' and 'list'", id="pow-list-str"),
]


@pytest.mark.parametrize("action, error, message", METHOD_REFUSED)
def test_bad_arguments_are_refused_naming_the_method(action, error, message):
    with pytest.raises(error, match=message):
        action()


def test_the_docs_worked_example_quotes_what_the_ops_compute():
    """docs/tensor_ops.md's worked example: every number its prose quotes is what tinynet computes."""
    import pathlib

    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "tensor_ops.md").read_text()
    prose = page.split("## Worked example")[1].split("```python")[0]
    prose = " ".join(prose.split())

    def listed(values, digits=5):
        return "[" + ", ".join(f"{round(float(v), digits):g}" for v in np.ravel(values)) + "]"

    x = tinynet.Tensor(np.array([1.0, 3.0, 3.0, 2.0]), requires_grad=True)
    x.max().backward()
    grad_max = x.grad.numpy()
    x.grad = None
    x.max(0).values.backward()
    grad_max_dim = x.grad.numpy()
    x.grad = None
    v = x.var()
    v.backward()
    m = x.numpy().mean()
    src = tinynet.Tensor(np.array([[10.0, 20.0, 30.0]]), requires_grad=True)
    y = F.gather(src, 1, tinynet.Tensor(np.array([[2, 0, 2]])))
    y.backward(np.array([[1.0, 2.0, 3.0]]))
    c = tinynet.Tensor(np.array([-1.0, -0.5, 0.0, 0.5, 1.0]), requires_grad=True)
    c.clamp(-0.5, 0.5).sum().backward()
    b, p = tinynet.Tensor(np.array(2.0), requires_grad=True), tinynet.Tensor(np.array(3.0), requires_grad=True)
    (b ** p).backward()

    quoted = [
        f"dx = {listed(grad_max)}", f"[{', '.join(f'{v:g}' for v in grad_max_dim)}]",
        f"The mean is {m:g}", f"the deviations {listed(x.numpy() - m)}",
        f"their squares sum to {((x.numpy() - m) ** 2).sum():g}", f"= {v.item():.5f}",
        f"gradient 2 (x - m) / 3 = {listed(x.grad.numpy())}", f"= {x.var(correction=0).item():g}",
        f"is [{listed(y.numpy())}]", f"dx = [{listed(src.grad.numpy())}]", f"at {listed(c.grad.numpy())}",
        f"dx = 3 * 2^2 = {b.grad.item():g}", f"dp = 8 ln 2 = {p.grad.item():.5f}",
    ]
    for q in quoted:
        assert q in prose, q


# --- the operators under their method names, and all/any ------------------------------------------------------

def test_comparison_and_arithmetic_methods_are_the_operators():
    a = tinynet.tensor([1.0, 2.0, 3.0])
    b = tinynet.tensor([3.0, 2.0, 1.0])
    for method, op in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                       ("gt", np.greater), ("ge", np.greater_equal), ("add", np.add), ("sub", np.subtract),
                       ("mul", np.multiply), ("div", np.divide)]:
        np.testing.assert_array_equal(getattr(a, method)(b).numpy(), op(a.numpy(), b.numpy()))
    np.testing.assert_array_equal(a.add(b, alpha=2).numpy(), [7.0, 6.0, 5.0])
    np.testing.assert_array_equal(a.sub(b, alpha=2).numpy(), [-5.0, -2.0, 1.0])
    np.testing.assert_array_equal(a.neg().numpy(), [-1.0, -2.0, -3.0])
    assert a.matmul(b).item() == 10.0
    # PyTorch's MNIST example: correct += pred.eq(target.view_as(pred)).sum().item()
    pred, target = tinynet.tensor([[1], [0], [2]]), tinynet.tensor([1, 1, 2])
    assert pred.eq(target.view_as(pred)).sum().item() == 2
    assert tinynet.tensor([1, 2]).type_as(a).dtype == np.float32


def test_all_and_any():
    t = tinynet.tensor([[1, 0, 2], [3, 4, 5]])
    assert not t.all().item() and t.any().item()
    np.testing.assert_array_equal(t.all(dim=1).numpy(), [False, True])
    np.testing.assert_array_equal(t.any(dim=0, keepdim=True).numpy(), [[True, True, True]])
    assert t.all().dtype == np.bool_ and not t.all().requires_grad
    with pytest.raises(IndexError, match="all: dim 2 is out of range"):
        t.all(dim=2)
