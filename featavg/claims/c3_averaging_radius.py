r"""C3.averaging_radius: the minimal L2 perturbation of the idealised averaging network.

Notation (docs/science.md §2, C3): features :math:`\mu_j = \sqrt d\, e_j` (Assumption 3.2),
:math:`p = |J_+|`. The averaging net has neurons :math:`w_+ = \alpha_+\sum_{J_+}\mu_i` (bias
:math:`b_+`) and :math:`w_- = \alpha_-\sum_{J_-}\mu_i` (bias :math:`b_-`), :math:`f = \mathrm{ReLU}(z_+)
- \mathrm{ReLU}(z_-)` (``m`` identical neurons per sign give the same ``f``). For :math:`\mu_j`,
:math:`j \in J_+`: :math:`z_+ = \alpha_+ d + b_+`, :math:`z_- = b_-`; in the orthonormal directions
:math:`e_+ = u_+/\sqrt{pd}`, :math:`e_- = u_-/\sqrt{(k-p)d}`, :math:`z_+(x+\rho) = z_+ + \alpha_+\sqrt{pd}\,r_1`
and :math:`z_-(x+\rho) = z_- + \alpha_-\sqrt{(k-p)d}\,r_2`. The flip region
:math:`\{f \le 0\}` is the union of two half-spaces, and the radius is the smaller KKT cost:

.. math:: r(\mu_j) = \min\Big(\frac{z_+ - z_-}{\|w_+ - w_-\|}, \frac{z_+}{\|w_+\|}\Big),

which is :math:`\sqrt{d/k}` for a balanced net without biases. Tie convention: the prediction
flips when :math:`y f(x+\rho) \le 0`. Each minimal perturbation is found by solving the Lagrange
(KKT) conditions with SymPy, not by writing the answer down.

Evidence: the exact radius (convex QPs, :mod:`featavg.simulate`) of idealised nets against the
formula, and of trained binary nets at the paper's setting against :math:`\sqrt{d/k}`; figures of
the radius against ``d`` and ``k``.
"""

import numpy as np
import sympy as sp

from featavg.claims.c1_feature_averaging import dead_neuron_note
from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term, fit_power_law
from featavg.theory import Claim, ReLU, Step, is_zero, kkt_min_norm, lambdify_prediction, notation
from featavg.theory._claim import In, SumOver, Text
from featavg.theory._common import d, evaluate_sums, explicit, k, numeric, p, sqrt_as_written, sums_equal

ID = "C3.averaging_radius"
ORDER = (3, 0)

# the paper's notation: alpha_+, alpha_- (scales), b_+, b_- (biases); the predictions keep the
# keywords alpha_p, alpha_m, b_p, b_m
alpha_p, alpha_m = sp.symbols("alpha_+ alpha_-", positive=True)
b_p, b_m = sp.symbols("b_+ b_-", real=True)

Z_P = alpha_p * d + b_p
Z_M = b_m
V_P = alpha_p * sp.sqrt(p * d)
V_M = alpha_m * sp.sqrt((k - p) * d)
HYPERPLANE = (Z_P - Z_M) / sp.sqrt(V_P ** 2 + V_M ** 2)  # distance to {z_+ <= z_-}
SWITCH_OFF = Z_P / V_P                                    # distance to {z_+ <= 0}
AVERAGING_RADIUS = sp.Min(HYPERPLANE, SWITCH_OFF)
BALANCED = {p: k / 2, alpha_m: alpha_p, b_p: 0, b_m: 0}


def _same_relation(a, b):
    """True iff the relations ``a`` and ``b`` are the same condition (truth values, or ``x <= y`` forms)."""
    if isinstance(a, sp.logic.boolalg.BooleanAtom) or isinstance(b, sp.logic.boolalg.BooleanAtom):
        return a == b
    if type(a) is not type(b) or not isinstance(a, (sp.LessThan, sp.StrictLessThan, sp.GreaterThan,
                                                     sp.StrictGreaterThan)):
        return False
    return is_zero((a.gts - a.lts) - (b.gts - b.lts))


def _flip_cases(statement):
    """Check ``f <= 0 <=> (z_+ <= 0 or z_+ <= z_-)`` in the three cases that cover the plane:
    ``z_+ <= 0``; ``z_+ > 0 >= z_-``; ``z_+, z_- > 0``. In each, ReLU is the identity or zero
    (``Max(z, 0)`` under the case's sign assumptions), both sides become truth values or linear
    relations, and they must agree."""
    zp, zm = sp.symbols("z_+ z_-", real=True)
    f_side = next(a for a in statement.args if a.has(ReLU))
    other = next(a for a in statement.args if a is not f_side)
    cases = ((sp.Symbol("z_+", nonpositive=True), sp.Symbol("z_-", real=True)),
             (sp.Symbol("z_+", positive=True), sp.Symbol("z_-", nonpositive=True)),
             (sp.Symbol("z_+", positive=True), sp.Symbol("z_-", positive=True)))
    for cp, cm in cases:
        sub = {zp: cp, zm: cm}
        a = f_side.xreplace(sub).replace(lambda e: isinstance(e, ReLU), lambda e: sp.Max(e.args[0], 0))
        b = other.xreplace(sub)
        a, b = sp.simplify(a), sp.simplify(b)
        if isinstance(b, sp.Or):  # a disjunction that did not evaluate: one relation is left
            live = [x for x in b.args if x is not sp.false]
            b = live[0] if len(live) == 1 else b
        if not _same_relation(a, b):
            return False
    return True


def derive():
    """The claim: KKT for each half-space of the flip region, then the balanced case."""
    r1, r2 = sp.symbols("r_1 r_2", real=True)

    def kkt_hyperplane(st):
        c = (Z_P + V_P * r1) - (Z_M + V_M * r2)
        sol, cost2, lam = kkt_min_norm([r1, r2], c)
        dual = is_zero(sol[lam] * (V_P ** 2 + V_M ** 2) / 2 - (Z_P - Z_M))  # lambda >= 0 iff z_+ > z_- at mu_j
        return dual and is_zero(cost2 - st.rhs ** 2)

    def kkt_switch_off(st):
        sol, cost2, lam = kkt_min_norm([r1, r2], Z_P + V_P * r1)
        return is_zero(cost2 - st.rhs ** 2) and sol[r2] == 0

    zp, zm = sp.symbols("z_+ z_-", real=True)
    r_A, r_B = sp.Symbol("r_A"), sp.Symbol("r_B")
    balanced = sp.And(*[sp.Eq(key, value, evaluate=False) for key, value in BALANCED.items()], evaluate=False)
    w_p, w_m, mu_i, mu_j, i_, f = (sp.Symbol(x) for x in ("w_+", "w_-", "mu_i", "mu_j", "i", "f"))
    J_p, J_m = sp.Symbol("J_+"), sp.Symbol("J_-")
    span = Text(" (in the span of ", w_p, " and ", w_m, ": a component orthogonal to both changes neither ",
                zp, " nor ", zm, " and only adds to the norm)")
    steps = (
        Step(Text(sp.Le(f, 0, evaluate=False), " exactly on the union of two half-spaces (three sign cases of ",
                  zp, " and ", zm, ", ties included)"),
             sp.Equivalent(sp.Le(ReLU(zp) - ReLU(zm), 0, evaluate=False),
                           sp.Or(sp.Le(zp, 0, evaluate=False), sp.Le(zp, zm, evaluate=False), evaluate=False),
                           evaluate=False),
             _flip_cases),
        Step(Text("KKT for the half-space ", sp.Le(zp, zm, evaluate=False), span,
                  "; its multiplier is positive when ", sp.Gt(zp, zm, evaluate=False), " at ", mu_j),
             sp.Eq(r_A, HYPERPLANE), kkt_hyperplane),
        Step(Text("KKT for the half-space ", sp.Le(zp, 0, evaluate=False), span),
             sp.Eq(r_B, SWITCH_OFF), kkt_switch_off),
        Step(Text("balanced net (", sp.Eq(p, k / 2, evaluate=False), ", ", sp.Eq(alpha_p, alpha_m, evaluate=False),
                  ", no biases): the hyperplane is ", sqrt_as_written(d / k), " away"),
             sp.Implies(balanced, sp.Eq(r_A, sqrt_as_written(d / k), evaluate=False), evaluate=False),
             lambda st: is_zero(HYPERPLANE.subs(BALANCED) - st.args[1].rhs)),
        Step(Text("balanced net: switching the neuron off costs ", sp.sqrt(2), " times more, so the radius is ",
                  sqrt_as_written(d / k)),
             sp.Implies(balanced, sp.Eq(r_B / r_A, sp.sqrt(2), evaluate=False), evaluate=False),
             lambda st: is_zero(sp.simplify(SWITCH_OFF.subs(BALANCED) / HYPERPLANE.subs(BALANCED)) - st.args[1].rhs)),
    )
    bal = sp.simplify(HYPERPLANE.subs(BALANCED))
    args = [d, k, p, alpha_p, alpha_m, b_p, b_m]
    preds = {
        "radius": lambdify_prediction(args, AVERAGING_RADIUS,
                                      "minimal L2 perturbation of mu_j, j in J+, for the averaging net with "
                                      "neurons w_+ = alpha_+ sum_{J+} mu_i, bias b_+, w_- = alpha_- sum_{J-} mu_i, "
                                      "bias b_-, p = |J+| (for j in J-, swap the roles of + and -); keywords "
                                      "alpha_p, alpha_m, b_p, b_m"),
        "hyperplane": lambdify_prediction(args, HYPERPLANE, "(z_+ - z_-)/||w_+ - w_-||"),
        "switch_off": lambdify_prediction(args, SWITCH_OFF, "z_+/||w_+||"),
        "radius_balanced": lambdify_prediction([d, k], bal, "sqrt(d/k)"),
    }
    trained_steps, trained_preds = trained_derivation()  # the trained net (issue 14), below
    steps = steps + trained_steps
    preds.update(trained_preds)
    return Claim(
        id=ID, title="Minimal Euclidean perturbation of the idealised averaging network",
        statement=sp.Eq(notation("r")(mu_j), AVERAGING_RADIUS),
        assumptions=Text("Orthogonal equinorm features; perfectly averaged neurons ",
                         sp.Eq(w_p, alpha_p * SumOver(mu_i, i_, J_p), evaluate=False), " and ",
                         sp.Eq(w_m, alpha_m * SumOver(mu_i, i_, J_m), evaluate=False), " with biases ", b_p, " and ",
                         b_m, "; a point ", mu_j, " with ", In(sp.Symbol("j"), J_p),
                         " and ", sp.Gt(zp, sp.Max(0, zm), evaluate=False), " there; ", sp.Eq(p, sp.Abs(J_p),
                                                                                           evaluate=False), "."),
        regime=Text("noise-free point (the noise correction, of order ", notation("O")(1), ", is C3.noise_correction). ",
                    dead_neuron_note("so the averaged net of the claim is the one of the live neurons")),
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

# -- the trained net (issue 14): derivation steps and predictions appended to derive() -------------

def trained_derivation():
    r"""Steps and predictions for the trained binary net (appended to :func:`derive`).

    The trained net's neurons of one sign are (nearly) one averaged neuron, with *measured*
    coefficients :math:`a_t = \langle \bar w_+ - \bar w_-, \mu_t\rangle/d` on every feature (own
    scales, their imbalance between clusters, the opposite-class leakage) and bias difference
    :math:`c_0 = \bar b_+ - \bar b_-`. GD puts each training point's input into the weights with a
    weight: cluster ``t``'s :math:`n_t` points carry :math:`a_t/n_t` each (C1.feature_averaging), so
    the noise part adds :math:`d\sum_t a_t^2/n_t` to :math:`\|v\|^2` (the finite-n noise share) and
    the initial weights :math:`2d\sigma_w^2/m`. At :math:`x = \mu_j + \xi` the hyperplane branch of
    the radius is :math:`c_j + Z`, :math:`c_j = y_j(a_j d + c_0)/\|v\|`, :math:`Z \sim N(0, 1)`
    (C3.noise_correction), so the radius of a random test point has the law of the mixture
    :math:`\frac1k\sum_j N(c_j, 1)` and its median solves :math:`\frac1k\sum_j\Phi(t - c_j) = 1/2`.
    """
    from featavg.theory._common import Phi, phi

    i = sp.Symbol("i", integer=True, positive=True)
    lam_r, lam_q, a_j, c_0, t_ = sp.symbols("Lambda_rt Lambda_qt a_j c_0 t", real=True)
    n_t = sp.Symbol("n_t", positive=True, integer=True)
    y_ = sp.Symbol("y", real=True)
    N2 = sp.Symbol("N_v", positive=True)  # ||v||^2
    sigma_w = sp.Symbol("sigma_w", positive=True)
    GRAM_TERM = d * lam_r * lam_q * (1 + 1 / n_t)
    INIT_TERM = d * sigma_w ** 2
    CENTRE = y_ * (a_j * d + c_0) / sp.sqrt(N2)
    G_rq = notation("G_rq")

    jj, tt = sp.symbols("j t", integer=True, positive=True)
    r_s, q_s = sp.Symbol("r"), sp.Symbol("q")
    Lam_ = sp.IndexedBase("Lambda")
    n_ = sp.IndexedBase("n")
    a_ = sp.IndexedBase("a")
    GRAM = (sp.Sum(d * Lam_[r_s, tt] * Lam_[q_s, tt] * (1 + 1 / n_[tt]), (tt, 1, k))
            + INIT_TERM * sp.KroneckerDelta(r_s, q_s))

    def gram_from_cluster_weights(st):
        # <w_r, w_q> = sum_t [feature part d Lambda_rt Lambda_qt + noise part d sum_{i <= n_t} (Lambda_rt/n_t)
        # (Lambda_qt/n_t)] (E <xi_i, xi_l> = d delta_il) + the initial weights' d sigma_w^2 delta_rq
        noise = sp.Sum(d * sp.Sum((Lam_[r_s, tt] / n_[tt]) * (Lam_[q_s, tt] / n_[tt]), (i, 1, n_[tt])), (tt, 1, k))
        derived = sp.Sum(d * Lam_[r_s, tt] * Lam_[q_s, tt], (tt, 1, k)) + noise + INIT_TERM * sp.KroneckerDelta(r_s, q_s)
        # the per-cluster share the predictions use (GRAM_TERM) is the summand of the same sum
        share = is_zero(d * lam_r * lam_q + (d * sp.Sum((lam_r / n_t) * (lam_q / n_t), (i, 1, n_t))).doit() - GRAM_TERM)
        return isinstance(st, sp.Equality) and share and sums_equal(derived, st.rhs)

    cw = sp.IndexedBase("c", real=True)
    iw = sp.Symbol("i", integer=True, positive=True)

    def unequal_weights_raise_noise(st):
        # n sum c_i^2 - (sum c_i)^2 = n sum_i (c_i - cbar)^2, cbar = (sum c_i)/n: a sum of squares, for every n
        cbar = sp.Sum(cw[jj], (jj, 1, n_t)) / n_t
        squares = n_t * sp.Sum((cw[iw] - cbar) ** 2, (iw, 1, n_t))
        gap = st.gts - st.lts  # the statement says gap >= 0
        return (isinstance(st, (sp.GreaterThan, sp.LessThan)) and sums_equal(gap, squares)
                and bool(((cw[iw] - cbar) ** 2).is_nonnegative))

    def perfect_averaging_limit(st):
        # v = sum_t a_t mu_t + sum_t sum_{i <= n_t} (a_t/n_t) xi_i: <v, mu_j> = a_j d (orthogonal features) and
        # ||v||^2 = sum_t d a_t^2 (1 + 1/n_t) (the Gram step with Lambda_r = Lambda_q = a)
        along = evaluate_sums(sp.Sum(a_[tt] * d * sp.KroneckerDelta(tt, jj), (tt, 1, k)), [(jj, 1, k)])
        norm2 = sp.Sum(d * a_[tt] ** 2 + d * sp.Sum((a_[tt] / n_[tt]) ** 2, (i, 1, n_[tt])), (tt, 1, k))
        sums = st.rhs.atoms(sp.Sum)
        if not isinstance(st, sp.Equality) or len(sums) != 1:
            return False
        (S_st,) = sums
        own = is_zero(st.rhs.xreplace({S_st: N2}) - y_ * (along.subs(a_[jj], a_j) + c_0) / sp.sqrt(N2))
        # a_t = alpha_+ on the p clusters of J+, -alpha_- on the k - p of J-, n_t -> oo: c_j = HYPERPLANE
        feat = sp.limit(GRAM_TERM, n_t, sp.oo)
        lim2 = (sp.Sum(feat.subs({lam_r: alpha_p, lam_q: alpha_p}), (i, 1, p))
                + sp.Sum(feat.subs({lam_r: -alpha_m, lam_q: -alpha_m}), (i, 1, k - p))).doit()
        limit = is_zero(CENTRE.subs({y_: 1, a_j: alpha_p, c_0: b_p - b_m, N2: lim2}) - HYPERPLANE)
        return own and sums_equal(S_st, norm2) and limit

    cc = sp.IndexedBase("c", real=True)

    def mixture_median_first_order(st):
        # R = c_J + Z with J uniform on the k clusters: P(R <= t) = (1/k) sum_j Phi(t - c_j); the median solves
        # P(R <= t) = 1/2. Equal centres give t = c; the implicit derivative dt/dc_1 = 1/k there (any k)
        cdf = sp.Sum(Phi(t_ - cc[jj]), (jj, 1, k)) / k
        split = (Phi(t_ - cc[1]) + sp.Sum(Phi(t_ - cc[jj]), (jj, 2, k))) / k
        equal = {cc[jj]: t_, cc[1]: t_}
        at_centre = is_zero(cdf.xreplace(equal).doit() - sp.Rational(1, 2))
        slope = sp.simplify((-sp.diff(split, cc[1]) / sp.diff(split, t_)).xreplace(equal).doit())
        return (isinstance(st, sp.Equality) and sums_equal(st.lhs, cdf) and is_zero(st.rhs - sp.Rational(1, 2))
                and at_centre and is_zero(slope - 1 / k))

    S_, r_, V_, sW = sp.symbols("S rbar V sigma_W", positive=True)
    SPREAD = (S_ + r_ * sW) / (V_ - sW)

    def spread_bound(st):
        # Given |f - fbar| <= S(x + rho) <= S(x) + ||rho|| sigma_W (ReLU 1-Lipschitz and Jensen, per neuron, averaged
        # over the neurons: tests/test_c3_averaging_radius_spread.py checks the four inequalities on random nets)
        # and fbar falling at rate ||v|| = V along the averaged net's normal: beyond rbar by t, f <= S + (rbar + t)
        # sigma_W - V t, which is <= 0 once t >= t_up; before rbar by t, f >= V t - S - (rbar - t) sigma_W > 0 while
        # t > t_lo. So -t_lo <= r - rbar <= t_up, and |r - rbar| <= max(t_lo, t_up) = t_up (V > sigma_W).
        t = sp.Symbol("t", positive=True)
        (t_up,) = sp.solve(S_ + (r_ + t) * sW - V_ * t, t)
        (t_lo,) = sp.solve(V_ * t - S_ - (r_ - t) * sW, t)
        Vs = {V_: sW + sp.Symbol("e", positive=True)}  # V = sigma_W + e, e > 0
        lo_smaller = bool(sp.factor((t_up - t_lo).subs(Vs)).is_nonnegative)
        return (isinstance(st, (sp.LessThan, sp.StrictLessThan)) and is_zero(st.lhs - sp.Abs(sp.Symbol("r") - r_))
                and is_zero(st.rhs - t_up) and lo_smaller)

    gap, rho_ = sp.Symbol("g", positive=True), sp.Symbol("rho", real=True)
    SWITCH_P = Phi(-gap / sp.sqrt(2 - 2 * rho_))

    def switch_off_probability(st):
        # the two branches' noise terms Z, Z' = rho Z + sqrt(1 - rho^2) U (Z, U independent N(0, 1)): r_B - r_A =
        # g + Z' - Z with Var(Z' - Z) = (rho - 1)^2 + (1 - rho^2), so P(r_B < r_A) = P(sd W < -g), W ~ N(0, 1)
        import sympy.stats as sst

        var = sp.factor((rho_ - 1) ** 2 + (1 - rho_ ** 2))
        sd = sp.Symbol("s", positive=True)
        prob = sst.P(sd * sst.Normal("W", 0, 1) < -gap).subs(sd, sp.sqrt(var))
        return isinstance(st, sp.Equality) and is_zero(prob - explicit(st.rhs))

    c_j, n_t_sym = sp.Symbol("c_j"), sp.Symbol("n_t")
    rbar_, sigma_W, r_sym = sp.Symbol("rbar"), sp.Symbol("sigma_W"), sp.Symbol("r")
    steps = (
        Step(Text("trained net: the ", n_t_sym, " points of cluster ", tt, " carry ", lam_r / n_t_sym,
                  " each, so each cluster adds ", 1 / n_t_sym, " to its share of the Gram matrix of the neurons (and ",
                  INIT_TERM, " on the diagonal from the initial weights)"),
             sp.Eq(G_rq(r_s, q_s), GRAM, evaluate=False), gram_from_cluster_weights),
        Step(Text("unequal weights ", sp.Indexed("c", iw), " within a cluster only raise the noise: the excess is ",
                  n_t_sym, " times the sum of their squared deviations from the mean"),
             sp.Ge(n_t * sp.Sum(cw[iw] ** 2, (iw, 1, n_t)) - sp.Sum(cw[iw], (iw, 1, n_t)) ** 2, 0,
                   evaluate=False), unequal_weights_raise_noise),
        Step(Text("trained net at ", sp.Symbol("mu_j") + sp.Symbol("xi"), ": the hyperplane branch is ", c_j,
                  " plus a standard normal; perfectly averaged coefficients and ", sp.Symbol("n_t"),
                  " to infinity give the formula of the claim"),
             sp.Eq(c_j, CENTRE.subs(N2, sp.Sum(d * a_[tt] ** 2 * (1 + 1 / n_[tt]), (tt, 1, k))), evaluate=False),
             perfect_averaging_limit),
        Step(Text("median of the test radius: equal centres ", c_j, " give the centre, and its derivative in each ",
                  c_j, " is ", 1 / k, " there (to first order the mean of the centres)"),
             sp.Eq(sp.Sum(Phi(t_ - cc[jj]), (jj, 1, k)) / k, sp.Rational(1, 2), evaluate=False),
             mixture_median_first_order),
        Step(Text("neurons of one sign differ: the radius ", r_sym, " stays within ", SPREAD.subs(r_, rbar_),
                  " of the averaged net's ", rbar_, " (", S_, ": the mean spread of the pre-activations, ", sigma_W,
                  ": the mean spread of the weights, ", V_, ": the norm of the averaged normal)"),
             sp.Le(sp.Abs(r_sym - r_), SPREAD, evaluate=False), spread_bound),
        Step(Text("the switch-off branch binds first with probability ", SWITCH_P, " (", gap,
                  ": its gap to the hyperplane branch, ", rho_, ": the correlation of their noise terms)"),
             sp.Eq(notation("P")(sp.Lt(sp.Symbol("r_B"), sp.Symbol("r_A"), evaluate=False)), SWITCH_P, evaluate=False),
             switch_off_probability),
    )
    f_phi = sp.lambdify([t_], numeric(Phi(t_)), modules=["scipy"])
    f_dens = sp.lambdify([t_], numeric(phi(t_)), modules=["numpy"])

    def mixture_median(centres):
        """Median of (1/k) sum_j N(c_j, 1) and the mixture's density there: (median, density)."""
        from scipy import optimize

        c = np.asarray(centres, dtype=float)
        med = optimize.brentq(lambda x: float(np.mean(f_phi(x - c))) - 0.5, c.min() - 10, c.max() + 10, xtol=1e-13)
        return float(med), float(np.mean(f_dens(med - c)))

    gram_term = lambdify_prediction([d, lam_r, lam_q, n_t], GRAM_TERM, "d Lambda_rt Lambda_qt (1 + 1/n_t): cluster t's "
                                    "share of the Gram entry G_rq of two trained neurons")
    init_term = lambdify_prediction([d, sigma_w], INIT_TERM, "d sigma_w^2: an initial weight's squared norm")
    centre = lambdify_prediction([d, a_j, c_0, y_, N2], CENTRE, "c_j = y (a_j d + c_0)/||v||, ||v||^2 = N_v")

    def radius_trained_median(d, a, c0, labels, n_t, sigma_w, m):
        """Median test radius of a trained binary net from its measured coefficients.

        ``a`` (k,): coefficients of v = wbar_+ - wbar_- on the features; ``c0`` = bbar_+ - bbar_-;
        ``labels`` (k,); ``n_t`` (k,) training points per cluster; ``m`` neurons per sign.
        Returns (median, density at the median, centres c_j (k,), ||v||^2).
        """
        a, y = np.asarray(a, float), np.asarray(labels, float)
        norm2 = float(np.sum(gram_term(d, a, a, np.asarray(n_t, float))) + 2.0 / m * init_term(d, sigma_w))
        c = np.asarray(centre(d, a, c0, y, norm2), float)
        med, dens = mixture_median(c)
        return med, dens, c, norm2

    preds = {"gram_term": gram_term, "init_term": init_term, "trained_centre": centre,
             "mixture_median": mixture_median, "radius_trained_median": radius_trained_median,
             "spread_bound": lambdify_prediction([S_, r_, V_, sW], SPREAD, "(S + rbar sigma_W)/(||v|| - sigma_W)"),
             "switch_off_probability": lambdify_prediction([gap, rho_], SWITCH_P, "Phi(-g/sqrt(2 - 2 rho))")}
    return steps, preds


#: relative accuracy of an exact radius: Clarabel's duality gap and feasibility tolerances are 1e-10
#: (featavg.simulate._robust), so a radius is exact to about 1e-10 relative; stated with a factor 10
#: for the scaling of the problem data (entries of order d)
RADIUS_RTOL = 1e-9


def _sizes(ctx):
    """(seeds, test points per seed) of the trained-net measurement."""
    return (6, 40) if ctx.quick else (12, 50)


def trained_binary_model(ctx, run, points):
    """The prediction for one trained binary run and the bounds on what it neglects.

    Returns a dict: ``median``, ``density``, ``centres``, ``noise_share`` (of ||v||^2), the bounds
    ``noise`` (relative error of the predicted noise share), ``spread`` (neurons of one sign
    differ, at the measured points) and ``switch`` (the switch-off branch), in radius units, and
    the decomposition ``median_infinite_n`` / ``median_equal_coefficients``.
    """
    from featavg.claims._trained import require
    from featavg.evidence import quantile

    net, cfg, F, labels = run.network, run.config, run.features, run.cluster_labels
    W, b, m, dd = net.W, net.b, net.m, cfg.d
    sign = net.neuron_signs
    Z0 = F @ W.T + b  # (k, 2m): pre-activations at the cluster centres
    own = labels[:, None] == sign[None, :]
    require(np.all(Z0[own] > 0) and np.all(Z0[~own] <= 0),
            f"seed {cfg.seed}: the binary net is not in the late regime of C7 at the cluster centres (every neuron "
            f"active on its own class's centres, inactive on the other's): min own {Z0[own].min():.3g}, "
            f"max opposite {Z0[~own].max():.3g}; the trained-net prediction does not apply (the net does not average)")
    pos = sign > 0
    lam = W @ F.T / dd
    a = lam[pos].mean(axis=0) - lam[~pos].mean(axis=0)
    c0 = float(b[pos].mean() - b[~pos].mean())
    nt = np.bincount(run.train.clusters, minlength=cfg.k).astype(float)
    pred = ctx.prediction(ID, "radius_trained_median")
    med, dens, centres, norm2 = pred(dd, a, c0, labels, nt, cfg.init_scale, m)
    med, dens, norm2 = float(med), float(dens), float(norm2)
    share = 1.0 - float(np.sum(ctx.prediction(ID, "gram_term")(dd, a, a, np.full(cfg.k, np.inf)))) / norm2
    # noise part's relative error: cross terms <xi_i, xi_l> of the training noise (z sqrt(2/d)) plus the
    # within-cluster spread of the points' weights (factor 1 + CV^2, CV <= the margin's spread ||wbar_s||
    # over a cluster's points, since |d log g/dq| <= 1 for g = -l')
    wbar = np.array([W[pos].mean(axis=0), W[~pos].mean(axis=0)])
    cv2 = float(np.max(np.sum(wbar ** 2, axis=1)))
    rel = quantile() * np.sqrt(2.0 / dd) + cv2
    noise = med * share * rel / 2
    # neurons of one sign: at the measured points, exact equality r = rbar where its two conditions hold
    # (derivation step), else the Lipschitz bound (S + rbar sigma_W)/(||v|| - sigma_W)
    X, y = run.test.X[:points], run.test.y[:points].astype(float)
    Z = X @ W.T + b
    v = wbar[0] - wbar[1]
    V = float(np.linalg.norm(v))
    S = np.abs(Z[:, pos] - Z[:, pos].mean(axis=1, keepdims=True)).mean(axis=1) + \
        np.abs(Z[:, ~pos] - Z[:, ~pos].mean(axis=1, keepdims=True)).mean(axis=1)
    sigW = float(np.linalg.norm(W[pos] - wbar[0], axis=1).mean() + np.linalg.norm(W[~pos] - wbar[1], axis=1).mean())
    rbar = y * (X @ v + c0) / V
    lipschitz = np.asarray(ctx.prediction(ID, "spread_bound")(S, np.abs(rbar), V, sigW), float)
    exact = np.zeros(points, dtype=bool)
    for i in range(points):
        mine = sign == y[i]
        wo = wbar[0] if y[i] > 0 else wbar[1]
        zo, zx = Z[i, mine], Z[i, ~mine]
        dev_max = float(np.abs(zx - zx.mean()).max())
        sig_max = float(np.linalg.norm(W[~mine] - W[~mine].mean(axis=0), axis=1).max())
        lower_ok = (zo.mean() - dev_max) / (np.linalg.norm(wo) + sig_max) >= rbar[i]
        upper_ok = np.all(zo - rbar[i] * y[i] * (W[mine] @ v) / V > 0)
        exact[i] = lower_ok and upper_ok
    spread = float(np.max(np.where(exact, 0.0, lipschitz)))
    # switch-off branch: own mean neuron alone (model Gram), per cluster
    gram, init = ctx.prediction(ID, "gram_term"), ctx.prediction(ID, "init_term")
    probs = []
    for s_, rows in ((1, pos), (-1, ~pos)):
        lw = lam[rows].mean(axis=0)
        nw2 = float(np.sum(gram(dd, lw, lw, nt)) + init(dd, cfg.init_scale) / m)
        cross = float(s_ * np.sum(gram(dd, a, lw, nt)) + init(dd, cfg.init_scale) / m)
        for j in np.flatnonzero(labels == s_):
            off = (dd * lw[j] + b[rows].mean()) / np.sqrt(nw2)
            probs.append(float(ctx.prediction(ID, "switch_off_probability")(max(off - centres[j], 0.0),
                                                                             cross / np.sqrt(nw2 * norm2))))
    switch = max(probs) / dens
    inf_n = float(pred(dd, a, c0, labels, np.full(cfg.k, np.inf), 0.0, m)[0])
    equal = np.where(labels > 0, np.abs(a[labels > 0]).mean(), -np.abs(a[labels < 0]).mean())
    eq = float(pred(dd, equal, c0, labels, nt, cfg.init_scale, m)[0])
    return {"median": med, "density": dens, "centres": np.asarray(centres, float).tolist(), "noise_share": share,
            "noise": noise, "spread": spread, "switch": switch, "median_infinite_n": inf_n,
            "median_equal_coefficients": eq}


def _measure_trained(ctx):
    from featavg.claims._trained import pooled_median

    R, N = _sizes(ctx)
    runs = ctx.paper_runs("binary", R)
    cfg = runs[0].config
    models = [trained_binary_model(ctx, run, N) for run in runs]
    radii = [ctx.radii(run, points=N) for run in runs]
    pooled = pooled_median(radii, [x["median"] for x in models], [x["density"] for x in models])
    radius = ctx.prediction(ID, "radius_balanced")
    base = float(radius(cfg.d, cfg.k))
    worst = {key: max(x[key] for x in models) for key in ("noise", "spread", "switch")}
    band = Band(pooled["predicted"], (
        pooled["stat_term"],
        Term("predicted noise share: its relative error z sqrt(2/d) (cross terms of the training noise) + CV^2 <= "
             "||wbar_s||^2 (spread of the points' GD weights in a cluster), times radius x share/2", worst["noise"]),
        Term("neurons of one sign differ: 0 at the measured points where r = rbar exactly (both conditions of the "
             "derivation hold), else (S + rbar sigma_W)/(||v|| - sigma_W); the max over the points", worst["spread"]),
        Term("switch-off branch: max over clusters of its probability / the density at the median", worst["switch"]),
    ))
    return Outcome(pooled["predicted"], pooled["measured"], band, interval=pooled["interval"],
                   seeds=[r.config.seed for r in runs], baseline=base,
                   rivals={"sqrt(d/(k-1))": float(radius(cfg.d, cfg.k - 1)),
                           "sqrt(d/(k+1))": float(radius(cfg.d, cfg.k + 1)),
                           "sqrt(d/2) (decoupled optimum)": float(np.sqrt(cfg.d / 2))},
                   details={"per_seed_median": pooled["per_seed_median"], "per_seed_predicted": pooled["per_seed_predicted"],
                            "points_per_seed": N, "points": pooled["points"], "interval_coverage": pooled["coverage"],
                            "noise_share_of_v": [x["noise_share"] for x in models],
                            "predicted_infinite_n": float(np.mean([x["median_infinite_n"] for x in models])),
                            "predicted_equal_coefficients": float(np.mean([x["median_equal_coefficients"] for x in models])),
                            "neglected_bounds": worst},
                   config={"run": cfg.to_dict()})


TRAINED = Check(
    "C3.averaging_radius", "Trained binary net: median exact radius vs the C3 formula with its measured coefficients",
    "binary labels, paper setting (k=10, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5), reduced engine; exact "
    "radii (QP) of test points, 12 seeds x 50 points (quick 6 x 40). Prediction from measured properties of each "
    "trained net (its feature coefficients a_t: class scales, imbalance between clusters, leakage; its biases) with "
    "the predicted finite-n noise share (1/n_t per cluster) and the N(0, 1) noise correction at the median; "
    "baseline sqrt(d/k) from the sizes alone", _measure_trained,
    rivals=(Rival("sqrt(d/(k-1))", "a constant off by one in k"), Rival("sqrt(d/(k+1))", "a constant off by one in k"),
            Rival("sqrt(d/2) (decoupled optimum)", "the radius of a decoupled (robust) network")),
    faults=("closed_form", "decouple"))

#: (p, alpha_+, alpha_-, b_+/d, b_-/d): unbalanced, unequal scales, biases; the last case makes
#: switching the own group off the cheapest attack
_IDEAL_CASES = ((5, 1.0, 1.0, 0.0, 0.0), (3, 1.3, 0.7, 0.2, -0.1), (7, 0.8, 1.5, -0.3, 0.4), (4, 1.0, 1.0, -0.9, 0.0))


def _measure_ideal(ctx):
    from featavg.simulate import averaging_net, make_features, make_partition

    kk, dd = 10, 400
    feats = make_features(kk, dd, ctx.rng(31))
    radius = ctx.prediction(ID, "radius")
    hyper = ctx.prediction(ID, "hyperplane")
    balanced = ctx.prediction(ID, "radius_balanced")
    meas, pred, rival_h, rival_b, cases = [], [], [], [], []
    for pp, ap, am, bp, bm in _IDEAL_CASES:
        labels = make_partition(kk, pp)
        net = averaging_net(feats, labels, ap, am, bp * dd, bm * dd)
        jp, jm = int(np.flatnonzero(labels > 0)[0]), int(np.flatnonzero(labels < 0)[0])
        meas += ctx.net_radii(net, feats[[jp, jm]], np.array([1, -1])).tolist()
        args = [(dd, kk, pp, ap, am, bp * dd, bm * dd), (dd, kk, kk - pp, am, ap, bm * dd, bp * dd)]
        pred += [float(radius(*a)) for a in args]
        rival_h += [float(hyper(*a)) for a in args]
        rival_b += [float(balanced(dd, kk))] * 2
        cases.append({"p": pp, "alpha": [ap, am], "b_over_d": [bp, bm]})
    pred = np.array(pred)
    band = Band(pred, (Term(f"exact radius to {RADIUS_RTOL:g} relative (QP gap and feasibility 1e-10)",
                            RADIUS_RTOL * np.abs(pred)),))
    return Outcome(pred, np.array(meas), band,
                   rivals={"hyperplane branch only": np.array(rival_h), "balanced sqrt(d/k)": np.array(rival_b)},
                   details={"cases": cases, "max_relative_error": float(np.max(np.abs(np.array(meas) - pred) / pred))},
                   config={"k": kk, "d": dd})


IDEAL = Check(
    "C3.averaging_radius.ideal",
    "Idealised averaging net (unbalanced, unequal scales, biases): exact radius at mu_j = formula",
    "noise-free points mu_j (one of J+, one of J-), k=10, d=400, one neuron per sign; four nets", _measure_ideal,
    rivals=(Rival("hyperplane branch only", "the switch-off branch of the minimum forgotten"),
            Rival("balanced sqrt(d/k)", "the balanced formula applied to unbalanced, biased nets")),
    faults=("closed_form", "radius"))


# ---- figures: the radius against d and against k --------------------------------------------------

#: the products kept fixed when d grows: eta d and sigma_w d of the paper's setting times 10 and
#: 1 (eta d = 30.72 and sigma_w d = 3.072e-2), which keeps the first step's size relative to the
#: initial weights, hence the early phase, the same at every d (measured: averaging score 0.992
#: to 0.994 from d = 3162 to 1e7; sigma_w ~ d^-1/2 instead gives 0.976 at 1e7 and 0.845 at 1e8)
ETA_D = 30.72
INIT_D = 3.072e-2


def radius_sweep(ctx, salt, ks_ds, make_config):
    """Median exact radius (and averaging score) of a binary run at each point of a sweep."""
    from featavg.simulate import averaging_score

    rows = []
    for i, (kk, dd) in enumerate(ks_ds):
        seed = ctx.child_seed(salt, i)
        run = ctx.run(make_config(kk, dd, seed))
        r = ctx.radii(run)
        rows.append({"k": kk, "d": dd, "seed": seed, "median_radius": float(np.median(r)),
                     "quartiles": np.quantile(r, [0.25, 0.75]).tolist(),
                     "averaging_score": averaging_score(run.network, run.features, run.cluster_labels),
                     "predicted": float(ctx.prediction(ID, "radius_balanced")(dd, kk)),
                     "predicted_score": float(ctx.claim("C1.feature_averaging").predictions["cos_class_sum"](
                         np.sqrt(kk / run.config.n)))})
    return rows

def plot_sweep(ax, xs, rows, fit, xlabel, predicted_label):
    from matplotlib.ticker import FuncFormatter

    from featavg._figures import BLUE

    med = np.array([r["median_radius"] for r in rows])
    q = np.array([r["quartiles"] for r in rows])
    pred = np.array([r["predicted"] for r in rows])
    ax.errorbar(xs, med, yerr=[med - q[:, 0], q[:, 1] - med], fmt="o", color=BLUE, capsize=3,
                label="median exact radius (bars: quartiles)")
    grid = np.geomspace(min(xs), max(xs), 100)
    lo, hi = fit["ci"]
    ax.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], color=BLUE, lw=1,
            label=f"fit: slope {fit['slope']:.4f} [{lo:.4f}, {hi:.4f}]")
    ax.plot(xs, pred, color="black", ls="--", lw=1.2, label=predicted_label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    if q.max() / q.min() < 10:  # less than a decade: label the minor ticks too
        ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"exact $\ell_2$ radius")
    ax.legend(fontsize=8)

def score_panel(ax, xs, rows, xlabel):
    from featavg._figures import BLUE

    ax.plot(xs, [r["averaging_score"] for r in rows], "o-", color=BLUE, label="measured")
    ax.plot(xs, [r["predicted_score"] for r in rows], color="black", ls="--", lw=1,
            label="1/sqrt(1 + k/n) (C1.feature_averaging)")
    ax.set_xscale("log")
    ax.set_ylim(0.9, 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("averaging score")
    ax.set_title("Averaging holds at every point")
    ax.legend(fontsize=8, loc="lower left")

def _radius_vs_d(ctx):
    from featavg._figures import fit_text, new_figure
    from featavg._output import fmt
    from featavg.simulate import Config

    k, m, steps = 10, 5, 100
    n = 500 if ctx.quick else 1000
    n_test = 12 if ctx.quick else 40
    exps = np.linspace(3.5, 7.0, 4 if ctx.quick else 8)
    ds = [int(round(10 ** e)) for e in exps]

    def config(k, d, seed):
        return Config(k=k, d=d, n=n, n_test=n_test, m=m, eta=ETA_D / d, init_scale=INIT_D / d, steps=steps,
                      engine="reduced", seed=seed)

    rows = radius_sweep(ctx, 5, [(k, d) for d in ds], config)
    fit = fit_power_law(ds, [r["median_radius"] for r in rows])
    fig = new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    plot_sweep(ax, ds, rows, fit, "dimension d", r"$\sqrt{d/k}$ (C3.averaging_radius), slope 1/2")
    ax.set_title(f"Binary net, k={k}, n={n}, {n_test} test points per d")
    score_panel(ax2, ds, rows, "dimension d")
    fig.suptitle(r"The averaging radius grows like $\sqrt{d}$")
    ratios = [r["median_radius"] / r["predicted"] for r in rows]
    data = {"seed": ctx.seed, "k": k, "n": n, "m": m, "steps": steps, "eta_times_d": ETA_D,
            "init_scale_times_d": INIT_D, "test_points": n_test, "points": rows,
            "slope": fit["slope"], "slope_ci": fit["ci"], "slope_stderr": fit["stderr"], "intercept": fit["intercept"],
            "predicted_slope": 0.5, "median_over_sqrt_d_over_k": ratios}
    caption = (f"Median exact radius of {n_test} test points of a binary net trained at each d (k={k}, n={n}, m={m}, "
               f"{steps} steps, eta = {ETA_D:g}/d, init {INIT_D:g}/d, seeds from SeedSequence([{ctx.seed}, 5, i]), "
               f"reduced engine; d = {ds[0]} to {ds[-1]}). Fitted log-log slope {fit_text(fit)} against 1/2; "
               f"median / sqrt(d/k) between {fmt(min(ratios))} and {fmt(max(ratios))}; averaging score at least "
               f"{fmt(min(r['averaging_score'] for r in rows))} at every d.")
    return fig, caption, data

def _radius_vs_k(ctx):
    from matplotlib.ticker import NullLocator

    from featavg._figures import fit_text, new_figure
    from featavg._output import fmt
    from featavg.simulate import Config

    d, m, steps = 10 ** 5, 5, 100
    ks = [2, 6, 10, 20] if ctx.quick else [2, 4, 6, 8, 10, 14, 20]
    n_test = 12 if ctx.quick else 40
    per_cluster = 50  # n = max(500, 50 k): every cluster holds about 50 training points or more

    def config(k, d, seed):
        # eta C = eta (d + k/2)/(m k) is kept at the paper's 0.06 for every k: eta = 3.072 k / d
        return Config(k=k, d=d, n=max(500, per_cluster * k), n_test=n_test, m=m, positive=k // 2,
                      eta=ETA_D * k / (10 * d), init_scale=INIT_D / d, steps=steps, engine="reduced", seed=seed)

    rows = radius_sweep(ctx, 6, [(k, d) for k in ks], config)
    fit = fit_power_law(ks, [r["median_radius"] for r in rows])
    fig = new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    plot_sweep(ax, ks, rows, fit, "number of clusters k", r"$\sqrt{d/k}$ (C3.averaging_radius), slope -1/2")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_title(f"Binary net, d=1e5, n=max(500, 50k), {n_test} test points per k")
    score_panel(ax2, ks, rows, "number of clusters k")
    ax2.set_xticks(ks, [str(k) for k in ks])
    ax2.xaxis.set_minor_locator(NullLocator())
    fig.suptitle(r"The averaging radius shrinks like $1/\sqrt{k}$")
    ratios = [r["median_radius"] / r["predicted"] for r in rows]
    data = {"seed": ctx.seed, "d": d, "m": m, "steps": steps, "n_per_cluster": per_cluster, "test_points": n_test,
            "points": rows, "slope": fit["slope"], "slope_ci": fit["ci"], "slope_stderr": fit["stderr"],
            "intercept": fit["intercept"], "predicted_slope": -0.5, "median_over_sqrt_d_over_k": ratios}
    caption = (f"Median exact radius of {n_test} test points of a binary net trained at each k (d=1e5, "
               f"n = max(500, 50k), |J+| = k/2, m={m}, {steps} steps, eta = 3.072k/d, init {INIT_D:g}/d, seeds from "
               f"SeedSequence([{ctx.seed}, 6, i]), reduced engine; k = {', '.join(map(str, ks))}). Fitted log-log "
               f"slope {fit_text(fit)} against -1/2; median / sqrt(d/k) between {fmt(min(ratios))} and "
               f"{fmt(max(ratios))}; averaging score at least {fmt(min(r['averaging_score'] for r in rows))}.")
    return fig, caption, data

RADIUS_VS_D = Figure("radius_vs_d", "Averaging radius vs dimension d (slope 1/2)", _radius_vs_d)
RADIUS_VS_K = Figure("radius_vs_k", "Averaging radius vs number of clusters k (slope -1/2)", _radius_vs_k)
