"""Read the governance tables for pages and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from wholesystem.governance.models import (
    Body,
    Decision,
    DecisionConflict,
    DecisionVersion,
    DecisionVote,
    GiftOrHospitality,
    Interest,
    Member,
    Person,
)

__all__ = [
    "DecisionFilters",
    "DecisionRow",
    "RegisterRow",
    "bodies_with_members",
    "decision_by_reference",
    "list_decisions",
    "register_rows",
]


@dataclass(frozen=True)
class DecisionFilters:
    body: str | None = None
    place: str | None = None
    kind: str | None = None
    status: str | None = None

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class DecisionRow:
    decision: Decision
    version: DecisionVersion
    body: Body | None


def list_decisions(session: Session, filters: DecisionFilters) -> list[DecisionRow]:
    """Decisions at their latest version, newest first, filtered."""
    query = (
        select(Decision, DecisionVersion, Body)
        .join(
            DecisionVersion,
            and_(
                DecisionVersion.decision_id == Decision.id,
                DecisionVersion.version == Decision.latest_version,
            ),
        )
        .outerjoin(Body, Body.id == DecisionVersion.routed_body_id)
        .order_by(Decision.id.desc())
    )
    if filters.kind:
        query = query.where(DecisionVersion.kind == filters.kind)
    if filters.status:
        query = query.where(DecisionVersion.status == filters.status)
    if filters.body:
        query = query.where(Body.code == filters.body)
    rows = [DecisionRow(d, v, b) for d, v, b in session.execute(query).all()]
    if filters.place:
        # A decision touches a place when it names it, or names none (the whole system).
        rows = [r for r in rows if filters.place in r.version.places or not r.version.places]
    return rows


@dataclass(frozen=True)
class DecisionDetail:
    row: DecisionRow
    versions: list[DecisionVersion]
    conflicts: list[tuple[DecisionConflict, Person]]
    votes: list[tuple[DecisionVote, Person]]


def decision_by_reference(session: Session, reference: str) -> DecisionDetail | None:
    decision = session.scalar(select(Decision).where(Decision.reference == reference))
    if decision is None:
        return None
    versions = list(
        session.scalars(
            select(DecisionVersion)
            .where(DecisionVersion.decision_id == decision.id)
            .order_by(DecisionVersion.version)
        )
    )
    latest = versions[-1]
    body = session.get(Body, latest.routed_body_id) if latest.routed_body_id else None
    conflicts = [
        (c, p)
        for c, p in session.execute(
            select(DecisionConflict, Person)
            .join(Person, Person.id == DecisionConflict.person_id)
            .where(DecisionConflict.decision_id == decision.id)
            .order_by(DecisionConflict.id)
        ).all()
    ]
    votes = [
        (v, p)
        for v, p in session.execute(
            select(DecisionVote, Person)
            .join(Person, Person.id == DecisionVote.person_id)
            .where(DecisionVote.decision_id == decision.id)
            .order_by(Person.name)
        ).all()
    ]
    return DecisionDetail(DecisionRow(decision, latest, body), versions, conflicts, votes)


def bodies_with_members(session: Session) -> list[tuple[Body, list[tuple[Member, Person]]]]:
    bodies = list(session.scalars(select(Body).where(Body.active.is_(True)).order_by(Body.id)))
    out = []
    for body in bodies:
        rows = session.execute(
            select(Member, Person)
            .join(Person, Person.id == Member.person_id)
            .where(Member.body_id == body.id)
            .order_by(Person.name)
        ).all()
        out.append((body, [(m, p) for m, p in rows]))
    return out


@dataclass(frozen=True)
class RegisterRow:
    person: Person
    interest: Interest | None
    gift: GiftOrHospitality | None


def register_rows(
    session: Session, *, public: bool, on: date, person_id: int | None = None
) -> list[RegisterRow]:
    """The register: interests then gifts and hospitality per person.

    The public register holds decision-making staff only, leaves out entries withheld for a
    stated privacy or safety reason, and interests that ended more than six months ago
    (NHS England guidance keeps published entries for six months after they end).
    """
    query = select(Person).order_by(Person.name)
    if public:
        query = query.where(Person.decision_maker.is_(True))
    if person_id is not None:
        query = query.where(Person.id == person_id)
    out: list[RegisterRow] = []
    for person in session.scalars(query):
        for interest in session.scalars(
            select(Interest)
            .where(Interest.person_id == person.id)
            .order_by(Interest.starts, Interest.id)
        ):
            if public and (
                interest.withheld_reason
                or (interest.ends is not None and (on - interest.ends).days > 183)
            ):
                continue
            out.append(RegisterRow(person, interest, None))
        for gift in session.scalars(
            select(GiftOrHospitality)
            .where(GiftOrHospitality.person_id == person.id)
            .order_by(GiftOrHospitality.received_on)
        ):
            out.append(RegisterRow(person, None, gift))
    return out
