"""The add-risk and close-risk forms, the JSON API against the CSVs, and the links in."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.conftest import csrf_from
from wholesystem.access.models import AuditEvent
from wholesystem.config import Settings
from wholesystem.governance.models import Person
from wholesystem.governance.plan.models import Risk, RiskControl, RiskObjective
from wholesystem.store.db import make_engine, make_session_factory, session_scope


def _db(settings: Settings, read: Callable[[Any], Any]) -> Any:
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            return read(s)
    finally:
        engine.dispose()


def _counts(settings: Settings) -> tuple[int, ...]:
    return _db(
        settings,
        lambda s: tuple(
            s.scalar(select(func.count()).select_from(m))
            for m in (Risk, RiskControl, RiskObjective, AuditEvent)
        ),
    )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _as_csv(value: object) -> str:
    return "" if value is None else str(value)


def _form(settings: Settings, token: str, **change: object) -> dict[str, object]:
    person = _db(settings, lambda s: s.scalar(select(Person.id).order_by(Person.id)))
    return {
        "title": "Care home beds close faster than planned",
        "description": "Two homes may close this year, leaving patients delayed in hospital.",
        "owner_org": "QXX",
        "owner": str(person),
        "likelihood": "4",
        "consequence": "3",
        "target_likelihood": "2",
        "target_consequence": "3",
        "rationale": "Two providers have said they are reviewing their homes.",
        "controls": "Monthly market review\n\nProvider failure plan",
        "objectives": ["O1", "O2"],
        "csrf_token": token,
    } | change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"likelihood": ""}, "likelihood: must be a whole number from 1 to 5"),
        ({"consequence": "6"}, "consequence: must be a whole number from 1 to 5"),
        ({"target_likelihood": "5"}, "target score: 15 is above the current score 12"),
        ({"objectives": ["O1", "O404"]}, "linked objective: &#39;O404&#39; is not an objective"),
        ({"owner_org": "ZZZ"}, "owner organisation: there is no partner organisation"),
        ({"owner": ""}, "owner: choose the person who owns the risk"),
        ({"title": "  "}, "title: cannot be blank"),
        ({"opened_on": "1 May"}, "opened on: give a date as YYYY-MM-DD"),
    ],
)
def test_a_bad_new_risk_is_refused_naming_the_field_and_nothing_is_saved(
    client: TestClient,
    sign_in: Callable[[str], TestClient],
    ids: dict[str, int],
    app_settings: Settings,
    change: dict[str, object],
    message: str,
) -> None:
    sign_in("gail")
    token = csrf_from(client.get("/governance/risks/new").text)
    before = _counts(app_settings)
    refused = client.post("/governance/risks", data=_form(app_settings, token, **change))
    assert refused.status_code == 400
    assert message in refused.text
    assert "There is a problem" in refused.text
    assert "Care home beds close faster than planned" in refused.text or "title" in change
    assert _counts(app_settings) == before


def test_the_lead_adds_a_risk_by_form_with_csrf_and_it_is_audited(
    client: TestClient,
    sign_in: Callable[[str], TestClient],
    ids: dict[str, int],
    app_settings: Settings,
) -> None:
    sign_in("gail")
    register = client.get("/governance/risks")
    assert 'href="/governance/risks/new"' in register.text
    page = client.get("/governance/risks/new")
    assert page.status_code == 200
    assert "O1: " in page.text  # the current plan's objectives to link
    before = _counts(app_settings)
    no_token = client.post("/governance/risks", data=_form(app_settings, "forged"))
    assert no_token.status_code == 403
    assert _counts(app_settings) == before
    made = client.post(
        "/governance/risks",
        data=_form(app_settings, csrf_from(page.text)),
        follow_redirects=False,
    )
    assert made.status_code == 303
    risk = client.get(made.headers["location"])
    assert "Care home beds close faster than planned" in risk.text
    assert "Monthly market review" in risk.text
    assert "Provider failure plan" in risk.text
    assert "12 (High)" in risk.text
    assert "6 (Moderate)" in risk.text
    after = _counts(app_settings)
    assert after[0] == before[0] + 1  # one risk
    assert after[1] == before[1] + 2  # two controls; the blank line is not one
    assert after[2] == before[2] + 2  # linked to O1 and O2
    assert after[3] == before[3] + 1  # one audit event
    actions = _db(
        app_settings,
        lambda s: s.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "governance_risk")
        ).all(),
    )
    assert actions[-1] == "create"


def test_only_the_lead_may_add_or_close_a_risk(
    client: TestClient,
    sign_in: Callable[[str], TestClient],
    ids: dict[str, int],
    app_settings: Settings,
) -> None:
    sign_in("carer")
    assert client.get("/governance/risks/new").status_code == 403
    assert 'href="/governance/risks/new"' not in client.get("/governance/risks").text
    page = client.get(f"/governance/risks/{ids['risk']}")
    assert "Close this risk" not in page.text
    token = csrf_from(client.get("/governance/interests").text)
    before = _counts(app_settings)
    assert client.post("/governance/risks", data=_form(app_settings, token)).status_code == 403
    closed = client.post(
        f"/governance/risks/{ids['risk']}/close",
        data={"closing_note": "Gone", "csrf_token": token},
    )
    assert closed.status_code == 403
    assert _counts(app_settings) == before


def test_closing_needs_a_note_and_a_closed_risk_stays_readable_but_filtered_out(
    client: TestClient,
    sign_in: Callable[[str], TestClient],
    ids: dict[str, int],
    app_settings: Settings,
) -> None:
    sign_in("gail")
    url = f"/governance/risks/{ids['risk']}"
    page = client.get(url)
    assert "Close this risk" in page.text
    token = csrf_from(page.text)
    before = _counts(app_settings)
    blank = client.post(f"{url}/close", data={"closing_note": " ", "csrf_token": token})
    assert blank.status_code == 400
    assert "closing note: cannot be blank" in blank.text
    assert 'href="#closing_note"' in blank.text  # the error summary points at the field
    forged = client.post(f"{url}/close", data={"closing_note": "Gone", "csrf_token": "x"})
    assert forged.status_code == 403
    assert _counts(app_settings) == before
    assert _db(app_settings, lambda s: s.get(Risk, ids["risk"]).status) == "open"
    done = client.post(
        f"{url}/close",
        data={"closing_note": "Winter plan delivered; demand back in range", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _counts(app_settings)[3] == before[3] + 1  # audited
    closed = client.get(url)
    assert closed.status_code == 200
    assert "Winter plan delivered; demand back in range" in closed.text
    assert 'data-testid="risk-closed"' in closed.text
    assert "Re-score this risk" not in closed.text
    assert "Winter demand exceeds urgent care capacity" not in client.get("/governance/risks").text
    assert "Winter demand" in client.get("/governance/risks?status=closed").text
    assert "Winter demand" not in client.get("/public/governance/risks").text
    again = client.post(f"{url}/close", data={"closing_note": "Again", "csrf_token": token})
    assert again.status_code == 400
    assert "was closed on" in again.text


def test_the_api_needs_a_sign_in(client: TestClient, ids: dict[str, int]) -> None:
    for path in ("plan", "risks", f"risks/{ids['risk']}"):
        response = client.get(f"/api/v1/governance/{path}", follow_redirects=False)
        assert response.status_code in {302, 303, 401}


def test_the_plan_api_holds_the_rows_of_the_csvs(
    client: TestClient, sign_in: Callable[[str], TestClient], ids: dict[str, int]
) -> None:
    sign_in("carer")
    body = client.get("/api/v1/governance/plan").json()
    assert body["version"]["number"] == 1
    assert body["version"]["is_current"] is True
    assert len(body["priorities"]) == 4
    assert {o["level"] for o in body["objectives"]} == {"system", "place"}
    assert all(o["place"] for o in body["objectives"] if o["level"] == "place")
    assert [o["ref"] for o in body["objectives"]] == [
        ref for p in body["priorities"] for ref in p["objectives"]
    ]
    from_csv = _rows(client.get("/governance/plan.csv").text)
    assert len(from_csv) == len(body["metrics"]) > 0
    assert [{k: _as_csv(v) for k, v in r.items()} for r in body["metrics"]] == from_csv
    trajectories: list[dict[str, str]] = []
    objective_ids = _objective_ids(client, body)
    for ref in (o["ref"] for o in body["objectives"]):
        trajectories += _rows(
            client.get(f"/governance/plan/objectives/{objective_ids[ref]}/trajectory.csv").text
        )
    assert body["trajectories"] == trajectories
    assert client.get("/api/v1/governance/plan?version=99").status_code == 404


def _objective_ids(client: TestClient, body: dict[str, Any]) -> dict[str, int]:
    # The plan page links each objective reference to its page: read the ids from there.
    page = client.get("/governance/plan").text
    found = {
        ref: int(oid)
        for oid, ref in re.findall(r'href="/governance/plan/objectives/(\d+)">(O\d+)<', page)
    }
    assert set(found) == {o["ref"] for o in body["objectives"]}
    return found


@pytest.mark.parametrize(
    "query", ["", "?band=extreme", "?objective=O2&trend=falling", "?status=all", "?org=ZZZ"]
)
def test_the_risks_api_holds_the_rows_of_the_csv_with_the_same_filters(
    client: TestClient, sign_in: Callable[[str], TestClient], ids: dict[str, int], query: str
) -> None:
    sign_in("carer")
    rows = client.get(f"/api/v1/governance/risks{query}").json()
    from_csv = _rows(client.get(f"/governance/risks.csv{query}").text)
    assert [{k: _as_csv(v) for k, v in r.items()} for r in rows] == from_csv
    if query in {"", "?status=all"}:
        assert len(rows) == 10


def test_one_risk_by_id_or_reference_with_history_and_actions_as_in_the_csvs(
    client: TestClient, sign_in: Callable[[str], TestClient], ids: dict[str, int]
) -> None:
    sign_in("carer")
    by_id = client.get(f"/api/v1/governance/risks/{ids['risk']}").json()
    assert client.get("/api/v1/governance/risks/r001").json() == by_id
    assert by_id["reference"] == "R001"
    assert by_id["controls"]
    assert by_id["closed_on"] is None
    history = _rows(client.get(f"/governance/risks/{ids['risk']}/history.csv").text)
    assert [{k: _as_csv(v) for k, v in r.items()} for r in by_id["history"]] == history
    actions = _rows(client.get(f"/governance/risks/{ids['risk']}/actions.csv").text)
    assert [{k: _as_csv(v) for k, v in r.items()} for r in by_id["actions"]] == actions
    register = _rows(client.get("/governance/risks.csv?status=all").text)
    assert {k: _as_csv(by_id[k]) for k in register[0]} == next(
        r for r in register if r["reference"] == "R001"
    )
    for missing in ("R999", "99999", "12345678901234"):
        assert client.get(f"/api/v1/governance/risks/{missing}").status_code == 404
    assert client.get("/api/v1/governance/risks?likelihood=0").status_code == 400


def test_the_landing_page_and_the_public_pages_link_to_the_plan_and_register(
    client: TestClient, sign_in: Callable[[str], TestClient], ids: dict[str, int]
) -> None:
    public = client.get("/public/governance/plan").text
    links = public.split('data-testid="public-governance-links"', 1)[1].split("</nav>", 1)[0]
    hrefs = [h.split('"', 1)[0] for h in links.split('href="')[1:]]
    assert "/public/governance/risks" in hrefs
    assert "/public/governance/decisions" in hrefs
    for href in hrefs:
        assert client.get(href).status_code == 200, href
    assert 'data-testid="public-governance-links"' in client.get("/public/governance/risks").text
    sign_in("carer")
    landing = client.get("/governance").text
    assert 'href="/governance/plan"' in landing
    assert 'href="/governance/risks"' in landing
