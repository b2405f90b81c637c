"""The ``featavg`` command line: JSON output, saved runs, and usage errors (exit 2, no traceback)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from featavg.cli import main

TINY = ["--k", "4", "--d", "30", "--n", "40", "--n-test", "30", "--m", "2", "--steps", "20", "--eta", "0.05"]


def test_simulate_json_has_the_documented_fields(capsys, tmp_path):
    out = tmp_path / "run.npz"
    assert main(["simulate", *TINY, "--seed", "4", "--json", "--save", str(out)]) == 0
    s = json.loads(capsys.readouterr().out)
    for key in ("config", "train_accuracy", "test_accuracy", "final_loss", "averaging_score",
                "decoupling_score", "cosine_matrix"):
        assert key in s
    for key in ("seed", "supervision", "readout", "eta", "steps", "k"):
        assert key in s["config"]
    assert s["config"]["seed"] == 4
    assert np.asarray(s["cosine_matrix"]).shape == (4, 4)
    with np.load(out) as data:
        assert data["W"].shape == (4, 30) and json.loads(str(data["config"]))["seed"] == 4


def test_simulate_summary_is_readable(capsys):
    assert main(["simulate", *TINY, "--supervision", "cluster", "--readout", "sum"]) == 0
    out = capsys.readouterr().out
    assert "averaging score" in out and "readout sum" in out


BAD = [
    (["--k", "1"], "k=1", "2 <= k <= d"),
    (["--k", "40", "--d", "30"], "k=40", "2 <= k <= d = 30"),
    (["--positive", "0"], "positive=0", "1 <= positive <= k - 1"),
    (["--positive", "4"], "positive=4", "1 <= positive <= k - 1 = 3"),
    (["--n", "0"], "n=0", "1 <= n"),
    (["--m", "0"], "m=0", "1 <= m"),
    (["--eta", "0"], "eta=0.0", "> 0.0"),
    (["--eta", "-1"], "eta=-1.0", "> 0.0"),
    (["--eta", "inf"], "eta=inf", "finite"),
    (["--eta", "nan"], "eta=nan", "finite"),
    (["--steps", "-1"], "steps=-1", "0 <= steps"),
    (["--init-scale=-1e-5"], "init_scale=-1e-05", ">= 0.0"),
    (["--sigma", "-1"], "sigma=-1.0", ">= 0.0"),
    (["--supervision", "fine"], "supervision", "binary"),
    (["--readout", "max"], "readout", "argmax"),
    (["--k", "ten"], "--k", "int"),
]


@pytest.mark.parametrize("args,name,valid", BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_input_names_parameter_and_range(args, name, valid, capsys):
    argv = ["simulate", "--d", "30", "--k", "4", "--n", "5", "--steps", "1"]
    with pytest.raises(SystemExit) as exc_info:
        code = main(argv + args)
        raise SystemExit(code)
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert name in err and valid in err and "Traceback" not in err


def test_usage_error_in_a_real_process_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "featavg.cli", "simulate", "--eta", "-3"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "eta=-3.0 is invalid" in proc.stderr and "Traceback" not in proc.stderr


def test_diverging_run_exits_1_without_result(tmp_path, capsys):
    out = tmp_path / "run.npz"
    code = main(["simulate", "--k", "4", "--d", "50", "--n", "20", "--eta", "1e308", "--init-scale", "1",
                 "--save", str(out)])
    assert code == 1
    assert "diverged at step" in capsys.readouterr().err
    assert not out.exists()
