"""Record each pipeline step's runs, so everyone can see the state of the data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.store.db import session_scope, utcnow
from wholesystem.store.models import PipelineRun

__all__ = ["RunRecord", "last_success", "latest_runs", "recorded_run"]


@dataclass
class RunRecord:
    """What a step reports while it runs; written when it ends."""

    summary: str = ""
    details: dict[str, object] = field(default_factory=dict)


@contextmanager
def recorded_run(factory: sessionmaker[Session], step: str) -> Iterator[RunRecord]:
    """Record a run of ``step``: 'running' now, then 'succeeded' or 'failed' with the reason."""
    with session_scope(factory) as s:
        run = PipelineRun(step=step, status="running", summary="", details={})
        s.add(run)
        s.flush()
        run_id = run.id
    record = RunRecord()
    try:
        yield record
    except BaseException as exc:
        with session_scope(factory) as s:
            row = s.get_one(PipelineRun, run_id)
            row.status, row.finished_at = "failed", utcnow()
            row.summary = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    with session_scope(factory) as s:
        row = s.get_one(PipelineRun, run_id)
        row.status, row.finished_at = "succeeded", utcnow()
        row.summary, row.details = record.summary, record.details


def latest_runs(session: Session) -> list[PipelineRun]:
    """The most recent run of each step, most recent first."""
    newest = (
        select(PipelineRun.step, func.max(PipelineRun.id).label("id"))
        .group_by(PipelineRun.step)
        .subquery()
    )
    query = select(PipelineRun).join(newest, PipelineRun.id == newest.c.id)
    return sorted(session.scalars(query), key=lambda r: r.started_at, reverse=True)


def last_success(session: Session, step: str) -> datetime | None:
    """When ``step`` last finished successfully."""
    return session.scalar(
        select(func.max(PipelineRun.finished_at)).where(
            PipelineRun.step == step, PipelineRun.status == "succeeded"
        )
    )
