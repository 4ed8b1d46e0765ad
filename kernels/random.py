"""Counter-based uniform numbers, one stream per sample: the same numbers whichever batch or process a
sample is in, on either device.

A sample's stream is keyed by (seed, epoch, draw, index): ``index`` is its dataset index, ``draw`` counts
the random draws of the step (the first dropout layer 0, the next 1, ...). The key is built by folding
each number in with splitmix64's finaliser,

    mix(z)  = z ^ (z >> 31) after z <- (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9, z <- (z ^ (z >> 27)) * 0x94D049BB133111EB
    fold(k, v) = mix((k ^ v) + G),   G = 0x9E3779B97F4A7C15 (2^64 / golden ratio)
    key = fold(fold(fold(fold(0, seed), epoch), draw), index)

and element j of the sample's row is drawn from the bits b = mix(key + (j + 1) G) (wrapping uint64
arithmetic; splitmix64 itself, a Weyl sequence through that finaliser):

    float64:  (b >> 11) * 2^-53          float32:  (b >> 40) * 2^-24          float16: floor(u32 * 2048) / 2048

all exact, so the NumPy version below and the CUDA one (kernels/cuda/elementwise.cu, uniform_rows_kernel)
give the same bits. Used for dropout under data parallelism (tinynet.backend.per_sample_random): a sample's
mask then depends on the sample, not on which rank, batch or position it lands in.

    sample_keys(seed, epoch, draw, indices)   uint64 (N,)
    uniform_rows(keys, shape, dtype, xp)      (N, ...) = shape, in [0, 1), row n from keys[n]
"""
import numpy as np

from kernels import cuda as _cuda

G = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix(z, xp=np):
    z = (z ^ (z >> xp.uint64(30))) * xp.uint64(_M1)
    z = (z ^ (z >> xp.uint64(27))) * xp.uint64(_M2)
    return z ^ (z >> xp.uint64(31))


def _fold(k, v):
    return _mix((k ^ v) + np.uint64(G))


def sample_keys(seed, epoch, draw, indices):
    """The key of each sample's stream: uint64 (N,) for the int indices (N,) (host NumPy)."""
    with np.errstate(over="ignore"):
        base = np.zeros(1, np.uint64)
        for v in (seed, epoch, draw):
            base = _fold(base, np.uint64(int(v) % 2**64))
        idx = np.asarray(indices, dtype=np.int64).astype(np.uint64)
        return _fold(base, idx)


def uniform_rows(keys, shape, dtype, xp=np):
    """Uniform [0, 1) numbers of ``shape`` (N, ...) and float ``dtype`` on ``xp``; row n from keys[n]."""
    dtype = np.dtype(dtype)
    n, row = int(shape[0]), int(np.prod(shape[1:], dtype=np.int64))
    if len(keys) != n:
        raise ValueError(f"uniform_rows: {len(keys)} keys for {n} rows")
    if xp is not np:
        return _cuda.uniform_rows(xp.asarray(keys), tuple(shape), dtype)
    with np.errstate(over="ignore"):
        steps = (np.arange(1, row + 1, dtype=np.uint64) * np.uint64(G))[None, :]
        bits = _mix(keys.astype(np.uint64)[:, None] + steps)
    if dtype == np.float64:
        u = (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    else:
        u = (bits >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
        if dtype == np.float16:
            u = (np.floor(u * np.float32(2048)) / np.float32(2048)).astype(np.float16)
    return u.reshape(shape).astype(dtype, copy=False)

