"""The claim modules of featavg: one module per claim, discovered (never listed).

Each module holds a claim's statement, derivation and predictions (``derive()``, SymPy only) and
its evidence (checks with their rivals, figures, faults); see :mod:`featavg._registry` for the
protocol and ``docs/science.md`` §6 for what a claim is. Adding a claim is adding a file here, or
in a directory named by the environment variable ``FEATAVG_CLAIMS_PATH`` (``os.pathsep``-separated
directories whose modules join this package), or passing your own file to ``featavg verify
--claims PATH``.
"""

import os


def _extend_path(path, env=os.environ):
    """Append the directories of ``FEATAVG_CLAIMS_PATH`` to this package's search path."""
    for directory in filter(None, env.get("FEATAVG_CLAIMS_PATH", "").split(os.pathsep)):
        if os.path.isdir(directory) and directory not in path:
            path.append(directory)


_extend_path(__path__)
