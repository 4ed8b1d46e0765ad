"""2-D convolution (cross-correlation, as every framework computes it) via im2col.

Shapes:  x (N, C, H, W),  weight (OC, C/G, kH, kW),  bias (OC,),  y (N, OC, OH, OW)
with G groups, stride (sH, sW), padding (pH, pW) and

    OH = floor((H + 2*pH - kH) / sH) + 1,   OW = floor((W + 2*pW - kW) / sW) + 1

Forward
    col = im2col(x)                        (C*kH*kW, N*OH*OW)
    for each group g (a block of C/G channels in, OC/G channels out):
        Y_g = W_g @ col_g                  (OC/G, C/G*kH*kW) @ (C/G*kH*kW, N*OH*OW)
    y = Y.reshape(OC, N, OH, OW).transpose(1, 0, 2, 3) + bias

Backward, with G = dL/dy laid out as (OC, N*OH*OW):
    dW_g   = G_g @ col_g^T                 (OC/G, C/G*kH*kW) -> reshape to (OC/G, C/G, kH, kW)
    dcol_g = W_g^T @ G_g                   (C/G*kH*kW, N*OH*OW)
    dx     = col2im(dcol)                  (N, C, H, W): overlapping windows add up
    dbias  = G summed over N, OH, OW

The op keeps x and W, not the column matrix: backward rebuilds ``col`` from x
(only when dW is needed), so the C*kH*kW-fold expansion is not held between
forward and backward. dx is not computed for an input that needs no gradient
(the image fed to the first layer).
"""
from kernels import col2im, conv_output_size, im2col
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional._util import ShapeError, check_same_dtype, pair


class Conv2d(Function):
    def __init__(self, stride=1, padding=0, groups=1):
        self.stride = pair(stride, "stride", "conv2d")
        self.padding = pair(padding, "padding", "conv2d")
        self.groups = int(groups)
        if min(self.stride) < 1:
            raise ValueError(f"conv2d: stride must be >= 1, got {stride}")
        if min(self.padding) < 0:
            raise ValueError(f"conv2d: padding must be >= 0, got {padding}")
        if self.groups < 1:
            raise ValueError(f"conv2d: groups must be >= 1, got {groups}")

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
        w_mat = w.reshape(G, OC // G, Cg * kH * kW)
        col_g = col.reshape(G, Cg * kH * kW, N * OH * OW)  # a view: groups are row blocks
        y = xp.matmul(w_mat, col_g)  # (G, OC/G, N*OH*OW), one product per group
        y = xp.ascontiguousarray(y.reshape(OC, N, OH, OW).transpose(1, 0, 2, 3))
        if b is not None:
            y += b.reshape(1, OC, 1, 1)
        self.x = x if self.needs_input_grad[1] else None  # only dW needs x
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
        # (N, OC, OH, OW) -> (G, OC/G, N*OH*OW), the layout of Y in forward.
        g_mat = xp.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(G, OC // G, N * OH * OW)

        gx = gw = gb = None
        if self.needs_input_grad[0]:
            w_mat = self.w.reshape(G, OC // G, Cg * kH * kW)
            dcol = xp.matmul(w_mat.transpose(0, 2, 1), g_mat)  # (G, Cg*kH*kW, N*OH*OW)
            gx = col2im(dcol.reshape(C * kH * kW, N * OH * OW), self.x_shape, (kH, kW), self.stride, self.padding)
        if self.needs_input_grad[1]:
            col_g = im2col(self.x, (kH, kW), self.stride, self.padding).reshape(G, Cg * kH * kW, N * OH * OW)
            gw = xp.matmul(g_mat, col_g.transpose(0, 2, 1)).reshape(self.w_shape)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gw, gb)[:len(self.needs_input_grad)]


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
