"""A training run's checkpoint: what the training loop stores in its metadata, and how it is read back.

The file format (arrays, the meta member, atomic writes, the checks of every array) is
tinynet/checkpoint.py's. This module owns the run's fields of the metadata:

    epoch        int >= 1, the last complete epoch       classes      [str], the class folders, in order
    variant      an AlexNet variant name                  num_classes  len(classes)
    image_size   int, at least the variant's minimum      scheduler    the schedule's state_dict()
    lr           the learning rate of the next epoch      flags        the run's TrainConfig, as a dict
    history      [per-epoch metrics], epochs 1..epoch (each with HISTORY_FIELDS, and "grad_abs_mean":
                 {layer: mean |gradient|} where the run recorded it)

``read_run_meta`` refuses a checkpoint whose fields are missing or of the wrong kind, naming the
file and the field, before any array is read; ``load_model`` then builds the model the metadata
describes and reads only the arrays that model has, each checked against its shape first.
"""
import math
import os
from dataclasses import asdict

from tinynet import __version__
from tinynet.checkpoint import CheckpointError, load_checkpoint, read_meta, require
from tinynet.models import VARIANTS, alexnet, min_input_size, parameter_count
from tinynet import train_flags
from tinynet.functional import conv_choice
from tinynet.train_flags import DEFAULTS, SCHEDULERS, ConfigError, TrainConfig


def build_model(variant, num_classes, image_size, init=None, dropout=None, lrn_groups=1):
    return alexnet(variant, num_classes=num_classes, init=init, dropout=dropout, input_size=image_size,
                   lrn_groups=lrn_groups)


def run_meta(cfg, optimizer, scheduler, classes, size, history, scaler=None, lrn_groups=1):
    """The metadata of a checkpoint written after epoch history[-1]["epoch"] (with --amp fp16, the loss
    scaler's state as "grad_scaler"; with LRN per column, as --model-parallel 2 trains it, "lrn_groups": 2)."""
    extra = {} if scaler is None or not scaler.is_enabled() else {"grad_scaler": scaler.state_dict()}
    extra["conv_algorithms"] = conv_choice.used()  # what computed each shape: --resume computes the same
    if lrn_groups != 1:
        extra["lrn_groups"] = lrn_groups
    return extra | {
        "epoch": history[-1]["epoch"], "lr": optimizer.lr, "scheduler": scheduler.state_dict(),
        "classes": classes, "model": cfg.model, "variant": cfg.variant, "num_classes": len(classes),
        "image_size": size, "seed": cfg.seed,
        "rng": f"reseeded at every epoch from (seed, epoch) = ({cfg.seed}, epoch)",
        "flags": asdict(cfg), "history": history, "tinynet": __version__,
    }


def read_run_meta(path):
    """The metadata of the run checkpoint at ``path``, every run field checked (CheckpointError naming
    the file and the field); no array is read."""
    meta = read_meta(path)
    epoch = require(meta, "epoch", int, path, check=lambda v: v >= 1, what="an int >= 1")
    variant = require(meta, "variant", str, path, check=lambda v: v in VARIANTS, what=f"one of {', '.join(VARIANTS)}")
    classes = require(meta, "classes", list, path, what="a non-empty list of distinct class names",
                      check=lambda v: v and all(isinstance(c, str) for c in v) and len(set(v)) == len(v))
    require(meta, "num_classes", int, path, check=lambda v: v == len(classes),
            what=f"the number of classes listed ({len(classes)})")
    low = min_input_size(variant)
    size = require(meta, "image_size", int, path, check=lambda v: v >= low, what=f"an int >= {low}")
    count = parameter_count(variant, len(classes), size)
    if 2 * count > os.path.getsize(path):  # before any model is built: a forged size could need terabytes
        raise CheckpointError(f"checkpoint {path}: fields 'image_size' ({size}) and 'classes' ({len(classes)}) "
                              f"describe a model of {count:,} parameters, more than the file's "
                              f"{os.path.getsize(path):,} bytes can hold")
    meta["lrn_groups"] = require(meta, "lrn_groups", int, path, default=1,  # absent: LRN over all the channels (every older checkpoint)
                                 check=lambda v: v == 1 or (v == 2 and variant == "paper"),
                                 what="1, or 2 for the paper variant (LRN over each column's channels)")
    require(meta, "lr", float, path, check=lambda v: v >= 0, what="a finite number >= 0")
    require(meta, "scheduler", dict, path, check=lambda v: v.get("kind") in SCHEDULERS,
            what=f"the state of a {'/'.join(SCHEDULERS)} schedule")
    for key, kind, rule, what in _SCHEDULE_FIELDS[meta["scheduler"]["kind"]]:
        require(meta, f"scheduler.{key}", kind, path, check=rule, what=what)
    for key, kind, rule, what, default in _WARMUP_FIELDS:  # absent: no warm-up (and every older checkpoint)
        require(meta, f"scheduler.{key}", kind, path, check=rule, what=what, default=default)
    table = require(meta, "conv_algorithms", dict, path, default={})  # absent: chosen afresh (older checkpoints)
    try:
        conv_choice.check_table(table)
    except ValueError as e:
        raise CheckpointError(f"checkpoint {path}: field {e}") from None
    meta["conv_algorithms"] = table
    meta["flags"] = flags = require(meta, "flags", dict, path, default={})
    try:  # the run flags a resume takes from the checkpoint: each within the range the command line allows
        train_flags.check(TrainConfig(**{k: flags[k] for k in DEFAULTS if k in flags}))
    except ConfigError as e:
        raise CheckpointError(f"checkpoint {path}: field 'flags': {e}") from None
    meta["history"] = require(meta, "history", list, path, default=[], what=f"one entry per epoch 1..{epoch}",
                              check=lambda v: not v or (len(v) == epoch and all(
                                  isinstance(h, dict) and h.get("epoch") == k + 1 for k, h in enumerate(v))))
    for k in range(len(meta["history"])):
        for key in HISTORY_FIELDS:
            require(meta["history"][k], key, float, f"{path}, epoch {k + 1} of field 'history'",
                    check=lambda v: v >= 0, what="a finite number >= 0")
        require(meta["history"][k], "grad_abs_mean", dict, f"{path}, epoch {k + 1} of field 'history'",
                default={}, check=_layer_sizes,  # absent: a run older than the record (curves.png draws none)
                what="an object {layer name: mean |gradient|, a finite number >= 0}")
    return meta


# The metrics of each epoch that the epoch line, metrics.jsonl and curves.png read.
HISTORY_FIELDS = ("train_loss", "val_loss", "top1", "top5", "lr")


def _layer_sizes(value):
    """Whether ``value`` is a history entry's "grad_abs_mean": {str: finite number >= 0}."""
    return all(isinstance(name, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
               and math.isfinite(v) and v >= 0 for name, v in value.items())

_AT_LEAST_1 = (lambda v: v >= 1, "an int >= 1")
_AT_LEAST_0 = (lambda v: v >= 0, "a number >= 0")
# Each schedule's state: (field, kind, check, what the message says it must be).
_SCHEDULE_FIELDS = {
    "step": [("step_size", int, *_AT_LEAST_1), ("gamma", float, lambda v: v > 0, "a finite number > 0"),
             ("base_lr", float, *_AT_LEAST_0), ("last_epoch", int, *_AT_LEAST_0)],
    "multistep": [("milestones", list, lambda v: bool(v) and all(isinstance(m, int) and not isinstance(m, bool)
                                                                 and m >= 1 for m in v)
                   and all(b > a for a, b in zip(v, v[1:])), "a list of increasing ints >= 1"),
                  ("gamma", float, lambda v: v > 0, "a finite number > 0"), ("base_lr", float, *_AT_LEAST_0),
                  ("last_epoch", int, *_AT_LEAST_0)],
    "exponential": [("gamma", float, lambda v: v > 0, "a finite number > 0"), ("base_lr", float, *_AT_LEAST_0),
                    ("last_epoch", int, *_AT_LEAST_0)],
    "cosine": [("T_max", int, *_AT_LEAST_1), ("eta_min", float, *_AT_LEAST_0), ("base_lr", float, *_AT_LEAST_0),
               ("last_epoch", int, *_AT_LEAST_0)],
    "plateau": [("mode", str, lambda v: v in ("min", "max"), "'min' or 'max'"),
                ("factor", float, lambda v: 0 < v < 1, "a number in (0, 1)"), ("patience", int, *_AT_LEAST_0),
                ("threshold", float, *_AT_LEAST_0), ("min_lr", float, *_AT_LEAST_0),
                ("best", float, None, "a finite number"), ("bad_epochs", int, *_AT_LEAST_0)],
}

# The warm-up of a closed-form schedule (tinynet/train_schedule.py): (field, kind, check, what, default).
_WARMUP_FIELDS = [("warmup_epochs", int, lambda v: v >= 0, "an int >= 0", 0),
                  ("warmup_method", str, lambda v: v in ("constant", "linear"), "'constant' or 'linear'", "constant"),
                  ("warmup_decay", float, lambda v: 0 < v <= 1, "a number in (0, 1]", 0.01)]


def check_compatible(meta, variant, classes, path):
    """Refuse a checkpoint (its ``meta``) of another variant or class list, naming both."""
    if meta.get("variant") != variant:
        raise CheckpointError(f"checkpoint {path} holds AlexNet variant {meta.get('variant')!r}, not {variant!r}")
    if list(meta.get("classes", [])) != list(classes):
        raise CheckpointError(
            f"checkpoint {path} was trained on {meta.get('num_classes')} classes ({', '.join(meta['classes'][:5])}"
            f"{', ...' if len(meta['classes']) > 5 else ''}), but the data has {len(classes)} "
            f"({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''})"
        )


def state_shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def load_model(path, device="cpu"):
    """The model stored in a run checkpoint, ready for evaluation; returns (model, meta)."""
    meta = read_run_meta(path)
    model = build_model(meta["variant"], meta["num_classes"], meta["image_size"], lrn_groups=meta["lrn_groups"])
    ckpt = load_checkpoint(path, model_shapes=state_shapes(model), with_optimizer=False)
    model.load_state_dict(ckpt.model_state)
    return model.to(device).eval(), meta
