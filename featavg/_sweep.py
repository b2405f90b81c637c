"""Parameter sweeps: a grid of runs on any ``concurrent.futures.Executor``, one tidy table.

Grid file (TOML)::

    seeds = 3                      # top level (before any table): runs get seed 0, 1, 2

    [grid]                         # keys: Config field names (featavg simulate parameters)
    k = [2, 3]                     # each a list of values (a scalar means a one-value list)
    d = [20, 40]
    steps = [5]

    [measure]                      # optional extra measurements per run
    exact_radius_points = 10       # certified L2 radius of the first N test points (simulate/_certify.py)

The grid is the Cartesian product of the ``[grid]`` lists, in the order the keys appear in the
file, the seed varying fastest; a task's index is its position in that product. ``seeds = N``
lives at the top level; instead of it ``[grid]`` may list ``seed = [...]`` explicitly (not both).

Table. ``DIR/results.jsonl`` holds one JSON object per run (:data:`TABLE`): the task index,
``status`` (``"ok"`` or ``"error"``) and ``error`` (the exception, for a failed run), every
:class:`~featavg.simulate.Config` field as requested, ``engine_used`` (the engine that ran, see
``Config.engine``), every scalar metric of :meth:`Run.summary`, ``min_cluster_margin``,
``seconds`` (GD wall time), ``wall_time`` (the whole task), ``warnings`` (the distinct warnings
the run raised, e.g. overflow in a diverging run's metrics) and package versions. Non-finite
numbers are written as ``null``.

Durability ("none lost, none twice"). Only the coordinating process writes the table. Each
finished task is appended as one line with a single ``write`` and ``fsync`` before the next
result is handled. A process killed at any moment leaves complete lines plus at most one torn
last line (no trailing newline); ``--resume`` truncates a torn last line, keeps
the complete rows, checks that they belong to the same grid (``DIR/grid.json``), and runs only the
missing task indices. At the end the table is rewritten atomically (:func:`atomic_write`), sorted
by task index, and ``DIR/results.csv`` is written from it.
"""

import concurrent.futures
import contextlib
import csv
import dataclasses
import io
import itertools
import json
import math
import multiprocessing
import os
import platform
import sys
import time
import traceback
import warnings

from featavg.simulate import Config, FeatavgError, InvalidParameter, atomic_write, run_simulation

__all__ = [
    "Grid",
    "MEASURES",
    "TABLE",
    "CSV_TABLE",
    "GRID_RECORD",
    "load_grid",
    "parse_grid",
    "expand",
    "run_task",
    "read_table",
    "make_executor",
    "sweep",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: the table, one JSON object per line
TABLE = "results.jsonl"
#: a CSV copy of the sorted table, written at the end of a sweep
CSV_TABLE = "results.csv"
#: the expanded grid of a sweep directory, checked on ``--resume``
GRID_RECORD = "grid.json"

#: ``[measure]`` switches and their defaults
MEASURES = {"exact_radius_points": 0}

#: BLAS/OpenMP pools pinned to one thread in each local worker unless the user set them: runs
#: are small (two BLAS threads made a d = 400 run 8% slower) and N workers x cores threads
#: oversubscribe the machine; Dask's nanny does the same for its workers
_PIN_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_TOP_KEYS = ("seeds", "grid", "measure")
_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(Config))
#: scalar entries of Run.summary() copied into the table
_SCALARS = ("train_accuracy", "test_accuracy", "final_loss", "averaging_score", "decoupling_score",
            "test_cluster_accuracy", "seconds")


@dataclasses.dataclass(frozen=True)
class Grid:
    """A parsed grid file.

    Attributes
    ----------
    params : dict of str to tuple
        Config field -> values, in file order (``seed`` last).
    measure : dict of str to int
        The ``[measure]`` switches, defaults filled in.
    """

    params: dict
    measure: dict

    @property
    def size(self):
        return math.prod(len(v) for v in self.params.values())

    def to_dict(self):
        return {"params": {k: list(v) for k, v in self.params.items()}, "measure": dict(self.measure)}


def _check_keys(where, keys, valid):
    unknown = [k for k in keys if k not in valid]
    if unknown:
        raise InvalidParameter(f"{where} key", unknown[0] if len(unknown) == 1 else unknown,
                               "keys among " + ", ".join(valid))


def parse_grid(data):
    """Validate a grid given as a dict (parsed TOML) and return a :class:`Grid`.

    Raises
    ------
    InvalidParameter
        On an unknown key (naming it and listing the valid ones), an empty value list, a bad
        ``seeds`` or measure value, or a grid point that is not a valid :class:`Config`.
    """
    _check_keys("grid file top-level", list(data), _TOP_KEYS)
    grid = data.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise InvalidParameter("[grid]", grid, "a non-empty table of Config fields, each a list of values")
    _check_keys("[grid]", list(grid), _CONFIG_FIELDS)
    params = {}
    for key, values in grid.items():
        values = tuple(values) if isinstance(values, list) else (values,)
        if not values:
            raise InvalidParameter(f"[grid] {key}", [], "a non-empty list of values")
        params[key] = values
    if "seeds" in data:
        if "seed" in params:
            raise InvalidParameter("seeds", data["seeds"], "either top-level seeds = N or [grid] seed = [...], not both")
        seeds = data["seeds"]
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise InvalidParameter("seeds", seeds, "an integer >= 1 (runs get seeds 0..seeds-1)")
        params["seed"] = tuple(range(seeds))
    elif "seed" in params:
        params["seed"] = params.pop("seed")  # seed varies fastest
    else:
        params["seed"] = (0,)
    measure = dict(MEASURES)
    raw = data.get("measure", {})
    if not isinstance(raw, dict):
        raise InvalidParameter("[measure]", raw, "a table of switches among " + ", ".join(MEASURES))
    _check_keys("[measure]", list(raw), tuple(MEASURES))
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidParameter(f"[measure] {key}", value, "an integer >= 0")
        measure[key] = value
    out = Grid(params=params, measure=measure)
    for _, cfg in expand(out):  # validate every point before any run starts
        Config(**cfg)
    return out


def load_grid(path):
    """Read and validate a grid file (module docstring)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise InvalidParameter("GRID", os.fspath(path), "an existing TOML grid file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameter("GRID", os.fspath(path), f"a valid TOML file ({exc})") from None
    return parse_grid(data)


def expand(grid):
    """The tasks of ``grid``: a list of ``(index, config dict)``, seed varying fastest."""
    keys = list(grid.params)
    return [(i, dict(zip(keys, values)))
            for i, values in enumerate(itertools.product(*grid.params.values()))]


def _versions():
    import numpy
    import scipy

    from featavg import __version__

    return {"numpy": numpy.__version__, "scipy": scipy.__version__, "featavg": __version__,
            "python": platform.python_version()}


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _measure(run, measure):
    """The ``[measure]`` columns of one run."""
    out = {}
    npoints = measure.get("exact_radius_points", 0)
    if npoints:
        import numpy as np

        from featavg.simulate._robust import exact_radii

        npoints = min(npoints, run.test.X.shape[0])
        res = exact_radii(run.network, run.test.X[:npoints], run.test.y[:npoints],
                          run.cluster_labels, run.config.readout)
        radii = np.array([r.radius for r in res])
        gaps = np.array([r.gap for r in res], dtype=float)
        out.update(radius_points=npoints, radius_median=_finite_or_none(np.median(radii)),
                   radius_mean=_finite_or_none(np.mean(radii)),
                   radius_min=_finite_or_none(np.min(radii)),
                   radius_unverified=int(sum(not r.verified for r in res)),
                   # certified brackets (simulate/_certify.py): how many radii are verified
                   # (flipping perturbation and gap <= 1e-6), and the worst relative gap
                   exact_radius_verified=int(sum(r.verified for r in res)),
                   exact_radius_max_gap=_finite_or_none(np.nanmax(gaps)) if np.isfinite(gaps).any() else None)
    return out


def run_task(task, measure=None):
    """Run one task ``(index, config dict)`` and return its table row (a dict).

    Never raises for a failing run: the exception goes into ``status``/``error`` and the metric
    columns stay absent (``null`` in the CSV). Top-level so that it pickles to any executor.
    """
    index, params = task
    start = time.perf_counter()
    cfg = Config(**params)
    row = {"task": index, "status": "ok", "error": None}
    row.update(cfg.to_dict())
    # NumPy's RuntimeWarnings (overflow in a diverging run's metrics...) go into the row, not
    # onto the worker's stderr, where they would tear the progress bar
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run = run_simulation(cfg)
            summary = run.summary()
            row["engine_used"] = summary["config"]["engine"]
            for key in _SCALARS:
                if key in summary:
                    row[key] = _finite_or_none(summary[key])
            for readout, acc in summary.get("test_accuracy_by_readout", {}).items():
                row[f"test_accuracy_{readout}"] = _finite_or_none(acc)
            row["min_cluster_margin"] = _finite_or_none(min(summary["cluster_margins"]))
            # the run's regime warnings (featavg.simulate.Run.warnings): late_phase, loss_stall, overshoot
            row["regime_warnings"] = ", ".join(x["quantity"] for x in run.warnings) or None
            row.update(_measure(run, measure or {}))
        except Exception as exc:  # noqa: BLE001 - a failing run is recorded, the sweep goes on
            row["status"] = "error"
            row["error"] = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, FeatavgError):  # unexpected: say where
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                row["error"] += f" (at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name})"
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    row["warnings"] = "; ".join(messages) or None
    row["wall_time"] = time.perf_counter() - start
    row.update({f"version_{k}": v for k, v in _versions().items()})
    return row


def read_table(directory, *, repair=False):
    """The rows of ``directory/results.jsonl`` (a list of dicts, file order).

    A torn last line (no trailing newline) is what a killed writer can leave;
    it is dropped, and with ``repair=True`` truncated from the file. Rows are appended by one
    ``write`` each, so a complete line that does not parse means damage and raises.
    """
    path = os.path.join(directory, TABLE)
    if not os.path.exists(path):
        return []
    with open(path, "rb") as fh:
        data = fh.read()
    *complete, torn = data.split(b"\n")
    rows = []
    for i, line in enumerate(complete):
        try:
            rows.append(json.loads(line))
        except ValueError:
            raise FeatavgError(f"{path}: line {i + 1} is not a JSON row; the table is damaged "
                               "(restore it or choose another --out)") from None
    if torn and repair:
        with open(path, "r+b") as fh:
            fh.truncate(len(data) - len(torn))
            fh.flush()
            os.fsync(fh.fileno())
    return rows


def _append_row(fd, row):
    line = json.dumps(row, sort_keys=True, allow_nan=False).encode() + b"\n"
    os.write(fd, line)
    os.fsync(fd)


def _write_final(directory, rows):
    rows = sorted(rows, key=lambda r: r["task"])
    with atomic_write(os.path.join(directory, TABLE), "w") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True, allow_nan=False) + "\n")
    columns = list(dict.fromkeys(["task", "status", "error", *_CONFIG_FIELDS]))
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    with atomic_write(os.path.join(directory, CSV_TABLE), "w") as fh:
        fh.write(buf.getvalue())
    return rows


@contextlib.contextmanager
def make_executor(workers=None, dask=None):
    """A ``concurrent.futures.Executor``: Dask's if ``dask`` (a scheduler address) is given, else a
    local process pool of ``workers`` processes (default ``os.cpu_count()``)."""
    if dask:
        try:
            from distributed import Client
        except ImportError:
            raise InvalidParameter("--dask", dask, "the 'distributed' package installed "
                                   "(pip install 'featavg[dask]')") from None
        with Client(dask) as client:
            executor = client.get_executor()
            try:
                yield executor
            finally:
                executor.shutdown(wait=False)
        return
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidParameter("--workers", workers, "an integer >= 1")
    # spawn: each worker is a fresh interpreter started with this process's environment (with
    # _PIN_THREADS), and no fork() of a multi-threaded parent (tqdm's monitor, a Dask client)
    ctx = multiprocessing.get_context("spawn")
    with _pinned_threads(), concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as executor:
        yield executor


@contextlib.contextmanager
def _pinned_threads():
    """Set the :data:`_PIN_THREADS` variables the user has not set to 1 while the pool lives.

    Workers start lazily, so the variables must stay set until the pool shuts down; NumPy is
    already loaded in this process, so only the workers see them.
    """
    added = [var for var in _PIN_THREADS if var not in os.environ]
    for var in added:
        os.environ[var] = "1"
    try:
        yield
    finally:
        for var in added:
            os.environ.pop(var, None)



def _run_pending(directory, executor, jobs, done, progress=None):
    """Run ``jobs`` (``(fn, args)`` pairs) on ``executor``; append each row to the table as it ends.

    Each finished row is appended (one ``write`` of one line, see :func:`_append_row`) before the
    next is awaited, so an interrupted run loses nothing finished; on an exception the rows not yet
    started are cancelled. Returns ``{task: row}`` for ``done`` and the new rows.
    """
    rows = dict(done)
    fd = os.open(os.path.join(directory, TABLE), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    futures = []
    try:
        futures = [executor.submit(fn, *args) for fn, args in jobs]
        for fut in concurrent.futures.as_completed(futures):
            row = fut.result()
            _append_row(fd, row)
            rows[row["task"]] = row
            if progress is not None:
                progress(1)
    finally:
        os.close(fd)
        for fut in futures:
            fut.cancel()
    return rows

def _prepare_directory(directory, grid, resume):
    os.makedirs(directory, exist_ok=True)
    table = os.path.join(directory, TABLE)
    record = os.path.join(directory, GRID_RECORD)
    spec = json.loads(json.dumps(grid.to_dict()))
    has_rows = os.path.exists(table) and os.path.getsize(table) > 0
    if not resume:
        if has_rows:
            raise InvalidParameter("--out", os.fspath(directory),
                                   f"a directory without a non-empty {TABLE}: pass --resume to "
                                   "continue that sweep, or choose another --out")
    elif os.path.exists(record):
        with open(record) as fh:
            old = json.load(fh)
        if old != spec:
            raise InvalidParameter("--resume", os.fspath(directory),
                                   f"a sweep directory made from the same grid (its {GRID_RECORD} "
                                   "differs from GRID); choose another --out")
    elif has_rows:
        raise InvalidParameter("--resume", os.fspath(directory),
                               f"a sweep directory with its {GRID_RECORD}; choose another --out")
    with atomic_write(record, "w") as fh:
        json.dump(spec, fh, indent=1, sort_keys=True)
    rows = read_table(directory, repair=True)
    tasks = expand(grid)
    done = {}
    for row in rows:
        i = row.get("task")
        if not isinstance(i, int) or not 0 <= i < len(tasks):
            raise FeatavgError(f"{table}: row with task={i!r} is not a task of this grid")
        if any(row.get(k) != v for k, v in tasks[i][1].items()):
            raise InvalidParameter("--resume", os.fspath(directory),
                                   f"rows matching GRID (row {i} has other parameters); choose another --out")
        done.setdefault(i, row)  # a duplicate (never written by this code) keeps the first
    return tasks, done


def sweep(grid, directory, *, executor, resume=False, progress=None):
    """Run every task of ``grid`` not yet in ``directory``'s table on ``executor``.

    Parameters
    ----------
    grid : Grid
    directory : str or path
    executor : concurrent.futures.Executor
    resume : bool
        Keep the rows already in the table and run only the missing tasks; without it a
        non-empty table is an error.
    progress : callable, optional
        ``update(n)`` of a progress bar over all tasks: called first with the number of tasks
        skipped, then with 1 as each task finishes.

    Returns
    -------
    rows : list of dict
        The final table, sorted by task index.
    stats : dict
        ``total``, ``skipped``, ``ran``, ``failed``, ``seconds``.
    """
    start = time.perf_counter()
    tasks, done = _prepare_directory(directory, grid, resume)
    pending = [t for t in tasks if t[0] not in done]
    if progress is not None:
        progress(len(done))
    rows = _run_pending(directory, executor, [(run_task, (t, grid.measure)) for t in pending], done, progress)
    final = _write_final(directory, rows.values())
    stats = {"total": len(tasks), "skipped": len(done), "ran": len(pending),
             "failed": sum(r["status"] != "ok" for r in final),
             "seconds": time.perf_counter() - start}
    return final, stats
