"""The example user claim (examples/unbalanced_radius.py) runs through verify and report like ours.

Its check passes and rejects its rival; a deliberately false variant (the rival's formula as the
prediction) fails with its message; the README's walkthrough commands run as written.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "unbalanced_radius.py"


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "featavg", *args], capture_output=True, text=True, cwd=cwd)


def test_example_claim_passes_beside_ours():
    proc = _cli("verify", "--claims", str(EXAMPLE), "--only", "U1", "C3.averaging_radius.ideal", "--json", "--quick")
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert rows["U1.unbalanced_radius"]["status"] == "passed"
    assert rows["U1.unbalanced_radius"]["rivals"][0]["status"] == "rejected"
    assert rows["U1.unbalanced_radius.symbolic"]["status"] == "passed"
    assert rows["C3.averaging_radius.ideal"]["status"] == "passed"


def test_false_variant_of_the_example_fails(tmp_path):
    """The rival's theory stated as the claim: the band now sits on the wrong values and the row fails."""
    text = EXAMPLE.read_text()
    false = text.replace('predicted = np.full(2, float(radius(d_, k_)))',
                         'predicted = np.array([float(own(d_, positive)), float(own(d_, k_ - positive))])')
    false = false.replace('"sqrt(d/(2|J_y|))": np.array([float(own(d_, positive)), float(own(d_, k_ - positive))])',
                          '"sqrt(d/(2|J_y|))": np.full(2, float(radius(d_, k_)))')
    assert false != text
    path = tmp_path / "false_claim.py"
    path.write_text(false)
    proc = _cli("verify", "--claims", str(path), "--only", "U1", "--quick")
    assert proc.returncode == 1
    assert "U1.unbalanced_radius" in proc.stdout and "FAILED" in proc.stdout
    assert "the measured value lies outside the band" in proc.stdout


def _walkthrough_commands():
    """The ``featavg ...`` lines of the README's "Checking your own claim" section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Checking your own claim", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line.split("#")[0].strip() for b in blocks for line in b.splitlines()
            if line.strip().startswith("featavg ")]


def test_readme_walkthrough_names_the_example():
    cmds = _walkthrough_commands()
    assert cmds and all("examples/unbalanced_radius.py" in c or "pytest" in c for c in cmds if "--claims" in c)


@pytest.mark.slow
def test_readme_walkthrough_runs_as_written(tmp_path):  # its report is --only U1: seconds, not minutes
    for cmd in _walkthrough_commands():
        args = cmd.split()[1:]
        proc = _cli(*[a.replace("/tmp/", str(tmp_path) + "/") for a in args])
        assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-2000:])


@pytest.mark.slow
def test_verify_lists_ours_and_the_example_all_passed():
    """The example claim runs beside ours in one process (every claim of ours passing is the committed
    report's test, which runs them all)."""
    proc = _cli("verify", "--claims", str(EXAMPLE), "--only", "U1", "C3", "--json")
    rows = json.loads(proc.stdout)
    ids = [r["id"] for r in rows]
    assert "U1.unbalanced_radius" in ids and "C3.averaging_radius" in ids
    assert [r["id"] for r in rows if r["status"] != "passed"] == []
    assert proc.returncode == 0


def test_the_example_claims_property_test_passes():
    """examples/test_unbalanced_radius.py: the claim across a regime with featavg.testing, and its rival failing."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "examples" / "test_unbalanced_radius.py")], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed" in proc.stdout
