"""Convolution layers (the op and its derivation: tinynet/functional/conv.py, docs/conv2d.md; the
padding modes: tinynet/functional/padding.py, docs/padding.md).
"""
from tinynet import backend
from tinynet import functional as F
from tinynet.functional._util import flag_arg, int_arg, pair
from tinynet.functional.conv import conv_args, same_padding
from tinynet.functional.padding import pad
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import add_weight_and_bias, parameter_dtype

__all__ = ["Conv2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """2-D convolution, PyTorch's ``nn.Conv2d``. Input (N, in_channels, H, W) or (in_channels, H, W)
    -> (N, out_channels, OH, OW) or (out_channels, OH, OW).

    Parameters: weight (out_channels, in_channels // groups, kH, kW), bias (out_channels,).
    padding_mode 'zeros' pads inside the convolution; 'reflect', 'replicate' and 'circular' pad the
    input with ``F.pad`` in that mode first, then convolve with no padding.
    algorithm (tinynet's): "auto" (default: the fastest for each input shape, timed once, as cudnn.benchmark
    does), "im2col" or "winograd" (3x3 and 5x5 kernels, stride 1, no dilation): tinynet/functional/conv_choice.py.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, *, algorithm="auto"):
        super().__init__()
        in_channels = int_arg(in_channels, "in_channels", "Conv2d", low=1)
        out_channels = int_arg(out_channels, "out_channels", "Conv2d", low=1)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d", low=1)
        self.stride, self.padding, self.dilation, groups = conv_args(stride, padding, dilation, groups, "Conv2d")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: groups={groups} must divide in_channels ({in_channels}) and out_channels ({out_channels})"
            )
        bias = flag_arg(bias, "bias", "Conv2d")
        if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
            raise (ValueError if isinstance(padding_mode, str) else TypeError)(
                f"Conv2d: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, got {padding_mode!r}"
            )
        device = backend.device_arg("Conv2d", device)
        if algorithm not in ("auto", "im2col", "winograd"):
            raise ValueError(f"Conv2d: algorithm must be 'auto', 'im2col' or 'winograd', got {algorithm!r}")
        if algorithm == "winograd" and not self.winograd_eligible():
            raise ValueError(f"Conv2d: algorithm='winograd' computes square 3x3 or 5x5 kernels with stride 1 and "
                             f"dilation 1; got kernel_size={self.kernel_size}, stride={self.stride}, "
                             f"dilation={self.dilation}")
        self.algorithm = algorithm
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups = groups
        self.padding_mode = padding_mode
        # What F.pad adds for a padding_mode other than 'zeros': (left, right, top, bottom).
        if self.padding == "same":
            (top, bottom), (left, right) = same_padding(self.kernel_size, self.dilation)
        else:
            (top, left) = (0, 0) if self.padding == "valid" else self.padding
            bottom, right = top, left
        self._pad = (left, right, top, bottom)
        dtype = parameter_dtype(dtype, "Conv2d")
        add_weight_and_bias(self, (out_channels, in_channels // groups, *self.kernel_size), bias, dtype)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def winograd_eligible(self):
        """Whether a Winograd variant can compute this layer (a square 3x3 or 5x5 kernel, stride 1, no dilation)."""
        from tinynet.functional.winograd import eligible

        return bool(eligible(self.kernel_size, self.stride, self.dilation))

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                            algorithm=self.algorithm)
        return F.conv2d(pad(x, self._pad, mode=self.padding_mode), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups, algorithm=self.algorithm)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"  # a string unquoted, as PyTorch prints it: padding=same
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.algorithm != "auto":
            s += f", algorithm={self.algorithm!r}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
