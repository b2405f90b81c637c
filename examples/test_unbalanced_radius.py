"""A property test of the example claim U1.unbalanced_radius, written with featavg.testing.

Run it with ``python -m pytest examples/test_unbalanced_radius.py`` (tests/test_example_claim.py
does, in featavg's slow tier). Hypothesis draws unbalanced partitions (``|J+|`` of 1 or 2 among 4
to 6 clusters) inside featavg.testing's stated regime; every trained initialisation whose neurons
all fire on their own class at initialisation (the claim's regime) must give each class a median
exact radius of ``sqrt(d/k)``, within the error budget featavg.testing derives from C1's prediction
of the trained net. The rival theory, the radius following the class size ``sqrt(d/(2|J_y|))``,
fails under the same strategy.
"""

from pathlib import Path

import numpy as np
from hypothesis import find, given, settings

from featavg import discover
from featavg.simulate import exact_radii
from featavg.testing import alive_at_init, averaged_net_radius_budget, averaging_prediction, regimes, replica_runs

CLAIM = discover([str(Path(__file__).with_name("unbalanced_radius.py"))]).claim("U1.unbalanced_radius")
UNBALANCED = regimes(k=(4, 6), positive=(1, 2))


def _holds(run, predicted):
    """Each class's median radius over ``predicted(class)`` lies within the derived budget."""
    if not alive_at_init(run).all():
        return None  # outside the claim's regime: a neuron dead at initialisation
    r = np.array([x.radius for x in exact_radii(run.network, run.test.X, run.test.y, run.cluster_labels)])
    prediction = averaging_prediction(run)
    for s in (1, -1):
        mine = r[run.test.y == s]
        if mine.size == 0:
            continue
        target = predicted(run, s)
        budget = averaged_net_radius_budget(prediction, target, mine.size)
        if abs(float(np.median(mine)) / target - 1) > budget:
            return False
    return True


def claim(run, s):
    """U1's prediction, lambdified from its SymPy statement: sqrt(d/k) for both classes."""
    return float(CLAIM.predictions["radius"](run.config.d, run.config.k))


def rival(run, s):
    """The rival: sqrt(d/(2|J_y|))."""
    own = run.config.positive if s > 0 else run.config.k - run.config.positive
    return float(CLAIM.predictions["rival_own_class"](run.config.d, own))


@settings(max_examples=4, deadline=None)
@given(cfg=UNBALANCED)
def test_each_class_has_the_averaging_radius(cfg):
    for run in replica_runs(cfg, 2):
        assert _holds(run, claim) is not False, run.init_seed


def test_the_rival_theory_fails_under_the_same_strategy():
    cfg = find(UNBALANCED, lambda c: _holds(replica_runs(c, 1)[0], rival) is False,
               settings=settings(max_examples=20, deadline=None, database=None))
    assert cfg.positive in (1, 2)
