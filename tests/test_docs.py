"""The API reference builds with warnings as errors, and its pages read offline from disk.

Sphinx (autodoc + numpydoc) renders the docstrings, the science document and the walkthrough of a
user's claim; mathematics is rendered to SVG at build time (imgmath), so no page loads a script
or anything else from the network.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _need(tool, package):
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing on CI: .ci/run installs Debian's {package}")
        pytest.skip(f"{tool} not found: apt-get install {package}")


def test_api_reference_builds_without_warnings_and_offline(tmp_path):
    pytest.importorskip("sphinx", reason="pip install -e '.[test]' installs Sphinx")
    _need("latex", "texlive-latex-base")
    _need("dvisvgm", "texlive-latex-base (texlive-binaries)")
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
    assert "class=\"math\"" in pages["science.html"] or "<svg" in pages["science.html"]
    for name in ("Band", "VerifyContext", "run_simulation", "Claim"):
        assert name in pages["api.html"], name
