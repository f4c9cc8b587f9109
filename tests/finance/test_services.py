"""The ledger in the database (SQLite and PostgreSQL): versions, statuses, transfers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access.models import AuditEvent
from wholesystem.finance.actuals import read_actuals
from wholesystem.finance.contracts import load_contracts
from wholesystem.finance.ledger import RETURN_COLUMNS, SubmissionError
from wholesystem.finance.models import FinanceSubmission
from wholesystem.finance.services import (
    control_totals,
    current_returns,
    decide_transfer_set,
    finance_partners,
    load_position,
    load_returns_file,
    propose_settlement,
    propose_transfer_set,
    return_statuses,
    set_control_total,
    submission_history,
    submit_return_csv,
    transfer_sets,
)
from wholesystem.finance.transfers import (
    NotNetNeutralError,
    TransferError,
    TransferKind,
    TransferLegDraft,
)
from wholesystem.finance.whatif import DEMO_ACTUALS, DEMO_CONTRACTS
from wholesystem.store.db import session_scope

D = Decimal
CATEGORIES = ("income", "pay_medical", "pay_nursing", "pay_other", "non_pay",
              "efficiency_savings", "capital")  # fmt: skip


def return_csv(org: str, months: list[str], income: str = "1000.00") -> str:
    rows = [",".join(RETURN_COLUMNS)]
    for month in months:
        for code in CATEGORIES:
            amount = income if code == "income" else "100.00"
            rows.append(f"{org},{month},{code},{amount},{amount},{amount}")
    return "\n".join(rows) + "\n"


def actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_partners_are_the_organisations_that_report(ledger_db: sessionmaker[Session]) -> None:
    with session_scope(ledger_db) as s:
        assert [p.code for p in finance_partners(s)] == [
            "QXX",
            "RA1",
            "RC1",
            "E06000901",
            "E06000902",
        ]


def test_resubmission_is_a_new_version_and_history_is_kept(
    ledger_db: sessionmaker[Session],
) -> None:
    today = date(2024, 6, 3)
    with session_scope(ledger_db) as s:
        submit_return_csv(
            s,
            return_csv("RA1", ["2024-04", "2024-05"]),
            actor="fin",
            organisation="RA1",
            today=today,
        )
    with session_scope(ledger_db) as s:
        result = submit_return_csv(
            s,
            return_csv("RA1", ["2024-05"], "1500.00"),
            actor="fin",
            organisation="RA1",
            today=today,
        )
        assert [(c.period, c.version) for c in result.created] == [(date(2024, 5, 1), 2)]
    with session_scope(ledger_db) as s:
        history = submission_history(s, "RA1")
        assert [(h.period.month, h.version, h.current) for h in history] == [
            (5, 2, True),
            (5, 1, False),
            (4, 1, True),
        ]
        may = next(r for r in current_returns(s) if r.period == date(2024, 5, 1))
        assert may.lines["income"].actual == D("1500.00")
        assert actions(s).count("finance.submit") == 2


def test_a_bad_row_stores_nothing(ledger_db: sessionmaker[Session]) -> None:
    text = return_csv("RA1", ["2024-04"]).replace(
        "RA1,2024-04,capital,100.00", "RA1,2024-04,capital,1O0.00"
    )
    with session_scope(ledger_db) as s, pytest.raises(SubmissionError) as caught:
        submit_return_csv(s, text, actor="fin", organisation="RA1", today=date(2024, 6, 1))
    assert [(e.line, e.column) for e in caught.value.errors] == [(8, "plan")]
    with session_scope(ledger_db) as s:
        assert s.scalar(select(FinanceSubmission.id)) is None


def test_a_lead_submits_for_their_own_organisation_only(ledger_db: sessionmaker[Session]) -> None:
    with session_scope(ledger_db) as s, pytest.raises(SubmissionError) as caught:
        submit_return_csv(
            s,
            return_csv("QXX", ["2024-04"]),
            actor="fin",
            organisation="RA1",
            today=date(2024, 6, 1),
        )
    assert {e.column for e in caught.value.errors} == {"org_code"}


def test_load_returns_is_idempotent_and_backfilled(
    ledger_db: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "finance.csv"
    path.write_text(
        return_csv("RA1", ["2024-04", "2024-05"]) + return_csv("QXX", ["2024-04"]).split("\n", 1)[1]
    )
    first = load_returns_file(ledger_db, path, actor="demo")
    assert len(first.created) == 3
    again = load_returns_file(ledger_db, path, actor="demo")
    assert (len(again.created), again.unchanged) == (0, 3)
    with session_scope(ledger_db) as s:
        statuses = {
            (r.org_code, r.period.month): r.status
            for r in return_statuses(s, ["RA1", "QXX"], 2024, date(2024, 7, 1))
        }
        assert statuses[("RA1", 4)] == "on_time"  # backfilled: received on the due date
        assert statuses[("QXX", 5)] == "missing"  # due 14 June 2024, nothing received
        assert statuses[("RA1", 6)] == "not_yet_due"  # due 12 July 2024
        assert {h.source for h in submission_history(s)} == {"backfill"}


def test_a_late_return_is_late(ledger_db: sessionmaker[Session]) -> None:
    with session_scope(ledger_db) as s:
        submit_return_csv(
            s,
            return_csv("RA1", ["2024-04"]),
            actor="fin",
            organisation="RA1",
            today=date(2024, 5, 20),
        )
    with session_scope(ledger_db) as s:
        (april,) = [
            r for r in return_statuses(s, ["RA1"], 2024, date(2024, 5, 20)) if r.period.month == 4
        ]
        assert (april.status, april.due) == ("late", date(2024, 5, 14))


def test_position_and_control_totals(ledger_db: sessionmaker[Session]) -> None:
    with session_scope(ledger_db) as s:
        submit_return_csv(
            s,
            return_csv("RA1", ["2024-04"]),
            actor="fin",
            organisation=None,
            today=date(2024, 6, 1),
        )
    with session_scope(ledger_db) as s:
        position = load_position(s)
        assert position is not None
        ra1 = position.partner("RA1")
        assert ra1 is not None
        # income 1000 less four cost lines of 100 each: 600 a month, 12 months.
        assert ra1.forecast == D("7200.00")
        assert ra1.control_total == D("7200.00")
        set_control_total(s, "RA1", 2024, D("7000.00"), actor="board", note="agreed")
        set_control_total(s, "RA1", 2024, D("6500.50"), actor="board", note="revised")
    with session_scope(ledger_db) as s:
        assert control_totals(s, 2024) == {"RA1": D("6500.50")}
        position = load_position(s)
        assert position is not None
        assert position.control_total == D("6500.50")  # others have no returns: 0
        assert actions(s).count("finance.control_total") == 2


def test_transfer_sets_are_net_neutral_and_approved_by_someone_else(
    ledger_db: sessionmaker[Session],
) -> None:
    legs = [TransferLegDraft("QXX", D("-250000.00")), TransferLegDraft("RA1", D("250000.00"))]
    with session_scope(ledger_db) as s:
        with pytest.raises(NotNetNeutralError):
            propose_transfer_set(
                s,
                kind=TransferKind.system_reserve,
                title="Reserve",
                year=2024,
                legs=[*legs[:1], TransferLegDraft("RA1", D("200000.00"))],
                actor="fin",
            )
        set_id = propose_transfer_set(
            s,
            kind=TransferKind.system_reserve,
            title="Reserve",
            year=2024,
            legs=legs,
            actor="board",
        )
    with session_scope(ledger_db) as s, pytest.raises(TransferError, match="someone else"):
        decide_transfer_set(s, set_id, approve=True, actor="board")
    with session_scope(ledger_db) as s:
        decide_transfer_set(s, set_id, approve=True, actor="gov", note="fine")
    with session_scope(ledger_db) as s, pytest.raises(TransferError, match="already approved"):
        decide_transfer_set(s, set_id, approve=False, actor="board2")
    with session_scope(ledger_db) as s:
        (view,) = transfer_sets(s)
        assert view.status == "approved"
        assert [e[0] for e in view.events] == ["proposed", "approved"]
        assert sum(leg.amount for leg in view.legs) == 0
        assert "finance.transfer.approve" in actions(s)


def test_a_settlement_is_proposed_as_a_transfer_set(
    ledger_db: sessionmaker[Session], footprint_file: Path
) -> None:
    # The demo contracts name the demo ICS's organisations; add them to this footprint.
    from wholesystem.footprint.models import Organisation

    with session_scope(ledger_db) as s:
        for code in ("QNS", "R9A", "R9B", "R9C", "R9D", "E06000990"):
            s.add(Organisation(code=code, name=code, type="acute_trust", serves=[], active=True))
    with session_scope(ledger_db) as s:
        set_id, left_out = propose_settlement(
            s,
            load_contracts(DEMO_CONTRACTS),
            read_actuals(DEMO_ACTUALS),
            actor="fin",
            year=2024,
            title="Demo settlement",
            pool_host="QNS",
        )
        assert left_out == ()
    with session_scope(ledger_db) as s:
        (view,) = transfer_sets(s)
        assert view.id == set_id
        assert view.kind is TransferKind.risk_share_settlement
        assert view.source == "settlement"
        assert sum(leg.amount for leg in view.legs) == 0
