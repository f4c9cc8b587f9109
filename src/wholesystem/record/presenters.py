"""Data-quality figures for the pages and their CSVs: plain rows from the ingest tables."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wholesystem.record.models import IngestRun, QuarantineRow, RunStatus
from wholesystem.record.schemas import IDENTITY_COLUMNS

__all__ = [
    "QUARANTINE_CSV_COLUMNS",
    "RUN_CSV_COLUMNS",
    "SUMMARY_CSV_COLUMNS",
    "WITHHELD",
    "SummaryRow",
    "list_runs",
    "partner_label",
    "partner_labels",
    "quarantine_csv_rows",
    "quarantine_rows",
    "raw_text",
    "run_csv_rows",
    "shown_message",
    "shown_raw",
    "summary_csv_rows",
    "summary_rows",
]

WITHHELD = "(withheld)"


def partner_label(code: str, names: Mapping[str, str]) -> str:
    """'Hill Surgery (A00001)'; a code the footprint does not name, alone."""
    name = names.get(code)
    return f"{name} ({code})" if name else code


def partner_labels(codes: Iterable[str], names: Mapping[str, str]) -> dict[str, str]:
    """:func:`partner_label` of each code, by code."""
    return {code: partner_label(code, names) for code in codes}


_SHOW_CHARS = 200


@dataclass(frozen=True)
class SummaryRow:
    """One partner and dataset: its current files and rows."""

    org_code: str
    dataset: str
    files_loaded: int
    files_rejected: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    last_load: datetime | None

    @property
    def quarantine_rate(self) -> str:
        """Share of rows read that are in quarantine, as a percentage."""
        if not self.rows_read:
            return "-"
        return f"{100 * self.rows_quarantined / self.rows_read:.2f}%"


def _filters(query: Any, org: str | None, dataset: str | None) -> Any:
    if org:
        query = query.where(IngestRun.org_code == org)
    if dataset:
        query = query.where(IngestRun.dataset == dataset)
    return query


def summary_rows(
    db: Session, org: str | None = None, dataset: str | None = None
) -> list[SummaryRow]:
    """Per partner and dataset: loaded (current) files and rows, rejected files, last load."""
    loaded = _filters(
        select(
            IngestRun.org_code,
            IngestRun.dataset,
            func.count(),
            func.sum(IngestRun.rows_read),
            func.sum(IngestRun.rows_loaded),
            func.sum(IngestRun.rows_quarantined),
            func.max(IngestRun.finished_at),
        )
        .where(IngestRun.status == RunStatus.loaded)
        .group_by(IngestRun.org_code, IngestRun.dataset),
        org,
        dataset,
    )
    rejected = _filters(
        select(IngestRun.org_code, IngestRun.dataset, func.count())
        .where(IngestRun.status == RunStatus.rejected)
        .group_by(IngestRun.org_code, IngestRun.dataset),
        org,
        dataset,
    )
    table: dict[tuple[str, str], SummaryRow] = {}
    for o, d, n, read, ok, bad, last in db.execute(loaded):
        table[(o, d)] = SummaryRow(o, d, n, 0, int(read or 0), int(ok or 0), int(bad or 0), last)
    for o, d, n in db.execute(rejected):
        base = table.get((o, d)) or SummaryRow(o, d, 0, 0, 0, 0, 0, None)
        table[(o, d)] = SummaryRow(
            o,
            d,
            base.files_loaded,
            int(n),
            base.rows_read,
            base.rows_loaded,
            base.rows_quarantined,
            base.last_load,
        )
    return [table[k] for k in sorted(table)]


SUMMARY_CSV_COLUMNS = (
    "org_code",
    "dataset",
    "files_loaded",
    "files_rejected",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "quarantine_rate",
    "last_load",
)


def summary_csv_rows(rows: Sequence[SummaryRow]) -> list[list[object]]:
    """The summary table as CSV rows."""
    return [
        [
            r.org_code,
            r.dataset,
            r.files_loaded,
            r.files_rejected,
            r.rows_read,
            r.rows_loaded,
            r.rows_quarantined,
            r.quarantine_rate,
            r.last_load.isoformat() if r.last_load else "",
        ]
        for r in rows
    ]


def list_runs(
    db: Session,
    org: str | None = None,
    dataset: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[IngestRun]:
    """Ingest runs, newest first."""
    query = _filters(select(IngestRun), org, dataset)
    if status:
        query = query.where(IngestRun.status == status)
    return list(db.scalars(query.order_by(IngestRun.id.desc()).limit(limit)))


RUN_CSV_COLUMNS = (
    "run_id",
    "org_code",
    "dataset",
    "file_path",
    "sha256",
    "format",
    "status",
    "reason",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "actor",
    "started_at",
    "finished_at",
    "superseded_by",
)


def run_csv_rows(runs: Sequence[IngestRun]) -> list[list[object]]:
    """Runs as CSV rows."""
    return [
        [
            r.id,
            r.org_code,
            r.dataset,
            r.file_path,
            r.sha256,
            r.format,
            r.status,
            r.reason,
            r.rows_read,
            r.rows_loaded,
            r.rows_quarantined,
            r.actor,
            r.started_at.isoformat(),
            r.finished_at.isoformat() if r.finished_at else "",
            r.superseded_by or "",
        ]
        for r in runs
    ]


def quarantine_rows(
    db: Session, run_id: int, rule: str | None = None, status: str | None = None
) -> list[QuarantineRow]:
    """The run's quarantined rows in line order, optionally one rule or status."""
    query = select(QuarantineRow).where(QuarantineRow.run_id == run_id)
    if rule:
        query = query.where(QuarantineRow.rule == rule)
    if status:
        query = query.where(QuarantineRow.status == status)
    return list(db.scalars(query.order_by(QuarantineRow.line, QuarantineRow.id)))


def shown_raw(raw: dict[str, Any], identifiable: bool) -> dict[str, str]:
    """The raw row as text per column; identity values withheld unless ``identifiable``."""
    shown: dict[str, str] = {}
    for key, value in raw.items():
        if key == "_key":
            continue
        if not identifiable and (key in IDENTITY_COLUMNS or key == "_line"):
            shown[key] = WITHHELD if value not in (None, "") else ""
        else:
            shown[key] = "" if value is None else str(value)
    return shown


def raw_text(raw: dict[str, Any], identifiable: bool) -> str:
    """The raw row on one line, long values cut for display."""
    parts = []
    for key, value in shown_raw(raw, identifiable).items():
        if len(value) > _SHOW_CHARS:
            value = f"{value[:_SHOW_CHARS]}… ({len(value):,} characters)"
        parts.append(f"{key}={value}")
    return "; ".join(parts)


QUARANTINE_CSV_COLUMNS = ("row_id", "line", "column", "rule", "message", "status", "raw_row")


def quarantine_csv_rows(rows: Sequence[QuarantineRow], identifiable: bool) -> list[list[object]]:
    """Quarantined rows as CSV rows (the raw row as JSON text)."""
    return [
        [
            q.id,
            q.line,
            q.column_name,
            q.rule,
            shown_message(q, identifiable),
            q.status,
            json.dumps(shown_raw(q.raw, identifiable), ensure_ascii=False),
        ]
        for q in rows
    ]


def shown_message(row: QuarantineRow, identifiable: bool) -> str:
    """The row's problems; quoted identity values withheld unless ``identifiable``."""
    message = row.message
    if identifiable:
        return message
    for key in IDENTITY_COLUMNS:
        value = row.raw.get(key)
        if value:
            text = str(value).strip()[:60]
            message = re.sub("'" + re.escape(text) + r"(\.\.\.)?'", f"'{WITHHELD}'", message)
    return message
