"""A decision from proposal through the CRG to the system board, in a real browser.

A governance lead proposes a pathway change affecting two places through the form; it is
routed to the system board and needs the clinical reference group first; the CRG agrees
through the form; at the system board a member with a declared interest in an affected
organisation is shown as conflicted and excluded; the remaining members vote; the decision
shows approved with the conflict and its management. axe runs on every page on the way.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.conftest import PASSWORD, LiveServer, axe_violations, sign_in

pytestmark = pytest.mark.browser

LEAD = "govlead"


@pytest.fixture
def governance(live_server: LiveServer) -> LiveServer:
    """The demo governance (bodies, members, interests) and a governance lead, once."""
    from wholesystem.access.models import User
    from wholesystem.access.users import create_user
    from wholesystem.governance.demo import load_demo_governance
    from wholesystem.store.db import make_engine, make_session_factory, session_scope

    engine = make_engine(live_server.settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        if s.scalar(select(User).where(User.username == LEAD)) is None:
            create_user(
                s,
                username=LEAD,
                display_name="Gov Lead",
                role="governance_lead",
                organisation_code="QXX",
                password=PASSWORD,
                actor="test",
            )
        load_demo_governance(s)  # idempotent: other browser tests may have loaded it
    engine.dispose()
    return live_server


def _accessible(page: Any) -> None:
    assert axe_violations(page) == [], page.url


def test_a_pathway_change_goes_through_the_crg_to_the_system_board(
    page: Any, governance: LiveServer
) -> None:
    sign_in(page, LEAD)

    # 1. Propose: a pathway change affecting two places, the community trust a party.
    page.goto("/governance/decisions/new")
    _accessible(page)
    page.get_by_label("Title").fill("One frailty pathway across Testshire North and Seaton")
    page.select_option("#kind", "pathway_change")
    page.get_by_label("Proposer").fill("Director of integrated care")
    page.get_by_label("Value in pounds").fill("450000")
    page.get_by_label("PL1", exact=True).check()
    page.get_by_label("PL2", exact=True).check()
    page.get_by_label("Parties (organisation codes, comma separated)").fill("RC1")
    page.get_by_label("Matters (topics, comma separated)").fill("frailty")
    page.get_by_label("Reasons").fill("Two pathways, two sets of waits; one is fairer.")
    page.get_by_label("Alternatives considered").fill("Keep both pathways.")
    page.get_by_role("button", name="Propose decision").click()
    page.wait_for_url("**/governance/decisions/D*")
    reference = page.url.rsplit("/", 1)[-1]
    body = page.locator("main").inner_text()
    assert "Awaiting CRG agreement" in body
    assert "Affects 2 places (PL1, PL2), so the system board." in body
    assert "clinical reference group must agree it first" in body
    assert "Routed to System board." in body
    _accessible(page)

    # The system board cannot take it yet: the CRG has not agreed.
    page.goto(f"/governance/decisions/{reference}/decide?checked=1")
    assert "clinical reference group" in page.get_by_test_id("problems").inner_text()
    assert page.get_by_role("button", name="Record the decision").count() == 0

    # 2. The clinical reference group agrees, through the form.
    page.goto(f"/governance/decisions/{reference}")
    page.get_by_label("Agreed", exact=True).check()
    page.get_by_label("Reasons or conditions").fill("Agreed; outcomes reviewed at 12 months.")
    page.get_by_role("button", name="Record CRG view").click()
    page.wait_for_url(f"**/governance/decisions/{reference}")
    assert "Ready for decision" in page.locator("main").inner_text()
    _accessible(page)

    # 3. At the system board: attendance, then conflicts and quorum.
    page.get_by_test_id("take-decision").click()
    page.wait_for_url(f"**/governance/decisions/{reference}/decide")
    assert page.locator("#body").input_value() == "SB"  # where it was routed
    _accessible(page)
    members = page.locator("input[name=present]")
    for i in range(members.count()):
        members.nth(i).check()
    page.get_by_role("button", name="Check conflicts and quorum").click()
    page.wait_for_url("**/decide?*checked=1*")
    conflicts = page.get_by_test_id("detected-conflicts").inner_text()
    assert "Dr Sita Rao is conflicted" in conflicts
    assert "financial interest in organisation RC1" in conflicts
    assert "excluded from the vote" in conflicts
    assert "Quorate: 5 voting members count" in page.get_by_test_id("quorum").inner_text()
    present = page.locator("table").filter(has_text="Members present").inner_text()
    assert "Excluded: conflict" in present
    _accessible(page)
    # The excluded member has no vote on the form; the others do.
    votes = page.get_by_test_id("votes-form")
    assert votes.get_by_role("group", name="Dr Sita Rao").count() == 0
    voters = ["Bob Board", "Nadia Nonexec", "Cllr Chris Council", "Dr Morgan Reid", "Jo Hart"]
    page.get_by_label("By vote", exact=True).check()
    for name in voters:
        vote = "Abstain" if name == "Jo Hart" else "For"
        votes.get_by_role("group", name=name).get_by_label(vote, exact=True).check()
    page.get_by_label(
        "As chair, I confirm these conflicts and how they are managed", exact=True
    ).check()
    page.get_by_label("Effective date (YYYY-MM-DD, optional)").fill("2099-01-01")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(f"**/governance/decisions/{reference}")

    # 4. Approved, with the conflict, its management and the votes on the record.
    main = page.locator("main").inner_text()
    assert "Made" in main
    assert "For 4, against 0, abstained 1" in main
    conflict = page.get_by_test_id("conflicts").inner_text()
    assert "Dr Sita Rao" in conflict
    assert "Papers withheld; Leaves the discussion; Does not vote" in conflict
    cast = page.get_by_test_id("votes").inner_text()
    assert "Dr Sita Rao" not in cast
    assert all(name in cast for name in voters)
    history = page.get_by_test_id("versions").inner_text()
    assert "Approved by System board." in history
    assert "CRG agreed." in history
    assert "Proposed." in history
    _accessible(page)
