"""The proof lemmas (claims of kind "lemma", featavg/claims/l*.py) and their machinery (featavg.lemmas).

* every lemma row passes in quick mode, with its estimated probability, interval and draws, and
  rejects its factor-2 rival;
* the dead-neuron prediction 1/(n_j + 1) agrees with simulation at n_j = 5, 17, 100 and the wrong
  1/n_j is rejected at n_j = 5;
* a planted wrong bound fails (the lemma_constant fault, and a user's lemma file through --claims);
* the SymPy derivations fail on a planted error;
* dead_at_init / dead_neuron_probability against hand-made cases and the lambdified lemma.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from featavg import _verify
from featavg._errors import InvalidParameter
from featavg._registry import default_registry
from featavg.evidence import FAULTS
from featavg.lemmas import bound_outcome, dead_at_init, dead_neuron_probability, exact_outcome

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = default_registry()
LEMMAS = [e for e in REGISTRY if e.claim().kind == "lemma"]
LEMMA_CHECKS = {c.id: c for e in LEMMAS for c in e.checks}


@pytest.fixture(scope="module")
def rows():
    ctx = _verify.VerifyContext(quick=True, registry=REGISTRY)
    return {cid: _verify.run_check(c, ctx) for cid, c in LEMMA_CHECKS.items()}


def test_at_least_six_lemma_rows():
    assert len(LEMMA_CHECKS) >= 6
    assert {e.id for e in LEMMAS} >= {"L1.noise_concentration", "L2.cluster_counts", "L3.activation_fractions",
                                      "L4.dead_neurons", "L5.early_sign_pattern"}


@pytest.mark.parametrize("check_id", sorted(LEMMA_CHECKS))
def test_lemma_row_passes_and_rejects_its_factor_two_rival(check_id, rows):
    row = rows[check_id]
    assert "error" not in row, row["error"]
    assert row["status"] == "passed", (row["verdict"], row["rivals"])
    assert row["interval"] is not None and row["details"]["draws"]
    halved = [r for r in row["rivals"] if r["name"] == "C/2"]
    assert halved and halved[0]["status"] == "rejected"
    assert all(r["status"] == "rejected" for r in row["rivals"])


def test_bound_rows_report_the_tightest_constant(rows):
    for cid, row in rows.items():
        if row["band"]["side"] == "upper":
            c = row["details"]["tightest_constant"]
            assert 0.5 < c <= 1.0, (cid, c)  # the bound holds (C = 1) and C/2 does not


def test_dead_neuron_probability_agrees_at_5_17_100_and_rejects_1_over_n(rows):
    row = rows["L4.dead_neurons"]
    d = row["details"]
    labels = d["components"]
    est, pred = np.array(d["estimated_probability"]), np.array(d["predicted"])
    w = np.asarray(row["band"]["halfwidth"])
    for nj in (5, 17, 100):
        i = labels.index(f"n_j = {nj}")
        assert pred[i] == pytest.approx(1 / (nj + 1))
        lo, hi = d["interval"][i]
        assert lo <= pred[i] <= hi  # within its binomial interval
        assert abs(est[i] - pred[i]) <= w[i]
    i5 = labels.index("n_j = 5")
    assert abs(est[i5] - 1 / 5) > w[i5]  # 1/n_j is rejected at n_j = 5
    assert not (d["interval"][i5][0] <= 0.2 <= d["interval"][i5][1])


def test_planted_wrong_bound_fails():
    fault = FAULTS["lemma_constant"]
    with fault.active() as kw:
        ctx = _verify.VerifyContext(quick=True, registry=REGISTRY, **kw)
        for cid in ("L1.noise_concentration.norms", "L2.cluster_counts", "L4.dead_neurons"):
            assert _verify.run_check(LEMMA_CHECKS[cid], ctx)["status"] == "failed", cid


def test_bound_outcome_is_the_exact_binomial_test():
    # 100 failures of 1000 draws: the one-sided CP lower bound is 0.0738 (level 0.999)
    ok = bound_outcome(100, 1000, 0.08)
    bad = bound_outcome(100, 1000, 0.07)
    assert ok.band.accepts(ok.measured) and not bad.band.accepts(bad.measured)
    assert ok.details["tightest_constant"] == pytest.approx(0.0738 / 0.08, rel=0.02)
    with pytest.raises(InvalidParameter):
        bound_outcome(1, 10, 1.5)


def test_exact_outcome_rejects_a_shifted_probability():
    out = exact_outcome(500, 3000, 1 / 6, {"1/5": 0.2})
    assert out.band.accepts(out.measured)
    assert not out.band.around(0.2).accepts(out.measured)


@pytest.mark.parametrize(("module", "name", "wrong"), [
    ("featavg.claims.l1_noise_concentration", "chi2_pdf",
     lambda x, dof: x ** (dof / 2 - 1) * __import__("sympy").exp(-x / 2) / (2 ** (dof / 2 + 1)
                                                                              * __import__("sympy").gamma(dof / 2))),
    ("featavg.claims.l4_dead_neurons", "Phi", lambda x: (1 + __import__("sympy").erf(x)) / 2),
    ("featavg.claims.l3_activation_fractions", "Phi", lambda x: (1 + __import__("sympy").erf(x)) / 2),
    ("featavg.claims.l5_early_sign_pattern", "expected_inverse_count", lambda n_, k_: k_ / (n_ + 1)),
], ids=["L1-wrong-chi2-density", "L4-wrong-Phi", "L3-wrong-Phi", "L5-wrong-closed-form"])
def test_derivation_fails_on_a_planted_error(module, name, wrong, monkeypatch):
    import importlib

    mod = importlib.import_module(module)
    assert all(r["passed"] for r in mod.derive().run_checks())
    monkeypatch.setattr(mod, name, wrong)
    results = mod.derive().run_checks()
    assert not all(r["passed"] for r in results), [r["step"] for r in results]


# ---- dead neurons as a public function -----------------------------------------------------------

def test_dead_at_init_on_a_hand_made_case():
    # two neurons of class +1 and one of class -1; clusters 0 (+1) and 1 (-1)
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    clusters = np.array([0, 0, 1])
    labels = np.array([1, -1])
    W = np.array([[1.0, 0.0], [-1.0, 5.0], [0.0, -1.0]])
    b = np.array([0.0, 0.0, 0.0])
    dead = dead_at_init(W, b, X, clusters, labels, np.array([1, 1, -1]))
    # neuron 0 fires on cluster 0; neuron 1 fires only on the opposite point; neuron 2: z = -1 <= 0
    assert dead.tolist() == [False, True, True]
    with pytest.raises(InvalidParameter):
        dead_at_init(W, b, X[:, :1], clusters, labels, np.array([1, 1, -1]))


def test_dead_neuron_probability_is_the_lemma():
    pred = REGISTRY.claim("L4.dead_neurons").predictions["dead"]
    assert dead_neuron_probability([5, 17]) == pytest.approx(float(pred(5) * pred(17)))
    assert dead_neuron_probability([17]) == pytest.approx(1 / 18)
    assert np.allclose(dead_neuron_probability(np.array([[5, 17], [100, 100]])), [1 / 108, 1 / 101 ** 2])
    with pytest.raises(InvalidParameter):
        dead_neuron_probability([-1])


# ---- a user's lemma through --claims ---------------------------------------------------------------

USER_LEMMA = '''
import numpy as np
import sympy as sp

from featavg.evidence import Check, Rival
from featavg.lemmas import LEMMA_CONSTANT, bound_outcome
from featavg.theory import Claim, Step, is_zero, lambdify_prediction

ID = "U9.rare_uniforms"
N, q = sp.symbols("N q", positive=True)


def derive():
    delta = N * q
    return Claim(id=ID, title="Some of N uniforms falls below q with probability <= N q", kind="lemma",
                 statement=sp.Le(sp.Function("P")(sp.Symbol("min U_i < q")), delta, evaluate=False),
                 assumptions="U_i i.i.d. uniform", regime="N = 20, q = 0.01",
                 steps=(Step("union bound, exact for N = 1", sp.Eq(delta.subs(N, 1), q, evaluate=False),
                             lambda: is_zero(delta.subs(N, 1) - q)),),
                 predictions={"delta": lambdify_prediction([N, q], BOUND, "N q")})


BOUND = N * q


def _measure(ctx):
    rng = ctx.rng(9)
    draws = 4000
    fails = int(np.sum(rng.random((draws, 20)).min(axis=1) < 0.01))
    return bound_outcome(fails, draws, float(ctx.prediction(ID, "delta")(20, 0.01)), seeds=[ctx.seed])


CHECK = Check(ID, "P(min of 20 uniforms < 0.01) <= 20 x 0.01", "numpy uniforms, 4000 draws", _measure,
              rivals=(Rival("C/2", "the bound halved"),), faults=("lemma_constant",))
'''


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "featavg", *args], capture_output=True, text=True, cwd=ROOT)


def test_user_lemma_runs_through_claims(tmp_path):
    path = tmp_path / "user_lemma.py"
    path.write_text(USER_LEMMA)
    proc = _cli("verify", "--claims", str(path), "--only", "U9", "--json", "--quick")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    row = rows["U9.rare_uniforms"]
    assert row["status"] == "passed" and row["rivals"][0]["status"] == "rejected"
    assert row["details"]["draws"] == 4000 and row["interval"] is not None
    wrong = tmp_path / "wrong_lemma.py"
    wrong.write_text(USER_LEMMA.replace("BOUND = N * q", "BOUND = N * q / 4"))
    proc = _cli("verify", "--claims", str(wrong), "--only", "U9", "--quick")
    assert proc.returncode == 1 and "FAILED" in proc.stdout


def test_report_index_lists_the_lemmas(rows):
    from featavg._report import render_pages, render_markdown

    claims = [e.claim() for e in LEMMAS]
    pages = render_pages(claims, list(rows.values()), [], seed=0, quick=True)
    index = render_markdown(pages[0])
    assert "## Lemmas" in index
    for cid in rows:
        assert cid.replace("_", "\\_") in index
