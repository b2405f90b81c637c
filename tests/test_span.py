"""The span (kernel) form of GD against the primal path, and its failure modes.

Oracle: the primal path (``W <- W - eta D^T X`` with the hand-derived ``loss_and_grad``, itself
checked against SymPy in ``test_theory_gradients.py`` and finite differences in
``test_gradients_fd.py``). The span path (``W_t = W_0 + C_t X``, ``Z = G C^T + X W_0^T + b``,
``simulate/_span.py``) is the same map in exact arithmetic, so the two trajectories may differ
only by float64 round-off.
"""

import numpy as np
import pytest

from featavg.simulate import Config, InvalidParameter, NumericalError, choose_method, gradient_descent
from featavg.simulate import make_network, run_simulation
from featavg.simulate import _span
from featavg.simulate._engine import engine_for

# Round-off of one step is ~n eps relative (sums of n terms in another order); GD on this
# logistic/softmax loss is a contraction-or-mild-expansion map, so over 200 steps the gap grows
# at most to ~1e-13 (measured: <= 2e-15). 1e-10 leaves three orders of room and still fails by
# seven orders under the injected faults below (measured 5.6e-3 without the bias, 42 with G / n).
TRAJECTORY_RTOL = 1e-10
STEPS, EVERY = 200, 20

CASES = {
    # id: Config; eta d ~ 3 as in the paper (eta = 1e-3 at d = 3072)
    "explicit-n<d": dict(k=4, d=600, n=150, m=2, h=2, eta=0.005, engine="explicit"),
    "explicit-n>d": dict(k=3, d=40, n=120, m=3, h=2, eta=0.05, sigma=0.5, engine="explicit"),
    "reduced": dict(k=4, d=5000, n=120, m=2, h=2, eta=3 / 5000, engine="reduced"),
}


def _trajectory(cfg, method):
    cfg, engine = engine_for(cfg)
    a = engine.sample().as_dict()
    net = make_network(cfg.supervision, a["W_init"], a["b_init"], cfg.h)
    target = a["train"].y if cfg.supervision == "binary" else a["train"].clusters
    rows = []

    def observe(t, net, loss):
        rows.append((t, net.W.copy(), net.b.copy(), loss))

    final, loss = gradient_descent(net, engine.training_inputs(a["train"]), target, cfg.eta, cfg.steps,
                                   every=EVERY, observe=observe, method=method)
    return rows, final, loss


def _max_relative_gap(cfg):
    primal, span = _trajectory(cfg, "primal"), _trajectory(cfg, "span")
    gap = 0.0
    for (t, W, b, loss), (t2, W2, b2, loss2) in zip(primal[0], span[0], strict=True):
        assert t == t2
        gap = max(gap, np.abs(W2 - W).max() / np.abs(W).max(), np.abs(b2 - b).max() / np.abs(b).max(),
                  abs(loss2 - loss) / loss)
    gap = max(gap, np.abs(span[1].W - primal[1].W).max() / np.abs(primal[1].W).max())
    return gap, primal


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_span_trajectory_equals_primal_trajectory(case, supervision):
    cfg = Config(**CASES[case], n_test=10, steps=STEPS, init_scale=1e-3, supervision=supervision, seed=4)
    gap, primal = _max_relative_gap(cfg)
    assert gap <= TRAJECTORY_RTOL, gap
    # the trajectory is not trivial: the loss fell well below log 2 (binary) / log k (cluster)
    assert primal[0][-1][3] < 0.5 * primal[0][0][3]
    if case == "reduced":
        assert engine_for(cfg)[0].engine == "reduced"


@pytest.mark.parametrize("fault", ["bias dropped from Z", "Gram matrix divided by n"])
def test_broken_span_path_is_caught_by_the_comparison(fault, monkeypatch):
    cfg = Config(**CASES["explicit-n<d"], n_test=10, steps=STEPS, init_scale=1e-3, seed=4)
    if fault == "bias dropped from Z":
        monkeypatch.setattr(_span, "preactivations", lambda G, Ct, P, b: G @ Ct + P)
    else:
        gram = _span.gram
        monkeypatch.setattr(_span, "gram", lambda X: gram(X) / X.shape[0])
    gap, _ = _max_relative_gap(cfg)
    assert gap > 1e3 * TRAJECTORY_RTOL, gap


@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_span_path_divergence_names_the_step(supervision):
    # eta = 1e308 with unit init overflows the pre-activations within a step or two
    with pytest.raises(NumericalError, match=r"diverged at step [12]\b"):
        run_simulation(k=4, d=50, n=20, eta=1e308, init_scale=1.0, supervision=supervision, method="span")


def test_auto_rule_picks_span_at_the_paper_setting_and_primal_when_it_cannot_pay():
    net = make_network("binary", np.zeros((10, 3072)), np.zeros(10))
    X = np.zeros((1000, 3072))
    assert choose_method(net, X, 100) == "span"  # Gram ~ 1 step of savings per 3 steps
    assert choose_method(net, X, 0) == "primal"  # nothing to amortise the Gram matrix over
    assert choose_method(net, np.zeros((1000, 30)), 100) == "primal"  # n >> d: G costs more than X
    big = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(10_000, 3072), strides=(0, 0))
    assert choose_method(net, big, 100) == "primal"  # G would take 800 MB > SPAN_MAX_BYTES


def test_forced_span_is_refused_for_a_gradient_not_of_span_form(monkeypatch):
    from featavg.simulate import BinaryNetwork

    orig = BinaryNetwork.loss_and_grad
    monkeypatch.setattr(BinaryNetwork, "loss_and_grad", lambda self, X, y: orig(self, X, y))
    net = make_network("binary", np.zeros((4, 30)), np.zeros(4))
    X = np.ones((10, 30))
    assert choose_method(net, X, 100) == "primal"
    with pytest.raises(InvalidParameter, match="method='span'"):
        choose_method(net, X, 100, method="span")
    with pytest.raises(InvalidParameter, match="method='fast'"):
        choose_method(net, X, 100, method="fast")
