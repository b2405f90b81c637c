"""A sweep killed with a real SIGKILL and resumed ends with the rows of an uninterrupted sweep.

``featavg sweep`` runs as a subprocess in its own session; when its table holds some rows but not
all, the coordinating process gets ``SIGKILL`` (no handler can run), then the orphaned workers of
its process group are killed too. ``--resume`` must then write exactly the missing rows: the final
table equals an uninterrupted sweep's, value for value except wall times.
"""

import os
import signal
import subprocess
import sys
import time

from featavg._sweep import TABLE, read_table
from featavg.cli import main

#: 24 runs of ~0.1 s each: long enough (~1.5 s on 2 workers) to be killed midway
KILL_GRID = """\
seeds = 4

[grid]
k = [2, 3]
d = [200]
n = [200]
n_test = [50]
m = [2]
steps = [300]
eta = [0.5, 0.05, 0.005]
init_scale = [0.01]
"""
TOTAL = 24
TIMES = ("seconds", "wall_time")


def strip_times(rows):
    return [{k: v for k, v in r.items() if k not in TIMES} for r in rows]


def count_rows(path):
    try:
        with open(path, "rb") as fh:
            return fh.read().count(b"\n")
    except FileNotFoundError:
        return 0


def sigkill_after_rows(args, table, rows=3, deadline_s=60.0, poll_s=0.002):
    """Start ``featavg <args>`` in its own session and SIGKILL it (and its pool) once ``table``
    holds ``rows`` lines; returns the killed process's return code."""
    proc = subprocess.Popen([sys.executable, "-m", "featavg.cli", *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + deadline_s
        while count_rows(table) < rows:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, f"featavg {args[0]} wrote no rows in {deadline_s:.0f} s"
            time.sleep(poll_s)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the pool's workers, orphaned by the kill
        except ProcessLookupError:
            pass
        proc.stderr.close()
    return proc.returncode


def test_sigkill_then_resume_equals_uninterrupted_sweep(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text(KILL_GRID)
    killed, full = tmp_path / "killed", tmp_path / "full"
    table = killed / TABLE
    assert sigkill_after_rows(["sweep", str(grid), "--out", str(killed), "--workers", "2", "--quiet"],
                              table) == -signal.SIGKILL
    before = read_table(killed)
    assert 3 <= len(before) < TOTAL, f"kill came too late: {len(before)} rows"
    assert main(["sweep", str(grid), "--out", str(killed), "--workers", "2", "--resume", "--quiet"]) == 0
    assert main(["sweep", str(grid), "--out", str(full), "--workers", "2", "--quiet"]) == 0
    resumed, reference = read_table(killed), read_table(full)
    assert [r["task"] for r in resumed] == list(range(TOTAL))  # none lost, none twice, sorted
    assert strip_times(resumed) == strip_times(reference)
    # rows written before the kill were kept, not recomputed
    kept = {r["task"]: r["wall_time"] for r in resumed}
    assert all(kept[r["task"]] == r["wall_time"] for r in before)
