"""The report's figures: valid PNGs, reproducible bytes, the fitted rates, a failing builder.

Figures are :class:`featavg.evidence.Figure` objects of the claim modules, discovered. One quick
run of the cheaper figures (module fixture; the whole set takes about 150 s quick, most of it in
five figures) serves the tests that read results; the reproducibility test reruns the cheapest
figure. Every figure, the expensive ones too, is checked as a file in the committed report
(``derivations/figures``), which the slow test of tests/test_report.py regenerates and compares. Oracles: the PNG format itself (signature, chunk list), the claims'
lambdified predictions (whose exponents give the expected slopes), the fits' own intervals.
"""

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from featavg import _verify
from featavg._figures import FigureResult, make_figures
from featavg._registry import default_registry
from featavg.evidence import Figure, t_quantile

REGISTRY = default_registry()
FIGURES = REGISTRY.figures()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: the cheapest figure (one short run, no exact radii): rerun for the reproducibility tests
CHEAP = "early_phase"

#: the figures run in the fast tier: each under 3 s quick on this machine (the others: adversarial
#: training 51 s, digits 21 s, ReLU^p 17 s, averaged start 16 s and 12 s, ...)
FAST = ("early_phase", "margin_trajectories", "radius_vs_d", "radius_vs_k", "cosine_heatmaps",
        "gram_radius_trained", "leaky_radius_vs_slope", "unbalanced_robust_accuracy", "regime_C1")
COMMITTED = Path(__file__).resolve().parents[1] / "derivations"


def _ctx(seed=0):
    return _verify.VerifyContext(quick=True, seed=seed, registry=REGISTRY)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    calls = []
    results = make_figures(out, [f for f in FIGURES if f.id in FAST], _ctx(), progress=calls.append)
    return out, results, calls


def _by_id(results):
    return {r.id: r for r in results}


def _only(fid):
    return [f for f in FIGURES if f.id == fid]


def _chunks(png):
    """``(type, payload)`` of every chunk of a PNG file (PNG spec §5.3: length, type, data, CRC)."""
    out, pos = [], len(PNG_SIGNATURE)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        out.append((png[pos + 4:pos + 8].decode("ascii"), png[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def _predicted_exponent(var, values, fixed):
    """Slope of log sqrt(d/k) (C3.averaging_radius, lambdified) against log ``var`` over ``values``."""
    f = REGISTRY.claim("C3.averaging_radius").predictions["radius_balanced"]
    y = [float(f(**{var: v, **fixed})) for v in values]
    return float(np.polyfit(np.log(values), np.log(y), 1)[0])


# ------------------------------------------------------------------------------------------------
# files and results

def _check_png(path, name):
    from matplotlib.image import imread

    png = path.read_bytes()
    assert png.startswith(PNG_SIGNATURE), name
    types = [t for t, _ in _chunks(png)]
    assert types[-1] == "IEND", name  # complete file (written atomically)
    # tEXt/iTXt/zTXt would hold "Software" (or a date), tIME a modification time
    assert not {"tEXt", "iTXt", "zTXt", "tIME"} & set(types), (name, types)
    assert b"Software" not in png
    assert len(png) < 150_000, (name, len(png))  # the report embeds them; size limit of the brief
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] >= 300 and img.shape[1] >= 500, name
    assert float(img[..., :3].std()) > 0.0, name  # not blank


def test_the_fast_figures_are_known_and_cheap_enough_to_name():
    assert set(FAST) <= {f.id for f in FIGURES} and CHEAP in FAST
    assert len(FIGURES) >= 6  # the report requires at least six figures


def test_quick_run_writes_a_valid_png_per_figure(quick):
    out, results, calls = quick
    assert [r.id for r in results] == [f.id for f in FIGURES if f.id in FAST]
    assert all(r.error is None for r in results), [(r.id, r.error) for r in results if r.error]
    assert calls == [1] * len(results)  # progress: one unit per figure
    for r in results:
        assert isinstance(r, FigureResult)
        assert r.file == f"figures/{r.id}.png"
        _check_png(out / r.file, r.id)
    assert not [p for p in (out / "figures").iterdir() if p.name.startswith(".tmp-")]  # no temporaries left


def test_every_committed_figure_is_a_valid_png_within_the_size_limit():
    """All figures, the expensive ones too, as the committed report holds them (kept current by
    tests/test_report.py::test_committed_derivations_are_current)."""
    for f in FIGURES:
        path = COMMITTED / "figures" / f"{f.id}.png"
        assert path.exists(), f"derivations/figures/{f.id}.png is missing: run `featavg report`"
        _check_png(path, f.id)


def test_results_have_captions_known_claims_and_json_data(quick):
    _, results, _ = quick
    for r in results:
        assert r.title and isinstance(r.title, str)
        assert isinstance(r.caption, str) and len(r.caption) > 80, r.id
        assert "seed" in r.caption, r.id  # every caption says what was run
        assert r.claims and isinstance(r.claims, tuple)
        assert set(r.claims) <= set(REGISTRY.ids()), (r.id, r.claims)
        text = json.dumps(r.data, allow_nan=False)  # JSON-ready, no NaN
        assert json.loads(text) == r.data
        assert r.data["seed"] == 0 and r.data["quick"] is True


def test_data_floats_have_at_most_six_significant_digits(quick):
    _, results, _ = quick

    def floats(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from floats(v)
        elif isinstance(x, list):
            for v in x:
                yield from floats(v)
        elif isinstance(x, float):
            yield x

    for r in results:
        for v in floats(r.data):
            assert v == float(f"{v:.6g}"), (r.id, v)


# ------------------------------------------------------------------------------------------------
# reproducibility

def test_same_seed_gives_byte_identical_png_and_data(quick, tmp_path):
    out, results, _ = quick
    (again,) = make_figures(tmp_path, _only(CHEAP), _ctx())
    assert (tmp_path / again.file).read_bytes() == (out / again.file).read_bytes()
    assert again == _by_id(results)[CHEAP]


def test_another_seed_gives_another_figure(quick, tmp_path):
    out, results, _ = quick
    (other,) = make_figures(tmp_path, _only(CHEAP), _ctx(seed=1))
    assert other.data["seed"] == 1
    assert other.data["run_seed"] != _by_id(results)[CHEAP].data["run_seed"]
    assert (tmp_path / other.file).read_bytes() != (out / other.file).read_bytes()


# ------------------------------------------------------------------------------------------------
# the rates and closed forms the figures show

def _slope_interval(data, level=0.999):
    """The fitted slope's two-sided t interval at ``level`` from the figure's stored fit."""
    n = len(data["points"])
    hw = t_quantile(n - 2, level) * data["slope_stderr"]
    return data["slope"] - hw, data["slope"] + hw


def test_radius_vs_d_slope_matches_sqrt_d(quick):
    data = _by_id(quick[1])["radius_vs_d"].data
    ds = [p["d"] for p in data["points"]]
    predicted = _predicted_exponent("d", ds, {"k": 10})  # 1/2 from the claim's sqrt(d/k)
    assert predicted == pytest.approx(0.5, abs=1e-12)
    lo, hi = _slope_interval(data)  # the fit's own 99.9% interval (t with n - 2 dof)
    assert lo <= predicted <= hi, (lo, hi)
    assert not lo <= 1.0 <= hi  # the interval rejects a slope of 1 (radius ~ d)


def test_radius_vs_k_slope_matches_inverse_sqrt_k(quick):
    data = _by_id(quick[1])["radius_vs_k"].data
    ks = [p["k"] for p in data["points"]]
    predicted = _predicted_exponent("k", ks, {"d": data["d"]})  # -1/2 from the claim's sqrt(d/k)
    assert predicted == pytest.approx(-0.5, abs=1e-12)
    lo, hi = _slope_interval(data)
    assert lo <= predicted <= hi, (lo, hi)
    assert not lo <= 0.0 <= hi  # the interval rejects a radius independent of k


def test_margin_figure_exact_construction_follows_the_gd_map(quick):
    data = _by_id(quick[1])["margin_trajectories"].data
    exact = data["exact_construction"]
    # noise-free late regime: one GD step is exactly the map of C7.gd_step; round-off only
    assert exact["max_relative_error_vs_gd_map"] <= 1e-9
    step = REGISTRY.claim("C7.gd_step").predictions["step"]
    q = exact["q0"]
    for _ in range(exact["steps"]):
        q = float(step(q, exact["eta"], exact["C"]))
    assert exact["final_margin"] == pytest.approx(q, rel=1e-5)  # data holds 6 significant digits


def test_a_failing_builder_is_a_failed_figure_not_a_crash(tmp_path):
    def broken(ctx):
        raise RuntimeError("no data")

    (res,) = make_figures(tmp_path, [Figure("broken", "A broken figure", broken, claims=("C4.threshold_net",))], _ctx())
    assert res.error == "RuntimeError: no data" and not (tmp_path / "figures" / "broken.png").exists()
