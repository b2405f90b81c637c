"""``featavg claims``: list the claims and run their derivation steps' machine checks."""

import sys

from featavg._output import print_json

NAME = "claims"
HELP = "List the claims (featavg.claims and --claims files) and run every derivation step's machine check."


def add_arguments(p):
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {id, title, title_latex, statement_latex, assumptions, regime, predictions, "
                        "checks (each step with passed and generality), numeric_checks, general, instance, passed}")
    p.add_argument("--claims", action="append", default=[], metavar="PATH",
                   help="also list the claims of PATH (a .py file, a directory, or a module; repeatable)")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="only these claims (an id, or a prefix such as C4 or U1)")


def _selected(registry, only):
    """The entries whose id is, or starts with ``x + "."`` for, some ``x`` in ``only``; unknown entries."""
    if not only:
        return list(registry), []
    under = lambda x, i: i == x or i.startswith(x + ".")  # noqa: E731
    return ([e for e in registry if any(under(x, e.id) for x in only)],
            [x for x in only if not any(under(x, e.id) for e in registry)])


def _latex_prose(value):
    """A title as LaTeX: text as is, mathematics as ``$...$`` (SymPy's printer)."""
    import sympy as sp

    from featavg.theory import Text

    if not isinstance(value, Text):
        return str(value)
    return "".join(p if isinstance(p, str) else f"${sp.latex(p)}$" for p in value.parts)


def collect(registry, only=None):
    """One JSON-ready dict per claim; a claim whose derive() fails gets ``error`` and ``passed: false``."""
    out = []
    entries, _ = _selected(registry, only)
    for e in entries:
        row = {"id": e.id, "source": e.source, "numeric_checks": [c.id for c in e.checks]}
        try:
            c = e.claim()
        except Exception as exc:
            row.update(title=None, checks=[], passed=False, error=f"{type(exc).__name__}: {exc}",
                       general=0, instance=0)
            out.append(row)
            continue
        checks = c.run_checks()
        row.update(title=str(c.title), title_latex=_latex_prose(c.title), kind=c.kind,
                   statement_latex=c.statement_latex, assumptions=str(c.assumptions), regime=str(c.regime),
                   predictions=sorted(c.predictions), checks=checks,
                   general=sum(s["generality"] == "general" for s in checks),
                   instance=sum(s["generality"] == "instance" for s in checks),
                   passed=bool(checks) and all(s["passed"] for s in checks))
        out.append(row)
    for err in registry.errors:
        out.append({"id": err.claim or err.source, "source": err.source, "title": None, "checks": [],
                    "passed": False, "error": err.message, "general": 0, "instance": 0, "numeric_checks": []})
    return out


def _print_table(rows, file=None):
    w = (file or sys.stdout).write
    width = max(len(r["id"]) for r in rows)
    w(f"{'id':<{width}}  steps        general/instance  title\n")
    for r in rows:
        n_ok = sum(ch["passed"] for ch in r["checks"])
        mark = "ok  " if r["passed"] else "FAIL"
        w(f"{r['id']:<{width}}  {mark} {n_ok:>2}/{len(r['checks']):<2}  {r['general']:>7}/{r['instance']:<8}  "
          f"{r['title'] or ''}\n")
        if r.get("error"):
            w(f"{'':<{width}}    error: {r['error']}\n")
        for ch in r["checks"]:
            if not ch["passed"]:
                w(f"{'':<{width}}    failed: {ch['step']}" + (f" ({ch['error']})" if "error" in ch else "") + "\n")
    n_fail = sum(not r["passed"] for r in rows)
    steps = sum(len(r["checks"]) for r in rows)
    general = sum(r["general"] for r in rows)
    w(f"{len(rows)} claims, {n_fail} with failed checks; {steps} steps, {general} general, {steps - general} instance\n")


def run(args):
    from featavg._registry import discover

    registry = discover(args.claims)
    _, unknown = _selected(registry, args.only)
    if unknown:
        print(f"featavg claims: error: unknown claim id(s): {', '.join(unknown)}; known: {' '.join(registry.ids())}",
              file=sys.stderr)
        return 2
    rows = collect(registry, args.only)
    if args.json:
        print_json(rows)
    else:
        _print_table(rows)
    return 0 if all(r["passed"] for r in rows) else 1
