"""Assumptions 3.2 and 3.3 for generated features and partitions; the law of Definition 3.1."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from featavg.simulate import InvalidParameter, make_features, make_partition, sample_mixture


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 12), extra=st.integers(0, 200))
def test_features_are_orthogonal_and_equinorm(seed, k, extra):
    """Assumption 3.2: <mu_i, mu_j> = d delta_ij."""
    d = k + extra
    F = make_features(k, d, np.random.default_rng(seed))
    # QR is backward stable: the Gram matrix is d I up to ~ d * k * eps; 1e-12 relative to d is
    # three orders above that
    np.testing.assert_allclose(F @ F.T / d, np.eye(k), atol=1e-12)


@given(k=st.integers(2, 50))
def test_default_partition_is_nearly_balanced(k):
    """Assumption 3.3 with c = 2: the default |J+| = k // 2 gives 1/2 <= |J+|/|J-| <= 2."""
    labels = make_partition(k)
    p = int((labels == 1).sum())
    assert p == k // 2 and p + int((labels == -1).sum()) == k
    assert 0.5 <= p / (k - p) <= 2.0


def test_partition_respects_positive():
    labels = make_partition(7, positive=2)
    assert labels.tolist() == [1, 1, -1, -1, -1, -1, -1]


@pytest.mark.parametrize("k,positive", [(5, 0), (5, 5), (2, -1)], ids=["zero", "all", "negative"])
def test_partition_rejects_bad_positive(k, positive):
    with pytest.raises(InvalidParameter, match=r"positive=.*1 <= positive <= k - 1"):
        make_partition(k, positive)


def test_samples_follow_definition_3_1():
    """Clusters uniform (chi-square test), labels from the partition, noise N(0, sigma^2 I)."""
    rng = np.random.default_rng(11)
    k, d, n, sigma = 4, 30, 20000, 0.5
    F = make_features(k, d, rng)
    labels = make_partition(k)
    s = sample_mixture(F, labels, n, rng, sigma)
    assert np.array_equal(s.y, labels[s.clusters])
    counts = np.bincount(s.clusters, minlength=k)
    # a fixed seed; the test's false-alarm rate at 1e-3 is what a correct sampler would risk
    assert stats.chisquare(counts).pvalue > 1e-3
    noise = (s.X - F[s.clusters]) / sigma
    # the mean of n d standard normals has std 1/sqrt(n d) ~ 1.3e-3: 5 std is 6.5e-3
    assert abs(noise.mean()) < 5 / np.sqrt(n * d)
    # the sample variance of N = n d normals has std sqrt(2/N) ~ 1.8e-3: 5 std
    assert abs(noise.var() - 1.0) < 5 * np.sqrt(2 / (n * d))
    assert stats.kstest(noise[:, 0], "norm").pvalue > 1e-3


def test_features_reject_k_above_d():
    with pytest.raises(InvalidParameter, match=r"k=5 .*k <= d = 4"):
        make_features(5, 4, np.random.default_rng(0))
