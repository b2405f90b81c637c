"""Timing helpers shared by the benchmarks: medians after a warm-up, and the setting's header."""

import datetime
import os
import platform
import statistics
import time

import numpy as np


def median_time(fn, reps, warmup=1):
    """Median wall time (s) of ``reps`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def one_pass(X, reps):
    """The time of one read of ``X``: the faster of ``X @ v`` and ``X.sum(axis=0)`` (medians)."""
    v = np.ones(X.shape[1])
    return min(median_time(lambda: X @ v, reps), median_time(lambda: X.sum(axis=0), reps))


def header(title, reps):
    """Date, machine and the repetition rule, as printed on top of every benchmark."""
    blas = ""
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name', '?')} {cfg.get('version', '')}"
    except Exception:  # noqa: BLE001 - older NumPy: no dict mode
        pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"== {title} ==\n{now}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"NumPy {np.__version__} {blas}; float64; median of {reps} repetitions after a warm-up")


def row(name, value, unit, ref_name=None, ref=None, target=None):
    """One printed figure: ``value`` against its floor/baseline ``ref`` and the ratio."""
    text = f"  {name:<44} {value:10.4g} {unit:<6}"
    if ref is not None:
        ratio = value / ref
        text += f"  {ref_name} {ref:10.4g} {unit:<6} ratio {ratio:7.3f}"
        if target is not None:
            text += f"  target <= {target:g}: {'met' if ratio <= target else 'NOT met'}"
    return text
