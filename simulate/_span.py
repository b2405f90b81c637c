r"""Gradient descent in the span of the training inputs (the kernel form of GD), for 1 or R networks.

Why it is exact. Every GD gradient of either network is ``grad_W = D^T X`` (:mod:`._networks`,
``D`` of shape (n, M) with the ``1/n`` included), so every update adds a combination of the rows
of ``X`` to ``W``::

    W_t = W_0 + C_t X,      C_0 = 0,      C_{t+1} = C_t - eta D_t^T        (C_t of shape (M, n)),

and the pre-activations are, with ``G = X X^T`` (n x n, once) and ``P = X W_0^T`` (n x M, once),

    Z_t = X W_t^T + b_t = P + G C_t^T + b_t.

A step therefore costs one product ``G C_t^T`` (``2 n^2 M`` flops on an n x n matrix) instead of
``X W^T`` and ``D^T X`` (``4 n d M`` flops, two passes over ``X``); ``W`` is formed only when it
is asked for (``observe`` and the end: ``W = W_0 + C X``). The result equals the primal path's in
exact arithmetic; in float64 the two differ by round-off (the sums run in another order), which
``tests/test_span.py`` bounds along whole trajectories.

Storage. ``C^T`` is kept as an (n, M) C-contiguous array ``Ct``, so that ``G @ Ct`` has the layout
of ``Z`` (measured at n = 1000 on the 2-core reference machine: ``G @ Ct`` 1.2 ms for M = 10 and
3.0 ms for M = 40, against 1.3 and 6.8 ms for ``(C @ G).T``). ``R`` replicas (independent networks
on the same inputs) stack their columns: ``Ct`` of shape (n, R M), one product per step for all.

Cost rule (:func:`choose_method`). In flops, with ``d_X`` the cost per row of a pass over ``X``
(``d`` for a dense array; ``k + n`` for :class:`._reduced.ReducedInputs`: its triangular block is
half zeros, but BLAS ``trmm`` runs at about half the speed of a dense product, measured):

* primal: ``4 n d_X M`` per step;
* span: ``2 n^2 M`` per step, plus the Gram matrix ``n^2 d_X`` (a symmetric rank-``d`` update),
  ``P`` and the final ``W`` (``2 n d_X M`` each), and ``2 n d_X M`` per ``observe`` call;
* plus a fixed per-step overhead of NumPy calls, which the span step has fewer of
  (:data:`STEP_OVERHEAD_FLOPS`).

``auto`` takes the cheaper total and the span path only while ``G`` fits in
:data:`SPAN_MAX_BYTES`. Measured (``benchmarks/bench_engines.py``, 2-core reference machine,
OpenBLAS, medians of 5) at the paper's default (n = 1000, d = 3072, M = 10, 100 steps): the Gram
matrix takes 95 ms, a span step 1.7-1.9 ms against a primal step 9.3-9.5 ms, so a whole run's GD
costs 2.9-3.1 ms per step (two passes over ``X``: 2.7 ms). Reduced engine at the same setting
(``X`` of 1000 x 1020): Gram 41 ms, span step 2.5-2.6 ms, primal step 3.6-4.1 ms. At the
property-test scale (reduced, n = 100..400, 300 steps) the two paths are within 15% of each
other (per-step NumPy overhead dominates) except where the primal path's ``trmm`` is slow; the
rule is conservative at large n (n = 2000, d = 3072: it keeps the primal path, measured 20 ms
per step against 12.5 ms for span).
"""

import numpy as np

from ._errors import InvalidParameter, NumericalError

__all__ = ["METHODS", "SPAN_MAX_BYTES", "choose_method", "gram", "preactivations", "span_descent",
           "span_capable"]

METHODS = ("auto", "primal", "span")

#: Largest Gram matrix ``G`` (n x n float64) the ``auto`` rule allows: n <= 5792.
SPAN_MAX_BYTES = 256 * 2**20

#: Fixed cost of a step in flop-equivalents (NumPy call overheads, ~20 us at ~15 GFLOP/s): the
#: primal step makes about twice as many calls as the span step (two products and, for
#: ReducedInputs, four BLAS calls and an allocation).
STEP_OVERHEAD_FLOPS = 3e5


def span_capable(net):
    """Whether ``net``'s gradient is ``D^T X`` with ``D`` from its ``loss_and_D`` (the mark of
    :func:`._networks._span_form`); otherwise only the primal path trains what it says."""
    return bool(getattr(type(net).loss_and_grad, "span_form", False)) and hasattr(net, "loss_and_D")


def _pass_width(X):
    """``d_X``: flops per row and column of ``W`` of one product with ``X`` (module docstring)."""
    if hasattr(X, "gram"):  # ReducedInputs: [A | lower-triangular T | 0]
        # trmm does half the flops of a dense product at about half its speed (measured: a
        # primal step at D = 1020 costs ~0.46 of one at d = 3072), so count the full block
        return X.k + X.n
    return X.shape[1]


def choose_method(net, X, steps, *, every=0, method="auto", replicas=1):
    """``"primal"`` or ``"span"`` for GD of ``net`` (``replicas`` stacked copies) on ``X``.

    Parameters
    ----------
    net : BinaryNetwork or MultiClassNetwork
    X : ndarray, shape (n, d), or ReducedInputs
    steps, every : int
        GD steps and the observation period (0: none).
    method : {"auto", "primal", "span"}
        ``primal`` and ``span`` force a path; ``auto`` applies the cost rule of the module
        docstring.
    replicas : int

    Raises
    ------
    InvalidParameter
        For an unknown method, or ``span`` forced on a network whose gradient is not of the
        span form (:func:`span_capable`).
    """
    if method not in METHODS:
        raise InvalidParameter("method", method, "one of " + ", ".join(METHODS))
    capable = span_capable(net)
    if method == "span" and not capable:
        raise InvalidParameter("method", method, f"'primal' or 'auto' for {type(net).__name__} whose "
                               "loss_and_grad is not of the span form D^T X (see featavg.simulate._span)")
    if method != "auto":
        return method
    n, M = X.shape[0], net.W.shape[0] * replicas
    if not capable or steps == 0 or 8 * n * n > SPAN_MAX_BYTES:
        return "primal"
    dx = _pass_width(X)
    observations = (steps // every + 2) if every else 0
    primal = (steps + 1) * (4 * n * dx * M + 2 * STEP_OVERHEAD_FLOPS)
    span = (n * n * dx + 4 * n * dx * M + observations * 2 * n * dx * M
            + (steps + 1) * (2 * n * n * M + STEP_OVERHEAD_FLOPS))
    return "span" if span < primal else "primal"


def gram(X):
    """``G = X X^T``, shape (n, n) (for ReducedInputs ``A A^T + T T^T``, see its ``gram``)."""
    if hasattr(X, "gram"):
        return X.gram()
    X = np.asarray(X)
    return X @ X.T  # NumPy calls BLAS syrk for a product with its own transpose


def preactivations(G, Ct, P, b):
    """``Z = G C^T + P + b``, shape (n, R M): the pre-activations in span form (module docstring)."""
    Z = G @ Ct
    Z += P
    Z += b
    return Z


def span_descent(loss_and_D, W0, b0, X, target, eta, steps, *, replicas=1, G=None, every=0,
                 observe=None, progress=None, label=None, losses=None):
    """Full-batch GD of ``replicas`` stacked networks in span form (module docstring).

    Parameters
    ----------
    loss_and_D : callable (Z, target) -> (loss, D)
        A network's ``loss_and_D`` (the template of every replica's shape).
    W0 : ndarray, shape (R M, d)
        Initial weights, replica ``r`` in rows ``r M .. (r + 1) M - 1``.
    b0 : ndarray, shape (R M,)
    X : ndarray, shape (n, d), or ReducedInputs
    target : ndarray, shape (n,)
    eta : float
    steps : int
    replicas : int
        ``R``; with ``R = 1`` the loss is a float and ``loss_and_D`` sees ``Z`` of shape (n, M),
        else ``Z`` of shape (n, R, M).
    G : ndarray, shape (n, n), optional
        ``X X^T`` if already computed.
    every : int
        Call ``observe(t, W, b, loss)`` (``W`` (R M, d) formed for the call, ``b`` a copy,
        ``loss`` as returned by ``loss_and_D``) at steps ``0, every, ...`` and ``steps``, before
        the update of that step; 0 disables it.
    observe, progress : callable, optional
        ``progress(1)`` after each step.
    label : callable (r) -> str, optional
        Names replica ``r`` in error messages.
    losses : list, optional
        If given, the loss of every step ``0..steps`` is appended to it (a float, or an array of
        shape (R,)): the loss is computed every step anyway, so this costs nothing.

    Returns
    -------
    W : ndarray, shape (R M, d)
    b : ndarray, shape (R M,)
    loss : float or ndarray of shape (R,)
        At the final parameters.

    Raises
    ------
    NumericalError
        If a loss, ``D``, ``C`` or ``b`` stops being finite; names the step (and the replica).
    """
    R = int(replicas)
    n = X.shape[0]
    RM = W0.shape[0]
    M = RM // R
    if G is None:
        G = gram(X)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected and reported below
        P = np.ascontiguousarray(X @ W0.T)  # (n, R M)
    b = np.array(b0, dtype=np.float64)
    Ct = np.zeros((n, RM))

    def where(r):
        return (label(r) + " ") if label is not None else ""

    def fail(t, what, r):
        raise NumericalError(f"{where(r)}gradient descent diverged at step {t}: {what} is not finite "
                             f"(eta={eta}; try a smaller learning rate)")

    if observe is not None:  # the caller's floating-point error handling, not the loop's
        outer = np.geterr()

        def observe_as_called(*args):
            with np.errstate(**outer):
                observe(*args)
    else:
        observe_as_called = None
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected and reported below
        return _loop(loss_and_D, W0, X, G, P, b, Ct, target, eta, steps, R, M, every, observe_as_called,
                     progress, fail, losses)


def _loop(loss_and_D, W0, X, G, P, b, Ct, target, eta, steps, R, M, every, observe, progress, fail, losses=None):
    n, RM = Ct.shape
    for t in range(steps + 1):
        Z = preactivations(G, Ct, P, b)
        loss, D = loss_and_D(Z if R == 1 else Z.reshape(n, R, M), target)
        D = D.reshape(n, RM)
        # An overflowed C or b makes Z, hence the loss, non-finite at the next step (t + 1, the
        # step the primal path names for a non-finite weight), so one check per step suffices.
        if not (np.isfinite(loss).all() and np.isfinite(D).all()):
            finite = np.isfinite(np.atleast_1d(loss)) & np.isfinite(D).reshape(n, R, M).all(axis=(0, 2))
            r = int(np.flatnonzero(~finite)[0])
            fail(t, f"loss={(loss if R == 1 else loss[r])!r}, its gradient or a weight", r)
        if losses is not None:
            losses.append(float(loss) if R == 1 else np.array(loss, dtype=float))
        if observe is not None and every and (t % every == 0 or t == steps):
            observe(t, W0 + Ct.T @ X, b.copy(), loss)
        if t == steps:
            return W0 + Ct.T @ X, b, loss
        Ct -= eta * D
        b -= eta * D.sum(axis=0)
        if progress is not None:
            progress(1)
