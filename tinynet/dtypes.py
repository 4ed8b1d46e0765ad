"""The dtypes a Tensor holds, under PyTorch's names, as NumPy dtypes.

    tinynet.float32 (tinynet.float)    tinynet.int64 (tinynet.long)
    tinynet.float64 (tinynet.double)   tinynet.int32 (tinynet.int)
    tinynet.float16 (tinynet.half)     tinynet.int16 (tinynet.short), tinynet.int8, tinynet.uint8
    tinynet.bool

Each is a ``numpy.dtype``, so it works wherever NumPy or tinynet takes a dtype:
``Tensor(x, dtype=tinynet.int64)``, ``t.to(tinynet.float16)``, ``t.dtype == tinynet.float32``
(a NumPy dtype compares equal to its name and its scalar type too: ``tinynet.float32 == "float32"``).

bfloat16 is left out: NumPy has no bfloat16 type, so no array tinynet makes could hold one.

``get_default_dtype()`` is float32: the dtype of a Python float turned into a tensor and of the
floating-point factories (zeros, rand, arange with a float argument, ...). tinynet has no
``set_default_dtype``: the default is fixed, as the layers' parameters assume.
"""
import numpy as np

__all__ = [
    "float16", "half", "float32", "float", "float64", "double",
    "int8", "int16", "short", "int32", "int", "int64", "long", "uint8", "bool",
    "get_default_dtype",
]

float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)

# These three shadow Python's builtins inside this module (and in tinynet/__init__.py, as torch.float,
# torch.int and torch.bool do in torch's namespace): nothing below them uses the builtins.
float = float32  # noqa: A001
int = int32  # noqa: A001
bool = np.dtype(np.bool_)  # noqa: A001

_DEFAULT_DTYPE = float32


def get_default_dtype() -> np.dtype:
    """float32: the dtype of Python floats made into tensors and of the floating-point factories."""
    return _DEFAULT_DTYPE
