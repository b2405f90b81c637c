"""C6.mixed_labels: the exact radius and the noise correlation, derived for every p and K, against explicit weights.

The steps of C6.mixed_labels reduce the mixed-label net to symmetric coordinates (for symbolic
``p = |J_s|``, ``K = |J_-s|``); these tests build the weights explicitly at several sizes (the
former instance checks were at p = K = 3) and compare with the lambdified predictions.
"""

import numpy as np
import pytest

from featavg._registry import default_registry

PRED = default_registry().claim("C6.mixed_labels").predictions


def weights(p, K, beta, d):
    mu = np.sqrt(d) * np.eye(p + K)
    own, opp = list(range(p)), list(range(p, p + K))
    return mu, np.array([mu[j] + beta * sum(mu[i] for i in (own if j in own else opp) if i != j)
                         for j in range(p + K)])


@pytest.mark.parametrize("p, K", [(2, 2), (3, 3), (5, 2), (2, 7), (4, 6)])
@pytest.mark.parametrize("beta", [0.2, 0.7])
def test_bisector_distance_and_noise_correlation_with_explicit_weights(p, K, beta):
    d = 50.0
    mu, W = weights(p, K, beta, d)
    g1, g2 = W[0] - W[p], W[0] - W[p + 1]
    # the distance of mu_s to the bisector of w_s and w_j' is the exact radius (C1 binds)
    assert g1 @ mu[0] / np.linalg.norm(g1) == pytest.approx(float(PRED["radius_exact"](d, p, K, beta)), rel=1e-12)
    assert g1 @ g2 / (g1 @ g1) == pytest.approx(float(PRED["noise_correlation"](p, K, beta)), rel=1e-12)
    # the other own outputs stay below the attacked one at the bisector's foot (C2 is slack)
    x = mu[0] - (g1 @ mu[0]) / (g1 @ g1) * g1
    u = W @ x
    assert np.all(u[p] > u[1:p] + 1e-9) and u[p] == pytest.approx(u[0], rel=1e-12)
