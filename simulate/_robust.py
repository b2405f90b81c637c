r"""Exact minimal L2 adversarial radius of the two networks (SPEC §5), robust-accuracy curves.

Definition and tie convention: for a test point ``(x, y)`` and binary score ``g`` (the network's
``binary_score`` under a readout)::

    r(x, y) = min ||rho||_2   subject to   y g(x + rho) <= 0,

so a point *on* the decision boundary (``g = 0``) counts as flipped; a point that is already
misclassified (``y g(x) <= 0``) has radius 0. ``ReLU'(0) = 0`` plays no role here (only values of
``ReLU`` enter), but a neuron at ``z = 0`` contributes 0 to every sum below.

Span reduction. ``g`` depends on ``x`` only through ``W x``. Let ``Q``, shape (d, p), be an
orthonormal basis of the row space of ``W`` (``p = rank W <= M``) and ``u = Q^T x``. The component of
``rho`` orthogonal to the span changes no pre-activation but adds to the norm, so the minimiser is
``rho = Q v`` with ``v`` in ``R^p`` and ``||rho|| = ||v||``. Every problem below is solved in ``R^p``,
so the cost does not grow with ``d``.

Convex decomposition (difference of convex sums). Write the flip condition as "a sum of ReLUs
is at most another sum of ReLUs". Since ``sum_r ReLU(n_r) = max_{A} sum_{r in A} n_r`` over
subsets ``A``,

    sum_{i in P} ReLU(p_i) <= sum_{r in N} ReLU(n_r)
        iff  there is A subset of N with  sum_{i in P} ReLU(p_i) <= sum_{r in A} n_r,

and for a fixed ``A`` the right-hand side is affine and the left-hand side convex, so the set of
``v`` is convex; its epigraph form (``t_i >= 0``, ``t_i >= p_i(v)``, ``sum t_i <= sum_A n_r(v)``) is a
polyhedron and ``min ||v||^2`` over it is a convex QP. The radius is the minimum over ``A``.

- Binary net, ``y = +1``: ``P`` = the positive neurons, ``N`` = the negative ones (the common
  factor ``1/m`` cancels); ``y = -1`` swaps them. ``2^m`` QPs.
- Multi-class net, ``sum`` readout: ``F = (1/h)(sum_{J+ neurons} ReLU - sum_{J- neurons} ReLU)``,
  the same form with ``P`` the own class's neurons. ``2^{h |J_{-y}|}`` QPs.
- Multi-class net, ``argmax`` readout, own class ``J_s``: ``max_{J_s} f_j <= max_{J_{-s}} f_j`` iff
  some ``j'`` in ``J_{-s}`` has ``f_{j'} >= f_j`` for every ``j`` in ``J_s``; with
  ``h f_{j'} = max_A sum_{r in A} z_{j',r}`` this is, for each ``j'`` and subset ``A`` of its ``h``
  neurons, ``|J_s|`` convex constraints sharing one right-hand side. ``|J_{-s}| 2^h`` QPs.

Solver. The QPs are solved with Clarabel (an interior-point conic solver, Goulart & Chen 2024,
arXiv 2405.12762), chosen because it is a small compiled wheel depending only on NumPy/SciPy, is
actively maintained, solves QPs natively (no conic reformulation of the objective), detects
infeasibility reliably (some subsets ``A`` are infeasible), and reaches ``1e-10`` gaps. Each
solution is checked: the returned perturbation, scaled by ``1 + eps`` for the smallest ``eps`` in
:data:`VERIFY_SCALES` that works, must flip the prediction of the network itself.
"""

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import ndtr  # Phi, the standard normal CDF (scipy.stats costs 0.8 s to import)

from ._errors import InvalidParameter
from ._networks import READOUTS
from ._validate import validate_array, validate_choice

__all__ = [
    "RadiusResult",
    "exact_radius",
    "exact_radii",
    "flip_subproblems",
    "span_basis",
    "robust_accuracy",
    "optimal_robust_accuracy",
    "VERIFY_SCALES",
    "MAX_SUBPROBLEMS",
]

#: relative outward scalings tried when verifying that a QP solution flips the prediction: the
#: solver's feasibility tolerance (1e-10 on scaled data) leaves the optimum within ~1e-9 of the
#: boundary, so 1e-9..1e-6 is enough in practice; 1e-4 is the last resort.
VERIFY_SCALES = (0.0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4)

#: refuse networks whose enumeration would need more QPs than this per point
MAX_SUBPROBLEMS = 2 ** 16

#: Clarabel tolerances: 1e-10 gaps/feasibility give radii accurate to ~1e-9 relative, well inside
#: the 1e-6 the tests ask; looser defaults (1e-8) would still pass but leave less margin.
_SOLVER_TOL = 1e-10


@dataclass
class RadiusResult:
    """The exact radius of one point.

    Attributes
    ----------
    radius : float
        ``min ||rho||`` (the QP optimum; ``inf`` if no perturbation flips, 0 if misclassified).
    perturbation : ndarray, shape (d,)
        A perturbation that flips the prediction (``y g(x + rho) <= 0`` verified), with
        ``||rho|| <= radius (1 + max(VERIFY_SCALES))``; NaN if none exists.
    verified : bool
        Whether ``perturbation`` was checked to flip the prediction.
    subproblems : int
        Number of QPs solved.
    """

    radius: float
    perturbation: np.ndarray
    verified: bool
    subproblems: int


def span_basis(W, rtol=1e-12):
    """Orthonormal basis ``Q``, shape (d, p), of the row space of ``W``, shape (M, d).

    Singular values below ``rtol * s_max`` are treated as zero (``rtol`` is round-off level).
    """
    _, s, Vt = np.linalg.svd(W, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((W.shape[1], 0))
    return Vt[s > rtol * s[0]].T


def _groups(net, y, cluster_labels, readout):
    """Neuron index sets of the flip condition (module docstring).

    Returns ``(convex, blocks, opponents)``: ``convex`` the neurons whose ReLUs must be small,
    ``blocks`` a list of index arrays into ``convex`` (one constraint each), ``opponents`` a list of
    neuron index arrays whose subsets ``A`` supply the right-hand side (one family per entry).
    """
    if net.kind == "binary":
        m = net.m
        own, other = (np.arange(m), np.arange(m, 2 * m)) if y > 0 else (np.arange(m, 2 * m), np.arange(m))
        return own, [np.arange(m)], [other]
    h = net.h
    labels = np.asarray(cluster_labels)
    own_clusters = np.flatnonzero(labels == y)
    other_clusters = np.flatnonzero(labels != y)
    neurons = lambda js: (js[:, None] * h + np.arange(h)).ravel()  # noqa: E731
    convex = neurons(own_clusters)
    if readout == "sum":
        return convex, [np.arange(convex.size)], [neurons(other_clusters)]
    blocks = [np.arange(i * h, (i + 1) * h) for i in range(own_clusters.size)]
    return convex, blocks, [neurons(np.array([j])) for j in other_clusters]


def flip_subproblems(net, y, cluster_labels=None, readout="argmax"):
    """The convex pieces of the flip region, as index sets (for inspection and tests).

    Yields ``(convex, blocks, A)``: the flip region is the union over the yielded triples of
    ``{v : sum_{i in block} ReLU(z_{convex[i]}) <= sum_{r in A} z_r  for every block}``.
    """
    convex, blocks, families = _groups(net, y, cluster_labels, readout)
    for fam in families:
        for size in range(fam.size + 1):
            for A in itertools.combinations(fam.tolist(), size):
                yield convex, blocks, np.array(A, dtype=np.int64)


def _count_subproblems(net, y, cluster_labels, readout):
    _, _, families = _groups(net, y, cluster_labels, readout)
    return sum(2 ** f.size for f in families)


@functools.lru_cache(maxsize=64)
def _objective(p, q):
    """``P`` of ``(1/2) x^T P x = ||v||^2`` for ``x = (v, t)``: ``2 I_p`` then zeros, upper CSC."""
    indptr = np.concatenate([np.arange(p + 1), np.full(q, p)])
    return sp.csc_matrix((np.full(p, 2.0), np.arange(p), indptr), shape=(p + q, p + q))


def _dense_csc(G):
    """A dense array as CSC with every entry stored (building it from index arrays is ~20x
    faster than ``scipy.sparse.csc_matrix(G)`` for these tiny matrices; Clarabel accepts
    explicit zeros)."""
    R, C = G.shape
    return sp.csc_matrix((G.ravel(order="F"), np.tile(np.arange(R), C), np.arange(0, R * C + 1, R)),
                         shape=(R, C))


def _solve_qp(Wr, c, convex, blocks, A, clarabel):
    """``min ||v||^2`` over one convex piece; returns ``v`` or ``None`` if infeasible.

    Variables ``(v, t)``, ``v`` in ``R^p``, ``t`` in ``R^q`` (``q = len(convex)``); constraints
    ``G (v, t) <= h``: ``-t <= 0``; ``<a_i, v> - t_i <= -c_i``; per block
    ``sum_block t - <sum_A a_r, v> <= sum_A c_r``.
    """
    p = Wr.shape[1]
    q = convex.size
    nb = len(blocks)
    G = np.zeros((2 * q + nb, p + q))
    hv = np.zeros(2 * q + nb)
    G[:q, p:] = -np.eye(q)
    G[q:2 * q, :p] = Wr[convex]
    G[q:2 * q, p:] = -np.eye(q)
    hv[q:2 * q] = -c[convex]
    aA = Wr[A].sum(axis=0)
    cA = c[A].sum()
    for i, blk in enumerate(blocks):
        G[2 * q + i, p + blk] = 1.0
        G[2 * q + i, :p] = -aA
        hv[2 * q + i] = cA
    P = _objective(p, q)
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = _SOLVER_TOL
    settings.max_iter = 200
    solver = clarabel.DefaultSolver(P, np.zeros(p + q), _dense_csc(G), hv,
                                    [clarabel.NonnegativeConeT(G.shape[0])], settings)
    sol = solver.solve()
    status = str(sol.status)
    if "Infeasible" in status:
        return None
    # "AlmostSolved"/"MaxIterations" solutions are kept: if an inaccurate one wins, the caller's
    # check that its perturbation flips the prediction fails and the result says verified=False
    if not ("Solved" in status or "MaxIterations" in status):
        return None
    v = np.asarray(sol.x)[:p]
    return v if np.all(np.isfinite(v)) else None


def _check_point(net, x, y):
    x = validate_array("x", x, shape=(net.d,))
    if y not in (1, -1):
        raise InvalidParameter("y", y, "a label in {+1, -1}")
    return x, int(y)


def exact_radius(net, x, y, cluster_labels=None, readout="argmax", basis=None):
    """Exact minimal L2 radius ``r(x, y)`` (module docstring), with a verified perturbation.

    Parameters
    ----------
    net : BinaryNetwork or MultiClassNetwork
    x : ndarray, shape (d,)
    y : {+1, -1}
    cluster_labels : ndarray, shape (k,)
        ``+1`` on ``J+``; required for the multi-class network.
    readout : {"argmax", "sum"}
        Ignored for the binary network.
    basis : ndarray, shape (d, p), optional
        :func:`span_basis` of ``net.W`` (pass it when calling for many points).

    Returns
    -------
    RadiusResult
    """
    import clarabel

    x, y = _check_point(net, x, y)
    if net.kind == "multiclass":
        readout = validate_choice("readout", readout, READOUTS)
        if cluster_labels is None:
            raise InvalidParameter("cluster_labels", None, "the +-1 labels of the k clusters")
    score = lambda z: float(net.binary_score(z[None, :], cluster_labels, readout)[0])  # noqa: E731
    if y * score(x) <= 0.0:
        return RadiusResult(0.0, np.zeros(net.d), True, 0)
    n_sub = _count_subproblems(net, y, cluster_labels, readout)
    if n_sub > MAX_SUBPROBLEMS:
        raise InvalidParameter("network", f"{n_sub} convex subproblems per point",
                               f"at most {MAX_SUBPROBLEMS} (fewer neurons per output)")
    Q = span_basis(net.W) if basis is None else basis
    Wr = net.W @ Q
    c = net.W @ x + net.b  # pre-activations at v = 0
    best, best_v, count = np.inf, None, 0
    for convex, blocks, A in flip_subproblems(net, y, cluster_labels, readout):
        count += 1
        v = _solve_qp(Wr, c, convex, blocks, A, clarabel)
        if v is not None and v @ v < best:
            best, best_v = float(v @ v), v
    if best_v is None:
        return RadiusResult(np.inf, np.full(net.d, np.nan), False, count)
    rho = Q @ best_v
    radius = float(np.sqrt(best))
    for eps in VERIFY_SCALES:
        if y * score(x + (1.0 + eps) * rho) <= 0.0:
            return RadiusResult(radius, (1.0 + eps) * rho, True, count)
    return RadiusResult(radius, rho, False, count)


def exact_radii(net, X, y, cluster_labels=None, readout="argmax", progress=None):
    """:func:`exact_radius` for every row of ``X``, shape (n, d); returns a list of results.

    ``progress`` (e.g. a progress bar's ``update``) is called with 1 after each point.
    """
    X = validate_array("X", X, shape=(None, net.d))
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise InvalidParameter("y", f"array of shape {y.shape}", f"labels of shape ({X.shape[0]},)")
    Q = span_basis(net.W)
    out = []
    for xi, yi in zip(X, y):
        out.append(exact_radius(net, xi, int(yi), cluster_labels, readout, basis=Q))
        if progress is not None:
            progress(1)
    return out


def robust_accuracy(radii, grid):
    """Fraction of points with radius ``> delta`` for each ``delta`` in ``grid``.

    Parameters
    ----------
    radii : ndarray, shape (n,)
        Radii (0 for misclassified points, so they are never robust).
    grid : ndarray, shape (g,)

    Returns
    -------
    ndarray, shape (g,)
    """
    radii = np.asarray(radii, dtype=float)
    grid = np.asarray(grid, dtype=float)
    return (radii[None, :] > grid[:, None]).mean(axis=1)


def optimal_robust_accuracy(grid, d, sigma=1.0):
    """``Phi((sqrt(d/2) - delta) / sigma)``: the two-Gaussian optimum of SPEC C4 at each ``delta``.

    For ``N(mu_i, sigma^2 I)`` vs ``N(mu_j, sigma^2 I)`` with ``||mu_i - mu_j|| = sqrt(2d)`` the best
    classifier at radius ``delta`` is the bisector shifted by ``delta``; its accuracy is
    ``Phi((||mu_i - mu_j||/2 - delta)/sigma)`` (SPEC §2 C4, per pair; the mixture version is the
    theory module's).
    """
    grid = np.asarray(grid, dtype=float)
    return ndtr((np.sqrt(d / 2.0) - grid) / sigma)

