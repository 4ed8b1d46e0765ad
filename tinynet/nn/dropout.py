"""Dropout layers (tinynet/functional/activation.py, docs/dropout.md).
"""
from tinynet import functional as F
from tinynet.functional.activation import dropout_p
from tinynet.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout with probability ``p`` in training mode; the identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        dropout_p(p, "Dropout")
        self.p = p
        self.inplace = inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
