r"""C7.ce_margin_ode: late-phase cross-entropy margins evolve independently (the decoupling).

Regime: neuron :math:`(j, r)` active on cluster :math:`j` only, so :math:`f_j(\mu_c) = 0` for
:math:`c \ne j` and the cluster-:math:`c` loss is :math:`\log(1 + (k-1)e^{-q_c})`,
:math:`q_c = f_c(\mu_c)`. Gradient flow gives :math:`\dot q_c = \frac{d+1}{hk}\,\frac{k-1}{e^{q_c}+k-1}`:
each margin evolves on its own (no :math:`\sum_i g_i` coupling as in C7.margin_ode).

Evidence: one GD step of a decoupled net built exactly in this regime.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, round_off
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._common import d, k

ID = "C7.ce_margin_ode"
ORDER = (7, 6)

t = sp.Symbol("t", nonnegative=True)
q = sp.Symbol("q", real=True)


def derive():
    r"""C7.ce_margin_ode: late-phase cross-entropy dynamics of the decoupled multi-class net.

    Regime: neuron :math:`(j, r)` active on cluster :math:`j` only, so :math:`f_j(\mu_c) = 0` for
    :math:`c \ne j` and the cluster-:math:`c` loss is :math:`\log(1 + (k-1)e^{-q_c})`,
    :math:`q_c = f_c(\mu_c)`. Gradient flow gives
    :math:`\dot q_c = \frac{d+1}{hk}\,\frac{k-1}{e^{q_c}+k-1}`: each margin evolves on its own (no
    :math:`\sum_i g_i` coupling as in C7.margin_ode), which is the decoupling.
    """
    h = sp.Symbol("h", positive=True)
    kk, H = 3, 2
    u = sp.Matrix(H * kk, 1, lambda r, _: sp.Symbol(f"u_{r}", real=True))  # u_{c,r}: w_{c,r} along e_c
    b = sp.Matrix(H * kk, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))
    qs = [sum(sp.sqrt(d) * u[c * H + r] + b[c * H + r] for r in range(H)) / H for c in range(kk)]
    L = sum(sp.log(1 + (kk - 1) * sp.exp(-qc)) for qc in qs) / kk
    params = list(u) + list(b)
    Q = sp.symbols(f"Q_0:{kk}", real=True)
    back = {qs[c]: Q[c] for c in range(kk)}
    qdot = [sp.simplify(sum(sp.diff(qc, th) * (-sp.diff(L, th)) for th in params).subs(back)) for qc in qs]
    rhs = (d + 1) / (h * k) * (k - 1) / (sp.exp(q) + k - 1)
    Cc = sp.Symbol("C", positive=True)
    c0 = sp.Symbol("c", real=True)
    qf = sp.Function("q")(t)
    implicit = qf + sp.exp(qf) / (k - 1) - Cc * t - c0  # = 0 along the solution, C = (d+1)/(hk)

    def chain_rule():
        return all(is_zero(qdot[c] - rhs.subs({q: Q[c], h: H, k: kk})) for c in range(kk))

    def diagonal():
        J = sp.Matrix(qdot).jacobian(Q)
        return all(J[i, j] == 0 for i in range(kk) for j in range(kk) if i != j) and \
            all(bool(sp.simplify(J[i, i]).is_negative) for i in range(kk))

    def implicit_solution():
        dq = sp.solve(sp.diff(implicit, t), sp.Derivative(qf, t))[0]
        target = (Cc * (k - 1) / (sp.exp(q) + k - 1))
        return is_zero(dq.subs(qf, q) - target)

    qc = notation("q_c")(t)
    statement = sp.Eq(sp.Derivative(qc, t), rhs.subs(q, qc))
    steps = (
        Step("chain rule through gradient flow on the CE risk equals the ODE (k=3, h=2)",
             sp.Eq(sp.Derivative(qc, t), rhs.subs(q, qc), evaluate=False), chain_rule,
             generality="instance", instances="k = 3, h = 2"),
        # shown for the first margin (Q_0: the off-diagonal entry towards Q_1 and the diagonal entry)
        Step("Jacobian diagonal (margins decoupled) with negative diagonal",
             sp.And(sp.Eq(sp.Derivative(qdot[0], Q[1]), 0, evaluate=False),
                    sp.Lt(sp.Derivative(qdot[0], Q[0]), 0, evaluate=False)),
             diagonal, generality="instance", instances="k = 3, h = 2"),
        Step("implicit solution q + e^q/(k-1) = C t + c, C = (d+1)/(hk)",
             sp.And(sp.Eq(qf + sp.exp(qf) / (k - 1), Cc * t + c0, evaluate=False),
                    sp.Eq(Cc, (d + 1) / (h * k), evaluate=False)),
             implicit_solution),
    )
    preds = {"qdot": lambdify_prediction([q, d, h, k], rhs, "dq_c/dt = (d+1)/(h k) (k-1)/(e^{q_c} + k - 1)")}
    return Claim(id=ID, title="Late-phase cross-entropy margins evolve independently (decoupling)",
                 statement=statement,
                 assumptions="Decoupled regime: neuron (j, r) active on cluster j only; cluster labels; noise averaged out.",
                 regime="late phase, leading order in d and n", steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    from featavg.simulate import Config, decoupled_late_regime, make_features, make_partition

    kk, dd, h, eta_ = 10, 200, 2, 1e-4
    F = make_features(kk, dd, ctx.rng(75))
    labels = make_partition(kk)
    q_init = np.linspace(0.2, 2.5, kk)
    net, train = decoupled_late_regime(F, labels, q_init, h=h)
    cfg = Config(k=kk, d=dd, n=train.y.size, n_test=train.y.size, h=h, sigma=0.0, eta=eta_, steps=1,
                 supervision="cluster", seed=ctx.seed)
    run = ctx.run(cfg, features=F, cluster_labels=labels, train=train, test=train, W_init=net.W, b_init=net.b)
    from featavg.claims._late import margins

    rate = (margins(run) - q_init) / eta_
    qdot = ctx.prediction(ID, "qdot")
    pred = np.asarray(qdot(q_init, dd, h, kk), float)
    band = Band(pred, (Term("round-off of the margins (8 eps max|q|) divided by eta", round_off(q_init.max(), 8) / eta_),))
    return Outcome(pred, rate, band, rivals={"binary-loss rate (d+1) g(q)/(hk)": pred * (np.exp(q_init) + kk - 1)
                                             / (kk - 1) / (1 + np.exp(q_init))},
                   details={"max_relative_error": float(np.max(np.abs(rate - pred) / np.abs(pred)))},
                   config={"k": kk, "d": dd, "h": h, "eta": eta_, "sigma": 0.0})


ONE_STEP = Check(
    "C7.ce_margin_ode", "Cross-entropy, decoupled: one GD step vs dq_c/dt = (d+1)(k-1)/(hk(e^q+k-1))",
    "decoupled net built exactly: noise-free balanced data, off-feature pre-activations -1; eta=1e-4", _measure,
    rivals=(Rival("binary-loss rate (d+1) g(q)/(hk)", "the logistic loss's rate instead of cross-entropy's"),),
    faults=("gradient",))
