"""C3.linf_averaging and C5.linf_readouts: L-infinity closed forms against independent computations.

Oracles, strongest first: exact values of the uniform direction's L1 moments in 2 and 3 dimensions
(Archimedes: ``u_1`` is uniform on [-1, 1] on the 2-sphere), an LP solved by SciPy directly, a
brute force over the vertices of the L-infinity ball with bisection in its radius (valid for the
idealised nets on coordinate features: each output is monotone in each coordinate, so the worst
point of a box is a vertex), Monte Carlo, and the certified solver of ``featavg.simulate`` (for the
hyperplane families of trained nets). Then: planted errors in the SymPy statements make steps fail,
and each check passes in quick mode, rejects its rivals and fails under the faults it names.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from featavg import _verify
from featavg._errors import InvalidParameter
from featavg._registry import default_registry
from featavg.claims import _linf
from featavg.claims import c3_linf_averaging as c3
from featavg.claims import c5_linf_readouts as c5
from featavg.evidence import FAULTS

REG = default_registry()
P3 = REG.claim(c3.ID).predictions
P5 = REG.claim(c5.ID).predictions
OURS = [c for c in REG.checks() if c.claim in (c3.ID, c5.ID)]
TRAINED_IDS = {"C3.linf_averaging", "C5.linf_readouts.argmax", "C5.linf_readouts.sum"}


# ---- oracles ---------------------------------------------------------------------------------------

def vertex_radius(score, x, y, hi, tol=1e-12):
    """``min eps`` with ``y score(x + rho) <= 0`` for some vertex ``rho`` of the ``eps``-box (bisection).

    ``score`` maps an array of inputs, shape (n, d), to binary scores; every vertex of the box is
    tried (2^d of them), so ``d`` must be tiny.
    """
    d = x.size
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=d)))

    def flips(eps):
        return bool(np.any(y * score(x + eps * signs) <= 0.0))

    if flips(0.0):
        return 0.0
    lo = 0.0
    assert flips(hi)
    while hi - lo > tol * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if flips(mid) else (mid, hi)
    return hi


def lp_halfspace_distance(a, x, c):
    """``min t`` s.t. ``<a, x + rho> + c <= 0``, ``|rho_i| <= t``: SciPy's HiGHS on (rho, t)."""
    d = a.size
    cost = np.r_[np.zeros(d), 1.0]
    A = [np.r_[a, 0.0]]
    b = [-(a @ x + c)]
    for i in range(d):  # rho_i - t <= 0, -rho_i - t <= 0
        e = np.zeros(d + 1)
        e[i], e[-1] = 1.0, -1.0
        A.append(e.copy())
        b.append(0.0)
        e[i] = -1.0
        A.append(e)
        b.append(0.0)
    res = optimize.linprog(cost, A_ub=np.array(A), b_ub=np.array(b), bounds=[(None, None)] * d + [(0, None)],
                           method="highs")
    assert res.status == 0
    return res.fun


# ---- closed forms against the oracles -----------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_halfspace_distance_is_margin_over_l1_norm_by_lp(seed):
    rng = np.random.default_rng(seed)
    a, x = rng.standard_normal(7), rng.standard_normal(7)
    c = abs(a @ x) + 1.0 - a @ x  # a margin of 1 + |<a, x>| > 0
    assert lp_halfspace_distance(a, x, c) == pytest.approx((a @ x + c) / np.abs(a).sum(), rel=1e-9)


def averaging_score(k, p, ap, am, bp, bm):
    d = k + 2  # two noise coordinates, where the weights are 0
    sq = math.sqrt(d)

    def score(X):
        zp = ap * sq * X[:, :p].sum(axis=1) + bp
        zm = am * sq * X[:, p:k].sum(axis=1) + bm
        return np.maximum(zp, 0) - np.maximum(zm, 0)
    return d, score


@pytest.mark.parametrize("case", [(4, 2, 1.0, 1.0, 0.0, 0.0), (5, 2, 1.3, 0.7, 0.2, -0.1), (5, 3, 0.8, 1.5, -0.3, 0.4),
                                  (4, 1, 1.0, 1.0, -0.9, 0.0)], ids=["balanced", "scaled", "biased", "switch-off"])
def test_averaging_radius_matches_vertex_brute_force(case):
    """Noise-free and noisy points of the idealised averaging net, both classes."""
    k, p, ap, am, bpd, bmd = case
    d = k + 2
    bp, bm = bpd * d, bmd * d
    _, score = averaging_score(k, p, ap, am, bp, bm)
    sq = math.sqrt(d)
    rng = np.random.default_rng(11)
    for j, yi in ((0, 1), (k - 1, -1)):
        for noise in (np.zeros(d), 0.3 * rng.standard_normal(d)):
            x = sq * np.eye(d)[j] + noise
            nu_p, nu_m = ap * sq * noise[:p].sum(), am * sq * noise[p:k].sum()
            args = (d, k, p, ap, am, bp, bm, nu_p, nu_m) if yi > 0 else (d, k, k - p, am, ap, bm, bp, nu_m, nu_p)
            want = vertex_radius(score, x, yi, hi=4 * sq)
            assert float(P3["radius_noisy"](*args)) == pytest.approx(want, rel=1e-9, abs=1e-12)
            if not noise.any():
                assert float(P3["radius"](*args[:7])) == pytest.approx(want, rel=1e-9)


def test_balanced_radius_is_sqrt_d_over_k_and_l2_ratio_sqrt_k():
    assert float(P3["radius"](3072, 10, 5, 1, 1, 0, 0)) == pytest.approx(math.sqrt(3072) / 10, rel=1e-14)
    assert float(P3["ratio_l2_linf"](10, 5, 1, 1)) == pytest.approx(math.sqrt(10), rel=1e-14)
    assert float(P3["noise_variance"](10, 5, 1, 1)) == pytest.approx(0.1, rel=1e-14)


def decoupled_score(k, positive, readout):
    labels = np.array([1] * positive + [-1] * (k - positive))

    def score(X):
        f = np.maximum(X[:, :k], 0)  # w_j = mu_j / sqrt(d): f_j = ReLU(x_j) up to a common factor
        pos, neg = f[:, labels > 0], f[:, labels < 0]
        if readout == "sum":
            return pos.sum(axis=1) - neg.sum(axis=1)
        return pos.max(axis=1) - neg.max(axis=1)
    return labels, score


@pytest.mark.parametrize("readout", ["argmax", "sum"])
@pytest.mark.parametrize("positive", [1, 2, 3])
def test_decoupled_radii_match_vertex_brute_force(readout, positive):
    k, d = 5, 6
    labels, score = decoupled_score(k, positive, readout)
    sq = math.sqrt(d)
    rng = np.random.default_rng(positive)
    for yi in (1, -1):
        s = int(np.flatnonzero(labels == yi)[0])
        own, opp = np.flatnonzero(labels == yi).tolist(), np.flatnonzero(labels != yi).tolist()
        for noise in (np.zeros(d), 0.3 * rng.standard_normal(d)):
            x = sq * np.eye(d)[s] + noise
            want = vertex_radius(score, x, yi, hi=2 * sq)
            got = c5.noisy_argmax(x, own, opp) if readout == "argmax" else c5.noisy_sum(x, own, opp)
            assert got == pytest.approx(want, rel=1e-9)
            if not noise.any():
                closed = (P5["radius_argmax"](d) if readout == "argmax" else P5["radius_sum"](d, len(opp)))
                assert float(closed) == pytest.approx(want, rel=1e-9)


def test_raise_family_reaches_its_minimum_at_all_opposite_features():
    d = 400
    costs = [float(P5["radius_raise"](d, L)) for L in range(0, 8)]
    assert np.all(np.diff(costs) < 0) and costs[0] == pytest.approx(math.sqrt(d))
    assert float(P5["ratio_argmax_averaging"](10)) == pytest.approx(5.0)
    assert float(P5["ratio_sum_averaging"](10, 5)) == pytest.approx(10 / 6)


def test_uniform_direction_l1_moments_exact_in_2_and_3_dimensions():
    # D = 2: u = (cos t, sin t), E|cos t| = 2/pi; E(|cos t| + |sin t|)^2 = 1 + E|sin 2t| = 1 + 2/pi
    assert float(P3["l1_sphere_mean"](2.0)) == pytest.approx(4 / math.pi, rel=1e-13)
    assert float(P3["l1_sphere_second_moment"](2.0)) == pytest.approx(1 + 2 / math.pi, rel=1e-13)
    # D = 3: u_1 is uniform on [-1, 1] (Archimedes), so E||u||_1 = 3/2; E||u||_1^2 by quadrature
    assert float(P3["l1_sphere_mean"](3.0)) == pytest.approx(1.5, rel=1e-13)

    def l1_squared(theta, phi):
        u = (math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta))
        return sum(abs(v) for v in u) ** 2 * math.sin(theta) / (4 * math.pi)

    m2, err = integrate.dblquad(l1_squared, 0, 2 * math.pi, 0, math.pi, epsabs=1e-11)
    assert float(P3["l1_sphere_second_moment"](3.0)) == pytest.approx(m2, abs=1e-9)


def test_uniform_direction_l1_mean_and_spread_by_monte_carlo():
    D, n = 400, 4000
    g = np.random.default_rng(3).standard_normal((n, D))
    ratio = np.abs(g).sum(axis=1) / np.linalg.norm(g, axis=1)
    c, sd = float(P3["l1_sphere_mean"](D)), float(P3["l1_sphere_relative_sd"](D))
    # 5 standard errors of a mean of 4000 draws (sd ~ 0.27/sqrt(D) relative)
    assert abs(ratio.mean() - c) <= 5 * c * sd / math.sqrt(n)
    assert ratio.std(ddof=1) / ratio.mean() == pytest.approx(sd, rel=0.1)  # 10%: 5 se of an sd of 4000 draws
    assert c == pytest.approx(math.sqrt(2 * D / math.pi), rel=1 / D)


def test_haar_expectation_tends_to_sqrt_pi_over_2k():
    inv = float(P3["inverse_radius_haar"](10 ** 8, 10, 5, 1, 1, 0, 0))
    assert 1 / inv == pytest.approx(float(P3["radius_haar_asymptotic"](10)), rel=1e-7)


# ---- the hyperplane families of trained nets against the certified solver --------------------------------

@pytest.fixture(scope="module")
def tiny_runs():
    from featavg.simulate import Config, run_simulation

    base = dict(k=4, d=40, n=80, n_test=6, m=3, eta=0.05, steps=200, init_scale=1e-3, engine="explicit",
                features="standard", seed=4)
    return {s: run_simulation(Config(**base, supervision=s)) for s in ("binary", "cluster")}


@pytest.mark.parametrize("supervision, readout", [("binary", "argmax"), ("cluster", "argmax"), ("cluster", "sum")])
def test_hyperplane_family_with_exact_l1_norms_is_the_certified_radius(tiny_runs, supervision, readout):
    from featavg.simulate import exact_radii

    run = tiny_runs[supervision]
    X, y = run.test.X, run.test.y
    got = _linf.hyperplane_radii(run.network, X, y, run.cluster_labels, readout, run.features,
                                 {"exact": lambda e, n: e / (n["l1_feat"] + n["l1_noise"])})["exact"]
    res = exact_radii(run.network, X, y, run.cluster_labels, readout, norm="inf")
    assert all(r.verified for r in res)
    assert np.array([r.radius for r in res]) == pytest.approx(got, rel=1e-7, abs=1e-12)


def test_hyperplane_family_sizes():
    from featavg.simulate import BinaryNetwork, MultiClassNetwork

    labels = np.array([1, 1, 1, -1, -1])
    kap, grp = _linf.hyperplane_family(BinaryNetwork(np.ones((8, 3)), np.zeros(8)), 1, labels, "argmax")
    assert kap.shape == (16, 8) and np.unique(grp).size == 16 and np.allclose(kap[:, :4], 0.25)
    net = MultiClassNetwork(np.ones((5, 3)), np.zeros(5), h=1)
    kap, grp = _linf.hyperplane_family(net, 1, labels, "argmax", s=1)
    assert kap.shape == (3, 5)
    kap, grp = _linf.hyperplane_family(net, 1, labels, "sum")
    # A over the 4 subsets of the 2 opposite outputs; B over the 7 non-empty own subsets, plus {} for A != {}
    assert kap.shape == (4 * 7 + 3, 5) and np.unique(grp).size == 4


def test_feature_support_rejects_generic_directions():
    from featavg.simulate import make_features

    assert _linf.feature_support(np.sqrt(9.0) * np.eye(3, 9)).tolist() == [0, 1, 2]
    with pytest.raises(InvalidParameter, match="coordinate-aligned"):
        _linf.feature_support(make_features(3, 9, np.random.default_rng(0)))


def test_selection_bound_cases():
    z = 3.29
    # one binding hyperplane: the second-order term sigma^2/r
    assert _linf.selection_bound(np.array([2.0, 5.0]), np.array([0.01, 0.01]), 2.0, z) == pytest.approx(0.01 ** 2 / 2)
    # two tied: sqrt(2 log 4) sigma
    assert _linf.selection_bound(np.array([2.0, 2.0, 9.0]), np.array([0.01, 0.02, 0.01]), 2.0, z) == pytest.approx(
        math.sqrt(2 * math.log(4)) * 0.02)
    assert _linf.selection_bound(np.array([0.0]), np.array([0.0]), 0.0, z) == 0.0


# ---- VerifyContext's norm pass-through ----------------------------------------------------------------------

def test_net_radii_norm_keyword_and_old_signature():
    from featavg.simulate import averaging_net, make_partition

    k, d = 4, 16
    feats = math.sqrt(d) * np.eye(k, d)
    net = averaging_net(feats, make_partition(k))
    ctx = _verify.VerifyContext(quick=True)
    assert ctx.net_radii(net, feats[[0]], np.array([1]), norm="inf")[0] == pytest.approx(math.sqrt(d) / k, rel=1e-9)
    assert ctx.net_radii(net, feats[[0]], np.array([1]))[0] == pytest.approx(math.sqrt(d / k), rel=1e-8)

    def l2_only(net, X, y, labels=None, readout="argmax"):  # an old-style replacement: no norm keyword
        from featavg.simulate import exact_radii
        return exact_radii(net, X, y, labels, readout)

    old = _verify.VerifyContext(quick=True, exact_radii=l2_only)
    assert old.net_radii(net, feats[[0]], np.array([1]))[0] == pytest.approx(math.sqrt(d / k), rel=1e-8)


def test_radii_cache_keeps_norms_apart(tiny_runs):
    ctx = _verify.VerifyContext(quick=True)
    run = tiny_runs["binary"]
    r2 = ctx.radii(run, points=3)
    rinf = ctx.radii(run, points=3, norm="inf")
    assert np.all(rinf < r2)  # ||rho||_inf <= ||rho||_2, and strictly here (the attack spreads over coordinates)
    assert ctx.radii(run, points=3, norm="inf") is rinf and ctx.radii(run, points=3) is r2


# ---- planted errors in the SymPy statements ---------------------------------------------------------------

def _failing_steps(module):
    return [r["step"] for r in module.derive().run_checks() if not r["passed"]]


def test_derivations_pass_as_written():
    assert _failing_steps(c3) == [] and _failing_steps(c5) == []


@pytest.mark.parametrize("name, wrong", [
    ("HYPERPLANE", (c3.Z_P - c3.Z_M) / c3.L2_V),                      # the L2 dual norm
    ("L1_V", c3.sp.sqrt(c3.d) * (c3.alpha_p * c3.p + c3.alpha_m * c3.k)),  # a block of the wrong size
    ("SWITCH_OFF", c3.Z_P / (c3.alpha_p * c3.sp.sqrt(c3.d) * c3.k)),      # ||w_+||_1 over k coordinates
    ("C_D", c3.sp.sqrt(2 * c3.D / c3.sp.pi)),                          # the asymptotic form as exact
    ("M2_D", 1 + 2 * c3.D / c3.sp.pi),                                 # off by one in D
    ("NOISE_VARIANCE", 1 / c3.L1_V),                                   # not a ratio of squares
    ("HYPERPLANE_TRAINED", c3.ell / (c3.U_f + c3.sp.sqrt(c3.D) * c3.U_n)),  # Cauchy-Schwarz for the noise
    ("SIZES", c3.sp.sqrt(c3.d) / (c3.k * (1 + c3.C_D.subs(c3.D, c3.d - c3.k) / c3.n_))),  # 1/n for 1/sqrt(n)
], ids=lambda v: v if isinstance(v, str) else "")
def test_planted_error_in_c3_fails_a_step(monkeypatch, name, wrong):
    monkeypatch.setattr(c3, name, wrong)
    assert _failing_steps(c3)


@pytest.mark.parametrize("name, wrong", [
    ("ARGMAX", c5.sp.sqrt(c5.d / 2)),                                  # the L2 radius
    ("RAISE", c5.sp.sqrt(c5.d) / c5.sp.sqrt(1 + c5.L)),                # the L2 raise-L cost
    ("SUM", c5.sp.sqrt(c5.d) / (1 + c5.k / 2)),                        # K = k/2 for every partition
    ("RAISE_NOISY", (c5.S_B - c5.S_A) / (c5.n_B + c5.n_A + 1)),        # one coordinate too many
    ("ARGMAX_SIZES", c5.sp.sqrt(c5.d) / (2 + c5.C_N * c5.sp.sqrt(c5.k / c5.n_))),  # one output's noise only
], ids=lambda v: v if isinstance(v, str) else "")
def test_planted_error_in_c5_fails_a_step(monkeypatch, name, wrong):
    monkeypatch.setattr(c5, name, wrong)
    assert _failing_steps(c5)


# ---- the checks: pass (quick), reject their rivals, fail under their faults ------------------------------------

@pytest.fixture(scope="module")
def quick_ctx():
    return _verify.VerifyContext(quick=True, registry=REG)


@pytest.mark.parametrize("check", [pytest.param(c, marks=[pytest.mark.slow] if c.id in TRAINED_IDS else [], id=c.id)
                                   for c in OURS])
def test_check_passes_quick_and_rejects_its_rivals(check, quick_ctx):
    row = _verify.run_check(check, quick_ctx)
    assert "error" not in row, row.get("error")
    assert row["status"] == "passed", (row["verdict"], row["rivals"])
    assert row["rivals"] and all(r["status"] == "rejected" for r in row["rivals"])
    assert row["certificates"]["points"] == row["certificates"]["verified"]
    assert not any("CALIBRATED" in t["name"] for t in row["band"]["terms"])


def _fault_params():
    """The checks on idealised nets, for the fast tier; the trained checks' faults are run with every
    other check's by tests/test_claims_generic.py (slow tier)."""
    return [pytest.param(c, f, id=f"{c.id}-{f}") for c in OURS if c.id not in TRAINED_IDS for f in c.faults]


@pytest.mark.parametrize("check, fault", _fault_params())
def test_check_fails_under_each_fault_it_names(check, fault):
    with FAULTS[fault].active() as kwargs:
        row = _verify.run_check(check, _verify.VerifyContext(quick=True, registry=REG, **kwargs))
    assert row["status"] == "failed", (row["verdict"], row.get("error"))
    assert "error" not in row, row.get("error")
