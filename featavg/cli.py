"""The ``featavg`` command line: one entry point, one module per subcommand.

Each subcommand module (``featavg/_cmd_*.py``) defines ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``. Usage errors (argparse's, and every :class:`featavg.UsageError` raised
from the library: :class:`InvalidParameter`, :class:`RunFileError`, :class:`UnknownClaim`,
:class:`ClaimFileError`) print one line and exit 2 with no traceback; numerical trouble
(:class:`NumericalError`) prints one line and exits 1. ``python -m featavg`` is the same command.
"""

import argparse
import importlib
import sys

from featavg._errors import FeatavgError, NumericalError, UsageError

__all__ = ["main", "SUBCOMMANDS"]

#: subcommand modules, in the order ``featavg --help`` lists them
SUBCOMMANDS = ("_cmd_simulate", "_cmd_robustness", "_cmd_claims", "_cmd_sweep", "_cmd_regime", "_cmd_scaling",
               "_cmd_verify", "_cmd_report", "_cmd_digits")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its one-line message."""


def build_parser():
    parser = _Parser(prog="featavg", description=__doc__.splitlines()[0].rstrip(".") + ".")
    from featavg import __version__

    parser.add_argument("--version", action="version", version=f"featavg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        mod = importlib.import_module(f"featavg.{name}")
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _parser=p)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args._run(args)
    except UsageError as exc:
        args._parser.print_usage(sys.stderr)
        print(f"featavg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except NumericalError as exc:
        print(f"featavg {args.command}: numerical error: {exc}", file=sys.stderr)
        return 1
    except FeatavgError as exc:
        print(f"featavg {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"featavg {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
