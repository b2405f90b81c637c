r"""Late-phase machinery shared by the C7 claim modules (not a claim: discovery skips ``_`` modules).

Two kinds of late-phase networks:

* **built** (:func:`late_regime_run`): a net constructed in C7's idealised late regime on
  noise-free data, where GD follows the margin map to round-off. It tests the implementation
  (``tests/test_late_regime.py``) and illustrates the margin figure; it is no evidence about
  trained networks.
* **trained** (:func:`late_window`): a net trained by GD from a small random initialisation on
  the Gaussian mixture, split at the start ``t0`` of its late regime into two runs, so that the
  margins of its training points are known at both ends of the window ``[t0, T]``. The checks
  predict the margins at ``T`` from the state at ``t0`` with C7.margin_ode's finite-``n`` map
  (:func:`iterate_map`; its appended predictions), and bound what that map neglects by derived
  terms (:func:`neglected`).

Notation (C7.margin_ode): ``q_j = y_j f(mu_j)`` the centre margin of cluster ``j``, ``u_j`` the
mean margin of its training points, ``pi_j = n_j/n``, ``g`` the loss weight of a margin (binary:
``1/(1 + e^u)``; cross-entropy: ``(k-1)/(e^u + k - 1)``), ``kappa = d/(d + K)`` the coupling's
factor when the opposite neurons sit at their boundary on the ``K`` opposite clusters, and ``Z``
the drift of those neurons' pre-activations at the opposite centres over the window.

Simulator imports stay inside functions: the SymPy half of the claim modules that import this one
builds without :mod:`featavg.simulate`.
"""

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from featavg.evidence import CONFIDENCE, quantile

__all__ = ["late_regime_run", "margins", "WINDOWS", "SEEDS", "SPARE", "Window", "RegimeError", "late_window", "late_windows",
           "window_seeds", "iterate_map", "neglected", "bonferroni_z", "vector_terms", "one_step", "describe"]


# ---------------------------------------------------------------------------------------------
# built regime (tests and the margin figure)
# ---------------------------------------------------------------------------------------------

def late_regime_run(ctx, q0, eta, steps, *, k=10, d=200, m=5, per_cluster=10, every=0, salt=71):
    """A binary net built in C7's late regime (:func:`featavg.simulate.late_regime`), trained by GD.

    Noise-free balanced data (sigma = 0) with ``per_cluster`` copies of each ``mu_j`` removes the
    finite-``n`` and finite-``d`` corrections, so GD follows C7's margin map exactly.

    Returns
    -------
    run : featavg.simulate.Run
    labels : ndarray, shape (k,)
    """
    from featavg.simulate import Config, late_regime, make_features, make_partition

    feats = make_features(k, d, ctx.rng(salt))
    labels = make_partition(k)
    net, train = late_regime(feats, labels, q0, m=m, per_cluster=per_cluster)
    cfg = Config(k=k, d=d, n=train.y.size, n_test=train.y.size, m=m, sigma=0.0, eta=eta, steps=steps,
                 seed=ctx.seed, history_every=every)
    run = ctx.run(cfg, features=feats, cluster_labels=labels, train=train, test=train, W_init=net.W, b_init=net.b)
    return run, labels


def margins(run):
    """The cluster margins ``q_j`` of a run's trained network."""
    from featavg.simulate import cluster_margins

    return cluster_margins(run.network, run.features, run.cluster_labels)


# ---------------------------------------------------------------------------------------------
# trained late phase
# ---------------------------------------------------------------------------------------------

#: The trained windows the C7 checks measure. ``t0`` is the step from which the late regime
#: holds (verified on every seed by :func:`late_window`), ``T`` the last step; sizes as in the
#: paper (k = 10, m = 5, eta d = 3.072) except where a check needs another regime:
#:
#: * ``binary``: logistic loss at d = 1e6 (reduced engine, exact in law), n = 500 (quick 250):
#:   the noise inner products are a relative k/sqrt(n d) ~ 3e-4, so the finite-n terms (counts,
#:   own noise, of relative order k/n = 2%) show;
#: * ``small_d``: d = 20, where the coupling sum_i g_i is p/(d + p) = 20% of the rate; noise
#:   scale sigma = 0.05 (an extension of docs/science.md §1), because at sigma = 1 the noise terms are of order
#:   q p/d, the coupling's own order, and the late regime (own neurons on all own points) fails;
#: * ``ce``: cross-entropy with cluster labels at d = 1e6, h = 1, n = 500 (also in quick mode: at
#:   n = 250, 7 of 24 seeds had an output whose one neuron never fired on its own cluster).
#:
#: A run is in the late regime when every own neuron fires on every own training point at every
#: recorded step of the window (:func:`late_window`). A neuron that starts with a strongly negative
#: feature coefficient can stay off its own cluster for good (measured at seeds 5000..5023: binary
#: 0/24 at n = 500, 1/24 at n = 250; ce 1/24 at n = 500); such a seed is outside the claims'
#: regime, and :func:`late_windows` replaces it by the next seed, reporting it (:data:`SPARE`).
WINDOWS = {
    "binary": dict(supervision="binary", k=10, d=10 ** 6, m=5, h=1, n=500, n_quick=250, sigma=1.0,
                   eta_d=3.072, init=1e-5 * np.sqrt(3072 / 10 ** 6), t0=30, T=200, every=20,
                   engine="reduced", salt=0),
    "small_d": dict(supervision="binary", k=10, d=20, m=5, h=1, n=1000, n_quick=1000, sigma=0.05,
                    eta_d=1.0, init=1e-3, t0=100, T=600, every=10, engine="explicit", salt=1),
    "ce": dict(supervision="cluster", k=10, d=10 ** 6, m=5, h=1, n=500, n_quick=500, sigma=1.0,
               eta_d=3.072, init=1e-5 * np.sqrt(3072 / 10 ** 6), t0=10, T=100, every=30,
               engine="reduced", salt=2),
}


#: independent run seeds per window kind: (full, quick)
SEEDS = {"binary": (3, 2), "small_d": (4, 2), "ce": (2, 2)}
#: how many seeds outside the late regime a window kind replaces before the check fails
SPARE = {"binary": 2, "small_d": 4, "ce": 2}


class RegimeError(RuntimeError):
    """A trained run is not in C7's late regime over its window (the claim does not apply)."""


@dataclass
class Window:
    """A trained net's late-phase window ``[t0, T]`` and what the checks measure on it.

    Attributes
    ----------
    kind : str
        Key of :data:`WINDOWS`.
    seed : int
        The run seed (data and initialisation).
    A, B : featavg.simulate.Run
        The run to ``t0`` and its continuation to ``T`` (same data, ``B`` starts from ``A``'s net).
    counts : ndarray, shape (k,)
        ``n_j``.
    groups : list of ndarray of int
        The clusters that share a coupling: ``J_+`` and ``J_-`` (binary), each cluster alone (ce).
    K : ndarray, shape (k,)
        Number of opposite clusters of each cluster's neurons (``|J_{-s}|``; ``k - 1`` for ce).
    q0, q1 : ndarray, shape (k,)
        Centre margins at ``t0`` and ``T``.
    u0, u1 : ndarray, shape (k,)
        Mean margins of each cluster's training points at ``t0`` and ``T``.
    gap0, gap1 : ndarray, shape (k,)
        ``|mean_i g(u_i)/g(u_j) - 1|``: how far the spread of a cluster's point margins moves its
        loss weight from the weight of the mean margin.
    rho0, rho1 : ndarray, shape (k,)
        Mean share of a point's margin taken by neurons outside its own group (binary: opposite
        neurons firing on it; ce: ``log mean_{j != c} e^{f_j}``).
    Z : ndarray, shape (k,)
        Drift over the window of the own neurons' pre-activations at the opposite centres, summed
        over those centres and averaged over the neurons.
    a1 : ndarray, shape (k,)
        The own neurons' mean coefficient ``a_j = (1/m) sum_r <w_r, mu_j>`` at ``T`` (its margin
        without the biases).
    regime : dict
        What the regime check measured (minimum own activity, maximum opposite pre-activation at
        the own centres, maximum opposite activity).
    """

    kind: str
    seed: int
    A: object
    B: object
    counts: np.ndarray
    groups: list
    K: np.ndarray
    q0: np.ndarray
    q1: np.ndarray
    u0: np.ndarray
    u1: np.ndarray
    gap0: np.ndarray
    gap1: np.ndarray
    rho0: np.ndarray
    rho1: np.ndarray
    Z: np.ndarray
    a1: np.ndarray
    regime: dict = field(default_factory=dict)

    @property
    def spec(self):
        return WINDOWS[self.kind]

    @property
    def config(self):
        return self.A.config

    @property
    def steps(self):
        return self.B.config.steps

    @property
    def labels(self):
        return self.A.cluster_labels

    @property
    def width(self):
        """``m`` (binary) or ``h`` (ce): the mean over neurons in an output."""
        return self.config.m if self.config.supervision == "binary" else self.config.h

    @property
    def pi(self):
        return self.counts / self.config.n

    def summary(self):
        """JSON-ready numbers of the window (for a check's details)."""
        return {"seed": self.seed, "t0": self.spec["t0"], "T": self.spec["T"], "counts": self.counts,
                "q0": self.q0, "q1": self.q1, "u0": self.u0, "u1": self.u1, "drift_Z": self.Z,
                "regime": self.regime}


def _loss_weight(ctx, supervision, k):
    """``g`` of the claims: binary ``1/(1+e^u)`` (C7.margin_ode), ce ``(k-1)/(e^u+k-1)`` (C7.ce_margin_ode)."""
    if supervision == "binary":
        g = ctx.prediction("C7.margin_ode", "g")
        return lambda u: np.asarray(g(u), dtype=float)
    gam = ctx.prediction("C7.ce_margin_ode", "gamma")
    return lambda u: np.asarray(gam(u, k), dtype=float)


def _point_state(net, run, supervision):
    """Per training point: margin ``u_i``, the share ``rho_i`` of outside neurons, own activity."""
    X, cl, y = run.train.X, run.train.clusters, run.train.y
    Zt = net.preactivations(X)
    if supervision == "binary":
        m = net.m
        same = net.neuron_signs[None, :] == y[:, None]  # (n, 2m): neuron's sign is the point's label
        relu = np.maximum(Zt, 0.0)
        own = (relu * same).sum(axis=1) / m
        rho = (relu * ~same).sum(axis=1) / m
        own_active = float(np.mean((Zt > 0)[same]))
        return own - rho, rho, own_active
    F = net.output(X)
    n, k = F.shape
    rows = np.arange(n)
    off = F.copy()
    off[rows, cl] = -np.inf
    rho = special.logsumexp(off, axis=1) - np.log(k - 1)  # log mean_{j != c} e^{f_j}
    own_cols = np.repeat(np.arange(k), net.h)[None, :] == cl[:, None]
    own_active = float(np.mean((Zt > 0)[own_cols]))
    return F[rows, cl] - rho, rho, own_active


def _cluster_means(values, clusters, counts):
    return np.bincount(clusters, weights=values, minlength=counts.size) / counts


def _opposite_centre_preacts(net, features, labels, supervision):
    """Pre-activations at the centres, shape (k, M), and the mask of each neuron's opposite centres."""
    Zc = net.preactivations(features)  # (k, M)
    if supervision == "binary":
        opposite = net.neuron_signs[None, :] != np.asarray(labels)[:, None]
    else:
        opposite = np.repeat(np.arange(net.k), net.h)[None, :] != np.arange(net.k)[:, None]
    return Zc, opposite


def _measure_window(ctx, kind, seed, A, B):
    from featavg.simulate import cluster_margins

    spec = WINDOWS[kind]
    sup = spec["supervision"]
    cfg = A.config
    k, labels, cl = cfg.k, A.cluster_labels, A.train.clusters
    counts = np.bincount(cl, minlength=k).astype(float)
    w = _loss_weight(ctx, sup, k)
    out = {}
    for tag, net in (("0", A.network), ("1", B.network)):
        u_i, rho_i, own_active = _point_state(net, A, sup)
        u = _cluster_means(u_i, cl, counts)
        gbar = _cluster_means(w(u_i), cl, counts)
        out["u" + tag], out["rho" + tag] = u, _cluster_means(rho_i, cl, counts)
        out["gap" + tag] = np.abs(gbar / w(u) - 1.0)
        out["q" + tag] = cluster_margins(net, A.features, labels)
        out["own" + tag] = own_active
        Zc, opposite = _opposite_centre_preacts(net, A.features, labels, sup)
        out["Zc" + tag] = Zc
        out["opp_at_own_centre" + tag] = float(np.max(np.where(opposite, Zc, -np.inf)))
    WF = B.network.W @ A.features.T  # (M, k): <w_r, mu_j> at T
    if sup == "binary":
        a1 = np.array([WF[B.network.neuron_signs == labels[j], j].mean() for j in range(k)])
    else:
        a1 = np.array([WF[np.repeat(np.arange(k), B.network.h) == j, j].mean() for j in range(k)])
    if sup == "binary":
        groups = [np.flatnonzero(labels == s) for s in (1, -1)]
        signs = A.network.neuron_signs
        K = np.array([int(np.sum(labels != labels[j])) for j in range(k)], dtype=float)
        # neuron r of sign s: sum over the opposite centres j' of Delta z_{r,j'}; mean over the group's neurons
        dZ = out["Zc1"] - out["Zc0"]
        Z = np.empty(k)
        for s, grp in zip((1, -1), groups):
            neurons = signs == s
            Z[grp] = np.mean(dZ[np.ix_(labels != s, neurons)].sum(axis=0))
    else:
        groups = [np.array([j]) for j in range(k)]
        K = np.full(k, float(k - 1))
        h = A.network.h
        dZ = out["Zc1"] - out["Zc0"]
        owner = np.repeat(np.arange(k), h)
        Z = np.array([np.mean(np.delete(dZ[:, owner == j], j, axis=0).sum(axis=0)) for j in range(k)])
    # regime: own neurons active on every own training point at every recorded step and at both
    # ends; at the own centres no outside neuron active (so q_j is the own neurons' margin)
    fr = [A.history["activation_fractions"][-1], *B.history["activation_fractions"]]
    M = fr[0].shape[0]
    if sup == "binary":
        own_mask = np.repeat([1, -1], M // 2)[:, None] == labels[None, :]
    else:
        own_mask = np.repeat(np.arange(k), M // k)[:, None] == np.arange(k)[None, :]
    own_min = min(float(np.min(a[own_mask])) for a in fr)
    opp_max = max(float(np.max(a[~own_mask])) for a in fr)
    regime = {"own_activity_min": min(own_min, out["own0"], out["own1"]),
              "outside_preactivation_at_own_centres_max": max(out["opp_at_own_centre0"], out["opp_at_own_centre1"]),
              "opposite_activity_max": opp_max, "recorded_every": spec["every"]}
    return Window(kind=kind, seed=seed, A=A, B=B, counts=counts, groups=groups, K=K, q0=out["q0"], q1=out["q1"],
                  u0=out["u0"], u1=out["u1"], gap0=out["gap0"], gap1=out["gap1"], rho0=out["rho0"],
                  rho1=out["rho1"], Z=Z, a1=a1, regime=regime)


def _in_regime(win):
    r = win.regime
    return r["own_activity_min"] == 1.0 and r["outside_preactivation_at_own_centres_max"] <= 0.0


def window_config(ctx, kind, seed):
    """The :class:`featavg.simulate.Config` of the run to ``t0`` (quick: ``n_quick`` points)."""
    from featavg.simulate import Config

    spec = WINDOWS[kind]
    return Config(k=spec["k"], d=spec["d"], n=spec["n_quick"] if ctx.quick else spec["n"], n_test=10, m=spec["m"],
                  h=spec["h"], sigma=spec["sigma"], eta=spec["eta_d"] / spec["d"], init_scale=spec["init"],
                  steps=spec["t0"], history_every=spec["every"], supervision=spec["supervision"],
                  engine=spec["engine"], seed=seed)


def late_window(ctx, kind, seed):
    """The trained window ``kind`` of run ``seed`` (cached by the context).

    Raises
    ------
    RegimeError
        If the run is not in the late regime over its window (:data:`Window.regime`).
    """
    key = ("C7._late.window", kind, seed, ctx.quick)
    if key not in ctx.cache:
        spec = WINDOWS[kind]
        cfg = window_config(ctx, kind, seed)
        A = ctx.run(cfg)
        cont = dataclasses.replace(A.config, steps=spec["T"] - spec["t0"])
        B = ctx.run(cont, features=A.features, cluster_labels=A.cluster_labels, train=A.train, test=A.test,
                    W_init=A.network.W, b_init=A.network.b)
        ctx.cache[key] = _measure_window(ctx, kind, seed, A, B)
    win = ctx.cache[key]
    if not _in_regime(win):
        raise RegimeError(f"C7 {kind} window of seed {seed}: not in the late regime over steps "
                          f"{win.spec['t0']}..{win.spec['T']} ({win.regime})")
    return win


def window_seeds(ctx, kind):
    """The run seeds a window kind uses (:data:`SEEDS`), from :meth:`VerifyContext.seeds`, offset by the kind's salt."""
    count = SEEDS[kind][1 if ctx.quick else 0]
    base = WINDOWS[kind]["salt"]
    return [s + 100 * base for s in ctx.seeds(count)]


def late_windows(ctx, kind, *, spare=None):
    """The windows of :func:`window_seeds`; a seed outside the regime is replaced by the next one
    (at most ``spare`` times, default :data:`SPARE`), and the skipped seeds are returned.

    Returns
    -------
    windows : list of Window
    skipped : list of int
    """
    spare = SPARE[kind] if spare is None else spare
    seeds = window_seeds(ctx, kind)
    wins, skipped, nxt = [], [], max(seeds) + 1
    queue = list(seeds)
    while queue:
        s = queue.pop(0)
        try:
            wins.append(late_window(ctx, kind, s))
        except RegimeError:
            if len(skipped) >= spare:
                raise
            skipped.append(s)
            queue.append(nxt)
            nxt += 1
    return wins, skipped


# ---------------------------------------------------------------------------------------------
# the finite-n map and what it neglects
# ---------------------------------------------------------------------------------------------

def iterate_map(ctx, win, *, steps=None, q0=None, u0=None, coupling="boundary", self_term=True, counts=True,
                scale=1.0, drift=True, weight=None, all_clusters=False, record=False):
    r"""Iterate C7.margin_ode's finite-``n`` map (C7.ce_margin_ode's for ce) from the state at ``t0``.

    Per step, for each cluster ``j`` of a group ``J`` (module docstring):
    ``q_j += finite_n_increment(eta, m, d, pi_j, g(u_j), S, kappa)`` with ``S = sum_{c in J} pi_c g(u_c)``
    (binary; ce: ``finite_n_increment(eta, h, d, pi_j, g(u_j), kappa)``), ``u_j`` the same plus
    ``self_increment``; the boundary drift ``Z/(d + K)`` is spread evenly over the steps.

    Parameters
    ----------
    coupling : {"boundary", "inactive", "none"}
        ``kappa = d/(d + K)`` (opposite neurons at their boundary, the derived case), ``1`` (the
        L2 claim: opposite neurons inactive), ``0`` (no coupling: a rival).
    self_term : bool
        Each point's own noise (False: ``u = q`` and no self term: a rival).
    counts : bool
        ``pi_j = n_j/n`` (False: ``1/k``, the sizes alone).
    scale : float
        Multiplies ``eta`` (2: the rival "C doubled").
    drift : bool
        Add the measured boundary drift (with ``coupling="boundary"`` only).
    weight : callable, optional
        Replaces the loss weight ``g`` (a rival's loss).
    all_clusters : bool
        Couple every cluster to every other (a rival: the coupling summed over both classes).
    record : bool
        Also return the trajectory of ``q``.

    Returns
    -------
    q, u : ndarray, shape (k,)
        At ``t0 + steps``.
    info : dict
        ``Gamma`` (k,): ``sum_t eta g(u_j(t))``; ``B`` (k,): the coupling's increment of each
        cluster's group, ``sum_t (eta/m) S``; ``trajectory`` (steps + 1, k) if ``record``.
    """
    cfg = win.config
    sup = cfg.supervision
    k, d, n, width, sigma, eta = cfg.k, float(cfg.d), cfg.n, win.width, cfg.sigma, cfg.eta * scale
    steps = win.steps if steps is None else steps
    w = weight or _loss_weight(ctx, sup, k)
    claim = "C7.margin_ode" if sup == "binary" else "C7.ce_margin_ode"
    inc = ctx.prediction(claim, "finite_n_increment")
    self_inc = ctx.prediction(claim, "self_increment")
    factor = ctx.prediction(claim, "bias_factor")
    drift_of = ctx.prediction(claim, "boundary_drift")
    pi = win.pi if counts else np.full(k, 1.0 / k)
    kappa = {"boundary": np.asarray(factor(d, win.K), dtype=float), "inactive": np.ones(k),
             "none": np.zeros(k)}[coupling]
    # the drift belongs to the boundary identity; the rivals without it have no boundary pull
    use_drift = drift and coupling == "boundary"
    ramp = np.asarray(drift_of(win.Z, d, win.K), dtype=float) / max(steps, 1) if use_drift else np.zeros(k)
    q = np.array(win.q0 if q0 is None else q0, dtype=float)
    u = np.array((win.u0 if self_term else win.q0) if u0 is None else u0, dtype=float)
    groups = [np.arange(k)] if all_clusters else win.groups
    member = np.zeros((len(groups), k))
    for a, grp in enumerate(groups):
        member[a, grp] = 1.0
    group_of = np.argmax(member, axis=0)
    Gamma, B = np.zeros(k), np.zeros(k)
    traj = [q.copy()] if record else None
    for _ in range(steps):
        gu = w(u)
        if sup == "binary":
            S = (member @ (pi * gu))[group_of]
            dq = np.asarray(inc(eta, width, d, pi, gu, S, kappa), dtype=float)
            B += eta / width * S
        else:
            dq = np.asarray(inc(eta, width, d, pi, gu, kappa), dtype=float)
            B += eta / width * pi * gu
        du = dq + (np.asarray(self_inc(eta, width, d, n, sigma, gu), dtype=float) if self_term else 0.0)
        Gamma += eta * gu
        q += dq + ramp
        u += du + ramp
        if record:
            traj.append(q.copy())
    info = {"Gamma": Gamma / scale, "B": B}
    if record:
        info["trajectory"] = np.array(traj)
    return q, u, info


def bonferroni_z(components):
    """Two-sided normal quantile at ``1 - (1 - CONFIDENCE)/components``: every component of a vector
    band at once at the row's level."""
    return quantile(1.0 - (1.0 - CONFIDENCE) / max(int(components), 1))


def neglected(win, pred_q, pred_u, info):
    r"""What the finite-``n`` map neglects over a window, per cluster (derived in C7.margin_ode).

    Statistical (zero mean over the sample; standard deviations, to be multiplied by a quantile).
    Each enters the margins' increments as a forcing term; the map contracts perturbations of its
    state (a 1-D flow's map has derivative ``g(q_T)/g(q_0)`` in [0, 1]), so the effect of each on
    ``q_j(T)`` is at most the forcing term itself:

    * ``N_j`` (the centres'): ``(sigma/(m n)) sum_{i in J} Gamma_{c_i} <xi_i, mu_j>``, sd
      ``(sigma/(m n)) sqrt(d sum_c n_c Gamma_c^2)``, ``Gamma_c = sum_t eta g(u_c(t))``;
    * ``M_j`` (the points' feature terms): ``(sigma/(m n)) sum_c Gamma_c n_c mean_{i in j} <mu_c, xi_i>``,
      sd ``(sigma/(m n)) sqrt(d sum_c n_c^2 Gamma_c^2 / n_j)`` (ce: ``M_c = N_c``);
    * the noise-noise terms ``<xi_i', xi_i>``: sd ``(sigma^2/(m n)) sqrt(d sum_c n_c Gamma_c^2 / n_j)``;
    * the boundary identity's noise ``sqrt(K) sd(N)/(d + K)``;
    * ``||xi_i||^2 != sigma^2 d`` in the self term: sd ``sqrt(2/(d n_j))`` of it.

    Bounds (worst cases):

    * Stein: ``g(u_i)`` and ``<xi_i, mu_j>`` correlate through the own neurons' mean coefficient
      ``a_j = <v, mu_j>``: ``|E N_j| <= sigma^2 max_j |a_j| B`` (``|g'| <= g``, ``a_j`` grows over
      the window, so its value at ``T``), ``B`` the coupling's increment;
    * the spread of a cluster's point margins: relative rate error at most ``max(gap0, gap1)``
      (the spread grows over the window), effect at most that times the increment;
    * outside neurons' share of the point margins: a change of it shifts the map's state, effect
      at most ``|rho(T) - rho(t0)|``.

    Returns
    -------
    stat : dict of str -> ndarray, shape (k,)
        Standard deviations.
    bound : dict of str -> ndarray, shape (k,)
    """
    cfg = win.config
    k, d, n, width, sigma = cfg.k, float(cfg.d), cfg.n, win.width, cfg.sigma
    nc, G = win.counts, info["Gamma"]
    sdN, sdM, sdX = np.empty(k), np.empty(k), np.empty(k)
    for grp in win.groups:
        sN = sigma / (width * n) * np.sqrt(d * np.sum(nc[grp] * G[grp] ** 2))
        for j in grp:
            sdN[j] = sN
            sdM[j] = sigma / (width * n) * np.sqrt(d * np.sum(nc[grp] ** 2 * G[grp] ** 2) / nc[j])
            sdX[j] = sigma ** 2 / (width * n) * np.sqrt(d * np.sum(nc[grp] * G[grp] ** 2) / nc[j])
    self_total = np.abs((pred_u - win.u0) - (pred_q - win.q0))
    stat = {"N_j: noise-feature term of the centres' increments": sdN,
            "M_j: the points' feature terms <mu_c, xi_i>": sdM,
            "noise-noise terms <xi_i', xi_i>": sdX,
            "noise of the boundary identity, sqrt(K) sd(N)/(d + K)": np.sqrt(win.K) * sdN / (d + win.K),
            "||xi_i||^2 / (sigma^2 d) - 1 in the self term": self_total * np.sqrt(2.0 / (d * nc))}
    increment = np.abs(pred_q - win.q0)
    bound = {"Stein: sigma^2 max|a_j| B (g(u_i) correlates with <xi_i, mu_j> through a_j = <v, mu_j>)":
             sigma ** 2 * float(np.max(np.abs(win.a1))) * info["B"],
             "spread of the point margins: max(gap(t0), gap(T)) x increment": np.maximum(win.gap0, win.gap1) * increment,
             "outside neurons' share of the point margins: |rho(T) - rho(t0)|": np.abs(win.rho1 - win.rho0)}
    return stat, bound


def one_step(ctx, win):
    """One GD step from the net at ``t0`` of ``win`` (cached): the run, and per-point states before and after."""
    key = ("C7._late.one_step", win.kind, win.seed, ctx.quick)
    if key not in ctx.cache:
        A = win.A
        cfg = dataclasses.replace(A.config, steps=1, history_every=0)
        C = ctx.run(cfg, features=A.features, cluster_labels=A.cluster_labels, train=A.train, test=A.test,
                    W_init=A.network.W, b_init=A.network.b)
        sup = A.config.supervision
        before, after = _point_state(A.network, A, sup), _point_state(C.network, A, sup)
        ctx.cache[key] = (C, before, after)
    return ctx.cache[key]


def vector_terms(parts, what="q_j(T)"):
    r"""The :class:`featavg.evidence.Term`\ s of a vector band from :func:`neglected`'s parts.

    Parameters
    ----------
    parts : list of (stat, bound)
        One per window (seed); entries concatenated in that order.

    Returns
    -------
    terms : list of Term
        One statistical term, a Bonferroni quantile (over all components) times the *sum* of the
        standard deviations (the terms share projections, so they are added, not combined in
        quadrature), and one bound term per neglected correction.
    z : float
    """
    from featavg.evidence import Term

    stat = {name: np.concatenate([p[0][name] for p in parts]) for name in parts[0][0]}
    bound = {name: np.concatenate([p[1][name] for p in parts]) for name in parts[0][1]}
    count = next(iter(stat.values())).size
    z = bonferroni_z(count)
    total = sum(stat.values())
    names = "; ".join(stat)
    terms = [Term(f"z = {z:.3g} (two-sided {CONFIDENCE}, Bonferroni over {count} {what}) x the sum of the sds of "
                  f"{names}", z * total, "stat")]
    terms += [Term(name, value) for name, value in bound.items()]
    return terms, z


def describe(kind):
    """The regime of a window kind in words, for a check's ``regime`` (from :data:`WINDOWS`)."""
    w = WINDOWS[kind]
    full, quick = SEEDS[kind]
    d = f"{w['d']:.0e}".replace("e+0", "e") if w["d"] >= 10 ** 4 else str(w["d"])
    width = f"m={w['m']}" if w["supervision"] == "binary" else f"h={w['h']}"
    noise = "" if w["sigma"] == 1.0 else f", noise sigma={w['sigma']:g}"
    n = f"n={w['n']}" + (f" (quick {w['n_quick']})" if w["n_quick"] != w["n"] else "")
    return (f"{w['supervision']} labels, k={w['k']}, d={d} ({w['engine']} engine){noise}, {n}, {width}, "
            f"eta d={w['eta_d']:g}, window steps {w['t0']}..{w['T']}, {full} seeds (quick {quick}; a seed "
            f"outside the late regime, an own neuron off an own cluster, is replaced, at most {SPARE[kind]})")
