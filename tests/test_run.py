"""Runs: reproducibility, replay from saved arrays, the paper's synthetic setting, divergence."""

import json

import numpy as np
import pytest

from featavg.simulate import (
    RUN_ARRAYS,
    BinaryNetwork,
    Config,
    NumericalError,
    RunFileError,
    gradient_descent,
    load_run,
    run_simulation,
    save_run,
)

SMALL = dict(k=4, d=40, n=60, n_test=50, m=3, steps=30, eta=0.05, init_scale=1e-3)


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_same_seed_gives_identical_runs(supervision):
    a = run_simulation(seed=5, supervision=supervision, **SMALL)
    b = run_simulation(seed=5, supervision=supervision, **SMALL)
    c = run_simulation(seed=6, supervision=supervision, **SMALL)
    assert np.array_equal(a.network.W, b.network.W) and np.array_equal(a.network.b, b.network.b)
    assert not np.array_equal(a.network.W, c.network.W)


def test_changing_n_test_keeps_training_identical():
    """The test stream is separate: training data and trajectory do not depend on n_test."""
    a = run_simulation(seed=1, **SMALL)
    b = run_simulation(seed=1, **{**SMALL, "n_test": 7})
    assert np.array_equal(a.train.X, b.train.X) and np.array_equal(a.network.W, b.network.W)


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_saved_run_replays_from_its_initial_weights(tmp_path, supervision):
    run = run_simulation(seed=3, supervision=supervision, history_every=10, **SMALL)
    path = tmp_path / "run.npz"
    save_run(path, run)
    with np.load(path) as data:
        assert set(RUN_ARRAYS) <= set(data.files)
        assert json.loads(str(data["config"]))["seed"] == 3
    saved = load_run(path)
    replay = run_simulation(saved.config, features=saved.features, cluster_labels=saved.cluster_labels,
                            train=saved.train, test=saved.test, W_init=saved.W_init, b_init=saved.b_init)
    # the same float64 operations in the same order: bit-identical
    assert np.array_equal(replay.network.W, saved.network.W)
    assert np.array_equal(replay.network.b, saved.network.b)
    assert saved.history["loss"].shape == (4,)


def test_gd_step_is_theta_minus_eta_gradient():
    """One GD step equals the explicit update with the network's gradient (the loop adds nothing)."""
    rng = np.random.default_rng(0)
    net = BinaryNetwork(rng.standard_normal((4, 3)), rng.standard_normal(4))
    X, y = rng.standard_normal((6, 3)), rng.choice([-1, 1], size=6)
    _, gW, gb = net.loss_and_grad(X, y)
    new, _ = gradient_descent(net, X, y, 0.1, 1)
    assert np.array_equal(new.W, net.W - 0.1 * gW) and np.array_equal(new.b, net.b - 0.1 * gb)


def test_history_margins_match_final_network():
    run = run_simulation(seed=2, history_every=10, **SMALL)
    h = run.history
    assert h["step"].tolist() == [0, 10, 20, 30]
    np.testing.assert_array_equal(h["cluster_margins"][-1],
                                  run.cluster_labels * run.network.output(run.features))
    assert h["activation_fractions"].shape == (4, 2 * SMALL["m"], SMALL["k"])
    assert np.all((h["activation_fractions"] >= 0) & (h["activation_fractions"] <= 1))


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_diverging_run_names_its_step(supervision):
    # eta = 1e308 with unit init overflows the pre-activations within a step or two
    with pytest.raises(NumericalError, match=r"diverged at step \d+"):
        run_simulation(k=4, d=50, n=20, eta=1e308, init_scale=1.0, supervision=supervision)


def test_unreadable_and_incomplete_run_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(RunFileError, match="not a readable .npz"):
        load_run(bad)
    part = tmp_path / "part.npz"
    np.savez(part, features=np.zeros((2, 2)))
    with pytest.raises(RunFileError, match="missing arrays .*cluster_labels"):
        load_run(part)
    with pytest.raises(RunFileError, match="does not exist"):
        load_run(tmp_path / "absent.npz")


def test_paper_setting_averages_and_decouples():
    """The issue's acceptance numbers at the paper's defaults (k=10, d=3072, n=1000, m=5, h=1,
    eta=1e-3, T=100, init 1e-5): averaging under binary labels, decoupling under cluster labels.

    Prediction (C1, C5): averaging score -> 1 (binary), decoupling score -> 1 (cluster); the
    thresholds 0.95 are the issue's acceptance bounds (seed 0 measures 0.992 and 0.993).
    """
    binary = run_simulation(Config()).summary()
    assert binary["test_accuracy"] >= 0.99 and binary["averaging_score"] >= 0.95
    # under averaging a neuron's best single feature has cosine ~ 1/sqrt(|J_s|) = 0.447, not 1;
    # 0.05 allows the coefficient imbalance left after T = 100 steps (seed 0 measures 0.475),
    # while any decoupling would put it near 1
    assert abs(binary["decoupling_score"] - 1 / np.sqrt(5)) < 0.05
    cluster = run_simulation(Config(supervision="cluster")).summary()
    assert cluster["test_accuracy"] >= 0.99 and cluster["decoupling_score"] >= 0.95
