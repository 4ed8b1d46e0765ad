"""The error function and its complement, on NumPy or CuPy arrays (NumPy has no erf; SciPy is no dependency).

    erf(x)  = 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt        (odd: erf(-x) = -erf(x))
    erfc(x) = 1 - erf(x)                                               (2 - erfc(-x) for x < 0)

GELU needs them: Phi(x) = erfc(-x / sqrt(2)) / 2 is the standard normal CDF.

Each result is computed in float64 and returned in the input's dtype. With a = |x|, erf takes one
of three classical expansions (NIST DLMF, chapter 7; Abramowitz and Stegun, section 7.1), chosen
so that each needs few terms on its interval and its result is a leading part plus a small
correction, whose rounding errors are damped:

    a < 1       Maclaurin series (DLMF 7.6.1), 19 terms in a^2:
                    erf(a) = 2/sqrt(pi) * sum_n (-1)^n a^(2n+1) / (n! (2n+1))
                written a + a * q(a^2) with q(0) = 2/sqrt(pi) - 1, so the final rounding is of a sum
                whose first term a is exact
    1 <= a < 2  Taylor series about c = 3/2, 25 terms in h = a - c (exact), from the derivative
                2/sqrt(pi) exp(-t^2) (DLMF 7.10.1); the Taylor coefficients b_n of
                exp(-(c + h)^2) = exp(-c^2) sum_n b_n h^n follow from the equation y' = -2 t y:
                    b_0 = 1, b_1 = -2c, (n + 1) b_(n+1) = -2c b_n - 2 b_(n-1)
                    erf(c + h) = erf(c) + 2/sqrt(pi) exp(-c^2) sum_n b_n h^(n+1) / (n + 1)
    a >= 2      erf(a) = 1 - erfc(a), erfc by Laplace's continued fraction (DLMF 7.9.2,
                A&S 7.1.14), 60 levels evaluated from the bottom up:
                    erfc(a) = exp(-a^2) / sqrt(pi) * 1 / (a + (1/2) / (a + 1 / (a + (3/2) / (a + ...))))

exp(-a^2) is taken without the rounding of a^2 (through exp(-(a*a)), erfc would be off by up to
30 ulps below a = 6 and 500 near a = 27): with hi = a rounded to float32 (24 bits, so hi * hi is
exact in float64) and lo = a - hi (exact), a^2 = hi^2 + lo (a + hi) and
exp(-a^2) = exp(-hi^2) * exp(-lo (a + hi)).

Accuracy (tests/kernels/test_special.py checks it against Python's math.erf / math.erfc over a wide
grid, tails included): erf within 1 ulp everywhere; erfc within a few ulps below 1/2 and from 2 on
(relative accuracy in the tail, down to erfc(27) ~ 5e-319), within about 12 ulps on [1, 2) (its own
Taylor series about 3/2, from the same correction as erf's) and 1 - erf on [1/2, 1) (erfc there is
at least 0.157, so this costs at most a few ulps).
"""
import math

from kernels.array import get_array_module

__all__ = ["erf", "erfc"]

TWO_OVER_SQRT_PI = 1.1283791670955126  # 2 / sqrt(pi), correctly rounded
ONE_OVER_SQRT_PI = 0.5641895835477563  # 1 / sqrt(pi)

# a < 1: q(z) = 2/sqrt(pi) * sum_n (-1)^n z^n / (n! (2n+1)) - 1, its n = 0 coefficient written out
# correctly rounded (2/sqrt(pi) - 1 in floats would carry the rounding of 2/sqrt(pi) into the result)
_MACLAURIN = [0.1283791670955126] + [
    TWO_OVER_SQRT_PI * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(1, 19)]

# 1 <= a < 2: about c = 3/2, erf(c), erfc(c) and 2/sqrt(pi) exp(-c^2) correctly rounded, then the b_n / (n + 1)
_CENTER = 1.5
_ERF_CENTER = 0.9661051464753108  # erf(3/2)
_ERFC_CENTER = 0.033894853524689274  # erfc(3/2)
_SLOPE_CENTER = 0.11893028922362937


def _taylor_coefficients(c, terms):
    b = [1.0, -2.0 * c]
    while len(b) < terms:
        n = len(b) - 1
        b.append((-2.0 * c * b[n] - 2.0 * b[n - 1]) / (n + 1))
    return [b_n / (n + 1) for n, b_n in enumerate(b)]


_TAYLOR = _taylor_coefficients(_CENTER, 25)

_CF_LEVELS = 60
_TAIL_START = 2.0
_UNDERFLOW = 28.0  # exp(-28^2) is below the smallest float64: erfc(a) is 0 from a ~ 27.3 on


def _polynomial(coefficients, t):
    """sum_n coefficients[n] * t^n by Horner's rule, p <- p t + c from the last coefficient down (in
    place: twice as fast in NumPy as a new array per step, and the same roundings)."""
    p = t * coefficients[-1]
    p += coefficients[-2]
    for c in reversed(coefficients[:-2]):
        p *= t
        p += c
    return p


def _exp_minus_square(a, xp):
    """exp(-a^2) for float64 a >= 0 (at most 28), without rounding a^2."""
    hi = a.astype(xp.float32).astype(xp.float64)
    lo = a - hi
    return xp.exp(-hi * hi) * xp.exp(-lo * (a + hi))


def _erfc_continued_fraction(a, xp):
    """erfc(a) for float64 a >= 2 (or NaN), by the continued fraction."""
    f = a.copy()
    for k in range(_CF_LEVELS, 0, -1):  # f <- a + (k/2) / f, in place
        xp.divide(0.5 * k, f, out=f)
        f += a
    return _exp_minus_square(xp.minimum(a, _UNDERFLOW), xp) * ONE_OVER_SQRT_PI / f


def _middle_correction(a):
    """erf(a) - erf(3/2) for float64 a in [1, 2): the Taylor series about 3/2 less its constant term."""
    h = a - _CENTER
    return _SLOPE_CENTER * h * _polynomial(_TAYLOR, h)


def _erf_of_magnitude(a, xp):
    """erf(a) for a flat float64 array a >= 0 (NaN allowed), each interval on its own elements."""
    out = xp.empty_like(a)
    small = a < 1.0
    middle = (a >= 1.0) & (a < _TAIL_START)
    tail = ~(small | middle)  # a >= 2, and NaN
    s = a[small]
    out[small] = s + s * _polynomial(_MACLAURIN, s * s)
    out[middle] = _ERF_CENTER + _middle_correction(a[middle])
    out[tail] = 1.0 - _erfc_continued_fraction(a[tail], xp)
    return out


def _as_float64(x, xp):
    x = xp.asarray(x)
    return x.astype(xp.float64, copy=False).reshape(-1), x.shape, (x.dtype if x.dtype.kind == "f" else xp.float64)


def erf(x):
    """The error function of a float array (NumPy or CuPy), elementwise; same shape and dtype.

    erf(-x) = -erf(x) (so erf(-0) = -0), erf(+-inf) = +-1, NaN stays NaN.
    """
    xp = get_array_module(x)
    flat, shape, dtype = _as_float64(x, xp)
    y = xp.copysign(_erf_of_magnitude(xp.abs(flat), xp), flat)
    return y.reshape(shape).astype(dtype, copy=False)


def erfc(x):
    """1 - erf(x) without the cancellation of that difference for large x; same shape and dtype.

    erfc(x) for x >= 2 is the continued fraction itself (relative accuracy down to the smallest
    float64, erfc(27) ~ 5e-319), on [1, 2) erfc(3/2) minus the Taylor correction, below 1 it is
    1 - erf(x) (1 + erf(|x|) for x < 0, no cancellation).
    erfc(-inf) = 2, erfc(inf) = 0, NaN stays NaN.
    """
    xp = get_array_module(x)
    flat, shape, dtype = _as_float64(x, xp)
    out = xp.empty_like(flat)
    tail = flat >= _TAIL_START
    middle = (flat >= 1.0) & ~tail
    rest = ~(tail | middle)  # x < 1, and NaN
    out[tail] = _erfc_continued_fraction(flat[tail], xp)
    out[middle] = _ERFC_CENTER - _middle_correction(flat[middle])
    r = flat[rest]
    out[rest] = 1.0 - xp.copysign(_erf_of_magnitude(xp.abs(r), xp), r)
    return out.reshape(shape).astype(dtype, copy=False)
