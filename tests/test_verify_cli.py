"""``featavg verify`` as a command: JSON schema, the table, exit codes, usage errors.

The verdicts themselves are tested claim by claim in ``tests/test_claims_generic.py``.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from featavg import _verify
from featavg._registry import default_registry
from featavg.cli import main
from featavg.evidence import Band, Check, Outcome, Rival, Term
from featavg.simulate import BinaryNetwork
from featavg.theory import Step

ROW_KEYS = {"id", "claim", "kind", "title", "status", "predicted", "measured", "band", "interval", "seeds",
            "rivals", "baseline", "tolerance", "verdict", "regime", "details", "config", "seconds"}


def test_json_schema_and_exit_code(capsys):
    rc = main(["verify", "--quick", "--json", "--only", "C4", "C7.gd_step"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [r["id"] for r in rows] == ["C4.threshold_net", "C4.threshold_net.symbolic", "C4.optimal_bound",
                                       "C4.optimal_bound.symbolic", "C7.gd_step", "C7.gd_step.symbolic"]
    for r in rows:
        assert ROW_KEYS <= set(r), ROW_KEYS - set(r)
        assert r["status"] == "passed" and r["config"].get("seed", 0) == 0
        if r["kind"] == "numeric":
            assert {"lo", "hi", "halfwidth", "terms", "text"} <= set(r["band"])
            assert r["rivals"] and all({"name", "why", "predicted", "status"} <= set(x) for x in r["rivals"])


def test_table_fits_100_columns_and_a_failure_exits_1(capsys, monkeypatch):
    orig = BinaryNetwork.loss_and_grad
    monkeypatch.setattr(BinaryNetwork, "loss_and_grad",
                        lambda self, X, y: (lambda o: (o[0], 3.0 * o[1], 3.0 * o[2]))(orig(self, X, y)))
    # --workers 1: the monkeypatched simulator lives in this process only
    rc = main(["verify", "--quick", "--workers", "1", "--only", "C7.gd_step", "C1.model_gradients"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "C7.gd_step " in out and "FAILED" in out and "failed" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_rows_do_not_depend_on_the_number_of_workers(capsys):
    """Claims run in two processes give the serial rows bit for bit (``seconds`` aside), in registry
    order: every value derives from the seed and the check's salts, on one BLAS thread."""
    argv = ["verify", "--quick", "--json", "--only", "C7.gd_step", "C4", "C6"]
    results = []
    for workers in ("1", "2"):
        assert main(argv + ["--workers", workers]) == 0
        results.append([{k: v for k, v in r.items() if k != "seconds"} for r in json.loads(capsys.readouterr().out)])
    serial, parallel = results
    assert [r["id"] for r in serial] == [r["id"] for r in parallel]
    assert [r["id"] for r in serial][:2] == ["C4.threshold_net", "C4.threshold_net.symbolic"]  # registry order
    assert serial == parallel


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_bad_workers_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(["verify", "--quick", "--workers", value])
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert "--workers" in err and "integer >= 1" in err and "Traceback" not in err


def test_inconclusive_rows_exit_3():
    """A check whose band accepts its rival is inconclusive, which is not passed (exit 3)."""
    check = Check("X.inconclusive", "t", "r", lambda ctx: Outcome(1.0, 1.0, Band(1.0, (Term("wide", 0.5),)),
                                                                 rivals={"1.1": 1.1}),
                  rivals=(Rival("1.1", "close"),))
    row = _verify.run_check(check, _verify.VerifyContext(quick=True))
    assert row["status"] == "inconclusive" and row["rivals"][0]["status"] == "accepted"
    assert _verify.exit_status([row]) == 3
    failing = dict(row, status="failed")
    assert _verify.exit_status([row, failing]) == 1


def test_crashing_check_is_a_failed_row():
    check = Check("X.crash", "crash", "none", lambda ctx: 1 / 0, rivals=(Rival("r", "r"),))
    row = _verify.run_check(check, _verify.VerifyContext(quick=True))
    assert row["status"] == "failed" and "ZeroDivisionError" in row["error"]


def test_symbolic_row_reports_a_failed_step():
    import dataclasses

    entry = default_registry().get("C7.gd_step")
    ok = _verify.symbolic_row(entry, _verify.VerifyContext(quick=True))
    assert ok["status"] == "passed"

    def broken(claim_id):
        c = default_registry().claim(claim_id)
        wrong = Step("wrong", sp.Eq(sp.Integer(0), sp.Integer(1), evaluate=False), lambda: False)
        return dataclasses.replace(c, steps=c.steps + (wrong,))

    row = _verify.symbolic_row(entry, _verify.VerifyContext(quick=True, claim=broken))
    assert row["status"] == "failed" and row["measured"] == row["predicted"] - 1


def test_unknown_id_exits_2_with_valid_ids(capsys):
    rc = main(["verify", "--only", "C9.nonsense"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "C9.nonsense" in err and "C4.threshold_net" in err


@pytest.mark.parametrize("args", [["--seed", "-1"], ["--seed", "x"], ["--only"], ["--claims", "nowhere/x.py"]],
                         ids=["negative seed", "non-integer seed", "empty only", "bad claims path"])
def test_usage_errors_exit_2_without_traceback(args):
    proc = subprocess.run([sys.executable, "-m", "featavg", "verify", *args], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len([x for x in proc.stderr.splitlines() if "error" in x]) == 1


def test_band_describes_itself_with_its_reasons():
    band = Band(10.0, (Term("t(3) x standard error", 0.3, "stat"), Term("t x se 2", 0.4, "stat"),
                       Term("bound on the neglected term", 0.25)))
    assert band.halfwidth == pytest.approx(0.5 + 0.25)  # quadrature of the stat terms, plus the bound
    assert band.accepts(10.74) and not band.accepts(10.76) and band.accepts(9.26)
    text = band.describe()
    for name in ("t(3) x standard error", "bound on the neglected term", "0.75"):
        assert name in text
    vec = Band(np.array([1.0, 2.0]), (Term("round-off", np.array([0.1, 0.2])),))
    assert vec.accepts([1.05, 2.15]) and not vec.accepts([1.05, 2.25])
    assert vec.around(np.array([3.0, 4.0])).accepts([3.1, 4.2])
