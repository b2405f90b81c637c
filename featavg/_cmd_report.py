"""``featavg report``: write the derivation report (Markdown, offline HTML with MathML, figures)."""

import sys

from featavg._output import print_json
from featavg._progress import progress_bar

NAME = "report"
HELP = ("Write the derivation report: index.md/index.html and one page per claim (statement, "
        "machine-checked steps, numeric checks, figures); exit 1 if a check failed.")


def add_arguments(p):
    from featavg._report import DEFAULT_OUT

    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"output directory (default: {DEFAULT_OUT}/ in the current directory)")
    p.add_argument("--quick", action="store_true", help="smaller sizes (verify --quick, quick figures)")
    p.add_argument("--seed", type=int, default=0, help="seed of every check and figure (default 0)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary {out_dir, files, figures, checks, passed, failed, seconds}")


def run(args):
    from featavg import _report

    with progress_bar(_report.count_units(), "report", enabled=True) as update:
        summary = _report.build_report(args.out, seed=args.seed, quick=args.quick, progress=update)
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {len(summary['files'])} files ({summary['pages']} pages as .md and .html, "
              f"{len(summary['figures'])} figures) to {summary['out_dir']}/ in {summary['seconds']:.0f} s")
        for f in summary["figures"]:
            print(f"  {f['file']}: {f['title']}")
        print(f"{summary['passed']} of {summary['checks']} checks passed"
              + (f"; failed: {', '.join(summary['failed'])}" if summary["failed"] else ""))
    if summary["failed"]:
        print("featavg report: some checks failed (the report shows them)", file=sys.stderr)
        return 1
    return 0
