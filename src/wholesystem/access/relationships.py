"""Legitimate relationships: who may see one person's identifiable record, and why.

DESIGN.md (Information governance): identifiable records are seen only by care-team
members with a legitimate relationship — the person is registered at their practice or
in their neighbourhood (PCN), is on their organisation's caseload, or has an open episode
at their organisation — or under an active break-glass grant. Anyone else gets a 404.

:func:`relationship_basis` is the rule, pure (plain data in, a :class:`Basis` or None
out). :func:`decide_access` gathers the facts from the database — the footprint's
practice → neighbourhood tree, current ``care_relationship`` rows and break-glass grants —
and applies it. The person's registrations and open episodes come from the record
capability (from the lake) in a :class:`PersonContext`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from wholesystem.access import audit
from wholesystem.access.errors import AccessError
from wholesystem.access.models import CareRelationship, User
from wholesystem.access.permissions import Permission, Role, has_permission
from wholesystem.access.web import CurrentUser
from wholesystem.footprint.models import Area, Level, Organisation
from wholesystem.store.db import utcnow

__all__ = [
    "CARE_RELATIONSHIP_KINDS",
    "AccessDecision",
    "Basis",
    "CareRelationshipError",
    "PersonContext",
    "Viewer",
    "add_care_relationship",
    "current_care_relationships",
    "decide_access",
    "end_care_relationship",
    "neighbourhood_map",
    "relationship_basis",
]

CARE_RELATIONSHIP_KINDS = ("caseload", "referral")
TEAM_LENGTH = 100


class Basis(StrEnum):
    """Why a user may see a person's identifiable record (strongest first)."""

    registered_practice = "registered_practice"
    registered_in_neighbourhood = "registered_in_neighbourhood"
    caseload = "caseload"
    open_episode = "open_episode"
    break_glass = "break_glass"

    @property
    def label(self) -> str:
        return _BASIS_LABELS[self]


_BASIS_LABELS = {
    Basis.registered_practice: "Registered at your practice",
    Basis.registered_in_neighbourhood: "Registered in your neighbourhood (PCN)",
    Basis.caseload: "On your organisation's caseload",
    Basis.open_episode: "Open episode at your organisation",
    Basis.break_glass: "Break-glass access (flagged for review)",
}


@dataclass(frozen=True)
class PersonContext:
    """Facts about one person, gathered by the record capability from the lake."""

    person_id: str
    nhs_number: str | None
    registered_practices: frozenset[str]  # practice codes of current registrations
    open_episode_orgs: frozenset[str]  # organisation codes where an episode is open now


@dataclass(frozen=True)
class AccessDecision:
    """Whether the user may see the record, on which basis, and any break-glass grant."""

    allowed: bool
    basis: Basis | None
    break_glass_id: int | None = None
    break_glass_expires_at: datetime | None = None


@dataclass(frozen=True)
class Viewer:
    """The facts about a user that the rule looks at."""

    role: str
    organisation_code: str
    active: bool = True


class CareRelationshipError(AccessError, ValueError):
    """A care relationship cannot be added or ended; the message says why."""


# ------------------------------------------------------------------------------ the rule


def may_ever_view(viewer: Viewer) -> bool:
    """Whether ``viewer``'s role and status allow identifiable records on any basis."""
    if not viewer.active:
        return False
    try:
        role = Role(viewer.role)
    except ValueError:
        return False
    return has_permission(role, Permission.view_identifiable_records)


def relationship_basis(
    viewer: Viewer,
    person: PersonContext,
    practice_neighbourhood: Mapping[str, str],
    care_relationship_orgs: Iterable[str],
    *,
    break_glass_active: bool = False,
) -> Basis | None:
    """The strongest basis on which ``viewer`` may see ``person``'s record, or None.

    ``practice_neighbourhood`` maps each practice's organisation code to its
    neighbourhood's (PCN's) organisation code. ``care_relationship_orgs`` are the
    organisations holding a current care relationship (caseload or referral) with the
    person. A user whose organisation is a PCN, or a practice in one, shares the
    neighbourhood basis for everyone registered at a practice of that PCN. Users whose
    role does not grant ``view_identifiable_records``, and deactivated users, get None
    whatever else holds — break-glass included.
    """
    if not may_ever_view(viewer):
        return None
    org = viewer.organisation_code
    if org in person.registered_practices:
        return Basis.registered_practice
    neighbourhoods = frozenset(practice_neighbourhood.values())
    viewer_neighbourhood = org if org in neighbourhoods else practice_neighbourhood.get(org)
    if viewer_neighbourhood is not None and any(
        practice_neighbourhood.get(practice) == viewer_neighbourhood
        for practice in person.registered_practices
    ):
        return Basis.registered_in_neighbourhood
    if org in frozenset(care_relationship_orgs):
        return Basis.caseload
    if org in person.open_episode_orgs:
        return Basis.open_episode
    if break_glass_active:
        return Basis.break_glass
    return None


# ------------------------------------------------------------------------ database facts


def neighbourhood_map(session: Session, practices: Iterable[str] | None = None) -> dict[str, str]:
    """Practice organisation code → neighbourhood (PCN) organisation code, from the footprint.

    Only active practice areas under an active neighbourhood count. With ``practices``,
    only those practices are looked up (plus nothing else), which keeps the query small.
    """
    hood = aliased(Area)
    practice_code = Area.organisation_code
    query = (
        select(
            practice_code.label("practice"),
            Area.code.label("area_code"),
            hood.organisation_code.label("hood_org"),
            hood.code.label("hood_code"),
        )
        .join(hood, hood.code == Area.parent_code)
        .where(
            Area.level == Level.practice.value,
            Area.active.is_(True),
            hood.level == Level.neighbourhood.value,
            hood.active.is_(True),
        )
    )
    wanted = None if practices is None else sorted(set(practices))
    if wanted is not None:
        query = query.where(or_(Area.organisation_code.in_(wanted), Area.code.in_(wanted)))
    result: dict[str, str] = {}
    for row in session.execute(query):
        result[row.practice or row.area_code] = row.hood_org or row.hood_code
    return result


def current_care_relationships(
    session: Session,
    person_id: str,
    *,
    organisation_code: str | None = None,
    now: datetime | None = None,
) -> list[CareRelationship]:
    """The person's care relationships open at ``now``, optionally for one organisation."""
    moment = now or utcnow()
    query = select(CareRelationship).where(
        CareRelationship.person_id == person_id,
        CareRelationship.started_at <= moment,
        or_(CareRelationship.ended_at.is_(None), CareRelationship.ended_at > moment),
    )
    if organisation_code is not None:
        query = query.where(CareRelationship.organisation_code == organisation_code)
    return list(session.execute(query.order_by(CareRelationship.id)).scalars())


def decide_access(
    session: Session,
    user: User | CurrentUser,
    person: PersonContext,
    *,
    now: datetime | None = None,
) -> AccessDecision:
    """Whether ``user`` may see ``person``'s identifiable record now, and on what basis.

    The user's role, organisation and status are read afresh from the database, so a
    deactivation or a change of role takes effect at once. Relationship bases are tried
    first; an active break-glass grant only when none holds.
    """
    from wholesystem.access.break_glass import active_grant

    moment = now or utcnow()
    stored = session.get(User, user.id)
    if stored is None:
        return AccessDecision(allowed=False, basis=None)
    viewer = Viewer(
        role=stored.role, organisation_code=stored.organisation_code, active=stored.active
    )
    if not may_ever_view(viewer):
        return AccessDecision(allowed=False, basis=None)

    org = viewer.organisation_code
    # Only the person's practices and the user's own organisation matter: a PCN user's
    # code appears among the values exactly when one of the person's practices is in it.
    practice_map = neighbourhood_map(session, [*person.registered_practices, org])
    care_orgs = [
        r.organisation_code
        for r in current_care_relationships(
            session, person.person_id, organisation_code=org, now=moment
        )
    ]
    basis = relationship_basis(viewer, person, practice_map, care_orgs)
    if basis is not None:
        return AccessDecision(allowed=True, basis=basis)
    grant = active_grant(session, stored, person.person_id, now=moment)
    if grant is not None:
        return AccessDecision(
            allowed=True,
            basis=Basis.break_glass,
            break_glass_id=grant.id,
            break_glass_expires_at=grant.expires_at,
        )
    return AccessDecision(allowed=False, basis=None)


# ------------------------------------------------------------------ care relationship writes


def add_care_relationship(
    session: Session,
    *,
    person_id: str,
    organisation_code: str,
    kind: str,
    actor: str,
    team: str | None = None,
    started_at: datetime | None = None,
) -> CareRelationship:
    """Record that ``organisation_code`` (optionally one team) cares for the person.

    Audited as ``care_relationship.add``. The caller commits.
    """
    person = person_id.strip()
    if not person:
        raise CareRelationshipError("enter the person id")
    if kind not in CARE_RELATIONSHIP_KINDS:
        raise CareRelationshipError(
            f"kind must be one of {', '.join(CARE_RELATIONSHIP_KINDS)} (got {kind!r})"
        )
    team_name = team.strip() if team else None
    if team_name is not None and len(team_name) > TEAM_LENGTH:
        raise CareRelationshipError(f"team name is longer than {TEAM_LENGTH} characters")
    org = session.get(Organisation, organisation_code)
    if org is None or not org.active:
        raise CareRelationshipError(
            f"no active partner organisation has code {organisation_code!r}"
        )
    start = started_at or utcnow()
    relationship = CareRelationship(
        person_id=person,
        organisation_code=organisation_code,
        team=team_name or None,
        kind=kind,
        started_at=start,
        created_by=actor,
    )
    session.add(relationship)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="care_relationship.add",
        object_type="person",
        object_id=person,
        detail={
            "relationship_id": relationship.id,
            "organisation_code": organisation_code,
            "team": relationship.team,
            "kind": kind,
            "started_at": start.isoformat(),
        },
    )
    return relationship


def end_care_relationship(
    session: Session, relationship_id: int, *, actor: str, now: datetime | None = None
) -> CareRelationship:
    """End a current care relationship at ``now``. Audited as ``care_relationship.end``."""
    relationship = session.get(CareRelationship, relationship_id)
    if relationship is None:
        raise CareRelationshipError(f"no care relationship has id {relationship_id}")
    if relationship.ended_at is not None:
        raise CareRelationshipError(f"care relationship {relationship_id} has already ended")
    moment = now or utcnow()
    if moment < relationship.started_at:
        raise CareRelationshipError(
            f"care relationship {relationship_id} cannot end before it started"
        )
    relationship.ended_at = moment
    relationship.ended_by = actor
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="care_relationship.end",
        object_type="person",
        object_id=relationship.person_id,
        detail={
            "relationship_id": relationship.id,
            "organisation_code": relationship.organisation_code,
            "ended_at": moment.isoformat(),
        },
    )
    return relationship
