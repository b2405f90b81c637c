"""``featavg robustness``: certified radii (L2 or L-infinity), attacks and robust accuracy of a saved
run (docs/science.md §5; :mod:`featavg.simulate._certify`)."""

import math
import sys
import time

import numpy as np

from featavg._output import print_json
from featavg._predictions import predicted_radii
from featavg._progress import progress_bar
from featavg.simulate import (
    DEFAULT_GAP,
    PGD_DEFAULTS,
    READOUTS,
    RADIUS_METHODS,
    InvalidParameter,
    averaged_direction_radii,
    exact_radii,
    load_run,
    optimal_robust_accuracy,
    pgd_linf_radii,
    pgd_radii,
    robust_accuracy,
)

NAME = "robustness"
HELP = "Certified minimal adversarial radius (L2 or L-infinity), attacks and robust accuracy of a saved run."

#: robust-accuracy grid: GRID_POINTS radii from 0 to GRID_TOP_FACTOR * sqrt(d/2)
GRID_POINTS = 41
GRID_TOP_FACTOR = 1.5


def add_arguments(p):
    p.add_argument("run", metavar="RUN.npz", help="a run saved by 'featavg simulate --save'")
    p.add_argument("--points", type=int, default=200, help="first N test points (default %(default)s)")
    p.add_argument("--readout", choices=READOUTS, default=None,
                   help="readout of the multi-class net (default: the run's)")
    p.add_argument("--pgd-steps", type=int, default=PGD_DEFAULTS["steps"], help="PGD steps (default %(default)s)")
    p.add_argument("--pgd-restarts", type=int, default=PGD_DEFAULTS["restarts"],
                   help="PGD random restarts (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of PGD's random starts (default %(default)s)")
    p.add_argument("--norm", choices=("2", "inf"), default="2",
                   help="threat model: L2 (in the span of the weights) or L-infinity (in the input "
                        "coordinates; explicit-engine runs only) (default %(default)s)")
    p.add_argument("--gap", type=float, default=DEFAULT_GAP,
                   help="relative gap (upper - lower) / upper at which each radius stops (default %(default)s)")
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds per point; a point that runs out reports its gap (default: none)")
    p.add_argument("--method", choices=RADIUS_METHODS, default="auto",
                   help="exact-radius algorithm (default %(default)s: enumeration for small families, "
                        "branch and bound otherwise)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")


def _median(a):
    a = np.asarray(a, dtype=float)
    return float(np.median(a)) if a.size else float("nan")


def _norm_value(norm):
    if norm in (2, "2"):
        return 2
    if norm in ("inf", math.inf):
        return math.inf
    raise InvalidParameter("norm", norm, "2 or inf")


def robustness_summary(run, points, readout=None, *, pgd_steps=None, pgd_restarts=None, seed=0,
                       progress=True, norm=2, gap=DEFAULT_GAP, time_budget=None, method="auto"):
    """All numbers ``featavg robustness`` prints, as a JSON-ready dict."""
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or not \
            1 <= points <= run.test.X.shape[0]:
        raise InvalidParameter("points", points, f"an integer with 1 <= points <= {run.test.X.shape[0]} "
                               "(the run's test points)")
    net, cfg = run.network, run.config
    norm = _norm_value(norm)
    if norm != 2 and cfg.engine == "reduced":
        raise InvalidParameter("norm", "inf", "2 for a reduced-engine run: its arrays are in k + n + 2m "
                               "reduced coordinates, not the input space, and the L-infinity ball is "
                               "not rotation invariant (rerun with --engine explicit)")
    readout = readout or cfg.readout
    if readout not in READOUTS:
        raise InvalidParameter("readout", readout, "one of " + ", ".join(READOUTS))
    X, y = run.test.X[:points], run.test.y[:points]
    t0 = time.perf_counter()
    with progress_bar(points, "exact radii", enabled=progress) as update:
        exact = exact_radii(net, X, y, run.cluster_labels, readout, progress=update, norm=norm, gap=gap,
                            time_budget=time_budget, method=method)
    t_exact = time.perf_counter() - t0
    radius = np.array([r.radius for r in exact])
    lower = np.array([r.lower for r in exact])
    gaps = np.array([r.gap for r in exact])
    with progress_bar(points, "averaged direction", enabled=progress) as update:
        avg = averaged_direction_radii(net, X, y, run.features, run.cluster_labels, readout, progress=update,
                                       norm=norm)
    pgd_fn = pgd_radii if norm == 2 else pgd_linf_radii
    with progress_bar(PGD_DEFAULTS["bisection"], "PGD bisection", enabled=progress) as update:
        pgd = pgd_fn(net, X, y, run.cluster_labels, readout, steps=pgd_steps, restarts=pgd_restarts,
                     seed=seed, progress=update)
    d = cfg.d
    top = GRID_TOP_FACTOR * (np.sqrt(d / 2.0) if norm == 2 else
                             max(float(np.max(radius[np.isfinite(radius)], initial=0.0)), 1e-12))
    grid = np.linspace(0.0, top, GRID_POINTS)
    pos = radius > 0
    ratio = lambda a: _median(a[pos] / radius[pos])  # noqa: E731
    statuses = [r.status for r in exact]
    return {
        "run": {"config": cfg.to_dict(), "network": net.kind},
        "readout": readout if net.kind == "multiclass" else None,
        "norm": "2" if norm == 2 else "inf",
        "points": points,
        "pgd": {"steps": pgd_steps or PGD_DEFAULTS["steps"], "restarts": pgd_restarts or PGD_DEFAULTS["restarts"],
                "step_ratio": PGD_DEFAULTS["step_ratio"], "bisection": PGD_DEFAULTS["bisection"], "seed": seed,
                "norm": "2" if norm == 2 else "inf"},
        "exact_settings": {"gap": gap, "time_budget": time_budget, "method": method},
        "radii": {"exact": radius, "averaged_direction": avg, "pgd": pgd},
        "exact_bracket": {
            "lower": lower, "upper": radius, "gap": gaps,
            "verified": [bool(r.verified) for r in exact], "status": statuses,
            "method": [r.method for r in exact], "nodes": [int(r.nodes) for r in exact],
        },
        "median": {"exact": _median(radius), "averaged_direction": _median(avg), "pgd": _median(pgd)},
        "median_ratio_to_exact": {"averaged_direction": ratio(avg), "pgd": ratio(pgd)},
        "verified": int(sum(r.verified for r in exact)),
        "max_gap": float(np.nanmax(gaps)) if np.any(np.isfinite(gaps)) else float("nan"),
        "status_counts": {s: statuses.count(s) for s in ("solved", "budget", "failed")},
        "clean_accuracy": float(np.mean(radius > 0)),
        # the closed forms of docs/science.md §2, C3-C5 are L2 radii; the L-infinity ones are not claims yet
        "predicted": predicted_radii(d, cfg.k, cfg.positive) if norm == 2 else None,
        "robust_accuracy": {
            "radius": grid,
            "exact": robust_accuracy(radius, grid),
            "averaged_direction": robust_accuracy(avg, grid),
            "pgd": robust_accuracy(pgd, grid),
            "optimal": (optimal_robust_accuracy(grid, d, cfg.sigma if cfg.sigma > 0 else 1e-300)
                        if norm == 2 else None),
        },
        "exact_seconds": t_exact,
    }


def _print_summary(s, file=None):
    w = (file or sys.stdout).write
    ro = f" readout {s['readout']}" if s["readout"] else ""
    norm = "L2" if s["norm"] == "2" else "L-infinity"
    counts = s["status_counts"]
    w(f"featavg robustness: {s['run']['network']} network{ro}, {s['points']} test points, {norm} "
      f"({s['verified']} exact radii verified; max gap {s['max_gap']:.2e}; {counts['budget']} out of "
      f"budget, {counts['failed']} failed)\n")
    w(f"  median radius  exact {s['median']['exact']:.4f}   averaged direction "
      f"{s['median']['averaged_direction']:.4f}   PGD {s['median']['pgd']:.4f}\n")
    w(f"  median ratio to exact  averaged direction {s['median_ratio_to_exact']['averaged_direction']:.4f}"
      f"   PGD {s['median_ratio_to_exact']['pgd']:.4f}\n")
    if s["predicted"]:
        w("  predicted  " + "   ".join(f"{k} {v:.4f}" for k, v in s["predicted"].items()) + "\n")
    ra = s["robust_accuracy"]
    opt = ra["optimal"]
    w("  robust accuracy   radius    exact  avg-dir      PGD" + ("  optimal" if opt is not None else "") + "\n")
    for i in range(0, len(ra["radius"]), 4):
        w(f"                 {ra['radius'][i]:8.3f} {ra['exact'][i]:8.3f} {ra['averaged_direction'][i]:8.3f} "
          f"{ra['pgd'][i]:8.3f}" + (f" {opt[i]:8.3f}" if opt is not None else "") + "\n")


def run(args):
    run_ = load_run(args.run)
    s = robustness_summary(run_, args.points, args.readout, pgd_steps=args.pgd_steps,
                           pgd_restarts=args.pgd_restarts, seed=args.seed, progress=not args.json,
                           norm=args.norm, gap=args.gap, time_budget=args.time_budget, method=args.method)
    if args.json:
        print_json(s)
    else:
        _print_summary(s)
    return 0
