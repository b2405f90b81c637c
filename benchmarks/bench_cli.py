"""The main commands' wall times, each in fresh processes, with the ratios measured in the same run.

* ``featavg claims --json``: every claim built and every derivation step machine-checked (issue 15
  asked for it within 60 s);
* ``featavg verify --quick`` and ``featavg verify`` with ``--workers 1`` (every check in one process)
  and with one process per core (the default), and the ratio of the two (issue 14 asked for
  ``--quick`` within 60 s and the full run within 180 s on the 2-core machine).

Every figure is the median of ``--reps`` fresh processes after one warm-up (the warm-up fills the
OS file cache with the imports).

Run: ``python benchmarks/bench_cli.py [--reps 3] [--skip-full]``
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import header, row  # noqa: E402


def fresh_seconds(argv, reps):
    """Median wall time of ``reps`` fresh ``featavg`` processes running ``argv``, after one warm-up."""
    cmd = [sys.executable, "-m", "featavg", *argv]
    times = []
    for i in range(reps + 1):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        if i:
            times.append(time.perf_counter() - start)
    times.sort()
    mid = len(times) // 2
    return times[mid] if len(times) % 2 else 0.5 * (times[mid - 1] + times[mid])


def measure(reps, full=True, out=print):
    out(header("featavg claims / verify: wall time of fresh processes", reps))
    cores = os.cpu_count() or 1
    result = {"claims_json": fresh_seconds(["claims", "--json"], reps)}
    out(row("featavg claims --json", result["claims_json"], "s"))
    for mode, extra in (("quick", ["--quick"]), ("full", [])) if full else (("quick", ["--quick"]),):
        one = fresh_seconds(["verify", *extra, "--json", "--workers", "1"], reps)
        many = fresh_seconds(["verify", *extra, "--json"], reps)
        result[mode] = {"workers_1": one, f"workers_{cores}": many}
        out(row(f"featavg verify {' '.join(extra)} --workers 1", one, "s"))
        out(row(f"featavg verify {' '.join(extra)} ({cores} workers)", many, "s", "--workers 1", one))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-full", action="store_true", help="only claims --json and verify --quick")
    args = ap.parse_args(argv)
    if args.reps < 1:
        ap.error(f"--reps {args.reps}: expected an integer >= 1")
    measure(args.reps, full=not args.skip_full)


if __name__ == "__main__":
    main()
