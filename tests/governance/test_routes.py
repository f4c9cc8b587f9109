"""Governance pages: permissions, forms with CSRF, public pages without sign-in, CSVs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import PASSWORD, csrf_from
from wholesystem.access.users import create_user
from wholesystem.config import Settings
from wholesystem.governance.demo import load_demo_governance
from wholesystem.governance.models import Decision, DecisionVersion
from wholesystem.store.db import make_engine, make_session_factory, session_scope


@pytest.fixture
def gov_settings(app_settings: Settings) -> Settings:
    engine = make_engine(app_settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        create_user(
            s,
            username="gail",
            display_name="Gail",
            role="governance_lead",
            organisation_code="QXX",
            password=PASSWORD,
            actor="test",
        )
        load_demo_governance(s)
    engine.dispose()
    return app_settings


@pytest.fixture
def gclient(gov_settings: Settings, client: TestClient) -> TestClient:
    return client


def _latest_refs(settings: Settings) -> list[str]:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        refs = list(s.scalars(select(Decision.reference).order_by(Decision.id)))
    engine.dispose()
    return refs


def test_public_pages_need_no_sign_in(gclient: TestClient) -> None:
    page = gclient.get("/public/governance/decisions")
    assert page.status_code == 200
    assert "Extend the falls prevention service" in page.text
    assert "Data as at" in page.text or "data as at" in page.text.lower()
    csv = gclient.get("/public/governance/decisions.csv?kind=service_change")
    assert csv.status_code == 200
    assert csv.text.count("\n") == 2  # header and the ophthalmology change
    register = gclient.get("/public/governance/interests")
    assert "Shareholder in a GP federation" in register.text
    assert gclient.get("/public/governance/interests.csv").text.startswith("name,")
    plan = gclient.get("/public/governance/forward-plan")
    assert "System risk-share agreement" in plan.text
    assert gclient.get("/public/governance/decisions/NOPE").status_code == 404


def test_internal_pages_need_a_sign_in_and_writes_need_the_lead(
    gclient: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    assert gclient.get("/governance/decisions", follow_redirects=False).status_code in {
        302,
        303,
        401,
    }
    sign_in("carer")
    assert gclient.get("/governance").status_code == 200
    assert gclient.get("/governance/decisions?place=PL1&kind=investment").status_code == 200
    assert gclient.get("/governance/decisions?kind=nonsense").status_code == 400
    assert gclient.get("/governance/decisions/new").status_code == 403
    assert gclient.get("/governance/interests/register").status_code == 403
    token = csrf_from(gclient.get("/governance/interests").text)
    response = gclient.post("/governance/decisions", data={"csrf_token": token, "title": "x"})
    assert response.status_code == 403


def test_a_lead_proposes_a_decision_and_sees_its_routing(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    sign_in("gail")
    token = csrf_from(gclient.get("/governance/decisions/new").text)
    bad = gclient.post(
        "/governance/decisions",
        data={
            "csrf_token": token,
            "title": "Bad",
            "kind": "investment",
            "proposer": "me",
            "value": "10",
            "places": "PL9",
        },
    )
    assert bad.status_code == 400
    assert "PL9" in bad.text
    before = _latest_refs(gov_settings)
    response = gclient.post(
        "/governance/decisions",
        data={
            "csrf_token": token,
            "title": "Seaton hospital at home",
            "kind": "pathway_change",
            "proposer": "Place director",
            "value": "400000",
            "places": "PL2",
            "reasons": "Fewer admissions",
            "alternatives": "None",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    refs = _latest_refs(gov_settings)
    assert len(refs) == len(before) + 1
    page = gclient.get(response.headers["location"])
    assert "below the place&#39;s delegated limit" in page.text or "below the place" in page.text
    assert "Awaiting CRG agreement" in page.text
    crg = gclient.post(
        f"/governance/decisions/{refs[-1]}/crg",
        data={"csrf_token": token, "agreed": "yes", "note": "Agreed."},
        follow_redirects=False,
    )
    assert crg.status_code == 303
    assert "Ready for decision" in gclient.get(f"/governance/decisions/{refs[-1]}").text
    full = gclient.get("/governance/interests/register.csv")
    assert full.status_code == 200


def test_anyone_signed_in_declares_their_own_interests(
    gclient: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    token = csrf_from(gclient.get("/governance/interests").text)
    empty = gclient.post(
        "/governance/interests",
        data={"csrf_token": token, "what": "interest", "category": "financial", "description": ""},
    )
    assert empty.status_code == 400
    ok = gclient.post(
        "/governance/interests",
        data={
            "csrf_token": token,
            "what": "interest",
            "category": "financial",
            "organisation": "RA1",
            "description": "Locum sessions",
            "starts": "2026-01-01",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "Locum sessions" in gclient.get("/governance/interests").text
    nil = gclient.post("/governance/interests", data={"csrf_token": token, "what": "nil"})
    assert nil.status_code == 400
    assert "nil return" in nil.text


def test_the_decision_detail_shows_conflicts_and_versions(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    engine = make_engine(gov_settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        first = s.scalar(select(DecisionVersion).where(DecisionVersion.status == "made"))
        assert first is not None
        ref = s.get(Decision, first.decision_id).reference  # type: ignore[union-attr]
    engine.dispose()
    page = gclient.get(f"/public/governance/decisions/{ref}")
    assert page.status_code == 200
    assert "Version history" in page.text
    assert "By consensus" in page.text
