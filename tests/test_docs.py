"""Every ```python block in README.md and docs/*.md runs, so the examples can't drift from the code."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks():
    for page in PAGES:
        for i, code in enumerate(BLOCK.findall(page.read_text())):
            yield pytest.param(code, id=f"{page.relative_to(ROOT)}#{i}")


@pytest.mark.parametrize("code", list(_blocks()))
def test_python_block_runs(code):
    exec(compile(code, "<doc>", "exec"), {"__name__": "__doc_example__"})


def test_readme_tour_prints_the_parameter_shapes_it_claims():
    """The tour's comment lists the gradient shapes; check that it says what the code prints."""
    import contextlib
    import io

    code = BLOCK.findall((ROOT / "README.md").read_text())[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<README tour>", "exec"), {})
    claimed = re.search(r"^# (\[\('0\.weight'.*\])$", code, re.M).group(1)
    assert out.getvalue().strip() == claimed


def test_readme_opens_with_the_two_setup_commands_ci_runs():
    """README's test command is the one .ci/run executes."""
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert commands[0].endswith("tinynet train")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_alexnet_page_table_is_what_summary_reports():
    """Every row of the seed table in docs/alexnet.md equals the model's own profile, and so do the totals."""
    from tinynet.model_summary import profile
    from tinynet.models import alexnet

    page = (ROOT / "docs" / "alexnet.md").read_text()
    table = page.split("## Every layer of the seed variant")[1].split("\n\n## ")[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    rows = [[cell.strip().replace("*", "") for cell in row] for row in rows[1:]]  # drop the header
    prof = profile(alexnet("seed"), (3, 224, 224))
    expected = [[r.name, r.kind, str(r.output_shape), f"{r.params:,}", f"{r.mult_adds:,}"] for r in prof.rows]
    expected.append(["total", "", "", f"{prof.total_params:,}", f"{prof.total_mult_adds:,}"])
    assert rows == expected


def test_alexnet_page_variant_table_counts():
    from tinynet.model_summary import profile
    from tinynet.models import VARIANTS, alexnet

    page = (ROOT / "docs" / "alexnet.md").read_text()
    table = page.split("## The variants")[1].split("\n\n")[1]
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.split("|")[1:-1]]
        variant, side, count = cells[0], int(cells[1].split("x")[0]), int(cells[-1].replace(",", ""))
        assert VARIANTS[variant].input_size == side
        assert profile(alexnet(variant), (3, side, side)).total_params == count


def test_index_links_every_page_once():
    """docs/index.md is the map: every page of docs/ appears in it, and every link in it exists."""
    index = (ROOT / "docs" / "index.md").read_text()
    linked = re.findall(r"\]\(([a-z0-9_]+\.md)[)#]", index)
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "index.md")
    assert sorted(set(linked)) == pages
    assert len(linked) == len(set(linked)), "a page is linked twice"


@pytest.mark.parametrize("name", ["relu-tanh", "pooling", "lrn", "dropout", "augmentation"])
def test_experiments_page_quotes_the_committed_results(name):
    """docs/experiments.md's table of each experiment is the one its committed JSON gives, and the JSON's rows
    are what tinynet.experiments.summarise makes of its runs today."""
    import json

    from tinynet import experiments

    page = (ROOT / "docs" / "experiments.md").read_text()
    result = json.loads((ROOT / "docs" / "experiments" / f"{name}.json").read_text())
    assert experiments.markdown_table(result) in page
    arms = result["arms"]
    runs = {a: {int(s): h for s, h in result["runs"][arms[a]].items()} for a in (0, 1)}
    rows = experiments.summarise(name, runs, ["class"] * result.get("classes", 10))
    assert json.loads(json.dumps(rows)) == result["rows"]
    assert (ROOT / "docs" / "experiments" / f"{name}.png").is_file()
