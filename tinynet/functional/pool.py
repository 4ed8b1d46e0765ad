"""2-D pooling: max (AlexNet's overlapping 3x3 stride-2 windows, and dilated or ceil-mode ones), average,
and adaptive max and average. PyTorch's ``torch.nn.functional`` names, argument order and defaults.

Shapes: x (N, C, H, W) or unbatched (C, H, W) -> y (N, C, OH, OW) or (C, OH, OW), each channel pooled on
its own. With window kH x kW, stride (sH, sW) (defaults to the window), padding (pH, pW) and dilation
(dH, dW), the output size is kernels.sizes.conv_output_size, PyTorch's rule:

    OH = floor((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1        (ceil_mode: rounded up, see kernels/sizes.py)

Window (oh, ow) reads the taps h = oh*sH - pH + i*dH, w = ow*sW - pW + j*dW (i < kH, j < kW).

max_pool2d (docs/max_pool2d.md)
    forward:  y[n, c, oh, ow] = max over the window's taps of x padded with -inf
    backward: dx[n, c, h, w] = sum of g[n, c, oh, ow] over the outputs whose maximum was at (h, w)
    Only the winning offset inside each window is kept (one byte per output for a 3x3 window),
    not the input. Where windows overlap, one cell can win several windows and receives the sum
    of their gradients.

avg_pool2d (docs/avg_pool2d.md)
    forward:  y[n, c, oh, ow] = (sum of the window's cells of x padded with 0) / divisor[oh, ow]
    backward: dx[n, c, h, w] = sum over the windows holding (h, w) of g[n, c, oh, ow] / divisor[oh, ow]
    The divisor follows PyTorch's rules (kernels.avg_pool.avgpool_divisor); the op keeps it (OH x OW).

adaptive_avg_pool2d, adaptive_max_pool2d (docs/adaptive_pool2d.md)
    output cell (i, j) pools the rows [floor(i*H/OH), ceil((i+1)*H/OH)) and likewise the columns.
"""
from kernels.adaptive_pool import adaptive_maxpool_backward, adaptive_maxpool_forward, adaptive_pool_matrix
from kernels.avg_pool import avgpool_backward, avgpool_divisor, avgpool_forward
from kernels.pool import maxpool_backward, maxpool_forward, maxpool_indices
from kernels.sizes import conv_output_size
from tinynet._tensor import Tensor
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, flag_arg, pair
from tinynet.validate import is_int

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d"]


# --- arguments -------------------------------------------------------------------------------------------

def _window_args(kernel_size, stride, padding, where):
    """kernel_size and stride (ints >= 1, the stride defaulting to the kernel) and padding (0 up to half
    the kernel, PyTorch's check: every window then holds a real cell without dilation)."""
    kernel = pair(kernel_size, "kernel_size", where, low=1)
    stride = kernel if stride is None else pair(stride, "stride", where, low=1)
    padding = pair(padding, "padding", where, low=0)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(
            f"{where}: padding must be between 0 and half the kernel size, got padding {padding} "
            f"for kernel {kernel}"
        )
    return kernel, stride, padding


def max_pool_args(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
                  where="max_pool2d"):
    """Check and normalise max pooling's arguments: ((kH, kW), (sH, sW), (pH, pW), (dH, dW), ceil_mode,
    return_indices). ``where`` names the caller in the error (nn.MaxPool2d calls this too)."""
    kernel, stride, padding = _window_args(kernel_size, stride, padding, where)
    dilation = pair(dilation, "dilation", where, low=1)
    return (kernel, stride, padding, dilation, flag_arg(ceil_mode, "ceil_mode", where),
            flag_arg(return_indices, "return_indices", where))


def avg_pool_args(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                  divisor_override=None, where="avg_pool2d"):
    """Check and normalise average pooling's arguments: ((kH, kW), (sH, sW), (pH, pW), ceil_mode,
    count_include_pad, divisor_override). divisor_override is None or a nonzero int (negative allowed,
    as in PyTorch). ``where`` names the caller in the error (nn.AvgPool2d calls this too)."""
    kernel, stride, padding = _window_args(kernel_size, stride, padding, where)
    if divisor_override is not None:
        if not is_int(divisor_override):
            raise TypeError(f"{where}: divisor_override must be None or a nonzero int, got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError(f"{where}: divisor_override must be None or a nonzero int, got 0")
        divisor_override = int(divisor_override)
    return (kernel, stride, padding, flag_arg(ceil_mode, "ceil_mode", where),
            flag_arg(count_include_pad, "count_include_pad", where), divisor_override)


def adaptive_pool_size(output_size, where="adaptive_avg_pool2d"):
    """Check and normalise an adaptive pool's output size: an int >= 1, or a pair whose entries are
    ints >= 1 or None (None: that dimension of the input, as in PyTorch). Returns (OH, OW)."""
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2 and None in output_size:
        known = [v for v in output_size if v is not None]
        if all(is_int(v) and v >= 1 for v in known):
            return tuple(None if v is None else int(v) for v in output_size)
        rule = "an int >= 1 or a pair of them (an entry may be None: the input's size)"
        error = TypeError if not all(is_int(v) for v in known) else ValueError
        raise error(f"{where}: output_size must be {rule}, got {output_size!r}")
    return pair(output_size, "output_size", where, low=1)


def _resolve(size, H, W):
    """An adaptive output size with None entries replaced by the input's H or W."""
    return (H if size[0] is None else size[0], W if size[1] is None else size[1])


# --- inputs ----------------------------------------------------------------------------------------------

def _batched(x, where):
    """``x`` as (N, C, H, W): a (C, H, W) input gets a batch of one. Checks the input and says what it got."""
    if x.ndim not in (3, 4):
        raise ShapeError(
            f"{where} expects a 4-D input (N, C, H, W) or a 3-D one (C, H, W), got a {x.ndim}-D input of "
            f"shape {tuple(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expects a floating-point input, got {x.dtype}")
    if 0 in x.shape[-3:]:
        raise ShapeError(f"{where}: the channel, height and width of the input must be nonzero, got shape "
                         f"{tuple(x.shape)}")
    return x if x.ndim == 4 else x.reshape(1, *x.shape)


def _unbatch(a, ndim):
    """An (N, C, OH, OW) result back to (C, OH, OW) for a 3-D input."""
    return a if ndim == 4 else a.reshape(a.shape[1:])


def _check_fits(where, x_shape, kernel, stride, padding, dilation, ceil_mode):
    """(OH, OW), or a ShapeError if no window fits the padded input."""
    H, W = x_shape[-2:]
    OH = conv_output_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    OW = conv_output_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if OH < 1 or OW < 1:
        spread = "" if dilation == (1, 1) else (
            f" (dilation {dilation}: spanning {dilation[0] * (kernel[0] - 1) + 1}x{dilation[1] * (kernel[1] - 1) + 1})")
        raise ShapeError(
            f"{where}: window {kernel[0]}x{kernel[1]}{spread} is larger than the padded input "
            f"{H + 2 * padding[0]}x{W + 2 * padding[1]} (input shape {tuple(x_shape)})"
        )
    return OH, OW


# --- max pooling -----------------------------------------------------------------------------------------

class MaxPool2d(Function):
    """Max pooling (see the module docstring). Keeps the winning offsets (``argmax``, uint8 for up to
    256 offsets) and the input's shape; with ``return_indices`` also hands out PyTorch's indices
    (int64 flat positions h*W + w in each plane), which backward does not need."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
         self.return_indices) = max_pool_args(kernel_size, stride, padding, dilation, ceil_mode, return_indices)

    def forward(self, x):
        x4 = _batched(x, "max_pool2d")
        _check_fits("max_pool2d", x.shape, self.kernel_size, self.stride, self.padding, self.dilation,
                    self.ceil_mode)
        self.x_shape, self.ndim = x4.shape, x.ndim
        config = (self.kernel_size, self.stride, self.padding)
        # Without a backward to come (no_grad, or an input that needs no gradient), and no indices
        # asked for, only the maxima.
        y, argmax = maxpool_forward(x4, *config, with_argmax=self.needs_input_grad[0] or self.return_indices,
                                    dilation=self.dilation, ceil_mode=self.ceil_mode)
        if self.return_indices:
            self.indices_out = _unbatch(maxpool_indices(argmax, x4.shape, *config, self.dilation), x.ndim)
        self.argmax = argmax if self.needs_input_grad[0] else None
        return _unbatch(y, x.ndim)

    def backward(self, gy):
        g4 = gy if self.ndim == 4 else gy.reshape(1, *gy.shape)
        gx = maxpool_backward(g4, self.argmax, self.x_shape, self.kernel_size, self.stride, self.padding,
                              self.dilation)
        return _unbatch(gx, self.ndim)


def _with_indices(op, y):
    """(y, indices) with the op's indices as a Tensor of their own (int64, needing no gradient)."""
    return y, Tensor._wrap(op.__dict__.pop("indices_out"))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling over (N, C, H, W) or (C, H, W), PyTorch's ``F.max_pool2d``: ``stride`` defaults to
    ``kernel_size``, padding is -inf and at most half the kernel. With ``return_indices``, returns
    (output, indices), indices int64 of the output's shape holding each maximum's position h*W + w in
    its (n, c) plane of the unpadded input."""
    op = MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    y = op(input)
    return _with_indices(op, y) if op.return_indices else y


# --- average pooling -------------------------------------------------------------------------------------

class AvgPool2d(Function):
    """Average pooling (see the module docstring). Keeps the (OH, OW) divisors and the input's shape."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
         self.divisor_override) = avg_pool_args(kernel_size, stride, padding, ceil_mode, count_include_pad,
                                                divisor_override)

    def forward(self, x):
        x4 = _batched(x, "avg_pool2d")
        out = _check_fits("avg_pool2d", x.shape, self.kernel_size, self.stride, self.padding, (1, 1),
                          self.ceil_mode)
        divisor = avgpool_divisor(x4.shape[2:], out, self.kernel_size, self.stride, self.padding,
                                  self.count_include_pad, self.divisor_override, x.dtype, get_array_module(x))
        if self.needs_input_grad[0]:
            self.x_shape, self.ndim, self.divisor = x4.shape, x.ndim, divisor
        return _unbatch(avgpool_forward(x4, self.kernel_size, self.stride, self.padding, divisor), x.ndim)

    def backward(self, gy):
        g4 = gy if self.ndim == 4 else gy.reshape(1, *gy.shape)
        gx = avgpool_backward(g4, self.x_shape, self.kernel_size, self.stride, self.padding, self.divisor)
        return _unbatch(gx, self.ndim)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling over (N, C, H, W) or (C, H, W), PyTorch's ``F.avg_pool2d``: ``stride`` defaults
    to ``kernel_size``, padding is 0 and at most half the kernel. Each window's sum is divided by
    ``divisor_override`` if given, else by its cells inside input + padding (``count_include_pad``,
    the default; under ``ceil_mode`` a window hanging past the padded edge counts only the part inside),
    else by its cells inside the input."""
    return AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)(input)


# --- adaptive pooling ------------------------------------------------------------------------------------

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
        _batched(x, "adaptive_avg_pool2d")
        xp = get_array_module(x)
        H, W = x.shape[-2:]
        OH, OW = _resolve(self.output_size, H, W)
        self.p_h = adaptive_pool_matrix(H, OH, x.dtype, xp)
        self.p_w = adaptive_pool_matrix(W, OW, x.dtype, xp)
        return self.p_h @ (x @ self.p_w.T)  # (C, H, W) and (N, C, H, W) alike: matmul broadcasts

    def backward(self, g):
        return self.p_h.T @ (g @ self.p_w)


def adaptive_avg_pool2d(input, output_size):
    """Average-pool (N, C, H, W) or (C, H, W) to (..., OH, OW), PyTorch's ``F.adaptive_avg_pool2d``;
    an entry of ``output_size`` may be None (keep that dimension)."""
    return AdaptiveAvgPool2d(output_size)(input)


class AdaptiveMaxPool2d(Function):
    """Max pooling to a fixed output size (OH, OW): output cell (i, j) is the maximum over the rows
    [floor(i*H/OH), ceil((i+1)*H/OH)) and the columns [floor(j*W/OW), ceil((j+1)*W/OW)).

        forward:   y[o] = x[a(o)],  a(o) the first maximum of o's bin (the last NaN, if any)
        backward:  dx[p] = sum of g[o] over the outputs with a(o) = p

    Keeps a as int64 flat positions h*W + w in each plane (kernels.adaptive_maxpool_forward).
    """

    def __init__(self, output_size, return_indices=False):
        self.output_size = adaptive_pool_size(output_size, "adaptive_max_pool2d")
        self.return_indices = flag_arg(return_indices, "return_indices", "adaptive_max_pool2d")

    def forward(self, x):
        x4 = _batched(x, "adaptive_max_pool2d")
        y, indices = adaptive_maxpool_forward(x4, _resolve(self.output_size, *x4.shape[2:]))
        if self.needs_input_grad[0]:
            self.x_shape, self.ndim, self.indices = x4.shape, x.ndim, indices
        if self.return_indices:  # the user's own copy when backward keeps one too
            self.indices_out = _unbatch(indices.copy() if self.needs_input_grad[0] else indices, x.ndim)
        return _unbatch(y, x.ndim)

    def backward(self, gy):
        g4 = gy if self.ndim == 4 else gy.reshape(1, *gy.shape)
        return _unbatch(adaptive_maxpool_backward(g4, self.indices, self.x_shape), self.ndim)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max-pool (N, C, H, W) or (C, H, W) to (..., OH, OW), PyTorch's ``F.adaptive_max_pool2d``; an entry
    of ``output_size`` may be None (keep that dimension). With ``return_indices``, returns (output,
    indices) as ``max_pool2d`` does."""
    op = AdaptiveMaxPool2d(output_size, return_indices)
    y = op(input)
    return _with_indices(op, y) if op.return_indices else y
