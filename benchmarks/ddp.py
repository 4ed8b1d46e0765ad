"""Data parallelism's cost and gain: a training step with and without DistributedDataParallel, and
`tinynet train` on 1 and on N processes.

1. step: the same AlexNet, batch, optimizer, alone and wrapped in DistributedDataParallel in a process
   group of one (mpi on the CPU: MPI's singleton world; nccl on a GPU through RANK=0, WORLD_SIZE=1): what
   the hooks, the bucket copies and the reduces add to a step. Medians of --repeat steps of each, taken
   in turn (one alone, one wrapped, ...) after warm-up.
2. train (CPU only, --train): one epoch of `tinynet train` on the generated set, alone and with
   --nproc-per-node N (the launcher, MPI), img/s from each run's metrics.jsonl.

    python benchmarks/ddp.py [--device cpu] [--variant mini] [--batch 32] [--train --nproc 2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kernels  # noqa: E402,F401  before NumPy: it sets OpenBLAS's thread timeout (kernels/__init__.py)
import numpy as np  # noqa: E402

import tinynet  # noqa: E402
from tinynet import distributed as dist  # noqa: E402
from tinynet import functional as F  # noqa: E402
from tinynet.models import alexnet  # noqa: E402


def step_times(runs, device, size, batch, repeat):
    """Median seconds of a training step of each (model, parameters) in ``runs``, their steps interleaved
    (one of each in turn, after two warm-up rounds) so that drift in the machine's speed hits all alike."""
    rng = np.random.default_rng(0)
    x = tinynet.Tensor(rng.standard_normal((batch, 3, size, size), dtype=np.float32), device=device)
    y = tinynet.Tensor(rng.integers(0, 10, batch), device=device)
    opts = [tinynet.optim.SGD(params, lr=0.01, momentum=0.9) for _, params in runs]

    def sync():
        if device == "cuda":
            import cupy

            cupy.cuda.Device().synchronize()

    times = [[] for _ in runs]
    for k in range(repeat + 2):
        for (model, _), opt, kept in zip(runs, opts, times):
            sync()
            start = time.perf_counter()
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sync()
            if k >= 2:
                kept.append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def train_rate(nproc, epochs_dir):
    """img/s of one epoch of the default run (mini AlexNet, generated set, -j 0), alone or on nproc ranks."""
    out = os.path.join(epochs_dir, f"run{nproc}")
    command = [sys.executable, "-m", "tinynet", "train", "--epochs", "1", "-j", "0", "--no-progress",
               "--output-dir", out]
    if nproc > 1:
        command += ["--nproc-per-node", str(nproc)]
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True, env=dict(os.environ, PYTHONPATH=ROOT))
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return json.loads(f.readline())["images_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--variant", default="mini")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--train", action="store_true", help="also time `tinynet train` alone and on --nproc ranks")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    size = args.image_size or (64 if args.variant == "mini" else 224)
    if args.device == "cuda":
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("mpi")  # MPI's singleton world: no mpiexec needed for one process
    tinynet.manual_seed(0)
    net = alexnet(args.variant, num_classes=10).to(args.device)
    tinynet.manual_seed(0)
    twin = alexnet(args.variant, num_classes=10).to(args.device)  # the same net, wrapped (its hooks are its own)
    wrapped = dist.DistributedDataParallel(twin)
    alone, with_ddp = step_times([(net, net.parameters()), (wrapped, twin.parameters())], args.device, size,
                                 args.batch, args.repeat)
    result = {"device": args.device, "variant": args.variant, "image_size": size, "batch": args.batch,
              "step_s_alone": alone, "step_s_ddp_world1": with_ddp, "ddp_overhead": with_ddp / alone - 1,
              "buckets": len(wrapped._buckets)}
    print(f"{args.variant} AlexNet at {size}, batch {args.batch}, {args.device}: step {alone * 1e3:.1f} ms alone, "
          f"{with_ddp * 1e3:.1f} ms in DistributedDataParallel (world 1, {result['buckets']} buckets): "
          f"{result['ddp_overhead']:+.1%}", flush=True)
    dist.destroy_process_group()
    if args.train and args.device == "cpu":
        work = tempfile.mkdtemp(prefix="tinynet-ddp-bench-")
        one, many = train_rate(1, work), train_rate(args.nproc, work)
        result.update(train_img_s_1=one, **{f"train_img_s_{args.nproc}": many})
        print(f"tinynet train, one epoch of the default run: {one:.0f} img/s alone, {many:.0f} img/s on "
              f"{args.nproc} processes ({many / one:.2f}x; {os.cpu_count()} cores)", flush=True)
    if not args.no_save:
        name = f"ddp-{args.device}-{os.cpu_count()}core.json"
        with open(os.path.join(ROOT, "benchmarks", "results", name), "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote benchmarks/results/{name}")


if __name__ == "__main__":
    main()
