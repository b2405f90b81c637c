r"""Attacks that report the radius they reach (docs/science.md §5): averaged direction, PGD-L2 and PGD-Linf.

Both return, per point, the norm of a perturbation that was checked to flip the prediction
(``y g(x + rho) <= 0``, ties flipped as in :mod:`._robust`), so each is an upper bound on the exact
radius; ``inf`` if the attack found none.

Input gradients (hand-derived; ``ReLU'(0) = 0``, i.e. a neuron exactly at its kink is inactive).
With ``z_r = <w_r, x> + b_r``, ``d ReLU(z_r)/dx = 1{z_r > 0} w_r``, hence

- binary net ``f = sum_r a_r ReLU(z_r)`` (``a_r = s_r/m``): ``grad_x f = sum_r a_r 1{z_r > 0} w_r``;
- multi-class ``f_j = (1/h) sum_r ReLU(z_{j,r})``: ``grad_x f_j = (1/h) sum_r 1{z_{j,r} > 0} w_{j,r}``;
  ``sum`` readout ``F = sum_j c_j f_j`` (``c_j = +-1``): ``grad F = sum_j c_j grad f_j``;
  ``argmax`` readout ``g = f_{j+} - f_{j-}`` with ``j+ = argmax_{J+} f``, ``j- = argmax_{J-} f``
  (a subgradient where the argmax is tied): ``grad g = grad f_{j+} - grad f_{j-}``.

In matrix form: ``grad_x g = (D * 1{Z > 0}) W`` with ``D`` the per-neuron outer coefficient. For
another activation (issue 18, :mod:`._activations`) ``1{Z > 0}`` becomes ``sigma'(Z)`` (leaky ReLU:
``a`` at ``z <= 0``; ReLU^p: ``p ReLU(z)^(p-1)``) and the argmax readout picks ``j+-`` from the
outputs of that activation; ``grad_x g = (D * sigma'(Z)) W``.

PGD in L-infinity (Madry et al. 2018, arXiv 1706.06083, eq. 3: ``x <- Pi_{x+S}(x + alpha sign(grad))``):
random start uniform in the box ``[-eps, eps]^d``, steps ``rho <- clip(rho - alpha sign(y grad g),
-eps, eps)`` with ``alpha = step_ratio eps / steps``, in the ``d`` input coordinates (the box is not
rotation invariant, so the span reduction of PGD-L2 does not apply); bisection on ``eps`` as for L2.
These are checked against central finite differences in ``tests/test_robust_attacks.py``.
"""

import numpy as np

from ._errors import InvalidParameter
from ._networks import READOUTS, BinaryNetwork, MultiClassNetwork
from ._robust import span_basis
from ._validate import validate_array, validate_choice, validate_int, validate_real

__all__ = [
    "input_gradient",
    "averaged_direction",
    "averaged_direction_radii",
    "pgd_radii",
    "pgd_linf_radii",
    "PGD_DEFAULTS",
]

#: Madry-style PGD defaults (Madry et al. 2018, arXiv 1706.06083, §5 uses 40-100 steps with step
#: 2.5 eps / steps and random starts): steps, step size relative to eps, restarts, bisection rounds
PGD_DEFAULTS = {"steps": 40, "step_ratio": 2.5, "restarts": 2, "bisection": 20}


def _scores(net, X, cluster_labels, readout):
    return net.binary_score(X, cluster_labels, readout)


def _reduced(net):
    """``(Q, net_r)``: ``Q`` (d, p) spans the rows of ``W`` and ``net_r`` has weights ``W Q``.

    ``W x = (W Q)(Q^T x)`` because every row of ``W`` lies in the span, so ``net_r`` at ``Q^T x``
    has exactly the scores and input gradients (in coordinates) of ``net`` at ``x``; the attacks
    run in ``R^p`` and cost nothing in ``d``.
    """
    Q = span_basis(net.W)
    Wr = net.W @ Q
    if net.kind == "binary":
        return Q, BinaryNetwork(Wr, net.b.copy(), net.activation)
    return Q, MultiClassNetwork(Wr, net.b.copy(), h=net.h, activation=net.activation)


def input_gradient(net, X, cluster_labels=None, readout="argmax"):
    """``grad_x g(x_i)`` for every row, shape (n, d) (module docstring for the derivation)."""
    Z = net.preactivations(X)
    active = net.activation.derivative(Z)  # sigma'(Z); ReLU: 1{Z > 0}, ReLU'(0) = 0
    n = Z.shape[0]
    if net.kind == "binary":
        D = np.broadcast_to(net.second_layer, Z.shape)
    else:
        readout = validate_choice("readout", readout, READOUTS)
        h, k = net.h, net.k
        labels = np.asarray(cluster_labels)
        if readout == "sum":
            coef = np.broadcast_to(np.where(labels > 0, 1.0, -1.0), (n, k))
        else:
            F = net._outputs_from_Z(Z)
            pos = labels > 0
            Fp = np.where(pos, F, -np.inf)
            Fn = np.where(~pos, F, -np.inf)
            coef = np.zeros((n, k))
            coef[np.arange(n), Fp.argmax(axis=1)] += 1.0
            coef[np.arange(n), Fn.argmax(axis=1)] -= 1.0
        D = np.repeat(coef, h, axis=1) / h
    return (D * active) @ net.W


def averaged_direction(features, cluster_labels, y):
    """The theorem's direction for label ``y``, unit norm, shape (d,) (docs/science.md §2, C3).

    ``v = -(sum_{j in J_y} mu_j) + sum_{j in J_{-y}} mu_j``, normalised: away from the point's own
    class's averaged feature and towards the other class's.
    """
    labels = np.asarray(cluster_labels)
    v = features[labels != y].sum(axis=0) - features[labels == y].sum(axis=0)
    return v / np.linalg.norm(v)


def _first_flip_on_ray(flipped, t_hi, grid_points=256, bisection=50):
    """Smallest ``t`` in ``(0, t_hi]`` found with ``flipped(t)`` (grid scan, then bisection).

    ``flipped`` takes an array of scales and returns a boolean array.
    """
    ts = np.linspace(0.0, t_hi, grid_points + 1)[1:]
    hits = ts[flipped(ts)]
    if hits.size == 0:
        return np.inf
    hi = hits[0]
    lo = hi - ts[0]
    for _ in range(bisection):
        mid = 0.5 * (lo + hi)
        if flipped(np.array([mid]))[0]:
            hi = mid
        else:
            lo = mid
    return hi


def averaged_direction_radii(net, X, y, features, cluster_labels, readout="argmax", t_max=None,
                             progress=None, norm=2):
    """Norm of the smallest flipping ``t v`` along :func:`averaged_direction`, per row.

    ``v`` has unit L2 norm, so for ``norm=2`` the value is the smallest scale ``t`` with
    ``y g(x + t v) <= 0``; for ``norm=inf`` it is ``t ||v||_inf``.

    A grid of 256 scales on ``(0, t_max]`` finds the first flip (the score along a ray is piecewise
    linear, not monotone), then 50 bisection steps refine it to round-off. ``t_max`` defaults to
    ``4 ||mu|| `` (well beyond the ``sqrt(d/2)`` optimum), doubled until a flip is seen, up to 2^10.

    Returns
    -------
    ndarray, shape (n,)
    """
    X = validate_array("X", X, shape=(None, net.d))
    features = validate_array("features", features, shape=(None, net.d))
    y = np.asarray(y)
    if t_max is None:
        t_max = 4.0 * float(np.linalg.norm(features, axis=1).max())
    out = np.empty(X.shape[0])
    Q, net = _reduced(net)  # scores along x + t v depend only on Q^T x + t Q^T v
    dirs = {s: Q.T @ averaged_direction(features, cluster_labels, s) for s in (1, -1)}
    for i, (x, yi) in enumerate(zip(X @ Q, y)):
        v = dirs[int(yi)]

        def flipped(ts, x=x, yi=yi, v=v):
            return yi * _scores(net, x + ts[:, None] * v, cluster_labels, readout) <= 0.0

        if flipped(np.zeros(1))[0]:
            out[i] = 0.0
        else:
            hi, r = t_max, np.inf
            for _ in range(10):
                r = _first_flip_on_ray(flipped, hi)
                if np.isfinite(r):
                    break
                hi *= 2.0
            out[i] = r
        if progress is not None:
            progress(1)
    if norm != 2:
        linf = {s: float(np.abs(averaged_direction(features, cluster_labels, s)).max()) for s in (1, -1)}
        out = out * np.array([linf[int(s)] for s in y])
    return out



def _pgd_params(steps, restarts, bisection, step_ratio):
    """PGD_DEFAULTS with the given overrides, validated (``None`` keeps a default)."""
    p = dict(PGD_DEFAULTS)
    for name, val in (("steps", steps), ("restarts", restarts), ("bisection", bisection)):
        if val is not None:
            p[name] = validate_int(name, val, low=1)
    if step_ratio is not None:
        p["step_ratio"] = validate_real("step_ratio", step_ratio, low=0.0, low_open=True)
    return p


def _double_then_bisect(best, attack, eps_start, bisection, progress=None):
    """Per-point search of the smallest budget at which ``attack`` flips the point.

    ``best`` (shape (n,)) is 0 where the point is already misclassified, ``inf`` elsewhere;
    ``attack(eps)`` (``eps`` of shape (n,)) returns the norm of the smallest flipping perturbation
    it found per point (``inf`` where none). The budget doubles from ``eps_start`` until every
    point is flipped (at most 21 doublings, a factor 2^21), then ``bisection`` halvings of
    ``[lo, hi]`` follow, ``lo`` the last failing budget and ``hi`` the best norm found; points
    never flipped keep ``inf`` (and are attacked at their ``hi`` only, so that every call draws
    the same random starts whatever the other points do).
    """
    n = best.shape[0]
    hi = np.full(n, eps_start)
    todo = ~np.isfinite(best)
    for _ in range(21):
        if not todo.any():
            break
        found = attack(hi)
        best = np.where(todo, np.minimum(best, found), best)
        todo = todo & ~np.isfinite(found)
        hi = np.where(todo, 2.0 * hi, hi)
    ok = np.isfinite(best) & (best > 0)
    lo = np.where(ok, 0.5 * np.minimum(hi, best), 0.0)
    hi = np.where(ok, best, hi)
    for _ in range(bisection):
        mid = np.where(ok, 0.5 * (lo + hi), hi)
        found = attack(mid)
        best = np.where(ok, np.minimum(best, found), best)
        success = np.isfinite(found)
        hi = np.where(ok & success, np.minimum(mid, best), hi)
        lo = np.where(ok & ~success, mid, lo)
        if progress is not None:
            progress(1)
    return best

def _pgd_once(net, U, y, eps, cluster_labels, readout, steps, step_ratio, rng, d):
    """One PGD-L2 run per row at radius ``eps`` (shape (n,)); returns the smallest flipping norm.

    Random start uniform in the ``d``-dimensional ball; ``steps`` normalised-gradient steps of size
    ``step_ratio * eps / steps`` descending ``y g``; projection onto the ball after each step.
    Every iterate is checked, and the smallest-norm flipping iterate is kept (``inf`` if none).

    Exact reduction of the full-space iteration: write ``rho = Q a + o`` with ``o`` orthogonal
    to the span of the weights. The gradient lies in the span, so steps change only ``a`` and
    projections rescale ``a`` and ``o`` together: ``o`` keeps its direction and only its norm
    ``s`` matters. The random start ``z ~ N(0, I_d)`` has ``Q^T z ~ N(0, I_p)`` and, independently,
    ``||o||^2 ~ chi^2_{d-p}``. ``U = X Q``, shape (n, p); ``net`` is the reduced network.
    """
    n, p = U.shape
    A = rng.standard_normal((n, p))
    S = np.sqrt(rng.chisquare(d - p, n)) if d > p else np.zeros(n)
    scale = eps * rng.random(n) ** (1.0 / d) / np.sqrt((A * A).sum(axis=1) + S * S)
    A *= scale[:, None]
    S = S * scale
    alpha = step_ratio * eps / steps
    best = np.full(n, np.inf)
    for _ in range(steps + 1):
        Ua = U + A
        s = y * _scores(net, Ua, cluster_labels, readout)
        nrm = np.sqrt((A * A).sum(axis=1) + S * S)
        best = np.where(s <= 0.0, np.minimum(best, nrm), best)
        G = y[:, None] * input_gradient(net, Ua, cluster_labels, readout)
        gn = np.linalg.norm(G, axis=1)
        A = A - (alpha / np.where(gn > 0, gn, 1.0))[:, None] * G
        nrm = np.sqrt((A * A).sum(axis=1) + S * S)
        shrink = np.minimum(1.0, eps / np.maximum(nrm, 1e-300))
        A *= shrink[:, None]
        S = S * shrink
    return best


def pgd_radii(net, X, y, cluster_labels=None, readout="argmax", *, steps=None, step_ratio=None,
              restarts=None, bisection=None, eps_start=1.0, seed=0, progress=None):
    """Smallest-norm flipping perturbation PGD-L2 finds, with bisection on the ball radius.

    The radius ``eps`` is first doubled from ``eps_start`` (up to 2^20 times) until PGD flips the
    point, then ``bisection`` rounds halve the bracket ``[eps/2, eps]``; at each radius PGD runs
    ``restarts`` times. All points run in one batch. The reported value is the norm of the
    smallest flipping iterate seen (``<= eps`` at success), so it is an upper bound on the exact
    radius by construction. Defaults: :data:`PGD_DEFAULTS`.

    Parameters
    ----------
    net, X (n, d), y (n,), cluster_labels, readout : as in :func:`._robust.exact_radii`
    seed : int
        Seed of the generator of the random starts (recorded by the caller).

    Returns
    -------
    ndarray, shape (n,)
    """
    p = _pgd_params(steps, restarts, bisection, step_ratio)
    eps_start = validate_real("eps_start", eps_start, low=0.0, low_open=True)
    X = validate_array("X", X, shape=(None, net.d))
    y = np.asarray(y, dtype=float)
    if y.shape != (X.shape[0],):
        raise InvalidParameter("y", f"array of shape {y.shape}", f"labels of shape ({X.shape[0]},)")
    rng = np.random.default_rng(seed)
    n, d = X.shape
    best = np.where(y * _scores(net, X, cluster_labels, readout) <= 0.0, 0.0, np.inf)
    Q, net_r = _reduced(net)
    U = X @ Q

    def attack(eps):
        found = np.full(n, np.inf)
        for _ in range(p["restarts"]):
            found = np.minimum(found, _pgd_once(net_r, U, y, eps, cluster_labels, readout,
                                                p["steps"], p["step_ratio"], rng, d))
        return found

    best = _double_then_bisect(best, attack, eps_start, p["bisection"], progress)
    return best


def _pgd_linf_once(net, X, y, eps, cluster_labels, readout, steps, step_ratio, rng):
    """One PGD-Linf run per row at radius ``eps`` (shape (n,)); smallest flipping ``||rho||_inf``.

    Random start uniform in the box, ``steps`` sign-gradient steps of size ``step_ratio eps /
    steps`` descending ``y g``, clipping to the box after each; every iterate is checked.
    """
    n, d = X.shape
    rho = (2.0 * rng.random((n, d)) - 1.0) * eps[:, None]
    alpha = step_ratio * eps / steps
    best = np.full(n, np.inf)
    for _ in range(steps + 1):
        Xa = X + rho
        s = y * _scores(net, Xa, cluster_labels, readout)
        nrm = np.abs(rho).max(axis=1)
        best = np.where(s <= 0.0, np.minimum(best, nrm), best)
        G = y[:, None] * input_gradient(net, Xa, cluster_labels, readout)
        rho = np.clip(rho - alpha[:, None] * np.sign(G), -eps[:, None], eps[:, None])
    return best


def pgd_linf_radii(net, X, y, cluster_labels=None, readout="argmax", *, steps=None, step_ratio=None,
                   restarts=None, bisection=None, eps_start=None, seed=0, progress=None):
    """Smallest L-infinity norm of a flipping perturbation PGD-Linf finds (module docstring).

    The same doubling-then-bisection on ``eps`` as :func:`pgd_radii`, with
    ``eps_start = 1 / sqrt(d)`` by default (the box of half-width ``eps`` has L2 radius
    ``eps sqrt(d)``). All points run in one batch in the ``d`` input coordinates. Upper bound on
    the exact L-infinity radius by construction.

    Parameters
    ----------
    net, X (n, d), y (n,), cluster_labels, readout : as in :func:`._robust.exact_radii`
    seed : int
        Seed of the generator of the random starts.

    Returns
    -------
    ndarray, shape (n,)
    """
    p = _pgd_params(steps, restarts, bisection, step_ratio)
    X = validate_array("X", X, shape=(None, net.d))
    if eps_start is None:
        eps_start = 1.0 / np.sqrt(net.d)
    eps_start = validate_real("eps_start", eps_start, low=0.0, low_open=True)
    y = np.asarray(y, dtype=float)
    if y.shape != (X.shape[0],):
        raise InvalidParameter("y", f"array of shape {y.shape}", f"labels of shape ({X.shape[0]},)")
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    best = np.where(y * _scores(net, X, cluster_labels, readout) <= 0.0, 0.0, np.inf)

    def attack(eps):
        found = np.full(n, np.inf)
        for _ in range(p["restarts"]):
            found = np.minimum(found, _pgd_linf_once(net, X, y, eps, cluster_labels, readout,
                                                     p["steps"], p["step_ratio"], rng))
        return found

    best = _double_then_bisect(best, attack, eps_start, p["bisection"], progress)
    return best
