"""The derivation report: printers, links, reproducibility, and the committed ``derivations/``.

Independent references: the page structure is checked against the theory registry itself (every
claim and step appears, with SymPy's own LaTeX of each step's expression), HTML against Python's
``html.parser`` and XML parser, and reproducibility by regenerating the whole report and comparing
it byte for byte with the committed ``derivations/`` (PNG figures by their decoded pixels).
"""

import html
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from featavg import _report
from test_report_typeset import symbolic_row
from featavg._registry import all_claims

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "derivations"


def _fake_rows(claims, fail=None):
    """verify-shaped rows: one numeric row per claim (predicted 1.0, measured 1.0, a rival rejected)
    and one symbolic row per claim with every step passed; ``fail`` names a row id that fails."""
    rows = []
    band = {"lo": 0.9, "hi": 1.1, "halfwidth": 0.1, "terms": [{"name": "se", "value": 0.1, "kind": "stat"}],
            "text": "|measured - predicted| <= 0.1"}
    for c in claims:
        rows.append({"id": c.id, "claim": c.id, "kind": "numeric", "title": f"numeric check of {c.id}",
                     "regime": "r", "status": "failed" if fail == c.id else "passed", "predicted": 1.0,
                     "measured": 1.0, "band": band, "interval": [0.95, 1.05], "seeds": [0, 1], "baseline": None,
                     "rivals": [{"name": "2", "why": "twice", "predicted": 2.0, "status": "rejected"}],
                     "tolerance": band["text"], "verdict": "inside the band", "details": {"slope": 0.5},
                     "config": {"seed": 0, "confidence": 0.999}})
        rows.append(symbolic_row(c, regime="SymPy", band=None, interval=None, seeds=[], rivals=[], baseline=None,
                                 tolerance="all", verdict="exact", config={}))
    return rows


@pytest.fixture(scope="module")
def claims():
    return all_claims()


@pytest.fixture(scope="module")
def pages(claims):
    return _report.render_pages(claims, _fake_rows(claims), [], seed=0, quick=True)


def _xml_entities(text):
    """HTML5 named entities (``&InvisibleTimes;``, which SymPy prints) as numeric references, so
    that an XML parser reads the MathML; XML's own five are kept."""
    def sub(m):
        if m.group(1) in ("lt", "gt", "amp", "quot", "apos"):
            return m.group(0)
        char = html.unescape(m.group(0))
        assert char != m.group(0), f"unknown entity {m.group(0)}"
        return "".join(f"&#{ord(c)};" for c in char)
    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", sub, text)


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_every_claim_has_a_page_with_every_step(claims, pages):
    by_stem = {p.stem: p for p in pages}
    for c in claims:
        md = _report.render_markdown(by_stem[c.id])
        assert sp.latex(c.statement) in md
        for step in c.steps:
            # the step's mathematics is SymPy's LaTeX of its expression, not a retyped string
            assert sp.latex(step.expr) in md, (c.id, step.name)


def test_links_resolve(pages):
    stems = {p.stem for p in pages}
    for p in pages:
        md, page_html = _report.render_markdown(p), _report.render_html(p)
        for target in re.findall(r"\]\(([^)]+)\.md\)", md):
            assert target in stems, (p.stem, target)
        for target in re.findall(r'href="([^"]+)\.html"', page_html):
            assert target in stems, (p.stem, target)


def test_html_is_offline_mathml_without_script(claims, pages):
    by_stem = {p.stem: p for p in pages}
    for c in claims:
        page_html = _report.render_html(by_stem[c.id])
        parser = _Collect()
        parser.feed(page_html)
        assert "script" not in parser.tags
        for name, value in parser.attrs:
            if name in ("src", "href"):
                assert not re.match(r"[a-z]+:", value), value  # no http:, file:, data: ... only relative
        # one display <math> for the statement and one per step, each printed by SymPy (inline
        # mathematics in the prose comes on top)
        display = re.findall(r'<math [^>]*display="block"[^>]*>(.*?)</math>', page_html, flags=re.S)
        assert len(display) == 1 + len(c.steps)
        maths = re.findall(r"<math [^>]*>(.*?)</math>", page_html, flags=re.S)
        for m in maths:
            root = ET.fromstring('<math xmlns="http://www.w3.org/1998/Math/MathML">' + _xml_entities(m) + "</math>")
            assert any(el.tag.endswith(("}mi", "}mn", "}mo")) for el in root.iter())


def test_a_failed_check_shows_on_the_index_and_its_page(claims):
    target = claims[2].id
    pages = _report.render_pages(claims, _fake_rows(claims, fail=target), [], seed=0, quick=True)
    index = _report.render_markdown(pages[0])
    row = next(line for line in index.splitlines() if f"[{target.replace('_', chr(92) + '_')}]" in line)
    assert row.rstrip(" |").endswith("FAILED")
    table = index.split("## Claims", 1)[1].split("\n## ", 1)[0]  # the overview table alone
    rows = [line for line in table.splitlines() if line.startswith("| [")]
    assert len(rows) == len(claims)
    assert len([line for line in rows if "FAILED" not in line]) == len(claims) - 1  # the other claims
    page = next(p for p in pages if p.stem == target)
    assert "FAILED" in _report.render_markdown(page)
    assert 'class="FAILED"' in _report.render_html(page)


def test_numbers_are_printed_reproducibly():
    assert _report.fmt(1 / 3) == "0.3333"
    assert _report.fmt(-0.0) == "0"
    assert _report.fmt(4.4e-11) == "< 1e-08"  # round-off level: printed as a bound
    assert _report.fmt({"a": {"b": 2.0}}) == "a = {b = 2}"


def test_manifest_removes_only_pages_it_wrote(tmp_path, pages):
    (tmp_path / "mine.md").write_text("user file\n")
    extra = _report.Page("C9", "old page", ())
    _report.write_pages(tmp_path, list(pages) + [extra])
    assert (tmp_path / "C9.md").exists()
    written = _report.write_pages(tmp_path, pages)
    assert not (tmp_path / "C9.md").exists() and not (tmp_path / "C9.html").exists()
    assert (tmp_path / "mine.md").read_text() == "user file\n"
    assert sorted(json.loads((tmp_path / _report.MANIFEST).read_text())["files"]) == written


def test_cli_usage_errors(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    for argv, name in ((["report", "--out", str(not_a_dir)], "out"), (["report", "--seed", "-1"], "seed")):
        proc = subprocess.run([sys.executable, "-m", "featavg.cli", *argv], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert name in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------
# the committed report is what `featavg report` writes
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):  # the whole report: slow tier
    out = tmp_path_factory.mktemp("report")
    summary = _report.build_report(out, seed=0, quick=False)
    return out, summary


def _png_pixels(path):
    import matplotlib.image as mpimg

    return mpimg.imread(path)


@pytest.mark.slow
def test_committed_derivations_are_current(regenerated):
    out, summary = regenerated
    # every full-mode row passed: in its band, every rival rejected (a numeric check lists at least one)
    assert summary["failed"] == [] and summary["inconclusive"] == []
    assert len(summary["figures"]) >= 6
    manifest = json.loads((COMMITTED / _report.MANIFEST).read_text())
    assert manifest["files"] == summary["files"], "the committed derivations/ lists other files: regenerate"
    for name in summary["files"]:
        new, old = out / name, COMMITTED / name
        assert old.exists(), f"derivations/{name} is missing: run `featavg report`"
        if name.endswith(".png"):
            # figures may differ only in metadata (there is none: written without it)
            a, b = _png_pixels(new), _png_pixels(old)
            assert a.shape == b.shape and np.array_equal(a, b), f"derivations/{name} is stale"
        else:
            assert new.read_bytes() == old.read_bytes(), f"derivations/{name} is stale: run `featavg report`"
    assert (out / _report.MANIFEST).read_bytes() == (COMMITTED / _report.MANIFEST).read_bytes()
