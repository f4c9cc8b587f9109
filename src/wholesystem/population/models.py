"""The risk-model registry: one row per trained model version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = ["RiskModel"]


class RiskModel(Base):
    """A trained risk model: its data window, validation figures and the file it lives in.

    The model file sits under the data directory; ``sha256`` is checked every time it is
    loaded, so a changed or swapped file is refused. At most one row is ``active``.
    """

    __tablename__ = "population_model"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(128))
    train_index_date: Mapped[date] = mapped_column(Date)
    validation_index_date: Mapped[date] = mapped_column(Date)
    features: Mapped[list[str]] = mapped_column(JSON)
    n_train: Mapped[int] = mapped_column(Integer)
    n_validate: Mapped[int] = mapped_column(Integer)
    excluded_opted_out: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    subgroups: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
