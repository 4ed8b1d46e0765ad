"""The state behind tinynet.amp.autocast, read by the ops it changes (imports flow down: amp sets it).

Inside ``autocast``, the ops of two lists cast their floating-point inputs first, as PyTorch's autocast does:

    lower precision   linear, conv2d (the matrix products: where half precision's speed is)
    float32           softmax, log_softmax, the losses (cross_entropy, nll_loss, mse_loss, l1_loss,
                      smooth_l1_loss, the binary cross-entropies), local_response_norm, batch_norm, layer_norm,
                      the reductions sum, mean, var, std (sums of many terms, exponentials: where half
                      precision's 11 or 8 bits of mantissa lose the result)

The cast is an op like any other (AsType, or AsBFloat16 for bfloat16), so gradients flow back through it
in the dtype of what was cast: float32 weights get float32 gradients (the "master weights" the optimizer
updates). Everything else runs in the dtype it is given.

bfloat16: NumPy and CuPy have no such dtype, so "cast to bfloat16" keeps float32 storage and rounds the
values to bfloat16's grid (kernels/half.py), and the op's result is rounded again: an emulation of the
precision, not of the speed.
"""
import threading

import numpy as np

from tinynet._tensor import Tensor

BFLOAT16 = "bfloat16"
_local = threading.local()  # per thread, as PyTorch's: .dtype inside autocast (np.float16 or "bfloat16")


def active():
    """The dtype autocast casts to in this thread (np.dtype('float16') or 'bfloat16'), or None outside it."""
    return getattr(_local, "dtype", None)


def set_state(dtype):
    """Set by tinynet.amp.autocast for this thread; returns the state before."""
    previous = active()
    _local.dtype = dtype
    return previous


def _floating(t):
    return isinstance(t, Tensor) and t.dtype.kind == "f"


def lower(*tensors):
    """The tensors cast to autocast's dtype (inputs of a matrix-product op); None and non-float pass."""
    dtype = active()
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
    if active() == BFLOAT16 and _floating(y):
        from tinynet.functional.conversion import AsBFloat16

        return AsBFloat16()(y)
    return y


def to_float32(*tensors):
    """The tensors in float32 (inputs of an op that must sum or exponentiate in full precision) inside autocast."""
    if active() is None:
        return tensors
    from tinynet.functional.conversion import AsType

    return tuple(AsType(np.float32)(t) if _floating(t) and t.dtype == np.float16 else t for t in tensors)
