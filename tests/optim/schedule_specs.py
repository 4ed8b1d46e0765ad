"""How one case of tests/fixtures/torch_lr_scheduler.npz is built from its JSON spec and stepped, written
once for both engines: tools/torch_reference/lr_scheduler.py runs it with torch's optim modules,
tests/optim/test_lr_scheduler.py with tinynet's. Neither engine is imported here: each caller passes its
own ``optim`` and ``lr_scheduler`` modules and a maker of one parameter. The spec's keys are described in
the fixture script's docstring."""
import warnings

import numpy as np


def _fn(expr):
    return eval(f"lambda e: {expr}")  # noqa: S307 -- the fixture's own constant expressions


def schedule(spec, opt, lr_scheduler):
    """The schedule of ``spec`` ({"name", "kwargs"}, or SequentialLR / ChainedScheduler with
    "schedulers") over ``opt``, from the classes of ``lr_scheduler``."""
    kwargs = dict(spec.get("kwargs", {}))
    if "lr_lambda" in kwargs:
        v = kwargs["lr_lambda"]
        kwargs["lr_lambda"] = [_fn(x["lambda"]) for x in v] if isinstance(v, list) else _fn(v["lambda"])
    cls = getattr(lr_scheduler, spec["name"])
    if spec["name"] == "SequentialLR":
        return cls(opt, [schedule(s, opt, lr_scheduler) for s in spec["schedulers"]], spec["milestones"])
    if spec["name"] == "ChainedScheduler":
        return cls([schedule(s, opt, lr_scheduler) for s in spec["schedulers"]])
    return cls(opt, **kwargs)


def build(spec, optim, lr_scheduler, parameter):
    """(optimizer, schedule) of a case: one ``parameter()`` per param group with its lr from "lrs", the
    optimizer of ``optim`` named by "optimizer", "initial_lr" and "last_epoch" for a continued schedule."""
    groups = [{"params": [parameter()], "lr": lr} for lr in spec["lrs"]]
    if spec["optimizer"] == "SGD":
        opt = optim.SGD(groups, lr=spec["lrs"][0], momentum=spec.get("momentum", 0.0))
    else:
        opt = getattr(optim, spec["optimizer"])(groups, lr=spec["lrs"][0])
    for group, lr in zip(opt.param_groups, spec.get("initial_lr", [])):
        group["initial_lr"] = lr
    sched_spec = dict(spec["schedule"])
    if "last_epoch" in spec:
        sched_spec["kwargs"] = dict(sched_spec.get("kwargs", {}), last_epoch=spec["last_epoch"])
    return opt, schedule(sched_spec, opt, lr_scheduler)


def step(spec, opt, sched, s):
    """Step ``s`` of a case: the lr set by hand first where "set_lr" says, the optimizer's step (no
    gradients: it changes nothing, but keeps PyTorch's order), then the schedule's, given the metric of
    "metrics" or the epoch of "epochs" where the spec has them."""
    if str(s) in spec.get("set_lr", {}):
        for g in opt.param_groups:
            g["lr"] = spec["set_lr"][str(s)]
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # step(epoch) is deprecated: both engines warn
        if "metrics" in spec:
            sched.step(spec["metrics"][s])
        elif "epochs" in spec:
            sched.step(spec["epochs"][s])
        else:
            sched.step()


def _moment(group):
    return group["betas"][0] if "betas" in group else group.get("momentum", 0.0)


def trace(spec, opt, sched):
    """Run every step of a case: (lr, last_lr, momentum), each a (steps + 1, groups) array of each group's
    lr, get_last_lr() and momentum (SGD) or betas[0] (Adam) after the constructor, then after each step."""
    rows = []

    def record():
        rows.append(([float(g["lr"]) for g in opt.param_groups], [float(v) for v in sched.get_last_lr()],
                     [float(_moment(g)) for g in opt.param_groups]))

    record()
    for s in range(spec["steps"]):
        step(spec, opt, sched, s)
        record()
    return tuple(np.array([r[k] for r in rows]) for k in range(3))
