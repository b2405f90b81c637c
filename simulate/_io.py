"""Saved runs (``.npz``) and atomic file writing.

A saved run holds the arrays ``features`` (k, d), ``cluster_labels`` (k,), ``X_train``,
``y_train``, ``clusters_train``, ``X_test``, ``y_test``, ``clusters_test``, ``W_init``, ``b_init``,
``W``, ``b`` (neurons x d; binary order: m positive then m negative neurons; multi-class order
``j*h + r``), ``config`` (the run's config as a JSON string, seed included) and ``final_loss``;
the training history, when recorded, as ``history_<name>`` arrays. For a reduced-engine run
(``config.engine == "reduced"``) ``d`` is the reduced dimension ``k + n + M``.
"""

import contextlib
import json
import os
import tempfile
import zipfile

import numpy as np

from ._data import Sample
from ._errors import FeatavgError, RunFileError
from ._run import Config, Run, make_network

__all__ = ["atomic_write", "save_run", "load_run", "RUN_ARRAYS"]

RUN_ARRAYS = ("features", "cluster_labels", "X_train", "y_train", "clusters_train", "X_test",
              "y_test", "clusters_test", "W_init", "b_init", "W", "b", "config")


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary file beside ``path``; on success, rename it onto ``path``.

    An interrupted write leaves ``path`` as it was (absent or complete), never half written. The
    file gets the permissions of a plain ``open`` (0666 less the umask), not ``mkstemp``'s 0600.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_run(path, run):
    """Write ``run`` to ``path`` atomically (format in the module docstring)."""
    arrays = {
        "features": run.features,
        "cluster_labels": run.cluster_labels,
        "X_train": run.train.X, "y_train": run.train.y, "clusters_train": run.train.clusters,
        "X_test": run.test.X, "y_test": run.test.y, "clusters_test": run.test.clusters,
        "W_init": run.W_init, "b_init": run.b_init,
        "W": run.network.W, "b": run.network.b,
        "config": np.array(json.dumps(run.config.to_dict(), sort_keys=True)),
        "final_loss": np.array(run.final_loss),
    }
    for key, val in (run.history or {}).items():
        arrays[f"history_{key}"] = val
    with atomic_write(path) as fh:
        np.savez(fh, **arrays)


def load_run(path):
    """Read a run written by :func:`save_run`.

    Raises
    ------
    RunFileError
        If the file cannot be read, is not an ``.npz``, lacks an array, or its arrays disagree
        with its config.
    """
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise RunFileError(f"run file {path!r} does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise RunFileError(f"run file {path!r} is not a readable .npz written by "
                           f"'featavg simulate --save' ({exc})") from None
    missing = [key for key in RUN_ARRAYS if key not in arrays]
    if missing:
        raise RunFileError(f"run file {path!r} is incomplete: missing arrays {', '.join(missing)} "
                           f"(expected {', '.join(RUN_ARRAYS)})")
    try:
        config = Config.from_dict(json.loads(str(arrays["config"])))
        train = Sample(arrays["X_train"], arrays["y_train"].astype(np.int64),
                       arrays["clusters_train"].astype(np.int64))
        test = Sample(arrays["X_test"], arrays["y_test"].astype(np.int64),
                      arrays["clusters_test"].astype(np.int64))
        network = make_network(config.supervision, arrays["W"], arrays["b"], config.h, config.activation_function)
        if network.W.shape != arrays["W_init"].shape or arrays["features"].shape[0] != config.k:
            raise RunFileError(f"run file {path!r}: array shapes disagree with its config")
    except (json.JSONDecodeError, TypeError) as exc:
        raise RunFileError(f"run file {path!r} has an unreadable config ({exc})") from None
    except FeatavgError as exc:
        if isinstance(exc, RunFileError):
            raise
        raise RunFileError(f"run file {path!r} is inconsistent: {exc}") from None
    history = {key[len("history_"):]: val for key, val in arrays.items() if key.startswith("history_")}
    final_loss = float(arrays["final_loss"]) if "final_loss" in arrays else float("nan")
    return Run(config=config, features=arrays["features"], cluster_labels=arrays["cluster_labels"].astype(np.int64),
               train=train, test=test, W_init=arrays["W_init"], b_init=arrays["b_init"],
               network=network, final_loss=final_loss, history=history or None)
