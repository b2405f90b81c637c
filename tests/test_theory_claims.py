"""The claims' SymPy halves: wrong statements fail the same machinery, predictions match closed forms.

(That every discovered claim builds and every step passes is tested in tests/test_claims_generic.py.)
"""

import json
import math

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.stats import norm

from featavg import get_claim
from featavg._errors import UnknownClaim
from featavg.claims import c3_averaging_radius as c3
from featavg.claims import c4_threshold_net as c4
from featavg.claims import c7_lambert_w as lw
from featavg.claims import c7_margin_ode as dyn
from featavg.theory import Claim, Step, is_zero, kkt_min_norm


def test_unknown_claim_names_the_id_and_the_known_ones():
    with pytest.raises(UnknownClaim, match="C9.nope") as info:
        get_claim("C9.nope")
    assert "C3.averaging_radius" in str(info.value)


# ---- wrong statements fail the same machinery ---------------------------------------------------

def _failing(step):
    claim = Claim(id="X.wrong", title="wrong", statement=sp.Integer(0), assumptions="", regime="", steps=(step,))
    (result,) = claim.run_checks()
    return not result["passed"]


def test_wrong_averaging_radius_fails_kkt_check():
    r1, r2 = sp.symbols("r_1 r_2", real=True)
    c = (c3.Z_P + c3.V_P * r1) - (c3.Z_M + c3.V_M * r2)
    _, cost2, _ = kkt_min_norm([r1, r2], c)
    wrong = sp.sqrt(c4.d / (2 * c3.k))
    r = sp.Symbol("r")
    right_step = Step("balanced radius sqrt(d/k)", sp.Eq(r, sp.sqrt(c4.d / c3.k)),
                      lambda: is_zero(cost2.subs(c3.BALANCED) - c4.d / c3.k))
    wrong_step = Step("balanced radius sqrt(d/(2k))", sp.Eq(r, wrong),
                      lambda: is_zero(cost2.subs(c3.BALANCED) - wrong ** 2))
    assert not _failing(right_step)
    assert _failing(wrong_step)


def test_margin_ode_with_wrong_constant_fails():
    qdot, Q, M = dyn._flow_margin_derivative(2, 2)
    wrong = (dyn.d * dyn.g(Q[0]) + sum(dyn.g(x) for x in Q)) / (2 * M * dyn.k)  # extra factor 1/2
    right = dyn.margin_rhs(Q, 0).subs(dyn.m, M)
    assert not _failing(Step("right", sp.Eq(sp.Symbol("qdot_0"), right), lambda: is_zero(qdot[0] - right)))
    assert _failing(Step("wrong", sp.Eq(sp.Symbol("qdot_0"), wrong), lambda: is_zero(qdot[0] - wrong)))


def test_wrong_lambert_w_solution_fails_substitution():
    t, C, c = lw.t, lw.C, sp.Symbol("c", real=True)
    wrong = c + C * t - sp.LambertW(sp.exp(c + 2 * C * t))
    assert _failing(Step("wrong q(t)", sp.Eq(sp.Function("q")(t), wrong),
                         lambda: is_zero(sp.diff(wrong, t) - C / (1 + sp.exp(wrong)))))


def test_wrong_tau_range_end_fails():
    d, tau = c4.d, c4.tau
    sol = sp.solve(sp.Eq(c4.COST_RAISE.subs(c4.L_, 2), c4.OPTIMUM), tau)
    wrong = (sp.sqrt(2) - 1) * sp.sqrt(d)
    assert _failing(Step("wrong lower end", sp.Eq(tau, wrong), lambda: is_zero(sol[0] - wrong)))


def test_crashing_check_is_reported_as_failed():
    result = Step("boom", sp.Symbol("x"), lambda: 1 / 0).run()
    assert result["passed"] is False and "ZeroDivisionError" in result["error"]


# ---- predictions against closed forms and independent numerics ----------------------------------

def test_averaging_radius_balanced_prediction():
    f = get_claim("C3.averaging_radius").predictions
    # lambdified sqrt vs math.sqrt: identical formula, so only float64 round-off (rel 1e-14)
    assert f["radius_balanced"](d=3072, k=10) == pytest.approx(math.sqrt(3072 / 10), rel=1e-14)
    assert f["radius"](d=3072, k=10, p=5, alpha_p=1.0, alpha_m=1.0, b_p=0.0, b_m=0.0) == \
        pytest.approx(math.sqrt(3072 / 10), rel=1e-14)


def test_averaging_radius_matches_explicit_vectors():
    """General radius vs distances computed with explicit vectors in R^d (NumPy, independent)."""
    rng = np.random.default_rng(1)
    d, k, p = 40, 7, 3
    mu = math.sqrt(d) * np.eye(d)[:k]
    ap, am, bp, bm = 0.7, 1.3, 0.4, -0.2
    wp, wm = ap * mu[:p].sum(0), am * mu[p:].sum(0)
    x = mu[1]
    zp, zm = wp @ x + bp, wm @ x + bm
    expected = min((zp - zm) / np.linalg.norm(wp - wm), zp / np.linalg.norm(wp))
    got = get_claim("C3.averaging_radius").predictions["radius"](d, k, p, ap, am, bp, bm)
    assert got == pytest.approx(expected, rel=1e-12)  # same quantity, float64 round-off only
    # and the point at that distance along the minimiser really flips f (tie convention f <= 0)
    v = wp - wm
    rho = -(zp - zm) / (v @ v) * v
    f = lambda y: max(wp @ y + bp, 0) - max(wm @ y + bm, 0)  # noqa: E731
    assert f(x + (1 + 1e-9) * rho) <= 0 < f(x + 0.999 * rho)
    del rng


def test_noise_correction_quantiles():
    f = get_claim("C3.noise_correction").predictions["radius_quantile"]
    base = math.sqrt(3072 / 10)
    # erfinv vs scipy.stats.norm.ppf: two implementations of the same function (rel 1e-12)
    assert f(3072, 10, 1.0, 0.5) == pytest.approx(base, rel=1e-14)
    assert f(3072, 10, 2.0, 0.9) == pytest.approx(base + 2.0 * norm.ppf(0.9), rel=1e-12)


def test_threshold_net_radius_and_tau_range():
    f = get_claim("C4.threshold_net").predictions
    d, K = 3072.0, 5
    sd = math.sqrt(d)
    # closed forms, float64 round-off only
    assert f["radius"](d, 0.0, K) == pytest.approx(math.sqrt(d / (1 + K)), rel=1e-14)
    assert f["tau_low"](d) / sd == pytest.approx(math.sqrt(1.5) - 1, rel=1e-14)
    assert f["tau_high"](d) / sd == pytest.approx(1 - 1 / math.sqrt(2), rel=1e-14)
    for frac in (0.2248, 0.25, 0.2928):  # inside [0.22474, 0.29289]
        assert f["radius"](d, frac * sd, K) == pytest.approx(math.sqrt(d / 2), rel=1e-14)
    assert f["radius"](d, 0.2 * sd, K) < math.sqrt(d / 2) * (1 - 1e-3)
    assert f["radius"](d, 0.3 * sd, K) < math.sqrt(d / 2) * (1 - 1e-3)


def test_threshold_net_attack_flips_explicit_network():
    """The KKT attack (L = 2) on explicit vectors lands exactly on the decision boundary."""
    d, K, tau = 100, 3, 1.5
    sd = math.sqrt(d)
    x = np.zeros(1 + K)
    x[0] = sd  # coordinates along e_s (own) and the K opposite e_j
    f = lambda y: max(y[0] - tau, 0) - sum(max(v - tau, 0) for v in y[1:])  # noqa: E731
    r = (sd + tau) / 3  # L = 2: own lowered by r, two opposite raised to r
    y = x.copy()
    y[0] -= r
    y[1:3] = r
    assert abs(f(y)) < 1e-12  # on the boundary up to round-off
    cost = get_claim("C4.threshold_net").predictions["cost_raise"](d, tau, 2)
    assert np.linalg.norm(y - x) == pytest.approx(cost, rel=1e-14)


def test_optimal_bound_predictions():
    f = get_claim("C4.optimal_bound").predictions
    assert f["optimal_radius"](3072) == pytest.approx(math.sqrt(1536), rel=1e-14)
    assert f["ratio"](10) == pytest.approx(math.sqrt(5), rel=1e-14)
    # erf-based Phi vs scipy's norm.cdf (rel 1e-12: different implementations)
    assert f["pair_robust_accuracy"](8.0, 0.5) == pytest.approx(norm.cdf(2.0 - 0.5), rel=1e-12)
    # mixture by quadrature vs Monte Carlo of the nearest-mean bisector distances (200k draws:
    # standard error ~ 1e-3, so 5e-3 is a 5-sigma tolerance)
    rng = np.random.default_rng(0)
    G = rng.standard_normal((200_000, 4))
    d, delta, K = 8.0, 1.0, 3
    dist = math.sqrt(d / 2) + (G[:, :1] - G[:, 1:]) / math.sqrt(2)  # own cluster 0, opposite 1..K
    mc = np.mean(dist.min(axis=1) > delta)
    assert f["mixture_robust_accuracy"](d, delta, K) == pytest.approx(mc, abs=5e-3)


def test_readouts_predictions():
    f = get_claim("C5.readouts").predictions
    assert f["radius_argmax"](3072) == pytest.approx(math.sqrt(1536), rel=1e-14)
    assert f["radius_sum"](3072, 5) == pytest.approx(math.sqrt(3072 / 6), rel=1e-14)


def test_mixed_labels_bound_is_order_sqrt_d_over_k():
    f = get_claim("C6.mixed_labels").predictions["radius_bound"]
    d = 3072
    for k in (4, 10, 40):
        r = f(d, k // 2, k // 2, 0.999)
        # beta -> 1 gives sqrt(d/k); at beta = 0.999 the bound is within 1% of it
        assert r == pytest.approx(math.sqrt(d / k), rel=1e-2)
        assert f(d, k // 2, k // 2, 0.5) <= 2 * math.sqrt(d / k)


def test_lambert_w_solution_matches_ode_integration():
    f = get_claim("C7.lambert_w").predictions
    Cval, q0 = 3.0, -0.5
    c = f["c_from_q0"](q0)
    ts = np.array([0.0, 0.1, 1.0, 10.0, 100.0])
    sol = solve_ivp(lambda t, q: Cval / (1 + np.exp(q)), (0, 100), [q0], t_eval=ts, rtol=1e-12, atol=1e-12)
    # solver tolerance 1e-12 per step, accumulated over ~1e3 steps: 1e-9 absolute
    np.testing.assert_allclose(f["q"](ts, Cval, c), sol.y[0], atol=1e-9)


def test_gd_map_approaches_flow_at_rate_eta():
    """Iterating q -> q + eta C/(1+e^q) to time T approaches q(T) with error O(eta) (Euler, order 1)."""
    f_step = get_claim("C7.gd_step").predictions["step"]
    pred = get_claim("C7.lambert_w").predictions
    Cval, q0, T = 2.0, 0.0, 5.0
    exact = pred["q"](T, Cval, pred["c_from_q0"](q0))
    etas = np.array([0.1, 0.05, 0.025, 0.0125])
    errs = []
    for eta in etas:
        q = q0
        for _ in range(int(round(T / eta))):
            q = f_step(q, eta, Cval)
        errs.append(abs(q - exact))
    slope = np.polyfit(np.log(etas), np.log(errs), 1)[0]
    assert slope == pytest.approx(1.0, abs=0.05)  # first order; 0.05 covers the O(eta^2) term at these eta


def test_margin_ode_prediction_and_attraction_rate():
    f = get_claim("C7.margin_ode").predictions
    assert f["qdot_equal_margins"](0.0, 100.0, 5.0, 10.0, 5.0) == pytest.approx(105 / 50 / 2, rel=1e-14)
    rate = get_claim("C7.equal_margins_attract").predictions["difference_rate"]
    assert rate(0.0, 100.0, 5.0, 10.0) == pytest.approx(-100 / 50 / 4, rel=1e-14)


def test_ce_margin_ode_prediction():
    f = get_claim("C7.ce_margin_ode").predictions["qdot"]
    # closed form (d+1)/(hk) (k-1)/(e^q+k-1) at q = 0: (d+1)/(hk) (k-1)/k; float64 round-off only
    assert f(0.0, 100.0, 2.0, 3.0) == pytest.approx(101 / 6 * 2 / 3, rel=1e-14)


def test_early_gradient_coefficients():
    f = get_claim("C7.early_gradient").predictions["projection_over_d"]
    assert f(0.3, 1.2, 5.0, 10.0) == pytest.approx(norm.cdf(0.25) / 100, rel=1e-12)  # erf vs norm.cdf
    g = get_claim("C7.ce_decoupling").predictions
    assert g["own"](0.0, 1.0, 10.0, 2.0) == pytest.approx(0.9 * 0.5 / 20, rel=1e-14)
    assert g["other"](0.0, 1.0, 10.0, 2.0) == pytest.approx(-0.1 * 0.5 / 20, rel=1e-14)


def test_stein_lemma_monte_carlo():
    """E[1{a + <w,xi> > 0} xi] = phi(a/||w||) w/||w|| against Monte Carlo in d = 3."""
    rng = np.random.default_rng(2)
    w, a = np.array([0.5, -1.0, 2.0]), 0.7
    xi = rng.standard_normal((400_000, 3))
    mc = ((a + xi @ w > 0)[:, None] * xi).mean(0)
    nw = np.linalg.norm(w)
    # standard error per coordinate <= 1/sqrt(4e5) ~ 1.6e-3; 8e-3 is a 5-sigma tolerance
    np.testing.assert_allclose(mc, norm.pdf(a / nw) * w / nw, atol=8e-3)


# ---- the command ---------------------------------------------------------------------------------

GOOD = """
import sympy as sp
from featavg.evidence import Band, Check, Outcome, Rival, Term
from featavg.theory import Claim, Step
ID = "X9.good"
def derive():
    return Claim(id=ID, title="good", statement=sp.Eq(sp.Symbol("x"), 1), assumptions="", regime="",
                 steps=(Step("ok", sp.Eq(sp.Symbol("x"), 1), lambda: STEP_OK),))
CHECK = Check(ID, "t", "r", lambda ctx: Outcome(1.0, 1.0, Band(1.0, (Term("exact", 1e-12),)), rivals={"2": 2.0}),
              rivals=(Rival("2", "two"),))
"""


def test_claims_command_json_and_exit_code(tmp_path, capsys):
    from featavg.cli import main

    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(GOOD.replace("STEP_OK", "True"))
    bad.write_text(GOOD.replace("STEP_OK", "False").replace('"X9.good"', '"X9.bad"'))
    assert main(["claims", "--json", "--claims", str(good), "--only", "X9"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["id"] == "X9.good" and rows[-1]["statement_latex"] == "x = 1"
    assert rows[-1]["checks"] == [{"step": "ok", "passed": True, "generality": "general"}]
    assert main(["claims", "--claims", str(good), "--claims", str(bad), "--only", "X9"]) == 1
    assert "FAIL" in capsys.readouterr().out
