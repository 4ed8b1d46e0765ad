"""The optimizer of ``tinynet train``: --opt, its param groups, and putting a checkpoint's state back.

    --opt sgd            SGD(lr, momentum, weight_decay)
    --opt sgd_nesterov   SGD(lr, momentum, weight_decay, nesterov=True)
    --opt rmsprop        RMSprop(lr, momentum, weight_decay, eps=0.0316, alpha=0.9)   torchvision's values
    --opt adamw          AdamW(lr, weight_decay)                 (no momentum: betas stay (0.9, 0.999))
    --opt adam           Adam(lr, weight_decay)

As torchvision's reference script does with --norm-weight-decay, the parameters of normalisation
layers (BatchNorm, LayerNorm, GroupNorm, LocalResponseNorm, InstanceNorm) get their own param group,
whose weight decay is --norm-weight-decay (None: --wd). Unlike torchvision, the group exists whether or
not the flag is given (with --wd then), so that the flag can change on --resume; a model without such
parameters (every AlexNet variant today: LRN has none) has one group.
"""
from tinynet import nn
from tinynet.checkpoint import CheckpointError, optimizer_state_dict, optimizer_type
from tinynet.optim import SGD, Adam, AdamW, RMSprop

NORM_LAYERS = tuple(getattr(nn, name) for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm",
                                                    "GroupNorm", "LocalResponseNorm", "InstanceNorm1d",
                                                    "InstanceNorm2d", "InstanceNorm3d") if hasattr(nn, name))
CLASSES = {"sgd": SGD, "sgd_nesterov": SGD, "rmsprop": RMSprop, "adamw": AdamW, "adam": Adam}


def param_groups(model, weight_decay, norm_weight_decay):
    """[{"params": others, "weight_decay": wd}, {"params": normalisation layers', "weight_decay": norm wd}],
    leaving out an empty group; parameters in the model's order within each."""
    norm, other, seen = [], [], set()
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                (norm if isinstance(module, NORM_LAYERS) else other).append(p)
    nwd = weight_decay if norm_weight_decay is None else norm_weight_decay
    return [g for g in ({"params": other, "weight_decay": weight_decay}, {"params": norm, "weight_decay": nwd})
            if g["params"]]


def make_optimizer(cfg, model):
    """The optimizer of the resolved ``cfg`` over ``model``'s parameters."""
    groups = param_groups(model, cfg.weight_decay, cfg.norm_weight_decay)
    if cfg.opt.startswith("sgd"):
        return SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.opt == "sgd_nesterov")
    if cfg.opt == "rmsprop":
        return RMSprop(groups, lr=cfg.lr, momentum=cfg.momentum, eps=0.0316, alpha=0.9)
    return CLASSES[cfg.opt](groups, lr=cfg.lr)


def has_norm_parameters(model):
    return any(isinstance(m, NORM_LAYERS) and list(m.parameters(recurse=False)) for m in model.modules())


def resume_optimizer(cfg, optimizer, optimizer_state, path):
    """Load a checkpoint's ``optimizer_state`` (load_checkpoint's) into ``optimizer``, then the flags in
    force (momentum, weight decays: they apply on --resume); CheckpointError if it is another optimizer's."""
    if optimizer_state is None:
        return
    theirs, mine = optimizer_type(optimizer_state), type(optimizer).__name__
    if theirs != mine:
        raise CheckpointError(f"checkpoint {path} holds the state of a {theirs} optimizer; this run's is {mine} "
                              f"(--opt {cfg.opt}): leave --opt out to continue with the checkpoint's")
    try:
        optimizer.load_state_dict(optimizer_state_dict(optimizer_state))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path}: field 'optimizer': {e}") from None
    fresh = param_groups_decays(optimizer, cfg)
    for group, wd in zip(optimizer.param_groups, fresh):
        group["weight_decay"] = wd
        if "momentum" in group and cfg.opt in ("sgd", "sgd_nesterov", "rmsprop"):
            group["momentum"] = cfg.momentum


def param_groups_decays(optimizer, cfg):
    """The weight decay of each of ``optimizer``'s groups under ``cfg`` (the second group: the norm layers')."""
    nwd = cfg.weight_decay if cfg.norm_weight_decay is None else cfg.norm_weight_decay
    return [cfg.weight_decay] + [nwd] * (len(optimizer.param_groups) - 1)
