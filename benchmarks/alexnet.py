"""Time the seed AlexNet's training step and forward pass, per image, against PyTorch when it is installed.

A training step is forward + cross-entropy + backward + SGD update (momentum 0.9,
weight decay 5e-4) on a batch of random 224x224 images already on the device; the
forward pass is the same net in eval mode with no graph recorded. Every figure is
the median of ``--repeat`` runs after ``--warmup`` runs. PyTorch is never required:
where ``import torch`` works, the same network is timed in the same run and the
ratio tinynet / PyTorch printed (for time per image: lower is better, 1.0 = parity).

Also printed: a per-layer table (forward and backward of every layer on its own,
and the im2col / GEMM / col2im split inside each convolution), peak memory, the
rate of a plain float32 matrix product on this machine, and the floor that rate
puts under a training step (the step's FLOPs at that rate).

    python benchmarks/alexnet.py                          # CPU, batch 32
    python benchmarks/alexnet.py --device cuda            # GPU: batch 128 and 256, float32 and TF32

NumPy is imported before tinynet, as users' scripts do; TINYNET_BENCH_IMPORT=tinynet-first imports
tinynet first instead (the order matters where OpenBLAS reads its environment when it loads).

On the GPU each precision runs in its own child process (CuPy fixes the compute
type of float32 products once per process; see tinynet.backend.enable_tf32).
Results, with the machine's description, go to benchmarks/results/<name>.json.
Nothing is asserted: speed lives here, never in tests.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

if os.environ.get("TINYNET_BENCH_IMPORT") == "tinynet-first":  # the other order, to compare
    __import__("kernels")
import numpy as np  # noqa: E402  NumPy first, as users' scripts import it
import kernels  # noqa: E402
import tinynet  # noqa: E402
from tinynet import functional as F  # noqa: E402
from tinynet import nn  # noqa: E402
from tinynet.models.alexnet import alexnet  # noqa: E402
from tinynet.optim import SGD  # noqa: E402

NUM_CLASSES = 1000
SIZE = 224
LR, MOMENTUM, WD = 0.01, 0.9, 5e-4


# --- FLOPs ---------------------------------------------------------------------

def layer_flops(model, size=SIZE):
    """[(name, forward FLOPs per image, backward FLOPs per image)] of every conv and dense layer.

    A product of an (M, K) and a (K, N) matrix is 2*M*K*N FLOPs. Backward does two
    such products per layer (dW and dx) except for conv1, whose input is the image
    and needs no gradient.
    """
    out, side, first = [], size, True
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            k, s, p = m.kernel_size[0], m.stride[0], m.padding[0]
            side = (side + 2 * p - k) // s + 1
            fwd = 2 * m.out_channels * side * side * m.in_channels // m.groups * k * k
            out.append((name, fwd, fwd if first else 2 * fwd))
            first = False
        elif isinstance(m, nn.MaxPool2d):
            k, s = (v if isinstance(v, int) else v[0] for v in (m.kernel_size, m.stride))
            side = (side - k) // s + 1
        elif isinstance(m, nn.Linear):
            fwd = 2 * m.in_features * m.out_features
            out.append((name, fwd, 2 * fwd))
    return out


# --- machine ---------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info():
    """NumPy's BLAS as NumPy reports it (name and version), or 'unknown'."""
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"


def git_commit():
    """The checkout's commit, with "+changes" when the working tree differs from it (None outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True)
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def machine(device):
    info = {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default",
        "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
        "tinynet_threads": kernels.parallel.num_threads(),
    }
    if device == "cuda":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        info.update({
            "gpu": name.decode() if isinstance(name, bytes) else str(name),
            "gpu_memory_gib": round(props["totalGlobalMem"] / 2**30, 1),
            "multiprocessors": props["multiProcessorCount"],
            "cupy": cupy.__version__,
            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
            "cuda_driver": cupy.cuda.runtime.driverGetVersion(),
        })
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)
            info["driver"] = out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    torch = optional_torch()
    if torch is not None:
        info["torch"] = torch.__version__
    return info


def optional_torch():
    try:
        import torch
    except Exception:
        return None
    return torch


# --- timing ----------------------------------------------------------------------

class Clock:
    """Milliseconds of a callable: host clock, with the device synchronized on both sides on the GPU."""

    def __init__(self, device, warmup, repeat, sync=None):
        self.warmup, self.repeat = warmup, repeat
        if sync is not None:  # another library's synchronize (PyTorch's)
            self.sync = sync
        elif device == "cuda":
            import cupy

            self.sync = cupy.cuda.Device().synchronize
        else:
            self.sync = lambda: None

    def median_ms(self, fn, repeat=None):
        for _ in range(self.warmup):
            fn()
        times = []
        for _ in range(repeat or self.repeat):
            self.sync()
            start = time.perf_counter()
            fn()
            self.sync()
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)


def matmul_gflops(xp, clock, n):
    """Rate of one float32 (n, n) @ (n, n) product on this device, GFLOP/s."""
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.random((n, n), dtype=np.float32))
    b = xp.asarray(rng.random((n, n), dtype=np.float32))
    return 2 * n ** 3 / (clock.median_ms(lambda: a @ b, repeat=5) * 1e-3) / 1e9


# --- tinynet ---------------------------------------------------------------------

CONV_ALGORITHM = "auto"  # --conv-algorithm: what every convolution that can uses (tinynet/functional/conv_choice.py)


def tinynet_setup(device, batch, seed=0):
    tinynet.manual_seed(seed)
    model = alexnet("seed", num_classes=NUM_CLASSES).to(device)
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d) and (CONV_ALGORITHM != "winograd" or layer.winograd_eligible()):
            layer.algorithm = CONV_ALGORITHM
    opt = SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    rng = np.random.default_rng(seed)
    x = tinynet.Tensor(rng.standard_normal((batch, 3, SIZE, SIZE), dtype=np.float32), device=device)
    y = tinynet.Tensor(rng.integers(0, NUM_CLASSES, batch), device=device)
    return model, opt, x, y


AMP_DTYPES = {"fp16": "float16", "bf16": "bfloat16"}  # --precision fp16 / bf16: mixed precision (tinynet.amp)


def tinynet_times(device, batch, clock, precision="fp32"):
    model, opt, x, y = tinynet_setup(device, batch)
    mixed = precision in AMP_DTYPES
    scaler = tinynet.amp.GradScaler(device, enabled=precision == "fp16")

    def step():
        with tinynet.amp.autocast(device, dtype=AMP_DTYPES.get(precision), enabled=mixed):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    model.train()
    train_ms = clock.median_ms(step)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)
    model.eval()

    def forward():
        with tinynet.no_grad():
            model(x)

    forward_ms = clock.median_ms(forward)
    out = {"train_ms": train_ms, "forward_ms": forward_ms}
    if device == "cpu":
        out["peak_rss_gib_after_train"] = peak_rss
    else:
        import cupy

        out["gpu_pool_gib"] = cupy.get_default_memory_pool().total_bytes() / 2**30
    return out


def layer_table(device, batch, clock):
    """Forward and backward of every layer on its own, in the order the net runs them."""
    model, _, x, _ = tinynet_setup(device, batch)
    model.train()
    xp = kernels.get_array_module(x.data)
    rng = np.random.default_rng(1)
    layers = [(f"features.{i}", m) for i, m in enumerate(model.features)]
    layers.append(("flatten", model.flatten))
    layers += [(f"classifier.{i}", m) for i, m in enumerate(model.classifier)]
    rows, a = [], x
    for idx, (name, m) in enumerate(layers):
        inp = tinynet.Tensor(a.data, requires_grad=idx > 0)  # the image needs no gradient
        y = m(inp)
        g = xp.asarray(rng.standard_normal(y.shape, dtype=np.float32))
        fwd = clock.median_ms(lambda: m(inp))

        def fwd_bwd():
            for p in m.parameters():
                p.grad = None
            inp.grad = None
            m(inp).backward(g)

        bwd = max(clock.median_ms(fwd_bwd) - fwd, 0.0)
        row = {"layer": name, "op": type(m).__name__, "out_shape": list(y.shape), "forward_ms": fwd,
               "backward_ms": bwd}
        if isinstance(m, nn.Conv2d):
            row.update(conv_split(m, a.data, clock, xp))
        rows.append(row)
        a = y.detach()
    return rows


def conv_split(m, x, clock, xp):
    """The three parts of a convolution, each timed alone on this layer's shapes (the seed net has
    no groups, so each product is the layer's whole GEMM)."""
    k, s, p = m.kernel_size, m.stride, m.padding
    col = kernels.im2col(x, k, s, p)
    w = m.weight.data.reshape(m.out_channels, -1)
    ymat = w @ col
    t_im2col = clock.median_ms(lambda: kernels.im2col(x, k, s, p))
    t_gemm_fwd = clock.median_ms(lambda: w @ col)
    t_gemm_dw = clock.median_ms(lambda: ymat @ col.T)
    t_gemm_dx = clock.median_ms(lambda: w.T @ ymat)
    t_col2im = clock.median_ms(lambda: kernels.col2im(col, x.shape, k, s, p))
    return {"im2col_ms": t_im2col, "gemm_fwd_ms": t_gemm_fwd, "gemm_dw_ms": t_gemm_dw,
            "gemm_dx_ms": t_gemm_dx, "col2im_ms": t_col2im}


# --- PyTorch ---------------------------------------------------------------------

def torch_net(torch):
    tnn = torch.nn
    return tnn.Sequential(
        tnn.Conv2d(3, 96, 11, 4, 2), tnn.ReLU(inplace=True), tnn.MaxPool2d(3, 2),
        tnn.Conv2d(96, 256, 5, padding=2), tnn.ReLU(inplace=True), tnn.MaxPool2d(3, 2),
        tnn.Conv2d(256, 384, 3, padding=1), tnn.ReLU(inplace=True),
        tnn.Conv2d(384, 384, 3, padding=1), tnn.ReLU(inplace=True),
        tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(inplace=True), tnn.MaxPool2d(3, 2),
        tnn.Flatten(),
        tnn.Dropout(0.5), tnn.Linear(256 * 6 * 6, 4096), tnn.ReLU(inplace=True),
        tnn.Dropout(0.5), tnn.Linear(4096, 4096), tnn.ReLU(inplace=True),
        tnn.Linear(4096, NUM_CLASSES),
    )


def torch_times(torch, device, batch, clock, tf32=False, cudnn_benchmark=False, precision="fp32"):
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32  # PyTorch's default is True for convolutions
        torch.backends.cudnn.benchmark = cudnn_benchmark
        sync = torch.cuda.synchronize
    else:
        sync = lambda: None  # noqa: E731
    torch.manual_seed(0)
    net = torch_net(torch).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    x = torch.randn(batch, 3, SIZE, SIZE, device=device)
    y = torch.randint(0, NUM_CLASSES, (batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()
    mixed = precision in AMP_DTYPES
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    scaler = torch.amp.GradScaler(device, enabled=precision == "fp16")

    def step():
        with torch.autocast(device, dtype=dtype, enabled=mixed):
            loss = loss_fn(net(x), y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def forward():
        with torch.no_grad():
            net(x)

    torch_clock = Clock(device, clock.warmup, clock.repeat, sync=sync)
    net.train()
    train_ms = torch_clock.median_ms(step)
    net.eval()
    forward_ms = torch_clock.median_ms(forward)
    return {"train_ms": train_ms, "forward_ms": forward_ms}


# --- runs --------------------------------------------------------------------------

def run_one(device, batch, precision, clock, layers, use_torch):
    """Every figure for one (device, batch, precision); returns a dict."""
    flops = layer_flops(alexnet("seed", NUM_CLASSES))
    total_fwd = sum(f for _, f, _ in flops)
    total_train = sum(f + b for _, f, b in flops)
    res = {"device": device, "batch": batch, "precision": precision,
           "gflop_per_image_train": total_train / 1e9, "gflop_per_image_forward": total_fwd / 1e9}
    t = tinynet_times(device, batch, clock, precision)
    res["tinynet"] = {**t, "train_ms_per_image": t["train_ms"] / batch, "forward_ms_per_image": t["forward_ms"] / batch,
                      "train_images_per_s": batch / t["train_ms"] * 1e3,
                      "forward_images_per_s": batch / t["forward_ms"] * 1e3}
    res["tinynet"]["train_gflops"] = res["tinynet"]["train_images_per_s"] * total_train / 1e9
    torch = optional_torch() if use_torch else None
    if torch is not None and (device == "cpu" or torch.cuda.is_available()):
        variants = [("pytorch", False)] + ([("pytorch_cudnn_benchmark", True)] if device == "cuda" else [])
        for key, bench in variants:
            try:
                tt = torch_times(torch, device, batch, clock, tf32=precision == "tf32", cudnn_benchmark=bench,
                                 precision=precision)
            except Exception as e:  # report, keep the tinynet figures
                res[key] = {"error": f"{type(e).__name__}: {e}"}
                continue
            res[key] = {**tt, "train_ms_per_image": tt["train_ms"] / batch,
                        "forward_ms_per_image": tt["forward_ms"] / batch,
                        "train_images_per_s": batch / tt["train_ms"] * 1e3,
                        "forward_images_per_s": batch / tt["forward_ms"] * 1e3,
                        "ratio_train": t["train_ms"] / tt["train_ms"],
                        "ratio_forward": t["forward_ms"] / tt["forward_ms"]}
    if layers:
        res["layers"] = layer_table(device, batch, clock)
    return res


def print_result(res, peak_gflops):
    b = res["batch"]
    t = res["tinynet"]
    print(f"\n== {res['device']} batch {b} {res['precision']}: training step {res['gflop_per_image_train']:.2f} "
          f"GFLOP/image, forward {res['gflop_per_image_forward']:.2f}")
    print(f"{'':26} {'train ms/img':>12} {'fwd ms/img':>11} {'train img/s':>11} {'ratio train':>11} {'ratio fwd':>10}")
    print(f"{'tinynet':26} {t['train_ms_per_image']:12.2f} {t['forward_ms_per_image']:11.2f} "
          f"{t['train_images_per_s']:11.1f}")
    for key in ("pytorch", "pytorch_cudnn_benchmark"):
        if key in res:
            r = res[key]
            if "error" in r:
                print(f"{key:26} {r['error']}")
                continue
            print(f"{key:26} {r['train_ms_per_image']:12.2f} {r['forward_ms_per_image']:11.2f} "
                  f"{r['train_images_per_s']:11.1f} {r['ratio_train']:11.2f} {r['ratio_forward']:10.2f}")
    floor = res["gflop_per_image_train"] / peak_gflops * 1e3
    rate = "TF32" if res["precision"] == "tf32" else "float32"
    print(f"floor at this device's measured {rate} matmul rate ({peak_gflops:.0f} GFLOP/s): {floor:.2f} ms/image "
          f"training; tinynet reaches {t['train_gflops']:.0f} GFLOP/s = {t['train_gflops'] / peak_gflops:.0%} of it")
    if "peak_rss_gib_after_train" in t:
        print(f"peak resident memory after the training steps: {t['peak_rss_gib_after_train']:.2f} GiB")
    if "gpu_pool_gib" in t:
        print(f"CuPy memory pool after the forward passes: {t['gpu_pool_gib']:.2f} GiB")
    if "layers" in res:
        print(f"\n{'layer':14} {'op':17} {'fwd ms':>8} {'bwd ms':>8} {'im2col':>7} {'gemm f':>7} {'gemm dW':>7} "
              f"{'gemm dx':>7} {'col2im':>7}")
        for r in res["layers"]:
            split = "".join(f" {r[k]:7.2f}" for k in ("im2col_ms", "gemm_fwd_ms", "gemm_dw_ms", "gemm_dx_ms",
                                                       "col2im_ms") if k in r)
            print(f"{r['layer']:14} {r['op']:17} {r['forward_ms']:8.2f} {r['backward_ms']:8.2f}{split}")
        print(f"{'sum':32} {sum(r['forward_ms'] for r in res['layers']):8.2f} "
              f"{sum(r['backward_ms'] for r in res['layers']):8.2f}")


def child_main(args):
    """Run one precision on one device for every batch size; print JSON on the last line."""
    clock = Clock(args.device, args.warmup, args.repeat)
    xp = np
    if args.device == "cuda":
        import cupy as xp
    peak = matmul_gflops(xp, clock, 8192 if args.device == "cuda" else 4096)
    results = []
    for batch in args.batch:
        try:
            results.append(run_one(args.device, batch, args.precision, clock, not args.no_layers, not args.no_torch))
        except Exception as e:
            results.append({"device": args.device, "batch": batch, "precision": args.precision,
                            "error": f"{type(e).__name__}: {e}"})
    return {"matmul_gflops": peak, "results": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch", type=int, nargs="+", help="batch sizes (default: 32 on cpu, 128 256 on cuda)")
    parser.add_argument("--precision", choices=("fp32", "tf32", "both", "fp16", "bf16"), default=None,
                        help="float32, TF32 matrix products (cuda), both (the cuda default), or mixed precision: "
                             "fp16 (autocast + GradScaler, against PyTorch's) or bf16 (autocast)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first (default: 1 cpu, 5 cuda)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs, median taken (default: 5 cpu, 30 cuda)")
    parser.add_argument("--no-layers", action="store_true", help="skip the per-layer table")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--name", help="results file name under benchmarks/results/ (default: derived)")
    parser.add_argument("--no-save", action="store_true", help="print only, write no results file")
    parser.add_argument("--conv-algorithm", choices=("auto", "im2col", "winograd"), default="auto",
                        help="tinynet's convolutions: auto (the default: the fastest per layer, timed once), im2col, "
                             "or winograd where a layer can (stride 1, 3x3 and 5x5)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global CONV_ALGORITHM
    CONV_ALGORITHM = args.conv_algorithm
    gpu = args.device == "cuda"
    args.batch = args.batch or ([128, 256] if gpu else [32])
    args.warmup = args.warmup if args.warmup is not None else (5 if gpu else 1)
    args.repeat = args.repeat or (30 if gpu else 5)
    args.precision = args.precision or ("both" if gpu else "fp32")
    if not gpu and args.precision in ("tf32", "both"):
        parser.error("--precision tf32 applies to --device cuda only")

    if args.child:
        print(json.dumps(child_main(args)))
        return

    report = {"benchmark": "seed AlexNet, 1000 classes, 224x224, SGD momentum 0.9 wd 5e-4",
              "conv_algorithm": args.conv_algorithm,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
              "commit": git_commit(),
              "warmup": args.warmup, "repeat": args.repeat, "machine": machine(args.device), "runs": []}
    precisions = ["fp32", "tf32"] if args.precision == "both" else [args.precision]
    for prec in precisions:
        if gpu:  # one process per precision: CuPy picks the float32 compute type once per process
            env = dict(os.environ, CUPY_TF32="1" if prec == "tf32" else "0")
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--device", "cuda", "--precision", prec,
                   "--warmup", str(args.warmup), "--repeat", str(args.repeat), "--batch", *map(str, args.batch),
                   "--conv-algorithm", args.conv_algorithm]
            cmd += ["--no-layers"] * args.no_layers + ["--no-torch"] * args.no_torch
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0 or not proc.stdout.strip():
                print(proc.stdout[-4000:], proc.stderr[-4000:], file=sys.stderr)
                report["runs"].append({"precision": prec, "error": proc.stderr[-2000:]})
                continue
            run = json.loads(proc.stdout.strip().splitlines()[-1])
        else:
            run = child_main(args)
        run["precision"] = prec
        report["runs"].append(run)
        for res in run["results"]:
            if "error" in res:
                print(f"\n== {res['device']} batch {res['batch']} {prec}: failed: {res['error']}")
            else:
                print_result(res, run["matmul_gflops"])

    m = report["machine"]
    print(f"\n{m.get('gpu', m['cpu'])}; {m['cores']} cores; NumPy {m['numpy']} ({m['blas']}); "
          + (f"CuPy {m['cupy']}, CUDA runtime {m['cuda_runtime']}, driver {m.get('driver')}; " if gpu else "")
          + (f"PyTorch {m['torch']}" if "torch" in m else "PyTorch not installed"))
    if not args.no_save:
        name = args.name or ("gpu-" + m["gpu"] if gpu else "cpu-" + m["cpu"]).lower()
        name = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-")
        path = os.path.join(ROOT, "benchmarks", "results", f"{name}-b{'-'.join(map(str, args.batch))}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(report, f, indent=1)
        print(f"results written to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
