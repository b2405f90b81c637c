"""Exact minimal L2 radius (docs/science.md §5): brute force on tiny nets and closed forms on idealised ones.

The oracle below is independent of the QP solver path: it enumerates every activation pattern of
the network (``2^M`` closed polyhedral regions, where the network is affine), writes the flip
condition as linear inequalities inside each region, and finds the minimum-norm point of each
polyhedron ``{v : G v <= h}`` in closed form: the minimiser is the least-norm solution of its
active constraints, so the minimum over all subsets ``T`` of at most ``d`` rows of the feasible
least-norm points ``pinv(G_T) h_T`` is the exact optimum (KKT: the optimum lies in the span of its
active normals). No optimiser and no convergence tolerance.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
# the oracle (region enumeration, least-norm points of each region's flip polyhedron; no optimiser,
# no convergence tolerance) is shared with the certified-radius tests
from test_robust_certified import brute_force_radius

from featavg.simulate import BinaryNetwork, InvalidParameter, MultiClassNetwork, make_features
from featavg.simulate._robust import (
    exact_radii,
    exact_radius,
    optimal_robust_accuracy,
    robust_accuracy,
    span_basis,
)

# ---------------------------------------------------------------------------------------------
# tiny random networks


def _tiny_binary(seed, m, d):
    rng = np.random.default_rng(seed)
    net = BinaryNetwork(rng.standard_normal((2 * m, d)), rng.standard_normal(2 * m))
    x = rng.standard_normal(d)
    g = float(net.output(x[None])[0])
    return net, x, (1 if g > 0 else -1), g


def _tiny_multiclass(seed, k, h, d):
    rng = np.random.default_rng(seed)
    net = MultiClassNetwork(rng.standard_normal((k * h, d)), rng.standard_normal(k * h), h=h)
    labels = np.array([1, -1] + [1 if i % 2 else -1 for i in range(k - 2)])
    x = rng.standard_normal(d)
    return net, x, labels


#: QP optimum vs closed-form enumeration: Clarabel runs to 1e-10 gaps, so 1e-6 relative leaves
#: four orders of margin; a wrong piece of the decomposition would be off by O(1)
REL_TOL = 1e-6
#: absolute floor for radii near 0 (a point within round-off of the boundary), where relative
#: error is meaningless; the oracle's own feasibility tolerance is 1e-9
ABS_TOL = 1e-9


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), m=st.integers(1, 3), d=st.integers(1, 3))
def test_exact_radius_equals_brute_force_on_tiny_binary_nets(seed, m, d):
    net, x, y, g = _tiny_binary(seed, m, d)
    if g == 0.0:
        return
    res = exact_radius(net, x, y)
    assert res.radius == pytest.approx(brute_force_radius(net, x, y), rel=REL_TOL, abs=ABS_TOL)


@pytest.mark.parametrize("readout", ["argmax", "sum"])
@pytest.mark.parametrize("k,h,d", [(2, 1, 2), (3, 1, 3), (2, 2, 2), (3, 2, 3), (2, 3, 3)])
@pytest.mark.parametrize("seed", range(4))
def test_exact_radius_equals_brute_force_on_tiny_multiclass_nets(readout, k, h, d, seed):
    net, x, labels = _tiny_multiclass(seed, k, h, d)
    g = float(net.binary_score(x[None], labels, readout)[0])
    y = 1 if g > 0 else -1
    res = exact_radius(net, x, y, labels, readout)
    assert res.radius == pytest.approx(brute_force_radius(net, x, y, labels, readout), rel=REL_TOL, abs=ABS_TOL)
    if np.isfinite(res.radius):
        assert res.verified
        assert y * net.binary_score((x + res.perturbation)[None], labels, readout)[0] <= 0.0


@pytest.mark.parametrize("seed", range(6))
def test_no_random_perturbation_inside_the_radius_flips(seed):
    net, x, y, _ = _tiny_binary(seed, 3, 3)
    res = exact_radius(net, x, y)
    assert res.verified
    assert y * net.output((x + res.perturbation)[None])[0] <= 0.0
    rng = np.random.default_rng(100 + seed)
    dirs = rng.standard_normal((20000, 3))
    dirs /= np.linalg.norm(dirs, axis=1)[:, None]
    # shrink by 1e-9 relative: points within round-off of the radius may sit on the boundary
    norms = res.radius * (1.0 - 1e-9) * rng.random(20000) ** (1.0 / 3.0)
    assert np.all(y * net.output(x + dirs * norms[:, None]) > 0.0)


def test_radius_is_zero_for_a_misclassified_point():
    net, x, y, _ = _tiny_binary(0, 2, 2)
    res = exact_radius(net, x, -y)
    assert res.radius == 0.0 and res.subproblems == 0


def test_radius_is_blind_to_the_orthogonal_complement_of_the_weights():
    """The span reduction: adding a vector orthogonal to every w_r changes nothing."""
    rng = np.random.default_rng(3)
    net = BinaryNetwork(rng.standard_normal((4, 6)) @ np.diag([1, 1, 1, 0, 0, 0.0]), rng.standard_normal(4))
    x = rng.standard_normal(6)
    y = 1 if net.output(x[None])[0] > 0 else -1
    shifted = x + np.array([0, 0, 0, 5.0, -2.0, 7.0])
    r1, r2 = exact_radius(net, x, y), exact_radius(net, shifted, y)
    assert span_basis(net.W).shape == (6, 3)
    assert r1.radius == pytest.approx(r2.radius, rel=1e-9)  # same QPs up to round-off
    # the weights have exact zeros in coordinates 3..5, so the optimal perturbation (in their span)
    # has only round-off there: O(eps) times O(1) entries, far below 1e-12
    assert np.allclose(r1.perturbation[3:], 0.0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# idealised networks with closed forms (docs/science.md §2, C3-C5)

#: closed forms vs QP: the only error is the solver's (1e-10 gaps on O(sqrt d) data)
CLOSED_TOL = 1e-6


def _features(k, d, seed=0):
    return make_features(k, d, np.random.default_rng(seed))


def _averaged_binary(features, labels, m=2, alpha=0.7):
    wp = features[labels > 0].sum(axis=0)
    wn = features[labels < 0].sum(axis=0)
    W = np.vstack([np.tile(alpha * wp / np.linalg.norm(wp), (m, 1)), np.tile(alpha * wn / np.linalg.norm(wn), (m, 1))])
    return BinaryNetwork(W, np.zeros(2 * m))


@pytest.mark.parametrize("k,d", [(2, 3), (4, 6), (6, 9), (10, 40)])
def test_averaged_binary_net_radius_is_sqrt_d_over_k(k, d):
    """C3: a perfectly averaged balanced net at a noise-free mu_j has radius exactly sqrt(d/k)."""
    mu = _features(k, d)
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    net = _averaged_binary(mu, labels)
    for j in (0, k - 1):
        r = exact_radius(net, mu[j], int(labels[j])).radius
        assert r == pytest.approx(np.sqrt(d / k), rel=CLOSED_TOL)


def test_broken_network_fails_the_closed_form_check():
    """The check has teeth: doubling the negative neurons moves the radius off sqrt(d/k)."""
    k, d = 4, 6
    mu = _features(k, d)
    labels = np.array([1, 1, -1, -1])
    net = _averaged_binary(mu, labels)
    net.W[net.m:] *= 2.0
    r = exact_radius(net, mu[0], 1).radius
    assert abs(r / np.sqrt(d / k) - 1.0) > 100 * CLOSED_TOL


def _thresholded_net(mu, labels, tau, alpha=0.5):
    """One neuron per feature, w_j = alpha mu_j / sqrt(d), bias -alpha tau (docs/science.md §2, C4)."""
    d = mu.shape[1]
    order = np.concatenate([np.flatnonzero(labels > 0), np.flatnonzero(labels < 0)])
    W = alpha * mu[order] / np.sqrt(d)
    return BinaryNetwork(W, np.full(len(order), -alpha * tau))


def _thresholded_closed_form(d, tau, n_other):
    """min(sqrt(d) - tau, min_L (sqrt(d) + (L-1) tau)/sqrt(1+L)), docs/science.md §2, C4 (valid for tau <= sqrt(d)/2)."""
    s = np.sqrt(d)
    return min([s - tau] + [(s + (L - 1) * tau) / np.sqrt(1 + L) for L in range(1, n_other + 1)])


@pytest.mark.parametrize("tau_over_sqrt_d", [0.0, 0.1, 0.225, 0.26, 0.293, 0.4, 0.5])
@pytest.mark.parametrize("k,d", [(4, 4), (6, 8)])
def test_thresholded_one_neuron_per_feature_net_matches_closed_form(tau_over_sqrt_d, k, d):
    mu = _features(k, d, seed=1)
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    tau = tau_over_sqrt_d * np.sqrt(d)
    net = _thresholded_net(mu, labels, tau)
    expected = _thresholded_closed_form(d, tau, k // 2)
    for j in (0, k - 1):
        assert exact_radius(net, mu[j], int(labels[j])).radius == pytest.approx(expected, rel=CLOSED_TOL)


@pytest.mark.parametrize("k,d", [(4, 6), (6, 8), (10, 12)])
def test_decoupled_multiclass_net_radius_per_readout(k, d):
    """C5: w_j = alpha mu_j/sqrt(d): argmax gives sqrt(d/2), sum gives sqrt(d/(1 + |J_-y|))."""
    mu = _features(k, d, seed=2)
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    net = MultiClassNetwork(0.8 * mu / np.sqrt(d), np.zeros(k), h=1)
    for j in (0, k - 1):
        y = int(labels[j])
        arg = exact_radius(net, mu[j], y, labels, "argmax").radius
        sm = exact_radius(net, mu[j], y, labels, "sum").radius
        assert arg == pytest.approx(np.sqrt(d / 2), rel=CLOSED_TOL)
        assert sm == pytest.approx(np.sqrt(d / (1 + np.sum(labels != y))), rel=CLOSED_TOL)


# ---------------------------------------------------------------------------------------------
# curves and input validation


def test_robust_accuracy_counts_strictly_larger_radii():
    radii = np.array([0.0, 1.0, 2.0, 3.0])
    assert robust_accuracy(radii, [0.0, 1.0, 2.5, 3.0]).tolist() == [0.75, 0.5, 0.25, 0.0]


def test_optimal_curve_is_one_half_at_sqrt_d_over_2():
    # Phi(0) = 1/2 exactly; sqrt(50) - sqrt(100/2) is exactly 0 in floating point, so only the
    # cdf's own round-off (1e-16) remains
    assert optimal_robust_accuracy([np.sqrt(50.0)], 100)[0] == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize("call", [
    pytest.param(lambda net, x: exact_radius(net, x, 0), id="label-zero"),
    pytest.param(lambda net, x: exact_radius(net, x[:1], 1), id="wrong-dimension"),
    pytest.param(lambda net, x: exact_radii(net, x[None], [1, 1]), id="label-shape"),
    pytest.param(lambda net, x: exact_radius(net, x * np.nan, 1), id="non-finite-point"),
])
def test_invalid_inputs_raise_invalid_parameter(call):
    net, x, _, _ = _tiny_binary(0, 2, 2)
    with pytest.raises(InvalidParameter):
        call(net, x)


def test_multiclass_needs_cluster_labels_and_a_known_readout():
    net, x, labels = _tiny_multiclass(0, 2, 1, 2)
    with pytest.raises(InvalidParameter, match="cluster_labels"):
        exact_radius(net, x, 1)
    with pytest.raises(InvalidParameter, match="readout"):
        exact_radius(net, x, 1, labels, "mean")


def test_brute_force_oracle_itself_matches_closed_forms():
    """The oracle is checked against the strongest oracle (closed forms) before it judges."""
    mu = _features(2, 3)
    labels = np.array([1, -1])
    net = _averaged_binary(mu, labels, m=1)
    # the oracle's feasibility tolerance 1e-9 bounds its error on O(1) data
    assert brute_force_radius(net, mu[0], 1) == pytest.approx(np.sqrt(3 / 2), rel=1e-8)
    dec = MultiClassNetwork(mu / np.sqrt(3), np.zeros(2), h=1)
    assert brute_force_radius(dec, mu[1], -1, labels, "argmax") == pytest.approx(np.sqrt(3 / 2), rel=1e-8)
    tau = 0.25 * np.sqrt(3)
    thr = _thresholded_net(mu, labels, tau)
    assert brute_force_radius(thr, mu[0], 1) == pytest.approx(_thresholded_closed_form(3, tau, 1), rel=1e-8)
