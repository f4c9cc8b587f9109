"""decide_access over the database: footprint PCNs, care relationships, break-glass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.access.conftest import UserMaker
from wholesystem.access import audit
from wholesystem.access.break_glass import start_break_glass
from wholesystem.access.models import AuditEvent, CareRelationship, User
from wholesystem.access.permissions import Role
from wholesystem.access.relationships import (
    AccessDecision,
    Basis,
    CareRelationshipError,
    PersonContext,
    add_care_relationship,
    current_care_relationships,
    decide_access,
    end_care_relationship,
    neighbourhood_map,
)
from wholesystem.access.users import deactivate_user
from wholesystem.access.web import CurrentUser
from wholesystem.store.db import session_scope, utcnow

PERSON = "WP0000000042"
REASON = "Unconscious in ED, no relationship on record, need medication history"


def ctx(practices: tuple[str, ...] = ("A00001",), episodes: tuple[str, ...] = ()) -> PersonContext:
    return PersonContext(
        person_id=PERSON,
        nhs_number="9434765919",
        registered_practices=frozenset(practices),
        open_episode_orgs=frozenset(episodes),
    )


def test_neighbourhood_map_follows_the_footprint(footprint_factory: sessionmaker[Session]) -> None:
    with footprint_factory() as s:
        assert neighbourhood_map(s) == {"A00001": "U00001", "A00002": "U00001", "A00003": "U00002"}
        assert neighbourhood_map(s, ["A00003", "RA1"]) == {"A00003": "U00002"}


FOOTPRINT_CASES = [
    ("A00001", ("A00001",), (), Basis.registered_practice),
    ("A00002", ("A00001",), (), Basis.registered_in_neighbourhood),
    ("U00001", ("A00002",), (), Basis.registered_in_neighbourhood),
    ("U00002", ("A00001",), (), None),
    ("A00003", ("A00001",), (), None),
    ("RA1", ("A00001",), ("RA1",), Basis.open_episode),
    ("RA1", ("A00001",), ("RC1",), None),
    ("QXX", ("A00001",), (), None),
]


def test_decide_access_uses_the_footprint(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    for n, (org, practices, episodes, expected) in enumerate(FOOTPRINT_CASES):
        user = user_maker(f"carer{n}", Role.care_team_member, org)
        with footprint_factory() as s:
            decision = decide_access(s, user, ctx(practices, episodes))
        assert decision == AccessDecision(allowed=expected is not None, basis=expected), org


def test_a_signed_in_current_user_is_accepted_and_checked_afresh(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("carer", Role.care_team_member, "A00001")
    current = CurrentUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role.care_team_member,
        organisation_code="A00001",
        session_id="x",
    )
    with footprint_factory() as s:
        assert decide_access(s, current, ctx()).basis is Basis.registered_practice
    with session_scope(footprint_factory) as s:
        deactivate_user(s, username="carer", actor="admin")
    with footprint_factory() as s:
        assert decide_access(s, current, ctx()) == AccessDecision(allowed=False, basis=None)


def test_roles_without_the_permission_are_never_allowed(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    others = [r for r in Role if r not in {Role.care_team_member, Role.care_coordinator}]
    assert others
    for role in others:
        user = user_maker(f"u-{role.value.replace('_', '-')}", role, "A00001")
        with session_scope(footprint_factory) as s:
            add_care_relationship(
                s, person_id=PERSON, organisation_code="A00001", kind="caseload", actor="x"
            )
        with footprint_factory() as s:
            assert decide_access(s, user, ctx(("A00001",), ("A00001",))).allowed is False, role


def test_care_relationships_give_caseload_access_while_open(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("nurse", Role.care_coordinator, "RC1")
    start = utcnow() - timedelta(days=3)
    with session_scope(footprint_factory) as s:
        assert decide_access(s, user, ctx(("A00003",))).allowed is False
        rel = add_care_relationship(
            s,
            person_id=PERSON,
            organisation_code="RC1",
            kind="caseload",
            team="Frailty team",
            actor="nurse",
            started_at=start,
        )
        rel_id = rel.id
    with session_scope(footprint_factory) as s:
        assert decide_access(s, user, ctx(("A00003",))).basis is Basis.caseload
        # another organisation's relationship does not count
        other = user_maker("ward", Role.care_team_member, "RA1")
        assert decide_access(s, other, ctx(("A00003",))).allowed is False
        # not yet started
        assert (
            decide_access(s, user, ctx(("A00003",)), now=start - timedelta(days=1)).allowed is False
        )
        end_care_relationship(s, rel_id, actor="nurse")
    with footprint_factory() as s:
        assert decide_access(s, user, ctx(("A00003",))).allowed is False
        assert current_care_relationships(s, PERSON) == []
        events = s.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.actor)
            .where(AuditEvent.action.like("care_relationship.%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert events == [
            ("care_relationship.add", PERSON, "nurse"),
            ("care_relationship.end", PERSON, "nurse"),
        ]
        assert audit.verify(s).ok
        stored = s.get(CareRelationship, rel_id)
        assert stored is not None
        assert stored.ended_by == "nurse"
        assert stored.team == "Frailty team"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "friendship"}, "kind must be one of caseload, referral"),
        ({"organisation_code": "NOPE"}, "no active partner organisation has code 'NOPE'"),
        ({"person_id": "  "}, "enter the person id"),
        ({"team": "x" * 101}, "longer than 100"),
    ],
)
def test_bad_care_relationships_are_refused_with_a_reason(
    footprint_factory: sessionmaker[Session], kwargs: dict[str, str], message: str
) -> None:
    args = {"person_id": PERSON, "organisation_code": "RC1", "kind": "referral", "actor": "x"}
    with footprint_factory() as s:
        with pytest.raises(CareRelationshipError, match=message):
            add_care_relationship(s, **{**args, **kwargs})
        assert s.execute(select(CareRelationship)).first() is None


def test_ending_twice_or_unknown_relationships_is_refused(
    footprint_factory: sessionmaker[Session],
) -> None:
    with session_scope(footprint_factory) as s:
        rel = add_care_relationship(
            s, person_id=PERSON, organisation_code="RC1", kind="referral", actor="x"
        )
        end_care_relationship(s, rel.id, actor="x")
        with pytest.raises(CareRelationshipError, match="already ended"):
            end_care_relationship(s, rel.id, actor="x")
        with pytest.raises(CareRelationshipError, match="no care relationship has id 999"):
            end_care_relationship(s, 999, actor="x")


def test_break_glass_allows_only_when_no_relationship_and_only_while_it_lasts(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    now = utcnow()
    with session_scope(footprint_factory) as s:
        grant = start_break_glass(s, user, PERSON, REASON, now=now, minutes=60)
        grant_id, expires = grant.id, grant.expires_at
    with footprint_factory() as s:
        decision = decide_access(s, user, ctx(("A00003",)), now=now + timedelta(minutes=30))
        assert decision == AccessDecision(
            allowed=True,
            basis=Basis.break_glass,
            break_glass_id=grant_id,
            break_glass_expires_at=expires,
        )
        # a relationship, where there is one, is the basis rather than the grant
        assert decide_access(s, user, ctx(("A00003",), ("RA1",)), now=now).basis is (
            Basis.open_episode
        )
        assert decide_access(s, user, ctx(("A00003",)), now=now + timedelta(minutes=60)) == (
            AccessDecision(allowed=False, basis=None)
        )
        # only for that person
        other = PersonContext("WP0000000043", None, frozenset({"A00003"}), frozenset())
        assert decide_access(s, user, other, now=now).allowed is False


def test_a_grant_stops_working_when_the_user_is_deactivated(
    footprint_factory: sessionmaker[Session], user_maker: UserMaker
) -> None:
    user = user_maker("edoc", Role.care_team_member, "RA1")
    with session_scope(footprint_factory) as s:
        start_break_glass(s, user, PERSON, REASON)
    with session_scope(footprint_factory) as s:
        deactivate_user(s, username="edoc", actor="admin")
    with footprint_factory() as s:
        assert decide_access(s, user, ctx(("A00003",))).allowed is False
        stored = s.get(User, user.id)
        assert stored is not None
        assert not stored.active
