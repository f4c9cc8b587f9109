"""Access tables: users, server-side sessions, sign-in attempts and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = [
    "AuditEvent",
    "AuditHead",
    "AuthSession",
    "BreakGlassGrant",
    "CareRelationship",
    "LoginAttempt",
    "OptOut",
    "User",
]

USERNAME_LENGTH = 64
IP_LENGTH = 64
USER_AGENT_LENGTH = 300
PERSON_ID_LENGTH = 64


class User(Base):
    """A person who signs in. ``username`` is stored lower-case; ``role`` is a Role value."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint("username = lower(username)", name="username_lower_case"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    organisation_code: Mapped[str] = mapped_column(
        String(16), ForeignKey("organisation.code"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuthSession(Base):
    """A server-side session. ``id`` is the SHA-256 of the cookie's token, never the token."""

    __tablename__ = "auth_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(IP_LENGTH), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttempt(Base):
    """One sign-in attempt, kept for throttling by username and by address."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), index=True)
    ip: Mapped[str] = mapped_column(String(IP_LENGTH), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """One entry of the append-only audit log; ``hash`` chains it to the entry before.

    The database refuses UPDATE and DELETE on this table (triggers in migration 0003).
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(USERNAME_LENGTH), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row recording the last sequence number and hash of the audit log.

    Updated in the same transaction as every append, so removing rows from the end of
    the log (which leaves a valid but shorter chain) is detected.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class CareRelationship(Base):
    """A person on a caseload of (or referred to) an organisation, optionally one team.

    Open while ``ended_at`` is empty. Written by the care capability through
    :func:`wholesystem.access.relationships.add_care_relationship`; each write is audited.
    """

    __tablename__ = "care_relationship"
    __table_args__ = (
        CheckConstraint("kind IN ('caseload', 'referral')", name="kind_known"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        Index("ix_care_relationship_person_org", "person_id", "organisation_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH))
    organisation_code: Mapped[str] = mapped_column(
        String(16), ForeignKey("organisation.code"), index=True
    )
    team: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    ended_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH), nullable=True)


class BreakGlassGrant(Base):
    """Emergency access by one user to one person's record: a stated reason, time-boxed.

    Every grant waits for review (``reviewed_at`` empty) until a reviewer other than the
    user records an outcome; the review columns are all set together or all empty.
    """

    __tablename__ = "break_glass_grant"
    __table_args__ = (
        CheckConstraint("expires_at > started_at", name="expires_after_start"),
        CheckConstraint(
            "review_outcome IS NULL OR review_outcome IN ('appropriate', 'inappropriate')",
            name="outcome_known",
        ),
        CheckConstraint(
            "(reviewed_at IS NULL AND reviewed_by_id IS NULL AND review_outcome IS NULL)"
            " OR (reviewed_at IS NOT NULL AND reviewed_by_id IS NOT NULL"
            " AND review_outcome IS NOT NULL)",
            name="review_complete",
        ),
        CheckConstraint(
            "reviewed_by_id IS NULL OR reviewed_by_id <> user_id", name="not_self_reviewed"
        ),
        Index("ix_break_glass_grant_user_person", "user_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("app_user.id"))
    person_id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH), index=True)
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("app_user.id"), nullable=True
    )
    review_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class OptOut(Base):
    """A national data opt-out by NHS number; withdrawn when ``withdrawn_at`` is set.

    Rows are history: re-recording after a withdrawal adds a new row. At most one row per
    NHS number is current (a partial unique index).
    """

    __tablename__ = "opt_out"
    __table_args__ = (
        CheckConstraint("length(nhs_number) = 10", name="nhs_number_ten_digits"),
        CheckConstraint(
            "withdrawn_at IS NULL OR withdrawn_at >= recorded_at", name="withdrawn_after_recorded"
        ),
        Index(
            "uq_opt_out_current",
            "nhs_number",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nhs_number: Mapped[str] = mapped_column(String(10), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    source: Mapped[str] = mapped_column(String(100))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH), nullable=True)
