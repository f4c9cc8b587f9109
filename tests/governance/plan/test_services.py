"""Plan and risk services on SQLite and PostgreSQL: immutability, bad input, audit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.governance.conftest import demo_over_footprint
from wholesystem.access.models import AuditEvent
from wholesystem.governance.models import Person
from wholesystem.governance.plan import services as plan
from wholesystem.governance.plan.demo import load_demo_plan
from wholesystem.governance.plan.models import (
    ObjectiveLevel,
    PlanObjective,
    PlanPriority,
    PlanVersion,
    Risk,
    RiskScoreRow,
)
from wholesystem.governance.plan.scoring import Trend
from wholesystem.governance.plan.trajectory import Milestone

NOW = datetime(2026, 5, 1, 10, tzinfo=UTC)
TRAJ = [Milestone(date(2026, 6, 30), Decimal("76")), Milestone(date(2027, 3, 31), Decimal("78"))]


@pytest.fixture
def demo(session: Session, footprint_file: Path) -> Session:
    return demo_over_footprint(session, footprint_file, NOW)


def _counts(s: Session) -> tuple[int, ...]:
    return tuple(
        s.scalar(select(func.count()).select_from(m)) or 0
        for m in (PlanVersion, PlanObjective, Risk, RiskScoreRow, AuditEvent)
    )


def _person(s: Session) -> int:
    pid = s.scalar(select(Person.id).order_by(Person.id))
    assert pid is not None
    return pid


def test_the_demo_has_a_published_plan_and_risks_and_is_idempotent(demo: Session) -> None:
    assert load_demo_plan(demo, now=NOW) == "plan demo already loaded"
    current = plan.current_plan(demo)
    assert current is not None
    view = plan.plan_view(demo, current)
    assert len(view.priorities) == 4
    levels = {o.objective.level for o in view.objectives}
    assert levels == {"system", "place"}
    assert len(view.objectives) == 9
    risks = plan.list_risks(demo)
    assert len(risks) == 10
    assert {v.trend for v in risks} == {Trend.new, Trend.rising, Trend.falling, Trend.stable}
    assert all(v.target.value <= v.scores[0].likelihood * v.scores[0].consequence for v in risks)


def test_a_published_version_is_immutable_in_the_service_and_the_database(
    demo: Session,
) -> None:
    current = plan.current_plan(demo)
    assert current is not None
    before = _counts(demo)
    with pytest.raises(plan.PlanError, match="published versions are immutable"):
        plan.add_priority(demo, current.id, title="Late", description="", actor="g", now=NOW)
    objective = demo.scalars(
        select(PlanObjective).where(PlanObjective.version_id == current.id)
    ).first()
    assert objective is not None
    with pytest.raises(plan.PlanError, match="immutable"):
        plan.remove_objective(demo, objective.id, actor="g", now=NOW)
    demo.rollback()
    assert _counts(demo) == before
    version_id, priority_id = current.id, objective.priority_id
    for statement in (
        update(PlanVersion).where(PlanVersion.id == version_id).values(vision="rewritten"),
        update(PlanObjective).where(PlanObjective.id == objective.id).values(title="x"),
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            demo.execute(statement)
        demo.rollback()
    demo.add(PlanPriority(version_id=version_id, position=9, title="x", description=""))
    with pytest.raises(DBAPIError, match="immutable"):
        demo.flush()
    demo.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        demo.execute(update(RiskScoreRow).values(likelihood=1))
    demo.rollback()
    assert demo.get(PlanPriority, priority_id) is not None


def test_a_revision_is_a_new_version_copied_from_the_current(demo: Session) -> None:
    first = plan.current_plan(demo)
    assert first is not None
    draft = plan.start_draft(
        demo,
        title="Northshire system plan",
        vision="Revised",
        period_start=date(2026, 4, 1),
        period_end=date(2029, 3, 31),
        change_note="Mid-year refresh",
        actor="gail",
        now=NOW,
    )
    assert draft.number == first.number + 1
    assert len(plan.plan_view(demo, draft, with_progress=False).objectives) == 9
    with pytest.raises(plan.PlanError, match="already in draft"):
        plan.start_draft(
            demo,
            title="t",
            vision="v",
            period_start=date(2026, 4, 1),
            period_end=date(2027, 3, 31),
            change_note="n",
            actor="gail",
            now=NOW,
        )
    plan.publish_plan(demo, draft.id, actor="gail", now=NOW)
    demo.commit()
    current = plan.current_plan(demo)
    assert current is not None
    assert current.number == draft.number
    assert plan.plan_view(demo, first).version.vision != "Revised"  # the old one is kept


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"metrics": {"no_such_metric": TRAJ}}, "metric", "'no_such_metric' is not in"),
        ({"metrics": {"ae_4hr": TRAJ}, "level": ObjectiveLevel.place, "place_code": "PL1"},
         "metric", "not per place"),
        ({"metrics": {}}, "metrics", "at least one"),
        ({"level": ObjectiveLevel.place, "place_code": "NOPE"}, "place", "not 'NOPE'"),
        ({"place_code": "PL1"}, "place", "leave place blank"),
        ({"owner_org_code": "ZZZ"}, "owner organisation", "'ZZZ'"),
        ({"owner_person_id": 99999}, "owner", "99999"),
        ({"ref": "  "}, "reference", "blank"),
        ({"metrics": {"ae_4hr": [TRAJ[0], TRAJ[0]]}}, "trajectory for ae_4hr", "two milestones"),
    ],
)  # fmt: skip
def test_bad_objectives_are_refused_naming_the_field_and_nothing_changes(
    demo: Session, change: dict[str, object], field: str, message: str
) -> None:
    draft = plan.start_draft(
        demo,
        title="t",
        vision="v",
        period_start=date(2026, 4, 1),
        period_end=date(2027, 3, 31),
        change_note="n",
        actor="gail",
        now=NOW,
    )
    priority = plan.add_priority(demo, draft.id, title="P", description="", actor="g", now=NOW)
    demo.commit()
    before = _counts(demo)
    args: dict[str, object] = {
        "priority_id": priority.id,
        "ref": "O99",
        "title": "An objective",
        "level": ObjectiveLevel.system,
        "place_code": None,
        "owner_org_code": "QXX",
        "owner_person_id": _person(demo),
        "metrics": {"ae_4hr": TRAJ},
    } | change
    with pytest.raises(plan.PlanError) as caught:
        plan.add_objective(demo, draft.id, actor="gail", now=NOW, **args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert message in str(caught.value)
    demo.rollback()
    assert _counts(demo) == before


def _risk_args(s: Session, **change: object) -> dict[str, object]:
    return {
        "title": "A risk",
        "description": "What could happen",
        "owner_org_code": "QXX",
        "owner_person_id": _person(s),
        "likelihood": 3,
        "consequence": 4,
        "target_likelihood": 2,
        "target_consequence": 4,
        "rationale": "Because",
        "opened_on": NOW.date(),
        "objective_refs": ["O1"],
    } | change


@pytest.mark.parametrize(
    ("change", "field"),
    [({"likelihood": 0}, "likelihood"), ({"likelihood": 6}, "likelihood"),
     ({"consequence": 6}, "consequence"), ({"target_likelihood": 0}, "target likelihood"),
     ({"target_likelihood": 4}, "target score"), ({"objective_refs": ["O404"]}, "linked objective"),
     ({"owner_org_code": "ZZZ"}, "owner organisation"), ({"title": ""}, "title")],
)  # fmt: skip
def test_bad_risks_are_refused_naming_the_field(
    demo: Session, change: dict[str, object], field: str
) -> None:
    before = _counts(demo)
    with pytest.raises(plan.PlanError) as caught:
        plan.create_risk(demo, actor="gail", now=NOW, **_risk_args(demo, **change))  # type: ignore[arg-type]
    assert caught.value.field == field
    demo.rollback()
    assert _counts(demo) == before


def test_rescoring_appends_history_computes_the_trend_and_is_audited(demo: Session) -> None:
    risk = plan.create_risk(demo, actor="gail", now=NOW, **_risk_args(demo))  # type: ignore[arg-type]
    demo.commit()
    view = plan.risk_view(demo, risk.id)
    assert view is not None
    assert view.trend is Trend.new
    plan.rescore_risk(
        demo, risk.id, likelihood=4, consequence=4, scored_on=NOW.date(), rationale="Worse",
        actor="gail", now=NOW,
    )  # fmt: skip
    demo.commit()
    view = plan.risk_view(demo, risk.id)
    assert view is not None
    assert (view.current.value, view.trend) == (16, Trend.rising)
    before = _counts(demo)
    with pytest.raises(plan.PlanError, match=r"^likelihood"):
        plan.rescore_risk(
            demo, risk.id, likelihood=6, consequence=4, scored_on=NOW.date(), rationale="x",
            actor="gail", now=NOW,
        )  # fmt: skip
    with pytest.raises(plan.PlanError, match=r"^scored on: .* is before the last score"):
        plan.rescore_risk(
            demo, risk.id, likelihood=2, consequence=4, scored_on=date(2026, 1, 1),
            rationale="x", actor="gail", now=NOW,
        )  # fmt: skip
    with pytest.raises(plan.PlanError, match=r"^due date"):
        plan.add_action(
            demo, risk.id, description="Do it", owner_person_id=_person(demo),
            due_on=date(2026, 1, 1), actor="gail", now=NOW,
        )  # fmt: skip
    demo.rollback()
    assert _counts(demo) == before
    actions = demo.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "governance_risk")
    ).all()
    assert {"create", "rescore"} <= set(actions)


def test_closing_needs_a_note_keeps_the_risk_readable_and_freezes_it(demo: Session) -> None:
    risk = plan.create_risk(demo, actor="gail", now=NOW, **_risk_args(demo))  # type: ignore[arg-type]
    action = plan.add_action(
        demo, risk.id, description="Do it", owner_person_id=_person(demo),
        due_on=date(2026, 6, 1), actor="gail", now=NOW,
    )  # fmt: skip
    demo.commit()
    before = _counts(demo)
    for note, closed_on, field in (
        ("   ", NOW.date(), "closing note"),
        ("Done", date(2026, 5, 2), "closed on"),  # the future
        ("Done", date(2026, 4, 30), "closed on"),  # before it was opened and scored
    ):
        with pytest.raises(plan.PlanError) as caught:
            plan.close_risk(demo, risk.id, note=note, closed_on=closed_on, actor="gail", now=NOW)
        assert caught.value.field == field
        demo.rollback()
    assert _counts(demo) == before
    assert demo.get(Risk, risk.id).status == "open"  # type: ignore[union-attr]
    plan.close_risk(
        demo, risk.id, note="Mitigated by the new rota", closed_on=NOW.date(), actor="gail",
        now=NOW,
    )  # fmt: skip
    demo.commit()
    assert risk.id not in {v.risk.id for v in plan.list_risks(demo)}  # out of the default view
    closed = plan.list_risks(demo, plan.RiskFilters(status="closed"))
    assert [v.risk.id for v in closed] == [risk.id]
    assert risk.id in {v.risk.id for v in plan.list_risks(demo, plan.RiskFilters(status="all"))}
    view = plan.risk_view(demo, risk.id)
    assert view is not None
    assert (view.risk.closed_on, view.risk.closed_by, view.risk.closing_note) == (
        NOW.date(), "gail", "Mitigated by the new rota",
    )  # fmt: skip
    audit_row = demo.scalars(
        select(AuditEvent).where(
            AuditEvent.object_type == "governance_risk", AuditEvent.action == "close"
        )
    ).one()
    assert audit_row.object_id == risk.reference
    before = _counts(demo)
    for attempt in (
        lambda: plan.rescore_risk(
            demo, risk.id, likelihood=1, consequence=1, scored_on=NOW.date(), rationale="x",
            actor="gail", now=NOW,
        ),
        lambda: plan.add_action(
            demo, risk.id, description="More", owner_person_id=_person(demo),
            due_on=date(2026, 6, 1), actor="gail", now=NOW,
        ),
        lambda: plan.add_control(demo, risk.id, description="More", actor="gail", now=NOW),
        lambda: plan.complete_action(demo, action.id, done_on=NOW.date(), actor="gail", now=NOW),
        lambda: plan.close_risk(
            demo, risk.id, note="Again", closed_on=NOW.date(), actor="gail", now=NOW
        ),
    ):  # fmt: skip
        with pytest.raises(plan.PlanError, match=r"^risk: R\d+ was closed on 2026-05-01"):
            attempt()
        demo.rollback()
    assert _counts(demo) == before
