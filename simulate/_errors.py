"""Errors raised by the simulator: re-exported from :mod:`featavg._errors`, the one home of
featavg's error classes (shared by ``featavg.theory``, ``featavg.simulate`` and the CLI).

All input errors are :class:`InvalidParameter` (a :class:`ValueError`) whose message names the
parameter, shows the offending value and states the valid range, so that the CLI can print it
verbatim and exit with status 2.
"""

from featavg._errors import FeatavgError, InvalidParameter, NumericalError, RunFileError, UsageError

__all__ = ["FeatavgError", "UsageError", "InvalidParameter", "RunFileError", "NumericalError"]
