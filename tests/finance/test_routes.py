"""Finance pages: who may see and do what; upload errors by line; CSV behind every table."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.finance.conftest import csrf_from
from wholesystem.access.models import AuditEvent
from wholesystem.finance.ledger import RETURN_COLUMNS
from wholesystem.finance.models import FinanceSubmission, TransferSet
from wholesystem.finance.store import load_demo_finance
from wholesystem.store.db import session_scope

SignIn = Callable[[str], TestClient]
CATEGORIES = ("income", "pay_medical", "pay_nursing", "pay_other", "non_pay",
              "efficiency_savings", "capital")  # fmt: skip


def return_csv(org: str, month: str = "2024-04") -> str:
    rows = [",".join(RETURN_COLUMNS)]
    for code in CATEGORIES:
        amount = "1000.00" if code == "income" else "100.00"
        rows.append(f"{org},{month},{code},{amount},{amount},{amount}")
    return "\n".join(rows) + "\n"


def upload(client: TestClient, text: str, name: str = "return.csv") -> object:
    token = csrf_from(client.get("/finance/submit").text)
    return client.post(
        "/finance/submit/upload",
        data={"csrf_token": token},
        files={"file": (name, text.encode(), "text/csv")},
    )


def count(factory: sessionmaker[Session], model: type) -> int:
    with session_scope(factory) as s:
        return len(list(s.scalars(select(model))))


def audit_actions(factory: sessionmaker[Session]) -> list[str]:
    with session_scope(factory) as s:
        return list(s.scalars(select(AuditEvent.action)))


def test_a_finance_lead_uploads_for_their_own_organisation(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    client = sign_in_as("fin_ra1")
    response = upload(client, return_csv("RA1"))
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert "2024-04 version 1" in response.text  # type: ignore[attr-defined]
    assert count(ledger_db, FinanceSubmission) == 1
    assert "finance.submit" in audit_actions(ledger_db)


def test_a_finance_lead_of_one_org_cannot_submit_for_another(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    client = sign_in_as("fin_ra1")
    response = upload(client, return_csv("QXX"))
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "line 2, column org_code: you may submit returns only for RA1, not QXX" in (
        response.text  # type: ignore[attr-defined]
    )
    assert count(ledger_db, FinanceSubmission) == 0


def test_upload_errors_are_reported_by_line_and_nothing_is_stored(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    client = sign_in_as("fin_ra1")
    text = return_csv("RA1").replace("RA1,2024-04,non_pay,100.00", "RA1,2024-04,non_pay,£100")
    text = text.replace("RA1,2024-04,capital", "RA1,2024-04,capitol")
    response = upload(client, text)
    body = response.text  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "line 6, column plan: &#39;£100&#39; is not a number" in body
    assert "line 8, column category: &#39;capitol&#39; is not an account code" in body
    assert count(ledger_db, FinanceSubmission) == 0


def test_the_form_stores_a_version(sign_in_as: SignIn, ledger_db: sessionmaker[Session]) -> None:
    client = sign_in_as("fin_ra1")
    token = csrf_from(client.get("/finance/submit").text)
    data = {"csrf_token": token, "month": "2024-04"}
    for code in CATEGORIES:
        for col in ("plan", "actual", "forecast"):
            data[f"{code}_{col}"] = "10.00"
    data["income_actual"] = "ten"
    bad = client.post("/finance/submit", data=data)
    assert bad.status_code == 400
    assert "Income: &#39;ten&#39; is not a number" in bad.text
    data["income_actual"] = "12.50"
    good = client.post("/finance/submit", data=data)
    assert good.status_code == 200, good.text
    assert count(ledger_db, FinanceSubmission) == 1


def test_finance_leads_see_every_partners_books(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    load_demo_finance(ledger_db, actor="test")  # the what-if needs contracts and a settlement
    upload(sign_in_as("fin_ra1"), return_csv("RA1"))
    client = sign_in_as("fin_qxx")
    page = client.get("/finance")
    assert page.status_code == 200
    assert "Testshire Hospitals NHS Foundation Trust" in page.text
    assert 'data-testid="data-as-at"' in page.text
    books = client.get("/finance/partners/RA1")
    assert books.status_code == 200
    assert "Version 1" in books.text
    for href in (
        "/finance/position.csv",
        "/finance/lines.csv",
        "/finance/bridge.csv",
        "/finance/returns.csv",
        "/finance/partners/RA1.csv",
        "/finance/partners/RA1/versions.csv",
        "/finance/what-if.csv",
        "/finance/transfers.csv",
    ):
        assert href in page.text or href.startswith(
            ("/finance/partners", "/finance/what-if", "/finance/transfers")
        ), href
        response = client.get(href)
        assert response.status_code == 200, (href, response.text)
        assert response.headers["content-type"].startswith("text/csv")


def test_exports_are_audited(sign_in_as: SignIn, ledger_db: sessionmaker[Session]) -> None:
    upload(sign_in_as("fin_ra1"), return_csv("RA1"))
    client = sign_in_as("fin_qxx")
    client.get("/finance/position.csv")
    assert "finance.export" in audit_actions(ledger_db)


def test_who_may_not(sign_in_as: SignIn) -> None:
    carer = sign_in_as("carer")
    assert carer.get("/finance").status_code == 403
    assert carer.get("/finance/submit").status_code == 403
    board = sign_in_as("board")
    assert board.get("/finance").status_code == 200  # board members view all finance
    assert board.get("/finance/submit").status_code == 403  # but do not submit


def test_the_public_sees_only_the_system_summary(
    finance_client: TestClient, sign_in_as: SignIn
) -> None:
    upload(sign_in_as("fin_ra1"), return_csv("RA1"))
    finance_client.cookies.clear()
    page = finance_client.get("/public/finance")
    assert page.status_code == 200
    assert "system-summary" in page.text
    assert "RA1" not in page.text
    assert "Testshire Hospitals" not in page.text
    csv = finance_client.get("/public/finance.csv")
    assert csv.status_code == 200
    assert "RA1" not in csv.text
    assert "forecast_outturn_surplus" in csv.text
    for private in ("/finance", "/finance/partners/RA1", "/finance/position.csv"):
        response = finance_client.get(private, follow_redirects=False)
        assert response.status_code in (303, 401), private


def test_transfers_propose_then_approve_by_someone_else(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    client = sign_in_as("fin_qxx")
    token = csrf_from(client.get("/finance/transfers").text)
    form = {
        "csrf_token": token,
        "kind": "transformation_funding",
        "title": "Frailty programme",
        "financial_year": "2024",
        "legs": "QXX,-500000.00,ICB funds\nRA1,400000.00,frailty unit\n",
    }
    refused = client.post("/finance/transfers", data=form)
    assert refused.status_code == 400
    assert "not net-neutral" in refused.text
    assert "out of balance by -£100,000.00" in refused.text
    assert count(ledger_db, TransferSet) == 0
    form["legs"] += "RC1,100000.00,community hub\n"
    accepted = client.post("/finance/transfers", data=form, follow_redirects=False)
    assert accepted.status_code == 303
    with session_scope(ledger_db) as s:
        (set_id,) = s.scalars(select(TransferSet.id))
    # A finance lead cannot approve; a board member can.
    token = csrf_from(client.get("/finance/transfers").text)
    denied = client.post(
        f"/finance/transfers/{set_id}/decision", data={"csrf_token": token, "decision": "approve"}
    )
    assert denied.status_code == 403
    board = sign_in_as("board")
    token = csrf_from(board.get("/finance/transfers").text)
    done = board.post(
        f"/finance/transfers/{set_id}/decision",
        data={"csrf_token": token, "decision": "approve"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = board.get("/finance/transfers").text
    assert "approved by board" in page


def test_the_what_if_page_runs_without_writing(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    load_demo_finance(ledger_db, actor="test")
    upload(sign_in_as("fin_ra1"), return_csv("RA1"))
    client = sign_in_as("fin_qxx")
    before = count(ledger_db, FinanceSubmission)
    page = client.get("/finance/what-if?activity=5&term=R9A-ACUTE-DEMO:emergency:rate_above=0.5")
    assert page.status_code == 200, page.text
    assert "whatif-table" in page.text
    bad = client.get("/finance/what-if?term=R9A-ACUTE-DEMO:emergency:rate_above=2")
    assert bad.status_code == 400
    assert "fraction from 0 to 1" in bad.text
    assert count(ledger_db, FinanceSubmission) == before


def test_the_what_if_page_says_what_is_missing_without_contracts(sign_in_as: SignIn) -> None:
    upload(sign_in_as("fin_ra1"), return_csv("RA1"))
    client = sign_in_as("fin_qxx")
    page = client.get("/finance/what-if")
    assert page.status_code == 200
    assert "No contracts have been loaded" in page.text
    assert "whatif-table" not in page.text
    assert client.get("/finance/what-if.csv").status_code == 404
