"""Shape published snapshot values for the dashboard, metric pages, board report and CSVs.

Pure functions over plain data (snapshot points, the catalogue, the footprint as an
:class:`AreaIndex`) plus :func:`area_index`, the one reader of the footprint. SPC runs here,
per metric and area, with the agreed rebase dates; the failure rule is the catalogue's.
Templates only loop over what these return.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from wholesystem.metrics.catalogue import (
    CATALOGUE,
    Frequency,
    Metric,
    MetricLevel,
    Unit,
    is_failing,
)
from wholesystem.metrics.charts import (
    ASSURANCE_LABELS,
    POINT_STYLES,
    VARIATION_LABELS,
    assurance_icon_svg,
    spc_chart_svg,
    variation_icon_svg,
)
from wholesystem.metrics.snapshots import MetricPoint, SnapshotInfo, ValueChange
from wholesystem.metrics.spc import (
    MIN_GROUP_POINTS,
    AssuranceIcon,
    PointType,
    Rule,
    Side,
    SpcError,
    SpcPoint,
    SpcResult,
    VariationIcon,
    analyse,
)
from wholesystem.times import uk_stamp

__all__ = [
    "COMPARE_CSV_COLUMNS",
    "DASHBOARD_CSV_COLUMNS",
    "METRIC_CSV_COLUMNS",
    "SNAPSHOT_CSV_COLUMNS",
    "AreaIndex",
    "AreaRef",
    "ChildRow",
    "CompareRow",
    "DataRow",
    "DomainTiles",
    "SeriesView",
    "SnapshotRow",
    "Tile",
    "analyse_series",
    "area_index",
    "area_options",
    "child_rows",
    "compare_csv_rows",
    "compare_rows",
    "dashboard_csv_rows",
    "dashboard_tiles",
    "data_rows",
    "decimal_text",
    "format_count",
    "format_period",
    "format_value",
    "metric_chart",
    "metric_csv_rows",
    "narrative",
    "not_valid_message",
    "query_string",
    "snapshot_csv_rows",
    "snapshot_rows",
    "target_text",
    "tile_for",
    "valid_at",
]

KIND_LABELS = {
    "system": "System",
    "place": "Place",
    "neighbourhood": "Neighbourhood (PCN)",
    "practice": "GP practice",
    "organisation": "Organisation",
}
_KIND_PLURALS = {
    "system": "the system",
    "place": "places",
    "neighbourhood": "neighbourhoods",
    "practice": "GP practices",
    "organisation": "single organisations",
}
_LEVEL_WORDS = {
    MetricLevel.system: "the whole system only",
    MetricLevel.place: "place",
    MetricLevel.organisation: "organisation",
    MetricLevel.neighbourhood: "neighbourhood",
}
_PERIOD_WORDS = {
    Frequency.monthly: ("month", "months"),
    Frequency.weekly: ("week", "weeks"),
    Frequency.quarterly: ("quarter", "quarters"),
}
_POINT_LABELS = {
    PointType.common_cause: "Common cause",
    PointType.special_cause_improvement: "Special cause: improvement",
    PointType.special_cause_concern: "Special cause: concern",
    PointType.special_cause_neutral_high: "Special cause: neither (high)",
    PointType.special_cause_neutral_low: "Special cause: neither (low)",
}


# --------------------------------------------------------------------------- the footprint


@dataclass(frozen=True)
class AreaRef:
    """An area of the footprint or a partner organisation, as the dashboard filters by it."""

    code: str
    name: str
    kind: str  # system, place, neighbourhood, practice, organisation
    parent: str | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class AreaIndex:
    """The footprint tree and the partner organisations, by code."""

    system: AreaRef | None
    areas: Mapping[str, AreaRef]
    children: Mapping[str, tuple[str, ...]]
    organisations: Mapping[str, AreaRef] = field(default_factory=dict)

    def get(self, code: str) -> AreaRef | None:
        """The area with this code (footprint areas first, then organisations)."""
        return self.areas.get(code) or self.organisations.get(code)

    def path(self, code: str) -> list[AreaRef]:
        """From the system down to ``code`` (an organisation hangs off the system)."""
        out: list[AreaRef] = []
        node = self.get(code)
        while node is not None:
            out.append(node)
            node = self.get(node.parent) if node.parent else None
        return list(reversed(out))

    def child_areas(self, code: str) -> list[AreaRef]:
        """Footprint areas directly beneath ``code``."""
        return [self.areas[c] for c in self.children.get(code, ())]


# The footprint changes only when a footprint file is loaded (a recorded pipeline run), yet
# every dashboard request needs the whole tree: read it once per database and load.
_AREA_INDEXES: weakref.WeakKeyDictionary[Engine, tuple[tuple[object, ...], AreaIndex]] = (
    weakref.WeakKeyDictionary()
)
_AREA_INDEX_LOCK = threading.Lock()


def area_index(session: Session) -> AreaIndex:
    """The footprint tree and the partner organisations as an :class:`AreaIndex`.

    Kept per database engine until the next footprint load (a ``footprint`` pipeline run
    starting or finishing), so a request pays one small query, not the tree's.
    """
    from wholesystem.footprint.pipeline import FOOTPRINT_STEP
    from wholesystem.store.models import PipelineRun

    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    version = tuple(
        session.execute(
            select(func.count(), func.max(PipelineRun.id), func.max(PipelineRun.finished_at)).where(
                PipelineRun.step == FOOTPRINT_STEP
            )
        ).one()
    )
    with _AREA_INDEX_LOCK:
        cached = _AREA_INDEXES.get(engine)
    if cached is not None and cached[0] == version:
        return cached[1]
    index = _read_area_index(session)
    with _AREA_INDEX_LOCK:
        _AREA_INDEXES[engine] = (version, index)
    return index


def _read_area_index(session: Session) -> AreaIndex:
    from wholesystem.footprint.queries import footprint_tree, list_organisations

    tree = footprint_tree(session)
    if tree is None:
        return AreaIndex(None, {}, {}, {})
    areas: dict[str, AreaRef] = {}
    children: dict[str, tuple[str, ...]] = {}
    for node in tree.walk():
        areas[node.code] = AreaRef(node.code, node.name, node.level.value, node.parent_code)
        children[node.code] = tuple(c.code for c in node.children)
    orgs = {
        o.code: AreaRef(o.code, o.name, "organisation", tree.code)
        for o in list_organisations(session)
        if o.code not in areas
    }
    return AreaIndex(areas[tree.code], areas, children, orgs)


def valid_at(metric: Metric, kind: str) -> bool:
    """Whether ``metric`` is valid for an area of this kind (never below its lowest level).

    Trust-reported metrics have no native place or neighbourhood split; population-based
    ones are valid down to their lowest level of the footprint.
    """
    level = metric.lowest_level
    if kind == "system":
        return True
    if kind == "place":
        return level in (MetricLevel.place, MetricLevel.neighbourhood)
    if kind == "neighbourhood":
        return level is MetricLevel.neighbourhood
    if kind == "organisation":
        return level is MetricLevel.organisation
    return False


def not_valid_message(metric: Metric, kind: str) -> str:
    """Why a metric is not shown for an area of this kind."""
    lowest = _LEVEL_WORDS[metric.lowest_level]
    if metric.lowest_level is MetricLevel.organisation:
        return (
            f"Not measured for {_KIND_PLURALS[kind]}: this metric is reported by each "
            "organisation and for the whole system."
        )
    return f"Not measured for {_KIND_PLURALS[kind]}: this metric is valid down to {lowest} level."


def area_options(index: AreaIndex, chosen: str | None) -> list[dict[str, object]]:
    """Items for the area filter: the system, its places and neighbourhoods, organisations."""
    items: list[dict[str, object]] = []
    if index.system is None:
        return items
    for ref in [index.system, *_walk_places(index)]:
        label = ref.name if ref.kind == "system" else f"{ref.kind_label}: {ref.name}"
        items.append({"value": ref.code, "text": label, "selected": ref.code == chosen})
    for ref in sorted(index.organisations.values(), key=lambda r: r.name):
        items.append(
            {"value": ref.code, "text": f"Organisation: {ref.name}", "selected": ref.code == chosen}
        )
    return items


def _walk_places(index: AreaIndex) -> list[AreaRef]:
    assert index.system is not None
    out: list[AreaRef] = []
    for place in index.child_areas(index.system.code):
        out.append(place)
        out.extend(c for c in index.child_areas(place.code) if c.kind == "neighbourhood")
    return out


def query_string(**params: object) -> str:
    """``?a=1&b=2`` from the parameters that are set (empty when none are)."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"?{urlencode(kept)}" if kept else ""


# ------------------------------------------------------------------------------ formatting


def decimal_text(value: Decimal | float | None) -> str:
    """A plain number for CSV: no exponent, no trailing zeros; empty for None."""
    if value is None:
        return ""
    d = value if isinstance(value, Decimal) else Decimal(repr(value))
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def format_value(unit: Unit, value: Decimal | float | None) -> str:
    """A value as a board paper shows it: 78.4%, 9.2, 5.3 days, 12, -£1.2m."""
    if value is None:
        return "no value"
    v = float(value)
    if unit is Unit.percent:
        return f"{v:.1f}%"
    if unit is Unit.days:
        return f"{v:,.1f} days"
    if unit is Unit.number:
        return f"{v:,.0f}"
    if unit is Unit.pounds:
        sign = "-" if v < 0 else ""
        a = abs(v)
        if a >= 1_000_000:
            return f"{sign}£{a / 1_000_000:,.2f}m"
        if a >= 10_000:
            return f"{sign}£{a / 1_000:,.0f}k"
        return f"{sign}£{a:,.0f}"
    return f"{v:,.1f}"


def _axis_format(unit: Unit) -> Callable[[float], str]:
    def fmt(v: float) -> str:
        if unit is Unit.percent:
            return f"{v:g}%"
        if unit is Unit.pounds:
            return format_value(unit, v)
        return f"{v:,g}"

    return fmt


def _y_label(metric: Metric) -> str:
    return {
        Unit.percent: "Per cent",
        Unit.per_1000: "Per 1,000 registered people",
        Unit.per_100k_65: "Per 100,000 aged 65+",
        Unit.days: "Days",
        Unit.number: "Count",
        Unit.pounds: "Pounds (£)",
    }[metric.unit]


def format_count(value: Decimal | None) -> str:
    """A numerator or denominator for a table: whole numbers with separators."""
    if value is None:
        return "—"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{float(value):,.2f}"


def format_period(period: date, frequency: Frequency) -> str:
    """March 2026, w/c 2 March 2026, or Jan to Mar 2026."""
    if frequency is Frequency.weekly:
        return f"w/c {period.day} {period.strftime('%B %Y')}"
    if frequency is Frequency.quarterly:
        end_month = (period.month + 1) % 12 + 1
        end = date(period.year + (1 if period.month > 10 else 0), end_month, 1)
        return f"{period.strftime('%b')} to {end.strftime('%b %Y')}"
    return period.strftime("%B %Y")


# ------------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class SeriesView:
    """One metric for one area: its points, SPC (when there are enough) and failure."""

    metric: Metric
    points: tuple[MetricPoint, ...]
    spc: SpcResult | None
    spc_note: str | None
    failing: bool
    rebases: tuple[date, ...] = ()
    unused_rebases: tuple[date, ...] = ()

    @property
    def latest(self) -> MetricPoint | None:
        """The latest point with a value."""
        for point in reversed(self.points):
            if point.value is not None:
                return point
        return None

    def spc_point(self, period: date) -> SpcPoint | None:
        if self.spc is None:
            return None
        for p in self.spc.points:
            if p.date == period:
                return p
        return None


def _usable_rebases(
    dates: Sequence[date], agreed: Iterable[date]
) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """Agreed rebase dates placed on the series: each starts at the first period on or after
    it; one that would leave a group under ``MIN_GROUP_POINTS`` waits (reported as unused)."""
    used: list[date] = []
    unused: list[date] = []
    start = 0
    for when in sorted(set(agreed)):
        at = next((i for i, d in enumerate(dates) if d >= when), None)
        if at is None or at == 0:
            if at is None:
                unused.append(when)
            continue
        if at - start < MIN_GROUP_POINTS or len(dates) - at < MIN_GROUP_POINTS:
            unused.append(when)
            continue
        used.append(dates[at])
        start = at
    return tuple(used), tuple(unused)


def analyse_series(
    metric: Metric, points: Sequence[MetricPoint], rebases: Iterable[date] = ()
) -> SeriesView:
    """SPC over the points that have a value, with the agreed rebases, and the failure rule."""
    valued = [p for p in points if p.value is not None]
    dates = [p.period for p in valued]
    values = [float(p.value) for p in valued if p.value is not None]
    used, unused = _usable_rebases(dates, rebases)
    result: SpcResult | None = None
    note: str | None = None
    if len(valued) < MIN_GROUP_POINTS:
        note = f"SPC needs at least {MIN_GROUP_POINTS} values; there are {len(valued)}."
    else:
        try:
            result = analyse(
                dates,
                values,
                improvement=metric.improvement,
                target=float(metric.target.value),
                rebase_at=used,
            )
        except SpcError as exc:  # bad input is reported on the page, never a crash
            note = f"SPC could not be computed: {exc}"
    types = [p.point_type for p in result.points] if result else []
    failing = is_failing(metric, [p.value for p in valued if p.value is not None], types)
    return SeriesView(metric, tuple(points), result, note, failing, used, unused)


def narrative(view: SeriesView) -> str:
    """One line a board paper can carry, generated from the SPC result and the target.

    For example: "Special-cause concern: 3 months above the upper limit; will consistently
    miss the target."
    """
    metric = view.metric
    one, many = _PERIOD_WORDS[metric.frequency]
    if view.spc is None:
        base = view.spc_note or "No values."
        return f"{base} Failing the agreed rule." if view.failing else base
    points = view.spc.points
    last = points[-1]
    parts: list[str] = []
    if last.point_type is PointType.common_cause:
        parts.append("Common-cause variation: no sign of a change")
    else:
        kind = {
            PointType.special_cause_improvement: "Special-cause improvement",
            PointType.special_cause_concern: "Special-cause concern",
        }.get(last.point_type, "Special cause (neither better nor worse)")
        parts.append(f"{kind}: {_signal_text(points, one, many)}")
    if view.spc.assurance_icon is AssuranceIcon.consistent_pass:
        parts.append("will consistently meet the target")
    elif view.spc.assurance_icon is AssuranceIcon.consistent_fail:
        parts.append("will consistently miss the target")
    elif view.spc.assurance_icon is AssuranceIcon.inconsistent:
        parts.append("target not met consistently (it will be hit and missed at random)")
    text = "; ".join(parts) + "."
    if view.failing:
        text += f" Failing: {metric.failure.text}."
    return text


def _signal_text(points: Sequence[SpcPoint], one: str, many: str) -> str:
    last = points[-1]
    k = 0
    for p in reversed(points):
        if p.point_type is not last.point_type or p.rule is not last.rule:
            break
        k += 1
    count = f"{k} {one if k == 1 else many}"
    high = last.side is Side.high
    if last.rule is Rule.outside_limits:
        where = "above the upper limit" if high else "below the lower limit"
        return f"the latest {one} is {where}" if k == 1 else f"{count} {where}"
    if last.rule is Rule.trend:
        return f"{count} each {'higher' if high else 'lower'} than the one before"
    if last.rule is Rule.two_of_three:
        return f"two of the last three {many} close to the {'upper' if high else 'lower'} limit"
    return f"{count} {'above' if high else 'below'} the mean"


# ------------------------------------------------------------------------------- the tiles


@dataclass(frozen=True)
class Tile:
    """One metric on the dashboard for one area."""

    metric_id: str
    name: str
    domain: str
    href: str
    status: str  # ok, no_data, not_valid
    message: str
    value_text: str
    period_text: str
    unit_text: str
    target_text: str
    variation: VariationIcon | None
    variation_svg: Markup
    variation_label: str
    assurance: AssuranceIcon | None
    assurance_svg: Markup
    assurance_label: str
    failing: bool
    failure_text: str
    narrative: str
    latest_value: Decimal | None = None
    latest_period: date | None = None


@dataclass(frozen=True)
class DomainTiles:
    domain: str
    slug: str
    tiles: tuple[Tile, ...]

    @property
    def failing_count(self) -> int:
        return sum(1 for t in self.tiles if t.failing)


def target_text(metric: Metric) -> str:
    """'at least 78.0%': the target in the metric's unit."""
    word = "at least" if metric.target.comparison.value == "at_least" else "at most"
    return f"{word} {format_value(metric.unit, metric.target.value)}"


def _unit_text(metric: Metric) -> str:
    return metric.unit.value


def tile_for(
    metric: Metric,
    area: AreaRef,
    points: Sequence[MetricPoint] | None,
    rebases: Iterable[date],
    *,
    link_query: str,
) -> Tile:
    """The tile of one metric for one area (saying why when there is nothing to show)."""
    href = f"/dashboard/metrics/{metric.id}{link_query}"
    if not valid_at(metric, area.kind):
        return _empty_tile(metric, href, "not_valid", not_valid_message(metric, area.kind))
    view = analyse_series(metric, points or (), rebases)
    latest = view.latest
    if latest is None:
        return _empty_tile(metric, href, "no_data", f"No values for {area.name} in this snapshot.")
    spc = view.spc
    v_icon = spc.variation_icon if spc else None
    a_icon = spc.assurance_icon if spc else None
    return Tile(
        metric_id=metric.id,
        name=metric.name,
        domain=metric.domain,
        href=href,
        status="ok",
        message=view.spc_note or "",
        value_text=format_value(metric.unit, latest.value),
        period_text=format_period(latest.period, metric.frequency),
        unit_text=_unit_text(metric),
        target_text=target_text(metric),
        variation=v_icon,
        variation_svg=variation_icon_svg(v_icon) if v_icon else Markup(""),
        variation_label=VARIATION_LABELS[v_icon] if v_icon else "",
        assurance=a_icon,
        assurance_svg=assurance_icon_svg(a_icon),
        assurance_label=ASSURANCE_LABELS[a_icon] if a_icon else "",
        failing=view.failing,
        failure_text=metric.failure.text,
        narrative=narrative(view),
        latest_value=latest.value,
        latest_period=latest.period,
    )


def _empty_tile(metric: Metric, href: str, status: str, message: str) -> Tile:
    return Tile(
        metric_id=metric.id,
        name=metric.name,
        domain=metric.domain,
        href=href,
        status=status,
        message=message,
        value_text="",
        period_text="",
        unit_text=_unit_text(metric),
        target_text=target_text(metric),
        variation=None,
        variation_svg=Markup(""),
        variation_label="",
        assurance=None,
        assurance_svg=Markup(""),
        assurance_label="",
        failing=False,
        failure_text=metric.failure.text,
        narrative="",
    )


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def dashboard_tiles(
    area: AreaRef,
    data: Mapping[str, Sequence[MetricPoint]],
    rebases: Mapping[str, Sequence[date]],
    *,
    link_query: str = "",
    metrics: Sequence[Metric] = CATALOGUE,
) -> list[DomainTiles]:
    """Every metric's tile for ``area``, grouped by domain in catalogue order."""
    groups: dict[str, list[Tile]] = {}
    for metric in metrics:
        tile = tile_for(
            metric, area, data.get(metric.id), rebases.get(metric.id, ()), link_query=link_query
        )
        groups.setdefault(metric.domain, []).append(tile)
    return [DomainTiles(d, _slug(d), tuple(ts)) for d, ts in groups.items()]


DASHBOARD_CSV_COLUMNS = (
    "snapshot_id",
    "data_cut_off",
    "area_code",
    "area_name",
    "domain",
    "metric_id",
    "metric",
    "period",
    "value",
    "unit",
    "target",
    "variation",
    "assurance",
    "failing",
    "status",
)


def dashboard_csv_rows(
    snapshot: SnapshotInfo, area: AreaRef, groups: Sequence[DomainTiles]
) -> list[list[object]]:
    """The dashboard's tiles as CSV rows (one per metric, the same filters)."""
    rows: list[list[object]] = []
    for group in groups:
        for t in group.tiles:
            rows.append(
                [
                    snapshot.id,
                    snapshot.data_cut_off.isoformat(),
                    area.code,
                    area.name,
                    t.domain,
                    t.metric_id,
                    t.name,
                    t.latest_period.isoformat() if t.latest_period else "",
                    decimal_text(t.latest_value),
                    t.unit_text,
                    t.target_text,
                    t.variation.value if t.variation else "",
                    t.assurance.value if t.assurance else "",
                    "yes" if t.failing else "no",
                    t.status,
                ]
            )
    return rows


# --------------------------------------------------------------------------- a metric page


@dataclass(frozen=True)
class DataRow:
    period: date
    period_text: str
    numerator: str
    denominator: str
    value: str
    mean: str
    lpl: str
    upl: str
    point_type: str
    point_label: str
    special: bool


def data_rows(view: SeriesView) -> list[DataRow]:
    """The data behind the chart: one row per period, with its SPC limits and point type."""
    unit = view.metric.unit
    rows: list[DataRow] = []
    for point in view.points:
        sp = view.spc_point(point.period)
        rows.append(
            DataRow(
                period=point.period,
                period_text=format_period(point.period, view.metric.frequency),
                numerator=format_count(point.numerator),
                denominator=format_count(point.denominator),
                value=format_value(unit, point.value) if point.value is not None else "—",
                mean=format_value(unit, sp.mean) if sp else "—",
                lpl=format_value(unit, sp.lpl) if sp else "—",
                upl=format_value(unit, sp.upl) if sp else "—",
                point_type=sp.point_type.value if sp else "",
                point_label=_POINT_LABELS[sp.point_type] if sp else "No SPC",
                special=bool(sp and sp.special_cause),
            )
        )
    return rows


METRIC_CSV_COLUMNS = (
    "snapshot_id",
    "metric_id",
    "area_code",
    "period",
    "numerator",
    "denominator",
    "value",
    "mean",
    "lpl",
    "upl",
    "point_type",
)


def metric_csv_rows(snapshot: SnapshotInfo, area: AreaRef, view: SeriesView) -> list[list[object]]:
    """The metric page's data table, unformatted."""
    out: list[list[object]] = []
    for point in view.points:
        sp = view.spc_point(point.period)
        out.append(
            [
                snapshot.id,
                view.metric.id,
                area.code,
                point.period.isoformat(),
                decimal_text(point.numerator),
                decimal_text(point.denominator),
                decimal_text(point.value),
                repr(sp.mean) if sp else "",
                repr(sp.lpl) if sp else "",
                repr(sp.upl) if sp else "",
                sp.point_type.value if sp else "",
            ]
        )
    return out


def metric_chart(view: SeriesView, area: AreaRef, *, chart_id: str) -> Markup | None:
    """The SPC chart of one metric for one area, or None without SPC."""
    spc = view.spc
    if spc is None:
        return None
    metric = view.metric
    first, last = spc.points[0], spc.points[-1]
    latest = spc.latest.limits
    specials = sum(1 for p in spc.points if p.special_cause)
    desc = (
        f"{len(spc.points)} {_PERIOD_WORDS[metric.frequency][1]} from "
        f"{format_period(first.date, metric.frequency)} to "
        f"{format_period(last.date, metric.frequency)}. Latest value "
        f"{format_value(metric.unit, last.value)}; mean {format_value(metric.unit, latest.mean)}, "
        f"process limits {format_value(metric.unit, latest.lpl)} to "
        f"{format_value(metric.unit, latest.upl)}; target {target_text(metric)}. "
        f"{specials} special-cause point{'s' if specials != 1 else ''}. "
        f"{VARIATION_LABELS[spc.variation_icon]}"
        + (f"; {ASSURANCE_LABELS[spc.assurance_icon]}." if spc.assurance_icon else ".")
        + " The data table below the chart lists every point."
    )
    return spc_chart_svg(
        spc,
        chart_id=chart_id,
        title=f"{metric.name}, {area.name}: SPC chart",
        description=desc,
        y_label=_y_label(metric),
        fmt=_axis_format(metric.unit),
    )


@dataclass(frozen=True)
class ChildRow:
    code: str
    name: str
    kind_label: str
    value_text: str
    period_text: str
    href: str
    failing: bool


def child_rows(
    metric: Metric,
    children: Sequence[AreaRef],
    data: Mapping[str, Sequence[MetricPoint]],
    *,
    snapshot_query: str,
) -> list[ChildRow]:
    """The areas beneath one (where the metric is valid) with their latest value."""
    rows: list[ChildRow] = []
    for child in children:
        if not valid_at(metric, child.kind):
            continue
        view = analyse_series(metric, data.get(child.code, ()))
        latest = view.latest
        sep = "&" if snapshot_query else "?"
        rows.append(
            ChildRow(
                code=child.code,
                name=child.name,
                kind_label=child.kind_label,
                value_text=format_value(metric.unit, latest.value) if latest else "no value",
                period_text=format_period(latest.period, metric.frequency) if latest else "",
                href=f"/dashboard/metrics/{metric.id}{snapshot_query}{sep}area={child.code}",
                failing=view.failing,
            )
        )
    return rows


# ------------------------------------------------------------------------------ snapshots


@dataclass(frozen=True)
class SnapshotRow:
    id: int
    published_text: str
    published_by: str
    cut_off_text: str
    content_hash: str
    metric_count: str
    value_count: str
    note: str
    current: bool


def snapshot_rows(snapshots: Sequence[SnapshotInfo]) -> list[SnapshotRow]:
    """Published snapshots, newest first (the first is the current one)."""
    return [
        SnapshotRow(
            id=s.id,
            published_text=uk_stamp(s.published_at, "%-d %B %Y, %H:%M"),
            published_by=s.published_by,
            cut_off_text=s.data_cut_off.strftime("%-d %B %Y"),
            content_hash=s.content_hash,
            metric_count=f"{s.metric_count:,}",
            value_count=f"{s.value_count:,}",
            note=s.note,
            current=i == 0,
        )
        for i, s in enumerate(snapshots)
    ]


SNAPSHOT_CSV_COLUMNS = (
    "snapshot_id",
    "published_at",
    "published_by",
    "data_cut_off",
    "content_hash",
    "metric_count",
    "value_count",
    "note",
)


def snapshot_csv_rows(snapshots: Sequence[SnapshotInfo]) -> list[list[object]]:
    return [
        [
            s.id,
            s.published_at.isoformat(),
            s.published_by,
            s.data_cut_off.isoformat(),
            s.content_hash,
            s.metric_count,
            s.value_count,
            s.note,
        ]
        for s in snapshots
    ]


@dataclass(frozen=True)
class CompareRow:
    metric_id: str
    metric_name: str
    area_code: str
    area_name: str
    period_text: str
    before: str
    after: str
    change: str


def _metric_or_none(metric_id: str) -> Metric | None:
    for m in CATALOGUE:
        if m.id == metric_id:
            return m
    return None


def compare_rows(changes: Sequence[ValueChange], index: AreaIndex) -> list[CompareRow]:
    """Values that changed between two snapshots, formatted, with names."""
    rows: list[CompareRow] = []
    for c in changes:
        metric = _metric_or_none(c.metric_id)
        area = index.get(c.area_code)
        unit = metric.unit if metric else Unit.number
        freq = metric.frequency if metric else Frequency.monthly
        if c.before is None:
            change = "new"
        elif c.after is None:
            change = "removed"
        else:
            change = format_value(unit, c.after - c.before)
            if c.after > c.before and not change.startswith("-"):
                change = "+" + change
        rows.append(
            CompareRow(
                metric_id=c.metric_id,
                metric_name=metric.name if metric else c.metric_id,
                area_code=c.area_code,
                area_name=area.name if area else c.area_code,
                period_text=format_period(c.period, freq),
                before=format_value(unit, c.before) if c.before is not None else "—",
                after=format_value(unit, c.after) if c.after is not None else "—",
                change=change,
            )
        )
    return rows


COMPARE_CSV_COLUMNS = ("metric_id", "area_code", "period", "before", "after")


def compare_csv_rows(changes: Sequence[ValueChange]) -> list[list[object]]:
    return [
        [
            c.metric_id,
            c.area_code,
            c.period.isoformat(),
            decimal_text(c.before),
            decimal_text(c.after),
        ]
        for c in changes
    ]


def point_styles() -> list[tuple[str, str, str]]:
    """(point type, shape, label) for the chart key in text."""
    return [(t.value, s.shape, s.label) for t, s in POINT_STYLES.items()]
