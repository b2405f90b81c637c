"""argparse value types: each checks one argument and names it in its message (a usage error, exit 2)."""

import argparse

__all__ = ["nonnegative_int", "positive_int", "positive_float"]


def nonnegative_int(text):
    """An integer >= 0 (seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer (expected an integer >= 0)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (expected an integer >= 0)")
    return value


def positive_int(text):
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer (expected an integer >= 1)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive (expected an integer >= 1)")
    return value


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
