"""C1.model_gradients: SymPy-derived gradients equal the simulator's hand-derived ones.

The oracle (featavg.theory, SymPy differentiation of the loss over per-coordinate symbols) is
independent of the simulator's NumPy formulas; the tests may import both, theory/ may not.
"""

import numpy as np
import pytest

from featavg.simulate import RELU, BinaryNetwork, MultiClassNetwork, make_activation
from featavg.theory import binary_loss_and_grad_symbolic, multiclass_loss_and_grad_symbolic
from featavg.theory._activations import activation as symbolic_activation
from featavg.theory._activations import derivative_matches

# both sides evaluate the same quantities in float64 through different operation orders; for O(1)
# inputs with n <= 5 terms the discrepancy is a few ulps, so 1e-10 relative leaves a wide margin
# while catching any wrong factor (1/m, 1/n, a sign, ReLU'(0)).
RTOL = 1e-10


def _rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


#: the activations of issue 18 (ReLU first: the default behaviour)
ACTIVATIONS = [RELU, make_activation("leaky_relu", 0.1), make_activation("relu_p", 3.0),
               make_activation("relu_p", 1.5)]
ACT_IDS = ["relu", "leaky_relu_0.1", "relu_p_3", "relu_p_1.5"]


def _cases(shapes):
    """Every shape with ReLU; each other activation on the first shape (each new activation costs one
    SymPy build of the loss, a few seconds)."""
    return ([pytest.param(*s, RELU, id=f"relu-{i}") for i, s in enumerate(shapes)]
            + [pytest.param(*shapes[0], a, id=i) for a, i in zip(ACTIVATIONS[1:], ACT_IDS[1:])])


@pytest.mark.parametrize("seed,n,m,d,act", _cases([(0, 4, 2, 3), (1, 3, 1, 4), (2, 5, 3, 2)]))
def test_binary_gradient_matches_sympy(seed, n, m, d, act):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(2 * m, d)), rng.normal(size=2 * m)
    X = rng.normal(size=(n, d))
    y = rng.choice([-1.0, 1.0], size=n)
    loss_s, gW_s, gb_s = binary_loss_and_grad_symbolic(W, b, X, y, activation=act)
    loss, gW, gb = BinaryNetwork(W.copy(), b.copy(), act).loss_and_grad(X, y)
    assert loss == pytest.approx(loss_s, rel=RTOL)
    assert _rel_err(gW, gW_s) < RTOL
    assert _rel_err(gb, gb_s) < RTOL


@pytest.mark.parametrize("seed,n,k,h,d,act", _cases([(2, 3, 3, 1, 2), (1, 5, 2, 1, 4), (0, 4, 3, 2, 3)]))
def test_multiclass_gradient_matches_sympy(seed, n, k, h, d, act):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(k * h, d)), rng.normal(size=k * h)
    X = rng.normal(size=(n, d))
    clusters = rng.integers(0, k, size=n)
    loss_s, gW_s, gb_s = multiclass_loss_and_grad_symbolic(W, b, X, clusters, h, activation=act)
    loss, gW, gb = MultiClassNetwork(W.copy(), b.copy(), h, act).loss_and_grad(X, clusters)
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


@pytest.mark.parametrize("act", ACTIVATIONS[1:], ids=ACT_IDS[1:])
def test_activation_derivative_at_zero_is_the_stated_convention_in_both(act):
    """At z = 0: leaky ReLU's derivative is its slope a, ReLU^p's is 0 (both halves)."""
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([0.0, 0.5])
    X = np.array([[0.0, 1.0]])  # z = (0, 1.5): the positive neuron sits exactly at 0
    y = np.array([1.0])
    _, gW_s, gb_s = binary_loss_and_grad_symbolic(W, b, X, y, activation=act)
    _, gW, gb = BinaryNetwork(W, b, act).loss_and_grad(X, y)
    want0 = act.param if act.name == "leaky_relu" else 0.0
    assert float(act.derivative(np.array(0.0))) == want0
    assert _rel_err(gW, gW_s) < RTOL and _rel_err(gb, gb_s) < RTOL
    assert (gb[0] == 0.0) == (want0 == 0.0)


@pytest.mark.parametrize("name,param", [("relu", None), ("leaky_relu", 0.1), ("leaky_relu", 0.0), ("relu_p", 3.0),
                                        ("relu_p", 1.0), ("relu_p", 2.5)])
def test_sympy_activation_matches_numpy_values_and_derivatives(name, param):
    """The SymPy form (featavg.theory) and the NumPy object (featavg.simulate) agree in value and
    derivative on a grid that includes the kink; SymPy's derivative is the stated one."""
    import sympy as sp

    from featavg.theory._activations import LAMBDIFY_MODULES

    sym = symbolic_activation(name, param)
    num = make_activation(name, param)
    z = sp.Symbol("z", real=True)
    f = sp.lambdify([z], sym.expr(z), modules=LAMBDIFY_MODULES)
    df = sp.lambdify([z], sym.diff(z), modules=LAMBDIFY_MODULES)
    grid = np.array([-2.0, -0.5, 0.0, 0.3, 1.7])
    assert np.allclose(np.broadcast_to(f(grid), grid.shape), num.value(grid), rtol=1e-14, atol=0)
    assert np.allclose(np.broadcast_to(df(grid), grid.shape), num.derivative(grid), rtol=1e-14, atol=0)
    assert derivative_matches(sym)
