"""The report's pages typeset prose mathematics, and display mathematics draws no spurious scrollbar.

Markdown carries SymPy's LaTeX (``$...$``) and HTML SymPy's MathML (``<math>``) for the
mathematical parts of titles, assumptions, regimes and step names (:class:`featavg.theory.Text`).
Display mathematics sits in a ``.display-math`` box that alone scrolls sideways: Chromium drew a
vertical scrollbar beside every equation when the ``<math>`` element itself had
``overflow-x: auto``. The browser test lays the pages out in headless Chromium and measures, for
every display box, that nothing overflows vertically (no scrollbar, nothing clipped) and that no
``<math>`` element scrolls; under ``CI`` a missing Chromium fails, elsewhere it is skipped.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

import featavg._report as report
from featavg._registry import all_claims
from featavg.theory import Text


def fake_rows(claims):
    """verify-shaped rows without running anything: one numeric row per claim, every step passed."""
    rows = []
    for c in claims:
        rows.append({"id": c.id, "claim": c.id, "kind": "numeric", "title": f"numeric check of {c.id}",
                     "regime": "r", "status": "passed", "predicted": 1.0, "measured": 1.0, "tolerance": "|x-1| <= 0.1",
                     "details": {}, "config": {"seed": 0}})
        rows.append(symbolic_row(c))
    return rows


def symbolic_row(c, **extra):
    """verify's symbolic row of claim ``c``: one per claim, every step passed."""
    return {"id": f"{c.id}.symbolic", "claim": c.id, "kind": "symbolic", "title": f"Symbolic: {c.title}",
            "status": "passed", "predicted": len(c.steps), "measured": len(c.steps), "config": {"seed": 0},
            "details": {"steps": [{"step": s.label, "passed": True, "generality": s.generality} for s in c.steps]},
            **extra}


@pytest.fixture(scope="module")
def claims():
    return all_claims()


@pytest.fixture(scope="module")
def pages(claims):
    return {p.stem: p for p in report.render_pages(claims, fake_rows(claims), [], seed=0, quick=True)}


def test_html_titles_and_prose_carry_mathml(claims, pages):
    for c in claims:
        page = report.render_html(pages[c.id])
        h1 = re.search(r"<h1>(.*?)</h1>", page, flags=re.S).group(1)
        if isinstance(c.title, Text) and c.title.math:
            assert "<math" in h1, c.id
        title = re.search(r"<title>(.*?)</title>", page).group(1)
        assert "<" not in title and "$" not in title, c.id  # plain text where markup cannot go
        for s in c.steps:
            if isinstance(s.name, Text) and s.name.math:
                assert report.mathml(s.name.math[0]) in page, f"{c.id}: {s.label}"


def test_markdown_prose_carries_latex(claims, pages):
    import sympy as sp

    for c in claims:
        md = report.render_markdown(pages[c.id])
        first = md.splitlines()[0]
        if isinstance(c.title, Text) and c.title.math:
            assert f"${sp.latex(c.title.math[0])}$" in first, c.id
        if isinstance(c.assumptions, Text):
            for part in c.assumptions.math:
                assert f"${sp.latex(part)}$" in md, f"{c.id}: {part}"


def test_display_math_scrolls_in_its_own_box_not_on_the_math_element(pages):
    css = report._CSS
    assert not re.search(r"math\[display=\"block\"\]\s*\{[^}]*overflow", css)
    assert re.search(r"\.display-math\s*\{[^}]*overflow-x:\s*auto;[^}]*overflow-y:\s*hidden", css)
    page = report.render_html(pages["C3.averaging_radius"])
    assert page.count('<div class="display-math"><math') == page.count('" display="block">') > 0


PROBE = """<script>
window.addEventListener('load', () => {
  const boxes = Array.from(document.querySelectorAll('.display-math')).map(b =>
      [b.scrollHeight, b.clientHeight, b.scrollWidth, b.clientWidth]);
  const maths = Array.from(document.querySelectorAll('math[display="block"]')).map(m => {
      const s = getComputedStyle(m); return [s.overflowX, s.overflowY, s.display]; });
  const pre = document.createElement('pre');
  pre.id = 'featavg-probe';
  pre.textContent = JSON.stringify({boxes, maths});
  document.body.appendChild(pre);
});
</script>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium)")
    return exe


@pytest.mark.parametrize("stem", ["C3.averaging_radius", "C7.margin_ode", "C4.optimal_bound"])
def test_no_display_equation_overflows_vertically_in_chromium(stem, pages, tmp_path):
    exe = _chromium()
    html = report.render_html(pages[stem]).replace("</body>", PROBE + "</body>")
    path = tmp_path / f"{stem}.html"
    path.write_text(html, encoding="utf-8")
    proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000",
                           "--virtual-time-budget=10000", "--dump-dom", path.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="featavg-probe">(.*?)</pre>', proc.stdout, flags=re.S)
    assert found, "the probe did not run"
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["boxes"] and len(probe["boxes"]) == len(probe["maths"])
    for scroll_h, client_h, _, _ in probe["boxes"]:
        assert scroll_h <= client_h, f"{stem}: a display box overflows vertically ({scroll_h} > {client_h} px)"
    for overflow_x, overflow_y, display in probe["maths"]:
        assert (overflow_x, overflow_y) == ("visible", "visible") and display == "block math"
