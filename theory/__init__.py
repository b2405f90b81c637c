"""featavg.theory: the SymPy side of the claims (never imports the simulator).

It defines what a claim is (:class:`Claim`: statement, assumptions, regime, machine-checked
:class:`Step` objects, numeric predictions lambdified from the statement's expressions) and the
SymPy tools claims are written with (notation that prints the same in LaTeX and MathML, a KKT
solver for minimal-norm problems, the Gaussian CDF and density, symbolic gradient oracles). The
claims themselves live in claim modules, one per claim with its evidence beside it
(:mod:`featavg.claims`; discovered by ``featavg``)::

    >>> import featavg
    >>> c = featavg.get_claim("C3.averaging_radius")
    >>> c.predictions["radius_balanced"](d=3072, k=10)   # sqrt(d/k)
    17.52...
    >>> all(r["passed"] for r in c.run_checks())
    True

Every step states a SymPy expression (``Step.expr``) from which its LaTeX (``Step.latex``) and
presentation MathML (``Step.mathml``) are printed, so the two cannot disagree. Only SymPy, NumPy,
SciPy, mpmath and the standard library are used.
"""

from featavg.theory._activations import SymbolicActivation, activation
from featavg.theory._claim import (GENERALITIES, Claim, Inner, Norm, Step, is_zero, lambdify_prediction, notation,
                                   to_mathml)
from featavg.theory._common import Phi, kkt_min_norm, phi
from featavg.theory._gradients import ReLU, binary_loss_and_grad_symbolic, logistic_loss, multiclass_loss_and_grad_symbolic

__all__ = [
    "Claim", "Step", "GENERALITIES", "is_zero", "lambdify_prediction", "notation", "Inner", "Norm", "to_mathml",
    "ReLU", "binary_loss_and_grad_symbolic", "multiclass_loss_and_grad_symbolic", "logistic_loss",
    "kkt_min_norm", "Phi", "phi", "SymbolicActivation", "activation",
]
