"""kernels.special: erf and erfc against Python's math.erf / math.erfc (the C library's, accurate to
within an ulp), over a wide grid with both tails, the seams between the three expansions, and the
special values; on every device (the CuPy path is the same array code)."""
import math
from decimal import Decimal, localcontext

import numpy as np
import pytest

from kernels import special
from kernels.special import erf, erfc
from tinynet import backend


def _on(device, a):
    return backend.to_device(np.asarray(a), device)


def _ulps(got, want):
    """|got - want| in units of the last place of want (the smallest subnormal where want is 0)."""
    spacing = np.spacing(np.abs(want))
    return np.abs(got - want) / np.where(spacing == 0, 5e-324, spacing)


def _grid():
    """Dense on [-7, 7], coarse to +-30, log-spaced magnitudes from 1e-310 to 1e10, and the seams
    1 and 2 (where the expansion changes) with their neighbouring floats."""
    rng = np.random.default_rng(11)
    seams = np.array([1.0, 2.0, 1.5, 27.0, 27.3])
    near = np.concatenate([np.nextafter(seams, 0), seams, np.nextafter(seams, 99)])
    magnitudes = 10.0 ** rng.uniform(-310, 10, 20000)
    x = np.concatenate([np.linspace(-7, 7, 140001), np.linspace(-30, 30, 6001), magnitudes, -magnitudes,
                        near, -near, rng.standard_normal(20000) * 3])
    return x


GRID = _grid()
ERF_WANT = np.array([math.erf(v) for v in GRID])
ERFC_WANT = np.array([math.erfc(v) for v in GRID])


def test_erf_is_within_one_ulp_of_math_erf(device):
    """erf over the whole grid within 1 ulp of the C library's (itself within an ulp of the truth)."""
    got = backend.host(erf(_on(device, GRID)))
    u = _ulps(got, ERF_WANT)
    worst = int(np.argmax(u))
    assert u.max() <= 1.0, f"erf({GRID[worst]!r}) = {got[worst]!r}, math.erf gives {ERF_WANT[worst]!r}"


@pytest.mark.parametrize("low, high, ulps", [
    (-np.inf, 0.5, 2.0),        # 1 - erf(x): no cancellation while erfc(x) >= 0.48
    (0.5, 1.0, 6.0),            # 1 - erf(x), erfc(x) from 0.48 down to 0.157
    (1.0, 2.0, 16.0),           # erfc(3/2) minus the Taylor correction
    (2.0, np.inf, 6.0),         # the continued fraction, relative accuracy through the tail
], ids=["below-0.5", "0.5-1", "1-2", "tail"])
def test_erfc_matches_math_erfc_to_a_few_ulps(device, low, high, ulps):
    """erfc keeps relative accuracy where erf is close to 1 (1 - erf(x) would lose it all by x = 6)."""
    inside = (GRID >= low) & (GRID < high)
    got = backend.host(erfc(_on(device, GRID[inside])))
    u = _ulps(got, ERFC_WANT[inside])
    worst = int(np.argmax(u))
    x, want = GRID[inside][worst], ERFC_WANT[inside][worst]
    assert u.max() <= ulps, f"erfc({x!r}) = {got[worst]!r}, math.erfc gives {want!r}"


def test_erfc_tail_reaches_the_subnormals(device):
    """erfc(26.5) ~ 1e-307 and erfc(27.2) ~ 1e-323 are nonzero and right; from about 27.3 on it is 0."""
    x = np.array([10.0, 20.0, 26.5, 27.0, 27.2, 27.3, 28.0, 1e3, 1e300])
    got = backend.host(erfc(_on(device, x)))
    want = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(got[:3], want[:3], rtol=1e-15)
    assert np.all(np.abs(got[3:] - want[3:]) <= 4 * 5e-324)  # subnormal: a few of the smallest steps
    assert got[4] > 0 and np.all(got[-3:] == 0)


def test_special_values(device):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    e = backend.host(erf(_on(device, x)))
    c = backend.host(erfc(_on(device, x)))
    np.testing.assert_array_equal(e[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(e[1]) and not np.signbit(e[0])  # erf is odd, to the sign of zero
    np.testing.assert_array_equal(c[:4], [1.0, 1.0, 0.0, 2.0])
    assert np.isnan(e[4]) and np.isnan(c[4])


def test_erf_is_odd_and_erfc_complements_it(device):
    rng = np.random.default_rng(3)
    x = rng.uniform(-6, 6, 5000)
    e = backend.host(erf(_on(device, x)))
    np.testing.assert_array_equal(backend.host(erf(_on(device, -x))), -e)
    c = backend.host(erfc(_on(device, x)))
    np.testing.assert_allclose(c, 1.0 - e, rtol=0, atol=2.3e-16)  # erfc + erf = 1 to the last bit of 1


@pytest.mark.parametrize("shape", [(), (0,), (3, 4), (2, 1, 5)], ids=["0d", "empty", "2d", "3d"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shape_and_dtype_are_kept(device, shape, dtype):
    """Same shape and dtype out; a float32 input is computed in float64 and rounded once, so it is as
    accurate as float32 can be (the float32 rounding of math's value, or a neighbour at a tie)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=shape).astype(dtype)
    for fn, ref in ((erf, math.erf), (erfc, math.erfc)):
        y = fn(_on(device, x))
        assert y.shape == shape and y.dtype == np.dtype(dtype)
        want = np.array([ref(float(v)) for v in x.reshape(-1)]).astype(dtype).reshape(shape)
        ulps = 1 if dtype == "float32" else 16
        np.testing.assert_allclose(backend.host(y), want, rtol=ulps * np.finfo(dtype).eps, atol=0)


def test_the_centre_constants_are_correctly_rounded():
    """erf(3/2), erfc(3/2) and 2/sqrt(pi) e^(-9/4), the Taylor series' anchors, from math, and 2/sqrt(pi)
    from a 40-digit pi (Decimal): each is the float nearest to the true value."""
    assert special._ERF_CENTER == math.erf(1.5)
    assert special._ERFC_CENTER == math.erfc(1.5)
    with localcontext() as ctx:
        ctx.prec = 40
        pi = Decimal("3.141592653589793238462643383279502884197")
        two_over_sqrt_pi = 2 / pi.sqrt()
        assert special.TWO_OVER_SQRT_PI == float(two_over_sqrt_pi)
        assert special._MACLAURIN[0] == float(two_over_sqrt_pi - 1)
        assert special.ONE_OVER_SQRT_PI == float(1 / pi.sqrt())
        assert special._SLOPE_CENTER == float(two_over_sqrt_pi * Decimal(-2.25).exp())
