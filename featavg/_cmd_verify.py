"""``featavg verify``: run every claim's numeric and symbolic checks, print a verdict table.

Each numeric row compares a claim's prediction with a measurement inside a band computed from
named quantities, and evaluates the check's rivals with the same band: ``passed`` (inside, every
rival rejected), ``failed`` (outside), ``inconclusive`` (inside, but a rival is accepted too).
Exit status: 0 every row passed, 1 some row failed, 3 none failed but some are inconclusive,
2 a usage error.
"""

import os
import sys
import time

from featavg._args import nonnegative_int, positive_int
from featavg._output import fmt, print_json
from featavg._progress import progress_bar

NAME = "verify"
HELP = ("Check the theory against the simulator: one row per check (prediction, measurement, band, "
        "rivals, verdict); exit 1 if a check fails, 3 if some are only inconclusive.")

#: the default table's width budget (a terminal of 100 columns)
TABLE_WIDTH = 100
_ID_WIDTH = 33


def add_arguments(p):
    p.add_argument("--quick", action="store_true",
                   help="smaller samples (fewer seeds and points): faster, with wider bands computed from "
                        "the smaller sizes")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of rows {id, claim, kind, status, predicted, measured, band, "
                        "interval, seeds, rivals, baseline, tolerance, verdict, regime, details, config}")
    p.add_argument("--wide", action="store_true",
                   help="the table with every column: bands, intervals, seeds, each rival and its verdict")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="run only these claims or checks (an id, or a prefix such as C4 or C7.lambert_w)")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="base seed of every sampled quantity, an integer >= 0 (default 0)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="processes the claims run in, an integer >= 1 (default: os.cpu_count(); 1 runs "
                        "every check in this process). The rows do not depend on it")
    p.add_argument("--claims", action="append", default=[], metavar="PATH",
                   help="also run the claims of PATH: a .py claim file, a directory of them, or an importable "
                        "module (repeatable)")


def _cell(v, width):
    if v is None:
        s = "-"
    elif isinstance(v, list):
        s = f"[{len(v)} values]" if len(v) > 1 else fmt(v[0])
    else:
        s = fmt(v)
    return s if len(s) <= width else s[:width - 1] + "\u2026"


def _deviation(row):
    """``max |measured - predicted| / halfwidth`` (<= 1 inside the band), or None."""
    import numpy as np

    band = row.get("band")
    if not band or row.get("measured") is None:
        return None
    m = np.asarray(row["measured"], dtype=float)
    p = np.asarray(row["predicted"], dtype=float)
    w = np.asarray(band["halfwidth"], dtype=float)
    side = band.get("side", "both")
    diff = {"both": np.abs(m - p), "upper": np.maximum(m - p, 0.0), "lower": np.maximum(p - m, 0.0)}[side]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = diff / w
    r = np.where(np.isfinite(r), r, np.where(diff == 0, 0.0, np.inf))
    return float(np.max(r))


def _rivals_cell(row):
    rivals = row.get("rivals") or []
    if row.get("kind") != "numeric":
        return "-"
    rejected = sum(r["status"] == "rejected" for r in rivals)
    return f"{rejected}/{len(rivals)}"


def _verdict(row):
    return {"passed": "passed", "failed": "FAILED", "inconclusive": "INCONCLUSIVE"}[row["status"]]


def print_table(rows, seconds, seed, quick, wide=False, file=None):
    """The verdict table: at most :data:`TABLE_WIDTH` columns (``wide``: every column)."""
    import textwrap

    out = (file or sys.stdout).write

    def w(text):
        for line in text.rstrip("\n").split("\n"):
            if wide or len(line) <= TABLE_WIDTH:
                out(line + "\n")
            else:
                indent = " " * (len(line) - len(line.lstrip()))
                out("\n".join(textwrap.wrap(line, TABLE_WIDTH, subsequent_indent=indent + "  ",
                                             break_long_words=True)) + "\n")
    id_width = max(len(r["id"]) for r in rows) if wide else min(_ID_WIDTH, max(len(r["id"]) for r in rows))
    header = (f"{'id':<{id_width}}  {'predicted':>10}  {'measured':>10}  {'halfwidth':>9}  {'dev':>5}  "
              f"{'rivals':>6}  verdict")
    w(header + "\n")
    for r in rows:
        dev = _deviation(r)
        ident = r["id"] if len(r["id"]) <= id_width else r["id"][:id_width - 1] + "\u2026"
        hw = r["band"]["halfwidth"] if r.get("band") else None
        if isinstance(hw, list):
            hw = max(hw)
        line = (f"{ident:<{id_width}}  {_cell(r['predicted'], 10):>10}  {_cell(r['measured'], 10):>10}  "
                f"{_cell(hw, 9):>9}  {('-' if dev is None else ('inf' if dev == float('inf') else f'{dev:.2f}'))[:5]:>5}  {_rivals_cell(r):>6}  {_verdict(r)}")
        w(line + "\n")
        if wide:
            if r.get("band"):
                w(f"    band {fmt(r['band']['lo'])} .. {fmt(r['band']['hi'])}: {r['tolerance']}\n")
            if r.get("interval"):
                w(f"    interval {fmt(r['interval'])}; seeds {fmt(r.get('seeds'))}\n")
            if r.get("baseline") is not None:
                w(f"    baseline (from the sizes alone) {fmt(r['baseline'])}\n")
            for rv in r.get("rivals") or []:
                w(f"    rival {rv['name']} = {fmt(rv['predicted'])}: {rv['status']}\n")
            w(f"    verdict: {r.get('verdict', '')}\n")
        if r.get("error"):
            w(f"    error: {r['error']}\n")
        elif r["status"] != "passed" and not wide:
            w(f"    {r.get('verdict', '')}\n")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("passed", "failed", "inconclusive")}
    w(f"{len(rows)} rows: {counts['passed']} passed, {counts['failed']} failed, {counts['inconclusive']} "
      f"inconclusive; seed {seed}{', quick' if quick else ''}; {seconds:.0f} s\n")
    w("dev = max |measured - predicted| / halfwidth (<= 1 inside the band; one-sided bands count only the "
      "excess beyond the bound); rivals = rejected/listed; "
      "--wide or --json for every column\n")


def run(args):
    from featavg import _verify
    from featavg._registry import discover

    registry = discover(args.claims)  # a bad --claims path is a usage error (ClaimFileError, exit 2)
    units, unknown = _verify.select(registry, args.only)
    if unknown:
        print(f"featavg verify: error: unknown check id(s): {', '.join(unknown)}", file=sys.stderr)
        ids = [c.id for e in registry for c in e.checks] + registry.ids()
        print("valid ids and prefixes: " + " ".join(sorted(set(ids))), file=sys.stderr)
        return 2
    workers = min(args.workers or os.cpu_count() or 1, max(len(units), 1))
    start = time.perf_counter()
    rows = [_verify.load_error_row(e) for e in registry.errors]
    with progress_bar(_verify.count_rows(units), "verify", enabled=True) as update:
        if workers > 1:
            rows += _verify.run_checks_parallel(units, quick=args.quick, seed=args.seed, claims=args.claims,
                                                workers=workers, progress=update)
        else:
            ctx = _verify.VerifyContext(quick=args.quick, seed=args.seed, registry=registry)
            rows += _verify.run_checks(units, ctx, progress=update)
    seconds = time.perf_counter() - start
    if args.json:
        print_json(rows)
    else:
        print_table(rows, seconds, args.seed, args.quick, wide=args.wide)
    return _verify.exit_status(rows)
