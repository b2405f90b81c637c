"""The LaTeX appendix (``derivations/report.tex``): SymPy's LaTeX of every statement and step, and it compiles.

Independent references: every expression's LaTeX is SymPy's own printer (``sympy.latex``), found
verbatim in the document; the document is compiled by ``pdflatex`` (Debian's
``texlive-latex-base`` and ``texlive-latex-recommended``), whose log must hold no error. Where
``pdflatex`` is missing the compile test is skipped with the install command; under ``CI`` it fails
(``.ci/run`` installs it).
"""

import os
import shutil
import subprocess

import pytest
import sympy as sp

import featavg._report_latex as rl
from featavg._registry import all_claims
from featavg.theory import Text
from test_report_typeset import symbolic_row


def fake_rows(claims):
    """verify-shaped rows without running anything: one numeric row per claim, every step passed."""
    rows = []
    for c in claims:
        rows.append({"id": c.id, "claim": c.id, "kind": "numeric", "title": f"numeric check of {c.id} (50% & #1)",
                     "regime": "r_1 ~ 2", "status": "passed", "predicted": [1.0, 2.5], "measured": 1.0,
                     "tolerance": "|x - 1| <= 0.1", "details": {}, "config": {"seed": 0},
                     "band": {"lo": 0.9, "hi": 1.1},
                     "rivals": [{"name": "r", "why": "a constant off by one", "predicted": 2.0, "status": "rejected"}]})
        rows.append(symbolic_row(c))
    return rows


@pytest.fixture(scope="module")
def claims():
    return all_claims()


@pytest.fixture(scope="module")
def tex(claims):
    return rl.render_latex(claims, fake_rows(claims), [], seed=0, quick=True)


def test_document_uses_amsmath_and_holds_every_statement_and_step_as_sympy_prints_it(claims, tex):
    assert tex.startswith(r"\documentclass") and r"\usepackage{amsmath,amssymb}" in tex
    assert tex.rstrip().endswith(r"\end{document}")
    for c in claims:
        assert sp.latex(c.statement) in tex, c.id
        for s in c.steps:
            assert sp.latex(s.expr) in tex, f"{c.id}: {s.label}"


def test_prose_mathematics_is_typeset_inline(claims, tex):
    """A Text's SymPy parts appear as $latex$ in the section titles, assumptions and step names."""
    for c in claims:
        for value in [c.title, c.assumptions] + [s.name for s in c.steps]:
            if isinstance(value, Text):
                for part in value.math:
                    assert f"${sp.latex(part)}$" in tex, f"{c.id}: {part}"


@pytest.mark.parametrize("text, latex", [
    ("50% & #1", r"50\% \& \#1"), ("a_b", r"a\_b"), ("{x}", r"\{x\}"), ("x <= y", r"x \textless{}= y"),
    ("\u2264 \u2248", r"$\le$ $\approx$"), ("\u263a", "U+263A"), ("back\\slash", r"back\textbackslash{}slash"),
], ids=["percent-and-hash", "underscore", "braces", "less-than", "unicode-math", "unknown-unicode", "backslash"])
def test_text_is_escaped(text, latex):
    assert rl.latex_text(text) == latex


def test_the_same_input_writes_the_same_file(claims, tmp_path):
    rows = fake_rows(claims)
    a = rl.write_latex(tmp_path / "a", claims, rows, [], seed=0, quick=True)
    b = rl.write_latex(tmp_path / "b", claims, rows, [], seed=0, quick=True)
    assert (tmp_path / "a" / a).read_bytes() == (tmp_path / "b" / b).read_bytes()


def _pdflatex():
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is not installed; .ci/run installs it "
                        "(apt-get install -y texlive-latex-base texlive-latex-recommended)")
        pytest.skip("pdflatex not installed (Debian: apt-get install -y texlive-latex-base texlive-latex-recommended)")
    return exe


def test_report_tex_compiles_into_a_pdf(claims, tmp_path):
    exe = _pdflatex()
    name = rl.write_latex(tmp_path, claims, fake_rows(claims), [], seed=0, quick=True)
    for _ in range(2):  # the second run sets the table of contents
        proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:]
    log = (tmp_path / "report.log").read_text(errors="replace")
    assert "\n! " not in log, log[log.find("\n! "):][:2000]
    assert "Undefined control sequence" not in log
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
