r"""C5.readouts: the decoupled multi-class net's radius depends on the readout.

The decoupled net (docs/science.md §2, C5) has :math:`w_j = \alpha\mu_j` (no bias, ``h = 1``; ``h``
identical neurons give the same outputs). With the ``argmax`` readout a point of cluster ``s`` flips
when some opposite output reaches its own: the bisector of :math:`\mu_s` and :math:`\mu_{j'}` is
:math:`\sqrt{d/2}` away (optimal, C4). With the ``sum`` readout :math:`F = \sum_{J_+} f_j -
\sum_{J_-} f_j` the attacker raises all :math:`K = |J_{-y}|` opposite features at once, the
thresholded net of C4 at :math:`\tau = 0`: :math:`\sqrt{d/(1+K)}`, barely more than averaging.
At a noisy point :math:`\mu_s + \xi` the distance to each bisector is :math:`\sqrt{d/2} + Z_{j'}`
with correlated standard normals, so the argmax radius's median lies below :math:`\sqrt{d/2}` by the
median of a minimum of :math:`K` of them.

Evidence: exact radii of cluster-supervised nets trained at the paper's setting, both readouts;
the robust-accuracy figure.
"""


import numpy as np
import sympy as sp

from featavg.claims.c4_threshold_net import COST_RAISE, L_, kkt_raise, kkt_raise_general  # noqa: F401
from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term
from featavg.theory import Claim, Step, is_zero, kkt_min_norm, lambdify_prediction, notation
from featavg.theory._claim import Inner, Norm, SumOver, Text
from featavg.theory._common import (K, Phi, d, evaluate_sums, factor_sums, numeric, p, phi, ratio_as_written,
                                    sqrt_as_written, sums_equal, tau)

ID = "C5.readouts"
ORDER = (5, 1)


def _is_one_minus_expectation(stated, integrand, var):
    """True iff ``stated`` is ``1 - Integral(integrand, (var, -oo, oo))``: every integral in it has
    that integrand and range (compared, not evaluated), and with the integral as a symbol ``X`` it
    is ``1 - X``."""
    X = sp.Dummy("X")
    integrals = stated.atoms(sp.Integral)
    if not integrals:
        return False
    for itg in integrals:
        if itg.limits != ((var, -sp.oo, sp.oo),) or not is_zero(itg.function - integrand):
            return False
    return is_zero(stated.xreplace({itg: X for itg in integrals}) - (1 - X))


def derive():
    """The claim: argmax -> sqrt(d/2) (minus a noise correction at noisy points), sum -> sqrt(d/(1+K))."""
    r1, r2 = sp.symbols("r_1 r_2", real=True)
    ARGMAX = sp.sqrt(d / 2)
    SUM = COST_RAISE.subs({tau: 0, L_: K})
    shown_argmax, shown_sum = sqrt_as_written(d / 2), sqrt_as_written(d / (1 + K))

    def kkt_argmax(st):
        # coordinates along e_s, e_{j'}: f_{j'} = f_s  <=>  r_2 = sqrt(d) + r_1
        sol, cost2, lam = kkt_min_norm([r1, r2], r2 - sp.sqrt(d) - r1)
        return is_zero(cost2 - st.rhs ** 2) and bool(sp.simplify(sp.sqrt(d) + sol[r1]).is_positive)

    def kkt_sum(st):
        # the threshold net's raise-L KKT (every L, by symmetry) at tau = 0; c_L decreases in L, so L = K
        sol, cost2, symmetric, _ = kkt_raise_general()
        decreasing = bool(sp.simplify(sp.diff(COST_RAISE.subs(tau, 0), L_)).is_negative)
        return symmetric and decreasing and is_zero(cost2.subs(tau, 0).subs(L_, K) - st.rhs ** 2)

    # noisy point mu_s + xi: the distance to each bisector {f_j' = f_s} is linear in xi,
    # sqrt(d/2) + Z_j', Z_j' = (A - B_j')/sqrt 2 with A = <mu_s, xi>/sqrt d, B_j' = <mu_j', xi>/sqrt d
    # i.i.d. N(0, 1); the radius is the minimum over the K opposite clusters, whose CDF is
    # P(min Z <= t) = 1 - E_A[Phi(A - sqrt2 t)^K]
    a_, t_, A_, B_ = sp.symbols("a t A B", real=True)
    j = sp.Symbol("j", positive=True, integer=True)
    cdf_min = 1 - sp.Integral(phi(a_) * Phi(a_ - sp.sqrt(2) * t_) ** K, (a_, -sp.oo, sp.oo))
    f_cdf = sp.lambdify([a_, t_, K], numeric(phi(a_) * Phi(a_ - sp.sqrt(2) * t_) ** K), modules=["numpy", "scipy"])

    def argmax_noise_median(K):
        """Median of min_{j'} Z_j' over the K = |J_-y| opposite clusters (< 0 for K >= 2; 0 for K = 1)."""
        from scipy import integrate, optimize

        cdf = lambda t: 1 - integrate.quad(lambda a: f_cdf(a, t, K), -np.inf, np.inf, epsabs=1e-12)[0]  # noqa: E731
        return float(optimize.brentq(lambda t: cdf(t) - 0.5, -10.0, 10.0, xtol=1e-12))

    def radius_argmax_noisy_median(d, K):
        """Median radius of the decoupled net at mu_s + xi, argmax readout: sqrt(d/2) + median(min_j' Z_j')."""
        return float(np.sqrt(d / 2)) + argmax_noise_median(int(K))

    def noisy_cdf(st):
        # (1) the distance of mu_s + xi to {<mu_s - mu_j', x> = 0} is (d + sqrt(d)(A - B))/sqrt(2d)
        distance = is_zero((d + sp.sqrt(d) * (A_ - B_)) / sp.sqrt(2 * d) - (ARGMAX + (A_ - B_) / sp.sqrt(2)))
        # (2) A, B_j' are <e, xi> for orthonormal e: independent standard normals; given A, the K
        # events B_j' < A - sqrt2 t are independent with probability Phi(A - sqrt2 t) each
        given_A = sp.Product(Phi(A_ - sp.sqrt(2) * t_), (j, 1, K)).doit()
        return distance and _is_one_minus_expectation(st.rhs, phi(a_) * given_A.subs(A_, a_), a_)

    def median_sign(st):
        # P(min Z <= 0) = 1 - int phi Phi^K = 1 - [Phi^{K+1}/(K+1)]_{-oo}^{oo} = K/(K+1) >= 1/2
        antideriv = Phi(a_) ** (K + 1) / (K + 1)
        ok = is_zero(sp.diff(antideriv, a_) - phi(a_) * Phi(a_) ** K)
        value = 1 - (antideriv.subs(a_, sp.oo) - antideriv.subs(a_, -sp.oo))
        return ok and is_zero(value - st.rhs) and bool(sp.simplify(value - sp.Rational(1, 2)).subs(K, K + 1)
                                                        .is_nonnegative)

    r_argmax, r_sum = sp.Symbol("r_argmax"), sp.Symbol("r_sum")
    mu_s, mu_jp, xi = sp.Symbol("mu_s"), sp.Symbol("mu_j'"), sp.Symbol("xi")
    f_s, f_jp = sp.Symbol("f_s"), sp.Symbol("f_j'")
    Zmin = sp.Symbol("Z_min")
    P = notation("P")
    steps = (
        Step(Text("argmax readout: KKT to the bisector ", sp.Eq(f_jp, f_s, evaluate=False), " of ", mu_s, " and ",
                  mu_jp, " (in their span) gives ", shown_argmax, "; the own output stays active"),
             sp.Eq(r_argmax, shown_argmax), kkt_argmax),
        Step(Text("sum readout: the thresholded net of C4 at ", sp.Eq(tau, 0, evaluate=False),
                  "; its KKT for every ", L_, " (symmetry) and the decrease in ", L_, " give ", shown_sum),
             sp.Eq(r_sum, SUM), kkt_sum),
        Step(Text("the argmax readout is ", sqrt_as_written((1 + K) / 2), " times more robust"),
             sp.Eq(ratio_as_written(shown_argmax, shown_sum), sqrt_as_written((1 + K) / 2), evaluate=False),
             lambda st: is_zero(ARGMAX / SUM - st.rhs)),
        Step(Text("noisy point ", mu_s + xi, ": the distance to each bisector is ", shown_argmax + sp.Symbol("Z_j'"),
                  " with ", sp.Eq(sp.Symbol("Z_j'"), (A_ - sp.Symbol("B_j'")) / sp.sqrt(2), evaluate=False), ", ",
                  sp.Eq(A_, Inner(mu_s, xi) / sp.sqrt(d), evaluate=False), ", ",
                  sp.Eq(sp.Symbol("B_j'"), Inner(mu_jp, xi) / sp.sqrt(d), evaluate=False),
                  " independent standard normals; given ", A_, " the ", K, " opposite clusters are independent, so the"
                  " minimum ", Zmin, " has the distribution"),
             sp.Eq(P(sp.Le(Zmin, t_, evaluate=False)), cdf_min, evaluate=False), noisy_cdf),
        Step(Text("hence ", sp.Eq(P(sp.Le(Zmin, 0, evaluate=False)), K / (K + 1), evaluate=False), ", at least ",
                  sp.Rational(1, 2), ": the noise lowers the median argmax radius below ", shown_argmax,
                  " for every ", sp.Ge(K, 2, evaluate=False), " and leaves it at ", sp.Eq(K, 1, evaluate=False)),
             sp.Eq(P(sp.Le(Zmin, 0, evaluate=False)), K / (K + 1), evaluate=False), median_sign),
    )
    preds = {"radius_argmax": lambdify_prediction([d], ARGMAX, "sqrt(d/2)"),
             "argmax_noise_median": argmax_noise_median,
             "radius_argmax_noisy_median": radius_argmax_noisy_median,
             "radius_sum": lambdify_prediction([d, K], SUM, "sqrt(d/(1+K)), K = |J_{-y}|")}
    trained_steps, trained_preds = trained_derivation()  # the trained net (issue 14), below
    steps = steps + trained_steps
    preds.update(trained_preds)
    alpha, mu_j, w_j = sp.Symbol("alpha"), sp.Symbol("mu_j"), sp.Symbol("w_j")
    return Claim(
        id=ID, title=Text("Decoupled multi-class net: argmax readout ", shown_argmax, ", sum readout ", shown_sum),
        statement=sp.Eq(sp.Tuple(r_argmax, r_sum), sp.Tuple(ARGMAX, SUM)),
        assumptions=Text(sp.Eq(w_j, alpha * mu_j, evaluate=False), ", no bias, ", sp.Eq(sp.Symbol("h"), 1,
                                                                                     evaluate=False),
                         " (", sp.Symbol("h"), " identical neurons give the same outputs); ",
                         sp.Eq(K, sp.Abs(sp.Symbol("J_-y")), evaluate=False), "."),
        regime="noise-free point (the two noisy-point steps: a noisy point); idealised decoupled weights (the "
               "trained-net steps: any Gram matrix and offsets)",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

# -- the trained net (issue 14): derivation steps and predictions appended to derive() -------------

def _relu(x):
    return sp.Max(0, x)


def _for_every_real(fact):
    """True iff SymPy shows ``fact(x) >= 0`` for every real ``x``: at ``x = a`` and ``x = -a`` with
    ``a >= 0`` (the two signs cover the real line)."""
    a = sp.Dummy("a", nonnegative=True)
    return all(bool(sp.simplify(fact(s * a)).is_nonnegative) for s in (1, -1))


def _relu_facts():
    r"""The facts about :math:`\mathrm{ReLU}(x) = \max(0, x)` the bounds use, each for every real ``x``
    (a sign case split): it is nonnegative, at least ``x``, nondecreasing
    (:math:`\mathrm{ReLU}(x + b) \ge \mathrm{ReLU}(x)` for :math:`b \ge 0`), and ``x`` times the
    indicator of ``x > 0`` (so a sum of ReLUs is the sum over its positive terms)."""
    b = sp.Dummy("b", nonnegative=True)
    a = sp.Dummy("a", positive=True)
    indicator = is_zero(_relu(a) - a) and is_zero(_relu(-a)) and is_zero(_relu(sp.S.Zero))
    return (_for_every_real(_relu) and _for_every_real(lambda x: _relu(x) - x)
            and _for_every_real(lambda x: _relu(x + b) - _relu(x)) and indicator)


def _holds_for_every_slack(rel, var, value):
    """True iff the relation ``rel`` holds when ``var = value - s`` for every ``s >= 0`` (a proven
    ``var <= value``); a reversed relation evaluates to False."""
    s = sp.Dummy("s", nonnegative=True)
    out = rel.subs(var, value - s)
    return out is sp.true


def trained_derivation():
    r"""Steps and predictions for the trained multi-class net (appended to :func:`derive`).

    A trained net is decoupled only approximately: its neurons have unequal norms, slightly
    negative off-feature coefficients (which make the other outputs' pre-activations at
    :math:`\mu_s` negative: thresholds, as in C4) and negative cross-cosines, and a finite-n noise
    part. With the Gram matrix ``G`` of the neurons and the pre-activations ``z`` at a point, the
    flip set of each attack family (``sum``: raise a set ``A`` of opposite outputs,
    ``e = 1_s - 1_A``; ``argmax``: the bisector with one opposite output, ``e = 1_s - 1_{j'}``;
    both: switch the own output off, ``e = 1_s``) contains the half-space ``e.z <= 0``, and the
    minimal perturbation reaching it costs ``e.z/sqrt(e^T G e)`` (KKT, for any number of neurons
    and any dimension). For orthonormal neurons of equal norm this is C4's
    ``(sqrt(d) + (L-1) tau)/sqrt(1+L)``; with equal cross-cosines ``-c`` the norm becomes
    ``sqrt(1 + L + 2Lc - L(L-1)c)``, and the bisectors' noise terms keep their correlation 1/2, so
    the argmax noise correction is the ideal one. The radius lies between the cheapest family's
    cost (every flip lies in some family's half-space: the ReLU facts, summed over the outputs)
    and that cost plus the step that switches the other active own outputs off (sum readout).
    """
    phi_, q_ = sp.symbols("phi q", positive=True)
    om, c_, D_, tau_ = sp.symbols("omega c D tau", positive=True)
    l_, lp = sp.symbols("l l'", integer=True, positive=True)
    COST = phi_ / sp.sqrt(q_)
    NORM2_SYM = 1 + L_ + 2 * L_ * c_ - L_ * (L_ - 1) * c_     # e^T G e / omega^2, e = 1_s - 1_A, |A| = L
    SUM_SYM = (D_ + L_ * tau_) / sp.sqrt(NORM2_SYM)
    ARGMAX_SYM = (D_ + tau_) / sp.sqrt(2 * (1 + c_))
    # notation of the statements: a family's direction e (over the outputs), pre-activations z, Gram G
    e_v, z_v, G_v, W_v = sp.symbols("e z G W")
    EZ, EGE = Inner(e_v, z_v), Inner(e_v, G_v * e_v)
    M_, D_in = sp.symbols("M D_in", positive=True, integer=True)   # neurons, input dimension (symbolic)
    i_, j_ = sp.symbols("i j", positive=True, integer=True)

    def family_cost():
        r"""Minimise :math:`\sum_i \rho_i^2` s.t. :math:`\varphi + \sum_i g_i\rho_i = 0` over ``D_in``
        coordinates (symbolic): stationarity gives :math:`\rho_j = -\lambda g_j/2` for every ``j``, so
        the cost is :math:`\varphi/\sqrt{\sum_i g_i^2}`; and with ``g = W^T e``,
        :math:`\sum_i g_i^2 = g^T g = e^T W W^T e` (matrix symbols of any shape). Returns
        (cost, both identities hold)."""
        g, rho = sp.IndexedBase("g", real=True), sp.IndexedBase("rho", real=True)
        lam, Q = sp.Symbol("lambda", real=True), sp.Symbol("Q", positive=True)
        constraint = phi_ + sp.Sum(g[i_] * rho[i_], (i_, 1, D_in))
        lagrangian = sp.Sum(rho[i_] ** 2, (i_, 1, D_in)) + lam * constraint
        stationary = evaluate_sums(sp.diff(lagrangian, rho[j_]), [(j_, 1, D_in)])
        (rho_j,) = sp.solve(stationary, rho[j_])
        ok = is_zero(rho_j + lam * g[j_] / 2)
        sumsq = sp.Sum(g[i_] ** 2, (i_, 1, D_in))
        at_rho = lambda ex: ex.replace(lambda e: isinstance(e, sp.Indexed) and e.base == rho,  # noqa: E731
                                       lambda e: rho_j.subs(j_, e.indices[0]))
        on = factor_sums(at_rho(constraint)).subs(sumsq, Q)
        (lam_val,) = sp.solve(on, lam)
        cost2 = factor_sums(at_rho(sp.Sum(rho[i_] ** 2, (i_, 1, D_in)))).subs(sumsq, Q).subs(lam, lam_val)
        # the matrix identities, for any M x D_in weights: e.z moves by g.rho, and g^T g = e^T G e
        W, e, z, r = (sp.MatrixSymbol("W", M_, D_in), sp.MatrixSymbol("e", M_, 1), sp.MatrixSymbol("z", M_, 1),
                      sp.MatrixSymbol("rho", D_in, 1))
        gm = W.T * e
        moves = (e.T * (z + W * r) - (e.T * z + gm.T * r)).doit().expand() == sp.ZeroMatrix(1, 1)
        gram = (gm.T * gm - e.T * (W * W.T) * e).doit() == sp.ZeroMatrix(1, 1)
        return sp.sqrt(cost2), ok and moves and gram, Q

    def kkt_gram(st):
        cost, ok, Q = family_cost()
        return ok and is_zero(st.rhs.subs({EZ: phi_, EGE: Q}) - cost)

    def orthonormal_is_c4(st):
        # G = omega^2 I, z_s = omega (sqrt(d) - tau), z_l = -omega tau on |A| = L: e.z and e^T G e as sums
        phi_val = om * (sp.sqrt(d) - tau) - sp.Sum(-om * tau, (l_, 1, L_)).doit()
        q_val = om ** 2 * (1 + sp.Sum(1, (l_, 1, L_)).doit())
        derived = COST.subs({phi_: phi_val, q_: q_val})
        return is_zero(st.lhs - derived) and is_zero(derived - st.rhs)

    def eGe_equal_cosines():
        # e^T G e = G_ss + sum_A G_ll - 2 sum_A G_sl + sum_{l != l'} G_ll', G_ii = omega^2, G_ij = -c omega^2
        return (om ** 2 + sp.Sum(om ** 2, (l_, 1, L_)) - 2 * sp.Sum(-c_ * om ** 2, (l_, 1, L_))
                + sp.Sum(sp.Sum(-c_ * om ** 2, (lp, 1, L_ - 1)), (l_, 1, L_))).doit()

    def equal_cross_cosines(st):
        # z_s = omega D, z_l = -omega tau on A: e.z = omega (D + L tau); the cost from the Gram KKT
        phi_val = om * D_ - sp.Sum(-om * tau_, (l_, 1, L_)).doit()
        derived = COST.subs({phi_: phi_val, q_: eGe_equal_cosines()})
        return is_zero(derived - st.rhs) and is_zero(eGe_equal_cosines() - om ** 2 * NORM2_SYM) and \
            is_zero(NORM2_SYM.subs(c_, 0) - (1 + L_))

    def bisector_correlation(st):
        # e_j' = 1_s - 1_j', e_j'' = 1_s - 1_j'': e'^T G e'' = omega^2 (1 + c), e^T G e = 2 omega^2 (1 + c);
        # only the outputs s, j', j'' enter, so this holds for every K
        G = sp.Matrix(3, 3, lambda u, v: om ** 2 if u == v else -c_ * om ** 2)
        e1, e2 = sp.Matrix([1, -1, 0]), sp.Matrix([1, 0, -1])
        z = sp.Matrix([om * D_, -om * tau_, -om * tau_])
        cost = COST.subs({phi_: (e1.T * z)[0], q_: (e1.T * G * e1)[0]})
        corr = (e1.T * G * e2)[0] / (e1.T * G * e1)[0]
        ok = True
        for conj in st.args:
            ok &= isinstance(conj, sp.Equality) and is_zero(conj.rhs - (cost if conj.lhs == r_arg else corr))
        return ok and len(st.args) == 2

    # the flip conditions, summed over the outputs (own j = 1..p with s = 1; opposite l = 1..K)
    zo, zx = sp.IndexedBase("z", real=True), sp.IndexedBase("y", real=True)
    yF, x_ = notation("y F"), sp.Symbol("x")
    min_e = notation("min_e")(EZ)

    def lower_bound(st):
        if not _relu_facts():
            return False
        ranges = [(j_, 1, p), (l_, 1, K)]
        own, opp = sp.Sum(_relu(zo[j_]), (j_, 1, p)), sp.Sum(_relu(zx[l_]), (l_, 1, K))
        # sum readout: own - z_s is a sum of nonnegative terms (ReLU(z_j) - [j = s] z_j), the opposite
        # sum is e_A*.z over A* = {l: z_l > 0} (the indicator fact), so e*.z = z_s - opp <= own - opp = yF
        gap = sp.Sum(_relu(zo[j_]) - sp.KroneckerDelta(j_, 1) * zo[j_], (j_, 1, p))
        termwise = _for_every_real(_relu) and _for_every_real(lambda x: _relu(x) - x)
        split = sums_equal(own - zo[1], gap, ranges)
        e_star_z = zo[1] - opp
        sum_readout = termwise and split and is_zero((e_star_z - (own - opp)) + gap)
        # argmax readout: with M = max ReLU of the own outputs (>= ReLU(z_s) >= z_s) and the opposite
        # maximiser l* at value ReLU(z_l*): if it is positive, e = 1_s - 1_l* has e.z = z_s - z_l* =
        # yF - (M - z_s); else e = 1_s has e.z = z_s = yF - (M - z_s). Both are yF minus a nonnegative gap.
        Mown, zl = sp.Symbol("M"), sp.Symbol("z_l*", positive=True)
        gap_max = sp.Symbol("g", nonnegative=True)      # M - z_s >= 0
        zs = Mown - gap_max
        argmax = is_zero((zs - zl) - ((Mown - _relu(zl)) - gap_max)) and is_zero(zs - ((Mown - _relu(sp.S.Zero))
                                                                                    - gap_max))
        # so min_e e.z <= yF(x); given the flip yF(x) <= 0, min_e e.z <= 0
        f = sp.Dummy("f", nonnegative=True)
        hyp, concl = st.args
        return bool(sum_readout and argmax and hyp.subs(yF(x_), -f) is sp.true
                    and _holds_for_every_slack(concl.subs(yF(x_), -f), min_e, -f))

    nB, gnorm, cA, t_ = (sp.Symbol("|B|", nonnegative=True, integer=True), sp.Symbol("||g||", positive=True),
                         sp.Symbol("c_A", positive=True), sp.Symbol("t", nonnegative=True))
    zB = sp.IndexedBase("z", real=True)
    EXTRA = sp.Sum(_relu(zB[l_]), (l_, 1, nB)) / gnorm
    r_ = sp.Symbol("r")

    def upper_bound(st):
        if not _relu_facts():
            return False
        # along u = -g/||g|| from the attack point x* (e.z* = 0): z(t) = z* - t a, a = G e/||g||, so over
        # the family's outputs (own s, raised l = 1..L) e.z(t) = e.z* - t (a_s - sum_A a_l) = -t e^T G e/||g||
        a, zs = sp.IndexedBase("a", real=True), sp.IndexedBase("zeta", real=True)
        ez_t = (zs[0] - t_ * a[0]) - sp.Sum(zs[l_] - t_ * a[l_], (l_, 1, L_))
        moved = sums_equal(ez_t, (zs[0] - sp.Sum(zs[l_], (l_, 1, L_))) - t_ * (a[0] - sp.Sum(a[l_], (l_, 1, L_))),
                           [(l_, 1, L_)])
        Q = sp.Symbol("Q", positive=True)      # e^T G e = ||g||^2 (the Gram identity of the first step)
        ez_line = 0 - t_ * Q / gnorm
        # F(t) = ReLU(z_s(t)) + sum_other ReLU(z_j(t)) - sum_opp ReLU(z_l(t)), with z_s(t) >= 0 (so ReLU(z_s(t)) =
        # z_s(t)); the other own outputs do not rise (a_j >= 0, ReLU nondecreasing) and only B is active at x*, so
        # their sum is ||g|| EXTRA - gap_o; ReLU >= z on A and >= 0 elsewhere, so the opposite sum is
        # sum_A z_l(t) + gap_x; gap_o, gap_x >= 0 by the ReLU facts. Hence F(t) = e.z(t) + ||g|| EXTRA - gaps.
        gap_o, gap_x = sp.symbols("gap_o gap_x", nonnegative=True)
        zst, zA = sp.symbols("z_s(t) zA(t)", real=True)          # z_s(t) and sum_A z_l(t)
        F_t = zst + (gnorm * EXTRA - gap_o) - (zA + gap_x)
        excess = sp.expand(F_t - ((zst - zA) + gnorm * EXTRA))   # F(t) - (e.z(t) + ||g|| EXTRA)
        bound = ez_line.subs(Q, gnorm ** 2) + gnorm * EXTRA      # e.z(t) + ||g|| EXTRA along the line
        (t_flip,) = sp.solve(sp.Eq(bound, 0), t_)
        # at t_flip, F <= 0: the point flips (a tie counts), after the distance c_A + t_flip
        return moved and bool(excess.is_nonpositive) and _holds_for_every_slack(st, r_, cA + t_flip)

    Pzs = sp.Symbol("z_s")
    r_arg, r_sum_ = sp.Symbol("r_argmax"), sp.Symbol("r_sum")
    steps = (
        Step(Text("trained net: an attack family's half-space ", sp.Le(EZ, 0, evaluate=False), " is reached at cost ",
                  ratio_as_written(EZ, sp.sqrt(EGE)), ", ", sp.Eq(G_v, W_v * sp.Symbol("W^T"), evaluate=False),
                  " (KKT with a Gram matrix, for any number of neurons and any dimension)"),
             sp.Eq(sp.Symbol("c_A"), EZ / sp.sqrt(EGE), evaluate=False), kkt_gram),
        Step(Text("orthonormal neurons of equal norm: the cost is C4's ", COST_RAISE),
             sp.Eq(COST.subs({phi_: om * (sp.sqrt(d) + (L_ - 1) * tau), q_: om ** 2 * (1 + L_)}), COST_RAISE,
                   evaluate=False), orthonormal_is_c4),
        Step(Text("equal cross-cosines ", -c_, ": ", sp.Eq(Norm(sp.Symbol("w_s") - SumOver(sp.Symbol("w_l"), l_,
                                                                                          sp.Symbol("A"))) ** 2,
                                                          om ** 2 * NORM2_SYM, evaluate=False),
                  ", so the sum readout's cost at ", sp.Symbol("mu_s"), " is ", SUM_SYM, " (", D_, ", ", tau_,
                  ": own and opposite offsets over ", om, ")"),
             sp.Eq(r_sum_, SUM_SYM, evaluate=False), equal_cross_cosines),
        Step(Text("argmax, equal cross-cosines: bisector cost ", ARGMAX_SYM, "; the bisectors' noise terms keep "
                  "correlation ", sp.Rational(1, 2), ", so the noise correction is the ideal median of the minimum of ",
                  sp.Symbol("Z_j'")),
             sp.And(sp.Eq(r_arg, ARGMAX_SYM, evaluate=False),
                    sp.Eq(notation("corr")(sp.Symbol("Z_j'"), sp.Symbol("Z_j''")), sp.Rational(1, 2), evaluate=False)),
             bisector_correlation),
        Step(Text("lower bound: a flip needs ", sp.Le(EZ, 0, evaluate=False), " for some family (sum readout: the own "
                  "ReLUs sum to at least ", Pzs, ", the opposite ones to the sum over their positive terms; argmax: "
                  "ReLU is nondecreasing), for every ", p, " and ", K),
             sp.Implies(sp.Le(yF(x_), 0, evaluate=False), sp.Le(min_e, 0, evaluate=False)), lower_bound),
        Step(Text("upper bound (sum readout): moving on by ", EXTRA, " flips the point when the other own outputs "
                  "do not rise along the attack and ", sp.Ge(Pzs, 0, evaluate=False), " stays"),
             sp.Le(r_, cA + EXTRA, evaluate=False), upper_bound),
    )
    preds = {"attack_cost": lambdify_prediction([phi_, q_], COST, "e.z/sqrt(e^T G e): cost of an attack family"),
             "radius_sum_symmetric": lambdify_prediction([D_, tau_, c_, L_], SUM_SYM,
                                                         "(D + L tau)/sqrt(1 + L + 2Lc - L(L-1)c)"),
             "radius_argmax_symmetric": lambdify_prediction([D_, tau_, c_], ARGMAX_SYM, "(D + tau)/sqrt(2(1 + c))")}
    return steps, preds


def sizes(ctx):
    """(seeds, test points per seed) of the trained-net measurements."""
    return (6, 40) if ctx.quick else (12, 50)


#: Monte Carlo draws of the radius model per cluster and seed (quick: half; the MC error is a band term)
DRAWS = 4000


def draws(ctx):
    """Monte Carlo draws per cluster and seed."""
    return DRAWS // 2 if ctx.quick else DRAWS


def trained_multiclass_model(ctx, run, readout, salt):
    """The radius law of one trained multi-class run from its measured coefficients, by Monte Carlo.

    Returns a dict: ``median``, ``density``, ``mc_se``, ``upper`` (median of the rigorous upper
    bounds), ``noise_free`` (median over clusters of the noise-free radius), ``share`` (noise share
    of the binding families), ``cv2`` (bound on the within-cluster spread of the points' GD
    weights), ``offsets`` (mean own and opposite offsets in distance units, mean cross-cosine).
    """
    from featavg.claims._trained import MultiClassModel, mc_summary, model_gram, require

    net, cfg, F, labels = run.network, run.config, run.features, run.cluster_labels
    require(net.kind == "multiclass" and net.h == 1, f"the trained-net model needs h = 1 (got h = {getattr(net, 'h', None)})")
    dd = cfg.d
    Lam = net.W @ F.T / dd
    Z0 = (F @ net.W.T + net.b).T  # (neuron j, centre t)
    diag = np.eye(cfg.k, dtype=bool)
    require(np.all(Z0[diag] > 0) and np.all(Z0[~diag] < 0),
            f"seed {cfg.seed}: the multi-class net is not decoupled at the cluster centres (C7.ce_margin_ode's regime: "
            f"neuron j active on cluster j only): min own {Z0[diag].min():.3g}, max other {Z0[~diag].max():.3g}")
    nt = np.bincount(run.train.clusters, minlength=cfg.k).astype(float)
    c3 = {name: ctx.prediction("C3.averaging_radius", name) for name in ("gram_term", "init_term")}
    model = MultiClassModel(Lam, net.b, nt, labels, dd, cfg.init_scale,
                            {**c3, "attack_cost": ctx.prediction(ID, "attack_cost")})
    low, up = model.draw(readout, draws(ctx), ctx.rng(salt))
    med, dens, mc_se, upper = mc_summary(low, up)
    # noise share of the noise-free binding family of each cluster
    Gf = model_gram(Lam, np.full(cfg.k, np.inf), dd, 0.0, c3["gram_term"], c3["init_term"])  # features' part only
    shares = []
    for s_ in range(cfg.k):
        E = model.families(s_, readout)
        q = np.einsum("fi,ij,fj->f", E, model.G, E)
        best = int(np.argmin(np.asarray(model.cost(E @ model.offsets(s_), q), float)))
        shares.append(1.0 - float(E[best] @ Gf @ E[best]) / float(q[best]))
    om = np.sqrt(np.diag(model.G))
    C = model.G / np.outer(om, om)
    return {"median": med, "density": dens, "mc_se": mc_se, "upper": upper,
            "noise_free": float(np.median(model.noise_free(readout))), "share": max(shares),
            "cv2": float(np.max(om ** 2)),
            "own_offset": float(np.mean(np.diag(Z0) / om)), "opposite_offset": float(np.mean((-Z0 / om[:, None])[~diag])),
            "cross_cosine": float(np.mean(C[~diag]))}


def _measure_readout(ctx, readout, salt):
    from featavg.claims._trained import pooled_median
    from featavg.evidence import quantile

    R, N = sizes(ctx)
    runs = ctx.paper_runs("cluster", R)
    cfg = runs[0].config
    models = [trained_multiclass_model(ctx, run, readout, salt + i) for i, run in enumerate(runs)]
    radii = [ctx.radii(run, readout, points=N) for run in runs]
    pooled = pooled_median(radii, [x["median"] for x in models], [x["density"] for x in models])
    z = quantile()
    rel = [z * np.sqrt(2.0 / cfg.d) + x["cv2"] for x in models]
    noise = max((x["median"] + abs(x["median"] - x["noise_free"])) * x["share"] * r / 2 for x, r in zip(models, rel))
    terms = (pooled["stat_term"],
             Term(f"Monte Carlo error of the predicted medians ({draws(ctx)} draws per cluster and seed), pooled over "
                  f"{R} seeds", z * float(np.sqrt(np.mean([x["mc_se"] ** 2 for x in models]) / R)), "stat"),
             Term("predicted noise share: its relative error z sqrt(2/d) (cross terms of the training noise) + CV^2 <= "
                  "max_j ||w_j||^2 (spread of the points' GD weights in a cluster), times (radius + noise correction) x "
                  "share/2", noise),
             Term("the families' radius is exact unless another own output binds at the attack point: median of the "
                  "rigorous upper bounds minus the prediction, max over seeds",
                  max(x["upper"] - x["median"] for x in models)))
    return runs, models, pooled, terms


def _measure_argmax(ctx):
    runs, models, pooled, terms = _measure_readout(ctx, "argmax", 5200)
    cfg = runs[0].config
    K_ = cfg.k - cfg.positive  # |J_-y| of the + class; balanced partition: the same for both classes
    noisy = float(ctx.prediction(ID, "radius_argmax_noisy_median")(cfg.d, K_))
    opt = float(ctx.prediction(ID, "radius_argmax")(cfg.d))
    band = Band(pooled["predicted"], terms)
    return Outcome(pooled["predicted"], pooled["measured"], band, interval=pooled["interval"],
                   seeds=[r.config.seed for r in runs], baseline=noisy,
                   rivals={"sqrt(d/2) with the noise correction's sign flipped": 2 * opt - noisy,
                           "sqrt(d/2) (no noise correction)": opt,
                           "the trained net's noise-free radius (no noise correction)":
                               float(np.mean([x["noise_free"] for x in models])),
                           "sqrt(d/(1+K)) (the sum readout's radius)": float(np.sqrt(cfg.d / (1 + K_)))},
                   details={"per_seed_median": pooled["per_seed_median"], "per_seed_predicted": pooled["per_seed_predicted"],
                            "points": pooled["points"], "interval_coverage": pooled["coverage"],
                            "ideal_noisy_median": noisy, "mean_cross_cosine": float(np.mean([x["cross_cosine"] for x in models]))},
                   config={"run": cfg.to_dict(), "readout": "argmax", "draws_per_cluster": draws(ctx)})


ARGMAX = Check(
    "C5.readouts.argmax", "argmax readout: median exact radius vs the bisector model with the noise correction",
    "cluster labels, paper setting (k=10, d=3072, n=1000, h=1, eta=1e-3, T=100, init 1e-5), reduced engine; exact "
    "radii (QP), 12 seeds x 50 points (quick 6 x 40). Prediction from measured properties of each trained net "
    "(feature coefficients: norms, off-feature offsets, cross-cosines; biases) with the predicted finite-n noise "
    "share, the noise correction (min over the K bisectors' correlated normals) by Monte Carlo; baseline "
    "sqrt(d/2) + the ideal noise correction from the sizes alone", _measure_argmax,
    rivals=(Rival("sqrt(d/2) with the noise correction's sign flipped", "the correction's sign flipped"),
            Rival("sqrt(d/2) (no noise correction)", "the noise-free radius"),
            Rival("the trained net's noise-free radius (no noise correction)",
                  "the measured-property prediction without its noise correction"),
            Rival("sqrt(d/(1+K)) (the sum readout's radius)", "the other readout's formula")),
    faults=("average", "closed_form"))


def _measure_sum(ctx):
    runs, models, pooled, terms = _measure_readout(ctx, "sum", 5100)
    cfg = runs[0].config
    K_ = cfg.k - cfg.positive
    radius_sum = ctx.prediction(ID, "radius_sum")
    base = float(radius_sum(cfg.d, K_))
    sym = ctx.prediction(ID, "radius_sum_symmetric")
    own = float(np.mean([x["own_offset"] for x in models]))
    tau_ = float(np.mean([x["opposite_offset"] for x in models]))
    cc = -float(np.mean([x["cross_cosine"] for x in models]))
    band = Band(pooled["predicted"], terms)
    return Outcome(pooled["predicted"], pooled["measured"], band, interval=pooled["interval"],
                   seeds=[r.config.seed for r in runs], baseline=base,
                   rivals={"sqrt(d/(1+K)) (no threshold correction)": base,
                           "sqrt(d/(K+2))": float(radius_sum(cfg.d, K_ + 1)),
                           "sqrt(d/K)": float(radius_sum(cfg.d, K_ - 1)),
                           "C4 formula with the measured offsets, cross-cosines dropped": float(sym(own, tau_, 0.0, K_)),
                           "sqrt(d/2) (the argmax readout's radius)": float(np.sqrt(cfg.d / 2))},
                   details={"per_seed_median": pooled["per_seed_median"], "per_seed_predicted": pooled["per_seed_predicted"],
                            "points": pooled["points"], "interval_coverage": pooled["coverage"],
                            "mean_own_offset_D": own, "mean_opposite_offset_tau": tau_, "mean_cross_cosine": -cc,
                            "symmetric_noise_free": float(sym(own, tau_, cc, K_)),
                            "noise_free": float(np.mean([x["noise_free"] for x in models]))},
                   config={"run": cfg.to_dict(), "readout": "sum", "draws_per_cluster": draws(ctx)})


SUM = Check(
    "C5.readouts.sum", "sum readout: median exact radius vs C4's threshold formula with the trained net's offsets",
    "cluster labels, paper setting, reduced engine; exact radii (QP), 12 seeds x 50 points (quick 6 x 40). Prediction "
    "from measured properties of each trained net: the off-feature pre-activations at mu_s act as C4 thresholds tau, "
    "with the neurons' norms and cross-cosines (Gram from the coefficients and the predicted noise share); min over "
    "the raise-A families and the noise correction by Monte Carlo; baseline sqrt(d/(1+K)) from the sizes alone",
    _measure_sum,
    rivals=(Rival("sqrt(d/(1+K)) (no threshold correction)", "the idealised decoupled net's radius (tau = 0)"),
            Rival("sqrt(d/(K+2))", "a constant off by one in K"),
            Rival("sqrt(d/K)", "a constant off by one in K"),
            Rival("C4 formula with the measured offsets, cross-cosines dropped",
                  "the thresholds without the neurons' negative cross-cosines"),
            Rival("sqrt(d/2) (the argmax readout's radius)", "the other readout's formula")),
    faults=("closed_form",))


# ---- figure: robust accuracy of the trained nets ----------------------------------------------------

def _robust_accuracy(ctx):
    """Robust accuracy curves of the trained nets (both readouts) with the predicted radii and the optimum."""
    from featavg._figures import BLUE, GREEN, ORANGE, new_figure, paper_text
    from featavg._output import fmt
    from featavg._predictions import predicted_radii
    from featavg.simulate import robust_accuracy

    R, N = sizes(ctx)
    bins, clus = ctx.paper_runs("binary", R), ctx.paper_runs("cluster", R)
    b = bins[0]
    d, k = b.config.d, b.config.k
    # the points and radii of the C3/C5 checks, pooled over their seeds (cached in the context)
    radii = {
        "binary (averaging)": np.concatenate([ctx.radii(r, points=N) for r in bins]),
        "cluster, argmax readout": np.concatenate([ctx.radii(r, "argmax", points=N) for r in clus]),
        "cluster, sum readout": np.concatenate([ctx.radii(r, "sum", points=N) for r in clus]),
    }
    n = radii["binary (averaging)"].size
    pred = predicted_radii(d, k, b.config.positive)  # C3.averaging_radius, C5.readouts (sum, argmax)
    K = int(np.sum(b.cluster_labels < 0))  # |J_{-y}| of the balanced partition
    grid = np.linspace(0.0, 1.25 * pred["sqrt_d_over_2"], 501)
    pair = np.asarray(ctx.prediction("C4.optimal_bound", "pair_robust_accuracy")(d, grid), float)
    mixture = ctx.prediction("C4.optimal_bound", "mixture_robust_accuracy")
    grid_mix = np.linspace(0.0, 1.25 * pred["sqrt_d_over_2"], 61)
    mix = np.array([float(mixture(d, float(t), K)) for t in grid_mix])

    fig = new_figure((8.0, 5.4))
    ax = fig.subplots()
    colours = {"binary (averaging)": BLUE, "cluster, argmax readout": GREEN, "cluster, sum readout": ORANGE}
    for name, r in radii.items():
        ax.step(grid, robust_accuracy(r, grid), where="post", color=colours[name], lw=2,
                label=f"{name}: median {np.median(r):.1f}")
    ax.plot(grid, pair, color="black", lw=1.5, label=r"optimum $\Phi(\sqrt{d/2}-\delta)$ (C4)")
    ax.plot(grid_mix, mix, color="black", lw=1, ls=":", label=f"nearest-mean classifier, mixture (C4, K={K})")
    lines = ((pred["sqrt_d_over_k"], r"$\sqrt{d/k}$", BLUE), (pred["sqrt_d_over_1_plus_K"],
             r"$\sqrt{d/(1+K)}$", ORANGE), (pred["sqrt_d_over_2"], r"$\sqrt{d/2}$", GREEN))
    for x, lab, col in lines:
        ax.axvline(x, color=col, ls="--", lw=1)
        ax.text(x + 0.3, 0.5, f"{lab} = {x:.1f}", color=col, ha="left", va="center", rotation=90, fontsize=8)
    ax.set_xlabel(r"perturbation radius $\delta$ ($\ell_2$)")
    ax.set_ylabel("robust accuracy (exact radii)")
    ax.set_ylim(-0.02, 1.1)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_title(f"Robust accuracy of the trained networks, {n} test points (k={k}, d={d})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8)

    med = {name: float(np.median(r)) for name, r in radii.items()}
    key = {"binary (averaging)": "binary", "cluster, argmax readout": "argmax", "cluster, sum readout": "sum"}
    ref = {"binary": pred["sqrt_d_over_k"], "argmax": pred["sqrt_d_over_2"], "sum": pred["sqrt_d_over_1_plus_K"]}
    ratios = {key[nm]: med[nm] / ref[key[nm]] for nm in med}
    at = {key[nm]: {lab: float(robust_accuracy(radii[nm], [x])[0]) for lab, x in
                    (("sqrt_d_over_k", pred["sqrt_d_over_k"]), ("sqrt_d_over_1_plus_K",
                     pred["sqrt_d_over_1_plus_K"]), ("sqrt_d_over_2", pred["sqrt_d_over_2"]))} for nm in med}
    data = {"seed": ctx.seed, "points": n, "d": d, "k": k, "predicted_radii": pred,
            "median_radius": {key[nm]: v for nm, v in med.items()}, "median_over_predicted": ratios,
            "robust_accuracy_at": at, "radii": {key[nm]: r for nm, r in radii.items()}}
    caption = (f"Robust accuracy from exact minimal L2 radii of {n} test points ({N} per seed, {R} seeds; {paper_text(b)}). Median "
               f"radius over its prediction: binary net {fmt(med['binary (averaging)'])} = "
               f"{fmt(ratios['binary'])} sqrt(d/k), multi-class net with argmax {fmt(med['cluster, argmax readout'])} = "
               f"{fmt(ratios['argmax'])} sqrt(d/2), with sum {fmt(med['cluster, sum readout'])} = "
               f"{fmt(ratios['sum'])} sqrt(d/(1+K)). Each curve should drop near its dashed line; only the "
               f"argmax readout approaches the optimum Phi(sqrt(d/2) - delta).")
    return fig, caption, data


ROBUST_ACCURACY = Figure("robust_accuracy",
                         "Robust accuracy vs perturbation radius: averaging, both readouts, the optimum",
                         _robust_accuracy, claims=(ID, "C3.averaging_radius", "C4.optimal_bound"))
