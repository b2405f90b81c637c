"""featavg.theory: SymPy derivations of the claims of SPEC §2 (never imports the simulator).

Each claim is a :class:`Claim` with a stable id (``"C3.averaging_radius"``, ``"C7.margin_ode"``,
...), a SymPy statement, machine-checked derivation steps and numeric predictions lambdified from
the statement's expressions::

    >>> from featavg.theory import get_claim
    >>> c = get_claim("C3.averaging_radius")
    >>> c.predictions["radius_balanced"](d=3072, k=10)   # sqrt(d/k)
    17.52...
    >>> all(r["passed"] for r in c.run_checks())
    True

Every step states a SymPy expression (``Step.expr``) from which its LaTeX (``Step.latex``) and
presentation MathML (``Step.mathml``) are printed, so the two cannot disagree.

The registry is built lazily on first access, so importing this package is fast. Only SymPy,
NumPy, SciPy, mpmath and the standard library are used.
"""

from featavg.theory._claim import (CLAIMS, Claim, Inner, Norm, Step, UnknownClaim, all_claims, get_claim, is_zero,
                                   lambdify_prediction, notation, to_mathml)
from featavg.theory._gradients import ReLU, binary_loss_and_grad_symbolic, multiclass_loss_and_grad_symbolic
from featavg.theory._robustness import kkt_min_norm

__all__ = [
    "CLAIMS", "Claim", "Step", "UnknownClaim", "all_claims", "get_claim", "is_zero", "lambdify_prediction",
    "notation", "Inner", "Norm", "to_mathml",
    "ReLU", "binary_loss_and_grad_symbolic", "multiclass_loss_and_grad_symbolic", "kkt_min_norm",
]
