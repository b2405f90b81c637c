"""The report's figures (``featavg._figures``): valid PNGs, reproducible bytes, the fitted rates, bad input.

One quick ``make_figures`` run (module fixture, about 30 s on a 2-core machine) serves every test
that reads results; the reproducibility test reruns the cheapest figure. Oracles: the PNG format
itself (signature, chunk list), the theory claims (ids, lambdified predictions, whose exponents
give the expected slopes), and the GD map of ``C7.gd_step``.
"""

import json
import math
import struct

import numpy as np
import pytest

from featavg._figures import FIGURES, FigureResult, make_figures
from featavg.simulate import InvalidParameter
from featavg.theory import CLAIMS, get_claim

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: the cheapest figure (one short run, no exact radii): rerun for the reproducibility tests
CHEAP = "early_phase"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    calls = []
    results = make_figures(out, seed=0, quick=True, progress=calls.append)
    return out, results, calls


def _by_id(results):
    return {r.id: r for r in results}


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
    f = get_claim("C3.averaging_radius").predictions["radius_balanced"]
    y = [float(f(**{var: v, **fixed})) for v in values]
    return float(np.polyfit(np.log(values), np.log(y), 1)[0])


# ------------------------------------------------------------------------------------------------
# files and results

def test_quick_run_writes_a_valid_png_per_figure(quick):
    from matplotlib.image import imread

    out, results, calls = quick
    assert [r.id for r in results] == [f.id for f in FIGURES]
    assert len(results) >= 6  # the report requires at least six figures
    assert calls == [1] * len(results)  # progress: one unit per figure
    for r in results:
        assert isinstance(r, FigureResult)
        assert r.file == f"figures/{r.id}.png"
        png = (out / r.file).read_bytes()
        assert png.startswith(PNG_SIGNATURE), r.id
        assert [t for t, _ in _chunks(png)][-1] == "IEND", r.id  # complete file (written atomically)
        assert len(png) < 150_000, r.id  # the report embeds them; size limit of the brief
        img = imread(out / r.file)
        assert img.ndim == 3 and img.shape[0] >= 300 and img.shape[1] >= 500, r.id
        assert float(img[..., :3].std()) > 0.0, r.id  # not blank
    assert not [p for p in (out / "figures").iterdir() if p.name.startswith(".tmp-")]  # no temporaries left


def test_results_have_captions_known_claims_and_json_data(quick):
    _, results, _ = quick
    for r in results:
        assert r.title and isinstance(r.title, str)
        assert isinstance(r.caption, str) and len(r.caption) > 80, r.id
        assert "seed" in r.caption, r.id  # every caption says what was run
        assert r.claims and isinstance(r.claims, tuple)
        assert set(r.claims) <= set(CLAIMS), (r.id, r.claims)
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


def test_pngs_carry_no_text_or_time_metadata(quick):
    out, results, _ = quick
    for r in results:
        types = [t for t, _ in _chunks((out / r.file).read_bytes())]
        # tEXt/iTXt/zTXt would hold "Software" (or a date), tIME a modification time
        assert not {"tEXt", "iTXt", "zTXt", "tIME"} & set(types), (r.id, types)
        assert b"Software" not in (out / r.file).read_bytes()


# ------------------------------------------------------------------------------------------------
# reproducibility

def test_same_seed_gives_byte_identical_png_and_data(quick, tmp_path):
    out, results, _ = quick
    (again,) = make_figures(tmp_path, seed=0, quick=True, only=[CHEAP])
    assert (tmp_path / again.file).read_bytes() == (out / again.file).read_bytes()
    assert again == _by_id(results)[CHEAP]


def test_another_seed_gives_another_figure(quick, tmp_path):
    out, results, _ = quick
    (other,) = make_figures(tmp_path, seed=1, quick=True, only=[CHEAP])
    assert other.data["seed"] == 1
    assert other.data["run_seed"] != _by_id(results)[CHEAP].data["run_seed"]
    assert (tmp_path / other.file).read_bytes() != (out / other.file).read_bytes()


# ------------------------------------------------------------------------------------------------
# the rates and closed forms the figures show

def test_radius_vs_d_slope_matches_sqrt_d(quick):
    data = _by_id(quick[1])["radius_vs_d"].data
    ds = [p["d"] for p in data["points"]]
    predicted = _predicted_exponent("d", ds, {"k": 10})  # 1/2 from the claim's sqrt(d/k)
    assert predicted == pytest.approx(0.5, abs=1e-12)
    # quick run: 12 test points at each of 4 d over 3.5 decades. Per-d medians scatter by ~1-2%
    # (radius noise N(0,1) against sqrt(d/k) >= 17.8, plus the sample's cluster imbalance); seeds
    # 0-9 gave slopes 0.4957..0.5073 (sd 0.0035), so 0.03 is ~4x the largest deviation seen
    assert abs(data["slope"] - predicted) <= 0.03, data["slope"]
    assert min(p["averaging_score"] for p in data["points"]) >= 0.95  # averaging holds at every d


def test_radius_vs_k_slope_matches_inverse_sqrt_k(quick):
    data = _by_id(quick[1])["radius_vs_k"].data
    ks = [p["k"] for p in data["points"]]
    predicted = _predicted_exponent("k", ks, {"d": data["d"]})  # -1/2 from the claim's sqrt(d/k)
    assert predicted == pytest.approx(-0.5, abs=1e-12)
    # quick run: 12 test points at each of 4 k over one decade (log range 2.3): per-k medians
    # scatter by ~2-3% (the cluster counts n_j vary by sqrt(k/n) ~ 14%, which moves the per-cluster
    # margins); seeds 0-9 gave slopes -0.5126..-0.4976 (mean -0.5055, sd 0.004: averaging is a little
    # weaker at large k), so 0.04 is ~3x the largest deviation seen
    assert abs(data["slope"] - predicted) <= 0.04, data["slope"]
    assert min(p["averaging_score"] for p in data["points"]) >= 0.95


def test_robust_accuracy_medians_near_the_predicted_radii(quick):
    data = _by_id(quick[1])["robust_accuracy"].data
    pred = data["predicted_radii"]
    f = get_claim("C5.readouts").predictions
    d, k = data["d"], data["k"]
    assert pred["sqrt_d_over_2"] == pytest.approx(float(f["radius_argmax"](d)), rel=1e-5)  # 6 digits stored
    assert pred["sqrt_d_over_k"] == pytest.approx(math.sqrt(d / k), rel=1e-5)
    ratio = data["median_over_predicted"]
    # the bands of featavg verify's C3/C5 checks, for the same reasons: O(1) noise shifts against
    # sqrt(d/k) = 17.5, the O(sqrt(log k)) argmax correction (never above the optimum), the sum
    # readout's small thresholds (+10%)
    assert 0.85 <= ratio["binary"] <= 1.15
    assert 0.85 <= ratio["argmax"] <= 1.02
    assert 0.95 <= ratio["sum"] <= 1.3


def test_margin_figure_exact_construction_follows_the_gd_map(quick):
    data = _by_id(quick[1])["margin_trajectories"].data
    exact = data["exact_construction"]
    # noise-free late regime: one GD step is exactly the map of C7.gd_step; round-off only
    assert exact["max_relative_error_vs_gd_map"] <= 1e-9
    step = get_claim("C7.gd_step").predictions["step"]
    q = exact["q0"]
    for _ in range(exact["steps"]):
        q = float(step(q, exact["eta"], exact["C"]))
    assert exact["final_margin"] == pytest.approx(q, rel=1e-5)  # data holds 6 significant digits
    # trained net: the finite-n correction is of relative order k/n (the check C7.lambert_w.trained)
    assert data["max_relative_error_vs_lambert_w"] <= data["finite_n_scale_3k_over_n"]


# ------------------------------------------------------------------------------------------------
# bad input

BAD = [
    pytest.param({"only": ["nope"]}, "only", id="unknown-figure"),
    pytest.param({"only": []}, "only", id="empty-only"),
    pytest.param({"seed": -1}, "seed", id="negative-seed"),
    pytest.param({"seed": 1.5}, "seed", id="float-seed"),
    pytest.param({"seed": True}, "seed", id="bool-seed"),
    pytest.param({"progress": 3}, "progress", id="progress-not-callable"),
]


@pytest.mark.parametrize("kwargs, name", BAD)
def test_bad_input_raises_invalid_parameter_naming_it(tmp_path, kwargs, name):
    with pytest.raises(InvalidParameter) as info:
        make_figures(tmp_path, quick=True, **kwargs)
    assert info.value.name == name
    assert str(info.value).startswith(f"{name}=")
    assert not (tmp_path / "figures").exists()  # rejected before any work


def test_out_dir_that_is_a_file_is_rejected(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(InvalidParameter) as info:
        make_figures(path, quick=True, only=[CHEAP])
    assert info.value.name == "out_dir"
