"""A training run's output folder: choosing it, checking it, and the files it holds besides checkpoints.

    checkpoint.npz, checkpoint_epoch<k>.npz   written by tinynet.checkpoint (atomically)
    metrics.jsonl                            one JSON line per epoch, rewritten whole (atomically) after
                                             every epoch from the run's history, so a resumed run's file
                                             reads as one run: epochs 1, 2, ..., k, each once
    curves.png                               loss and accuracy per epoch (matplotlib, if installed)

A folder "holds a run" when it has checkpoint.npz or metrics.jsonl. A run is never written over one
silently: ``choose`` moves the default folder (runs/alexnet) on to runs/alexnet-2, -3, ... and says so,
and refuses an --output-dir given on the command line that holds a run unless it continues that run
(--resume of a checkpoint in it) or --overwrite was given.
"""
import json
import os
import tempfile

from tinynet.checkpoint import CheckpointError, read_meta, remove_stale_temporaries
from tinynet.train_flags import DEFAULT_OUTPUT_DIR, ConfigError

RUN_MARKERS = ("checkpoint.npz", "metrics.jsonl")


def run_files(folder):
    """The files of a run in ``folder`` (checkpoints, metrics.jsonl, curves.png), sorted; [] if none."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if n in ("metrics.jsonl", "curves.png")
                  or (n.startswith("checkpoint") and n.endswith(".npz")))


def run_markers(folder):
    """Which of RUN_MARKERS ``folder`` holds: a folder with any of them holds a run."""
    return [n for n in RUN_MARKERS if os.path.isfile(os.path.join(folder, n))]


def choose(output_dir, resume, overwrite, log=print):
    """The folder this run writes to (see the module docstring); ConfigError if it would overwrite a run."""
    if output_dir is None:
        if resume is not None:
            return _continuing(os.path.dirname(os.path.abspath(resume)) or ".", resume)
        folder, n = DEFAULT_OUTPUT_DIR, 1
        while run_markers(folder):
            n += 1
            folder = f"{DEFAULT_OUTPUT_DIR}-{n}"
        if n > 1:
            log(f"{DEFAULT_OUTPUT_DIR} holds an earlier run; this run goes to {folder} "
                f"(give --output-dir to choose, --resume to continue a run)")
        return folder
    if resume is not None and os.path.realpath(output_dir) == os.path.realpath(os.path.dirname(os.path.abspath(resume))):
        return _continuing(output_dir, resume)
    found = run_markers(output_dir)
    if found:
        if overwrite:
            for name in run_files(output_dir):
                os.remove(os.path.join(output_dir, name))
            log(f"--overwrite: removed the earlier run's files in {output_dir}")
            return output_dir
        raise ConfigError(
            f"--output-dir {output_dir} holds a run ({', '.join(found)})"
            f": continue it with --resume {os.path.join(output_dir, 'checkpoint.npz')}, replace it with --overwrite, "
            "or choose another --output-dir")
    return output_dir


def _continuing(folder, resume):
    """The folder of the checkpoint resumed, unless its checkpoint.npz has got further than ``resume``
    (continuing there would replace a later checkpoint)."""
    latest = os.path.join(folder, "checkpoint.npz")
    if os.path.isfile(latest) and not os.path.samefile(latest, resume):
        try:
            ahead, at = read_meta(latest)["epoch"], read_meta(resume)["epoch"]
        except (CheckpointError, KeyError, TypeError):
            return folder  # a damaged checkpoint.npz is not a later good one; resume's own errors come later
        if isinstance(ahead, int) and isinstance(at, int) and ahead > at:
            raise ConfigError(
                f"{latest} is at epoch {ahead}, later than {resume} (epoch {at}): continuing in {folder} would "
                f"replace it; give --output-dir NEW to go on from epoch {at} elsewhere, or resume {latest}")
    return folder


def prepare(folder, log=print):
    """Create ``folder`` if needed and check that it takes files, before any training; remove the
    temporary files of checkpoint writers that died. ConfigError naming the folder otherwise."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigError(f"--output-dir {folder} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ConfigError(f"--output-dir {folder} can't be written to: {e.strerror or e}") from None
    for path in remove_stale_temporaries(folder):
        log(f"removed {path}, left by a checkpoint write that was killed")
    return folder


def write_metrics(folder, history):
    """metrics.jsonl from the whole history, written to a temporary file and renamed into place."""
    path = os.path.join(folder, "metrics.jsonl")
    _replace(path, "".join(json.dumps(h) + "\n" for h in history).encode("utf-8"))
    return path


def _replace(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def plot_curves(history, path):
    """curves.png: cross-entropy (train, validation) and validation top-1/top-5 per epoch; None
    without matplotlib."""
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
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
