"""Activation layers (tinynet/functional/activation.py, docs/relu.md; softmax: docs/softmax_cross_entropy.md).
"""
from tinynet import functional as F
from tinynet.functional._util import int_arg
from tinynet.nn.module import Module

__all__ = ["ReLU", "Softmax"]


class ReLU(Module):
    """max(x, 0) elementwise. (``inplace`` is accepted for PyTorch compatibility and ignored.)"""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = int_arg(dim, "dim", "Softmax")

    def forward(self, x):
        return F.softmax(x, self.dim)
