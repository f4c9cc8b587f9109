"""Validation metrics against sklearn and known cases; explanations in plain words."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from wholesystem.population import model as mdl


def test_metrics_on_well_calibrated_risks() -> None:
    rng = np.random.default_rng(7)
    p = rng.beta(1, 12, size=60_000)
    y = (rng.random(p.size) < p).astype(float)
    m = mdl.evaluate(y, p)
    assert m.auroc == pytest.approx(roc_auc_score(y, p))
    assert m.auprc == pytest.approx(average_precision_score(y, p))
    assert m.brier == pytest.approx(float(np.mean((p - y) ** 2)))
    assert m.calibration_slope == pytest.approx(1.0, abs=0.06)
    assert m.calibration_intercept == pytest.approx(0.0, abs=0.04)
    assert m.n == p.size
    assert m.events == int(y.sum())


def test_calibration_detects_overconfident_risks() -> None:
    rng = np.random.default_rng(8)
    p = rng.beta(1, 10, size=60_000)
    y = (rng.random(p.size) < p).astype(float)
    logit = np.log(p / (1 - p))
    sharp = 1 / (1 + np.exp(-(2 * logit)))  # twice as extreme: slope should be ~0.5
    slope, _ = mdl.calibration_fit(y, sharp)
    assert slope == pytest.approx(0.5, abs=0.05)
    _, intercept = mdl.calibration_fit(y, np.clip(p * 2, 0, 0.99))  # over-predicting
    assert intercept < -0.5


def test_top_k_sensitivity_and_ppv() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    p = np.linspace(1, 0.1, 10)
    t = mdl.top_k(y, p, 0.2)  # top 2: one admitted of 3
    assert t.ppv == pytest.approx(0.5)
    assert t.sensitivity == pytest.approx(1 / 3)


def test_single_class_gives_nan_not_an_error() -> None:
    m = mdl.evaluate(np.zeros(5), np.full(5, 0.1))
    assert math.isnan(m.auroc)
    assert math.isnan(m.calibration_slope)
    assert m.brier == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("feature", "value", "words"),
    [
        ("emergency_admissions_12m", 3, "3 emergency admissions in the last year"),
        ("emergency_admissions_12m", 1, "1 emergency admission in the last year"),
        ("emergency_admissions_12m", 0, None),
        ("efi", 0.38, "severe frailty (eFI 0.38)"),
        ("efi", 0.1, None),
        ("ltc_heart_failure", 1, "Heart failure"),
        ("ltc_heart_failure", 0, None),
        ("bed_days_12m", 12, "12 days in hospital in the last year"),
        ("care_home", 1, "lives in a care home"),
        ("egfr", 28, "eGFR 28 mL/min"),
        ("egfr", 80, None),
        ("hfrs", 7.25, "hospital frailty risk score 7.2"),
        ("age", 87, "aged 87"),
        ("something_else", 1, None),
        ("age", None, None),
    ],
)
def test_describe(feature: str, value: float | None, words: str | None) -> None:
    assert mdl.describe(feature, value) == words


def test_explanations_name_the_feature_that_drives_risk() -> None:
    rng = np.random.default_rng(3)
    n = 8000
    adm = rng.poisson(0.3, n).astype(float)
    noise = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * adm - 3)))).astype(float)
    x = np.column_stack([adm, noise])
    trained = mdl.train(
        x, y, [f"WP{i:010d}" for i in range(n)], ["emergency_admissions_12m", "noise"]
    )
    risky = np.array([[4.0, 0.0], [0.0, 0.0]])
    reasons = mdl.explain(trained, risky)
    assert reasons[0][0] == "4 emergency admissions in the last year"
    assert reasons[1] == []
    p = trained.predict(risky)
    assert p[0] > p[1]


def test_calibration_bins_cut_the_ranked_people_into_equal_groups() -> None:
    p = np.linspace(0.01, 0.2, 23)[::-1].copy()  # highest risk first: the bins sort it
    y = np.zeros(23)
    y[[0, 1, 22]] = 1.0  # two of the highest risks and the lowest were admitted
    bins = mdl.calibration_bins(y, p, 10)
    assert [b.n for b in bins] == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert bins[0].lower == pytest.approx(0.01)
    assert bins[-1].upper == pytest.approx(0.2)
    assert bins[0].events == 1
    assert bins[-1].events == 2
    assert bins[0].mean_predicted == pytest.approx(p[-3:].mean())
    assert bins[-1].observed == 1.0
    assert sum(b.n for b in bins) == 23
    assert mdl.calibration_bins(y[:9], p[:9], 10) == ()
    m = mdl.evaluate(y, p, bins=10)
    assert m.calibration == bins
    assert mdl.evaluate(y, p).calibration == ()  # subgroups: no table


def test_monotone_constraints_cover_counts_conditions_and_frailty() -> None:
    names = ["age", "emergency_admissions_12m", "ltc_copd", "efi", "imd_decile", "hba1c"]
    assert mdl.monotone_constraints(names) == [0, 1, 1, 1, 0, 0]


def test_more_admissions_never_lower_the_risk() -> None:
    # training data where two prior admissions happen to look safer than one: the
    # constraint keeps the fitted risk rising with the count anyway
    rng = np.random.default_rng(5)
    n = 12_000
    adm = rng.integers(0, 5, n).astype(float)
    base = np.select([adm == 0, adm == 1, adm == 2], [-3.0, -1.0, -2.0], -0.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-base))).astype(float)
    x = np.column_stack([adm, rng.normal(size=n)])
    trained = mdl.train(x, y, [f"MP{i:010d}" for i in range(n)], ["emergency_admissions_12m", "z"])
    grid = np.column_stack([np.arange(5.0), np.zeros(5)])
    risk = trained.predict(grid)
    assert all(b >= a for a, b in itertools.pairwise(risk))
    assert risk[4] > risk[0] + 0.3


def test_calibrated_risk_keeps_the_ranking_and_the_level() -> None:
    rng = np.random.default_rng(8)
    n = 20_000
    x = rng.normal(size=(n, 3))
    p_true = 1 / (1 + np.exp(-(-2.5 + x[:, 0] + 0.5 * x[:, 1])))
    y = (rng.random(n) < p_true).astype(float)
    trained = mdl.train(x, y, [f"CP{i:010d}" for i in range(n)], ["a", "b", "c"])
    assert trained.calibration["method"] == "platt"
    p = trained.predict(x)
    # strictly increasing in the margin: no ties made, so the AUROC is the margin's
    assert roc_auc_score(y, p) == pytest.approx(roc_auc_score(y, trained.margin(x)), abs=1e-12)
    assert p.mean() == pytest.approx(y.mean(), rel=0.05)
