"""argparse value types: each checks one argument and names it in its message (a usage error, exit 2)."""

import argparse

__all__ = ["nonnegative_int", "positive_int", "positive_float"]


def _int_at_least(text, low, failing):
    """``int(text)`` if it is ``>= low``; ``failing`` names what a smaller value is."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer (expected an integer >= {low})") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} is {failing} (expected an integer >= {low})")
    return value


def nonnegative_int(text):
    """An integer >= 0 (seeds)."""
    return _int_at_least(text, 0, "negative")


def positive_int(text):
    """An integer >= 1."""
    return _int_at_least(text, 1, "not positive")


def positive_float(text):
    """A finite real number > 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (expected a finite number > 0)") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{value!r} is not a finite number > 0")
    return value
