"""Convolution layers (the op and its derivation: tinynet/functional/conv.py, docs/conv2d.md).
"""
import numpy as np

from tinynet import functional as F
from tinynet.functional._util import int_arg, pair
from tinynet.functional.conv import conv_args
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter, parameter_dtype

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-D convolution. Input (N, in_channels, H, W) -> (N, out_channels, OH, OW).

    Parameters: weight (out_channels, in_channels // groups, kH, kW), bias (out_channels,).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, bias=True,
                 dtype=None):
        super().__init__()
        in_channels = int_arg(in_channels, "in_channels", "Conv2d", low=1)
        out_channels = int_arg(out_channels, "out_channels", "Conv2d", low=1)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d", low=1)
        self.stride, self.padding, groups = conv_args(stride, padding, groups, "Conv2d")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: groups={groups} must divide in_channels ({in_channels}) and out_channels ({out_channels})"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups = groups
        dtype = parameter_dtype(dtype, "Conv2d")
        self.weight = Parameter(np.empty((out_channels, in_channels // groups, *self.kernel_size), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.groups)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
