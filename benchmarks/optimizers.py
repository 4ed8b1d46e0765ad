"""One optimizer step over the seed AlexNet's parameters (62.4M, 16 tensors), per optimizer, side by side.

For each of SGD (momentum 0.9, weight decay 5e-4, the paper's), Adam, AdamW, RMSprop and Adagrad:

    tinynet      ``optimizer.step()`` as training calls it
    array ops    on the GPU only: the same update as the array-library version computes it (kernels/optim.py
                 with the CUDA kernel switched off: about a dozen CuPy launches per parameter for Adam)
    PyTorch      torch.optim's same optimizer on the same device, when ``import torch`` works (never required)

Figures are ms per step, the median of ``--repeat`` steps after two warm-ups (timed after a synchronize on
the GPU), and the ratios tinynet / array ops and tinynet / PyTorch. Nothing is asserted.

    python benchmarks/optimizers.py                   # CPU
    python benchmarks/optimizers.py --device cuda
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
import tinynet  # noqa: E402
from kernels import cuda as kcuda  # noqa: E402
from tinynet import backend, optim  # noqa: E402
from tinynet.models import alexnet  # noqa: E402

OPTIMIZERS = {
    "SGD momentum": (lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=5e-4),
                     lambda torch, ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=5e-4)),
    "Adam": (lambda ps: optim.Adam(ps, lr=1e-3), lambda torch, ps: torch.optim.Adam(ps, lr=1e-3)),
    "AdamW": (lambda ps: optim.AdamW(ps, lr=1e-3), lambda torch, ps: torch.optim.AdamW(ps, lr=1e-3)),
    "RMSprop": (lambda ps: optim.RMSprop(ps, lr=1e-3), lambda torch, ps: torch.optim.RMSprop(ps, lr=1e-3)),
    "Adagrad": (lambda ps: optim.Adagrad(ps, lr=1e-2), lambda torch, ps: torch.optim.Adagrad(ps, lr=1e-2)),
}


def _sync(device):
    if device == "cuda":
        import cupy

        cupy.cuda.Device().synchronize()


def median_ms(step, device, repeat):
    for _ in range(2):
        step()
    _sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def tinynet_params(device):
    tinynet.manual_seed(0)
    model = alexnet("seed").to(device)
    params = list(model.parameters())
    rng = np.random.default_rng(0)
    for p in params:
        p.grad = tinynet.Tensor(backend.to_device(rng.standard_normal(p.shape, dtype=np.float32) * 1e-3, device))
    return params


def torch_params(torch, params, device):
    out = []
    for p in params:
        t = torch.tensor(p.numpy(), device=device, requires_grad=True)
        t.grad = torch.tensor(p.grad.numpy(), device=device)
        out.append(t)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    params = tinynet_params(args.device)
    count = sum(p.numel() for p in params)
    print(f"{len(params)} parameters, {count / 1e6:.1f}M values, float32, device {args.device}, "
          f"median of {args.repeat} steps (ms)")
    print(f"{'optimizer':<14} {'tinynet':>9} {'array ops':>10} {'ratio':>7} {'PyTorch':>9} {'ratio':>7}")
    for name, (make, make_torch) in OPTIMIZERS.items():
        opt = make(params)
        ours = median_ms(opt.step, args.device, args.repeat)
        plain = ratio_plain = ""
        if args.device == "cuda":
            handles = kcuda.handles
            kcuda.handles = lambda *a: False  # every update through the array-library version
            try:
                t = median_ms(opt.step, args.device, args.repeat)
            finally:
                kcuda.handles = handles
            plain, ratio_plain = f"{t:10.2f}", f"{ours / t:7.2f}"
        theirs = ratio = ""
        if torch is not None:
            tp = torch_params(torch, params, args.device)
            topt = make_torch(torch, tp)
            sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)

            def torch_step():
                topt.step()
                sync()

            t = median_ms(torch_step, "cpu", args.repeat)
            theirs, ratio = f"{t:9.2f}", f"{ours / t:7.2f}"
        print(f"{name:<14} {ours:9.2f} {plain:>10} {ratio_plain:>7} {theirs:>9} {ratio:>7}", flush=True)


if __name__ == "__main__":
    main()
