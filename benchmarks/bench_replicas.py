"""R replicas on shared data in one stacked pass, against one run and against a loop of R single runs.

Issue 9: ``R = 16`` replicas on shared data must cost at most 4 times one run. Three timings per
setting, each the median of ``--reps`` after a warm-up, whole calls (sampling of the shared data,
the R initialisations, GD; no metrics):

* ``one run``: ``run_simulation(config)``;
* ``R stacked``: ``run_replicas(config, seeds)`` (one Gram matrix, one product per step for all);
* ``loop of R``: ``run_replicas(config, seeds, method="loop")``: R single runs on the same data.

The GD part alone (``Run.seconds``, without sampling) is printed too: the stacked pass against one
run's GD.

Settings: the paper's default (k=10, d=3072, n=1000, m=5, explicit engine, 100 steps), and the
property-test scale (``tests/test_properties.py``: reduced engine, k=6, n=200, m=2, d=1e5, 300
steps, both networks).

Run: ``python benchmarks/bench_replicas.py [--reps 5] [--replicas 16]``
"""

import argparse
import math
import statistics

from _timing import header, median_time, row

from featavg.simulate import Config, run_replicas, run_simulation

TARGET = 4.0


def settings():
    d = 100_000
    prop = dict(k=6, positive=3, m=2, h=1, n=200, d=d, n_test=60, eta=30.72 / d,
                init_scale=1e-5 * math.sqrt(3072 / d), steps=300, engine="reduced")
    return {
        "paper default, explicit, binary": Config(),
        "paper default, reduced, binary": Config(engine="reduced"),
        "property-test scale, reduced, binary": Config(**prop),
        "property-test scale, reduced, cluster": Config(**prop, supervision="cluster"),
    }


def measure(reps=5, R=16, out=print):
    out(header(f"replicas: R = {R} on shared data vs one run and vs a loop of {R} single runs", reps))
    results = {}
    for name, cfg in settings().items():
        seeds = list(range(cfg.seed, cfg.seed + R))
        gd = {"one": [], "stacked": []}
        one = median_time(lambda: gd["one"].append(run_simulation(cfg).seconds), reps)
        stacked = median_time(lambda: gd["stacked"].append(R * run_replicas(cfg, seeds)[0].seconds), reps)
        loop = median_time(lambda: run_replicas(cfg, seeds, method="loop"), reps)
        gd_one, gd_stacked = (statistics.median(v[1:]) for v in (gd["one"], gd["stacked"]))
        out(f" {name}: k={cfg.k} d={cfg.d} n={cfg.n} M={cfg.neurons} steps={cfg.steps}")
        out(row(f"{R} stacked replicas (whole call)", stacked, "s", "one run", one, TARGET))
        out(row(f"{R} stacked replicas (whole call)", stacked, "s", f"loop {R}", loop))
        out(row(f"{R} stacked replicas (GD only)", gd_stacked, "s", "one run", gd_one))
        results[name] = {"one": one, "stacked": stacked, "loop": loop, "gd_one": gd_one,
                         "gd_stacked": gd_stacked}
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--replicas", type=int, default=16)
    args = ap.parse_args(argv)
    measure(args.reps, args.replicas)


if __name__ == "__main__":
    main()
