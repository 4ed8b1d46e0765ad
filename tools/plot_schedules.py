"""Draw every learning-rate schedule of tinynet.optim.lr_scheduler, one PNG each, for docs/schedules.md:

    python tools/plot_schedules.py                 # writes docs/images/schedules/<name>.png (600 x 300 px)
    python tools/plot_schedules.py --out DIR       # somewhere else

Each plot is the lr of each epoch (or step) of the schedule that docs/schedules.md describes under the
same name, with the optimizer's lr 0.1; OneCycleLR's also shows the momentum it moves. matplotlib only
here (Agg backend): tinynet itself never imports it for this.
"""
import argparse
import pathlib
import sys
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tinynet.nn import Parameter  # noqa: E402
from tinynet.optim import SGD  # noqa: E402
from tinynet.optim import lr_scheduler as S  # noqa: E402
from tinynet.train_schedule import CosinePlan  # noqa: E402

OUT = ROOT / "docs" / "images" / "schedules"


def _opt(lr=0.1, momentum=0.9):
    return SGD([Parameter(np.zeros(1))], lr=lr, momentum=momentum)


def _run(make, steps, epochs=None, metrics=None, set_lr=None):
    """(x, lrs, momenta) of ``make(opt)`` stepped ``steps`` times."""
    opt = _opt()
    sched = make(opt)
    xs, lrs, moms = [0.0], [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for s in range(steps):
        if set_lr and s in set_lr:
            opt.param_groups[0]["lr"] = set_lr[s]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if metrics is not None:
                sched.step(metrics[s])
            elif epochs is not None:
                sched.step(epochs[s])
            else:
                sched.step()
        xs.append(epochs[s] if epochs is not None else s + 1)
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
    return xs, lrs, moms


def _cli_cosine(steps=40, epochs=20):
    opt = _opt()
    plan = CosinePlan(opt, T_max=epochs, eta_min=0.0)
    return list(range(steps + 1)), [plan.lr_at(e) for e in range(steps + 1)], None


# name -> (title, function returning (x, lr, momentum or None), x label)
SCHEDULES = {
    "StepLR": ("StepLR(step_size=10, gamma=0.1)", lambda: _run(lambda o: S.StepLR(o, 10, 0.1), 40), "epoch"),
    "StepLR_manual": ("StepLR(step_size=5, gamma=0.5), lr set to 0.2 after epoch 12",
                      lambda: _run(lambda o: S.StepLR(o, 5, 0.5), 30, set_lr={12: 0.2}), "epoch"),
    "MultiStepLR": ("MultiStepLR(milestones=[5, 12, 20], gamma=0.3)",
                    lambda: _run(lambda o: S.MultiStepLR(o, [5, 12, 20], 0.3), 30), "epoch"),
    "ConstantLR": ("ConstantLR(factor=0.25, total_iters=4)", lambda: _run(lambda o: S.ConstantLR(o, 0.25, 4), 12),
                   "epoch"),
    "LinearLR": ("LinearLR(start_factor=0.1, total_iters=8)", lambda: _run(lambda o: S.LinearLR(o, 0.1, 1.0, 8), 15),
                 "epoch"),
    "ExponentialLR": ("ExponentialLR(gamma=0.9)", lambda: _run(lambda o: S.ExponentialLR(o, 0.9), 30), "epoch"),
    "PolynomialLR": ("PolynomialLR(total_iters=10, power=2)", lambda: _run(lambda o: S.PolynomialLR(o, 10, 2.0), 15),
                     "epoch"),
    "CosineAnnealingLR": ("CosineAnnealingLR(T_max=10, eta_min=0.001): past T_max it climbs back",
                          lambda: _run(lambda o: S.CosineAnnealingLR(o, 10, 0.001), 45), "epoch"),
    "CosineAnnealingLR_manual": ("CosineAnnealingLR(T_max=20), lr set to 0.05 after epoch 8",
                                 lambda: _run(lambda o: S.CosineAnnealingLR(o, 20), 40, set_lr={8: 0.05}), "epoch"),
    "tinynet_train_cosine": ("tinynet train --lr-scheduler cosine --epochs 20 (closed form, held at 0)",
                             _cli_cosine, "epoch"),
    "CosineAnnealingWarmRestarts": ("CosineAnnealingWarmRestarts(T_0=3, T_mult=2), step(epoch + k/4)",
                                    lambda: _run(lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2), 180,
                                                 epochs=[k / 4 for k in range(1, 181)]), "epoch"),
    "LambdaLR": ("LambdaLR(lr_lambda=lambda e: 0.95 ** e)", lambda: _run(lambda o: S.LambdaLR(o, lambda e: 0.95 ** e),
                                                                          30), "epoch"),
    "MultiplicativeLR": ("MultiplicativeLR(lr_lambda=lambda e: 0.8 if e % 3 == 0 else 1)",
                         lambda: _run(lambda o: S.MultiplicativeLR(o, lambda e: 0.8 if e % 3 == 0 else 1.0), 20),
                         "epoch"),
    "OneCycleLR": ("OneCycleLR(max_lr=0.1, total_steps=50)", lambda: _run(
        lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=50), 49), "step"),
    "OneCycleLR_three_phase": ("OneCycleLR(max_lr=0.1, total_steps=60, three_phase=True, 'linear')", lambda: _run(
        lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=60, three_phase=True, anneal_strategy="linear"), 59),
        "step"),
    "SequentialLR": ("SequentialLR([LinearLR(0.1, total_iters=5), CosineAnnealingLR(T_max=25)], [5])", lambda: _run(
        lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 5), S.CosineAnnealingLR(o, 25)], [5]), 40), "epoch"),
    "ChainedScheduler": ("ChainedScheduler([ConstantLR(0.1, 2), ExponentialLR(0.9)])", lambda: _run(
        lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.1, 2), S.ExponentialLR(o, 0.9)]), 20), "epoch"),
    "ReduceLROnPlateau": ("ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2) on a loss that stalls", lambda: _run(
        lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=2), 40,
        metrics=[max(1.0 / (1 + 0.3 * e), 0.3) for e in range(40)]), "epoch"),
}


def plot(name, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    title, make, xlabel = SCHEDULES[name]
    xs, lrs, moms = make()
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    ax.plot(xs, lrs, ".-" if len(xs) <= 60 else "-", color="tab:blue", markersize=4)
    ax.set_xlabel(xlabel), ax.set_ylabel("lr", color="tab:blue"), ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=8)
    if name.startswith("OneCycleLR") and moms is not None:
        twin = ax.twinx()
        twin.plot(xs, moms, "-", color="tab:orange")
        twin.set_ylabel("momentum", color="tab:orange")
    fig.tight_layout()
    path = pathlib.Path(out) / f"{name}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT), help=f"folder for the PNGs (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [plot(name, out) for name in SCHEDULES]
    print(f"wrote {len(paths)} plots to {out}")
    return paths


if __name__ == "__main__":
    main()
