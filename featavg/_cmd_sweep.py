"""``featavg sweep``: a grid of simulations on local processes or a Dask cluster, one tidy table."""

import os

from featavg._progress import progress_bar
from featavg._sweep import CSV_TABLE, TABLE, load_grid, make_executor, sweep

NAME = "sweep"
HELP = "Run a grid of simulations (GRID.toml) in parallel into one table, resumably."


def add_arguments(p):
    p.add_argument("grid", metavar="GRID.toml",
                   help="grid file: top-level 'seeds = N', a [grid] table of Config fields "
                        "(each a list of values) and optional [measure] switches")
    p.add_argument("--out", required=True, metavar="DIR",
                   help=f"sweep directory; rows go to DIR/{TABLE} (and DIR/{CSV_TABLE} at the end)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: os.cpu_count())")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run on the Dask scheduler at ADDRESS (e.g. tcp://host:8786) instead")
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already in DIR and run only the missing tasks")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary line")


def run(args):
    grid = load_grid(args.grid)
    with make_executor(args.workers, args.dask) as executor:
        with progress_bar(grid.size, "sweep", enabled=not args.quiet) as update:
            rows, stats = sweep(grid, args.out, executor=executor, resume=args.resume, progress=update)
    if not args.quiet:
        print(f"featavg sweep: {stats['total']} runs ({stats['ran']} run now, {stats['skipped']} "
              f"resumed, {stats['failed']} failed) in {stats['seconds']:.1f} s -> "
              f"{os.path.join(args.out, TABLE)}")
    return 0
