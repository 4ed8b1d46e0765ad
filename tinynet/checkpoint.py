"""Checkpoints: a model's, an optimizer's and a schedule's state in one .npz file, written atomically.

Layout of the file (a NumPy .npz, i.e. a zip of .npy arrays):

    model/<name>          every entry of model.state_dict(), e.g. model/features.0.weight
    optim/buffer/<i>      the SGD momentum buffer of parameter i (absent before the first step)
    meta                  UTF-8 JSON as a uint8 array: epoch, optimizer hyper-parameters,
                          schedule state, class names, variant, flags, format version

Loading uses ``np.load(allow_pickle=False)``: a checkpoint is data, never code.

Writing goes to a temporary file in the same folder, is flushed to disk, and
then renamed over the target (``os.replace``, atomic on POSIX and Windows), so
a crash or a full disk while writing leaves the previous checkpoint intact.
"""
import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint can't be read, or doesn't fit the model it is loaded into."""


@dataclass
class Checkpoint:
    model_state: dict
    optimizer_state: dict = None
    meta: dict = field(default_factory=dict)


def save_checkpoint(path, model, optimizer=None, meta=None):
    """Write ``model`` (and ``optimizer``) plus ``meta`` (JSON-serialisable) to ``path``, atomically."""
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    meta = dict(meta or {})
    meta["format"] = FORMAT_VERSION
    if optimizer is not None:
        state = optimizer.state_dict()
        buffers = state.pop("buffers")
        meta["optimizer"] = state
        meta["optimizer"]["n_params"] = len(buffers)
        for i, b in enumerate(buffers):
            if b is not None:
                arrays[f"optim/buffer/{i}"] = b
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path):
    """Read a checkpoint written by ``save_checkpoint``; clear errors for a missing or damaged file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupt and can't be read ({type(e).__name__}: {e}); "
            "an earlier checkpoint_epoch*.npz in the same folder may still be good"
        ) from None
    if "meta" not in arrays:
        raise CheckpointError(f"{path} is an .npz file but not a tinynet checkpoint (no 'meta' entry)")
    meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format {meta.get('format')}, this tinynet reads {FORMAT_VERSION}")
    model_state = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    optimizer_state = None
    if "optimizer" in meta:
        optimizer_state = dict(meta["optimizer"])
        n = optimizer_state.pop("n_params")
        optimizer_state["buffers"] = [arrays.get(f"optim/buffer/{i}") for i in range(n)]
    return Checkpoint(model_state, optimizer_state, meta)
