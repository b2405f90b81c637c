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
    L = sp.Sum(ce_c.subs(qq, Mc), (cp, 1, k)) / k

    def minus_grad(var):
        e = evaluate_sums((-sp.diff(L, var)).xreplace({Mc: Q[cp]}), ranges)
        return e.replace(lambda x: isinstance(x, sp.Sum), lambda x: sp.Sum(sp.simplify(x.function), *x.limits))

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
                diag = sp.simplify(evaluate_sums(sp.diff(qdot, Q[c]), ranges)).subs(k, k + 1)
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
    return Claim(id=ID, title="Late-phase cross-entropy margins evolve independently (decoupling)",
                 statement=statement,
                 assumptions=Text("Decoupled regime: neuron ", sp.Tuple(sp.Symbol("j"), sp.Symbol("r")),
                                  " active on cluster ", sp.Symbol("j"), " only; cluster labels; noise-free data."),
                 regime=Text("late phase, population gradient flow, noise-free data (exact); with noise, leading order "
                             "in ", d),
                 steps=steps, predictions=preds)


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
