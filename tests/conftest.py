"""Test configuration: hypothesis profiles chosen by ``HYPOTHESIS_PROFILE``.

* ``ci`` (default): derandomised, few examples, no deadline (CI machines are shared);
* ``thorough``: many random examples, for users checking a change in depth
  (``HYPOTHESIS_PROFILE=thorough python -m pytest``).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
