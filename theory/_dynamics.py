r"""C7: training dynamics, early and late phase (SPEC §2 C7, §3 levels L1 and L2).

Late phase (all own-class neurons active on all own-class clusters, opposite-class neurons
inactive; leading order in ``d`` and ``n``, noise averaged out). In coordinates where
:math:`\mu_j = \sqrt d\, e_j`, write :math:`w_{s,r} = \sum_i u_{r,i} e_i + (\perp)`; then
:math:`q_j = y_j f(\mu_j) = \frac1m \sum_r (\sqrt d\, u_{r,j} + b_r)` for :math:`j \in J_s`, and
the population risk restricted to those clusters is :math:`\frac1k\sum_{j\in J_s}\ell(q_j)`.
Gradient flow on it gives the per-cluster margin ODE

.. math:: \dot q_j = \frac{1}{mk}\Big(d\,g_j + \sum_{i\in J_s} g_i\Big),\qquad g_j = \frac{1}{1+e^{q_j}}.

Early phase (small init, :math:`f \approx 0`): Gaussian integrals (Stein's lemma) give the
expected gradient's projection on each feature.
"""

import mpmath
import sympy as sp

from featavg.theory._claim import Claim, Inner, Step, is_zero, lambdify_prediction, notation

__all__ = ["margin_ode_claim", "equal_margins_attract_claim", "lambert_w_claim", "gd_step_claim",
           "early_gradient_claim", "cross_entropy_decoupling_claim", "ce_margin_ode_claim"]

d, m, k, C, eta = sp.symbols("d m k C eta", positive=True)
t = sp.Symbol("t", nonnegative=True)
q, q0 = sp.symbols("q q_0", real=True)


def g(x):
    r""":math:`g(q) = -\ell'(q) = 1/(1+e^q)`."""
    return 1 / (1 + sp.exp(x))


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


def margin_ode_claim():
    """C7.margin_ode."""
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
             lambda M=M, p=p: check(M, p))
        for M, p in ((1, 2), (2, 2), (2, 3))
    )
    rhs_equal = (d + sp.Symbol("p", positive=True)) * g(q) / (m * k)
    preds = {
        "qdot_equal_margins": lambdify_prediction(
            [q, d, m, k, sp.Symbol("p", positive=True)], rhs_equal,
            "dq/dt = (d + p)/(m k) * 1/(1+e^q) when all p = |J_s| margins equal q"),
        "g": lambdify_prediction([q], g(q), "g(q) = 1/(1+e^q)"),
    }
    return Claim(
        id="C7.margin_ode", title="Late-phase per-cluster margin ODE (logistic loss, binary labels)",
        statement=statement,
        assumptions="Orthogonal equinorm features (Assumption 3.2); q_j = y_j f(mu_j); noise averaged out.",
        regime="late phase, leading order in d and n: own-class neurons active on all own clusters, "
               "opposite-class neurons inactive; corrections O(k/n) and O(sqrt(k/d)) not included",
        steps=steps, predictions=preds)


def equal_margins_attract_claim():
    """C7.equal_margins_attract: linearisation about equal margins has negative eigenvalues."""
    p = 3
    Q = sp.symbols(f"Q_0:{p}", real=True)
    F = sp.Matrix([margin_rhs(Q, j) for j in range(p)])
    J = F.jacobian(Q).subs({Qi: q for Qi in Q})
    gp = sp.diff(g(q), q)
    lam_diff = d * gp / (m * k)          # modes q_i - q_j
    lam_common = (d + p) * gp / (m * k)  # the common drift
    eig = J.eigenvals()

    def eig_check():
        expected = {lam_diff: p - 1, lam_common: 1}
        got = {}
        for ev, mult in eig.items():
            key = next((e for e in expected if is_zero(ev - e)), None)
            if key is None:
                return False
            got[key] = got.get(key, 0) + mult
        return got == expected

    def lyapunov():
        # V = (q_1 - q_2)^2 / 2 for two clusters: dV/dt = (q1-q2) d (g1-g2)/(mk) <= 0 since g decreases
        a, bb = sp.symbols("a b", real=True)
        two = [margin_rhs((a, bb), j) for j in range(2)]
        dV = sp.simplify((a - bb) * (two[0] - two[1]))
        return is_zero(dV - (a - bb) * d * (g(a) - g(bb)) / (m * k)) and bool(sp.simplify(gp).is_negative)

    statement = sp.Eq(sp.Symbol("lambda_i-j"), lam_diff)
    q1, q2 = notation("q_1")(t), notation("q_2")(t)
    dV = (q1 - q2) * d * (g(q1) - g(q2)) / (m * k)
    steps = (
        Step("g'(q) = -e^q/(1+e^q)^2 < 0",
             sp.And(sp.Eq(sp.Derivative(g(q), q), gp, evaluate=False), sp.Lt(gp, 0, evaluate=False)),
             lambda: bool(sp.simplify(gp).is_negative)),
        # the spectrum listed with multiplicity: p - 1 = 2 difference modes, then the common mode
        Step("Jacobian at equal margins (|J_s| = 3): eigenvalues d g'/(mk) (x2) and (d+3) g'/(mk)",
             sp.Eq(notation("spec")(sp.Symbol("J")), sp.Tuple(lam_diff, lam_diff, lam_common), evaluate=False),
             eig_check),
        Step("all eigenvalues negative",
             sp.And(sp.Lt(lam_diff, 0, evaluate=False), sp.Lt(lam_common, 0, evaluate=False)),
             lambda: all(bool(sp.simplify(ev).is_negative) for ev in eig)),
        Step("Lyapunov: V=(q1-q2)^2/2 has dV/dt = (q1-q2) d (g1-g2)/(mk) <= 0",
             sp.And(sp.Eq(sp.Derivative((q1 - q2) ** 2 / 2, t), dV, evaluate=False), sp.Le(dV, 0, evaluate=False)),
             lyapunov),
    )
    preds = {"difference_rate": lambdify_prediction(
        [q, d, m, k], lam_diff, "decay rate d g'(q)/(m k) (< 0) of q_i - q_j near equal margins q")}
    return Claim(
        id="C7.equal_margins_attract", title="Equal margins attract: lagging clusters catch up (averaging)",
        statement=statement, assumptions="As C7.margin_ode.", regime="late phase, leading order",
        steps=steps, predictions=preds)


def lambert_w_claim():
    """C7.lambert_w: q(t) = c + C t - W(e^{c + C t}) solves dq/dt = C/(1+e^q)."""
    c = sp.Symbol("c", real=True)
    u = c + C * t
    qt = u - sp.LambertW(sp.exp(u))
    x, w = sp.symbols("x w", positive=True)

    def identity_defining():
        # W(x) e^{W(x)} = x, proved symbolically from SymPy's derivative W' = W/(x(1+W)) and
        # W(e) = 1: g = W e^W - x satisfies g' = g/x, whose solutions are g = C x, and g(e) = 0
        g = sp.LambertW(x) * sp.exp(sp.LambertW(x)) - x
        return is_zero(sp.diff(g, x) - g / x) and is_zero(g.subs(x, sp.E))

    def identity_algebra():
        # exp(-w) - w/x = (x - w e^w)/(x e^w): so exp(-W(x)) = W(x)/x follows from W e^W = x
        return is_zero(sp.exp(-w) - w / x - (x - w * sp.exp(w)) / (x * sp.exp(w)))

    def rewrite(expr):
        """exp(-W(X)) -> W(X)/X, the checked identity; also exp(a - W(X)) -> e^a W(X)/X."""
        def repl(e):
            arg = sp.expand(e.args[0])
            Ws = [a for a in arg.atoms(sp.LambertW)]
            for W_ in Ws:
                coeff = arg.coeff(W_)
                if coeff == -1:
                    return sp.exp(arg + W_) * W_ / W_.args[0]
            return e
        return expr.replace(lambda e: isinstance(e, sp.exp) and e.atoms(sp.LambertW), repl)

    def substitution():
        lhs = sp.diff(qt, t)
        rhs = rewrite(C / (1 + sp.exp(qt)))
        return is_zero(lhs - rhs)

    def initial():
        # q(0) = q0 iff W(e^{c}) = e^{q0} with c = q0 + e^{q0}; W(y e^y) = y for y = e^{q0} > 0
        c0 = q0 + sp.exp(q0)
        W0 = sp.exp(q0)  # the claimed value of W(e^{c0}) = W(e^{q0} e^{e^{q0}})
        defining = is_zero(W0 * sp.exp(W0) - sp.exp(c0))
        return defining and is_zero(qt.subs({t: 0, c: c0}).subs(sp.LambertW(sp.exp(c0)), W0) - q0)

    def implicit():
        # q + e^q = C t + c, using e^{q} = e^u e^{-W(e^u)} = W(e^u)
        return is_zero(rewrite(qt + sp.exp(qt)) - u)

    def log_growth():
        # q(t)/log t -> 1 (margins grow like log t); W(e^u) ~ u - log u
        # (50-digit mpmath; q(t) = log(t) + O(log log t / log t) relative, so the bound is loose)
        mpmath.mp.dps = 50
        f = sp.lambdify([t], qt.subs({C: 1, c: 1}), modules="mpmath")
        ok = True
        for e in (10, 20, 40):
            T = mpmath.mpf(10) ** e
            ok &= abs(f(T) / mpmath.log(T) - 1) < mpmath.log(mpmath.log(T)) / mpmath.log(T) ** 2 + mpmath.mpf(10) ** -30
        return bool(ok)

    qf = notation("q")(t)
    statement = sp.Eq(qf, qt)
    Wx = sp.LambertW(x)
    steps = (
        Step("W(x) e^{W(x)} = x: g = W e^W - x solves g' = g/x (so g = Cx) and g(e) = 0",
             sp.Eq(Wx * sp.exp(Wx), x, evaluate=False), identity_defining),
        Step("hence exp(-W(x)) = W(x)/x (algebraic rewrite checked)",
             sp.Eq(sp.exp(-w) - w / x, (x - w * sp.exp(w)) / (x * sp.exp(w)), evaluate=False), identity_algebra),
        Step("substitution: dq/dt - C/(1+e^q) simplifies to 0",
             sp.Eq(sp.Derivative(qf, t), C / (1 + sp.exp(qf)), evaluate=False), substitution),
        Step("implicit form q + e^q = C t + c", sp.Eq(qf + sp.exp(qf), C * t + c, evaluate=False), implicit),
        Step("initial condition q(0) = q0 for c = q0 + e^{q0}",
             sp.Implies(sp.Eq(c, q0 + sp.exp(q0), evaluate=False), sp.Eq(notation("q")(0), q0, evaluate=False)),
             initial),
        Step("growth like log t: q(t)/log t -> 1 (evaluated at t = 1e10, 1e20, 1e40)",
             sp.Eq(sp.Limit(qf / sp.log(t), t, sp.oo), 1, evaluate=False), log_growth),
    )
    # numerically W(e^u) is Wright's omega(u) (real, no overflow of e^u): same expression, rewritten
    omega = sp.Function("wrightomega")
    qt_num = qt.replace(lambda e: isinstance(e, sp.LambertW) and isinstance(e.args[0], sp.exp),
                        lambda e: omega(e.args[0].args[0]))
    from scipy.special import wrightomega
    preds = {
        "q": lambdify_prediction([t, C, c], qt_num,
                                 "q(t) = c + C t - W(e^{c + C t}) (W(e^u) evaluated as Wright omega(u)); "
                                 "use c = q0 + exp(q0)", extra_modules={"wrightomega": wrightomega}),
        "c_from_q0": lambdify_prediction([q0], q0 + sp.exp(q0), "c = q0 + e^{q0}"),
        "C": lambdify_prediction([d, sp.Symbol("p", positive=True), m, k],
                                 (d + sp.Symbol("p", positive=True)) / (m * k), "C = (d + |J_s|)/(m k)"),
    }
    return Claim(
        id="C7.lambert_w", title="Equal-margin solution q(t) = c + Ct - W(e^{c+Ct}): margins grow like log t",
        statement=statement, assumptions="Equal margins in C7.margin_ode, C = (d + |J_s|)/(m k).",
        regime="late phase, leading order", steps=steps, predictions=preds)


def gd_step_claim():
    """C7.gd_step: one GD step maps q to q + eta C/(1+e^q) exactly (q is linear in the parameters)."""
    M, p = 2, 2
    u = sp.Matrix(M, p, lambda r, i: sp.Symbol(f"u_{r}_{i}", real=True))
    b = sp.Matrix(M, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))
    qs = [sum(sp.sqrt(d) * u[r, j] + b[r] for r in range(M)) / M for j in range(p)]
    L = sum(sp.log(1 + sp.exp(-qj)) for qj in qs) / k
    params = list(u) + list(b)
    new = {th: th - eta * sp.diff(L, th) for th in params}
    Cp = (d + p) / (M * k)
    step_expr = q + eta * Cp / (1 + sp.exp(q))

    def check():
        # equal margins: put b_r so that q_0 = q_1 = q (u_{r,0} = u_{r,1})
        eq = {u[r, 1]: u[r, 0] for r in range(M)}
        q_after = [qj.xreplace(new).subs(eq) for qj in qs]
        q_before = qs[0].subs(eq)
        qsym_sub = {b[0]: q * M - sum(sp.sqrt(d) * u[r, 0] for r in range(M)) - b[1]}
        return all(is_zero((qa - step_expr.subs(q, q_before)).subs(qsym_sub)) for qa in q_after)

    statement = sp.Eq(sp.Symbol("q_t+1"), (q + eta * C / (1 + sp.exp(q))))
    theta = sp.Symbol("theta", real=True)  # any of the parameters u_{r,i}, b_r
    steps = (Step("GD step on the L2 risk (m=2, |J_s|=2) maps q to q + eta C'/(1+e^q), C' = (d+|J_s|)/(mk)",
                  sp.Eq(sp.Symbol("q_t+1"), step_expr.subs(q, sp.Symbol("q_t", real=True)), evaluate=False), check),
             Step("q is linear in (u, b) (no second-order term: the map is exact)",
                  sp.Eq(sp.Derivative(notation("q_j")(theta), (theta, 2)), 0, evaluate=False),
                  lambda: all(sp.diff(qs[0], a1, a2) == 0 for a1 in params for a2 in params)))
    preds = {"step": lambdify_prediction([q, eta, C], statement.rhs, "q -> q + eta C'/(1+e^q), C' = (d + |J_s|)/(m k)")}
    return Claim(id="C7.gd_step", title="Exact one-step GD map of equal margins", statement=statement,
                 assumptions="As C7.margin_ode; the activation pattern does not change during the step.",
                 regime="late phase, leading order", steps=steps, predictions=preds)


def _phi(x):
    return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _Phi(x):
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def _Phi_positive():
    """Phi > 0: Phi(-oo) = 0 and Phi' = phi > 0 (SymPy cannot sign erf directly)."""
    x = sp.Symbol("x", real=True)
    return (sp.limit(_Phi(x), x, -sp.oo) == 0 and is_zero(sp.diff(_Phi(x), x) - _phi(x))
            and bool(_phi(x).is_positive))


def early_gradient_claim():
    r"""C7.early_gradient: Stein's lemma and the sign of the early gradient's projections."""
    a = sp.Symbol("a", real=True)
    s_ = sp.Symbol("sigma", positive=True)  # ||w||
    z = sp.Symbol("z", real=True)
    ys = sp.Symbol("y_i", real=True) * sp.Symbol("s", real=True)
    # - <grad_w L, mu_i> from cluster i (prob 1/k), -l'(0) = 1/2, f ~ 0:
    #   (1/(2mk)) y_i s [Phi(a_i/||w||) d + phi(a_i/||w||) <w, mu_i>/||w||]
    wmu = Inner(sp.Symbol("w"), sp.Symbol("mu_i"))
    proj = ys * (_Phi(a / s_) * d + _phi(a / s_) * wmu / s_) / (2 * m * k)
    leading = sp.limit(proj / d, d, sp.oo)
    statement = sp.Eq(-Inner(sp.Derivative(sp.Symbol("L"), sp.Symbol("w_s,r")), sp.Symbol("mu_i")) / d, leading)
    # sigma = ||w||; the expectation over z ~ N(0, 1) is written as the integral the check computes
    steps = (
        Step("Stein: E[1{a + ||w|| z > 0} z] = phi(a/||w||)",
             sp.Eq(sp.Integral(z * _phi(z), (z, -a / s_, sp.oo)), _phi(a / s_), evaluate=False),
             lambda: is_zero(sp.integrate(z * _phi(z), (z, -a / s_, sp.oo)) - _phi(a / s_))),
        Step("P(active) = Phi(a/||w||)",
             sp.Eq(sp.Integral(_phi(z), (z, -a / s_, sp.oo)), _Phi(a / s_), evaluate=False),
             lambda: is_zero((sp.integrate(_phi(z), (z, -a / s_, sp.oo)) - _Phi(a / s_)).rewrite(sp.erf))),
        Step("leading order in d of the projection on mu_i: y_i s Phi(a_i/||w||)/(2mk)",
             sp.Eq(sp.Limit(proj / d, d, sp.oo), ys * _Phi(a / s_) / (2 * m * k), evaluate=False),
             lambda: is_zero(leading - ys * _Phi(a / s_) / (2 * m * k))),
        Step("its coefficient Phi/(2mk) is positive: own class pushes (+), other class pulls (-)",
             sp.Gt(_Phi(a / s_) / (2 * m * k), 0, evaluate=False),
             lambda: _Phi_positive() and bool(sp.simplify(leading / ys / _Phi(a / s_)).is_positive)),
    )
    preds = {"projection_over_d": lambdify_prediction(
        [a, s_, m, k], leading / ys,
        "coefficient c with -<grad L, mu_i>/d -> y_i s c, c = Phi(a_i/||w||)/(2 m k) > 0, a_i = <w,mu_i> + b")}
    return Claim(id="C7.early_gradient", title="Early phase: gradient is a positive combination of own-class features",
                 statement=statement,
                 assumptions="Gaussian noise N(0, I); f(x) ~ 0 so -l'(0) = 1/2; population gradient (L1).",
                 regime="early phase, small init, leading order in d", steps=steps, predictions=preds)


def cross_entropy_decoupling_claim():
    """C7.ce_decoupling: with cluster labels the early gradient on w_j pushes mu_j, pulls mu_{j'}."""
    kk = 4
    F = sp.symbols(f"f_0:{kk}", real=True)
    lse = sp.log(sum(sp.exp(Fj) for Fj in F))
    a = sp.Symbol("a", real=True)
    s_ = sp.Symbol("sigma", positive=True)
    # - <grad_{w_j} L, mu_c>/d -> (1/(k h)) (1{c=j} - 1/k) Phi(a_c/||w||)
    h = sp.Symbol("h", positive=True)
    own = (1 - 1 / k) * _Phi(a / s_) / (k * h)
    other = (0 - 1 / k) * _Phi(a / s_) / (k * h)
    delta_cj = sp.Symbol("delta_cj")  # Kronecker delta, 1{c = j}
    statement = sp.Eq(-Inner(sp.Derivative(sp.Symbol("L"), sp.Symbol("w_j,r")), sp.Symbol("mu_c")) / d,
                      (delta_cj - 1 / k) * _Phi(a / s_) / (k * h))

    def softmax_at_zero():
        return all(is_zero((sp.diff(lse - F[c], F[j]).subs({Fi: 0 for Fi in F})) - (sp.Rational(1, kk) - (1 if c == j else 0)))
                   for c in range(kk) for j in range(kk))

    steps = (
        Step("dCE/df_j at f = 0 equals 1/k - 1{j = c} (k = 4)",
             sp.Eq(sp.Symbol("p_j") - delta_cj, 1 / k - delta_cj, evaluate=False), softmax_at_zero),
        Step("own feature coefficient positive (k >= 2)",
             sp.Implies(sp.Ge(k, 2, evaluate=False), sp.Gt(own, 0, evaluate=False)),
             lambda: _Phi_positive() and bool(sp.simplify((own / _Phi(a / s_)).subs(k, k + 1)).is_positive)),
        Step("other feature coefficient negative", sp.Lt(other, 0, evaluate=False),
             lambda: _Phi_positive() and bool(sp.simplify(other / _Phi(a / s_)).is_negative)),
    )
    preds = {"own": lambdify_prediction([a, s_, k, h], own, "(1 - 1/k) Phi(a/||w||)/(k h)"),
             "other": lambdify_prediction([a, s_, k, h], other, "-(1/k) Phi(a/||w||)/(k h)")}
    return Claim(id="C7.ce_decoupling", title="Cross-entropy with cluster labels: early gradient decouples features",
                 statement=statement, assumptions="As C7.early_gradient, softmax CE with cluster labels, f ~ 0.",
                 regime="early phase, leading order in d", steps=steps, predictions=preds)



def ce_margin_ode_claim():
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
             sp.Eq(sp.Derivative(qc, t), rhs.subs(q, qc), evaluate=False), chain_rule),
        # shown for the first margin (Q_0: the off-diagonal entry towards Q_1 and the diagonal entry)
        Step("Jacobian diagonal (margins decoupled) with negative diagonal",
             sp.And(sp.Eq(sp.Derivative(qdot[0], Q[1]), 0, evaluate=False),
                    sp.Lt(sp.Derivative(qdot[0], Q[0]), 0, evaluate=False)),
             diagonal),
        Step("implicit solution q + e^q/(k-1) = C t + c, C = (d+1)/(hk)",
             sp.And(sp.Eq(qf + sp.exp(qf) / (k - 1), Cc * t + c0, evaluate=False),
                    sp.Eq(Cc, (d + 1) / (h * k), evaluate=False)),
             implicit_solution),
    )
    preds = {"qdot": lambdify_prediction([q, d, h, k], rhs, "dq_c/dt = (d+1)/(h k) (k-1)/(e^{q_c} + k - 1)")}
    return Claim(id="C7.ce_margin_ode", title="Late-phase cross-entropy margins evolve independently (decoupling)",
                 statement=statement,
                 assumptions="Decoupled regime: neuron (j, r) active on cluster j only; cluster labels; noise averaged out.",
                 regime="late phase, leading order in d and n", steps=steps, predictions=preds)
