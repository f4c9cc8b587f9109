"""Governance pages: permissions, forms with CSRF, public pages without sign-in, CSVs."""

from __future__ import annotations

import re
from collections.abc import Callable
from csv import DictReader
from io import StringIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.governance.conftest import gail_and_the_demo, over_app
from tests.web.conftest import csrf_from
from wholesystem.config import Settings
from wholesystem.governance.models import Decision, DecisionVersion
from wholesystem.store.db import make_engine, make_session_factory


@pytest.fixture
def gov_settings(app_settings: Settings, footprint_file: Path) -> Settings:
    over_app(app_settings, footprint_file, gail_and_the_demo)
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
    rows = list(DictReader(StringIO(csv.text)))
    # the ophthalmology change, and the history's seven-day discharge teams (demo.HISTORY)
    assert {r["kind"] for r in rows} == {"service_change"}
    assert sum("ophthalmology" in r["title"] for r in rows) == 1
    assert len(rows) == 1 + sum(1 for r in rows if r["title"].startswith("Seven-day"))
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
    ask = f"/public/governance/questions?subject_kind=decision&amp;subject_ref={ref}"
    assert ask in page.text
    form = gclient.get(ask.replace("&amp;", "&"))
    assert form.status_code == 200
    assert f'value="{ref}"' in form.text  # the question form arrives filled in


# ------------------------------------------------------- taking a decision through the web


def _state(settings: Settings) -> tuple[int, int, int, int]:
    """Versions, conflicts, votes and audit events: what a refused request must not change."""
    from sqlalchemy import func

    from wholesystem.access.models import AuditEvent
    from wholesystem.governance.models import DecisionConflict, DecisionVote

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        counts = tuple(
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (DecisionVersion, DecisionConflict, DecisionVote, AuditEvent)
        )
    engine.dispose()
    return counts  # type: ignore[return-value]


def _ids(settings: Settings, body_code: str) -> dict[str, int]:
    from wholesystem.governance.models import Body, Member, Person

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        rows = s.execute(
            select(Person.name, Person.id)
            .join(Member, Member.person_id == Person.id)
            .join(Body, Body.id == Member.body_id)
            .where(Body.code == body_code)
        ).all()
    engine.dispose()
    return {name: pid for name, pid in rows}


def _ref_of(settings: Settings, title: str) -> str:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        ref = s.scalar(
            select(Decision.reference)
            .join(DecisionVersion, DecisionVersion.decision_id == Decision.id)
            .where(DecisionVersion.title == title)
        )
    engine.dispose()
    assert ref is not None
    return ref


OPHTHALMOLOGY = "Move community ophthalmology into one system-wide service"


def test_a_lead_takes_a_decision_at_the_system_board_with_a_conflicted_member_excluded(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    sign_in("gail")
    ref = _ref_of(gov_settings, OPHTHALMOLOGY)
    sb = _ids(gov_settings, "SB")
    gp, pat = sb["Dr Sita Rao"], sb["Pat Owen"]
    everyone = list(sb.values())
    detail = gclient.get(f"/governance/decisions/{ref}")
    assert "Take this decision at a meeting" in detail.text
    # Attendance first: nothing is checked until the members present are ticked.
    first = gclient.get(f"/governance/decisions/{ref}/decide")
    assert first.status_code == 200
    assert "Record the decision" not in first.text
    query = "&".join(f"present={p}" for p in everyone)
    checked = gclient.get(f"/governance/decisions/{ref}/decide?body=SB&checked=1&{query}")
    assert "Dr Sita Rao is conflicted" in checked.text
    assert 'data-testid="data-as-at"' in checked.text
    assert "Quorate: 5 voting members count" in checked.text
    assert f'name="vote-{gp}"' not in checked.text  # the conflicted member has no vote
    assert f'name="vote-{pat}"' not in checked.text  # nor the non-voting participant
    token = csrf_from(checked.text)
    votes = {f"vote-{pid}": "for" for name, pid in sb.items() if pid not in {gp, pat}}
    good = {
        "csrf_token": token,
        "body": "SB",
        "present": [str(p) for p in everyone],
        "conflicted": str(gp),
        f"manage-{gp}": "leave_discussion",  # the chair does not withhold the papers
        "confirm": "yes",
        "method": "vote",
        **votes,
    }
    before = _state(gov_settings)
    refusals = [
        ({f"vote-{gp}": "for"}, "excluded from the vote"),
        ({"confirm": ""}, "chair must confirm"),
        ({"body": "CRG"}, "no delegated authority"),
        ({"body": "PB-PL1"}, "place board has no delegated authority"),
        ({"present": [str(sb["Bob Board"]), str(sb["Dr Morgan Reid"])]}, "Not quorate"),
        ({"present": [str(p) for p in everyone if p != sb["Dr Morgan Reid"]]}, "clinical"),
        ({"vote-" + str(sb["Jo Hart"]): ""}, "missing: Jo Hart"),
        ({"method": "consensus", "outcome": "deferred"}, "individual votes"),
        ({"effective_date": "someday"}, "effective date as YYYY-MM-DD"),
    ]
    for change, reason in refusals:
        response = gclient.post(f"/governance/decisions/{ref}/decide", data={**good, **change})
        assert response.status_code == 400, change
        assert reason in response.text.replace("&#39;", "'"), (change, response.text[:200])
        assert _state(gov_settings) == before, change
    # A form that comes back keeps the chair's choices rather than the proposal.
    back = gclient.post(f"/governance/decisions/{ref}/decide", data={**good, "confirm": ""})
    ticks = dict(
        re.findall(rf'name="manage-{gp}" type="checkbox" value="(\w+)"( checked)?', back.text)
    )
    assert ticks == {"papers_withheld": "", "leave_discussion": " checked"}
    made = gclient.post(f"/governance/decisions/{ref}/decide", data=good, follow_redirects=False)
    assert made.status_code == 303
    page = gclient.get(f"/governance/decisions/{ref}").text
    assert "Made" in page
    assert "For 5, against 0, abstained 0" in page
    assert "Leaves the discussion; Does not vote" in page
    assert "Papers withheld" not in page
    assert "Present: " in page
    assert "Dr Sita Rao" in page
    after = _state(gov_settings)
    assert after[:3] == (before[0] + 1, before[1] + 1, before[2] + 5)
    # Once made, it cannot be taken again.
    again = gclient.post(f"/governance/decisions/{ref}/decide", data=good)
    assert again.status_code == 400
    assert "already made" in again.text
    assert _state(gov_settings) == after


def test_ratification_dates_and_progress_each_add_a_version(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    sign_in("gail")
    ref = _ref_of(gov_settings, OPHTHALMOLOGY)
    sb = _ids(gov_settings, "SB")
    token = csrf_from(gclient.get(f"/governance/decisions/{ref}").text)
    present = [str(p) for n, p in sb.items() if n != "Dr Sita Rao"]
    ok = gclient.post(
        f"/governance/decisions/{ref}/decide",
        data={
            "csrf_token": token,
            "body": "SB",
            "present": present,
            "method": "consensus",
            "outcome": "approved",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303  # no conflicted member present: nothing to confirm
    before = _state(gov_settings)
    for path, data, reason in (
        ("ratify", {"organisation": "RA1", "ratified_on": "2026-01-01"}, "accountable body"),
        ("ratify", {"organisation": "QXX", "ratified_on": ""}, "date of ratification"),
        ("ratify", {"organisation": "QXX", "ratified_on": "2999-01-01"}, "future"),
        ("dates", {"effective_date": "2027-01-01", "review_date": "2026-12-01"}, "review date"),
        ("dates", {}, "give an effective date"),
        ("progress", {"progress": "  "}, "describe the progress"),
        ("withdraw", {"reason": "no longer needed"}, "only an undecided proposal"),
    ):
        response = gclient.post(
            f"/governance/decisions/{ref}/{path}", data={"csrf_token": token, **data}
        )
        assert response.status_code == 400, path
        assert reason in response.text, (path, reason)
        assert _state(gov_settings) == before, path
    today = gclient.get(f"/governance/decisions/{ref}").text
    assert "Record statutory ratification" in today
    for path, data in (
        ("ratify", {"organisation": "QXX", "ratified_on": ""}),
        ("dates", {"effective_date": "2030-01-01", "review_date": "2031-01-01"}),
        ("progress", {"progress": "Single referral list live in both places."}),
    ):
        if path == "ratify":
            data["ratified_on"] = _today(gov_settings)
        response = gclient.post(
            f"/governance/decisions/{ref}/{path}",
            data={"csrf_token": token, **data},
            follow_redirects=False,
        )
        assert response.status_code == 303, (path, response.text[:300])
    page = gclient.get(f"/governance/decisions/{ref}").text
    assert "Ratified by QXX" in page
    assert "1 Jan 2031" in page
    assert "Single referral list live in both places." in page
    assert "Record statutory ratification" not in page  # done: the form is gone
    assert _state(gov_settings)[0] == before[0] + 3
    api = gclient.get(f"/api/v1/governance/decisions/{ref}").json()
    assert [v["status"] for v in api["versions"]] == [
        "awaiting_crg",
        "ready",
        "made",
        "ratified",
        "ratified",
        "ratified",
    ]
    assert api["versions"][-1]["progress"] == "Single referral list live in both places."


def _today(settings: Settings) -> str:
    from wholesystem.store.db import utcnow

    return utcnow().date().isoformat()


def test_a_change_to_care_is_refused_until_the_crg_agrees_and_can_be_deferred(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    sign_in("gail")
    token = csrf_from(gclient.get("/governance/decisions/new").text)
    created = gclient.post(
        "/governance/decisions",
        data={
            "csrf_token": token,
            "title": "Seaton frailty pathway",
            "kind": "pathway_change",
            "proposer": "Place director",
            "value": "90000",
            "places": "PL2",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    ref = created.headers["location"].rsplit("/", 1)[-1]
    board = _ids(gov_settings, "PB-PL2")
    present = [str(p) for p in board.values()]
    form = {
        "csrf_token": token,
        "body": "PB-PL2",
        "present": present,
        "method": "consensus",
        "outcome": "approved",
    }
    before = _state(gov_settings)
    refused = gclient.post(f"/governance/decisions/{ref}/decide", data=form)
    assert refused.status_code == 400
    assert "clinical reference group" in refused.text
    assert _state(gov_settings) == before
    checked = gclient.get(
        f"/governance/decisions/{ref}/decide?body=PB-PL2&checked=1&"
        + "&".join(f"present={p}" for p in present)
    )
    assert "Cannot be decided" in checked.text  # shown before anything is submitted
    assert "Record the decision" not in checked.text
    gclient.post(
        f"/governance/decisions/{ref}/crg",
        data={"csrf_token": token, "agreed": "yes", "note": "Agreed."},
    )
    no_reason = gclient.post(
        f"/governance/decisions/{ref}/decide", data={**form, "outcome": "deferred"}
    )
    assert no_reason.status_code == 400
    assert "reason for deferring" in no_reason.text
    deferred = gclient.post(
        f"/governance/decisions/{ref}/decide",
        data={**form, "outcome": "deferred", "note": "Awaiting the workforce plan; June."},
        follow_redirects=False,
    )
    assert deferred.status_code == 303
    page = gclient.get(f"/governance/decisions/{ref}").text
    assert "Deferred by" in page
    assert "Awaiting the workforce plan" in page
    assert "Take this decision at a meeting" in page  # still open for a later meeting
    later = gclient.post(f"/governance/decisions/{ref}/decide", data=form, follow_redirects=False)
    assert later.status_code == 303
    assert "Approved by" in gclient.get(f"/governance/decisions/{ref}").text


def test_decision_forms_need_the_governance_lead(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    ref = _ref_of(gov_settings, OPHTHALMOLOGY)
    sign_in("carer")
    page = gclient.get(f"/governance/decisions/{ref}")
    assert page.status_code == 200
    assert "Take this decision" not in page.text
    assert gclient.get(f"/governance/decisions/{ref}/decide").status_code == 403
    token = csrf_from(gclient.get("/governance/interests").text)
    before = _state(gov_settings)
    for path in ("decide", "ratify", "dates", "progress", "withdraw"):
        response = gclient.post(f"/governance/decisions/{ref}/{path}", data={"csrf_token": token})
        assert response.status_code == 403, path
    assert _state(gov_settings) == before


def test_bad_decide_requests_are_specific_errors(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    sign_in("gail")
    ref = _ref_of(gov_settings, OPHTHALMOLOGY)
    assert gclient.get("/governance/decisions/NOPE/decide").status_code == 404
    assert gclient.get(f"/governance/decisions/{ref}/decide?on=tomorrow").status_code == 400
    assert gclient.get(f"/governance/decisions/{ref}/decide?present=x").status_code == 400
    assert gclient.get(f"/governance/decisions/{ref}/decide?body=NOPE").status_code == 400
    token = csrf_from(gclient.get(f"/governance/decisions/{ref}").text)
    before = _state(gov_settings)
    nobody = gclient.post(
        f"/governance/decisions/{ref}/decide", data={"csrf_token": token, "body": "NOPE"}
    )
    assert nobody.status_code == 400
    assert "no body" in nobody.text
    future = gclient.post(
        f"/governance/decisions/{ref}/decide",
        data={"csrf_token": token, "body": "SB", "on": "2999-01-01"},
    )
    assert future.status_code == 400
    assert "future date" in future.text
    assert _state(gov_settings) == before


def test_the_decisions_api_holds_the_csv_rows(
    gclient: TestClient, sign_in: Callable[[str], TestClient], gov_settings: Settings
) -> None:
    import csv
    import io

    assert gclient.get("/api/v1/governance/decisions").status_code == 401
    sign_in("carer")
    for query in ("", "?kind=investment", "?place=PL1&status=made"):
        api = gclient.get(f"/api/v1/governance/decisions{query}")
        assert api.status_code == 200
        rows = list(
            csv.DictReader(io.StringIO(gclient.get(f"/governance/decisions.csv{query}").text))
        )
        assert len(rows) == len(api.json()) > 0, query
        for record, row in zip(api.json(), rows, strict=True):
            # JSON null is the CSV's empty cell; everything else prints the same.
            as_text = {k: "" if v is None else str(v) for k, v in record.items()}
            assert as_text == row
    assert gclient.get("/api/v1/governance/decisions?kind=nonsense").status_code == 400
    ref = _ref_of(gov_settings, OPHTHALMOLOGY)
    one = gclient.get(f"/api/v1/governance/decisions/{ref}").json()
    assert one["reference"] == ref
    assert [v["version"] for v in one["versions"]] == [1, 2]
    assert one["conflicts"] == []
    assert one["votes"] == []
    assert gclient.get("/api/v1/governance/decisions/NOPE").status_code == 404
    paths = gclient.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/governance/decisions", "/api/v1/governance/decisions/{reference}"} <= set(
        paths
    )
