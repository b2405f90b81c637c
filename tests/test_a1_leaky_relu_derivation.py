"""A1.leaky_relu's derivation steps, checked numerically by oracles independent of SymPy.

The derivation proves by sign cases (every real argument) that the leaky averaging net flips on one
half-space, and by termwise bounds and linearity of sums (every P, K) that a flip of the sum readout
implies the half-space with the opposite outputs above 0 counted fully. These were instance steps;
they are kept here as cross-checks on a grid and on random pre-activations.
"""

import itertools

import numpy as np
import pytest


@pytest.mark.parametrize("a", [0.1, 0.5])
def test_averaging_flip_set_is_one_half_space_on_a_grid(a):
    g = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    zp, zm = np.meshgrid(g, g)
    s = lambda x: np.maximum(x, a * x)  # noqa: E731
    assert np.array_equal(s(zp) - s(zm) <= 0, zp <= zm)


@pytest.mark.parametrize("a", [0.1, 0.4])
def test_sum_readout_flip_implies_the_half_space(a):
    """P = K = 3, own output s = 0: F <= 0 implies z_s + a sum_{own j != s} z_j <= max_A (sum_A z_l +
    a sum_rest z_l), and the maximising A is {l : z_l > 0} (the derivation's set)."""
    rng = np.random.default_rng(0)
    s = lambda x: np.maximum(x, a * x)  # noqa: E731
    for zz in rng.normal(size=(3000, 6)):
        own, opp = zz[:3], zz[3:]
        best = max(opp[list(A)].sum() + a * (opp.sum() - opp[list(A)].sum())
                   for r in range(4) for A in itertools.combinations(range(3), r))
        pos = opp > 0
        assert best == pytest.approx(opp[pos].sum() + a * opp[~pos].sum(), abs=1e-12)
        if s(own).sum() <= s(opp).sum():
            assert own[0] + a * own[1:].sum() <= best + 1e-12
