"""tinynet.dtypes and tinynet.creation: PyTorch's names, dtype rules, sizes and values (pinned by
tests/fixtures/torch_creation.npz, written by tools/torch_reference/creation.py), seeding, memory sharing,
and every bad argument a careless or hostile user could give, each named in its message."""
import ast
import json

import numpy as np
import pytest

import tinynet
from tests.fixtures import torch_fixture
from tinynet import backend, dtypes
from tinynet import creation as c
from tinynet._tensor import Tensor

TORCH = torch_fixture("creation")


# --- dtypes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, numpy_name", [
    ("float16", "float16"), ("half", "float16"), ("float32", "float32"), ("float", "float32"),
    ("float64", "float64"), ("double", "float64"), ("int8", "int8"), ("int16", "int16"), ("short", "int16"),
    ("int32", "int32"), ("int", "int32"), ("int64", "int64"), ("long", "int64"), ("uint8", "uint8"),
    ("bool", "bool"),
])
def test_dtype_names_are_numpy_dtypes_under_pytorchs_names(name, numpy_name):
    dt = getattr(dtypes, name)
    assert isinstance(dt, np.dtype) and dt == np.dtype(numpy_name)
    t = Tensor(np.arange(3), dtype=dt)
    assert t.dtype == dt and t.dtype is dt
    assert Tensor(np.zeros(2)).to(dt).dtype == dt


def test_dtypes_work_where_numpy_and_tinynet_take_a_dtype():
    assert Tensor([1.0]).dtype == dtypes.float32
    assert Tensor(np.ones(2), dtype=dtypes.int64).data.dtype == np.int64
    assert Tensor([1.0]).to(dtypes.float16).dtype == np.float16
    assert dtypes.float32 == "float32" and dtypes.float32 == np.float32
    assert dtypes.get_default_dtype() is dtypes.float32
    assert not hasattr(dtypes, "bfloat16")  # NumPy has no bfloat16: left out (see the module's docstring)


# --- PyTorch's dtype inference, values and refusals, pinned ----------------------------------------
# The cases are tools/torch_reference/creation.py's tables, stored in the fixture: expressions that run
# unchanged on both engines, with T bound to torch there and to tinynet here.
CASES = json.loads(str(TORCH["cases"]))


def run(expr):
    return eval(expr, {"T": tinynet, "np": np})  # noqa: S307 -- the fixture's own constant expressions


def test_the_fixture_holds_every_table_and_its_values():
    tables = {"dtype": "dtype_", "value": "value_", "refused": "refused_"}
    for table, prefix in tables.items():
        assert sorted(CASES[table]) == sorted(k[len(prefix):] for k in TORCH if k.startswith(prefix)), table
    assert len(CASES["dtype"]) >= 25 and len(CASES["refused"]) >= 50 and len(CASES["linspace"]) >= 10
    assert all(f"linspace_{k}" in TORCH for k in range(len(CASES["linspace"])))
    assert all(f"eye_{k}" in TORCH for k in range(len(CASES["eye"])))


@pytest.mark.parametrize("case", sorted(CASES["dtype"]))
def test_dtype_inferred_as_pytorch_does(case):
    assert str(run(CASES["dtype"][case]).dtype) == str(TORCH[f"dtype_{case}"])


def test_arange_sizes_values_and_dtypes_are_pytorchs():
    cases = [ast.literal_eval(a) for a in TORCH["arange_args"]]
    assert len(cases) >= 10
    for k, args in enumerate(cases):
        r = c.arange(*args)
        assert str(r.dtype) == str(TORCH[f"arange_{k}_dtype"]), args
        np.testing.assert_array_equal(r.data.astype(np.float64), TORCH[f"arange_{k}"], err_msg=str(args))


@pytest.mark.parametrize("k", range(len(CASES["linspace"])))
def test_linspace_values_are_pytorchs_bit_for_bit(k):
    r = run(CASES["linspace"][k])
    expected = TORCH[f"linspace_{k}"]
    assert r.dtype == expected.dtype and str(r.dtype) == str(TORCH[f"linspace_{k}_dtype"])
    np.testing.assert_array_equal(r.data, expected)


def test_linspace_ends_exactly_at_end_and_takes_nan_as_pytorch():
    r = c.linspace(0.1, 0.7, 13)
    assert r.data[0] == np.float32(0.1) and r.data[-1] == np.float32(0.7)
    assert np.isnan(c.linspace(0, float("nan"), 3).data).all()  # PyTorch accepts it too (refused_linspace_nan = 0)


@pytest.mark.parametrize("k", range(len(CASES["eye"])))
def test_eye_is_pytorchs(k):
    r = run(CASES["eye"][k])
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r.data, TORCH[f"eye_{k}"])


@pytest.mark.parametrize("case", sorted(CASES["value"]))
def test_fill_values_are_converted_as_pytorch_does(case):
    r = run(CASES["value"][case])
    expected = TORCH[f"value_{case}"]
    assert r.dtype == expected.dtype
    np.testing.assert_array_equal(r.data, expected)


@pytest.mark.parametrize("case", sorted(CASES["refused"]))
def test_refused_exactly_where_pytorch_refuses(case):
    expr = CASES["refused"][case]
    if bool(TORCH[f"refused_{case}"]):
        with pytest.raises((TypeError, ValueError)) as info:
            run(expr)
        message = str(info.value)  # names the function: ours, or Python's for a missing argument
        assert message.startswith("tinynet.") or " missing 1 required positional argument" in message, message
    else:
        assert isinstance(run(expr), Tensor), expr


def test_fixture_pins_a_0d_size_for_an_empty_tuple_and_list():
    assert tuple(TORCH["shape_zeros_no_args"]) == c.zeros(()).shape == ()
    assert tuple(TORCH["shape_zeros_empty_list"]) == c.zeros([]).shape == ()


# --- sizes, devices, requires_grad ---------------------------------------------------------------
@pytest.mark.parametrize("make", [c.zeros, c.ones, c.empty, c.rand, c.randn])
def test_size_as_varargs_or_one_tuple_or_list(make, device):
    for size in [(2, 3), ((2, 3),), ([2, 3],), (np.int64(2), 3), (0, 4), ((),)]:
        t = make(*size, device=device)
        expected = size[0] if len(size) == 1 else size
        assert t.shape == tuple(int(d) for d in expected) and t.device == device
        assert t.dtype == np.float32 and t.is_leaf and not t.requires_grad


def test_values_of_the_filled_factories(device):
    np.testing.assert_array_equal(backend.host(c.zeros(2, 2, device=device).data), np.zeros((2, 2)))
    np.testing.assert_array_equal(backend.host(c.ones(3, dtype="int8", device=device).data), [1, 1, 1])
    t = c.full((2, 1), 7, device=device)
    assert t.dtype == np.int64 and t.device == device and t.tolist() == [[7], [7]]
    assert c.full([], 2.5).shape == () and c.full((), 2.5).item() == 2.5
    assert c.full((1,), 1 + 2j).dtype == np.complex64
    assert c.eye(2, 3, dtype=dtypes.int64, device=device).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert c.empty(2, 3, dtype=dtypes.float64).shape == (2, 3)


@pytest.mark.parametrize("make", [
    lambda **k: c.zeros(2, **k), lambda **k: c.ones(2, **k), lambda **k: c.empty(2, **k),
    lambda **k: c.full((2,), 1.5, **k), lambda **k: c.eye(2, **k), lambda **k: c.arange(0.0, 2.0, **k),
    lambda **k: c.linspace(0, 1, 3, **k), lambda **k: c.rand(2, **k), lambda **k: c.randn(2, **k),
    lambda **k: c.randint(0, 5, (2,), dtype=dtypes.float32, **k), lambda **k: c.zeros_like(c.zeros(2), **k),
    lambda **k: c.full_like(c.zeros(2), 3.0, **k), lambda **k: c.rand_like(c.zeros(2), **k),
])
def test_requires_grad_makes_a_float_leaf_that_gradients_reach(make):
    t = make(requires_grad=True)
    assert t.requires_grad and t.is_leaf
    (t * 2.0).sum().backward()
    np.testing.assert_array_equal(t.grad.data, np.full(t.shape, 2.0))


def test_like_factories_keep_shape_dtype_and_device_unless_told(device):
    x = c.ones(2, 3, dtype=dtypes.float64, device=device)
    for make in (c.zeros_like, c.ones_like, c.empty_like, c.rand_like, c.randn_like):
        t = make(x)
        assert (t.shape, t.dtype, t.device) == ((2, 3), np.float64, device), make
        assert make(x, dtype=dtypes.float16).dtype == np.float16
        assert make(x, device="cpu").device == "cpu"
    assert c.full_like(x, 4).dtype == np.float64 and c.full_like(x, 4).tolist() == [[4.0] * 3] * 2
    r = c.randint_like(x, 3, 9)
    assert (r.shape, r.dtype, r.device) == ((2, 3), np.float64, device)
    assert ((backend.host(r.data) >= 3) & (backend.host(r.data) < 9)).all()
    assert c.randint_like(Tensor(np.zeros(4, dtype=np.int8)), 100).dtype == np.int8


# --- random factories: seeding and ranges --------------------------------------------------------
@pytest.mark.parametrize("draw", [
    lambda d: c.rand(3, 4, device=d), lambda d: c.randn(5, device=d), lambda d: c.randint(10, (6,), device=d),
    lambda d: c.randint(-3, 3, (2, 2), device=d), lambda d: c.randperm(9, device=d),
    lambda d: c.rand(4, dtype=dtypes.float16, device=d), lambda d: c.randn(3, dtype=dtypes.float64, device=d),
    lambda d: c.rand_like(c.zeros(3, device=d)), lambda d: c.randn_like(c.zeros(3, device=d)),
    lambda d: c.randint_like(c.zeros(3, device=d), 5),
])
def test_manual_seed_makes_random_factories_repeat(draw, device):
    backend.manual_seed(0)
    a = backend.host(draw(device).data)
    b = backend.host(draw(device).data)
    backend.manual_seed(0)
    again = backend.host(draw(device).data)
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, b) or a.size <= 1


def test_random_values_lie_where_they_should(device):
    backend.manual_seed(1)
    u = backend.host(c.rand(10000, device=device).data)
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    h = backend.host(c.rand(10000, dtype=dtypes.float16, device=device).data)
    assert h.dtype == np.float16 and h.min() >= 0 and h.max() < 1  # never rounds up to 1
    n = backend.host(c.randn(10000, device=device).data)
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    r = backend.host(c.randint(-2, 3, (1000,), device=device).data)
    assert r.dtype == np.int64 and set(r.tolist()) == {-2, -1, 0, 1, 2}
    p = backend.host(c.randperm(50, device=device).data)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(50))
    b = backend.host(c.randint(0, 2, (100,), dtype=dtypes.bool, device=device).data)
    assert b.dtype == np.bool_ and b.any() and not b.all()


def test_randint_takes_pytorchs_overloads_and_keywords():
    assert c.randint(5, (3,)).shape == (3,)
    assert c.randint(5, 6, [2, 2]).tolist() == [[5, 5], [5, 5]]
    assert c.randint(high=1, size=(2,)).tolist() == [0, 0]
    assert c.randint(4, high=5, size=(1,)).tolist() == [4]
    assert c.randint(low=7, high=8, size=(1,)).tolist() == [7]
    assert c.randint_like(c.zeros(2), low=2, high=3).tolist() == [2.0, 2.0]


def test_random_factories_draw_from_the_host_generator_on_the_cpu():
    """host_rng() is the generator parameter initialisation uses: one seed fixes both."""
    backend.manual_seed(5)
    expected = np.random.default_rng(5).random(4, dtype=np.float32)
    np.testing.assert_array_equal(c.rand(4).data, expected)


# --- from data: copies and shared memory ---------------------------------------------------------
def test_from_numpy_sees_a_subclass_as_a_plain_array_over_the_same_memory():
    m = np.ma.masked_array(np.eye(2), mask=[[False, True], [False, False]])  # an ndarray subclass
    t = c.from_numpy(m)
    assert type(t.data) is np.ndarray and np.shares_memory(t.data, m)
    assert (t * 2.0).tolist() == [[2.0, 0.0], [0.0, 2.0]]  # the values under the mask too, as torch.from_numpy


def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)[:, ::2]  # a strided view, kept as it is
    t = c.from_numpy(a)
    assert t.dtype == np.int32 and t.shape == (2, 2) and t.data is a
    a[0, 0] = 100
    assert t.tolist()[0][0] == 100
    t.data[1, 1] = -1
    assert a[1, 1] == -1


def test_as_tensor_shares_what_it_can_and_copies_the_rest(device):
    xp = np if device == "cpu" else backend.cupy_or_raise()
    a = xp.zeros(3, dtype=np.float64)
    t = c.as_tensor(a)
    assert t.data is a and t.dtype == np.float64  # no copy: dtype and device fit
    assert c.as_tensor(a, dtype=dtypes.float64, device=device).data is a
    assert c.as_tensor(a, dtype=dtypes.float32).data is not a  # converted: a copy
    assert c.as_tensor(t) is t and c.as_tensor(t, dtype="float64") is t  # a Tensor that fits: itself
    u = c.as_tensor(t, dtype=dtypes.float16)
    assert u is not t and u.dtype == np.float16
    x = Tensor(np.ones(2), requires_grad=True)
    (c.as_tensor(x, dtype=dtypes.float32) * 3.0).sum().backward()  # converted as x.to(...): differentiable
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    values = [1.0, 2.0]
    v = c.as_tensor(values)
    assert v.dtype == np.float32 and v.tolist() == values


def test_as_tensor_moves_between_devices(device):
    t = c.as_tensor(np.arange(3), device=device)
    assert t.device == device and t.dtype == np.int64


# --- every bad argument: a clear message naming the function, what was expected and what came ------
def _int_tensor():
    return Tensor(np.array([1, 2]))


BAD_INPUT = [
    # sizes
    pytest.param(lambda: c.zeros(-1), ValueError, r"^tinynet\.zeros: size must be ints >= 0, got -1 at dimension 0",
                 id="zeros-negative"),
    pytest.param(lambda: c.ones(2, -3), ValueError, r"^tinynet\.ones: .*got -3 at dimension 1 of \(2, -3\)",
                 id="ones-negative-second"),
    pytest.param(lambda: c.zeros(2.0), TypeError, r"^tinynet\.zeros: size must be ints, e\.g\. zeros\(2, 3\) or "
                 r"zeros\(\(2, 3\)\); got float 2\.0 at dimension 0", id="zeros-float"),
    pytest.param(lambda: c.empty((2, 2.5)), TypeError, r"^tinynet\.empty: size must be ints.*got float 2\.5 at dimension 1",
                 id="empty-float-in-tuple"),
    pytest.param(lambda: c.zeros(True), TypeError, r"^tinynet\.zeros: size must be ints.*got bool True", id="zeros-bool"),
    pytest.param(lambda: c.zeros("3"), TypeError, r"^tinynet\.zeros: size must be ints.*got str '3'", id="zeros-str"),
    pytest.param(lambda: c.zeros(None), TypeError, r"^tinynet\.zeros: size must be ints.*got NoneType None",
                 id="zeros-None"),
    pytest.param(lambda: c.zeros(), TypeError, r"^tinynet\.zeros: expected a size, e\.g\. zeros\(2, 3\).*got none$",
                 id="zeros-nothing"),
    pytest.param(lambda: c.zeros((2,), 3), TypeError, r"^tinynet\.zeros: size must be ints.*got tuple \(2,\)",
                 id="zeros-tuple-and-int"),
    pytest.param(lambda: c.zeros(((2, 3),)), TypeError, r"^tinynet\.zeros: size must be ints.*got tuple \(2, 3\)",
                 id="zeros-nested-tuple"),
    pytest.param(lambda: c.rand(np.float64(2)), TypeError, r"^tinynet\.rand: size must be ints.*got float64",
                 id="rand-numpy-float"),
    pytest.param(lambda: c.full(3, 1.0), TypeError, r"^tinynet\.full: size must be a tuple or list of ints such as "
                 r"\(2, 3\), got int 3$", id="full-int-size"),
    pytest.param(lambda: c.full((-1,), 1.0), ValueError, r"^tinynet\.full: size must be ints >= 0", id="full-negative"),
    # dtypes
    pytest.param(lambda: c.zeros(2, dtype="floatx"), TypeError, r"^tinynet\.zeros: 'floatx' is not a dtype",
                 id="zeros-dtype-unknown-str"),
    pytest.param(lambda: c.ones(2, dtype="str"), TypeError, r"^tinynet\.ones: dtype must be a number type",
                 id="ones-dtype-str"),
    pytest.param(lambda: c.full((2,), 1, dtype=object), TypeError, r"^tinynet\.full: dtype must be a number type.*object",
                 id="full-dtype-object"),
    pytest.param(lambda: c.eye(2, dtype=3.5), TypeError, r"^tinynet\.eye: 3\.5 is not a dtype", id="eye-dtype-float"),
    pytest.param(lambda: c.rand(2, dtype=dtypes.int64), TypeError,
                 r"^tinynet\.rand: dtype must be floating point \(float16, float32, float64\), got int64$", id="rand-int"),
    pytest.param(lambda: c.randn(2, dtype="bool"), TypeError, r"^tinynet\.randn: dtype must be floating point.*got bool",
                 id="randn-bool"),
    pytest.param(lambda: c.rand_like(_int_tensor()), TypeError, r"^tinynet\.rand_like: dtype must be floating point.*int64",
                 id="rand_like-int"),
    pytest.param(lambda: c.randn_like(c.zeros(2), dtype="int32"), TypeError, r"^tinynet\.randn_like: .*got int32",
                 id="randn_like-int-dtype"),
    # devices
    pytest.param(lambda: c.zeros(2, device="tpu"), backend.DeviceError,
                 r"^tinynet\.zeros: unknown device 'tpu': expected 'cpu' or 'cuda'$", id="zeros-device-tpu"),
    pytest.param(lambda: c.rand(2, device="cuda:1"), backend.DeviceError, r"^tinynet\.rand: device 'cuda:1': tinynet uses one GPU",
                 id="rand-device-cuda1"),
    pytest.param(lambda: c.ones(2, device=0), TypeError, r"^tinynet\.ones: device must be 'cpu' or 'cuda', got int 0$",
                 id="ones-device-int"),
    pytest.param(lambda: c.as_tensor([1.0], device="mps"), backend.DeviceError, r"^tinynet\.as_tensor: unknown device 'mps'",
                 id="as_tensor-device"),
    pytest.param(lambda: c.zeros_like(c.zeros(1), device="nope"), backend.DeviceError, r"^tinynet\.zeros_like: unknown device",
                 id="zeros_like-device"),
    # requires_grad
    pytest.param(lambda: c.zeros(2, dtype=dtypes.int64, requires_grad=True), TypeError,
                 r"^tinynet\.zeros: only floating-point tensors can require gradients, got requires_grad=True with "
                 r"dtype int64$", id="zeros-requires_grad-int"),
    pytest.param(lambda: c.full((2,), 3, requires_grad=True), TypeError, r"^tinynet\.full: only floating-point.*int64",
                 id="full-requires_grad-int-fill"),
    pytest.param(lambda: c.arange(3, requires_grad=True), TypeError, r"^tinynet\.arange: only floating-point.*int64",
                 id="arange-requires_grad-int"),
    pytest.param(lambda: c.randint(3, (2,), requires_grad=True), TypeError, r"^tinynet\.randint: only floating-point",
                 id="randint-requires_grad"),
    pytest.param(lambda: c.randperm(3, requires_grad=True), TypeError, r"^tinynet\.randperm: only floating-point",
                 id="randperm-requires_grad"),
    pytest.param(lambda: c.ones(2, requires_grad="yes"), TypeError,
                 r"^tinynet\.ones: requires_grad must be True or False, got str 'yes'$", id="ones-requires_grad-str"),
    pytest.param(lambda: c.rand(2, requires_grad=1), TypeError, r"^tinynet\.rand: requires_grad must be True or False, got int 1",
                 id="rand-requires_grad-int"),
    # fill values
    pytest.param(lambda: c.full((2,), "a"), TypeError,
                 r"^tinynet\.full: fill_value must be a number \(bool, int, float\), got str 'a'$", id="full-str"),
    pytest.param(lambda: c.full((2,), None), TypeError, r"^tinynet\.full: fill_value must be a number.*NoneType None",
                 id="full-None"),
    pytest.param(lambda: c.full((2,), [1, 2]), TypeError, r"^tinynet\.full: fill_value must be a number.*list", id="full-list"),
    pytest.param(lambda: c.full((2,), 300, dtype=dtypes.uint8), ValueError,
                 r"^tinynet\.full: fill_value 300 does not fit dtype uint8 \(0 to 255\)$", id="full-uint8-overflow"),
    pytest.param(lambda: c.full((2,), -200, dtype=dtypes.int8), ValueError, r"does not fit dtype int8 \(-128 to 127\)",
                 id="full-int8-overflow"),
    pytest.param(lambda: c.full((2,), float("nan"), dtype=dtypes.int64), ValueError,
                 r"^tinynet\.full: fill_value nan can't be held by dtype int64$", id="full-nan-int"),
    pytest.param(lambda: c.full((2,), 1e6, dtype=dtypes.float16), ValueError,
                 r"^tinynet\.full: fill_value 1000000\.0 does not fit dtype float16 \(largest 65504", id="full-float16-overflow"),
    pytest.param(lambda: c.full((2,), 10**400, dtype=dtypes.float64), ValueError, r"^tinynet\.full: fill_value 1000.*does not "
                 r"fit dtype float64", id="full-huge-int-float"),
    pytest.param(lambda: c.full((2,), 1j, dtype=dtypes.float32), TypeError, r"^tinynet\.full: fill_value 1j is complex, "
                 r"dtype float32 is not", id="full-complex-real-dtype"),
    pytest.param(lambda: c.full_like(_int_tensor(), float("inf")), ValueError, r"^tinynet\.full_like: fill_value inf",
                 id="full_like-inf-int"),
    pytest.param(lambda: c.full_like(c.zeros(2), "x"), TypeError, r"^tinynet\.full_like: fill_value must be a number",
                 id="full_like-str"),
    # ranges
    pytest.param(lambda: c.arange(0, 5, 0), ValueError, r"^tinynet\.arange: step must be nonzero, got 0$", id="arange-step-0"),
    pytest.param(lambda: c.arange(0, 5, -1), ValueError, r"^tinynet\.arange: step -1 points away from end: start=0, end=5 "
                 r"\(step must be > 0\)$", id="arange-wrong-sign"),
    pytest.param(lambda: c.arange(5, 0), ValueError, r"^tinynet\.arange: step 1 points away.*\(step must be < 0\)$",
                 id="arange-descending-default-step"),
    pytest.param(lambda: c.arange(0, float("inf")), ValueError, r"^tinynet\.arange: end must be finite, got inf$",
                 id="arange-inf"),
    pytest.param(lambda: c.arange(float("nan")), ValueError, r"^tinynet\.arange: end must be finite, got nan$", id="arange-nan"),
    pytest.param(lambda: c.arange("5"), TypeError, r"^tinynet\.arange: end must be a real number \(int or float\), got str '5'$",
                 id="arange-str"),
    pytest.param(lambda: c.arange(0, 5, None), TypeError, r"^tinynet\.arange: step must be a real number.*NoneType",
                 id="arange-step-None"),
    pytest.param(lambda: c.arange(True), TypeError, r"^tinynet\.arange: end must be a real number.*bool True", id="arange-bool"),
    pytest.param(lambda: c.arange(0, 1, 0.5, dtype=dtypes.int64), ValueError, r"^tinynet\.arange: step must be nonzero, got 0",
                 id="arange-int-dtype-truncates-step"),
    pytest.param(lambda: c.linspace(0, 1, -1), ValueError, r"^tinynet\.linspace: steps must be an int >= 0, got -1$",
                 id="linspace-negative"),
    pytest.param(lambda: c.linspace(0, 1, 2.0), TypeError, r"^tinynet\.linspace: steps must be an int >= 0, got float 2\.0$",
                 id="linspace-float-steps"),
    pytest.param(lambda: c.linspace(0, 1), TypeError, r"steps", id="linspace-no-steps"),
    pytest.param(lambda: c.linspace("0", 1, 3), TypeError, r"^tinynet\.linspace: start must be a real number.*str '0'",
                 id="linspace-str-start"),
    pytest.param(lambda: c.linspace(0, float("inf"), 3, dtype=dtypes.int64), ValueError,
                 r"^tinynet\.linspace: start and end must be finite for dtype int64", id="linspace-inf-int"),
    pytest.param(lambda: c.eye(-1), ValueError, r"^tinynet\.eye: n must be an int >= 0, got -1$", id="eye-negative"),
    pytest.param(lambda: c.eye(2.0), TypeError, r"^tinynet\.eye: n must be an int >= 0, got float 2\.0$", id="eye-float"),
    pytest.param(lambda: c.eye(2, -1), ValueError, r"^tinynet\.eye: m must be an int >= 0, got -1$", id="eye-m-negative"),
    # randint and randperm
    pytest.param(lambda: c.randint(3, 3, (2,)), ValueError, r"^tinynet\.randint: expected low < high, got low=3 and high=3$",
                 id="randint-equal"),
    pytest.param(lambda: c.randint(5, 3, (2,)), ValueError, r"got low=5 and high=3$", id="randint-below"),
    pytest.param(lambda: c.randint(0, (2,)), ValueError, r"^tinynet\.randint: expected low < high, got low=0 and high=0$",
                 id="randint-high-0"),
    pytest.param(lambda: c.randint(5), TypeError, r"^tinynet\.randint: expected randint\(high, size\) or randint\(low, high, "
                 r"size\) with size a tuple such as \(2, 3\), got int 5 last$", id="randint-no-size"),
    pytest.param(lambda: c.randint(), TypeError, r"^tinynet\.randint: expected randint.*got no arguments$", id="randint-nothing"),
    pytest.param(lambda: c.randint(0, 5, 3), TypeError, r"^tinynet\.randint: expected .*got int 3 last$", id="randint-int-size"),
    pytest.param(lambda: c.randint(0, 5.5, (2,)), TypeError, r"^tinynet\.randint: high must be an int, got float 5\.5$",
                 id="randint-float-high"),
    pytest.param(lambda: c.randint("0", 5, (2,)), TypeError, r"^tinynet\.randint: low must be an int, got str '0'$",
                 id="randint-str-low"),
    pytest.param(lambda: c.randint(1, 2, 3, (2,)), TypeError, r"^tinynet\.randint: expected .*got 3 numbers before the size$",
                 id="randint-too-many"),
    pytest.param(lambda: c.randint(5, high=6, low=1, size=(1,)), TypeError, r"^tinynet\.randint: got low or high both",
                 id="randint-low-twice"),
    pytest.param(lambda: c.randint(size=(2,)), TypeError, r"^tinynet\.randint: expected .*high is missing$",
                 id="randint-no-high"),
    pytest.param(lambda: c.randint(0, 5, size=3), TypeError, r"^tinynet\.randint: size must be a tuple or list of ints",
                 id="randint-size-kw-int"),
    pytest.param(lambda: c.randint(0, 5, (-2,)), ValueError, r"^tinynet\.randint: size must be ints >= 0", id="randint-negative-size"),
    pytest.param(lambda: c.randint(0, 300, (2,), dtype=dtypes.uint8), ValueError,
                 r"^tinynet\.randint: values from 0 to 299 don't fit dtype uint8 \(0 to 255\)$", id="randint-uint8"),
    pytest.param(lambda: c.randint(0, 3, (2,), dtype=dtypes.bool), ValueError, r"don't fit dtype bool \(0 to 1\)",
                 id="randint-bool-3"),
    pytest.param(lambda: c.randint(0, 2**64, (2,)), ValueError, r"^tinynet\.randint: low and high - 1 must lie in int64's range",
                 id="randint-beyond-int64"),
    pytest.param(lambda: c.randint(0, 5, (2,), dtype="U3"), TypeError, r"^tinynet\.randint: dtype must be a number type",
                 id="randint-str-dtype"),
    pytest.param(lambda: c.randint_like(c.zeros(2), 5, 5), ValueError, r"^tinynet\.randint_like: expected low < high",
                 id="randint_like-equal"),
    pytest.param(lambda: c.randint_like(c.zeros(2)), TypeError, r"^tinynet\.randint_like: expected randint_like\(input, high\)"
                 r".*high is missing$", id="randint_like-no-high"),
    pytest.param(lambda: c.randint_like(Tensor(np.zeros(2, dtype=np.int8)), 200), ValueError,
                 r"^tinynet\.randint_like: values from 0 to 199 don't fit dtype int8", id="randint_like-int8"),
    pytest.param(lambda: c.randperm(-1), ValueError, r"^tinynet\.randperm: n must be an int >= 0, got -1$", id="randperm-negative"),
    pytest.param(lambda: c.randperm(2.0), TypeError, r"^tinynet\.randperm: n must be an int >= 0, got float 2\.0$",
                 id="randperm-float"),
    pytest.param(lambda: c.randperm(300, dtype=dtypes.uint8), ValueError, r"^tinynet\.randperm: values from 0 to 299 don't fit",
                 id="randperm-uint8"),
    # sizes and bounds past what an array can hold
    pytest.param(lambda: c.zeros(10**20), ValueError, r"^tinynet\.zeros: size \(100000000000000000000,\) would have 1e\+20 "
                 r"elements, more than an array can hold \(1\.15e\+18\)$", id="zeros-huge"),
    pytest.param(lambda: c.ones(2**40, 2**40), ValueError, r"^tinynet\.ones: size .* more than an array can hold",
                 id="ones-huge-product"),
    pytest.param(lambda: c.arange(0, 10**20), ValueError, r"^tinynet\.arange: end 100000000000000000000 lies outside "
                 r"int64's range$", id="arange-beyond-int64"),
    pytest.param(lambda: c.arange(0, 2**62), ValueError, r"^tinynet\.arange: arange\(0, 4611686018427387904, 1\) would "
                 r"have 4\.61e\+18 elements", id="arange-too-many"),
    pytest.param(lambda: c.arange(0, 1e300, 1e-300), ValueError, r"^tinynet\.arange: arange\(0, 1e\+300, 1e-300\) would "
                 r"have inf elements", id="arange-infinitely-many"),
    pytest.param(lambda: c.linspace(0, 10**400, 3), ValueError, r"^tinynet\.linspace: end 1000.*\.\.\. is too large for "
                 r"a float$", id="linspace-huge-int"),
    pytest.param(lambda: c.linspace(0, 1, 2**61), ValueError, r"^tinynet\.linspace: steps=2305843009213693952 would have",
                 id="linspace-too-many"),
    pytest.param(lambda: c.randint(5, (2**31, 2**31)), ValueError, r"^tinynet\.randint: size .* more than an array can hold",
                 id="randint-huge-size"),
    # the *_like factories and conversions
    pytest.param(lambda: c.zeros_like([1, 2]), TypeError, r"^tinynet\.zeros_like: input must be a Tensor, got list \[1, 2\] "
                 r"\(for an array a, use zeros\(a\.shape, \.\.\.\)", id="zeros_like-list"),
    pytest.param(lambda: c.ones_like(np.zeros(2)), TypeError, r"^tinynet\.ones_like: input must be a Tensor, got ndarray",
                 id="ones_like-ndarray"),
    pytest.param(lambda: c.full_like(None, 1), TypeError, r"^tinynet\.full_like: input must be a Tensor, got NoneType",
                 id="full_like-None"),
    pytest.param(lambda: c.from_numpy([1, 2]), TypeError, r"^tinynet\.from_numpy: expected a numpy\.ndarray, got list \(use "
                 r"tinynet\.tensor or tinynet\.as_tensor", id="from_numpy-list"),
    pytest.param(lambda: c.from_numpy(Tensor([1.0])), TypeError, r"^tinynet\.from_numpy: expected a numpy\.ndarray, got Tensor",
                 id="from_numpy-Tensor"),
    pytest.param(lambda: c.from_numpy(np.array(["a"])), TypeError, r"^tinynet\.from_numpy: the array must hold numbers.*<U1$",
                 id="from_numpy-str-array"),
    pytest.param(lambda: c.from_numpy(np.array([None])), TypeError, r"^tinynet\.from_numpy: .*got dtype object$",
                 id="from_numpy-object-array"),
    pytest.param(lambda: c.from_numpy(np.zeros(2, dtype=[("a", "f4")])), TypeError, r"^tinynet\.from_numpy: .*got dtype \[",
                 id="from_numpy-record-array"),
    pytest.param(lambda: c.as_tensor("a"), TypeError, r"^tinynet\.as_tensor: data must be numbers.*got a str 'a'$",
                 id="as_tensor-str"),
    pytest.param(lambda: c.as_tensor([[1], [2, 3]]), ValueError, r"^tinynet\.as_tensor: nested lists must be rectangular",
                 id="as_tensor-ragged"),
    pytest.param(lambda: c.as_tensor([1.0], dtype="nope"), TypeError, r"^tinynet\.as_tensor: 'nope' is not a dtype",
                 id="as_tensor-dtype"),
    pytest.param(lambda: c.as_tensor(Tensor([1.0]), dtype="U2"), TypeError, r"^tinynet\.as_tensor: dtype must be a number type",
                 id="as_tensor-Tensor-str-dtype"),
]


@pytest.mark.parametrize("make, error, message", BAD_INPUT)
def test_bad_input_is_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_input_table_is_wide():
    assert len(BAD_INPUT) >= 90
