"""2-D convolution (cross-correlation, as every framework computes it) via im2col.

Shapes:  x (N, C, H, W) or unbatched (C, H, W),  weight (OC, C/G, kH, kW),  bias (OC,),
         y (N, OC, OH, OW) (unbatched: (OC, OH, OW))
with G groups, stride (sH, sW), padding (pH, pW), dilation (dH, dW) and (kernels/sizes.py)

    OH = floor((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1,   OW likewise

Dilation spaces the kernel's taps dH rows and dW columns apart. padding="valid" is 0;
padding="same" (stride 1 only) pads dH*(kH - 1) rows in all, half above and the odd one below
(columns likewise), so OH = H and OW = W: the symmetric half goes to im2col, and an odd extra row
or column (even kernels only) comes from a zero pad of the input first (tinynet.functional.padding).

Forward
    col = im2col(x)                        (C*kH*kW, N*OH*OW)
    for each group g (a block of C/G channels in, OC/G channels out):
        Y_g = W_g @ col_g                  (OC/G, C/G*kH*kW) @ (C/G*kH*kW, N*OH*OW)
    y = Y.reshape(OC, N, OH, OW).transpose(1, 0, 2, 3) + bias     (one pass)

Backward, with G = dL/dy laid out as (OC, N*OH*OW):
    dW_g   = G_g @ col_g^T                 (OC/G, C/G*kH*kW) -> reshape to (OC/G, C/G, kH, kW)
    dcol_g = W_g^T @ G_g                   (C/G*kH*kW, N*OH*OW)
    dx     = col2im(dcol)                  (N, C, H, W): overlapping windows add up
    dbias  = G summed over N, OH, OW

Every product is one plain 2-D matrix product per group on contiguous row
blocks (groups slice rows of ``col`` and ``W``, never columns). The
transposes W_g^T and col_g^T are views that BLAS (and cuBLAS) read with a
transpose flag, so no operand is copied; a batched 3-D ``matmul`` would make
CuPy copy a transposed operand and skip TF32.

For dW the op keeps x and rebuilds ``col`` in backward (``KEEP_COLUMNS``
False, the default), rather than keeping ``col`` from forward: ``col`` is
kH*kW/(sH*sW) times the size of x (7x for conv1 of the seed AlexNet, 25x for
a 5x5 stride-1 layer: hundreds of MB at batch 32), where x is often kept
anyway (the image; the input of the next op), and the rebuild repeats one
im2col, a small part of the layer's time (benchmarks/memory.py measures both).
dx is not computed for an input that needs no gradient (the image fed to the
first layer).
"""
import numpy as np

import kernels
from kernels import blas, col2im, conv_output_size, im2col, workspace
from tinynet._tensor import Tensor
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional import _autocast
from tinynet.functional._util import ShapeError, check_same_dtype, int_arg, pair
from tinynet.functional.padding import pad

__all__ = ["conv2d"]

PADDING_STRINGS = ("valid", "same")


def conv_args(stride, padding, dilation, groups, where="conv2d"):
    """Check and normalise a convolution's stride (ints >= 1), padding (ints >= 0, "valid" or "same"),
    dilation (ints >= 1) and groups (>= 1): ((sH, sW), (pH, pW) or the string, (dH, dW), G).
    ``where`` names the caller in the error (nn.Conv2d calls this too)."""
    stride = pair(stride, "stride", where, low=1)
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError(f"{where}: padding must be 'valid', 'same', an int >= 0 or a pair of them, "
                             f"got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError(f"{where}: padding='same' is not supported for strided convolutions, "
                             f"got stride={stride}")
    else:
        padding = pair(padding, "padding", where, low=0)
    return stride, padding, pair(dilation, "dilation", where, low=1), int_arg(groups, "groups", where, low=1)


KEEP_COLUMNS = False  # True: keep im2col's columns from forward for dW instead of x (more memory, one im2col less)


def same_padding(kernel_size, dilation):
    """((top, bottom), (left, right)) of padding="same": a window spans d*(k - 1) + 1 cells, so
    d*(k - 1) cells of padding in all keep the size; half before, the odd one (if any) after."""
    sides = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        sides.append((total // 2, total - total // 2))
    return tuple(sides)


def check_operands(x, w, b, padding, dilation, groups):
    """ShapeError (or a dtype error) naming conv2d unless x (N, C, H, W), w (OC, C/groups, kH, kW) and b (OC,)
    make a convolution with this padding and dilation (pairs) and groups: every algorithm's check."""
    if x.ndim != 4:
        raise ShapeError(
            f"conv2d expects a 3-D (C, H, W) or 4-D (N, C, H, W) input, got a {x.ndim}-D input "
            f"of shape {tuple(x.shape)}"
        )
    if w.ndim != 4:
        raise ShapeError(f"conv2d expects a 4-D weight (OC, C/groups, kH, kW), got shape {tuple(w.shape)}")
    N, C, H, W = x.shape
    OC, Cg, kH, kW = w.shape
    G = groups
    if C % G or OC % G:
        raise ShapeError(
            f"conv2d: groups={G} must divide both the input channels ({C}) and the output channels ({OC})"
        )
    if Cg * G != C:
        raise ShapeError(
            f"conv2d: expected input with {Cg * G} channels (weight {tuple(w.shape)}, groups={G}), "
            f"got {C} channels (input shape {tuple(x.shape)})"
        )
    (pH, pW), (dH, dW) = padding, dilation
    spanH, spanW = dH * (kH - 1) + 1, dW * (kW - 1) + 1  # the rows and columns one window covers
    if spanH > H + 2 * pH or spanW > W + 2 * pW:
        spans = "" if (dH, dW) == (1, 1) else f" (dilation {dilation}: it spans {spanH}x{spanW})"
        raise ShapeError(
            f"conv2d: kernel {kH}x{kW}{spans} is larger than the padded input {H + 2 * pH}x{W + 2 * pW} "
            f"(input {H}x{W}, padding {padding})"
        )
    if b is not None and b.shape != (OC,):
        raise ShapeError(f"conv2d: bias must have shape ({OC},), got {tuple(b.shape)}")
    check_same_dtype("conv2d", input=x, weight=w, bias=b)


class Conv2d(Function):
    """The batched op: stride, padding, dilation as (h, w) pairs of ints, groups an int (checked
    by ``conv_args``; ``conv2d`` resolves "valid", "same" and an unbatched input first)."""

    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def _check(self, x, w, b):
        check_operands(x, w, b, self.padding, self.dilation, self.groups)

    def forward(self, x, w, b=None):
        self._check(x, w, b)
        xp = get_array_module(x)
        N, C, H, W = x.shape
        OC, Cg, kH, kW = w.shape
        G = self.groups
        OH = conv_output_size(H, kH, self.stride[0], self.padding[0], self.dilation[0])
        OW = conv_output_size(W, kW, self.stride[1], self.padding[1], self.dilation[1])

        # Inside autocast(bfloat16) the three products go through the bfloat16 GEMM (kernels.matmul_bfloat16;
        # their operands are on bfloat16's grid: the input, the weight and the upstream gradient are rounded).
        # The columns are then made from the input's bfloat16 words (16 bits each: half the bytes to write,
        # keep for dW and read, and the largest operand needs no conversion before the GEMM).
        self.bf16 = _autocast.active() == _autocast.BFLOAT16 and x.dtype == np.float32
        x_in = kernels.to_bfloat16_bits(x) if self.bf16 else x  # exact: x is on the grid
        col = im2col(x_in, (kH, kW), self.stride, self.padding, self.dilation)  # (C*kH*kW, N*OH*OW)
        y_mat = _grouped_matmul(w.reshape(OC, Cg * kH * kW), col, G, bfloat16=self.bf16)  # (OC, N*OH*OW)
        # (OC, N, OH, OW) -> (N, OC, OH, OW), adding the bias in the same pass.
        y_cn = y_mat.reshape(OC, N, OH, OW).transpose(1, 0, 2, 3)
        y = workspace.empty((N, OC, OH, OW), y_mat.dtype, xp)
        if b is None:
            y[...] = y_cn
        else:
            xp.add(y_cn, b.reshape(1, OC, 1, 1), out=y)
        # Only dW needs the columns: kept, or rebuilt in backward from the input (see the module's docstring).
        self.col = col if self.needs_input_grad[1] and KEEP_COLUMNS else None
        self.x_in = x_in if self.needs_input_grad[1] and not KEEP_COLUMNS else None
        self.x_shape = x.shape
        self.w = w if self.needs_input_grad[0] else None  # only dx needs W
        self.w_shape = w.shape
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        N, C, H, W = self.x_shape
        OC, Cg, kH, kW = self.w_shape
        G = self.groups
        OH, OW = gy.shape[2], gy.shape[3]
        # (N, OC, OH, OW) -> (OC, N*OH*OW), the layout of Y in forward.
        g_mat = workspace.empty((OC, N, OH, OW), gy.dtype, xp)
        g_mat[...] = gy.transpose(1, 0, 2, 3)
        g_mat = g_mat.reshape(OC, N * OH * OW)

        gx = gw = gb = None
        if self.needs_input_grad[0]:
            w_t = self.w.reshape(OC, Cg * kH * kW).T  # (Cg*kH*kW, OC), a view
            dcol = _grouped_matmul(w_t, g_mat, G, a_axis=1, bfloat16=self.bf16)  # (C*kH*kW, N*OH*OW)
            gx = col2im(dcol, self.x_shape, (kH, kW), self.stride, self.padding, self.dilation)
            del dcol  # its buffer free now: the columns rebuilt below land in it (kernels/workspace.py)
        if self.needs_input_grad[1]:
            col = self.col if self.col is not None else im2col(self.x_in, (kH, kW), self.stride, self.padding,
                                                                 self.dilation)
            gw = _grouped_matmul(g_mat, col.T, G, b_axis=1, bfloat16=self.bf16).reshape(self.w_shape)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gw, gb)[:len(self.needs_input_grad)]


def _bfloat16_product(a, b, out):
    """out[...] = a @ b through the bfloat16 GEMM (on the GPU; the operands are on bfloat16's grid)."""
    xp = get_array_module(a)
    out[...] = kernels.matmul_bfloat16(xp.ascontiguousarray(a), xp.ascontiguousarray(b), on_grid=True)
    return out


def _grouped_matmul(a, b, groups, a_axis=0, b_axis=0, bfloat16=False):
    """Row block g of the result is a_g @ b_g: a_g is the g-th of ``groups`` equal blocks of ``a``
    along ``a_axis``, b_g that of ``b`` along ``b_axis``. One 2-D product per group, each written
    straight into its rows of the result; with one group, a single plain product. The result
is a kernels.workspace buffer (recycled from earlier steps once nothing uses it).

        forward  W @ col      blocks of W's rows,    col's rows
        dcol     W^T @ G      blocks of W^T's columns, G's rows
        dW       G @ col^T    blocks of G's rows,    col^T's columns
    """
    xp = get_array_module(a)
    dtype = np.float32 if bfloat16 else xp.result_type(a.dtype, b.dtype)  # bfloat16: float32 sums of words
    product = _bfloat16_product if bfloat16 else blas.matmul  # host: split over our threads (kernels/blas.py)
    if groups == 1:
        return product(a, b, workspace.empty((a.shape[0], b.shape[1]), dtype, xp))
    a_blocks = xp.split(a, groups, axis=a_axis)  # views
    b_blocks = xp.split(b, groups, axis=b_axis)
    rows = a_blocks[0].shape[0]
    out = workspace.empty((rows * groups, b_blocks[0].shape[1]), dtype, xp)
    for g, (a_g, b_g) in enumerate(zip(a_blocks, b_blocks)):
        product(a_g, b_g, out[g * rows:(g + 1) * rows])
    return out

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm="im2col"):
    """2-D convolution, PyTorch's ``F.conv2d`` (same arguments, order and defaults; ``algorithm`` is tinynet's).

    Args:
        input: (N, C, H, W) tensor, or (C, H, W) for one unbatched image.
        weight: (out_channels, in_channels/groups, kH, kW) tensor.
        bias: optional (out_channels,) tensor.
        stride: int or (h, w) pair, >= 1.
        padding: int or (h, w) pair of zeros on each side, or "valid" (no padding) or "same"
            (output as large as the input; stride 1 only).
        dilation: int or (h, w) pair, >= 1: the spacing of the kernel's taps.
        groups: split the channels into this many independent convolutions.
        algorithm: "im2col" (the default here), "winograd" (3x3 and 5x5 kernels, stride 1, no dilation:
            tinynet/functional/winograd.py) or "auto" (the fastest for these shapes, timed once; nn.Conv2d's
            default): tinynet/functional/conv_choice.py.

    Returns:
        (N, out_channels, OH, OW) tensor ((out_channels, OH, OW) for an unbatched input).
    """
    stride, padding, dilation, groups = conv_args(stride, padding, dilation, groups)
    unbatched = getattr(input, "ndim", None) == 3
    if unbatched:  # one image: a batch of one, and the batch dimension dropped from the result
        input = input.reshape(1, *input.shape)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        if getattr(weight, "ndim", None) != 4:
            raise ShapeError(f"conv2d expects a 4-D weight (OC, C/groups, kH, kW), got shape "
                             f"{tuple(getattr(weight, 'shape', ()))}")
        (top, bottom), (left, right) = same_padding(weight.shape[2:], dilation)
        if bottom != top or right != left:  # an even kernel: the odd cell below / to the right
            input = pad(input, (0, right - left, 0, bottom - top))
        padding = (top, left)
    if algorithm not in ("auto", "im2col", "winograd"):
        raise ValueError(f"conv2d: algorithm must be 'auto', 'im2col' or 'winograd', got {algorithm!r}")
    input, weight, bias = _autocast.lower(input, weight, bias)  # inside tinynet.amp.autocast: its dtype
    op = Conv2d(stride, padding, dilation, groups)
    x_arr, w_arr = (t.data if isinstance(t, Tensor) else t for t in (input, weight))
    if all(hasattr(a, "shape") and hasattr(a, "dtype") for a in (x_arr, w_arr)):  # (else refused by the op)
        from tinynet.functional import conv_choice

        check_operands(x_arr, w_arr, getattr(bias, "data", bias), padding, dilation, groups)  # the shapes first
        if _autocast.active() == _autocast.BFLOAT16:  # bfloat16: im2col, whose products take bfloat16 words
            algorithm = "im2col"
        name = conv_choice.resolve(algorithm, x_arr, w_arr, stride, padding, dilation, groups,
                                   input_grad=getattr(input, "requires_grad", False))  # (noted as used)
        if name != "im2col":
            op = conv_choice.make_op(name, stride, padding, dilation, groups)
    y = _autocast.lowered_output(op(input, weight) if bias is None else op(input, weight, bias))
    return y.reshape(y.shape[1:]) if unbatched else y
