"""``featavg verify``: the checks pass on the real toolkit, and each one fails under an injected fault.

Faults (one per kind of oracle a check relies on):

* ``decouple``: the binary simulator returns a net whose neurons each own one feature (plus a
  positive opposite-class leak) -- the opposite of feature averaging;
* ``average``: the multi-class simulator returns an averaging net (w_j = sum_{J_s} mu_i);
* ``untrained``: the simulator returns the initial network (no training);
* ``closed_form``: every theory prediction is multiplied by 0.7 (a wrong closed form);
* ``gradient``: the binary network's gradient has a wrong factor (x2).
"""

import dataclasses
import json

import numpy as np
import pytest
import sympy as sp

from featavg import _verify
from featavg.cli import main
from featavg.simulate import BinaryNetwork, MultiClassNetwork, run_simulation
from featavg.theory import get_claim
from featavg.theory._claim import Step


def _decouple(cfg, **kw):
    run = run_simulation(cfg, **kw)
    if cfg.supervision == "binary" and cfg.sigma > 0:
        F, labels = run.features, run.cluster_labels
        rows = []
        for s in (1, -1):
            own, opp = F[labels == s], F[labels == -s]
            for r in range(cfg.m):
                rows.append(own[r % len(own)] + 0.2 * opp.sum(axis=0))
        run.network = BinaryNetwork(np.array(rows) / np.sqrt(cfg.d), np.zeros(2 * cfg.m))
    return run


def _average(cfg, **kw):
    run = run_simulation(cfg, **kw)
    if cfg.supervision == "cluster":
        F, labels = run.features, run.cluster_labels
        W = np.stack([F[labels == labels[j]].sum(axis=0) for j in range(cfg.k)]) / np.sqrt(cfg.d)
        run.network = MultiClassNetwork(W, np.zeros(cfg.k), h=1)
    return run


def _untrained(cfg, **kw):
    return run_simulation(dataclasses.replace(cfg, steps=0), **kw)


def _scaled(fn, factor=0.7):
    return lambda *a, **kw: factor * np.asarray(fn(*a, **kw), dtype=float)


def _wrong_closed_form(claim_id):
    c = get_claim(claim_id)
    return dataclasses.replace(c, predictions={k: _scaled(f) for k, f in c.predictions.items()})


FAULTS = {
    "decouple": dict(simulate=_decouple),
    "average": dict(simulate=_average),
    "untrained": dict(simulate=_untrained),
    "closed_form": dict(claim=_wrong_closed_form),
}

#: check id -> the fault that must make it fail
FAULT_TABLE = {
    "C1.coefficient_balance": "decouple",
    "C1.cos_own_feature": "decouple",
    "C1.cos_class_sum": "decouple",
    "C1.opposite_class": "decouple",
    "C1.finite_n_rate": "decouple",
    "C2.test_accuracy": "untrained",
    "C3.averaging_radius": "closed_form",
    "C3.averaging_radius.ideal": "closed_form",
    "C3.noise_correction": "closed_form",
    "C4.threshold_net": "closed_form",
    "C4.optimal_bound": "closed_form",
    "C5.decoupling": "average",
    "C5.readouts.argmax": "average",
    "C5.readouts.sum": "closed_form",
    "C6.mixed_labels": "closed_form",
    "C7.margin_ode": "gradient",
    "C7.gd_step": "gradient",
    "C7.lambert_w": "gradient",
    "C7.equal_margins_attract": "gradient",
    "C1.model_gradients": "gradient",
    "C7.early_gradient": "gradient",
    "C7.early_gradient.rate": "gradient",
    "C7.ce_decoupling": "gradient",
    "C7.lambert_w.trained": "gradient",
    "C7.ce_margin_ode": "gradient",
    "C7.equal_margins_attract.trained": "decouple",
}


def _doubled(orig):
    """A gradient with a wrong factor (x2); the loss is left right."""
    def wrong(self, X, target):
        loss, gW, gb = orig(self, X, target)
        return loss, 2.0 * gW, 2.0 * gb
    return wrong


def _by_id(check_id):
    (check,) = [c for c in _verify.CHECKS if c.id == check_id]
    return check


def test_every_numeric_check_has_a_fault():
    assert set(FAULT_TABLE) == {c.id for c in _verify.CHECKS}


@pytest.mark.parametrize("check_id", sorted(FAULT_TABLE))
def test_check_passes_then_fails_under_fault(check_id, monkeypatch):
    check = _by_id(check_id)
    ok = _verify.run_check(check, _verify.VerifyContext(quick=True))
    assert ok["status"] == "passed", ok
    fault = FAULT_TABLE[check_id]
    if fault == "gradient":
        for cls in (BinaryNetwork, MultiClassNetwork):
            monkeypatch.setattr(cls, "loss_and_grad", _doubled(cls.loss_and_grad))
        ctx = _verify.VerifyContext(quick=True)
    else:
        ctx = _verify.VerifyContext(quick=True, **FAULTS[fault])
    bad = _verify.run_check(check, ctx)
    assert bad["status"] == "failed", bad


def test_wrong_exact_radius_fails_threshold_check():
    from featavg.simulate._robust import exact_radii

    def inflated(*a, **kw):
        out = exact_radii(*a, **kw)
        for r in out:
            r.radius *= 1.01
        return out

    row = _verify.run_check(_by_id("C4.threshold_net"), _verify.VerifyContext(quick=True, exact_radii=inflated))
    assert row["status"] == "failed"


def test_symbolic_check_reports_a_failed_step():
    def broken(claim_id):
        c = get_claim(claim_id)
        return dataclasses.replace(c, steps=c.steps + (Step("wrong", sp.Eq(sp.Integer(0), sp.Integer(1), evaluate=False), lambda: False),))

    check = _verify._symbolic_check("C7.gd_step", "gd step")
    assert _verify.run_check(check, _verify.VerifyContext(quick=True))["status"] == "passed"
    row = _verify.run_check(check, _verify.VerifyContext(quick=True, claim=broken))
    assert row["status"] == "failed" and row["measured"] == row["predicted"] - 1


def test_crashing_check_is_a_failed_row():
    check = _verify.Check("X.crash", None, "crash", "none", "none", "none", lambda ctx: 1 / 0)
    row = _verify.run_check(check, _verify.VerifyContext(quick=True))
    assert row["status"] == "failed" and "ZeroDivisionError" in row["error"]


def test_json_schema_and_exit_code(capsys):
    rc = main(["verify", "--quick", "--json", "--only", "C4", "C7.gd_step"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [r["id"] for r in rows] == ["C4.threshold_net", "C4.optimal_bound", "C7.gd_step",
                                       "C4.threshold_net.symbolic", "C4.optimal_bound.symbolic",
                                       "C7.gd_step.symbolic"]
    for r in rows:
        assert {"id", "title", "status", "predicted", "measured", "tolerance", "reason", "regime",
                "config"} <= set(r)
        assert r["status"] == "passed" and r["config"]["seed"] == 0


def test_table_output_and_failure_exit_code(capsys, monkeypatch):
    orig = BinaryNetwork.loss_and_grad
    monkeypatch.setattr(BinaryNetwork, "loss_and_grad",
                        lambda self, X, y: (lambda o: (o[0], 3.0 * o[1], 3.0 * o[2]))(orig(self, X, y)))
    rc = main(["verify", "--quick", "--only", "C7.gd_step"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "C7.gd_step " in out and "FAIL" in out and "1 failed" in out


def test_unknown_id_exits_2_with_valid_ids(capsys):
    rc = main(["verify", "--only", "C9.nonsense"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "C9.nonsense" in err and "C4.threshold_net" in err and "C1.coefficient_balance" in err
