r"""SymPy notation shared by the lemma modules (``L*``): regularised incomplete gamma functions, the
chi-square density, and the lambdify namespace that evaluates them stably (SymPy only; no simulator).

``GammaP(a, x) = lowergamma(a, x)/Gamma(a)`` and ``GammaQ(a, x) = uppergamma(a, x)/Gamma(a)`` are
kept as named functions so that lambdify evaluates them with SciPy's regularised ``gammainc`` /
``gammaincc`` (SymPy's own printing, ``gamma(a) gammaincc(a, x)/gamma(a)``, overflows to ``nan`` at
``a = d/2 = 1536``); their ``rewrite(sp.uppergamma)`` gives the defining expression, which the
steps' checks use.
"""

from functools import lru_cache

import sympy as sp
from scipy import special

__all__ = ["GammaP", "GammaQ", "chi2_pdf", "NUMERIC", "lemma_lambdify", "binomial_theorem"]


class GammaQ(sp.Function):
    r"""Regularised upper incomplete gamma :math:`Q(a, x) = \Gamma(a, x)/\Gamma(a)`."""

    nargs = 2

    def _eval_rewrite_as_uppergamma(self, a, x, **kw):
        return sp.uppergamma(a, x) / sp.gamma(a)

    def _latex(self, printer, exp=None):
        a, x = (printer._print(v) for v in self.args)
        out = rf"Q\left({a}, {x}\right)"
        return out if exp is None else f"{out}^{{{exp}}}"

    def _mathml_presentation(self, printer):  # as the LaTeX: Q(a, x) (SymPy would write "gammaq")
        return _named_mathml(printer, "Q", self.args)


class GammaP(sp.Function):
    r"""Regularised lower incomplete gamma :math:`P(a, x) = \gamma(a, x)/\Gamma(a) = 1 - Q(a, x)`."""

    nargs = 2

    def _eval_rewrite_as_uppergamma(self, a, x, **kw):
        return 1 - sp.uppergamma(a, x) / sp.gamma(a)

    def _latex(self, printer, exp=None):
        a, x = (printer._print(v) for v in self.args)
        out = rf"P\left({a}, {x}\right)"
        return out if exp is None else f"{out}^{{{exp}}}"

    def _mathml_presentation(self, printer):  # as the LaTeX: P(a, x)
        return _named_mathml(printer, "P", self.args)


def _named_mathml(printer, name, args):
    """``<mrow><mi>name</mi>(args)</mrow>``: a function printed under its mathematical name."""
    from featavg.theory._claim import _delimited

    mrow = printer.dom.createElement("mrow")
    mi = printer.dom.createElement("mi")
    mi.appendChild(printer.dom.createTextNode(name))
    mrow.appendChild(mi)
    mrow.appendChild(_delimited(printer, "(", args, ")"))
    return mrow


def chi2_pdf(x, dof):
    r"""The chi-square density :math:`x^{\nu/2 - 1} e^{-x/2} / (2^{\nu/2}\Gamma(\nu/2))`."""
    return x ** (dof / 2 - 1) * sp.exp(-x / 2) / (2 ** (dof / 2) * sp.gamma(dof / 2))


#: numeric implementations of the notation above for :func:`featavg.theory.lambdify_prediction`
NUMERIC = {"GammaP": special.gammainc, "GammaQ": special.gammaincc}


def lemma_lambdify(symbols, expr, doc):
    """:func:`featavg.theory.lambdify_prediction` with :data:`NUMERIC` (the lemmas' special functions)."""
    from featavg.theory import lambdify_prediction

    return lambdify_prediction(symbols, expr, doc, extra_modules=NUMERIC)


def inverse_norm_rms_squared(dim):
    r""":math:`E[(1/\rho - 1)^2]` for :math:`\rho^2 = \chi^2_d/(d + 1)`: the finite-``d`` correction of
    the init lemmas (L3, L4).

    ``E[(d+1)/chi^2_d] = (d+1)/(d-2)`` and ``E[sqrt(d+1)/chi_d] = sqrt((d+1)/2) Gamma((d-1)/2)/Gamma(d/2)``
    (chi-square moments, steps of L3.activation_fractions); the Gamma ratio is written with
    ``loggamma`` so that it evaluates at ``d = 10^6``.
    """
    ratio = sp.exp(sp.loggamma((dim - 1) / 2) - sp.loggamma(dim / 2))
    return (dim + 1) / (dim - 2) - 2 * sp.sqrt((dim + 1) / 2) * ratio + 1


def chi_moment_steps(Step, is_zero):
    """The two chi-square moments behind :func:`inverse_norm_rms_squared`, as derivation steps.

    Each check integrates the chi-square density (symbolic ``d``) itself and compares the result
    with the right side of the statement it is given."""
    from featavg.theory import Text, notation

    dim, x = sp.symbols("d x", positive=True)
    f = chi2_pdf(x, dim)
    E, chi = notation("E"), sp.Symbol("chi_d", positive=True)

    def inverse(st):
        return is_zero(sp.integrate(f / x, (x, 0, sp.oo), conds="none") - st.rhs)

    def inverse_root(st):
        return is_zero(sp.integrate(f / sp.sqrt(x), (x, 0, sp.oo), conds="none") - st.rhs)

    return (
        Step(Text("the inverse chi-square moment ", sp.Eq(E(chi ** -2), 1 / (dim - 2), evaluate=False),
                  ", integrated against the chi-square density"),
             sp.Eq(sp.Integral(f / x, (x, 0, sp.oo)), 1 / (dim - 2), evaluate=False), inverse),
        Step(Text("the inverse chi moment ", sp.Eq(E(1 / chi), sp.gamma((dim - 1) / 2) / (sp.sqrt(2) * sp.gamma(dim / 2)),
                                                   evaluate=False), ", integrated against the chi-square density"),
             sp.Eq(sp.Integral(f / sp.sqrt(x), (x, 0, sp.oo)),
                   sp.gamma((dim - 1) / 2) / (sp.sqrt(2) * sp.gamma(dim / 2)), evaluate=False), inverse_root),
    )


@lru_cache(maxsize=None)
def binomial_theorem(n_):
    r"""Prove :math:`\sum_{x=0}^{n} \binom{n}{x} a^x b^{n-x} = (a + b)^n` for symbolic ``n`` and every
    ``a, b > 0``; return the proven closed form as a ``Lambda((a, b), (a + b)**n)``, or ``None``.

    SymPy sums the series as a hypergeometric one, under its convergence condition
    :math:`a/b \le 1`. The reflection :math:`x \to n - x` (SymPy's ``change_index``;
    :math:`\binom{n}{n-x} = \binom{n}{x}`) maps the sum to itself with ``a`` and ``b`` exchanged,
    which SymPy sums under :math:`b/a \le 1`. Both branches are :math:`(a + b)^n`, and the two
    conditions (``a <= b`` and ``b <= a``) cover every pair of positive numbers.
    """
    from featavg.theory import sums_equal

    a, b = sp.symbols("a_binomial b_binomial", positive=True)
    x, y = sp.symbols("x y", integer=True, nonnegative=True)
    total = (a + b) ** n_

    def summed(series, cond):
        """The sum's closed form where SymPy states it, if its condition is ``cond``."""
        value = sp.piecewise_fold(series.doit())
        if not isinstance(value, sp.Piecewise) or value.args[0].cond != cond:
            return None
        return value.args[0].expr

    def is_total(expr):
        return expr is not None and sp.simplify(sp.powsimp(sp.expand_power_base(expr - total, force=True),
                                                            force=True)) == 0

    series = sp.Sum(sp.binomial(n_, x) * a ** x * b ** (n_ - x), (x, 0, n_))
    exchanged = sp.Sum(sp.binomial(n_, y) * b ** y * a ** (n_ - y), (y, 0, n_))
    reflection = sums_equal(series.change_index(x, n_ - x, y), exchanged)
    if (reflection and is_total(summed(series, sp.Le(a / b, 1)))
            and is_total(summed(exchanged, sp.Le(b / a, 1)))):
        return sp.Lambda((a, b), total)
    return None


def finite_d_bound(derivative, dim, grid=None):
    r"""Bound on ``|E h(T) - E h(S)|`` for ``T = S / rho`` (``S ~ N(0, 1)``, ``rho^2 = chi^2_d/(d+1)``).

    ``|h(T) - h(S)| <= sup|h'| |S| |1/rho - 1|`` and Cauchy-Schwarz with ``E S^2 = 1`` give
    ``sup|h'| sqrt(E[(1/rho - 1)^2])``. ``sup|h'|`` is the maximum of the lambdified ``|h'|`` over a
    grid of step 1e-3 on [-12, 12] (``h'`` is smooth with ``|h''| <= 10^3``-ish there, so the grid
    maximum is within 1% of the supremum), times 1.01.

    Parameters
    ----------
    derivative : callable (T) -> array
        ``h'(T)``, lambdified from the lemma's SymPy expression.
    dim : int
        ``d``.
    """
    import mpmath
    import numpy as np

    d_ = sp.Symbol("d", positive=True)
    fn = sp.lambdify(d_, inverse_norm_rms_squared(d_), "mpmath")  # 30 digits: the terms cancel to O(1/d)
    with mpmath.workdps(30):
        rms = float(mpmath.sqrt(max(fn(mpmath.mpf(int(dim))), 0)))
    T = np.arange(-12.0, 12.0, 1e-3) if grid is None else grid
    with np.errstate(all="ignore"):  # 0^(-1) in the branch select discards
        sup = float(np.nanmax(np.abs(np.asarray(derivative(T), dtype=float)))) * 1.01
    return sup * rms, sup, rms
