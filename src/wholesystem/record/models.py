"""Record ingest's operational tables: one row per file ingested and its quarantined rows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = ["IngestRun", "QuarantineRow", "QuarantineStatus", "RunStatus"]


class RunStatus(StrEnum):
    """Where an ingest run ended up."""

    running = "running"
    loaded = "loaded"  # its good rows are in the staged tables
    rejected = "rejected"  # a file-level fault: nothing written
    superseded = "superseded"  # a corrected version of the same file replaced its rows


class QuarantineStatus(StrEnum):
    """What became of a quarantined row."""

    open = "open"  # still failing
    replayed = "replayed"  # passed when re-validated unchanged, and was staged
    fixed = "fixed"  # passed after a correction, and was staged


class IngestRun(Base):
    """One file through ingest: who, when, which file (and its hash), and the row counts."""

    __tablename__ = "ingest_run"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'loaded', 'rejected', 'superseded')", name="status_known"
        ),
        CheckConstraint(
            "status IN ('running', 'rejected') OR rows_read = rows_loaded + rows_quarantined",
            name="rows_balance",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    org_code: Mapped[str] = mapped_column(String(16), index=True)
    dataset: Mapped[str] = mapped_column(String(32), index=True)
    file_path: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    superseded_by: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("ingest_run.id"), nullable=True
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QuarantineRow(Base):
    """A row that failed validation: where it was, why, and the row as sent."""

    __tablename__ = "quarantine_row"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'replayed', 'fixed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("ingest_run.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    column_name: Mapped[str] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True, default=QuarantineStatus.open)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
