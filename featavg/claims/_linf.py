r"""L-infinity evidence shared by C3.linf_averaging and C5.linf_readouts (not a claim: discovery
skips modules starting with ``_``).

The L-infinity radius of every net of these claims is the distance to a finite union of
intersections of halfspaces, each halfspace an affine function of the pre-activations
``z = W x + b``: a *hyperplane* ``H`` is a coefficient row ``kappa_H`` over the neurons,
``u_H = kappa_H W`` (its direction) and ``ell_H(x) = kappa_H z(x)`` (its value at ``x``), and the
L-infinity distance from ``x`` to ``{ell_H <= 0}`` is ``max(ell_H(x), 0) / ||u_H||_1`` (Hoelder;
C3.linf_averaging). The families (docs/science.md §5; the derivations are in the claims):

* binary net, point of class ``y``: ``f <= 0`` needs ``(1/m) sum_own ReLU(z) <= (1/m) sum_A z`` for
  a subset ``A`` of the opposing neurons, and ``(1/m) sum_own ReLU(z) >= (1/m) sum_own z``; so one
  hyperplane per ``A``, ``kappa = (1_own - 1_A)/m``, and ``r >= min_A dist(H_A)``, with equality
  when the own neurons stay active at the minimiser (the opposing ones may switch on and off);
* multi-class net, ``argmax`` readout (``h = 1``): some opposite output reaches the largest own
  output ``s``, or ``s`` is switched off: ``kappa = e_s - e_j'`` for each opposite ``j'``, and
  ``kappa = e_s``; ``r >= min`` over these;
* ``sum`` readout (``h = 1``): ``sum_own ReLU(z) <= sum_A z`` for a subset ``A`` of the opposite
  outputs, which implies ``sum_B z <= sum_A z`` for every subset ``B`` of the own outputs; one
  group per ``A`` whose members are ``kappa = 1_B - 1_A`` (``B = {}`` only for ``A != {}``), and
  ``r >= min_A max_B``.

With coordinate-aligned features (``Config(features="standard")``, ``mu_j = sqrt(d) e_j``) a
direction splits into its feature coordinates (the first ``k``) and its noise coordinates (the
other ``D = d - k``), with disjoint supports: ``||u||_1 = ||u_feat||_1 + ||u_noise||_1`` exactly.
The claims' trained-net prediction replaces ``||u_noise||_1`` by its expectation given
``||u_noise||_2``; the rivals replace it by other plausible values. Every variant is computed
here from the same hyperplanes and reduced the same way (min over groups of the max within).
"""

import itertools
import math

import numpy as np

from featavg._errors import InvalidParameter

__all__ = ["TRAINED", "N_TEST", "trained_config", "trained_runs", "feature_support", "hyperplane_family",
           "hyperplane_radii", "variants_for", "selection_bound", "trained_outcome"]

#: the trained nets of both claims: the paper's synthetic setting (featavg._verify.PAPER) on the
#: explicit engine with coordinate-aligned features, so that input coordinates are the features'
TRAINED = {"k": 10, "d": 3072, "n": 1000, "m": 5, "h": 1, "eta": 1e-3, "steps": 100, "init_scale": 1e-5}
#: test points sampled per run (the checks use the first few; the figure's predicted curves all)
N_TEST = 200


def trained_config(ctx, supervision, seed):
    """The explicit-engine, coordinate-feature config of one trained run (``ctx.paper_config``
    would give the reduced engine, whose coordinates are not the input's)."""
    from featavg.simulate import Config

    return Config(**TRAINED, n_test=N_TEST, engine="explicit", features="standard", seed=seed,
                  supervision=supervision)


def trained_runs(ctx, supervision, count):
    """Runs for ``ctx.seeds(count)`` (cached in the context by config)."""
    return [ctx.run(trained_config(ctx, supervision, s)) for s in ctx.seeds(count)]


def feature_support(features):
    """Indices of the feature coordinates: the columns where some ``mu_j`` is non-zero.

    Raises
    ------
    InvalidParameter
        If the features are not coordinate-aligned (``k`` columns, each holding one feature).
    """
    F = np.asarray(features)
    cols = np.flatnonzero(np.any(F != 0.0, axis=0))
    if cols.size != F.shape[0] or np.count_nonzero(F) != F.shape[0]:
        raise InvalidParameter("features", f"{np.count_nonzero(F)} non-zero entries in {cols.size} columns",
                               "coordinate-aligned features mu_j = sqrt(d) e_j (Config(features='standard'))")
    return cols


def _subsets(idx):
    """Every subset of ``idx`` (a list of index arrays, the empty one first)."""
    idx = list(idx)
    return [np.array(c, dtype=np.int64) for r in range(len(idx) + 1) for c in itertools.combinations(idx, r)]


def hyperplane_family(net, y, cluster_labels, readout, s=None):
    """The hyperplanes of the flip set of a point of class ``y`` (module docstring).

    Parameters
    ----------
    net : BinaryNetwork or MultiClassNetwork
    y : {+1, -1}
    cluster_labels : ndarray, shape (k,)
    readout : {"argmax", "sum"}
        Ignored for the binary net.
    s : int, optional
        The argmax readout's own output (the largest own output at the point).

    Returns
    -------
    kappa : ndarray, shape (H, M)
        Coefficients over the neurons: ``u_H = kappa_H W``, ``ell_H = kappa_H z``.
    group : ndarray of int, shape (H,)
        The radius is ``min`` over groups of ``max`` over a group's members of ``dist(H)``.
    """
    M = net.W.shape[0]
    if net.kind == "binary":
        m = net.m
        own, opp = (np.arange(m), np.arange(m, 2 * m)) if y > 0 else (np.arange(m, 2 * m), np.arange(m))
        rows = []
        for A in _subsets(opp):
            row = np.zeros(M)
            row[own] = 1.0 / m
            row[A] -= 1.0 / m
            rows.append(row)
        return np.array(rows), np.arange(len(rows))
    if net.h != 1:
        raise InvalidParameter("net.h", net.h, "h = 1 (one neuron per output) for the hyperplane families")
    labels = np.asarray(cluster_labels)
    own, opp = np.flatnonzero(labels == y), np.flatnonzero(labels != y)
    if readout == "argmax":
        rows = [np.eye(M)[s] - np.eye(M)[j] for j in opp] + [np.eye(M)[s]]
        return np.array(rows), np.arange(len(rows))
    rows, group = [], []
    for g, A in enumerate(_subsets(opp)):
        for B in _subsets(own)[0 if A.size else 1:]:
            row = np.zeros(M)
            row[B] = 1.0
            row[A] -= 1.0
            rows.append(row)
            group.append(g)
    return np.array(rows), np.array(group)


def _directions(net, kappa, feat):
    """The norms of the hyperplanes' directions ``u = kappa W``, split at the feature coordinates."""
    d = net.W.shape[1]
    # the columns in feature-then-noise order (a view when the features are the first k axes)
    W = net.W if np.array_equal(feat, np.arange(feat.size)) else net.W[:, np.r_[feat, np.setdiff1d(np.arange(d), feat)]]
    k = feat.size

    def split(U):
        return np.abs(U[:, :k]).sum(axis=1), np.abs(U[:, k:]).sum(axis=1), np.einsum("hi,hi->h", U[:, k:], U[:, k:])

    f1, n1, n2 = split(kappa @ W)
    _, _, own2 = split(np.clip(kappa, 0, None) @ W)
    _, _, opp2 = split(np.clip(-kappa, 0, None) @ W)
    f2 = np.einsum("hi,hi->h", kappa @ W[:, :k], kappa @ W[:, :k])
    return {"l1_feat": f1, "l1_noise": n1, "l2_noise": np.sqrt(n2), "l2": np.sqrt(f2 + n2),
            "l2_noise_own": np.sqrt(own2), "l2_noise_opp": np.sqrt(opp2), "D": float(d - k), "d": float(d)}


def _reduce(dist, group):
    """``min`` over groups of the ``max`` over each group's members."""
    order = np.argsort(group, kind="stable")
    g, dist = group[order], dist[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    return float(np.min(np.maximum.reduceat(dist, starts)))


def hyperplane_radii(net, X, y, cluster_labels, readout, features, variants, *, spread=None, z=None):
    """Per point, ``min_groups max_members max(ell_H, 0) / denominator_H`` for each variant.

    Parameters
    ----------
    net : BinaryNetwork or MultiClassNetwork
    X : ndarray, shape (N, d)
    y : ndarray, shape (N,)
    cluster_labels : ndarray, shape (k,)
    readout : {"argmax", "sum"}
    features : ndarray, shape (k, d)
        Coordinate-aligned (:func:`feature_support`).
    variants : dict of str -> callable
        ``variant(ell, norms) -> radius per hyperplane``, ``ell`` shape (H,), ``norms`` the dict of
        :func:`_directions` (arrays of shape (H,), and the dimensions ``D``, ``d``).

    spread : callable, optional
        ``spread(ell, norms)``: the relative standard deviation of each hyperplane's ``predicted``
        radius; with it the result also holds ``selection_bound`` (:func:`selection_bound` at
        level ``z``), and the binding hyperplane's ``relative_sd`` and ``noise_share`` (the
        noise's share of the predicted denominator).

    Returns
    -------
    dict of str -> ndarray, shape (N,)
    """
    feat = feature_support(features)
    Z = X @ net.W.T + net.b
    extra = ("selection_bound", "relative_sd", "noise_share") if spread is not None else ()
    cache, out = {}, {name: np.empty(len(X)) for name in (*variants, *extra)}
    labels = np.asarray(cluster_labels)
    for i, (zx, yi) in enumerate(zip(Z, y)):
        s = None
        if net.kind == "multiclass" and readout == "argmax":
            own = np.flatnonzero(labels == yi)
            s = int(own[np.argmax(zx[own])])
        key = (int(yi), s)
        if key not in cache:
            kappa, group = hyperplane_family(net, yi, labels, readout, s)
            cache[key] = (kappa, group, _directions(net, kappa, feat))
        kappa, group, norms = cache[key]
        ell = kappa @ zx
        for name, fn in variants.items():
            with np.errstate(divide="ignore", invalid="ignore"):
                dist = np.where(ell > 0, np.asarray(fn(ell, norms), dtype=float), 0.0)
            out[name][i] = _reduce(dist, group)
            if name == "predicted" and spread is not None:
                rel = np.asarray(spread(ell, norms), dtype=float)
                out["selection_bound"][i] = selection_bound(dist, rel * dist, out[name][i], z)
                b = int(np.argmin(np.abs(dist - out[name][i])))
                out["relative_sd"][i] = rel[b]
                out["noise_share"][i] = _share(norms, b, fn, ell)
    return out


def _share(norms, b, fn, ell):
    """The noise's share of the predicted denominator of hyperplane ``b``: ``1 - U_f / (ell / r)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = float(np.asarray(fn(ell, norms), dtype=float)[b])
    return 0.0 if r <= 0 else float(1.0 - norms["l1_feat"][b] * r / ell[b])


def variants_for(pred):
    """The trained-net prediction and its rivals as hyperplane variants.

    ``pred(ell, U_f, U_n, D)`` is the claim's lambdified ``hyperplane_trained``
    (``ell / (U_f + c_D U_n)``, C3.linf_averaging); the others are the rivals of the checks and
    the exact L1 norm (the structure's own check).
    """
    from scipy.special import beta

    def c(D):  # E||u||_1 of a uniform unit vector of R^D, only for the Haar rival (whole vector)
        return D * beta(0.5, D / 2) / np.pi

    return {
        "predicted": lambda ell, n: pred(ell, n["l1_feat"], n["l2_noise"], n["D"]),
        "exact L1": lambda ell, n: ell / (n["l1_feat"] + n["l1_noise"]),
        "Cauchy-Schwarz": lambda ell, n: ell / (n["l1_feat"] + np.sqrt(n["D"]) * n["l2_noise"]),
        "noise omitted": lambda ell, n: ell / n["l1_feat"],
        "triangle": lambda ell, n: ell / (n["l1_feat"] + c(n["D"]) * (n["l2_noise_own"] + n["l2_noise_opp"])),
        "Haar": lambda ell, n: ell / (c(n["d"]) * n["l2"]),
    }


def selection_bound(dist, sigma, r, z):
    """A bound on the bias of ``min_H`` when each hyperplane's noise L1 norm fluctuates.

    The prediction evaluates each hyperplane at the mean of its noise L1 norm; the true radius is
    the minimum over hyperplanes of values that fluctuate around those by ``sigma_H`` (the relative
    spread of ``||u||_1`` of a uniform direction times the noise's share of the denominator, times
    the hyperplane's radius). Only hyperplanes within ``2 z sigma_H`` of the minimum ``r`` can
    become the minimiser (at level ``z``). With one such hyperplane the bias of the minimum is the
    second-order term of ``ell / (U_f + X)`` in ``X``: ``E[ell/(U_f+X)] - ell/(U_f+E X) ~ sigma^2/r``.
    With ``c >= 2`` of them, ``|E min_H - min_H E| <= E max_H |X_H - E X_H| <= sqrt(2 log(2c))
    max sigma_H`` (the Gaussian maximal inequality, valid for any correlation).

    Parameters
    ----------
    dist, sigma : ndarray, shape (H,)
        Predicted radius and its standard deviation per hyperplane.
    r : float
        The predicted radius (min over groups of max over members).
    z : float
        The quantile of the row's confidence level.
    """
    near = np.abs(dist - r) <= 2.0 * z * sigma
    c = int(near.sum())
    if r <= 0.0 or c == 0:
        return 0.0
    s = float(sigma[near].max())
    return s * s / r if c == 1 else math.sqrt(2.0 * math.log(2.0 * c)) * s


def trained_outcome(ctx, claim_id, supervision, readout, count, points, *, baseline, constants, sizes=None,
                    other=None):
    """The Outcome of a trained-net L-infinity check (C3.linf_averaging, C5.linf_readouts).

    Per seed: the mean certified radius of the first ``points`` test points and the mean of the
    claim's per-point prediction (:func:`variants_for`), at the same points with the same
    pre-activations, so the test points' sampling cancels from the difference. What is left is the
    fluctuation of each hyperplane's noise L1 norm about its conditional mean ``c_D ||u_n||_2``,
    whose law the claim derives (the direction is uniform on the sphere of the ``D = d - k`` noise
    coordinates): a point's radius moves by ``sd(||u||_1)/E||u||_1`` times the noise's share of its
    binding hyperplane's denominator times the radius, to first order. The stat term is the
    quantile times that derived standard error of the mean difference, with a seed's points taken
    as fully correlated (the mean of their standard deviations: an upper bound) and the seeds
    independent; it needs no minimum number of seeds. (The empirical per-seed differences and
    their spread are kept in ``details`` beside the derived one.) Two derived bounds on the
    prediction's bias are added: the minimum over fluctuating hyperplanes
    (:func:`selection_bound`) and the O(1/D) dependence between a noise direction and the test
    point's own noise (the direction is uniform only given the invariants; conditioning on
    ``<u_n, xi>`` changes ``E||u_n||_1`` by a relative ``O(E cos^2 theta) = O(1/D)``).

    Parameters
    ----------
    ctx : featavg._verify.VerifyContext
    claim_id : str
        The claim whose ``hyperplane_trained`` prediction is used.
    supervision : {"binary", "cluster"}
    readout : {"argmax", "sum"}
    count, points : int
        Seeds (``ctx.seeds(count)``) and test points per seed.
    baseline : float
        The prediction from the sizes alone (the idealised net's radius).
    constants : dict of str -> float
        Rivals that do not depend on the point (the idealised and L2 radii).
    sizes : dict, optional
        Extra numbers for ``details`` (the trained-net prediction from the sizes alone).
    other : (str, str), optional
        ``(rival name, readout)``: the other readout's hyperplanes as a rival.

    Returns
    -------
    featavg.evidence.Outcome
        ``predicted`` and ``measured`` are means over seeds of per-seed means over the points.
    """
    from featavg.evidence import CONFIDENCE, Band, Outcome, Term, quantile

    z = quantile()
    c_of = ctx.prediction("C3.linf_averaging", "l1_sphere_mean")
    sd_of = ctx.prediction("C3.linf_averaging", "l1_sphere_relative_sd")
    pred_fn = ctx.prediction(claim_id, "hyperplane_trained")
    runs = trained_runs(ctx, supervision, count)
    rows = []
    for run in runs:
        X, y = run.test.X[:points], run.test.y[:points]
        Dn = float(run.config.d - run.config.k)
        c_D, sd = float(c_of(Dn)), float(sd_of(Dn))

        def spread(ell, n, c_D=c_D, sd=sd):
            share = c_D * n["l2_noise"] / (n["l1_feat"] + c_D * n["l2_noise"])
            return sd * share

        row = hyperplane_radii(run.network, X, y, run.cluster_labels, readout, run.features,
                               variants_for(pred_fn), spread=spread, z=z)
        row["measured"] = ctx.radii(run, readout, points=points, norm="inf")
        row["D"] = Dn
        rows.append(row)
    R = len(runs)
    P = np.array([r["predicted"].mean() for r in rows])
    M = np.array([r["measured"].mean() for r in rows])
    sd_seed = np.array([np.mean(r["relative_sd"] * r["predicted"]) for r in rows])  # derived, per seed
    se = float(np.sqrt(np.sum(sd_seed ** 2)) / R)
    hw = z * se
    predicted, measured = float(P.mean()), float(M.mean())
    selection = float(np.mean([r["selection_bound"].mean() for r in rows]))
    conditioning = float(np.mean([r["predicted"].mean() / r["D"] for r in rows]))
    band = Band(predicted, (
        Term(f"z({0.5 + CONFIDENCE / 2:g}) x derived standard error of the mean of (certified - predicted) over "
             f"{R} seeds x {points} test points: sd(||u||_1)/E||u||_1 of a uniform direction of R^(d-k) x the noise's "
             f"share of the binding hyperplane's denominator x radius, a seed's points fully correlated", hw, "stat"),
        Term("bias of the minimum over hyperplanes whose noise L1 norms fluctuate (Gaussian maximal inequality "
             "over those within 2z sd of the minimum; second-order term when one binds)", selection),
        Term("O(1/D) dependence of a noise direction on the test point's own noise: radius / (d - k)", conditioning),
    ))
    rival_keys = {"Cauchy-Schwarz: ||u_n||_1 = sqrt(d-k) ||u_n||_2": "Cauchy-Schwarz",
                  "noise L1 norm omitted": "noise omitted",
                  "triangle: the two sides' noise L1 norms added": "triangle",
                  "Haar expectation c_d ||u||_2": "Haar"}
    rivals = {name: float(np.mean([r[key].mean() for r in rows])) for name, key in rival_keys.items()}
    rivals.update(constants)
    if other is not None:  # the other readout's hyperplanes, at the same points, with the same prediction
        name, other_readout = other
        rivals[name] = float(np.mean([
            hyperplane_radii(run.network, run.test.X[:points], run.test.y[:points], run.cluster_labels, other_readout,
                             run.features, {"predicted": variants_for(pred_fn)["predicted"]})["predicted"].mean()
            for run in runs]))
    exact_dev = max(float(np.max(np.abs(r["measured"] - r["exact L1"]) / np.maximum(r["measured"], 1e-300)))
                    for r in rows)
    details = {
        "per_seed_measured": M.tolist(), "per_seed_predicted": P.tolist(),
        "per_seed_relative_residual": (M / P - 1).tolist(),
        "per_seed_residual_sd_derived": sd_seed.tolist(),
        "per_seed_residual_sd_empirical": float(np.std(M - P, ddof=1)) if R > 1 else None,
        "points_per_seed": points,
        "noise_share_of_denominator": float(np.mean([r["noise_share"].mean() for r in rows])),
        "predicted_relative_sd_per_hyperplane": float(np.mean([r["relative_sd"].mean() for r in rows])),
        "max_relative_deviation_from_exact_L1_formula": exact_dev,
        "selection_bound": selection,
    }
    if sizes:
        details.update(sizes)
    return Outcome(predicted, measured, band, rivals=rivals, interval=(measured - hw, measured + hw),
                   seeds=[r.config.seed for r in runs], baseline=baseline, details=details,
                   config={"run": runs[0].config.to_dict(), "readout": readout if supervision == "cluster" else None,
                           "norm": "inf", "points_per_seed": points})
