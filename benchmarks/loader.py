"""The data pipeline's rate: images per second until normalised float32 batches are on the device.

On a generated folder of photo-sized JPEGs (500x375, quality 90, like ImageNet's) and on its packed version
(``tinynet data pack``), with AlexNet's training transform (shorter side to 256, random 224 crop, flip, PCA
lighting, normalise), batch 128, for 1 and 2 workers (more with --workers), side by side in one run:

    tinynet folder    DataLoader over ImageFolder (uint8 batches in shared memory, the float map on the batch)
    tinynet packed    DataLoader over the packed set (random crops read from the shards: no decoding)
    PyTorch folder    torch.utils.data.DataLoader running the same Pillow code per sample, when torch is
                      installed (never required); the ratio is tinynet's rate over PyTorch's

Before timing, the two engines' batches are compared on a centre crop without flip or lighting (the same
images in the same order). Also printed: the per-image cost of each stage of the sample pipeline on one
core (decode, resize, crop to uint8). Each rate is one full pass after one warm-up pass (workers started
and persistent); figures are written to benchmarks/results/loader-cpu-<cores>core.json. With --device cuda
tinynet's batches are finished on the GPU (uint8 copied through pinned memory on a side stream, then the
float map), timed until the last batch is there; PyTorch's batches stay on the host (loader-cuda-...json).

    python benchmarks/loader.py [--images 1024] [--workers 1 2] [--batch 128] [--device cpu]
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kernels  # noqa: E402,F401  before NumPy: it sets OpenBLAS's thread timeout (kernels/__init__.py)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tinynet.data import DataLoader, ImageFolder, transforms  # noqa: E402
from tinynet.data.folder import load_rgb  # noqa: E402
from tinynet.data.packed import PackedDataset, pack  # noqa: E402


def make_folder(root, images, classes=8, seed=0):
    """``images`` smooth, photo-like JPEGs of 500x375 in train/<class>/ (and a few in val/)."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", images), ("val", classes)):
        for k in range(n):
            d = os.path.join(root, split, f"c{k % classes}")
            os.makedirs(d, exist_ok=True)
            small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
            img = Image.fromarray(small).resize((500, 375), Image.BICUBIC)
            noisy = np.asarray(img) ^ rng.integers(0, 24, (375, 500, 3), dtype=np.uint8)
            Image.fromarray(noisy).save(os.path.join(d, f"{k}.jpg"), quality=90)


def rate(loader):
    """Images per second of one full pass, after one warm-up pass (until the last batch is complete)."""
    for _ in loader:
        pass
    start, n = time.perf_counter(), 0
    for x, y in loader:
        n += len(y)
    float(x.data[-1, 0, 0, 0])  # on a GPU: waits for the last batch's copy and conversion
    return n / (time.perf_counter() - start)


def stage_costs(folder, count=64):
    """ms per image on one core: decode, resize to 256, crop/flip to uint8."""
    paths = [p for p, _ in ImageFolder(folder).samples[:count]]
    t = time.perf_counter()
    imgs = [load_rgb(p) for p in paths]
    decode = (time.perf_counter() - t) / len(paths)
    t = time.perf_counter()
    resized = [transforms.Resize(256)(i) for i in imgs]
    resize = (time.perf_counter() - t) / len(paths)
    rng = np.random.default_rng(0)
    tail = transforms.split_for_transport(transforms.train_transform(224)).transforms[1:]
    t = time.perf_counter()
    for img in resized:
        for step in tail:
            img = step(img, rng)
    crop = (time.perf_counter() - t) / len(paths)
    return {"decode_ms": decode * 1e3, "resize_ms": resize * 1e3, "crop_flip_to_uint8_ms": crop * 1e3}


def large_photo_costs(work, repeats=8):
    """ms per 2000x1500 JPEG (a phone photo) to a shorter side of 256: full decode then Resize, against
    ImageFolder's way, Pillow's draft mode at 1/4 first (folder.load_rgb(path, 256))."""
    path = os.path.join(work, "large.jpg")
    small = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(small).resize((2000, 1500), Image.BICUBIC).save(path, quality=90)
    times = {}
    for name, load in (("full_decode_then_resize_ms", lambda: transforms.Resize(256)(load_rgb(path))),
                       ("draft_decode_ms", lambda: load_rgb(path, 256))):
        load()
        t = time.perf_counter()
        for _ in range(repeats):
            load()
        times[name] = (time.perf_counter() - t) / repeats * 1e3
    return times


def torch_loader(torch, folder, batch, workers, transform):
    class Folder(torch.utils.data.Dataset):
        def __init__(self):
            self.samples = ImageFolder(folder).samples

        def __len__(self):
            return len(self.samples)

        def __getitem__(self, i):
            path, label = self.samples[i]
            rng = np.random.default_rng([0, 0, i])
            return torch.from_numpy(transform(load_rgb(path), rng)), label

    return torch.utils.data.DataLoader(Folder(), batch_size=batch, num_workers=workers, persistent_workers=workers > 0)


def check_same_batch(torch, folder, batch):
    """Both engines' first batch on a centre crop without flip or lighting: the largest difference."""
    eval_tf = transforms.eval_transform(224)
    ours = next(iter(DataLoader(ImageFolder(folder, eval_tf), batch_size=batch)))[0].numpy()
    theirs = next(iter(torch_loader(torch, folder, batch, 0, eval_tf)))[0].numpy()
    return float(np.abs(ours - theirs).max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    work = tempfile.mkdtemp(prefix="tinynet-loader-bench-")
    folder, packed = os.path.join(work, "jpeg"), os.path.join(work, "packed")
    make_folder(folder, args.images)
    pack(folder, packed, size=256)
    train_tf = transforms.train_transform(224)
    result = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(), "device": args.device,
              "images": args.images, "batch": args.batch, "stages": stage_costs(os.path.join(folder, "train"))}
    print(f"{args.images} JPEGs 500x375 q90, batch {args.batch}; per image on one core: "
          + ", ".join(f"{k[:-3]} {v:.2f} ms" for k, v in result["stages"].items()), flush=True)
    result["per_core_img_per_s"] = 1e3 / sum(result["stages"].values())
    print(f"one core decodes and augments {result['per_core_img_per_s']:.0f} img/s (the folder's ceiling per worker)")
    result["large_photo"] = large_photo_costs(work)
    print("a 2000x1500 JPEG to 256 on one core: " + ", ".join(f"{k[:-3].replace('_', ' ')} {v:.1f} ms"
                                                          for k, v in result["large_photo"].items()), flush=True)
    if torch is not None:
        result["max_abs_diff_vs_torch_centre_crop"] = check_same_batch(torch, os.path.join(folder, "train"),
                                                                       args.batch)
        print(f"same batch as PyTorch's loader on a centre crop: largest difference "
              f"{result['max_abs_diff_vs_torch_centre_crop']:.2e}", flush=True)
    rows = []
    for w in args.workers:
        ours = rate(DataLoader(ImageFolder(os.path.join(folder, "train"), train_tf), batch_size=args.batch,
                               num_workers=w, persistent_workers=w > 0, device=args.device))
        packed_rate = rate(DataLoader(PackedDataset(os.path.join(packed, "train"), train_tf), batch_size=args.batch,
                                      num_workers=w, persistent_workers=w > 0, device=args.device))
        theirs = rate(torch_loader(torch, os.path.join(folder, "train"), args.batch, w, train_tf)) if torch else None
        rows.append({"workers": w, "tinynet_folder": ours, "tinynet_packed": packed_rate, "torch_folder": theirs})
        vs = f"  PyTorch {theirs:6.0f}  ratio {ours / theirs:.2f}" if theirs else ""
        print(f"workers {w}: tinynet folder {ours:6.0f} img/s  packed {packed_rate:6.0f} img/s "
              f"({packed_rate / ours:.1f}x the folder){vs}", flush=True)
    result["rates_img_per_s"] = rows
    if not args.no_save:
        os.makedirs(os.path.join(ROOT, "benchmarks", "results"), exist_ok=True)
        name = f"loader-{args.device}-{os.cpu_count()}core.json"
        with open(os.path.join(ROOT, "benchmarks", "results", name), "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote benchmarks/results/{name}")


if __name__ == "__main__":
    main()
