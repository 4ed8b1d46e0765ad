"""The training loop: epochs, evaluation, checkpoints, metrics, progress.

``train(config)`` is what ``tinynet train`` runs. Per epoch it

1. reseeds every generator from (seed, epoch) and shuffles the training set
   from the same pair, so the run is a pure function of the seed: stopping
   after epoch k and resuming ends with the same weights as never stopping;
2. trains with SGD and cross-entropy, with a progress bar (loss, learning
   rate, images per second);
3. evaluates top-1 and top-5 on the validation folder;
4. steps the learning-rate schedule, appends a line to metrics.jsonl, redraws
   curves.png, and writes checkpoint_epoch<k>.npz and checkpoint.npz atomically.

A loss that becomes NaN or infinite stops the run with ``TrainingDiverged``
before anything of that epoch is written, so the last good checkpoint stays.

On the GPU (``device="cuda"``), ``tf32=True`` lets float32 matrix products use
TF32 tensor cores (``backend.enable_tf32``), each epoch's line reports the
memory pool's use, and running out of GPU memory stops the run with
``GPUOutOfMemory`` naming the batch size that failed.
"""
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from tinynet import __version__, backend
from tinynet import functional as F
from tinynet.autograd import no_grad
from tinynet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tinynet.data import DataLoader, ImageFolder, transforms
from tinynet.models import VARIANTS, alexnet
from tinynet.optim import SGD, CosineAnnealingLR, ReduceLROnPlateau, StepLR
from tinynet.tensor import Tensor


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class GPUOutOfMemory(RuntimeError):
    """The GPU ran out of memory for a batch; the message names the batch size and what to try."""


def _out_of_memory(error, batch_size, where):
    return GPUOutOfMemory(
        f"the GPU ran out of memory {where} with batch size {batch_size} ({error}). "
        f"Try a smaller batch size, e.g. -b {max(1, batch_size // 2)}."
    )


@dataclass
class TrainConfig:
    """The flags of ``tinynet train`` (torchvision's reference-script names where they apply)."""

    data_path: str = None  # root with train/ and val/; None: the generated synthetic set
    model: str = "alexnet"
    variant: str = "mini"
    device: str = "cpu"
    batch_size: int = 32
    epochs: int = 15
    workers: int = 2
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_scheduler: str = "cosine"  # "cosine", "step" (torchvision's) or "plateau" (the paper's rule)
    lr_step_size: int = 30
    lr_gamma: float = 0.1
    output_dir: str = "runs/alexnet"
    resume: str = None
    seed: int = 0
    test_only: bool = False
    init: str = None  # "pytorch", "paper" or "kaiming"; default: the variant's
    dropout: float = None  # default: the variant's
    image_size: int = None  # default: the variant's input size
    progress: bool = True
    tf32: bool = False  # float32 matrix products on TF32 tensor cores (device "cuda" only)


def reseed(seed, epoch):
    """Seed every generator (dropout masks, on either device) from (seed, epoch)."""
    backend.manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0]))


def accuracy_counts(logits, targets, ks=(1, 5)):
    """How many rows have their target among the top-k logits, for each k. logits (N, K), targets (N,)."""
    order = np.argsort(-logits, axis=1)
    hits = order == targets[:, None]
    return [int(hits[:, :min(k, logits.shape[1])].any(axis=1).sum()) for k in ks]


def evaluate(model, loader, device):
    """Mean cross-entropy, top-1 and top-5 accuracy on ``loader`` (ten-crop batches are averaged)."""
    model.eval()
    total_loss, n, top1, top5 = 0.0, 0, 0, 0
    out_of_memory = backend.out_of_memory_errors(device)  # () on the CPU: catches nothing
    try:
        with no_grad():
            for x, y in loader:
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
    except out_of_memory as e:
        raise _out_of_memory(e, loader.batch_size, "during evaluation") from e
    model.train()
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

    It is generated into a temporary folder and renamed into place when complete,
    so an interrupted generation is redone rather than half-used.
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
    synth.generate(tmp, **d)
    os.replace(tmp, root)
    log(f"generated in {time.perf_counter() - start:.0f} s")
    return root


def build_model(variant, num_classes, image_size, init=None, dropout=None):
    return alexnet(variant, num_classes=num_classes, init=init, dropout=dropout, input_size=image_size)


def _make_scheduler(cfg, optimizer):
    if cfg.lr_scheduler == "step":
        return StepLR(optimizer, cfg.lr_step_size, cfg.lr_gamma)
    if cfg.lr_scheduler == "cosine":
        return CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if cfg.lr_scheduler == "plateau":
        return ReduceLROnPlateau(optimizer, mode="max", factor=cfg.lr_gamma, patience=2)
    raise ValueError(f"unknown --lr-scheduler {cfg.lr_scheduler!r}: use 'cosine', 'step' or 'plateau'")


def _plot(history, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    ax1.set_xlabel("epoch"), ax1.set_ylabel("cross-entropy"), ax1.legend(), ax1.grid(alpha=0.3)
    ax2.plot(epochs, [100 * h["top1"] for h in history], "o-", label="top-1")
    ax2.plot(epochs, [100 * h["top5"] for h in history], "o-", label="top-5")
    ax2.set_xlabel("epoch"), ax2.set_ylabel("validation accuracy (%)"), ax2.legend(), ax2.grid(alpha=0.3)
    ax2.set_ylim(0, 100)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def prepare_device(device, tf32=False, log=print):
    """Check ``device`` before any work: TF32 set up first (it must precede CuPy's first float32
    product), then CuPy and a GPU for "cuda" (``DeviceError`` saying how to fix it otherwise)."""
    device = backend.normalize_device(device)
    if tf32:
        if device == "cuda":
            backend.enable_tf32()
        else:
            log("note: --tf32 only affects --device cuda; ignored on the CPU")
    if device == "cuda":
        backend.cupy_or_raise()
    return device


def train(cfg: TrainConfig, log=print):
    """Run the training described by ``cfg``; returns the list of per-epoch metrics."""
    prepare_device(cfg.device, cfg.tf32, log)
    data_path = cfg.data_path or default_data_path(log)
    if cfg.variant not in VARIANTS:
        raise ValueError(f"unknown variant {cfg.variant!r}; choose one of {', '.join(VARIANTS)}")
    size = cfg.image_size or VARIANTS[cfg.variant].input_size
    train_set = ImageFolder(_split_folder(data_path, "train"), transforms.train_transform(size))
    val_set = ImageFolder(_split_folder(data_path, "val"), transforms.eval_transform(size))
    if val_set.classes != train_set.classes:
        raise ValueError(f"train/ and val/ have different classes: {train_set.classes} vs {val_set.classes}")
    classes = train_set.classes

    backend.manual_seed(cfg.seed)
    model = build_model(cfg.variant, len(classes), size, cfg.init, cfg.dropout).to(cfg.device)
    optimizer = SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    scheduler = _make_scheduler(cfg, optimizer)
    history, start_epoch = [], 0
    if cfg.resume:
        ckpt = load_checkpoint(cfg.resume)
        check_compatible(ckpt.meta, cfg.variant, classes, cfg.resume)
        model.load_state_dict(ckpt.model_state)
        optimizer.load_state_dict(ckpt.optimizer_state)
        scheduler.load_state_dict(ckpt.meta["scheduler"])
        start_epoch, history = ckpt.meta["epoch"], ckpt.meta.get("history", [])
        log(f"resumed from {cfg.resume} after epoch {start_epoch}")

    val_loader = DataLoader(val_set, cfg.batch_size, shuffle=False, seed=cfg.seed, workers=cfg.workers)
    if cfg.test_only:
        result = evaluate(model, val_loader, cfg.device)
        log(f"test: val loss {result['val_loss']:.4f}  top-1 {result['top1']:.2%}  top-5 {result['top5']:.2%}")
        return [result]

    os.makedirs(cfg.output_dir, exist_ok=True)
    train_loader = DataLoader(train_set, cfg.batch_size, shuffle=True, seed=cfg.seed, workers=cfg.workers)
    log(f"training {cfg.model} ({cfg.variant}) on {len(train_set)} images of {len(classes)} classes "
        f"from {data_path}, {size}x{size}, device {cfg.device}{' (TF32)' if cfg.tf32 else ''}; "
        f"output in {cfg.output_dir}")
    for epoch in range(start_epoch, cfg.epochs):
        metrics = _train_epoch(model, optimizer, train_loader, epoch, cfg)
        metrics.update(evaluate(model, val_loader, cfg.device))
        metrics["skipped_files"] = len(train_loader.skipped) + len(val_loader.skipped)
        scheduler.step(metrics["top1"])
        history.append(metrics)
        log(_epoch_line(metrics, cfg.epochs))
        _record(cfg, model, optimizer, scheduler, classes, size, history)
    skipped = sorted(set(train_loader.skipped) | set(val_loader.skipped))
    if skipped:
        log(f"{len(skipped)} unreadable image file(s) were skipped: " + ", ".join(skipped[:5])
            + (" ..." if len(skipped) > 5 else ""))
    return history


def _train_epoch(model, optimizer, loader, epoch, cfg):
    from tqdm import tqdm

    reseed(cfg.seed, epoch)
    loader.set_epoch(epoch)
    model.train()
    start, seen, loss_sum = time.perf_counter(), 0, 0.0
    # On the GPU: the pool's bytes in use, sampled after each forward and backward (reading the
    # pool's counters does not wait for the GPU), and out-of-memory errors to explain.
    pool = backend.gpu_memory_pool() if backend.normalize_device(cfg.device) == "cuda" else None
    out_of_memory = backend.out_of_memory_errors(cfg.device)  # () on the CPU: catches nothing
    peak = 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress, leave=False,
               unit="batch", file=sys.stderr)
    for step, (x, y) in enumerate(bar):
        try:
            loss = F.cross_entropy(model(Tensor(x, device=cfg.device)), Tensor(y, device=cfg.device))
            if pool is not None:
                peak = max(peak, pool.used_bytes())
            value = loss.item()
            if not math.isfinite(value):
                raise TrainingDiverged(
                    f"the loss became {value} at epoch {epoch + 1}, step {step + 1} (learning rate "
                    f"{optimizer.lr:g}); nothing of this epoch was saved. Try a smaller --lr (e.g. "
                    f"{optimizer.lr / 10:g}) or batch size, or check the input data for extreme values."
                )
            optimizer.zero_grad()
            loss.backward()
            if pool is not None:
                peak = max(peak, pool.used_bytes())
            optimizer.step()
        except out_of_memory as e:
            raise _out_of_memory(e, cfg.batch_size, f"in training (epoch {epoch + 1}, step {step + 1})") from e
        seen += len(y)
        loss_sum += value * len(y)
        elapsed = time.perf_counter() - start
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", lr=f"{optimizer.lr:.3g}", img_s=f"{seen / elapsed:.0f}")
    bar.close()
    elapsed = time.perf_counter() - start
    if seen == 0:
        raise RuntimeError("the training epoch saw no images (all skipped as unreadable?)")
    metrics = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "lr": optimizer.lr, "train_images": seen,
               "train_seconds": elapsed, "images_per_second": seen / elapsed}
    if pool is not None:
        metrics.update(gpu_memory_peak_bytes=int(peak), gpu_memory_held_bytes=int(pool.total_bytes()))
    return metrics


def _epoch_line(m, epochs):
    line = (f"epoch {m['epoch']}/{epochs}  train loss {m['train_loss']:.4f}  val loss {m['val_loss']:.4f}  "
            f"top-1 {m['top1']:.1%}  top-5 {m['top5']:.1%}  lr {m['lr']:.3g}  "
            f"{m['train_seconds']:.1f} s ({m['images_per_second']:.0f} img/s)")
    if "gpu_memory_peak_bytes" in m:
        line += (f"  GPU memory {m['gpu_memory_peak_bytes'] / 2**30:.2f} GiB in use at most, "
                 f"{m['gpu_memory_held_bytes'] / 2**30:.2f} GiB held by the pool")
    if m.get("skipped_files"):
        line += f"  [{m['skipped_files']} unreadable files skipped]"
    return line


def _record(cfg, model, optimizer, scheduler, classes, size, history):
    """metrics.jsonl, curves.png and the two checkpoints of the epoch just finished."""
    epoch = history[-1]["epoch"]
    with open(os.path.join(cfg.output_dir, "metrics.jsonl"), "a") as f:
        f.write(json.dumps(history[-1]) + "\n")
    _plot(history, os.path.join(cfg.output_dir, "curves.png"))
    meta = {
        "epoch": epoch, "lr": optimizer.lr, "scheduler": scheduler.state_dict(), "classes": classes,
        "model": cfg.model, "variant": cfg.variant, "num_classes": len(classes), "image_size": size,
        "seed": cfg.seed, "rng": f"reseeded at every epoch from (seed, epoch) = ({cfg.seed}, epoch)",
        "flags": asdict(cfg), "history": history, "tinynet": __version__,
    }
    path = save_checkpoint(os.path.join(cfg.output_dir, f"checkpoint_epoch{epoch}.npz"), model, optimizer, meta)
    save_checkpoint(os.path.join(cfg.output_dir, "checkpoint.npz"), model, optimizer, meta)
    return path


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


def load_model(path, device="cpu"):
    """The model stored in a checkpoint, ready for evaluation; returns (model, meta)."""
    ckpt = load_checkpoint(path)
    meta = ckpt.meta
    model = build_model(meta["variant"], meta["num_classes"], meta["image_size"])
    try:
        model.load_state_dict(ckpt.model_state)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} does not fit AlexNet ({meta['variant']}): {e}") from None
    return model.to(device).eval(), meta
