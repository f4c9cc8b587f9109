"""Concerns and questions on the database: stages appended and audited, refusals change
nothing, the history is append-only, metric concerns are raised once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.governance.concerns.fixtures import NOW, Cast, make_cast, small_snapshot
from wholesystem.access.models import AuditEvent
from wholesystem.access.users import create_user
from wholesystem.governance import services as gov
from wholesystem.governance.concerns import services as svc
from wholesystem.governance.concerns.models import Concern, ConcernEvent, Question
from wholesystem.governance.concerns.opendata import DATASETS
from wholesystem.governance.concerns.presenters import json_records
from wholesystem.governance.concerns.queries import ConcernFilters, concern_summary, list_concerns
from wholesystem.governance.concerns.rules import DisputeError, Stage
from wholesystem.governance.scheme import DecisionKind
from wholesystem.store.db import session_scope


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _raise(session: Session, cast: Cast, **kw: object) -> Concern:
    args: dict[str, object] = {
        "title": "Discharge summaries late",
        "detail": "Two to three days late.",
        "organisations": ["RA1", "rc1"],
        "owner_person_id": cast.nurse.id,
        "raised_by": "jo",
        "raised_by_name": "Jo",
        "raised_by_org": "RA1",
        "now": NOW,
    }
    args.update(kw)
    return svc.open_concern(session, **args)  # type: ignore[arg-type]


def test_a_concern_moves_through_the_stages_appended_and_audited(session: Session) -> None:
    cast = make_cast(session)
    concern = _raise(session, cast)
    assert (concern.reference, concern.stage, concern.status) == (
        "C-0001",
        "local_resolution",
        "open",
    )
    assert concern.organisations == ["RA1", "RC1"]
    assert concern.due_on == NOW.date() + timedelta(days=28)  # 20 working days
    steps = [
        (Stage.chief_executives, cast.trust_ceo),
        (Stage.mediation, cast.ceo),
        (Stage.expert_determination, cast.ceo),
    ]
    for i, (stage, owner) in enumerate(steps, start=1):
        svc.escalate_concern(
            session,
            concern.id,
            to=stage.value,
            owner_person_id=owner.id,
            reason=f"no agreement {i}",
            actor="lead",
            now=NOW + timedelta(days=i),
            is_lead=True,
        )
        assert (concern.stage, concern.owner_person_id) == (stage.value, owner.id)
    svc.resolve_concern(
        session,
        concern.id,
        outcome="The expert decided.",
        actor="lead",
        now=NOW + timedelta(days=9),
        is_lead=True,
    )
    assert (concern.status, concern.closed_on, concern.due_on) == (
        "resolved",
        NOW.date() + timedelta(days=9),
        None,
    )
    events = svc.events_of(session, concern.id)
    assert [(e.stage, e.action, e.outcome) for e in events] == [
        ("local_resolution", "enter", None),
        ("local_resolution", "close", "escalated"),
        ("chief_executives", "enter", None),
        ("chief_executives", "close", "escalated"),
        ("mediation", "enter", None),
        ("mediation", "close", "escalated"),
        ("expert_determination", "enter", None),
        ("expert_determination", "close", "resolved"),
    ]
    actions = list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "governance_concern")
            .order_by(AuditEvent.seq)
        )
    )
    assert actions == ["raise", "escalate", "escalate", "escalate", "resolve"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"title": " "}, "title"),
        ({"detail": ""}, "describe"),
        ({"organisations": []}, "at least one organisation"),
        ({"organisations": ["NOPE"]}, "no partner organisation"),
        ({"owner_person_id": 9999}, "owner"),
        ({"owner_person_id": None}, "owner"),
    ],
)
def test_bad_concerns_are_refused_and_nothing_is_written(
    session: Session, change: dict[str, object], why: str
) -> None:
    cast = make_cast(session)
    audit_before = _count(session, AuditEvent)
    with pytest.raises(DisputeError, match=why):
        _raise(session, cast, **change)
    assert _count(session, Concern) == 0
    assert _count(session, ConcernEvent) == 0
    assert _count(session, AuditEvent) == audit_before


def test_a_skipped_stage_is_refused_and_nothing_changes(session: Session) -> None:
    cast = make_cast(session)
    concern = _raise(session, cast)
    session.commit()
    events, audits = _count(session, ConcernEvent), _count(session, AuditEvent)
    for to in (Stage.mediation, Stage.board_arbitration, Stage.expert_determination):
        with pytest.raises(DisputeError, match="cannot be skipped"):
            svc.escalate_concern(
                session,
                concern.id,
                to=to.value,
                owner_person_id=cast.ceo.id,
                reason="straight to the top",
                actor="lead",
                now=NOW,
                is_lead=True,
            )
    with pytest.raises(DisputeError, match="not a stage"):
        svc.escalate_concern(
            session,
            concern.id,
            to="court",
            owner_person_id=cast.ceo.id,
            reason="x",
            actor="lead",
            now=NOW,
            is_lead=True,
        )
    with pytest.raises(DisputeError, match="outcome"):
        svc.resolve_concern(session, concern.id, outcome=" ", actor="lead", now=NOW, is_lead=True)
    session.rollback()
    assert (_count(session, ConcernEvent), _count(session, AuditEvent)) == (events, audits)
    assert session.get(Concern, concern.id).stage == "local_resolution"  # type: ignore[union-attr]


def test_only_the_stage_owner_or_a_lead_may_act(session: Session) -> None:
    amira = create_user(
        session,
        username="amira",
        display_name="Amira Khan",
        role="care_team_member",
        organisation_code="RC1",
        password="correct horse battery staple 42",
        actor="test",
    )
    cast = make_cast(session, {"Amira Khan": amira.id})
    concern = _raise(session, cast)
    with pytest.raises(svc.NotAllowed):
        svc.resolve_concern(
            session, concern.id, outcome="done", actor="x", now=NOW, user_id=amira.id + 1
        )
    assert _count(session, ConcernEvent) == 1
    assert svc.can_act(session, concern, user_id=amira.id, is_lead=False)
    svc.resolve_concern(
        session, concern.id, outcome="done", actor="amira", now=NOW, user_id=amira.id
    )
    assert concern.status == "resolved"


def test_the_history_is_append_only_in_the_database(session: Session) -> None:
    cast = make_cast(session)
    concern = _raise(session, cast)
    session.commit()
    for statement in (
        update(ConcernEvent).where(ConcernEvent.concern_id == concern.id).values(reason="edited"),
        delete(ConcernEvent).where(ConcernEvent.concern_id == concern.id),
    ):
        with pytest.raises(DBAPIError):
            session.execute(statement)
        session.rollback()
    assert [e.reason for e in svc.events_of(session, concern.id)] == [""]


def test_filters_and_overdue(session: Session) -> None:
    cast = make_cast(session)
    old = _raise(session, cast, title="Old", now=NOW - timedelta(days=40))
    new = _raise(session, cast, title="New", organisations=["QXX"])
    today = NOW.date()
    rows = list_concerns(session, ConcernFilters(), today)
    assert {r.concern.title: r.overdue for r in rows} == {"Old": True, "New": False}
    assert [r.concern.id for r in list_concerns(session, ConcernFilters(overdue=True), today)] == [
        old.id
    ]
    assert [
        r.concern.id for r in list_concerns(session, ConcernFilters(organisation="qxx"), today)
    ] == [new.id]
    assert ConcernFilters(status="lost", stage="court", source="x").problems() == [
        "'lost' is not a concern status (open or resolved).",
        "'court' is not a stage of the agreed process.",
        "'x' is not a source (partner or metric).",
    ]
    assert concern_summary(session, today) == [("local_resolution", "open", "partner", 2, 1)]


# ----------------------------------------------------------------- metric concerns


def test_failing_metrics_raise_one_concern_each_with_a_sensible_owner(session: Session) -> None:
    cast = make_cast(session)
    snapshot = small_snapshot(session)
    run = svc.raise_metric_concerns(session, now=NOW)
    assert run.snapshot_id == snapshot
    assert (run.checked, run.failing, run.already_open, run.no_owner) == (5, 3, 0, [])
    concerns = {(c.metric_id, c.area_code): c for c in session.scalars(select(Concern))}
    assert set(concerns) == {
        ("ae_4hr", "RA1"),
        ("readmissions_30d", "PL1"),
        ("readmissions_30d", "QXX"),
    }
    ae, readmissions = concerns[("ae_4hr", "RA1")], concerns[("readmissions_30d", "PL1")]
    system = concerns[("readmissions_30d", "QXX")]
    assert (
        system.title
        == "Emergency readmissions within 30 days failing in Testshire Integrated Care System"
    )
    assert (system.owner_person_id, system.organisations) == (cast.ceo.id, ["QXX"])
    assert "the default owner" in system.owner_note
    assert ae.title == "A&E 4-hour performance failing in Testshire Hospitals NHS Foundation Trust"
    assert (ae.area_code, ae.owner_person_id, ae.source) == ("RA1", cast.trust_ceo.id, "metric")
    assert "chief executive of RA1" in ae.owner_note
    assert "misses the target for 3 consecutive periods" in ae.detail
    assert ae.organisations == ["RA1"]
    assert (readmissions.area_code, readmissions.owner_person_id) == ("PL1", cast.director.id)
    assert "place director" in readmissions.owner_note

    again = svc.raise_metric_concerns(session, now=NOW + timedelta(days=1))
    assert (again.failing, again.already_open, again.raised) == (3, 3, [])
    assert _count(session, Concern) == 3

    # Once resolved, a metric still failing in a later publish raises a new concern.
    svc.resolve_concern(
        session, ae.id, outcome="Recovery plan agreed", actor="l", now=NOW, is_lead=True
    )
    later = svc.raise_metric_concerns(session, now=NOW + timedelta(days=2))
    assert (len(later.raised), later.already_open) == (1, 2)


def test_the_database_itself_allows_one_open_concern_per_metric_and_area(
    session: Session,
) -> None:
    cast = make_cast(session)
    _raise(session, cast, open_key="metric:ae_4hr:RA1")
    session.commit()
    with pytest.raises(DBAPIError):
        _raise(session, cast, open_key="metric:ae_4hr:RA1")
    session.rollback()
    assert _count(session, Concern) == 1


def test_no_snapshot_raises_nothing_and_no_owner_is_reported(session: Session) -> None:
    assert svc.raise_metric_concerns(session, now=NOW).summary().startswith("No published")
    small_snapshot(session)  # no bodies or people at all
    run = svc.raise_metric_concerns(session, now=NOW)
    assert run.raised == []
    assert sorted(run.no_owner) == [
        "ae_4hr in RA1",
        "readmissions_30d in PL1",
        "readmissions_30d in QXX",
    ]
    assert "No owner found for 3" in run.summary()


# ------------------------------------------------------------------------ questions


def _decision(session: Session) -> str:
    d = gov.propose_decision(
        session,
        title="Falls service",
        kind=DecisionKind.investment,
        proposer="Place director",
        value=Decimal("1000"),
        places=["PL1"],
        reasons="r",
        alternatives="a",
        actor="test",
        now=NOW,
    )
    return d.reference


def _ask(session: Session, ref: str, **kw: object) -> Question:
    args: dict[str, object] = {
        "subject_kind": "decision",
        "subject_ref": ref,
        "kind": "question",
        "text": "Why?",
        "asker_kind": svc.AskerKind.public,
        "asker_name": "Sam",
        "asker_email": "sam@example.com",
        "client": "k1",
        "now": NOW,
    }
    args.update(kw)
    return svc.ask_question(session, **args)  # type: ignore[arg-type]


def test_a_question_gets_a_tracked_answer_that_is_final(session: Session) -> None:
    ref = _decision(session)
    q = _ask(session, ref)
    assert (q.reference, q.status, q.subject_title) == ("Q-0001", "received", "Falls service")
    assert q.due_on == NOW.date() + timedelta(days=28)  # 20 working days
    svc.answer_question(session, q.id, answer="Because.", actor="gail", now=NOW)
    assert (q.status, q.answered_by) == ("answered", "gail")
    with pytest.raises(DisputeError, match="answered already"):
        svc.answer_question(session, q.id, answer="Again", actor="gail", now=NOW)
    session.commit()
    for statement in (
        update(Question).where(Question.id == q.id).values(answer="rewritten"),
        delete(Question).where(Question.id == q.id),
    ):
        with pytest.raises(DBAPIError):
            session.execute(statement)
        session.rollback()
    assert session.get(Question, q.id).answer == "Because."  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"subject_kind": "tweet"}, "choose what the question is about"),
        ({"subject_ref": "NOPE-1"}, "no published decision NOPE-1"),
        ({"subject_ref": ""}, "give the reference"),
        ({"subject_kind": "paper", "subject_ref": "9999"}, "no published meeting paper"),
        ({"subject_kind": "plan", "subject_ref": "77"}, "no published system plan"),
        ({"kind": "rant"}, "question or a comment"),
        ({"text": "  "}, "write your question"),
        ({"asker_name": ""}, "give your name"),
        ({"asker_email": "not-an-email"}, "email address"),
        ({"asker_kind": svc.AskerKind.member, "asker_username": None}, "sign-in"),
    ],
)
def test_bad_questions_are_refused_and_nothing_is_written(
    session: Session, change: dict[str, object], why: str
) -> None:
    ref = _decision(session)
    with pytest.raises(DisputeError, match=why):
        _ask(session, ref, **change)
    assert _count(session, Question) == 0


def test_the_public_are_rate_limited_by_address(session: Session) -> None:
    ref = _decision(session)
    limit = svc.concern_rules().public_per_hour
    for i in range(limit):
        _ask(session, ref, now=NOW + timedelta(minutes=i))
    with pytest.raises(DisputeError, match="questions an hour"):
        _ask(session, ref, now=NOW + timedelta(minutes=30))
    _ask(session, ref, client="k2", now=NOW + timedelta(minutes=30))  # another address
    _ask(session, ref, now=NOW + timedelta(minutes=61))  # the first has aged out
    assert _count(session, Question) == limit + 2
    assert svc.client_key("s", "1.2.3.4") != svc.client_key("s", "1.2.3.5")


def test_open_data_json_is_the_csv_rows_and_holds_no_public_personal_detail(
    session: Session,
) -> None:
    cast = make_cast(session)
    ref = _decision(session)
    q = _ask(session, ref)
    svc.answer_question(session, q.id, answer="Yes.", actor="gail", now=NOW)
    _raise(session, cast)
    for d in DATASETS:
        columns, rows = d.build(session, NOW.date())
        records = json_records(columns, rows)
        assert len(records) == len(rows)
        text = repr(records)
        assert "sam@example.com" not in text
        assert "'Sam'" not in text
    columns, rows = next(d for d in DATASETS if d.name == "questions").build(session, NOW.date())
    assert json_records(columns, rows)[0]["asked_by"] == "A member of the public"


def test_the_cli_raises_metric_concerns_once(
    factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wholesystem.cli import app
    from wholesystem.config import reset_settings

    with session_scope(factory) as s:
        make_cast(s)
        small_snapshot(s)
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", database_url)
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path))
    reset_settings()
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["governance", "raise-metric-concerns"])
        assert first.exit_code == 0, first.output
        assert "3 failing; 3 concerns raised, 0 already open" in first.output
        second = runner.invoke(app, ["governance", "raise-metric-concerns"])
        assert "0 concerns raised, 3 already open" in second.output
    finally:
        reset_settings()
