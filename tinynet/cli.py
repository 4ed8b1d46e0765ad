"""The ``tinynet`` command: parses flags and calls one function per sub-command.

    tinynet train [flags]                         train AlexNet (no flags: the main job on generated data)
    tinynet eval --checkpoint F --data-path D     top-1 / top-5 on D's val/ folder
    tinynet predict --checkpoint F IMAGE...       top-5 classes of each image
    tinynet filters --checkpoint F --out P.png    conv1's learned kernels as an image
    tinynet show activations IMAGE --checkpoint F the maps after every feature layer, as one picture
    tinynet data synth --out DIR                  write the synthetic image set
    tinynet data pack SRC OUT [--size 256]        decode and resize an image folder into memory-mapped shards
    tinynet summary alexnet [--variant V]         the layer table
    tinynet demo                                  a one-minute toy run
"""
import argparse
import os
import sys


def _demo(args):
    from tinynet import demo

    demo.run(epochs=args.epochs, seed=args.seed, device=args.device)
    return 0


def _experiment(args):
    from tinynet import experiments

    quick = experiments.QUICK if args.quick else {}
    settings = experiments.Settings(
        seeds=args.seeds or quick.get("seeds", 3), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        optimizer=args.optimizer, conv_algorithm=args.conv_algorithm,
        train_limit=args.train_images or quick.get("train_limit"), val_limit=args.val_images or quick.get("val_limit"),
        quick=args.quick, device=args.device)
    experiments.main(args.names, settings, args.data_path, args.output_dir, bar=args.progress)
    return 0


def _summary(args):
    import tinynet
    from tinynet.models import alexnet

    if args.checkpoint is not None:  # the run's own model, and the convolution algorithms it used
        from tinynet.train import load_model

        given = [flag for flag, value in (("--variant", args.variant), ("--num-classes", args.num_classes))
                 if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)}: the checkpoint gives the model's variant and classes; "
                             "leave them out with --checkpoint")
        model, meta = load_model(args.checkpoint)
        args.variant = meta["variant"]
        shape = (3, meta["image_size"], meta["image_size"]) if args.input is None else args.input
    else:
        args.variant = args.variant or "seed"
        model, meta = alexnet(args.variant, num_classes=args.num_classes or 1000), None
        shape = (3, model.input_size, model.input_size) if args.input is None else args.input
    text = tinynet.summary(model, shape)
    print(text)
    if meta is not None:
        table = meta["conv_algorithms"]
        print(f"\nconvolution algorithms this run computed with ({len(table)} shapes; tinynet/functional/"
              "conv_choice.py):" if table else
              "\nconvolution algorithms of this run: none recorded (the model met no convolution, or the checkpoint "
              "is older than the record)")
        for key in sorted(table):
            print(f"  {table[key]:<22} {key}")
    if "\nstopped: " in text:
        print(f"tinynet summary: the {args.variant} AlexNet can't take an input of {shape}: see 'stopped:' above",
              file=sys.stderr)
        return 1
    return 0


def _chw(text):
    """An argparse ``type``: "C,H,W" -> (C, H, W) of positive ints."""
    try:
        shape = tuple(int(n) for n in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"--input must be C,H,W of positive ints such as 3,224,224, got {text!r}")
    return shape


def _train(args):
    from tinynet.train import TrainConfig, train
    from tinynet.train_flags import DEFAULT_DIST_TIMEOUT_S, check

    fields = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    if cfg.nproc_per_node is not None:
        from tinynet.distributed import launch
        from tinynet.distributed.group import launched_world

        if launched_world() is not None:
            raise ValueError("--nproc-per-node: this process is already one of a launched job's ranks (RANK/WORLD_SIZE "
                             "or mpiexec's variables are set); start the job one way, not both")
        cfg = check(cfg)  # the flags' errors once, here, not once per rank
        if cfg.model_parallel is not None:
            from tinynet.saved_run import read_run_meta
            from tinynet.train_distributed import check_columns

            if cfg.nproc_per_node != cfg.model_parallel:
                raise ValueError(f"--model-parallel {cfg.model_parallel} needs exactly {cfg.model_parallel} processes, "
                                 f"one column each: give --nproc-per-node {cfg.model_parallel}, not {cfg.nproc_per_node} "
                                 "(model parallelism combined with data parallelism is not supported)")
            check_columns(cfg, None if cfg.resume is None else read_run_meta(cfg.resume))
        backend = cfg.dist_backend or ("nccl" if cfg.device == "cuda" else "mpi")
        command = _without_nproc(args.argv)
        timeout = DEFAULT_DIST_TIMEOUT_S if cfg.dist_timeout is None else cfg.dist_timeout
        return launch.launch(command, cfg.nproc_per_node, backend, timeout,
                             log=lambda line: print(line, file=sys.stderr))
    train(cfg)
    return 0


def _without_nproc(argv):
    """``argv`` less its --nproc-per-node flag and value, however argparse took it (a unique prefix such as
    --nproc, or --nproc-per-node=N): what each rank runs."""
    out, skip = [], False
    for a in argv:
        name = a.split("=", 1)[0]
        if skip:
            skip = False
        elif len(name) >= 4 and "--nproc-per-node".startswith(name):  # "--np" and longer: only this flag
            skip = "=" not in a
        else:
            out.append(a)
    return out


def _eval_root(data_path):
    """The folder of class folders to evaluate: DIR/val if there is one, else DIR itself (a DIR with a
    train/ but no val/ is refused rather than read as two classes "train" and ...)."""
    if not os.path.isdir(data_path):
        raise FileNotFoundError(f"--data-path {data_path} is not a folder" if os.path.exists(data_path)
                                else f"--data-path {data_path} does not exist")
    if os.path.isdir(os.path.join(data_path, "val")):
        return os.path.join(data_path, "val")
    if os.path.isdir(os.path.join(data_path, "train")):
        raise FileNotFoundError(f"--data-path {data_path} has a train/ folder but no val/: pass the folder of "
                                "class folders to evaluate (e.g. a val/ folder itself)")
    return data_path


def _eval(args):
    from tinynet.data import DataLoader, ImageFolder, transforms
    from tinynet.train import check_compatible, evaluate, load_model, prepare_device

    prepare_device(args.device, args.tf32, log=lambda line: print(line, file=sys.stderr))
    model, meta = load_model(args.checkpoint, args.device)
    root = _eval_root(args.data_path)
    data = ImageFolder(root, transforms.eval_transform(meta["image_size"], ten_crop=args.ten_crop))
    check_compatible(meta, meta["variant"], data.classes, args.checkpoint)
    loader = DataLoader(data, args.batch_size, workers=args.workers, timeout=args.loader_timeout)
    r = evaluate(model, loader, args.device)
    crops = " (ten-crop)" if args.ten_crop else ""
    print(f"{root}: {r['val_images']} images{crops}  top-1 {r['top1']:.2%}  top-5 {r['top5']:.2%}  "
          f"loss {r['val_loss']:.4f}")
    if loader.skipped:
        print(f"{len(loader.skipped)} unreadable file(s) skipped: {', '.join(loader.skipped[:5])}")
    return 0


def _predict(args):
    import numpy as np

    from tinynet import functional as F
    from tinynet.autograd import no_grad
    from tinynet.data import transforms
    from tinynet.data.folder import load_rgb
    from tinynet._tensor import Tensor
    from tinynet.train import load_model

    model, meta = load_model(args.checkpoint, args.device)
    tf = transforms.eval_transform(meta["image_size"])
    status = 0
    for path in args.images:
        try:
            x = tf(load_rgb(path), np.random.default_rng(0))
        except (OSError, ValueError) as e:
            print(f"{path}: can't read this image ({e})", file=sys.stderr)
            status = 1
            continue
        with no_grad():
            p = F.softmax(model(Tensor(x[None], device=args.device)), dim=1).numpy()[0]
        top = np.argsort(-p)[:5]
        print(f"{path}: " + ", ".join(f"{meta['classes'][i]} {p[i]:.1%}" for i in top))
    return status


def _filters(args):
    from tinynet.filters import save_filter_grid
    from tinynet.train import load_model

    model, meta = load_model(args.checkpoint)
    conv1 = model.features[0]
    try:
        save_filter_grid(conv1.weight.numpy(), args.out, scale=args.scale)
    except (ValueError, OSError) as e:  # Pillow: an unknown extension, a folder, an unwritable path
        raise ValueError(f"--out {args.out!r}: can't write the image there ({e}); give a path such as conv1.png") \
            from None
    print(f"wrote {conv1.weight.shape[0]} conv1 kernels of {meta['variant']} AlexNet to {args.out}")
    return 0


def _show_activations(args):
    from tinynet.activations import show_activations

    r = show_activations(args.checkpoint, args.image, args.out, args.device, args.channels)
    name, p = r["top"]
    print(f"wrote the maps of {r['layers']} feature layers for {args.image} (top class {name}, {p:.1%}) to {r['out']}")
    return 0


def _synth(args):
    from tinynet.data import synth

    s = synth.generate(args.out, classes=args.classes, per_class=args.per_class, size=args.size,
                       seed=args.seed, val_per_class=args.val_per_class)
    print(f"wrote {s['counts']['train']} training and {s['counts']['val']} validation images of "
          f"{len(s['classes'])} classes ({', '.join(s['classes'])}), {s['size']}x{s['size']}, seed {s['seed']}, "
          f"to {s['root']}")
    return 0


def _pack(args):
    from tinynet.data import packed

    s = packed.pack(args.src, args.out, size=args.size, overwrite=args.overwrite,
                    shard_bytes=args.shard_mb * 2**20, progress=args.progress)
    for split, r in s["splits"].items():
        how = {"new": "", "resumed": " (resumed)", "complete": " (packed already)"}[r["resumed"]]
        skipped = (f", {len(r['skipped'])} unreadable file(s) skipped: "
                   + ", ".join(x["source"] for x in r["skipped"][:5]) + (" ..." if len(r["skipped"]) > 5 else "")
                   if r["skipped"] else "")
        print(f"{split}: {r['images']} images in {r['shards']} shard(s){how}{skipped}")
    print(f"packed {args.src} at {s['size']} px (shorter side) into {s['root']}")
    return 0


TF32_HELP = ("with --device cuda: float32 matrix products on TF32 tensor cores (Ampere or newer GPUs), "
             "several times faster at about 1e-3 relative precision")


def build_parser():
    from tinynet.experiments import DEFAULT_OUTPUT_DIR as EXPERIMENT_DIR
    from tinynet.experiments import NAMES as EXPERIMENT_NAMES
    from tinynet.models import VARIANTS
    from tinynet.models.alexnet import INITS
    from tinynet.train_flags import (DEFAULT_DIST_TIMEOUT_S, DEFAULT_OUTPUT_DIR, DEFAULTS, DEVICES, OPTIMIZERS,
                                     SCHEDULER_ALIASES, SCHEDULERS, WARMUP_METHODS, TrainConfig, resume_help)

    d = DEFAULTS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on an error, print the full traceback")
    parser = argparse.ArgumentParser(prog="tinynet", description="A deep learning engine from scratch on NumPy/CuPy.",
                                     parents=[common])
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("train", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
                       help="train AlexNet (with no flags: the mini variant on generated images, CPU)",
                       epilog=resume_help())

    def run_flag(*names, default_of, **kw):  # a flag whose default is a new run's; on --resume, the checkpoint's
        p.add_argument(*names, default=None, help=f"{kw.pop('help', '')} (default {d[default_of]!r}; on --resume: "
                                                   "the checkpoint's)".lstrip(), **kw)

    p.add_argument("--data-path", default=None, help="folder with train/ and val/ (default: the generated set; "
                                                      "on --resume: the checkpoint's)")
    p.add_argument("--model", default="alexnet", choices=["alexnet"])
    run_flag("--variant", default_of="variant", choices=list(VARIANTS))
    p.add_argument("--device", default=TrainConfig.device, choices=list(DEVICES))
    run_flag("-b", "--batch-size", default_of="batch_size", type=int)
    run_flag("--epochs", default_of="epochs", type=int, help="train up to this epoch")
    p.add_argument("-j", "--workers", type=int, default=TrainConfig.workers,
                   help=f"image-decoding worker processes (default {TrainConfig.workers})")
    run_flag("--lr", default_of="lr", type=float)
    run_flag("--momentum", default_of="momentum", type=float)
    run_flag("--wd", "--weight-decay", dest="weight_decay", default_of="weight_decay", type=float)
    run_flag("--opt", default_of="opt", choices=list(OPTIMIZERS),
             help="the optimizer, as torchvision's reference script: sgd, sgd_nesterov (Nesterov momentum), rmsprop "
                  "(eps 0.0316, alpha 0.9), adamw, adam (these two read no --momentum)")
    p.add_argument("--norm-weight-decay", type=float, default=None,
                   help="weight decay of the normalisation layers' parameters (BatchNorm, LayerNorm, GroupNorm, "
                        "LocalResponseNorm), in their own param group (default: --wd; on --resume: the checkpoint's)")
    run_flag("--label-smoothing", default_of="label_smoothing", type=float,
             help="in [0, 1): the training loss's cross-entropy against targets smoothed by this much")
    names = list(SCHEDULERS) + list(SCHEDULER_ALIASES)
    run_flag("--lr-scheduler", default_of="lr_scheduler", choices=names, metavar="{" + ",".join(names) + "}",
             help="cosine (= cosineannealinglr): down to 0 at the end of --epochs, and held there; step (= steplr): "
                  "x --lr-gamma every --lr-step-size epochs; multistep (= multisteplr): x --lr-gamma at each of "
                  "--lr-milestones; exponential (= exponentiallr): x --lr-gamma every epoch; plateau: x --lr-gamma "
                  "when val top-1 stalls (the paper's rule). Each starts after the warm-up; a run stores the short "
                  "name, so either name resumes it")
    run_flag("--lr-step-size", default_of="lr_step_size", type=int)
    run_flag("--lr-gamma", default_of="lr_gamma", type=float)
    p.add_argument("--lr-milestones", type=int, nargs="+", default=None, metavar="EPOCH",
                   help="multistep: the epochs (counted from the end of the warm-up) at which the lr is multiplied by "
                        "--lr-gamma, e.g. 30 60 80 (a tinynet flag: torchvision's script has no multisteplr)")
    run_flag("--lr-warmup-epochs", default_of="lr_warmup_epochs", type=int,
             help="epochs of warm-up before the schedule (as torchvision: then the schedule starts at its epoch 0; "
                  "cosine runs over --epochs minus these)")
    run_flag("--lr-warmup-method", default_of="lr_warmup_method", choices=list(WARMUP_METHODS),
             help="constant: --lr x --lr-warmup-decay during the warm-up; linear: from that up to --lr")
    run_flag("--lr-warmup-decay", default_of="lr_warmup_decay", type=float, help="in (0, 1]")
    p.add_argument("--output-dir", default=None,
                   help=f"where checkpoints and metrics go (default {DEFAULT_OUTPUT_DIR}, or {DEFAULT_OUTPUT_DIR}-2, "
                        "-3, ... when that holds a run; on --resume: the checkpoint's folder). A folder given here "
                        "that holds a run is refused unless --resume continues it or --overwrite replaces it")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in --output-dir (its checkpoints, metrics.jsonl and curves.png are removed)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from (see below for changed flags)")
    run_flag("--seed", default_of="seed", type=int)
    p.add_argument("--test-only", action="store_true", help="only evaluate the checkpoint given with --resume")
    p.add_argument("--init", default=None, choices=list(INITS), help="weight initialisation (default: the variant's)")
    p.add_argument("--dropout", type=float, default=None, help="default: the variant's (0.5; 0 for mini)")
    p.add_argument("--image-size", type=int, default=None, help="default: the variant's (64 for mini)")
    p.add_argument("--loader-timeout", type=float, default=TrainConfig.loader_timeout, metavar="SECONDS",
                   help="stop with an error naming the batch and the worker when a loader worker takes longer than "
                        f"this for one batch (default {TrainConfig.loader_timeout:g}; 0: no limit; nothing to time "
                        "out with -j 0)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--tf32", action="store_true", help=TF32_HELP)
    p.add_argument("--amp", default=None, choices=["fp16", "bf16"],
                   help="mixed precision: the matrix products in float16 (with dynamic loss scaling; its state is in "
                        "the checkpoint) or bfloat16, the loss and the weights in float32; on the CPU float16 is "
                        "NumPy's and bfloat16 is emulated (for correctness, not speed)")
    p.add_argument("--nproc-per-node", type=_int(low=1), default=None, metavar="N",
                   help="start N processes of this run, data parallel (one per GPU with --device cuda); -b is per "
                        "process, so the global batch is N x b. `mpiexec -n N tinynet train ...` works as well")
    p.add_argument("--dist-backend", default=None, choices=["nccl", "mpi"],
                   help="how the processes talk: nccl (GPU tensors, cupyx.distributed) or mpi (host arrays, mpi4py; "
                        "the distributed extra); default nccl with --device cuda, else mpi")
    p.add_argument("--dist-timeout", type=_float(low=0), default=None, metavar="SECONDS",
                   help="with --nproc-per-node: the launcher stops every process when one makes no progress for "
                        f"this long (default {DEFAULT_DIST_TIMEOUT_S:g}; 0: never); one that dies stops them at once")
    p.add_argument("--conv-algorithm", default=None, choices=["auto", "im2col", "winograd"],
                   help="how the convolutions compute: auto (the default: the fastest per shape, timed once and kept "
                        "in the checkpoint), im2col, or winograd where a layer can (stride 1, 3x3 and 5x5)")
    p.add_argument("--model-parallel", type=_int(), default=None, metavar="2",
                   help="with --variant paper and two processes (--nproc-per-node 2 or mpiexec -n 2): the paper's "
                        "two columns, each process holding half of every layer and both reading the same batches; "
                        "LRN per column (kept in the checkpoint, which is one whole network's)")
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", parents=[common], help="top-1 and top-5 of a checkpoint on a folder of images")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data-path", required=True, help="a folder of <class>/<image>, or one with a val/ inside")
    p.add_argument("--ten-crop", action="store_true", help="average over the four corners and centre, mirrored")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("-b", "--batch-size", type=_int(low=1), default=64)
    p.add_argument("-j", "--workers", type=_int(low=0), default=0)
    p.add_argument("--loader-timeout", type=_float(low=0), default=TrainConfig.loader_timeout, metavar="SECONDS",
                   help=f"as for train (default {TrainConfig.loader_timeout:g}; 0: no limit)")
    p.add_argument("--tf32", action="store_true", help=TF32_HELP)
    p.set_defaults(func=_eval)

    p = sub.add_parser("predict", parents=[common], help="the top-5 classes of each image")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("images", nargs="+")
    p.set_defaults(func=_predict)

    p = sub.add_parser("filters", parents=[common], help="write conv1's learned kernels as an image grid")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default="conv1.png")
    p.add_argument("--scale", type=_int(low=1, high=64), default=None,
                   help="pixels per kernel pixel (default: the smallest that makes the grid at least 480 pixels "
                        "wide, at most 1200: 12 for the mini model's 32 kernels of 5x5, 4 for the seed's 96 of 11x11)")
    p.set_defaults(func=_filters)

    p = sub.add_parser("data", help="data utilities")
    data_sub = p.add_subparsers(dest="data_command")
    q = data_sub.add_parser("synth", parents=[common], help="write the synthetic classification set as image files")
    q.add_argument("--out", required=True)
    q.add_argument("--classes", type=int, default=10)
    q.add_argument("--per-class", type=int, default=500)
    q.add_argument("--val-per-class", type=int, default=None)
    q.add_argument("--size", type=int, default=64)
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_synth)
    q = data_sub.add_parser("pack", parents=[common], help="decode and resize an image folder (SRC/train/, SRC/val/) "
                                                           "into memory-mapped shards that training reads directly")
    q.add_argument("src", metavar="SRC", help="folder with train/<class>/<image> (and val/)")
    q.add_argument("out", metavar="OUT", help="where the packed set goes: OUT/train/, OUT/val/ (a rerun of an "
                                              "interrupted pack resumes)")
    q.add_argument("--size", type=_int(low=1, high=2**20), default=256,
                   help="the shorter side of every packed image, aspect ratio kept (default 256: AlexNet's 224 crops)")
    q.add_argument("--shard-mb", type=_int(low=1), default=1024, help="the most MiB in one shard (default 1024)")
    q.add_argument("--overwrite", action="store_true",
                   help="replace a packed set in OUT, or write into an OUT holding other files (left alone)")
    q.add_argument("--no-progress", dest="progress", action="store_false")
    q.set_defaults(func=_pack)

    p = sub.add_parser("show", help="pictures of what a trained model does (show activations IMAGE ...)")
    show_sub = p.add_subparsers(dest="show_command")
    q = show_sub.add_parser("activations", parents=[common],
                            help="one image through a checkpoint's model: the maps after every layer of "
                                 "model.features, and the top-5 classes, as one picture")
    q.add_argument("image", metavar="IMAGE", help="an image file (any format Pillow reads), prepared as eval does")
    q.add_argument("--checkpoint", required=True, help="a run checkpoint, e.g. runs/alexnet/checkpoint.npz")
    q.add_argument("--out", default="activations.png",
                   help="the picture to write (default activations.png in the current folder; the format from "
                        "the extension: .png, .pdf, .svg, ...)")
    q.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    q.add_argument("--channels", type=_int(low=1, high=256), default=16,
                   help="the most maps shown per layer, 16 to a row (default 16)")
    q.set_defaults(func=_show_activations)

    p = sub.add_parser("experiment", parents=[common],
                       help="AlexNet's claims as paired runs over several seeds: a table, a plot and JSON "
                            "(docs/experiments.md)")
    p.add_argument("names", nargs="+", metavar="NAME", choices=list(EXPERIMENT_NAMES) + ["all"],
                   help=f"one or more of {', '.join(EXPERIMENT_NAMES)}, or all")
    p.add_argument("--quick", action="store_true",
                   help="about a minute each on 2 cores: 2 seeds, fewer epochs, 1200 training and 400 validation "
                        "images (an answer only in direction)")
    p.add_argument("--seeds", type=_int(low=1, high=100), default=None, help="seeds per arm (default 3; --quick 2)")
    p.add_argument("--epochs", type=_int(low=1, high=1000), default=None,
                   help="epochs per run (default: the experiment's own, docs/experiments.md)")
    p.add_argument("--data-path", default=None,
                   help="train/ and val/ image folders, or CIFAR-10/100 or MNIST files (default: the generated set)")
    p.add_argument("--output-dir", default=EXPERIMENT_DIR, help=f"default {EXPERIMENT_DIR}; each experiment "
                                                                 "writes into its own NAME/ folder there")
    p.add_argument("--batch-size", "-b", type=_int(low=1, high=4096), default=32)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=None,
                   help="sgd (momentum 0.9) or adam; default: the experiment's own (docs/experiments.md)")
    p.add_argument("--lr", type=_float(low=0, low_open=True, high=10), default=None,
                   help="learning rate (default: the experiment's own)")
    p.add_argument("--train-images", type=_int(low=10), default=None,
                   help="train on a class-balanced subset of this many images (default: all; --quick 1200)")
    p.add_argument("--val-images", type=_int(low=10), default=None,
                   help="validate on a class-balanced subset of this many images (default: all; --quick 400)")
    p.add_argument("--conv-algorithm", default="auto", choices=["auto", "im2col", "winograd"],
                   help="as tinynet train's: auto (the default) times im2col and Winograd once per layer shape and "
                        "keeps the faster, which can differ from run to run and with it the last digits of the "
                        "results; im2col or winograd fix it")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=_experiment)

    p = sub.add_parser("summary", parents=[common], help="print a model's layers, shapes, parameters, multiply-adds and memory")
    p.add_argument("model", choices=["alexnet"])
    p.add_argument("--variant", default=None, choices=list(VARIANTS), help="default: seed")
    p.add_argument("--input", default=None, type=_chw, help="C,H,W of one input (default: the variant's own size)")
    p.add_argument("--num-classes", type=_int(low=1), default=None, help="default: 1000")
    p.add_argument("--checkpoint", default=None, metavar="PATH",
                   help="summarise the model of a run checkpoint (its variant, classes and image size) and list the "
                        "convolution algorithm it used for each input shape (im2col or a Winograd variant)")
    p.set_defaults(func=_summary)

    p = sub.add_parser("demo", parents=[common], help="train a tiny convnet on generated images and print its falling loss")
    p.add_argument("--epochs", type=_int(low=1), default=10)
    p.add_argument("--seed", type=_int(low=0), default=0)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.set_defaults(func=_demo)
    return parser


def _int(**rule):
    return _typed(int, integer=True, **rule)


def _float(**rule):
    return _typed(float, **rule)


def _typed(kind, **rule):
    """An argparse ``type``: ``kind(text)`` checked by tinynet.validate.check_number with ``rule``."""
    from tinynet.validate import check_number

    def parse(text):
        try:
            return check_number("value", kind(text), **rule)
        except (TypeError, ValueError) as e:
            message = str(e)
            raise argparse.ArgumentTypeError(message[len("value "):] if message.startswith("value ") else
                                             f"must be {'an int' if kind is int else 'a number'}, got {text!r}")

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _one_line(error):
    """An exception as one line: its message's first line, and the last line of a multi-line message
    (a worker's traceback ends with its exception)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()] or [type(error).__name__]
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} ... {lines[-1]} (--debug shows all of it)"


def main(argv=None):
    """Run the command in ``argv``; returns its exit status. Every failure is one line on stderr (and
    a non-zero status); ``--debug`` re-raises it with its traceback instead."""
    from tinynet.backend import DeviceError
    from tinynet.checkpoint import CheckpointError
    from tinynet.train import GPUOutOfMemory, TrainingDiverged

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv  # the launcher (--nproc-per-node) hands the same command to each rank
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    expected = (TrainingDiverged, CheckpointError, OSError, ValueError, TypeError, RuntimeError, DeviceError,
                GPUOutOfMemory, MemoryError)
    debug = getattr(args, "debug", False)  # --debug before or after the sub-command
    command = " ".join(filter(None, [args.command, getattr(args, "data_command", None),  # e.g. "data synth"
                                     getattr(args, "show_command", None)]))
    try:
        return args.func(args)
    except KeyboardInterrupt as e:
        if debug:
            raise
        print(f"tinynet {command}: {str(e) or 'interrupted'}", file=sys.stderr)
        return 130
    except expected as e:
        if debug:
            raise
        print(f"tinynet {command}: {_one_line(e)}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 -- a bug of ours: still one line, and how to see more
        if debug:
            raise
        print(f"tinynet {command}: unexpected {type(e).__name__}: {_one_line(e)} "
              "(run again with --debug for the traceback, and please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
