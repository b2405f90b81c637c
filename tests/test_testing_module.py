"""featavg.testing: the public strategies and helpers of property tests (issue 13 item 4).

The strategies draw configurations inside the stated regime; the dead-neuron probability
``prod_{j in J_s} 1/(n_j + 1)`` is checked against the simulator's own initialisations (an exact
two-sided binomial interval); invalid arguments are one table; a missing hypothesis says what to
install.
"""

import builtins
import math

import numpy as np
import pytest
from featavg.simulate import Config, run_replicas
from hypothesis import given, settings

from featavg._errors import InvalidParameter
from featavg.evidence import clopper_pearson
from featavg.testing import (
    REGIME,
    alive_at_init,
    averaging_prediction,
    dead_neuron_probability,
    decoupling_prediction,
    regimes,
    replica_runs,
)


@settings(max_examples=25)
@given(cfg=regimes(supervision="cluster", k=(3, 4), n=(100, 120)))
def test_regimes_draw_inside_the_stated_regime(cfg):
    assert 3 <= cfg.k <= 4 and 1 <= cfg.positive <= cfg.k - 1 and 100 <= cfg.n <= 120
    assert cfg.d in REGIME["d"] and cfg.h in (1, 2) and cfg.supervision == "cluster"
    assert cfg.eta * cfg.d == pytest.approx(REGIME["eta_d"], rel=1e-12)            # the paper's eta d
    assert cfg.init_scale * math.sqrt(cfg.d) == pytest.approx(1e-5 * math.sqrt(3072), rel=1e-12)
    assert cfg.engine == "reduced" and cfg.steps == REGIME["steps"] and cfg.n_test == REGIME["n_test"]


@pytest.mark.parametrize("kwargs", [{"supervision": "labels"}, {"eta_d": 0.0}, {"init_scale": -1.0},
                                    {"k": "six"}, {"n": ()}],
                         ids=["supervision", "eta_d", "init_scale", "k-not-int", "n-empty"])
def test_regimes_reject_bad_arguments_by_name(kwargs):
    with pytest.raises(InvalidParameter) as err:
        regimes(**kwargs)
    assert next(iter(kwargs)) in str(err.value)


def test_strategies_without_hypothesis_name_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_hypothesis(name, *args, **kwargs):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ImportError("No module named 'hypothesis'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hypothesis)
    with pytest.raises(ImportError, match=r"pip install 'featavg\[test\]'"):
        regimes()


def test_replica_runs_validates_and_keeps_the_data():
    cfg = Config(k=4, d=5000, n=60, n_test=10, m=2, eta=3.072 / 5000, steps=5, seed=3, engine="reduced")
    with pytest.raises(InvalidParameter, match="replicas"):
        replica_runs(cfg, 0)
    runs = replica_runs(cfg, 2)
    assert [r.init_seed for r in runs] == [3, 3 + 10_001]
    assert np.array_equal(runs[0].train.X, runs[1].train.X)
    assert not np.array_equal(runs[0].W_init, runs[1].W_init)


def test_predictions_refuse_the_other_supervision():
    cfg = Config(k=4, d=5000, n=60, n_test=10, m=2, eta=3.072 / 5000, steps=5, seed=3, engine="reduced")
    run = replica_runs(cfg, 1)[0]
    with pytest.raises(InvalidParameter, match="run"):
        decoupling_prediction(run)
    cluster = replica_runs(cfg, 1, supervision="cluster")[0]
    with pytest.raises(InvalidParameter, match="run"):
        averaging_prediction(cluster)


def test_dead_neuron_probability_formula():
    counts, labels = np.array([4, 1, 9]), np.array([1, 1, -1])
    assert dead_neuron_probability(counts, labels) == {1: pytest.approx(1 / 10), -1: pytest.approx(1 / 10)}
    assert np.allclose(dead_neuron_probability(counts, labels, "cluster"), [1 / 5, 1 / 2, 1 / 10])
    with pytest.raises(InvalidParameter, match="counts"):
        dead_neuron_probability([1, 2], labels)


def test_dead_neuron_probability_matches_the_simulators_initialisations():
    """At n_j ~ 5 a neuron is dead on its cluster with probability 1/(n_j + 1) (issue 20): the
    fraction of dead neurons over many initialisations of the simulator (h = 1, one neuron per
    output, on fixed data) lies in its exact 99.9% Clopper-Pearson interval."""
    cfg = Config(k=4, d=2000, n=20, n_test=1, h=1, steps=0, seed=11, supervision="cluster", engine="reduced")
    runs = run_replicas(cfg, list(range(100, 700)))
    dead = np.array([~alive_at_init(r) for r in runs])                       # (inits, k)
    counts = np.bincount(runs[0].train.clusters, minlength=cfg.k)
    predicted = dead_neuron_probability(counts, runs[0].cluster_labels, "cluster")
    for j in range(cfg.k):
        lo, hi = clopper_pearson(int(dead[:, j].sum()), dead.shape[0])
        assert lo <= predicted[j] <= hi, (j, counts[j], dead[:, j].mean(), predicted[j])


def test_argmax_budget_pair_radius_is_the_exact_radius_of_unequal_outputs():
    """The noise-free pair radius of ``argmax_radius_budget``, ``R = sqrt 2/sqrt(1/c_j^2 + rho^2/c_j'^2)``
    at ``c = 1`` (``r = Lambda_j sqrt(d)/sqrt(Lambda_j^2 + Lambda_j'^2)``), against the exact solver on an
    idealised decoupled net ``w_j = Lambda_j mu_j`` with unequal scales; the equal-scale rival
    ``sqrt(d/2)`` is off by more than the solver's gap."""
    from featavg.simulate import MultiClassNetwork, exact_radii

    d, k = 40, 4
    labels = np.array([1, 1, -1, -1])
    F = np.sqrt(d) * np.eye(k, d)                  # orthogonal features with ||mu_j||^2 = d
    lam = np.array([1.0, 1.3, 0.8, 1.1])
    net = MultiClassNetwork(lam[:, None] * F, np.zeros(k), h=1)
    res = exact_radii(net, F, labels, labels, "argmax")
    for j in range(k):
        opp = np.flatnonzero(labels != labels[j])
        predicted = min(lam[j] * np.sqrt(d) / np.sqrt(lam[j] ** 2 + lam[c] ** 2) for c in opp)
        tol = res[j].upper - res[j].lower + 100 * np.finfo(float).eps * predicted   # bracket + round-off
        assert abs(res[j].radius - predicted) <= tol, (j, res[j].radius, predicted)
        if not np.isclose(lam[j], lam[opp].max()):
            assert abs(res[j].radius - np.sqrt(d / 2)) > 10 * tol


def test_argmax_budget_is_infinite_where_an_outputs_scale_is_undetermined():
    """The budget bounds the radius through each output's scale; where the uncertain points' weights
    reach the scale, there is no bound (infinite), and the property treats the run as outside."""
    import dataclasses

    from featavg.testing import argmax_radius_budget

    cfg = Config(k=4, d=20_000, n=120, n_test=20, h=1, eta=3.072 / 20_000, steps=60, seed=5, engine="reduced",
                 supervision="cluster")
    pred = decoupling_prediction(replica_runs(cfg, 1)[0])
    assert math.isfinite(argmax_radius_budget(pred, cfg.d, 20))
    undetermined = dataclasses.replace(pred, scale_halfwidth=pred.scales.copy())
    assert argmax_radius_budget(undetermined, cfg.d, 20) == math.inf
