"""The autograd engine: accumulation, graph traversal, grad modes, Function, memory.

Expected gradients are derived by hand in each test's comment.
"""
import gc
import weakref

import numpy as np
import pytest

import tinynet
from tinynet import functional as F
from tests.helpers import host, rand, tensor


# --- accumulation ------------------------------------------------------------------


def test_grad_accumulates_over_backward_calls_until_cleared(device, rng):
    # d(sum(3x))/dx = 3; two backward() calls add up to 6, as in PyTorch.
    x = rand(rng, (2, 3), device)
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(host(x.grad), np.full((2, 3), 3.0))
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(host(x.grad), np.full((2, 3), 6.0))
    # Cleared with grad = None: the next backward starts from scratch.
    x.grad = None
    (x * 2.0).sum().backward()
    np.testing.assert_allclose(host(x.grad), np.full((2, 3), 2.0))
    # Same with zero_grad().
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(host(x.grad), np.full((2, 3), 5.0))


def test_tensor_used_several_times_gets_the_sum(device, rng):
    # y = x*x + x*3: dy/dx = 2x + 3 (x enters three times through two ops).
    x = rand(rng, (4,), device)
    y = x * x + x * 3.0
    y.sum().backward()
    np.testing.assert_allclose(host(x.grad), 2 * host(x) + 3, rtol=1e-12)


def test_diamond_graph(device, rng):
    # a = 2x; b = a*a; c = a*3; d = b + c  ->  dd/da = 2a + 3, dd/dx = 2(2a + 3) = 8x + 6.
    # The traversal must sum both branches into a before running a's creator once.
    x = rand(rng, (3,), device)
    a = x * 2.0
    b = a * a
    c = a * 3.0
    d = (b + c).sum()
    d.backward()
    np.testing.assert_allclose(host(x.grad), 8 * host(x) + 6, rtol=1e-12)


def test_deep_diamond_chain_is_not_exponential(device):
    # 30 stacked diamonds y = y + y: dy/dx = 2**30. A traversal that re-walks
    # shared subgraphs would need 2**30 steps; a correct one finishes at once.
    x = tensor([1.0], device, requires_grad=True, dtype="float64")
    y = x
    for _ in range(30):
        y = y + y
    y.sum().backward()
    assert host(x.grad)[0] == 2.0 ** 30


# --- depth ---------------------------------------------------------------------------


def test_ten_thousand_deep_add_chain():
    # y = x + 1 + 1 + ... (10,000 times): dy/dx = 1, and no RecursionError on the way.
    x = tensor([0.5, -2.0], requires_grad=True, dtype="float64")
    y = x
    for _ in range(10_000):
        y = y + 1.0
    np.testing.assert_allclose(host(y), host(x) + 10_000)
    y.sum().backward()
    np.testing.assert_allclose(host(x.grad), [1.0, 1.0])
    del y
    gc.collect()  # freeing the 10,000-deep graph must not recurse either


def test_ten_thousand_deep_mul_chain():
    # y = x * 1.0001**10000: dy/dx = 1.0001**10000 (about e), each factor applied once.
    x = tensor([1.0, 3.0], requires_grad=True, dtype="float64")
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(host(x.grad), np.full(2, 1.0001 ** 10_000), rtol=1e-10)


# --- grad modes ------------------------------------------------------------------------


def test_no_grad_records_nothing(device, rng):
    # Inside no_grad the result is a plain leaf: no creator, no requires_grad, no backward.
    x = rand(rng, (3,), device)
    with tinynet.no_grad():
        assert not tinynet.is_grad_enabled()
        y = (x * 2.0).sum()
    assert tinynet.is_grad_enabled()
    assert y.requires_grad is False
    assert y.grad_fn is None
    with pytest.raises(RuntimeError):
        y.backward()
    assert x.grad is None


def test_forward_sees_no_input_needing_a_gradient_under_no_grad(device, rng):
    # needs_input_grad tells an op what backward will ask for: under no_grad, nothing, so the op
    # can skip what only backward uses (max-pool's argmax, ReLU's mask).
    seen = []

    class Probe(tinynet.Function):
        def forward(self, a, b):
            seen.append(self.needs_input_grad)
            return a + b

        def backward(self, g):
            return g, g

    x, c = rand(rng, (3,), device), rand(rng, (3,), device, requires_grad=False)
    Probe()(x, c)
    with tinynet.no_grad():
        Probe()(x, c)
    assert seen == [(True, False), (False, False)]


def test_no_grad_as_decorator(rng):
    # @no_grad() wraps a function; grad mode is back on afterwards, and the name survives.
    @tinynet.no_grad()
    def predict(t):
        """doc"""
        assert not tinynet.is_grad_enabled()
        return t * 2.0

    x = rand(rng, (3,))
    y = predict(x)
    assert y.grad_fn is None and not y.requires_grad
    assert tinynet.is_grad_enabled()
    assert predict.__name__ == "predict"
    # Outside the decorated function, recording works as usual.
    assert (x * 2.0).requires_grad


def test_no_grad_restores_mode_after_exception(rng):
    # An exception inside no_grad must not leave gradients switched off.
    with pytest.raises(ZeroDivisionError):
        with tinynet.no_grad():
            1 / 0
    assert tinynet.is_grad_enabled()


def test_enable_grad_inside_no_grad(rng):
    # enable_grad turns recording back on inside no_grad, and no_grad resumes after it.
    x = rand(rng, (3,))
    with tinynet.no_grad():
        with tinynet.enable_grad():
            assert tinynet.is_grad_enabled()
            y = (x * x).sum()
        assert not tinynet.is_grad_enabled()
        z = x * 2.0
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad
    y.backward()
    np.testing.assert_allclose(host(x.grad), 2 * host(x))


# --- backward() arguments ---------------------------------------------------------------


def test_backward_without_grad_on_non_scalar_raises(rng):
    # Only a one-element output has an implicit gradient of 1; the message says so.
    x = rand(rng, (2, 3))
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"grad"):
        y.backward()
    assert x.grad is None


def test_backward_on_one_element_non_scalar_uses_ones(rng):
    # A (1, 1) output is treated like a scalar: grad defaults to 1.
    x = rand(rng, (1, 1))
    (x * 4.0).backward()
    np.testing.assert_allclose(host(x.grad), [[4.0]])


def test_backward_with_wrong_grad_shape_raises(rng):
    # The upstream gradient must have the output's shape; both shapes are in the message.
    x = rand(rng, (2, 3))
    y = x * 2.0
    with pytest.raises((ValueError, RuntimeError), match=r"\(3, 2\)") as e:
        y.backward(np.ones((3, 2)))
    assert "(2, 3)" in str(e.value)
    assert x.grad is None


def test_backward_with_explicit_grad(rng):
    # y = x * 2 with upstream g: dx = 2g (the upstream is used, not ones).
    x = rand(rng, (2, 3))
    g = rng.standard_normal((2, 3))
    (x * 2.0).backward(g)
    np.testing.assert_allclose(host(x.grad), 2 * g)


def test_retain_grad(rng):
    # h = 3x; y = sum(h*h): dy/dh = 2h = 6x, kept in h.grad only when asked for.
    x = rand(rng, (4,))
    h = x * 3.0
    h.retain_grad()
    other = x * 3.0  # not retained
    (h * h).sum().backward()
    (other * 1.0).sum().backward()
    np.testing.assert_allclose(host(h.grad), 6 * host(x))
    assert other.grad is None
    np.testing.assert_allclose(host(x.grad), 18 * host(x) + 3)


# --- user-defined Functions ------------------------------------------------------------------


class Square(tinynet.Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return 2 * self.x * g


class ProductAndSum(tinynet.Function):
    """Two inputs, two outputs: (x * y, x + y)."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y, x + y

    def backward(self, g_prod, g_sum):
        return g_prod * self.y + g_sum, g_prod * self.x + g_sum


def test_user_function_square(rng):
    # A Function subclass plugs into the graph: d(sum(x^2))/dx = 2x, and gradcheck agrees.
    x = rand(rng, (3, 2))
    Square()(x).sum().backward()
    np.testing.assert_allclose(host(x.grad), 2 * host(x))
    assert tinynet.gradcheck(lambda t: Square()(t), [rand(rng, (3, 2))])


def test_user_function_with_two_outputs(rng):
    # Both outputs feed the loss; gradcheck draws an upstream gradient for each.
    x, y = rand(rng, (2, 3)), rand(rng, (2, 3))
    assert tinynet.gradcheck(lambda a, b: ProductAndSum()(a, b), [x, y])


def test_two_output_function_with_one_output_used(rng):
    # Only the product is used: the unused output's gradient is taken as zero, dx = y, dy = x.
    x, y = rand(rng, (3,)), rand(rng, (3,))
    prod, _ = ProductAndSum()(x, y)
    prod.sum().backward()
    np.testing.assert_allclose(host(x.grad), host(y))
    np.testing.assert_allclose(host(y.grad), host(x))


def test_function_instance_applied_twice_raises(rng):
    # One instance holds one call's saved arrays; a second call must be refused.
    op = Square()
    x = rand(rng, (2,))
    op(x)
    with pytest.raises(RuntimeError, match="Square"):
        op(x)


def test_backward_returning_wrong_shape_raises_naming_op(rng):
    # A buggy backward returning a (3,)-gradient for a (2, 3)-input is caught, and the op is named.
    class BadSum(tinynet.Function):
        def forward(self, x):
            return x.sum(axis=0)

        def backward(self, g):
            return g  # should be broadcast to (2, 3)

    x = rand(rng, (2, 3))
    with pytest.raises(RuntimeError, match="BadSum"):
        BadSum()(x).sum().backward()


# --- memory discipline -----------------------------------------------------------------------


def test_relu_does_not_keep_its_input_alive(rng):
    # h = 2x; z = relu(h); del h: ReLU keeps a mask, Mul keeps only the constant,
    # so nothing in the graph holds h's array, and backward still works: dz/dx = 2 [x > 0].
    x = rand(rng, (4, 5))
    h = x * 2.0
    ref = weakref.ref(h.data)
    z = F.relu(h)
    del h
    gc.collect()
    assert ref() is None, "the graph keeps the ReLU input's array alive"
    z.sum().backward()
    np.testing.assert_allclose(host(x.grad), 2.0 * (host(x) > 0))


def test_conv_output_freed_behind_relu(rng):
    # y = relu(conv(x)): the conv output (the largest activation) is freed once y exists.
    x = rand(rng, (1, 2, 6, 6))
    w = rand(rng, (3, 2, 3, 3))
    h = F.conv2d(x, w)
    ref = weakref.ref(h.data)
    y = F.relu(h)
    del h
    gc.collect()
    assert ref() is None, "the graph keeps the conv output's array alive"
    y.sum().backward()
    assert x.grad is not None and w.grad is not None


def test_weakref_probe_detects_a_kept_input(rng):
    # Control for the two tests above: Log must keep its input (dx = g / x), and the
    # same weakref probe sees it alive, so the probe can fail.
    x = rand(rng, (3,), low=0.5, high=2.0)
    h = x * 2.0
    ref = weakref.ref(h.data)
    z = h.log()
    del h
    gc.collect()
    assert ref() is not None
    del z
    gc.collect()
    assert ref() is None


# --- construction, dtypes, conversions ----------------------------------------------------------


def test_requires_grad_on_integer_tensor_raises():
    # Only floating tensors can have gradients.
    with pytest.raises(TypeError):
        tinynet.Tensor(np.arange(3), requires_grad=True)
    t = tinynet.Tensor(np.arange(3))
    with pytest.raises(TypeError):
        t.requires_grad = True


def test_dtype_rules_of_the_constructor():
    # Python floats become float32 (as PyTorch); an ndarray keeps its dtype.
    assert tinynet.Tensor([1.0, 2.5]).dtype == np.float32
    assert tinynet.Tensor(3.0).dtype == np.float32
    assert tinynet.Tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert tinynet.Tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    assert tinynet.Tensor([1.0, 2.0], dtype="float64").dtype == np.float64


def test_numpy_is_a_copy():
    # Writing into .numpy()'s result leaves the tensor unchanged.
    t = tinynet.Tensor(np.array([1.0, 2.0, 3.0]))
    a = t.numpy()
    a[0] = 100.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])
    assert not np.shares_memory(a, t.data)


def test_item():
    # A one-element tensor's value as a Python number; larger tensors refuse.
    v = tinynet.Tensor(np.array([[2.5]])).item()
    assert v == 2.5 and isinstance(v, float)
    assert tinynet.Tensor(np.array(7)).item() == 7
    with pytest.raises(ValueError):
        tinynet.Tensor(np.array([1.0, 2.0])).item()


def test_to_float64_keeps_gradients_flowing(rng):
    # x (float32) -> float64 -> y = sum(x64^2): dx = 2x, delivered to x in x's own dtype.
    x = tensor(rng.uniform(-1, 1, size=(3,)), requires_grad=True, dtype="float32")
    x64 = x.to("float64")
    assert x64.dtype == np.float64 and x64.requires_grad
    (x64 * x64).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(host(x.grad), 2 * host(x), rtol=1e-6)
    # .double() is the same conversion; converting to the current dtype is a no-op.
    assert x.double().dtype == np.float64
    assert x.to(np.float32) is x


def test_detach(rng):
    # detach() shares the data but cuts the graph: no gradient reaches x through it.
    x = rand(rng, (3,))
    d = (x * 2.0).detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    np.testing.assert_allclose(host(d), 2 * host(x))
    y = (x * d).sum()  # dy/dx = d (d counts as a constant)
    y.backward()
    np.testing.assert_allclose(host(x.grad), host(d))
    base = x.detach()
    assert np.shares_memory(base.data, x.data)


def test_requires_grad_propagates_only_from_inputs_that_need_it(rng):
    # An op on tensors none of which need grad records nothing; one that does, records.
    a = tensor(np.ones(3))
    b = rand(rng, (3,))
    assert not (a * 2.0).requires_grad
    assert (a * b).requires_grad
    (a * b).sum().backward()
    assert a.grad is None
    np.testing.assert_allclose(host(b.grad), np.ones(3))


# --- ownership of .grad arrays ------------------------------------------------------------------


def test_leaf_grads_do_not_share_memory(rng):
    # z = (reshape(a) + b) * 1: Add returns one (engine-made) array for both inputs and
    # Reshape a view of it; a.grad and b.grad must still be separate arrays, so an in-place
    # update of one leaves the other alone. dz/da = g reshaped, dz/db = g.
    a, b = rand(rng, (2, 3)), rand(rng, (6,))
    g = rng.standard_normal(6)
    ((a.reshape(6) + b) * 1.0).backward(g)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 5.0
    np.testing.assert_array_equal(host(b.grad), g)
    np.testing.assert_array_equal(host(a.grad), 5.0 * g.reshape(2, 3))


def test_leaf_grad_is_not_the_callers_upstream_array(rng):
    # y = x + 0: dy/dx = g. x.grad holds g's values, not g itself: changing g later, or
    # x.grad in place, does not leak between the caller's array and the gradient.
    x = rand(rng, (3,))
    g = rng.standard_normal(3)
    g_before = g.copy()
    (x + 0.0).backward(g)
    assert not np.shares_memory(x.grad.data, g)
    x.grad.data += 1.0
    np.testing.assert_array_equal(g, g_before)


def test_grad_from_broadcast_backward_is_writable(rng):
    # Sum's backward broadcasts g (a read-only, zero-stride view); the stored .grad must be a
    # real array that an optimizer can update in place, with one value per element.
    x = rand(rng, (2, 3))
    x.sum().backward()
    x.grad.data *= 2.0
    np.testing.assert_array_equal(host(x.grad), np.full((2, 3), 2.0))
    x.grad.data[0, 0] = 7.0
    assert host(x.grad)[1, 2] == 2.0


def test_retained_grad_does_not_share_memory_with_leaf_grad(rng):
    # z = h + x with h = 2x retained: Add hands one array to both h and x; h.grad and
    # x.grad must be separate (dz/dh = g, dz/dx = g + 2g = 3g).
    x = rand(rng, (4,))
    h = x * 2.0
    h.retain_grad()
    g = rng.standard_normal(4)
    (h + x).backward(g)
    np.testing.assert_allclose(host(h.grad), g)
    np.testing.assert_allclose(host(x.grad), 3 * g)
    h.grad.data[...] = 0.0
    np.testing.assert_allclose(host(x.grad), 3 * g)


def test_no_grad_as_bare_decorator():
    # @tinynet.no_grad without parentheses works too, as in PyTorch 2.
    @tinynet.no_grad
    def double(x):
        return x * 2

    y = double(tinynet.Tensor(np.ones(2), requires_grad=True))
    assert not y.requires_grad and y.grad_fn is None
    assert tinynet.is_grad_enabled()


def test_numpy_scalar_keeps_its_dtype():
    # A NumPy scalar is data with a dtype, like an array; only Python floats default to float32.
    assert tinynet.Tensor(np.float64(2.0)).dtype == np.float64
    assert tinynet.Tensor(2.0).dtype == np.float32


# --- saved arrays are released after backward ----------------------------------------------------


def test_saved_arrays_are_freed_by_backward_and_a_second_backward_raises(rng):
    # After backward, an op's saved arrays go: holding on to `loss` no longer holds the activations.
    x = rand(rng, (2, 4, 3, 3))
    h = x * 2.0
    input_ref = weakref.ref(h.data)
    y = F.local_response_norm(h, 3)  # LRN keeps its input and its scale s
    scale_ref = weakref.ref(y.grad_fn.s)
    del h
    loss = y.sum()
    loss.backward(retain_graph=True)  # retained: the saved arrays survive, a second pass works
    assert scale_ref() is not None and input_ref() is not None
    loss.backward()
    assert scale_ref() is None and input_ref() is None
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_gives_the_same_gradient_twice(rng):
    x = rand(rng, (2, 3))
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = host(x.grad).copy()
    y.backward()
    np.testing.assert_allclose(host(x.grad), 2 * first)
    np.testing.assert_allclose(first, 2 * host(x))


def test_config_survives_release(rng):
    # Releasing drops what forward saved, not what __init__ configured.
    x = rand(rng, (1, 1, 5, 5))
    y = F.max_pool2d(x, 3, 2)
    op = y.grad_fn
    y.sum().backward()
    assert op.kernel_size == (3, 3) and op.stride == (2, 2)
    assert not hasattr(op, "argmax")


def test_div_and_matmul_keep_only_what_backward_needs(rng):
    # h / c with c constant: dh = g / c needs c, not h. h @ m with m constant: dh = g m^T needs m, not h.
    x = rand(rng, (4, 5))
    c = tinynet.Tensor(rng.uniform(1, 2, (4, 5)))
    m = tinynet.Tensor(rng.standard_normal((5, 3)))
    for op in (lambda h: h / c, lambda h: h @ m):
        h = x * 2.0
        ref = weakref.ref(h.data)
        z = op(h)
        del h
        assert ref() is None, "the graph keeps the dividend / left operand alive"
        z.sum().backward()
    # and with a gradient wanted for the constant, the op must keep the other operand
    x.grad = None
    h = x * 2.0
    ref = weakref.ref(h.data)
    c.requires_grad = True
    z = h / c
    del h
    assert ref() is not None
    z.sum().backward()


# --- dtypes ----------------------------------------------------------------------------------------


def test_each_input_gets_a_gradient_of_its_own_dtype(rng):
    # float32 * float64 computes in float64; each gradient comes back in its input's dtype.
    a = tinynet.Tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    b = tinynet.Tensor(rng.standard_normal(3), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(host(a.grad), host(b), rtol=1e-6)


# --- bad input at the engine's edges --------------------------------------------------------------


def _accumulate_into(grad):
    """backward() into a leaf of shape (3,) whose .grad was set by hand to ``grad``."""
    x = tinynet.Tensor(np.ones(3), requires_grad=True)
    x.grad = grad
    (x * 2.0).sum().backward()


class _Square(tinynet.Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return 2 * self.x * g


ENGINE_BAD_INPUT = [
    # A .grad of another shape would be broadcast into a gradient of the wrong shape, silently.
    pytest.param(lambda: _accumulate_into(tinynet.Tensor(np.zeros((3, 1)))), ValueError,
                 r"^backward: the \.grad of a tensor of shape \(3,\) is a Tensor of shape \(3, 1\); ", id="grad-3x1"),
    pytest.param(lambda: _accumulate_into(tinynet.Tensor(np.zeros(1))), ValueError,
                 r"^backward: the \.grad of a tensor of shape \(3,\) is a Tensor of shape \(1,\)", id="grad-1"),
    pytest.param(lambda: _accumulate_into(np.zeros(3)), ValueError,
                 r"^backward: the \.grad of a tensor of shape \(3,\) is of type ndarray", id="grad-ndarray"),
    # A Function applied to what a Tensor can't hold names the op and the input.
    pytest.param(lambda: F.relu("a"), TypeError, r"^ReLU: input 0: Tensor: data must be numbers .*got a str 'a'$",
                 id="relu-str"),
    pytest.param(lambda: F.linear(tinynet.Tensor(np.ones((1, 2))), [[1.0, None]]), TypeError,
                 r"^Linear: input 1: Tensor: data must be numbers .*holding a NoneType None$", id="linear-weight-None"),
    pytest.param(lambda: _Square()([[1.0, 2.0], [3.0]]), ValueError,
                 r"^_Square: input 0: Tensor: nested lists must be rectangular", id="user-op-ragged"),
    # no_grad(x) decorates a function; anything else used to come back as a "decorated" object.
    pytest.param(lambda: tinynet.no_grad(5), TypeError, r"^no_grad: a decorator for a function, got 5; ",
                 id="no_grad-of-an-int"),
    pytest.param(lambda: tinynet.enable_grad("on"), TypeError, r"^enable_grad: a decorator for a function, got 'on'",
                 id="enable_grad-of-a-str"),
]


@pytest.mark.parametrize("action, error, message", ENGINE_BAD_INPUT)
def test_bad_input_at_the_engines_edges_names_what_and_where(action, error, message):
    with pytest.raises(error, match=message):
        action()


# --- requires_grad_ and inference_mode ---------------------------------------------------------------------

def test_requires_grad_underscore():
    t = tinynet.Tensor(np.ones(2))
    assert t.requires_grad_() is t and t.requires_grad
    assert not t.requires_grad_(False).requires_grad
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        t.requires_grad_("yes")


def test_inference_mode_as_context_and_decorator():
    x = tinynet.Tensor(np.ones(2), requires_grad=True)
    with tinynet.inference_mode():
        assert not (x * 2).requires_grad
    with tinynet.inference_mode(False):
        assert (x * 2).requires_grad

    @tinynet.inference_mode
    def bare(t):
        return t * 2

    @tinynet.inference_mode()
    def called(t):
        return t * 2

    @tinynet.inference_mode(mode=False)
    def off(t):
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad and off(x).requires_grad
    assert bare.__name__ == "bare" and tinynet.is_grad_enabled()
    with pytest.raises(TypeError, match="inference_mode: mode must be True or False"):
        tinynet.inference_mode("no")
    with pytest.raises(TypeError, match="inference_mode: a decorator for a function"):
        tinynet.inference_mode()(3)


def test_set_grad_enabled_now_and_as_a_block():
    x = tinynet.Tensor(np.ones(2), requires_grad=True)
    with tinynet.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with tinynet.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not tinynet.is_grad_enabled()
    assert tinynet.is_grad_enabled()
    tinynet.set_grad_enabled(False)  # on its own: at once, as PyTorch's
    try:
        assert not tinynet.is_grad_enabled()
    finally:
        tinynet.set_grad_enabled(True)
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be True or False"):
        tinynet.set_grad_enabled("no")
    assert tinynet.is_tensor(x) and not tinynet.is_tensor(np.ones(2)) and tinynet.numel(x) == 2
    with pytest.raises(TypeError, match="numel: expected a Tensor, got list"):
        tinynet.numel([1, 2])
