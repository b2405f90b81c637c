r"""The simulation engines as objects: how a run's inputs are sampled and handed to gradient descent.

An engine is chosen once per run (:func:`engine_for`) from a validated :class:`._run.Config` and
has two entry points:

* :meth:`Engine.sample`: the features, cluster labels, training and test samples and initial
  weights of the run (what the caller supplies is validated and used, the rest is drawn from the
  config's seed streams, docs/science.md §1);
* :meth:`Engine.training_inputs`: the training inputs ``X`` as gradient descent consumes them.

:class:`ExplicitEngine` draws everything in ``R^d`` (Definition 3.1). :class:`ReducedEngine` draws
the same joint law of every inner product GD uses, in ``k + n + M`` reduced coordinates, at a cost
independent of ``d`` (docs/science.md §4, :mod:`._reduced`); ``engine="reduced"`` falls back to the
explicit engine when ``d <= k + n + M`` (the reduced one is then no cheaper) and the resolved config
records ``engine="explicit"``.

Data variants (issue 18). With coherent or unequal-norm features (``Config.coherence``,
``Config.feature_norms``) both engines draw the orthogonal equinorm features ``F_0`` as before and
return ``F = Lc F_0`` (:func:`._data.gram_features`), ``Lc`` the Cholesky factor of the seed's
correlation matrix (a random one from the ``gram`` stream, so the two engines share it): the
Gram matrix is ``d Lc Lc^T`` exactly. In the reduced engine ``F_0 = sqrt(d) [I_k | 0]``, so the
features' reduced coordinates are ``sqrt(d) Lc`` on the first ``k`` columns: the coordinates of
the features in the orthonormal basis Gram-Schmidt makes of them. The reduction stays exact in
law, because it only needs the first ``k`` basis vectors to span the features: the noise and the
initial weights are i.i.d. ``N(0, I_d)``, independent of the features, so their components on *any*
orthonormal basis of the feature span are i.i.d. ``N(0, 1)`` and the rest is the same Wishart
remainder (:mod:`._reduced`). Label noise (``Config.label_noise``) flips the drawn training labels
from the ``label_noise`` stream (:func:`._data.flip_labels`); supplied training samples are used as
given.

Validation happens at the boundary only: :class:`._run.Config` validates every parameter on
construction, and :meth:`Engine.sample` validates the arrays a caller supplies; the samplers an
engine calls internally trust the config (no second validation of the same parameters).
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._data import Sample, _draw_mixture, _haar_features, feature_correlation, flip_labels, gram_factor, gram_features, make_partition
from ._errors import InvalidParameter
from ._reduced import ReducedInputs, ReducedSampler, reduced_applies, reduced_dimension
from ._validate import validate_array

__all__ = ["Engine", "ExplicitEngine", "ReducedEngine", "Inputs", "engine_for"]


@dataclass
class Inputs:
    """Everything a run trains on and is measured with (``d`` is the engine's working dimension).

    Attributes
    ----------
    features : ndarray, shape (k, d)
    cluster_labels : ndarray of int64, shape (k,)
    train, test : Sample
    W_init : ndarray, shape (M, d)
    b_init : ndarray, shape (M,)
    """

    features: np.ndarray
    cluster_labels: np.ndarray
    train: Sample
    test: Sample
    W_init: np.ndarray
    b_init: np.ndarray

    def as_dict(self):
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class Engine:
    """Base class: an engine bound to one resolved, validated config.

    Parameters
    ----------
    cfg : Config
        Validated (``Config.__post_init__``) and resolved (:func:`engine_for`).
    """

    name = None

    def __init__(self, cfg):
        self.cfg = cfg

    @property
    def dimension(self):
        """The working dimension of every array: ``d`` (explicit) or ``k + n + M`` (reduced)."""
        raise NotImplementedError

    # the pieces a subclass draws -------------------------------------------------------------
    def _features(self, rngs):
        raise NotImplementedError

    def _train(self, rngs, features, cluster_labels):
        raise NotImplementedError

    def _test(self, rngs, features, cluster_labels):
        raise NotImplementedError

    def init(self, rngs=None):
        """The initial weights this config's seed draws: ``W_init`` (M, d), ``b_init`` (M,)."""
        raise NotImplementedError

    def gram_factor(self, rngs=None):
        """``Lc`` (k, k) of the data variants (module docstring), or ``None`` under Assumption 3.2.

        A random correlation matrix is drawn from the ``gram`` stream of a fresh copy of the
        config's streams, so it depends on the seed alone (not on what else was drawn).
        """
        cfg = self.cfg
        if not cfg.gram_variant:
            return None
        rng = cfg.rngs()["gram"] if rngs is None else rngs["gram"]
        C = feature_correlation(cfg.k, cfg.coherence, cfg.coherence_kind, rng)
        return gram_factor(C, cfg.feature_norms)

    def _varied(self, F0, rngs):
        factor = self.gram_factor(rngs)
        return F0 if factor is None else gram_features(F0, factor)

    def training_inputs(self, train):
        """The training inputs as gradient descent consumes them (an ndarray, or ReducedInputs)."""
        return train.X

    # the one entry point for sampling --------------------------------------------------------
    def sample(self, *, features=None, cluster_labels=None, train=None, test=None, W_init=None, b_init=None):
        """The run's :class:`Inputs`: the supplied arrays, validated, and the rest drawn from the seed.

        Raises
        ------
        InvalidParameter
            For a supplied array of the wrong shape or with non-finite entries, cluster labels that
            are not a partition with ``positive`` entries ``+1``, or only one of ``W_init``/``b_init``.
        """
        cfg = self.cfg
        k, d, M = cfg.k, self.dimension, cfg.neurons
        rngs = cfg.rngs()
        if features is None:
            features = self._features(rngs)
        else:
            features = validate_array("features", features, shape=(k, d))
        if cluster_labels is None:
            cluster_labels = make_partition(k, cfg.positive)
        else:
            cluster_labels = validate_array("cluster_labels", cluster_labels, shape=(k,), dtype=np.int64)
            if not np.all(np.abs(cluster_labels) == 1) or int((cluster_labels > 0).sum()) != cfg.positive:
                raise InvalidParameter("cluster_labels", cluster_labels.tolist(),
                                       f"entries in {{+1, -1}} with exactly positive = {cfg.positive} entries +1")
        if train is None:
            train = self._train(rngs, features, cluster_labels)
            if cfg.label_noise > 0:
                train = flip_labels(train, cfg.label_noise, rngs["label_noise"])
        else:
            train = _checked("train", train, cfg.n, d)
        test = self._test(rngs, features, cluster_labels) if test is None else _checked("test", test, cfg.n_test, d)
        if W_init is None and b_init is None:
            W_init, b_init = self.init(rngs)
        elif W_init is None or b_init is None:
            raise InvalidParameter("W_init/b_init", "only one given", "both W_init and b_init, or neither")
        else:
            W_init = validate_array("W_init", W_init, shape=(M, d))
            b_init = validate_array("b_init", b_init, shape=(M,))
        return Inputs(features, cluster_labels, train, test, W_init, b_init)


def _checked(name, s, size, d):
    validate_array(f"{name}.X", s.X, shape=(size, d))
    validate_array(f"{name}.y", s.y, shape=(size,), dtype=np.int64)
    validate_array(f"{name}.clusters", s.clusters, shape=(size,), dtype=np.int64)
    return s


class ExplicitEngine(Engine):
    """Definition 3.1 sampled in ``R^d``: Haar-rotated orthogonal features, Gaussian noise and weights."""

    name = "explicit"

    @property
    def dimension(self):
        return self.cfg.d

    def _features(self, rngs):
        if self.cfg.features == "standard":  # mu_j = sqrt(d) e_j: the stream is not drawn from
            F = np.zeros((self.cfg.k, self.cfg.d))
            F[np.arange(self.cfg.k), np.arange(self.cfg.k)] = np.sqrt(self.cfg.d)
            return self._varied(F, rngs)
        return self._varied(_haar_features(self.cfg.k, self.cfg.d, rngs["features"]), rngs)

    def _train(self, rngs, features, cluster_labels):
        return _draw_mixture(features, cluster_labels, self.cfg.n, rngs["train"], self.cfg.sigma)

    def _test(self, rngs, features, cluster_labels):
        return _draw_mixture(features, cluster_labels, self.cfg.n_test, rngs["test"], self.cfg.sigma)

    def init(self, rngs=None):
        """``W ~ N(0, init_scale^2)`` entrywise from the ``init`` stream, then ``b``."""
        rng = (rngs or self.cfg.rngs())["init"]
        W = rng.standard_normal((self.cfg.neurons, self.cfg.d)) * self.cfg.init_scale
        b = rng.standard_normal(self.cfg.neurons) * self.cfg.init_scale
        return W, b


class ReducedEngine(Engine):
    """The reduced, exact-in-law engine (docs/science.md §4; :mod:`._reduced`)."""

    name = "reduced"

    def __init__(self, cfg):
        super().__init__(cfg)
        self._sampler = None
        self._rngs = None

    @property
    def dimension(self):
        return reduced_dimension(self.cfg.k, self.cfg.n, self.cfg.neurons)

    def _sampler_for(self, rngs):
        # the Bartlett factor (O((n + M)^2) draws) only when something is drawn, once per streams
        if self._sampler is None or self._rngs is not rngs:
            c = self.cfg
            self._sampler = ReducedSampler._trusted(c.k, c.d, c.n, c.neurons, c.sigma, c.init_scale, rngs)
            self._sampler.factor = self.gram_factor(rngs)
            self._rngs = rngs
        return self._sampler

    def _features(self, rngs):
        return self._sampler_for(rngs).features()

    def _train(self, rngs, features, cluster_labels):
        return self._sampler_for(rngs).train(cluster_labels)

    def _test(self, rngs, features, cluster_labels):
        return self._sampler_for(rngs).test(cluster_labels, self.cfg.n_test)

    def init(self, rngs=None):
        """The initial weights' rows of the Bartlett factor (``features`` stream) and the ``init`` stream."""
        return self._sampler_for(rngs or self.cfg.rngs()).init()

    def training_inputs(self, train):
        """:class:`._reduced.ReducedInputs` (the same products with half the work), or the dense array."""
        return ReducedInputs.from_dense(train.X, self.cfg.k)


def engine_for(cfg):
    """The engine of a validated config, chosen once: ``(resolved config, Engine)``.

    ``engine="reduced"`` with ``d <= k + n + M`` resolves to the explicit engine (module docstring).
    """
    if cfg.engine == "reduced":
        if reduced_applies(cfg.k, cfg.d, cfg.n, cfg.neurons):
            return cfg, ReducedEngine(cfg)
        cfg = dataclasses.replace(cfg, engine="explicit")
    return cfg, ExplicitEngine(cfg)
