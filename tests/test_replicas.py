"""Replicas (``simulate/_replicas.py``): R networks on shared data in one stacked span-form pass.

Oracle: each replica's own single run, ``run_simulation`` on the same arrays with the primal path
(the hand-derived gradient, checked against SymPy and finite differences elsewhere). Stacking only
reorders float64 sums, so replicas equal single runs to round-off.
"""

import dataclasses

import numpy as np
import pytest

from featavg.simulate import Config, InvalidParameter, NumericalError, run_replicas, run_simulation
from featavg.simulate import _span

# Same reason as tests/test_span.py: per-step round-off ~n eps, grown over the trajectory to
# <= 2e-15 measured; 1e-10 leaves room and still catches any replica mixing (O(1) differences).
RTOL = 1e-10

BASE = {
    "explicit": dict(k=4, d=600, n=150, m=2, h=2, eta=0.005, engine="explicit"),
    "reduced": dict(k=4, d=5000, n=120, m=2, h=2, eta=3 / 5000, engine="reduced"),
}


def _cfg(engine, supervision, **kw):
    return Config(**{**BASE[engine], "n_test": 10, "steps": 150, "init_scale": 1e-3, "seed": 11,
                     "supervision": supervision, **kw})


def _rel(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


def _assert_same_run(run, ref):
    assert _rel(run.network.W, ref.network.W) <= RTOL
    assert _rel(run.network.b, ref.network.b) <= RTOL
    assert abs(run.final_loss - ref.final_loss) <= RTOL * ref.final_loss


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
@pytest.mark.parametrize("engine", ["explicit", "reduced"])
def test_each_replica_equals_its_own_single_primal_run(engine, supervision):
    cfg = _cfg(engine, supervision, history_every=50)
    seeds = [5, 11, 2]
    runs = run_replicas(cfg, seeds)
    assert [r.init_seed for r in runs] == seeds
    for run, s in zip(runs, seeds):
        assert run.config == cfg and run.config.engine == engine
        # the initial weights are exactly those Config(seed=s) draws
        drawn = run_simulation(dataclasses.replace(cfg, seed=s), steps=0)
        assert np.array_equal(run.W_init, drawn.W_init) and np.array_equal(run.b_init, drawn.b_init)
        # replay from the record: the config's seed gives the data, the init is supplied
        ref = run_simulation(run.config, W_init=run.W_init, b_init=run.b_init, method="primal")
        assert np.array_equal(ref.train.X, run.train.X)
        _assert_same_run(run, ref)
        for key in ("loss", "train_accuracy", "cluster_margins"):
            np.testing.assert_allclose(run.history[key], ref.history[key], rtol=RTOL, atol=RTOL)
    # the replica whose seed is the config's is the plain run
    _assert_same_run(runs[1], run_simulation(cfg, method="primal"))


@pytest.mark.parametrize("engine", ["explicit", "reduced"])
def test_replica_does_not_depend_on_the_number_or_order_of_the_others(engine):
    cfg = _cfg(engine, "binary")
    seeds = [40, 41, 42, 43, 44, 45, 46, 47]
    eight = run_replicas(cfg, seeds)
    alone = run_replicas(cfg, [43])[0]
    _assert_same_run(eight[3], alone)
    backwards = run_replicas(cfg, seeds[::-1])
    for r in range(8):
        _assert_same_run(backwards[7 - r], eight[r])
    # and the replicas are distinct networks
    assert _rel(eight[0].network.W, eight[1].network.W) > 0.01


def test_stacked_equals_loop_of_single_runs():
    cfg = _cfg("reduced", "cluster")
    for a, b in zip(run_replicas(cfg, [1, 2, 3]), run_replicas(cfg, [1, 2, 3], method="loop"), strict=True):
        _assert_same_run(a, b)


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_diverging_replica_is_named_with_its_seed_and_step(supervision):
    # eta = 1e308 with unit init overflows the pre-activations within a step or two
    cfg = Config(k=4, d=50, n=20, n_test=5, eta=1e308, init_scale=1.0, supervision=supervision)
    with pytest.raises(NumericalError, match=r"replica 0 \(init seed 3\): .*diverged at step [12]\b"):
        run_replicas(cfg, [3, 4])


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_only_the_diverging_replica_is_named(supervision):
    from featavg.simulate import make_network

    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((30, 8)))
    target = np.where(rng.standard_normal(30) > 0, 1, -1) if supervision == "binary" else rng.integers(0, 4, 30)
    net = make_network(supervision, np.zeros((4, 8)), np.zeros(4))
    W0 = 1e-2 * rng.standard_normal((12, 8))
    W0[8:] = 1e308  # replica 2: sums of 8 such products overflow its pre-activations at step 0
    with pytest.raises(NumericalError, match=r"replica 2: gradient descent diverged at step 0"):
        _span.span_descent(net.loss_and_D, W0, np.zeros(12), X, target, 0.1, 10, replicas=3,
                           label=lambda r: f"replica {r}:")


def test_gradient_not_of_span_form_falls_back_to_the_loop(monkeypatch):
    """A replaced gradient (as the fault injections of test_verify.py do) is what replicas train."""
    from featavg.simulate import BinaryNetwork

    orig = BinaryNetwork.loss_and_grad
    monkeypatch.setattr(BinaryNetwork, "loss_and_grad",
                        lambda self, X, y: (lambda o: (o[0], 2.0 * o[1], 2.0 * o[2]))(orig(self, X, y)))
    cfg = _cfg("explicit", "binary", steps=20)
    run = run_replicas(cfg, [3])[0]
    ref = run_simulation(cfg, W_init=run.W_init, b_init=run.b_init)
    assert np.array_equal(run.network.W, ref.network.W)
    monkeypatch.undo()
    assert _rel(run.network.W, run_simulation(cfg, W_init=run.W_init, b_init=run.b_init).network.W) > 1e-3


@pytest.mark.parametrize("seeds, match", [([], "seeds=\\[\\]"), ([1, -2], "seeds\\[1\\]=-2"),
                                          ([1.5], "seeds\\[0\\]")], ids=["empty", "negative", "float"])
def test_invalid_seeds_are_named(seeds, match):
    with pytest.raises(InvalidParameter, match=match):
        run_replicas(_cfg("explicit", "binary"), seeds)


def test_unknown_replica_method_is_named():
    with pytest.raises(InvalidParameter, match="method='fast'"):
        run_replicas(_cfg("explicit", "binary"), [1], method="fast")
