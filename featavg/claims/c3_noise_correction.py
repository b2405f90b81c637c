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
from featavg.theory._common import d, k

ID = "C3.noise_correction"
ORDER = (3, 1)


def derive():
    """The claim: the noise vector shifts the radius by <v, xi>/||v|| ~ N(0, sigma^2)."""
    v = sp.symbols("v_0:3", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    xs = sp.symbols("xi_0:3", real=True)
    nv = sp.sqrt(sum(vi ** 2 for vi in v))
    Z = sum(vi * xi for vi, xi in zip(v, xs)) / nv
    s_ = sp.Symbol("s", real=True)
    dens = sp.exp(-s_ ** 2 / (2 * sigma ** 2)) / (sigma * sp.sqrt(2 * sp.pi))

    def moment(power):
        """E[xi^power] for xi ~ N(0, sigma^2), by integration."""
        return sp.integrate(s_ ** power * dens, (s_, -sp.oo, sp.oo))

    def expect(expr):
        """E over independent xi_i ~ N(0, sigma^2) of a polynomial in the xi_i (moments by integration)."""
        poly = sp.Poly(sp.expand(expr), *xs)
        return sum(cf * sp.Mul(*[moment(e) for e in mon]) for mon, cf in poly.terms())

    level = sp.Symbol("u", positive=True)  # quantile level in (0, 1)
    bal = sp.sqrt(d / k)
    quantile = bal + sigma * sp.sqrt(2) * sp.erfinv(2 * level - 1)
    r, Q_r = notation("r"), notation("Q_r")  # radius, and the quantile function of r(mu_j + xi)
    mu_j = sp.Symbol("mu_j")
    steps = (
        Step("distance of mu_j + xi to {<v, x> + c = 0} is (<v, mu_j> + c + <v, xi>)/||v|| (linear in xi)",
             sp.Eq(r(mu_j + sp.Symbol("xi")), r(mu_j) + Z, evaluate=False),
             lambda: is_zero(sp.diff(Z, xs[0]) - v[0] / nv), generality="instance",
             instances="v and xi in 3 dimensions"),
        Step("E[<v, xi>/||v||] = 0 (Gaussian moments by integration)",
             sp.Eq(notation("E")(Z), 0, evaluate=False), lambda: is_zero(expect(Z)),
             generality="instance", instances="v and xi in 3 dimensions"),
        Step("Var[<v, xi>/||v||] = E[Z^2] = sigma^2",
             sp.Eq(notation("Var")(Z), sigma ** 2, evaluate=False),
             lambda: is_zero(expect(Z ** 2) - sigma ** 2), generality="instance",
             instances="v and xi in 3 dimensions"),
        Step("median of the balanced radius is sqrt(d/k) (quantile at u = 1/2)",
             sp.And(sp.Eq(Q_r(level), quantile, evaluate=False), sp.Eq(Q_r(sp.Rational(1, 2)), bal, evaluate=False)),
             lambda: is_zero(quantile.subs(level, sp.Rational(1, 2)) - bal)),
    )
    preds = {"radius_quantile": lambdify_prediction(
        [d, k, sigma, level], quantile,
        "u-quantile of the balanced averaging net's radius at mu_j + xi, xi ~ N(0, sigma^2 I), first order in xi")}
    return Claim(
        id=ID, title="First-order noise correction of the averaging radius: N(0, sigma^2)",
        statement=sp.Eq(notation("r")(sp.Symbol("mu_j") + sp.Symbol("xi")), bal + sp.Symbol("Z")),
        assumptions="Z = <v, xi>/||v||, v = w_+ - w_-; the hyperplane branch stays the minimum (true when "
                    "(sqrt 2 - 1) sqrt(d/k) >> sigma).",
        regime="balanced averaging net, first order in xi", steps=steps, predictions=preds)

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
