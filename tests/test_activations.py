"""Activations of issue 18 (relu, leaky_relu, relu_p) through the whole simulator.

Oracles: the activations' closed forms (values and derivatives at hand-picked points), the primal
GD path for the span path (as in ``test_span.py``), central differences for the attacks' input
gradients, brute-force enumeration of activation regions for the certified radii of leaky nets
(both norms: on each region the leaky net is affine), a dense ray search (every direction of a
fine grid, first flip on each ray) for ReLU^p nets in two dimensions, and the ReLU closed forms
for ReLU^p nets whose blocks and families are single neurons (the monotone reduction).
"""

import json
import math

import numpy as np
import pytest

from featavg.cli import main
from featavg.simulate import (RELU, RELU_P_DEFAULTS, BinaryNetwork, Config, InvalidParameter, MultiClassNetwork,
                              averaging_net, exact_radius, gradient_descent, load_run, make_activation, make_features,
                              make_network, make_partition, run_replicas, run_simulation, save_run)
from featavg.simulate._engine import engine_for
from featavg.simulate._robust_attacks import input_gradient, pgd_radii

from test_robust_certified import brute_force_radius

INF = math.inf
LEAKY = make_activation("leaky_relu", 0.2)
CUBE = make_activation("relu_p", 3.0)


# ---------------------------------------------------------------------------------------------
# the objects


def test_values_and_derivatives_at_the_kink_follow_the_stated_conventions():
    z = np.array([-2.0, 0.0, 0.5])
    assert np.array_equal(RELU.value(z), [0.0, 0.0, 0.5]) and np.array_equal(RELU.derivative(z), [0.0, 0.0, 1.0])
    a = make_activation("leaky_relu", 0.1)
    assert np.allclose(a.value(z), [-0.2, 0.0, 0.5]) and np.allclose(a.derivative(z), [0.1, 0.1, 1.0])
    # leaky(z) = a z + (1 - a) ReLU(z): the max-of-affine form the certifier uses
    grid = np.linspace(-3, 3, 13)
    assert np.allclose(a.value(grid), 0.1 * grid + 0.9 * np.maximum(grid, 0.0), rtol=0, atol=1e-15)
    assert np.allclose(CUBE.value(z), [0.0, 0.0, 0.125]) and np.allclose(CUBE.derivative(z), [0.0, 0.0, 0.75])
    assert make_activation("relu_p", 1.0).is_relu and make_activation("leaky_relu", 0.0).is_relu


BAD = [
    (dict(activation="tanh"), "activation"),
    (dict(activation="relu", activation_param=0.1), "activation_param"),
    (dict(activation="leaky_relu"), "activation_param"),
    (dict(activation="leaky_relu", activation_param=1.0), "activation_param"),
    (dict(activation="leaky_relu", activation_param=-0.1), "activation_param"),
    (dict(activation="relu_p"), "activation_param"),
    (dict(activation="relu_p", activation_param=0.5), "activation_param"),
    (dict(activation="relu_p", activation_param=float("nan")), "activation_param"),
]


@pytest.mark.parametrize("kwargs,name", BAD, ids=[f"{k['activation']}-{k.get('activation_param')}" for k, _ in BAD])
def test_bad_activations_name_the_parameter(kwargs, name):
    with pytest.raises(InvalidParameter, match=name):
        Config(**kwargs)


def test_a_network_refuses_an_activation_that_is_not_one():
    with pytest.raises(InvalidParameter, match="activation"):
        BinaryNetwork(np.ones((2, 3)), np.zeros(2), "relu")


def test_config_records_the_activation_and_a_saved_run_restores_it(tmp_path):
    cfg = Config(k=4, d=30, n=40, n_test=10, m=2, steps=5, eta=0.05, activation="relu_p", activation_param=2.5)
    assert cfg.to_dict()["activation"] == "relu_p" and cfg.to_dict()["activation_param"] == 2.5
    run = run_simulation(cfg)
    assert run.network.activation == make_activation("relu_p", 2.5)
    save_run(tmp_path / "r.npz", run)
    back = load_run(tmp_path / "r.npz")
    assert back.network.activation == run.network.activation
    assert np.array_equal(back.network.output(run.test.X), run.network.output(run.test.X))


# ---------------------------------------------------------------------------------------------
# training paths


@pytest.mark.parametrize("act", [LEAKY, CUBE], ids=["leaky_relu", "relu_p"])
@pytest.mark.parametrize("supervision", ["binary", "cluster"])
def test_span_path_equals_primal_path_for_every_activation(act, supervision):
    """loss_and_D carries the activation, so the span path trains what the primal path trains
    (1e-10: the round-off bound of test_span.py's TRAJECTORY_RTOL)."""
    cfg = Config(k=4, d=600, n=150, n_test=10, m=2, h=2, eta=0.005, steps=60, init_scale=1e-2,
                 supervision=supervision, seed=4, activation=act.name, activation_param=act.param)
    cfg, engine = engine_for(cfg)
    a = engine.sample().as_dict()
    net = make_network(cfg.supervision, a["W_init"], a["b_init"], cfg.h, act)
    target = a["train"].y if supervision == "binary" else a["train"].clusters
    X = engine.training_inputs(a["train"])
    p, lp = gradient_descent(net, X, target, cfg.eta, cfg.steps, method="primal")
    s, ls = gradient_descent(net, X, target, cfg.eta, cfg.steps, method="span")
    assert np.abs(s.W - p.W).max() <= 1e-10 * np.abs(p.W).max() and abs(ls - lp) <= 1e-10 * lp
    assert lp < 0.9 * (np.log(2) if supervision == "binary" else np.log(4))  # it trained


def test_stacked_replicas_train_the_activation_too():
    cfg = Config(k=4, d=300, n=60, n_test=10, m=2, eta=0.01, steps=30, init_scale=1e-2, activation="leaky_relu",
                 activation_param=0.3, engine="reduced")
    stacked = run_replicas(cfg, [0, 1], method="stacked")
    loop = run_replicas(cfg, [0, 1], method="loop")
    for a, b in zip(stacked, loop):
        assert a.network.activation == LEAKY.__class__(0.3)
        assert np.abs(a.network.W - b.network.W).max() <= 1e-10 * np.abs(b.network.W).max()


def test_simulate_cli_takes_the_activation_and_relu_p_defaults(capsys):
    tiny = ["simulate", "--k", "4", "--d", "30", "--n", "40", "--n-test", "30", "--m", "2", "--steps", "20", "--json"]
    assert main(tiny + ["--eta", "0.05", "--activation", "leaky_relu", "--activation-param", "0.1"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["config"]["activation"] == "leaky_relu" and s["config"]["activation_param"] == 0.1
    assert main(tiny + ["--activation", "relu_p", "--activation-param", "3"]) == 0
    c = json.loads(capsys.readouterr().out)["config"]
    # the defaults scale as 3072/d from their values at the paper's d = 3072 (docs/science.md)
    scale = 3072 / 30
    assert c["eta"] == pytest.approx(RELU_P_DEFAULTS["eta"] * scale, rel=1e-12)
    assert c["init_scale"] == pytest.approx(RELU_P_DEFAULTS["init_scale"] * scale, rel=1e-12)
    assert main(tiny + ["--eta", "0.05"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["init_scale"] == pytest.approx(
        Config().init_scale * scale, rel=1e-12)


def test_simulate_cli_names_a_missing_activation_parameter(capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["simulate", "--d", "30", "--k", "4", "--n", "5", "--steps", "1",
                               "--activation", "relu_p"]))
    assert exc.value.code == 2 and "activation_param" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# attacks


@pytest.mark.parametrize("act", [LEAKY, CUBE, make_activation("relu_p", 1.5)], ids=["leaky_relu", "relu_p_3", "relu_p_1.5"])
@pytest.mark.parametrize("readout", [None, "argmax", "sum"])
def test_input_gradient_matches_central_differences_for_every_activation(act, readout):
    rng = np.random.default_rng(0)
    d, labels = 5, np.array([1, 1, -1, -1])
    if readout is None:
        net = BinaryNetwork(rng.standard_normal((6, d)), rng.standard_normal(6), act)
    else:
        net = MultiClassNetwork(rng.standard_normal((8, d)), rng.standard_normal(8), h=2, activation=act)
    X = rng.standard_normal((20, d))
    G = input_gradient(net, X, labels, readout)
    step = 1e-6
    for i in range(d):
        E = np.zeros(d)
        E[i] = step
        fd = (net.binary_score(X + E, labels, readout) - net.binary_score(X - E, labels, readout)) / (2 * step)
        # smooth away from kinks and argmax ties (probability ~1 at step 1e-6): truncation
        # O(step^2 |g'''|) ~ 1e-11, round-off ~1e-16/1e-6 = 1e-10
        assert np.allclose(fd, G[:, i], atol=1e-7)


# ---------------------------------------------------------------------------------------------
# certified radii: leaky ReLU against brute force (both norms)


def brute_force_leaky(net, x, y, cluster_labels=None, readout="argmax", norm=2):
    """Exact radius of a leaky net: on each of its 2^M closed activation regions it is affine
    (slope 1 on, ``a`` off), so the flip set there is a polyhedron (``test_robust_certified``'s
    region enumeration, no optimiser)."""
    return brute_force_radius(net, x, y, cluster_labels, readout, norm=norm, slope_off=net.activation.a)


def _tiny(seed, kind, d, width, act):
    rng = np.random.default_rng(seed)
    if kind == "binary":
        return BinaryNetwork(rng.standard_normal((2 * width, d)), rng.standard_normal(2 * width), act), None, "argmax"
    net = MultiClassNetwork(rng.standard_normal((3 * width, d)), rng.standard_normal(3 * width), h=width, activation=act)
    return net, np.array([1, -1, 1]), kind


def _point(net, labels, readout, seed):
    x = np.random.default_rng(seed + 7).standard_normal(net.d)
    return x, (1 if net.binary_score(x[None], labels, readout)[0] > 0 else -1)


#: as test_robust_certified: solvers to ~1e-12 on O(1) data, oracle tolerance 1e-9; a wrong affine
#: term is off by O(a) = O(0.1)
REL_TOL = 1e-6


@pytest.mark.parametrize("method", ["enumerate", "bnb"])
@pytest.mark.parametrize("norm", [2, INF], ids=["L2", "Linf"])
@pytest.mark.parametrize("kind,width,d", [("binary", 1, 2), ("binary", 2, 3), ("argmax", 2, 2), ("sum", 2, 2)])
@pytest.mark.parametrize("seed", range(3))
def test_leaky_certified_radius_equals_brute_force_on_tiny_nets(method, norm, kind, width, d, seed):
    net, labels, readout = _tiny(seed, kind, d, width, LEAKY)
    x, y = _point(net, labels, readout, seed)
    r = exact_radius(net, x, y, labels, readout, norm=norm, method=method)
    oracle = brute_force_leaky(net, x, y, labels, readout, norm=norm)
    assert r.radius == pytest.approx(oracle, rel=REL_TOL, abs=1e-9)
    assert r.lower <= oracle * (1 + 1e-9) + 1e-9 and r.verified and r.status == "solved"
    assert y * net.binary_score((x + r.perturbation)[None], labels, readout)[0] <= 0.0


def test_the_relu_decomposition_is_wrong_for_a_leaky_net():
    """The check can fail: certifying a leaky net as if it were ReLU misses the affine term."""
    misses = 0
    for seed in range(6):
        net, labels, readout = _tiny(seed, "binary", 2, 2, LEAKY)
        x, y = _point(net, labels, readout, seed)
        as_relu = exact_radius(BinaryNetwork(net.W, net.b), x, y).radius
        oracle = brute_force_leaky(net, x, y)
        misses += abs(as_relu - oracle) > 1e-3 * oracle
    assert misses >= 3


# ---------------------------------------------------------------------------------------------
# certified radii: ReLU^p


def ray_oracle(net, x, y, labels, readout, norm, directions=1000, scales=600, t_max=12.0):
    """First flip on the ray of every direction of a fine grid in two dimensions, refined by
    bisection: an upper bound on the radius that converges to it as the grid refines (the angular
    error is second order where the flip set's boundary is smooth). Only the rays whose grid hit is
    within two grid steps of the best one are refined (no other can beat it)."""
    th = np.linspace(0.0, 2 * np.pi, directions, endpoint=False)
    U = np.stack([np.cos(th), np.sin(th)], axis=1)
    scale = np.ones(directions) if norm == 2 else np.abs(U).max(axis=1)
    ts = np.linspace(0.0, t_max, scales + 1)[1:]
    P = x + ts[None, :, None] * U[:, None, :]
    hit = (y * net.binary_score(P.reshape(-1, 2), labels, readout)).reshape(directions, scales) <= 0
    first = np.where(hit.any(axis=1), ts[np.argmax(hit, axis=1)], np.inf) * scale
    if not np.isfinite(first).any():
        return np.inf
    best = np.inf
    for i in np.flatnonzero(first <= first.min() + 2 * t_max / scales):
        u = U[i]
        hi = first[i] / scale[i]
        lo = max(hi - t_max / scales, 0.0)
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if y * net.binary_score((x + mid * u)[None], labels, readout)[0] <= 0:
                hi = mid
            else:
                lo = mid
        best = min(best, hi * scale[i])
    return best


@pytest.mark.parametrize("p", [1.5, 3.0])
@pytest.mark.parametrize("norm", [2, INF], ids=["L2", "Linf"])
@pytest.mark.parametrize("kind", ["binary", "argmax", "sum"])
@pytest.mark.parametrize("seed", range(2))
def test_relu_p_bracket_contains_the_ray_search_radius(p, norm, kind, seed):
    """The certified bracket of a ReLU^p net (spatial branch and bound) closes to 1e-6 and contains
    the radius: its lower end never exceeds the dense ray search (an upper bound), and its upper end
    is a verified flip, so it cannot be above the truth by more than the ray search's grid error."""
    net, labels, readout = _tiny(seed, kind, 2, 2, make_activation("relu_p", p))
    x, y = _point(net, labels, readout, seed)
    r = exact_radius(net, x, y, labels, readout, norm=norm)
    oracle = ray_oracle(net, x, y, labels, readout, norm)
    assert r.status == "solved" and r.verified and r.gap <= 1e-6
    assert r.lower <= oracle * (1 + 1e-9) + 1e-9  # 1e-9 absolute: a point on the boundary has radius 0
    # grid error: 1000 directions, angular step 6.3e-3, second order: ~1e-5 relative; 1e-4 is ample
    assert r.upper <= oracle * (1 + 1e-9) + 1e-9 and r.upper >= oracle * (1 - 1e-4) - 1e-9
    assert y * net.binary_score((x + r.perturbation)[None], labels, readout)[0] <= 0.0


@pytest.mark.parametrize("p", [2.0, 3.0, 4.0])
@pytest.mark.parametrize("m", [1, 3])
def test_relu_p_averaging_net_has_the_relu_radius_exactly(p, m):
    """Identical neurons per sign collapse (sum of n copies of phi(z) = phi(n^{1/p} z)) and phi is
    increasing, so the flip set, hence the radius, is the ReLU net's (both certified to the default
    relative gap 1e-6, so they agree to 2e-6)."""
    k, d = 6, 200
    feats = make_features(k, d, np.random.default_rng(1))
    labels = make_partition(k, 3)
    relu_net = averaging_net(feats, labels, 1.0, 0.7, 0.1 * d, -0.05 * d, m=m)
    net = BinaryNetwork(relu_net.W, relu_net.b, make_activation("relu_p", p))
    for j in (0, k - 1):
        r = exact_radius(net, feats[j], int(labels[j]))
        ref = exact_radius(relu_net, feats[j], int(labels[j]))
        assert r.radius == pytest.approx(ref.radius, rel=2e-6) and r.verified and r.method == "enumerate"


def test_relu_p_nets_are_not_enumerated():
    net, labels, readout = _tiny(0, "binary", 2, 2, CUBE)
    x, y = _point(net, labels, readout, 0)
    for method in ("enumerate", "enumerate-clarabel"):
        with pytest.raises(InvalidParameter, match="method"):
            exact_radius(net, x, y, method=method)


def test_relu_p_certified_radius_is_below_pgd_on_a_trained_net():
    run = run_simulation(Config(k=4, d=200, n=80, n_test=8, m=2, eta=1e-2, init_scale=1e-3, steps=60,
                                activation="relu_p", activation_param=3.0, seed=2))
    X, y = run.test.X, run.test.y
    res = [exact_radius(run.network, xi, int(yi), time_budget=10) for xi, yi in zip(X, y)]
    pgd = pgd_radii(run.network, X, y, steps=20, restarts=2, bisection=12, seed=0)
    up = np.array([r.upper for r in res])
    lo = np.array([r.lower for r in res])
    assert np.all(lo <= up) and np.all(pgd >= up * (1 - 1e-8))
    assert max(r.gap for r in res) <= 1e-6
