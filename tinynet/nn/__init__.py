"""tinynet.nn: Modules with PyTorch's names, arguments, parameter names and shapes."""
from tinynet.nn import init
from tinynet.nn.container import Sequential
from tinynet.nn.layers import (
    AdaptiveAvgPool2d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    ReLU,
    Softmax,
)
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter

__all__ = [
    "init",
    "Module",
    "Parameter",
    "Sequential",
    "Conv2d",
    "Linear",
    "MaxPool2d",
    "AdaptiveAvgPool2d",
    "ReLU",
    "Dropout",
    "Flatten",
    "LocalResponseNorm",
    "Softmax",
    "CrossEntropyLoss",
]
