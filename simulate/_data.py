"""The multi-cluster data of Definition 3.1 (docs/science.md §1).

Cluster features ``mu_1..mu_k`` in R^d are the rows of ``features`` (shape ``(k, d)``); the
partition of ``[k]`` into ``J+`` and ``J-`` is the vector ``cluster_labels`` (shape ``(k,)``,
entries ``+1`` for ``j in J+`` and ``-1`` for ``j in J-``). A sample is drawn by
``j ~ Unif([k])``, ``y = cluster_labels[j]``, ``x = mu_j + sigma xi`` with ``xi ~ N(0, I_d)``.

Assumption 3.2 (orthogonal equinorm): ``||mu_j|| = sqrt(d)`` and ``<mu_i, mu_j> = 0`` for
``i != j``. :func:`make_features` meets it to float64 round-off: the features are ``sqrt(d)``
times orthonormal columns of a seeded random rotation (the Q factor of a Gaussian matrix, with
the signs of R's diagonal folded in so that Q is Haar distributed).

Data variants (docs/science.md §1, "Extensions"; issue 18), off by default. The features may have
any positive-definite Gram matrix ``G = F F^T = d R C R`` with ``R = diag(r_1..r_k)`` (unequal norms,
``||mu_j|| = sqrt(d) r_j``) and ``C`` a correlation matrix of mutual coherence ``epsilon``
(:func:`feature_correlation`: ``C = (1 - eps) I + eps 11^T``, or a random symmetric ``C`` with unit
diagonal and off-diagonal entries uniform in ``[-eps, eps]``). :func:`feature_gram` builds ``G`` and
:func:`gram_features` maps orthogonal equinorm features ``F_0`` (``F_0 F_0^T = d I``) to
``F = Lc F_0``, ``Lc`` the lower Cholesky factor of ``R C R`` (``Lc Lc^T = R C R``), so that
``F F^T = d Lc Lc^T = G`` exactly. The label noise of the training set (:func:`flip_labels`) flips
each binary label independently with probability ``q``.
"""

from dataclasses import dataclass

import numpy as np

from ._validate import validate_array, validate_int, validate_real

__all__ = ["make_features", "make_partition", "sample_mixture", "Sample", "COHERENCE_KINDS", "feature_correlation",
           "feature_gram", "gram_factor", "gram_features", "flip_labels"]

#: the correlation matrices of :func:`feature_correlation`
COHERENCE_KINDS = ("equicorrelated", "random")


def make_features(k, d, rng):
    """Cluster features satisfying Assumption 3.2.

    Parameters
    ----------
    k : int
        Number of clusters, ``2 <= k <= d``.
    d : int
        Ambient dimension.
    rng : numpy.random.Generator

    Returns
    -------
    features : ndarray, shape (k, d)
        Rows ``mu_j`` with ``<mu_i, mu_j> = d delta_ij`` (to round-off).
    """
    d = validate_int("d", d, low=2)
    k = validate_int("k", k, low=2, high=d, valid=f"an integer with 2 <= k <= d = {d}")
    return _haar_features(k, d, rng)


def _haar_features(k, d, rng):
    """:func:`make_features` for sizes already validated (the engines' path)."""
    gauss = rng.standard_normal((d, k))
    q, r = np.linalg.qr(gauss)
    q *= np.sign(np.diag(r))  # Haar measure on the Stiefel manifold
    return np.ascontiguousarray(q.T) * np.sqrt(d)


def make_partition(k, positive=None):
    """The partition ``J+ = {0..positive-1}``, ``J- = {positive..k-1}`` as a label vector.

    Parameters
    ----------
    k : int
        Number of clusters, ``k >= 2``.
    positive : int, optional
        ``|J+|``, ``1 <= positive <= k - 1``; default ``k // 2`` (balanced, Assumption 3.3 with
        ``c = (k - k//2) / (k//2) <= 2``).

    Returns
    -------
    cluster_labels : ndarray of int64, shape (k,)
        ``+1`` on ``J+``, ``-1`` on ``J-``.
    """
    k = validate_int("k", k, low=2)
    if positive is None:
        positive = k // 2
    positive = validate_int("positive", positive, low=1, high=k - 1,
                            valid=f"an integer with 1 <= positive <= k - 1 = {k - 1}")
    labels = -np.ones(k, dtype=np.int64)
    labels[:positive] = 1
    return labels


@dataclass(frozen=True)
class Sample:
    """Draws of Definition 3.1.

    Attributes
    ----------
    X : ndarray, shape (n, d)
        Inputs ``x_i = mu_{j_i} + sigma xi_i``.
    y : ndarray of int64, shape (n,)
        Binary labels ``y_i = cluster_labels[j_i]``.
    clusters : ndarray of int64, shape (n,)
        Cluster indices ``j_i``.
    """

    X: np.ndarray
    y: np.ndarray
    clusters: np.ndarray


def sample_mixture(features, cluster_labels, n, rng, sigma=1.0):
    """Draw ``n`` points of Definition 3.1 (``j`` uniform, Gaussian noise of scale ``sigma``).

    Parameters
    ----------
    features : ndarray, shape (k, d)
    cluster_labels : ndarray, shape (k,)
        Entries in ``{+1, -1}``.
    n : int
        Number of points, ``n >= 1``.
    rng : numpy.random.Generator
        The cluster indices are drawn first, then the noise, row by row.
    sigma : float
        Noise scale, ``sigma >= 0``.

    Returns
    -------
    Sample
    """
    features = validate_array("features", features, shape=(None, None))
    k, d = features.shape
    cluster_labels = validate_array("cluster_labels", cluster_labels, shape=(k,), dtype=np.int64)
    n = validate_int("n", n, low=1)
    sigma = validate_real("sigma", sigma, low=0.0)
    return _draw_mixture(features, cluster_labels, n, rng, sigma)


def _draw_mixture(features, cluster_labels, n, rng, sigma):
    """:func:`sample_mixture` for arguments already validated (the engines' path)."""
    k, d = features.shape
    clusters = rng.integers(0, k, size=n)
    X = rng.standard_normal((n, d))
    X *= sigma
    X += features[clusters]
    return Sample(X=X, y=cluster_labels[clusters].copy(), clusters=clusters.astype(np.int64))


def feature_correlation(k, coherence, kind="equicorrelated", rng=None):
    r"""The correlation matrix ``C`` of the features, shape (k, k), mutual coherence ``coherence``.

    ``C_jj = 1`` and ``max_{i != j} |C_ij| = eps`` (the mutual coherence of the normalised
    features ``mu_j / ||mu_j||``):

    * ``equicorrelated``: ``C = (1 - eps) I + eps 11^T``, eigenvalues ``1 - eps`` (``k - 1`` times)
      and ``1 + (k - 1) eps``, positive definite iff ``-1/(k - 1) < eps < 1``;
    * ``random``: ``C_ij = eps U_ij`` for ``i < j`` with ``U_ij`` i.i.d. uniform on ``[-1, 1]``
      (drawn from ``rng``, row by row above the diagonal), symmetric; strictly diagonally dominant,
      hence positive definite (Gershgorin), when ``(k - 1) eps < 1``.

    Parameters
    ----------
    k : int
    coherence : float
        ``eps`` (validated by :class:`featavg.simulate.Config` for the two kinds).
    kind : {"equicorrelated", "random"}
    rng : numpy.random.Generator, optional
        Needed for ``random`` with ``eps != 0``.

    Returns
    -------
    C : ndarray, shape (k, k)
    """
    eps = float(coherence)
    if kind == "equicorrelated":
        return (1.0 - eps) * np.eye(k) + eps * np.ones((k, k))
    C = np.eye(k)
    if eps != 0.0:
        rows, cols = np.triu_indices(k, 1)
        C[rows, cols] = eps * rng.uniform(-1.0, 1.0, rows.size)
        C[cols, rows] = C[rows, cols]
    return C


def feature_gram(d, correlation, norms=None):
    """``G = d R C R``, shape (k, k): the Gram matrix ``<mu_i, mu_j>`` of the features.

    Parameters
    ----------
    d : int
    correlation : ndarray, shape (k, k)
        ``C`` (:func:`feature_correlation`).
    norms : array_like, shape (k,), optional
        ``r_j`` with ``||mu_j|| = sqrt(d) r_j``; default all 1.
    """
    C = np.asarray(correlation, dtype=float)
    r = np.ones(C.shape[0]) if norms is None else np.asarray(norms, dtype=float)
    return float(d) * (r[:, None] * C * r[None, :])


def gram_factor(correlation, norms=None):
    """``Lc``, shape (k, k): the lower Cholesky factor of ``R C R`` (``Lc Lc^T = R C R``).

    Row ``j`` is the coordinate vector of ``mu_j / sqrt(d)`` in the orthonormal basis that
    Gram-Schmidt makes of ``mu_1, ..., mu_k`` in that order (the Cholesky factor of a Gram
    matrix is the triangular factor of its QR decomposition, transposed).
    """
    return np.linalg.cholesky(feature_gram(1, correlation, norms))


def gram_features(F0, factor):
    """``F = Lc F_0``, shape (k, d): features with Gram ``d Lc Lc^T`` from ``F_0`` with ``F_0 F_0^T = d I``."""
    return factor @ F0


def flip_labels(sample, q, rng):
    """The training sample with each binary label flipped independently with probability ``q``.

    ``rng`` draws ``n`` uniforms ``u_i`` and label ``i`` is flipped iff ``u_i < q``; ``X`` and the
    cluster indices are kept (the flipped points are those with ``y_i != cluster_labels[c_i]``).

    Returns
    -------
    Sample
    """
    flip = rng.random(sample.y.size) < q
    return Sample(X=sample.X, y=np.where(flip, -sample.y, sample.y), clusters=sample.clusters)
