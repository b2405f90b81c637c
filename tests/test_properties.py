"""Property-based tests: the claims hold across a stated regime, each within a derived budget.

Hypothesis draws a configuration of :data:`featavg.testing.REGIME` (``featavg.testing.regimes``):
``2 <= k <= 6``, any partition ``1 <= |J+| <= k - 1``, ``m in {2, 3}`` (binary) or ``h in {1, 2}``
(cluster labels), ``100 <= n <= 300``, ``d in {3e4, 1e5, 3e5, 1e6}`` far above ``n``, the paper's
learning rate and initialisation rescaled to ``d`` (``eta = 3.072/d``, ``init_scale = 1e-5
sqrt(3072/d)``), 300 GD steps, 60 test points; every run uses the reduced engine (exact in law,
docs/science.md §4). Each example trains ``REPLICAS`` initialisations on the drawn data in one
stacked pass and checks every one.

The regime condition (issue 20), checked from the initial weights and the training data by
``featavg.testing.alive_at_init``: a neuron that fires on no point of its own class (binary) or
cluster (cluster labels) at initialisation gets no gradient from them; it is off on all ``n_j``
points of a cluster with probability ``1/(n_j + 1)``. Such a neuron is outside the claims, and so
are the other neurons of its class: the points of the other classes it fires on pull it, through
their noise the pull can move its pre-activation on its own points either way and revive it, and a
revived neuron shares the class's margin with the others. The properties hold the neurons of fully
alive classes to the claims and test the whole-network statements (accuracy, radii) only on
replicas where every neuron is alive. (That a dead neuron stays dead is therefore not asserted.)

Every bound is a claim's prediction with a stated budget (``featavg.testing``):

* C1 (binary labels): the averaging score ``cos(w_r, sum_{J_s} mu)`` and the own-feature ratios
  ``lambda_{r,j}/mean lambda`` of the neurons of each class whose first GD steps are determined
  (``AveragingPrediction.certain``: no own point within the prediction's neglected noise; otherwise
  the budget of the uncertain points is a first-order bound and a flip cascades through the class's
  margin), against C1.feature_averaging's prediction from the run's sample and initial weights (the
  noise share, the between-cluster spread and the opposite-class part; budget: C1's score band and
  C1.cos_own_feature's band);
* C2: no test error (every test point lies at least ``r/sigma >= 0.9 sqrt(3e4/6) = 64`` noise
  standard deviations from the decision boundary, C3, so an error has probability ``< 1e-300``);
* C3: each class's median exact radius over C3's averaging radius with the trained scales and
  biases, budget ``featavg.testing.averaged_net_radius_budget`` (from C1's parts);
* C5 (cluster labels): each alive neuron's ``cos(w_j, mu_j)`` and the mean off-feature ratio (over
  the neurons whose point activities the prediction determines: ``DecouplingPrediction.certain``)
  against C5.decoupling's prediction; the argmax readout's pooled median radius over
  ``sqrt(d/2)`` (C5.readouts, C4's optimum), budget ``featavg.testing.argmax_radius_budget``
  (with the outputs' unequal scales: at 300 steps the outputs of clusters of unequal sizes differ
  in scale, and a cluster whose output is smaller than an opposite one's has its boundary nearer).

Where a draw cannot tell averaging from decoupling. With ``k = 2`` each class holds one cluster, so
an averaging net and a decoupled net are the same net (``w_s ~ mu_j``), and with ``k = 3`` one class
has a single cluster. For binary labels the own-feature ratios tell the two apart exactly for the
neurons of a class with ``|J_s| >= 2`` (a decoupled neuron has ratio ``|J_s|`` on one feature and 0
on the others), so that assertion is made for those neurons only, and only where the first GD steps
are determined (no own point of the class has an activity within the prediction's neglected noise:
``AveragingPrediction.certain``; otherwise the ratio band is a bound on a reviving pair's lag, which
the class's other neurons share through the margin); at ``k = 2`` the binary property
checks the finite-n parts of the score, which do not depend on the distinction. For cluster labels
the off-feature ratio tells them apart at every ``k``: GD leaves every neuron a negative component
``u*`` on the other features (C5.decoupling.off_feature), where an averaging net has 0 (``|J_s| = 1``)
or 1 (same class).

The same properties must fail on false statements: for each, a test finds a draw of the same
strategy on which the false statement's bound fails (``hypothesis.find``).
"""

import math
import os

import numpy as np
from hypothesis import HealthCheck, find, given, note, settings

from featavg import get_claim
from featavg.testing import (
    alive_at_init,
    argmax_radius_budget,
    averaged_net_radius_budget,
    averaged_net_radius_ratios,
    averaging_prediction,
    decoupling_prediction,
    median_radius_ratio,
    regimes,
    replica_runs,
)

#: initialisations trained per drawn configuration (the claims are about GD from a small random
#: initialisation, not about one draw of it)
REPLICAS = 3
#: examples per property: the profile's, but at most 8 in the default ``ci`` profile (the whole file
#: stays under a minute on two cores); ``HYPOTHESIS_PROFILE=thorough`` runs the profile's 300
EXAMPLES = (min(8, settings.default.max_examples) if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"
            else settings.default.max_examples)
#: joint confidence of one run's statistical band terms: about 900 runs in the thorough profile,
#: so a correct claim fails some run with probability below 1e-3
LEVEL = 1 - 1e-6
#: how a false statement is searched for: at most this many draws of the same strategy
FIND = settings(max_examples=25, database=None, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

BINARY = regimes(supervision="binary")
CLUSTER = regimes(supervision="cluster")


def _accuracy(run):
    return run.summary()["test_accuracy"]


def _binary_checks(run, false=None):
    """The binary property on one run; ``false`` replaces one prediction by a false statement.

    Returns False when the (possibly false) statement fails, True when it holds, None when the run
    is outside the regime for it.
    """
    alive = alive_at_init(run)
    pred = averaging_prediction(run, level=LEVEL)
    cfg = run.config
    # a class with a dead neuron is outside the claim for all its neurons: the dead one can be revived
    # (module docstring) and then shares the class's margin, which the prediction gives to the others
    signs = run.network.neuron_signs
    full = np.array([alive[signs == s].all() for s in signs])
    # ... and so is one whose first steps are not determined (an own point of the class within the
    # prediction's neglected noise): the budget of its uncertain points is first order, and a flip
    # cascades through the class's margin to all its neurons (module docstring)
    certain = np.array([pred.certain[signs == s].all() for s in signs])
    kept = (full & certain)[pred.alive]
    score = pred.score
    if false == "noise share only":
        score = np.full_like(score, float(get_claim("C1.feature_averaging").predictions["cos_class_sum"](
            math.sqrt(cfg.k / cfg.n))))
    if np.any((np.abs(pred.measured_score - score) > pred.score_halfwidth)[kept]):
        return False
    # the own-feature ratios tell averaging from decoupling for the classes with |J_s| >= 2
    ratios = pred.ratios
    if false == "decoupled":
        ratios = np.where(np.isnan(ratios), np.nan, 0.0)
        for r in np.flatnonzero(pred.alive):
            first = np.flatnonzero(~np.isnan(ratios[r]))[0]
            ratios[r, first] = pred.own_sizes[r]
    wide = (pred.own_sizes >= 2) & full & certain
    if np.any(np.abs(pred.measured_ratios - ratios)[wide] > pred.ratio_halfwidth[wide]):
        return False
    if not alive.all():
        return None
    if _accuracy(run) < 1.0:
        return False
    radius = get_claim("C3.averaging_radius").predictions["radius_balanced"](d=cfg.d, k=cfg.k)
    points = min(int(np.sum(run.test.y == s)) for s in (1, -1))
    budget = averaged_net_radius_budget(pred, radius, points)
    ratios_r = averaged_net_radius_ratios(run)
    if false == "optimal radius":
        optimum = get_claim("C5.readouts").predictions["radius_argmax"](d=cfg.d)
        ratios_r = [median_radius_ratio(run, optimum)]
    note(f"init seed {run.init_seed}: radius ratios {np.round(ratios_r, 4)}, budget {budget:.4f}")
    return bool(all(abs(x - 1) <= budget for x in ratios_r))


def _cluster_checks(run, false=None):
    """The cluster-label property on one run (as :func:`_binary_checks`)."""
    alive = alive_at_init(run)
    pred = decoupling_prediction(run)
    cfg = run.config
    if not alive.all():
        return None   # a dead neuron can be revived by the other clusters' pulls: outside the claim
    cos = pred.cos
    if false == "averaging":
        cos = 1 / np.sqrt(pred.class_sizes)
    if np.any(np.abs(pred.measured_cos - cos) > pred.cos_halfwidth):
        return False
    # the off-feature ratios, over the neurons whose point activities are all determined
    sure = pred.certain
    if sure.any():
        u = float(np.mean(pred.off_ratios[sure])) if false != "no off-feature part" else 0.0
        if abs(float(np.mean(pred.measured_off_ratios[sure])) - u) > float(np.mean(pred.off_ratio_halfwidth[sure])):
            return False
    if _accuracy(run) < 1.0:
        return False
    optimum = get_claim("C5.readouts").predictions["radius_argmax"](d=cfg.d)
    if false == "averaging radius":
        optimum = get_claim("C3.averaging_radius").predictions["radius_balanced"](d=cfg.d, k=cfg.k)
    ratio = median_radius_ratio(run, optimum)
    budget = argmax_radius_budget(pred, cfg.d, run.test.y.size)
    note(f"init seed {run.init_seed}: argmax radius ratio {ratio:.4f}, budget {budget:.4f}")
    if not math.isfinite(budget):
        return None   # an output's scale is not determined by the prediction: outside the claim
    return abs(ratio - 1) <= budget


@settings(max_examples=EXAMPLES)
@given(cfg=BINARY)
def test_binary_labels_average_generalise_and_have_the_averaging_radius(cfg):
    """C1 (score and per-feature ratios), C2 (accuracy), C3 (radius, general partition)."""
    for run in replica_runs(cfg, REPLICAS):
        assert _binary_checks(run) is not False, run.init_seed


@settings(max_examples=EXAMPLES)
@given(cfg=CLUSTER)
def test_cluster_labels_decouple_and_reach_the_optimal_radius(cfg):
    """C5 (cosines, off-feature ratios), C2 (accuracy), the argmax radius sqrt(d/2) (C4's optimum)."""
    for run in replica_runs(cfg, REPLICAS, supervision="cluster"):
        assert _cluster_checks(run) is not False, run.init_seed


# The same properties fail on false statements: a draw of the same strategy where the bound fails.

def _fails(check, false, supervision="binary"):
    def condition(cfg):
        runs = replica_runs(cfg, 1, supervision=supervision)
        return check(runs[0], false) is False
    return condition


def test_false_statement_decoupled_binary_net_fails():
    """'Binary labels decouple: ratio |J_s| on one own feature, 0 on the others' fails (|J_s| >= 2)."""
    cfg = find(BINARY, _fails(_binary_checks, "decoupled"), settings=FIND)
    assert cfg.k >= 3


def test_false_statement_score_is_the_noise_share_alone_fails():
    """'The averaging score is 1/sqrt(1 + k/n)' (no spread, no opposite part, no initial noise) fails."""
    find(BINARY, _fails(_binary_checks, "noise share only"), settings=FIND)


def test_false_statement_binary_net_has_the_optimal_radius_fails():
    """'The binary net's median radius is sqrt(d/2)' fails (it is sqrt(d/k), below it for k >= 3)."""
    cfg = find(BINARY, _fails(_binary_checks, "optimal radius"), settings=FIND)
    assert cfg.k >= 3


def test_false_statement_cluster_net_averages_fails():
    """'Cluster labels average: cos(w_j, mu_j) = 1/sqrt(|J_s|)' fails (at k = 2 too, where 1/sqrt(|J_s|) = 1
    misses the noise share and the off-feature part)."""
    find(CLUSTER, _fails(_cluster_checks, "averaging", "cluster"), settings=FIND)


def test_false_statement_no_off_feature_part_fails_even_at_two_clusters():
    """'A decoupled neuron has no off-feature component' fails, at k = 2 too (where the cosines
    cannot tell averaging from decoupling)."""
    find(regimes(supervision="cluster", k=2), _fails(_cluster_checks, "no off-feature part", "cluster"),
         settings=FIND)


def test_false_statement_argmax_radius_is_the_averaging_radius_fails():
    """'The argmax readout's radius is the averaging radius sqrt(d/k)' fails (k >= 3)."""
    cfg = find(CLUSTER, _fails(_cluster_checks, "averaging radius", "cluster"), settings=FIND)
    assert cfg.k >= 3
