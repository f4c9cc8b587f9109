"""The public dashboard: no sign-in, and only what disclosure control allows.

Metrics built from person-level data (every metric with a source other than the finance and
workforce returns) publish their numerators and denominators only through
:mod:`wholesystem.access.disclosure`: counts 1-7 are suppressed, others rounded to the
nearest 5, and secondary suppression runs over each table of areas and its total. Because a
place is both a row of the system's table and the total of its own neighbourhoods' table,
the suppressions of all those linked tables are then closed together (:func:`protect_tree`),
so the same figure is never published in one table and hidden in another, and no hidden
figure can be worked out by adding and subtracting published ones, on any page.

A rate (or a count metric's value) is shown only when its counts are published, and is
computed from the *published* (rounded) counts, so it never reveals more than the counts
beside it. Money and the workforce returns (whole-time equivalents, sickness days of staff
groups of organisations) are not counts of patients or service users: they are published
exactly, as NHS England already publishes them by organisation. See ``docs/dashboard.md``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access.disclosure import Protected, protect_count, protect_series
from wholesystem.metrics import snapshots as snaps
from wholesystem.metrics.catalogue import CATALOGUE, Metric, MetricLevel, Unit
from wholesystem.metrics.models import MetricSnapshot, MetricValue, SnapshotStatus
from wholesystem.metrics.presenters import (
    AreaIndex,
    AreaRef,
    area_index,
    decimal_text,
    format_period,
    format_value,
    query_string,
    valid_at,
)
from wholesystem.metrics.routes import data_version, render_cached
from wholesystem.metrics.snapshots import MetricPoint, SnapshotInfo
from wholesystem.times import uk_stamp
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import Crumb, Db, PageMeta

__all__ = [
    "PUBLIC_CSV_COLUMNS",
    "UNCONTROLLED_SOURCES",
    "PublicFigure",
    "PublicMetric",
    "controlled",
    "protect_tree",
    "public_metric",
    "router",
]

# Returns whose figures are money or staff measures, and the decision register: not counts
# of people receiving care.
UNCONTROLLED_SOURCES = frozenset({"finance", "workforce", "governance"})

SUPPRESSED = "*"

router = APIRouter(include_in_schema=False)  # public: /public is on the sign-in allow-list


def controlled(metric: Metric) -> bool:
    """Whether the metric's counts go through disclosure control (person-level sources)."""
    return not set(metric.sources) <= UNCONTROLLED_SOURCES


def _whole(value: Decimal | None) -> int | None:
    """A stored count as a whole, non-negative number (bed days may carry decimals)."""
    if value is None:
        return None
    return max(0, int(value.to_integral_value(rounding=ROUND_HALF_UP)))


# ----------------------------------------------------------------- linked suppression


_GROUND = "__ground__"


@dataclass(frozen=True)
class _Line:
    """An additive relation: ``total`` = sum of ``members`` (children and a remainder)."""

    total: str
    members: tuple[str, ...]


def protect_tree(counts: Mapping[str, int], lines: Sequence[_Line]) -> dict[str, Protected]:
    """Protect every entry of a set of linked tables (each line a table with its total).

    Each line goes through :func:`protect_series`; the union of their suppressions is then
    closed: an entry sits in at most two lines (as a member of its parent's and as the
    total of its own), so with lines as nodes and suppressed entries as edges (entries in
    one line only run to a common ground node), a suppressed entry can be recovered exactly
    when its edge is a bridge. Suppression goes on, choosing the smallest non-zero entry that
    closes a cycle, until there is no bridge. Everything published is rounded to 5.
    """
    suppressed: dict[str, str] = {}
    for key, n in counts.items():
        p = protect_count(n)
        if p.suppressed:
            suppressed[key] = p.reason or "small"
    for line in lines:
        values = [counts[m] for m in line.members]
        table = protect_series(values)
        for key, p in zip(line.members, table.cells[0], strict=True):
            if p.suppressed and key not in suppressed:
                suppressed[key] = p.reason or "secondary"
        total = table.row_totals[0]
        if total.suppressed and line.total not in suppressed:
            suppressed[line.total] = total.reason or "secondary"
    _close(counts, lines, suppressed)
    out: dict[str, Protected] = {}
    for key, n in counts.items():
        if key in suppressed:
            out[key] = Protected(value=None, suppressed=True, reason=suppressed[key])
        else:
            out[key] = protect_count(n)
    return out


def _edges(counts: Mapping[str, int], lines: Sequence[_Line]) -> dict[str, tuple[str, str]]:
    """Each entry as an edge between the two lines it belongs to (or a line and ground)."""
    ends: dict[str, list[str]] = defaultdict(list)
    for number, line in enumerate(lines):
        node = f"line{number}"
        ends[line.total].append(node)
        for m in line.members:
            ends[m].append(node)
    out: dict[str, tuple[str, str]] = {}
    for key in counts:
        nodes = ends.get(key, [])
        if len(nodes) == 0:
            continue  # in no table: protected alone
        out[key] = (nodes[0], nodes[1] if len(nodes) > 1 else _GROUND)
    return out


def _component(start: str, edges: Iterable[tuple[str, str]]) -> set[str]:
    adjacent: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        adjacent[a].add(b)
        adjacent[b].add(a)
    seen = {start}
    stack = [start]
    while stack:
        for nxt in adjacent[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _close(counts: Mapping[str, int], lines: Sequence[_Line], suppressed: dict[str, str]) -> None:
    edges = _edges(counts, lines)
    while True:
        hidden = [k for k in sorted(suppressed) if k in edges]
        bridge: tuple[str, set[str]] | None = None
        for key in hidden:
            a, b = edges[key]
            rest = [edges[k] for k in hidden if k != key]
            side = _component(a, rest)
            if b not in side:
                bridge = (key, side)
                break
        if bridge is None:
            return
        _key, side = bridge
        closers = [
            k for k, (a, b) in edges.items() if k not in suppressed and ((a in side) != (b in side))
        ]
        if not closers:  # cannot happen for a consistent tree; refuse to publish the line
            closers = [k for k in edges if k not in suppressed]
            if not closers:
                return
        choice = min(closers, key=lambda k: (counts[k] == 0, counts[k], k))
        suppressed[choice] = "secondary"


# ----------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class PublicFigure:
    """What the public may see of one metric, one area, one period."""

    numerator: Protected | None
    denominator: Protected | None
    value: Decimal | None  # the rate from published counts, or the exact value if uncontrolled
    value_text: str

    @property
    def numerator_text(self) -> str:
        return self.numerator.text if self.numerator else "—"

    @property
    def denominator_text(self) -> str:
        return self.denominator.text if self.denominator else "—"


@dataclass(frozen=True)
class PublicMetric:
    """One metric's public figures for every area in its public tree and every period."""

    metric: Metric
    controlled: bool
    tree: Mapping[str, tuple[str, ...]]  # parent code → child codes (public drill-down)
    periods: tuple[date, ...]
    figures: Mapping[tuple[str, date], PublicFigure]
    remainders: Mapping[tuple[str, date], PublicFigure]  # "not attributed to a child area"

    def series(self, code: str) -> list[tuple[date, PublicFigure]]:
        return [(p, self.figures[(code, p)]) for p in self.periods if (code, p) in self.figures]


_SCALE = {
    Unit.percent: Decimal(100),
    Unit.per_1000: Decimal(1000),
    Unit.per_100k_65: Decimal(100_000),
    Unit.days: Decimal(1),
}


def _scale(metric: Metric) -> Decimal:
    """The factor from numerator / denominator to the metric's value (percent: 100, ...)."""
    return _SCALE.get(metric.unit, Decimal(1))


def _public_tree(
    metric: Metric, index: AreaIndex, codes_with_values: set[str]
) -> dict[str, tuple[str, ...]]:
    if index.system is None:
        return {}
    root = index.system.code
    tree: dict[str, tuple[str, ...]] = {}
    if metric.lowest_level in (MetricLevel.place, MetricLevel.neighbourhood):
        places = tuple(c.code for c in index.child_areas(root) if c.kind == "place")
        tree[root] = places
        if metric.lowest_level is MetricLevel.neighbourhood:
            for place in places:
                tree[place] = tuple(
                    c.code for c in index.child_areas(place) if c.kind == "neighbourhood"
                )
    elif metric.lowest_level is MetricLevel.organisation:
        tree[root] = tuple(sorted(c for c in codes_with_values if c in index.organisations))
    return tree


def _rate(
    metric: Metric, num: Protected | None, den: Protected | None, scale: Decimal
) -> tuple[Decimal | None, str]:
    if num is None or num.suppressed or num.value is None:
        return None, "suppressed" if num is not None else "no value"
    if den is None:  # a count metric: the value is the count
        value = Decimal(num.value)
        return value, format_value(metric.unit, value)
    if den.suppressed or den.value is None:
        return None, "suppressed"
    if den.value == 0:
        return None, "no value"
    value = Decimal(num.value) / Decimal(den.value) * scale
    return value, format_value(metric.unit, value)


def public_metric(
    metric: Metric, index: AreaIndex, data: Mapping[str, Sequence[MetricPoint]]
) -> PublicMetric:
    """Protect one metric's figures across its public tree (see the module docstring)."""
    tree = _public_tree(metric, index, set(data))
    codes = [index.system.code] if index.system else []
    for children in tree.values():
        codes.extend(children)
    periods = sorted({p.period for c in codes for p in data.get(c, ())})
    by_key = {(c, p.period): p for c in codes for p in data.get(c, ())}
    figures: dict[tuple[str, date], PublicFigure] = {}
    remainders: dict[tuple[str, date], PublicFigure] = {}
    if not controlled(metric):
        for (code, period), p in by_key.items():
            figures[(code, period)] = PublicFigure(
                None,
                None,
                p.value,
                format_value(metric.unit, p.value) if p.value is not None else "no value",
            )
        return PublicMetric(metric, False, tree, tuple(periods), figures, remainders)
    scale = _scale(metric)
    for period in periods:
        protected: dict[str, dict[str, Protected]] = {}
        for part in ("numerator", "denominator"):
            counts: dict[str, int] = {}
            for code in codes:
                point = by_key.get((code, period))
                n = _whole(getattr(point, part)) if point else None
                if n is not None:
                    counts[code] = n
            lines: list[_Line] = []
            for parent, children in tree.items():
                if parent not in counts or not children:
                    continue
                if any(c not in counts for c in children):
                    continue  # an incomplete table is not additive: each entry stands alone
                rest = counts[parent] - sum(counts[c] for c in children)
                if rest < 0:
                    continue  # the children overlap (not a partition): no additive relation
                key = f"~{parent}"
                counts[key] = rest
                lines.append(_Line(parent, (*children, key)))
            protected[part] = protect_tree(counts, lines)
        for code in [*codes, *(f"~{c}" for c in tree)]:
            num = protected["numerator"].get(code)
            den = protected["denominator"].get(code)
            if num is None and den is None:
                continue
            value, text = _rate(metric, num, den, scale)
            figure = PublicFigure(num, den, value, text)
            if code.startswith("~"):
                remainders[(code[1:], period)] = figure
            else:
                figures[(code, period)] = figure
    return PublicMetric(metric, True, tree, tuple(periods), figures, remainders)


def _metric_values(
    session: Session, snapshot_id: int, metric_id: str
) -> dict[str, list[MetricPoint]]:
    """Every value of one metric in one published snapshot, by area and period."""
    query = (
        select(MetricValue)
        .join(MetricSnapshot, MetricSnapshot.id == MetricValue.snapshot_id)
        .where(
            MetricValue.snapshot_id == snapshot_id,
            MetricValue.metric_id == metric_id,
            MetricSnapshot.status == SnapshotStatus.published.value,
        )
        .order_by(MetricValue.area_code, MetricValue.period)
    )
    out: dict[str, list[MetricPoint]] = defaultdict(list)
    for row in session.scalars(query):
        out[row.area_code].append(
            MetricPoint(row.period, row.numerator, row.denominator, row.value)
        )
    return dict(out)


def _load(
    session: Session, snapshot: SnapshotInfo, metric: Metric, index: AreaIndex
) -> PublicMetric:
    """The protected figures of one metric (cached: a published snapshot never changes)."""
    # The content hash pins the values exactly, so a key can never name other numbers.
    key = (snapshot.id, snapshot.content_hash, metric.id, _index_key(index))
    found = _CACHE.get(key)
    if found is None:
        found = public_metric(metric, index, _metric_values(session, snapshot.id, metric.id))
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = found
    return found


_CACHE: dict[tuple[object, ...], PublicMetric] = {}
_CACHE_SIZE = 512


def _index_key(index: AreaIndex) -> tuple[tuple[str, str, str | None], ...]:
    return tuple(
        (r.code, r.kind, r.parent) for r in [*index.areas.values(), *index.organisations.values()]
    )


# --------------------------------------------------------------------------------- pages

PUBLIC_CSV_COLUMNS = (
    "snapshot_id",
    "data_cut_off",
    "metric_id",
    "metric",
    "area_code",
    "area_name",
    "period",
    "numerator",
    "denominator",
    "value",
    "unit",
    "disclosure_control",
)


def _snapshot_or_404(db: Session) -> SnapshotInfo:
    found = snaps.current_snapshot(db)
    if found is None:
        raise HTTPException(404, "No dashboard has been published yet.")
    return found


def _public_area(index: AreaIndex, code: str | None) -> AreaRef:
    if index.system is None:
        raise HTTPException(404, "No dashboard has been published yet.")
    if not code:
        return index.system
    found = index.get(code)
    if found is None or found.kind == "practice":
        raise HTTPException(404, f"There is no area with code '{code}' on the public dashboard.")
    return found


def _public_options(index: AreaIndex, chosen: str) -> list[dict[str, object]]:
    from wholesystem.metrics.presenters import area_options

    return area_options(index, chosen)


@dataclass(frozen=True)
class PublicRow:
    metric_id: str
    name: str
    domain: str
    href: str
    period_text: str
    period: date | None
    figure: PublicFigure | None
    note: str
    target_text: str
    unit: str


def _row(metric: Metric, area: AreaRef, pm: PublicMetric | None) -> PublicRow:
    href = f"/public/dashboard/metrics/{metric.id}" + query_string(
        area=area.code if area.kind != "system" else None
    )
    word = "at least" if metric.target.comparison.value == "at_least" else "at most"
    target = f"{word} {format_value(metric.unit, metric.target.value)}"
    base = {"metric_id": metric.id, "name": metric.name, "domain": metric.domain, "href": href}
    if pm is None:
        from wholesystem.metrics.presenters import not_valid_message

        return PublicRow(
            **base,
            period_text="",
            period=None,
            figure=None,
            note=not_valid_message(metric, area.kind),
            target_text=target,
            unit=metric.unit.value,
        )
    series = pm.series(area.code)
    if not series:
        return PublicRow(
            **base,
            period_text="",
            period=None,
            figure=None,
            note="No published values for this area.",
            target_text=target,
            unit=metric.unit.value,
        )
    period, figure = series[-1]
    return PublicRow(
        **base,
        period_text=format_period(period, metric.frequency),
        period=period,
        figure=figure,
        note="",
        target_text=target,
        unit=metric.unit.value,
    )


def _rows(db: Session, snapshot: SnapshotInfo, index: AreaIndex, area: AreaRef) -> list[PublicRow]:
    rows = []
    for metric in CATALOGUE:
        pm = _load(db, snapshot, metric, index) if valid_at(metric, area.kind) else None
        rows.append(_row(metric, area, pm))
    return rows


def _csv_row(
    snapshot: SnapshotInfo, metric: Metric, area: AreaRef, period: date, f: PublicFigure
) -> list[object]:
    return [
        snapshot.id,
        snapshot.data_cut_off.isoformat(),
        metric.id,
        metric.name,
        area.code,
        area.name,
        period.isoformat(),
        f.numerator_text.replace(",", "") if f.numerator else "",
        f.denominator_text.replace(",", "") if f.denominator else "",
        decimal_text(f.value) if f.value is not None else SUPPRESSED if f.numerator else "",
        metric.unit.value,
        "yes" if controlled(metric) else "no (not a count of people)",
    ]


def _stamp(snapshot: SnapshotInfo) -> dict[str, object]:
    return {
        "id": snapshot.id,
        "cut_off": snapshot.data_cut_off.strftime("%-d %B %Y"),
        "published": uk_stamp(snapshot.published_at, "%-d %B %Y, %H:%M"),
    }


def _crumbs(index: AreaIndex, area: AreaRef, last: str | None = None) -> tuple[Crumb, ...]:
    crumbs: list[Crumb] = []
    for ref in index.path(area.code):
        is_system = ref.kind == "system"
        crumbs.append(
            Crumb(
                f"Public dashboard: {ref.name}" if is_system else ref.name,
                "/public/dashboard" + query_string(area=None if is_system else ref.code),
            )
        )
    if last is None:
        crumbs[-1] = Crumb(crumbs[-1].text, "")
    else:
        crumbs.append(Crumb(last, ""))
    return tuple(crumbs)


@router.get("/public/dashboard", response_class=HTMLResponse)
def public_dashboard(
    request: Request, db: Db, area: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    """Every metric's latest published figure for one area, after disclosure control."""
    snapshot = _snapshot_or_404(db)
    index = area_index(db)
    ref = _public_area(index, area)
    rows = _rows(db, snapshot, index, ref)
    groups: dict[str, list[PublicRow]] = {}
    for row in rows:
        groups.setdefault(row.domain, []).append(row)
    children = [c for c in index.child_areas(ref.code) if c.kind in ("place", "neighbourhood")]
    return render_cached(
        request,
        PageMeta(title=f"Public dashboard: {ref.name}", breadcrumbs=_crumbs(index, ref)),
        key=(data_version(db, snapshot), ref.code),
        body_template="metrics/_public_dashboard_body.html",
        context=lambda: dict(
            snapshot=_stamp(snapshot),
            area=ref,
            groups=groups,
            area_items=_public_options(index, ref.code),
            drill=[
                {"name": c.name, "kind": c.kind_label, "href": f"/public/dashboard?area={c.code}"}
                for c in children
            ],
            csv_href="/public/dashboard.csv"
            + query_string(area=ref.code if ref.kind != "system" else None),
        ),
        data_as_at=snapshot.published_at,
    )


@router.get("/public/dashboard.csv")
def public_dashboard_csv(
    db: Db, area: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    """The public dashboard's table: every metric's latest published figure for the area."""
    snapshot = _snapshot_or_404(db)
    index = area_index(db)
    ref = _public_area(index, area)
    out = []
    for row in _rows(db, snapshot, index, ref):
        if row.figure is not None and row.period is not None:
            out.append(_csv_row(snapshot, _by_id(row.metric_id), ref, row.period, row.figure))
    return csv_response(f"public-dashboard-{ref.code}.csv", PUBLIC_CSV_COLUMNS, out)


def _by_id(metric_id: str) -> Metric:
    for metric in CATALOGUE:
        if metric.id == metric_id:
            return metric
    raise HTTPException(404, f"There is no metric '{metric_id}' on the public dashboard.")


def _metric_context(
    db: Session, metric_id: str, area: str | None
) -> tuple[SnapshotInfo, AreaIndex, AreaRef, Metric, PublicMetric]:
    metric = _by_id(metric_id)
    snapshot = _snapshot_or_404(db)
    index = area_index(db)
    ref = _public_area(index, area)
    if not valid_at(metric, ref.kind):
        from wholesystem.metrics.presenters import not_valid_message

        raise HTTPException(404, not_valid_message(metric, ref.kind))
    return snapshot, index, ref, metric, _load(db, snapshot, metric, index)


@router.get("/public/dashboard/metrics/{metric_id}.csv")
def public_metric_csv(
    metric_id: str, db: Db, area: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    """One metric's published series for one area, and its child areas' figures."""
    snapshot, index, ref, metric, pm = _metric_context(db, metric_id, area)
    out = [_csv_row(snapshot, metric, ref, period, f) for period, f in pm.series(ref.code)]
    for child in pm.tree.get(ref.code, ()):
        child_ref = index.get(child)
        if child_ref is not None:
            out += [_csv_row(snapshot, metric, child_ref, p, f) for p, f in pm.series(child)]
    for (parent, period), f in sorted(pm.remainders.items()):
        if parent == ref.code:
            other = AreaRef(f"~{parent}", "Not attributed to a listed area", "other", parent)
            out.append(_csv_row(snapshot, metric, other, period, f))
    return csv_response(f"public-{metric.id}-{ref.code}.csv", PUBLIC_CSV_COLUMNS, out)


@router.get("/public/dashboard/metrics/{metric_id}", response_class=HTMLResponse)
def public_metric_page(
    request: Request,
    metric_id: str,
    db: Db,
    area: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """One metric for one area: definition, target, the published series and the areas in it."""
    snapshot, index, ref, metric, pm = _metric_context(db, metric_id, area)
    series = pm.series(ref.code)
    latest = series[-1][0] if series else None
    children = []
    for child in pm.tree.get(ref.code, ()):
        child_ref = index.get(child)
        figure = pm.figures.get((child, latest)) if latest else None
        if child_ref is not None and figure is not None:
            has_own = bool(pm.tree.get(child))
            children.append(
                {
                    "name": child_ref.name,
                    "kind": child_ref.kind_label,
                    "href": f"/public/dashboard/metrics/{metric.id}?area={child}",
                    "figure": figure,
                    "drill": has_own or valid_at(metric, child_ref.kind),
                }
            )
    other = pm.remainders.get((ref.code, latest)) if latest else None
    total = pm.figures.get((ref.code, latest)) if latest else None
    area_q = query_string(area=ref.code if ref.kind != "system" else None)
    return render_cached(
        request,
        PageMeta(title=f"{metric.name}: {ref.name}", breadcrumbs=_crumbs(index, ref, metric.name)),
        key=(data_version(db, snapshot), metric.id, ref.code),
        body_template="metrics/_public_metric_body.html",
        context=lambda: dict(
            snapshot=_stamp(snapshot),
            metric=metric,
            area=ref,
            controlled=pm.controlled,
            series=[(format_period(p, metric.frequency), f) for p, f in series],
            latest_text=format_period(latest, metric.frequency) if latest else "",
            children=children,
            other=other,
            total=total,
            target_text=format_value(metric.unit, metric.target.value),
            csv_href=f"/public/dashboard/metrics/{metric.id}.csv{area_q}",
            dashboard_href=f"/public/dashboard{area_q}",
            count_metric=metric.unit is Unit.number,
        ),
        data_as_at=snapshot.published_at,
    )
