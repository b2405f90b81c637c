r"""C3-C6: robust radii of idealised networks, derived as small KKT problems (SPEC §2, §5).

Notation: features :math:`\mu_j = \sqrt d\, e_j` (Assumption 3.2), :math:`p = |J_+|`,
:math:`K = |J_{-s}|` the number of opposite-class clusters of a point of class :math:`s`.
Radii are for the noise-free point :math:`\mu_j` unless stated; tie convention: the prediction
flips when :math:`y f(x+\rho) \le 0`. Each minimal perturbation is found by solving the
Lagrange (KKT) conditions with SymPy, not by writing the answer down.
"""

import numpy as np
import sympy as sp
import sympy.stats as st
from scipy import integrate as _integrate

from featavg.theory._claim import Claim, Norm, Step, is_zero, lambdify_prediction, notation
from featavg.theory._gradients import ReLU

__all__ = ["averaging_radius_claim", "noise_correction_claim", "threshold_net_claim",
           "optimal_bound_claim", "readouts_claim", "mixed_labels_claim", "kkt_min_norm"]

d, k, p, K = sp.symbols("d k p K", positive=True)
alpha_p, alpha_m, alpha = sp.symbols("alpha_p alpha_m alpha", positive=True)
b_p, b_m = sp.symbols("b_p b_m", real=True)
tau = sp.Symbol("tau", nonnegative=True)
delta = sp.Symbol("delta", nonnegative=True)
beta = sp.Symbol("beta", positive=True)


def _Phi(x):
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def _phi(x):
    return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _ratio(a, b):
    """``a / b`` as written (SymPy would cancel and reorder it), for stating a step."""
    return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)


def _sqrt(x):
    r""":math:`\sqrt{x}` as written (SymPy would write ``sqrt(d/k)`` as ``sqrt(d)/sqrt(k)``), for stating a step."""
    return sp.Pow(x, sp.S.Half, evaluate=False)


def kkt_min_norm(variables, constraint, weights=None):
    r"""Minimise :math:`\sum_i w_i v_i^2` subject to ``constraint == 0`` (linear) via Lagrange.

    Solves :math:`\nabla(\sum w_i v_i^2 + \lambda\,c(v)) = 0,\ c(v) = 0` with :func:`sympy.solve`.

    Returns
    -------
    sol : dict
        Values of the variables and of the multiplier ``lambda``.
    cost2 : sympy.Expr
        The minimal squared (weighted) norm.
    lam : sympy.Symbol
    """
    weights = weights or [1] * len(variables)
    lam = sp.Symbol("lambda")
    obj = sum(w * v ** 2 for w, v in zip(weights, variables))
    lag = obj + lam * constraint
    eqs = [sp.diff(lag, v) for v in variables] + [constraint]
    sol = sp.solve(eqs, list(variables) + [lam], dict=True)
    if len(sol) != 1:
        raise ArithmeticError(f"KKT system has {len(sol)} solutions, expected 1")
    sol = sol[0]
    return sol, sp.simplify(obj.subs(sol)), lam


# ---- C3: the averaging network ------------------------------------------------------------------
# Neurons w_+ = alpha_+ sum_{J+} mu_i (bias b_+), w_- = alpha_- sum_{J-} mu_i (bias b_-), f = ReLU(z_+) - ReLU(z_-)
# (m identical neurons per sign give the same f). For mu_j, j in J+: z_+ = alpha_+ d + b_+, z_- = b_-.
# In the orthonormal directions e_+ = u_+/sqrt(p d), e_- = u_-/sqrt((k-p) d): z_+(x + rho) = z_+ +
# alpha_+ sqrt(p d) r_1, z_-(x + rho) = z_- + alpha_- sqrt((k-p) d) r_2.
Z_P = alpha_p * d + b_p
Z_M = b_m
V_P = alpha_p * sp.sqrt(p * d)
V_M = alpha_m * sp.sqrt((k - p) * d)
HYPERPLANE = (Z_P - Z_M) / sp.sqrt(V_P ** 2 + V_M ** 2)  # distance to {z_+ <= z_-}
SWITCH_OFF = Z_P / V_P                                    # distance to {z_+ <= 0}
AVERAGING_RADIUS = sp.Min(HYPERPLANE, SWITCH_OFF)
BALANCED = {p: k / 2, alpha_m: alpha_p, b_p: 0, b_m: 0}


def averaging_radius_claim():
    """C3.averaging_radius."""
    r1, r2 = sp.symbols("r_1 r_2", real=True)

    def kkt_hyperplane():
        c = (Z_P + V_P * r1) - (Z_M + V_M * r2)
        sol, cost2, lam = kkt_min_norm([r1, r2], c)
        dual = is_zero(sol[lam] * (V_P ** 2 + V_M ** 2) / 2 - (Z_P - Z_M))  # lambda >= 0 iff z_+ > z_- at mu_j
        return dual and is_zero(cost2 - HYPERPLANE ** 2)

    def kkt_switch_off():
        sol, cost2, lam = kkt_min_norm([r1, r2], Z_P + V_P * r1)
        return is_zero(cost2 - SWITCH_OFF ** 2) and sol[r2] == 0

    def union_of_halfspaces():
        # f <= 0  <=>  z_+ <= 0  or  z_+ <= z_-  (alpha_+- > 0), on a grid including ties
        g = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
        zp, zm = np.meshgrid(g, g)
        f = np.maximum(zp, 0) - np.maximum(zm, 0)
        return bool(np.array_equal(f <= 0, (zp <= 0) | (zp <= zm)))

    bal = sp.simplify(HYPERPLANE.subs(BALANCED))
    zp, zm = sp.symbols("z_+ z_-", real=True)
    r_A, r_B = sp.Symbol("r_A"), sp.Symbol("r_B")
    balanced = sp.And(*[sp.Eq(key, value, evaluate=False) for key, value in BALANCED.items()])
    steps = (
        Step("f(x) <= 0 iff z_+ <= 0 or z_+ <= z_- (union of two half-spaces; grid incl. ties)",
             sp.Equivalent(sp.Le(ReLU(zp) - ReLU(zm), 0, evaluate=False),
                           sp.Or(sp.Le(zp, 0, evaluate=False), sp.Le(zp, zm, evaluate=False)), evaluate=False),
             union_of_halfspaces),
        Step("KKT for {z_+ <= z_-}: squared cost = (z_+ - z_-)^2/||w_+ - w_-||^2, multiplier >= 0",
             sp.Eq(r_A, HYPERPLANE), kkt_hyperplane),
        Step("KKT for {z_+ <= 0}: cost = z_+/||w_+||", sp.Eq(r_B, SWITCH_OFF), kkt_switch_off),
        Step("balanced (p = k/2, alpha_+ = alpha_-, no biases): hyperplane distance = sqrt(d/k)",
             sp.Implies(balanced, sp.Eq(r_A, _sqrt(d / k), evaluate=False)), lambda: is_zero(bal - sp.sqrt(d / k))),
        Step("balanced: switching off costs sqrt(2) times more, so the radius is sqrt(d/k)",
             sp.Implies(balanced, sp.Eq(r_B / r_A, sp.sqrt(2), evaluate=False)),
             lambda: is_zero(sp.simplify(SWITCH_OFF.subs(BALANCED)) / bal - sp.sqrt(2))),
    )
    args = [d, k, p, alpha_p, alpha_m, b_p, b_m]
    preds = {
        "radius": lambdify_prediction(args, AVERAGING_RADIUS,
                                      "minimal L2 perturbation of mu_j, j in J+, for the averaging net with "
                                      "neurons w_+ = alpha_p sum_{J+} mu_i, bias b_p, w_- = alpha_m sum_{J-} mu_i, "
                                      "bias b_m, p = |J+| (for j in J-, swap the roles of + and -)"),
        "hyperplane": lambdify_prediction(args, HYPERPLANE, "(z_+ - z_-)/||w_+ - w_-||"),
        "switch_off": lambdify_prediction(args, SWITCH_OFF, "z_+/||w_+||"),
        "radius_balanced": lambdify_prediction([d, k], bal, "sqrt(d/k)"),
    }
    return Claim(
        id="C3.averaging_radius", title="Minimal L2 perturbation of the idealised averaging network",
        statement=sp.Eq(notation("r")(sp.Symbol("mu_j")), AVERAGING_RADIUS),
        assumptions="Orthogonal equinorm features; perfectly averaged neurons w_s = alpha_s sum_{J_s} mu_i, "
                    "biases b_s; point mu_j with j in J+ and z_+(mu_j) > max(0, z_-(mu_j)).",
        regime="noise-free point (the O(1) noise correction is C3.noise_correction)",
        steps=steps, predictions=preds)


def noise_correction_claim():
    """C3.noise_correction: the noise vector shifts the radius by <v, xi>/||v|| ~ N(0, sigma^2)."""
    v = sp.symbols("v_0:3", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    xs = sp.symbols("xi_0:3", real=True)
    nv = sp.sqrt(sum(vi ** 2 for vi in v))
    Z = sum(vi * xi for vi, xi in zip(v, xs)) / nv
    s_ = sp.Symbol("s", real=True)
    dens = sp.exp(-s_ ** 2 / (2 * sigma ** 2)) / (sigma * sp.sqrt(2 * sp.pi))

    def moment(power):
        """E[xi^power] for xi ~ N(0, sigma^2), by integration."""
        return sp.integrate(s_ ** power * dens, (s_, -sp.oo, sp.oo))

    def expect(expr):
        """E over independent xi_i ~ N(0, sigma^2) of a polynomial in the xi_i (moments by integration)."""
        poly = sp.Poly(sp.expand(expr), *xs)
        return sum(cf * sp.Mul(*[moment(e) for e in mon]) for mon, cf in poly.terms())

    level = sp.Symbol("u", positive=True)  # quantile level in (0, 1)
    bal = sp.sqrt(d / k)
    quantile = bal + sigma * sp.sqrt(2) * sp.erfinv(2 * level - 1)
    r, Q_r = notation("r"), notation("Q_r")  # radius, and the quantile function of r(mu_j + xi)
    mu_j = sp.Symbol("mu_j")
    steps = (
        Step("distance of mu_j + xi to {<v, x> + c = 0} is (<v, mu_j> + c + <v, xi>)/||v|| (linear in xi)",
             sp.Eq(r(mu_j + sp.Symbol("xi")), r(mu_j) + Z, evaluate=False),
             lambda: is_zero(sp.diff(Z, xs[0]) - v[0] / nv)),
        Step("E[<v, xi>/||v||] = 0 (Gaussian moments by integration)",
             sp.Eq(notation("E")(Z), 0, evaluate=False), lambda: is_zero(expect(Z))),
        Step("Var[<v, xi>/||v||] = E[Z^2] = sigma^2",
             sp.Eq(notation("Var")(Z), sigma ** 2, evaluate=False),
             lambda: is_zero(expect(Z ** 2) - sigma ** 2)),
        Step("median of the balanced radius is sqrt(d/k) (quantile at u = 1/2)",
             sp.And(sp.Eq(Q_r(level), quantile, evaluate=False), sp.Eq(Q_r(sp.Rational(1, 2)), bal, evaluate=False)),
             lambda: is_zero(quantile.subs(level, sp.Rational(1, 2)) - bal)),
    )
    preds = {"radius_quantile": lambdify_prediction(
        [d, k, sigma, level], quantile,
        "u-quantile of the balanced averaging net's radius at mu_j + xi, xi ~ N(0, sigma^2 I), first order in xi")}
    return Claim(
        id="C3.noise_correction", title="First-order noise correction of the averaging radius: N(0, sigma^2)",
        statement=sp.Eq(notation("r")(sp.Symbol("mu_j") + sp.Symbol("xi")), bal + sp.Symbol("Z")),
        assumptions="Z = <v, xi>/||v||, v = w_+ - w_-; the hyperplane branch stays the minimum (true when "
                    "(sqrt 2 - 1) sqrt(d/k) >> sigma).",
        regime="balanced averaging net, first order in xi", steps=steps, predictions=preds)


# ---- C4: thresholded one-neuron-per-feature network -------------------------------------------
L_ = sp.Symbol("L", positive=True, integer=True)
COST_OFF = sp.sqrt(d) - tau
COST_RAISE = (sp.sqrt(d) + (L_ - 1) * tau) / sp.sqrt(1 + L_)
OPTIMUM = sp.sqrt(d / 2)


def _kkt_raise(Lval):
    """Full KKT (no symmetry assumed): lower own coordinate by r, raise L opposite ones to t_l."""
    r = sp.Symbol("r", real=True)
    ts = sp.symbols(f"t_1:{Lval + 1}", real=True)
    c = (sp.sqrt(d) - r - tau) - sum(tl - tau for tl in ts)
    sol, cost2, _ = kkt_min_norm([r] + list(ts), c)
    return sol, cost2, ts


def threshold_net_claim():
    """C4.threshold_net."""
    x = sp.Symbol("x", positive=True)
    tau_low = sp.solve(sp.Eq(COST_RAISE.subs(L_, 2), OPTIMUM), tau)
    tau_high = sp.solve(sp.Eq(COST_OFF, OPTIMUM), tau)
    TAU_LOW = (sp.sqrt(sp.Rational(3, 2)) - 1) * sp.sqrt(d)
    TAU_HIGH = (1 - 1 / sp.sqrt(2)) * sp.sqrt(d)
    # the threshold above which the L-feature attack costs at least sqrt(d/2)
    tau_L = sp.sqrt(d) * (sp.sqrt((1 + x) / 2) - 1) / (x - 1)

    def kkt_check():
        ok = True
        for Lval in (1, 2, 3):
            sol, cost2, ts = _kkt_raise(Lval)
            ok &= is_zero(cost2 - COST_RAISE.subs(L_, Lval) ** 2)
            ok &= all(is_zero(sol[tl] - tau - (sp.sqrt(d) - 2 * tau) / (1 + Lval)) for tl in ts)
        return ok

    def tau_L_decreasing():
        # solve cost_raise(L) = sqrt(d/2) for tau (SymPy), then check it decreases for L = 2..1000
        sols = sp.solve(sp.Eq(COST_RAISE.subs(L_, x), OPTIMUM), tau)
        if len(sols) != 1 or not is_zero(sols[0] - tau_L):
            return False
        vals = sp.lambdify([x], tau_L.subs(d, 1))(np.arange(2.0, 1001.0))
        return bool(np.all(np.diff(vals) < 0))

    L_real = sp.Symbol("L", positive=True)  # L as a real variable, to differentiate in it
    steps = (
        Step("switch own neuron off: cost sqrt(d) - tau", sp.Eq(sp.Symbol("c_0"), COST_OFF),
             lambda: is_zero(kkt_min_norm([sp.Symbol("r")], sp.sqrt(d) - sp.Symbol("r") - tau)[1] - COST_OFF ** 2)),
        Step("raise L opposite features (full KKT, L = 1, 2, 3): cost (sqrt(d)+(L-1)tau)/sqrt(1+L); "
             "opposite coordinates end at tau + (sqrt(d) - 2 tau)/(1+L) >= tau",
             sp.Eq(sp.Symbol("c_L"), COST_RAISE), kkt_check),
        Step("L = 1 costs sqrt(d/2) for every tau", sp.Eq(sp.Symbol("c_1"), OPTIMUM),
             lambda: is_zero(COST_RAISE.subs(L_, 1) - OPTIMUM)),
        Step("tau = 0: c_L = sqrt(d/(1+L)) decreasing in L, so the radius is sqrt(d/(1+K))",
             sp.And(sp.Lt(sp.Derivative(COST_RAISE.subs({tau: 0, L_: L_real}), L_real), 0, evaluate=False),
                    sp.Eq(sp.Symbol("r"), COST_RAISE.subs({tau: 0, L_: K}), evaluate=False)),
             lambda: is_zero(COST_RAISE.subs({tau: 0, L_: K}) - sp.sqrt(d / (1 + K)))
             and bool(sp.simplify(sp.diff(COST_RAISE.subs(tau, 0), L_)).is_negative)),
        Step("upper end: sqrt(d) - tau = sqrt(d/2) at tau = (1 - 1/sqrt 2) sqrt(d)", sp.Eq(tau, TAU_HIGH),
             lambda: len(tau_high) == 1 and is_zero(tau_high[0] - TAU_HIGH)),
        Step("lower end: c_2 = sqrt(d/2) at tau = (sqrt(3/2) - 1) sqrt(d)", sp.Eq(tau, TAU_LOW),
             lambda: len(tau_low) == 1 and is_zero(tau_low[0] - TAU_LOW)),
        Step("the L-threshold tau_L decreases in L (solve, then L = 2..1000), so L = 2 binds",
             sp.And(sp.Eq(sp.Symbol("tau_L"), tau_L.subs(x, L_real), evaluate=False),
                    sp.Lt(sp.Derivative(tau_L.subs(x, L_real), L_real), 0, evaluate=False)),
             tau_L_decreasing),
    )
    cost_off = lambdify_prediction([d, tau], COST_OFF, "cost sqrt(d) - tau of switching the own neuron off")
    cost_raise = lambdify_prediction([d, tau, L_], COST_RAISE, "cost (sqrt(d) + (L-1) tau)/sqrt(1+L)")

    def radius(d, tau, K):
        """Radius min(c_0, min_{1<=L<=K} c_L) of mu_j for the threshold net; K = |J_{-s}| (int)."""
        Ls = np.arange(1, int(K) + 1)
        return np.minimum(cost_off(d=d, tau=tau), np.min(cost_raise(d, tau, Ls)))

    preds = {"cost_switch_off": cost_off, "cost_raise": cost_raise, "radius": radius,
             "tau_low": lambdify_prediction([d], TAU_LOW, "(sqrt(3/2) - 1) sqrt(d)"),
             "tau_high": lambdify_prediction([d], TAU_HIGH, "(1 - 1/sqrt 2) sqrt(d)")}
    return Claim(
        id="C4.threshold_net", title="Thresholded one-neuron-per-feature net reaches sqrt(d/2) for tau in [0.225, 0.293] sqrt(d)",
        statement=sp.Eq(sp.Function("r")(sp.Symbol("mu_j")), sp.Min(COST_OFF, sp.Min(*[COST_RAISE.subs(L_, l) for l in (1, 2)]),
                                                       evaluate=False)),
        assumptions="w_j = alpha mu_j/sqrt(d), bias -alpha tau, binary architecture; 0 <= tau <= sqrt(d)/2; "
                    "K = |J_{-s}| >= 2 for the tau range (statement shows L = 1, 2; the radius takes L <= K).",
        regime="noise-free point", steps=steps, predictions=preds)


def optimal_bound_claim():
    """C4.optimal_bound: midpoint argument, two-Gaussian robust accuracy, mixture version, ratio."""
    mu_i = sp.Matrix([sp.sqrt(d), 0])
    mu_j = sp.Matrix([0, sp.sqrt(d)])
    Zs = st.Normal("Z", 0, 1)
    pair = _Phi(OPTIMUM - delta)
    g = sp.Symbol("g", real=True)
    integrand = _phi(g) * _Phi(g + sp.sqrt(2) * (OPTIMUM - delta)) ** K
    f_int = sp.lambdify([g, d, delta, K], integrand, modules=["numpy", "scipy"])

    def mixture(d, delta, K):
        """Nearest-mean robust accuracy: int phi(g) Phi(g + sqrt2 (sqrt(d/2) - delta))^K dg (a lower bound)."""
        return _integrate.quad(lambda x: f_int(x, d, delta, K), -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13)[0]

    def mixture_K1():
        # K = 1 reduces to the pair formula (quad to 1e-13 abs; compare at 1e-10, quadrature error)
        fp = sp.lambdify([d, delta], pair, modules=["numpy", "scipy"])
        return all(abs(mixture(dd, de, 1) - fp(dd, de)) < 1e-10 for dd, de in ((2.0, 0.3), (8.0, 1.0), (50.0, 4.0)))

    def union_bound():
        fp = sp.lambdify([d, delta], pair, modules=["numpy", "scipy"])
        return all(mixture(dd, de, KK) >= 1 - KK * (1 - fp(dd, de)) - 1e-12 and mixture(dd, de, KK) <= fp(dd, de) + 1e-12
                   for dd, de in ((8.0, 1.0), (50.0, 3.0)) for KK in (2, 5))

    A_K = sp.Integral(integrand, (g, -sp.oo, sp.oo))  # the mixture's robust accuracy
    steps = (
        # mu_i - mu_j written out in the two coordinates e_i, e_j (the check's vectors)
        Step("midpoint: ||mu_i - mu_j||/2 = sqrt(d/2)",
             sp.Eq(Norm(sp.ImmutableMatrix(mu_i - mu_j)) / 2, OPTIMUM, evaluate=False),
             lambda: is_zero((mu_i - mu_j).norm() / 2 - OPTIMUM)),
        Step("bisector classifier: P(sqrt(d/2) + Z > delta) = Phi(sqrt(d/2) - delta)",
             sp.Eq(notation("P")(sp.Gt(OPTIMUM + sp.Symbol("Z"), delta, evaluate=False)), pair, evaluate=False),
             lambda: is_zero((st.P(OPTIMUM + Zs > delta) - pair).rewrite(sp.erf))),
        Step("mixture (K opposite clusters): K = 1 reduces to the pair formula",
             sp.Eq(A_K.subs(K, 1), pair, evaluate=False), mixture_K1),
        Step("mixture lies between the union bound 1 - K(1 - Phi) and Phi",
             sp.And(sp.Le(1 - K * (1 - pair), A_K, evaluate=False), sp.Le(A_K, pair, evaluate=False)), union_bound),
        Step("ratio optimum / averaging = sqrt(k/2)",
             sp.Eq(_ratio(_sqrt(d / 2), _sqrt(d / k)), _sqrt(k / 2), evaluate=False),
             lambda: is_zero(OPTIMUM / sp.sqrt(d / k) - sp.sqrt(k / 2))),
    )
    preds = {
        "optimal_radius": lambdify_prediction([d], OPTIMUM, "sqrt(d/2)"),
        "pair_robust_accuracy": lambdify_prediction([d, delta], pair, "Phi(sqrt(d/2) - delta)"),
        "mixture_robust_accuracy": mixture,
        "ratio": lambdify_prediction([k], OPTIMUM / sp.sqrt(d / k), "sqrt(k/2)"),
    }
    return Claim(
        id="C4.optimal_bound", title="No classifier beats sqrt(d/2) by much: midpoint and two-Gaussian bound",
        statement=sp.Eq(notation("A^*")(delta), pair),
        assumptions="Optimality of the linear classifier for two isotropic Gaussians with equal priors is the "
                    "known optimal-transport result (Bhagoji, Cullina, Mittal 2019), cited, not re-derived.",
        regime="any d; noise N(0, I)", steps=steps, predictions=preds)


def readouts_claim():
    """C5.readouts: decoupled net w_j = alpha mu_j: argmax -> sqrt(d/2), sum -> sqrt(d/(1+K))."""
    r1, r2 = sp.symbols("r_1 r_2", real=True)
    ARGMAX = sp.sqrt(d / 2)
    SUM = COST_RAISE.subs({tau: 0, L_: K})

    def kkt_argmax():
        # coordinates along e_s, e_{j'}: f_{j'} = f_s  <=>  r_2 = sqrt(d) + r_1
        sol, cost2, lam = kkt_min_norm([r1, r2], r2 - sp.sqrt(d) - r1)
        return is_zero(cost2 - ARGMAX ** 2) and bool(sp.simplify(sp.sqrt(d) + sol[r1]).is_positive)

    def kkt_sum():
        ok = True
        for Lval in (1, 2, 3):
            _, cost2, _ = _kkt_raise(Lval)
            ok &= is_zero(cost2.subs(tau, 0) - SUM.subs(K, Lval) ** 2)
        return ok

    r_argmax, r_sum = sp.Symbol("r_argmax"), sp.Symbol("r_sum")
    steps = (
        Step("argmax: KKT to the bisector f_{j'} = f_s gives sqrt(d/2); own output stays active",
             sp.Eq(r_argmax, ARGMAX), kkt_argmax),
        Step("sum readout = threshold net at tau = 0: KKT (K = 1, 2, 3) gives sqrt(d/(1+K))",
             sp.Eq(r_sum, SUM), kkt_sum),
        Step("ratio argmax/sum = sqrt((1+K)/2)",
             sp.Eq(_ratio(_sqrt(d / 2), _sqrt(d / (1 + K))), _sqrt((1 + K) / 2), evaluate=False),
             lambda: is_zero(ARGMAX / SUM - sp.sqrt((1 + K) / 2))),
    )
    preds = {"radius_argmax": lambdify_prediction([d], ARGMAX, "sqrt(d/2)"),
             "radius_sum": lambdify_prediction([d, K], SUM, "sqrt(d/(1+K)), K = |J_{-y}|")}
    return Claim(
        id="C5.readouts", title="Decoupled multi-class net: argmax readout sqrt(d/2), sum readout sqrt(d/(1+K))",
        statement=sp.Eq(sp.Tuple(sp.Symbol("r_argmax"), sp.Symbol("r_sum")), sp.Tuple(ARGMAX, SUM)),
        assumptions="w_j = alpha mu_j, no bias, h = 1 (h identical neurons give the same outputs).",
        regime="noise-free point; idealised decoupled weights", steps=steps, predictions=preds)


def mixed_labels_claim():
    """C6.mixed_labels: w_j = mu_j + beta sum_{i in J_s, i != j} mu_i fits cluster labels, radius O(sqrt(d/k))."""
    A = 1 + beta * (p - 1)
    B = 1 + beta * (K - 1)
    BOUND = sp.sqrt(d / (B ** 2 / K + A ** 2 / p))
    cp, cm = sp.symbols("c_+ c_-", real=True)

    def kkt():
        # rho = c_- u_- - c_+ u_+: cost^2 = d (K c_-^2 + p c_+^2), flip iff B c_- + A c_+ >= 1
        _, cost2, _ = kkt_min_norm([cm, cp], B * cm + A * cp - 1, weights=[d * K, d * p])
        return is_zero(cost2 - BOUND ** 2)

    def explicit(pv=3, Kv=2):
        # explicit vectors in R^{pv+Kv}: margin (1 - beta) d, and the KKT attack reaches the flip
        n = pv + Kv
        mu = [sp.sqrt(d) * sp.Matrix([1 if i == j else 0 for i in range(n)]) for j in range(n)]
        own, opp = list(range(pv)), list(range(pv, n))
        W = [mu[j] + beta * sum((mu[i] for i in (own if j in own else opp) if i != j), sp.zeros(n, 1)) for j in range(n)]
        out = lambda x: [sp.Max(0, (Wj.T * x)[0]) for Wj in W]  # noqa: E731
        f = out(mu[0])
        margin_ok = all(is_zero(f[0] - f[i] - (1 - beta) * d) for i in own[1:]) and all(is_zero(f[0] - f[i] - d) for i in opp)
        A_, B_ = A.subs(p, pv), B.subs(K, Kv)
        sol, _, _ = kkt_min_norm([cm, cp], B_ * cm + A_ * cp - 1, weights=[d * Kv, d * pv])
        uplus = sum((mu[i] for i in own), sp.zeros(n, 1))
        uminus = sum((mu[i] for i in opp), sp.zeros(n, 1))
        x = mu[0] + sol[cm] * uminus - sol[cp] * uplus
        ok = True
        for bv in (sp.Rational(1, 2), sp.Rational(3, 4), sp.Rational(99, 100)):
            fx = [sp.simplify(v.subs(beta, bv)) for v in out(x)]
            ok &= is_zero(fx[pv] - max(fx[:pv], key=lambda e: float(e.subs(d, 1)))) and bool(fx[pv].subs(d, 1) > 0)
        return margin_ok and ok

    def bound_half():
        # beta >= 1/2  =>  B^2/K + A^2/p >= (K + p)/4, i.e. radius <= 2 sqrt(d/k): expand with
        # beta = 1/2 + e, K = 1 + K1, p = 1 + p1 and check every coefficient is >= 0
        e, K1, p1 = sp.symbols("e K1 p1", nonnegative=True)
        ok = True
        for X, n_ in ((B, K), (A, p)):
            poly = sp.Poly(sp.expand((X ** 2 - n_ ** 2 / 4).subs({beta: sp.Rational(1, 2) + e, K: 1 + K1, p: 1 + p1})),
                           e, K1, p1)
            ok &= all(cf >= 0 for cf in poly.coeffs())
        return ok

    balanced_limit = sp.simplify(BOUND.subs({beta: 1, p: k / 2, K: k / 2}))
    mu_s = sp.Symbol("mu_s")
    f_s, f_i, f_l = notation("f_s"), notation("f_i"), notation("f_l")  # i in J_s, i != s; l in J_{-s}
    steps = (
        Step("fits cluster labels: f_s(mu_s) - f_i(mu_s) = (1 - beta) d (own), d (other) (p=3, K=2, explicit)",
             sp.And(sp.Eq(f_s(mu_s) - f_i(mu_s), (1 - beta) * d, evaluate=False),
                    sp.Eq(f_s(mu_s) - f_l(mu_s), d, evaluate=False),
                    sp.Gt((1 - beta) * d, 0, evaluate=False)), explicit),
        Step("KKT along the averaged directions: radius <= sqrt(d/(B^2/K + A^2/p))",
             sp.Eq(sp.Symbol("r"), BOUND), kkt),
        Step("beta -> 1, balanced: bound -> sqrt(d/k)",
             sp.Eq(sp.Limit(BOUND.subs({p: k / 2, K: k / 2}), beta, 1, dir="-"), _sqrt(d / k), evaluate=False),
             lambda: is_zero(balanced_limit - sp.sqrt(d / k))),
        # k = p + K clusters in all
        Step("beta >= 1/2: bound <= 2 sqrt(d/k) (nonnegative coefficients)",
             sp.Implies(sp.Ge(beta, sp.Rational(1, 2), evaluate=False),
                        sp.Le(BOUND, 2 * sp.sqrt(d / (p + K)), evaluate=False)), bound_half),
    )
    preds = {"radius_bound": lambdify_prediction([d, p, K, beta], BOUND,
                                                 "upper bound sqrt(d/(B^2/K + A^2/p)) on the argmax radius, "
                                                 "A = 1 + beta(p-1), B = 1 + beta(K-1); p = |J_s|, K = |J_{-s}|")}
    return Claim(
        id="C6.mixed_labels", title="A net fitting the cluster labels with mixed features is non-robust (O(sqrt(d/k)))",
        statement=sp.Eq(notation("r_argmax")(sp.Symbol("mu_s")), BOUND, evaluate=False),
        assumptions="w_j = mu_j + beta sum_{i in J_s, i != j} mu_i, no bias, h = 1, 0 < beta < 1; "
                    "argmax readout (sum readout is weaker still).",
        regime="noise-free point; the statement is an upper bound (attack restricted to the averaged directions)",
        steps=steps, predictions=preds)
