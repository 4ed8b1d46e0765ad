"""Tensor given what it can't take, as a careless or hostile user would: each case names what and where.

One table, one row per case: (what is done, the exception expected, a regex its message must match).
"""
import numpy as np
import pytest

import tinynet
from tinynet import Tensor


def _t(*shape):
    """A float64 tensor of zeros of ``shape``."""
    return Tensor(np.zeros(shape))


def _backward_with(grad):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    (x * 2.0).backward(grad)


BAD_INPUT = [
    # --- what a Tensor may hold: numbers only
    pytest.param(lambda: Tensor("hello") + 1, TypeError,
                 r"^Tensor: data must be numbers \(bool, int, float\), got a str 'hello'$", id="str"),
    pytest.param(lambda: Tensor(b"ab"), TypeError, r"^Tensor: data must be numbers .*got a bytes b'ab'", id="bytes"),
    pytest.param(lambda: Tensor(None), TypeError, r"^Tensor: data must be numbers .*got None$", id="None"),
    pytest.param(lambda: Tensor({"a": 1}), TypeError, r"^Tensor: data must be numbers .*got a dict", id="dict"),
    pytest.param(lambda: Tensor([1, "a"]), TypeError, r"got a list holding a str 'a'$", id="list-with-a-str"),
    pytest.param(lambda: Tensor([[1.0, None]]), TypeError, r"got a list holding a NoneType None$", id="list-with-None"),
    pytest.param(lambda: Tensor([[1, 2], [3]]), ValueError, r"^Tensor: nested lists must be rectangular", id="ragged"),
    pytest.param(lambda: Tensor(np.array(["a", "b"])), TypeError, r"got an array of dtype <U1$", id="str-array"),
    pytest.param(lambda: Tensor(np.array([None, 1])), TypeError, r"got an array of dtype object$", id="object-array"),
    pytest.param(lambda: Tensor(np.zeros(2, dtype=[("a", "f4")])), TypeError, r"got an array of dtype \[\('a'",
                 id="record-array"),
    pytest.param(lambda: Tensor(np.array("2024-01-01", dtype="datetime64[D]")), TypeError,
                 r"got an array of dtype datetime64", id="datetime-array"),
    pytest.param(lambda: Tensor([1.0], dtype="str"), TypeError,
                 r"^Tensor: dtype must be a number type \(bool, int, float\), got <U", id="dtype-str"),
    pytest.param(lambda: Tensor([1.0], dtype=object), TypeError, r"^Tensor: dtype must be a number type.*object$",
                 id="dtype-object"),
    pytest.param(lambda: Tensor([1.0], dtype="floatx"), TypeError, r"^Tensor: 'floatx' is not a dtype", id="dtype-unknown"),
    pytest.param(lambda: tinynet.nn.Parameter("abc"), TypeError, r"^Tensor: data must be numbers", id="Parameter-str"),
    pytest.param(lambda: Tensor(np.zeros(3), requires_grad="no"), TypeError,
                 r"^requires_grad must be True or False, got 'no'$", id="requires_grad-str"),
    # --- operators with what is not numbers
    pytest.param(lambda: _t(2) + "a", TypeError, r"^unsupported operand type\(s\) for \+: 'Tensor' and 'str'",
                 id="add-str"),
    pytest.param(lambda: "a" - _t(2), TypeError, r"^unsupported operand type\(s\) for -: 'str' and 'Tensor'",
                 id="rsub-str"),
    pytest.param(lambda: _t(2) * None, TypeError, r"for \*: 'Tensor' and 'NoneType'", id="mul-None"),
    pytest.param(lambda: _t(2) / {"a": 1}, TypeError, r"for /: 'Tensor' and 'dict'", id="div-dict"),
    pytest.param(lambda: _t(2, 3) @ [["a"]], TypeError, r"for @: 'Tensor' and 'list'.*holding a str", id="matmul-list-of-str"),
    pytest.param(lambda: _t(2) < "a", TypeError, r"'<' not supported between instances of 'Tensor' and 'str'",
                 id="lt-str"),
    pytest.param(lambda: _t(2) >= np.array(["a", "b"]), TypeError, r"'>=' not supported between instances of 'Tensor'",
                 id="ge-str-array"),
    # --- indexing out of range or with what is not an index
    pytest.param(lambda: _t(2, 3)[5], IndexError,
                 r"^indexing a tensor of shape \(2, 3\) with 5: index 5 is out of bounds for axis 0 with size 2", id="index-5"),
    pytest.param(lambda: _t(2, 3)[0, 7], IndexError, r"^indexing a tensor of shape \(2, 3\) with \(0, 7\): ", id="index-0-7"),
    pytest.param(lambda: _t(2, 3)["a"], IndexError, r"^indexing a tensor of shape \(2, 3\) with 'a': ", id="index-str"),
    pytest.param(lambda: _t(2, 3)[1.5], IndexError, r"^indexing a tensor of shape \(2, 3\) with 1.5: ", id="index-float"),
    pytest.param(lambda: _t(2, 3)[0, 0, 0], IndexError, r"^indexing a tensor of shape \(2, 3\) with \(0, 0, 0\): ",
                 id="index-too-many"),
    # --- conversions
    pytest.param(lambda: _t(2).to(None), TypeError, r"^to\(None\): expected a device", id="to-None"),
    pytest.param(lambda: _t(2).to("str"), TypeError, r"^to\('str'\): dtype must be a number type", id="to-str-dtype"),
    pytest.param(lambda: _t(2).to(object), TypeError, r"dtype must be a number type.*object$", id="to-object"),
    # --- dims: PyTorch's rule, one message naming the op, the dim and the tensor's dimensions
    pytest.param(lambda: _t(2, 3).size(5), IndexError,
                 r"^size: dim 5 is out of range for a tensor of 2 dimensions \(valid: -2\.\.1\)$", id="size-5"),
    pytest.param(lambda: _t(2, 3).sum(5), IndexError, r"^sum: dim 5 is out of range for a tensor of 2 dimensions",
                 id="sum-5"),
    pytest.param(lambda: _t(2, 3).sum("a"), TypeError, r"^sum: dim must be an int, got 'a'$", id="sum-str"),
    pytest.param(lambda: _t(2, 3).sum(True), TypeError, r"^sum: dim must be an int, got True$", id="sum-bool"),
    pytest.param(lambda: _t(2, 3).sum((0, 0)), ValueError, r"^sum: dim=\(0, 0\) names a dimension more than once$",
                 id="sum-twice"),
    pytest.param(lambda: _t(2, 3).sum((0, -2)), ValueError, r"^sum: dim=\(0, -2\) names a dimension more than once$",
                 id="sum-twice-negative"),
    pytest.param(lambda: _t(2, 3).mean(-3), IndexError,
                 r"^mean: dim -3 is out of range for a tensor of 2 dimensions \(valid: -2\.\.1\)$", id="mean--3"),
    pytest.param(lambda: _t(2, 3).max(2), IndexError, r"^max: dim 2 is out of range", id="max-2"),
    pytest.param(lambda: _t(2, 3).max(True), TypeError, r"^max: dim must be an int, got True$", id="max-bool"),
    pytest.param(lambda: _t(2, 3).argmax(5), IndexError, r"^argmax: dim 5 is out of range", id="argmax-5"),
    pytest.param(lambda: _t(2, 3).argmax(1.0), TypeError, r"^argmax: dim must be an int, got 1.0$", id="argmax-float"),
    pytest.param(lambda: _t(0).argmax(), ValueError, r"^argmax of an empty tensor \(shape \(0,\)\)$", id="argmax-empty"),
    pytest.param(lambda: _t(2, 0).argmax(1), ValueError, r"^argmax: dim 1 of the tensor \(shape \(2, 0\)\) is empty$",
                 id="argmax-empty-dim"),
    pytest.param(lambda: _t(2, 3).flatten(5), IndexError, r"^flatten: dim 5 is out of range", id="flatten-start-5"),
    pytest.param(lambda: _t(2, 3).flatten(0, -5), IndexError, r"^flatten: dim -5 is out of range", id="flatten-end--5"),
    pytest.param(lambda: _t(2, 3).transpose(0, "a"), TypeError, r"^transpose: dim must be an int, got 'a'$",
                 id="transpose-str"),
    pytest.param(lambda: _t(2, 3).permute(0, 5), IndexError, r"^permute: dim 5 is out of range", id="permute-5"),
    pytest.param(lambda: _t(2, 3).permute(0, 1.0), TypeError, r"^permute: dim must be an int", id="permute-float"),
    # --- reshape sizes
    pytest.param(lambda: _t(2, 3).reshape(-1, -1), ValueError, r"^reshape: only one size can be inferred \(-1\)",
                 id="reshape-two-minus-ones"),
    pytest.param(lambda: _t(2, 3).reshape("a"), TypeError, r"^reshape: the sizes must be ints, got \('a',\)$",
                 id="reshape-str"),
    pytest.param(lambda: _t(2, 3).reshape(3.0, 2), TypeError, r"^reshape: the sizes must be ints, got \(3.0, 2\)$",
                 id="reshape-float"),
    pytest.param(lambda: _t(2, 3).reshape(-3, -2), ValueError, r"^reshape: sizes must be >= 0 \(or -1",
                 id="reshape-negative"),
    # --- Python protocols
    pytest.param(lambda: len(Tensor(1.0)), TypeError, r"^len\(\) of a 0-d tensor$", id="len-0d"),
    pytest.param(lambda: list(Tensor(1.0)), TypeError, r"^iteration over a 0-d tensor$", id="iter-0d"),
    pytest.param(lambda: bool(_t(3)), ValueError, r"^the truth value of a tensor of shape \(3,\) is ambiguous",
                 id="bool-3"),
    # --- backward's seed gradient
    pytest.param(lambda: _backward_with("a"), TypeError, r"^backward\(\): grad: data must be numbers.*got a str 'a'$",
                 id="backward-grad-str"),
    pytest.param(lambda: _backward_with(np.full((2, 3), "a")), TypeError,
                 r"^backward\(\): grad: data must be numbers.*array of dtype <U1$", id="backward-grad-str-array"),
    pytest.param(lambda: _backward_with([[1.0, 2.0], [3.0]]), ValueError,
                 r"^backward\(\): grad: nested lists must be rectangular", id="backward-grad-ragged"),
    # --- tinynet.tensor (the copying constructor), tinynet.flatten and the activation methods
    pytest.param(lambda: tinynet.tensor("abc"), TypeError, r"^tinynet.tensor: data must be numbers .*got a str 'abc'$",
                 id="tensor-str"),
    pytest.param(lambda: tinynet.tensor(None), TypeError, r"^tinynet.tensor: data must be numbers .*got None$",
                 id="tensor-None"),
    pytest.param(lambda: tinynet.tensor([1, [2]]), ValueError, r"^tinynet.tensor: nested lists must be rectangular",
                 id="tensor-ragged"),
    pytest.param(lambda: tinynet.tensor([1.0], dtype="foo"), TypeError, r"^tinynet.tensor: 'foo' is not a dtype",
                 id="tensor-dtype"),
    pytest.param(lambda: tinynet.tensor([1.0], device="tpu"), tinynet.DeviceError,
                 r"^tinynet.tensor: unknown device 'tpu'", id="tensor-device"),
    pytest.param(lambda: tinynet.tensor([1.0], requires_grad="yes"), TypeError,
                 r"^tinynet.tensor: requires_grad must be True or False, got 'yes'$", id="tensor-requires-grad-str"),
    pytest.param(lambda: tinynet.tensor([1, 2], requires_grad=True), TypeError,
                 r"^tinynet.tensor: only floating-point tensors can require gradients, not int64$",
                 id="tensor-int-requires-grad"),
    pytest.param(lambda: tinynet.flatten(_t(2, 3), 5), IndexError, r"^flatten: dim 5 is out of range", id="flatten-dim"),
    pytest.param(lambda: tinynet.flatten("abc"), TypeError, r"^flatten: input: Tensor: data must be numbers",
                 id="flatten-str"),
    pytest.param(lambda: tinynet.flatten(_t(2, 3), 1, 0), ValueError, r"^flatten: start_dim 1 comes after end_dim 0",
                 id="flatten-reversed"),
    pytest.param(lambda: _t(2).softmax(), TypeError, r"softmax\(\) missing 1 required positional argument: 'dim'",
                 id="softmax-method-without-dim"),
    pytest.param(lambda: _t(2).softmax(5), IndexError, r"^softmax: dim 5 is out of range", id="softmax-method-dim"),
    pytest.param(lambda: _t(2).log_softmax("a"), TypeError, r"^log_softmax: dim must be an int, got 'a'$",
                 id="log-softmax-method-dim-str"),
    pytest.param(lambda: Tensor(np.arange(3)).tanh(), TypeError, r"^tanh: input must be floating point, got dtype int64$",
                 id="tanh-method-int"),
    pytest.param(lambda: Tensor(np.array([True])).sigmoid(), TypeError,
                 r"^sigmoid: input must be floating point, got dtype bool$", id="sigmoid-method-bool"),
]


@pytest.mark.parametrize("action, error, message", BAD_INPUT)
def test_bad_input_is_refused_naming_what_and_where(action, error, message):
    with pytest.raises(error, match=message):
        action()


def test_equality_with_what_is_not_numbers_is_false_as_in_pytorch():
    """== and != fall back to identity for a str or None (PyTorch's answer), not an array of NumPy's guesses."""
    t = _t(2)
    assert (t == "a") is False and (t != "a") is True
    assert (t == None) is False  # noqa: E711 - the point of the test


def test_tensor_copies_and_keeps_pytorchs_dtypes():
    a = np.arange(3.0)
    t = tinynet.tensor(a)
    t.data[0] = 9.0
    assert a[0] == 0.0 and t.dtype == np.float64  # a copy, and an array keeps its dtype
    assert tinynet.tensor([1.5]).dtype == np.float32 and tinynet.tensor([1, 2]).dtype == np.int64
    x = tinynet.Tensor(np.ones(2), requires_grad=True)
    y = tinynet.tensor(x * 2)
    assert not y.requires_grad  # the values, without the graph
    assert tinynet.flatten(tinynet.Tensor(np.ones((2, 3, 4))), 1).shape == (2, 12)


def test_activation_methods_are_the_functional_ops():
    from tinynet import functional as F

    x = tinynet.Tensor(np.array([[-1.0, 0.5], [2.0, -3.0]]))
    for method, op in [("relu", F.relu), ("tanh", F.tanh), ("sigmoid", F.sigmoid)]:
        np.testing.assert_array_equal(getattr(x, method)().numpy(), op(x).numpy())
    np.testing.assert_array_equal(x.softmax(0).numpy(), F.softmax(x, 0).numpy())
    np.testing.assert_array_equal(x.log_softmax(-1).numpy(), F.log_softmax(x, -1).numpy())
