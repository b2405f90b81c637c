"""Training variants (issue 18): adversarial inner steps and training, the averaged start.

Oracles: central finite differences of the adversarial loss in the parameters (the step adversarial
training takes is its gradient at the inner perturbation, Danskin); the closed-form optimum of the
inner problem on a linear region; rotation equivariance (what makes the reduced engine exact);
the certified exact radius's perturbation; and, in V2.averaged_start's built regime (noise-free,
equal counts), the discrete identity I(t+1) - I(t) = Euler + bias + opposite terms to round-off.
"""

import numpy as np
import pytest

from featavg._registry import get_claim
from featavg.simulate import (ADVERSARIAL_SALT, BinaryNetwork, Config, MultiClassNetwork, adversarial_training,
                              averaged_start, centre_preactivations, exact_radii, gradient_descent, input_gradient,
                              make_features, make_partition, nearest_boundary_perturbation, noise_free_sample,
                              pgd_l2_perturbation, run_simulation)


def _small_net(seed=0, m=3, d=12):
    rng = np.random.default_rng(seed)
    return BinaryNetwork(rng.standard_normal((2 * m, d)), 0.1 * rng.standard_normal(2 * m)), rng


def test_pgd_perturbation_lies_in_the_ball_and_the_weights_span():
    net, rng = _small_net()
    X = rng.standard_normal((40, 12))
    y = np.where(rng.random(40) < 0.5, 1, -1)
    rho = pgd_l2_perturbation(net, X, y, 0.7, np.random.default_rng(1))
    assert np.all(np.linalg.norm(rho, axis=1) <= 0.7 * (1 + 1e-12))
    # the span of the 6 weights in R^12: rho has no component orthogonal to it (round-off)
    P = np.linalg.pinv(net.W) @ net.W
    np.testing.assert_allclose(rho @ P, rho, atol=1e-12)
    # it raises every point's loss (y f falls) compared with no perturbation
    assert np.all(y * net.output(X + rho) <= y * net.output(X) + 1e-12)


def test_pgd_on_a_linear_region_reaches_the_closed_form_optimum():
    # every neuron active on the whole ball: f is linear there, grad f = sum_r a_r w_r, and the loss's
    # maximiser over ||rho|| <= eps is rho* = -eps y grad f/||grad f||
    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 8))
    net = BinaryNetwork(W, np.full(4, 50.0))  # pre-activations ~ 50 +- 3 on the ball: all active
    X = 0.3 * rng.standard_normal((10, 8))
    y = np.where(rng.random(10) < 0.5, 1, -1)
    eps = 0.5
    g = input_gradient(net, X)
    best = -eps * y[:, None] * g / np.linalg.norm(g, axis=1, keepdims=True)
    # from rho = 0 every normalised step is along -y grad f, so PGD lands on the optimum and stays (round-off)
    rho = pgd_l2_perturbation(net, X, y, eps, np.random.default_rng(0), steps=10, random_start=False)
    assert np.all(net.preactivations(X + rho) > 0)
    np.testing.assert_allclose(rho, best, atol=1e-12 * eps)
    # from a random start the 10 steps (path 2.5 eps) turn the iterate towards the optimum: on a linear f the
    # loss gain y f(x) - y f(x + rho) = -<y grad f, rho> is cos(angle to the optimum) times eps ||grad f||;
    # from a start uniform in the ball the angle ends below 30 degrees (these seeded starts: a check that the
    # steps ascend the loss, not a rate)
    rho = pgd_l2_perturbation(net, X, y, eps, np.random.default_rng(0), steps=10)
    gain = y * (net.output(X) - net.output(X + rho))
    assert np.all(gain >= np.cos(np.pi / 6) * eps * np.linalg.norm(g, axis=1))


def test_pgd_is_rotation_equivariant():
    # rho(net o O^T, X O^T) = rho(net, X) O^T without a random start: the inner step depends on inner
    # products only, which is why the reduced engine represents adversarial training exactly
    net, rng = _small_net(5)
    X = rng.standard_normal((15, 12))
    y = np.where(rng.random(15) < 0.5, 1, -1)
    O, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    a = pgd_l2_perturbation(net, X, y, 1.3, np.random.default_rng(0), random_start=False)
    rot = BinaryNetwork(net.W @ O.T, net.b.copy())
    b = pgd_l2_perturbation(rot, X @ O.T, y, 1.3, np.random.default_rng(0), random_start=False)
    np.testing.assert_allclose(b, a @ O.T, atol=1e-10)


def test_nearest_boundary_step_follows_the_certified_perturbation():
    cfg = Config(k=4, d=60, n=40, n_test=5, m=2, eta=0.05, steps=60, init_scale=1e-3, seed=2)
    run = run_simulation(cfg)
    net, X, y = run.network, run.train.X[:12], run.train.y[:12]
    eps = 3.0
    rho, r = nearest_boundary_perturbation(net, X, y, eps)
    res = exact_radii(net, X, y)
    for i, x in enumerate(res):
        if x.radius > 0 and np.isfinite(x.radius):
            u = x.perturbation / np.linalg.norm(x.perturbation)
            np.testing.assert_allclose(rho[i], eps * u, atol=1e-12 * eps)
            # the point moved eps along the certified direction: flipped iff its radius is at most eps (ties aside)
            assert (y[i] * net.output(X[i:i + 1] + rho[i])[0] <= 0) == (x.radius <= eps) or abs(x.radius - eps) < 1e-6
    np.testing.assert_allclose(r, [x.radius for x in res])


def test_nearest_boundary_step_pushes_misclassified_points_deeper():
    net, rng = _small_net(7, m=2, d=6)
    X = rng.standard_normal((30, 6))
    y = -np.sign(net.output(X)).astype(int)  # every point misclassified
    y[y == 0] = 1
    rho, r = nearest_boundary_perturbation(net, X, y, 0.5)
    assert np.all(r == 0)
    moved = np.linalg.norm(rho, axis=1) > 0
    assert moved.sum() >= 25
    assert np.all((y * net.output(X + rho))[moved] <= (y * net.output(X))[moved] + 1e-12)


@pytest.mark.parametrize("inner", ["pgd", "exact"])
def test_an_adversarial_step_is_the_gradient_of_the_loss_at_the_inner_perturbation(inner):
    # one step of adversarial_training: (W_0 - W_1)/eta must equal grad_W mean l(y f_W(x + rho)) at the
    # rho the inner step makes at W_0 (Danskin), checked by central finite differences (h = 1e-6: error
    # O(h^2) ~ 1e-12 relative, round-off ~ eps/h ~ 1e-10; tolerance 1e-6 relative)
    cfg = Config(k=4, d=30, n=24, n_test=4, m=2, eta=0.1, steps=1, init_scale=0.3, seed=11)
    eps = 0.8
    run, tr = adversarial_training(cfg, eps, inner=inner, every=1, pgd_steps=5)
    X, y = run.train.X, run.train.y
    net0 = BinaryNetwork(tr.W[0].copy(), tr.b[0].copy())
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, ADVERSARIAL_SALT]))
    if inner == "pgd":
        rho = pgd_l2_perturbation(net0, X, y, eps, rng, steps=5)
    else:
        rho, _ = nearest_boundary_perturbation(net0, X, y, eps)
    step_W = (tr.W[0] - tr.W[1]) / cfg.eta
    step_b = (tr.b[0] - tr.b[1]) / cfg.eta
    h = 1e-6

    def loss(W, b):
        return BinaryNetwork(W, b).loss_and_grad(X + rho, y)[0]

    fd_W = np.zeros_like(net0.W)
    for ix in np.ndindex(net0.W.shape):
        E = np.zeros_like(net0.W)
        E[ix] = h
        fd_W[ix] = (loss(net0.W + E, net0.b) - loss(net0.W - E, net0.b)) / (2 * h)
    fd_b = np.array([(loss(net0.W, net0.b + h * e) - loss(net0.W, net0.b - h * e)) / (2 * h) for e in np.eye(net0.b.size)])
    scale = np.abs(fd_W).max()
    np.testing.assert_allclose(step_W, fd_W, atol=1e-6 * scale)
    np.testing.assert_allclose(step_b, fd_b, atol=1e-6 * scale)
    assert scale > 1e-4  # a real gradient


def test_adversarial_training_validates_its_arguments():
    from featavg.simulate import InvalidParameter

    cfg = Config(k=4, d=30, n=10, n_test=4, m=2, steps=1)
    for kw, name in ((dict(eps=0.0), "eps"), (dict(eps=1.0, inner="fgsm"), "inner"), (dict(eps=1.0, ramp=-1), "ramp"),
                     (dict(eps=1.0, pgd_steps=0), "pgd_steps")):
        with pytest.raises(InvalidParameter) as info:
            adversarial_training(cfg, **kw)
        assert info.value.name == name
    with pytest.raises(InvalidParameter):
        adversarial_training(Config(k=4, d=30, n=10, n_test=4, m=2, steps=1, supervision="cluster"), 1.0)


def test_averaged_start_has_logit_q0_on_its_class_and_zero_elsewhere():
    F = make_features(6, 40, np.random.default_rng(0))
    lab = make_partition(6, 2)
    W, b = averaged_start(F, lab, 1.7, h=2)
    net = MultiClassNetwork(W, b, h=2)
    Z = centre_preactivations(net.W, net.b, F)  # (k h, k)
    same = np.repeat(lab, 2)[:, None] == lab[None, :]
    np.testing.assert_allclose(Z[same], 1.7, rtol=1e-12)
    np.testing.assert_allclose(Z[~same], 0.0, atol=1e-12)


def test_averaged_start_follows_the_invariant_exactly_in_the_built_regime():
    # noise-free data with equal counts (sigma = 0): all other-own outputs at a centre stay equal, and
    # I(t+1) - I(t) = Euler + bias + opposite terms holds step by step to round-off (V2.averaged_start;
    # the tolerance 1e-11 of |I|: 60 steps of O(1) sums, each exact to a few eps)
    pr = get_claim("V2.averaged_start").predictions
    k_, d_, per = 6, 400, 5
    F = make_features(k_, d_, np.random.default_rng(4))
    lab = make_partition(k_, 3)
    train = noise_free_sample(F, lab, per)
    W0, b0 = averaged_start(F, lab, 3.0)
    b0 = b0 - 0.2  # off the kink: the opposite neurons start at -0.2 (at exactly 0, round-off picks their state)
    snaps = []
    eta, steps = 0.02, 60
    gradient_descent(MultiClassNetwork(W0, b0), train.X, train.clusters, eta, steps, every=1, method="primal",
                     observe=lambda t, net, loss: snaps.append((net.W.copy(), net.b.copy())))
    W = np.array([s[0] for s in snaps])
    b = np.array([s[1] for s in snaps])
    Z = centre_preactivations(W, b, F)  # (T, k, k)
    p_, K_ = 3, 3
    pi = 1.0 / k_
    for t_ in range(k_):
        others = np.flatnonzero((lab == lab[t_]) & (np.arange(k_) != t_))
        opp = np.flatnonzero(lab != lab[t_])
        Fo, G = Z[:, t_, t_], Z[:, others, t_]
        np.testing.assert_allclose(G, G[:, :1].repeat(others.size, axis=1), atol=1e-12)  # symmetric
        G = G[:, 0]
        I = np.asarray(pr["invariant"](Fo, G, p_, K_), float)
        dG = np.diff(G)
        euler = np.asarray(pr["euler_term"](G[:-1], dG, K_), float)
        db = np.diff(b, axis=0)
        bias = np.asarray(pr["bias_term"](G[:-1], db[:, t_], db[:, others].mean(axis=1), p_, K_), float)
        fo = np.maximum(Z[:-1, opp, t_], 0.0)
        Zs = np.exp(Fo[:-1]) + others.size * np.exp(G[:-1]) + np.exp(fo).sum(axis=1)
        oppo = eta * pi * d_ * (np.exp(fo).sum(axis=1) - K_) / Zs
        assert G[-1] < G[0] - 0.1 and G.min() > 0  # the mixing logit moved, in the mixed phase
        np.testing.assert_allclose(np.diff(I), euler + bias + oppo, atol=1e-11 * np.abs(I).max())
