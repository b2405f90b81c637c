r"""Evidence for a claim: numeric checks with derived bands, the rivals they must reject, faults.

A claim module (:mod:`featavg.claims`, or a user's file given to ``--claims``) holds a claim's
SymPy half (``derive()``, :mod:`featavg.theory`) and, beside it, its evidence, written with the
objects of this module:

* :class:`Check`: one row of ``featavg verify``. Its ``measure(ctx)`` runs the simulator (imported
  inside the function, never at module level, so that the SymPy half builds without the
  simulator) and returns an :class:`Outcome`: the prediction, the measured value with its
  confidence interval, the :class:`Band` that decides, and the values of the check's rivals.
* :class:`Band`: an executable tolerance. Its half-width is computed from named :class:`Term`\ s
  (standard errors times a quantile, bounds on neglected corrections, round-off); the same object
  decides pass or fail and prints itself with its reasons, so the text and the code cannot drift
  apart.
* :class:`Rival`: a nearest plausible wrong prediction (a constant off by one, a missing
  correction, the other readout's formula). It is evaluated with the same band construction
  (the same half-width around the rival's value) and reported ``rejected`` or ``accepted``.
* :class:`Fault`: a deliberately broken oracle (a simulator that decouples, a wrong closed form,
  a wrong gradient) that a check names and must catch; the generic tests run every check under
  every fault it names.
* :class:`Figure`: a figure of the report, drawn from the same context.

Verdicts. A numeric row is ``passed`` when the measured value lies in the band and every rival
is rejected; ``failed`` when it lies outside the band; ``inconclusive`` when it lies in the band
but some rival is accepted too (the check cannot tell the claim from that rival: not evidence),
or when the check lists no rival at all. Symbolic rows (a claim's derivation steps) are
``passed`` or ``failed``.

Statistics. Every statistical term is a quantile of the row's confidence level
:data:`CONFIDENCE` times a standard error; intervals for means use Student's t over independent
seeds (:func:`mean_interval`), medians of i.i.d. values the exact order-statistics interval
(:func:`median_interval`), binomial probabilities Clopper-Pearson (:func:`clopper_pearson`),
power-law rates the least-squares slope with its t interval (:func:`fit_power_law`).
Statistical terms combine in quadrature, bounds add linearly.
"""

import contextlib
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import special

from featavg._errors import ClaimDefinitionError, InvalidParameter

__all__ = [
    "CONFIDENCE", "Term", "Band", "Rival", "Outcome", "Check", "Figure", "Fault",
    "FAULTS", "register_fault", "quantile", "t_quantile", "mean_interval", "median_interval",
    "clopper_pearson", "binomial_two_sided_p", "fit_power_law", "round_off", "seed_comparison",
    "STATUSES",
]

#: Two-sided confidence level of every statistical band. With about 30 statistical rows in a full
#: ``featavg verify``, a correct theory fails some row at a given seed with probability at most
#: 1 - 0.999^30 = 3% (Bonferroni), while a rival whose distance from the prediction exceeds the
#: band is rejected at the same level.
CONFIDENCE = 0.999

#: the verdicts of a row
STATUSES = ("passed", "failed", "inconclusive")

#: float64 unit round-off
EPS = float(np.finfo(float).eps)


# ---------------------------------------------------------------------------------------------
# quantiles and intervals
# ---------------------------------------------------------------------------------------------

def quantile(level=CONFIDENCE):
    """``z`` with ``P(|Z| <= z) = level`` for a standard normal ``Z`` (two-sided)."""
    return float(special.ndtri(0.5 + level / 2))


def t_quantile(dof, level=CONFIDENCE):
    """Two-sided Student-t quantile ``t_{(1 + level)/2, dof}``."""
    if dof < 1:
        raise InvalidParameter("dof", dof, "at least 1 degree of freedom (two or more seeds)")
    return float(special.stdtrit(dof, 0.5 + level / 2))


def mean_interval(values, level=CONFIDENCE):
    """Mean of independent values with its two-sided Student-t interval.

    Parameters
    ----------
    values : array_like, shape (R,)
        One value per independent seed, ``R >= 2``.

    Returns
    -------
    mean : float
    se : float
        ``s / sqrt(R)``, ``s`` the sample standard deviation.
    halfwidth : float
        ``t_{(1+level)/2, R-1} se``.
    """
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2:
        raise InvalidParameter("values", f"{v.size} value(s)", "at least two independent seeds")
    se = float(v.std(ddof=1) / math.sqrt(v.size))
    return float(v.mean()), se, t_quantile(v.size - 1, level) * se



def seed_comparison(measured, predicted, why=""):
    """A per-seed comparison of a measurement with its per-seed prediction.

    With ``R`` independent seeds, the mean difference ``measured - predicted`` has the Student-t
    interval of :func:`mean_interval`; its half-width is the statistical term of the band around the
    mean prediction (paired: what the seeds share cancels in the difference).

    Parameters
    ----------
    measured, predicted : array_like, shape (R,)
        One value per seed, ``R >= 2``.
    why : str
        Appended to the term's reason (what cancels in the difference, say).

    Returns
    -------
    predicted_mean : float
    term : Term
        ``t_{R-1} x`` the standard error of the mean difference (kind ``"stat"``).
    interval : tuple of float
        The measured mean's own Student-t interval.
    """
    meas, pred = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    R = meas.size
    _, _, diff_hw = mean_interval(meas - pred)
    m, _, hw = mean_interval(meas)
    reason = f"t({R - 1} dof) x standard error of the mean difference measured - predicted over {R} seeds"
    return float(pred.mean()), Term(reason + (f" {why}" if why else ""), diff_hw, "stat"), (m - hw, m + hw)


def median_interval(values, level=CONFIDENCE):
    """Sample median with the exact distribution-free interval of order statistics.

    For ``n`` i.i.d. values of a continuous law with median ``M``, the number of values below
    ``M`` is Binomial(n, 1/2); ``[x_(l), x_(u)]`` (1-based order statistics, ``u = n + 1 - l``)
    covers ``M`` with probability ``1 - 2 P(B <= l - 1)``. ``l`` is the largest index whose
    coverage is at least ``level`` (David & Nagaraja, *Order Statistics*, 3rd ed., §7.1).

    Returns
    -------
    median, lo, hi : float
    coverage : float
        The exact coverage of ``[lo, hi]`` (``>= level``; 1 with ``lo = -inf`` when ``n`` is too
        small for ``level``).
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    n = x.size
    if n == 0:
        raise InvalidParameter("values", "no values", "at least one value")
    med = float(np.median(x))
    # P(B <= j) for B ~ Bin(n, 1/2), j = 0..n
    cdf = special.bdtr(np.arange(n + 1), n, 0.5)
    ok = np.flatnonzero(1 - 2 * cdf[:n] >= level)  # l - 1 = j with coverage 1 - 2 cdf[j] >= level
    if ok.size == 0:
        return med, -math.inf, math.inf, 1.0
    j = int(ok.max())
    lo, hi = x[j], x[n - 1 - j]
    return med, float(lo), float(hi), float(1 - 2 * cdf[j])


def clopper_pearson(successes, trials, level=CONFIDENCE, side="two-sided"):
    """Exact (Clopper-Pearson) confidence interval of a binomial probability.

    Parameters
    ----------
    successes, trials : int
    level : float
    side : {"two-sided", "lower", "upper"}
        ``lower``: a one-sided lower bound (``hi = 1``); ``upper``: a one-sided upper bound.

    Returns
    -------
    lo, hi : float
        Beta quantiles: ``lo = B^{-1}(a; x, n - x + 1)``, ``hi = B^{-1}(1 - a; x + 1, n - x)``,
        ``a = (1 - level)/2`` two-sided, ``1 - level`` one-sided (Clopper & Pearson 1934).
    """
    x, n = int(successes), int(trials)
    if n < 1 or not 0 <= x <= n:
        raise InvalidParameter("successes/trials", (x, n), "0 <= successes <= trials, trials >= 1")
    if side not in ("two-sided", "lower", "upper"):
        raise InvalidParameter("side", side, "'two-sided', 'lower' or 'upper'")
    a = (1 - level) / 2 if side == "two-sided" else 1 - level
    lo = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, a))
    hi = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - a))
    if side == "lower":
        hi = 1.0
    elif side == "upper":
        lo = 0.0
    return lo, hi


def binomial_two_sided_p(successes, trials, p):
    """Exact two-sided binomial p-value (sum of the probabilities no larger than the observed)."""
    x, n = int(successes), int(trials)
    k = np.arange(n + 1)
    pmf = np.exp(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
                 + k * np.log(p) + (n - k) * np.log1p(-p)) if 0 < p < 1 else (k == round(n * p)).astype(float)
    return float(min(1.0, pmf[pmf <= pmf[x] * (1 + 1e-7)].sum()))


def fit_power_law(x, y, level=0.95):
    """Least-squares fit of ``log y = a + s log x`` with the slope's t interval.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Positive values, at least two distinct ``x``.
    level : float
        Two-sided confidence level of the slope's interval.

    Returns
    -------
    dict
        ``slope`` s, ``intercept`` a, ``ci`` (``s -+ t_{n-2} se(s)``, ``se(s)^2 = SSR / ((n - 2)
        Sxx)``; ``None`` when ``n = 2``), ``stderr``, ``halfwidth`` and ``n``.
    """
    X, Y = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    n = X.size
    Xc = X - X.mean()
    sxx = float(Xc @ Xc)
    if n < 2 or sxx == 0.0:
        raise InvalidParameter("x", f"{n} point(s) with {np.unique(X).size} distinct x",
                               "at least two distinct positive x values")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise InvalidParameter("x, y", "non-positive or non-finite values", "positive finite values")
    slope = float(Xc @ (Y - Y.mean()) / sxx)
    intercept = float(Y.mean() - slope * X.mean())
    out = {"slope": slope, "intercept": intercept, "ci": None, "stderr": None, "halfwidth": None, "n": int(n)}
    if n > 2:
        resid = Y - intercept - slope * X
        se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
        hw = t_quantile(n - 2, level) * se
        out.update(stderr=se, halfwidth=hw, ci=[slope - hw, slope + hw])
    return out


def round_off(scale, operations=1.0):
    """A bound on float64 round-off: ``operations * eps * scale`` (``eps = 2^-52``)."""
    return float(operations) * EPS * float(scale)


# ---------------------------------------------------------------------------------------------
# bands
# ---------------------------------------------------------------------------------------------

def _as_value(x):
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def _text(x):
    from featavg._output import fmt

    return fmt(x)


@dataclass(frozen=True)
class Term:
    """One named contribution to a band's half-width.

    Attributes
    ----------
    name : str
        What it is, in words that a referee can check (``"t(0.9995, 15) x standard error of the
        mean of 16 seed medians"``, ``"bound on the neglected O((k/n)^2) term"``).
    value : float or ndarray
        Non-negative, in the units of the measured quantity (an array for a vector check).
    kind : {"stat", "bound"}
        ``stat`` terms (quantile times a standard error) combine in quadrature; ``bound`` terms
        (worst cases of neglected corrections, round-off) add linearly.
    """

    name: str
    value: object
    kind: str = "bound"

    def __post_init__(self):
        if self.kind not in ("stat", "bound"):
            raise InvalidParameter("kind", self.kind, "'stat' or 'bound'")
        v = _as_value(self.value)
        if np.any(~np.isfinite(v)) or np.any(np.asarray(v) < 0):
            raise InvalidParameter(f"Term {self.name!r} value", v, "a finite non-negative half-width")
        object.__setattr__(self, "value", v)


@dataclass(frozen=True)
class Band:
    r"""An executable tolerance: ``[center - w, center + w]`` with ``w`` computed from :class:`Term`\ s.

    ``w = sqrt(sum of stat terms^2) + sum of bound terms``. The same object decides
    (:meth:`accepts`), builds the rivals' bands (:meth:`around`: the same half-width about another
    value) and prints itself with its reasons (:meth:`describe`).

    Attributes
    ----------
    center : float or ndarray
        The prediction.
    terms : tuple of Term
    limits : tuple of float, optional
        The range the quantity can take (e.g. ``(0, 1)`` for a probability); the band is clipped
        to it.
    side : {"both", "upper", "lower"}
        ``both``: accept ``center - w <= x <= center + w``; ``upper``: the claim is an upper bound,
        accept ``x <= center + w`` (``lo`` is the lower limit); ``lower``: a lower bound, accept
        ``x >= center - w``. One-sided bands judge bounds (a lemma's failure probability
        ``<= delta``); a rival's band is one-sided the same way.
    """

    center: object
    terms: tuple = ()
    limits: tuple = (-math.inf, math.inf)
    side: str = "both"

    def __post_init__(self):
        if self.side not in ("both", "upper", "lower"):
            raise InvalidParameter("side", self.side, "'both', 'upper' or 'lower'")
        object.__setattr__(self, "center", _as_value(self.center))
        object.__setattr__(self, "terms", tuple(self.terms))
        if not self.terms:
            raise InvalidParameter("terms", (), "at least one named Term: a band's width needs a reason")
        for t in self.terms:
            if not isinstance(t, Term):
                raise InvalidParameter("terms", t, "Term objects")

    @property
    def halfwidth(self):
        stat = [t.value for t in self.terms if t.kind == "stat"]
        bound = [t.value for t in self.terms if t.kind == "bound"]
        w = np.sqrt(sum(np.square(s) for s in stat)) if stat else 0.0
        if bound:
            w = w + sum(bound)
        return _as_value(w)

    @property
    def lo(self):
        if self.side == "upper":
            return _as_value(np.full(np.shape(self.center), self.limits[0], dtype=float))
        return _as_value(np.maximum(np.asarray(self.center) - self.halfwidth, self.limits[0]))

    @property
    def hi(self):
        if self.side == "lower":
            return _as_value(np.full(np.shape(self.center), self.limits[1], dtype=float))
        return _as_value(np.minimum(np.asarray(self.center) + self.halfwidth, self.limits[1]))

    def accepts(self, measured):
        """True iff every component of ``measured`` lies in ``[lo, hi]`` (and is finite)."""
        m = np.asarray(measured, dtype=float)
        if m.shape != np.shape(self.center) and np.ndim(self.center) != 0:
            raise InvalidParameter("measured", f"shape {m.shape}", f"shape {np.shape(self.center)} of the band")
        return bool(np.all(np.isfinite(m)) and np.all((m >= self.lo) & (m <= self.hi)))

    def around(self, center):
        """The same half-width about ``center`` (a rival's value): the band a rival is judged by."""
        return Band(center, self.terms, self.limits, self.side)

    def describe(self):
        """``"|measured - 17.53| <= 0.31 = 0.21 (...) (+) 0.10 (...)"`` with every term's reason."""
        parts = [f"{_text(t.value)} ({t.name}{', stat' if t.kind == 'stat' else ''})" for t in self.terms]
        joined = " (+) ".join(p for p, t in zip(parts, self.terms) if t.kind == "stat")
        bounds = " + ".join(p for p, t in zip(parts, self.terms) if t.kind == "bound")
        reason = " + ".join(x for x in (f"[{joined}]" if joined else "", bounds) if x)
        lhs = {"both": "|measured - predicted|", "upper": "measured - predicted",
               "lower": "predicted - measured"}[self.side]
        return f"{lhs} <= {_text(self.halfwidth)} = {reason}"

    def short(self):
        """``[lo, hi]`` for the table."""
        return f"[{_text(self.lo)}, {_text(self.hi)}]"

    def to_json(self):
        return {"lo": self.lo, "hi": self.hi, "halfwidth": self.halfwidth, "side": self.side,
                "terms": [{"name": t.name, "value": t.value, "kind": t.kind} for t in self.terms],
                "text": self.describe()}


# ---------------------------------------------------------------------------------------------
# rivals, outcomes, checks
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rival:
    """A nearest plausible wrong prediction a check must reject.

    Attributes
    ----------
    name : str
        Short name (``"sqrt(d/(k-1))"``), the key of its value in :attr:`Outcome.rivals`.
    why : str
        Which error it models (``"a constant off by one in k"``).
    """

    name: str
    why: str


@dataclass
class Outcome:
    """What a check measured, and the band that judges it.

    Attributes
    ----------
    predicted : float or ndarray
        The claim's prediction (the band's centre).
    measured : float or ndarray
    band : Band
    rivals : dict of str -> float or ndarray
        The value of each of the check's rivals, computed like ``predicted``.
    interval : tuple (lo, hi), optional
        The measured value's confidence interval (at :data:`CONFIDENCE`).
    seeds : list of int
        The independent seeds (data and initialisations) the measurement pooled.
    baseline : float or ndarray, optional
        For a prediction that uses measured properties of the trained net: the prediction from
        the sizes ``(k, p, d)`` alone, shown beside it.
    details : dict
        JSON-ready numbers (per-seed values, fitted slopes, ...).
    config : dict
        The configuration the measurement used.
    """

    predicted: object
    measured: object
    band: Band
    rivals: dict = field(default_factory=dict)
    interval: tuple | None = None
    seeds: list = field(default_factory=list)
    baseline: object = None
    details: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One numeric check of a claim: a row of ``featavg verify``.

    Attributes
    ----------
    id : str
        The claim's id, or the claim's id plus ``"." + suffix`` (``"C3.averaging_radius.ideal"``).
    title : str
    regime : str
        Where the measurement is made, in words (sizes, engine, what is idealised).
    measure : callable (VerifyContext) -> Outcome
        Imports the simulator inside the function.
    rivals : tuple of Rival
        At least one; each must be rejected for the row to pass.
    faults : tuple of str
        Names of :data:`FAULTS` under which the check must fail.
    claim : str, optional
        The claim whose predictions are used (filled in by discovery from the module's ``ID``).
    slow : bool
        A check that trains large runs; the fault tests run it only in the slow tier.
    """

    id: str
    title: str
    regime: str
    measure: Callable
    rivals: tuple = ()
    faults: tuple = ()
    claim: str | None = None
    slow: bool = False

    def __post_init__(self):
        object.__setattr__(self, "rivals", tuple(self.rivals))
        object.__setattr__(self, "faults", tuple(self.faults))
        names = [r.name for r in self.rivals]
        if len(set(names)) != len(names):
            raise ClaimDefinitionError(f"check {self.id!r}: duplicate rival names {names}")
        if not callable(self.measure):
            raise ClaimDefinitionError(f"check {self.id!r}: measure={self.measure!r} is not callable")

    def judge(self, outcome):
        """The row's verdict and the rivals' statuses from an :class:`Outcome`.

        Returns
        -------
        status : {"passed", "failed", "inconclusive"}
        rivals : list of dict
            ``{"name", "why", "predicted", "status": "rejected" | "accepted"}``.
        reason : str
        """
        if not isinstance(outcome, Outcome):
            raise ClaimDefinitionError(f"check {self.id!r}: measure returned {type(outcome).__name__}, not Outcome")
        missing = [r.name for r in self.rivals if r.name not in outcome.rivals]
        if missing:
            raise ClaimDefinitionError(f"check {self.id!r}: measure returned no value for rivals {missing}")
        inside = outcome.band.accepts(outcome.measured)
        rows = []
        for r in self.rivals:
            value = _as_value(outcome.rivals[r.name])
            accepted = outcome.band.around(value).accepts(outcome.measured)
            rows.append({"name": r.name, "why": r.why, "predicted": value,
                         "status": "accepted" if accepted else "rejected"})
        accepted = [r["name"] for r in rows if r["status"] == "accepted"]
        if not inside:
            return "failed", rows, "the measured value lies outside the band"
        if not rows:
            return "inconclusive", rows, "the check names no rival, so a pass would not discriminate"
        if accepted:
            return "inconclusive", rows, ("the band also accepts the rival(s) " + ", ".join(accepted)
                                          + ": the measurement cannot tell them from the claim")
        return "passed", rows, f"inside the band; all {len(rows)} rival(s) rejected"


@dataclass(frozen=True)
class Figure:
    """A figure of the report: ``build(ctx) -> (matplotlib Figure, caption, data)``.

    Attributes
    ----------
    id : str
        File stem (``figures/<id>.png``).
    title : str
    claims : tuple of str
        The claims on whose pages it appears (the first is its module's claim).
    build : callable
    """

    id: str
    title: str
    build: Callable
    claims: tuple = ()


# ---------------------------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    """A deliberately broken oracle that checks must catch.

    Attributes
    ----------
    name : str
    description : str
    context : callable () -> dict, optional
        Keyword arguments for :class:`featavg._verify.VerifyContext` (``simulate=``, ``claim=``,
        ``exact_radii=``) that inject the fault.
    patch : callable () -> context manager, optional
        A context manager that patches the simulator for the duration (e.g. a wrong gradient).
    """

    name: str
    description: str
    context: Callable | None = None
    patch: Callable | None = None

    @contextlib.contextmanager
    def active(self):
        """``with fault.active() as kwargs: VerifyContext(**kwargs)``."""
        kwargs = self.context() if self.context is not None else {}
        if self.patch is None:
            yield kwargs
        else:
            with self.patch():
                yield kwargs


#: the library of faults, name -> Fault (:func:`register_fault` adds one; claim modules may
#: define their own ``Fault`` objects at module level, which discovery registers)
FAULTS = {}


def register_fault(fault):
    """Add ``fault`` to :data:`FAULTS` (same name twice: the same object, or an error)."""
    old = FAULTS.get(fault.name)
    if old is not None and old is not fault:
        raise ClaimDefinitionError(f"fault {fault.name!r} is defined twice")
    FAULTS[fault.name] = fault
    return fault


def _decouple_simulate():
    """Binary runs come back with decoupled neurons (each owns one feature, plus a positive
    leak on the opposite class): the opposite of feature averaging."""
    def simulate(cfg, **kw):
        from featavg.simulate import BinaryNetwork, run_simulation

        run = run_simulation(cfg, **kw)
        if cfg.supervision == "binary" and cfg.sigma > 0:
            F, labels = run.features, run.cluster_labels
            rows = []
            for s in (1, -1):
                own, opp = F[labels == s], F[labels == -s]
                for r in range(cfg.m):
                    rows.append(own[r % len(own)] + 0.2 * opp.sum(axis=0))
            run.network = BinaryNetwork(np.array(rows) / np.sqrt(cfg.d), np.zeros(2 * cfg.m))
        return run
    return {"simulate": simulate}


def _average_simulate():
    """Cluster-label runs come back with an averaging multi-class net (w_j = sum_{J_s} mu_i)."""
    def simulate(cfg, **kw):
        from featavg.simulate import MultiClassNetwork, run_simulation

        run = run_simulation(cfg, **kw)
        if cfg.supervision == "cluster":
            F, labels = run.features, run.cluster_labels
            W = np.stack([F[labels == labels[j]].sum(axis=0) for j in range(cfg.k)]) / np.sqrt(cfg.d)
            run.network = MultiClassNetwork(np.repeat(W, cfg.h, axis=0), np.zeros(cfg.k * cfg.h), h=cfg.h)
        return run
    return {"simulate": simulate}


def _untrained_simulate():
    """Runs come back untrained (zero GD steps)."""
    def simulate(cfg, **kw):
        import dataclasses

        from featavg.simulate import run_simulation

        return run_simulation(dataclasses.replace(cfg, steps=0), **kw)
    return {"simulate": simulate}


def _wrong_closed_form():
    """Every theory prediction multiplied by 0.7 (a wrong closed form)."""
    def claim(claim_id):
        import dataclasses

        from featavg._registry import get_claim

        c = get_claim(claim_id)

        def scaled(fn):
            def wrong(*a, **kw):
                out = fn(*a, **kw)
                if isinstance(out, tuple):
                    return tuple(0.7 * np.asarray(x, dtype=float) for x in out)
                return 0.7 * np.asarray(out, dtype=float)
            wrong.__doc__ = fn.__doc__
            return wrong
        return dataclasses.replace(c, predictions={k: scaled(f) for k, f in c.predictions.items()})
    return {"claim": claim}


@contextlib.contextmanager
def _doubled_gradient():
    """Both networks' gradients get a wrong factor 2 (the loss is left right)."""
    from featavg.simulate import BinaryNetwork, MultiClassNetwork

    originals = {cls: cls.loss_and_grad for cls in (BinaryNetwork, MultiClassNetwork)}

    def wrong_of(orig):
        def wrong(self, X, target):
            loss, gW, gb = orig(self, X, target)
            return loss, 2.0 * gW, 2.0 * gb
        return wrong
    try:
        for cls, orig in originals.items():
            cls.loss_and_grad = wrong_of(orig)
        yield
    finally:
        for cls, orig in originals.items():
            cls.loss_and_grad = orig


def _inflated_radii():
    """Every exact radius multiplied by 1.01 (a wrong exact-radius solver)."""
    def exact_radii(*a, **kw):
        from featavg.simulate import exact_radii as real

        out = real(*a, **kw)
        for r in out:
            r.radius *= 1.01
        return out
    return {"exact_radii": exact_radii}


for _f in (Fault("decouple", _decouple_simulate.__doc__, context=_decouple_simulate),
           Fault("average", _average_simulate.__doc__, context=_average_simulate),
           Fault("untrained", _untrained_simulate.__doc__, context=_untrained_simulate),
           Fault("closed_form", _wrong_closed_form.__doc__, context=_wrong_closed_form),
           Fault("gradient", _doubled_gradient.__doc__, patch=_doubled_gradient),
           Fault("radius", _inflated_radii.__doc__, context=_inflated_radii)):
    register_fault(_f)
del _f
