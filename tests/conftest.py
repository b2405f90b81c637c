"""Test configuration: hypothesis profiles chosen by ``HYPOTHESIS_PROFILE``, and the order of files.

* ``ci`` (default): derandomised, few examples, no deadline (CI machines are shared);
* ``thorough``: many random examples, for users checking a change in depth
  (``HYPOTHESIS_PROFILE=thorough python -m pytest``).

The longest files run first (:data:`FIRST`). Under pytest-xdist with ``--dist loadfile`` a file is
given whole to one worker, in collection order; collected in name order, the regeneration of the
committed report (about 330 s on one worker, a quarter of the suite's work) started near the end,
and the other worker sat idle for most of it (a clean clone's suite took 614 s).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: test files scheduled first, longest first (``--durations``: the report's regeneration, the fault
#: runs of every check, the derivations' planted errors)
FIRST = ("test_report.py", "test_claims_generic.py", "test_derivations_general.py")


def pytest_collection_modifyitems(session, config, items):
    """Move the files of :data:`FIRST` to the front (a stable sort: the order within a file stays)."""
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))
