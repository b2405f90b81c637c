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
import itertools

import numpy as np
import sympy as sp

from featavg.claims.c3_averaging_radius import HYPERPLANE, V_M, V_P, Z_M, Z_P, alpha_m, alpha_p, b_m, b_p
from featavg.evidence import Band, Check, Fault, Figure, Outcome, Rival, Term, round_off
from featavg.theory import Claim, ReLU, Step, activation, is_zero, kkt_min_norm, lambdify_prediction, notation
from featavg.theory._common import K, d, k, p, sqrt_as_written

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


def derive():
    """The claim: strict monotonicity, the averaging net's single half-space, the sum readout's KKT."""
    z = sp.Symbol("z", real=True)
    zp, zm = sp.symbols("z_+ z_-", real=True)
    u_neg = sp.Symbol("u", negative=True)
    sigma = LEAKY.expr

    def strictly_increasing():
        dpos, dneg = LEAKY.diff(sp.Symbol("t", positive=True)), LEAKY.diff(sp.Symbol("t", negative=True))
        return is_zero(dpos - 1) and is_zero(dneg - a) and bool(a.is_positive) and is_zero(LEAKY.diff(0) - a)

    def single_halfspace():
        # f = sigma(z_+) - sigma(z_-) <= 0 iff z_+ <= z_-, on a grid including ties (a = 0.1, 0.5)
        g = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
        P2, M2 = np.meshgrid(g, g)
        ok = True
        for av in (0.1, 0.5):
            s = lambda x: np.maximum(x, av * x)  # noqa: E731
            ok &= bool(np.array_equal(s(P2) - s(M2) <= 0, P2 <= M2))
        return ok

    def switch_off_does_not_flip():
        out = as_max(sigma(0) - sigma(u_neg))
        return bool(sp.simplify(out).is_positive) and is_zero(out + a * u_neg)

    r1, r2 = sp.symbols("r_1 r_2", real=True)

    def kkt_hyperplane():
        sol, cost2, lam = kkt_min_norm([r1, r2], (Z_P + V_P * r1) - (Z_M + V_M * r2))
        return is_zero(cost2 - HYPERPLANE ** 2)

    bal = sp.simplify(HYPERPLANE.subs(BALANCED))

    # sum readout: the lower bound F >= z_s + a sum_{own others} z_j - max_A [sum_A z_l + a sum_rest z_l]
    def flip_implies_halfspace():
        rng = np.random.default_rng(0)
        ok = True
        for av in (0.1, 0.4):
            s = lambda x: np.maximum(x, av * x)  # noqa: E731
            for zz in rng.normal(size=(3000, 6)):
                own, opp = zz[:3], zz[3:]  # own output s = 0, P = K = 3
                if s(own).sum() <= s(opp).sum():
                    fam = max(opp[list(A)].sum() + av * (opp.sum() - opp[list(A)].sum())
                              for r in range(4) for A in itertools.combinations(range(3), r))
                    ok &= own[0] + av * own[1:].sum() <= fam + 1e-12
        return bool(ok)

    def kkt_sum_full():
        # full KKT (no symmetry): lower the own coordinate by r, the other own by u_j >= 0, raise the
        # opposite by t_l; F = (sqrt d - r) - a sum u - sum t in the region (P = 3, K = 2, symbolic a, d)
        rr = sp.Symbol("r", real=True)
        us = sp.symbols("u_1:3", real=True)
        ts = sp.symbols("t_1:3", real=True)
        sol, cost2, _ = kkt_min_norm([rr, *us, *ts], (sp.sqrt(d) - rr) - a * sum(us) - sum(ts))
        inside = all(bool(sp.simplify(sol[t]).is_positive) for t in ts) and all(
            bool(sp.simplify(sol[u]).is_positive) for u in us) and bool(sp.simplify(sp.sqrt(d) - sol[rr]).is_positive)
        return inside and is_zero(cost2 - R_SUM.subs({P_: 3, K: 2}) ** 2)

    rr, uu, tt = sp.symbols("r u t", real=True)

    def kkt_sum_symmetric():
        # symbolic P, K: the symmetric minimiser of r^2 + (P-1) u^2 + K t^2 s.t. r + a (P-1) u + K t = sqrt d
        _, cost2, _ = kkt_min_norm([rr, uu, tt], sp.sqrt(d) - rr - a * (P_ - 1) * uu - K * tt, weights=[1, P_ - 1, K])
        return is_zero(cost2 - R_SUM ** 2)

    L = sp.Symbol("L", positive=True)

    def raising_all_is_cheapest():
        # family with |A| = L raised: d / (1 + a^2 (P - 1) + L + a^2 (K - L)), decreasing in L
        cost2 = d / (1 + a ** 2 * (P_ - 1) + L + a ** 2 * (K - L))
        dL = sp.simplify(sp.diff(cost2, L) * (1 + a ** 2 * (P_ - 1) + L + a ** 2 * (K - L)) ** 2 / d)
        return is_zero(dL + 1 - a ** 2) and is_zero(cost2.subs(L, K) - R_SUM ** 2)

    def relu_limit():
        return is_zero(sp.limit(R_SUM, a, 0) - sp.sqrt(d / (1 + K)))

    def argmax_bisector():
        sol, cost2, _ = kkt_min_norm([r1, r2], r2 - sp.sqrt(d) - r1)
        return is_zero(cost2 - R_ARGMAX ** 2)

    f_ = notation("f")
    balanced = sp.And(*[sp.Eq(key, value, evaluate=False) for key, value in BALANCED.items()])
    steps = (
        Step("leaky ReLU sigma_a(z) = a z + (1 - a) ReLU(z) equals max(z, a z) (z > 0 and z < 0)",
             sp.Eq(sigma(z), sp.Max(z, a * z), evaluate=False),
             lambda: all(is_zero(as_max(sigma(v)) - w) for v, w in ((sp.Symbol("t", positive=True), sp.Symbol("t", positive=True)),
                                                             (sp.Symbol("t", negative=True), a * sp.Symbol("t", negative=True))))),
        Step("sigma_a' = 1 (z > 0), a (z < 0), a at the kink (SymPy's derivative): strictly increasing for a > 0",
             sp.Eq(sp.Derivative(sigma(z), z), LEAKY.diff(z), evaluate=False), strictly_increasing),
        Step("averaging net: f = sigma_a(z_+) - sigma_a(z_-) <= 0 iff z_+ <= z_- (one half-space; grid incl. ties, "
             "a = 0.1, 0.5)",
             sp.Equivalent(sp.Le(sigma(zp) - sigma(zm), 0, evaluate=False), sp.Le(zp, zm, evaluate=False), evaluate=False),
             single_halfspace, generality="instance", instances="a 7 x 7 grid of (z_+, z_-), a = 0.1 and 0.5"),
        Step("switching the own neurons off does not flip: at z_+ = 0, z_- < 0 the output is -a z_- > 0 (the inactive "
             "side still contributes a z)",
             sp.Gt(sigma(0) - sigma(u_neg), 0, evaluate=False), switch_off_does_not_flip),
        Step("KKT to {z_+ <= z_-}: the radius is C3's hyperplane branch alone, (z_+ - z_-)/||w_+ - w_-||",
             sp.Eq(notation("r")(sp.Symbol("mu_j")), HYPERPLANE, evaluate=False), kkt_hyperplane),
        Step("balanced, no biases: sqrt(d/k), as for ReLU",
             sp.Implies(balanced, sp.Eq(notation("r")(sp.Symbol("mu_j")), sqrt_as_written(d / k), evaluate=False)),
             lambda: is_zero(bal - sp.sqrt(d / k))),
        Step("decoupled net, argmax readout: f_s <= f_j' iff z_s <= z_j' (sigma_a increasing, no switch-off family): "
             "the bisector, sqrt(d/2)", sp.Eq(sp.Symbol("r_argmax"), R_ARGMAX), argmax_bisector),
        Step("sum readout: F <= 0 implies z_s + a sum_{own j != s} z_j <= sum_A z_l + a sum_{opposite, not A} z_l for some A "
             "(sigma_a(z) >= z and >= a z; sum of sigma_a = max over A)",
             sp.Implies(sp.Le(f_(sp.Symbol("x")), 0, evaluate=False),
                        sp.Le(sp.Symbol("z_s") + a * sp.Symbol("Sigma_own"), sp.Symbol("Sigma_A") + a * sp.Symbol("Sigma_rest"),
                              evaluate=False)),
             flip_implies_halfspace, generality="instance", instances="3000 random pre-activations, P = K = 3, a = 0.1, 0.4"),
        Step("raising all K opposite features is the cheapest family: d/(1 + a^2(P-1) + L + a^2(K-L)) decreases in L",
             sp.Lt(sp.Derivative(d / (1 + a ** 2 * (P_ - 1) + L + a ** 2 * (K - L)), L), 0, evaluate=False),
             raising_all_is_cheapest),
        Step("KKT (symbolic P, K; symmetric minimiser): r_sum = sqrt(d/(1 + K + a^2 (P - 1)))",
             sp.Eq(sp.Symbol("r_sum"), R_SUM), kkt_sum_symmetric),
        Step("full KKT without symmetry (P = 3, K = 2): the same cost, and the minimiser lies where F is affine (own "
             "output still positive, other own outputs pushed below 0, opposite ones raised)",
             sp.Eq(sp.Symbol("r_sum"), R_SUM.subs({P_: 3, K: 2})), kkt_sum_full,
             generality="instance", instances="P = 3, K = 2 (symbolic a, d)"),
        Step("a -> 0 recovers C5's ReLU sum-readout radius sqrt(d/(1+K))",
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
    return Claim(
        id=ID, title="Leaky ReLU: the averaging radius loses its switch-off branch; the sum readout gains a^2 (P - 1)",
        statement=sp.Tuple(sp.Eq(notation("r")(sp.Symbol("mu_j")), HYPERPLANE), sp.Eq(sp.Symbol("r_sum"), R_SUM)),
        assumptions="sigma_a(z) = max(z, a z), 0 < a < 1; orthogonal equinorm features; averaging net w_s = alpha_s "
                    "sum_{J_s} mu_i with biases b_s (z_+ > z_- at mu_j); decoupled net w_j = alpha mu_j, no bias, h = 1.",
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
