"""CIFAR-10 and CIFAR-100 as their archives unpack, both versions, read without running code from them.

    CIFAR10(root, train=True, transform=None)     root: the unpacked folder, or the folder holding it
    CIFAR100(root, train=True, transform=None)    targets are the fine labels (100); coarse_targets (20)

The layouts (https://www.cs.toronto.edu/~kriz/cifar.html):

    cifar-10-batches-bin/   data_batch_1.bin .. data_batch_5.bin, test_batch.bin, batches.meta.txt
                            each record: 1 label byte, then 3072 pixel bytes
    cifar-100-binary/       train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt
                            each record: 1 coarse label byte, 1 fine label byte, then 3072 pixel bytes
    cifar-10-batches-py/    data_batch_1 .. data_batch_5, test_batch, batches.meta
    cifar-100-python/       train, test, meta

The 3072 pixel bytes of an image are three 32x32 planes, red, green, blue, each row by row. A python
batch is a pickle (protocol 2, written by Python 2) of a dict with bytes keys: b'data', an (N, 3072)
uint8 array, b'labels' (CIFAR-100: b'fine_labels' and b'coarse_labels'), lists of N ints; the meta file
holds b'label_names' (CIFAR-100: b'fine_label_names', b'coarse_label_names'). A ``.txt`` names file has
one class name a line.

A pickle can name any Python callable and have the loader call it (``os.system``, ``eval``). These files
are read by ``load_batch``, an unpickler that knows the few globals NumPy's arrays and protocol 2's
bytes are rebuilt from, and answers each with a stand-in of its own that checks what it is given (a
plain number dtype, a shape that matches the bytes) and builds the array itself: NumPy's own
reconstruction is never called. Any other global is refused (UnsafePickleError, naming the file and
the global) before anything is called.

Every file is checked when the set is made; a missing file, a truncated record, a wrong size, a label
out of range, a pickle that is not such a dict, each is a DatasetFileError naming the file.
"""
import io
import os
import pickle

import numpy as np

from tinynet.data.files import ArrayImageSet, DatasetFileError, check_labels, read_bytes, require_file

PIXELS = 3 * 32 * 32

# (set, version): (folder as the archive unpacks, training files, test files, class-name files)
LAYOUTS = {
    ("CIFAR-10", "binary"): ("cifar-10-batches-bin", [f"data_batch_{k}.bin" for k in range(1, 6)],
                             ["test_batch.bin"], ["batches.meta.txt"]),
    ("CIFAR-10", "python"): ("cifar-10-batches-py", [f"data_batch_{k}" for k in range(1, 6)],
                             ["test_batch"], ["batches.meta"]),
    ("CIFAR-100", "binary"): ("cifar-100-binary", ["train.bin"], ["test.bin"],
                              ["fine_label_names.txt", "coarse_label_names.txt"]),
    ("CIFAR-100", "python"): ("cifar-100-python", ["train"], ["test"], ["meta"]),
}


def cifar_layout(folder):
    """(set, version) of the CIFAR files in ``folder`` (e.g. ("CIFAR-10", "binary")), or None.

    A layout is recognised by two or more of its file names (so one missing file is reported as missing
    rather than leaving the folder unrecognised); the first that matches, in LAYOUTS' order, wins.
    """
    for key, (_, train, test, names) in LAYOUTS.items():
        if sum(os.path.isfile(os.path.join(folder, n)) for n in train + test + names) >= 2:
            return key
    return None


def _locate(root, name):
    """(folder, version) of CIFAR set ``name`` at ``root``: the unpacked folder itself, or the folder holding it."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DatasetFileError(root, "does not exist" if not os.path.exists(root) else "is a file, not a folder")
    found = cifar_layout(root)
    if found is not None and found[0] == name:
        return root, found[1]
    for version in ("binary", "python"):
        folder = os.path.join(root, LAYOUTS[name, version][0])
        if os.path.isdir(folder) and cifar_layout(folder) == (name, version):
            return folder, version
    expected = " or ".join(f"{LAYOUTS[name, v][0]}/" for v in ("binary", "python"))
    what = f"holds {found[0]} files, not {name}" if found else f"holds no {name} files"
    raise DatasetFileError(root, f"{what}: expected the folder {expected} (as the archive unpacks) or "
                                 f"the folder holding it")


# --- the python version: a pickle unpickled with the globals of NumPy arrays only -----------------------------

class UnsafePickleError(DatasetFileError):
    """A pickle that asks for a global (a function, a class) a CIFAR batch never holds; nothing was run."""


_DTYPES = {"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8", "b1"}


def _text(value):
    return value.decode("latin1") if isinstance(value, bytes) else value


class _Dtype:
    """Stands for ``numpy.dtype(spec, align, copy)``: a plain number type, its byte order set by the pickle."""

    def __init__(self, spec, align=False, copy=False):
        spec = _text(spec)
        if not isinstance(spec, str) or spec not in _DTYPES:
            raise ValueError(f"dtype {spec!r} is not a plain number type ({', '.join(sorted(_DTYPES))})")
        self.spec, self.order = spec, "|"

    def __setstate__(self, state):  # (version, byte order, subarray, names, fields, elsize, alignment, flags)
        if not isinstance(state, tuple) or len(state) < 5 or any(s is not None for s in state[2:5]):
            raise ValueError(f"dtype state {state!r} is not that of a plain number type")
        order = _text(state[1])
        if order not in ("|", "<", ">", "="):
            raise ValueError(f"dtype byte order {order!r} is not one of | < > =")
        self.order = order

    def real(self):
        dtype = np.dtype(self.spec)
        return dtype.newbyteorder(self.order) if self.order in "<>" else dtype


def _array(raw, dtype, shape, fortran):
    """The array of ``shape`` and ``dtype`` (a _Dtype) whose bytes are ``raw``, after checking they fit."""
    if not isinstance(dtype, _Dtype):
        raise ValueError(f"an array's dtype is {type(dtype).__name__}, not a numpy dtype")
    if not isinstance(raw, (bytes, bytearray)):
        raise ValueError(f"an array's data is {type(raw).__name__}, not bytes")
    if not isinstance(shape, tuple) or not all(type(s) is int and s >= 0 for s in shape):
        raise ValueError(f"an array's shape {shape!r} is not a tuple of sizes")
    dtype = dtype.real()
    if len(raw) != int(np.prod(shape, dtype=np.float64)) * dtype.itemsize:
        raise ValueError(f"an array of shape {shape} and dtype {dtype} needs "
                         f"{int(np.prod(shape, dtype=np.float64)) * dtype.itemsize} bytes, the pickle holds {len(raw)}")
    return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")


class _Array:
    """Stands for ``numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')``; the pickle then sets its state
    (version, shape, dtype, is_fortran, data), from which ``.array`` is built."""

    def __init__(self, cls, shape, typecode):
        if cls is not _NDARRAY:
            raise ValueError(f"_reconstruct was asked for {cls!r}, not numpy.ndarray")
        self.array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ValueError("an array's state is not (version, shape, dtype, is_fortran, data)")
        shape, dtype, fortran, raw = state[-4:]
        self.array = _array(raw, dtype, shape, bool(fortran))


def _frombuffer(buf, dtype, shape, order):  # protocol 5's numpy._core.numeric._frombuffer
    return _array(buf, dtype, shape, _text(order) == "F")


def _encode(text, encoding):  # protocol 2 writes bytes as _codecs.encode(str, 'latin1')
    if not isinstance(text, str) or encoding != "latin1":
        raise ValueError(f"_codecs.encode({type(text).__name__}, {encoding!r}) is not how a pickle writes bytes")
    return text.encode("latin1")


def _empty_bytes(*args):  # protocol 2 writes b'' as __builtin__.bytes()
    if args:
        raise ValueError("bytes() with arguments is not how a pickle writes bytes")
    return b""


_NDARRAY = object()  # numpy.ndarray as an argument to _reconstruct: only ever compared with

_ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _Array, ("numpy._core.multiarray", "_reconstruct"): _Array,
            ("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): _Dtype,
            ("numpy.core.numeric", "_frombuffer"): _frombuffer, ("numpy._core.numeric", "_frombuffer"): _frombuffer,
            ("_codecs", "encode"): _encode, ("__builtin__", "bytes"): _empty_bytes, ("builtins", "bytes"): _empty_bytes}


class _BatchUnpickler(pickle.Unpickler):
    def __init__(self, data, path):
        super().__init__(io.BytesIO(data), encoding="bytes")  # Python 2's str as bytes, as the CIFAR page says
        self.path = path

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise UnsafePickleError(self.path, f"refused: the pickle asks for the global {module}.{name}, which a "
                                               "CIFAR batch never holds; tinynet reads only dicts, lists, numbers, "
                                               "strings and NumPy arrays from these files and runs nothing in them")
        allowed = _ALLOWED[module, name]
        # A fresh stand-in per request: a BUILD opcode on it (setattr with the file's values) then changes only
        # this throwaway subclass or wrapper, never tinynet's own class or function.
        if isinstance(allowed, type):
            return type(allowed.__name__, (allowed,), {})
        if callable(allowed):
            return lambda *args: allowed(*args)
        return allowed

    def persistent_load(self, pid):
        raise UnsafePickleError(self.path, "refused: the pickle refers to a persistent object, which a CIFAR batch "
                                           "never holds")


def _realise(obj, depth=0):
    """``obj`` with every _Array stand-in replaced by its array (containers walked a few levels deep)."""
    if isinstance(obj, _Array):
        if obj.array is None:
            raise ValueError("an array was never given its data")
        return obj.array
    if depth > 3:
        return obj
    if isinstance(obj, dict):
        return {k: _realise(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_realise(v, depth + 1) for v in obj)
    return obj


def load_batch(path):
    """The dict a CIFAR python-version file holds, unpickled with only the globals NumPy arrays need.

    Raises UnsafePickleError for any other global (nothing is called), DatasetFileError for anything that
    is not a readable pickle of a dict; both name ``path``.
    """
    data = read_bytes(path)
    try:
        obj = _realise(_BatchUnpickler(data, path).load())
    except DatasetFileError:
        raise
    except Exception as e:  # UnpicklingError, EOFError, ValueError from the stand-ins, RecursionError, ...
        raise DatasetFileError(path, f"is not a readable CIFAR pickle ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict):
        raise DatasetFileError(path, f"holds a pickled {type(obj).__name__}, not the dict a CIFAR batch is")
    return obj


def _field(batch, key, path):
    for k in (key.encode(), key):  # bytes keys as Python 2 wrote them; str keys from a re-pickled copy
        if k in batch:
            return batch[k]
    have = ", ".join(repr(k) for k in list(batch)[:8])
    raise DatasetFileError(path, f"has no {key.encode()!r} entry (it has {have or 'none'})")


def _names(values, count, path, key):
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, (bytes, str)) for v in values):
        raise DatasetFileError(path, f"{key!r} must be a list of {count} class names, got {type(values).__name__}")
    names = [_text(v) for v in values]
    if len(names) != count:
        raise DatasetFileError(path, f"{key!r} names {len(names)} classes, expected {count}")
    return names


def _python_batch(path, label_keys, counts):
    """(pixels (N, 3072) uint8, [labels (N,) int64 for each key]) of one python-version batch."""
    batch = load_batch(path)
    pixels = _field(batch, "data", path)
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2 \
            or pixels.shape[1] != PIXELS:
        what = (f"an array of {pixels.dtype} and shape {pixels.shape}" if isinstance(pixels, np.ndarray)
                else type(pixels).__name__)
        raise DatasetFileError(path, f"b'data' must be an (N, {PIXELS}) uint8 array, got {what}")
    if len(pixels) == 0:
        raise DatasetFileError(path, "holds no images (b'data' has 0 rows)")
    labels = []
    for key, count in zip(label_keys, counts):
        values = _field(batch, key, path)
        if isinstance(values, (list, tuple)) and not all(type(v) is int for v in values):
            raise DatasetFileError(path, f"{key.encode()!r} must be a list of ints")
        values = check_labels(path, values, count, repr(key.encode()))
        if len(values) != len(pixels):
            raise DatasetFileError(path, f"{key.encode()!r} has {len(values)} labels for {len(pixels)} images")
        labels.append(values)
    return pixels, labels


def _binary_batch(path, label_bytes, counts):
    """(pixels (N, 3072) uint8 view of a memory map, [labels (N,) int64]) of one binary-version file."""
    record = label_bytes + PIXELS
    try:
        size = os.path.getsize(path)
        if size == 0 or size % record:
            raise DatasetFileError(path, f"holds {size} bytes, not a whole number of {record}-byte records "
                                         f"({label_bytes} label byte(s) and {PIXELS} pixels each): "
                                         + ("it is empty" if size == 0 else
                                            f"{size // record} records and {size % record} bytes over, truncated?"))
        records = np.memmap(path, dtype=np.uint8, mode="r", shape=(size // record, record))
    except OSError as e:
        raise DatasetFileError(path, f"cannot read it ({e.strerror or type(e).__name__})") from e
    labels = [check_labels(path, records[:, k], count, "label byte" if label_bytes == 1 else
                           ("coarse", "fine")[k] + " label byte") for k, count in enumerate(counts)]
    return records[:, label_bytes:], labels


def _text_names(path, count):
    names = [line.strip() for line in read_bytes(path).decode("utf-8", "replace").splitlines() if line.strip()]
    if len(names) != count:
        raise DatasetFileError(path, f"names {len(names)} classes (one a line), expected {count}")
    return names


class _CIFAR(ArrayImageSet):
    name = None           # "CIFAR-10" or "CIFAR-100"
    counts = None         # classes of each label: (10,) or (20, 100), in the order of the record's label bytes

    def __init__(self, root, train=True, transform=None):
        self.root, self.version = _locate(root, self.name)
        self.train = bool(train)
        folder_name, train_files, test_files, name_files = LAYOUTS[self.name, self.version]
        what = f"{self.name} ({self.version} version)"
        self.files = [require_file(self.root, f, what) for f in (train_files if self.train else test_files)]
        self.format_name = what
        self._set_classes([require_file(self.root, f, what) for f in name_files])
        self._init(transform)

    def _read(self):
        chunks, labels = [], []
        for path in self.files:
            if self.version == "binary":
                pixels, batch_labels = _binary_batch(path, len(self.counts), self.counts)
            else:
                pixels, batch_labels = _python_batch(path, self.label_keys, self._python_counts())
            chunks.append(pixels)
            labels.append(batch_labels)
        pixels = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        self._set_targets([np.concatenate([b[k] for b in labels]).tolist() for k in range(len(labels[0]))])
        return pixels.reshape(len(pixels), 3, 32, 32).transpose(0, 2, 3, 1)  # (N, H, W, 3), a view


class CIFAR10(_CIFAR):
    """The CIFAR-10 training set (data_batch_1..5: 50000 images) or, with ``train=False``, its test batch
    (10000), of the binary or the python version; 32x32 RGB, 10 classes named by the meta file."""

    name, counts, label_keys = "CIFAR-10", (10,), ("labels",)

    def _python_counts(self):
        return self.counts

    def _set_classes(self, paths):
        path = paths[0]
        if self.version == "binary":
            self.classes = _text_names(path, 10)
        else:
            self.classes = _names(_field(load_batch(path), "label_names", path), 10, path, "label_names")

    def _set_targets(self, labels):
        self.targets = labels[0]


class CIFAR100(_CIFAR):
    """The CIFAR-100 training set (train: 50000 images) or, with ``train=False``, its test set (10000),
    of the binary or the python version; 32x32 RGB. ``targets`` are the fine labels (100 classes,
    ``classes``), ``coarse_targets`` the superclasses (20, ``coarse_classes``)."""

    name, counts, label_keys = "CIFAR-100", (20, 100), ("fine_labels", "coarse_labels")

    def _python_counts(self):
        return (100, 20)

    def _set_classes(self, paths):
        if self.version == "binary":
            self.classes = _text_names(paths[0], 100)
            self.coarse_classes = _text_names(paths[1], 20)
        else:
            meta = load_batch(paths[0])
            self.classes = _names(_field(meta, "fine_label_names", paths[0]), 100, paths[0], "fine_label_names")
            self.coarse_classes = _names(_field(meta, "coarse_label_names", paths[0]), 20, paths[0],
                                         "coarse_label_names")

    def _set_targets(self, labels):
        if self.version == "binary":  # the record's bytes: coarse, then fine
            self.coarse_targets, self.targets = labels
        else:  # label_keys' order: fine, then coarse
            self.targets, self.coarse_targets = labels
