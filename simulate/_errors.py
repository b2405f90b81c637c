"""Errors raised by the simulator.

All input errors are :class:`InvalidParameter` (a :class:`ValueError`) whose message names the
parameter, shows the offending value and states the valid range, so that the CLI can print it
verbatim and exit with status 2.
"""

__all__ = ["FeatavgError", "InvalidParameter", "RunFileError", "NumericalError"]


class FeatavgError(Exception):
    """Base class of every error featavg raises on purpose."""


class InvalidParameter(FeatavgError, ValueError):
    """A parameter is outside its valid range.

    Parameters
    ----------
    name : str
        The parameter's name as the user spells it (``"k"``, ``"eta"``...).
    value : object
        The offending value.
    valid : str
        The valid range in words, e.g. ``"an integer with 2 <= k <= d"``.
    """

    def __init__(self, name, value, valid):
        self.name = name
        self.value = value
        self.valid = valid
        super().__init__(f"{name}={value!r} is invalid: expected {valid}")


class RunFileError(FeatavgError, ValueError):
    """A saved run (``.npz``) cannot be read or lacks an array."""


class NumericalError(FeatavgError, ArithmeticError):
    """Numerical trouble during a run: a non-finite loss or weight, an overflow.

    The message names the step at which it was detected; no result is written.
    """
