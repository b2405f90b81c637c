"""``featavg scaling``: fit a power law ``y = e^a x^s`` to a sweep's table, slope with a 95% CI."""

import math
import os
import sys

import numpy as np

from featavg._output import print_json
from featavg._sweep import TABLE, read_table
from featavg.simulate import InvalidParameter

__all__ = ["NAME", "HELP", "add_arguments", "run", "fit_power_law", "scaling_points"]

NAME = "scaling"
HELP = "Fit log y = a + s log x over a sweep's rows; print the slope s with its 95 percent confidence interval."

#: confidence level of the slope's interval
CONFIDENCE = 0.95


def add_arguments(p):
    p.add_argument("dir", metavar="DIR", help=f"a sweep directory (reads DIR/{TABLE})")
    p.add_argument("--x", default="d", help="column on the x axis (default %(default)s)")
    p.add_argument("--y", default="averaging_score", help="metric on the y axis (default %(default)s)")
    p.add_argument("--points", choices=("median", "all"), default="median",
                   help="fit the median y at each x (default), or every row")
    p.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                   help="keep only rows with this column value (repeatable), e.g. --where k=3")
    p.add_argument("--json", action="store_true", help="print slope, intercept, ci, n as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="save a log-log plot of the points and the fit")


def fit_power_law(x, y, confidence=CONFIDENCE):
    """:func:`featavg.evidence.fit_power_law` (the one slope fitter), naming the CLI's ``--x`` in errors."""
    from featavg.evidence import fit_power_law as fit

    try:
        return fit(x, y, level=confidence)
    except InvalidParameter as exc:
        raise InvalidParameter("--x", exc.value, exc.valid) from None


def _matches(row, where):
    for cond in where:
        key, sep, value = cond.partition("=")
        if not sep:
            raise InvalidParameter("--where", cond, "COL=VALUE")
        got = row.get(key)
        if got is None or (str(got) != value and not _num_equal(got, value)):
            return False
    return True


def _num_equal(got, value):
    try:
        return float(got) == float(value)
    except (TypeError, ValueError):
        return False


def scaling_points(rows, x, y, points="median", where=()):
    """The ``(x, y)`` points of a fit: ok rows with positive finite x and y, optionally medians.

    Returns
    -------
    xs, ys : ndarray, shape (p,)
    dropped : int
        Rows left out (failed, missing or non-positive values; logs need positive values).
    """
    if rows and x not in rows[0] and not any(x in r for r in rows):
        raise InvalidParameter("--x", x, "a column of the table: " + ", ".join(rows[0]))
    if rows and not any(y in r for r in rows):
        raise InvalidParameter("--y", y, "a column of the table: " + ", ".join(rows[0]))
    kept = [r for r in rows if r.get("status", "ok") == "ok" and _matches(r, where)]
    pairs = []
    for r in kept:
        try:
            xv, yv = float(r.get(x)), float(r.get(y))
        except (TypeError, ValueError):
            continue
        if xv > 0 and yv > 0 and math.isfinite(xv) and math.isfinite(yv):
            pairs.append((xv, yv))
    dropped = len(rows) - len(pairs)
    if points == "median":
        by_x = {}
        for xv, yv in pairs:
            by_x.setdefault(xv, []).append(yv)
        pairs = [(xv, float(np.median(v))) for xv, v in sorted(by_x.items())]
    arr = np.array(pairs, dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1], dropped


def _plot(path, xs, ys, fit, xname, yname, points):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.loglog(xs, ys, "o", label=f"{points} per x" if points == "median" else "runs")
    grid = np.geomspace(xs.min(), xs.max(), 100)
    ci = "" if fit["ci"] is None else f" [{fit['ci'][0]:.3g}, {fit['ci'][1]:.3g}]"
    ax.loglog(grid, np.exp(fit["intercept"]) * grid ** fit["slope"], "-",
              label=f"slope {fit['slope']:.3g}{ci}")
    plain = FuncFormatter(lambda v, _: f"{v:g}")  # sweeps often span less than a decade
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ticks = np.unique(xs)
    if ticks.size <= 12:  # label the swept values themselves
        ax.set_xticks(ticks)
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(plain)
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)
    ax.set_title(f"{yname} vs {xname} (log-log least squares)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args):
    if not os.path.exists(os.path.join(args.dir, TABLE)):
        raise InvalidParameter("DIR", args.dir, f"a sweep directory containing {TABLE}")
    rows = read_table(args.dir)
    xs, ys, dropped = scaling_points(rows, args.x, args.y, args.points, args.where)
    fit = fit_power_law(xs, ys)
    fit.update(x=args.x, y=args.y, points=args.points, rows_dropped=dropped, confidence=CONFIDENCE)
    if args.plot:
        _plot(args.plot, xs, ys, fit, args.x, args.y, args.points)
        fit["plot"] = args.plot
    if args.json:
        print_json(fit)
        return 0
    w = sys.stdout.write
    w(f"featavg scaling: log {args.y} = a + s log {args.x} over {fit['n']} points "
      f"({args.points}; {dropped} rows dropped)\n")
    ci = "n/a (2 points)" if fit["ci"] is None else f"[{fit['ci'][0]:.4g}, {fit['ci'][1]:.4g}]"
    w(f"  slope s = {fit['slope']:.4g}   95% CI {ci}   intercept a = {fit['intercept']:.4g}\n")
    if args.plot:
        w(f"  plot saved to {args.plot}\n")
    return 0
