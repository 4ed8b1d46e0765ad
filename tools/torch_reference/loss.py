"""PyTorch's losses and softmax, stored for tests/functional/test_loss.py, test_elementwise_loss.py and
tests/nn/test_loss.py:

    python tools/torch_reference/loss.py      # writes tests/fixtures/torch_loss.npz

Everything in float64 (targets int64). Inputs come from a seeded NumPy generator and are stored beside the
results, so the tests feed tinynet exactly what torch saw. Every case stores its loss, the upstream gradient g
it was backpropagated with (random for reduction='none', 1 otherwise) and the input gradients. Keys:

    ce_<shape>_<weight>_<ignore>_<smoothing>_<reduction>_{loss,g,dz}
        F.cross_entropy on class indices; shape 2d (5, 4), 4d (2, 3, 2, 3), 1d (4,) unbatched; weight
        w or now (no weight); ignore none / some (-100) / all (-100) / inrange (ignore_index=1); smoothing 0, 0.3, 1
    ce_<shape>_z, ce_<shape>_w, ce_<shape>_t_<ignore>    the inputs (t_inrange goes with ignore_index=1)
    cep_<shape>_<weight>_<smoothing>_<reduction>_{loss,g,dz,dT}, cep_<shape>_T
        F.cross_entropy on class probabilities (same logits and weights)
    nll_<shape>_<weight>_<ignore>_<reduction>_{loss,g,dx}, nll_<shape>_x    F.nll_loss on log-probabilities
    <loss>_<variant>_<reduction>_{loss,g,dx,dy}, <loss>_<variant>_{x,y,weight,pos_weight}
        mse, l1, smooth_l1 (beta 1, 0.5, 0), bce (weight none / (4,) / (3, 4)), bcel (weight and pos_weight)
    softmax_<ndim>d_{x,g,y,dx}, log_softmax_<ndim>d_...    dim=None: PyTorch's implicit dim, ndim 0..4
    module_<name>_{loss,dz}    a loss module built with positional arguments, on the inputs of a ce case
"""
import itertools
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from _common import SEED, arr, save, t
from torch import nn

rng = np.random.default_rng(SEED)
out = {}
REDUCTIONS = ("mean", "sum", "none")


def upstream(loss, reduction):
    """The upstream gradient: random for 'none', 1 for a scalar loss."""
    return rng.normal(size=loss.shape) if reduction == "none" else np.ones(())


def run(key, fn, inputs, reduction, grads):
    """Call fn on float64 leaves made from ``inputs`` (those named in ``grads`` require grad); store the loss,
    the upstream and each named gradient under key_*."""
    leaves = {name: t(a, name in grads) for name, a in inputs.items()}
    loss = fn(**leaves)
    g = upstream(loss, reduction)
    loss.backward(t(g))
    out[f"{key}_loss"], out[f"{key}_g"] = arr(loss), g
    for name, label in grads.items():
        out[f"{key}_{label}"] = arr(leaves[name].grad)


# --- cross_entropy and nll_loss ----------------------------------------------------------------------------
SHAPES = {"2d": (5, 4), "4d": (2, 3, 2, 3), "1d": (4,)}
SMOOTHING = {"ls0": 0.0, "ls0.3": 0.3, "ls1": 1.0}
for shape_name, shape in SHAPES.items():
    C = shape[1] if len(shape) > 1 else shape[0]
    sample = shape[:1] + shape[2:] if len(shape) > 1 else ()
    z = rng.normal(0.0, 2.0, shape)
    w = rng.uniform(0.2, 2.0, C)
    T = rng.uniform(0.0, 1.0, shape)
    T = T / T.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)  # rows of probabilities
    targets = {"none": rng.integers(0, C, sample)}
    if sample:
        some = targets["none"].copy()
        some.reshape(-1)[::3] = -100
        inrange = targets["none"].copy()
        inrange.reshape(-1)[::2] = 1
        targets.update(some=some, inrange=inrange)
    targets["all"] = np.full(sample, -100)
    out.update({f"ce_{shape_name}_z": z, f"ce_{shape_name}_w": w, f"cep_{shape_name}_T": T})
    for ignore, target in targets.items():
        out[f"ce_{shape_name}_t_{ignore}"] = target.astype(np.int64)
    logp = arr(torch.log_softmax(t(z), dim=1 if len(shape) > 1 else 0))
    out[f"nll_{shape_name}_x"] = logp

    for (weighted, ignore, (ls_name, ls), reduction) in itertools.product(
            ("now", "w"), targets, SMOOTHING.items(), REDUCTIONS):
        ignore_index = 1 if ignore == "inrange" else -100
        target = torch.tensor(targets[ignore], dtype=torch.int64)
        weight = t(w) if weighted == "w" else None
        run(f"ce_{shape_name}_{weighted}_{ignore}_{ls_name}_{reduction}",
            lambda z: F.cross_entropy(z, target, weight, ignore_index=ignore_index, reduction=reduction,
                                      label_smoothing=ls),
            {"z": z}, reduction, {"z": "dz"})
        if ls == 0.0:
            run(f"nll_{shape_name}_{weighted}_{ignore}_{reduction}",
                lambda x: F.nll_loss(x, target, weight, ignore_index=ignore_index, reduction=reduction),
                {"x": logp}, reduction, {"x": "dx"})
    for (weighted, (ls_name, ls), reduction) in itertools.product(("now", "w"), SMOOTHING.items(), REDUCTIONS):
        weight = t(w) if weighted == "w" else None
        run(f"cep_{shape_name}_{weighted}_{ls_name}_{reduction}",
            lambda z, T: F.cross_entropy(z, T, weight, reduction=reduction, label_smoothing=ls),
            {"z": z, "T": T}, reduction, {"z": "dz", "T": "dT"})

# --- elementwise losses --------------------------------------------------------------------------------------
x = rng.normal(0.0, 1.5, (3, 4))
y = rng.normal(0.0, 1.5, (3, 4))
y[0, 0] = x[0, 0]  # one exact tie: l1's and smooth_l1's slope there is 0
y[1, 1] = x[1, 1] + 0.5  # exactly at beta = 0.5
p = rng.uniform(0.05, 0.95, (3, 4))
p[0, :3] = [0.0, 1.0, 1e-50]  # log(0) and log(1e-50) clamped at -100; the 1e-12 bound of the slope
q = rng.uniform(0.0, 1.0, (3, 4))
q[0, 3] = 1.0
logits = rng.normal(0.0, 3.0, (3, 4))
logits[0, :2] = [-60.0, 60.0]  # far out in both tails
ELEMENTWISE = {
    "mse": (lambda x, y, r: F.mse_loss(x, y, reduction=r), {"x": x, "y": y}),
    "l1": (lambda x, y, r: F.l1_loss(x, y, reduction=r), {"x": x, "y": y}),
    "smooth_l1_beta1": (lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=1.0), {"x": x, "y": y}),
    "smooth_l1_beta0.5": (lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.5), {"x": x, "y": y}),
    "smooth_l1_beta0": (lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.0), {"x": x, "y": y}),
    "bce_now": (lambda x, y, r: F.binary_cross_entropy(x, y, reduction=r), {"x": p, "y": q}),
    "bce_w4": (lambda x, y, weight, r: F.binary_cross_entropy(x, y, weight, reduction=r),
               {"x": p, "y": q, "weight": rng.uniform(0.2, 2.0, 4)}),
    "bce_w34": (lambda x, y, weight, r: F.binary_cross_entropy(x, y, weight, reduction=r),
                {"x": p, "y": q, "weight": rng.uniform(0.2, 2.0, (3, 4))}),
    "bcel_now": (lambda x, y, r: F.binary_cross_entropy_with_logits(x, y, reduction=r), {"x": logits, "y": q}),
    "bcel_w31": (lambda x, y, weight, r: F.binary_cross_entropy_with_logits(x, y, weight, reduction=r),
                 {"x": logits, "y": q, "weight": rng.uniform(0.2, 2.0, (3, 1))}),
    "bcel_pw4": (lambda x, y, pos_weight, r: F.binary_cross_entropy_with_logits(x, y, reduction=r,
                                                                                 pos_weight=pos_weight),
                 {"x": logits, "y": q, "pos_weight": rng.uniform(0.2, 3.0, 4)}),
    "bcel_w4_pw31": (lambda x, y, weight, pos_weight, r: F.binary_cross_entropy_with_logits(
        x, y, weight, reduction=r, pos_weight=pos_weight),
        {"x": logits, "y": q, "weight": rng.uniform(0.2, 2.0, 4), "pos_weight": rng.uniform(0.2, 3.0, (3, 1))}),
}
for name, (fn, inputs) in ELEMENTWISE.items():
    for key, a in inputs.items():
        out[f"{name}_{key}"] = a
    for reduction in REDUCTIONS:
        run(f"{name}_{reduction}", lambda r=reduction, **kw: fn(**kw, r=r), inputs, reduction,
            {"x": "dx", "y": "dy"})

# --- softmax / log_softmax without dim: PyTorch's implicit choice ------------------------------------------
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Implicit dimension choice ... has been deprecated"
    for ndim, shape in enumerate([(), (4,), (3, 4), (2, 3, 4), (2, 3, 2, 2)]):
        xs = rng.normal(0.0, 2.0, shape)
        for op in ("softmax", "log_softmax"):
            leaf = t(xs, True)
            ys = getattr(F, op)(leaf)
            g = rng.normal(size=shape)
            ys.backward(t(g))
            out.update({f"{op}_{ndim}d_x": xs, f"{op}_{ndim}d_g": g, f"{op}_{ndim}d_y": arr(ys),
                        f"{op}_{ndim}d_dx": arr(leaf.grad)})

# --- the modules, built with positional arguments (PyTorch's order, deprecated slots included) ----------
z2, w2, t2 = out["ce_2d_z"], out["ce_2d_w"], out["ce_2d_t_inrange"]
MODULES = {
    "CrossEntropyLoss": (lambda: nn.CrossEntropyLoss(t(w2), None, 1, None, "sum", 0.2), t2),
    "NLLLoss": (lambda: nn.NLLLoss(t(w2), None, 1, None, "sum"), t2),
}
for name, (build, target) in MODULES.items():
    leaf = t(z2, True)
    loss = build()(leaf if name == "CrossEntropyLoss" else torch.log_softmax(leaf, 1),
                   torch.tensor(target, dtype=torch.int64))
    loss.backward()
    out[f"module_{name}_loss"], out[f"module_{name}_dz"] = arr(loss), arr(leaf.grad)
leaf = t(logits, True)
loss = nn.BCEWithLogitsLoss(t(ELEMENTWISE["bcel_w4_pw31"][1]["weight"]), None, None, "sum",
                            t(ELEMENTWISE["bcel_w4_pw31"][1]["pos_weight"]))(leaf, t(q))
loss.backward()
out["module_BCEWithLogitsLoss_loss"], out["module_BCEWithLogitsLoss_dz"] = arr(loss), arr(leaf.grad)
leaf = t(x, True)
loss = nn.SmoothL1Loss(None, None, "sum", 0.5)(leaf, t(y))
loss.backward()
out["module_SmoothL1Loss_loss"], out["module_SmoothL1Loss_dz"] = arr(loss), arr(leaf.grad)

save("loss", out)
