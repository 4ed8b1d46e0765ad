"""Peak resident memory of the seed AlexNet's training step, each engine in its own process.

For each batch size, a fresh child process builds the network (tinynet, or PyTorch where it is installed),
runs --steps training steps (forward, cross-entropy, backward, SGD with momentum) on random 224x224 images on
the CPU, and reports its peak resident set (ru_maxrss) and the median step time; then the ratio of tinynet's
peak to PyTorch's. NumPy is imported first, as users' scripts do. Figures only; nothing is asserted.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/memory.py --batch 32 64
    python benchmarks/memory.py --conv-columns keep       # tinynet keeping im2col's columns for dW
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(engine, batch, steps, conv_columns, conv_algorithm):
    import numpy  # noqa: F401  first, as users' scripts import it

    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import alexnet as bench  # benchmarks/alexnet.py: the same network and step

    if engine == "tinynet":
        from tinynet.functional import conv

        conv.KEEP_COLUMNS = {"keep": True, "recompute": False}[conv_columns]
        bench.CONV_ALGORITHM = conv_algorithm
        model, opt, x, y = bench.tinynet_setup("cpu", batch)

        def step():
            loss = bench.F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        import torch

        torch.manual_seed(0)
        net = bench.torch_net(torch)
        opt = torch.optim.SGD(net.parameters(), lr=bench.LR, momentum=bench.MOMENTUM, weight_decay=bench.WD)
        x = torch.randn(batch, 3, bench.SIZE, bench.SIZE)
        y = torch.randint(0, bench.NUM_CLASSES, (batch,))
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            loss = loss_fn(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB -> GiB (Linux)
    return {"engine": engine, "batch": batch, "peak_rss_gib": peak, "step_s": statistics.median(times[1:] or times)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--conv-columns", choices=("recompute", "keep"), default="recompute",
                        help="tinynet's im2col convolutions: keep the input and rebuild the columns for dW "
                             "(the default), or keep the columns")
    parser.add_argument("--conv-algorithm", choices=("auto", "im2col", "winograd"), default="auto")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.steps, args.conv_columns,
                               args.conv_algorithm)))
        return
    try:
        import importlib.util

        engines = ["tinynet"] + (["pytorch"] if importlib.util.find_spec("torch") else [])
    except ImportError:
        engines = ["tinynet"]
    print(f"seed AlexNet, 224x224, SGD, {args.steps} steps; tinynet: --conv-columns {args.conv_columns}, "
          f"--conv-algorithm {args.conv_algorithm}")
    for batch in args.batch:
        rows = {}
        for engine in engines:
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", engine, str(batch),
                                   "--steps", str(args.steps), "--conv-columns", args.conv_columns,
                                   "--conv-algorithm", args.conv_algorithm], capture_output=True, text=True)
            if done.returncode != 0:
                print(f"batch {batch} {engine}: failed\n{done.stderr[-2000:]}")
                continue
            rows[engine] = json.loads(done.stdout.strip().splitlines()[-1])
            r = rows[engine]
            print(f"batch {batch:4} {engine:8} peak {r['peak_rss_gib']:.2f} GiB   step {r['step_s'] * 1e3:.0f} ms")
        if len(rows) == 2:
            print(f"batch {batch:4} tinynet / pytorch: memory {rows['tinynet']['peak_rss_gib'] / rows['pytorch']['peak_rss_gib']:.2f}x"
                  f", step time {rows['tinynet']['step_s'] / rows['pytorch']['step_s']:.2f}x")


if __name__ == "__main__":
    main()
