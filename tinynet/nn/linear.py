"""The dense layer (tinynet/functional/linear.py, docs/linear.md)."""
from tinynet import backend
from tinynet import functional as F
from tinynet.functional._util import flag_arg, int_arg
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import add_weight_and_bias, parameter_dtype

__all__ = ["Linear"]


class Linear(Module):
    """Dense layer. Input (N, in_features) -> (N, out_features).

    Parameters: weight (out_features, in_features), bias (out_features,); PyTorch's arguments,
    ``Linear(in_features, out_features, bias=True, device=None, dtype=None)``.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = int_arg(in_features, "in_features", "Linear", low=1)
        self.out_features = int_arg(out_features, "out_features", "Linear", low=1)
        bias = flag_arg(bias, "bias", "Linear")
        device = backend.device_arg("Linear", device)
        dtype = parameter_dtype(dtype, "Linear")
        add_weight_and_bias(self, (self.out_features, self.in_features), bias, dtype)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
