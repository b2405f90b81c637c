"""C3.averaging_radius: the four inequalities behind the step "neurons of one sign differ".

The step's check (featavg.claims.c3_averaging_radius, ``spread_bound``) derives the bound
``|r - rbar| <= (S + rbar sigma_W)/(||v|| - sigma_W)`` symbolically from four inequalities about
a net whose neurons of one sign differ. Those are per-neuron facts (ReLU is 1-Lipschitz and
convex, the triangle and Cauchy-Schwarz inequalities) averaged over the neurons; this test checks
them on random nets, against the nets' own forward passes (it was the step's check before issue 15
made every step general). With h = zbar_+ - zbar_-, D_- = max_r |z_{-,r} - zbar_-|:

* |f - fbar| <= S(x) (ReLU 1-Lipschitz, Jensen), S the mean |z_{s,r} - zbar_s| of both signs;
* S(x + rho) <= S(x) + ||rho|| sigma_W, sigma_W the mean ||w_{s,r} - wbar_s|| of both signs;
* f >= h - ReLU(D_- - zbar_-) and f <= h + mean_r ReLU(-z_{+,r}) (the exactness conditions).
"""

import numpy as np
import pytest


def relu(z):
    return np.maximum(z, 0.0)


@pytest.mark.parametrize("m, dim", [(3, 6), (1, 2), (7, 4), (5, 40)])
def test_the_four_spread_inequalities_hold_on_random_nets(m, dim):
    rng = np.random.default_rng([m, dim])
    for _ in range(200):
        Wp, Wm = rng.normal(size=(m, dim)), rng.normal(size=(m, dim))
        x, rho = rng.normal(size=dim), rng.normal(size=dim)

        def spread(x):
            zp, zm = Wp @ x, Wm @ x
            return np.abs(zp - zp.mean()).mean() + np.abs(zm - zm.mean()).mean()

        zp, zm = Wp @ x, Wm @ x
        f = relu(zp).mean() - relu(zm).mean()
        fbar = relu(zp.mean()) - relu(zm.mean())
        h = zp.mean() - zm.mean()
        sigW = np.linalg.norm(Wp - Wp.mean(0), axis=1).mean() + np.linalg.norm(Wm - Wm.mean(0), axis=1).mean()
        assert abs(f - fbar) <= spread(x) + 1e-12
        assert spread(x + rho) <= spread(x) + np.linalg.norm(rho) * sigW + 1e-12
        assert f >= h - relu(np.abs(zm - zm.mean()).max() - zm.mean()) - 1e-12
        assert f <= h + relu(-zp).mean() + 1e-12


def test_the_inequalities_are_not_vacuous():
    """Without its growth term (S(x + rho) <= S(x)) the second inequality fails on some random net, and
    without the ReLU correction the last one fails: the test discriminates."""
    rng = np.random.default_rng(1)
    no_growth = no_correction = False
    for _ in range(200):
        Wp, Wm = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
        x, rho = rng.normal(size=6), rng.normal(size=6)

        def spread(x):
            zp, zm = Wp @ x, Wm @ x
            return np.abs(zp - zp.mean()).mean() + np.abs(zm - zm.mean()).mean()

        zp, zm = Wp @ x, Wm @ x
        f = relu(zp).mean() - relu(zm).mean()
        no_growth |= spread(x + rho) > spread(x) + 1e-12
        no_correction |= f > zp.mean() - zm.mean() + 1e-12
    assert no_growth and no_correction
