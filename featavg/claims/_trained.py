r"""Radii of trained networks: the models and statistics shared by C3, C5 and C6 (not a claim).

Discovery skips modules starting with ``_``. Nothing here imports the simulator; the formulas are
the claims' lambdified predictions, passed in by the caller (``ctx.prediction``), never retyped.

Model of a trained net (C3.averaging_radius and C5.readouts, appended derivation steps). Its
``M`` neurons have feature coefficients :math:`\Lambda_{rt} = \langle w_r, \mu_t\rangle/d`
(measured) and biases :math:`b_r` (measured). Their pre-activations at a test point
:math:`x = \mu_s + \xi` are :math:`z(x) = z^0_s + \zeta` with :math:`z^0_s = d\Lambda_{\cdot s} + b`
and :math:`\zeta = W\xi \sim N(0, G)` exactly (the test noise is independent of the net), where the
Gram matrix :math:`G = WW^\top` is *predicted* from the coefficients: cluster ``t``'s :math:`n_t`
training points each carry :math:`\Lambda_{rt}/n_t` of the weight, so
:math:`G_{rr'} = d\sum_t \Lambda_{rt}\Lambda_{r't}(1 + 1/n_t) + d\sigma_w^2\delta_{rr'}` (the
finite-n noise share, C1.feature_averaging, and the initial weights). An attack family is a
coefficient vector ``e`` over the neurons; its flip set is the half-space :math:`e\cdot z \le 0`
and its cost at ``x`` is :math:`e\cdot z(x)/\sqrt{e^\top G e}` (KKT); the radius is the smallest
cost over the families the claim names.

Statistics (docs/science.md §6; issue 14). Each seed ``s`` of a multi-seed measurement has its
own predicted radius distribution :math:`\mathcal R_s` (its own measured coefficients) with
median :math:`P_s`. Under the prediction every difference :math:`r_i - P_{s(i)}` of a test point's
exact radius has median 0, independently across points, so the exact distribution-free interval
of order statistics (:func:`featavg.evidence.median_interval`) applies to their pooled median, and
its standard error is :math:`1/(2\sqrt N\,\bar g)` with :math:`\bar g` the mean predicted density at
the medians (the asymptotic variance of a sample median, Bahadur representation).
"""

import numpy as np

from featavg._errors import OutsideRegime
from featavg.evidence import Term, median_interval, quantile

__all__ = ["OutsideRegime", "require", "pooled_median", "model_gram", "MultiClassModel", "mc_summary"]


def require(condition, message):
    """Raise :class:`OutsideRegime` with ``message`` unless ``condition``."""
    if not bool(condition):
        raise OutsideRegime(message)


def pooled_median(radii, predicted, density):
    r"""The pooled median of ``r_i - P_{s(i)}`` over seeds, referred to the mean prediction.

    Parameters
    ----------
    radii : list of ndarray, shape (N_s,)
        Exact radii of each seed's test points.
    predicted : array_like, shape (R,)
        :math:`P_s`, each seed's predicted median.
    density : array_like, shape (R,)
        The predicted density of each seed's radius at :math:`P_s`.

    Returns
    -------
    dict
        ``predicted`` (:math:`\bar P`), ``measured`` (:math:`\bar P` + pooled median of the
        differences), ``interval`` (exact order-statistics interval, shifted likewise),
        ``coverage``, ``se`` (:math:`1/(2\sqrt N \bar g)`), ``points`` ``N``, ``stat_term``
        (a :class:`Term`: quantile x se).
    """
    P = np.asarray(predicted, dtype=float)
    g = np.asarray(density, dtype=float)
    diffs = np.concatenate([np.asarray(r, float) - p for r, p in zip(radii, P)])
    weights = np.concatenate([np.full(len(r), gs) for r, gs in zip(radii, g)])
    pbar = float(P.mean())
    med, lo, hi, cov = median_interval(diffs)
    n = diffs.size
    se = 1.0 / (2.0 * np.sqrt(n) * float(weights.mean()))
    z = quantile()
    term = Term(f"z = {z:.3g} x standard error 1/(2 sqrt(N) g) of the pooled median of N = {n} differences "
                f"r_i - P_s (g: the predicted density at the median, mean {weights.mean():.3g})", z * se, "stat")
    return {"predicted": pbar, "measured": pbar + med, "interval": (pbar + lo, pbar + hi), "coverage": cov,
            "se": se, "points": int(n), "stat_term": term,
            "per_seed_median": [float(np.median(r)) for r in radii], "per_seed_predicted": P.tolist()}


def model_gram(Lam, n_t, d, sigma_w, gram_term, init_term):
    r"""The predicted Gram matrix ``G`` of the neurons, shape (M, M), from the coefficients.

    Parameters
    ----------
    Lam : ndarray, shape (M, k)
        Feature coefficients :math:`\Lambda_{rt}`.
    n_t : ndarray, shape (k,)
        Training points per cluster.
    gram_term : callable
        ``(d, lam_r, lam_r', n_t) -> d lam_r lam_r' (1 + 1/n_t)`` (lambdified, C3.averaging_radius).
    init_term : callable
        ``(d, sigma_w) -> d sigma_w^2``, the initial weights' share (lambdified).
    """
    terms = np.asarray(gram_term(float(d), Lam[:, None, :], Lam[None, :, :], np.asarray(n_t, float)), float)
    return terms.sum(axis=2) + float(init_term(float(d), float(sigma_w))) * np.eye(Lam.shape[0])


def _density_at(samples, point):
    """Density of the empirical law of ``samples`` at ``point``: counts in a window of half-width
    ``h = 0.2 x IQR`` (the IQR of a standard normal is 1.35: ``h`` ~ 0.27 sd)."""
    q1, q3 = np.quantile(samples, [0.25, 0.75])
    h = 0.2 * (q3 - q1)
    return float(np.mean(np.abs(samples - point) <= h) / (2 * h))


def mc_summary(lower, upper):
    """Median, density at the median and MC standard error of a Monte Carlo radius law.

    ``lower`` are the model's radii (exact when its conditions hold); ``upper`` rigorous upper
    bounds for the same draws. Returns ``(median, density, mc_se, upper_median)``.
    """
    med = float(np.median(lower))
    g = _density_at(lower, med)
    return med, g, 1.0 / (2.0 * np.sqrt(lower.size) * g), float(np.median(upper))


class MultiClassModel:
    """Radius law of a trained multi-class net (``h = 1``) under a readout, by Monte Carlo.

    Parameters
    ----------
    Lam : ndarray, shape (k, k)
        Feature coefficients of the neurons (row ``j``: neuron of output ``j``).
    b : ndarray, shape (k,)
    n_t : ndarray, shape (k,)
    labels : ndarray, shape (k,)
    d : int
    sigma_w : float
    predictions : dict
        ``gram_term``, ``init_term`` (C3.averaging_radius) and ``attack_cost`` ``(phi, q) ->
        phi/sqrt(q)`` (C5.readouts).
    """

    def __init__(self, Lam, b, n_t, labels, d, sigma_w, predictions):
        self.Lam, self.b, self.labels, self.d = np.asarray(Lam, float), np.asarray(b, float), np.asarray(labels), d
        self.k = self.Lam.shape[1]
        self.G = model_gram(self.Lam, n_t, d, sigma_w, predictions["gram_term"], predictions["init_term"])
        self.cost = predictions["attack_cost"]
        self.chol = np.linalg.cholesky(self.G)

    def offsets(self, s):
        """Pre-activations at the cluster centre ``mu_s``, shape (k,)."""
        return self.d * self.Lam[:, s] + self.b

    def families(self, s, readout):
        """Coefficient vectors ``e`` of the attack families at a point of cluster ``s``, shape (F, k).

        ``sum``: ``1_s - 1_A`` for every non-empty ``A`` of the opposite class (raise the ``A``
        outputs above the own one); ``argmax``: ``1_s - 1_{j'}`` for each opposite ``j'`` (the
        bisector). Both: ``1_s`` (switch the own output off). Row order: as listed.
        """
        opp = np.flatnonzero(self.labels != self.labels[s])
        rows = []
        if readout == "sum":
            for mask in range(1, 2 ** opp.size):
                e = np.zeros(self.k)
                e[s] = 1.0
                e[opp[[(mask >> i) & 1 == 1 for i in range(opp.size)]]] = -1.0
                rows.append(e)
        else:
            for j in opp:
                e = np.zeros(self.k)
                e[s], e[j] = 1.0, -1.0
                rows.append(e)
        e = np.zeros(self.k)
        e[s] = 1.0
        rows.append(e)
        return np.array(rows)

    def draw(self, readout, draws, rng):
        """Monte Carlo radii of ``draws`` test points per cluster: (lower, upper), each shape (k draws,).

        The pre-activations of a test point of cluster ``s`` are ``z^0_s + zeta``, ``zeta ~ N(0, G)``;
        :meth:`bounds` turns them into radii.
        """
        lows, ups = [], []
        for s in range(self.k):
            z = self.offsets(s) + rng.standard_normal((draws, self.k)) @ self.chol.T
            low, up = self.bounds(s, z, readout)
            lows.append(low)
            ups.append(up)
        return np.concatenate(lows), np.concatenate(ups)

    def bounds(self, s, z, readout):
        """Model radii of points of cluster ``s`` with pre-activations ``z``, shape (N, k): (lower, upper).

        ``lower``: the smallest family cost (the exact radius when the other own-class outputs do
        not bind at the attack point). ``upper``: a rigorous upper bound. Sum readout: moving on
        from the attack point along the same direction ``-g/||g||`` lowers ``e.z`` at rate
        ``||g||``; while the own pre-activation stays >= 0 and every other own-class one does not
        rise (``(G e)_j >= 0``, checked), ``F <= e.z + sum_B ReLU(z_j)`` (``sum_{J-} ReLU >=
        sum_A z``), so an extra step ``sum_B z_j^+/||g||`` over the own-class neurons ``B`` still
        active at the attack point flips the point; otherwise ``upper = inf``. Argmax readout:
        ``upper = inf`` where another own-class output exceeds the attacked one at the attack
        point (the bisector alone may not flip), else equal to ``lower``.
        """
        z = np.atleast_2d(np.asarray(z, dtype=float))
        n = z.shape[0]
        E = self.families(s, readout)
        q = np.einsum("fi,ij,fj->f", E, self.G, E)
        GE = (E @ self.G) / np.sqrt(q)[:, None]          # -d z/dt along the unit attack of each family
        cost = np.asarray(self.cost(z @ E.T, q[None, :]), float)
        best = cost.argmin(axis=1)
        low = cost[np.arange(n), best]
        z_end = z - low[:, None] * GE[best]
        others = [j for j in np.flatnonzero(self.labels == self.labels[s]) if j != s]
        if readout == "sum":
            extra = np.maximum(z_end[:, others], 0.0).sum(axis=1) / np.sqrt(q[best])
            ok = (np.all(GE[best][:, others] >= 0, axis=1)
                  & (z_end[:, s] - extra * GE[best][:, s] >= 0) & (E[best] < 0).any(axis=1))
            up = np.where(extra == 0, low, np.where(ok, low + extra, np.inf))
        else:
            switch = ~(E[best] < 0).any(axis=1)
            attacked = np.where(switch, 0.0, np.where(E[best] < 0, z_end, -np.inf).max(axis=1))
            top = z_end[:, others].max(axis=1) if others else np.full(n, -np.inf)
            up = np.where(top > attacked, np.inf, low)
        return low, up

    def noise_free(self, readout):
        """The smallest family cost at each cluster centre, shape (k,)."""
        out = []
        for s in range(self.k):
            E = self.families(s, readout)
            q = np.einsum("fi,ij,fj->f", E, self.G, E)
            out.append(float(np.min(np.asarray(self.cost(E @ self.offsets(s), q), float))))
        return np.array(out)
