"""Claims and their machine-checked derivation steps (docs/science.md §6).

A :class:`Claim` bundles a SymPy statement, its regime and assumptions, a tuple of
:class:`Step` objects whose ``check()`` is a machine check (a difference that
:func:`sympy.simplify` reduces to 0, a solution substituted back, a limit, signs of
eigenvalues), and numeric predictions made by :func:`sympy.lambdify` from the same
expressions the statement uses (never retyped).

Claims live in claim modules (:mod:`featavg.claims`, discovered by :mod:`featavg._registry`),
one module per claim with its evidence beside it; this module only defines the objects.
"""

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.logic.boolalg import BooleanAtom

__all__ = [
    "Step", "Claim", "GENERALITIES", "is_zero", "lambdify_prediction", "notation", "Inner", "Norm", "to_mathml",
]

#: how far a step's machine check reaches: ``general`` (for symbolic sizes: every k, m, |J_s|,
#: L, K, h, d the statement quantifies over) or ``instance`` (checked at concrete sizes only,
#: listed in the step's ``instances``; the report shows it as an instance check)
GENERALITIES = ("general", "instance")


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

    def _latex(self, printer, exp=None):
        a, b = (printer._print(x) for x in self.args)
        out = rf"\left\langle {a}, {b}\right\rangle"
        return out if exp is None else f"{out}^{{{exp}}}"

    def _mathml_presentation(self, printer):
        return _delimited(printer, "\u27e8", self.args, "\u27e9")


class Norm(sp.Function):
    r"""The Euclidean norm :math:`\|a\|`, as notation (never evaluated)."""

    nargs = 1

    def _eval_is_extended_nonnegative(self):
        return True

    def _eval_is_real(self):
        return True

    def _latex(self, printer, exp=None):
        out = rf"\left\|{printer._print(self.args[0])}\right\|"
        return out if exp is None else f"{out}^{{{exp}}}"

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
    generality : {"general", "instance"}
        ``general`` if the check covers every size the statement quantifies over (symbolic
        ``k``, ``m``, ``|J_s|``, ``L``, ``K``, ``h``, ``d``); ``instance`` if it is checked at
        concrete sizes only (a structural argument out of SymPy's reach).
    instances : str
        For an instance step: the sizes it is checked at, in words.
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
    generality: str = "general"
    instances: str = ""

    def __post_init__(self):
        if self.generality not in GENERALITIES:
            raise TypeError(f"Step {self.name!r}: generality={self.generality!r}, expected one of {GENERALITIES}")
        if self.generality == "instance" and not self.instances:
            raise TypeError(f"Step {self.name!r}: an instance step must say at which sizes it is checked "
                            "(instances='k = 2..8', ...)")
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
            out = {"step": self.name, "passed": ok}
        except Exception as exc:  # a crashing check is a failed check, reported, not raised
            out = {"step": self.name, "passed": False, "error": f"{type(exc).__name__}: {exc}"}
        out["generality"] = self.generality
        if self.instances:
            out["instances"] = self.instances
        return out


@dataclass(frozen=True)
class Claim:
    """A named, checkable statement of the theory (docs/science.md §6).

    Attributes
    ----------
    id : str
        Stable identifier, ``"C<n>.<name>"`` with ``<n>`` the claim of docs/science.md §2 it
        belongs to (a user's claims use their own prefix).
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
    kind: str = "claim"

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
