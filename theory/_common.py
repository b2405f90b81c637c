r"""Symbols and small SymPy helpers shared by the claim modules (SymPy only).

Notation of ``docs/science.md``: ``d`` the dimension, ``k`` the number of clusters, ``p = |J_s|``
the size of a point's (or neuron's) own class, ``K = |J_{-s}|`` the opposite class, ``m`` the
neurons per sign of the binary net, ``h`` the neurons per output of the multi-class net, ``n``
the training points, ``L`` the number of opposite features an attack raises, ``tau`` a threshold,
``delta`` a perturbation radius. Sizes are positive; where a claim needs them as integers it says
so with its own symbols.
"""

import sympy as sp

__all__ = ["d", "k", "p", "K", "m", "h", "n", "L", "tau", "delta", "beta", "Phi", "phi", "phi_positive",
           "ratio_as_written", "sqrt_as_written", "kkt_min_norm", "logistic", "g"]

d, k, p, K, m, h, n = sp.symbols("d k p K m h n", positive=True)
L = sp.Symbol("L", positive=True, integer=True)
tau = sp.Symbol("tau", nonnegative=True)
delta = sp.Symbol("delta", nonnegative=True)
beta = sp.Symbol("beta", positive=True)


def Phi(x):
    r"""The standard normal CDF :math:`\Phi(x) = (1 + \mathrm{erf}(x/\sqrt2))/2`."""
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def phi(x):
    r"""The standard normal density :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`."""
    return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)


def phi_positive():
    """``Phi > 0``: ``Phi(-oo) = 0`` and ``Phi' = phi > 0`` (SymPy cannot sign erf directly)."""
    x = sp.Symbol("x", real=True)
    return (sp.limit(Phi(x), x, -sp.oo) == 0 and sp.simplify(sp.diff(Phi(x), x) - phi(x)) == 0
            and bool(phi(x).is_positive))


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
