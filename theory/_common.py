r"""Symbols and small SymPy helpers shared by the claim modules (SymPy only).

Notation of ``docs/science.md``: ``d`` the dimension, ``k`` the number of clusters, ``p = |J_s|``
the size of a point's (or neuron's) own class, ``K = |J_{-s}|`` the opposite class, ``m`` the
neurons per sign of the binary net, ``h`` the neurons per output of the multi-class net, ``n``
the training points, ``L`` the number of opposite features an attack raises, ``tau`` a threshold,
``delta`` a perturbation radius. Sizes are positive integers (SymPy symbols with
``positive=True, integer=True``), so a step that uses them is checked for every size.

Sums over symbolic ranges (``sympy.Sum`` of ``sympy.IndexedBase`` entries) are evaluated by
:func:`evaluate_sums`, which settles the range conditions SymPy leaves in ``Piecewise`` form
(``KroneckerDelta(i, j)`` summed over ``i = 1..p`` is 1 only if ``1 <= j <= p``) from the index
ranges the caller declares, and by :func:`factor_sums`, which pulls factors that do not depend on
a summation index out of its sum.
"""

import sympy as sp

__all__ = ["d", "k", "p", "K", "m", "h", "n", "L", "tau", "delta", "beta", "Phi", "phi", "phi_positive",
           "ratio_as_written", "sqrt_as_written", "numeric", "kkt_min_norm", "logistic", "g", "evaluate_sums",
           "factor_sums", "sum_innermost", "sums_equal", "gaussian_expectation", "delta_summed", "explicit"]

d, k, p, K, m, h, n = sp.symbols("d k p K m h n", positive=True, integer=True)
L = sp.Symbol("L", positive=True, integer=True)
tau = sp.Symbol("tau", nonnegative=True)
delta = sp.Symbol("delta", nonnegative=True)
beta = sp.Symbol("beta", positive=True)


class Phi(sp.Function):
    r"""The standard normal CDF :math:`\Phi(x) = (1 + \mathrm{erf}(x/\sqrt2))/2`, printed as
    :math:`\Phi(x)`; :func:`explicit` (and ``rewrite(sympy.erf)``) writes it out."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x is sp.S.Zero:
            return sp.S.Half
        if x is sp.S.Infinity:
            return sp.S.One
        if x is sp.S.NegativeInfinity:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        return phi(self.args[0])

    def _eval_rewrite_as_erf(self, x, **kwargs):
        return (1 + sp.erf(x / sp.sqrt(2))) / 2

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        if self.args[0].is_real:  # a finite real argument: Phi(-oo) = 0 is the only zero
            return True

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_erf(self.args[0])._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        out = rf"\Phi\left({printer._print(self.args[0])}\right)"
        return rf"{out}^{{{exp}}}" if exp is not None else out

    def _mathml_presentation(self, printer):
        return _named_call(printer, "\u03a6", self.args)

    def _featavg_plain(self, printer):
        return f"\u03a6({printer._print(self.args[0])})"


class phi(sp.Function):
    r"""The standard normal density :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`, printed as
    :math:`\varphi(x)`; :func:`explicit` (and ``rewrite(sympy.exp)``) writes it out."""

    nargs = 1

    def fdiff(self, argindex=1):
        return -self.args[0] * phi(self.args[0])

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_exp(self.args[0])._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        out = rf"\varphi\left({printer._print(self.args[0])}\right)"
        return rf"{out}^{{{exp}}}" if exp is not None else out

    def _mathml_presentation(self, printer):
        return _named_call(printer, "\u03c6", self.args)

    def _featavg_plain(self, printer):
        return f"\u03c6({printer._print(self.args[0])})"


def _named_call(printer, name, args):
    """MathML ``<mi>name</mi>(args)``."""
    dom = printer.dom
    mrow = dom.createElement("mrow")
    mi = dom.createElement("mi")
    mi.appendChild(dom.createTextNode(name))
    mrow.appendChild(mi)
    fenced = dom.createElement("mrow")
    for i, item in enumerate(["(", *args, ")"]):
        if isinstance(item, str):
            node = dom.createElement("mo")
            node.appendChild(dom.createTextNode(item))
        else:
            node = printer._print(item)
        fenced.appendChild(node)
    mrow.appendChild(fenced)
    return mrow


def explicit(expr):
    """``expr`` with :class:`Phi` and :class:`phi` written out (erf and exp; ``erfc`` as ``1 - erf``):
    what SymPy can simplify."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(explicit)
    if not isinstance(expr, sp.Basic):
        return expr
    return expr.replace(lambda e: isinstance(e, Phi), lambda e: (1 + sp.erf(e.args[0] / sp.sqrt(2))) / 2).replace(
        lambda e: isinstance(e, phi), lambda e: sp.exp(-e.args[0] ** 2 / 2) / sp.sqrt(2 * sp.pi)).replace(
        lambda e: isinstance(e, sp.erfc), lambda e: 1 - sp.erf(e.args[0]))


def numeric(expr):
    """``expr`` with :class:`Phi` and :class:`phi` written out for numerical evaluation (lambdify):
    ``Phi(x) = erfc(-x/sqrt 2)/2`` and the density as ``exp``; ``erfc`` is kept. Unlike
    :func:`explicit` (which SymPy simplifies best), this keeps the tails accurate: ``1 + erf(x)``
    loses every digit below ``1e-16``, ``erfc`` none (``Phi(-sqrt(d/k))`` is ``1e-68`` at the
    paper's setting)."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(numeric)
    if not isinstance(expr, sp.Basic):
        return expr
    return expr.replace(lambda e: isinstance(e, Phi), lambda e: sp.erfc(-e.args[0] / sp.sqrt(2)) / 2).replace(
        lambda e: isinstance(e, phi), lambda e: sp.exp(-e.args[0] ** 2 / 2) / sp.sqrt(2 * sp.pi))


def phi_positive():
    """``Phi > 0``: ``Phi(-oo) = 0`` and ``Phi' = phi > 0`` (SymPy cannot sign erf directly)."""
    x = sp.Symbol("x", real=True)
    return (sp.limit(explicit(Phi(x)), x, -sp.oo) == 0
            and sp.simplify(sp.diff(explicit(Phi(x)), x) - explicit(phi(x))) == 0
            and bool(explicit(phi(x)).is_positive))


def ratio_as_written(a, b):
    """``a / b`` as written (SymPy would cancel and reorder it), for stating a step."""
    return sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False)


def sqrt_as_written(x):
    r""":math:`\sqrt{x}` as written (SymPy would write ``sqrt(d/k)`` as ``sqrt(d)/sqrt(k)``)."""
    return sp.Pow(x, sp.S.Half, evaluate=False)


def kkt_min_norm(variables, constraint, weights=None):
    r"""Minimise :math:`\sum_i w_i v_i^2` subject to ``constraint == 0`` (linear) via Lagrange.

    Solves :math:`\nabla(\sum w_i v_i^2 + \lambda\,c(v)) = 0,\ c(v) = 0` with :func:`sympy.solve`.

    Returns
    -------
    sol : dict
        Values of the variables and of the multiplier ``lambda``.
    cost2 : sympy.Expr
        The minimal squared (weighted) norm.
    lam : sympy.Symbol
    """
    weights = weights or [1] * len(variables)
    lam = sp.Symbol("lambda")
    obj = sum(w * v ** 2 for w, v in zip(weights, variables))
    lag = obj + lam * constraint
    eqs = [sp.diff(lag, v) for v in variables] + [constraint]
    sol = sp.solve(eqs, list(variables) + [lam], dict=True)
    if len(sol) != 1:
        raise ArithmeticError(f"KKT system has {len(sol)} solutions, expected 1")
    sol = sol[0]
    return sol, sp.simplify(obj.subs(sol)), lam


def logistic(q):
    r""":math:`\ell(q) = \log(1 + e^{-q})`."""
    return sp.log(1 + sp.exp(-q))


def g(x):
    r""":math:`g(q) = -\ell'(q) = 1/(1+e^q)`."""
    return 1 / (1 + sp.exp(x))


# --------------------------------------------------------------------------------------------
# sums over symbolic ranges
# --------------------------------------------------------------------------------------------

def _facts(ranges):
    """The nonnegative expressions ``hi - i`` and ``i - lo`` of each declared range ``(i, lo, hi)``."""
    out = []
    for index, lo, hi in ranges:
        out += [sp.sympify(hi) - index, index - sp.sympify(lo)]
    return out


def _holds(cond, facts):
    """True iff ``cond`` (a conjunction of ``<=``/``>=`` relations) follows from one fact each."""
    if cond is sp.true:
        return True
    if isinstance(cond, sp.And):
        return all(_holds(c, facts) for c in cond.args)
    if isinstance(cond, (sp.GreaterThan, sp.LessThan)):
        gap = sp.expand(cond.gts - cond.lts)  # the relation says gap >= 0
        return any(is_nonnegative(gap - f) for f in facts)
    if isinstance(cond, sp.Equality):
        return sp.expand(cond.lhs - cond.rhs) == 0
    return False


def is_nonnegative(expr):
    """True iff SymPy's assumptions (or an exact 0) show ``expr >= 0``."""
    expr = sp.expand(expr)
    return expr == 0 or bool(expr.is_nonnegative)


def evaluate_sums(expr, ranges=(), max_rounds=8):
    r"""``expr.doit()``, with the range conditions of Kronecker-delta sums settled.

    Summing :math:`\delta_{ij} a_i` over :math:`i = 1..p` gives SymPy's
    ``Piecewise((a_j, (j >= 1) & (j <= p)), (0, True))``: the sum is :math:`a_j` only if
    :math:`j` lies in the range. This function replaces such a ``Piecewise`` by its first branch
    when every relation of its condition is one of the declared ranges (``(j, 1, p)``), and
    repeats ``doit`` until nothing changes: the evaluation is valid for every size.

    Parameters
    ----------
    expr : sympy.Basic
    ranges : sequence of (index, lo, hi)
        Integer indices and the ranges they lie in (free indices, and summation indices whose
        ``Piecewise`` conditions appear inside their own sum).
    """
    facts = _facts(ranges)

    def settle(pw):
        value, cond = pw.args[0]
        return value if _holds(cond, facts) else pw

    for _ in range(max_rounds):
        new = expr.doit().replace(lambda e: isinstance(e, sp.Piecewise), settle)
        if new == expr:
            break
        expr = new
    return expr


def factor_sums(expr):
    """Pull the factors of each summand that do not depend on the summation index out of its sum,
    innermost sums first (``Sum(a_i b_j, i, j) -> Sum(a_i, i) Sum(b_j, j)``), and split sums of
    sums (``Sum(a_i + b_i) -> Sum(a_i) + Sum(b_i)``): linearity of a finite sum, for every range."""
    def single(body, limit):
        index, lo, hi = limit
        body = sp.expand(body)
        if isinstance(body, sp.Add):
            return sp.Add(*[single(t, limit) for t in body.args])
        free, bound = [], []
        for f in sp.Mul.make_args(body):
            (bound if f.has(index) else free).append(f)
        if not bound:
            return sp.Mul(*free) * (hi - lo + 1)
        return sp.Mul(*free) * sp.Sum(sp.Mul(*bound), limit)

    def one(s):
        out = s.function
        for limit in s.limits:  # innermost first
            out = single(out, limit)
        return out

    return expr.replace(lambda e: isinstance(e, sp.Sum), one)


def sum_innermost(expr, index):
    """Exchange finite sums so that the sums over ``index`` are innermost (Fubini for finite sums):
    ``Sum(f Sum(g, (i, lo, hi)), (index, ...))`` becomes ``Sum(Sum(f g, (index, ...)), (i, lo, hi))``
    when ``lo``, ``hi`` do not involve ``index``; terms of a sum are treated one by one."""
    def one(s):
        if len(s.limits) != 1 or s.limits[0][0] != index:
            return s
        body = sp.expand(s.function)
        if isinstance(body, sp.Add):
            return sp.Add(*[one(sp.Sum(t, s.limits[0])) for t in body.args])
        inner = [f for f in sp.Mul.make_args(body) if isinstance(f, sp.Sum)]
        if len(inner) != 1 or any(x.has(index) for lim in inner[0].limits for x in lim[1:]):
            return sp.Sum(body, s.limits[0])
        (t,) = inner
        rest = sp.Mul(*[f for f in sp.Mul.make_args(body) if f is not t])
        new_inner = one(sp.Sum(rest * t.function, s.limits[0]))
        return sp.Sum(new_inner, *t.limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1 and e.limits[0][0] == index, one)


def _canonical_indices(expr, depth=0):
    """Every summation index renamed by its nesting depth (``_sum_index_0``, ``_sum_index_1``, ...):
    bound variables, so two sums that differ only in their names become equal."""
    if isinstance(expr, sp.Sum):
        body, limits = expr.function, []
        for n_, (index, lo, hi) in enumerate(expr.limits):
            canon = sp.Symbol(f"_sum_index_{depth + n_}", integer=True, positive=True)
            body = body.xreplace({index: canon})
            limits.append((canon, lo, hi))
        return sp.Sum(_canonical_indices(body, depth + len(limits)), *limits)
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*[_canonical_indices(a, depth) for a in expr.args])


def sums_equal(a, b, ranges=()):
    """True iff ``a - b`` is 0 by linearity of sums: :func:`factor_sums`, :func:`evaluate_sums`, then
    the sums over the same range are merged and each merged summand must simplify to 0, and so must
    what is left outside the sums."""
    from featavg.theory._claim import is_zero

    e = _canonical_indices(factor_sums(evaluate_sums(factor_sums(sp.expand(sp.sympify(a) - sp.sympify(b))), ranges)))
    groups, rest = {}, []
    for term in sp.Add.make_args(sp.expand(e)):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if len(sums) != 1:
            rest.append(term)
            continue
        (s_,) = sums
        coeff = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not s_])
        # the summation index is a dummy: sums over the same range are merged whatever its name
        body = s_.function
        keys = []
        for n_, (index, lo, hi) in enumerate(s_.limits):
            canon = sp.Symbol(f"_sum_index_{n_}", integer=True, positive=True)
            body = body.xreplace({index: canon})
            keys.append((lo, hi))
        groups.setdefault(tuple(keys), []).append(coeff * body)
    return is_zero(sp.Add(*rest)) and all(is_zero(sp.Add(*fs)) for fs in groups.values())


def delta_summed(summand, index, lo, hi, at):
    """``sum_{index=lo..hi} KroneckerDelta(index, at) summand`` = ``summand(at)``, for ``at`` in the range.

    The sifting property, stated as an evaluation (:func:`evaluate_sums` with ``at`` declared in
    ``[lo, hi]``).
    """
    return evaluate_sums(sp.Sum(sp.KroneckerDelta(index, at) * summand, (index, lo, hi)), [(at, lo, hi)])


# --------------------------------------------------------------------------------------------
# Gaussian integrals
# --------------------------------------------------------------------------------------------

def gaussian_expectation(expr, z):
    r""":math:`E[\mathrm{expr}(Z)]` for :math:`Z \sim N(0, 1)`: ``integrate(expr * phi(z), (z, -oo, oo))``."""
    return sp.integrate(explicit(expr * phi(z)), (z, -sp.oo, sp.oo))
