"""Pure parts: the SVG chart and icons, the narrative, rebases, levels and formats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

import pytest

from wholesystem.metrics.catalogue import Unit, by_id
from wholesystem.metrics.charts import (
    assurance_icon_svg,
    nice_ticks,
    spc_chart_svg,
    variation_icon_svg,
)
from wholesystem.metrics.presenters import (
    analyse_series,
    format_period,
    format_value,
    narrative,
    valid_at,
)
from wholesystem.metrics.snapshots import MetricPoint
from wholesystem.metrics.spc import AssuranceIcon, Improvement, VariationIcon, analyse

NS = "{http://www.w3.org/2000/svg}"
DATES = [date(2024 + (m // 12), m % 12 + 1, 1) for m in range(24)]


def _parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)  # noqa: S314 - our own output


def test_chart_draws_limits_per_rebase_group_target_and_marked_points() -> None:
    values = [50.0, 52, 49, 51, 50, 53, 48, 50, 51, 49, 52, 50, 60, 61, 62, 63, 64, 65, 66, 67]
    values += [30.0, 66, 65, 64]
    result = analyse(DATES, values, improvement=Improvement.up, target=55, rebase_at=[DATES[12]])
    svg = spc_chart_svg(result, chart_id="c1", title="T & co", description="D <x>", y_label="%")
    root = _parse(svg)
    assert root.findtext(f"{NS}title") == "T & co"
    assert root.findtext(f"{NS}desc") == "D <x>"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert "style=" not in svg
    # Two groups: two mean lines and four limit lines, one target line, one polyline each.
    assert len(root.findall(f".//{NS}line[@class='ws-spc-mean']")) == 2
    assert len(root.findall(f".//{NS}line[@class='ws-spc-limit']")) == 4
    assert len(root.findall(f".//{NS}line[@class='ws-spc-target']")) == 1
    assert len(root.findall(f"{NS}polyline[@class='ws-spc-line']")) == 2
    # The low outlier (concern, below) is a triangle; improvement points are squares.
    assert any(p.get("fill") == "#fab428" for p in root.iter(f"{NS}polygon"))
    assert any(r.get("fill") == "#289de0" for r in root.iter(f"{NS}rect"))
    # Dated x axis, and a legend naming each marker.
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "Jan 2024" in texts
    assert "Dec 2025" in texts
    assert "Improvement" in texts


def test_icons_carry_letters_and_names() -> None:
    concern = _parse(variation_icon_svg(VariationIcon.concern_high))
    assert concern.get("aria-label") == "Special cause concern (higher)"
    assert [t.text for t in concern.iter(f"{NS}text")] == ["H"]
    common = _parse(variation_icon_svg(VariationIcon.common_cause))
    assert list(common.iter(f"{NS}text")) == []
    assert list(common.iter(f"{NS}polyline"))
    fail = _parse(assurance_icon_svg(AssuranceIcon.consistent_fail))
    assert [t.text for t in fail.iter(f"{NS}text")] == ["F"]
    assert assurance_icon_svg(None) == ""


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    ticks = nice_ticks(67.3, 84.1)
    assert ticks[0] <= 67.3
    assert ticks[-1] >= 84.1
    flat = nice_ticks(5, 5)
    assert flat[0] < 5 < flat[-1]


def _points(values: list[float | None]) -> list[MetricPoint]:
    return [
        MetricPoint(d, None, None, None if v is None else Decimal(str(v)))
        for d, v in zip(DATES, values, strict=False)
    ]


def test_narrative_reads_the_spc_result() -> None:
    metric = by_id("ae_4hr")
    values: list[float | None] = [80.0, 81, 79, 82, 80, 81, 79, 80, 82, 81, 80, 79, 70, 69, 68]
    view = analyse_series(metric, _points(values))
    assert view.failing
    text = narrative(view)
    assert text.startswith("Special-cause concern: 3 months below the lower limit")
    assert "Failing: misses the target for 3 consecutive periods." in text
    steady = analyse_series(metric, _points([80.0, 81, 79, 82, 80, 81]))
    assert narrative(steady).startswith("Common-cause variation")
    assert not steady.failing
    few = analyse_series(metric, _points([80.0]))
    assert few.spc is None
    assert "at least 2 values" in narrative(few)


def test_rebases_snap_to_the_series_and_wait_for_two_points() -> None:
    metric = by_id("ae_4hr")
    values: list[float | None] = [80.0 + (i % 3) for i in range(12)]
    view = analyse_series(metric, _points(values), [date(2024, 6, 15), date(2024, 12, 1)])
    assert view.rebases == (date(2024, 7, 1),)
    assert view.unused_rebases == (date(2024, 12, 1),)
    assert view.spc is not None
    assert len(view.spc.groups) == 2


def test_missing_values_are_skipped_by_spc_but_kept_in_the_table() -> None:
    view = analyse_series(by_id("ae_4hr"), _points([80.0, None, 81, 79]))
    assert len(view.points) == 4
    assert view.spc is not None
    assert len(view.spc.points) == 3


@pytest.mark.parametrize(
    ("metric_id", "kind", "valid"),
    [
        ("ae_4hr", "system", True),
        ("ae_4hr", "organisation", True),
        ("ae_4hr", "place", False),
        ("readmissions_30d", "place", True),
        ("readmissions_30d", "neighbourhood", False),
        ("emergency_admissions_rate", "neighbourhood", True),
        ("emergency_admissions_rate", "practice", False),
    ],
)
def test_metrics_are_never_offered_below_their_lowest_level(
    metric_id: str, kind: str, valid: bool
) -> None:
    assert valid_at(by_id(metric_id), kind) is valid


def test_formats() -> None:
    assert format_value(Unit.percent, Decimal("78.456")) == "78.5%"
    assert format_value(Unit.pounds, Decimal("-1234567")) == "-£1.23m"
    assert format_value(Unit.pounds, Decimal("-480000")) == "-£480k"
    assert (
        format_value(Unit.days, 5.25) == "5.2 days" or format_value(Unit.days, 5.25) == "5.3 days"
    )
    assert format_value(Unit.number, Decimal(12)) == "12"
    assert format_period(date(2026, 3, 2), by_id("ae_4hr").frequency) == "March 2026"
    assert (
        format_period(date(2026, 1, 1), by_id("deaths_in_hospital").frequency) == "Jan to Mar 2026"
    )
