"""The reduced engine (docs/science.md §4): same law as explicit GD at any d, cost independent of d.

Oracles, strongest first:
* exact trajectories: one explicit sample, embedded in reduced coordinates (training inputs and
  initial weights represented exactly, test points projected), trained by both engines;
* closed form: noise and initial-weight norms in reduced coordinates are chi-square(d) exactly,
  also at d = 10^9, against SciPy's chi-square CDF;
* the other engine in law: summary statistics over independent seeds, two-sample KS, with a
  deliberately wrong sampler as the power check.
"""

import json

import numpy as np
import pytest
import scipy.stats

import featavg.simulate._reduced as reduced_mod
from featavg.cli import main
from featavg.simulate import (
    D_MAX,
    Config,
    InvalidParameter,
    Sample,
    bartlett_factor,
    embed_explicit,
    load_run,
    reduced_dimension,
    run_simulation,
    save_run,
)

SMALL = dict(k=4, d=200, n=20, n_test=50, m=3, h=2, eta=0.02, steps=200, init_scale=1e-3)


def _embedded_pair(supervision, seed=3):
    """An explicit run and the reduced run of the same sample, plus the embedding basis."""
    cfg = Config(supervision=supervision, seed=seed, history_every=10, **SMALL)
    ex = run_simulation(cfg)
    basis, red = embed_explicit(ex.features, ex.train.X, ex.train.clusters, cfg.sigma,
                                ex.W_init, cfg.init_scale, X_test=ex.test.X)
    rd = run_simulation(
        cfg, engine="reduced", features=red["features"], cluster_labels=ex.cluster_labels,
        train=Sample(red["X_train"], ex.train.y, ex.train.clusters),
        test=Sample(red["X_test"], ex.test.y, ex.test.clusters), W_init=red["W_init"], b_init=ex.b_init)
    return ex, rd, basis


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_reduced_trajectory_equals_explicit_on_the_same_embedded_sample(supervision):
    ex, rd, basis = _embedded_pair(supervision)
    M, D = ex.W_init.shape[0], reduced_dimension(SMALL["k"], SMALL["n"], ex.W_init.shape[0])
    assert rd.config.engine == "reduced" and rd.network.W.shape == (M, D) and basis.shape == (D, SMALL["d"])
    # 1e-10 relative: both runs do the same arithmetic in rotated coordinates, so they differ
    # by float64 round-off (~1e-16 per operation) amplified over 200 steps, far below 1e-10;
    # a ReLU kink crossed differently would show as an O(1) difference, not a small one.
    W_ex = ex.network.W
    np.testing.assert_allclose(rd.network.W @ basis, W_ex, rtol=0, atol=1e-10 * np.abs(W_ex).max())
    np.testing.assert_allclose(rd.network.b, ex.network.b, rtol=0, atol=1e-10 * np.abs(ex.network.b).max())
    for key in ("loss", "cluster_margins", "feature_coefficients"):
        np.testing.assert_allclose(rd.history[key], ex.history[key], rtol=1e-10, atol=1e-14)
    for key in ("train_accuracy", "test_accuracy", "activation_fractions"):
        np.testing.assert_array_equal(rd.history[key], ex.history[key])
    s_ex, s_rd = ex.summary(), rd.summary()
    for key in ("final_loss", "averaging_score", "decoupling_score", "cluster_margins", "cosine_matrix"):
        np.testing.assert_allclose(s_rd[key], s_ex[key], rtol=1e-10, atol=1e-14)
    assert s_rd["test_accuracy"] == s_ex["test_accuracy"]
    assert ex.history["loss"][-1] < 0.5 * ex.history["loss"][0]  # GD did move: a real check


@pytest.mark.parametrize("d", [1000, 10**9])
def test_reduced_noise_and_weight_norms_have_their_exact_laws(d):
    # Closed-form oracles (exact at every d): ||xi_i||^2 ~ chi2(d); ||w_r(0)||^2 / sigma_w^2 ~
    # chi2(d); for independent xi, xi', <xi, xi'> / ||xi'|| ~ N(0, 1); a test point keeps only its
    # D = k + n + M reduced components, so its noise norm^2 ~ chi2(D). Four one-sample KS tests
    # at alpha = 1e-3 each (fixed seed): false-alarm rate <= 4e-3.
    cfg = Config(k=4, d=d, n=400, n_test=400, m=50, sigma=0.5, init_scale=2.0, steps=0, seed=1)
    run = run_simulation(cfg, engine="reduced")
    D = reduced_dimension(cfg.k, cfg.n, cfg.neurons)
    assert run.features.shape == (cfg.k, D) and D < d
    noise = (run.train.X - run.features[run.train.clusters]) / cfg.sigma
    weights = run.W_init / cfg.init_scale
    test_noise = (run.test.X - run.features[run.test.clusters]) / cfg.sigma
    chi2_d = scipy.stats.chi2(d).cdf
    proj = np.einsum("id,id->i", noise[0::2], noise[1::2]) / np.linalg.norm(noise[1::2], axis=1)
    pvalues = [scipy.stats.kstest((noise ** 2).sum(axis=1), chi2_d).pvalue,
               scipy.stats.kstest((weights ** 2).sum(axis=1), chi2_d).pvalue,
               scipy.stats.kstest(proj, "norm").pvalue,
               scipy.stats.kstest((test_noise ** 2).sum(axis=1), scipy.stats.chi2(D).cdf).pvalue]
    assert min(pvalues) > 1e-3, pvalues


def _summary_stats(engine, seed):
    run = run_simulation(Config(engine=engine, seed=seed, **{**SMALL, "n_test": 10, "steps": 150}))
    s = run.summary()
    return run.final_loss, s["averaging_score"], s["cluster_margins"][0]


def _ks_pvalues(sampler_seeds=range(10_000, 10_060)):
    explicit = np.array([_summary_stats("explicit", s) for s in range(60)])
    reduced = np.array([_summary_stats("reduced", s) for s in sampler_seeds])
    return [scipy.stats.ks_2samp(explicit[:, i], reduced[:, i]).pvalue for i in range(3)]


# Law test: 60 runs per engine (disjoint seeds, so the samples are independent), statistics
# final loss, averaging score and the margin of cluster 0. Each KS test at alpha = 1e-3, so
# with a correct sampler the test fails with probability <= 3e-3 (Bonferroni); the seeds are
# fixed, so the outcome is deterministic. Power: the sampler with chi degrees of freedom
# (d - k) // 4 is rejected with p < 1e-10 on the final loss (measured).
ALPHA = 1e-3


def test_reduced_engine_has_the_law_of_the_explicit_engine():
    p = _ks_pvalues()
    assert min(p) > ALPHA, p


def test_law_test_detects_a_wrong_bartlett_factor(monkeypatch):
    right = reduced_mod._bartlett  # the samplers' (validated-once) path
    monkeypatch.setattr(reduced_mod, "_bartlett", lambda N, dof, rng: right(N, dof // 4, rng))
    p = _ks_pvalues()
    assert min(p) < ALPHA, p


def test_bartlett_factor_gram_has_wishart_mean_and_variance():
    # E[(L L^T)_ij] = dof delta_ij, Var = dof (1 + delta_ij) (Wishart W_N(dof, I)); 4000 draws,
    # 5 standard errors.
    rng = np.random.default_rng(0)
    N, dof, R = 3, 7, 4000
    G = np.array([(lambda L: L @ L.T)(bartlett_factor(N, dof, rng)) for _ in range(R)])
    var = dof * (1 + np.eye(N))
    np.testing.assert_array_less(np.abs(G.mean(axis=0) - dof * np.eye(N)), 5 * np.sqrt(var / R))
    # the sample variance of R draws has relative standard error sqrt((2 + excess kurtosis)/R):
    # a chi^2_7 diagonal has excess kurtosis 12/7, so about 0.03 at R = 4000; 0.15 is 5 of them
    np.testing.assert_allclose(G.var(axis=0), var, rtol=0.15)


def test_reduced_falls_back_to_explicit_when_d_is_not_larger_than_k_plus_n_plus_M():
    cfg = Config(k=4, d=30, n=20, n_test=10, m=3, steps=5, seed=2)  # D = 4 + 20 + 6 = 30 = d
    fell_back = run_simulation(cfg, engine="reduced")
    explicit = run_simulation(cfg)
    assert fell_back.config.engine == "explicit" and fell_back.config == explicit.config
    np.testing.assert_array_equal(fell_back.network.W, explicit.network.W)


def test_explicit_engine_is_unchanged_by_the_reduced_engine():
    # the explicit path draws the same arrays as before: make_features, sample_mixture and
    # init_weights from the four streams, in order
    from featavg.simulate import init_weights, make_features, make_partition, sample_mixture
    cfg = Config(k=4, d=50, n=20, n_test=10, m=3, steps=3, seed=5)
    run = run_simulation(cfg)
    rngs = cfg.rngs()
    F = make_features(4, 50, rngs["features"])
    labels = make_partition(4)
    train = sample_mixture(F, labels, 20, rngs["train"], 1.0)
    W, b = init_weights(6, 50, cfg.init_scale, rngs["init"])
    np.testing.assert_array_equal(run.features, F)
    np.testing.assert_array_equal(run.train.X, train.X)
    np.testing.assert_array_equal(run.W_init, W)
    assert run.config.engine == "explicit"


@pytest.mark.parametrize("d", [D_MAX + 1, 10**15])
def test_reduced_refuses_d_beyond_its_float64_limit(d):
    with pytest.raises(InvalidParameter, match=r"^d=") as exc:
        run_simulation(Config(k=4, d=d, n=20, n_test=10, m=3, steps=1), engine="reduced")
    assert exc.value.name == "d" and exc.value.value == d


def test_reduced_run_saves_and_loads_in_reduced_coordinates(tmp_path):
    cfg = Config(k=4, d=10**9, n=20, n_test=10, m=3, steps=5, engine="reduced")
    run = run_simulation(cfg)
    D = reduced_dimension(4, 20, 6)
    assert run.features.shape == (4, D) and run.train.X.shape == (20, D) and run.W_init.shape == (6, D)
    np.testing.assert_array_equal(run.features[:, :4], np.sqrt(1e9) * np.eye(4))
    save_run(tmp_path / "r.npz", run)
    back = load_run(tmp_path / "r.npz")
    assert back.config == cfg and back.config.engine == "reduced"
    np.testing.assert_array_equal(back.network.W, run.network.W)
    replay = run_simulation(back.config, features=back.features, train=back.train, test=back.test,
                            W_init=back.W_init, b_init=back.b_init)
    np.testing.assert_array_equal(replay.network.W, run.network.W)


def test_cli_runs_the_reduced_engine_at_a_million_dimensions(capsys):
    assert main(["simulate", "--engine", "reduced", "--d", "1000000", "--n", "50", "--n-test", "20",
                 "--k", "4", "--m", "2", "--steps", "5", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["config"]["engine"] == "reduced" and s["config"]["d"] == 1_000_000
    assert np.asarray(s["cosine_matrix"]).shape == (4, 4)


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_structured_inputs_equal_dense_products_and_trajectory(supervision):
    """ReducedInputs (BLAS trmm on the triangular block) against dense NumPy products, and a whole
    reduced run with it against the same run on the dense array."""
    from featavg.simulate import ReducedInputs, gradient_descent, make_network

    cfg = Config(k=3, d=500, n=40, n_test=10, m=2, steps=30, eta=0.05, init_scale=1e-3,
                 engine="reduced", supervision=supervision, seed=9)
    run = run_simulation(cfg)
    X = run.train.X
    S = ReducedInputs.from_dense(X, cfg.k)
    assert isinstance(S, ReducedInputs)
    rng = np.random.default_rng(0)
    W = rng.standard_normal((cfg.neurons, X.shape[1]))
    Dm = rng.standard_normal((X.shape[0], cfg.neurons))
    # the same sums in another order: round-off ~ n eps |x| |w|, far below 1e-12 relative
    np.testing.assert_allclose(S @ W.T, X @ W.T, rtol=1e-12, atol=1e-12 * np.abs(X @ W.T).max())
    np.testing.assert_allclose(Dm.T @ S, Dm.T @ X, rtol=1e-12, atol=1e-12 * np.abs(Dm.T @ X).max())
    target = run.train.y if supervision == "binary" else run.train.clusters
    dense, _ = gradient_descent(make_network(supervision, run.W_init, run.b_init), X, target, cfg.eta, cfg.steps)
    # trajectories differ only by accumulated round-off over 30 steps
    np.testing.assert_allclose(run.network.W, dense.W, rtol=1e-10, atol=1e-10 * np.abs(dense.W).max())
    # user data without the structure stays dense
    assert not isinstance(ReducedInputs.from_dense(X + 1.0, cfg.k), ReducedInputs)
