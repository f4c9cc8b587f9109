"""Store-owned tables (pipeline runs) and the registry of every capability's models."""

from __future__ import annotations

import importlib
from datetime import datetime

from sqlalchemy import JSON, Integer, MetaData, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = ["MODEL_MODULES", "PipelineRun", "all_metadata"]

# Every module that declares tables; Alembic and the test suite import them all.
MODEL_MODULES = (
    "wholesystem.store.models",
    "wholesystem.footprint.models",
    "wholesystem.access.models",
    "wholesystem.record.models",
    "wholesystem.metrics.models",
    "wholesystem.finance.models",
    "wholesystem.governance.models",
    "wholesystem.governance.meetings.models",
    "wholesystem.governance.concerns.models",
    "wholesystem.governance.plan.models",
    "wholesystem.population.models",
)


class PipelineRun(Base):
    """One run of a pipeline step, so the home page can show the state of the data."""

    __tablename__ = "pipeline_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # running, succeeded, failed
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


def all_metadata() -> MetaData:
    """Import every capability's models and return the shared metadata."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
