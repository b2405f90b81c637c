"""``featavg regime``: where each claim's prediction holds, mapped over the parameters a theorist controls."""

import os

from featavg._errors import InvalidParameter
from featavg._output import print_json
from featavg._progress import progress_bar
from featavg._regime import AXES, DOCUMENT, MAPS, QUICK_MAPS, MapSpec, regime
from featavg._sweep import TABLE, make_executor

NAME = "regime"
HELP = "Map where each claim's check holds over two axes (d/n, eta*d, init*d, n/k, m, T, sigma, k, |J+|/|J-|), resumably."


def _axis_arg(text):
    name, _, values = text.partition("=")
    if name not in AXES or not values:
        raise InvalidParameter("--x/--y", text, "AXIS=v1,v2,... with AXIS one of " + ", ".join(AXES))
    try:
        vals = tuple(float(v) for v in values.split(","))
    except ValueError:
        raise InvalidParameter("--x/--y", text, "comma-separated numbers after AXIS=") from None
    return name, vals


def _axis_value(text):
    name, _, value = text.partition("=")
    if (name not in AXES and name != "n_test") or not value:
        raise InvalidParameter("--base", text, "AXIS=value with AXIS one of " + ", ".join(AXES) + " (or n_test)")
    try:
        return name, float(value)
    except ValueError:
        raise InvalidParameter("--base", text, "a number after AXIS=") from None


def add_arguments(p):
    p.add_argument("--out", required=True, metavar="DIR",
                   help=f"regime directory: cells go to DIR/{TABLE}, the map to DIR/{DOCUMENT}, one PNG per map")
    p.add_argument("--maps", nargs="+", default=None, metavar="MAP",
                   help="maps to run, among " + ", ".join(MAPS) + " (default: C1 C3 C5; --quick: C5 and C1 on 4 x 4 grids)")
    p.add_argument("--check", nargs="+", default=None, metavar="CHECK_ID",
                   help="a custom map: these checks (verify check ids; the cell holds when all pass) over --x and --y")
    p.add_argument("--x", default=None, metavar="AXIS=v1,v2,...", help="the custom map's first axis")
    p.add_argument("--y", default=None, metavar="AXIS=v1,v2,...", help="the custom map's second axis")
    p.add_argument("--base", action="append", default=[], metavar="AXIS=VALUE",
                   help="the custom map's other parameters (default: the paper's point), e.g. n_over_k=30")
    p.add_argument("--supervision", choices=("binary", "cluster"), default="binary",
                   help="the custom check's supervision (whose runs the measurements read)")
    p.add_argument("--quick", action="store_true",
                   help="quick checks (fewer seeds) and the small default maps: 32 cells in under 2 minutes")
    p.add_argument("--seed", type=int, default=0, help="base seed of every cell's VerifyContext (default 0)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: os.cpu_count())")
    p.add_argument("--dask", metavar="ADDRESS", default=None, help="run on the Dask scheduler at ADDRESS instead")
    p.add_argument("--resume", action="store_true", help="keep the cells already in DIR and run only the missing ones")
    p.add_argument("--json", action="store_true", help=f"print the map's JSON ({DOCUMENT}) on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")


def specs_from_args(args):
    if args.check:
        if not (args.x and args.y):
            raise InvalidParameter("--check", args.check, "--x AXIS=... and --y AXIS=... as well")
        (x, xs), (y, ys) = _axis_arg(args.x), _axis_arg(args.y)
        base = dict(_axis_value(v) for v in args.base)
        return [MapSpec("custom", tuple(args.check), args.supervision, x, y, xs, ys, base=base)]
    table = QUICK_MAPS if args.quick else MAPS
    names = args.maps or (list(QUICK_MAPS) if args.quick else ["C1", "C3", "C5"])
    unknown = [n for n in names if n not in table]
    if unknown:
        raise InvalidParameter("--maps", unknown, "maps among " + ", ".join(table))
    return [table[n] for n in names]


def run(args):
    specs = specs_from_args(args)
    total = sum(len(s.xs) * len(s.ys) for s in specs)
    with make_executor(args.workers, args.dask) as executor:
        with progress_bar(total, "regime", enabled=not (args.quiet or args.json)) as update:
            doc, stats = regime(specs, args.out, executor=executor, quick=args.quick, seed=args.seed,
                                resume=args.resume, progress=update)
    if args.json:
        print_json(doc)
    elif not args.quiet:
        print(f"featavg regime: {stats['total']} cells ({stats['ran']} run now, {stats['skipped']} resumed, "
              f"{stats['failed']} failed) in {stats['seconds']:.1f} s -> {os.path.join(args.out, DOCUMENT)}")
        for name, m in doc["maps"].items():
            print(f"  {name} ({' + '.join(m['check'])}): " + ", ".join(f"{v} {c}" for v, c in m["verdicts"].items()))
            for line in m["summary"]:
                print(f"    {line}")
    return 0


__all__ = ["NAME", "HELP", "add_arguments", "run", "specs_from_args"]
