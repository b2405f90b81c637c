"""R1.digits' derivation steps, checked numerically by oracles independent of SymPy.

The derivation (``R1.digits``) proves the L-infinity distance ``|a|/||w||_1`` for every dimension
(a Hoelder lower bound and a vertex that attains it) and the monotonicity of the median for any
number of points (counting functions). These were instance steps of the derivation; they are kept
here as cross-checks: a linear program solved by HiGHS, and random pairs of samples.
"""

import numpy as np
import pytest

from featavg import get_claim

CLAIM = get_claim("R1.digits")


@pytest.mark.parametrize("n", [1, 4, 9])
def test_linf_distance_is_the_lp_optimum(n):
    """min s s.t. -s <= rho_i <= s, w.rho = -a (HiGHS) equals |a|/||w||_1 for random w in R^n."""
    from scipy.optimize import linprog

    gen = np.random.default_rng(19 + n)
    f = CLAIM.predictions["hyperplane_distance_linf"]
    for _ in range(5):
        wv, av = gen.standard_normal(n), float(gen.standard_normal())
        c = np.r_[np.zeros(n), 1.0]
        A_ub = np.block([[np.eye(n), -np.ones((n, 1))], [-np.eye(n), -np.ones((n, 1))]])
        res = linprog(c, A_ub=A_ub, b_ub=np.zeros(2 * n), A_eq=np.r_[wv, 0.0][None, :], b_eq=[-av],
                      bounds=[(None, None)] * (n + 1), method="highs")
        assert res.status == 0
        assert res.fun == pytest.approx(float(f(av, np.abs(wv).sum())), abs=1e-9)
        # the L2 distance is another formula (the rival the ideal check names)
        assert abs(res.fun - float(CLAIM.predictions["hyperplane_distance"](av, np.linalg.norm(wv)))) > 1e-6 or n == 1


def test_median_is_monotone_on_random_pairs():
    """u_i <= v_i pointwise gives median(u) <= median(v), at even and odd sizes."""
    gen = np.random.default_rng(7)
    for n in (1, 2, 5, 50, 51):
        for _ in range(20):
            u = gen.standard_normal(n)
            v = u + np.abs(gen.standard_normal(n)) * (gen.random(n) < 0.5)
            assert np.median(u) <= np.median(v)
