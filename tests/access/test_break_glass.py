"""Break-glass grants: a stated reason, time-boxed, audited, reviewed by someone else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.access.conftest import UserMaker
from wholesystem.access import audit
from wholesystem.access.break_glass import (
    DEFAULT_BREAK_GLASS_MINUTES,
    AlreadyReviewed,
    BreakGlassError,
    BreakGlassNotPermitted,
    GrantNotFound,
    GrantStatus,
    ReasonTooLong,
    ReasonTooShort,
    ReviewOutcome,
    SelfReview,
    UnknownOutcome,
    active_grant,
    grant_status,
    list_grants,
    pending_reviews,
    review_grant,
    start_break_glass,
)
from wholesystem.access.models import AuditEvent, BreakGlassGrant
from wholesystem.access.permissions import Role
from wholesystem.store.db import session_scope, utcnow

PERSON = "WP0000000042"
REASON = "Collapsed in clinic; need allergies and current medicines now"


def test_default_length_is_the_setting_default() -> None:
    assert DEFAULT_BREAK_GLASS_MINUTES == 60


def test_a_grant_lasts_the_given_minutes_and_is_audited(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    now = utcnow()
    with session_scope(footprint_factory) as s:
        grant = start_break_glass(s, user, f"  {PERSON} ", f"  {REASON}\n", now=now, minutes=15)
        grant_id = grant.id
    with footprint_factory() as s:
        stored = s.get(BreakGlassGrant, grant_id)
        assert stored is not None
        assert stored.person_id == PERSON
        assert stored.reason == REASON
        assert stored.expires_at == now + timedelta(minutes=15)
        assert stored.reviewed_at is None
        assert active_grant(s, user, PERSON, now=now + timedelta(minutes=14)) is not None
        assert active_grant(s, user, PERSON, now=now + timedelta(minutes=15)) is None
        assert active_grant(s, user, PERSON, now=now - timedelta(seconds=1)) is None
        assert grant_status(stored, now) is GrantStatus.active
        assert grant_status(stored, now + timedelta(hours=1)) is GrantStatus.expired
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "break_glass.start")
        ).scalar_one()
        assert (event.actor, event.object_type, event.object_id) == ("edoc", "person", PERSON)
        assert event.detail["reason"] == REASON
        assert event.detail["grant_id"] == grant_id
        assert [g.id for g in pending_reviews(s)] == [grant_id]


def test_without_minutes_the_default_applies(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    now = utcnow()
    with session_scope(footprint_factory) as s:
        grant = start_break_glass(s, user, PERSON, REASON, now=now)
        assert grant.expires_at - grant.started_at == timedelta(minutes=60)


@pytest.mark.parametrize(
    ("reason", "error", "message"),
    [
        ("", ReasonTooShort, "at least 20 characters.*you gave 0"),
        ("   emergency       ", ReasonTooShort, "you gave 9"),
        ("x" * 19, ReasonTooShort, "you gave 19"),
        ("  " + "y" * 19 + "  ", ReasonTooShort, "you gave 19"),
        ("z" * 2001, ReasonTooLong, "2,000 characters or fewer"),
    ],
)
def test_reasons_must_be_real(
    footprint_factory: sessionmaker[Session],
    user_maker: UserMaker,
    reason: str,
    error: type[BreakGlassError],
    message: str,
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    with footprint_factory() as s:
        with pytest.raises(error, match=message) as raised:
            start_break_glass(s, user, PERSON, reason)
        assert isinstance(raised.value, ValueError)
        assert s.execute(select(BreakGlassGrant)).first() is None
        assert s.execute(select(AuditEvent).where(AuditEvent.action.like("break%"))).first() is None


def test_twenty_characters_after_trimming_is_enough(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    with session_scope(footprint_factory) as s:
        assert start_break_glass(s, user, PERSON, "  " + "a" * 20 + "  ").reason == "a" * 20


@pytest.mark.parametrize("role", [Role.analyst, Role.system_admin, Role.governance_lead])
def test_roles_without_identifiable_access_cannot_break_glass(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker, role: Role
) -> None:
    user = user_maker("someone", role, "QXX")
    with footprint_factory() as s, pytest.raises(BreakGlassNotPermitted, match="role"):
        start_break_glass(s, user, PERSON, REASON)


def test_review_by_another_reviewer_is_recorded_once_and_audited(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    reviewer = user_maker("privacy", Role.governance_lead, "QXX")
    with session_scope(footprint_factory) as s:
        grant_id = start_break_glass(s, user, PERSON, REASON).id
    with session_scope(footprint_factory) as s:
        with pytest.raises(UnknownOutcome, match="appropriate or inappropriate"):
            review_grant(s, grant_id, reviewer, "fine")
        reviewed = review_grant(
            s, grant_id, reviewer, ReviewOutcome.inappropriate, "  Not their patient  "
        )
        assert reviewed.review_note == "Not their patient"
    with footprint_factory() as s:
        stored = s.get(BreakGlassGrant, grant_id)
        assert stored is not None
        assert (stored.review_outcome, stored.reviewed_by_id) == ("inappropriate", reviewer.id)
        assert pending_reviews(s) == []
        with pytest.raises(AlreadyReviewed, match="already been reviewed"):
            review_grant(s, grant_id, reviewer, "appropriate")
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "break_glass.review")
        ).scalar_one()
        assert (event.actor, event.object_id) == ("privacy", str(grant_id))
        assert event.detail["outcome"] == "inappropriate"
        assert audit.verify(s).ok
        [(listed, listed_user, listed_reviewer)] = list_grants(s)
        assert listed.id == grant_id
        assert listed_user.username == "edoc"
        assert listed_reviewer is not None
        assert listed_reviewer.username == "privacy"


def test_nobody_reviews_their_own_grant(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    # A care coordinator cannot review at all; so build the case with the database
    # constraint too: even a direct write of a self-review is refused.
    user = user_maker("edoc", Role.care_team_member, "RA1")
    with session_scope(footprint_factory) as s:
        grant_id = start_break_glass(s, user, PERSON, REASON).id
    with footprint_factory() as s:
        with pytest.raises(BreakGlassNotPermitted, match="reviewing"):
            review_grant(s, grant_id, user, "appropriate")
        grant = s.get(BreakGlassGrant, grant_id)
        assert grant is not None
        grant.reviewed_at = utcnow()
        grant.reviewed_by_id = user.id
        grant.review_outcome = "appropriate"
        with pytest.raises(IntegrityError):
            s.flush()


def test_a_reviewer_who_broke_glass_themselves_cannot_review_it(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No role both breaks glass and reviews today; give one both to prove the rule.
    from wholesystem.access import break_glass, permissions

    both = permissions.ROLE_PERMISSIONS[Role.care_team_member] | {
        permissions.Permission.review_break_glass
    }
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, Role.care_team_member, both)
    assert break_glass.has_permission(
        Role.care_team_member, permissions.Permission.review_break_glass
    )
    user = user_maker("edoc", Role.care_team_member, "RA1")
    with session_scope(footprint_factory) as s:
        grant_id = start_break_glass(s, user, PERSON, REASON).id
    with footprint_factory() as s, pytest.raises(SelfReview, match="your own"):
        review_grant(s, grant_id, user, "appropriate")


def test_unknown_grants_and_long_notes_are_refused(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    reviewer = user_maker("privacy", Role.governance_lead, "QXX")
    with session_scope(footprint_factory) as s:
        grant_id = start_break_glass(s, user, PERSON, REASON).id
    with footprint_factory() as s:
        with pytest.raises(GrantNotFound, match="no break-glass grant 999"):
            review_grant(s, 999, reviewer, "appropriate")
        with pytest.raises(BreakGlassError, match="2,000 characters or fewer"):
            review_grant(s, grant_id, reviewer, "appropriate", "n" * 2001)


def test_list_grants_filters_by_pending_and_user(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    a = user_maker("edoc", Role.care_team_member, "RA1")
    b = user_maker("nurse", Role.care_coordinator, "RC1")
    reviewer = user_maker("privacy", Role.governance_lead, "QXX")
    now = utcnow()
    with session_scope(footprint_factory) as s:
        first = start_break_glass(s, a, PERSON, REASON, now=now - timedelta(hours=2)).id
        second = start_break_glass(s, b, PERSON, REASON, now=now - timedelta(hours=1)).id
        third = start_break_glass(s, a, "WP0000000007", REASON, now=now).id
        review_grant(s, first, reviewer, "appropriate")
    with footprint_factory() as s:
        assert [g.id for g, _, _ in list_grants(s)] == [third, second, first]
        assert [g.id for g, _, _ in list_grants(s, pending_only=True)] == [third, second]
        assert [g.id for g, _, _ in list_grants(s, username=" EDOC ")] == [third, first]
        assert [g.id for g in pending_reviews(s)] == [second, third]
