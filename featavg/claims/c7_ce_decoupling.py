r"""C7.ce_decoupling: with cluster labels the early gradient decouples the features.

Softmax cross-entropy at ``f = 0`` has :math:`\partial CE/\partial f_j = 1/k - 1\{j = c\}`, so by the
Stein-lemma steps of C7.early_gradient the early gradient of neuron :math:`(j, r)` projects on the
features as

.. math:: -\langle\nabla_{w_{j,r}} L, \mu_c\rangle/d \to (1\{c = j\} - 1/k)\,\Phi(a_c/\|w\|)/(kh):

it pushes its own feature and pulls every other one, unlike binary labels (C7.early_gradient).

Evidence: the simulator's gradient at a small random initialisation, as for C7.early_gradient.
"""

import numpy as np
import sympy as sp

from featavg.claims.c7_early_gradient import early_outcome
from featavg.evidence import Check, Rival
from featavg.theory import Claim, Inner, Step, is_zero, lambdify_prediction
from featavg.theory._common import Phi, d, k, phi_positive

ID = "C7.ce_decoupling"
ORDER = (7, 1)


def derive():
    """The claim: with cluster labels the early gradient on w_j pushes mu_j, pulls mu_{j'}."""
    kk = 4
    F = sp.symbols(f"f_0:{kk}", real=True)
    lse = sp.log(sum(sp.exp(Fj) for Fj in F))
    a = sp.Symbol("a", real=True)
    s_ = sp.Symbol("sigma", positive=True)
    # - <grad_{w_j} L, mu_c>/d -> (1/(k h)) (1{c=j} - 1/k) Phi(a_c/||w||)
    h = sp.Symbol("h", positive=True)
    own = (1 - 1 / k) * Phi(a / s_) / (k * h)
    other = (0 - 1 / k) * Phi(a / s_) / (k * h)
    delta_cj = sp.Symbol("delta_cj")  # Kronecker delta, 1{c = j}
    statement = sp.Eq(-Inner(sp.Derivative(sp.Symbol("L"), sp.Symbol("w_j,r")), sp.Symbol("mu_c")) / d,
                      (delta_cj - 1 / k) * Phi(a / s_) / (k * h))

    def softmax_at_zero():
        return all(is_zero((sp.diff(lse - F[c], F[j]).subs({Fi: 0 for Fi in F})) - (sp.Rational(1, kk) - (1 if c == j else 0)))
                   for c in range(kk) for j in range(kk))

    steps = (
        Step("dCE/df_j at f = 0 equals 1/k - 1{j = c} (k = 4)",
             sp.Eq(sp.Symbol("p_j") - delta_cj, 1 / k - delta_cj, evaluate=False), softmax_at_zero,
             generality="instance", instances="k = 4"),
        Step("own feature coefficient positive (k >= 2)",
             sp.Implies(sp.Ge(k, 2, evaluate=False), sp.Gt(own, 0, evaluate=False)),
             lambda: phi_positive() and bool(sp.simplify((own / Phi(a / s_)).subs(k, k + 1)).is_positive)),
        Step("other feature coefficient negative", sp.Lt(other, 0, evaluate=False),
             lambda: phi_positive() and bool(sp.simplify(other / Phi(a / s_)).is_negative)),
    )
    preds = {"own": lambdify_prediction([a, s_, k, h], own, "(1 - 1/k) Phi(a/||w||)/(k h)"),
             "other": lambdify_prediction([a, s_, k, h], other, "-(1/k) Phi(a/||w||)/(k h)")}
    # appended (issue 14): the per-cluster weight, for the sampling law of C7.early_gradient
    weight = (delta_cj - 1 / k) / h
    steps = steps + (
        Step("weight of cluster c in neuron (j, r)'s gradient at f = 0: omega_c = (1{c=j} - 1/k)/h; "
             "the mixture mean omega_c Phi/k is the own and other coefficient above",
             sp.Eq(sp.Symbol("omega_c"), weight, evaluate=False),
             lambda: is_zero(weight.subs(delta_cj, 1) * Phi(a / s_) / k - own)
             and is_zero(weight.subs(delta_cj, 0) * Phi(a / s_) / k - other)),)
    preds = {**preds, "weight": lambdify_prediction(
        [delta_cj, k, h], weight, "omega_c = (1{c = j} - 1/k)/h: cluster c's weight in -<grad_{w_j,r} L, .>/d at f = 0")}
    return Claim(id=ID, title="Cross-entropy with cluster labels: early gradient decouples features",
                 statement=statement, assumptions="As C7.early_gradient, softmax CE with cluster labels, f ~ 0.",
                 regime="early phase, leading order in d", steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    return early_outcome(ctx, "cluster", 82)


PROJECTIONS = Check(
    "C7.ce_decoupling",
    "Cluster labels, early phase: gradient on own feature (1-1/k)Phi/(kh), on others -(1/k)Phi/(kh); MSE as derived",
    "small init 1e-6, k=10, d=20, h=10, n=8000; mean over 64 seeds (quick 32) of the relative MSE against the L2 "
    "coefficients vs its derived expectation (C7.early_gradient's sampling law with the weights (1{c=j} - 1/k)/h)",
    _measure,
    rivals=(Rival("no pull on other features (1{c=j} only)", "the softmax's 1/k term dropped"),
            Rival("own coefficient 1 instead of 1 - 1/k", "the own output's softmax term dropped"),
            Rival("variance of the binomial counts only (every point's noise <xi_i, mu_j>/d dropped)",
                  "the previous sampling law, which missed each active point's noise on every feature"),
            Rival("no Stein term (the L2 coefficient exact at finite d)", "the O(1/d) mean correction missing")),
    faults=("gradient", "closed_form"))
