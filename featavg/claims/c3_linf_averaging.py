r"""C3.linf_averaging: the L-infinity radius of the averaging net, idealised and trained.

Notation as in C3.averaging_radius: :math:`p = |J_+|`, neurons :math:`w_\pm = \alpha_\pm\sum_{J_\pm}\mu_i`
with biases :math:`b_\pm`, :math:`v = w_+ - w_-`, and at :math:`\mu_j`, :math:`j \in J_+`:
:math:`z_+ = \alpha_+ d + b_+`, :math:`z_- = b_-`. The flip set :math:`\{f \le 0\} = \{z_+ \le 0\} \cup
\{z_+ \le z_-\}` is a union of two halfspaces whatever the norm. The L-infinity distance from ``x`` to
a halfspace :math:`\{\langle a, y\rangle + c \le 0\}` is :math:`(\langle a, x\rangle + c)/\|a\|_1`: the dual
norm of L-infinity is L1 (Hoelder; per coordinate :math:`\min_{|\rho_i|\le\varepsilon} a_i\rho_i =
-\varepsilon|a_i|`, the L-infinity analogue of C3's KKT: every coordinate moves by
:math:`\varepsilon`, against the sign of :math:`a_i`). So

.. math:: r_\infty(\mu_j) = \min\Big(\frac{z_+ - z_-}{\|w_+ - w_-\|_1}, \frac{z_+}{\|w_+\|_1}\Big).

*Coordinate-aligned features* (:math:`\mu_j = \sqrt d\,e_j`, ``Config(features="standard")``):
:math:`\|w_+ - w_-\|_1 = \sqrt d(\alpha_+ p + \alpha_-(k-p))`, :math:`\|w_+\|_1 = \alpha_+\sqrt d\,p`; the
balanced net has :math:`r_\infty = \sqrt d/k` (against :math:`\sqrt{d/k}` in L2: the averaged
direction is flat on ``k`` coordinates, where Hoelder's :math:`\|v\|_1 \le \sqrt k\|v\|_2` is tight).
At a noisy point :math:`\mu_j + \xi` the pre-activations shift by :math:`\nu_\pm = \langle w_\pm, \xi\rangle`
and the radius by the exact noise term :math:`\langle v, \xi\rangle/\|v\|_1`, of variance
:math:`\|v\|_2^2/\|v\|_1^2` (``1/k`` balanced).

*Haar features* (generic directions, the default): :math:`v = \|v\|_2 u` with ``u`` uniform on the
sphere, :math:`E\|u\|_1 = c_d = d\,B(1/2, d/2)/\pi \sim \sqrt{2d/\pi}`, so in expectation over the
rotation :math:`E[1/r_\infty] = c_d\|v\|_2/(z_+ - z_-)` (exact: ``1/r`` is linear in :math:`\|u\|_1`);
the balanced net's radius tends to the constant :math:`\sqrt{\pi/(2k)}`.

*Trained nets* (coordinate features). A trained neuron is its feature part plus a noise part
orthogonal to the features (C1.feature_averaging, noise share :math:`\varepsilon^2 \approx
\frac1p\sum_j 1/n_j`), which lives on the other :math:`D = d - k` coordinates: every direction
``u`` of the flip set splits with disjoint supports, :math:`\|u\|_1 = \|u_f\|_1 + \|u_n\|_1`
exactly. The law of the trained weights' noise parts is invariant under rotations of those ``D``
coordinates (the data's noise and the initialisation are isotropic and GD is equivariant), so the
direction of :math:`u_n` is uniform and :math:`E[\|u_n\|_1 \mid \|u_n\|_2] = c_D\|u_n\|_2`, with
relative spread :math:`\sqrt{E\|u\|_1^2/c_D^2 - 1}`, :math:`E\|u\|_1^2 = 1 + 2(D-1)/\pi`
(:math:`\approx 0.27/\sqrt D`). The trained-net prediction of each hyperplane ``H`` of the flip
set (the binary net's: one per subset of opposing neurons, :mod:`featavg.claims._linf`) is

.. math:: r_H = \frac{\ell_H(x)}{\|u_{H,f}\|_1 + c_{d-k}\|u_{H,n}\|_2},

the radius the minimum over ``H``. It uses measured properties of the trained net (the directions'
feature coefficients and noise L2 norms, and the test point's pre-activations ``ell``); from the
sizes alone (balanced, :math:`\varepsilon^2 = k/n`) it is :math:`\sqrt d/(k(1 + c_{d-k}/\sqrt n))`:
at the paper's ``d = 3072``, ``n = 1000`` the noise term (``c_D/sqrt(n) = 1.40``) is larger than
the feature term, and the trained radius is about :math:`0.42\sqrt d/k`.

Evidence: certified L-infinity radii (:mod:`featavg.simulate`'s LPs, solved in the input
coordinates, so explicit engine only) of idealised nets against the closed forms, of random
rotations against the Haar expectation, and of trained binary nets at the paper's setting against
the trained-net prediction.
"""

import functools
import math

import numpy as np
import sympy as sp

from featavg.evidence import EPS, Band, Check, Fault, Outcome, Rival, Term, mean_interval
from featavg.theory import Claim, Inner, Norm, ReLU, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import SumOver, Text
from featavg.theory._common import d, k, p

ID = "C3.linf_averaging"
ORDER = (3, 2)

alpha_p, alpha_m = sp.symbols("alpha_p alpha_m", positive=True)
b_p, b_m = sp.symbols("b_p b_m", real=True)
nu_p, nu_m = sp.symbols("nu_p nu_m", real=True)   # <w_+, xi>, <w_-, xi> at a noisy point mu_j + xi
D = sp.Symbol("D", positive=True)                 # dimension of a uniformly distributed direction
n_ = sp.Symbol("n", positive=True)
ell = sp.Symbol("ell", real=True)                 # value of a hyperplane's affine function at x
U_f = sp.Symbol("U_f", nonnegative=True)          # ||u_feat||_1 of its direction
U_n = sp.Symbol("U_n", nonnegative=True)          # ||u_noise||_2 of its direction

Z_P = alpha_p * d + b_p
Z_M = b_m
L1_V = sp.sqrt(d) * (alpha_p * p + alpha_m * (k - p))   # ||w_+ - w_-||_1, coordinate features
L1_P = alpha_p * sp.sqrt(d) * p                         # ||w_+||_1
L2_V = sp.sqrt(d * (alpha_p ** 2 * p + alpha_m ** 2 * (k - p)))  # ||w_+ - w_-||_2 (any orthonormal features)
HYPERPLANE = (Z_P - Z_M) / L1_V
SWITCH_OFF = Z_P / L1_P
RADIUS = sp.Min(HYPERPLANE, SWITCH_OFF)
HYPERPLANE_NOISY = (Z_P + nu_p - Z_M - nu_m) / L1_V
SWITCH_OFF_NOISY = (Z_P + nu_p) / L1_P
RADIUS_NOISY = sp.Max(0, sp.Min(HYPERPLANE_NOISY, SWITCH_OFF_NOISY))
NOISE_VARIANCE = sp.simplify(L2_V ** 2 / L1_V ** 2)      # Var of <v, xi>/||v||_1, xi ~ N(0, I)
BALANCED = {p: k / 2, alpha_m: alpha_p, b_p: 0, b_m: 0}

#: E||u||_1 for u uniform on the unit sphere of R^D (Beta form: evaluates without overflow)
C_D = D * sp.beta(sp.S.Half, D / 2) / sp.pi
#: E||u||_1^2
M2_D = 1 + 2 * (D - 1) / sp.pi
REL_SD_D = sp.sqrt(M2_D / C_D ** 2 - 1)
#: Haar features: E[1/r] over the rotation (hyperplane branch)
HAAR_INVERSE = C_D.subs(D, d) * L2_V / (Z_P - Z_M)
#: trained net, coordinate features: one hyperplane's radius with the noise L1 norm replaced by its
#: expectation given its L2 norm (D = d - k noise coordinates)
HYPERPLANE_TRAINED = ell / (U_f + C_D * U_n)
#: the same from the sizes alone: balanced, eps^2 = k/n in both groups (C1.feature_averaging)
SIZES = sp.sqrt(d) / (k * (1 + C_D.subs(D, d - k) / sp.sqrt(n_)))


@functools.lru_cache(maxsize=1)
def _gaussian_moments():
    """E|g| and E g^2 of a standard normal, E||g||_2 of a standard normal vector of R^D (chi)."""
    x, r = sp.Symbol("x", real=True), sp.Symbol("r", positive=True)
    dens = sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)
    e_abs = sp.integrate(sp.Abs(x) * dens, (x, -sp.oo, sp.oo))
    e_sq = sp.integrate(x ** 2 * dens, (x, -sp.oo, sp.oo))
    chi = r ** (D - 1) * sp.exp(-r ** 2 / 2) / (2 ** (D / 2 - 1) * sp.gamma(D / 2))
    total = sp.simplify(sp.integrate(chi, (r, 0, sp.oo)))
    e_norm = sp.simplify(sp.integrate(r * chi, (r, 0, sp.oo)))
    return e_abs, e_sq, total, e_norm


def derive():
    """The claim: Hoelder per coordinate, the two halfspaces' L1 distances, Haar and trained nets."""
    a, a_pos, eps = sp.Symbol("a", real=True), sp.Symbol("a_+", positive=True), sp.Symbol("epsilon", positive=True)
    A1 = sp.Symbol("A_1", positive=True)   # ||a||_1
    ell_pos = sp.Symbol("ell", positive=True)
    i_, kk, pp, dd = sp.symbols("i k p d", positive=True, integer=True)
    vi = sp.IndexedBase("u")
    moments = {}

    def gauss():
        if not moments:
            moments["m"] = _gaussian_moments()
        return moments["m"]

    def hoelder_coordinate(st):
        # a linear function of rho_i on [-eps, eps] is smallest at an end: at -eps for a > 0 (value -a eps), at
        # +eps for a < 0 (value a eps = -|a| eps); in both cases -eps |a|
        ends = {a_pos: -a_pos * eps, -a_pos: -a_pos * eps}
        return isinstance(st, sp.Equality) and all(is_zero(st.rhs.subs(a, s) - v) for s, v in ends.items()) \
            and all(is_zero(sp.Min(s * eps, -s * eps) - v) for s, v in ends.items())

    def halfspace_distance(st):
        # every coordinate moves by eps against the sign of a_i: <a, x + rho> + c = ell - eps ||a||_1 reaches 0 at
        sol = sp.solve(ell_pos - eps * A1, eps)
        return isinstance(st, sp.Equality) and len(sol) == 1 and is_zero(sol[0] - st.rhs)

    def block_sums(st):
        sub = {kk: k, pp: p, dd: d}
        l1v = sp.Sum(alpha_p * sp.sqrt(dd), (i_, 1, pp)) + sp.Sum(alpha_m * sp.sqrt(dd), (i_, pp + 1, kk))
        l1p = sp.Sum(alpha_p * sp.sqrt(dd), (i_, 1, pp))
        l2v = sp.Sum(alpha_p ** 2 * dd, (i_, 1, pp)) + sp.Sum(alpha_m ** 2 * dd, (i_, pp + 1, kk))
        return (is_zero(l1v.doit().subs(sub) - st.rhs) and is_zero(l1p.doit().subs(sub) - L1_P)
                and is_zero(l2v.doit().subs(sub) - L2_V ** 2))

    def branch(constraint):
        def check(st):
            sol = sp.solve(constraint, eps)
            return isinstance(st, sp.Equality) and len(sol) == 1 and is_zero(sol[0] - st.rhs)
        return check

    def c_d_from_moments(st):
        e_abs, _, total, e_norm = gauss()
        return total == 1 and is_zero(sp.gammasimp(sp.expand_func(st.rhs) - D * e_abs / e_norm))

    def second_moment(st):
        # E||g||_1^2 = D E g^2 + D (D - 1) (E|g|)^2 = E||g||_2^2 E||u||_1^2 with E||g||_2^2 = D E g^2
        e_abs, e_sq, _, _ = gauss()
        return is_zero((D * e_sq + D * (D - 1) * e_abs ** 2) / (D * e_sq) - st.rhs)

    def log_ratio_limit():
        x = sp.Symbol("x", positive=True)
        log_ratio = sp.expand_log(sp.log(sp.expand_func(C_D / sp.sqrt(2 * D / sp.pi)).subs(D, 2 * x)), force=True)
        return sp.limit(log_ratio, x, sp.oo)

    def asymptotic(st):
        # the log of the ratio tends to 0 (Stirling), so the ratio tends to exp(0)
        return isinstance(st, sp.Equality) and is_zero(sp.exp(log_ratio_limit()) - st.rhs)

    def relative_spread(st):
        # with x = D/2, c_D = 2x/(sqrt(pi) R(x)), R(x) = Gamma(x + 1/2)/Gamma(x), and Stirling's series
        # log R(x) = (1/2) log x - 1/(8x) + O(x^-3) (SymPy's asymptotic series of loggamma, for
        # symbolic x); the O(x^-3) term changes D (M2/c_D^2 - 1) by O(x^-2), so the limit is exact
        x = sp.Symbol("x", positive=True)
        R = sp.gamma(x + sp.S.Half) / sp.gamma(x)
        if not is_zero(sp.gammasimp(sp.expand_func(C_D).subs(D, 2 * x) - 2 * x / (sp.sqrt(sp.pi) * R))):
            return False
        log_r = (sp.loggamma(x + sp.S.Half) - sp.loggamma(x)).series(x, sp.oo, n=3).removeO()
        inner = st.lhs.args[0] if isinstance(st.lhs, sp.Limit) else None
        if inner is None or not isinstance(st, sp.Equality):
            return False
        spread = inner.subs(D, 2 * x).subs(C_D.subs(D, 2 * x), 2 * x / sp.sqrt(sp.pi) * sp.exp(-log_r))
        spread = sp.expand_func(spread).subs(R, sp.exp(log_r))
        return is_zero(sp.limit(spread, x, sp.oo) - st.rhs)

    def haar_inverse(st):
        u1 = sp.Symbol("u_1", positive=True)  # ||u||_1 of the uniform direction
        inv = 1 / ((Z_P - Z_M) / (L2_V * u1))
        return sp.diff(inv, u1, 2) == 0 and is_zero(inv.subs(u1, C_D.subs(D, d)) - st.rhs)

    def haar_limit(st):
        # 1/E[1/r_inf] = sqrt(d/k)/c_d for the balanced net, and c_d ~ sqrt(2 d/pi)
        inv_bal = sp.simplify(C_D.subs(D, d) * sp.sqrt(2 * d * alpha_p ** 2 * k / 2) / (alpha_p * d))
        return (is_zero(inv_bal - HAAR_INVERSE.subs(BALANCED)) and log_ratio_limit() == 0
                and is_zero(sp.sqrt(d / k) / sp.sqrt(2 * d / sp.pi) - st.rhs))

    def disjoint_supports(st):
        # the L1 norm is the sum over all d coordinates; the feature part lives on the first k, the noise on the rest
        return isinstance(st, sp.Equality) and is_zero(st.rhs - sp.Sum(sp.Abs(vi[i_]), (i_, 1, dd)))

    def trained_hyperplane(st):
        # r_H = ell/||u||_1 with ||u||_1 = ||u_f||_1 + ||u_n||_1 (disjoint supports) and ||u_n||_1 replaced by its
        # conditional expectation ||u_n||_2 E||e||_1 = c_D ||u_n||_2 (e uniform on the sphere of the D noise coordinates)
        derived = ell / (U_f + U_n * C_D)
        return (isinstance(st, sp.Equality) and is_zero(st.rhs - derived)
                and is_zero(st.rhs.subs({ell: Z_P - Z_M, U_f: L1_V, U_n: 0}) - HYPERPLANE))

    bal = sp.simplify(HYPERPLANE.subs(BALANCED))
    l2_hyper = (Z_P - Z_M) / L2_V  # C3.averaging_radius's hyperplane branch (L2)
    ratio = sp.simplify(l2_hyper / HYPERPLANE)
    r_inf, r_2 = notation("r_inf"), notation("r_2")
    mu_j, xi = sp.Symbol("mu_j"), sp.Symbol("xi")
    zp, zm = sp.symbols("z_+ z_-", real=True)
    E = notation("E")
    u_abs1 = sp.Symbol("|u|_1")
    balanced = sp.And(*[sp.Eq(key, value, evaluate=False) for key, value in BALANCED.items()])
    sizes_sub = {ell: alpha_p * d, U_f: alpha_p * sp.sqrt(d) * k,
                 U_n: alpha_p * sp.sqrt(d) * sp.sqrt(k) * sp.sqrt(k / n_), D: d - k}
    w_p, w_m, v_ = sp.Symbol("w_+"), sp.Symbol("w_-"), sp.Symbol("v")
    rho_i, y_, c_ = sp.Symbol("rho_i"), sp.Symbol("y"), sp.Symbol("c")
    u_, g_, u_f, u_n = sp.Symbol("u"), sp.Symbol("g"), sp.Symbol("u_f"), sp.Symbol("u_n")
    eps2 = sp.Symbol("varepsilon") ** 2
    L1, L2 = notation("L1"), notation("L2")  # the L1 and L2 norms, as notation
    from featavg.claims.c3_averaging_radius import _flip_cases

    steps = (
        Step(Text("Hoelder per coordinate: the smallest ", a * rho_i, " over ", sp.Le(sp.Abs(rho_i), eps, evaluate=False),
                  " is ", -eps * sp.Abs(a), ", at ", sp.Eq(rho_i, -eps * sp.sign(a), evaluate=False)),
             sp.Eq(sp.Min(a * eps, -a * eps), -eps * sp.Abs(a), evaluate=False), hoelder_coordinate),
        Step(Text("summed over coordinates: the L-infinity distance to the halfspace ",
                  sp.Le(Inner(a, y_) + c_, 0, evaluate=False), " is ", ell_pos / L1(a), ", with ",
                  sp.Eq(ell, Inner(a, sp.Symbol("x")) + c_, evaluate=False),
                  " positive (the dual norm of L-infinity is L1)"),
             sp.Eq(sp.Symbol("epsilon_min"), ell_pos / A1), halfspace_distance),
        Step(Text(sp.Le(sp.Symbol("f"), 0, evaluate=False), " exactly on the union of the halfspaces ",
                  sp.Le(zp, 0, evaluate=False), " and ", sp.Le(zp, zm, evaluate=False),
                  ", in any norm (three sign cases, ties included)"),
             sp.Equivalent(sp.Le(ReLU(zp) - ReLU(zm), 0, evaluate=False),
                           sp.Or(sp.Le(zp, 0, evaluate=False), sp.Le(zp, zm, evaluate=False)), evaluate=False),
             _flip_cases),
        Step(Text("coordinate features, by block sums: ", sp.Eq(L1(w_p - w_m), L1_V, evaluate=False), ", ",
                  sp.Eq(L1(w_p), L1_P, evaluate=False), " and ", sp.Eq(L2(w_p - w_m) ** 2, L2_V ** 2, evaluate=False)),
             sp.Eq(sp.Symbol("N_1"), L1_V, evaluate=False), block_sums),
        Step(Text("hyperplane branch: the attack ", sp.Eq(sp.Symbol("rho"), -eps * sp.sign(v_), evaluate=False),
                  " reaches ", sp.Eq(zp, zm, evaluate=False), " at ", sp.Eq(eps, (zp - zm) / L1(v_), evaluate=False)),
             sp.Eq(sp.Symbol("r_A"), HYPERPLANE), branch(Z_P - Z_M - eps * L1_V)),
        Step(Text("switch-off branch: ", sp.Eq(eps, zp / L1(w_p), evaluate=False)), sp.Eq(sp.Symbol("r_B"), SWITCH_OFF),
             branch(Z_P - eps * L1_P)),
        Step(Text("balanced net (", sp.Eq(p, k / 2, evaluate=False), ", ", sp.Eq(alpha_p, alpha_m, evaluate=False),
                  ", no biases): the radius is ", sp.sqrt(d) / k, "; switching off costs ", sp.Eq(k / p, 2, evaluate=False),
                  " times more"),
             sp.Implies(balanced, sp.Eq(r_inf(mu_j), sp.sqrt(d) / k, evaluate=False)),
             lambda st: is_zero(bal - st.args[1].rhs) and is_zero(sp.simplify(SWITCH_OFF.subs(BALANCED)) / bal - 2)),
        Step(Text("against L2: the ratio of the radii is ", sp.Le(L1(v_) / L2(v_), sp.sqrt(k), evaluate=False),
                  ", since ", sp.Eq(k * L2(v_) ** 2 - L1(v_) ** 2, d * p * (k - p) * (alpha_p - alpha_m) ** 2,
                                    evaluate=False),
                  "; equality for equal scales"),
             sp.Eq(r_2(mu_j) / r_inf(mu_j), L1_V / L2_V, evaluate=False),
             lambda st: is_zero(ratio - st.rhs)
             and is_zero(k * L2_V ** 2 - L1_V ** 2 - d * p * (k - p) * (alpha_p - alpha_m) ** 2)
             and is_zero(ratio.subs(BALANCED) - sp.sqrt(k))),
        Step(Text("noisy point ", mu_j + xi, ": the pre-activations shift by ",
                  sp.Eq(nu_p, Inner(w_p, xi), evaluate=False), " and ", sp.Eq(nu_m, Inner(w_m, xi), evaluate=False),
                  ", the flip set is the same union, so the radius shifts by the exact noise term ",
                  Inner(v_, xi) / L1(v_)),
             sp.Eq(r_inf(mu_j + xi), RADIUS_NOISY, evaluate=False),
             lambda st: is_zero(st.rhs - sp.Max(0, sp.Min((Z_P + nu_p - Z_M - nu_m) / L1_V, (Z_P + nu_p) / L1_P)))
             and is_zero(HYPERPLANE_NOISY - HYPERPLANE - (nu_p - nu_m) / L1_V)),
        Step(Text("its variance for standard normal noise: ", L2(v_) ** 2 / L1(v_) ** 2, ", which is ", 1 / k,
                  " for the balanced net (against 1 in L2)"),
             sp.Eq(notation("Var")(Inner(v_, xi) / sp.Symbol("N_1")), NOISE_VARIANCE, evaluate=False),
             lambda st: is_zero(st.rhs - L2_V ** 2 / L1_V ** 2) and is_zero(st.rhs.subs(BALANCED) - 1 / k)),
        Step(Text("uniform direction ", sp.Eq(u_, g_ / Norm(g_), evaluate=False), " with ", g_,
                  " standard normal in D dimensions (norm and direction independent): the mean L1 norm of ", u_,
                  " from Gaussian and chi integrals"),
             sp.Eq(E(u_abs1), C_D, evaluate=False), c_d_from_moments),
        Step(Text("its second moment, the mean squared L1 norm of ", g_, " over the mean squared L2 norm"),
             sp.Eq(E(u_abs1 ** 2), M2_D, evaluate=False), second_moment),
        Step(Text("the mean L1 norm grows like ", sp.sqrt(2 * D / sp.pi), " (limit of the log-ratio)"),
             sp.Eq(sp.Limit(C_D / sp.sqrt(2 * D / sp.pi), D, sp.oo), 1, evaluate=False), asymptotic),
        Step(Text("relative spread of the L1 norm: about ", sp.Float(0.27, 2) / sp.sqrt(D)),
             sp.Eq(sp.Limit(D * (M2_D / C_D ** 2 - 1), D, sp.oo), sp.pi / 2 - sp.Rational(3, 2), evaluate=False),
             relative_spread),
        Step(Text("Haar features: ", sp.Eq(v_, L2(v_) * u_, evaluate=False), " with ", u_,
                  " uniform, so the inverse radius is linear in the L1 norm of ", u_,
                  " and its expectation over the rotation follows"),
             sp.Eq(E(1 / r_inf(mu_j)), HAAR_INVERSE, evaluate=False), haar_inverse),
        Step(Text("balanced Haar net, large ", d, ": the radius tends to the constant ", sp.sqrt(sp.pi / (2 * k)),
                  " (coordinate features: ", sp.sqrt(d) / k, ")"),
             sp.Eq(sp.Limit(1 / HAAR_INVERSE.subs(BALANCED), d, sp.oo), sp.sqrt(sp.pi / (2 * k)), evaluate=False),
             haar_limit),
        Step(Text("trained net, coordinate features: the feature part on the first ", k, " coordinates, the noise on the "
                  "other ", d - k, " (disjoint supports), so the L1 norms of ", u_f, " and ", u_n, " add exactly"),
             sp.Eq(sp.Sum(sp.Abs(vi[i_]), (i_, 1, dd)),
                   sp.Sum(sp.Abs(vi[i_]), (i_, 1, kk)) + sp.Sum(sp.Abs(vi[i_]), (i_, kk + 1, dd)), evaluate=False),
             disjoint_supports),
        Step(Text("the noise parts' law is rotation invariant: the L1 norm of ", u_n, " is replaced by ",
                  sp.Symbol("c_D") * L2(u_n), " with ", sp.Eq(D, d - k, evaluate=False),
                  ", for each hyperplane of the flip set (no noise: the idealised formula)"),
             sp.Eq(sp.Symbol("r_H"), HYPERPLANE_TRAINED, evaluate=False), trained_hyperplane),
        Step(Text("from the sizes alone (balanced, ", sp.Eq(eps2, k / n_, evaluate=False),
                  " in both groups, independent noise of the two groups)"),
             sp.Eq(sp.Symbol("r_trained"), SIZES, evaluate=False),
             lambda st: is_zero(sp.simplify(HYPERPLANE_TRAINED.subs(sizes_sub) - st.rhs))),
    )
    args = [d, k, p, alpha_p, alpha_m, b_p, b_m]
    preds = {
        "radius": lambdify_prediction(args, RADIUS, "minimal L-infinity perturbation of mu_j, j in J+, for the averaging "
                                      "net with coordinate features (for j in J-, swap the roles of + and -)"),
        "hyperplane": lambdify_prediction(args, HYPERPLANE, "(z_+ - z_-)/||w_+ - w_-||_1"),
        "switch_off": lambdify_prediction(args, SWITCH_OFF, "z_+/||w_+||_1"),
        "radius_noisy": lambdify_prediction(args + [nu_p, nu_m], RADIUS_NOISY,
                                            "L-infinity radius of mu_j + xi, nu_pm = <w_pm, xi>"),
        "hyperplane_noisy": lambdify_prediction(args + [nu_p, nu_m], sp.Max(0, HYPERPLANE_NOISY),
                                                "the hyperplane branch alone at mu_j + xi"),
        "radius_balanced": lambdify_prediction([d, k], bal, "sqrt(d)/k"),
        "ratio_l2_linf": lambdify_prediction([k, p, alpha_p, alpha_m], sp.simplify(L1_V / L2_V),
                                             "r_2/r_inf = ||v||_1/||v||_2"),
        "noise_variance": lambdify_prediction([k, p, alpha_p, alpha_m], NOISE_VARIANCE,
                                              "variance of the noise term <v, xi>/||v||_1"),
        "l1_sphere_mean": lambdify_prediction([D], C_D, "c_D = E||u||_1, u uniform on the unit sphere of R^D"),
        "l1_sphere_second_moment": lambdify_prediction([D], M2_D, "E||u||_1^2"),
        "l1_sphere_relative_sd": lambdify_prediction([D], REL_SD_D, "sd(||u||_1)/E||u||_1"),
        "inverse_radius_haar": lambdify_prediction(args, HAAR_INVERSE, "E[1/r_inf] over Haar rotations (hyperplane branch)"),
        "radius_haar_asymptotic": lambdify_prediction([k], sp.sqrt(sp.pi / (2 * k)), "sqrt(pi/(2k)), balanced, d -> oo"),
        "hyperplane_trained": lambdify_prediction([ell, U_f, U_n, D], HYPERPLANE_TRAINED,
                                                  "ell/(||u_f||_1 + c_D ||u_n||_2), D = d - k noise coordinates"),
        "radius_trained_sizes": lambdify_prediction([d, k, n_], SIZES, "sqrt(d)/(k(1 + c_{d-k}/sqrt(n)))"),
    }
    return Claim(
        id=ID, title=Text("L-infinity radius of the averaging net: ", sp.sqrt(d) / k, " with coordinate features, ",
                          notation("O")(1), " with generic ones; trained nets add the noise's L1 norm"),
        statement=sp.Eq(r_inf(mu_j), RADIUS),
        assumptions=Text("Orthogonal equinorm features; perfectly averaged neurons ",
                         sp.Eq(sp.Symbol("w_s"), sp.Symbol("alpha_s") * SumOver(sp.Symbol("mu_i"), sp.Symbol("i"),
                                                                                 sp.Symbol("J_s")), evaluate=False),
                         ", biases ", sp.Symbol("b_s"), "; ", sp.Gt(zp, sp.Max(0, zm), evaluate=False), " at ", mu_j,
                         ". Coordinate-aligned features ", sp.Eq(mu_j, sp.sqrt(d) * sp.Symbol("e_j"), evaluate=False),
                         " for the closed form; Haar-random ones for the expectation; trained nets: noise parts with a "
                         "rotation-invariant law."),
        regime="noise-free and noisy points of the idealised net (exact); Haar rotations (an expectation); trained "
               "binary nets (the noise L1 norm replaced by its conditional expectation)",
        steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

#: round-off allowance of a closed form against a certified radius: the bracket's ends are checked
#: by forward passes in float64 (a few hundred operations of size ~ the radius), the closed form by
#: a few more; 64 eps relative is generous for both
ROUND_OFF_OPS = 64

#: (p, alpha_+, alpha_-, b_+/d, b_-/d): the cases of C3.averaging_radius.ideal (balanced; unbalanced
#: with unequal scales and biases; the last makes switching the J- group off the cheapest attack)
_IDEAL_CASES = ((5, 1.0, 1.0, 0.0, 0.0), (3, 1.3, 0.7, 0.2, -0.1), (7, 0.8, 1.5, -0.3, 0.4), (4, 1.0, 1.0, -0.9, 0.0))


def _norm_dropped():
    """Exact radii always in L2: a solver or pass-through that drops ``norm="inf"``."""
    def exact_radii(*a, **kw):
        from featavg.simulate import exact_radii as real

        kw.pop("norm", None)
        return real(*a, **kw)
    return {"exact_radii": exact_radii}


LINF_NORM_DROPPED = Fault("linf_norm_dropped", _norm_dropped.__doc__, context=_norm_dropped)


def _bracket_band(pred, lo, hi):
    return Band(pred, (Term("certified bracket upper - lower of each radius (weak-duality lower end, "
                            "forward-pass-verified upper end)", np.maximum(hi - lo, 0.0)),
                       Term(f"float64 round-off of the closed form and of the verified perturbation, "
                            f"{ROUND_OFF_OPS} eps x radius", ROUND_OFF_OPS * EPS * np.abs(pred))))


def _measure_ideal(ctx):
    from featavg.simulate import averaging_net, make_partition

    kk, dd = 10, 400
    feats = np.sqrt(dd) * np.eye(kk, dd)  # mu_j = sqrt(d) e_j
    per_class = 1 if ctx.quick else 3     # noisy points per class and case
    rng = ctx.rng(171)
    radius, noisy, hyper = (ctx.prediction(ID, name) for name in ("radius", "radius_noisy", "hyperplane_noisy"))
    balanced, haar = ctx.prediction(ID, "radius_balanced"), ctx.prediction(ID, "inverse_radius_haar")
    l2 = ctx.prediction("C3.averaging_radius", "radius")
    meas, lo, hi, pred, cases = [], [], [], [], []
    rivals = {"L2 radius (C3.averaging_radius)": [], "Haar expectation (generic directions)": [],
              "hyperplane branch only": [], "balanced sqrt(d)/k for every net": [], "noise term dropped": []}
    for pp, ap, am, bp, bm in _IDEAL_CASES:
        labels = make_partition(kk, pp)
        net = averaging_net(feats, labels, ap, am, bp * dd, bm * dd)
        jp, jm = int(np.flatnonzero(labels > 0)[0]), int(np.flatnonzero(labels < 0)[0])
        xi = rng.standard_normal((2 * per_class, dd))
        X = np.vstack([feats[[jp, jm]], feats[jp] + xi[:per_class], feats[jm] + xi[per_class:]])
        y = np.array([1, -1] + [1] * per_class + [-1] * per_class)
        r, a, b = ctx.net_radii(net, X, y, bracket=True, norm="inf")
        meas += r.tolist()
        lo += a.tolist()
        hi += b.tolist()
        nu = (X - feats[np.where(y > 0, jp, jm)]) @ net.W.T  # (<w_+, xi>, <w_-, xi>) per point
        for yi, (n_p, n_m) in zip(y, nu):
            own = (dd, kk, pp, ap, am, bp * dd, bm * dd) if yi > 0 else (dd, kk, kk - pp, am, ap, bm * dd, bp * dd)
            shift = (n_p, n_m) if yi > 0 else (n_m, n_p)
            pred.append(float(noisy(*own, *shift)))
            rivals["L2 radius (C3.averaging_radius)"].append(float(l2(*own)))
            rivals["Haar expectation (generic directions)"].append(1.0 / float(haar(*own)))
            rivals["hyperplane branch only"].append(float(hyper(*own, *shift)))
            rivals["balanced sqrt(d)/k for every net"].append(float(balanced(dd, kk)))
            rivals["noise term dropped"].append(float(radius(*own)))
        cases.append({"p": pp, "alpha": [ap, am], "b_over_d": [bp, bm]})
    pred, meas, lo, hi = (np.array(x) for x in (pred, meas, lo, hi))
    return Outcome(pred, meas, _bracket_band(pred, lo, hi), rivals={kk_: np.array(v) for kk_, v in rivals.items()},
                   details={"cases": cases, "points_per_case": 2 + 2 * per_class,
                            "max_relative_error": float(np.max(np.abs(meas - pred) / np.maximum(pred, 1e-300))),
                            "max_bracket_gap": float(np.max(hi - lo))},
                   config={"k": kk, "d": dd, "features": "standard", "norm": "inf", "noise_seed_salt": 171})


IDEAL = Check(
    "C3.linf_averaging.ideal",
    "Idealised averaging net, coordinate features: certified L-inf radius = min(hyperplane, switch-off) with "
    "the exact noise term",
    "k=10, d=400, mu_j = sqrt(d) e_j, one neuron per sign; the four nets of C3.averaging_radius.ideal; at mu_j "
    "(one of J+, one of J-) and at noisy points mu_j + xi; certified L-inf radii (HiGHS LPs in input coordinates)",
    _measure_ideal,
    rivals=(Rival("L2 radius (C3.averaging_radius)", "the L2 formula: the dual norm taken as L2"),
            Rival("Haar expectation (generic directions)", "the generic-direction formula applied to coordinate features"),
            Rival("hyperplane branch only", "the switch-off branch of the minimum forgotten"),
            Rival("balanced sqrt(d)/k for every net", "the balanced formula applied to unbalanced, biased nets"),
            Rival("noise term dropped", "the noise-free radius at noisy points")),
    faults=("closed_form", "radius", "linf_norm_dropped"))


def _measure_haar(ctx):
    from featavg.simulate import averaging_net, make_features, make_partition

    kk, dd = 10, 400
    R = 8 if ctx.quick else 20
    rng = ctx.rng(172)
    labels = make_partition(kk)
    inv = []
    for _ in range(R):
        feats = make_features(kk, dd, rng)  # Haar: sqrt(d) times orthonormal columns of a random rotation
        inv.append(1.0 / float(ctx.net_radii(averaging_net(feats, labels), feats[[0]], np.array([1]), norm="inf")[0]))
    m, se, hw = mean_interval(inv)
    args = (dd, kk, kk // 2, 1.0, 1.0, 0.0, 0.0)
    pred = float(ctx.prediction(ID, "inverse_radius_haar")(*args))
    band = Band(pred, (Term(f"t({R - 1} dof) x standard error of the mean of 1/r over {R} independent rotations", hw, "stat"),
                       Term(f"round-off, {ROUND_OFF_OPS} eps x 1/r", ROUND_OFF_OPS * EPS * pred)))
    rel_sd = float(ctx.prediction(ID, "l1_sphere_relative_sd")(dd))
    return Outcome(pred, m, band, interval=(m - hw, m + hw), seeds=[ctx.seed],
                   rivals={"k/sqrt(d) (coordinate features)": 1.0 / float(ctx.prediction(ID, "radius_balanced")(dd, kk)),
                           "sqrt(k/d) (the L2 radius)": 1.0 / float(ctx.prediction("C3.averaging_radius", "radius_balanced")(dd, kk)),
                           "sqrt(k) (Cauchy-Schwarz ||v||_1 = sqrt(d)||v||_2)": math.sqrt(kk)},
                   details={"inverse_radii": inv, "rotations": R, "relative_sd_measured": float(np.std(inv, ddof=1) / m),
                            "relative_sd_predicted": rel_sd,
                            "radius_asymptotic": float(ctx.prediction(ID, "radius_haar_asymptotic")(kk))},
                   config={"k": kk, "d": dd, "features": "haar", "norm": "inf", "rng_salt": 172})


HAAR = Check(
    "C3.linf_averaging.haar", "Haar features: mean of 1/r_inf over random rotations = c_d ||v||_2/(z_+ - z_-)",
    "balanced averaging net, k=10, d=400, one neuron per sign, features sqrt(d) times a Haar rotation's columns; "
    "certified L-inf radius at mu_0 per rotation (an expectation over rotations)", _measure_haar,
    rivals=(Rival("k/sqrt(d) (coordinate features)", "the coordinate-feature formula applied to generic directions"),
            Rival("sqrt(k/d) (the L2 radius)", "the L2 formula"),
            Rival("sqrt(k) (Cauchy-Schwarz ||v||_1 = sqrt(d)||v||_2)", "the worst case of Hoelder instead of the "
                  "uniform direction's mean")),
    faults=("closed_form", "linf_norm_dropped"))


def _sizes(ctx):
    """(seeds, test points per seed) of the trained binary nets."""
    return (2, 4) if ctx.quick else (4, 12)


def _measure_trained(ctx):
    from featavg.claims._linf import trained_outcome

    R, N = _sizes(ctx)
    cfg = _trained_cfg(ctx)
    base = float(ctx.prediction(ID, "radius_balanced")(cfg.d, cfg.k))
    sizes = float(ctx.prediction(ID, "radius_trained_sizes")(cfg.d, cfg.k, cfg.n))
    consts = {"sqrt(d)/k (noise-free idealised net)": base,
              "sqrt(d/k) (the L2 radius)": float(ctx.prediction("C3.averaging_radius", "radius_balanced")(cfg.d, cfg.k)),
              "sqrt(d)/(k+1)": float(ctx.prediction(ID, "radius_balanced")(cfg.d, cfg.k + 1))}
    return trained_outcome(ctx, ID, "binary", "argmax", R, N, baseline=base, constants=consts,
                           sizes={"radius_trained_sizes": sizes})


def _trained_cfg(ctx):
    from featavg.claims._linf import trained_config

    return trained_config(ctx, "binary", ctx.seeds(1)[0])


#: the rivals every trained-net check computes per test point from the same hyperplanes (featavg.claims._linf)
TRAINED_RIVALS = (
    Rival("Cauchy-Schwarz: ||u_n||_1 = sqrt(d-k) ||u_n||_2", "the noise's L1 norm at its Hoelder worst case, not the "
          "uniform direction's mean"),
    Rival("noise L1 norm omitted", "only the trained feature coefficients (the noise-free formula with trained weights)"),
    Rival("triangle: the two sides' noise L1 norms added", "c_D (||own noise||_2 + ||opposing noise||_2): the two "
          "sides' independent noise added coherently"),
    Rival("Haar expectation c_d ||u||_2", "the generic-direction formula applied to coordinate features"),
)

TRAINED = Check(
    "C3.linf_averaging",
    "Trained binary net, coordinate features: mean certified L-inf radius = trained-net prediction (measured weights: "
    "feature L1 + c_(d-k) x noise L2 of each flip hyperplane; test points' pre-activations)",
    "binary labels, paper setting (k=10, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5) on the explicit engine with "
    "mu_j = sqrt(d) e_j; certified L-inf radii of test points, several independent seeds; baseline sqrt(d)/k",
    _measure_trained,
    rivals=TRAINED_RIVALS + (
        Rival("sqrt(d)/k (noise-free idealised net)", "the idealised net's radius (no noise in the weights)"),
        Rival("sqrt(d/k) (the L2 radius)", "the L2 radius"),
        Rival("sqrt(d)/(k+1)", "a constant off by one in k")),
    faults=("closed_form", "radius", "linf_norm_dropped"))
