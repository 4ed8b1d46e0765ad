"""Parameter: a Tensor that a Module registers as learnable; the check of the ``dtype`` argument of the
layers that create parameters (their ``device`` argument: backend.device_arg), and their registration."""
import numpy as np

from tinynet._tensor import Tensor, number_dtype


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that a Module lists in ``parameters()``.

    It holds a copy of ``data``: an optimizer updates parameters in place, which
    must not write into the caller's array. (A plain ``Tensor`` wraps its array
    without copying, like ``torch.as_tensor``.)
    """

    def __init__(self, data, requires_grad=True):
        data = data.data if isinstance(data, Tensor) else data
        super().__init__(data.copy() if hasattr(data, "copy") else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def parameter_dtype(dtype, where):
    """The dtype of a layer's parameters: float32 when ``dtype`` is None; a non-float dtype is a TypeError
    naming ``where`` (the layer)."""
    dtype = number_dtype("float32" if dtype is None else dtype, f"{where}: dtype")
    if dtype.kind != "f":
        raise TypeError(f"{where}: parameters must be floating point, got dtype {dtype}")
    return dtype


def add_weight_and_bias(layer, weight_shape, bias, dtype):
    """Register ``layer.weight`` (uninitialised, ``weight_shape``) and ``layer.bias`` (weight_shape[0],),
    or an empty bias slot when ``bias`` is False; the layer's reset_parameters() then fills them."""
    layer.weight = Parameter(np.empty(weight_shape, dtype=dtype))
    if bias:
        layer.bias = Parameter(np.empty((weight_shape[0],), dtype=dtype))
    else:
        layer.register_parameter("bias", None)
