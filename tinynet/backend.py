"""Which array library holds a tensor's data, and moving arrays between devices.

tinynet runs one code path on two array libraries: NumPy on the CPU ("cpu")
and CuPy on an NVIDIA GPU ("cuda"). An op asks ``get_array_module(x)`` for the
library of its input and calls ``xp.<function>``; nothing else in the engine
branches on the device. CuPy is imported only when a GPU is asked for, so
``import tinynet`` works on a machine without CuPy or a GPU.
"""
import contextlib
import os
import sys
import warnings

import numpy as np

from kernels.array import get_array_module, is_cupy_array

__all__ = [
    "DeviceError",
    "get_array_module",
    "device_of",
    "normalize_device",
    "to_device",
    "device_or_dtype",
    "cupy_or_raise",
    "cuda_available",
    "check_same_device",
    "host",
    "data_pointer",
    "manual_seed",
    "host_rng",
    "random_uniform",
    "per_sample_random",
    "random_normal",
    "random_integers",
    "random_permutation",
    "enable_tf32",
    "gpu_memory_pool",
    "out_of_memory_errors",
    "Uploader",
]


class DeviceError(RuntimeError):
    """A device was asked for that this machine can't provide, or devices were mixed."""


_cupy = None
_cupy_error = None
_seed = None
_cupy_seeded = False
_host_rng = np.random.default_rng()


def cupy_or_raise():
    """Import and return CuPy with a usable GPU, or raise ``DeviceError`` saying how to fix it."""
    global _cupy, _cupy_error
    if _cupy is not None:
        return _cupy
    if _cupy_error is None:
        try:
            import cupy
        except ImportError as e:
            _cupy_error = (
                f"device 'cuda' was requested but CuPy is not installed ({e}). Install the GPU extra "
                "with `pip install -e .[gpu]` (CuPy for CUDA 12) or a CuPy wheel matching your CUDA "
                "version, or use device 'cpu'."
            )
        else:
            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception as e:  # CUDA driver missing or broken
                count, detail = 0, f" ({type(e).__name__}: {e})"
            else:
                detail = ""
            if count > 0:
                _cupy = cupy
                return cupy
            _cupy_error = (
                f"device 'cuda' was requested but CuPy finds no CUDA GPU on this machine{detail}. "
                "Use device 'cpu', or run on a machine with an NVIDIA GPU and driver."
            )
    raise DeviceError(_cupy_error)


def cuda_available() -> bool:
    """True if CuPy imports and sees at least one GPU. Never raises."""
    try:
        cupy_or_raise()
    except DeviceError:
        return False
    return True


def normalize_device(device) -> str:
    """Accept "cpu", "cuda" or "cuda:0" and return "cpu" or "cuda"."""
    name = str(device).lower()
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name == "gpu" or name.startswith("cuda:"):
        if name.startswith("cuda:") and name != "cuda:0":
            raise DeviceError(f"device {device!r}: tinynet uses one GPU, 'cuda' (or 'cuda:0')")
        return "cuda"
    raise DeviceError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def device_arg(where, device, default=None, *, expected="None, 'cpu' or 'cuda'", shown=repr):
    """A ``device`` argument as "cpu" or "cuda" (``default`` when None), with CuPy and a GPU checked for
    "cuda". Errors name ``where``: a DeviceError for an unknown device or a missing GPU, and for a device
    that is not a string a TypeError "device must be <expected>, got <shown(device)>"."""
    if device is None:
        return default
    if not isinstance(device, str):
        raise TypeError(f"{where}: device must be {expected}, got {shown(device)}")
    try:
        device = normalize_device(device)
        if device == "cuda":
            cupy_or_raise()
    except DeviceError as e:
        raise DeviceError(f"{where}: {e}") from None
    return device


def device_or_dtype(target):
    """Read the argument of ``.to(target)``: ("device", "cpu"/"cuda") or ("dtype", numpy dtype).

    Raises DeviceError for a string that is neither a device nor a dtype.
    """
    if isinstance(target, str):
        name = target.lower()
        if name in ("cpu", "cuda", "gpu") or name.startswith("cuda:"):
            return "device", normalize_device(target)
    try:
        return "dtype", np.dtype(target)
    except TypeError:
        raise DeviceError(f"to({target!r}): expected a device ('cpu' or 'cuda') or a dtype ('float32', 'float64')") from None


def device_of(array) -> str:
    """'cuda' for a CuPy array, 'cpu' for anything else."""
    return "cuda" if is_cupy_array(array) else "cpu"


def synchronize(array) -> None:
    """Wait until the work queued on ``array``'s device is done (the GPU's stream; nothing on the host): what
    a timing of GPU work must do before reading the clock, CUDA launches being asynchronous."""
    if device_of(array) == "cuda":
        import cupy

        cupy.cuda.get_current_stream().synchronize()


def to_device(array, device):
    """Return ``array`` on ``device`` ("cpu" or "cuda"); no copy if it is already there."""
    device = normalize_device(device)
    if device == device_of(array):
        return array
    if device == "cpu":
        return array.get()
    return cupy_or_raise().asarray(array)


def check_same_device(arrays, what: str) -> None:
    """Raise ``DeviceError`` if ``arrays`` (None entries ignored) live on different devices."""
    devices = [device_of(a) for a in arrays if a is not None]
    if len(set(devices)) > 1:
        where = ", ".join(f"input {i} on {d}" for i, d in enumerate(devices))
        raise DeviceError(
            f"{what}: inputs are on different devices ({where}). Move them to one device first, "
            "e.g. tensor.to('cuda') or module.to('cuda')."
        )


def data_pointer(array) -> int:
    """The address of ``array``'s first element (host memory for NumPy, device memory for CuPy)."""
    if is_cupy_array(array):
        return int(array.data.ptr)
    return int(array.__array_interface__["data"][0])


def host(array) -> np.ndarray:
    """A NumPy copy-or-view of ``array`` on the host."""
    return array.get() if is_cupy_array(array) else np.asarray(array)


# --- random numbers ----------------------------------------------------------
# One generator per array library: NumPy's Generator for host arrays (also used
# to initialise parameters, so a seed fixes a model's initial weights on either
# device) and CuPy's global generator for GPU arrays (dropout masks on the GPU).
# The random factories of tinynet/creation.py (rand, randn, randint, randperm)
# draw through the four random_* functions below, which take an array or a
# device name ("cpu", "cuda") for where the samples go.

def manual_seed(seed: int) -> None:
    """Seed every generator tinynet draws from: NumPy's now, CuPy's before its next draw."""
    global _host_rng, _seed, _cupy_seeded
    _seed = int(seed)
    _host_rng = np.random.default_rng(_seed)
    _cupy_seeded = False


def host_rng() -> np.random.Generator:
    """The NumPy generator behind parameter initialisation and CPU dropout masks."""
    return _host_rng


def _random_module(like):
    """NumPy's generator or CuPy's ``cupy.random`` (seeded by ``manual_seed`` before its first draw) for
    ``like``: an array of either library, or a device name ("cpu", "cuda")."""
    global _cupy_seeded
    if isinstance(like, str):
        xp = np if normalize_device(like) == "cpu" else cupy_or_raise()
    else:
        xp = get_array_module(like)
    if xp is np:
        return _host_rng
    if _seed is not None and not _cupy_seeded:
        xp.random.seed(_seed)
        _cupy_seeded = True
    return xp.random


def _drawn_dtype(dtype):
    """The dtype the generators draw normal samples in: float16 is drawn as float32, then rounded."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


_per_sample = None  # while per_sample_random is on: [seed, epoch, indices (N,), draws so far]


@contextlib.contextmanager
def per_sample_random(indices, seed, epoch):
    """Within: every random_uniform draw whose first dimension is len(indices) (a batch of those samples:
    dropout's masks) takes row n from sample indices[n]'s own stream, keyed by (seed, epoch, k, index) for
    the k-th such draw of the block (kernels/random.py). So a sample gets the same mask in any batch, on
    any rank, at any world size: data parallelism then draws what one process with the whole batch draws.
    Other draws come from the usual generators."""
    global _per_sample
    idx = np.asarray(host(indices) if is_cupy_array(indices) else indices, dtype=np.int64).reshape(-1)
    outer, _per_sample = _per_sample, [int(seed), int(epoch), idx, 0]
    try:
        yield
    finally:
        _per_sample = outer


def _per_sample_uniform(shape, dtype, like):
    """The block's next per-sample draw, or None if this draw is not one (another first dimension)."""
    state = _per_sample
    if state is None or len(shape) == 0 or int(shape[0]) != len(state[2]):
        return None
    import kernels

    keys = kernels.sample_keys(state[0], state[1], state[3], state[2])
    state[3] += 1
    xp = np if (normalize_device(like) if isinstance(like, str) else device_of(like)) == "cpu" else cupy_or_raise()
    return kernels.uniform_rows(keys, tuple(int(d) for d in shape), dtype, xp)


def random_uniform(shape, dtype, like):
    """Uniform [0, 1) samples of ``shape`` and float ``dtype`` on the device of ``like`` (an array or a
    device name). float16 samples lie on the grid k / 2048, so rounding never reaches 1. Within
    per_sample_random, a draw for the batch comes from the samples' own streams."""
    drawn = _per_sample_uniform(shape, dtype, like)
    if drawn is not None:
        return drawn
    gen = _random_module(like)
    if np.dtype(dtype) == np.float16:
        return (random_integers(0, 2048, shape, np.float32, like) / 2048).astype(np.float16)
    if gen is _host_rng:
        return gen.random(shape, dtype=dtype)
    return gen.random_sample(shape, dtype=dtype)


def random_normal(shape, dtype, like):
    """Standard normal samples (mean 0, standard deviation 1) of ``shape`` and float ``dtype`` on the
    device of ``like`` (an array or a device name)."""
    x = _random_module(like).standard_normal(shape, dtype=_drawn_dtype(dtype))
    return x.astype(dtype, copy=False)


def random_integers(low, high, shape, dtype, like):
    """Integers drawn uniformly from [low, high) (low < high), of ``shape``, converted to ``dtype``, on
    the device of ``like`` (an array or a device name)."""
    gen = _random_module(like)
    if gen is _host_rng:
        x = gen.integers(low, high, size=shape, dtype=np.int64)
    else:
        x = gen.randint(low, high, size=shape, dtype=np.int64)
    return x.astype(dtype, copy=False)


def random_permutation(n, like):
    """A random ordering of 0 .. n-1 (int64) on the device of ``like`` (an array or a device name)."""
    return _random_module(like).permutation(n).astype(np.int64, copy=False)


# --- GPU settings and memory -------------------------------------------------

def enable_tf32() -> None:
    """Let CuPy run float32 matrix products on TF32 tensor cores (NVIDIA Ampere and newer).

    TF32 keeps float32's range but rounds the inputs of each product to a
    10-bit mantissa (about 1e-3 relative), for several times the throughput of
    float32 on the matrix products that dominate a convolutional net.

    CuPy's documented switch is the environment variable ``CUPY_TF32=1``. CuPy
    reads it when it first picks the compute type of a float32 matrix product
    and keeps that choice for the process, so this must run before the first
    one; ``tinynet train --tf32`` calls it before CuPy is imported.
    """
    os.environ["CUPY_TF32"] = "1"
    if "cupy" in sys.modules:
        warnings.warn(
            "enable_tf32: CuPy is already imported; TF32 takes effect only if no float32 matrix product "
            "has run yet in this process",
            stacklevel=2,
        )


def gpu_memory_pool():
    """CuPy's default GPU memory pool.

    ``used_bytes()`` is what live arrays occupy; ``total_bytes()`` is what the
    pool holds from the driver (in use or cached for reuse), which is what other
    processes see as taken. Raises ``DeviceError`` without CuPy or a GPU.
    """
    return cupy_or_raise().get_default_memory_pool()


def out_of_memory_errors(device) -> tuple:
    """The exception types that mean "the GPU ran out of memory" on ``device``.

    ``(cupy.cuda.memory.OutOfMemoryError,)`` for "cuda", ``()`` for "cpu"; an
    ``except ():`` clause catches nothing, so callers need not branch on the device.
    """
    if normalize_device(device) != "cuda":
        return ()
    return (cupy_or_raise().cuda.memory.OutOfMemoryError,)


# --- host-to-GPU copies that overlap the GPU's work --------------------------

_UPLOAD_ALIGN = 256  # each array of an upload starts on a 256-byte boundary (any dtype may view it)


class Uploader:
    """Host arrays to the GPU on a side stream, through pinned (page-locked) host buffers, so that the
    copy of one batch runs while the GPU computes on the one before (the DataLoader with device="cuda").

        ticket = up.send([x, y, a])    the host copies the arrays into pinned buffer j and enqueues the
                                       copy of j to device buffer j on the side stream; returns at once
        out = up.receive(ticket, fn)   the current stream waits for that copy, then out = fn(*views of
                                       device buffer j); fn must write new arrays (the buffer is reused)

    A copy from pageable memory (cupy.asarray of a NumPy array) is synchronous: it waits for the work
    already queued and the host waits for it; from pinned memory on a non-blocking stream it is neither.
    ``buffers`` (two by default) are used in turn, one being filled while the other is read: a send into a
    buffer whose upload was not received yet is refused, and a ticket is good for one receive. Every wait is on an
    event of one buffer: before refilling pinned buffer j the host waits for j's last copy out of it,
    and the side stream waits, on the device, for the work of j's last ``fn``.
    """

    def __init__(self, buffers=2):
        if not isinstance(buffers, (int, np.integer)) or isinstance(buffers, bool) or buffers < 1:
            raise ValueError(f"Uploader: buffers must be an int >= 1, got {buffers!r}")
        self._cupy = cupy_or_raise()
        self.stream = self._cupy.cuda.Stream(non_blocking=True)
        self._pinned, self._device = [None] * buffers, [None] * buffers
        self._copied, self._consumed = [None] * buffers, [None] * buffers
        self._next, self._unreceived, self._uses = 0, set(), [0] * buffers

    def send(self, arrays):
        """Start copying ``arrays`` (NumPy) to the GPU; returns the ticket for ``receive``."""
        j = self._next
        if j in self._unreceived:
            raise RuntimeError(f"Uploader: {len(self._pinned)} uploads are already waiting to be received; "
                               "receive one before sending another")
        self._next = (j + 1) % len(self._pinned)
        layout, total = [], 0
        for a in arrays:
            a = np.ascontiguousarray(a)
            layout.append((total, a))
            total += -(-a.nbytes // _UPLOAD_ALIGN) * _UPLOAD_ALIGN
        if self._copied[j] is not None:
            self._copied[j].synchronize()  # the last copy out of pinned buffer j has run
        if self._pinned[j] is None or self._pinned[j].size < total:
            self._grow(j, total)
        pinned = self._pinned[j]
        for start, a in layout:
            pinned[start:start + a.nbytes].view(a.dtype).reshape(a.shape)[...] = a
        if self._consumed[j] is not None:
            self.stream.wait_event(self._consumed[j])  # device buffer j: its last reader has run
        self._device[j][:total].set(pinned[:total], stream=self.stream)
        self._copied[j] = self.stream.record()
        self._unreceived.add(j)
        self._uses[j] += 1
        return j, self._uses[j], [(start, a.shape, a.dtype, a.nbytes) for start, a in layout]

    def receive(self, ticket, fn):
        """``fn(*arrays)`` on the GPU once ``send``'s copy has arrived, on the current stream."""
        j, use, layout = ticket
        if j not in self._unreceived or use != self._uses[j]:
            raise RuntimeError("Uploader.receive: this ticket was received already (or its buffer refilled)")
        self._unreceived.discard(j)
        current = self._cupy.cuda.get_current_stream()
        current.wait_event(self._copied[j])
        device = self._device[j]
        try:
            return fn(*[device[start:start + n].view(dtype).reshape(shape) for start, shape, dtype, n in layout])
        finally:  # also when fn raises: whatever it queued on the buffer is waited for before a refill
            self._consumed[j] = current.record()

    def close(self):
        """Wait for the copies under way (their pinned memory may then go back to CuPy's pool)."""
        self.stream.synchronize()

    def _grow(self, j, nbytes):
        """Buffers j of ``nbytes``: at the first batch, or a larger one; the old ones are idle first."""
        if self._consumed[j] is not None:
            self._consumed[j].synchronize()
        self.stream.synchronize()
        self._pinned[j] = self._device[j] = None  # both or neither, if an allocation below fails
        pinned = np.frombuffer(self._cupy.cuda.alloc_pinned_memory(nbytes), np.uint8, nbytes)
        self._device[j], self._pinned[j] = self._cupy.empty(nbytes, np.uint8), pinned
        self._consumed[j] = None
