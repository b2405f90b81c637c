"""Time per GD step of the explicit and reduced engines at the paper's default, against the two-pass floor.

A primal GD step must read ``X_train`` twice (pre-activations ``X W^T`` and the gradient
``D^T X``), so the floor of a step is two passes over ``X_train``, timed here in the same run
(the faster of ``X @ v`` and ``X.sum(axis=0)``, one read each) on the dense array the engine
trains on: (n, d) for the explicit engine, (n, k + n + M) for the reduced one. Target (issue 9):
a step within 1.3 times the floor.

Figures, for each engine and network (binary, M = 2m = 10; multi-class, M = k h = 10):

* ``span step (steady)``: the per-step cost of the span path once the Gram matrix exists,
  ``(T(steps) - T(0)) / steps`` of :func:`featavg.simulate._span.span_descent` with ``G`` given;
* ``gram setup``: ``G = X X^T`` alone;
* ``GD per step, amortised``: ``gradient_descent(..., method="auto")`` over the default 100
  steps, divided by 100 (Gram matrix and the final ``W = W_0 + C X`` included): the figure a
  run pays;
* ``primal step``: the primal path (two passes), for comparison.

Run: ``python benchmarks/bench_engines.py [--reps 5] [--steps 100]``
"""

import argparse

from _timing import header, median_time, one_pass, row

from featavg.simulate import Config, gradient_descent, make_network
from featavg.simulate._engine import engine_for
from featavg.simulate._span import choose_method, gram, span_descent

TARGET = 1.3


def measure(reps=5, steps=100, out=print):
    cfg0 = Config(steps=steps)
    out(header(f"GD step vs two-pass floor: k={cfg0.k} d={cfg0.d} n={cfg0.n} m={cfg0.m} h={cfg0.h} "
               f"eta={cfg0.eta} steps={steps}", reps))
    results = {}
    for engine in ("explicit", "reduced"):
        cfg, eng = engine_for(Config(steps=steps, engine=engine))
        a = eng.sample().as_dict()
        X = eng.training_inputs(a["train"])
        dense = a["train"].X
        floor = 2 * one_pass(dense, reps)
        out(f" {engine} engine: X_train {dense.shape[0]} x {dense.shape[1]} "
            f"({dense.nbytes / 2**20:.1f} MiB), GD on {type(X).__name__}")
        out(row("floor: two passes over X_train", floor * 1e3, "ms"))
        G = gram(X)
        t_gram = median_time(lambda: gram(X), reps)
        out(row("gram setup G = X X^T (once per run)", t_gram * 1e3, "ms", "floor", floor * 1e3))
        for supervision in ("binary", "cluster"):
            c = Config(steps=steps, engine=engine, supervision=supervision)
            net = make_network(supervision, a["W_init"], a["b_init"], c.h)
            target = a["train"].y if supervision == "binary" else a["train"].clusters

            def span(T):
                return lambda: span_descent(net.loss_and_D, net.W, net.b, X, target, c.eta, T, G=G)

            steady = (median_time(span(steps), reps) - median_time(span(0), reps)) / steps
            auto = median_time(lambda: gradient_descent(net, X, target, c.eta, steps), reps) / steps
            short = max(steps // 10, 1)
            primal = median_time(lambda: gradient_descent(net, X, target, c.eta, short, method="primal"),
                                 reps) / short
            chosen = choose_method(net, X, steps)
            out(f"  -- {supervision} network (M = {c.neurons}); auto chooses {chosen}")
            out(row("span step (steady state)", steady * 1e3, "ms", "floor", floor * 1e3, TARGET))
            out(row(f"GD per step, amortised over {steps} (auto)", auto * 1e3, "ms", "floor", floor * 1e3, TARGET))
            out(row("primal step (two passes, reference)", primal * 1e3, "ms", "floor", floor * 1e3))
            results[(engine, supervision)] = {"floor": floor, "steady": steady, "amortised": auto,
                                              "primal": primal, "gram": t_gram, "method": chosen}
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=Config().steps)
    args = ap.parse_args(argv)
    measure(args.reps, args.steps)


if __name__ == "__main__":
    main()
