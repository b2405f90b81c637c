r"""SymPy notation shared by the lemma modules (``L*``): regularised incomplete gamma functions, the
chi-square density, and the lambdify namespace that evaluates them stably (SymPy only; no simulator).

``GammaP(a, x) = lowergamma(a, x)/Gamma(a)`` and ``GammaQ(a, x) = uppergamma(a, x)/Gamma(a)`` are
kept as named functions so that lambdify evaluates them with SciPy's regularised ``gammainc`` /
``gammaincc`` (SymPy's own printing, ``gamma(a) gammaincc(a, x)/gamma(a)``, overflows to ``nan`` at
``a = d/2 = 1536``); their ``rewrite(sp.uppergamma)`` gives the defining expression, which the
steps' checks use.
"""

import sympy as sp
from scipy import special

__all__ = ["GammaP", "GammaQ", "chi2_pdf", "NUMERIC", "lemma_lambdify"]


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
    """The two chi-square moments behind :func:`inverse_norm_rms_squared`, as derivation steps."""
    dim, x = sp.symbols("d x", positive=True)
    f = chi2_pdf(x, dim)
    return (
        Step("E[1/chi^2_d] = 1/(d - 2)",
             sp.Eq(sp.Integral(f / x, (x, 0, sp.oo)), 1 / (dim - 2), evaluate=False),
             lambda: is_zero(sp.integrate(f / x, (x, 0, sp.oo), conds="none") - 1 / (dim - 2))),
        Step("E[1/chi_d] = Gamma((d-1)/2)/(sqrt 2 Gamma(d/2))",
             sp.Eq(sp.Integral(f / sp.sqrt(x), (x, 0, sp.oo)),
                   sp.gamma((dim - 1) / 2) / (sp.sqrt(2) * sp.gamma(dim / 2)), evaluate=False),
             lambda: is_zero(sp.integrate(f / sp.sqrt(x), (x, 0, sp.oo), conds="none")
                             - sp.gamma((dim - 1) / 2) / (sp.sqrt(2) * sp.gamma(dim / 2)))),
    )


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
