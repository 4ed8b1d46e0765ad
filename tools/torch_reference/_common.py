"""Shared by the fixture scripts: where fixtures go, how they are written, the seed of their inputs, and the
two conversions between NumPy and torch every script makes.

Run a script once where PyTorch is installed (never in CI; the tests only read the .npz files):

    python tools/torch_reference/<family>.py        # writes tests/fixtures/torch_<family>.npz

Every array is float64 (or an integer type); the file records the torch version that made it.
"""
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SEED = 20240613  # each script draws its inputs from np.random.default_rng(SEED)


def t(a, grad=False):
    """A float64 torch tensor holding ``a``; with ``grad`` a leaf that requires grad."""
    import torch

    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def arr(x):
    """A NumPy copy of tensor ``x``, detached from the graph."""
    return x.detach().numpy().copy()


def save(family, arrays):
    """Write ``arrays`` (name -> NumPy array) to tests/fixtures/torch_<family>.npz, with the torch version."""
    import torch

    out = FIXTURES / f"torch_{family}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, torch_version=np.array(torch.__version__), **arrays)
    print(f"wrote {out.relative_to(ROOT)}: {len(arrays)} arrays, torch {torch.__version__}")
