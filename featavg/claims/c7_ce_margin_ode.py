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
from featavg.theory._claim import Inner, Text
from featavg.theory._common import d, evaluate_sums, factor_sums, k, sum_innermost, sums_equal

ID = "C7.ce_margin_ode"
ORDER = (7, 6)

t = sp.Symbol("t", nonnegative=True)
q = sp.Symbol("q", real=True)


def derive():
    r"""C7.ce_margin_ode: late-phase cross-entropy dynamics of the decoupled multi-class net, for every k, h, d.

    Regime: neuron :math:`(j, r)` active on cluster :math:`j` only, so :math:`f_j(\mu_c) = 0` for
    :math:`c \ne j` and the cluster-:math:`c` loss is :math:`\log(1 + (k-1)e^{-q_c})`,
    :math:`q_c = f_c(\mu_c)`. Gradient flow of the network (every coordinate of every
    :math:`w_{j,r}` and :math:`b_{j,r}`, noise-free data) gives
    :math:`\dot q_c = \frac{d+1}{hk}\,\frac{k-1}{e^{q_c}+k-1}`: each margin evolves on its own (no
    :math:`\sum_i g_i` coupling as in C7.margin_ode), which is the decoupling.
    """
    h = sp.Symbol("h", positive=True, integer=True)
    c, cp, j, c0, r, r0, a, a0 = sp.symbols("c c' j c_0 r r_0 a a_0", positive=True, integer=True)
    W, B, MU = sp.IndexedBase("w", real=True), sp.IndexedBase("b", real=True), sp.IndexedBase("mu", real=True)
    Q = sp.IndexedBase("q", real=True)
    ranges = [(c, 1, k), (cp, 1, k), (j, 1, k), (c0, 1, k), (r0, 1, h), (a0, 1, d)]
    qq = sp.Symbol("q_c", real=True)

    # (1) softmax at the decoupled pattern: outputs f_j(mu_c) = q_c delta_jc; exp(q delta) = 1 + (e^q - 1) delta
    sum_exp = evaluate_sums(factor_sums(sp.Sum(1 + (sp.exp(qq) - 1) * sp.KroneckerDelta(j, c), (j, 1, k))), ranges)
    ce_c = sp.log(sum_exp) - qq

    # (2) the network: q_c = (1/h) sum_r (sum_a w_{c,r,a} mu_{c,a} + b_{c,r}); L = (1/k) sum_c' CE_c'(q_c')
    def margin(cc):
        return sp.Sum(sp.Sum(W[cc, r, a] * MU[cc, a], (a, 1, d)) + B[cc, r], (r, 1, h)) / h

    Mc = margin(cp)
    ce_Mc = ce_c.subs(qq, Mc)  # L = (1/k) sum_c' ce_Mc

    def minus_grad(var):  # the derivative of the finite sum over c' is the sum of the summands' derivatives
        e = sp.simplify(evaluate_sums((-sp.diff(ce_Mc, var)).xreplace({Mc: Q[cp]}), ranges))
        return evaluate_sums(sp.Sum(e, (cp, 1, k)), ranges) / k

    dW, db = minus_grad(W[c0, r0, a0]), minus_grad(B[c0, r0])
    qc = margin(c)
    dq_dW = evaluate_sums(sp.diff(qc, W[c0, r0, a0]), ranges)
    dq_db = evaluate_sums(sp.diff(qc, B[c0, r0]), ranges)
    flow = sp.Sum(sp.Sum(sp.Sum(dq_dW * dW, (a0, 1, d)) + dq_db * db, (r0, 1, h)), (c0, 1, k))
    def gram_sub(e):  # ||mu_c||^2 = sum_a mu_{c,a}^2 = d
        return e.replace(lambda s: isinstance(s, sp.Sum) and s.limits == ((a0, 1, d),)
                         and sp.expand(s.function) == MU[c, a0] ** 2, lambda s: d)

    qdot = evaluate_sums(factor_sums(gram_sub(evaluate_sums(factor_sums(sum_innermost(flow, a0)), ranges))), ranges)
    qdot = qdot.xreplace({Mc.xreplace({cp: c}): Q[c]})

    rhs = (d + 1) / (h * k) * (k - 1) / (sp.exp(q) + k - 1)
    Cc = sp.Symbol("C", positive=True)
    c_int = sp.Symbol("c", real=True)
    qf = sp.Function("q")(t)

    def cluster_loss(st):
        return is_zero(ce_c - st.rhs)

    def chain_rule(st):
        return sums_equal(qdot, st.rhs.xreplace({sp.Symbol("q_c"): Q[c]}), ranges)

    def diagonal(st):
        ok = True
        for conj in st.args:
            D_ = evaluate_sums(sp.diff(qdot, Q[cp]), ranges)       # d qdot_c / d q_c'
            if isinstance(conj, sp.Equality):   # c' != c: the Kronecker delta of c, c' is 0
                ok &= is_zero(D_.xreplace({sp.KroneckerDelta(c, cp): 0, sp.KroneckerDelta(cp, c): 0}) - conj.rhs)
            else:
                # negative for k >= 2 (k -> k + 1 makes the sign visible to SymPy)
                diag = sp.factor(sp.simplify(evaluate_sums(sp.diff(qdot, Q[c]), ranges))).subs(k, k + 1)
                ok &= isinstance(conj, sp.StrictLessThan) and conj.rhs == 0 and bool(diag.is_negative)
        return ok

    def implicit_solution(st):
        impl = st.args[0] if isinstance(st.args[0], sp.Equality) and st.args[0].lhs.has(qf) else st.args[1]
        Cdef = st.args[1] if impl is st.args[0] else st.args[0]
        dq = sp.solve(sp.diff(impl.lhs - impl.rhs, t), sp.Derivative(qf, t))[0]
        target = rhs.subs(q, qf)
        return is_zero(dq.subs(Cc, Cdef.rhs) - target)

    qcf = notation("q_c")(t)
    statement = sp.Eq(sp.Derivative(qcf, t), rhs.subs(q, qcf))
    CE = notation("CE")
    steps = (
        Step(Text("decoupled pattern: at ", sp.Symbol("mu_c"), " only output ", c, " is active (", sp.Symbol("q_c"),
                  "), so the softmax cross-entropy of cluster ", c, " is, for every ", k),
             sp.Eq(CE(sp.Symbol("q_c")), sp.log(1 + (k - 1) * sp.exp(-qq)), evaluate=False), cluster_loss),
        Step(Text("chain rule through the network's gradient flow (every coordinate of every ",
                  sp.Symbol("w_c,r"), " and every ", sp.Symbol("b_c,r"), ", any ", h, ", ", d, "; ",
                  sp.Eq(Inner(sp.Symbol("mu_c"), sp.Symbol("mu_c")), d, evaluate=False), ")"),
             sp.Eq(sp.Derivative(sp.Symbol("q_c"), t), rhs.subs(q, sp.Symbol("q_c")), evaluate=False), chain_rule),
        Step(Text("the margins are decoupled: the Jacobian is diagonal, with a negative diagonal"),
             sp.And(sp.Eq(sp.Derivative(sp.Symbol("qdot_c"), sp.Symbol("q_c'")), 0, evaluate=False),
                    sp.Lt(sp.Derivative(sp.Symbol("qdot_c"), sp.Symbol("q_c")), 0, evaluate=False), evaluate=False),
             diagonal),
        Step(Text("implicit solution, ", sp.Eq(Cc, (d + 1) / (h * k), evaluate=False)),
             sp.And(sp.Eq(qf + sp.exp(qf) / (k - 1), Cc * t + c_int, evaluate=False),
                    sp.Eq(Cc, (d + 1) / (h * k), evaluate=False), evaluate=False),
             implicit_solution),
    )
    preds = {"qdot": lambdify_prediction([q, d, h, k], rhs, "dq_c/dt = (d+1)/(h k) (k-1)/(e^{q_c} + k - 1)")}
    more_steps, more_preds = _finite_n(rhs, h)  # appended (issue 14): the trained net's finite-n map
    steps, preds = steps + more_steps, {**preds, **more_preds}
    return Claim(id=ID, title="Late-phase cross-entropy margins evolve independently (decoupling)",
                 statement=statement,
                 assumptions=Text("Decoupled regime: neuron ", sp.Tuple(sp.Symbol("j"), sp.Symbol("r")),
                                  " active on cluster ", sp.Symbol("j"), " only; cluster labels; noise-free data."),
                 regime=Text("late phase, population gradient flow, noise-free data (exact); with noise, leading order "
                             "in ", d),
                 steps=steps, predictions=preds)


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
    from featavg.claims import c7_margin_ode as ode

    nn, et, sg = ode.n_tot, ode.eta_n, ode.sigma_n
    MU, XIP, CL, U, I, I0, A = ode.MU, ode.XIP, ode.CL, ode.U, ode.I, ode.I0, ode.A
    c, c0, r, r0, a0 = sp.symbols("c c_0 r r_0 a_0", positive=True, integer=True)
    W, B = sp.IndexedBase("w", real=True), sp.IndexedBase("b", real=True)      # w[c, r, a]: neuron (c, r)
    GAM, GBAR, PI = sp.IndexedBase("gamma", positive=True), sp.IndexedBase("gammabar", positive=True), ode.PI
    ranges = [(c, 1, k), (c0, 1, k), (r0, 1, h), (a0, 1, d), (I0, 1, nn), (CL[I], 1, k), (CL[I0], 1, k)]
    pi_c, g_c, kap = sp.symbols("pi_c gamma_c kappa", nonnegative=True)
    dq_map = et / h * (d + kap) * pi_c * g_c
    self_map = et * sg ** 2 * d * g_c / (h * nn)
    gam = (k - 1) / (sp.exp(q) + k - 1)
    ell_k = sp.log(1 + (k - 1) * sp.exp(-q))

    # one GD step of every neuron (c, r) on L = (1/n) sum_i ell(u_i), u_i = f_{c_i}(x_i) (the point's other
    # outputs are off, so only its own cluster's neurons see it), in every coordinate; leading-order Gram
    def out(cc, x):
        return sp.Sum(sp.Sum(W[cc, r, A] * x(A), (A, 1, d)) + B[cc, r], (r, 1, h)) / h

    Si = h * out(CL[I], lambda a_: MU[CL[I], a_] + XIP[I, a_])     # h u_i

    def minus_grad(var):  # of L = (1/n) sum_i ell(u_i): the sum over the points of the derivatives
        return sp.Sum(ode.loss_weight_times(sp.diff(ode.LOSS(Si / h), var), GAM[I], ranges), (I, 1, nn)) / nn

    gW, gb = minus_grad(W[c0, r0, a0]), minus_grad(B[c0, r0])

    def gd(x):  # w -> w - eta dL/dw, b -> b - eta dL/db, for any neuron (c, r) and coordinate
        if x.base == W:
            return x + et * gW.xreplace(dict(zip((c0, r0, a0), x.indices)))
        return x + et * gb.xreplace(dict(zip((c0, r0), x.indices)))

    def change(margin):
        stepped = margin.replace(lambda x: isinstance(x, sp.Indexed) and x.base in (W, B), gd)
        after = factor_sums(sum_innermost(factor_sums(stepped), A))
        return evaluate_sums(factor_sums(ode._point_gram(after)), ranges) - margin

    dq = change(out(c, lambda a_: MU[c, a_]))
    du = change(out(CL[I0], lambda a_: MU[CL[I0], a_] + XIP[I0, a_]))
    Dq, Du, Dqc = (notation("Delta")(x) for x in (sp.IndexedBase("q")[c], U[I0], sp.IndexedBase("q")[CL[I0]]))

    def counts(e):
        r""":math:`\pi_c = n_c/n`, :math:`\bar\gamma_c = \frac1{n_c}\sum_{i: c_i = c}\gamma_i`, by definition
        (:math:`\gamma_i = -\ell'(u_i)`, the point's loss weight)."""
        def n_c(c_):
            return sp.Sum(sp.KroneckerDelta(c_, CL[I]), (I, 1, nn))
        e = e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == PI, lambda x: n_c(x.indices[0]) / nn)
        e = e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == GBAR,
                      lambda x: sp.Sum(sp.KroneckerDelta(x.indices[0], CL[I]) * GAM[I], (I, 1, nn)) / n_c(x.indices[0]))
        return e

    def gd_identity(st):
        eqs = {eq.lhs: eq.rhs for eq in st.args}
        if set(eqs) != {Dq, Du}:
            return False
        point = counts(eqs[Du]).xreplace({Dqc: dq.xreplace({c: CL[I0]})})
        return sums_equal(dq, counts(eqs[Dq]), ranges) and sums_equal(du, point, ranges)

    def weight(st):
        return is_zero(-sp.diff(ell_k, q) - st.rhs)

    def limit_l2(st):
        step_ = dq_map.subs({pi_c: 1 / k, g_c: gam, kap: 1})
        return is_zero(step_ - st.lhs) and is_zero(et * rhs - st.rhs) and sp.limit(self_map, nn, sp.oo) == 0

    Kk, Zz = sp.symbols("K Z", real=True)
    factor = d / (d + Kk)
    uu = sp.Symbol("u", real=True)
    pic, nc_, gbc = sp.Symbol("pi_c"), sp.Symbol("n_c"), sp.Symbol("gammabar_c")
    steps = (
        Step(Text("cross-entropy of a decoupled point: its loss weight is ",
                  sp.Eq(-sp.Derivative(ell_k.subs(q, uu), uu), gam.subs(q, uu), evaluate=False)),
             sp.Eq(-sp.Derivative(ell_k, q), gam, evaluate=False), weight),
        Step(Text("one GD step of rate ", et, " at finite ", nn, ", in every coordinate of every neuron (any ", k, ", ",
                  h, ", ", d, ", cluster sizes ", nc_, "; leading-order Gram matrix as in C7.margin_ode): the centre "
                  "margin moves with the cluster weight ", sp.Eq(pic, nc_ / nn, evaluate=False), " and mean weight ",
                  gbc, ", each training point's by that plus its own noise's share"),
             sp.And(sp.Eq(Dq, dq_map.subs({kap: 1, pi_c: PI[c], g_c: GBAR[c]}), evaluate=False),
                    sp.Eq(Du, Dqc + self_map.subs(g_c, GAM[I0]), evaluate=False), evaluate=False),
             gd_identity),
        Step(Text("infinitely many points (", sp.Eq(pic, 1 / k, evaluate=False), ", no self term, bias term 1): "
                  "the map is the Euler step of the ODE"),
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
