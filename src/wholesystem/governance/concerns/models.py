"""Concerns and disputes, and questions put to the system: the tables.

``gov_concern`` is the concern and a summary of where it stands (kept in step by the service);
its history is ``gov_concern_event``, which is append-only in the database itself (migration
0013 adds triggers refusing UPDATE and DELETE). ``open_key`` is set while a concern raised by a
failing metric is open and is unique, so the database itself allows one open concern per metric
and footprint. ``gov_question`` holds questions and comments with their answers; an answered
question cannot be changed or deleted (trigger in 0013).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime

__all__ = ["Concern", "ConcernEvent", "Question"]


class Concern(Base):
    """A concern raised by a partner (or by a failing metric), and where it stands now."""

    __tablename__ = "gov_concern"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text)
    organisations: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16), index=True)  # partner, metric
    metric_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    area_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    snapshot_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    open_key: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_by_name: Mapped[str] = mapped_column(String(200))
    raised_by_org: Mapped[str | None] = mapped_column(String(16), nullable=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    owner_person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    owner_note: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open, resolved
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class ConcernEvent(Base):
    """One step of a concern's history: a stage entered or closed (append-only)."""

    __tablename__ = "gov_concern_event"
    __table_args__ = (UniqueConstraint("concern_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    concern_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_concern.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(8))  # enter, close
    occurred_on: Mapped[date] = mapped_column(Date)
    owner_person_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("gov_person.id"), nullable=True
    )
    days_allowed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Question(Base):
    """A question or comment on a published decision, paper or the plan, and its answer."""

    __tablename__ = "gov_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    subject_kind: Mapped[str] = mapped_column(String(16), index=True)
    subject_ref: Mapped[str] = mapped_column(String(64))
    subject_title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # question, comment
    text: Mapped[str] = mapped_column(Text)
    asker_kind: Mapped[str] = mapped_column(String(16))  # public, member
    asker_name: Mapped[str] = mapped_column(String(200))
    asker_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    asker_username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    asker_role: Mapped[str] = mapped_column(String(64), default="")
    client_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)  # received, answered
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
