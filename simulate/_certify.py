r"""Certified minimal adversarial radius at any width, in L2 and L-infinity (docs/science.md §5, issue 17).

Problem. For a test point ``(x, y)`` and the binary score ``g`` of a network under a readout,

    r_q(x, y) = min ||rho||_q   subject to   y g(x + rho) <= 0,       q in {2, inf},

with the tie convention of :mod:`._robust` (``g = 0`` counts as flipped; a misclassified point has
radius 0). The result is a bracket ``lower <= r_q <= upper`` whose two ends are certificates:
``upper`` is the norm of a perturbation checked to flip the point by exact forward passes of the
network itself, ``lower`` a weak-duality bound (below). ``gap = (upper - lower) / upper``.

Decomposition (as in :mod:`._robust`). The flip set is a finite union of convex sets. With
``z_r(v) = <a_r, v> + c_r`` the pre-activations, a *family* ``N`` of opposing neurons and *blocks*
``P_1..P_K`` of own neurons, it is

    { v : sum_{i in P_k} ReLU(z_i(v)) <= sum_{r in N} ReLU(z_r(v))  for every k },

unioned over the families (binary net: one family, the other sign's ``m`` neurons, one block;
``sum`` readout: one family, the other class's neurons, one block; ``argmax``: one family per
opposing cluster ``j'`` (its ``h`` neurons), one block per own cluster). Because
``sum_N ReLU(z_r) = max_{A subset N} sum_A z_r``, fixing ``A`` gives a convex *piece*
``C_A = {v : sum_{P_k} ReLU(z_i) <= sum_A z_r for all k}``; the radius is ``min_A min_{C_A} ||v||``.
The left side is handled without epigraph variables: ``sum_{P_k} ReLU(z_i) <= s`` iff
``sum_{i in B} z_i <= s`` for every ``B subset P_k``, and these ``2^|P_k|`` linear cuts are
generated lazily (the most violated one at ``v`` is ``B = {i : z_i(v) > 0}``, an exact separation
oracle), so every subproblem is ``min ||v||_q`` subject to linear inequalities ``C v <= h``: for
``q = 2`` a strictly convex least-distance QP in the span of the weights, for ``q = inf`` an LP.

Coordinates. L2 is rotation invariant and ``g`` depends on ``x`` only through ``W x``, so the L2
minimiser lies in the row space of ``W``: it is solved in ``v = Q^T rho``, ``Q`` an orthonormal
basis of that space (``p <= M`` coordinates). L-infinity is not rotation invariant: the minimiser
is *not* in the span, and the LPs are solved in the ``d`` input coordinates.

Lower-bound certificate (weak duality, one line). For any ``lambda >= 0`` and any ``v`` with
``C v <= h``: ``-h^T lambda <= -lambda^T C v <= ||C^T lambda||_* ||v||`` (Hoelder; ``||.||_*``
the dual norm: L2 for L2, L1 for L-infinity), so

    ||v|| >= (-h^T lambda) / ||C^T lambda||_*                                   (certificate)

and with a Farkas ray (``C^T lambda = 0``, ``h^T lambda < 0``) the bound is ``inf``. The bound is
recomputed from the solver's multipliers, clipped to ``lambda >= 0``, with a round-off allowance
added to the denominator and taken from the numerator; it never trusts the solver's objective.
A solver status other than solved is a failed subproblem: it is retried with Clarabel, and if that
fails too the result says ``status = "failed"``; it is never accepted.

Branch and bound over the opposing neurons' states (method ``"bnb"``). A node fixes some members
of a family active (``F1``: constraint ``z_r >= 0``, term ``z_r`` exact) or inactive (``F0``:
``z_r <= 0``, term dropped); the rest ``U`` are free. On the node's set ``ReLU`` of a free neuron is
bounded by the *triangle relaxation*: if ``l_r <= z_r(v) <= u_r`` for every ``v`` in the node with
``||v|| <= R`` (``R`` the incumbent: only such ``v`` can improve it), then
``ReLU(z_r) <= u_r (z_r - l_r) / (u_r - l_r)`` (the chord; the upper side of the triangle is all a
flip constraint ``<= sum ReLU`` needs). Every cut is then linear, the node relaxation is one
least-distance QP (or LP), and its certificate is a lower bound on the node below ``R``.
Pre-activation bounds come from the incumbent ball intersected with one halfspace
``<g, v> <= h0`` at a time (each branching constraint of the node, and the *aggregated cut*
``(C^T lambda) v <= h^T lambda`` of each earlier relaxation, a valid halfspace containing the
node's feasible set in the ball): by Lagrange duality, for every ``mu >= 0``,

    max { <b, v> : ||v|| <= R, <g, v> <= h0 } <= R ||b - mu g||_* + mu h0,

which is minimised over ``mu`` in closed form for L2 and by a weighted median for L-infinity (any
``mu`` is valid, so round-off in ``mu`` costs tightness, never soundness). When the relaxation
bound approaches ``R`` the cap shrinks to the incumbent's neighbourhood and neurons whose
pre-activation keeps its sign there are fixed (``u_r <= 0``: inactive; ``l_r >= 0``: active); the
loop bounds -> fix -> relax repeats while it gains. Then the free neuron with the largest
relaxation error at the relaxed minimiser is branched on. The structure of trained nets makes
this fast: their neurons within a class are near-identical (cosines 0.993-0.9998 at the paper's
setting), so the branching constraint ``z_s >= 0`` of one neuron fixes its near-parallel siblings
through the cap, and the ball around a near-optimal incumbent is thin. Nodes are explored best
first; the incumbent improves from every relaxed minimiser that flips, and from *polishing*: the
exact piece ``C_A`` of the active set ``A`` at a relaxed minimiser, re-solved while ``A`` changes.
The search stops when the smallest open node bound is at least ``(1 - gap) R`` or the time budget
is spent (``status = "budget"``, the gap reported); ``lower`` is the smallest bound of every node,
open or closed, that is below ``R`` (so a node pruned within the gap, or a leaf whose verified
perturbation needed an outward scaling, still shows in the gap), and ``R`` when there is none.

Leaky ReLU (issue 18). With ``sigma(z) = a z + (1 - a) ReLU(z)`` (``0 <= a < 1``) the flip
condition of a block against a family, ``sum_{P_k} sigma(z_i) <= sum_N sigma(z_r)``, divided by
``1 - a``, reads

    sum_{P_k} ReLU(z_i) + lambda sum_{P_k} z_i <= sum_N ReLU(z_r) + lambda sum_N z_r,   lambda = a/(1 - a),

the ReLU form with an affine term joining each side: the left side stays convex, the right side
stays a maximum of affine functions (``max_A sum_A z_r + lambda sum_N z_r``), so every piece is
still a polyhedron and every statement above holds with ``sum_A z_r`` replaced by
``sum_A z_r + lambda sum_N z_r`` and each cut ``sum_B z_i`` by ``sum_B z_i + lambda sum_{P_k} z_i``
(the separation oracle is unchanged, and the single-cut bound of the enumeration uses ``B = P_k``).
Brackets are therefore exact (certified to the requested gap) for leaky ReLU as for ReLU
(``lambda = 0``). ReLU^p is handled by :mod:`._certify_power`.

Enumeration (method ``"enumerate"``). Every piece ``C_A`` of every family is bounded first, all at
once, by the single cut with ``B = P_k`` (its distance to the origin is a lower bound of the
piece, vectorised over the ``2^|N|`` subsets); pieces are then solved exactly in increasing order
of that bound until the next bound reaches ``(1 - gap) R``. It is fastest for small families
(``"auto"`` chooses it when a family has at most :data:`ENUMERATE_MAX_FAMILY` members; the
measured crossover is in that constant's comment).

Solvers. L2 subproblems are solved by DAQP (Arnström, Bemporad & Axehill 2022, "A dual active-set
solver for embedded quadratic programming using recursive LDL^T updates", IEEE TAC 67(8)), a
dual active-set method made for small dense QPs: it needs no factorisation of ``H = I``, starts from
the unconstrained minimiser ``v = 0`` and adds only the few constraints that bind. Measured on
the trained nets below (median DAQP call, solver and its Python wrapper): 16 us at m = 5 (1
subproblem per point), 33 us at m = 64 (6 per point), 1.4 ms at m = 512 (10 per point). No warm
start is used: with so few subproblems per point there is little to carry over. L-infinity LPs
are solved by HiGHS (Huangfu & Hall 2018) through ``scipy.optimize.linprog(method="highs")``, in
the form ``max t`` subject to ``C omega <= t h``, ``|omega_j| <= 1`` (``rho = omega / t``): the
``d``-dimensional box becomes variable bounds and the only general rows are the cuts, and an
empty piece still returns multipliers (a Farkas certificate) because ``t = 0`` is always
feasible. Clarabel (interior point) is the fallback for any failed subproblem.

Choice of algorithm, measured on this machine (binary nets trained with
``run_simulation(Config(m=m))``, d = 3072; ``benchmarks/bench_certified.py``, one run, shared
2-core machine): the problem-specific branch and bound, not a MIQP.

- This module (L2): m = 5 4270 points/s by enumeration, 32x the old one-Clarabel-QP-per-subset
  enumerator measured in the same run (135 points/s; radii equal to 1e-11 relative); m = 16
  415 points/s; m = 64 148 points/s (100 points to gap 1e-6 in 0.68 s); m = 512 0.22 s per point.
  Gaps are at most 3e-13 (the certificate's round-off allowance), except at m = 64 where nodes
  pruned inside the requested gap leave up to 8e-7. On trained nets the root closes: after the
  first relaxation the incumbent cap fixes every opposing neuron (1 node per point).
  L-infinity (HiGHS LPs in d = 3072 variables): 116, 14, 5.2 and 0.30 points/s at m = 5, 16, 64,
  512, gaps at most 3e-13.
- Alternative measured: a big-M MIQP of the same problem (epigraph of the own ReLUs, binary
  activation of the opposing ones, big-M from the ball ``|z_r - c_r| <= R ||a_r||``) solved by
  DAQP's own mixed-integer branch and bound, *given the certified radius as* ``R`` (the tightest
  ball a MIQP could start from): 0.16 ms per point at m = 5 (solver time only), 55 ms at m = 16,
  5.9 s at m = 64, its optimum within 4e-8 relative of the certified one, and with no
  certificate of its lower end. It is competitive only where enumeration already is, about 900x
  slower at m = 64, and scales like a generic B&B because big-M bounds from a ball centred at the
  unperturbed point cannot fix any neuron. (The issue reports that SCIP on a plain big-M MIQP did
  not finish 5 points in 10 minutes at m = 64.)
- Known hard case: nets whose opposing neurons are *orthogonal* (docs/science.md §2, C4's one neuron per
  feature, at k = 40: m = 20 per class) have many symmetric near-optimal activation patterns and a
  triangle relaxation too weak to separate them; branch and bound then runs into its budget with
  a reported gap (e.g. bracket [1.26, 3.61] after 20 s at tau = 0.1 sqrt(d)). Up to 12 members
  ``auto`` enumerates, which stays exact on such nets.
"""

import functools
import heapq
import itertools
import math
import time

import numpy as np

from ._errors import InvalidParameter

__all__ = [
    "NORMS",
    "METHODS",
    "DEFAULT_GAP",
    "ENUMERATE_MAX_FAMILY",
    "CERTIFY_VERIFY_SCALES",
    "SubproblemFailure",
    "solve_min_norm",
    "certificate_bound",
    "cap_upper_bounds",
    "certify_point",
    "validate_norm",
]

#: the two norms: L2 and L-infinity
NORMS = (2, math.inf)
#: ``method`` values of :func:`featavg.simulate.exact_radius`
METHODS = ("auto", "enumerate", "bnb", "enumerate-clarabel")
#: default relative gap ``(upper - lower) / upper`` at which the search stops
DEFAULT_GAP = 1e-6
#: ``method="auto"`` enumerates when every family has at most this many members (2^12 pieces, each
#: bounded by one vectorised cut first); above it, branch and bound. Measured on binary nets at the
#: paper's setting (points/s, enumerate vs bnb; shared 2-core machine): m = 6: 1115 vs 301,
#: m = 8: 3420 vs 727, m = 10: 2338 vs 615, m = 12: 849 vs 530, m = 16: 14 vs 304
ENUMERATE_MAX_FAMILY = 12
#: outward scalings tried when verifying a perturbation by forward passes: DAQP's solutions sit on
#: their binding constraints to ~1e-15 relative, where round-off decides about half of the ties,
#: so the first try is 1e-13 outward (it almost always works); 1e-6 is the last
CERTIFY_VERIFY_SCALES = (1e-13, 0.0, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6)

#: shifts ``tau`` (times ``1 + ||v||``) of a piece's unit-norm rows when its boundary minimiser fails
#: the forward-pass check by round-off (:meth:`_Search.offer`): each adds at most ~tau to the radius
_INTERIOR_SHIFTS = (1e-14, 1e-13, 1e-12, 1e-11, 1e-10)
#: relative violation above which a lazily generated cut ``sum_B z_i <= s`` is added (round-off
#: level of the O(1) data; smaller violations are left to the outward scaling of the verification)
_CUT_TOL = 1e-13
#: cut-generation rounds per subproblem (each adds one cut per block; 2^|P_k| is the worst case;
#: on trained nets the first cut, B = P_k, is usually the only one)
_MAX_CUT_ROUNDS = 60
#: DAQP primal feasibility tolerance on unit-norm rows (default 1e-6 would leave radii 1e-6 off)
_DAQP_PRIMAL_TOL = 1e-12
#: relative allowance for round-off in the certificate's dot products (a few ulps per term)
_ROUNDOFF = 1e-13
#: a node's bounds -> fix -> relax loop repeats while the bound closes at least this fraction of
#: the remaining distance to the incumbent
_TIGHTEN_GAIN = 0.05
#: and at most this many times
_MAX_TIGHTEN = 8
#: aggregated cuts a node keeps for its bounds (the newest)
_KEEP_AGGREGATED = 4
#: incumbent heuristics of branch and bound (the all-active piece, polishing); tests switch them
#: off so that the tree alone must find the optimum
_HEURISTICS = True
#: factor applied to every node's certified bound (1: the certificate; tests plant a wrong one)
_NODE_BOUND_FACTOR = 1.0


class SubproblemFailure(RuntimeError):
    """A subproblem's solvers (DAQP or HiGHS, then Clarabel) all returned a non-solved status."""


# ---------------------------------------------------------------------------------------------
# norms and the certificate


def _dual_norm(G, norm):
    """``||g||_*`` of each row of ``G`` (L2 for L2, L1 for L-infinity)."""
    if norm == 2:
        return np.sqrt(np.einsum("...i,...i->...", G, G))
    return np.abs(G).sum(axis=-1)


def _norm(v, norm):
    return float(np.linalg.norm(v)) if norm == 2 else float(np.abs(v).max(initial=0.0))


def certificate_bound(C, h, lam, norm):
    """Weak-duality lower bound ``(-h^T lam) / ||C^T lam||_*`` on ``min ||v|| : C v <= h``.

    Valid for every ``lam >= 0`` (negative entries are clipped to 0): module docstring. A round-off
    allowance is taken off the numerator and added to the denominator, so the value returned is
    a bound for the exact data, not only for its floating-point evaluation.

    Parameters
    ----------
    C : ndarray, shape (r, p)
    h : ndarray, shape (r,)
    lam : ndarray, shape (r,)
    norm : {2, inf}

    Returns
    -------
    float
        ``>= 0``; ``inf`` for a Farkas certificate of an empty set.
    """
    lam = np.maximum(np.asarray(lam, dtype=float), 0.0)
    if lam.size == 0:
        return 0.0
    num = -float(h @ lam) - _ROUNDOFF * float(np.abs(h) @ lam)
    if not num > 0.0:
        return 0.0
    g = C.T @ lam
    den = float(_dual_norm(g, norm)) + _ROUNDOFF * float(_dual_norm(np.abs(C).T @ lam, norm))
    return math.inf if den == 0.0 else num / den


# ---------------------------------------------------------------------------------------------
# one subproblem: min ||v|| subject to C v <= h


def _normalise_rows(C, h, norm):
    """Rows scaled to unit dual norm; zero rows dropped (or a Farkas row if ``h < 0``)."""
    s = _dual_norm(C, norm)
    zero = s <= 1e-300
    if np.any(zero & (h < 0.0)):
        return None, None
    keep = ~zero
    return C[keep] / s[keep, None], h[keep] / s[keep]


def _solve_l2_daqp(C, h):
    import daqp

    p = C.shape[1]
    x, _, exitflag, info = daqp.solve(np.eye(p), np.zeros(p), C, h, np.full(h.size, -1e30),
                                      primal_tol=_DAQP_PRIMAL_TOL, eps_prox=0.0)
    # exitflag 1: optimal; -1 infeasible (DAQP then returns no certificate); anything else failed
    return exitflag, (np.asarray(x) if exitflag == 1 else None), (np.asarray(info["lam"]) if exitflag == 1 else None)


def _solve_clarabel(C, h, norm):
    """Fallback: Clarabel on ``min ||v||_2^2`` (QP) or ``min s, |v_j| <= s`` (LP).

    Returns ``(status, v, lam)``, ``status`` in {"solved", "infeasible", "failed"}; for an
    infeasible problem ``lam`` is Clarabel's Farkas certificate.
    """
    import clarabel
    import scipy.sparse as sp

    r, p = C.shape
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-10
    if norm == 2:
        P = sp.diags(np.full(p, 2.0), format="csc")
        G = sp.csc_matrix(C)
        solver = clarabel.DefaultSolver(P, np.zeros(p), G, h, [clarabel.NonnegativeConeT(r)], settings)
    else:
        I = sp.identity(p, format="csc")
        one = sp.csc_matrix(np.ones((p, 1)))
        G = sp.vstack([sp.hstack([sp.csc_matrix(C), sp.csc_matrix((r, 1))]),
                       sp.hstack([I, -one]), sp.hstack([-I, -one])], format="csc")
        q = np.zeros(p + 1)
        q[-1] = 1.0
        solver = clarabel.DefaultSolver(sp.csc_matrix((p + 1, p + 1)), q, G,
                                        np.concatenate([h, np.zeros(2 * p)]),
                                        [clarabel.NonnegativeConeT(r + 2 * p)], settings)
    sol = solver.solve()
    status = str(sol.status)
    z = np.asarray(sol.z)[:r]
    if status.endswith("PrimalInfeasible") and "Almost" not in status:
        return "infeasible", None, z
    if status.endswith("Solved") and "Almost" not in status:  # only "Solved": never AlmostSolved
        return "solved", np.asarray(sol.x)[:p], z
    return "failed", None, None


def _solve_linf_highs(C, h):
    """``min ||rho||_inf : C rho <= h`` as the LP ``max t : C omega - t h <= 0, |omega_j| <= 1``.

    With ``rho = omega / t`` the two are equivalent for ``t > 0`` (``||rho||_inf = 1/t`` at the
    optimum); the general rows are only the ``r`` cuts, the box is variable bounds (cheap for
    HiGHS's dual simplex), and ``t = 0`` is always feasible, so the LP is never infeasible: an
    empty piece shows as ``t* = 0`` with row multipliers ``lam`` that are a Farkas certificate
    (``C^T lam = 0``, ``-h^T lam >= 1``). The multipliers of the rows are those of the original
    problem up to a positive factor, to which :func:`certificate_bound` is invariant.
    """
    from scipy.optimize import linprog

    r, d = C.shape
    cost = np.zeros(d + 1)
    cost[d] = -1.0
    res = linprog(cost, A_ub=np.hstack([C, -h[:, None]]), b_ub=np.zeros(r),
                  bounds=np.column_stack([np.r_[np.full(d, -1.0), 0.0], np.r_[np.full(d, 1.0), np.inf]]),
                  method="highs",
                  options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        return "failed", None, None
    lam = -np.asarray(res.ineqlin.marginals)  # scipy: d obj / d b_ub <= 0 (for a minimisation)
    t = float(res.x[d])
    if t <= 1e-300:
        return "infeasible", None, lam
    return "solved", np.asarray(res.x[:d]) / t, lam


def solve_min_norm(C, h, norm, stats=None):
    """``min ||v||_norm`` subject to ``C v <= h``: minimiser, certified lower bound, multipliers.

    DAQP (L2) or HiGHS (L-infinity) first; any status but solved is retried with Clarabel; if that
    fails too, :class:`SubproblemFailure` is raised. A returned minimiser is checked against its
    constraints and against the certificate (``lower <= ||v||``) before it is accepted.

    Parameters
    ----------
    C : ndarray, shape (r, p)
    h : ndarray, shape (r,)
    norm : {2, inf}
    stats : dict, optional
        Counters ``"solves"`` and ``"retries"`` are incremented.

    Returns
    -------
    v : ndarray, shape (p,), or None
        ``None`` if the set is empty.
    lower : float
        Certified lower bound (``inf`` for an empty set).
    lam : ndarray, shape (r,) or None
        Multipliers of the (original, unnormalised) rows.
    """
    if stats is not None:
        stats["solves"] = stats.get("solves", 0) + 1
    p = C.shape[1]
    if C.shape[0] == 0:
        return np.zeros(p), 0.0, np.zeros(0)
    s = _dual_norm(C, norm)
    Cn, hn = _normalise_rows(C, h, norm)
    if Cn is None:
        return None, math.inf, None
    keep = s > 1e-300
    attempts = ("daqp", "clarabel") if norm == 2 else ("highs", "clarabel")
    for solver in attempts:
        if solver == "daqp":
            flag, v, lam_n = _solve_l2_daqp(Cn, hn)
            status = "solved" if flag == 1 else "failed"
        elif solver == "highs":
            status, v, lam_n = _solve_linf_highs(Cn, hn)
        else:
            if stats is not None:
                stats["retries"] = stats.get("retries", 0) + 1
            status, v, lam_n = _solve_clarabel(Cn, hn, norm)
        if status == "failed":
            continue
        lower = certificate_bound(Cn, hn, lam_n, norm)
        lam = np.zeros(C.shape[0])
        lam[keep] = np.maximum(lam_n, 0.0) / s[keep]
        if status == "infeasible":
            if lower == math.inf or lower > 0.0:
                return None, lower, lam
            continue  # an infeasibility claim without a usable certificate: retry
        viol = float(np.max(Cn @ v - hn, initial=0.0))
        nv = _norm(v, norm)
        # accept only a minimiser that is feasible and consistent with its own certificate
        if np.all(np.isfinite(v)) and viol <= 1e-8 * (1.0 + nv) and lower <= nv * (1 + 1e-7) + 1e-12:
            return v, lower, lam
    raise SubproblemFailure(f"min ||v||_{norm} over {C.shape[0]} cuts in {p} coordinates: "
                            "no solver returned a solved status")


# ---------------------------------------------------------------------------------------------
# pre-activation bounds inside the incumbent ball and one halfspace


def _min_mu_l1(B, g, h0, R):
    """``min_{mu >= 0} R ||b - mu g||_1 + mu h0`` for each row ``b`` of ``B`` (weighted median)."""
    nz = g != 0.0
    base = R * np.abs(B[:, ~nz]).sum(axis=1)
    Bz, gz = B[:, nz], g[nz]
    t = Bz / gz  # breakpoints mu_j = b_j / g_j, weights R |g_j|
    w = R * np.abs(gz)
    order = np.argsort(t, axis=1)
    ts = np.take_along_axis(t, order, axis=1)
    ws = w[order]
    # f'(mu) = h0 + sum_{t_j < mu} w_j - sum_{t_j > mu} w_j; the minimiser is the first breakpoint
    # (or 0) where the slope turns non-negative
    csum = np.cumsum(ws, axis=1)
    total = w.sum()
    slope_after = h0 + 2.0 * csum - total  # slope just right of ts[:, j]
    idx = np.argmax(slope_after >= 0.0, axis=1)
    mu = np.maximum(ts[np.arange(B.shape[0]), idx], 0.0)
    if h0 - total >= 0.0:  # slope already non-negative at -inf: mu = 0
        mu = np.zeros(B.shape[0])
    val = base + R * np.abs(Bz - mu[:, None] * gz).sum(axis=1) + mu * h0
    return np.minimum(val, R * np.abs(B).sum(axis=1))


def cap_upper_bounds(B, cuts, R, norm):
    """Upper bounds of ``<b, v>`` over ``{||v|| <= R} cap {<g, v> <= h0}`` for each cut, minimised.

    Parameters
    ----------
    B : ndarray, shape (n, p)
        Rows ``b``.
    cuts : list of (ndarray shape (p,), float)
        Halfspaces ``<g, v> <= h0``.
    R : float
    norm : {2, inf}

    Returns
    -------
    upper : ndarray, shape (n,)
        ``min`` over the cuts (and the plain ball) of ``min_mu R ||b - mu g||_* + mu h0``.
    empty : bool
        Whether some cut misses the ball entirely (``h0 < -R ||g||_*``): the set is empty.
    """
    best = R * _dual_norm(B, norm)
    for g, h0 in cuts:
        gn = float(_dual_norm(g, norm))
        if gn == 0.0:
            if h0 < 0.0:
                return best, True
            continue
        if h0 < -R * gn * (1.0 + 1e-12):
            return best, True
        if h0 >= R * gn:
            continue  # the halfspace contains the ball
        if norm == 2:
            u = g / gn
            beta = B @ u
            perp = np.sqrt(np.maximum((B * B).sum(axis=1) - beta * beta, 0.0))
            kappa = -h0 / (R * gn)  # in (-1, 1)
            mu = np.maximum(beta + kappa * perp / math.sqrt(max(1.0 - kappa * kappa, 1e-300)), 0.0)
            val = R * np.sqrt(perp * perp + (beta - mu) ** 2) + mu * (h0 / gn)
        else:
            val = _min_mu_l1(B, g, h0, R)
        best = np.minimum(best, val)
    return best, False


# ---------------------------------------------------------------------------------------------
# one point


class _Point:
    """The data of one point: pre-activations ``z(v) = A v + c``, families, blocks, flip check."""

    def __init__(self, A, c, blocks, families, norm, flips, stats, slope=0.0):
        self.A, self.c, self.blocks, self.families, self.norm = A, c, blocks, families, norm
        self.flips = flips  # v -> bool, exact forward pass of the network at x + lift(v)
        self.stats = stats
        self.ws = {}  # (family, block) -> list of boolean masks B over the block (lazy cuts)
        # the full block is the cut of the unperturbed pattern of trained nets; start with it
        self.block_A = [A[blk] for blk in blocks]
        self.block_c = [c[blk] for blk in blocks]
        # leaky ReLU (module docstring): lambda sum z over each block and over each family
        lin = float(slope) / (1.0 - float(slope))
        self.lin = lin
        self.block_lin_A = [lin * a.sum(axis=0) for a in self.block_A]
        self.block_lin_c = [lin * float(cc.sum()) for cc in self.block_c]
        self.fam_lin_A = [lin * A[fam].sum(axis=0) for fam in families]
        self.fam_lin_c = [lin * float(c[fam].sum()) for fam in families]

    def working_set(self, key, k):
        ws = self.ws.setdefault((key, k), [np.ones(self.blocks[k].size, dtype=bool)])
        return ws

    def solve_cuts(self, key, gamma, delta, extra_C, extra_h, stop_at=math.inf, margin=0.0):
        """``min ||v||`` over ``{sum_{P_k} ReLU(z_i) <= <gamma, v> + delta for all k} cap extra``.

        Lazy cut generation over the subsets ``B`` of each block (module docstring). Returns
        ``(v, lower, C, h, lam)`` of the last round; ``v`` is ``None`` if the set is empty. Stops
        early once ``lower >= stop_at``. ``margin > 0`` tightens every row by ``margin`` times its
        dual norm (every cut then holds with slack ``margin`` at unit scale).
        """
        norm = self.norm
        for _ in range(_MAX_CUT_ROUNDS):
            rows, rhs = [extra_C], [extra_h]
            for k in range(len(self.blocks)):
                ws = self.working_set(key, k)
                S = np.array(ws, dtype=float)  # (nB, |P_k|)
                rows.append(S @ self.block_A[k] + self.block_lin_A[k] - gamma)
                rhs.append(delta - S @ self.block_c[k] - self.block_lin_c[k])
            C = np.vstack(rows)
            h = np.concatenate(rhs)
            if margin:
                h = h - margin * _dual_norm(C, norm)
            v, lower, lam = solve_min_norm(C, h, norm, self.stats)
            if v is None or lower >= stop_at:
                return v, lower, C, h, lam
            s = float(gamma @ v + delta)
            added = False
            for k in range(len(self.blocks)):
                z = self.block_A[k] @ v + self.block_c[k]
                B = z > 0.0
                viol = float(z[B].sum()) + self.lin * float(z.sum()) - s
                if margin:
                    viol += margin * float(_dual_norm(self.block_A[k][B].sum(axis=0) + self.block_lin_A[k] - gamma,
                                                      norm))
                if viol > _CUT_TOL * (1.0 + abs(s) + float(np.abs(z).sum())):
                    ws = self.working_set(key, k)
                    if not any(np.array_equal(B, w) for w in ws):
                        ws.append(B)
                        added = True
            if not added:
                return v, lower, C, h, lam
        raise SubproblemFailure(f"cut generation did not converge in {_MAX_CUT_ROUNDS} rounds")

    def piece(self, f, active, stop_at=math.inf, margin=0.0):
        """The exact convex piece ``C_A`` of family ``f`` with ``A`` = ``active`` (boolean mask)."""
        fam = self.families[f]
        sel = fam[active]
        gamma = self.A[sel].sum(axis=0) + self.fam_lin_A[f]
        delta = float(self.c[sel].sum()) + self.fam_lin_c[f]
        p = self.A.shape[1]
        return self.solve_cuts(f, gamma, delta, np.zeros((0, p)), np.zeros(0), stop_at, margin)

    def verify(self, v):
        """Norm of the smallest outward scaling of ``v`` that flips the point, or ``None``."""
        for eps in CERTIFY_VERIFY_SCALES:
            if self.flips((1.0 + eps) * v):
                return (1.0 + eps) * v
        return None


class _Search:
    """Incumbent bookkeeping shared by enumeration and branch and bound."""

    def __init__(self, pt, gap, deadline):
        self.pt, self.gap, self.deadline = pt, gap, deadline
        self.best_norm = math.inf
        self.best_v = None
        self.polished = {}
        self.failed = 0  # failed subproblems the bracket depends on
        self.unresolved = math.inf  # smallest value of a closed piece whose minimiser failed the check
        self.closed = math.inf  # smallest bound of a closed branch-and-bound node
        self.heuristic_failures = 0  # failed subproblems of the incumbent heuristics

    @property
    def R(self):
        return self.best_norm

    def offer(self, v, resolve=None):
        """Verify ``v`` by forward passes; keep it if it flips and beats the incumbent.

        Returns whether the incumbent is now at most ``||v||`` (up to the outward scaling).
        ``v`` found on the boundary of a convex subset of the flip set may fail the check by
        round-off (``g = +1e-16``), and scaling it outward need not enter the set (a piece is not
        star-shaped). Then ``resolve(tau)`` re-solves that subset with every cut tightened by
        ``tau`` (:data:`_INTERIOR_SHIFTS`, times ``1 + ||v||``, relative to unit-norm rows): its
        minimiser is strictly inside and is checked instead.
        """
        if v is None:
            return False
        nv = _norm(v, self.pt.norm)
        if nv >= self.best_norm:
            return True  # the incumbent is already at least as good
        w = self.pt.verify(v)
        if w is None and resolve is not None:
            for tau in _INTERIOR_SHIFTS:
                try:
                    u = resolve(tau * (1.0 + nv))
                except SubproblemFailure:
                    self.heuristic_failures += 1
                    break
                if u is None:
                    break
                w = self.pt.verify(u)
                if w is not None:
                    break
        if w is not None:
            nw = _norm(w, self.pt.norm)
            if nw < self.best_norm:
                self.best_norm, self.best_v = nw, w
        return w is not None

    def polish(self, f, v, rounds=3):
        """Local search: solve the piece of the active set at ``v``, repeat while it changes."""
        if not _HEURISTICS:
            return
        pt = self.pt
        fam = pt.families[f]
        for _ in range(rounds):
            active = (pt.A[fam] @ v + pt.c[fam]) > 0.0
            key = (f, active.tobytes())
            if key in self.polished:
                return
            try:
                w, lower, C, h, _ = pt.piece(f, active, stop_at=self.best_norm)
            except SubproblemFailure:
                # a heuristic's piece: nothing of the certificate rests on it, so it is only
                # counted (the bracket comes from the tree); it is never accepted either
                self.heuristic_failures += 1
                return
            self.polished[key] = lower
            if w is None or lower >= self.best_norm:
                return
            self.offer(w, lambda tau, f=f, active=active: pt.piece(f, active, margin=tau)[0])
            v = w

    def out_of_time(self):
        return self.deadline is not None and time.perf_counter() > self.deadline


@functools.lru_cache(maxsize=32)
def _subsets(q):
    """All ``2^q`` subsets of ``q`` members as a boolean array, shape (2^q, q) (read-only, cached)."""
    S = ((np.arange(2 ** q)[:, None] >> np.arange(q)) & 1).astype(bool)
    S.flags.writeable = False
    return S


def _enumerate(pt, search):
    """Method ``"enumerate"``: every piece, bounded by one vectorised cut first (module docstring).

    Returns ``(lower, nodes)``.
    """
    norm = pt.norm
    bounds, fams, subsets = [], [], []
    for f, fam in enumerate(pt.families):
        S = _subsets(fam.size)
        Sf = S.astype(float)
        Af = Sf @ pt.A[fam] + pt.fam_lin_A[f]  # (2^q, p): sum_A a_r (+ lambda sum_N a_r, leaky)
        cf = Sf @ pt.c[fam] + pt.fam_lin_c[f]
        bound = np.zeros(S.shape[0])
        for k in range(len(pt.blocks)):
            row = pt.block_A[k].sum(axis=0) + pt.block_lin_A[k] - Af  # sum_{P_k} z_i <= sum_A z_r (+ affine)
            rhs = cf - pt.block_c[k].sum() - pt.block_lin_c[k]
            dn = _dual_norm(row, norm)
            with np.errstate(divide="ignore", invalid="ignore"):
                b = np.where(dn > 0, np.maximum(-rhs, 0.0) / dn, np.where(rhs < 0, np.inf, 0.0))
            bound = np.maximum(bound, b * (1.0 - 1e-12))  # the certificate with one row, less round-off
        bounds.append(bound)
        fams.append(np.full(S.shape[0], f))
        subsets.append(S)
    bound = np.concatenate(bounds)
    fam_of = np.concatenate(fams)
    offsets = np.cumsum([0] + [S.shape[0] for S in subsets])
    order = np.argsort(bound, kind="stable")
    lower = math.inf  # min over solved pieces of their certificates, and the first unsolved bound
    nodes = 0
    for i in order:
        cheap = float(bound[i])
        if cheap >= search.R * (1.0 - search.gap) or search.out_of_time():
            lower = min(lower, cheap)  # sorted: every later piece has at least this bound
            break
        f = int(fam_of[i])
        active = subsets[f][i - offsets[f]]
        nodes += 1
        try:
            v, piece_lower, C, h, _ = pt.piece(f, active, stop_at=search.R)
        except SubproblemFailure:
            search.failed += 1
            lower = min(lower, cheap)
            continue
        lower = min(lower, piece_lower)
        if v is not None and piece_lower < search.R:
            if not search.offer(v, lambda tau, f=f, active=active: pt.piece(f, active, margin=tau)[0]):
                search.unresolved = min(search.unresolved, piece_lower)
    return min(lower, search.R), nodes


class _Node:
    __slots__ = ("f", "state", "cuts", "lower", "branch_rows")

    def __init__(self, f, state, cuts, lower, branch_rows):
        self.f, self.state, self.cuts, self.lower, self.branch_rows = f, state, cuts, lower, branch_rows


def _process(pt, search, node, bound_hook):
    """Bound one node (loop bounds -> fix -> relax). Returns ``(lower, v, errors)`` or prunes.

    ``errors`` is the relaxation error of each family member at the relaxed minimiser (0 for fixed
    members), used for branching; ``v`` is ``None`` when the node is pruned or empty.
    """
    norm = pt.norm
    fam = pt.families[node.f]
    Bf, ef = pt.A[fam], pt.c[fam]
    state = node.state
    lower = node.lower
    v = None
    errors = None
    for _ in range(_MAX_TIGHTEN):
        R = search.R
        free = state < 0
        n_free = int(free.sum())
        cuts = node.branch_rows + node.cuts[-_KEEP_AGGREGATED:]
        u = np.full(fam.size, -np.inf)
        low = np.full(fam.size, np.inf)
        if free.any():
            up, empty = cap_upper_bounds(Bf[free], cuts, R, norm)
            dn, _ = cap_upper_bounds(-Bf[free], cuts, R, norm)
            if empty:
                return R, None, None
            u[free] = ef[free] + up
            low[free] = ef[free] - dn
            if bound_hook is not None:  # tests plant wrong bounds here
                low[free], u[free] = bound_hook(low[free], u[free])
            state = state.copy()
            state[free & (u <= 0.0)] = 0
            state[free & (low >= 0.0)] = 1
            free = state < 0
        on, off = state == 1, state == 0
        alpha = np.zeros(fam.size)
        beta = np.zeros(fam.size)
        alpha[on] = 1.0
        if free.any():
            alpha[free] = u[free] / (u[free] - low[free])
            beta[free] = -alpha[free] * low[free]
        gamma = alpha @ Bf + pt.fam_lin_A[node.f]
        delta = float(alpha @ ef + beta.sum()) + pt.fam_lin_c[node.f]
        extra_C = np.vstack([-Bf[on], Bf[off]])
        extra_h = np.concatenate([ef[on], -ef[off]])
        key = (node.f, "relax")
        v, new_lower, C, h, lam = pt.solve_cuts(key, gamma, delta, extra_C, extra_h,
                                                stop_at=R * (1.0 - search.gap))
        new_lower *= _NODE_BOUND_FACTOR
        node.state = state
        if v is None or new_lower >= R * (1.0 - search.gap):
            return max(lower, min(new_lower, R)), None, None
        gain = new_lower - lower
        lower = max(lower, new_lower)
        # the aggregated cut: a valid halfspace for the node's set inside the ball
        if lam is not None and np.any(lam > 0):
            node.cuts = node.cuts + [(C.T @ lam, float(h @ lam))]
        z = Bf @ v + ef
        if not free.any():  # a leaf: the relaxation is the exact piece restricted to the region
            resolve = lambda tau: pt.solve_cuts(key, gamma, delta, extra_C, extra_h, margin=tau)[0]  # noqa: E731
            if not search.offer(v, resolve) and lower < search.R:
                # its minimiser could not be verified: its value stays in the lower bound
                search.unresolved = min(search.unresolved, lower)
            return lower, None, None
        if _HEURISTICS:  # a relaxed minimiser that happens to flip is an incumbent too
            search.offer(v)
        search.polish(node.f, v)
        errors = np.where(free, alpha * z + beta - np.maximum(z, 0.0), 0.0)
        if lower >= search.R * (1.0 - search.gap):
            return lower, None, None
        if gain < _TIGHTEN_GAIN * (search.R - lower) and int(free.sum()) == n_free:
            break
    return lower, v, errors


def _branch_and_bound(pt, search, bound_hook=None):
    """Method ``"bnb"`` (module docstring). Returns ``(lower, nodes, complete)``."""
    heap = []
    counter = itertools.count()
    for f, fam in enumerate(pt.families):
        heapq.heappush(heap, (0.0, next(counter), _Node(f, np.full(fam.size, -1, dtype=np.int8), [], 0.0, [])))
    nodes = 0
    while heap:
        if heap[0][0] >= search.R * (1.0 - search.gap):
            break
        if search.out_of_time():
            return min(heap[0][0], search.R), nodes, False
        node_lower, _, node = heapq.heappop(heap)
        nodes += 1
        try:
            lower, v, errors = _process(pt, search, node, bound_hook)
        except SubproblemFailure:
            search.failed += 1
            heapq.heappush(heap, (node_lower, next(counter), node))
            return min(heap[0][0], search.R), nodes, False
        if v is None or lower >= search.R * (1.0 - search.gap):
            # closed (leaf, pruned within the gap, or empty in the ball): its bound stays in the
            # global lower bound while it is below the incumbent, so the gap reported is honest
            search.closed = min(search.closed, lower)
            continue
        r = int(np.argmax(errors))
        fam = pt.families[node.f]
        b, e = pt.A[fam[r]], float(pt.c[fam[r]])
        for s, row in ((1, (-b, e)), (0, (b, -e))):
            st = node.state.copy()
            st[r] = s
            heapq.heappush(heap, (lower, next(counter), _Node(node.f, st, list(node.cuts), lower,
                                                                node.branch_rows + [row])))
    lower = min(heap[0][0], search.R) if heap else search.R
    return lower, nodes, True


def certify_point(A, c, blocks, families, norm, flips, *, gap, time_budget, method, bound_hook=None, slope=0.0):
    """Bracket ``[lower, upper]`` of one point's radius (module docstring).

    Parameters
    ----------
    A : ndarray, shape (M, p)
        Pre-activations are ``A v + c`` in the solve coordinates ``v``.
    c : ndarray, shape (M,)
    blocks, families : list of int ndarray
        Own-neuron blocks and opposing families (module docstring).
    norm : {2, inf}
    flips : callable
        ``v -> bool``: does ``x + lift(v)`` flip, by a forward pass of the network.
    gap : float
    time_budget : float or None
        Seconds.
    method : {"enumerate", "bnb"}
    bound_hook : callable, optional
        ``(lower, upper) -> (lower, upper)`` applied to every free neuron's pre-activation bounds
        (for tests that plant a wrong bound).
    slope : float
        ``a`` of a leaky ReLU ``a z + (1 - a) ReLU(z)``, ``0 <= a < 1`` (0: ReLU; module docstring).

    Returns
    -------
    dict
        ``lower``, ``upper``, ``v`` (the verified flipping perturbation in solve coordinates, or
        ``None``), ``status``, ``nodes``, ``subproblems``, ``failed``.
    """
    stats = {}
    deadline = None if time_budget is None else time.perf_counter() + time_budget
    pt = _Point(A, c, blocks, families, norm, flips, stats, slope)
    search = _Search(pt, gap, deadline)
    status = "solved"
    if method == "enumerate":
        lower, nodes = _enumerate(pt, search)
        complete = not search.out_of_time()
    else:
        # incumbent: the all-active and the all-inactive pieces of every family, polished
        for f, fam in enumerate(pt.families):
            starts = (np.ones(fam.size, dtype=bool), np.zeros(fam.size, dtype=bool))
            for active in starts if _HEURISTICS else starts[1:]:
                try:
                    v, _, C, h, _ = pt.piece(f, active, stop_at=search.R)
                except SubproblemFailure:
                    search.heuristic_failures += 1
                    continue
                if v is not None:
                    search.offer(v, lambda tau, f=f, active=active: pt.piece(f, active, margin=tau)[0])
                    search.polish(f, v)
        if not math.isfinite(search.R):
            # no flipping piece among the heuristics: without an incumbent ball there are no
            # pre-activation bounds; enumerate (exact, possibly slow) when that is affordable
            lower, nodes = _enumerate(pt, search)
            complete = not search.out_of_time()
        else:
            lower, nodes, complete = _branch_and_bound(pt, search, bound_hook)
    upper = search.R
    lower = min(lower, search.unresolved, search.closed)
    if search.failed:
        status = "failed"
    elif not complete:
        status = "budget"
    lower = min(lower, upper)
    return {"lower": lower, "upper": upper, "v": search.best_v, "status": status, "nodes": nodes,
            "subproblems": stats.get("solves", 0), "failed": search.failed,
            "heuristic_failures": search.heuristic_failures, "retries": stats.get("retries", 0)}


def validate_norm(norm):
    """``2`` or ``inf`` (also accepted: ``"2"``, ``"inf"``, ``float("inf")``)."""
    if isinstance(norm, str):
        norm = {"2": 2, "inf": math.inf, "l2": 2, "linf": math.inf}.get(norm.lower(), norm)
    if not isinstance(norm, (int, float)) or isinstance(norm, bool) or norm not in (2, math.inf):
        raise InvalidParameter("norm", norm, "2 or inf (L2 or L-infinity)")
    return 2 if norm == 2 else math.inf
