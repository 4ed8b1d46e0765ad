"""Parameter: a Tensor that a Module registers as learnable; and the checks of the ``dtype`` and ``device``
arguments of the layers that create parameters."""
import numpy as np

from tinynet import backend
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


def device_arg(device, where):
    """None, "cpu" or "cuda" from a layer's ``device`` argument; an error names ``where`` (the layer)."""
    if device is None:
        return None
    if not isinstance(device, str):
        raise TypeError(f"{where}: device must be None, 'cpu' or 'cuda', got {device!r}")
    try:
        device = backend.normalize_device(device)
        if device == "cuda":
            backend.cupy_or_raise()
    except backend.DeviceError as e:
        raise backend.DeviceError(f"{where}: {e}") from None
    return device


def add_weight_and_bias(layer, weight_shape, bias, dtype):
    """Register ``layer.weight`` (uninitialised, ``weight_shape``) and ``layer.bias`` (weight_shape[0],),
    or an empty bias slot when ``bias`` is False; the layer's reset_parameters() then fills them."""
    layer.weight = Parameter(np.empty(weight_shape, dtype=dtype))
    if bias:
        layer.bias = Parameter(np.empty((weight_shape[0],), dtype=dtype))
    else:
        layer.register_parameter("bias", None)
