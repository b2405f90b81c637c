"""C1.feature_averaging and C5.decoupling: every check passes and rejects its rivals (its faults: the
generic tests, tests/test_claims_generic.py).

The checks measure trained nets at the paper's setting against predictions from the sizes, the
sample and the initial weights (the claim modules' evidence sections); a pass means the band holds
and every listed rival is rejected. Each check names the faults of ``featavg.evidence.FAULTS`` it
must catch (a simulator that decouples binary nets or averages cluster nets, an untrained run, every
closed form off by 0.7); under each, the check must fail.
"""

import pytest

from featavg._registry import default_registry
from featavg._verify import VerifyContext, run_check

IDS = ("C1.feature_averaging", "C5.decoupling")


def _checks():
    return [c for c in default_registry().checks() if any(c.id == i or c.id.startswith(i + ".") for i in IDS)]


CHECKS = _checks()


@pytest.fixture(scope="module")
def quick_rows():
    """Every check of C1.feature_averaging and C5.decoupling, run once in one quick context (seed 0)."""
    ctx = VerifyContext(quick=True)
    return {c.id: run_check(c, ctx) for c in CHECKS}


def test_the_checks_are_the_expected_ones():
    ids = {c.id for c in CHECKS}
    assert ids == {"C1.feature_averaging.noise_share", "C1.feature_averaging.cos_class_sum",
                   "C1.feature_averaging.cos_own_feature", "C1.feature_averaging.opposite_class",
                   "C1.feature_averaging.finite_n_rate", "C5.decoupling", "C5.decoupling.off_feature"}
    for c in CHECKS:
        assert c.rivals and c.faults, c.id


@pytest.mark.parametrize("check_id", sorted(c.id for c in CHECKS))
def test_check_passes_and_rejects_every_rival(quick_rows, check_id):
    row = quick_rows[check_id]
    assert row["status"] == "passed", (row.get("error"), row["verdict"], row["tolerance"])
    assert row["rivals"], check_id
    for rival in row["rivals"]:
        assert rival["status"] == "rejected", (check_id, rival["name"])


@pytest.mark.parametrize("check_id", sorted(c.id for c in CHECKS))
def test_band_is_derived_and_printed_with_its_reasons(quick_rows, check_id):
    row = quick_rows[check_id]
    assert row["band"]["terms"], check_id
    assert not any(t["name"].startswith("CALIBRATED") for t in row["band"]["terms"]), check_id
    assert row["seeds"], check_id


def test_the_averaging_score_parts_add_up(quick_rows):
    """The averaging score's prediction is its parts' (score_from_parts): it sits between the rival
    'noise share only' (no spread, no opposite part) and the rival without the opposite part."""
    row = quick_rows["C1.feature_averaging.cos_class_sum"]
    rivals = {r["name"]: r["predicted"] for r in row["rivals"]}
    assert row["predicted"] < rivals["no opposite-class coefficients"] < rivals["1/sqrt(1 + k/n) (noise share only)"]


# Every check failing under each fault it names: tests/test_claims_generic.py (test_check_fails_under_each_fault_it_names, over every discovered check).
