"""Printing results: JSON for scripts, aligned text for people."""

import json
import math
import sys

import numpy as np

__all__ = ["print_json", "to_jsonable"]


def to_jsonable(obj):
    """Convert NumPy scalars and arrays to plain Python; non-finite floats become ``None``."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(obj, file=None):
    json.dump(to_jsonable(obj), file or sys.stdout, indent=2, allow_nan=False)
    (file or sys.stdout).write("\n")


#: below this magnitude a measured number is float64 round-off (or a solver's residual): printed as
#: a bound, not as digits that change with the BLAS kernel of the machine
ROUND_OFF = 1e-8


def fmt(v, _nested=False, digits=4):
    """The one formatter of numbers as text (tables, pages, captions).

    Floats with ``digits`` significant digits (``%.4g``), magnitudes below :data:`ROUND_OFF` as
    ``< 1e-08``, booleans as yes/no, sequences in brackets, dicts as ``key = value`` lists. The
    same value always gives the same text, so reports are reproducible across BLAS kernels.
    """
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        if v != 0.0 and abs(v) < ROUND_OFF:
            return f"< {ROUND_OFF:.0e}" if v > 0 else f"> -{ROUND_OFF:.0e}"
        s = f"{v:.{digits}g}"
        return "0" if s == "-0" else s
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return fmt(v.item(), _nested, digits)
    if isinstance(v, dict):
        inner = ", ".join(f"{k} = {fmt(x, True, digits)}" for k, x in v.items())
        return "{" + inner + "}" if _nested else inner
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(fmt(x, True, digits) for x in v) + "]"
    return str(v)


def fmt_short(v, width=10):
    """:func:`fmt` cut to ``width`` characters for a table cell (vectors as ``[a, b, ...]``)."""
    if isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v) == 1 and len(v) > 2:
        s = f"[{fmt(v[0], True)}, {fmt(v[1], True)}, ...]"
    else:
        s = fmt(v)
    return s if len(s) <= width else s[:width - 1] + "\u2026"
