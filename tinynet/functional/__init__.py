"""tinynet.functional: every differentiable op, one ``Function`` subclass each.

Layer ops (PyTorch's ``torch.nn.functional`` names and layouts):
    conv2d, max_pool2d, adaptive_avg_pool2d, relu, dropout, linear, local_response_norm,
    softmax, log_softmax, cross_entropy, flatten; bias_relu (relu(x + bias) in one pass)

Tensor ops behind ``Tensor``'s operators live in ``arithmetic``, ``reduction``,
``shape`` and ``conversion``. Each module's docstring derives its backward.
"""
from tinynet.functional._util import ShapeError
from tinynet.functional.activation import bias_relu, dropout, relu
from tinynet.functional.conv import conv2d
from tinynet.functional.linear import linear
from tinynet.functional.loss import cross_entropy, log_softmax, softmax
from tinynet.functional.normalization import local_response_norm
from tinynet.functional.pool import adaptive_avg_pool2d, max_pool2d
from tinynet.functional.shape import flatten

__all__ = [
    "ShapeError",
    "conv2d",
    "max_pool2d",
    "adaptive_avg_pool2d",
    "relu",
    "bias_relu",
    "dropout",
    "linear",
    "local_response_norm",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "flatten",
]
