"""Benchmark of the reduced engine (docs/science.md §4): cost independent of d, and cheaper than explicit.

Measures, at the defaults (k=10, n=1000, m=5, n_test=1000, steps=100; eta = 1e-3 * 3072/d and
init_scale = 1e-5 * 3072/d, the paper's values at d = 3072, so every d trains like the paper's setting):

1. ``engine="reduced"`` at d = 1e4, 1e6, 1e9: wall time of a whole run (sampling + GD), GD time,
   peak traced memory (tracemalloc, in a separate untimed run); ratios to d = 1e4.
   Target: d = 1e6 and 1e9 within 1.5x the time of d = 1e4.
2. GD time per step of both engines at d = 3072 (reduced dimension D = k + n + M = 1020).
   Target: reduced at most 1/3 of explicit.

Times are the minimum over ``--repeats`` runs, interleaved across the configurations compared so
that a shared machine's load falls on all of them alike (the minimum is the least disturbed
measurement). Item 2 is also measured step by step: ``--step-samples`` single GD steps
(``loss_and_grad`` and the update) of each engine, alternating, with their minimum and median.
Usage::

    python benchmarks/bench_reduced.py [--repeats 3] [--json]
"""

import argparse
import json
import statistics
import sys
import time
import tracemalloc

from featavg.simulate import Config, ReducedInputs, reduced_dimension, run_simulation

DIMENSIONS = (10**4, 10**6, 10**9)
PAPER_D = 3072


def _timed(cfgs, repeats):
    """Minimum wall time of whole runs and of their GD, over ``repeats`` interleaved rounds."""
    wall = {c: [] for c in cfgs}
    gd = {c: [] for c in cfgs}
    runs = {}
    for _ in range(repeats):
        for cfg in cfgs:
            start = time.perf_counter()
            runs[cfg] = run_simulation(cfg)
            wall[cfg].append(time.perf_counter() - start)
            gd[cfg].append(runs[cfg].seconds)
    return {c: (min(wall[c]), min(gd[c]), runs[c]) for c in cfgs}


def _step_times(cfgs, samples):
    """Single-step GD times (s) of each config's network on its training data, alternating."""
    nets = {}
    for cfg in cfgs:
        run = run_simulation(cfg, steps=0)
        target = run.train.y if cfg.supervision == "binary" else run.train.clusters
        X = run.train.X if cfg.engine == "explicit" else ReducedInputs.from_dense(run.train.X, cfg.k)
        nets[cfg] = (run.network, X, target)
    times = {c: [] for c in cfgs}
    for _ in range(samples):
        for cfg, (net, X, target) in nets.items():
            start = time.perf_counter()
            _, gW, gb = net.loss_and_grad(X, target)
            net.W -= cfg.eta * gW
            net.b -= cfg.eta * gb
            times[cfg].append(time.perf_counter() - start)
    return {c: (min(t), statistics.median(t)) for c, t in times.items()}


def _peak_memory(cfg):
    """Peak memory traced by tracemalloc during one run, in MB (NumPy reports its buffers)."""
    tracemalloc.start()
    try:
        run_simulation(cfg)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=Config().steps)
    parser.add_argument("--step-samples", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    base = Config(steps=args.steps)
    D = reduced_dimension(base.k, base.n, base.neurons)
    out = {"k": base.k, "n": base.n, "m": base.m, "steps": base.steps, "D": D, "repeats": args.repeats,
           "reduced_by_d": {}, "paper_d": {}}

    sweep = [Config(steps=args.steps, d=d, engine="reduced") for d in DIMENSIONS]
    for cfg, (wall, gd, run) in _timed(sweep, args.repeats).items():
        out["reduced_by_d"][cfg.d] = {"wall_s": wall, "gd_s": gd, "peak_mb": _peak_memory(cfg),
                                      "final_loss": run.final_loss}
    ref = out["reduced_by_d"][DIMENSIONS[0]]
    for d, row in out["reduced_by_d"].items():
        row["wall_ratio_to_1e4"] = row["wall_s"] / ref["wall_s"]
        row["gd_ratio_to_1e4"] = row["gd_s"] / ref["gd_s"]

    pair = [Config(steps=args.steps, d=PAPER_D, engine=e) for e in ("explicit", "reduced")]
    steps = _step_times(pair, args.step_samples)
    for cfg, (wall, gd, _) in _timed(pair, args.repeats).items():
        out["paper_d"][cfg.engine] = {"wall_s": wall, "gd_s_per_step": gd / max(cfg.steps, 1),
                                      "single_step_min_s": steps[cfg][0],
                                      "single_step_median_s": steps[cfg][1],
                                      "peak_mb": _peak_memory(cfg)}
    p = out["paper_d"]
    p["step_ratio_reduced_to_explicit"] = p["reduced"]["gd_s_per_step"] / p["explicit"]["gd_s_per_step"]
    p["single_step_ratio_min"] = p["reduced"]["single_step_min_s"] / p["explicit"]["single_step_min_s"]
    p["single_step_ratio_median"] = (p["reduced"]["single_step_median_s"]
                                     / p["explicit"]["single_step_median_s"])
    out["targets_met"] = {
        "d_1e6_and_1e9_within_1.5x_of_1e4": all(
            out["reduced_by_d"][d]["wall_ratio_to_1e4"] <= 1.5 for d in DIMENSIONS[1:]),
        "reduced_step_at_most_1/3_of_explicit_at_3072": out["paper_d"]["step_ratio_reduced_to_explicit"] <= 1 / 3,
    }

    if args.json:
        json.dump(out, sys.stdout, indent=2, default=str)
        print()
        return 0
    print(f"reduced engine, k={base.k} n={base.n} m={base.m} steps={base.steps} (D = {D}), "
          f"min of {args.repeats} runs")
    print(f"{'d':>12} {'wall s':>8} {'GD s':>8} {'peak MB':>8} {'wall/1e4':>9} {'GD/1e4':>7}")
    for d, row in out["reduced_by_d"].items():
        print(f"{d:>12.0e} {row['wall_s']:8.3f} {row['gd_s']:8.3f} {row['peak_mb']:8.1f} "
              f"{row['wall_ratio_to_1e4']:9.2f} {row['gd_ratio_to_1e4']:7.2f}")
    print(f"d = {PAPER_D}: single step min/median: explicit {1e3 * p['explicit']['single_step_min_s']:.2f}/"
          f"{1e3 * p['explicit']['single_step_median_s']:.2f} ms, reduced {1e3 * p['reduced']['single_step_min_s']:.2f}/"
          f"{1e3 * p['reduced']['single_step_median_s']:.2f} ms; ratios {p['single_step_ratio_min']:.3f} (min), "
          f"{p['single_step_ratio_median']:.3f} (median)")
    print(f"d = {PAPER_D}: GD per step explicit {1e3 * p['explicit']['gd_s_per_step']:.3f} ms "
          f"(peak {p['explicit']['peak_mb']:.0f} MB), reduced {1e3 * p['reduced']['gd_s_per_step']:.3f} ms "
          f"(peak {p['reduced']['peak_mb']:.0f} MB); ratio {p['step_ratio_reduced_to_explicit']:.3f} "
          f"(D/d = {D / PAPER_D:.3f})")
    for name, ok in out["targets_met"].items():
        print(f"  target {name}: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
