"""tinynet train's closed-form plans (tinynet/train_schedule.py): equal, epoch by epoch, to what torchvision's
reference script builds from PyTorch's schedules for the same flags (tests/fixtures/torch_lr_scheduler.npz, the
tv_* cases), the CLI's cosine held at its floor past --epochs, and the plan's state as checkpoints store it."""
import math

import numpy as np
import pytest

from tests.fixtures import torch_fixture
from tinynet.nn import Parameter
from tinynet.optim import SGD
from tinynet.train_flags import TrainConfig, check, resolve
from tinynet.train_schedule import CosinePlan, PlateauPlan, StepPlan, make_plan, replan

TORCH = torch_fixture("lr_scheduler")


def _plan(**flags):
    cfg, _ = resolve(check(TrainConfig(lr=0.1, **flags)), None)
    opt = SGD([Parameter(np.zeros(1))], lr=cfg.lr)
    return make_plan(cfg, opt), opt, cfg


# (fixture case, flags of tinynet train giving the same schedule, epochs to compare)
TORCHVISION = [
    ("tv_cosine_linear_warmup", dict(epochs=10, lr_warmup_epochs=3, lr_warmup_method="linear"), 11),
    ("tv_cosine_constant_warmup", dict(epochs=12, lr_warmup_epochs=2, lr_warmup_decay=0.01), 13),
    ("tv_step_constant_warmup", dict(epochs=12, lr_scheduler="steplr", lr_step_size=3, lr_warmup_epochs=2,
                                     lr_warmup_decay=0.05), 13),
    ("tv_multistep_linear_warmup", dict(epochs=12, lr_scheduler="multisteplr", lr_milestones=[2, 5], lr_gamma=0.5,
                                        lr_warmup_epochs=4, lr_warmup_method="linear", lr_warmup_decay=0.2), 13),
    ("tv_exponential_linear_warmup", dict(epochs=8, lr_scheduler="exponentiallr", lr_gamma=0.8, lr_warmup_epochs=1,
                                          lr_warmup_method="linear", lr_warmup_decay=0.5), 9),
]


@pytest.mark.parametrize("case, flags, epochs", TORCHVISION, ids=[c for c, _, _ in TORCHVISION])
def test_each_epochs_lr_is_torchvisions_sequential_schedule(case, flags, epochs):
    plan, opt, _ = _plan(**flags)
    lrs = [opt.lr]
    for _ in range(epochs - 1):
        plan.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, TORCH[f"{case}_lr"][:epochs, 0], rtol=1e-12, atol=1e-15)


def test_cosine_stays_at_its_floor_past_the_run_where_pytorchs_climbs():
    plan, opt, _ = _plan(epochs=4)
    assert [plan.lr_at(e) for e in (4, 5, 8)] == [0.0, 0.0, 0.0]
    assert plan.lr_at(2) == pytest.approx(0.05)


def test_extending_epochs_replans_the_cosine_from_the_epoch_resumed():
    plan, opt, cfg = _plan(epochs=4, lr_warmup_epochs=1)
    longer, _ = resolve(check(TrainConfig(lr=0.1, epochs=7, lr_warmup_epochs=1)), None)
    replan(plan, longer)
    assert plan.T_max == 6 and plan.lr_at(4) == pytest.approx(0.1 * (1 + math.cos(math.pi * 3 / 6)) / 2)


def test_state_without_a_warmup_is_the_old_checkpoints_and_loads_into_a_fresh_plan():
    plan, opt, _ = _plan(epochs=5, lr_scheduler="step", lr_step_size=2)
    plan.step()
    assert plan.state_dict() == {"kind": "step", "step_size": 2, "gamma": 0.1, "base_lr": 0.1, "last_epoch": 1}
    warm, _, _ = _plan(epochs=5, lr_warmup_epochs=2, lr_warmup_method="linear")
    state = warm.state_dict()
    assert (state["warmup_epochs"], state["warmup_method"], state["warmup_decay"]) == (2, "linear", 0.01)
    fresh = CosinePlan(SGD([Parameter(np.zeros(1))], lr=1.0), T_max=1, eta_min=0.0)
    fresh.load_state_dict(state)
    assert [fresh.lr_at(e) for e in range(5)] == [warm.lr_at(e) for e in range(5)]
    old = {"kind": "cosine", "T_max": 4, "eta_min": 0.0, "base_lr": 0.1, "last_epoch": 1}  # a checkpoint of before
    fresh.load_state_dict(old)
    assert fresh.warmup_epochs == 0 and fresh.lr_at(0) == 0.1


@pytest.mark.parametrize("plan, state, message", [
    (lambda o: StepPlan(o, step_size=1, gamma=0.1), {"kind": "cosine"}, r"the state is of a 'cosine' schedule"),
    (lambda o: StepPlan(o, step_size=1, gamma=0.1), {"kind": "step"}, r"the state lacks step_size, gamma"),
    (lambda o: PlateauPlan(o), [], r"expected a dict, got list"),
])
def test_a_wrong_state_is_refused(plan, state, message):
    with pytest.raises((TypeError, ValueError), match=message):
        plan(SGD([Parameter(np.zeros(1))], lr=0.1)).load_state_dict(state)
