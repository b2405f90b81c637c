r"""Warnings for a run that leaves the regime the theory (and the toolkit's checks) measure in.

Three cheap diagnostics, computed at the end of every run from what GD computes anyway (the loss
of every step) and one pass of the trained network over the training inputs:

``late_phase``
    C7's late regime is not reached within the steps. Binary network: every own-class neuron
    active on at least :data:`LATE_OWN_MIN` of each own-class cluster's training points and every
    opposite-class neuron on at most :data:`LATE_OPPOSITE_MAX` of each opposite cluster's
    (:func:`._metrics.late_phase_start` on the end state). Multi-class network: every neuron of
    output ``j`` active on at least :data:`LATE_OWN_MIN` of cluster ``j``'s points, and no other
    output's neuron active at the centre ``mu_j`` (the decoupled late regime of C7.ce_margin_ode;
    at the paper's 100 steps an output still fires on about 20% of other clusters' noisy points,
    so the point fraction is not required there). C1, C3, C5 and C7 are statements about the late
    phase; outside it their predictions do not apply.
``loss_stall``
    The loss fell by less than ``1 - STALL_RATIO`` (10%) over the last half of the steps. In the
    late phase the loss follows ``l ~ 1/(C t)`` (C7.lambert_w: margins ``q + e^q = C t + c``), so it
    halves from ``T/2`` to ``T``; in the early phase at the paper's ``eta d`` it falls by 18%
    over steps 10 to 20 (measured). Less than 10% means neither: a learning rate far too small
    for ``d`` (``eta d = 0.03`` falls by 1.1% over 100 steps) or a stuck network.
``overshoot``
    A step that reduces the loss by more than a factor ``e`` (:data:`OVERSHOOT_DROP`): for
    ``q >> 1`` (``l(q) ~ e^{-q}``) the margins moved by more than 1 in one step, where the
    gradient-flow predictions of C7 assume a small move per step; this is how a learning rate too
    large for ``d`` shows (``eta = 1e-3`` at ``d = 10^6``: the loss drops 115-fold in one step,
    the early phase is skipped and the averaging score is 0.68). Also: a loss that rises by more
    than :data:`INCREASE_RTOL` relative between two steps (GD oscillating), a loss that underflows
    to 0 (margins beyond float64's ``log1p(e^{-q})``), and, when a history is recorded, a cluster
    margin that falls between two recorded steps by more than :data:`INCREASE_RTOL` of its size.

Each warning is a dict ``{"quantity", "regime", "message"}``; :attr:`Run.warnings` holds them.
"""

import math

import numpy as np

from ._metrics import activation_fractions, late_phase_start

__all__ = ["LATE_OWN_MIN", "LATE_OPPOSITE_MAX", "STALL_RATIO", "OVERSHOOT_DROP", "INCREASE_RTOL",
           "late_phase_state", "regime_warnings"]

#: own-class activity that counts as "active on the cluster" (late_phase_start's default)
LATE_OWN_MIN = 0.99
#: opposite-class activity that counts as "inactive" (late_phase_start's default)
LATE_OPPOSITE_MAX = 0.1
#: the loss at T over the loss at T/2 above which the run is stalled (module docstring)
STALL_RATIO = 0.9
#: one step dividing the loss by more than this is an overshoot (a margin move > 1)
OVERSHOOT_DROP = math.e
#: a relative loss increase above this is an oscillation: far above float64 round-off of a mean
#: of n logistic losses (about n eps = 2e-13 at n = 1000), below any real rise
INCREASE_RTOL = 1e-9


def _warning(quantity, regime, message):
    return {"quantity": quantity, "regime": regime, "message": message}


def late_phase_state(net, supervision, features, cluster_labels, X_train, clusters, k):
    """Whether the trained net is in C7's late regime (module docstring), and its margins to it.

    Returns
    -------
    dict
        ``in_late`` (bool), ``own_activity_min`` (the smallest fraction of an own cluster's
        training points on which an own neuron fires), ``opposite_activity_max`` and
        ``opposite_at_centre_max`` (the largest pre-activation of an outside neuron at a
        cluster centre).
    """
    A = activation_fractions(net.preactivations(X_train), clusters, k)  # (M, k)
    M = A.shape[0]
    labels = np.asarray(cluster_labels)
    Zc = net.preactivations(features).T  # (M, k): neuron r at centre mu_j
    if supervision == "binary":
        own = np.repeat([1, -1], M // 2)[:, None] == labels[None, :]
        in_late = late_phase_start({"activation_fractions": A[None]}, labels, M // 2,
                                   own_min=LATE_OWN_MIN, opposite_max=LATE_OPPOSITE_MAX) is not None
    else:
        own = np.repeat(np.arange(k), M // k)[:, None] == np.arange(k)[None, :]
        in_late = bool(A[own].min() >= LATE_OWN_MIN and np.all(Zc[~own] <= 0))
    return {"in_late": bool(in_late), "own_activity_min": float(A[own].min()),
            "opposite_activity_max": float(A[~own].max()) if (~own).any() else 0.0,
            "opposite_at_centre_max": float(Zc[~own].max()) if (~own).any() else -math.inf}


def regime_warnings(config, net, features, cluster_labels, train, losses, history=None):
    """The warnings of one run (module docstring).

    Parameters
    ----------
    config : Config
    net : BinaryNetwork or MultiClassNetwork
        The trained network.
    features : ndarray, shape (k, d)
    cluster_labels : ndarray, shape (k,)
    train : Sample
    losses : ndarray, shape (steps + 1,)
        The loss before each step and at the end.
    history : dict, optional
        A recorded history; its ``cluster_margins`` (T, k) are checked for oscillation.

    Returns
    -------
    list of dict
        ``{"quantity", "regime", "message"}``, at most one per quantity.
    """
    out = []
    cfg = config
    L = np.asarray(losses, dtype=float)
    T = cfg.steps
    where = f"k={cfg.k}, d={cfg.d}, n={cfg.n}, eta={cfg.eta:g} (eta*d = {cfg.eta * cfg.d:g}), init={cfg.init_scale:g}"

    state = late_phase_state(net, cfg.supervision, features, cluster_labels, train.X, train.clusters, cfg.k)
    if T > 0 and not state["in_late"]:
        if cfg.supervision == "binary":
            regime = (f"C7's late phase: every own-class neuron active on >= {LATE_OWN_MIN:g} of each own cluster's "
                      f"training points, every opposite-class neuron on <= {LATE_OPPOSITE_MAX:g}")
            seen = (f"own activity down to {state['own_activity_min']:.3g}, opposite up to "
                    f"{state['opposite_activity_max']:.3g}")
        else:
            regime = (f"C7's decoupled late phase: every neuron of output j active on >= {LATE_OWN_MIN:g} of cluster j's "
                      "training points, no other output's neuron active at mu_j")
            seen = (f"own activity down to {state['own_activity_min']:.3g}, largest outside pre-activation at a "
                    f"centre {state['opposite_at_centre_max']:.3g}")
        out.append(_warning("late_phase", regime,
                            f"the late phase is not reached within the {T} steps ({seen}; {where}): the late-phase "
                            "predictions (C1, C3, C5, C7) do not apply; train longer (--steps), or check eta*d and "
                            "the init scale"))

    finite = np.isfinite(L)
    overshot = False
    if T >= 1 and finite.all():
        with np.errstate(divide="ignore", invalid="ignore"):
            drop = np.where(L[1:] > 0, L[:-1] / L[1:], np.where(L[:-1] > 0, np.inf, 1.0))
        rise = (L[1:] - L[:-1]) / np.maximum(L[:-1], np.finfo(float).tiny)
        msgs = []
        if np.any(drop > OVERSHOOT_DROP):
            overshot = True
            t = int(np.argmax(drop > OVERSHOOT_DROP))
            if L[t + 1] == 0:
                msgs.append(f"the loss underflows to 0 at step {t + 1} (margins beyond float64's range of the logistic "
                            "loss)")
            else:
                msgs.append(f"step {t} divides the loss by {drop[t]:.3g} ({L[t]:.4g} -> {L[t + 1]:.4g}), more than "
                            f"e = {OVERSHOOT_DROP:.4g}: the margins move by more than 1 in one step")
        if np.any(rise > INCREASE_RTOL):
            t = int(np.argmax(rise > INCREASE_RTOL))
            msgs.append(f"the loss rises at {int(np.sum(rise > INCREASE_RTOL))} step(s), first at step {t} "
                        f"({L[t]:.6g} -> {L[t + 1]:.6g}): GD oscillates")
        if history is not None and "cluster_margins" in history and len(history["cluster_margins"]) > 1:
            q = np.asarray(history["cluster_margins"], dtype=float)
            fall = (q[:-1] - q[1:]) > INCREASE_RTOL * np.maximum(np.abs(q[:-1]), 1.0)
            late = np.abs(q[:-1]) > 1.0  # past the early phase, where margins start near 0 and may wobble
            if np.any(fall & late):
                msgs.append(f"a cluster margin falls between recorded steps ({int(np.sum(fall & late))} time(s)): the "
                            "margins oscillate")
        if msgs:
            out.append(_warning("overshoot", "gradient descent close to the gradient flow: a margin move < 1 per step, "
                                "a loss that never rises",
                                "; ".join(msgs) + f" ({where}; try a smaller eta, e.g. the default 1e-3 * 3072/d)"))
    # a loss driven to ~0 by an overshooting step is flat too: that is the overshoot, not a stall
    if T >= 2 and finite.all() and not overshot:
        half, last = L[T // 2], L[T]
        if last > 0 and last > STALL_RATIO * half:
            out.append(_warning("loss_stall", "a loss that falls like 1/(C t) in the late phase (halves from T/2 to T)",
                                f"the loss fell by only {100 * (1 - last / half):.2g}% over the last {T - T // 2} steps "
                                f"({half:.4g} -> {last:.4g}; {where}): training has stalled (a learning rate too small "
                                "for d, or a stuck network)"))
    return out
