r"""C6.mixed_labels: labels alone are not enough (the intent of the paper's Proposition 4.8).

A multi-class net can fit the cluster labels with weights that mix same-class features,
:math:`w_j = \mu_j + \beta\sum_{i\in J_s, i\ne j}\mu_i` (``0 < beta < 1``), and still be
non-robust: the attack along the averaged directions flips :math:`\mu_s` at
:math:`\sqrt{d/(B^2/K + A^2/p)}` with :math:`A = 1 + \beta(p-1)`, :math:`B = 1 + \beta(K-1)`, which
tends to :math:`\sqrt{d/k}` as :math:`\beta \to 1`. Robustness comes from the GD dynamics
(C5), not from the labels.

Evidence: the exact radius of the mixed-label net at noise-free and noisy points.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term
from featavg.theory import Claim, Step, is_zero, kkt_min_norm, lambdify_prediction, notation
from featavg.theory._claim import SumOver, Text
from featavg.theory._common import K, beta, d, k, numeric, p, sqrt_as_written

ID = "C6.mixed_labels"
ORDER = (6, 0)


def _gram_basis():
    r"""Coordinates for every ``p >= 2``, ``K >= 1``: the orthogonal vectors :math:`\mu_s`, :math:`\mu_i`
    (another own feature), :math:`\mu_l` (an opposite one), :math:`R_+` (the other ``p - 2`` own
    features summed) and :math:`R_-` (the other ``K - 1`` opposite ones), with Gram matrix
    ``diag(d, d, d, (p-2) d, (K-1) d)``; every vector of the claim is a combination of them."""
    G = sp.diag(d, d, d, (p - 2) * d, (K - 1) * d)
    e = [sp.Matrix([1 if r == c else 0 for r in range(5)]) for c in range(5)]
    mu_s, mu_i, mu_l, R_p, R_m = e
    u_p, u_m = mu_s + mu_i + R_p, mu_l + R_m

    def inner(a, b):
        return sp.expand((a.T * G * b)[0])

    # w_j = mu_j + beta sum_{J_s, != j} mu = (1 - beta) mu_j + beta u_{class of j}
    w = {"s": (1 - beta) * mu_s + beta * u_p, "i": (1 - beta) * mu_i + beta * u_p, "l": (1 - beta) * mu_l + beta * u_m}
    return w, mu_s, u_p, u_m, inner


def derive():
    """The claim: w_j = mu_j + beta sum_{i in J_s, i != j} mu_i fits cluster labels, radius O(sqrt(d/k))."""
    A = 1 + beta * (p - 1)
    B = 1 + beta * (K - 1)
    BOUND = sp.sqrt(d / (B ** 2 / K + A ** 2 / p))
    cp, cm = sp.symbols("c_+ c_-", real=True)
    w, mu_s_v, u_p, u_m, inner = _gram_basis()
    mu_s = sp.Symbol("mu_s")
    f_s, f_i, f_l = notation("f_s"), notation("f_i"), notation("f_l")  # i in J_s, i != s; l in J_{-s}
    out_at = {"f_s": "s", "f_i": "i", "f_l": "l"}

    def fits(st):
        ok = True
        for conj in st.args:
            if isinstance(conj, sp.Equality):  # f_s(mu_s) - f_x(mu_s) = ...
                (pos, neg) = sorted(conj.lhs.args, key=lambda t: t.could_extract_minus_sign())
                other = out_at[type(-neg).__name__]
                ok &= is_zero(inner(w["s"], mu_s_v) - inner(w[other], mu_s_v) - conj.rhs)
            else:
                ok &= isinstance(conj, sp.StrictGreaterThan) and conj.rhs == 0 and bool(
                    sp.simplify(conj.lhs.subs(beta, 1 - sp.Symbol("b1", positive=True))).is_positive)
        return ok

    def kkt(st):
        # rho = c_- u_- - c_+ u_+: cost^2 = d (K c_-^2 + p c_+^2), flip iff B c_- + A c_+ >= 1
        sol, cost2, _ = kkt_min_norm([cm, cp], B * cm + A * cp - 1, weights=[d * K, d * p])
        x = mu_s_v + sol[cm] * u_m - sol[cp] * u_p
        f = {j: sp.simplify(inner(w[j], x)) for j in w}
        # the best opposite output equals the own one, which is d B^2/K / (B^2/K + A^2/p) > 0 and
        # still (1 - beta) d above the other own outputs
        flips = (is_zero(f["l"] - f["s"]) and is_zero(f["s"] * (B ** 2 / K + A ** 2 / p) - d * B ** 2 / K)
                 and bool(B.is_positive) and is_zero(f["s"] - f["i"] - (1 - beta) * d))
        return flips and is_zero(cost2 - st.rhs ** 2)

    def bound_half(st):
        # beta >= 1/2  =>  B^2/K + A^2/p >= (K + p)/4, i.e. radius <= 2 sqrt(d/k): expand with
        # beta = 1/2 + e, K = 1 + K1, p = 1 + p1 and check every coefficient is >= 0
        concl = st.args[1]
        e, K1, p1 = sp.symbols("e K1 p1", nonnegative=True)
        ok = isinstance(concl, sp.LessThan) and is_zero(concl.lhs - BOUND) and is_zero(concl.rhs - 2 * sp.sqrt(d / (p + K)))
        for X, n_ in ((B, K), (A, p)):
            poly = sp.Poly(sp.expand((X ** 2 - n_ ** 2 / 4).subs({beta: sp.Rational(1, 2) + e, K: 1 + K1, p: 1 + p1})),
                           e, K1, p1)
            ok &= all(cf >= 0 for cf in poly.coeffs())
        return ok

    u_plus, u_minus, mu_j, mu_i = sp.Symbol("u_+"), sp.Symbol("u_-"), sp.Symbol("mu_j"), sp.Symbol("mu_i")
    c_shown = (sp.Symbol("c_-"), sp.Symbol("c_+"))
    steps = (
        Step(Text("the net fits the cluster labels: at ", mu_s, " its own output leads every other one of its class by ",
                  (1 - beta) * d, " and every opposite one by ", d, " (coordinates in ", mu_s,
                  ", another own feature, an opposite one and the sums of the rest: every ",
                  sp.Ge(p, 2, evaluate=False), ", ", K, ")"),
             sp.And(sp.Eq(f_s(mu_s) - f_i(mu_s), (1 - beta) * d, evaluate=False),
                    sp.Eq(f_s(mu_s) - f_l(mu_s), d, evaluate=False),
                    sp.Gt((1 - beta) * d, 0, evaluate=False), evaluate=False), fits),
        Step(Text("the attack ", mu_s + c_shown[0] * u_minus - c_shown[1] * u_plus,
                  " along the averaged directions: KKT for its two coefficients, and at the optimum the best opposite "
                  "output equals the own one (both positive): the radius is at most"),
             sp.Eq(sp.Symbol("r"), BOUND), kkt),
        Step(Text("a balanced net with ", beta, " tending to 1 is as fragile as an averaging one"),
             sp.Eq(sp.Limit(BOUND.subs({p: k / 2, K: k / 2}), beta, 1, dir="-"), sqrt_as_written(d / k), evaluate=False),
             lambda st: is_zero(sp.limit(BOUND.subs({p: k / 2, K: k / 2}), beta, 1, dir="-") - st.rhs)),
        # k = p + K clusters in all
        Step(Text("for ", sp.Ge(beta, sp.Rational(1, 2), evaluate=False), " the bound is at most ",
                  2 * sqrt_as_written(d / k), " (a polynomial with nonnegative coefficients)"),
             sp.Implies(sp.Ge(beta, sp.Rational(1, 2), evaluate=False),
                        sp.Le(BOUND, 2 * sp.sqrt(d / (p + K)), evaluate=False), evaluate=False), bound_half),
    )
    preds = {"radius_bound": lambdify_prediction([d, p, K, beta], BOUND,
                                                 "upper bound sqrt(d/(B^2/K + A^2/p)) on the argmax radius, "
                                                 "A = 1 + beta(p-1), B = 1 + beta(K-1); p = |J_s|, K = |J_{-s}|")}
    exact_steps, exact_preds = exact_derivation(BOUND)  # the exact radius and its noise term (issue 14), below
    steps = steps + exact_steps
    preds.update(exact_preds)
    J_s = sp.Symbol("J_s")
    return Claim(
        id=ID, title=Text("A net fitting the cluster labels with mixed features is non-robust (radius of order ",
                          sqrt_as_written(d / k), ")"),
        statement=sp.Eq(notation("r_argmax")(mu_s), BOUND, evaluate=False),
        assumptions=Text(sp.Eq(sp.Symbol("w_j"), mu_j + beta * (SumOver(mu_i, sp.Symbol("i"), J_s) - mu_j),
                               evaluate=False),
                         ", no bias, ", sp.Eq(sp.Symbol("h"), 1, evaluate=False), ", ", sp.Lt(0, beta, evaluate=False),
                         " and ", sp.Lt(beta, 1, evaluate=False),
                         "; argmax readout (the sum readout is weaker still)."),
        regime="noise-free point; the statement is an upper bound (attack restricted to the averaged directions)",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

# -- the exact radius (issue 14): derivation steps and predictions appended to derive() -------------

def exact_derivation(BOUND):
    r"""The exact minimal radius of the mixed-label net at :math:`\mu_s`, and its noise term.

    In feature coordinates (the weights span the features, so the minimal perturbation lies in
    their span), :math:`u_j = \langle w_j, x\rangle/\sqrt d = (1-\beta)x_j + \beta S_{c(j)}` with
    :math:`S_\pm` the sum of the coordinates of a class. The point flips to ``j'`` in
    :math:`J_{-s}` iff :math:`u_{j'} \ge u_j` for every ``j`` in :math:`J_s` (ReLU is monotone; the
    alternative, every own output switched off, costs more). The QP is convex and symmetric under
    permutations of the other own features and of the other opposite ones, so its unique optimum
    is symmetric: four coordinates :math:`\rho_s, \rho_o` (each of the ``p - 1`` other own),
    :math:`\rho_a` (the attacked ``j'``), :math:`\rho_b` (each of the ``K - 1`` other opposite), with
    weights ``1, p-1, 1, K-1`` in the norm. Only the constraint against ``u_s`` binds (the others keep
    a slack ``(1 - beta^2) + beta^2 (p+K-2)(1-beta) > 0`` times ``sqrt(d)/(2 + beta^2(p+K-2))``), so
    the radius is the distance to the bisector of ``w_s`` and ``w_{j'}``:

    .. math:: r(\mu_s) = \sqrt{d/(2 + \beta^2(p + K - 2))} \le \sqrt{d/(B^2/K + A^2/p)}.

    At :math:`\mu_s + \xi` the distance to each bisector is :math:`r + Z_{j'}` with
    :math:`Z_{j'} = \langle w_s - w_{j'}, \xi\rangle/\|w_s - w_{j'}\|` exchangeable standard normals of
    correlation :math:`\varrho = (1 + \beta^2(p-1) + 2\beta + \beta^2(K-2))/(2 + \beta^2(p+K-2))`, so the
    median radius is ``r`` plus the median of their minimum.
    """
    from featavg.theory._common import Phi, phi

    rs, ro, ra, rb = sp.symbols("rho_s rho_o rho_a rho_b", real=True)
    N_ = 2 + beta ** 2 * (p + K - 2)
    EXACT = sp.sqrt(d / N_)
    C1 = ra + beta * (K - 1) * rb - rs - beta * (p - 1) * ro - sp.sqrt(d)       # u_j' - u_s (times 1)
    C2 = ra + beta * (K - 1) * rb - beta * rs - (1 + beta * (p - 2)) * ro - beta * sp.sqrt(d)  # u_j' - u_o
    SLACK = sp.sqrt(d) * ((1 - beta ** 2) + beta ** 2 * (p + K - 2) * (1 - beta)) / N_
    RHO = (1 + beta ** 2 * (p - 1) + 2 * beta + beta ** 2 * (K - 2)) / N_
    OFF = sp.sqrt(d / (1 + beta ** 2 * (p - 1)))   # every own output switched off
    sol_box = {}

    def kkt_solution():
        if not sol_box:
            sol, cost2, _ = kkt_min_norm([rs, ro, ra, rb], C1, weights=[1, p - 1, 1, K - 1])
            sol_box.update(sol)
            sol_box["cost2"] = cost2
        return sol_box

    def constraints_from_coordinates(st):
        # u_j = (1 - beta) x_j + beta S_class, for every p and K: x_s = sqrt(d) + rho_s, the p - 1 other own
        # coordinates rho_o, the attacked j' rho_a, the K - 1 other opposite rho_b; the class sums as Sums
        i_ = sp.Symbol("i", positive=True, integer=True)
        S_p = sp.sqrt(d) + rs + sp.Sum(ro, (i_, 1, p - 1)).doit()
        S_m = ra + sp.Sum(rb, (i_, 1, K - 1)).doit()
        u_s, u_o, u_a = ((1 - beta) * (sp.sqrt(d) + rs) + beta * S_p, (1 - beta) * ro + beta * S_p,
                         (1 - beta) * ra + beta * S_m)
        derived = [u_a - u_s, u_a - u_o]   # flip to j' iff u_j' >= u_j for all j in J_s (ReLU monotone)
        ok = len(st.args) == 2
        for conj in st.args:
            ok &= (isinstance(conj, sp.GreaterThan) and conj.rhs == 0
                   and any(sp.expand(conj.lhs - c) == 0 for c in derived))   # polynomials: expand decides
        return ok and sp.expand(derived[0] - derived[1]) != 0

    def kkt_symmetric(st):
        cost2 = kkt_solution()["cost2"]
        return is_zero(cost2 - st.rhs ** 2) and st.rhs.is_nonnegative is not False

    bb = sp.Symbol("b", positive=True)  # beta = b/(1 + b) covers 0 < beta < 1
    p1, K1 = sp.Symbol("p1", nonnegative=True), sp.Symbol("K1", nonnegative=True)

    def other_constraints_slack(st):
        sol = kkt_solution()
        slack = sp.simplify(C2.subs({v: sol[v] for v in (rs, ro, ra, rb)}))
        positive = sp.simplify((slack / sp.sqrt(d) * N_).subs(beta, bb / (1 + bb)).subs({p: 1 + p1, K: 1 + K1}))
        return (isinstance(st, sp.StrictGreaterThan) and st.rhs == 0 and is_zero(st.lhs - slack)
                and bool(sp.factor(positive).is_positive))

    def switch_off_costlier(st):
        # switching w_s off alone costs <w_s, mu_s>/||w_s|| = d/(sqrt(d) sqrt(1 + beta^2 (p-1))) (KKT for one
        # half-space): every own output off costs at least that; its square exceeds r^2 = d/N by
        # d (1 + beta^2 (K-1))/(N (1 + beta^2 (p-1))) > 0
        i_ = sp.Symbol("i", positive=True, integer=True)
        norm2 = d * (1 + sp.Sum(beta ** 2, (i_, 1, p - 1)).doit())
        off = d / sp.sqrt(norm2)
        exact = sp.sqrt(kkt_solution()["cost2"])
        gap = sp.factor(sp.simplify(off ** 2 - exact ** 2))
        return (isinstance(st, sp.StrictGreaterThan) and is_zero(st.lhs - off) and is_zero(st.rhs - exact)
                and is_zero(gap - d * (1 + beta ** 2 * (K - 1)) / (N_ * (1 + beta ** 2 * (p - 1))))
                and bool(sp.factor(gap.subs({p: 1 + p1, K: 1 + K1})).is_positive))

    def below_bound(st):
        # Cauchy-Schwarz: A^2/p <= 1 + beta^2 (p-1), B^2/K <= 1 + beta^2 (K-1), with the gaps (n-1)(1-beta)^2/n,
        # so d/r^2 = N >= A^2/p + B^2/K = d/BOUND^2
        A, B = 1 + beta * (p - 1), 1 + beta * (K - 1)
        gaps = (is_zero(1 + beta ** 2 * (p - 1) - A ** 2 / p - (p - 1) * (1 - beta) ** 2 / p)
                and is_zero(1 + beta ** 2 * (K - 1) - B ** 2 / K - (K - 1) * (1 - beta) ** 2 / K)
                and is_zero(sp.simplify(BOUND ** -2 * d) - (A ** 2 / p + B ** 2 / K)))
        exact = sp.sqrt(kkt_solution()["cost2"])
        return gaps and isinstance(st, sp.LessThan) and is_zero(st.lhs - exact) and is_zero(st.rhs - BOUND)

    def correlation(st):
        # for every p and K >= 2: coordinates in mu_s, R_+ (the p - 1 other own features summed), mu_j',
        # mu_j'' and R_- (the K - 2 other opposite ones), Gram diag(d, (p-1) d, d, d, (K-2) d)
        G = sp.diag(d, (p - 1) * d, d, d, (K - 2) * d)
        e = [sp.Matrix([1 if r == c else 0 for r in range(5)]) for c in range(5)]
        mu_s_, R_p, mu_a, mu_b, R_m = e
        w_s = mu_s_ + beta * R_p
        w_a = mu_a + beta * (mu_b + R_m)
        w_b = mu_b + beta * (mu_a + R_m)
        inner = lambda u, v: sp.expand((u.T * G * v)[0])  # noqa: E731
        g1, g2 = w_s - w_a, w_s - w_b
        corr = inner(g1, g2) / inner(g1, g1)
        # rational functions of beta, p, K: cancel decides
        return (sp.cancel(corr - st.rhs) == 0 and sp.expand(inner(g1, mu_s_) - d) == 0
                and sp.expand(inner(g1, g1) - d * N_) == 0)

    a_, t_, rho_ = sp.symbols("a t varrho", real=True)
    Kk = sp.Symbol("K", positive=True)
    integrand = phi(a_) * Phi((sp.sqrt(rho_) * a_ - t_) / sp.sqrt(1 - rho_)) ** Kk

    def min_survival(st):
        # Z_j' = sqrt(varrho) A + sqrt(1 - varrho) E_j' (A, E_j' independent N(0, 1)) has unit variance and
        # correlation varrho; given A, P(Z_j' > t) = 1 - Phi((t - sqrt(varrho) A)/sqrt(1 - varrho)), and the K
        # events are independent; varrho = 1/2 gives C5.readouts' integrand phi(a) Phi(a - sqrt2 t)^K
        jj = sp.Symbol("j", positive=True, integer=True)
        r0 = sp.Symbol("varrho", positive=True)
        moments = is_zero(r0 + (1 - r0) - 1) and is_zero(sp.sqrt(r0) * sp.sqrt(r0) - r0)
        arg = (sp.sqrt(rho_) * a_ - t_) / sp.sqrt(1 - rho_)
        symmetric = is_zero(1 - Phi(-arg) - Phi(arg))       # 1 - Phi(-x) = Phi(x)
        derived = phi(a_) * sp.Product(Phi(arg), (jj, 1, Kk)).doit()
        c5 = is_zero(integrand.subs(rho_, sp.Rational(1, 2)) - phi(a_) * Phi(a_ - sp.sqrt(2) * t_) ** Kk)
        ok = isinstance(st.rhs, sp.Integral) and st.rhs.limits == ((a_, -sp.oo, sp.oo),)
        return bool(moments and symmetric and c5 and ok and is_zero(st.rhs.function - derived))

    r_ = sp.Symbol("r")
    u_j, u_jp, u_s, u_o = sp.Symbol("u_j"), sp.Symbol("u_j'"), sp.Symbol("u_s"), sp.Symbol("u_o")
    rho_shown = sp.Tuple(rs, ro, ra, rb)
    Zp, Zpp, xi, mu_s = sp.Symbol("Z_j'"), sp.Symbol("Z_j''"), sp.Symbol("xi"), sp.Symbol("mu_s")
    steps = (
        Step(Text("flip to ", sp.Symbol("j'"), " iff ", sp.Ge(u_jp, u_j, evaluate=False), " for all ",
                  sp.Symbol("j"), " in ", sp.Symbol("J_s"), "; in symmetric coordinates ", rho_shown,
                  " the constraints against ", u_s, " and ", u_o, " are C1, C2, for every ", p, " and ", K),
             sp.And(sp.Ge(C1, 0, evaluate=False), sp.Ge(C2, 0, evaluate=False)), constraints_from_coordinates),
        Step(Text("KKT with C1 alone (weights ", sp.Tuple(1, p - 1, 1, K - 1), "): ",
                  sp.Eq(notation("r")(mu_s), EXACT, evaluate=False)),
             sp.Eq(r_, EXACT, evaluate=False), kkt_symmetric),
        Step(Text("C2 is slack at that optimum for ", sp.Lt(0, beta, evaluate=False), " and ",
                  sp.Lt(beta, 1, evaluate=False), ": its slack ", SLACK, " is positive, so C1 alone binds"),
             sp.Gt(SLACK, 0, evaluate=False), other_constraints_slack),
        Step(Text("switching every own output off costs ", OFF, ", more than ", r_),
             sp.Gt(OFF, EXACT, evaluate=False), switch_off_costlier),
        Step(Text("the averaged-directions bound is above the exact radius (Cauchy-Schwarz, gap ",
                  (sp.Symbol("n") - 1) * (1 - beta) ** 2 / sp.Symbol("n"), " per class of ", sp.Symbol("n"),
                  " clusters)"),
             sp.Le(EXACT, BOUND, evaluate=False), below_bound),
        Step(Text("noisy point: ", sp.Eq(notation("r")(mu_s + xi), notation("min_j'")(r_ + Zp), evaluate=False),
                  ", ", Zp, " exchangeable standard normals of correlation ", rho_, ", for every ", p, " and ",
                  sp.Ge(K, 2, evaluate=False)),
             sp.Eq(notation("corr")(Zp, Zpp), RHO, evaluate=False), correlation),
        Step(Text("the minimum's survival function is an expectation over the common factor ", sp.Symbol("A"),
                  "; ", sp.Eq(rho_, sp.Rational(1, 2), evaluate=False), " is C5.readouts' argmax term"),
             sp.Eq(notation("P")(sp.Gt(sp.Symbol("min Z"), t_, evaluate=False)),
                   sp.Integral(integrand, (a_, -sp.oo, sp.oo)), evaluate=False), min_survival),
    )
    f_int = sp.lambdify([a_, t_, rho_, Kk], numeric(integrand), modules=["numpy", "scipy"])

    def noise_median(rho, K):
        """Median of min over K exchangeable N(0, 1) of correlation rho, and the density there: (median, density).

        The survival function is integrated in ``u`` with ``a = (t + sqrt(1 - rho) u)/sqrt(rho)`` (Jacobian
        ``sqrt((1 - rho)/rho)``), in which the integrand varies on a scale of order 1 even for rho near 1; the
        density is the central difference of the survival function (step 1e-4, error O(1e-8)).
        """
        from scipy import integrate, optimize

        sc = np.sqrt((1 - rho) / rho)

        def surv(t):
            g = lambda u: f_int((t + np.sqrt(1 - rho) * u) / np.sqrt(rho), t, rho, K) * sc  # noqa: E731
            return integrate.quad(g, -np.inf, np.inf, epsabs=1e-13, limit=200)[0]

        med = optimize.brentq(lambda t: surv(t) - 0.5, -10.0, 10.0, xtol=1e-12)
        h = 1e-4
        return float(med), float((surv(med - h) - surv(med + h)) / (2 * h))

    exact = lambdify_prediction([d, p, K, beta], EXACT, "exact argmax radius sqrt(d/(2 + beta^2 (p+K-2))) at mu_s")
    rho_fn = lambdify_prediction([p, K, beta], RHO, "correlation of the bisectors' noise terms")

    def radius_noisy_median(d, p, K, beta):
        """Median argmax radius at mu_s + xi: r(mu_s) + median of min over K correlated normals; (median, density)."""
        med, dens = noise_median(float(rho_fn(p, K, beta)), int(K))
        return float(exact(d, p, K, beta)) + med, dens

    preds = {"radius_exact": exact, "noise_correlation": rho_fn, "noise_median": noise_median,
             "radius_noisy_median": radius_noisy_median}
    return steps, preds


RADIUS_RTOL = 1e-9  # exact radii (see C3.averaging_radius)

#: (beta, |J+|) of the nets whose exact radius at mu_j is checked (k = 10): unbalanced partitions too
_CASES = ((0.9, 5), (0.5, 5), (0.3, 3), (0.7, 7))


def _measure(ctx):
    from featavg.simulate import make_features, make_partition, mixed_label_net, sample_mixture

    kk, dd = 10, 3072
    rng = ctx.rng(61)
    feats = make_features(kk, dd, rng)
    exact, bound = ctx.prediction(ID, "radius_exact"), ctx.prediction(ID, "radius_bound")
    meas, pred, riv_bound, cases = [], [], [], []
    acc = None
    for b, pos in _CASES:
        labels = make_partition(kk, pos)
        net = mixed_label_net(feats, labels, b)
        jp, jm = int(np.flatnonzero(labels > 0)[0]), int(np.flatnonzero(labels < 0)[0])
        meas += ctx.net_radii(net, feats[[jp, jm]], np.array([1, -1]), labels, "argmax").tolist()
        for pp in (pos, kk - pos):
            pred.append(float(exact(dd, pp, kk - pp, b)))
            riv_bound.append(float(bound(dd, pp, kk - pp, b)))
        cases.append({"beta": b, "positive": pos})
        if acc is None:
            test = sample_mixture(feats, labels, 200, rng)
            acc = float(np.mean(net.output(test.X).argmax(axis=1) == test.clusters))
    pred = np.array(pred)
    band = Band(pred, (Term(f"exact radius to {RADIUS_RTOL:g} relative (QP gap and feasibility 1e-10)",
                            RADIUS_RTOL * pred),))
    avg = float(ctx.claim("C3.averaging_radius").predictions["radius_balanced"](dd, kk))
    return Outcome(pred, np.array(meas), band,
                   rivals={"sqrt(d/(B^2/K + A^2/p)) (attack along the averaged directions)": np.array(riv_bound),
                           "sqrt(d/2) (labels give robustness)": np.full(pred.size, np.sqrt(dd / 2)),
                           "sqrt(d/k) (the beta -> 1 limit)": np.full(pred.size, avg)},
                   details={"cluster_accuracy": acc, "cases": cases,
                            "max_relative_error": float(np.max(np.abs(np.array(meas) - pred) / pred))},
                   config={"k": kk, "d": dd})


EXACT = Check(
    "C6.mixed_labels", "Mixed-feature multi-class net fits cluster labels; exact radius at mu_j = sqrt(d/(2 + beta^2 (p+K-2)))",
    "w_j = mu_j + beta sum_{J_s \\ j} mu_i, k=10, d=3072, argmax readout, noise-free points mu_j of both classes; "
    "(beta, |J+|) = (0.9, 5), (0.5, 5), (0.3, 3), (0.7, 7)", _measure,
    rivals=(Rival("sqrt(d/(B^2/K + A^2/p)) (attack along the averaged directions)",
                  "the upper bound of the attack restricted to the averaged directions"),
            Rival("sqrt(d/2) (labels give robustness)", "cluster labels alone make the net robust"),
            Rival("sqrt(d/k) (the beta -> 1 limit)", "the averaging radius, as if beta were 1")),
    faults=("closed_form", "radius"))


def _measure_noisy(ctx):
    from featavg.evidence import median_interval, quantile
    from featavg.simulate import make_features, make_partition, mixed_label_net, sample_mixture

    kk, dd, b = 10, 3072, 0.9
    n = 150 if ctx.quick else 400
    rng = ctx.rng(62)
    feats = make_features(kk, dd, rng)
    labels = make_partition(kk)
    net = mixed_label_net(feats, labels, b)
    test = sample_mixture(feats, labels, n, rng)
    r = ctx.net_radii(net, test.X, test.y, labels, "argmax")
    pp = int(np.sum(labels > 0))
    pred, dens = ctx.prediction(ID, "radius_noisy_median")(dd, pp, kk - pp, b)
    pred, dens = float(pred), float(dens)
    med, lo, hi, cov = median_interval(r)
    z = quantile()
    band = Band(pred, (Term(f"z = {z:.3g} x standard error 1/(2 sqrt(n) g) of a sample median, n = {n}, g the "
                            "predicted density at the median", z / (2 * np.sqrt(n) * dens), "stat"),))
    ex = float(ctx.prediction(ID, "radius_exact")(dd, pp, kk - pp, b))
    half = float(ctx.claim("C5.readouts").predictions["argmax_noise_median"](kk - pp))
    return Outcome(pred, med, band, interval=(lo, hi), seeds=[ctx.seed], baseline=ex,
                   rivals={"r(mu_s) + the decoupled net's correction (correlation 1/2)": ex + half,
                           "sqrt(d/k) (the beta -> 1 limit)":
                               float(ctx.claim("C3.averaging_radius").predictions["radius_balanced"](dd, kk)),
                           "sqrt(d/2) + the ideal argmax correction (labels give robustness)":
                               float(ctx.claim("C5.readouts").predictions["radius_argmax_noisy_median"](dd, kk - pp))},
                   details={"points": n, "interval_coverage": cov,
                            "noise_correlation": float(ctx.prediction(ID, "noise_correlation")(pp, kk - pp, b)),
                            "noise_correction": pred - ex},
                   config={"k": kk, "d": dd, "beta": b, "sigma": 1.0})


NOISY = Check(
    "C6.mixed_labels.noisy", "Mixed-feature net at mu_s + xi: median exact radius = r(mu_s) + median of min of K correlated normals",
    "w_j = mu_j + 0.9 sum_{J_s \\ j} mu_i, k=10, d=3072, argmax readout, 400 noisy test points (quick 150); "
    "the noise-free rival (correction -0.04) is within the band and not listed", _measure_noisy,
    rivals=(Rival("r(mu_s) + the decoupled net's correction (correlation 1/2)",
                  "the bisectors' noise correlation of the decoupled net instead of the mixed net's"),
            Rival("sqrt(d/k) (the beta -> 1 limit)", "the averaging radius, as if beta were 1"),
            Rival("sqrt(d/2) + the ideal argmax correction (labels give robustness)", "cluster labels alone make the net robust")),
    faults=("closed_form", "radius"))
