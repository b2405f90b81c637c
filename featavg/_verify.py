r"""The numeric checks behind ``featavg verify`` (SPEC §2 claims C1-C7, SPEC §6).

Each :class:`Check` is a named object: ``id`` (the theory claim's id where one exists, with a
suffix for a second check of the same claim), ``title``, ``regime`` (in words), ``tolerance`` and
the ``reason`` for it, and a function of a :class:`VerifyContext` returning an :class:`Outcome`
(predicted, measured, passed). Predictions come from :mod:`featavg.theory` (``claim.predictions``,
lambdified from the claim's statement, never retyped); measurements come from the simulator
(:mod:`featavg.simulate`) or from exact radii of networks built in simulator coordinates.

Everything the checks use from the outside goes through the context (``simulate``,
``exact_radii``, ``claim``), so a test can inject a fault (a simulator that decouples, a wrong
closed form) and see the check fail. Randomness: one seed, recorded in every outcome's config.

Rate checks (SPEC §3, STYLE 8) measure an error at several sizes and fit the slope of
``log error`` against ``log size``, compared with the predicted order.
"""

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Check", "Outcome", "VerifyContext", "CHECKS", "check_ids", "select_checks", "run_checks"]


@dataclass
class Outcome:
    """What a check found.

    Attributes
    ----------
    predicted, measured : float or dict
        The theory's value and the measured one (scalars where possible).
    passed : bool
    details : dict
        Extra numbers (per-size errors, fitted slopes, ...), JSON-ready.
    config : dict
        The configuration and seed the measurement used.
    """

    predicted: object
    measured: object
    passed: bool
    details: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One named check (SPEC §6).

    Attributes
    ----------
    id : str
        ``"C<n>.<name>"``: a theory claim id where one exists (``claim``), else a new name.
    claim : str or None
        The theory claim whose predictions are used.
    title, regime, tolerance, reason : str
    measure : callable (VerifyContext) -> Outcome
    """

    id: str
    claim: str | None
    title: str
    regime: str
    tolerance: str
    reason: str
    measure: Callable


class VerifyContext:
    """Shared state of one ``verify`` run: sizes, seed, cached simulator runs, injectable oracles.

    Parameters
    ----------
    quick : bool
        Smaller sizes (fewer test points for radii, smaller rate sweeps).
    seed : int
    simulate : callable, optional
        ``run_simulation``-compatible; defaults to :func:`featavg.simulate.run_simulation`.
    exact_radii : callable, optional
        ``exact_radii``-compatible; defaults to :func:`featavg.simulate._robust.exact_radii`.
    claim : callable, optional
        ``get_claim``-compatible; defaults to :func:`featavg.theory.get_claim`.
    """

    def __init__(self, quick=False, seed=0, simulate=None, exact_radii=None, claim=None):
        from featavg.simulate import run_simulation

        self.quick = bool(quick)
        self.seed = int(seed)
        self.simulate = simulate or run_simulation
        if exact_radii is None:
            from featavg.simulate._robust import exact_radii
        self.exact_radii = exact_radii
        if claim is None:
            from featavg.theory import get_claim as claim
        self.claim = claim
        #: test points whose exact radius is measured (trained nets)
        self.n_radius = 24 if quick else 100
        self._trained_radii = {}

    def prediction(self, claim_id, name):
        """``claim(claim_id).predictions[name]``."""
        return self.claim(claim_id).predictions[name]

    def rng(self, salt):
        """An independent generator per check (``SeedSequence([seed, salt])``)."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, salt]))

    # -- the two trained networks of SPEC §1 (paper's synthetic setting), exact in law -----
    def paper_config(self, supervision):
        from featavg.simulate import Config

        return Config(k=10, d=3072, n=1000, n_test=max(self.n_radius, 200), m=5, h=1, eta=1e-3,
                      steps=100, init_scale=1e-5, seed=self.seed, supervision=supervision,
                      engine="reduced")

    @functools.cached_property
    def binary_run(self):
        return self.simulate(self.paper_config("binary"))

    @functools.cached_property
    def cluster_run(self):
        return self.simulate(self.paper_config("cluster"))

    def trained_radii(self, supervision, readout="argmax"):
        """Exact radii of the first ``n_radius`` test points of a paper-setting run, ndarray.

        Cached per (supervision, readout): the C3/C5 checks and the report's robust-accuracy
        figure measure the same points. ``readout`` matters only for the cluster run.
        """
        key = (supervision, readout if supervision == "cluster" else None)
        if key not in self._trained_radii:
            run = self.binary_run if supervision == "binary" else self.cluster_run
            X, y = run.test.X[:self.n_radius], run.test.y[:self.n_radius]
            labels = run.cluster_labels if supervision == "cluster" else None
            self._trained_radii[key] = _radii(self, run.network, X, y, labels, readout)
        return self._trained_radii[key]


# --------------------------------------------------------------------------------------------
# helpers

def _fit_slope(sizes, errors):
    """Least-squares slope of ``log errors`` against ``log sizes``."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(errors, float))
    return float(np.polyfit(x, y, 1)[0])


def _rel(a, b):
    return abs(a - b) / abs(b)


def _radii(ctx, net, X, y, cluster_labels=None, readout="argmax"):
    res = ctx.exact_radii(net, X, y, cluster_labels, readout)
    return np.array([r.radius for r in res])


def _own_masks(run):
    """``same[r, j]``: cluster ``j`` is in neuron ``r``'s class, shape (M, k)."""
    from featavg.simulate import neuron_classes

    cls = neuron_classes(run.network, run.cluster_labels)
    return cls[:, None] == np.asarray(run.cluster_labels)[None, :]


# --------------------------------------------------------------------------------------------
# C1 feature averaging (binary net, paper setting)

_C1_REGIME = "binary labels, k=10, d=3072, n=1000, m=5, eta=1e-3, T=100, init 1e-5 (paper setting, reduced engine)"


def _c1_balance(ctx):
    from featavg.simulate import feature_coefficients

    run = ctx.binary_run
    lam = feature_coefficients(run.network.W, run.features)  # <w_{s,r}, mu_j>/d, (M, k)
    same = _own_masks(run)
    ratios = [lam[r, same[r]].min() / lam[r, same[r]].max() for r in range(lam.shape[0])]
    measured = float(np.min(ratios))
    return Outcome(1.0, measured, bool(measured >= 0.8),
                   {"ratios_min_over_max": ratios}, {"run": run.config.to_dict()})


def _c1_cos_feature(ctx):
    from featavg.simulate import cosine_matrix

    run = ctx.binary_run
    C = cosine_matrix(run.network.W, run.features)
    same = _own_masks(run)
    sizes = same.sum(axis=1)
    rel = np.abs(np.array([C[r, same[r]].mean() for r in range(C.shape[0])]) * np.sqrt(sizes) - 1.0)
    measured = float(C[same].mean())
    predicted = float(np.mean(1.0 / np.sqrt(sizes)))
    return Outcome(predicted, measured, bool(rel.max() <= 0.05),
                   {"max_relative_error_per_neuron": float(rel.max())}, {"run": run.config.to_dict()})


def _c1_cos_sum(ctx):
    from featavg.simulate import averaging_score

    run = ctx.binary_run
    measured = averaging_score(run.network, run.features, run.cluster_labels)
    return Outcome(1.0, measured, bool(measured >= 0.95), {}, {"run": run.config.to_dict()})


def _c1_opposite(ctx):
    from featavg.simulate import feature_coefficients

    run = ctx.binary_run
    lam = feature_coefficients(run.network.W, run.features)
    same = _own_masks(run)
    scale = float(np.abs(lam[same]).mean())
    measured = float(lam[~same].max() / scale)
    return Outcome(0.0, measured, bool(measured <= 0.05),
                   {"mean_own_coefficient": scale}, {"run": run.config.to_dict()})


def _c1_rate(ctx):
    """1 - averaging score vs n at d = 10^5 (reduced engine): the finite-n residual ~ k/n."""
    from featavg.simulate import Config, averaging_score

    d = 10 ** 5
    ns = [150, 300, 600] if ctx.quick else [250, 500, 1000, 2000]
    errs = []
    for n in ns:
        cfg = Config(k=10, d=d, n=n, n_test=10, m=5, eta=3.072 / d, init_scale=1e-5 * math.sqrt(3072 / d),
                     steps=300, engine="reduced", seed=ctx.seed)
        run = ctx.simulate(cfg)
        errs.append(1.0 - averaging_score(run.network, run.features, run.cluster_labels))
    slope = _fit_slope(ns, errs) if min(errs) > 0 else float("nan")
    return Outcome(-1.0, slope, bool(abs(slope + 1.0) <= 0.2), {"n": ns, "one_minus_averaging_score": errs},
                   {"k": 10, "d": d, "m": 5, "eta": 3.072 / d, "steps": 300, "engine": "reduced", "seed": ctx.seed})


# --------------------------------------------------------------------------------------------
# C2 generalisation

def _c2_accuracy(ctx):
    run = ctx.binary_run
    s = run.summary()
    crun = ctx.cluster_run
    cs = crun.summary()
    measured = min(s["test_accuracy"], *cs["test_accuracy_by_readout"].values())
    return Outcome(1.0, measured, bool(measured >= 0.99),
                   {"binary": s["test_accuracy"], "cluster": cs["test_accuracy_by_readout"]},
                   {"runs": [run.config.to_dict(), crun.config.to_dict()]})


# --------------------------------------------------------------------------------------------
# C3 averaging radius

def _c3_trained(ctx):
    run = ctx.binary_run
    cfg = run.config
    r = ctx.trained_radii("binary")
    predicted = float(ctx.prediction("C3.averaging_radius", "radius_balanced")(cfg.d, cfg.k))
    measured = float(np.median(r))
    ratio = measured / predicted
    return Outcome(predicted, measured, bool(0.85 <= ratio <= 1.15),
                   {"ratio": ratio, "points": int(len(r)), "quartiles": np.quantile(r, [0.25, 0.75]).tolist()},
                   {"run": cfg.to_dict()})


def _ideal_binary_averaging(features, labels, alpha_p, alpha_m, b_p, b_m):
    """The idealised averaging net of C3.averaging_radius (one neuron per sign), simulator coordinates."""
    from featavg.simulate import BinaryNetwork

    W = np.stack([alpha_p * features[labels > 0].sum(axis=0), alpha_m * features[labels < 0].sum(axis=0)])
    return BinaryNetwork(W, np.array([b_p, b_m], float))


def _c3_ideal(ctx):
    from featavg.simulate import make_features, make_partition

    k, d = 10, 400
    feats = make_features(k, d, ctx.rng(31))
    radius = ctx.prediction("C3.averaging_radius", "radius")
    errs, rows = [], []
    # (p, alpha_p, alpha_m, b_p/d, b_m/d): unbalanced, unequal scales, biases; the last one makes
    # switching the own group off the cheapest attack
    for p, ap, am, bp, bm in ((5, 1.0, 1.0, 0.0, 0.0), (3, 1.3, 0.7, 0.2, -0.1),
                              (7, 0.8, 1.5, -0.3, 0.4), (4, 1.0, 1.0, -0.9, 0.0)):
        labels = make_partition(k, p)
        net = _ideal_binary_averaging(feats, labels, ap, am, bp * d, bm * d)
        jp, jm = int(np.flatnonzero(labels > 0)[0]), int(np.flatnonzero(labels < 0)[0])
        meas = _radii(ctx, net, feats[[jp, jm]], np.array([1, -1]))
        pred = [float(radius(d, k, p, ap, am, bp * d, bm * d)), float(radius(d, k, k - p, am, ap, bm * d, bp * d))]
        errs += [_rel(a, b) for a, b in zip(meas, pred)]
        rows.append({"p": p, "alpha": [ap, am], "b_over_d": [bp, bm], "predicted": pred, "measured": meas.tolist()})
    err = float(max(errs))
    return Outcome(rows[1]["predicted"][0], rows[1]["measured"][0], bool(err <= 1e-6),
                   {"max_relative_error": err, "cases": rows}, {"k": k, "d": d, "seed": ctx.seed})


def _c3_noise(ctx):
    from featavg.simulate import make_features, make_partition

    k, d, sigma = 10, 400, 1.0
    n = 60 if ctx.quick else 200
    rng = ctx.rng(32)
    feats = make_features(k, d, rng)
    labels = make_partition(k)
    net = _ideal_binary_averaging(feats, labels, 1.0, 1.0, 0.0, 0.0)
    j = rng.integers(0, k, n)
    X = feats[j] + sigma * rng.standard_normal((n, d))
    r = _radii(ctx, net, X, labels[j])
    us = np.array([0.25, 0.5, 0.75])
    pred = ctx.prediction("C3.noise_correction", "radius_quantile")(d, k, sigma, us)
    meas = np.quantile(r, us)
    # quantile standard error ~ sqrt(u(1-u)/n)/density, density of N(0, 1) at the quartiles ~ 0.32
    tol = 4.0 * np.sqrt(us * (1 - us) / n) / 0.318 * sigma
    return Outcome(pred.tolist(), meas.tolist(), bool(np.all(np.abs(meas - pred) <= tol)),
                   {"tolerance": tol.tolist(), "points": n}, {"k": k, "d": d, "sigma": sigma, "seed": ctx.seed})


# --------------------------------------------------------------------------------------------
# C4 thresholded net and the optimal bound

def _threshold_net(features, labels, tau, alpha=1.0):
    """One neuron per feature, ``w_j = alpha mu_j / sqrt(d)``, bias ``-alpha tau``, binary net
    (needs a balanced partition: neuron ``(s, r)`` owns the r-th feature of ``J_s``)."""
    from featavg.simulate import BinaryNetwork

    d = features.shape[1]
    order = np.concatenate([np.flatnonzero(labels > 0), np.flatnonzero(labels < 0)])
    W = alpha * features[order] / np.sqrt(d)
    return BinaryNetwork(W, np.full(len(order), -alpha * tau))


def _c4_radii(ctx):
    from featavg.simulate import make_features, make_partition

    k, d = 10, 3072
    feats = make_features(k, d, ctx.rng(41))
    labels = make_partition(k)
    taus = np.array([0.0, 0.1, 0.2, 0.23, 0.26, 0.29, 0.35, 0.5]) * np.sqrt(d)
    meas = []
    for tau in taus:
        net = _threshold_net(feats, labels, tau)
        meas.append(_radii(ctx, net, feats[[0, k - 1]], np.array([1, -1])).min())
    return k, d, taus, np.array(meas)


def _c4_cached(ctx):
    """:func:`_c4_radii`, computed once per context (shared by the two C4 checks)."""
    if getattr(ctx, "_c4", None) is None:
        ctx._c4 = _c4_radii(ctx)
    return ctx._c4


def _c4_threshold(ctx):
    k, d, taus, meas = _c4_cached(ctx)
    radius = ctx.prediction("C4.threshold_net", "radius")
    pred = np.array([float(radius(d, t, k // 2)) for t in taus])
    err = float(np.max(np.abs(meas - pred) / pred))
    return Outcome(pred.tolist(), meas.tolist(), bool(err <= 1e-6),
                   {"tau_over_sqrt_d": (taus / np.sqrt(d)).tolist(), "max_relative_error": err},
                   {"k": k, "d": d, "seed": ctx.seed})


def _c4_optimal(ctx):
    k, d, taus, meas = _c4_cached(ctx)
    opt = float(ctx.prediction("C4.optimal_bound", "optimal_radius")(d))
    lo = float(ctx.prediction("C4.threshold_net", "tau_low")(d))
    hi = float(ctx.prediction("C4.threshold_net", "tau_high")(d))
    at_opt = np.abs(meas - opt) <= 1e-6 * opt
    inside = (taus >= lo) & (taus <= hi)
    never_above = bool(np.all(meas <= opt * (1 + 1e-6)))
    passed = never_above and bool(np.array_equal(at_opt, inside)) and bool(at_opt.any())
    # the ratio optimum / averaging
    ratio = float(ctx.prediction("C4.optimal_bound", "ratio")(k))
    avg = float(ctx.prediction("C3.averaging_radius", "radius_balanced")(d, k))
    passed &= _rel(opt / avg, ratio) <= 1e-12
    return Outcome(opt, float(meas.max()), passed,
                   {"tau_window_over_sqrt_d": [lo / math.sqrt(d), hi / math.sqrt(d)],
                    "optimal_at_tau_over_sqrt_d": (taus[at_opt] / np.sqrt(d)).tolist(),
                    "ratio_optimal_over_averaging": ratio},
                   {"k": k, "d": d, "seed": ctx.seed})


# --------------------------------------------------------------------------------------------
# C5 decoupling and the two readouts

_C5_REGIME = "cluster labels, k=10, d=3072, n=1000, h=1, eta=1e-3, T=100, init 1e-5 (paper setting, reduced engine)"


def _c5_decoupling(ctx):
    from featavg.simulate import cosine_matrix, decoupling_score

    run = ctx.cluster_run
    net = run.network
    score = decoupling_score(net, run.features, run.cluster_labels)
    C = cosine_matrix(net.W, run.features)
    off = C[~np.eye(run.config.k, dtype=bool).repeat(net.h, axis=0)]
    passed = score >= 0.95 and float(off.max()) <= 0.05
    return Outcome(1.0, score, bool(passed), {"max_off_feature_cosine": float(off.max()),
                                              "mean_off_feature_cosine": float(off.mean())},
                   {"run": run.config.to_dict()})


def _c5_readout(readout, lo, hi):
    def measure(ctx):
        run = ctx.cluster_run
        cfg = run.config
        r = ctx.trained_radii("cluster", readout)
        K = int(np.sum(run.cluster_labels < 0))  # |J_{-y}| (balanced partition)
        if readout == "argmax":
            predicted = float(ctx.prediction("C5.readouts", "radius_argmax")(cfg.d))
        else:
            predicted = float(ctx.prediction("C5.readouts", "radius_sum")(cfg.d, K))
        measured = float(np.median(r))
        ratio = measured / predicted
        return Outcome(predicted, measured, bool(lo <= ratio <= hi), {"ratio": ratio, "points": int(len(r))},
                       {"run": cfg.to_dict(), "readout": readout})
    return measure


# --------------------------------------------------------------------------------------------
# C6 mixed-label net

def _c6_mixed(ctx):
    from featavg.simulate import MultiClassNetwork, make_features, make_partition, sample_mixture

    k, d, beta = 10, 3072, 0.9
    rng = ctx.rng(61)
    feats = make_features(k, d, rng)
    labels = make_partition(k)
    W = np.empty_like(feats)
    for j in range(k):
        same = labels == labels[j]
        W[j] = feats[j] + beta * (feats[same].sum(axis=0) - feats[j])
    net = MultiClassNetwork(W, np.zeros(k), h=1)
    test = sample_mixture(feats, labels, 200, rng)
    cluster_acc = float(np.mean(net.output(test.X).argmax(axis=1) == test.clusters))
    n = ctx.n_radius
    r = _radii(ctx, net, test.X[:n], test.y[:n], labels, "argmax")
    p = int(np.sum(labels > 0))
    bound = float(ctx.prediction("C6.mixed_labels", "radius_bound")(d, p, k - p, beta))
    avg = float(ctx.prediction("C3.averaging_radius", "radius_balanced")(d, k))
    r0 = _radii(ctx, net, feats[[0]], np.array([1]), labels, "argmax")[0]
    measured = float(np.median(r))
    # the noise-free point obeys the bound; noisy test points stay O(sqrt(d/k)) (below 2 sqrt(d/k))
    passed = cluster_acc >= 0.99 and r0 <= bound * (1 + 1e-6) and measured <= 2.0 * avg
    return Outcome(bound, float(r0), bool(passed),
                   {"cluster_accuracy": cluster_acc, "median_radius_noisy": measured,
                    "median_over_sqrt_d_over_k": measured / avg},
                   {"k": k, "d": d, "beta": beta, "seed": ctx.seed})


# --------------------------------------------------------------------------------------------
# C7 dynamics: late regime on noise-free balanced data, where GD is exactly the margin map

def _late_regime_run(ctx, margins, eta, steps, *, k=10, d=200, m=5, per_cluster=10, every=0):
    """Binary net in the late regime (all own-class neurons active on own clusters, opposite
    ones at pre-activation -1), trained by the simulator on noise-free balanced data.

    ``margins`` gives ``q_j = <w_{s,r}, mu_j>`` for each cluster (bias 0, all ``m`` neurons of a
    sign equal). Noise-free data (sigma = 0) with ``per_cluster`` copies of each ``mu_j`` removes
    the finite-``n`` and finite-``d`` corrections, so GD follows C7's margin map exactly.
    """
    from featavg.simulate import Config, Sample, make_features, make_partition

    feats = make_features(k, d, ctx.rng(71))
    labels = make_partition(k)
    clusters = np.repeat(np.arange(k), per_cluster)
    train = Sample(X=feats[clusters].copy(), y=labels[clusters].copy(), clusters=clusters)
    margins = np.asarray(margins, float)
    W = np.empty((2 * m, d))
    for s, rows in ((1, slice(0, m)), (-1, slice(m, 2 * m))):
        coef = np.where(labels == s, margins, -1.0)
        W[rows] = (coef @ feats) / d
    cfg = Config(k=k, d=d, n=len(clusters), n_test=len(clusters), m=m, sigma=0.0, eta=eta, steps=steps,
                 seed=ctx.seed, history_every=every)
    run = ctx.simulate(cfg, features=feats, cluster_labels=labels, train=train, test=train,
                       W_init=W, b_init=np.zeros(2 * m))
    return run, labels


def _margins(run):
    from featavg.simulate import cluster_margins

    return cluster_margins(run.network, run.features, run.cluster_labels)


def _c7_margin_ode(ctx):
    import sympy as sp

    from featavg.theory import _dynamics

    k, d, m, eta = 10, 200, 5, 1e-4
    q0 = np.array([0.2, 0.5, 0.9, 1.4, 2.0, 0.3, 0.6, 1.0, 1.5, 2.5])
    run, labels = _late_regime_run(ctx, q0, eta, 1, k=k, d=d, m=m)
    rate = (_margins(run) - q0) / eta
    pred = np.empty(k)
    for s in (1, -1):
        idx = np.flatnonzero(labels == s)
        qs = [sp.Float(v) for v in q0[idx]]
        for a, j in enumerate(idx):
            expr = _dynamics.margin_rhs(qs, a).subs({_dynamics.d: d, _dynamics.m: m, _dynamics.k: k})
            pred[j] = float(expr)
    # the margins are linear in the weights while no activation changes, so one GD step is exactly
    # one Euler step: increment / eta equals the rate at q0 up to round-off
    err = float(np.max(np.abs(rate - pred) / np.abs(pred)))
    return Outcome(pred.tolist(), rate.tolist(), bool(err <= 1e-9), {"max_relative_error": err},
                   {"k": k, "d": d, "m": m, "eta": eta, "sigma": 0.0, "seed": ctx.seed})


def _c7_gd_step(ctx):
    k, d, m, eta, steps, q_init = 10, 200, 5, 0.02, 50, 0.5
    run, labels = _late_regime_run(ctx, np.full(k, q_init), eta, steps, k=k, d=d, m=m)
    p = k // 2
    C = float(ctx.prediction("C7.lambert_w", "C")(d, p, m, k))
    step = ctx.prediction("C7.gd_step", "step")
    q = q_init
    for _ in range(steps):
        q = float(step(q, eta, C))
    meas = _margins(run)
    err = float(np.max(np.abs(meas - q)) / q)
    return Outcome(q, float(meas.mean()), bool(err <= 1e-9), {"max_relative_error": err},
                   {"k": k, "d": d, "m": m, "eta": eta, "steps": steps, "sigma": 0.0, "seed": ctx.seed})


def _c7_flow_rate(ctx):
    k, d, m, q_init, t_end = 10, 200, 5, 0.5, 2.0
    p = k // 2
    C = float(ctx.prediction("C7.lambert_w", "C")(d, p, m, k))
    c = float(ctx.prediction("C7.lambert_w", "c_from_q0")(q_init))
    q_flow = float(ctx.prediction("C7.lambert_w", "q")(t_end, C, c))
    steps_list = [25, 50, 100, 200] if ctx.quick else [25, 50, 100, 200, 400]
    etas, errs = [], []
    for steps in steps_list:
        eta = t_end / steps
        run, _ = _late_regime_run(ctx, np.full(k, q_init), eta, steps, k=k, d=d, m=m)
        etas.append(eta)
        errs.append(float(np.abs(_margins(run) - q_flow).max()))
    slope = _fit_slope(etas, errs)
    return Outcome(1.0, slope, bool(abs(slope - 1.0) <= 0.1),
                   {"eta": etas, "error_vs_lambert_w": errs, "q_flow": q_flow},
                   {"k": k, "d": d, "m": m, "t": t_end, "sigma": 0.0, "seed": ctx.seed})


def _c7_attract(ctx):
    k, d, m, eta, steps = 10, 200, 5, 0.005, 400
    rng = ctx.rng(74)
    q0 = 0.5 + 0.01 * rng.standard_normal(k)
    run, labels = _late_regime_run(ctx, q0, eta, steps, k=k, d=d, m=m, every=1)
    Q = run.history["cluster_margins"]  # (T, k)
    rate = ctx.prediction("C7.equal_margins_attract", "difference_rate")
    pred, meas = [], []
    for s in (1, -1):
        idx = np.flatnonzero(labels == s)
        spread = Q[:, idx].max(axis=1) - Q[:, idx].min(axis=1)
        qbar = Q[:-1, idx].mean(axis=1)
        pred.append(float(np.sum(eta * rate(qbar, d, m, k))))  # flow: log(spread_T / spread_0)
        meas.append(float(np.log(spread[-1] / spread[0])))
    err = max(_rel(a, b) for a, b in zip(meas, pred))
    # the linearisation and the Euler steps (eta C ~ 0.02) each cost ~1% of the decay exponent
    return Outcome(pred, meas, bool(err <= 0.05 and all(v < 0 for v in meas)), {"max_relative_error": err},
                   {"k": k, "d": d, "m": m, "eta": eta, "steps": steps, "sigma": 0.0, "seed": ctx.seed})


# --------------------------------------------------------------------------------------------
# C1 gradients (the simulator's hand-derived gradients vs SymPy's) and C7 early phase

def _c1_gradients(ctx):
    from featavg.simulate import BinaryNetwork, MultiClassNetwork

    rng = ctx.rng(11)
    n, d, m, k, h = 7, 6, 2, 3, 2
    X = rng.standard_normal((n, d))
    y = rng.choice([-1, 1], n)
    clusters = rng.integers(0, k, n)
    W, b = rng.standard_normal((2 * m, d)), rng.standard_normal(2 * m)
    Wc, bc = rng.standard_normal((k * h, d)), rng.standard_normal(k * h)
    ref_b = ctx.prediction("C1.model_gradients", "binary_loss_and_grad")(W, b, X, y)
    ref_c = ctx.prediction("C1.model_gradients", "multiclass_loss_and_grad")(Wc, bc, X, clusters, h)
    got_b = BinaryNetwork(W.copy(), b.copy()).loss_and_grad(X, y)
    got_c = MultiClassNetwork(Wc.copy(), bc.copy(), h=h).loss_and_grad(X, clusters)
    def rel(a, r):
        a, r = np.asarray(a, float), np.asarray(r, float)
        return float(np.max(np.abs(a - r)) / (1e-300 + np.max(np.abs(r))))

    err = max(rel(a, r) for got, ref in ((got_b, ref_b), (got_c, ref_c)) for a, r in zip(got, ref))
    return Outcome(0.0, err, bool(err <= 1e-10), {},
                   {"n": n, "d": d, "m": m, "k": k, "h": h, "seed": ctx.seed})


def _early_projection_error(ctx, n, supervision, salt, d=200, k=10, width=25, init=1e-4):
    """Relative RMS error of the simulator's early gradient projections vs the L2 claim.

    Binary: ``-<grad_{w_{s,r}} L, mu_j>/d`` vs ``y_j s Phi(a/||w||)/(2mk)`` (C7.early_gradient);
    cluster labels: vs ``(1-1/k) Phi/(kh)`` on the own feature and ``-(1/k) Phi/(kh)`` on others
    (C7.ce_decoupling). ``a = <w, mu_j> + b``, ``m = width`` (binary) or ``h = width``.
    Returns (error, sign agreement on pairs with Phi >= 0.1).
    """
    from scipy.stats import norm

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
    if supervision == "binary":
        c = ctx.prediction("C7.early_gradient", "projection_over_d")(A, sig, width, k)
        pred = net.neuron_signs[:, None] * labels[None, :] * c
    else:
        own = np.repeat(np.arange(k), width)[:, None] == np.arange(k)[None, :]
        pred = np.where(own, ctx.prediction("C7.ce_decoupling", "own")(A, sig, k, width),
                        ctx.prediction("C7.ce_decoupling", "other")(A, sig, k, width))
    err = float(np.sqrt(np.mean((proj - pred) ** 2) / np.mean(pred ** 2)))
    big = norm.cdf(A / sig) >= 0.1
    signs = float(np.mean(np.sign(proj[big]) == np.sign(pred[big])))
    return err, signs


def _early_check(supervision, salt):
    def measure(ctx):
        n = 4000 if ctx.quick else 16000
        err, signs = _early_projection_error(ctx, n, supervision, salt)
        # sampling error of the cluster counts and active fractions: relative ~ sqrt(k/n)
        bound = 3.0 * math.sqrt(10 / n)
        return Outcome({"sign_agreement": 1.0, "relative_error_max": bound},
                       {"sign_agreement": signs, "relative_error": err},
                       bool(signs == 1.0 and err <= bound), {},
                       {"n": n, "d": 200, "k": 10, "init": 1e-4, "seed": ctx.seed})
    return measure


def _early_rate(ctx):
    ns = [500, 2000, 8000] if ctx.quick else [500, 2000, 8000, 32000]
    errs = [_early_projection_error(ctx, n, "binary", 100 + i)[0] for i, n in enumerate(ns)]
    slope = _fit_slope(ns, errs)
    return Outcome(-0.5, slope, bool(abs(slope + 0.5) <= 0.15), {"n": ns, "relative_error": errs},
                   {"d": 200, "k": 10, "m": 25, "init": 1e-4, "seed": ctx.seed})


def _trained_large_d(ctx):
    """Binary run at d = 10^6 (reduced engine, exact in law), cached on the context."""
    from featavg.simulate import Config

    if getattr(ctx, "_large_d_run", None) is None:
        d = 10 ** 6
        cfg = Config(k=10, d=d, n=500 if ctx.quick else 1000, n_test=10, m=5,
                     eta=3.072 / d,  # eta d = 3.072 as in the paper (1e-3 at d = 3072): eta C = O(1/(mk))
                     init_scale=1e-5 * math.sqrt(3072 / d), steps=300, history_every=50, engine="reduced",
                     seed=ctx.seed)
        ctx._large_d_run = ctx.simulate(cfg)
    return ctx._large_d_run


def _c7_equalise_trained(ctx):
    """Lagging clusters catch up in a trained net -- up to the cluster counts n_j of the sample.

    Finite-n extension of C7.margin_ode (not yet a theory claim): with cluster weights
    pi_j = n_j/n the rate is (1/m)(d pi_j g_j + ...), whose differences vanish when pi_j g_j is
    equal across J_s; for q >> 1, g ~ e^{-q}, so q_j - q_i -> log(n_j/n_i).
    """
    from featavg.simulate import cluster_margins

    run = _trained_large_d(ctx)
    q = cluster_margins(run.network, run.features, run.cluster_labels)
    nj = np.bincount(run.train.clusters, minlength=run.config.k).astype(float)
    pred, meas = [], []
    for s in (1, -1):
        idx = run.cluster_labels == s
        pred += (np.log(nj[idx]) - np.log(nj[idx]).mean()).tolist()
        meas += (q[idx] - q[idx].mean()).tolist()
    pred, meas = np.array(pred), np.array(meas)
    err = float(np.max(np.abs(meas - pred)))
    spread = float(np.max(np.abs(pred)))
    return Outcome(pred.tolist(), meas.tolist(), bool(err <= 0.25 * spread),
                   {"max_abs_error": err, "max_abs_offset": spread}, {"run": run.config.to_dict()})


def _c7_trained(ctx):
    """Trained binary net at d = 10^6 (reduced engine): late-phase class-mean margins vs the GD map."""

    run = _trained_large_d(ctx)
    k, d, m, n, eta = (run.config.k, run.config.d, run.config.m, run.config.n, run.config.eta)
    H = run.history
    labels = run.cluster_labels
    signs = np.repeat([1, -1], m)
    same = signs[:, None] == labels[None, :]
    A = H["activation_fractions"]
    # late regime: every own-class neuron active on (almost) all own-class points, opposite ones
    # on few; the first recorded step where this holds starts the prediction
    late = [bool(A[t][same].min() >= 0.99 and A[t][~same].max() <= 0.1) for t in range(len(H["step"]))]
    i0 = late.index(True)
    step = ctx.prediction("C7.gd_step", "step")
    Q = H["cluster_margins"]
    pred, meas = [], []
    for s in (1, -1):
        idx = labels == s
        C = float(ctx.prediction("C7.lambert_w", "C")(d, int(idx.sum()), m, k))
        q = float(Q[i0, idx].mean())
        for _ in range(int(H["step"][-1] - H["step"][i0])):
            q = float(step(q, eta, C))
        pred.append(q)
        meas.append(float(Q[-1, idx].mean()))
    err = max(_rel(a, b) for a, b in zip(meas, pred))
    tol = 3.0 * k / n
    return Outcome(pred, meas, bool(err <= tol), {"max_relative_error": err, "tolerance": tol,
                                                  "late_from_step": int(H["step"][i0])},
                   {"run": run.config.to_dict()})


def _c7_ce_margin_ode(ctx):
    """Decoupled multi-class net built exactly (noise-free balanced data): one GD step vs the CE ODE."""
    from featavg.simulate import Config, Sample, make_features, make_partition

    k, d, h, eta, per = 10, 200, 2, 1e-4, 10
    F = make_features(k, d, ctx.rng(75))
    labels = make_partition(k)
    clusters = np.repeat(np.arange(k), per)
    train = Sample(X=F[clusters].copy(), y=labels[clusters].copy(), clusters=clusters)
    q0 = np.linspace(0.2, 2.5, k)
    coef = np.where(np.eye(k, dtype=bool), q0[:, None], -1.0)  # own feature q_j, others -1
    W = np.repeat(coef @ F / d, h, axis=0)
    cfg = Config(k=k, d=d, n=len(clusters), n_test=len(clusters), h=h, sigma=0.0, eta=eta, steps=1,
                 supervision="cluster", seed=ctx.seed)
    run = ctx.simulate(cfg, features=F, cluster_labels=labels, train=train, test=train, W_init=W,
                       b_init=np.zeros(k * h))
    rate = (_margins(run) - q0) / eta
    pred = np.asarray(ctx.prediction("C7.ce_margin_ode", "qdot")(q0, d, h, k), float)
    err = float(np.max(np.abs(rate - pred) / np.abs(pred)))
    return Outcome(pred.tolist(), rate.tolist(), bool(err <= 1e-9), {"max_relative_error": err},
                   {"k": k, "d": d, "h": h, "eta": eta, "sigma": 0.0, "seed": ctx.seed})


# --------------------------------------------------------------------------------------------
# registry

CHECKS = (
    Check("C1.model_gradients", "C1.model_gradients",
          "Simulator's hand-derived gradients (binary and multi-class) = SymPy's",
          "random small problem (n=7, d=6), generic point (no ReLU kinks)", "max relative error <= 1e-10",
          "both are exact; float64 round-off only", _c1_gradients),
    Check("C1.coefficient_balance", None, "Feature averaging: <w_{s,r}, mu_j>/d balanced over j in J_s",
          _C1_REGIME, "min over neurons of min/max ratio >= 0.8",
          "finite n: clusters hold n_j = n/k +- sqrt(n/k) points and GD balances n_j g_j, so ratios "
          "differ from 1 by ~sqrt(k/n) per cluster (seeds 0-3: min 0.84-0.88, mean ~0.89); "
          "decoupling gives ~0", _c1_balance),
    Check("C1.cos_own_feature", None, "cos(w_{s,r}, mu_j) -> 1/sqrt(|J_s|), j in J_s", _C1_REGIME,
          "per neuron |mean cos * sqrt(|J_s|) - 1| <= 5%",
          "residual noise component of w (init and sum of xi_i) is O(sqrt(k/n)) of its norm", _c1_cos_feature),
    Check("C1.cos_class_sum", None, "cos(w_{s,r}, sum_{J_s} mu_j) -> 1 (averaging score)", _C1_REGIME,
          "averaging score >= 0.95", "same noise residual as above; a decoupled net scores 1/sqrt(|J_s|) = 0.45",
          _c1_cos_sum),
    Check("C1.opposite_class", None, "Opposite-class coefficients at most about zero", _C1_REGIME,
          "max_{j in J_-s} <w,mu_j>/d <= 0.05 x mean own coefficient",
          "opposite clusters only push the neuron down while it is active on them (early phase)",
          _c1_opposite),
    Check("C1.finite_n_rate", None, "Rate: 1 - cos(w_{s,r}, sum_{J_s} mu_j) ~ k/n (fitted slope vs n)",
          "binary labels, k=10, d=1e5 (reduced engine), m=5, eta=3.072/d, 300 steps, "
          "n = 250..2000 (quick 150..600)",
          "|slope + 1| <= 0.2",
          "the noise part of w is a sum of ~n/2 xi_i/n, relative norm sqrt(k/n), so 1 - cos ~ k/n; a "
          "finite-time residual flattens the slope at large n (T=300: -0.91..-0.95 for seeds 0, 1)", _c1_rate),
    Check("C2.test_accuracy", None, "Clean test accuracy -> 1 (binary net; multi-class net, both readouts)",
          _C1_REGIME + "; same for cluster labels", "accuracy >= 0.99",
          "the Bayes error at d=3072 is ~exp(-d/4): any error is the network's", _c2_accuracy),
    Check("C3.averaging_radius", "C3.averaging_radius", "Trained binary net: median exact radius vs sqrt(d/k)",
          _C1_REGIME + "; exact radii (QP) at test points", "median / sqrt(d/k) in [0.85, 1.15]",
          "noise shifts each radius by N(0,1) (C3.noise_correction, O(1) vs sqrt(d/k)=17.5) and averaging "
          "is ~1% imperfect at T=100", _c3_trained),
    Check("C3.averaging_radius.ideal", "C3.averaging_radius",
          "Idealised averaging net (unbalanced, unequal scales, biases): exact radius at mu_j = formula",
          "noise-free point, k=10, d=400, one neuron per sign, closed form exact", "relative error <= 1e-6",
          "QP solver tolerance 1e-10; nothing else is approximated", _c3_ideal),
    Check("C3.noise_correction", "C3.noise_correction",
          "Radius quartiles of the idealised net at mu_j + xi: sqrt(d/k) + sigma z_u",
          "balanced ideal net, k=10, d=400, sigma=1, first order in xi (exact for the hyperplane attack)",
          "|quartile error| <= 4 standard errors of a sample quartile",
          "sampling error of empirical quantiles, sqrt(u(1-u)/n)/phi(z_u)", _c3_noise),
    Check("C4.threshold_net", "C4.threshold_net",
          "Thresholded one-neuron-per-feature net: exact radius at mu_j vs min(switch-off, raise-L)",
          "noise-free point, k=10, d=3072, tau in [0, 0.5] sqrt(d)", "relative error <= 1e-6",
          "closed form (KKT) exact; QP tolerance 1e-10", _c4_threshold),
    Check("C4.optimal_bound", "C4.optimal_bound",
          "The thresholded net reaches sqrt(d/2) exactly on the tau window, never beats it",
          "noise-free point, k=10, d=3072", "max radius = sqrt(d/2) to 1e-6, reached iff tau in [tau_low, tau_high]",
          "closed form exact; QP tolerance 1e-10", _c4_optimal),
    Check("C5.decoupling", None, "Cluster labels: cos(w_j, mu_j) -> 1, others <= ~0", _C5_REGIME,
          "decoupling score >= 0.95 and off-feature cosines <= 0.05",
          "noise residual O(sqrt(k/n)) as in C1; an averaging net scores 1/sqrt(5)", _c5_decoupling),
    Check("C5.readouts.argmax", "C5.readouts", "argmax readout: median exact radius vs sqrt(d/2)",
          _C5_REGIME + "; exact radii (QP)", "median / sqrt(d/2) in [0.85, 1.02]",
          "the O(sqrt(log k)) noise correction lowers the radius (SPEC C5: ~0.96); it cannot exceed the optimum",
          _c5_readout("argmax", 0.85, 1.02)),
    Check("C5.readouts.sum", "C5.readouts", "sum readout: median exact radius vs sqrt(d/(1+|J_-y|))",
          _C5_REGIME + "; exact radii (QP)", "median / sqrt(d/(1+K)) in [0.95, 1.3]",
          "slightly negative off-feature pre-activations act as thresholds and add ~10% (SPEC C5: ~1.10)",
          _c5_readout("sum", 0.95, 1.3)),
    Check("C6.mixed_labels", "C6.mixed_labels",
          "Mixed-feature multi-class net fits cluster labels yet radius <= bound = O(sqrt(d/k))",
          "w_j = mu_j + 0.9 sum_{J_s \\ j} mu_i, k=10, d=3072, argmax readout",
          "cluster accuracy >= 0.99; radius at mu_j <= bound (1e-6); noisy median <= 2 sqrt(d/k)",
          "the bound is an upper bound (restricted attack); QP tolerance 1e-10", _c6_mixed),
    Check("C7.margin_ode", "C7.margin_ode", "One GD step of the simulator vs dq_j/dt = (d g_j + sum_{J_s} g_i)/(mk)",
          "late regime built exactly: noise-free balanced data, own neurons active, opposite at -1; eta=1e-4",
          "relative error <= 1e-9",
          "no activation changes in one step and margins are linear in the weights: one GD step is "
          "exactly one Euler step (increment/eta = rate at q0); round-off (increment ~ 1e-4) only", _c7_margin_ode),
    Check("C7.gd_step", "C7.gd_step", "Simulator GD on equal margins vs the iterated map q + eta C/(1+e^q)",
          "late regime built exactly (as C7.margin_ode), eta=0.02, 50 steps", "relative error <= 1e-9",
          "the map is exact in this regime; only round-off remains", _c7_gd_step),
    Check("C7.lambert_w", "C7.lambert_w", "Rate: |GD - Lambert-W flow| at t=2 ~ eta^1 (fitted slope)",
          "late regime built exactly, eta = 2/steps, steps 25..400", "|slope - 1| <= 0.1",
          "GD is the explicit Euler scheme of the flow: global error first order in eta", _c7_flow_rate),
    Check("C7.equal_margins_attract", "C7.equal_margins_attract",
          "Lagging clusters catch up: log(spread_T/spread_0) vs integrated rate d g'(q)/(mk)",
          "late regime built exactly, spread 1e-2, eta=5e-3, 400 steps", "relative error <= 5%",
          "linearisation (spread 1e-2) and Euler steps (eta C g' ~ 5e-3) each cost ~1%", _c7_attract),
    Check("C7.early_gradient", "C7.early_gradient",
          "Early phase: simulator gradient on mu_j is y_j s Phi(a/||w||)/(2mk) (own class +, other -)",
          "small init 1e-4, k=10, d=200, m=25, n=16000 (quick 4000)",
          "sign agreement 1 (pairs with Phi >= 0.1); relative RMS error <= 3 sqrt(k/n)",
          "finite-n sampling of cluster counts and active fractions, relative sqrt(k/n)",
          _early_check("binary", 81)),
    Check("C7.early_gradient.rate", "C7.early_gradient",
          "Rate: early-gradient error vs n ~ n^(-1/2) (fitted slope)",
          "as C7.early_gradient, n = 500..32000", "|slope + 0.5| <= 0.15",
          "the L2 claim is the population (n -> oo) gradient; the sample mean converges at n^(-1/2)", _early_rate),
    Check("C7.ce_decoupling", "C7.ce_decoupling",
          "Cluster labels, early phase: gradient on own feature (1-1/k)Phi/(kh), on others -(1/k)Phi/(kh)",
          "small init 1e-4, k=10, d=200, h=25, n=16000 (quick 4000)",
          "sign agreement 1 (pairs with Phi >= 0.1); relative RMS error <= 3 sqrt(k/n)",
          "finite-n sampling, relative sqrt(k/n)", _early_check("cluster", 82)),
    Check("C7.lambert_w.trained", "C7.lambert_w",
          "Trained net, late phase: class-mean margins vs the iterated GD map (Lambert-W regime)",
          "binary labels, k=10, d=1e6 (reduced engine), n=1000 (quick 500), m=5, eta=3.072/d, 300 steps",
          "relative error <= 3 k/n",
          "finite-n correction of relative order k/n (unequal cluster counts, own noise ||xi_i||^2)", _c7_trained),
    Check("C7.equal_margins_attract.trained", "C7.equal_margins_attract",
          "Trained net: centred margins -> centred log n_j (lagging clusters catch up to the count balance)",
          "as C7.lambert_w.trained, after 300 steps; finite-n extension of the claim (derivation in the docstring)",
          "max |error| <= 25% of the largest offset",
          "g ~ e^{-q} is used at q ~ 2.8 (relative e^{-q} ~ 6%) and equalisation is not complete at 300 steps",
          _c7_equalise_trained),
    Check("C7.ce_margin_ode", "C7.ce_margin_ode",
          "Cross-entropy, decoupled: one GD step vs dq_c/dt = (d+1)(k-1)/(hk(e^q+k-1))",
          "decoupled net built exactly: noise-free balanced data, off-feature pre-activations -1; eta=1e-4",
          "relative error <= 1e-9", "one GD step is exactly one Euler step here (as C7.margin_ode); round-off only",
          _c7_ce_margin_ode),
)


#: SPEC §2 order: C1..C6, then C7 early phase before late phase
_ORDER = ("C1.model_gradients", "C1.coefficient_balance", "C1.cos_own_feature", "C1.cos_class_sum",
          "C1.opposite_class", "C1.finite_n_rate", "C2.test_accuracy", "C3.averaging_radius",
          "C3.averaging_radius.ideal",
          "C3.noise_correction", "C4.threshold_net", "C4.optimal_bound", "C5.decoupling", "C5.readouts.argmax",
          "C5.readouts.sum", "C6.mixed_labels", "C7.early_gradient", "C7.early_gradient.rate",
          "C7.ce_decoupling", "C7.margin_ode", "C7.gd_step", "C7.lambert_w", "C7.lambert_w.trained",
          "C7.equal_margins_attract", "C7.equal_margins_attract.trained", "C7.ce_margin_ode")
assert sorted(_ORDER) == sorted(c.id for c in CHECKS), "every check appears once in _ORDER"
CHECKS = tuple(sorted(CHECKS, key=lambda c: _ORDER.index(c.id)))


def _symbolic_check(claim_id, title):
    def measure(ctx):
        rows = ctx.claim(claim_id).run_checks()
        n_ok = sum(r["passed"] for r in rows)
        return Outcome(len(rows), n_ok, n_ok == len(rows), {"steps": rows}, {})
    return Check(f"{claim_id}.symbolic", claim_id, f"Symbolic: {title}", "SymPy, exact",
                 "every derivation step passes", "machine checks are exact (simplify to 0, substitution)",
                 measure)


def _symbolic_checks():
    from featavg.theory import all_claims

    return tuple(_symbolic_check(c.id, c.title) for c in all_claims())


def all_checks(symbolic=True):
    """Numeric checks, then one symbolic check per theory claim."""
    return CHECKS + (_symbolic_checks() if symbolic else ())


def check_ids():
    return [c.id for c in all_checks()]


def select_checks(only=None, checks=None):
    """The checks whose id equals, or starts with ``x + "."`` for, some ``x`` in ``only``.

    Returns ``(selected, unknown)``: ``unknown`` lists the entries of ``only`` matching nothing.
    """
    checks = all_checks() if checks is None else checks
    if not only:
        return list(checks), []
    match = lambda c, x: c.id == x or c.id.startswith(x + ".")  # noqa: E731
    unknown = [x for x in only if not any(match(c, x) for c in checks)]
    return [c for c in checks if any(match(c, x) for x in only)], unknown


def run_check(check, ctx):
    """Run one check; an exception is a failed check (its message kept), never a crash."""
    import time

    start = time.perf_counter()
    try:
        out = check.measure(ctx)
        error = None
    except Exception as exc:  # a crashing check is a failed check
        out, error = Outcome(None, None, False), f"{type(exc).__name__}: {exc}"
    row = {"id": check.id, "claim": check.claim, "title": check.title, "regime": check.regime,
           "status": "passed" if out.passed else "failed", "predicted": out.predicted,
           "measured": out.measured, "tolerance": check.tolerance, "reason": check.reason,
           "details": out.details, "config": {"seed": ctx.seed, "quick": ctx.quick, **out.config},
           "seconds": time.perf_counter() - start}
    if error:
        row["error"] = error
    return row


def run_checks(checks, ctx, progress=None):
    """Run ``checks`` in order; ``progress(1)`` after each."""
    rows = []
    for c in checks:
        rows.append(run_check(c, ctx))
        if progress is not None:
            progress(1)
    return rows
