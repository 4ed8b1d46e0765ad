"""save(obj, f) and load(f): torch.save and torch.load for tinynet, as an .npz file without pickle.

    tinynet.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, "run.pt")
    state = tinynet.load("run.pt")                      # the same structure back, arrays on their devices
    state = tinynet.load("run.pt", map_location="cpu")  # every Tensor and array on the host

What ``obj`` may hold: Tensors, ndarrays (NumPy or CuPy) and NumPy scalars of numbers, bools or
strings; Python numbers, bools, None and str; and dicts (str or int keys, kept in order; an OrderedDict
stays one), lists and tuples of these, nested to any depth up to MAX_DEPTH. It comes back with the same
types: a Tensor a Tensor (its requires_grad kept; a Parameter a Parameter), an ndarray an ndarray,
a tuple a tuple, an int key an int key. An object listed twice (a tied weight) comes back as one object
listed twice. Anything else (a function, a set, a Module, an object array) is a TypeError at save
naming where in ``obj`` it is, before anything is written.

The file is a NumPy .npz (a zip of .npy arrays) holding

    manifest.npy     UTF-8 JSON as a 1-D uint8 array: {"format": "tinynet.save", "version": 1,
                     "root": <node>}, where a node is {"kind": ...}:
                       none | bool | int | str      {"kind": "int", "value": 3}
                       float                        "value": a number, or "nan", "inf", "-inf"
                       complex                      "real", "imag" as for float
                       tensor | ndarray | scalar    "array": a member name, "dtype", "shape", "device";
                                                    tensor also "requires_grad", "parameter" and "id"
                                                    (the same id: the same Tensor object)
                       list | tuple                 "items": [node, ...]
                       dict                         "ordered": bool, "items": [[key, node], ...]
                                                    (a JSON string or integer key)
    arrays/<i>.npy   the i-th distinct array, in the order ``obj`` is walked

Why no pickle: unpickling runs code named by the file, so loading a pickle (a PyTorch .pt) from
someone else is running their program. Here the manifest is data read by ``json`` and every array
is read with ``np.load(..., allow_pickle=False)``: a file can only ever give back numbers, strings
and the containers above. ``weights_only`` is accepted for PyTorch's signature; True or False, a
tinynet file can hold nothing else.

Writing to a path is atomic: the file goes to ``<path>.tmp-<pid>`` in the same folder, is flushed to
disk and renamed over ``path`` (``os.replace``), so a crash mid-save leaves an existing file intact
(the temporary's name is the one tinynet.checkpoint.remove_stale_temporaries cleans up). ``f`` may
also be an open binary file object (written or read from its current position, not atomically).
"""
import io
import json
import math
import os
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from tinynet import backend
from tinynet._npz import claims_too_much, os_reason, read_npy_header, write_atomically
from tinynet._tensor import Tensor
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter
from tinynet.optim.optimizer import Optimizer

__all__ = ["save", "load", "SerializationError", "FORMAT", "VERSION", "MAX_DEPTH"]

FORMAT = "tinynet.save"
VERSION = 1
MAX_DEPTH = 100  # nesting of containers; a state dict needs 3 or 4
MAX_MANIFEST_BYTES = 64 * 2**20
_MAX_INT_BITS = 4096  # 1234 decimal digits; JSON readers (Python's too) refuse ints past a few thousand
_ARRAY_KINDS = "biufcUS"  # numbers, bools and strings: the dtypes .npy stores without pickle


class SerializationError(RuntimeError):
    """A file can't be read as (or written as) a tinynet save file; the message names the file."""


# --- saving ------------------------------------------------------------------------------------------
def _where(path):
    """How a message names a place in ``obj``: obj['model'][0]."""
    return "obj" + "".join(f"[{k!r}]" for k in path)


class _Encoder:
    """Walks ``obj`` into a manifest node, collecting its arrays under generated member names."""

    def __init__(self):
        self.arrays = {}  # member name -> host array
        self.memo = {}  # id(object) -> member name, for objects listed more than once
        self.keep = []  # the objects of ``memo``, alive while the walk lasts (ids stay unique)
        self.open = set()  # ids of the containers being walked (a container inside itself)
        self.tensors = {}  # id(Tensor) -> its number: a Tensor listed twice comes back as one

    def array_node(self, kind, array, path, extra):
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise TypeError(f"tinynet.save: {_where(path)} is an array of dtype {array.dtype}; a save file "
                            "holds arrays of numbers, bools or strings (no objects: they would need pickle)")
        key = id(array)
        if key not in self.memo:
            name = f"arrays/{len(self.arrays)}"
            self.arrays[name] = backend.host(array)
            self.memo[key] = name
            self.keep.append(array)
        return {"kind": kind, "array": self.memo[key], "dtype": array.dtype.str, "shape": list(array.shape),
                "device": backend.device_of(array), **extra}

    def node(self, obj, path):
        if len(path) > MAX_DEPTH:
            raise TypeError(f"tinynet.save: {_where(path[:3])}... is nested more than {MAX_DEPTH} deep")
        if obj is None:
            return {"kind": "none"}
        if isinstance(obj, np.generic):  # before float: np.float64 is a float too, and comes back as itself
            return self.array_node("scalar", np.asarray(obj), path, {})
        if isinstance(obj, bool):
            return {"kind": "bool", "value": obj}
        if isinstance(obj, int):
            if obj.bit_length() > _MAX_INT_BITS:  # Python's json reads at most 4300 digits
                raise ValueError(f"tinynet.save: {_where(path)} is an int of {obj.bit_length()} bits; a save file "
                                 f"holds ints of up to {_MAX_INT_BITS} bits (save it as a str)")
            return {"kind": "int", "value": int(obj)}
        if isinstance(obj, float):
            return {"kind": "float", "value": _float_out(obj)}
        if isinstance(obj, complex):
            return {"kind": "complex", "real": _float_out(obj.real), "imag": _float_out(obj.imag)}
        if isinstance(obj, str):
            return {"kind": "str", "value": str(obj)}
        if isinstance(obj, Tensor):
            if type(obj) not in (Tensor, Parameter):
                raise TypeError(f"tinynet.save: {_where(path)} is a {type(obj).__name__} (a Tensor subclass); "
                                "save it as a Tensor (t.detach()) or its .data")
            number = self.tensors.setdefault(id(obj), len(self.tensors))
            self.keep.append(obj)
            return self.array_node("tensor", obj.data, path, {"requires_grad": bool(obj.requires_grad),
                                                              "parameter": type(obj) is Parameter, "id": number})
        if isinstance(obj, np.ndarray) or backend.is_cupy_array(obj):
            return self.array_node("ndarray", obj, path, {})
        if type(obj) in (list, tuple, dict, OrderedDict):
            if id(obj) in self.open:
                raise TypeError(f"tinynet.save: {_where(path)} contains itself, so its contents have no end")
            self.open.add(id(obj))
            try:
                if isinstance(obj, dict):
                    return {"kind": "dict", "ordered": type(obj) is OrderedDict,
                            "items": [[self.key(k, path), self.node(v, path + (k,))] for k, v in obj.items()]}
                return {"kind": type(obj).__name__,
                        "items": [self.node(v, path + (i,)) for i, v in enumerate(obj)]}
            finally:
                self.open.discard(id(obj))
        raise TypeError(f"tinynet.save: {_where(path)} is {_unsupported(obj)}")

    @staticmethod
    def key(k, path):
        if isinstance(k, str) or (isinstance(k, int) and not isinstance(k, bool) and k.bit_length() <= _MAX_INT_BITS):
            return int(k) if isinstance(k, int) else str(k)
        raise TypeError(f"tinynet.save: {_where(path)} has the key {_shown(k)} of type {type(k).__name__}; a "
                        f"save file's dict keys are str or int (of up to {_MAX_INT_BITS} bits)")


def _unsupported(obj):
    """What the message says about an object that can't be saved, with the fix where there is one."""
    name = type(obj).__name__
    if isinstance(obj, Module):
        return f"a {name} (a Module); save its state_dict() instead"
    if isinstance(obj, Optimizer):
        return f"a {name} (an optimizer); save its state_dict() instead"
    if isinstance(obj, (set, frozenset)):
        return f"a {name}, which has no order; save a sorted list instead"
    if isinstance(obj, (dict, list, tuple)):
        return (f"a {name} (a subclass of {type(obj).__mro__[1].__name__}), which would come back as another "
                f"type; convert it to a plain dict, list or tuple")
    if isinstance(obj, bytes):
        return "bytes; save np.frombuffer(b, dtype=np.uint8) instead"
    return (f"a {name}, which a save file can't hold (it holds Tensors, arrays, numbers, bools, None, str, "
            "and dicts, lists and tuples of them)")


def _shown(value, limit=60):
    if isinstance(value, int) and value.bit_length() >= 4000:  # repr() of it would fail
        return f"<an int of {value.bit_length()} bits>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _float_out(x):
    return x if math.isfinite(x) else ("nan" if math.isnan(x) else "inf" if x > 0 else "-inf")


def _write_npz(f, arrays, manifest):
    np.savez(f, allow_pickle=False, manifest=manifest, **arrays)


def _atomic_write(path, write):
    """``write(file)`` into ``path`` through ``<path>.tmp-<pid>`` (tinynet._npz.write_atomically); an
    OSError becomes one SerializationError naming ``path``."""
    try:
        write_atomically(path, write)
    except OSError as e:
        reason = os_reason(e)
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            reason = f"the folder {folder} does not exist"
        after = f"the previous {path} is intact" if os.path.isfile(path) else "nothing was written there"
        raise SerializationError(f"tinynet.save: could not write {path}: {reason}; {after}") from e


def save(obj, f):
    """Write ``obj`` to ``f`` (a path, or a binary file object open for writing), as ``torch.save``.

    See the module's docstring for what ``obj`` may hold and the file's layout. Nothing is written
    if ``obj`` holds something a save file can't (a TypeError saying where). Returns None.
    """
    encoder = _Encoder()
    root = encoder.node(obj, ())
    text = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    manifest = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), lambda out: _write_npz(out, encoder.arrays, manifest))
    elif isinstance(f, io.TextIOBase):
        raise TypeError(f"tinynet.save: {_name(f)} is open in text mode; open it in binary mode ('wb')")
    elif hasattr(f, "write"):
        _write_npz(f, encoder.arrays, manifest)
    else:
        raise TypeError(f"tinynet.save: f must be a path (str or os.PathLike) or a binary file object, got "
                        f"{type(f).__name__}")


# --- loading -----------------------------------------------------------------------------------------
class _Reader:
    """An open save file: its manifest and its arrays by member name, every failure naming the file."""

    def __init__(self, f, map_location):
        self.name, self.map_location, self.memo = _name(f), map_location, {}
        if isinstance(f, (str, os.PathLike)):
            path = os.fspath(f)
            if not os.path.exists(path):
                raise FileNotFoundError(f"tinynet.load: no such file: {path}")
            if os.path.isdir(path):
                raise IsADirectoryError(f"tinynet.load: {path} is a folder, not a save file")
            source = path
        elif isinstance(f, io.TextIOBase):
            raise TypeError(f"tinynet.load: {self.name} is open in text mode; open it in binary mode ('rb')")
        elif hasattr(f, "read"):
            source = f if _seekable(f) else io.BytesIO(f.read())
        else:
            raise TypeError(f"tinynet.load: f must be a path (str or os.PathLike) or a binary file object, got "
                            f"{type(f).__name__}")
        try:
            self.npz = np.load(source, allow_pickle=False)
        except ValueError as e:
            if "pickle" not in str(e):
                raise self.fail(f"is not a tinynet save file, or is truncated ({_reason(e)})") from None
            # NumPy's message would suggest allow_pickle=True: never, for a file of unknown origin.
            raise self.fail("is not a tinynet save file: it is neither a zip (.npz) nor an .npy array (a pickle, "
                            "such as a PyTorch file of the legacy format, is never loaded)") from None
        except EOFError:
            raise self.fail("is empty, not a tinynet save file") from None
        except (OSError, zipfile.BadZipFile, zlib.error) as e:
            raise self.fail(f"is not a tinynet save file, or is truncated ({_reason(e)})") from None
        if not isinstance(self.npz, np.lib.npyio.NpzFile):
            raise self.fail("is a single .npy array, not a tinynet save file (an .npz with a manifest)")
        self.size = _stream_size(source)

    def fail(self, problem):
        return SerializationError(f"tinynet.load: {self.name} {problem}")

    def close(self):
        self.npz.close()

    def manifest(self):
        if "manifest" not in self.npz.files:
            hint = (" (a PyTorch file holds pickled objects, which tinynet never loads)"
                    if any(n.endswith(".pkl") or "/data/" in n for n in self.npz.zip.namelist()) else "")
            raise self.fail(f"is a zip but not a tinynet save file: it has no manifest{hint}")
        raw = self.member("manifest", limit=MAX_MANIFEST_BYTES)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.fail(f"has a manifest of dtype {raw.dtype} and shape {raw.shape}; it must be a 1-D "
                            f"uint8 array of UTF-8 JSON of at most {MAX_MANIFEST_BYTES} bytes")
        try:
            manifest = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise self.fail(f"has a manifest that is not UTF-8 JSON ({_reason(e)})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise self.fail(f"has a manifest that is not a tinynet save file's (its 'format' is not {FORMAT!r})")
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
            raise self.fail(f"is a save file of version {version!r}; this tinynet reads version {VERSION}")
        if "root" not in manifest:
            raise self.fail("has a manifest without a 'root' entry")
        return manifest["root"]

    def member(self, name, limit=None):
        """The array of member ``name``, once its header shows that the zip really holds its bytes (a forged
        header could declare terabytes: NumPy would allocate them before reading)."""
        try:
            info = self.npz.zip.getinfo(f"{name}.npy")
        except KeyError:
            raise self.fail(f"has a manifest that names the array {name!r}, which the file does not hold") from None
        try:
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
                raise ValueError(f"zip compression method {info.compress_type} or encryption; a save file's members "
                                 "are stored or deflated")
            if claims_too_much(info, self.size):
                raise ValueError(f"it claims {info.file_size} bytes from {info.compress_size} in a "
                                 f"{self.size}-byte file")
            with self.npz.zip.open(info) as f:
                header = read_npy_header(f, "a save file")
            nbytes = header.nbytes
            if header.size + nbytes != info.file_size:
                raise ValueError(f"its header declares shape {header.shape} of {header.dtype} ({nbytes} bytes), the "
                                 f"member holds {info.file_size - header.size} bytes of data")
            if limit is not None and nbytes > limit:
                raise ValueError(f"it is {nbytes} bytes, more than the {limit} it may take")
            return self.npz[name]
        except (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error, RuntimeError, MemoryError) as e:
            raise self.fail(f"is truncated or corrupt: the array {name!r} can't be read ({_reason(e)})") from None

    def array(self, node, at):
        """The checked array a tensor/ndarray/scalar node names, on its device (or map_location's)."""
        fields = ("array", "dtype", "shape", "device")
        if any(k not in node for k in fields) or not isinstance(node["array"], str):
            raise self.fail(f"has a malformed manifest: the {node['kind']} at {at} lacks one of {', '.join(fields)}")
        name = node["array"]
        if name in self.memo:
            return self.memo[name]
        array = self.member(name)
        if array.dtype.str != node["dtype"] or list(array.shape) != node["shape"]:
            raise self.fail(f"is corrupt: the array {name!r} has dtype {array.dtype.str} and shape "
                            f"{list(array.shape)}, its manifest says {node['dtype']} and {node['shape']}")
        device = self.map_location or node["device"]
        try:
            array = backend.to_device(array, device)
        except backend.DeviceError as e:
            raise backend.DeviceError(f"tinynet.load: {self.name}: the array at {at} was saved on {node['device']!r} "
                                      f"({e}); pass map_location='cpu' to load it on the host") from None
        self.memo[name] = array
        return array

    def value(self, node, at="obj", depth=0):
        if depth > MAX_DEPTH + 1:
            raise self.fail(f"has a manifest nested more than {MAX_DEPTH} deep")
        kind = node.get("kind") if isinstance(node, dict) else None
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            value = node.get("value")
            want = {"bool": bool, "int": int, "str": str}[kind]
            if not isinstance(value, want) or (kind == "int" and isinstance(value, bool)):
                raise self.fail(f"has a malformed manifest: the {kind} at {at} holds {value!r:.40}")
            return value
        if kind == "float":
            return self.float(node.get("value"), at)
        if kind == "complex":
            return complex(self.float(node.get("real"), at), self.float(node.get("imag"), at))
        if kind in ("tensor", "ndarray", "scalar"):
            return self.array_value(kind, node, at)
        if kind in ("list", "tuple", "dict"):
            items = node.get("items")
            if not isinstance(items, list):
                raise self.fail(f"has a malformed manifest: the {kind} at {at} has no list of items")
            if kind != "dict":
                values = [self.value(v, f"{at}[{i}]", depth + 1) for i, v in enumerate(items)]
                return values if kind == "list" else tuple(values)
            out = OrderedDict() if node.get("ordered") else {}
            for item in items:
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))
                        and not isinstance(item[0], bool)):
                    raise self.fail(f"has a malformed manifest: an item of the dict at {at} is not a [key, value] "
                                    "pair with a str or int key")
                out[item[0]] = self.value(item[1], f"{at}[{item[0]!r}]", depth + 1)
            return out
        raise self.fail(f"has a malformed manifest: the entry at {at} has kind {kind!r:.40}")

    def float(self, value, at):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if value in ("nan", "inf", "-inf"):
            return float(value)
        raise self.fail(f"has a malformed manifest: the float at {at} holds {value!r:.40}")

    def array_value(self, kind, node, at):
        array = self.array(node, at)
        if kind == "ndarray":
            return array
        if kind == "scalar":
            if array.ndim != 0:
                raise self.fail(f"has a malformed manifest: the NumPy scalar at {at} has shape {array.shape}")
            return backend.host(array)[()]
        key = ("tensor", node.get("id"))
        if not isinstance(key[1], int) or isinstance(key[1], bool):
            raise self.fail(f"has a malformed manifest: the tensor at {at} has no int 'id'")
        if key in self.memo:
            return self.memo[key]
        if array.dtype.kind not in "biufc":
            raise self.fail(f"is corrupt: the tensor at {at} has dtype {array.dtype}, not numbers")
        requires_grad = node.get("requires_grad", False)
        if not isinstance(requires_grad, bool) or (requires_grad and array.dtype.kind not in "fc"):
            raise self.fail(f"has a malformed manifest: the tensor at {at} has requires_grad={requires_grad!r} "
                            f"with dtype {array.dtype}")
        t = (Parameter if node.get("parameter") is True else Tensor)._wrap(array)
        t.requires_grad = requires_grad
        self.memo[key] = t
        return t


def _name(f):
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    name = getattr(f, "name", None)
    return f"file {name}" if isinstance(name, str) else f"the {type(f).__name__} object"


def _stream_size(source):
    """The size in bytes of a path or a seekable file object."""
    if isinstance(source, str):
        return os.path.getsize(source)
    here = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(here)
    return size


def _seekable(f):
    try:
        return bool(f.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _reason(e):
    text = str(e)
    text = text if len(text) <= 160 else text[:157] + "..."
    return f"{type(e).__name__}: {text}"


def load(f, map_location=None, weights_only=True):
    """Read what ``save`` wrote to ``f`` (a path, or a binary file object open for reading), as ``torch.load``.

    map_location  None: each array back on the device it was saved from; "cpu" or "cuda": all there
    weights_only  True or False, for PyTorch's signature: a tinynet save file holds only data either way

    A file that is not a tinynet save file (a PyTorch pickle, a lone .npy, text), a truncated one, or
    one whose manifest names an array it lacks is a SerializationError naming the file and the
    problem; a missing path is a FileNotFoundError.
    """
    if map_location is not None:
        if not isinstance(map_location, str):
            raise TypeError(f"tinynet.load: map_location must be None, 'cpu' or 'cuda', got "
                            f"{type(map_location).__name__} {map_location!r:.40}")
        try:
            map_location = backend.normalize_device(map_location)
        except backend.DeviceError as e:
            raise backend.DeviceError(f"tinynet.load: map_location: {e}") from None
    if not isinstance(weights_only, (bool, np.bool_)):
        raise TypeError(f"tinynet.load: weights_only must be True or False, got {weights_only!r:.40}")
    reader = _Reader(f, map_location)
    try:
        return reader.value(reader.manifest())
    finally:
        reader.close()
