r"""C4.optimal_bound: no classifier beats sqrt(d/2) by much, for the k-cluster mixture.

Two opposite-label features are :math:`\|\mu_i - \mu_j\| = \sqrt{2d}` apart, so their midpoint is
:math:`\sqrt{d/2}` from both and no classifier can be robust beyond that radius on both points.

Any classifier, one pair. Couple :math:`X \sim N(\mu_i, I)` and :math:`X' \sim N(\mu_j, I)`
(opposite labels) by shifting each towards the other by :math:`\delta` along
:math:`e = (\mu_j - \mu_i)/\|\mu_j - \mu_i\|` and coupling the shifted laws maximally: where the
shifted points coincide, the balls :math:`B(X, \delta)` and :math:`B(X', \delta)` share a point, so
the classifier cannot be robustly right on both. Hence
:math:`a_i + b_j \le 1 + \mathrm{TV}(N(\mu_i + \delta e, I), N(\mu_j - \delta e, I)) = 2\Phi(\sqrt{d/2} - \delta)`
for :math:`0 \le \delta \le \sqrt{d/2}` (:math:`a_i`, :math:`b_j` the robust accuracies on the two
clusters): the two-Gaussian bound of Bhagoji, Cullina & Mittal (2019), by its optimal-transport
argument. The bisector reaches it.

Any classifier, the mixture (:math:`p = |J_+| \ge K = |J_-|`, :math:`k = p + K`, equal weights).
Summing the pair bound over all :math:`pK` pairs and bounding the surplus positive clusters by 1,

.. math:: A(f, \delta) \le 1 - \frac{2K}{k}\bigl(1 - \Phi(\sqrt{d/2} - \delta)\bigr),

which is :math:`\Phi(\sqrt{d/2} - \delta)` for a balanced mixture (:math:`p = K`; the pair is
:math:`p = K = 1`). The nearest-mean classifier's robust accuracy
:math:`\int \varphi(g)\,\Phi(g + \sqrt2(\sqrt{d/2} - \delta))^K dg` (a lower bound on the
optimum) lies between the union bound and the pair formula. The ratio of the optimum to the
averaging radius is :math:`\sqrt{k/2}`.

Evidence: the thresholded net of C4.threshold_net reaches exactly :math:`\sqrt{d/2}` on the
predicted window of thresholds, found by root finding (Brent) on the exact radius, and never exceeds it.
"""

import numpy as np
import sympy as sp
import sympy.stats as st
from scipy import integrate

from featavg.claims.c4_threshold_net import OPTIMUM, RADIUS_RTOL  # noqa: F401 (OPTIMUM: derive)
from featavg.evidence import Band, Check, Outcome, Rival, Term
from featavg.theory import Claim, Norm, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import Text
from featavg.theory._common import (K, Phi, d, delta, explicit, factor_sums, k, numeric, p, phi, ratio_as_written,
                                    sqrt_as_written)

ID = "C4.optimal_bound"
ORDER = (4, 1)


def derive():
    """The claim: pair coupling bound, the mixture's bound for any classifier, the nearest-mean classifier."""
    s_opt = sqrt_as_written(d / 2)
    Zs = st.Normal("Z", 0, 1)
    pair = Phi(s_opt - delta)
    g = sp.Symbol("g", real=True)
    integrand = phi(g) * Phi(g + sp.sqrt(2) * (s_opt - delta)) ** K
    f_int = sp.lambdify([g, d, delta, K], numeric(integrand), modules=["numpy", "scipy"])

    def mixture(d, delta, K):
        """Nearest-mean robust accuracy: int phi(g) Phi(g + sqrt2 (sqrt(d/2) - delta))^K dg (a lower bound)."""
        return integrate.quad(lambda x: f_int(x, d, delta, K), -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13)[0]

    A_K = sp.Integral(integrand, (g, -sp.oo, sp.oo))  # the nearest-mean classifier's robust accuracy
    bound = 1 - 2 * K * (1 - pair) / (p + K)
    shown_bound = 1 - 2 * sp.Min(p, K) * (1 - pair) / k

    x, D, c, y = sp.Symbol("x", real=True), sp.Symbol("D", positive=True), sp.Symbol("c", real=True), \
        sp.Symbol("y", nonnegative=True)
    i, j = sp.symbols("i j", positive=True, integer=True)
    a, b = sp.IndexedBase("a", real=True), sp.IndexedBase("b", real=True)
    mu_i, mu_j, Xs, Xp = sp.Symbol("mu_i"), sp.Symbol("mu_j"), sp.Symbol("X"), sp.Symbol("X'")
    A = notation("A")
    f_ = sp.Symbol("f")
    TV = notation("TV")

    def midpoint(st_):
        # ||mu_i - mu_j||^2 = ||mu_i||^2 + ||mu_j||^2 - 2 <mu_i, mu_j> = d + d - 0
        return is_zero(sp.sqrt(d + d - 2 * 0) / 2 - st_.rhs)

    def total_variation():
        """TV of N(0, 1) and N(D, 1): the densities cross at D/2, so TV = int_{-oo}^{D/2} (phi(x) - phi(x - D))."""
        crossing = is_zero(((x - D) ** 2 - x ** 2) - D * (D - 2 * x))  # phi(x) > phi(x - D) iff x < D/2
        tv = sp.integrate(explicit(phi(x) - phi(x - D)), (x, -sp.oo, D / 2))
        return crossing, tv

    def pair_coupling(st_):
        crossing, tv = total_variation()
        concl = st_.args[1]
        distance = sp.sqrt(2 * d) - 2 * delta  # of the shifted means, >= 0 for delta <= sqrt(d/2)
        return (crossing and isinstance(concl, sp.LessThan) and concl.lhs == a[i] + b[j]
                and is_zero(1 + tv.subs(D, distance) - concl.rhs))

    def mixture_sum(st_):
        # sum_i a_i + sum_j b_j = (1/p) sum_{i,j} (a_i + b_j) + (1 - K/p) sum_i a_i  (an identity of sums)
        lhs = sp.Sum(a[i], (i, 1, p)) + sp.Sum(b[j], (j, 1, K))
        rhs = sp.Sum(sp.Sum(a[i] + b[j], (j, 1, K)), (i, 1, p)) / p + (1 - K / p) * sp.Sum(a[i], (i, 1, p))
        identity = factor_sums(sp.expand(lhs - rhs)) == 0
        # then the pK pair bounds a_i + b_j <= 2 Phi and a_i <= 1, with nonnegative weights 1/p, 1 - K/p
        e = sp.Symbol("e", nonnegative=True)   # p = K + e
        weights = bool((1 / p).is_positive) and is_zero((1 - K / p).subs(p, K + e) - e / (K + e)) \
            and bool((e / (K + e)).is_nonnegative)
        total = (1 / p) * (p * K) * 2 * pair + (1 - K / p) * p
        concl = st_.args[1]
        return (identity and weights and isinstance(concl, sp.LessThan)
                and is_zero(total / (p + K) - concl.rhs))

    def pair_case(st_):
        return is_zero(bound.subs(p, K) - st_.rhs)

    def nearest_mean_pair(st_):
        # I(c) = int phi(g) Phi(g + c) dg: I'(c) = int phi(g) phi(g + c) dg = phi(c/sqrt2)/sqrt2 and
        # I(0) = [Phi^2/2] = 1/2; Phi(c/sqrt2) has the same derivative and value, so I(c) = Phi(c/sqrt2)
        deriv = sp.integrate(explicit(phi(g) * phi(g + c)), (g, -sp.oo, sp.oo))
        same_derivative = is_zero(deriv - sp.diff(explicit(Phi(c / sp.sqrt(2))), c))
        antiderivative = is_zero(sp.diff(explicit(Phi(g) ** 2 / 2), g) - explicit(phi(g) * Phi(g)))
        at_zero = (sp.limit(explicit(Phi(g) ** 2 / 2), g, sp.oo) - sp.limit(explicit(Phi(g) ** 2 / 2), g, -sp.oo)
                   == sp.Rational(1, 2)) and Phi(0) == sp.Rational(1, 2)
        return same_derivative and antiderivative and at_zero and \
            is_zero(Phi(sp.sqrt(2) * (s_opt - delta) / sp.sqrt(2)) - st_.rhs)

    def between(st_):
        # x^K <= x on [0, 1] (x = e^{-y}: x^{K-1} = e^{-(K-1) y} <= 1) gives E[Phi^K] <= E[Phi] = Phi*;
        # Bernoulli h(x) = x^K - 1 + K(1 - x) >= 0 on [0, 1] (h(1) = 0, h' = K(x^{K-1} - 1) <= 0) gives
        # E[Phi^K] >= 1 - K(1 - E[Phi]); E[Phi(g + c)] = Phi(c/sqrt2) (the previous step)
        xx = sp.Symbol("x", positive=True)
        power_le_one = bool((-(K - 1) * y).is_nonpositive)
        h = xx ** K - 1 + K * (1 - xx)
        bernoulli = h.subs(xx, 1) == 0 and is_zero(sp.diff(h, xx) - K * (xx ** (K - 1) - 1))
        ok = power_le_one and bernoulli
        for conj in st_.args:
            if not isinstance(conj, sp.LessThan):
                return False
            if conj.rhs == A_K:
                ok &= is_zero(conj.lhs - (1 - K * (1 - pair)))
            elif conj.lhs == A_K:
                ok &= is_zero(conj.rhs - pair)
            else:
                return False
        return ok

    steps = (
        Step(Text("midpoint: ", mu_i, " and ", mu_j, " (opposite labels) are ", sp.sqrt(2 * d),
                  " apart, so their midpoint is ", s_opt, " from both"),
             sp.Eq(Norm(mu_i - mu_j) / 2, s_opt, evaluate=False), midpoint),
        Step(Text("the bisector classifier is robustly right at ", mu_i + sp.Symbol("xi"), " when ",
                  sp.Gt(s_opt + sp.Symbol("Z"), delta, evaluate=False), ", ", sp.Symbol("Z"),
                  " standard normal: it reaches ", pair),
             sp.Eq(notation("P")(sp.Gt(s_opt + sp.Symbol("Z"), delta, evaluate=False)), pair, evaluate=False),
             lambda st_: is_zero(st.P(s_opt + Zs > delta) - st_.rhs)),
        Step(Text("any classifier, one pair: shift ", Xs, " and ", Xp, " towards each other by ", delta,
                  " along the unit vector ", sp.Symbol("e"), " from ", mu_i, " to ", mu_j,
                  " and couple the shifted laws maximally; where they meet, the balls of radius ", delta,
                  " share a point. So the robust accuracies ", a[i], ", ", b[j], " of the two clusters obey ",
                  sp.Le(a[i] + b[j], 1 + TV(notation("N")(mu_i + delta * sp.Symbol("e"), sp.Symbol("I_d")),
                                            notation("N")(mu_j - delta * sp.Symbol("e"), sp.Symbol("I_d"))),
                        evaluate=False),
                  " with the total variation of two unit Gaussians ", sp.sqrt(2 * d) - 2 * delta, " apart"),
             sp.Implies(sp.And(sp.Le(0, delta, evaluate=False), sp.Le(delta, s_opt, evaluate=False), evaluate=False),
                        sp.Le(a[i] + b[j], 2 * pair, evaluate=False), evaluate=False),
             pair_coupling),
        Step(Text("any classifier, the mixture (", sp.Ge(p, K, evaluate=False), "): the ", p * K,
                  " pair bounds summed, and ", sp.Le(a[i], 1, evaluate=False), " for the surplus ", p - K,
                  " positive clusters, bound the robust accuracy ",
                  sp.Eq(A(f_, delta), (sp.Sum(a[i], (i, 1, p)) + sp.Sum(b[j], (j, 1, K))) / k, evaluate=False)),
             sp.Implies(sp.Ge(p, K, evaluate=False), sp.Le(A(f_, delta), bound, evaluate=False), evaluate=False),
             mixture_sum),
        Step(Text("a balanced mixture (", sp.Eq(p, K, evaluate=False), ", the pair is ",
                  sp.Eq(p, 1, evaluate=False), ", ", sp.Eq(K, 1, evaluate=False), ") is bounded by the pair formula"),
             sp.Eq(bound.subs(p, K), pair, evaluate=False), pair_case),
        Step(Text("the nearest-mean classifier: for ", sp.Eq(K, 1, evaluate=False),
                  " its robust accuracy is the pair formula (", A_K.subs(K, 1).function.subs(
                      sp.sqrt(2) * (s_opt - delta), c), " integrates to ", Phi(c / sp.sqrt(2)),
                  ": equal derivatives in ", c, " and equal values at 0)"),
             sp.Eq(A_K.subs(K, 1), pair, evaluate=False), nearest_mean_pair),
        Step(Text("for every ", K, " it lies between the union bound and the pair formula (",
                  sp.Le(sp.Symbol("x") ** K, sp.Symbol("x"), evaluate=False), " and Bernoulli's inequality on ",
                  sp.Interval(0, 1), ")"),
             sp.And(sp.Le(1 - K * (1 - pair), A_K, evaluate=False), sp.Le(A_K, pair, evaluate=False), evaluate=False),
             between),
        Step(Text("the optimum is ", sqrt_as_written(k / 2), " times the averaging radius"),
             sp.Eq(ratio_as_written(s_opt, sqrt_as_written(d / k)), sqrt_as_written(k / 2), evaluate=False),
             lambda st_: is_zero(OPTIMUM / sp.sqrt(d / k) - st_.rhs)),
    )
    preds = {
        "optimal_radius": lambdify_prediction([d], OPTIMUM, "sqrt(d/2)"),
        "pair_robust_accuracy": lambdify_prediction([d, delta], pair, "Phi(sqrt(d/2) - delta)"),
        "mixture_robust_accuracy": mixture,
        "mixture_upper_bound": lambdify_prediction(
            [d, delta, p, K], 1 - 2 * sp.Min(p, K) * (1 - pair) / (p + K),
            "upper bound 1 - 2 min(p, K)(1 - Phi(sqrt(d/2) - delta))/k on any classifier's robust accuracy, "
            "0 <= delta <= sqrt(d/2); p = |J+|, K = |J-|"),
        "ratio": lambdify_prediction([k], OPTIMUM / sp.sqrt(d / k), "sqrt(k/2)"),
    }
    return Claim(
        id=ID, title=Text("No classifier beats ", s_opt, " by much: a coupling bound for the ", k,
                          "-cluster mixture"),
        statement=sp.Le(A(f_, delta), shown_bound, evaluate=False),
        assumptions=Text("Any classifier ", f_, "; clusters ", notation("N")(sp.Symbol("mu_j"), sp.Symbol("I_d")),
                         " with equal weights, orthogonal equinorm features; ", sp.Eq(p, sp.Abs(sp.Symbol("J_+")),
                                                                                    evaluate=False),
                         ", ", sp.Eq(K, sp.Abs(sp.Symbol("J_-")), evaluate=False), "; ",
                         sp.Le(0, delta, evaluate=False), " and ", sp.Le(delta, s_opt, evaluate=False),
                         " (beyond it a constant classifier's accuracy is the bound); ", A(f_, delta),
                         " the fraction of points ", sp.Symbol("x"), " for which ", f_,
                         " is right on the whole ball of radius ", delta, " around ", sp.Symbol("x"), "."),
        regime=Text("any ", d, "; noise ", notation("N")(0, sp.Symbol("I_d"))), steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

#: root finding on tau (Brent's method on the continuous radius minus the level): absolute
#: tolerance XTOL sqrt(d), below the end's uncertainty from the exact radii (1e-9 relative x sqrt(3)
#: x sqrt(1/2) ~ 1.2e-9 sqrt(d)), and the smallest relative tolerance brentq accepts
XTOL = 1e-10
RTOL = 4 * np.finfo(float).eps


#: relative depth below the optimum of the level whose crossings are the window's ends
LEVEL = 1e-3

#: sqrt(d) of the current measurement (the unit of XTOL)
SQRT_D_SCALE = [1.0]


def _crossing(level_fn, lo, hi, increasing):
    """The tau in [lo, hi] where the continuous ``level_fn`` crosses 0 (brentq; the sign of the
    bracket is checked: ``level_fn(lo) < 0 <= level_fn(hi)`` when ``increasing``, else reversed)."""
    from scipy import optimize

    a, b = level_fn(lo), level_fn(hi)
    if (a >= 0 or b < 0) if increasing else (a < 0 or b >= 0):
        raise ArithmeticError(f"no crossing in [{lo:g}, {hi:g}]: values {a:g}, {b:g}")
    return optimize.brentq(level_fn, lo, hi, xtol=XTOL * SQRT_D_SCALE[0], rtol=RTOL)


def _measure(ctx):
    from featavg.simulate import make_features, make_partition, threshold_net

    kk, dd = 10, 3072
    KK = kk // 2
    sd = np.sqrt(dd)
    SQRT_D_SCALE[0] = sd
    feats = make_features(kk, dd, ctx.rng(42))
    labels = make_partition(kk)
    opt = float(ctx.prediction(ID, "optimal_radius")(dd))
    # the window's ends are measured as the crossings of the level opt (1 - LEVEL): LEVEL = 1e-3 is a
    # million times what the exact radii resolve, and keeps each crossing on one linear branch of the
    # radius (the kinks at the window's ends are LEVEL opt away), so Brent's method converges in a few
    # exact evaluations; predicted and measured ends are both crossings of that level
    level = opt * (1 - LEVEL)
    tn = ctx.claim("C4.threshold_net").predictions
    radius = tn["radius"]

    def exact(t):
        net = threshold_net(feats, labels, t)
        return float(ctx.net_radii(net, feats[[0, kk - 1]], np.array([1, -1])).min())

    def formula(fn):
        return lambda t: float(fn(t)) - level

    centre = 0.26 * sd  # inside the window
    meas_lo = _crossing(lambda t: exact(t) - level, 0.0, centre, True)
    meas_hi = _crossing(lambda t: exact(t) - level, centre, 0.5 * sd, False)
    r_centre = exact(centre)
    pred_lo = _crossing(formula(lambda t: radius(dd, t, KK)), 0.0, centre, True)
    pred_hi = _crossing(formula(lambda t: radius(dd, t, KK)), centre, 0.5 * sd, False)
    lk = lambda t: min(float(tn["cost_switch_off"](dd, t)), float(tn["cost_raise"](dd, t, KK)))  # noqa: E731
    rival_lo = _crossing(formula(lk), 0.0, centre, True)
    # slopes of the radius at the ends: (L - 1)/sqrt(1 + L) = 1/sqrt(3) at the lower (L = 2), -1 at the upper;
    # brentq's bound on the distance to the root: xtol + rtol |tau|, with tau <= sqrt(d)/2
    res = XTOL * sd + RTOL * 0.5 * sd
    tol_lo = RADIUS_RTOL * opt * np.sqrt(3) + 2 * res
    tol_hi = RADIUS_RTOL * opt + 2 * res
    pred = np.array([pred_lo / sd, pred_hi / sd, opt / sd])
    meas = np.array([meas_lo / sd, meas_hi / sd, r_centre / sd])
    band = Band(pred, (Term("exact radius to 1e-9 relative, divided by the radius's slope in tau at the ends "
                            "(1/sqrt 3 below, 1 above), plus the root finder's tolerance",
                            np.array([tol_lo, tol_hi, RADIUS_RTOL * opt]) / sd),))
    return Outcome(pred, meas, band,
                   rivals={"lower end set by L = K (raise all)": np.array([rival_lo / sd, pred_hi / sd, opt / sd]),
                           "optimum sqrt(d/(1+K)) (no threshold)": np.array([pred_lo / sd, pred_hi / sd,
                                                                             np.sqrt(dd / (1 + KK)) / sd])},
                   details={"components": ["tau_low/sqrt(d)", "tau_high/sqrt(d)", "radius at 0.26 sqrt(d) / sqrt(d)"],
                            "closed_form_ends": [float(tn["tau_low"](dd)) / sd, float(tn["tau_high"](dd)) / sd]},
                   config={"k": kk, "d": dd, "level": LEVEL, "xtol_over_sqrt_d": XTOL, "rtol": RTOL})


WINDOW = Check(
    "C4.optimal_bound", "The thresholded net reaches sqrt(d/2) exactly on the predicted window of tau (root finding)",
    "noise-free points, k=10, d=3072; window ends found by Brent's method on the exact radius", _measure,
    rivals=(Rival("lower end set by L = K (raise all)", "the attack raising every opposite feature binds first"),
            Rival("optimum sqrt(d/(1+K)) (no threshold)", "the radius of the sum readout / unthresholded net")),
    faults=("closed_form", "radius"))
