"""PyTorch's learning-rate schedules, stored for tests/optim/test_lr_scheduler.py:

    python tools/torch_reference/lr_scheduler.py      # writes tests/fixtures/torch_lr_scheduler.npz

Each case builds an optimizer (SGD or Adam) over one parameter per param group, a schedule from its
JSON spec, and steps it; the test builds the same from the same spec with tinynet, both through
tests/optim/schedule_specs.py (no torch and no tinynet there). Keys, for a case <c>:

    <c>_spec       JSON: {"optimizer", "lrs" (one per group), "schedule" (below), "steps", and optionally
                   "set_lr" {step: lr, set in every group before that step}, "epochs" [step(epoch) values
                   instead of step()], "metrics" [one per step, for ReduceLROnPlateau], "initial_lr" and
                   "last_epoch" (a schedule continued), "momentum"}
    <c>_lr         (steps + 1, groups): each group's lr after the constructor, then after each step
    <c>_last_lr    the same from get_last_lr()
    <c>_momentum   (steps + 1, groups): "momentum" (SGD) or betas[0] (Adam), for OneCycleLR
    <c>_raises     (OneCycleLR) the message of the ValueError of one step more, "" if none

A schedule spec is {"name": class name, "kwargs": {...}}; a lr_lambda is {"lambda": "<expression of e>"};
SequentialLR and ChainedScheduler take "schedulers": [specs] (and "milestones").
"""
import json
import sys
import warnings

import numpy as np
import torch
from _common import ROOT, SEED, save

sys.path.insert(0, str(ROOT))
from tests.optim.schedule_specs import build, trace  # noqa: E402  (the steps, shared with the test)

rng = np.random.default_rng(SEED)
warnings.simplefilter("ignore")  # PyTorch's deprecation warnings (step(epoch)), also outside the steps


def run(spec):
    opt, sched = build(spec, torch.optim, torch.optim.lr_scheduler,
                       lambda: torch.zeros(2, dtype=torch.float64, requires_grad=True))
    lrs, last, moms = trace(spec, opt, sched)
    raises = ""
    if spec["schedule"]["name"] == "OneCycleLR":
        try:
            sched.step()
        except ValueError as e:
            raises = str(e)
    return lrs, last, moms, raises


def S(name, **kwargs):
    return {"name": name, "kwargs": kwargs}


def L(expr):
    return {"lambda": expr}


plateau_min = [round(float(v), 6) for v in 1.0 / (1 + 0.3 * np.arange(40)) + rng.normal(0, 0.03, 40)]
plateau_max = [round(float(v), 6) for v in np.minimum(0.9, 0.1 + 0.05 * np.arange(40)) + rng.normal(0, 0.04, 40)]
frac = [k * 0.25 for k in range(1, 121)]

CASES = {
    "step": dict(lrs=[0.1], schedule=S("StepLR", step_size=10, gamma=0.1), steps=40),
    "step_manual": dict(lrs=[0.1], schedule=S("StepLR", step_size=5, gamma=0.5), steps=30, set_lr={"12": 0.2}),
    "step_groups": dict(lrs=[0.1, 0.01], schedule=S("StepLR", step_size=3, gamma=0.5), steps=20),
    "step_epochs": dict(lrs=[0.1], schedule=S("StepLR", step_size=4, gamma=0.5), steps=8,
                        epochs=[3, 4, 9, 9, 13, 2, 30, 0]),
    "multistep": dict(lrs=[0.1, 0.03], schedule=S("MultiStepLR", milestones=[5, 12, 20], gamma=0.3), steps=30),
    "multistep_manual": dict(lrs=[0.1], schedule=S("MultiStepLR", milestones=[4, 9], gamma=0.1), steps=15,
                             set_lr={"6": 0.5}),
    "constant": dict(lrs=[0.1], schedule=S("ConstantLR", factor=0.25, total_iters=4), steps=12),
    "constant_default": dict(lrs=[0.1, 0.2], schedule=S("ConstantLR"), steps=10),
    "linear": dict(lrs=[0.1, 0.01], schedule=S("LinearLR", start_factor=0.1, end_factor=1.0, total_iters=8),
                   steps=15),
    "linear_down": dict(lrs=[0.1], schedule=S("LinearLR", start_factor=1.0, end_factor=0.05, total_iters=10),
                        steps=15),
    "exponential": dict(lrs=[0.1], schedule=S("ExponentialLR", gamma=0.9), steps=30),
    "polynomial": dict(lrs=[0.1, 0.05], schedule=S("PolynomialLR", total_iters=10, power=2.0), steps=15),
    "polynomial_default": dict(lrs=[0.1], schedule=S("PolynomialLR"), steps=8),
    "cosine": dict(lrs=[0.1], schedule=S("CosineAnnealingLR", T_max=10, eta_min=0.001), steps=45),
    "cosine_zero_floor": dict(lrs=[0.1], schedule=S("CosineAnnealingLR", T_max=30), steps=60),
    "cosine_manual": dict(lrs=[0.1], schedule=S("CosineAnnealingLR", T_max=20), steps=30, set_lr={"8": 0.05}),
    "cosine_groups": dict(lrs=[0.1, 0.02], schedule=S("CosineAnnealingLR", T_max=7, eta_min=0.01), steps=20),
    "cosine_epochs": dict(lrs=[0.1], schedule=S("CosineAnnealingLR", T_max=10), steps=6, epochs=[5, 10, 15, 3, 20, 0]),
    "cosine_last_epoch": dict(lrs=[0.07], initial_lr=[0.1], last_epoch=4,
                              schedule=S("CosineAnnealingLR", T_max=10, eta_min=0.0), steps=12),
    "warm_restarts": dict(lrs=[0.1], schedule=S("CosineAnnealingWarmRestarts", T_0=5, eta_min=0.001), steps=30),
    "warm_restarts_mult": dict(lrs=[0.1, 0.05], schedule=S("CosineAnnealingWarmRestarts", T_0=3, T_mult=2),
                               steps=45),
    "warm_restarts_fractional": dict(lrs=[0.1], schedule=S("CosineAnnealingWarmRestarts", T_0=4, T_mult=2,
                                                           eta_min=0.002), steps=len(frac), epochs=frac),
    "warm_restarts_fractional_mult1": dict(lrs=[0.1], schedule=S("CosineAnnealingWarmRestarts", T_0=3),
                                           steps=40, epochs=[k * 0.3 for k in range(1, 41)]),
    "lambda": dict(lrs=[0.1], schedule=S("LambdaLR", lr_lambda=L("0.95 ** e")), steps=30),
    "lambda_groups": dict(lrs=[0.1, 0.02], schedule=S("LambdaLR", lr_lambda=[L("1 / (1 + e)"), L("0.9 ** e")]),
                          steps=20),
    "multiplicative": dict(lrs=[0.1], schedule=S("MultiplicativeLR", lr_lambda=L("0.8 if e % 3 == 0 else 1.0")),
                           steps=20),
    "onecycle_cos": dict(lrs=[0.1], optimizer="SGD", momentum=0.9, schedule=S("OneCycleLR", max_lr=0.1,
                                                                                total_steps=50), steps=50),
    "onecycle_linear": dict(lrs=[0.1, 0.1], momentum=0.9, schedule=S(
        "OneCycleLR", max_lr=[0.1, 0.05], total_steps=40, pct_start=0.25, anneal_strategy="linear",
        div_factor=10.0, final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9), steps=40),
    "onecycle_three_phase": dict(lrs=[0.001], optimizer="Adam", schedule=S(
        "OneCycleLR", max_lr=0.01, epochs=6, steps_per_epoch=10, three_phase=True), steps=60),
    "onecycle_no_momentum": dict(lrs=[0.1], optimizer="SGD", schedule=S(
        "OneCycleLR", max_lr=0.2, total_steps=30, cycle_momentum=False, anneal_strategy="linear"), steps=30),
    "plateau_min_rel": dict(lrs=[0.1], schedule=S("ReduceLROnPlateau", factor=0.5, patience=2, threshold=0.01,
                                                  min_lr=0.001), steps=40, metrics=plateau_min),
    "plateau_min_abs_cooldown": dict(lrs=[0.1, 0.05], schedule=S(
        "ReduceLROnPlateau", factor=0.3, patience=1, threshold=0.02, threshold_mode="abs", cooldown=3,
        min_lr=[0.002, 0.004]), steps=40, metrics=plateau_min),
    "plateau_max_rel": dict(lrs=[0.1], schedule=S("ReduceLROnPlateau", mode="max", patience=3, threshold=0.05),
                            steps=40, metrics=plateau_max),
    "plateau_max_abs": dict(lrs=[0.1, 0.01], schedule=S(
        "ReduceLROnPlateau", mode="max", factor=0.1, patience=0, threshold=0.03, threshold_mode="abs",
        cooldown=1, min_lr=1e-4, eps=1e-6), steps=40, metrics=plateau_max),
    "plateau_default": dict(lrs=[0.1], schedule=S("ReduceLROnPlateau"), steps=40, metrics=[1.0] * 40),
    "sequential_warmup_cosine": dict(lrs=[0.1, 0.02], schedule={
        "name": "SequentialLR", "milestones": [5],
        "schedulers": [S("LinearLR", start_factor=0.1, total_iters=5), S("CosineAnnealingLR", T_max=25)]},
        steps=40),
    "sequential_three": dict(lrs=[0.1], schedule={
        "name": "SequentialLR", "milestones": [3, 10],
        "schedulers": [S("ConstantLR", factor=0.5, total_iters=3), S("ExponentialLR", gamma=0.9),
                       S("StepLR", step_size=4, gamma=0.5)]}, steps=25),
    "chained": dict(lrs=[0.1], schedule={
        "name": "ChainedScheduler",
        "schedulers": [S("ConstantLR", factor=0.1, total_iters=2), S("ExponentialLR", gamma=0.9)]}, steps=20),
    "chained_groups": dict(lrs=[0.1, 0.3], schedule={
        "name": "ChainedScheduler",
        "schedulers": [S("LinearLR", start_factor=0.5, total_iters=4), S("StepLR", step_size=3, gamma=0.5)]},
        steps=15),
    # torchvision's reference script: warm-up then the main schedule, stepped once per epoch (the
    # compositions tinynet train's closed-form plans must equal: tests/test_train_schedule.py)
    "tv_cosine_linear_warmup": dict(lrs=[0.1], schedule={
        "name": "SequentialLR", "milestones": [3],
        "schedulers": [S("LinearLR", start_factor=0.01, total_iters=3), S("CosineAnnealingLR", T_max=7)]},
        steps=10),
    "tv_cosine_constant_warmup": dict(lrs=[0.1], schedule={
        "name": "SequentialLR", "milestones": [2],
        "schedulers": [S("ConstantLR", factor=0.01, total_iters=2), S("CosineAnnealingLR", T_max=10)]},
        steps=12),
    "tv_step_constant_warmup": dict(lrs=[0.1], schedule={
        "name": "SequentialLR", "milestones": [2],
        "schedulers": [S("ConstantLR", factor=0.05, total_iters=2), S("StepLR", step_size=3, gamma=0.1)]},
        steps=12),
    "tv_multistep_linear_warmup": dict(lrs=[0.1], schedule={
        "name": "SequentialLR", "milestones": [4],
        "schedulers": [S("LinearLR", start_factor=0.2, total_iters=4), S("MultiStepLR", milestones=[2, 5], gamma=0.5)]},
        steps=12),
    "tv_exponential_linear_warmup": dict(lrs=[0.1], schedule={
        "name": "SequentialLR", "milestones": [1],
        "schedulers": [S("LinearLR", start_factor=0.5, total_iters=1), S("ExponentialLR", gamma=0.8)]}, steps=8),
}

out = {}
for case, spec in CASES.items():
    spec = {"optimizer": "SGD", **spec}
    lr, last, mom, raises = run(spec)
    out[f"{case}_spec"] = np.array(json.dumps(spec))
    out[f"{case}_lr"], out[f"{case}_last_lr"], out[f"{case}_momentum"] = lr, last, mom
    out[f"{case}_raises"] = np.array(raises)

save("lr_scheduler", out)
