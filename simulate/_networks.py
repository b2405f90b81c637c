r"""The two networks of docs/science.md §1, their losses, and hand-derived gradients.

Notation: ``X`` has shape ``(n, d)`` (rows ``x_i``), ``W`` has shape ``(M, d)`` (rows ``w_r``), ``b``
has shape ``(M,)``; pre-activations ``z_{ir} = <w_r, x_i> + b_r``; ``ReLU'(0) = 0`` (a neuron
exactly at its kink counts as inactive, ``1{z > 0}``).

Binary network (``M = 2m``; rows ``0..m-1`` are the neurons ``(+1, r)``, rows ``m..2m-1`` the
neurons ``(-1, r)``; second layer ``a_r = s_r / m`` fixed)::

    f(x) = sum_r a_r ReLU(z_r),       L = (1/n) sum_i l(y_i f(x_i)),  l(q) = log(1 + e^{-q}).

Gradient (chain rule, ``l'(q) = -1/(1 + e^q)``)::

    dL/dw_r = (1/n) sum_i D_{ir} x_i,    dL/db_r = (1/n) sum_i D_{ir},
    D_{ir}  = l'(y_i f_i) y_i a_r 1{z_{ir} > 0}.

Multi-class network (``M = k h``; row ``j*h + r`` is neuron ``(j, r)``, class-major)::

    f_j(x) = (1/h) sum_{r<h} ReLU(z_{j,r}),
    L = (1/n) sum_i [logsumexp_j f_j(x_i) - f_{c_i}(x_i)]      (softmax cross-entropy)

with ``c_i`` the cluster label. Since ``dL_i/df_j = p_{ij} - 1{j = c_i}`` with
``p_i = softmax(f(x_i))``::

    dL/dw_{j,r} = (1/n) sum_i D_{i,(j,r)} x_i,
    D_{i,(j,r)} = (p_{ij} - 1{j = c_i}) (1/h) 1{z_{i,(j,r)} > 0}.

Activations (issue 18). Both networks take an ``activation`` (:mod:`._activations`; default ReLU,
which every formula above is written for): ``ReLU`` becomes ``sigma`` and ``1{z > 0}`` becomes
``sigma'(z)`` (``a`` at ``z <= 0`` for leaky ReLU, ``p ReLU(z)^(p-1)`` for ReLU^p), in the outputs,
in ``D`` and hence in both gradient paths (primal and span); nothing else changes, since ``D``
still depends on the parameters only through ``Z``.

Both gradients are therefore ``grad_W = D^T X / n``, ``grad_b = D^T 1 / n``: one pass over ``X``
for the pre-activations and one for ``D^T X``. ``D`` (with its ``1/n``) and the loss depend on the
parameters only through ``Z``: each network computes them in one place, ``loss_and_D(Z, target)``,
used both by ``loss_and_grad`` and by the span path of :mod:`._span` (``W_t = W_0 + C_t X``). These formulas are checked against SymPy
(``featavg.theory``) and central finite differences in ``tests/``.
"""

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_expit

from ._activations import RELU, Activation
from ._errors import InvalidParameter
from ._validate import validate_array, validate_choice, validate_int

__all__ = [
    "BinaryNetwork",
    "MultiClassNetwork",
    "logistic_loss",
    "READOUTS",
]

READOUTS = ("argmax", "sum")


@functools.lru_cache(maxsize=64)
def _second_layer(m):
    """``a_r = s_r / m`` of the binary network, shape (2m,), read-only (it sits in hot loops)."""
    a = np.repeat([1.0, -1.0], m) / m
    a.flags.writeable = False
    return a


def logistic_loss(q):
    """``l(q) = log(1 + e^{-q})`` evaluated stably as ``-log(expit(q))``."""
    return -log_expit(q)


def _span_form(method):
    """Mark ``loss_and_grad`` as ``(loss, D^T X, D^T 1)`` with ``D`` from ``loss_and_D``.

    Only such a gradient may be replaced by the span path (:mod:`._span`), which uses
    ``loss_and_D`` and never calls ``loss_and_grad``. A subclass that overrides
    ``loss_and_grad``, or a gradient replaced at run time (the fault injections of
    ``tests/test_verify.py``), lacks the mark, and gradient descent then runs the primal path so
    that what is trained is what ``loss_and_grad`` says.
    """
    method.span_form = True
    return method


def _check_activation(act):
    if not isinstance(act, Activation):
        raise InvalidParameter("activation", act, "an Activation of featavg.simulate (make_activation(name, "
                               "param): relu, leaky_relu, relu_p)")
    return act


def _apply(act, Z):
    """``(sigma(Z), sigma'(Z))``: ReLU by its fast path (``max`` and a boolean mask)."""
    if act.is_relu:
        return np.maximum(Z, 0.0), Z > 0.0
    return act.value(Z), act.derivative(Z)


def _check_X(X, d):
    if not hasattr(X, "shape"):  # ndarray, or a structured matrix such as ReducedInputs
        X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != d:
        raise InvalidParameter("X", f"array of shape {X.shape}", f"an array of shape (n, {d})")
    return X


@dataclass
class BinaryNetwork:
    r"""Two-layer network (ReLU by default) with ``2m`` neurons and fixed second layer ``+-1/m`` (docs/science.md §1).

    Attributes
    ----------
    W : ndarray, shape (2m, d)
        First-layer weights; rows ``0..m-1`` are ``w_{+1,r}``, rows ``m..2m-1`` are ``w_{-1,r}``.
    b : ndarray, shape (2m,)
        Biases in the same order.
    activation : Activation
        ``sigma`` of the hidden neurons (default ReLU; :mod:`._activations`).
    """

    W: np.ndarray
    b: np.ndarray
    activation: Activation = RELU

    def __post_init__(self):
        self.W = validate_array("W", self.W, shape=(None, None))
        M = self.W.shape[0]
        if M < 2 or M % 2:
            raise InvalidParameter("W", f"array with {M} rows", "an even number 2m >= 2 of rows")
        self.b = validate_array("b", self.b, shape=(M,))
        self.activation = _check_activation(self.activation)

    kind = "binary"

    @property
    def m(self):
        return self.W.shape[0] // 2

    @property
    def d(self):
        return self.W.shape[1]

    @property
    def neuron_signs(self):
        """``s_r``, shape (2m,): ``+1`` for the first m neurons, ``-1`` for the last m."""
        return np.repeat([1.0, -1.0], self.m)

    @property
    def second_layer(self):
        """``a_r = s_r / m``, shape (2m,) (read-only; one cached array per ``m``)."""
        return _second_layer(self.m)

    def preactivations(self, X):
        """``Z = X W^T + b``, shape (n, 2m)."""
        X = _check_X(X, self.d)
        return X @ self.W.T + self.b

    def output(self, X):
        """``f(x_i)``, shape (n,)."""
        return self.activation.value(self.preactivations(X)) @ self.second_layer

    def binary_score(self, X, cluster_labels=None, readout=None):
        """The binary score ``g`` whose sign is the prediction; for this network ``g = f``.

        ``cluster_labels`` and ``readout`` are accepted (and ignored) so that both networks share
        one call signature.
        """
        return self.output(X)

    def binary_score_from_Z(self, Z, cluster_labels=None, readout=None):
        """:meth:`binary_score` from pre-activations ``Z``, shape (n, 2m), already computed."""
        return self.activation.value(Z) @ self.second_layer

    def loss_and_D(self, Z, y):
        """Empirical logistic risk and the matrix ``D`` from the pre-activations (module docstring).

        The one home of the loss and of ``D_{ir} = l'(y_i f_i) y_i a_r sigma'(z_{ir}) / n`` (the
        ``1/n`` of the mean included), shared by the primal gradient :meth:`loss_and_grad`
        (``grad_W = D^T X``, ``grad_b = D^T 1``) and the span path of :mod:`._span`
        (``C <- C - eta D^T``), which never forms ``X``-sized products.

        Parameters
        ----------
        Z : ndarray, shape (n, 2m) or (n, R, 2m)
            ``z_{ir} = <w_r, x_i> + b_r``; a middle axis holds ``R`` replicas (independent
            networks of this shape on the same inputs).
        y : ndarray, shape (n,)
            Labels in ``{+1, -1}``.

        Returns
        -------
        loss : float, or ndarray of shape (R,)
            NaN where an output overflowed (``inf``, or ``inf - inf``), so GD reports it.
        D : ndarray, same shape as ``Z``
        """
        n = Z.shape[0]
        a = self.second_layer
        M = Z.shape[-1]
        S, dS = _apply(self.activation, Z)
        q = (S.reshape(-1, M) @ a).reshape(Z.shape[:-1])  # one BLAS gemv
        yy = y if Z.ndim == 2 else y[:, None]
        q *= yy
        if Z.ndim == 2:
            loss = float(np.mean(logistic_loss(q))) if np.isfinite(q).all() else float("nan")
        else:
            loss = np.where(np.isfinite(q).all(axis=0), np.mean(logistic_loss(q), axis=0), np.nan)
        lprime_y = -expit(-q) * yy  # l'(y_i f_i) y_i
        D = dS * ((lprime_y / n)[..., None] * a)
        return loss, D

    @_span_form
    def loss_and_grad(self, X, y):
        """Empirical logistic risk and its gradient (derivation in the module docstring).

        Parameters
        ----------
        X : ndarray, shape (n, d)
        y : ndarray, shape (n,)
            Labels in ``{+1, -1}``.

        Returns
        -------
        loss : float
        grad_W : ndarray, shape (2m, d)
        grad_b : ndarray, shape (2m,)
        """
        X = _check_X(X, self.d)
        Z = X @ self.W.T
        Z += self.b
        loss, D = self.loss_and_D(Z, y)
        return loss, D.T @ X, D.sum(axis=0)


@dataclass
class MultiClassNetwork:
    r"""``k`` outputs of ``h`` neurons (ReLU by default) each, averaged (docs/science.md §1, fine-grained supervision).

    Attributes
    ----------
    W : ndarray, shape (k h, d)
        Row ``j*h + r`` is ``w_{j,r}`` (class-major).
    b : ndarray, shape (k h,)
    h : int
        Neurons per output.
    activation : Activation
        ``sigma`` of the hidden neurons (default ReLU; :mod:`._activations`).
    """

    W: np.ndarray
    b: np.ndarray
    h: int = 1
    activation: Activation = RELU

    kind = "multiclass"

    def __post_init__(self):
        self.W = validate_array("W", self.W, shape=(None, None))
        self.h = validate_int("h", self.h, low=1)
        M = self.W.shape[0]
        if M % self.h or M // self.h < 2:
            raise InvalidParameter("W", f"array with {M} rows", f"k*h rows with k >= 2 and h = {self.h}")
        self.b = validate_array("b", self.b, shape=(M,))
        self.activation = _check_activation(self.activation)

    @property
    def k(self):
        return self.W.shape[0] // self.h

    @property
    def d(self):
        return self.W.shape[1]

    def preactivations(self, X):
        """``Z = X W^T + b``, shape (n, k h)."""
        X = _check_X(X, self.d)
        return X @ self.W.T + self.b

    def _outputs_from_Z(self, Z):
        n = Z.shape[0]
        return self.activation.value(Z).reshape(n, self.k, self.h).mean(axis=2)

    def output(self, X):
        """``f_j(x_i)``, shape (n, k)."""
        return self._outputs_from_Z(self.preactivations(X))

    def binary_score(self, X, cluster_labels, readout="argmax"):
        """The binary score whose sign is the prediction, under a named readout (docs/science.md §1).

        ``argmax``: ``max_{j in J+} f_j - max_{j in J-} f_j``;
        ``sum``: ``F = sum_{j in J+} f_j - sum_{j in J-} f_j``.

        Parameters
        ----------
        X : ndarray, shape (n, d)
        cluster_labels : ndarray, shape (k,)
            ``+1`` on ``J+``, ``-1`` on ``J-``.
        readout : {"argmax", "sum"}

        Returns
        -------
        ndarray, shape (n,)
        """
        return self.binary_score_from_Z(self.preactivations(X), cluster_labels, readout)

    def binary_score_from_Z(self, Z, cluster_labels, readout="argmax"):
        """:meth:`binary_score` from pre-activations ``Z``, shape (n, k h), already computed."""
        readout = validate_choice("readout", readout, READOUTS)
        cluster_labels = np.asarray(cluster_labels)
        F = self._outputs_from_Z(Z)
        pos = cluster_labels > 0
        if readout == "argmax":
            return F[:, pos].max(axis=1) - F[:, ~pos].max(axis=1)
        return F @ np.where(pos, 1.0, -1.0)

    def loss_and_D(self, Z, clusters):
        """Softmax cross-entropy and the matrix ``D`` from the pre-activations (module docstring).

        ``D_{i,(j,r)} = (p_{ij} - 1{j = c_i}) (1/h) sigma'(z_{i,(j,r)}) / n``, the ``1/n`` of the
        mean included; shared by :meth:`loss_and_grad` and the span path of :mod:`._span`.

        Parameters
        ----------
        Z : ndarray, shape (n, k h) or (n, R, k h)
            Pre-activations; a middle axis holds ``R`` replicas.
        clusters : ndarray of int, shape (n,)
            Cluster index ``c_i`` in ``0..k-1``.

        Returns
        -------
        loss : float, or ndarray of shape (R,)
            NaN (and ``D`` NaN) for a network whose outputs overflowed, so GD reports it.
        D : ndarray, same shape as ``Z``
        """
        single = Z.ndim == 2
        Z3 = Z[:, None, :] if single else Z
        n, R, _ = Z3.shape
        F, dF = _apply(self.activation, Z3)
        if self.h > 1:
            F = F.reshape(n, R, self.k, self.h).mean(axis=3)
        finite = np.ones(R, dtype=bool) if np.isfinite(F).all() else np.isfinite(F).all(axis=(0, 2))
        if single and not finite[0]:  # overflowed outputs: report NaN, GD raises
            return float("nan"), np.full(Z.shape, np.nan)
        rows = np.arange(n)
        # logsumexp and softmax in one pass, shifted by the row maximum (no overflow for finite
        # F); plain NumPy: SciPy's array-API versions cost ~1 ms of overhead per call
        Fmax = F.max(axis=2, keepdims=True)
        E = np.exp(F - Fmax)
        S = E.sum(axis=2, keepdims=True)
        lse = np.log(S[..., 0]) + Fmax[..., 0]
        per_point = lse - F[rows, :, clusters]  # (n, R)
        G = E
        G /= S  # p_i = softmax(f(x_i))
        G[rows, :, clusters] -= 1.0  # dL_i/df_j = p_ij - 1{j = c_i}
        G /= n * self.h
        if self.h > 1:
            G = np.repeat(G, self.h, axis=2)
        D = G * dF
        if single:
            return float(np.mean(per_point[:, 0])), D[:, 0]
        if not finite.all():
            D[:, ~finite] = np.nan
        return np.where(finite, per_point.mean(axis=0), np.nan), D

    @_span_form
    def loss_and_grad(self, X, clusters):
        """Softmax cross-entropy with cluster labels and its gradient (module docstring).

        Parameters
        ----------
        X : ndarray, shape (n, d)
        clusters : ndarray of int, shape (n,)
            Cluster index ``c_i`` in ``0..k-1``.

        Returns
        -------
        loss : float
        grad_W : ndarray, shape (k h, d)
        grad_b : ndarray, shape (k h,)
        """
        X = _check_X(X, self.d)
        Z = X @ self.W.T
        Z += self.b
        loss, D = self.loss_and_D(Z, clusters)
        return loss, D.T @ X, D.sum(axis=0)
