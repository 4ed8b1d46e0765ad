"""tinynet.optim.lr_scheduler against PyTorch (tests/fixtures/torch_lr_scheduler.npz, made by
tools/torch_reference/lr_scheduler.py): every schedule's lr per param group, step after step, OneCycleLR's
momentum, state_dict round trips that continue identically, get_last_lr, and each schedule given bad input."""
import json

import numpy as np
import pytest

from tests.fixtures import torch_fixture
from tests.optim.schedule_specs import build, step, trace
from tinynet import optim
from tinynet.nn import Parameter
from tinynet.optim import lr_scheduler as S

TORCH = torch_fixture("lr_scheduler")
CASES = sorted(k[: -len("_spec")] for k in TORCH if k.endswith("_spec"))
SPECS = {c: json.loads(str(TORCH[f"{c}_spec"])) for c in CASES}


def _build(case):
    return build(SPECS[case], optim, S, lambda: Parameter(np.zeros(2)))


@pytest.mark.parametrize("case", CASES)
def test_every_step_matches_pytorch(case):
    opt, sched = _build(case)
    for name, got in zip(("lr", "last_lr", "momentum"), trace(SPECS[case], opt, sched)):
        np.testing.assert_allclose(got, TORCH[f"{case}_{name}"], rtol=1e-12, atol=1e-15, err_msg=f"{case}: {name}")
    raises = str(TORCH[f"{case}_raises"])
    if raises:  # PyTorch refused one step more than total_steps; so must we
        with pytest.raises(ValueError, match=r"OneCycleLR: stepped \d+ times, past total_steps="):
            sched.step()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("through_json", [False, True], ids=["dict", "json"])
def test_state_dict_round_trip_continues_identically(case, through_json):
    """Half the steps, then the optimizer's and the schedule's states into fresh ones: the rest of the
    sequence is PyTorch's. Through JSON too: the state is plain numbers, strings and lists."""
    steps = SPECS[case]["steps"]
    half = steps // 2
    opt, sched = _build(case)
    for s in range(half):
        step(SPECS[case], opt, sched, s)
    opt_state, state = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in state
    if through_json:
        state = json.loads(json.dumps(state))
    opt2, sched2 = _build(case)  # built from scratch (its first step taken), then overwritten
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(state)
    lrs = [[g["lr"] for g in opt2.param_groups]]
    for s in range(half, steps):
        step(SPECS[case], opt2, sched2, s)
        lrs.append([g["lr"] for g in opt2.param_groups])
    np.testing.assert_allclose(lrs, TORCH[f"{case}_lr"][half:], rtol=1e-12, atol=1e-15)


def _sgd(*lrs, **kw):
    return optim.SGD([{"params": [Parameter(np.zeros(1))], "lr": lr} for lr in lrs], lr=lrs[0], **kw)


def test_get_last_lr_is_a_list_per_group_and_a_copy():
    opt = _sgd(0.1, 0.01)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    last = sched.get_last_lr()
    assert last == [0.1, 0.01]
    last.append(3)
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.005] == [g["lr"] for g in opt.param_groups]


def test_initial_lr_is_set_once_and_a_second_schedule_keeps_it():
    opt = _sgd(0.1)
    S.StepLR(opt, step_size=1, gamma=0.5).step()
    second = S.ExponentialLR(opt, gamma=0.9)
    assert opt.param_groups[0]["initial_lr"] == 0.1 and second.base_lrs == [0.1]
    assert opt.param_groups[0]["lr"] == 0.05  # its first step leaves the lr as it is


def test_last_epoch_continues_from_initial_lr_and_needs_it():
    with pytest.raises(KeyError, match=r"StepLR: last_epoch=3 continues a schedule, but param_groups\[0\] has no "
                                       r"'initial_lr'"):
        S.StepLR(_sgd(0.1), step_size=2, last_epoch=3)
    opt = _sgd(0.1)
    opt.param_groups[0]["initial_lr"] = 1.0
    sched = S.StepLR(opt, step_size=2, gamma=0.1, last_epoch=3)  # epoch 4, chainable: the lr * gamma
    assert sched.last_epoch == 4 and opt.param_groups[0]["lr"] == pytest.approx(0.01)


def test_step_lr_multiplies_a_manually_changed_lr():
    opt = _sgd(0.1)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 1.0  # by hand, at epoch 1
    sched.step()  # epoch 2: a multiple of step_size
    assert opt.param_groups[0]["lr"] == 0.5


def test_lambda_state_dict_skips_functions_and_keeps_a_callable_objects_attributes():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = _sgd(0.1, 0.2)
    sched = S.LambdaLR(opt, [lambda e: 1.0, Decay(0.5)])
    assert sched.state_dict()["lr_lambdas"] == [None, {"rate": 0.5}]
    other = Decay(0.9)
    restored = S.LambdaLR(_sgd(0.1, 0.2), [lambda e: 1.0, other])
    restored.load_state_dict(sched.state_dict())
    assert other.rate == 0.5


def test_reduce_on_plateau_min_lr_per_group_and_cooldown():
    opt = _sgd(0.1, 0.01)
    sched = S.ReduceLROnPlateau(opt, factor=0.1, patience=0, cooldown=1, min_lr=[0.005, 0.0])
    for metric in [1.0, 1.0, 1.0, 1.0]:
        sched.step(metric)
    # epoch 2 reduces; epoch 3 is the cooldown; epoch 4 reduces again (group 0 held at its min_lr)
    assert sched.get_last_lr() == pytest.approx([0.005, 0.0001])
    assert sched.num_bad_epochs == 0 and sched.cooldown_counter == 1


def test_one_cycle_peak_is_one_step_before_pct_start_of_total_steps():
    opt = _sgd(0.1, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=100, pct_start=0.3)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(99):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert int(np.argmax(lrs)) == 29 and lrs[29] == 1.0 and lrs[0] == pytest.approx(1.0 / 25)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)


# --- bad input: one clear error naming the schedule and the argument ------------------------------------
def _opt():
    return _sgd(0.1, momentum=0.9)


def _adagrad():
    return optim.Adagrad([Parameter(np.zeros(1))])


BAD = [
    (lambda: S.StepLR([Parameter(np.zeros(1))], 2), TypeError, r"StepLR: expected an optimizer .* got list"),
    (lambda: S.StepLR("sgd", 2), TypeError, r"StepLR: expected an optimizer .*got str"),
    (lambda: S.StepLR(_opt(), 0), ValueError, r"StepLR: step_size must be an int >= 1, got 0"),
    (lambda: S.StepLR(_opt(), 2.5), TypeError, r"StepLR: step_size must be an int >= 1, got 2\.5"),
    (lambda: S.StepLR(_opt(), True), TypeError, r"StepLR: step_size must be an int >= 1, got True"),
    (lambda: S.StepLR(_opt(), 2, gamma=0), ValueError, r"StepLR: gamma must be a finite number > 0, got 0"),
    (lambda: S.StepLR(_opt(), 2, gamma=float("nan")), ValueError, r"StepLR: gamma must be .* got nan"),
    (lambda: S.StepLR(_opt(), 2, last_epoch=-2), ValueError, r"StepLR: last_epoch must be an int >= -1, got -2"),
    (lambda: S.MultiStepLR(_opt(), 5), TypeError, r"MultiStepLR: milestones must be a list of ints, got int"),
    (lambda: S.MultiStepLR(_opt(), [2, -1]), ValueError, r"MultiStepLR: milestones\[1\] must be"),
    (lambda: S.MultiStepLR(_opt(), [2, "x"]), TypeError, r"MultiStepLR: milestones\[1\] must be an int >= 0, got 'x'"),
    (lambda: S.MultiStepLR(_opt(), [-1]), ValueError, r"MultiStepLR: milestones\[0\] must be an int >= 0, got -1"),
    (lambda: S.ConstantLR(_opt(), factor=1.5), ValueError, r"ConstantLR: factor must be a finite number > 0 and <= 1"),
    (lambda: S.ConstantLR(_opt(), total_iters=0), ValueError, r"ConstantLR: total_iters must be an int >= 1, got 0"),
    (lambda: S.LinearLR(_opt(), start_factor=0), ValueError, r"LinearLR: start_factor must be a finite number > 0"),
    (lambda: S.LinearLR(_opt(), end_factor=2), ValueError, r"LinearLR: end_factor must be a finite number >= 0 and <= 1"),
    (lambda: S.LinearLR(_opt(), total_iters=-1), ValueError, r"LinearLR: total_iters must be an int >= 1"),
    (lambda: S.ExponentialLR(_opt(), gamma=-0.5), ValueError, r"ExponentialLR: gamma must be a finite number > 0"),
    (lambda: S.ExponentialLR(_opt(), gamma="0.9"), TypeError, r"ExponentialLR: gamma must be a finite number"),
    (lambda: S.PolynomialLR(_opt(), total_iters=0), ValueError, r"PolynomialLR: total_iters must be an int >= 1"),
    (lambda: S.PolynomialLR(_opt(), power=-1), ValueError, r"PolynomialLR: power must be a finite number >= 0"),
    (lambda: S.CosineAnnealingLR(_opt(), T_max=0), ValueError, r"CosineAnnealingLR: T_max must be an int >= 1, got 0"),
    (lambda: S.CosineAnnealingLR(_opt(), T_max=10, eta_min=-1), ValueError, r"CosineAnnealingLR: eta_min must be"),
    (lambda: S.CosineAnnealingWarmRestarts(_opt(), T_0=0), ValueError, r"CosineAnnealingWarmRestarts: T_0 must be"),
    (lambda: S.CosineAnnealingWarmRestarts(_opt(), T_0=2, T_mult=1.5), TypeError,
     r"CosineAnnealingWarmRestarts: T_mult must be an int >= 1, got 1\.5"),
    (lambda: S.CosineAnnealingWarmRestarts(_opt(), T_0=2, T_mult=0), ValueError, r"T_mult must be an int >= 1"),
    (lambda: S.CosineAnnealingWarmRestarts(_opt(), T_0=2).step(-1), ValueError,
     r"CosineAnnealingWarmRestarts\.step: epoch must be a finite number >= 0, got -1"),
    (lambda: S.LambdaLR(_opt(), 0.95), TypeError, r"LambdaLR: lr_lambda must be a function of the epoch .* got float"),
    (lambda: S.LambdaLR(_sgd(0.1, 0.2), [lambda e: 1.0]), ValueError,
     r"LambdaLR: lr_lambda must have one value per param group: 1 values given, the optimizer has 2 param groups"),
    (lambda: S.MultiplicativeLR(_opt(), [None]), TypeError, r"MultiplicativeLR: lr_lambda must be a function"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1), ValueError,
     r"OneCycleLR: give total_steps, or both epochs and steps_per_epoch"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, epochs=3), ValueError, r"OneCycleLR: give total_steps, or both"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, total_steps=0), ValueError, r"OneCycleLR: total_steps must be an int >= 1"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, epochs=2, steps_per_epoch=0), ValueError,
     r"OneCycleLR: steps_per_epoch must be an int >= 1, got 0"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     r"OneCycleLR: pct_start must be a finite number >= 0 and <= 1, got 1\.5"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=0.1), ValueError,
     r"OneCycleLR: pct_start=0\.1 with total_steps=10 leaves phase 1 of the cycle no steps"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, anneal_strategy="cosine"), ValueError,
     r"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'cosine'"),
    (lambda: S.OneCycleLR(_opt(), max_lr=-0.1, total_steps=10), ValueError, r"OneCycleLR: max_lr must be a finite number > 0"),
    (lambda: S.OneCycleLR(_opt(), max_lr=[0.1, 0.2], total_steps=10), ValueError,
     r"OneCycleLR: max_lr must have one value per param group: 2 values given, the optimizer has 1 param group$"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, div_factor=0), ValueError, r"OneCycleLR: div_factor"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, three_phase="yes"), TypeError, r"three_phase"),
    (lambda: S.OneCycleLR(_adagrad(), max_lr=0.1, total_steps=10), ValueError,
     r"OneCycleLR: cycle_momentum=True needs an optimizer with momentum or betas; Adagrad has neither"),
    (lambda: S.OneCycleLR(optim.Adam([Parameter(np.zeros(1))]), max_lr=0.1, total_steps=10, max_momentum=1.0),
     ValueError, r"OneCycleLR: max_momentum must be a finite number >= 0 and < 1, got 1\.0"),
    (lambda: S.SequentialLR(_opt(), [], []), ValueError, r"SequentialLR: schedulers is empty"),
    (lambda: _sequential(milestones=[]), ValueError,
     r"SequentialLR: 2 schedulers need 1 milestone \(the epochs where the next one starts\), got 0: \[\]"),
    (lambda: _sequential(milestones=[2, 4]), ValueError, r"SequentialLR: 2 schedulers need 1 milestone"),
    (lambda: _sequential(milestones=[0]), ValueError, r"SequentialLR: milestones\[0\] must be an int >= 1, got 0"),
    (lambda: _sequential(three=True, milestones=[5, 2]), ValueError, r"SequentialLR: milestones must be increasing"),
    (lambda: _sequential(other_optimizer=True), ValueError,
     r"SequentialLR: schedulers\[1\] \(ExponentialLR\) changes another optimizer than the one given"),
    (lambda: S.SequentialLR(_opt(), [_opt()], []), TypeError, r"SequentialLR: schedulers\[0\] is a SGD, not a "
                                                              r"learning-rate schedule"),
    (lambda: _with_plateau(S.SequentialLR), ValueError,
     r"SequentialLR: schedulers\[0\] is a ReduceLROnPlateau, whose step needs a metric"),
    (lambda: S.ChainedScheduler([]), ValueError, r"ChainedScheduler: schedulers is empty"),
    (lambda: S.ChainedScheduler(S.StepLR(_opt(), 2)), TypeError, r"ChainedScheduler: schedulers must be a list"),
    (lambda: S.ChainedScheduler([S.StepLR(_opt(), 2), S.StepLR(_opt(), 2)]), ValueError,
     r"ChainedScheduler: schedulers\[1\] \(StepLR\) changes another optimizer"),
    (lambda: _with_plateau(lambda o, s, m: S.ChainedScheduler(s)), ValueError, r"ChainedScheduler: schedulers\[0\] is a "
                                                                               r"ReduceLROnPlateau"),
    (lambda: S.ReduceLROnPlateau(_opt(), mode="maximum"), ValueError,
     r"ReduceLROnPlateau: mode must be 'min' or 'max', got 'maximum'"),
    (lambda: S.ReduceLROnPlateau(_opt(), threshold_mode="relative"), ValueError,
     r"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got 'relative'"),
    (lambda: S.ReduceLROnPlateau(_opt(), factor=1.0), ValueError, r"ReduceLROnPlateau: factor must be a finite number > 0 "
                                                                  r"and < 1, got 1\.0"),
    (lambda: S.ReduceLROnPlateau(_opt(), patience=-1), ValueError, r"ReduceLROnPlateau: patience must be an int >= 0"),
    (lambda: S.ReduceLROnPlateau(_opt(), cooldown=0.5), TypeError, r"ReduceLROnPlateau: cooldown must be an int"),
    (lambda: S.ReduceLROnPlateau(_opt(), threshold=-1), ValueError, r"ReduceLROnPlateau: threshold must be"),
    (lambda: S.ReduceLROnPlateau(_opt(), min_lr=[0.1, 0.2]), ValueError,
     r"ReduceLROnPlateau: min_lr must have one value per param group: 2 values given"),
    (lambda: S.ReduceLROnPlateau(_opt(), min_lr=-1), ValueError, r"ReduceLROnPlateau: min_lr must be a finite number >= 0"),
    (lambda: S.ReduceLROnPlateau(_opt(), eps=float("inf")), ValueError, r"ReduceLROnPlateau: eps must be"),
    (lambda: S.ReduceLROnPlateau(_opt()).step(None), TypeError,
     r"ReduceLROnPlateau\.step: metrics must be the monitored number .* got NoneType None"),
    (lambda: S.ReduceLROnPlateau(_opt()).step("low"), TypeError, r"ReduceLROnPlateau\.step: metrics must be"),
    (lambda: S.ReduceLROnPlateau(_opt()).step(), TypeError, r"metrics"),
    (lambda: S.StepLR(_opt(), 2).step(-3), ValueError, r"StepLR\.step: epoch must be an int >= 0, got -3"),
    (lambda: S.StepLR(_opt(), 2).load_state_dict([1, 2]), TypeError, r"StepLR\.load_state_dict: expected a dict, got list"),
    (lambda: S.StepLR(_opt(), 2).load_state_dict(S.ExponentialLR(_opt(), 0.9).state_dict()), ValueError,
     r"StepLR\.load_state_dict: the state lacks step_size"),
    (lambda: S.ExponentialLR(_opt(), 0.9).load_state_dict(S.StepLR(_opt(), 2).state_dict()), ValueError,
     r"ExponentialLR\.load_state_dict: the state holds step_size, not attributes of a ExponentialLR"),
    (lambda: S.ReduceLROnPlateau(_opt()).load_state_dict({**S.ReduceLROnPlateau(_opt()).state_dict(), "mode": "up"}),
     ValueError, r"ReduceLROnPlateau: mode must be 'min' or 'max', got 'up'"),
    (lambda: S.StepLR(_opt(), 2).load_state_dict({**S.StepLR(_opt(), 2).state_dict(), "step_size": "3"}), TypeError,
     r"StepLR\.load_state_dict: step_size must be a number, as this schedule's is, got str '3'"),
    (lambda: S.MultiStepLR(_opt(), [2]).load_state_dict({**S.MultiStepLR(_opt(), [2]).state_dict(), "milestones": 5}),
     TypeError, r"MultiStepLR\.load_state_dict: milestones must be a list"),
    (lambda: S.StepLR(_opt(), 2).step(2.5), TypeError, r"StepLR\.step: epoch must be an int >= 0, got 2\.5"),
    (lambda: S.CosineAnnealingWarmRestarts(_opt(), T_0=2).step("3"), TypeError,
     r"CosineAnnealingWarmRestarts\.step: epoch must be a finite number >= 0, got '3'"),
    (lambda: S.ChainedScheduler([S.StepLR(_opt(), 2)], optimizer="sgd"), TypeError,
     r"ChainedScheduler: expected an optimizer"),
    (lambda: _with_plateau(lambda o, s, m: S.SequentialLR(o, s[1:], 3)), TypeError,
     r"SequentialLR: milestones must be a list"),
    (lambda: S.OneCycleLR(_opt(), max_lr=0.1, total_steps=10, pct_start=1.0), ValueError,
     r"OneCycleLR: pct_start=1\.0 with total_steps=10 leaves phase 2 of the cycle no steps"),
    (lambda: _sequential().load_state_dict({**_sequential().state_dict(), "_schedulers": [{}]}), ValueError,
     r"SequentialLR\.load_state_dict: _schedulers must be a list of 2 states"),
]


def _sequential(milestones=(3,), other_optimizer=False, three=False):
    opt = _opt()
    schedules = [S.LinearLR(opt, total_iters=3), S.ExponentialLR(_opt() if other_optimizer else opt, 0.9)]
    if three:
        schedules.append(S.StepLR(opt, 2))
    return S.SequentialLR(opt, schedules, list(milestones))


def _with_plateau(make):
    opt = _opt()
    return make(opt, [S.ReduceLROnPlateau(opt), S.StepLR(opt, 2)], [3])


@pytest.mark.parametrize("make, error, message", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_is_refused_naming_the_schedule_and_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_one_cycle_stepped_past_total_steps_is_a_value_error():
    sched = S.OneCycleLR(_opt(), max_lr=0.1, total_steps=10)
    for _ in range(10):  # step total_steps itself is allowed (the last phase extrapolated), as in PyTorch
        sched.step()
    with pytest.raises(ValueError, match=r"OneCycleLR: stepped 11 times, past total_steps=10"):
        sched.step()


def test_multisteplr_counts_repeated_and_unsorted_milestones_as_pytorch():
    # PyTorch keeps the milestones in a Counter: order does not matter, a repeat applies gamma twice.
    opt = _opt()
    opt.param_groups[0]["lr"] = 0.1
    sched = S.MultiStepLR(opt, [12, 5, 12], gamma=0.5)
    lrs = []
    for _ in range(14):
        lrs.append(sched.get_last_lr()[0])
        sched.step()
    expected = [0.1] * 5 + [0.05] * 7 + [0.0125] * 2
    assert lrs == pytest.approx(expected, rel=1e-15)
    assert sched._get_closed_form_lr() == pytest.approx([0.0125])

