r"""Certified minimal adversarial radius of ReLU^p networks (issue 18), L2 or L-infinity.

With ``phi(z) = ReLU(z)^p`` (``p > 1``) the flip condition of :mod:`._certify` becomes

    exists a family N:  for every block P_k:  sum_{P_k} phi(z_i(v)) <= sum_N phi(z_r(v)),     z(v) = A v + c,

a convex function below another convex function. The right side is no longer a maximum of
finitely many affine functions, so the pieces of :mod:`._certify` do not exist; what is exact
depends on the net.

Exact: single distinct neurons (:func:`collapse`). If every block and every family consists of
identical neurons (rows of ``(A, c)`` equal), say ``n`` copies of ``z``, then
``sum phi(z_i) = n phi(z) = phi(n^{1/p} z)`` (``phi`` is ``p``-homogeneous on ``z >= 0`` and 0
below), and ``phi(u) <= phi(w)`` iff ``ReLU(u) <= ReLU(w)`` (``phi`` is strictly increasing on
``[0, inf)``). The flip set is then *exactly* that of the ReLU net whose rows are scaled by
``n^{1/p}``, one neuron per block and family, and :func:`._certify.certify_point` certifies it as
for ReLU. This covers the idealised averaging net with ``m`` identical neurons per sign (C3's, at
every ``p``), binary nets with ``m = 1`` and multi-class nets with ``h = 1`` under the ``argmax``
readout.

Certified bracket otherwise: spatial branch and bound (:func:`certify_power_point`). A node
fixes a family ``N`` and an interval ``[lo_r, hi_r]`` for each of its pre-activations (branching
constraints ``lo_r <= z_r(v) <= hi_r``, linear). Inside the incumbent ball ``||v|| <= R`` the
pre-activations also lie in the cap bounds ``[l_r, u_r]`` of :func:`._certify.cap_upper_bounds`;
on ``[L_r, U_r] = [max(lo_r, l_r), min(hi_r, u_r)]`` the convex ``phi`` lies below its chord,

    phi(z) <= phi(L) + (phi(U) - phi(L)) (z - L)/(U - L),

so the right side is bounded above by an affine function ``s(v) = <gamma, v> + delta`` (a safety of
a few ulps of ``phi(U)`` is added to ``delta``). The relaxed flip condition of a block,
``sum_{P_k} phi(z_i) <= s``, is taken to the power ``1/p``:

    || ReLU(z_{P_k}(v)) ||_p  <=  s(v)^{1/p}      (and s(v) >= 0),

a convex function below a concave one, so the relaxed set is convex, and both sides are
1-homogeneous in ``z`` (the flat start of ``phi`` near 0 would make tangents of ``phi`` itself
converge only geometrically to a switch-off constraint ``z_i <= 0``, measured: 40 cuts for 8e-4
relative). Both sides are linearised the valid way round: ``||y||_p >= w.y >= sum_{i in B} w_i z_i``
for ``w >= 0`` with ``||w||_q <= 1`` (Hoelder) and any ``B``; ``s^{1/p} <= l^{1/p} + (s - l) l^{1/p-1}/p``
for any ``l > 0`` (concavity). Each cut

    sum_{i in B} w_i z_i(v) - kappa s(v) <= (1 - 1/p) l^{1/p},    kappa = l^{1/p - 1}/p,

is therefore implied by the flip condition on the node; cuts are generated lazily at the current
minimiser (``y = ReLU(z(v))``, ``w = y^{p-1}/||y||_p^{p-1}``, ``B = {y > 0}``, ``l = ||y||_p^p``:
the supporting hyperplanes at the point where the two sides would meet, Kelley's cutting-plane
method) and kept, as pairs ``(w, l)``, for every node (they do not depend on the node's ``s``). The
node relaxation is therefore ``min ||v||`` over linear inequalities, solved by
:func:`._certify.solve_min_norm` with its weak-duality certificate: a lower bound on the radius
over the node's part of the ball. Branching splits the family member with the largest chord
error at the relaxed minimiser, at 0 when its interval contains 0 (one child is then exact,
``phi = 0``), else at its value there (which removes the minimiser from both children). The
upper end of the bracket is the norm of a perturbation that flips the point under the network's
own forward pass: the first flip on the ray through each relaxed minimiser (grid of
:data:`RAY_POINTS` scales, then bisection), and, to start, on the rays of the gradient of each
family's margin at the clean point. The search stops at the requested gap, at the time budget,
or after :data:`MAX_NODES` nodes (``status = "budget"``, the gap reported). The bracket is
certified; its width depends on the budget. Measured on this machine (shared, 2 cores): binary
nets trained at the paper's setting with the ``relu_p`` defaults (m = 5, rank 10), 20 test points
each, every point to gap 1e-6: 0.35 s per point at p = 2 (median 259 nodes, at most 519), 0.25 s
at p = 3 (208, 465), 0.10 s at p = 4 (84, 239); gap 1e-4 costs 0.22, 0.23 and 0.09 s. Known hard
case, as for ReLU (:mod:`._certify`): many symmetric near-optimal patterns, e.g. the decoupled
one-neuron-per-feature net at p = 2, where every support of raised features costs the same
(K = 3: 4000 nodes, budget, bracket [14.1355, 14.1421] after 55 s; at p = 1.5, 3, 4 it closes in
0.8-1.5 s). Tests: ``tests/test_activations.py`` (brackets against a dense ray search, the
collapse against ReLU radii, trained nets against PGD).
"""

import heapq
import itertools
import math
import time

import numpy as np

from ._certify import (CERTIFY_VERIFY_SCALES, SubproblemFailure, _dual_norm, _norm, cap_upper_bounds,
                       solve_min_norm)

__all__ = ["collapse", "certify_power_point", "MAX_NODES", "RAY_POINTS"]

#: nodes explored per point before the search stops with ``status = "budget"``
MAX_NODES = 4000
#: scales on a ray at which the first flip is looked for (then bisection)
RAY_POINTS = 64
#: cut-generation rounds per node relaxation (each adds one tangent cut per violated block)
_MAX_CUT_ROUNDS = 80
#: relative violation below which a tangent cut is not added (round-off of the O(1) data is ~1e-15;
#: a looser tolerance only loosens the bound, which stays valid)
_CUT_TOL = 1e-11
#: tangent points kept per block (the first, at the clean point, always; then the newest): the pool
#: is shared by every node, so it would otherwise grow with the tree (measured: 772 cuts in 2
#: dimensions after 55 nodes made DAQP and Clarabel fail on near-parallel rows)
_MAX_TANGENTS = 48
#: shifts tau (times 1 + |s|) of a leaf's flip constraint when its minimiser fails the forward-pass
#: check by round-off: the re-solved minimiser lies strictly inside the relaxation, which is exact
#: there to the chord error
_INTERIOR_SHIFTS = (1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8)
#: aggregated cuts a node keeps for its cap bounds (the newest)
_KEEP_AGGREGATED = 4
#: float64 unit round-off
_EPS = float(np.finfo(float).eps)


def collapse(A, c, blocks, families, p, identity=None):
    """The equivalent ReLU problem when every block and family is one distinct neuron, else ``None``.

    Parameters
    ----------
    A : ndarray, shape (M, q)
    c : ndarray, shape (M,)
    blocks, families : list of int ndarray
    p : float
    identity : (ndarray (M, d), ndarray (M,)), optional
        The network's own ``(W, b)``, on which "identical neurons" is decided (exact equality):
        ``A = W Q`` in the span coordinates differs between identical neurons by round-off.

    Returns
    -------
    (A', c', blocks', families') or None
        One row per block, then one per family, each scaled by ``count^(1/p)`` (module docstring).
    """
    groups = list(blocks) + list(families)
    W, b = identity if identity is not None else (A, c)
    rows, offs = [], []
    for g in groups:
        if not (np.all(W[g] == W[g][0]) and np.all(b[g] == b[g][0])):
            return None
        Ag, cg = A[g], c[g]
        s = float(len(g)) ** (1.0 / p)
        rows.append(s * Ag[0])
        offs.append(s * cg[0])
    nb = len(blocks)
    return (np.array(rows), np.array(offs), [np.array([i]) for i in range(nb)],
            [np.array([nb + j]) for j in range(len(families))])


class _Power:
    """One point: pre-activations ``A v + c``, blocks, families, ``phi = ReLU^p``."""

    def __init__(self, A, c, blocks, families, p, norm, flips, stats):
        self.A, self.c, self.blocks, self.families, self.p, self.norm = A, c, blocks, families, p, norm
        self.flips, self.stats = flips, stats
        # cut pairs (w, l) per block (lazy cuts, module docstring), as arrays: rows w, values l
        self.cut_w = [np.zeros((0, b.size)) for b in blocks]
        self.cut_l = [np.zeros(0) for _ in blocks]
        for k, b in enumerate(blocks):
            self._add_cut(k, np.maximum(c[b], 0.0))

    def _add_cut(self, k, y):
        """Add the cut of block ``k`` at ``y = ReLU(z) >= 0`` (module docstring); False if ``y = 0``
        or a cut at the same point exists."""
        Y = float(np.sum(y ** self.p)) ** (1.0 / self.p)
        if not Y > 0.0:
            return False
        w, l = (y / Y) ** (self.p - 1.0), Y ** self.p
        Wk, lk = self.cut_w[k], self.cut_l[k]
        if lk.size and np.any(np.all(np.abs(Wk - w) <= 1e-13 + 1e-10 * np.abs(w), axis=1) & (np.abs(lk - l) <= 1e-10 * l)):
            return False
        if lk.size >= _MAX_TANGENTS:  # keep the first (the clean point's), drop the oldest of the rest
            Wk, lk = np.delete(Wk, 1, axis=0), np.delete(lk, 1)
        self.cut_w[k], self.cut_l[k] = np.vstack([Wk, w]), np.append(lk, l)
        return True

    def phi(self, z):
        return np.maximum(z, 0.0) ** self.p

    def dphi(self, z):
        return self.p * np.maximum(z, 0.0) ** (self.p - 1.0)

    def margin_from_z(self, Z):
        """``max_N min_k [sum_N phi - sum_{P_k} phi]`` per row of ``Z`` (flip iff ``>= 0``)."""
        P = self.phi(Z)
        own = np.stack([P[:, b].sum(axis=1) for b in self.blocks], axis=1)
        opp = np.stack([P[:, f].sum(axis=1) for f in self.families], axis=1)
        return (opp - own.max(axis=1, keepdims=True)).max(axis=1)

    def verify(self, v):
        """The smallest outward scaling of ``v`` that flips under the network's forward pass, or None."""
        for eps in CERTIFY_VERIFY_SCALES:
            if self.flips((1.0 + eps) * v):
                return (1.0 + eps) * v
        return None

    def repair(self, f, v, rounds=8):
        """Newton steps from ``v`` onto the flip set of family ``f`` (then verified), or ``None``.

        A relaxed minimiser that the chords make exact still misses the flip set by round-off or by
        the cut tolerance; each step moves ``v`` against the gradient of the largest violation
        ``||ReLU(z_{P_k})||_p - (sum_N phi(z_r))^{1/p}`` by that violation (plus a margin of
        ``1e-12`` relative), the 1-homogeneous form of the module docstring, in which a switch-off
        constraint is met in one step. Only the verified result is used (an upper bound).
        """
        fam, p = self.families[f], self.p
        for _ in range(rounds):
            w = self.verify(v)
            if w is not None:
                return w
            zf = self.A[fam] @ v + self.c[fam]
            S = float(self.phi(zf).sum())
            rhs = S ** (1.0 / p)
            if S == 0.0:  # the family is off: every own neuron must be off, a linear system
                own = np.concatenate(self.blocks)
                z = self.A[own] @ v + self.c[own]
                on = z > -1e-12 * (1.0 + np.abs(self.c[own]))
                if not on.any():
                    return None
                Ab = self.A[own][on]
                v = v - np.linalg.pinv(Ab) @ (z[on] + 1e-12 * (1.0 + np.abs(self.c[own][on])))
                continue
            worst, g = -math.inf, None
            for b in self.blocks:
                y = np.maximum(self.A[b] @ v + self.c[b], 0.0)
                Y = float(np.sum(y ** p)) ** (1.0 / p)
                if Y - rhs > worst:
                    worst = Y - rhs
                    gy = ((y / Y) ** (p - 1.0)) @ self.A[b] if Y > 0 else np.zeros(v.size)
                    gs = (S ** (1.0 / p - 1.0) / p) * (self.dphi(zf) @ self.A[fam]) if S > 0 else np.zeros(v.size)
                    g = gy - gs
            gg = float(g @ g) if g is not None else 0.0
            if not gg > 0.0:
                return None
            step = max(worst, 0.0) + 1e-12 * (1.0 + rhs)
            v = v - (step / gg) * g
        return self.verify(v)

    def ray(self, u, t_hi, t_lo=0.0):
        """First flip on ``t u``, ``t in (t_lo, t_hi]`` (``u`` unit), verified; ``None`` if none seen."""
        if not t_hi > t_lo or not np.all(np.isfinite(u)):
            return None
        Au = self.A @ u
        ts = np.linspace(t_lo, t_hi, RAY_POINTS + 1)[1:]
        hit = np.flatnonzero(self.margin_from_z(self.c + ts[:, None] * Au) >= 0.0)
        if hit.size == 0:
            return None
        hi = ts[hit[0]]
        lo = ts[hit[0] - 1] if hit[0] > 0 else t_lo
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if self.margin_from_z((self.c + mid * Au)[None, :])[0] >= 0.0:
                hi = mid
            else:
                lo = mid
            if hi - lo <= 1e-15 * hi:
                break
        return self.verify(hi * u)

    def relax(self, f, gamma, delta, extra_C, extra_h, stop_at):
        """``min ||v||`` over the tangent cuts of every block against ``<gamma, v> + delta`` and the
        extra rows; cut generation as in the module docstring. Returns ``(v, lower, C, h, lam)``."""
        norm, p = self.norm, self.p
        for _ in range(_MAX_CUT_ROUNDS):
            rows, rhs = [extra_C, -gamma[None, :]], [extra_h, np.array([delta])]  # s(v) >= 0
            for k, b in enumerate(self.blocks):
                Wk, lk = self.cut_w[k], self.cut_l[k]  # w = 0 off the cut's support B
                kappa = lk ** (1.0 / p - 1.0) / p
                rows.append(Wk @ self.A[b] - kappa[:, None] * gamma)
                rhs.append((1.0 - 1.0 / p) * lk ** (1.0 / p) + kappa * delta - Wk @ self.c[b])
            C = np.vstack(rows)
            h = np.concatenate(rhs)
            v, lower, lam = solve_min_norm(C, h, norm, self.stats)
            if v is None or lower >= stop_at:
                return v, lower, C, h, lam
            s = max(float(gamma @ v + delta), 0.0) ** (1.0 / p)
            added = False
            for k, b in enumerate(self.blocks):
                y = np.maximum(self.A[b] @ v + self.c[b], 0.0)
                Y = float(np.sum(y ** p)) ** (1.0 / p)
                if Y - s > _CUT_TOL * (1.0 + Y + float(np.abs(self.c[b]).max(initial=0.0))):
                    added |= self._add_cut(k, y)
            if not added:
                return v, lower, C, h, lam
        return v, lower, C, h, lam  # the bound is valid (an outer approximation), only looser


class _Node:
    __slots__ = ("f", "lo", "hi", "rows", "cuts", "lower")

    def __init__(self, f, lo, hi, rows, cuts, lower):
        self.f, self.lo, self.hi, self.rows, self.cuts, self.lower = f, lo, hi, rows, cuts, lower


def _chords(pt, L, U):
    """``alpha, beta`` with ``phi(z) <= alpha z + beta`` on ``[L, U]`` (per member; module docstring)."""
    alpha = np.zeros(L.size)
    beta = np.zeros(L.size)
    on = U > 0.0
    w = U - L
    pL, pU = pt.phi(L), pt.phi(U)
    wide = on & (w > 1e-12 * (1.0 + np.abs(U)))
    alpha[wide] = (pU[wide] - pL[wide]) / w[wide]
    beta[wide] = pL[wide] - alpha[wide] * L[wide]
    thin = on & ~wide  # a pinned pre-activation: phi(z) <= phi(U), phi increasing
    beta[thin] = pU[thin]
    beta[on] += 8.0 * _EPS * (np.abs(pL[on]) + np.abs(pU[on]) + np.abs(alpha[on] * L[on]))
    return alpha, beta


def certify_power_point(A, c, blocks, families, p, norm, flips, *, gap, time_budget, max_nodes=MAX_NODES):
    """Certified bracket of one point's radius for a ReLU^p net by spatial branch and bound.

    Parameters
    ----------
    A : ndarray, shape (M, q)
        Pre-activations ``A v + c`` in the solve coordinates.
    c : ndarray, shape (M,)
    blocks, families : list of int ndarray
        As in :func:`._certify.certify_point`.
    p : float
        The power, ``p > 1``.
    norm : {2, inf}
    flips : callable ``v -> bool``
        The network's own forward pass at ``x + lift(v)``.
    gap, time_budget : float, float or None
    max_nodes : int

    Returns
    -------
    dict
        As :func:`._certify.certify_point`: ``lower``, ``upper``, ``v``, ``status``, ``nodes``,
        ``subproblems``, ``failed``.
    """
    stats = {}
    deadline = None if time_budget is None else time.perf_counter() + time_budget
    pt = _Power(A, c, blocks, families, float(p), norm, flips, stats)
    best = {"R": math.inf, "v": None}

    def offer(w):
        if w is not None:
            nw = _norm(w, norm)
            if nw < best["R"]:
                best["R"], best["v"] = nw, w

    # incumbent: the first flip on the gradient ray of each family's margin against its binding block
    scale = 1.0 + float(np.abs(c).max(initial=0.0)) / max(float(np.abs(A).max(initial=0.0)), 1e-300)
    P0 = pt.phi(c)
    own0 = [float(P0[b].sum()) for b in blocks]
    kmax = int(np.argmax(own0))
    for f in families:
        g = pt.dphi(c[f]) @ A[f] - pt.dphi(c[blocks[kmax]]) @ A[blocks[kmax]]
        gn = float(_dual_norm(g, 2))
        for u in ((g / gn,) if gn > 0 else ()) + tuple(A[f] / np.maximum(_dual_norm(A[f], 2), 1e-300)[:, None]):
            if norm != 2:
                u = np.sign(u) if np.any(u) else u  # the L-infinity ascent direction of a linear form
                u = u / max(float(np.abs(u).max(initial=0.0)), 1e-300)
            hi = 4.0 * scale * (1.0 + float(np.linalg.norm(u) if norm == 2 else 1.0))
            for _ in range(12):
                w = pt.ray(u, hi)
                if w is not None:
                    offer(w)
                    break
                hi *= 2.0
    # without an incumbent the search still runs, in a large ball: its bounds then hold for every
    # perturbation of norm below R_big, and a relaxed minimiser that flips becomes the incumbent
    row_norm = float(np.min(_dual_norm(A, 2))) if A.shape[0] else 1.0
    R_big = 1e3 * (1.0 + float(np.abs(c).max(initial=0.0))) / max(row_norm, 1e-300)
    if not math.isfinite(best["R"]):
        best["R"] = R_big

    counter = itertools.count()
    heap = []
    for fi, f in enumerate(families):
        heapq.heappush(heap, (0.0, next(counter), _Node(fi, np.full(f.size, -np.inf), np.full(f.size, np.inf), [], [], 0.0)))
    nodes, failed, closed = 0, 0, math.inf
    status = "solved"
    while heap:
        R = best["R"]
        if heap[0][0] >= R * (1.0 - gap):
            break
        if nodes >= max_nodes or (deadline is not None and time.perf_counter() > deadline):
            status = "budget"
            break
        node_lower, _, node = heapq.heappop(heap)
        nodes += 1
        fam = families[node.f]
        Af, cf = A[fam], c[fam]
        cuts = node.rows + node.cuts[-_KEEP_AGGREGATED:]
        up, empty = cap_upper_bounds(Af, cuts, R, norm)
        dn, _ = cap_upper_bounds(-Af, cuts, R, norm)
        if empty:
            closed = min(closed, R)
            continue
        Lr = np.maximum(node.lo, cf - dn)
        Ur = np.minimum(node.hi, cf + up)
        if np.any(Lr > Ur + 1e-12 * (1.0 + np.abs(Ur))):
            continue  # the node's intervals miss the ball: nothing below R in it
        Ur = np.maximum(Ur, Lr)
        alpha, beta = _chords(pt, Lr, Ur)
        gamma, delta = alpha @ Af, float(alpha @ cf + beta.sum())
        if node.rows:
            extra_C = np.array([g for g, _ in node.rows])
            extra_h = np.array([h0 for _, h0 in node.rows])
        else:
            extra_C, extra_h = np.zeros((0, A.shape[1])), np.zeros(0)
        try:
            v, lower, C, h, lam = pt.relax(node.f, gamma, delta, extra_C, extra_h, R * (1.0 - gap))
        except SubproblemFailure:
            failed += 1
            closed = min(closed, node_lower)
            continue
        lower = max(lower, node_lower)
        if v is None or lower >= R * (1.0 - gap):
            closed = min(closed, min(lower, R))
            continue
        if lam is not None and np.any(lam > 0):
            node.cuts = node.cuts + [(C.T @ lam, float(h @ lam))]
        nv = _norm(v, norm)
        if nv > 0:
            offer(pt.repair(node.f, v))
            offer(pt.ray(v / nv, best["R"], t_lo=0.0))
        z = Af @ v + cf
        err = alpha * z + beta - pt.phi(z)  # >= 0: ||v|| < R puts z inside the cap bounds
        r = int(np.argmax(err))
        if not err[r] > 1e-13 * (1.0 + float(np.abs(pt.phi(z)).sum())):
            # the relaxation is exact at its minimiser: a leaf. Its minimiser may miss the flip set
            # by round-off; re-solve with the flip constraint tightened (strictly inside)
            if best["v"] is None or _norm(best["v"], norm) > nv * (1.0 + gap):
                sc = 1.0 + abs(float(gamma @ v + delta))
                for tau in _INTERIOR_SHIFTS:
                    try:
                        u = pt.relax(node.f, gamma, delta - tau * sc, extra_C, extra_h, math.inf)[0]
                    except SubproblemFailure:
                        break
                    w = None if u is None else pt.verify(u)
                    if w is not None:
                        offer(w)
                        break
            closed = min(closed, lower)
            continue
        w_r = Ur[r] - Lr[r]
        t = 0.0 if Lr[r] < 0.0 < Ur[r] else float(np.clip(z[r], Lr[r] + 0.05 * w_r, Ur[r] - 0.05 * w_r))
        a_r, c_r = Af[r], float(cf[r])
        for lo_t, hi_t, row in ((Lr[r], t, (a_r, t - c_r)), (t, Ur[r], (-a_r, c_r - t))):
            lo, hi = node.lo.copy(), node.hi.copy()
            lo[r], hi[r] = max(lo[r], lo_t), min(hi[r], hi_t)
            heapq.heappush(heap, (lower, next(counter), _Node(node.f, lo, hi, node.rows + [row], list(node.cuts), lower)))
    R = best["R"]
    lower = min(heap[0][0], R) if heap else R
    lower = min(lower, closed, R)
    upper = R if best["v"] is not None else math.inf
    if failed:
        status = "failed"
    elif status == "solved" and not (upper == 0.0 or (upper - lower) <= gap * upper):
        status = "failed"  # the tree closed below an incumbent it could not verify: bracket open
    return {"lower": lower, "upper": upper, "v": best["v"], "status": status, "nodes": nodes,
            "subproblems": stats.get("solves", 0), "failed": failed}
