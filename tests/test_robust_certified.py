"""Certified radii (simulate/_certify.py): brackets against brute force, closed forms at any width,
planted faults, solver statuses.

Oracles, strongest first: closed forms of idealised networks (derived in the docstrings below),
then brute-force enumeration of activation regions (below), then the old
one-Clarabel-QP-per-subset enumerator (an independent solver and decomposition).

Brute force, with no optimiser: the network is affine on each of its ``2^M`` closed activation
regions, so the flip set inside a region is a polyhedron ``{v : G v <= h}``; the radius is the
minimum over regions of the polyhedron's distance to the origin:

- L2: the minimiser is the least-norm solution of its active constraints (KKT: it lies in the span
  of their normals), so the minimum over all subsets ``T`` of at most ``d`` rows of the feasible
  least-norm points ``pinv(G_T) h_T`` is exact;
- L-infinity: ``min t`` over ``{G v <= h, -t <= v_i <= t}`` is an LP over a pointed polyhedron in
  ``(v, t)`` (``t >= |v_i|`` excludes lines), so it is attained at a vertex: the minimum of ``t``
  over every feasible solution of ``d + 1`` linearly independent rows solved as equalities.
"""

import itertools
import math

import numpy as np
import pytest

from featavg.simulate import (
    BinaryNetwork,
    InvalidParameter,
    MultiClassNetwork,
    certificate_bound,
    run_simulation,
)
from featavg.simulate import _certify
from featavg.simulate._robust import exact_radii, exact_radius

INF = math.inf

#: a candidate is feasible if it violates no inequality by more than this; the data are O(1), so
#: this is round-off level and the error it admits (~1e-9) is far below the tests' 1e-6
FEAS_TOL = 1e-9


def min_norm_polyhedron_l2(G, h):
    """``min ||v||_2`` over ``{v : G v <= h}`` (``inf`` if empty), by subset enumeration."""
    d = G.shape[1]
    best = np.inf if np.any(h < -FEAS_TOL) else 0.0  # v = 0 (the empty subset)
    for size in range(1, d + 1):
        T = np.array(list(itertools.combinations(range(G.shape[0]), size)))
        GT, hT = G[T], h[T]  # (C, size, d), (C, size)
        V = np.einsum("cds,cs->cd", np.linalg.pinv(GT), hT)
        consistent = np.max(np.abs(np.einsum("csd,cd->cs", GT, V) - hT), axis=1) <= FEAS_TOL
        feasible = np.all(V @ G.T <= h + FEAS_TOL, axis=1)
        ok = consistent & feasible
        if ok.any():
            best = min(best, float(np.linalg.norm(V[ok], axis=1).min()))
    return best


def min_norm_polyhedron_linf(G, h):
    """``min ||v||_inf`` over ``{v : G v <= h}`` (``inf`` if empty), by vertex enumeration."""
    r, d = G.shape
    if np.all(h >= -FEAS_TOL):
        return 0.0
    # rows over (v, t): G v <= h;  v_i - t <= 0;  -v_i - t <= 0
    E = np.vstack([np.hstack([G, np.zeros((r, 1))]),
                   np.hstack([np.eye(d), -np.ones((d, 1))]),
                   np.hstack([-np.eye(d), -np.ones((d, 1))])])
    f = np.concatenate([h, np.zeros(2 * d)])
    T = np.array(list(itertools.combinations(range(E.shape[0]), d + 1)))
    ET, fT = E[T], f[T]
    det = np.linalg.det(ET)
    ok = np.abs(det) > 1e-12
    if not ok.any():
        return np.inf
    Z = np.linalg.solve(ET[ok], fT[ok][..., None])[..., 0]  # (C, d + 1)
    feasible = np.all(Z @ E.T <= f + FEAS_TOL, axis=1)
    return float(Z[feasible, -1].min()) if feasible.any() else np.inf


def brute_force_radius(net, x, y, cluster_labels=None, readout="argmax", norm=2, slope_off=0.0):
    """Exact radius by enumeration of activation regions (module docstring).

    ``slope_off`` is the activation's slope below 0 (0 for ReLU, ``a`` for a leaky ReLU): on each
    closed region the net is affine with slope 1 on the active neurons and ``slope_off`` elsewhere.
    """
    solve = min_norm_polyhedron_l2 if norm == 2 else min_norm_polyhedron_linf
    W, b = net.W, net.b
    M = W.shape[0]
    z0 = W @ x + b
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=M):
        S = np.array(pattern, dtype=bool)
        # region: z_r(v) >= 0 on S, <= 0 off S, with z_r(v) = <w_r, v> + z0_r
        G = np.where(S[:, None], -W, W)
        h = np.where(S, z0, -z0)
        slope = np.where(S, 1.0, slope_off)
        Wa, za = W * slope[:, None], z0 * slope
        if net.kind == "binary":
            a = net.second_layer
            systems = [[(y * (a @ Wa))[None, :], np.array([-y * (a @ za)])]]
        else:
            H, k = net.h, net.k
            Fw = Wa.reshape(k, H, -1).sum(axis=1) / H  # f_j(v) = Fw_j . v + Fc_j in this region
            Fc = za.reshape(k, H).sum(axis=1) / H
            labels = np.asarray(cluster_labels)
            own, other = np.flatnonzero(labels == y), np.flatnonzero(labels != y)
            if readout == "sum":
                c = np.where(labels > 0, 1.0, -1.0)
                systems = [[(y * (c @ Fw))[None, :], np.array([-y * (c @ Fc)])]]
            else:  # some j' in the other class with f_j <= f_j' for every own j
                systems = [[Fw[own] - Fw[jp], Fc[jp] - Fc[own]] for jp in other]
        for Gf, hf in systems:
            best = min(best, solve(np.vstack([G, Gf]), np.concatenate([h, hf])))
    return best


#: certified radius vs the region-enumeration oracle: the solvers run to ~1e-12 (DAQP) and 1e-10
#: (HiGHS) feasibility on O(1) data and the oracle's own tolerance is 1e-9; a wrong piece or a
#: wrong bound is off by O(1), so 1e-6 relative separates the two by orders of magnitude
REL_TOL = 1e-6
#: absolute floor for radii within round-off of 0 (a point on the boundary)
ABS_TOL = 1e-9


def _random_net(seed, kind, d, width):
    """A random tiny net: binary with m = width, or multi-class k = 3 with h = width."""
    rng = np.random.default_rng(seed)
    if kind == "binary":
        W = rng.standard_normal((2 * width, d))
        return BinaryNetwork(W, rng.standard_normal(2 * width)), None, "argmax"
    labels = np.array([1, -1, 1])
    net = MultiClassNetwork(rng.standard_normal((3 * width, d)), rng.standard_normal(3 * width), h=width)
    return net, labels, kind


def _point(net, labels, readout, seed):
    x = np.random.default_rng(seed + 7).standard_normal(net.d)
    g = float(net.binary_score(x[None], labels, readout)[0])
    return x, (1 if g > 0 else -1)


def _check_against_oracle(r, oracle, gap=1e-6):
    """``lower <= oracle <= upper`` and ``upper == oracle`` to the tolerance; verified when finite."""
    if math.isinf(oracle):
        assert math.isinf(r.radius)
        return
    assert r.radius == pytest.approx(oracle, rel=REL_TOL, abs=ABS_TOL)
    assert r.lower <= oracle * (1 + 1e-9) + ABS_TOL  # the certificate never exceeds the truth
    assert r.upper >= oracle * (1 - 1e-9) - ABS_TOL
    assert r.verified and r.status == "solved" and r.gap <= gap


# ---------------------------------------------------------------------------------------------
# brute force on tiny nets: every readout, both norms, both methods


@pytest.mark.parametrize("method", ["enumerate", "bnb"])
@pytest.mark.parametrize("norm", [2, INF], ids=["L2", "Linf"])
@pytest.mark.parametrize("kind,width,d", [("binary", 1, 2), ("binary", 2, 2), ("binary", 3, 3),
                                          ("argmax", 1, 2), ("argmax", 2, 3),
                                          ("sum", 1, 3), ("sum", 2, 2)])
@pytest.mark.parametrize("seed", range(3))
def test_certified_radius_equals_brute_force_on_tiny_nets(method, norm, kind, width, d, seed):
    net, labels, readout = _random_net(seed, kind, d, width)
    x, y = _point(net, labels, readout, seed)
    r = exact_radius(net, x, y, labels, readout, norm=norm, method=method)
    _check_against_oracle(r, brute_force_radius(net, x, y, labels, readout, norm=norm))
    if math.isfinite(r.radius):  # the perturbation itself flips, and has the reported norm
        assert y * net.binary_score((x + r.perturbation)[None], labels, readout)[0] <= 0.0
        nrm = np.linalg.norm(r.perturbation) if norm == 2 else np.abs(r.perturbation).max()
        assert nrm == pytest.approx(r.upper, rel=1e-12)


@pytest.mark.parametrize("norm", [2, INF], ids=["L2", "Linf"])
@pytest.mark.parametrize("seed", range(6))
def test_branch_and_bound_equals_enumeration_on_near_identical_neurons(norm, seed):
    """Nets built like trained ones (two directions plus 20% spread), wide enough to branch."""
    rng = np.random.default_rng(50 + seed)
    m, d = 6, 5
    W = np.repeat(rng.standard_normal((2, d)), m, axis=0) + 0.2 * rng.standard_normal((2 * m, d))
    net = BinaryNetwork(W, rng.standard_normal(2 * m))
    x = 2.0 * rng.standard_normal(d)
    y = 1 if net.output(x[None])[0] > 0 else -1
    a = exact_radius(net, x, y, norm=norm, method="enumerate", gap=1e-9)
    b = exact_radius(net, x, y, norm=norm, method="bnb", gap=1e-9)
    # both certified to 1e-9: their uppers agree to the solvers' round-off
    assert b.radius == pytest.approx(a.radius, rel=1e-7)
    assert b.lower <= a.upper * (1 + 1e-9) and a.lower <= b.upper * (1 + 1e-9)
    assert a.status == b.status == "solved"


# ---------------------------------------------------------------------------------------------
# closed forms at any width
#
# Averaging net: m identical neurons w_+ = alpha sum_{J+} mu_j and m identical w_- = alpha
# sum_{J-} mu_j, no bias, |J+| = |J-| = k/2, features orthogonal with ||mu_j|| = sqrt(d). At a
# noise-free x = mu_j (j in J+): <w_+, x> = alpha d, <w_-, x> = 0.
# - L2: the hyperplane <u, v> = -alpha d, u = w_+ - w_-, ||u|| = alpha sqrt(k d), is at distance
#   sqrt(d/k); its foot point has <w_-, x + v> = alpha d/2 > 0 and <w_+, x + v> = alpha d/2, so
#   both groups are active there and g = 0: the hyperplane branch binds. Switching w_+ off costs
#   alpha d / ||w_+|| = sqrt(2 d/k) > sqrt(d/k). Radius sqrt(d/k), independent of m.
# - L-infinity with mu_j = sqrt(d) e_j: the hyperplane's L-infinity distance is its dual-norm
#   distance |<u, x>| / ||u||_1 = alpha d / (alpha k sqrt(d)) = sqrt(d)/k, attained by
#   v = -(sqrt(d)/k) sign(u), where <w_-, x + v> = alpha (k/2) sqrt(d) sqrt(d)/k = alpha d/2 > 0
#   and <w_+, x + v> = alpha d/2: the hyperplane branch binds again; switching w_+ off costs
#   alpha d / ||w_+||_1 = 2 sqrt(d)/k. Radius sqrt(d)/k.
#
# Decoupled multi-class net: h identical neurons alpha mu_j / sqrt(d) per output j, no bias. At
# x = mu_j: f_j = alpha sqrt(d), every other output 0.
# - argmax, L2: some j' must reach f_j: min ||v|| with <e_{j'} - e_j, v> >= sqrt(d) is sqrt(d/2).
#   L-infinity (mu_j = sqrt(d) e_j): v_{j'} - v_j >= sqrt(d) needs ||v||_inf >= sqrt(d)/2.
# - sum, K = |J_{-y}|: F = f_j + (other own, >= 0) - sum_{J_{-y}} f; the cheapest flip lowers
#   v_j and raises all K opposite coordinates: L2 min ||v|| with v_j - sum v_r <= -sqrt(d) is
#   sqrt(d/(1+K)); L-infinity: (1 + K) s >= sqrt(d), radius sqrt(d)/(1+K).

#: closed form vs solver: only the solvers' round-off on O(sqrt d) data (~1e-12 relative)
CLOSED_TOL = 1e-8


def _aligned_features(k, d):
    return np.sqrt(d) * np.eye(k, d)


def _averaging_net(mu, labels, m, alpha=0.01):
    wp = alpha * mu[labels > 0].sum(axis=0)
    wn = alpha * mu[labels < 0].sum(axis=0)
    return BinaryNetwork(np.vstack([np.tile(wp, (m, 1)), np.tile(wn, (m, 1))]), np.zeros(2 * m))


@pytest.mark.parametrize("norm", [2, INF], ids=["L2", "Linf"])
@pytest.mark.parametrize("m", [1, 16, 64, 512])
def test_averaging_net_radius_at_any_width(norm, m):
    k, d = 10, 40
    mu = _aligned_features(k, d)
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    net = _averaging_net(mu, labels, m)
    expected = np.sqrt(d / k) if norm == 2 else np.sqrt(d) / k
    for j in (0, k - 1):
        r = exact_radius(net, mu[j], int(labels[j]), norm=norm)
        assert r.radius == pytest.approx(expected, rel=CLOSED_TOL)
        assert r.verified and r.gap <= 1e-6
        assert r.method == ("enumerate" if m <= _certify.ENUMERATE_MAX_FAMILY else "bnb")


def test_averaging_net_radius_with_gaussian_features_at_width_64():
    """The L2 closed form needs only orthogonal equinorm features, not aligned ones."""
    from featavg.simulate import make_features

    k, d = 10, 60
    mu = make_features(k, d, np.random.default_rng(3))
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    r = exact_radius(_averaging_net(mu, labels, 64), mu[2], 1)
    assert r.radius == pytest.approx(np.sqrt(d / k), rel=CLOSED_TOL) and r.verified


@pytest.mark.parametrize("norm", [2, INF], ids=["L2", "Linf"])
@pytest.mark.parametrize("h", [1, 12])
def test_decoupled_net_radius_per_readout_at_any_width(norm, h):
    k, d = 6, 24
    mu = _aligned_features(k, d)
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    net = MultiClassNetwork(np.repeat(0.05 * mu / np.sqrt(d), h, axis=0), np.zeros(k * h), h=h)
    K = k // 2
    for j in (0, k - 1):
        y = int(labels[j])
        arg = exact_radius(net, mu[j], y, labels, "argmax", norm=norm)
        sm = exact_radius(net, mu[j], y, labels, "sum", norm=norm)
        if norm == 2:
            assert arg.radius == pytest.approx(np.sqrt(d / 2), rel=CLOSED_TOL)
            assert sm.radius == pytest.approx(np.sqrt(d / (1 + K)), rel=CLOSED_TOL)
        else:
            assert arg.radius == pytest.approx(np.sqrt(d) / 2, rel=CLOSED_TOL)
            assert sm.radius == pytest.approx(np.sqrt(d) / (1 + K), rel=CLOSED_TOL)
        assert arg.verified and sm.verified


def test_thresholded_net_matches_closed_form_by_branch_and_bound():
    """docs/science.md §2, C4's one-neuron-per-feature net (orthogonal neurons: no near-identical structure),
    k = 12, forced through branch and bound; the closed form of tests/test_robust_exact.py."""
    from test_robust_exact import _features, _thresholded_closed_form, _thresholded_net

    k = d = 12
    mu = _features(k, d, seed=1)
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    for t in (0.0, 0.26, 0.4):
        tau = t * np.sqrt(d)
        r = exact_radius(_thresholded_net(mu, labels, tau), mu[0], 1, method="bnb")
        assert r.radius == pytest.approx(_thresholded_closed_form(d, tau, k // 2), rel=1e-7)
        assert r.verified and r.nodes > 1  # it did branch


# ---------------------------------------------------------------------------------------------
# planted faults: a wrong node bound, non-solved statuses


def _battery():
    """Nets on which branch and bound must branch and bound (thresholded nets at k = 8, 12)."""
    from test_robust_exact import _features, _thresholded_closed_form, _thresholded_net

    out = []
    for k in (8, 12):
        mu = _features(k, k, seed=1)
        labels = np.where(np.arange(k) < k // 2, 1, -1)
        for t in (0.0, 0.1, 0.26):
            tau = t * np.sqrt(k)
            out.append((_thresholded_net(mu, labels, tau), mu[0], _thresholded_closed_form(k, tau, k // 2)))
    return out


def _run_battery(**kwargs):
    """Relative errors of radius and lower bound over :func:`_battery`, and whether all verified."""
    out = []
    for net, x, expected in _battery():
        r = exact_radius(net, x, 1, method="bnb", **kwargs)
        out.append((abs(r.radius / expected - 1.0), r.lower / expected - 1.0, r.verified))
    return out


def test_honest_bounds_pass_the_battery_without_heuristics(monkeypatch):
    """The tree alone (no incumbent heuristics, starting from the switch-off piece) is exact."""
    monkeypatch.setattr(_certify, "_HEURISTICS", False)
    for err, low, verified in _run_battery():
        # radius to the solvers' round-off; lower never above the truth beyond round-off
        assert err <= 1e-7 and low <= 1e-9 and verified


def test_a_too_tight_preactivation_bound_makes_the_check_fail(monkeypatch):
    """Every free neuron's interval shrunk to half its width about its midpoint (as if the ball
    had half the incumbent's radius): a relaxation that is too tight, so some optimum is pruned."""
    monkeypatch.setattr(_certify, "_HEURISTICS", False)
    half = lambda lo, up: ((lo + up) / 2 - (up - lo) / 4, (lo + up) / 2 + (up - lo) / 4)  # noqa: E731
    assert any(err > 1e-6 for err, _, _ in _run_battery(_bound_hook=half))


def test_an_inflated_node_bound_makes_the_check_fail(monkeypatch):
    """Node bounds 5% above their certificates prune the optimum's subtree."""
    monkeypatch.setattr(_certify, "_HEURISTICS", False)
    monkeypatch.setattr(_certify, "_NODE_BOUND_FACTOR", 1.05)
    assert any(err > 1e-6 for err, _, _ in _run_battery())


def test_certificate_is_weak_duality_for_any_multipliers():
    """(-h^T lam)/||C^T lam||_* never exceeds the true minimum, for random lam >= 0."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        C = rng.standard_normal((4, 2))
        h = rng.standard_normal(4) - 0.5
        for norm, oracle in ((2, min_norm_polyhedron_l2), (INF, min_norm_polyhedron_linf)):
            true = oracle(C, h)
            for _ in range(10):
                assert certificate_bound(C, h, rng.random(4), norm) <= true * (1 + 1e-9) + 1e-12


def _fail_daqp(*args, **kwargs):
    return -4, None, None  # DAQP's iteration-limit exit flag


@pytest.mark.parametrize("norm", [2, INF], ids=["L2", "Linf"])
def test_a_non_solved_status_is_never_accepted(monkeypatch, norm):
    net, labels, readout = _random_net(0, "binary", 3, 3)
    x, y = _point(net, labels, readout, 0)
    truth = brute_force_radius(net, x, y, norm=norm)
    # the primary solver fails every time: Clarabel retries, and the answer is still right
    monkeypatch.setattr(_certify, "_solve_l2_daqp", _fail_daqp)
    monkeypatch.setattr(_certify, "_solve_linf_highs", lambda C, h: ("failed", None, None))
    r = exact_radius(net, x, y, norm=norm)
    _check_against_oracle(r, truth)
    # Clarabel fails too (as if it had said AlmostSolved): never accepted, reported as failed
    monkeypatch.setattr(_certify, "_solve_clarabel", lambda C, h, norm: ("failed", None, None))
    r = exact_radius(net, x, y, norm=norm)
    assert r.status == "failed" and not r.verified


def test_clarabel_almost_solved_is_a_failed_piece(monkeypatch):
    """Clarabel's own statuses: only ``Solved`` is read as solved (old path and retry path)."""
    import clarabel

    real = clarabel.DefaultSolver

    class Almost:
        def __init__(self, *a):
            self._s = real(*a)

        def solve(self):
            sol = self._s.solve()
            return type("S", (), {"status": "AlmostSolved", "x": sol.x, "z": sol.z})()

    net, labels, readout = _random_net(1, "binary", 2, 2)
    x, y = _point(net, labels, readout, 1)
    monkeypatch.setattr(clarabel, "DefaultSolver", Almost)
    old = exact_radius(net, x, y, method="enumerate-clarabel")
    assert old.status == "failed" and not old.verified
    assert _certify._solve_clarabel(np.array([[1.0, 0.0]]), np.array([-1.0]), 2)[0] == "failed"


@pytest.mark.parametrize("method", ["enumerate", "bnb"])
def test_an_unverifiable_minimiser_keeps_its_value_in_the_lower_bound(monkeypatch, method):
    """If no forward pass confirms a flip, nothing is an incumbent, and the pieces' certified
    values still bound the radius from below: lower <= truth, upper = inf, not verified."""
    net, labels, readout = _random_net(2, "binary", 3, 3)
    x, y = _point(net, labels, readout, 2)
    truth = brute_force_radius(net, x, y)
    monkeypatch.setattr(_certify._Point, "verify", lambda self, v: None)
    r = exact_radius(net, x, y, method=method)
    assert r.lower <= truth * (1 + 1e-9) and r.upper == INF and not r.verified


def test_time_budget_returns_a_valid_bracket_with_its_gap():
    """A budget too small to finish: status budget, and the bracket still contains the truth."""
    from test_robust_exact import _features, _thresholded_closed_form, _thresholded_net

    k = 40
    mu = _features(k, k, seed=1)
    labels = np.where(np.arange(k) < k // 2, 1, -1)
    tau = 0.1 * np.sqrt(k)
    r = exact_radius(_thresholded_net(mu, labels, tau), mu[0], 1, time_budget=0.3)
    truth = _thresholded_closed_form(k, tau, k // 2)
    assert r.status == "budget" and r.gap > 1e-6 and not r.verified
    assert r.lower <= truth * (1 + 1e-9) <= r.upper * (1 + 2e-9)


# ---------------------------------------------------------------------------------------------
# trained nets: the three methods agree


def test_methods_agree_on_a_trained_net():
    run = run_simulation(k=4, d=60, n=80, n_test=12, m=6, steps=100, eta=0.05, init_scale=1e-5, seed=4)
    X, y = run.test.X, run.test.y
    old = [r.radius for r in exact_radii(run.network, X, y, method="enumerate-clarabel")]
    for method in ("enumerate", "bnb"):
        new = exact_radii(run.network, X, y, method=method)
        # Clarabel runs to 1e-10 gaps, DAQP to round-off: 1e-8 relative is the done-when target
        assert np.allclose([r.radius for r in new], old, rtol=1e-8, atol=0)
        assert all(r.verified and r.gap <= 1e-6 for r in new)


@pytest.mark.slow
def test_paper_setting_m64_certifies_to_gap_1e6():
    """Done-when of issue 17 in miniature: m = 64 at the paper's setting, 10 points."""
    from featavg.simulate import Config

    run = run_simulation(Config(m=64, n_test=10))
    res = exact_radii(run.network, run.test.X, run.test.y)
    assert all(r.verified and r.gap <= 1e-6 and r.method == "bnb" for r in res)


# ---------------------------------------------------------------------------------------------
# arguments


@pytest.mark.parametrize("kwargs,name", [
    pytest.param({"norm": 3}, "norm", id="norm-3"),
    pytest.param({"norm": "l1"}, "norm", id="norm-l1"),
    pytest.param({"gap": -1e-3}, "gap", id="negative-gap"),
    pytest.param({"gap": 1.0}, "gap", id="gap-one"),
    pytest.param({"time_budget": 0.0}, "time_budget", id="zero-budget"),
    pytest.param({"method": "miqp"}, "method", id="unknown-method"),
    pytest.param({"method": "enumerate-clarabel", "norm": INF}, "method", id="old-path-linf"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    net, labels, readout = _random_net(0, "binary", 2, 2)
    x, y = _point(net, labels, readout, 0)
    with pytest.raises(InvalidParameter) as exc:
        exact_radius(net, x, y, **kwargs)
    assert exc.value.name == name
    with pytest.raises(InvalidParameter):
        exact_radii(net, x[None], [y], **kwargs)


def test_enumeration_refuses_too_many_pieces():
    rng = np.random.default_rng(0)
    net = BinaryNetwork(rng.standard_normal((34, 3)), rng.standard_normal(34))
    x = rng.standard_normal(3)
    y = 1 if net.output(x[None])[0] > 0 else -1
    with pytest.raises(InvalidParameter, match="method"):
        exact_radius(net, x, y, method="enumerate")
