"""A training run's output folder: choosing it, claiming it, and the files it holds besides checkpoints.

    checkpoint.npz, checkpoint_epoch<k>.npz   written by tinynet.checkpoint (atomically)
    metrics.jsonl                            one JSON line per epoch, rewritten whole (atomically) after
                                             every epoch from the run's history, so a resumed run's file
                                             reads as one run: epochs 1, 2, ..., k, each once
    curves.png                               loss and accuracy per epoch, and each parameter layer's mean
                                             |gradient| (log scale) where the history has it (matplotlib,
                                             if installed)
    conv_algorithms.json                     the algorithm each convolution shape used (im2col or a
                                             Winograd variant: tinynet/functional/conv_choice.py), as the
                                             checkpoint records them for --resume

A folder "holds a run" when it has checkpoint.npz, a checkpoint_epoch<k>.npz or metrics.jsonl. A run is
never written over one silently: ``open_run`` moves the default folder (runs/alexnet) on to
runs/alexnet-2, -3, ... and says so, and refuses an --output-dir that holds a run unless it continues
that same run (--resume of a checkpoint of it) or --overwrite was given; --overwrite removes the
earlier run's files only when the new run records its first epoch, so a run that fails to start
loses nothing. While a run trains, it holds a lock on its folder (flock, where the OS has it): a
second run started into the same folder at the same time is refused, or, for the default folder,
moves on to the next number.
"""
import json
import os
import re
import tempfile

from tinynet.checkpoint import CheckpointError, read_meta, remove_stale_temporaries
from tinynet.train_flags import DEFAULT_OUTPUT_DIR, ConfigError

try:
    import fcntl
except ImportError:  # Windows: no flock; folders are not locked there
    fcntl = None

_CHECKPOINT = re.compile(r"checkpoint(_epoch\d+)?\.npz")


def run_files(folder):
    """The files of a run in ``folder`` (checkpoints, metrics.jsonl, curves.png, conv_algorithms.json), sorted;
    [] if none."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if n in ("metrics.jsonl", "curves.png", "conv_algorithms.json")
                  or _CHECKPOINT.fullmatch(n))


def run_markers(folder):
    """The files that make ``folder`` hold a run: its checkpoints and metrics.jsonl ([] if none)."""
    return [n for n in run_files(folder) if n not in ("curves.png", "conv_algorithms.json")
            and os.path.isfile(os.path.join(folder, n))]


class RunFolder:
    """The folder a run writes to, locked for as long as it is open.

    path        the folder
    earlier     the files of an earlier run that --overwrite replaces, removed by ``clear_earlier``
    """

    def __init__(self, path, lock_fd, earlier=()):
        self.path, self._fd, self.earlier = path, lock_fd, list(earlier)

    def clear_earlier(self, log=print, keep=()):
        """Remove the earlier run's files but those in ``keep`` (the new run's, just written); once."""
        for name in self.earlier:
            if name in keep:
                continue
            try:
                os.remove(os.path.join(self.path, name))
            except FileNotFoundError:
                pass
        if self.earlier:
            log(f"--overwrite: removed the earlier run's files from {self.path}")
        self.earlier = []

    def close(self):
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_run(output_dir, resume, overwrite, log=print):
    """Choose, create, check and lock the folder of a run (see the module docstring); a RunFolder, or
    ConfigError naming the folder and what to do."""
    if output_dir is None and resume is None:  # the default folder, or the first free numbered one
        n = 1
        while True:
            folder = DEFAULT_OUTPUT_DIR if n == 1 else f"{DEFAULT_OUTPUT_DIR}-{n}"
            if not run_markers(folder):
                lock = _lock(prepare(folder, log, what=f"the default output folder {folder} (give --output-dir)"))
                if lock is not False:
                    break
            n += 1
        if n > 1:
            log(f"{DEFAULT_OUTPUT_DIR} holds an earlier run; this run goes to {folder} "
                f"(give --output-dir to choose, --resume to continue a run)")
        _remove_stale(folder, log)
        return RunFolder(folder, lock)
    earlier = []
    if resume is not None and (output_dir is None or _same_folder(output_dir, resume)):
        folder = _continuing(output_dir or os.path.dirname(os.path.abspath(resume)) or ".", resume)
    else:
        folder, found = output_dir, run_markers(output_dir)
        if found and not overwrite:
            newest = _newest_checkpoint(found)
            resume_it = f"continue it with --resume {os.path.join(folder, newest)}, " if newest else ""
            raise ConfigError(f"--output-dir {folder} holds a run ({', '.join(found)}): {resume_it}replace it with "
                              "--overwrite, or choose another --output-dir")
        earlier = run_files(folder) if found else []
    lock = _lock(prepare(folder, log))
    if lock is False:
        raise ConfigError(f"another tinynet train is writing to {folder} right now: wait for it, or give another "
                          "--output-dir")
    _remove_stale(folder, log)  # only once the folder is ours: no writer of this run can be in it
    return RunFolder(folder, lock, earlier)


def _newest_checkpoint(names):
    """checkpoint.npz if among ``names``, else the checkpoint_epoch<k>.npz of the largest k, else None."""
    if "checkpoint.npz" in names:
        return "checkpoint.npz"
    epochs = [int(n[len("checkpoint_epoch"):-len(".npz")]) for n in names if n.startswith("checkpoint_epoch")]
    return f"checkpoint_epoch{max(epochs)}.npz" if epochs else None


def _lock(folder):
    """An open descriptor of ``folder`` holding an exclusive flock, False if another process holds
    one, None where the OS has no flock."""
    if fcntl is None:
        return None
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    return fd


def _same_folder(a, b_file):
    return os.path.realpath(a) == os.path.realpath(os.path.dirname(os.path.abspath(b_file)))


def _continuing(folder, resume):
    """The folder of the checkpoint resumed, if continuing there replaces nothing of value: its
    checkpoint.npz, if any, must be of the same run (the one's history starts the other's) and not
    further on than ``resume``."""
    latest = os.path.join(folder, "checkpoint.npz")
    if not os.path.isfile(latest) or os.path.samefile(latest, resume):
        return folder
    try:
        theirs, mine = read_meta(latest), read_meta(resume)
    except CheckpointError:
        return folder  # a damaged checkpoint.npz is not a good one to keep; resume's own errors come later
    ahead, at = theirs.get("epoch"), mine.get("epoch")
    a, b = theirs.get("history"), mine.get("history")
    if isinstance(a, list) and isinstance(b, list) and a[:len(b)] != b[:len(a)]:
        raise ConfigError(
            f"{folder} holds another run: {latest} is not from the run of {resume} (their histories differ); "
            f"continuing there would replace it: give --output-dir NEW to continue {resume} elsewhere")
    if isinstance(ahead, int) and isinstance(at, int) and ahead > at:
        raise ConfigError(
            f"{latest} is at epoch {ahead}, later than {resume} (epoch {at}): continuing in {folder} would "
            f"replace it; give --output-dir NEW to go on from epoch {at} elsewhere, or resume {latest}")
    return folder


def prepare(folder, log=print, what=None):
    """Create ``folder`` if needed and check that it takes files, before any training: ConfigError
    naming it (as ``what``, default "--output-dir <folder>") otherwise."""
    what = what or f"--output-dir {folder}"
    if os.path.islink(folder) and not os.path.exists(folder):
        raise ConfigError(f"{what} is a broken symbolic link (or a loop of them)")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigError(f"{what} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ConfigError(f"{what} can't be written to: {e.strerror or e}") from None
    odd = [n for n in run_files(folder) if not os.path.isfile(os.path.join(folder, n))
           or os.path.islink(os.path.join(folder, n))]
    if odd:  # a folder (or a link) where a checkpoint or metrics.jsonl is to be written
        raise ConfigError(f"{what} holds {', '.join(odd)}, which is not a regular file: a run can't write it; "
                          "remove it or choose another --output-dir")
    return folder


def _remove_stale(folder, log):
    for path in remove_stale_temporaries(folder):
        log(f"removed {path}, left by a checkpoint write that was killed")


def write_metrics(folder, history):
    """metrics.jsonl from the whole history, written to a temporary file and renamed into place."""
    path = os.path.join(folder, "metrics.jsonl")
    _replace(path, "".join(json.dumps(h) + "\n" for h in history).encode("utf-8"))
    return path


def write_conv_algorithms(folder, table):
    """conv_algorithms.json: {shape key: algorithm} (conv_choice.choices()), written as metrics.jsonl is."""
    path = os.path.join(folder, "conv_algorithms.json")
    _replace(path, (json.dumps(table, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return path


def _replace(path, data):
    """Write ``data`` to a fresh temporary file beside ``path`` (never through a planted link), then
    rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        _readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


replace_file = _replace  # the public name, for the other writers of results (tinynet/experiments.py)


def save_figure(fig, path, prefix="figure."):
    """``fig.savefig`` into a fresh temporary file beside ``path`` (the format from ``path``'s extension),
    renamed over ``path``; the figure is closed and no temporary file is left, whatever happens."""
    import matplotlib.pyplot as plt

    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=prefix, suffix=os.path.splitext(path)[1])
    os.close(fd)  # a fresh file of ours (never a planted link), which savefig writes over
    try:
        fig.savefig(tmp, dpi=100)
        _readable(tmp)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _readable(tmp):
    """Give a fresh temporary file (mkstemp makes it 0600) the mode a plain open() would: 0666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)


def plot_curves(history, path):
    """curves.png: cross-entropy (train, validation) and validation top-1/top-5 per epoch, and, where the
    history has "grad_abs_mean" (runs since it was recorded), a third panel: each parameter layer's mean
    |gradient| per epoch, one line per layer on a log scale (epochs without it, such as those of an older
    run resumed, are left out of the lines); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [h["epoch"] for h in history]
    layers = list(dict.fromkeys(name for h in history for name in h.get("grad_abs_mean", {})))  # in model order
    fig, axes = plt.subplots(1, 3 if layers else 2, figsize=(15 if layers else 10, 4))
    ax1, ax2 = axes[:2]
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    ax1.set_xlabel("epoch"), ax1.set_ylabel("cross-entropy"), ax1.legend(), ax1.grid(alpha=0.3)
    ax2.plot(epochs, [100 * h["top1"] for h in history], "o-", label="top-1")
    ax2.plot(epochs, [100 * h["top5"] for h in history], "o-", label="top-5")
    ax2.set_xlabel("epoch"), ax2.set_ylabel("validation accuracy (%)"), ax2.legend(), ax2.grid(alpha=0.3)
    ax2.set_ylim(0, 100)
    if layers:
        _plot_grad_sizes(axes[2], history, layers)
    fig.tight_layout()
    return save_figure(fig, path, prefix="curves.")


def _plot_grad_sizes(ax, history, layers):
    """One line per layer: its mean |gradient| (> 0) at each epoch that recorded it, log scale."""
    drawn = False
    for name in layers:
        points = [(h["epoch"], h["grad_abs_mean"][name]) for h in history
                  if h.get("grad_abs_mean", {}).get(name, 0) > 0]
        if points:
            ax.plot(*zip(*points), "o-", markersize=3, label=name)
            drawn = True
    ax.set_yscale("log")
    ax.set_xlabel("epoch"), ax.set_ylabel("mean |gradient| of the weights"), ax.grid(alpha=0.3, which="both")
    if drawn:
        ax.legend(fontsize=7, ncol=2)
