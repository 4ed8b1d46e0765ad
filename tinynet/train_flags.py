"""The flags of ``tinynet train``: their defaults, their checks, and what each does on ``--resume``.

``TrainConfig`` holds one run's flags. A field left at None was not given: a new run takes its
default from ``DEFAULTS``; a resumed run takes the checkpoint's value. ``resolve(cfg, saved)`` does
that, after ``check(cfg)`` has refused every value out of range (one ConfigError naming the flag).

On ``--resume`` a flag given with a value other than the checkpoint's follows ``ON_RESUME``:

    "applies"   the new value is used from the next epoch on, and a note says so;
    "refused"   ConfigError naming both values (the model or the schedule could not be the same run).

Flags that only say how to run (device, workers, the loader's timeout, the progress bar, TF32, where
to write, how many processes and how they talk) are not part of the run and always take the value given now.
"""
import numbers
from dataclasses import asdict, dataclass, replace

from tinynet.data.loader import DEFAULT_TIMEOUT_S
from tinynet.models import VARIANTS, min_input_size
from tinynet.models.alexnet import INITS
from tinynet.validate import check_number

# The schedules (their short names, as checkpoints store them) and torchvision's names for them:
# --lr-scheduler takes either, and a run stores the short one, so "cosine" and "cosineannealinglr"
# are the same run on --resume.
SCHEDULERS = ("cosine", "step", "plateau", "multistep", "exponential")
SCHEDULER_ALIASES = {"cosineannealinglr": "cosine", "steplr": "step", "multisteplr": "multistep",
                     "exponentiallr": "exponential"}
# torchvision's --opt names: sgd_nesterov is SGD with Nesterov momentum.
OPTIMIZERS = ("sgd", "sgd_nesterov", "rmsprop", "adamw", "adam")
WARMUP_METHODS = ("constant", "linear")
DEVICES = ("cpu", "cuda")
DIST_BACKENDS = ("mpi", "nccl")
AMP_MODES = ("fp16", "bf16")
CONV_ALGORITHMS = ("auto", "im2col", "winograd")  # tinynet/functional/conv_choice.py
DEFAULT_DIST_TIMEOUT_S = 300.0  # how long the launcher lets a rank go without progress, unless told
DEFAULT_OUTPUT_DIR = "runs/alexnet"


class ConfigError(ValueError):
    """A flag's value is out of range, conflicts with another flag, or with the checkpoint resumed."""


@dataclass
class TrainConfig:
    """The flags of ``tinynet train`` (torchvision's reference-script names where they apply).

    None means "not given": DEFAULTS for a new run, the checkpoint's value on resume.
    """

    data_path: str = None  # root with train/ and val/; None: the generated synthetic set
    model: str = "alexnet"
    variant: str = None
    device: str = "cpu"
    batch_size: int = None
    epochs: int = None
    workers: int = 2
    lr: float = None
    momentum: float = None
    weight_decay: float = None
    opt: str = None  # "sgd", "sgd_nesterov", "rmsprop", "adamw" (torchvision's) or "adam"
    norm_weight_decay: float = None  # weight decay of the normalisation layers' parameters; None: --wd
    label_smoothing: float = None
    lr_scheduler: str = None  # SCHEDULERS or a torchvision name (SCHEDULER_ALIASES); "plateau" is the paper's rule
    lr_step_size: int = None
    lr_gamma: float = None
    lr_milestones: list = None  # multistep: the epochs (after the warm-up) where the lr is multiplied by gamma
    lr_warmup_epochs: int = None
    lr_warmup_method: str = None
    lr_warmup_decay: float = None
    output_dir: str = None  # None: runs/alexnet, or runs/alexnet-<n> if that holds a run; on resume the checkpoint's
    overwrite: bool = False  # replace the run that --output-dir holds
    resume: str = None
    seed: int = None
    test_only: bool = False
    init: str = None  # "pytorch", "paper" or "kaiming"; default: the variant's
    dropout: float = None  # default: the variant's
    image_size: int = None  # default: the variant's input size
    loader_timeout: float = DEFAULT_TIMEOUT_S  # seconds a loader worker may take for one batch (0: no limit)
    progress: bool = True
    tf32: bool = False  # float32 matrix products on TF32 tensor cores (device "cuda" only)
    amp: str = None  # "fp16" (with loss scaling) or "bf16": mixed precision (tinynet/amp.py); None: float32
    nproc_per_node: int = None  # start this many processes of the run (tinynet/distributed/launch.py)
    dist_backend: str = None  # "nccl" or "mpi"; None: nccl on --device cuda, else mpi
    dist_timeout: float = None  # seconds a rank may go without progress before the launcher stops the job; None: 300
    model_parallel: int = None  # 2: the paper variant's two columns on two processes (tinynet/distributed/columns.py)
    conv_algorithm: str = None  # "auto" (None), "im2col" or "winograd": what each convolution that can uses


# A new run's value of each field that is None when not given (None here: the variant's own).
DEFAULTS = dict(data_path=None, variant="mini", batch_size=32, epochs=15, lr=0.01, momentum=0.9,
                weight_decay=5e-4, opt="sgd", norm_weight_decay=None, label_smoothing=0.0, lr_scheduler="cosine",
                lr_step_size=30, lr_gamma=0.1, lr_milestones=None, lr_warmup_epochs=0, lr_warmup_method="constant",
                lr_warmup_decay=0.01, seed=0, init=None, dropout=None, image_size=None)

# What a flag given on --resume with a value other than the checkpoint's does.
ON_RESUME = {
    "data_path": ("applies", "the images are read from the new folder; its classes must be the checkpoint's"),
    "variant": ("refused", "the weights are of the checkpoint's variant"),
    "image_size": ("refused", "the first dense layer is sized for the checkpoint's image size"),
    "init": ("refused", "the weights come from the checkpoint, not from an initialisation"),
    "dropout": ("applies", "the new dropout probability is used from the next epoch"),
    "batch_size": ("applies", "the next epochs use the new batch size"),
    "epochs": ("applies", "the run goes on to the new last epoch; a cosine schedule is re-planned to end there "
                          "(T_max = --epochs - --lr-warmup-epochs, from the lr of the epoch resumed on the new plan)"),
    "lr": ("applies", "the schedule's base learning rate becomes the new --lr (plateau: the current lr does)"),
    "momentum": ("applies", "the momentum buffers are kept; the new momentum multiplies them"),
    "weight_decay": ("applies", "the new weight decay is used from the next step"),
    "opt": ("refused", "the optimizer's state (momentum buffers, Adam's or RMSprop's averages) is of the "
                       "checkpoint's optimizer"),
    "norm_weight_decay": ("applies", "the normalisation layers' parameters take the new weight decay from the "
                                     "next step"),
    "label_smoothing": ("applies", "the training loss of the next epochs smooths the targets by the new value"),
    "lr_scheduler": ("refused", "a schedule's state does not carry over to another kind of schedule (a "
                                "torchvision name is its short one: steplr = step, cosineannealinglr = cosine)"),
    "lr_step_size": ("applies", "the step schedule's lr is recomputed with it (--lr x gamma ** (epoch // step "
                                "size)); a note gives the next epoch's lr"),
    "lr_gamma": ("applies", "step, multistep, exponential: the lr is recomputed with it, as for --lr-step-size; "
                            "plateau: the next reductions use it"),
    "lr_milestones": ("applies", "the multistep lr is recomputed with them"),
    "lr_warmup_epochs": ("applies", "the lr is recomputed from the epoch with the new warm-up (cosine: "
                                    "re-planned over --epochs - --lr-warmup-epochs)"),
    "lr_warmup_method": ("applies", "the lr is recomputed with it, as for --lr-warmup-epochs"),
    "lr_warmup_decay": ("applies", "the lr is recomputed with it, as for --lr-warmup-epochs"),
    "seed": ("applies", "the order and random draws of the remaining epochs follow the new seed"),
}

# Spelling of each field as a flag, where it is not "--" + the name with dashes.
FLAGS = {"weight_decay": "--wd", "batch_size": "-b/--batch-size", "workers": "-j/--workers"}  # others: --name-with-dashes


def flag(name):
    """The command-line spelling of TrainConfig field ``name``, e.g. "--lr-step-size"."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def resume_help():
    """The ON_RESUME table as text, for ``tinynet train --help``."""
    lines = ["On --resume, a flag not given takes the checkpoint's value; a flag given with another value:"]
    for name, (what, why) in ON_RESUME.items():
        lines.append(f"  {flag(name):<20} {what}: {why}")
    lines.append("Not part of the run, always as given now: --device, -j, --loader-timeout, --no-progress, --tf32, "
                 "--amp, --nproc-per-node, --dist-backend, --dist-timeout, --model-parallel, --conv-algorithm, --output-dir "
                 "(default on resume: the checkpoint's folder; the convolution algorithms \"auto\" chose are kept). A run resumes with any number of processes; a --model-parallel run's LRN "
                 "form (per column) stays with it, also resumed in one process.")
    lines.append("Resuming a finished run, or with --epochs not above the checkpoint's epoch, is refused. A resumed "
                 "run with a larger --epochs goes on from the checkpoint's epoch with the lr the flags in force "
                 "give that epoch (a cosine re-planned to end at the new --epochs).")
    return "\n".join(lines)


def _number(name, value, **rule):
    try:
        return check_number(flag(name), value, **rule)
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from None


def _choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{flag(name)} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _path(name, value):
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{flag(name)} must name a path, got {value!r}"
                          + (" (to train on the generated set, leave --data-path out)" if name == "data_path" else ""))


def check(cfg):
    """Refuse every value of ``cfg`` that is out of range or conflicts with another, before any work.

    Returns the config with NumPy numbers made Python ones (int, float), as the checkpoint's JSON
    metadata stores them."""
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"train: expected a TrainConfig, got {type(cfg).__name__}")
    for name in ("overwrite", "test_only", "progress", "tf32"):
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"TrainConfig.{name} must be True or False, got {getattr(cfg, name)!r}")
    given = {k: v for k, v in asdict(cfg).items() if v is not None}
    ints = dict(batch_size=1, epochs=1, workers=0, lr_step_size=1, seed=0, image_size=1, lr_warmup_epochs=0,
                nproc_per_node=1)
    for name, low in ints.items():
        if name in given:
            _number(name, given[name], integer=True, low=low)
    for name in ("lr", "momentum", "weight_decay", "norm_weight_decay"):
        if name in given:
            _number(name, given[name], low=0)
    if "label_smoothing" in given:
        _number("label_smoothing", given["label_smoothing"], low=0, high=1, high_open=True)
    if "lr_warmup_decay" in given:
        _number("lr_warmup_decay", given["lr_warmup_decay"], low=0, high=1, low_open=True)
    if "lr_scheduler" in given and given["lr_scheduler"] in SCHEDULER_ALIASES:
        given["lr_scheduler"] = SCHEDULER_ALIASES[given["lr_scheduler"]]
        cfg = replace(cfg, lr_scheduler=given["lr_scheduler"])
    if "lr_scheduler" in given and given["lr_scheduler"] not in SCHEDULERS:
        raise ConfigError(f"--lr-scheduler must be one of 'cosine', 'step', 'plateau', got {given['lr_scheduler']!r} "
                          "(also: 'multistep', 'exponential', and torchvision's names 'steplr', 'multisteplr', "
                          "'cosineannealinglr', 'exponentiallr')")
    if "lr_milestones" in given:
        given["lr_milestones"] = _milestones(given["lr_milestones"])
        cfg = replace(cfg, lr_milestones=given["lr_milestones"])
    if "lr_gamma" in given:
        _number("lr_gamma", given["lr_gamma"], low=0, low_open=True)
    if "dropout" in given:
        _number("dropout", given["dropout"], low=0, high=1, high_open=True)
    _number("loader_timeout", cfg.loader_timeout, low=0)
    if cfg.amp is not None:
        _choice("amp", cfg.amp, AMP_MODES)
    if cfg.conv_algorithm is not None:
        _choice("conv_algorithm", cfg.conv_algorithm, CONV_ALGORITHMS)
    if cfg.dist_timeout is not None:
        _number("dist_timeout", cfg.dist_timeout, low=0)
    if cfg.model_parallel is not None:
        _number("model_parallel", cfg.model_parallel, integer=True)
        if cfg.model_parallel != 2:
            raise ConfigError(f"--model-parallel must be 2, got {cfg.model_parallel}: the paper variant splits into "
                              "two columns (its grouped convolutions have 2 groups)")
        if cfg.variant not in (None, "paper") or (cfg.variant is None and cfg.resume is None):
            raise ConfigError(f"--model-parallel 2 splits the paper variant's two columns: give --variant paper (the "
                              f"{cfg.variant or DEFAULTS['variant']} variant has no grouped layers to split along)")
    if "dist_backend" in given:
        _choice("dist_backend", given["dist_backend"], DIST_BACKENDS)
        if given["dist_backend"] == "mpi" and cfg.device == "cuda":
            raise ConfigError("--dist-backend mpi works on host arrays: with --device cuda use --dist-backend nccl")
        if given["dist_backend"] == "nccl" and cfg.device != "cuda":
            raise ConfigError("--dist-backend nccl works on GPU tensors: give --device cuda (or --dist-backend mpi)")
    for name, choices in [("model", ("alexnet",)), ("variant", tuple(VARIANTS)), ("device", DEVICES),
                          ("init", INITS), ("opt", OPTIMIZERS), ("lr_warmup_method", WARMUP_METHODS)]:
        if name in given:
            _choice(name, given[name], choices)
    for name in ("data_path", "output_dir", "resume"):
        if name in given:
            _path(name, given[name])
    if cfg.test_only and cfg.resume is None:
        raise ConfigError("--test-only evaluates the checkpoint given with --resume; without it there is "
                          "nothing trained to evaluate")
    if cfg.overwrite and cfg.resume is not None:
        raise ConfigError("--overwrite starts a new run in --output-dir and --resume continues one: give one of them")
    if cfg.overwrite and cfg.output_dir is None:
        raise ConfigError(f"--overwrite replaces the run in the --output-dir given; without one a new run goes to "
                          f"{DEFAULT_OUTPUT_DIR} or the first free {DEFAULT_OUTPUT_DIR}-<n>, and nothing is overwritten")
    plain = {k: (int(v) if isinstance(v, numbers.Integral) else float(v)) for k, v in given.items()
             if isinstance(v, numbers.Number) and not isinstance(v, bool)}
    return replace(cfg, **plain)


def _milestones(value):
    """--lr-milestones: a list of increasing ints >= 1 (a ConfigError otherwise)."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"--lr-milestones must be increasing epochs such as 30 60 80, got {value!r}")
    value = list(value)
    if not value:
        raise ConfigError("--lr-milestones must list at least one epoch, e.g. --lr-milestones 30 60 80")
    for m in value:
        try:
            check_number("--lr-milestones", m, integer=True, low=1)
        except (TypeError, ValueError):
            shown = " ".join(map(str, value))
            raise ConfigError(f"--lr-milestones must be increasing ints >= 1, got {shown}") from None
    if any(b <= a for a, b in zip(value, value[1:])):
        raise ConfigError(f"--lr-milestones must be increasing, got {' '.join(map(str, value))}")
    return [int(m) for m in value]


# The schedules each schedule flag is read by: given with another schedule, it would be ignored.
USED_BY = {"lr_step_size": ("step",), "lr_gamma": ("step", "plateau", "multistep", "exponential"),
           "lr_milestones": ("multistep",)}
# The optimizers that read --momentum (torchvision's AdamW and Adam take none).
MOMENTUM_OPTIMIZERS = ("sgd", "sgd_nesterov", "rmsprop")


def resolve(cfg, saved=None, log=print):
    """``cfg`` with every field not given filled in: from DEFAULTS, or from ``saved``, the flags of the
    checkpoint resumed (its meta["flags"], with meta["epoch"] as ``saved["completed"]``).

    Returns (config, changed): ``changed`` is the set of run flags given with a value other than the
    checkpoint's (empty for a new run). On resume such a flag follows ON_RESUME: a note if it
    applies, ConfigError naming both values if it is refused (notes are logged only once every
    check has passed). Also refuses a schedule flag the schedule does not read, an image too small
    for the variant, and a resumed run with no epochs left to train.
    """
    values, notes, changed = asdict(cfg), [], set()
    if saved is not None:
        saved = _effective(dict(saved))
    for name in DEFAULTS:
        mine = values[name]
        if saved is None:
            values[name] = DEFAULTS[name] if mine is None else mine
            continue
        theirs = saved.get(name, DEFAULTS[name])
        if mine is None or mine == theirs:
            values[name] = theirs
            continue
        what, why = ON_RESUME[name]
        if what == "refused":
            raise ConfigError(f"{flag(name)} {mine!r} differs from the checkpoint's {theirs!r} ({cfg.resume}), "
                              f"and can't change on --resume: {why}. Leave {flag(name)} out to continue the run")
        changed.add(name)
        notes.append(f"note: {flag(name)} {mine!r} applies from here on (the checkpoint's run had {theirs!r}): {why}")
    values = _effective(values)
    out = TrainConfig(**values)
    for name, schedules in USED_BY.items():
        if getattr(cfg, name) is not None and out.lr_scheduler not in schedules:
            read_by = " and ".join(schedules) if len(schedules) < 3 else \
                f"{', '.join(schedules[:-1])} and {schedules[-1]}"
            raise ConfigError(f"{flag(name)} has no effect with --lr-scheduler {out.lr_scheduler}; it is read by "
                              f"--lr-scheduler {read_by} only")
    if cfg.momentum is not None and out.opt not in MOMENTUM_OPTIMIZERS:
        raise ConfigError(f"--momentum has no effect with --opt {out.opt}; it is read by --opt "
                          f"{', '.join(MOMENTUM_OPTIMIZERS)} only")
    if out.opt == "sgd_nesterov" and out.momentum <= 0:
        raise ConfigError(f"--opt sgd_nesterov needs --momentum > 0, got {out.momentum}")
    if out.lr_scheduler == "multistep" and out.lr_milestones is None:
        raise ConfigError("--lr-scheduler multisteplr needs --lr-milestones, the epochs where the lr is multiplied "
                          "by --lr-gamma (e.g. --lr-milestones 30 60 80)")
    if out.lr_warmup_epochs >= out.epochs:
        raise ConfigError(f"--lr-warmup-epochs {out.lr_warmup_epochs} leaves no epoch of --epochs {out.epochs} to the "
                          "main schedule: it must be below --epochs")
    if out.lr_warmup_epochs and out.lr_scheduler == "plateau":
        raise ConfigError("--lr-warmup-epochs has no meaning with --lr-scheduler plateau, which follows val top-1 "
                          "from the first epoch; use another schedule or leave the warm-up out")
    for name in ("lr_warmup_method", "lr_warmup_decay"):
        if getattr(cfg, name) is not None and not out.lr_warmup_epochs:
            raise ConfigError(f"{flag(name)} has no effect without --lr-warmup-epochs N (N >= 1)")
    if out.lr_scheduler == "multistep":
        late = [m for m in out.lr_milestones if m >= out.epochs - out.lr_warmup_epochs]
        if late:
            raise ConfigError(f"--lr-milestones {' '.join(map(str, late))} {'is' if len(late) == 1 else 'are'} past "
                              f"the run: the milestones count the epochs after the warm-up, and --epochs "
                              f"{out.epochs} - --lr-warmup-epochs {out.lr_warmup_epochs} leaves "
                              f"{out.epochs - out.lr_warmup_epochs}")
    if out.lr_scheduler == "plateau" and out.lr_gamma >= 1:
        whose = "--lr-gamma" if cfg.lr_gamma is not None else f"the checkpoint's --lr-gamma ({cfg.resume})"
        raise ConfigError(f"{whose} {out.lr_gamma} would not lower the learning rate: with --lr-scheduler "
                          "plateau it must be < 1")
    size = out.image_size
    if size < min_input_size(out.variant):
        raise ConfigError(f"--image-size {size} is too small for the {out.variant} AlexNet: its convolutions "
                          f"and pools need at least {min_input_size(out.variant)}")
    if saved is not None and not out.test_only:
        done = saved["completed"]
        if out.epochs <= done:
            if cfg.epochs is None:
                raise ConfigError(f"{cfg.resume} is the end of its run (epoch {done} of {out.epochs}): nothing left "
                                  f"to train; pass --epochs N with N > {done} to train on, or --test-only to "
                                  "evaluate it")
            raise ConfigError(f"--epochs {out.epochs} is not above the checkpoint's epoch {done} ({cfg.resume}): "
                              f"nothing left to train; pass --epochs N with N > {done}")
    if out.test_only:  # evaluating only: the training flags change nothing, and are said to
        unused = [flag(n) for n in ON_RESUME if ON_RESUME[n][0] == "applies" and n != "data_path"
                  and getattr(cfg, n) is not None]
        if unused:
            log(f"note: {', '.join(unused)} have no effect with --test-only (it only evaluates)")
    else:
        for line in notes:
            log(line)
    return out, changed


def _effective(values):
    """``values`` with image_size, init and dropout filled in from the variant where they are None."""
    spec = VARIANTS[values["variant"]]
    for name, default in [("image_size", spec.input_size), ("init", spec.default_init), ("dropout", spec.dropout)]:
        if values.get(name) is None:
            values[name] = default
    return values
