"""``featavg claims``: list the theory's claims and run their machine checks (SPEC §6)."""

import sys

from featavg._output import print_json

NAME = "claims"
HELP = "List the theory's claims (featavg.theory) and run every derivation step's machine check."


def add_arguments(p):
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {id, title, statement_latex, assumptions, regime, checks}")


def _collect():
    from featavg.theory import all_claims

    out = []
    for c in all_claims():
        checks = c.run_checks()
        out.append({"id": c.id, "title": c.title, "statement_latex": c.statement_latex,
                    "assumptions": c.assumptions, "regime": c.regime,
                    "predictions": sorted(c.predictions), "checks": checks,
                    "passed": all(r["passed"] for r in checks)})
    return out


def _print_table(rows, file=None):
    file = file or sys.stdout
    w = file.write
    width = max(len(r["id"]) for r in rows)
    w(f"{'id':<{width}}  checks  title\n")
    for r in rows:
        n_ok = sum(ch["passed"] for ch in r["checks"])
        mark = "ok  " if r["passed"] else "FAIL"
        w(f"{r['id']:<{width}}  {mark} {n_ok}/{len(r['checks'])}  {r['title']}\n")
        for ch in r["checks"]:
            if not ch["passed"]:
                w(f"{'':<{width}}    failed: {ch['step']}" + (f" ({ch['error']})" if "error" in ch else "") + "\n")
    n_fail = sum(not r["passed"] for r in rows)
    w(f"{len(rows)} claims, {n_fail} with failed checks\n")


def run(args):
    rows = _collect()
    if args.json:
        print_json(rows)
    else:
        _print_table(rows)
    return 0 if all(r["passed"] for r in rows) else 1
