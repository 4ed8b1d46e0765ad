"""Parameter: a Tensor that a Module registers as learnable."""
from tinynet.autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` that a Module lists in ``parameters()``."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
