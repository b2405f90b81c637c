"""``featavg robustness`` on a saved run: JSON keys, consistency, and usage errors (exit 2)."""

import json

import numpy as np
import pytest

from featavg.cli import main
from featavg.simulate import run_simulation, save_run


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    paths = {}
    for sup in ("binary", "cluster"):
        run = run_simulation(k=4, d=40, n=60, n_test=8, m=2, steps=60, eta=0.05, init_scale=1e-5, seed=1,
                             supervision=sup)  # init 1e-5: the constant default these tests were written with
        paths[sup] = str(d / f"{sup}.npz")
        save_run(paths[sup], run)
    return paths


@pytest.mark.parametrize("sup,readout", [("binary", None), ("cluster", "argmax"), ("cluster", "sum")])
def test_json_output_has_radii_medians_predictions_and_curves(run_files, capsys, sup, readout):
    argv = ["robustness", run_files[sup], "--points", "5", "--json", "--pgd-steps", "10"]
    if readout:
        argv += ["--readout", readout]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    for key in ("exact", "averaged_direction", "pgd"):
        assert len(s["radii"][key]) == 5
        # same numbers through JSON: only float printing round-off (repr is exact), default 1e-6
        assert s["median"][key] == pytest.approx(float(np.median(s["radii"][key])))
    assert set(s["predicted"]) == {"sqrt_d_over_k", "sqrt_d_over_1_plus_K", "sqrt_d_over_1_plus_K_minus", "sqrt_d_over_2"}
    # closed form of the claim's lambdified sqrt(d/2) at d = 40; float64 agreement, default rel 1e-6
    assert s["predicted"]["sqrt_d_over_2"] == pytest.approx(np.sqrt(20.0))
    ra = s["robust_accuracy"]
    assert len(ra["radius"]) == len(ra["exact"]) == len(ra["optimal"])
    assert ra["radius"][0] == 0.0
    # exact <= attack pointwise (solver error 1e-10; 1e-8 relative margin), so the curves order
    e = np.array(s["radii"]["exact"])
    assert np.all(np.array(s["radii"]["pgd"]) >= e * (1 - 1e-8))
    assert np.all(np.array(ra["pgd"]) >= np.array(ra["exact"]))
    assert s["readout"] == readout


@pytest.mark.parametrize("norm", ["2", "inf"])
def test_json_carries_brackets_verified_and_gaps(run_files, capsys, norm):
    argv = ["robustness", run_files["binary"], "--points", "4", "--json", "--pgd-steps", "5", "--norm", norm]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    b = s["exact_bracket"]
    assert s["norm"] == norm and len(b["lower"]) == len(b["gap"]) == len(b["verified"]) == 4
    # the bracket contains the reported radius; each gap is (upper - lower)/upper as documented
    for lo, up, g in zip(b["lower"], b["upper"], b["gap"]):
        assert lo <= up and g == pytest.approx((up - lo) / up if up > 0 else 0.0, abs=1e-15)
    assert s["verified"] == sum(b["verified"]) == 4 and s["max_gap"] <= 1e-6
    assert s["status_counts"] == {"solved": 4, "budget": 0, "failed": 0}
    # exact <= PGD in either norm (certified to 1e-6; 1e-8 margin on the solver's round-off)
    assert np.all(np.array(s["radii"]["pgd"]) >= np.array(s["radii"]["exact"]) * (1 - 1e-8))
    if norm == "inf":
        assert s["predicted"] is None and s["robust_accuracy"]["optimal"] is None


def test_linf_refuses_a_reduced_engine_run(tmp_path, capsys):
    run = run_simulation(k=4, d=200, n=20, n_test=4, m=2, steps=5, eta=0.05, init_scale=1e-5, seed=1, engine="reduced")
    assert run.config.engine == "reduced"
    path = str(tmp_path / "reduced.npz")
    save_run(path, run)
    assert main(["robustness", path, "--points", "2", "--norm", "inf"]) == 2
    err = capsys.readouterr().err
    assert "norm" in err and "reduced" in err


def test_sweep_table_has_the_certificate_columns():
    from featavg._sweep import run_task

    row = run_task((0, dict(k=2, d=20, n=20, n_test=10, m=1, steps=5, eta=0.5, init_scale=0.1)),
                   {"exact_radius_points": 4})
    assert row["status"] == "ok", row["error"]
    assert row["exact_radius_verified"] + row["radius_unverified"] == 4
    assert 0.0 <= row["exact_radius_max_gap"] <= 1e-6


def test_text_summary(run_files, capsys):
    assert main(["robustness", run_files["binary"], "--points", "3", "--pgd-steps", "5"]) == 0
    assert "median radius" in capsys.readouterr().out


def _exit_code(argv):
    """``main``'s return value, or argparse's ``SystemExit`` code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("argv", [
    pytest.param(["--points", "0"], id="zero-points"),
    pytest.param(["--points", "9"], id="more-points-than-the-run"),
    pytest.param(["--readout", "mean"], id="unknown-readout"),
    pytest.param(["--norm", "1"], id="unknown-norm"),
    pytest.param(["--gap", "-1"], id="negative-gap"),
    pytest.param(["--time-budget", "0"], id="zero-budget"),
])
def test_bad_arguments_exit_2(run_files, capsys, argv):
    assert _exit_code(["robustness", run_files["binary"], *argv]) == 2
    assert capsys.readouterr().err


def test_missing_run_file_exits_2(tmp_path, capsys):
    assert main(["robustness", str(tmp_path / "nope.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
