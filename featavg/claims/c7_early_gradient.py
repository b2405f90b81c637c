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

import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Figure, Outcome, Rival, Term, quantile
from featavg.theory import Claim, Inner, Step, is_zero, lambdify_prediction
from featavg.theory._common import Phi, d, k, m, phi, phi_positive


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


def derive():
    r"""The claim: Stein's lemma and the sign of the early gradient's projections."""
    a = sp.Symbol("a", real=True)
    s_ = sp.Symbol("sigma", positive=True)  # ||w||
    z = sp.Symbol("z", real=True)
    ys = sp.Symbol("y_i", real=True) * sp.Symbol("s", real=True)
    # - <grad_w L, mu_i> from cluster i (prob 1/k), -l'(0) = 1/2, f ~ 0:
    #   (1/(2mk)) y_i s [Phi(a_i/||w||) d + phi(a_i/||w||) <w, mu_i>/||w||]
    wmu = Inner(sp.Symbol("w"), sp.Symbol("mu_i"))
    proj = ys * (Phi(a / s_) * d + phi(a / s_) * wmu / s_) / (2 * m * k)
    leading = sp.limit(proj / d, d, sp.oo)
    statement = sp.Eq(-Inner(sp.Derivative(sp.Symbol("L"), sp.Symbol("w_s,r")), sp.Symbol("mu_i")) / d, leading)
    # sigma = ||w||; the expectation over z ~ N(0, 1) is written as the integral the check computes
    steps = (
        Step("Stein: E[1{a + ||w|| z > 0} z] = phi(a/||w||)",
             sp.Eq(sp.Integral(z * phi(z), (z, -a / s_, sp.oo)), phi(a / s_), evaluate=False),
             lambda: is_zero(sp.integrate(z * phi(z), (z, -a / s_, sp.oo)) - phi(a / s_))),
        Step("P(active) = Phi(a/||w||)",
             sp.Eq(sp.Integral(phi(z), (z, -a / s_, sp.oo)), Phi(a / s_), evaluate=False),
             lambda: is_zero((sp.integrate(phi(z), (z, -a / s_, sp.oo)) - Phi(a / s_)).rewrite(sp.erf))),
        Step("leading order in d of the projection on mu_i: y_i s Phi(a_i/||w||)/(2mk)",
             sp.Eq(sp.Limit(proj / d, d, sp.oo), ys * Phi(a / s_) / (2 * m * k), evaluate=False),
             lambda: is_zero(leading - ys * Phi(a / s_) / (2 * m * k))),
        Step("its coefficient Phi/(2mk) is positive: own class pushes (+), other class pulls (-)",
             sp.Gt(Phi(a / s_) / (2 * m * k), 0, evaluate=False),
             lambda: phi_positive() and bool(sp.simplify(leading / ys / Phi(a / s_)).is_positive)),
    )
    preds = {"projection_over_d": lambdify_prediction(
        [a, s_, m, k], leading / ys,
        "coefficient c with -<grad L, mu_i>/d -> y_i s c, c = Phi(a_i/||w||)/(2 m k) > 0, a_i = <w,mu_i> + b")}
    return Claim(id=ID, title="Early phase: gradient is a positive combination of own-class features",
                 statement=statement,
                 assumptions="Gaussian noise N(0, I); f(x) ~ 0 so -l'(0) = 1/2; population gradient (L1).",
                 regime="early phase, small init, leading order in d", steps=steps, predictions=preds)


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
