"""Time per GD step of the explicit engine at the paper's default setting, against the memory floor.

A GD step must read ``X_train`` twice (pre-activations ``X W^T`` and the gradient ``D^T X``), so
the floor of a step is two passes over ``X_train``. One pass is timed here, in the same run, as the
faster of ``X.sum(axis=0)`` and ``X @ v`` (one read of the array each). Every figure is the median
of REPS repetitions after a warm-up.

Run: ``python benchmarks/bench_simulate.py [--reps 5] [--steps 50] [--supervision binary]``
"""

import argparse
import statistics
import time

import numpy as np

from featavg.simulate import Config, gradient_descent, init_weights, make_features, make_network
from featavg.simulate import make_partition, sample_mixture


def _median_time(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--supervision", choices=("binary", "cluster"), default="binary")
    args = ap.parse_args()
    cfg = Config(supervision=args.supervision)
    rngs = cfg.rngs()
    F = make_features(cfg.k, cfg.d, rngs["features"])
    labels = make_partition(cfg.k, cfg.positive)
    train = sample_mixture(F, labels, cfg.n, rngs["train"], cfg.sigma)
    W0, b0 = init_weights(cfg.neurons, cfg.d, cfg.init_scale, rngs["init"])
    net = make_network(cfg.supervision, W0, b0, cfg.h)
    target = train.y if cfg.supervision == "binary" else train.clusters
    X = train.X
    v = np.ones(X.shape[1])

    step = _median_time(lambda: gradient_descent(net, X, target, cfg.eta, args.steps), args.reps) / args.steps
    one_pass = min(_median_time(lambda: X.sum(axis=0), args.reps), _median_time(lambda: X @ v, args.reps))
    floor = 2 * one_pass
    print(f"setting: k={cfg.k} d={cfg.d} n={cfg.n} M={cfg.neurons} ({cfg.supervision}), float64, "
          f"X_train {X.nbytes / 2**20:.1f} MiB; median of {args.reps} after a warm-up")
    print(f"one pass over X_train      {one_pass * 1e3:9.3f} ms")
    print(f"floor (two passes)         {floor * 1e3:9.3f} ms")
    print(f"explicit GD step           {step * 1e3:9.3f} ms")
    print(f"ratio step / floor         {step / floor:9.2f}")


if __name__ == "__main__":
    main()
