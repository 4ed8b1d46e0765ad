"""Matrix products split over tinynet's own threads, with OpenBLAS on one thread while they run.

Why. OpenBLAS runs a large product on all cores with worker threads of its own. After
each product those workers busy-wait for the next one (about 0.1 s, unless
OPENBLAS_THREAD_TIMEOUT was set before OpenBLAS loaded, which a script that imports
NumPy before tinynet has already done). A training step alternates products with
element-wise passes and copies that ``kernels.parallel`` spreads over the same cores,
so each of those passes shared its cores with spinning OpenBLAS workers: the seed
AlexNet's step measured about 15% slower with NumPy imported first than with tinynet
first. Here the products are split by us instead: the output's rows (or columns, or
the batch of a 3-D product) are cut into one part per thread, each part is one
single-threaded OpenBLAS call on its own thread, so OpenBLAS's workers are never
woken and the import order no longer matters.

    out = a @ b,  a (M, K), b (K, N), out (M, N):
        M >= N:  out[r0:r1] = a[r0:r1] @ b           (one row block per thread)
        M <  N:  out[:, c0:c1] = a @ b[:, c0:c1]     (one column block per thread)
    batched (B, M, K) @ (B, K, N):  out[i0:i1] = a[i0:i1] @ b[i0:i1]

Each output element is still one dot product over the whole K axis, computed by the
same OpenBLAS kernel, so the numbers are those of one call up to the kernel's
handling of block edges (in practice identical here; the tests allow float rounding).
The split depends only on the shapes and the number of threads, so a run repeats
itself bit for bit.

The parts run through ``kernels.parallel.run_blocks``, which holds OpenBLAS at one thread
while it runs (and gives OpenBLAS its count back after, so a user's own ``a @ b``
outside tinynet keeps OpenBLAS's threads; see kernels/parallel.py for how the library
is found). Where no OpenBLAS can be found (another BLAS, another OS) or only one
thread is in use, ``matmul`` is NumPy's, unchanged. CuPy arrays go to their ``matmul``.
"""
import numpy as np

from kernels import parallel
from kernels.array import get_array_module

MIN_SPLIT_FLOPS = 1 << 22  # below 4 MFLOP a product runs whole on the caller: a thread hand-off costs more
ALIGN = 16  # parts are cut at multiples of 16 rows or columns (whole SIMD registers of float32)


def _cuts(n, parts):
    """The block size that cuts ``range(n)`` into ``parts`` pieces at multiples of ALIGN."""
    size = -(-n // parts)
    return max(ALIGN, -(-size // ALIGN) * ALIGN)


def matmul(a, b, out=None):
    """``a @ b`` (2-D, or 3-D with one matrix per batch entry), split over ``kernels.parallel``'s threads.

    a: (M, K) or (B, M, K); b: (K, N) or (B, K, N); out: (M, N) or (B, M, N) of the result's
    dtype, written in place and returned (allocated when None). Any other case (CuPy arrays,
    broadcasting, integer arrays, one thread, no OpenBLAS, a small product) is ``np.matmul``.
    """
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return get_array_module(a).matmul(a, b, out=out)
    threads = parallel.num_threads()
    if (threads <= 1 or a.ndim != b.ndim or a.ndim not in (2, 3) or a.shape[:-2] != b.shape[:-2]
            or a.shape[-1] != b.shape[-2] or a.dtype.kind != "f" or b.dtype.kind != "f"
            or not parallel.openblas_controls()):
        return np.matmul(a, b, out=out)
    M, K, N = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = a.shape[0] if a.ndim == 3 else 1
    if out is None:
        out = np.empty(a.shape[:-1] + (N,), dtype=np.result_type(a, b))
    if 2 * batch * M * K * N < MIN_SPLIT_FLOPS:  # one block: on the caller, OpenBLAS held at one thread
        parallel.run_blocks(1, lambda s, e: np.matmul(a, b, out=out), 1)
    elif a.ndim == 3 and batch >= threads:
        parallel.run_blocks(batch, lambda s, e: np.matmul(a[s:e], b[s:e], out=out[s:e]), -(-batch // threads))
    elif M >= N:
        parallel.run_blocks(M, lambda s, e: np.matmul(a[..., s:e, :], b, out=out[..., s:e, :]), _cuts(M, threads))
    else:
        parallel.run_blocks(N, lambda s, e: np.matmul(a, b[..., s:e], out=out[..., s:e]), _cuts(N, threads))
    return out

