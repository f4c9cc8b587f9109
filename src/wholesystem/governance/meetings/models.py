"""Meeting tables: meetings of a body, agenda items, papers, attendance, item conflicts,
minutes with errata, and actions.

Locked minutes cannot be changed: a trigger (migration 0010) refuses UPDATE and DELETE of a
``gov_minutes`` row whose status is ``locked``; a correction is a new ``gov_minutes_erratum``
row. Errata and the recorded management of conflicts per item are append-only in the
database, like the decision register's versions.

Member term dates, voting and non-voting seats and joint posts already live in
``gov_member`` and ``gov_person`` (:mod:`wholesystem.governance.models`), so nothing here
duplicates them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime

__all__ = [
    "Action",
    "AgendaItem",
    "Attendance",
    "ItemConflict",
    "Meeting",
    "MeetingStatus",
    "Minutes",
    "MinutesErratum",
    "Paper",
    "Part",
]


class MeetingStatus(StrEnum):
    scheduled = "scheduled"
    held = "held"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Part(StrEnum):
    """The part of the agenda: in public, or private (press and public excluded)."""

    public = "public"
    private = "private"

    @property
    def label(self) -> str:
        return {Part.public: "Public", Part.private: "Private"}[self]


class Meeting(Base):
    """A meeting of a governance body."""

    __tablename__ = "gov_meeting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_body.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    location: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)  # scheduled, held, cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class AgendaItem(Base):
    """One item of a meeting's agenda, in the public or the private part."""

    __tablename__ = "gov_agenda_item"
    __table_args__ = (UniqueConstraint("meeting_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_meeting.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    part: Mapped[str] = mapped_column(String(16))  # public, private
    presenter: Mapped[str] = mapped_column(String(200))
    standing: Mapped[bool] = mapped_column(Boolean, default=False)
    key_decision: Mapped[bool] = mapped_column(Boolean, default=False)
    decision_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("gov_decision.id"), nullable=True
    )
    parties: Mapped[list[str]] = mapped_column(JSON)
    matters: Mapped[list[str]] = mapped_column(JSON)
    # The day the item (and any key decision it carries) went on the published forward plan.
    published_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text, default="")
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome_recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class Paper(Base):
    """A paper for an agenda item; private papers are for board-paper readers only."""

    __tablename__ = "gov_paper"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_agenda_item.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class Attendance(Base):
    """A member's attendance at a meeting: present, apologies or absent."""

    __tablename__ = "gov_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_meeting.id"), index=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class ItemConflict(Base):
    """A conflict of interest on an agenda item and how it was managed (append-only)."""

    __tablename__ = "gov_item_conflict"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_agenda_item.id"), index=True)
    person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    source: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    interest_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("gov_interest.id"), nullable=True
    )
    organisation_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    management: Mapped[list[str]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Minutes(Base):
    """A meeting's minutes: draft, then approved, then locked for good."""

    __tablename__ = "gov_minutes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_meeting.id"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # draft, approved, locked
    approved_by: Mapped[str | None] = mapped_column(String(16), nullable=True)  # body, chair
    approved_at_meeting_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("gov_meeting.id"), nullable=True
    )
    approved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class MinutesErratum(Base):
    """A correction appended to locked minutes (append-only)."""

    __tablename__ = "gov_minutes_erratum"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minutes_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_minutes.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class Action(Base):
    """An action from a meeting: an owner, a due date, chased until it is done."""

    __tablename__ = "gov_action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_meeting.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("gov_agenda_item.id"), nullable=True
    )
    description: Mapped[str] = mapped_column(Text)
    owner_person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open, done
    chase_count: Mapped[int] = mapped_column(Integer, default=0)
    last_chased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    close_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
