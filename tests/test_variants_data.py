"""Data variants (issue 18): coherent and unequal-norm features, label noise, in both engines.

Oracles: the Gram matrix ``d R C R`` each engine must realise (closed form, to round-off); the
explicit engine in law (two-sample KS over independent seeds, as tests/test_reduced.py), with a
deliberately wrong reduced embedding as the power check; the binomial law of the flips.
"""

import numpy as np
import pytest
import scipy.stats

import featavg.simulate._reduced as reduced_mod
from featavg.simulate import (Config, InvalidParameter, feature_correlation, feature_gram, gram_factor,
                              run_simulation)
from featavg.simulate._engine import engine_for

NORMS6 = (1.0, 0.5, 2.0, 1.0, 1.5, 0.8)


@pytest.mark.parametrize("engine", ["explicit", "reduced"])
@pytest.mark.parametrize(("kind", "eps", "norms"), [("equicorrelated", 0.3, None), ("equicorrelated", -0.15, NORMS6),
                                                     ("random", 0.15, None), ("equicorrelated", 0.0, NORMS6)])
def test_features_have_the_configured_gram_matrix(engine, kind, eps, norms):
    cfg = Config(k=6, d=500, n=30, n_test=5, m=2, steps=0, coherence=eps, coherence_kind=kind, feature_norms=norms,
                 engine=engine, seed=4)
    _, eng = engine_for(cfg)
    F = eng.sample().features
    C = feature_correlation(cfg.k, eps, kind, cfg.rngs()["gram"])
    G = feature_gram(cfg.d, C, norms)
    # round-off: Cholesky and products of O(d) entries, relative 1e-12 of d
    np.testing.assert_allclose(F @ F.T, G, rtol=0, atol=1e-12 * cfg.d)
    off = np.abs(C - np.diag(np.diag(C)))
    assert off.max() <= abs(eps) + 1e-15 and (kind == "random" or np.isclose(off[0, 1], abs(eps)))
    assert np.all(np.linalg.eigvalsh(C) > 0)


def test_both_engines_share_the_random_correlation_matrix():
    kw = dict(k=6, d=500, n=30, n_test=5, m=2, steps=0, coherence=0.15, coherence_kind="random", seed=9)
    G = [run_simulation(Config(engine=e, **kw)).features for e in ("explicit", "reduced")]
    np.testing.assert_allclose(G[0] @ G[0].T, G[1] @ G[1].T, rtol=0, atol=1e-12 * 500)


def test_reduced_features_are_the_scaled_cholesky_factor():
    cfg = Config(k=4, d=300, n=10, n_test=5, m=2, steps=0, coherence=0.2, feature_norms=(1, 2, 1, 0.5), engine="reduced")
    run = run_simulation(cfg)
    Lc = gram_factor(feature_correlation(4, 0.2), (1, 2, 1, 0.5))
    np.testing.assert_array_equal(run.features[:, :4], np.sqrt(300) * Lc)
    assert not np.any(run.features[:, 4:])
    # a training input's feature block is its cluster's row of sqrt(d) Lc plus sigma times N(0, 1) noise
    resid = run.train.X[:, :4] - run.features[run.train.clusters, :4]
    assert np.abs(resid).max() < 6.0


def test_streams_of_the_paper_setting_are_unchanged_by_the_new_streams():
    # the variants add streams after the first four: SeedSequence.spawn(6)[:4] is spawn(4), so every run
    # without the variants draws exactly what it drew before
    for seed in (0, 7, 123):
        six = np.random.SeedSequence(seed).spawn(6)[:4]
        four = np.random.SeedSequence(seed).spawn(4)
        assert all(np.array_equal(a.generate_state(4), b.generate_state(4)) for a, b in zip(six, four))
    a = run_simulation(Config(k=4, d=50, n=20, n_test=5, m=2, steps=3, seed=3))
    b = run_simulation(Config(k=4, d=50, n=20, n_test=5, m=2, steps=3, seed=3, coherence=0.0, feature_norms=None,
                              label_noise=0.0))
    np.testing.assert_array_equal(a.network.W, b.network.W)
    F = a.features
    np.testing.assert_allclose(F @ F.T, 50 * np.eye(4), atol=1e-12 * 50)


def _law_stats(engine, seed):
    cfg = Config(k=4, d=200, n=20, n_test=10, m=3, eta=0.02, steps=150, init_scale=1e-3, coherence=0.3,
                 feature_norms=(1.0, 1.5, 0.7, 1.0), engine=engine, seed=seed)
    run = run_simulation(cfg)
    s = run.summary()
    return run.final_loss, s["averaging_score"], s["cluster_margins"][0]


# Law test (as tests/test_reduced.py): 60 runs per engine on disjoint seeds, three statistics, KS at
# alpha = 1e-3 each (Bonferroni: false alarm <= 3e-3; seeds fixed, so deterministic).
ALPHA = 1e-3


def _pvalues():
    ex = np.array([_law_stats("explicit", s) for s in range(60)])
    rd = np.array([_law_stats("reduced", s) for s in range(20_000, 20_060)])
    return [scipy.stats.ks_2samp(ex[:, i], rd[:, i]).pvalue for i in range(3)]


def test_reduced_engine_has_the_law_of_the_explicit_engine_with_coherent_unequal_features():
    p = _pvalues()
    assert min(p) > ALPHA, p


def test_law_test_detects_training_points_drawn_around_orthogonal_centres(monkeypatch):
    # power: the plausible bug of a sampler that gives the features their Cholesky coordinates but
    # still centres the training and test points at sqrt(d) e_c (the orthogonal path of _points)
    right = reduced_mod.ReducedSampler._points

    def wrong(self, clusters, noise_k, noise_N):
        factor, self.factor = self.factor, None
        try:
            return right(self, clusters, noise_k, noise_N)
        finally:
            self.factor = factor

    monkeypatch.setattr(reduced_mod.ReducedSampler, "_points", wrong)
    p = _pvalues()
    assert min(p) < ALPHA, p


def test_label_noise_flips_training_labels_at_rate_q_and_leaves_the_rest():
    q, n = 0.2, 4000
    fr = []
    for seed in range(40):
        clean = run_simulation(Config(k=10, d=50, n=n, n_test=200, m=2, steps=0, seed=seed))
        noisy = run_simulation(Config(k=10, d=50, n=n, n_test=200, m=2, steps=0, seed=seed, label_noise=q))
        np.testing.assert_array_equal(noisy.train.X, clean.train.X)
        np.testing.assert_array_equal(noisy.train.clusters, clean.train.clusters)
        np.testing.assert_array_equal(noisy.test.y, noisy.cluster_labels[noisy.test.clusters])  # test labels clean
        np.testing.assert_array_equal(noisy.W_init, clean.W_init)
        fr.append(np.mean(noisy.train.y != clean.train.y))
    # the mean of 40 Binomial(n, q)/n: z = 4 (two-sided 6e-5) times its standard error sqrt(q(1-q)/(40 n))
    assert abs(np.mean(fr) - q) < 4 * np.sqrt(q * (1 - q) / (40 * n))
    # their spread: the sample variance against q(1-q)/n, chi-square with 39 dof at two-sided 1e-4
    s2 = np.var(fr, ddof=1) / (q * (1 - q) / n) * 39
    assert scipy.stats.chi2(39).ppf(5e-5) < s2 < scipy.stats.chi2(39).ppf(1 - 5e-5)


def test_label_noise_in_the_reduced_engine():
    run = run_simulation(Config(k=4, d=10**6, n=500, n_test=5, m=2, steps=0, engine="reduced", label_noise=0.3, seed=2))
    assert run.config.engine == "reduced"
    frac = np.mean(run.train.y != run.cluster_labels[run.train.clusters])
    assert abs(frac - 0.3) < 4 * np.sqrt(0.21 / 500)


INVALID = [
    ("coherence_too_large", dict(coherence=1.0), "coherence"),
    ("coherence_below_pd", dict(k=5, coherence=-0.25), "coherence"),
    ("random_not_dominant", dict(k=5, coherence=0.25, coherence_kind="random"), "coherence"),
    ("random_negative", dict(coherence=-0.1, coherence_kind="random"), "coherence"),
    ("unknown_kind", dict(coherence_kind="toeplitz"), "coherence_kind"),
    ("norms_wrong_length", dict(k=3, feature_norms=(1.0, 2.0)), "feature_norms"),
    ("norms_not_positive", dict(k=3, feature_norms=(1.0, 0.0, 2.0)), "feature_norms"),
    ("norms_not_a_sequence", dict(k=3, feature_norms=2.0), "feature_norms"),
    ("label_noise_half", dict(label_noise=0.5), "label_noise"),
    ("label_noise_negative", dict(label_noise=-0.1), "label_noise"),
    ("label_noise_cluster", dict(label_noise=0.1, supervision="cluster"), "label_noise"),
]


@pytest.mark.parametrize(("overrides", "name"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_variant_fields_are_rejected_by_name(overrides, name):
    with pytest.raises(InvalidParameter) as info:
        Config(**{"d": 50, **overrides})
    assert info.value.name == name


def test_variant_config_round_trips_through_a_dict():
    cfg = Config(k=3, d=40, feature_norms=[1, 2, 3], coherence=0.1, label_noise=0.1)
    assert cfg.feature_norms == (1.0, 2.0, 3.0) and hash(cfg) == hash(Config.from_dict(cfg.to_dict()))
    assert Config.from_dict({**cfg.to_dict(), "feature_norms": list(cfg.feature_norms)}) == cfg
