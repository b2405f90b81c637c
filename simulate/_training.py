r"""Training variants (issue 18): GD from a given start with a recorded trajectory, and adversarial training.

Everything here is plain full-batch gradient descent on the two networks of docs/science.md §1
with their hand-derived gradients (:mod:`._networks`); what changes is the start or the inputs
each step sees.

* :func:`averaged_start`: the multi-class net whose every output of class ``s`` is the averaged
  neuron ``w_j = (q_0/d) sum_{i in J_s} mu_i`` (bias 0), so that under Assumption 3.2 every output
  of a class has pre-activation ``q_0`` at every own-class centre and 0 at the others. Cluster-label
  GD from it asks whether the labels undo averaging (the dynamical content of the paper's
  Proposition 4.8; :mod:`featavg.claims` ``V2.averaged_start``).
* :func:`train_from`: GD on a run's sampled data from given initial weights, recording snapshots
  of ``(W, b)`` every ``every`` steps (a :class:`Trajectory`).
* Adversarial training (Madry et al. 2018, arXiv 1706.06083, eq. 2.1): each GD step descends the
  loss at perturbed inputs ``x_i + rho_i``, ``rho_i`` an (approximate) maximiser of the point's loss
  ``l(y_i f(x_i + rho))`` over ``||rho|| <= eps`` at the current weights:

  - ``inner="pgd"``: PGD-L2 (:func:`pgd_l2_perturbation`): a random start uniform in the ball of
    the span of the weights, ``steps`` normalised-gradient steps of size ``step_ratio eps / steps``
    on the loss, projection on the ball; the final iterate. Since ``l`` decreases, the loss's input
    gradient ``l'(y f) y grad_x f`` points along ``-y grad_x f``, so the steps descend ``y f``
    (input gradients of :func:`._robust_attacks.input_gradient`, ``ReLU'(0) = 0``).
  - ``inner="exact"``: the certified minimal perturbation of :func:`._robust.exact_radii`
    (``RadiusResult.perturbation``, the nearest point of the decision boundary, in the span of the
    weights), rescaled to norm ``eps``: each point moves ``eps`` towards its nearest boundary point,
    a misclassified one ``eps`` away from it (:func:`nearest_boundary_perturbation`). Exact but
    costly: meant for small ``m`` (``2^m`` convex pieces per point); from a small initialisation it
    needs the radius ramp (``ramp``).

  Both perturbations lie in the span of the current weights, which lies in the span of the
  features, the training inputs and the initial weights, so the reduced engine's coordinates
  (:mod:`._reduced`) represent every iterate exactly: adversarial training on the reduced engine
  has the law of adversarial training in ``R^d`` with the same inner steps restricted to the
  span of the weights (the L2 inner problem's optimum and every PGD step without its random start
  lie there; the random start is drawn in that span, not in all of ``R^d``).

Randomness: the PGD random starts come from the generator passed in (:func:`adversarial_training`
derives it from ``SeedSequence([config.seed, ADVERSARIAL_SALT])``), so a run is reproducible.
"""

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ._engine import engine_for
from ._errors import InvalidParameter, NumericalError
from ._robust import exact_radii, span_basis
from ._robust_attacks import input_gradient
from ._validate import validate_choice, validate_int, validate_real

__all__ = ["Trajectory", "averaged_start", "train_from", "pgd_l2_perturbation", "nearest_boundary_perturbation",
           "adversarial_training", "INNER_STEPS", "ADVERSARIAL_SALT", "centre_preactivations"]

#: the inner maximisations of adversarial training
INNER_STEPS = ("pgd", "exact")

#: salt of the PGD random starts' generator, ``SeedSequence([config.seed, ADVERSARIAL_SALT])``
ADVERSARIAL_SALT = 18


@dataclass
class Trajectory:
    """Snapshots of a GD run.

    Attributes
    ----------
    steps : ndarray of int, shape (T,)
        The steps recorded (``0, every, 2 every, ..., steps``), before that step's update.
    W : ndarray, shape (T, M, d)
    b : ndarray, shape (T, M)
    loss : ndarray, shape (T,)
        The (clean, or adversarial for adversarial training) empirical loss at each snapshot.
    eta : float
    """

    steps: np.ndarray
    W: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    eta: float
    extra: dict = field(default_factory=dict)

    @property
    def times(self):
        """``t = eta * step``, shape (T,): the gradient-flow time of each snapshot."""
        return self.eta * self.steps


def centre_preactivations(W, b, features):
    """``Z_{rt} = <w_r, mu_t> + b_r``, shape (M, k) (or (T, M, k) for stacked snapshots)."""
    return np.einsum("...rd,td->...rt", W, features) + np.asarray(b)[..., None]


def averaged_start(features, cluster_labels, q0, h=1):
    r"""The averaged multi-class start: ``w_{j,r} = (q_0/d) sum_{i in J_{s(j)}} mu_i``, biases 0.

    Under Assumption 3.2 (``<mu_i, mu_j> = d delta_ij``) every output of class ``s`` has
    pre-activation ``q_0`` at each centre ``mu_t``, ``t in J_s``, and 0 at the others: a net that
    fits the binary labels by feature averaging and scores every own-class output alike.

    Parameters
    ----------
    features : ndarray, shape (k, d)
    cluster_labels : ndarray, shape (k,)
    q0 : float
        The own-class pre-activation, ``> 0``.
    h : int
        Neurons per output (all ``h`` copies equal).

    Returns
    -------
    W_init : ndarray, shape (k h, d)
    b_init : ndarray, shape (k h,)
    """
    q0 = validate_real("q0", q0, low=0.0, low_open=True)
    h = validate_int("h", h, low=1)
    labels = np.asarray(cluster_labels)
    sums = {s: features[labels == s].sum(axis=0) for s in (1, -1)}
    dd = float(np.mean(np.einsum("jd,jd->j", features, features)))  # mean ||mu_j||^2: d under Assumption 3.2
    W = np.stack([sums[int(s)] for s in labels]) * (q0 / dd)
    return np.repeat(W, h, axis=0), np.zeros(labels.size * h)


def _sampled(config):
    cfg, engine = engine_for(config)
    return cfg, engine, engine.sample().as_dict()


def _snapshot(rec, t, net, loss):
    rec["steps"].append(t)
    rec["W"].append(net.W.copy())
    rec["b"].append(net.b.copy())
    rec["loss"].append(loss)


def _trajectory(rec, eta, extra=None):
    return Trajectory(np.asarray(rec["steps"]), np.asarray(rec["W"]), np.asarray(rec["b"]), np.asarray(rec["loss"]),
                      float(eta), extra or {})


def train_from(config, W_init, b_init, every=1):
    """GD on ``config``'s sampled data from the given initial weights, with snapshots.

    Parameters
    ----------
    config : Config
        Its data (features, partition, training and test samples) are drawn from its seed as in
        :func:`._run.run_simulation`; its ``init_scale`` is unused.
    W_init : ndarray, shape (M, d)
        In the engine's working coordinates (``d`` or ``k + n + M``).
    b_init : ndarray, shape (M,)
    every : int
        Snapshot period (``>= 1``).

    Returns
    -------
    run : Run
        As :func:`._run.run_simulation` makes it (``W_init``/``b_init`` the given ones).
    trajectory : Trajectory
    """
    from ._run import Run, gradient_descent, make_network

    every = validate_int("every", every, low=1)
    cfg, engine, a = _sampled(config)
    net0 = make_network(cfg.supervision, np.asarray(W_init, float), np.asarray(b_init, float), cfg.h)
    if net0.W.shape != (cfg.neurons, engine.dimension):
        raise InvalidParameter("W_init", f"array of shape {net0.W.shape}",
                               f"shape ({cfg.neurons}, {engine.dimension}) (the engine's working coordinates)")
    a["W_init"], a["b_init"] = net0.W.copy(), net0.b.copy()
    train = a["train"]
    target = train.y if cfg.supervision == "binary" else train.clusters
    rec = {"steps": [], "W": [], "b": [], "loss": []}
    start = time.perf_counter()
    net, loss = gradient_descent(net0, engine.training_inputs(train), target, cfg.eta, cfg.steps, every=every,
                                 observe=lambda t, n_, l_: _snapshot(rec, t, n_, l_))
    seconds = time.perf_counter() - start
    run = Run(config=cfg, network=net, final_loss=loss, seconds=seconds, **a)
    return run, _trajectory(rec, cfg.eta)


# ---------------------------------------------------------------------------------------------
# adversarial training
# ---------------------------------------------------------------------------------------------

def pgd_l2_perturbation(net, X, y, eps, rng, *, steps=10, step_ratio=2.5, random_start=True):
    """PGD-L2 ascent of each point's loss in the ball ``||rho|| <= eps`` of the weights' span.

    Parameters
    ----------
    net : BinaryNetwork or MultiClassNetwork
        Scored by ``net.binary_score`` (the binary net in adversarial training).
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Labels in ``{+1, -1}``.
    eps : float
        Ball radius, ``> 0``.
    rng : numpy.random.Generator
        Draws the random starts (uniform in the ball of the ``p``-dimensional span: a Gaussian
        direction, then a radius ``eps u^{1/p}``), one per point.
    steps : int
    step_ratio : float
        Step size ``step_ratio eps / steps`` (Madry et al.'s 2.5).
    random_start : bool

    Returns
    -------
    rho : ndarray, shape (n, d)
        In the span of ``net.W`` (module docstring): ``rho = A Q^T`` with ``Q = span_basis(W)``.
    """
    Q = span_basis(net.W)
    n, p = X.shape[0], Q.shape[1]
    if p == 0:
        return np.zeros_like(X)
    U = X @ Q
    small = dataclasses.replace(net, W=net.W @ Q, b=net.b.copy())  # W x = (W Q)(Q^T x): exact in the span
    if random_start:
        A = rng.standard_normal((n, p))
        A *= (eps * rng.random(n) ** (1.0 / p) / np.maximum(np.linalg.norm(A, axis=1), 1e-300))[:, None]
    else:
        A = np.zeros((n, p))
    alpha = step_ratio * eps / steps
    yy = np.asarray(y, dtype=float)[:, None]
    for _ in range(steps):
        G = yy * input_gradient(small, U + A)  # grad of y f: the loss ascends along -G
        gn = np.linalg.norm(G, axis=1)
        A -= (alpha / np.where(gn > 0, gn, 1.0))[:, None] * G
        nrm = np.linalg.norm(A, axis=1)
        A *= np.minimum(1.0, eps / np.maximum(nrm, 1e-300))[:, None]
    return A @ Q.T


def nearest_boundary_perturbation(net, X, y, eps, radii=exact_radii):
    """Each point moved ``eps`` along its certified nearest-boundary direction, towards the wrong side.

    For a correctly classified point, ``rho_i = eps rho*_i / ||rho*_i||`` with ``rho*_i`` the
    ``RadiusResult.perturbation`` of :func:`._robust.exact_radii` (the nearest point of the decision
    boundary): the point moves ``eps`` towards (and, if its radius is below ``eps``, across) the
    boundary. For a misclassified point (radius 0) the same is done for the opposite label and the
    direction reversed, ``rho_i = -eps rho'_i/||rho'_i||``: the point moves ``eps`` away from the
    boundary, deeper into the wrong side. Along the boundary's normal both increase the point's loss
    ``l(y f)`` to first order. 0 where no perturbation changes the prediction.

    Returns
    -------
    rho : ndarray, shape (n, d)
    radius : ndarray, shape (n,)
        The certified radii (upper ends of their brackets; 0 for misclassified points).
    """
    y = np.asarray(y)
    res = radii(net, X, y)
    rho = np.zeros_like(X)
    r = np.array([x.radius for x in res], dtype=float)

    def direction(x):
        v = np.asarray(x.perturbation, dtype=float)
        nv = float(np.linalg.norm(v)) if np.all(np.isfinite(v)) else 0.0
        return (v / nv) if (np.isfinite(x.radius) and x.radius > 0 and nv > 0) else None

    for i, x in enumerate(res):
        u = direction(x)
        if u is not None:
            rho[i] = eps * u
    wrong = np.flatnonzero(r == 0)
    if wrong.size:
        back = radii(net, X[wrong], -y[wrong])
        for i, x in zip(wrong, back):
            u = direction(x)
            if u is not None:
                rho[i] = -eps * u
    return rho, r


def adversarial_training(config, eps, *, inner="pgd", pgd_steps=10, step_ratio=2.5, every=1, rng=None,
                         radii=exact_radii, ramp=0, start=None, progress=None):
    r"""GD on the binary net with every step's loss taken at adversarially perturbed inputs.

    ``theta <- theta - eta grad_theta (1/n) sum_i l(y_i f_theta(x_i + rho_i(theta)))``, ``rho_i`` the
    inner step at the current ``theta`` (module docstring; Danskin: the gradient at the inner
    maximiser, as Madry et al. do). Data and initial weights are those of ``config`` (its seed).

    Parameters
    ----------
    config : Config
        ``supervision="binary"``.
    eps : float
        Training radius (L2), ``> 0``.
    inner : {"pgd", "exact"}
    pgd_steps : int
    step_ratio : float
    every : int
        Snapshot period of the trajectory.
    rng : numpy.random.Generator, optional
        PGD random starts; default ``SeedSequence([config.seed, ADVERSARIAL_SALT])``.
    radii : callable
        ``exact_radii``-compatible (the ``exact`` inner step).
    ramp : int
        Steps over which the radius grows linearly to ``eps`` (``eps_t = eps min(1, (t + 1)/ramp)``;
        0: ``eps`` from the first step). From a small initialisation every point lies near the
        boundary, and the exact inner step then moves every point across it, off every neuron: the
        net dies at the first step (measured); a ramp, or a ``start`` from a trained net, avoids it.
    start : BinaryNetwork, optional
        The network to start from, in the engine's working coordinates (default: the config's
        initialisation).
    progress : callable, optional
        Called with 1 after each GD step.

    Returns
    -------
    run : Run
        The adversarially trained net (``final_loss``: its clean loss).
    trajectory : Trajectory
        Snapshots; ``loss`` is the adversarial loss; ``extra["clean_loss"]`` the clean one and,
        for ``inner="exact"``, ``extra["train_radius_median"]`` the median certified radius of the
        training points at each snapshot.
    """
    from ._run import Run, make_network

    if config.supervision != "binary":
        raise InvalidParameter("supervision", config.supervision, "'binary' (adversarial training of the binary net)")
    eps = validate_real("eps", eps, low=0.0, low_open=True)
    inner = validate_choice("inner", inner, INNER_STEPS)
    pgd_steps = validate_int("pgd_steps", pgd_steps, low=1)
    every = validate_int("every", every, low=1)
    ramp = validate_int("ramp", ramp, low=0)
    rng = rng if rng is not None else np.random.default_rng(np.random.SeedSequence([config.seed, ADVERSARIAL_SALT]))
    cfg, _, a = _sampled(config)
    X, y = a["train"].X, a["train"].y
    if start is not None:
        if start.W.shape != a["W_init"].shape:
            raise InvalidParameter("start", f"a network with W of shape {start.W.shape}",
                                   f"W of shape {a['W_init'].shape} (the engine's working coordinates)")
        a["W_init"], a["b_init"] = start.W.copy(), start.b.copy()
    net = make_network("binary", a["W_init"], a["b_init"])
    rec = {"steps": [], "W": [], "b": [], "loss": []}
    clean, med = [], []
    start = time.perf_counter()
    for t in range(cfg.steps + 1):
        eps_t = eps * min(1.0, (t + 1) / ramp) if ramp else eps
        if inner == "pgd":
            rho = pgd_l2_perturbation(net, X, y, eps_t, rng, steps=pgd_steps, step_ratio=step_ratio)
            r = None
        else:
            rho, r = nearest_boundary_perturbation(net, X, y, eps_t, radii)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, gW, gb = net.loss_and_grad(X + rho, y)
        if not (np.isfinite(loss) and np.isfinite(gW).all() and np.isfinite(gb).all()):
            raise NumericalError(f"adversarial training diverged at step {t}: loss={loss!r} (eta={cfg.eta}, eps={eps})")
        if t % every == 0 or t == cfg.steps:
            _snapshot(rec, t, net, loss)
            clean.append(float(net.loss_and_grad(X, y)[0]))
            if r is not None:
                med.append(float(np.median(r)))
        if t == cfg.steps:
            break
        net.W -= cfg.eta * gW
        net.b -= cfg.eta * gb
        if progress is not None:
            progress(1)
    seconds = time.perf_counter() - start
    extra = {"clean_loss": np.asarray(clean), "eps": eps, "inner": inner, "pgd_steps": pgd_steps, "ramp": ramp}
    if med:
        extra["train_radius_median"] = np.asarray(med)
    run = Run(config=cfg, network=net, final_loss=float(net.loss_and_grad(X, y)[0]), seconds=seconds, **a)
    return run, _trajectory(rec, cfg.eta, extra)
