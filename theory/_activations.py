r"""SymPy forms of the activations (issue 18): ReLU, leaky ReLU with slope ``a``, ReLU^p.

The NumPy counterparts are :mod:`featavg.simulate._activations`; the two are tied by the gradient
oracles of :mod:`featavg.theory._gradients` (which differentiate these expressions) and by
``tests/test_theory_gradients.py``. Conventions at the kink, the same in both halves:

.. math::
    \mathrm{ReLU}(z) = \max(z, 0),\quad \mathrm{ReLU}'(z) = H(z),\ H(0) = 0
    \ (\texttt{Heaviside(z, 0)});

    \sigma_a(z) = a z + (1 - a)\,\mathrm{ReLU}(z),\quad \sigma_a'(z) = a + (1 - a) H(z)
    \ (= a \text{ at } z = 0);

    \sigma_p(z) = \mathrm{ReLU}(z)^p,\quad \sigma_p'(z) = p\,\mathrm{ReLU}(z)^{p-1} H(z)
    \ (= 0 \text{ at } z = 0).

SymPy differentiates the expressions itself (``ReLU.fdiff`` is ``Heaviside(z, 0)``), so the
derivatives above are SymPy's, not retyped: :func:`derivative_matches` checks them.
"""

from dataclasses import dataclass

import numpy as np
import sympy as sp

__all__ = ["NAMES", "SymbolicActivation", "activation", "as_symbolic", "LAMBDIFY_MODULES", "derivative_matches"]

#: the activation names shared with the simulator's ``Config.activation``
NAMES = ("relu", "leaky_relu", "relu_p")


def _relu():
    from featavg.theory._gradients import ReLU  # the one SymPy ReLU (fdiff = Heaviside(z, 0))

    return ReLU


@dataclass(frozen=True)
class SymbolicActivation:
    """An activation's SymPy form: ``expr(z)`` and its derivative ``diff(z)`` (by SymPy).

    Attributes
    ----------
    name : {"relu", "leaky_relu", "relu_p"}
    param : sympy.Expr or None
        The slope ``a`` or the power ``p`` (a number or a symbol); ``None`` for ReLU.
    """

    name: str = "relu"
    param: object = None

    def __post_init__(self):
        if self.name not in NAMES:
            raise ValueError(f"activation={self.name!r}: one of {', '.join(NAMES)}")
        if (self.name == "relu") != (self.param is None):
            raise ValueError(f"activation {self.name!r} with param={self.param!r}: ReLU takes no parameter, "
                             "leaky_relu a slope a, relu_p a power p")
        if self.param is not None:
            object.__setattr__(self, "param", sp.sympify(self.param))

    def expr(self, z):
        """``sigma(z)`` as a SymPy expression."""
        R = _relu()
        if self.name == "relu":
            return R(z)
        if self.name == "leaky_relu":
            return self.param * z + (1 - self.param) * R(z)
        return R(z) ** self.param

    def diff(self, z):
        """``sigma'(z)``: SymPy's derivative of :meth:`expr` (conventions in the module docstring)."""
        zz = sp.Dummy("z", real=True)
        # powsimp: ReLU^p / ReLU -> ReLU^(p-1) for a symbolic p (SymPy writes the quotient, 0/0 at z = 0)
        return sp.powsimp(sp.diff(self.expr(zz), zz), force=True).subs(zz, z)

    def latex(self):
        z = sp.Symbol("z", real=True)
        return sp.latex(self.expr(z))


def activation(name="relu", param=None):
    """The :class:`SymbolicActivation` ``name`` with parameter ``param``."""
    return SymbolicActivation(name, param)


def as_symbolic(act):
    """``None`` (ReLU), a name, a ``(name, param)`` pair, a :class:`SymbolicActivation`, or any object
    with ``name`` and ``param`` attributes (the simulator's activations, by duck typing: theory never
    imports the simulator)."""
    if act is None:
        return SymbolicActivation()
    if isinstance(act, SymbolicActivation):
        return act
    if isinstance(act, str):
        return SymbolicActivation(act)
    if isinstance(act, tuple):
        return SymbolicActivation(*act)
    return SymbolicActivation(act.name, act.param)


#: lambdify modules for expressions with ``ReLU`` and ``Heaviside(z, 0)``
LAMBDIFY_MODULES = [{"ReLU": lambda z: np.maximum(z, 0.0),
                     "Heaviside": lambda z, h0=0.0: np.heaviside(z, h0)}, "numpy"]


def derivative_matches(act):
    """SymPy's derivative of ``act`` equals the stated form of the module docstring (symbolically
    away from 0, and at 0 by substitution)."""
    z = sp.Symbol("z", real=True)
    R = _relu()
    H = sp.Heaviside(z, 0)
    got = act.diff(z)
    if act.name == "relu":
        want = H
    elif act.name == "leaky_relu":
        want = act.param + (1 - act.param) * H
    else:
        want = act.param * R(z) ** (act.param - 1) * H
    pos, neg = sp.Symbol("u", positive=True), sp.Symbol("u", negative=True)
    ok = all(sp.simplify((got - want).subs(z, v)) == 0 for v in (pos, neg))
    at0 = sp.simplify(got.subs(z, 0))
    want0 = {"relu": 0, "leaky_relu": act.param, "relu_p": 0}[act.name]
    if act.name == "relu_p" and act.param == 1:
        want0 = 0
    return bool(ok and sp.simplify(at0 - want0) == 0)
