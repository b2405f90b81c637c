"""Test configuration: hypothesis profiles chosen by ``HYPOTHESIS_PROFILE``, one BLAS thread per
test process, and the order of files.

* ``ci`` (default): derandomised, few examples, no deadline (CI machines are shared);
* ``thorough``: many random examples, for users checking a change in depth
  (``HYPOTHESIS_PROFILE=thorough python -m pytest``).

The longest files run first (:data:`FIRST`, longest first: a longest-processing-time schedule).
Under pytest-xdist with ``--dist loadfile --no-loadscope-reorder`` (``.ci/run``) a file is given
whole to one worker, in collection order; without ``--no-loadscope-reorder`` xdist orders files by
their number of tests, and the regeneration of the committed report (about 330 s on one worker, a
third of the suite's work, in a file of few tests) started last while the other worker sat idle
(a clean clone's suite: 614 s; with this order and the flag: see README).
"""

import os

from hypothesis import HealthCheck, settings
from threadpoolctl import threadpool_limits

settings.register_profile("ci", derandomize=True, max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: one BLAS thread in every test process: under xdist each core runs a worker, and a second BLAS
#: thread per worker oversubscribes the cores (OpenBLAS threads spin while they wait: the report's
#: regeneration took 485 s beside another worker against 328 s alone). verify's rows and the
#: report's figures are computed on one thread anyway (featavg._verify.one_blas_thread).
_BLAS = threadpool_limits(limits=1, user_api="blas")

#: test files scheduled first, longest first (seconds on one worker, ``--durations``, this machine):
#: the report's regeneration (335), every check's quick and fault runs (158), the planted errors
#: (48), the example claim (42), the SymPy half without the simulator (35), the browser (34), the
#: digits (32), the regime maps (30), verify's CLI (28), the properties (27)
FIRST = ("test_report.py", "test_claims_generic.py", "test_derivations_general.py", "test_example_claim.py",
         "test_layering.py", "test_report_browser.py", "test_digits.py", "test_regime.py", "test_verify_cli.py",
         "test_properties.py")


def pytest_collection_modifyitems(session, config, items):
    """Move the files of :data:`FIRST` to the front (a stable sort: the order within a file stays)."""
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))
