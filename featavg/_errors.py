"""The errors featavg raises on purpose: one base class for all three packages.

``featavg.theory``, ``featavg.simulate`` and the joining package all raise these (they import this
module, which imports nothing of theirs). The CLI turns a :class:`UsageError` into one line on
stderr and exit status 2 (no traceback), a :class:`NumericalError` into exit status 1.

Hierarchy::

    FeatavgError
    ├── UsageError                 bad input from the user (exit 2)
    │   ├── InvalidParameter       a parameter outside its valid range (also a ValueError)
    │   ├── RunFileError           a saved run that cannot be read (also a ValueError)
    │   ├── UnknownClaim           an id no claim module defines (also a KeyError)
    │   └── ClaimFileError         a user's claim file that cannot be loaded (also an ImportError)
    ├── ClaimDefinitionError       a claim module breaks the claim-module protocol
    ├── OutsideRegime              a measured object is outside the regime a prediction is about
    └── NumericalError             overflow, NaN, divergence, a solver that did not converge (exit 1)
"""

__all__ = ["FeatavgError", "UsageError", "InvalidParameter", "RunFileError", "UnknownClaim",
           "ClaimFileError", "ClaimDefinitionError", "OutsideRegime", "NumericalError"]


class FeatavgError(Exception):
    """Base class of every error featavg raises on purpose."""


class UsageError(FeatavgError):
    """Bad input from the user: the CLI prints the message and exits with status 2."""


class InvalidParameter(UsageError, ValueError):
    """A parameter is outside its valid range.

    Parameters
    ----------
    name : str
        The parameter's name as the user spells it (``"k"``, ``"eta"``, ``"--seed"``...).
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

    def __reduce__(self):  # picklable across process pools (sweeps)
        return (type(self), (self.name, self.value, self.valid))


class RunFileError(UsageError, ValueError):
    """A saved run (``.npz``) cannot be read or lacks an array."""


class UnknownClaim(UsageError, KeyError):
    """An id that no discovered claim module defines; the message lists the known ids."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ClaimFileError(UsageError, ImportError):
    """A ``--claims PATH`` that is neither a Python file nor an importable module."""


class ClaimDefinitionError(FeatavgError):
    """A claim module breaks the protocol (no ``derive``, a check id outside its claim, ...).

    Raised while loading one claim; ``featavg verify`` reports it as that claim's failed row and
    runs the others.
    """


class OutsideRegime(FeatavgError, ValueError):
    """A trained net (or a run) is outside the regime a claim's prediction is about.

    Raised inside a check (its row fails with the message): e.g. a neuron inactive on its own
    class's centres, where the late-phase prediction assumes it active.
    """


class NumericalError(FeatavgError, ArithmeticError):
    """Numerical trouble: a non-finite loss or weight, an overflow, a solver that did not converge.

    The message names where it was detected; no result is written.
    """
