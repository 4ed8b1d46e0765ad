"""PyTorch's optimizers, stored for tests/test_optim.py:

    python tools/torch_reference/optim.py      # writes tests/fixtures/torch_optim.npz

Each case builds one torch optimizer over two float64 parameters (shapes (3, 4) and (5,)), either in one
param group or in two (the second with its own lr), and takes STEPS steps with gradients drawn from a seeded
NumPy generator. Keys, for a case <c>:

    <c>_spec              JSON: {"optimizer": name, "kwargs": {...}, "group1": {...} or null}
    <c>_p0_<j>            parameter j before the first step
    <c>_g<s>_<j>          parameter j's gradient at step s (0-based)
    <c>_p<s>_<j>          parameter j after step s
    <c>_group_keys        the keys of param_groups[0] in state_dict() (sorted)
    <c>_state_keys_<j>    the keys of state[j] in state_dict() after the last step (sorted)
"""
import json

import numpy as np
import torch
from _common import SEED, save, t

rng = np.random.default_rng(SEED)
out = {}
STEPS = 4
SHAPES = [(3, 4), (5,)]

CASES = {
    "sgd_plain": ("SGD", dict(lr=0.1), None),
    "sgd_momentum_wd": ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01), None),
    "sgd_dampening": ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3), None),
    "sgd_nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.001), None),
    "sgd_maximize": ("SGD", dict(lr=0.1, momentum=0.5, maximize=True, weight_decay=0.01), None),
    "sgd_groups": ("SGD", dict(lr=0.01, momentum=0.9), dict(lr=0.1)),
    "adam_default": ("Adam", dict(), None),
    "adam_wd": ("Adam", dict(lr=0.01, weight_decay=0.1), None),
    "adam_amsgrad": ("Adam", dict(lr=0.01, betas=(0.8, 0.9), amsgrad=True), None),
    "adam_maximize": ("Adam", dict(lr=0.01, eps=1e-3, maximize=True), None),
    "adam_lowbeta": ("Adam", dict(lr=0.01, betas=(0.3, 0.5)), None),
    "adam_groups": ("Adam", dict(lr=0.01), dict(lr=0.05, weight_decay=0.1)),
    "adamw_default": ("AdamW", dict(), None),
    "adamw_wd_amsgrad": ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True), None),
    "adamw_maximize": ("AdamW", dict(lr=0.01, maximize=True), None),
    "rmsprop_default": ("RMSprop", dict(), None),
    "rmsprop_centered": ("RMSprop", dict(lr=0.01, centered=True, alpha=0.9), None),
    "rmsprop_momentum_wd": ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1), None),
    "rmsprop_all": ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, maximize=True, eps=1e-4), None),
    "rmsprop_groups": ("RMSprop", dict(lr=0.01), dict(lr=0.001, momentum=0.9)),
    "adagrad_default": ("Adagrad", dict(), None),
    "adagrad_decay": ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.01, initial_accumulator_value=0.5),
                      None),
    "adagrad_maximize": ("Adagrad", dict(lr=0.1, eps=1e-3, maximize=True), None),
    "adagrad_groups": ("Adagrad", dict(lr=0.1), dict(lr=0.01)),
}

for case, (name, kwargs, group1) in CASES.items():
    p0 = [rng.normal(size=s) for s in SHAPES]
    params = [t(p, grad=True) for p in p0]
    groups = [{"params": params}] if group1 is None else [{"params": params[:1]}, {"params": params[1:], **group1}]
    opt = getattr(torch.optim, name)(groups, **kwargs)
    out[f"{case}_spec"] = np.array(json.dumps({"optimizer": name, "kwargs": kwargs, "group1": group1}))
    for j, p in enumerate(p0):
        out[f"{case}_p0_{j}"] = p
    for s in range(STEPS):
        for j, p in enumerate(params):
            g = rng.normal(size=p.shape)
            out[f"{case}_g{s}_{j}"] = g
            p.grad = t(g)
        opt.step()
        for j, p in enumerate(params):
            out[f"{case}_p{s + 1}_{j}"] = p.detach().numpy().copy()
    sd = opt.state_dict()
    out[f"{case}_group_keys"] = np.array(sorted(k for k in sd["param_groups"][0] if k != "params"))
    for j in range(len(params)):
        out[f"{case}_state_keys_{j}"] = np.array(sorted(sd["state"].get(j, {})), dtype=str)

save("optim", out)
