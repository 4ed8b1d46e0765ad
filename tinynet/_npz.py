"""What tinynet.save / tinynet.load (serialization.py) and the checkpoints (checkpoint.py) share about
.npz files: the atomic write through ``<path>.tmp-<pid>``, and the checks a member of an untrusted zip
passes before its data is read (what its zip directory entry claims, and its .npy header, read within
bounds). Each caller words its own errors: these raise plain OSError, ValueError and EOFError."""
import io
import math
import os
import re
import struct
import zipfile
from dataclasses import dataclass

import numpy as np

MAX_HEADER_BYTES = 10000  # an .npy header (NumPy's own limit for untrusted files)
DEFLATE_MAX_RATIO = 1100  # deflate expands at most ~1032x: a member claiming more is forged
MAX_DIM = 2**48  # elements of one array, and the length of any of its dimensions (zero-size ones too)
TEMPORARY = re.compile(r".+\.tmp-(\d+)")  # the name of temporary_path(): what a killed writer leaves


# --- writing -------------------------------------------------------------------------------------
def temporary_path(path):
    """Where ``write_atomically`` writes ``path`` first: ``<path>.tmp-<pid>``, in the same folder."""
    return f"{path}.tmp-{os.getpid()}"


def write_atomically(path, write):
    """Call ``write(file)`` on ``temporary_path(path)``, flush it to disk and rename it over ``path``
    (``os.replace``: atomic on POSIX and Windows). On any failure, Ctrl-C included, the temporary file is
    removed (if it can be) and the exception raised again; ``path`` is then as it was."""
    tmp = temporary_path(path)
    try:
        if os.path.lexists(tmp):  # left by an earlier writer of this pid, or planted (a link): never written through
            os.remove(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def remove_quietly(path):
    """Remove ``path`` if it exists; True if it is still there afterwards."""
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    except OSError:
        return os.path.lexists(path)
    return False


def os_reason(e):
    """An OSError as a message shows it: "[Errno 28] No space left on device"."""
    return f"[Errno {e.errno}] {e.strerror}" if e.errno and e.strerror else str(e)


# --- reading -------------------------------------------------------------------------------------
def claims_too_much(info, file_size):
    """True if the zip directory entry ``info`` claims more data than a ``file_size``-byte file can
    hold: past the file's end, a stored member whose sizes differ, or more than deflate can expand to."""
    return (info.header_offset + info.compress_size > file_size
            or (info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size)
            or info.file_size > DEFLATE_MAX_RATIO * info.compress_size + 1024)


@dataclass
class NpyHeader:
    """What an .npy member's header declares, and how many bytes the header takes."""
    shape: tuple
    fortran_order: bool
    dtype: np.dtype
    size: int  # bytes before the data: magic, version, length, header text

    @property
    def nbytes(self):
        return math.prod(self.shape) * self.dtype.itemsize


def shown(value, limit=60):
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_npy_header(f, of_what):
    """Parse an .npy header from the stream ``f``, reading at most the header's bytes; ValueError if
    it is malformed (``of_what`` names the file kind: "a checkpoint"), EOFError if it ends early."""
    start = f.read(8)  # 6 bytes of magic, 2 of version
    if len(start) < 8:
        raise EOFError("the .npy header ends early")
    version = np.lib.format.read_magic(io.BytesIO(start))
    readers = {(1, 0): ("<H", np.lib.format.read_array_header_1_0),
               (2, 0): ("<I", np.lib.format.read_array_header_2_0)}
    if version not in readers:
        raise ValueError(f".npy format version {version[0]}.{version[1]} is not one {of_what} uses (1.0, 2.0)")
    length_format, read = readers[version]
    length_bytes = f.read(struct.calcsize(length_format))
    if len(length_bytes) < struct.calcsize(length_format):
        raise EOFError("the .npy header ends early")
    (length,) = struct.unpack(length_format, length_bytes)
    if length > MAX_HEADER_BYTES:
        raise ValueError(f"its header is {length} bytes, more than {MAX_HEADER_BYTES}")
    text = f.read(length)
    if len(text) < length:
        raise EOFError("the .npy header ends early")
    shape, fortran_order, dtype = read(io.BytesIO(length_bytes + text), max_header_size=MAX_HEADER_BYTES)
    if any(d < 0 for d in shape):
        raise ValueError(f"shape {shown(shape)} has a negative dimension")
    if any(d > MAX_DIM for d in shape) or math.prod(d for d in shape if d) > MAX_DIM:
        raise ValueError(f"shape {shown(shape)} declares more than {MAX_DIM} elements")
    return NpyHeader(tuple(shape), fortran_order, dtype, 8 + len(length_bytes) + length)
