r"""C5.linf_readouts: the decoupled net's L-infinity radius under both readouts, idealised and trained.

The decoupled net (C5.readouts): :math:`w_j = \alpha\mu_j`, no bias (``h`` identical neurons per
output give the same outputs). With coordinate-aligned features (:math:`\mu_j = \sqrt d\,e_j`,
``Config(features="standard")``) each output reads one coordinate, :math:`z_j(x) = \alpha\sqrt d\,x_j`,
and an L-infinity attack of size :math:`\varepsilon` moves every coordinate by :math:`\varepsilon`
(the L-infinity analogue of C4's KKT; Hoelder, C3.linf_averaging): down on the own class's
coordinates, up on the opposite class's.

* ``argmax``: the bisector of :math:`\mu_s` and :math:`\mu_{j'}`: :math:`\sqrt d - \varepsilon =
  \varepsilon`, i.e. :math:`r = \sqrt d/2 = \ell/\|\mu_s - \mu_{j'}\|_1` (against :math:`\sqrt{d/2}`
  in L2; the bisector's direction has two non-zero coordinates);
* ``sum``: raising :math:`L` opposite features at once, :math:`\sqrt d - \varepsilon = L\varepsilon`,
  :math:`r_L = \sqrt d/(1+L)`, decreasing in ``L``, so :math:`r = \sqrt d/(1+K)`, :math:`K = |J_{-y}|`
  (against :math:`\sqrt{d/(1+K)}` in L2).

Against the averaging net's :math:`\sqrt d/k` (C3.linf_averaging) the argmax readout gains a
factor :math:`k/2` in L-infinity, against :math:`\sqrt{k/2}` in L2: averaging costs more robustness
in L-infinity, as a reviewer of the paper expected (the averaged direction is flat on ``k``
coordinates, where Hoelder is tight, the bisector on two). The sum readout gains
:math:`k/(1+K)` (:math:`\sqrt{k/(1+K)}` in L2). At a noisy point :math:`x = \mu_s + \xi` the
coordinates :math:`c_j = x_j` give exactly :math:`r = \min_{j'}\max_{j}(c_j - c_{j'})/2` (argmax) and
:math:`r = \min_A\max_B(\sum_B c_j - \sum_A c_{j'})/(|B| + |A|)` over subsets of the opposite and
own outputs (sum; a sum of ReLUs is the largest partial sum). With generic (Haar) features the
expectation over the rotation of ``1/r`` of one bisector is :math:`c_d\sqrt{2/d}`, of one raise-``L``
hyperplane :math:`c_d\sqrt{(1+L)/d}`.

Trained cluster-label nets carry the noise component of each output's weights (its own cluster's
``n_j`` points, :math:`\varepsilon_j^2 \approx 1/n_j`) on the ``d - k`` noise coordinates; each
hyperplane of the flip set (:mod:`featavg.claims._linf`) gets the prediction of
C3.linf_averaging, :math:`r_H = \ell_H/(\|u_{H,f}\|_1 + c_{d-k}\|u_{H,n}\|_2)`. From the sizes
alone: :math:`\sqrt d/(2 + c_{d-k}\sqrt{2k/n})` (argmax) and
:math:`\sqrt d/((1+K) + c_{d-k}\sqrt{(1+K)k/n})` (sum); at the paper's setting the noise term is
3.1 times the feature term for the bisector, which brings the trained argmax radius down to about
a quarter of :math:`\sqrt d/2`.

Evidence: certified L-infinity radii of idealised decoupled nets (both readouts, unbalanced
partition, noisy points) against the closed forms; of trained cluster-label nets at the paper's
setting against the trained-net prediction; the robust-accuracy figure in L-infinity.
"""

import itertools

import numpy as np
import sympy as sp

from featavg.claims.c3_linf_averaging import C_D, D, HYPERPLANE_TRAINED, TRAINED_RIVALS, U_f, U_n, _bracket_band, ell
from featavg.evidence import Check, Figure, Rival
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation, sums_equal
from featavg.theory._claim import Norm, SumOver, Text
from featavg.theory._common import K, L, d, k, ratio_as_written, sqrt_as_written

ID = "C5.linf_readouts"
ORDER = (5, 2)

alpha = sp.Symbol("alpha", positive=True)
n_ = sp.Symbol("n", positive=True)
c_own, c_opp = sp.symbols("c_o c_x", real=True)            # own and opposite coordinates of x
S_B, S_A = sp.symbols("S_B S_A", real=True)                 # sums of own / opposite coordinates
n_B, n_A = sp.symbols("n_B n_A", nonnegative=True, integer=True)

ARGMAX = sp.sqrt(d) / 2
RAISE = sp.sqrt(d) / (1 + L)
SUM = RAISE.subs(L, K)
BISECTOR = (c_own - c_opp) / 2
RAISE_NOISY = (S_B - S_A) / (n_B + n_A)
AVERAGING = sp.sqrt(d) / k                                  # C3.linf_averaging, balanced
HAAR_ARGMAX = C_D.subs(D, d) * sp.sqrt(2 / d)               # E[1/r] of one bisector over Haar rotations
HAAR_RAISE = C_D.subs(D, d) * sp.sqrt((1 + L) / d)
C_N = C_D.subs(D, d - k)
ARGMAX_SIZES = sp.sqrt(d) / (2 + C_N * sp.sqrt(2 * k / n_))
SUM_SIZES = sp.sqrt(d) / ((1 + K) + C_N * sp.sqrt((1 + K) * k / n_))


def _bisection(g, lo, hi):
    """The root of a continuous increasing ``g`` on ``[lo, hi]`` (60 halvings: float64 resolution)."""
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
    return hi


def noisy_argmax(c, own, opp):
    """Exact argmax radius from the coordinates ``c`` (min over opposite j' of max over own j)."""
    return float(min(max((c[j] - c[jp]) / 2 for j in own) for jp in opp))


def noisy_sum(c, own, opp):
    """Exact sum radius: ``min_A max_B (S_B - S_A)/(|B| + |A|)`` (``B = {}`` only for ``A != {}``)."""
    subsets = lambda idx: [s for r in range(len(idx) + 1) for s in itertools.combinations(idx, r)]  # noqa: E731
    best = np.inf
    for A in subsets(opp):
        terms = [(sum(c[j] for j in B) - sum(c[j] for j in A)) / (len(B) + len(A))
                 for B in subsets(own) if len(B) + len(A) > 0]
        best = min(best, max(terms))
    return float(best)


def _relu(x):
    return sp.Max(0, x)


def _nonnegative_for_every_real(fact):
    """True iff SymPy shows ``fact(x) >= 0`` at ``x = a`` and ``x = -a`` for ``a >= 0`` (every real ``x``)."""
    a = sp.Dummy("a", nonnegative=True)
    return all(bool(sp.simplify(fact(s * a)).is_nonnegative) for s in (1, -1))


def derive():
    """The claim: every coordinate moves by eps; argmax sqrt(d)/2, sum sqrt(d)/(1+K); ratios to averaging."""
    eps = sp.Symbol("epsilon", positive=True)
    i_, Li = sp.Symbol("i", positive=True, integer=True), sp.Symbol("L", positive=True, integer=True)
    L_real = sp.Symbol("L", positive=True)
    r_argmax, r_sum, r_L = sp.Symbol("r_argmax"), sp.Symbol("r_sum"), sp.Symbol("r_L")
    ratio_l = ratio_as_written(ARGMAX, sqrt_as_written(d / 2))
    a_ = sp.IndexedBase("a", real=True)
    n_terms = sp.Symbol("n", positive=True, integer=True)
    B_ = sp.Symbol("B")

    def argmax_radius():
        # lower the own coordinate, raise the opposite one: alpha sqrt(d)(sqrt(d) - eps) = alpha sqrt(d) eps;
        # Hoelder: ell/||u||_1 with u = alpha sqrt(d)(e_s - e_j') is the same (minimal)
        (sol,) = sp.solve(alpha * sp.sqrt(d) * (sp.sqrt(d) - eps) - alpha * sp.sqrt(d) * eps, eps)
        hoelder = alpha * d / (alpha * sp.sqrt(d) * (1 + sp.Sum(1, (i_, 1, 1))).doit())
        active = bool(sp.simplify(sp.sqrt(d) - sol).is_positive)     # the own output stays active
        return sol, is_zero(hoelder - sol) and active

    def raise_radius():
        (sol,) = sp.solve(alpha * sp.sqrt(d) * (sp.sqrt(d) - eps) - L * alpha * sp.sqrt(d) * eps, eps)
        l1 = (1 + sp.Sum(1, (i_, 1, Li))).doit().subs(Li, L)  # ||e_s - sum_L e_j'||_1
        return sol, is_zero(sp.sqrt(d) / l1 - sol)

    def averaging_radius():
        # C3.linf_averaging, balanced: ell/||u||_1 with u spread equally over the k feature coordinates
        return alpha * d / (alpha * sp.sqrt(d) * sp.Sum(1, (i_, 1, k)).doit())

    def argmax_attack(st):
        sol, ok = argmax_radius()
        return ok and is_zero(st.rhs - sol)

    def raise_attack(st):
        sol, ok = raise_radius()
        return ok and is_zero(st.rhs - sol)

    def all_raised(st):
        sol, ok = raise_radius()
        slope = sp.diff(sol.subs(L, L_real), L_real)
        out = ok
        for conj in st.args:
            if isinstance(conj, sp.Equality):
                out &= is_zero(conj.rhs - sol.subs(L, K))
            else:  # the sign of the slope, with the derivative evaluated
                out &= conj.subs(sp.Derivative(RAISE.subs(L, L_real), L_real), slope) is sp.true
        return out and len(st.args) == 2

    def gain(st):
        # decoupled over averaging: k/2 (argmax), k/(1+K) (sum); and the L-infinity gain is the L2 gain squared
        arg, _ = argmax_radius()
        rl, _ = raise_radius()
        avg = averaging_radius()
        return (is_zero(arg / avg - st.rhs) and is_zero(rl.subs(L, K) / avg - k / (1 + K))
                and is_zero(arg / avg - (sp.sqrt(d / 2) / sp.sqrt(d / k)) ** 2)
                and is_zero(rl.subs(L, K) / avg - (sp.sqrt(d / (1 + K)) / sp.sqrt(d / k)) ** 2))

    def linf_over_l2(st):
        # Hoelder on 2, 1 + K and k equal coordinates: ||u||_2/||u||_1 = 1/sqrt(n) for n equal entries
        arg, _ = argmax_radius()
        rl, _ = raise_radius()
        equal = lambda n: sp.sqrt(sp.Sum(1, (i_, 1, n)).doit()) / sp.Sum(1, (i_, 1, n)).doit()  # noqa: E731
        return (is_zero(arg / sp.sqrt(d / 2) - st.rhs) and is_zero(st.rhs - equal(2))
                and is_zero(rl.subs(L, K) / sp.sqrt(d / (1 + K)) - equal(1 + K))
                and is_zero(averaging_radius() / sp.sqrt(d / k) - equal(k)))

    MAX_B = notation("max_B")(SumOver(a_[i_], i_, B_))

    def relu_sum_is_max(st):
        # max over B of sum_{i in B} a_i = max over b in {0, 1}^n of sum_i b_i a_i: the sum is separable, so the
        # maximum is the sum of the termwise maxima max(0 a_i, 1 a_i) = ReLU(a_i), for every n
        termwise = sp.Max(*(bv * sp.Symbol("x", real=True) for bv in (0, 1))) == _relu(sp.Symbol("x", real=True))
        derived = sp.Sum(sp.Max(*(bv * a_[i_] for bv in (0, 1))), (i_, 1, n_terms))
        return termwise and sums_equal(st.lhs, derived) and st.rhs == MAX_B

    def noisy_formulas(st):
        # every own coordinate goes down by eps and every opposite one up (each output is nondecreasing in
        # its coordinate: ReLU, alpha > 0). With the previous step the sum readout compares the best own set B
        # and the best opposite set A: S_A + |A| eps >= S_B - |B| eps, a gap increasing in eps at the rate
        # |A| + |B| > 0, so the flip radius of (A, B) is its root; argmax: one pair, c_j' + eps >= c_j - eps
        ReLU_monotone = _nonnegative_for_every_real(lambda x: _relu(x + sp.Symbol("b", nonnegative=True)) - _relu(x))
        gap = (S_A + n_A * eps) - (S_B - n_B * eps)
        (root,) = sp.solve(gap, eps)
        (pair,) = sp.solve((c_opp + eps) - (c_own - eps), eps)
        increasing = bool(sp.diff(gap, eps).is_nonnegative) and bool(sp.diff((c_opp + eps) - (c_own - eps), eps)
                                                                      .is_positive)
        noise_free = (is_zero(pair.subs({c_own: sp.sqrt(d), c_opp: 0}) - argmax_radius()[0])
                      and is_zero(root.subs({S_B: sp.sqrt(d), n_B: 1, S_A: 0, n_A: L}) - raise_radius()[0]))
        return ReLU_monotone and increasing and noise_free and is_zero(st.rhs - root) and is_zero(BISECTOR - pair)

    def haar(st):
        # c_d ||u||_2/ell for the raise-L direction u = alpha sqrt(d)(e_s - sum_L e_j'), ell = alpha d
        norm2 = alpha * sp.sqrt(d) * sp.sqrt(1 + sp.Sum(1, (i_, 1, L)).doit())
        bis = alpha * sp.sqrt(d) * sp.sqrt(1 + sp.Sum(1, (i_, 1, 1)).doit())
        return (is_zero(st.rhs - C_D.subs(D, d) * norm2 / (alpha * d))
                and is_zero(HAAR_ARGMAX - C_D.subs(D, d) * bis / (alpha * d)))

    def trained_hyperplane(st):
        # without noise (U_n = 0) the stated r_H must give the idealised radii, derived above
        arg, _ = argmax_radius()
        rl, _ = raise_radius()
        return (is_zero(st.rhs.subs({ell: alpha * d, U_f: 2 * alpha * sp.sqrt(d), U_n: 0}) - arg)
                and is_zero(st.rhs.subs({ell: alpha * d, U_f: (1 + L) * alpha * sp.sqrt(d), U_n: 0}) - rl))

    def from_sizes(st):
        # the noise of w_s - w_j' (or w_s - sum_A w_l): independent outputs, each of squared norm alpha^2 d k/n
        # (noise share 1/n_j = k/n), on the d - k noise coordinates
        noise = lambda outputs: sp.sqrt(sp.Sum(alpha ** 2 * d * k / n_, (i_, 1, outputs)).doit())  # noqa: E731
        arg = HYPERPLANE_TRAINED.subs({ell: alpha * d, U_f: 2 * alpha * sp.sqrt(d), U_n: noise(2), D: d - k})
        sm = HYPERPLANE_TRAINED.subs({ell: alpha * d, U_f: (1 + K) * alpha * sp.sqrt(d), U_n: noise(1 + K),
                                      D: d - k})
        return is_zero(sp.simplify(arg - st.rhs)) and is_zero(sp.simplify(sm - SUM_SIZES))

    eps_s, mu_s, mu_jp = sp.Symbol("varepsilon"), sp.Symbol("mu_s"), sp.Symbol("mu_j'")
    e_s, e_jp = sp.Symbol("e_s"), sp.Symbol("e_j'")
    c_j, c_jp, x_j = sp.Symbol("c_j"), sp.Symbol("c_j'"), sp.Symbol("x_j")
    steps = (
        Step(Text("argmax: every coordinate moves by ", eps_s, " (own down, opposite up): ",
                  sp.Eq(sp.sqrt(d) - eps_s, eps_s, evaluate=False), " at ", sp.Eq(eps_s, ARGMAX, evaluate=False),
                  ", which is ", ell, " over the 1-norm of ", mu_s - mu_jp, " (Hoelder: minimal); the own output "
                  "stays active"),
             sp.Eq(r_argmax, ARGMAX), argmax_attack),
        Step(Text("sum: raising ", L, " opposite features, ", sp.Eq(sp.sqrt(d) - eps_s, L * eps_s, evaluate=False), ": ",
                  sp.Eq(r_L, RAISE, evaluate=False), ", which is ", ell, " over the 1-norm of ",
                  e_s - SumOver(e_jp, sp.Symbol("j'"), sp.Symbol("A"))),
             sp.Eq(r_L, RAISE), raise_attack),
        Step(Text(r_L, " decreases in ", L, ", so the attacker raises all ", sp.Eq(K, sp.Abs(sp.Symbol("J_-y")),
                                                                                  evaluate=False),
                  " opposite features: ", sp.Eq(r_sum, SUM, evaluate=False)),
             sp.And(sp.Lt(sp.Derivative(RAISE.subs(L, L_real), L_real), 0, evaluate=False),
                    sp.Eq(r_sum, SUM, evaluate=False)), all_raised),
        Step(Text("decoupled over averaging in L-infinity: argmax ", k / 2, " (L2: ", sqrt_as_written(k / 2), "), sum ",
                  k / (1 + K), " (L2: ", sqrt_as_written(k / (1 + K)), "); the L-infinity gain is the L2 gain squared"),
             sp.Eq(ratio_as_written(ARGMAX, AVERAGING), k / 2, evaluate=False), gain),
        Step(Text("L-infinity over L2 per net: argmax ", 1 / sp.sqrt(2), ", sum ", 1 / sp.sqrt(1 + K), ", averaging ",
                  1 / sp.sqrt(k), " (Hoelder on 2, ", 1 + K, " and ", k, " equal coordinates)"),
             sp.Eq(ratio_l, 1 / sp.sqrt(2), evaluate=False), linf_over_l2),
        Step(Text("a sum of ReLUs is the largest partial sum, for every number ", n_terms, " of terms (the maximum of a "
                  "separable sum over the subsets is the sum of the termwise maxima)"),
             sp.Eq(sp.Sum(_relu(a_[i_]), (i_, 1, n_terms)), MAX_B, evaluate=False), relu_sum_is_max),
        Step(Text("noisy point, coordinates ", sp.Eq(c_j, x_j, evaluate=False), ": ",
                  sp.Eq(r_argmax, notation("min_j'")(notation("max_j")((c_j - c_jp) / 2)), evaluate=False), ", ",
                  sp.Eq(r_sum, notation("min_A")(notation("max_B")(RAISE_NOISY)), evaluate=False),
                  "; noise-free they give ", ARGMAX, " and ", RAISE),
             sp.Eq(sp.Symbol("r_AB"), RAISE_NOISY, evaluate=False), noisy_formulas),
        Step(Text("Haar features (an expectation over the rotation): ",
                  sp.Eq(notation("E")(1 / sp.Symbol("r")), sp.Symbol("c_d") * Norm(sp.Symbol("u")) / ell,
                        evaluate=False), ", ", HAAR_ARGMAX, " for a bisector, ", HAAR_RAISE,
                  " for a raise-", L, " hyperplane"),
             sp.Eq(notation("E")(1 / r_L), HAAR_RAISE, evaluate=False), haar),
        Step(Text("trained nets: each bisector and raise hyperplane gets the hyperplane radius of C3.linf_averaging, ",
                  sp.Eq(sp.Symbol("r_H"), HYPERPLANE_TRAINED, evaluate=False), "; without noise it is ", ARGMAX,
                  " and ", RAISE),
             sp.Eq(sp.Symbol("r_H"), HYPERPLANE_TRAINED, evaluate=False), trained_hyperplane),
        Step(Text("from the sizes alone (each output's noise share ", sp.Eq(1 / sp.Symbol("n_j"), k / n_, evaluate=False),
                  ", independent across outputs): argmax ", ARGMAX_SIZES, ", sum ", SUM_SIZES),
             sp.Eq(sp.Symbol("r_trained"), ARGMAX_SIZES, evaluate=False), from_sizes),
    )
    preds = {
        "radius_argmax": lambdify_prediction([d], ARGMAX, "sqrt(d)/2"),
        "radius_raise": lambdify_prediction([d, L], RAISE, "sqrt(d)/(1+L)"),
        "radius_sum": lambdify_prediction([d, K], SUM, "sqrt(d)/(1+K), K = |J_-y|"),
        "bisector": lambdify_prediction([c_own, c_opp], BISECTOR, "(c_own - c_opp)/2"),
        "raise_noisy": lambdify_prediction([S_B, n_B, S_A, n_A], RAISE_NOISY, "(S_B - S_A)/(|B| + |A|)"),
        "ratio_argmax_averaging": lambdify_prediction([k], ARGMAX / AVERAGING, "k/2"),
        "ratio_sum_averaging": lambdify_prediction([k, K], SUM / AVERAGING, "k/(1+K)"),
        "inverse_radius_haar_argmax": lambdify_prediction([d], HAAR_ARGMAX, "E[1/r] of a bisector, Haar features"),
        "inverse_radius_haar_raise": lambdify_prediction([d, L], HAAR_RAISE, "E[1/r_L], Haar features"),
        "hyperplane_trained": lambdify_prediction([ell, U_f, U_n, D], HYPERPLANE_TRAINED,
                                                  "ell/(||u_f||_1 + c_D ||u_n||_2) (C3.linf_averaging)"),
        "radius_argmax_trained_sizes": lambdify_prediction([d, k, n_], ARGMAX_SIZES, "sqrt(d)/(2 + c_{d-k} sqrt(2k/n))"),
        "radius_sum_trained_sizes": lambdify_prediction([d, k, n_, K], SUM_SIZES,
                                                        "sqrt(d)/((1+K) + c_{d-k} sqrt((1+K)k/n))"),
    }
    w_j, mu_j, e_j, h_ = sp.Symbol("w_j"), sp.Symbol("mu_j"), sp.Symbol("e_j"), sp.Symbol("h")
    return Claim(
        id=ID, title=Text("Decoupled net in L-infinity: argmax ", ARGMAX, ", sum ", SUM, "; ", k / 2,
                          " times the averaging net"),
        statement=sp.Eq(sp.Tuple(r_argmax, r_sum), sp.Tuple(ARGMAX, SUM)),
        assumptions=Text(sp.Eq(w_j, alpha * mu_j, evaluate=False), ", no bias (", h_, " identical neurons give the "
                         "same outputs); coordinate-aligned features ", sp.Eq(mu_j, sp.sqrt(d) * e_j, evaluate=False),
                         "; trained nets: noise parts with a rotation-invariant law (C3.linf_averaging)."),
        regime="noise-free and noisy points of the idealised net (exact); trained cluster-label nets (the noise L1 "
               "norm replaced by its conditional expectation)",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

def _measure_ideal(ctx):
    from featavg.evidence import Outcome
    from featavg.simulate import decoupled_net, make_partition

    kk, dd, positive, a, h = 10, 400, 3, 1.5, 2
    feats = np.sqrt(dd) * np.eye(kk, dd)
    labels = make_partition(kk, positive)
    net = decoupled_net(feats, alpha=a, h=h)
    per_class = 1 if ctx.quick else 2
    rng = ctx.rng(271)
    jp, jm = 0, kk - 1
    xi = rng.standard_normal((2 * per_class, dd))
    X = np.vstack([feats[[jp, jm]], feats[jp] + xi[:per_class], feats[jm] + xi[per_class:]])
    y = np.array([1, -1] + [1] * per_class + [-1] * per_class)
    bis, rais = ctx.prediction(ID, "bisector"), ctx.prediction(ID, "raise_noisy")
    r_arg, r_sum = ctx.prediction(ID, "radius_argmax"), ctx.prediction(ID, "radius_sum")
    haar_a, haar_r = ctx.prediction(ID, "inverse_radius_haar_argmax"), ctx.prediction(ID, "inverse_radius_haar_raise")
    l2 = ctx.prediction("C5.readouts", "radius_argmax"), ctx.prediction("C5.readouts", "radius_sum")
    subsets = lambda idx: [list(s) for r in range(len(idx) + 1) for s in itertools.combinations(idx, r)]  # noqa: E731

    def formula(readout, x, yi):
        # each output reads one coordinate: c_j = x_j (z_j = alpha sqrt(d) c_j, a common factor)
        own, opp = np.flatnonzero(labels == yi), np.flatnonzero(labels != yi)
        if readout == "argmax":
            return min(max(float(bis(x[j], x[jp_])) for j in own) for jp_ in opp)
        return min(max(float(rais(sum(x[B]), len(B), sum(x[A]), len(A))) for B in subsets(own) if len(A) + len(B))
                   for A in subsets(opp))

    meas, lo, hi, pred, comps = [], [], [], [], []
    rivals = {"L2 radii (C5.readouts)": [], "the other readout's formula": [], "sqrt(d)/(1+k/2) (a balanced K)": [],
              "noise term dropped": [], "Haar expectation (generic directions)": []}
    for readout in ("argmax", "sum"):
        r, lo_, hi_ = ctx.net_radii(net, X, y, labels, readout, bracket=True, norm="inf")
        meas += r.tolist()
        lo += lo_.tolist()
        hi += hi_.tolist()
        other = "sum" if readout == "argmax" else "argmax"
        for x, yi in zip(X, y):
            Kc = int(np.sum(labels != yi))
            pred.append(formula(readout, x, yi))
            free = float(r_arg(dd)) if readout == "argmax" else float(r_sum(dd, Kc))
            rivals["L2 radii (C5.readouts)"].append(float(l2[0](dd)) if readout == "argmax" else float(l2[1](dd, Kc)))
            rivals["the other readout's formula"].append(formula(other, x, yi))
            rivals["sqrt(d)/(1+k/2) (a balanced K)"].append(free if readout == "argmax" else float(r_sum(dd, kk / 2)))
            rivals["noise term dropped"].append(free)
            rivals["Haar expectation (generic directions)"].append(
                1.0 / float(haar_a(dd)) if readout == "argmax" else 1.0 / float(haar_r(dd, Kc)))
            comps.append({"readout": readout, "y": int(yi), "noisy": bool(np.any(x != feats[jp if yi > 0 else jm]))})
    pred, meas, lo, hi = (np.array(v) for v in (pred, meas, lo, hi))
    return Outcome(pred, meas, _bracket_band(pred, lo, hi), rivals={kk_: np.array(v) for kk_, v in rivals.items()},
                   details={"components": comps,
                            "max_relative_error": float(np.max(np.abs(meas - pred) / pred)),
                            "max_bracket_gap": float(np.max(hi - lo))},
                   config={"k": kk, "d": dd, "positive": positive, "alpha": a, "h": h, "features": "standard",
                           "norm": "inf", "noise_seed_salt": 271})


IDEAL = Check(
    "C5.linf_readouts.ideal",
    "Idealised decoupled net, coordinate features: certified L-inf radius = sqrt(d)/2 (argmax), sqrt(d)/(1+K) (sum), "
    "and the exact noisy-point formulas",
    "k=10, d=400, mu_j = sqrt(d) e_j, w_j = 1.5 mu_j, h=2, |J+| = 3 (K = 7 for J+ points, 3 for J-); at mu_s and at "
    "noisy points; both readouts; certified L-inf radii (HiGHS LPs, enumeration or branch and bound)",
    _measure_ideal,
    rivals=(Rival("L2 radii (C5.readouts)", "the L2 formulas sqrt(d/2), sqrt(d/(1+K))"),
            Rival("the other readout's formula", "argmax and sum exchanged"),
            Rival("sqrt(d)/(1+k/2) (a balanced K)", "K = k/2 assumed for an unbalanced partition"),
            Rival("noise term dropped", "the noise-free radius at noisy points"),
            Rival("Haar expectation (generic directions)", "the generic-direction formula applied to coordinate features")),
    faults=("closed_form", "radius", "linf_norm_dropped"))


def sizes(ctx):
    """(seeds, argmax points per seed, sum points per seed) of the trained cluster-label nets; the sum
    readout's certified L-inf radius costs about 0.6 s per point (32 LPs in d = 3072), so it uses one
    point per seed: a seed's residual is dominated by its own noise L1 fluctuation, common to its points."""
    return (2, 4, 1) if ctx.quick else (4, 12, 1)


def _trained(ctx, readout):
    from featavg.claims._linf import trained_config, trained_outcome

    R, Na, Ns = sizes(ctx)
    cfg = trained_config(ctx, "cluster", ctx.seeds(1)[0])
    Kc = cfg.k - cfg.positive  # |J_-y| of the balanced partition, the same for both classes
    if readout == "argmax":
        base = float(ctx.prediction(ID, "radius_argmax")(cfg.d))
        consts = {"sqrt(d)/2 (noise-free idealised net)": base,
                  "sqrt(d/2) (the L2 radius)": float(ctx.prediction("C5.readouts", "radius_argmax")(cfg.d))}
        sizes_ = {"radius_trained_sizes": float(ctx.prediction(ID, "radius_argmax_trained_sizes")(cfg.d, cfg.k, cfg.n))}
        other = ("the sum readout's hyperplanes", "sum")
    else:
        base = float(ctx.prediction(ID, "radius_sum")(cfg.d, Kc))
        consts = {"sqrt(d)/(1+K) (noise-free idealised net)": base,
                  "sqrt(d/(1+K)) (the L2 radius)": float(ctx.prediction("C5.readouts", "radius_sum")(cfg.d, Kc))}
        sizes_ = {"radius_trained_sizes": float(ctx.prediction(ID, "radius_sum_trained_sizes")(cfg.d, cfg.k, cfg.n, Kc))}
        other = ("the argmax readout's hyperplanes", "argmax")
    return trained_outcome(ctx, ID, "cluster", readout, R, Na if readout == "argmax" else Ns, baseline=base,
                           constants=consts, sizes=sizes_, other=other)


def _measure_argmax(ctx):
    return _trained(ctx, "argmax")


def _measure_sum(ctx):
    return _trained(ctx, "sum")


_REGIME = ("cluster labels, paper setting (k=10, d=3072, n=1000, h=1, eta=1e-3, T=100, init 1e-5) on the explicit engine "
           "with mu_j = sqrt(d) e_j; certified L-inf radii of test points, several independent seeds")

TRAINED_ARGMAX = Check(
    "C5.linf_readouts.argmax",
    "Trained cluster-label net, argmax readout: mean certified L-inf radius = trained-net prediction (measured weights: "
    "feature L1 + c_(d-k) x noise L2 of each bisector; test points' pre-activations)",
    _REGIME + "; baseline sqrt(d)/2", _measure_argmax,
    rivals=TRAINED_RIVALS + (
        Rival("sqrt(d)/2 (noise-free idealised net)", "the idealised net's radius (no noise in the weights)"),
        Rival("sqrt(d/2) (the L2 radius)", "the L2 radius"),
        Rival("the sum readout's hyperplanes", "the other readout's flip set")),
    faults=("closed_form", "linf_norm_dropped"))

TRAINED_SUM = Check(
    "C5.linf_readouts.sum",
    "Trained cluster-label net, sum readout: mean certified L-inf radius = trained-net prediction (measured weights: "
    "feature L1 + c_(d-k) x noise L2 of each raise hyperplane; test points' pre-activations)",
    _REGIME + "; one test point per seed (the LPs cost 0.6 s a point); baseline sqrt(d)/(1+K)", _measure_sum,
    rivals=TRAINED_RIVALS + (
        Rival("sqrt(d)/(1+K) (noise-free idealised net)", "the idealised net's radius (no noise in the weights)"),
        Rival("sqrt(d/(1+K)) (the L2 radius)", "the L2 radius"),
        Rival("the argmax readout's hyperplanes", "the other readout's flip set")),
    faults=("closed_form", "linf_norm_dropped"))


# ---- figure: robust accuracy in L-infinity ----------------------------------------------------------

def _robust_accuracy_linf(ctx):
    """Robust accuracy against the L-infinity radius: binary vs argmax vs sum, measured and predicted."""
    from matplotlib.ticker import FuncFormatter

    from featavg._figures import BLUE, GREEN, ORANGE, new_figure, paper_text
    from featavg._output import fmt
    from featavg.claims import c3_linf_averaging as c3
    from featavg.claims._linf import hyperplane_radii, trained_runs
    from featavg.simulate import robust_accuracy

    Rb, Nb = c3._sizes(ctx)
    Rc, Na, Ns = sizes(ctx)
    bins, clus = trained_runs(ctx, "binary", Rb), trained_runs(ctx, "cluster", Rc)
    b = bins[0]
    dd, kk = b.config.d, b.config.k
    Kc = kk - b.config.positive
    # measured: the certified radii of the checks' points (cached in the context)
    measured = {"binary": np.concatenate([ctx.radii(r, points=Nb, norm="inf") for r in bins]),
                "argmax": np.concatenate([ctx.radii(r, "argmax", points=Na, norm="inf") for r in clus]),
                "sum": np.concatenate([ctx.radii(r, "sum", points=Ns, norm="inf") for r in clus])}
    # predicted: the trained-net prediction at every test point of the same runs (closed form: cheap)
    pred_fn = ctx.prediction(c3.ID, "hyperplane_trained")
    variant = {"predicted": lambda e, n: pred_fn(e, n["l1_feat"], n["l2_noise"], n["D"])}

    def predict(runs, readout):
        return np.concatenate([hyperplane_radii(r.network, r.test.X, r.test.y, r.cluster_labels, readout, r.features,
                                                variant)["predicted"] for r in runs])

    predicted = {"binary": predict(bins, "argmax"), "argmax": predict(clus, "argmax"), "sum": predict(clus, "sum")}
    ideal = {"binary": float(ctx.prediction(c3.ID, "radius_balanced")(dd, kk)),
             "argmax": float(ctx.prediction(ID, "radius_argmax")(dd)),
             "sum": float(ctx.prediction(ID, "radius_sum")(dd, Kc))}
    sizes_only = {"binary": float(ctx.prediction(c3.ID, "radius_trained_sizes")(dd, kk, b.config.n)),
                  "argmax": float(ctx.prediction(ID, "radius_argmax_trained_sizes")(dd, kk, b.config.n)),
                  "sum": float(ctx.prediction(ID, "radius_sum_trained_sizes")(dd, kk, b.config.n, Kc))}
    labels = {"binary": "binary net (averaging)", "argmax": "cluster labels, argmax readout",
              "sum": "cluster labels, sum readout"}
    colours = {"binary": BLUE, "argmax": GREEN, "sum": ORANGE}
    ideal_text = {"binary": r"$\sqrt{d}/k$", "argmax": r"$\sqrt{d}/2$", "sum": r"$\sqrt{d}/(1+K)$"}
    grid = np.geomspace(0.25 * ideal["binary"], 1.25 * ideal["argmax"], 600)

    fig = new_figure((8.4, 5.6))
    ax = fig.subplots()
    for key in ("binary", "sum", "argmax"):
        col = colours[key]
        ax.step(grid, robust_accuracy(measured[key], grid), where="post", color=col, lw=2,
                label=f"{labels[key]}: certified, {measured[key].size} points (mean {fmt(measured[key].mean())})")
        ax.plot(grid, robust_accuracy(predicted[key], grid), color=col, lw=1.2, ls=":",
                label=f"  trained-net prediction, {predicted[key].size} points (mean {fmt(predicted[key].mean())})")
        ax.axvline(ideal[key], color=col, ls="--", lw=1)
        ax.text(ideal[key] * 1.02, 0.55, f"{ideal_text[key]} = {ideal[key]:.2f} (idealised)", color=col,
                rotation=90, va="center", ha="left", fontsize=8)
    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(-0.02, 1.08)
    ax.set_xlabel(r"perturbation radius $\delta$ ($\ell_\infty$)")
    ax.set_ylabel("robust accuracy")
    ax.set_title(f"L-infinity robustness of the trained networks (k={kk}, d={dd}, coordinate features)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1, fontsize=8)

    mean_m = {key: float(v.mean()) for key, v in measured.items()}
    mean_p = {key: float(v.mean()) for key, v in predicted.items()}
    data = {"seed": ctx.seed, "d": dd, "k": kk, "K": Kc, "binary_seeds": [r.config.seed for r in bins],
            "cluster_seeds": [r.config.seed for r in clus], "idealised_radius": ideal,
            "trained_prediction_from_sizes": sizes_only, "mean_certified_radius": mean_m,
            "mean_predicted_radius": mean_p, "measured_points": {key: int(v.size) for key, v in measured.items()},
            "predicted_points": {key: int(v.size) for key, v in predicted.items()},
            "ratio_argmax_to_binary": {"idealised": ideal["argmax"] / ideal["binary"],
                                       "trained_certified": mean_m["argmax"] / mean_m["binary"]},
            "radii": measured}
    caption = (f"Robust accuracy from certified minimal L-infinity radii (solid; {paper_text(b)}, coordinate-aligned "
               f"features, binary seeds {data['binary_seeds']}, cluster-label seeds {data['cluster_seeds']}) and "
               f"from the trained-net prediction of C3.linf_averaging / C5.linf_readouts at every test point (dotted: "
               f"each flip hyperplane's margin over its feature L1 norm plus c_(d-k) times its noise L2 norm). Dashed: "
               f"the idealised nets' radii sqrt(d)/k = {fmt(ideal['binary'])}, sqrt(d)/(1+K) = {fmt(ideal['sum'])}, "
               f"sqrt(d)/2 = {fmt(ideal['argmax'])}. Mean certified radius: binary {fmt(mean_m['binary'])}, sum "
               f"{fmt(mean_m['sum'])}, argmax {fmt(mean_m['argmax'])}; predicted from the sizes alone "
               f"{fmt(sizes_only['binary'])}, {fmt(sizes_only['sum'])}, {fmt(sizes_only['argmax'])}. The noise in the "
               f"trained weights spreads over d - k coordinates and its L1 norm dominates: argmax/binary is "
               f"{fmt(data['ratio_argmax_to_binary']['trained_certified'])} for the trained nets against k/2 = "
               f"{fmt(ideal['argmax'] / ideal['binary'])} for the idealised ones.")
    return fig, caption, data


ROBUST_ACCURACY_LINF = Figure("robust_accuracy_linf",
                              "Robust accuracy vs L-infinity radius: averaging, argmax and sum readouts, with predictions",
                              _robust_accuracy_linf, claims=(ID, "C3.linf_averaging"))
