"""Certified radii at any width (issue 17): points/second, gaps and the speed-up over the old path.

Run: ``python benchmarks/bench_certified.py [--quick] [--json]``. Trains binary networks at the
paper's setting (``run_simulation(Config(m=m))``: k=10, d=3072, n=1000, explicit engine) for
m = 5, 16, 64, 512 and measures, in this one run:

1. m = 5, L2: the old enumerator (``method="enumerate-clarabel"``: one Clarabel QP per subset) and
   the new default (``method="auto"``) on the same 100 points, alternated 5 times: points/s of
   each (medians), their ratio (target >= 20), and the largest relative difference of the radii
   (target <= 1e-8);
2. m = 64, L2: 100 points certified to relative gap 1e-6 (target: at most 100 s);
3. m = 512, L2: seconds per point with a 10 s budget, and the gap reached (target: <= 10 s);
4. points/s at m = 5, 16, 64, 512 for both norms (L-infinity on these explicit-engine nets), with
   the largest gap and the statuses;
5. the alternative: a big-M MIQP of the same problem solved by DAQP's own mixed-integer branch
   and bound (binary constraints; big-M from the incumbent ball ``|z_r| <= R ||a_r||`` with ``R``
   the certified radius, i.e. the tightest ball a MIQP could be given), at m = 5 and 16 with a
   time limit per point, at m = 5, 16, 64.

Wall-clock numbers depend on the machine (2 cores here, shared); every ratio is measured in the
same run.
"""

import argparse
import json
import math
import time

import numpy as np

from featavg.simulate import Config, run_simulation
from featavg.simulate._robust import _families, exact_radii, span_basis


#: repetitions of the m = 5 comparison (alternating old and new; medians compared)
REPS = 5


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _summary(res, seconds):
    gaps = np.array([r.gap for r in res], dtype=float)
    return {
        "points": len(res),
        "seconds": seconds,
        "points_per_second": len(res) / seconds,
        "max_gap": float(np.nanmax(gaps)) if np.isfinite(gaps).any() else float("nan"),
        "verified": int(sum(r.verified for r in res)),
        "status": {s: sum(r.status == s for r in res) for s in ("solved", "budget", "failed")},
        "method": sorted({r.method for r in res}),
        "median_radius": float(np.median([r.radius for r in res])),
        "mean_nodes": float(np.mean([r.nodes for r in res])),
    }


def miqp_radius(net, x, y, R, time_limit):
    """Big-M MIQP of the binary net's L2 radius, solved by DAQP's mixed-integer branch and bound.

    Variables ``(v, t, s, delta)``: ``t_i >= z_i(v)``, ``t_i >= 0`` (own ReLUs, epigraph),
    ``0 <= s_r <= U_r delta_r``, ``s_r <= z_r(v) - L_r (1 - delta_r)`` (opposing ReLUs from above),
    ``sum t <= sum s``, ``delta`` binary; ``L_r, U_r = c_r -+ R ||a_r||`` (ball bounds).
    Objective ``||v||^2`` plus ``1e-9`` on the other variables (DAQP needs ``H`` positive
    definite). Returns ``(radius, seconds, exitflag)``.
    """
    import daqp

    Q = span_basis(net.W)
    A = net.W @ Q
    c = net.W @ x + net.b
    blocks, families = _families(net, y, None, "argmax")
    own, opp = blocks[0], families[0]
    p, m = A.shape[1], own.size
    nv = p + 3 * m  # v, t, s, delta
    it, is_, idl = p, p + m, p + 2 * m
    rows, ub = [], []

    def row():
        r = np.zeros(nv)
        rows.append(r)
        return r

    for i, r_ in enumerate(own):  # z_i(v) - t_i <= -c_i
        r = row()
        r[:p] = A[r_]
        r[it + i] = -1.0
        ub.append(-c[r_])
    r = row()  # sum t - sum s <= 0
    r[it:it + m] = 1.0
    r[is_:is_ + m] = -1.0
    ub.append(0.0)
    rad = R * np.linalg.norm(A[opp], axis=1)
    L, U = c[opp] - rad, c[opp] + rad
    for j, r_ in enumerate(opp):
        r = row()  # s_r - z_r(v) - L_r delta_r <= c_r - L_r
        r[:p] = -A[r_]
        r[is_ + j] = 1.0
        r[idl + j] = -L[j]
        ub.append(c[r_] - L[j])
        r = row()  # s_r - U_r delta_r <= 0
        r[is_ + j] = 1.0
        r[idl + j] = -max(U[j], 0.0)
        ub.append(0.0)
    Am = np.array(rows)
    # simple bounds on every variable first, then the rows
    lo = np.concatenate([np.full(p, -1e30), np.zeros(2 * m), np.zeros(m)])
    hi = np.concatenate([np.full(p, 1e30), np.full(2 * m, 1e30), np.ones(m)])
    sense = np.zeros(nv + Am.shape[0], dtype=np.int32)
    sense[idl:idl + m] = 16  # binary
    H = np.diag(np.concatenate([np.full(p, 2.0), np.full(3 * m, 1e-9)]))
    t0 = time.perf_counter()
    xs, fval, flag, info = daqp.solve(H, np.zeros(nv), Am, np.concatenate([hi, ub]),
                                      np.concatenate([lo, np.full(len(ub), -1e30)]), sense,
                                      time_limit=time_limit, primal_tol=1e-9)
    dt = time.perf_counter() - t0
    radius = float(np.linalg.norm(np.asarray(xs)[:p])) if flag == 1 else math.nan
    return radius, dt, int(flag)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer points (a smoke run, not the targets)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    q = args.quick
    out = {"config": "run_simulation(Config(m=m)): k=10, d=3072, n=1000, binary labels, seed 0"}
    runs = {}
    for m in (5, 16, 64, 512):
        runs[m], t = _time(lambda m=m: run_simulation(Config(m=m, n_test=200)))
        out.setdefault("train_seconds", {})[m] = t

    def pts(m, n):
        r = runs[m]
        return r.network, r.test.X[:n], r.test.y[:n]

    # 1. m = 5: old enumerator against the new default, same points
    net, X, y = pts(5, 50 if q else 100)
    exact_radii(net, X[:5], y[:5])  # warm-up (imports)
    exact_radii(net, X[:5], y[:5], method="enumerate-clarabel")
    # alternate the two, 5 times each, and compare medians: the machine is shared, and a burst of
    # load during one timing would otherwise decide the ratio
    t_olds, t_news = [], []
    for _ in range(REPS):
        old, t = _time(lambda: exact_radii(net, X, y, method="enumerate-clarabel"))
        t_olds.append(t)
        new, t = _time(lambda: exact_radii(net, X, y))
        t_news.append(t)
    t_old, t_new = float(np.median(t_olds)), float(np.median(t_news))
    ro, rn = np.array([r.radius for r in old]), np.array([r.radius for r in new])
    out["m5_speedup"] = {
        "old_points_per_second": len(X) / t_old, "new_points_per_second": len(X) / t_new,
        "ratio": t_old / t_new, "ratio_of_best": min(t_olds) / min(t_news), "repetitions": REPS,
        "max_relative_radius_difference": float(np.max(np.abs(rn - ro) / ro)),
        "new": _summary(new, t_new),
    }

    # 2. m = 64: 100 points to gap 1e-6
    net, X, y = pts(64, 20 if q else 100)
    res, t = _time(lambda: exact_radii(net, X, y, gap=1e-6))
    out["m64_certified"] = _summary(res, t)

    # 3./4. throughput table, both norms
    budget = 10.0
    plan = {2: {5: 200, 16: 100, 64: 100, 512: 10}, math.inf: {5: 40, 16: 20, 64: 10, 512: 3}}
    table = []
    for norm, sizes in plan.items():
        for m, n in sizes.items():
            n = max(2, n // 5) if q else n
            net, X, y = pts(m, n)
            res, t = _time(lambda: exact_radii(net, X, y, norm=norm, time_budget=budget))
            s = _summary(res, t)
            s.update(m=m, norm="2" if norm == 2 else "inf", seconds_per_point=t / n)
            table.append(s)
    out["throughput"] = table

    # 5. the MIQP alternative (DAQP's mixed-integer B&B), given the certified radius as its ball
    miqp = []
    for m, n in ((5, 10), (16, 5), (64, 3)):
        net, X, y = pts(m, 3 if q else n)
        cert = exact_radii(net, X, y)
        rows = [miqp_radius(net, xi, int(yi), r.radius * (1 + 1e-6), time_limit=60.0)
                for xi, yi, r in zip(X, y, cert)]
        solved = [(rad, r.radius) for (rad, _, flag), r in zip(rows, cert) if flag == 1]
        miqp.append({
            "m": m, "points": len(X), "seconds_per_point": float(np.mean([dt for _, dt, _ in rows])),
            "solved": len(solved), "exitflags": sorted({f for _, _, f in rows}),
            "max_relative_difference_to_certified": (float(max(abs(a - b) / b for a, b in solved))
                                                     if solved else None),
        })
    out["miqp_daqp"] = miqp

    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return
    s = out["m5_speedup"]
    print(f"m = 5, L2, {len(old)} points, median of {s['repetitions']} alternating runs: old enumerator "
          f"{s['old_points_per_second']:.1f} pts/s, new {s['new_points_per_second']:.1f} pts/s, ratio "
          f"{s['ratio']:.1f} (target >= 20; ratio of best times {s['ratio_of_best']:.1f}); "
          f"max relative radius difference {s['max_relative_radius_difference']:.1e} (target <= 1e-8)")
    s = out["m64_certified"]
    print(f"m = 64, L2, {s['points']} points: {s['seconds']:.2f} s (target <= 100 s), max gap "
          f"{s['max_gap']:.1e}, {s['verified']} verified, statuses {s['status']}")
    print(f"\n{'norm':>4} {'m':>4} {'points':>6} {'pts/s':>9} {'s/point':>8} {'max gap':>9} "
          f"{'verified':>8} {'nodes':>6} {'method':>10}  status")
    for r in table:
        print(f"{r['norm']:>4} {r['m']:>4} {r['points']:>6} {r['points_per_second']:9.2f} "
              f"{r['seconds_per_point']:8.3f} {r['max_gap']:9.1e} {r['verified']:>8} {r['mean_nodes']:6.1f} "
              f"{','.join(r['method']):>10}  {r['status']}")
    print("\nalternative: big-M MIQP in DAQP's mixed-integer B&B (ball from the certified radius)")
    for r in miqp:
        print(f"  m = {r['m']}: {r['seconds_per_point']:.2e} s/point (DAQP solve only), {r['solved']}/{r['points']} solved "
              f"(exit flags {r['exitflags']}), max relative difference to certified "
              f"{r['max_relative_difference_to_certified']}")


if __name__ == "__main__":
    main()
