r"""C7.margin_ode: the late-phase per-cluster margin ODE (logistic loss, binary labels).

Late phase (docs/science.md §2, C7): all own-class neurons active on all own-class clusters,
opposite-class neurons inactive; leading order in ``d`` and ``n``, noise averaged out. In
coordinates where :math:`\mu_j = \sqrt d\, e_j`, write :math:`w_{s,r} = \sum_i u_{r,i} e_i + (\perp)`;
then :math:`q_j = y_j f(\mu_j) = \frac1m \sum_r (\sqrt d\, u_{r,j} + b_r)` for :math:`j \in J_s`,
and the population risk restricted to those clusters is :math:`\frac1k\sum_{j\in J_s}\ell(q_j)`.
Gradient flow on it gives

.. math:: \dot q_j = \frac{1}{mk}\Big(d\,g_j + \sum_{i\in J_s} g_i\Big),\qquad g_j = \frac{1}{1+e^{q_j}}:

lagging clusters (larger ``g_j``) catch up. The coupling :math:`\sum_i g_i` (the biases) is a
relative :math:`|J_s|/d` of the rate: visible only at small ``d``.

Evidence: one GD step of the simulator from a net built exactly in the late regime.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, round_off
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._common import d, g, k, m

t = sp.Symbol("t", nonnegative=True)
q, q0 = sp.symbols("q q_0", real=True)
C, eta = sp.symbols("C eta", positive=True)

from featavg.claims._late import late_regime_run, margins

ID = "C7.margin_ode"
ORDER = (7, 2)


def margin_rhs(qs, j, p=None):
    r"""The claimed :math:`\dot q_j = \frac1{mk}(d g_j + \sum_{i\in J_s} g_i)` (``qs`` lists ``q_i, i in J_s``)."""
    return (d * g(qs[j]) + sum(g(qi) for qi in qs)) / (m * k)


def _flow_margin_derivative(M, p):
    """dq_j/dt computed by SymPy from gradient flow on the L2 population risk (m = M, |J_s| = p)."""
    u = sp.Matrix(M, p, lambda r, i: sp.Symbol(f"u_{r}_{i}", real=True))
    b = sp.Matrix(M, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))
    qs = [sum(sp.sqrt(d) * u[r, j] + b[r] for r in range(M)) / M for j in range(p)]
    L = sum(sp.log(1 + sp.exp(-qj)) for qj in qs) / k
    params = list(u) + list(b)
    flow = {th: -sp.diff(L, th) for th in params}  # d theta / dt = -dL/dtheta
    qdot = [sum(sp.diff(qj, th) * flow[th] for th in params) for qj in qs]
    Q = sp.symbols(f"Q_0:{p}", real=True)
    back = {qs[j]: Q[j] for j in range(p)}
    return [sp.simplify(qd.subs(back)) for qd in qdot], Q, M


def derive():
    """The claim: the chain rule through gradient flow on the late-phase risk gives the ODE."""
    p_ = sp.Abs(sp.Symbol("J_s"))
    qj, i = notation("q_j")(t), sp.Symbol("i")
    gi = notation("g_i")(t)
    statement = sp.Eq(sp.Derivative(qj, t), (d / (1 + sp.exp(qj)) + sp.Sum(gi, (i, 1, p_))) / (m * k))

    def ode(M, p):
        """The ODE for the first margin at m = M, |J_s| = p, margins q_1(t), ..., q_p(t)."""
        qf = [notation(f"q_{j + 1}")(t) for j in range(p)]
        return sp.Eq(sp.Derivative(qf[0], t), margin_rhs(qf, 0).subs(m, M), evaluate=False)

    def check(M, p):
        qdot, Q, Mval = _flow_margin_derivative(M, p)
        return all(is_zero(qdot[j] - margin_rhs(Q, j).subs(m, Mval)) for j in range(p))

    steps = tuple(
        Step(f"chain rule through gradient flow equals the ODE (m={M}, |J_s|={p})", ode(M, p),
             lambda M=M, p=p: check(M, p), generality="instance", instances=f"m = {M}, |J_s| = {p}")
        for M, p in ((1, 2), (2, 2), (2, 3))
    )
    rhs_equal = (d + sp.Symbol("p", positive=True)) * g(q) / (m * k)
    preds = {
        "qdot_equal_margins": lambdify_prediction(
            [q, d, m, k, sp.Symbol("p", positive=True)], rhs_equal,
            "dq/dt = (d + p)/(m k) * 1/(1+e^q) when all p = |J_s| margins equal q"),
        "g": lambdify_prediction([q], g(q), "g(q) = 1/(1+e^q)"),
        "rate": lambdify_prediction([q, sp.Symbol("S"), d, m, k], (d * g(q) + sp.Symbol("S")) / (m * k),
                                    "dq_j/dt = (d g(q_j) + S)/(m k), S = sum_{i in J_s} g(q_i)"),
        "rate_uncoupled": lambdify_prediction([q, d, m, k], d * g(q) / (m * k),
                                              "dq_j/dt = d g(q_j)/(m k): the ODE without the coupling term (a rival)"),
    }
    return Claim(
        id=ID, title="Late-phase per-cluster margin ODE (logistic loss, binary labels)",
        statement=statement,
        assumptions="Orthogonal equinorm features (Assumption 3.2); q_j = y_j f(mu_j); noise averaged out.",
        regime="late phase, leading order in d and n: own-class neurons active on all own clusters, "
               "opposite-class neurons inactive; corrections O(k/n) and O(sqrt(k/d)) not included",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    kk, dd, mm, eta_ = 10, 200, 5, 1e-4
    q_init = np.array([0.2, 0.5, 0.9, 1.4, 2.0, 0.3, 0.6, 1.0, 1.5, 2.5])
    run, labels = late_regime_run(ctx, q_init, eta_, 1, k=kk, d=dd, m=mm)
    rate = (margins(run) - q_init) / eta_
    g_ = ctx.prediction(ID, "g")
    full, uncoupled = np.empty(kk), np.empty(kk)
    for s in (1, -1):
        idx = labels == s
        S = float(np.sum(g_(q_init[idx])))
        full[idx] = ctx.prediction(ID, "rate")(q_init[idx], S, dd, mm, kk)
        uncoupled[idx] = ctx.prediction(ID, "rate_uncoupled")(q_init[idx], dd, mm, kk)
    # one GD step is exactly one Euler step here (no activation changes, margins linear in the
    # weights): increment/eta equals the rate up to the round-off of q (~eps |q|) divided by eta
    band = Band(full, (Term("round-off of the margins (8 eps max|q|) divided by eta", round_off(q_init.max(), 8) / eta_),))
    return Outcome(full, rate, band, rivals={"no coupling term (d g_j/(mk))": uncoupled,
                                             "coupling over all k clusters": full + np.array(
                                                 [float(np.sum(g_(q_init[labels != labels[j]]))) for j in range(kk)]) / (mm * kk)},
                   details={"max_relative_error": float(np.max(np.abs(rate - full) / np.abs(full)))},
                   config={"k": kk, "d": dd, "m": mm, "eta": eta_, "sigma": 0.0})


ONE_STEP = Check(
    "C7.margin_ode", "One GD step of the simulator vs dq_j/dt = (d g_j + sum_{J_s} g_i)/(mk)",
    "late regime built exactly: noise-free balanced data, own neurons active, opposite at -1; k=10, d=200, "
    "eta=1e-4 (d small so that the coupling sum_i g_i is 2.5% of the rate)", _measure,
    rivals=(Rival("no coupling term (d g_j/(mk))", "the biases' coupling between clusters dropped"),
            Rival("coupling over all k clusters", "the coupling summed over both classes")),
    faults=("gradient",))
