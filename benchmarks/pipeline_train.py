"""End to end: AlexNet trained from image files, against its step rate on tensors already on the device.

Issue 15's measurement. Makes a folder of photo-sized JPEGs (benchmarks/loader.py's generator: 500x375,
quality 90), packs it (``tinynet data pack --size 256``), then runs ``tinynet train`` on the folder and on
the packed set (``--epochs`` each), and times the same model's training step on random tensors on the
device. Prints each epoch's img/s from the runs' metrics.jsonl and the ratio to the tensor step rate;
writes the table to benchmarks/results/pipeline-<device>.json.

    python benchmarks/pipeline_train.py --device cuda                     # seed AlexNet at 224, batch 128
    python benchmarks/pipeline_train.py --device cpu --variant mini --image-size 64 --images 256 --batch 32
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
from benchmarks.loader import make_folder  # noqa: E402
from tinynet import functional as F  # noqa: E402
from tinynet.data.packed import pack  # noqa: E402
from tinynet.models import alexnet  # noqa: E402


def tensor_rate(device, variant, size, batch, classes, steps=10):
    """Training images per second of the model on random tensors already on ``device``."""
    tinynet.manual_seed(0)
    model = alexnet(variant, num_classes=classes).to(device)
    opt = tinynet.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    rng = np.random.default_rng(0)
    x = tinynet.Tensor(rng.standard_normal((batch, 3, size, size), dtype=np.float32), device=device)
    y = tinynet.Tensor(rng.integers(0, classes, batch), device=device)

    def sync():
        if device == "cuda":
            import cupy

            cupy.cuda.Device().synchronize()

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return batch * steps / (time.perf_counter() - start)


def train_rates(data, out, args):
    """img/s of each epoch of ``tinynet train`` on ``data`` (from its metrics.jsonl)."""
    command = [sys.executable, "-m", "tinynet", "train", "--data-path", data, "--variant", args.variant,
               "--image-size", str(args.image_size), "--device", args.device, "-b", str(args.batch),
               "-j", str(args.workers), "--epochs", str(args.epochs), "--output-dir", out, "--overwrite",
               "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line)["images_per_second"] for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--variant", default="seed")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--images", type=int, default=6400)
    parser.add_argument("--classes", type=int, default=32)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=600, help="seconds each training run may take")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tinynet-pipeline-")
    folder, packed = os.path.join(work, "jpeg"), os.path.join(work, "packed")
    start = time.perf_counter()
    make_folder(folder, args.images, classes=args.classes)
    made = time.perf_counter()
    pack(folder, packed, size=round(args.image_size * 256 / 224))
    print(f"{args.images} JPEGs made in {made - start:.0f} s, packed in {time.perf_counter() - made:.0f} s",
          flush=True)
    steps = tensor_rate(args.device, args.variant, args.image_size, args.batch, args.classes)
    print(f"{args.variant} AlexNet at {args.image_size}, batch {args.batch}, {args.device}: {steps:.0f} img/s on "
          "tensors already on the device", flush=True)
    result = {"device": args.device, "variant": args.variant, "image_size": args.image_size, "batch": args.batch,
              "workers": args.workers, "images": args.images, "tensor_step_img_per_s": steps}
    for name, data in (("folder", folder), ("packed", packed)):
        rates = train_rates(data, os.path.join(work, f"run-{name}"), args)
        result[f"{name}_epoch_img_per_s"] = rates
        print(f"tinynet train on the {name}: " + ", ".join(f"{r:.0f}" for r in rates)
              + f" img/s per epoch; last epoch {rates[-1] / steps:.0%} of the tensor step rate", flush=True)
    if not args.no_save:
        path = os.path.join(ROOT, "benchmarks", "results", f"pipeline-{args.device}.json")
        with open(path, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
