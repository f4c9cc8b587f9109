"""The decision register end to end on SQLite and PostgreSQL: routing, CRG, conflicts,
quorum, ratification, immutability of versions and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from tests.governance.conftest import demo_over_footprint
from wholesystem.access.models import AuditEvent
from wholesystem.governance import services as gov
from wholesystem.governance.conflicts import InterestCategory, Management
from wholesystem.governance.demo import HISTORY, load_demo_governance
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
def demo(session: Session, footprint_file: Path) -> Session:
    return demo_over_footprint(session, footprint_file, NOW)


def test_the_demo_is_idempotent_and_routes_its_decisions(demo: Session) -> None:
    assert load_demo_governance(demo, now=NOW) == "governance demo already loaded"
    # this year: the four place decisions of April, and the history's first quarter
    split = decision_split(demo, date(2026, 1, 1), date(2026, 12, 31))
    assert (split.place, split.system, split.place_share) == (9, 1, Decimal("0.9000"))
    # the history: the eight quarters before May 2026's, oldest first
    quarters = [
        (date(2024, 4, 1), date(2024, 6, 30)),
        (date(2024, 7, 1), date(2024, 9, 30)),
        (date(2024, 10, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 3, 31)),
        (date(2025, 4, 1), date(2025, 6, 30)),
        (date(2025, 7, 1), date(2025, 9, 30)),
        (date(2025, 10, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 3, 31)),
    ]
    splits = [decision_split(demo, a, b) for a, b in quarters]
    assert [(s.place, s.system) for s in splits] == list(HISTORY)


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


def _ready_change(session: Session) -> int:
    did = _service_change(session)
    gov.record_crg(session, did, agreed=True, note="Agreed.", actor="gail", now=NOW)
    return did


def test_the_meeting_check_reports_conflicts_quorum_and_who_may_vote(demo: Session) -> None:
    did = _ready_change(demo)
    sb = _members(demo, "SB")
    check = gov.check_meeting(demo, did, body_code="SB", present=list(sb.values()), on=DAY)
    assert check.blocking == ()
    assert [c.person_id for c in check.conflicts] == [sb["Dr Sita Rao"]]
    assert check.excluded == frozenset({sb["Dr Sita Rao"]})
    assert check.quorum.quorate
    assert set(check.eligible) == set(sb.values()) - {sb["Dr Sita Rao"], sb["Pat Owen"]}
    assert len(check.seats) == len(sb)
    crg = gov.check_meeting(demo, did, body_code="CRG", present=[], on=DAY)
    assert crg.problems[0].startswith("a clinical reference group has no delegated authority")
    assert not crg.quorum.quorate
    with pytest.raises(gov.GovernanceError, match="no body"):
        gov.check_meeting(demo, did, body_code="NOPE", present=[], on=DAY)


def test_the_chair_confirms_the_management_and_no_vote_is_never_dropped(demo: Session) -> None:
    did = _ready_change(demo)
    sb = _members(demo, "SB")
    gp = sb["Dr Sita Rao"]
    present = list(sb.values())
    votes = {pid: "for" for name, pid in sb.items() if name not in {"Pat Owen", "Dr Sita Rao"}}

    def take(**kw: object) -> gov.MadeDecision:
        args: dict[str, Any] = {
            "body_code": "SB",
            "present": present,
            "method": "vote",
            "votes": votes,
            "decided_on": DAY,
            "actor": "gail",
            "now": NOW,
        }
        args.update(kw)
        return gov.record_decision(demo, did, **args)

    before = _counts(demo)
    for kw, reason in (
        ({"chair_confirmed": False}, "chair must confirm"),
        ({"management": {gp: [Management.leave_discussion]}}, "does not vote"),
        ({"management": {}}, "missing: Dr Sita Rao"),
        (
            {"management": {gp: [Management.no_vote], sb["Jo Hart"]: [Management.no_vote]}},
            "no detected conflict: Jo Hart",
        ),
        ({"votes": {**votes, sb["Jo Hart"]: "maybe"}}, "for, against or abstain"),
        ({"votes": {k: v for k, v in votes.items() if k != sb["Jo Hart"]}}, "missing: Jo Hart"),
        ({"votes": {**votes, sb["Pat Owen"]: "for"}}, "not a voting member"),
        ({"method": "show of hands"}, "vote or consensus"),
        ({"decided_on": date(2026, 5, 2)}, "future date"),
        ({"effective_date": date(2026, 4, 1)}, "effective date cannot come before"),
        (
            {"method": "consensus", "votes": {}, "consensus_outcome": "deferred"},
            "reason for deferring",
        ),
    ):
        with pytest.raises(gov.GovernanceError, match=reason):
            take(**kw)
        assert _counts(demo) == before, kw
    made = take(management={gp: [Management.no_vote, Management.leave_discussion]})
    demo.commit()
    recorded = demo.scalars(select(DecisionConflict).where(DecisionConflict.decision_id == did))
    assert [r.management for r in recorded] == [["leave_discussion", "no_vote"]]
    assert made.version.quorum_note.startswith("Present: ")
    assert "Dr Sita Rao" in made.version.quorum_note
    event = demo.scalar(
        select(AuditEvent).where(AuditEvent.action == "decide").order_by(AuditEvent.seq.desc())
    )
    assert event is not None
    assert event.detail["management"] == {str(gp): ["leave_discussion", "no_vote"]}


def test_a_deferred_decision_stays_open_and_is_taken_later(demo: Session) -> None:
    did = _ready_change(demo)
    sb = _members(demo, "SB")
    present = [pid for name, pid in sb.items() if name != "Dr Sita Rao"]
    deferred = gov.record_decision(
        demo,
        did,
        body_code="SB",
        present=present,
        method="consensus",
        consensus_outcome="deferred",
        note="More data on waits needed.",
        decided_on=DAY,
        actor="gail",
        now=NOW,
    )
    assert (deferred.version.status, deferred.version.decided_on) == ("deferred", None)
    assert deferred.version.change_note == "Deferred by System board: More data on waits needed."
    made = gov.record_decision(
        demo,
        did,
        body_code="SB",
        present=present,
        method="consensus",
        consensus_outcome="rejected",
        decided_on=DAY,
        actor="gail",
        now=NOW,
    )
    assert made.version.status == "rejected"
    assert [v.status for v in gov.versions(demo, did)] == [
        "awaiting_crg",
        "ready",
        "deferred",
        "rejected",
    ]


def test_dates_can_be_set_once_made_and_each_change_is_a_version(demo: Session) -> None:
    did = _ready_change(demo)
    with pytest.raises(gov.GovernanceError, match="once a decision has been made"):
        gov.set_dates(demo, did, effective_date=DAY, review_date=None, actor="gail", now=NOW)
    sb = _members(demo, "SB")
    gov.record_decision(
        demo,
        did,
        body_code="SB",
        present=[pid for name, pid in sb.items() if name != "Dr Sita Rao"],
        method="consensus",
        consensus_outcome="approved",
        decided_on=DAY,
        effective_date=date(2026, 6, 1),
        actor="gail",
        now=NOW,
    )
    before = _counts(demo)
    for kw, reason in (
        ({"effective_date": None, "review_date": None}, "give an effective date"),
        ({"effective_date": date(2026, 4, 1), "review_date": None}, "before the decision"),
        ({"effective_date": None, "review_date": date(2026, 5, 15)}, "review date cannot"),
        ({"effective_date": date(2026, 6, 1), "review_date": None}, "already the decision"),
    ):
        with pytest.raises(gov.GovernanceError, match=reason):
            gov.set_dates(demo, did, actor="gail", now=NOW, **kw)  # type: ignore[arg-type]
        assert _counts(demo) == before
    row = gov.set_dates(
        demo, did, effective_date=None, review_date=date(2027, 6, 1), actor="gail", now=NOW
    )
    assert (row.effective_date, row.review_date) == (date(2026, 6, 1), date(2027, 6, 1))
    assert row.version == 4
