r"""C7.early_gradient: in the early phase the gradient is a positive combination of own-class features.

With small initialisation (``f ~ 0``, so ``-l'(0) = 1/2``) and Gaussian noise, the population
gradient's projection on each feature follows from two Gaussian integrals (Stein's lemma):
:math:`E[1\{a + \|w\| z > 0\}] = \Phi(a/\|w\|)` and :math:`E[1\{a + \|w\| z > 0\} z] =
\varphi(a/\|w\|)`, so to leading order in ``d``

.. math:: -\langle \nabla_{w_{s,r}} L, \mu_j\rangle / d \to y_j\, s\, \frac{\Phi(a_j/\|w\|)}{2mk},
          \qquad a_j = \langle w, \mu_j\rangle + b:

every own-class cluster pushes every own-class neuron (no neuron specialises), the other class pulls.

Evidence: the simulator's gradient at a small random initialisation against the formula, with the
error the finite sample predicts; its rate in ``n``; the early-phase figure.
"""

import functools

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term, quantile
from featavg.theory import Claim, Inner, Step, is_zero, lambdify_prediction
from featavg.theory._claim import Norm, Text, notation
from featavg.theory._common import Phi, d, evaluate_sums, explicit, factor_sums, k, logistic, m, phi, phi_positive


def early_projection_error(ctx, n, supervision, salt, d=200, k=10, width=25, init=1e-4):
    """The simulator's early gradient projections against the L2 claim, and the sampling prediction.

    Binary: ``-<grad_{w_{s,r}} L, mu_j>/d`` vs ``y_j s Phi(a/||w||)/(2mk)`` (C7.early_gradient);
    cluster labels: vs ``(1-1/k) Phi/(kh)`` on the own feature and ``-(1/k) Phi/(kh)`` on others
    (C7.ce_decoupling); ``a = <w, mu_j> + b``, ``m = width`` (binary) or ``h = width``.

    Sampling. A projection is ``(1/n)`` times a sum over the ``A_j ~ Binomial(n, Phi/k)`` active
    points of cluster ``j`` (the ``O(1/sqrt d)`` noise inner products aside), so its relative
    variance is ``(1 - Phi/k) k/(n Phi)``, and the relative RMS error over the pairs is
    ``sqrt(sum Var / sum pred^2) = sqrt(k mean(Phi (1 - Phi/k)) / (n mean(Phi^2)))``.

    Returns
    -------
    error : float
        Relative RMS error ``sqrt(mean (proj - pred)^2 / mean pred^2)``.
    sampling : float
        Its prediction from the binomial counts (above).
    pairs : int
    rival_error : dict
        The relative RMS distance between the claim and each rival prediction.
    """
    from scipy.special import ndtr

    from featavg.simulate import BinaryNetwork, MultiClassNetwork, make_features, make_partition, sample_mixture

    rng = ctx.rng(salt)
    F = make_features(k, d, rng)
    labels = make_partition(k)
    S = sample_mixture(F, labels, n, rng)
    if supervision == "binary":
        M = 2 * width
        net = BinaryNetwork(init * rng.standard_normal((M, d)), init * rng.standard_normal(M))
        _, gW, _ = net.loss_and_grad(S.X, S.y)
    else:
        M = k * width
        net = MultiClassNetwork(init * rng.standard_normal((M, d)), init * rng.standard_normal(M), h=width)
        _, gW, _ = net.loss_and_grad(S.X, S.clusters)
    proj = -(gW @ F.T) / d  # (M, k)
    A = net.W @ F.T + net.b[:, None]
    sig = np.linalg.norm(net.W, axis=1)[:, None]
    P = ndtr(A / sig)
    if supervision == "binary":
        c = ctx.claim("C7.early_gradient").predictions["projection_over_d"](A, sig, width, k)
        sy = net.neuron_signs[:, None] * labels[None, :]
        pred = sy * c
        rivals = {"coefficient 1/(mk) (l'(0) = -1 instead of -1/2)": 2 * pred,
                  "Phi replaced by 1/2 (activity ignored)": sy * c / np.maximum(P, 1e-300) / 2}
    else:
        own = np.repeat(np.arange(k), width)[:, None] == np.arange(k)[None, :]
        ce = ctx.claim("C7.ce_decoupling").predictions
        pred = np.where(own, ce["own"](A, sig, k, width), ce["other"](A, sig, k, width))
        rivals = {"no pull on other features (1{c=j} only)": np.where(own, pred / (1 - 1 / k), 0.0),
                  "own coefficient 1 instead of 1 - 1/k": np.where(own, pred / (1 - 1 / k), pred)}
    norm2 = float(np.mean(pred ** 2))
    err = float(np.sqrt(np.mean((proj - pred) ** 2) / norm2))
    sampling = float(np.sqrt(k * np.mean(P * (1 - P / k)) / (n * np.mean(P ** 2))))
    rival_err = {name: float(np.sqrt(np.mean((r - pred) ** 2) / norm2 + sampling ** 2)) for name, r in rivals.items()}
    return err, sampling, int(pred.size), rival_err


def early_outcome(ctx, supervision, salt):
    """The Outcome of an early-phase check: measured RMS error against its sampling prediction."""
    n = 4000 if ctx.quick else 16000
    err, sampling, pairs, rival_err = early_projection_error(ctx, n, supervision, salt)
    z = quantile()
    # an RMS over P pairs of roughly Gaussian errors has relative standard deviation 1/sqrt(2P);
    # the neglected Stein term phi(a/||w||) <w, mu>/||w|| is O(1/d) of the projection (d = 200)
    band = Band(sampling, (Term(f"z = {z:.3g} x relative standard deviation 1/sqrt(2P) of an RMS over P = {pairs} pairs",
                                z * sampling / np.sqrt(2 * pairs), "stat"),
                           Term("neglected Stein term, O(1/d) relative, d = 200", 1.0 / 200)))
    return Outcome(sampling, err, band, rivals=rival_err, seeds=[ctx.seed],
                   details={"pairs": pairs, "n": n}, config={"n": n, "d": 200, "k": 10, "width": 25, "init": 1e-4})


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


# ---- evidence -----------------------------------------------------------------------------------

def _measure(ctx):
    return early_outcome(ctx, "binary", 81)


PROJECTIONS = Check(
    "C7.early_gradient", "Early phase: simulator gradient on mu_j is y_j s Phi(a/||w||)/(2mk) up to sampling error",
    "small init 1e-4, k=10, d=200, m=25, n=16000 (quick 4000); measured relative RMS error against the binomial "
    "sampling prediction sqrt(k mean(Phi(1-Phi/k))/(n mean(Phi^2)))", _measure,
    rivals=(Rival("coefficient 1/(mk) (l'(0) = -1 instead of -1/2)", "the loss derivative at 0 taken as -1"),
            Rival("Phi replaced by 1/2 (activity ignored)", "every neuron active on half of each cluster")),
    faults=("gradient",))


def _measure_rate(ctx):
    from featavg.evidence import fit_power_law

    ns = [500, 2000, 8000] if ctx.quick else [500, 2000, 8000, 32000]
    errs = [early_projection_error(ctx, nn, "binary", 100 + i)[0] for i, nn in enumerate(ns)]
    fit = fit_power_law(ns, errs, level=0.999)
    band = Band(-0.5, (Term(f"t({len(ns) - 2} dof) x standard error of the fitted slope", fit["halfwidth"], "stat"),))
    return Outcome(-0.5, fit["slope"], band, interval=tuple(fit["ci"]), seeds=[ctx.seed],
                   rivals={"-1 (an O(1/n) bias)": -1.0, "0 (an error floor)": 0.0},
                   details={"n": ns, "relative_error": errs}, config={"d": 200, "k": 10, "m": 25, "init": 1e-4})


RATE = Check(
    "C7.early_gradient.rate", "Rate: early-gradient error vs n ~ n^(-1/2) (fitted slope)",
    "as C7.early_gradient, n = 500..32000 (quick 500..8000)", _measure_rate,
    rivals=(Rival("-1 (an O(1/n) bias)", "an error of order 1/n"), Rival("0 (an error floor)", "a wrong L2 formula")),
    faults=("gradient",))


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
