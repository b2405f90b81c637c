"""The multi-cluster data of Definition 3.1 (docs/science.md §1).

Cluster features ``mu_1..mu_k`` in R^d are the rows of ``features`` (shape ``(k, d)``); the
partition of ``[k]`` into ``J+`` and ``J-`` is the vector ``cluster_labels`` (shape ``(k,)``,
entries ``+1`` for ``j in J+`` and ``-1`` for ``j in J-``). A sample is drawn by
``j ~ Unif([k])``, ``y = cluster_labels[j]``, ``x = mu_j + sigma xi`` with ``xi ~ N(0, I_d)``.

Assumption 3.2 (orthogonal equinorm): ``||mu_j|| = sqrt(d)`` and ``<mu_i, mu_j> = 0`` for
``i != j``. :func:`make_features` meets it to float64 round-off: the features are ``sqrt(d)``
times orthonormal columns of a seeded random rotation (the Q factor of a Gaussian matrix, with
the signs of R's diagonal folded in so that Q is Haar distributed).
"""

from dataclasses import dataclass

import numpy as np

from ._validate import validate_array, validate_int, validate_real

__all__ = ["make_features", "make_partition", "sample_mixture", "Sample"]


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
