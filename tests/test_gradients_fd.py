"""Hand-derived gradients of both networks against central finite differences.

Oracle: central differences ``(L(theta + e) - L(theta - e)) / (2 e)``, whose truncation error is
``O(e^2)`` away from ReLU kinks. Inputs are drawn so that every pre-activation is at least
``KINK_GAP`` away from 0, far beyond the step, so no difference crosses a kink.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from featavg.simulate import RELU, BinaryNetwork, MultiClassNetwork, make_activation

KINK_GAP = 1e-2
STEP = 1e-5

#: every activation (issue 18) at parameters where its derivative differs from ReLU's; ReLU^1.5 has
#: an unbounded third derivative at 0, but |z| > KINK_GAP keeps the truncation error of the central
#: difference ~ STEP^2 KINK_GAP^-1.5 = 1e-7 relative, inside the 1e-6 of the tests
ACTIVATIONS = (RELU, make_activation("leaky_relu", 0.1), make_activation("leaky_relu", 0.5),
               make_activation("relu_p", 1.5), make_activation("relu_p", 2.0), make_activation("relu_p", 3.0))
_act_ids = st.sampled_from(range(len(ACTIVATIONS)))


def _away_from_kinks(rng, M, d, n):
    """Random W, b, X whose pre-activations all satisfy |z| > KINK_GAP (resampled until so)."""
    while True:
        W = rng.standard_normal((M, d))
        b = rng.standard_normal(M)
        X = rng.standard_normal((n, d))
        if np.abs(X @ W.T + b).min() > KINK_GAP:
            return W, b, X


def _fd_grad(loss, W, b, step):
    gW = np.zeros_like(W)
    gb = np.zeros_like(b)
    for idx in np.ndindex(W.shape):
        e = np.zeros_like(W)
        e[idx] = step
        gW[idx] = (loss(W + e, b) - loss(W - e, b)) / (2 * step)
    for i in range(b.size):
        e = np.zeros_like(b)
        e[i] = step
        gb[i] = (loss(W, b + e) - loss(W, b - e)) / (2 * step)
    return gW, gb


def _rel_err(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 3), d=st.integers(1, 5), n=st.integers(1, 6), act=_act_ids)
def test_binary_gradient_matches_central_differences(seed, m, d, n, act):
    rng = np.random.default_rng(seed)
    W, b, X = _away_from_kinks(rng, 2 * m, d, n)
    y = rng.choice([-1, 1], size=n)
    a = ACTIVATIONS[act]
    _, gW, gb = BinaryNetwork(W, b, a).loss_and_grad(X, y)
    fW, fb = _fd_grad(lambda W_, b_: BinaryNetwork(W_, b_, a).loss_and_grad(X, y)[0], W, b, STEP)
    # tolerance: truncation O(STEP^2 * L''') ~ 1e-10 plus round-off ~ eps / STEP ~ 1e-11, relative
    # to gradients of order 0.1-1; 1e-6 is the bound with ample room
    assert _rel_err(np.concatenate([gW.ravel(), gb]), np.concatenate([fW.ravel(), fb])) < 1e-6


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 4), h=st.integers(1, 2), d=st.integers(1, 4),
       n=st.integers(1, 6), act=_act_ids)
def test_multiclass_gradient_matches_central_differences(seed, k, h, d, n, act):
    rng = np.random.default_rng(seed)
    W, b, X = _away_from_kinks(rng, k * h, d, n)
    clusters = rng.integers(0, k, size=n)
    a = ACTIVATIONS[act]
    _, gW, gb = MultiClassNetwork(W, b, h, a).loss_and_grad(X, clusters)
    fW, fb = _fd_grad(lambda W_, b_: MultiClassNetwork(W_, b_, h, a).loss_and_grad(X, clusters)[0], W, b, STEP)
    # same reasoning as the binary test: O(STEP^2) truncation + O(eps/STEP) round-off << 1e-6
    assert _rel_err(np.concatenate([gW.ravel(), gb]), np.concatenate([fW.ravel(), fb])) < 1e-6


@pytest.mark.parametrize("act", [RELU, make_activation("leaky_relu", 0.1), make_activation("relu_p", 3.0)],
                         ids=["relu", "leaky_relu", "relu_p"])
@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_finite_difference_error_shrinks_at_second_order(kind, act):
    """The FD error must fall like e^2 (slope 2 on log-log): a gradient with a wrong factor would
    leave an O(1) floor and a slope near 0."""
    rng = np.random.default_rng(7)
    W, b, X = _away_from_kinks(rng, 4, 3, 5)
    if kind == "binary":
        y = rng.choice([-1, 1], size=5)
        make = lambda W_, b_: BinaryNetwork(W_, b_, act)  # noqa: E731
        target = y
    else:
        make = lambda W_, b_: MultiClassNetwork(W_, b_, 2, act)  # noqa: E731
        target = rng.integers(0, 2, size=5)
    _, gW, gb = make(W, b).loss_and_grad(X, target)
    steps = np.array([4e-2, 2e-2, 1e-2, 5e-3])
    errs = []
    for s in steps:
        fW, fb = _fd_grad(lambda W_, b_: make(W_, b_).loss_and_grad(X, target)[0], W, b, s)
        errs.append(_rel_err(np.concatenate([gW.ravel(), gb]), np.concatenate([fW.ravel(), fb])))
    slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
    # central differences are exactly second order for smooth L; the fit over a factor 8 in the
    # step can drift by higher-order terms, 0.3 covers that
    assert abs(slope - 2.0) < 0.3, (slope, errs)


def test_wrong_gradient_factor_is_caught():
    """The FD comparison fails for a gradient off by a factor 2 (the check can fail)."""
    rng = np.random.default_rng(3)
    W, b, X = _away_from_kinks(rng, 4, 3, 5)
    y = rng.choice([-1, 1], size=5)
    _, gW, gb = BinaryNetwork(W, b).loss_and_grad(X, y)
    fW, fb = _fd_grad(lambda W_, b_: BinaryNetwork(W_, b_).loss_and_grad(X, y)[0], W, b, STEP)
    assert _rel_err(2 * np.concatenate([gW.ravel(), gb]), np.concatenate([fW.ravel(), fb])) > 0.5


@pytest.mark.parametrize("act", [make_activation("leaky_relu", 0.1), make_activation("relu_p", 3.0)],
                         ids=["leaky_relu", "relu_p"])
def test_relu_derivative_in_place_of_the_activation_is_caught(act):
    """A gradient built with ReLU's derivative 1{z > 0} under another activation fails the FD check."""
    rng = np.random.default_rng(5)
    W, b, X = _away_from_kinks(rng, 4, 3, 6)
    y = rng.choice([-1, 1], size=6)
    net = BinaryNetwork(W, b, act)
    Z = X @ W.T + b
    _, D = net.loss_and_D(Z, y)
    dS = net.activation.derivative(Z)
    wrong = np.divide(D, dS, out=np.zeros_like(D), where=dS != 0) * (Z > 0)
    fW, fb = _fd_grad(lambda W_, b_: BinaryNetwork(W_, b_, act).loss_and_grad(X, y)[0], W, b, STEP)
    assert _rel_err(np.concatenate([(wrong.T @ X).ravel(), wrong.sum(axis=0)]),
                    np.concatenate([fW.ravel(), fb])) > 1e-2
