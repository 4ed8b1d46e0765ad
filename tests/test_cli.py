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
