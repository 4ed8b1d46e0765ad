"""Dense (fully connected) layer.

Shapes: x (N, in_features) (or (*, in_features)), weight (out_features, in_features),
bias (out_features,), y (N, out_features).

Forward:   y = x @ W^T + b
Backward:  dx = g @ W          (N, out) @ (out, in)  -> (N, in)
           dW = g^T @ x        (out, N) @ (N, in)    -> (out, in)
           db = g summed over N
"""
from tinynet.autograd import Function
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
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(self, g):
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = g @ self.w
        if self.needs_input_grad[1]:
            x2 = self.x.reshape(-1, self.x.shape[-1])
            gw = g.reshape(-1, g.shape[-1]).T @ x2
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = g.reshape(-1, g.shape[-1]).sum(axis=0)
        return (gx, gw, gb)[:len(self.needs_input_grad)]


def linear(x, weight, bias=None):
    """y = x @ weight^T + bias, PyTorch's ``F.linear``; weight is (out_features, in_features). Inside
    tinynet.amp.autocast the three are cast to its dtype first (tinynet/functional/_autocast.py)."""
    x, weight, bias = _autocast.lower(x, weight, bias)
    return _autocast.lowered_output(Linear()(x, weight) if bias is None else Linear()(x, weight, bias))


