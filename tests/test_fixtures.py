"""PyTorch's values come only from stored fixtures: nothing in the package or its tests imports torch, and
every fixture file has the committed script that wrote it."""
import ast
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module or ""


def test_no_torch_in_the_package_or_its_tests():
    files = [p for folder in ("tinynet", "kernels", "tests") for p in (ROOT / folder).rglob("*.py")]
    assert len(files) > 50
    for path in files:
        for name in _imports(path):
            assert name.split(".")[0] not in ("torch", "torchvision", "tensorflow", "jax"), f"{path}: {name}"


def test_every_fixture_has_its_script_and_records_the_torch_version():
    fixtures = sorted((ROOT / "tests" / "fixtures").glob("torch_*.npz"))
    assert fixtures
    for path in fixtures:
        family = path.stem[len("torch_"):]
        assert (ROOT / "tools" / "torch_reference" / f"{family}.py").is_file(), family
        with np.load(path, allow_pickle=False) as data:
            assert str(data["torch_version"]).split(".")[0] == "2", path.name
