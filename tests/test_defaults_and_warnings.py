"""Scale-aware defaults (eta, init_scale scaled with d) and the regime warnings of a run (issue 16)."""

import json

import numpy as np
import pytest

from featavg.cli import main
from featavg.simulate import (PAPER_D, PAPER_ETA, PAPER_INIT_SCALE, Config, exact_radii, run_replicas,
                              run_simulation)

SMALL = dict(k=4, n=100, n_test=5, m=2, engine="reduced", seed=3)


def test_default_eta_and_init_scale_are_the_papers_at_3072_exactly():
    cfg = Config()
    assert cfg.d == PAPER_D and cfg.eta == PAPER_ETA == 1e-3 and cfg.init_scale == PAPER_INIT_SCALE == 1e-5


@pytest.mark.parametrize("d", [100, 3072, 10**6, 10**9])
def test_default_eta_times_d_and_init_times_d_are_fixed(d):
    cfg = Config(d=d, engine="reduced")
    # the products of the paper's setting, 1e-3 * 3072 and 1e-5 * 3072, to float64 round-off
    np.testing.assert_allclose(cfg.eta * d, 3.072, rtol=4e-16)
    np.testing.assert_allclose(cfg.init_scale * d, 0.03072, rtol=4e-16)


def test_explicit_eta_and_init_scale_win_and_the_used_values_are_recorded():
    cfg = Config(d=10**6, eta=1e-3, init_scale=2e-5, engine="reduced")
    assert (cfg.eta, cfg.init_scale) == (1e-3, 2e-5)
    rec = Config(d=10**6, engine="reduced").to_dict()
    assert rec["eta"] == pytest.approx(3.072e-6) and rec["init_scale"] == pytest.approx(3.072e-8)
    assert Config.from_dict(rec) == Config(d=10**6, engine="reduced")


def test_simulate_help_states_the_scaled_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "default 1e-3 * 3072/d" in out and "default 1e-5 * 3072/d" in out


@pytest.mark.slow
@pytest.mark.parametrize("d", [10**6, 10**9])
def test_defaults_average_at_a_million_and_a_billion_dimensions(d, capsys):
    """Done-when of issue 16: averaging score >= 0.99 at the defaults; at 1e6 the median exact radius
    within 5% of sqrt(d/k) (on 200 test points; measured 0.985 on 200 and 0.987 on 1000)."""
    assert main(["simulate", "--engine", "reduced", "--d", str(d), "--n-test", "200", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["averaging_score"] >= 0.99 and s["warnings"] == []
    if d == 10**6:
        run = run_simulation(Config(d=d, n_test=200, engine="reduced"))
        r = np.array([x.radius for x in exact_radii(run.network, run.test.X, run.test.y, run.cluster_labels)])
        assert abs(np.median(r) / np.sqrt(d / 10) - 1) <= 0.05


# ---- warnings ---------------------------------------------------------------------------------

def quantities(run):
    return [w["quantity"] for w in run.warnings]


def test_a_run_inside_the_regime_has_no_warning():
    assert quantities(run_simulation(Config(d=10**6, **SMALL))) == []


def test_the_papers_constant_eta_at_a_million_dimensions_overshoots():
    # eta d = 1000: the first step moves the margins by ~eta d/(2mk) = 60, the loss drops 1e12-fold
    run = run_simulation(Config(d=10**6, eta=1e-3, init_scale=1e-5, **SMALL))
    assert "overshoot" in quantities(run)
    w = next(x for x in run.warnings if x["quantity"] == "overshoot")
    assert "step 0" in w["message"] and "eta*d = 1000" in w["message"] and w["regime"]


def test_a_learning_rate_far_too_small_stalls():
    run = run_simulation(Config(d=3072, eta=1e-6, **SMALL))
    assert quantities(run) == ["loss_stall"]


def test_a_large_init_never_reaches_the_late_phase():
    run = run_simulation(Config(d=3072, init_scale=1.0, **SMALL))
    assert "late_phase" in quantities(run)


def test_a_rising_loss_is_an_oscillation():
    from featavg.simulate import regime_warnings

    run = run_simulation(Config(d=10**6, **SMALL))
    L = run.losses.copy()
    L[50] = L[49] * 1.01  # a rise by 1%, far above INCREASE_RTOL
    w = regime_warnings(run.config, run.network, run.features, run.cluster_labels, run.train, L)
    assert [x["quantity"] for x in w] == ["overshoot"] and "rises" in w[0]["message"]


def test_losses_are_the_loss_of_every_step():
    cfg = Config(d=10**6, history_every=1, **SMALL)
    run = run_simulation(cfg)
    assert run.losses.shape == (cfg.steps + 1,)
    np.testing.assert_array_equal(run.losses, run.history["loss"])
    assert run.losses[-1] == run.final_loss


def test_replicas_carry_the_same_warnings_as_single_runs():
    cfg = Config(d=10**6, eta=1e-3, init_scale=1e-5, **SMALL)
    reps = run_replicas(cfg, [3, 4])
    single = run_simulation(cfg)
    assert quantities(reps[0]) == quantities(single)
    np.testing.assert_allclose(reps[0].losses, single.losses, rtol=1e-9, atol=1e-300)


def test_cli_prints_warnings_and_json_carries_them(capsys):
    argv = ["simulate", "--engine", "reduced", "--d", "1000000", "--eta", "1e-3", "--init-scale", "1e-5",
            "--k", "4", "--n", "100", "--n-test", "5", "--m", "2", "--seed", "3"]
    assert main(argv + ["--json"]) == 0
    cap = capsys.readouterr()
    s = json.loads(cap.out)
    assert "overshoot" in [w["quantity"] for w in s["warnings"]]
    assert all(set(w) == {"quantity", "regime", "message"} for w in s["warnings"])
    assert "warning [overshoot]" in cap.err
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert "regime warning(s)" in cap.out and "warning [overshoot]" in cap.err
