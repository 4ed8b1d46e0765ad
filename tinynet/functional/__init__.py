"""tinynet.functional: every differentiable op, one ``Function`` subclass each.

Layer ops, with PyTorch's ``torch.nn.functional`` names and layouts, one file per family:
activation (relu, tanh, gelu, dropout, ...), conv, padding (pad), linear, loss (softmax, cross_entropy,
nll_loss), elementwise_loss (mse_loss, binary_cross_entropy, ...), normalization (local response, batch
and layer norm), pool, shape (flatten). What this package exports is what each of those files lists
in ``__all__``.

Tensor ops behind ``Tensor``'s operators and methods, with ``torch``'s names (``F.max(x.data, 1)``,
``F.cat``, ``F.gather``, ``F.clamp``; each takes Tensors or plain arrays): ``arithmetic``, ``binary``
(maximum, minimum, remainder, floor_divide), ``rearrange`` (flip, roll, narrow, unbind, movedim), ``reduction``,
``shape``, ``join`` (cat, stack, split, chunk), ``indexing`` (gather, scatter, masked_fill, where, sort,
topk) and ``conversion``. Each module's docstring derives its backward; ``reference`` holds the textbook
loops the docs show and the tests compare against.
"""
import sys

from tinynet.functional._util import ShapeError
from tinynet.functional.activation import *  # noqa: F401,F403
from tinynet.functional.arithmetic import *  # noqa: F401,F403
from tinynet.functional.binary import *  # noqa: F401,F403
from tinynet.functional.conv import *  # noqa: F401,F403
from tinynet.functional.elementwise_loss import *  # noqa: F401,F403
from tinynet.functional.indexing import *  # noqa: F401,F403
from tinynet.functional.join import *  # noqa: F401,F403
from tinynet.functional.linear import *  # noqa: F401,F403
from tinynet.functional.loss import *  # noqa: F401,F403
from tinynet.functional.normalization import *  # noqa: F401,F403
from tinynet.functional.padding import *  # noqa: F401,F403
from tinynet.functional.pool import *  # noqa: F401,F403
from tinynet.functional.rearrange import *  # noqa: F401,F403
from tinynet.functional.reduction import *  # noqa: F401,F403
from tinynet.functional.shape import *  # noqa: F401,F403

__all__ = ["ShapeError"]
for _family in ("activation", "conv", "padding", "linear", "loss", "elementwise_loss", "normalization", "pool",
                "shape", "join", "indexing", "arithmetic", "binary", "rearrange", "reduction"):
    __all__ += sys.modules[f"{__name__}.{_family}"].__all__  # (F.linear the function hides the module)
del _family
# F.sum, F.max, F.min, F.abs and F.pow are Python builtins' names: reachable as attributes, left out of
# __all__ so that `from tinynet.functional import *` never replaces a user's builtins.
BUILTIN_NAMES = frozenset({"sum", "max", "min", "abs", "pow"})
__all__ = [name for name in __all__ if name not in BUILTIN_NAMES]
