"""A1.leaky_relu's predictions against oracles independent of its derivation and of the certifier.

Oracle: brute-force enumeration of activation regions (``test_activations.brute_force_leaky``: on
each region a leaky net is affine, and the minimum-norm point of a polyhedron is found by subset
enumeration, no optimiser) on small idealised nets with mu_j = sqrt(d) e_j.
"""

import numpy as np
import pytest

from featavg import get_claim
from featavg.simulate import BinaryNetwork, MultiClassNetwork, make_activation

from test_activations import brute_force_leaky

#: the oracle's feasibility tolerance is 1e-9 on O(1) data (test_robust_certified)
TOL = 1e-7

CLAIM = get_claim("A1.leaky_relu")


@pytest.mark.parametrize("a", [0.1, 0.5])
@pytest.mark.parametrize("pos", [1, 2])
def test_decoupled_sum_radius_equals_brute_force(a, pos):
    """k = 3 (|J+| = pos), d = 3, w_j = mu_j / sqrt(d): the sum readout's radius at mu_0 (class +1)
    and at the last feature (class -1) is sqrt(d/(1 + K + a^2 (P - 1)))."""
    k = d = 3
    mu = np.sqrt(d) * np.eye(k)
    labels = np.array([1] * pos + [-1] * (k - pos))
    net = MultiClassNetwork(mu / np.sqrt(d), np.zeros(k), h=1, activation=make_activation("leaky_relu", a))
    f = CLAIM.predictions["radius_decoupled_sum"]
    for j, y, P in ((0, 1, pos), (k - 1, -1, k - pos)):
        oracle = brute_force_leaky(net, mu[j], y, labels, "sum")
        assert oracle == pytest.approx(float(f(d, k - P, P, a)), rel=TOL)


@pytest.mark.parametrize("a", [0.2, 0.6])
def test_averaging_radius_is_the_hyperplane_branch_even_where_relu_switches_off(a):
    """A biased averaging net (k = 4, |J+| = 2, d0 = 4) whose ReLU radius is its switch-off branch:
    the leaky radius is the hyperplane distance (brute force), not the ReLU minimum. The point is
    one of J-, whose opposite neuron's bias b_+ = -0.9 d0 puts the hyperplane far away. Built in the
    two span coordinates (the L2 minimiser lies there): w_+ = sqrt(2 d0) e_1, w_- = sqrt(2 d0) e_2,
    and mu_j (j in J-) projects onto (0, sqrt(d0/2)); the roles of + and - swap in the formula."""
    k, d0 = 4, 4.0
    b_p = -0.9 * d0
    W = np.sqrt(2 * d0) * np.eye(2)
    net = BinaryNetwork(W, np.array([b_p, 0.0]), make_activation("leaky_relu", a))
    x = np.array([0.0, np.sqrt(d0 / 2)])
    hyper = CLAIM.predictions["radius_averaging"](d0, k, 2, 1.0, 1.0, 0.0, b_p)
    relu = get_claim("C3.averaging_radius").predictions["radius"](d0, k, 2, 1.0, 1.0, 0.0, b_p)
    oracle = brute_force_leaky(net, x, -1)
    assert oracle == pytest.approx(float(hyper), rel=TOL)
    assert float(relu) < 0.9 * oracle  # the ReLU formula (switch-off) would be far off
