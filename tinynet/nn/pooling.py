"""Pooling layers (tinynet/functional/pool.py; docs/max_pool2d.md, docs/avg_pool2d.md, docs/adaptive_pool2d.md).

As in PyTorch, each layer keeps its arguments as given (for its repr) and checks them where it is built,
with the op's own check; the stride defaults to the kernel size. Inputs are (N, C, H, W) or unbatched
(C, H, W). Note the argument order of MaxPool2d, PyTorch's: return_indices before ceil_mode (the
function F.max_pool2d has ceil_mode first).
"""
from tinynet import functional as F
from tinynet.functional._util import flag_arg
from tinynet.functional.pool import adaptive_pool_size, avg_pool_args, max_pool_args
from tinynet.nn.module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d"]


class MaxPool2d(Module):
    """Max pooling: (N, C, H, W) -> (N, C, OH, OW), or (C, H, W) -> (C, OH, OW); with return_indices,
    (output, indices) as F.max_pool2d."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        max_pool_args(kernel_size, stride, padding, dilation, ceil_mode, return_indices, "MaxPool2d")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Average pooling: (N, C, H, W) -> (N, C, OH, OW), or (C, H, W) -> (C, OH, OW); the divisor rules of
    F.avg_pool2d (count_include_pad, ceil_mode, divisor_override)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        avg_pool_args(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, "AvgPool2d")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size: (N, C, H, W) -> (N, C, OH, OW), or (C, H, W) -> (C, OH, OW);
    an entry of output_size may be None (keep that dimension)."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        adaptive_pool_size(output_size, "AdaptiveMaxPool2d")
        flag_arg(return_indices, "return_indices", "AdaptiveMaxPool2d")
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size: (N, C, H, W) -> (N, C, *output_size), or unbatched;
    an entry of output_size may be None (keep that dimension)."""

    def __init__(self, output_size):
        super().__init__()
        adaptive_pool_size(output_size, "AdaptiveAvgPool2d")
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
