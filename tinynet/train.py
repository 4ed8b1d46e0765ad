"""The training loop: epochs, evaluation, checkpoints, metrics, progress.

``train(config)`` is what ``tinynet train`` runs. Before any work it checks every flag
(tinynet/train_flags.py: ranges, conflicts, and on --resume what a changed flag does), the output
folder (tinynet/run_folder.py: it takes files, and it holds no other run), and that train/ and val/
each have an image that decodes. Then, per epoch, it

1. reseeds every generator from (seed, epoch) and shuffles the training set
   from the same pair, so the run is a pure function of the seed: stopping
   after epoch k and resuming ends with the same weights as never stopping;
2. trains with the --opt optimizer (tinynet/train_optimizer.py) and cross-entropy (smoothed by
   --label-smoothing), with a progress bar (loss, learning rate, images per second), and averages
   each parameter layer's mean |gradient| over every 10th step (tinynet/train_grads.py: "grad_abs_mean");
3. evaluates top-1 and top-5 on the validation folder;
4. checks that the training loss, the validation loss and every weight are finite;
5. steps the learning-rate plan (tinynet/train_schedule.py), writes checkpoint_epoch<k>.npz and
   checkpoint.npz atomically, then rewrites metrics.jsonl from the run's history and redraws curves.png.

A loss or a weight that becomes NaN or infinite stops the run with ``TrainingDiverged``
before anything of that epoch is written, so the last good checkpoint stays; so does Ctrl-C
(``TrainingInterrupted``, saying which checkpoint is the last one).

On the GPU (``device="cuda"``), ``tf32=True`` lets float32 matrix products use
TF32 tensor cores (``backend.enable_tf32``), each epoch's line reports the
memory pool's use, and running out of GPU memory stops the run with
``GPUOutOfMemory`` naming the batch size that failed.
"""
import math
import os
import sys
import time
from dataclasses import replace

import numpy as np

from tinynet import backend
from tinynet import functional as F
from tinynet.autograd import no_grad
from tinynet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinynet.data import ImageFolder, transforms
from tinynet.data.packed import is_packed, open_packed
from tinynet.data.folder import CorruptImageError, load_rgb
from tinynet.models import parameter_count
from tinynet import amp, distributed, run_folder, train_distributed, train_flags
from tinynet.distributed import launch
from tinynet.distributed.columns import ColumnGradScaler
from tinynet.functional import conv_choice
from tinynet.train_grads import GradSizes
from tinynet.train_optimizer import has_norm_parameters, make_optimizer, resume_optimizer
from tinynet.train_schedule import make_plan, replan
from tinynet.saved_run import build_model, check_compatible, load_model, read_run_meta, run_meta, state_shapes
from tinynet._tensor import Tensor
from tinynet.train_flags import ConfigError, TrainConfig

__all__ = ["train", "evaluate", "TrainConfig", "ConfigError", "TrainingDiverged", "TrainingInterrupted",
           "GPUOutOfMemory", "load_model", "check_compatible", "prepare_device", "default_data_path"]


MAX_PARAMETERS = 2**31  # 8 GiB of float32 weights: past any model that trains on one device here


class TrainingDiverged(RuntimeError):
    """The loss, or a weight, became NaN or infinite."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says which checkpoint is the last complete one."""


class GPUOutOfMemory(RuntimeError):
    """The GPU ran out of memory for a batch; the message names the batch size and what to try."""


def _out_of_memory(error, batch_size, where):
    return GPUOutOfMemory(
        f"the GPU ran out of memory {where} with batch size {batch_size} ({error}). "
        f"Try a smaller batch size, e.g. -b {max(1, batch_size // 2)}."
    )


def reseed(seed, epoch):
    """Seed every generator (dropout masks, on either device) from (seed, epoch)."""
    backend.manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0]))


def accuracy_counts(logits, targets, ks=(1, 5)):
    """How many rows have their target among the top-k logits, for each k. logits (N, K), targets (N,)."""
    order = np.argsort(-logits, axis=1)
    hits = order == targets[:, None]
    return [int(hits[:, :min(k, logits.shape[1])].any(axis=1).sum()) for k in ks]


def evaluate(model, loader, device, world=None):
    """Mean cross-entropy, top-1 and top-5 accuracy on ``loader`` (ten-crop batches are averaged); with
    ``world``, each rank's loader holds its slice and the sums are added over the ranks."""
    model.eval()
    total_loss, n, top1, top5 = 0.0, 0, 0, 0
    out_of_memory = backend.out_of_memory_errors(device)  # () on the CPU: catches nothing
    try:
        with no_grad():
            for x, y in loader:
                y = backend.host(y.data)  # the class indices, a NumPy array
                crops = x.shape[1] if x.ndim == 5 else 1
                logits = model(Tensor(x.reshape(-1, *x.shape[-3:]), device=device))
                if crops > 1:  # average the class probabilities of the crops
                    probs = F.softmax(logits, dim=1).reshape(len(y), crops, -1).mean(dim=1)
                    logp = backend.host(probs.data).astype(np.float64)
                    logp = np.log(np.maximum(logp, 1e-30))
                else:
                    logp = backend.host(F.log_softmax(logits, dim=1).data).astype(np.float64)
                total_loss += float(-logp[np.arange(len(y)), y].sum())
                c1, c5 = accuracy_counts(logp, y)
                top1, top5, n = top1 + c1, top5 + c5, n + len(y)
                launch.beat()
    except out_of_memory as e:
        raise _out_of_memory(e, loader.batch_size, "during evaluation") from e
    model.train()
    total_loss, n, top1, top5 = train_distributed.reduce_sums([total_loss, n, top1, top5], world, device)
    n, top1, top5 = int(n), int(top1), int(top5)
    if n == 0:
        raise RuntimeError("evaluation saw no images (all skipped as unreadable?)")
    return {"val_loss": total_loss / n, "top1": top1 / n, "top5": top5 / n, "val_images": n}


def _split_folder(root, split):
    path = os.path.join(root, split)
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"{root} has no {split}/ folder: expected {root}/train/<class>/<image> and {root}/val/<class>/<image>"
        )
    return path


# The main job's data: the generated set, made once (see tinynet.data.synth).
SYNTH_DEFAULTS = dict(classes=10, per_class=500, val_per_class=100, size=64, seed=0)


def default_data_path(log=print):
    """The generated synthetic set, made once in the cache folder ($TINYNET_CACHE, else ~/.cache/tinynet).

    It is generated into a temporary folder and renamed into place when complete, so an interrupted
    generation is redone rather than half-used; the temporary folder is removed on any failure
    (Ctrl-C included), and a run that finds the set completed meanwhile by another uses that one.
    """
    import shutil

    from tinynet.data import synth

    cache = os.environ.get("TINYNET_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tinynet")
    d = SYNTH_DEFAULTS
    root = os.path.join(cache, f"synth-v2-{d['classes']}x{d['per_class']}-{d['size']}px-seed{d['seed']}")
    if os.path.isdir(root):
        return root
    log(f"generating the synthetic training set in {root} (once) ...")
    tmp = f"{root}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.perf_counter()
    try:
        synth.generate(tmp, **d)
        os.replace(tmp, root)
    except (OSError, ValueError) as e:  # synth names its folder as --out, a flag this command does not have
        shutil.rmtree(tmp, ignore_errors=True)
        if os.path.isdir(root):  # another run finished generating it first
            return root
        raise OSError(f"can't generate the default data set in {cache} ({getattr(e, 'strerror', None) or e}); set "
                      "TINYNET_CACHE to a writable folder, or give --data-path") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"generated in {time.perf_counter() - start:.0f} s")
    return root


def prepare_device(device, tf32=False, log=print):
    """Check ``device`` before any work: TF32 set up first (it must precede CuPy's first float32
    product), then CuPy and a GPU for "cuda" (``DeviceError`` saying how to fix it otherwise).
    ``tf32`` on the CPU is refused (ConfigError): it would change nothing."""
    device = backend.normalize_device(device)
    if tf32 and device != "cuda":
        raise ConfigError(f"--tf32 only affects --device cuda; this run is on --device {device}")
    if tf32:
        backend.enable_tf32()
    if device == "cuda":
        backend.cupy_or_raise()
    return device


def _first_readable(dataset, split):
    """Refuse a split none of whose images decodes (found at the start, not after an epoch)."""
    first_error = None
    for path, _ in dataset.samples:
        try:
            load_rgb(path)
            return
        except CorruptImageError as e:
            first_error = first_error or e
    raise ValueError(f"none of the {len(dataset)} image files in {dataset.root} ({split}/) can be decoded, "
                     f"e.g. {first_error.path}: {first_error.reason}")


def _file_layout(data_path, size):
    """(train set, test set, description) of the CIFAR or MNIST files at ``data_path``, or None."""
    from tinynet.data import layouts

    layout = layouts.find_layout(data_path)
    if layout is None:
        return None
    train_set, test_set = layouts.open_layout(layout, transforms.train_transform(size), transforms.eval_transform(size))
    return train_set, test_set, layouts.describe(layout, train_set, test_set, size)


def _datasets(data_path, size, log=None):
    """(training set, validation set) at ``data_path``: train/ and val/ image folders, or else a CIFAR or
    MNIST layout (tinynet/data/layouts.py), its test split as the validation set and a line to ``log``
    saying what was found; or a packed set (``tinynet data pack``, tinynet/data/packed.py)."""
    if is_packed(data_path):
        train_set, val_set = open_packed(data_path, size)
        if log is not None:
            log(f"data: packed set at {data_path}: {len(train_set)} train / {len(val_set)} val images of "
                f"{len(train_set.classes)} classes, decoded at {train_set.size} (random crops read from its shards)")
        return train_set, val_set
    if not os.path.isdir(os.path.join(data_path, "train")):
        found = _file_layout(data_path, size)
        if found is not None:
            train_set, val_set, line = found
            if log is not None:
                log(f"data: {line}")
            return train_set, val_set
        raise FileNotFoundError(f"{data_path} has no train/ folder: expected {data_path}/train/<class>/<image> and "
                                f"{data_path}/val/<class>/<image>, or the folder a CIFAR-10, CIFAR-100, MNIST or "
                                "Fashion-MNIST archive unpacks to (or the one folder holding it)")
    train_set = ImageFolder(_split_folder(data_path, "train"), transforms.train_transform(size))
    val_set = ImageFolder(_split_folder(data_path, "val"), transforms.eval_transform(size))
    if val_set.classes != train_set.classes:
        raise ValueError(f"train/ and val/ of {data_path} have different classes: {train_set.classes} vs "
                         f"{val_set.classes}")
    _first_readable(train_set, "train")
    _first_readable(val_set, "val")
    return train_set, val_set


def _resume_into(cfg, changed, meta, model, optimizer, scheduler, log, columns=None):
    """Load the checkpoint ``cfg.resume`` (its ``meta`` read already) into the run; the flags given now
    (already resolved against it; ``changed`` names those given with a new value) override its
    hyper-parameters where ON_RESUME says they apply. With ``columns`` (--model-parallel) ``model`` is the
    whole network and ``optimizer`` the column's: the checkpoint goes into the whole network and its
    optimizer, then this rank's blocks of both into the column."""
    whole = optimizer if columns is None else columns.full_optimizer
    ckpt = load_checkpoint(cfg.resume, model_shapes=state_shapes(model),
                           param_shapes=[p.shape for p in whole.params])
    model.load_state_dict(ckpt.model_state)
    resume_optimizer(cfg, whole, ckpt.optimizer_state, cfg.resume)
    if (cfg.conv_algorithm or "auto") == "auto":  # the algorithms the run computed with: the same numbers again
        conv_choice.load_choices(meta["conv_algorithms"])
    if columns is not None:
        columns.scatter(optimizer)
    try:
        scheduler.load_state_dict(meta["scheduler"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {cfg.resume}: field 'scheduler': {e}") from None
    done = meta["epoch"]
    new_lr = "lr" in changed  # --lr given with another value: it applies
    optimizer.lr = meta["lr"]
    if cfg.lr_scheduler == "plateau":
        scheduler.factor = cfg.lr_gamma
        optimizer.lr = cfg.lr if new_lr else optimizer.lr
    else:  # the others: the lr is a function of the epoch, recomputed from the flags now in force
        replan(scheduler, cfg)
        scheduler.base_lr = cfg.lr if new_lr else scheduler.base_lr
        lr = scheduler.lr_at(done)
        if lr != optimizer.lr:
            log(f"note: the learning rate of epoch {done + 1} is {lr:g} (the checkpoint's schedule gave "
                f"{optimizer.lr:g})")
        optimizer.lr = lr
    log(f"resumed from {cfg.resume} after epoch {done}")


def train(cfg: TrainConfig, log=print):
    """Run the training described by ``cfg``; returns the list of per-epoch metrics. ``log`` takes
    each line of progress (None: print nothing)."""
    log = log or (lambda line: None)
    cfg = train_flags.check(cfg)
    meta = saved = None
    if cfg.resume is not None:
        meta = read_run_meta(cfg.resume)
        saved = dict(meta["flags"], completed=meta["epoch"], variant=meta["variant"], image_size=meta["image_size"])
    cfg, changed = train_flags.resolve(cfg, saved, log)
    prepare_device(cfg.device, cfg.tf32, log)
    world = train_distributed.join(cfg)  # one of several processes: the group joined (tinynet/train_distributed.py)
    code = 1
    try:
        if world is not None and not world.main:  # rank 0 alone logs, shows progress and writes the run
            log, cfg = (lambda line: None), replace(cfg, progress=False)
        if cfg.test_only or (world is not None and not world.main):
            result = _run(cfg, changed, meta, None, log, world)
        else:
            with run_folder.open_run(cfg.output_dir, cfg.resume, cfg.overwrite, log) as out:
                result = _run(cfg, changed, meta, out, log, world)
        code = 0
        return result
    finally:
        train_distributed.leave(world, code)


def _run(cfg, changed, meta, out, log, world=None):
    """The run of the resolved ``cfg`` into the RunFolder ``out`` (None: evaluate only, or a rank other than
    0, which writes nothing), as the process ``world`` describes (None: alone)."""
    if world is not None and not world.main and cfg.data_path is None:
        distributed.barrier()  # rank 0 generates the default set first (the barrier below)
    data_path = cfg.data_path or default_data_path(log)
    if world is not None and world.main and cfg.data_path is None:
        distributed.barrier()
    size = cfg.image_size
    train_set, val_set = _datasets(data_path, size, log)
    classes = train_set.classes
    if meta is not None:
        check_compatible(meta, cfg.variant, classes, cfg.resume)

    count = parameter_count(cfg.variant, len(classes), size)
    if count > MAX_PARAMETERS:
        raise ConfigError(f"--image-size {size} makes the {cfg.variant} AlexNet {count:,} parameters "
                          f"({4 * count / 2**30:.0f} GiB in float32, more again for gradients and momentum); "
                          f"the most tinynet train builds is {MAX_PARAMETERS:,}: give a smaller --image-size")
    lrn_groups = train_distributed.lrn_groups(cfg, world, meta)  # 2: LRN per column (--model-parallel's form)
    conv_choice.clear()  # this run's convolution algorithms, chosen (or resumed) afresh and recorded
    backend.manual_seed(cfg.seed)  # the same weights on every rank
    model = build_model(cfg.variant, len(classes), size, cfg.init, cfg.dropout, lrn_groups)
    if cfg.model_parallel is None:  # (with columns the whole network stays on the host, each column on the device)
        model = model.to(cfg.device)
    net = model  # what is saved and resumed; ``model`` is what trains (the DDP wrapper, or this rank's column)
    columns = None if cfg.model_parallel is None else train_distributed.Columns(cfg, net, world)
    if columns is not None:
        model = columns.column
    use_conv_algorithm(model, cfg.conv_algorithm or "auto")
    data_world = None if columns is not None else world  # columns read every batch alike, as one process
    optimizer = make_optimizer(cfg, model)
    if cfg.norm_weight_decay is not None and not has_norm_parameters(model):
        log(f"note: --norm-weight-decay changes nothing here: the {cfg.variant} AlexNet has no normalisation layer "
            "with parameters")
    scheduler = make_plan(cfg, optimizer)
    # bfloat16 has float32's range: nothing to scale. Columns agree on each step's inf/NaN check.
    scaler = (amp.GradScaler if columns is None else ColumnGradScaler)(backend.normalize_device(cfg.device),
                                                                       enabled=cfg.amp == "fp16")
    history, start_epoch = [], 0
    if meta is not None:
        _resume_into(cfg, changed, meta, net, optimizer, scheduler, log, columns)
        _resume_scaler(cfg, meta, scaler, log)
        start_epoch, history = meta["epoch"], list(meta["history"])
    if world is not None and columns is None:
        model = distributed.DistributedDataParallel(net)  # every rank from rank 0's weights
    evaluated = net if columns is None else model  # the column computes the whole network's logits
    layer_names = None if columns is None else columns.layer_names()  # the column's layers as the whole's

    # The workers serve every epoch (and both loaders stop theirs when the run ends).
    loader_args = dict(batch_size=cfg.batch_size, seed=cfg.seed, workers=cfg.workers, timeout=cfg.loader_timeout,
                       persistent_workers=cfg.workers > 0, device=cfg.device)  # uint8 to the device, floats there
    val_loader = train_distributed.val_loader(val_set, data_world, **loader_args)
    if cfg.test_only:
        try:
            result = evaluate(evaluated, val_loader, cfg.device, data_world)
        finally:
            val_loader.close()
        log(f"test: val loss {result['val_loss']:.4f}  top-1 {result['top1']:.2%}  top-5 {result['top5']:.2%}")
        return [result]

    train_loader = train_distributed.train_loader(train_set, data_world, cfg, **loader_args)
    batch = (f"batch {cfg.batch_size}" if world is None else
             f"batch {cfg.batch_size}, model-parallel: one column on each of {world.size} processes ({world.backend})"
             if columns is not None else
             f"batch {cfg.batch_size} per process x {world.size} processes ({world.backend}) = {cfg.batch_size * world.size}")
    log(f"training {cfg.model} ({cfg.variant}) on {len(train_set)} images of {len(classes)} classes "
        f"from {data_path}, {size}x{size}, {batch}, device {cfg.device}{' (TF32)' if cfg.tf32 else ''}; "
        f"output in {out.path if out is not None else '(rank 0 writes)'}")
    last = [(cfg.resume, start_epoch)] if meta is not None else []  # checkpoints written, newest last
    try:
        # Overflow in a diverging step is found by the finiteness checks; NumPy's warnings would only
        # print before the one line that says so.
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(start_epoch, cfg.epochs):
                metrics = _train_epoch(model, optimizer, train_loader, epoch, cfg, data_world, scaler, layer_names)
                metrics.update(evaluate(evaluated, val_loader, cfg.device, data_world))
                metrics["skipped_files"] = len(train_loader.skipped) + len(val_loader.skipped)
                if columns is not None:  # the whole network and its optimizer, for the checks and the checkpoint
                    columns.gather(optimizer)
                _check_finite(net, metrics, optimizer, cfg)
                scheduler.step(metrics["top1"])
                if columns is not None:
                    columns.copy_lr(optimizer)  # the next epoch's lr, which the checkpoint holds
                if not math.isfinite(optimizer.lr):  # the next epoch's lr, stored in the checkpoint
                    raise TrainingDiverged(
                        f"after epoch {epoch + 1} the schedule made the learning rate {optimizer.lr}; nothing of "
                        f"this epoch was saved. {_advice(cfg, optimizer)}")
                history.append(metrics)
                log(_epoch_line(metrics, cfg.epochs))
                if out is not None:
                    _record(out, cfg, net, optimizer if columns is None else columns.full_optimizer, scheduler,
                            classes, size, history, log, last, scaler, lrn_groups)
    except KeyboardInterrupt:
        raise TrainingInterrupted(_interrupted(last)) from None
    finally:
        train_loader.close()
        val_loader.close()
    skipped = sorted(set(train_loader.skipped) | set(val_loader.skipped))
    if skipped:
        log(f"{len(skipped)} unreadable image file(s) were skipped: " + ", ".join(skipped[:5])
            + (" ..." if len(skipped) > 5 else ""))
    return history


_AMP_DTYPES = {"fp16": "float16", "bf16": "bfloat16"}


def use_conv_algorithm(model, algorithm):
    """--conv-algorithm: every convolution of ``model`` that can compute with ``algorithm`` does ("winograd":
    the stride-1 3x3 and 5x5 ones; the others stay on "auto", which is im2col for them)."""
    from tinynet import nn

    for layer in model.modules():
        if isinstance(layer, nn.Conv2d) and (algorithm != "winograd" or layer.winograd_eligible()):
            layer.algorithm = algorithm


def _resume_scaler(cfg, meta, scaler, log):
    """The loss scale where the checkpoint's run left it (--amp fp16 both then and now)."""
    state = meta.get("grad_scaler")
    if state is not None and not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {cfg.resume}: field 'grad_scaler' must be the scaler's state (a dict), "
                              f"got {type(state).__name__}")
    if scaler.is_enabled() and state is not None:
        try:
            scaler.load_state_dict(state)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"checkpoint {cfg.resume}: field 'grad_scaler': {e}") from None
    elif scaler.is_enabled():
        log("note: --amp fp16 on a run that was not: the loss scale starts afresh at 65536")
    elif state is not None:
        log("note: the checkpoint's run had --amp fp16; without it now its loss scale is not used")


def _interrupted(last):
    if not last:
        return "interrupted before the first epoch ended: no checkpoint was written"
    path, epoch = last[-1]
    return f"interrupted; {path} (epoch {epoch}) is intact: continue with --resume {path}"


def _check_finite(model, metrics, optimizer, cfg):
    """TrainingDiverged unless the validation loss and every parameter are finite (before anything of
    the epoch is written)."""
    bad = [name for name, p in model.named_parameters() if not bool(backend.get_array_module(p.data).isfinite(
        p.data).all())]
    if bad or not math.isfinite(metrics["val_loss"]):
        what = (f"{len(bad)} parameter tensor(s) hold NaN or infinite values ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''})" if bad else f"the validation loss is {metrics['val_loss']}")
        raise TrainingDiverged(f"after epoch {metrics['epoch']} {what} (learning rate {optimizer.lr:g}); nothing "
                               f"of this epoch was saved. {_advice(cfg, optimizer)}")


def _advice(cfg, optimizer):
    """What to change after a divergence: the schedule's growth if it raised the lr, else --lr."""
    if optimizer.lr > cfg.lr:
        return (f"The schedule raised the learning rate above --lr {cfg.lr:g} (--lr-gamma {cfg.lr_gamma:g}); "
                "give a --lr-gamma below 1.")
    return (f"Try a smaller --lr than {cfg.lr:g} (e.g. {cfg.lr / 10:g}) or batch size, or check the input data "
            "for extreme values.")


def _train_epoch(model, optimizer, loader, epoch, cfg, world=None, scaler=None, layer_names=None):
    from tqdm import tqdm

    reseed(cfg.seed, epoch)
    loader.set_epoch(epoch)
    skipped_before = 0 if scaler is None else scaler.skipped_steps
    model.train()
    start, seen, loss_sum = time.perf_counter(), 0, 0.0
    # On the GPU: the pool's bytes in use, sampled after each forward and backward (reading the
    # pool's counters does not wait for the GPU), and out-of-memory errors to explain.
    pool = backend.gpu_memory_pool() if backend.normalize_device(cfg.device) == "cuda" else None
    out_of_memory = backend.out_of_memory_errors(cfg.device)  # () on the CPU: catches nothing
    peak = 0
    grad_sizes = GradSizes(model, layer_names)  # each layer's mean |gradient|, summed on the device (train_grads.py)
    smoothing = {"label_smoothing": cfg.label_smoothing} if cfg.label_smoothing else {}  # 0: the plain loss
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress, leave=False,
               unit="batch", file=sys.stderr)
    for step, (x, y) in enumerate(bar):
        if x is None:  # with ranks: every image of this rank's batch was unreadable; the step still runs here
            _empty_step(model, optimizer, scaler)
            continue
        try:
            # Dropout per sample (its dataset index): the same masks whatever the batch or the process.
            with backend.per_sample_random(loader.last_indices, cfg.seed, epoch), \
                    amp.autocast(backend.normalize_device(cfg.device), dtype=_AMP_DTYPES.get(cfg.amp),
                                 enabled=cfg.amp is not None):  # --amp: the products in 16 bits, the loss in 32
                loss = F.cross_entropy(model(Tensor(x, device=cfg.device)), Tensor(y, device=cfg.device),
                                       **smoothing)
            if pool is not None:
                peak = max(peak, pool.used_bytes())
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"the loss became {value} at epoch {epoch + 1}, step {step + 1} (learning rate "
                    f"{optimizer.lr:g}); nothing of this epoch was saved. {_advice(cfg, optimizer)}"
                )
            optimizer.zero_grad()
            # With ranks: the gradients averaged over them, bucket by bucket, as it goes. With --amp fp16: of
            # the loss times the scale, unscaled before the step, which is skipped if one overflowed.
            (loss if scaler is None else scaler.scale(loss)).backward()
            if pool is not None:
                peak = max(peak, pool.used_bytes())
            measure = grad_sizes.due()  # the first step and every 10th (train_grads.py)
            if scaler is None:
                if measure:
                    grad_sizes.add(grad_sizes.measure())
                optimizer.step()
            else:
                if measure:
                    scaler.unscale_(optimizer)  # what step() would do first: the gradients measured unscaled
                    sizes, skipped = grad_sizes.measure(), scaler.skipped_steps
                scaler.step(optimizer)
                scaler.update()
                if measure and scaler.skipped_steps == skipped:  # (a step skipped for inf/NaN is not counted)
                    grad_sizes.add(sizes)
        except out_of_memory as e:
            raise _out_of_memory(e, cfg.batch_size, f"in training (epoch {epoch + 1}, step {step + 1})") from e
        seen += len(y)
        loss_sum += value * len(y)
        launch.beat()
        elapsed = time.perf_counter() - start
        ranks = 1 if world is None else world.size  # the others' rates are about this one's
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", lr=f"{optimizer.lr:.3g}", img_s=f"{seen * ranks / elapsed:.0f}")
    bar.close()
    elapsed = time.perf_counter() - start
    loss_sum, seen = train_distributed.reduce_sums([loss_sum, seen], world, cfg.device)  # every rank's images
    seen = int(seen)
    if seen == 0:
        raise RuntimeError("the training epoch saw no images (all skipped as unreadable?)")
    metrics = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "lr": optimizer.lr, "train_images": seen,
               "train_seconds": elapsed, "images_per_second": seen / elapsed,
               "grad_abs_mean": grad_sizes.result()}
    if scaler is not None and scaler.is_enabled():
        metrics.update(loss_scale=scaler.get_scale(), skipped_steps=scaler.skipped_steps - skipped_before)
    if pool is not None:
        metrics.update(gpu_memory_peak_bytes=int(peak), gpu_memory_held_bytes=int(pool.total_bytes()))
    return metrics


def _empty_step(model, optimizer, scaler=None):
    """A data-parallel rank's step without samples: zero gradients into the all-reduce, then the step the
    other ranks take (so every rank calls the same collectives and keeps the same weights; with --amp fp16
    the scaler sees the same reduced gradients, so it skips, or not, with them)."""
    optimizer.zero_grad()
    sum((p * 0).sum() for p in model.parameters() if p.requires_grad).backward()
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()


def _epoch_line(m, epochs):
    line = (f"epoch {m['epoch']}/{epochs}  train loss {m['train_loss']:.4f}  val loss {m['val_loss']:.4f}  "
            f"top-1 {m['top1']:.1%}  top-5 {m['top5']:.1%}  lr {m['lr']:.3g}  "
            f"{m['train_seconds']:.1f} s ({m['images_per_second']:.0f} img/s)")
    if "loss_scale" in m:
        line += f"  loss scale {m['loss_scale']:g}" + (f" ({m['skipped_steps']} steps skipped: inf/NaN gradients)"
                                                      if m["skipped_steps"] else "")
    if "gpu_memory_peak_bytes" in m:
        line += (f"  GPU memory {m['gpu_memory_peak_bytes'] / 2**30:.2f} GiB in use at most, "
                 f"{m['gpu_memory_held_bytes'] / 2**30:.2f} GiB held by the pool")
    if m.get("skipped_files"):
        line += f"  [{m['skipped_files']} unreadable files skipped]"
    return line


def _record(out, cfg, model, optimizer, scheduler, classes, size, history, log, saved, scaler=None, lrn_groups=1):
    """The two checkpoints of the epoch just finished (each appended to ``saved`` as (path, epoch) once
    written), then metrics.jsonl and curves.png. The metrics and the curves are derived from the
    history the checkpoint holds (rewritten whole after the next epoch), so failing to write them is
    a warning, not an end. --overwrite's earlier run is removed once both checkpoints are written."""
    meta = run_meta(cfg, optimizer, scheduler, classes, size, history, scaler, lrn_groups)
    epoch = meta["epoch"]
    for name in (f"checkpoint_epoch{epoch}.npz", "checkpoint.npz"):
        saved.append((save_checkpoint(os.path.join(out.path, name), model, optimizer, meta), epoch))
    latest = saved[-1][0]
    out.clear_earlier(log, keep=(f"checkpoint_epoch{epoch}.npz", "checkpoint.npz"))
    for write, name in [(lambda: run_folder.write_metrics(out.path, history), "metrics.jsonl"),
                        (lambda: run_folder.write_conv_algorithms(out.path, meta["conv_algorithms"]),
                         "conv_algorithms.json"),
                        (lambda: run_folder.plot_curves(history, os.path.join(out.path, "curves.png")), "curves.png")]:
        try:
            write()
        except OSError as e:
            log(f"warning: could not write {os.path.join(out.path, name)} ({e.strerror or e}); {latest} holds "
                f"epoch {epoch} and its history, and the file is written again after the next epoch")
    return latest
