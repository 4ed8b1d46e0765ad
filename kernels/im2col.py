"""im2col and col2im: a convolution as one matrix product.

Notation: input x (N, C, H, W), kernel kH x kW, stride (sH, sW), padding
(pH, pW), dilation (dH, dW), output OH x OW with (kernels/sizes.py)

    OH = floor((H + 2*pH - dH*(kH - 1) - 1) / sH) + 1      (same for OW)

Column layout. ``im2col`` returns ``col`` of shape (C*kH*kW, N*OH*OW):

    col[(c, i, j), (n, oh, ow)] = x_pad[n, c, oh*sH + i*dH, ow*sW + j*dW]

Dilation spaces the kernel's taps dH rows and dW columns apart (a 3x3 kernel
with dilation 2 reads a 5x5 patch, every other pixel); it changes only where
each offset's slice starts, i*dH instead of i.

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
from kernels import parallel, workspace
from kernels.array import get_array_module
from kernels.sizes import conv_output_size


def im2col(x, kernel_size, stride, padding, dilation=(1, 1)):
    """Unfold sliding windows of ``x`` into columns.

    Args:
        x: (N, C, H, W) array.
        kernel_size, stride, padding, dilation: pairs (kH, kW), (sH, sW), (pH, pW), (dH, dW).

    Returns:
        col: (C*kH*kW, N*OH*OW) array, C-contiguous, same dtype as ``x``. A copy, so any dtype works; uint16
        bfloat16 words (kernels/half.py) take the CUDA kernel's bfloat16 instantiation on the GPU.
    """
    if _cuda.handles(x) or _cuda.handles_words(x):  # a CuPy float array (or words): kernels/cuda/im2col.cu
        return _cuda.im2col(x, kernel_size, stride, padding, dilation)
    xp = get_array_module(x)
    N, C, H, W = x.shape
    kH, kW = kernel_size
    sH, sW = stride
    pH, pW = padding
    dH, dW = dilation
    OH = conv_output_size(H, kH, sH, pH, dH)
    OW = conv_output_size(W, kW, sW, pW, dW)

    # One copy: pad and move channels in front of the batch, (C, N, Hp, Wp); then one strided
    # copy per kernel offset. Both buffers come from kernels.workspace (recycled from earlier
    # steps once free). The channels are independent: they go in blocks small enough for a
    # core's cache, on every core (kernels.parallel), each block writing only its own rows.
    x_cn = workspace.empty((C, N, H + 2 * pH, W + 2 * pW), x.dtype, xp)
    col = workspace.empty((C, kH, kW, N, OH, OW), x.dtype, xp)

    def block(c0, c1, n0, n1):
        if pH or pW:
            x_cn[c0:c1, n0:n1].fill(0)
        x_cn[c0:c1, n0:n1, pH:pH + H, pW:pW + W] = x[n0:n1, c0:c1].transpose(1, 0, 2, 3)
        for i in range(kH):
            for j in range(kW):
                h0, w0 = i * dH, j * dW  # where offset (i, j) starts in the padded input
                col[c0:c1, i, j, n0:n1] = x_cn[c0:c1, n0:n1, h0:h0 + sH * OH:sH, w0:w0 + sW * OW:sW]

    _run_blocks(C, N, x.itemsize * (H + 2 * pH) * (W + 2 * pW), block, xp)
    return col.reshape(C * kH * kW, N * OH * OW)


def col2im(col, x_shape, kernel_size, stride, padding, dilation=(1, 1)):
    """Fold columns back onto the input: the adjoint (transpose) of ``im2col``.

    Every column entry is added to the input pixel it was copied from, so a
    pixel covered by several windows receives the sum of their gradients.

    Args:
        col: (C*kH*kW, N*OH*OW) array.
        x_shape: (N, C, H, W) of the input that ``im2col`` unfolded.
        kernel_size, stride, padding, dilation: pairs as for ``im2col``.

    Returns:
        (N, C, H, W) array, C-contiguous.
    """
    if _cuda.handles(col):  # a CuPy float array: the CUDA gather (kernels/cuda/im2col.cu)
        return _cuda.col2im(col, x_shape, kernel_size, stride, padding, dilation)
    xp = get_array_module(col)
    N, C, H, W = x_shape
    kH, kW = kernel_size
    sH, sW = stride
    pH, pW = padding
    dH, dW = dilation
    OH = conv_output_size(H, kH, sH, pH, dH)
    OW = conv_output_size(W, kW, sW, pW, dW)

    col = col.reshape(C, kH, kW, N, OH, OW)
    x_cn = workspace.empty((C, N, H + 2 * pH, W + 2 * pW), col.dtype, xp)
    gx = workspace.empty((N, C, H, W), col.dtype, xp)

    def block(c0, c1, n0, n1):  # cache-sized blocks of (channel, sample) on every core, as in im2col
        acc = x_cn[c0:c1, n0:n1]
        acc.fill(0)
        for i in range(kH):
            for j in range(kW):
                h0, w0 = i * dH, j * dW
                acc[:, :, h0:h0 + sH * OH:sH, w0:w0 + sW * OW:sW] += col[c0:c1, i, j, n0:n1]
        gx[n0:n1, c0:c1] = acc[:, :, pH:pH + H, pW:pW + W].transpose(1, 0, 2, 3)

    _run_blocks(C, N, col.itemsize * (H + 2 * pH) * (W + 2 * pW), block, xp)
    return gx


def _run_blocks(C, N, sample_bytes, fn, xp):
    """Call ``fn(c0, c1, n0, n1)`` over blocks of (channel, sample) pairs that fit a core's cache,
    on every core (kernels.parallel): whole channels c0..c1-1 when one channel's N padded maps fit
    in a block (conv2-5 of AlexNet), else runs of samples n0..n1-1 of one channel (conv1, whose 3
    channels are 227x227 maps). Blocks never overlap, so each writes only its own part."""
    per_block = parallel.items_per_block(sample_bytes)  # padded (H, W) maps that fit in a block
    if per_block >= N:
        parallel.run_blocks(C, lambda c0, c1: fn(c0, c1, 0, N), per_block // max(N, 1), xp)
        return
    chunks = -(-N // per_block)  # sample runs per channel

    def runs(t0, t1):
        for t in range(t0, t1):
            c, r = divmod(t, chunks)
            fn(c, c + 1, r * per_block, min(N, (r + 1) * per_block))

    parallel.run_blocks(C * chunks, runs, 1, xp)
