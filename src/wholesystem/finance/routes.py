"""Finance pages: the system position, partners' books, submissions, transfers, what-ifs.

Every partner's finance lead (``view_all_finance``) sees every partner's books; a finance
lead submits (``submit_finance``) for their own organisation only; board members and
governance leads (``approve_transfers``) approve transfer sets and set control totals; the
public sees the system summary at ``/public/finance``. Every submission, decision and CSV
export is audited.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, current_time, require
from wholesystem.finance import presenters as show
from wholesystem.finance.actuals import ActualsError
from wholesystem.finance.contract_routes import router as contract_router
from wholesystem.finance.contracts import ContractsError
from wholesystem.finance.ledger import (
    ACCOUNT_CODES,
    CHART_OF_ACCOUNTS,
    RETURN_COLUMNS,
    SubmissionError,
    fy_label,
    month_label,
    parse_month,
)
from wholesystem.finance.models import FinanceSubmission
from wholesystem.finance.position import SystemPosition, variance_bridge
from wholesystem.finance.services import (
    control_totals,
    current_returns,
    decide_transfer_set,
    finance_partners,
    latest_submission_at,
    load_position,
    propose_transfer_set,
    return_statuses,
    set_control_total,
    submission_history,
    submission_lines,
    submit_return_csv,
    submit_return_xlsx,
    transfer_sets,
)
from wholesystem.finance.settlement import SettlementError
from wholesystem.finance.store import (
    contract_set_versions,
    latest_settlement_of_set,
    whatif_inputs,
)
from wholesystem.finance.transfers import TransferError, TransferKind, TransferLegDraft
from wholesystem.finance.whatif import WhatIfError, run_what_if, scenario_from
from wholesystem.finance.xlsx import WorkbookError, is_xlsx_name
from wholesystem.times import uk_datetime
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["public_router", "router"]

router = APIRouter(include_in_schema=False)
# Contracts and settlements pages live in their own module, on this router.
router.include_router(contract_router)
public_router = APIRouter(include_in_schema=False)  # /public is on the sign-in allow-list

Viewer = Annotated[CurrentUser, Depends(require(Permission.view_all_finance))]
Submitter = Annotated[CurrentUser, Depends(require(Permission.submit_finance))]
Approver = Annotated[CurrentUser, Depends(require(Permission.approve_transfers))]
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_FINANCE = Crumb("Finance", "/finance")


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


def _as_at(value: str | None) -> date | None:
    if not value:
        return None
    month = parse_month(value)
    if month is None:
        raise HTTPException(400, f"'{value}' is not a month: write it as YYYY-MM.")
    return month


def _position(db: Session, as_at: str | None) -> SystemPosition | None:
    return load_position(db, as_at=_as_at(as_at))


def _names(db: Session) -> dict[str, str]:
    return {p.code: p.name for p in finance_partners(db)}


def _query(**params: str | None) -> str:
    clean = {k: v for k, v in params.items() if v}
    return f"?{urlencode(clean)}" if clean else ""


# ------------------------------------------------------------------------ the system page


@router.get("/finance", response_class=HTMLResponse)
def finance_page(
    request: Request,
    db: Db,
    user: Viewer,
    as_at: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """The system position, every partner against its control total, the bridge, returns."""
    position = _position(db, as_at)
    page = PageMeta(title="System financial position", breadcrumbs=(HOME, Crumb("Finance", "")))
    if position is None:
        return render(request, "finance/empty.html", page, data_as_at=None)
    names = _names(db)
    partners = [p.org_code for p in position.partners]
    bridge = variance_bridge(
        current_returns(db),
        position.as_at,
        partners,
        control_totals(db, position.financial_year),
    )
    today = current_time(request.app).date()
    statuses = return_statuses(db, partners, position.financial_year, today)
    months, grid = show.status_grid(statuses, names)
    counts = {k: sum(1 for s in statuses if s.status == k) for k in ("on_time", "late", "missing")}
    query = _query(as_at=as_at)
    return render(
        request,
        "finance/position.html",
        page,
        data_as_at=latest_submission_at(db),
        year=fy_label(position.financial_year),
        as_at=month_label(position.as_at),
        as_at_value=as_at or "",
        system=position,
        summary=show.system_summary(position),
        rows=show.position_rows(position, names),
        lines=show.line_rows(position.line_totals()),
        bridge=show.bridge_rows(bridge),
        bridge_change=show.money(bridge.change),
        bridge_from=month_label(bridge.previous) if bridge.previous else None,
        by_partner=[(org, show.money(v)) for org, v in bridge.by_partner()],
        months=months,
        grid=grid,
        counts=counts,
        query=query,
        can_submit=user.can(Permission.submit_finance),
    )


@router.get("/finance/position.csv")
def position_csv(
    db: Db, user: Viewer, as_at: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    """Every partner's position and the system's."""
    position = _position(db, as_at)
    if position is None:
        raise HTTPException(404, "No finance returns have been submitted yet.")
    _export(db, user.username, "position.csv", {"as_at": month_label(position.as_at)})
    return csv_response(
        "finance-position.csv", show.POSITION_CSV_COLUMNS, show.position_csv_rows(position)
    )


@router.get("/finance/lines.csv")
def lines_csv(
    db: Db, user: Viewer, as_at: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    """The system's position by account line."""
    position = _position(db, as_at)
    if position is None:
        raise HTTPException(404, "No finance returns have been submitted yet.")
    _export(db, user.username, "lines.csv", {"as_at": month_label(position.as_at)})
    return csv_response(
        "finance-lines.csv",
        show.LINE_CSV_COLUMNS,
        show.line_csv_rows("system", position.line_totals()),
    )


@router.get("/finance/bridge.csv")
def bridge_csv(
    db: Db, user: Viewer, as_at: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    """Every item of the variance bridge since the month before."""
    position = _position(db, as_at)
    if position is None:
        raise HTTPException(404, "No finance returns have been submitted yet.")
    bridge = variance_bridge(
        current_returns(db),
        position.as_at,
        [p.org_code for p in position.partners],
        control_totals(db, position.financial_year),
    )
    _export(db, user.username, "bridge.csv", {"as_at": month_label(position.as_at)})
    return csv_response("finance-bridge.csv", show.BRIDGE_CSV_COLUMNS, show.bridge_csv_rows(bridge))


@router.get("/finance/returns.csv")
def returns_csv(
    request: Request,
    db: Db,
    user: Viewer,
    as_at: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """Each partner's return for each month of the year: on time, late or missing."""
    position = _position(db, as_at)
    if position is None:
        raise HTTPException(404, "No finance returns have been submitted yet.")
    statuses = return_statuses(
        db,
        [p.org_code for p in position.partners],
        position.financial_year,
        current_time(request.app).date(),
    )
    _export(db, user.username, "returns.csv", {"year": position.financial_year})
    return csv_response(
        "finance-returns.csv", show.STATUS_CSV_COLUMNS, show.status_csv_rows(statuses)
    )


# ----------------------------------------------------------------------- a partner's books


def _partner_or_404(db: Session, org_code: str) -> str:
    names = _names(db)
    if org_code not in names:
        raise HTTPException(404, f"There is no finance partner with code '{org_code}'.")
    return names[org_code]


# CSV routes come first: "/finance/partners/RA1.csv" would match "{org_code}" too.
@router.get("/finance/partners/{org_code}.csv")
def partner_csv(
    org_code: str,
    db: Db,
    user: Viewer,
    as_at: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """One partner's position by account line."""
    _partner_or_404(db, org_code)
    position = _position(db, as_at)
    partner = position.partner(org_code) if position else None
    _export(db, user.username, f"partners/{org_code}.csv")
    return csv_response(
        f"finance-{org_code}.csv",
        show.LINE_CSV_COLUMNS,
        show.line_csv_rows(org_code, partner.lines) if partner else [],
    )


@router.get("/finance/partners/{org_code}", response_class=HTMLResponse)
def partner_page(
    request: Request,
    org_code: str,
    db: Db,
    user: Viewer,
    as_at: Annotated[str | None, Query(max_length=7)] = None,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """One partner's books: its position by line and every version of every return."""
    name = _partner_or_404(db, org_code)
    position = _position(db, as_at)
    partner = position.partner(org_code) if position else None
    versions = submission_history(db, org_code)
    chosen = _as_at(month)
    if chosen is not None:
        versions = [v for v in versions if v.period == chosen]
    return render(
        request,
        "finance/partner.html",
        PageMeta(title=f"{name}: books", breadcrumbs=(HOME, _FINANCE, Crumb(name, ""))),
        data_as_at=latest_submission_at(db),
        org_code=org_code,
        name=name,
        year=fy_label(position.financial_year) if position else None,
        as_at=month_label(partner.as_at) if partner and partner.as_at else None,
        summary=show.org_summary(partner) if partner else None,
        lines=show.line_rows(partner.lines) if partner else [],
        versions=show.version_rows(versions),
        query=_query(as_at=as_at),
        month=month or "",
        version_query=_query(month=month),
        can_set_control=user.can(Permission.approve_transfers),
        financial_year=position.financial_year if position else None,
    )


@router.get("/finance/partners/{org_code}/versions.csv")
def versions_csv(
    org_code: str,
    db: Db,
    user: Viewer,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    """Every version of the partner's returns."""
    _partner_or_404(db, org_code)
    versions = submission_history(db, org_code)
    chosen = _as_at(month)
    if chosen is not None:
        versions = [v for v in versions if v.period == chosen]
    _export(db, user.username, f"partners/{org_code}/versions.csv")
    return csv_response(
        f"finance-{org_code}-versions.csv",
        show.VERSION_CSV_COLUMNS,
        show.version_csv_rows(versions),
    )


@router.get("/finance/submissions/{submission_id}.csv")
def submission_csv(submission_id: int, db: Db, user: Viewer) -> Response:
    """One version of one return, in the upload format."""
    record = db.get(FinanceSubmission, submission_id)
    if record is None:
        raise HTTPException(404, f"There is no submission {submission_id}.")
    lines = submission_lines(db, submission_id)
    _export(db, user.username, f"submissions/{submission_id}.csv")
    return csv_response(
        f"finance-{record.org_code}-{month_label(record.period)}-v{record.version}.csv",
        RETURN_COLUMNS,
        [
            [
                record.org_code,
                month_label(record.period),
                code,
                f"{lines[code].plan:.2f}",
                f"{lines[code].actual:.2f}",
                f"{lines[code].forecast:.2f}",
            ]
            for code in ACCOUNT_CODES
            if code in lines
        ],
    )


@router.get("/finance/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(request: Request, submission_id: int, db: Db, user: Viewer) -> Response:
    """One version of one return, line by line."""
    record = db.get(FinanceSubmission, submission_id)
    if record is None:
        raise HTTPException(404, f"There is no submission {submission_id}.")
    name = _names(db).get(record.org_code, record.org_code)
    title = f"{name}: {month_label(record.period)} version {record.version}"
    return render(
        request,
        "finance/submission.html",
        PageMeta(
            title=title,
            breadcrumbs=(
                HOME,
                _FINANCE,
                Crumb(name, f"/finance/partners/{record.org_code}"),
                Crumb(f"{month_label(record.period)} v{record.version}", ""),
            ),
        ),
        data_as_at=record.submitted_at,
        record=record,
        month=month_label(record.period),
        lines=show.submission_line_rows(submission_lines(db, submission_id)),
    )


@router.post("/finance/partners/{org_code}/control-total")
def control_total_submit(
    org_code: str,
    db: Db,
    user: Approver,
    financial_year: Annotated[int, Form()],
    amount: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Hold a control total for the partner and year (a new row; the latest applies)."""
    _partner_or_404(db, org_code)
    try:
        value = Decimal(amount.replace(",", "").replace("£", "").strip())
    except InvalidOperation:
        raise HTTPException(400, f"'{amount}' is not an amount in pounds.") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise HTTPException(400, f"'{amount}' is not an amount in pounds and pence.")
    set_control_total(db, org_code, financial_year, value, actor=user.username, note=note)
    db.commit()
    return RedirectResponse(f"/finance/partners/{org_code}", status_code=303)


# ------------------------------------------------------------------------------ submitting


def _submit_page(
    request: Request,
    user: CurrentUser,
    *,
    errors: list[dict[str, Any]] | None = None,
    stored: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    data_as_at: Any = None,
) -> Response:
    today = current_time(request.app).date()
    return render(
        request,
        "finance/submit.html",
        PageMeta(title="Submit a return", breadcrumbs=(HOME, _FINANCE, Crumb("Submit", ""))),
        data_as_at=data_as_at,
        status_code=status_code,
        org_code=user.organisation_code,
        accounts=[{"code": a.code, "name": a.name} for a in CHART_OF_ACCOUNTS],
        errors=errors or [],
        stored=stored,
        values=values or {},
        default_month=month_label(date(today.year, today.month, 1)),
        columns=",".join(RETURN_COLUMNS),
    )


@router.get("/finance/submit", response_class=HTMLResponse)
def submit_page(request: Request, db: Db, user: Submitter) -> Response:
    """The return form and the upload, for the user's own organisation."""
    return _submit_page(request, user, data_as_at=latest_submission_at(db))


def _error_items(exc: SubmissionError) -> list[dict[str, Any]]:
    return [
        {"text": str(e), "line": e.line, "column": e.column, "reason": e.reason} for e in exc.errors
    ]


@router.post("/finance/submit", response_class=HTMLResponse)
async def submit_form(request: Request, db: Db, user: Submitter) -> Response:
    """A return typed into the form: validated exactly like an upload, stored as a version."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    month = values.get("month", "").strip()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RETURN_COLUMNS)
    for code in ACCOUNT_CODES:  # line k + 2 of the text is the k-th account
        writer.writerow(
            [user.organisation_code, month, code]
            + [values.get(f"{code}_{col}", "").strip() for col in ("plan", "actual", "forecast")]
        )
    try:
        result = submit_return_csv(
            db,
            buffer.getvalue(),
            actor=user.username,
            organisation=user.organisation_code,
            source="form",
            today=current_time(request.app).date(),
        )
    except SubmissionError as exc:
        errors = []
        for item in _error_items(exc):
            code = (
                ACCOUNT_CODES[item["line"] - 2]
                if 2 <= item["line"] < 2 + len(ACCOUNT_CODES)
                else ""
            )
            field = (
                f"{code}_{item['column']}"
                if item["column"] in ("plan", "actual", "forecast")
                else item["column"]
            )
            item["text"] = f"{show.account_name(code) if code else 'Return'}: {item['reason']}"
            item["href"] = f"#{field}"
            errors.append(item)
        return _submit_page(request, user, errors=errors, values=values, status_code=400)
    db.commit()
    stored = ", ".join(f"{month_label(c.period)} version {c.version}" for c in result.created)
    return _submit_page(request, user, stored=stored, data_as_at=latest_submission_at(db))


@router.post("/finance/submit/upload", response_class=HTMLResponse)
async def submit_upload(
    request: Request,
    db: Db,
    user: Submitter,
    file: Annotated[UploadFile, File()],
) -> Response:
    """An uploaded CSV or Excel return: every bad row reported by line (or sheet row); nothing
    stored if any is bad."""
    name = (file.filename or "upload.csv")[:200]
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    errors: list[dict[str, Any]] = []
    if len(data) > MAX_UPLOAD_BYTES:
        errors.append({"text": "The file is larger than 5 MB.", "href": "#file"})
    elif not (name.lower().endswith(".csv") or is_xlsx_name(name)):
        errors.append(
            {
                "text": "Upload the return as a CSV file (.csv) or an Excel workbook (.xlsx).",
                "href": "#file",
            }
        )
    if errors:
        return _submit_page(request, user, errors=errors, status_code=400)
    if is_xlsx_name(name):
        return _submit_xlsx(request, db, user, name, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _submit_page(
            request,
            user,
            errors=[{"text": "The file is not UTF-8 text.", "href": "#file"}],
            status_code=400,
        )
    try:
        result = submit_return_csv(
            db,
            text,
            actor=user.username,
            organisation=user.organisation_code,
            source="upload",
            file_name=name,
            today=current_time(request.app).date(),
        )
    except SubmissionError as exc:
        items = _error_items(exc)
        for item in items:
            item["text"] = f"{name}: {item['text']}"
            item["href"] = "#file"
        return _submit_page(request, user, errors=items, status_code=400)
    db.commit()
    stored = ", ".join(f"{month_label(c.period)} version {c.version}" for c in result.created)
    return _submit_page(request, user, stored=stored, data_as_at=latest_submission_at(db))


def _submit_xlsx(
    request: Request, db: Session, user: CurrentUser, name: str, data: bytes
) -> Response:
    try:
        result = submit_return_xlsx(
            db,
            data,
            actor=user.username,
            organisation=user.organisation_code,
            file_name=name,
            today=current_time(request.app).date(),
        )
    except WorkbookError as exc:
        db.rollback()
        return _submit_page(
            request, user, errors=[{"text": f"{name}: {exc}", "href": "#file"}], status_code=400
        )
    except SubmissionError as exc:
        db.rollback()
        # A sheet's rows are "rows", as Excel numbers them.
        items = [
            {"text": f"{name}: row {e.line}, column {e.column}: {e.reason}", "href": "#file"}
            for e in exc.errors
        ]
        return _submit_page(request, user, errors=items, status_code=400)
    db.commit()
    stored = ", ".join(f"{month_label(c.period)} version {c.version}" for c in result.created)
    return _submit_page(request, user, stored=stored, data_as_at=latest_submission_at(db))


# ------------------------------------------------------------------------------ transfers


def _transfers_context(db: Session, status: str | None) -> dict[str, Any]:
    sets = transfer_sets(db, status or None)
    return {
        "sets": [
            {
                "id": s.id,
                "kind": s.kind.label,
                "title": s.title,
                "year": fy_label(s.financial_year),
                "status": s.status,
                "proposed_by": s.proposed_by,
                "source": s.source,
                "note": s.note,
                "legs": [
                    {"org_code": leg.org_code, "amount": show.money(leg.amount), "memo": leg.memo}
                    for leg in s.legs
                ],
                "events": [
                    {"action": a, "actor": who, "at": uk_datetime(at, "%d %b %Y %H:%M"), "note": n}
                    for a, who, at, n in s.events
                ],
            }
            for s in sets
        ],
        "kinds": [{"value": k.value, "text": k.label} for k in TransferKind],
        "status": status or "",
        "statuses": [
            {"value": "", "text": "All"},
            *(
                {"value": v, "text": v.title(), "selected": v == status}
                for v in ("proposed", "approved", "rejected")
            ),
        ],
    }


def _parse_legs(text: str) -> list[TransferLegDraft]:
    legs: list[TransferLegDraft] = []
    for k, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split(",", 2)]
        if len(parts) < 2:
            raise TransferError([f"leg line {k}: write ORG,amount[,memo]"])
        try:
            amount = Decimal(parts[1])
        except InvalidOperation:
            raise TransferError([f"leg line {k}: {parts[1]!r} is not an amount"]) from None
        legs.append(TransferLegDraft(parts[0].upper(), amount, parts[2] if len(parts) > 2 else ""))
    return legs


@router.get("/finance/transfers", response_class=HTMLResponse)
def transfers_page(
    request: Request,
    db: Db,
    user: Viewer,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Every transfer set with its legs and history; propose and decide."""
    return render(
        request,
        "finance/transfers.html",
        PageMeta(title="Transfers", breadcrumbs=(HOME, _FINANCE, Crumb("Transfers", ""))),
        data_as_at=latest_submission_at(db),
        errors=[],
        form={},
        can_propose=user.can(Permission.submit_finance),
        can_approve=user.can(Permission.approve_transfers),
        username=user.username,
        csv_query=_query(status=status),
        **_transfers_context(db, status),
    )


@router.get("/finance/transfers.csv")
def transfers_csv(
    db: Db, user: Viewer, status: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    """Every leg of every transfer set."""
    _export(db, user.username, "transfers.csv", {"status": status or "all"})
    return csv_response(
        "finance-transfers.csv",
        show.TRANSFER_CSV_COLUMNS,
        show.transfer_csv_rows(transfer_sets(db, status or None)),
    )


@router.post("/finance/transfers", response_class=HTMLResponse)
def transfers_propose(
    request: Request,
    db: Db,
    user: Submitter,
    kind: Annotated[str, Form(max_length=32)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    financial_year: Annotated[str, Form(max_length=8)] = "",
    legs: Annotated[str, Form(max_length=20000)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Propose a transfer set; refused unless net-neutral for the system."""
    issues: list[str] = []
    try:
        chosen = TransferKind(kind)
    except ValueError:
        issues.append("Choose what kind of transfer this is.")
        chosen = TransferKind.system_reserve
    if not financial_year.isdigit():
        issues.append("Give the financial year as the year it starts (2024 for 2024/25).")
    parsed: list[TransferLegDraft] = []
    if not issues:
        try:
            parsed = _parse_legs(legs)
            propose_transfer_set(
                db,
                kind=chosen,
                title=title,
                year=int(financial_year),
                legs=parsed,
                actor=user.username,
                note=note,
            )
        except TransferError as exc:
            issues.extend(exc.issues)
    if issues:
        db.rollback()
        return render(
            request,
            "finance/transfers.html",
            PageMeta(title="Transfers", breadcrumbs=(HOME, _FINANCE, Crumb("Transfers", ""))),
            data_as_at=latest_submission_at(db),
            status_code=400,
            errors=[{"text": i, "href": "#legs"} for i in issues],
            form={
                "kind": kind,
                "title": title,
                "financial_year": financial_year,
                "legs": legs,
                "note": note,
            },
            can_propose=True,
            can_approve=user.can(Permission.approve_transfers),
            username=user.username,
            csv_query="",
            **_transfers_context(db, None),
        )
    db.commit()
    return RedirectResponse("/finance/transfers?status=proposed", status_code=303)


@router.post("/finance/transfers/{set_id}/decision")
def transfers_decide(
    set_id: int,
    db: Db,
    user: Approver,
    decision: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Approve or reject a proposed set (never your own)."""
    if decision not in ("approve", "reject"):
        raise HTTPException(400, "Choose approve or reject.")
    try:
        decide_transfer_set(
            db, set_id, approve=decision == "approve", actor=user.username, note=note
        )
    except TransferError as exc:
        db.rollback()
        raise HTTPException(409, "; ".join(exc.issues)) from None
    db.commit()
    return RedirectResponse("/finance/transfers", status_code=303)


# ------------------------------------------------------------------------------ what-if


def _whatif(
    db: Session,
    activity: str,
    price: str,
    savings: str,
    terms: list[str],
) -> tuple[Any, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []

    def number(name: str, text: str) -> Decimal | None:
        if not text.strip():
            return None
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            errors.append({"text": f"{name}: '{text}' is not a number", "href": f"#{name}"})
            return None
        if not value.is_finite():
            errors.append({"text": f"{name}: '{text}' is not a number", "href": f"#{name}"})
            return None
        return value

    a = number("activity", activity)
    p = number("price", price)
    s = number("savings", savings)
    position = load_position(db)
    if errors or position is None:
        return None, errors
    try:
        inputs = whatif_inputs(db)
        if inputs is None:  # the page says what is missing
            return None, errors
        _, contracts, actuals = inputs
        scenario = scenario_from(
            a or Decimal(0), p or Decimal(0), s, [t for t in terms if t.strip()]
        )
        return run_what_if(position, contracts, actuals, scenario), errors
    except (WhatIfError, SettlementError, ContractsError, ActualsError) as exc:
        errors.append({"text": str(exc), "href": "#term"})
        return None, errors


def _whatif_basis(db: Session) -> dict[str, Any]:
    """Which contracts version and which settlement's measured values the what-if runs on."""
    versions = contract_set_versions(db)
    if not versions:
        return {"version": None, "settlement": None}
    latest = latest_settlement_of_set(db, versions[0].id)
    return {
        "version": versions[0].version,
        "settlement": latest.id if latest else None,
        "period": latest.period_label if latest else "",
    }


@router.get("/finance/what-if", response_class=HTMLResponse)
def whatif_page(
    request: Request,
    db: Db,
    user: Viewer,
    activity: Annotated[str, Query(max_length=16)] = "",
    price: Annotated[str, Query(max_length=16)] = "",
    savings: Annotated[str, Query(max_length=16)] = "",
    term: Annotated[list[str] | None, Query(max_length=200)] = None,
) -> Response:
    """Change activity, prices, savings delivery or a contract term: before and after."""
    terms = term or []
    result, errors = _whatif(db, activity, price, savings, terms)
    return render(
        request,
        "finance/whatif.html",
        PageMeta(title="What-if", breadcrumbs=(HOME, _FINANCE, Crumb("What-if", ""))),
        data_as_at=latest_submission_at(db),
        status_code=400 if errors else 200,
        errors=errors,
        values={
            "activity": activity,
            "price": price,
            "savings": savings,
            "term": terms[0] if terms else "",
        },
        rows=show.whatif_rows(result) if result else [],
        notices=result.after.notices() if result else (),
        basis=_whatif_basis(db),
        csv_query=_query(
            activity=activity, price=price, savings=savings, term=terms[0] if terms else None
        ),
    )


@router.get("/finance/what-if.csv")
def whatif_csv(
    db: Db,
    user: Viewer,
    activity: Annotated[str, Query(max_length=16)] = "",
    price: Annotated[str, Query(max_length=16)] = "",
    savings: Annotated[str, Query(max_length=16)] = "",
    term: Annotated[list[str] | None, Query(max_length=200)] = None,
) -> Response:
    """The what-if table."""
    result, errors = _whatif(db, activity, price, savings, term or [])
    if result is None and errors:
        raise HTTPException(400, "; ".join(e["text"] for e in errors))
    if result is None:
        raise HTTPException(
            404,
            "Nothing to show yet: the what-if needs finance returns, loaded contracts and a "
            "settlement run on them.",
        )
    _export(
        db,
        user.username,
        "what-if.csv",
        {"activity": activity, "price": price, "savings": savings, "terms": term or []},
    )
    return csv_response(
        "finance-what-if.csv", show.WHATIF_CSV_COLUMNS, show.whatif_csv_rows(result)
    )


# ------------------------------------------------------------------------------ public


@public_router.get("/public/finance", response_class=HTMLResponse)
def public_finance(request: Request, db: Db) -> Response:
    """The system's financial position: totals only, no partner's books."""
    position = load_position(db)
    page = PageMeta(title="System financial position", breadcrumbs=(HOME, Crumb("Finance", "")))
    if position is None:
        return render(request, "finance/empty.html", page, data_as_at=None, public=True)
    return render(
        request,
        "finance/public.html",
        page,
        data_as_at=latest_submission_at(db),
        year=fy_label(position.financial_year),
        as_at=month_label(position.as_at),
        summary=show.system_summary(position),
        partners=len(position.partners),
    )


@public_router.get("/public/finance.csv")
def public_finance_csv(db: Db) -> Response:
    """The system summary as CSV."""
    position = load_position(db)
    if position is None:
        raise HTTPException(404, "No finance returns have been submitted yet.")
    _export(db, "public", "public/finance.csv", {"as_at": month_label(position.as_at)})
    return csv_response(
        "system-finance.csv", show.PUBLIC_CSV_COLUMNS, show.public_csv_rows(position)
    )
