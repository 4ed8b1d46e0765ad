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


def test_cosine_annealing_follows_half_a_cosine_then_stays_at_eta_min():
    from tinynet.optim import CosineAnnealingLR

    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.2)
    lrs = []
    for _ in range(6):
        sched.step()
        lrs.append(opt.lr)
    c = np.cos(np.pi * np.arange(1, 5) / 4)
    np.testing.assert_allclose(lrs, list(0.2 + 0.8 * (1 + c) / 2) + [0.2, 0.2])
    restored = CosineAnnealingLR(SGD([Parameter(np.ones(1))], lr=5.0), T_max=1)
    restored.load_state_dict(sched.state_dict())
    restored.step()
    assert restored.optimizer.lr == pytest.approx(0.2)
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
    assert (restored.best, restored.bad_epochs, restored.patience) == (sched.best, sched.bad_epochs, 1)


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
