r"""Regime maps: where each claim's prediction holds, over the parameters a theorist controls.

A *map* (:class:`MapSpec`) is one claim's check (the same :class:`featavg.evidence.Check` object
``featavg verify`` runs) over a grid of two axes (:data:`AXES`), every other parameter at the
map's base point. A *cell* is one grid point. Its row holds:

* ``params``: the two axis values; ``config``: the run parameters they give (the check's
  paper-setting runs move there: ``VerifyContext(base=config)``);
* ``check``: the check's row at that point (status, predicted, measured, band, rivals, error),
  and ``verdict``: ``holds`` (the check passed), ``fails`` (the measured value left the band, or
  the check raised, e.g. :class:`featavg.OutsideRegime`: the regime of the prediction is left)
  or ``inconclusive`` (inside the band but a rival accepted too). ``excess`` is
  ``|measured - predicted| / halfwidth`` (``> 1`` outside the band), the continuous quantity the
  boundary is interpolated on;
* ``measurements``: over the check's own runs (independent seeds: data and initialisation), the
  mean and its Student-t interval at :data:`featavg.evidence.CONFIDENCE` of the averaging score
  (binary) or decoupling score (cluster labels), the test accuracy, the median exact radius of
  the first test points over its prediction (``sqrt(d/k)``, C3; ``sqrt(d/2)``, C5 argmax), the
  step at which C7's late phase starts (from the runs' history, recorded every ``T/10`` steps;
  :func:`featavg.simulate.late_phase_start`), the ratio of the initial to the learned weight norm,
  and, pooled over neurons with Clopper-Pearson intervals, the fraction of neurons that fire on
  no training point of their own class at initialisation and at the end
  (:func:`featavg.lemmas.dead_at_init`), and the fraction of runs with each regime warning
  (:attr:`featavg.simulate.Run.warnings`).

Axes (:data:`AXES`) are d-invariant where the dynamics are: ``eta_d = eta d`` and
``init_d = sigma_w d`` (R2.regime derives that the first step's change of ``<w, mu_j>`` relative
to the initial weights depends on them alone); ``init_d`` is proportional to the ratio of the
initial weight norm ``sigma_w sqrt(d)`` to the learned one ``~ q sqrt(|J_s|/d)`` at margin ``q``.

Boundary. For each value of one axis, the cells along the other axis are scanned in order; where
the verdict changes (``holds``, ``fails``, ``inconclusive``) between two neighbours, the change
lies in the bracket ``[lo, hi]`` of their axis values (the grid's resolution: the uncertainty,
a factor ``sqrt(hi/lo)`` either way on a log axis), and the estimate is, between ``holds`` and
``fails``, where ``log(excess)`` crosses 0 by linear interpolation in log-axis coordinates (the
excess is 1 at the band's edge), else the bracket's (geometric) midpoint.

Durability: the table is ``DIR/results.jsonl`` written like ``featavg sweep``'s
(:mod:`featavg._sweep`: one ``write`` + ``fsync`` per finished cell, a torn last line repaired on
``--resume``, only missing cells run); ``DIR/regime_spec.json`` records the maps, checked on
resume; ``DIR/regime.json`` (``axes``, ``cells``, ``boundary``, ``maps``) and one PNG per map are
written at the end.
"""

import dataclasses
import json
import math
import os
import time
import traceback

import numpy as np

from featavg._errors import FeatavgError, InvalidParameter

__all__ = ["Axis", "AXES", "MapSpec", "MAPS", "QUICK_MAPS", "PAPER_POINT", "cell_config", "run_cell",
           "boundaries", "regime", "build_document", "draw_map", "SPEC_RECORD", "DOCUMENT"]

#: the map specification of a regime directory, checked on ``--resume``
SPEC_RECORD = "regime_spec.json"
#: the map document
DOCUMENT = "regime.json"


@dataclasses.dataclass(frozen=True)
class Axis:
    """One parameter of a map.

    Attributes
    ----------
    name : str
        The key in a cell's ``params``.
    label : str
        For figures (``"eta d"``).
    order : int
        Axes are applied in this order (sizes first, then the d-scaled rates).
    scale : {"log", "linear"}
    doc : str
    """

    name: str
    label: str
    order: int
    scale: str
    doc: str

    def apply(self, p, v):
        """Set the run parameters of value ``v`` in the dict ``p`` (in place)."""
        if self.name == "k":
            p["k"] = int(v)
        elif self.name == "J_ratio":
            p["positive"] = int(min(max(round(p["k"] * v / (1 + v)), 1), p["k"] - 1))
        elif self.name == "n_over_k":
            p["n"] = max(int(round(v * p["k"])), 1)
        elif self.name == "d_over_n":
            p["d"] = max(int(round(v * p["n"])), p["k"])
        elif self.name == "m":
            p["m"] = int(v)
        elif self.name == "h":
            p["h"] = int(v)
        elif self.name == "T":
            p["steps"] = int(v)
        elif self.name == "sigma":
            p["sigma"] = float(v)
        elif self.name == "eta_d":
            p["eta_d"] = float(v)
        elif self.name == "init_d":
            p["init_d"] = float(v)
        else:  # pragma: no cover - AXES lists every name
            raise InvalidParameter("axis", self.name, "one of " + ", ".join(AXES))


AXES = {a.name: a for a in (
    Axis("k", "k (clusters)", 0, "linear", "number of clusters k (|J+| = k/2 unless J_ratio is an axis)"),
    Axis("J_ratio", "|J+|/|J-|", 1, "log", "class balance |J+|/|J-| (|J+| = round(k r/(1 + r)))"),
    Axis("n_over_k", "n/k", 2, "log", "training points per cluster n/k"),
    Axis("d_over_n", "d/n", 3, "log", "dimension over training points d/n"),
    Axis("m", "m (neurons per sign)", 4, "linear", "neurons per sign of the binary network"),
    Axis("h", "h (neurons per output)", 4, "linear", "neurons per output of the multi-class network"),
    Axis("T", "T (GD steps)", 5, "log", "number of GD steps"),
    Axis("sigma", "sigma (noise scale)", 6, "log", "noise scale of xi"),
    Axis("eta_d", r"$\eta\, d$", 7, "log", "learning rate times d (the paper: 3.072)"),
    Axis("init_d", r"$\sigma_w\, d$", 8, "log",
         "init scale times d (the paper: 0.03072); proportional to ||w(0)|| / ||w(T)|| at a given margin"),
)}

#: the paper's setting in the map's coordinates: k = 10, n = 1000, d = 3072, eta = 1e-3, init 1e-5
PAPER_POINT = {"k": 10, "J_ratio": 1.0, "n_over_k": 100.0, "d_over_n": 3.072, "m": 5, "h": 1, "T": 100,
               "sigma": 1.0, "eta_d": 3.072, "init_d": 0.03072}


@dataclasses.dataclass(frozen=True)
class MapSpec:
    """One map: a check over two axes.

    Attributes
    ----------
    name : str
    check : str or tuple of str
        The id(s) of the claim's check(s) (registry checks, run as ``featavg verify`` runs them);
        with several, the cell holds when every one passes, fails when one fails (else it is
        inconclusive), and its excess is the largest.
    supervision : {"binary", "cluster"}
        The supervision of the check's runs (which the measurements read).
    x, y : str
        Axis names (:data:`AXES`).
    xs, ys : tuple of float
    base : dict
        Axis values of the other parameters (defaults :data:`PAPER_POINT`) and ``n_test``.
    quantity : str
        The measurement the heatmap shows.
    readout : str
        The readout of the radius measurement (cluster labels).
    """

    name: str
    check: str
    supervision: str
    x: str
    y: str
    xs: tuple
    ys: tuple
    base: dict = dataclasses.field(default_factory=dict)
    quantity: str = "score"
    readout: str = "argmax"

    def __post_init__(self):
        checks = (self.check,) if isinstance(self.check, str) else tuple(self.check)
        object.__setattr__(self, "check", checks)
        for ax in (self.x, self.y):
            if ax not in AXES:
                raise InvalidParameter("axis", ax, "one of " + ", ".join(AXES))
        if self.x == self.y:
            raise InvalidParameter("axes", (self.x, self.y), "two different axes")
        object.__setattr__(self, "xs", tuple(float(v) for v in self.xs))
        object.__setattr__(self, "ys", tuple(float(v) for v in self.ys))
        if not self.xs or not self.ys:
            raise InvalidParameter("axis values", (self.xs, self.ys), "non-empty lists")

    def to_dict(self):
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d):
        return cls(**d)

    @property
    def title(self):
        return " + ".join(self.check)

    def cells(self):
        """``[(x, y)]``, y varying fastest."""
        return [(x, y) for x in self.xs for y in self.ys]


#: C1's checks of the averaging itself: the class-sum cosine (averaging score) and each
#: own-feature cosine (balanced coefficients)
_C1 = ("C1.feature_averaging.cos_class_sum", "C1.feature_averaging.cos_own_feature")
_DN = (0.3, 1.0, 3.072, 10.0, 30.0)
_ED = (1.0, 3.072, 10.0, 30.72, 100.0, 307.2)

#: the full maps (the report's): C1, C3 and C5 over (d/n, eta d) at the paper's other parameters
MAPS = {
    "C1": MapSpec("C1", _C1, "binary", "d_over_n", "eta_d", _DN, _ED, quantity="score"),
    "C3": MapSpec("C3", "C3.averaging_radius", "binary", "d_over_n", "eta_d", _DN, _ED, quantity="radius_ratio"),
    "C5": MapSpec("C5", "C5.decoupling", "cluster", "d_over_n", "eta_d", _DN, _ED, quantity="score"),
    # the init axis: C1's averaging score (its class-sum cosine) against init sigma_w d
    "C1.init": MapSpec("C1.init", _C1[0], "binary", "init_d", "eta_d",
                       (0.03072, 0.3072, 3.072, 30.72), _ED, quantity="score"),
}

#: ``--quick``: two 4 x 4 maps at n = 300 (n/k = 30) with quick checks (4 seeds per cell): C5's
#: decoupling score and C1's averaging score (its class-sum cosine; the own-feature cosines' 10%
#: band fails every cell at n/k = 30), 32 cells
_QX, _QY = (0.1, 1.0, 3.072, 30.0), (1.0, 10.0, 100.0, 1000.0)
QUICK_MAPS = {
    "C5": MapSpec("C5", "C5.decoupling", "cluster", "d_over_n", "eta_d", _QX, _QY, base={"n_over_k": 30.0},
                  quantity="score"),
    "C1": MapSpec("C1", "C1.feature_averaging.cos_class_sum", "binary", "d_over_n", "eta_d", _QX, _QY,
                  base={"n_over_k": 30.0}, quantity="score"),
}


def cell_config(spec, x, y):
    """The run parameters of cell ``(x, y)`` of ``spec`` (a dict for ``VerifyContext(base=...)``).

    The axes and the base are applied in :attr:`Axis.order`; ``eta = eta_d / d`` and
    ``init_scale = init_d / d`` last, so they follow the cell's ``d``. ``history_every = T/10``
    (the late-phase start is read from the history).
    """
    values = {**PAPER_POINT, **{k: v for k, v in spec.base.items() if k in AXES}, spec.x: x, spec.y: y}
    p = {"k": PAPER_POINT["k"], "n": 1000, "d": 3072}
    for name in sorted(values, key=lambda a: AXES[a].order):
        AXES[name].apply(p, values[name])
    cfg = {"k": p["k"], "positive": p.get("positive", p["k"] // 2), "n": p["n"], "d": p["d"], "m": p["m"],
           "h": p["h"], "steps": p["steps"], "sigma": p["sigma"], "eta": p["eta_d"] / p["d"],
           "init_scale": p["init_d"] / p["d"], "n_test": int(spec.base.get("n_test", 200)),
           "history_every": max(p["steps"] // 10, 1)}
    return cfg


# ---------------------------------------------------------------------------------------------
# one cell
# ---------------------------------------------------------------------------------------------

def _excess(row):
    """``|measured - predicted| / halfwidth`` of a check row (max over components); inf if it raised."""
    band = row.get("band")
    if not band or row.get("measured") is None:
        return math.inf
    m = np.asarray(row["measured"], dtype=float)
    c = np.asarray(row["predicted"], dtype=float)
    hw = np.asarray(band["halfwidth"], dtype=float)
    side = band.get("side", "both")
    dev = m - c if side == "upper" else (c - m if side == "lower" else np.abs(m - c))
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where(hw > 0, np.maximum(dev, 0) / hw, np.where(dev > 0, np.inf, 0.0))
    return float(np.max(e)) if np.all(np.isfinite(m)) else math.inf


#: a vector quantity of a check row longer than this is kept as its summary (size, min, mean, max)
_VECTOR_MAX = 12


def _compact(x):
    """``x`` itself, or for a long vector ``{"size", "min", "mean", "max"}`` (keeps the table small)."""
    if isinstance(x, (list, tuple)):
        v = np.asarray(x, dtype=float).ravel()
        if v.size > _VECTOR_MAX:
            return {"size": int(v.size), "min": float(np.min(v)), "mean": float(np.mean(v)), "max": float(np.max(v))}
    return x


def _check_summary(crow):
    """The part of a check row a cell keeps (no per-seed details; long vectors summarised)."""
    out = {k: _compact(crow.get(k)) for k in ("id", "status", "predicted", "measured", "interval", "baseline",
                                              "verdict", "error")}
    out["band"] = ({k: _compact(crow["band"][k]) for k in ("lo", "hi", "halfwidth", "side")}
                   if crow.get("band") else None)
    out["rivals"] = [{"name": r["name"], "predicted": _compact(r["predicted"]), "status": r["status"]}
                     for r in crow.get("rivals", [])]
    out["excess"] = crow["excess"] if "excess" in crow else _excess(crow)
    return out


def _verdict(status):
    return {"passed": "holds", "failed": "fails"}.get(status, "inconclusive")


def _interval(values):
    """Mean with its t interval at CONFIDENCE (``None`` bounds for fewer than two values)."""
    from featavg.evidence import mean_interval

    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return {"mean": None, "ci": [None, None], "n": 0}
    if v.size < 2 or np.all(v == v[0]):
        return {"mean": float(v.mean()), "ci": [float(v.min()), float(v.max())], "n": int(v.size)}
    m, _, hw = mean_interval(v)
    return {"mean": m, "ci": [m - hw, m + hw], "n": int(v.size)}


def _fraction(successes, trials):
    from featavg.evidence import clopper_pearson

    if trials == 0:
        return {"mean": None, "ci": [None, None], "n": 0}
    lo, hi = clopper_pearson(successes, trials)
    return {"mean": successes / trials, "ci": [lo, hi], "n": int(trials)}


def _late_start(run):
    """The step at which the late phase starts in ``run``'s history, or None (never)."""
    from featavg.simulate import late_phase_state
    from featavg.simulate._diagnostics import LATE_OPPOSITE_MAX, LATE_OWN_MIN

    h = run.history
    if not h or "activation_fractions" not in h:
        return None
    A = np.asarray(h["activation_fractions"])
    M, k = A.shape[1], A.shape[2]
    labels = run.cluster_labels
    if run.config.supervision == "binary":
        own = np.repeat([1, -1], M // 2)[:, None] == labels[None, :]
        ok = [a[own].min() >= LATE_OWN_MIN and a[~own].max() <= LATE_OPPOSITE_MAX for a in A]
    else:  # own activity from the history; the centre condition at the end only
        own = np.repeat(np.arange(k), M // k)[:, None] == np.arange(k)[None, :]
        end = late_phase_state(run.network, "cluster", run.features, labels, run.train.X, run.train.clusters, k)
        ok = [a[own].min() >= LATE_OWN_MIN and end["in_late"] for a in A]
    steps = np.asarray(h["step"])
    hit = np.flatnonzero(ok)
    return int(steps[hit[0]]) if hit.size else None


def _dead(W, b, run):
    from featavg.lemmas import dead_at_init
    from featavg.simulate import neuron_classes

    cls = neuron_classes(run.network, run.cluster_labels)
    return dead_at_init(W, b, run.train.X, run.train.clusters, run.cluster_labels, cls)


def measure_runs(ctx, runs, spec):
    """The measurements of a cell over ``runs`` (module docstring)."""
    from featavg.simulate import accuracy, averaging_score, decoupling_score

    points = 40 if ctx.quick else 50  # the C3/C5 checks' points per seed: their radii are reused
    score, acc, ratio, start, norm, dead0, dead1, neurons = [], [], [], [], [], 0, 0, 0
    warns = {"late_phase": 0, "loss_stall": 0, "overshoot": 0}
    never = 0
    for run in runs:
        cfg = run.config
        net = run.network
        if cfg.supervision == "binary":
            score.append(averaging_score(net, run.features, run.cluster_labels))
            pred = float(ctx.prediction("C3.averaging_radius", "radius_balanced")(cfg.d, cfg.k))
        else:
            score.append(decoupling_score(net, run.features, run.cluster_labels))
            pred = float(ctx.prediction("C5.readouts", "radius_argmax")(cfg.d)) if spec.readout == "argmax" else \
                float(ctx.prediction("C5.readouts", "radius_sum")(cfg.d, cfg.k - cfg.positive))
        acc.append(accuracy(run.binary_score(run.test.X, spec.readout), run.test.y))
        try:
            r = ctx.radii(run, spec.readout, points=min(points, run.test.X.shape[0]))
            ratio.append(float(np.median(r)) / pred)
        except FeatavgError:
            ratio.append(None)
        s = _late_start(run)
        if s is None:
            never += 1
        else:
            start.append(float(s))
        norm.append(float(np.linalg.norm(run.W_init, axis=1).mean() / np.linalg.norm(net.W, axis=1).mean()))
        dead0 += int(_dead(run.W_init, run.b_init, run).sum())
        dead1 += int(_dead(net.W, net.b, run).sum())
        neurons += net.W.shape[0]
        for w in run.warnings:
            warns[w["quantity"]] = warns.get(w["quantity"], 0) + 1
    R = len(runs)
    return {"runs": R, "score": _interval(score), "test_accuracy": _interval(acc), "radius_ratio": _interval(ratio),
            "late_phase_start": {**_interval(start), "never": never},
            "late_phase_never": _fraction(never, R),
            "init_over_learned_norm": _interval(norm), "dead_at_init": _fraction(dead0, neurons),
            "dead_at_end": _fraction(dead1, neurons),
            "warnings": {q: _fraction(c, R) for q, c in sorted(warns.items())},
            "score_name": "averaging score" if spec.supervision == "binary" else "decoupling score"}


def run_cell(task, spec_dict, quick, seed):
    """One cell: its check in ``VerifyContext(base=cell config)`` and the measurements (module docstring).

    Top-level so that it pickles to any executor; never raises (an error becomes the row's
    ``status``/``error``).
    """
    import warnings

    from featavg._registry import default_registry
    from featavg._verify import VerifyContext, run_check

    index, (x, y) = task
    spec = MapSpec.from_dict(spec_dict)
    start = time.perf_counter()
    cfg = cell_config(spec, x, y)
    row = {"task": index, "map": spec.name, "status": "ok", "error": None,
           "params": {spec.x: x, spec.y: y}, "config": cfg}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reg = default_registry()
            by_id = {c.id: c for c in reg.checks()}
            missing = [c for c in spec.check if c not in by_id]
            if missing:
                raise InvalidParameter("check", missing, "check ids of the registry")
            ctx = VerifyContext(quick=quick, seed=seed, base=cfg)
            crows = [run_check(by_id[c], ctx) for c in spec.check]
            runs = [r for c, r in ctx._runs.items() if c.supervision == spec.supervision]
            if not runs:  # checks that raised before training: train the cell's runs to measure them
                runs = ctx.paper_runs(spec.supervision, 4 if quick else 8)
            row["checks"] = [_check_summary(c) for c in crows]
            verdicts = [_verdict(c["status"]) for c in crows]
            row["verdict"] = ("fails" if "fails" in verdicts else "inconclusive" if "inconclusive" in verdicts
                              else "holds")
            row["excess"] = max(_excess(c) for c in crows)
            row["measurements"] = measure_runs(ctx, runs, spec)
        except Exception as exc:  # noqa: BLE001 - a failing cell is recorded, the map goes on
            row["status"] = "error"
            row["verdict"] = None
            row["error"] = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, FeatavgError):
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                row["error"] += f" (at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name})"
    row["python_warnings"] = "; ".join(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)) or None
    row["wall_time"] = time.perf_counter() - start
    from featavg._output import to_jsonable

    return to_jsonable(row)


# ---------------------------------------------------------------------------------------------
# boundaries
# ---------------------------------------------------------------------------------------------

def _coord(axis, v):
    return math.log(v) if AXES[axis].scale == "log" else float(v)


def _uncoord(axis, c):
    return math.exp(c) if AXES[axis].scale == "log" else float(c)


def boundaries(spec, cells):
    """Where the verdict changes: for each value of one axis, the brackets along the other (both ways).

    Every change between neighbouring cells is listed (``holds -> inconclusive`` too: where a check
    loses its power to tell the claim from its rivals).

    Returns
    -------
    list of dict
        ``{"map", "for_axis", "value", "along", "from", "to", "interval": [lo, hi], "estimate",
        "uncertainty"}``; ``estimate`` is the log-linear interpolation of ``excess = 1`` between the
        two bracketing cells (module docstring), ``uncertainty`` the half-width of the bracket in
        the axis's coordinates (a factor for log axes: ``sqrt(hi/lo)``).
    """
    grid = {(c["params"][spec.x], c["params"][spec.y]): c for c in cells if c.get("map") == spec.name}
    out = []
    for fixed, along, fvals, avals in ((spec.x, spec.y, spec.xs, spec.ys), (spec.y, spec.x, spec.ys, spec.xs)):
        for v in fvals:
            line = []
            for a in avals:
                key = (v, a) if fixed == spec.x else (a, v)
                c = grid.get(key)
                if c is not None and c.get("verdict"):
                    line.append((a, c["verdict"], c.get("excess")))
            last = None  # the previous cell along the line
            for a, verdict, excess in line:
                if last is not None and last[1] != verdict:
                    lo, hi = last[0], a
                    e0, e1 = last[2], excess
                    est = None
                    if e0 is not None and e1 is not None and np.isfinite(e0) and np.isfinite(e1) and e0 > 0 and e1 > 0 \
                            and (math.log(e0) != math.log(e1)) and "inconclusive" not in (last[1], verdict):
                        u0, u1 = _coord(along, lo), _coord(along, hi)
                        t = (0 - math.log(e0)) / (math.log(e1) - math.log(e0))
                        if 0 <= t <= 1:
                            est = _uncoord(along, u0 + t * (u1 - u0))
                    if est is None:
                        est = _uncoord(along, (_coord(along, lo) + _coord(along, hi)) / 2)
                    unc = math.sqrt(hi / lo) if AXES[along].scale == "log" else (hi - lo) / 2
                    out.append({"map": spec.name, "for_axis": fixed, "value": v, "along": along, "from": last[1],
                                "to": verdict, "interval": [lo, hi], "estimate": est,
                                "uncertainty": unc, "uncertainty_kind": "factor" if AXES[along].scale == "log"
                                else "half-width"})
                last = (a, verdict, excess)
    return out


# ---------------------------------------------------------------------------------------------
# the document and the figures
# ---------------------------------------------------------------------------------------------

def build_document(specs, rows, *, quick, seed, seconds=None):
    """``regime.json``: ``axes``, ``cells``, ``boundary`` and per-map summaries."""
    from featavg import __version__

    cells = [dict(r, checks=[_check_summary(c) for c in r["checks"]]) if r.get("checks") else dict(r)
             for r in sorted(rows, key=lambda r: r["task"])]
    axes, maps, bounds = {}, {}, []
    for spec in specs:
        for name, vals in ((spec.x, spec.xs), (spec.y, spec.ys)):
            a = AXES[name]
            entry = axes.setdefault(name, {"name": name, "label": a.label, "scale": a.scale, "doc": a.doc,
                                           "values": [], "paper": PAPER_POINT[name]})
            entry["values"] = sorted(set(entry["values"]) | set(vals))
        mine = [c for c in cells if c.get("map") == spec.name]
        b = boundaries(spec, mine)
        bounds += b
        verdicts = [c.get("verdict") for c in mine]
        maps[spec.name] = {"check": list(spec.check), "supervision": spec.supervision, "x": spec.x, "y": spec.y,
                           "xs": list(spec.xs), "ys": list(spec.ys), "base": spec.base, "quantity": spec.quantity,
                           "cells": len(mine), "verdicts": {v: verdicts.count(v) for v in
                                                            ("holds", "fails", "inconclusive", None)
                                                            if verdicts.count(v)},
                           "paper": {spec.x: PAPER_POINT[spec.x], spec.y: PAPER_POINT[spec.y]},
                           "summary": summarise(spec, mine, b)}
    doc = {"featavg": __version__, "quick": bool(quick), "seed": int(seed), "axes": list(axes.values()),
           "maps": maps, "cells": cells, "boundary": bounds}
    # timing (not part of the table's content): this invocation's wall time, and the cells' own
    cell = sum(c.get("wall_time") or 0.0 for c in cells)
    doc["cell_seconds"] = cell
    if seconds is not None:
        doc["seconds"] = seconds
    return doc


def summarise(spec, cells, bounds):
    """The map's boundaries in words: ``"holds for eta d <= X at d/n >= Y"``-style sentences."""
    out = []
    for b in bounds:
        if b["for_axis"] != spec.x:
            continue
        lo, hi = b["interval"]
        out.append(f"at {spec.x} = {b['value']:g}: {b['from']} -> {b['to']} between {spec.y} = {lo:g} and {hi:g} "
                   f"(estimate {b['estimate']:.3g})")
    return out


def draw_map(spec, cells, bounds, ax=None, quantity=None):
    """A phase diagram: heatmap of the cell quantity, verdict marks, the boundary, the paper's setting.

    Returns the matplotlib Figure (a new one when ``ax`` is None).
    """
    from featavg._figures import new_figure

    quantity = quantity or spec.quantity
    fig = None
    if ax is None:
        fig = new_figure((6.4, 4.8))
        ax = fig.subplots()
    nx, ny = len(spec.xs), len(spec.ys)
    Z = np.full((ny, nx), np.nan)
    marks = {}
    grid = {(c["params"][spec.x], c["params"][spec.y]): c for c in cells}
    for i, x in enumerate(spec.xs):
        for j, y in enumerate(spec.ys):
            c = grid.get((x, y))
            if c is None:
                continue
            m = (c.get("measurements") or {}).get(quantity) or {}
            if m.get("mean") is not None:
                Z[j, i] = m["mean"]
            marks[(i, j)] = c.get("verdict")
    label = {"score": (cells[0].get("measurements", {}).get("score_name", "score") if cells else "score"),
             "radius_ratio": "median exact radius / prediction"}.get(quantity, quantity)
    vmin, vmax = (0.5, 1.0) if quantity == "score" else (np.nanmin(Z) if np.isfinite(Z).any() else 0,
                                                          np.nanmax(Z) if np.isfinite(Z).any() else 1)
    im = ax.imshow(Z, origin="lower", cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto",
                   extent=(-0.5, nx - 0.5, -0.5, ny - 0.5), interpolation="nearest")
    (fig or ax.figure).colorbar(im, ax=ax, label=label, shrink=0.9)
    sym = {"holds": ("o", "white"), "fails": ("x", "red"), "inconclusive": ("s", "orange"), None: ("", "k")}
    for (i, j), v in marks.items():
        s, col = sym.get(v, ("?", "k"))
        if s:
            ax.plot(i, j, s, color=col, ms=7, mew=2, mfc="none")
    # the boundary: cell edges between a holds and a fails cell
    for (i, j), v in marks.items():
        for di, dj in ((1, 0), (0, 1)):
            w = marks.get((i + di, j + dj))
            style = {frozenset({"holds", "fails"}): ("red", "-"),
                     frozenset({"holds", "inconclusive"}): ("orange", "--")}.get(frozenset({v, w}))
            if style:
                col, ls = style
                if di:
                    ax.plot([i + 0.5, i + 0.5], [j - 0.5, j + 0.5], color=col, ls=ls, lw=2.5)
                else:
                    ax.plot([i - 0.5, i + 0.5], [j + 0.5, j + 0.5], color=col, ls=ls, lw=2.5)
    # the paper's setting, placed by interpolation in axis coordinates
    px, py = PAPER_POINT[spec.x], PAPER_POINT[spec.y]

    def pos(vals, axis, v):
        c = [_coord(axis, u) for u in vals]
        return float(np.interp(_coord(axis, v), c, np.arange(len(vals)))) if len(vals) > 1 else 0.0

    if min(spec.xs) <= px <= max(spec.xs) and min(spec.ys) <= py <= max(spec.ys):
        ax.plot(pos(spec.xs, spec.x, px), pos(spec.ys, spec.y, py), "*", color="gold", ms=16, mec="black",
                label="the paper's setting")
        ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
    ax.set_xticks(range(nx), [f"{v:g}" for v in spec.xs])
    ax.set_yticks(range(ny), [f"{v:g}" for v in spec.ys])
    ax.set_xlabel(AXES[spec.x].label)
    ax.set_ylabel(AXES[spec.y].label)
    ax.set_title(f"{spec.title}: o holds, x fails, square inconclusive;\nboundary: red (holds | fails), dashed orange (holds | inconclusive)",
                 fontsize=8)
    return fig if fig is not None else ax.figure


# ---------------------------------------------------------------------------------------------
# the durable run
# ---------------------------------------------------------------------------------------------

def _tasks(specs):
    out, i = [], 0
    for spec in specs:
        for cell in spec.cells():
            out.append((i, spec.name, cell))
            i += 1
    return out


def _prepare(directory, specs, quick, seed, resume):
    from featavg._sweep import TABLE, read_table
    from featavg.simulate import atomic_write

    os.makedirs(directory, exist_ok=True)
    table = os.path.join(directory, TABLE)
    record = os.path.join(directory, SPEC_RECORD)
    spec = {"maps": [s.to_dict() for s in specs], "quick": bool(quick), "seed": int(seed)}
    has_rows = os.path.exists(table) and os.path.getsize(table) > 0
    if not resume and has_rows:
        raise InvalidParameter("--out", os.fspath(directory), f"a directory without a non-empty {TABLE}: pass --resume "
                               "to continue that map, or choose another --out")
    if resume and os.path.exists(record):
        with open(record) as fh:
            if json.load(fh) != spec:
                raise InvalidParameter("--resume", os.fspath(directory), f"a regime directory of the same maps (its "
                                       f"{SPEC_RECORD} differs); choose another --out")
    elif resume and has_rows:
        raise InvalidParameter("--resume", os.fspath(directory), f"a regime directory with its {SPEC_RECORD}")
    with atomic_write(record, "w") as fh:
        json.dump(spec, fh, indent=1, sort_keys=True)
    tasks = _tasks(specs)
    done = {}
    for row in read_table(directory, repair=True):
        i = row.get("task")
        if not isinstance(i, int) or not 0 <= i < len(tasks) or row.get("map") != tasks[i][1]:
            raise FeatavgError(f"{table}: row with task={i!r} is not a cell of these maps")
        done.setdefault(i, row)
    return tasks, done


def regime(specs, directory, *, executor, quick=False, seed=0, resume=False, progress=None, figures=True):
    """Run every missing cell of ``specs`` on ``executor`` into ``directory`` (module docstring).

    Returns
    -------
    doc : dict
        The ``regime.json`` document.
    stats : dict
        ``total``, ``skipped``, ``ran``, ``failed``, ``seconds``.
    """
    from featavg._sweep import _run_pending, _write_final
    from featavg.simulate import atomic_write

    start = time.perf_counter()
    tasks, done = _prepare(directory, specs, quick, seed, resume)
    by_name = {s.name: s for s in specs}
    pending = [t for t in tasks if t[0] not in done]
    if progress is not None:
        progress(len(done))
    jobs = [(run_cell, ((i, cell), by_name[name].to_dict(), quick, seed)) for i, name, cell in pending]
    rows = _run_pending(directory, executor, jobs, done, progress)
    final = _write_final(directory, rows.values())
    seconds = time.perf_counter() - start
    doc = build_document(specs, final, quick=quick, seed=seed, seconds=seconds)
    with atomic_write(os.path.join(directory, DOCUMENT), "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True, allow_nan=False)
        fh.write("\n")
    if figures:
        for spec in specs:
            mine = [c for c in final if c.get("map") == spec.name]
            fig = draw_map(spec, mine, [b for b in doc["boundary"] if b["map"] == spec.name])
            fig.savefig(os.path.join(directory, f"{spec.name}.png"), dpi=100, metadata={"Software": None})
    stats = {"total": len(tasks), "skipped": len(done), "ran": len(pending),
             "failed": sum(r["status"] != "ok" for r in final), "seconds": seconds,
             "cells_per_second": len(pending) / seconds if seconds > 0 else None}
    return doc, stats
