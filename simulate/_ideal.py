r"""Idealised networks of the claims, built in simulator coordinates (docs/science.md §2).

Each is the network a claim's closed form is about, so checks, figures and tests measure the
same object (one home per construction):

* :func:`averaging_net`: ``w_s = alpha_s sum_{j in J_s} mu_j``, bias ``b_s`` (C3.averaging_radius);
  ``m`` identical copies per sign give the same ``f``;
* :func:`threshold_net`: one neuron per feature, ``w_j = alpha mu_j / sqrt(d)``, bias ``-alpha tau``
  (C4.threshold_net);
* :func:`decoupled_net`: the multi-class net ``w_{j,r} = alpha mu_j`` (C5.readouts);
* :func:`mixed_label_net`: ``w_j = mu_j + beta sum_{i in J_s, i != j} mu_i`` (C6.mixed_labels);
* :func:`late_regime`: a binary net in C7's late regime (own-class neurons active on all own
  clusters with prescribed margins, opposite ones at pre-activation ``-1``) with its noise-free
  training data, on which GD follows the margin map exactly;
* :func:`decoupled_late_regime`: the same for the multi-class net under cross-entropy
  (C7.ce_margin_ode).

``features`` has shape (k, d) with orthogonal rows of norm ``sqrt(d)`` (Assumption 3.2);
``cluster_labels`` shape (k,) with entries ``+1`` on ``J+`` and ``-1`` on ``J-``.
"""

import numpy as np

from ._data import Sample
from ._errors import InvalidParameter
from ._networks import BinaryNetwork, MultiClassNetwork

__all__ = ["averaging_net", "threshold_net", "decoupled_net", "mixed_label_net", "late_regime",
           "decoupled_late_regime", "noise_free_sample"]


def averaging_net(features, cluster_labels, alpha_p=1.0, alpha_m=1.0, b_p=0.0, b_m=0.0, m=1):
    """The perfectly averaged binary net of C3.averaging_radius.

    Parameters
    ----------
    features : ndarray, shape (k, d)
    cluster_labels : ndarray, shape (k,)
    alpha_p, alpha_m : float
        Scales of the ``+`` and ``-`` neurons (``alpha_+``, ``alpha_-``).
    b_p, b_m : float
        Their biases.
    m : int
        Identical neurons per sign.

    Returns
    -------
    BinaryNetwork
        Rows ``0..m-1``: ``alpha_+ sum_{J+} mu_j``; rows ``m..2m-1``: ``alpha_- sum_{J-} mu_j``.
    """
    labels = np.asarray(cluster_labels)
    wp = alpha_p * features[labels > 0].sum(axis=0)
    wm = alpha_m * features[labels < 0].sum(axis=0)
    W = np.vstack([np.repeat(wp[None], m, axis=0), np.repeat(wm[None], m, axis=0)])
    return BinaryNetwork(W, np.concatenate([np.full(m, float(b_p)), np.full(m, float(b_m))]))


def threshold_net(features, cluster_labels, tau, alpha=1.0):
    """One neuron per feature, ``w_j = alpha mu_j / sqrt(d)``, bias ``-alpha tau`` (C4.threshold_net).

    Needs a balanced partition (``|J+| = |J-|``): neuron ``(s, r)`` owns the ``r``-th feature of ``J_s``.
    """
    labels = np.asarray(cluster_labels)
    pos, neg = np.flatnonzero(labels > 0), np.flatnonzero(labels < 0)
    if pos.size != neg.size:
        raise InvalidParameter("cluster_labels", labels.tolist(), "a balanced partition |J+| = |J-| "
                               "(one neuron per feature in the binary architecture)")
    d = features.shape[1]
    order = np.concatenate([pos, neg])
    return BinaryNetwork(alpha * features[order] / np.sqrt(d), np.full(order.size, -alpha * tau))


def decoupled_net(features, alpha=1.0, h=1, bias=0.0):
    """The decoupled multi-class net ``w_{j,r} = alpha mu_j``, bias ``bias`` (C5.readouts)."""
    k = features.shape[0]
    return MultiClassNetwork(np.repeat(alpha * features, h, axis=0), np.full(k * h, float(bias)), h=h)


def mixed_label_net(features, cluster_labels, beta):
    """``w_j = mu_j + beta sum_{i in J_s, i != j} mu_i``, no bias, ``h = 1`` (C6.mixed_labels)."""
    labels = np.asarray(cluster_labels)
    W = np.empty_like(features)
    for j in range(features.shape[0]):
        same = labels == labels[j]
        W[j] = features[j] + beta * (features[same].sum(axis=0) - features[j])
    return MultiClassNetwork(W, np.zeros(features.shape[0]), h=1)


def noise_free_sample(features, cluster_labels, per_cluster):
    """``per_cluster`` copies of every ``mu_j`` (sigma = 0), cluster-major: a :class:`Sample`."""
    k = features.shape[0]
    clusters = np.repeat(np.arange(k), per_cluster)
    return Sample(X=features[clusters].copy(), y=np.asarray(cluster_labels)[clusters].copy(), clusters=clusters)


def late_regime(features, cluster_labels, margins, m=5, per_cluster=10, opposite=-1.0):
    """A binary net in C7's late regime and its noise-free data.

    Every neuron of sign ``s`` is ``w = sum_j c_j mu_j / d`` with ``c_j = q_j`` for ``j in J_s``
    and ``c_j = opposite`` (< 0) otherwise, bias 0, all ``m`` neurons of a sign equal. On the
    noise-free data (``per_cluster`` copies of each ``mu_j``), own-class neurons are active on
    all own clusters and opposite ones inactive, the margins are ``q_j = y_j f(mu_j)``, and GD
    follows C7's margin map exactly (no finite-``n`` or finite-``d`` correction).

    Returns
    -------
    net : BinaryNetwork
    train : Sample
    """
    labels = np.asarray(cluster_labels)
    k, d = features.shape
    q = np.broadcast_to(np.asarray(margins, dtype=float), (k,))
    W = np.empty((2 * m, d))
    for s, rows in ((1, slice(0, m)), (-1, slice(m, 2 * m))):
        coef = np.where(labels == s, q, float(opposite))
        W[rows] = (coef @ features) / d
    return BinaryNetwork(W, np.zeros(2 * m)), noise_free_sample(features, labels, per_cluster)


def decoupled_late_regime(features, cluster_labels, margins, h=2, per_cluster=10, off=-1.0):
    """A decoupled multi-class net in the late regime of C7.ce_margin_ode, and its noise-free data.

    Neuron ``(j, r)`` is ``w = (q_j mu_j + off sum_{i != j} mu_i) / d``: active on cluster ``j`` only
    (pre-activation ``q_j``), at ``off < 0`` on the others.
    """
    k, d = features.shape
    q = np.broadcast_to(np.asarray(margins, dtype=float), (k,))
    coef = np.where(np.eye(k, dtype=bool), q[:, None], float(off))
    W = np.repeat(coef @ features / d, h, axis=0)
    return MultiClassNetwork(W, np.zeros(k * h), h=h), noise_free_sample(features, cluster_labels, per_cluster)
