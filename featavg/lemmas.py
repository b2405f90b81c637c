r"""Proof lemmas: the high-probability steps of the proofs, checked with their probabilities.

A proof of feature averaging is a chain of lemmas of the form ``P(E) >= 1 - delta(n, d, k, m; C)``
(noise norms concentrate, cluster counts are near ``n/k``, every neuron fires on part of every
cluster, ...). A *lemma* is a claim module like any other (:mod:`featavg._registry`) whose SymPy
half (``derive()``) returns a :class:`featavg.theory.Claim` with ``kind="lemma"``: its statement is
the bound, its steps derive it (exact where possible, union bounds over exact tails otherwise),
its predictions are the lambdified ``delta`` (or the exact probability). Its evidence is a Monte
Carlo check over many independent draws, built with this module:

* :func:`bound_outcome`: a bound ``P(fail) <= delta``. The test is the exact one-sided binomial
  test at :data:`featavg.evidence.CONFIDENCE` (equivalently: the one-sided Clopper-Pearson lower
  bound of the failure probability is at most ``delta``). The band is one-sided
  (``Band(side="upper")``), its half-width the edge of the test's acceptance region. The rival is
  the same bound with its constant a factor of 2 smaller (``delta / 2``), judged by the same band;
  the row passes only if it is rejected. ``details`` carry the number of draws and failures, the
  estimate with its interval, the tightest constant consistent with the data (the smallest ``C``
  for which ``C delta_1`` is not rejected, ``delta_1`` the bound at ``C = 1``), the ratio of the
  measured failure probability to the bound (where the bound is loose), and the exact p-value of
  the rival.
* :func:`exact_outcome`: an exact probability (``1/(n_j + 1)``), possibly a vector of them: the
  exact two-sided (central) binomial test, Bonferroni over the components.

Reusable facts of the lemmas, for the other claims and the property tests:

* :func:`dead_at_init`: which neurons fire on no point of their own class at initialisation
  (L4.dead_neurons);
* :func:`dead_neuron_probability`: ``prod_{j in J_s} 1/(n_j + 1)``, the probability of that event
  for a neuron whose own clusters have ``n_j`` training points (L4.dead_neurons).

Samplers (exact in law, vectorised over draws) live here too, so the lemma modules share them:
:func:`one_neuron_preactivations` (the reduced coordinates of one neuron and its clusters' points).
"""

import math

import numpy as np
from scipy import stats

from featavg._errors import InvalidParameter
from featavg.evidence import CONFIDENCE, Band, Fault, Outcome, Term, clopper_pearson

__all__ = ["bound_outcome", "exact_outcome", "binomial_upper_edge", "binomial_central_region",
           "tightest_constant", "dead_at_init", "dead_neuron_probability", "one_neuron_preactivations",
           "LEMMA_CONSTANT", "RIVAL_FACTOR"]

#: the factor of the lemma's rival: the same bound with its constant a factor of 2 smaller
RIVAL_FACTOR = 0.5


# ---------------------------------------------------------------------------------------------
# the binomial tests
# ---------------------------------------------------------------------------------------------

def _draws(failures, draws):
    f, n = int(failures), int(draws)
    if n < 1 or not 0 <= f <= n:
        raise InvalidParameter("failures/draws", (f, n), "0 <= failures <= draws, draws >= 1")
    return f, n


def binomial_upper_edge(p, draws, level=CONFIDENCE):
    """The acceptance region ``{0, ..., F_c}`` of the exact one-sided binomial test of ``P <= p``.

    ``F_c`` is the largest count with ``P(Bin(draws, p) >= F_c) > 1 - level``: a count ``F``
    is accepted iff ``F <= F_c`` (``F_c = Bin^{-1}(level)``, the ``level`` quantile). Equivalently
    the one-sided Clopper-Pearson lower bound of ``F`` at ``level`` is at most ``p``.
    """
    if not 0 <= p <= 1:
        raise InvalidParameter("p", p, "a probability in [0, 1]")
    return int(stats.binom.ppf(level, int(draws), p))


def binomial_central_region(p, draws, level=CONFIDENCE):
    """Acceptance region ``[x_lo, x_hi]`` of the exact central two-sided binomial test of ``P = p``.

    ``x_lo`` is the ``(1 - level)/2`` quantile, ``x_hi`` the ``(1 + level)/2`` quantile of
    ``Bin(draws, p)``; a count is accepted iff both one-sided p-values exceed ``(1 - level)/2``,
    i.e. iff the two-sided Clopper-Pearson interval at ``level`` covers ``p``.
    """
    a = (1 - level) / 2
    return int(stats.binom.ppf(a, int(draws), p)), int(stats.binom.ppf(1 - a, int(draws), p))


def tightest_constant(failures, draws, base, level=CONFIDENCE):
    """The smallest ``C`` for which the bound ``P(fail) <= C base`` is not rejected by the data.

    ``C_min = lo / base`` with ``lo`` the one-sided Clopper-Pearson lower bound of the failure
    probability at ``level`` (the exact test rejects ``C base`` iff ``C base < lo``).
    """
    f, n = _draws(failures, draws)
    lo, _ = clopper_pearson(f, n, level, side="lower")
    return lo / base if base > 0 else math.inf


def bound_outcome(failures, draws, delta, *, base=None, constant="C", seeds=(), details=None, config=None,
                  looser=None, level=CONFIDENCE):
    r"""The :class:`featavg.evidence.Outcome` of a lemma ``P(fail) <= delta``, from Monte Carlo counts.

    Parameters
    ----------
    failures, draws : int
        The number of independent draws on which the lemma's event failed, and of draws.
    delta : float
        The claimed bound (the lemma's prediction, lambdified from its SymPy statement), in (0, 1).
    base : float, optional
        ``delta`` at constant ``C = 1`` (default ``delta``): the tightest constant is reported as
        ``C_min = lo / base``.
    constant : str
        The name of the lemma's constant (in the rival's name and the details).
    looser : dict of str -> float, optional
        Textbook bounds of the same event (Chernoff, Laurent-Massart, ...): reported with the ratio
        of the measured failure probability to each (how loose each is).

    Returns
    -------
    Outcome
        ``predicted = delta``, ``measured`` the estimated failure probability, ``interval`` its
        two-sided Clopper-Pearson interval at ``level``, a one-sided band ``measured <= delta + w``
        whose half-width ``w = (F_c + 1/2)/draws - delta`` is the edge of the exact binomial
        test's acceptance region (counts are integers: the edge sits between ``F_c`` and
        ``F_c + 1``), and the rival ``delta * 1/2`` (``C/2``) judged by the same band (its exact
        test at ``delta/2`` would be narrower, so the shared band is conservative for it).
    """
    f, n = _draws(failures, draws)
    if not 0 < delta < 1:
        raise InvalidParameter("delta", delta, "a bound in (0, 1): choose the lemma's threshold so that it is")
    base = delta if base is None else float(base)
    fc = binomial_upper_edge(delta, n, level)
    w = (fc + 0.5) / n - delta
    band = Band(delta, (Term(f"exact one-sided binomial test at level {level}: accepts up to F_c = {fc} failures of "
                             f"{n} draws under P(fail) = delta; edge (F_c + 1/2)/{n} - delta", max(w, 0.0), "stat"),),
                limits=(0.0, 1.0), side="upper")
    est = f / n
    lo2, hi2 = clopper_pearson(f, n, level)
    rival = RIVAL_FACTOR * delta
    out = {"draws": n, "failures": f, "estimated_failure_probability": est,
           "interval": [lo2, hi2], "bound": delta,
           "tightest_constant": tightest_constant(f, n, base, level),
           "ratio_measured_to_bound": est / delta,
           f"rival {constant}/2: exact p-value P(Bin(draws, delta/2) >= failures)":
               float(stats.binom.sf(f - 1, n, rival))}
    if looser:
        for name, value in looser.items():
            out[f"looser bound {name}"] = float(value)
            out[f"ratio measured / {name}"] = est / float(value) if value > 0 else math.inf
    out.update(details or {})
    return Outcome(delta, est, band, rivals={f"{constant}/2": rival}, interval=(lo2, hi2), seeds=list(seeds),
                   details=out, config=dict(config or {}))


def exact_outcome(successes, draws, prob, rivals, *, labels=None, seeds=(), details=None, config=None,
                  bounds=(), level=CONFIDENCE):
    r"""The Outcome of an exact probability (or a vector of them), two-sided.

    Parameters
    ----------
    successes, draws : int or array_like of int, shape (K,)
    prob : float or array_like, shape (K,)
        The predicted probabilities (lambdified from the lemma), strictly inside (0, 1).
    rivals : dict of str -> float or array_like, shape (K,)
    labels : list of str, optional
        What each component is (``"n_j = 5"``).
    bounds : sequence of Term
        ``bound`` terms (neglected corrections with their derivations), added to the band.

    Returns
    -------
    Outcome
        Per component the exact central binomial test at level ``1 - (1 - level)/K`` (Bonferroni
        over the ``K`` components, so the row keeps the level ``level``); the band is symmetric
        with half-width the wider side of the test's acceptance region (conservative on the
        narrower side), plus the ``bounds``. ``interval`` is the two-sided Clopper-Pearson interval
        at the same per-component level.
    """
    s = np.atleast_1d(np.asarray(successes, dtype=np.int64))
    n = np.broadcast_to(np.atleast_1d(np.asarray(draws, dtype=np.int64)), s.shape)
    p = np.broadcast_to(np.atleast_1d(np.asarray(prob, dtype=float)), s.shape)
    K = s.size
    if np.any((p <= 0) | (p >= 1)):
        raise InvalidParameter("prob", p.tolist(), "probabilities strictly inside (0, 1)")
    lvl = 1 - (1 - level) / K
    regions = [binomial_central_region(pi, ni, lvl) for pi, ni in zip(p, n)]
    w = np.array([max(pi - (lo - 0.5) / ni, (hi + 0.5) / ni - pi) for pi, ni, (lo, hi) in zip(p, n, regions)])
    terms = [Term(f"exact central binomial test per component at level 1 - (1 - {level})/{K} (Bonferroni over {K}): "
                  f"the wider side of its acceptance region {[list(r) for r in regions]} of draws {n.tolist()}",
                  w if K > 1 else float(w[0]), "stat"), *bounds]
    est = s / n
    ci = [clopper_pearson(si, ni, lvl) for si, ni in zip(s, n)]
    lo = np.array([c[0] for c in ci])
    hi = np.array([c[1] for c in ci])
    scalar = np.ndim(successes) == 0 and np.ndim(prob) == 0
    pick = (lambda a: float(np.asarray(a).ravel()[0])) if scalar else (lambda a: np.asarray(a, dtype=float))
    band = Band(pick(p), tuple(terms), limits=(0.0, 1.0))
    out = {"components": labels or [str(i) for i in range(K)], "draws": n.tolist(), "successes": s.tolist(),
           "estimated_probability": est.tolist(), "interval": [[float(a), float(b)] for a, b in zip(lo, hi)],
           "predicted": p.tolist(), "ratio_measured_to_predicted": (est / p).tolist(),
           "ratio_interval": [[float(a / q), float(b / q)] for a, b, q in zip(lo, hi, p)]}
    rv = {}
    for name, value in rivals.items():
        v = np.broadcast_to(np.atleast_1d(np.asarray(value, dtype=float)), s.shape)
        rv[name] = pick(v)
        pv = [float(_central_p(si, ni, vi)) for si, ni, vi in zip(s, n, v)]
        out[f"rival {name}: exact two-sided p-value per component"] = pv
    out.update(details or {})
    return Outcome(pick(p), pick(est), band, rivals=rv, interval=(pick(lo), pick(hi)), seeds=list(seeds),
                   details=out, config=dict(config or {}))


def _central_p(x, n, p):
    """Two-sided central p-value ``min(1, 2 min(P(X <= x), P(X >= x)))`` of ``Bin(n, p)``."""
    if p <= 0 or p >= 1:
        return float(x == round(n * p))
    return min(1.0, 2 * min(stats.binom.cdf(x, n, p), stats.binom.sf(x - 1, n, p)))


# ---------------------------------------------------------------------------------------------
# dead neurons (L4.dead_neurons)
# ---------------------------------------------------------------------------------------------

def dead_at_init(W_init, b_init, X_train, clusters, cluster_labels, neuron_classes):
    r"""Which neurons fire on no training point of their own class at initialisation.

    A neuron ``(s, r)`` is *dead* when ``<w_{s,r}(0), x_i> + b_{s,r}(0) <= 0`` for every training
    point ``i`` with ``y_i = s`` (``ReLU'(0) = 0``: a pre-activation of exactly 0 does not fire).
    With small initialisation it happens with probability ``prod_{j in J_s} 1/(n_j + 1)``
    (:func:`dead_neuron_probability`, L4.dead_neurons); whether it stays dead depends on the
    first GD step (L4.dead_neurons.trajectories).

    Parameters
    ----------
    W_init : ndarray, shape (M, d)
    b_init : ndarray, shape (M,)
    X_train : ndarray, shape (n, d)
        In the coordinates of ``W_init`` (explicit or reduced).
    clusters : ndarray of int, shape (n,)
        Cluster index ``c_i`` of each training point.
    cluster_labels : ndarray of int, shape (k,)
        ``+1`` on ``J+``, ``-1`` on ``J-``.
    neuron_classes : ndarray of int, shape (M,)
        The class ``s_r`` of each neuron (:func:`featavg.simulate.neuron_classes`).

    Returns
    -------
    dead : ndarray of bool, shape (M,)
        True for a neuron that fires on no point of its own class (also when its class has no
        training point).
    """
    W = np.asarray(W_init, dtype=float)
    b = np.asarray(b_init, dtype=float)
    X = np.asarray(X_train, dtype=float)
    c = np.asarray(clusters)
    lab = np.asarray(cluster_labels)
    cls = np.asarray(neuron_classes)
    if W.ndim != 2 or b.shape != (W.shape[0],):
        raise InvalidParameter("W_init/b_init", (W.shape, b.shape), "shapes (M, d) and (M,)")
    if X.ndim != 2 or X.shape[1] != W.shape[1]:
        raise InvalidParameter("X_train", X.shape, f"shape (n, {W.shape[1]})")
    if c.shape != (X.shape[0],):
        raise InvalidParameter("clusters", c.shape, f"shape ({X.shape[0]},)")
    if cls.shape != (W.shape[0],):
        raise InvalidParameter("neuron_classes", cls.shape, f"shape ({W.shape[0]},)")
    Z = X @ W.T + b
    own = lab[c][:, None] == cls[None, :]
    return ~np.any((Z > 0) & own, axis=0)


def dead_neuron_probability(n_js):
    r"""``prod_{j in J_s} 1/(n_j + 1)``: the probability that a neuron is dead at initialisation.

    L4.dead_neurons: with small initialisation, ``z_i / (sigma_w sqrt d) = A_j + B_i`` for the
    points ``i`` of cluster ``j`` (``A_j``, ``B_i`` independent standard normals, to leading order
    in ``d``), so the neuron is off on all ``n_j`` points of cluster ``j`` with probability
    ``E[Phi(-A_j)^{n_j}] = E[U^{n_j}] = 1/(n_j + 1)`` (``Phi(-A)`` is uniform), independently
    over its own clusters.

    Parameters
    ----------
    n_js : array_like of int, shape (..., |J_s|)
        The training points of each own-class cluster (last axis); non-negative integers.

    Returns
    -------
    float or ndarray, shape (...)
    """
    a = np.asarray(n_js)
    if a.size == 0 or not np.issubdtype(a.dtype, np.integer) and not np.all(a == np.round(a)):
        raise InvalidParameter("n_js", n_js, "non-negative integer cluster counts (at least one)")
    if np.any(a < 0):
        raise InvalidParameter("n_js", n_js, "non-negative integer cluster counts")
    out = np.prod(1.0 / (a.astype(float) + 1.0), axis=-1)
    return float(out) if np.ndim(out) == 0 else out


# ---------------------------------------------------------------------------------------------
# samplers
# ---------------------------------------------------------------------------------------------

def one_neuron_preactivations(rng, draws, sizes, d):
    r"""Initial pre-activations of one neuron on the points of its clusters, exact in law, per draw.

    The reduced coordinates of one neuron ``w ~ N(0, sigma_w^2 I_d)``, ``b ~ N(0, sigma_b^2)``
    (``sigma_b = sigma_w``) and fresh points ``x_p = mu_{c_p} + xi_p`` of ``J = len(sizes)``
    clusters (docs/science.md §4): take ``mu_j = sqrt(d) e_j``; ``w``'s coordinates along the
    features are ``sigma_w A_j`` with ``A_j`` i.i.d. standard normal, the rest of ``w`` has
    squared norm ``sigma_w^2 chi^2_{d - J}``; given ``w``, the ``<w, xi_p>`` are i.i.d.
    ``N(0, ||w||^2)`` (rotation invariance). So, exactly,

    .. math:: z_p / (\sigma_w \sqrt d) = A_{c_p} + (\|\tilde w\| B_p + \beta)/\sqrt d,\qquad
              \|\tilde w\|^2 = \textstyle\sum_j A_j^2 + \chi^2_{d-J}

    with ``B_p``, ``beta`` i.i.d. standard normals. The scale ``sigma_w`` drops out of every sign.

    Parameters
    ----------
    rng : numpy.random.Generator
    draws : int
        Independent draws (a fresh neuron and fresh points each).
    sizes : sequence of int
        Points per cluster.
    d : int
        Dimension, ``d > len(sizes)``.

    Returns
    -------
    Z : list of ndarray, shape (draws, sizes[j])
        ``z_p / (sigma_w sqrt d)`` of the points of cluster ``j``.
    A : ndarray, shape (draws, J)
    """
    J = len(sizes)
    if int(d) <= J:
        raise InvalidParameter("d", d, f"an integer > {J} (the number of clusters)")
    A = rng.standard_normal((draws, J))
    norm = np.sqrt((A ** 2).sum(axis=1) + rng.chisquare(float(d - J), size=draws))
    beta = rng.standard_normal(draws)
    sd = math.sqrt(d)
    Z = []
    for j, nj in enumerate(sizes):
        B = rng.standard_normal((draws, int(nj)))
        Z.append(A[:, j:j + 1] + (norm[:, None] * B + beta[:, None]) / sd)
    return Z, A


# ---------------------------------------------------------------------------------------------
# the fault every lemma check names
# ---------------------------------------------------------------------------------------------

def _halved_lemmas():
    """Every lemma's stated probabilities (its ``delta`` or its exact probability) halved: a wrong
    constant in the bound."""
    def claim(claim_id):
        import dataclasses

        from featavg._registry import get_claim

        c = get_claim(claim_id)
        if c.kind != "lemma":
            return c

        def halved(fn):
            def wrong(*a, **kw):
                out = fn(*a, **kw)
                return tuple(0.5 * np.asarray(x, dtype=float) for x in out) if isinstance(out, tuple) \
                    else 0.5 * np.asarray(out, dtype=float)
            wrong.__doc__ = fn.__doc__
            return wrong
        return dataclasses.replace(c, predictions={k: halved(f) for k, f in c.predictions.items()})
    return {"claim": claim}


#: the fault of the lemma checks: every lemma's probability halved (a check that cannot fail under a
#: wrong constant is not evidence for the constant)
LEMMA_CONSTANT = Fault("lemma_constant", _halved_lemmas.__doc__, context=_halved_lemmas)
