"""Predictions of the theory claims at numeric values, for the commands that print them.

Every number here is evaluated from a function that ``featavg.theory`` lambdified from a claim's
SymPy expression (SPEC §6: predictions are never retyped).
"""

from featavg.theory import get_claim

__all__ = ["predicted_radii"]


def predicted_radii(d, k):
    """The three radii of SPEC C3-C5 for a balanced partition (``|J_{-y}| = k/2``).

    Returns
    -------
    dict
        ``sqrt_d_over_k`` (C3.averaging_radius), ``sqrt_d_over_1_plus_half_k`` (C5.readouts, sum
        readout) and ``sqrt_d_over_2`` (C5.readouts, argmax readout; the optimum of C4).
    """
    readouts = get_claim("C5.readouts").predictions
    return {
        "sqrt_d_over_k": float(get_claim("C3.averaging_radius").predictions["radius_balanced"](d=d, k=k)),
        "sqrt_d_over_1_plus_half_k": float(readouts["radius_sum"](d=d, K=k / 2)),
        "sqrt_d_over_2": float(readouts["radius_argmax"](d=d)),
    }
