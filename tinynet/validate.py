"""Argument checks shared by the engine and the command line: one rule, one message.

    check_number("--lr", lr, low=0)                          a finite real number >= 0
    check_number("StepLR: step_size", n, integer=True, low=1)
    check_number("--dropout", p, low=0, high=1, high_open=True)
    is_int(n)                                                 an int, not a bool (NumPy ints count)

Each returns the value when it passes and raises TypeError (not a number: a str, a bool, None) or
ValueError (NaN, infinite, out of range) whose message starts with ``what``, states the rule and
quotes the value given, e.g. "--lr must be a finite number >= 0, got nan".
"""
import math
import numbers


def is_int(value) -> bool:
    """True for a Python or NumPy integer, False for a bool (True is not a size, a dim or a count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_number(what, value, *, integer=False, low=None, high=None, low_open=False, high_open=False):
    """``value`` if it is a finite real number (an int when ``integer``) in the bounds, else an error.

    low, high    bounds (None: unbounded); low_open / high_open exclude the bound itself.
    """
    kind = "an int" if integer else "a finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real):
        raise TypeError(f"{what} must be {kind}{_bounds(low, high, low_open, high_open)}, got {value!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond float's range: finite as an int, too large as a float
        finite = integer
    outside = (not finite
               or (low is not None and (value <= low if low_open else value < low))
               or (high is not None and (value >= high if high_open else value > high)))
    if outside:
        raise ValueError(f"{what} must be {kind}{_bounds(low, high, low_open, high_open)}, got {value!r}")
    return value


def _bounds(low, high, low_open, high_open):
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return (" " + " and ".join(parts)) if parts else ""
