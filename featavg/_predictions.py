"""Predicted radii of the claims at numeric values, for the commands and figures that print them.

Every number is evaluated from a function the claims lambdified from their SymPy expressions
(docs/science.md §6: predictions are never retyped).
"""

__all__ = ["predicted_radii"]


def predicted_radii(d, k, positive=None):
    """The radii of C3-C5 for a partition with ``|J+| = positive`` (default ``k // 2``).

    Returns
    -------
    dict
        ``sqrt_d_over_k``: C3.averaging_radius for equal scales and no biases (``sqrt(d/k)``
        whatever the partition); ``sqrt_d_over_1_plus_K``: C5.readouts' sum readout,
        ``sqrt(d/(1+K))`` with ``K = |J_-y|``, for points of ``J+`` (``K = k - positive``);
        ``sqrt_d_over_1_plus_K_minus``: the same for points of ``J-`` (``K = positive``);
        ``sqrt_d_over_2``: the argmax readout's radius and the optimum of C4.
    """
    from featavg._registry import get_claim

    positive = k // 2 if positive is None else positive
    c3 = get_claim("C3.averaging_radius").predictions
    c5 = get_claim("C5.readouts").predictions
    return {
        "sqrt_d_over_k": float(c3["radius"](d=d, k=k, p=positive, alpha_p=1.0, alpha_m=1.0, b_p=0.0, b_m=0.0)),
        "sqrt_d_over_1_plus_K": float(c5["radius_sum"](d=d, K=k - positive)),
        "sqrt_d_over_1_plus_K_minus": float(c5["radius_sum"](d=d, K=positive)),
        "sqrt_d_over_2": float(c5["radius_argmax"](d=d)),
    }
