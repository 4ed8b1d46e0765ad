"""im2col and col2im: a convolution as one matrix product.

Notation: input x (N, C, H, W), kernel kH x kW, stride (sH, sW), padding
(pH, pW), output OH x OW with

    OH = floor((H + 2*pH - kH) / sH) + 1      (same for OW)

Column layout. ``im2col`` returns ``col`` of shape (C*kH*kW, N*OH*OW):

    col[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh*sH + i, ow*sW + j]

Rows are ordered (c, i, j), exactly the order of a weight (OC, C, kH, kW)
flattened to (OC, C*kH*kW), so the convolution is ``W_flat @ col`` with no
transpose of either operand, and the rows of one group of channels form one
contiguous block (groups slice rows, never columns).

Both functions loop only over the kH*kW kernel offsets: for a fixed offset
(i, j) the column block col[:, i, j, :] is one strided slice of the padded
input, copied in one go. col2im adds those same slices back with ``+=``; a
fixed offset never touches the same input pixel twice, so plain slice
accumulation is exact (no ``np.add.at``).

To make each slice copy line up with the column layout, the padded input is
first transposed once to (C, N, H_pad, W_pad); a slice of it at offset (i, j)
then has exactly the (C, N, OH, OW) layout of col[:, i, j].
"""
from kernels import cuda as _cuda
from kernels import workspace
from kernels.array import get_array_module


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """floor((size + 2*padding - kernel) / stride) + 1 (may be <= 0 if the kernel does not fit)."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, kernel_size, stride, padding):
    """Unfold sliding windows of ``x`` into columns.

    Args:
        x: (N, C, H, W) array.
        kernel_size, stride, padding: pairs (kH, kW), (sH, sW), (pH, pW).

    Returns:
        col: (C*kH*kW, N*OH*OW) array, C-contiguous, same dtype as ``x``.
    """
    if _cuda.handles(x):  # a CuPy float array: the CUDA kernel (kernels/cuda/im2col.cu)
        return _cuda.im2col(x, kernel_size, stride, padding)
    xp = get_array_module(x)
    N, C, H, W = x.shape
    kH, kW = kernel_size
    sH, sW = stride
    pH, pW = padding
    OH = conv_output_size(H, kH, sH, pH)
    OW = conv_output_size(W, kW, sW, pW)

    # One copy: pad and move channels in front of the batch, (C, N, Hp, Wp).
    # Both buffers come from kernels.workspace: recycled from earlier steps once free.
    x_cn = workspace.empty((C, N, H + 2 * pH, W + 2 * pW), x.dtype, xp)
    if pH or pW:
        x_cn.fill(0)
    x_cn[:, :, pH:pH + H, pW:pW + W] = x.transpose(1, 0, 2, 3)

    col = workspace.empty((C, kH, kW, N, OH, OW), x.dtype, xp)
    for i in range(kH):
        for j in range(kW):
            col[:, i, j] = x_cn[:, :, i:i + sH * OH:sH, j:j + sW * OW:sW]
    return col.reshape(C * kH * kW, N * OH * OW)


def col2im(col, x_shape, kernel_size, stride, padding):
    """Fold columns back onto the input: the adjoint (transpose) of ``im2col``.

    Every column entry is added to the input pixel it was copied from, so a
    pixel covered by several windows receives the sum of their gradients.

    Args:
        col: (C*kH*kW, N*OH*OW) array.
        x_shape: (N, C, H, W) of the input that ``im2col`` unfolded.
        kernel_size, stride, padding: pairs as for ``im2col``.

    Returns:
        (N, C, H, W) array, C-contiguous.
    """
    if _cuda.handles(col):  # a CuPy float array: the CUDA gather (kernels/cuda/im2col.cu)
        return _cuda.col2im(col, x_shape, kernel_size, stride, padding)
    xp = get_array_module(col)
    N, C, H, W = x_shape
    kH, kW = kernel_size
    sH, sW = stride
    pH, pW = padding
    OH = conv_output_size(H, kH, sH, pH)
    OW = conv_output_size(W, kW, sW, pW)

    col = col.reshape(C, kH, kW, N, OH, OW)
    x_cn = workspace.empty((C, N, H + 2 * pH, W + 2 * pW), col.dtype, xp)
    x_cn.fill(0)
    for i in range(kH):
        for j in range(kW):
            x_cn[:, :, i:i + sH * OH:sH, j:j + sW * OW:sW] += col[:, i, j]
    return xp.ascontiguousarray(x_cn[:, :, pH:pH + H, pW:pW + W].transpose(1, 0, 2, 3))
