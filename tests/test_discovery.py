"""Claims are discovered, never listed: adding a claim is adding one module.

* A claim module dropped into a directory that joins the package (``FEATAVG_CLAIMS_PATH``) shows up
  in ``featavg claims``, ``featavg verify``, ``featavg report`` and in the parametrisation of the
  generic tests (``pytest --collect-only``), with no other file touched.
* A user's ``--claims`` file runs beside ours; errors in it are reported per claim (an import error,
  a claim without checks, a duplicate id, a check that raises) while the other claims still run,
  with one clear message each and no traceback; a path that names nothing is a usage error (exit 2).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: a small, complete claim: the averaging net's radius at noise-free points (an exact closed form)
NEW_CLAIM = '''
import numpy as np
import sympy as sp

from featavg.evidence import Band, Check, Outcome, Rival, Term
from featavg.theory import Claim, Step, is_zero, lambdify_prediction

ID = "C9.tiny_averaging"
ORDER = (99, 0)  # after every built-in claim (R2.regime is (9, 1))
d, k = sp.symbols("d k", positive=True)


def derive():
    r = sp.sqrt(d / k)
    return Claim(id=ID, title="tiny", statement=sp.Eq(sp.Symbol("r"), r), assumptions="", regime="exact",
                 steps=(Step("d/(sqrt(k d)) = sqrt(d/k)", sp.Eq(d / sp.sqrt(k * d), r, evaluate=False),
                             lambda: is_zero(d / sp.sqrt(k * d) - r)),),
                 predictions={"radius": lambdify_prediction([d, k], r, "sqrt(d/k)")})


def _measure(ctx):
    from featavg.simulate import averaging_net, make_features, make_partition

    f = make_features(4, 64, ctx.rng(5))
    labels = make_partition(4)
    r = ctx.net_radii(averaging_net(f, labels), f[[0]], np.array([1]))
    pred = float(ctx.prediction(ID, "radius")(64, 4))
    return Outcome(pred, float(r[0]), Band(pred, (Term("exact radius to 1e-9 relative", 1e-9 * pred),)),
                   rivals={"sqrt(d/(k+1))": float(np.sqrt(64 / 5))})


CHECK = Check(ID, "tiny averaging radius", "k=4, d=64, noise-free", _measure,
              rivals=(Rival("sqrt(d/(k+1))", "off by one"),), faults=("closed_form",))
'''


def _cli(*args, env=None, cwd=ROOT):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "featavg", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env)


@pytest.fixture(scope="module")
def dropped(tmp_path_factory):
    """A directory on FEATAVG_CLAIMS_PATH holding one new claim module."""
    d = tmp_path_factory.mktemp("more_claims")
    (d / "c9_tiny_averaging.py").write_text(NEW_CLAIM)
    return {"FEATAVG_CLAIMS_PATH": str(d)}


def test_dropped_module_is_listed_by_claims(dropped):
    proc = _cli("claims", "--json", "--only", "C9", env=dropped)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    row = next(r for r in rows if r["id"] == "C9.tiny_averaging")  # sorted by its ORDER among the built-in claims
    assert row["passed"] and row["numeric_checks"] == ["C9.tiny_averaging"]


def test_dropped_module_runs_in_verify(dropped):
    proc = _cli("verify", "--only", "C9", "--json", env=dropped)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == ["C9.tiny_averaging", "C9.tiny_averaging.symbolic"]
    assert [r["status"] for r in rows] == ["passed", "passed"]
    assert rows[0]["rivals"][0]["status"] == "rejected"


def test_dropped_module_gets_a_report_page(dropped, tmp_path, monkeypatch):
    from featavg import _report
    from featavg._registry import _build, _builtin_modules

    monkeypatch.setenv("FEATAVG_CLAIMS_PATH", dropped["FEATAVG_CLAIMS_PATH"])
    import featavg.claims as pkg

    pkg._extend_path(pkg.__path__)
    try:
        reg = _build([(s, m, True) for s, m in _builtin_modules() if s.endswith("c9_tiny_averaging")])
    finally:
        pkg.__path__[:] = [p for p in pkg.__path__ if p != dropped["FEATAVG_CLAIMS_PATH"]]
    assert reg.ids() == ["C9.tiny_averaging"]
    summary = _report.build_report(tmp_path, figures=False, registry=reg)
    assert "C9.tiny_averaging.md" in summary["files"] and summary["failed"] == []
    assert "C9.tiny\\_averaging" in (tmp_path / "index.md").read_text()


def test_dropped_module_joins_the_generic_tests(dropped):
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/test_claims_generic.py"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **dropped})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test_check_passes_and_rejects_its_rivals[C9.tiny_averaging]" in proc.stdout
    assert "test_claim_builds_and_every_step_passes[C9.tiny_averaging]" in proc.stdout
    assert "C9.tiny_averaging-closed_form" in proc.stdout


# ---- a user's broken claim files -------------------------------------------------------------------

BROKEN = {
    "import_error.py": "import numpy as np\nimport no_such_package_xyz\nID = 'U8.import_error'\n",
    "no_checks.py": textwrap.dedent('''
        import sympy as sp
        from featavg.theory import Claim
        ID = "U8.no_checks"
        def derive():
            return Claim(id=ID, title="t", statement=sp.Integer(1), assumptions="", regime="")
    '''),
    "duplicate.py": NEW_CLAIM.replace('ID = "C9.tiny_averaging"', 'ID = "C3.averaging_radius"')
                            .replace("ORDER = (99, 0)  # after every built-in claim (R2.regime is (9, 1))", ""),
    "raises.py": NEW_CLAIM.replace('ID = "C9.tiny_averaging"', 'ID = "U8.raises"').replace("ORDER = (99, 0)  # after every built-in claim (R2.regime is (9, 1))", "")
                          .replace("    from featavg.simulate import", "    raise RuntimeError('boom in the check')\n"
                                                                       "    from featavg.simulate import"),
    "fine.py": NEW_CLAIM.replace('ID = "C9.tiny_averaging"', 'ID = "U8.fine"').replace("ORDER = (99, 0)  # after every built-in claim (R2.regime is (9, 1))", ""),
}


@pytest.fixture(scope="module")
def broken_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("user_claims")
    for name, text in BROKEN.items():
        (d / name).write_text(text)
    return d


def test_errors_in_user_files_are_reported_per_claim(broken_dir):
    proc = _cli("verify", "--claims", str(broken_dir), "--only", "U8", "--json")
    assert proc.returncode == 1  # some rows failed
    assert "Traceback" not in proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert "ModuleNotFoundError" in rows[str(broken_dir / "import_error.py")]["error"]
    assert "no_such_package_xyz" in rows[str(broken_dir / "import_error.py")]["error"]
    assert "defines no featavg.evidence.Check" in rows["U8.no_checks"]["error"]
    assert "duplicate claim id 'C3.averaging_radius'" in rows["C3.averaging_radius"]["error"]
    assert rows["U8.raises"]["status"] == "failed" and "boom in the check" in rows["U8.raises"]["error"]
    assert rows["U8.fine"]["status"] == "passed" and rows["U8.fine.symbolic"]["status"] == "passed"


def test_bad_claims_path_is_a_usage_error(tmp_path):
    for arg in (str(tmp_path / "missing.py"), "no_such_module_xyz", str(tmp_path)):
        proc = _cli("verify", "--claims", arg, "--only", "C4")
        assert proc.returncode == 2, (arg, proc.stderr)
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert "Traceback" not in proc.stderr and "--claims" in lines[-1], proc.stderr


def test_a_check_that_kills_its_worker_is_a_clear_error(tmp_path):
    """run_check turns a check's exception into a failed row; a check that ends its process (here
    ``os._exit``) breaks verify's worker pool instead: verify names the claims it lost and exits 1
    without a traceback."""
    text = NEW_CLAIM.replace('ID = "C9.tiny_averaging"', 'ID = "U7.dies"').replace(
        "ORDER = (99, 0)  # after every built-in claim (R2.regime is (9, 1))", "").replace(
        "    from featavg.simulate import", "    import os\n    os._exit(3)\n    from featavg.simulate import")
    assert "os._exit(3)" in text
    (tmp_path / "dies.py").write_text(text)
    proc = _cli("verify", "--quick", "--claims", str(tmp_path / "dies.py"), "--only", "U7", "C4", "--workers", "2")
    assert proc.returncode == 1, proc.stderr
    assert "worker process died" in proc.stderr and "U7.dies" in proc.stderr and "--workers 1" in proc.stderr
    assert "Traceback" not in proc.stderr
