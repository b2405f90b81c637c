#!/usr/bin/env bash
# Build the API reference into docs/_build/html with warnings as errors (what CI runs).
# Needs the [docs] extra (pip install -e '.[docs]'); the mathematics is converted to MathML at build
# time (docs/_ext/mathml_math.py), so the pages read offline and no TeX is needed.
set -euo pipefail
cd "$(dirname "$0")"
python -m sphinx -W --keep-going -b html -q . _build/html
echo "docs/_build/html/index.html"
