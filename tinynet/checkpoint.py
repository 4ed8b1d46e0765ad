"""Checkpoints: a model's, an optimizer's and a schedule's state in one .npz file, written atomically.

Layout of the file (a NumPy .npz, i.e. a zip of .npy arrays, one member per entry):

    model/<name>.npy      every entry of model.state_dict(), e.g. model/features.0.weight: floats, except
                          the integer or bool buffers (a step counter) that meta's "model_integer" lists
    optim/buffer/<i>.npy  the SGD momentum buffer of parameter i, 0 <= i < n_params (absent before
                          the first step): the layout of an SGD with one param group and maximize=False
    optim/<key>/<i>.npy   any other optimizer (Adam, AdamW, RMSprop, Adagrad, SGD with several groups):
                          state[i][key] of its state_dict(), e.g. optim/exp_avg/3
    meta.npy              UTF-8 JSON as a 1-D uint8 array, a JSON object: "format" (FORMAT_VERSION),
                          "optimizer" {lr, momentum, dampening, weight_decay, nesterov, n_params} (the
                          SGD layout) or {type, n_params, param_groups, steps} (the general one: the
                          class name, state_dict()'s param_groups, and each parameter's int "step" or null),
                          "model_integer" [the model/ names that hold ints or bools; absent if none],
                          and the training loop's fields (epoch, schedule state, classes, variant, flags)

Loading reads the zip directly and opens only the members it needs (meta, model/*, optim/buffer/*);
any other member is never opened, so it costs no time or memory and nothing in it runs. What it
checks, each failure a CheckpointError naming the file and the member or field:

    meta       a 1-D uint8 member of at most MAX_META_BYTES, UTF-8 JSON of an object; "format" is
               FORMAT_VERSION; "optimizer", if present, holds finite numbers >= 0 for lr, momentum,
               dampening and weight_decay, a bool nesterov, and an int n_params (SGD layout), or a
               known type, n_params, param_groups whose "params" lists share out 0..n_params-1 and
               whose values are bools, finite numbers or lists of them, and steps (general layout);
               "model_integer", if present, a list of distinct model/ names
    each needed member, from its .npy header, before its data is read: stored or deflated, listed
               once, a size its compressed bytes can really hold; a float dtype for optim/ and for
               model/ (an int or bool dtype for the model/ names "model_integer" lists, and only
               for them; never strings, objects, complex or records: nothing is ever unpickled);
               shape x itemsize + header length = the member's size in the zip directory
    names and shapes, before any tensor data is read: with ``model_shapes``, the model/ names and
               shapes (missing, unexpected and mismatched all listed); with ``param_shapes``, n_params
               and each optim/buffer/<i>'s (optim/<key>/<i>'s) shape; always, buffer indices below
               n_params and keys the optimizer's state holds, and (without
               ``model_shapes``) at least one model/ tensor
    the data, read in chunks, never allocating more than the member holds: every float finite

``read_meta`` reads and checks only the meta member, and ``require`` checks one field of it for the
callers that own the other fields (the training loop's epoch, classes, schedule, ...).

Writing goes to ``<path>.tmp-<pid>`` in the same folder, is flushed to disk, and then renamed over
the target (``os.replace``, atomic on POSIX and Windows), so a crash or a full disk while writing
leaves the previous checkpoint intact; a failed write removes its temporary file and raises one
CheckpointError naming the path and the OS error. A writer killed mid-write leaves its temporary
behind: ``remove_stale_temporaries(folder)`` removes those of processes that no longer run.
"""
import json
import math
import os
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from tinynet._npz import TEMPORARY, claims_too_much, os_reason, read_npy_header, temporary_path, write_atomically
from tinynet._npz import shown as _shown
from tinynet.optim import SGD, Adagrad, Adam, AdamW, RMSprop

FORMAT_VERSION = 1
MAX_META_BYTES = 4 * 2**20  # the JSON metadata; a run's history is a few hundred bytes per epoch
_MAX_PARAMS = 10**6  # parameter tensors of one optimizer (a sanity bound: AlexNet has 16)
_CHUNK = 16 * 2**20
_MISSING = object()


class CheckpointError(RuntimeError):
    """A checkpoint can't be read or written, or doesn't fit the model it is loaded into."""


@dataclass
class Checkpoint:
    model_state: dict
    optimizer_state: dict = None
    meta: dict = field(default_factory=dict)


# --- checking metadata fields -----------------------------------------------------------------
_KIND_NAMES = {int: "an int", float: "a finite number", bool: "a bool", str: "a string", list: "a list",
               dict: "an object", type(None): "null"}


def _is_kind(value, kind):
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        try:
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        except OverflowError:  # an int of hundreds of digits: not a number a checkpoint holds
            return False
    return isinstance(value, kind)


def require(meta, key, kind, path, check=None, what=None, default=_MISSING):
    """``meta[key]``, checked; otherwise a CheckpointError naming ``path`` and the field.

    key      a field name, or a dotted path into nested objects ("scheduler.T_max")
    kind     int, float, bool, str, list, dict or type(None), or a tuple of them. int and float
             never accept a bool; float accepts an int and means a finite number (no NaN, no inf)
    check    optional ``value -> bool``, called once the kind is right, for a range or a set
    what     what the message says the value must be (default: the kind, e.g. "an int")
    default  returned when the field (the last part of ``key``) is absent; without it, absent is
             an error

        >>> require(meta, "epoch", int, path, check=lambda v: v >= 0, what="an int >= 0")
        CheckpointError: checkpoint runs/a/checkpoint.npz: field 'epoch' must be an int >= 0, got '3'
    """
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if k not in _KIND_NAMES:
            raise TypeError(f"require: kind must be one of int, float, bool, str, list, dict, "
                            f"type(None), got {k!r}")
    what = what or " or ".join(_KIND_NAMES[k] for k in kinds)
    if not isinstance(key, str) or not key:
        raise TypeError(f"require: key must be a field name such as 'epoch' or 'scheduler.T_max', got {key!r}")
    parts = key.split(".")
    value = meta
    for depth, part in enumerate(parts):
        if not isinstance(value, dict):
            name = ".".join(parts[:depth]) or "meta"
            raise CheckpointError(f"checkpoint {path}: field '{name}' must be an object, got {_shown(value)}")
        if part not in value:
            if depth == len(parts) - 1 and default is not _MISSING:
                return default
            raise CheckpointError(f"checkpoint {path}: field '{'.'.join(parts[:depth + 1])}' is missing "
                                  f"(it must be {what})")
        value = value[part]
    if not any(_is_kind(value, k) for k in kinds) or (check is not None and not check(value)):
        raise CheckpointError(f"checkpoint {path}: field '{key}' must be {what}, got {_shown(value)}")
    return value


def _check_meta(meta, path):
    """Refuse metadata of another format or with a malformed "optimizer"; returns ``meta``."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint {path}: field 'meta' must be a JSON object, got {_shown(meta)}")
    require(meta, "format", int, path, check=lambda v: v == FORMAT_VERSION,
            what=f"{FORMAT_VERSION} (the checkpoint format this tinynet reads)")
    record = require(meta, "optimizer", dict, path, default=None)
    if record is not None and "type" in record:
        _check_general_record(meta, path)
    elif record is not None:
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            require(meta, f"optimizer.{name}", float, path, check=lambda v: v >= 0, what="a finite number >= 0")
        require(meta, "optimizer.nesterov", bool, path)
        require(meta, "optimizer.n_params", int, path, check=lambda v: 0 <= v <= _MAX_PARAMS,
                what=f"an int from 0 to {_MAX_PARAMS}")
    require(meta, "model_integer", list, path, default=None, what="a list of distinct model entry names",
            check=lambda v: all(isinstance(k, str) for k in v) and len(set(v)) == len(v))
    return meta


# --- the optimizer's record ----------------------------------------------------------------------
SGD_FIELDS = ("lr", "momentum", "dampening", "weight_decay", "nesterov")
# The optimizers a checkpoint holds, by class name, and the arrays each one's state may hold.
OPTIMIZERS = {cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad)}


def _is_value(v):
    """A hyper-parameter a checkpoint stores: a bool, a finite number, or a list of finite numbers (betas)."""
    if isinstance(v, list):
        return bool(v) and all(_is_kind(x, float) for x in v)
    return isinstance(v, bool) or _is_kind(v, float)


def _check_general_record(meta, path):
    """The general layout's "optimizer": type, n_params, param_groups sharing out the indices, steps."""
    require(meta, "optimizer.type", str, path, check=lambda v: v in OPTIMIZERS, what=f"one of {', '.join(OPTIMIZERS)}")
    n = require(meta, "optimizer.n_params", int, path, check=lambda v: 0 <= v <= _MAX_PARAMS,
                what=f"an int from 0 to {_MAX_PARAMS}")
    groups = require(meta, "optimizer.param_groups", list, path, check=lambda v: 0 < len(v) <= _MAX_PARAMS,
                     what="a non-empty list of param groups")
    seen = []
    for k, group in enumerate(groups):
        at = f"optimizer.param_groups[{k}]"
        if not isinstance(group, dict):
            raise CheckpointError(f"checkpoint {path}: field '{at}' must be an object, got {_shown(group)}")
        params = group.get("params")
        if not isinstance(params, list) or not all(_is_kind(i, int) for i in params):
            raise CheckpointError(f"checkpoint {path}: field '{at}.params' must be a list of parameter indices, "
                                  f"got {_shown(params)}")
        seen += params
        for key, v in group.items():
            if key != "params" and not _is_value(v):
                raise CheckpointError(f"checkpoint {path}: field '{at}.{key}' must be a bool, a finite number or "
                                      f"a list of finite numbers, got {_shown(v)}")
    if sorted(seen) != list(range(n)):
        raise CheckpointError(f"checkpoint {path}: the param_groups' 'params' of field 'optimizer' must share out "
                              f"the indices 0..{n - 1} once each (n_params {n}), got {_shown(seen)}")
    require(meta, "optimizer.steps", list, path, what=f"a list of {n} ints >= 0 or nulls",
            check=lambda v: len(v) == n and all(s is None or (_is_kind(s, int) and s >= 0) for s in v))


def optimizer_record(optimizer):
    """(meta "optimizer", {member name: array}) of ``optimizer``: the SGD layout where it fits (an SGD
    with one param group, maximize=False and no other group keys), else the general one."""
    if type(optimizer).__name__ == "SGD" and len(optimizer.param_groups) == 1 and (
            set(optimizer.param_groups[0]) == {*SGD_FIELDS, "maximize", "params"}) and \
            not optimizer.param_groups[0]["maximize"]:
        fields, buffers = sgd_fields(optimizer)
        arrays = {f"optim/buffer/{i}": b for i, b in enumerate(buffers) if b is not None}
        return {**fields, "n_params": len(buffers)}, arrays
    name = type(optimizer).__name__
    if name not in OPTIMIZERS:
        raise CheckpointError(f"a checkpoint holds one of the optimizers {', '.join(OPTIMIZERS)}, got {name}")
    state = optimizer.state_dict()
    n = sum(len(g["params"]) for g in state["param_groups"])
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state["param_groups"]]
    steps = [state["state"].get(i, {}).get("step") for i in range(n)]
    arrays = {f"optim/{key}/{i}": v for i, entry in state["state"].items() for key, v in entry.items()
              if key != "step"}
    return {"type": name, "n_params": n, "param_groups": groups, "steps": steps}, arrays


def optimizer_type(optimizer_state):
    """The class name of the optimizer a checkpoint's ``optimizer_state`` is of ("SGD" for the SGD layout)."""
    return optimizer_state.get("type", "SGD")


def optimizer_state_dict(optimizer_state):
    """The ``state_dict()`` that ``load_checkpoint``'s ``optimizer_state`` stands for, of either layout."""
    if "type" not in optimizer_state:
        return sgd_state_dict(optimizer_state)
    return {"state": optimizer_state["state"], "param_groups": optimizer_state["param_groups"]}


def sgd_fields(optimizer):
    """The checkpoint's record of an SGD optimizer with one param group: ({lr, momentum, dampening,
    weight_decay, nesterov}, [momentum buffer or None per parameter]) from its ``state_dict()``."""
    state = optimizer.state_dict()
    groups = state["param_groups"]
    if type(optimizer).__name__ != "SGD" or len(groups) != 1 or groups[0].get("maximize"):
        raise CheckpointError(f"a checkpoint holds an SGD optimizer with one param group and maximize=False, "
                              f"got {type(optimizer).__name__} with {len(groups)} param group(s)")
    fields = {k: groups[0][k] for k in SGD_FIELDS}
    return fields, [state["state"].get(i, {}).get("momentum_buffer") for i in groups[0]["params"]]


def sgd_state_dict(optimizer_state):
    """The ``SGD.state_dict()`` that a checkpoint's ``optimizer_state`` (the fields and "buffers", as
    ``load_checkpoint`` returns them) stands for: one param group over parameters 0..n-1."""
    buffers = optimizer_state["buffers"]
    group = {**{k: optimizer_state[k] for k in SGD_FIELDS}, "maximize": False, "params": list(range(len(buffers)))}
    return {"state": {i: {"momentum_buffer": b} for i, b in enumerate(buffers) if b is not None},
            "param_groups": [group]}


# --- writing -------------------------------------------------------------------------------------
def save_checkpoint(path, model, optimizer=None, meta=None):
    """Write ``model`` (and ``optimizer``) plus ``meta`` (JSON-serialisable) to ``path``, atomically.

    Returns ``path``. An OS error (a full disk, a read-only folder) becomes one CheckpointError naming
    ``path`` and the error, with the OSError as its ``__cause__``; the temporary file is removed and
    a previous checkpoint at ``path`` is left as it was. Ctrl-C also removes the temporary file.
    """
    model_state = model.state_dict()
    arrays = {f"model/{k}": v for k, v in model_state.items()}
    meta = dict(meta or {})
    meta["format"] = FORMAT_VERSION
    meta.pop("model_integer", None)  # the file's own record, never the caller's
    integer = [k for k, v in model_state.items() if v.dtype.kind != "f"]  # int and bool buffers
    if integer:
        meta["model_integer"] = integer
    if optimizer is not None:
        meta["optimizer"], optim_arrays = optimizer_record(optimizer)
        arrays.update(optim_arrays)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    path, tmp = os.fspath(path), temporary_path(os.fspath(path))
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_atomically(path, lambda f: np.savez(f, **arrays))
    except OSError as e:
        reason = os_reason(e)
        if e.filename and os.fspath(e.filename) not in (tmp, path):  # e.g. a folder on the way is a file
            reason += f": {os.fspath(e.filename)}"
        after = (f"the previous {path} is intact" if os.path.isfile(path)
                 else "no checkpoint was written there")
        if os.path.lexists(tmp):  # write_atomically could not remove it
            after += f"; the temporary file {tmp} could not be removed"
        raise CheckpointError(f"could not write checkpoint {path}: {reason}; {after}") from e
    return path


def remove_stale_temporaries(folder):
    """Remove the ``*.tmp-<pid>`` files that killed ``save_checkpoint`` calls left in ``folder``.

    A file is removed only if it is a regular file (a link is never followed or removed), its name
    ends in ``.tmp-<pid>``, it is empty or starts like a zip (a partial .npz), and process <pid> is
    neither this one nor running. Returns the paths removed; [] for a missing folder, and on
    Windows, where a process can't be probed without signalling it.
    """
    if os.name == "nt":
        return []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # missing, not a folder, a loop of links, unreadable: nothing of ours to remove
        return []
    removed = []
    for entry in entries:
        match = TEMPORARY.fullmatch(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match.group(1))
        if pid <= 0 or pid == os.getpid() or _alive(pid) or not _looks_partial(entry.path):
            continue
        try:
            os.remove(entry.path)
        except OSError:
            continue
        removed.append(entry.path)
    return removed


def _alive(pid):
    """True unless no process ``pid`` exists (an unprobeable pid counts as alive: keep its file)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # PermissionError: it runs, as another user
        return True
    return True


def _looks_partial(path):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            start = f.read(4)
    except OSError:
        return False
    return start in (b"", b"PK\x03\x04")


# --- reading -------------------------------------------------------------------------------------
def _human(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


class _Archive:
    """An open checkpoint zip: its .npy members by name (without ".npy"), read one header or one
    member at a time, every failure a CheckpointError naming the file and the member."""

    def __init__(self, path):
        self.path = path = _path(path)
        if not os.path.exists(path):
            raise CheckpointError(f"checkpoint {path} does not exist")
        if os.path.isdir(path):
            raise CheckpointError(f"checkpoint {path} is a folder, not a checkpoint file")
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would block or never end
            raise CheckpointError(f"checkpoint {path} is not a regular file")
        try:
            self.disk_size = os.path.getsize(path)
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, ValueError, OverflowError, struct.error) as e:
            raise CheckpointError(
                f"checkpoint {path} is truncated or corrupt and can't be read ({type(e).__name__}: {e}); "
                "an earlier checkpoint_epoch*.npz in the same folder may still be good") from None
        except OSError as e:
            raise CheckpointError(f"checkpoint {path} can't be read: {e.strerror or e}") from None
        self.members, self.twice = {}, set()
        for info in self.zip.infolist():
            if info.filename.endswith(".npy"):
                name = info.filename[: -len(".npy")]
                if name in self.members:
                    self.twice.add(name)
                self.members[name] = info

    def close(self):
        self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fail(self, name, problem):
        return CheckpointError(f"checkpoint {self.path}: member '{name}' {problem}")

    def _corrupt(self, name, e):
        return self._fail(name, f"is truncated or corrupt ({type(e).__name__}: {e})")

    def header(self, name, check_dtype):
        """The checked header of member ``name``; its data is not read. ``check_dtype(name, dtype)``
        refuses a dtype the member must not have, before the sizes (an object array's are meaningless)."""
        info = self.members[name]
        if name in self.twice:
            raise self._fail(name, "appears twice in the zip")
        if info.flag_bits & 0x1:
            raise self._fail(name, "is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self._fail(name, f"uses zip compression method {info.compress_type}; a checkpoint is stored "
                                   "or deflated")
        if claims_too_much(info, self.disk_size):
            raise self._fail(name, f"claims {info.file_size} bytes from {info.compress_size} bytes in a "
                                   f"{self.disk_size}-byte file, more than it can hold: the file is corrupt or forged")
        try:
            with self.zip.open(info) as f:
                header = read_npy_header(f, "a checkpoint")
        except ValueError as e:
            text = str(e) if len(str(e)) <= 200 else str(e)[:197] + "..."  # a forged header can be 10 kB
            raise self._fail(name, f"is not a valid .npy array ({text})") from None
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, NotImplementedError, RuntimeError) as e:
            raise self._corrupt(name, e) from None
        check_dtype(name, header.dtype)
        if header.size + header.nbytes != info.file_size:
            raise self._fail(name, f"declares shape {header.shape} of {header.dtype} = {_human(header.nbytes)} "
                                   f"({header.nbytes} bytes), but holds {info.file_size - header.size} bytes "
                                   "of data: the file is corrupt or forged")
        return header

    def array(self, name, header):
        """The data of member ``name`` (its ``header`` checked already), read in bounded chunks."""
        info, n = self.members[name], header.nbytes
        try:
            with self.zip.open(info) as f:
                f.read(header.size)
                if info.compress_type == zipfile.ZIP_STORED:
                    # The directory's size is backed by as many bytes on disk (checked in header()).
                    buf = np.empty(n, dtype=np.uint8)
                    view, done = memoryview(buf), 0
                    while done < n:
                        got = f.readinto(view[done: done + _CHUNK])
                        if not got:
                            raise EOFError(f"the data ends after {done} of {n} bytes")
                        done += got
                else:  # grow with what the stream really yields
                    buf = bytearray()
                    while len(buf) < n:
                        chunk = f.read(min(_CHUNK, n - len(buf)))
                        if not chunk:
                            raise EOFError(f"the data ends after {len(buf)} of {n} bytes")
                        buf += chunk
                if f.read(1):
                    raise EOFError(f"more than the declared {n} bytes of data")
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, RuntimeError) as e:
            raise self._corrupt(name, e) from None
        flat = np.frombuffer(buf, dtype=header.dtype)
        return flat.reshape(header.shape, order="F" if header.fortran_order else "C")

    def _float_dtype(self, name, dtype):
        if dtype.kind != "f" or dtype.fields is not None:
            raise CheckpointError(f"checkpoint {self.path}: tensor '{name}' has dtype {dtype}; "
                                  "a checkpoint's tensors are floating point")

    def _integer_dtype(self, name, dtype):
        if dtype.kind not in "biu" or dtype.fields is not None:
            raise CheckpointError(f"checkpoint {self.path}: tensor '{name}' has dtype {dtype}; field "
                                  "'model_integer' lists it, so it must hold ints or bools")

    def tensor_header(self, name, integer=False):
        """The header of a model/ or optim/ member, which must hold floats (ints or bools if ``integer``)."""
        return self.header(name, self._integer_dtype if integer else self._float_dtype)

    def tensor(self, name, header):
        """The data of a model/ or optim/ member: floats must be finite (ints and bools always are)."""
        array = self.array(name, header)
        if array.dtype.kind != "f":
            return array
        flat, step = array.ravel(order="K"), _CHUNK // 4  # a view; checked a slice at a time
        bad = sum(len(part) - int(np.count_nonzero(np.isfinite(part)))
                  for part in (flat[i: i + step] for i in range(0, flat.size, step)))
        if bad:
            nan = int(np.count_nonzero(np.isnan(flat)))
            raise CheckpointError(f"checkpoint {self.path}: tensor '{name}' has {bad} non-finite values of "
                                  f"{array.size} ({nan} NaN, {bad - nan} inf); the model it holds is broken")
        return array

    def meta(self):
        """The checked metadata (a dict)."""
        if "meta" not in self.members:
            raise CheckpointError(f"{self.path} is an .npz file but not a tinynet checkpoint (no 'meta' entry)")
        def bytes_only(name, dtype):
            if dtype != np.uint8:
                raise self._fail(name, f"must be a 1-D uint8 array of UTF-8 JSON, got dtype {dtype}")

        header = self.header("meta", bytes_only)
        if len(header.shape) != 1:
            raise self._fail("meta", f"must be a 1-D uint8 array of UTF-8 JSON, got shape {header.shape}")
        if header.nbytes > MAX_META_BYTES:
            raise self._fail("meta", f"is {_human(header.nbytes)}, more than the {_human(MAX_META_BYTES)} "
                                     "a checkpoint's metadata may take")
        raw = self.array("meta", header).tobytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CheckpointError(f"checkpoint {self.path}: field 'meta' is not UTF-8 text (byte "
                                  f"0x{raw[e.start]:02x} at offset {e.start})") from None
        try:
            meta = json.loads(text)
        except RecursionError:
            raise CheckpointError(f"checkpoint {self.path}: field 'meta' is JSON nested too deeply") from None
        except ValueError as e:  # json.JSONDecodeError, or an int of too many digits
            raise CheckpointError(f"checkpoint {self.path}: field 'meta' is not valid JSON ({e})") from None
        return _check_meta(meta, self.path)


def _path(path):
    """``path`` as a str; TypeError for anything that is not a str or an os.PathLike of one."""
    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
        raise TypeError(f"a checkpoint path must be a str or a pathlib.Path, got {type(path).__name__} {path!r}")
    return os.fspath(path)


def read_meta(path):
    """The metadata of the checkpoint at ``path``: a dict, its format and "optimizer" checked; only the
    meta member is read."""
    with _Archive(path) as archive:
        return archive.meta()


def _listed(items, limit=8):
    items = list(items)
    more = f" (and {len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def load_checkpoint(path, model_shapes=None, param_shapes=None, with_optimizer=True):
    """Read a checkpoint written by ``save_checkpoint``.

    model_shapes  optional {state_dict name: shape}: the model the checkpoint is for. Missing and
                  unexpected names and mismatched shapes are refused (all listed) before any tensor
                  data is read.
    param_shapes  optional [shape of parameter i]: the optimizer's parameters, in order. If the
                  checkpoint holds optimizer state, n_params must be len(param_shapes) and
                  optim/buffer/<i> must have shape param_shapes[i].
    with_optimizer  False: the optimizer's buffers are neither checked nor read (optimizer_state is
                  None), for a model that is only evaluated.

    Returns a Checkpoint: model_state {name: array}, optimizer_state (None if saved without an
    optimizer; else the optimizer's state_dict(), "buffers" [array or None] per parameter), meta.
    Any problem is a CheckpointError naming the file and the member or field (see the module's
    docstring for what is checked).
    """
    path = _path(path)
    if model_shapes is not None and not isinstance(model_shapes, dict):
        raise TypeError(f"load_checkpoint: model_shapes must be a dict {{name: shape}}, got "
                        f"{type(model_shapes).__name__}")
    if param_shapes is not None and not isinstance(param_shapes, (list, tuple)):
        raise TypeError(f"load_checkpoint: param_shapes must be a list of shapes, got {type(param_shapes).__name__}")
    with _Archive(path) as archive:
        meta = archive.meta()
        model_names = [k[len("model/"):] for k in archive.members if k.startswith("model/")]
        general = "type" in meta.get("optimizer", {})  # the general layout, else the SGD one
        prefix = "optim/" if general else "optim/buffer/"
        buffer_names = [k for k in archive.members if k.startswith(prefix)]
        problems = []
        if model_shapes is not None:
            expected = {k: tuple(int(d) for d in s) for k, s in model_shapes.items()}
            missing = [f"model/{k}" for k in expected if f"model/{k}" not in archive.members]
            unexpected = [f"model/{k}" for k in model_names if k not in expected]
            if missing:
                problems.append(f"missing {_listed(missing)}")
            if unexpected:
                problems.append(f"unexpected {_listed(unexpected)}")
            model_names = [k for k in model_names if k in expected]
        elif not model_names:
            raise CheckpointError(f"checkpoint {path} holds no model tensors (no model/<name> member)")
        integer = set(meta.get("model_integer", ()))
        stray = sorted(integer - {k[len("model/"):] for k in archive.members if k.startswith("model/")})
        if stray:
            raise CheckpointError(f"checkpoint {path}: field 'model_integer' lists {_listed(stray)}, not a "
                                  "model/ member of the file")
        headers = {}
        for k in model_names:
            headers[f"model/{k}"] = h = archive.tensor_header(f"model/{k}", integer=k in integer)
            if model_shapes is not None and h.shape != expected[k]:
                problems.append(f"model/{k}: expected shape {expected[k]}, got {h.shape}")

        optimizer_state, n = None, 0
        if not with_optimizer:
            buffer_names = []
        elif "optimizer" in meta:
            optimizer_state = dict(meta["optimizer"])
            n = optimizer_state.pop("n_params")
            if param_shapes is not None and n != len(param_shapes):
                raise CheckpointError(f"checkpoint {path}: field 'optimizer.n_params' is {n}, but the optimizer "
                                      f"has {len(param_shapes)} parameters")
        elif buffer_names:
            raise CheckpointError(f"checkpoint {path} holds {buffer_names[0]} but no field 'optimizer'")
        allowed = OPTIMIZERS[meta["optimizer"]["type"]].STATE_ARRAYS if general and optimizer_state else ()
        for name in buffer_names:
            key, _, index = name[len("optim/"):].rpartition("/") if general else ("buffer", "", name[len(prefix):])
            if not re.fullmatch(r"0|[1-9][0-9]*", index) or int(index) >= n:
                raise CheckpointError(f"checkpoint {path}: member '{name}' is not the buffer of one of the "
                                      f"{n} parameters (field 'optimizer.n_params')")
            if general and key not in allowed:
                raise CheckpointError(f"checkpoint {path}: member '{name}' is not an array of a "
                                      f"{meta['optimizer']['type']} state ({', '.join(allowed)})")
            headers[name] = h = archive.tensor_header(name)
            if param_shapes is not None:
                want = tuple(int(d) for d in param_shapes[int(index)])
                if h.shape != want:
                    problems.append(f"{name}: expected shape {want} (parameter {index}), got {h.shape}")
        if problems:
            raise CheckpointError(f"checkpoint {path} does not fit the model: " + "; ".join(problems))

        model_state = {k: archive.tensor(f"model/{k}", headers[f"model/{k}"]) for k in model_names}
        if optimizer_state is not None and general:
            steps = optimizer_state.pop("steps")
            state = {i: {"step": step} for i, step in enumerate(steps) if step is not None}
            for name in buffer_names:
                key, _, index = name[len("optim/"):].rpartition("/")
                state.setdefault(int(index), {})[key] = archive.tensor(name, headers[name])
            optimizer_state["state"] = dict(sorted(state.items()))
        elif optimizer_state is not None:
            optimizer_state["buffers"] = [
                archive.tensor(f"optim/buffer/{i}", headers[f"optim/buffer/{i}"])
                if f"optim/buffer/{i}" in headers else None for i in range(n)]
    return Checkpoint(model_state, optimizer_state, meta)
