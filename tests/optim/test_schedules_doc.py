"""docs/schedules.md: every number it quotes is what tinynet's schedules give and what PyTorch's gave (the
fixture), and `python tools/plot_schedules.py` writes the plots it shows, one per schedule."""
import importlib.util
import math
import pathlib
import re
import warnings

import numpy as np
import pytest

from tests.fixtures import torch_fixture
from tinynet.nn import Parameter
from tinynet.optim import SGD
from tinynet.optim import lr_scheduler as S

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "schedules.md").read_text()
TORCH = torch_fixture("lr_scheduler")


def _rows():
    table = PAGE.split("## The numbers, checked")[1].split("\n\n## ")[0]
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 20
    return rows


def _lr_after(expr, steps, by_hand=""):
    opt = SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    sched = eval(expr, {**vars(S), "opt": opt})  # noqa: S307 -- the page's own table
    hand = re.fullmatch(r"([-\d.e]+) after epoch (\d+)", by_hand) if by_hand else None
    for s in range(steps):
        if hand and s == int(hand.group(2)):
            opt.param_groups[0]["lr"] = float(hand.group(1))
        sched.step()
    return opt.param_groups[0]["lr"]


@pytest.mark.parametrize("row", _rows(), ids=lambda r: f"{r[4]}@{r[1]}")
def test_each_number_in_the_table_is_tinynets_and_pytorchs(row):
    expr, steps, by_hand, quoted, case = row
    lr = _lr_after(expr.strip("`"), int(steps), by_hand)
    assert float(quoted) == pytest.approx(lr, rel=5e-4, abs=1e-15), row
    assert TORCH[f"{case}_lr"][int(steps), 0] == pytest.approx(lr, rel=1e-12, abs=1e-15), row


def test_the_numbers_in_the_prose():
    # the closed forms the chainable values are set against
    assert "0.0125 at epoch 15 and\n0.0015625 at epoch 30" in PAGE
    assert [0.1 * 0.5 ** (e // 5) for e in (15, 30)] == pytest.approx([0.0125, 0.0015625])
    assert "(the closed form: 0.05782)" in PAGE and 0.1 * (1 + math.cos(math.pi * 9 / 20)) / 2 == pytest.approx(
        0.05782, rel=1e-4)
    # warm restarts at 3, 9, 21, 45: the lr is back at base there, and only there
    assert "3, 9, 21, 45" in PAGE
    lrs = TORCH["warm_restarts_mult_lr"][:, 0]
    assert [e for e in range(1, len(lrs)) if lrs[e] == pytest.approx(0.1)] == [3, 9, 21, 45]
    # OneCycleLR's peaks one step before pct_start * total_steps
    assert "step 14 of 50 for pct_start 0.3, step 17\n  of 60 (three_phase, back at initial_lr at step 34)" in PAGE
    assert int(np.argmax(TORCH["onecycle_cos_lr"][:, 0])) == 14 == 0.3 * 50 - 1
    three = TORCH["onecycle_three_phase_lr"][:, 0]
    assert int(np.argmax(three)) == 17 and three[34] == pytest.approx(0.01 / 25)
    assert "total_steps=50" in PAGE and "stepped 51 times" in PAGE
    assert str(TORCH["onecycle_cos_raises"]) == "Tried to step 51 times. The specified number of total steps is 50"
    # ChainedScheduler's 0.081 = 0.1 * 0.9 ** 2
    assert "gives 0.081 at\nepoch 2 (0.1 * 0.9 ** 2)" in PAGE


def _plot_tool():
    spec = importlib.util.spec_from_file_location("plot_schedules", ROOT / "tools" / "plot_schedules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plot_command_writes_one_small_png_per_schedule(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    tool = _plot_tool()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = tool.main(["--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name in tool.SCHEDULES)
    assert len(paths) == len(tool.SCHEDULES)
    for p in paths:
        assert Image.open(p).size == (600, 300) and p.stat().st_size < 100_000, p


def test_the_page_shows_every_plot_and_each_is_committed():
    tool = _plot_tool()
    shown = re.findall(r"\]\(images/schedules/([A-Za-z_]+)\.png\)", PAGE)
    assert sorted(shown) == sorted(tool.SCHEDULES)
    for name in shown:
        assert (ROOT / "docs" / "images" / "schedules" / f"{name}.png").is_file(), name
