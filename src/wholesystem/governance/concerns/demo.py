"""Demo concerns and questions: an escalation at mediation, one resolved locally, one overdue,
the concerns raised by the demo snapshot's failing metrics, and answered questions.

Called at the end of :func:`wholesystem.governance.demo.load_demo_governance` (after the
bodies, people and decisions exist). Idempotent: the partner concerns and the questions are
added only when there are none, and metric concerns are raised once per metric and area.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wholesystem.governance.concerns import services as svc
from wholesystem.governance.concerns.models import Concern, Question
from wholesystem.governance.concerns.rules import Stage
from wholesystem.governance.models import Decision, DecisionVersion, Person
from wholesystem.store.db import utcnow

__all__ = ["load_demo_concerns"]


def _person(session: Session, name: str) -> Person | None:
    return session.scalar(select(Person).where(Person.name == name).order_by(Person.id).limit(1))


def _partner_concerns(session: Session, now: datetime) -> int:
    names = ("Lee Carter", "Jo Hart", "Bob Board", "Amira Khan", "Dr Sita Rao")
    found = {n: _person(session, n) for n in names}
    people = {n: p for n, p in found.items() if p is not None}
    if len(people) < len(names):
        return 0  # not the demo governance: nothing to hang the stories on
    carter, hart, board, khan, rao = (people[n] for n in names)

    # An escalation in progress, now at facilitated mediation.
    start = now - timedelta(days=70)
    dispute = svc.open_concern(
        session,
        title="Funding of community ophthalmology transfer costs",
        detail=(
            "The acute trust and the community trust disagree on who bears the one-off costs "
            "of moving community ophthalmology clinics into the single system-wide service."
        ),
        organisations=[hart.organisation_code, carter.organisation_code],
        owner_person_id=carter.id,
        raised_by="demo",
        raised_by_name=f"{hart.name}, {hart.job_title}",
        raised_by_org=hart.organisation_code,
        now=start,
    )
    svc.escalate_concern(
        session,
        dispute.id,
        to=Stage.chief_executives.value,
        owner_person_id=hart.id,
        reason="The directors could not agree a split of the £240,000 one-off costs.",
        actor="demo",
        now=start + timedelta(days=27),
        is_lead=True,
    )
    svc.escalate_concern(
        session,
        dispute.id,
        to=Stage.mediation.value,
        owner_person_id=board.id,
        reason="The chief executives agreed the principle but not the amounts; both asked "
        "for facilitated mediation.",
        actor="demo",
        now=start + timedelta(days=45),
        is_lead=True,
    )

    # One resolved at local resolution.
    local = svc.open_concern(
        session,
        title="Discharge summaries reaching community nursing late",
        detail="Community nurses are receiving discharge summaries two to three days after "
        "patients get home, so first visits are missed.",
        organisations=[hart.organisation_code, khan.organisation_code],
        owner_person_id=khan.id,
        raised_by="demo",
        raised_by_name=f"{khan.name}, {khan.job_title}",
        raised_by_org=khan.organisation_code,
        now=now - timedelta(days=40),
    )
    svc.resolve_concern(
        session,
        local.id,
        outcome="The trust now sends summaries electronically on discharge; a four-week "
        "audit found 96% arrived the same day.",
        actor="demo",
        now=now - timedelta(days=25),
        is_lead=True,
    )

    # One whose local-resolution clock has passed.
    svc.open_concern(
        session,
        title="Out-of-hours cover gaps at weekends",
        detail="Two weekends last month had no GP cover in the out-of-hours service for four "
        "hours; practices were not told.",
        organisations=[rao.organisation_code, hart.organisation_code],
        owner_person_id=rao.id,
        raised_by="demo",
        raised_by_name=f"{hart.name}, {hart.job_title}",
        raised_by_org=hart.organisation_code,
        now=now - timedelta(days=35),
    )
    return 3


def _questions(session: Session, now: datetime) -> int:
    refs = list(
        session.execute(
            select(Decision.reference, DecisionVersion.status)
            .join(
                DecisionVersion,
                (DecisionVersion.decision_id == Decision.id)
                & (DecisionVersion.version == Decision.latest_version),
            )
            .where(DecisionVersion.status != "withdrawn")
            .order_by(Decision.id)
        ).all()
    )
    if len(refs) < 2:
        return 0
    first, last = refs[0][0], refs[-1][0]
    asked = [
        svc.ask_question(
            session,
            subject_kind="decision",
            subject_ref=first,
            kind="question",
            text="How will you know whether the falls prevention service is working, and "
            "when will the results be published?",
            asker_kind=svc.AskerKind.public,
            asker_name="Sam Resident",
            asker_email="sam.resident@example.com",
            now=now - timedelta(days=30),
        ),
        svc.ask_question(
            session,
            subject_kind="decision",
            subject_ref=last,
            kind="comment",
            text="Carers' groups should be consulted before the risk-share is agreed: "
            "overspends have landed on social care before.",
            asker_kind=svc.AskerKind.member,
            asker_name="Cllr Chris Council",
            asker_username="councillor",
            asker_role="Councillor",
            now=now - timedelta(days=12),
        ),
        svc.ask_question(
            session,
            subject_kind="decision",
            subject_ref=first,
            kind="question",
            text="Will the service take referrals from care homes directly?",
            asker_kind=svc.AskerKind.public,
            asker_name="Alex Visitor",
            asker_email="alex@example.org",
            now=now - timedelta(days=3),
        ),
    ]
    svc.answer_question(
        session,
        asked[0].id,
        answer="Falls admissions and repeat falls are tracked monthly on the system dashboard; "
        "the place board reviews the first six months at its public meeting.",
        actor="demo",
        now=now - timedelta(days=16),
    )
    svc.answer_question(
        session,
        asked[1].id,
        answer="Agreed: the carers' forum is on the consultation list and its view will be in "
        "the board paper.",
        actor="demo",
        now=now - timedelta(days=5),
    )
    return len(asked)


def load_demo_concerns(session: Session, *, now: datetime | None = None) -> str:
    """Add the demo concerns and questions (the caller commits); a one-line summary."""
    now = now or utcnow()
    partner = 0
    if not session.scalar(
        select(func.count()).select_from(Concern).where(Concern.source == "partner")
    ):
        partner = _partner_concerns(session, now)
    questions = 0
    if not session.scalar(select(func.count()).select_from(Question)):
        questions = _questions(session, now)
    run = svc.raise_metric_concerns(session, now=now)
    return (
        f"concerns demo: {partner} partner concerns, {len(run.raised)} from failing metrics, "
        f"{questions} questions"
    )
