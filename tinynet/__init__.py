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
from tinynet.autograd import Function, enable_grad, is_grad_enabled, no_grad  # isort: skip
from tinynet._tensor import Tensor, tensor  # isort: skip
from tinynet import cuda, functional, nn, optim
from tinynet.backend import DeviceError, manual_seed
from tinynet.functional import ShapeError, flatten
from tinynet.gradcheck import GradcheckError, gradcheck, gradcheck_directional
from tinynet.model_summary import summary

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "tensor",
    "flatten",
    "Function",
    "no_grad",
    "enable_grad",
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
    "nn",
    "optim",
]
