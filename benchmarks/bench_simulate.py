"""Superseded by ``bench_engines.py`` (both engines, both networks, steady and amortised step vs the
two-pass floor); kept as its alias so that existing commands still work.

Run: ``python benchmarks/bench_simulate.py [--reps 5] [--steps 100]``
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engines import main  # noqa: E402

if __name__ == "__main__":
    main()
