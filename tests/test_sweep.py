"""``featavg sweep`` / ``featavg scaling``: grid parsing, the table against direct runs, failures,
usage errors, resuming after a torn write, and the power-law fit against its closed form.

The SIGKILL test is in ``test_sweep_resume.py``, the Dask test in ``test_sweep_dask.py``.
"""

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from featavg._cmd_scaling import fit_power_law, scaling_points
from featavg._sweep import CSV_TABLE, TABLE, expand, load_grid, parse_grid, read_table, run_task
from featavg.cli import main
from featavg.simulate import Config, InvalidParameter, run_simulation

#: 12 tiny runs (k = 2, 3; m = 1, 2; three seeds), about 5 ms each
SMALL_GRID = """\
seeds = 3

[grid]
k = [2, 3]
m = [1, 2]
d = [20]
n = [20]
n_test = [20]
steps = [5]
init_scale = [0.1]
eta = [0.5]
"""

#: metrics that must equal a direct run exactly (same code, same machine, same seed)
METRICS = ("train_accuracy", "test_accuracy", "final_loss", "averaging_score", "decoupling_score")
#: columns allowed to differ between two sweeps of the same grid
TIMES = ("seconds", "wall_time")


def write(path, text):
    path.write_text(text)
    return str(path)


def strip_times(rows):
    return [{k: v for k, v in r.items() if k not in TIMES} for r in rows]


def test_grid_expands_in_file_order_with_seed_fastest(tmp_path):
    grid = load_grid(write(tmp_path / "g.toml", SMALL_GRID))
    tasks = expand(grid)
    assert grid.size == len(tasks) == 12
    assert [t[0] for t in tasks] == list(range(12))
    assert [(t[1]["k"], t[1]["m"], t[1]["seed"]) for t in tasks[:4]] == [(2, 1, 0), (2, 1, 1), (2, 1, 2), (2, 2, 0)]
    assert list(tasks[0][1])[-1] == "seed"


def test_sweep_table_equals_direct_sequential_runs(tmp_path, capsys):
    grid = write(tmp_path / "g.toml", SMALL_GRID)
    out = tmp_path / "out"
    assert main(["sweep", grid, "--out", str(out), "--workers", "2"]) == 0
    assert "12 runs" in capsys.readouterr().out
    rows = read_table(out)
    assert [r["task"] for r in rows] == list(range(12))  # one row per run, sorted by task
    for (index, params), row in zip(expand(load_grid(grid)), rows):
        assert row["status"] == "ok" and row["error"] is None
        cfg = Config(**params)
        assert {k: row[k] for k in cfg.to_dict()} == cfg.to_dict()  # every parameter recorded
        s = run_simulation(cfg).summary()  # the independent, sequential, in-process oracle
        for key in METRICS:
            assert row[key] == s[key], (index, key)  # bit-for-bit: the run is deterministic
        assert row["min_cluster_margin"] == min(s["cluster_margins"])
        assert row["version_numpy"] == np.__version__ and row["wall_time"] > 0
    csv_lines = (out / CSV_TABLE).read_text().splitlines()
    assert len(csv_lines) == 13 and csv_lines[0].startswith("task,status,error,")


def test_failing_run_is_recorded_and_sweep_goes_on(tmp_path):
    # eta = 1e308 on cluster supervision overflows the softmax at the first step: NumericalError
    grid = write(tmp_path / "g.toml", """\
seeds = 2
[grid]
k = [2]
d = [20]
n = [20]
n_test = [20]
steps = [5]
supervision = ["cluster"]
eta = [1e308, 0.1]
""")
    out = tmp_path / "out"
    assert main(["sweep", grid, "--out", str(out), "--workers", "2", "--quiet"]) == 0
    rows = read_table(out)
    assert [r["status"] for r in rows] == ["error", "error", "ok", "ok"]
    assert all(r["error"].startswith("NumericalError: gradient descent diverged") for r in rows[:2])
    assert "final_loss" not in rows[0] and math.isfinite(rows[2]["final_loss"])


@pytest.mark.parametrize("text, fragment", [
    pytest.param("[grid]\nk = [2]\nbogus = [1]\n", "'bogus'", id="unknown-grid-key"),
    pytest.param("sweeps = 2\n[grid]\nk = [2]\n", "'sweeps'", id="unknown-top-key"),
    pytest.param("[grid]\nk = [2]\n[measure]\nradius = 1\n", "'radius'", id="unknown-measure"),
    pytest.param("[grid]\nk = []\n", "non-empty list", id="empty-list"),
    pytest.param("seeds = 0\n[grid]\nk = [2]\n", "seeds=0", id="zero-seeds"),
    pytest.param("seeds = 2\n[grid]\nseed = [1]\n", "not both", id="seeds-and-seed"),
    pytest.param("[grid]\nk = [2, 30]\nd = [20]\n", "k=30", id="invalid-config-point"),
    pytest.param("[grid\n", "valid TOML", id="bad-toml"),
])
def test_bad_grid_exits_2_naming_the_key(tmp_path, capsys, text, fragment):
    grid = write(tmp_path / "g.toml", text)
    assert main(["sweep", grid, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert fragment in err
    if "bogus" in text:
        assert "init_scale" in err  # lists the valid keys


def test_unknown_key_lists_valid_ones():
    with pytest.raises(InvalidParameter, match=r"bogus.*keys among .*eta.*init_scale"):
        parse_grid({"grid": {"bogus": [1]}})


def test_existing_table_without_resume_exits_2(tmp_path, capsys):
    grid = write(tmp_path / "g.toml", SMALL_GRID.replace("seeds = 3", "seeds = 1"))
    out = str(tmp_path / "out")
    assert main(["sweep", grid, "--out", out, "--workers", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["sweep", grid, "--out", out, "--workers", "1", "--quiet"]) == 2
    assert "pass --resume" in capsys.readouterr().err
    other = write(tmp_path / "h.toml", SMALL_GRID.replace("seeds = 3", "seeds = 2"))
    assert main(["sweep", other, "--out", out, "--resume", "--quiet"]) == 2
    assert "same grid" in capsys.readouterr().err


def test_resume_after_torn_last_line_gives_the_uninterrupted_table(tmp_path):
    grid = write(tmp_path / "g.toml", SMALL_GRID)
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["sweep", grid, "--out", str(full), "--workers", "2", "--quiet"]) == 0
    lines = (full / TABLE).read_bytes().splitlines(keepends=True)
    # what a writer killed mid-append leaves: complete rows 0, 2, 5 (any order) + half of row 7
    os.makedirs(part)
    (part / TABLE).write_bytes(lines[5] + lines[0] + lines[2] + lines[7][: len(lines[7]) // 2])
    (part / "grid.json").write_text((full / "grid.json").read_text())
    assert main(["sweep", grid, "--out", str(part), "--workers", "2", "--resume", "--quiet"]) == 0
    resumed = read_table(part)
    assert strip_times(resumed) == strip_times(read_table(full))
    kept = {r["task"]: r["wall_time"] for r in resumed}
    assert [kept[i] for i in (0, 2, 5)] == [json.loads(lines[i])["wall_time"] for i in (0, 2, 5)]


def test_run_warnings_go_into_the_row_not_stderr(capfd, monkeypatch):
    import warnings

    import featavg._sweep as sweep_module

    def noisy(cfg):
        warnings.warn("overflow encountered in multiply", RuntimeWarning)
        warnings.warn("overflow encountered in multiply", RuntimeWarning)  # reported once
        return run_simulation(cfg)

    monkeypatch.setattr(sweep_module, "run_simulation", noisy)
    row = run_task((0, dict(k=2, d=20, n=20, n_test=20, steps=5)))
    assert row["status"] == "ok"
    assert row["warnings"] == "RuntimeWarning: overflow encountered in multiply"
    assert capfd.readouterr().err == ""


def test_measure_exact_radius_columns(tmp_path):
    row = run_task((0, dict(k=2, d=20, n=20, n_test=10, m=1, steps=5, eta=0.5, init_scale=0.1)),
                   {"exact_radius_points": 4})
    assert row["status"] == "ok", row["error"]
    assert row["radius_points"] == 4 and row["radius_min"] <= row["radius_median"]


# --- scaling -----------------------------------------------------------------------------------

def synthetic_rows(x, y, **extra):
    return [{"task": i, "status": "ok", "d": float(a), "averaging_score": float(b), **extra}
            for i, (a, b) in enumerate(zip(x, y))]


def test_scaling_fit_recovers_exact_power_law():
    x = np.array([16, 32, 64, 128, 256, 512.0])
    fit = fit_power_law(x, 3.0 * x ** -0.5)
    # noiseless data: the least-squares line is the law itself, up to round-off in log/exp
    assert fit["slope"] == pytest.approx(-0.5, abs=1e-12)
    assert fit["intercept"] == pytest.approx(math.log(3.0), abs=1e-12)
    assert fit["ci"][1] - fit["ci"][0] < 1e-10 and fit["n"] == 6


def test_scaling_fit_matches_closed_form_ols_with_t_interval():
    rng = np.random.default_rng(0)
    x = np.repeat([10.0, 20, 40, 80, 160], 4)
    y = 2.0 * x ** 0.75 * np.exp(0.05 * rng.standard_normal(x.size))
    fit = fit_power_law(x, y)
    ref = stats.linregress(np.log(x), np.log(y))  # independent OLS implementation
    t = stats.t.ppf(0.975, x.size - 2)
    # same estimator, different arithmetic order: agreement to round-off (1e-12 relative)
    assert fit["slope"] == pytest.approx(ref.slope, rel=1e-12)
    assert fit["intercept"] == pytest.approx(ref.intercept, rel=1e-12)
    assert fit["ci"] == pytest.approx([ref.slope - t * ref.stderr, ref.slope + t * ref.stderr], rel=1e-12)
    assert fit["ci"][0] < 0.75 < fit["ci"][1]  # the true slope; holds for this fixed seed


def test_scaling_medians_per_x_and_filters():
    rows = synthetic_rows([10, 10, 10, 20, 20, 20], [1, 2, 9, 4, 5, 0]) + [
        {"task": 9, "status": "error", "d": 40.0}]
    xs, ys, dropped = scaling_points(rows, "d", "averaging_score")
    assert xs.tolist() == [10, 20] and ys.tolist() == [2, 4.5] and dropped == 2  # y=0 and error row
    xs, ys, _ = scaling_points(rows, "d", "averaging_score", points="all")
    assert xs.size == 5


def test_scaling_cli_json_and_plot(tmp_path, capsys):
    x = np.array([20, 40, 80, 160.0])
    os.makedirs(tmp_path / "s")
    (tmp_path / "s" / TABLE).write_text(
        "".join(json.dumps(r) + "\n" for r in synthetic_rows(x, 0.5 * x ** -1.0)))
    png = tmp_path / "fit.png"
    assert main(["scaling", str(tmp_path / "s"), "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["slope"] == pytest.approx(-1.0, abs=1e-12) and out["n"] == 4
    assert set(out) >= {"slope", "intercept", "ci", "n"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["scaling", str(tmp_path / "s"), "--y", "nope"]) == 2
    assert main(["scaling", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("argv", [["--help"], ["sweep", "--help"], ["scaling", "--help"]],
                         ids=["featavg", "sweep", "scaling"])
def test_help_pages_render(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0 and "usage:" in capsys.readouterr().out
