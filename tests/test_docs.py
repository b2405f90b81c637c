"""The API reference builds with warnings as errors, and its pages read offline from disk.

Sphinx (autodoc + numpydoc) renders the docstrings, the science document and the walkthrough of a
user's claim; mathematics is converted to MathML at build time (docs/_ext/mathml_math.py), so no
page loads a script or anything else from the network.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_api_reference_builds_without_warnings_and_offline(tmp_path):
    pytest.importorskip("sphinx", reason="pip install -e '.[test]' installs Sphinx")
    pytest.importorskip("latex2mathml", reason="pip install -e '.[test]' installs latex2mathml")
    out = tmp_path / "html"
    proc = subprocess.run([os.sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
                           str(ROOT / "docs"), str(out)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    pages = {p.name: p.read_text() for p in out.glob("*.html")}
    assert {"index.html", "science.html", "own_claims.html", "api.html"} <= set(pages)
    for name, page in pages.items():
        # nothing fetched: no absolute URL in a src attribute, no script from elsewhere
        assert not re.search(r'<script[^>]+src="(https?:)?//', page), name
        assert not re.search(r'src="https?://', page), name
    assert "C3. Non-robustness" in pages["science.html"]
    assert "unbalanced_radius" in pages["own_claims.html"]
    # every formula became MathML (a formula latex2mathml could not convert is a -W build error)
    assert pages["science.html"].count("<math") > 300 and "<math" in pages["api.html"]
    assert "mathml_math: cannot convert" not in proc.stderr
    for name in ("Band", "VerifyContext", "run_simulation", "Claim"):
        assert name in pages["api.html"], name
