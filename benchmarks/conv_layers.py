"""Time tinynet's conv2d on the five convolution layers of the seed AlexNet.

Prints, per layer, forward and backward milliseconds, the split of the time
between im2col, the matrix products (GEMM) and col2im, and the achieved
GFLOP/s next to the rate of a plain float32 matrix product measured in the
same run. Figures only; nothing is asserted.

    python benchmarks/conv_layers.py --batch 8 --repeat 3
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kernels  # noqa: E402
import tinynet  # noqa: E402
from tinynet import functional as F  # noqa: E402

# name, in_channels, out_channels, kernel, stride, padding, input size (seed AlexNet, 224x224 input)
LAYERS = [
    ("conv1", 3, 96, 11, 4, 2, 224),
    ("conv2", 96, 256, 5, 1, 2, 27),
    ("conv3", 256, 384, 3, 1, 1, 13),
    ("conv4", 384, 384, 3, 1, 1, 13),
    ("conv5", 384, 256, 3, 1, 1, 13),
]


def median_ms(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def matmul_gflops(n=4096, repeat=3):
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    ms = median_ms(lambda: a @ b, repeat)
    return 2 * n ** 3 / (ms * 1e-3) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    peak = matmul_gflops()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, NumPy {np.__version__}")
    print(f"float32 matmul 4096^3: {peak:.0f} GFLOP/s; batch {args.batch}")
    print(f"{'layer':6} {'fwd ms':>8} {'bwd ms':>8} {'im2col':>8} {'gemm':>8} {'col2im':>8} {'GFLOP/s':>8} {'of mm':>6}")
    for name, c, oc, k, s, p, size in LAYERS:
        x = tinynet.Tensor(rng.random((args.batch, c, size, size), dtype=np.float32), requires_grad=(name != "conv1"))
        w = tinynet.Tensor(rng.random((oc, c, k, k), dtype=np.float32) * 0.01, requires_grad=True)
        b = tinynet.Tensor(np.zeros(oc, np.float32), requires_grad=True)
        oh = (size + 2 * p - k) // s + 1
        flops_fwd = 2 * args.batch * oc * oh * oh * c * k * k
        flops_bwd = flops_fwd * (2 if name != "conv1" else 1)  # dW always, dx except for the image

        fwd = median_ms(lambda: F.conv2d(x, w, b, s, p), args.repeat)
        y = F.conv2d(x, w, b, s, p)
        g = rng.random(y.shape, dtype=np.float32)

        def step():
            x.grad = w.grad = b.grad = None
            F.conv2d(x, w, b, s, p).backward(g)

        bwd = median_ms(step, args.repeat) - fwd
        col = kernels.im2col(x.data, (k, k), (s, s), (p, p))
        t_im2col = median_ms(lambda: kernels.im2col(x.data, (k, k), (s, s), (p, p)), args.repeat)
        w2 = w.data.reshape(oc, -1)
        t_gemm = median_ms(lambda: w2 @ col, args.repeat)
        t_col2im = median_ms(lambda: kernels.col2im(col, x.shape, (k, k), (s, s), (p, p)), args.repeat)
        rate = (flops_fwd + flops_bwd) / ((fwd + bwd) * 1e-3) / 1e9
        print(f"{name:6} {fwd:8.1f} {bwd:8.1f} {t_im2col:8.1f} {t_gemm:8.1f} {t_col2im:8.1f} {rate:8.1f} {rate / peak:6.0%}")
    print("im2col, gemm (one forward product) and col2im are timed alone on the same shapes.")


if __name__ == "__main__":
    main()
