"""User accounts: create, change password, deactivate, and sign-in with throttling.

Service functions work inside the caller's transaction and never commit; every change
is audited in that same transaction.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.errors import (
    InvalidCredentials,
    InvalidUsername,
    TooManyAttempts,
    UnknownOrganisation,
    UnknownRole,
    UnknownUser,
    UsernameTaken,
)
from wholesystem.access.models import (
    IP_LENGTH,
    USERNAME_LENGTH,
    AuthSession,
    LoginAttempt,
    User,
)
from wholesystem.access.passwords import (
    check_password_policy,
    dummy_verify,
    hash_password,
    verify_password,
)
from wholesystem.access.permissions import Role
from wholesystem.footprint.models import Organisation
from wholesystem.store.db import utcnow

__all__ = [
    "USERNAME_PATTERN",
    "Throttle",
    "authenticate",
    "check_throttle",
    "create_user",
    "deactivate_user",
    "get_user",
    "list_users",
    "normalise_username",
    "parse_role",
    "purge_old_records",
    "revoke_user_sessions",
    "set_password",
]

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def normalise_username(username: str) -> str:
    """The stored form of a username: trimmed and lower-case."""
    return username.strip().lower()


def _valid_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise InvalidUsername(
            f"username '{username.strip()}' is not allowed: use 2 to {USERNAME_LENGTH} "
            "characters, lower-case letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    return name


def parse_role(role: Role | str) -> Role:
    """``role`` as a :class:`Role`, or :class:`UnknownRole` listing the choices."""
    if isinstance(role, Role):
        return role
    try:
        return Role(role.strip())
    except ValueError:
        raise UnknownRole(role, [r.value for r in Role]) from None


def _check_organisation(session: Session, code: str) -> str:
    code = code.strip().upper()
    organisation = session.get(Organisation, code)
    if organisation is None:
        raise UnknownOrganisation(code)
    if not organisation.active:
        raise UnknownOrganisation(code, inactive=True)
    return code


def get_user(session: Session, username: str) -> User | None:
    """The account called ``username`` (any case), or None."""
    name = normalise_username(username)
    return session.execute(select(User).where(User.username == name)).scalar_one_or_none()


def _require_user(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise UnknownUser(normalise_username(username))
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.execute(select(User).order_by(User.username)).scalars())


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role | str,
    organisation_code: str,
    password: str,
    email: str | None = None,
    actor: str,
) -> User:
    """Create an active account; raise an :class:`AccessError` saying exactly what is wrong."""
    name = _valid_username(username)
    display = display_name.strip()
    if not display:
        raise InvalidUsername("enter the person's name (display name)")
    if len(display) > 200:
        raise InvalidUsername("the display name must be 200 characters or fewer")
    chosen_role = parse_role(role)
    code = _check_organisation(session, organisation_code)
    clean_email = email.strip() if email else None
    if clean_email is not None and (
        len(clean_email) > 320 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", clean_email)
    ):
        raise InvalidUsername(f"'{clean_email}' is not an email address")
    if get_user(session, name) is not None:
        raise UsernameTaken(name)
    check_password_policy(password, name)
    user = User(
        username=name,
        display_name=display,
        email=clean_email,
        password_hash=hash_password(password),
        role=chosen_role.value,
        organisation_code=code,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user_created",
        object_type="user",
        object_id=name,
        detail={"role": chosen_role.value, "organisation_code": code, "display_name": display},
    )
    return user


def revoke_user_sessions(session: Session, user: User, *, now: datetime | None = None) -> int:
    """Revoke every live session of ``user``; returns how many were revoked."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_password(session: Session, *, username: str, password: str, actor: str) -> User:
    """Give ``username`` a new password (policy-checked) and sign out all their sessions."""
    user = _require_user(session, username)
    check_password_policy(password, user.username)
    user.password_hash = hash_password(password)
    revoked = revoke_user_sessions(session, user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="password_set",
        object_type="user",
        object_id=user.username,
        detail={"sessions_revoked": revoked},
    )
    return user


def deactivate_user(session: Session, *, username: str, actor: str) -> User:
    """Stop ``username`` signing in and end their sessions. The account and its history stay."""
    user = _require_user(session, username)
    revoked = revoke_user_sessions(session, user)
    changed = user.active
    user.active = False
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user_deactivated",
        object_type="user",
        object_id=user.username,
        detail={"sessions_revoked": revoked, "was_active": changed},
    )
    return user


def purge_old_records(session: Session, *, now: datetime, keep_days: int = 30) -> None:
    """Delete sign-in attempts and ended sessions older than ``keep_days``.

    Throttling needs only the last window of attempts, and the audit log keeps every
    sign-in and sign-out for good; this stops the two working tables growing for ever.
    """
    cutoff = now - timedelta(days=keep_days)
    session.execute(
        delete(LoginAttempt)
        .where(LoginAttempt.at < cutoff)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(AuthSession)
        .where(AuthSession.expires_at < cutoff)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Throttle:
    """Sign-in throttling: at most ``max_failures`` per username or address per window."""

    max_failures: int = 5
    window_minutes: int = 15


def _minutes_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds() / 60))


def check_throttle(
    session: Session, *, username: str, ip: str, throttle: Throttle, now: datetime
) -> None:
    """Raise :class:`TooManyAttempts` if this username or address has used up its failures.

    A username's count restarts after a successful sign-in as that user; an address's
    does not (one valid account must not unlock guessing at others). The lock lifts as
    soon as fewer than ``max_failures`` failures remain inside the window.
    """
    since = now - timedelta(minutes=throttle.window_minutes)
    window = timedelta(minutes=throttle.window_minutes)
    last_success = session.execute(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded.is_(True)
        )
    ).scalar_one_or_none()
    user_since = max(since, last_success) if last_success is not None else since
    queries = (
        select(LoginAttempt.at).where(
            LoginAttempt.username == username,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > user_since,
        ),
        select(LoginAttempt.at).where(
            LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.at > since
        ),
    )
    unlock_at: datetime | None = None
    for query in queries:
        times = sorted(session.execute(query).scalars())
        if len(times) >= throttle.max_failures:
            # The lock lifts when the failure that tipped the count leaves the window.
            lifts = times[len(times) - throttle.max_failures] + window
            unlock_at = lifts if unlock_at is None else max(unlock_at, lifts)
    if unlock_at is not None and unlock_at > now:
        raise TooManyAttempts(_minutes_until(unlock_at, now))


def authenticate(
    session: Session,
    username: str,
    password: str,
    ip: str,
    *,
    throttle: Throttle | None = None,
    now: datetime | None = None,
) -> User:
    """Check a sign-in; return the user or raise.

    Raises :class:`TooManyAttempts` when the username or address is locked out (the
    password is not even checked) and :class:`InvalidCredentials` for an unknown user, a
    deactivated account or a wrong password alike. Every attempt is recorded for
    throttling and audited (``login`` or ``login_failed``); the caller must commit on
    failure as well as on success.
    """
    throttle = throttle or Throttle()
    now = now or utcnow()
    name = normalise_username(username)[:USERNAME_LENGTH] or "(blank)"
    address = (ip or "unknown")[:IP_LENGTH]

    def record(succeeded: bool, reason: str | None) -> None:
        session.add(LoginAttempt(username=name, ip=address, at=now, succeeded=succeeded))
        detail: dict[str, str] = {"ip": address}
        if reason:
            detail["reason"] = reason
        audit.append(
            session,
            actor=name,
            action="login" if succeeded else "login_failed",
            object_type="user",
            object_id=name,
            detail=detail,
            at=now,
        )
        session.flush()

    try:
        check_throttle(session, username=name, ip=address, throttle=throttle, now=now)
    except TooManyAttempts:
        audit.append(
            session,
            actor=name,
            action="login_failed",
            object_type="user",
            object_id=name,
            detail={"ip": address, "reason": "locked_out"},
            at=now,
        )
        session.flush()
        raise

    user = get_user(session, name)
    if user is None:
        dummy_verify(password)
        record(False, "unknown_user")
        raise InvalidCredentials()
    matches, new_hash = verify_password(user.password_hash, password)
    if not matches:
        record(False, "wrong_password")
        raise InvalidCredentials()
    if not user.active:
        record(False, "inactive_account")
        raise InvalidCredentials()
    if new_hash is not None:
        user.password_hash = new_hash
    user.last_login_at = now
    record(True, None)
    return user
