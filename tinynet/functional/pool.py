"""2-D max pooling, including AlexNet's overlapping 3x3 stride-2 windows.

Shapes: x (N, C, H, W) -> y (N, C, OH, OW) with

    OH = floor((H + 2*pH - kH) / sH) + 1        (floor, as PyTorch with ceil_mode=False)

Forward:  y[n, c, oh, ow] = max over the window of x padded with -inf
Backward: dx[n, c, h, w] = sum of g[n, c, oh, ow] over the outputs whose
          window's maximum was at (h, w)

Only the winning offset inside each window is kept (one byte per output for
a 3x3 window), not the input. Where windows overlap, one input cell can win
several windows and then receives the sum of their gradients.
"""
from kernels import adaptive_pool_matrix, conv_output_size, maxpool_backward, maxpool_forward
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, pair

__all__ = ["max_pool2d", "adaptive_avg_pool2d"]


def max_pool_args(kernel_size, stride=None, padding=0, where="max_pool2d"):
    """Check and normalise max pooling's kernel_size and stride (ints >= 1; stride defaults to the
    kernel) and padding (0 to half the kernel): ((kH, kW), (sH, sW), (pH, pW)). ``where`` names the
    caller in the error (nn.MaxPool2d calls this too)."""
    kernel = pair(kernel_size, "kernel_size", where, low=1)
    stride = kernel if stride is None else pair(stride, "stride", where, low=1)
    padding = pair(padding, "padding", where, low=0)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(
            f"{where}: padding must be between 0 and half the kernel size, got padding {padding} "
            f"for kernel {kernel}"
        )
    return kernel, stride, padding


class MaxPool2d(Function):
    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size, self.stride, self.padding = max_pool_args(kernel_size, stride, padding)

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(
                f"max_pool2d expects a 4-D input (N, C, H, W), got a {x.ndim}-D input of shape {tuple(x.shape)}"
            )
        if x.dtype.kind != "f":
            raise TypeError(f"max_pool2d needs a floating-point input, got {x.dtype}")
        H, W = x.shape[2:]
        (kH, kW), (sH, sW), (pH, pW) = self.kernel_size, self.stride, self.padding
        if conv_output_size(H, kH, sH, pH) < 1 or conv_output_size(W, kW, sW, pW) < 1:
            raise ShapeError(
                f"max_pool2d: window {kH}x{kW} is larger than the padded input {H + 2 * pH}x{W + 2 * pW} "
                f"(input shape {tuple(x.shape)})"
            )
        self.x_shape = x.shape
        # Without a backward to come (no_grad, or an input that needs no gradient), only the maxima.
        y, self.argmax = maxpool_forward(x, self.kernel_size, self.stride, self.padding,
                                         with_argmax=self.needs_input_grad[0])
        return y

    def backward(self, gy):
        return maxpool_backward(gy, self.argmax, self.x_shape, self.kernel_size, self.stride, self.padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling over (N, C, H, W); ``stride`` defaults to ``kernel_size`` as in PyTorch."""
    return MaxPool2d(kernel_size, stride, padding)(x)


def adaptive_pool_size(output_size, where="adaptive_avg_pool2d"):
    """Check and normalise an adaptive pool's output size (ints >= 1): (OH, OW)."""
    return pair(output_size, "output_size", where, low=1)


class AdaptiveAvgPool2d(Function):
    """Average pooling to a fixed output size (OH, OW), whatever the input's H and W.

    Output cell (i, j) averages the input rows [floor(i*H/OH), ceil((i+1)*H/OH))
    and likewise the columns. With P_h (OH, H) and P_w (OW, W) the averaging
    matrices of ``kernels.adaptive_pool_matrix``:

        forward:   y = P_h @ x @ P_w^T          (per (n, c) map)
        backward:  dx = P_h^T @ g @ P_w

    When H and W are already OH and OW, both matrices are the identity and so
    is the op (torchvision's AlexNet at 224x224).
    """

    def __init__(self, output_size):
        self.output_size = adaptive_pool_size(output_size)

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(
                f"adaptive_avg_pool2d expects a 4-D input (N, C, H, W), got shape {tuple(x.shape)}"
            )
        xp = get_array_module(x)
        (OH, OW), (H, W) = self.output_size, x.shape[2:]
        self.p_h = adaptive_pool_matrix(H, OH, x.dtype, xp)
        self.p_w = adaptive_pool_matrix(W, OW, x.dtype, xp)
        return self.p_h @ (x @ self.p_w.T)

    def backward(self, g):
        return self.p_h.T @ (g @ self.p_w)


def adaptive_avg_pool2d(x, output_size):
    """Average-pool (N, C, H, W) to (N, C, *output_size), PyTorch's ``F.adaptive_avg_pool2d``."""
    return AdaptiveAvgPool2d(output_size)(x)
