"""A governance lead at a real browser: the meeting page with the demo's agendas, papers,
conflicts and minutes, attendance recorded with the quorum re-checked; axe on each page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.conftest import PASSWORD, LiveServer, axe_violations, sign_in

pytestmark = pytest.mark.browser
LEAD = "meetings_lead"


@pytest.fixture
def meetings(live_server: LiveServer) -> dict[str, int]:
    """The demo governance (idempotent) and a governance lead on the live server."""
    from wholesystem.access.models import User
    from wholesystem.access.users import create_user
    from wholesystem.governance.demo import load_demo_governance
    from wholesystem.governance.meetings.models import Meeting
    from wholesystem.governance.models import Body
    from wholesystem.store.db import make_engine, make_session_factory, session_scope

    engine = make_engine(live_server.settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        load_demo_governance(s)
        if s.scalar(select(User).where(User.username == LEAD)) is None:
            create_user(
                s,
                username=LEAD,
                display_name="Meetings Lead",
                role="governance_lead",
                organisation_code="QXX",
                password=PASSWORD,
                actor="test",
            )
        sb = s.scalar(select(Body.id).where(Body.code == "SB"))
        ids = list(
            s.scalars(select(Meeting.id).where(Meeting.body_id == sb).order_by(Meeting.starts_at))
        )
    engine.dispose()
    return {"first": ids[0], "latest": ids[1], "upcoming": ids[2]}


def test_a_lead_records_attendance_and_sees_quorum_change(
    page: Any, meetings: dict[str, int]
) -> None:
    sign_in(page, LEAD)
    page.goto(f"/governance/meetings/{meetings['latest']}")
    assert "Dr Sita Rao has declared a financial interest" in page.content()
    assert page.get_by_test_id("minutes-text").is_visible()
    assert axe_violations(page) == []
    page.goto(f"/governance/meetings/{meetings['upcoming']}")
    quorum = page.get_by_test_id("meeting-quorum")
    assert "Not quorate" in quorum.inner_text()
    for name in ("Bob Board", "Nadia Nonexec", "Cllr Chris Council", "Dr Morgan Reid", "Jo Hart"):
        page.select_option(
            "#person_id",
            label=next(
                o for o in page.locator("#person_id option").all_inner_texts() if o.startswith(name)
            ),
        )
        page.locator("#attendance-status").check()  # the first radio: present
        page.get_by_role("button", name="Record attendance").click()
        page.wait_for_load_state()
    assert page.get_by_test_id("meeting-quorum").inner_text().startswith("Quorate")
    assert axe_violations(page) == []


def test_the_public_meeting_page_passes_axe(page: Any, meetings: dict[str, int]) -> None:
    page.goto(f"/public/governance/meetings/{meetings['first']}")
    assert "Contract negotiations" not in page.content()
    assert "Approved by the body" in page.content()
    assert axe_violations(page) == []
    sign_in(page, "cllr")
    page.goto("/governance/actions?view=overdue")
    assert "Report back on the urgent care pressures" in page.content()
    assert axe_violations(page) == []
