"""tinynet: a deep learning engine written from scratch on NumPy (CPU) and CuPy (GPU).

    import tinynet
    from tinynet import nn, functional as F

    x = tinynet.Tensor(np.random.rand(2, 3, 32, 32).astype("float32"))
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    loss = F.cross_entropy(net(x), np.array([1, 7]))
    loss.backward()          # every parameter's .grad is now filled

Layers (bottom to top): kernels (array primitives) -> backend -> autograd ->
functional (ops) -> nn (modules).
"""
import kernels  # noqa: F401  first, before NumPy loads OpenBLAS: see kernels/__init__.py

# autograd next: it defines Function, then loads tinynet._tensor, which loads the ops behind
# Tensor's operators (tinynet.functional). The order is explained at the end of tinynet/_tensor.py.
from tinynet.autograd import Function, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # isort: skip
from tinynet._tensor import Tensor, tensor  # isort: skip
from tinynet import amp, cuda, functional, nn, optim
from tinynet.backend import DeviceError, manual_seed
from tinynet.functional import ShapeError, flatten
# torch's namespace functions on tensors (each takes Tensors or plain arrays: tinynet.max(out.data, 1)).
from tinynet.functional import (abs, add, amax, amin, argmax, argmin, argsort, cat, chunk, clamp, clip,  # noqa: A004
                                clone, concat, div, exp, gather, log, log_softmax, masked_fill, matmul, max,
                                mean, min, mul, permute, pow, relu, reshape, scatter, scatter_add, sigmoid,
                                softmax, sort, split, sqrt, squeeze, stack, std, sub, sum, t, tanh, topk,
                                transpose, unsqueeze, var, where)
from tinynet.functional import floor_divide, maximum, minimum, nonzero, remainder  # noqa: E402
from tinynet.functional import flip, movedim, narrow, roll, swapaxes, swapdims, unbind  # noqa: E402
from tinynet.gradcheck import GradcheckError, gradcheck, gradcheck_directional
from tinynet.model_summary import summary
from tinynet.creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,  # noqa: E402
                              linspace, ones, ones_like, rand, rand_like, randint, randint_like, randn,
                              randn_like, randperm, zeros, zeros_like)
from tinynet.serialization import SerializationError, load, save

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    """True if ``obj`` is a tinynet Tensor (a Parameter is one)."""
    return isinstance(obj, Tensor)


def numel(input) -> int:
    """The number of elements of a Tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel: expected a Tensor, got {type(input).__name__}")
    return input.numel()

__all__ = [
    "Tensor",
    "tensor",
    "flatten",
    "Function",
    "no_grad",
    "enable_grad",
    "inference_mode",
    "set_grad_enabled",
    "is_tensor",
    "numel",
    "is_grad_enabled",
    "gradcheck",
    "gradcheck_directional",
    "GradcheckError",
    "ShapeError",
    "DeviceError",
    "manual_seed",
    "summary",
    "cuda",
    "functional",
    "amp",
    "nn",
    "optim",
]

# PyTorch's dtype names. Three of them (float, int, bool) are also Python builtins: imported last, so that
# nothing in this file runs after them, and left out of __all__, so `from tinynet import *` never replaces
# a user's builtins (write tinynet.float32, tinynet.int32, tinynet.bool there).
from tinynet.dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half,  # noqa: E402,A004
                            int, int8, int16, int32, int64, long, short, uint8)

__all__ += [name for name in (
    "add", "amax", "amin", "argmax", "argmin", "argsort", "cat", "chunk", "clamp", "clip", "clone", "concat", "div",
    "exp", "gather", "log", "log_softmax", "masked_fill", "matmul", "mean", "mul", "permute", "relu", "reshape",
    "scatter", "scatter_add", "sigmoid", "softmax", "sort", "split", "sqrt", "squeeze", "stack", "std", "sub", "t",
    "tanh", "topk", "transpose", "unsqueeze", "var", "where", "maximum", "minimum", "remainder", "floor_divide",
    "nonzero", "flip", "roll", "narrow", "unbind", "movedim", "swapaxes", "swapdims")]  # sum, max, min, abs, pow: attributes only
__all__ += [
    "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye", "arange", "linspace", "rand", "randn",
    "randint", "randperm", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
    "randint_like", "save", "load", "SerializationError",
    "float16", "half", "float32", "float64", "double", "int8", "int16", "short", "int32", "int64", "long",
    "uint8", "get_default_dtype",
]

