"""2-D convolution (cross-correlation, as every framework computes it) via im2col.

Shapes:  x (N, C, H, W),  weight (OC, C/G, kH, kW),  bias (OC,),  y (N, OC, OH, OW)
with G groups, stride (sH, sW), padding (pH, pW) and

    OH = floor((H + 2*pH - kH) / sH) + 1,   OW = floor((W + 2*pW - kW) / sW) + 1

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

The op keeps ``col`` from forward for dW (only when dW is needed), rather
than x: rebuilding it in backward would repeat the forward's im2col, about a
tenth of the layer's time. ``col`` is kH*kW/(sH*sW) times the size of x (a
few hundred MB for the seed AlexNet at batch 32). dx is not computed for an
input that needs no gradient (the image fed to the first layer).
"""
from kernels import col2im, conv_output_size, im2col, workspace
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, check_same_dtype, int_arg, pair

__all__ = ["conv2d"]


def conv_args(stride, padding, groups, where="conv2d"):
    """Check and normalise a convolution's stride (ints >= 1), padding (>= 0) and groups (>= 1):
    ((sH, sW), (pH, pW), G). ``where`` names the caller in the error (nn.Conv2d calls this too)."""
    return (pair(stride, "stride", where, low=1), pair(padding, "padding", where, low=0),
            int_arg(groups, "groups", where, low=1))


class Conv2d(Function):
    def __init__(self, stride=1, padding=0, groups=1):
        self.stride, self.padding, self.groups = conv_args(stride, padding, groups)

    def _check(self, x, w, b):
        if x.ndim != 4:
            raise ShapeError(
                f"conv2d expects a 4-D input (N, C, H, W), got a {x.ndim}-D input of shape {tuple(x.shape)}"
                + (" (add a batch dimension: x.reshape(1, *x.shape))" if x.ndim == 3 else "")
            )
        if w.ndim != 4:
            raise ShapeError(f"conv2d expects a 4-D weight (OC, C/groups, kH, kW), got shape {tuple(w.shape)}")
        N, C, H, W = x.shape
        OC, Cg, kH, kW = w.shape
        G = self.groups
        if C % G or OC % G:
            raise ShapeError(
                f"conv2d: groups={G} must divide both the input channels ({C}) and the output channels ({OC})"
            )
        if Cg * G != C:
            raise ShapeError(
                f"conv2d: expected input with {Cg * G} channels (weight {tuple(w.shape)}, groups={G}), "
                f"got {C} channels (input shape {tuple(x.shape)})"
            )
        pH, pW = self.padding
        if kH > H + 2 * pH or kW > W + 2 * pW:
            raise ShapeError(
                f"conv2d: kernel {kH}x{kW} is larger than the padded input {H + 2 * pH}x{W + 2 * pW} "
                f"(input {H}x{W}, padding {self.padding})"
            )
        if b is not None and b.shape != (OC,):
            raise ShapeError(f"conv2d: bias must have shape ({OC},), got {tuple(b.shape)}")
        check_same_dtype("conv2d", input=x, weight=w, bias=b)

    def forward(self, x, w, b=None):
        self._check(x, w, b)
        xp = get_array_module(x)
        N, C, H, W = x.shape
        OC, Cg, kH, kW = w.shape
        G = self.groups
        OH = conv_output_size(H, kH, self.stride[0], self.padding[0])
        OW = conv_output_size(W, kW, self.stride[1], self.padding[1])

        col = im2col(x, (kH, kW), self.stride, self.padding)  # (C*kH*kW, N*OH*OW)
        y_mat = _grouped_matmul(w.reshape(OC, Cg * kH * kW), col, G)  # (OC, N*OH*OW)
        # (OC, N, OH, OW) -> (N, OC, OH, OW), adding the bias in the same pass.
        y_cn = y_mat.reshape(OC, N, OH, OW).transpose(1, 0, 2, 3)
        y = workspace.empty((N, OC, OH, OW), y_mat.dtype, xp)
        if b is None:
            y[...] = y_cn
        else:
            xp.add(y_cn, b.reshape(1, OC, 1, 1), out=y)
        self.col = col if self.needs_input_grad[1] else None  # only dW needs the columns
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
            dcol = _grouped_matmul(w_t, g_mat, G, a_axis=1)  # (C*kH*kW, N*OH*OW)
            gx = col2im(dcol, self.x_shape, (kH, kW), self.stride, self.padding)
        if self.needs_input_grad[1]:
            gw = _grouped_matmul(g_mat, self.col.T, G, b_axis=1).reshape(self.w_shape)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gw, gb)[:len(self.needs_input_grad)]


def _grouped_matmul(a, b, groups, a_axis=0, b_axis=0):
    """Row block g of the result is a_g @ b_g: a_g is the g-th of ``groups`` equal blocks of ``a``
    along ``a_axis``, b_g that of ``b`` along ``b_axis``. One 2-D product per group, each written
    straight into its rows of the result; with one group, a single plain product. The result
is a kernels.workspace buffer (recycled from earlier steps once nothing uses it).

        forward  W @ col      blocks of W's rows,    col's rows
        dcol     W^T @ G      blocks of W^T's columns, G's rows
        dW       G @ col^T    blocks of G's rows,    col^T's columns
    """
    xp = get_array_module(a)
    dtype = xp.result_type(a.dtype, b.dtype)
    if groups == 1:
        return xp.matmul(a, b, out=workspace.empty((a.shape[0], b.shape[1]), dtype, xp))
    a_blocks = xp.split(a, groups, axis=a_axis)  # views
    b_blocks = xp.split(b, groups, axis=b_axis)
    rows = a_blocks[0].shape[0]
    out = workspace.empty((rows * groups, b_blocks[0].shape[1]), dtype, xp)
    for g, (a_g, b_g) in enumerate(zip(a_blocks, b_blocks)):
        xp.matmul(a_g, b_g, out=out[g * rows:(g + 1) * rows])
    return out

def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
    """2-D convolution over an (N, C, H, W) input, PyTorch's ``F.conv2d``.

    Args:
        x: (N, C, H, W) tensor.
        weight: (out_channels, in_channels/groups, kH, kW) tensor.
        bias: optional (out_channels,) tensor.
        stride, padding: int or (h, w) pair.
        groups: split channels into this many independent convolutions.

    Returns:
        (N, out_channels, OH, OW) tensor.
    """
    op = Conv2d(stride, padding, groups)
    return op(x, weight) if bias is None else op(x, weight, bias)
