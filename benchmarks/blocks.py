"""What cache-sized blocks and threads (kernels.parallel) do for the host kernels, one kernel at a time.

Each kernel runs on the seed AlexNet's shapes at batch 32 in three ways, side by side in one run:

    whole    one block per call (as if the kernel were written over whole arrays), one thread
    blocks   blocks of kernels.parallel.BLOCK_BYTES, one thread
    threads  the same blocks on every core (kernels.parallel.num_threads())

Figures are ms per call, the median of ``--repeat`` runs after one warm-up. Nothing is asserted.

    python benchmarks/blocks.py
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kernels  # noqa: E402  before NumPy: it sets OpenBLAS's thread timeout (kernels/__init__.py)
import numpy as np  # noqa: E402
from kernels import parallel  # noqa: E402
from tinynet.nn import Parameter  # noqa: E402
from tinynet.optim import SGD  # noqa: E402
from tinynet._tensor import Tensor  # noqa: E402


def cases(batch, rng):
    """[(name, function of no arguments)] on the seed AlexNet's shapes."""
    f32 = np.float32
    conv1_out = np.maximum(rng.standard_normal((batch, 96, 55, 55), dtype=f32), 0)  # pool1's input, after ReLU
    y1, arg1 = kernels.maxpool_forward(conv1_out, (3, 3), (2, 2), (0, 0))
    g1 = rng.standard_normal(y1.shape, dtype=f32)
    pool1_out = rng.standard_normal((batch, 96, 27, 27), dtype=f32)  # conv2's input
    col2 = kernels.im2col(pool1_out, (5, 5), (1, 1), (2, 2)).copy()
    image = rng.standard_normal((batch, 3, 224, 224), dtype=f32)
    fc6 = Parameter(rng.standard_normal((4096, 9216), dtype=f32) * f32(0.01))
    fc6.grad = Tensor(rng.standard_normal(fc6.shape, dtype=f32))
    sgd = SGD([fc6], lr=0.01, momentum=0.9, weight_decay=5e-4)
    return [
        ("conv1 im2col 11x11/4", lambda: kernels.im2col(image, (11, 11), (4, 4), (2, 2))),
        ("relu1 forward", lambda: kernels.relu_forward(conv1_out)),
        ("pool1 forward (maxima, argmax)", lambda: kernels.maxpool_forward(conv1_out, (3, 3), (2, 2), (0, 0))),
        ("pool1 backward", lambda: kernels.maxpool_backward(g1, arg1, conv1_out.shape, (3, 3), (2, 2), (0, 0))),
        ("conv2 im2col 5x5", lambda: kernels.im2col(pool1_out, (5, 5), (1, 1), (2, 2))),
        ("conv2 col2im 5x5", lambda: kernels.col2im(col2, pool1_out.shape, (5, 5), (1, 1), (2, 2))),
        ("SGD step, fc6 (37.7M weights)", sgd.step),
    ]


def median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    block_bytes, threads = parallel.BLOCK_BYTES, parallel.num_threads()
    modes = [("whole", 1 << 62, 1), ("blocks", block_bytes, 1), ("threads", block_bytes, threads)]
    print(f"batch {args.batch}; blocks of {block_bytes >> 10} KiB; {threads} threads; "
          f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}")
    print(f"{'kernel':32} {'whole ms':>9} {'blocks ms':>10} {'threads ms':>11} {'whole/threads':>14}")
    for name, fn in cases(args.batch, np.random.default_rng(0)):
        ms = []
        for _, size, n in modes:
            parallel.BLOCK_BYTES = size
            parallel.set_num_threads(n)
            ms.append(median_ms(fn, args.repeat))
        print(f"{name:32} {ms[0]:9.1f} {ms[1]:10.1f} {ms[2]:11.1f} {ms[0] / ms[2]:13.2f}x")
    parallel.BLOCK_BYTES = block_bytes
    parallel.set_num_threads(threads)


if __name__ == "__main__":
    main()
