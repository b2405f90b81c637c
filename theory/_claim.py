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

__all__ = [
    "Step", "Claim", "CLAIMS", "get_claim", "all_claims", "UnknownClaim",
    "is_zero", "lambdify_prediction",
]


class UnknownClaim(KeyError):
    """Raised by :func:`get_claim` for an id that is not in the registry."""


def is_zero(expr):
    """True iff ``sympy.simplify(expr)`` is exactly 0 (the standard step check)."""
    return sp.simplify(expr) == 0


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
    """One derivation step.

    Attributes
    ----------
    name : str
        Short description of what is checked.
    latex : str
        The step's equation, in LaTeX.
    check : callable () -> bool
        The machine check; returns True iff the step holds.
    """

    name: str
    latex: str
    check: Callable[[], bool]

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
        return sp.latex(self.statement)

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
