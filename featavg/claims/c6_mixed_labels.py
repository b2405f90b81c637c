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

from featavg.evidence import Band, Check, Outcome, Rival, Term, median_interval
from featavg.theory import Claim, Step, is_zero, kkt_min_norm, lambdify_prediction, notation
from featavg.theory._common import K, beta, d, k, p, sqrt_as_written

ID = "C6.mixed_labels"
ORDER = (6, 0)


def derive():
    """The claim: w_j = mu_j + beta sum_{i in J_s, i != j} mu_i fits cluster labels, radius O(sqrt(d/k))."""
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
                    sp.Gt((1 - beta) * d, 0, evaluate=False)), explicit,
             generality="instance", instances="p = 3, K = 2, explicit vectors; beta = 1/2, 3/4, 99/100"),
        Step("KKT along the averaged directions: radius <= sqrt(d/(B^2/K + A^2/p))",
             sp.Eq(sp.Symbol("r"), BOUND), kkt),
        Step("beta -> 1, balanced: bound -> sqrt(d/k)",
             sp.Eq(sp.Limit(BOUND.subs({p: k / 2, K: k / 2}), beta, 1, dir="-"), sqrt_as_written(d / k), evaluate=False),
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
        id=ID, title="A net fitting the cluster labels with mixed features is non-robust (O(sqrt(d/k)))",
        statement=sp.Eq(notation("r_argmax")(sp.Symbol("mu_s")), BOUND, evaluate=False),
        assumptions="w_j = mu_j + beta sum_{i in J_s, i != j} mu_i, no bias, h = 1, 0 < beta < 1; "
                    "argmax readout (sum readout is weaker still).",
        regime="noise-free point; the statement is an upper bound (attack restricted to the averaged directions)",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

RADIUS_RTOL = 1e-9  # exact radii (see C3.averaging_radius)


def _measure(ctx):
    from featavg.simulate import make_features, make_partition, mixed_label_net, sample_mixture

    kk, dd, b = 10, 3072, 0.9
    rng = ctx.rng(61)
    feats = make_features(kk, dd, rng)
    labels = make_partition(kk)
    net = mixed_label_net(feats, labels, b)
    pp = int(np.sum(labels > 0))
    bound = float(ctx.prediction(ID, "radius_bound")(dd, pp, kk - pp, b))
    r0 = float(ctx.net_radii(net, feats[[0]], np.array([1]), labels, "argmax")[0])
    test = sample_mixture(feats, labels, 200, rng)
    acc = float(np.mean(net.output(test.X).argmax(axis=1) == test.clusters))
    band = Band(bound, (Term("CALIBRATED: the bound restricts the attack to the averaged directions; the exact "
                             "radius is at most 0.5% below it (to be derived exactly)", 0.005 * bound),))
    avg = float(ctx.claim("C3.averaging_radius").predictions["radius_balanced"](dd, kk))
    return Outcome(bound, r0, band,
                   rivals={"sqrt(d/2) (labels give robustness)": float(np.sqrt(dd / 2)),
                           "sqrt(d/k) (the beta -> 1 limit)": avg},
                   details={"cluster_accuracy": acc, "beta": b}, config={"k": kk, "d": dd, "beta": b})


EXACT = Check(
    "C6.mixed_labels", "Mixed-feature multi-class net fits cluster labels; exact radius at mu_j = the KKT radius",
    "w_j = mu_j + 0.9 sum_{J_s \\ j} mu_i, k=10, d=3072, argmax readout, noise-free point", _measure,
    rivals=(Rival("sqrt(d/2) (labels give robustness)", "cluster labels alone make the net robust"),
            Rival("sqrt(d/k) (the beta -> 1 limit)", "the averaging radius, as if beta were 1")),
    faults=("closed_form", "radius"))
