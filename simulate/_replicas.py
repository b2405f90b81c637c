r"""Replicas: ``R`` independent networks trained on shared data in one stacked pass.

Sweeps and property tests train many small networks on the same sample with different initial
weights. In the span form of GD (:mod:`._span`) every network on the inputs ``X`` needs the same
Gram matrix ``G = X X^T``; stacking the replicas' coefficient matrices ``C^T`` side by side makes a
step one product ``G [C_1^T ... C_R^T]`` for all of them, and the loss and ``D`` one vectorised
call of the network's ``loss_and_D`` on ``Z`` of shape (n, R, M).

What a replica is. Replica ``r`` trains the data of ``config`` (features, cluster labels, training
and test samples: exactly those of ``run_simulation(config)``) from the initial weights that
``Config(seed=seeds[r])`` (``config`` with only its seed replaced) draws:

* explicit engine: :meth:`._engine.ExplicitEngine.init` from that seed's ``init`` stream;
* reduced engine: that seed's reduced initial weights (:meth:`._reduced.ReducedSampler.init`:
  the rows ``n..n+M-1`` of its Bartlett factor, drawn from its ``features`` stream, and its
  ``init`` stream), in the reduced coordinates of ``config``'s data. This is exact in law: the
  Bartlett entries are independent, so the initial weights' rows (below-diagonal normals against
  the training noise, chi variables on their own block) have the same law whatever the rows of
  the training noise are; each replica sees the joint law of one run (docs/science.md §4). Replicas share
  the ``M`` reduced columns of the initial weights; a replica never sees another one, so their
  mutual inner products are irrelevant.

So ``seeds[r] == config.seed`` reproduces ``run_simulation(config)`` (to round-off: the stacked
pass sums in another order), and a replica does not depend on the other seeds, their number or
their order (to round-off). Each returned :class:`._run.Run` records ``config`` (whose seed names
the data) and ``init_seed = seeds[r]``; ``run_simulation(run.config, W_init=run.W_init,
b_init=run.b_init)`` replays it.
"""

import dataclasses
import time

import numpy as np

from ._diagnostics import regime_warnings
from ._errors import InvalidParameter
from ._engine import engine_for
from ._run import Run, _history_recorder, make_network, run_simulation
from ._span import choose_method, gram, span_descent
from ._validate import validate_int

__all__ = ["REPLICA_METHODS", "run_replicas"]

REPLICA_METHODS = ("stacked", "loop")


def _validate_seeds(seeds):
    seeds = [validate_int(f"seeds[{i}]", s, low=0) for i, s in enumerate(seeds)]
    if not seeds:
        raise InvalidParameter("seeds", seeds, "a non-empty sequence of non-negative integer seeds")
    return seeds


def run_replicas(config, seeds, *, progress=None, method="stacked"):
    """Train one network per seed on the data of ``config``, all in one stacked pass (module docstring).

    Parameters
    ----------
    config : Config
        The data (and every other parameter); its seed draws the features, cluster labels,
        training and test samples.
    seeds : sequence of int
        Replica ``r`` starts from the initial weights of ``Config(seed=seeds[r])``.
    progress : callable, optional
        Called with 1 after each GD step (of the stacked pass, or of each single run).
    method : {"stacked", "loop"}
        ``stacked``: one span-form GD for all replicas, whenever the cost rule of
        :func:`._span.choose_method` (for the whole stack) favours the span form; else, and when
        the network's gradient is not of the span form (e.g. under the fault injections of the
        tests), the loop. ``loop``: one :func:`run_simulation` per replica on the shared arrays
        (the reference).

    Returns
    -------
    list of Run
        In the order of ``seeds``; ``run.init_seed == seeds[r]``; ``run.seconds`` is the stacked
        GD's wall time divided by the number of replicas.

    Raises
    ------
    NumericalError
        If a replica diverges; the message names the replica, its seed and the step.
    """
    seeds = _validate_seeds(seeds)
    if method not in REPLICA_METHODS:
        raise InvalidParameter("method", method, "one of " + ", ".join(REPLICA_METHODS))
    cfg, engine = engine_for(config)
    data = engine.sample().as_dict()
    inits = [engine_for(dataclasses.replace(cfg, seed=s))[1].init() for s in seeds]
    R, M = len(seeds), cfg.neurons
    template = make_network(cfg.supervision, inits[0][0], inits[0][1], cfg.h, cfg.activation_function)
    X = engine.training_inputs(data["train"])
    if method == "stacked" and choose_method(template, X, cfg.steps, every=cfg.history_every,
                                             replicas=R) == "primal":
        method = "loop"  # the cost rule (or a gradient not of span form) says primal
    shared = {key: data[key] for key in ("features", "cluster_labels", "train", "test")}
    if method == "loop":
        runs = []
        for s, (W0, b0) in zip(seeds, inits):
            run = run_simulation(cfg, W_init=W0, b_init=b0, progress=progress, **shared)
            runs.append(dataclasses.replace(run, init_seed=s))
        return runs

    train = data["train"]
    target = train.y if cfg.supervision == "binary" else train.clusters
    histories = observe = None
    if cfg.history_every:
        recorders = [_history_recorder((shared["features"], shared["cluster_labels"], train, shared["test"],
                                        cfg.readout), cfg.k) for _ in seeds]
        histories = [h for h, _ in recorders]

        def observe(t, W, b, loss):
            for r, (_, obs) in enumerate(recorders):
                rows = slice(r * M, (r + 1) * M)
                obs(t, dataclasses.replace(template, W=W[rows], b=b[rows]), float(loss[r]) if R > 1 else loss)

    W0 = np.vstack([W for W, _ in inits])
    b0 = np.concatenate([b for _, b in inits])
    start = time.perf_counter()
    trace = []
    W, b, loss = span_descent(template.loss_and_D, W0, b0, X, target, cfg.eta, cfg.steps, replicas=R,
                              G=gram(X), every=cfg.history_every, observe=observe, progress=progress,
                              label=lambda r: f"replica {r} (init seed {seeds[r]}):", losses=trace)
    seconds = (time.perf_counter() - start) / R
    losses = np.atleast_1d(loss)
    runs = []
    for r, s in enumerate(seeds):
        rows = slice(r * M, (r + 1) * M)
        history = None
        if histories is not None:
            history = {key: np.asarray(val) for key, val in histories[r].items()}
        net = make_network(cfg.supervision, W[rows], b[rows], cfg.h, cfg.activation_function)
        trace_r = np.array([np.atleast_1d(x)[r] for x in trace], dtype=float)
        warns = regime_warnings(cfg, net, shared["features"], shared["cluster_labels"], train, trace_r, history)
        runs.append(Run(config=cfg, network=net, final_loss=float(losses[r]), history=history, seconds=seconds,
                        init_seed=s, W_init=inits[r][0], b_init=inits[r][1], losses=trace_r, warnings=warns,
                        **shared))
    return runs

