"""A2.relu_power's predictions against independent numerical optimisation, and its crossing helper.

Oracle for the decoupled net: the attack problem in the coordinates of the features,
``min r^2 + |t|^2`` subject to ``(sqrt d - r)^p <= sum_l t_l^p`` (own coordinate lowered, opposite
ones raised; the other own coordinates stay at 0, where ReLU^p vanishes), solved by SciPy's SLSQP
from many random starts (a local method: the best of the starts is an upper bound that the
global optimum can only undercut; the formula is also the value at a feasible point).
"""

import numpy as np
import pytest
from scipy import optimize

from featavg import get_claim
from featavg.claims.a2_relu_power import _crossing

CLAIM = get_claim("A2.relu_power")


def _attack_value(d, K, p, starts=40, seed=0):
    rng = np.random.default_rng(seed)
    s = np.sqrt(d)
    best = np.inf
    cons = {"type": "ineq", "fun": lambda v: np.sum(np.abs(v[1:]) ** p) - abs(s - v[0]) ** p}
    for _ in range(starts):
        v0 = np.concatenate([[rng.uniform(0, s)], rng.uniform(0, s, K)])
        res = optimize.minimize(lambda v: v @ v, v0, constraints=[cons], method="SLSQP",
                                options={"ftol": 1e-14, "maxiter": 500})
        if cons["fun"](res.x) >= -1e-9 * s ** p:  # any feasible end point bounds the optimum from above
            best = min(best, float(np.sqrt(res.x @ res.x)))
    return best


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0, 4.0])
def test_decoupled_radius_equals_numerical_optimum(p):
    d, K = 400.0, 3
    pred = float(CLAIM.predictions["radius_decoupled"](d, K, p))
    # SLSQP stops at 1e-14 in the objective r^2 ~ 200: the radius to ~1e-7 relative
    assert _attack_value(d, K, p) == pytest.approx(pred, rel=1e-5)


def test_crossing_reads_the_interval_ends():
    ps = np.array([1.0, 1.5, 2.0, 3.0])
    mid = np.array([0.45, 0.50, 0.60, 0.62])
    lo, hi = mid - 0.04, mid + 0.04
    c = _crossing(ps, lo, mid, hi, 0.47)
    assert c["median"] == pytest.approx(1.2)
    assert c["lower_end"] == pytest.approx(1.5 + 0.5 * (0.47 - 0.46) / (0.56 - 0.46))
    assert c["bracket"] == [1.5, 2.0]
    assert _crossing(ps, lo, mid, hi, 0.9)["bracket"] is None
