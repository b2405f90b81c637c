"""One simulation run: configuration, seeding, full-batch gradient descent, history, metrics.

Seeding: one integer ``seed`` makes a :class:`numpy.random.SeedSequence`, which spawns
independent child streams, in this order: ``features``, ``train``, ``test``, ``init``, then
``label_noise`` (the training labels' flips) and ``gram`` (a random feature correlation matrix),
which only the data variants draw from. Changing
``n_test`` therefore never changes the training data or the initial weights, and a run is
reproducible bit for bit on the same machine from its recorded config.

The engine (:mod:`._engine`) is chosen once per run: it samples the inputs (or validates the
supplied ones) and hands the training inputs to gradient descent.

Gradient descent runs on one of two paths that give the same iterates up to float64 round-off:
the primal one (two passes over ``X`` per step) and the span one (``W_t = W_0 + C_t X`` with the
Gram matrix ``X X^T``, :mod:`._span`); a deterministic cost rule picks one from the shapes, so the
choice is not part of the config. Several initialisations on the same data train in one stacked
span pass with :func:`._replicas.run_replicas`.
"""

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ._activations import RELU, make_activation, validate_activation
from ._data import COHERENCE_KINDS, Sample
from ._diagnostics import regime_warnings
from ._engine import engine_for
from ._errors import InvalidParameter, NumericalError
from ._metrics import (
    accuracy,
    activation_fractions,
    averaging_score,
    cluster_margins,
    cosine_matrix,
    decoupling_score,
    feature_coefficients,
)
from ._networks import READOUTS, BinaryNetwork, MultiClassNetwork
from ._span import choose_method, span_descent
from ._reduced import D_MAX
from ._validate import validate_choice, validate_int, validate_real

__all__ = [
    "Config",
    "PAPER_D",
    "PAPER_ETA",
    "PAPER_INIT_SCALE",
    "default_eta",
    "default_init_scale",
    "Run",
    "SUPERVISIONS",
    "ENGINES",
    "RNG_STREAMS",
    "FEATURE_BASES",
    "gradient_descent",
    "init_weights",
    "make_network",
    "run_simulation",
]

SUPERVISIONS = ("binary", "cluster")
ENGINES = ("explicit", "reduced")
#: appended streams (issue 18) come after the first four, so that spawning more children leaves the first
#: four, hence every run without the variants, unchanged
RNG_STREAMS = ("features", "train", "test", "init", "label_noise", "gram")
FEATURE_BASES = ("haar", "standard")

#: the paper's dimension and the learning rate and init scale that train it (docs/science.md §1)
PAPER_D = 3072
PAPER_ETA = 1e-3
PAPER_INIT_SCALE = 1e-5


def default_eta(d, activation="relu"):
    r"""The default learning rate at dimension ``d``: ``eta = 1e-3 * 3072 / d`` (``eta d = 3.072``);
    for ``activation="relu_p"`` its own measured default at ``d = 3072`` (:data:`._activations.RELU_P_DEFAULTS`)
    scaled the same way.

    The gradient of the risk grows like ``d`` (a margin moves by ``eta d g/(m k)`` per step in the
    late phase, C7.gd_step), so a fixed ``eta d`` gives every ``d`` the paper's dynamics per step;
    ``d = 3072`` gives the paper's ``1e-3`` exactly. Measured (binary labels, k=10, n=1000, m=5,
    100 steps, reduced engine, seed 0): averaging score 0.9938 at d = 1e6 and at 1e9, where the
    constant 1e-3 overshoots (0.68 and 0.54).
    """
    from ._activations import activation_defaults

    return activation_defaults(activation).get("eta", PAPER_ETA) * (PAPER_D / d)


def default_init_scale(d, activation="relu"):
    r"""The default ``sigma_w = sigma_b`` at dimension ``d``: ``1e-5 * 3072 / d`` (``sigma_w d = 0.03072``);
    for ``relu_p`` its own default at ``d = 3072`` scaled the same way.

    With ``eta d`` fixed, ``sigma_w d`` fixed keeps the first GD step's change of
    ``<w, mu_j>`` (of order ``eta d``) in the same ratio to the initial ``<w, mu_j>`` (of order
    ``sigma_w sqrt(d) sqrt(d) = sigma_w d``) at every ``d`` (R2.regime's SymPy step), so the early
    phase is the same; ``d = 3072`` gives the paper's ``1e-5`` exactly.
    """
    from ._activations import activation_defaults

    return activation_defaults(activation).get("init_scale", PAPER_INIT_SCALE) * (PAPER_D / d)


@dataclass(frozen=True)
class Config:
    """All parameters of a run (defaults: the paper's synthetic setting, docs/science.md §1, with
    ``eta`` and ``init_scale`` scaled with ``d`` so that ``d = 3072`` gives the paper's values).

    Attributes
    ----------
    k, d, n, n_test : int
        Clusters, dimension, training and test points.
    m : int
        Neurons per sign of the binary network (``M = 2m``).
    h : int
        Neurons per output of the multi-class network (``M = k h``).
    positive : int or None
        ``|J+|``; ``None`` means ``k // 2`` and is resolved on construction.
    sigma : float
        Noise scale of ``xi``.
    eta : float or None
        Learning rate; ``None`` (the default) means :func:`default_eta` ``(d) = 1e-3 * 3072/d``,
        resolved on construction (so :meth:`to_dict` records the value used).
    steps : int
        Number of GD steps.
    init_scale : float or None
        ``sigma_w = sigma_b``, the standard deviation of the initial weights and biases; ``None``
        (the default) means :func:`default_init_scale` ``(d) = 1e-5 * 3072/d``, resolved on
        construction.
    seed : int
    supervision : {"binary", "cluster"}
        Binary labels train the binary network; cluster labels the multi-class network.
    readout : {"argmax", "sum"}
        How the multi-class network makes a binary prediction (ignored for binary supervision,
        but recorded).
    engine : {"explicit", "reduced"}
        ``reduced``: the same law at a cost independent of ``d``, arrays in ``k + n + M`` reduced
        coordinates (docs/science.md §4, :mod:`._reduced`); when ``d <= k + n + M`` the run falls back to
        the explicit engine and its config records ``engine="explicit"``.
    history_every : int
        Record the training history every this many steps (0: no history).
    features : {"haar", "standard"}
        The directions of the cluster features in the explicit engine: ``haar``, ``sqrt(d)`` times
        orthonormal columns of a Haar-random rotation (generic directions); ``standard``,
        ``mu_j = sqrt(d) e_j`` (coordinate axes). Every rotation-invariant quantity (L2 radii,
        cosines, margins, the whole GD trajectory in law) is the same for both; the L-infinity
        radius is not (docs/science.md §4, §5). The reduced engine's coordinates are always
        ``sqrt(d) e_j`` on the features and are not input coordinates.
    coherence : float
        Mutual coherence ``eps`` of the features (data variant, issue 18; 0 = Assumption 3.2):
        their correlation matrix is ``C`` of :func:`._data.feature_correlation`. ``equicorrelated``
        needs ``-1/(k-1) < eps < 1``; ``random`` needs ``0 <= eps < 1/(k-1)`` (positive definite
        by Gershgorin).
    coherence_kind : {"equicorrelated", "random"}
        ``C = (1 - eps) I + eps 11^T``, or off-diagonal entries uniform in ``[-eps, eps]`` drawn
        from the ``gram`` stream (the same matrix in both engines for one seed).
    feature_norms : tuple of float or None
        ``r_j``, ``||mu_j|| = sqrt(d) r_j`` (``k`` positive numbers); ``None``: all 1.
        The Gram matrix of the features is ``G = d R C R``, ``R = diag(r)``.
    label_noise : float
        ``q``, ``0 <= q < 1/2``: each training label is flipped independently with probability
        ``q`` (``label_noise`` stream; binary supervision only). Test labels stay clean.
    activation : {"relu", "leaky_relu", "relu_p"}
        The hidden neurons' activation (issue 18, :mod:`._activations`); both networks use it, in
        their outputs and their hand-derived gradients.
    activation_param : float or None
        ``None`` for ``relu``; the slope ``a`` (``0 <= a < 1``) of ``leaky_relu``; the power ``p``
        (``p >= 1``) of ``relu_p``. Validated on construction (:func:`._activations.validate_activation`).
    """

    k: int = 10
    d: int = 3072
    n: int = 1000
    n_test: int = 1000
    m: int = 5
    h: int = 1
    positive: int | None = None
    sigma: float = 1.0
    eta: float | None = None
    steps: int = 100
    init_scale: float | None = None
    seed: int = 0
    supervision: str = "binary"
    readout: str = "argmax"
    engine: str = "explicit"
    history_every: int = 0
    features: str = "haar"
    # -- data variants (issue 18): appended, off by default ----------------------------------------
    coherence: float = 0.0
    coherence_kind: str = "equicorrelated"
    feature_norms: tuple | None = None
    label_noise: float = 0.0
    activation: str = "relu"
    activation_param: float | None = None

    def __post_init__(self):
        s = object.__setattr__
        s(self, "d", validate_int("d", self.d, low=2))
        s(self, "k", validate_int("k", self.k, low=2, high=self.d,
                                  valid=f"an integer with 2 <= k <= d = {self.d}"))
        s(self, "n", validate_int("n", self.n, low=1))
        s(self, "n_test", validate_int("n_test", self.n_test, low=1))
        s(self, "m", validate_int("m", self.m, low=1))
        s(self, "h", validate_int("h", self.h, low=1))
        positive = self.k // 2 if self.positive is None else self.positive
        s(self, "positive", validate_int("positive", positive, low=1, high=self.k - 1,
                                         valid=f"an integer with 1 <= positive <= k - 1 = {self.k - 1}"))
        s(self, "sigma", validate_real("sigma", self.sigma, low=0.0))
        name, param = validate_activation(self.activation, self.activation_param)
        s(self, "activation", name)
        s(self, "activation_param", param)
        s(self, "eta", validate_real("eta", default_eta(self.d, name) if self.eta is None else self.eta,
                                     low=0.0, low_open=True))
        s(self, "steps", validate_int("steps", self.steps, low=0))
        s(self, "init_scale", validate_real("init_scale", default_init_scale(self.d, name) if self.init_scale is None
                                            else self.init_scale, low=0.0))
        s(self, "seed", validate_int("seed", self.seed, low=0))
        s(self, "supervision", validate_choice("supervision", self.supervision, SUPERVISIONS))
        s(self, "readout", validate_choice("readout", self.readout, READOUTS))
        s(self, "engine", validate_choice("engine", self.engine, ENGINES))
        if self.engine == "reduced" and self.d > D_MAX:
            raise InvalidParameter("d", self.d, f"an integer d <= {D_MAX:.0e} for the reduced engine (beyond it "
                                   "float64 rounding of the sqrt(d)-sized coordinates exceeds 2.3e-10 relative)")
        s(self, "history_every", validate_int("history_every", self.history_every, low=0))
        s(self, "features", validate_choice("features", self.features, FEATURE_BASES))
        self._validate_variants()

    def _validate_variants(self):
        """The data variants' fields (issue 18): coherence, feature norms, label noise."""
        s = object.__setattr__
        s(self, "coherence_kind", validate_choice("coherence_kind", self.coherence_kind, COHERENCE_KINDS))
        k = self.k
        if self.coherence_kind == "equicorrelated":
            lo = -1.0 / (k - 1)
            s(self, "coherence", validate_real("coherence", self.coherence, low=lo, low_open=True,
                                               valid=f"a real number with -1/(k-1) = {lo:.4g} < coherence < 1 "
                                                     "(C = (1 - eps) I + eps 11^T positive definite)"))
            if self.coherence >= 1.0:
                raise InvalidParameter("coherence", self.coherence, f"a real number with -1/(k-1) = {lo:.4g} < "
                                       "coherence < 1 (C = (1 - eps) I + eps 11^T positive definite)")
        else:
            hi = 1.0 / (k - 1)
            valid = (f"a real number with 0 <= coherence < 1/(k-1) = {hi:.4g} (a random C with off-diagonal "
                     "entries in [-eps, eps] is positive definite by Gershgorin)")
            s(self, "coherence", validate_real("coherence", self.coherence, low=0.0, valid=valid))
            if self.coherence >= hi:
                raise InvalidParameter("coherence", self.coherence, valid)
        if self.feature_norms is not None:
            valid = f"None or {k} finite positive numbers r_j (||mu_j|| = sqrt(d) r_j)"
            try:
                norms = tuple(float(validate_real("feature_norms", r, low=0.0, low_open=True, valid=valid))
                              for r in self.feature_norms)
            except TypeError:
                raise InvalidParameter("feature_norms", self.feature_norms, valid) from None
            if len(norms) != k:
                raise InvalidParameter("feature_norms", self.feature_norms, valid)
            s(self, "feature_norms", norms)
        s(self, "label_noise", validate_real("label_noise", self.label_noise, low=0.0, high=0.5,
                                             valid="a real number with 0 <= label_noise < 1/2"))
        if self.label_noise >= 0.5:
            raise InvalidParameter("label_noise", self.label_noise, "a real number with 0 <= label_noise < 1/2")
        if self.label_noise > 0 and self.supervision != "binary":
            raise InvalidParameter("label_noise", self.label_noise, "0 for cluster supervision (the noise flips "
                                   "binary labels; use supervision='binary')")

    @property
    def gram_variant(self):
        """Whether the features leave Assumption 3.2 (coherence or unequal norms)."""
        return self.coherence != 0.0 or self.feature_norms is not None

    @property
    def activation_function(self):
        """The :class:`._activations.Activation` named by ``activation`` and ``activation_param``."""
        return make_activation(self.activation, self.activation_param)

    @property
    def neurons(self):
        """``M``: ``2m`` for binary supervision, ``k h`` for cluster supervision."""
        return 2 * self.m if self.supervision == "binary" else self.k * self.h

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        """Build a config from a dict, rejecting unknown keys by name."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidParameter("config", unknown, "keys among " + ", ".join(sorted(names)))
        return cls(**data)

    def rngs(self):
        """The child generators, keyed by :data:`RNG_STREAMS` (module docstring)."""
        children = np.random.SeedSequence(self.seed).spawn(len(RNG_STREAMS))
        return {name: np.random.default_rng(c) for name, c in zip(RNG_STREAMS, children)}


def init_weights(M, d, init_scale, rng):
    """``W ~ N(0, init_scale^2)`` entrywise, shape (M, d), then ``b ~ N(0, init_scale^2)``, shape (M,)
    (the explicit engine's initialisation, :meth:`._engine.ExplicitEngine.init`)."""
    W = rng.standard_normal((M, d)) * init_scale
    b = rng.standard_normal(M) * init_scale
    return W, b


def make_network(supervision, W, b, h=1, activation=RELU):
    """The network a supervision trains: :class:`BinaryNetwork` or :class:`MultiClassNetwork`
    (with ``activation``, default ReLU; a config's is ``config.activation_function``)."""
    if supervision == "binary":
        return BinaryNetwork(W.copy(), b.copy(), activation)
    return MultiClassNetwork(W.copy(), b.copy(), h=h, activation=activation)


def gradient_descent(net, X, target, eta, steps, *, every=0, observe=None, progress=None, method="auto",
                     losses=None):
    """Full-batch GD ``theta <- theta - eta grad L`` on a copy of ``net``.

    Parameters
    ----------
    net : BinaryNetwork or MultiClassNetwork
    X : ndarray, shape (n, d), or ReducedInputs
    target : ndarray, shape (n,)
        Binary labels (binary network) or cluster indices (multi-class network).
    eta : float
    steps : int
    every : int
        Call ``observe(step, net, loss)`` at steps ``0, every, 2 every, ...`` and at ``steps``
        (before the update of that step); 0 disables it.
    observe : callable, optional
    progress : callable, optional
        Called with 1 after each step (a progress bar's ``update``).
    method : {"auto", "primal", "span"}
        ``primal``: ``W <- W - eta D^T X`` with the network's ``loss_and_grad``; ``span``: the
        same iterates in the span of the inputs, ``W_t = W_0 + C_t X`` with the Gram matrix
        ``X X^T`` (:mod:`._span`, exact in exact arithmetic, equal to round-off in float64);
        ``auto``: the cheaper of the two by the cost rule of :func:`._span.choose_method`.
        The choice is deterministic, so a config still reproduces bit for bit on one machine.
    losses : list, optional
        If given, the loss at every step ``0..steps`` (before that step's update) is appended to
        it; the loss is computed every step anyway.

    Returns
    -------
    net : the trained copy
    loss : float
        The loss at the final parameters.

    Raises
    ------
    NumericalError
        If the loss, a gradient or a weight stops being finite; the message names the step.
    """
    if choose_method(net, X, steps, every=every, method=method) == "span":
        def observe_net(t, W, b, loss):
            observe(t, dataclasses.replace(net, W=W, b=b), loss)

        W, b, loss = span_descent(net.loss_and_D, net.W, net.b, X, target, eta, steps, every=every,
                                  observe=observe_net if observe is not None else None, progress=progress,
                                  losses=losses)
        return dataclasses.replace(net, W=W, b=b), loss
    net = dataclasses.replace(net, W=net.W.copy(), b=net.b.copy())
    for t in range(steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            loss, gW, gb = net.loss_and_grad(X, target)
        if not (np.isfinite(loss) and np.isfinite(gW).all() and np.isfinite(gb).all()):
            raise NumericalError(
                f"gradient descent diverged at step {t}: loss={loss!r} or its gradient is not "
                f"finite (eta={eta}; try a smaller learning rate)")
        if losses is not None:
            losses.append(float(loss))
        if observe is not None and every and (t % every == 0 or t == steps):
            observe(t, net, loss)
        if t == steps:
            return net, loss
        net.W -= eta * gW
        net.b -= eta * gb
        if not (np.isfinite(net.W).all() and np.isfinite(net.b).all()):
            raise NumericalError(f"gradient descent diverged at step {t + 1}: a weight is not finite "
                                 f"(eta={eta}; try a smaller learning rate)")
        if progress is not None:
            progress(1)


@dataclass
class Run:
    """Everything a run made: inputs, trajectory end points, history and metrics.

    Attributes
    ----------
    config : Config
    features : ndarray, shape (k, d)
        ``d`` here and below is the working dimension: ``config.d`` for the explicit engine,
        ``k + n + M`` for the reduced one (whose arrays are in reduced coordinates).
    cluster_labels : ndarray of int64, shape (k,)
    train, test : Sample
    W_init : ndarray, shape (M, d)
    b_init : ndarray, shape (M,)
    network : BinaryNetwork or MultiClassNetwork
        The trained network (binary order: m positive then m negative neurons; multi-class order
        ``j*h + r``).
    final_loss : float
    history : dict of ndarray or None
        ``step`` (T,), ``loss`` (T,), ``train_accuracy`` (T,), ``test_accuracy`` (T,),
        ``cluster_margins`` (T, k), ``feature_coefficients`` (T, M, k),
        ``activation_fractions`` (T, M, k).
    seconds : float
        Wall time of gradient descent (for replicas, :mod:`._replicas`, the stacked GD's time
        divided by the number of replicas).
    init_seed : int or None
        For a replica (:func:`._replicas.run_replicas`): the seed whose initial weights it
        trained; the data are those of ``config.seed``. ``None`` for a single run, whose data
        and initial weights both come from ``config.seed``.
    losses : ndarray, shape (steps + 1,), or None
        The training loss before each step and at the end (computed by GD anyway).
    warnings : list of dict
        ``{"quantity", "regime", "message"}`` for each way the run left the regime the theory is
        measured in (:mod:`._diagnostics`: the late phase not reached, a stalled loss, an
        overshooting step); empty for a run inside it.
    """

    config: Config
    features: np.ndarray
    cluster_labels: np.ndarray
    train: Sample
    test: Sample
    W_init: np.ndarray
    b_init: np.ndarray
    network: object
    final_loss: float
    history: dict | None = None
    seconds: float = float("nan")
    init_seed: int | None = None
    losses: np.ndarray | None = None
    warnings: list = dataclasses.field(default_factory=list)

    def binary_score(self, X, readout=None):
        """Binary score of the trained network (the run's readout unless one is named)."""
        return self.network.binary_score(X, self.cluster_labels, readout or self.config.readout)

    def summary(self):
        """A JSON-ready dict: config, accuracies, loss, scores, cosine matrix, margins."""
        net, cfg = self.network, self.config
        out = {
            "config": cfg.to_dict(),
            "network": net.kind,
            "train_accuracy": accuracy(self.binary_score(self.train.X), self.train.y),
            "test_accuracy": accuracy(self.binary_score(self.test.X), self.test.y),
            "final_loss": self.final_loss,
            "averaging_score": averaging_score(net, self.features, self.cluster_labels),
            "decoupling_score": decoupling_score(net, self.features, self.cluster_labels),
            "cluster_margins": cluster_margins(net, self.features, self.cluster_labels).tolist(),
            "cosine_matrix": cosine_matrix(net.W, self.features).tolist(),
            "seconds": self.seconds,
            "warnings": [dict(w) for w in self.warnings],
        }
        if net.kind == "multiclass":
            out["test_accuracy_by_readout"] = {
                r: accuracy(self.binary_score(self.test.X, r), self.test.y) for r in READOUTS}
            out["test_cluster_accuracy"] = float(
                np.mean(net.output(self.test.X).argmax(axis=1) == self.test.clusters))
        return out


def _history_recorder(run_inputs, k):
    features, cluster_labels, train, test, readout = run_inputs
    rows = {key: [] for key in ("step", "loss", "train_accuracy", "test_accuracy", "cluster_margins",
                                "feature_coefficients", "activation_fractions")}

    def observe(step, net, loss):
        Z = net.preactivations(train.X)
        rows["step"].append(step)
        rows["loss"].append(loss)
        rows["train_accuracy"].append(accuracy(net.binary_score(train.X, cluster_labels, readout), train.y))
        rows["test_accuracy"].append(accuracy(net.binary_score(test.X, cluster_labels, readout), test.y))
        rows["cluster_margins"].append(cluster_margins(net, features, cluster_labels))
        rows["feature_coefficients"].append(feature_coefficients(net.W, features))
        rows["activation_fractions"].append(activation_fractions(Z, train.clusters, k))

    return rows, observe


def run_simulation(config=None, *, features=None, cluster_labels=None, train=None, test=None,
                   W_init=None, b_init=None, progress=None, method="auto", **overrides):
    """Sample the data, initialise, train by GD and measure: one run of docs/science.md §1.

    Every array may be supplied instead of sampled, so an external reference can replay a
    trajectory; what is not supplied comes from the config's seed (module docstring).

    Parameters
    ----------
    config : Config, optional
        Defaults to ``Config(**overrides)``.
    features : ndarray, shape (k, d), optional
    cluster_labels : ndarray, shape (k,), optional
    train, test : Sample, optional
    W_init : ndarray, shape (M, d), optional
    b_init : ndarray, shape (M,), optional
    progress : callable, optional
        Called with 1 after each GD step.
    method : {"auto", "primal", "span"}
        The GD path (:func:`gradient_descent`); not part of the config, since every path gives
        the same iterates up to float64 round-off.

    Returns
    -------
    Run
    """
    if config is None:
        config = Config(**overrides)
    elif overrides:
        config = dataclasses.replace(config, **overrides)
    cfg, engine = engine_for(config)
    a = engine.sample(features=features, cluster_labels=cluster_labels, train=train, test=test,
                      W_init=W_init, b_init=b_init).as_dict()
    train = a["train"]
    net0 = make_network(cfg.supervision, a["W_init"], a["b_init"], cfg.h, cfg.activation_function)
    target = train.y if cfg.supervision == "binary" else train.clusters
    history, observe = (None, None)
    if cfg.history_every:
        history, observe = _history_recorder(
            (a["features"], a["cluster_labels"], train, a["test"], cfg.readout), cfg.k)
    start = time.perf_counter()
    losses = []
    net, loss = gradient_descent(net0, engine.training_inputs(train), target, cfg.eta, cfg.steps,
                                 every=cfg.history_every, observe=observe, progress=progress, method=method,
                                 losses=losses)
    seconds = time.perf_counter() - start
    if history is not None:
        history = {key: np.asarray(val) for key, val in history.items()}
    losses = np.asarray(losses, dtype=float)
    warns = regime_warnings(cfg, net, a["features"], a["cluster_labels"], train, losses, history)
    return Run(config=cfg, network=net, final_loss=loss, history=history, seconds=seconds, losses=losses,
               warnings=warns, **a)
