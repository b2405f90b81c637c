"""V2.averaged_start: the decoupling time's quadrature against its derived asymptotics.

The derivation step "t_dec is asymptotic to e^{I_0} J/(pi d)" is proved for symbolic p, K (bounds on the
remainder). These tests check the numeric predictions against it: the quadrature along the invariant
(``decoupling_time``) over the asymptotic formula (``decoupling_time_asymptotic``) tends to 1, and its
distance to 1 stays within the derived bound p T + p R e^{-I_0} (T = e^K e^{-p q_0}/p bounds the tail
below e^{-q_0}, R = (p-1) q_0 + K(1 - e^{-q_0}) the non-exponential terms). This was the instance check
at p = K = 5 (quadrature) of the step before it was proved for every p, K.
"""

import numpy as np
import pytest

from featavg import get_claim


@pytest.fixture(scope="module")
def pred():
    return get_claim("V2.averaged_start").predictions


@pytest.mark.parametrize("p, K", [(5, 5), (2, 7), (6, 1)])
@pytest.mark.parametrize("q0", [4.0, 8.0, 16.0])
def test_quadrature_over_asymptotics_is_within_the_derived_bound(pred, p, K, q0):
    ratio = pred["decoupling_time"](q0, p, K, 1.0, 1.0) / pred["decoupling_time_asymptotic"](q0, p, K, 1.0, 1.0)
    i0 = pred["invariant_start"](q0, p, K)
    tail = np.exp(K) * np.exp(-p * q0) / p
    rest = (p - 1) * q0 + K * (1 - np.exp(-q0))
    bound = p * tail + p * rest * np.exp(-i0)
    # 1e-9: the two quadratures' relative tolerances (1e-10 and 1e-12) with room; the bound itself is exact
    assert abs(ratio - 1) <= bound * (1 + 1e-6) + 1e-9


def test_quadrature_tends_to_the_asymptotics_at_p_equal_k_5(pred):
    vals = [pred["decoupling_time"](q0, 5, 5, 1.0, 1.0) / pred["decoupling_time_asymptotic"](q0, 5, 5, 1.0, 1.0)
            for q0 in (4.0, 8.0, 16.0)]
    assert abs(vals[0] - 1) < 1e-2 and abs(vals[-1] - 1) < 1e-6
