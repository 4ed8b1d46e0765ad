"""Shared by the fixture scripts: where fixtures go, and how they are written.

Run a script once where PyTorch is installed (never in CI; the tests only read the .npz files):

    python tools/torch_reference/<family>.py        # writes tests/fixtures/torch_<family>.npz

Every array is float64 (or an integer type); the file records the torch version that made it.
"""
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def save(family, arrays):
    """Write ``arrays`` (name -> NumPy array) to tests/fixtures/torch_<family>.npz, with the torch version."""
    import torch

    out = FIXTURES / f"torch_{family}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, torch_version=np.array(torch.__version__), **arrays)
    print(f"wrote {out.relative_to(ROOT)}: {len(arrays)} arrays, torch {torch.__version__}")
