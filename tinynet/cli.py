"""The ``tinynet`` command: parses flags and calls one function per sub-command."""
import argparse
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


def build_parser():
    parser = argparse.ArgumentParser(prog="tinynet", description="A deep learning engine from scratch on NumPy/CuPy.")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("demo", help="train a tiny convnet on generated images and print its falling loss")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.set_defaults(func=_demo)

    from tinynet.models import VARIANTS

    p = sub.add_parser("summary", help="print a model's layers, shapes, parameters, multiply-adds and memory")
    p.add_argument("model", choices=["alexnet"])
    p.add_argument("--variant", default="seed", choices=list(VARIANTS))
    p.add_argument("--input", default=None, help="C,H,W of one input (default: the variant's own size)")
    p.add_argument("--num-classes", type=int, default=1000)
    p.set_defaults(func=_summary)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
