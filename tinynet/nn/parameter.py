"""Parameter: a Tensor that a Module registers as learnable."""
from tinynet.tensor import Tensor


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
