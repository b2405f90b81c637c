"""Small validators: each checks one argument and returns it cleaned (SciPy ``_ivp/common`` style)."""

import math
import numbers

import numpy as np

from ._errors import InvalidParameter

__all__ = [
    "validate_int",
    "validate_real",
    "validate_choice",
    "validate_array",
]


def validate_int(name, value, *, low=None, high=None, valid=None):
    """Return ``value`` as an ``int`` with ``low <= value <= high`` (either bound optional)."""
    if valid is None:
        parts = []
        if low is not None:
            parts.append(f"{low} <=")
        parts.append(name)
        if high is not None:
            parts.append(f"<= {high}")
        valid = "an integer " + (" ".join(parts) if len(parts) > 1 else "")
        valid = valid.strip()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidParameter(name, value, valid)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidParameter(name, value, valid)
    return value


def validate_real(name, value, *, low=None, low_open=False, high=None, valid=None):
    """Return ``value`` as a finite ``float`` above ``low`` (strictly if ``low_open``)."""
    if valid is None:
        if low is None:
            valid = "a finite real number"
        else:
            valid = f"a finite real number {'>' if low_open else '>='} {low}"
        if high is not None:
            valid += f" and <= {high}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidParameter(name, value, valid)
    value = float(value)
    if not math.isfinite(value):
        raise InvalidParameter(name, value, valid)
    if low is not None and (value < low or (low_open and value == low)):
        raise InvalidParameter(name, value, valid)
    if high is not None and value > high:
        raise InvalidParameter(name, value, valid)
    return value


def validate_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise InvalidParameter(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def validate_array(name, value, *, shape, dtype=np.float64, finite=True):
    """Return ``value`` as a C-contiguous array of ``dtype`` and the given ``shape``.

    ``shape`` is a tuple whose entries are ints or ``None`` (any size).
    """
    try:
        arr = np.ascontiguousarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(name, type(value).__name__, f"an array convertible to {np.dtype(dtype).name}") from exc
    expected = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        raise InvalidParameter(name, f"array of shape {arr.shape}", f"an array of shape {expected}")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InvalidParameter(name, "array with non-finite entries", "finite entries only")
    return arr
