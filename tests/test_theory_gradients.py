"""C1.model_gradients: SymPy-derived gradients equal the simulator's hand-derived ones.

The oracle (featavg.theory, SymPy differentiation of the loss over per-coordinate symbols) is
independent of the simulator's NumPy formulas; the tests may import both, theory/ may not.
"""

import numpy as np
import pytest

from featavg.simulate import BinaryNetwork, MultiClassNetwork
from featavg.theory import binary_loss_and_grad_symbolic, multiclass_loss_and_grad_symbolic

# both sides evaluate the same quantities in float64 through different operation orders; for O(1)
# inputs with n <= 5 terms the discrepancy is a few ulps, so 1e-10 relative leaves a wide margin
# while catching any wrong factor (1/m, 1/n, a sign, ReLU'(0)).
RTOL = 1e-10


def _rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("seed,n,m,d", [(0, 4, 2, 3), (1, 3, 1, 4), (2, 5, 3, 2)])
def test_binary_gradient_matches_sympy(seed, n, m, d):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(2 * m, d)), rng.normal(size=2 * m)
    X = rng.normal(size=(n, d))
    y = rng.choice([-1.0, 1.0], size=n)
    loss_s, gW_s, gb_s = binary_loss_and_grad_symbolic(W, b, X, y)
    loss, gW, gb = BinaryNetwork(W.copy(), b.copy()).loss_and_grad(X, y)
    assert loss == pytest.approx(loss_s, rel=RTOL)
    assert _rel_err(gW, gW_s) < RTOL
    assert _rel_err(gb, gb_s) < RTOL


@pytest.mark.parametrize("seed,n,k,h,d", [(0, 4, 3, 2, 3), (1, 5, 2, 1, 4), (2, 3, 3, 1, 2)])
def test_multiclass_gradient_matches_sympy(seed, n, k, h, d):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(k * h, d)), rng.normal(size=k * h)
    X = rng.normal(size=(n, d))
    clusters = rng.integers(0, k, size=n)
    loss_s, gW_s, gb_s = multiclass_loss_and_grad_symbolic(W, b, X, clusters, h)
    loss, gW, gb = MultiClassNetwork(W.copy(), b.copy(), h).loss_and_grad(X, clusters)
    assert loss == pytest.approx(loss_s, rel=RTOL)
    assert _rel_err(gW, gW_s) < RTOL
    assert _rel_err(gb, gb_s) < RTOL


def test_relu_derivative_at_zero_is_zero_in_both():
    """ReLU'(0) = 0: a neuron exactly at z = 0 gets no gradient from either implementation."""
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([0.0, 0.5])
    X = np.array([[0.0, 1.0]])  # z = (0, 1.5): the positive neuron sits exactly at 0
    y = np.array([1.0])
    _, gW_s, gb_s = binary_loss_and_grad_symbolic(W, b, X, y)
    _, gW, gb = BinaryNetwork(W, b).loss_and_grad(X, y)
    assert gb_s[0] == 0.0 and gb[0] == 0.0 and np.all(gW_s[0] == 0.0) and np.all(gW[0] == 0.0)
    assert _rel_err(gW, gW_s) < RTOL and _rel_err(gb, gb_s) < RTOL
