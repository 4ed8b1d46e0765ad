"""The dense layer (tinynet/functional/linear.py, docs/linear.md).
"""
import numpy as np

from tinynet import functional as F
from tinynet.functional._util import int_arg
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter, parameter_dtype

__all__ = ["Linear"]


class Linear(Module):
    """Dense layer. Input (N, in_features) -> (N, out_features).

    Parameters: weight (out_features, in_features), bias (out_features,).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features = int_arg(in_features, "in_features", "Linear", low=1)
        self.out_features = int_arg(out_features, "out_features", "Linear", low=1)
        dtype = parameter_dtype(dtype, "Linear")
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
