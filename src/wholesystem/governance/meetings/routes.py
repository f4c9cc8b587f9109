"""Meeting pages: meetings and their agendas, attendance with live quorum, conflicts per item,
minutes, actions; the public meetings pages (public part only)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, current_time, require
from wholesystem.governance import services as gov
from wholesystem.governance.conflicts import Management
from wholesystem.governance.deps import GOVERNANCE, Q32, Lead, Viewer
from wholesystem.governance.meetings import services as mtg
from wholesystem.governance.meetings.attendance import AttendanceStatus
from wholesystem.governance.meetings.forward_plan import NOTICE_DAYS
from wholesystem.governance.meetings.minutes import ApprovalBy, MinutesStatus
from wholesystem.governance.meetings.models import Action, AgendaItem, MeetingStatus, Part
from wholesystem.governance.meetings.presenters import (
    ACTION_CSV_COLUMNS,
    AGENDA_CSV_COLUMNS,
    ATTENDANCE_CSV_COLUMNS,
    CONFLICT_CSV_COLUMNS,
    KEY_DECISION_CSV_COLUMNS,
    MEETING_CSV_COLUMNS,
    UK_TIME,
    action_csv_rows,
    action_table_rows,
    agenda_csv_rows,
    attendance_csv_rows,
    attendance_table_rows,
    conflict_csv_rows,
    conflict_table_rows,
    key_decision_csv_rows,
    key_decision_table_rows,
    meeting_csv_rows,
    meeting_table_rows,
    quorum_tag,
    when,
)
from wholesystem.governance.meetings.queries import (
    ACTION_VIEWS,
    WHEN,
    ActionFilters,
    MeetingDetail,
    MeetingFilters,
    key_decisions_ahead,
    list_actions,
    list_meetings,
    meeting_detail,
)
from wholesystem.governance.models import Body, Person
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["api_router", "public_router", "router"]

router = APIRouter(include_in_schema=False)
public_router = APIRouter(include_in_schema=False)
# JSON beside the CSVs: the same rows, keyed by the CSV's column names.
api_router = APIRouter(
    dependencies=[Depends(require(Permission.view_dashboard))], tags=["governance"]
)
Text = Annotated[str, Form(max_length=20000)]
Short = Annotated[str, Form(max_length=300)]
_MEETINGS = Crumb("Meetings", "/governance/meetings")
_PUBLIC = Crumb("Published governance", "/public/governance/decisions")
_PUBLIC_MEETINGS = Crumb("Meetings", "/public/governance/meetings")
CSV_TABLES = ("agenda", "attendance", "conflicts", "actions")


# ------------------------------------------------------------------------ meeting list


def _meeting_filters(
    body: Q32 = None,
    status: Q32 = None,
    when: Annotated[str | None, Query(max_length=16)] = None,
) -> MeetingFilters:
    """The meetings list's filters from the query string (page, CSV and JSON alike)."""
    if status and status not in {s.value for s in MeetingStatus}:
        raise HTTPException(400, f"'{status}' is not a meeting status.")
    if when and when not in WHEN:
        raise HTTPException(400, "Show 'upcoming' or 'past' meetings.")
    return MeetingFilters(body or None, status or None, when or None)


MeetingQuery = Annotated[MeetingFilters, Depends(_meeting_filters)]


def _options(pairs: list[tuple[str, str]], chosen: str | None, empty: str) -> list[dict[str, Any]]:
    return [{"value": "", "text": empty}] + [
        {"value": v, "text": t, "selected": v == chosen} for v, t in pairs
    ]


def _bodies(db: Session) -> list[Body]:
    return list(db.scalars(select(Body).where(Body.active.is_(True)).order_by(Body.id)))


def _list_page(
    request: Request,
    db: Session,
    f: MeetingFilters,
    *,
    public: bool,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = current_time(request.app)
    rows = list_meetings(db, f, now=now, public=public)
    base = "/public/governance/meetings" if public else "/governance/meetings"
    query = urlencode(f.as_query())
    bodies = _bodies(db)
    ahead = key_decisions_ahead(db, now=now)
    return render(
        request,
        "govmeetings/meetings.html",
        PageMeta("Meetings", breadcrumbs=(HOME, _PUBLIC if public else GOVERNANCE)),
        data_as_at=now,
        status_code=status_code,
        rows=meeting_table_rows(rows, base),
        count=len(rows),
        base=base,
        csv_href=f"{base}.csv" + (f"?{query}" if query else ""),
        public=public,
        body_options=_options([(b.code, b.name) for b in bodies], f.body, "All bodies"),
        status_options=_options(
            [(s.value, s.label) for s in MeetingStatus], f.status, "Any status"
        ),
        when_options=_options(
            [("upcoming", "Upcoming"), ("past", "Past")], f.when, "Upcoming and past"
        ),
        key_rows=key_decision_table_rows(ahead),
        late_count=sum(1 for r in ahead if r.notice_days < NOTICE_DAYS),
        notice_days=NOTICE_DAYS,
        can_manage=not public and _can(request, Permission.manage_governance),
        new_body_options=[{"value": str(b.id), "text": b.name} for b in bodies],
        error=error,
        form=form or {},
    )


def _can(request: Request, permission: Permission) -> bool:
    user = getattr(request.state, "user", None)
    return bool(user and user.can(permission))


@router.get("/governance/meetings", response_class=HTMLResponse)
def meetings_page(
    request: Request,
    db: Db,
    user: Viewer,
    f: MeetingQuery,
) -> Response:
    """Meetings of every body, upcoming first, filterable by body, status and period."""
    return _list_page(request, db, f, public=False)


@router.get("/governance/meetings.csv")
def meetings_csv(
    request: Request,
    db: Db,
    user: Viewer,
    f: MeetingQuery,
) -> Response:
    """The meetings list as CSV, with the same filters."""
    rows = list_meetings(db, f, now=current_time(request.app))
    return csv_response("meetings.csv", MEETING_CSV_COLUMNS, meeting_csv_rows(rows))


def _parse_start(day: str, clock: str) -> datetime:
    try:
        return datetime.combine(
            date.fromisoformat(day.strip()), time.fromisoformat(clock.strip()), UK_TIME
        )
    except ValueError:
        raise gov.GovernanceError(
            "give the date as YYYY-MM-DD and the time as HH:MM (UK time)"
        ) from None


@router.post("/governance/meetings", response_class=HTMLResponse)
def create_meeting(
    request: Request,
    db: Db,
    user: Lead,
    body_id: Annotated[str, Form(max_length=12)] = "",
    title: Short = "",
    day: Annotated[str, Form(max_length=10)] = "",
    clock: Annotated[str, Form(max_length=5)] = "",
    location: Short = "",
) -> Response:
    """Schedule a meeting; refused with the reason, nothing saved."""
    form = {"body_id": body_id, "title": title, "day": day, "clock": clock, "location": location}
    try:
        meeting = mtg.create_meeting(
            db,
            body_id=int(body_id) if body_id.isdigit() else 0,
            title=title,
            starts_at=_parse_start(day, clock),
            location=location,
            actor=user.username,
            now=current_time(request.app),
        )
    except gov.GovernanceError as exc:
        db.rollback()
        return _list_page(
            request,
            db,
            MeetingFilters(),
            public=False,
            error=str(exc),
            form=form,
            status_code=400,
        )
    db.commit()
    return RedirectResponse(f"/governance/meetings/{meeting.id}", status_code=303)


# ------------------------------------------------------------------------ meeting page


def _viewer_person(db: Session, user: CurrentUser | None) -> int | None:
    if user is None:
        return None
    return db.scalar(select(Person.id).where(Person.user_id == user.id))


def _items(
    detail: MeetingDetail, *, public: bool, can_papers: bool, person_id: int | None
) -> list[dict[str, Any]]:
    out = []
    for v in detail.items:
        private = v.item.part == Part.private.value
        withheld = person_id is not None and any(
            c.person_id == person_id and Management.papers_withheld.value in c.management
            for c, _ in v.recorded
        )
        if withheld:
            papers, note = [], "Papers are withheld from you: you have a conflict on this item."
        elif not public and not can_papers:
            papers = [p for p in v.papers if p.public]
            note = (
                "Private papers are for board members only." if len(papers) < len(v.papers) else ""
            )
        else:
            papers, note = v.papers, ""
        out.append(
            {
                "id": v.item.id,
                "position": v.item.position,
                "title": v.item.title,
                "part": Part(v.item.part).label,
                "private": private,
                "presenter": v.item.presenter,
                "standing": v.item.standing,
                "key": v.item.key_decision,
                "late": v.item.key_decision and v.notice_days < NOTICE_DAYS,
                "notice_days": v.notice_days,
                "reference": v.decision_reference,
                "concerns": ", ".join(v.item.parties + v.item.matters),
                "papers": papers,
                "papers_note": note,
                "conflicts": [] if public else conflict_table_rows(v),
                "unrecorded": v.unrecorded > 0,
                "quorum": v.quorum,
                "quorum_tag": quorum_tag(v.quorum),
                "outcome": v.item.outcome,
            }
        )
    return out


def _meeting_page(
    request: Request,
    db: Session,
    meeting_id: int,
    *,
    public: bool,
    user: CurrentUser | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    detail = meeting_detail(db, meeting_id, public=public)
    if detail is None:
        raise HTTPException(404, f"There is no meeting {meeting_id}.")
    now = current_time(request.app)
    m = detail.meeting
    minutes = detail.minutes
    show_minutes = minutes is not None and (
        not public or minutes.status != MinutesStatus.draft.value
    )
    can_manage = bool(user and user.can(Permission.manage_governance)) and not public
    base = f"/public/governance/meetings/{m.id}" if public else f"/governance/meetings/{m.id}"
    return render(
        request,
        "govmeetings/meeting.html",
        PageMeta(
            f"{detail.body.name}: {m.title}",
            breadcrumbs=(HOME, _PUBLIC, _PUBLIC_MEETINGS)
            if public
            else (HOME, GOVERNANCE, _MEETINGS),
        ),
        data_as_at=now,
        status_code=status_code,
        m=m,
        body=detail.body,
        starts=when(m.starts_at),
        status_label=MeetingStatus(m.status).label,
        items=_items(
            detail,
            public=public,
            can_papers=bool(user and user.can(Permission.view_board_papers)),
            person_id=_viewer_person(db, user),
        ),
        seats=attendance_table_rows(detail.seats),
        seat_options=[
            {"value": str(s.person.id), "text": f"{s.person.name} ({s.member.role})"}
            for s in detail.seats
        ],
        attendance_items=[{"value": a.value, "text": a.label} for a in AttendanceStatus],
        quorum=detail.quorum,
        quorum_tag=quorum_tag(detail.quorum),
        minutes=minutes if show_minutes else None,
        minutes_label=MinutesStatus(minutes.status).label if minutes else "",
        approved_at=detail.approved_at,
        approved_at_when=when(detail.approved_at.starts_at) if detail.approved_at else "",
        errata=detail.errata,
        later_options=[
            {"value": str(x.id), "text": f"{x.title}, {when(x.starts_at)}"}
            for x in detail.later_meetings
        ],
        actions=action_table_rows(detail.actions, now.date(), with_body=False),
        open_actions=[r for r in detail.actions if r.action.status == "open"],
        body_open_actions=action_table_rows(
            [r for r in detail.body_open_actions if r.overdue(now.date())], now.date()
        ),
        person_options=[{"value": str(s.person.id), "text": s.person.name} for s in detail.seats],
        item_options=[{"value": "", "text": "None"}]
        + [
            {"value": str(v.item.id), "text": f"{v.item.position}. {v.item.title}"}
            for v in detail.items
        ],
        part_items=[{"value": p.value, "text": p.label} for p in Part],
        public=public,
        can_manage=can_manage,
        error=error,
        base=base,
    )


@router.get("/governance/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(request: Request, meeting_id: int, db: Db, user: Viewer) -> Response:
    """One meeting: agenda and papers, attendance with live quorum, conflicts per item,
    minutes and actions, with the forms for governance leads."""
    return _meeting_page(request, db, meeting_id, public=False, user=user)


@router.get("/governance/meetings/{meeting_id}/{table}.csv")
def meeting_table_csv(
    request: Request, meeting_id: int, table: str, db: Db, user: Viewer
) -> Response:
    """The meeting page's tables as CSV: agenda, attendance, conflicts or actions."""
    return _meeting_csv(request, db, meeting_id, table, public=False)


def _meeting_csv(
    request: Request, db: Session, meeting_id: int, table: str, *, public: bool
) -> Response:
    if table not in (("agenda",) if public else CSV_TABLES):
        raise HTTPException(404, f"There is no {table} table for a meeting.")
    detail = meeting_detail(db, meeting_id, public=public)
    if detail is None:
        raise HTTPException(404, f"There is no meeting {meeting_id}.")
    name = f"meeting-{meeting_id}-{table}.csv"
    if table == "agenda":
        return csv_response(name, AGENDA_CSV_COLUMNS, agenda_csv_rows(detail.items))
    if table == "attendance":
        return csv_response(name, ATTENDANCE_CSV_COLUMNS, attendance_csv_rows(detail.seats))
    if table == "conflicts":
        return csv_response(name, CONFLICT_CSV_COLUMNS, conflict_csv_rows(detail.items))
    today = current_time(request.app).date()
    return csv_response(name, ACTION_CSV_COLUMNS, action_csv_rows(detail.actions, today))


def _done(
    request: Request, db: Session, meeting_id: int, user: CurrentUser, exc: Exception | None
) -> Response:
    """Commit and go back to the meeting, or roll back and show the reason."""
    if exc is not None:
        db.rollback()
        return _meeting_page(
            request, db, meeting_id, public=False, user=user, error=str(exc), status_code=400
        )
    db.commit()
    return RedirectResponse(f"/governance/meetings/{meeting_id}", status_code=303)


def _int(value: str, what: str) -> int:
    if not value.strip().isdigit():
        raise gov.GovernanceError(f"choose {what}")
    return int(value)


def _check_item(db: Session, meeting_id: int, item_id: int) -> None:
    item = db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise HTTPException(404, f"There is no item {item_id} on meeting {meeting_id}.")


@router.post("/governance/meetings/{meeting_id}/status", response_class=HTMLResponse)
def meeting_status(
    request: Request,
    meeting_id: int,
    db: Db,
    user: Lead,
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Mark the meeting held or cancelled."""
    try:
        choice = MeetingStatus(status) if status in {s.value for s in MeetingStatus} else None
        if choice is None:
            raise gov.GovernanceError("choose held or cancelled")
        mtg.set_meeting_status(
            db, meeting_id, status=choice, actor=user.username, now=current_time(request.app)
        )
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


@router.post("/governance/meetings/{meeting_id}/items", response_class=HTMLResponse)
def add_item(
    request: Request,
    meeting_id: int,
    db: Db,
    user: Lead,
    title: Short = "",
    part: Annotated[str, Form(max_length=16)] = "",
    presenter: Short = "",
    key_decision: Annotated[str, Form(max_length=8)] = "",
    decision_reference: Annotated[str, Form(max_length=32)] = "",
    parties: Short = "",
    matters: Short = "",
) -> Response:
    """Add an item to a scheduled meeting's agenda."""
    try:
        if part not in {p.value for p in Part}:
            raise gov.GovernanceError("choose the public or the private part")
        mtg.add_agenda_item(
            db,
            meeting_id,
            title=title,
            part=Part(part),
            presenter=presenter,
            key_decision=key_decision == "yes",
            decision_reference=decision_reference.strip() or None,
            parties=[p.strip() for p in parties.split(",") if p.strip()],
            matters=[m.strip() for m in matters.split(",") if m.strip()],
            actor=user.username,
            now=current_time(request.app),
        )
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


@router.post(
    "/governance/meetings/{meeting_id}/items/{item_id}/papers", response_class=HTMLResponse
)
def add_paper(
    request: Request,
    meeting_id: int,
    item_id: int,
    db: Db,
    user: Lead,
    title: Short = "",
    summary: Annotated[str, Form(max_length=4000)] = "",
    body: Text = "",
    public: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Attach a paper (its text is kept in the database) to an item."""
    _check_item(db, meeting_id, item_id)
    try:
        mtg.add_paper(
            db,
            item_id,
            title=title,
            summary=summary,
            body=body,
            public=public == "yes",
            actor=user.username,
            now=current_time(request.app),
        )
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


@router.post("/governance/meetings/{meeting_id}/attendance", response_class=HTMLResponse)
def attendance(
    request: Request,
    meeting_id: int,
    db: Db,
    user: Lead,
    person_id: Annotated[str, Form(max_length=12)] = "",
    status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Record a member as present, giving apologies or absent; quorum is re-checked."""
    try:
        if status not in {a.value for a in AttendanceStatus}:
            raise gov.GovernanceError("choose present, apologies or absent")
        mtg.record_attendance(
            db,
            meeting_id,
            person_id=_int(person_id, "a member"),
            status=AttendanceStatus(status),
            actor=user.username,
            now=current_time(request.app),
        )
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


@router.post(
    "/governance/meetings/{meeting_id}/items/{item_id}/conflicts", response_class=HTMLResponse
)
def item_conflicts(request: Request, meeting_id: int, item_id: int, db: Db, user: Lead) -> Response:
    """Record the detected conflicts on an item with their management."""
    _check_item(db, meeting_id, item_id)
    try:
        mtg.record_item_conflicts(db, item_id, actor=user.username, now=current_time(request.app))
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


@router.post(
    "/governance/meetings/{meeting_id}/items/{item_id}/outcome", response_class=HTMLResponse
)
def item_outcome(
    request: Request,
    meeting_id: int,
    item_id: int,
    db: Db,
    user: Lead,
    outcome: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record what was resolved; refused when the item is not quorate."""
    _check_item(db, meeting_id, item_id)
    try:
        mtg.record_outcome(
            db, item_id, outcome=outcome, actor=user.username, now=current_time(request.app)
        )
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


@router.post("/governance/meetings/{meeting_id}/minutes", response_class=HTMLResponse)
def minutes(
    request: Request,
    meeting_id: int,
    db: Db,
    user: Lead,
    step: Annotated[str, Form(max_length=16)] = "",
    text: Text = "",
    by: Annotated[str, Form(max_length=8)] = "",
    approving_meeting_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Save draft minutes, approve them (body at a later meeting, or chair), or lock them."""
    now = current_time(request.app)
    try:
        if step == "save":
            mtg.save_minutes(db, meeting_id, text=text, actor=user.username, now=now)
        elif step == "approve":
            if by not in {b.value for b in ApprovalBy}:
                raise gov.GovernanceError("say who approved the minutes: the body or the chair")
            mtg.approve_minutes(
                db,
                meeting_id,
                by=ApprovalBy(by),
                approving_meeting_id=int(approving_meeting_id)
                if by == "body" and approving_meeting_id.isdigit()
                else None,
                actor=user.username,
                now=now,
            )
        elif step == "lock":
            mtg.lock_minutes(db, meeting_id, actor=user.username, now=now)
        elif step == "erratum":
            mtg.add_erratum(db, meeting_id, text=text, actor=user.username, now=now)
        else:
            raise gov.GovernanceError("choose to save, approve or lock the minutes")
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


@router.post("/governance/meetings/{meeting_id}/actions", response_class=HTMLResponse)
def add_action(
    request: Request,
    meeting_id: int,
    db: Db,
    user: Lead,
    description: Annotated[str, Form(max_length=4000)] = "",
    owner: Annotated[str, Form(max_length=12)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
    item_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Give a member an action with a due date."""
    try:
        try:
            due = date.fromisoformat(due_on.strip())
        except ValueError:
            raise gov.GovernanceError("give the due date as YYYY-MM-DD") from None
        mtg.add_action(
            db,
            meeting_id,
            description=description,
            owner_person_id=_int(owner, "the owner"),
            due_on=due,
            item_id=int(item_id) if item_id.isdigit() else None,
            actor=user.username,
            now=current_time(request.app),
        )
    except gov.GovernanceError as exc:
        return _done(request, db, meeting_id, user, exc)
    return _done(request, db, meeting_id, user, None)


# ----------------------------------------------------------------------------- actions


def _action_filters(view: str | None, body: str | None) -> ActionFilters:
    if view and view not in ACTION_VIEWS:
        raise HTTPException(400, f"'{view}' is not a view of actions.")
    return ActionFilters(view=view or "open", body=body or None)


def _actions_page(
    request: Request,
    db: Session,
    f: ActionFilters,
    user: CurrentUser,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    now = current_time(request.app)
    rows = list_actions(db, f, today=now.date())
    query = urlencode(f.as_query())
    can_manage = user.can(Permission.manage_governance)
    return render(
        request,
        "govmeetings/actions.html",
        PageMeta("Actions", breadcrumbs=(HOME, GOVERNANCE, _MEETINGS)),
        data_as_at=now,
        status_code=status_code,
        rows=action_table_rows(rows, now.date()),
        count=len(rows),
        overdue=sum(1 for r in rows if r.overdue(now.date())),
        csv_href="/governance/actions.csv" + (f"?{query}" if query else ""),
        view_options=_options(
            [("open", "Open"), ("overdue", "Overdue"), ("done", "Done"), ("all", "All")],
            f.view,
            "Open",
        )[1:],
        body_options=_options([(b.code, b.name) for b in _bodies(db)], f.body, "All bodies"),
        open_actions=[r for r in rows if r.action.status == "open"] if can_manage else [],
        back="/governance/actions" + (f"?{query}" if query else ""),
        error=error,
    )


@router.get("/governance/actions", response_class=HTMLResponse)
def actions_page(
    request: Request,
    db: Db,
    user: Viewer,
    view: Annotated[str | None, Query(max_length=16)] = None,
    body: Q32 = None,
) -> Response:
    """Actions from every meeting: open (overdue ones flagged), overdue, done or all."""
    return _actions_page(request, db, _action_filters(view, body), user)


@router.get("/governance/actions.csv")
def actions_csv(
    request: Request,
    db: Db,
    user: Viewer,
    view: Annotated[str | None, Query(max_length=16)] = None,
    body: Q32 = None,
) -> Response:
    """The actions list as CSV, with the same filters."""
    today = current_time(request.app).date()
    rows = list_actions(db, _action_filters(view, body), today=today)
    return csv_response("actions.csv", ACTION_CSV_COLUMNS, action_csv_rows(rows, today))


def _action_done(
    request: Request, db: Session, user: CurrentUser, back: str, exc: Exception | None
) -> Response:
    if exc is not None:
        db.rollback()
        return _actions_page(request, db, ActionFilters(), user, error=str(exc), status_code=400)
    db.commit()
    # Only ever back to one of our own pages.
    target = back if back.startswith("/governance/") and "//" not in back else "/governance/actions"
    return RedirectResponse(target, status_code=303)


@router.post("/governance/actions/{action_id}/close", response_class=HTMLResponse)
def close_action(
    request: Request,
    action_id: int,
    db: Db,
    user: Lead,
    note: Annotated[str, Form(max_length=4000)] = "",
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Close an action; a note saying what was done is required."""
    if db.get(Action, action_id) is None:
        raise HTTPException(404, f"There is no action {action_id}.")
    try:
        mtg.close_action(
            db, action_id, note=note, actor=user.username, now=current_time(request.app)
        )
    except gov.GovernanceError as exc:
        return _action_done(request, db, user, back, exc)
    return _action_done(request, db, user, back, None)


@router.post("/governance/actions/{action_id}/chase", response_class=HTMLResponse)
def chase_action(
    request: Request,
    action_id: int,
    db: Db,
    user: Lead,
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Record that the owner of an open action was chased."""
    if db.get(Action, action_id) is None:
        raise HTTPException(404, f"There is no action {action_id}.")
    try:
        mtg.chase_action(db, action_id, actor=user.username, now=current_time(request.app))
    except gov.GovernanceError as exc:
        return _action_done(request, db, user, back, exc)
    return _action_done(request, db, user, back, None)


# ---------------------------------------------------------------------------- public


@public_router.get("/public/governance/meetings", response_class=HTMLResponse)
def public_meetings(
    request: Request,
    db: Db,
    f: MeetingQuery,
) -> Response:
    """Published meetings, and key decisions on upcoming agendas with their notice."""
    return _list_page(request, db, f, public=True)


@public_router.get("/public/governance/meetings.csv")
def public_meetings_csv(
    request: Request,
    db: Db,
    f: MeetingQuery,
) -> Response:
    rows = list_meetings(db, f, now=current_time(request.app), public=True)
    return csv_response("meetings.csv", MEETING_CSV_COLUMNS, meeting_csv_rows(rows))


@public_router.get("/public/governance/meetings/key-decisions.csv")
def public_key_decisions_csv(request: Request, db: Db) -> Response:
    """Key decisions on upcoming agendas and whether they had 28 days' notice."""
    rows = key_decisions_ahead(db, now=current_time(request.app))
    return csv_response("key-decisions.csv", KEY_DECISION_CSV_COLUMNS, key_decision_csv_rows(rows))


@public_router.get("/public/governance/meetings/{meeting_id}", response_class=HTMLResponse)
def public_meeting(request: Request, meeting_id: int, db: Db) -> Response:
    """A meeting's public part: agenda, public papers, approved minutes."""
    return _meeting_page(request, db, meeting_id, public=True)


@public_router.get("/public/governance/meetings/{meeting_id}/{table}.csv")
def public_meeting_csv(request: Request, meeting_id: int, table: str, db: Db) -> Response:
    return _meeting_csv(request, db, meeting_id, table, public=True)


@api_router.get("/governance/meetings")
def meetings_json(
    request: Request,
    db: Db,
    f: MeetingQuery,
) -> list[dict[str, object]]:
    """Meetings as JSON: the rows of ``/governance/meetings.csv``, with the same filters."""
    rows = list_meetings(db, f, now=current_time(request.app))
    return [dict(zip(MEETING_CSV_COLUMNS, r, strict=True)) for r in meeting_csv_rows(rows)]


@api_router.get("/governance/actions")
def actions_json(
    request: Request,
    db: Db,
    view: Annotated[str | None, Query(max_length=16)] = None,
    body: Q32 = None,
) -> list[dict[str, object]]:
    """Actions as JSON: the rows of ``/governance/actions.csv``, with the same filters."""
    today = current_time(request.app).date()
    rows = list_actions(db, _action_filters(view, body), today=today)
    return [dict(zip(ACTION_CSV_COLUMNS, r, strict=True)) for r in action_csv_rows(rows, today)]
