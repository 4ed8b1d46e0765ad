"""Pooling layers (tinynet/functional/pool.py, docs/max_pool2d.md).
"""
from tinynet import functional as F
from tinynet.functional.pool import adaptive_pool_size, max_pool_args
from tinynet.nn.module import Module

__all__ = ["MaxPool2d", "AdaptiveAvgPool2d"]


class MaxPool2d(Module):
    """Max pooling. Input (N, C, H, W) -> (N, C, OH, OW); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        max_pool_args(kernel_size, stride, padding, "MaxPool2d")  # kept as given, for the repr
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size: (N, C, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size):
        super().__init__()
        adaptive_pool_size(output_size, "AdaptiveAvgPool2d")
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
