"""Demo system plan and shared risk register for the demo ICS.

Called at the end of ``load_demo_governance`` (so the demo people exist). Idempotent: if any
plan version exists, nothing is added.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.footprint.models import Organisation
from wholesystem.governance.models import Person
from wholesystem.governance.plan import services as plan
from wholesystem.governance.plan.models import ObjectiveLevel, PlanVersion
from wholesystem.governance.plan.trajectory import Milestone
from wholesystem.governance.services import place_codes
from wholesystem.metrics.catalogue import by_id
from wholesystem.metrics.spc import Improvement
from wholesystem.store.db import utcnow

__all__ = ["load_demo_plan"]

# (priority, [(ref, title, level, place index or None, owner name, org type, metric ids)])
_PLAN = (
    (
        "Urgent and emergency care that flows",
        "People are seen quickly and leave hospital as soon as they are well enough.",
        [
            ("O1", "Meet the 4-hour A&E standard across every site", "system", None,
             "Jo Hart", "acute_trust", ("ae_4hr", "ae_12hr")),
            ("O2", "Get people home when they no longer need a hospital bed", "system", None,
             "Lee Carter", "community_trust", ("nctr_share", "bed_occupancy")),
            ("O3", "Fewer emergency admissions through neighbourhood teams", "place", 0,
             "Dr Sita Rao", "gp_practice", ("emergency_admissions_rate", "readmissions_30d")),
        ],
    ),
    (
        "Living well with long-term conditions",
        "Find people with undiagnosed conditions early and support them in the community.",
        [
            ("O4", "Find undiagnosed diabetes and hypertension", "place", 0,
             "Dr Sita Rao", "gp_practice", ("diabetes_prevalence", "hypertension_prevalence")),
            ("O5", "More care in the community, closer to home", "place", 1,
             "Amira Khan", "community_trust", ("community_contacts_rate",)),
        ],
    ),
    (
        "Independence in later life",
        "Fewer older people lose their independence after a crisis.",
        [
            ("O6", "Fewer permanent care home admissions", "place", 1,
             "Cllr Chris Council", "local_authority", ("care_home_admissions",)),
            ("O7", "Fewer new long-term care packages after hospital", "place", 0,
             "Lee Carter", "local_authority", ("new_long_term_care",)),
        ],
    ),
    (
        "A sustainable system",
        "Live within our means and grow our own workforce.",
        [
            ("O8", "Deliver the system financial plan", "system", None,
             "Bob Board", "icb", ("finance_ytd_variance",)),
            ("O9", "Cut agency spend and vacancies", "system", None,
             "Amira Khan", "community_trust", ("agency_share", "vacancy_rate")),
        ],
    ),
)  # fmt: skip

# (title, description, org type, owner, [(likelihood, consequence) oldest first], target,
#  controls, objectives)
_Risk = tuple[str, str, str, str, list[tuple[int, int]], tuple[int, int], list[str], list[str]]
_RISKS: tuple[_Risk, ...] = (
    ("Winter demand exceeds urgent care capacity",
     "A hard winter overwhelms A&E and beds, and 12-hour waits rise.", "acute_trust",
     "Jo Hart", [(4, 4), (5, 4), (4, 4)], (2, 4),
     ["System winter plan agreed", "Daily system control centre call"], ["O1", "O2"]),
    ("Delayed discharges to social care",
     "Care packages cannot be arranged fast enough and people stay in hospital.",
     "local_authority", "Cllr Chris Council", [(4, 3), (4, 4)], (2, 3),
     ["Discharge-to-assess pathway"], ["O2", "O7"]),
    ("System financial deficit", "The system spends more than its allocation.", "icb",
     "Bob Board", [(3, 5), (4, 5), (4, 5)], (2, 5), ["Monthly open-book review"], ["O8"]),
    ("Workforce shortages in community nursing",
     "Vacancies leave neighbourhood teams unable to take referrals.", "community_trust",
     "Amira Khan", [(4, 3), (3, 3)], (2, 3), ["Joint recruitment campaign"], ["O5", "O9"]),
    ("GP practice resilience", "Small practices close or hand back contracts.", "gp_practice",
     "Dr Sita Rao", [(3, 4)], (2, 4), ["Practice resilience fund"], ["O3", "O4"]),
    ("Care home market fragility", "Care homes close and placements fall through.",
     "local_authority", "Cllr Chris Council", [(3, 4), (3, 4)], (2, 3), [], ["O6"]),
    ("Shared care record not adopted", "Staff do not use the record, so care is not joined up.",
     "icb", "Dr Morgan Reid", [(3, 3), (2, 3)], (1, 3), ["Clinical safety case signed off"],
     ["O3"]),
    ("Cyber attack on a partner", "A ransomware attack takes clinical systems offline.", "icb",
     "Bob Board", [(3, 5)], (2, 5), ["Data Security and Protection Toolkit met by all"], []),
    ("Voluntary sector funding ends", "Grant funding for social prescribing ends in March.",
     "voluntary_sector", "Pat Owen", [(2, 2), (3, 2)], (1, 2), [], ["O5"]),
    ("Mental health out-of-area placements", "People are sent far from home for a bed.",
     "icb", "Dr Morgan Reid", [(4, 3), (4, 3), (3, 3)], (2, 3), ["Crisis house opened"], []),
)  # fmt: skip


def _org(session: Session, org_type: str) -> str:
    code = session.scalar(
        select(Organisation.code)
        .where(Organisation.type == org_type, Organisation.active.is_(True))
        .order_by(Organisation.code)
    )
    if code is None:  # a small footprint may lack a type: the ICB stands in
        code = session.scalar(
            select(Organisation.code).where(Organisation.type == "icb").order_by(Organisation.code)
        )
    if code is None:
        raise plan.PlanError("footprint", "the footprint has no ICB")
    return code


def _trajectory(metric_id: str, start: datetime) -> list[Milestone]:
    # From a little short of the catalogue target at the start of the year to the target
    # at its end: a path the objective owner has agreed to.
    metric = by_id(metric_id)
    target = metric.target.value
    slack = max(abs(target) * Decimal("0.05"), Decimal("1"))
    first = target - slack if metric.improvement is Improvement.up else target + slack
    return [
        Milestone(start.date(), first.quantize(Decimal("0.1"))),
        Milestone(start.date() + timedelta(days=365), target),
    ]


def load_demo_plan(session: Session, *, actor: str = "demo", now: datetime | None = None) -> str:
    """Create the demo plan and risk register (the caller commits); a one-line summary."""
    now = now or utcnow()
    if session.scalar(select(PlanVersion.id).limit(1)) is not None:
        return "plan demo already loaded"
    people = {p.name: p for p in session.scalars(select(Person))}
    if not people:
        raise plan.PlanError("people", "load the governance demo first: there is no one")
    fallback = next(iter(people.values()))
    places = place_codes(session)
    start = now - timedelta(days=150)
    draft = plan.start_draft(
        session,
        title="Northshire system plan",
        vision=(
            "Everyone in our system lives a longer, healthier and more independent life, with "
            "care joined up around them: decided at place wherever it can be, at system level "
            "only where it must be."
        ),
        period_start=start.date(),
        period_end=start.date() + timedelta(days=365 * 3),
        change_note="First plan agreed by the system board.",
        actor=actor,
        now=start,
    )
    count = 0
    for title, description, objectives in _PLAN:
        priority = plan.add_priority(
            session, draft.id, title=title, description=description, actor=actor, now=start
        )
        for ref, otitle, level, place_index, owner, org_type, metrics in objectives:
            plan.add_objective(
                session,
                draft.id,
                priority_id=priority.id,
                ref=ref,
                title=otitle,
                level=ObjectiveLevel(level),
                place_code=places[place_index % len(places)] if place_index is not None else None,
                owner_org_code=_org(session, org_type),
                owner_person_id=people.get(owner, fallback).id,
                metrics={m: _trajectory(m, start) for m in metrics},
                actor=actor,
                now=start,
            )
            count += 1
    plan.publish_plan(session, draft.id, actor=actor, now=start)
    for title, description, org_type, owner, scores, target, controls, refs in _RISKS:
        first_on = now - timedelta(days=30 * len(scores))
        (lk, c), rest = scores[0], scores[1:]
        risk = plan.create_risk(
            session,
            title=title,
            description=description,
            owner_org_code=_org(session, org_type),
            owner_person_id=people.get(owner, fallback).id,
            likelihood=lk,
            consequence=c,
            target_likelihood=target[0],
            target_consequence=target[1],
            rationale="Scored when the risk was opened.",
            opened_on=first_on.date(),
            controls=controls,
            objective_refs=refs,
            actor=actor,
            now=first_on,
        )
        for i, (lk, c) in enumerate(rest, start=1):
            on = first_on + timedelta(days=30 * i)
            plan.rescore_risk(
                session,
                risk.id,
                likelihood=lk,
                consequence=c,
                scored_on=on.date(),
                rationale="Reviewed at the monthly risk review.",
                actor=actor,
                now=on,
            )
        plan.add_action(
            session,
            risk.id,
            description=f"Report progress on '{title}' to the system board",
            owner_person_id=people.get(owner, fallback).id,
            due_on=now.date() + timedelta(days=30),
            actor=actor,
            now=now,
        )
    return f"plan demo: {len(_PLAN)} priorities, {count} objectives, {len(_RISKS)} risks"
