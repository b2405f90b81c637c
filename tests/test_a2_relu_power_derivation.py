"""A2.relu_power's derivation steps, checked numerically by oracles independent of SymPy.

The derivation proves the ReLU^p flip set by sign cases (every real argument), Hoelder's bound for
every L and p, and the best support from the sign of the cost's derivative for every p. These
were instance steps; they are kept here as cross-checks on a grid and random vectors.
"""

import numpy as np
import pytest

from featavg import get_claim

CLAIM = get_claim("A2.relu_power")


@pytest.mark.parametrize("p", [1.5, 3.0])
def test_flip_set_is_the_relu_nets_on_a_grid(p):
    g = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    zp, zm = np.meshgrid(g, g)
    f = np.maximum(zp, 0) ** p - np.maximum(zm, 0) ** p
    assert np.array_equal(f <= 0, (zp <= 0) | (zp <= zm))


def test_hoelder_on_random_vectors_and_its_equality_cases():
    rng = np.random.default_rng(0)
    for L in (2, 3, 5):
        T = np.abs(rng.normal(size=(2000, L)))
        n2 = np.linalg.norm(T, axis=1)
        for p in (1.2, 1.5, 2.0, 3.0, 4.0):
            factor = L ** max(0.0, 1 / p - 0.5)
            assert np.all((T ** p).sum(axis=1) ** (1 / p) <= factor * n2 * (1 + 1e-12))
            eq = np.ones(L) if p <= 2 else np.eye(L)[0]
            assert (eq ** p).sum() ** (1 / p) == pytest.approx(factor * np.linalg.norm(eq), rel=1e-12)


@pytest.mark.parametrize("p", [1.5, 2.0, 3.0])
def test_best_support_is_the_cheapest_of_all_supports(p):
    """r_dec(p) = min over L = 1..K of the support cost c_L."""
    d, K = 100.0, 7
    cost = CLAIM.predictions["cost_support"]
    best = min(float(cost(d, L, p)) for L in range(1, K + 1))
    assert float(CLAIM.predictions["radius_decoupled"](d, K, p)) == pytest.approx(best, rel=1e-12)
