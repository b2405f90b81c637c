"""Independent oracles for the exact radius: activation-region enumeration, closed-form polyhedra.

Neither uses an optimiser. The network is affine on each of its ``2^M`` closed activation regions,
so the flip set inside a region is a polyhedron ``{v : G v <= h}``; the radius is the minimum over
regions of the polyhedron's distance to the origin:

- L2: the minimiser is the least-norm solution of its active constraints (KKT: it lies in the span
  of their normals), so the minimum over all subsets ``T`` of at most ``d`` rows of the feasible
  least-norm points ``pinv(G_T) h_T`` is exact;
- L-infinity: ``min t`` over ``{G v <= h, -t <= v_i <= t}`` is an LP over a pointed polyhedron in
  ``(v, t)`` (``t >= |v_i|`` excludes lines), so it is attained at a vertex: the minimum of ``t``
  over every feasible solution of ``d + 1`` linearly independent rows solved as equalities.
"""

import itertools

import numpy as np

#: a candidate is feasible if it violates no inequality by more than this; the data are O(1), so
#: this is round-off level and the error it admits (~1e-9) is far below the tests' 1e-6
FEAS_TOL = 1e-9


def min_norm_polyhedron_l2(G, h):
    """``min ||v||_2`` over ``{v : G v <= h}`` (``inf`` if empty), by subset enumeration."""
    d = G.shape[1]
    best = np.inf if np.any(h < -FEAS_TOL) else 0.0  # v = 0 (the empty subset)
    for size in range(1, d + 1):
        T = np.array(list(itertools.combinations(range(G.shape[0]), size)))
        GT, hT = G[T], h[T]  # (C, size, d), (C, size)
        V = np.einsum("cds,cs->cd", np.linalg.pinv(GT), hT)
        consistent = np.max(np.abs(np.einsum("csd,cd->cs", GT, V) - hT), axis=1) <= FEAS_TOL
        feasible = np.all(V @ G.T <= h + FEAS_TOL, axis=1)
        ok = consistent & feasible
        if ok.any():
            best = min(best, float(np.linalg.norm(V[ok], axis=1).min()))
    return best


def min_norm_polyhedron_linf(G, h):
    """``min ||v||_inf`` over ``{v : G v <= h}`` (``inf`` if empty), by vertex enumeration."""
    r, d = G.shape
    if np.all(h >= -FEAS_TOL):
        return 0.0
    # rows over (v, t): G v <= h;  v_i - t <= 0;  -v_i - t <= 0
    E = np.vstack([np.hstack([G, np.zeros((r, 1))]),
                   np.hstack([np.eye(d), -np.ones((d, 1))]),
                   np.hstack([-np.eye(d), -np.ones((d, 1))])])
    f = np.concatenate([h, np.zeros(2 * d)])
    T = np.array(list(itertools.combinations(range(E.shape[0]), d + 1)))
    ET, fT = E[T], f[T]
    det = np.linalg.det(ET)
    ok = np.abs(det) > 1e-12
    if not ok.any():
        return np.inf
    Z = np.linalg.solve(ET[ok], fT[ok][..., None])[..., 0]  # (C, d + 1)
    feasible = np.all(Z @ E.T <= f + FEAS_TOL, axis=1)
    return float(Z[feasible, -1].min()) if feasible.any() else np.inf


def brute_force_radius(net, x, y, cluster_labels=None, readout="argmax", norm=2):
    """Exact radius by enumeration of activation regions (module docstring)."""
    solve = min_norm_polyhedron_l2 if norm == 2 else min_norm_polyhedron_linf
    W, b = net.W, net.b
    M = W.shape[0]
    z0 = W @ x + b
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=M):
        S = np.array(pattern, dtype=bool)
        # region: z_r(v) >= 0 on S, <= 0 off S, with z_r(v) = <w_r, v> + z0_r
        G = np.where(S[:, None], -W, W)
        h = np.where(S, z0, -z0)
        Wa = W * S[:, None]
        za = z0 * S
        if net.kind == "binary":
            a = net.second_layer
            systems = [[(y * (a @ Wa))[None, :], np.array([-y * (a @ za)])]]
        else:
            H, k = net.h, net.k
            Fw = Wa.reshape(k, H, -1).sum(axis=1) / H  # f_j(v) = Fw_j . v + Fc_j in this region
            Fc = za.reshape(k, H).sum(axis=1) / H
            labels = np.asarray(cluster_labels)
            own, other = np.flatnonzero(labels == y), np.flatnonzero(labels != y)
            if readout == "sum":
                c = np.where(labels > 0, 1.0, -1.0)
                systems = [[(y * (c @ Fw))[None, :], np.array([-y * (c @ Fc)])]]
            else:  # some j' in the other class with f_j <= f_j' for every own j
                systems = [[Fw[own] - Fw[jp], Fc[jp] - Fc[own]] for jp in other]
        for Gf, hf in systems:
            best = min(best, solve(np.vstack([G, Gf]), np.concatenate([h, hf])))
    return best
