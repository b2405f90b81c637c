r"""C7.margin_ode: the late-phase per-cluster margin ODE (logistic loss, binary labels), derived
from the network's gradient flow.

Late phase (docs/science.md §2, C7): all own-class neurons :math:`(s, r)`, :math:`r = 1..m`, active
on every point of the own clusters :math:`J_s` (``p = |J_s|`` of them), opposite-class neurons
inactive there. A point :math:`\mu_i + \xi`, :math:`i \in J_s`, then has margin
:math:`z_i = \frac1m\sum_r(\langle w_r, \mu_i + \xi\rangle + b_r) = q_i + \langle\bar w, \xi\rangle`
with :math:`q_i = y_i f(\mu_i)` and :math:`\bar w = \frac1m\sum_r w_r`. Differentiating the
network's population risk :math:`\frac1k\sum_{i\in J_s} E\,\ell(z_i)` in every coordinate of every
:math:`w_r` and :math:`b_r` (SymPy, on ``Sum`` objects over ``r = 1..m``, ``i = 1..p`` and the
``d`` coordinates), the chain rule and the Gram matrix of orthogonal equinorm features give

.. math:: \dot q_j = \frac{1}{mk}\sum_{i\in J_s} E\big[g(z_i)\,(d\,\delta_{ij} + \langle\xi,\mu_j\rangle + 1)\big],
          \qquad g(z) = \frac{1}{1+e^{z}}.

Noise-free data (:math:`\xi = 0`, the regime of the evidence) give the ODE exactly:

.. math:: \dot q_j = \frac{1}{mk}\Big(d\,g_j + \sum_{i\in J_s} g_i\Big),\qquad g_j = g(q_j):

lagging clusters (larger ``g_j``) catch up. With Gaussian noise two terms are dropped: the
noise's projection, :math:`E[g(z_i)\langle\xi,\mu_j\rangle] = v_j E[g'(z_i)]` by Stein's lemma
(:math:`v_j = \langle\bar w, \mu_j\rangle`, of the order of :math:`q_j`): a relative
:math:`O(p|q|/d)`; and the smoothing :math:`E\,g(z_i) - g(q_i)`, at most :math:`c_0\sigma^2 g(q_i)`
with :math:`\sigma = \|\bar w\|` (:math:`\sigma^2 \approx \sum_i v_i^2/d`): a relative
:math:`O(p q^2/d)`. Both vanish as :math:`d \to \infty`; the kept coupling :math:`\sum_i g_i` (the
biases) is itself a relative :math:`p/d`, the order of the Stein term, so beyond leading order it
is exact only for noise-free data (prediction ``rate_noisy`` adds the Stein term). Finite ``n``
(each training point's own noise) is not part of this population flow.

Evidence: nets trained at small ``d`` (d = 20, where the coupling is 20% of the rate): their margins'
increase over the late phase against the finite-``n`` map (appended to the derivation) with and
without the coupling. The built regime's one-step identity is a test of the implementation
(``tests/test_late_regime.py``).
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, quantile
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import Inner, Norm, Text
from featavg.theory._common import (Phi, d, evaluate_sums, explicit, factor_sums, g, k, logistic, m, p, phi,
                                    sum_innermost, sums_equal)

t = sp.Symbol("t", nonnegative=True)
q, q0 = sp.symbols("q q_0", real=True)
C, eta = sp.symbols("C eta", positive=True)

from featavg.claims._late import describe, late_windows

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


# ---- the network's gradient flow in the late-phase activation pattern, for symbolic m, p, d ----
R, R0 = sp.symbols("r r_0", positive=True, integer=True)         # neurons of the own sign
A, A0 = sp.symbols("a a_0", positive=True, integer=True)         # coordinates
I, J = sp.symbols("i j", positive=True, integer=True)            # own clusters, 1..p
W, B = sp.IndexedBase("w", real=True), sp.IndexedBase("b", real=True)
MU, XI = sp.IndexedBase("mu", real=True), sp.IndexedBase("xi", real=True)
Z, N, Q = sp.IndexedBase("z", real=True), sp.IndexedBase("N", real=True), sp.IndexedBase("q", real=True)
RANGES = [(R0, 1, m), (A0, 1, d), (I, 1, p), (J, 1, p)]


def _pre_sum(i, noise=True):
    """``m`` times the margin of the point mu_i (+ xi): sum_r (sum_a w_{r,a} x_a + b_r), every neuron active."""
    x = (lambda a: MU[i, a] + XI[a]) if noise else (lambda a: MU[i, a])
    return sp.Sum(sp.Sum(W[R, A] * x(A), (A, 1, d)) + B[R], (R, 1, m))


def _gram(expr, index=A0):
    """Orthogonal equinorm features: sum_a mu_{x,a} mu_{y,a} = d delta_xy; sum_a mu_{x,a} xi_a = N_x = <xi, mu_x>
    (sums over the coordinate ``index``)."""
    X_, Y_ = sp.Wild("X"), sp.Wild("Y")

    def rep(s):
        (idx, lo, hi), = s.limits
        f = sp.expand(s.function)
        if (lo, hi) != (1, d):
            return s
        hit = f.match(MU[X_, idx] * MU[Y_, idx])
        if hit is not None:
            return d * sp.KroneckerDelta(hit[X_], hit[Y_])
        hit = f.match(MU[X_, idx] * XI[idx])
        return N[hit[X_]] if hit is not None else s

    return expr.replace(lambda s: isinstance(s, sp.Sum) and len(s.limits) == 1 and s.limits[0][0] == index, rep)


def network_flow():
    r"""``(dW, db, qdot)``: :math:`-\partial L/\partial w_{r_0,a_0}`, :math:`-\partial L/\partial b_{r_0}`
    of :math:`L = \frac1k\sum_{i=1}^p \ell(z_i)` (pointwise in :math:`\xi`), and :math:`\dot q_j` by the
    chain rule through every coordinate, with the Gram matrix applied; :math:`z_i` (the margin of
    :math:`\mu_i + \xi`) appears as ``z[i]``."""
    S = _pre_sum(I)
    L = sp.Sum(logistic(S / m), (I, 1, p)) / k

    def minus_grad(var):
        e = evaluate_sums((-sp.diff(L, var)).xreplace({S: m * Z[I]}), RANGES)
        return e.replace(lambda x: isinstance(x, sp.Sum), lambda x: sp.Sum(sp.simplify(x.function), *x.limits))

    dW, db = minus_grad(W[R0, A0]), minus_grad(B[R0])
    qj = _pre_sum(J, noise=False) / m
    dq_dW = evaluate_sums(sp.diff(qj, W[R0, A0]), RANGES)
    dq_db = evaluate_sums(sp.diff(qj, B[R0]), RANGES)

    def summand(e):  # c Sum(f, (i, 1, p)) -> c f (to exchange the finite sums over i and a_0)
        (s,) = e.atoms(sp.Sum)
        return e.xreplace({s: s.function})

    qdot = sp.Sum(sp.Sum(sp.Sum(dq_dW * summand(dW), (A0, 1, d)) + dq_db * summand(db), (I, 1, p)), (R0, 1, m))
    qdot = evaluate_sums(factor_sums(_gram(factor_sums(qdot))), RANGES)
    return dW, db, qdot


# ---- one GD step at finite n, for symbolic m, p, d, n and any cluster sizes (appended, issue 14) ----
I0, C1 = sp.symbols("i_0 c", positive=True, integer=True)        # a training point, a cluster
NS = sp.Symbol("n_s", positive=True, integer=True)                  # training points of the own class
# c[i]: the cluster of point i, in 1..p (its label symbol carries no assumptions, so it is not the index c)
CL = sp.IndexedBase(sp.Symbol("c"), integer=True, positive=True)
XIP = sp.IndexedBase("xi", real=True)                               # xi[i, a]: point i's own noise
U = sp.IndexedBase("u", real=True)                                  # u[i]: point i's margin
GP = sp.IndexedBase("g", positive=True)                             # g[i] = g(u_i)
PI, GBAR = sp.IndexedBase("pi", positive=True), sp.IndexedBase("gbar", positive=True)
sigma_n, eta_n, n_tot = sp.Symbol("sigma", positive=True), sp.Symbol("eta", positive=True), sp.Symbol("n", positive=True)
LABEL_RANGES = [(R0, 1, m), (A0, 1, d), (J, 1, p), (I0, 1, NS), (CL[I0], 1, p), (CL[I], 1, p)]


def _point_gram(expr, index=A):
    r"""The leading-order Gram matrix of the data, on the sums over the coordinate ``index``:
    :math:`\langle\mu_x,\mu_y\rangle = d\delta_{xy}`, :math:`\langle\xi_i,\xi_{i'}\rangle = \sigma^2 d\,\delta_{ii'}`,
    :math:`\langle\mu_x,\xi_i\rangle = 0` (the dropped inner products are bounded by the evidence)."""
    X_, Y_, Z_ = sp.Wild("X"), sp.Wild("Y"), sp.Wild("Z")

    def rep(s):
        (idx, lo, hi), = s.limits
        f = sp.expand(s.function)
        if (lo, hi) != (1, d):
            return s
        hit = f.match(MU[X_, idx] * MU[Y_, idx])
        if hit is not None:
            return d * sp.KroneckerDelta(hit[X_], hit[Y_])
        hit = f.match(XIP[X_, idx] * XIP[Z_, idx])
        if hit is not None:
            return sigma_n ** 2 * d * sp.KroneckerDelta(hit[X_], hit[Z_])
        return sp.S.Zero if f.match(MU[X_, idx] * XIP[Y_, idx]) is not None else s

    return expr.replace(lambda s: isinstance(s, sp.Sum) and len(s.limits) == 1 and s.limits[0][0] == index, rep)


def sum_over_clusters(expr, index=C1, size=p, labels=CL):
    """Evaluate the sums over the cluster ``index`` (1..``size``), moved innermost (finite sums with
    fixed ranges exchange): there a cluster label ``labels[i]`` is a fixed integer in 1..``size``
    (every point lies in a cluster), so ``sum_c delta(c, c_i) f = f(c_i)``. Other sums are left as
    they are."""
    def one(s):
        limits = list(s.limits)
        pos = [lim[0] for lim in limits].index(index) if index in [lim[0] for lim in limits] else None
        if pos is None or any(x.has(index) for lim in limits for x in lim[1:]):
            return s
        (idx, lo, hi), outer = limits.pop(pos), limits  # finite sums with fixed ranges exchange (Fubini)
        labs = sorted({x for x in s.function.atoms(sp.Indexed) if x.base == labels}, key=sp.default_sort_key)
        sym = {lab: sp.Symbol(f"_label_{n_}", positive=True, integer=True) for n_, lab in enumerate(labs)}
        inner = evaluate_sums(sp.Sum(s.function.xreplace(sym), (idx, lo, hi)), [(v, 1, size) for v in sym.values()])
        inner = inner.xreplace({v: lab for lab, v in sym.items()})
        return sp.Sum(inner, *outer) if outer else inner

    return expr.replace(lambda e: isinstance(e, sp.Sum), one)


LOSS = sp.Function("ell")  # the loss, kept abstract: its weight g = -ell' (a step of its own) enters as g[i]


def loss_weight_times(expr, weight, ranges):
    """``-expr`` with every ``ell'(.)`` replaced by ``-weight``, and the sums evaluated: the derivative of
    ``ell(margin)`` in a parameter, written with the point's loss weight ``weight = -ell'(margin)``."""
    e = expr.replace(lambda x: isinstance(x, sp.Subs) and x.expr.has(sp.Derivative) and x.expr.has(LOSS),
                     lambda x: -weight)
    e = e.replace(lambda x: isinstance(x, sp.Derivative) and x.expr.func == LOSS, lambda x: -weight)
    return evaluate_sums(-e, ranges)


def finite_n_step():
    r"""``(dq, du)``: one GD step (rate :math:`\eta`) of the own neurons on the training risk
    :math:`L = \frac1n\sum_{i=1}^{n_s}\ell(u_i)` (the own class's :math:`n_s` points, of clusters
    :math:`c_i \in 1..p`; the other class's points do not reach these neurons), computed in every
    coordinate: the change of the centre margin :math:`q_j` and of a point's margin :math:`u_{i_0}`,
    with the leading-order Gram matrix of the data (:func:`_point_gram`)."""
    S = sp.Sum(sp.Sum(W[R, A] * (MU[CL[I], A] + XIP[I, A]), (A, 1, d)) + B[R], (R, 1, m))

    def minus_grad(var):  # the derivative of the finite sum over the points is the sum of the derivatives
        return sp.Sum(loss_weight_times(sp.diff(LOSS(S / m), var), GP[I], LABEL_RANGES), (I, 1, NS)) / n_tot

    step = {W[R, A]: W[R, A] + eta_n * minus_grad(W[R0, A0]).xreplace({R0: R, A0: A}),
            B[R]: B[R] + eta_n * minus_grad(B[R0]).xreplace({R0: R})}

    def change(margin):
        after = factor_sums(sum_innermost(factor_sums(margin.xreplace(step)), A))
        return evaluate_sums(factor_sums(_point_gram(after)), LABEL_RANGES) - margin

    qj = sp.Sum(sp.Sum(W[R, A] * MU[J, A], (A, 1, d)) + B[R], (R, 1, m)) / m
    ui = sp.Sum(sp.Sum(W[R, A] * (MU[CL[I0], A] + XIP[I0, A]), (A, 1, d)) + B[R], (R, 1, m)) / m
    return change(qj), change(ui)


def derive():
    """The claim: the chain rule through the network's gradient flow on the late-phase risk gives the ODE."""
    dW, db, qdot = network_flow()
    gz = g(Z[I])
    qf = notation("q_j")(t)
    gi = notation("g_i")(t)
    p_ = sp.Abs(sp.Symbol("J_s"))
    i_ = sp.Symbol("i")
    statement = sp.Eq(sp.Derivative(qf, t), (d / (1 + sp.exp(qf)) + sp.Sum(gi, (i_, 1, p_))) / (m * k))
    ode_rhs = (d * g(Q[J]) + sp.Sum(g(Q[I]), (I, 1, p))) / (m * k)
    noise_free = qdot.xreplace({N[J]: 0}).replace(lambda e: isinstance(e, sp.Indexed) and e.base == Z,
                                                   lambda e: Q[e.indices[0]])

    def margin_split(st):
        return factor_sums(sp.expand(st.lhs - st.rhs)) == 0

    def gradients(st):
        ok = True
        for eq in st.args:
            derived = dW if eq.lhs.has(W) else db
            ok &= sums_equal(derived, eq.rhs, RANGES)
        return ok

    # ---- Gaussian noise: Stein's lemma for the noise's projection, and the dropped terms' sizes
    G = notation("G")                         # any bounded differentiable function (here g)
    zz, qq, sig, v = sp.Symbol("z", real=True), sp.Symbol("q", real=True), sp.Symbol("sigma", positive=True), \
        sp.Symbol("v_j", real=True)
    wbar = sp.IndexedBase("wbar", real=True)
    a1, b1 = sp.symbols("a_1 b_1", positive=True, integer=True)
    cov = evaluate_sums(sp.Sum(sp.Sum(MU[J, a1] * wbar[b1] * sp.KroneckerDelta(a1, b1), (a1, 1, d)), (b1, 1, d)),
                        [(b1, 1, d)])
    E = notation("E")
    U = sp.Symbol("U")
    gprime = notation("g'")

    def stein(st):
        g_prime = sp.diff(G(qq + sig * zz), qq)   # G'(q + sigma z)
        by_parts = is_zero(sp.diff(-G(qq + sig * zz) * explicit(phi(zz)), zz)
                           - (zz * explicit(phi(zz)) * G(qq + sig * zz) - sig * g_prime * explicit(phi(zz))))
        boundary = sp.limit(explicit(phi(zz)), zz, sp.oo) == 0 and sp.limit(explicit(phi(zz)), zz, -sp.oo) == 0
        covariance = sums_equal(cov, sp.Sum(wbar[a1] * MU[J, a1], (a1, 1, d)))
        return by_parts and boundary and covariance and is_zero(st.rhs - v * E(gprime(Q[I] + U)))

    uu = sp.Symbol("u", positive=True)           # u = g in (0, 1)
    xx = sp.Symbol("x", real=True)
    Zs = sp.Symbol("Z", real=True)
    # c0 = E[Z^2 e^{|Z|}]/2 = int_0^oo z^2 e^z phi(z) dz = sqrt(e) (2 Phi(1) + phi(1)), from the
    # antiderivative F(z) = sqrt(e) (2 Phi(z - 1) - (z + 1) phi(z - 1)), checked by differentiation
    c0_value = sp.sqrt(sp.E) * (2 * Phi(1) + phi(1))
    F_anti = sp.sqrt(sp.E) * (2 * Phi(Zs - 1) - (Zs + 1) * phi(Zs - 1))
    c0 = sp.Symbol("c_0", positive=True)

    def c0_is_the_integral():
        return (is_zero(sp.diff(explicit(F_anti), Zs) - explicit(Zs ** 2 * sp.exp(Zs) * phi(Zs)))
                and is_zero(sp.limit(explicit(F_anti), Zs, sp.oo) - explicit(F_anti.subs(Zs, 0)) - c0_value))

    def sizes(st):
        g1 = sp.diff(g(qq), qq)
        g2 = sp.diff(g(qq), qq, 2)
        gq = g(qq)
        # g' = -g(1-g) and g'' = g(1-g)(1-2g): |g'| <= g, |g''| <= g since |(1-u)(1-2u)| <= 1 on (0, 1)
        ok = is_zero(g1 + gq * (1 - gq)) and is_zero(g2 - gq * (1 - gq) * (1 - 2 * gq))
        ok &= is_zero(1 - (1 - uu) * (1 - 2 * uu) - uu * (3 - 2 * uu))
        ok &= sp.discriminant(2 - 3 * uu + 2 * uu ** 2, uu) < 0
        # g(q + x) <= e^{|x|} g(q): (1 + e^q) <= e^{-x} + e^q for x < 0, and g decreases
        ok &= is_zero(sp.exp(-xx) * (1 + sp.exp(qq + xx)) - (sp.exp(-xx) + sp.exp(qq)))
        for conj in st.args:
            if not isinstance(conj, sp.LessThan):
                return False
            if conj.lhs == sp.Abs(gprime(qq)):
                ok &= conj.rhs == g(qq) or is_zero(conj.rhs - g(qq))
            else:  # Taylor to second order with E[Z] = 0: |E g(q + sigma Z) - g(q)| <= sigma^2 g(q) E[Z^2 e^{|Z|}]/2
                ok &= is_zero(conj.rhs - c0 * sig ** 2 * g(qq))
        return ok and c0_is_the_integral()

    # leading order: at equal margins (sum_i g_i = p g_j) with v_j ~ q and sigma^2 = p v^2/d, the
    # dropped terms over the kept ones: |v| (1 + c0 sigma^2) p/(d + p) + c0 sigma^2 -> 0
    vv = sp.Symbol("v", positive=True)
    s2 = p * vv ** 2 / d
    dropped = (vv * (1 + c0 * s2) * p / (d + p) + c0 * s2).subs(c0, c0_value)

    xi_s, mu_j, wbar_s = sp.Symbol("xi"), sp.Symbol("mu_j"), sp.Symbol("wbar")
    steps = (
        Step(Text("late-phase activation pattern: every own neuron active, so the margin of ", sp.Symbol("mu_i") + xi_s,
                  " is ", Q[I], " plus the noise along ", sp.Eq(wbar_s, sp.Sum(sp.Symbol("w_r"), (sp.Symbol("r"), 1, m))
                                                                 / m, evaluate=False),
                  " (any ", m, ", ", d, ")"),
             sp.Eq(_pre_sum(I) / m, _pre_sum(I, noise=False) / m + sp.Sum(sp.Sum(W[R, A] * XI[A], (A, 1, d)), (R, 1, m))
                   / m, evaluate=False), margin_split),
        Step(Text("the network's risk ", sp.Sum(notation("ell")(Z[I]), (I, 1, p)) / k,
                  " on the own clusters for one draw of the noise (the population risk is its expectation, which "
                  "commutes with the derivatives: the loss's derivative is bounded), differentiated in every weight "
                  "coordinate and every bias (",
                  sp.Eq(notation("g")(Z[I]), g(Z[I]), evaluate=False), " at the point's margin ", Z[I], ")"),
             sp.And(sp.Eq(-sp.Derivative(sp.Symbol("L"), W[R0, A0]),
                          sp.Sum(gz * (MU[I, A0] + XI[A0]), (I, 1, p)) / (k * m), evaluate=False),
                    sp.Eq(-sp.Derivative(sp.Symbol("L"), B[R0]), sp.Sum(gz, (I, 1, p)) / (k * m), evaluate=False),
                    evaluate=False), gradients),
        Step(Text("chain rule through every coordinate of every own neuron, with the Gram matrix ",
                  sp.Eq(Inner(sp.Symbol("mu_i"), mu_j), d * sp.KroneckerDelta(I, J), evaluate=False), " and ",
                  sp.Eq(N[J], Inner(xi_s, mu_j), evaluate=False)),
             sp.Eq(sp.Derivative(Q[J], t), sp.Sum(gz * (d * sp.KroneckerDelta(I, J) + N[J] + 1), (I, 1, p)) / (m * k),
                   evaluate=False),
             lambda st: sums_equal(qdot, st.rhs, RANGES)),
        Step(Text("noise-free data (", sp.Eq(xi_s, 0, evaluate=False), "): the margin ODE, exactly"),
             sp.Eq(sp.Derivative(Q[J], t), ode_rhs, evaluate=False),
             lambda st: sums_equal(noise_free, st.rhs, RANGES)),
        Step(Text("Gaussian noise: Stein's lemma (integration by parts against ", phi(sp.Symbol("z")),
                  ") for the noise's projection, with ", sp.Eq(U, Inner(wbar_s, xi_s), evaluate=False), " and ",
                  sp.Eq(v, notation("Cov")(N[J], U), evaluate=False), " = ", Inner(wbar_s, mu_j)),
             sp.Eq(E(g(Q[I] + U) * N[J]), v * E(gprime(Q[I] + U)), evaluate=False), stein),
        Step(Text("the dropped terms' sizes: ", sp.Le(sp.Abs(gprime(qq)), notation("g")(qq), evaluate=False),
                  ", and for ", sp.Le(sig, 1, evaluate=False), " (", sp.Eq(sig, Norm(wbar_s), evaluate=False),
                  ") the smoothing of ", notation("g")(qq), " by the noise is at most ", c0 * sig ** 2, " times it, ",
                  sp.Eq(c0, notation("E")(Zs ** 2 * sp.exp(sp.Abs(Zs))) / 2, evaluate=False), " = ", c0_value,
                  " (about 3.17)"),
             sp.And(sp.Le(sp.Abs(gprime(qq)), g(qq), evaluate=False),
                    sp.Le(sp.Abs(E(g(qq + sig * Zs)) - g(qq)), c0 * sig ** 2 * g(qq), evaluate=False), evaluate=False),
             sizes),
        Step(Text("leading order in ", d, ": with ", vv, " of the order of the margins and ",
                  sp.Eq(sig ** 2, p * vv ** 2 / d, evaluate=False), ", the dropped terms over the kept ones vanish"),
             sp.Eq(sp.Limit(dropped, d, sp.oo), 0, evaluate=False), lambda st: sp.limit(dropped, d, sp.oo) == st.rhs),
    )
    pp, S_, T_, V_ = sp.Symbol("p", positive=True), sp.Symbol("S"), sp.Symbol("T"), sp.Symbol("v")
    rhs_equal = (d + pp) * g(q) / (m * k)
    preds = {
        "qdot_equal_margins": lambdify_prediction(
            [q, d, m, k, pp], rhs_equal,
            "dq/dt = (d + p)/(m k) * 1/(1+e^q) when all p = |J_s| margins equal q"),
        "g": lambdify_prediction([q], g(q), "g(q) = 1/(1+e^q)"),
        "rate": lambdify_prediction([q, S_, d, m, k], (d * g(q) + S_) / (m * k),
                                    "dq_j/dt = (d g(q_j) + S)/(m k), S = sum_{i in J_s} g(q_i)"),
        "rate_uncoupled": lambdify_prediction([q, d, m, k], d * g(q) / (m * k),
                                              "dq_j/dt = d g(q_j)/(m k): the ODE without the coupling term (a rival)"),
        "rate_noisy": lambdify_prediction(
            [q, S_, T_, V_, d, m, k], (d * g(q) + S_ - V_ * T_) / (m * k),
            "dq_j/dt with N(0, I) noise, to first order in the noise: (d g(q_j) + S - v_j T)/(m k), "
            "S = sum_{J_s} g(q_i), T = sum_{J_s} g(q_i)(1 - g(q_i)), v_j = <wbar, mu_j> (the Stein term)"),
    }
    more_steps, more_preds = _finite_n()  # appended (issue 14): the trained net's finite-n, finite-d map
    steps, preds = steps + more_steps, {**preds, **more_preds}
    return Claim(
        id=ID,
        title="Late-phase per-cluster margin ODE (logistic loss, binary labels), from the network's gradient flow",
        statement=statement,
        assumptions=Text("Orthogonal equinorm features (Assumption 3.2); ",
                         sp.Eq(Q[J], sp.Symbol("y_j") * notation("f")(mu_j), evaluate=False),
                         "; every own-class neuron active on every point of the own clusters, every opposite-class "
                         "neuron inactive there (the late-phase pattern, assumed to hold along the flow)."),
        regime=Text("late phase, population gradient flow; exact for noise-free data; with ",
                    notation("N")(0, sp.Symbol("I_d")), " noise, leading order in ", d,
                    " (dropped: relative ", p * sp.Abs(q) / d, " and ", p * q ** 2 / d,
                    "); the corrections of finite ", sp.Symbol("n"), " (each point's own noise) not included"),
        steps=steps, predictions=preds)


def _finite_n():
    r"""The late-phase map of a trained net at finite ``n`` and ``d`` (appended to :func:`derive`).

    A trained net is not the idealised late regime: its training points are not the centres
    ``mu_j``. Write :math:`u_i = y_i f(x_i)` for a training point of cluster ``c_i`` in ``J_s``
    and :math:`q_j = y_j f(\mu_j)`. With the leading-order Gram matrix of the data
    (:math:`\langle\mu_j,\mu_{j'}\rangle = d\,\delta`, :math:`\langle\xi_i,\xi_{i'}\rangle =
    \sigma^2 d\,\delta`, :math:`\langle\mu,\xi\rangle = 0`; the dropped noise inner products are
    bounded by the checks) one GD step of the own-class neurons, active on every own-class point,
    moves

    .. math:: \Delta q_j = \frac{\eta}{m}\Big(d\,\pi_j \bar g_j + \sum_{c\in J_s}\pi_c \bar g_c\Big),
              \qquad \Delta u_i = \Delta q_{c_i} + \frac{\eta\,\sigma^2 d}{m n}\, g(u_i),

    :math:`\pi_j = n_j/n`, :math:`\bar g_j` the mean of :math:`g(u_i)` over cluster ``j``: the
    cluster weights are the counts, and each point's own noise (:math:`\|\xi_i\|^2 = \sigma^2 d`)
    adds to its own margin only, a relative :math:`1/n_j \approx k/n` of the rate.

    The coupling is the biases' share. When the opposite-class neurons of sign ``s`` fire on some
    points of the ``K = |J_{-s}|`` opposite clusters (a trained net's opposite neurons sit at their
    activation boundary there), those points pull the biases down: with :math:`B` the coupling's
    increment over a window and :math:`\Delta z_{j'}` the change of the neuron's pre-activation at
    :math:`\mu_{j'}` (its gradient on :math:`\mu_{j'}` is :math:`-d` times the pull on its bias),
    :math:`\Delta b = (d B + \sum_{j'}\Delta z_{j'})/(d + K)`: a factor :math:`d/(d+K)` on the
    coupling when the boundary is stationary, and a drift term.
    """
    nn, et, sg = n_tot, eta_n, sigma_n
    pi_j, g_j, S_, kap = sp.symbols("pi_j g_j S kappa", nonnegative=True)
    dq_map = et / m * (d * pi_j * g_j + kap * S_)
    self_map = et * sg ** 2 * d * g_j / (m * nn)
    dq, du = finite_n_step()

    def flatten(e):  # Sum(Sum(f, i), c) -> Sum(f, i, c)
        return e.replace(lambda x: isinstance(x, sp.Sum) and isinstance(x.function, sp.Sum),
                         lambda x: sp.Sum(x.function.function, *x.function.limits, *x.limits))

    def counts(e):
        r"""The cluster weights and means by their definitions: :math:`\pi_c = n_c/n`,
        :math:`\bar g_c = \frac1{n_c}\sum_{i: c_i = c} g_i`, :math:`n_c = \sum_i \delta_{c, c_i}`
        (:math:`g_i = g(u_i)`, the point's loss weight)."""
        def n_c(c_):
            return sp.Sum(sp.KroneckerDelta(c_, CL[I]), (I, 1, NS))
        e = e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == PI, lambda x: n_c(x.indices[0]) / nn)
        e = e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == GBAR,
                      lambda x: sp.Sum(sp.KroneckerDelta(x.indices[0], CL[I]) * GP[I], (I, 1, NS)) / n_c(x.indices[0]))
        return e

    Dq, Du, Dqc = (notation("Delta")(x) for x in (Q[J], U[I0], Q[CL[I0]]))

    def gd_identity(st):
        eqs = {eq.lhs: eq.rhs for eq in st.args}
        if set(eqs) != {Dq, Du}:
            return False
        centre = sum_over_clusters(flatten(factor_sums(counts(eqs[Dq]))))
        point = counts(eqs[Du]).xreplace({Dqc: dq.xreplace({J: CL[I0]})})
        return sums_equal(dq, centre, LABEL_RANGES) and sums_equal(du, point, LABEL_RANGES)

    def logistic_derivative(st):
        return is_zero(sp.diff(sp.log(1 + sp.exp(-q)), q) - st.rhs)

    Kk, Bb, Zz, Ab, db = sp.symbols("K B Z A Delta_b", real=True)  # Delta_b: the biases' change
    # Delta z_{j'} = -d Abar_{j'} + Delta b (summed: Z = -d A + K Delta b), Delta b = B - A
    bias_sol = sp.solve([sp.Eq(Zz, -d * Ab + Kk * db), sp.Eq(db, Bb - Ab)], [db, Ab], dict=True)
    bias_rhs = (d * Bb + Zz) / (d + Kk)

    def boundary(st):
        return len(bias_sol) == 1 and is_zero(bias_sol[0][db] - st.rhs)

    gi_, ii = notation("g_i")(t), sp.Symbol("i")
    Sg = sp.Sum(gi_, (ii, 1, sp.Abs(sp.Symbol("J_s"))))
    ode_step = et * ((d * g(Q[J]) + sp.Sum(g(Q[I]), (I, 1, p))) / (m * k)).xreplace(
        {g(Q[J]): g_j, sp.Sum(g(Q[I]), (I, 1, p)): Sg})                 # eta times the margin ODE's rate

    def limit_l2(st):
        # pi_j = 1/k, the self term gone (n -> oo), kappa = 1, u = q: the Euler step of the ODE
        step = dq_map.subs({pi_j: 1 / k, S_: Sg / k, kap: 1})
        return is_zero(step - st.lhs) and is_zero(ode_step - st.rhs) and sp.limit(self_map, nn, sp.oo) == 0

    Delta = notation("Delta")
    ci = sp.Symbol("c_i")
    pij, nj, gbj = sp.Symbol("pi_j"), sp.Symbol("n_j"), sp.Symbol("gbar_j")
    xi_i, xi_l, mu_j, mu_c = sp.Symbol("xi_i"), sp.Symbol("xi_l"), sp.Symbol("mu_j"), sp.Symbol("mu_c")
    ell = notation("ell")
    steps = (
        Step(Text("logistic loss: ", sp.Eq(sp.Derivative(ell(q), q), -notation("g")(q), evaluate=False)),
             sp.Eq(sp.Derivative(sp.log(1 + sp.exp(-q)), q), -g(q), evaluate=False), logistic_derivative),
        Step(Text("one GD step of rate ", et, " on the training risk at finite ", nn, ", in every coordinate of every "
                  "own neuron (any ", m, ", ", p, ", ", d, ", ", NS, " own points and cluster sizes ", nj, "; own "
                  "neurons active on own points; leading-order Gram matrix ",
                  sp.Eq(Inner(mu_c, mu_j), d * sp.KroneckerDelta(sp.Symbol("c"), J), evaluate=False), ", ",
                  sp.Eq(Inner(xi_i, xi_l), sg ** 2 * d * sp.KroneckerDelta(ii, sp.Symbol("l")), evaluate=False), ", ",
                  sp.Eq(Inner(mu_j, xi_i), 0, evaluate=False), "): the centre margins move with the cluster weights ",
                  sp.Eq(pij, nj / nn, evaluate=False), " and mean weights ", gbj, ", and a training point of cluster ",
                  ci, " by that plus its own noise's share"),
             sp.And(sp.Eq(Dq, dq_map.subs({kap: 1, pi_j: PI[J], g_j: GBAR[J], S_: sp.Sum(PI[C1] * GBAR[C1], (C1, 1, p))}),
                          evaluate=False),
                    sp.Eq(Du, Dqc + self_map.subs(g_j, GP[I0]), evaluate=False), evaluate=False),
             gd_identity),
        Step(Text("opposite neurons at their boundary pull the biases: the biases' change from the coupling's "
                  "increment ", Bb, " and the drift ", sp.Eq(Zz, sp.Sum(Delta(sp.Symbol("z_j'")), (sp.Symbol("j'"), 1, Kk)),
                                                           evaluate=False), " of the opposite pre-activations"),
             sp.Eq(db, bias_rhs, evaluate=False), boundary),
        Step(Text("infinitely many points (", sp.Eq(pij, 1 / k, evaluate=False), ", no self term, ",
                  sp.Eq(kap, 1, evaluate=False), ", ", sp.Eq(U[I0], Q[CL[I0]], evaluate=False),
                  "): the map is the Euler step of the ODE"),
             sp.Eq(dq_map.subs({pi_j: 1 / k, kap: 1, S_: Sg / k}), ode_step, evaluate=False), limit_l2),
    )
    preds = {
        "finite_n_increment": lambdify_prediction(
            [et, m, d, pi_j, g_j, S_, kap], dq_map,
            "one GD step of the centre margin q_j at finite n: (eta/m)(d pi_j g_j + kappa S), pi_j = n_j/n, "
            "g_j = mean g(u_i) over cluster j, S = sum_{c in J_s} pi_c g_c, kappa the bias factor"),
        "self_increment": lambdify_prediction(
            [et, m, d, nn, sg, g_j], self_map,
            "the extra step of a training point's own margin from its own noise: eta sigma^2 d g(u_i)/(m n)"),
        "bias_factor": lambdify_prediction([d, Kk], bias_rhs.subs({Bb: 1, Zz: 0}),
                                           "d/(d + K): the coupling's factor when the opposite neurons ride their boundary"),
        "boundary_drift": lambdify_prediction([Zz, d, Kk], bias_rhs.subs(Bb, 0),
                                              "Z/(d + K): the biases' change from a drift Z = sum_j' Delta z_j' of the boundary"),
    }
    return steps, preds


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    from featavg.claims._late import iterate_map, neglected

    wins, skipped = late_windows(ctx, "small_d")
    variants = {"no coupling (d g_j/(mk))": dict(coupling="none"),
                "coupling with the opposite neurons inactive (kappa = 1, the L2 claim)": dict(coupling="inactive"),
                "coupling over all k clusters": dict(all_clusters=True)}
    pred, meas, base, sd2, bnd = [], [], [], [], []
    rival = {name: [] for name in variants}
    per_bound = {}
    for w in wins:
        qm, um, info = iterate_map(ctx, w)
        stat, bound = neglected(w, qm, um, info)
        pred.append(qm - w.q0)
        meas.append(w.q1 - w.q0)
        base.append(iterate_map(ctx, w, coupling="inactive", self_term=False, counts=False, drift=False)[0] - w.q0)
        sd2.append(sum(stat.values()) ** 2)  # per cluster: the sds added (shared projections); clusters independent
        bnd.append(sum(bound.values()))
        for name, value in bound.items():
            per_bound.setdefault(name, []).append(value)
        for name, kw in variants.items():
            rival[name].append(iterate_map(ctx, w, **kw)[0] - w.q0)
    count = sum(v.size for v in meas)
    z = quantile()
    sd_mean = float(np.sqrt(np.sum(np.concatenate(sd2)))) / count
    band = Band(float(np.mean(np.concatenate(pred))), (
        Term(f"z = {z:.3g} x sd of the mean over {count} cluster increments of the neglected noise terms "
             "(N_j + M_j + noise-noise + boundary identity + self-norm, per cluster; clusters and seeds independent)",
             z * sd_mean, "stat"),
        *(Term(name + " (mean over clusters and seeds)", float(np.mean(np.concatenate(v)))) for name, v in per_bound.items())))
    mean = lambda xs: float(np.mean(np.concatenate(xs)))  # noqa: E731
    w0 = wins[0]
    coupling_share = float(np.mean(np.concatenate(pred)) - mean(rival["no coupling (d g_j/(mk))"]))
    return Outcome(mean(pred), mean(meas), band, rivals={name: mean(v) for name, v in rival.items()},
                   seeds=[w.seed for w in wins], baseline=mean(base),
                   details={"windows": [w.summary() for w in wins], "skipped_seeds_outside_the_regime": skipped,
                            "coupling_increment": coupling_share, "per_cluster_measured": np.concatenate(meas),
                            "per_cluster_predicted": np.concatenate(pred)},
                   config={"run": w0.config.to_dict(), "window": [w0.spec["t0"], w0.spec["T"]]})


ONE_STEP = Check(
    "C7.margin_ode",
    "Trained net at small d: the margins' late-phase increase vs the margin ODE with its coupling sum_i g_i "
    "(finite-n map; the measured counts, state at t0 and boundary drift)",
    describe("small_d") + "; the coupling is p/(d + p) = 20% of the rate, times d/(d + K) = 0.8 as the "
    "opposite neurons ride their boundary",
    _measure,
    rivals=(Rival("no coupling (d g_j/(mk))", "the biases' coupling between clusters dropped"),
            Rival("coupling with the opposite neurons inactive (kappa = 1, the L2 claim)",
                  "the coupling as in the idealised late regime, without the boundary's pull on the biases"),
            Rival("coupling over all k clusters", "the coupling summed over both classes")),
    faults=("gradient", "untrained", "closed_form"))
