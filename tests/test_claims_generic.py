"""Generic tests of every discovered claim module: parametrised by discovery, never by a list.

For every claim (``featavg.claims`` plus any directory on ``FEATAVG_CLAIMS_PATH``):

* its SymPy half builds, every derivation step's machine check passes, and it offers predictions;
* every numeric check (quick mode) passes: the measured value lies in its derived band and every
  rival it lists is rejected (each check must list at least one);
* every check fails under every fault it names (a simulator that decouples, a wrong closed form,
  a wrong gradient, ...): a check that cannot fail is not evidence;
* no band carries a placeholder term (``CALIBRATED``): every half-width is derived.

The oracle of each check is independent of the code it tests by construction of the check (a
SymPy prediction against the simulator); here we test that the verdict machinery is sound.

Tiers: the tests that run the checks (a quick ``featavg verify`` and one more run per fault) are in
the slow tier; building every claim and running its steps is in the fast one.
"""

import pytest

from featavg import _verify
from featavg._registry import discover
from featavg.evidence import FAULTS

REGISTRY = discover()
CLAIM_IDS = REGISTRY.ids()
CHECKS = {c.id: c for c in REGISTRY.checks()}
FAULT_PAIRS = [(c.id, f) for c in REGISTRY.checks() for f in c.faults]


class _Rows(dict):
    """Rows computed on first use, all in one quick context (runs shared through its cache)."""

    def __init__(self):
        super().__init__()
        self.ctx = _verify.VerifyContext(quick=True, registry=REGISTRY)

    def __missing__(self, check_id):
        self[check_id] = _verify.run_check(CHECKS[check_id], self.ctx)
        return self[check_id]


@pytest.fixture(scope="module")
def quick_rows():
    return _Rows()


_FAULT_CONTEXTS = {}


def _fault_row(check, fault_name):
    fault = FAULTS[fault_name]
    with fault.active() as kwargs:
        key = fault_name
        if key not in _FAULT_CONTEXTS:
            _FAULT_CONTEXTS[key] = _verify.VerifyContext(quick=True, registry=REGISTRY, **kwargs)
        return _verify.run_check(check, _FAULT_CONTEXTS[key])


def test_discovery_found_the_claims_without_errors():
    assert REGISTRY.errors == []
    assert len(CLAIM_IDS) >= 10 and len(set(CLAIM_IDS)) == len(CLAIM_IDS)
    assert all(e.checks for e in REGISTRY), "every claim has at least one numeric check"


@pytest.mark.parametrize("claim_id", CLAIM_IDS)
def test_claim_builds_and_every_step_passes(claim_id):
    claim = REGISTRY.claim(claim_id)
    assert claim.id == claim_id
    results = claim.run_checks()
    assert results, "a claim has at least one derivation step"
    assert [r["step"] for r in results if not r["passed"]] == []
    assert claim.predictions, "every claim offers at least one numeric prediction"
    assert isinstance(claim.statement_latex, str) and claim.statement_latex


@pytest.mark.slow
@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_check_passes_and_rejects_its_rivals(check_id, quick_rows):
    check = CHECKS[check_id]
    assert check.rivals, f"{check_id} lists no rival: a pass would not discriminate"
    row = quick_rows[check_id]
    assert "error" not in row, row["error"]
    assert row["status"] == "passed", (row["status"], row["verdict"], row["rivals"])
    assert all(r["status"] == "rejected" for r in row["rivals"])


@pytest.mark.slow
@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_band_terms_are_derived(check_id, quick_rows):
    row = quick_rows[check_id]
    assert row["band"] is not None
    names = [t["name"] for t in row["band"]["terms"]]
    assert names and not any("CALIBRATED" in n for n in names), names


@pytest.mark.slow
@pytest.mark.parametrize(("check_id", "fault"), FAULT_PAIRS, ids=[f"{c}-{f}" for c, f in FAULT_PAIRS])
def test_check_fails_under_each_fault_it_names(check_id, fault, quick_rows):
    assert quick_rows[check_id]["status"] == "passed"
    row = _fault_row(CHECKS[check_id], fault)
    assert row["status"] == "failed", (fault, row["verdict"], row.get("error"))


def test_every_check_names_a_fault():
    assert all(c.faults for c in REGISTRY.checks())
    unknown = sorted({f for c in REGISTRY.checks() for f in c.faults} - set(FAULTS))
    assert unknown == []
