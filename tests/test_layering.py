"""The layering of the three packages, proved in fresh interpreters.

* The SymPy half of every claim (its module, ``derive()``, every step's check) builds in a
  process where ``featavg.simulate`` cannot be imported: the rows of ``featavg claims --json`` are
  computed there, and report every step passed with its generality.
* ``featavg.simulate`` never imports SymPy: a whole run, its metrics and an exact radius leave
  ``sympy`` out of ``sys.modules``; no file of ``simulate/`` names it.
* ``featavg.theory`` never imports the simulator; no file anywhere imports an autodiff library
  (gradients are hand-derived and checked against SymPy and finite differences).
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCK_SIMULATE = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "featavg.simulate" or name.startswith("featavg.simulate."):
            raise ImportError(f"{name} is blocked: the SymPy half must build without the simulator")
        return None
sys.meta_path.insert(0, Block())
"""


def _run(code):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_sympy_half_of_every_claim_builds_without_the_simulator():
    """Every claim builds and every step passes with the simulator blocked, through the rows of
    ``featavg claims --json`` (``featavg._cmd_claims.collect``), which also give each step's
    generality (general or instance, summed)."""
    out = _run(BLOCK_SIMULATE + """
import json
from featavg._cmd_claims import collect
from featavg._registry import default_registry
assert default_registry().errors == [], default_registry().errors
rows = collect(default_registry())
assert not any(m == "featavg.simulate" or m.startswith("featavg.simulate.") for m in sys.modules)
print(json.dumps(rows))
""")
    rows = json.loads(out)
    from featavg._registry import default_registry

    assert [r["id"] for r in rows] == default_registry().ids() and len(rows) >= 10
    for r in rows:
        assert r["passed"] and not r.get("error"), (r["id"], [s for s in r["checks"] if not s["passed"]])
        assert r["general"] + r["instance"] == len(r["checks"]) > 0
        assert all(s["generality"] in ("general", "instance") for s in r["checks"])


def test_the_block_really_blocks():
    """The same block makes an import of the simulator fail (the test above could not pass by accident)."""
    proc = subprocess.run([sys.executable, "-c", BLOCK_SIMULATE + "import featavg.simulate"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0 and "blocked" in proc.stderr


def test_simulate_runs_without_sympy():
    out = _run("""
import sys
from featavg.simulate import Config, run_simulation, exact_radii, run_replicas
run = run_simulation(Config(k=4, d=300, n=40, n_test=5, m=2, steps=20, engine="reduced"))
run.summary()
exact_radii(run.network, run.test.X[:2], run.test.y[:2])
run_replicas(Config(k=4, d=300, n=40, n_test=5, m=2, steps=5), seeds=[0, 1])
print("sympy" in sys.modules, "mpmath" in sys.modules)
""")
    assert out.split() == ["False", "False"]


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_file_of_simulate_imports_sympy():
    for path in (ROOT / "simulate").glob("*.py"):
        assert not any(n == "sympy" or n.startswith("sympy.") or n.startswith("featavg.theory")
                       for n in _imports(path)), path


def test_theory_never_imports_the_simulator():
    for path in (ROOT / "theory").glob("*.py"):
        assert not any(n.startswith("featavg.simulate") or n.startswith("featavg.claims") for n in _imports(path)), path


def test_no_autodiff_anywhere():
    banned = ("torch", "jax", "autograd", "tensorflow", "theano")
    for path in ROOT.rglob("*.py"):
        if any(part in (".venv", "venv", "build") or part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        for n in _imports(path):
            assert n.split(".")[0] not in banned, (path, n)
