"""tinynet.nn: Modules with PyTorch's names, arguments, parameter names and shapes.

One file per family of layers, as in ``torch.nn.modules``: conv, linear, pooling, activation,
dropout, flatten, normalization, loss; the base class in module.py (its state dict in state.py),
containers in container.py.
Each layer holds its configuration and parameters and calls one op of tinynet.functional, where
its math is (and docs/ derives it). Each constructor checks its arguments once, with the op's own
check where the op takes the same argument, so a bad layer fails where it is built, naming the
layer and the argument: "Conv2d: kernel_size must be an int >= 1 or a pair of them, got 0".

What this package exports is what each family file lists in its ``__all__``.
"""
import sys

from tinynet.nn import init
from tinynet.nn.activation import *  # noqa: F401,F403
from tinynet.nn.container import *  # noqa: F401,F403
from tinynet.nn.conv import *  # noqa: F401,F403
from tinynet.nn.dropout import *  # noqa: F401,F403
from tinynet.nn.flatten import *  # noqa: F401,F403
from tinynet.nn.linear import *  # noqa: F401,F403
from tinynet.nn.loss import *  # noqa: F401,F403
from tinynet.nn.module import Module
from tinynet.nn.normalization import *  # noqa: F401,F403
from tinynet.nn.parameter import Parameter
from tinynet.nn.pooling import *  # noqa: F401,F403

__all__ = ["init", "Module", "Parameter"]
for _family in ("container", "conv", "linear", "pooling", "activation", "dropout", "flatten", "normalization",
                "loss"):
    __all__ += sys.modules[f"{__name__}.{_family}"].__all__
del _family
