"""PyTorch's values, stored once by tools/torch_reference/<family>.py, read here without PyTorch."""
import pathlib

import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"


def torch_fixture(family):
    """The arrays of tests/fixtures/torch_<family>.npz as a dict (no pickle: plain arrays only)."""
    with np.load(FIXTURES / f"torch_{family}.npz", allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
