r"""C7.ce_margin_ode: late-phase cross-entropy margins evolve independently (the decoupling).

Regime: neuron :math:`(j, r)` active on cluster :math:`j` only, so :math:`f_j(\mu_c) = 0` for
:math:`c \ne j` and the cluster-:math:`c` loss is :math:`\log(1 + (k-1)e^{-q_c})`,
:math:`q_c = f_c(\mu_c)`. Gradient flow gives :math:`\dot q_c = \frac{d+1}{hk}\,\frac{k-1}{e^{q_c}+k-1}`:
each margin evolves on its own (no :math:`\sum_i g_i` coupling as in C7.margin_ode).

Evidence: multi-class nets trained with cluster labels at ``d = 10^6``: each cluster's margin at the
end of the late-phase window against the finite-``n`` map (appended to the derivation). The built
regime's one-step identity is a test (``tests/test_late_regime.py``).
"""

import numpy as np
import sympy as sp

from featavg.claims._late import describe
from featavg.evidence import Band, Check, Outcome, Rival
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
    more_steps, more_preds = _finite_n(rhs, h)  # appended (issue 14): the trained net's finite-n map
    steps, preds = steps + more_steps, {**preds, **more_preds}
    return Claim(id=ID, title="Late-phase cross-entropy margins evolve independently (decoupling)",
                 statement=statement,
                 assumptions="Decoupled regime: neuron (j, r) active on cluster j only; cluster labels; noise averaged out.",
                 regime="late phase, leading order in d and n", steps=steps, predictions=preds)


def _finite_n(rhs, h):
    r"""The cross-entropy late-phase map of a trained net at finite ``n`` (appended to :func:`derive`).

    As C7.margin_ode's appendix, for the decoupled net: a training point ``i`` of cluster ``c``
    has margin :math:`u_i = f_c(x_i)` (its other outputs off) and loss
    :math:`\ell(u_i) = \log(1 + (k-1)e^{-u_i})`, :math:`-\ell' = \gamma(u) = (k-1)/(e^u + k - 1)`.
    With the leading-order Gram matrix one GD step moves the centre margin by
    :math:`\frac{\eta}{h}(d + 1)\pi_c\bar\gamma_c` and each training point's margin by that plus
    its own noise's :math:`\eta\sigma^2 d\gamma(u_i)/(h n)`. The bias term ``1`` becomes
    ``d/(d + k - 1)`` when the neuron sits at its activation boundary on the ``k - 1`` other
    clusters (the identity of C7.margin_ode's appendix with ``K = k - 1``).
    """
    dd, nn, et, sg = sp.symbols("d n eta sigma", positive=True)
    ell = sp.Function("ell")
    kk, H, sizes = 2, 2, (2, 1)
    cl = [c for c, s_ in enumerate(sizes) for _ in range(s_)]
    N_, D_ = len(cl), kk + len(cl)
    basis = sp.eye(D_)
    mu = [sp.sqrt(dd) * basis[:, c] for c in range(kk)]
    X = [mu[c] + sg * sp.sqrt(dd) * basis[:, kk + i] for i, c in enumerate(cl)]
    W = sp.Matrix(kk * H, D_, lambda r, a: sp.Symbol(f"w_{r}_{a}", real=True))  # row c*H + r: neuron (c, r)
    b = sp.Matrix(kk * H, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))

    def f(c, x):
        return sum((W[c * H + r, :] * x)[0] + b[c * H + r] for r in range(H)) / H

    u = [sp.expand(f(c, X[i])) for i, c in enumerate(cl)]
    qc = [f(c, mu[c]) for c in range(kk)]
    L = sum(ell(ui) for ui in u) / nn
    params = list(W) + list(b)
    G = sp.symbols(f"gamma_0:{N_}", positive=True)
    xs = sp.Symbol("x")
    minus_g = {sp.Subs(sp.Derivative(ell(xs), xs), xs, u[i]): -G[i] for i in range(N_)}
    new = {th: th - et * sp.diff(L, th).xreplace(minus_g) for th in params}
    pi_c, g_c, kap = sp.symbols("pi_c gamma_c kappa", nonnegative=True)
    dq_map = et / h * (d + kap) * pi_c * g_c
    self_map = et * sg ** 2 * d * g_c / (h * nn)
    gam = (k - 1) / (sp.exp(q) + k - 1)

    def gd_identity():
        ok = True
        for c in range(kk):
            mine = [i for i in range(N_) if cl[i] == c]
            target = dq_map.subs({h: H, d: dd, pi_c: len(mine) / nn, g_c: sum(G[i] for i in mine) / len(mine), kap: 1})
            ok &= is_zero(qc[c].xreplace(new) - qc[c] - target)
        for i in range(N_):
            dqc = qc[cl[i]].xreplace(new) - qc[cl[i]]
            ok &= is_zero(u[i].xreplace(new) - u[i] - dqc - self_map.subs({h: H, d: dd, g_c: G[i]}))
        return ok

    def limit_l2():
        step = dq_map.subs({pi_c: 1 / k, g_c: gam, kap: 1})
        return is_zero(step - et * rhs) and sp.limit(self_map, nn, sp.oo) == 0

    Kk, Zz = sp.symbols("K Z", real=True)
    factor = d / (d + Kk)
    Dq, Du = notation("Delta")(sp.Symbol("q_c")), notation("Delta")(sp.Symbol("u_i"))
    steps = (
        Step("cross-entropy of a decoupled point: -d/du log(1 + (k-1)e^{-u}) = (k-1)/(e^u + k - 1)",
             sp.Eq(-sp.Derivative(sp.log(1 + (k - 1) * sp.exp(-q)), q), gam, evaluate=False),
             lambda: is_zero(-sp.diff(sp.log(1 + (k - 1) * sp.exp(-q)), q) - gam)),
        Step("one GD step at finite n: the centre margin moves by (eta/h)(d + 1) pi_c gammabar_c, each training "
             "point's by that plus eta sigma^2 d gamma(u_i)/(h n)",
             sp.And(sp.Eq(Dq, dq_map.subs(kap, 1), evaluate=False),
                    sp.Eq(Du, Dq + self_map.subs(g_c, sp.Symbol("gamma_i")), evaluate=False)),
             gd_identity, generality="instance", instances="k = 2, h = 2, clusters of 2 and 1 training points"),
        Step("n -> oo (pi_c = 1/k, no self term, bias term 1): the map is the Euler step of the ODE",
             sp.Eq(dq_map.subs({pi_c: 1 / k, g_c: gam, kap: 1}), et * rhs, evaluate=False), limit_l2),
    )
    preds = {
        "gamma": lambdify_prediction([q, k], gam, "gamma(u) = (k-1)/(e^u + k - 1): a decoupled point's loss weight"),
        "finite_n_increment": lambdify_prediction(
            [et, h, d, pi_c, g_c, kap], dq_map,
            "one GD step of the centre margin q_c at finite n: (eta/h)(d + kappa) pi_c gamma_c"),
        "self_increment": lambdify_prediction(
            [et, h, d, nn, sg, g_c], self_map, "a training point's own-noise step: eta sigma^2 d gamma(u_i)/(h n)"),
        "bias_factor": lambdify_prediction([d, Kk], factor, "d/(d + K), K = k - 1: the bias term at the boundary"),
        "boundary_drift": lambdify_prediction([Zz, d, Kk], Zz / (d + Kk), "Z/(d + K): the bias change from a boundary drift Z"),
    }
    return steps, preds


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    from featavg.claims._late import iterate_map, late_windows, neglected, vector_terms

    wins, skipped = late_windows(ctx, "ce")
    g = ctx.prediction("C7.margin_ode", "g")
    variants = {"binary-loss weight g(q) = 1/(1+e^q) (the logistic rate)": dict(weight=lambda u: np.asarray(g(u), float)),
                "C from the sizes alone (pi_c = 1/k, no own noise)": dict(counts=False, self_term=False),
                "no own-noise term (points at the centre margin)": dict(self_term=False)}
    pred, meas, base, parts = [], [], [], []
    rivals = {name: [] for name in variants}
    for w in wins:
        qm, um, info = iterate_map(ctx, w)
        parts.append(neglected(w, qm, um, info))
        pred.append(qm)
        meas.append(w.q1)
        base.append(iterate_map(ctx, w, counts=False, self_term=False, coupling="inactive", drift=False)[0])
        for name, kw in variants.items():
            rivals[name].append(iterate_map(ctx, w, **kw)[0])
    terms, z = vector_terms(parts, "cluster margins")
    pred, meas = np.concatenate(pred), np.concatenate(meas)
    return Outcome(pred, meas, Band(pred, terms), rivals={k_: np.concatenate(v) for k_, v in rivals.items()},
                   seeds=[w.seed for w in wins], baseline=np.concatenate(base),
                   details={"windows": [w.summary() for w in wins], "skipped_seeds_outside_the_regime": skipped, "bonferroni_z": z,
                            "max_abs_error": float(np.max(np.abs(meas - pred)))},
                   config={"run": wins[0].config.to_dict(), "window": [wins[0].spec["t0"], wins[0].spec["T"]]})


TRAINED = Check(
    "C7.ce_margin_ode",
    "Cross-entropy, trained net: each cluster's margin follows its own map (d + kappa) pi_c gamma(u_c)/h, "
    "gamma = (k-1)/(e^u + k - 1) (finite n: measured counts and state at t0)",
    describe("ce") + "; neuron (c, r) active on every point of cluster c over the window",
    _measure,
    rivals=(Rival("binary-loss weight g(q) = 1/(1+e^q) (the logistic rate)",
                  "the logistic loss's rate instead of cross-entropy's"),
            Rival("C from the sizes alone (pi_c = 1/k, no own noise)", "the L2 constant (d + 1)/(hk)"),
            Rival("no own-noise term (points at the centre margin)", "the finite-n correction of order k/n dropped")),
    faults=("gradient", "untrained", "average", "closed_form"), slow=True)
