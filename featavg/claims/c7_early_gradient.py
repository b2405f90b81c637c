r"""C7.early_gradient: in the early phase the gradient is a positive combination of own-class features.

With small initialisation (``f ~ 0``, so ``-l'(0) = 1/2``) and Gaussian noise, the population
gradient's projection on each feature follows from two Gaussian integrals (Stein's lemma):
:math:`E[1\{a + \|w\| z > 0\}] = \Phi(a/\|w\|)` and :math:`E[1\{a + \|w\| z > 0\} z] =
\varphi(a/\|w\|)`, so to leading order in ``d``

.. math:: -\langle \nabla_{w_{s,r}} L, \mu_j\rangle / d \to y_j\, s\, \frac{\Phi(a_j/\|w\|)}{2mk},
          \qquad a_j = \langle w, \mu_j\rangle + b:

every own-class cluster pushes every own-class neuron (no neuron specialises), the other class pulls.

Evidence: the simulator's gradient at a small random initialisation against the formula: its
mean-square error over 64 seeds against the law derived at finite ``n`` and ``d`` (appended to the
derivation: every active point's noise on every feature, and the Stein term); the rate ``n^{-1/2}``
of the error about the derived mean (a weighted slope); the early-phase figure.
"""

import functools

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term
from featavg.theory import Claim, Inner, Step, is_zero, lambdify_prediction
from featavg.theory._claim import Norm, Text, notation
from featavg.theory._common import Phi, d, evaluate_sums, explicit, factor_sums, k, logistic, m, phi, phi_positive


ID = "C7.early_gradient"
ORDER = (7, 0)

# the Stein-lemma steps, shared with C7.ce_decoupling: a neuron w (sigma = ||w||) with pre-activation
# a = <w, mu_j> + b at the cluster mean; Z = <w, xi>/||w|| ~ N(0, 1)
A_PRE = sp.Symbol("a", real=True)
SIGMA = sp.Symbol("sigma", positive=True)   # ||w||
Z_INT = sp.Symbol("z", real=True)


@functools.lru_cache(maxsize=None)
def stein_integrals():
    r"""``(P, S)``: :math:`P = E[1\{a + \sigma Z > 0\}] = \int_{-a/\sigma}^\infty \varphi` and
    :math:`S = E[1\{a + \sigma Z > 0\} Z] = \int_{-a/\sigma}^\infty z\varphi(z)\,dz`, integrated by SymPy."""
    lower = -A_PRE / SIGMA
    return (sp.integrate(explicit(phi(Z_INT)), (Z_INT, lower, sp.oo)),
            sp.integrate(explicit(Z_INT * phi(Z_INT)), (Z_INT, lower, sp.oo)))


def noise_covariance():
    r""":math:`\mathrm{Cov}(\langle\xi, \mu_i\rangle, \langle w, \xi\rangle/\|w\|) = \sum_{a,b} \mu_{i,a} w_b
    E[\xi_a\xi_b]/\|w\|` with :math:`E[\xi_a\xi_b] = \delta_{ab}`, summed over ``d`` coordinates:
    :math:`\langle w, \mu_i\rangle/\|w\|` (``(covariance, <w, mu_i> as a Sum)``)."""
    a_, b_ = sp.symbols("a_1 b_1", positive=True, integer=True)
    mu, w = sp.IndexedBase("mu", real=True), sp.IndexedBase("w", real=True)
    cov = sp.Sum(sp.Sum(mu[a_] * w[b_] * sp.KroneckerDelta(a_, b_), (a_, 1, d)), (b_, 1, d)) / SIGMA
    return evaluate_sums(cov, [(b_, 1, d)]), sp.Sum(w[b_] * mu[b_], (b_, 1, d))


def cluster_sum(weight, j, i, a_j, c):
    r""":math:`\sum_{j=1}^k \mathrm{weight}_j\,(d\,\delta_{ij} P(a_j) + c\,S(a_j))`: the projection on
    :math:`\mu_i` of :math:`E[\mathrm{weight}\cdot 1\{a_j + \langle w, \xi\rangle > 0\}(\mu_j + \xi)]`
    over the clusters (``<mu_j + xi, mu_i> = d delta_ij + <xi, mu_i>``, and
    ``<xi, mu_i> = c Z + (independent, mean 0)``), with ``P = Phi(a/sigma)`` and
    ``S = phi(a/sigma)``: the closed forms of :func:`stein_integrals` (steps of C7.early_gradient)."""
    return sp.Sum(weight * (d * sp.KroneckerDelta(i, j) * Phi(a_j / SIGMA) + c * phi(a_j / SIGMA)), (j, 1, k))


def derive():
    r"""The claim: the early gradient's projections, from the logistic derivative at 0 and Stein's lemma."""
    q = sp.Symbol("q", real=True)
    s, c = sp.Symbol("s", real=True), sp.Symbol("c", real=True)
    i, j = sp.symbols("i j", positive=True, integer=True)
    y, a = sp.IndexedBase("y", real=True), sp.IndexedBase("a", real=True)
    a_s, s_ = A_PRE, SIGMA
    z = Z_INT
    g0 = -sp.diff(logistic(q), q).subs(q, 0)          # -l'(0): f ~ 0 at small init
    # -<grad_w L, mu_i> = (s g(0)/m) E[y H(<w, x> + b) <x, mu_i>], clusters j with probability 1/k
    derived = evaluate_sums(factor_sums(cluster_sum(s * g0 * y[j] / (m * k), j, i, a[j], c)), [(i, 1, k)])
    leading = sp.limit(derived.xreplace({sp.Sum(phi(a[j] / s_) * y[j], (j, 1, k)): sp.Symbol("S_y")}) / d, d, sp.oo)
    ys = y[i] * s
    cov, inner_sum = noise_covariance()
    P, S = stein_integrals()

    w, mu_i, xi = sp.Symbol("w"), sp.Symbol("mu_i"), sp.Symbol("xi")
    grad_proj = -Inner(sp.Derivative(sp.Symbol("L"), sp.Symbol("w_s,r")), mu_i)
    stated_proj = s / (2 * m * k) * sp.Sum(y[j] * (d * sp.KroneckerDelta(i, j) * Phi(a[j] / s_) + c * phi(a[j] / s_)),
                                           (j, 1, k))
    ell = notation("ell")
    Cov, E = notation("Cov"), notation("E")
    Zs = sp.Symbol("Z")
    statement = sp.Eq(grad_proj / d, ys * Phi(a[i] / s_) / (2 * m * k))
    steps = (
        Step(Text("small initialisation: ", sp.Symbol("f"), " is near 0, where ",
                  sp.Eq(-sp.Subs(sp.Derivative(ell(q), q), q, 0), sp.Rational(1, 2), evaluate=False)),
             sp.Eq(-sp.Subs(sp.Derivative(logistic(q), q), q, 0), sp.Rational(1, 2), evaluate=False),
             lambda st: is_zero(g0 - st.rhs)),
        Step(Text("the noise along ", mu_i, " splits into ", c, " times ", sp.Eq(Zs, Inner(w, xi) / Norm(w),
                                                                               evaluate=False),
                  " plus a Gaussian independent of ", Zs, ": their covariance (summed over ", d, " coordinates, ",
                  sp.Eq(E(xi ** 2), 1, evaluate=False), " per coordinate)"),
             sp.Eq(Cov(Inner(xi, mu_i), Zs), Inner(w, mu_i) / s_, evaluate=False),
             lambda st: is_zero(cov - st.rhs.subs(Inner(w, mu_i), inner_sum))),
        Step(Text("the neuron is active with probability ", Phi(a_s / s_), " (", sp.Eq(a_s, Inner(w, sp.Symbol("mu_j"))
                                                                                    + sp.Symbol("b"), evaluate=False),
                  ")"),
             sp.Eq(sp.Integral(phi(z), (z, -a_s / s_, sp.oo)), Phi(a_s / s_), evaluate=False),
             lambda st: is_zero(P - st.rhs)),
        Step(Text("Stein's lemma: the active part of ", Zs, " has mean ", phi(a_s / s_)),
             sp.Eq(sp.Integral(z * phi(z), (z, -a_s / s_, sp.oo)), phi(a_s / s_), evaluate=False),
             lambda st: is_zero(S - st.rhs)),
        Step(Text("the projection on ", mu_i, ", assembled from the steps above over the ", k,
                  " clusters (", sp.Eq(c, Inner(w, mu_i) / Norm(w), evaluate=False), ")"),
             sp.Eq(grad_proj, stated_proj, evaluate=False),
             lambda st: is_zero(derived - evaluate_sums(factor_sums(st.rhs), [(i, 1, k)]))),
        Step(Text("leading order in ", d, " (", a_s / s_, " and ", c, " of order 1): the dropped term is at most ",
                  k * sp.Abs(c) / sp.sqrt(2 * sp.pi), " against ", d * Phi(a[i] / s_)),
             sp.Eq(sp.Limit(grad_proj / d, d, sp.oo), ys * Phi(a[i] / s_) / (2 * m * k), evaluate=False),
             lambda st: is_zero(leading - st.rhs)),
        Step(Text("its coefficient is positive: own-class clusters (", sp.Eq(y[i] * s, 1, evaluate=False),
                  ") push, the other class pulls"),
             sp.Gt(Phi(a[i] / s_) / (2 * m * k), 0, evaluate=False),
             lambda st: phi_positive() and isinstance(st, sp.StrictGreaterThan) and st.rhs == 0
             and is_zero(st.lhs - leading / ys) and bool(st.lhs.is_positive)),
    )
    coeff = (leading / ys).subs(a[i], a_s)
    preds = {"projection_over_d": lambdify_prediction(
        [a_s, s_, m, k], coeff,
        "coefficient c with -<grad L, mu_i>/d -> y_i s c, c = Phi(a_i/||w||)/(2 m k) > 0, a_i = <w,mu_i> + b")}
    more_steps, more_preds = _sampling()  # appended (issue 14): the finite-n, finite-d law of the measurement
    steps, preds = steps + more_steps, {**preds, **more_preds}
    return Claim(id=ID, title="Early phase: the gradient is a positive combination of own-class features",
                 statement=statement,
                 assumptions=Text("Gaussian noise ", notation("N")(0, sp.Symbol("I_d")), "; ", sp.Symbol("f"),
                                  " near 0, so ", sp.Eq(-sp.Subs(sp.Derivative(ell(q), q), q, 0), sp.Rational(1, 2),
                                                        evaluate=False),
                                  "; the population gradient (L1); ", a_s / s_, " and ", c, " of order 1 (small "
                                  "initialisation: both are ratios of quantities of order ", sp.Symbol("sigma_w") *
                                  sp.sqrt(d), ")."),
                 regime=Text("early phase, small initialisation, leading order in ", d), steps=steps,
                 predictions=preds)


def _sampling():
    r"""The law of the simulator's early projection at finite ``n`` and ``d`` (appended to :func:`derive`).

    The projection of neuron ``r``'s gradient on :math:`\mu_j` is a mean of ``n`` i.i.d. terms,
    one per training point: :math:`-\langle\nabla_{w_r}L, \mu_j\rangle/d = \frac1n\sum_i Y_i`,
    :math:`Y_i = \omega_{c_i}\,1\{a_{c_i} + u_i > 0\}\,(\delta_{c_i j} + \varepsilon_{ij})`, with
    :math:`\omega_c` the loss's weight of cluster ``c`` (binary: :math:`-\ell'(0) y_c s/m =
    y_c s/(2m)`), :math:`u_i = \langle w_r, \xi_i\rangle \sim N(0, \|w_r\|^2)` and
    :math:`\varepsilon_{ij} = \langle\xi_i, \mu_j\rangle/d \sim N(0, 1/d)`, jointly Gaussian with
    covariance :math:`\kappa_j = \langle w_r, \mu_j\rangle/d`. Writing :math:`\varepsilon = \kappa
    u/\|w\|^2 + \eta` (``eta`` independent of ``u``), Stein's lemma gives the two moments of a
    point of cluster ``c`` (:math:`\alpha_c = a_c/\|w\|`):

    .. math:: E[1\,\varepsilon] = \kappa_j\varphi(\alpha_c)/\|w\|, \qquad
              E[1\,\varepsilon^2] = \Phi(\alpha_c)/d - (\kappa_j/\|w\|)^2\alpha_c\varphi(\alpha_c),

    so the mean over the mixture (cluster ``c`` with probability ``1/k``) is the claim plus the
    Stein term :math:`\frac1k\sum_c\omega_c\varphi(\alpha_c)\kappa_j/\|w\|` (order ``1/d``), and
    the variance of the projection is :math:`(E Y^2 - (E Y)^2)/n`, whose :math:`\Phi/d` part comes
    from every active point's noise, of every cluster.
    """
    a, s_, kap, z = sp.symbols("a sigma kappa z", real=True)
    s_ = sp.Symbol("sigma", positive=True)
    dl, om = sp.Symbol("delta_cj", nonnegative=True), sp.Symbol("omega", real=True)
    al = a / s_
    # E[1{a + u > 0} f(u, eps)] with u = sigma z, eps = (kappa/sigma^2) u + eta, Var eta = 1/d - kappa^2/sigma^2
    e1 = sp.integrate((kap / s_ ** 2) * (s_ * z) * explicit(phi(z)), (z, -al, sp.oo))
    e2 = sp.integrate(((kap / s_ ** 2) ** 2 * (s_ * z) ** 2 + (1 / d - kap ** 2 / s_ ** 2)) * explicit(phi(z)), (z, -al, sp.oo))
    first = kap * phi(al) / s_
    second = Phi(al) / d - (kap / s_) ** 2 * al * phi(al)
    point_mean = om * (dl * Phi(al) + first)                       # E[Y | c], delta^2 = delta
    point_second = om ** 2 * (dl * Phi(al) + 2 * dl * first + second)  # E[Y^2 | c]
    qq = sp.Symbol("q", real=True)
    yc, sr = sp.symbols("y_c s", real=True)
    weight = -sp.diff(sp.log(1 + sp.exp(-qq)), qq).subs(qq, 0) * yc * sr / m
    ind, eps, Y = sp.symbols("1_A varepsilon Y")  # 1_A = 1{a + u > 0}
    E, Ec = notation("E"), notation("E_c")
    E1, E2, EY, EY2 = E(ind * eps), E(ind * eps ** 2), Ec(Y), Ec(Y ** 2)
    # the moments of a point of cluster c from their definitions: Y = omega 1{a + u > 0} (delta + eps), delta^2 = delta
    active = sp.integrate(explicit(phi(z)), (z, -al, sp.oo))              # P(a + u > 0)
    mean_def = om * (dl * active + e1)
    second_def = om ** 2 * (dl * active + 2 * dl * e1 + e2)

    def same(x, y):
        return is_zero((x - y).rewrite(sp.erf))

    Wn, ind_s, epsn = Norm(sp.Symbol("w")), sp.Symbol("1"), notation("E")
    alw = a / Wn
    steps = (
        Step(Text("Stein for a correlated projection: ",
                  sp.Eq(epsn(ind_s * eps), kap * phi(alw) / Wn, evaluate=False), " (", ind_s, " the neuron's activity, ",
                  sp.Eq(eps, Inner(sp.Symbol("xi_i"), sp.Symbol("mu_j")) / d, evaluate=False), ")"),
             sp.Eq(E1, first, evaluate=False), lambda st: same(e1, st.rhs)),
        Step(Text("second moment: ", sp.Eq(epsn(ind_s * eps ** 2), Phi(alw) / d - (kap / Wn) ** 2 * alw * phi(alw),
                                          evaluate=False)),
             sp.Eq(E2, second, evaluate=False), lambda st: same(e2, st.rhs)),
        Step(Text("a point of cluster ", sp.Symbol("c"), ": the two moments of its term ", Y, " (with ",
                  sp.Eq(kap, 0, evaluate=False), " the mixture mean is the claim)"),
             sp.And(sp.Eq(EY, point_mean, evaluate=False), sp.Eq(EY2, point_second, evaluate=False), evaluate=False),
             lambda st: all(same({EY: mean_def, EY2: second_def}[eq.lhs], eq.rhs) for eq in st.args)
             and is_zero(point_mean.subs(kap, 0) - om * dl * Phi(al))),
        Step(Text("binary weight of a cluster: ",
                  sp.Eq(-sp.Subs(sp.Derivative(notation("ell")(qq), qq), qq, 0) * yc * sr / m, yc * sr / (2 * m),
                        evaluate=False)),
             sp.Eq(sp.Symbol("omega_c"), weight, evaluate=False),
             lambda st: is_zero(-sp.diff(sp.log(1 + sp.exp(-qq)), qq).subs(qq, 0) * yc * sr / m - st.rhs)),
    )
    preds = {
        "point_mean": lambdify_prediction(
            [om, a, s_, kap, dl], point_mean,
            "E[Y | cluster c] = omega (delta_cj Phi(a_c/||w||) + kappa_j phi(a_c/||w||)/||w||): the mean of one "
            "training point's term in -<grad_w L, mu_j>/d, kappa_j = <w, mu_j>/d"),
        "point_second_moment": lambdify_prediction(
            [om, a, s_, kap, dl, d], point_second,
            "E[Y^2 | cluster c] = omega^2 (delta Phi + 2 delta kappa phi/||w|| + Phi/d - (kappa/||w||)^2 (a/||w||) phi)"),
        "weight": lambdify_prediction([yc, sr, m], weight,
                                      "omega_c = -l'(0) y_c s/m = y_c s/(2m): cluster c's weight in neuron (s, r)'s "
                                      "gradient at f = 0"),
    }
    return steps, preds


# ---- evidence -----------------------------------------------------------------------------------

#: The early-phase measurement: k = 10, d = 20, 10 neurons per sign (binary) or per output (ce),
#: init 1e-6 (so f ~ 1e-5 and -l'(0) = 1/2 holds to 1e-5), n = 8000 training points. d = 20 is
#: small on purpose: the variance term of every active point's noise (relative k/d) and the Stein
#: term (order 1/d) are then large enough for the rivals that drop them to be rejected.
EARLY = {"k": 10, "d": 20, "width": 10, "init": 1e-6, "n": 8000, "seeds": 64, "seeds_quick": 32}
#: the rate check: sizes and seeds per size
RATE_SIZES = {"n": (500, 2000, 8000, 32000), "seeds": 16, "seeds_quick": 8}


def early_seed(ctx, supervision, salt, n, *, k=EARLY["k"], d=EARLY["d"], width=EARLY["width"], init=EARLY["init"]):
    r"""One draw (features, data, init from ``ctx.rng(salt)``) of the early gradient and its derived law.

    The simulator's projections ``P_rj = -<grad_{w_r} L, mu_j>/d`` are compared with the claim's
    L2 coefficient ``c_rj`` (binary: ``y_j s_r Phi(a_j/||w_r||)/(2mk)``, C7.early_gradient;
    cluster labels: ``(1{c=j} - 1/k) Phi/(kh)``, C7.ce_decoupling). Their law at finite ``n`` and
    ``d`` (appended to C7.early_gradient's derivation): mean
    ``m1_rj = (1/k) sum_c point_mean(omega_rc, a_rc, ||w_r||, kappa_rj, delta_cj)`` (the claim
    plus the Stein term), variance ``(m2_rj - m1_rj^2)/n`` with ``m2`` from ``point_second_moment``.

    Returns
    -------
    dict
        ``relative_mse`` ``sum (P - c)^2 / sum c^2`` and its expectation ``expected``
        ``sum (Var + (m1 - c)^2) / sum c^2``; ``l1_mse`` ``sum (P - m1)^2 / sum c^2`` (expectation
        ``sum Var / sum c^2``, exactly ``1/n``); the rivals' expectations ``rivals``; ``f_max`` the
        largest ``|f|`` on the data (the ``f = 0`` approximation's size).
    """
    from featavg.simulate import BinaryNetwork, MultiClassNetwork, make_features, make_partition, sample_mixture

    rng = ctx.rng(salt)
    F = make_features(k, d, rng)
    labels = make_partition(k)
    S = sample_mixture(F, labels, n, rng)
    eg = ctx.claim(ID).predictions
    if supervision == "binary":
        M = 2 * width
        net = BinaryNetwork(init * rng.standard_normal((M, d)), init * rng.standard_normal(M))
        _, gW, _ = net.loss_and_grad(S.X, S.y)
        sy = net.neuron_signs[:, None] * labels[None, :]  # y_c s_r, (M, k)
        omega = np.asarray(eg["weight"](labels[None, :], net.neuron_signs[:, None], width), dtype=float)
    else:
        M = k * width
        net = MultiClassNetwork(init * rng.standard_normal((M, d)), init * rng.standard_normal(M), h=width)
        _, gW, _ = net.loss_and_grad(S.X, S.clusters)
        own = (np.repeat(np.arange(k), width)[:, None] == np.arange(k)[None, :]).astype(float)
        omega = np.asarray(ctx.prediction("C7.ce_decoupling", "weight")(own, k, width), dtype=float)
    proj = -(gW @ F.T) / d  # (M, k)
    # |f(x_i)| <= max_r |<w_r, x_i> + b_r| <= max_r (||w_r|| max_i ||x_i|| + |b_r|) (Cauchy-Schwarz)
    f_max = float(np.max(np.linalg.norm(net.W, axis=1) * np.max(np.linalg.norm(S.X, axis=1)) + np.abs(net.b)))
    WF = net.W @ F.T
    A = WF + net.b[:, None]  # a_rc = <w_r, mu_c> + b_r
    sig = np.linalg.norm(net.W, axis=1)[:, None]
    kappa = WF / d  # kappa_rj = <w_r, mu_j>/d
    # broadcast (M, c, j): cluster c's points, feature j
    om, a3, k3 = omega[:, :, None], A[:, :, None], kappa[:, None, :]
    delta = np.eye(k)[None]
    m1 = np.mean(np.asarray(eg["point_mean"](om, a3, sig[:, :, None], k3, delta), dtype=float), axis=1)
    m2 = np.mean(np.asarray(eg["point_second_moment"](om, a3, sig[:, :, None], k3, delta, d), dtype=float), axis=1)
    m2_counts = np.mean(np.asarray(eg["point_second_moment"](om, a3, sig[:, :, None], 0 * k3, delta, np.inf),
                                   dtype=float), axis=1)
    var = (m2 - m1 ** 2) / n
    # a rival: the simulator's mean would be the rival's coefficient (plus the same Stein term, scaled
    # with it), its variance scaled likewise; its expected MSE against the claim follows
    if supervision == "binary":
        pred = sy * np.asarray(eg["projection_over_d"](A, sig, width, k), dtype=float)
        half = sy * np.asarray(eg["projection_over_d"](0 * A, sig, width, k), dtype=float)  # Phi(0) = 1/2
        wrong = {"coefficient 1/(mk) (l'(0) = -1 instead of -1/2)": (2 * m1, 4.0),
                 "Phi replaced by 1/2 (activity ignored)": (half + m1 - pred, 1.0)}
    else:
        ce = ctx.claim("C7.ce_decoupling").predictions
        own_b = own.astype(bool)
        pred = np.where(own_b, ce["own"](A, sig, k, width), ce["other"](A, sig, k, width))
        wrong = {"no pull on other features (1{c=j} only)": (np.where(own_b, pred / (1 - 1 / k), 0.0) + m1 - pred, 1.0),
                 "own coefficient 1 instead of 1 - 1/k": (np.where(own_b, pred / (1 - 1 / k), pred) + m1 - pred, 1.0)}
    bias = m1 - pred
    var_counts = (m2_counts - pred ** 2) / n  # the binomial counts alone: E[Y^2] = omega^2 delta Phi / k
    norm = float(np.sum(pred ** 2))
    rivals = {name: float(np.sum(f * var + (mean - pred) ** 2) / norm) for name, (mean, f) in wrong.items()}
    rivals["variance of the binomial counts only (every point's noise <xi_i, mu_j>/d dropped)"] = \
        float(np.sum(var_counts + bias ** 2) / norm)
    rivals["no Stein term (the L2 coefficient exact at finite d)"] = float(np.sum(var) / norm)
    return {"relative_mse": float(np.sum((proj - pred) ** 2) / norm), "expected": float(np.sum(var + bias ** 2) / norm),
            "l1_mse": float(np.sum((proj - m1) ** 2) / norm), "l1_expected": float(np.sum(var) / norm),
            "rivals": rivals, "f_max": f_max, "pairs": int(pred.size)}


def early_outcome(ctx, supervision, salt):
    r"""Mean over seeds of the early gradient's relative MSE against the L2 claim, vs its derived expectation.

    Band: ``t(R-1)`` times the standard error over the ``R`` seeds of ``relative_mse - expected``
    (the pairs ``(r, j)`` share the cluster counts, so the seeds, not the pairs, are the
    independent replicates), plus a bound on the ``f = 0`` approximation: each loss weight is
    off by a relative ``<= 2 max|f|``, which moves the MSE by ``<= 2 (2 max|f|) sqrt(E) + (2 max|f|)^2``.
    """
    from featavg.evidence import mean_interval, t_quantile

    R = EARLY["seeds_quick" if ctx.quick else "seeds"]
    salts = [salt * 1000 + i for i in range(R)]
    rows = [early_seed(ctx, supervision, s, EARLY["n"]) for s in salts]
    meas = np.array([r["relative_mse"] for r in rows])
    expd = np.array([r["expected"] for r in rows])
    _, se, _ = mean_interval(meas - expd)
    t = t_quantile(R - 1)
    predicted = float(expd.mean())
    fdev = 2 * max(r["f_max"] for r in rows)
    band = Band(predicted, (
        Term(f"t({R - 1}) = {t:.3g} x standard error over {R} seeds of (relative MSE - its derived expectation)",
             t * se, "stat"),
        Term("f = 0 approximation: loss weights off by a relative 2 max|f|; moves the MSE by 4 max|f| sqrt(E) + "
             "(2 max|f|)^2", 2 * fdev * np.sqrt(predicted) + fdev ** 2)))
    rivals = {name: float(np.mean([r["rivals"][name] for r in rows])) for name in rows[0]["rivals"]}
    mean_meas = float(meas.mean())
    return Outcome(predicted, mean_meas, band, rivals=rivals, interval=(mean_meas - t * se, mean_meas + t * se),
                   seeds=salts,
                   details={"per_seed_relative_mse": meas, "per_seed_expected": expd, "pairs": rows[0]["pairs"],
                            "generator": "SeedSequence([seed, salt]) for each salt in seeds",
                            "relative_rms": float(np.sqrt(mean_meas)), "predicted_relative_rms": float(np.sqrt(predicted))},
                   config={**EARLY, "seeds": R, "supervision": supervision})


def _measure(ctx):
    return early_outcome(ctx, "binary", 81)


_RIVALS_BINARY = (
    Rival("coefficient 1/(mk) (l'(0) = -1 instead of -1/2)", "the loss derivative at 0 taken as -1"),
    Rival("Phi replaced by 1/2 (activity ignored)", "every neuron active on half of each cluster"),
    Rival("variance of the binomial counts only (every point's noise <xi_i, mu_j>/d dropped)",
          "the sampling law of the previous check: only the active counts fluctuate"),
    Rival("no Stein term (the L2 coefficient exact at finite d)", "the O(1/d) mean correction missing"))

PROJECTIONS = Check(
    "C7.early_gradient",
    "Early phase: simulator gradient on mu_j is y_j s Phi(a/||w||)/(2mk), its MSE as derived (variance + Stein term)",
    "small init 1e-6, k=10, d=20, m=10, n=8000; mean over 64 seeds (quick 32) of sum (P - c)^2/sum c^2 against "
    "its derived expectation sum (Var + (m1 - c)^2)/sum c^2", _measure, rivals=_RIVALS_BINARY, faults=("gradient", "closed_form"))


def _measure_rate(ctx):
    from featavg.evidence import t_quantile

    ns = RATE_SIZES["n"]
    R = RATE_SIZES["seeds_quick" if ctx.quick else "seeds"]
    x, y, var, salts, per = [], [], [], [], []
    for a, nn in enumerate(ns):
        ss = [91000 + 100 * a + i for i in range(R)]
        vals = np.array([early_seed(ctx, "binary", s, nn)["l1_mse"] for s in ss])
        mean, sd = float(vals.mean()), float(vals.std(ddof=1))
        # y = log RMS = (1/2) log(mean MSE); delta method: var(y) = (1/4) (se/mean)^2
        x.append(np.log(nn))
        y.append(0.5 * np.log(mean))
        var.append(0.25 * (sd / np.sqrt(R) / mean) ** 2)
        salts += ss
        per.append(vals)
    x, y, wgt = np.array(x), np.array(y), 1.0 / np.array(var)
    xb, yb = np.sum(wgt * x) / wgt.sum(), np.sum(wgt * y) / wgt.sum()
    sxx = float(np.sum(wgt * (x - xb) ** 2))
    slope = float(np.sum(wgt * (x - xb) * (y - yb)) / sxx)
    se = 1.0 / np.sqrt(sxx)
    t = t_quantile(R - 1)
    chi2 = float(np.sum(wgt * (y - yb - slope * (x - xb)) ** 2))
    band = Band(-0.5, (Term(f"t({R - 1}) = {t:.3g} x standard error of the weighted slope, 1/sqrt(sum w (x - xbar)^2), "
                            f"w = 1/var(log RMS) from {R} seeds per size", t * se, "stat"),))
    return Outcome(-0.5, slope, band, interval=(slope - t * se, slope + t * se), seeds=salts,
                   rivals={"-1 (an O(1/n) error)": -1.0, "-1/4": -0.25, "0 (an error floor: a wrong limit)": 0.0},
                   details={"n": list(ns), "relative_rms": np.exp(y), "var_log_rms": np.array(var),
                            "weighted_chi2": chi2, "per_size_l1_mse": per,
                            "generator": "SeedSequence([seed, salt]) for each salt in seeds"},
                   config={k_: EARLY[k_] for k_ in ("k", "d", "width", "init")} | {"seeds_per_size": R})


RATE = Check(
    "C7.early_gradient.rate",
    "Rate: the early gradient's RMS error about its derived mean ~ n^(-1/2) (weighted slope)",
    "as C7.early_gradient, n = 500..32000, 16 seeds per size (quick 8); error about m1 (the claim plus its Stein term), "
    "whose variance is (E Y^2 - (E Y)^2)/n exactly", _measure_rate,
    rivals=(Rival("-1 (an O(1/n) error)", "an error of order 1/n"), Rival("-1/4", "a slower, wrong exponent"),
            Rival("0 (an error floor: a wrong limit)", "a wrong L2 formula or a missing O(1/d) term")),
    faults=("gradient", "closed_form"))


def _early_phase(ctx):
    from scipy.special import ndtri

    from featavg._figures import BLUE, LIGHT_BLUE, LIGHT_RED, RED, new_figure
    from featavg._output import fmt
    from featavg.simulate import Config

    k, d, m = 10, 3072, 5
    n = 500 if ctx.quick else 1000
    steps = 25 if ctx.quick else 40
    eta = 1e-4  # a tenth of the paper's step, so that the early phase spans several steps
    seed = ctx.child_seed(4)
    cfg = Config(k=k, d=d, n=n, n_test=10, m=m, eta=eta, steps=steps, init_scale=1e-5, history_every=1,
                 engine="reduced", seed=seed)
    run = ctx.run(cfg)
    H, labels = run.history, run.cluster_labels
    S = np.asarray(H["step"])
    A, F = H["activation_fractions"], H["feature_coefficients"]  # (T, M, k)
    signs = np.repeat([1, -1], m)
    sy = signs[:, None] * labels[None, :]
    own = sy > 0
    # C7.early_gradient: -<grad L, mu_j>/d = y_j s Phi(a_j/||w||)/(2mk), Phi(a/||w||) the active fraction;
    # fed the measured fraction A (a = Phi^{-1}(A), ||w|| = 1) and summed over the steps
    proj = ctx.prediction(ID, "projection_over_d")
    inc = eta * sy[None] * np.asarray(proj(ndtri(A), 1.0, m, k), float)
    pred = F[0][None] + np.concatenate([np.zeros((1,) + F.shape[1:]), np.cumsum(inc[:-1], axis=0)])

    fig = new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2)
    # per-pair spread as 10-90% bands (a hundred thin antialiased lines would bloat the PNG), the
    # slowest pair dotted
    for mask, col, light, name in ((own, BLUE, LIGHT_BLUE, "own"), (~own, RED, LIGHT_RED, "opposite")):
        lo, hi = np.quantile(A[:, mask], [0.1, 0.9], axis=1)
        ax.fill_between(S, lo, hi, color=light, lw=0, label=f"{name}-class pairs, 10% to 90%")
    ax.plot(S, A[:, own].min(axis=1), color=BLUE, ls=":", lw=1, label="own-class pairs, minimum")
    ax.plot(S, A[:, own].mean(axis=1), color=BLUE, lw=2.2, label="own-class clusters (mean)")
    ax.plot(S, A[:, ~own].mean(axis=1), color=RED, lw=2.2, label="opposite-class clusters (mean)")
    ax.set_xlabel("GD step")
    ax.set_ylabel(r"fraction of cluster $j$'s points where neuron $r$ is active")
    ax.set_title(r"Activation fractions of the pairs (neuron $r$, cluster $j$)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="center right")

    scale = 1e-5
    for mask, light, name in ((own, LIGHT_BLUE, "own"), (~own, LIGHT_RED, "opposite")):
        lo, hi = np.quantile(F[:, mask], [0.1, 0.9], axis=1)
        ax2.fill_between(S, lo / scale, hi / scale, color=light, lw=0, label=f"{name}-class pairs, 10% to 90%")
    ax2.plot(S, F[:, own].min(axis=1) / scale, color=BLUE, ls=":", lw=1, label="own-class pairs, minimum")
    ax2.plot(S, F[:, own].mean(axis=1) / scale, color=BLUE, lw=2.2, label="own-class features (mean)")
    ax2.plot(S, F[:, ~own].mean(axis=1) / scale, color=RED, lw=2.2, label="opposite-class features (mean)")
    ax2.plot(S, pred[:, own].mean(axis=1) / scale, color="black", ls="--", lw=1.3,
             label="C7.early_gradient, summed over steps")
    ax2.plot(S, pred[:, ~own].mean(axis=1) / scale, color="black", ls="--", lw=1.3)
    ax2.set_xlabel("GD step")
    ax2.set_ylabel(r"coefficient $\langle w_r, \mu_j\rangle / d$  ($\times 10^{-5}$)")
    ax2.set_title(r"Feature coefficients of the pairs $(r, j)$")
    ax2.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Early phase of binary training (k={k}, d={d}, n={n}, m={m}, eta={eta:g}, init 1e-5)")

    t_all = next((int(S[t]) for t in range(len(S)) if A[t][own].min() >= 0.99), None)
    own_final = F[-1][own]
    spread = float(own_final.std() / own_final.mean())
    dev_own = float(abs(F[-1][own].mean() / pred[-1][own].mean() - 1.0))
    dev_opp = float(abs(F[-1][~own].mean() / pred[-1][~own].mean() - 1.0))
    data = {"seed": ctx.seed, "run_seed": seed, "config": cfg.to_dict(),
            "activation_own_mean": A[:, own].mean(axis=1), "activation_opposite_mean": A[:, ~own].mean(axis=1),
            "coefficient_own_mean": F[:, own].mean(axis=1), "coefficient_opposite_mean": F[:, ~own].mean(axis=1),
            "predicted_own_mean": pred[:, own].mean(axis=1), "predicted_opposite_mean": pred[:, ~own].mean(axis=1),
            "all_own_active_from_step": t_all, "final_own_coefficient_relative_std": spread,
            "final_relative_deviation_own": dev_own, "final_relative_deviation_opposite": dev_opp}
    caption = (f"The first {steps} GD steps of a binary net (k={k}, d={d}, n={n}, m={m}, eta={eta:g}, init 1e-5, "
               f"seed {seed} from SeedSequence([{ctx.seed}, 4, 0]), reduced engine). Each neuron starts active on "
               f"about half of every cluster, switches on for all own-class points (all pairs >= 99% "
               f"{'from step ' + str(t_all) if t_all is not None else 'not yet by the last step'}) and almost off for the other class; once active, its coefficients on all own-class "
               f"features grow at one rate (final relative standard deviation {fmt(spread)}) and the class means "
               f"follow the summed early gradient of C7.early_gradient within {fmt(dev_own)} (own) and "
               f"{fmt(dev_opp)} (opposite) relative, drifting apart as the loss derivative leaves 1/2.")
    return fig, caption, data


EARLY_PHASE = Figure("early_phase", "Early phase: activation fractions and feature coefficients", _early_phase)
