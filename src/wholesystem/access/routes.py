"""Access pages: sign in, users, the audit log, break-glass review and opt-outs (with CSVs)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.break_glass import (
    BreakGlassError,
    GrantNotFound,
    ReviewNoteTooLong,
    ReviewOutcome,
    grant_with_users,
    list_grants,
    pending_reviews,
    review_grant,
)
from wholesystem.access.errors import InvalidCredentials, TooManyAttempts
from wholesystem.access.models import AuditEvent, AuthSession, OptOut, User
from wholesystem.access.opt_outs import (
    AlreadyOptedOut,
    InvalidNhsNumber,
    OptOutError,
    normalise_nhs_number,
    opted_out_nhs_numbers,
    record_opt_out,
    withdraw_opt_out,
)
from wholesystem.access.permissions import Permission
from wholesystem.access.presenters import (
    AUDIT_CSV_HEADER,
    BREAK_GLASS_CSV_HEADER,
    OPT_OUT_CSV_HEADER,
    USER_CSV_HEADER,
    audit_csv_row,
    audit_table_rows,
    break_glass_csv_row,
    break_glass_summary,
    break_glass_table_rows,
    opt_out_csv_row,
    opt_out_table_rows,
    page_window,
    user_csv_row,
    user_table_rows,
    verification_view,
)
from wholesystem.access.sessions import revoke_session, start_session, token_id
from wholesystem.access.users import Throttle, authenticate, list_users, purge_old_records
from wholesystem.access.web import (
    SESSION_COOKIE,
    CurrentUser,
    clear_session_cookie,
    client_ip,
    current_time,
    require,
    safe_next,
    session_policy,
    set_session_cookie,
)
from wholesystem.config import Settings
from wholesystem.footprint.queries import organisation_names
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, PageMeta, get_db, render

__all__ = ["AUDIT_PAGE_SIZE", "router"]

router = APIRouter(include_in_schema=False)

AUDIT_PAGE_SIZE = 50
_ADMIN_CRUMB = HOME

MSG_ENTER_USERNAME = "Enter your username"
MSG_ENTER_PASSWORD = "Enter your password"  # noqa: S105 - a message, not a password
MSG_SESSION_EXPIRED = "Your session has expired. Sign in again."
MSG_SIGNED_OUT = "You have signed out."


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ----------------------------------------------------------------------------- sign in


def _login_page(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    errors = errors or []
    field_errors = {e["field"]: e["text"] for e in errors if e.get("field")}
    return render(
        request,
        "access/login.html",
        PageMeta(title="Sign in"),
        status_code=status_code,
        errors=[{"text": e["text"], "href": e["href"]} for e in errors],
        field_errors=field_errors,
        username=username,
        next_path=next_path,
        notice=notice,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    signed_out: bool = False,
) -> Response:
    """The sign-in form. Someone already signed in goes straight on to ``next``."""
    target = safe_next(next)
    if getattr(request.state, "user", None) is not None:
        return RedirectResponse(target, status_code=303)
    notice = None
    if getattr(request.state, "session_expired", False):
        notice = MSG_SESSION_EXPIRED
    elif signed_out:
        notice = MSG_SIGNED_OUT
    return _login_page(request, next_path=target, notice=notice)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    db: Session = Depends(get_db),
) -> Response:
    """Check the form, throttle, authenticate, then start a fresh session."""
    settings = _settings(request)
    target = safe_next(next)
    shown_username = username.strip()[:200]
    errors: list[dict[str, str]] = []
    if not username.strip():
        errors.append({"text": MSG_ENTER_USERNAME, "href": "#username", "field": "username"})
    if not password:
        errors.append({"text": MSG_ENTER_PASSWORD, "href": "#password", "field": "password"})
    if errors:
        return _login_page(
            request, next_path=target, username=shown_username, errors=errors, status_code=400
        )

    now = current_time(request.app)
    ip = client_ip(request)
    throttle = Throttle(settings.login_max_failures, settings.login_window_minutes)
    try:
        user = authenticate(db, username, password, ip, throttle=throttle, now=now)
    except TooManyAttempts as locked:
        db.commit()
        response = _login_page(
            request,
            next_path=target,
            username=shown_username,
            errors=[{"text": locked.message, "href": "#username"}],
            status_code=429,
        )
        response.headers["Retry-After"] = str(locked.retry_after_minutes * 60)
        return response
    except InvalidCredentials as failed:
        db.commit()
        return _login_page(
            request,
            next_path=target,
            username=shown_username,
            errors=[{"text": failed.message, "href": "#username"}],
            status_code=400,
        )

    # A fresh session id at every sign-in: whatever token the browser had is revoked.
    token, _row = start_session(
        db,
        user,
        policy=session_policy(settings),
        now=now,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    purge_old_records(db, now=now)
    db.commit()
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(redirect, token, settings)
    return redirect


@router.post("/logout")
def logout(request: Request, db: Session = Depends(get_db)) -> Response:
    """End the session in the cookie (if any) and forget the cookie."""
    settings = _settings(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        now = current_time(request.app)
        existing = db.get(AuthSession, token_id(token))
        was_live = existing is not None and existing.revoked_at is None
        row = revoke_session(db, token, now=now)
        if row is not None and was_live:
            user = db.get(User, row.user_id)
            if user is not None:
                audit.append(
                    db,
                    actor=user.username,
                    action="logout",
                    object_type="user",
                    object_id=user.username,
                    detail={"ip": client_ip(request)},
                    at=now,
                )
        db.commit()
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    clear_session_cookie(response, settings)
    return response


# ------------------------------------------------------------------------------- users


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    user: CurrentUser = Depends(require(Permission.manage_users)),
    db: Session = Depends(get_db),
) -> Response:
    """Every account with its role, organisation, status and last sign-in."""
    users = list_users(db)
    names = organisation_names(db)
    return render(
        request,
        "access/users.html",
        PageMeta(title="Users", breadcrumbs=(_ADMIN_CRUMB, Crumb("Users", "/admin/users"))),
        data_as_at=current_time(request.app),
        rows=user_table_rows(users, names),
        count=len(users),
        active=sum(1 for u in users if u.active),
    )


@router.get("/admin/users.csv")
def users_csv(
    request: Request,
    user: CurrentUser = Depends(require(Permission.manage_users)),
    db: Session = Depends(get_db),
) -> Response:
    """The users table as CSV (an export, so it is audited)."""
    users = list_users(db)
    names = organisation_names(db)
    audit.append(
        db,
        actor=user.username,
        action="export",
        object_type="user_list",
        object_id="users.csv",
        detail={"rows": len(users)},
    )
    db.commit()
    return csv_response("users.csv", USER_CSV_HEADER, [user_csv_row(u, names) for u in users])


# ------------------------------------------------------------------------------- audit


def _audit_filters(
    actor: str | None, action: str | None, object_type: str | None, object_id: str | None
) -> tuple[dict[str, str], list[ColumnElement[bool]]]:
    chosen = {
        key: value.strip()
        for key, value in (
            ("actor", actor),
            ("action", action),
            ("object_type", object_type),
            ("object_id", object_id),
        )
        if value and value.strip()
    }
    columns = {
        "actor": AuditEvent.actor,
        "action": AuditEvent.action,
        "object_type": AuditEvent.object_type,
        "object_id": AuditEvent.object_id,
    }
    return chosen, [columns[key] == value for key, value in chosen.items()]


FilterParam = Annotated[str | None, Query(max_length=200)]


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    page: Annotated[int, Query(ge=1, le=10_000_000)] = 1,
    actor: FilterParam = None,
    action: FilterParam = None,
    object_type: FilterParam = None,
    object_id: FilterParam = None,
    user: CurrentUser = Depends(require(Permission.view_audit)),
    db: Session = Depends(get_db),
) -> Response:
    """The audit log, newest first, with the result of verifying the whole chain."""
    chosen, conditions = _audit_filters(actor, action, object_type, object_id)
    now = current_time(request.app)
    audit.append(
        db,
        actor=user.username,
        action="view",
        object_type="audit_log",
        object_id=f"page {page}",
        detail={"filters": chosen},
        at=now,
    )
    db.commit()
    total = db.execute(select(func.count()).select_from(AuditEvent).where(*conditions)).scalar_one()
    window = page_window(total, page, AUDIT_PAGE_SIZE)
    events = db.execute(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.seq.desc())
        .offset((window.page - 1) * AUDIT_PAGE_SIZE)
        .limit(AUDIT_PAGE_SIZE)
    ).scalars()
    verification = audit.verify(db)

    def link(to_page: int) -> str:
        return "/admin/audit?" + urlencode({**chosen, "page": to_page})

    pagination: dict[str, Any] = {}
    if window.page > 1:
        pagination["previous"] = {"href": link(window.page - 1), "labelText": "Newer events"}
    if window.page < window.pages:
        pagination["next"] = {"href": link(window.page + 1), "labelText": "Older events"}
    return render(
        request,
        "access/audit.html",
        PageMeta(title="Audit log", breadcrumbs=(_ADMIN_CRUMB, Crumb("Audit log", "/admin/audit"))),
        data_as_at=now,
        rows=audit_table_rows(events),
        window=window,
        pagination=pagination,
        filters=chosen,
        csv_href="/admin/audit.csv" + ("?" + urlencode(chosen) if chosen else ""),
        verification=verification_view(verification),
    )


@router.get("/admin/audit.csv")
def audit_csv(
    request: Request,
    actor: FilterParam = None,
    action: FilterParam = None,
    object_type: FilterParam = None,
    object_id: FilterParam = None,
    user: CurrentUser = Depends(require(Permission.view_audit)),
    db: Session = Depends(get_db),
) -> Response:
    """The audit log (or the filtered part of it) as CSV, oldest first, with both hashes."""
    chosen, conditions = _audit_filters(actor, action, object_type, object_id)
    audit.append(
        db,
        actor=user.username,
        action="export",
        object_type="audit_log",
        object_id="audit.csv",
        detail={"filters": chosen},
        at=current_time(request.app),
    )
    db.commit()
    events = db.execute(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    ).scalars()
    return csv_response("audit.csv", AUDIT_CSV_HEADER, (audit_csv_row(e) for e in events))


# ------------------------------------------------------------------------- break-glass

_BREAK_GLASS_CRUMB = Crumb("Break-glass review", "/admin/break-glass")
UsernameParam = Annotated[str | None, Query(max_length=64)]


def _break_glass_filters(show: str | None, username: str | None) -> dict[str, str]:
    chosen = {"show": "all" if show == "all" else "pending"}
    if username and username.strip():
        chosen["user"] = username.strip().lower()
    return chosen


@router.get("/admin/break-glass", response_class=HTMLResponse)
def break_glass_page(
    request: Request,
    show: Annotated[str | None, Query(max_length=16)] = None,
    username: Annotated[str | None, Query(alias="user", max_length=64)] = None,
    user: CurrentUser = Depends(require(Permission.review_break_glass)),
    db: Session = Depends(get_db),
) -> Response:
    """Break-glass grants (awaiting review by default), newest first, each linking to its review."""
    chosen = _break_glass_filters(show, username)
    now = current_time(request.app)
    audit.append(
        db,
        actor=user.username,
        action="view",
        object_type="break_glass_list",
        object_id="break-glass",
        detail={"filters": chosen},
        at=now,
    )
    db.commit()
    grants = list_grants(db, pending_only=chosen["show"] == "pending", username=chosen.get("user"))
    return render(
        request,
        "access/break_glass.html",
        PageMeta(title="Break-glass review", breadcrumbs=(_ADMIN_CRUMB, _BREAK_GLASS_CRUMB)),
        data_as_at=now,
        rows=break_glass_table_rows(grants, now),
        count=len(grants),
        pending=len(pending_reviews(db)),
        filters=chosen,
        csv_href="/admin/break-glass.csv?" + urlencode(chosen),
        reviewed=request.query_params.get("reviewed"),
    )


@router.get("/admin/break-glass.csv")
def break_glass_csv(
    request: Request,
    show: Annotated[str | None, Query(max_length=16)] = None,
    username: Annotated[str | None, Query(alias="user", max_length=64)] = None,
    user: CurrentUser = Depends(require(Permission.review_break_glass)),
    db: Session = Depends(get_db),
) -> Response:
    """The listed grants as CSV (an export, so it is audited)."""
    chosen = _break_glass_filters(show, username)
    now = current_time(request.app)
    grants = list_grants(db, pending_only=chosen["show"] == "pending", username=chosen.get("user"))
    audit.append(
        db,
        actor=user.username,
        action="export",
        object_type="break_glass_list",
        object_id="break-glass.csv",
        detail={"filters": chosen, "rows": len(grants)},
        at=now,
    )
    db.commit()
    return csv_response(
        "break-glass.csv",
        BREAK_GLASS_CSV_HEADER,
        [break_glass_csv_row(g, u, r, now) for g, u, r in grants],
    )


def _grant_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    grant_id: int,
    *,
    errors: list[dict[str, str]] | None = None,
    outcome: str = "",
    note: str = "",
    status_code: int = 200,
) -> Response:
    found = grant_with_users(db, grant_id)
    if found is None:
        return render(
            request,
            "access/break_glass_missing.html",
            PageMeta(title="Grant not found", breadcrumbs=(_ADMIN_CRUMB, _BREAK_GLASS_CRUMB)),
            status_code=404,
            grant_id=grant_id,
        )
    grant, grant_user, reviewer = found
    now = current_time(request.app)
    errors = errors or []
    return render(
        request,
        "access/break_glass_grant.html",
        PageMeta(
            title=f"Break-glass grant {grant.id}",
            breadcrumbs=(_ADMIN_CRUMB, _BREAK_GLASS_CRUMB),
        ),
        data_as_at=now,
        status_code=status_code,
        grant_id=grant.id,
        summary=break_glass_summary(grant, grant_user, reviewer, now),
        reviewable=grant.reviewed_at is None and grant.user_id != user.id,
        own=grant.user_id == user.id,
        errors=[{"text": e["text"], "href": e["href"]} for e in errors],
        field_errors={e["field"]: e["text"] for e in errors},
        outcome=outcome,
        note=note,
        outcomes=[
            {"value": o.value, "text": o.value.capitalize(), "checked": o.value == outcome}
            for o in ReviewOutcome
        ],
    )


@router.get("/admin/break-glass/{grant_id}", response_class=HTMLResponse)
def break_glass_grant(
    request: Request,
    grant_id: int,
    user: CurrentUser = Depends(require(Permission.review_break_glass)),
    db: Session = Depends(get_db),
) -> Response:
    """One grant, with the form to record the review when it awaits one."""
    return _grant_page(request, db, user, grant_id)


@router.post("/admin/break-glass/{grant_id}/review", response_class=HTMLResponse)
def break_glass_review(
    request: Request,
    grant_id: int,
    outcome: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    user: CurrentUser = Depends(require(Permission.review_break_glass)),
    db: Session = Depends(get_db),
) -> Response:
    """Record whether the access was appropriate; back to the list on success."""
    now = current_time(request.app)
    try:
        review_grant(db, grant_id, user, outcome, note, now=now)
    except GrantNotFound:
        db.rollback()
        return _grant_page(request, db, user, grant_id)
    except BreakGlassError as exc:
        db.rollback()
        field = "note" if isinstance(exc, ReviewNoteTooLong) else "outcome"
        return _grant_page(
            request,
            db,
            user,
            grant_id,
            errors=[{"text": str(exc), "href": f"#{field}", "field": field}],
            outcome=outcome,
            note=note,
            status_code=400,
        )
    db.commit()
    return RedirectResponse(f"/admin/break-glass?reviewed={grant_id}", status_code=303)


# ---------------------------------------------------------------------------- opt-outs

OPT_OUT_PAGE_SIZE = 100
_OPT_OUT_CRUMB = Crumb("Opt-outs", "/admin/opt-outs")


def _opt_out_query(show: str | None, number: str | None) -> tuple[dict[str, str], Any]:
    chosen = {"show": "all" if show == "all" else "current"}
    query = select(OptOut)
    if chosen["show"] == "current":
        query = query.where(OptOut.withdrawn_at.is_(None))
    digits = normalise_nhs_number(number)
    if digits:
        chosen["nhs_number"] = digits
        query = query.where(OptOut.nhs_number == digits)
    return chosen, query


def _opt_outs_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    *,
    show: str | None = None,
    number: str | None = None,
    page: int = 1,
    errors: list[dict[str, str]] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    chosen, query = _opt_out_query(show, number)
    now = current_time(request.app)
    audit.append(
        db,
        actor=user.username,
        action="view",
        object_type="opt_out_list",
        object_id=f"page {page}",
        detail={"filters": chosen},
        at=now,
    )
    db.commit()
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    window = page_window(total, page, OPT_OUT_PAGE_SIZE)
    rows = db.execute(
        query.order_by(OptOut.recorded_at.desc(), OptOut.id.desc())
        .offset((window.page - 1) * OPT_OUT_PAGE_SIZE)
        .limit(OPT_OUT_PAGE_SIZE)
    ).scalars()

    def link(to_page: int) -> str:
        return "/admin/opt-outs?" + urlencode({**chosen, "page": to_page})

    pagination: dict[str, Any] = {}
    if window.page > 1:
        pagination["previous"] = {"href": link(window.page - 1), "labelText": "Newer"}
    if window.page < window.pages:
        pagination["next"] = {"href": link(window.page + 1), "labelText": "Older"}
    errors = errors or []
    return render(
        request,
        "access/opt_outs.html",
        PageMeta(title="Opt-outs", breadcrumbs=(_ADMIN_CRUMB, _OPT_OUT_CRUMB)),
        data_as_at=now,
        status_code=status_code,
        rows=opt_out_table_rows(rows),
        window=window,
        pagination=pagination,
        current=len(opted_out_nhs_numbers(db)),
        filters=chosen,
        csv_href="/admin/opt-outs.csv?" + urlencode(chosen),
        errors=[{"text": e["text"], "href": e["href"]} for e in errors],
        field_errors={e["field"]: e["text"] for e in errors},
        form=form or {},
        notice=notice,
    )


@router.get("/admin/opt-outs", response_class=HTMLResponse)
def opt_outs_page(
    request: Request,
    show: Annotated[str | None, Query(max_length=16)] = None,
    nhs_number: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=10_000_000)] = 1,
    done: Annotated[str | None, Query(max_length=16)] = None,
    user: CurrentUser = Depends(require(Permission.manage_opt_outs)),
    db: Session = Depends(get_db),
) -> Response:
    """National data opt-outs, newest first, with forms to record and withdraw one."""
    notice = {
        "added": "The opt-out has been recorded.",
        "withdrawn": "The opt-out has been withdrawn.",
    }
    return _opt_outs_page(
        request, db, user, show=show, number=nhs_number, page=page, notice=notice.get(done or "")
    )


@router.get("/admin/opt-outs.csv")
def opt_outs_csv(
    request: Request,
    show: Annotated[str | None, Query(max_length=16)] = None,
    nhs_number: Annotated[str | None, Query(max_length=32)] = None,
    user: CurrentUser = Depends(require(Permission.manage_opt_outs)),
    db: Session = Depends(get_db),
) -> Response:
    """The listed opt-outs as CSV (NHS numbers, so the export is audited)."""
    chosen, query = _opt_out_query(show, nhs_number)
    rows = list(db.execute(query.order_by(OptOut.recorded_at.desc(), OptOut.id.desc())).scalars())
    audit.append(
        db,
        actor=user.username,
        action="export",
        object_type="opt_out_list",
        object_id="opt-outs.csv",
        detail={"filters": chosen, "rows": len(rows)},
        at=current_time(request.app),
    )
    db.commit()
    return csv_response("opt-outs.csv", OPT_OUT_CSV_HEADER, [opt_out_csv_row(r) for r in rows])


@router.post("/admin/opt-outs", response_class=HTMLResponse)
def opt_outs_add(
    request: Request,
    nhs_number: Annotated[str, Form(max_length=32)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
    user: CurrentUser = Depends(require(Permission.manage_opt_outs)),
    db: Session = Depends(get_db),
) -> Response:
    """Record an opt-out from the form."""
    try:
        record_opt_out(
            db, nhs_number, actor=user.username, source=source, now=current_time(request.app)
        )
    except OptOutError as exc:
        db.rollback()
        field = "nhs_number" if isinstance(exc, InvalidNhsNumber | AlreadyOptedOut) else "source"
        return _opt_outs_page(
            request,
            db,
            user,
            errors=[{"text": str(exc), "href": f"#{field}", "field": field}],
            form={"nhs_number": nhs_number, "source": source},
            status_code=400,
        )
    db.commit()
    return RedirectResponse("/admin/opt-outs?done=added", status_code=303)


@router.post("/admin/opt-outs/withdraw", response_class=HTMLResponse)
def opt_outs_withdraw(
    request: Request,
    nhs_number: Annotated[str, Form(max_length=32)] = "",
    user: CurrentUser = Depends(require(Permission.manage_opt_outs)),
    db: Session = Depends(get_db),
) -> Response:
    """Withdraw the current opt-out of one NHS number."""
    try:
        withdraw_opt_out(db, nhs_number, actor=user.username, now=current_time(request.app))
    except OptOutError as exc:
        db.rollback()
        return _opt_outs_page(
            request,
            db,
            user,
            errors=[{"text": str(exc), "href": "#withdraw_nhs_number", "field": "withdraw"}],
            form={"withdraw": nhs_number},
            status_code=400,
        )
    db.commit()
    return RedirectResponse("/admin/opt-outs?done=withdrawn", status_code=303)
