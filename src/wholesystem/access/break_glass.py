"""Break-glass: emergency access to one person's record without a relationship.

A care-team member who needs a record they have no relationship to states why (at least
20 characters), and gets a grant to that one person for ``Settings.break_glass_minutes``
(default 60). Every grant is flagged for review: a reviewer (``review_break_glass``) who is
not the user records whether it was appropriate. Starting and reviewing are audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.errors import AccessError
from wholesystem.access.models import BreakGlassGrant, User
from wholesystem.access.permissions import Permission, Role, has_permission
from wholesystem.config import Settings
from wholesystem.store.db import utcnow

__all__ = [
    "DEFAULT_BREAK_GLASS_MINUTES",
    "REASON_MAX_LENGTH",
    "REASON_MIN_LENGTH",
    "REVIEW_NOTE_MAX_LENGTH",
    "AlreadyReviewed",
    "BreakGlassError",
    "BreakGlassNotPermitted",
    "GrantNotFound",
    "GrantStatus",
    "ReasonTooLong",
    "ReasonTooShort",
    "ReviewNoteTooLong",
    "ReviewOutcome",
    "SelfReview",
    "UnknownOutcome",
    "active_grant",
    "grant_status",
    "grant_with_users",
    "list_grants",
    "pending_reviews",
    "review_grant",
    "start_break_glass",
]

REASON_MIN_LENGTH = 20
REASON_MAX_LENGTH = 2000
REVIEW_NOTE_MAX_LENGTH = 2000
DEFAULT_BREAK_GLASS_MINUTES: int = Settings.model_fields["break_glass_minutes"].default


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


class BreakGlassError(AccessError, ValueError):
    """Break-glass cannot go ahead; ``str(error)`` says why, fit to show the person."""


class ReasonTooShort(BreakGlassError):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"Give a reason of at least {REASON_MIN_LENGTH} characters for opening this "
            f"record (you gave {length})"
        )


class ReasonTooLong(BreakGlassError):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"The reason must be {REASON_MAX_LENGTH:,} characters or fewer (you gave {length:,})"
        )


class BreakGlassNotPermitted(BreakGlassError):
    """The user's role never sees identifiable records, or the user is deactivated."""


class GrantNotFound(BreakGlassError):
    def __init__(self, grant_id: int) -> None:
        super().__init__(f"There is no break-glass grant {grant_id}")


class SelfReview(BreakGlassError):
    def __init__(self) -> None:
        super().__init__("You cannot review your own break-glass access; another reviewer must")


class AlreadyReviewed(BreakGlassError):
    def __init__(self, grant_id: int) -> None:
        super().__init__(f"Break-glass grant {grant_id} has already been reviewed")


class UnknownOutcome(BreakGlassError):
    def __init__(self, outcome: str) -> None:
        super().__init__(
            f"Choose whether the access was appropriate or inappropriate (got {outcome!r})"
        )


class ReviewNoteTooLong(BreakGlassError):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"The review note must be {REVIEW_NOTE_MAX_LENGTH:,} characters or fewer "
            f"(you gave {length:,})"
        )


class ReviewOutcome(StrEnum):
    """The outcomes a reviewer may record."""

    appropriate = "appropriate"
    inappropriate = "inappropriate"


class GrantStatus(StrEnum):
    """A grant's state at a moment, for listing."""

    active = "active"
    expired = "expired"


def grant_status(grant: BreakGlassGrant, now: datetime) -> GrantStatus:
    """``active`` while the grant lasts, else ``expired``."""
    return GrantStatus.active if grant.started_at <= now < grant.expires_at else GrantStatus.expired


def _clean_reason(reason: str) -> str:
    text = " ".join(reason.split())  # trimmed, with runs of spaces and newlines collapsed
    if len(text) < REASON_MIN_LENGTH:
        raise ReasonTooShort(len(text))
    if len(text) > REASON_MAX_LENGTH:
        raise ReasonTooLong(len(text))
    return text


def start_break_glass(
    session: Session,
    user: User,
    person_id: str,
    reason: str,
    *,
    now: datetime | None = None,
    minutes: int | None = None,
) -> BreakGlassGrant:
    """Grant ``user`` access to ``person_id``'s record for ``minutes`` from ``now``.

    Pass ``minutes=settings.break_glass_minutes`` (the web app's settings); without it
    the setting's default (60) applies. The grant is flagged for review and the start is
    audited as ``break_glass.start`` in the caller's transaction (the caller commits).
    """
    stored = session.get(User, user.id)
    if stored is None or not stored.active:
        raise BreakGlassNotPermitted("Your account is not active")
    try:
        role = Role(stored.role)
    except ValueError:
        role = None
    if role is None or not has_permission(role, Permission.view_identifiable_records):
        raise BreakGlassNotPermitted(
            "Your role does not allow access to identifiable records, even in an emergency"
        )
    person = person_id.strip()
    if not person:
        raise BreakGlassError("Say whose record you need to open")
    text = _clean_reason(reason)
    length = DEFAULT_BREAK_GLASS_MINUTES if minutes is None else minutes
    if length < 1:
        raise BreakGlassError("A break-glass grant must last at least a minute")
    start = now or utcnow()
    grant = BreakGlassGrant(
        user_id=stored.id,
        person_id=person,
        reason=text,
        started_at=start,
        expires_at=start + timedelta(minutes=length),
    )
    session.add(grant)
    session.flush()
    audit.append(
        session,
        actor=stored.username,
        action="break_glass.start",
        object_type="person",
        object_id=person,
        detail={
            "grant_id": grant.id,
            "reason": text,
            "expires_at": grant.expires_at.isoformat(),
            "organisation_code": stored.organisation_code,
        },
        at=start,
    )
    return grant


def active_grant(
    session: Session, user: _HasId, person_id: str, *, now: datetime | None = None
) -> BreakGlassGrant | None:
    """The user's grant to ``person_id`` that lasts longest beyond ``now``, or None."""
    moment = now or utcnow()
    return session.execute(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.user_id == user.id,
            BreakGlassGrant.person_id == person_id.strip(),
            BreakGlassGrant.started_at <= moment,
            BreakGlassGrant.expires_at > moment,
        )
        .order_by(BreakGlassGrant.expires_at.desc(), BreakGlassGrant.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def review_grant(
    session: Session,
    grant_id: int,
    reviewer: _HasId,
    outcome: str,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> BreakGlassGrant:
    """Record a reviewer's outcome for a grant. Audited as ``break_glass.review``.

    The reviewer must hold ``review_break_glass``, may not review their own grant, and a
    grant is reviewed once.
    """
    stored = session.get(User, reviewer.id)
    if stored is None or not stored.active:
        raise BreakGlassNotPermitted("Your account is not active")
    try:
        role = Role(stored.role)
    except ValueError:
        role = None
    if role is None or not has_permission(role, Permission.review_break_glass):
        raise BreakGlassNotPermitted("Your role does not allow reviewing break-glass access")
    grant = session.get(BreakGlassGrant, grant_id)
    if grant is None:
        raise GrantNotFound(grant_id)
    if grant.user_id == stored.id:
        raise SelfReview()
    if grant.reviewed_at is not None:
        raise AlreadyReviewed(grant_id)
    if outcome not in {o.value for o in ReviewOutcome}:
        raise UnknownOutcome(outcome)
    cleaned = note.strip() if note else ""
    if len(cleaned) > REVIEW_NOTE_MAX_LENGTH:
        raise ReviewNoteTooLong(len(cleaned))
    moment = now or utcnow()
    grant.reviewed_at = moment
    grant.reviewed_by_id = stored.id
    grant.review_outcome = outcome
    grant.review_note = cleaned or None
    session.flush()
    audit.append(
        session,
        actor=stored.username,
        action="break_glass.review",
        object_type="break_glass_grant",
        object_id=str(grant.id),
        detail={"person_id": grant.person_id, "outcome": outcome, "note": cleaned},
        at=moment,
    )
    return grant


def list_grants(
    session: Session, *, pending_only: bool = False, username: str | None = None
) -> list[tuple[BreakGlassGrant, User, User | None]]:
    """Grants newest first, each with its user and reviewer (None until reviewed)."""
    query = (
        select(BreakGlassGrant, User)
        .join(User, User.id == BreakGlassGrant.user_id)
        .order_by(BreakGlassGrant.started_at.desc(), BreakGlassGrant.id.desc())
    )
    if pending_only:
        query = query.where(BreakGlassGrant.reviewed_at.is_(None))
    if username:
        query = query.where(User.username == username.strip().lower())
    rows = session.execute(query).all()
    reviewer_ids = {g.reviewed_by_id for g, _ in rows if g.reviewed_by_id is not None}
    reviewers = (
        {u.id: u for u in session.execute(select(User).where(User.id.in_(reviewer_ids))).scalars()}
        if reviewer_ids
        else {}
    )
    return [
        (grant, user, reviewers.get(grant.reviewed_by_id) if grant.reviewed_by_id else None)
        for grant, user in rows
    ]


def grant_with_users(
    session: Session, grant_id: int
) -> tuple[BreakGlassGrant, User, User | None] | None:
    """One grant with its user and reviewer, or None when there is no such grant."""
    grant = session.get(BreakGlassGrant, grant_id)
    if grant is None:
        return None
    user = session.get(User, grant.user_id)
    if user is None:  # pragma: no cover - the foreign key prevents it
        return None
    reviewer = session.get(User, grant.reviewed_by_id) if grant.reviewed_by_id else None
    return grant, user, reviewer


def pending_reviews(session: Session) -> list[BreakGlassGrant]:
    """Grants awaiting review, oldest first."""
    return list(
        session.execute(
            select(BreakGlassGrant)
            .where(BreakGlassGrant.reviewed_at.is_(None))
            .order_by(BreakGlassGrant.started_at, BreakGlassGrant.id)
        ).scalars()
    )
