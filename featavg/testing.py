r"""featavg.testing: hypothesis strategies and helpers for property tests of claims.

A property test checks a claim across a stated regime, not only at the paper's setting: hypothesis
draws a configuration inside the regime, the simulator trains a few networks from independent
initialisations on the drawn data, and each network is held to the claim's prediction within a
stated error budget. This module gives the pieces, so that a user's property test of their own
claim is a few lines::

    import numpy as np
    from hypothesis import given
    from featavg.testing import alive_at_init, averaging_prediction, regimes, replica_runs

    @given(cfg=regimes(supervision="binary", k=(3, 6)))
    def test_my_averaging_claim(cfg):
        for run in replica_runs(cfg):
            if not alive_at_init(run).all():
                continue                       # outside the claim's regime (the dead-neuron condition)
            pred = averaging_prediction(run, level=1 - 1e-6)
            assert np.all(np.abs(pred.measured_score - pred.score) <= pred.score_halfwidth)

hypothesis is a test dependency (``pip install 'featavg[test]'``): it is imported when a strategy
is built, and a missing install raises an ImportError that says so; the helpers that only look at
runs work without it.

The regime (:data:`REGIME`). The strategies draw ``k`` clusters, ``|J+|``, ``m`` (or ``h``)
neurons, ``n`` training points and a dimension ``d`` far above ``n`` (the theorems' regime; the
reduced engine's cost does not grow with ``d``), with the paper's learning rate and
initialisation rescaled to ``d``: ``eta = 3.072/d`` (``1e-3`` at ``d = 3072``: the gradient grows
like ``d``) and ``init_scale = 1e-5 sqrt(3072/d)`` (the initial pre-activations as at ``d = 3072``).
What the claims assume beyond the sizes is a condition on the draw, checked by :func:`alive_at_init`:
every neuron fires on some point of its own class (binary labels) or cluster (cluster labels) at
initialisation. A neuron that does not never moves (its gradient is zero), and the claims say
nothing about it; with small initialisation a neuron's pre-activations on a cluster are
``sigma_w sqrt(d) (A + B_i)`` with independent standard normals, so it is off on all ``n_j`` points
with probability ``E[U^{n_j}] = 1/(n_j + 1)`` (``U = Phi(-A)`` uniform), and off on its whole class
with probability ``prod_{j in J_s} 1/(n_j + 1)`` (:func:`dead_neuron_probability`).
"""

import dataclasses
import math

import numpy as np

from featavg._errors import InvalidParameter

__all__ = [
    "REGIME",
    "REPLICA_SEED_STRIDE",
    "AveragingPrediction",
    "DecouplingPrediction",
    "alive_at_init",
    "argmax_radius_budget",
    "averaged_net_radius_budget",
    "averaged_net_radius_ratios",
    "averaging_prediction",
    "dead_neuron_probability",
    "decoupling_prediction",
    "median_radius_ratio",
    "regimes",
    "replica_runs",
]

#: The stated regime of :func:`regimes` (its defaults): ranges are inclusive ``(low, high)``, tuples
#: of more than two entries are choices. ``eta_d`` is ``eta d``; ``init_scale`` is given at ``d = 3072``
#: and rescaled by ``sqrt(3072/d)``.
REGIME = {"k": (2, 6), "m": (2, 3), "h": (1, 2), "n": (100, 300), "d": (30_000, 100_000, 300_000, 1_000_000),
          "eta_d": 3.072, "steps": 300, "init_scale": 1e-5, "n_test": 60, "seed": (0, 10_000)}

#: replica ``r`` of a drawn configuration trains the initial weights of ``seed + REPLICA_SEED_STRIDE r``
REPLICA_SEED_STRIDE = 10_001


def _hypothesis():
    """The hypothesis strategies module, or an ImportError naming the extra to install."""
    try:
        from hypothesis import strategies
    except ImportError as exc:  # pragma: no cover - exercised only without the test extra
        raise ImportError("featavg.testing's strategies need hypothesis, a test dependency: "
                          "pip install 'featavg[test]'") from exc
    return strategies


def _integers(st, name, spec):
    """A strategy of ints from ``spec``: an int, an inclusive ``(low, high)`` or a tuple of choices."""
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return st.just(int(spec))
    try:
        if isinstance(spec, str):
            raise TypeError(spec)
        values = tuple(int(v) for v in spec)
    except (TypeError, ValueError):
        raise InvalidParameter(name, spec, "an int, an inclusive (low, high) range or a tuple of choices") from None
    if len(values) == 2 and values[0] <= values[1]:
        return st.integers(values[0], values[1])
    if len(values) >= 1:
        return st.sampled_from(values)
    raise InvalidParameter(name, spec, "an int, an inclusive (low, high) range or a tuple of choices")


def regimes(*, supervision="binary", k=REGIME["k"], positive=None, m=REGIME["m"], h=REGIME["h"],
            n=REGIME["n"], d=REGIME["d"], eta_d=REGIME["eta_d"], steps=REGIME["steps"],
            init_scale=REGIME["init_scale"], n_test=REGIME["n_test"], seed=REGIME["seed"]):
    """A hypothesis strategy of :class:`featavg.simulate.Config` inside a stated regime.

    Parameters
    ----------
    supervision : {"binary", "cluster"}
    k, m, h, n, d, seed : int, (low, high) or tuple of choices
        Clusters, neurons per sign (binary), neurons per output (cluster), training points,
        dimension, seed (data and the first replica's initialisation); defaults :data:`REGIME`.
    positive : int, (low, high), tuple or None
        ``|J+|``; ``None`` draws it in ``1..k-1`` (any partition, balanced or not).
    eta_d : float
        ``eta d``: the learning rate is ``eta_d/d`` (the paper's ``1e-3`` at ``d = 3072`` is 3.072).
    steps : int
        GD steps.
    init_scale : float
        ``sigma_w = sigma_b`` at ``d = 3072``; the run's is ``init_scale sqrt(3072/d)``.
    n_test : int
        Test points per run.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of ``Config(engine="reduced", ...)`` (exact in law at any ``d``).

    Raises
    ------
    InvalidParameter
        For a range that cannot be drawn from, or a non-positive ``eta_d``/``init_scale``.
    ImportError
        Without hypothesis (``pip install 'featavg[test]'``).
    """
    st = _hypothesis()
    from featavg.simulate import SUPERVISIONS, Config

    if supervision not in SUPERVISIONS:
        raise InvalidParameter("supervision", supervision, "one of " + ", ".join(SUPERVISIONS))
    if not eta_d > 0:
        raise InvalidParameter("eta_d", eta_d, "a positive float (eta d; the paper's is 3.072)")
    if not init_scale > 0:
        raise InvalidParameter("init_scale", init_scale, "a positive float")
    ks, ms, hs = _integers(st, "k", k), _integers(st, "m", m), _integers(st, "h", h)
    ns, ds, seeds = _integers(st, "n", n), _integers(st, "d", d), _integers(st, "seed", seed)

    @st.composite
    def configs(draw):
        kk = draw(ks)
        pp = draw(st.integers(1, kk - 1) if positive is None else _integers(st, "positive", positive))
        dd = draw(ds)
        return Config(k=kk, positive=pp, m=draw(ms), h=draw(hs), n=draw(ns), d=dd, n_test=int(n_test),
                      eta=float(eta_d) / dd, init_scale=float(init_scale) * math.sqrt(3072 / dd),
                      steps=int(steps), seed=draw(seeds), supervision=supervision, engine="reduced")

    return configs()


def replica_runs(cfg, replicas=3, **overrides):
    """Runs on the data of ``cfg.seed`` from ``replicas`` independent initialisations.

    Replica ``r`` starts from the initial weights of ``cfg.seed + REPLICA_SEED_STRIDE r`` (``r = 0``
    is ``run_simulation(cfg)`` itself, to round-off); all train in one stacked pass
    (:func:`featavg.simulate.run_replicas`).

    Parameters
    ----------
    cfg : Config
    replicas : int
        At least 1.
    **overrides
        Fields of ``cfg`` to replace first (``supervision="cluster"``).

    Returns
    -------
    list of featavg.simulate.Run
    """
    from featavg.simulate import run_replicas

    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 1:
        raise InvalidParameter("replicas", replicas, "an integer >= 1")
    cfg = dataclasses.replace(cfg, **overrides)
    return run_replicas(cfg, [cfg.seed + REPLICA_SEED_STRIDE * r for r in range(int(replicas))])


def _own_points(run):
    """(n, M) bool: point i belongs to neuron r's class (binary) or cluster (multi-class)."""
    net = run.network
    if net.kind == "binary":
        return run.train.y[:, None] == net.neuron_signs[None, :]
    return run.train.clusters[:, None] == np.repeat(np.arange(run.config.k), net.h)[None, :]


def alive_at_init(run):
    """Which neurons fire on some point of their own class (cluster) at initialisation.

    The claims' regime condition (module docstring): a neuron off on every own-class training point
    at initialisation gets no gradient from them and never moves. Checked from the initial weights
    and the training data only.

    Parameters
    ----------
    run : featavg.simulate.Run

    Returns
    -------
    ndarray of bool, shape (M,)
        ``alive_at_init(run).all()`` is the condition on the draw.
    """
    Z0 = run.train.X @ run.W_init.T + run.b_init
    return np.any(_own_points(run) & (Z0 > 0), axis=0)


def dead_neuron_probability(counts, cluster_labels, supervision="binary"):
    """The probability that a neuron is dead at initialisation, from the cluster counts.

    ``prod_{j in J_s} 1/(n_j + 1)`` for a binary neuron of class ``s`` and ``1/(n_j + 1)`` for a
    neuron of output ``j`` (module docstring: a neuron is off on all ``n_j`` points of a cluster with
    probability ``E[U^{n_j}] = 1/(n_j + 1)``, independently across clusters given the features).

    Parameters
    ----------
    counts : array_like, shape (k,)
        Training points per cluster.
    cluster_labels : array_like, shape (k,)
    supervision : {"binary", "cluster"}

    Returns
    -------
    dict or ndarray
        Binary: ``{+1: p_+, -1: p_-}``; cluster: the probability per output, shape (k,).
    """
    counts = np.asarray(counts, dtype=float)
    labels = np.asarray(cluster_labels)
    if counts.shape != labels.shape or np.any(counts < 0):
        raise InvalidParameter("counts", counts.tolist(), f"non-negative counts, one per cluster ({labels.size})")
    if supervision == "cluster":
        return 1.0 / (counts + 1.0)
    if supervision != "binary":
        raise InvalidParameter("supervision", supervision, "'binary' or 'cluster'")
    return {s: float(np.prod(1.0 / (counts[labels == s] + 1.0))) for s in (1, -1)}


@dataclasses.dataclass(frozen=True)
class AveragingPrediction:
    """C1's prediction for one binary run, and what the run measured (alive neurons only).

    Attributes
    ----------
    alive : ndarray of bool, shape (M,)
    score, score_halfwidth, measured_score : ndarray, shape (alive,)
        Averaging score ``cos(w_r, sum_{J_s} mu)``: predicted, its budget, measured.
    ratios, ratio_halfwidth, measured_ratios : ndarray, shape (M, k)
        The own-feature ratios ``lambda_{r,j}/mean_{J_s} lambda_{r,.}`` (``sqrt(|J_s|) cos(w_r, mu_j)
        / cos(w_r, sum mu)``), NaN off the own features and for dead neurons; the budget is
        C1.cos_own_feature's band (Bonferroni over the run's pairs).
    own_sizes : ndarray of int, shape (M,)
        ``|J_s|`` of each neuron's class (the ratios tell averaging from decoupling iff ``>= 2``).
    opposite_ratios : ndarray, shape (M, k)
        Predicted opposite-class ratios (NaN on own features).
    certain : ndarray of bool, shape (M,)
        No own-class point of the neuron had an uncertain activity in the prediction's GD (a pair
        reviving from near-death in the first steps makes the ratio band a bound on its lag, and the
        lag is shared with the class's other neurons through the margin).
    """

    alive: np.ndarray
    score: np.ndarray
    score_halfwidth: np.ndarray
    measured_score: np.ndarray
    ratios: np.ndarray
    ratio_halfwidth: np.ndarray
    measured_ratios: np.ndarray
    own_sizes: np.ndarray
    opposite_ratios: np.ndarray
    certain: np.ndarray


def _level(level):
    if not 0 < level < 1:
        raise InvalidParameter("level", level, "a confidence level strictly between 0 and 1")
    return float(level)


def _context():
    from featavg._verify import VerifyContext

    return VerifyContext()


def averaging_prediction(run, steps=None, level=None):
    """C1.feature_averaging's prediction for one binary run (from its sample and initial weights).

    The averaging score of each alive neuron from its parts (noise share, between-cluster spread,
    opposite-class part; ``C1.feature_averaging.score_band``) and its own-feature ratios with
    C1.cos_own_feature's band.

    Parameters
    ----------
    run : featavg.simulate.Run
        Binary supervision.
    steps : int, optional
        The GD steps the run was asked for (default ``run.config.steps``).
    level : float, optional
        Joint confidence of the run's statistical band terms (default
        :data:`featavg.evidence.CONFIDENCE`, a verify row's); a property test over many runs asks for
        more (``1 - 1e-6``), so that a correct claim fails none of its runs.

    Returns
    -------
    AveragingPrediction
    """
    from featavg.claims import c1_feature_averaging as c1

    if run.network.kind != "binary":
        raise InvalidParameter("run", f"a {run.network.kind} run", "a binary-supervised run")
    from featavg.evidence import CONFIDENCE, quantile

    ctx = _context()
    steps = run.config.steps if steps is None else steps
    level = CONFIDENCE if level is None else _level(level)
    pr = c1._predict(ctx, run, steps)
    me = c1._measure_run(run)
    alive = pr["alive"]
    own = me["own"]
    N = int((own & alive[:, None]).sum())
    z = quantile(1.0 - (1.0 - level) / max(N, 1))
    score, half = c1.score_band(ctx, run, steps, z=quantile(level))
    band = np.where(own & alive[:, None], pr["rho_bound"] + z * pr["rho_sigma"], np.nan)
    return AveragingPrediction(alive=alive, score=score, score_halfwidth=half, measured_score=me["score"][alive],
                               ratios=np.where(own & alive[:, None], pr["rho"], np.nan), ratio_halfwidth=band,
                               measured_ratios=np.where(own & alive[:, None], me["rho"], np.nan),
                               own_sizes=own.sum(axis=1), opposite_ratios=pr["opp_ratio"],
                               certain=~np.any((pr["uncertain"] > 0) & own, axis=1))


@dataclasses.dataclass(frozen=True)
class DecouplingPrediction:
    """C5's prediction for one cluster-supervised run, and what it measured (alive neurons only).

    Attributes
    ----------
    alive : ndarray of bool, shape (M,)
    cos, cos_halfwidth, measured_cos : ndarray, shape (alive,)
        ``cos(w_{j,r}, mu_j)``: predicted, budget, measured.
    off_ratios, off_ratio_halfwidth, measured_off_ratios : ndarray, shape (alive, k - 1)
        ``lambda_{j,c}/lambda_{j,j}`` for ``c != j``.
    class_sizes : ndarray of int, shape (alive,)
        ``|J_s|`` of each neuron's cluster's class (an averaging net scores ``1/sqrt(|J_s|)``).
    certain : ndarray of bool, shape (alive,)
        No point's activity on the neuron was within the prediction's neglected noise (else the
        ratio budget is a first-order bound on a cascade of flips).
    outputs : ndarray of int, shape (alive,)
        The output (own cluster) of each alive neuron.
    scales, scale_halfwidth : ndarray, shape (alive,)
        The predicted own coefficient ``lambda_{j,j}`` of each alive neuron (the reduced GD's) and
        its budget (the weights of its uncertain own-cluster points).
    cluster_labels : ndarray of int, shape (k,)
        The class of each cluster.
    output_cos, output_cos_halfwidth : ndarray, shape (k,)
        ``cos(w_j, mu_j)`` of each output's summed alive neurons ``w_j = sum_r w_{j,r}`` and its budget
        (``C5.decoupling.output_band``); NaN for an output without an alive neuron.
    """

    alive: np.ndarray
    cos: np.ndarray
    cos_halfwidth: np.ndarray
    measured_cos: np.ndarray
    off_ratios: np.ndarray
    off_ratio_halfwidth: np.ndarray
    measured_off_ratios: np.ndarray
    class_sizes: np.ndarray
    certain: np.ndarray
    outputs: np.ndarray
    scales: np.ndarray
    scale_halfwidth: np.ndarray
    cluster_labels: np.ndarray
    output_cos: np.ndarray
    output_cos_halfwidth: np.ndarray


def decoupling_prediction(run, steps=None):
    """C5.decoupling's prediction for one cluster-supervised run (``C5.decoupling.score_band``).

    Returns
    -------
    DecouplingPrediction
    """
    from featavg.claims import c5_decoupling as c5

    if run.network.kind != "multiclass":
        raise InvalidParameter("run", f"a {run.network.kind} run", "a cluster-supervised (multi-class) run")
    ctx = _context()
    steps = run.config.steps if steps is None else steps
    cos, half, ratios, r_half, alive, certain = c5.score_band(ctx, run, steps)
    gd = c5._reduced_gd(ctx, run, steps)
    out_cos, out_half = c5.output_band(ctx, run, steps)
    k, h = run.config.k, run.config.h
    F, W = run.features, run.network.W
    dd = float(np.mean(np.einsum("jd,jd->j", F, F)))
    lam = W @ F.T / dd
    own = np.repeat(np.arange(k), h)
    measured_cos = lam[np.arange(k * h), own] * np.sqrt(dd) / np.linalg.norm(W, axis=1)
    measured_ratios = np.array([np.delete(lam[r], own[r]) / lam[r, own[r]] for r in range(k * h)])
    labels = run.cluster_labels
    sizes = np.array([int(np.sum(labels == labels[own[r]])) for r in range(k * h)])
    return DecouplingPrediction(alive=alive, cos=cos, cos_halfwidth=half, measured_cos=measured_cos[alive],
                                off_ratios=ratios, off_ratio_halfwidth=r_half,
                                measured_off_ratios=measured_ratios[alive], class_sizes=sizes[alive],
                                certain=certain, outputs=own[alive], scales=gd["lam"][alive, own[alive]],
                                scale_halfwidth=gd["uncertain"][alive, own[alive]],
                                cluster_labels=np.asarray(labels), output_cos=out_cos,
                                output_cos_halfwidth=out_half)


def median_radius_ratio(run, predicted, readout="argmax", points=None):
    """Median exact L2 radius of the run's test points over ``predicted``.

    Parameters
    ----------
    run : featavg.simulate.Run
    predicted : float
        The radius a claim predicts (``sqrt(d/2)`` for the argmax readout, ...).
    readout : {"argmax", "sum"}
        For a multi-class net; a binary net has one.
    points : int, optional
        The first ``points`` test points (default all).

    Returns
    -------
    float
    """
    from featavg.simulate import exact_radii

    X, y = run.test.X, run.test.y
    if points is not None:
        X, y = X[:points], y[:points]
    readout = readout if run.network.kind == "multiclass" else "argmax"
    r = np.array([x.radius for x in exact_radii(run.network, X, y, run.cluster_labels, readout)])
    return float(np.median(r) / predicted)


def averaged_net_radius_ratios(run):
    """Median exact radius of each class's test points over C3's radius of the averaging net.

    C3.averaging_radius's ``radius`` with the trained scales and biases (means over each neuron
    group: ``alpha_+ = mean <w_{+,r}, mu_j>/d`` over J+, ...), for the positive and for the negative
    class (the formula with the roles of the classes exchanged).

    Returns
    -------
    list of float
        One ratio per class present among the test points (positive first).
    """
    from featavg import get_claim
    from featavg.simulate import exact_radii

    cfg, net = run.config, run.network
    m, p, k, d = cfg.m, cfg.positive, cfg.k, cfg.d
    labels = run.cluster_labels
    coef = net.W @ run.features.T / d
    a_p, a_m = coef[:m][:, labels > 0].mean(), coef[m:][:, labels < 0].mean()
    b_p, b_m = net.b[:m].mean(), net.b[m:].mean()
    radius = get_claim("C3.averaging_radius").predictions["radius"]
    pred = {1: radius(d=d, k=k, p=p, alpha_p=a_p, alpha_m=a_m, b_p=b_p, b_m=b_m),
            -1: radius(d=d, k=k, p=k - p, alpha_p=a_m, alpha_m=a_p, b_p=b_m, b_m=b_p)}
    r = np.array([x.radius for x in exact_radii(net, run.test.X, run.test.y, labels, "argmax")])
    return [float(np.median(r[run.test.y == s]) / pred[s]) for s in (1, -1) if np.any(run.test.y == s)]


def _median_noise(points):
    """Bound on the median of ``points`` unit normals: the exact order-statistics interval (at the
    row confidence) of the median of N(0, 1), in units of the standard deviation."""
    from scipy.special import ndtri

    from featavg.evidence import CONFIDENCE, median_interval

    if points < 1:
        return math.inf
    # the interval's order statistics j, N + 1 - j have normal quantiles ndtri(j/(N + 1)) on average
    _, lo, hi, _ = median_interval(ndtri((np.arange(points) + 1) / (points + 1)), CONFIDENCE)
    return float(max(abs(lo), abs(hi))) if math.isfinite(lo) else 3.0


def averaged_net_radius_budget(prediction, radius, points):
    r"""Error budget of :func:`averaged_net_radius_ratios` from C1's prediction of the trained net.

    The trained neurons differ from the averaging net in three ways, each bounded by C1's parts:
    their norm is ``1/s`` times that of their component along the class sum (``s`` the averaging
    score: the spread, opposite and noise parts are orthogonal to it), their pre-activation at a point
    of cluster j is ``rho_j`` (own) or ``rho_{j'}`` (opposite features) times the averaged one's, and
    a noisy test point's radius is the noise-free one plus its noise along the boundary normal
    (standard normal): the median of ``points`` of them moves by :func:`_median_noise`. So

    .. math:: |r/r_{avg} - 1| \le (1/s_{min} - 1) + \max|\rho_j - 1| + \max|\rho_{j'}| + m_N/r_{avg}.

    Parameters
    ----------
    prediction : AveragingPrediction
    radius : float
        The averaging net's radius (C3), in the units of ``d``.
    points : int
        Test points per class.
    """
    s_min = float(np.min(prediction.score - prediction.score_halfwidth))
    own = np.nanmax(np.abs(prediction.ratios - 1) + prediction.ratio_halfwidth)
    opp = np.nanmax(np.abs(prediction.opposite_ratios))
    return (1 / s_min - 1) + float(own) + float(opp) + _median_noise(points) / radius


def argmax_radius_budget(prediction, d, points):
    r"""Error budget of the argmax readout's median radius over ``sqrt(d/2)`` (C5.readouts, C4).

    For decoupled neurons ``w_{j,r} = lambda_{j,r} (mu_j + sum_c u_c mu_c) + eta_{j,r}``, output j sums
    its neurons: own coefficient ``Lambda_j = sum_r lambda_{j,r}`` and ``cos(w_j, mu_j) = c_j``
    (predicted with its budget by ``C5.decoupling.output_band``). The argmax flips a noise-free point
    of cluster j when an output j' of the other class reaches output j; with both active the distance
    is ``<w_j - w_j', mu_j>/||w_j - w_j'||``, so (to first order in the off-feature parts ``u``)

    .. math:: \frac{r_{jj'}}{\sqrt{d/2}} = R_{jj'} = \frac{\sqrt 2}{\sqrt{1/c_j^2 + \rho^2/c_{j'}^2}},
              \qquad \rho = \Lambda_{j'}/\Lambda_j,

    which is 1 at equal scales and ``c = 1``; the ``u`` parts move it by at most ``(1 + rho) max|u|``.
    A cluster's noise-free radius is ``R_j = min_{j'} R_{jj'}``, and the pooled median lies between the
    smallest and the largest ``R_j``: the budget takes each ``R_j`` at both ends of its ``c`` and
    ``Lambda`` bands (``c`` within its budget, at most 1; ``Lambda`` within its uncertain own points'
    weights). Unequal scales are the finite-time part of cross-entropy GD on clusters of
    unequal sizes (C7.equal_margins_attract: the margins equalise only as ``t -> infinity``). A noisy
    point moves its radius by its noise along ``w_j - w_j'``; the minimum over the ``K`` opposite
    clusters lowers the median by at most ``sqrt(2 log K)`` (expected maximum of ``K`` standard
    normals) and the median of ``points`` points moves by :func:`_median_noise`:

    .. math:: |r/\sqrt{d/2} - 1| \le \max_j |R_j - 1| + (1 + \rho_{max}) \max|u|
              + (\sqrt{2\log K} + m_N)/\sqrt{d/2}.

    Infinite (no bound) where the uncertain points' weights of some output reach its scale.

    Parameters
    ----------
    prediction : DecouplingPrediction
    d : int
    points : int
        Test points pooled.
    """
    labels = prediction.cluster_labels
    outs = np.unique(prediction.outputs)
    c_lo, c_hi, lam, lam_err = {}, {}, {}, {}
    for j in outs:
        sel = prediction.outputs == j
        c_lo[j] = float(prediction.output_cos[j] - prediction.output_cos_halfwidth[j])
        c_hi[j] = min(1.0, float(prediction.output_cos[j] + prediction.output_cos_halfwidth[j]))
        lam[j] = float(np.sum(prediction.scales[sel]))
        lam_err[j] = float(np.sum(prediction.scale_halfwidth[sel]))
    if any(lam[j] <= lam_err[j] for j in outs):
        return math.inf   # an output whose scale the prediction does not determine: no bound
    worst, rho_max = 0.0, 1.0
    for j in outs:
        opp = [c for c in outs if labels[c] != labels[j]]
        if not opp:
            continue
        lo = min(math.sqrt(2) / math.sqrt(1 / c_lo[j] ** 2 + ((lam[c] + lam_err[c]) / (lam[j] - lam_err[j])) ** 2
                                          / c_lo[c] ** 2) for c in opp)
        hi = min(math.sqrt(2) / math.sqrt(1 / c_hi[j] ** 2 + ((lam[c] - lam_err[c]) / (lam[j] + lam_err[j])) ** 2
                                          / c_hi[c] ** 2) for c in opp)
        worst = max(worst, abs(lo - 1), abs(hi - 1))
        rho_max = max(rho_max, max((lam[c] + lam_err[c]) / (lam[j] - lam_err[j]) for c in opp))
    u = float(np.max(np.abs(prediction.off_ratios) + prediction.off_ratio_halfwidth))
    K = prediction.off_ratios.shape[1] + 1 - int(np.min(prediction.class_sizes))   # largest |J_{-y}|
    return worst + (1 + rho_max) * u + (math.sqrt(2 * math.log(max(K, 1))) + _median_noise(points)) / math.sqrt(d / 2)
