"""Contracts and settlements in the database: versions, idempotence, refusals, worked example."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access.models import AuditEvent
from wholesystem.finance.actuals import ActualsError
from wholesystem.finance.contracts import ContractsError
from wholesystem.finance.models import (
    ContractSetVersion,
    SettlementLineRecord,
    SettlementRun,
    StoredContract,
    TransferLeg,
    TransferSet,
)
from wholesystem.finance.services import decide_transfer_set
from wholesystem.finance.settlement import SettlementError
from wholesystem.finance.store import (
    contract_set_versions,
    contract_view,
    contracts_of_set,
    current_contract_set,
    latest_settlement_of_set,
    load_contract_text,
    load_contracts_file,
    load_demo_finance,
    propose_stored_settlement,
    run_settlement,
    settlement_record,
    settlement_records,
    sha256_text,
    whatif_inputs,
)
from wholesystem.finance.transfers import TransferError
from wholesystem.store.db import session_scope

# The worked example of the issue: a block of £15,000,000 for 10,000 emergency spells at
# £1,500 with a +/-20% marginal rate (the 2019/20 blended payment), RA1 paid by QXX.
WORKED = """
format = "wholesystem-contracts/1"

[[contracts]]
id = "RA1-ACUTE"
name = "Testshire acute services"
commissioner = "QXX"
provider = "RA1"

  [[contracts.components]]
  id = "emergency-fixed"
  type = "fixed"
  amount = 15_000_000

  [[contracts.components]]
  id = "emergency"
  type = "variable"
  line = "emergency_spells"
  unit_price = 1500
  planned_units = 10000
  rate_above = 0.20
  rate_below = 0.20
"""
POOL = """
[[contracts]]
id = "BCF"
name = "Better Care Fund pool"

  [[contracts.components]]
  id = "bcf-pool"
  type = "pooled_budget"
  line = "bcf_pool"
  contributions = { QXX = 6_000_000, E06000901 = 4_000_000 }
  tolerance = 0.05
"""
APRIL, MARCH = date(2024, 4, 1), date(2025, 3, 1)


def actuals(spells: int, extra: str = "") -> str:
    return (
        f"contract_id,line,measure,value\nRA1-ACUTE,emergency_spells,delivered_units,{spells}\n"
        + (extra)
    )


def count(factory: sessionmaker[Session], model: type) -> int:
    with session_scope(factory) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def audit_actions(factory: sessionmaker[Session]) -> list[str]:
    with session_scope(factory) as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def load(factory: sessionmaker[Session], text: str = WORKED, name: str = "contracts.toml") -> int:
    with session_scope(factory) as s:
        return load_contract_text(s, text, file_name=name, actor="fin").version


def settle_db(
    factory: sessionmaker[Session], text: str, start: date = APRIL, end: date = MARCH
) -> int:
    with session_scope(factory) as s:
        return run_settlement(
            s,
            actuals_text=text,
            actuals_name="actuals.csv",
            period_from=start,
            period_to=end,
            actor="fin",
        ).settlement_id


# ------------------------------------------------------------------------------ contracts


def test_a_contracts_file_round_trips_through_the_database(
    ledger_db: sessionmaker[Session],
) -> None:
    assert load(ledger_db) == 1
    with session_scope(ledger_db) as s:
        current = current_contract_set(s)
        assert current is not None
        view, contracts = current
        assert (view.version, view.file_name, view.loaded_by) == (1, "contracts.toml", "fin")
        assert view.sha256 == sha256_text(WORKED)
        assert view.loaded_at.tzinfo is not None
        (contract,) = contracts.contracts
        assert contract.id == "RA1-ACUTE"
        assert contract.components[0].amount == Decimal("15000000")  # type: ignore[union-attr]
        ((row_id, row),) = contracts_of_set(s, view.id)
        assert (row.commissioner, row.provider, row.mechanisms) == ("QXX", "RA1", "fixed,variable")
        stored = contract_view(s, row_id)
        assert stored is not None
        assert stored.contract == contract
        assert stored.version.current
    assert "finance.contracts.load" in audit_actions(ledger_db)


def test_loading_the_same_file_again_changes_nothing(ledger_db: sessionmaker[Session]) -> None:
    load(ledger_db)
    events = len(audit_actions(ledger_db))
    with session_scope(ledger_db) as s:
        again = load_contract_text(s, WORKED, file_name="renamed.toml", actor="someone else")
    assert (again.version, again.created) == (1, False)
    assert "unchanged" in again.report()
    assert count(ledger_db, ContractSetVersion) == 1
    assert count(ledger_db, StoredContract) == 1
    assert len(audit_actions(ledger_db)) == events


def test_a_changed_file_is_a_new_version_and_earlier_ones_stay_readable(
    ledger_db: sessionmaker[Session],
) -> None:
    load(ledger_db)
    changed = WORKED.replace("rate_above = 0.20", "rate_above = 0.75") + POOL
    assert load(ledger_db, changed) == 2
    with session_scope(ledger_db) as s:
        versions = contract_set_versions(s)
        assert [(v.version, v.current, v.contract_count) for v in versions] == [
            (2, True, 2),
            (1, False, 1),
        ]
        old_rows = contracts_of_set(s, versions[1].id)
        old = contract_view(s, old_rows[0][0])
        assert old is not None
        assert not old.version.current
        assert old.contract.components[1].rate_above == Decimal("0.20")  # type: ignore[union-attr]
    # Going back to the first file makes it current again, as a third version.
    assert load(ledger_db) == 3


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (WORKED.replace("rate_above = 0.20", "rate_above = 1.5"), "field rate_above"),
        (WORKED.replace('type = "fixed"', 'type = "fixd"'), "field type"),
        (POOL.replace("tolerance = 0.05", "key = { QXX = 0.5, E06000901 = 0.4 }"), "field key"),
        ("not = [valid", "not valid TOML"),
    ],
)
def test_a_bad_contracts_file_is_refused_naming_the_field_and_nothing_is_written(
    ledger_db: sessionmaker[Session], text: str, named: str
) -> None:
    with pytest.raises(ContractsError) as caught, session_scope(ledger_db) as s:
        load_contract_text(s, text, file_name="bad.toml", actor="fin")
    assert named in str(caught.value)
    assert count(ledger_db, ContractSetVersion) == 0
    assert count(ledger_db, StoredContract) == 0
    assert "finance.contracts.load" not in audit_actions(ledger_db)


def test_an_unreadable_contracts_file_is_refused(
    ledger_db: sessionmaker[Session], tmp_path: Path
) -> None:
    with pytest.raises(ContractsError, match="cannot read"):
        load_contracts_file(ledger_db, tmp_path / "missing.toml", actor="fin")
    (tmp_path / "latin1.toml").write_bytes(b"name = '\xe9'")
    with pytest.raises(ContractsError, match="cannot read"):
        load_contracts_file(ledger_db, tmp_path / "latin1.toml", actor="fin")
    assert count(ledger_db, ContractSetVersion) == 0


# ------------------------------------------------------------------------------ settlements


@pytest.mark.parametrize(
    ("spells", "provider_net"),
    [
        (10800, Decimal("15240000.00")),
        (9400, Decimal("14820000.00")),
        (10000, Decimal("15000000.00")),
    ],
)
def test_the_worked_example_holds_through_the_database(
    ledger_db: sessionmaker[Session], spells: int, provider_net: Decimal
) -> None:
    load(ledger_db)
    settlement_id = settle_db(ledger_db, actuals(spells))
    with session_scope(ledger_db) as s:
        record = settlement_record(s, settlement_id)
    assert record is not None
    net = {p.party: p.amount for p in record.settlement.party_totals()}
    assert net == {"RA1": provider_net, "QXX": -provider_net}
    assert all(isinstance(v, Decimal) for v in net.values())
    variable = record.settlement.components[1]
    assert variable.total == provider_net - Decimal("15000000.00")
    assert record.period_label == "2024-04 to 2025-03"
    assert record.financial_year == 2024
    assert record.contract_version == 1
    assert record.run_by == "fin"
    assert record.run_at.tzinfo is not None


def test_the_stored_workings_spell_out_the_arithmetic(ledger_db: sessionmaker[Session]) -> None:
    load(ledger_db)
    settlement_id = settle_db(ledger_db, actuals(10800))
    with session_scope(ledger_db) as s:
        record = settlement_record(s, settlement_id)
    assert record is not None
    assert record.settlement.components[1].workings == (
        "10,800 delivered against a plan of 10,000: 800 above plan x £1,500.00 x 20% = £240,000.00"
    )


def test_running_the_same_settlement_again_stores_nothing(
    ledger_db: sessionmaker[Session],
) -> None:
    load(ledger_db)
    first = settle_db(ledger_db, actuals(10800))
    lines = count(ledger_db, SettlementLineRecord)
    assert settle_db(ledger_db, actuals(10800)) == first
    assert count(ledger_db, SettlementRun) == 1
    assert count(ledger_db, SettlementLineRecord) == lines == 4
    # Another period or other values are another settlement.
    assert settle_db(ledger_db, actuals(10800), end=date(2024, 9, 1)) != first
    assert settle_db(ledger_db, actuals(9400)) != first
    assert audit_actions(ledger_db).count("finance.settlement.run") == 3


def test_a_settlement_keeps_the_contracts_it_was_run_on(ledger_db: sessionmaker[Session]) -> None:
    load(ledger_db)
    first = settle_db(ledger_db, actuals(10800))
    load(ledger_db, WORKED.replace("rate_above = 0.20", "rate_above = 0.75"))
    second = settle_db(ledger_db, actuals(10800))
    with session_scope(ledger_db) as s:
        old, new = settlement_record(s, first), settlement_record(s, second)
        assert old is not None
        assert new is not None
        assert old.settlement.components[1].total == Decimal("240000.00")
        assert new.settlement.components[1].total == Decimal("900000.00")
        assert (old.contract_version, new.contract_version) == (1, 2)
        versions = contract_set_versions(s)
        latest = latest_settlement_of_set(s, versions[0].id)
        assert latest is not None
        assert latest.id == second
        assert [r.id for r in settlement_records(s)] == [second, first]
        assert settlement_records(s, 2023) == []


@pytest.mark.parametrize(
    ("text", "start", "end", "message"),
    [
        (actuals(10800), MARCH, APRIL, "the period ends (2024-04) before it starts (2025-03)"),
        (actuals(10800), date(2024, 1, 1), APRIL, "crosses financial years"),
        (actuals(10800).replace("10800", "lots"), APRIL, MARCH, "'lots' is not a number"),
        ("contract_id,line,measure,value\n", APRIL, MARCH, "has no row with line emergency_spells"),
        (actuals(1, "NOPE,x,delivered_units,1\n"), APRIL, MARCH, "no contract NOPE"),
    ],
)
def test_a_bad_settlement_is_refused_and_nothing_is_written(
    ledger_db: sessionmaker[Session], text: str, start: date, end: date, message: str
) -> None:
    load(ledger_db)
    with pytest.raises((SettlementError, ActualsError)) as caught:
        settle_db(ledger_db, text, start, end)
    assert message in str(caught.value)
    assert count(ledger_db, SettlementRun) == 0
    assert count(ledger_db, SettlementLineRecord) == 0


def test_no_settlement_without_contracts(ledger_db: sessionmaker[Session]) -> None:
    with pytest.raises(SettlementError, match="no contracts have been loaded"):
        settle_db(ledger_db, actuals(10800))
    with session_scope(ledger_db) as s:
        assert current_contract_set(s) is None
        assert whatif_inputs(s) is None


def test_proposing_creates_the_net_neutral_transfer_set_for_approval(
    ledger_db: sessionmaker[Session],
) -> None:
    load(ledger_db, WORKED + POOL)
    settlement_id = settle_db(ledger_db, actuals(10800, "BCF,bcf_pool,actual_spend,10350000.00\n"))
    with session_scope(ledger_db) as s:
        set_id, left_out = propose_stored_settlement(s, settlement_id, actor="fin", pool_host="QXX")
        assert left_out == ()
    with session_scope(ledger_db) as s:
        transfer = s.get(TransferSet, set_id)
        assert transfer is not None
        assert (transfer.kind, transfer.status, transfer.source, transfer.financial_year) == (
            "risk_share_settlement",
            "proposed",
            "settlement",
            2024,
        )
        legs = {leg.org_code: leg.amount for leg in s.scalars(select(TransferLeg))}
        assert sum(legs.values()) == 0
        assert legs["RA1"] == Decimal("15240000.00")
        record = settlement_record(s, settlement_id)
        assert record is not None
        assert record.live_proposal == set_id
    # Proposed once: a second proposal is refused while the first stands...
    with pytest.raises(TransferError, match="already proposed"), session_scope(ledger_db) as s:
        propose_stored_settlement(s, settlement_id, actor="fin", pool_host="QXX")
    # ...but once rejected, it may be proposed again.
    with session_scope(ledger_db) as s:
        decide_transfer_set(s, set_id, approve=False, actor="board")
    with session_scope(ledger_db) as s:
        again, _ = propose_stored_settlement(s, settlement_id, actor="fin")
        record = settlement_record(s, settlement_id)
        assert record is not None
        assert record.proposals == ((set_id, "rejected"), (again, "proposed"))
    actions = audit_actions(ledger_db)
    assert actions.count("finance.settlement.propose") == 2
    assert "finance.transfer.propose" in actions


def test_pools_without_a_host_are_left_out_of_the_proposal(
    ledger_db: sessionmaker[Session],
) -> None:
    load(ledger_db, WORKED + POOL)
    settlement_id = settle_db(ledger_db, actuals(10800, "BCF,bcf_pool,actual_spend,10350000.00\n"))
    with session_scope(ledger_db) as s:
        _, left_out = propose_stored_settlement(s, settlement_id, actor="fin")
    assert len(left_out) == 1
    assert "BCF / bcf-pool" in left_out[0]


def test_a_proposal_naming_unknown_organisations_is_refused_whole(
    ledger_db: sessionmaker[Session],
) -> None:
    load(ledger_db, WORKED.replace('provider = "RA1"', 'provider = "ZZ9"'))
    settlement_id = settle_db(ledger_db, actuals(10800))
    with pytest.raises(TransferError, match="ZZ9"), session_scope(ledger_db) as s:
        propose_stored_settlement(s, settlement_id, actor="fin")
    assert count(ledger_db, TransferSet) == 0


def test_the_demo_finance_loads_once(ledger_db: sessionmaker[Session]) -> None:
    contracts, run = load_demo_finance(ledger_db, actor="demo", today=date(2024, 11, 20))
    assert contracts.created
    assert run.created
    again_contracts, again_run = load_demo_finance(
        ledger_db, actor="demo", today=date(2024, 11, 20)
    )
    assert not again_contracts.created
    assert not again_run.created
    assert again_run.settlement_id == run.settlement_id
    with session_scope(ledger_db) as s:
        record = settlement_record(s, run.settlement_id)
        assert record is not None
        assert record.period_label == "2024-04 to 2024-11"
        net = {p.party: p.amount for p in record.settlement.party_totals()}
        inputs = whatif_inputs(s)
    # R9A: £15,240,000 (the worked example) + elective + quality, from the example values.
    assert net["R9A"] > Decimal("15240000")
    assert inputs is not None
    assert inputs[0].version == 1
