"""The built late regime of C7: the simulator's GD against the margin claims' lambdified predictions.

A binary net built in C7's idealised late regime (``featavg.simulate.late_regime``: own neurons
active on every own cluster, opposite neurons at pre-activation -1, noise-free data with equal
cluster counts) has margins that are linear in its parameters as long as no neuron changes its
activity, so GD follows the margin map exactly. These are tests of the implementation (gradients,
GD, the margin read-out) against each claim's prediction; the claims' evidence about trained
networks is in their ``featavg verify`` rows.

Tolerances. A margin ``q_j = (1/m) sum_r (<w_r, mu_j> + b_r)`` is computed with dot products of
length ``d``; each is within ``gamma_d = d eps / (1 - d eps)`` of ``sum_i |w_ri mu_ji|`` (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.1), so ``|fl(q_j) - q_j| <= 2 d eps
A_j`` with ``A_j = (1/m) sum_r (sum_i |w_ri mu_ji| + |b_r|)`` (:func:`roundoff`). Each check also
names the nearest wrong prediction and asserts that it misses by far more than the tolerance.
"""

import math

import numpy as np
import pytest

from featavg import get_claim
from featavg.simulate import (Config, cluster_margins, decoupled_late_regime, late_regime, make_features,
                              make_partition, run_simulation)

EPS = float(np.finfo(float).eps)
K, D, M = 10, 200, 5


def roundoff(net, features):
    """Bound on the float64 error of every cluster margin of ``net`` (module docstring), shape (k,)."""
    d = features.shape[1]
    # a margin is a mean (binary: of the own neurons; multi-class: of an output's, minus another's)
    # of pre-activations: at most twice the largest |pre-activation| sum
    A = (np.abs(net.W) @ np.abs(features).T + np.abs(net.b)[:, None]).max(axis=0)
    return 2 * d * EPS * 2 * A


def built(q0, eta, steps, *, seed=3, every=0):
    """Train the built late-regime net (k=10, d=200, m=5, 10 noise-free copies of each mu_j)."""
    rng = np.random.default_rng(seed)
    F = make_features(K, D, rng)
    labels = make_partition(K)
    net, train = late_regime(F, labels, q0, m=M, per_cluster=10)
    cfg = Config(k=K, d=D, n=train.y.size, n_test=train.y.size, m=M, sigma=0.0, eta=eta, steps=steps, seed=seed,
                 history_every=every)
    run = run_simulation(cfg, features=F, cluster_labels=labels, train=train, test=train, W_init=net.W, b_init=net.b)
    return run, net, labels


def test_one_gd_step_is_one_euler_step_of_the_margin_ode():
    """C7.margin_ode: (q(eta) - q(0))/eta equals (d g_j + sum_{J_s} g_i)/(mk); the uncoupled rate misses."""
    f = get_claim("C7.margin_ode").predictions
    q0 = np.array([0.2, 0.5, 0.9, 1.4, 2.0, 0.3, 0.6, 1.0, 1.5, 2.5])
    eta = 1e-4
    run, net0, labels = built(q0, eta, 1)
    q1 = cluster_margins(run.network, run.features, labels)
    rate = (q1 - q0) / eta
    pred, uncoupled = np.empty(K), np.empty(K)
    for s in (1, -1):
        idx = labels == s
        S = float(np.sum(f["g"](q0[idx])))
        pred[idx] = f["rate"](q0[idx], S, D, M, K)
        uncoupled[idx] = f["rate_uncoupled"](q0[idx], D, M, K)
    # the built margins q0 themselves carry round-off, as does q1: both ends, divided by eta
    tol = (roundoff(net0, run.features) + roundoff(run.network, run.features)) / eta
    assert np.all(np.abs(rate - pred) <= tol), (rate - pred, tol)
    assert np.all(np.abs(rate - uncoupled) > 100 * tol)  # the coupling is 2.5% of the rate at d = 200


def test_gd_iterates_the_exact_map_of_equal_margins():
    """C7.gd_step: 50 GD steps equal 50 iterations of q -> q + eta C'/(1+e^q); C' = d/(mk) misses."""
    step = get_claim("C7.gd_step").predictions["step"]
    C = float(get_claim("C7.lambert_w").predictions["C"](D, K // 2, M, K))
    eta, steps, q0 = 0.02, 50, 0.5
    run, net0, labels = built(np.full(K, q0), eta, steps)
    q, q_rival = q0, q0
    for _ in range(steps):
        q = float(step(q, eta, C))
        q_rival = float(step(q_rival, eta, C * D / (D + K // 2)))
    meas = cluster_margins(run.network, run.features, labels)
    # each step's round-off enters once; the map contracts (derivative 1 + eta C g'(q) in (0, 1)),
    # so the errors of the steps add at most
    tol = (steps + 1) * float(np.max(roundoff(run.network, run.features))) + steps * 4 * EPS * abs(q)
    assert np.all(np.abs(meas - q) <= tol), (meas - q, tol)
    assert np.all(np.abs(meas - q_rival) > 1000 * tol)


def test_gd_leads_the_lambert_w_flow_by_the_derived_first_order_term():
    """C7.lambert_w: GD - flow = (eta C/2) g(q_t) log(g(q_0)/g(q_t)) + O(eta^2), so the error is first order.

    With ``b = 2 eta C max|g'|`` at the largest eta (the relative size of the next order), halving
    eta divides the error by ``2 (1 +- b)`` and the remainder ``r = (GD - flow) - e1`` by
    ``4 (1 +- b)``, and ``|r| < b |GD - flow|``; a second-order scheme (the rival) would divide the
    error by 4.
    """
    P = get_claim("C7.lambert_w").predictions
    C = float(P["C"](D, K // 2, M, K))
    q0, t_end = 0.5, 2.0
    flow = float(P["q"](t_end, C, P["c_from_q0"](q0)))
    errs, rems = [], []
    for steps in (50, 100, 200, 400):
        eta = t_end / steps
        run, _, labels = built(np.full(K, q0), eta, steps)
        q = float(np.mean(cluster_margins(run.network, run.features, labels)))
        e1 = float(P["gd_correction"](flow, q0, eta, C))
        errs.append(q - flow)
        rems.append(q - flow - e1)
    errs, rems = np.array(errs), np.array(rems)
    g = 1 / (1 + math.exp(q0))
    bound = 2 * (t_end / 50) * C * g * (1 - g)  # eta C |g'| at the largest eta, |g'| <= g(q0)(1 - g(q0))
    assert np.all(errs > 0)  # GD runs ahead of the flow (the correction's sign)
    assert np.all(np.abs(errs[:-1] / errs[1:] - 2) <= 2 * bound)
    assert np.all(np.abs(rems[:-1] / rems[1:] - 4) <= 4 * bound)
    assert np.all(np.abs(errs[:-1] / errs[1:] - 4) > 4 * bound)  # not second order
    assert np.all(np.abs(rems) < np.abs(errs) * bound)  # the derived coefficient is the leading term


def test_equal_margins_attract_at_the_linearised_rate():
    """C7.equal_margins_attract: log(spread_T/spread_0) = sum_t log(1 + eta d g'(qbar_t)/(mk)), qbar the extremes' midpoint.

    The tolerance is the cubic term of g(qbar + delta/2) - g(qbar - delta/2) (relative
    delta^2 max|g'''/g'|/24 per step, |g'''| <= |g'| for the logistic weight) plus the round-off
    of the spread (a difference of margins) at both ends; the common mode's rate (d + p) g'/(mk)
    and "no attraction" miss by far more.
    """
    rate = get_claim("C7.equal_margins_attract").predictions["difference_rate"]
    rng = np.random.default_rng(74)
    eta, steps = 0.005, 400
    q0 = 0.5 + 1e-4 * rng.standard_normal(K)
    run, net0, labels = built(q0, eta, steps, every=1)
    Q = run.history["cluster_margins"]
    for s in (1, -1):
        idx = np.flatnonzero(labels == s)
        spread = Q[:, idx].max(axis=1) - Q[:, idx].min(axis=1)
        # the max and min clusters stay the extremes (a linear contraction keeps the order); their
        # difference moves with g' at their midpoint, up to the cubic term
        qbar = (Q[:-1, idx].max(axis=1) + Q[:-1, idx].min(axis=1)) / 2
        lam = np.asarray(rate(qbar, D, M, K))
        pred = float(np.sum(np.log1p(eta * lam)))
        meas = float(np.log(spread[-1] / spread[0]))
        cubic = float(np.sum(eta * np.abs(lam) * spread[:-1] ** 2)) / 24
        ro = 2 * float(np.max(roundoff(run.network, run.features))) * (1 / spread[-1] + 1 / spread[0])
        tol = cubic + ro
        assert abs(meas - pred) <= tol, (meas, pred, tol)
        common = pred * (D + idx.size) / D
        assert abs(meas - common) > 100 * tol and abs(meas) > 100 * tol


def test_ce_one_gd_step_follows_the_ce_margin_ode():
    """C7.ce_margin_ode: one step of the decoupled net is (d+1)(k-1)/(hk(e^q + k - 1)); the logistic rate misses."""
    qdot = get_claim("C7.ce_margin_ode").predictions["qdot"]
    h, eta = 2, 1e-4
    rng = np.random.default_rng(75)
    F = make_features(K, D, rng)
    labels = make_partition(K)
    q0 = np.linspace(0.2, 2.5, K)
    net, train = decoupled_late_regime(F, labels, q0, h=h)
    cfg = Config(k=K, d=D, n=train.y.size, n_test=train.y.size, h=h, sigma=0.0, eta=eta, steps=1,
                 supervision="cluster", seed=0)
    run = run_simulation(cfg, features=F, cluster_labels=labels, train=train, test=train, W_init=net.W, b_init=net.b)
    rate = (cluster_margins(run.network, F, labels) - q0) / eta
    pred = np.asarray(qdot(q0, D, h, K), float)
    tol = (roundoff(net, F) + roundoff(run.network, F)) / eta
    assert np.all(np.abs(rate - pred) <= tol), (rate - pred, tol)
    logistic = pred * (np.exp(q0) + K - 1) / (K - 1) / (1 + np.exp(q0))
    assert np.all(np.abs(rate - logistic) > 100 * tol)


@pytest.mark.parametrize("name", ["finite_n_increment", "self_increment", "bias_factor", "boundary_drift"])
def test_finite_n_predictions_reduce_to_the_l2_map(name):
    """C7.margin_ode's appended map: at pi_j = 1/k, kappa = 1 it is the Euler step; the self term vanishes as n grows."""
    f = get_claim("C7.margin_ode").predictions
    q = np.array([0.3, 0.8, 1.7])
    g = np.asarray(f["g"](q))
    if name == "finite_n_increment":
        got = f[name](0.01, M, D, 1 / K, g, g.sum() / K, 1.0)
        assert np.allclose(got, 0.01 * np.asarray(f["rate"](q, g.sum(), D, M, K)), rtol=1e-14)
    elif name == "self_increment":
        one, many = np.asarray(f[name](0.01, M, D, 1.0, 1.0, g)), np.asarray(f[name](0.01, M, D, 1e12, 1.0, g))
        assert np.allclose(many * 1e12, one, rtol=1e-14) and np.all(one > 0)  # exactly 1/n
    elif name == "bias_factor":
        assert f[name](D, 5) == pytest.approx(D / (D + 5), rel=1e-15)
    else:
        assert f[name](-0.5, D, 5) == pytest.approx(-0.5 / (D + 5), rel=1e-15)
