"""C5.linf_readouts: the ReLU-sum and noisy-point steps, derived for every size, cross-checked numerically.

The steps "a sum of ReLUs is the largest partial sum" and "noisy point" of C5.linf_readouts are
proved for symbolic sizes; these tests are their former instance checks, kept as independent
oracles: a grid with ties, and the smallest flipping attack size found by bisection.
"""

import itertools

import numpy as np

from featavg.claims import c5_linf_readouts as c5


def test_a_sum_of_relus_is_the_largest_partial_sum_on_a_grid_with_ties():
    g = np.array([-1.5, -0.5, 0.0, 0.5, 2.0])
    pts = np.array(list(itertools.product(g, repeat=3)))
    lhs = np.maximum(pts, 0).sum(axis=1)
    rhs = np.max([pts[:, list(B)].sum(axis=1) if B else np.zeros(len(pts))
                  for r in range(4) for B in itertools.combinations(range(3), r)], axis=0)
    np.testing.assert_array_equal(lhs, rhs)


def test_noisy_radii_are_the_smallest_flipping_attack():
    """20 random points, 3 own and 4 opposite outputs: the closed forms against bisection on eps."""
    rng = np.random.default_rng(5)
    own, opp = [0, 1, 2], [3, 4, 5, 6]
    for _ in range(20):
        c = rng.standard_normal(7)
        c[0] += 20.0
        s_fn = lambda e: np.maximum(c[opp] + e, 0).sum() - np.maximum(c[own] - e, 0).sum()  # noqa: E731
        a_fn = lambda e: np.maximum(c[opp] + e, 0).max() - np.maximum(c[own] - e, 0).max()  # noqa: E731
        assert abs(c5._bisection(s_fn, 0.0, 40.0) - c5.noisy_sum(c, own, opp)) < 1e-9
        assert abs(c5._bisection(a_fn, 0.0, 40.0) - c5.noisy_argmax(c, own, opp)) < 1e-9
