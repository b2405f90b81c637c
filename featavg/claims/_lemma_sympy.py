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


class GammaP(sp.Function):
    r"""Regularised lower incomplete gamma :math:`P(a, x) = \gamma(a, x)/\Gamma(a) = 1 - Q(a, x)`."""

    nargs = 2

    def _eval_rewrite_as_uppergamma(self, a, x, **kw):
        return 1 - sp.uppergamma(a, x) / sp.gamma(a)

    def _latex(self, printer, exp=None):
        a, x = (printer._print(v) for v in self.args)
        out = rf"P\left({a}, {x}\right)"
        return out if exp is None else f"{out}^{{{exp}}}"


def chi2_pdf(x, dof):
    r"""The chi-square density :math:`x^{\nu/2 - 1} e^{-x/2} / (2^{\nu/2}\Gamma(\nu/2))`."""
    return x ** (dof / 2 - 1) * sp.exp(-x / 2) / (2 ** (dof / 2) * sp.gamma(dof / 2))


#: numeric implementations of the notation above for :func:`featavg.theory.lambdify_prediction`
NUMERIC = {"GammaP": special.gammainc, "GammaQ": special.gammaincc}


def lemma_lambdify(symbols, expr, doc):
    """:func:`featavg.theory.lambdify_prediction` with :data:`NUMERIC` (the lemmas' special functions)."""
    from featavg.theory import lambdify_prediction

    return lambdify_prediction(symbols, expr, doc, extra_modules=NUMERIC)
