"""Demo governance for the demo ICS: bodies, members, interests, routed decisions.

Call :func:`load_demo_governance` after the footprint and the demo users are loaded
(``wholesystem governance demo`` does). It is idempotent: if the system board exists,
nothing is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access.models import User
from wholesystem.footprint.models import Area, Organisation
from wholesystem.governance import services as gov
from wholesystem.governance.conflicts import InterestCategory
from wholesystem.governance.interests import GiftKind
from wholesystem.governance.models import Body, Person
from wholesystem.governance.scheme import BodyKind, DecisionKind
from wholesystem.store.db import utcnow

__all__ = ["load_demo_governance"]


def _orgs(session: Session, org_type: str) -> list[Organisation]:
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.type == org_type, Organisation.active.is_(True))
            .order_by(Organisation.code)
        )
    )


def _first(session: Session, *types: str) -> str:
    for org_type in types:
        found = _orgs(session, org_type)
        if found:
            return found[0].code
    raise gov.GovernanceError(f"the footprint has no organisation of type {' or '.join(types)}")


def load_demo_governance(
    session: Session, *, actor: str = "demo", now: datetime | None = None
) -> str:
    """Create the demo governance (the caller commits); returns a one-line summary."""
    now = now or utcnow()
    if session.scalar(select(Body).where(Body.kind == BodyKind.system_board.value)):
        return "governance demo already loaded"
    places = list(
        session.scalars(
            select(Area)
            .where(Area.level == "place", Area.active.is_(True))
            .order_by(Area.position, Area.code)
        )
    )
    if not places:
        raise gov.GovernanceError("load a footprint first: it has no places")
    icb = _first(session, "icb")
    acute = _first(session, "acute_trust", "icb")
    community = _first(session, "community_trust", "acute_trust", "icb")
    councils = [o.code for o in _orgs(session, "local_authority")] or [icb]
    practice = _first(session, "gp_practice", "pcn", "icb")
    vcs = _first(session, "voluntary_sector", "icb")
    start = now.date() - timedelta(days=365)
    # Members have sat for three years, so the decision history below has its quorums.
    seated = now.date() - timedelta(days=3 * 365)

    def person(
        name: str, org: str, title: str, second: str | None = None, username: str | None = None
    ) -> Person:
        user = session.scalar(select(User).where(User.username == username)) if username else None
        return gov.create_person(
            session,
            name=name,
            organisation_code=org,
            job_title=title,
            second_organisation_code=second,
            user_id=user.id if user else None,
            actor=actor,
            now=now,
        )

    board_user = person("Bob Board", icb, "ICB chief executive", username="board")
    ned = person("Nadia Nonexec", icb, "Independent non-executive member", username="ned")
    cllr = person(
        "Cllr Chris Council",
        councils[0],
        "Cabinet member for adult social care",
        username="councillor",
    )
    medical = person("Dr Morgan Reid", icb, "Chief medical officer")
    acute_ceo = person("Jo Hart", acute, "Chief executive")
    gp_lead = person("Dr Sita Rao", practice, "GP partner and clinical lead")
    joint = person(
        "Lee Carter", community, "Director of integrated care (joint post)", second=councils[0]
    )
    nurse = person("Amira Khan", community, "Director of nursing")
    vcs_lead = person("Pat Owen", vcs, "Chief officer")

    system = gov.create_body(
        session,
        code="SB",
        name="System board",
        kind=BodyKind.system_board,
        area_code=None,
        actor=actor,
        now=now,
    )
    crg = gov.create_body(
        session,
        code="CRG",
        name="Clinical reference group",
        kind=BodyKind.clinical_reference_group,
        area_code=None,
        actor=actor,
        now=now,
    )
    forum = gov.create_body(
        session,
        code="PF",
        name="Provider forum",
        kind=BodyKind.provider_forum,
        area_code=None,
        actor=actor,
        now=now,
    )
    seats = [
        (system, board_user, "Chief executive", "executive", True),
        (system, ned, "Non-executive member", "non_executive", True),
        (system, cllr, "Local authority partner member", "local_authority", True),
        (system, medical, "Chief medical officer", "clinical", True),
        (system, acute_ceo, "Trust partner member", "nhs_trust", True),
        (system, gp_lead, "Primary care partner member", "clinical", True),
        (system, vcs_lead, "Voluntary sector participant", "voluntary_sector", False),
        (crg, medical, "Chair", "clinical", True),
        (crg, gp_lead, "Primary care clinician", "clinical", True),
        (crg, nurse, "Nursing lead", "clinical", True),
        (forum, acute_ceo, "Acute provider", "nhs_trust", True),
        (forum, nurse, "Community provider", "nhs_trust", True),
        (forum, vcs_lead, "Voluntary sector", "voluntary_sector", True),
    ]
    place_boards: list[Body] = []
    for i, place in enumerate(places):
        board = gov.create_body(
            session,
            code=f"PB-{place.code}",
            name=f"{place.name} place board",
            kind=BodyKind.place_board,
            area_code=place.code,
            actor=actor,
            now=now,
        )
        place_boards.append(board)
        council = councils[i % len(councils)]
        local_cllr = (
            cllr if council == councils[0] else person(f"Cllr Place {i + 1}", council, "Councillor")
        )
        seats += [
            (board, joint if i == 0 else nurse, "Place director", "executive", True),
            (board, local_cllr, "Council member", "local_authority", True),
            (board, gp_lead if i == 0 else medical, "Clinical lead", "clinical", True),
            (board, acute_ceo, "Trust member", "nhs_trust", True),
            (board, vcs_lead, "Voluntary sector member", "voluntary_sector", True),
        ]
    for body, who, role, group, voting in seats:
        gov.add_member(
            session,
            body_id=body.id,
            person_id=who.id,
            role=role,
            member_group=group,
            voting=voting,
            term_start=seated,
            actor=actor,
            now=now,
        )

    # Interests: one of them (the GP lead's shares in the community trust's subcontractor,
    # declared against the community trust) conflicts with the community service change.
    gov.declare_interest(
        session,
        person_id=gp_lead.id,
        category=InterestCategory.financial,
        organisation_code=community,
        description=(
            "Shareholder in a GP federation subcontracted by the community "
            "trust for community ophthalmology"
        ),
        starts=start,
        actor=actor,
        now=now,
    )
    gov.declare_interest(
        session,
        person_id=ned.id,
        category=InterestCategory.non_financial_professional,
        organisation_name="Royal College of Nursing",
        description="Trustee",
        matter="workforce",
        starts=start,
        actor=actor,
        now=now,
    )
    gov.declare_interest(
        session,
        person_id=acute_ceo.id,
        category=InterestCategory.indirect,
        organisation_code=vcs,
        description="Spouse is a trustee",
        starts=start,
        actor=actor,
        now=now,
    )
    gov.declare_interest(
        session,
        person_id=cllr.id,
        category=InterestCategory.non_financial_personal,
        organisation_name="Carers' support group",
        matter="carers",
        description="Volunteer",
        starts=start,
        actor=actor,
        now=now,
    )
    for who in (medical, nurse, vcs_lead):
        gov.annual_declaration(
            session, person_id=who.id, year=now.year, nil_return=True, actor=actor, now=now
        )
    gov.record_gift(
        session,
        person_id=acute_ceo.id,
        kind=GiftKind.hospitality,
        offered_by="A medical devices supplier",
        from_supplier=True,
        description="Conference dinner",
        value=Decimal("60"),
        received_on=now.date() - timedelta(days=40),
        actor=actor,
        now=now,
    )

    # Decisions: several at place, one at system through the CRG with a conflicted member.
    made = now.date() - timedelta(days=20)
    place_members = {b.id: [m for m in _present(session, b)] for b in place_boards}
    for i, board in enumerate(place_boards):
        for title, kind, value in (
            ("Extend the falls prevention service", DecisionKind.investment, "180000"),
            (
                "Social prescribing link workers in every neighbourhood",
                DecisionKind.commissioning,
                "240000",
            ),
        ):
            d = gov.propose_decision(
                session,
                title=title,
                kind=kind,
                proposer="Place director",
                value=Decimal(value),
                places=[board.area_code or ""],
                reasons="Frailty and loneliness are the place's priorities.",
                alternatives="Do nothing; a smaller pilot.",
                actor=actor,
                now=now,
            )
            gov.record_decision(
                session,
                d.id,
                body_code=board.code,
                present=place_members[board.id],
                method="consensus",
                consensus_outcome="approved",
                decided_on=made - timedelta(days=i),
                effective_date=made + timedelta(days=30),
                review_date=made + timedelta(days=395),
                actor=actor,
                now=now,
            )
    _decision_history(session, system, place_boards, [p.code for p in places], actor=actor, now=now)
    change = gov.propose_decision(
        session,
        title="Move community ophthalmology into one system-wide service",
        kind=DecisionKind.service_change,
        proposer="Chief medical officer",
        value=Decimal("3200000"),
        places=[p.code for p in places],
        parties=[community],
        matters=["community ophthalmology"],
        reasons="Waits differ threefold between places; one service evens them out.",
        alternatives="Keep separate services per place; outsource.",
        planned_on=now.date() + timedelta(days=35),
        actor=actor,
        now=now,
    )
    gov.record_crg(
        session,
        change.id,
        agreed=True,
        note="Agreed, subject to a 12-month clinical outcomes review.",
        actor=actor,
        now=now,
    )
    gov.propose_decision(
        session,
        title="System risk-share agreement for 2026/27",
        kind=DecisionKind.policy,
        proposer="Chief finance officer",
        value=Decimal("0"),
        places=[],
        reserved_matters=["risk_share"],
        reasons="Agree how over- and underspends are shared.",
        alternatives="Each partner bears its own.",
        planned_on=now.date() + timedelta(days=30),
        actor=actor,
        now=now,
    )
    from wholesystem.governance.plan.demo import load_demo_plan

    load_demo_plan(session, actor=actor, now=now)
    from wholesystem.governance.concerns.demo import load_demo_concerns

    load_demo_concerns(session, now=now)
    from wholesystem.governance.meetings.demo import load_demo_meetings

    load_demo_meetings(session, actor=actor, now=now)
    return (
        f"governance demo: {3 + len(place_boards)} bodies, {len(seats)} seats, "
        f"{2 * len(place_boards) + 2} decisions"
    )


def _present(session: Session, body: Body) -> list[int]:
    from wholesystem.governance.models import Member

    return [m.person_id for m in session.scalars(select(Member).where(Member.body_id == body.id))]


# The decisions of the last eight quarters, oldest first: (made at place, made at system)
# per quarter. About 80/20, as the system aims, with quarters either side of it, so the
# dashboard's place/system split has a history to chart.
HISTORY = ((4, 1), (3, 1), (5, 1), (4, 2), (6, 1), (4, 1), (3, 2), (5, 1))
_PLACE_TITLES = (
    ("Extend the virtual ward", DecisionKind.investment, "420000"),
    ("Seven-day integrated discharge team", DecisionKind.service_change, "310000"),
    ("Carers' respite grants", DecisionKind.commissioning, "90000"),
    ("Community diabetes clinic in the neighbourhood hub", DecisionKind.investment, "150000"),
    ("Frailty hub opening hours", DecisionKind.policy, "0"),
    ("Warm homes referrals from general practice", DecisionKind.commissioning, "60000"),
)
_SYSTEM_TITLES = (
    ("One clinical assessment service for NHS 111", DecisionKind.commissioning, "2400000"),
    ("Shared staff bank across partners", DecisionKind.policy, "0"),
    ("Winter urgent and emergency care capacity plan", DecisionKind.investment, "3100000"),
)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _decision_history(
    session: Session,
    system: Body,
    place_boards: Sequence[Body],
    place_codes: Sequence[str],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Decisions made in each of the eight quarters before the current one."""
    quarter = _quarter_start(now.date())
    starts = []
    for _ in HISTORY:
        quarter = _quarter_start(quarter - timedelta(days=1))
        starts.append(quarter)
    present = {b.id: _present(session, b) for b in (system, *place_boards)}
    n = 0
    for first, (at_place, at_system) in zip(reversed(starts), HISTORY, strict=True):
        made: list[tuple[Body, list[str], tuple[str, DecisionKind, str]]] = []
        for i in range(at_place):
            board = place_boards[(n + i) % len(place_boards)]
            made.append((board, [board.area_code or ""], _PLACE_TITLES[(n + i) % 6]))
        made += [(system, list(place_codes), _SYSTEM_TITLES[(n + i) % 3]) for i in range(at_system)]
        for i, (body, places, (title, kind, value)) in enumerate(made):
            d = gov.propose_decision(
                session,
                title=f"{title} ({first:%B %Y} round)",
                kind=kind,
                proposer="Place director" if body is not system else "Chief executive",
                value=Decimal(value),
                places=places,
                reasons="Agreed in the system plan's priorities for the year.",
                alternatives="Do nothing; a smaller pilot.",
                actor=actor,
                now=now,
            )
            if gov.latest_version(session, d.id).needs_crg:
                gov.record_crg(session, d.id, agreed=True, note="Agreed.", actor=actor, now=now)
            decided = first + timedelta(days=10 + 7 * i)
            gov.record_decision(
                session,
                d.id,
                body_code=body.code,
                present=present[body.id],
                method="consensus",
                consensus_outcome="approved",
                decided_on=decided,
                effective_date=decided + timedelta(days=30),
                review_date=decided + timedelta(days=365),
                actor=actor,
                now=now,
            )
        n += at_place + at_system
