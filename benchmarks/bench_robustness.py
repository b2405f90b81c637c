"""Throughput of the exact L2 radius solver (SPEC §5) on the paper's default setting.

Run: ``python benchmarks/bench_robustness.py [--points N] [--supervision binary|cluster]
[--readout argmax|sum] [--d D]``. Trains one network with the default config (k=10, d=3072,
n=1000, m=5), then times :func:`featavg.simulate._robust.exact_radii` on the first N test points
and prints points/second, QPs/second and the median radius. Wall-clock numbers depend on the
machine; the number of QPs per point does not (2^m for the binary net and the ``sum`` readout,
|J_-y| 2^h for ``argmax``).
"""

import argparse
import json
import time

import numpy as np

from featavg.simulate import run_simulation
from featavg.simulate._robust import exact_radii


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100)
    p.add_argument("--supervision", choices=("binary", "cluster"), default="binary")
    p.add_argument("--readout", choices=("argmax", "sum"), default="argmax")
    p.add_argument("--d", type=int, default=3072)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    run = run_simulation(d=args.d, n_test=args.points, supervision=args.supervision,
                         readout=args.readout, seed=args.seed)
    X, y = run.test.X, run.test.y
    t0 = time.perf_counter()
    res = exact_radii(run.network, X, y, run.cluster_labels, args.readout)
    dt = time.perf_counter() - t0
    qps = sum(r.subproblems for r in res)
    out = {
        "supervision": args.supervision,
        "readout": args.readout if args.supervision == "cluster" else None,
        "d": args.d, "points": args.points, "seed": args.seed,
        "seconds": dt,
        "points_per_second": args.points / dt,
        "qps_per_second": qps / dt,
        "qps_per_point": qps / args.points,
        "median_radius": float(np.median([r.radius for r in res])),
        "all_verified": all(r.verified for r in res),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
