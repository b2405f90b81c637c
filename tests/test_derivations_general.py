"""Derivations for general sizes (issue 15): every step symbolic, and every step discriminates.

The claims are discovered (:func:`featavg._registry.default_registry`), never listed by hand, so a
claim added later is tested the same way. The oracle of a step's check is its own derivation; what
these tests add is the nearest wrong statement: :func:`featavg.theory.plant_error` changes a
coefficient of the statement (``rhs -> 2 rhs``) or reverses an inequality, and the step's check,
given that statement, must fail. A check that still passed would not be checking the statement.
"""

import re

import numpy as np
import pytest
import sympy as sp

from featavg._registry import default_registry
from featavg.theory import Claim, Step, Text, is_zero, lambdify_prediction, plain, plant_error

REGISTRY = default_registry()
CLAIM_IDS = REGISTRY.ids()

#: the claims issue 15 requires to have no instance step at all
NO_INSTANCE = ("C3.averaging_radius", "C3.noise_correction", "C4.threshold_net", "C5.readouts", "C7.margin_ode",
               "C7.equal_margins_attract", "C7.gd_step", "C7.early_gradient")


@pytest.fixture(scope="module")
def claims():
    return {cid: REGISTRY.claim(cid) for cid in CLAIM_IDS}


# ---- every step passes, and fails on a planted error --------------------------------------------

@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_every_step_passes_and_fails_on_a_planted_error(claim_id, claims):
    """Each step passes; each whose check reads the statement fails on ``plant_error`` of it."""
    claim = claims[claim_id]
    driven = [s for s in claim.steps if s.statement_driven]
    assert driven, f"{claim_id}: no step's check reads its statement, so no planted error can be tested"
    for step in claim.steps:
        if not step.statement_driven:  # a check written without the statement (user claims): it must pass
            assert step.run()["passed"], f"{claim_id}: {step.label!r} fails"
            continue
        assert step.check_against(step.expr), f"{claim_id}: {step.label!r} fails on its own statement"
        planted = plant_error(step.expr)
        assert planted != step.expr, f"{claim_id}: {step.label!r}: the planted error changed nothing"
        assert not step.check_against(planted), (f"{claim_id}: {step.label!r} still passes with the planted error "
                                                 f"{sp.sstr(planted)}")


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_every_step_says_how_general_it_is(claim_id, claims):
    for step in claims[claim_id].steps:
        assert step.generality in ("general", "instance")
        assert step.generality == "general" or step.instances, f"{claim_id}: {step.label!r} names no sizes"


def test_ninety_percent_of_steps_are_general_and_no_claim_has_only_instance_steps(claims):
    steps = [s for c in claims.values() for s in c.steps]
    general = sum(s.generality == "general" for s in steps)
    assert general >= 0.9 * len(steps), f"{general} of {len(steps)} steps general"
    for cid, c in claims.items():
        assert any(s.generality == "general" for s in c.steps), f"{cid} has only instance steps"


@pytest.mark.parametrize("claim_id", NO_INSTANCE)
def test_the_claims_of_issue_15_have_no_instance_step(claim_id, claims):
    assert [s.label for s in claims[claim_id].steps if s.generality == "instance"] == []


# ---- the missing links are derived, not typed in ------------------------------------------------

def test_margin_ode_is_derived_from_the_network_for_symbolic_sizes():
    """C7.margin_ode differentiates the network's risk in every coordinate (Sums over m, p, d)."""
    from featavg.claims import c7_margin_ode as ode
    from featavg.theory._common import d, g, k, m, p, sums_equal

    _, _, qdot = ode.network_flow()
    assert qdot.has(ode.N[ode.J])  # the noise's projection is part of the exact flow
    assert {d, m, k, p} <= qdot.free_symbols
    wrong = sp.Sum(g(ode.Z[ode.I]) * (d * sp.KroneckerDelta(ode.I, ode.J) + ode.N[ode.J]), (ode.I, 1, p)) / (m * k)
    assert not sums_equal(qdot, wrong, ode.RANGES)  # the biases' coupling (+1) is not optional


def test_early_gradient_coefficient_comes_from_the_stein_steps():
    c = REGISTRY.claim("C7.early_gradient")
    f = c.predictions["projection_over_d"]
    # closed form Phi(a/||w||)/(2mk), an independent oracle (scipy's normal CDF)
    from scipy.stats import norm

    a, s, m, k = 0.3, 1.7, 5, 10
    assert f(a, s, m, k) == pytest.approx(norm.cdf(a / s) / (2 * m * k), rel=1e-12)


def test_cross_entropy_coefficients_for_any_k():
    from scipy.stats import norm

    p = REGISTRY.claim("C7.ce_decoupling").predictions
    for k in (2, 3, 10, 57):
        a, s, h = -0.4, 0.9, 3
        assert p["own"](a, s, k, h) == pytest.approx((1 - 1 / k) * norm.cdf(a / s) / (k * h), rel=1e-12)
        assert p["other"](a, s, k, h) == pytest.approx(-norm.cdf(a / s) / (k * k * h), rel=1e-12)


def test_mixture_upper_bound_reduces_to_the_pair_and_dominates_the_nearest_mean_classifier():
    from scipy.stats import norm

    p = REGISTRY.claim("C4.optimal_bound").predictions
    d, delta = 50.0, 2.0
    pair = norm.cdf(np.sqrt(d / 2) - delta)
    assert p["mixture_upper_bound"](d, delta, 1, 1) == pytest.approx(pair, rel=1e-12)
    assert p["mixture_upper_bound"](d, delta, 4, 4) == pytest.approx(pair, rel=1e-12)
    # unbalanced: 1 - 2 min(p, K)(1 - Phi)/k, above the pair formula
    assert p["mixture_upper_bound"](d, delta, 7, 3) == pytest.approx(1 - 6 * (1 - pair) / 10, rel=1e-12)
    for K in (1, 2, 5):  # the nearest-mean classifier (a lower bound on the optimum) lies below it
        assert p["mixture_robust_accuracy"](d, delta, K) <= p["mixture_upper_bound"](d, delta, K, K) + 1e-12


# ---- Claim and Step stay backwards compatible ----------------------------------------------------

def test_plain_string_titles_and_zero_argument_checks_keep_working():
    x = sp.Symbol("x")
    step = Step("x + x = 2x", sp.Eq(x + x, 2 * x, evaluate=False), lambda: is_zero(x + x - 2 * x))
    claim = Claim(id="U1.plain", title="a plain title", statement=sp.Eq(x, x, evaluate=False),
                  assumptions="none", regime="any", steps=(step,))
    assert claim.run_checks() == [{"step": "x + x = 2x", "passed": True, "generality": "general"}]
    assert not step.statement_driven
    with pytest.raises(TypeError, match="takes no statement"):
        step.check_against(plant_error(step.expr))


def test_text_mixes_strings_and_sympy_and_prints_one_line():
    d, k = sp.symbols("d k", positive=True)
    t = Text("radius ", sp.Pow(d / k, sp.S.Half, evaluate=False), " of ", sp.Symbol("alpha_+"))
    assert str(t) == "radius \u221a(d/k) of \u03b1\u208a"
    assert t.math == (sp.Pow(d / k, sp.S.Half, evaluate=False), sp.Symbol("alpha_+"))
    assert (t + ".").parts[-1] == "." and ("A " + t).parts[0] == "A "
    assert f"{t}" == str(t)
    with pytest.raises(TypeError, match="Text part"):
        Text("x", object())
    with pytest.raises(TypeError, match="str or a featavg.theory.Text"):
        Claim(id="U1.bad", title=3, statement=sp.Integer(0), assumptions="", regime="")


def test_plain_prints_unicode_for_terminals():
    assert plain(sp.Le(sp.Symbol("z_+"), sp.Symbol("z_-"), evaluate=False)) == "z\u208a \u2264 z\u208b"
    assert plain(sp.Symbol("varepsilon") ** 2) == "\u03b5\u00b2"


@pytest.mark.parametrize("expr, planted", [
    (sp.Eq(sp.Symbol("a"), sp.Symbol("b"), evaluate=False), sp.Eq(sp.Symbol("a"), 2 * sp.Symbol("b"), evaluate=False)),
    (sp.Eq(sp.Symbol("a"), 0, evaluate=False), sp.Eq(sp.Symbol("a"), 1, evaluate=False)),
    (sp.Lt(sp.Symbol("a"), 0, evaluate=False), sp.Lt(0, sp.Symbol("a"), evaluate=False)),
    (sp.Le(sp.Symbol("a"), sp.Symbol("b"), evaluate=False), sp.Lt(sp.Symbol("b"), sp.Symbol("a"), evaluate=False)),
    (sp.Ge(sp.Symbol("a"), sp.Symbol("b"), evaluate=False), sp.Gt(sp.Symbol("b"), sp.Symbol("a"), evaluate=False)),
], ids=["equation", "zero", "strict", "nonstrict", "greater"])
def test_plant_error_changes_a_coefficient_or_reverses_an_inequality(expr, planted):
    assert plant_error(expr) == planted


def test_plant_error_reaches_the_conclusion_of_an_implication():
    a, b = sp.symbols("a b")
    out = plant_error(sp.Implies(sp.Eq(a, 1, evaluate=False), sp.Eq(b, a, evaluate=False), evaluate=False))
    assert out.args[1] == sp.Eq(b, 2 * a, evaluate=False)


def test_paper_notation_keeps_the_old_keywords():
    """alpha_+ / alpha_- / b_+ / b_- in the statement; radius(alpha_p=...) still works, by position too."""
    radius = REGISTRY.claim("C3.averaging_radius").predictions["radius"]
    names = {s.name for s in radius.symbols}
    assert {"alpha_+", "alpha_-", "b_+", "b_-"} <= names
    args = dict(d=3072.0, k=10, p=5, alpha_p=1.0, alpha_m=1.0, b_p=0.0, b_m=0.0)
    assert radius(**args) == pytest.approx(np.sqrt(3072 / 10), rel=1e-12)
    assert radius(*args.values()) == radius(**args)
    with pytest.raises(TypeError, match="alpha_p"):
        radius(3072.0, 10, 5, alpha_q=1.0)


def test_lambdify_prediction_derives_keywords_from_symbol_names():
    a = sp.Symbol("alpha_+", positive=True)
    f = lambdify_prediction([a, sp.Symbol("d")], 2 * a, "twice alpha_+")
    assert f(alpha_p=3.0, d=1.0) == 6.0 and f(3.0, 1.0) == 6.0
    assert "Arguments: alpha_p, d" in f.__doc__


# ---- prose is typeset -------------------------------------------------------------------------

#: ASCII mathematics in prose (claim ids like C3.averaging_radius or L4.dead_neurons are removed first)
ASCII_MATH = re.compile(r"sqrt|<=|>=|\^|_\{|\|\||\b[A-Za-z]+_[A-Za-z0-9+\-]|\bO\(|\b(alpha|Phi|phi|tau|delta|"
                        r"beta|sigma|mu|xi|lambda|varepsilon)\b")


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_titles_assumptions_and_step_names_carry_no_ascii_mathematics(claim_id, claims):
    c = claims[claim_id]
    for what, value in [("title", c.title), ("assumptions", c.assumptions), ("regime", c.regime)] + \
            [(f"step {s.label!r}", s.name) for s in c.steps]:
        strings = [p for p in value.parts if isinstance(p, str)] if isinstance(value, Text) else [value]
        for s in strings:
            hit = ASCII_MATH.search(re.sub(r"\b[A-Z]\d\.\w+", "", s))
            assert hit is None, f"{claim_id} {what}: ASCII mathematics {hit.group(0)!r} in {s!r}"


# ---- featavg claims --json: tests/test_layering.py runs it (with the simulator blocked) and checks
# its generality counts; its time is measured by benchmarks/bench_cli.py
