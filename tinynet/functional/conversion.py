"""Moving a tensor between devices or dtypes, with gradients flowing back.

    ToDevice:   y = x on another device;        dx = g moved back to x's device
    AsType:     y = x cast to a dtype;          dx = g cast back to x's dtype
    AsBFloat16: y = x rounded to bfloat16's grid (float32 storage: kernels/half.py); dx = g rounded likewise
                (what a bfloat16 backward would hold)

and ``tensor_type``, behind ``Tensor.type()``: PyTorch's legacy type names, 'tinynet.FloatTensor' for float32.
"""
import kernels
from tinynet._tensor import number_dtype
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


class AsBFloat16(Function):
    def forward(self, x):
        return kernels.round_to_bfloat16(x)

    def backward(self, g):
        return kernels.round_to_bfloat16(g)


# PyTorch's legacy type names (Tensor.type()), one per dtype a Tensor can hold.
TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
              "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
              "bool": "BoolTensor", "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor"}
_DTYPE_OF_NAME = {name: dtype for dtype, name in TYPE_NAMES.items()}


def tensor_type(x, dtype=None):
    """``x.type()``: 'tinynet.FloatTensor' (or 'tinynet.cuda.FloatTensor' on a GPU) for float32, likewise for
    the other dtypes; ``x.type(dtype)``: x converted to ``dtype``, given as a dtype or as such a name
    ('torch.LongTensor' and 'tinynet.cuda.LongTensor' are read too, the device part ignored)."""
    if dtype is None:
        name = TYPE_NAMES.get(str(x.dtype), f"{x.dtype}Tensor")
        return f"tinynet.{'cuda.' if x.device == 'cuda' else ''}{name}"
    if isinstance(dtype, str) and dtype.rsplit(".", 1)[-1] in _DTYPE_OF_NAME:
        dtype = _DTYPE_OF_NAME[dtype.rsplit(".", 1)[-1]]
    if isinstance(dtype, str) and "." in dtype:
        raise TypeError(f"type({dtype!r}): expected a dtype ('float32', 'int64') or a type name such as "
                        f"'tinynet.LongTensor'")
    return x.to(number_dtype(dtype, f"type({dtype!r})"))
