"""SGD against updates computed by hand from PyTorch's documented rule."""
import numpy as np
import pytest

from tests.helpers import host, tensor
from tinynet import backend
from tinynet.nn import Parameter
from tinynet.optim import SGD


def _param(device, value, grad):
    p = Parameter(backend.to_device(np.array(value, dtype=np.float64), device))
    p.grad = tensor(np.array(grad, dtype=np.float64), device)
    return p


def test_plain_step(device):
    p = _param(device, [1.0, -2.0], [0.5, 0.25])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(host(p), [1.0 - 0.05, -2.0 - 0.025])


def test_momentum_and_weight_decay_two_steps(device):
    """buf1 = g1 + wd*p0; p1 = p0 - lr*buf1; buf2 = m*buf1 + (g2 + wd*p1); p2 = p1 - lr*buf2."""
    lr, m, wd = 0.1, 0.9, 0.01
    p = _param(device, [2.0], [1.0])
    opt = SGD([p], lr=lr, momentum=m, weight_decay=wd)
    opt.step()
    buf1 = 1.0 + wd * 2.0
    p1 = 2.0 - lr * buf1
    np.testing.assert_allclose(host(p), [p1])
    p.grad = tensor(np.array([-0.5]), device)
    opt.step()
    buf2 = m * buf1 + (-0.5 + wd * p1)
    np.testing.assert_allclose(host(p), [p1 - lr * buf2])


def test_nesterov(device):
    """Nesterov uses g + m*buf as the step direction."""
    lr, m = 0.1, 0.9
    p = _param(device, [1.0], [1.0])
    opt = SGD([p], lr=lr, momentum=m, nesterov=True)
    opt.step()  # buf = 1, direction = 1 + 0.9
    np.testing.assert_allclose(host(p), [1.0 - lr * 1.9])
    p.grad = tensor(np.array([2.0]), device)
    opt.step()  # buf = 0.9 + 2 = 2.9, direction = 2 + 0.9*2.9
    np.testing.assert_allclose(host(p), [1.0 - lr * 1.9 - lr * (2.0 + 0.9 * 2.9)])


def test_skips_parameters_without_grad_and_zero_grad(device):
    p = _param(device, [1.0], [1.0])
    q = _param(device, [3.0], [1.0])
    q.grad = None
    opt = SGD([p, q], lr=1.0)
    opt.step()
    np.testing.assert_allclose(host(q), [3.0])
    opt.zero_grad()
    assert p.grad is None


def test_bad_arguments():
    p = Parameter(np.zeros(1))
    with pytest.raises(ValueError):
        SGD([p], lr=-1)
    with pytest.raises(ValueError):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        SGD([], lr=0.1)


# --- state dicts and schedules ------------------------------------------------------------------------------


def test_sgd_state_dict_round_trip_continues_identically():
    """Two steps, save, two more steps == two steps, load into a fresh optimizer, two more steps."""
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(3) for _ in range(4)]

    def run(split):
        p = Parameter(np.ones(3))
        opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
        for i, g in enumerate(grads):
            if i == split:
                state = opt.state_dict()
                opt = SGD([p], lr=0.5)  # different settings: load_state_dict must restore all of them
                opt.load_state_dict(state)
            p.grad = tensor(g)
            opt.step()
        return p.numpy()

    np.testing.assert_array_equal(run(split=None), run(split=2))


def test_sgd_state_dict_refuses_mismatched_buffers():
    p = Parameter(np.ones(3))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = tensor(np.ones(3))
    opt.step()
    state = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameters"):
        SGD([Parameter(np.ones(3)), Parameter(np.ones(2))], lr=0.1).load_state_dict(state)


def test_step_lr():
    from tinynet.optim import StepLR

    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(5):
        sched.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [1.0, 0.1, 0.1, 0.01, 0.01])


def test_cosine_annealing_follows_half_a_cosine_then_climbs_back_as_pytorchs():
    """PyTorch's CosineAnnealingLR past T_max goes back up the cosine (tinynet's used to stay at eta_min;
    tinynet train's own "cosine" still does: tinynet/train_schedule.py)."""
    from tinynet.optim import CosineAnnealingLR

    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.2)
    lrs = []
    for _ in range(6):
        sched.step()
        lrs.append(opt.lr)
    c = np.cos(np.pi * np.arange(1, 7) / 4)
    np.testing.assert_allclose(lrs, list(0.2 + 0.8 * (1 + c) / 2))
    restored = CosineAnnealingLR(SGD([Parameter(np.ones(1))], lr=lrs[-1]), T_max=1)
    restored.load_state_dict(sched.state_dict())
    restored.step()
    assert restored.optimizer.lr == pytest.approx(0.2 + 0.8 * (1 + np.cos(np.pi * 7 / 4)) / 2)
    with pytest.raises(ValueError, match="T_max"):
        CosineAnnealingLR(opt, T_max=0)


def test_reduce_on_plateau_divides_by_ten_when_accuracy_stops_improving():
    from tinynet.optim import ReduceLROnPlateau

    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    sched = ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=1)
    for acc, lr in [(0.5, 1.0), (0.6, 1.0), (0.6, 1.0), (0.59, 0.1), (0.7, 0.1), (0.7, 0.1), (0.7, 0.01)]:
        sched.step(acc)
        assert opt.lr == pytest.approx(lr), acc
    restored = ReduceLROnPlateau(SGD([Parameter(np.ones(1))], lr=1.0), mode="max")
    restored.load_state_dict(sched.state_dict())
    assert (restored.best, restored.num_bad_epochs, restored.patience) == (sched.best, sched.num_bad_epochs, 1)


@pytest.mark.parametrize("nesterov, dampening", [(False, 0.0), (False, 0.25), (True, 0.0)])
def test_step_in_many_blocks_on_several_threads_equals_the_whole_array_formula(monkeypatch, nesterov, dampening):
    """On the host the update runs block by block (kernels.parallel); in float32 every element must come
    out bit for bit as the formula applied to whole arrays, operation by operation, over three steps."""
    from kernels import parallel

    monkeypatch.setattr(parallel, "BLOCK_BYTES", 1024)
    monkeypatch.setattr(parallel, "_num_threads", 3)
    rng = np.random.default_rng(7)
    lr, m, wd = np.float32(0.05), np.float32(0.9), np.float32(5e-4)
    p0 = rng.standard_normal((37, 53)).astype(np.float32)
    p = Parameter(p0.copy())
    opt = SGD([p], lr=0.05, momentum=0.9, dampening=dampening, weight_decay=5e-4, nesterov=nesterov)
    ref, buf = p0.copy(), None
    for _ in range(3):
        g = rng.standard_normal(p0.shape).astype(np.float32)
        p.grad = tensor(g)
        opt.step()
        d = ref * wd + g
        buf = d.copy() if buf is None else buf * m + (np.float32(1 - dampening) * d if dampening else d)
        ref = ref - (d + m * buf if nesterov else buf) * lr
        np.testing.assert_array_equal(host(p), ref)
        np.testing.assert_array_equal(opt.buffers[0], buf)


def test_a_failed_first_step_leaves_no_momentum_buffer():
    """A first step that raises (here: a gradient of the wrong size) must not leave an uninitialised
    momentum buffer behind for the next step to use."""
    p = _param("cpu", [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = tensor(np.ones(4))
    with pytest.raises(ValueError):
        opt.step()
    assert opt.buffers[0] is None
    p.data[...] = [1.0, 2.0, 3.0]
    p.grad = tensor(np.ones(3))
    opt.step()
    np.testing.assert_allclose(host(p), [0.9, 1.9, 2.9])


# --- SGD given bad input ---------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")


def _sgd(params=None, **settings):
    settings.setdefault("lr", 0.1)
    return SGD([Parameter(np.zeros(3))] if params is None else params, **settings)


def _twice():
    p = Parameter(np.zeros(3))
    return [p, Parameter(np.zeros(2)), p]


def _non_leaf():
    return [Parameter(np.zeros(3)) * 2.0]


def _sgd_of_a_module():
    from tinynet import nn  # only this case needs a Module

    return SGD(nn.Linear(2, 2), lr=0.1)


SGD_ARGUMENTS = [
    # params: an iterable of distinct leaf Tensors
    pytest.param(_sgd_of_a_module, TypeError,
                 r"^SGD: got a Module \(Linear\); pass model.parameters\(\)$", id="a-Module"),
    pytest.param(lambda: SGD(Parameter(np.zeros(3)), lr=0.1), TypeError,
                 r"^SGD: params argument given to the optimizer should be an iterable of Tensors, but got Parameter",
                 id="a-single-Tensor"),
    pytest.param(lambda: _sgd(5), TypeError, r"should be an iterable of Tensors, but got int$", id="an-int"),
    pytest.param(lambda: _sgd("weight"), TypeError, r"should be an iterable of Tensors, but got str$", id="a-str"),
    pytest.param(lambda: _sgd({"weight": Parameter(np.zeros(3))}), TypeError,
                 r"should be an iterable of Tensors, but got dict$", id="a-dict"),
    pytest.param(lambda: _sgd([Parameter(np.zeros(3)), 3]), TypeError, r"^SGD: parameter 1 has type int, not a Tensor$",
                 id="an-int-element"),
    pytest.param(lambda: _sgd([np.zeros(3)]), TypeError, r"^SGD: parameter 0 has type ndarray, not a Tensor$",
                 id="an-array-element"),
    pytest.param(lambda: _sgd(_twice()), ValueError,
                 r"^SGD: parameter 2 is the same tensor as parameter 0 \(given twice\)$", id="given-twice"),
    pytest.param(lambda: _sgd(_non_leaf()), ValueError, r"^SGD: parameter 0 is not a leaf tensor \(it was computed by Mul\)",
                 id="non-leaf"),
    # hyper-parameters: finite real numbers in range
    pytest.param(lambda: _sgd(lr=NAN), ValueError, r"^SGD: lr must be a finite number >= 0, got nan$", id="lr-nan"),
    pytest.param(lambda: _sgd(lr=INF), ValueError, r"^SGD: lr must be a finite number >= 0, got inf$", id="lr-inf"),
    pytest.param(lambda: _sgd(lr="0.1"), TypeError, r"^SGD: lr must be a finite number >= 0, got '0.1'$", id="lr-str"),
    pytest.param(lambda: _sgd(lr=True), TypeError, r"^SGD: lr must be a finite number >= 0, got True$", id="lr-bool"),
    pytest.param(lambda: _sgd(lr=None), TypeError, r"^SGD: lr must be a finite number >= 0, got None$", id="lr-None"),
    pytest.param(lambda: _sgd(momentum=NAN), ValueError, r"^SGD: momentum must be a finite number >= 0, got nan$",
                 id="momentum-nan"),
    pytest.param(lambda: _sgd(momentum=0.9, dampening=NAN), ValueError, r"^SGD: dampening must be a finite number",
                 id="dampening-nan"),
    pytest.param(lambda: _sgd(momentum=0.9, dampening=1.5), ValueError,
                 r"^SGD: dampening must be a finite number >= 0 and <= 1, got 1.5$", id="dampening-above-1"),
    pytest.param(lambda: _sgd(weight_decay="0"), TypeError, r"^SGD: weight_decay must be a finite number", id="wd-str"),
    pytest.param(lambda: _sgd(momentum=0.9, nesterov="yes"), TypeError, r"^SGD: nesterov must be True or False, got 'yes'$",
                 id="nesterov-str"),
]


@pytest.mark.parametrize("build, error, message", SGD_ARGUMENTS)
def test_sgd_refuses_bad_arguments_when_built(build, error, message):
    with pytest.raises(error, match=message):
        build()


def _step_with_grad(grad):
    """One step on a (2, 3) parameter whose .grad was set by hand to ``grad``."""
    p = Parameter(np.zeros((2, 3)))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = grad
    opt.step()


SGD_STEP = [
    # The same number of elements in another layout would update the wrong elements, silently.
    pytest.param(lambda: _step_with_grad(tensor(np.ones((3, 2)))), ValueError,
                 r"^SGD.step: parameter 0 has shape \(2, 3\) but its .grad has shape \(3, 2\)", id="grad-transposed"),
    pytest.param(lambda: _step_with_grad(tensor(np.ones((2, 3, 1)))), ValueError,
                 r"^SGD.step: parameter 0 has shape \(2, 3\) but its .grad has shape \(2, 3, 1\)", id="grad-extra-dim"),
    pytest.param(lambda: _step_with_grad(tensor(np.ones(4))), ValueError,
                 r"^SGD.step: parameter 0 has shape \(2, 3\) but its .grad has shape \(4,\)", id="grad-other-size"),
    pytest.param(lambda: _step_with_grad(np.ones((2, 3))), TypeError,
                 r"^SGD.step: parameter 0's .grad has type ndarray, expected a Tensor or None$", id="grad-ndarray"),
]


@pytest.mark.parametrize("step, error, message", SGD_STEP)
def test_sgd_step_refuses_a_gradient_that_does_not_fit_its_parameter(step, error, message):
    with pytest.raises(error, match=message):
        step()


_DELETE = object()


def _load_sgd_state(state=None, **changes):
    """Load into SGD a valid state of one (3,) parameter with momentum, its param group changed by
    ``changes`` (``_DELETE`` removes a key; ``buffer`` replaces the momentum buffer), or ``state`` instead."""
    p = Parameter(np.zeros(3))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = tensor(np.ones(3))
    opt.step()
    if state is None:
        state = opt.state_dict()
        if "buffer" in changes:
            state["state"][0]["momentum_buffer"] = changes.pop("buffer")
        group = state["param_groups"][0]
        for key, value in changes.items():
            if value is _DELETE:
                del group[key]
            else:
                group[key] = value
    SGD([p], lr=0.1).load_state_dict(state)


SGD_LOAD = [
    pytest.param(lambda: _load_sgd_state(state=[0.1, 0.9]), TypeError, r"^SGD.load_state_dict: expected a dict, got list$",
                 id="a-list"),
    pytest.param(lambda: _load_sgd_state(state={"lr": 0.1, "buffers": []}), ValueError,
                 r"^SGD.load_state_dict: the state lacks state, param_groups", id="the-old-layout"),
    pytest.param(lambda: _load_sgd_state(lr=_DELETE, momentum=_DELETE), ValueError,
                 r"^SGD.load_state_dict: param_groups\[0\] lacks lr, momentum$", id="no-lr-momentum"),
    pytest.param(lambda: _load_sgd_state(lr="0.1"), TypeError, r"^SGD.load_state_dict: param_groups\[0\]: lr must be a finite number",
                 id="lr-str"),
    pytest.param(lambda: _load_sgd_state(lr=NAN), ValueError,
                 r"^SGD.load_state_dict: param_groups\[0\]: lr must be a finite number >= 0, got nan$", id="lr-nan"),
    pytest.param(lambda: _load_sgd_state(momentum=-1.0), ValueError, r"^SGD.load_state_dict: param_groups\[0\]: momentum must be",
                 id="momentum-negative"),
    pytest.param(lambda: _load_sgd_state(nesterov="no"), TypeError,
                 r"^SGD.load_state_dict: param_groups\[0\]: nesterov must be True or False", id="nesterov-str"),
    pytest.param(lambda: _load_sgd_state(buffer=5), TypeError,
                 r"^SGD.load_state_dict: state\[0\]: momentum_buffer has type int, expected an array$", id="buffer-int"),
    pytest.param(lambda: _load_sgd_state(buffer=[1.0, 2.0, 3.0]), TypeError,
                 r"^SGD.load_state_dict: state\[0\]: momentum_buffer has type list, expected an array$", id="buffer-a-list"),
    pytest.param(lambda: _load_sgd_state(buffer=np.array(["a", "b", "c"])), TypeError,
                 r"^SGD.load_state_dict: state\[0\]: momentum_buffer has dtype <U1, expected a floating-point array$",
                 id="buffer-str"),
]


@pytest.mark.parametrize("load, error, message", SGD_LOAD)
def test_sgd_load_state_dict_refuses_a_bad_state_naming_the_key(load, error, message):
    with pytest.raises(error, match=message):
        load()
