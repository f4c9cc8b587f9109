"""Meeting pages: permissions, private papers hidden from the public and from users without
view_board_papers, papers withheld from a conflicted member, forms with reasons, CSVs."""

from __future__ import annotations

import csv as csv_module
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.governance.conftest import over_app
from tests.web.conftest import PASSWORD, csrf_from
from wholesystem.access.users import create_user
from wholesystem.config import Settings
from wholesystem.governance.demo import load_demo_governance
from wholesystem.governance.meetings.models import Action, Meeting, Minutes
from wholesystem.governance.models import Body, Person
from wholesystem.store.db import make_engine, make_session_factory

NOW = datetime(2026, 5, 1, 10, tzinfo=UTC)
PRIVATE_PAPER = "Negotiating positions with two providers"
PUBLIC_PAPER = "The system is forecasting a balanced position"


@pytest.fixture
def settings_with_meetings(app_settings: Settings, footprint_file: Path) -> Settings:
    over_app(app_settings, footprint_file, _meetings_demo)
    return app_settings


def _meetings_demo(s: Session) -> None:
    """Gail and a board member, the demo governance; the GP lead signs in as "board"."""
    for username, role in (("gail", "governance_lead"), ("board", "board_member")):
        create_user(
            s,
            username=username,
            display_name=username.title(),
            role=role,
            organisation_code="QXX",
            password=PASSWORD,
            actor="test",
        )
    load_demo_governance(s, now=NOW)
    # The GP lead (conflicted on the ophthalmology item) signs in as "board".
    gp = s.scalar(select(Person).where(Person.name == "Dr Sita Rao"))
    board = s.scalar(select(Person).where(Person.name == "Bob Board"))
    assert gp is not None
    assert board is not None
    assert board.user_id is not None
    user_id, board.user_id = board.user_id, None
    s.flush()
    gp.user_id = user_id


@pytest.fixture
def mclient(settings_with_meetings: Settings, client: TestClient) -> TestClient:
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    return client


def _ids(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        sb = s.scalar(select(Body.id).where(Body.code == "SB"))
        meetings = list(
            s.scalars(select(Meeting.id).where(Meeting.body_id == sb).order_by(Meeting.starts_at))
        )
    engine.dispose()
    return {"first": meetings[0], "latest": meetings[1], "upcoming": meetings[2]}


def test_public_meeting_pages_show_the_public_part_only(
    mclient: TestClient, settings_with_meetings: Settings
) -> None:
    ids = _ids(settings_with_meetings)
    listing = mclient.get("/public/governance/meetings")
    assert listing.status_code == 200
    assert "System board meeting" in listing.text
    assert "data as at" in listing.text.lower()
    assert "Falls prevention: phase two" in listing.text  # a late key decision is flagged
    assert "21 days&#39; notice, 28 needed" in listing.text or "21 days' notice" in listing.text
    first = mclient.get(f"/public/governance/meetings/{ids['first']}")
    assert first.status_code == 200
    assert "Declarations of interest" in first.text
    assert PUBLIC_PAPER in first.text
    assert "Contract negotiations" not in first.text
    assert PRIVATE_PAPER not in first.text
    assert "Circulate the revised finance plan" not in first.text  # actions are internal
    assert "Approved by the body" in first.text  # locked minutes are published
    latest = mclient.get(f"/public/governance/meetings/{ids['latest']}")
    assert "published once they have been approved" in latest.text  # draft minutes are not
    agenda = mclient.get(f"/public/governance/meetings/{ids['first']}/agenda.csv")
    assert agenda.text.startswith("position,title,part")
    assert "private" not in agenda.text.split("\n", 1)[1]
    assert (
        mclient.get(f"/public/governance/meetings/{ids['first']}/attendance.csv").status_code == 404
    )
    csv = mclient.get("/public/governance/meetings.csv?when=past")
    assert csv.status_code == 200
    assert csv.text.count("\n") == 1 + 2 * 3
    key = mclient.get("/public/governance/meetings/key-decisions.csv")
    assert "Falls prevention: phase two" in key.text
    assert ",False" in key.text
    assert mclient.get("/public/governance/meetings/99999").status_code == 404
    assert mclient.get("/public/governance/meetings?status=nonsense").status_code == 400


def test_private_papers_need_view_board_papers(
    mclient: TestClient, settings_with_meetings: Settings, sign_in: Callable[[str], TestClient]
) -> None:
    ids = _ids(settings_with_meetings)
    assert mclient.get("/governance/meetings", follow_redirects=False).status_code in {302, 303}
    sign_in("carer")  # no view_board_papers
    page = mclient.get(f"/governance/meetings/{ids['first']}")
    assert page.status_code == 200
    assert "Contract negotiations" in page.text  # the item is listed internally
    assert PRIVATE_PAPER not in page.text
    assert PUBLIC_PAPER in page.text
    assert "Private papers are for board members only" in page.text
    assert "Record attendance" not in page.text  # no forms without manage_governance
    sign_in("gail")
    page = mclient.get(f"/governance/meetings/{ids['first']}")
    assert PRIVATE_PAPER in page.text
    assert "Add an erratum" in page.text


def test_papers_are_withheld_from_a_conflicted_member(
    mclient: TestClient, settings_with_meetings: Settings, sign_in: Callable[[str], TestClient]
) -> None:
    ids = _ids(settings_with_meetings)
    sign_in("board")  # Dr Sita Rao, conflicted on the ophthalmology item
    page = mclient.get(f"/governance/meetings/{ids['latest']}")
    assert "Papers are withheld from you" in page.text
    assert "Three options for one system-wide" not in page.text
    assert PRIVATE_PAPER in page.text  # board members read other private papers
    assert "Dr Sita Rao has declared a financial interest" in page.text


def test_leads_record_attendance_minutes_and_actions_with_reasons(
    mclient: TestClient, settings_with_meetings: Settings, sign_in: Callable[[str], TestClient]
) -> None:
    ids = _ids(settings_with_meetings)
    sign_in("carer")
    token = csrf_from(mclient.get("/governance/interests").text)
    forbidden = mclient.post(
        f"/governance/meetings/{ids['latest']}/minutes",
        data={"csrf_token": token, "step": "save", "text": "Forged"},
    )
    assert forbidden.status_code == 403
    sign_in("gail")
    base = f"/governance/meetings/{ids['first']}"
    token = csrf_from(mclient.get(base).text)
    locked = mclient.post(
        f"{base}/minutes", data={"csrf_token": token, "step": "save", "text": "Rewritten"}
    )
    assert locked.status_code == 400
    assert "only draft minutes can be edited" in locked.text
    erratum = mclient.post(
        f"{base}/minutes",
        data={"csrf_token": token, "step": "erratum", "text": "Item 2 was noted, not agreed."},
        follow_redirects=False,
    )
    assert erratum.status_code == 303
    assert "Item 2 was noted, not agreed." in mclient.get(base).text
    latest = f"/governance/meetings/{ids['latest']}"
    approve = mclient.post(
        f"{latest}/minutes", data={"csrf_token": token, "step": "approve", "by": "body"}
    )
    assert approve.status_code == 400
    assert "name the later meeting" in approve.text
    chair = mclient.post(
        f"{latest}/minutes",
        data={"csrf_token": token, "step": "approve", "by": "chair"},
        follow_redirects=False,
    )
    assert chair.status_code == 303
    bad_action = mclient.post(
        f"{latest}/actions",
        data={"csrf_token": token, "description": "Do it", "owner": "", "due_on": "soon"},
    )
    assert bad_action.status_code == 400
    assert "YYYY-MM-DD" in bad_action.text
    upcoming = f"/governance/meetings/{ids['upcoming']}"
    held = mclient.post(f"{upcoming}/status", data={"csrf_token": token, "status": "held"})
    assert held.status_code == 400
    assert "before it starts" in held.text
    page = mclient.get(upcoming)
    assert "Not quorate" in page.text  # nobody recorded yet
    engine = make_engine(settings_with_meetings.resolved_database_url)
    with make_session_factory(engine)() as s:
        minutes = s.scalar(select(Minutes).where(Minutes.meeting_id == ids["latest"]))
        assert minutes is not None
        assert minutes.status == "approved"
        action = s.scalar(select(Action).where(Action.status == "open").order_by(Action.id))
        assert action is not None
        action_id = action.id
    engine.dispose()
    no_note = mclient.post(
        f"/governance/actions/{action_id}/close", data={"csrf_token": token, "note": ""}
    )
    assert no_note.status_code == 400
    assert "say what was done" in no_note.text
    closed = mclient.post(
        f"/governance/actions/{action_id}/close",
        data={"csrf_token": token, "note": "Done.", "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    assert closed.headers["location"] == "/governance/actions"


def test_actions_and_meetings_lists_filter_and_export(
    mclient: TestClient, settings_with_meetings: Settings, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    overdue = mclient.get("/governance/actions?view=overdue")
    assert overdue.status_code == 200
    assert "Report back on the urgent care pressures" in overdue.text
    assert "Bring the winter plan" not in overdue.text
    assert "Overdue by 10 days" in overdue.text
    csv = mclient.get("/governance/actions.csv?view=overdue&body=SB")
    assert csv.text.startswith("action_id,")
    assert csv.text.count("\n") == 2
    assert mclient.get("/governance/actions?view=nonsense").status_code == 400
    meetings = mclient.get("/governance/meetings?body=SB&when=upcoming")
    assert meetings.status_code == 200
    assert "1 meeting" in meetings.text
    assert "Schedule a meeting" not in meetings.text
    export = mclient.get("/governance/meetings.csv?body=SB")
    assert export.text.count("\n") == 4
    # the JSON API holds the CSVs' rows, with the same filters
    for path in ("/governance/meetings?body=SB", "/governance/actions?view=overdue&body=SB"):
        name = path.split("?")[0] + ".csv?" + path.split("?")[1]
        table = list(csv_module.DictReader(io.StringIO(mclient.get(name).text)))
        api = mclient.get("/api/v1" + path)
        assert api.status_code == 200, path
        assert [{k: str(v) for k, v in row.items()} for row in api.json()] == [
            {k: v for k, v in row.items()} for row in table
        ], path
    assert mclient.get("/api/v1/governance/actions?view=nonsense").status_code == 400
    ids = _ids(settings_with_meetings)
    for table, header in (
        ("agenda", "position,"),
        ("attendance", "name,role"),
        ("conflicts", "item,name"),
        ("actions", "action_id,"),
    ):
        got = mclient.get(f"/governance/meetings/{ids['latest']}/{table}.csv")
        assert got.status_code == 200, table
        assert got.text.startswith(header), table
    conflicts = mclient.get(f"/governance/meetings/{ids['latest']}/conflicts.csv").text
    assert "Dr Sita Rao" in conflicts
    assert "papers_withheld" in conflicts
    assert mclient.get(f"/governance/meetings/{ids['latest']}/secret.csv").status_code == 404


def test_a_lead_schedules_a_meeting_with_the_standing_item(
    mclient: TestClient, settings_with_meetings: Settings, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("gail")
    page = mclient.get("/governance/meetings")
    token = csrf_from(page.text)
    engine = make_engine(settings_with_meetings.resolved_database_url)
    with make_session_factory(engine)() as s:
        sb = s.scalar(select(Body.id).where(Body.code == "SB"))
    engine.dispose()
    form = {
        "csrf_token": token,
        "body_id": str(sb),
        "title": "Annual general meeting",
        "day": "2026-07-01",
        "clock": "14:00",
        "location": "Town hall",
    }
    bad = mclient.post("/governance/meetings", data={**form, "clock": "2pm"})
    assert bad.status_code == 400
    assert "HH:MM" in bad.text
    made = mclient.post("/governance/meetings", data=form, follow_redirects=False)
    assert made.status_code == 303
    page = mclient.get(made.headers["location"])
    assert "Annual general meeting" in page.text
    assert "1 Jul 2026, 14:00" in page.text
    assert "1. Declarations of interest" in page.text
    item = mclient.post(
        made.headers["location"] + "/items",
        data={"csrf_token": token, "title": "Budget", "part": "private", "presenter": "CFO"},
        follow_redirects=False,
    )
    assert item.status_code == 303
    assert "2. Budget" in mclient.get(made.headers["location"]).text
