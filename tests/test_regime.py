"""``featavg regime``: cells at the right parameters, boundaries bracketed, the quick map's JSON, and a
map killed with a real SIGKILL and resumed equal to an uninterrupted one (issue 16)."""

import json
import signal

import numpy as np
import pytest

from featavg._regime import DOCUMENT, MAPS, QUICK_MAPS, MapSpec, boundaries, cell_config
from featavg._sweep import TABLE, read_table
from featavg.cli import main
from test_sweep_resume import sigkill_after_rows, strip_times


def test_cell_config_puts_the_d_invariant_axes_at_the_cells_d():
    spec = MapSpec("t", "C1.feature_averaging.cos_class_sum", "binary", "d_over_n", "eta_d", (3.072, 30.0),
                   (3.072, 100.0))
    cfg = cell_config(spec, 30.0, 100.0)
    assert (cfg["k"], cfg["n"], cfg["d"], cfg["m"], cfg["steps"]) == (10, 1000, 30000, 5, 100)
    assert cfg["eta"] * cfg["d"] == pytest.approx(100.0) and cfg["init_scale"] * cfg["d"] == pytest.approx(0.03072)
    paper = cell_config(spec, 3.072, 3.072)
    assert (paper["d"], paper["eta"], paper["init_scale"]) == (3072, pytest.approx(1e-3), pytest.approx(1e-5))
    unbalanced = cell_config(MapSpec("u", "C1.feature_averaging.cos_class_sum", "binary", "J_ratio", "n_over_k",
                                     (0.25,), (20.0,)), 0.25, 20.0)
    assert (unbalanced["positive"], unbalanced["n"]) == (2, 200)


def _cell(x, y, verdict, excess):
    return {"map": "t", "params": {"d_over_n": x, "eta_d": y}, "verdict": verdict, "excess": excess}


def test_boundary_is_bracketed_and_interpolated_where_the_excess_crosses_one():
    spec = MapSpec("t", "C1.feature_averaging.cos_class_sum", "binary", "d_over_n", "eta_d", (1.0,),
                   (1.0, 10.0, 100.0, 1000.0))
    # excess 0.1 at 10 and 10 at 1000: log-linear crossing of excess = 1 at 100
    cells = [_cell(1.0, 1.0, "holds", 0.05), _cell(1.0, 10.0, "holds", 0.1), _cell(1.0, 1000.0, "fails", 10.0)]
    (b,) = [x for x in boundaries(spec, cells) if x["for_axis"] == "d_over_n"]
    assert (b["from"], b["to"], b["interval"]) == ("holds", "fails", [10.0, 1000.0])
    assert b["estimate"] == pytest.approx(100.0) and b["uncertainty"] == pytest.approx(10.0)
    # an inconclusive cell between: two changes, each bracketed by its neighbours (midpoints)
    cells.insert(2, _cell(1.0, 100.0, "inconclusive", 0.9))
    b1, b2 = [x for x in boundaries(spec, cells) if x["for_axis"] == "d_over_n"]
    assert (b1["from"], b1["to"], b1["interval"]) == ("holds", "inconclusive", [10.0, 100.0])
    assert (b2["from"], b2["to"], b2["interval"]) == ("inconclusive", "fails", [100.0, 1000.0])
    assert b1["estimate"] == pytest.approx(10 ** 1.5)


def test_unknown_map_and_bad_axis_are_usage_errors(tmp_path, capsys):
    assert main(["regime", "--out", str(tmp_path / "a"), "--maps", "C9"]) == 2
    assert "--maps" in capsys.readouterr().err
    assert main(["regime", "--out", str(tmp_path / "b"), "--check", "C5.decoupling", "--x", "speed=1,2",
                 "--y", "eta_d=1"]) == 2
    assert "AXIS=v1,v2" in capsys.readouterr().err


def test_maps_name_registry_checks():
    from featavg._registry import default_registry

    ids = {c.id for c in default_registry().checks()}
    for spec in (*MAPS.values(), *QUICK_MAPS.values()):
        assert set(spec.check) <= ids, spec.name


@pytest.fixture(scope="module")
def quick_map(tmp_path_factory):
    """``featavg regime --quick --json --workers 2``, uninterrupted: its directory and its stdout."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("regime") / "q"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["regime", "--quick", "--out", str(out), "--json", "--workers", "2"]) == 0
    return out, buf.getvalue()


@pytest.mark.slow
def test_quick_map_prints_the_done_when_json(quick_map):
    out, stdout = quick_map
    doc = json.loads(stdout)
    assert len(doc["axes"]) >= 2 and len(doc["cells"]) >= 16
    assert all(c["verdict"] in ("holds", "fails", "inconclusive") for c in doc["cells"])
    assert {"holds", "fails"} <= {c["verdict"] for c in doc["cells"]}
    for c in doc["cells"]:
        assert set(c["params"]) == {"d_over_n", "eta_d"} and "measurements" in c and "checks" in c
        assert c["measurements"]["score"]["ci"][0] <= c["measurements"]["score"]["mean"]
    assert doc["boundary"] and all(b["interval"][0] < b["interval"][1] for b in doc["boundary"])
    assert json.loads((out / DOCUMENT).read_text()) == doc
    assert all((out / f"{name}.png").exists() for name in QUICK_MAPS)


TIMES = ("wall_time",)


@pytest.mark.slow
def test_quick_map_sigkill_then_resume_equals_uninterrupted(tmp_path, quick_map):
    killed, full = tmp_path / "killed", quick_map[0]   # the reference: the uninterrupted quick map
    table = killed / TABLE
    assert sigkill_after_rows(["regime", "--quick", "--out", str(killed), "--workers", "2", "--quiet"], table,
                              deadline_s=300.0, poll_s=0.01) == -signal.SIGKILL
    before = read_table(killed)
    total = sum(len(s.xs) * len(s.ys) for s in QUICK_MAPS.values())
    assert 3 <= len(before) < total, f"kill came too late: {len(before)} rows"
    assert main(["regime", "--quick", "--out", str(killed), "--workers", "2", "--resume", "--quiet"]) == 0
    resumed, reference = read_table(killed), read_table(full)
    assert [r["task"] for r in resumed] == list(range(total))  # none lost, none twice, sorted
    assert strip_times(resumed) == strip_times(reference)
    kept = {r["task"]: r["wall_time"] for r in resumed}
    assert all(kept[r["task"]] == r["wall_time"] for r in before)  # kept, not recomputed
    a, b = (json.loads((d / DOCUMENT).read_text()) for d in (killed, full))
    assert a["boundary"] == b["boundary"] and np.all([x["verdict"] == y["verdict"]
                                                      for x, y in zip(a["cells"], b["cells"])])
