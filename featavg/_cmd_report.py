"""``featavg report``: write the derivation report (Markdown, offline HTML with MathML, figures)."""

import sys

from featavg._args import nonnegative_int
from featavg._output import print_json
from featavg._progress import progress_bar

NAME = "report"
HELP = ("Write the derivation report: index.md/index.html and one page per claim (statement, "
        "machine-checked steps, numeric checks with bands and rivals, figures); exit 1 if a check failed.")


def add_arguments(p):
    from featavg._report import DEFAULT_OUT

    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"output directory (default: {DEFAULT_OUT}/ in the current directory)")
    p.add_argument("--quick", action="store_true", help="smaller samples (as verify --quick)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="base seed of every check and figure (default 0)")
    p.add_argument("--claims", action="append", default=[], metavar="PATH",
                   help="also report the claims of PATH (a .py file, a directory, or a module; repeatable)")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="report only these claims (an id, or a prefix such as C4 or U1): their pages, rows and "
                        "figures, and an index of them")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary {out_dir, files, figures, checks, passed, failed, inconclusive, seconds}")


def run(args):
    from featavg import _report
    from featavg._registry import discover

    registry = discover(args.claims)
    with progress_bar(_report.count_units(registry, only=args.only), "report", enabled=True) as update:
        summary = _report.build_report(args.out, seed=args.seed, quick=args.quick, progress=update,
                                       registry=registry, only=args.only)
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {len(summary['files'])} files ({summary['pages']} pages as .md and .html, "
              f"{len(summary['figures'])} figures) to {summary['out_dir']}/ in {summary['seconds']:.0f} s")
        for f in summary["figures"]:
            print(f"  {f['file']}: {f['title']}" + (f"  FAILED: {f['error']}" if f["error"] else ""))
        print(f"{summary['passed']} of {summary['checks']} rows passed"
              + (f"; failed: {', '.join(summary['failed'])}" if summary["failed"] else "")
              + (f"; inconclusive: {', '.join(summary['inconclusive'])}" if summary["inconclusive"] else ""))
    if summary["failed"]:
        print("featavg report: some checks failed (the report shows them)", file=sys.stderr)
        return 1
    return 3 if summary["inconclusive"] else 0
