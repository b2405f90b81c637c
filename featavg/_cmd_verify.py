"""``featavg verify``: run every claim's numeric and symbolic checks, print a verdict table (SPEC §6)."""

import sys
import time

from featavg._output import print_json
from featavg._progress import progress_bar

NAME = "verify"
HELP = ("Check the theory against the simulator: one row per check (claim, prediction, measured, "
        "tolerance, verdict); exit 1 if any fails.")


def add_arguments(p):
    p.add_argument("--quick", action="store_true", help="smaller sizes (about 30 s instead of 90 s)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {id, title, status, predicted, measured, tolerance, ...}")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="run only these checks (an id, or a prefix such as C4 or C7.lambert_w)")
    p.add_argument("--seed", type=int, default=0, help="seed of every sampled quantity (default 0)")


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int,)):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        if len(v) > 3:
            return "[" + ", ".join(_fmt(x) for x in v[:3]) + ", ...]"
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _print_table(rows, seconds, seed, quick, file=None):
    w = (file or sys.stdout).write
    cols = [("id", lambda r: r["id"]), ("predicted", lambda r: _fmt(r["predicted"])),
            ("measured", lambda r: _fmt(r["measured"])), ("tolerance", lambda r: r["tolerance"]),
            ("verdict", lambda r: "ok" if r["status"] == "passed" else "FAIL")]
    cells = [[f(r) for _, f in cols] for r in rows]
    widths = [max(len(name), *(len(c[i]) for c in cells)) for i, (name, _) in enumerate(cols[:-1])]
    w("  ".join(f"{name:<{wd}}" for (name, _), wd in zip(cols, widths)) + "  verdict\n")
    for r, c in zip(rows, cells):
        w("  ".join(f"{x:<{wd}}" for x, wd in zip(c, widths)) + f"  {c[-1]}\n")
        if "error" in r:
            w(f"    error: {r['error']}\n")
    n_fail = sum(r["status"] != "passed" for r in rows)
    w(f"{len(rows)} checks, {n_fail} failed; seed {seed}{', quick' if quick else ''}; {seconds:.0f} s\n")


def run(args):
    from featavg import _verify

    checks, unknown = _verify.select_checks(args.only)
    if unknown:
        print(f"featavg verify: error: unknown check id(s): {', '.join(unknown)}", file=sys.stderr)
        print("valid ids: " + " ".join(_verify.check_ids()), file=sys.stderr)
        return 2
    ctx = _verify.VerifyContext(quick=args.quick, seed=args.seed)
    start = time.perf_counter()
    with progress_bar(len(checks), "verify", enabled=True) as update:
        rows = _verify.run_checks(checks, ctx, progress=update)
    seconds = time.perf_counter() - start
    if args.json:
        print_json(rows)
    else:
        _print_table(rows, seconds, args.seed, args.quick)
    return 0 if all(r["status"] == "passed" for r in rows) else 1
