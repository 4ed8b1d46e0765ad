"""What the losses share (tinynet/functional/loss.py, elementwise_loss.py, tinynet/nn/loss.py): the checks of
their arguments, each naming the loss ("cross_entropy: label_smoothing must be ..."), and the quiet division
that gives PyTorch's nan for a mean over nothing. No autograd here.
"""
import numpy as np

from tinynet import backend
from tinynet.autograd import is_grad_enabled
from tinynet._tensor import Tensor
from tinynet.functional._util import ShapeError, int_arg
from tinynet.validate import check_number

__all__ = ["REDUCTIONS", "check_reduction", "reduction_args", "loss_weight", "check_no_weight_grad", "class_loss_args",
           "quiet", "divide"]


REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, where):
    """``reduction`` if it is one of REDUCTIONS, else a ValueError naming ``where``."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def reduction_args(where, size_average, reduce, reduction):
    """``reduction`` checked; PyTorch's deprecated ``size_average`` and ``reduce`` slots take None only."""
    for name, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None:
            raise ValueError(f"{where}: {name} is deprecated and not supported, got {value!r}; use reduction="
                             "'mean', 'sum' or 'none' (size_average=False is 'sum', reduce=False is 'none')")
    return check_reduction(reduction, where)


def loss_weight(where, name, weight):
    """None, or ``weight`` (a Tensor or a NumPy/CuPy array) as a floating-point Tensor."""
    if weight is None:
        return None
    if not isinstance(weight, Tensor):
        if not (isinstance(weight, np.ndarray) or backend.is_cupy_array(weight)):
            hint = "; pass reduction= by name" if isinstance(weight, str) else ""
            raise TypeError(f"{where}: {name} must be a Tensor of floats or None, got {weight!r}{hint}")
        weight = Tensor(weight)
    if weight.dtype.kind != "f":
        raise TypeError(f"{where}: {name} must hold floating-point numbers, got dtype {weight.dtype}")
    return weight


def check_no_weight_grad(where, name, weight):
    """PyTorch computes no gradient for a loss's weights and refuses one that requires it: so do we."""
    if weight is not None and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{where}: {name} requires grad, but no gradient flows to a loss's {name} "
                           f"(PyTorch refuses it too); pass {name}.detach()")


def class_loss_args(where, weight, ignore_index, label_smoothing=0.0):
    """(weight as a 1-d float Tensor or None, ignore_index, label_smoothing), checked for ``where``."""
    weight = loss_weight(where, "weight", weight)
    if weight is not None and weight.ndim != 1:
        raise ShapeError(f"{where}: weight must be 1-d, one entry per class, got shape {weight.shape}")
    ignore_index = int_arg(ignore_index, "ignore_index", where)
    if not (type(label_smoothing) is float and 0.0 <= label_smoothing <= 1.0):  # the common case, without a message
        label_smoothing = float(check_number(f"{where}: label_smoothing", label_smoothing, low=0, high=1))
    return weight, ignore_index, label_smoothing


def quiet():
    """NumPy warns at log(0) and 0/0, whose -inf and nan are the values wanted here (CuPy never warns)."""
    return np.errstate(divide="ignore", invalid="ignore")


def divide(a, b):
    """a / b, where 0 / 0 is nan (a 'mean' over nothing, as PyTorch) and x / 0 is inf, without a warning."""
    with quiet():
        return a / b

