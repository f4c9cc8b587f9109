"""The metric catalogue: complete definitions, documented, and the failure rules."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from wholesystem.metrics.catalogue import (
    CATALOGUE,
    Comparison,
    FailureKind,
    Metric,
    Target,
    by_id,
    is_failing,
    meets_target,
)
from wholesystem.metrics.spc import Improvement, PointType

DOC = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
KNOWN_SOURCES = {
    "gp_patients", "gp_events", "apc", "ecds", "opa", "csds", "mhsds", "asc", "deaths",
    "finance", "workforce", "beds", "population", "governance",
}  # fmt: skip


def test_at_least_twenty_metrics_with_unique_ids() -> None:
    ids = [m.id for m in CATALOGUE]
    assert len(ids) >= 20
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("metric", CATALOGUE, ids=lambda m: m.id)
def test_every_metric_is_fully_defined(metric: Metric) -> None:
    for text in (metric.name, metric.domain, metric.definition, metric.numerator,
                 metric.denominator, metric.target.basis, metric.reference):  # fmt: skip
        assert text.strip(), metric.id
    assert metric.sources
    assert set(metric.sources) <= KNOWN_SOURCES
    assert metric.failure.periods >= 1
    # A target that asks for more of something must agree with the improvement direction.
    if metric.improvement is Improvement.up:
        assert metric.target.comparison is Comparison.at_least
    if metric.improvement is Improvement.down:
        assert metric.target.comparison is Comparison.at_most


@pytest.mark.parametrize("metric", CATALOGUE, ids=lambda m: m.id)
def test_every_metric_is_documented(metric: Metric) -> None:
    assert f"## `{metric.id}`: {metric.name}" in DOC
    assert metric.definition in DOC
    assert f"| target | {metric.target.text} ({metric.target.basis}) |" in DOC
    assert f"| failure | {metric.failure.text} |" in DOC
    assert f"| lowest level | {metric.lowest_level.value} |" in DOC


def test_by_id() -> None:
    assert by_id("ae_4hr").target.value == Decimal("78")
    with pytest.raises(KeyError, match="unknown metric 'nope'"):
        by_id("nope")


@pytest.mark.parametrize(
    ("value", "comparison", "expected"),
    [
        (78.0, Comparison.at_least, True),  # on the target meets it
        (77.99, Comparison.at_least, False),
        (Decimal("78.01"), Comparison.at_least, True),
        (92.0, Comparison.at_most, True),
        (92.1, Comparison.at_most, False),
    ],
)
def test_meets_target(value: float | Decimal, comparison: Comparison, expected: bool) -> None:
    limit = Decimal("78") if comparison is Comparison.at_least else Decimal("92")
    assert meets_target(value, Target(limit, comparison, "test")) is expected


C, X = PointType.common_cause, PointType.special_cause_concern


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([80, 77, 76, 75], True),  # the last three miss
        ([77, 76, 79, 75], False),  # broken by a pass
        ([77, 76], False),  # too short to fail yet
        ([77, 78, 77, 77], False),
    ],
)
def test_target_missed_rule(values: list[float], expected: bool) -> None:
    metric = by_id("ae_4hr")
    assert metric.failure.kind is FailureKind.target_missed
    assert is_failing(metric, values, [C] * len(values)) is expected


@pytest.mark.parametrize(
    ("types", "expected"),
    [([C, X, X], True), ([X, C, X], False), ([X], False), ([C, C, C], False)],
)
def test_special_cause_concern_rule(types: list[PointType], expected: bool) -> None:
    metric = by_id("emergency_admissions_rate")
    assert metric.failure.kind is FailureKind.special_cause_concern
    assert is_failing(metric, [1.0] * len(types), types) is expected
