"""The state behind tinynet.amp.autocast, read by the ops it changes (imports flow down: amp sets it).

Inside ``autocast``, the ops of two lists cast their floating-point inputs first, as PyTorch's autocast does:

    lower precision   linear, conv2d (the matrix products: where half precision's speed is)
    float32           softmax, log_softmax, cross_entropy, local_response_norm, batch_norm (sums of many
                      terms, exponentials: where half precision's 11 or 8 bits of mantissa lose the result)

The cast is an op like any other (AsType, or AsBFloat16 for bfloat16), so gradients flow back through it
in the dtype of what was cast: float32 weights get float32 gradients (the "master weights" the optimizer
updates). Everything else runs in the dtype it is given.

bfloat16: NumPy and CuPy have no such dtype, so "cast to bfloat16" keeps float32 storage and rounds the
values to bfloat16's grid (kernels/half.py), and the op's result is rounded again: an emulation of the
precision, not of the speed.
"""
import numpy as np

from tinynet._tensor import Tensor

BFLOAT16 = "bfloat16"
_state = None  # inside autocast: its dtype (np.float16, or "bfloat16"), else None


def active():
    """The dtype autocast casts to (np.dtype('float16') or 'bfloat16'), or None outside autocast."""
    return _state


def set_state(dtype):
    """Set by tinynet.amp.autocast; returns the state before."""
    global _state
    previous, _state = _state, dtype
    return previous


def _floating(t):
    return isinstance(t, Tensor) and t.dtype.kind == "f"


def lower(*tensors):
    """The tensors cast to autocast's dtype (inputs of a matrix-product op); None and non-float pass."""
    dtype = _state
    if dtype is None:
        return tensors
    from tinynet.functional.conversion import AsBFloat16, AsType

    out = []
    for t in tensors:
        if not _floating(t):
            out.append(t)
        elif dtype == BFLOAT16:
            out.append(AsBFloat16()(t) if t.dtype == np.float32 else AsBFloat16()(AsType(np.float32)(t)))
        else:
            out.append(t if t.dtype == dtype else AsType(dtype)(t))
    return tuple(out)


def lowered_output(y):
    """An op's result inside autocast: for bfloat16, rounded to its grid (float16 results are float16 already)."""
    if _state == BFLOAT16 and _floating(y):
        from tinynet.functional.conversion import AsBFloat16

        return AsBFloat16()(y)
    return y


def to_float32(*tensors):
    """The tensors in float32 (inputs of an op that must sum or exponentiate in full precision) inside autocast."""
    if _state is None:
        return tensors
    from tinynet.functional.conversion import AsType

    return tuple(AsType(np.float32)(t) if _floating(t) and t.dtype == np.float16 else t for t in tensors)
