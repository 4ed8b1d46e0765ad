"""The `tinynet` command and the demo it runs."""
import numpy as np

from tinynet import cli, demo


def test_demo_loss_falls():
    """The demo is a real training run: a few epochs bring the loss well below its start (ln 4 ~ 1.386)."""
    lines = []
    losses = demo.run(epochs=5, log=lines.append)
    assert len(losses) == 5 and all(np.isfinite(losses))
    assert losses[0] > 1.0
    assert losses[-1] < 0.7 * losses[0]
    assert lines[0].startswith("tinynet demo") and "epoch  5" in lines[-1]


def test_demo_images_are_deterministic_and_labelled():
    a, ya = demo.make_images(20, np.random.default_rng(7))
    b, yb = demo.make_images(20, np.random.default_rng(7))
    assert a.shape == (20, 3, 16, 16) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert set(ya.tolist()) <= set(range(len(demo.CLASSES)))


def test_cli_without_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_cli_demo_runs(capsys):
    assert cli.main(["demo", "--epochs", "1"]) == 0
    assert "epoch  1" in capsys.readouterr().out


# --- bad input on the command line: one line on stderr, a non-zero status, no traceback ------------------------

import os  # noqa: E402
import re  # noqa: E402

import pytest  # noqa: E402

from tinynet.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from tinynet.data import synth  # noqa: E402
from tinynet.saved_run import build_model  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny data set, a finished one-epoch run on it, and checkpoints forged from that run's."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "data"
    synth.generate(data, classes=3, per_class=4, val_per_class=2, size=32, seed=0)
    run = root / "run"
    assert cli.main(["train", "--data-path", str(data), "--image-size", "32", "-b", "6", "--epochs", "1", "-j", "0",
                     "--lr-scheduler", "step", "--output-dir", str(run), "--no-progress"]) == 0
    good = load_checkpoint(run / "checkpoint.npz")
    model = build_model("mini", 3, 32)
    model.load_state_dict(good.model_state)

    def forged(name, change_meta=None, poison=None):
        meta = dict(good.meta)
        if change_meta:
            change_meta(meta)
        m = build_model("mini", 3, 32)
        m.load_state_dict(good.model_state)
        if poison:
            poison(m)
        path = root / f"{name}.npz"
        save_checkpoint(path, m, None, meta)
        return str(path)

    def set_bias_nan(m):
        m.classifier[-1].bias.data[1] = float("nan")

    only_train = root / "only_train"
    (only_train / "train" / "a").mkdir(parents=True)
    (root / "a_file").write_text("not a folder")
    return {
        "data": str(data), "run": str(run), "ckpt": str(run / "checkpoint.npz"), "root": str(root),
        "only_train": str(only_train), "a_file": str(root / "a_file"),
        "nan": forged("nan", poison=set_bias_nan),
        "no_variant": forged("no_variant", lambda m: m.pop("variant")),
        "short_classes": forged("short_classes", lambda m: m.update(classes=m["classes"][:2])),
        "str_epoch": forged("str_epoch", lambda m: m.update(epoch="1")),
        "str_size": forged("str_size", lambda m: m.update(image_size="32")),
        "big_classes": forged("big_classes", lambda m: m.update(num_classes=5, classes=["a", "b", "c", "d", "e"])),
        "str_base_lr": forged("str_base_lr", lambda m: m.update(scheduler=dict(m["scheduler"], base_lr="x"))),
        "str_seed": forged("str_seed", lambda m: m.update(flags=dict(m["flags"], seed="x"))),
        "empty_data": forged("empty_data", lambda m: m.update(flags=dict(m["flags"], data_path=""))),
        "thin_history": forged("thin_history", lambda m: m.update(history=[{"epoch": 1}])),
        "huge_size": forged("huge_size", lambda m: m.update(image_size=4000)),
        "lrn_columns_mini": forged("lrn_columns_mini", lambda m: m.update(lrn_groups=2)),
        "lrn_str": forged("lrn_str", lambda m: m.update(lrn_groups="2")),
        "many_classes": forged("many_classes", lambda m: m.update(classes=[str(k) for k in range(200000)],
                                                                  num_classes=200000)),
    }


def _run(argv, capsys):
    try:
        rc = cli.main(argv)
    except SystemExit as e:  # argparse's own refusals: usage and one error line, status 2
        rc = e.code
    captured = capsys.readouterr()
    return rc, captured.err


T = ["train", "--no-progress", "-j", "0"]
# (command line, expected exit status, what stderr says). {name} is filled from the `world` fixture.
BAD_COMMANDS = [
    (T + ["--lr", "nan"], 1, r"--lr must be a finite number >= 0, got nan"),
    (T + ["--lr", "inf"], 1, r"--lr must be a finite number >= 0, got inf"),
    (T + ["--lr", "-1"], 1, r"--lr must be a finite number >= 0, got -1.0"),
    (T + ["--lr", "fast"], 2, r"argument --lr: invalid float value: 'fast'"),
    (T + ["--momentum", "nan"], 1, r"--momentum must be a finite number >= 0, got nan"),
    (T + ["--wd", "-0.1"], 1, r"--wd must be"),
    (T + ["--image-size", "-5"], 1, r"--image-size must be an int >= 1, got -5"),
    (T + ["--image-size", "20"], 1, r"--image-size 20 is too small for the mini AlexNet.* at least 29"),
    (T + ["--epochs", "0"], 1, r"--epochs must be an int >= 1, got 0"),
    (T + ["--epochs", "two"], 2, r"argument --epochs: invalid int value"),
    (T + ["-b", "0"], 1, r"-b/--batch-size must be an int >= 1, got 0"),
    (T + ["-j", "-2"], 1, r"-j/--workers must be an int >= 0, got -2"),
    (T + ["--lr-step-size", "0"], 1, r"--lr-step-size must be an int >= 1"),
    (T + ["--lr-gamma", "0"], 1, r"--lr-gamma must be a finite number > 0"),
    (T + ["--lr-gamma", "1", "--lr-scheduler", "plateau"], 1,
     r"--lr-gamma 1.0 would not lower the learning rate: with --lr-scheduler plateau it must be < 1"),
    (T + ["--dropout", "1"], 1, r"--dropout must be a finite number >= 0 and < 1"),
    (T + ["--seed", "-1"], 1, r"--seed must be an int >= 0"),
    (T + ["--loader-timeout", "-1"], 1, r"--loader-timeout must be a finite number >= 0"),
    (T + ["--loader-timeout", "nan"], 1, r"--loader-timeout must be"),
    (T + ["--device", "tpu"], 2, r"argument --device: invalid choice: 'tpu'"),
    (T + ["--variant", "huge"], 2, r"argument --variant: invalid choice"),
    (T + ["--data-path", ""], 1, r"--data-path must name a path, got ''"),
    (T + ["--data-path", "{root}/missing"], 1, r"missing has no train/ folder"),
    (T + ["--output-dir", ""], 1, r"--output-dir must name a path"),
    (T + ["--resume", ""], 1, r"--resume must name a path, got ''"),
    (T + ["--resume", "{root}/missing.npz"], 1, r"missing.npz does not exist"),
    (T + ["--test-only"], 1, r"--test-only evaluates the checkpoint given with --resume"),
    (T + ["--tf32"], 1, r"--tf32 only affects --device cuda; this run is on --device cpu"),
    (T + ["--overwrite", "--resume", "{ckpt}"], 1, r"--overwrite starts a new run .* give one of them"),
    (T + ["--data-path", "{data}", "--output-dir", "{a_file}"], 1, r"a_file is a file, not a folder"),
    (T + ["--data-path", "{data}", "--output-dir", "{run}", "--image-size", "32"], 1,
     r"run holds a run \(checkpoint.npz, checkpoint_epoch1.npz, metrics.jsonl\): continue it with --resume .*, "
     r"replace it with --overwrite"),
    (T + ["--resume", "{ckpt}"], 1, r"is the end of its run \(epoch 1 of 1\): nothing left to train"),
    (T + ["--resume", "{ckpt}", "--epochs", "1"], 1, r"--epochs 1 is not above the checkpoint's epoch 1"),
    (T + ["--resume", "{ckpt}", "--epochs", "2", "--variant", "seed"], 1,
     r"--variant 'seed' differs from the checkpoint's 'mini' .* can't change on --resume"),
    (T + ["--resume", "{ckpt}", "--epochs", "2", "--image-size", "40"], 1,
     r"--image-size 40 differs from the checkpoint's 32"),
    (T + ["--resume", "{ckpt}", "--epochs", "2", "--lr-scheduler", "cosine"], 1,
     r"--lr-scheduler 'cosine' differs from the checkpoint's 'step'"),
    (T + ["--resume", "{ckpt}", "--epochs", "2", "--init", "paper"], 1, r"--init 'paper' differs"),
    (T + ["--resume", "{nan}", "--epochs", "2"], 1, r"nan.npz.*classifier\.\d+\.bias.*(non-finite|NaN)"),
    (T + ["--resume", "{no_variant}", "--epochs", "2"], 1, r"no_variant.npz: field 'variant' is missing \(it must be one of seed, "),
    (T + ["--resume", "{str_base_lr}", "--epochs", "2"], 1,
     r"str_base_lr.npz: field 'scheduler.base_lr' must be a number >= 0, got 'x'"),
    (T + ["--resume", "{str_seed}", "--epochs", "2"], 1,
     r"str_seed.npz: field 'flags': --seed must be an int >= 0, got 'x'"),
    (T + ["--resume", "{empty_data}", "--epochs", "2"], 1,
     r"empty_data.npz: field 'flags': --data-path must name a path, got ''"),
    (T + ["--resume", "{thin_history}", "--epochs", "2"], 1,
     r"thin_history.npz, epoch 1 of field 'history': field 'train_loss' is missing"),
    (T + ["--data-path", "{data}", "--image-size", "32", "--output-dir", "{root}/grow", "--lr", "1e-300",
          "--lr-scheduler", "step", "--lr-step-size", "1", "--lr-gamma", "1e200", "--epochs", "4"], 1,
     r"The schedule raised the learning rate above --lr 1e-300 \(--lr-gamma 1e\+200\); give a --lr-gamma below 1"),
    (T + ["--lr-gamma", "0.5"], 1, r"--lr-gamma has no effect with --lr-scheduler cosine"),
    (T + ["--data-path", "{data}", "--image-size", "100000", "--output-dir", "{root}/big"], 1,
     r"--image-size 100000 makes the mini AlexNet 639,795,\d+,\d+ parameters .* give a smaller --image-size"),
    (["eval", "--checkpoint", "{huge_size}", "--data-path", "{data}"], 1,
     r"huge_size.npz: fields 'image_size' \(4000\) and 'classes' \(3\) describe a model of [\d,]+ parameters, "
     r"more than the file's [\d,]+ bytes can hold"),
    (["predict", "--checkpoint", "{many_classes}", "{a_file}"], 1, r"many_classes.npz: fields 'image_size'"),
    (T + ["--overwrite"], 1, r"--overwrite replaces the run in the --output-dir given"),
    (["eval", "--checkpoint", "{ckpt}", "--data-path", "{only_train}"], 1,
     r"has a train/ folder but no val/"),
    (["eval", "--checkpoint", "{ckpt}", "--data-path", "{root}/missing"], 1, r"--data-path .*missing does not exist"),
    (["eval", "--checkpoint", "{root}/missing.npz", "--data-path", "{data}"], 1, r"missing.npz does not exist"),
    (["eval", "--checkpoint", "{nan}", "--data-path", "{data}"], 1, r"classifier\.\d+\.bias.*(non-finite|NaN)"),
    (["eval", "--checkpoint", "{short_classes}", "--data-path", "{data}"], 1,
     r"short_classes.npz: field 'num_classes' must be the number of classes listed \(2\), got 3"),
    (["eval", "--checkpoint", "{str_epoch}", "--data-path", "{data}"], 1, r"field 'epoch' must be an int >= 1, got '1'"),
    (["eval", "--checkpoint", "{lrn_columns_mini}", "--data-path", "{data}"], 1,
     r"lrn_columns_mini.npz: field 'lrn_groups' must be 1, or 2 for the paper variant \(LRN over each column's "
     r"channels\), got 2"),
    (T + ["--resume", "{lrn_str}"], 1, r"field 'lrn_groups' must be 1, or 2 for the paper variant .*got '2'"),
    (["eval", "--checkpoint", "{str_size}", "--data-path", "{data}"], 1, r"field 'image_size' must be an int >= 29"),
    (["eval", "--checkpoint", "{big_classes}", "--data-path", "{data}"], 1,
     r"big_classes.npz.*classifier\.\d+\.(weight|bias).*(shape|expected)"),
    (["eval", "--checkpoint", "{ckpt}", "--data-path", "{data}", "-b", "0"], 2,
     r"argument -b/--batch-size: must be an int >= 1, got 0"),
    (["eval", "--checkpoint", "{ckpt}", "--data-path", "{data}", "--tf32"], 1, r"--tf32 only affects --device cuda"),
    (["predict", "--checkpoint", "{nan}", "{a_file}"], 1, r"(non-finite|NaN)"),
    (["predict", "--checkpoint", "{a_file}", "{a_file}"], 1, r"a_file"),
    (["filters", "--checkpoint", "{ckpt}", "--scale", "0"], 2, r"argument --scale: must be an int >= 1 and <= 64"),
    (["filters", "--checkpoint", "{ckpt}", "--scale", "1000"], 2, r"argument --scale: must be an int >= 1 and <= 64"),
    (["filters", "--checkpoint", "{ckpt}", "--out", "{root}/missing/conv1.png"], 1, r"missing/conv1.png"),
    (["summary", "alexnet", "--num-classes", "0"], 2, r"argument --num-classes: must be an int >= 1, got 0"),
    (["summary", "alexnet", "--input", "3,x,7"], 2, r"--input must be C,H,W"),
    (["demo", "--epochs", "0"], 2, r"argument --epochs: must be an int >= 1, got 0"),
    (["data", "synth", "--out", "{root}/s", "--per-class", "3"], 1, r"--val-per-class"),
    # torchvision's flags (issue 14)
    (T + ["--opt", "foo"], 2, r"argument --opt: invalid choice: 'foo'"),
    (T + ["--lr-warmup-epochs", "-1"], 1, r"--lr-warmup-epochs must be an int >= 0, got -1"),
    (T + ["--lr-warmup-epochs", "1.5"], 2, r"argument --lr-warmup-epochs: invalid int value: '1.5'"),
    (T + ["--lr-warmup-epochs", "15"], 1, r"--lr-warmup-epochs 15 leaves no epoch of --epochs 15 to the main schedule"),
    (T + ["--label-smoothing", "1.5"], 1, r"--label-smoothing must be a finite number >= 0 and < 1, got 1.5"),
    (T + ["--label-smoothing", "nan"], 1, r"--label-smoothing must be .* got nan"),
    (T + ["--lr-scheduler", "multisteplr"], 1, r"--lr-scheduler multisteplr needs --lr-milestones"),
    (T + ["--lr-scheduler", "multisteplr", "--lr-milestones", "5", "3"], 1, r"--lr-milestones must be increasing, got 5 3"),
    (T + ["--lr-scheduler", "multisteplr", "--lr-milestones", "20"], 1, r"--lr-milestones 20 is past the run"),
    (T + ["--lr-scheduler", "multisteplr", "--lr-milestones"], 2, r"argument --lr-milestones: expected at least one"),
    (T + ["--lr-milestones", "3"], 1, r"--lr-milestones has no effect with --lr-scheduler cosine"),
    (T + ["--lr-scheduler", "linear"], 2, r"argument --lr-scheduler: invalid choice: 'linear'"),
    (T + ["--lr-warmup-decay", "0", "--lr-warmup-epochs", "1"], 1, r"--lr-warmup-decay must be a finite number > 0 "
                                                                 r"and <= 1, got 0.0"),
    (T + ["--lr-warmup-decay", "0.5"], 1, r"--lr-warmup-decay has no effect without --lr-warmup-epochs"),
    (T + ["--lr-warmup-method", "linear"], 1, r"--lr-warmup-method has no effect without --lr-warmup-epochs"),
    (T + ["--lr-warmup-method", "cubic"], 2, r"argument --lr-warmup-method: invalid choice: 'cubic'"),
    (T + ["--lr-scheduler", "plateau", "--lr-warmup-epochs", "2"], 1,
     r"--lr-warmup-epochs has no meaning with --lr-scheduler plateau"),
    (T + ["--opt", "adamw", "--momentum", "0.9"], 1, r"--momentum has no effect with --opt adamw"),
    (T + ["--opt", "sgd_nesterov", "--momentum", "0"], 1, r"--opt sgd_nesterov needs --momentum > 0"),
    (T + ["--norm-weight-decay", "-1"], 1, r"--norm-weight-decay must be a finite number >= 0, got -1.0"),
    (T + ["--resume", "{ckpt}", "--epochs", "2", "--opt", "adamw"], 1,
     r"--opt 'adamw' differs from the checkpoint's 'sgd' .* can't change on --resume"),
    (T + ["--resume", "{ckpt}", "--epochs", "2", "--lr-scheduler", "cosineannealinglr"], 1,
     r"--lr-scheduler 'cosine' differs from the checkpoint's 'step'"),
]


@pytest.mark.parametrize("argv, status, message", BAD_COMMANDS, ids=[" ".join(a) for a, _, _ in BAD_COMMANDS])
def test_bad_command_lines_get_one_clear_line(world, argv, status, message, capsys):
    argv = [a.format(**world) for a in argv]
    rc, err = _run(argv, capsys)
    assert rc == status, err
    assert re.search(message, err), err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    if status == 1:
        command = " ".join(argv[:2]) if argv[0] == "data" else argv[0]
        assert len(lines) == 1 and lines[0].startswith(f"tinynet {command}: "), err
    else:  # argparse: the usage line(s), then the error
        assert lines[-1].startswith("tinynet") and "error:" in lines[-1], err


def test_debug_shows_the_traceback(world):
    with pytest.raises(Exception, match="--lr must be a finite number"):
        cli.main(["train", "--lr", "nan", "--debug"])
    with pytest.raises(Exception, match="--lr must be a finite number"):
        cli.main(["--debug", "train", "--lr", "nan"])


def test_an_unexpected_error_is_one_line_that_names_its_type(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_summary", broken)
    monkeypatch.setattr(cli, "build_parser", _parser_with(broken))
    assert cli.main(["summary", "alexnet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinynet summary: unexpected ZeroDivisionError: a bug (run again with --debug")
    assert len(err.strip().splitlines()) == 1


def _parser_with(func):
    real = cli.build_parser

    def build():
        parser = real()
        parser.set_defaults(func=func)
        for action in parser._subparsers._group_actions:
            for sub in action.choices.values():
                sub.set_defaults(func=func)
        return parser

    return build


def test_a_killed_data_worker_ends_train_with_one_line(world, tmp_path, capsys):
    """`tinynet train -j 2` whose data workers are killed with SIGKILL: reported as one line, status 1,
    no hang (before: 2 of 5 trials hung, 2 more ended in a bare traceback)."""
    import multiprocessing
    import signal
    import threading

    done = threading.Event()

    def kill_workers():
        while not done.is_set():
            for p in multiprocessing.active_children():
                if p.name.startswith("tinynet-data-worker"):
                    try:
                        os.kill(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            done.wait(0.01)

    killer = threading.Thread(target=kill_workers, daemon=True)
    killer.start()
    try:
        rc, err = _run(["train", "--data-path", world["data"], "--image-size", "32", "-b", "2", "--epochs", "3",
                        "-j", "2", "--output-dir", str(tmp_path / "r"), "--no-progress"], capsys)
    finally:
        done.set()
        killer.join()
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and re.match(r"tinynet train: DataLoader worker tinynet-data-worker-\d .*", lines[0]), err
    assert not (tmp_path / "r" / "checkpoint.npz").exists()


def test_ctrl_c_outside_training_says_interrupted(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", _parser_with(interrupted))
    assert cli.main(["summary", "alexnet"]) == 130
    assert capsys.readouterr().err == "tinynet summary: interrupted\n"


def test_a_step_run_resumes_under_torchvisions_name_for_its_schedule(world, capsys, tmp_path):
    """The world's run was written with --lr-scheduler step; steplr is the same schedule."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(os.path.dirname(world["ckpt"]), run)
    rc = cli.main(["train", "--no-progress", "-j", "0", "--resume", str(run / "checkpoint.npz"), "--epochs", "2",
                   "--lr-scheduler", "steplr"])
    assert rc == 0, capsys.readouterr().err


# --- tinynet data pack (issue 15) ---------------------------------------------------------------------------

PACK_BAD_COMMANDS = [
    (["data", "pack", "{root}/missing", "{root}/p"], 1, r"SRC .*missing does not exist"),
    (["data", "pack", "{a_file}", "{root}/p"], 1, r"SRC .*a_file is not a folder"),
    (["data", "pack", "{only_train}/train", "{root}/p"], 1, r"SRC .*only_train/train has no train/ folder"),
    (["data", "pack", "{data}", "{a_file}"], 1, r"OUT .*a_file is a file, not a folder"),
    (["data", "pack", "{data}", "{run}"], 1, r"OUT .*run is not a packed set \(.* was not written by `tinynet data "
                                            r"pack`\): choose a new or empty folder, or pass --overwrite"),
    (["data", "pack", "{data}", "{data}"], 1, r"OUT .*data is SRC .*data or lies in one of its split folders"),
    (["data", "pack", "{data}", "{data}/train/x"], 1, r"lies in one of its split folders"),
    (["data", "pack", "{data}", "{root}/p", "--size", "0"], 2, r"argument --size: must be an int >= 1"),
    (["data", "pack", "{data}", "{root}/p", "--size", "-3"], 2, r"argument --size: must be an int >= 1"),
    (["data", "pack", "{data}", "{root}/p", "--size", "2.5"], 2, r"argument --size: must be an int"),
    (["data", "pack", "{data}", "{root}/p", "--size", "big"], 2, r"argument --size: must be an int"),
    (["data", "pack", "{data}", "{root}/p", "--shard-mb", "0"], 2, r"argument --shard-mb: must be an int >= 1"),
    (["data", "pack", "{data}"], 2, r"the following arguments are required: OUT"),
]


@pytest.mark.parametrize("argv, status, message", PACK_BAD_COMMANDS, ids=[" ".join(a) for a, _, _ in PACK_BAD_COMMANDS])
def test_data_pack_refuses_bad_flags_with_one_line(world, argv, status, message, capsys):
    test_bad_command_lines_get_one_clear_line(world, argv, status, message, capsys)
    assert not os.path.exists(os.path.join(world["root"], "p"))


def test_data_pack_packs_resumes_after_ctrl_c_and_reruns(world, tmp_path, monkeypatch, capsys):
    from tinynet.data import packed

    out = tmp_path / "packed"
    from tests.data.test_packed import interrupt_decoding_after

    real = packed.decode
    calls = interrupt_decoding_after(monkeypatch, 5)
    base = ["data", "pack", world["data"], str(out), "--no-progress"]
    argv = base + ["--size", "32", "--shard-mb", "1"]
    rc, err = _run(argv, capsys)
    assert rc == 130 and re.fullmatch(r"tinynet data pack: interrupted: 0 whole shard\(s\) of train/ \(0 of 12 "
                                      r"images\) kept in .*; run the same command again to go on\n", err), err
    assert os.listdir(out / "train") == []  # the half shard is gone
    monkeypatch.setattr(packed, "decode", real)
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["train: 12 images in 1 shard(s)", "val: 6 images in 1 shard(s)",
                     f"packed {world['data']} at 32 px (shorter side) into {out}"]
    assert packed.is_packed(out) and sorted(os.listdir(out / "train")) == ["index.json", "shard-00000.u8"]
    assert cli.main(argv) == 0
    assert "train: 12 images in 1 shard(s) (packed already)" in capsys.readouterr().out
    rc, err = _run(base + ["--size", "40"], capsys)
    assert rc == 1 and "is a packed set of other images or another --size" in err
    assert cli.main(base + ["--size", "40", "--overwrite"]) == 0
    assert packed.PackedDataset(out / "val").size == 40


def test_summary_of_a_checkpoint_lists_its_convolution_algorithms(world, capsys):
    assert cli.main(["summary", "alexnet", "--checkpoint", world["ckpt"]]) == 0
    out = capsys.readouterr().out
    assert "parameters:" in out and "convolution algorithms this run computed with (" in out
    lines = [line.split() for line in out.splitlines() if "weight=" in line]
    assert lines and all(line[0] in ("im2col", "winograd") for line in lines)
    rc, err = _run(["summary", "alexnet", "--checkpoint", world["root"] + "/missing.npz"], capsys)
    assert rc == 1 and "missing.npz does not exist" in err
    rc, err = _run(["summary", "alexnet", "--variant", "paper", "--checkpoint", world["ckpt"]], capsys)
    assert rc == 1 and "--variant: the checkpoint gives the model's variant and classes; leave them out" in err
