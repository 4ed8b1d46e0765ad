"""The layers AlexNet is built from, as Modules over tinynet.functional.

Each layer holds its configuration and parameters; the math is in the op it
calls (see the docstring of the matching module in tinynet.functional).
Argument names, defaults, parameter names and shapes are PyTorch's.

Each constructor checks its arguments once, with the op's own check where the op takes the same
argument (``conv_args``, ``max_pool_args``, ...), so a bad layer fails where it is built, naming
the layer and the argument: "Conv2d: kernel_size must be an int >= 1 or a pair of them, got 0".
"""
import numpy as np

from tinynet import functional as F
from tinynet.functional._util import int_arg, pair
from tinynet.functional.activation import dropout_p
from tinynet.functional.conv import conv_args
from tinynet.functional.loss import check_reduction
from tinynet.functional.normalization import lrn_args
from tinynet.functional.pool import adaptive_pool_size, max_pool_args
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter
from tinynet.tensor import number_dtype


def _dtype(dtype, where):
    dtype = number_dtype("float32" if dtype is None else dtype, f"{where}: dtype")
    if dtype.kind != "f":
        raise TypeError(f"{where}: parameters must be floating point, got dtype {dtype}")
    return dtype


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
        dtype = _dtype(dtype, "Conv2d")
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


class Linear(Module):
    """Dense layer. Input (N, in_features) -> (N, out_features).

    Parameters: weight (out_features, in_features), bias (out_features,).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features = int_arg(in_features, "in_features", "Linear", low=1)
        self.out_features = int_arg(out_features, "out_features", "Linear", low=1)
        dtype = _dtype(dtype, "Linear")
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


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


class ReLU(Module):
    """max(x, 0) elementwise. (``inplace`` is accepted for PyTorch compatibility and ignored.)"""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)


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


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = int_arg(dim, "dim", "Softmax")

    def forward(self, x):
        return F.softmax(x, self.dim)


class CrossEntropyLoss(Module):
    """Cross-entropy between logits (N, K) and integer targets (N,); mean over the batch by default."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = check_reduction(reduction, "CrossEntropyLoss")

    def forward(self, logits, targets):
        return F.cross_entropy(logits, targets, self.reduction)
