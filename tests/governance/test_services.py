"""The decision register end to end on SQLite and PostgreSQL: routing, CRG, conflicts,
quorum, ratification, immutability of versions and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from wholesystem.access.models import AuditEvent
from wholesystem.governance import services as gov
from wholesystem.governance.conflicts import InterestCategory
from wholesystem.governance.demo import load_demo_governance
from wholesystem.governance.metrics import decision_split
from wholesystem.governance.models import (
    Body,
    DecisionConflict,
    DecisionStatus,
    DecisionVersion,
    Member,
    Person,
)
from wholesystem.governance.scheme import DecisionKind

NOW = datetime(2026, 5, 1, 10, tzinfo=UTC)
DAY = date(2026, 5, 1)


def _members(session: Session, code: str) -> dict[str, int]:
    body = session.scalar(select(Body).where(Body.code == code))
    assert body is not None
    rows = session.execute(
        select(Person.name, Person.id)
        .join(Member, Member.person_id == Person.id)
        .where(Member.body_id == body.id)
    ).all()
    return {name: pid for name, pid in rows}


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(DecisionVersion)) or 0,
        session.scalar(select(func.count()).select_from(DecisionConflict)) or 0,
        session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
    )


@pytest.fixture
def demo(session: Session) -> Session:
    load_demo_governance(session, now=NOW)
    session.commit()
    return session


def test_the_demo_is_idempotent_and_routes_its_decisions(demo: Session) -> None:
    assert load_demo_governance(demo, now=NOW) == "governance demo already loaded"
    split = decision_split(demo, date(2026, 1, 1), date(2026, 12, 31))
    assert (split.place, split.system, split.place_share) == (4, 0, Decimal("1.0000"))


def _service_change(session: Session) -> int:
    d = gov.propose_decision(
        session,
        title="One ophthalmology service",
        kind=DecisionKind.service_change,
        proposer="CMO",
        value=Decimal("3200000"),
        places=["PL1", "PL2"],
        parties=["RC1"],
        matters=["community ophthalmology"],
        actor="gail",
        now=NOW,
    )
    return d.id


def test_a_change_to_care_goes_through_the_crg_to_the_system_board(demo: Session) -> None:
    did = _service_change(demo)
    latest = gov.latest_version(demo, did)
    assert (latest.routed_level, latest.status, latest.needs_crg, latest.needs_ratification) == (
        "system",
        DecisionStatus.awaiting_crg.value,
        True,
        True,
    )
    sb = _members(demo, "SB")
    present = list(sb.values())
    before = _counts(demo)
    with pytest.raises(gov.GovernanceError, match="clinical reference group"):
        gov.record_decision(
            demo,
            did,
            body_code="SB",
            present=present,
            method="consensus",
            consensus_outcome="approved",
            decided_on=DAY,
            actor="gail",
            now=NOW,
        )
    assert _counts(demo) == before
    gov.record_crg(demo, did, agreed=True, note="Agreed.", actor="gail", now=NOW)
    # The place board has no authority over a system decision.
    with pytest.raises(gov.GovernanceError, match="system board"):
        gov.record_decision(
            demo,
            did,
            body_code="PB-PL1",
            present=[],
            method="consensus",
            consensus_outcome="approved",
            decided_on=DAY,
            actor="gail",
            now=NOW,
        )
    # The GP lead declared a financial interest in the community trust (a party): no vote.
    gp = sb["Dr Sita Rao"]
    votes = {pid: "for" for name, pid in sb.items() if name != "Pat Owen"}
    before = _counts(demo)
    with pytest.raises(gov.GovernanceError, match="excluded from the vote"):
        gov.record_decision(
            demo,
            did,
            body_code="SB",
            present=present,
            method="vote",
            votes=votes,
            decided_on=DAY,
            actor="gail",
            now=NOW,
        )
    assert _counts(demo) == before
    # Without the GP lead and the medical director there is no clinical voting member.
    thin = [pid for name, pid in sb.items() if name != "Dr Morgan Reid"]
    with pytest.raises(gov.GovernanceError, match="Not quorate after excluding"):
        gov.record_decision(
            demo,
            did,
            body_code="SB",
            present=thin,
            method="consensus",
            consensus_outcome="approved",
            decided_on=DAY,
            actor="gail",
            now=NOW,
        )
    assert _counts(demo) == before
    del votes[gp]
    made = gov.record_decision(
        demo,
        did,
        body_code="SB",
        present=present,
        method="vote",
        votes=votes,
        decided_on=DAY,
        actor="gail",
        now=NOW,
    )
    assert made.version.status == DecisionStatus.made.value
    assert made.version.votes_for == 5
    assert [(c.person_id, c.category) for c in made.conflicts] == [(gp, InterestCategory.financial)]
    assert made.quorum.quorate
    assert made.quorum.excluded == (gp,)
    with pytest.raises(gov.GovernanceError, match="accountable body"):
        gov.ratify_decision(
            demo, did, organisation_code="RA1", ratified_on=DAY, actor="gail", now=NOW
        )
    gov.ratify_decision(demo, did, organisation_code="QXX", ratified_on=DAY, actor="gail", now=NOW)
    demo.commit()
    history = gov.versions(demo, did)
    assert [v.status for v in history] == ["awaiting_crg", "ready", "made", "ratified"]
    assert [v.version for v in history] == [1, 2, 3, 4]
    split = decision_split(demo, DAY, DAY)
    assert (split.place, split.system) == (0, 1)
    actions = demo.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "governance_decision")
    ).all()
    assert {"propose", "crg", "decide", "ratify"} <= set(actions)


def test_amending_a_proposal_reroutes_it_and_keeps_the_history(demo: Session) -> None:
    d = gov.propose_decision(
        demo,
        title="Falls",
        kind=DecisionKind.investment,
        proposer="X",
        value=Decimal("100"),
        places=["PL1"],
        actor="gail",
        now=NOW,
    )
    assert gov.latest_version(demo, d.id).routed_level == "place"
    gov.amend_decision(
        demo, d.id, actor="gail", now=NOW, change_note="Scaled up", value=Decimal("2500000")
    )
    history = gov.versions(demo, d.id)
    assert [(v.routed_level, gov.from_pence(v.value_pence)) for v in history] == [
        ("place", Decimal("100.00")),
        ("system", Decimal("2500000.00")),
    ]
    with pytest.raises(gov.GovernanceError, match="say what changed"):
        gov.amend_decision(demo, d.id, actor="gail", now=NOW, change_note=" ", title="x")


def test_decision_versions_cannot_be_overwritten_or_deleted(demo: Session) -> None:
    version_id = demo.scalar(select(func.min(DecisionVersion.id)))
    for statement in (
        text("UPDATE gov_decision_version SET title = 'x' WHERE id = :i"),
        text("DELETE FROM gov_decision_version WHERE id = :i"),
    ):
        with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
            demo.execute(statement, {"i": version_id})
        demo.rollback()


def test_a_nil_return_is_refused_while_interests_are_current(demo: Session) -> None:
    gp = demo.scalar(select(Person).where(Person.name == "Dr Sita Rao"))
    assert gp is not None
    with pytest.raises(gov.GovernanceError, match="nil return"):
        gov.annual_declaration(
            demo, person_id=gp.id, year=2026, nil_return=True, actor="x", now=NOW
        )
    gov.annual_declaration(demo, person_id=gp.id, year=2026, nil_return=False, actor="x", now=NOW)
    with pytest.raises(gov.GovernanceError, match="already"):
        gov.annual_declaration(
            demo, person_id=gp.id, year=2026, nil_return=False, actor="x", now=NOW
        )


def test_bad_requests_are_refused(demo: Session) -> None:
    with pytest.raises(gov.GovernanceError, match="PL9"):
        gov.propose_decision(
            demo,
            title="t",
            kind=DecisionKind.policy,
            proposer="p",
            value=Decimal("1"),
            places=["PL9"],
            actor="x",
            now=NOW,
        )
    with pytest.raises(gov.GovernanceError, match="penny"):
        gov.propose_decision(
            demo,
            title="t",
            kind=DecisionKind.policy,
            proposer="p",
            value=Decimal("1.001"),
            places=["PL1"],
            actor="x",
            now=NOW,
        )
    d = gov.propose_decision(
        demo,
        title="t",
        kind=DecisionKind.policy,
        proposer="p",
        value=Decimal("1"),
        places=["PL1"],
        actor="x",
        now=NOW,
    )
    with pytest.raises(gov.GovernanceError, match="no delegated authority"):
        gov.record_decision(
            demo,
            d.id,
            body_code="CRG",
            present=[],
            method="consensus",
            consensus_outcome="approved",
            decided_on=DAY,
            actor="x",
            now=NOW,
        )
    with pytest.raises(gov.GovernanceError, match="PL1"):
        gov.record_decision(
            demo,
            d.id,
            body_code="PB-PL2",
            present=[],
            method="consensus",
            consensus_outcome="approved",
            decided_on=DAY,
            actor="x",
            now=NOW,
        )
    with pytest.raises(gov.GovernanceError, match="Not quorate"):
        gov.record_decision(
            demo,
            d.id,
            body_code="PB-PL1",
            present=[],
            method="consensus",
            consensus_outcome="approved",
            decided_on=DAY,
            actor="x",
            now=NOW,
        )
