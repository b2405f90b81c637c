r"""Exact minimal adversarial radius of the two networks (docs/science.md §5), robust-accuracy curves.

Front end. :func:`exact_radius` and :func:`exact_radii` validate their arguments and hand each
point to :mod:`._certify`, which returns a certified bracket ``[lower, upper]`` in L2 or
L-infinity at any width (enumeration of the convex pieces below for small families, branch and
bound over the opposing neurons' states otherwise; DAQP/HiGHS subproblems with weak-duality
certificates). The enumerator described below, one Clarabel QP per subset ``A``, is kept as
``method="enumerate-clarabel"`` (L2 only) for comparison; it accepts only Clarabel's ``Solved``
status (``AlmostSolved``, ``MaxIterations`` and the rest make a failed piece and an unverified
result).

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

Other activations (issue 18). Leaky ReLU keeps the max-of-affine structure
(``sigma(z) = a z + (1 - a) ReLU(z)``: an affine term joins each sum, :mod:`._certify`), so its
radii are certified exactly like ReLU's. ReLU^p (``p > 1``) is exact where each block and family
is one distinct neuron (then its flip set is that of a ReLU net) and otherwise certified to a
bracket by spatial branch and bound (:mod:`._certify_power`, ``method`` ``"auto"`` or ``"bnb"``;
enumeration raises :class:`InvalidParameter`). The old Clarabel enumerator is ReLU only.

Solver of the old path. The QPs are solved with Clarabel (an interior-point conic solver, Goulart & Chen 2024,
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
from ._validate import validate_array, validate_choice, validate_real

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


class _PieceFailed(RuntimeError):
    """A Clarabel piece of the old enumerator ended with a status other than solved/infeasible."""


@dataclass
class RadiusResult:
    """The certified radius of one point: a bracket ``[lower, upper]`` and its flipping perturbation.

    Attributes
    ----------
    radius : float
        ``upper`` (kept under its old name): ``inf`` if no perturbation flips, 0 if misclassified.
    perturbation : ndarray, shape (d,)
        A perturbation checked to flip the prediction by forward passes of the network
        (``y g(x + rho) <= 0``) with ``||rho|| = upper``; NaN if none was found.
    verified : bool
        ``perturbation`` flips the point under exact forward passes *and* ``gap <= `` the
        requested gap (so ``radius`` is the minimal norm to that relative accuracy).
    subproblems : int
        QPs/LPs solved.
    lower, upper : float
        Certified bracket of the exact radius: ``lower`` by weak duality (:mod:`._certify`),
        ``upper`` the norm of ``perturbation``.
    gap : float
        ``(upper - lower) / upper`` (0 when exact, or when ``upper`` is 0).
    status : {"solved", "budget", "failed"}
        ``budget``: the time budget ran out first (the gap says how far it got); ``failed``: a
        subproblem's solvers all failed (the bracket is still valid but not closed).
    method : str
        ``"enumerate"``, ``"bnb"`` or ``"enumerate-clarabel"`` (what ``"auto"`` chose);
        ``"bnb-power"`` for a ReLU^p net certified by spatial branch and bound (:mod:`._certify_power`).
    nodes : int
        Pieces (enumeration) or branch-and-bound nodes explored.
    norm : {2, inf}
    """

    radius: float
    perturbation: np.ndarray
    verified: bool
    subproblems: int
    lower: float = float("nan")
    upper: float = float("nan")
    gap: float = float("nan")
    status: str = "solved"
    method: str = "enumerate-clarabel"
    nodes: int = 0
    norm: float = 2


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
    if status.endswith("PrimalInfeasible") and "Almost" not in status:
        return None
    # only "Solved" is accepted: AlmostSolved, MaxIterations and the rest are failed pieces
    if not (status.endswith("Solved") and "Almost" not in status):
        raise _PieceFailed(status)
    v = np.asarray(sol.x)[:p]
    if not np.all(np.isfinite(v)):
        raise _PieceFailed(status + " with non-finite solution")
    return v


def _check_point(net, x, y):
    x = validate_array("x", x, shape=(net.d,))
    if y not in (1, -1):
        raise InvalidParameter("y", y, "a label in {+1, -1}")
    return x, int(y)


def _check_options(net, readout, cluster_labels, norm, gap, time_budget, method):
    from ._certify import METHODS, validate_norm

    if net.kind == "multiclass":
        readout = validate_choice("readout", readout, READOUTS)
        if cluster_labels is None:
            raise InvalidParameter("cluster_labels", None, "the +-1 labels of the k clusters")
    norm = validate_norm(norm)
    gap = validate_real("gap", gap, low=0.0, high=1.0, valid="a real number with 0 <= gap < 1")
    if gap >= 1.0:
        raise InvalidParameter("gap", gap, "a real number with 0 <= gap < 1")
    if time_budget is not None:
        time_budget = validate_real("time_budget", time_budget, low=0.0, low_open=True,
                                    valid="None or a number of seconds > 0")
    method = validate_choice("method", method, METHODS)
    if method == "enumerate-clarabel" and norm != 2:
        raise InvalidParameter("method", method, "'enumerate-clarabel' is the old L2 path (norm=2); "
                               "for norm=inf use 'auto', 'enumerate' or 'bnb'")
    return readout, norm, gap, time_budget, method


def _exact_radius_clarabel(net, x, y, cluster_labels, readout, Q):
    """The enumerator before issue 17: one Clarabel QP per subset (kept for the benchmark)."""
    import clarabel

    score = lambda z: float(net.binary_score(z[None, :], cluster_labels, readout)[0])  # noqa: E731
    n_sub = _count_subproblems(net, y, cluster_labels, readout)
    if n_sub > MAX_SUBPROBLEMS:
        raise InvalidParameter("network", f"{n_sub} convex subproblems per point",
                               f"at most {MAX_SUBPROBLEMS} (fewer neurons per output), or method='bnb'")
    Wr = net.W @ Q
    c = net.W @ x + net.b  # pre-activations at v = 0
    best, best_v, count, failed = np.inf, None, 0, 0
    for convex, blocks, A in flip_subproblems(net, y, cluster_labels, readout):
        count += 1
        try:
            v = _solve_qp(Wr, c, convex, blocks, A, clarabel)
        except _PieceFailed:
            failed += 1
            continue
        if v is not None and v @ v < best:
            best, best_v = float(v @ v), v
    status = "failed" if failed else "solved"
    nan = np.full(net.d, np.nan)
    if best_v is None:
        return RadiusResult(np.inf, nan, False, count, np.nan if failed else np.inf, np.inf, np.nan,
                            status, "enumerate-clarabel", count)
    rho = Q @ best_v
    radius = float(np.sqrt(best))
    for eps in VERIFY_SCALES:
        if y * score(x + (1.0 + eps) * rho) <= 0.0:
            # no dual certificate on this path: lower = upper only if no piece failed
            return RadiusResult(radius, (1.0 + eps) * rho, not failed, count,
                                np.nan if failed else radius, radius, np.nan if failed else 0.0,
                                status, "enumerate-clarabel", count)
    return RadiusResult(radius, rho, False, count, np.nan, radius, np.nan, "failed", "enumerate-clarabel", count)


def _families(net, y, cluster_labels, readout):
    """``(blocks, families)`` of :mod:`._certify` as global neuron indices."""
    convex, blocks, families = _groups(net, y, cluster_labels, readout)
    return [convex[b] for b in blocks], list(families)


def exact_radius(net, x, y, cluster_labels=None, readout="argmax", basis=None, *, norm=2, gap=1e-6,
                 time_budget=None, method="auto", _bound_hook=None):
    """Certified minimal radius ``r(x, y)`` in L2 or L-infinity, with a verified perturbation.

    The bracket ``[lower, upper]`` and the algorithms (enumeration of convex pieces, branch and
    bound over the opposing neurons' states) are described in :mod:`._certify`.

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
        :func:`span_basis` of ``net.W`` (pass it when calling for many points; L2 only).
    norm : {2, inf}
        L2 (solved in the span of the weights) or L-infinity (solved in the input coordinates).
    gap : float
        Stop once ``(upper - lower) / upper <= gap``.
    time_budget : float, optional
        Seconds per point; when it runs out the result has ``status="budget"`` and its gap.
    method : {"auto", "enumerate", "bnb", "enumerate-clarabel"}
        ``auto`` enumerates small families (:data:`._certify.ENUMERATE_MAX_FAMILY`) and branches
        and bounds otherwise; ``enumerate-clarabel`` is the old one-Clarabel-QP-per-subset path
        (ReLU only). The activation decides what is exact (module docstring): ReLU and leaky ReLU
        as above; ReLU^p by the collapse where it applies, else ``auto`` or ``bnb`` runs the spatial
        branch and bound of :mod:`._certify_power`, and the enumerating methods raise
        :class:`InvalidParameter`.

    Returns
    -------
    RadiusResult
    """
    x, y = _check_point(net, x, y)
    readout, norm, gap, time_budget, method = _check_options(net, readout, cluster_labels, norm, gap,
                                                             time_budget, method)
    if norm == 2 and basis is None:
        basis = span_basis(net.W)
    A = None if norm != 2 or method == "enumerate-clarabel" else net.W @ basis
    return _radius_one(net, x, y, cluster_labels, readout, norm, gap, time_budget, method, basis, A,
                       net.W @ x + net.b, _bound_hook)


def _fast_flips(net, z, y, cluster_labels, readout):
    """``y g(z) <= 0`` for one input ``z``, shape (d,), from ``W z + b`` by ``einsum``.

    A filter before the network's own forward pass: on a shared machine a threaded BLAS call of
    this size (M x d) costs more in thread hand-off than in arithmetic (measured at m = 5: 560
    points/s with threaded BLAS under load, 2460 with one BLAS thread), and most candidates that
    fail, fail here.
    """
    Z = np.einsum("ij,j->i", net.W, z) + net.b
    return y * float(net.binary_score_from_Z(Z[None, :], cluster_labels, readout)[0]) <= 0.0


def _radius_one(net, x, y, cluster_labels, readout, norm, gap, time_budget, method, Q, A, c,
                bound_hook=None, g0=None):
    """:func:`exact_radius` after validation; ``A = W Q`` (L2), ``c = W x + b`` and the score
    ``g0 = g(x)`` (optional) precomputed."""
    from ._certify import ENUMERATE_MAX_FAMILY, certify_point

    score = lambda z: float(net.binary_score(z[None, :], cluster_labels, readout)[0])  # noqa: E731
    if y * (score(x) if g0 is None else g0) <= 0.0:
        return RadiusResult(0.0, np.zeros(net.d), True, 0, 0.0, 0.0, 0.0, "solved",
                            "enumerate" if method == "auto" else method, 0, norm)
    if method == "enumerate-clarabel" and not net.activation.is_relu:
        raise InvalidParameter("method", method, "a ReLU network for the old Clarabel enumerator; for "
                               f"activation {net.activation.describe()} use 'auto', 'enumerate' or 'bnb'")
    if norm == 2:
        if method == "enumerate-clarabel":
            return _exact_radius_clarabel(net, x, y, cluster_labels, readout, Q)
        lift = lambda v: np.einsum("ij,j->i", Q, v)  # noqa: E731 - (see _forward_score)
    else:
        A = net.W
        lift = lambda v: v  # noqa: E731
    blocks, families = _families(net, y, cluster_labels, readout)
    act = net.activation
    slope = act.slope  # a of a z + (1 - a) ReLU(z): ReLU (0) and leaky ReLU; None for ReLU^p, p > 1
    if slope is None:  # ReLU^p (issue 18): exact by collapse, else a certified bracket (._certify_power)
        from ._certify_power import certify_power_point, collapse

        reduced = collapse(A, c, blocks, families, act.p, identity=(net.W, net.b))
        if reduced is None:
            if method not in ("auto", "bnb"):
                raise InvalidParameter("method", method, "'auto' or 'bnb' for a relu_p network whose blocks or "
                                       "families hold several distinct neurons: its flip set is not a union of "
                                       "polyhedra, so it is certified by spatial branch and bound "
                                       "(featavg.simulate._certify_power), not enumerated")

            def flips(v):
                z = x + lift(v)
                return _fast_flips(net, z, y, cluster_labels, readout) and y * score(z) <= 0.0
            out = certify_power_point(A, c, blocks, families, act.p, norm, flips, gap=gap, time_budget=time_budget)
            return _result(net, out, "bnb-power", norm, gap, lift)
        A, c, blocks, families = reduced
        slope = 0.0
    if method == "auto":
        method = "enumerate" if max(f.size for f in families) <= ENUMERATE_MAX_FAMILY else "bnb"
    if method == "enumerate" and sum(2 ** f.size for f in families) > MAX_SUBPROBLEMS:
        raise InvalidParameter("method", "enumerate", f"at most {MAX_SUBPROBLEMS} pieces per point "
                               "for enumeration; use method='bnb' or 'auto' for wide networks")
    # the check of every candidate perturbation: a forward pass of the network itself at x + rho
    def flips(v):
        z = x + lift(v)
        return _fast_flips(net, z, y, cluster_labels, readout) and y * score(z) <= 0.0
    out = certify_point(A, c, blocks, families, norm, flips, gap=gap, time_budget=time_budget,
                        method=method, bound_hook=bound_hook, slope=slope)
    return _result(net, out, method, norm, gap, lift)


def _result(net, out, method, norm, gap, lift):
    """The :class:`RadiusResult` of a certifier's output dict."""
    upper, lower = out["upper"], out["lower"]
    if out["v"] is None:
        pert = np.full(net.d, np.nan)
        gap_out = 0.0 if lower == np.inf else np.nan
        return RadiusResult(np.inf, pert, False, out["subproblems"], lower, np.inf, gap_out,
                            out["status"], method, out["nodes"], norm)
    gap_out = 0.0 if upper == 0.0 else max(0.0, (upper - lower) / upper)
    pert = lift(out["v"])  # out["v"] passed flips() (the network's own forward pass) as incumbent
    verified = gap_out <= gap and out["status"] != "failed"
    return RadiusResult(upper, pert, verified, out["subproblems"], lower, upper, gap_out, out["status"],
                        method, out["nodes"], norm)


def exact_radii(net, X, y, cluster_labels=None, readout="argmax", progress=None, *, norm=2, gap=1e-6,
                time_budget=None, method="auto"):
    """:func:`exact_radius` for every row of ``X``, shape (n, d); returns a list of results.

    ``progress`` (e.g. a progress bar's ``update``) is called with 1 after each point;
    ``time_budget`` is per point.
    """
    X = validate_array("X", X, shape=(None, net.d))
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise InvalidParameter("y", f"array of shape {y.shape}", f"labels of shape ({X.shape[0]},)")
    for yi in y:
        if yi not in (1, -1):
            raise InvalidParameter("y", yi, "labels in {+1, -1}")
    readout, norm, gap, time_budget, method = _check_options(net, readout, cluster_labels, norm, gap,
                                                             time_budget, method)
    Q = span_basis(net.W) if norm == 2 else None
    A = net.W @ Q if norm == 2 and method != "enumerate-clarabel" else None
    Cs = X @ net.W.T + net.b  # every point's pre-activations in one product, and its score
    G0 = net.binary_score(X, cluster_labels, readout) if X.shape[0] else np.zeros(0)
    out = []
    for xi, yi, ci, gi in zip(X, y, Cs, G0):
        out.append(_radius_one(net, xi, int(yi), cluster_labels, readout, norm, gap, time_budget, method,
                               Q, A, ci, g0=float(gi)))
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
    """``Phi((sqrt(d/2) - delta) / sigma)``: the two-Gaussian optimum of docs/science.md §2, C4 at each ``delta``.

    For ``N(mu_i, sigma^2 I)`` vs ``N(mu_j, sigma^2 I)`` with ``||mu_i - mu_j|| = sqrt(2d)`` the best
    classifier at radius ``delta`` is the bisector shifted by ``delta``; its accuracy is
    ``Phi((||mu_i - mu_j||/2 - delta)/sigma)`` (docs/science.md §2 C4, per pair; the mixture version is the
    theory module's).
    """
    grid = np.asarray(grid, dtype=float)
    return ndtr((np.sqrt(d / 2.0) - grid) / sigma)

