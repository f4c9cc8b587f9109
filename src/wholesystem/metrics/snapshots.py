"""Read published metric snapshots: the current one, any earlier one, series and comparisons.

Plain dataclasses out, a Session in. Only ``published`` snapshots are ever returned; a
snapshot id that is unknown or not published reads as absent (no values, ``None``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, exists, null, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from wholesystem.metrics.models import MetricRebase, MetricSnapshot, MetricValue, SnapshotStatus

__all__ = [
    "MetricPoint",
    "SnapshotInfo",
    "ValueChange",
    "area_series",
    "areas_with_values",
    "compare",
    "current_snapshot",
    "get_snapshot",
    "list_snapshots",
    "rebase_dates",
    "series",
]


@dataclass(frozen=True)
class SnapshotInfo:
    """One published snapshot, as everyone sees it."""

    id: int
    published_at: datetime
    published_by: str
    data_cut_off: date
    content_hash: str
    metric_count: int
    value_count: int
    note: str
    audit_head_seq: int = 0
    audit_head_hash: str = ""


@dataclass(frozen=True)
class MetricPoint:
    """One period of one metric for one area."""

    period: date
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None


@dataclass(frozen=True)
class ValueChange:
    """A value that differs between two snapshots (``None`` where one has no such value)."""

    metric_id: str
    area_code: str
    period: date
    before: Decimal | None
    after: Decimal | None


_PUBLISHED = MetricSnapshot.status == SnapshotStatus.published.value


def _info(row: MetricSnapshot) -> SnapshotInfo:
    return SnapshotInfo(
        id=row.id,
        published_at=row.published_at,
        published_by=row.published_by,
        data_cut_off=row.data_cut_off,
        content_hash=row.content_hash,
        metric_count=row.metric_count,
        value_count=row.value_count,
        note=row.note,
        audit_head_seq=row.audit_head_seq,
        audit_head_hash=row.audit_head_hash,
    )


def current_snapshot(session: Session) -> SnapshotInfo | None:
    """The newest published snapshot, or None before the first publish."""
    row = session.scalars(
        select(MetricSnapshot).where(_PUBLISHED).order_by(MetricSnapshot.id.desc()).limit(1)
    ).first()
    return _info(row) if row is not None else None


def list_snapshots(session: Session) -> list[SnapshotInfo]:
    """Every published snapshot, newest first."""
    rows = session.scalars(
        select(MetricSnapshot).where(_PUBLISHED).order_by(MetricSnapshot.id.desc())
    )
    return [_info(r) for r in rows]


def get_snapshot(session: Session, snapshot_id: int) -> SnapshotInfo | None:
    """One published snapshot by id, or None."""
    row = session.scalars(
        select(MetricSnapshot).where(MetricSnapshot.id == snapshot_id, _PUBLISHED)
    ).first()
    return _info(row) if row is not None else None


def _published_values(snapshot_id: int) -> Select[MetricValue]:
    return (
        select(MetricValue)
        .join(MetricSnapshot, MetricSnapshot.id == MetricValue.snapshot_id)
        .where(MetricValue.snapshot_id == snapshot_id, _PUBLISHED)
    )


def _point(row: MetricValue) -> MetricPoint:
    return MetricPoint(row.period, row.numerator, row.denominator, row.value)


def series(session: Session, snapshot_id: int, metric_id: str, area_code: str) -> list[MetricPoint]:
    """One metric's values for one area, by period (empty if none or not published)."""
    query = (
        _published_values(snapshot_id)
        .where(MetricValue.metric_id == metric_id, MetricValue.area_code == area_code)
        .order_by(MetricValue.period)
    )
    return [_point(r) for r in session.scalars(query)]


def area_series(session: Session, snapshot_id: int, area_code: str) -> dict[str, list[MetricPoint]]:
    """Every metric's series for one area: {metric_id: [points by period]}."""
    query = (
        _published_values(snapshot_id)
        .where(MetricValue.area_code == area_code)
        .order_by(MetricValue.metric_id, MetricValue.period)
    )
    out: dict[str, list[MetricPoint]] = defaultdict(list)
    for row in session.scalars(query):
        out[row.metric_id].append(_point(row))
    return dict(out)


def areas_with_values(session: Session, snapshot_id: int, metric_id: str) -> list[tuple[str, str]]:
    """The (area_code, area_kind) pairs that have values of ``metric_id``, sorted by code."""
    query = (
        select(MetricValue.area_code, MetricValue.area_kind)
        .join(MetricSnapshot, MetricSnapshot.id == MetricValue.snapshot_id)
        .where(
            MetricValue.snapshot_id == snapshot_id, MetricValue.metric_id == metric_id, _PUBLISHED
        )
        .distinct()
        .order_by(MetricValue.area_code)
    )
    return [(code, kind) for code, kind in session.execute(query)]


def rebase_dates(session: Session, metric_id: str, area_code: str) -> list[date]:
    """Agreed rebase dates for a metric in an area (area-specific and for every area), sorted."""
    query = (
        select(MetricRebase.rebase_date)
        .where(
            MetricRebase.metric_id == metric_id,
            or_(MetricRebase.area_code == area_code, MetricRebase.area_code.is_(None)),
        )
        .distinct()
        .order_by(MetricRebase.rebase_date)
    )
    return list(session.scalars(query))


def compare(session: Session, a: int, b: int, *, limit: int | None = None) -> list[ValueChange]:
    """Values that differ between snapshots ``a`` (before) and ``b`` (after), or exist in one.

    A value counts as changed when its value, numerator or denominator differs. Sorted by
    metric, area and period; ``limit`` caps the list. Unpublished or unknown snapshots
    have no values, so comparing with one lists every value of the other.
    """
    va, vb = aliased(MetricValue), aliased(MetricValue)
    published_a = exists().where(MetricSnapshot.id == a, _PUBLISHED)
    published_b = exists().where(MetricSnapshot.id == b, _PUBLISHED)
    same_key = and_(
        vb.metric_id == va.metric_id, vb.area_code == va.area_code, vb.period == va.period
    )
    in_a = (
        select(
            va.metric_id,
            va.area_code,
            va.period,
            va.value.label("before"),
            vb.value.label("after"),
        )
        .select_from(va)
        .outerjoin(vb, and_(vb.snapshot_id == b, published_b, same_key))
        .where(
            va.snapshot_id == a,
            published_a,
            or_(
                vb.metric_id.is_(None),
                va.value.is_distinct_from(vb.value),
                va.numerator.is_distinct_from(vb.numerator),
                va.denominator.is_distinct_from(vb.denominator),
            ),
        )
    )
    only_b = (
        select(
            vb.metric_id,
            vb.area_code,
            vb.period,
            null().label("before"),
            vb.value.label("after"),
        )
        .select_from(vb)
        .where(
            vb.snapshot_id == b,
            published_b,
            ~exists().where(va.snapshot_id == a, published_a, same_key),
        )
    )
    combined = union_all(in_a, only_b).subquery()
    query = select(combined).order_by(combined.c.metric_id, combined.c.area_code, combined.c.period)
    if limit is not None:
        query = query.limit(limit)
    return [
        ValueChange(row.metric_id, row.area_code, row.period, row.before, row.after)
        for row in session.execute(query)
    ]
