"""Normalisation layers (tinynet/functional/normalization.py, docs/local_response_norm.md).
"""
from tinynet import functional as F
from tinynet.functional.normalization import lrn_args
from tinynet.nn.module import Module

__all__ = ["LocalResponseNorm"]


class LocalResponseNorm(Module):
    """Local response normalisation across channels, PyTorch's convention (alpha divided by size)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        lrn_args(size, alpha, beta, k, "LocalResponseNorm")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
