"""Server-side sessions and CSRF tokens. Pure of the web framework: the middleware calls these.

The cookie carries a random token; the database keeps only its SHA-256, so a copy of the
database cannot be used to sign in as anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wholesystem.access.models import IP_LENGTH, USER_AGENT_LENGTH, AuthSession, User
from wholesystem.access.permissions import Role

__all__ = [
    "LAST_SEEN_GRANULARITY",
    "LoadedSession",
    "SessionPolicy",
    "SessionState",
    "anonymous_csrf_token",
    "load_session",
    "new_token",
    "revoke_session",
    "session_csrf_token",
    "start_session",
    "token_id",
    "tokens_match",
]

# last_seen_at is written at most this often per session, not on every request.
LAST_SEEN_GRANULARITY = timedelta(seconds=60)


def new_token() -> str:
    """A fresh unguessable token (256 bits) for a cookie."""
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    """The database key for a cookie token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last: idle minutes and an absolute cap in hours."""

    idle_minutes: int = 30
    max_hours: int = 12


class SessionState(StrEnum):
    valid = "valid"
    missing = "missing"  # no such session, revoked, or its user is no longer usable
    expired = "expired"


@dataclass(frozen=True)
class LoadedSession:
    """What a cookie token resolves to. ``user`` and ``session`` only when ``state`` is valid."""

    state: SessionState
    session: AuthSession | None = None
    user: User | None = None


def start_session(
    db: Session,
    user: User,
    *,
    policy: SessionPolicy,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    replaces: str | None = None,
) -> tuple[str, AuthSession]:
    """Open a new session for ``user``; returns the cookie token and the row.

    ``replaces`` is the token the browser presented before signing in: that session is
    revoked, so a token planted before sign-in (session fixation) is worthless after it.
    """
    if replaces:
        revoke_session(db, replaces, now=now)
    token = new_token()
    row = AuthSession(
        id=token_id(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=policy.max_hours),
        csrf_secret=secrets.token_hex(32),
        ip=(ip or None) and ip[:IP_LENGTH],
        user_agent=(user_agent or None) and user_agent[:USER_AGENT_LENGTH],
    )
    db.add(row)
    db.flush()
    return token, row


def revoke_session(db: Session, token: str, *, now: datetime) -> AuthSession | None:
    """Revoke the session for ``token`` (if any, and not already revoked); returns it."""
    row = db.get(AuthSession, token_id(token))
    if row is None:
        return None
    if row.revoked_at is None:
        db.execute(
            update(AuthSession)
            .where(AuthSession.id == row.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        row.revoked_at = now
    return row


def load_session(db: Session, token: str, *, policy: SessionPolicy, now: datetime) -> LoadedSession:
    """Resolve a cookie token, enforcing idle and absolute expiry and sliding ``last_seen_at``.

    The caller commits (the sliding update is written at most once a minute).
    """
    if not token or len(token) > 256:
        return LoadedSession(SessionState.missing)
    found = db.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == token_id(token))
    ).one_or_none()
    if found is None:
        return LoadedSession(SessionState.missing)
    row, user = found
    if row.revoked_at is not None or not user.active or user.role not in Role.__members__:
        return LoadedSession(SessionState.missing)
    idle_deadline = row.last_seen_at + timedelta(minutes=policy.idle_minutes)
    absolute_deadline = min(row.expires_at, row.created_at + timedelta(hours=policy.max_hours))
    if now >= idle_deadline or now >= absolute_deadline:
        return LoadedSession(SessionState.expired)
    if now - row.last_seen_at >= LAST_SEEN_GRANULARITY:
        row.last_seen_at = now
        db.flush()
    return LoadedSession(SessionState.valid, row, user)


def _sign(secret_key: str, message: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def session_csrf_token(secret_key: str, session: AuthSession) -> str:
    """The CSRF token for pages of a signed-in session (bound to that session)."""
    return _sign(secret_key, f"session:{session.id}:{session.csrf_secret}")


def anonymous_csrf_token(secret_key: str, cookie_value: str) -> str:
    """The CSRF token matching an anonymous visitor's ``ws_csrf`` cookie (double submit)."""
    return _sign(secret_key, f"anonymous:{cookie_value}")


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
