r"""C4.threshold_net: a thresholded one-neuron-per-feature net reaches the optimal radius sqrt(d/2).

The net (docs/science.md §2, C4): one neuron per feature in the binary architecture,
:math:`w_j = \alpha\mu_j/\sqrt d` with bias :math:`-\alpha\tau`. For the noise-free point
:math:`\mu_j` the cheapest attack either switches its own neuron off (cost :math:`\sqrt d - \tau`)
or raises :math:`L` opposite features at once (cost :math:`(\sqrt d + (L-1)\tau)/\sqrt{1+L}`,
:math:`1 \le L \le K = |J_{-s}|`, a small KKT problem). The radius is the minimum of these; it
equals :math:`\sqrt{d/2}` for :math:`\tau` in :math:`[(\sqrt{3/2} - 1), (1 - 1/\sqrt2)]\sqrt d`
when :math:`K \ge 2`, and is only :math:`\sqrt{d/(1+K)}` at :math:`\tau = 0`.

Evidence: the exact radius of the thresholded net at a grid of thresholds against the formula.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term
from featavg.theory import Claim, Step, is_zero, kkt_min_norm, lambdify_prediction
from featavg.theory._claim import Text, notation
from featavg.theory._common import K, d, evaluate_sums, sqrt_as_written, tau

ID = "C4.threshold_net"
ORDER = (4, 0)

L_ = sp.Symbol("L", positive=True, integer=True)
COST_OFF = sp.sqrt(d) - tau
COST_RAISE = (sp.sqrt(d) + (L_ - 1) * tau) / sp.sqrt(1 + L_)
OPTIMUM = sp.sqrt(d / 2)


def kkt_raise(Lval):
    """Full KKT (no symmetry assumed) at a concrete ``L``: lower own coordinate by r, raise L opposite ones to t_l."""
    r = sp.Symbol("r", real=True)
    ts = sp.symbols(f"t_1:{Lval + 1}", real=True)
    c = (sp.sqrt(d) - r - tau) - sum(tl - tau for tl in ts)
    sol, cost2, _ = kkt_min_norm([r] + list(ts), c)
    return sol, cost2, ts


def kkt_raise_general():
    r"""The raise-L attack's KKT system for symbolic ``L``, reduced by symmetry to three unknowns.

    Minimise :math:`r^2 + \sum_{l=1}^L t_l^2` subject to
    :math:`\sqrt d - r - \tau = \sum_{l=1}^L (t_l - \tau)` (own neuron down by ``r``, ``L`` opposite
    neurons raised to ``t_l``; flip when the own output no longer exceeds their sum). The
    Lagrangian's derivative in :math:`t_j` (SymPy, on the ``Sum`` over ``l = 1..L``) is
    :math:`2t_j - \lambda` for every ``j``, so every stationary point has all :math:`t_j` equal to
    :math:`\lambda/2`: substituting :math:`t_l = T` leaves the unknowns ``r, T, lambda``. The
    objective is strictly convex and the constraint affine, so that stationary point is the minimum.

    Returns
    -------
    sol : dict
        ``{r, T, lambda}`` at the minimum.
    cost2 : sympy.Expr
        The minimal squared norm :math:`r^2 + L T^2`.
    symmetric : bool
        Whether SymPy's stationarity condition in :math:`t_j` is :math:`2t_j - \lambda` for every ``j``.
    T : sympy.Symbol
    """
    r, T, lam = sp.Symbol("r", real=True), sp.Symbol("T", real=True), sp.Symbol("lambda", real=True)
    l, j = sp.symbols("l j", positive=True, integer=True)
    t = sp.IndexedBase("t", real=True)
    constraint = (sp.sqrt(d) - r - tau) - sp.Sum(t[l] - tau, (l, 1, L_))
    lagrangian = r ** 2 + sp.Sum(t[l] ** 2, (l, 1, L_)) + lam * constraint
    d_tj = evaluate_sums(sp.diff(lagrangian, t[j]), [(j, 1, L_)])
    symmetric = is_zero(d_tj - (2 * t[j] - lam))
    reduced = [sp.diff(lagrangian, r), (2 * T - lam), constraint.xreplace({t[l]: T}).doit()]
    (sol,) = sp.solve(reduced, [r, T, lam], dict=True)
    cost2 = sp.simplify((r ** 2 + L_ * T ** 2).subs(sol))
    return sol, cost2, symmetric, T


def derive():
    """The claim: the two attack families by KKT, and the tau window where the radius is sqrt(d/2)."""
    x = sp.Symbol("x", positive=True)
    u = sp.Symbol("u", positive=True)
    TAU_LOW = (sp.sqrt(sp.Rational(3, 2)) - 1) * sp.sqrt(d)
    TAU_HIGH = (1 - 1 / sp.sqrt(2)) * sp.sqrt(d)
    # the threshold above which the L-feature attack costs at least sqrt(d/2)
    tau_L = sp.sqrt(d) * (sp.sqrt((1 + x) / 2) - 1) / (x - 1)
    L_real = sp.Symbol("L", positive=True)  # L as a real variable, to differentiate in it
    # as written in the prose (SymPy would print sqrt(d/2) as sqrt(2) sqrt(d)/2)
    opt = sqrt_as_written(d / 2)
    low = sp.Mul(sp.Add(sqrt_as_written(sp.Rational(3, 2)), -1, evaluate=False), sp.sqrt(d), evaluate=False)
    high = sp.Mul(sp.Add(1, -1 / sp.sqrt(2), evaluate=False), sp.sqrt(d), evaluate=False)
    c0, cL, c1, rr = sp.Symbol("c_0"), sp.Symbol("c_L"), sp.Symbol("c_1"), sp.Symbol("r")

    def switch_off(st):
        r = sp.Symbol("r", real=True)
        return is_zero(kkt_min_norm([r], sp.sqrt(d) - r - tau)[1] - st.rhs ** 2)

    def raise_L(st):
        sol, cost2, symmetric, T = kkt_raise_general()
        ends = is_zero(sol[T] - tau - (sp.sqrt(d) - 2 * tau) / (1 + L_))  # opposite coordinates end >= tau
        return symmetric and ends and is_zero(cost2 - st.rhs ** 2) and bool(st.rhs.is_positive is not False)

    def no_threshold(st):
        ok = True
        for conj in st.args:
            if isinstance(conj, sp.StrictLessThan):  # d c_L/dL < 0: the cheapest attack raises all K
                ok &= conj.rhs == 0 and bool(sp.simplify(conj.lhs.doit()).is_negative)
            else:
                ok &= is_zero(COST_RAISE.subs({tau: 0, L_: K}) - conj.rhs)
        return ok

    def window_end(cost):
        def check(st):
            sols = sp.solve(sp.Eq(cost, OPTIMUM), tau)
            return len(sols) == 1 and is_zero(sols[0] - st.rhs)
        return check

    def threshold_decreasing(st):
        ok = True
        for conj in st.args:
            if isinstance(conj, sp.Equality):
                sols = sp.solve(sp.Eq(COST_RAISE.subs(L_, x), OPTIMUM), tau)
                ok &= len(sols) == 1 and is_zero(sols[0] - conj.rhs.subs(L_real, x))
            else:
                # x = 2u^2 - 1 (u = sqrt((1+x)/2) > 1 for x > 1): tau_x = sqrt(d)/(2(u+1)), decreasing in
                # u, and u increases with x; so the derivative in L is negative
                in_u = sp.simplify(tau_L.subs(x, 2 * u ** 2 - 1))
                ok &= (isinstance(conj, sp.StrictLessThan) and conj.rhs == 0
                       and is_zero(in_u - sp.sqrt(d) / (2 * (u + 1)))
                       and bool(sp.diff(in_u, u).is_negative) and bool(sp.diff(2 * u ** 2 - 1, u).is_positive))
        return ok

    steps = (
        Step(Text("switching the own neuron off costs ", COST_OFF),
             sp.Eq(c0, COST_OFF), switch_off),
        Step(Text("raising ", L_, " opposite features: the KKT system for every ", L_,
                  " (its stationarity is the same in each raised coordinate, so they are equal: three unknowns); "
                  "the raised coordinates end at ", tau + (sp.sqrt(d) - 2 * tau) / (1 + L_), ", at least ", tau),
             sp.Eq(cL, COST_RAISE), raise_L),
        Step(Text("raising one feature costs ", opt, " whatever ", tau),
             sp.Eq(c1, opt), lambda st: is_zero(COST_RAISE.subs(L_, 1) - st.rhs)),
        Step(Text("without a threshold ", sp.Eq(cL, sqrt_as_written(d / (1 + L_)), evaluate=False),
                  " decreases in ", L_, ", so the attacker raises all ", K, " and the radius is ",
                  sqrt_as_written(d / (1 + K))),
             sp.And(sp.Lt(sp.Derivative(COST_RAISE.subs({tau: 0, L_: L_real}), L_real), 0, evaluate=False),
                    sp.Eq(rr, COST_RAISE.subs({tau: 0, L_: K}), evaluate=False), evaluate=False),
             no_threshold),
        Step(Text("upper end of the window: ", sp.Eq(COST_OFF, opt, evaluate=False)), sp.Eq(tau, high),
             window_end(COST_OFF)),
        Step(Text("lower end of the window: ", sp.Eq(sp.Symbol("c_2"), opt, evaluate=False)), sp.Eq(tau, low),
             window_end(COST_RAISE.subs(L_, 2))),
        Step(Text("the threshold ", sp.Symbol("tau_L"), " above which raising ", L_,
                  " features costs at least ", opt, " decreases in ", L_, " (write ",
                  sp.Eq(L_, 2 * u ** 2 - 1, evaluate=False), "), so ", sp.Eq(L_, 2, evaluate=False), " binds"),
             sp.And(sp.Eq(sp.Symbol("tau_L"), tau_L.subs(x, L_real), evaluate=False),
                    sp.Lt(sp.Derivative(tau_L.subs(x, L_real), L_real), 0, evaluate=False), evaluate=False),
             threshold_decreasing),
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
    alpha, mu_j, w_j = sp.Symbol("alpha"), sp.Symbol("mu_j"), sp.Symbol("w_j")
    return Claim(
        id=ID, title=Text("Thresholded one-neuron-per-feature net reaches ", opt, " for ", tau, " between ",
                          low, " and ", high),
        statement=sp.Eq(notation("r")(mu_j), sp.Min(COST_OFF, opt, COST_RAISE.subs(L_, 2), evaluate=False)),
        assumptions=Text(sp.Eq(w_j, alpha * mu_j / sp.sqrt(d), evaluate=False), " with bias ", -alpha * tau,
                         ", binary architecture; ", sp.Le(0, tau, evaluate=False), " and ",
                         sp.Le(tau, sp.sqrt(d) / 2, evaluate=False), "; ", sp.Eq(K, sp.Abs(sp.Symbol("J_-s")),
                                                                              evaluate=False),
                         " at least 2 for the window (the statement shows ", sp.Eq(L_, 1, evaluate=False), " and ",
                         sp.Eq(L_, 2, evaluate=False), "; the radius takes every ", sp.Le(L_, K, evaluate=False), ")."),
        regime="noise-free point", steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

#: exact radii to 1e-9 relative (Clarabel's 1e-10 gap and feasibility; see C3.averaging_radius)
RADIUS_RTOL = 1e-9
#: thresholds tau / sqrt(d) of the grid: both sides of the window [0.2247, 0.2929] and inside it
TAUS = (0.0, 0.1, 0.2, 0.23, 0.26, 0.29, 0.35, 0.5)


def threshold_radii(ctx):
    """(k, d, taus, exact radii at mu_0 and mu_{k-1}, minimum of the two), computed once per context."""
    key = (ID, "radii")
    if key not in ctx.cache:
        from featavg.simulate import make_features, make_partition, threshold_net

        kk, dd = 10, 3072
        feats = make_features(kk, dd, ctx.rng(41))
        labels = make_partition(kk)
        taus = np.array(TAUS) * np.sqrt(dd)
        meas = np.array([ctx.net_radii(threshold_net(feats, labels, t), feats[[0, kk - 1]], np.array([1, -1])).min()
                         for t in taus])
        ctx.cache[key] = (kk, dd, taus, meas)
    return ctx.cache[key]


def _measure(ctx):
    kk, dd, taus, meas = threshold_radii(ctx)
    K_ = kk // 2
    radius = ctx.prediction(ID, "radius")
    cost_off, cost_raise = ctx.prediction(ID, "cost_switch_off"), ctx.prediction(ID, "cost_raise")
    pred = np.array([float(radius(dd, t, K_)) for t in taus])
    band = Band(pred, (Term(f"exact radius to {RADIUS_RTOL:g} relative (QP gap and feasibility 1e-10)",
                            RADIUS_RTOL * pred),))
    only_l1 = np.minimum(np.asarray(cost_off(dd, taus), float), np.asarray(cost_raise(dd, taus, 1), float))
    all_k = np.minimum(np.asarray(cost_off(dd, taus), float), np.asarray(cost_raise(dd, taus, K_), float))
    return Outcome(pred, meas, band,
                   rivals={"L = 1 only (raise one feature)": only_l1, "L = K only (raise all)": all_k},
                   details={"tau_over_sqrt_d": list(TAUS), "max_relative_error": float(np.max(np.abs(meas - pred) / pred))},
                   config={"k": kk, "d": dd})


RADII = Check(
    "C4.threshold_net", "Thresholded one-neuron-per-feature net: exact radius at mu_j vs min(switch-off, raise-L)",
    "noise-free points, k=10, d=3072, tau in [0, 0.5] sqrt(d) (8 thresholds)", _measure,
    rivals=(Rival("L = 1 only (raise one feature)", "the attacks that raise several opposite features forgotten"),
            Rival("L = K only (raise all)", "only the attack that raises every opposite feature")),
    faults=("closed_form", "radius"))
