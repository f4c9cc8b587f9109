"""Governance pages: bodies, the decision register, register of interests; public versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, current_time, require
from wholesystem.governance import services as gov
from wholesystem.governance.conflicts import InterestCategory, Management
from wholesystem.governance.deps import GOVERNANCE, Q32, Lead, Viewer
from wholesystem.governance.models import CrgStatus, DecisionStatus
from wholesystem.governance.presenters import (
    DECISION_CSV_COLUMNS,
    REGISTER_CSV_COLUMNS,
    body_kind_label,
    check_conflict_items,
    conflict_rows,
    decision_csv_rows,
    decision_summary,
    decision_table_rows,
    register_csv_rows,
    register_table_rows,
    seat_rows,
    version_rows,
)
from wholesystem.governance.queries import (
    DecisionDetail,
    DecisionFilters,
    bodies_with_members,
    decision_by_reference,
    list_decisions,
    register_rows,
)
from wholesystem.governance.scheme import DecisionKind
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["decision_filters", "public_router", "router"]

router = APIRouter(include_in_schema=False)
public_router = APIRouter(include_in_schema=False)
Declarer = Annotated[CurrentUser, Depends(require(Permission.declare_interests))]
_PUBLIC = Crumb("Published governance", "/public/governance/decisions")


def decision_filters(
    body: str | None, place: str | None, kind: str | None, status: str | None
) -> DecisionFilters:
    """The register's filters from the query string; an unknown kind or status is a 400."""
    if kind and kind not in {k.value for k in DecisionKind}:
        raise HTTPException(400, f"'{kind}' is not a kind of decision.")
    if status and status not in {s.value for s in DecisionStatus}:
        raise HTTPException(400, f"'{status}' is not a decision status.")
    return DecisionFilters(body or None, place or None, kind or None, status or None)


def _filter_options(db: Session, f: DecisionFilters) -> dict[str, Any]:
    def opts(pairs: list[tuple[str, str]], chosen: str | None, empty: str) -> list[dict[str, Any]]:
        return [{"value": "", "text": empty}] + [
            {"value": v, "text": t, "selected": v == chosen} for v, t in pairs
        ]

    bodies = [(b.code, b.name) for b, _ in bodies_with_members(db) if b.kind.endswith("board")]
    return {
        "bodies": opts(bodies, f.body, "All bodies"),
        "places": opts([(p, p) for p in gov.place_codes(db)], f.place, "All places"),
        "kinds": opts([(k.value, k.label) for k in DecisionKind], f.kind, "All kinds"),
        "statuses": opts([(s.value, s.label) for s in DecisionStatus], f.status, "All statuses"),
    }


def _register_page(
    request: Request,
    db: Session,
    *,
    public: bool,
    body: str | None,
    place: str | None,
    kind: str | None,
    status: str | None,
) -> Response:
    f = decision_filters(body, place, kind, status)
    rows = list_decisions(db, f)
    if public:
        rows = [r for r in rows if r.version.status not in {"withdrawn"}]
    base = "/public/governance/decisions" if public else "/governance/decisions"
    query = urlencode(f.as_query())
    return render(
        request,
        "governance/decisions.html",
        PageMeta("Decision register", breadcrumbs=(HOME, _PUBLIC if public else GOVERNANCE)),
        data_as_at=current_time(request.app),
        rows=decision_table_rows(rows, base),
        count=len(rows),
        base=base,
        csv_href=f"{base}.csv" + (f"?{query}" if query else ""),
        public=public,
        **_filter_options(db, f),
    )


@router.get("/governance", response_class=HTMLResponse)
def bodies_page(request: Request, db: Db, user: Viewer) -> Response:
    """Bodies and their members: voting or not, organisation, role, term, joint posts."""
    bodies = [
        {
            "code": b.code,
            "name": b.name,
            "kind": body_kind_label(b.kind),
            "area": b.area_code or "System",
            "rows": [
                [
                    {"text": p.name},
                    {"text": m.role},
                    {"text": m.member_group.replace("_", " ")},
                    {"text": "Voting" if m.voting else "Non-voting"},
                    {
                        "text": p.organisation_code
                        + (
                            f" and {p.second_organisation_code} (joint post)"
                            if p.second_organisation_code
                            else ""
                        )
                    },
                    {
                        "text": f"{m.term_start:%-d %b %Y} to {m.term_end:%-d %b %Y}"
                        if m.term_end
                        else f"From {m.term_start:%-d %b %Y}"
                    },
                ]
                for m, p in members
            ],
        }
        for b, members in bodies_with_members(db)
    ]
    return render(
        request,
        "governance/bodies.html",
        PageMeta("Governance bodies", breadcrumbs=(HOME, GOVERNANCE)),
        data_as_at=current_time(request.app),
        bodies=bodies,
        can_manage=user.can(Permission.manage_governance),
    )


@router.get("/governance/members.csv")
def members_csv(db: Db, user: Viewer) -> Response:
    """Every seat on every body."""
    rows = [
        [
            b.code,
            b.name,
            b.kind,
            p.name,
            p.organisation_code,
            p.second_organisation_code or "",
            m.role,
            m.member_group,
            m.voting,
            m.term_start,
            m.term_end or "",
        ]
        for b, members in bodies_with_members(db)
        for m, p in members
    ]
    return csv_response(
        "governance-members.csv",
        (
            "body_code",
            "body",
            "body_kind",
            "name",
            "organisation",
            "joint_post_organisation",
            "role",
            "member_group",
            "voting",
            "term_start",
            "term_end",
        ),
        rows,
    )


@router.get("/governance/decisions", response_class=HTMLResponse)
def decisions_page(
    request: Request,
    db: Db,
    user: Viewer,
    body: Q32 = None,
    place: Q32 = None,
    kind: Q32 = None,
    status: Q32 = None,
) -> Response:
    """The decision register, filterable by body, place, kind and status."""
    return _register_page(
        request, db, public=False, body=body, place=place, kind=kind, status=status
    )


@router.get("/governance/decisions.csv")
def decisions_csv(
    db: Db, user: Viewer, body: Q32 = None, place: Q32 = None, kind: Q32 = None, status: Q32 = None
) -> Response:
    """The register as CSV, with the same filters."""
    rows = list_decisions(db, decision_filters(body, place, kind, status))
    return csv_response("decisions.csv", DECISION_CSV_COLUMNS, decision_csv_rows(rows))


def _form_page(
    request: Request,
    db: Session,
    *,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    form = form or {}
    return render(
        request,
        "governance/decision_form.html",
        PageMeta(
            "Propose a decision",
            breadcrumbs=(HOME, GOVERNANCE, Crumb("Decision register", "/governance/decisions")),
        ),
        status_code=status_code,
        form=form,
        errors=[{"text": e, "href": "#title"} for e in errors or []],
        kinds=[
            {"value": k.value, "text": k.label, "selected": k.value == form.get("kind")}
            for k in DecisionKind
        ],
        places=gov.place_codes(db),
        reserved=sorted(gov.current_scheme().reserved_matters),
    )


@router.get("/governance/decisions/new", response_class=HTMLResponse)
def new_decision(request: Request, db: Db, user: Lead) -> Response:
    """The form to propose a decision; routing is worked out when it is saved."""
    return _form_page(request, db)


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


@router.post("/governance/decisions", response_class=HTMLResponse)
async def create_decision(request: Request, db: Db, user: Lead) -> Response:
    """Propose a decision from the form; refused with the reason, nothing saved."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if k != "csrf_token" and isinstance(v, str)}
    places = [str(v) for v in raw.getlist("places")]
    reserved = [str(v) for v in raw.getlist("reserved_matters")]
    try:
        value = Decimal(form.get("value", "").replace(",", "").replace("£", "").strip() or "x")
        kind = DecisionKind(form.get("kind", ""))
        planned = date.fromisoformat(form["planned_on"]) if form.get("planned_on") else None
    except (InvalidOperation, ValueError):
        return _form_page(
            request,
            db,
            errors=[
                "Enter a kind, a value in pounds (for example 150000) and a planned date as "
                "YYYY-MM-DD"
            ],
            form=form,
            status_code=400,
        )
    try:
        decision = gov.propose_decision(
            db,
            title=form.get("title", ""),
            kind=kind,
            proposer=form.get("proposer", ""),
            value=value,
            places=places,
            parties=_split(form.get("parties", "")),
            matters=_split(form.get("matters", "")),
            reserved_matters=reserved,
            reasons=form.get("reasons", ""),
            alternatives=form.get("alternatives", ""),
            planned_on=planned,
            actor=user.username,
            now=current_time(request.app),
        )
    except gov.GovernanceError as exc:
        db.rollback()
        return _form_page(request, db, errors=[str(exc)], form=form, status_code=400)
    db.commit()
    return RedirectResponse(f"/governance/decisions/{decision.reference}", status_code=303)


def _detail_page(
    request: Request,
    db: Session,
    reference: str,
    *,
    public: bool,
    can_manage: bool = False,
    error: str | None = None,
    error_field: str = "note",
    status_code: int = 200,
) -> Response:
    detail = decision_by_reference(db, reference)
    if detail is None or (public and detail.row.version.status == "withdrawn"):
        raise HTTPException(404, f"There is no decision {reference}.")
    v = detail.row.version
    now = current_time(request.app)
    status = DecisionStatus(v.status)
    made = status in {DecisionStatus.made, DecisionStatus.ratified}
    return render(
        request,
        "governance/decision.html",
        PageMeta(f"{reference}: {v.title}", breadcrumbs=(HOME, _PUBLIC if public else GOVERNANCE)),
        data_as_at=now,
        status_code=status_code,
        reference=reference,
        title=v.title,
        summary=decision_summary(detail),
        versions=version_rows(detail.versions),
        conflicts=conflict_rows(detail),
        votes=[
            [{"text": p.name}, {"text": vote.vote}, {"text": f"Version {vote.version}"}]
            for vote, p in detail.votes
        ],
        public=public,
        # anyone may ask in public about a decision (governance/concerns: challenge)
        question_href="/public/governance/questions?"
        + urlencode({"subject_kind": "decision", "subject_ref": reference}),
        error=error,
        error_field=error_field,
        today=now.date().isoformat(),
        crg_open=can_manage and v.needs_crg and v.status == "awaiting_crg",
        decide_open=can_manage and status in gov.OPEN_STATUSES,
        withdraw_open=can_manage and status in gov.OPEN_STATUSES,
        ratify_open=can_manage and status is DecisionStatus.made and v.needs_ratification,
        dates_open=can_manage and made,
        progress_open=can_manage and made,
        accountable=[
            {"value": o.code, "text": f"{o.name} ({o.code})"}
            for o in gov.accountable_organisations(db)
        ],
        form={
            "effective_date": v.effective_date.isoformat() if v.effective_date else "",
            "review_date": v.review_date.isoformat() if v.review_date else "",
        },
    )


@router.get("/governance/decisions/{reference}", response_class=HTMLResponse)
def decision_page(request: Request, reference: str, db: Db, user: Viewer) -> Response:
    """One decision: routing, CRG status, conflicts and their management, votes, history."""
    return _detail_page(
        request, db, reference, public=False, can_manage=user.can(Permission.manage_governance)
    )


@router.post("/governance/decisions/{reference}/crg", response_class=HTMLResponse)
def decision_crg(
    request: Request,
    reference: str,
    db: Db,
    user: Lead,
    agreed: Annotated[str, Form(max_length=8)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record the clinical reference group's agreement (or not)."""
    detail = decision_by_reference(db, reference)
    if detail is None:
        raise HTTPException(404, f"There is no decision {reference}.")
    try:
        gov.record_crg(
            db,
            detail.row.decision.id,
            agreed=agreed == "yes",
            note=note,
            actor=user.username,
            now=current_time(request.app),
        )
    except gov.GovernanceError as exc:
        db.rollback()
        return _detail_page(
            request, db, reference, public=False, can_manage=True, error=str(exc), status_code=400
        )
    db.commit()
    return RedirectResponse(f"/governance/decisions/{reference}", status_code=303)


# --------------------------------------------------------------- taking the decision


def _decision_or_404(db: Session, reference: str) -> DecisionDetail:
    detail = decision_by_reference(db, reference)
    if detail is None:
        raise HTTPException(404, f"There is no decision {reference}.")
    return detail


def _person_ids(values: list[str]) -> list[int]:
    try:
        return [int(v) for v in values if v.strip()]
    except ValueError:
        raise gov.GovernanceError("attendance is a list of person ids") from None


def _day_or_none(text: str, what: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise gov.GovernanceError(f"give the {what} as YYYY-MM-DD, not {text!r}") from None


def _decide_page(
    request: Request,
    db: Session,
    detail: DecisionDetail,
    *,
    body_code: str | None,
    on: date,
    present: list[int],
    checked: bool,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    manage: dict[int, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    """The form to take a decision: meeting, attendance, conflicts, quorum, then the vote."""
    v = detail.row.version
    bodies = [b for b, _ in bodies_with_members(db)]
    routed = detail.row.body.code if detail.row.body else None
    code = body_code or routed or (bodies[0].code if bodies else None)
    if code is None:
        raise gov.GovernanceError("no governance body has been set up to take decisions")
    check = gov.check_meeting(db, detail.row.decision.id, body_code=code, present=present, on=on)
    chosen = set(check.present) if checked else set()
    form = form or {}
    return render(
        request,
        "governance/decision_decide.html",
        PageMeta(
            f"Take decision {detail.row.decision.reference}",
            breadcrumbs=(
                HOME,
                GOVERNANCE,
                Crumb("Decision register", "/governance/decisions"),
                Crumb(
                    detail.row.decision.reference,
                    f"/governance/decisions/{detail.row.decision.reference}",
                ),
            ),
        ),
        data_as_at=current_time(request.app),
        status_code=status_code,
        reference=detail.row.decision.reference,
        title=v.title,
        routed_to=detail.row.body.name if detail.row.body else "No body set up",
        routing=v.routing_explanation,
        crg=CrgStatus(v.crg_status).label,
        errors=[{"text": e, "href": "#method"} for e in errors or []],
        bodies=[
            {"value": b.code, "text": b.name, "selected": b.code == check.body.code} for b in bodies
        ],
        body_code=check.body.code,
        on=on.isoformat(),
        seats=[
            {
                "value": str(s.person_id),
                "text": s.name,
                "hint": f"{s.role} ({s.group.replace('_', ' ')}, "
                + ("voting" if s.voting else "non-voting")
                + ")",
                "checked": s.person_id in chosen,
            }
            for s in check.seats
        ],
        checked=checked,
        present=list(check.present),
        problems=list(check.problems),
        quorum=check.quorum.explanation,
        quorate=check.quorum.quorate,
        seat_rows=seat_rows(check),
        conflicts=check_conflict_items(check, manage),
        eligible=[
            {
                "person_id": pid,
                "name": check.name_of(pid),
                "items": [
                    {"value": x, "text": x.capitalize(), "checked": form.get(f"vote-{pid}") == x}
                    for x in ("for", "against", "abstain")
                ],
            }
            for pid in check.eligible
        ],
        form=form,
        methods=[
            {"value": "vote", "text": "By vote", "checked": form.get("method") == "vote"},
            {
                "value": "consensus",
                "text": "By consensus (no individual votes)",
                "checked": form.get("method") == "consensus",
            },
        ],
        outcomes=[
            {"value": o, "text": o.capitalize(), "checked": form.get("outcome") == o}
            for o in gov.OUTCOMES
        ],
    )


@router.get("/governance/decisions/{reference}/decide", response_class=HTMLResponse)
def decide_form(
    request: Request,
    reference: str,
    db: Db,
    user: Lead,
    body: Q32 = None,
    on: Annotated[str | None, Query(max_length=10)] = None,
    present: Annotated[list[str] | None, Query(max_length=200)] = None,
    checked: Annotated[str | None, Query(max_length=1)] = None,
) -> Response:
    """Take a decision at a meeting: attendance ticked, then conflicts and quorum re-checked."""
    detail = _decision_or_404(db, reference)
    try:
        day = _day_or_none(on or "", "meeting date") or current_time(request.app).date()
        people = _person_ids(present or [])
        return _decide_page(
            request, db, detail, body_code=body, on=day, present=people, checked=bool(checked)
        )
    except gov.GovernanceError as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("/governance/decisions/{reference}/decide", response_class=HTMLResponse)
async def decide(request: Request, reference: str, db: Db, user: Lead) -> Response:
    """Record the decision: conflicts' management confirmed, votes or consensus, outcome."""
    detail = _decision_or_404(db, reference)
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if k != "csrf_token" and isinstance(v, str)}
    now = current_time(request.app)
    body_code = form.get("body", "")
    try:
        day = _day_or_none(form.get("on", ""), "meeting date") or now.date()
    except gov.GovernanceError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        present = _person_ids([str(p) for p in raw.getlist("present")])
    except gov.GovernanceError as exc:
        raise HTTPException(400, str(exc)) from None
    ticked: dict[int, list[str]] = {}  # the chair's choices, kept if the form comes back
    try:
        votes: dict[int, str] = {}
        for key, value in form.items():
            if key.startswith("vote-") and value:
                votes[_person_ids([key.removeprefix("vote-")])[0]] = value
        management: dict[int, list[Management]] = {}
        for pid in _person_ids([str(p) for p in raw.getlist("conflicted")]):
            ticked[pid] = [str(m) for m in raw.getlist(f"manage-{pid}")]
            try:
                chosen = [Management(m) for m in ticked[pid]]
            except ValueError:
                raise gov.GovernanceError("unknown way of managing a conflict") from None
            # Not voting is not optional for a conflicted member: the form shows it as fixed.
            management[pid] = [*chosen, Management.no_vote]
        method = form.get("method", "")
        gov.record_decision(
            db,
            detail.row.decision.id,
            body_code=body_code,
            present=present,
            method=method,
            decided_on=day,
            votes=votes if method == "vote" else {},
            consensus_outcome=form.get("outcome") if method == "consensus" else None,
            management=management,
            chair_confirmed=form.get("confirm") == "yes",
            note=form.get("note", ""),
            effective_date=_day_or_none(form.get("effective_date", ""), "effective date"),
            review_date=_day_or_none(form.get("review_date", ""), "review date"),
            actor=user.username,
            now=now,
        )
    except gov.GovernanceError as exc:
        db.rollback()
        try:
            return _decide_page(
                request,
                db,
                detail,
                body_code=body_code,
                on=day,
                present=present,
                checked=True,
                errors=[str(exc)],
                form=form,
                manage=ticked,
                status_code=400,
            )
        except gov.GovernanceError as again:  # the body itself is unknown
            raise HTTPException(400, str(again)) from None
    db.commit()
    return RedirectResponse(f"/governance/decisions/{reference}", status_code=303)


def _after_decision(
    request: Request,
    db: Session,
    reference: str,
    change: Callable[[int, datetime], object],
    field: str,
) -> Response:
    """Apply one change to a decision; on refusal, the page again with the reason."""
    detail = _decision_or_404(db, reference)
    try:
        change(detail.row.decision.id, current_time(request.app))
    except gov.GovernanceError as exc:
        db.rollback()
        return _detail_page(
            request,
            db,
            reference,
            public=False,
            can_manage=True,
            error=str(exc),
            error_field=field,
            status_code=400,
        )
    db.commit()
    return RedirectResponse(f"/governance/decisions/{reference}", status_code=303)


@router.post("/governance/decisions/{reference}/ratify", response_class=HTMLResponse)
def decision_ratify(
    request: Request,
    reference: str,
    db: Db,
    user: Lead,
    organisation: Annotated[str, Form(max_length=16)] = "",
    ratified_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Record statutory ratification by the accountable body."""

    def change(decision_id: int, now: datetime) -> object:
        day = _day_or_none(ratified_on, "ratification date")
        if day is None:
            raise gov.GovernanceError("give the date of ratification")
        return gov.ratify_decision(
            db,
            decision_id,
            organisation_code=organisation,
            ratified_on=day,
            actor=user.username,
            now=now,
        )

    return _after_decision(request, db, reference, change, "organisation")


@router.post("/governance/decisions/{reference}/dates", response_class=HTMLResponse)
def decision_dates(
    request: Request,
    reference: str,
    db: Db,
    user: Lead,
    effective_date: Annotated[str, Form(max_length=10)] = "",
    review_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Set the effective and review dates of a decision that has been made."""

    def change(decision_id: int, now: datetime) -> object:
        return gov.set_dates(
            db,
            decision_id,
            effective_date=_day_or_none(effective_date, "effective date"),
            review_date=_day_or_none(review_date, "review date"),
            actor=user.username,
            now=now,
        )

    return _after_decision(request, db, reference, change, "effective_date")


@router.post("/governance/decisions/{reference}/progress", response_class=HTMLResponse)
def decision_progress(
    request: Request,
    reference: str,
    db: Db,
    user: Lead,
    progress: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Record progress on a decision that has been made."""

    def change(decision_id: int, now: datetime) -> object:
        return gov.update_progress(db, decision_id, progress=progress, actor=user.username, now=now)

    return _after_decision(request, db, reference, change, "progress")


@router.post("/governance/decisions/{reference}/withdraw", response_class=HTMLResponse)
def decision_withdraw(
    request: Request,
    reference: str,
    db: Db,
    user: Lead,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Withdraw a proposal that has not been decided."""

    def change(decision_id: int, now: datetime) -> object:
        return gov.withdraw_decision(db, decision_id, reason=reason, actor=user.username, now=now)

    return _after_decision(request, db, reference, change, "reason")


# ------------------------------------------------------------------------- interests


@router.get("/governance/interests", response_class=HTMLResponse)
def my_interests(request: Request, db: Db, user: Declarer) -> Response:
    """Your own declarations, with the form to declare an interest or a nil return."""
    return _own_page(request, db, user)


def _own_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    from sqlalchemy import select

    from wholesystem.governance.models import Person

    person = db.scalar(select(Person).where(Person.user_id == user.id))
    now = current_time(request.app)
    rows = register_rows(db, public=False, on=now.date(), person_id=person.id) if person else []
    return render(
        request,
        "governance/my_interests.html",
        PageMeta("Your declarations of interest", breadcrumbs=(HOME, GOVERNANCE)),
        data_as_at=now,
        status_code=status_code,
        rows=register_table_rows(rows),
        error=error,
        categories=[{"value": c.value, "text": c.label} for c in InterestCategory],
        year=now.year,
    )


@router.post("/governance/interests", response_class=HTMLResponse)
def declare(
    request: Request,
    db: Db,
    user: Declarer,
    what: Annotated[str, Form(max_length=16)] = "interest",
    category: Annotated[str, Form(max_length=32)] = "",
    organisation: Annotated[str, Form(max_length=200)] = "",
    matter: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    starts: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Declare an interest, or make this year's nil return, for yourself."""
    now = current_time(request.app)
    try:
        person = gov.person_for_user(
            db,
            user_id=user.id,
            name=user.display_name,
            organisation_code=user.organisation_code,
            actor=user.username,
            now=now,
        )
        if what == "nil":
            gov.annual_declaration(
                db,
                person_id=person.id,
                year=now.year,
                nil_return=True,
                actor=user.username,
                now=now,
            )
        else:
            try:
                cat = InterestCategory(category)
                start = date.fromisoformat(starts) if starts else now.date()
            except ValueError:
                raise gov.GovernanceError(
                    "choose a category and give the start date as YYYY-MM-DD"
                ) from None
            org = organisation.strip()
            code = org.upper() if org and " " not in org and len(org) <= 16 else None
            gov.declare_interest(
                db,
                person_id=person.id,
                category=cat,
                organisation_code=code,
                organisation_name="" if code else org,
                matter=matter or None,
                description=description,
                starts=start,
                actor=user.username,
                now=now,
            )
    except gov.GovernanceError as exc:
        db.rollback()
        return _own_page(request, db, user, error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse("/governance/interests", status_code=303)


@router.get("/governance/interests/register", response_class=HTMLResponse)
def full_register(request: Request, db: Db, user: Lead) -> Response:
    """The full register, withheld entries included (governance leads only)."""
    now = current_time(request.app)
    rows = register_rows(db, public=False, on=now.date())
    return render(
        request,
        "governance/register.html",
        PageMeta("Register of interests", breadcrumbs=(HOME, GOVERNANCE)),
        data_as_at=now,
        rows=register_table_rows(rows),
        public=False,
        csv_href="/governance/interests/register.csv",
    )


@router.get("/governance/interests/register.csv")
def full_register_csv(request: Request, db: Db, user: Lead) -> Response:
    """The full register as CSV (an audited export)."""
    now = current_time(request.app)
    rows = register_rows(db, public=False, on=now.date())
    audit.append(
        db,
        actor=user.username,
        action="export",
        object_type="governance_register",
        object_id="interests.csv",
        detail={"rows": len(rows)},
        at=now,
    )
    db.commit()
    return csv_response("register-of-interests.csv", REGISTER_CSV_COLUMNS, register_csv_rows(rows))


# ---------------------------------------------------------------------------- public


@public_router.get("/public/governance/decisions", response_class=HTMLResponse)
def public_decisions(
    request: Request,
    db: Db,
    body: Q32 = None,
    place: Q32 = None,
    kind: Q32 = None,
    status: Q32 = None,
) -> Response:
    """The published decision register (no sign-in)."""
    return _register_page(
        request, db, public=True, body=body, place=place, kind=kind, status=status
    )


@public_router.get("/public/governance/decisions.csv")
def public_decisions_csv(
    db: Db, body: Q32 = None, place: Q32 = None, kind: Q32 = None, status: Q32 = None
) -> Response:
    rows = [
        r
        for r in list_decisions(db, decision_filters(body, place, kind, status))
        if r.version.status != "withdrawn"
    ]
    return csv_response("decisions.csv", DECISION_CSV_COLUMNS, decision_csv_rows(rows))


@public_router.get("/public/governance/decisions/{reference}", response_class=HTMLResponse)
def public_decision(request: Request, reference: str, db: Db) -> Response:
    return _detail_page(request, db, reference, public=True)


@public_router.get("/public/governance/forward-plan", response_class=HTMLResponse)
def forward_plan(request: Request, db: Db) -> Response:
    """Key decisions planned, published at least 28 days ahead where the plan allows."""
    now = current_time(request.app)
    rows = [
        r
        for r in list_decisions(db, DecisionFilters())
        if r.version.status in {"proposed", "awaiting_crg", "ready", "deferred"}
        and r.version.planned_on is not None
        and r.version.planned_on >= now.date()
    ]
    rows.sort(key=lambda r: r.version.planned_on or now.date())
    table = [
        [
            {"html": decision_table_rows([r], "/public/governance/decisions")[0][0]["html"]},
            {"text": r.version.title},
            {"text": r.body.name if r.body else "Not set up"},
            {"text": f"{r.version.planned_on:%-d %b %Y}"},
            {
                "text": "Yes"
                if r.version.planned_on
                and (r.version.planned_on - r.decision.created_at.date()).days >= 28
                else "No: less than 28 days' notice"
            },
        ]
        for r in rows
    ]
    return render(
        request,
        "governance/forward_plan.html",
        PageMeta("Forward plan of key decisions", breadcrumbs=(HOME, _PUBLIC)),
        data_as_at=now,
        rows=table,
    )


@public_router.get("/public/governance/interests", response_class=HTMLResponse)
def public_register(request: Request, db: Db) -> Response:
    """The published register of decision-making staff (withheld entries left out)."""
    now = current_time(request.app)
    rows = register_rows(db, public=True, on=now.date())
    return render(
        request,
        "governance/register.html",
        PageMeta("Register of interests", breadcrumbs=(HOME, _PUBLIC)),
        data_as_at=now,
        rows=register_table_rows(rows),
        public=True,
        csv_href="/public/governance/interests.csv",
    )


@public_router.get("/public/governance/interests.csv")
def public_register_csv(request: Request, db: Db) -> Response:
    rows = register_rows(db, public=True, on=current_time(request.app).date())
    return csv_response("register-of-interests.csv", REGISTER_CSV_COLUMNS, register_csv_rows(rows))
