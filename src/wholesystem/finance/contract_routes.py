"""Contracts and settlements pages: the stored contracts and their versions, each contract's
terms and latest settlement, every stored settlement, running one and proposing it.

Everyone with ``view_all_finance`` (finance leads, board members, governance leads) reads
them; a finance lead (``submit_finance``) runs a settlement for a period on uploaded
measured values and proposes it as a transfer set, which someone else then approves on the
transfers page. Every run, proposal and CSV export is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, current_time, require
from wholesystem.finance import contract_presenters as show
from wholesystem.finance.actuals import ActualsError
from wholesystem.finance.contracts import (
    ContractsError,
    ContractSet,
    GainLossPool,
    PooledBudget,
    parse_contracts,
)
from wholesystem.finance.ledger import financial_year, fy_label, month_label, parse_month
from wholesystem.finance.models import ContractSetVersion
from wholesystem.finance.services import known_org_codes
from wholesystem.finance.settlement import SettlementError
from wholesystem.finance.store import (
    ContractSetView,
    contract_set_versions,
    contract_view,
    contracts_of_set,
    latest_settlement_of_set,
    propose_stored_settlement,
    run_settlement,
    settlement_contracts,
    settlement_record,
    settlement_records,
)
from wholesystem.finance.transfers import TransferError
from wholesystem.web.csvfiles import csv_response, defused_csv_text
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Viewer = Annotated[CurrentUser, Depends(require(Permission.view_all_finance))]
Submitter = Annotated[CurrentUser, Depends(require(Permission.submit_finance))]
MAX_ACTUALS_BYTES = 5 * 1024 * 1024
_FINANCE = Crumb("Finance", "/finance")
_CONTRACTS = Crumb("Contracts", "/finance/contracts")
_SETTLEMENTS = Crumb("Settlements", "/finance/settlements")


def _export(db: Session, actor: str, name: str, detail: dict[str, Any] | None = None) -> None:
    audit.append(
        db,
        actor=actor,
        action="finance.export",
        object_type="finance_csv",
        object_id=name,
        detail=detail or {},
    )
    db.commit()


def _query(**params: str | None) -> str:
    clean = {k: v for k, v in params.items() if v}
    return f"?{urlencode(clean)}" if clean else ""


def _version(db: Session, version: str | None) -> tuple[ContractSetView, ContractSet] | None:
    """The chosen version (default: the current one) and its contracts; 404 for no such one."""
    versions = contract_set_versions(db)
    if not versions:
        return None
    if version:
        if not version.isdigit():
            raise HTTPException(400, f"'{version}' is not a version number.")
        chosen = next((v for v in versions if v.version == int(version)), None)
        if chosen is None:
            raise HTTPException(404, f"There is no version {version} of the contracts.")
    else:
        chosen = versions[0]
    record = db.get(ContractSetVersion, chosen.id)
    assert record is not None  # listed a moment ago, and versions are never deleted
    try:
        contracts = parse_contracts(record.source_text, f"contracts version {record.version}")
    except ContractsError as exc:
        raise HTTPException(
            500, f"Version {record.version} no longer passes validation: {exc}"
        ) from None
    return chosen, contracts


# ------------------------------------------------------------------------------ contracts


@router.get("/finance/contracts", response_class=HTMLResponse)
def contracts_page(
    request: Request,
    db: Db,
    user: Viewer,
    version: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    """The contracts of the current (or a chosen) version, in plain words, and every version."""
    page = PageMeta(title="Contracts", breadcrumbs=(HOME, _FINANCE, Crumb("Contracts", "")))
    chosen = _version(db, version)
    versions = contract_set_versions(db)
    if chosen is None:
        return render(request, "finance/contracts.html", page, data_as_at=None, view=None)
    view, contracts = chosen
    row_ids = {row.contract_id: row_id for row_id, row in contracts_of_set(db, view.id)}
    return render(
        request,
        "finance/contracts.html",
        page,
        data_as_at=view.loaded_at,
        view=view,
        current_version=versions[0].version,
        rows=show.contract_rows(contracts, row_ids),
        versions=show.version_rows(versions),
        query=_query(version=version),
    )


@router.get("/finance/contracts.csv")
def contracts_csv(
    db: Db, user: Viewer, version: Annotated[str | None, Query(max_length=8)] = None
) -> Response:
    """Every component of every contract of the version, described in words."""
    chosen = _version(db, version)
    if chosen is None:
        raise HTTPException(404, "No contracts have been loaded yet.")
    view, contracts = chosen
    _export(db, user.username, "contracts.csv", {"version": view.version})
    return csv_response(
        f"finance-contracts-v{view.version}.csv",
        show.CONTRACT_CSV_COLUMNS,
        show.contract_csv_rows(view.version, contracts),
    )


# Before "/finance/contracts/{contract_row_id}", which would otherwise match it.
@router.get("/finance/contracts/versions.csv")
def contract_versions_csv(db: Db, user: Viewer) -> Response:
    """Every version of the contracts file: who loaded it, when, and its SHA-256."""
    _export(db, user.username, "contracts/versions.csv")
    return csv_response(
        "finance-contract-versions.csv",
        show.VERSION_CSV_COLUMNS,
        show.version_csv_rows(contract_set_versions(db)),
    )


def _contract_or_404(db: Session, contract_row_id: int) -> Any:
    view = contract_view(db, contract_row_id)
    if view is None:
        raise HTTPException(404, f"There is no contract {contract_row_id}.")
    return view


@router.get("/finance/contracts/{contract_row_id}", response_class=HTMLResponse)
def contract_page(request: Request, contract_row_id: int, db: Db, user: Viewer) -> Response:
    """One contract: parties, terms, and the latest settlement of each component in words."""
    view = _contract_or_404(db, contract_row_id)
    contract = view.contract
    latest = latest_settlement_of_set(db, view.version.id)
    lines = show.settlement_line_rows(latest.settlement, contract.id) if latest else []
    versions = contract_set_versions(db)
    return render(
        request,
        "finance/contract.html",
        PageMeta(
            title=f"{contract.name} ({contract.id})",
            breadcrumbs=(HOME, _FINANCE, _CONTRACTS, Crumb(contract.id, "")),
        ),
        data_as_at=latest.run_at if latest else view.version.loaded_at,
        row_id=view.id,
        contract=contract,
        version=view.version,
        current_version=versions[0].version if versions else None,
        parties=show.parties_of(contract),
        components=show.terms_rows(contract),
        latest=latest,
        lines=lines,
    )


@router.get("/finance/contracts/{contract_row_id}/terms.csv")
def contract_terms_csv(contract_row_id: int, db: Db, user: Viewer) -> Response:
    """Every term of every component of one contract."""
    view = _contract_or_404(db, contract_row_id)
    _export(db, user.username, f"contracts/{contract_row_id}/terms.csv")
    return csv_response(
        f"finance-contract-{view.contract.id}-terms.csv".replace("/", "-"),
        show.TERMS_CSV_COLUMNS,
        show.terms_csv_rows(view.version.version, view.contract),
    )


@router.get("/finance/contracts/{contract_row_id}/settlement.csv")
def contract_settlement_csv(contract_row_id: int, db: Db, user: Viewer) -> Response:
    """The latest settlement of one contract, per party per component."""
    view = _contract_or_404(db, contract_row_id)
    latest = latest_settlement_of_set(db, view.version.id)
    _export(db, user.username, f"contracts/{contract_row_id}/settlement.csv")
    return csv_response(
        f"finance-contract-{view.contract.id}-settlement.csv".replace("/", "-"),
        show.SETTLEMENT_LINE_CSV_COLUMNS,
        show.settlement_line_csv_rows(latest.id, latest.settlement, view.contract.id)
        if latest
        else [],
    )


# ------------------------------------------------------------------------------ settlements


def _year(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) != 4:
        raise HTTPException(400, f"'{value}' is not a financial year: write the year it starts.")
    return int(value)


def _settlements_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    *,
    year: str | None,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    records = settlement_records(db, _year(year))
    versions = contract_set_versions(db)
    today = current_time(request.app).date()
    default_to = today.replace(day=1)
    years = sorted({r.financial_year for r in settlement_records(db)}, reverse=True)
    latest_run: datetime | None = max((r.run_at for r in records), default=None)
    return render(
        request,
        "finance/settlements.html",
        PageMeta(title="Settlements", breadcrumbs=(HOME, _FINANCE, Crumb("Settlements", ""))),
        data_as_at=latest_run,
        status_code=status_code,
        rows=show.settlement_list_rows(records),
        current=versions[0] if versions else None,
        can_run=user.can(Permission.submit_finance),
        errors=errors or [],
        values=values
        or {
            "period_from": f"{financial_year(default_to)}-04",
            "period_to": month_label(default_to),
        },
        year=year or "",
        years=[
            {"value": "", "text": "All years"},
            *({"value": str(y), "text": fy_label(y), "selected": str(y) == year} for y in years),
        ],
        query=_query(year=year),
    )


@router.get("/finance/settlements", response_class=HTMLResponse)
def settlements_page(
    request: Request,
    db: Db,
    user: Viewer,
    year: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    """Every stored settlement, and (for finance leads) the form to run one."""
    return _settlements_page(request, db, user, year=year)


@router.get("/finance/settlements.csv")
def settlements_csv(
    db: Db, user: Viewer, year: Annotated[str | None, Query(max_length=4)] = None
) -> Response:
    """One row per stored settlement with its inputs' hashes."""
    records = settlement_records(db, _year(year))
    _export(db, user.username, "settlements.csv", {"year": year or "all"})
    return csv_response(
        "finance-settlements.csv",
        show.SETTLEMENT_LIST_CSV_COLUMNS,
        show.settlement_list_csv_rows(records),
    )


@router.post("/finance/settlements", response_class=HTMLResponse)
async def settlements_run(
    request: Request,
    db: Db,
    user: Submitter,
    file: Annotated[UploadFile | None, File()] = None,
    period_from: Annotated[str, Form(max_length=7)] = "",
    period_to: Annotated[str, Form(max_length=7)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Settle the current contracts on the uploaded measured values for a period."""
    values = {"period_from": period_from, "period_to": period_to, "note": note}
    errors: list[dict[str, str]] = []
    start, end = parse_month(period_from.strip()), parse_month(period_to.strip())
    if start is None:
        errors.append(
            {"text": f"From: '{period_from}' is not a month (YYYY-MM).", "href": "#period_from"}
        )
    if end is None:
        errors.append(
            {"text": f"To: '{period_to}' is not a month (YYYY-MM).", "href": "#period_to"}
        )
    name = ((file.filename if file else "") or "").strip()[:200]
    data = await file.read(MAX_ACTUALS_BYTES + 1) if file is not None else b""
    text = ""
    if not name or not data:
        errors.append({"text": "Choose the measured values file (ACTUALS.csv).", "href": "#file"})
    elif len(data) > MAX_ACTUALS_BYTES:
        errors.append({"text": "The file is larger than 5 MB.", "href": "#file"})
    elif not name.lower().endswith(".csv"):
        errors.append({"text": "Upload the measured values as a CSV file (.csv).", "href": "#file"})
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors.append({"text": f"{name}: the file is not UTF-8 text.", "href": "#file"})
    if not errors and start is not None and end is not None:
        try:
            result = run_settlement(
                db,
                actuals_text=text,
                actuals_name=name,
                period_from=start,
                period_to=end,
                actor=user.username,
                note=note.strip(),
            )
        except ActualsError as exc:
            errors += [{"text": f"{name}: {issue}", "href": "#file"} for issue in exc.issues]
        except SettlementError as exc:
            errors += [{"text": issue, "href": "#file"} for issue in exc.issues]
        except ContractsError as exc:  # a stored version that no longer validates
            errors.append({"text": str(exc), "href": "#file"})
        else:
            db.commit()
            return RedirectResponse(f"/finance/settlements/{result.settlement_id}", status_code=303)
    db.rollback()
    return _settlements_page(
        request, db, user, year=None, errors=errors, values=values, status_code=400
    )


def _record_or_404(db: Session, settlement_id: int) -> Any:
    record = settlement_record(db, settlement_id)
    if record is None:
        raise HTTPException(404, f"There is no settlement {settlement_id}.")
    return record


def _pool_hosts(db: Session, record: Any) -> list[str]:
    """Organisations that could hold a pool: those named in the settlement's pools."""
    contracts = settlement_contracts(db, record)
    hosts: list[str] = []
    for contract in contracts.contracts:
        for component in contract.components:
            if isinstance(component, PooledBudget):
                hosts += [c.party for c in component.contributions]
            elif isinstance(component, GainLossPool):
                hosts += [p.party for p in component.partners]
    return list(dict.fromkeys(hosts))


def _settlement_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    settlement_id: int,
    *,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    record = _record_or_404(db, settlement_id)
    has_pools = any(not c.transfer for c in record.settlement.components)
    hosts = _pool_hosts(db, record) if has_pools else []
    return render(
        request,
        "finance/settlement.html",
        PageMeta(
            title=f"Settlement {record.id}: {record.period_label}",
            breadcrumbs=(HOME, _FINANCE, _SETTLEMENTS, Crumb(f"Settlement {record.id}", "")),
        ),
        data_as_at=record.run_at,
        status_code=status_code,
        record=record,
        year=fy_label(record.financial_year),
        lines=show.settlement_line_rows(record.settlement),
        net=show.net_rows(record.settlement),
        notices=record.settlement.notices(),
        can_propose=user.can(Permission.submit_finance) and record.live_proposal is None,
        has_pools=has_pools,
        hosts=[
            {"value": "", "text": "No host: leave the pools out"},
            *({"value": h, "text": h} for h in hosts),
        ],
        errors=errors or [],
    )


@router.get("/finance/settlements/{settlement_id}", response_class=HTMLResponse)
def settlement_page(request: Request, settlement_id: int, db: Db, user: Viewer) -> Response:
    """One stored settlement: each party per component, the arithmetic, the net, proposal."""
    return _settlement_page(request, db, user, settlement_id)


@router.get("/finance/settlements/{settlement_id}/lines.csv")
def settlement_lines_csv(settlement_id: int, db: Db, user: Viewer) -> Response:
    """Each party's amount per component (the `finance settle --out` columns and the id)."""
    record = _record_or_404(db, settlement_id)
    _export(db, user.username, f"settlements/{settlement_id}/lines.csv")
    return csv_response(
        f"finance-settlement-{settlement_id}.csv",
        show.SETTLEMENT_LINE_CSV_COLUMNS,
        show.settlement_line_csv_rows(record.id, record.settlement),
    )


@router.get("/finance/settlements/{settlement_id}/net.csv")
def settlement_net_csv(settlement_id: int, db: Db, user: Viewer) -> Response:
    """Each party's net amount over every component."""
    record = _record_or_404(db, settlement_id)
    _export(db, user.username, f"settlements/{settlement_id}/net.csv")
    return csv_response(
        f"finance-settlement-{settlement_id}-net.csv",
        show.NET_CSV_COLUMNS,
        show.net_csv_rows(record.id, record.settlement),
    )


@router.get("/finance/settlements/{settlement_id}/actuals.csv")
def settlement_actuals_csv(settlement_id: int, db: Db, user: Viewer) -> Response:
    """The measured values the settlement was run on, as uploaded.

    Columns the settlement ignores travel with the file, so a cell a spreadsheet would run
    as a formula is made inert, as in every other export: one partner's upload cannot
    attack another partner's finance lead who opens it.
    """
    record = _record_or_404(db, settlement_id)
    _export(db, user.username, f"settlements/{settlement_id}/actuals.csv")
    return Response(
        defused_csv_text(record.actuals_text),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="settlement-{settlement_id}-actuals.csv"'
        },
    )


@router.post("/finance/settlements/{settlement_id}/propose", response_class=HTMLResponse)
def settlement_propose(
    request: Request,
    settlement_id: int,
    db: Db,
    user: Submitter,
    pool_host: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Propose the settlement's net amounts as a transfer set awaiting approval."""
    record = _record_or_404(db, settlement_id)
    host = pool_host.strip().upper() or None
    issues: list[str] = []
    if host is not None and host not in known_org_codes(db):
        issues.append(f"{host} is not a partner organisation")
    if not issues:
        try:
            propose_stored_settlement(db, record.id, actor=user.username, pool_host=host)
        except TransferError as exc:
            issues.extend(exc.issues)
    if issues:
        db.rollback()
        return _settlement_page(
            request,
            db,
            user,
            settlement_id,
            errors=[{"text": i, "href": "#pool_host"} for i in issues],
            status_code=400,
        )
    db.commit()
    return RedirectResponse("/finance/transfers?status=proposed", status_code=303)
