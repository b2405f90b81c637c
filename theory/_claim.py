"""Claims and their machine-checked derivation steps (SPEC §6).

A :class:`Claim` bundles a SymPy statement, its regime and assumptions, a tuple of
:class:`Step` objects whose ``check()`` is a machine check (a difference that
:func:`sympy.simplify` reduces to 0, a solution substituted back, a limit, signs of
eigenvalues), and numeric predictions made by :func:`sympy.lambdify` from the same
expressions the statement uses (never retyped).

The registry (:data:`CLAIMS`, :func:`get_claim`, :func:`all_claims`) is built lazily, on first
access, so ``import featavg.theory`` stays fast.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.logic.boolalg import BooleanAtom

__all__ = [
    "Step", "Claim", "CLAIMS", "get_claim", "all_claims", "UnknownClaim",
    "is_zero", "lambdify_prediction", "notation", "Inner", "Norm", "to_mathml",
]


class UnknownClaim(KeyError):
    """Raised by :func:`get_claim` for an id that is not in the registry."""


def is_zero(expr):
    """True iff ``sympy.simplify(expr)`` is exactly 0 (the standard step check)."""
    return sp.simplify(expr) == 0


def to_mathml(expr):
    """Presentation MathML of ``expr``, without the ``<math>`` element.

    ``sympy.mathml(expr, printer="presentation")``, with one repair: SymPy writes every text node
    unescaped (so that character references pass through), which turns ``x < 0`` into the
    ill-formed ``<mo><</mo>``; it is written ``<mo>&lt;</mo>`` here. SymPy also writes some
    characters as HTML5 named references (``&InvisibleTimes;``, ``&ExponentialE;``, ``&dd;``):
    the string is meant for an HTML document; an XML parser must be given those entities.
    """
    return sp.mathml(expr, printer="presentation").replace("<mo><</mo>", "<mo>&lt;</mo>")


class _NotationApplied(AppliedUndef):
    """An undefined function whose MathML shows its name as a symbol (``q_j`` as q with index j).

    SymPy's presentation printer writes an undefined function's name lower-cased and verbatim
    (``E(Z)`` as ``e(Z)``, ``q_j(t)`` as ``q_j(t)``); this prints it as :func:`sympy.Symbol` does,
    which is also what the LaTeX printer does, so both printers show the same notation.
    """

    def _mathml_presentation(self, printer):
        mrow = printer.dom.createElement("mrow")
        mrow.appendChild(printer._print(sp.Symbol(self.func.__name__)))
        mrow.appendChild(printer._paren_comma_separated(*self.args))
        return mrow


def notation(name, **assumptions):
    """An undefined function for stating steps, e.g. ``notation("E")(Z)`` or ``notation("q_j")(t)``.

    Like ``sympy.Function(name)`` (equal to it, so checks can mix the two), but printed in
    MathML with the same name, sub- and superscripts as in LaTeX. ``name`` follows the
    :class:`sympy.Symbol` conventions (``"r_argmax"``, ``"A^*"``); it must not contain LaTeX.
    """
    return sp.Function(name, bases=(_NotationApplied,), **assumptions)


def _delimited(printer, opening, args, closing):
    """MathML ``<mrow><mo>opening</mo> args (comma separated) <mo>closing</mo></mrow>``."""
    mrow = printer.dom.createElement("mrow")
    for i, item in enumerate([opening, *args, closing]):
        if isinstance(item, str):
            node = printer.dom.createElement("mo")
            node.appendChild(printer.dom.createTextNode(item))
        else:
            if i > 1:
                comma = printer.dom.createElement("mo")
                comma.appendChild(printer.dom.createTextNode(","))
                mrow.appendChild(comma)
            node = printer._print(item)
        mrow.appendChild(node)
    return mrow


class Inner(sp.Function):
    r"""The inner product :math:`\langle a, b\rangle`, as notation (never evaluated)."""

    nargs = 2

    def _eval_is_real(self):
        return True

    def _latex(self, printer):
        a, b = (printer._print(x) for x in self.args)
        return rf"\left\langle {a}, {b}\right\rangle"

    def _mathml_presentation(self, printer):
        return _delimited(printer, "\u27e8", self.args, "\u27e9")


class Norm(sp.Function):
    r"""The Euclidean norm :math:`\|a\|`, as notation (never evaluated)."""

    nargs = 1

    def _eval_is_extended_nonnegative(self):
        return True

    def _eval_is_real(self):
        return True

    def _latex(self, printer):
        return rf"\left\|{printer._print(self.args[0])}\right\|"

    def _mathml_presentation(self, printer):
        return _delimited(printer, "\u2016", self.args, "\u2016")


def lambdify_prediction(symbols, expr, doc, extra_modules=None):
    """``sympy.lambdify(symbols, expr)`` with keyword-callable arguments and a docstring.

    Parameters
    ----------
    symbols : sequence of sympy.Symbol
        Arguments, in order; they are also accepted as keywords by their names.
    expr : sympy.Expr
        The expression (the same object the claim's statement uses).
    doc : str
        What the function returns, in the claim's notation.
    extra_modules : dict, optional
        Numeric implementations of SymPy functions that NumPy/SciPy do not name.
    """
    modules = ([extra_modules] if extra_modules else []) + ["numpy", "scipy"]
    fn = sp.lambdify(list(symbols), expr, modules=modules)
    fn.__doc__ = f"{doc}\n\nLambdified from: {sp.sstr(expr)}\nArguments: {', '.join(map(str, symbols))}"
    fn.expr = expr
    return fn


@dataclass(frozen=True)
class Step:
    """One derivation step: a statement (SymPy) and the machine check that it holds.

    ``Step(name, expr, check)``. The step's LaTeX and MathML are both printed from ``expr``, so
    they cannot disagree.

    Attributes
    ----------
    name : str
        Short description of what is checked.
    expr : sympy.Basic
        What the step states: an equation (``sympy.Eq(lhs, rhs, evaluate=False)``), an
        inequality, a set of conditions (``sympy.And``/``sympy.Or`` of relationals), or an
        expression. Use :func:`notation` for named functions (``E``, ``P``, ``q_j``).
    check : callable () -> bool
        The machine check; returns True iff the step holds.
    latex : str
        ``sympy.latex(expr)`` (property).
    mathml : str
        ``sympy.mathml(expr, printer="presentation")``, no ``<math>`` element, ``<`` escaped
        (property; see :func:`to_mathml`).

    Raises
    ------
    TypeError
        If ``expr`` is a Python bool or SymPy's ``true``/``false``: a relational that evaluated
        away (build it with ``evaluate=False``), or a ``str`` (hand-written LaTeX is not accepted:
        it could disagree with the MathML).
    """

    name: str
    expr: object
    check: Callable[[], bool]

    def __post_init__(self):
        if isinstance(self.expr, (bool, BooleanAtom)):
            raise TypeError(f"Step {self.name!r}: expr={self.expr!r} is a truth value, not a statement; "
                            "build the relational with evaluate=False")
        if isinstance(self.expr, str):
            raise TypeError(f"Step {self.name!r}: expr={self.expr!r} is a string; pass a SymPy object so "
                            "that LaTeX and MathML are both printed from it")
        if not isinstance(self.expr, sp.Basic):
            object.__setattr__(self, "expr", sp.sympify(self.expr, strict=True))

    def _sympy_expr(self):
        return self.expr

    @property
    def latex(self):
        """The statement in LaTeX, ``sympy.latex(expr)``."""
        return sp.latex(self._sympy_expr())

    @property
    def mathml(self):
        """The statement in presentation MathML (no ``<math>`` element); see :func:`to_mathml`."""
        return to_mathml(self._sympy_expr())

    def run(self):
        """Run the check; an exception counts as a failure (its message is kept)."""
        try:
            ok = bool(self.check())
            return {"step": self.name, "passed": ok}
        except Exception as exc:  # a crashing check is a failed check, reported, not raised
            return {"step": self.name, "passed": False, "error": f"{type(exc).__name__}: {exc}"}


@dataclass(frozen=True)
class Claim:
    """A named, checkable statement of the theory (SPEC §6).

    Attributes
    ----------
    id : str
        Stable identifier, ``"C<n>.<name>"`` with ``<n>`` the SPEC §2 claim it belongs to.
    title : str
    statement : sympy.Eq or sympy.Expr
    assumptions : str
    regime : str
    steps : tuple of Step
    predictions : dict of str -> callable
        Numeric functions lambdified from the expressions used in ``statement``; each has
        keyword arguments named after the symbols and a docstring.
    """

    id: str
    title: str
    statement: object
    assumptions: str
    regime: str
    steps: tuple = ()
    predictions: dict = field(default_factory=dict)

    @property
    def statement_latex(self):
        """The statement in LaTeX, ``sympy.latex(statement)``."""
        return sp.latex(self.statement)

    @property
    def statement_mathml(self):
        """The statement in presentation MathML (no ``<math>`` element); see :func:`to_mathml`."""
        return to_mathml(self.statement)

    def run_checks(self):
        """Run every step's check; returns ``[{"step": name, "passed": bool}, ...]``."""
        return [s.run() for s in self.steps]

    def passed(self):
        return all(r["passed"] for r in self.run_checks())


class _LazyRegistry(Mapping):
    """``id -> Claim``, built on first access (the SymPy construction takes a moment)."""

    def __init__(self):
        self._claims = None

    def _load(self):
        if self._claims is None:
            from featavg.theory._registry import build_claims

            claims = build_claims()
            ids = [c.id for c in claims]
            assert len(set(ids)) == len(ids), f"duplicate claim ids in {ids}"
            self._claims = {c.id: c for c in claims}
        return self._claims

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())


#: the registry of claims, ``id -> Claim`` (lazy)
CLAIMS = _LazyRegistry()


def get_claim(claim_id):
    """The :class:`Claim` with this id; raises :class:`UnknownClaim` listing the valid ids."""
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise UnknownClaim(f"claim_id={claim_id!r} is not a known claim; known: {sorted(CLAIMS)}") from None


def all_claims():
    """All claims, in registry order."""
    return list(CLAIMS.values())
