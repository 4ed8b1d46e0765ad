"""Winograd minimal filtering (Lavin and Gray, 2015): a stride-1 convolution with fewer multiplications.

Notation: input x (N, C, H, W), weight g (OC, C, r, r), padding p, stride 1, output OH = H + 2p - r + 1
(OW alike). F(m x m, r x r) computes an m x m block of outputs from an a x a tile of inputs, a = m + r - 1,
with a*a multiplications per (output channel, input channel) instead of m*m*r*r:

    Y_tile = A^T [ (G g G^T) * (B^T d B) ] A           (* element-wise; g: r x r, d: a x a, Y_tile: m x m)

A^T (m x a), G (a x r) and B^T (a x a) are small constant matrices, built exactly (as fractions) by
``fraction_matrices(m, r)`` from a - 1 interpolation points and the point at infinity (the Toom-Cook
construction; docs/winograd.md derives it). Tiles start every m pixels, so neighbouring tiles overlap by
r - 1. Applying L on both sides of an a x a (or r x r) tile, out[i, j] = sum_ab L[i, a] L[j, b] X[a, b],
is one matrix product with the tile's entries flattened: kron(L, L) @ vec(X).

Layouts. P = N * tH * tW tiles (tH = ceil(OH / m) tile rows, tW alike), ordered (n, tile row, tile column);
a tile's entries are the second axis, flattened (i, j):

    U  (a*a, OC, C)    the filters transformed: U[xi] is the (OC, C) matrix of tile entry xi
    V  (C, a*a, P)     the input tiles transformed, per channel
    M  (OC, a*a, P)    the products: M[:, xi] = U[xi] @ V[:, xi] (a matrix product per entry xi, summed over C)

so each channel's tiles are contiguous (the gathers and the transforms run channel block by channel block,
in a core's cache, on every core: kernels.parallel), and each entry's (C, P) matrix is a strided view that
BLAS reads as it is (its rows a*a*P apart).

    filter_transform(g, m)                       g (OC, C, r, r)  -> U (a*a, OC, C)
    input_transform(x, m, r, padding)            x (N, C, H, W)   -> V (C, a*a, P): tiles gathered, B^T d B
    output_transform(M, out_shape, m, r, bias)   M (OC, a*a, P)   -> y (N, OC, OH, OW): A^T M A, the tiles
                                                 placed (those past the edge cropped), plus the bias
and for backward, the adjoint (transpose) of each:
    output_transform_adjoint(gy, m, r)           gy (N, OC, OH, OW) -> dM (OC, a*a, P)
    input_transform_adjoint(dV, x_shape, ...)    dV (C, a*a, P)     -> dx (N, C, H, W): overlapping tiles summed
    filter_transform_adjoint(dU, r, m)           dU (a*a, OC, C)    -> dg (OC, C, r, r)

Like im2col, the gathers loop only over the a*a tile offsets: for a fixed offset (i, j) the entries of all
tiles are one strided slice of the padded input (every m-th pixel), and the scatter adds those same slices
back with ``+=`` (a fixed offset never touches a pixel twice). On the GPU the gathers and scatters are
kernels (kernels/cuda/winograd.cu, one thread per element written) and the transforms batched products.
"""
from fractions import Fraction
from functools import lru_cache

import numpy as np

from kernels import cuda as _cuda
from kernels import blas, parallel, workspace
from kernels.array import get_array_module

# The interpolation points of each variant: a - 1 finite points (and infinity). The transforms' entries
# grow with the points' spread, and float32's error with them; 2 and -1/2 rather than the usual 2 and -2
# (their reciprocals balance the powers) measured 8x im2col's error on AlexNet's 3x3 layers against 12x,
# and 5x against 7.5x on its 5x5 layer (benchmarks/winograd.py; docs/winograd.md).
POINTS = {
    (2, 3): (0, 1, -1),
    (4, 3): (0, 1, -1, 2, Fraction(-1, 2)),
    (2, 5): (0, 1, -1, 2, Fraction(-1, 2)),
}
VARIANTS = tuple(POINTS)  # (m, r): F(2x2, 3x3), F(4x4, 3x3), F(2x2, 5x5)


def _poly_times_root(coeffs, root):
    """Coefficients (ascending) of p(x) * (x - root) for p's ascending ``coeffs``."""
    out = [Fraction(0)] * (len(coeffs) + 1)
    for k, c in enumerate(coeffs):
        out[k + 1] += c
        out[k] -= c * root
    return out


@lru_cache(maxsize=None)
def fraction_matrices(m, r, points=None):
    """(A^T, G, B^T) of F(m, r) as tuples of rows of Fractions, exact.

    With a - 1 finite points a_j and infinity (a = m + r - 1):
        A^T[i, j] = a_j^i                      A^T[i, inf] = 1 if i = m - 1 else 0
        G[j, k]   = a_j^k / f_j                G[inf, k]   = 1 if k = r - 1 else 0
        B^T[j, :] = coefficients of prod_{l != j} (x - a_l)    B^T[inf, :] = those of prod_l (x - a_l)
    where f_j = prod_{l != j} (a_j - a_l). (A convolution's evaluation at the points, the element-wise
    products, and interpolation back, transposed into the correlation a convolution layer computes.)
    """
    points = tuple(Fraction(p) for p in (POINTS[(m, r)] if points is None else points))
    alpha = m + r - 1
    if len(points) != alpha - 1 or len(set(points)) != len(points):
        raise ValueError(f"F({m}, {r}) needs {alpha - 1} distinct finite points, got {points}")
    at = [[p ** i for p in points] + [Fraction(int(i == m - 1))] for i in range(m)]
    g, bt = [], []
    for j, p in enumerate(points):
        f = Fraction(1)
        poly = [Fraction(1)]
        for q_index, q in enumerate(points):
            if q_index != j:
                f *= p - q
                poly = _poly_times_root(poly, q)
        g.append([p ** k / f for k in range(r)])
        bt.append(poly + [Fraction(0)])
    full = [Fraction(1)]
    for q in points:
        full = _poly_times_root(full, q)
    g.append([Fraction(int(k == r - 1)) for k in range(r)])
    bt.append(full)
    return tuple(map(tuple, at)), tuple(map(tuple, g)), tuple(map(tuple, bt))


@lru_cache(maxsize=None)
def matrices(m, r):
    """(A^T (m, a), G (a, r), B^T (a, a)) of F(m x m, r x r) as float64 arrays (``fraction_matrices``)."""
    if (m, r) not in POINTS:
        raise ValueError(f"winograd: no F({m}x{m}, {r}x{r}); the variants are "
                         + ", ".join(f"F({a}x{a}, {b}x{b})" for a, b in VARIANTS))
    return tuple(np.array([[float(v) for v in row] for row in mat]) for mat in fraction_matrices(m, r))


@lru_cache(maxsize=None)
def _kron(m, r, which, transpose, dtype):
    at, g, bt = matrices(m, r)
    mat = {"A^T": at, "G": g, "B^T": bt}[which]
    k = np.kron(mat, mat)
    return np.ascontiguousarray(k.T if transpose else k).astype(dtype)


def kron(m, r, which, dtype, xp=np, transpose=False):
    """kron(L, L) for L the ``which`` matrix of F(m, r) ("A^T", "G" or "B^T"), transposed if ``transpose``
    (the adjoint, for backward), as an array of ``dtype`` of ``xp``: applied to a tile's flattened entries it
    is L X L^T."""
    return xp.asarray(_kron(m, r, which, transpose, np.dtype(dtype)))


def tile_counts(out_h, out_w, m):
    """(tH, tW): tiles of m x m outputs covering an out_h x out_w output."""
    return -(-out_h // m), -(-out_w // m)


def geometry(x_shape, m, r, padding):
    """(N, C, H, W, pH, pW, tH, tW) of a stride-1 convolution with F(m, r) tiles."""
    N, C, H, W = x_shape
    pH, pW = padding
    OH, OW = H + 2 * pH - r + 1, W + 2 * pW - r + 1
    tH, tW = tile_counts(OH, OW, m)
    return N, C, H, W, pH, pW, tH, tW


def filter_transform(g, m):
    """U = G g G^T for every (output, input) channel pair: g (OC, C, r, r) -> (a*a, OC, C)."""
    OC, C, r, _ = g.shape
    xp = get_array_module(g)
    flat = xp.ascontiguousarray(g.transpose(2, 3, 0, 1)).reshape(r * r, OC * C)
    return blas.matmul(kron(m, r, "G", g.dtype, xp), flat).reshape(-1, OC, C)


def filter_transform_adjoint(dU, r, m):
    """dU (a*a, OC, C) -> dg (OC, C, r, r): G^T dU G per channel pair."""
    a2, OC, C = dU.shape
    xp = get_array_module(dU)
    dg = blas.matmul(kron(m, r, "G", dU.dtype, xp, transpose=True), dU.reshape(a2, OC * C))
    return xp.ascontiguousarray(dg.reshape(r, r, OC, C).transpose(2, 3, 0, 1))


def input_transform(x, m, r, padding):
    """V (C, a*a, P): V[c, :, p] = kron(B^T, B^T) @ d, d the a x a tile p of channel c of the padded input
    (tile (n, t, u) starts at row t*m, column u*m), flattened."""
    xp = get_array_module(x)
    N, C, H, W, pH, pW, tH, tW = geometry(x.shape, m, r, padding)
    a, P = m + r - 1, N * tH * tW
    bt = kron(m, r, "B^T", x.dtype, xp)
    V = workspace.empty((C, a * a, P), x.dtype, xp)
    if _cuda.handles(x):
        xp.matmul(bt, _cuda.winograd_input_tiles(x, m, r, padding), out=V)
        return V

    def block(c0, c1):
        x_cn = np.zeros((c1 - c0, N, tH * m + r - 1, tW * m + r - 1), dtype=x.dtype)  # room for whole tiles
        x_cn[:, :, pH:pH + H, pW:pW + W] = x[:, c0:c1].transpose(1, 0, 2, 3)
        D = np.empty((c1 - c0, a, a, N, tH, tW), dtype=x.dtype)
        for i in range(a):
            for j in range(a):
                D[:, i, j] = x_cn[:, :, i:i + tH * m:m, j:j + tW * m:m]
        np.matmul(bt, D.reshape(c1 - c0, a * a, P), out=V[c0:c1])

    parallel.run_blocks(C, block, parallel.items_per_block(3 * a * a * P * x.itemsize))
    return V


def input_transform_adjoint(dV, x_shape, m, r, padding, out=None):
    """dV (C, a*a, P) -> dx (N, C, H, W): each tile's kron(B^T, B^T)^T @ dV, then every tile entry added to
    the pixel it was read from (overlapping tiles summed); into ``out`` if given."""
    xp = get_array_module(dV)
    N, C, H, W, pH, pW, tH, tW = geometry(x_shape, m, r, padding)
    a = m + r - 1
    b = kron(m, r, "B^T", dV.dtype, xp, transpose=True)
    if _cuda.handles(dV):
        dx = _cuda.winograd_input_untiles(xp.matmul(b, dV), x_shape, m, r, padding)
        if out is None:
            return dx
        out[...] = dx
        return out
    dx = workspace.empty((N, C, H, W), dV.dtype, xp) if out is None else out

    def block(c0, c1):
        D = np.matmul(b, dV[c0:c1]).reshape(c1 - c0, a, a, N, tH, tW)
        acc = np.zeros((c1 - c0, N, tH * m + r - 1, tW * m + r - 1), dtype=dV.dtype)
        for i in range(a):
            for j in range(a):
                acc[:, :, i:i + tH * m:m, j:j + tW * m:m] += D[:, i, j]
        dx[:, c0:c1] = acc[:, :, pH:pH + H, pW:pW + W].transpose(1, 0, 2, 3)

    parallel.run_blocks(C, block, parallel.items_per_block(3 * a * a * N * tH * tW * dV.itemsize))
    return dx


def output_transform(M, out_shape, m, r, bias=None, out=None):
    """M (OC, a*a, P) -> y (N, OC, OH, OW): each tile's kron(A^T, A^T) @ M, placed at (t*m, u*m) of its
    sample and channel (the rows and columns past the output's edge dropped), plus ``bias`` (OC,) if given,
    in the same pass; into ``out`` (C-contiguous) if given."""
    xp = get_array_module(M)
    N, OC, OH, OW = out_shape
    tH, tW = tile_counts(OH, OW, m)
    at = kron(m, r, "A^T", M.dtype, xp)
    if _cuda.handles(M):
        return _cuda.winograd_output_untiles(xp.matmul(at, M), out_shape, m, bias, out)
    y = workspace.empty(out_shape, M.dtype, xp) if out is None else out

    def block(o0, o1):
        Y = np.matmul(at, M[o0:o1]).reshape(o1 - o0, m, m, N, tH, tW)
        full = np.empty((o1 - o0, N, tH * m, tW * m), dtype=M.dtype)
        for i in range(m):
            for j in range(m):
                full[:, :, i::m, j::m] = Y[:, i, j]
        out = full[:, :, :OH, :OW].transpose(1, 0, 2, 3)
        if bias is None:
            y[:, o0:o1] = out
        else:
            np.add(out, bias[o0:o1].reshape(1, -1, 1, 1), out=y[:, o0:o1])

    parallel.run_blocks(OC, block, parallel.items_per_block(3 * M.shape[1] * M.shape[2] * M.itemsize))
    return y


def output_transform_adjoint(gy, m, r):
    """gy (N, OC, OH, OW) -> dM (OC, a*a, P): each tile of gy (zeros past the edge), flattened, times
    kron(A^T, A^T)^T."""
    xp = get_array_module(gy)
    N, OC, OH, OW = gy.shape
    tH, tW = tile_counts(OH, OW, m)
    a, P = m + r - 1, N * tH * tW
    at_t = kron(m, r, "A^T", gy.dtype, xp, transpose=True)
    dM = workspace.empty((OC, a * a, P), gy.dtype, xp)
    if _cuda.handles(gy):
        xp.matmul(at_t, _cuda.winograd_output_tiles(gy, m), out=dM)
        return dM

    def block(o0, o1):
        full = np.zeros((o1 - o0, N, tH * m, tW * m), dtype=gy.dtype)
        full[:, :, :OH, :OW] = gy[:, o0:o1].transpose(1, 0, 2, 3)
        dY = np.empty((o1 - o0, m, m, N, tH, tW), dtype=gy.dtype)
        for i in range(m):
            for j in range(m):
                dY[:, i, j] = full[:, :, i::m, j::m]
        np.matmul(at_t, dY.reshape(o1 - o0, m * m, P), out=dM[o0:o1])

    parallel.run_blocks(OC, block, parallel.items_per_block(3 * a * a * P * gy.itemsize))
    return dM
