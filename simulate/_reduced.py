r"""The reduced engine: exact simulation at any dimension ``d`` at a cost independent of ``d`` (docs/science.md §4).

Why it is exact. Gradient descent (docs/science.md §1) only ever uses inner products: every weight stays in
the span of its initial value and the training inputs, and the loss depends on ``<w_r, x_i>``
and ``b_r``. GD is equivariant under rotations of R^d, so any embedding whose joint law equals
that of ``{mu_j}, {xi_i}, {w_r(0)}`` up to a rotation gives a trajectory with exactly the same law.

Coordinates. Rotate so that ``mu_j = sqrt(d) e_j`` (``j < k``). The training noise ``xi_i``
(``i < n``) and the initial weights ``w_r(0) / sigma_w`` (``r < M``) are independent of the
features and rotation invariant, so in these coordinates they are still i.i.d. ``N(0, I_d)``:

* their components along ``e_1..e_k`` are i.i.d. ``N(0, 1)``;
* their components in the remaining ``d - k`` dimensions form a Gaussian matrix ``G``, shape
  ``(N, d - k)`` with ``N = n + M``. Its LQ decomposition ``G = L Q`` (``Q`` with orthonormal
  rows) has, by Bartlett's decomposition of the Wishart matrix ``G G^T ~ W_N(d - k, I)``, a
  lower-triangular ``L`` with independent entries ``L_ii ~ chi(d - k - i + 1)`` (``i = 1..N``)
  and ``L_ij ~ N(0, 1)`` for ``j < i`` (Bartlett 1933; Anderson, *An Introduction to
  Multivariate Statistical Analysis*, 3rd ed., Thm 7.2.1). Row ``i`` of ``L`` is the exact
  coordinate vector of row ``i`` of ``G`` in the orthonormal basis ``q_1..q_N`` (the rows of
  ``Q``), which needs ``d - k >= N``.

So the reduced dimension is ``D = k + N = k + n + M``, and the reduced coordinates of every
vector the network sees are (columns ``0..k-1`` the features, columns ``k..k+N-1`` the ``q_i``):

* ``mu_j``: ``sqrt(d) e_j``;
* training input ``x_i = mu_{c_i} + sigma xi_i``: ``sqrt(d) e_{c_i} + sigma [g_i, L_i]``
  with ``g_i ~ N(0, I_k)``; the rows of ``L`` come in the order training noise first, then
  initial weights, so a training input is zero in the last ``M`` columns;
* initial weight ``w_r(0)``: ``sigma_w [h_r, L_{n+r}]``, ``h_r ~ N(0, I_k)``;
* a fresh test point: ``sqrt(d) e_c + sigma [g, u]`` with ``g ~ N(0, I_k)``, ``u ~ N(0, I_N)``
  (``Q`` is a function of ``G``, independent of the test noise). Its remainder outside the
  ``D``-dimensional span is orthogonal to every weight at every step, so it changes neither
  ``f`` nor the minimal adversarial perturbation (which lies in the span of the weights); it is
  dropped. Consequently norms of test points (``||x||``) are *not* those of the explicit engine;
  only quantities that go through the weights are.

Features with any Gram matrix (issue 18; :mod:`._engine`). If the features are not orthogonal
equinorm but have Gram matrix ``G = d Lc Lc^T`` (``Lc`` lower triangular, positive diagonal), rotate
instead so that ``e_1..e_k`` is the orthonormal basis Gram-Schmidt makes of ``mu_1..mu_k``: then
``mu_j = sqrt(d) (Lc_j, 0)`` (row ``j`` of the Cholesky factor), and everything above holds
unchanged, since it only used that ``e_1..e_k`` is *some* orthonormal basis of the feature span,
independent of the noise and the initial weights. A training input is then
``sqrt(d) Lc_{c_i} + sigma [g_i, L_i]`` on the first ``k`` columns and the rest. The sampler's
``factor`` (``None``: ``Lc = I``) holds ``Lc``.

Biases ``b_r ~ N(0, sigma_b^2)`` and the cluster indices ``c_i ~ Unif([k])`` are unchanged.

Seeding (streams of :data:`featavg.simulate.RNG_STREAMS`): ``features`` draws the Bartlett
factor ``L`` (the reduced-coordinate features themselves are deterministic), ``train`` the
cluster indices then the feature-direction noise ``g_i``, ``test`` the cluster indices then
``[g, u]``, ``init`` the feature-direction weights ``h_r`` then the biases. As in the explicit
engine, changing ``n_test`` never changes the training data or the initial weights. The two
engines do *not* produce the same sample from one seed; they agree in law.

Floating point. All entries are O(1) except ``sqrt(d)`` on the feature coordinates and
``L_ii ~ sqrt(d)``. Adding an O(1) noise component to ``sqrt(d)`` resolves it to an absolute
``eps sqrt(d)`` (``eps = 2^-52``); the largest inner products (``~d``) carry an absolute rounding
error ``~eps d``, against fluctuations of size ``sqrt(d)``, i.e. a relative ``eps sqrt(d)``.
:data:`D_MAX` = ``10^12`` keeps ``eps sqrt(d) <= 2.3e-10`` (and ``d`` exactly representable, with
``sqrt(d)`` correctly rounded); beyond it the reduced engine refuses ``d``. The hard limit would
be ``2^53`` (the chi degrees of freedom ``d - k - i`` stop being distinct float64 numbers), where
``eps sqrt(d)`` reaches 2e-8. Measured (binary net, k=10, n=200, m=5, 100 steps, eta = 3.072/d):
float64 GD and long-double GD on the same draws agree to <= 3e-13 of the within-cluster spread of
the pre-activations and <= 3e-16 relative in the loss for every d in 1e4..1e15, so D_MAX is set by
the stated per-coordinate bound, not by an observed failure. The chi variables are drawn exactly
as ``sqrt(chisquare(df))`` (NumPy's gamma sampler; no normal approximation).
"""

import numpy as np
from scipy.linalg import blas

from ._data import Sample
from ._validate import validate_array, validate_int, validate_real

__all__ = ["D_MAX", "reduced_dimension", "reduced_applies", "ReducedSampler", "bartlett_factor",
           "embed_explicit", "ReducedInputs"]

#: Largest ``d`` the reduced engine accepts: ``eps sqrt(d) <= 2.3e-10`` (module docstring).
D_MAX = 10**12


def reduced_dimension(k, n, M):
    """``D = k + n + M``: the working dimension of the reduced engine."""
    return k + n + M


def reduced_applies(k, d, n, M):
    """Whether the reduced engine is used: ``d > k + n + M`` (otherwise it is no cheaper, and for
    ``d - k < n + M`` the Bartlett factor does not exist; :func:`run_simulation` then falls back to
    the explicit engine and records ``engine="explicit"`` in the run's config)."""
    return d > reduced_dimension(k, n, M)


def bartlett_factor(N, dof, rng):
    """Lower-triangular Bartlett factor ``L`` of a ``W_N(dof, I)`` Wishart matrix ``L L^T``.

    Parameters
    ----------
    N : int
        Size, ``N >= 1``.
    dof : int
        Degrees of freedom, ``dof >= N``.
    rng : numpy.random.Generator
        Draws the ``N`` diagonal chi variables (``chi(dof), chi(dof - 1), ..., chi(dof - N + 1)``)
        first, then the ``N (N - 1) / 2`` standard normals below the diagonal, row by row.

    Returns
    -------
    L : ndarray, shape (N, N)
        Row ``i`` is the coordinate vector of the ``i``-th of ``N`` i.i.d. ``N(0, I_dof)``
        vectors in an orthonormal basis of their span (module docstring).
    """
    N = validate_int("N", N, low=1)
    dof = validate_int("dof", dof, low=N, valid=f"an integer >= N = {N}")
    return _bartlett(N, dof, rng)


def _bartlett(N, dof, rng):
    """:func:`bartlett_factor` for sizes already validated."""
    L = np.zeros((N, N))
    df = dof - np.arange(N, dtype=np.float64)  # exact: dof <= D_MAX < 2^53
    L[np.diag_indices(N)] = np.sqrt(rng.chisquare(df))
    rows, cols = np.tril_indices(N, -1)
    L[rows, cols] = rng.standard_normal(rows.size)
    return L


class ReducedSampler:
    """Features, data and initial weights of one run in reduced coordinates (module docstring).

    Parameters
    ----------
    k, d, n, M : int
        Clusters, ambient dimension (``k + n + M < d <= D_MAX``), training points, neurons.
    sigma : float
        Noise scale.
    init_scale : float
        ``sigma_w = sigma_b``.
    rngs : dict of numpy.random.Generator
        The run's streams, keyed by ``features``, ``train``, ``test``, ``init``. The Bartlett
        factor is drawn from ``features`` on construction.

    Raises
    ------
    InvalidParameter
        If ``d > D_MAX`` or ``d <= k + n + M``.
    """

    def __init__(self, k, d, n, M, sigma, init_scale, rngs):
        self.k = validate_int("k", k, low=2)
        self.n = validate_int("n", n, low=1)
        self.M = validate_int("M", M, low=1)
        self.N = self.n + self.M
        self.D = reduced_dimension(self.k, self.n, self.M)
        self.d = validate_int(
            "d", d, low=self.D + 1, high=D_MAX,
            valid=(f"an integer with k + n + M = {self.D} < d <= {D_MAX:.0e} for the reduced engine "
                   f"(beyond {D_MAX:.0e} float64 rounding of the sqrt(d)-sized coordinates exceeds "
                   "2.3e-10 relative; use a smaller d, whose law differs only at that order)"))
        self.sigma = validate_real("sigma", sigma, low=0.0)
        self.init_scale = validate_real("init_scale", init_scale, low=0.0)
        self.rngs = rngs
        self.L = _bartlett(self.N, self.d - self.k, rngs["features"])
        self.factor = None

    @classmethod
    def _trusted(cls, k, d, n, M, sigma, init_scale, rngs):
        """A sampler for sizes a validated :class:`._run.Config` already checked (the engine's path:
        validation happens once, at the boundary)."""
        self = cls.__new__(cls)
        self.k, self.n, self.M = int(k), int(n), int(M)
        self.N = self.n + self.M
        self.D = reduced_dimension(self.k, self.n, self.M)
        self.d, self.sigma, self.init_scale = int(d), float(sigma), float(init_scale)
        self.rngs = rngs
        self.L = _bartlett(self.N, self.d - self.k, rngs["features"])
        self.factor = None
        return self

    def features(self):
        """``mu_j = sqrt(d) e_j``, shape (k, D); ``sqrt(d) (Lc_j, 0)`` with a ``factor`` (module docstring)."""
        F = np.zeros((self.k, self.D))
        if self.factor is not None:
            F[:, :self.k] = np.sqrt(self.d) * self.factor
            return F
        F[np.arange(self.k), np.arange(self.k)] = np.sqrt(self.d)
        return F

    def _points(self, clusters, noise_k, noise_N):
        X = np.zeros((clusters.size, self.D))
        X[:, :self.k] = noise_k
        X[:, self.k:] = noise_N
        X *= self.sigma
        if self.factor is not None:
            X[:, :self.k] += np.sqrt(self.d) * self.factor[clusters]
            return X
        X[np.arange(clusters.size), clusters] += np.sqrt(self.d)
        return X

    def train(self, cluster_labels):
        """The ``n`` training points, ``Sample`` with ``X`` of shape (n, D)."""
        rng = self.rngs["train"]
        clusters = rng.integers(0, self.k, size=self.n)
        X = self._points(clusters, rng.standard_normal((self.n, self.k)), self.L[:self.n])
        return Sample(X=X, y=np.asarray(cluster_labels)[clusters].copy(), clusters=clusters.astype(np.int64))

    def test(self, cluster_labels, n_test):
        """``n_test`` fresh points, ``Sample`` with ``X`` of shape (n_test, D) (remainder dropped)."""
        rng = self.rngs["test"]
        n_test = validate_int("n_test", n_test, low=1)
        clusters = rng.integers(0, self.k, size=n_test)
        noise = rng.standard_normal((n_test, self.D))
        X = self._points(clusters, noise[:, :self.k], noise[:, self.k:])
        return Sample(X=X, y=np.asarray(cluster_labels)[clusters].copy(), clusters=clusters.astype(np.int64))

    def init(self):
        """``W_init`` shape (M, D) and ``b_init`` shape (M,)."""
        rng = self.rngs["init"]
        W = np.zeros((self.M, self.D))
        W[:, :self.k] = rng.standard_normal((self.M, self.k))
        W[:, self.k:] = self.L[self.n:]
        W *= self.init_scale
        b = rng.standard_normal(self.M) * self.init_scale
        return W, b


def embed_explicit(features, X_train, clusters_train, sigma, W_init, init_scale, X_test=None):
    """Reduced coordinates of one explicit sample: the oracle of the exactness test (docs/science.md §4).

    The basis is the feature directions ``mu_j / ||mu_j||`` followed by an orthonormal basis (QR)
    of the components of ``[xi_1..xi_n, w_1(0)..w_M(0)]`` orthogonal to the features, so training
    inputs and initial weights are represented exactly and test points are projected (their
    remainder is orthogonal to every weight at every step).

    Parameters
    ----------
    features : ndarray, shape (k, d)
        Orthogonal rows (Assumption 3.2).
    X_train : ndarray, shape (n, d)
    clusters_train : ndarray of int, shape (n,)
    sigma : float
        Noise scale, ``> 0`` (the noise is recovered as ``(x_i - mu_{c_i}) / sigma``).
    W_init : ndarray, shape (M, d)
    init_scale : float
        ``> 0``.
    X_test : ndarray, shape (n_test, d), optional

    Returns
    -------
    basis : ndarray, shape (D, d)
        Orthonormal rows; reduced coordinates are ``v @ basis.T``.
    reduced : dict of ndarray
        ``features`` (k, D), ``X_train`` (n, D), ``W_init`` (M, D) and, if given, ``X_test``.
    """
    features = validate_array("features", features, shape=(None, None))
    k, d = features.shape
    X_train = validate_array("X_train", X_train, shape=(None, d))
    W_init = validate_array("W_init", W_init, shape=(None, d))
    sigma = validate_real("sigma", sigma, low=0.0, low_open=True)
    init_scale = validate_real("init_scale", init_scale, low=0.0, low_open=True)
    E = features / np.linalg.norm(features, axis=1, keepdims=True)
    V = np.vstack([(X_train - features[np.asarray(clusters_train)]) / sigma, W_init / init_scale])
    R = V - (V @ E.T) @ E
    Q, _ = np.linalg.qr(R.T)  # (d, N)
    basis = np.vstack([E, Q.T])
    out = {"features": features @ basis.T, "X_train": X_train @ basis.T, "W_init": W_init @ basis.T}
    if X_test is not None:
        out["X_test"] = validate_array("X_test", X_test, shape=(None, d)) @ basis.T
    return basis, out


class ReducedInputs:
    r"""Training inputs of the reduced engine as a structured matrix, for the two passes of a GD step.

    In reduced coordinates the training inputs are ``X = [A | T | 0]``: ``A`` (shape (n, k)) on
    the feature directions, ``T = sigma L_{:n,:n}`` (shape (n, n), lower triangular: training
    noise ``i`` has coordinates only on the basis vectors ``q_1..q_i``) and zeros on the last
    ``M`` columns (the initial weights' own directions). A GD step needs only ``X W^T`` and
    ``D^T X`` (:mod:`._networks`), so with BLAS ``trmm`` on ``T`` each pass reads about half of
    ``X`` and does half the work of a dense product; the result equals the dense product up to
    float64 round-off (the sums run in another order).

    ``X @ W.T`` and ``D.T @ X`` work as for an ndarray (``__array_ufunc__ = None`` makes NumPy
    defer ``ndarray @ ReducedInputs`` to :meth:`__rmatmul__`).

    Parameters
    ----------
    X : ndarray, shape (n, D)
        Dense reduced training inputs of that structure (checked: :meth:`from_dense` returns the
        dense array itself when the structure is absent, e.g. for user-supplied data).
    k : int
    """

    __array_ufunc__ = None

    def __init__(self, X, k):
        self.k = k
        self.n, self.D = X.shape
        self.A = np.ascontiguousarray(X[:, :k])
        # C-contiguous T is an F-contiguous T^T (upper triangular), which is what BLAS reads
        self._Tt = np.ascontiguousarray(X[:, k:k + self.n]).T

    @property
    def shape(self):
        return (self.n, self.D)

    ndim = 2

    @classmethod
    def from_dense(cls, X, k):
        """``ReducedInputs`` when ``X`` is ``[A | lower-triangular | 0]`` with ``D > k + n``, else ``X``."""
        n, D = X.shape
        if D <= k + n:
            return X
        if np.any(X[:, k + n:]) or np.any(np.triu(X[:, k:k + n], 1)):
            return X
        return cls(X, k)

    def __matmul__(self, Wt):
        """``X @ Wt`` for ``Wt`` of shape (D, M) (``W.T``): ``A Wt_A + T Wt_T``."""
        out = blas.dtrmm(1.0, self._Tt, Wt[self.k:self.k + self.n], side=0, lower=0, trans_a=1)
        out += self.A @ Wt[:self.k]
        return out

    def gram(self):
        """``X X^T = A A^T + T T^T``, shape (n, n): the Gram matrix of the span path (:mod:`._span`).

        ``T T^T`` is one BLAS ``syrk`` on the dense triangular block (NumPy's product of an array
        with its own transpose); the zero columns are skipped.
        """
        T = self._Tt.T  # C-contiguous lower-triangular T
        G = T @ T.T
        G += self.A @ self.A.T
        return G

    def __rmatmul__(self, Dt):
        """``Dt @ X`` for ``Dt`` of shape (M, n) (``D^T``): ``[Dt A | Dt T | 0]``."""
        out = np.zeros((Dt.shape[0], self.D))
        out[:, :self.k] = Dt @ self.A
        out[:, self.k:self.k + self.n] = blas.dtrmm(1.0, self._Tt, Dt, side=1, lower=0, trans_a=1)
        return out
