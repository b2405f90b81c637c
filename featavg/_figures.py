r"""The figures of the derivation report (``featavg report``; SPEC §5, §6).

Each figure is a :class:`FigureSpec` in :data:`FIGURES` (stable order): an ``id``, a ``title``, the
theory claims it illustrates and a builder that runs the simulator, draws the figure and returns
its caption and the numbers it shows. :func:`make_figures` runs the builders and writes
``figures/<id>.png`` under the output directory; it returns one :class:`FigureResult` per figure.

Sources. Measurements come from :mod:`featavg.simulate` (runs, exact radii); every predicted
curve or line is lambdified from a :mod:`featavg.theory` claim (``claim.predictions``), never
retyped. The paper-setting runs are the ones ``featavg verify`` measures
(:meth:`featavg._verify.VerifyContext.paper_config`: ``k=10, d=3072, n=1000, m=5, eta=1e-3,
T=100, init 1e-5``, reduced engine, the same seed), so a figure and the check table agree.

Reproducibility. One ``seed``: the paper-setting runs use it as their ``Config.seed``; every other
run derives its own from ``SeedSequence([seed, salt, i])`` (one salt per figure, ``i`` the point of a
sweep), and the seed is recorded in each result's ``data``. Figures are drawn on a
:class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot, no global backend), under
Matplotlib's default style, at a fixed size and :data:`DPI`, and saved as PNG without metadata
(no ``Software`` text chunk; Matplotlib writes no timestamp into a PNG), so the same seed on the
same machine gives byte-identical files. Files are written atomically
(:func:`featavg.simulate.atomic_write`).

Large ``d``. The gradient on ``<w, mu_j>`` grows like ``d`` and a GD step moves ``w`` by about
``eta sqrt(d)`` while the initial weights have norm ``sigma_w sqrt(d)``. The sweeps over ``d`` keep
``eta d = 30.72`` and ``sigma_w d = 3.072e-2`` (both the paper's values at ``d = 3072``), which
keeps the ratio of the first step to the initial weights, hence the whole early phase, the same at
every ``d``. (Scaling ``sigma_w`` like ``d^{-1/2}`` instead leaves the initial weights relatively
ever larger: the averaging score falls to 0.976 at ``d = 10^7`` and 0.845 at ``10^8``, seed 0.)
"""

import functools
import io
import math
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["FigureResult", "FigureSpec", "FIGURES", "DPI", "figure_ids", "make_figures"]

#: resolution of every PNG (pixels per inch); sizes are fixed per figure in inches
DPI = 100

#: significant digits of the floats stored in ``FigureResult.data``
DATA_DIGITS = 6

#: confidence level of fitted slopes' intervals (as ``featavg scaling``)
CONFIDENCE = 0.95

#: the paper's synthetic setting (SPEC §1) and the products kept fixed when ``d`` grows
_PAPER = {"k": 10, "d": 3072, "n": 1000, "m": 5, "eta": 1e-3, "steps": 100, "init_scale": 1e-5}
_ETA_D = 30.72     # eta * d at the paper's setting (1e-3 * 3072)
_INIT_D = 3.072e-2  # sigma_w * d at the paper's setting (1e-5 * 3072)

#: colours: J+ / its neurons, J- / its neurons, the decoupled net, predictions
_BLUE, _RED, _GREEN, _ORANGE = "tab:blue", "tab:red", "tab:green", "tab:orange"
_LIGHT_BLUE, _LIGHT_RED = "#c6dbef", "#fbc4c4"  # bands of per-pair spreads


@dataclass(frozen=True)
class FigureResult:
    """One written figure.

    Attributes
    ----------
    id : str
        The figure's id in :data:`FIGURES` (``"cosine_heatmaps"``...).
    file : str
        PNG path relative to the output directory, ``"figures/<id>.png"``.
    title : str
    caption : str
        What was run (sizes, seed), the measured numbers (4 significant digits) and what to look for.
    claims : tuple of str
        Ids of the :mod:`featavg.theory` claims the figure illustrates.
    data : dict
        JSON-ready numbers shown in the figure, floats rounded to :data:`DATA_DIGITS` significant digits.
    """

    id: str
    file: str
    title: str
    caption: str
    claims: tuple
    data: dict


@dataclass(frozen=True)
class FigureSpec:
    """A figure's definition: ``build(ctx) -> (Figure, caption, data)``."""

    id: str
    title: str
    claims: tuple
    build: Callable


# --------------------------------------------------------------------------------------------
# helpers

def _round(x, digits=DATA_DIGITS):
    """``x`` made JSON-ready: floats to ``digits`` significant digits, arrays to lists, recursively."""
    if isinstance(x, dict):
        return {str(k): _round(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v, digits) for v in x]
    if isinstance(x, np.ndarray):
        return _round(x.tolist(), digits)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return float(f"{x:.{digits}g}") if math.isfinite(x) else None
    return x


def _g(x):
    """A number in a caption: at most 4 significant digits."""
    return f"{float(x):.4g}"


def _new_figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png_bytes(fig):
    """The figure as PNG bytes, without metadata (no Software chunk, no timestamp)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _fit(x, y):
    """Slope of ``log y`` vs ``log x`` with its 95% interval (:func:`featavg._cmd_scaling.fit_power_law`)."""
    from featavg._cmd_scaling import fit_power_law

    return fit_power_law(x, y, CONFIDENCE)


def _radii(ctx, net, X, y, cluster_labels=None, readout="argmax"):
    from featavg._verify import _radii as radii

    return radii(ctx, net, X, y, cluster_labels, readout)


def _late_start(history, cluster_labels, m):
    """First recorded index of the late regime (as the check ``C7.lambert_w.trained``).

    Every own-class neuron active on at least 99% of its class's points, opposite ones on at
    most 10% of the other class's points.
    """
    signs = np.repeat([1, -1], m)
    same = signs[:, None] == np.asarray(cluster_labels)[None, :]
    A = history["activation_fractions"]
    late = [bool(a[same].min() >= 0.99 and a[~same].max() <= 0.1) for a in A]
    return late.index(True) if any(late) else None


class _Context:
    """One ``make_figures`` call: seed, sizes, the cached paper-setting runs (shared with verify)."""

    def __init__(self, seed, quick, verify=None):
        from featavg._verify import VerifyContext

        self.seed = seed
        self.quick = quick
        self.verify = verify if verify is not None else VerifyContext(quick=quick, seed=seed)
        #: test points whose exact radius enters the robust-accuracy curves (verify's number)
        self.n_radius = self.verify.n_radius
        # the attributes verify's helpers expect of a context
        self.exact_radii = self.verify.exact_radii
        self.simulate = self.verify.simulate

    def child_seed(self, salt, index=0):
        """An int seed for ``Config(seed=...)`` from ``SeedSequence([seed, salt, index])``."""
        return int(np.random.SeedSequence([self.seed, salt, index]).generate_state(1)[0])

    @staticmethod
    def prediction(claim_id, name):
        from featavg.theory import get_claim

        return get_claim(claim_id).predictions[name]

    @functools.cached_property
    def binary_run(self):
        return self.verify.binary_run

    @functools.cached_property
    def cluster_run(self):
        return self.verify.cluster_run


def _paper_text(run):
    c = run.config
    return (f"k={c.k}, d={c.d}, n={c.n}, m={c.m}, eta={c.eta:g}, {c.steps} GD steps, init {c.init_scale:g}, "
            f"seed {c.seed}, reduced engine")


# --------------------------------------------------------------------------------------------
# 1. cosine heatmaps (the paper's Figure 2)

def _cosine_heatmaps(ctx):
    from featavg.simulate import averaging_score, cosine_matrix, decoupling_score

    b, c = ctx.binary_run, ctx.cluster_run
    k, m = b.config.k, b.config.m
    labels = b.cluster_labels
    fig = _new_figure((10.0, 4.6))
    axes = fig.subplots(1, 2)
    mats = {}
    for ax, run, name in ((axes[0], b, "binary"), (axes[1], c, "cluster")):
        C = cosine_matrix(run.network.W, run.features)
        mats[name] = C
        im = ax.imshow(C, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
        for (r, j), v in np.ndenumerate(C):
            ax.text(j, r, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                    color="white" if abs(v) > 0.6 else "black")
        ax.set_xticks(range(k), [f"{j}{'+' if labels[j] > 0 else '−'}" for j in range(k)])
        ax.set_xlabel(r"cluster feature $\mu_j$ (its label)")
        if name == "binary":
            ax.set_yticks(range(2 * m), [f"({'+' if r < m else '−'}1, {r % m})" for r in range(2 * m)])
            ax.set_ylabel(r"neuron $(s, r)$")
            ax.set_title("binary supervision (labels $y$)")
        else:
            h = run.config.h
            ax.set_yticks(range(k * h), [f"({r // h}, {r % h})" for r in range(k * h)])
            ax.set_ylabel(r"neuron $(j, r)$ of output $j$")
            ax.set_title("cluster supervision (labels $j$)")
    fig.colorbar(im, ax=list(axes), label=r"$\cos(w_r, \mu_j)$", shrink=0.85)
    fig.suptitle(r"Cosine of each trained neuron with each cluster feature (paper setting, $k=10$, $d=3072$)")

    signs = np.repeat([1, -1], m)
    own = signs[:, None] == labels[None, :]
    own_cos = float(mats["binary"][own].mean())
    predicted_own = float(np.mean(1.0 / np.sqrt(own.sum(axis=1))))  # SPEC C1: 1/sqrt(|J_s|)
    avg = averaging_score(b.network, b.features, labels)
    dec = decoupling_score(c.network, c.features, c.cluster_labels)
    diag = np.repeat(np.arange(k), c.config.h)[:, None] == np.arange(k)[None, :]
    off_max = float(mats["cluster"][~diag].max())
    data = {"seed": ctx.seed, "config_binary": b.config.to_dict(), "config_cluster": c.config.to_dict(),
            "cosine_binary": mats["binary"], "cosine_cluster": mats["cluster"],
            "binary_mean_own_class_cosine": own_cos, "binary_predicted_own_class_cosine": predicted_own,
            "binary_opposite_class_max_cosine": float(mats["binary"][~own].max()),
            "averaging_score_binary": avg, "decoupling_score_cluster": dec,
            "cluster_max_off_feature_cosine": off_max}
    caption = (f"Cosine between each trained neuron's weight and each cluster feature ({_paper_text(b)}). "
               f"Binary labels: every neuron is spread evenly over its class's features (mean cosine "
               f"{_g(own_cos)} against 1/sqrt(|J_s|) = {_g(predicted_own)} for exact averaging; averaging score "
               f"{_g(avg)}); cluster labels: each neuron holds its own feature alone (decoupling score "
               f"{_g(dec)}, off-feature cosines at most {_g(off_max)}). Look for two 5x5 blocks on the left "
               f"against a diagonal on the right.")
    return fig, caption, data


# --------------------------------------------------------------------------------------------
# 2. robust accuracy vs delta

def _robust_accuracy(ctx):
    from featavg._predictions import predicted_radii
    from featavg.simulate import robust_accuracy

    b = ctx.binary_run
    d, k = b.config.d, b.config.k
    n = ctx.n_radius
    radii = {  # the points and radii of verify's C3/C5 checks (cached in its context)
        "binary (averaging)": ctx.verify.trained_radii("binary"),
        "cluster, argmax readout": ctx.verify.trained_radii("cluster", "argmax"),
        "cluster, sum readout": ctx.verify.trained_radii("cluster", "sum"),
    }
    pred = predicted_radii(d, k)  # C3.averaging_radius, C5.readouts (sum, argmax)
    K = int(np.sum(b.cluster_labels < 0))  # |J_{-y}| of the balanced partition
    grid = np.linspace(0.0, 1.25 * pred["sqrt_d_over_2"], 501)
    pair = np.asarray(ctx.prediction("C4.optimal_bound", "pair_robust_accuracy")(d, grid), float)
    mixture = ctx.prediction("C4.optimal_bound", "mixture_robust_accuracy")
    grid_mix = np.linspace(0.0, 1.25 * pred["sqrt_d_over_2"], 61)
    mix = np.array([float(mixture(d, float(t), K)) for t in grid_mix])

    fig = _new_figure((8.0, 5.4))
    ax = fig.subplots()
    colours = {"binary (averaging)": _BLUE, "cluster, argmax readout": _GREEN, "cluster, sum readout": _ORANGE}
    for name, r in radii.items():
        ax.step(grid, robust_accuracy(r, grid), where="post", color=colours[name], lw=2,
                label=f"{name}: median {np.median(r):.1f}")
    ax.plot(grid, pair, color="black", lw=1.5, label=r"optimum $\Phi(\sqrt{d/2}-\delta)$ (C4)")
    ax.plot(grid_mix, mix, color="black", lw=1, ls=":", label=f"nearest-mean classifier, mixture (C4, K={K})")
    lines = ((pred["sqrt_d_over_k"], r"$\sqrt{d/k}$", _BLUE), (pred["sqrt_d_over_1_plus_half_k"],
             r"$\sqrt{d/(1+k/2)}$", _ORANGE), (pred["sqrt_d_over_2"], r"$\sqrt{d/2}$", _GREEN))
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
    ref = {"binary": pred["sqrt_d_over_k"], "argmax": pred["sqrt_d_over_2"], "sum": pred["sqrt_d_over_1_plus_half_k"]}
    ratios = {key[nm]: med[nm] / ref[key[nm]] for nm in med}
    at = {key[nm]: {lab: float(robust_accuracy(radii[nm], [x])[0]) for lab, x in
                    (("sqrt_d_over_k", pred["sqrt_d_over_k"]), ("sqrt_d_over_1_plus_half_k",
                     pred["sqrt_d_over_1_plus_half_k"]), ("sqrt_d_over_2", pred["sqrt_d_over_2"]))} for nm in med}
    data = {"seed": ctx.seed, "points": n, "d": d, "k": k, "predicted_radii": pred,
            "median_radius": {key[nm]: v for nm, v in med.items()}, "median_over_predicted": ratios,
            "robust_accuracy_at": at, "radii": {key[nm]: r for nm, r in radii.items()}}
    caption = (f"Robust accuracy from exact minimal L2 radii of {n} test points ({_paper_text(b)}). Median "
               f"radius over its prediction: binary net {_g(med['binary (averaging)'])} = "
               f"{_g(ratios['binary'])} sqrt(d/k), multi-class net with argmax {_g(med['cluster, argmax readout'])} = "
               f"{_g(ratios['argmax'])} sqrt(d/2), with sum {_g(med['cluster, sum readout'])} = "
               f"{_g(ratios['sum'])} sqrt(d/(1+k/2)). Each curve should drop near its dashed line; only the "
               f"argmax readout approaches the optimum Phi(sqrt(d/2) - delta).")
    return fig, caption, data


# --------------------------------------------------------------------------------------------
# 3. margin trajectories in the late regime vs the Lambert-W solution and the GD map

def _margin_trajectories(ctx):
    from featavg.simulate import Config

    d = 10 ** 6
    k, m = 10, 5
    n = 500 if ctx.quick else 1000
    steps, every = 300, 10
    eta = _ETA_D / d / 10  # eta d = 3.072 (as the check C7.lambert_w.trained): eta C ~ 0.06
    cfg = Config(k=k, d=d, n=n, n_test=10, m=m, eta=eta, init_scale=1e-5 * math.sqrt(3072 / d), steps=steps,
                 history_every=every, engine="reduced", seed=ctx.seed)
    run = ctx.simulate(cfg)
    H, labels = run.history, run.cluster_labels
    i0 = _late_start(H, labels, m)
    if i0 is None:
        raise RuntimeError("margin_trajectories: the trained run never reached the late regime")
    step_map = ctx.prediction("C7.gd_step", "step")
    LW = {name: ctx.prediction("C7.lambert_w", name) for name in ("q", "C", "c_from_q0")}
    Q, S = H["cluster_margins"], np.asarray(H["step"])
    late_steps = S[i0:]
    classes = {}
    for s in (1, -1):
        idx = labels == s
        C = float(LW["C"](d, int(idx.sum()), m, k))
        q0 = float(Q[i0, idx].mean())
        q_map = [q0]
        for _ in range(int(late_steps[-1] - late_steps[0])):
            q_map.append(float(step_map(q_map[-1], eta, C)))
        q_map = np.array(q_map)[late_steps - late_steps[0]]
        q_flow = np.asarray(LW["q"](eta * (late_steps - late_steps[0]), C, float(LW["c_from_q0"](q0))), float)
        meas = Q[i0:, idx].mean(axis=1)
        classes[s] = {"C": C, "q0": q0, "map": q_map, "flow": q_flow, "measured": meas,
                      "rel_err_map": np.abs(meas - q_map) / q_map, "rel_err_flow": np.abs(meas - q_flow) / q_flow}

    # the same dynamics built exactly (noise-free balanced data, the check C7.gd_step): GD is the map
    from featavg._verify import _late_regime_run

    e_eta, e_steps, e_q0, e_d = 0.02, 150, 0.5, 200
    exact, e_labels = _late_regime_run(ctx.verify, np.full(k, e_q0), e_eta, e_steps, k=k, d=e_d, m=m, every=1)
    eQ, eS = exact.history["cluster_margins"], np.asarray(exact.history["step"])
    eC = float(LW["C"](e_d, int(np.sum(e_labels > 0)), m, k))
    e_map = [e_q0]
    for _ in range(e_steps):
        e_map.append(float(step_map(e_map[-1], e_eta, eC)))
    e_map = np.array(e_map)
    e_flow = np.asarray(LW["q"](e_eta * eS, eC, float(LW["c_from_q0"](e_q0))), float)
    e_meas = eQ.mean(axis=1)
    e_err_map = np.abs(eQ - e_map[:, None]).max(axis=1) / e_map
    e_err_flow = np.abs(eQ - e_flow[:, None]).max(axis=1) / e_flow

    fig = _new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2)
    for j in range(k):
        ax.plot(S, Q[:, j], color=_BLUE if labels[j] > 0 else _RED, lw=0.6, alpha=0.5)
    for s, col, name in ((1, _BLUE, "J+"), (-1, _RED, "J−")):
        ax.plot(S, Q[:, labels == s].mean(axis=1), color=col, lw=2, label=f"GD, mean over {name}")
    for s, ls in ((1, "--"), (-1, ":")):
        ax.plot(late_steps, classes[s]["flow"], color="black", ls=ls, lw=1.3,
                label=f"Lambert-W flow ({'J+' if s > 0 else 'J−'}), C7.lambert_w")
    ax.axvline(S[i0], color="grey", lw=0.8, label=f"late regime from step {int(S[i0])}")
    ax.set_xlabel("GD step")
    ax.set_ylabel(r"margin $q_j = y_j f(\mu_j)$")
    ax.set_title(f"Trained net, d=1e6, n={n}: margins per cluster (thin)")
    ax.legend(fontsize=8, loc="lower right")

    tiny = 1e-17  # round-off floor on the log axis (an exact zero would vanish)
    tol = 3.0 * k / n
    for s, col, name in ((1, _BLUE, "J+"), (-1, _RED, "J−")):
        ax2.semilogy(late_steps[1:], np.maximum(classes[s]["rel_err_flow"][1:], tiny), color=col, lw=1.5,
                     label=f"trained, mean over {name} vs Lambert-W")
    ax2.semilogy(eS[1:], np.maximum(e_err_map[1:], tiny), color="black", lw=1.2,
                 label=f"built exactly (d={e_d}, σ=0) vs GD map (C7.gd_step)")
    ax2.semilogy(eS[1:], np.maximum(e_err_flow[1:], tiny), color="black", ls="--", lw=1.2,
                 label=f"built exactly vs Lambert-W flow (eta={e_eta:g})")
    ax2.axhline(tol, color="grey", ls=":", lw=1, label=f"finite-n scale 3k/n = {tol:g}")
    ax2.set_xlabel("GD step (of each run)")
    ax2.set_ylabel("relative error of the margin")
    ax2.set_title("Distance to the closed forms")
    ax2.set_ylim(1e-17, 1.0)
    ax2.legend(fontsize=7.5, loc="center right")
    fig.suptitle("Late phase: margins grow like log t, as the Lambert-W solution of the margin ODE (C7)")

    err_flow = max(float(classes[s]["rel_err_flow"].max()) for s in (1, -1))
    err_map = max(float(classes[s]["rel_err_map"].max()) for s in (1, -1))
    data = {"seed": ctx.seed, "config": cfg.to_dict(), "late_from_step": int(S[i0]),
            "C": {"+": classes[1]["C"], "-": classes[-1]["C"]},
            "final_mean_margin": {"+": float(classes[1]["measured"][-1]), "-": float(classes[-1]["measured"][-1])},
            "final_lambert_w": {"+": float(classes[1]["flow"][-1]), "-": float(classes[-1]["flow"][-1])},
            "final_gd_map": {"+": float(classes[1]["map"][-1]), "-": float(classes[-1]["map"][-1])},
            "max_relative_error_vs_lambert_w": err_flow, "max_relative_error_vs_gd_map": err_map,
            "finite_n_scale_3k_over_n": tol,
            "exact_construction": {"d": e_d, "eta": e_eta, "steps": e_steps, "q0": e_q0, "C": eC,
                                   "max_relative_error_vs_gd_map": float(e_err_map.max()),
                                   "max_relative_error_vs_lambert_w": float(e_err_flow.max()),
                                   "final_margin": float(e_meas[-1])}}
    caption = (f"Margins q_j = y_j f(mu_j) of a binary net trained at d=1e6 (k={k}, n={n}, m={m}, eta d=3.072, "
               f"{steps} steps, seed {ctx.seed}, reduced engine), from the late regime on (step {int(S[i0])}): the "
               f"class means follow the Lambert-W solution q(t) = c + Ct - W(e^(c+Ct)) within {_g(err_flow)} "
               f"(relative; the GD map within {_g(err_map)}), inside the finite-n scale 3k/n = {_g(tol)}. The net "
               f"built exactly in the late regime (noise-free, d={e_d}) follows the GD map to round-off "
               f"({_g(float(e_err_map.max()))}) and the flow to O(eta) ({_g(float(e_err_flow.max()))}).")
    return fig, caption, data


# --------------------------------------------------------------------------------------------
# 4. early phase: activation fractions and feature coefficients

def _early_phase(ctx):
    from scipy.special import ndtri

    from featavg.simulate import Config

    k, d, m = 10, 3072, 5
    n = 500 if ctx.quick else 1000
    steps = 25 if ctx.quick else 40
    eta = 1e-4  # a tenth of the paper's step, so that the early phase spans several steps
    seed = ctx.child_seed(4)
    cfg = Config(k=k, d=d, n=n, n_test=10, m=m, eta=eta, steps=steps, init_scale=1e-5, history_every=1,
                 engine="reduced", seed=seed)
    run = ctx.simulate(cfg)
    H, labels = run.history, run.cluster_labels
    S = np.asarray(H["step"])
    A, F = H["activation_fractions"], H["feature_coefficients"]  # (T, M, k)
    signs = np.repeat([1, -1], m)
    sy = signs[:, None] * labels[None, :]
    own = sy > 0
    # C7.early_gradient: -<grad L, mu_j>/d = y_j s Phi(a_j/||w||)/(2mk), Phi(a/||w||) the active fraction;
    # fed the measured fraction A (a = Phi^{-1}(A), ||w|| = 1) and summed over the steps
    proj = ctx.prediction("C7.early_gradient", "projection_over_d")
    inc = eta * sy[None] * np.asarray(proj(ndtri(A), 1.0, m, k), float)
    pred = F[0][None] + np.concatenate([np.zeros((1,) + F.shape[1:]), np.cumsum(inc[:-1], axis=0)])

    fig = _new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2)
    # per-pair spread as 10-90% bands (a hundred thin antialiased lines would bloat the PNG), the
    # slowest pair dotted
    for mask, col, light, name in ((own, _BLUE, _LIGHT_BLUE, "own"), (~own, _RED, _LIGHT_RED, "opposite")):
        lo, hi = np.quantile(A[:, mask], [0.1, 0.9], axis=1)
        ax.fill_between(S, lo, hi, color=light, lw=0, label=f"{name}-class pairs, 10% to 90%")
    ax.plot(S, A[:, own].min(axis=1), color=_BLUE, ls=":", lw=1, label="own-class pairs, minimum")
    ax.plot(S, A[:, own].mean(axis=1), color=_BLUE, lw=2.2, label="own-class clusters (mean)")
    ax.plot(S, A[:, ~own].mean(axis=1), color=_RED, lw=2.2, label="opposite-class clusters (mean)")
    ax.set_xlabel("GD step")
    ax.set_ylabel(r"fraction of cluster $j$'s points where neuron $r$ is active")
    ax.set_title(r"Activation fractions of the pairs (neuron $r$, cluster $j$)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="center right")

    scale = 1e-5
    for mask, light, name in ((own, _LIGHT_BLUE, "own"), (~own, _LIGHT_RED, "opposite")):
        lo, hi = np.quantile(F[:, mask], [0.1, 0.9], axis=1)
        ax2.fill_between(S, lo / scale, hi / scale, color=light, lw=0, label=f"{name}-class pairs, 10% to 90%")
    ax2.plot(S, F[:, own].min(axis=1) / scale, color=_BLUE, ls=":", lw=1, label="own-class pairs, minimum")
    ax2.plot(S, F[:, own].mean(axis=1) / scale, color=_BLUE, lw=2.2, label="own-class features (mean)")
    ax2.plot(S, F[:, ~own].mean(axis=1) / scale, color=_RED, lw=2.2, label="opposite-class features (mean)")
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
               f"features grow at one rate (final relative standard deviation {_g(spread)}) and the class means "
               f"follow the summed early gradient of C7.early_gradient within {_g(dev_own)} (own) and "
               f"{_g(dev_opp)} (opposite) relative, drifting apart as the loss derivative leaves 1/2.")
    return fig, caption, data


# --------------------------------------------------------------------------------------------
# 5-6. exact radius vs d and vs k (power-law fits)

def _radius_sweep(ctx, salt, ks_ds, make_config):
    """Median exact radius (and averaging score) of a binary run at each point of a sweep."""
    from featavg.simulate import averaging_score

    rows = []
    for i, (k, d) in enumerate(ks_ds):
        seed = ctx.child_seed(salt, i)
        run = ctx.simulate(make_config(k, d, seed))
        r = _radii(ctx, run.network, run.test.X, run.test.y)
        rows.append({"k": k, "d": d, "seed": seed, "median_radius": float(np.median(r)),
                     "quartiles": np.quantile(r, [0.25, 0.75]).tolist(),
                     "averaging_score": averaging_score(run.network, run.features, run.cluster_labels),
                     "predicted": float(ctx.prediction("C3.averaging_radius", "radius_balanced")(d, k))})
    return rows


def _fit_text(fit):
    lo, hi = fit["ci"]
    return f"{_g(fit['slope'])} (95% CI [{_g(lo)}, {_g(hi)}])"


def _plot_sweep(ax, xs, rows, fit, xlabel, predicted_label):
    from matplotlib.ticker import FuncFormatter

    med = np.array([r["median_radius"] for r in rows])
    q = np.array([r["quartiles"] for r in rows])
    pred = np.array([r["predicted"] for r in rows])
    ax.errorbar(xs, med, yerr=[med - q[:, 0], q[:, 1] - med], fmt="o", color=_BLUE, capsize=3,
                label="median exact radius (bars: quartiles)")
    grid = np.geomspace(min(xs), max(xs), 100)
    lo, hi = fit["ci"]
    ax.plot(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], color=_BLUE, lw=1,
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


def _score_panel(ax, xs, rows, xlabel):
    ax.plot(xs, [r["averaging_score"] for r in rows], "o-", color=_BLUE)
    ax.axhline(0.95, color="grey", ls=":", lw=1, label="0.95 (verify's C1 threshold)")
    ax.set_xscale("log")
    ax.set_ylim(0.9, 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("averaging score")
    ax.set_title("Averaging holds at every point")
    ax.legend(fontsize=8, loc="lower left")


def _radius_vs_d(ctx):
    from featavg.simulate import Config

    k, m, steps = 10, 5, 100
    n = 500 if ctx.quick else 1000
    n_test = 12 if ctx.quick else 40
    exps = np.linspace(3.5, 7.0, 4 if ctx.quick else 8)
    ds = [int(round(10 ** e)) for e in exps]

    def config(k, d, seed):
        return Config(k=k, d=d, n=n, n_test=n_test, m=m, eta=_ETA_D / d, init_scale=_INIT_D / d, steps=steps,
                      engine="reduced", seed=seed)

    rows = _radius_sweep(ctx, 5, [(k, d) for d in ds], config)
    fit = _fit(ds, [r["median_radius"] for r in rows])
    fig = _new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    _plot_sweep(ax, ds, rows, fit, "dimension d", r"$\sqrt{d/k}$ (C3.averaging_radius), slope 1/2")
    ax.set_title(f"Binary net, k={k}, n={n}, {n_test} test points per d")
    _score_panel(ax2, ds, rows, "dimension d")
    fig.suptitle(r"The averaging radius grows like $\sqrt{d}$")
    ratios = [r["median_radius"] / r["predicted"] for r in rows]
    data = {"seed": ctx.seed, "k": k, "n": n, "m": m, "steps": steps, "eta_times_d": _ETA_D,
            "init_scale_times_d": _INIT_D, "test_points": n_test, "points": rows,
            "slope": fit["slope"], "slope_ci": fit["ci"], "slope_stderr": fit["stderr"], "intercept": fit["intercept"],
            "predicted_slope": 0.5, "median_over_sqrt_d_over_k": ratios}
    caption = (f"Median exact radius of {n_test} test points of a binary net trained at each d (k={k}, n={n}, m={m}, "
               f"{steps} steps, eta = {_ETA_D:g}/d, init {_INIT_D:g}/d, seeds from SeedSequence([{ctx.seed}, 5, i]), "
               f"reduced engine; d = {ds[0]} to {ds[-1]}). Fitted log-log slope {_fit_text(fit)} against 1/2; "
               f"median / sqrt(d/k) between {_g(min(ratios))} and {_g(max(ratios))}; averaging score at least "
               f"{_g(min(r['averaging_score'] for r in rows))} at every d.")
    return fig, caption, data


def _radius_vs_k(ctx):
    from matplotlib.ticker import NullLocator

    from featavg.simulate import Config

    d, m, steps = 10 ** 5, 5, 100
    ks = [2, 6, 10, 20] if ctx.quick else [2, 4, 6, 8, 10, 14, 20]
    n_test = 12 if ctx.quick else 40
    per_cluster = 50  # n = max(500, 50 k): every cluster holds about 50 training points or more

    def config(k, d, seed):
        # eta C = eta (d + k/2)/(m k) is kept at the paper's 0.06 for every k: eta = 3.072 k / d
        return Config(k=k, d=d, n=max(500, per_cluster * k), n_test=n_test, m=m, positive=k // 2,
                      eta=_ETA_D * k / (10 * d), init_scale=_INIT_D / d, steps=steps, engine="reduced", seed=seed)

    rows = _radius_sweep(ctx, 6, [(k, d) for k in ks], config)
    fit = _fit(ks, [r["median_radius"] for r in rows])
    fig = _new_figure((11.0, 4.6))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
    _plot_sweep(ax, ks, rows, fit, "number of clusters k", r"$\sqrt{d/k}$ (C3.averaging_radius), slope -1/2")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_title(f"Binary net, d=1e5, n=max(500, 50k), {n_test} test points per k")
    _score_panel(ax2, ks, rows, "number of clusters k")
    ax2.set_xticks(ks, [str(k) for k in ks])
    ax2.xaxis.set_minor_locator(NullLocator())
    fig.suptitle(r"The averaging radius shrinks like $1/\sqrt{k}$")
    ratios = [r["median_radius"] / r["predicted"] for r in rows]
    data = {"seed": ctx.seed, "d": d, "m": m, "steps": steps, "n_per_cluster": per_cluster, "test_points": n_test,
            "points": rows, "slope": fit["slope"], "slope_ci": fit["ci"], "slope_stderr": fit["stderr"],
            "intercept": fit["intercept"], "predicted_slope": -0.5, "median_over_sqrt_d_over_k": ratios}
    caption = (f"Median exact radius of {n_test} test points of a binary net trained at each k (d=1e5, "
               f"n = max(500, 50k), |J+| = k/2, m={m}, {steps} steps, eta = 3.072k/d, init {_INIT_D:g}/d, seeds from "
               f"SeedSequence([{ctx.seed}, 6, i]), reduced engine; k = {', '.join(map(str, ks))}). Fitted log-log "
               f"slope {_fit_text(fit)} against -1/2; median / sqrt(d/k) between {_g(min(ratios))} and "
               f"{_g(max(ratios))}; averaging score at least {_g(min(r['averaging_score'] for r in rows))}.")
    return fig, caption, data


# --------------------------------------------------------------------------------------------
# registry and driver

FIGURES = (
    FigureSpec("cosine_heatmaps", "Feature averaging vs decoupling: cosines of neurons with cluster features",
               ("C7.early_gradient", "C7.equal_margins_attract", "C7.ce_decoupling"), _cosine_heatmaps),
    FigureSpec("robust_accuracy", "Robust accuracy vs perturbation radius: averaging, both readouts, the optimum",
               ("C3.averaging_radius", "C4.optimal_bound", "C5.readouts"), _robust_accuracy),
    FigureSpec("margin_trajectories", "Late-phase margins vs the Lambert-W solution and the GD map",
               ("C7.margin_ode", "C7.lambert_w", "C7.gd_step"), _margin_trajectories),
    FigureSpec("early_phase", "Early phase: activation fractions and feature coefficients",
               ("C7.early_gradient",), _early_phase),
    FigureSpec("radius_vs_d", "Averaging radius vs dimension d (slope 1/2)", ("C3.averaging_radius",), _radius_vs_d),
    FigureSpec("radius_vs_k", "Averaging radius vs number of clusters k (slope -1/2)", ("C3.averaging_radius",),
               _radius_vs_k),
)


def figure_ids():
    """The figure ids, in :data:`FIGURES` order."""
    return [f.id for f in FIGURES]


def _validate_only(only):
    from featavg.simulate import InvalidParameter

    if only is None:
        return list(FIGURES)
    if isinstance(only, str):
        only = [only]
    try:
        only = list(only)
    except TypeError:
        raise InvalidParameter("only", only, "a list of figure ids among " + ", ".join(figure_ids())) from None
    unknown = [x for x in only if x not in figure_ids()]
    if unknown or not only:
        raise InvalidParameter("only", unknown[0] if unknown else only,
                               "a non-empty list of figure ids among " + ", ".join(figure_ids()))
    return [f for f in FIGURES if f.id in only]


def make_figures(out_dir, *, seed=0, quick=False, only=None, progress=None, context=None):
    """Compute and write every figure (PNG) under ``out_dir``; return their results in FIGURES order.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output directory; the PNGs go to ``out_dir/figures/<id>.png`` (directories created).
    seed : int
        Seed of every run (module docstring), ``>= 0``; recorded in each result's ``data``.
    quick : bool
        Smaller sizes (fewer test points and sweep points, smaller ``n``).
    only : list of str, optional
        Figure ids to make (default ``None``: all); results keep the :data:`FIGURES` order.
    progress : callable, optional
        Called with 1 after each figure (a progress bar's ``update``).
    context : featavg._verify.VerifyContext, optional
        A verify context of the same ``seed`` and ``quick`` whose paper-setting runs and exact
        radii are reused (``featavg report`` passes the one its checks ran in).

    Returns
    -------
    list of FigureResult

    Raises
    ------
    featavg.simulate.InvalidParameter
        For a negative or non-integer ``seed``, an unknown id in ``only`` (or an empty ``only``), a non-callable
        ``progress`` or an ``out_dir`` that is an existing file.
    """
    from featavg.simulate import InvalidParameter, atomic_write
    from featavg.simulate._validate import validate_int

    seed = validate_int("seed", seed, low=0)
    specs = _validate_only(only)
    if progress is not None and not callable(progress):
        raise InvalidParameter("progress", progress, "a callable taking one integer, or None")
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InvalidParameter("out_dir", out_dir, "a directory (existing or new), not a file")
    fig_dir = os.path.join(out_dir, "figures")
    os.makedirs(fig_dir, exist_ok=True)

    import matplotlib.style

    if context is not None and (context.seed != seed or context.quick != bool(quick)):
        raise InvalidParameter("context", f"seed={context.seed}, quick={context.quick}",
                               f"a VerifyContext with seed={seed} and quick={bool(quick)}")
    ctx = _Context(seed, bool(quick), context)
    results = []
    for spec in specs:
        with matplotlib.style.context("default"):
            fig, caption, data = spec.build(ctx)
            png = _png_bytes(fig)
        rel = f"figures/{spec.id}.png"
        with atomic_write(os.path.join(fig_dir, f"{spec.id}.png")) as fh:
            fh.write(png)
        results.append(FigureResult(id=spec.id, file=rel, title=spec.title, caption=caption,
                                    claims=tuple(spec.claims), data=_round({"quick": bool(quick), **data})))
        if progress is not None:
            progress(1)
    return results
