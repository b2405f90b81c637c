"""The committed HTML report in a real browser: headless Chromium (Debian's ``chromium``).

Each page of ``derivations/`` is copied to a temporary directory with a probe script appended (the
report itself carries no script); Chromium opens it from disk, the probe measures every ``<math>``
element's laid-out box and computed ``display`` and every image's load state, and writes them into
the DOM, which ``--dump-dom`` prints. A MathML element that the browser did not lay out as
mathematics has no ``math`` display type; an image that did not load has ``naturalWidth`` 0. A
screenshot of the index and of one claim page goes to ``build/browser/``.

``.ci/run`` installs ``chromium`` when it is missing; under ``CI`` a missing browser fails the
test, elsewhere it is skipped with the install command.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a headless browser over every committed page

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "derivations"
SHOTS = ROOT / "build" / "browser"

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

PROBE = """<script>
window.addEventListener('load', () => {
  const maths = Array.from(document.querySelectorAll('math'));
  const r = {
    math: maths.map(m => { const b = m.getBoundingClientRect();
                           return [b.width, b.height, getComputedStyle(m).display]; }),
    images: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.naturalHeight]),
  };
  const pre = document.createElement('pre');
  pre.id = 'featavg-probe';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>"""


def _chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("headless Chromium not installed (Debian: apt-get install -y chromium)")
    return exe


def _run_chromium(exe, args, tmp_path):
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def probe(exe, page, tmp_path):
    """Open ``page`` (a copy with the probe appended) in Chromium; the probe's measurements."""
    probed = page.with_name("_probe_" + page.name)
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _run_chromium(exe, ["--virtual-time-budget=10000", "--dump-dom", probed.as_uri()], tmp_path)
    found = re.search(r'<pre id="featavg-probe">(.*?)</pre>', dom, flags=re.S)
    assert found, f"the probe did not run in {page.name}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    exe = _chromium()
    assert (COMMITTED / "index.html").exists(), "derivations/index.html is missing: run `featavg report`"
    tmp = tmp_path_factory.mktemp("site")
    site = tmp / "derivations"
    shutil.copytree(COMMITTED, site)
    return exe, site, tmp


def _check_page(exe, page, tmp):
    r = probe(exe, page, tmp)
    n_math = page.read_text(encoding="utf-8").count("<math ")
    assert len(r["math"]) == n_math
    for width, height, display in r["math"]:
        assert width > 0 and height > 0, (page.name, width, height)
        assert "math" in display, (page.name, display)  # laid out as MathML, not as unknown inline tags
    for src, complete, w, h in r["images"]:
        assert complete and w > 0 and h > 0, (page.name, src)
    return r


def test_every_page_renders_mathml_and_images(site):
    exe, site_dir, tmp = site
    pages = sorted(p for p in site_dir.glob("*.html") if not p.name.startswith("_probe_"))
    assert len(pages) >= 2
    n_math = n_img = 0
    for page in pages:
        r = _check_page(exe, page, tmp)
        n_math += len(r["math"])
        n_img += len(r["images"])
    assert n_math >= 50  # statements and steps of all claims (about 60 steps)
    index = _check_page(exe, site_dir / "index.html", tmp)
    assert len(index["images"]) >= 6  # the index shows every figure


def test_screenshots(site):
    exe, site_dir, tmp = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    claim_page = sorted(p for p in site_dir.glob("C3.*.html"))[0]
    for page, name in ((site_dir / "index.html", "index.png"), (claim_page, "claim.png")):
        shot = SHOTS / name
        if shot.exists():
            shot.unlink()
        _run_chromium(exe, ["--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()], tmp)
        assert shot.exists() and shot.stat().st_size > 10_000  # a blank page compresses to ~5 kB


def test_the_probe_sees_a_broken_image_and_plain_text(site, tmp_path):
    # the checks can fail: an image that does not exist and a <math> the browser cannot lay out
    # as mathematics (inside an SVG <foreignObject>-less <svg>, it is an unknown element)
    exe, _, tmp = site
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><body><img src="figures/missing.png">'
                    '<svg><math><mi>x</mi></math></svg></body></html>', encoding="utf-8")
    r = probe(exe, page, tmp)
    assert r["images"][0][2] == 0  # naturalWidth 0: not loaded
    width, height, display = r["math"][0]
    assert not (width > 0 and height > 0 and "math" in display)
