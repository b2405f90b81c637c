"""Wall time of a 24-run ``featavg sweep`` grid on 1 worker against 2 workers, and their ratio.

Both sweeps run in this process, one after the other, through the same code path as the CLI
(``featavg._sweep.sweep`` on a local process pool, pool start-up included). The runs are
independent, so the ideal ratio is ``min(2, cores)``; below it are pool start-up, the serial
writes of the table (one ``fsync`` per row) and other load on the machine; the last line measures
that ceiling (a pure-Python busy loop on 1 and 2 processes), so a low ratio on a busy machine
can be told from a slow sweep. BLAS is pinned to one
thread per process (``--blas-threads``) so that the 1-worker sweep does not already use two cores.

Run: ``python benchmarks/bench_sweep.py [--d 400] [--steps 600] [--blas-threads 1]``
"""

import argparse
import concurrent.futures
import os
import sys
import tempfile
import time


def _spin(n):
    """Pure-Python busy loop: a CPU-bound unit with no BLAS, no I/O."""
    acc = 0
    for i in range(n):
        acc += i * i
    return acc


def machine_ratio(units=8, n=3_000_000):
    """The speed-up 2 processes get over 1 on this machine right now (other load included)."""
    times = {}
    for workers in (1, 2):
        with concurrent.futures.ProcessPoolExecutor(workers) as ex:
            list(ex.map(_spin, [1000] * workers))  # start the workers outside the timing
            start = time.perf_counter()
            list(ex.map(_spin, [n] * units))
            times[workers] = time.perf_counter() - start
    return times[1] / times[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=400, help="dimension (and n) of each run")
    ap.add_argument("--steps", type=int, default=600, help="GD steps of each run")
    ap.add_argument("--blas-threads", default="1", help="BLAS threads per process ('' leaves them)")
    args = ap.parse_args()
    if args.blas_threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = args.blas_threads  # before NumPy loads, here and in the workers
    from featavg._sweep import make_executor, parse_grid, sweep

    grid = parse_grid({"seeds": 4, "grid": {"k": [2, 3, 4], "eta": [0.5, 0.05], "d": [args.d],
                                            "n": [args.d], "n_test": [50], "steps": [args.steps]}})
    assert grid.size == 24
    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            with make_executor(workers) as executor:
                rows, stats = sweep(grid, out, executor=executor)
            times[workers] = time.perf_counter() - start
            assert stats["failed"] == 0 and len(rows) == 24
            per_run = sum(r["wall_time"] for r in rows) / len(rows)
        print(f"workers={workers}: {times[workers]:.2f} s for 24 runs ({per_run:.3f} s per run inside a worker)")
    print(f"speed-up 2 vs 1 workers: {times[1] / times[2]:.2f}x (ideal {min(2, os.cpu_count())}x; "
          f"{os.cpu_count()} cores, python {sys.version.split()[0]})")
    print(f"machine ceiling now (pure-Python busy loop, 2 vs 1 processes): {machine_ratio():.2f}x")


if __name__ == "__main__":
    main()
