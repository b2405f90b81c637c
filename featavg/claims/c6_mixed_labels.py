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
from featavg.theory._claim import SumOver, Text
from featavg.theory._common import K, beta, d, k, p, sqrt_as_written

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
