"""Winograd against im2col on the seed AlexNet's stride-1 layers: speed, and float32 error.

For conv2 (5x5 over 96 channels of 27x27) and conv3-5 (3x3 over 256/384 channels of 13x13), side by side
in one run, on the chosen device:

    speed   forward, and forward + backward (both gradients), ms per call at --batch (the median of
            --repeat after one warm-up), and each variant's time over im2col's
    error   float32 against the float64 convolution of the same float32 numbers: RMS and largest error,
            relative to the output's RMS and largest value, at batch 2; inputs like a ReLU's output,
            weights of Kaiming's scale. The ratio to im2col's RMS error is what decides whether "auto"
            may use a variant (within 10x: tinynet/functional/conv_choice.py)

NumPy is imported first, as users' scripts do. Figures only; nothing is asserted.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/winograd.py --batch 32
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kernels.winograd import VARIANTS  # noqa: E402
from tinynet import backend  # noqa: E402
from tinynet.functional.conv import Conv2d  # noqa: E402
from tinynet.functional.winograd import WinogradConv2d  # noqa: E402

# name, in_channels, out_channels, kernel, padding, input size (seed AlexNet at 224)
LAYERS = [("conv2", 96, 256, 5, 2, 27), ("conv3", 256, 384, 3, 1, 13), ("conv4", 384, 384, 3, 1, 13),
          ("conv5", 384, 256, 3, 1, 13)]


def algorithms(k, p):
    """(label, op factory) for im2col and each Winograd variant of kernel ``k``."""
    out = [("im2col", lambda: Conv2d((1, 1), (p, p), (1, 1), 1))]
    for m, r in VARIANTS:
        if r == k:
            out.append((f"F({m}x{m},{r}x{r})", lambda m=m, r=r: WinogradConv2d(m, r, (p, p), 1)))
    return out


def median_ms(fn, repeat, like):
    fn()
    times = []
    for _ in range(repeat):
        backend.synchronize(like)
        start = time.perf_counter()
        fn()
        backend.synchronize(like)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def speed(name, c, oc, k, p, size, batch, repeat, device, rng):
    x = backend.to_device(np.maximum(rng.standard_normal((batch, c, size, size), dtype=np.float32), 0), device)
    w = backend.to_device((rng.standard_normal((oc, c, k, k), dtype=np.float32) * 0.05).astype(np.float32), device)
    g = backend.to_device(rng.standard_normal((batch, oc, size, size), dtype=np.float32), device)
    rows = []
    for label, make in algorithms(k, p):
        def forward():
            op = make()
            op.needs_input_grad = (False, False)
            op.forward(x, w)

        def step():
            op = make()
            op.needs_input_grad = (True, True)
            op.forward(x, w)
            op.backward(g)

        rows.append((label, median_ms(forward, repeat, x), median_ms(step, repeat, x)))
    base_f, base_s = rows[0][1], rows[0][2]
    for label, f, s in rows:
        print(f"{name:6} {label:14} forward {f:8.1f} ms ({f / base_f:4.2f}x)   forward+backward {s:8.1f} ms "
              f"({s / base_s:4.2f}x)")


def error(name, c, oc, k, p, size, rng):
    x = np.maximum(rng.standard_normal((2, c, size, size)), 0).astype(np.float32)
    w = (rng.standard_normal((oc, c, k, k)) * np.sqrt(2 / (c * k * k))).astype(np.float32)
    ref_op = Conv2d((1, 1), (p, p), (1, 1), 1)
    ref_op.needs_input_grad = (False, False)
    ref = ref_op.forward(x.astype(np.float64), w.astype(np.float64))
    rms, peak = np.sqrt(np.mean(ref ** 2)), np.abs(ref).max()
    base = None
    for label, make in algorithms(k, p):
        op = make()
        op.needs_input_grad = (False, False)
        diff = op.forward(x, w).astype(np.float64) - ref
        e_rms, e_max = np.sqrt(np.mean(diff ** 2)) / rms, np.abs(diff).max() / peak
        base = base or e_rms
        print(f"{name:6} {label:14} RMS error {e_rms:.2e} ({e_rms / base:4.1f}x im2col's)   largest {e_max:.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i.get('architecture', '')} x{i['num_threads']}"
                         for i in threadpool_info() if i.get("user_api") == "blas")
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"{platform.processor() or platform.machine()}, NumPy {np.__version__} ({blas}), device {args.device}, "
          f"batch {args.batch}")
    rng = np.random.default_rng(0)
    for layer in LAYERS:
        speed(*layer, args.batch, args.repeat, args.device, rng)
    print("float32 error against float64 (batch 2, on the host):")
    for layer in LAYERS:
        error(*layer, rng)


if __name__ == "__main__":
    main()
