"""Dense (fully connected) layer.

Shapes: x (N, in_features) (or (*, in_features)), weight (out_features, in_features),
bias (out_features,), y (N, out_features).

Forward:   y = x @ W^T + b
Backward:  dx = g @ W          (N, out) @ (out, in)  -> (N, in)
           dW = g^T @ x        (out, N) @ (N, in)    -> (out, in)
           db = g summed over N
"""
import kernels
from kernels import blas, workspace
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional import _autocast
from tinynet.functional._util import ShapeError, check_same_dtype

__all__ = ["linear"]


class Linear(Function):
    def forward(self, x, w, b=None):
        if w.ndim != 2:
            raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(w.shape)}")
        if x.ndim < 1 or x.shape[-1] != w.shape[1]:
            raise ShapeError(
                f"linear: expected input with {w.shape[1]} features in its last dimension, got "
                f"{x.shape[-1] if x.ndim else 'a scalar'} (input shape {tuple(x.shape)}, "
                f"weight shape {tuple(w.shape)})"
            )
        if b is not None and b.shape != (w.shape[0],):
            raise ShapeError(f"linear: bias must have shape ({w.shape[0]},), got {tuple(b.shape)}")
        check_same_dtype("linear", input=x, weight=w, bias=b)
        self.x = x if self.needs_input_grad[1] else None
        self.w = w if self.needs_input_grad[0] else None
        # Inside autocast(bfloat16): the products read their operands as bfloat16 (on the GPU cuBLAS's
        # bfloat16 GEMM; on the host the same values in float32), forward and backward alike.
        self.mm = _bfloat16_matmul if _autocast.active() == _autocast.BFLOAT16 and x.dtype == "float32" else _matmul
        y = self.mm(x.reshape(-1, x.shape[-1]), w.T).reshape(*x.shape[:-1], w.shape[0])
        if b is not None:
            y += b
        return y

    def backward(self, g):
        gx = gw = gb = None
        g2 = g.reshape(-1, g.shape[-1])
        if self.needs_input_grad[0]:
            gx = self.mm(g2, self.w).reshape(*g.shape[:-1], self.w.shape[1])
        if self.needs_input_grad[1]:
            x2 = self.x.reshape(-1, self.x.shape[-1])
            gw = self.mm(g2.T, x2)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = g.reshape(-1, g.shape[-1]).sum(axis=0)
        return (gx, gw, gb)[:len(self.needs_input_grad)]


def _matmul(a, b):
    """a @ b into a recycled buffer (dW is out*in floats: fresh memory would be faulted in every step),
    on the host split over our threads (kernels/blas.py)."""
    xp = get_array_module(a)
    return blas.matmul(a, b, out=workspace.empty((a.shape[0], b.shape[1]), xp.result_type(a, b), xp))


def _bfloat16_matmul(a, b):
    xp = get_array_module(a)
    return kernels.matmul_bfloat16(xp.ascontiguousarray(a), xp.ascontiguousarray(b))


def linear(x, weight, bias=None):
    """y = x @ weight^T + bias, PyTorch's ``F.linear``; weight is (out_features, in_features). Inside
    tinynet.amp.autocast the three are cast to its dtype first (tinynet/functional/_autocast.py)."""
    x, weight, bias = _autocast.lower(x, weight, bias)
    return _autocast.lowered_output(Linear()(x, weight) if bias is None else Linear()(x, weight, bias))


