"""Throughput of the exact L2 radius solver (docs/science.md §5) on the paper's default setting.

Run: ``python benchmarks/bench_robustness.py [--points N] [--supervision binary|cluster]
[--readout argmax|sum] [--d D]``. Trains one network with the default config (k=10, d=3072,
n=1000, m=5), then times :func:`featavg.simulate._robust.exact_radii` on the first N test points
and prints points/second, QPs/second and the median radius. Wall-clock numbers depend on the
machine; the number of QPs per point does not (2^m for the binary net and the ``sum`` readout,
|J_-y| 2^h for ``argmax``).

:func:`measure` (used by ``run_all.py``) times the old enumerator (``method="enumerate-clarabel"``)
and its QP solves alone, as the baseline: the time spent inside Clarabel (``DefaultSolver``
construction, where it sets up and factors the KKT system, and ``solve``), summed over every QP
of the timed call; the ratio total / Clarabel is the overhead of everything else (span basis,
building each QP, checking each answer). It also times the default certified path
(``method="auto"``, :mod:`featavg.simulate._certify`) on the same points; the issue-17 targets
at every width are measured by ``bench_certified.py``.
"""

import argparse
import json
import sys
import time
import types

import numpy as np

from featavg.simulate import run_simulation
from featavg.simulate._robust import exact_radii


class _ClarabelTimer:
    """A stand-in ``clarabel`` module whose ``DefaultSolver`` adds its own time to ``seconds``."""

    def __init__(self, clarabel):
        self.seconds = 0.0
        timer = self

        class DefaultSolver:
            def __init__(self, *args):
                start = time.perf_counter()
                self._solver = clarabel.DefaultSolver(*args)
                timer.seconds += time.perf_counter() - start

            def solve(self):
                start = time.perf_counter()
                out = self._solver.solve()
                timer.seconds += time.perf_counter() - start
                return out

        self.module = types.SimpleNamespace(DefaultSolver=DefaultSolver, DefaultSettings=clarabel.DefaultSettings,
                                            NonnegativeConeT=clarabel.NonnegativeConeT)


def measure(reps=5, points=40, supervision="binary", readout="argmax", out=print):
    """Points/second of ``exact_radii`` (median of ``reps`` after a warm-up) and of its QP solves alone."""
    import statistics

    import clarabel
    from _timing import header, row

    run = run_simulation(n_test=points, supervision=supervision, readout=readout)
    X, y = run.test.X, run.test.y
    totals, solves = [], []
    timer = _ClarabelTimer(clarabel)
    sys.modules["clarabel"] = timer.module
    try:
        for i in range(reps + 1):
            timer.seconds = 0.0
            t0 = time.perf_counter()
            res = exact_radii(run.network, X, y, run.cluster_labels, readout, method="enumerate-clarabel")
            if i:  # the first is the warm-up
                totals.append(time.perf_counter() - t0)
                solves.append(timer.seconds)
    finally:
        sys.modules["clarabel"] = clarabel
    total, solve = statistics.median(totals), statistics.median(solves)
    qps = sum(r.subproblems for r in res)
    certified = []
    for i in range(reps + 1):
        t0 = time.perf_counter()
        new = exact_radii(run.network, X, y, run.cluster_labels, readout)
        if i:
            certified.append(time.perf_counter() - t0)
    cert = statistics.median(certified)
    out(header(f"exact L2 radius: {supervision} network ({readout if supervision == 'cluster' else 'binary'} "
               f"score), default setting, {points} test points, {qps / points:.0f} QPs per point", reps))
    out(row("exact radius, points per second", points / total, "pts/s", "QPs alone", points / solve))
    out(row("exact radius, seconds per point", total / points * 1e3, "ms", "QPs alone", solve / points * 1e3))
    out(row("certified radius (auto), points per second", points / cert, "pts/s", "old enumerator",
            points / total))
    return {"points_per_second": points / total, "qp_only_points_per_second": points / solve,
            "certified_points_per_second": points / cert,
            "all_verified": all(r.verified for r in res) and all(r.verified for r in new)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=100)
    p.add_argument("--supervision", choices=("binary", "cluster"), default="binary")
    p.add_argument("--readout", choices=("argmax", "sum"), default="argmax")
    p.add_argument("--d", type=int, default=3072)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--method", default="auto", help="exact-radius method (auto, enumerate, bnb, enumerate-clarabel)")
    args = p.parse_args(argv)
    run = run_simulation(d=args.d, n_test=args.points, supervision=args.supervision,
                         readout=args.readout, seed=args.seed)
    X, y = run.test.X, run.test.y
    t0 = time.perf_counter()
    res = exact_radii(run.network, X, y, run.cluster_labels, args.readout, method=args.method)
    dt = time.perf_counter() - t0
    qps = sum(r.subproblems for r in res)
    out = {
        "supervision": args.supervision,
        "readout": args.readout if args.supervision == "cluster" else None,
        "d": args.d, "points": args.points, "seed": args.seed, "method": args.method,
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
