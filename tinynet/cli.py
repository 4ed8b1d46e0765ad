"""The ``tinynet`` command: parses flags and calls one function per sub-command.

    tinynet train [flags]                         train AlexNet (no flags: the main job on generated data)
    tinynet eval --checkpoint F --data-path D     top-1 / top-5 on D's val/ folder
    tinynet predict --checkpoint F IMAGE...       top-5 classes of each image
    tinynet filters --checkpoint F --out P.png    conv1's learned kernels as an image
    tinynet data synth --out DIR                  write the synthetic image set
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


def _summary(args):
    import tinynet
    from tinynet.models import alexnet

    model = alexnet(args.variant, num_classes=args.num_classes)
    if args.input is None:
        shape = (3, model.input_size, model.input_size)
    else:
        try:
            shape = tuple(int(n) for n in args.input.split(","))
        except ValueError:
            shape = ()
        if len(shape) != 3:
            print(f"tinynet summary: --input must be C,H,W such as 3,224,224, got {args.input!r}", file=sys.stderr)
            return 2
    text = tinynet.summary(model, shape)
    print(text)
    return 1 if "\nstopped: " in text else 0


def _train(args):
    from tinynet.train import TrainConfig, train

    fields = TrainConfig.__dataclass_fields__
    cfg = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    train(cfg)
    return 0


def _eval(args):
    from tinynet.data import DataLoader, ImageFolder, transforms
    from tinynet.train import check_compatible, evaluate, load_model, prepare_device

    prepare_device(args.device, args.tf32, log=lambda line: print(line, file=sys.stderr))
    model, meta = load_model(args.checkpoint, args.device)
    root = os.path.join(args.data_path, "val") if os.path.isdir(os.path.join(args.data_path, "val")) else args.data_path
    data = ImageFolder(root, transforms.eval_transform(meta["image_size"], ten_crop=args.ten_crop))
    check_compatible(meta, meta["variant"], data.classes, args.checkpoint)
    loader = DataLoader(data, args.batch_size, workers=args.workers)
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
    from tinynet.tensor import Tensor
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
    save_filter_grid(conv1.weight.numpy(), args.out, scale=args.scale)
    print(f"wrote {conv1.weight.shape[0]} conv1 kernels of {meta['variant']} AlexNet to {args.out}")
    return 0


def _synth(args):
    from tinynet.data import synth

    summary = synth.generate(args.out, classes=args.classes, per_class=args.per_class, size=args.size,
                             seed=args.seed, val_per_class=args.val_per_class)
    print(f"wrote {summary} ")
    return 0


TF32_HELP = ("with --device cuda: float32 matrix products on TF32 tensor cores (Ampere or newer GPUs), "
             "several times faster at about 1e-3 relative precision")


def build_parser():
    from tinynet.models import VARIANTS
    from tinynet.train import TrainConfig

    d = TrainConfig()
    parser = argparse.ArgumentParser(prog="tinynet", description="A deep learning engine from scratch on NumPy/CuPy.")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("train", help="train AlexNet (with no flags: the mini variant on generated images, CPU)")
    p.add_argument("--data-path", default=None, help="folder with train/ and val/ (default: the generated set)")
    p.add_argument("--model", default="alexnet", choices=["alexnet"])
    p.add_argument("--variant", default=d.variant, choices=list(VARIANTS))
    p.add_argument("--device", default=d.device, choices=["cpu", "cuda"])
    p.add_argument("-b", "--batch-size", type=int, default=d.batch_size)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("-j", "--workers", type=int, default=d.workers, help="image-decoding worker processes")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--wd", "--weight-decay", dest="weight_decay", type=float, default=d.weight_decay)
    p.add_argument("--lr-scheduler", default=d.lr_scheduler, choices=["cosine", "step", "plateau"],
                   help="cosine: down to 0 over --epochs; step: x --lr-gamma every --lr-step-size epochs; "
                        "plateau: x --lr-gamma when val top-1 stalls (the paper's rule)")
    p.add_argument("--lr-step-size", type=int, default=d.lr_step_size)
    p.add_argument("--lr-gamma", type=float, default=d.lr_gamma)
    p.add_argument("--output-dir", default=d.output_dir)
    p.add_argument("--resume", default=None, help="checkpoint to continue from")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--test-only", action="store_true", help="only evaluate (with --resume: that checkpoint)")
    p.add_argument("--init", default=None, choices=["pytorch", "paper", "kaiming"])
    p.add_argument("--dropout", type=float, default=None, help="default: the variant's (0.5; 0 for mini)")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--tf32", action="store_true", help=TF32_HELP)
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="top-1 and top-5 of a checkpoint on a folder of images")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data-path", required=True, help="a folder of <class>/<image>, or one with a val/ inside")
    p.add_argument("--ten-crop", action="store_true", help="average over the four corners and centre, mirrored")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("-b", "--batch-size", type=int, default=64)
    p.add_argument("-j", "--workers", type=int, default=0)
    p.add_argument("--tf32", action="store_true", help=TF32_HELP)
    p.set_defaults(func=_eval)

    p = sub.add_parser("predict", help="the top-5 classes of each image")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("images", nargs="+")
    p.set_defaults(func=_predict)

    p = sub.add_parser("filters", help="write conv1's learned kernels as an image grid")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default="conv1.png")
    p.add_argument("--scale", type=int, default=4)
    p.set_defaults(func=_filters)

    p = sub.add_parser("data", help="data utilities")
    data_sub = p.add_subparsers(dest="data_command")
    q = data_sub.add_parser("synth", help="write the synthetic classification set as image files")
    q.add_argument("--out", required=True)
    q.add_argument("--classes", type=int, default=10)
    q.add_argument("--per-class", type=int, default=500)
    q.add_argument("--val-per-class", type=int, default=None)
    q.add_argument("--size", type=int, default=64)
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_synth)

    p = sub.add_parser("summary", help="print a model's layers, shapes, parameters, multiply-adds and memory")
    p.add_argument("model", choices=["alexnet"])
    p.add_argument("--variant", default="seed", choices=list(VARIANTS))
    p.add_argument("--input", default=None, help="C,H,W of one input (default: the variant's own size)")
    p.add_argument("--num-classes", type=int, default=1000)
    p.set_defaults(func=_summary)

    p = sub.add_parser("demo", help="train a tiny convnet on generated images and print its falling loss")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.set_defaults(func=_demo)
    return parser


def main(argv=None):
    from tinynet.backend import DeviceError
    from tinynet.checkpoint import CheckpointError
    from tinynet.train import GPUOutOfMemory, TrainingDiverged

    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted; the last complete epoch's checkpoint is intact", file=sys.stderr)
        return 130
    except (TrainingDiverged, CheckpointError, FileNotFoundError, ValueError, DeviceError, GPUOutOfMemory) as e:
        print(f"tinynet {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
