#!/usr/bin/env bash
# Build the API reference into docs/_build/html with warnings as errors (what CI runs).
# Needs the [docs] extra (pip install -e '.[docs]') and LaTeX with dvisvgm (Debian:
# texlive-latex-base) for the mathematics, which is rendered into SVG at build time (offline pages).
set -euo pipefail
cd "$(dirname "$0")"
python -m sphinx -W --keep-going -b html -q . _build/html
echo "docs/_build/html/index.html"
