"""Dropout layers (tinynet/functional/activation.py, docs/dropout.md).

Each is inverted dropout in training mode and the identity in eval mode; ``inplace=True`` writes the
result into the input tensor, as PyTorch's does.
"""
from tinynet import functional as F
from tinynet.functional._util import flag_arg
from tinynet.functional.activation import dropout_p
from tinynet.nn.module import Module

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Module):
    """Inverted dropout with probability ``p`` in training mode; the identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        dropout_p(p, "Dropout")
        self.p = p
        self.inplace = flag_arg(inplace, "inplace", "Dropout")

    def forward(self, x):
        return F.dropout(x, self.p, self.training, inplace=self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """Channel dropout of (N, C, H, W) or (C, H, W) inputs: in training mode each channel is zeroed
    with probability ``p`` and the others scaled by 1/(1-p); the identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        dropout_p(p, "Dropout2d")
        self.p = p
        self.inplace = flag_arg(inplace, "inplace", "Dropout2d")

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, inplace=self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
