"""C7's verify rows discriminate: each passes in quick mode, rejects every rival it names, and fails
under every fault it names (:data:`featavg.evidence.FAULTS`).

The trained checks at d = 1e6 are ``slow`` (:class:`featavg.evidence.Check`): their fault runs
are in the slow tier; their quick pass shares one context with the others, so their windows are
trained once.
"""

import numpy as np
import pytest

from featavg._registry import default_registry
from featavg._verify import VerifyContext, run_check
from featavg.evidence import FAULTS

CHECKS = [c for c in default_registry().checks() if c.claim.startswith("C7.")]
FAULT_CASES = [pytest.param(c, f, id=f"{c.id}-{f}", marks=[pytest.mark.slow] if c.slow else [])
               for c in CHECKS for f in c.faults]


@pytest.fixture(scope="module")
def quick():
    return VerifyContext(quick=True)


def test_every_c7_claim_keeps_a_numeric_check_with_rivals_and_faults():
    claims = {c.claim for c in CHECKS}
    assert claims == {e.id for e in default_registry() if e.id.startswith("C7.")}
    for c in CHECKS:
        assert c.rivals and c.faults, c.id


@pytest.mark.parametrize("check", CHECKS, ids=[c.id for c in CHECKS])
def test_check_passes_in_quick_mode_and_rejects_its_rivals(check, quick):
    row = run_check(check, quick)
    assert row["status"] == "passed", (row.get("error"), row["verdict"])
    assert row["rivals"] and all(r["status"] == "rejected" for r in row["rivals"]), row["rivals"]
    assert row["seeds"], "a statistical row records its seeds"
    assert "CALIBRATED" not in row["tolerance"]
    hw = np.asarray(row["band"]["halfwidth"], dtype=float)
    assert np.all(np.isfinite(hw)) and np.all(hw > 0)


@pytest.mark.parametrize("check, fault", FAULT_CASES)
def test_check_fails_under_each_fault_it_names(check, fault):
    with FAULTS[fault].active() as kw:
        row = run_check(check, VerifyContext(quick=True, **kw))
    assert row["status"] == "failed", (fault, row["verdict"], row.get("error"))
