"""Property-based tests: the claims hold across the regime, not only at the paper's setting.

Hypothesis draws ``k``, ``|J+|``, ``d``, ``n``, ``m``, ``h`` and the seed; each example trains
``REPLICAS`` initialisations on the drawn data in one stacked pass (``run_replicas``) and checks
the claim for each; every run uses the reduced engine (exact in law, SPEC §4) so that ``d`` can sit far above ``n`` (the theorems'
regime) at a cost independent of ``d``.

Regime (stated, not the paper's unknown Assumption 4.x): ``2 <= k <= 6``, ``1 <= |J+| <= k-1``,
``m in {2, 3}``, ``h in {1, 2}``, ``100 <= n <= 400``, ``3e4 <= d <= 1e6``; ``eta = 30.72/d`` and
``init_scale = 1e-5 sqrt(3072/d)`` (the paper's defaults rescaled with ``d``: the gradient grows
like ``d``, the initial weights like ``sqrt(d)``), 300 GD steps.

Tolerances come from a measured spread: over 12 random configurations of this regime (seeded
probe, 60 test points each) the averaging score ranged 0.961-0.985 (0.923 at the corner k=2, n=100 that hypothesis found), the decoupling score
0.922-0.987 (against the C7.ce_decoupling cosine, see below), the binary net's median exact radius over the C3 prediction 0.906-1.074 and the
argmax readout's over ``sqrt(d/2)`` 0.928-1.085. The deviations are the finite-T imbalance of the
coefficients (C1.coefficient_balance) and the sampling error of a 60-point median.
"""

import dataclasses
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from featavg.simulate import Config, exact_radii, run_replicas, run_simulation
from featavg.theory import get_claim

# measured 0.961-0.985 in the probe; hypothesis then found the corner k=2, n=100, d=3e4 at 0.923:
# the finite-n correction (relative order k/n, SPEC C7) is largest at the smallest n
AVERAGING_MIN = 0.90
# C7.ce_decoupling: the early gradient of w_j is own (1-1/k) mu_j and -(1/k) on each other feature
# (in units of Phi/(kh)), so its cosine with mu_j is own/sqrt(own^2 + (k-1) other^2): 0.894 at
# k=2, 0.973 at k=3, -> 1 as k grows. The finite-n noise share (relative order k/n) lowers it
# further: measured 0.83 at k=2, n=100 (prediction 0.894); 0.1 below the prediction covers that.
DECOUPLING_SLACK = 0.1
RADIUS_BAND = (0.8, 1.2)  # measured 0.906-1.085 for both ratios; about 0.1 of room each side
# Cluster labels, one init at a time: at the corner k=2, n=100, d=3e4 (h=1: one neuron per
# output) the argmax median radius over sqrt(d/2) varies with the init alone, 0.71-1.20 over
# 48 inits (3 data seeds x 16 replicas, measured with run_replicas); the claim is about the
# typical network, so the calibrated band applies to the radii pooled over the replicas and
# each replica gets this band, about 0.06-0.1 outside the measured extremes.
PER_INIT_RADIUS_BAND = (0.65, 1.3)
N_POINTS = 60
# Each example trains this many initialisations on its drawn data in one stacked pass
# (featavg.simulate.run_replicas) and checks the claim for every one: the claims are about GD
# from a small random init, not about one lucky draw.
REPLICAS = 3


def replica_runs(cfg, **overrides):
    """The example's runs: the data of ``cfg.seed``, initial weights of ``cfg.seed + 10_001 r``
    (``r = 0`` is ``run_simulation(cfg)`` itself, to round-off)."""
    cfg = dataclasses.replace(cfg, **overrides)
    return run_replicas(cfg, [cfg.seed + 10_001 * r for r in range(REPLICAS)])


@st.composite
def regimes(draw):
    k = draw(st.integers(2, 6))
    d = draw(st.sampled_from([30_000, 100_000, 300_000, 1_000_000]))
    return Config(k=k, positive=draw(st.integers(1, k - 1)), m=draw(st.integers(2, 3)), h=draw(st.integers(1, 2)),
                  n=draw(st.integers(100, 400)), d=d, n_test=N_POINTS, eta=30.72 / d,
                  init_scale=1e-5 * math.sqrt(3072 / d), steps=300, seed=draw(st.integers(0, 10_000)),
                  engine="reduced")


def averaged_net_radius_ratios(run):
    """Median exact radius of each class's test points over the C3 prediction for the averaging
    net whose scales and biases are the trained ones (means over each neuron group)."""
    cfg, net = run.config, run.network
    m, p, k, d = cfg.m, cfg.positive, cfg.k, cfg.d
    coef = net.W @ run.features.T / d
    a_p, a_m = coef[:m, :p].mean(), coef[m:, p:].mean()
    b_p, b_m = net.b[:m].mean(), net.b[m:].mean()
    radius = get_claim("C3.averaging_radius").predictions["radius"]
    pred = {1: radius(d=d, k=k, p=p, alpha_p=a_p, alpha_m=a_m, b_p=b_p, b_m=b_m),
            -1: radius(d=d, k=k, p=k - p, alpha_p=a_m, alpha_m=a_p, b_p=b_m, b_m=b_p)}
    r = np.array([x.radius for x in exact_radii(net, run.test.X, run.test.y, run.cluster_labels, "argmax")])
    return [float(np.median(r[run.test.y == s]) / pred[s]) for s in (1, -1) if np.any(run.test.y == s)]


@given(cfg=regimes())
def test_binary_labels_average_generalise_and_have_the_averaging_radius(cfg):
    """C1 (averaging), C2 (accuracy), C3 (radius of the averaging net, general partition)."""
    for run in replica_runs(cfg):
        s = run.summary()
        assert s["test_accuracy"] >= 0.99, run.init_seed  # C2; 60 points: one error allowed would be 0.983
        assert s["averaging_score"] >= AVERAGING_MIN, run.init_seed  # C1
        for ratio in averaged_net_radius_ratios(run):  # C3
            assert RADIUS_BAND[0] <= ratio <= RADIUS_BAND[1], (ratio, run.init_seed)


@given(cfg=regimes())
def test_cluster_labels_decouple_and_reach_the_optimal_radius(cfg):
    """C5: decoupling, and the argmax readout's radius is sqrt(d/2) (optimal, C4)."""
    ce = get_claim("C7.ce_decoupling").predictions
    own, other = ce["own"](a=0.0, sigma=1.0, k=cfg.k, h=cfg.h), ce["other"](a=0.0, sigma=1.0, k=cfg.k, h=cfg.h)
    predicted_cos = own / math.sqrt(own**2 + (cfg.k - 1) * other**2)
    optimum = get_claim("C5.readouts").predictions["radius_argmax"](d=cfg.d)
    pooled = []
    for run in replica_runs(cfg, supervision="cluster"):
        s = run.summary()
        assert s["test_accuracy"] >= 0.99 and s["decoupling_score"] >= predicted_cos - DECOUPLING_SLACK, run.init_seed
        r = [x.radius for x in exact_radii(run.network, run.test.X, run.test.y, run.cluster_labels, "argmax")]
        ratio = float(np.median(r)) / optimum
        assert PER_INIT_RADIUS_BAND[0] <= ratio <= PER_INIT_RADIUS_BAND[1], (ratio, run.init_seed)
        pooled += r
    ratio = float(np.median(pooled)) / optimum
    assert RADIUS_BAND[0] <= ratio <= RADIUS_BAND[1], ratio


# The same properties must be able to fail: false statements and the wrong network.

FIXED = Config(k=6, positive=3, m=2, n=200, d=100_000, n_test=N_POINTS, eta=30.72 / 100_000,
               init_scale=1e-5 * math.sqrt(3072 / 100_000), steps=300, seed=1, engine="reduced")


def test_false_radius_statement_fails_the_band():
    """'The binary net reaches the optimum sqrt(d/2)' is false: its median radius over sqrt(d/2)
    is about sqrt(2/k) = 0.58 at k = 6, far outside the band."""
    run = run_simulation(FIXED)
    r = [x.radius for x in exact_radii(run.network, run.test.X, run.test.y, run.cluster_labels, "argmax")]
    ratio = float(np.median(r)) / get_claim("C5.readouts").predictions["radius_argmax"](d=FIXED.d)
    assert not RADIUS_BAND[0] <= ratio <= RADIUS_BAND[1]


def test_decoupled_weights_fail_the_averaging_property():
    """A simulator that decoupled under binary labels (each + neuron set to one own-class feature)
    fails the averaging property: score 1/sqrt(|J_s|) = 0.58 < AVERAGING_MIN."""
    from featavg.simulate import averaging_score

    run = run_simulation(FIXED)
    net = run.network
    for r in range(2 * FIXED.m):
        own = r % FIXED.positive if r < FIXED.m else FIXED.positive + r % (FIXED.k - FIXED.positive)
        net.W[r] = run.features[own] / FIXED.d
    assert averaging_score(net, run.features, run.cluster_labels) < AVERAGING_MIN


def test_general_averaging_radius_holds_at_a_one_against_four_partition():
    """C3's general formula (fitted scales and biases, |J+| = 1 of k = 5) at a fixed corner of the
    regime, both classes."""
    cfg = Config(**{**FIXED.__dict__, "k": 5, "positive": 1})
    ratios = averaged_net_radius_ratios(run_simulation(cfg))
    assert len(ratios) == 2 and all(RADIUS_BAND[0] <= x <= RADIUS_BAND[1] for x in ratios), ratios
