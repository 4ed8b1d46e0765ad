"""F.pad in its four modes: PyTorch's values and gradients (fixtures), the loop reference, float64
gradient checks, what backward leaves alone, and a table of bad arguments and inputs.
"""
import json

import numpy as np
import pytest

import tinynet
from tests.fixtures import torch_fixture
from tests.helpers import host, rand, tensor
from tinynet.functional import reference
from tinynet.functional.padding import pad

FIXTURE = torch_fixture("conv")
PAD_CASES = json.loads(str(FIXTURE["pad_cases"]))
MODES = ["constant", "reflect", "replicate", "circular"]


@pytest.mark.parametrize("case", PAD_CASES, ids=[c["name"] for c in PAD_CASES])
def test_pad_matches_pytorch(device, case):
    """Values and the input gradient of sum(y * gy) equal PyTorch's F.pad (float64, 1e-12)."""
    name = case["name"]
    x = tensor(FIXTURE[f"{name}__x"], device, requires_grad=True)
    y = pad(x, tuple(case["pad"]), mode=case["mode"], value=case["value"])
    expected = FIXTURE[f"{name}__y"]
    assert y.shape == expected.shape and y.dtype == np.float64
    np.testing.assert_allclose(host(y), expected, rtol=1e-12, atol=1e-12)
    y.backward(tensor(FIXTURE[f"{name}__gy"], device))
    np.testing.assert_allclose(host(x.grad), FIXTURE[f"{name}__gx"], rtol=1e-12, atol=1e-12)


# (x shape, pad, mode, value) for the loop reference and the gradient checks
CASES = [
    pytest.param((2, 3, 4), (1, 2), "constant", 0.0, id="constant-1d"),
    pytest.param((1, 2, 3, 4), (2, 1, 0, 3), "constant", 1.25, id="constant-2d-value"),
    pytest.param((1, 1, 5, 4), (-1, 2, 2, -3), "constant", -2.0, id="constant-crop"),
    pytest.param((2, 2, 3), (0, 0, 1, 1, 1, 0), "constant", 0.0, id="constant-every-dim"),
    pytest.param((2, 3, 5), (3, 4), "reflect", 0.0, id="reflect-1d-largest"),
    pytest.param((1, 2, 4, 5), (2, 1, 3, 0), "reflect", 0.0, id="reflect-2d"),
    pytest.param((2, 3, 4), (1, 3, 1, 1), "reflect", 0.0, id="reflect-unbatched"),
    pytest.param((1, 1, 3, 3, 4), (1, 2, 2, 0, 1, 1), "reflect", 0.0, id="reflect-3d"),
    pytest.param((2, 1, 3), (4, 2), "replicate", 0.0, id="replicate-1d-over-size"),
    pytest.param((1, 2, 3, 4), (1, 2, 3, 1), "replicate", 0.0, id="replicate-2d"),
    pytest.param((1, 1, 1, 1), (2, 2, 1, 3), "replicate", 0.0, id="replicate-1x1"),
    pytest.param((2, 2, 3, 3, 2), (1, 1, 0, 2, 1, 0), "replicate", 0.0, id="replicate-3d"),
    pytest.param((2, 3, 4), (4, 2), "circular", 0.0, id="circular-1d-full"),
    pytest.param((1, 2, 3, 4), (3, 1, 3, 2), "circular", 0.0, id="circular-2d"),
    pytest.param((2, 3, 4), (0, 2, 1, 0), "circular", 0.0, id="circular-unbatched"),
    pytest.param((1, 1, 2, 3, 3), (2, 1, 1, 1, 2, 0), "circular", 0.0, id="circular-3d"),
]


@pytest.mark.parametrize("x_shape, pads, mode, value", CASES)
def test_pad_matches_the_loop_reference(device, rng, x_shape, pads, mode, value):
    """Every output cell is the input cell (or the value) the loop reference looks up, and the input
    gradient is the reference's sum over the cells that copied each input cell."""
    x = rand(rng, x_shape, device)
    y = pad(x, pads, mode, value if mode == "constant" else None)
    np.testing.assert_array_equal(host(y), reference.pad(host(x), pads, mode, value))
    gy = rng.standard_normal(y.shape)
    y.backward(tensor(gy, device))
    np.testing.assert_allclose(host(x.grad), reference.pad_backward(gy, x_shape, pads, mode),
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("x_shape, pads, mode, value", CASES)
def test_pad_gradcheck(device, rng, x_shape, pads, mode, value):
    """Analytic dL/dx against central differences in float64, random upstream gradient."""
    x = rand(rng, x_shape, device)
    assert tinynet.gradcheck(lambda x: pad(x, pads, mode, value if mode == "constant" else None), [x])


def test_reflect_replicate_circular_on_one_row():
    """The docstring's row [a b c d] = [1 2 3 4] padded by 2 on each side, written out by hand."""
    row = tensor(np.array([[[1.0, 2.0, 3.0, 4.0]]]))
    assert host(pad(row, (2, 2), "constant", 9.0)).tolist() == [[[9, 9, 1, 2, 3, 4, 9, 9]]]
    assert host(pad(row, (2, 2), "reflect")).tolist() == [[[3, 2, 1, 2, 3, 4, 3, 2]]]
    assert host(pad(row, (2, 2), "replicate")).tolist() == [[[1, 1, 1, 2, 3, 4, 4, 4]]]
    assert host(pad(row, (2, 2), "circular")).tolist() == [[[3, 4, 1, 2, 3, 4, 1, 2]]]


@pytest.mark.parametrize("mode", MODES)
def test_pad_keeps_the_dtype_and_leaves_the_gradient_alone(device, rng, mode):
    """float32 stays float32; backward folds a copy, never the upstream gradient array itself."""
    x = rand(rng, (1, 2, 4, 5), device, dtype="float32")
    y = pad(x, (2, 1, 1, 3), mode)
    assert y.dtype == np.float32
    gy = tensor(rng.standard_normal(y.shape), device, dtype="float32")
    before = host(gy).copy()
    y.backward(gy)
    np.testing.assert_array_equal(host(gy), before)
    assert x.grad.dtype == np.float32


def test_constant_pad_of_an_integer_tensor(device):
    """Constant mode works on integers, the value converted to the tensor's dtype (as PyTorch: 2.7 -> 2)."""
    x = tensor(np.arange(6).reshape(2, 3), device)
    y = pad(x, (1, 0), value=2.7)
    assert y.dtype == x.dtype
    assert host(y).tolist() == [[2, 0, 1, 2], [2, 3, 4, 5]]


def test_empty_pad_and_zero_pads_copy_the_input(device, rng):
    x = rand(rng, (2, 3, 4), device)
    for mode, pads in [("constant", ()), ("reflect", (0, 0)), ("circular", (0, 0, 0, 0))]:
        y = pad(x, pads, mode)
        np.testing.assert_array_equal(host(y), host(x))


def test_constant_value_may_be_infinite(device, rng):
    """-inf is a fill worth having (max pooling pads with it); PyTorch takes NaN and inf too."""
    x = rand(rng, (1, 1, 2, 2), device)
    y = host(pad(x, (1, 1, 1, 1), value=-float("inf")))
    assert np.isneginf(y[0, 0, 0]).all() and np.isfinite(y[0, 0, 1:3, 1:3]).all()


def _x(*shape):
    return tinynet.Tensor(np.ones(shape))


NAN = float("nan")
BAD = [
    # pad itself
    pytest.param(lambda: pad(_x(1, 1, 3, 3), 1), TypeError, r"^pad: pad must be a tuple of ints .*got 1$",
                 id="pad-int"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1.0, 1)), TypeError,
                 r"^pad: pad must be a tuple of ints .*got \(1\.0, 1\)$",
                 id="pad-float"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (True, 1)), TypeError, r"^pad: pad must be a tuple of ints .*True",
                 id="pad-bool"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), "11"), TypeError, r"^pad: pad must be a tuple of ints .*'11'$",
                 id="pad-str"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (NAN, 1)), TypeError, r"^pad: pad must be a tuple of ints .*nan",
                 id="pad-nan"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1, 1)), ValueError,
                 r"^pad: pad must hold pairs \(before, after\).*got 3 values \(1, 1, 1\)$", id="pad-odd-length"),
    pytest.param(lambda: pad(_x(3, 3), (1,) * 6), tinynet.ShapeError,
                 r"^pad: pad \(1, 1, 1, 1, 1, 1\) pads 3 dimensions, but the input has 2", id="pad-too-long"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (-2, -2)), tinynet.ShapeError,
                 r"^pad: padding \(-2, -2\) of dimension 3 \(size 3\) leaves a negative size -1",
                 id="pad-crop-too-much"),
    # mode
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), "foo"), ValueError,
                 r"^pad: mode must be one of 'constant', 'reflect', 'replicate', 'circular', got 'foo'$",
                 id="mode-foo"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), "Reflect"), ValueError, r"^pad: mode must be one of .*'Reflect'$",
                 id="mode-capital"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), None), TypeError, r"^pad: mode must be one of .*got None$",
                 id="mode-None"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), 0), TypeError, r"^pad: mode must be one of .*got 0$",
                 id="mode-int"),
    # value
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), value="0"), TypeError,
                 r"^pad: value must be a real number or None, got '0'$", id="value-str"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), value=True), TypeError,
                 r"^pad: value must be a real number or None, got True$", id="value-bool"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), value=1j), TypeError,
                 r"^pad: value must be a real number or None, got 1j$", id="value-complex"),
    pytest.param(lambda: pad(_x(1, 3, 3), (1, 1), "reflect", value=1.0), ValueError,
                 r"^pad: mode 'reflect' copies input cells and takes no value, got value=1\.0$",
                 id="value-with-reflect"),
    pytest.param(lambda: pad(_x(1, 3, 3), (1, 1), "circular", value=NAN), ValueError,
                 r"^pad: mode 'circular' .*takes no value, got value=nan$", id="value-nan-with-circular"),
    # the copying modes' limits
    pytest.param(lambda: pad(_x(1, 3, 3), (-1, 1), "reflect"), ValueError,
                 r"^pad: mode 'reflect' takes pads >= 0 \(only mode 'constant' crops.*got \(-1, 1\)$",
                 id="reflect-negative"),
    pytest.param(lambda: pad(_x(1, 3, 3), (0, 0, 0, -1), "replicate"), ValueError,
                 r"^pad: mode 'replicate' takes pads >= 0", id="replicate-negative"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (3, 0, 0, 0), "reflect"), tinynet.ShapeError,
                 r"^pad: reflect padding must be less than the size of the dimension it pads, got padding \(3, 0\) "
                 r"for dimension 3 of size 3", id="reflect-pad-equals-size"),
    pytest.param(lambda: pad(_x(1, 1, 1, 3), (0, 0, 1, 1), "reflect"), tinynet.ShapeError,
                 r"^pad: reflect padding must be less .*dimension 2 of size 1", id="reflect-size-1"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (4, 0, 0, 0), "circular"), tinynet.ShapeError,
                 r"^pad: circular padding must be at most the size .*\(4, 0\) for dimension 3 of size 3",
                 id="circular-wraps-twice"),
    pytest.param(lambda: pad(_x(1, 1, 0, 3), (0, 0, 1, 0), "replicate"), tinynet.ShapeError,
                 r"^pad: replicate padding needs a non-empty dimension to copy, got padding \(1, 0\) for dimension 2 "
                 r"of size 0", id="replicate-empty"),
    pytest.param(lambda: pad(_x(1, 1, 3, 3), (1, 1), "reflect"), tinynet.ShapeError,
                 r"^pad: mode 'reflect' pads the last 1, 2 or 3 dimensions .*got a pad of 2 for a 4-D input",
                 id="reflect-pad2-on-4d"),
    pytest.param(lambda: pad(_x(3, 3), (1, 1, 1, 1), "circular"), tinynet.ShapeError,
                 r"^pad: mode 'circular' pads .*got a pad of 4 for a 2-D input", id="circular-pad4-on-2d"),
    pytest.param(lambda: pad(_x(5), (1, 1), "replicate"), tinynet.ShapeError,
                 r"^pad: mode 'replicate' pads .*got a pad of 2 for a 1-D input", id="replicate-1d"),
    pytest.param(lambda: pad(_x(1, 1, 2, 2, 2, 2), (1,) * 8, "reflect"), tinynet.ShapeError,
                 r"^pad: mode 'reflect' pads .*got a pad of 8 for a 6-D input", id="reflect-4-dims"),
    pytest.param(lambda: pad(_x(1, 2, 3), (), "reflect"), tinynet.ShapeError,
                 r"^pad: mode 'reflect' pads .*got a pad of 0", id="reflect-empty-pad"),
    # the input
    pytest.param(lambda: pad("abc", (1, 1)), TypeError, r"^ConstantPad: input 0: Tensor: data must be numbers",
                 id="input-str"),
    pytest.param(lambda: pad(None, (1, 1), "circular"), TypeError, r"^CircularPad: input 0: ", id="input-None"),
    pytest.param(lambda: pad(tinynet.Tensor(np.array([[1, 2]])), (1, 1), value=float("nan")), ValueError,
                 r"^pad: value nan does not fit the input's dtype int64", id="value-nan-into-int"),
    pytest.param(lambda: pad(tinynet.Tensor(np.array([[1, 2]])), (1, 1), value=1e30), ValueError,
                 r"^pad: value 1e\+30 does not fit the input's dtype int64", id="value-huge-into-int"),
    pytest.param(lambda: pad(tinynet.Tensor(np.array([[1, 2]], dtype=np.uint8)), (1, 1), value=-1), ValueError,
                 r"^pad: value -1 does not fit the input's dtype uint8 \(0 \.\. 255\)$", id="value-negative-into-uint8"),
    pytest.param(lambda: pad(_x(1, 1), (-3, 4)), tinynet.ShapeError,
                 r"^pad: padding \(-3, 4\) of dimension 1 crops 3 cells of its 1", id="crop-past-the-size"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_arguments_name_pad_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_constant_value_into_an_integer_input_is_truncated_as_pytorch_converts_it():
    # torch.nn.functional.pad(torch.tensor([[1, 2]]), (1, 1), value=1.5) is [[1, 1, 2, 1]] (torch 2.13)
    y = pad(tinynet.Tensor(np.array([[1, 2]])), (1, 1), value=1.5)
    assert y.dtype == np.int64 and y.numpy().tolist() == [[1, 1, 2, 1]]
    y = pad(tinynet.Tensor(np.array([[1, 2]])), (1, 1), value=-2.7)
    assert y.numpy().tolist() == [[-2, 1, 2, -2]]
