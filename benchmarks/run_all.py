"""Every benchmark of issue 9 in one run: each figure with its floor or baseline and the ratio.

1. ``bench_engines``: time per GD step of the explicit and reduced engines (both networks) against
   the two-pass memory floor measured in the same run; steady state and amortised over the
   default 100 steps (Gram setup included). Target: ratio <= 1.3.
2. ``bench_replicas``: R = 16 replicas on shared data against one run (target: ratio <= 4) and
   against the loop of 16 single runs; at the paper's default and at the property-test scale.
3. ``bench_robustness``: exact-radius points per second against the QP solves alone (the time
   spent inside Clarabel).
4. ``featavg verify``: total wall time (a fresh process each time) against the sum of its
   irreducible parts, each also timed in a fresh process: building the SymPy claim registry
   (import included) and the two paper-setting runs (``VerifyContext().binary_run`` and
   ``.cluster_run``, reduced engine) that its checks share. No target; the ratio says how much of
   ``verify`` is the rest (symbolic steps, rate sweeps, exact radii).

Every figure is the median of ``--reps`` (>= 5 by default) repetitions after a warm-up.

Run: ``python benchmarks/run_all.py [--reps 5] [--verify-reps 5] [--skip-verify]``
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _timing import header, row

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engines  # noqa: E402
import bench_replicas  # noqa: E402
import bench_robustness  # noqa: E402

REGISTRY = "from featavg.theory import all_claims; all_claims()"
PAPER_RUNS = ("from featavg._verify import VerifyContext; c = VerifyContext(); c.binary_run; c.cluster_run")


def _fresh_process_seconds(args, reps):
    """Median wall time of ``reps`` fresh processes running ``args``, after one warm-up."""
    times = []
    for i in range(reps + 1):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i:
            times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] if len(times) % 2 else sum(times[len(times) // 2 - 1:len(times) // 2 + 1]) / 2


def verify_figures(reps, out=print):
    out(header("featavg verify: total time vs its irreducible parts (fresh processes)", reps))
    py = sys.executable
    total = _fresh_process_seconds([py, "-c", "import sys; from featavg.cli import main; sys.exit(main(['verify']))"],
                                   reps)
    registry = _fresh_process_seconds([py, "-c", REGISTRY], reps)
    runs = _fresh_process_seconds([py, "-c", PAPER_RUNS], reps)
    out(row("SymPy claim registry (import + build)", registry, "s"))
    out(row("the two paper-setting runs (import + GD)", runs, "s"))
    out(row("featavg verify total", total, "s", "parts sum", registry + runs))
    return {"total": total, "registry": registry, "paper_runs": runs}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--verify-reps", type=int, default=5)
    ap.add_argument("--replicas", type=int, default=16)
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--skip-verify", action="store_true")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    eng = bench_engines.measure(args.reps)
    print()
    rep = bench_replicas.measure(args.reps, args.replicas)
    print()
    rob = bench_robustness.measure(args.reps, args.points)
    print()
    ver = None if args.skip_verify else verify_figures(args.verify_reps)
    print()
    print(f"== summary (issue 9 targets); benchmarks took {time.perf_counter() - start:.0f} s ==")
    for (engine, sup), r in eng.items():
        for kind in ("steady", "amortised"):
            ratio = r[kind] / r["floor"]
            print(f"  {engine:8} {sup:7} step {kind:9} / two-pass floor = {ratio:6.2f}  "
                  f"(<= {bench_engines.TARGET}: {'met' if ratio <= bench_engines.TARGET else 'NOT met'})")
    for name, r in rep.items():
        ratio = r["stacked"] / r["one"]
        print(f"  {args.replicas} replicas / one run, {name:40} = {ratio:6.2f}  "
              f"(<= {bench_replicas.TARGET:g}: {'met' if ratio <= bench_replicas.TARGET else 'NOT met'}); "
              f"/ loop = {r['stacked'] / r['loop']:.2f}")
    print(f"  exact radius (old enumerator): {rob['points_per_second']:.1f} points/s; QPs alone "
          f"{rob['qp_only_points_per_second']:.1f} points/s; ratio (time) "
          f"{rob['qp_only_points_per_second'] / rob['points_per_second']:.2f}; certified (auto) "
          f"{rob['certified_points_per_second']:.1f} points/s; all verified: {rob['all_verified']}")
    if ver:
        print(f"  featavg verify: {ver['total']:.1f} s; parts {ver['registry'] + ver['paper_runs']:.1f} s; "
              f"ratio {ver['total'] / (ver['registry'] + ver['paper_runs']):.2f}")


if __name__ == "__main__":
    main()
