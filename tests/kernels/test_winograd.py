"""kernels/winograd.py: the transform matrices (exact, from their points), the tile gathers against their
definition, and each backward piece as the adjoint of its forward piece."""
from fractions import Fraction

import numpy as np
import pytest

from kernels import winograd

VARIANTS = list(winograd.VARIANTS)


@pytest.mark.parametrize("m, r", VARIANTS)
def test_the_matrices_compute_a_correlation_exactly(m, r):
    # F(m, r) in one dimension, in fractions: A^T [(G g) * (B^T d)] = the m outputs of correlating d with g.
    at, g_mat, bt = winograd.fraction_matrices(m, r)
    a = m + r - 1
    rng = np.random.default_rng(m * 10 + r)
    for _ in range(20):
        g = [Fraction(int(v)) for v in rng.integers(-9, 10, r)]
        d = [Fraction(int(v), int(k)) for v, k in zip(rng.integers(-9, 10, a), rng.integers(1, 5, a))]
        gg = [sum(g_mat[i][k] * g[k] for k in range(r)) for i in range(a)]
        bd = [sum(bt[i][k] * d[k] for k in range(a)) for i in range(a)]
        y = [sum(at[i][j] * gg[j] * bd[j] for j in range(a)) for i in range(m)]
        assert y == [sum(d[i + k] * g[k] for k in range(r)) for i in range(m)]


def test_f2x2_3x3_is_the_papers_up_to_the_signs_of_the_point_at_infinity():
    # Lavin and Gray's F(2x2, 3x3) (points 0, 1, -1): the same matrices but for the sign of the rows and
    # columns the point at infinity and the point 0 carry (each sign appears twice, so the products agree).
    at, g, bt = (np.array(mat, dtype=float) for mat in winograd.fraction_matrices(2, 3))
    lavin_at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])
    lavin_g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    lavin_bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
    np.testing.assert_array_equal(np.abs(at), np.abs(lavin_at))
    np.testing.assert_array_equal(np.abs(g), np.abs(lavin_g))
    np.testing.assert_array_equal(np.abs(bt), np.abs(lavin_bt))
    np.testing.assert_allclose(at @ np.diag(g @ np.ones(3)) @ bt, lavin_at @ np.diag(lavin_g @ np.ones(3)) @ lavin_bt)


def test_bad_variants_and_points_are_refused():
    with pytest.raises(ValueError, match=r"winograd: no F\(3x3, 3x3\); the variants are F\(2x2, 3x3\), F\(4x4, 3x3\), "
                                         r"F\(2x2, 5x5\)"):
        winograd.matrices(3, 3)
    with pytest.raises(ValueError, match=r"F\(2, 3\) needs 3 distinct finite points, got"):
        winograd.fraction_matrices(2, 3, (0, 1, 1))


CASES = [((2, 3, 7, 6), 2, 3, (1, 1)), ((1, 2, 9, 9), 4, 3, (1, 0)), ((2, 2, 8, 7), 2, 5, (2, 2)),
         ((1, 1, 5, 5), 4, 3, (0, 0)), ((2, 3, 13, 13), 4, 3, (1, 1))]


def _reference_tiles(x, m, r, padding):
    """(C, a, a, N, tH, tW) by the definition, one pixel at a time."""
    N, C, H, W = x.shape
    a = m + r - 1
    tH, tW = winograd.tile_counts(H + 2 * padding[0] - r + 1, W + 2 * padding[1] - r + 1, m)
    d = np.zeros((C, a, a, N, tH, tW))
    for n in range(N):
        for t in range(tH):
            for u in range(tW):
                for i in range(a):
                    for j in range(a):
                        h, w = t * m + i - padding[0], u * m + j - padding[1]
                        if 0 <= h < H and 0 <= w < W:
                            d[:, i, j, n, t, u] = x[n, :, h, w]
    return d


@pytest.mark.parametrize("x_shape, m, r, padding", CASES)
def test_input_transform_is_b_transposed_d_b_of_every_tile(x_shape, m, r, padding):
    x = np.random.default_rng(0).standard_normal(x_shape)
    d = _reference_tiles(x, m, r, padding)
    bt = winograd.matrices(m, r)[2]
    want = np.einsum("ia,jb,cabnpq->cijnpq", bt, bt, d).reshape(x_shape[1], (m + r - 1) ** 2, -1)
    np.testing.assert_allclose(winograd.input_transform(x, m, r, padding), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, m, r, padding", CASES)
def test_each_backward_piece_is_the_adjoint_of_its_forward_piece(x_shape, m, r, padding):
    # <F(x), v> = <x, F*(v)> for the input, output and filter transforms, in float64.
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape)
    V = winograd.input_transform(x, m, r, padding)
    dV = rng.standard_normal(V.shape)
    dx = winograd.input_transform_adjoint(dV, x_shape, m, r, padding)
    assert np.isclose(np.vdot(V, dV), np.vdot(x, dx), rtol=1e-12)
    N, C, H, W = x_shape
    out_shape = (N, 3, H + 2 * padding[0] - r + 1, W + 2 * padding[1] - r + 1)
    M = rng.standard_normal((3,) + V.shape[1:])
    y = winograd.output_transform(M, out_shape, m, r)
    gy = rng.standard_normal(y.shape)
    assert np.isclose(np.vdot(y, gy), np.vdot(M, winograd.output_transform_adjoint(gy, m, r)), rtol=1e-12)
    bias = rng.standard_normal(3)
    np.testing.assert_allclose(winograd.output_transform(M, out_shape, m, r, bias), y + bias.reshape(1, 3, 1, 1))
    g = rng.standard_normal((3, C, r, r))
    U = winograd.filter_transform(g, m)
    dU = rng.standard_normal(U.shape)
    assert np.isclose(np.vdot(U, dU), np.vdot(g, winograd.filter_transform_adjoint(dU, r, m)), rtol=1e-12)
