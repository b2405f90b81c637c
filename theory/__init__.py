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
presentation MathML (``Step.mathml``) are printed, so the two cannot disagree. Prose with
mathematics (titles, assumptions, step names) is a :class:`Text` of strings and SymPy parts. A
step's check given the statement (``check(expr)``) fails on :func:`plant_error` of it: the
tests plant an error in every such step. Sizes are symbolic (``Sum`` over ``IndexedBase``
entries, evaluated by :func:`evaluate_sums` and :func:`factor_sums`), so most steps hold for
every ``k``, ``m``, ``|J_s|``, ``L``, ``K``, ``h``, ``d`` (``Step.generality``). Only SymPy, NumPy,
SciPy, mpmath and the standard library are used.
"""

from featavg.theory._activations import SymbolicActivation, activation
from featavg.theory._claim import (GENERALITIES, Claim, In, Inner, Norm, Step, SumOver, Text, as_text, is_zero,
                                   lambdify_prediction, notation, plain, plant_error, to_mathml)
from featavg.theory._common import Phi, evaluate_sums, explicit, factor_sums, kkt_min_norm, phi, sums_equal
from featavg.theory._gradients import (ReLU, binary_loss_and_grad_symbolic, logistic_loss,
                                       multiclass_loss_and_grad_symbolic)

__all__ = [
    "Claim", "Step", "GENERALITIES", "Text", "as_text", "plain", "plant_error", "is_zero", "lambdify_prediction",
    "notation", "Inner", "Norm", "SumOver", "In", "to_mathml", "evaluate_sums", "factor_sums", "sums_equal", "explicit",
    "ReLU", "binary_loss_and_grad_symbolic", "multiclass_loss_and_grad_symbolic", "logistic_loss",
    "kkt_min_norm", "Phi", "phi", "SymbolicActivation", "activation",
]
