r"""``featavg verify``'s machinery: the context checks measure in, and the rows they produce.

The checks themselves live in the claim modules (:mod:`featavg.claims`, and a user's
``--claims`` files), discovered by :mod:`featavg._registry`; this module runs them.

:class:`VerifyContext` is the one place a check gets anything from outside its module: the
simulator (``ctx.run``, cached by configuration, so a run two checks or a check and a figure use
is trained once), exact radii (``ctx.radii``, cached per run, readout and number of points), the
claims' predictions (``ctx.prediction``), generators (``ctx.rng``) and the independent seeds of
a multi-seed measurement (``ctx.seeds``). A test injects a fault by giving the context another
``simulate``, ``exact_radii`` or ``claim`` (:data:`featavg.evidence.FAULTS`).

A row (:func:`run_check`) is a JSON-ready dict: ``id``, ``claim``, ``kind`` (``numeric``,
``symbolic`` or ``load``), ``status`` (``passed``, ``failed``, ``inconclusive``), ``predicted``,
``measured``, ``band`` (``{lo, hi, halfwidth, terms, text}``), ``interval`` (the measured value's
confidence interval), ``seeds``, ``rivals`` (``[{name, why, predicted, status}]``),
``baseline``, ``tolerance`` (the band's text, with every term's reason), ``verdict`` (why the
status is what it is), ``regime``, ``details``, ``config``, ``certificates`` (for checks that use
exact radii: how many points, how many verified, the largest relative gap of their certified
brackets) and ``seconds``.
"""

import contextlib
import time

import numpy as np

from featavg._errors import ClaimDefinitionError, FeatavgError, InvalidParameter
from featavg.evidence import CONFIDENCE, Check, Outcome

__all__ = ["VerifyContext", "run_check", "run_checks", "symbolic_row", "load_error_row", "select",
           "rows_for_registry", "exit_status", "PAPER"]

#: the paper's synthetic setting (docs/science.md §1): the configuration of the trained runs
#: most checks measure; ``eta`` and ``init_scale`` as the independent reproduction used them
PAPER = {"k": 10, "d": 3072, "n": 1000, "m": 5, "h": 1, "eta": 1e-3, "steps": 100, "init_scale": 1e-5}


class VerifyContext:
    """Shared state of one ``verify`` (or ``report``) run.

    Parameters
    ----------
    quick : bool
        Smaller sizes: fewer seeds and test points; bands widen accordingly (they are computed
        from the sample sizes, never fixed).
    seed : int
        The base seed, ``>= 0``; every sampled quantity derives from it and rows record it.
    simulate : callable, optional
        ``run_simulation``-compatible (faults inject a wrong simulator here).
    exact_radii : callable, optional
        ``exact_radii``-compatible.
    claim : callable, optional
        ``claim_id -> featavg.theory.Claim`` (faults inject wrong closed forms here); defaults to
        the registry's.
    registry : featavg._registry.Registry, optional
    base : dict, optional
        Overrides of :data:`PAPER` for :meth:`paper_config` (``featavg regime`` runs the checks of
        a cell of its map by giving the cell's parameters here).
    """

    def __init__(self, quick=False, seed=0, simulate=None, exact_radii=None, claim=None, registry=None, base=None):
        from featavg._registry import default_registry

        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InvalidParameter("seed", seed, "an integer >= 0")
        self.quick = bool(quick)
        self.seed = int(seed)
        self.registry = registry if registry is not None else default_registry()
        self._simulate = simulate
        self._exact_radii = exact_radii
        self._claim = claim
        self._runs = {}
        self._radii = {}
        self._certificates = []  # (points, verified, max gap) of every exact-radius call of the running check
        self.cache = {}  # free-form per-context cache for claim modules (key: a tuple naming its owner)
        self.base = dict(base or {})

    # -- injectable oracles -------------------------------------------------------------------
    @property
    def simulate(self):
        if self._simulate is None:
            from featavg.simulate import run_simulation

            self._simulate = run_simulation
        return self._simulate

    @property
    def exact_radii(self):
        if self._exact_radii is None:
            from featavg.simulate import exact_radii

            self._exact_radii = exact_radii
        return self._exact_radii

    def claim(self, claim_id):
        """The SymPy claim ``claim_id`` (injectable)."""
        if self._claim is not None:
            return self._claim(claim_id)
        return self.registry.claim(claim_id)

    def prediction(self, claim_id, name):
        """``claim(claim_id).predictions[name]``: a function lambdified from the claim's statement."""
        preds = self.claim(claim_id).predictions
        try:
            return preds[name]
        except KeyError:
            raise ClaimDefinitionError(f"claim {claim_id!r} has no prediction {name!r}; it has "
                                       f"{', '.join(sorted(preds))}") from None

    # -- randomness ----------------------------------------------------------------------------
    def rng(self, salt):
        """An independent generator per use (``SeedSequence([seed, salt])``)."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, salt]))

    def child_seed(self, salt, index=0):
        """An int seed for ``Config(seed=...)`` from ``SeedSequence([seed, salt, index])`` (figures, sweeps)."""
        return int(np.random.SeedSequence([self.seed, salt, index]).generate_state(1)[0])

    def seeds(self, count):
        """``count`` independent run seeds of this context: ``1000 seed + i``, ``i < count``.

        Seed 0 gives ``0, 1, ..., count - 1``, so the first run of a multi-seed check is the run
        ``featavg simulate --seed 0`` makes.
        """
        return [1000 * self.seed + i for i in range(count)]

    # -- runs and radii -------------------------------------------------------------------------
    def run(self, config, **arrays):
        """``simulate(config, **arrays)``; cached by ``config`` when no array is supplied."""
        if arrays:
            return self.simulate(config, **arrays)
        if config not in self._runs:
            self._runs[config] = self.simulate(config)
        return self._runs[config]

    def paper_config(self, supervision="binary", seed=None, **overrides):
        """The paper's setting (:data:`PAPER`, with this context's ``base`` overrides) on the
        reduced engine (exact in law)."""
        from featavg.simulate import Config

        return Config(**{**PAPER, "n_test": 200, "engine": "reduced", **self.base,
                         "seed": self.seed if seed is None else seed, "supervision": supervision, **overrides})

    def paper_runs(self, supervision, count, **overrides):
        """Runs at the paper's setting for ``count`` independent seeds (data and initialisation)."""
        return [self.run(self.paper_config(supervision, s, **overrides)) for s in self.seeds(count)]

    def radii(self, run, readout="argmax", points=None, *, cache=True, norm=2):
        """Exact radii of the first ``points`` test points of ``run`` (ndarray), L2 by default.

        Cached by (config, readout, points, norm) for runs of :meth:`run`; ``cache=False`` for
        networks built by hand. ``norm="inf"`` gives L-infinity radii, which are solved in the
        input coordinates: they mean what they say only for explicit-engine runs
        (``Config(engine="explicit")``), whose coordinates are the input's.
        """
        X, y = run.test.X, run.test.y
        if points is not None:
            X, y = X[:points], y[:points]
        labels = run.cluster_labels
        readout = readout if run.network.kind == "multiclass" else "argmax"
        key = (run.config, readout, points) if norm == 2 else (run.config, readout, points, norm)
        if cache and key in self._radii:
            r, cert = self._radii[key]
            self._certificates.append(cert)
            return r
        res = self.exact_radii(run.network, X, y, labels, readout, **_norm_kw(norm))
        r = np.array([x.radius for x in res], dtype=float)
        self._log(res)
        if cache:
            self._radii[key] = (r, self._certificates[-1])
            return r
        return r

    def net_radii(self, net, X, y, cluster_labels=None, readout="argmax", *, bracket=False, norm=2):
        """Exact radii of a network built by hand (not cached); ``norm`` 2 (default) or ``"inf"``.

        With ``bracket=True`` returns ``(radius, lower, upper)``, the certified bracket of each
        radius (featavg.simulate's ``RadiusResult.lower``/``upper``; ``radius == upper``).
        """
        res = self.exact_radii(net, X, y, cluster_labels, readout, **_norm_kw(norm))
        self._log(res)
        r = np.array([x.radius for x in res], dtype=float)
        if not bracket:
            return r
        lo = np.array([getattr(x, "lower", x.radius) for x in res], dtype=float)
        hi = np.array([getattr(x, "upper", x.radius) for x in res], dtype=float)
        return r, lo, hi

    def _log(self, results):
        """Record the certificates of an exact-radius call (travel into the running check's row)."""
        gaps = [float(getattr(x, "gap", 0.0)) for x in results]
        self._certificates.append((len(results), int(sum(bool(x.verified) for x in results)),
                                   max(gaps) if gaps else 0.0))

    def certificates(self):
        """``{points, verified, max_gap}`` over the exact radii used since the last reset, or None."""
        if not self._certificates:
            return None
        return {"points": sum(c[0] for c in self._certificates),
                "verified": sum(c[1] for c in self._certificates),
                "max_gap": max(c[2] for c in self._certificates)}


def _norm_kw(norm):
    """``{}`` for L2 (so that an ``exact_radii`` replacement without a ``norm`` keyword still
    works), ``{"norm": norm}`` otherwise."""
    return {} if norm == 2 else {"norm": norm}


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------

def _jsonable(x):
    from featavg._output import to_jsonable

    return to_jsonable(x)


def _interval(interval):
    """``[lo, hi]`` for a scalar, ``[[lo_i, hi_i], ...]`` per component for a vector; or None."""
    if interval is None:
        return None
    lo, hi = (np.asarray(x, dtype=float) for x in interval)
    if lo.ndim == 0:
        return [float(lo), float(hi)]
    return [[float(a), float(b)] for a, b in zip(lo.ravel(), hi.ravel())]


def run_check(check, ctx):
    """Run one numeric check; an exception is a failed row (its message kept), never a crash."""
    start = time.perf_counter()
    row = {"id": check.id, "claim": check.claim, "kind": "numeric", "title": check.title,
           "regime": check.regime}
    ctx._certificates = []
    try:
        out = check.measure(ctx)
        status, rivals, why = check.judge(out)
        row.update(status=status, predicted=out.predicted, measured=out.measured,
                   band=out.band.to_json(), interval=_interval(out.interval),
                   seeds=list(out.seeds), rivals=rivals, baseline=out.baseline,
                   tolerance=out.band.describe(), verdict=why, details=out.details,
                   config={"seed": ctx.seed, "quick": ctx.quick, "confidence": CONFIDENCE, **out.config})
    except Exception as exc:  # a crashing check is a failed check
        row.update(status="failed", predicted=None, measured=None, band=None, interval=None, seeds=[],
                   rivals=[{"name": r.name, "why": r.why, "predicted": None, "status": "not evaluated"}
                           for r in check.rivals],
                   baseline=None, tolerance="-", verdict="the check raised an exception", details={},
                   config={"seed": ctx.seed, "quick": ctx.quick}, error=f"{type(exc).__name__}: {exc}")
    row["certificates"] = ctx.certificates()
    row["seconds"] = time.perf_counter() - start
    return _jsonable(row)


def symbolic_row(entry, ctx):
    """The row of a claim's derivation: every step's machine check (``<claim>.symbolic``)."""
    start = time.perf_counter()
    row = {"id": f"{entry.id}.symbolic", "claim": entry.id, "kind": "symbolic", "regime": "SymPy, exact",
           "band": None, "interval": None, "seeds": [], "rivals": [], "baseline": None,
           "tolerance": "every derivation step's machine check passes", "config": {}}
    try:
        claim = ctx.claim(entry.id)
        steps = claim.run_checks()
        n_ok = sum(s["passed"] for s in steps)
        general = sum(s.get("generality") == "general" for s in steps)
        row.update(title=f"Symbolic: {claim.title}", predicted=len(steps), measured=n_ok,
                   status="passed" if steps and n_ok == len(steps) else "failed",
                   verdict=f"{n_ok} of {len(steps)} steps pass ({general} general, {len(steps) - general} instance)",
                   details={"steps": steps})
    except Exception as exc:
        row.update(title=f"Symbolic: {entry.id}", predicted=None, measured=None, status="failed",
                   verdict="the claim's derive() failed", details={}, error=f"{type(exc).__name__}: {exc}")
    row["seconds"] = time.perf_counter() - start
    return _jsonable(row)


def load_error_row(err):
    """A failed row for a claim source that could not be loaded (:class:`featavg._registry.LoadError`)."""
    return {"id": err.claim or err.source, "claim": err.claim, "kind": "load", "title": f"Load {err.source}",
            "regime": "-", "status": "failed", "predicted": None, "measured": None, "band": None,
            "interval": None, "seeds": [], "rivals": [], "baseline": None, "tolerance": "-",
            "verdict": "the claim could not be loaded", "details": {"source": err.source}, "config": {},
            "error": err.message, "seconds": 0.0}


def select(registry, only=None):
    """The units to run: ``only`` holds ids or prefixes (``C4``, ``C7.lambert_w``, ``C3.averaging_radius.ideal``).

    An entry of ``only`` that names a claim or a prefix of claim ids (``C4``) selects whole
    claims (their checks and their symbolic row); one that names a check (or the prefix of check
    ids below a claim) selects those checks; ``<claim>.symbolic`` selects that row.

    Returns ``(units, unknown)``: ``units`` a list of ``(entry, [Check], run_symbolic)``, in
    registry order; ``unknown`` the entries of ``only`` matching nothing.
    """
    def under(x, ident):
        return ident == x or ident.startswith(x + ".")

    units, matched = [], set()
    for e in registry:
        if not only:
            units.append((e, list(e.checks), True))
            continue
        whole = [x for x in only if under(x, e.id)]
        if whole:
            matched.update(whole)
            units.append((e, list(e.checks), True))
            continue
        checks = [c for c in e.checks if any(under(x, c.id) for x in only)]
        matched.update(x for x in only for c in checks if under(x, c.id))
        sym = f"{e.id}.symbolic" in only
        if sym:
            matched.add(f"{e.id}.symbolic")
        if checks or sym:
            units.append((e, checks, sym))
    unknown = [x for x in (only or ()) if x not in matched]
    return units, unknown


def count_rows(units):
    return sum(len(c) + int(s) for _, c, s in units)


@contextlib.contextmanager
def one_blas_thread():
    """One BLAS thread for the duration (threadpoolctl).

    A product summed by two BLAS threads rounds differently from one summed by one, so the rows
    would otherwise depend on the machine's core count and on how many processes share it (measured:
    20 of the 89 quick rows differed in their last digits between one process with two BLAS threads
    and two processes with one each). The checks' products are small enough that a second thread
    gains little (quick verify: 73.5 s with two threads, 70.8 s with one, on this 2-core machine).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def run_checks(units, ctx, progress=None):
    """Run ``units`` (:func:`select`) claim by claim: numeric rows, then the symbolic row.

    On one BLAS thread (:func:`one_blas_thread`), so that the rows are the same bit for bit in one
    process or in several (:func:`run_checks_parallel`) and on any core count.
    """
    rows = []
    with one_blas_thread():
        for entry, checks, run_sym in units:
            for c in checks:
                rows.append(run_check(c, ctx))
                if progress is not None:
                    progress(1)
            if run_sym:
                rows.append(symbolic_row(entry, ctx))
                if progress is not None:
                    progress(1)
    return rows


#: the worker process's context and registry (:func:`_worker_start`)
_WORKER = {}


def _worker_start(quick, seed, claims):
    """Initializer of a :func:`run_checks_parallel` worker: its registry (the same discovery as the
    parent's: built-in claims plus ``claims``) and one context for every unit it runs."""
    from featavg._registry import discover

    registry = discover(claims)
    _WORKER["registry"] = registry
    _WORKER["ctx"] = VerifyContext(quick=quick, seed=seed, registry=registry)


def _worker_unit(claim_id, check_ids, run_sym):
    """One unit (a claim's selected checks and its symbolic row) in a worker: its rows."""
    registry, ctx = _WORKER["registry"], _WORKER["ctx"]
    entry = next(e for e in registry if e.id == claim_id)
    by_id = {c.id: c for c in entry.checks}
    return run_checks([(entry, [by_id[i] for i in check_ids], run_sym)], ctx)


def _unit_cost(unit):
    """Scheduling order of a unit (largest first): its slow checks, then its numeric checks."""
    _, checks, run_sym = unit
    return (sum(bool(getattr(c, "slow", False)) for c in checks), len(checks) + int(run_sym))


def run_checks_parallel(units, *, quick, seed, claims=(), workers=2, progress=None):
    """The rows of :func:`run_checks` on ``VerifyContext(quick, seed)``, claim by claim in ``workers``
    processes.

    Each worker discovers the same claims (the built-in ones plus ``claims``) and keeps one context
    for all the units it runs, so the checks of one claim share their cached runs as in a serial run;
    a run two claims use is trained in each worker that needs it. Every value of a check derives
    from the seed and the check's own salts, never from the order checks run in, so the rows equal
    the serial rows (``seconds`` aside); they are returned in registry order. Units start largest
    first (:func:`_unit_cost`). The pool starts its workers with ``spawn`` and the BLAS pools pinned
    to one thread each, as :func:`featavg._sweep.make_executor` does.
    """
    import concurrent.futures
    import functools
    import multiprocessing

    from featavg._sweep import _pinned_threads

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidParameter("workers", workers, "an integer >= 1")
    order = sorted(range(len(units)), key=lambda i: _unit_cost(units[i]), reverse=True)
    results = [None] * len(units)
    mp = multiprocessing.get_context("spawn")
    init = functools.partial(_worker_start, bool(quick), int(seed), tuple(str(c) for c in claims))
    with _pinned_threads(), concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=mp,
                                                                     initializer=init) as pool:
        futures = {pool.submit(_worker_unit, units[i][0].id, [c.id for c in units[i][1]], units[i][2]): i
                   for i in order}
        for fut in concurrent.futures.as_completed(futures):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except concurrent.futures.process.BrokenProcessPool:
                # a check that kills its process (a crash, os._exit, the OOM killer) breaks the pool;
                # run_check turns exceptions into failed rows, but not a dead process
                running = [units[j][0].id for j in futures.values() if results[j] is None]
                raise FeatavgError(
                    f"a worker process died while running one of {', '.join(running)}; the rows of "
                    "these claims are lost (the finished ones too: nothing is printed). Run them with "
                    "--workers 1 --only ID to see the failure") from None
            if progress is not None:
                progress(len(results[i]))
    return [row for rows in results for row in rows]


def rows_for_registry(registry, ctx, only=None, progress=None):
    """Every row of a verify run: the load errors first, then the selected claims' rows."""
    units, unknown = select(registry, only)
    rows = [load_error_row(e) for e in registry.errors]
    return rows + run_checks(units, ctx, progress), unknown


def exit_status(rows):
    """0: every row passed; 1: some row failed; 3: none failed but some are inconclusive."""
    statuses = {r["status"] for r in rows}
    if "failed" in statuses:
        return 1
    if "inconclusive" in statuses:
        return 3
    return 0


__all__ += ["count_rows", "run_checks_parallel", "Check", "Outcome"]
