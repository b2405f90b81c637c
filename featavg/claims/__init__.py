"""The claim modules of featavg: one module per claim, discovered (never listed).

Each module holds a claim's statement, derivation and predictions (``derive()``, SymPy only) and
its evidence (checks with their rivals, figures, faults); see :mod:`featavg._registry` for the
protocol and ``docs/science.md`` §6 for what a claim is. Adding a claim is adding a file here (or
passing your own file to ``featavg verify --claims PATH``).
"""
