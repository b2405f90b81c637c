r"""C3.noise_correction: the first-order noise correction of the averaging radius.

A test point is :math:`\mu_j + \xi` with :math:`\xi \sim N(0, \sigma^2 I)`. Its distance to the
hyperplane :math:`\{\langle v, x\rangle + c = 0\}` (:math:`v = w_+ - w_-`, the branch of
C3.averaging_radius that binds) is linear in :math:`\xi`, so the radius is the noise-free one plus
:math:`Z = \langle v, \xi\rangle/\|v\| \sim N(0, \sigma^2)`: its ``u``-quantile is
:math:`\sqrt{d/k} + \sigma\Phi^{-1}(u)` (the median is unshifted, the quartiles move by
:math:`\pm 0.674\sigma`). The switch-off branch, :math:`\sqrt 2` times farther, would bind only
for :math:`Z` of order :math:`(\sqrt2 - 1)\sqrt{d/k}`, which the assumption excludes.

Evidence: quantiles of the exact radii of the idealised balanced net at noisy points.
"""

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term, quantile
from featavg.theory import Claim, Step, is_zero, lambdify_prediction, notation
from featavg.theory._claim import Inner, Norm, Text
from featavg.theory._common import Phi, d, evaluate_sums, factor_sums, k, sqrt_as_written

ID = "C3.noise_correction"
ORDER = (3, 1)


def derive():
    """The claim: the noise vector shifts the radius by <v, xi>/||v|| ~ N(0, sigma^2), in any dimension d."""
    i, l = sp.symbols("i l", positive=True, integer=True)
    v, mu, xi = (sp.IndexedBase(x, real=True) for x in ("v", "mu", "xi"))
    c = sp.Symbol("c", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    norm_v = sp.sqrt(sp.Sum(v[l] ** 2, (l, 1, d)))

    def distance(x):
        """Signed distance of the point with coordinates x[i] to the hyperplane {<v, x> + c = 0}."""
        return (sp.Sum(v[i] * x(i), (i, 1, d)) + c) / norm_v

    Z = sp.Sum(v[i] * xi[i], (i, 1, d)) / norm_v
    s_ = sp.Symbol("s", real=True)
    dens = sp.exp(-s_ ** 2 / (2 * sigma ** 2)) / (sigma * sp.sqrt(2 * sp.pi))
    m1 = sp.integrate(s_ * dens, (s_, -sp.oo, sp.oo))       # E[xi_i]
    m2 = sp.integrate(s_ ** 2 * dens, (s_, -sp.oo, sp.oo))  # E[xi_i^2]
    # independent coordinates: E[xi_i xi_l] = m2 delta_il + m1^2 (1 - delta_il)
    second = m2 * sp.KroneckerDelta(i, l) + m1 ** 2 * (1 - sp.KroneckerDelta(i, l))
    mean_Z = sp.Sum(v[i] * m1, (i, 1, d)) / norm_v
    var_Z = sp.Sum(sp.Sum(v[i] * v[l] * second, (i, 1, d)), (l, 1, d)) / norm_v ** 2

    level = sp.Symbol("u", positive=True)  # quantile level in (0, 1)
    bal = sqrt_as_written(d / k)
    quantile = bal + sigma * sp.sqrt(2) * sp.erfinv(2 * level - 1)
    r, Q_r, E, Var = notation("r"), notation("Q_r"), notation("E"), notation("Var")
    mu_j, xi_s, v_s = sp.Symbol("mu_j"), sp.Symbol("xi"), sp.Symbol("v")
    Zs = sp.Symbol("Z")

    def linear(st):
        return factor_sums(sp.expand(st.lhs - st.rhs)) == 0

    def quantiles(st):
        ok = True
        for eq in st.args:
            if eq.lhs == Q_r(level):  # the u-quantile of N(r_0, sigma^2): Phi((Q - r_0)/sigma) = u
                ok &= is_zero(Phi((eq.rhs - bal) / sigma) - level)
            else:
                ok &= is_zero(quantile.subs(level, eq.lhs.args[0]) - eq.rhs)
        return ok

    steps = (
        Step(Text("the distance to the hyperplane ", sp.Eq(Inner(v_s, sp.Symbol("x")) + c, 0, evaluate=False),
                  " is affine in the point: at ", mu_j + xi_s, " it is the distance at ", mu_j, " plus ",
                  sp.Eq(Zs, Inner(v_s, xi_s) / Norm(v_s), evaluate=False), " (coordinates ", sp.Symbol("i"),
                  " up to any ", d, ")"),
             sp.Eq(distance(lambda j: mu[j] + xi[j]), distance(lambda j: mu[j]) + Z, evaluate=False), linear),
        Step(Text("its mean vanishes: linearity of the expectation and ", sp.Eq(E(xi[i]), 0, evaluate=False),
                  " (a Gaussian moment, by integration)"),
             sp.Eq(E(Zs), 0, evaluate=False),
             lambda st: is_zero(evaluate_sums(mean_Z) - st.rhs)),
        Step(Text("its variance is ", sigma ** 2, ": independent coordinates, ",
                  sp.Eq(E(xi[i] * xi[l]), sigma ** 2 * sp.KroneckerDelta(i, l), evaluate=False),
                  " (moments by integration), summed over ", d, " coordinates"),
             sp.Eq(Var(Zs), sigma ** 2, evaluate=False),
             lambda st: is_zero(evaluate_sums(var_Z, [(l, 1, d)]) - st.rhs)),
        Step(Text("so the radius at ", mu_j + xi_s, " is Gaussian around ", bal, ": its ", level,
                  "-quantile, and its median ", bal),
             sp.And(sp.Eq(Q_r(level), quantile, evaluate=False), sp.Eq(Q_r(sp.Rational(1, 2)), bal, evaluate=False),
                    evaluate=False), quantiles),
    )
    preds = {"radius_quantile": lambdify_prediction(
        [d, k, sigma, level], quantile,
        "u-quantile of the balanced averaging net's radius at mu_j + xi, xi ~ N(0, sigma^2 I), first order in xi")}
    v_vec = sp.Symbol("w_+") - sp.Symbol("w_-")
    return Claim(
        id=ID, title=Text("First-order noise correction of the averaging radius: a Gaussian ",
                          notation("N")(0, sigma ** 2)),
        statement=sp.Eq(r(mu_j + xi_s), bal + Zs),
        assumptions=Text(sp.Eq(Zs, Inner(v_s, xi_s) / Norm(v_s), evaluate=False), " with ",
                         sp.Eq(v_s, v_vec, evaluate=False), "; the hyperplane branch stays the minimum (true when ",
                         sp.StrictGreaterThan((sp.sqrt(2) - 1) * bal, sigma, evaluate=False),
                         " by a wide margin)."),
        regime=Text("balanced averaging net, first order in ", xi_s), steps=steps, predictions=preds)


# ---- evidence -----------------------------------------------------------------------------------

_LEVELS = np.array([0.25, 0.5, 0.75])


def _measure(ctx):
    from scipy.special import ndtri

    from featavg.simulate import averaging_net, make_features, make_partition

    kk, dd, sigma = 10, 400, 1.0
    n = 600 if ctx.quick else 2000
    rng = ctx.rng(32)
    feats = make_features(kk, dd, rng)
    labels = make_partition(kk)
    net = averaging_net(feats, labels)
    j = rng.integers(0, kk, n)
    X = feats[j] + sigma * rng.standard_normal((n, dd))
    r = ctx.net_radii(net, X, labels[j])
    q = ctx.prediction(ID, "radius_quantile")
    pred = np.asarray(q(dd, kk, sigma, _LEVELS), dtype=float)
    meas = np.quantile(r, _LEVELS)
    # the radius is exactly N(sqrt(d/k), sigma^2) (the hyperplane branch is linear in xi), so a
    # sample u-quantile has standard error sqrt(u(1-u)/n) sigma / phi(Phi^{-1}(u)) (asymptotic)
    dens = np.exp(-ndtri(_LEVELS) ** 2 / 2) / np.sqrt(2 * np.pi)
    se = np.sqrt(_LEVELS * (1 - _LEVELS) / n) * sigma / dens
    z = quantile()
    band = Band(pred, (Term(f"z = {z:.3g} x standard error sqrt(u(1-u)/n) sigma/phi(z_u) of a sample quantile, n={n}",
                            z * se, "stat"),))
    base = float(q(dd, kk, sigma, 0.5))
    return Outcome(pred, meas, band, baseline=np.full(3, base),
                   rivals={"no correction (sqrt(d/k) at every quantile)": np.full(3, base),
                           "correction with its sign flipped": 2 * base - pred,
                           "correction sqrt(2) sigma z_u (both features' noise)": base + np.sqrt(2) * (pred - base),
                           "shifted by -sigma sqrt(2/pi) (noise always helps the attacker)":
                               pred - sigma * np.sqrt(2 / np.pi)},
                   details={"levels": _LEVELS.tolist(), "points": n}, config={"k": kk, "d": dd, "sigma": sigma})


QUANTILES = Check(
    "C3.noise_correction", "Radius quartiles and median of the idealised net at mu_j + xi: sqrt(d/k) + sigma z_u",
    "balanced averaging net, k=10, d=400, sigma=1, noisy test points (2000; quick 600); first order in xi "
    "(exact for the hyperplane branch)", _measure,
    rivals=(Rival("no correction (sqrt(d/k) at every quantile)", "the noise-free radius at every quantile"),
            Rival("correction with its sign flipped", "quartiles in the wrong order"),
            Rival("correction sqrt(2) sigma z_u (both features' noise)", "a variance counted twice"),
            Rival("shifted by -sigma sqrt(2/pi) (noise always helps the attacker)",
                  "the mean |Z| subtracted: noise counted as always moving the point towards the boundary")),
    faults=("closed_form",))
