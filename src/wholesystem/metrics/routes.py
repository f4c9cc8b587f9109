"""The system dashboard: tiles, metric pages with SPC charts, drill-down, snapshots and the
board report. Every page reads one published snapshot (the current one unless ``snapshot=``
names another) and carries its data cut-off and publish time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, require
from wholesystem.footprint.pipeline import FOOTPRINT_STEP
from wholesystem.metrics import snapshots as snaps
from wholesystem.metrics.catalogue import CATALOGUE, Metric
from wholesystem.metrics.charts import legend_svg
from wholesystem.metrics.models import MetricRebase
from wholesystem.metrics.presenters import (
    COMPARE_CSV_COLUMNS,
    DASHBOARD_CSV_COLUMNS,
    METRIC_CSV_COLUMNS,
    SNAPSHOT_CSV_COLUMNS,
    AreaIndex,
    AreaRef,
    DomainTiles,
    SeriesView,
    analyse_series,
    area_index,
    area_options,
    child_rows,
    compare_csv_rows,
    compare_rows,
    dashboard_csv_rows,
    dashboard_tiles,
    data_rows,
    format_value,
    metric_chart,
    metric_csv_rows,
    narrative,
    not_valid_message,
    query_string,
    snapshot_csv_rows,
    snapshot_rows,
    target_text,
    tile_for,
    valid_at,
)
from wholesystem.store.runs import last_success
from wholesystem.times import uk_stamp
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["BodyCache", "data_version", "render_cached", "router"]

router = APIRouter(
    dependencies=[Depends(require(Permission.view_dashboard))], include_in_schema=False
)

Viewer = Annotated[CurrentUser, Depends(require(Permission.view_dashboard))]
Publisher = Annotated[CurrentUser, Depends(require(Permission.publish_snapshots))]
AreaParam = Annotated[str | None, Query(max_length=16)]
SnapshotParam = Annotated[int | None, Query(ge=1)]

COMPARE_LIMIT = 2000


# ------------------------------------------------------------------------- cached bodies


class BodyCache:
    """Rendered page bodies by key, least recently used first out.

    A published snapshot never changes, so the body of a page over it (everything inside
    the layout, which alone carries the user's name and CSRF token) is rendered once per
    snapshot, area, agreed rebases and footprint load. Kept on ``app.state``.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[tuple[object, ...], Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], build: Callable[[], Markup]) -> Markup:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        body = build()
        with self._lock:
            self._items[key] = body
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return body


def data_version(db: Session, snapshot: snaps.SnapshotInfo) -> tuple[object, ...]:
    """What a page body over ``snapshot`` depends on besides the request: the snapshot
    itself, the agreed rebases and the footprint (names and tree)."""
    rebases = db.execute(select(func.count(MetricRebase.id), func.max(MetricRebase.id))).one()
    return (
        snapshot.id,
        snapshot.content_hash,
        snapshot.published_at,
        tuple(rebases),
        last_success(db, FOOTPRINT_STEP),
    )


def render_cached(
    request: Request,
    page: PageMeta,
    *,
    key: tuple[object, ...],
    body_template: str,
    context: Callable[[], dict[str, Any]],
    data_as_at: datetime,
    page_template: str = "metrics/_page.html",
    **outer: Any,
) -> Response:
    """Render ``body_template`` with ``context()`` once per ``key``; wrap it in the layout."""
    state = request.app.state
    cache: BodyCache | None = getattr(state, "metrics_body_cache", None)
    if cache is None:
        cache = state.metrics_body_cache = BodyCache()
    env = state.jinja

    def build() -> Markup:
        return Markup(env.get_template(body_template).render(**context()))  # noqa: S704

    body = cache.get((body_template, *key), build)
    return render(request, page_template, page, data_as_at=data_as_at, body=body, **outer)


def _metric_or_404(metric_id: str) -> Metric:
    for metric in CATALOGUE:
        if metric.id == metric_id:
            return metric
    raise HTTPException(404, f"There is no metric '{metric_id}' in the catalogue.")


def _snapshot(db: Session, snapshot_id: int | None) -> snaps.SnapshotInfo | None:
    """The chosen snapshot (404 if it is not a published one) or the current one."""
    if snapshot_id is None:
        return snaps.current_snapshot(db)
    found = snaps.get_snapshot(db, snapshot_id)
    if found is None:
        raise HTTPException(404, f"There is no published snapshot {snapshot_id}.")
    return found


def _area(index: AreaIndex, code: str | None) -> AreaRef:
    if index.system is None:
        raise HTTPException(404, "No footprint has been loaded yet.")
    if not code:
        return index.system
    found = index.get(code)
    if found is None:
        raise HTTPException(
            404, f"There is no area or partner organisation with code '{code}' in this footprint."
        )
    return found


def _crumbs(
    index: AreaIndex, area: AreaRef, snapshot_q: str, last: str | None = None
) -> tuple[Crumb, ...]:
    """Home, then system → place → neighbourhood (or organisation), each a dashboard link."""
    sep = "&" if snapshot_q else "?"
    crumbs = [HOME]
    path = index.path(area.code)
    for ref in path:
        is_system = ref.kind == "system"
        href = (
            f"/dashboard{snapshot_q}"
            if is_system
            else f"/dashboard{snapshot_q}{sep}area={ref.code}"
        )
        crumbs.append(Crumb("Dashboard: " + ref.name if is_system else ref.name, href))
    if last is None:
        crumbs[-1] = Crumb(crumbs[-1].text, "")
    else:
        crumbs.append(Crumb(last, ""))
    return tuple(crumbs)


def _rebases(db: Session, area: AreaRef, metrics: list[Metric]) -> dict[str, list[date]]:
    return {m.id: snaps.rebase_dates(db, m.id, area.code) for m in metrics}


def _no_snapshot(request: Request, user: CurrentUser) -> Response:
    return render(
        request,
        "metrics/no_snapshot.html",
        PageMeta(title="Dashboard", breadcrumbs=(HOME, Crumb("Dashboard", ""))),
        can_publish=user.can(Permission.publish_snapshots),
    )


def _stamp(snapshot: snaps.SnapshotInfo) -> dict[str, object]:
    return {
        "id": snapshot.id,
        "cut_off": snapshot.data_cut_off.strftime("%-d %B %Y"),
        "published": uk_stamp(snapshot.published_at, "%-d %B %Y, %H:%M"),
        "published_by": snapshot.published_by,
        "content_hash": snapshot.content_hash,
    }


def _dashboard_data(
    db: Session,
    index: AreaIndex,
    snapshot: snaps.SnapshotInfo,
    area: AreaRef,
    snapshot_id: int | None,
) -> tuple[list[DomainTiles], str]:
    link_query = query_string(
        area=area.code if area.kind != "system" else None, snapshot=snapshot_id
    )
    data = snaps.area_series(db, snapshot.id, area.code)
    groups = dashboard_tiles(area, data, _rebases(db, area, list(CATALOGUE)), link_query=link_query)
    return groups, link_query


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, db: Db, user: Viewer, area: AreaParam = None, snapshot: SnapshotParam = None
) -> Response:
    """A tile per metric for one area: latest value, target, SPC icons, failures highlighted."""
    chosen = _snapshot(db, snapshot)
    if chosen is None:
        return _no_snapshot(request, user)
    index = area_index(db)
    ref = _area(index, area)
    snap_q = query_string(snapshot=snapshot)

    def context() -> dict[str, Any]:
        groups, link_query = _dashboard_data(db, index, chosen, ref, snapshot)
        tiles = [t for g in groups for t in g.tiles]
        children = [c for c in index.child_areas(ref.code) if c.kind in ("place", "neighbourhood")]
        if ref.kind == "system":
            children += sorted(index.organisations.values(), key=lambda r: r.name)
        sep = "&" if snapshot else "?"
        return {
            "snapshot": _stamp(chosen),
            "area": ref,
            "groups": groups,
            "failing": [t for t in tiles if t.failing],
            "counts": {
                "shown": sum(1 for t in tiles if t.status == "ok"),
                "not_valid": sum(1 for t in tiles if t.status == "not_valid"),
                "no_data": sum(1 for t in tiles if t.status == "no_data"),
            },
            "area_items": area_options(index, ref.code),
            "drill": [
                {
                    "name": c.name,
                    "kind": c.kind_label,
                    "href": f"/dashboard{snap_q}{sep}area={c.code}",
                }
                for c in children
            ],
            "filtered": ref.kind != "system" or snapshot is not None,
            "chosen_snapshot": snapshot,
            "query": link_query,
        }

    return render_cached(
        request,
        PageMeta(title=f"Dashboard: {ref.name}", breadcrumbs=_crumbs(index, ref, snap_q)),
        key=(data_version(db, chosen), ref.code, snapshot),
        body_template="metrics/_dashboard_body.html",
        context=context,
        data_as_at=chosen.published_at,
    )


@router.get("/dashboard.csv")
def dashboard_csv(
    db: Db, user: Viewer, area: AreaParam = None, snapshot: SnapshotParam = None
) -> Response:
    """The dashboard's tiles as CSV, with the same area and snapshot."""
    chosen = _snapshot(db, snapshot)
    if chosen is None:
        raise HTTPException(404, "No snapshot has been published yet.")
    index = area_index(db)
    ref = _area(index, area)
    groups, _ = _dashboard_data(db, index, chosen, ref, snapshot)
    rows = dashboard_csv_rows(chosen, ref, groups)
    _audit_export(db, user, "metric_dashboard", f"{chosen.id}:{ref.code}", len(rows))
    return csv_response(
        f"dashboard-{ref.code}-snapshot-{chosen.id}.csv", DASHBOARD_CSV_COLUMNS, rows
    )


def _audit_export(db: Session, user: CurrentUser, what: str, object_id: str, rows: int) -> None:
    audit.append(
        db,
        actor=user.username,
        action="export",
        object_type=what,
        object_id=object_id,
        detail={"rows": rows},
    )
    db.commit()


def _metric_view(
    db: Session, snapshot: snaps.SnapshotInfo, metric: Metric, area: AreaRef
) -> SeriesView:
    points = snaps.series(db, snapshot.id, metric.id, area.code)
    return analyse_series(metric, points, snaps.rebase_dates(db, metric.id, area.code))


@router.get("/dashboard/metrics/{metric_id}.csv")
def metric_csv(
    metric_id: str, db: Db, user: Viewer, area: AreaParam = None, snapshot: SnapshotParam = None
) -> Response:
    """The data behind a metric's chart: numerator, denominator, value, mean, limits, type."""
    metric = _metric_or_404(metric_id)
    chosen = _snapshot(db, snapshot)
    if chosen is None:
        raise HTTPException(404, "No snapshot has been published yet.")
    ref = _area(area_index(db), area)
    view = _metric_view(db, chosen, metric, ref)
    rows = metric_csv_rows(chosen, ref, view)
    _audit_export(db, user, "metric_series", f"{chosen.id}:{metric.id}:{ref.code}", len(rows))
    return csv_response(
        f"{metric.id}-{ref.code}-snapshot-{chosen.id}.csv", METRIC_CSV_COLUMNS, rows
    )


@router.get("/dashboard/metrics/{metric_id}", response_class=HTMLResponse)
def metric_page(
    request: Request,
    metric_id: str,
    db: Db,
    user: Viewer,
    area: AreaParam = None,
    snapshot: SnapshotParam = None,
) -> Response:
    """One metric for one area: SPC chart, definition, target, failure rule, data, children."""
    metric = _metric_or_404(metric_id)
    chosen = _snapshot(db, snapshot)
    if chosen is None:
        return _no_snapshot(request, user)
    index = area_index(db)
    ref = _area(index, area)
    snap_q = query_string(snapshot=snapshot)
    own_q = query_string(area=ref.code if ref.kind != "system" else None, snapshot=snapshot)

    def context() -> dict[str, Any]:
        view = _metric_view(db, chosen, metric, ref)
        children: list[AreaRef] = [
            c for c in index.child_areas(ref.code) if c.kind in ("place", "neighbourhood")
        ]
        if ref.kind == "system":
            orgs = {
                code
                for code, kind in snaps.areas_with_values(db, chosen.id, metric.id)
                if kind == "organisation" and code in index.organisations
            }
            children += sorted((index.organisations[c] for c in orgs), key=lambda r: r.name)
        child_data = {
            c.code: snaps.series(db, chosen.id, metric.id, c.code)
            for c in children
            if valid_at(metric, c.kind)
        }
        return {
            "snapshot": _stamp(chosen),
            "metric": metric,
            "area": ref,
            "valid": valid_at(metric, ref.kind),
            "not_valid": not_valid_message(metric, ref.kind),
            "view": view,
            "tile": tile_for(metric, ref, view.points, view.rebases, link_query=own_q),
            "chart": metric_chart(view, ref, chart_id=f"chart-{metric.id}"),
            "legend": legend_svg(),
            "rows": data_rows(view),
            "children": child_rows(metric, children, child_data, snapshot_query=snap_q),
            "csv_href": f"/dashboard/metrics/{metric.id}.csv{own_q}",
            "dashboard_href": f"/dashboard{own_q}",
        }

    return render_cached(
        request,
        PageMeta(
            title=f"{metric.name}: {ref.name}",
            breadcrumbs=_crumbs(index, ref, snap_q, metric.name),
        ),
        key=(data_version(db, chosen), metric.id, ref.code, snapshot),
        body_template="metrics/_metric_body.html",
        context=context,
        data_as_at=chosen.published_at,
    )


# ---------------------------------------------------------------------------- snapshots


@router.get("/dashboard/snapshots", response_class=HTMLResponse)
def snapshots_page(
    request: Request, db: Db, user: Viewer, published: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """Every published snapshot, with its content hash, cut-off and who published it."""
    found = snaps.list_snapshots(db)
    current = found[0] if found else None
    return render(
        request,
        "metrics/snapshots.html",
        PageMeta(
            title="Published snapshots",
            breadcrumbs=(
                HOME,
                Crumb("Dashboard", "/dashboard"),
                Crumb("Snapshots", ""),
            ),
        ),
        data_as_at=current.published_at if current else None,
        rows=snapshot_rows(found),
        can_publish=user.can(Permission.publish_snapshots),
        just_published=published,
        compare_items=[
            {"value": str(s.id), "text": f"Snapshot {s.id} (data to {s.data_cut_off:%-d %B %Y})"}
            for s in found
        ],
        default_a=str(found[1].id) if len(found) > 1 else "",
        default_b=str(found[0].id) if found else "",
    )


@router.get("/dashboard/snapshots.csv")
def snapshots_csv(db: Db, user: Viewer) -> Response:
    found = snaps.list_snapshots(db)
    _audit_export(db, user, "metric_snapshot_list", "snapshots.csv", len(found))
    return csv_response("snapshots.csv", SNAPSHOT_CSV_COLUMNS, snapshot_csv_rows(found))


def _pair(db: Session, a: int, b: int) -> tuple[snaps.SnapshotInfo, snaps.SnapshotInfo]:
    first, second = snaps.get_snapshot(db, a), snaps.get_snapshot(db, b)
    if first is None or second is None:
        missing = a if first is None else b
        raise HTTPException(404, f"There is no published snapshot {missing}.")
    return first, second


@router.get("/dashboard/snapshots/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    db: Db,
    a: Annotated[int, Query(ge=1)],
    b: Annotated[int, Query(ge=1)],
) -> Response:
    """The values that differ between two snapshots (or exist in only one)."""
    first, second = _pair(db, a, b)
    changes = snaps.compare(db, a, b, limit=COMPARE_LIMIT + 1)
    return render(
        request,
        "metrics/compare.html",
        PageMeta(
            title=f"Snapshot {a} compared with snapshot {b}",
            breadcrumbs=(
                HOME,
                Crumb("Dashboard", "/dashboard"),
                Crumb("Snapshots", "/dashboard/snapshots"),
                Crumb("Compare", ""),
            ),
        ),
        data_as_at=max(first.published_at, second.published_at),
        a=_stamp(first),
        b=_stamp(second),
        rows=compare_rows(changes[:COMPARE_LIMIT], area_index(db)),
        truncated=len(changes) > COMPARE_LIMIT,
        limit=COMPARE_LIMIT,
        same_hash=first.content_hash == second.content_hash,
        csv_href=f"/dashboard/snapshots/compare.csv?a={a}&b={b}",
    )


@router.get("/dashboard/snapshots/compare.csv")
def compare_csv(
    db: Db, user: Viewer, a: Annotated[int, Query(ge=1)], b: Annotated[int, Query(ge=1)]
) -> Response:
    """Every changed value between two snapshots (no limit)."""
    _pair(db, a, b)
    changes = snaps.compare(db, a, b)
    _audit_export(db, user, "metric_snapshot_compare", f"{a}:{b}", len(changes))
    return csv_response(f"snapshot-{a}-vs-{b}.csv", COMPARE_CSV_COLUMNS, compare_csv_rows(changes))


@router.post("/dashboard/snapshots/publish")
def publish_snapshot(request: Request, user: Publisher) -> Response:
    """Compute every metric into a new snapshot; on failure nothing new is visible."""
    from wholesystem.metrics.pipeline import PublishError, publish
    from wholesystem.store.lake import Lake

    settings = request.app.state.settings
    try:
        info = publish(
            request.app.state.session_factory,
            Lake(settings.resolved_lake_dir),
            actor=user.username,
        )
    except PublishError as exc:
        raise HTTPException(409, f"Nothing was published: {exc}.") from exc
    # As after `wholesystem publish`: a metric failing its agreed definition raises a concern.
    from wholesystem.governance.concerns.services import raise_metric_concerns_now

    raise_metric_concerns_now(request.app.state.session_factory, actor=user.username)
    return RedirectResponse(f"/dashboard/snapshots?published={info.id}", status_code=303)


# ---------------------------------------------------------------------------- board report


@router.get("/dashboard/board-report", response_class=HTMLResponse)
def board_report(
    request: Request, db: Db, user: Viewer, area: AreaParam = None, snapshot: SnapshotParam = None
) -> Response:
    """Print-ready: the failing metrics first, then every metric with its chart and a line."""
    chosen = _snapshot(db, snapshot)
    if chosen is None:
        return _no_snapshot(request, user)
    index = area_index(db)
    ref = _area(index, area)
    area_q = query_string(area=ref.code if ref.kind != "system" else None, snapshot=snapshot)

    def context() -> dict[str, Any]:
        data = snaps.area_series(db, chosen.id, ref.code)
        sections: list[dict[str, Any]] = []
        failing: list[dict[str, Any]] = []
        for metric in CATALOGUE:
            if not valid_at(metric, ref.kind):
                continue
            rebases = snaps.rebase_dates(db, metric.id, ref.code)
            view = analyse_series(metric, data.get(metric.id, ()), rebases)
            latest = view.latest
            item = {
                "metric": metric,
                "view": view,
                "latest_text": format_value(metric.unit, latest.value) if latest else "no value",
                "narrative": narrative(view) if latest else "No values in this snapshot.",
                "chart": metric_chart(view, ref, chart_id=f"chart-{metric.id}"),
                "rows": data_rows(view),
                "target_text": target_text(metric),
                "csv_href": f"/dashboard/metrics/{metric.id}.csv"
                + query_string(area=ref.code if ref.kind != "system" else None, snapshot=chosen.id),
            }
            if view.failing:
                failing.append(item)
            if not sections or sections[-1]["domain"] != metric.domain:
                sections.append({"domain": metric.domain, "items": []})
            sections[-1]["items"].append(item)
        return {
            "snapshot": _stamp(chosen),
            "area": ref,
            "failing": failing,
            "sections": sections,
            "legend": legend_svg(),
            "csv_href": "/dashboard.csv"
            + query_string(area=ref.code if ref.kind != "system" else None, snapshot=chosen.id),
        }

    return render_cached(
        request,
        PageMeta(title=f"Board report: {ref.name}"),
        key=(data_version(db, chosen), ref.code),
        body_template="metrics/_board_report_body.html",
        page_template="metrics/_report_page.html",
        context=context,
        data_as_at=chosen.published_at,
        dashboard_href=f"/dashboard{area_q}",
    )
