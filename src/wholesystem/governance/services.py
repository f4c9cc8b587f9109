"""Governance operations on the database. Every write is audited; decisions are versioned.

Each function works in the caller's transaction (the caller commits) and raises
:class:`GovernanceError` with a reason *before* writing anything when the request is refused,
so a refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.footprint.models import Area, Level, Organisation
from wholesystem.governance.conflicts import (
    Conflict,
    InterestCategory,
    InterestFacts,
    ItemFacts,
    Management,
    MemberFacts,
    detect_conflicts,
    excluded_from_vote,
)
from wholesystem.governance.interests import GiftKind, gift_outcome
from wholesystem.governance.models import (
    Body,
    CrgStatus,
    Decision,
    DecisionConflict,
    DecisionStatus,
    DecisionVersion,
    DecisionVote,
    GiftOrHospitality,
    Interest,
    InterestDeclaration,
    Member,
    Person,
)
from wholesystem.governance.quorum import Attendee, QuorumResult, check_quorum
from wholesystem.governance.routing import (
    DecisionFacts,
    Route,
    RoutingError,
    authority_problem,
    route_decision,
)
from wholesystem.governance.routing import (
    Level as RouteLevel,
)
from wholesystem.governance.scheme import BodyKind, DecisionKind, Scheme, load_scheme

__all__ = [
    "DECISION_BODY_KINDS",
    "MEMBER_GROUPS",
    "OUTCOMES",
    "GovernanceError",
    "MadeDecision",
    "MeetingCheck",
    "Seat",
    "accountable_organisations",
    "add_member",
    "amend_decision",
    "annual_declaration",
    "check_meeting",
    "check_organisation",
    "create_body",
    "create_person",
    "current_scheme",
    "decision_conflicts",
    "declare_interest",
    "from_pence",
    "latest_version",
    "member_facts",
    "person_for_user",
    "place_codes",
    "propose_decision",
    "ratify_decision",
    "record_audit",
    "record_crg",
    "record_decision",
    "record_gift",
    "set_dates",
    "to_pence",
    "update_progress",
    "versions",
    "withdraw_decision",
]

OBJECT = "governance_decision"
MEMBER_GROUPS = (
    "clinical",
    "local_authority",
    "nhs_trust",
    "primary_care",
    "voluntary_sector",
    "executive",
    "non_executive",
    "lay",
    "councillor",
)
DECISION_BODY_KINDS = {
    BodyKind.system_board: RouteLevel.system,
    BodyKind.place_board: RouteLevel.place,
}
OPEN_STATUSES = {
    DecisionStatus.proposed,
    DecisionStatus.awaiting_crg,
    DecisionStatus.ready,
    DecisionStatus.deferred,  # deferred by a meeting: taken again at a later one
}


class GovernanceError(ValueError):
    """A governance request refused, with the reason; nothing was changed."""


@cache
def current_scheme() -> Scheme:
    """The packaged scheme of delegation (``data/scheme_of_delegation.toml``)."""
    return load_scheme()


def to_pence(amount: Decimal) -> int:
    """Pounds (exact) to whole pence; fractions of a penny are refused."""
    pence = amount * 100
    if pence != pence.to_integral_value():
        raise GovernanceError("money is recorded to the penny")
    return int(pence)


def from_pence(pence: int) -> Decimal:
    return (Decimal(pence) / 100).quantize(Decimal("0.01"))


def record_audit(
    session: Session,
    actor: str,
    action: str,
    kind: str,
    oid: object,
    now: datetime,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append a governance event (``action`` on object ``kind``/``oid``) to the audit log."""
    audit.append(
        session,
        actor=actor,
        action=action,
        object_type=kind,
        object_id=str(oid),
        detail=dict(detail or {}),
        at=now,
    )


# ------------------------------------------------------------------ bodies and people


def place_codes(session: Session) -> list[str]:
    """The footprint's active places."""
    return list(
        session.scalars(
            select(Area.code)
            .where(Area.level == Level.place.value, Area.active.is_(True))
            .order_by(Area.position, Area.code)
        )
    )


def create_body(
    session: Session,
    *,
    code: str,
    name: str,
    kind: BodyKind,
    area_code: str | None,
    actor: str,
    now: datetime,
) -> Body:
    """Set up a governance body; a place board names its place."""
    code = code.strip()
    if not code or not name.strip():
        raise GovernanceError("a body needs a code and a name")
    if session.scalar(select(Body).where(Body.code == code)) is not None:
        raise GovernanceError(f"there is already a body with code {code!r}")
    if kind is BodyKind.place_board:
        if area_code not in place_codes(session):
            raise GovernanceError("a place board must name a place of the footprint")
        clash = session.scalar(
            select(Body).where(
                Body.kind == kind.value, Body.area_code == area_code, Body.active.is_(True)
            )
        )
        if clash is not None:
            raise GovernanceError(f"place {area_code} already has a board ({clash.name})")
    if (
        kind is BodyKind.system_board
        and session.scalar(select(Body).where(Body.kind == kind.value, Body.active.is_(True)))
        is not None
    ):
        raise GovernanceError("there is already a system board")
    body = Body(
        code=code,
        name=name.strip(),
        kind=kind.value,
        area_code=area_code,
        active=True,
        created_at=now,
    )
    session.add(body)
    session.flush()
    record_audit(
        session,
        actor,
        "create",
        "governance_body",
        body.code,
        now,
        {"name": body.name, "kind": kind.value, "area_code": area_code},
    )
    return body


def check_organisation(session: Session, code: str | None, what: str) -> None:
    """Refuse ``code`` (named ``what`` in the error) unless it is a partner organisation."""
    if code is not None and session.get(Organisation, code) is None:
        raise GovernanceError(f"{what}: there is no partner organisation with code {code!r}")


def create_person(
    session: Session,
    *,
    name: str,
    organisation_code: str,
    actor: str,
    now: datetime,
    second_organisation_code: str | None = None,
    user_id: int | None = None,
    job_title: str = "",
    decision_maker: bool = True,
) -> Person:
    """Record a person; ``second_organisation_code`` makes theirs a joint post."""
    if not name.strip():
        raise GovernanceError("a person needs a name")
    check_organisation(session, organisation_code, "employer")
    check_organisation(session, second_organisation_code, "second employer (joint post)")
    if second_organisation_code == organisation_code:
        raise GovernanceError("a joint post is with two different organisations")
    person = Person(
        name=name.strip(),
        organisation_code=organisation_code,
        second_organisation_code=second_organisation_code,
        user_id=user_id,
        job_title=job_title.strip(),
        decision_maker=decision_maker,
    )
    session.add(person)
    session.flush()
    record_audit(
        session,
        actor,
        "create",
        "governance_person",
        person.id,
        now,
        {
            "name": person.name,
            "organisation": organisation_code,
            "joint_post_with": second_organisation_code,
        },
    )
    return person


def person_for_user(
    session: Session, *, user_id: int, name: str, organisation_code: str, actor: str, now: datetime
) -> Person:
    """The person record of a signed-in user, created on first use."""
    found = session.scalar(select(Person).where(Person.user_id == user_id))
    if found is not None:
        return found
    return create_person(
        session,
        name=name,
        organisation_code=organisation_code,
        user_id=user_id,
        actor=actor,
        now=now,
    )


def add_member(
    session: Session,
    *,
    body_id: int,
    person_id: int,
    role: str,
    member_group: str,
    voting: bool,
    term_start: date,
    actor: str,
    now: datetime,
    term_end: date | None = None,
) -> Member:
    """Seat a person on a body."""
    body = session.get(Body, body_id)
    if body is None or session.get(Person, person_id) is None:
        raise GovernanceError("no such body or person")
    if member_group not in MEMBER_GROUPS:
        raise GovernanceError(
            f"unknown member group {member_group!r}; use one of " + ", ".join(MEMBER_GROUPS)
        )
    if term_end is not None and term_end < term_start:
        raise GovernanceError("a term cannot end before it starts")
    if (
        session.scalar(
            select(Member).where(Member.body_id == body_id, Member.person_id == person_id)
        )
        is not None
    ):
        raise GovernanceError("that person is already a member of this body")
    member = Member(
        body_id=body_id,
        person_id=person_id,
        role=role.strip(),
        member_group=member_group,
        voting=voting,
        term_start=term_start,
        term_end=term_end,
    )
    session.add(member)
    session.flush()
    record_audit(
        session,
        actor,
        "add_member",
        "governance_body",
        body.code,
        now,
        {"person_id": person_id, "role": member.role, "group": member_group, "voting": voting},
    )
    return member


# ------------------------------------------------------------------------- interests


def declare_interest(
    session: Session,
    *,
    person_id: int,
    category: InterestCategory,
    description: str,
    starts: date,
    actor: str,
    now: datetime,
    organisation_code: str | None = None,
    organisation_name: str = "",
    matter: str | None = None,
    ends: date | None = None,
    withheld_reason: str | None = None,
) -> Interest:
    """Add an interest to the register (new interests within 28 days, per the guidance)."""
    if session.get(Person, person_id) is None:
        raise GovernanceError("no such person")
    if not description.strip():
        raise GovernanceError("describe the interest")
    if not (organisation_code or organisation_name.strip() or (matter or "").strip()):
        raise GovernanceError("name the organisation or the matter the interest concerns")
    if ends is not None and ends < starts:
        raise GovernanceError("an interest cannot end before it starts")
    interest = Interest(
        person_id=person_id,
        category=category.value,
        organisation_code=(organisation_code or None),
        organisation_name=organisation_name.strip(),
        matter=(matter or "").strip() or None,
        description=description.strip(),
        starts=starts,
        ends=ends,
        withheld_reason=(withheld_reason or "").strip() or None,
        declared_at=now,
        declared_by=actor,
    )
    session.add(interest)
    session.flush()
    record_audit(
        session,
        actor,
        "declare",
        "governance_interest",
        interest.id,
        now,
        {"person_id": person_id, "category": category.value},
    )
    return interest


def annual_declaration(
    session: Session, *, person_id: int, year: int, nil_return: bool, actor: str, now: datetime
) -> InterestDeclaration:
    """The annual declaration; a nil return is refused while interests are current."""
    if session.get(Person, person_id) is None:
        raise GovernanceError("no such person")
    if (
        session.scalar(
            select(InterestDeclaration).where(
                InterestDeclaration.person_id == person_id, InterestDeclaration.year == year
            )
        )
        is not None
    ):
        raise GovernanceError(f"the declaration for {year} has already been made")
    if nil_return:
        today = now.date()
        current = [
            i
            for i in session.scalars(select(Interest).where(Interest.person_id == person_id))
            if i.starts <= today and (i.ends is None or i.ends >= today)
        ]
        if current:
            raise GovernanceError(
                f"a nil return cannot be made with {len(current)} current interest(s) "
                "on the register; confirm them instead"
            )
    row = InterestDeclaration(
        person_id=person_id, year=year, nil_return=nil_return, declared_at=now, declared_by=actor
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor,
        "annual_declaration",
        "governance_person",
        person_id,
        now,
        {"year": year, "nil_return": nil_return},
    )
    return row


def record_gift(
    session: Session,
    *,
    person_id: int,
    kind: GiftKind,
    offered_by: str,
    from_supplier: bool,
    description: str,
    value: Decimal,
    received_on: date,
    actor: str,
    now: datetime,
) -> GiftOrHospitality:
    """Record a gift or hospitality with the guidance's outcome for it."""
    if session.get(Person, person_id) is None:
        raise GovernanceError("no such person")
    if not offered_by.strip() or not description.strip():
        raise GovernanceError("say who offered it and what it was")
    if value < 0:
        raise GovernanceError("a value cannot be negative")
    outcome = gift_outcome(kind, from_supplier=from_supplier, value=value)
    row = GiftOrHospitality(
        person_id=person_id,
        kind=kind.value,
        offered_by=offered_by.strip(),
        from_supplier=from_supplier,
        description=description.strip(),
        value_pence=to_pence(value),
        received_on=received_on,
        outcome=outcome.value,
        declared_at=now,
        declared_by=actor,
    )
    session.add(row)
    session.flush()
    record_audit(
        session,
        actor,
        "declare_gift",
        "governance_gift",
        row.id,
        now,
        {"person_id": person_id, "kind": kind.value, "outcome": outcome.value},
    )
    return row


# ------------------------------------------------------------------------- decisions


_COPY = [
    c.key
    for c in DecisionVersion.__table__.columns
    if c.key not in {"id", "version", "recorded_at", "recorded_by", "change_note"}
]


def latest_version(session: Session, decision_id: int) -> DecisionVersion:
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise GovernanceError(f"there is no decision {decision_id}")
    row = session.scalar(
        select(DecisionVersion).where(
            DecisionVersion.decision_id == decision_id,
            DecisionVersion.version == decision.latest_version,
        )
    )
    assert row is not None
    return row


def versions(session: Session, decision_id: int) -> list[DecisionVersion]:
    """Every version of a decision, oldest first."""
    return list(
        session.scalars(
            select(DecisionVersion)
            .where(DecisionVersion.decision_id == decision_id)
            .order_by(DecisionVersion.version)
        )
    )


def _new_version(
    session: Session,
    latest: DecisionVersion,
    *,
    actor: str,
    now: datetime,
    change_note: str,
    **changes: Any,
) -> DecisionVersion:
    decision = session.get(Decision, latest.decision_id)
    assert decision is not None
    values = {k: getattr(latest, k) for k in _COPY}
    values.update(changes)
    row = DecisionVersion(
        **values,
        version=latest.version + 1,
        recorded_at=now,
        recorded_by=actor,
        change_note=change_note,
    )
    session.add(row)
    decision.latest_version = row.version
    session.flush()
    return row


def _body_for(session: Session, route: Route) -> Body | None:
    query = select(Body).where(Body.active.is_(True))
    if route.level is RouteLevel.system:
        query = query.where(Body.kind == BodyKind.system_board.value)
    else:
        query = query.where(
            Body.kind == BodyKind.place_board.value, Body.area_code == route.place_code
        )
    return session.scalar(query)


@dataclass(frozen=True)
class _Routed:
    route: Route
    body: Body | None


def _route(session: Session, facts: DecisionFacts, scheme: Scheme) -> _Routed:
    try:
        route = route_decision(facts, scheme, place_codes(session))
    except RoutingError as exc:
        raise GovernanceError(str(exc)) from None
    return _Routed(route, _body_for(session, route))


def _routing_columns(routed: _Routed) -> dict[str, Any]:
    route = routed.route
    explanation = route.explanation
    if routed.body is None:
        explanation += " No body of that kind has been set up yet."
    else:
        explanation += f" Routed to {routed.body.name}."
    return {
        "routed_level": route.level.value,
        "routed_place_code": route.place_code,
        "routed_body_id": routed.body.id if routed.body else None,
        "routing_explanation": explanation,
        "needs_crg": route.needs_crg,
        "needs_ratification": route.needs_ratification,
    }


def _clean_list(values: Iterable[str]) -> list[str]:
    return sorted({v.strip() for v in values if v and v.strip()})


def propose_decision(
    session: Session,
    *,
    title: str,
    kind: DecisionKind,
    proposer: str,
    value: Decimal,
    places: Sequence[str],
    parties: Sequence[str] = (),
    matters: Sequence[str] = (),
    reserved_matters: Sequence[str] = (),
    reasons: str = "",
    alternatives: str = "",
    planned_on: date | None = None,
    actor: str,
    now: datetime,
    scheme: Scheme | None = None,
) -> Decision:
    """Propose a decision: it is routed at once and, if it changes care, awaits the CRG."""
    scheme = scheme or current_scheme()
    if not title.strip() or not proposer.strip():
        raise GovernanceError("a decision needs a title and a proposer")
    for code in parties:
        check_organisation(session, code, "party")
    facts = DecisionFacts(
        kind, value, tuple(_clean_list(places)), tuple(_clean_list(reserved_matters))
    )
    routed = _route(session, facts, scheme)
    count = session.scalar(select(func.count()).select_from(Decision)) or 0
    decision = Decision(
        reference=f"D{now.year}-{count + 1:04d}", latest_version=1, created_at=now, created_by=actor
    )
    session.add(decision)
    session.flush()
    status = DecisionStatus.awaiting_crg if routed.route.needs_crg else DecisionStatus.ready
    session.add(
        DecisionVersion(
            decision_id=decision.id,
            version=1,
            title=title.strip(),
            kind=kind.value,
            proposer=proposer.strip(),
            value_pence=to_pence(value),
            places=list(facts.places),
            parties=_clean_list(parties),
            matters=_clean_list(matters),
            reserved_matters=list(facts.reserved_matters),
            reasons=reasons.strip(),
            alternatives=alternatives.strip(),
            status=status.value,
            crg_status=(
                CrgStatus.awaiting if routed.route.needs_crg else CrgStatus.not_needed
            ).value,
            crg_note="",
            quorum_note="",
            progress="",
            planned_on=planned_on,
            change_note="Proposed.",
            recorded_at=now,
            recorded_by=actor,
            **_routing_columns(routed),
        )
    )
    session.flush()
    record_audit(
        session,
        actor,
        "propose",
        OBJECT,
        decision.reference,
        now,
        {"title": title.strip(), "kind": kind.value, "routed_level": routed.route.level.value},
    )
    return decision


def amend_decision(
    session: Session,
    decision_id: int,
    *,
    actor: str,
    now: datetime,
    change_note: str,
    scheme: Scheme | None = None,
    **changes: Any,
) -> DecisionVersion:
    """Amend a decision not yet made: a new version, re-routed; CRG agreement is re-sought."""
    scheme = scheme or current_scheme()
    latest = latest_version(session, decision_id)
    if DecisionStatus(latest.status) not in OPEN_STATUSES:
        raise GovernanceError(
            f"a decision that is {DecisionStatus(latest.status).label.lower()} cannot be "
            "amended; record progress instead"
        )
    if not change_note.strip():
        raise GovernanceError("say what changed and why")
    allowed = {
        "title",
        "kind",
        "proposer",
        "value",
        "places",
        "parties",
        "matters",
        "reserved_matters",
        "reasons",
        "alternatives",
        "planned_on",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise GovernanceError(f"cannot amend: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key in ("title", "proposer", "reasons", "alternatives", "planned_on"):
        if key in changes:
            values[key] = changes[key].strip() if isinstance(changes[key], str) else changes[key]
    kind = DecisionKind(changes.get("kind", latest.kind))
    value = changes.get("value", from_pence(latest.value_pence))
    places = _clean_list(changes.get("places", latest.places))
    reserved = _clean_list(changes.get("reserved_matters", latest.reserved_matters))
    for code in changes.get("parties", ()):
        check_organisation(session, code, "party")
    routed = _route(session, DecisionFacts(kind, value, tuple(places), tuple(reserved)), scheme)
    values.update(
        kind=kind.value,
        value_pence=to_pence(value),
        places=places,
        reserved_matters=reserved,
        parties=_clean_list(changes.get("parties", latest.parties)),
        matters=_clean_list(changes.get("matters", latest.matters)),
        **_routing_columns(routed),
    )
    # A changed proposal needs the CRG's agreement again.
    values["crg_status"] = (
        CrgStatus.awaiting if routed.route.needs_crg else CrgStatus.not_needed
    ).value
    values["crg_note"] = ""
    values["status"] = (
        DecisionStatus.awaiting_crg if routed.route.needs_crg else DecisionStatus.ready
    ).value
    row = _new_version(
        session, latest, actor=actor, now=now, change_note=change_note.strip(), **values
    )
    record_audit(
        session,
        actor,
        "amend",
        OBJECT,
        _ref(session, decision_id),
        now,
        {"version": row.version, "changed": sorted(changes)},
    )
    return row


def _ref(session: Session, decision_id: int) -> str:
    decision = session.get(Decision, decision_id)
    return decision.reference if decision else str(decision_id)


def record_crg(
    session: Session, decision_id: int, *, agreed: bool, note: str, actor: str, now: datetime
) -> DecisionVersion:
    """Record the clinical reference group's agreement (or not) to a change to care."""
    latest = latest_version(session, decision_id)
    if not latest.needs_crg:
        raise GovernanceError("this decision does not change patient care; no CRG agreement")
    if DecisionStatus(latest.status) not in OPEN_STATUSES:
        raise GovernanceError("the decision has already been made or withdrawn")
    if not note.strip():
        raise GovernanceError("record the CRG's reasons or conditions")
    row = _new_version(
        session,
        latest,
        actor=actor,
        now=now,
        change_note="CRG " + ("agreed." if agreed else "did not agree."),
        crg_status=(CrgStatus.agreed if agreed else CrgStatus.not_agreed).value,
        crg_note=note.strip(),
        status=(DecisionStatus.ready if agreed else DecisionStatus.awaiting_crg).value,
    )
    record_audit(
        session,
        actor,
        "crg",
        OBJECT,
        _ref(session, decision_id),
        now,
        {"agreed": agreed, "version": row.version},
    )
    return row


def member_facts(session: Session, body_id: int, on: date) -> dict[int, tuple[Member, MemberFacts]]:
    """The members of body ``body_id`` on day ``on``, each with the facts conflicts need."""
    rows = session.execute(
        select(Member, Person)
        .join(Person, Person.id == Member.person_id)
        .where(Member.body_id == body_id)
    ).all()
    out: dict[int, tuple[Member, MemberFacts]] = {}
    for member, person in rows:
        if member.term_start > on or (member.term_end is not None and member.term_end < on):
            continue
        interests = tuple(
            InterestFacts(
                i.id,
                InterestCategory(i.category),
                i.organisation_code,
                i.matter,
                i.description,
                i.starts,
                i.ends,
            )
            for i in session.scalars(select(Interest).where(Interest.person_id == person.id))
        )
        employers = tuple(
            c for c in (person.organisation_code, person.second_organisation_code) if c
        )
        out[person.id] = (member, MemberFacts(person.id, person.name, employers, interests))
    return out


def decision_conflicts(
    session: Session, decision_id: int, *, body_id: int | None = None, on: date
) -> list[Conflict]:
    """Conflicts of the members of the routed body (or ``body_id``) on this decision."""
    latest = latest_version(session, decision_id)
    target = body_id if body_id is not None else latest.routed_body_id
    if target is None:
        return []
    members = member_facts(session, target, on)
    item = ItemFacts(tuple(latest.parties), tuple(latest.matters), on)
    return detect_conflicts([facts for _, facts in members.values()], item)


@dataclass(frozen=True)
class Seat:
    """A current member of a body, as the attendance form lists them."""

    person_id: int
    name: str
    role: str
    group: str
    voting: bool
    organisation_code: str


@dataclass(frozen=True)
class MeetingCheck:
    """What a body would face taking a decision with ``present`` attending on a day.

    ``blocking`` holds the reasons it may not take the decision at all (status, delegated
    authority, CRG agreement, attendees who are not members); quorum is re-checked with the
    conflicted members excluded; ``eligible`` are those present who may vote.
    """

    body: Body
    seats: tuple[Seat, ...]
    present: tuple[int, ...]
    blocking: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    excluded: frozenset[int]
    quorum: QuorumResult
    eligible: tuple[int, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        """Every reason the decision would be refused now (quorum last)."""
        return self.blocking + (() if self.quorum.quorate else (self.quorum.explanation,))

    def name_of(self, person_id: int) -> str:
        return next((s.name for s in self.seats if s.person_id == person_id), str(person_id))


def check_meeting(
    session: Session,
    decision_id: int,
    *,
    body_code: str,
    present: Sequence[int],
    on: date,
    scheme: Scheme | None = None,
) -> MeetingCheck:
    """Check, without writing, whether ``body_code`` may take the decision now.

    Used live by the decision form (attendance ticked, conflicts and quorum shown before the
    vote) and by :func:`record_decision`, so both apply the same rules. Refuses only an
    unknown body; every other problem is reported in the result.
    """
    scheme = scheme or current_scheme()
    latest = latest_version(session, decision_id)
    body = session.scalar(select(Body).where(Body.code == body_code, Body.active.is_(True)))
    if body is None:
        raise GovernanceError(f"there is no body {body_code!r}")
    kind = BodyKind(body.kind)
    blocking: list[str] = []
    status = DecisionStatus(latest.status)
    if status not in OPEN_STATUSES:
        blocking.append(f"the decision is already {status.label.lower()}")
    level = DECISION_BODY_KINDS.get(kind)
    if level is None:
        blocking.append(
            f"a {kind.label.lower()} has no delegated authority to make decisions in the register"
        )
    else:
        route = Route(
            RouteLevel(latest.routed_level),
            latest.routed_place_code,
            latest.needs_crg,
            latest.needs_ratification,
            (),
        )
        problem = authority_problem(route, body_level=level, body_place_code=body.area_code)
        if problem:
            blocking.append(problem)
    if latest.needs_crg and latest.crg_status != CrgStatus.agreed.value:
        blocking.append(
            "this decision changes patient care: the clinical reference "
            "group's agreement must be recorded first"
        )
    members = member_facts(session, body.id, on)
    strangers = sorted(set(present) - set(members))
    if strangers:
        blocking.append(
            f"not current members of {body.name}: person ids " + ", ".join(map(str, strangers))
        )
    attending = {pid: members[pid] for pid in dict.fromkeys(present) if pid in members}
    item = ItemFacts(tuple(latest.parties), tuple(latest.matters), on)
    conflicts = tuple(detect_conflicts([f for _, f in attending.values()], item))
    excluded = excluded_from_vote(conflicts)
    quorum = check_quorum(
        scheme.quorum_for(kind),
        [Attendee(pid, m.voting, m.member_group) for pid, (m, _) in attending.items()],
        excluded,
    )
    persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(list(members))))}
    seats = tuple(
        sorted(
            (
                Seat(
                    pid,
                    facts.name,
                    member.role,
                    member.member_group,
                    member.voting,
                    persons[pid].organisation_code,
                )
                for pid, (member, facts) in members.items()
            ),
            key=lambda s: (not s.voting, s.name),
        )
    )
    eligible = tuple(pid for pid, (m, _) in attending.items() if m.voting and pid not in excluded)
    return MeetingCheck(
        body,
        seats,
        tuple(attending),
        tuple(blocking),
        conflicts,
        excluded,
        quorum,
        eligible,
    )


@dataclass(frozen=True)
class MadeDecision:
    version: DecisionVersion
    conflicts: list[Conflict]
    quorum: QuorumResult


OUTCOMES = ("approved", "rejected", "deferred")


def _confirmed_management(
    check: MeetingCheck,
    management: Mapping[int, Iterable[Management]] | None,
    chair_confirmed: bool,
) -> dict[int, tuple[Management, ...]]:
    """The management the chair confirmed for each conflicted member (default: proposed)."""
    conflicted = {c.person_id for c in check.conflicts}
    proposed: dict[int, set[Management]] = {}
    for c in check.conflicts:
        proposed.setdefault(c.person_id, set()).update(c.management)
    if not conflicted:
        if management:
            raise GovernanceError(
                "management was given for members with no detected conflict: person ids "
                + ", ".join(map(str, sorted(management)))
            )
        return {}
    if not chair_confirmed:
        raise GovernanceError(
            "the chair must confirm how each conflict of interest is managed before the "
            "decision is taken"
        )
    if management is None:
        chosen = proposed
    else:
        stray = sorted(set(management) - conflicted)
        if stray:
            raise GovernanceError(
                "management was given for members with no detected conflict: "
                + ", ".join(check.name_of(p) for p in stray)
            )
        unconfirmed = sorted(conflicted - set(management))
        if unconfirmed:
            # The chair confirms every conflict: none is managed by default behind their back.
            raise GovernanceError(
                "confirm how the conflict of each conflicted member is managed; missing: "
                + ", ".join(check.name_of(p) for p in unconfirmed)
            )
        chosen = {pid: set(management[pid]) for pid in conflicted}
    for pid, actions in chosen.items():
        # The rule and the NHS guidance: a conflicted member never votes.
        if Management.no_vote not in actions:
            raise GovernanceError(
                f"{check.name_of(pid)} has a conflict of interest and must be excluded from "
                "the vote; the management has to include 'does not vote'"
            )
    order = list(Management)
    return {pid: tuple(sorted(a, key=order.index)) for pid, a in chosen.items()}


def record_decision(
    session: Session,
    decision_id: int,
    *,
    body_code: str,
    present: Sequence[int],
    method: str,
    decided_on: date,
    actor: str,
    now: datetime,
    votes: Mapping[int, str] | None = None,
    consensus_outcome: str | None = None,
    effective_date: date | None = None,
    review_date: date | None = None,
    management: Mapping[int, Iterable[Management]] | None = None,
    chair_confirmed: bool = True,
    note: str = "",
    scheme: Scheme | None = None,
) -> MadeDecision:
    """Record a decision as taken by ``body_code`` at a meeting with ``present`` attending.

    The outcome is approved or rejected (from the votes, or the consensus), or deferred to a
    later meeting (by consensus, with the reason in ``note``; it stays open). Conflicts are
    detected among those present and recorded with the management the chair confirmed
    (``management``, person id → actions; the proposed management when None), which must
    always include not voting.

    Refused, with nothing changed, when: the body lacks the delegated authority; the CRG has
    not agreed a change to care; someone present or voting is not a current member; a member
    excluded for a conflict votes; an eligible member's vote is missing; the chair has not
    confirmed the management of the conflicts; or the meeting is not quorate once the
    excluded are left out.
    """
    votes = dict(votes or {})
    if decided_on > now.date():
        raise GovernanceError("a decision cannot be recorded as taken on a future date")
    latest = latest_version(session, decision_id)
    status = DecisionStatus(latest.status)
    if status not in OPEN_STATUSES:
        raise GovernanceError(f"the decision is already {status.label.lower()}")
    check = check_meeting(
        session, decision_id, body_code=body_code, present=present, on=decided_on, scheme=scheme
    )
    if check.blocking:
        raise GovernanceError(check.blocking[0])
    body = check.body
    seats = {s.person_id: s for s in check.seats}
    for pid, vote in votes.items():
        if vote not in {"for", "against", "abstain"}:
            raise GovernanceError(f"a vote is for, against or abstain, not {vote!r}")
        if pid not in check.present:
            raise GovernanceError(f"person {pid} did not attend and cannot vote")
        if not seats[pid].voting:
            raise GovernanceError(f"{seats[pid].name} is not a voting member")
        if pid in check.excluded:
            reason = next(c.reason for c in check.conflicts if c.person_id == pid)
            raise GovernanceError(
                f"{seats[pid].name} is excluded from the vote (conflict of interest: {reason})"
            )
    managed = _confirmed_management(check, management, chair_confirmed)
    if not check.quorum.quorate:
        raise GovernanceError(check.quorum.explanation)
    outcome: str
    if method == "vote":
        if not votes:
            raise GovernanceError("record the votes, or record the decision by consensus")
        missing = [p for p in check.eligible if p not in votes]
        if missing:
            raise GovernanceError(
                "record a vote (for, against or abstain) for every eligible member present; "
                "missing: " + ", ".join(seats[p].name for p in missing)
            )
        tally: dict[str, int | None] = {
            v: sum(1 for x in votes.values() if x == v) for v in ("for", "against", "abstain")
        }
        outcome = "approved" if (tally["for"] or 0) > (tally["against"] or 0) else "rejected"
    elif method == "consensus":
        if votes:
            raise GovernanceError("a consensus decision has no individual votes")
        if consensus_outcome not in OUTCOMES:
            raise GovernanceError("say whether the consensus approved, rejected or deferred it")
        tally = {"for": None, "against": None, "abstain": None}
        outcome = consensus_outcome
    else:
        raise GovernanceError("the method is vote or consensus")
    if outcome == "deferred":
        if not note.strip():
            raise GovernanceError("give the reason for deferring the decision")
        if effective_date or review_date:
            raise GovernanceError("a deferred decision has no effective or review date yet")
    if review_date and effective_date and review_date < effective_date:
        raise GovernanceError("the review date cannot come before the effective date")
    if effective_date and effective_date < decided_on:
        raise GovernanceError("the effective date cannot come before the decision")
    attendance = "Present: " + ", ".join(seats[p].name for p in check.present) + ". "
    change_note = {
        "approved": f"Approved by {body.name}.",
        "rejected": f"Rejected by {body.name}.",
        "deferred": f"Deferred by {body.name}: {note.strip()}",
    }[outcome]
    if outcome != "deferred" and note.strip():
        change_note += f" {note.strip()}"
    new_status = {
        "approved": DecisionStatus.made,
        "rejected": DecisionStatus.rejected,
        "deferred": DecisionStatus.deferred,
    }[outcome]
    row = _new_version(
        session,
        latest,
        actor=actor,
        now=now,
        change_note=change_note,
        status=new_status.value,
        routed_body_id=body.id,
        method=method,
        votes_for=tally["for"],
        votes_against=tally["against"],
        votes_abstain=tally["abstain"],
        quorum_note=attendance + check.quorum.explanation,
        decided_on=None if outcome == "deferred" else decided_on,
        effective_date=effective_date,
        review_date=review_date,
    )
    for conflict in check.conflicts:
        session.add(
            DecisionConflict(
                decision_id=decision_id,
                version=row.version,
                person_id=conflict.person_id,
                source=conflict.source.value,
                category=conflict.category.value if conflict.category else None,
                interest_id=conflict.interest_id,
                reason=conflict.reason,
                management=[m.value for m in managed[conflict.person_id]],
                recorded_at=now,
                recorded_by=actor,
            )
        )
    for pid, vote in sorted(votes.items()):
        session.add(
            DecisionVote(
                decision_id=decision_id,
                version=row.version,
                person_id=pid,
                vote=vote,
                recorded_at=now,
            )
        )
    session.flush()
    record_audit(
        session,
        actor,
        "decide",
        OBJECT,
        _ref(session, decision_id),
        now,
        {
            "body": body.code,
            "outcome": outcome,
            "approved": outcome == "approved",
            "method": method,
            "present": list(check.present),
            "excluded": sorted(check.excluded),
            "management": {str(p): [m.value for m in a] for p, a in sorted(managed.items())},
            "version": row.version,
        },
    )
    return MadeDecision(row, list(check.conflicts), check.quorum)


def ratify_decision(
    session: Session,
    decision_id: int,
    *,
    organisation_code: str,
    ratified_on: date,
    actor: str,
    now: datetime,
    scheme: Scheme | None = None,
) -> DecisionVersion:
    """Record statutory ratification by the accountable body."""
    scheme = scheme or current_scheme()
    latest = latest_version(session, decision_id)
    if latest.status != DecisionStatus.made.value:
        raise GovernanceError("only a decision that has been made (approved) can be ratified")
    if not latest.needs_ratification:
        raise GovernanceError("the scheme of delegation does not require this to be ratified")
    org = session.get(Organisation, organisation_code)
    if org is None or org.type != scheme.accountable_organisation_type:
        raise GovernanceError(
            f"ratification is by the accountable body (an organisation of type "
            f"{scheme.accountable_organisation_type})"
        )
    if latest.decided_on and ratified_on < latest.decided_on:
        raise GovernanceError("ratification cannot come before the decision")
    if ratified_on > now.date():
        raise GovernanceError("ratification cannot be recorded for a future date")
    row = _new_version(
        session,
        latest,
        actor=actor,
        now=now,
        change_note=f"Ratified by {org.name}.",
        status=DecisionStatus.ratified.value,
        ratified_on=ratified_on,
        ratified_by=org.code,
    )
    record_audit(
        session,
        actor,
        "ratify",
        OBJECT,
        _ref(session, decision_id),
        now,
        {"organisation": org.code, "version": row.version},
    )
    return row


def accountable_organisations(session: Session, scheme: Scheme | None = None) -> list[Organisation]:
    """The organisations that may ratify decisions (the scheme's accountable body type)."""
    scheme = scheme or current_scheme()
    return list(
        session.scalars(
            select(Organisation)
            .where(
                Organisation.type == scheme.accountable_organisation_type,
                Organisation.active.is_(True),
            )
            .order_by(Organisation.code)
        )
    )


def set_dates(
    session: Session,
    decision_id: int,
    *,
    effective_date: date | None,
    review_date: date | None,
    actor: str,
    now: datetime,
) -> DecisionVersion:
    """Set or change the effective and review dates of a decision that has been made."""
    latest = latest_version(session, decision_id)
    if latest.status not in {DecisionStatus.made.value, DecisionStatus.ratified.value}:
        raise GovernanceError("effective and review dates are set once a decision has been made")
    if effective_date is None and review_date is None:
        raise GovernanceError("give an effective date, a review date or both")
    effective = effective_date or latest.effective_date
    review = review_date or latest.review_date
    if latest.decided_on and effective and effective < latest.decided_on:
        raise GovernanceError("the effective date cannot come before the decision")
    if effective and review and review < effective:
        raise GovernanceError("the review date cannot come before the effective date")
    if (effective, review) == (latest.effective_date, latest.review_date):
        raise GovernanceError("those are already the decision's dates; nothing to change")
    row = _new_version(
        session,
        latest,
        actor=actor,
        now=now,
        change_note="Dates set: effective "
        + (f"{effective:%-d %b %Y}" if effective else "not set")
        + ", review "
        + (f"{review:%-d %b %Y}" if review else "not set")
        + ".",
        effective_date=effective,
        review_date=review,
    )
    record_audit(
        session,
        actor,
        "dates",
        OBJECT,
        _ref(session, decision_id),
        now,
        {
            "effective_date": effective.isoformat() if effective else None,
            "review_date": review.isoformat() if review else None,
            "version": row.version,
        },
    )
    return row


def update_progress(
    session: Session, decision_id: int, *, progress: str, actor: str, now: datetime
) -> DecisionVersion:
    """Record progress on a decision that has been made."""
    latest = latest_version(session, decision_id)
    if latest.status not in {DecisionStatus.made.value, DecisionStatus.ratified.value}:
        raise GovernanceError("progress is recorded once a decision has been made")
    if not progress.strip():
        raise GovernanceError("describe the progress")
    row = _new_version(
        session,
        latest,
        actor=actor,
        now=now,
        change_note="Progress updated.",
        progress=progress.strip(),
    )
    record_audit(
        session,
        actor,
        "progress",
        OBJECT,
        _ref(session, decision_id),
        now,
        {"version": row.version},
    )
    return row


def withdraw_decision(
    session: Session, decision_id: int, *, reason: str, actor: str, now: datetime
) -> DecisionVersion:
    """Withdraw a proposal that has not been decided."""
    latest = latest_version(session, decision_id)
    if DecisionStatus(latest.status) not in OPEN_STATUSES:
        raise GovernanceError("only an undecided proposal can be withdrawn")
    if not reason.strip():
        raise GovernanceError("give the reason for withdrawing it")
    row = _new_version(
        session,
        latest,
        actor=actor,
        now=now,
        change_note=f"Withdrawn: {reason.strip()}",
        status=DecisionStatus.withdrawn.value,
    )
    record_audit(
        session,
        actor,
        "withdraw",
        OBJECT,
        _ref(session, decision_id),
        now,
        {"version": row.version},
    )
    return row


def recorded_management(session: Session, decision_id: int) -> dict[int, tuple[Management, ...]]:
    """The management recorded for each conflicted person on a decision."""
    out: dict[int, tuple[Management, ...]] = {}
    for row in session.scalars(
        select(DecisionConflict).where(DecisionConflict.decision_id == decision_id)
    ):
        out[row.person_id] = tuple(Management(m) for m in row.management)
    return out
