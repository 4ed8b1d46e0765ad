"""The reference loops import nothing but NumPy (and each other), so they can be read and run alone."""
import ast
import pathlib

import tinynet.functional.reference as reference

FOLDER = pathlib.Path(reference.__file__).parent


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")


def test_reference_files_import_only_numpy():
    files = sorted(FOLDER.glob("*.py"))
    assert len(files) >= 4
    for path in files:
        for name in _imported_modules(path):
            allowed = name == "numpy" or name.startswith("numpy.") or name.startswith(".") or (
                path.name == "__init__.py" and name.startswith("tinynet.functional.reference."))
            assert allowed, f"{path.name} imports {name}"


def test_every_listed_function_is_exported():
    for path in FOLDER.glob("*.py"):
        if path.name == "__init__.py":
            continue
        module = getattr(reference, path.stem, None)
        names = getattr(module, "__all__", None) if module is not None else None
        for name in names or []:
            assert callable(getattr(reference, name)), name
