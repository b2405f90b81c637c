r"""C7.ce_decoupling: with cluster labels the early gradient decouples the features.

Softmax cross-entropy at ``f = 0`` has :math:`\partial CE/\partial f_j = 1/k - 1\{j = c\}`, so by the
Stein-lemma steps of C7.early_gradient the early gradient of neuron :math:`(j, r)` projects on the
features as

.. math:: -\langle\nabla_{w_{j,r}} L, \mu_c\rangle/d \to (1\{c = j\} - 1/k)\,\Phi(a_c/\|w\|)/(kh):

it pushes its own feature and pulls every other one, unlike binary labels (C7.early_gradient).

Evidence: the simulator's gradient at a small random initialisation, as for C7.early_gradient.
"""

import sympy as sp

from featavg.claims.c7_early_gradient import A_PRE, SIGMA, cluster_sum, early_outcome
from featavg.evidence import Check, Rival
from featavg.theory import Claim, Inner, Step, is_zero, lambdify_prediction
from featavg.theory._claim import Text
from featavg.theory._common import Phi, d, evaluate_sums, factor_sums, k, phi_positive

ID = "C7.ce_decoupling"
ORDER = (7, 1)


def derive():
    """The claim: with cluster labels the early gradient on w_j pushes mu_j, pulls mu_{j'}; from the
    softmax Jacobian for every k and the Stein steps of C7.early_gradient."""
    h = sp.Symbol("h", positive=True, integer=True)
    c, j, l, cp, i = sp.symbols("c j l c' i", positive=True, integer=True)   # label c, output j
    F = sp.IndexedBase("f", real=True)
    ce = sp.log(sp.Sum(sp.exp(F[l]), (l, 1, k))) - F[c]
    ranges = [(c, 1, k), (j, 1, k), (l, 1, k), (i, 1, k), (cp, 1, k)]
    def at_f_zero(expr):
        return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == F, lambda e: sp.S.Zero)

    # -dCE/df_j at f = 0, for every k: delta_cj - 1/k
    softmax0 = -at_f_zero(evaluate_sums(sp.diff(ce, F[j]), ranges)).doit()
    a, kap = sp.IndexedBase("a", real=True), sp.Symbol("c", real=True)
    # -<grad_{w_{j,r}} L, mu_i> = (1/h) E[(-dCE/df_j) H(z_{j,r}) <x, mu_i>], clusters c' with probability 1/k
    weight = softmax0.xreplace({c: cp}) / (h * k)
    derived = evaluate_sums(factor_sums(sp.expand(cluster_sum(weight, cp, i, a[cp], kap))), ranges)
    leading = sp.limit(derived.xreplace({s: sp.Dummy() for s in derived.atoms(sp.Sum)}) / d, d, sp.oo)
    own = leading.subs(i, j).subs(a[j], A_PRE)
    other = sp.simplify(leading.xreplace({sp.KroneckerDelta(i, j): 0, sp.KroneckerDelta(j, i): 0})).subs(a[i], A_PRE)
    a_s, s_ = A_PRE, SIGMA
    delta_ij = sp.KroneckerDelta(i, j)
    grad = -Inner(sp.Derivative(sp.Symbol("L"), sp.Symbol("w_j,r")), sp.Symbol("mu_i")) / d
    statement = sp.Eq(sp.Limit(grad, d, sp.oo), (delta_ij - 1 / k) * Phi(a[i] / s_) / (k * h))
    shown_own = (1 - 1 / k) * Phi(a_s / s_) / (k * h)
    shown_other = -Phi(a_s / s_) / (k ** 2 * h)

    def sign(positive):
        def check(st):
            ok = phi_positive()
            concl = st.args[1] if isinstance(st, sp.Implies) else st
            expr, zero = (concl.lhs, concl.rhs) if positive else (concl.lhs, concl.rhs)
            target = own if positive else other
            ok &= zero == 0 and is_zero(expr - target)
            ok &= isinstance(concl, sp.StrictGreaterThan if positive else sp.StrictLessThan)
            ratio = sp.simplify(target / Phi(a_s / s_))
            return ok and bool((ratio.subs(k, k + 1) if positive else ratio).is_positive is positive)
        return check

    steps = (
        Step(Text("softmax cross-entropy at ", sp.Eq(sp.Symbol("f"), 0, evaluate=False), ", for every ", k,
                  ": every output has probability ", 1 / k, ", so ", -sp.Symbol("dCE/df_j"), " is"),
             sp.Eq(-sp.Subs(sp.Derivative(sp.Symbol("CE"), F[j]), F[j], 0), sp.KroneckerDelta(c, j) - 1 / k,
                   evaluate=False),
             lambda st: is_zero(softmax0 - st.rhs)),
        Step(Text("with the Stein steps of C7.early_gradient, summed over the ", k, " cluster labels, to leading "
                  "order in ", d),
             statement, lambda st: is_zero(leading - st.rhs)),
        Step(Text("the own feature's coefficient is positive (", sp.Ge(k, 2, evaluate=False), ")"),
             sp.Implies(sp.Ge(k, 2, evaluate=False), sp.Gt(shown_own, 0, evaluate=False), evaluate=False), sign(True)),
        Step("every other feature's coefficient is negative", sp.Lt(shown_other, 0, evaluate=False), sign(False)),
    )
    preds = {"own": lambdify_prediction([a_s, s_, k, h], own, "(1 - 1/k) Phi(a/||w||)/(k h)"),
             "other": lambdify_prediction([a_s, s_, k, h], other, "-(1/k) Phi(a/||w||)/(k h)")}
    # appended (issue 14): the per-cluster weight, for the sampling law of C7.early_gradient
    delta_cj = sp.Symbol("delta_cj")  # 1{c = j}
    weight = (delta_cj - 1 / k) / h
    steps = steps + (
        Step(Text("weight of cluster ", c, " in neuron ", sp.Tuple(j, sp.Symbol("r")), "'s gradient at ",
                  sp.Eq(sp.Symbol("f"), 0, evaluate=False), " (", sp.Eq(delta_cj, sp.KroneckerDelta(c, j), evaluate=False),
                  "): the mixture mean ", sp.Symbol("omega_c") * Phi(a_s / s_) / k,
                  " is the own and the other coefficient above"),
             sp.Eq(sp.Symbol("omega_c"), weight, evaluate=False),
             lambda st: is_zero(st.rhs.subs(delta_cj, 1) * Phi(a_s / s_) / k - own)
             and is_zero(st.rhs.subs(delta_cj, 0) * Phi(a_s / s_) / k - other)),)
    preds = {**preds, "weight": lambdify_prediction(
        [delta_cj, k, h], weight, "omega_c = (1{c = j} - 1/k)/h: cluster c's weight in -<grad_{w_j,r} L, .>/d at f = 0")}
    return Claim(id=ID, title="Cross-entropy with cluster labels: the early gradient decouples the features",
                 statement=statement,
                 assumptions=Text("As C7.early_gradient; softmax cross-entropy with cluster labels, ",
                                  sp.Symbol("f"), " near 0; ", sp.Symbol("h"), " neurons per output."),
                 regime=Text("early phase, leading order in ", d), steps=steps, predictions=preds)


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
