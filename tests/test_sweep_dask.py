"""``featavg sweep --dask``: the same grid on a real ``dask.distributed.LocalCluster`` (two worker
processes on loopback) gives the same table as the local process pool."""

import subprocess
import sys

import pytest

from featavg._sweep import read_table
from featavg.cli import main
from test_sweep import SMALL_GRID  # tests/ is on sys.path (rootdir-relative import mode)

distributed = pytest.importorskip("distributed")

GRID = SMALL_GRID  # the 12-run grid of test_sweep.py: the two executors must give one table
TIMES = ("seconds", "wall_time")


def strip_times(rows):
    return [{k: v for k, v in r.items() if k not in TIMES} for r in rows]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


def test_dask_local_cluster_gives_the_process_pool_table(tmp_path, cluster):
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    # the client runs in a fresh process, as a user's would; the cluster in this one
    res = subprocess.run([sys.executable, "-m", "featavg.cli", "sweep", str(grid), "--out",
                          str(tmp_path / "dask"), "--dask", cluster.scheduler_address, "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert main(["sweep", str(grid), "--out", str(tmp_path / "local"), "--workers", "2", "--quiet"]) == 0
    on_dask, local = read_table(tmp_path / "dask"), read_table(tmp_path / "local")
    assert len(on_dask) == 12
    assert strip_times(on_dask) == strip_times(local)
