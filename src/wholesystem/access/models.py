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
)
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = ["AuditEvent", "AuditHead", "AuthSession", "LoginAttempt", "User"]

USERNAME_LENGTH = 64
IP_LENGTH = 64
USER_AGENT_LENGTH = 300


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
