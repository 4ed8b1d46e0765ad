"""In-place changes (tinynet/functional/inplace.py) and the version counter that guards saved arrays.

Values are compared with NumPy doing the same change; the recorded forms' gradients with the
out-of-place graph computing the same thing and with central differences (float64).
"""
import numpy as np
import pytest

import tinynet
from tests.helpers import host, rand, tensor
from tinynet import Function, ShapeError, Tensor, no_grad

# --- the tutorial's manual update and Python's augmented assignment ----------------------------------------


def test_manual_sgd_update_under_no_grad_changes_the_weights(device, rng):
    w = rand(rng, (3, 4), device)
    before = host(w).copy()
    (w * w).sum().backward()
    same = w
    with no_grad():
        w -= 0.1 * w.grad
    assert w is same  # the name still refers to the parameter
    np.testing.assert_allclose(host(w), before - 0.1 * 2 * before, rtol=1e-12)
    assert w.is_leaf and w.requires_grad and w._version == 1
    w.grad.zero_()
    assert not host(w.grad).any()


@pytest.mark.parametrize("op, numpy_op", [
    ("__iadd__", np.add), ("__isub__", np.subtract), ("__imul__", np.multiply), ("__itruediv__", np.divide),
])
def test_augmented_assignment_writes_into_the_same_memory(device, rng, op, numpy_op):
    x = rand(rng, (2, 3), device, requires_grad=False)
    y = rand(rng, (3,), device, requires_grad=False, low=0.5, high=1.5)
    view = x[0]
    memory = x.data
    expected = numpy_op(host(x), host(y))
    result = getattr(x, op)(y)
    assert result is x and x.data is memory
    np.testing.assert_allclose(host(x), expected, rtol=1e-12)
    np.testing.assert_allclose(host(view), expected[0], rtol=1e-12)  # the view sees the change


def test_methods_match_numpy(device, rng):
    a = rng.uniform(-1, 1, (4, 5))
    b = rng.uniform(0.5, 1.5, (5,))
    x = tensor(a.copy(), device)
    np.testing.assert_allclose(host(x.add_(tensor(b, device), alpha=2)), a + 2 * b, rtol=1e-12)
    np.testing.assert_allclose(host(x.sub_(b, alpha=3)), a - b, rtol=1e-12)  # an array operand too
    np.testing.assert_allclose(host(x.mul_(2.0)), 2 * (a - b), rtol=1e-12)
    np.testing.assert_allclose(host(x.div_(4)), (a - b) / 2, rtol=1e-12)
    np.testing.assert_allclose(host(x.clamp_(-0.2, 0.1)), np.clip((a - b) / 2, -0.2, 0.1), rtol=1e-12)
    np.testing.assert_array_equal(host(x.fill_(7)), np.full((4, 5), 7.0))
    np.testing.assert_array_equal(host(x.copy_(tensor(b, device))), np.broadcast_to(b, (4, 5)))
    np.testing.assert_array_equal(host(x.zero_()), np.zeros((4, 5)))
    assert x._version == 8 and x.dtype == np.float64


def test_copy_between_devices_and_dtypes(device, rng):
    a = rng.uniform(-1, 1, (3,))
    x = tensor(np.zeros(3, np.float32), device)
    x.copy_(Tensor(a))  # a float64 source on the host
    np.testing.assert_allclose(host(x), a.astype(np.float32))
    assert x.dtype == np.float32 and x.device == device


def test_random_fills_follow_manual_seed(device):
    x = tensor(np.zeros((1000,), np.float32), device)
    tinynet.manual_seed(3)
    u = host(x.uniform_(-2, 3)).copy()
    tinynet.manual_seed(3)
    np.testing.assert_array_equal(host(x.uniform_(-2, 3)), u)
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.2 and x.dtype == np.float32
    n = host(x.normal_(1.0, 2.0))
    assert abs(n.mean() - 1.0) < 0.3 and abs(n.std() - 2.0) < 0.3


def test_integer_tensors_take_integer_changes(device):
    t = tensor(np.arange(3), device)
    t += 2
    t *= 3
    t.clamp_(max=10)
    np.testing.assert_array_equal(host(t), [6, 9, 10])
    assert t.dtype == np.int64
    t.fill_(2.7)  # fill_ casts, as PyTorch's does
    np.testing.assert_array_equal(host(t), [2, 2, 2])


# --- refusals ----------------------------------------------------------------------------------------------

def test_a_leaf_that_requires_grad_is_refused_outside_no_grad(rng):
    w = rand(rng, (3,))
    for change in (lambda: w.add_(1), lambda: w.__iadd__(1), lambda: w.zero_(), lambda: w.__setitem__(0, 1.0),
                   lambda: w.copy_(Tensor(np.ones(3))), lambda: w.uniform_()):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
            change()
    assert w._version == 0


@pytest.mark.parametrize("dtype, change, kind", [
    ("int64", lambda t: t.__iadd__(0.5), "floating point"),
    ("int64", lambda t: t.__itruediv__(2), "floating point"),
    ("int32", lambda t: t.mul_(Tensor(np.ones(3, np.float32))), "floating point"),
    ("bool", lambda t: t.add_(1), "integer"),
    ("float32", lambda t: t.add_(1j), "complex"),
])
def test_a_result_the_dtype_cannot_hold_is_refused(dtype, change, kind):
    t = Tensor(np.zeros(3, dtype))
    with pytest.raises(RuntimeError, match=f"the result is {kind} and this tensor is {dtype}"):
        change(t)
    assert t._version == 0 and not t.numpy().any()


def test_an_operand_that_would_change_the_shape_is_refused():
    t = Tensor(np.zeros(3))
    with pytest.raises(ShapeError, match=r"shape \(2, 3\) does not broadcast to this tensor's shape \(3,\)"):
        t += np.ones((2, 3))
    with pytest.raises(ShapeError, match=r"copy_: a source of shape \(4,\)"):
        t.copy_(np.ones(4))


def test_memory_that_repeats_elements_is_refused():
    t = Tensor(np.broadcast_to(np.zeros(1), (3,)))
    with pytest.raises(RuntimeError, match="read-only or repeats elements.*clone"):
        t.add_(1)


@pytest.mark.parametrize("change, error, message", [
    (lambda t: t.add_("a"), TypeError, "add_: the other operand must be a Tensor, an array or a number, got str"),
    (lambda t: t.__iadd__(None), TypeError, "got NoneType"),
    (lambda t: t.add_(1, alpha="2"), TypeError, "add_: alpha must be a number"),
    (lambda t: t.mul_(np.array(["x"])), TypeError, "mul_: data must be numbers"),
    (lambda t: t.fill_("x"), TypeError, "fill_: the value must be a number, got str"),
    (lambda t: t.fill_(Tensor(np.ones(2))), ValueError, "one-element tensor, got shape"),
    (lambda t: t.clamp_(), ValueError, "clamp_: give min, max or both"),
    (lambda t: t.clamp_(min="0"), TypeError, "clamp_: min must be a number or None"),
    (lambda t: t.uniform_(2, 1), ValueError, "uniform_: needs a <= b"),
    (lambda t: t.uniform_("a"), TypeError, "uniform_: a must be a number"),
    (lambda t: t.normal_(std=-1), ValueError, "normal_: std must be >= 0"),
    (lambda t: t.normal_(mean=None), TypeError, "normal_: mean must be a number"),
    (lambda t: Tensor(np.zeros(2, np.int64)).uniform_(), TypeError, "uniform_: needs a floating point tensor"),
    (lambda t: t.__setitem__(5, 1.0), IndexError, r"setitem: indexing a tensor of shape \(3,\) with 5"),
    (lambda t: t.__setitem__(slice(None), np.ones(2)), ShapeError, r"value of shape \(2,\) can't be written"),
    (lambda t: t.__setitem__(0, "a"), TypeError, "setitem: value: data must be numbers"),
    (lambda t: t.copy_("abc"), TypeError, "data must be numbers"),
])
def test_bad_operands_are_named(change, error, message):
    t = Tensor(np.zeros(3))
    with pytest.raises(error, match=message):
        change(t)
    assert t._version == 0


# --- __setitem__ -------------------------------------------------------------------------------------------

def test_setitem_with_numpy_indexing(device, rng):
    a = rng.uniform(-1, 1, (4, 5))
    x = tensor(a.copy(), device)
    x[0] = 3.0
    x[1, 2:4] = tensor(np.array([7.0, 8.0]), device)
    x[x < -0.5] = -0.5  # a bool mask Tensor
    x[[2, 3], 0] = 9
    a[0] = 3.0
    a[1, 2:4] = [7.0, 8.0]
    a[a < -0.5] = -0.5
    a[[2, 3], 0] = 9
    np.testing.assert_array_equal(host(x), a)
    assert x._version == 4


def test_setitem_recorded_gradients(rng):
    x = rand(rng, (4, 3))
    v = rand(rng, (3,))

    def f(x, v):
        y = x * 1.0
        y[1] = v * 2.0  # v broadcast into a row
        y[2:, 0] = v[0]  # a 0-d value broadcast into two elements
        return y * y

    assert tinynet.gradcheck(f, [x, v])
    y = f(x, v)
    assert y.grad_fn.name == "Mul"
    g = rng.uniform(-1, 1, (4, 3))
    y.backward(g)
    expected_gx = 2 * host(x) * g
    expected_gx[1] = 0
    expected_gx[2:, 0] = 0
    np.testing.assert_allclose(host(x.grad), expected_gx, rtol=1e-12)


# --- recorded in-place ops: the same gradients as the out-of-place graph -------------------------------------

def _inplace_chain(x, y):
    h = x * 1.0
    h += y
    h *= y
    h.sub_(x, alpha=0.5)
    h /= y + 3.0
    h.clamp_(-0.3, 0.4)
    return h


def _outofplace_chain(x, y):
    h = (x * 1.0 + y) * y - 0.5 * x
    return (h / (y + 3.0)).clamp(-0.3, 0.4)


def test_recorded_inplace_ops_give_the_out_of_place_gradients(rng):
    x, y = rand(rng, (3, 4)), rand(rng, (4,))
    g = rng.uniform(-1, 1, (3, 4))
    _inplace_chain(x, y).backward(g)
    gx, gy = host(x.grad), host(y.grad)
    x.grad = y.grad = None
    _outofplace_chain(x, y).backward(g)
    np.testing.assert_allclose(gx, host(x.grad), rtol=1e-12)
    np.testing.assert_allclose(gy, host(y.grad), rtol=1e-12)
    assert tinynet.gradcheck(_inplace_chain, [x, y])


def test_recorded_overwrites_send_no_gradient_to_the_old_values(rng):
    x, src = rand(rng, (3,)), rand(rng, (3,))

    def f(x, src):
        h = x * 2.0
        h.copy_(src)
        return h * x

    assert tinynet.gradcheck(f, [x, src])
    h = x * 2.0
    h.zero_()
    (h + x).sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.ones(3))  # only through `+ x`
    assert h.requires_grad and h.grad_fn.name == "Overwrite"


def test_a_leaf_without_grad_takes_a_history(rng):
    acc = Tensor(np.zeros(3))
    w = rand(rng, (3,))
    acc += w * 3.0  # accumulating into a buffer that needs no grad
    assert not acc.is_leaf and acc.requires_grad
    acc.sum().backward()
    np.testing.assert_allclose(host(w.grad), np.full(3, 3.0))


VIEW_CHANGES = {
    "row += 1": lambda y: y[0].__iadd__(1.0),
    "column *= 2": lambda y: y.__setitem__((slice(None), 1), y[:, 1] * 2.0),
    "y[:, 1] *= 2": None,  # the augmented assignment itself, below
    "y[1][2] = 7": lambda y: y[1].__setitem__(2, 7.0),
    "y.view(6)[0] = 9": lambda y: y.view(6).__setitem__(0, 9.0),
    "y.t()[0] = 4": lambda y: y.t().__setitem__(0, 4.0),
    "y[0].zero_()": lambda y: y[0].zero_(),
    "y.T[1:] += w": None,
}


def _change(name, y, w):
    if name == "y[:, 1] *= 2":
        y[:, 1] *= 2.0
    elif name == "y.T[1:] += w":
        v = y.T[1:]
        v += w
    else:
        VIEW_CHANGES[name](y)


@pytest.mark.parametrize("name", list(VIEW_CHANGES))
def test_a_recorded_change_to_a_view_reaches_the_base_in_the_graph(rng, name):
    # As PyTorch's CopySlices: the base's history learns the change made through the view.
    x, w = rand(rng, (2, 3)), rand(rng, (2,))

    def f(x, w):
        y = x * 1.0
        _change(name, y, w)
        return y * y

    assert tinynet.gradcheck(f, [x, w])


def test_a_change_through_a_view_gives_pytorchs_gradient():
    # y = x; y[:, 1] *= 2; L = sum(y * y): dL/dx = 2 y * dy/dx = 2x off column 1, 2 (2x) 2 on it.
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    y = x * 1.0
    y[:, 1] *= 2.0
    (y * y).sum().backward()
    np.testing.assert_array_equal(host(y), [[1, 4, 3], [4, 10, 6]])
    np.testing.assert_array_equal(host(x.grad), [[2, 16, 6], [8, 40, 12]])  # PyTorch 2.13's values


def test_refusals_for_views_of_leaves_and_views_without_history(rng):
    x = rand(rng, (2, 3))
    with pytest.raises(RuntimeError, match="add_: an in-place change to a view of a leaf tensor that requires grad"):
        x[0].add_(1.0)
    h = x * 1.0
    with no_grad():
        row = h[0]
    with pytest.raises(RuntimeError, match="mul_: this view was taken under no_grad"):
        row.mul_(2.0)
    with no_grad():  # nothing recorded: allowed, and the base sees it
        h[0].add_(1.0)
    np.testing.assert_allclose(host(h)[0], host(x)[0] + 1)


def test_a_view_taken_before_a_recorded_change_reads_the_base_as_it_is_now(rng):
    # PyTorch regenerates the view's history: v = y[0]; y *= 3; sum(v * v) = 27 for ones, dL/dx[0] = 18.
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 1.0
    v = y[0]
    y.mul_(3.0)
    loss = (v * v).sum()
    loss.backward()
    assert loss.item() == 27.0
    np.testing.assert_array_equal(host(x.grad), [[18.0] * 3, [0.0] * 3])
    x2, w = rand(rng, (2, 3)), rand(rng, (3,))

    def f(x, w):
        y = x * 1.0
        flat = y.view(6)
        y.add_(w)
        return flat * flat

    assert tinynet.gradcheck(f, [x2, w])


# --- the version counter -------------------------------------------------------------------------------------

def test_views_share_the_counter_and_copies_do_not():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    views = [x[0], x.reshape(3, 2), x.view(6), x.T, x.transpose(0, 1), x.detach(), x[:, 1:]]
    copy = x.T.reshape(6)  # no view has that layout: a copy
    x += 1
    assert [v._version for v in views] == [1] * len(views)
    assert copy._version == 0
    views[0].add_(1)
    assert x._version == 2
    assert x.data[0, 0] == 2.0 and copy.data[0] == 0.0


def test_view_shares_memory_and_fails_only_without_a_layout():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    v = x.view(3, 2)
    v[0, 0] = 100
    assert x.data[0, 0] == 100
    assert np.shares_memory(x.data, x.reshape(-1).data)
    assert not np.shares_memory(x.data, x.T.reshape(-1).data)
    with pytest.raises(ShapeError, match=r"view: a tensor of shape \(3, 2\) .* use .reshape"):
        x.T.view(6)
    x.T.view(3, 2)  # the same shape is always a view
    with pytest.raises(ShapeError, match=r"^view: cannot view a tensor of shape \(2, 3\) \(6 elements\) as \(4,\)"):
        x.view(4)


def test_backward_through_a_changed_saved_input_raises_naming_the_op(rng):
    x, y = rand(rng, (3,)), rand(rng, (3,))
    h = x * 1.0
    z = h * y  # Mul keeps h for y's gradient
    with no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match=r"backward through Mul: .* its input 0 \(float64 of shape \(3,\)\), was "
                                           r"modified by an in-place operation: it is at version 1, and was at "
                                           r"version 0"):
        z.sum().backward()


def test_a_changed_saved_output_raises():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x.exp()  # Exp keeps its output
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="backward through Exp: .* its output 0"):
        y.sum().backward()


def test_a_change_to_what_an_op_did_not_keep_is_fine(rng):
    x = rand(rng, (3,))
    h = x * 1.0
    z = h + 2.0  # Add keeps no arrays
    h += 5.0
    z.sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.ones(3))


def test_an_optimizer_step_bumps_the_version(rng):
    w = rand(rng, (3,))
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    tinynet.optim.SGD([w], lr=0.1).step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match="backward through Mul"):
        loss.backward()


class CubeDeclared(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x ** 3

    def backward(self, g):
        (x,) = self.saved_arrays
        return 3 * x ** 2 * g


class CubeKept(Function):  # the older form: the input kept as an attribute
    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, g):
        return 3 * self.x ** 2 * g


class CubeOfAView(Function):  # keeps a view of its input
    def forward(self, x):
        self.flat = x.reshape(-1)
        return x ** 3

    def backward(self, g):
        return 3 * self.flat.reshape(g.shape) ** 2 * g


@pytest.mark.parametrize("op", [CubeDeclared, CubeKept, CubeOfAView])
def test_user_functions_are_checked_however_they_keep_the_input(op, rng):
    x = rand(rng, (2, 2))
    assert tinynet.gradcheck(lambda x: op()(x), [x])
    h = x * 1.0
    y = op()(h)
    with no_grad():
        h[0, 0] = 5.0
    with pytest.raises(RuntimeError, match=f"backward through {op.__name__}: .* input 0"):
        y.sum().backward()


def test_save_for_backward_takes_arrays_and_saved_arrays_needs_it():
    class Bad(Function):
        def forward(self, x):
            self.save_for_backward(x, [1, 2])
            return x

    class Forgot(Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            (x,) = self.saved_arrays
            return g

    with pytest.raises(TypeError, match="Bad.save_for_backward: argument 1 is a list"):
        Bad()(Tensor(np.ones(2)))
    y = Forgot()(Tensor(np.ones(2), requires_grad=True))
    with pytest.raises(RuntimeError, match="Forgot: saved_arrays read, but forward never called save_for_backward"):
        y.sum().backward()


def test_saved_arrays_after_release_is_an_error():
    x = Tensor(np.ones(2), requires_grad=True)
    f = CubeDeclared()
    f(x).sum().backward()
    with pytest.raises(RuntimeError, match="freed after backward"):
        f.saved_arrays


def test_alpha_scales_a_list_and_a_tensor_operand_in_the_graph(rng):
    x, y = rand(rng, (2,)), rand(rng, (2,))
    h = x * 1.0
    h.add_([1.0, 2.0], alpha=2)  # a list is a constant: 2 * [1, 2], not the list repeated
    h.sub_(y, alpha=3)
    np.testing.assert_allclose(host(h), host(x) + [2.0, 4.0] - 3 * host(y), rtol=1e-12)
    h.sum().backward()
    np.testing.assert_array_equal(host(x.grad), [1.0, 1.0])
    np.testing.assert_array_equal(host(y.grad), [-3.0, -3.0])


# --- inplace=True layers and the underscore methods ----------------------------------------------------------

@pytest.mark.parametrize("make, fn", [
    (lambda: tinynet.nn.ReLU(inplace=True), tinynet.functional.relu),
    (lambda: tinynet.nn.LeakyReLU(0.2, inplace=True), lambda x: tinynet.functional.leaky_relu(x, 0.2)),
    (lambda: tinynet.nn.ELU(0.7, inplace=True), lambda x: tinynet.functional.elu(x, 0.7)),
    (lambda: tinynet.nn.Dropout(0.4, inplace=True), lambda x: tinynet.functional.dropout(x, 0.4)),
    (lambda: tinynet.nn.Dropout2d(0.4, inplace=True), lambda x: tinynet.functional.dropout2d(x, 0.4)),
], ids=["ReLU", "LeakyReLU", "ELU", "Dropout", "Dropout2d"])
def test_inplace_layers_write_into_their_input_with_the_same_gradient(device, rng, make, fn):
    x = rand(rng, (2, 3, 4, 4), device, low=-2, high=2)
    g = rng.standard_normal((2, 3, 4, 4))
    tinynet.manual_seed(5)
    want = fn(x * 1.0)
    want.backward(tensor(g, device))
    want_grad = host(x.grad)
    x.grad = None
    h = x * 1.0
    tinynet.manual_seed(5)
    out = make()(h)
    assert out is h and h._version == 1
    np.testing.assert_array_equal(host(h), host(want))
    out.backward(tensor(g, device))
    np.testing.assert_array_equal(host(x.grad), want_grad)
    with no_grad():  # nothing recorded: the plain array is written
        t = tensor(host(x), device)
        make()(t)
    if "Dropout" not in repr(make()):
        np.testing.assert_array_equal(host(t), host(fn(x * 1.0)))


def test_underscore_methods_match_the_out_of_place_ops(rng):
    x = rand(rng, (3, 4), low=-2, high=2)
    mask = Tensor(host(x) > 0.5)
    for method, fn in [("relu_", lambda t: t.relu()), ("sigmoid_", lambda t: t.sigmoid()),
                       ("tanh_", lambda t: t.tanh()), ("exp_", lambda t: t.exp()),
                       ("masked_fill_", lambda t: t.masked_fill(mask, 0.25))]:
        args = (mask, 0.25) if method == "masked_fill_" else ()
        g = rng.standard_normal((3, 4))
        x.grad = None
        fn(x * 1.0).backward(Tensor(g))
        want = host(x.grad)
        x.grad = None
        h = x * 1.0
        assert getattr(h, method)(*args) is h
        np.testing.assert_allclose(host(h), host(fn(x)), rtol=1e-12)
        h.backward(Tensor(g))
        np.testing.assert_allclose(host(x.grad), want, rtol=1e-12)
    with pytest.raises(TypeError, match="relu: an in-place op needs a Tensor"):
        tinynet.functional.inplace.apply_(np.zeros(2), "relu", tinynet.functional.relu)


def test_mul_by_a_tensor_that_needs_a_gradient_keeps_a_copy_of_the_old_values(rng):
    # Mul keeps x for y's gradient: the in-place form must not overwrite what it kept.
    x, y = rand(rng, (3,)), rand(rng, (3,))
    h = x * 1.0
    h.mul_(y)
    h.sum().backward()
    np.testing.assert_allclose(host(y.grad), host(x), rtol=1e-12)
    np.testing.assert_allclose(host(x.grad), host(y), rtol=1e-12)


def test_overwrites_give_zero_gradients_not_none(rng):
    x = rand(rng, (3,))
    for change in (lambda h: h.zero_(), lambda h: h.fill_(2.0), lambda h: h.copy_(Tensor(np.ones(3)))):
        x.grad = None
        h = x * 1.0
        change(h)
        (h * 2.0).sum().backward()
        np.testing.assert_array_equal(host(x.grad), np.zeros(3))


# --- one-element views, stride-0 axes of size 1, stale views at the root, retain_grad ----------------------------

X = np.array([[0.3, 0.44, 0.59], [0.73, 0.87, 1.01]])
W = np.array([[-1.0, -0.6, -0.2], [0.4, 0.8, 1.2]])


def test_indexing_down_to_one_element_is_a_view():
    y = Tensor(X.copy())
    y[0, 0].add_(1)
    y[1, 2].fill_(0)
    y.view(6)[4].mul_(10)
    v = y[0, 1]
    y += 1
    np.testing.assert_allclose(host(y), [[2.3, 1.44, 1.59], [1.73, 9.7, 1.0]], rtol=1e-12)
    assert float(v) == pytest.approx(1.44) and v._version == y._version


def test_a_change_through_a_one_element_view_reaches_the_gradient():
    # y = x; y[0, 1] *= 5; L = sum(y * y): dL/dx[0, 1] = 2 * (5 x) * 5 = 50 x, 2 x elsewhere.
    x = Tensor(X.copy(), requires_grad=True)
    y = x * 1.0
    y[0, 1].mul_(5)
    (y * y).sum().backward()
    expected = 2 * X
    expected[0, 1] = 50 * X[0, 1]
    np.testing.assert_allclose(host(x.grad), expected, rtol=1e-12)


def test_new_axes_of_size_one_are_not_repeated_memory():
    y = Tensor(X.copy())
    y[None] += 1  # stride 0 on an axis of length 1 repeats nothing
    y[:, None, 1] *= 2
    np.testing.assert_allclose(host(y), [[1.3, 2.88, 1.59], [1.73, 3.74, 2.01]], rtol=1e-12)


def test_a_stale_view_brought_up_to_date_at_backward_and_when_read():
    # v = y[0] before y *= 2: v's gradient is that of its new values, 2 w[0] per x[0] (PyTorch's).
    x, w = Tensor(X.copy(), requires_grad=True), Tensor(W.copy())
    y = x * w
    v = y[0]
    y *= 2
    v.backward(np.ones(3))
    np.testing.assert_allclose(host(x.grad), [2 * W[0], [0, 0, 0]], rtol=1e-12)
    w2 = Tensor(W.copy(), requires_grad=True)
    buf = Tensor(np.zeros((2, 3)))
    row = buf[0]
    assert not row.requires_grad
    buf[0] = w2[0] * 3  # buf takes a history; row, a view of it, does too
    assert row.requires_grad and row.grad_fn.name == "TakeAt" and not row.is_leaf
    (row * 2).sum().backward()
    np.testing.assert_allclose(host(w2.grad), [[6, 6, 6], [0, 0, 0]], rtol=1e-12)


def test_retain_grad_follows_the_tensor_through_an_in_place_change():
    x, w = Tensor(X.copy(), requires_grad=True), Tensor(W.copy())
    y = x * w
    y.retain_grad()
    y *= 2
    (y * y).sum().backward()
    np.testing.assert_allclose(host(y.grad), 2 * (2 * X * W), rtol=1e-12)  # dL/dy of the new y
    y = x * w
    y.retain_grad()
    y[0] = 5.0
    (y * y).sum().backward()
    np.testing.assert_allclose(host(y.grad), [[10, 10, 10], 2 * X[1] * W[1]], rtol=1e-12)
