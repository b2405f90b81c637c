"""featavg.theory: every claim and step states a SymPy expression that prints as LaTeX and MathML.

The report prints each step's LaTeX and MathML from one SymPy expression (``Step.expr``). These
tests check what the printed output must satisfy (parseable MathML with content, no LaTeX markup
smuggled into symbol names, function names printed as in LaTeX) and, for steps that are plain
identities, that the stated equation is true numerically: an oracle independent of the SymPy
simplification the step's own check uses.
"""

import html.entities
import re
import xml.etree.ElementTree as ET

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.logic.boolalg import BooleanAtom

from featavg import get_claim
from featavg._registry import default_registry
from featavg.theory import Step

CLAIMS = {e.id: e.claim() for e in default_registry()}

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_XML_ENTITIES = {"lt", "gt", "amp", "quot", "apos"}
_NAMED_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _parse_mathml(mathml):
    """Parse presentation MathML wrapped in ``<math>``.

    SymPy writes some characters as HTML5 named references (``&InvisibleTimes;``, ``&dd;``),
    defined in the HTML document the report embeds MathML in but not in XML; they are resolved
    from the HTML5 table first (an unknown name raises ``KeyError``, failing the test).
    """
    def resolve(match):
        name = match.group(1)
        return match.group(0) if name in _XML_ENTITIES else html.entities.html5[name + ";"]

    return ET.fromstring(f'<math xmlns="{MATHML_NS}">' + _NAMED_REFERENCE.sub(resolve, mathml) + "</math>")


def _printed_items():
    """``(label, expr, latex, mathml)`` for every claim statement and every step."""
    for claim in CLAIMS.values():
        yield f"{claim.id}: statement", claim.statement, claim.statement_latex, claim.statement_mathml
        for step in claim.steps:
            yield f"{claim.id}: {step.name}", step.expr, step.latex, step.mathml


# ---- every statement and step is printable ------------------------------------------------------

@pytest.mark.parametrize("claim_id", list(CLAIMS))
def test_every_step_expr_prints_as_latex_and_parseable_mathml(claim_id):
    claim = get_claim(claim_id)
    assert claim.steps
    items = [("statement", claim.statement, claim.statement_latex, claim.statement_mathml)]
    items += [(step.name, step.expr, step.latex, step.mathml) for step in claim.steps]
    for label, expr, latex, mathml in items:
        assert isinstance(expr, sp.Basic), label
        assert not isinstance(expr, BooleanAtom), f"{label}: the statement evaluated to {expr}"
        assert isinstance(latex, str) and latex.strip(), label
        assert not mathml.lstrip().startswith("<math"), label  # the report adds the <math> element
        root = _parse_mathml(mathml)
        tokens = [el for el in root.iter() if el.tag in {f"{{{MATHML_NS}}}{t}" for t in ("mi", "mn", "mo")}]
        assert tokens, f"{label}: no mi/mn/mo token in {mathml!r}"


def test_step_latex_and_mathml_are_printed_from_the_step_expression():
    """The contract the report relies on: both forms are printed from ``Step.expr`` (SymPy's LaTeX
    printer, and featavg's presentation-MathML printer: SymPy's with its repairs), never stored."""
    from featavg.theory import to_mathml

    for claim in CLAIMS.values():
        assert claim.statement_mathml == to_mathml(claim.statement)
        for step in claim.steps:
            assert step.latex == sp.latex(step.expr)
            assert step.mathml == to_mathml(step.expr)


def test_sympy_still_writes_the_less_than_operator_unescaped():
    """Guards the repair in ``to_mathml``: if SymPy starts escaping ``<``, the repair can go."""
    assert "<mo><</mo>" in sp.mathml(sp.Lt(sp.Symbol("x"), 0), printer="presentation")


def test_no_symbol_or_function_name_contains_latex_markup():
    """A name like ``\\langle w,\\mu\\rangle`` prints as LaTeX but as garbage in MathML."""
    for label, expr, _, _ in _printed_items():
        names = [s.name for s in expr.atoms(sp.Symbol)]
        names += [type(f).__name__ for f in expr.atoms(AppliedUndef)]
        for name in names:
            assert "\\" not in name, f"{label}: name {name!r} contains LaTeX"
            # the MathML printer writes braces verbatim (r_{sum} -> r, "{sum}"); write r_sum instead
            assert "{" not in name and "}" not in name, f"{label}: name {name!r} contains braces"


def test_mathml_prints_function_names_as_latex_does():
    """SymPy's MathML printer lower-cases unknown function names (E -> e, ReLU -> relu) unless the
    function is built with ``featavg.theory._claim.notation`` or defines its own MathML."""
    for label, expr, _, mathml in _printed_items():
        assert "unevaluatedexpr" not in mathml.lower(), label
        symbols = {x.name for x in expr.atoms(sp.Symbol)} | {type(f).__name__ for f in expr.atoms(sp.Function)}
        for f in expr.atoms(sp.Function):
            name = type(f).__name__
            if (name != name.lower() or "_" in name) and name.lower() not in symbols:
                assert f"<mi>{name.lower()}</mi>" not in mathml, f"{label}: {name} printed as {name.lower()}"


# ---- the stated identities are true: an independent numeric oracle ------------------------------

def _identity_steps():
    """Every step (discovered) whose ``expr`` is an identity ``Eq(lhs, rhs)`` of two sides that evaluate
    to numbers once their symbols are given values: no undefined functions, indexed symbols, sums
    or limits (those are checked symbolically by the steps themselves)."""
    from sympy.core.function import AppliedUndef

    from featavg.theory._common import explicit

    out = []
    for claim in CLAIMS.values():
        for step in claim.steps:
            expr = explicit(step.expr)
            if not isinstance(expr, sp.Equality) or not expr.free_symbols:
                continue
            if expr.atoms(AppliedUndef) or expr.atoms(sp.Indexed) or expr.has(sp.Sum, sp.Product, sp.Limit,
                                                                               sp.Piecewise, sp.Subs):
                continue
            if any(not (s.is_real or s.is_positive) or s.is_integer for s in expr.free_symbols):
                continue  # integer sizes have domains (x <= n_j, ...) the random points would leave
            # identities only (an equation to solve, or one that holds under a stated substitution,
            # is checked by its step): the selection asks SymPy, the test below asks mpmath
            try:
                if sp.simplify(expr.lhs - expr.rhs) != 0:
                    continue
            except Exception:  # pragma: no cover - SymPy could not decide: not an identity step here
                continue
            out.append((claim.id, str(step.name), expr))
    return out


#: identity steps; each check uses SymPy simplification or integration, the test evaluates both
#: sides in 30-digit arithmetic (derivatives by central differences, integrals by mpmath's
#: tanh-sinh quadrature)
IDENTITY_STEPS = _identity_steps()


def test_the_numeric_identity_oracle_covers_many_steps():
    assert len(IDENTITY_STEPS) >= 2, len(IDENTITY_STEPS)  # the general steps with integer sizes are
    # checked symbolically, each failing on a planted error (tests/test_derivations_general.py)


_DIGITS = 30
_FD_STEP = sp.Rational(1, 10 ** 12)  # central difference: error O(h^2) = 1e-24, round-off 1e-30/h = 1e-18


def _numeric(expr, values):
    """``expr`` at ``values`` in 30 digits; a first derivative by a central difference."""
    if isinstance(expr, sp.Derivative):
        ((var, count),) = expr.variable_count
        assert count == 1, "only first derivatives are supported"
        inner, x0 = expr.expr, values[var]
        rest = {s: v for s, v in values.items() if s != var}
        up = inner.subs(var, x0 + _FD_STEP).evalf(_DIGITS, subs=rest)
        down = inner.subs(var, x0 - _FD_STEP).evalf(_DIGITS, subs=rest)
        return (up - down) / (2 * _FD_STEP)
    if isinstance(expr, sp.Integral):
        ((var, low, high),) = expr.limits
        integrand = sp.lambdify([var], expr.function.subs(values), modules="mpmath")
        ends = [sp.N(x.subs(values), _DIGITS) for x in (low, high)]
        ends = [mpmath.inf if x == sp.oo else -mpmath.inf if x == -sp.oo else mpmath.mpf(str(x)) for x in ends]
        with mpmath.workdps(_DIGITS):
            return sp.Float(mpmath.quad(integrand, ends), _DIGITS)
    value = expr.subs(values).evalf(_DIGITS)
    assert value.is_number and not value.free_symbols, f"{expr} did not evaluate: {value}"
    return value


@pytest.mark.parametrize("claim_id, step_name, expr", IDENTITY_STEPS,
                         ids=[f"{c}:{n[:40]}" for c, n, _ in IDENTITY_STEPS])
def test_stated_identity_holds_at_random_positive_points(claim_id, step_name, expr):
    rng = np.random.default_rng(20261124)
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    for _ in range(3):
        # positive values in [0.5, 2]: every symbol's assumptions (real, positive) hold and the
        # ReLU arguments stay away from the kink at 0
        values = {s: sp.Float(rng.uniform(0.5, 2.0), _DIGITS) for s in symbols}
        try:
            lhs, rhs = _numeric(expr.lhs, values), _numeric(expr.rhs, values)
        except (AssertionError, TypeError, ValueError) as exc:
            pytest.skip(f"not numerically evaluable at these values: {exc}")
        # 30-digit evaluation, so a true identity agrees far below 1e-9 relative; quadrature of the
        # integrals (mpmath's default error estimate) is the loosest part, still well below it
        assert abs(lhs - rhs) <= 1e-9 * max(abs(rhs), 1e-30), (step_name, values, lhs, rhs)


def test_identity_oracle_rejects_a_false_identity():
    """The same numeric oracle fails a wrong step expression (derivative off by a factor 2)."""
    q = sp.Symbol("q", real=True)
    wrong = sp.Eq(sp.Derivative(sp.log(1 + sp.exp(-q)), q), -2 / (1 + sp.exp(q)), evaluate=False)
    values = {q: sp.Float(0.7, _DIGITS)}
    lhs, rhs = _numeric(wrong.lhs, values), _numeric(wrong.rhs, values)
    assert abs(lhs - rhs) > 1e-3 * abs(rhs)


# ---- the Step API ---------------------------------------------------------------------------------

def test_step_rejects_a_statement_that_evaluated_to_a_truth_value():
    x = sp.Symbol("x")
    with pytest.raises(TypeError, match="evaluate=False"):
        Step("x = x", sp.Eq(x, x), lambda: True)
    with pytest.raises(TypeError, match="truth value"):
        Step("bool", True, lambda: True)


def test_steps_refuse_hand_written_latex_and_truth_values():
    # a string could disagree with the MathML printed for HTML; a bool is an Eq that evaluated away
    for bad in (r"x = 1", True, sp.true):
        with pytest.raises(TypeError):
            Step("bad", bad, lambda: True)
