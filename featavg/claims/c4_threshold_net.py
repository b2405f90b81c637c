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
from featavg.theory._common import K, d, tau

ID = "C4.threshold_net"
ORDER = (4, 0)

L_ = sp.Symbol("L", positive=True, integer=True)
COST_OFF = sp.sqrt(d) - tau
COST_RAISE = (sp.sqrt(d) + (L_ - 1) * tau) / sp.sqrt(1 + L_)
OPTIMUM = sp.sqrt(d / 2)


def kkt_raise(Lval):
    """Full KKT (no symmetry assumed): lower own coordinate by r, raise L opposite ones to t_l."""
    r = sp.Symbol("r", real=True)
    ts = sp.symbols(f"t_1:{Lval + 1}", real=True)
    c = (sp.sqrt(d) - r - tau) - sum(tl - tau for tl in ts)
    sol, cost2, _ = kkt_min_norm([r] + list(ts), c)
    return sol, cost2, ts

def derive():
    """The claim: the two attack families by KKT, and the tau window where the radius is sqrt(d/2)."""
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
            sol, cost2, ts = kkt_raise(Lval)
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
             sp.Eq(sp.Symbol("c_L"), COST_RAISE), kkt_check, generality="instance", instances="L = 1, 2, 3"),
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
             tau_L_decreasing, generality="instance", instances="solved for symbolic L; decrease checked on L = 2..1000"),
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
        id=ID, title="Thresholded one-neuron-per-feature net reaches sqrt(d/2) for tau in [0.225, 0.293] sqrt(d)",
        statement=sp.Eq(sp.Function("r")(sp.Symbol("mu_j")), sp.Min(COST_OFF, sp.Min(*[COST_RAISE.subs(L_, l) for l in (1, 2)]),
                                                       evaluate=False)),
        assumptions="w_j = alpha mu_j/sqrt(d), bias -alpha tau, binary architecture; 0 <= tau <= sqrt(d)/2; "
                    "K = |J_{-s}| >= 2 for the tau range (statement shows L = 1, 2; the radius takes L <= K).",
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
