"""``featavg digits`` and :mod:`featavg._digits` (issue 19): loader, split, training, JSON schema, extra.

Small subsets keep every test fast (the full experiment is the R1.digits claim's business). The
oracles: scikit-learn's own loader for the data, NumPy's mean and standard deviation recomputed
from the raw images for the standardisation, the closed-form scores of the idealised nets (1 by
construction), and the exact radius being at most PGD's verified radius.
"""

import json
import sys

import numpy as np
import pytest

from featavg._digits import (INSTALL, J_PLUS, DigitsConfig, MissingExtra, _bracket, centred_means, linf_radii,
                             load_images, parity_labels, reference_scores, run_digits, split_digits,
                             subproblems_per_point)
from featavg.cli import main
from featavg.simulate import InvalidParameter

#: a subset that trains in a fraction of a second: 20 images per digit, 5 of them for testing
SMALL = {"images": 200, "steps": 300, "points": 12, "pgd_steps": 10, "pgd_restarts": 1}


@pytest.fixture(scope="module")
def data():
    pytest.importorskip("sklearn")
    return load_images()


@pytest.fixture(scope="module")
def small_result(data):
    return run_digits(DigitsConfig(seed=3, **SMALL), images=data[0], digits=data[1])


def test_loader_returns_the_shipped_digits(data):
    from sklearn.datasets import load_digits

    images, digits = data
    assert images.shape == (1797, 64) and images.dtype == np.float64
    assert digits.shape == (1797,) and digits.dtype == np.int64
    assert np.bincount(digits).tolist() == np.bincount(load_digits().target).tolist()
    assert images.min() == 0.0 and images.max() == 16.0  # 4-bit pixel counts of the UCI data


def test_split_is_reproducible_stratified_and_standardised(data):
    images, digits = data
    a = split_digits(images, digits, np.random.default_rng(5), 0.25)
    b = split_digits(images, digits, np.random.default_rng(5), 0.25)
    c = split_digits(images, digits, np.random.default_rng(6), 0.25)
    for field in ("X_train", "X_test", "digits_train", "digits_test"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field  # bit for bit
    assert not np.array_equal(a.X_test, c.X_test)
    counts = np.bincount(digits, minlength=10)
    assert np.array_equal(np.bincount(a.digits_test, minlength=10), np.round(0.25 * counts).astype(int))
    assert a.X_train.shape[0] + a.X_test.shape[0] == 1797
    # the first 10 r test points hold r images of every digit (round-robin order)
    assert sorted(a.digits_test[:30].tolist()) == sorted(list(range(10)) * 3)
    # standardisation recomputed from the raw training images (exact up to float64 round-off)
    raw = a.X_train * a.scale + a.mean
    assert np.allclose(raw.mean(axis=0), a.mean, atol=1e-12)
    live = raw.std(axis=0) > 0
    assert np.allclose(a.X_train[:, live].std(axis=0), 1.0, atol=1e-12)
    assert np.all(a.X_train[:, ~live] == 0.0)  # constant pixels (the left border) become 0
    assert np.array_equal(a.y_train, np.where(a.digits_train % 2 == 0, 1, -1))


def test_centred_means_and_parity_averages():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 7))
    digits = np.arange(100) % 10
    mu = centred_means(X, digits)
    assert np.allclose(mu.sum(axis=0), 0.0, atol=1e-12)
    labels = parity_labels(np.arange(10))
    assert labels.tolist() == [1 if j in J_PLUS else -1 for j in range(10)]
    # |J+| = |J-| = 5 and centred means: the two parity averages are exact opposites
    assert np.allclose(mu[labels > 0].sum(axis=0), -mu[labels < 0].sum(axis=0), atol=1e-12)
    with pytest.raises(InvalidParameter, match="every digit"):
        centred_means(X[:5], digits[:5])


def test_reference_scores_of_the_idealised_nets_are_one():
    rng = np.random.default_rng(1)
    F = rng.standard_normal((10, 64))
    F -= F.mean(axis=0)
    ref = reference_scores(F, parity_labels(np.arange(10)))
    assert ref["averaging_net"]["averaging_score"] == pytest.approx(1.0, abs=1e-12)  # cos(w, w) = 1
    assert ref["decoupled_net"]["decoupling_score"] == pytest.approx(1.0, abs=1e-12)
    assert abs(ref["decoupled_net"]["averaging_score"]) < 1


def test_training_reaches_accuracy_on_a_subset(small_result):
    s = small_result
    assert s["data"]["n_train"] == 150 and s["data"]["n_test"] == 50
    # 300 GD steps on 150 standardised images: well above chance (0.5 parity, 0.1 for 10 digits);
    # the full data reach ~0.96-0.98 (R1.digits); the margin covers the subset's 50 test points
    assert s["parity"]["test_accuracy"] >= 0.8
    assert s["ten_class"]["test_accuracy_10way"] >= 0.7
    assert s["ten_class"]["readouts"]["argmax"]["test_accuracy"] >= 0.8
    assert s["parity"]["train_accuracy"] >= 0.95


def test_radii_are_exact_and_below_pgd(small_result):
    for r in (small_result["parity"]["radii"], *(v["radii"] for v in small_result["ten_class"]["readouts"].values())):
        l2 = r["l2"]
        # certified brackets: exact_radii closes each to its default relative gap 1e-6 (enumeration:
        # ~1e-13); the medians of the brackets' ends differ by at most the widest bracket
        assert 0.0 <= l2["max_point_gap"] <= 1e-6
        assert 0.0 <= l2["gap"] <= 1e-6 * max(l2["radii"])
        assert l2["verified"] == len(l2["radii"])
        # exact <= attack pointwise (solver error 1e-10 relative; 1e-8 margin)
        assert np.all(np.asarray(r["pgd"]["radii"]) >= np.asarray(l2["radii"]) * (1 - 1e-8))
        assert l2["median"] == pytest.approx(float(np.median(l2["radii"])))


def test_bracket_contract_uses_lower_upper_gap_status_when_present():
    class Exact:
        radius, verified, subproblems = 1.5, True, 4

    class Bracket(Exact):
        lower, upper, gap, status = 1.25, 1.75, 0.5, "bracketed"

    assert _bracket(Exact()) == (1.5, 1.5, 1.5, 0.0, "exact")
    assert _bracket(Bracket()) == (1.5, 1.25, 1.75, 0.5, "bracketed")


def test_linf_hook_reports_absence_and_uses_norm_inf_when_offered():
    res, why = linf_radii(lambda net, X, y, labels, readout, progress=None: [], None, None, None, None, "argmax")
    assert res is None and "norm='inf'" in why
    seen = {}

    def with_norm(net, X, y, labels, readout, norm="2", progress=None):
        seen["norm"] = norm
        return ["ok"]

    assert linf_radii(with_norm, None, None, None, None, "argmax") == (["ok"], None)
    assert seen["norm"] == "inf"


def test_cli_json_schema(data, capsys):
    argv = ["digits", "--json", "--seed", "2", "--images", "200", "--steps", "200", "--points", "6",
            "--pgd-steps", "5", "--pgd-restarts", "1"]
    assert main(argv) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["seed"] == 2 and s["config"]["seed"] == 2 and s["dataset"] == "digits"
    assert "_objects" not in s
    nets = {"parity": s["parity"], "argmax": s["ten_class"]["readouts"]["argmax"],
            "sum": s["ten_class"]["readouts"]["sum"]}
    for name, net in nets.items():
        assert 0.0 <= net["test_accuracy"] <= 1.0, name
        l2 = net["radii"]["l2"]
        assert {"median", "median_lower", "median_upper", "gap", "radii"} <= set(l2), name
        assert len(l2["radii"]) == 6 and 0.0 <= l2["gap"] <= 1e-6 * max(l2["radii"])
        assert "linf" in net["radii"]
    for net in (s["parity"], s["ten_class"]):
        assert -1.0 <= net["averaging_score"] <= 1.0 and -1.0 <= net["decoupling_score"] <= 1.0
        assert np.shape(net["cosines"]["digit_means"])[1] == 10
        assert np.shape(net["cosines"]["parity_averages"])[1] == 2
    assert set(s["comparison"]["median_l2"]) == {"parity", "argmax", "sum"}
    ra = s["robust_accuracy"]
    assert len(ra["radius"]) == len(ra["parity"]["exact"]) == len(ra["sum"]["pgd"])
    assert set(s["reference_scores"]) == {"averaging_net", "decoupled_net"}


def test_cli_text_summary(data, capsys):
    assert main(["digits", "--images", "200", "--steps", "100", "--points", "4", "--pgd-steps", "5"]) == 0
    out = capsys.readouterr().out
    assert "parity (binary)" in out and "10-class, argmax" in out and "10-class, sum" in out


@pytest.fixture
def no_sklearn(monkeypatch):
    """Make ``import sklearn`` fail as it does where the extra is not installed."""
    for name in list(sys.modules):
        if name == "sklearn" or name.startswith("sklearn."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # None in sys.modules: ImportError on import


def test_missing_extra_names_the_install_command(no_sklearn, capsys):
    with pytest.raises(MissingExtra, match=r"pip install 'featavg\[data\]'"):
        load_images()
    assert main(["digits", "--images", "100"]) == 2  # a usage error: exit 2, no traceback
    err = capsys.readouterr().err
    assert INSTALL in err and "Traceback" not in err


def test_missing_extra_fails_the_claims_check_with_the_message(no_sklearn):
    from featavg import _verify
    from featavg._registry import discover

    reg = discover()
    ctx = _verify.VerifyContext(quick=True, registry=reg)
    check = next(c for c in reg.checks() if c.id == "R1.digits.gain")
    row = _verify.run_check(check, ctx)
    assert row["status"] == "failed" and INSTALL in row["error"]


@pytest.mark.parametrize("kwargs,name", [
    ({"m": 0}, "m"), ({"points": 0}, "points"), ({"test_fraction": 1.0}, "test_fraction"),
    ({"images": 10}, "images"), ({"dataset": "mnist"}, "dataset"), ({"eta": 0.0}, "eta"),
    ({"linf_points": -1}, "linf_points"),
], ids=["m-0", "points-0", "test-fraction-1", "images-too-few", "no-mnist", "eta-0", "linf-points-negative"])
def test_invalid_configs_name_the_parameter(kwargs, name):
    with pytest.raises(InvalidParameter, match=name):
        DigitsConfig(**kwargs)


def test_subproblem_counts_match_the_solver():
    # featavg.simulate._robust: 2^m (binary), |J_-y| 2^h (argmax), 2^(h |J_-y|) (sum)
    assert subproblems_per_point(4, 1) == {"parity": 16, "argmax": 10, "sum": 32}


def _exit(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("argv", [["digits", "--dataset", "mnist"], ["digits", "--m", "0"],
                                  ["digits", "--test-fraction", "1.5"], ["digits", "--linf-points", "-1"]],
                         ids=["dataset", "m-zero", "test-fraction", "linf-points"])
def test_cli_usage_errors_exit_2(argv, capsys):
    assert _exit(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.slow
def test_gain_check_is_not_passed_when_the_fine_labels_are_replaced_by_parity(data, monkeypatch):
    """The R1.digits.gain row discriminates supervision, not only a broken solver (its named fault):
    a '10-class' net trained on the two parity classes (targets 0 and 1) loses the gain (measured:
    D = -0.55 at seed 0), so the rival 'no difference' is accepted and the row cannot pass."""
    import dataclasses

    import featavg._digits as digits_mod
    from featavg import _verify
    from featavg._registry import discover

    train = digits_mod.train_networks

    def coarse(split, config, rngs=None, progress=None):
        return train(dataclasses.replace(split, digits_train=np.where(split.y_train > 0, 0, 1)), config, rngs,
                     progress)

    monkeypatch.setattr(digits_mod, "train_networks", coarse)
    reg = discover()
    check = next(c for c in reg.checks() if c.id == "R1.digits.gain")
    row = _verify.run_check(check, _verify.VerifyContext(quick=True, registry=reg))
    assert row["status"] != "passed" and row["measured"] < 0, (row["status"], row["measured"])
