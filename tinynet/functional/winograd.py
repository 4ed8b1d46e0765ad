"""2-D convolution by Winograd's minimal filtering (stride 1, no dilation): kernels/winograd.py.

Shapes:  x (N, C, H, W),  weight g (OC, C/G, r, r),  bias (OC,),  y (N, OC, OH, OW),  OH = H + 2p - r + 1.
F(m x m, r x r) computes m x m outputs from each a x a input tile (a = m + r - 1); P = N * tH * tW tiles.

Forward
    U = G g G^T                       (a*a, OC, C/G)   filter_transform, per channel pair
    V = B^T d B                       (C, a*a, P)      input_transform, per tile and channel
    for each group g, at each of the a*a tile entries xi:
        M_g[:, xi] = U_g[xi] @ V_g[:, xi]              (OC/G, C/G) @ (C/G, P): the products, summed over C
    y = A^T M A + bias                (N, OC, OH, OW)  output_transform, per tile, the bias in the same pass

Backward, each step the adjoint (transpose) of one above:
    dM = the tiles of dL/dy, times A's adjoint          (OC, a*a, P)       output_transform_adjoint
    dU_g[xi] = dM_g[:, xi] @ V_g[:, xi]^T  ->  dg = G^T dU G                  filter_transform_adjoint
    dV_g[:, xi] = U_g[xi]^T @ dM_g[:, xi]  ->  dx = B dV B^T, overlapping tiles summed   input_transform_adjoint
    dbias = dL/dy summed over N, OH, OW

Each entry's products are one batched matrix product over the a*a entries (views: nothing is copied), for
a run of samples at a time (CHUNK_BYTES of products: M and dM stay small, each run exact on its own since
tiles never cross samples; dU adds the runs' parts). The op keeps V for dg ((a/m)^2 times the size of x, more where the tiles overhang the output: about 4.6x for
F(2, 3) on a 13x13 map, 3.4x for F(4, 3), 9.7x for F(2, 5) on 27x27, where im2col's columns are 9x and 25x)
and U for dx (a*a/(r*r) times the weight's size).
"""
import numpy as np

from kernels import blas, winograd, workspace
from tinynet.autograd import Function
from tinynet.backend import get_array_module
from tinynet.functional.conv import check_operands


CHUNK_BYTES = 64 << 20  # the products of a run of samples at a time (forward's M, backward's dM): bounded memory


class WinogradConv2d(Function):
    """The batched op with F(m x m, r x r): padding an (h, w) pair, groups an int (stride 1, dilation 1;
    ``conv2d`` picks it: tinynet/functional/conv_choice.py)."""

    def __init__(self, m, r, padding=(0, 0), groups=1):
        self.m, self.r, self.padding, self.groups = m, r, padding, groups

    def forward(self, x, w, b=None):
        check_operands(x, w, b, self.padding, (1, 1), self.groups)  # the same shape errors as im2col's
        xp = get_array_module(x)
        m, r = self.m, self.r
        N, C, H, W = x.shape
        OC = w.shape[0]
        OH, OW = H + 2 * self.padding[0] - r + 1, W + 2 * self.padding[1] - r + 1
        U = winograd.filter_transform(w, m)                         # (a*a, OC, C/G)
        V = winograd.input_transform(x, m, r, self.padding)         # (C, a*a, P)
        y = workspace.empty((N, OC, OH, OW), x.dtype, xp)
        for n0, n1, p0, p1 in self._chunks(x.shape, OC, x.itemsize):  # M (OC, a*a, P) for a few samples at a time
            M = self._products(U, V[:, :, p0:p1])
            winograd.output_transform(M, (n1 - n0, OC, OH, OW), m, r, b, out=y[n0:n1])
        self.V = V if self.needs_input_grad[1] else None
        self.U = U if self.needs_input_grad[0] else None
        self.x_shape, self.U_shape = x.shape, U.shape
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        m, r = self.m, self.r
        N, C, H, W = self.x_shape
        gx = gw = gb = dU = None
        if self.needs_input_grad[0]:
            gx = workspace.empty(self.x_shape, gy.dtype, xp)
        for n0, n1, p0, p1 in self._chunks(self.x_shape, gy.shape[1], gy.itemsize):
            dM = winograd.output_transform_adjoint(gy[n0:n1], m, r)  # (OC, a*a, tiles of these samples)
            if self.needs_input_grad[0]:
                winograd.input_transform_adjoint(self._input_grad(self.U, dM), (n1 - n0, C, H, W), m, r,
                                                 self.padding, out=gx[n0:n1])
            if self.needs_input_grad[1]:
                part = self._weight_grad(dM, self.V[:, :, p0:p1])
                dU = part if dU is None else xp.add(dU, part, out=dU)
        if self.needs_input_grad[1]:
            if dU is None:  # an empty batch
                dU = xp.zeros((self.U_shape[0], gy.shape[1], C // self.groups), dtype=gy.dtype)
            gw = winograd.filter_transform_adjoint(dU, self.r, m)
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gw, gb)[:len(self.needs_input_grad)]

    def _chunks(self, x_shape, OC, itemsize):
        """(n0, n1, p0, p1): runs of samples whose products (OC, a*a, tiles) stay within CHUNK_BYTES, with their
        tiles' range (a sample's tiles are contiguous). Tiles never cross samples, so each run is exact alone."""
        N, _, _, _, _, _, tH, tW = winograd.geometry(x_shape, self.m, self.r, self.padding)
        a2, per_sample = (self.m + self.r - 1) ** 2, tH * tW
        step = max(1, CHUNK_BYTES // max(1, OC * a2 * per_sample * itemsize))
        return [(n0, min(N, n0 + step), n0 * per_sample, min(N, n0 + step) * per_sample) for n0 in range(0, N, step)]

    # The element-wise stage and its two adjoints: per group, one batched product over the tile entries xi,
    # on views of the (channel, entry, tile) arrays with the entry first. ``_groups`` gives each group's
    # (output channels, input channels) slices.

    def _groups(self, oc, c):
        G = self.groups
        return [(slice(g * oc // G, (g + 1) * oc // G), slice(g * c // G, (g + 1) * c // G)) for g in range(G)]

    def _products(self, U, V):
        """M[o, xi] = sum_c U[xi, o, c] V[c, xi]: (a*a, OC, C/G), (C, a*a, P) -> (OC, a*a, P)."""
        xp = get_array_module(V)
        M = workspace.empty((U.shape[1],) + V.shape[1:], V.dtype, xp)
        for o, c in self._groups(U.shape[1], V.shape[0]):
            blas.matmul(U[:, o], V[c].transpose(1, 0, 2), out=M[o].transpose(1, 0, 2))
        return M

    def _input_grad(self, U, dM):
        """dV[c, xi] = sum_o U[xi, o, c] dM[o, xi]: -> (C, a*a, P)."""
        xp = get_array_module(dM)
        C = U.shape[2] * self.groups
        dV = workspace.empty((C,) + dM.shape[1:], dM.dtype, xp)
        for o, c in self._groups(dM.shape[0], C):
            blas.matmul(U[:, o].transpose(0, 2, 1), dM[o].transpose(1, 0, 2), out=dV[c].transpose(1, 0, 2))
        return dV

    def _weight_grad(self, dM, V):
        """dU[xi, o, c] = sum_p dM[o, xi, p] V[c, xi, p]: -> (a*a, OC, C/G)."""
        xp = get_array_module(dM)
        OC, Cg = dM.shape[0], V.shape[0] // self.groups
        dU = xp.empty((dM.shape[1], OC, Cg), dtype=dM.dtype)
        for o, c in self._groups(OC, V.shape[0]):
            blas.matmul(dM[o].transpose(1, 0, 2), V[c].transpose(1, 2, 0), out=dU[:, o])
        return dU


def eligible(kernel_size, stride, dilation, dtype=None):
    """The Winograd variants (m, r) that can compute this convolution: square 3x3 or 5x5 kernels, stride 1,
    no dilation, a float dtype (not checked when None)."""
    if tuple(stride) != (1, 1) or tuple(dilation) != (1, 1) or len(kernel_size) != 2 \
            or kernel_size[0] != kernel_size[1] or (dtype is not None and np.dtype(dtype).kind != "f"):
        return ()
    return tuple(v for v in winograd.VARIANTS if v[1] == kernel_size[0])


__all__ = ["WinogradConv2d", "eligible"]
