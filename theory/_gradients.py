r"""Symbolic oracles of the two networks' gradients (the C1.model_gradients claim uses them).

Binary network (docs/science.md §1):

.. math::
    f(x) = \frac1m\sum_r \mathrm{ReLU}(\langle w_{+1,r},x\rangle+b_{+1,r})
         - \frac1m\sum_r \mathrm{ReLU}(\langle w_{-1,r},x\rangle+b_{-1,r}),
    \qquad L = \frac1n\sum_i \ell(y_i f(x_i)),\quad \ell(q)=\log(1+e^{-q}),

so :math:`\partial L/\partial w_{s,r} = \frac1n\sum_i \ell'(y_if_i)\,y_i\,\frac sm\,
H(z_{i,s,r})\,x_i` with :math:`\ell'(q) = -1/(1+e^q)` and :math:`H(z)=\mathrm{ReLU}'(z)`,
``ReLU'(0) = 0`` (SymPy ``Heaviside(z, 0)``).

Multi-class network: :math:`f_j = \frac1h\sum_r \mathrm{ReLU}(z_{j,r})`, mean softmax
cross-entropy with cluster labels :math:`c_i`, so :math:`\partial L/\partial w_{j,r} =
\frac1{nh}\sum_i (p_{ij} - 1\{j=c_i\}) H(z_{i,j,r}) x_i`.

The ``*_symbolic`` functions build the loss over per-coordinate symbols for the given small
shapes, differentiate it with SymPy and lambdify the result: an oracle for the simulator's
hand-derived gradients, independent of it (slow; meant for ``d <= 4``, ``M <= 6``, ``n <= 5``).
Their ``activation`` (issue 18; default ReLU, the behaviour above) replaces ReLU by any
activation of :mod:`featavg.theory._activations` (leaky ReLU, ReLU^p): the loss is written with
its SymPy form and SymPy differentiates it, so :math:`H` becomes :math:`\sigma'` with the
conventions stated there.
"""

from functools import lru_cache

import numpy as np
import sympy as sp

from featavg.theory._claim import _delimited

__all__ = ["ReLU", "binary_loss_and_grad_symbolic", "multiclass_loss_and_grad_symbolic", "logistic_loss"]


class ReLU(sp.Function):
    """``ReLU(z) = max(z, 0)`` with the convention ``ReLU'(0) = 0`` (``Heaviside(z, 0)``)."""

    @classmethod
    def eval(cls, z):
        if z.is_number and z.is_real:
            return sp.Max(z, 0)

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _mathml_presentation(self, printer):
        # SymPy's MathML printer would write the class name lower-cased ("relu")
        mrow = printer.dom.createElement("mrow")
        mi = printer.dom.createElement("mi")
        mi.appendChild(printer.dom.createTextNode("ReLU"))
        mrow.appendChild(mi)
        mrow.appendChild(_delimited(printer, "(", self.args, ")"))
        return mrow


_MODULES = [{"ReLU": lambda z: np.maximum(z, 0.0),
             "Heaviside": lambda z, h0=0.0: np.heaviside(z, h0)}, "numpy"]


def _sigma(activation):
    from featavg.theory._activations import as_symbolic

    return as_symbolic(activation)


def logistic_loss(q):
    r""":math:`\ell(q) = \log(1 + e^{-q})`."""
    return sp.log(1 + sp.exp(-q))


@lru_cache(maxsize=None)
def _binary_functions(n, M, d, act=None):
    act = _sigma(act)
    m = M // 2
    W = sp.Matrix(M, d, lambda r, i: sp.Symbol(f"W_{r}_{i}", real=True))
    b = sp.Matrix(M, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))
    X = sp.Matrix(n, d, lambda a, i: sp.Symbol(f"X_{a}_{i}", real=True))
    y = sp.Matrix(n, 1, lambda a, _: sp.Symbol(f"y_{a}", real=True))
    sign = [sp.Integer(1)] * m + [sp.Integer(-1)] * m
    L = 0
    for a in range(n):
        f = sum(sign[r] * act.expr((W[r, :] * X[a, :].T)[0] + b[r]) for r in range(M)) / m
        L += logistic_loss(y[a] * f)
    L = L / n
    gW = sp.Matrix(M, d, lambda r, i: sp.diff(L, W[r, i]))
    gb = sp.Matrix(M, 1, lambda r, _: sp.diff(L, b[r]))
    args = list(W) + list(b) + list(X) + list(y)
    return sp.lambdify(args, [L, gW, gb], modules=_MODULES)


def binary_loss_and_grad_symbolic(W, b, X, y, activation=None):
    """Logistic risk of the binary network and its gradient, by SymPy differentiation.

    Parameters
    ----------
    W : ndarray, shape (2m, d)
        Rows ``0..m-1`` are ``w_{+1,r}``, rows ``m..2m-1`` are ``w_{-1,r}``.
    b : ndarray, shape (2m,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Labels in ``{+1, -1}``.
    activation : optional
        ``None`` (ReLU), a name, ``(name, param)``, a
        :class:`~featavg.theory._activations.SymbolicActivation` or an object with ``name`` and
        ``param`` (the simulator's activations).

    Returns
    -------
    loss : float
    grad_W : ndarray, shape (2m, d)
    grad_b : ndarray, shape (2m,)
    """
    W, b, X, y = (np.asarray(a, dtype=float) for a in (W, b, X, y))
    fn = _binary_functions(X.shape[0], W.shape[0], W.shape[1], _sigma(activation))
    L, gW, gb = fn(*W.ravel(), *b.ravel(), *X.ravel(), *y.ravel())
    return float(L), np.asarray(gW, dtype=float), np.asarray(gb, dtype=float).ravel()


@lru_cache(maxsize=None)
def _multiclass_functions(n, k, h, d, act=None):
    act = _sigma(act)
    M = k * h
    W = sp.Matrix(M, d, lambda r, i: sp.Symbol(f"W_{r}_{i}", real=True))
    b = sp.Matrix(M, 1, lambda r, _: sp.Symbol(f"b_{r}", real=True))
    X = sp.Matrix(n, d, lambda a, i: sp.Symbol(f"X_{a}_{i}", real=True))
    Y = sp.Matrix(n, k, lambda a, j: sp.Symbol(f"Y_{a}_{j}", real=True))  # one-hot labels
    L = 0
    for a in range(n):
        F = [sum(act.expr((W[j * h + r, :] * X[a, :].T)[0] + b[j * h + r]) for r in range(h)) / h
             for j in range(k)]
        L += sp.log(sum(sp.exp(Fj) for Fj in F)) - sum(Y[a, j] * F[j] for j in range(k))
    L = L / n
    gW = sp.Matrix(M, d, lambda r, i: sp.diff(L, W[r, i]))
    gb = sp.Matrix(M, 1, lambda r, _: sp.diff(L, b[r]))
    args = list(W) + list(b) + list(X) + list(Y)
    return sp.lambdify(args, [L, gW, gb], modules=_MODULES)


def multiclass_loss_and_grad_symbolic(W, b, X, clusters, h, activation=None):
    """Mean softmax cross-entropy of the multi-class network and its gradient, by SymPy.

    Parameters
    ----------
    W : ndarray, shape (k h, d)
        Row ``j*h + r`` is ``w_{j,r}`` (class-major).
    b : ndarray, shape (k h,)
    X : ndarray, shape (n, d)
    clusters : ndarray of int, shape (n,)
        Cluster labels ``c_i`` in ``0..k-1``.
    h : int
        Neurons per output.
    activation : optional
        As in :func:`binary_loss_and_grad_symbolic` (default ReLU).

    Returns
    -------
    loss : float
    grad_W : ndarray, shape (k h, d)
    grad_b : ndarray, shape (k h,)
    """
    W, b, X = (np.asarray(a, dtype=float) for a in (W, b, X))
    clusters = np.asarray(clusters, dtype=int)
    k = W.shape[0] // h
    Y = np.zeros((X.shape[0], k))
    Y[np.arange(X.shape[0]), clusters] = 1.0
    fn = _multiclass_functions(X.shape[0], k, h, W.shape[1], _sigma(activation))
    L, gW, gb = fn(*W.ravel(), *b.ravel(), *X.ravel(), *Y.ravel())
    return float(L), np.asarray(gW, dtype=float), np.asarray(gb, dtype=float).ravel()
