"""``pip install .`` and ``pip install -e .`` both work in a fresh virtual environment.

The new environment sees this interpreter's site-packages for the dependencies through a ``.pth``
file (whichever interpreter runs the tests: the system one, or a virtual environment whose base
interpreter lacks the dependencies; ``--system-site-packages`` would only reach the base), so only
featavg itself is installed; it must then import as ``featavg.theory`` and ``featavg.simulate``
from outside the repository, with no top-level ``simulate`` or ``theory`` package installed, and
its CLI must run.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.skipif(shutil.which("git") is None, reason="needs git to copy the tracked tree"),
              pytest.mark.slow]


def _fresh_venv(venv):
    """A new venv whose sys.path ends with this interpreter's site-packages (for the dependencies)."""
    import site
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    pure = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(pure, "_featavg_test_parent_site.pth").write_text("\n".join(sorted(p for p in paths if os.path.isdir(p))) + "\n")


@pytest.mark.parametrize("editable", [False, True], ids=["pip install .", "pip install -e ."])
def test_fresh_venv_install(tmp_path, editable):
    src = tmp_path / "src"
    # a copy of the tracked files plus the working tree's changes, as a clean clone would have
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()
    for f in files:
        if (REPO / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, src / f)
    venv = tmp_path / "venv"
    _fresh_venv(venv)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    cmd = [str(py), "-m", "pip", "install", "--no-deps", "--quiet", "--disable-pip-version-check"]
    cmd += ["-e", str(src)] if editable else [str(src)]
    subprocess.run(cmd, check=True, env=env, cwd=tmp_path, capture_output=True)
    probe = ("import importlib.util as u, featavg, featavg.theory, featavg.simulate; "
             "assert u.find_spec('simulate') is None and u.find_spec('theory') is None; "
             "print(featavg.simulate.__file__)")
    out = subprocess.run([str(py), "-c", probe], check=True, env=env, cwd=tmp_path,
                         capture_output=True, text=True).stdout
    location = Path(out.strip()).resolve()
    if editable:
        assert location == (src / "simulate" / "__init__.py").resolve()
    else:
        assert "site-packages" in str(location)
    proc = subprocess.run([str(venv / "bin" / "featavg"), "simulate", "--k", "2", "--d", "4", "--n", "5",
                           "--n-test", "5", "--steps", "2", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert '"averaging_score"' in proc.stdout
