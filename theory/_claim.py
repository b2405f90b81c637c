"""Claims and their machine-checked derivation steps (docs/science.md §6).

A :class:`Claim` bundles a SymPy statement, its regime and assumptions, a tuple of
:class:`Step` objects whose ``check`` is a machine check (a difference that
:func:`sympy.simplify` reduces to 0, a solution substituted back, a limit, signs of
eigenvalues), and numeric predictions made by :func:`sympy.lambdify` from the same
expressions the statement uses (never retyped).

Prose that carries mathematics (a claim's title, assumptions and regime, a step's name) may be a
:class:`Text`: a sequence of plain strings and SymPy expressions, printed by the report as
LaTeX (Markdown, ``report.tex``) and MathML (HTML), and as one line of Unicode text elsewhere
(``str``). A plain ``str`` keeps working everywhere.

A step's check either takes no argument (it checks what it was written to check) or takes the
step's statement (``check(expr)``: it derives the result and compares it with the statement, so
a planted error in the statement, :func:`plant_error`, makes it fail; the tests plant one in
every such step).

Claims live in claim modules (:mod:`featavg.claims`, discovered by :mod:`featavg._registry`),
one module per claim with its evidence beside it; this module only defines the objects.
"""

import inspect
import keyword
import re
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.logic.boolalg import BooleanAtom
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.str import StrPrinter

__all__ = [
    "Step", "Claim", "GENERALITIES", "Text", "as_text", "plain", "plant_error", "is_zero", "lambdify_prediction",
    "notation", "Inner", "Norm", "SumOver", "In", "to_mathml",
]

#: how far a step's machine check reaches: ``general`` (for symbolic sizes: every k, m, |J_s|,
#: L, K, h, d the statement quantifies over) or ``instance`` (checked at concrete sizes only,
#: listed in the step's ``instances``; the report shows it as an instance check)
GENERALITIES = ("general", "instance")


# --------------------------------------------------------------------------------------------
# prose with mathematics
# --------------------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
_GREEK = {"varepsilon": "\u03b5", "varphi": "\u03c6", "vartheta": "\u03d1"}


class _PlainPrinter(StrPrinter):
    """One line of Unicode: Greek letters, sub/superscripts where Unicode has them, a root sign."""

    printmethod = "_featavg_plain"  # not _sympystr: Indexed would print as w[c]

    def _print_Symbol(self, expr):
        from sympy.printing.pretty.pretty_symbology import pretty_symbol

        name = expr.name
        if name in _GREEK:
            return _GREEK[name]
        if name.startswith("ell") and (len(name) == 3 or name[3] in "_^"):
            name = "\u2113" + name[3:]
        if "^" in name:  # A^* -> A*
            base, sup = name.split("^", 1)
            return pretty_symbol(base) + sup
        return pretty_symbol(name)

    _print_Dummy = _print_Symbol

    def _root(self, base):
        arg = self._print(base)
        return f"\u221a{arg}" if base.is_Symbol or base.is_Integer else f"\u221a({arg})"

    def _print_Pow(self, expr, rational=False):
        if expr.exp == sp.S.Half:
            return self._root(expr.base)
        if expr.exp == -sp.S.Half:
            return f"1/{self._root(expr.base)}"
        if expr.exp.is_Integer and expr.exp > 1:
            base = self.parenthesize(expr.base, 60)  # PRECEDENCE["Pow"]
            return base + str(expr.exp).translate(_SUPERSCRIPT)
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_LambertW(self, expr):
        return f"W({self._print(expr.args[0])})"

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "\u03c0"

    def _print_exp(self, expr):
        arg = expr.args[0]
        return "e^" + (self._print(arg) if arg.is_Atom else f"({self._print(arg)})")

    def _print_Subs(self, expr):
        at = ", ".join(f"{self._print(v)} = {self._print(pt)}" for v, pt in zip(expr.variables, expr.point))
        return f"[{self._print(expr.expr)}] at {at}"

    def _print_Sum(self, expr):
        lims = " ".join(f"\u03a3_{self._print(i)}={self._print(lo)}..{self._print(hi)}" for i, lo, hi in expr.limits)
        return f"{lims} {self.parenthesize(expr.function, 40)}"

    def _print_Interval(self, expr):
        left = "(" if expr.left_open else "["
        right = ")" if expr.right_open else "]"
        return f"{left}{self._print(expr.start)}, {self._print(expr.end)}{right}"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Mul(self, expr):
        return super()._print_Mul(expr).replace("*", "\u00b7")

    def _print_Function(self, expr):
        name = type(expr).__name__
        if isinstance(expr, AppliedUndef):
            name = self._print_Symbol(sp.Symbol(name))
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_Derivative(self, expr):
        var = "".join(f"\u2202{self._print(v)}" + (f"^{n}" if n != 1 else "") for v, n in expr.variable_count)
        order = sum(n for _, n in expr.variable_count)
        top = "\u2202" + (f"^{order}" if order != 1 else "")
        return f"{top}{self._print(expr.expr)}/{var}"

    def _print_Indexed(self, expr):
        return f"{self._print(expr.base.label)}_{','.join(self._print(i) for i in expr.indices)}"

    def _print_KroneckerDelta(self, expr):
        return f"\u03b4_{','.join(self._print(a) for a in expr.args)}"

    def _print_Heaviside(self, expr):
        return f"H({self._print(expr.args[0])})"

    def _print_Range(self, expr):
        return f"{{{self._print(expr.inf)}, \u2026, {self._print(expr.sup)}}}"

    def _print_Contains(self, expr):
        return f"{self._print(expr.args[0])} \u2208 {self._print(expr.args[1])}"

    def _print_Relational(self, expr):
        ops = {"==": "=", "!=": "\u2260", "<=": "\u2264", ">=": "\u2265", "<": "<", ">": ">"}
        return f"{self._print(expr.lhs)} {ops[expr.rel_op]} {self._print(expr.rhs)}"


def plain(expr):
    """``expr`` as one line of Unicode text (``√(d/k)``, ``α₊``): for terminals and JSON."""
    return _PlainPrinter({"order": "none"}).doprint(expr)


class Text:
    """Prose with mathematics: plain strings and SymPy expressions, in order.

    ``Text("radius ", sqrt_as_written(d / k), " of the averaging net")``. The report prints the
    strings as text and the expressions as LaTeX (Markdown, LaTeX) or MathML (HTML), both from
    SymPy; ``str(text)`` is one line of Unicode (:func:`plain`) for terminals and JSON. Texts
    concatenate with strings and with each other (``+``).

    Parameters
    ----------
    *parts : str, sympy.Basic, int, float or Text
        Numbers are sympified; a Text is spliced in.
    """

    __slots__ = ("parts",)

    def __init__(self, *parts):
        out = []
        for part in parts:
            if isinstance(part, Text):
                out.extend(part.parts)
            elif isinstance(part, str):
                if part:
                    out.append(part)
            elif isinstance(part, sp.Basic):
                out.append(part)
            elif isinstance(part, (int, float)) and not isinstance(part, bool):
                out.append(sp.sympify(part))
            else:
                raise TypeError(f"Text part {part!r} ({type(part).__name__}): expected str, a SymPy expression "
                                "or a number")
        object.__setattr__(self, "parts", tuple(out))

    def __setattr__(self, name, value):
        raise AttributeError("Text is immutable")

    def __str__(self):
        return "".join(p if isinstance(p, str) else plain(p) for p in self.parts)

    def __repr__(self):
        return f"Text{self.parts!r}"

    def __format__(self, spec):
        return format(str(self), spec)

    def __eq__(self, other):
        if isinstance(other, Text):
            return self.parts == other.parts
        return NotImplemented

    def __hash__(self):
        return hash(self.parts)

    def __add__(self, other):
        return Text(self, other) if isinstance(other, (str, Text)) else NotImplemented

    def __radd__(self, other):
        return Text(other, self) if isinstance(other, str) else NotImplemented

    def __len__(self):
        return len(str(self))

    @property
    def math(self):
        """The SymPy parts, in order."""
        return tuple(p for p in self.parts if not isinstance(p, str))


def as_text(value):
    """``value`` as a :class:`Text` (a ``str`` becomes a one-part Text; ``None`` an empty one)."""
    if isinstance(value, Text):
        return value
    return Text() if value is None else Text(str(value))


def is_zero(expr):
    """True iff ``sympy.simplify(expr)`` is exactly 0 (the standard step check); the normal CDF and
    density (:class:`featavg.theory.Phi`, :class:`featavg.theory.phi`) are written out first."""
    from featavg.theory._common import explicit

    return sp.simplify(explicit(sp.sympify(expr))) == 0


_ACCENTS = (("ddot", "\u00a8"), ("dot", "\u02d9"), ("bar", "\u00af"), ("hat", "^"), ("tilde", "~"))


class _Presentation(MathMLPresentationPrinter):
    """SymPy's presentation MathML printer, with what it lacks and the LaTeX printer has: symbol
    modifiers (``wbar``, ``qdot_c``: an accent over the letter), ``ell`` as a script l, the
    Kronecker delta as a subscripted delta, ``Subs`` as an evaluation bar, ``erfinv`` as
    ``erf`` to the power -1."""

    def _print_Product(self, e):
        """A product as the big operator with its limits, like SymPy's ``_print_Sum``."""
        from sympy.printing.precedence import precedence_traditional

        (var, lo, hi), *_ = e.limits
        under = self.dom.createElement("munderover")
        op = self.dom.createElement("mo")
        op.appendChild(self.dom.createTextNode("\u220f"))
        low = self.dom.createElement("mrow")
        eq = self.dom.createElement("mo")
        eq.appendChild(self.dom.createTextNode("="))
        for part in (self._print(var), eq, self._print(lo)):
            low.appendChild(part)
        for part in (op, low, self._print(hi)):
            under.appendChild(part)
        row = self.dom.createElement("mrow")
        row.appendChild(under)
        row.appendChild(self.parenthesize(e.function, precedence_traditional(e)))
        return row

    def _print_Symbol(self, sym, style="plain"):
        name, _, _ = self._split_super_sub(sym.name)
        if name == "ell" or name in _GREEK:  # letters SymPy's MathML printer spells out (varepsilon)
            letter = "\u2113" if name == "ell" else _GREEK[name]
            return super()._print_Symbol(sp.Symbol(letter + sym.name[len(name):]), style)
        for mod, accent in _ACCENTS:
            if name.endswith(mod) and len(name) > len(mod):
                x = super()._print_Symbol(sp.Symbol(name[:-len(mod)] + sym.name[len(name):]), style)
                target = x if x.tagName == "mi" else x.firstChild
                over = self.dom.createElement("mover")
                over.setAttribute("accent", "true")
                mo = self.dom.createElement("mo")
                mo.appendChild(self.dom.createTextNode(accent))
                if target is x:
                    over.appendChild(x)
                    over.appendChild(mo)
                    return over
                x.replaceChild(over, target)
                over.appendChild(target)
                over.appendChild(mo)
                return x
        return super()._print_Symbol(sym, style)

    _print_Dummy = _print_Symbol

    def _print_KroneckerDelta(self, expr):
        x = self.dom.createElement("msub")
        mi = self.dom.createElement("mi")
        mi.appendChild(self.dom.createTextNode("\u03b4"))
        x.appendChild(mi)
        row = self.dom.createElement("mrow")
        for a in expr.args:
            row.appendChild(self._print(a))
        x.appendChild(row)
        return x

    def _print_Subs(self, expr):
        x = self.dom.createElement("msub")
        body = self.dom.createElement("mrow")
        body.appendChild(self._print(expr.expr))
        bar = self.dom.createElement("mo")
        bar.setAttribute("stretchy", "true")
        bar.appendChild(self.dom.createTextNode("|"))
        body.appendChild(bar)
        x.appendChild(body)
        at = self.dom.createElement("mrow")
        for i, (var, point) in enumerate(zip(expr.variables, expr.point)):
            if i:
                comma = self.dom.createElement("mo")
                comma.appendChild(self.dom.createTextNode(","))
                at.appendChild(comma)
            at.appendChild(self._print(sp.Eq(var, point, evaluate=False)))
        x.appendChild(at)
        return x

    def _print_erfinv(self, expr):
        row = self.dom.createElement("mrow")
        sup = self.dom.createElement("msup")
        mi = self.dom.createElement("mi")
        mi.appendChild(self.dom.createTextNode("erf"))
        sup.appendChild(mi)
        sup.appendChild(self._print(sp.Integer(-1)))
        row.appendChild(sup)
        row.appendChild(_delimited(self, "(", expr.args, ")"))
        return row


def to_mathml(expr):
    """Presentation MathML of ``expr``, without the ``<math>`` element.

    SymPy's presentation printer (``sympy.mathml(expr, printer="presentation")``) with the additions
    of :class:`_Presentation`, and one repair: SymPy writes every text node
    unescaped (so that character references pass through), which turns ``x < 0`` into the
    ill-formed ``<mo><</mo>``; it is written ``<mo>&lt;</mo>`` here. A sign in a symbol's name
    (``z_-``, ``alpha_+``) is written as an operator (``<mo>&#8722;</mo>``, ``<mo>+</mo>``): SymPy's
    ``<mi>-</mi>`` draws as a hyphen. SymPy also writes some
    characters as HTML5 named references (``&InvisibleTimes;``, ``&ExponentialE;``, ``&dd;``):
    the string is meant for an HTML document; an XML parser must be given those entities.
    """
    out = _Presentation().doprint(expr).replace("<mo><</mo>", "<mo>&lt;</mo>")
    # a sign as a sub- or superscript (z_-, alpha_+) is an operator, not an identifier: as <mi>-</mi>
    # a browser draws a hyphen (z. at subscript size)
    return out.replace("<mi>-</mi>", "<mo>&#8722;</mo>").replace("<mi>+</mi>", "<mo>+</mo>")


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
        return rf"{out}^{{{exp}}}" if exp is not None else out

    def _mathml_presentation(self, printer):
        return _delimited(printer, "\u27e8", self.args, "\u27e9")

    def _featavg_plain(self, printer):
        return f"\u27e8{printer._print(self.args[0])}, {printer._print(self.args[1])}\u27e9"


class Norm(sp.Function):
    r"""The Euclidean norm :math:`\|a\|`, as notation (never evaluated)."""

    nargs = 1

    def _eval_is_extended_nonnegative(self):
        return True

    def _eval_is_real(self):
        return True

    def _latex(self, printer, exp=None):
        out = rf"\left\|{printer._print(self.args[0])}\right\|"
        return rf"{out}^{{{exp}}}" if exp is not None else out

    def _mathml_presentation(self, printer):
        return _delimited(printer, "\u2016", self.args, "\u2016")

    def _featavg_plain(self, printer):
        return f"\u2016{printer._print(self.args[0])}\u2016"


class SumOver(sp.Function):
    r"""The sum :math:`\sum_{i \in S} a_i` over a named index set (``SumOver(mu_i, i, J_s)``), as
    notation (never evaluated; for the statement of a step, not its check)."""

    nargs = 3

    def _latex(self, printer, exp=None):
        term, index, where = (printer._print(x) for x in self.args)
        out = rf"\sum_{{{index} \in {where}}} {term}"
        return rf"\left({out}\right)^{{{exp}}}" if exp is not None else out

    def _mathml_presentation(self, printer):
        dom = printer.dom
        mrow = dom.createElement("mrow")
        under = dom.createElement("munder")
        op = dom.createElement("mo")
        op.appendChild(dom.createTextNode("\u2211"))
        low = dom.createElement("mrow")
        low.appendChild(printer._print(self.args[1]))
        member = dom.createElement("mo")
        member.appendChild(dom.createTextNode("\u2208"))
        low.appendChild(member)
        low.appendChild(printer._print(self.args[2]))
        under.appendChild(op)
        under.appendChild(low)
        mrow.appendChild(under)
        mrow.appendChild(printer._print(self.args[0]))
        return mrow

    def _featavg_plain(self, printer):
        term, index, where = (printer._print(x) for x in self.args)
        return f"\u03a3_{index}\u2208{where} {term}"


class In(sp.Function):
    r"""Membership :math:`a \in S` of an index in a named set (``In(j, J_+)``), as notation for prose
    (:class:`Text`); never evaluated."""

    nargs = 2

    def _latex(self, printer, exp=None):
        return rf"{printer._print(self.args[0])} \in {printer._print(self.args[1])}"

    def _mathml_presentation(self, printer):
        dom = printer.dom
        mrow = dom.createElement("mrow")
        mrow.appendChild(printer._print(self.args[0]))
        op = dom.createElement("mo")
        op.appendChild(dom.createTextNode("\u2208"))
        mrow.appendChild(op)
        mrow.appendChild(printer._print(self.args[1]))
        return mrow

    def _featavg_plain(self, printer):
        return f"{printer._print(self.args[0])} \u2208 {printer._print(self.args[1])}"


def _keyword(name):
    """A Python keyword for a symbol's name: ``alpha_+ -> alpha_p``, ``b_- -> b_m`` (the names the
    predictions had before the paper's notation), other invalid characters -> ``_``."""
    text = name.replace("+", "p").replace("-", "m")
    text = re.sub(r"\W", "_", text)
    if not text.isidentifier() or keyword.iskeyword(text):
        text = "arg_" + text
    return text


def lambdify_prediction(symbols, expr, doc, extra_modules=None, names=None):
    """``sympy.lambdify(symbols, expr)`` with keyword-callable arguments and a docstring.

    Parameters
    ----------
    symbols : sequence of sympy.Symbol
        Arguments, in order; they are also accepted as keywords by their names (a name that is
        no Python identifier, such as ``alpha_+``, by :func:`_keyword` of it: ``alpha_p``).
    expr : sympy.Expr
        The expression (the same object the claim's statement uses).
    doc : str
        What the function returns, in the claim's notation.
    extra_modules : dict, optional
        Numeric implementations of SymPy functions that NumPy/SciPy do not name.
    names : sequence of str, optional
        Keyword names of the arguments, instead of those derived from the symbols.

    Returns
    -------
    callable
        ``fn(*args, **kwargs)``, with ``fn.expr`` the expression and ``fn.symbols`` the symbols.
    """
    symbols = list(symbols)
    modules = ([extra_modules] if extra_modules else []) + ["numpy", "scipy"]
    from featavg.theory._common import numeric

    raw = sp.lambdify(symbols, numeric(expr), modules=modules)
    names = list(names) if names is not None else [_keyword(s.name) for s in symbols]
    if len(names) != len(symbols) or len(set(names)) != len(names):
        raise TypeError(f"lambdify_prediction: names={names!r} must name each of the {len(symbols)} arguments once")
    signature = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])

    def fn(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"prediction({', '.join(names)}): {exc}") from None
        return raw(*bound.args)

    fn.__signature__ = signature
    fn.__name__ = fn.__qualname__ = "prediction"
    fn.__doc__ = f"{doc}\n\nLambdified from: {sp.sstr(expr)}\nArguments: {', '.join(names)}"
    fn.expr = expr
    fn.symbols = tuple(symbols)
    return fn


# --------------------------------------------------------------------------------------------
# planted errors
# --------------------------------------------------------------------------------------------

def _plant_value(value):
    if isinstance(value, sp.Tuple):
        return sp.Tuple(_plant_value(value.args[0]), *value.args[1:])
    if value == 0:
        return sp.Integer(1)
    return sp.Mul(2, value, evaluate=False)


def plant_error(expr):
    """A wrong version of a step's statement, for testing that its check discriminates.

    The rule, applied to the first place it fits: an equation ``lhs = rhs`` gets ``rhs -> 2 rhs``
    (a coefficient changed; ``0 -> 1``; the first entry of a tuple); an inequality is reversed
    (``a < b -> b < a``, ``a <= b -> b < a``: a sign flipped); a conjunction, disjunction,
    implication or equivalence has its first argument planted (its conclusion, for an implication or
    equivalence); a bare expression is doubled.
    """
    if isinstance(expr, sp.Equality):
        return sp.Eq(expr.lhs, _plant_value(expr.rhs), evaluate=False)
    if isinstance(expr, (sp.StrictLessThan, sp.LessThan)):
        return sp.Lt(expr.rhs, expr.lhs, evaluate=False)
    if isinstance(expr, (sp.StrictGreaterThan, sp.GreaterThan)):
        return sp.Gt(expr.rhs, expr.lhs, evaluate=False)
    if isinstance(expr, (sp.Implies, sp.Equivalent)):
        a, b = expr.args
        return type(expr)(a, plant_error(b), evaluate=False)
    if isinstance(expr, (sp.And, sp.Or)):
        first, *rest = expr.args
        return type(expr)(plant_error(first), *rest, evaluate=False)
    return _plant_value(expr)


def _takes_statement(check):
    """True iff ``check`` has exactly one required positional parameter (``check(expr)``)."""
    try:
        params = inspect.signature(check).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: called without arguments
        return False
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) == 1


@dataclass(frozen=True)
class Step:
    """One derivation step: a statement (SymPy) and the machine check that it holds.

    ``Step(name, expr, check)``. The step's LaTeX and MathML are both printed from ``expr``, so
    they cannot disagree.

    Attributes
    ----------
    name : str or Text
        Short description of what is checked (a :class:`Text` carries typeset mathematics;
        ``str(name)`` identifies the step in results).
    expr : sympy.Basic
        What the step states: an equation (``sympy.Eq(lhs, rhs, evaluate=False)``), an
        inequality, a set of conditions (``sympy.And``/``sympy.Or`` of relationals), or an
        expression. Use :func:`notation` for named functions (``E``, ``P``, ``q_j``).
    check : callable () -> bool, or callable (expr) -> bool
        The machine check; returns True iff the step holds. A check with one parameter is given
        the statement ``expr`` and compares its own derivation with it (statement-driven: a
        planted error in ``expr`` makes it fail, see :meth:`check_against`).
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

    name: object
    expr: object
    check: Callable
    generality: str = "general"
    instances: str = ""

    def __post_init__(self):
        if not isinstance(self.name, (str, Text)):
            raise TypeError(f"Step name={self.name!r}: expected a str or a featavg.theory.Text")
        if self.generality not in GENERALITIES:
            raise TypeError(f"Step {str(self.name)!r}: generality={self.generality!r}, expected one of {GENERALITIES}")
        if self.generality == "instance" and not self.instances:
            raise TypeError(f"Step {str(self.name)!r}: an instance step must say at which sizes it is checked "
                            "(instances='k = 2..8', ...)")
        if isinstance(self.expr, (bool, BooleanAtom)):
            raise TypeError(f"Step {str(self.name)!r}: expr={self.expr!r} is a truth value, not a statement; "
                            "build the relational with evaluate=False")
        if isinstance(self.expr, str):
            raise TypeError(f"Step {str(self.name)!r}: expr={self.expr!r} is a string; pass a SymPy object so "
                            "that LaTeX and MathML are both printed from it")
        if not callable(self.check):
            raise TypeError(f"Step {str(self.name)!r}: check={self.check!r} is not callable")
        if not isinstance(self.expr, sp.Basic):
            object.__setattr__(self, "expr", sp.sympify(self.expr, strict=True))

    def _sympy_expr(self):
        return self.expr

    @property
    def label(self):
        """``str(name)``: the step's name as one line of text (its key in results)."""
        return str(self.name)

    @property
    def latex(self):
        """The statement in LaTeX, ``sympy.latex(expr)``."""
        return sp.latex(self._sympy_expr())

    @property
    def mathml(self):
        """The statement in presentation MathML (no ``<math>`` element); see :func:`to_mathml`."""
        return to_mathml(self._sympy_expr())

    @property
    def statement_driven(self):
        """True iff the check is given the statement (``check(expr)``)."""
        return _takes_statement(self.check)

    def check_against(self, expr):
        """Run the check against another statement ``expr`` (e.g. :func:`plant_error` of ours).

        Raises
        ------
        TypeError
            If the check takes no statement (it cannot see a changed one).
        """
        if not self.statement_driven:
            raise TypeError(f"Step {self.label!r}: its check takes no statement, so it cannot be run against "
                            "another one; write it as check(expr)")
        return bool(self.check(expr))

    def _call(self):
        return self.check(self.expr) if self.statement_driven else self.check()

    def run(self):
        """Run the check; an exception counts as a failure (its message is kept)."""
        try:
            ok = bool(self._call())
            out = {"step": self.label, "passed": ok}
        except Exception as exc:  # a crashing check is a failed check, reported, not raised
            out = {"step": self.label, "passed": False, "error": f"{type(exc).__name__}: {exc}"}
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
    title : str or Text
    statement : sympy.Eq or sympy.Expr
    assumptions : str or Text
    regime : str or Text
    steps : tuple of Step
    predictions : dict of str -> callable
        Numeric functions lambdified from the expressions used in ``statement``; each has
        keyword arguments named after the symbols and a docstring.
    """

    id: str
    title: object
    statement: object
    assumptions: object
    regime: object
    steps: tuple = ()
    predictions: dict = field(default_factory=dict)
    kind: str = "claim"

    def __post_init__(self):
        for name in ("title", "assumptions", "regime"):
            value = getattr(self, name)
            if not isinstance(value, (str, Text)):
                raise TypeError(f"Claim {self.id!r}: {name}={value!r} must be a str or a featavg.theory.Text")

    @property
    def statement_latex(self):
        """The statement in LaTeX, ``sympy.latex(statement)``."""
        return sp.latex(self.statement)

    @property
    def statement_mathml(self):
        """The statement in presentation MathML (no ``<math>`` element); see :func:`to_mathml`."""
        return to_mathml(self.statement)

    def run_checks(self):
        """Run every step's check; returns ``[{"step": name, "passed": bool, "generality": ...}, ...]``."""
        return [s.run() for s in self.steps]

    def passed(self):
        return all(r["passed"] for r in self.run_checks())
