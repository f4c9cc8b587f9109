"""Contracts and settlements pages: who may see and do what, the arithmetic in words, CSVs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.finance.conftest import csrf_from
from tests.finance.test_store import POOL, WORKED, actuals, audit_actions, count, load
from wholesystem.finance.models import SettlementRun, StoredContract, TransferSet
from wholesystem.store.db import session_scope

SignIn = Callable[[str], TestClient]
TIMES = "\N{MULTIPLICATION SIGN}"
POOL_ACTUALS = "BCF,bcf_pool,actual_spend,10350000.00\n"


def run(
    client: TestClient,
    text: str,
    period_from: str = "2024-04",
    period_to: str = "2025-03",
    name: str = "actuals.csv",
) -> object:
    token = csrf_from(client.get("/finance/settlements").text)
    return client.post(
        "/finance/settlements",
        data={"csrf_token": token, "period_from": period_from, "period_to": period_to},
        files={"file": (name, text.encode(), "text/csv")},
        follow_redirects=False,
    )


def contract_row_id(factory: sessionmaker[Session], contract_id: str = "RA1-ACUTE") -> int:
    with session_scope(factory) as s:
        return max(
            s.scalars(select(StoredContract.id).where(StoredContract.contract_id == contract_id))
        )


def csv_rows(response: object) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))  # type: ignore[attr-defined]


def test_pages_say_so_when_nothing_is_loaded(sign_in_as: SignIn) -> None:
    client = sign_in_as("fin_ra1")
    contracts = client.get("/finance/contracts")
    assert contracts.status_code == 200
    assert "No contracts have been loaded yet" in contracts.text
    assert "wholesystem finance load-contracts" in contracts.text
    settlements = client.get("/finance/settlements")
    assert settlements.status_code == 200
    assert "No settlement has been run yet" in settlements.text
    assert 'data-testid="no-contracts"' in settlements.text
    assert client.get("/finance/contracts.csv").status_code == 404
    assert client.get("/finance/contracts/1").status_code == 404
    assert client.get("/finance/settlements/1").status_code == 404


def test_the_contracts_page_describes_each_mechanism_and_every_version(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    load(ledger_db)
    load(ledger_db, WORKED + POOL)
    client = sign_in_as("board")  # board members read the contracts too
    page = client.get("/finance/contracts")
    assert page.status_code == 200
    text = page.text.replace("&#39;", "'")
    assert "QXX pays RA1 a fixed £15,000,000.00." in text
    assert (
        "10,000 units of emergency_spells are planned at £1,500.00 each; each unit above plan "
        "is paid at 20% of the price and each unit below plan is taken back at 20% of the price."
    ) in text
    assert "shared pro rata to contributions" in text
    assert 'data-testid="data-as-at"' in text
    assert "Version 2" in text
    assert "Version 1" in text
    earlier = client.get("/finance/contracts?version=1")
    assert 'data-testid="earlier-version"' in earlier.text
    assert "Better Care Fund pool" not in earlier.text
    assert client.get("/finance/contracts?version=9").status_code == 404
    assert client.get("/finance/contracts?version=x").status_code == 400
    rows = csv_rows(client.get("/finance/contracts.csv?version=1"))
    assert [(r["version"], r["component_id"], r["mechanism"]) for r in rows] == [
        ("1", "emergency-fixed", "fixed"),
        ("1", "emergency", "variable"),
    ]
    versions = csv_rows(client.get("/finance/contracts/versions.csv"))
    assert [(v["version"], v["current"]) for v in versions] == [("2", "true"), ("1", "false")]
    assert len(versions[0]["sha256"]) == 64
    assert "finance.export" in audit_actions(ledger_db)


def test_a_finance_lead_runs_a_settlement_and_reads_the_arithmetic(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    load(ledger_db)
    client = sign_in_as("fin_ra1")
    response = run(client, actuals(10800))
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    page = client.get(location)
    assert page.status_code == 200
    assert (
        "RA1 receives £240,000.00 from QXX: 10,800 delivered against a plan of 10,000: 800 above "
        f"plan {TIMES} £1,500.00 {TIMES} 20% = £240,000.00."
    ) in page.text
    assert "£15,240,000.00" in page.text
    assert "-£15,240,000.00" in page.text
    settlement_id = int(location.rsplit("/", 1)[1])
    lines = csv_rows(client.get(f"/finance/settlements/{settlement_id}/lines.csv"))
    assert [(r["component_id"], r["party"], r["amount"]) for r in lines] == [
        ("emergency-fixed", "RA1", "15000000.00"),
        ("emergency-fixed", "QXX", "-15000000.00"),
        ("emergency", "RA1", "240000.00"),
        ("emergency", "QXX", "-240000.00"),
    ]
    net = csv_rows(client.get(f"/finance/settlements/{settlement_id}/net.csv"))
    assert {r["party"]: r["net_amount"] for r in net} == {
        "RA1": "15240000.00",
        "QXX": "-15240000.00",
    }
    stored = client.get(f"/finance/settlements/{settlement_id}/actuals.csv")
    assert stored.text == actuals(10800)
    listing = client.get("/finance/settlements")
    assert f"/finance/settlements/{settlement_id}" in listing.text
    assert "Not proposed" in listing.text
    rows = csv_rows(client.get("/finance/settlements.csv?year=2024"))
    assert [(r["settlement_id"], r["period_from"], r["period_to"]) for r in rows] == [
        (str(settlement_id), "2024-04", "2025-03")
    ]
    assert csv_rows(client.get("/finance/settlements.csv?year=2023")) == []
    # The same run again lands on the same stored settlement.
    again = run(client, actuals(10800))
    assert again.headers["location"] == location  # type: ignore[attr-defined]
    assert count(ledger_db, SettlementRun) == 1
    assert "finance.settlement.run" in audit_actions(ledger_db)


def test_the_stored_actuals_download_cannot_carry_a_formula(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    # A column the settlement ignores travels with the stored file: a formula in it must
    # reach another partner's finance lead as text, never as something Excel runs.
    load(ledger_db)
    client = sign_in_as("fin_ra1")
    text = (
        "contract_id,line,measure,value,note\n"
        'RA1-ACUTE,emergency_spells,delivered_units,10800,"=HYPERLINK(""http://x"",""y"")"\n'
    )
    location = run(client, text).headers["location"]  # type: ignore[attr-defined]
    settlement_id = int(location.rsplit("/", 1)[1])
    stored = client.get(f"/finance/settlements/{settlement_id}/actuals.csv")
    assert stored.status_code == 200
    assert csv_rows(stored)[0]["note"] == '\'=HYPERLINK("http://x","y")'


def test_the_contract_page_shows_terms_and_the_latest_settlement(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    load(ledger_db)
    client = sign_in_as("fin_ra1")
    row_id = contract_row_id(ledger_db)
    before = client.get(f"/finance/contracts/{row_id}")
    assert before.status_code == 200
    assert 'data-testid="no-settlement"' in before.text
    run(client, actuals(9400))
    page = client.get(f"/finance/contracts/{row_id}")
    assert "Testshire acute services" in page.text
    assert "rate_below: 20%" in page.text
    assert (
        "RA1 pays £180,000.00 to QXX: 9,400 delivered against a plan of 10,000: 600 below plan "
        f"{TIMES} £1,500.00 {TIMES} 20% = -£180,000.00."
    ) in page.text
    terms = csv_rows(client.get(f"/finance/contracts/{row_id}/terms.csv"))
    assert ("emergency", "unit_price", "£1,500.00") in {
        (t["component_id"], t["term"], t["value"]) for t in terms
    }
    settled = csv_rows(client.get(f"/finance/contracts/{row_id}/settlement.csv"))
    assert {(r["party"], r["amount"]) for r in settled if r["component_id"] == "emergency"} == {
        ("RA1", "-180000.00"),
        ("QXX", "180000.00"),
    }


def test_bad_settlement_runs_say_why_and_store_nothing(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    client = sign_in_as("fin_ra1")
    nothing = run(client, actuals(10800))
    assert nothing.status_code == 400  # type: ignore[attr-defined]
    assert "no contracts have been loaded" in nothing.text  # type: ignore[attr-defined]
    load(ledger_db)
    cases = [
        (run(client, actuals(10800), "2024-13"), "From: &#39;2024-13&#39; is not a month"),
        (run(client, actuals(10800), "2025-03", "2024-04"), "before it starts"),
        (run(client, actuals(10800), "2024-01", "2024-04"), "crosses financial years"),
        (run(client, actuals(10800).replace("10800", "ten")), "line 2, column value"),
        (run(client, "contract_id,line,measure,value\n"), "has no row with line"),
        (run(client, actuals(10800), name="actuals.xlsx"), "as a CSV file (.csv)"),
    ]
    for response, message in cases:
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert message in response.text, message  # type: ignore[attr-defined]
    assert count(ledger_db, SettlementRun) == 0


def test_only_finance_leads_run_and_propose_and_someone_else_approves(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    load(ledger_db, WORKED + POOL)
    board = sign_in_as("board")
    page = board.get("/finance/settlements")
    assert page.status_code == 200
    assert "Run a settlement" not in page.text
    token = csrf_from(page.text)
    refused = board.post(
        "/finance/settlements",
        data={"csrf_token": token, "period_from": "2024-04", "period_to": "2025-03"},
        files={"file": ("a.csv", actuals(10800, POOL_ACTUALS).encode(), "text/csv")},
    )
    assert refused.status_code == 403
    assert sign_in_as("carer").get("/finance/settlements").status_code == 403
    assert sign_in_as("carer").get("/finance/contracts").status_code == 403

    lead = sign_in_as("fin_ra1")
    location = run(lead, actuals(10800, POOL_ACTUALS)).headers["location"]  # type: ignore[attr-defined]
    page = lead.get(location)
    assert "Pool host" in page.text
    assert "beyond the 5% tolerance" not in page.text  # a 3.5% overspend: no notice
    token = csrf_from(page.text)
    unknown = lead.post(f"{location}/propose", data={"csrf_token": token, "pool_host": "ZZ9"})
    assert unknown.status_code == 400
    assert "ZZ9 is not a partner organisation" in unknown.text
    proposed = lead.post(
        f"{location}/propose",
        data={"csrf_token": token, "pool_host": "QXX"},
        follow_redirects=False,
    )
    assert proposed.status_code == 303
    twice = lead.post(f"{location}/propose", data={"csrf_token": token, "pool_host": "QXX"})
    assert twice.status_code == 400
    assert "already proposed as transfer set" in twice.text
    with session_scope(ledger_db) as s:
        (set_id,) = s.scalars(select(TransferSet.id))
    assert f"Set {set_id}" in lead.get(location).text
    # The proposer cannot approve; a board member can, on the transfers page.
    approver = sign_in_as("board")
    token = csrf_from(approver.get("/finance/transfers").text)
    done = approver.post(
        f"/finance/transfers/{set_id}/decision",
        data={"csrf_token": token, "decision": "approve"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert f"Set {set_id}: approved" in approver.get("/finance/settlements").text


def test_the_finance_pages_link_to_each_other(sign_in_as: SignIn) -> None:
    client = sign_in_as("fin_ra1")
    for path in ("/finance/contracts", "/finance/settlements", "/finance/transfers"):
        page = client.get(path)
        assert 'data-testid="finance-nav"' in page.text, path
        for href in ("/finance/contracts", "/finance/settlements", "/finance/what-if"):
            assert f'href="{href}"' in page.text, (path, href)
