r"""Activations of the hidden neurons: ReLU, leaky ReLU and ReLU^p (issue 18), NumPy only.

Each activation ``sigma`` is an object with its value, its derivative (the convention at the kink
stated) and a name and parameter that a :class:`~featavg.simulate.Config` records. The SymPy forms
of the same functions live in :mod:`featavg.theory._activations` (``featavg.theory.activation``),
against which ``tests/test_theory_gradients.py`` checks the networks' hand-derived gradients.

* ``relu``: ``sigma(z) = max(z, 0)``, ``sigma'(z) = 1{z > 0}`` (``ReLU'(0) = 0``: a neuron exactly
  at its kink counts as inactive).
* ``leaky_relu`` with slope ``a`` (``0 <= a < 1``): ``sigma(z) = max(z, a z) = a z + (1 - a) ReLU(z)``,
  ``sigma'(z) = 1`` for ``z > 0`` and ``a`` for ``z <= 0`` (at the kink the left slope ``a``, the
  same convention as ``ReLU'(0) = 0``, which is the case ``a = 0``). The second form is the
  max-of-affine structure the exact radius uses (:mod:`._certify`): an affine term ``a z`` plus a
  ReLU with weight ``1 - a``.
* ``relu_p`` with power ``p >= 1`` (polynomial ReLU): ``sigma(z) = ReLU(z)^p``,
  ``sigma'(z) = p ReLU(z)^(p-1)`` for ``z > 0`` and 0 for ``z <= 0`` (continuous at 0 for
  ``p > 1``; for ``p = 1`` it is ReLU with ``ReLU'(0) = 0``). This is the elementwise ReLU^p; the
  pReLU of Min & Vidal (ICML 2024, arXiv 2405.15942) divides each neuron's output by
  ``||w_r||^(p-1)`` (as recalled: the paper's text is not available here), which multiplies the
  neuron by a positive factor; that normalisation is not implemented.

Properties the robustness code relies on (stated per class): ``sigma`` is non-decreasing and
convex for all three, strictly increasing on ``(0, inf)``, and 0 on ``(-inf, 0]`` for ``relu`` and
``relu_p``; ``leaky_relu`` with ``a > 0`` is strictly increasing everywhere.
"""

import math
from dataclasses import dataclass

import numpy as np

from ._errors import InvalidParameter
from ._validate import validate_choice, validate_real

__all__ = ["ACTIVATIONS", "Activation", "ReLU", "LeakyReLU", "ReLUPower", "RELU", "make_activation",
           "validate_activation", "activation_defaults", "RELU_P_DEFAULTS"]

#: the names of ``Config.activation`` / ``--activation``
ACTIVATIONS = ("relu", "leaky_relu", "relu_p")


@dataclass(frozen=True)
class Activation:
    """Base class: ``name``, ``param`` (``None`` for ReLU), :meth:`value`, :meth:`derivative`."""

    name = "activation"

    @property
    def param(self):
        return None

    def value(self, z):
        """``sigma(z)`` elementwise (same shape as ``z``)."""
        raise NotImplementedError

    def derivative(self, z):
        """``sigma'(z)`` elementwise, with the convention at the kink of the class docstring."""
        raise NotImplementedError

    @property
    def slope(self):
        """``a`` in ``sigma(z) = a z + (1 - a) ReLU(z)`` when ``sigma`` has that form, else ``None``."""
        return None

    @property
    def is_relu(self):
        """Whether ``sigma`` is exactly ReLU (the fast paths of the networks)."""
        return False

    def describe(self):
        """``"relu"``, ``"leaky_relu(a=0.1)"``, ``"relu_p(p=3)"``."""
        return self.name if self.param is None else f"{self.name}({self._pname}={self.param:g})"

    def __call__(self, z):
        return self.value(z)


@dataclass(frozen=True)
class ReLU(Activation):
    """``max(z, 0)``; ``ReLU'(0) = 0``."""

    name = "relu"

    def value(self, z):
        return np.maximum(z, 0.0)

    def derivative(self, z):
        return (np.asarray(z) > 0.0).astype(np.float64)

    @property
    def slope(self):
        return 0.0

    @property
    def is_relu(self):
        return True


@dataclass(frozen=True)
class LeakyReLU(Activation):
    """``max(z, a z) = a z + (1 - a) ReLU(z)``, ``0 <= a < 1``; derivative ``a`` at ``z <= 0``."""

    a: float = 0.01
    name = "leaky_relu"
    _pname = "a"

    def __post_init__(self):
        a = validate_real("activation_param", self.a, low=0.0, high=1.0,
                          valid="a slope a with 0 <= a < 1 for leaky_relu")
        if a >= 1.0:
            raise InvalidParameter("activation_param", a, "a slope a with 0 <= a < 1 for leaky_relu "
                                   "(a = 1 is the identity: the network would be linear)")
        object.__setattr__(self, "a", a)

    @property
    def param(self):
        return self.a

    def value(self, z):
        z = np.asarray(z, dtype=np.float64)
        return np.where(z > 0.0, z, self.a * z)

    def derivative(self, z):
        return np.where(np.asarray(z) > 0.0, 1.0, self.a)

    @property
    def slope(self):
        return self.a

    @property
    def is_relu(self):
        return self.a == 0.0


@dataclass(frozen=True)
class ReLUPower(Activation):
    """``ReLU(z)^p``, ``p >= 1``; derivative ``p ReLU(z)^(p-1)`` (0 at ``z <= 0``)."""

    p: float = 2.0
    name = "relu_p"
    _pname = "p"

    def __post_init__(self):
        p = validate_real("activation_param", self.p, low=1.0, high=64.0,
                          valid="a power p with 1 <= p <= 64 for relu_p")
        object.__setattr__(self, "p", p)

    @property
    def param(self):
        return self.p

    def value(self, z):
        r = np.maximum(z, 0.0)
        if self.p == 1.0:
            return r
        if self.p == 2.0:
            return r * r
        return r ** self.p

    def derivative(self, z):
        z = np.asarray(z, dtype=np.float64)
        if self.p == 1.0:
            return (z > 0.0).astype(np.float64)
        r = np.maximum(z, 0.0)
        return self.p * (r if self.p == 2.0 else r ** (self.p - 1.0))

    @property
    def slope(self):
        return 0.0 if self.p == 1.0 else None

    @property
    def is_relu(self):
        return self.p == 1.0


#: the default activation of both networks
RELU = ReLU()

#: Training defaults of ``relu_p`` where they differ from :class:`~featavg.simulate.Config`'s (which
#: are ReLU's, and leaky ReLU's). Measured at the paper's setting (k = 10, d = 3072, n = 1000,
#: m = 5, reduced engine, 100 steps; exact radii of 15 test points, issue 18):
#:
#: * at ``init_scale = 1e-5, eta = 1e-3`` a ReLU^p net with p > 2 does not leave its first
#:   plateau: test accuracy 0.45 (p = 3) and 0.46 (p = 4). Near 0 a p-homogeneous net grows like
#:   ``dz/dt ~ z^(p-1)``, so the plateau lasts ``A_p / (eta zeta0^(p-2))`` steps, ``zeta0 = init_scale
#:   sqrt(2d)`` the initial pre-activation; measured ``A_3 = 0.0067-0.0078`` (four inits),
#:   ``A_4 = 0.0015-0.0028``, ``A_2.5 = 0.022``;
#: * ``init_scale = 1e-3`` ends it by step ~9 (p = 3) and ~25 (p = 4); p = 3 then trains to test
#:   accuracy 1.000 (``featavg simulate``, 1000 test points), and over four seeds (200 test points
#:   each) every p in [1, 3.5] to 1.000 on average, p = 4 to 0.983 (A2's figure). Its share of ``||W||^2`` at the end is 0.41 at
#:   p = 3, but does not move the radius: ``3e-4`` with 200 steps (share 0.06) gives a median
#:   exact radius of 0.629 sqrt(d/2) against 0.634;
#: * ``eta = 1e-2`` is still gradient flow for the radius: ``3e-3`` with 400 steps gives 0.623
#:   against 0.629 (init 5e-4), while ``3e-2`` (same early dynamics as 1e-2 at a 3x smaller init,
#:   since those depend on ``eta init^(p-2)`` only) memorises training noise (cosines with the
#:   features 0.27) and gives 0.41.
RELU_P_DEFAULTS = {"eta": 1e-2, "init_scale": 1e-3}


def activation_defaults(name, param=None):
    """The training defaults an activation changes (``{}`` for ``relu`` and ``leaky_relu``, whose
    defaults are :class:`~featavg.simulate.Config`'s; :data:`RELU_P_DEFAULTS` for ``relu_p``)."""
    name = validate_choice("activation", name, ACTIVATIONS)
    return dict(RELU_P_DEFAULTS) if name == "relu_p" else {}


def validate_activation(name, param):
    """``(name, param)`` cleaned: a known name, and a parameter only where the activation has one.

    ``relu`` takes none (``param`` must be ``None``); ``leaky_relu`` needs its slope ``a`` with
    ``0 <= a < 1``; ``relu_p`` its power ``p`` with ``1 <= p <= 64`` (large powers overflow float64
    at pre-activations of order 10).

    Raises
    ------
    InvalidParameter
        Naming ``activation`` or ``activation_param``.
    """
    name = validate_choice("activation", name, ACTIVATIONS)
    if name == "relu":
        if param is not None:
            raise InvalidParameter("activation_param", param, "None for activation='relu' (ReLU has no "
                                   "parameter; use leaky_relu or relu_p)")
        return name, None
    if param is None:
        what = "the slope a (0 <= a < 1)" if name == "leaky_relu" else "the power p (p >= 1)"
        raise InvalidParameter("activation_param", None, f"{what} for activation={name!r} "
                               "(--activation-param A)")
    act = make_activation(name, param)
    return name, act.param


def make_activation(name="relu", param=None):
    """The :class:`Activation` named ``name`` with parameter ``param`` (validated)."""
    name = validate_choice("activation", name, ACTIVATIONS)
    if name == "relu":
        if param is not None:
            raise InvalidParameter("activation_param", param, "None for activation='relu'")
        return RELU
    if param is None or isinstance(param, bool) or not isinstance(param, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(param)):
        raise InvalidParameter("activation_param", param, f"a finite number for activation={name!r}")
    return LeakyReLU(float(param)) if name == "leaky_relu" else ReLUPower(float(param))
