"""The ``tinynet`` command: parses flags and calls one function per sub-command."""
import argparse
import sys


def _demo(args):
    from tinynet import demo

    demo.run(epochs=args.epochs, seed=args.seed, device=args.device)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="tinynet", description="A deep learning engine from scratch on NumPy/CuPy.")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("demo", help="train a tiny convnet on generated images and print its falling loss")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.set_defaults(func=_demo)
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
