"""Concern, challenge and open-data pages: permissions, CSRF, refusals with reasons, CSV/JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.governance.concerns.fixtures import NOW, make_cast, small_snapshot
from tests.web.conftest import PASSWORD, csrf_from
from wholesystem.access.users import create_user
from wholesystem.config import Settings
from wholesystem.governance import services as gov
from wholesystem.governance.concerns import services as svc
from wholesystem.governance.concerns.models import Concern, ConcernEvent, Question
from wholesystem.governance.scheme import DecisionKind
from wholesystem.store.db import make_engine, make_session_factory, session_scope


@pytest.fixture
def cc_settings(app_settings: Settings) -> Settings:
    engine = make_engine(app_settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        ids = {}
        for username, role, org in (
            ("gail", "governance_lead", "QXX"),
            ("cllr", "councillor", "E06000901"),
            ("amira", "care_team_member", "RC1"),
        ):
            ids[username] = create_user(
                s,
                username=username,
                display_name=username.title(),
                role=role,
                organisation_code=org,
                password=PASSWORD,
                actor="test",
            ).id
        cast = make_cast(s, {"Amira Khan": ids["amira"]})
        small_snapshot(s)
        svc.raise_metric_concerns(s, now=NOW)
        gov.propose_decision(
            s,
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
        svc.open_concern(
            s,
            title="Discharge summaries late",
            detail="Late.",
            organisations=["RA1"],
            owner_person_id=cast.nurse.id,
            raised_by="jo",
            raised_by_name="Jo",
            raised_by_org="RA1",
            now=NOW,
        )
    engine.dispose()
    return app_settings


@pytest.fixture
def cc(cc_settings: Settings, client: TestClient) -> TestClient:
    return client


def _count(settings: Settings, model: type) -> int:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        n = int(s.scalar(select(func.count()).select_from(model)) or 0)
    engine.dispose()
    return n


def _decision_ref(settings: Settings) -> str:
    from wholesystem.governance.models import Decision

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        ref = s.scalars(select(Decision.reference)).one()
    engine.dispose()
    return ref


def test_concern_pages_need_a_sign_in_and_show_the_list(
    cc: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    assert cc.get("/governance/concerns", follow_redirects=False).status_code in {302, 303, 401}
    sign_in("carer")
    page = cc.get("/governance/concerns")
    assert page.status_code == 200
    assert "A&amp;E 4-hour performance failing in Testshire Hospitals" in page.text
    assert "Discharge summaries late" in page.text
    assert "data as at" in page.text.lower()
    assert cc.get("/governance/concerns?source=metric").text.count("failing in") == 3
    assert cc.get("/governance/concerns?stage=court").status_code == 400
    rows = list(csv.reader(io.StringIO(cc.get("/governance/concerns.csv?source=metric").text)))
    assert rows[0][0] == "reference"
    assert len(rows) == 4
    # the JSON API holds the CSV's rows, with the same filters
    api = cc.get("/api/v1/governance/concerns?source=metric")
    assert api.status_code == 200
    assert [[str(v) for v in row.values()] for row in api.json()] == rows[1:]
    assert list(api.json()[0]) == rows[0]
    assert cc.get("/governance/concerns/C-9999").status_code == 404
    detail = cc.get("/governance/concerns/C-0004")
    assert "Local resolution: entered" in detail.text
    assert "Only the owner of the current stage" in detail.text  # the carer owns nothing


def test_raise_a_concern_from_the_form(
    cc: TestClient, sign_in: Callable[[str], TestClient], cc_settings: Settings
) -> None:
    sign_in("carer")
    token = csrf_from(cc.get("/governance/concerns/new").text)
    before = _count(cc_settings, Concern)
    bad = cc.post(
        "/governance/concerns",
        data={"csrf_token": token, "title": "Beds", "detail": "x", "owner": "1"},
    )
    assert bad.status_code == 400
    assert "name at least one organisation involved" in bad.text
    assert _count(cc_settings, Concern) == before
    ok = cc.post(
        "/governance/concerns",
        data={
            "csrf_token": token,
            "title": "Beds",
            "detail": "No beds.",
            "organisations": ["RA1"],
            "other_organisations": "A00001",
            "owner": "1",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == f"/governance/concerns/C-{before + 1:04d}"


def test_skipping_a_stage_is_refused_on_the_page_and_the_owner_can_escalate(
    cc: TestClient, sign_in: Callable[[str], TestClient], cc_settings: Settings
) -> None:
    sign_in("carer")
    token = csrf_from(cc.get("/governance/concerns/new").text)
    refused = cc.post(
        "/governance/concerns/C-0004/escalate",
        data={"csrf_token": token, "to": "chief_executives", "owner": "1", "reason": "x"},
    )
    assert refused.status_code == 403  # not the owner
    sign_in("amira")  # owns the concern's local resolution
    page = cc.get("/governance/concerns/C-0004")
    assert "Escalate to the next stage" in page.text
    token = csrf_from(page.text)
    events = _count(cc_settings, ConcernEvent)
    skip = cc.post(
        "/governance/concerns/C-0004/escalate",
        data={"csrf_token": token, "to": "mediation", "owner": "1", "reason": "fed up"},
    )
    assert skip.status_code == 400
    assert "a stage cannot be skipped" in skip.text
    assert _count(cc_settings, ConcernEvent) == events
    ok = cc.post(
        "/governance/concerns/C-0004/escalate",
        data={"csrf_token": token, "to": "chief_executives", "owner": "1", "reason": "stuck"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = cc.get("/governance/concerns/C-0004")
    assert "Escalation to chief executives: entered" in page.text
    # Amira no longer owns the current stage; a governance lead can resolve it.
    assert "Only the owner of the current stage" in page.text
    sign_in("gail")
    token = csrf_from(cc.get("/governance/concerns/C-0004").text)
    empty = cc.post("/governance/concerns/C-0004/resolve", data={"csrf_token": token})
    assert empty.status_code == 400
    assert "record the outcome" in empty.text
    done = cc.post(
        "/governance/concerns/C-0004/resolve",
        data={"csrf_token": token, "outcome": "Agreed"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Resolved" in cc.get("/governance/concerns/C-0004").text


def test_public_questions_need_the_csrf_token_and_are_answered_in_public(
    cc: TestClient, sign_in: Callable[[str], TestClient], cc_settings: Settings
) -> None:
    ref = _decision_ref(cc_settings)
    page = cc.get(f"/public/governance/questions?subject_kind=decision&subject_ref={ref}")
    assert page.status_code == 200
    form = {
        "subject_kind": "decision",
        "subject_ref": ref,
        "kind": "question",
        "text": "When does it start?",
        "name": "Sam Resident",
        "email": "sam@example.com",
    }
    assert cc.post("/public/governance/questions", data=form).status_code == 403  # no token
    assert _count(cc_settings, Question) == 0
    token = csrf_from(page.text)
    bad = cc.post(
        "/public/governance/questions", data={**form, "csrf_token": token, "subject_ref": "D-0"}
    )
    assert bad.status_code == 400
    assert "no published decision D-0" in bad.text
    sent = cc.post(
        "/public/governance/questions", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert sent.status_code == 303
    assert "Q-0001" in cc.get(sent.headers["location"]).text
    assert 'data-testid="sent"' not in cc.get("/public/governance/questions?sent=hello").text
    assert _count(cc_settings, Question) == 1

    sign_in("carer")
    assert cc.get("/governance/challenge").status_code == 403
    sign_in("gail")
    queue = cc.get("/governance/challenge?status=received")
    assert "When does it start?" in queue.text
    assert "Sam Resident" in queue.text  # the lead sees who asked; the public never does
    assert "sam@example.com" not in cc.get("/governance/challenge.csv").text
    assert cc.get("/governance/challenge?status=lost").status_code == 400
    token = csrf_from(queue.text)
    answered = cc.post(
        "/governance/challenge/Q-0001/answer",
        data={"csrf_token": token, "answer": "In April."},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    again = cc.post(
        "/governance/challenge/Q-0001/answer", data={"csrf_token": token, "answer": "May"}
    )
    assert again.status_code == 400
    assert "answers are final" in again.text
    public = cc.get("/public/governance/questions")
    assert "In April." in public.text
    assert "Sam Resident" not in public.text
    assert "A member of the public" in public.text
    assert "In April." in cc.get("/public/governance/questions.csv").text


def test_members_with_challenge_ask_questions(
    cc: TestClient, sign_in: Callable[[str], TestClient], cc_settings: Settings
) -> None:
    ref = _decision_ref(cc_settings)
    sign_in("carer")
    assert cc.get("/governance/questions").status_code == 403
    sign_in("cllr")
    page = cc.get(f"/governance/questions?subject_kind=decision&subject_ref={ref}")
    assert page.status_code == 200
    token = csrf_from(page.text)
    bad = cc.post(
        "/governance/questions",
        data={"csrf_token": token, "subject_kind": "decision", "subject_ref": ref, "text": ""},
    )
    assert bad.status_code == 400
    assert "write your question" in bad.text
    ok = cc.post(
        "/governance/questions",
        data={
            "csrf_token": token,
            "subject_kind": "decision",
            "subject_ref": ref,
            "kind": "comment",
            "text": "Consult carers.",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "Consult carers." in cc.get("/governance/questions").text


def test_open_data_csv_and_json_hold_the_same_rows(cc: TestClient) -> None:
    page = cc.get("/public/governance/open-data")
    assert page.status_code == 200
    for name in ("bodies-and-members", "decisions", "interests", "concerns-summary", "questions"):
        assert f"/public/governance/open-data/{name}.csv" in page.text
        rows = list(
            csv.DictReader(io.StringIO(cc.get(f"/public/governance/open-data/{name}.csv").text))
        )
        data = cc.get(f"/public/governance/open-data/{name}.json").json()
        assert data["dataset"] == name
        assert len(data["rows"]) == len(rows)
        for from_csv, from_json in zip(rows, data["rows"], strict=True):
            assert list(from_csv) == data["columns"]
            assert {k: "" if v is None else str(v) for k, v in from_json.items()} == from_csv
    summary = cc.get("/public/governance/open-data/concerns-summary.json").json()["rows"]
    assert {r["source"] for r in summary} == {"metric", "partner"}
    assert "Discharge" not in str(summary)
    assert cc.get("/public/governance/open-data/secrets.json").status_code == 404
