"""Concerns and challenge at a real browser: a member of the public asks, the governance lead
answers and it is published; a lead escalates the demo dispute and raises a concern; axe on
each page, forms with errors included."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.conftest import PASSWORD, LiveServer, axe_violations, sign_in

pytestmark = pytest.mark.browser
LEAD = "concerns_lead"


@pytest.fixture
def decision_ref(live_server: LiveServer) -> str:
    """The demo governance (idempotent), a governance lead; a published decision's reference."""
    from wholesystem.access.models import User
    from wholesystem.access.users import create_user
    from wholesystem.governance.demo import load_demo_governance
    from wholesystem.governance.models import Decision
    from wholesystem.store.db import make_engine, make_session_factory, session_scope

    engine = make_engine(live_server.settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        load_demo_governance(s)
        if s.scalar(select(User).where(User.username == LEAD)) is None:
            create_user(
                s,
                username=LEAD,
                display_name="Concerns Lead",
                role="governance_lead",
                organisation_code="QXX",
                password=PASSWORD,
                actor="test",
            )
        ref = s.scalars(select(Decision.reference).order_by(Decision.id)).first()
    engine.dispose()
    assert ref is not None
    return ref


def test_a_public_question_is_answered_and_published(page: Any, decision_ref: str) -> None:
    page.goto(f"/public/governance/questions?subject_kind=decision&subject_ref={decision_ref}")
    page.get_by_role("button", name="Send").click()  # nothing filled in
    page.wait_for_load_state()
    assert "There is a problem" in page.content()
    assert axe_violations(page) == []
    page.select_option("#subject_kind", "decision")
    page.fill("#subject_ref", decision_ref)
    page.fill("#text", "Which neighbourhoods go first?")
    page.fill("#name", "Robin Public")
    page.fill("#email", "robin@example.com")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    sent = page.get_by_test_id("sent").inner_text()
    found = re.search(r"Q-\d{4}", sent)
    assert found is not None
    reference = found.group(0)
    assert axe_violations(page) == []

    sign_in(page, LEAD)
    page.goto("/governance/challenge?status=received")
    assert "Which neighbourhoods go first?" in page.content()
    assert axe_violations(page) == []
    page.fill(f"#answer-{reference}", "North and Harbour, from June.")
    page.get_by_role("button", name=f"Publish answer to {reference}").click()
    page.wait_for_load_state()
    page.goto("/public/governance/questions")
    content = page.content()
    assert "North and Harbour, from June." in content
    assert "Robin Public" not in content
    assert axe_violations(page) == []


def test_a_lead_escalates_the_dispute_and_raises_a_concern(page: Any, decision_ref: str) -> None:
    sign_in(page, LEAD)
    page.goto("/governance/concerns")
    assert page.get_by_test_id("overdue-count").is_visible()
    assert axe_violations(page) == []
    row = page.locator("tr", has_text="Funding of community ophthalmology transfer costs")
    row.get_by_role("link").click()
    page.wait_for_load_state()
    assert "Facilitated mediation: entered" in page.get_by_test_id("timeline").inner_text()
    assert axe_violations(page) == []
    page.locator("#to").check()  # the first of the two final stages: board arbitration
    page.select_option("#owner", index=1)
    page.fill("#reason", "Mediation ended without agreement.")
    page.get_by_role("button", name="Escalate").click()
    page.wait_for_load_state()
    assert "System board arbitration: entered" in page.get_by_test_id("timeline").inner_text()
    assert "Escalate to the next stage" not in page.content()  # the last stage is final
    assert axe_violations(page) == []

    page.goto("/governance/concerns/new")
    page.get_by_role("button", name="Raise concern").click()
    page.wait_for_load_state()
    assert "give the concern a title" in page.content()
    assert axe_violations(page) == []
    page.fill("#title", "Patient transport delays at discharge")
    page.fill("#detail", "Discharges wait up to six hours for transport.")
    page.locator("input[name=organisations][value=RA1]").check()
    page.select_option("#owner", index=1)
    page.get_by_role("button", name="Raise concern").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Patient transport delays at discharge"
    )
    assert "Local resolution: entered" in page.get_by_test_id("timeline").inner_text()
    assert axe_violations(page) == []
