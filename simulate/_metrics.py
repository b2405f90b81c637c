r"""What a run is measured by (docs/science.md §2: C1, C2, C5).

* cosine matrix ``C_{rj} = cos(w_r, mu_j)``, shape (M, k);
* averaging score: mean over neurons of ``cos(w_r, sum_{j in J_{s_r}} mu_j)``, the cosine with
  the neuron's class-average feature (C1 predicts 1 after binary training);
* decoupling score: for the multi-class network the mean of ``cos(w_{j,r}, mu_j)`` (C5 predicts
  1); for the binary network, where no neuron owns a feature, the mean over neurons of
  ``max_{j in J_{s_r}} cos(w_r, mu_j)`` (C1 predicts ``1/sqrt(|J_s|)``);
* clean accuracy of a binary score (a point is correct iff ``y g(x) > 0``; ``g = 0`` is an
  error, the tie convention of the robust radius ``y f(x + rho) <= 0``);
* per-cluster margins at the noise-free point ``mu_j``: ``q_j = y_j f(mu_j)`` for the binary
  network (C7's ``q_j``), ``f_j(mu_j) - max_{j' != j} f_{j'}(mu_j)`` for the multi-class one.
"""

import numpy as np

__all__ = [
    "cosine_matrix",
    "neuron_classes",
    "averaging_score",
    "decoupling_score",
    "accuracy",
    "cluster_margins",
    "feature_coefficients",
    "activation_fractions",
    "late_phase_start",
]


def cosine_matrix(W, features):
    """``cos(w_r, mu_j)``, shape (M, k); a zero row gives zeros."""
    wn = np.linalg.norm(W, axis=1)
    fn = np.linalg.norm(features, axis=1)
    denom = np.outer(wn, fn)
    G = W @ features.T
    return np.divide(G, denom, out=np.zeros_like(G), where=denom > 0)


def neuron_classes(net, cluster_labels):
    """The class ``s_r`` of each neuron, shape (M,): its sign (binary) or its cluster's label."""
    if net.kind == "binary":
        return net.neuron_signs.astype(np.int64)
    return np.repeat(np.asarray(cluster_labels), net.h)


def averaging_score(net, features, cluster_labels):
    """Mean over neurons of ``cos(w_r, sum_{j in J_{s_r}} mu_j)``."""
    cluster_labels = np.asarray(cluster_labels)
    cls = neuron_classes(net, cluster_labels)
    class_sums = {s: features[cluster_labels == s].sum(axis=0) for s in (1, -1)}
    targets = np.stack([class_sums[int(s)] for s in cls])
    num = np.einsum("rd,rd->r", net.W, targets)
    den = np.linalg.norm(net.W, axis=1) * np.linalg.norm(targets, axis=1)
    return float(np.mean(np.divide(num, den, out=np.zeros_like(num), where=den > 0)))


def decoupling_score(net, features, cluster_labels):
    """Mean cosine of each neuron with its own feature (see the module docstring)."""
    C = cosine_matrix(net.W, features)
    if net.kind == "multiclass":
        own = np.repeat(np.arange(net.k), net.h)
        return float(np.mean(C[np.arange(C.shape[0]), own]))
    cls = neuron_classes(net, cluster_labels)
    same = cls[:, None] == np.asarray(cluster_labels)[None, :]
    return float(np.mean(np.where(same, C, -np.inf).max(axis=1)))


def accuracy(score, y):
    """Fraction of points with ``y g(x) > 0``."""
    return float(np.mean(np.asarray(y) * np.asarray(score) > 0))


def cluster_margins(net, features, cluster_labels):
    """Margins at the noise-free cluster centres, shape (k,) (module docstring)."""
    cluster_labels = np.asarray(cluster_labels)
    if net.kind == "binary":
        return cluster_labels * net.output(features)
    F = net.output(features)
    k = F.shape[0]
    off = np.where(np.eye(k, dtype=bool), -np.inf, F)
    return np.diag(F) - off.max(axis=1)


def feature_coefficients(W, features):
    """``<w_r, mu_j> / ||mu_j||^2``, shape (M, k) (``<w, mu_j>/d`` under Assumption 3.2)."""
    return (W @ features.T) / np.einsum("jd,jd->j", features, features)


def activation_fractions(Z, clusters, k):
    """Fraction of each cluster's points on which each neuron is active, shape (M, k).

    Parameters
    ----------
    Z : ndarray, shape (n, M)
        Pre-activations.
    clusters : ndarray of int, shape (n,)
    k : int
    """
    active = (Z > 0.0).astype(np.float64)
    counts = np.bincount(clusters, minlength=k).astype(np.float64)
    sums = np.zeros((k, Z.shape[1]))
    np.add.at(sums, clusters, active)
    return np.divide(sums, counts[:, None], out=np.full_like(sums, np.nan), where=counts[:, None] > 0).T


def late_phase_start(history, cluster_labels, m, own_min=0.99, opposite_max=0.1):
    """First recorded index of C7's late regime in a binary run's history, or ``None``.

    The late regime (docs/science.md §2, C7): every own-class neuron active on at least
    ``own_min`` of each own-class cluster's training points, every opposite-class neuron on at
    most ``opposite_max`` of each opposite cluster's.

    Parameters
    ----------
    history : dict
        A run's history (``activation_fractions`` of shape (T, 2m, k)).
    cluster_labels : ndarray, shape (k,)
    m : int
        Neurons per sign.
    """
    signs = np.repeat([1, -1], m)
    same = signs[:, None] == np.asarray(cluster_labels)[None, :]
    for t, a in enumerate(np.asarray(history["activation_fractions"])):
        if a[same].min() >= own_min and a[~same].max() <= opposite_max:
            return t
    return None
