"""Normalisation ops: local response norm (here), batch norm (batchnorm.py) and layer norm (layernorm.py).

Local response normalisation across channels (AlexNet, section 3.3).

For x (N, C, ...) and a window of ``size`` channels, PyTorch's convention:

    s[n, c] = k + (alpha / size) * sum_{c' = c - size//2}^{c + (size-1)//2} x[n, c']^2
    y[n, c] = x[n, c] * s[n, c]^(-beta)

Channels outside [0, C) count as zero. Note that alpha is divided by ``size``.
The paper writes b = a / (k + alpha * sum a^2)^beta with no division, so the
paper's constants (k=2, n=5, alpha=1e-4, beta=0.75) are, in this convention,
size=5, k=2, beta=0.75 and alpha = 5 * 1e-4 = 5e-4.

Backward: y_i depends on x_j through s_i for every j in i's window, so

    dx_j = g_j * s_j^(-beta)
           - (2 * alpha * beta / size) * x_j * sum_{i : j in window(i)} g_i * x_i * s_i^(-beta - 1)

and "i such that j is in i's window" is the window mirrored: it reaches
(size-1)//2 channels back and size//2 forward (the same window when size is odd).
"""
from kernels import lrn_backward, lrn_forward
from tinynet.autograd import Function
from tinynet.functional import _autocast
from tinynet.functional._util import ShapeError, int_arg
from tinynet.functional.batchnorm import batch_norm
from tinynet.functional.layernorm import layer_norm
from tinynet.validate import check_number

__all__ = ["local_response_norm", "batch_norm", "layer_norm"]


def lrn_args(size, alpha, beta, k, where="local_response_norm"):
    """Check and normalise LRN's size (an int >= 1) and alpha, beta, k (finite numbers):
    (size, alpha, beta, k). ``where`` names the caller in the error (nn.LocalResponseNorm calls this too)."""
    size = int_arg(size, "size", where, low=1)
    alpha, beta, k = (float(check_number(f"{where}: {name}", value))
                      for name, value in (("alpha", alpha), ("beta", beta), ("k", k)))
    return size, alpha, beta, k


class LocalResponseNorm(Function):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        self.size, self.alpha, self.beta, self.k = lrn_args(size, alpha, beta, k)

    def forward(self, x):
        if x.ndim < 3:
            raise ShapeError(
                f"local_response_norm expects an input of 3 or more dimensions (N, C, ...), got shape "
                f"{tuple(x.shape)}"
            )
        # s and y as above: window sums of x^2 (kernels.lrn_forward; one fused kernel on the GPU).
        y, self.s = lrn_forward(x, self.size, self.alpha, self.beta, self.k)
        self.x = x
        return y

    def backward(self, g):
        # dx as above, the mirrored window summed by kernels.lrn_backward.
        return lrn_backward(g, self.x, self.s, self.size, self.alpha, self.beta)


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0, *, groups=1):
    """Normalise each element by the energy of its ``size`` neighbouring channels (PyTorch's convention);
    in float32 inside tinynet.amp.autocast.

    ``groups`` (a tinynet addition; 1 is PyTorch's form): the C channels split into that many contiguous
    blocks of C / groups, each normalised over its own channels only (a window stops at its block's edge),
    as each of the paper's two GPUs normalised its own half of the kernel maps.
    """
    x, = _autocast.to_float32(x)
    groups = int_arg(groups, "groups", "local_response_norm", low=1)
    if groups == 1:
        return LocalResponseNorm(size, alpha, beta, k)(x)
    c = x.shape[1] if getattr(x, "ndim", 0) >= 3 else None
    if c is None or c % groups:
        raise ShapeError(f"local_response_norm: groups={groups} must divide the channels (axis 1) of an input "
                         f"(N, C, ...), got shape {tuple(getattr(x, 'shape', ()))}")
    n = x.shape[0]
    per = x.reshape(n * groups, c // groups, *x.shape[2:])  # block g of sample i is row i * groups + g
    return LocalResponseNorm(size, alpha, beta, k)(per).reshape(x.shape)
