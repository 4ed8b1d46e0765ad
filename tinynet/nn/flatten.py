"""Flatten (tinynet/functional/shape.py, docs/flatten.md).
"""
from tinynet import functional as F
from tinynet.functional._util import int_arg
from tinynet.nn.module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge dimensions start_dim..end_dim: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = int_arg(start_dim, "start_dim", "Flatten")
        self.end_dim = int_arg(end_dim, "end_dim", "Flatten")

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
