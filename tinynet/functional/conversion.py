"""Moving a tensor between devices or dtypes, with gradients flowing back.

    ToDevice: y = x on another device;   dx = g moved back to x's device
    AsType:   y = x cast to a dtype;     dx = g cast back to x's dtype
"""
from tinynet.autograd import Function
from tinynet.backend import device_of, to_device


class ToDevice(Function):
    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.source = device_of(x)
        return to_device(x, self.device)

    def backward(self, g):
        return to_device(g, self.source)


class AsType(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.source = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.source)
