r"""A1.leaky_relu: the averaging and the decoupled radius with a leaky ReLU (issue 18).

The activation :math:`\sigma_a(z) = \max(z, az) = az + (1 - a)\,\mathrm{ReLU}(z)`, slope
:math:`0 < a < 1` (``featavg.simulate`` ``leaky_relu``; :math:`\sigma_a'(0) = a`). It is strictly
increasing, and its inactive side still contributes :math:`az`.

Averaging net (C3's, :math:`w_\pm = \alpha_\pm\sum_{J_\pm}\mu_i`, biases :math:`b_\pm`, ``m``
identical neurons per sign): at :math:`\mu_j`, :math:`j \in J_+`, :math:`f = \sigma_a(z_+) -
\sigma_a(z_-) \le 0` iff :math:`z_+ \le z_-`, a single half-space: switching the own neurons off
no longer flips the point (at :math:`z_+ = 0 > z_-` the output is :math:`-az_- > 0`), so the
radius is C3's hyperplane branch alone,

.. math:: r(\mu_j) = \frac{z_+ - z_-}{\|w_+ - w_-\|},

:math:`\sqrt{d/k}` for a balanced net without biases, and larger than the ReLU radius
:math:`\min(\text{hyperplane}, z_+/\|w_+\|)` exactly when the switch-off branch binds for ReLU.

Decoupled multi-class net (C5's, :math:`w_j = \alpha\mu_j`, no bias, ``h = 1``) at :math:`\mu_s`,
:math:`P = |J_y|`, :math:`K = |J_{-y}|`: the ``argmax`` readout flips iff some
:math:`z_{j'} \ge z_s` (no switch-off family): :math:`\sqrt{d/2}`. The ``sum`` readout
:math:`F = \sum_{J_+}\sigma_a(z_j) - \sum_{J_-}\sigma_a(z_j)` is attacked by lowering the own
feature, raising every opposite feature *and pushing the other own outputs below zero*, where
each contributes :math:`az_j`:

.. math:: r_{\mathrm{sum}} = \sqrt{\frac{d}{1 + K + a^2 (P - 1)}},

below C5's :math:`\sqrt{d/(1+K)}` (the ReLU value, :math:`a = 0`).

Evidence: exact (certified) radii of idealised leaky nets against both formulas; trained binary
leaky nets at the paper's setting against C3's trained-net prediction without its switch-off
branch; trained cluster-label leaky nets (argmax readout) against C5's bisector model without its
switch-off family; a figure of both radii against the slope.
"""

import contextlib

import numpy as np
import sympy as sp

from featavg.claims.c3_averaging_radius import HYPERPLANE, V_M, V_P, Z_M, Z_P, alpha_m, alpha_p, b_m, b_p
from featavg.evidence import Band, Check, Fault, Figure, Outcome, Rival, Term, round_off
from featavg.theory import (Claim, In, Norm, ReLU, Step, SumOver, Text, activation, evaluate_sums, is_zero, kkt_min_norm,
                            lambdify_prediction, notation, sums_equal)
from featavg.theory._common import K, d, k, p, ratio_as_written, sqrt_as_written

ID = "A1.leaky_relu"
ORDER = (8, 50)  # after the lemmas (8, 0..4); a dropped user module at (9, 0) still sorts last

a = sp.Symbol("a", positive=True)  # the slope, 0 < a < 1
P_ = sp.Symbol("P", positive=True)  # |J_y|, the point's own class
LEAKY = activation("leaky_relu", a)
R_SUM = sp.sqrt(d / (1 + K + a ** 2 * (P_ - 1)))
R_ARGMAX = sp.sqrt(d / 2)
BALANCED = {p: k / 2, alpha_m: alpha_p, b_p: 0, b_m: 0}


def as_max(expr):
    """``ReLU(x)`` written ``Max(x, 0)``, which SymPy evaluates from the sign assumptions of ``x``."""
    return sp.sympify(expr).replace(ReLU, lambda x: sp.Max(x, 0))


#: the slope as ``1/(1 + c)``, ``c > 0``: SymPy's assumptions cannot say ``0 < a < 1``; this does
_C = sp.Symbol("c", positive=True)
UNIT_SLOPE = {a: 1 / (1 + _C)}
#: the sign cases of a real argument: they cover the line, ties (0) included
_SIGNS = (sp.Symbol("t", positive=True), sp.Symbol("t", negative=True), sp.Integer(0))


def positive(expr):
    """True iff SymPy's assumptions show ``expr > 0`` (as written, factored, or simplified and factored)."""
    expr = sp.sympify(expr)
    return any(bool(f(expr).is_positive) for f in (lambda x: x, sp.factor, lambda x: sp.factor(sp.simplify(x))))


def same_condition(u, v):
    """True iff the conditions ``u`` and ``v`` agree: equal truth values, or relations of the same kind
    (``<=``, ``<``, ...) whose sides' differences are positive multiples of each other."""
    from sympy.logic.boolalg import BooleanAtom

    if isinstance(u, BooleanAtom) or isinstance(v, BooleanAtom):
        return u == v
    kinds = (sp.LessThan, sp.StrictLessThan, sp.GreaterThan, sp.StrictGreaterThan)
    if not (isinstance(u, kinds) and isinstance(v, kinds)):
        return False
    strict = (sp.StrictLessThan, sp.StrictGreaterThan)
    if isinstance(u, strict) != isinstance(v, strict):
        return False
    gu, gv = u.gts - u.lts, v.gts - v.lts  # each relation says g >= 0 (or > 0)
    return positive(gu / gv)


def sign_cases(relation_f, other, variables, cases):
    """True iff ``relation_f`` (with the activation, written ``Max``) and ``other`` are the same
    condition in every case: ``cases`` are tuples of symbols with sign assumptions, substituted for
    ``variables``, that together cover their range."""
    for case in cases:
        sub = dict(zip(variables, case))
        u = relation_f.xreplace(sub)
        u = type(u)(sp.simplify(as_max(u.lhs)), sp.simplify(as_max(u.rhs))) if isinstance(u, sp.Rel) else u
        v = sp.simplify(other.xreplace(sub))
        if isinstance(v, sp.Or):
            live = [x for x in v.args if x is not sp.false]
            v = live[0] if len(live) == 1 else v
        if not same_condition(u, v):
            return False
    return True


def derive():
    """The claim: strict monotonicity, the averaging net's single half-space, the sum readout's KKT."""
    z = sp.Symbol("z", real=True)
    zp, zm = sp.symbols("z_+ z_-", real=True)
    u_neg = sp.Symbol("u", negative=True)
    sigma = LEAKY.expr
    sig_ = notation("sigma_a")

    def max_form(st):
        # on each side of the kink, sigma_a is its linear piece (ReLU as Max under the sign), and so
        # must the statement's right-hand side be (0 < a < 1 as a = 1/(1 + c))
        own = {t: (t if t.is_positive else a * t) for t in _SIGNS}
        return is_zero(st.lhs - sigma(z)) and all(
            is_zero(as_max(sigma(t)) - w) and is_zero(as_max(st.rhs.subs(z, t)).subs(UNIT_SLOPE) - w.subs(UNIT_SLOPE))
            for t, w in own.items())

    def strictly_increasing(st):
        # the slopes of the two linear pieces, differentiated here, and the kink's convention a
        # (H(0) = 0); the statement's derivative must be them on each side
        t = sp.Symbol("t", real=True)
        slopes = {_SIGNS[0]: sp.diff(t, t), _SIGNS[1]: sp.diff(a * t, t), _SIGNS[2]: a}
        return bool(a.is_positive) and all(is_zero(sp.simplify(st.rhs.subs(z, v)) - s) for v, s in slopes.items()) \
            and all(positive(s) for s in slopes.values())

    cases4 = tuple((sp.Symbol("z_+", **sp_), sp.Symbol("z_-", **sm_))
                   for sp_ in ({"nonpositive": True}, {"positive": True}) for sm_ in ({"nonpositive": True},
                                                                                       {"positive": True}))

    def single_halfspace(st):
        # four sign cases of (z_+, z_-), ties in the nonpositive ones: in each sigma_a is linear and
        # f <= 0 must be the statement's condition (the same relation up to a positive factor, or the
        # same truth value)
        f_rel = sp.Le(sigma(zp) - sigma(zm), 0, evaluate=False)
        lhs = next(x for x in st.args if x.has(ReLU))  # Equivalent orders its arguments itself
        rhs = next(x for x in st.args if x is not lhs)
        return same_condition(lhs, f_rel) and sign_cases(f_rel, rhs, (zp, zm), cases4)

    def switch_off_does_not_flip(st):
        out = sp.simplify(as_max(sigma(0) - sigma(u_neg)))
        return is_zero(out + a * u_neg) and positive(out) and positive(as_max(st.gts - st.lts))

    r1, r2 = sp.symbols("r_1 r_2", real=True)

    zs = sp.symbols("z_+ z_- v_+ v_-", positive=True)  # pre-activations and the norms of their gradients

    def kkt_hyperplane(st):
        # solved for the pre-activations and gradient norms, then at C3's (z_+ = alpha_+ d + b_+, ...)
        sol, cost2, lam = kkt_min_norm([r1, r2], (zs[0] + zs[2] * r1) - (zs[1] + zs[3] * r2))
        dual = is_zero(sol[lam] * (zs[2] ** 2 + zs[3] ** 2) / 2 - (zs[0] - zs[1]))  # lambda >= 0 iff z_+ > z_-
        return dual and sp.cancel(cost2.subs(dict(zip(zs, (Z_P, Z_M, V_P, V_M)))) - st.rhs ** 2) == 0

    bal = sp.simplify(HYPERPLANE.subs(BALANCED))

    # sum readout, symbolic sizes: own outputs z_1 (s = 1) .. z_P, opposite outputs zeta_1 .. zeta_K
    zo, ze = sp.IndexedBase("z"), sp.IndexedBase("zeta")
    j, l_ = sp.symbols("j l", integer=True, positive=True)
    Pi = sp.Symbol("P", positive=True, integer=True)
    H = lambda x: sp.Heaviside(x, 0)  # noqa: E731  (the set A = {l : zeta_l > 0})
    chosen = lambda x: H(x) * x + a * (1 - H(x)) * x  # noqa: E731
    F_sum = sigma(zo[1]) + sp.Sum(sigma(zo[j]), (j, 2, Pi)) - sp.Sum(sigma(ze[l_]), (l_, 1, K))
    LB = zo[1] + a * sp.Sum(zo[j], (j, 2, Pi))
    UB = sp.Sum(chosen(ze[l_]), (l_, 1, K))

    def flip_implies_halfspace(st):
        # termwise, by the sign cases of t: sigma_a(t) >= t, sigma_a(t) >= a t (0 < a < 1), and
        # sigma_a(t) = t on A, a t off it; linearity of the sums then gives, for every P and K,
        # sum_own sigma_a - LB = (sigma_a(z_1) - z_1) + sum_j (sigma_a(z_j) - a z_j) >= 0 and
        # sum_opp sigma_a = UB, so F <= 0 gives LB <= sum_own sigma_a <= sum_opp sigma_a = UB
        def nonneg(e):
            e = sp.simplify(as_max(e).subs(UNIT_SLOPE))
            return e == 0 or positive(e)

        termwise = all(nonneg(sigma(t) - t) and nonneg(sigma(t) - a * t) and is_zero(as_max(sigma(t) - chosen(t)))
                       for t in _SIGNS)
        own_split = sums_equal(sigma(zo[1]) + sp.Sum(sigma(zo[j]), (j, 2, Pi)) - LB,
                               (sigma(zo[1]) - zo[1]) + sp.Sum(sigma(zo[j]) - a * zo[j], (j, 2, Pi)))
        opp_equal = sums_equal(sp.Sum(sigma(ze[l_]), (l_, 1, K)) - UB, sp.Sum(sigma(ze[l_]) - chosen(ze[l_]), (l_, 1, K)))
        hyp, concl = st.args
        ours = (isinstance(hyp, sp.LessThan) and sums_equal(hyp.lts - hyp.gts, F_sum)
                and isinstance(concl, sp.LessThan) and sums_equal(concl.gts - concl.lts, UB - LB))
        return termwise and own_split and opp_equal and ours

    # the full KKT for symbolic P, K: lower the own coordinate by r, the other own ones by u_j, raise
    # the opposite ones by t_l; in that region F = (sqrt d - r) - a sum u_j - sum t_l
    uu, tt = sp.IndexedBase("u"), sp.IndexedBase("t")
    i_ = sp.Symbol("i", integer=True, positive=True)
    rr, lam = sp.symbols("r lambda", real=True)
    P0 = sp.Symbol("P_0", nonnegative=True, integer=True)  # P = 1 + P_0 (P >= 1) for the signs

    def kkt_sum_full(st):
        obj = rr ** 2 + sp.Sum(uu[j] ** 2, (j, 2, Pi)) + sp.Sum(tt[l_] ** 2, (l_, 1, K))
        con = sp.sqrt(d) - rr - a * sp.Sum(uu[j], (j, 2, Pi)) - sp.Sum(tt[l_], (l_, 1, K))
        lag = obj + lam * con
        # stationarity in every coordinate: d/du_i of the sums is a Kronecker-delta sum, i in its range
        eqs = [sp.diff(lag, rr), evaluate_sums(sp.diff(lag, uu[i_]), [(i_, 2, Pi)]),
               evaluate_sums(sp.diff(lag, tt[i_]), [(i_, 1, K)])]
        sols = sp.solve(eqs, [rr, uu[i_], tt[i_]], dict=True)
        if len(sols) != 1:
            return False
        sol = sols[0]

        def plug(e):
            return e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == uu, lambda x: sol[uu[i_]]).replace(
                lambda x: isinstance(x, sp.Indexed) and x.base == tt, lambda x: sol[tt[i_]]).subs(rr, sol[rr]).doit()

        lams = sp.solve(plug(con), lam)
        if len(lams) != 1:
            return False
        at = {lam: lams[0]}
        cost2 = sp.simplify(plug(obj).subs(at))
        # the minimiser lies where F is affine: own output still positive, the others pushed below 0,
        # the opposite ones raised (all for P = 1 + P_0 >= 1)
        inside = [sp.sqrt(d) - sol[rr].subs(at), sol[uu[i_]].subs(at), sol[tt[i_]].subs(at)]
        return (all(positive(x.subs(Pi, 1 + P0)) for x in inside)
                and is_zero(cost2 - (st.rhs ** 2).subs(P_, Pi)))

    uS, tS = sp.symbols("u t", real=True)

    def kkt_sum_symmetric(st):
        # symbolic P, K: the symmetric minimiser of r^2 + (P-1) u^2 + K t^2 s.t. r + a (P-1) u + K t = sqrt d
        _, cost2, _ = kkt_min_norm([rr, uS, tS], sp.sqrt(d) - rr - a * (P_ - 1) * uS - K * tS, weights=[1, P_ - 1, K])
        return is_zero(cost2 - st.rhs ** 2)

    L = sp.Symbol("L", positive=True)
    s_ = sp.Symbol("s", real=True)
    den = 1 + a ** 2 * (P_ - 1) + L + a ** 2 * (K - L)

    def raising_all_is_cheapest(st):
        # the family with |A| = L raised (the K - L others count a z_l): KKT cost d/den; its
        # derivative in L is -d (1 - a^2)/den^2 < 0 for 0 < a < 1, so L = K is cheapest
        _, cost2, _ = kkt_min_norm([rr, uS, tS, s_], sp.sqrt(d) - rr - a * (P_ - 1) * uS - L * tS - a * (K - L) * s_,
                                   weights=[1, P_ - 1, L, K - L])
        signed = sp.simplify((st.gts - st.lts).doit() * den ** 2 / d)  # the statement says this is > 0
        return (is_zero(cost2 - d / den) and is_zero(signed - (1 - a ** 2))
                and positive((1 - a ** 2).subs(UNIT_SLOPE)) and positive(den.subs(UNIT_SLOPE).subs(P_, 1 + P0))
                and is_zero(cost2.subs(L, K) - R_SUM ** 2))

    def relu_limit(st):
        return is_zero(sp.limit(R_SUM, a, 0) - st.rhs) and is_zero(st.lhs.doit() - st.rhs)

    def argmax_bisector(st):
        sol, cost2, _ = kkt_min_norm([r1, r2], r2 - sp.sqrt(d) - r1)
        return is_zero(cost2 - st.rhs ** 2)

    f_ = notation("f")
    F_ = notation("F")
    r_ = notation("r")
    mu_j, mu_i = sp.Symbol("mu_j"), sp.Symbol("mu_i")
    w_p, w_m = sp.Symbol("w_+"), sp.Symbol("w_-")
    balanced = sp.And(*[sp.Eq(key, value, evaluate=False) for key, value in BALANCED.items()])
    le = lambda x, y: sp.Le(x, y, evaluate=False)  # noqa: E731
    fam_cost = d / (1 + a ** 2 * (P_ - 1) + L + a ** 2 * (K - L))
    steps = (
        Step(Text("leaky ReLU ", sp.Eq(sig_(z), a * z + (1 - a) * ReLU(z), evaluate=False), " equals ",
                  sp.Max(z, a * z), " (its two linear pieces, ", sp.Gt(z, 0, evaluate=False), " and ",
                  sp.Lt(z, 0, evaluate=False), ")"),
             sp.Eq(sigma(z), sp.Max(z, a * z), evaluate=False), max_form),
        Step(Text(sp.Symbol("sigma_a'"), " is 1 for ", sp.Gt(z, 0, evaluate=False), ", ", a, " for ",
                  sp.Lt(z, 0, evaluate=False), " and at the kink (SymPy's derivative): strictly increasing for ",
                  sp.Gt(a, 0, evaluate=False)),
             sp.Eq(sp.Derivative(sigma(z), z), LEAKY.diff(z), evaluate=False), strictly_increasing),
        Step(Text("averaging net: ", le(f_(sp.Symbol("x")), 0), " iff ", le(zp, zm),
                  ", one half-space (the four sign cases of ", zp, " and ", zm, ", ties included)"),
             sp.Equivalent(le(sigma(zp) - sigma(zm), 0), le(zp, zm), evaluate=False), single_halfspace),
        Step(Text("switching the own neurons off does not flip: at ", sp.Eq(zp, 0, evaluate=False), " and ",
                  sp.Lt(zm, 0, evaluate=False), " the output is ", sp.Gt(-a * zm, 0, evaluate=False),
                  " (the inactive side still contributes ", a * z, ")"),
             sp.Gt(sigma(0) - sigma(u_neg), 0, evaluate=False), switch_off_does_not_flip),
        Step(Text("KKT for the half-space ", le(zp, zm), ": the radius is C3's hyperplane branch alone, ",
                  ratio_as_written(zp - zm, Norm(w_p - w_m))),
             sp.Eq(r_(mu_j), HYPERPLANE, evaluate=False), kkt_hyperplane),
        Step(Text("balanced, no biases: ", sqrt_as_written(d / k), ", as for ReLU"),
             sp.Implies(balanced, sp.Eq(r_(mu_j), sqrt_as_written(d / k), evaluate=False)),
             lambda st: is_zero(bal - st.args[1].rhs)),
        Step(Text("decoupled net, argmax readout: ", le(sp.Symbol("f_s"), sp.Symbol("f_j'")), " iff ",
                  le(sp.Symbol("z_s"), sp.Symbol("z_j'")), " (", sp.Symbol("sigma_a"), " increasing, no switch-off family): the "
                  "bisector, ", sqrt_as_written(d / 2)),
             sp.Eq(sp.Symbol("r_argmax"), R_ARGMAX), argmax_bisector),
        Step(Text("sum readout, any ", P_, " and ", K, ": ", le(F_(sp.Symbol("x")), 0), " implies a half-space: the "
                  "own output ", sp.Symbol("z_1"), " counted fully, the other own outputs times ", a, ", the opposite "
                  "outputs with ", sp.Gt(sp.Symbol("zeta_l"), 0, evaluate=False), " fully and the others times ", a,
                  " (termwise ", sp.Ge(sig_(z), z, evaluate=False), " and ", sp.Ge(sig_(z), a * z, evaluate=False),
                  " by sign cases, then linearity of the sums)"),
             sp.Implies(le(F_sum, 0), le(LB, UB), evaluate=False), flip_implies_halfspace),
        Step(Text("raising all ", K, " opposite features is the cheapest family: with ", L, " raised the KKT cost is ",
                  fam_cost, ", decreasing in ", L),
             sp.Lt(sp.Derivative(fam_cost, L), 0, evaluate=False), raising_all_is_cheapest),
        Step(Text("KKT (symbolic ", P_, ", ", K, "; symmetric minimiser): ", sp.Eq(sp.Symbol("r_sum"), R_SUM)),
             sp.Eq(sp.Symbol("r_sum"), R_SUM), kkt_sum_symmetric),
        Step(Text("full KKT in every coordinate (symbolic ", P_, ", ", K, "; no symmetry assumed): the same cost, and "
                  "the minimiser lies where ", sp.Symbol("F"), " is affine (own output still positive, the other own outputs "
                  "pushed below 0, the opposite ones raised)"),
             sp.Eq(sp.Symbol("r_sum"), R_SUM), kkt_sum_full),
        Step(Text("as the slope ", a, " goes to 0: C5's ReLU sum-readout radius ", sqrt_as_written(d / (1 + K))),
             sp.Eq(sp.Limit(R_SUM, a, 0), sp.sqrt(d / (1 + K)), evaluate=False), relu_limit),
    )
    args = [d, k, p, alpha_p, alpha_m, b_p, b_m]
    preds = {
        "radius_averaging": lambdify_prediction(args, HYPERPLANE, "minimal L2 perturbation of mu_j, j in J+, for the "
                                                "leaky averaging net (any slope 0 < a < 1): (z_+ - z_-)/||w_+ - w_-||"),
        "radius_averaging_balanced": lambdify_prediction([d, k], bal, "sqrt(d/k)"),
        "radius_decoupled_sum": lambdify_prediction([d, K, P_, a], R_SUM,
                                                    "sqrt(d/(1 + K + a^2 (P - 1))), P = |J_y|, K = |J_{-y}|"),
        "radius_decoupled_argmax": lambdify_prediction([d], R_ARGMAX, "sqrt(d/2)"),
    }
    i_s, J_s, alpha_s, w_s, b_s = (sp.Symbol(x) for x in ("i", "J_s", "alpha_s", "w_s", "b_s"))
    alpha = sp.Symbol("alpha")
    return Claim(
        id=ID, title=Text("Leaky ReLU: the averaging radius loses its switch-off branch; the sum readout gains ",
                          a ** 2 * (P_ - 1)),
        statement=sp.Tuple(sp.Eq(r_(mu_j), HYPERPLANE), sp.Eq(sp.Symbol("r_sum"), R_SUM)),
        assumptions=Text(sp.Eq(sig_(z), sp.Max(z, a * z), evaluate=False), ", ", In(a, sp.Interval.open(0, 1)),
                         "; orthogonal equinorm features; averaging net ",
                         sp.Eq(w_s, alpha_s * SumOver(mu_i, i_s, J_s), evaluate=False), " with biases ", b_s, " (",
                         sp.Gt(zp, zm, evaluate=False), " at ", mu_j, "); decoupled net ",
                         sp.Eq(sp.Symbol("w_j"), alpha * mu_j, evaluate=False), ", no bias, ",
                         sp.Eq(sp.Symbol("h"), 1, evaluate=False), "."),
        regime="noise-free points of idealised nets (trained binary nets: the check's regime)", steps=steps,
        predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

#: slopes of the idealised checks
SLOPES = (0.1, 0.3, 0.6)
#: (p, alpha_+, alpha_-, b_+/d, b_-/d): C3's idealised cases; the last makes switching off the
#: cheapest ReLU attack, which the leaky net does not have
_IDEAL_CASES = ((5, 1.0, 1.0, 0.0, 0.0), (3, 1.3, 0.7, 0.2, -0.1), (7, 0.8, 1.5, -0.3, 0.4), (4, 1.0, 1.0, -0.9, 0.0))


def _bracket_band(pred, lo, hi, scale_ops):
    """The band of an exact radius: the truth lies in its certified bracket ``[lo, hi]`` (``hi`` is
    the measured value), plus the float64 round-off of the net's construction and of the formula."""
    pred = np.asarray(pred, dtype=float)
    return Band(pred, (Term("certified bracket of each exact radius: upper - lower (weak-duality lower end, "
                            "verified perturbation upper end)", np.asarray(hi) - np.asarray(lo)),
                       Term(f"float64 round-off of the net's features (orthonormalised in {scale_ops} dimensions) and of "
                            f"the formula: {scale_ops} eps x radius", round_off(1.0, scale_ops) * np.abs(pred))))


def _measure_averaging(ctx):
    from featavg.simulate import BinaryNetwork, averaging_net, make_activation, make_features, make_partition

    kk, dd = 10, 400
    feats = make_features(kk, dd, ctx.rng(181))
    radius = ctx.prediction(ID, "radius_averaging")
    relu = ctx.prediction("C3.averaging_radius", "radius")
    balanced = ctx.prediction(ID, "radius_averaging_balanced")
    meas, lo, hi, pred, rival_relu, rival_bal, cases = [], [], [], [], [], [], []
    for slope in SLOPES[:2]:
        act = make_activation("leaky_relu", slope)
        for pp, ap, am, bp, bm in _IDEAL_CASES:
            labels = make_partition(kk, pp)
            base = averaging_net(feats, labels, ap, am, bp * dd, bm * dd, m=2)
            net = BinaryNetwork(base.W, base.b, act)
            jp, jm = int(np.flatnonzero(labels > 0)[0]), int(np.flatnonzero(labels < 0)[0])
            r, rl, rh = ctx.net_radii(net, feats[[jp, jm]], np.array([1, -1]), bracket=True)
            meas += r.tolist()
            lo += rl.tolist()
            hi += rh.tolist()
            args = [(dd, kk, pp, ap, am, bp * dd, bm * dd), (dd, kk, kk - pp, am, ap, bm * dd, bp * dd)]
            pred += [float(radius(*x)) for x in args]
            rival_relu += [float(relu(*x)) for x in args]
            rival_bal += [float(balanced(dd, kk))] * 2
            cases.append({"a": slope, "p": pp, "alpha": [ap, am], "b_over_d": [bp, bm]})
    pred = np.array(pred)
    band = _bracket_band(pred, lo, hi, dd)
    return Outcome(pred, np.array(meas), band,
                   rivals={"ReLU radius min(hyperplane, switch-off) (C3)": np.array(rival_relu),
                           "balanced sqrt(d/k)": np.array(rival_bal)},
                   details={"cases": cases, "max_relative_error": float(np.max(np.abs(np.array(meas) - pred) / pred)),
                            "max_bracket": float(np.max(np.array(hi) - np.array(lo)))},
                   config={"k": kk, "d": dd, "m": 2, "slopes": list(SLOPES[:2])})


AVERAGING = Check(
    "A1.leaky_relu.averaging", "Idealised leaky averaging net (unbalanced, unequal scales, biases): exact radius = "
    "the hyperplane branch alone",
    "noise-free points mu_j (one of J+, one of J-), k=10, d=400, m=2 identical neurons per sign, slopes a = 0.1, 0.3; "
    "C3's four nets (the last one's ReLU radius is its switch-off branch)", _measure_averaging,
    rivals=(Rival("ReLU radius min(hyperplane, switch-off) (C3)", "the switch-off branch kept: the inactive side's a z "
                  "forgotten"),
            Rival("balanced sqrt(d/k)", "the balanced formula applied to unbalanced, biased nets")),
    faults=("closed_form", "radius", "activation_ignored"))


#: (|J+|, readout) of the decoupled nets at k = 10: unbalanced partitions, both readouts
_DECOUPLED_CASES = ((5, "sum"), (3, "sum"), (7, "sum"), (5, "argmax"))


def _measure_decoupled(ctx):
    from featavg.simulate import MultiClassNetwork, decoupled_net, make_activation, make_features, make_partition

    kk, dd = 10, 400
    feats = make_features(kk, dd, ctx.rng(182))
    r_sum, r_arg = ctx.prediction(ID, "radius_decoupled_sum"), ctx.prediction(ID, "radius_decoupled_argmax")
    relu_sum = ctx.prediction("C5.readouts", "radius_sum")
    meas, lo, hi, pred, riv_relu, riv_a, riv_swap, cases = [], [], [], [], [], [], [], []
    for slope in SLOPES:
        act = make_activation("leaky_relu", slope)
        for pos, readout in _DECOUPLED_CASES:
            labels = make_partition(kk, pos)
            base = decoupled_net(feats, alpha=1.0 / np.sqrt(dd))
            net = MultiClassNetwork(base.W, base.b, h=1, activation=act)
            jp, jm = int(np.flatnonzero(labels > 0)[0]), int(np.flatnonzero(labels < 0)[0])
            r, rl, rh = ctx.net_radii(net, feats[[jp, jm]], np.array([1, -1]), labels, readout, bracket=True)
            meas += r.tolist()
            lo += rl.tolist()
            hi += rh.tolist()
            for P, Kk in ((pos, kk - pos), (kk - pos, pos)):  # the J+ point, then the J- point
                s_val = float(r_sum(dd, Kk, P, slope))
                g_val = float(r_arg(dd))
                pred.append(s_val if readout == "sum" else g_val)
                riv_relu.append(float(relu_sum(dd, Kk)) if readout == "sum" else g_val)
                riv_a.append(float(r_sum(dd, Kk, P, np.sqrt(slope))) if readout == "sum" else g_val)
                riv_swap.append(g_val if readout == "sum" else s_val)
            cases.append({"a": slope, "|J+|": pos, "readout": readout})
    pred = np.array(pred)
    band = _bracket_band(pred, lo, hi, dd)
    return Outcome(pred, np.array(meas), band,
                   rivals={"ReLU value sqrt(d/(1+K)) (C5)": np.array(riv_relu),
                           "a in place of a^2: sqrt(d/(1+K+a(P-1)))": np.array(riv_a),
                           "readouts swapped": np.array(riv_swap)},
                   details={"cases": cases, "max_relative_error": float(np.max(np.abs(np.array(meas) - pred) / pred)),
                            "max_bracket": float(np.max(np.array(hi) - np.array(lo)))},
                   config={"k": kk, "d": dd, "h": 1, "slopes": list(SLOPES)})


DECOUPLED = Check(
    "A1.leaky_relu.decoupled", "Idealised leaky decoupled multi-class net: exact radius = sqrt(d/(1+K+a^2(P-1))) (sum), "
    "sqrt(d/2) (argmax)",
    "noise-free points mu_s (one of J+, one of J-), k=10, d=400, w_j = mu_j/sqrt(d), h=1; |J+| = 5, 3, 7 (sum) and 5 "
    "(argmax); slopes a = 0.1, 0.3, 0.6", _measure_decoupled,
    rivals=(Rival("ReLU value sqrt(d/(1+K)) (C5)", "the other own outputs' a z (below zero) forgotten"),
            Rival("a in place of a^2: sqrt(d/(1+K+a(P-1)))", "the slope's square missed in the KKT norm"),
            Rival("readouts swapped", "the other readout's formula")),
    faults=("closed_form", "radius", "activation_ignored"))


# -- trained binary leaky nets -----------------------------------------------------------------------

#: the trained measurement's slope
TRAINED_SLOPE = 0.1


def _trained_sizes(ctx):
    """(seeds, test points per seed): fewer than C3's 12 x 50 (a 40 s budget for this claim's checks);
    the statistical term widens as 1/sqrt(N), derived from the count."""
    return (4, 40) if ctx.quick else (10, 50)


def _measure_trained(ctx):
    from featavg.claims._trained import pooled_median
    from featavg.claims.c3_averaging_radius import trained_binary_model

    R, N = _trained_sizes(ctx)
    runs = ctx.paper_runs("binary", R, activation="leaky_relu", activation_param=TRAINED_SLOPE)
    cfg = runs[0].config
    models = [trained_binary_model(ctx, run, N) for run in runs]
    radii = [ctx.radii(run, points=N) for run in runs]
    pooled = pooled_median(radii, [x["median"] for x in models], [x["density"] for x in models])
    base = float(ctx.prediction(ID, "radius_averaging_balanced")(cfg.d, cfg.k))
    worst = {key: max(x[key] for x in models) for key in ("noise", "spread")}
    band = Band(pooled["predicted"], (
        pooled["stat_term"],
        Term("predicted noise share: its relative error z sqrt(2/d) + CV^2 <= ||wbar_s||^2, times radius x share/2 "
             "(C3's derivation; GD gives each point of a cluster the weight l'(q) sigma'(z), equal within a cluster as "
             "for ReLU)", worst["noise"]),
        Term("neurons of one sign differ: 0 where r = rbar exactly (C3's two conditions; their inequalities hold for "
             "sigma_a, which is 1-Lipschitz with z <= sigma_a(z) <= z + (1 - a) ReLU(-z)), else "
             "(S + rbar sigma_W)/(||v|| - sigma_W); the max over the points", worst["spread"]),
    ))
    relu_switch = max(x["switch"] for x in models)
    return Outcome(pooled["predicted"], pooled["measured"], band, interval=pooled["interval"],
                   seeds=[r.config.seed for r in runs], baseline=base,
                   rivals={"sqrt(d/(k-1))": float(ctx.prediction(ID, "radius_averaging_balanced")(cfg.d, cfg.k - 1)),
                           "sqrt(d/(k+1))": float(ctx.prediction(ID, "radius_averaging_balanced")(cfg.d, cfg.k + 1)),
                           "sqrt(d/2) (decoupled optimum)": float(ctx.prediction(ID, "radius_decoupled_argmax")(cfg.d))},
                   details={"per_seed_median": pooled["per_seed_median"], "per_seed_predicted": pooled["per_seed_predicted"],
                            "points_per_seed": N, "points": pooled["points"], "interval_coverage": pooled["coverage"],
                            "slope": TRAINED_SLOPE, "noise_share_of_v": [x["noise_share"] for x in models],
                            "relu_switch_off_term_dropped": relu_switch, "neglected_bounds": worst},
                   config={"run": cfg.to_dict()})


TRAINED = Check(
    "A1.leaky_relu", "Trained binary leaky net (a = 0.1): median exact radius vs C3's trained-net prediction, no "
    "switch-off branch",
    "binary labels, paper setting (k=10, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5), slope a = 0.1, reduced "
    "engine; exact radii of test points, 10 seeds x 50 points (quick 4 x 40). Prediction from measured properties of "
    "each trained net (C3.averaging_radius's model: its feature coefficients and biases, the predicted finite-n noise "
    "share, the N(0, 1) noise correction), whose switch-off branch the leaky net does not have; baseline sqrt(d/k) "
    "from the sizes alone", _measure_trained,
    rivals=(Rival("sqrt(d/(k-1))", "a constant off by one in k"), Rival("sqrt(d/(k+1))", "a constant off by one in k"),
            Rival("sqrt(d/2) (decoupled optimum)", "leaky ReLU made the net decouple (robust)")),
    faults=("closed_form", "decouple"))


# -- trained cluster-label leaky nets, argmax readout ---------------------------------------------------

def _leaky_argmax_model(ctx, run, salt):
    """C5.readouts' trained-net model of the argmax radius (bisector families with the Gram matrix
    predicted from the coefficients, noise by Monte Carlo) for a leaky net: the same model without
    its switch-off family ``e = 1_s``, which the leaky net does not have (derivation: f_s <= f_j' iff
    z_s <= z_j'); comparing pre-activations at the attack point is comparing outputs (sigma_a
    increasing), so the model's upper bound is unchanged. Returns what C5's ``trained_multiclass_model``
    returns."""
    from featavg.claims._trained import MultiClassModel, mc_summary, model_gram, require
    from featavg.claims.c5_readouts import draws

    class Model(MultiClassModel):
        def families(self, s, readout):
            return super().families(s, readout)[:-1]  # the last row is the switch-off family

    net, cfg, F, labels = run.network, run.config, run.features, run.cluster_labels
    require(net.kind == "multiclass" and net.h == 1, "the trained-net model needs h = 1")
    dd = cfg.d
    Lam = net.W @ F.T / dd
    Z0 = (F @ net.W.T + net.b).T
    diag = np.eye(cfg.k, dtype=bool)
    require(np.all(Z0[diag] > 0) and np.all(Z0[~diag] < 0),
            f"seed {cfg.seed}: the leaky multi-class net is not decoupled at the cluster centres: min own "
            f"{Z0[diag].min():.3g}, max other {Z0[~diag].max():.3g}")
    nt = np.bincount(run.train.clusters, minlength=cfg.k).astype(float)
    c3 = {name: ctx.prediction("C3.averaging_radius", name) for name in ("gram_term", "init_term")}
    model = Model(Lam, net.b, nt, labels, dd, cfg.init_scale, {**c3, "attack_cost": ctx.prediction("C5.readouts", "attack_cost")})
    low, up = model.draw("argmax", draws(ctx), ctx.rng(salt))
    med, dens, mc_se, upper = mc_summary(low, up)
    Gf = model_gram(Lam, np.full(cfg.k, np.inf), dd, 0.0, c3["gram_term"], c3["init_term"])
    shares = []
    for s_ in range(cfg.k):
        E = model.families(s_, "argmax")
        q = np.einsum("fi,ij,fj->f", E, model.G, E)
        best = int(np.argmin(np.asarray(model.cost(E @ model.offsets(s_), q), float)))
        shares.append(1.0 - float(E[best] @ Gf @ E[best]) / float(q[best]))
    om = np.sqrt(np.diag(model.G))
    return {"median": med, "density": dens, "mc_se": mc_se, "upper": upper,
            "noise_free": float(np.median(model.noise_free("argmax"))), "share": max(shares),
            "cv2": float(np.max(om ** 2))}


def _measure_argmax(ctx):
    from featavg.claims._trained import pooled_median
    from featavg.claims.c5_readouts import draws
    from featavg.evidence import quantile

    R, N = _trained_sizes(ctx)
    runs = ctx.paper_runs("cluster", R, activation="leaky_relu", activation_param=TRAINED_SLOPE)
    cfg = runs[0].config
    models = [_leaky_argmax_model(ctx, run, 5300 + i) for i, run in enumerate(runs)]
    radii = [ctx.radii(run, "argmax", points=N) for run in runs]
    pooled = pooled_median(radii, [x["median"] for x in models], [x["density"] for x in models])
    z = quantile()
    rel = [z * np.sqrt(2.0 / cfg.d) + x["cv2"] for x in models]
    noise = max((x["median"] + abs(x["median"] - x["noise_free"])) * x["share"] * r / 2 for x, r in zip(models, rel))
    band = Band(pooled["predicted"], (
        pooled["stat_term"],
        Term(f"Monte Carlo error of the predicted medians ({draws(ctx)} draws per cluster and seed), pooled over {R} "
             "seeds", z * float(np.sqrt(np.mean([x["mc_se"] ** 2 for x in models]) / R)), "stat"),
        Term("predicted noise share: its relative error z sqrt(2/d) + CV^2 <= max_j ||w_j||^2, times (radius + noise "
             "correction) x share/2 (C5's derivation)", noise),
        Term("the bisector families' radius is exact unless another own output binds at the attack point: median of "
             "the rigorous upper bounds minus the prediction, max over seeds", max(x["upper"] - x["median"] for x in models)),
    ))
    K_ = cfg.k - cfg.positive
    noisy = float(ctx.prediction("C5.readouts", "radius_argmax_noisy_median")(cfg.d, K_))
    opt = float(ctx.prediction(ID, "radius_decoupled_argmax")(cfg.d))
    P_val = cfg.positive
    return Outcome(pooled["predicted"], pooled["measured"], band, interval=pooled["interval"],
                   seeds=[r.config.seed for r in runs], baseline=noisy,
                   rivals={"sqrt(d/2) (no noise correction)": opt,
                           "the sum readout's leaky radius sqrt(d/(1+K+a^2(P-1)))":
                               float(ctx.prediction(ID, "radius_decoupled_sum")(cfg.d, K_, P_val, TRAINED_SLOPE)),
                           "sqrt(d/k) (averaging)": float(ctx.prediction(ID, "radius_averaging_balanced")(cfg.d, cfg.k))},
                   details={"per_seed_median": pooled["per_seed_median"], "per_seed_predicted": pooled["per_seed_predicted"],
                            "points": pooled["points"], "interval_coverage": pooled["coverage"], "slope": TRAINED_SLOPE,
                            "ideal_noisy_median": noisy},
                   config={"run": cfg.to_dict(), "readout": "argmax", "draws_per_cluster": draws(ctx)})


TRAINED_ARGMAX = Check(
    "A1.leaky_relu.decoupled_trained", "Trained cluster-label leaky net (a = 0.1), argmax readout: median exact radius vs "
    "C5's bisector model without the switch-off family",
    "cluster labels, paper setting (k=10, d=3072, n=1000, h=1, eta=1e-3, T=100, init 1e-5), slope a = 0.1, reduced "
    "engine; exact radii of test points, 10 seeds x 50 points (quick 4 x 40). Prediction from measured properties of "
    "each trained net (C5.readouts' model: coefficients, offsets, cross-cosines, the predicted noise share, the noise "
    "correction by Monte Carlo) with the bisector families only; baseline sqrt(d/2) + the ideal noise correction "
    "from the sizes alone", _measure_argmax,
    rivals=(Rival("sqrt(d/2) (no noise correction)", "the noise-free radius"),
            Rival("the sum readout's leaky radius sqrt(d/(1+K+a^2(P-1)))", "the other readout's formula"),
            Rival("sqrt(d/k) (averaging)", "cluster labels did not decouple the leaky net")),
    faults=("closed_form", "average"))


# ---- a fault: every network silently uses ReLU ------------------------------------------------------

@contextlib.contextmanager
def _relu_everywhere():
    """Both networks ignore their activation and use ReLU (a simulator that drops the activation)."""
    from featavg.simulate import RELU, BinaryNetwork, MultiClassNetwork

    originals = {cls: cls.__post_init__ for cls in (BinaryNetwork, MultiClassNetwork)}

    def forced(orig):
        def post_init(self):
            orig(self)
            self.activation = RELU
        return post_init
    try:
        for cls, orig in originals.items():
            cls.__post_init__ = forced(orig)
        yield
    finally:
        for cls, orig in originals.items():
            cls.__post_init__ = orig


ACTIVATION_IGNORED = Fault("activation_ignored", _relu_everywhere.__doc__, patch=_relu_everywhere)


# ---- figure: both radii against the slope ------------------------------------------------------------

def _radius_vs_slope(ctx):
    from featavg._figures import BLUE, RED, new_figure
    from featavg.evidence import median_interval
    from featavg.simulate import (MultiClassNetwork, decoupled_net, make_activation, make_features, make_partition)

    slopes = [0.0, 0.3, 0.6] if ctx.quick else [0.0, 0.1, 0.2, 0.4, 0.6, 0.8]
    seeds = ctx.seeds(2 if ctx.quick else 3)
    points = 20 if ctx.quick else 40
    kk, dd = 10, 3072
    rows = []
    for a_ in slopes:
        over = {"activation": "leaky_relu", "activation_param": a_} if a_ > 0 else {}
        runs = [ctx.run(ctx.paper_config("binary", s, **over)) for s in seeds]
        r = np.concatenate([ctx.radii(run, points=points) for run in runs])
        med, lo, hi, cov = median_interval(r)
        rows.append({"a": a_, "median": med, "interval": [lo, hi], "coverage": cov, "points": int(r.size)})
    feats = make_features(kk, dd, ctx.rng(183))
    labels = make_partition(kk)
    grid = np.linspace(0.0, 0.95, 60)
    r_sum = ctx.prediction(ID, "radius_decoupled_sum")
    exact = []
    for a_ in slopes:
        act = make_activation("leaky_relu", a_) if a_ > 0 else None
        base = decoupled_net(feats, alpha=1.0 / np.sqrt(dd))
        net = base if act is None else MultiClassNetwork(base.W, base.b, h=1, activation=act)
        exact.append(float(ctx.net_radii(net, feats[[0]], np.array([1]), labels, "sum")[0]))
    fig = new_figure((11.0, 4.4))
    ax, ax2 = fig.subplots(1, 2)
    norm = np.sqrt(dd / kk)
    med = np.array([x["median"] for x in rows]) / norm
    err = np.array([[x["median"] - x["interval"][0], x["interval"][1] - x["median"]] for x in rows]).T / norm
    ax.errorbar(slopes, med, yerr=err, fmt="o", color=BLUE, capsize=3,
                label=f"trained binary nets: median exact radius ({len(seeds)} seeds x {points} points, 99.9% interval)")
    ax.axhline(1.0, color="black", ls="--", lw=1.2, label=r"$\sqrt{d/k}$ (A1.leaky_relu, every slope)")
    ax.axhline(np.sqrt(kk / 2), color=RED, ls=":", lw=1.2, label=r"$\sqrt{d/2}$ (optimum)")
    ax.set_xlabel("slope a")
    ax.set_ylabel(r"radius / $\sqrt{d/k}$")
    ax.set_ylim(0, np.sqrt(kk / 2) * 1.15)
    ax.set_title("Binary labels: leaky nets still average")
    ax.legend(fontsize=7, loc="center right")
    K_ = kk // 2
    ax2.plot(grid, np.asarray(r_sum(dd, K_, K_, grid), float) / np.sqrt(dd), color="black", lw=1.2,
             label=r"$\sqrt{d/(1 + K + a^2 (P-1))}$")
    ax2.plot(slopes, np.array(exact) / np.sqrt(dd), "o", color=BLUE, label="exact radius of the idealised net")
    ax2.axhline(np.sqrt(1 / (1 + K_)), color="gray", ls=":", lw=1, label=r"ReLU: $\sqrt{d/(1+K)}$")
    ax2.set_xlabel("slope a")
    ax2.set_ylabel(r"radius / $\sqrt{d}$")
    ax2.set_title("Decoupled net, sum readout: the slope lowers it")
    ax2.legend(fontsize=7)
    fig.suptitle("Leaky ReLU: the averaging radius and the decoupled sum-readout radius")
    data = {"seed": ctx.seed, "seeds": seeds, "points_per_seed": points, "trained": rows,
            "decoupled_sum_exact": dict(zip(map(str, slopes), exact)), "k": kk, "d": dd}
    caption = (f"Left: median exact radius of {points} test points of each of {len(seeds)} binary nets trained at the "
               f"paper's setting (k={kk}, d={dd}, n=1000, m=5, eta=1e-3, 100 steps, init 1e-5; seeds {seeds}) with a "
               f"leaky ReLU of slope a (a = 0: ReLU), over sqrt(d/k); bars: the exact 99.9% order-statistics interval of "
               f"the pooled median. Medians/sqrt(d/k) from {min(med):.3f} to {max(med):.3f}: the nets average at every "
               f"slope. Right: the sum-readout radius of the idealised decoupled net at mu_0 (|J+| = {K_}), exact "
               "(certified) against the A1 formula.")
    return fig, caption, data


RADIUS_VS_SLOPE = Figure("leaky_radius_vs_slope", "Leaky ReLU: radii against the slope a", _radius_vs_slope)
