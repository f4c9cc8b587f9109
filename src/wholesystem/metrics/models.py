"""Metric snapshots: every computed value, published as an immutable, versioned whole.

A snapshot and its values are written in one transaction, so a failed publish leaves
nothing visible. Migration 0006 adds database triggers that refuse UPDATE and DELETE on a
published snapshot and on any value: there is no update path, a correction is a new
snapshot. Rebasing (where SPC limits restart) is stored as agreed data, never inferred.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = [
    "AREA_KINDS",
    "QUANTUM",
    "ExactDecimal",
    "MetricRebase",
    "MetricSnapshot",
    "MetricValue",
    "SnapshotStatus",
]

# Values are stored with 6 decimal places; 18 digits before the point covers any amount
# in pounds a system reports.
VALUE_PRECISION, VALUE_SCALE = 24, 6

QUANTUM = Decimal(1).scaleb(-VALUE_SCALE)


class ExactDecimal(TypeDecorator[Decimal]):
    """A decimal with six places, exact on every backend.

    PostgreSQL stores NUMERIC(24, 6). SQLite has no exact decimal (its NUMERIC affinity
    turns text into a binary float), so there the value is stored as its canonical text,
    which also keeps a snapshot's content hash reproducible from what was stored.
    """

    impl = Numeric(VALUE_PRECISION, VALUE_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(VALUE_PRECISION + 2))
        return dialect.type_descriptor(Numeric(VALUE_PRECISION, VALUE_SCALE))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value).quantize(QUANTUM)
        return format(exact, "f") if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value if isinstance(value, (str, Decimal)) else str(value)).quantize(QUANTUM)


AREA_KINDS = ("system", "place", "neighbourhood", "practice", "organisation")


class SnapshotStatus(StrEnum):
    """Only ``published`` snapshots are ever read by the query API."""

    publishing = "publishing"
    published = "published"


class MetricSnapshot(Base):
    """One published set of metric values: who, when, the data cut-off and a content hash.

    ``content_hash`` is the SHA-256 of the canonical values (see ``metrics.pipeline``), so
    two snapshots with the same hash hold the same numbers. ``audit_head_seq`` and
    ``audit_head_hash`` are the audit log's head when the snapshot was cut, binding the
    snapshot to the state of the log.
    """

    __tablename__ = "metric_snapshot"
    __table_args__ = (
        CheckConstraint("status IN ('publishing', 'published')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    published_by: Mapped[str] = mapped_column(String(64))
    data_cut_off: Mapped[date] = mapped_column(Date)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    metric_count: Mapped[int] = mapped_column(Integer)
    value_count: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    audit_head_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head_hash: Mapped[str] = mapped_column(String(64))


class MetricValue(Base):
    """One value of one metric for one area (or organisation) and one period.

    ``period`` is the first day of the month (or quarter), or the Monday of the week.
    ``denominator`` is null for counts and amounts; ``value`` is null where the
    denominator is zero (nothing to divide by is not zero per cent).
    """

    __tablename__ = "metric_value"
    __table_args__ = (
        CheckConstraint(
            "area_kind IN ('system', 'place', 'neighbourhood', 'practice', 'organisation')",
            name="area_kind_known",
        ),
        Index("ix_metric_value_snapshot_area", "snapshot_id", "area_code"),
    )

    snapshot_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("metric_snapshot.id"), primary_key=True
    )
    metric_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    area_kind: Mapped[str] = mapped_column(String(16))
    numerator: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    denominator: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)


class MetricRebase(Base):
    """An agreed SPC rebase: limits restart at ``rebase_date`` for a metric.

    ``area_code`` null means every area. Stored as data with who agreed it and why,
    because rebasing is a decision, never automatic.
    """

    __tablename__ = "metric_rebase"
    __table_args__ = (Index("ix_metric_rebase_metric_area", "metric_id", "area_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[str] = mapped_column(String(64))
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    rebase_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    agreed_by: Mapped[str] = mapped_column(String(64))
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
