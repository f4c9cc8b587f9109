"""Publish: compute every metric and write an immutable, versioned snapshot in one go.

The snapshot row and all its values are written in one transaction (bulk inserts), with
an audit event, so a failed publish leaves the previous snapshot current and nothing new
visible. The content hash is the SHA-256 of the canonical values (sorted, six decimal
places), so two snapshots with the same hash hold the same numbers. Publishing unchanged
data is allowed and makes a new snapshot with the same hash: each publish is a dated
statement by the publisher that these are the numbers, and the matching hash shows
that nothing changed. Loading the monthly returns is a step of its own
(:func:`load_returns_step`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access.audit import GENESIS_HASH, append
from wholesystem.access.models import AuditHead
from wholesystem.footprint.models import Level
from wholesystem.footprint.queries import footprint_tree, list_organisations
from wholesystem.metrics.compute import (
    ComputedValue,
    ComputeResult,
    Footprint,
    PracticePlacement,
    compute_metrics,
    default_cut_off,
)
from wholesystem.metrics.models import QUANTUM, MetricSnapshot, MetricValue, SnapshotStatus
from wholesystem.metrics.registers import REGISTER_METRICS, register_values
from wholesystem.metrics.returns import FileOutcome, load_returns
from wholesystem.metrics.snapshots import SnapshotInfo, get_snapshot
from wholesystem.store.db import session_scope, utcnow
from wholesystem.store.lake import Lake
from wholesystem.store.runs import recorded_run

__all__ = [
    "PUBLISH_STEP",
    "RETURNS_STEP",
    "PublishError",
    "content_hash",
    "footprint_for_metrics",
    "load_returns_step",
    "publish",
    "stored_content_hash",
    "write_snapshot",
]

PUBLISH_STEP = "publish"
RETURNS_STEP = "returns_load"
INSERT_BATCH = 5_000


class PublishError(RuntimeError):
    """Nothing can be published (no footprint, no data)."""


def _text(value: Decimal | None) -> str:
    return "" if value is None else format(value.quantize(QUANTUM), "f")


def canonical_lines(values: Iterable[ComputedValue]) -> Iterator[str]:
    """One tab-separated line per value, in (metric, area, period) order."""
    for v in sorted(values, key=lambda v: (v.metric_id, v.area_code, v.period)):
        yield (
            "\t".join(
                (
                    v.metric_id,
                    v.area_code,
                    v.area_kind,
                    v.period.isoformat(),
                    _text(v.numerator),
                    _text(v.denominator),
                    _text(v.value),
                )
            )
            + "\n"
        )


def content_hash(values: Iterable[ComputedValue]) -> str:
    """SHA-256 hex of the canonical values: the same numbers give the same hash."""
    digest = hashlib.sha256()
    for line in canonical_lines(values):
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def stored_content_hash(session: Session, snapshot_id: int) -> str:
    """The content hash recomputed from a snapshot's stored values (to verify it)."""
    rows = session.execute(
        select(
            MetricValue.metric_id,
            MetricValue.area_code,
            MetricValue.area_kind,
            MetricValue.period,
            MetricValue.numerator,
            MetricValue.denominator,
            MetricValue.value,
        ).where(MetricValue.snapshot_id == snapshot_id)
    )
    return content_hash(ComputedValue(*row) for row in rows)


def footprint_for_metrics(session: Session) -> Footprint:
    """The footprint as the computation needs it, from the operational database."""
    tree = footprint_tree(session)
    if tree is None:
        raise PublishError("no footprint loaded: run `wholesystem footprint load` first")
    placements: list[PracticePlacement] = []
    for place in tree.children:
        for hood in place.children:
            for practice in hood.children:
                if practice.level is Level.practice:
                    placements.append(PracticePlacement(practice.code, hood.code, place.code))
    organisations = tuple((o.code, o.type.value) for o in list_organisations(session))
    return Footprint(tree.code, tuple(placements), organisations)


def _audit_head(session: Session) -> tuple[int, str]:
    head = session.get(AuditHead, 1)
    return (head.last_seq, head.last_hash) if head is not None else (0, GENESIS_HASH)


def _rows(snapshot_id: int, values: Sequence[ComputedValue]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for v in values:
        batch.append(
            {
                "snapshot_id": snapshot_id,
                "metric_id": v.metric_id,
                "area_code": v.area_code,
                "area_kind": v.area_kind,
                "period": v.period,
                "numerator": v.numerator,
                "denominator": v.denominator,
                "value": v.value,
            }
        )
        if len(batch) >= INSERT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_values(session: Session, snapshot_id: int, values: Sequence[ComputedValue]) -> None:
    """Bulk-insert the values (executemany, batched) in the caller's transaction."""
    for batch in _rows(snapshot_id, values):
        session.execute(insert(MetricValue), batch)


def write_snapshot(
    session: Session,
    values: Sequence[ComputedValue],
    *,
    actor: str,
    data_cut_off: date,
    note: str = "",
) -> SnapshotInfo:
    """Write one snapshot and its values in the caller's transaction, and audit it.

    Visible to others only once the caller commits; if anything fails before then the
    rollback leaves nothing behind.
    """
    digest = content_hash(values)
    head_seq, head_hash = _audit_head(session)
    snapshot = MetricSnapshot(
        published_at=utcnow(),
        published_by=actor,
        data_cut_off=data_cut_off,
        content_hash=digest,
        metric_count=len({v.metric_id for v in values}),
        value_count=len(values),
        note=note,
        status=SnapshotStatus.published.value,
        audit_head_seq=head_seq,
        audit_head_hash=head_hash,
    )
    session.add(snapshot)
    session.flush()
    _insert_values(session, snapshot.id, values)
    append(
        session,
        actor=actor,
        action="metrics_published",
        object_type="metric_snapshot",
        object_id=str(snapshot.id),
        detail={
            "content_hash": digest,
            "data_cut_off": data_cut_off.isoformat(),
            "metric_count": snapshot.metric_count,
            "value_count": snapshot.value_count,
            "audit_head_seq": head_seq,
        },
    )
    session.flush()
    info = get_snapshot(session, snapshot.id)
    assert info is not None  # just written, in this transaction
    return info


def publish(
    factory: sessionmaker[Session],
    lake: Lake,
    *,
    actor: str,
    data_cut_off: date | None = None,
    note: str = "",
) -> SnapshotInfo:
    """Compute every catalogue metric from the lake and publish a new snapshot.

    ``data_cut_off`` defaults to the end of the month of the latest activity in the lake.
    Raises :class:`PublishError` when there is no footprint or nothing to publish; any
    failure leaves the previous snapshot current.
    """
    with recorded_run(factory, PUBLISH_STEP) as run:
        with session_scope(factory) as session:
            footprint = footprint_for_metrics(session)
        cut_off = data_cut_off or default_cut_off(lake)
        result: ComputeResult = compute_metrics(lake, footprint, cut_off)
        with session_scope(factory) as session:
            from_registers = register_values(session, footprint.system_code, cut_off)
        result.values = sorted(
            result.values + from_registers, key=lambda v: (v.metric_id, v.area_code, v.period)
        )
        computed = {v.metric_id for v in from_registers}
        for metric_id in REGISTER_METRICS:
            # computed from the registers, not the lake: replace the lake's "no computation"
            if metric_id in computed:
                result.skipped.pop(metric_id, None)
            else:
                result.skipped[metric_id] = "no decision made in a quarter ended by the cut-off"
        if not result.values:
            reasons = "; ".join(f"{k}: {v}" for k, v in sorted(result.skipped.items()))
            raise PublishError(f"no metric could be computed ({reasons or 'empty lake'})")
        with session_scope(factory) as session:
            info = write_snapshot(
                session, result.values, actor=actor, data_cut_off=cut_off, note=note
            )
        run.summary = (
            f"snapshot {info.id}: {info.metric_count} metrics, {info.value_count:,} values, "
            f"data cut-off {cut_off.isoformat()}, hash {info.content_hash[:12]}"
        )
        run.details = {
            "snapshot_id": info.id,
            "content_hash": info.content_hash,
            "metric_count": info.metric_count,
            "value_count": info.value_count,
            "data_cut_off": cut_off.isoformat(),
            "skipped": result.skipped,
        }
    return info


def load_returns_step(
    factory: sessionmaker[Session], lake: Lake, folder: Path, *, actor: str
) -> list[FileOutcome]:
    """Load the monthly returns in ``folder`` into the lake as a recorded, audited step."""
    with recorded_run(factory, RETURNS_STEP) as run:
        with session_scope(factory) as session:
            codes = [o.code for o in list_organisations(session)]
        if not codes:
            raise PublishError("no footprint loaded: run `wholesystem footprint load` first")
        outcomes = load_returns(lake, folder, codes)
        run.summary = "; ".join(
            f"{o.return_name}: {o.status}"
            + (
                f" {o.rows_loaded:,} rows, {o.rows_quarantined:,} quarantined"
                if o.status == "loaded"
                else f" ({o.reason})"
            )
            for o in outcomes
        )
        run.details = {
            o.return_name: {
                "status": o.status,
                "path": o.path,
                "reason": o.reason,
                "rows_read": o.rows_read,
                "rows_loaded": o.rows_loaded,
                "rows_quarantined": o.rows_quarantined,
            }
            for o in outcomes
        }
        with session_scope(factory) as session:
            append(
                session,
                actor=actor,
                action="returns_loaded",
                object_type="lake_table",
                object_id="returns",
                detail=run.details,
            )
    return outcomes
