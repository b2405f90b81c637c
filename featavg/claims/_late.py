"""Runs shared by the C7 claim modules (not a claim: discovery skips modules starting with ``_``)."""

import numpy as np

__all__ = ["late_regime_run", "margins", "trained_large_d"]


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


def trained_large_d(ctx):
    """Binary run at d = 10^6 (reduced engine, exact in law), with its history; cached by the context.

    ``eta d = 3.072`` as in the paper (``1e-3`` at ``d = 3072``), so ``eta C = O(1/(mk))``; init
    ``1e-5 sqrt(3072/d)``.
    """
    from featavg.simulate import Config

    d = 10 ** 6
    cfg = Config(k=10, d=d, n=500 if ctx.quick else 1000, n_test=10, m=5, eta=3.072 / d,
                 init_scale=1e-5 * np.sqrt(3072 / d), steps=300, history_every=10, engine="reduced", seed=ctx.seed)
    return ctx.run(cfg)
