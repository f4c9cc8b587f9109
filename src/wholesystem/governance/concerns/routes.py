"""Pages for concerns and escalation, challenge (questions and answers) and open data."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, client_ip, current_time, require
from wholesystem.footprint.models import Organisation
from wholesystem.governance.concerns import services as svc
from wholesystem.governance.concerns.models import Question
from wholesystem.governance.concerns.opendata import DATASETS, dataset
from wholesystem.governance.concerns.presenters import (
    CONCERN_CSV_COLUMNS,
    PUBLIC_QUESTION_COLUMNS,
    QUESTION_CSV_COLUMNS,
    concern_csv_rows,
    concern_summary_list,
    concern_table_rows,
    json_records,
    public_question_rows,
    question_csv_rows,
    question_status_tag,
    timeline_rows,
)
from wholesystem.governance.concerns.queries import (
    ConcernFilters,
    QuestionFilters,
    list_concerns,
    list_questions,
    timeline,
)
from wholesystem.governance.concerns.rules import DisputeError, Stage, is_overdue, next_stages
from wholesystem.governance.deps import GOVERNANCE, Q32, Lead
from wholesystem.governance.models import Person
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["api_router", "public_router", "router"]

router = APIRouter(include_in_schema=False)
public_router = APIRouter(include_in_schema=False)
# JSON beside the CSV: the same rows, keyed by the CSV's column names.
api_router = APIRouter(
    dependencies=[Depends(require(Permission.raise_concerns))], tags=["governance"]
)
Raiser = Annotated[CurrentUser, Depends(require(Permission.raise_concerns))]
Challenger = Annotated[CurrentUser, Depends(require(Permission.challenge))]
_CONCERNS = Crumb("Concerns and escalation", "/governance/concerns")
_PUBLIC = Crumb("Published governance", "/public/governance/decisions")


def _opts(pairs: list[tuple[str, str]], chosen: str | None, empty: str) -> list[dict[str, Any]]:
    return [{"value": "", "text": empty}] + [
        {"value": v, "text": t, "selected": v == chosen} for v, t in pairs
    ]


def _people_options(db: Session, chosen: str | None = None) -> list[dict[str, Any]]:
    return _opts(
        [
            (str(p.id), f"{p.name}, {p.job_title or 'no job title'} ({p.organisation_code})")
            for p in svc.people(db)
        ],
        chosen,
        "Choose a person",
    )


# ----------------------------------------------------------------------------- concerns


def _concern_filters(
    status: Q32 = None,
    stage: Q32 = None,
    source: Q32 = None,
    organisation: Q32 = None,
    overdue: Q32 = None,
) -> ConcernFilters:
    """The concern list's filters from the query string (page, CSV and JSON alike)."""
    f = ConcernFilters(
        status or None,
        stage or None,
        source or None,
        (organisation or "").strip() or None,
        overdue == "yes",
    )
    problems = f.problems()
    if problems:
        raise HTTPException(400, " ".join(problems))
    return f


ConcernQuery = Annotated[ConcernFilters, Depends(_concern_filters)]


@router.get("/governance/concerns", response_class=HTMLResponse)
def concerns_page(
    request: Request,
    db: Db,
    user: Raiser,
    f: ConcernQuery,
) -> Response:
    """Concerns and escalations, filterable; overdue ones are marked."""
    now = current_time(request.app)
    rules = svc.concern_rules()
    rows = list_concerns(db, f, now.date())
    query = urlencode(f.as_query())
    return render(
        request,
        "govconcerns/concerns.html",
        PageMeta("Concerns and escalation", breadcrumbs=(HOME, GOVERNANCE)),
        data_as_at=now,
        rows=concern_table_rows(rows, rules),
        count=len(rows),
        overdue_count=sum(1 for r in rows if r.overdue),
        csv_href="/governance/concerns.csv" + (f"?{query}" if query else ""),
        statuses=_opts([("open", "Open"), ("resolved", "Resolved")], f.status, "Any status"),
        stages=_opts([(s.value, rules.name(s)) for s in Stage], f.stage, "Any stage"),
        sources=_opts(
            [("partner", "Raised by a partner"), ("metric", "Failing metric")],
            f.source,
            "Any source",
        ),
        organisation=f.organisation or "",
        overdue_checked=f.overdue,
        stage_rules=[
            {"name": r.name, "days": r.days, "position": r.position} for r in rules.stages.values()
        ],
        rules_source=rules.source,
    )


@router.get("/governance/concerns.csv")
def concerns_csv(
    request: Request,
    db: Db,
    user: Raiser,
    f: ConcernQuery,
) -> Response:
    """The concerns list as CSV, with the same filters."""
    rows = list_concerns(db, f, current_time(request.app).date())
    return csv_response("concerns.csv", CONCERN_CSV_COLUMNS, concern_csv_rows(rows))


def _org_items(db: Session, chosen: list[str]) -> list[dict[str, Any]]:
    orgs = db.scalars(
        select(Organisation)
        .where(Organisation.active.is_(True), Organisation.type != "gp_practice")
        .order_by(Organisation.name)
    )
    return [
        {"value": o.code, "text": f"{o.name} ({o.code})", "checked": o.code in chosen} for o in orgs
    ]


def _new_page(
    request: Request,
    db: Session,
    *,
    form: dict[str, str] | None = None,
    orgs: list[str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    form = form or {}
    return render(
        request,
        "govconcerns/concern_form.html",
        PageMeta("Raise a concern", breadcrumbs=(HOME, GOVERNANCE, _CONCERNS)),
        status_code=status_code,
        form=form,
        error=error,
        organisations=_org_items(db, orgs or []),
        owners=_people_options(db, form.get("owner")),
    )


@router.get("/governance/concerns/new", response_class=HTMLResponse)
def new_concern(request: Request, db: Db, user: Raiser) -> Response:
    """The form to raise a concern early, with the owner of local resolution."""
    return _new_page(request, db)


@router.post("/governance/concerns", response_class=HTMLResponse)
async def create_concern(request: Request, db: Db, user: Raiser) -> Response:
    """Raise a concern; refused with the reason, nothing saved."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if k != "csrf_token" and isinstance(v, str)}
    orgs = [str(v) for v in raw.getlist("organisations")]
    orgs += [p.strip() for p in form.get("other_organisations", "").split(",") if p.strip()]
    owner = form.get("owner", "")
    try:
        concern = svc.open_concern(
            db,
            title=form.get("title", "")[:400],
            detail=form.get("detail", "")[:8000],
            organisations=orgs[:50],
            owner_person_id=int(owner) if owner.isdigit() else None,
            raised_by=user.username,
            raised_by_name=user.display_name,
            raised_by_org=user.organisation_code,
            now=current_time(request.app),
        )
    except DisputeError as exc:
        db.rollback()
        return _new_page(request, db, form=form, orgs=orgs, error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse(f"/governance/concerns/{concern.reference}", status_code=303)


def _concern_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    reference: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    concern = svc.concern_by_reference(db, reference)
    if concern is None:
        raise HTTPException(404, f"There is no concern {reference}.")
    now = current_time(request.app)
    rules = svc.concern_rules()
    owner = db.get(Person, concern.owner_person_id)
    if owner is None:  # pragma: no cover - a foreign key
        raise HTTPException(404, f"There is no concern {reference}.")
    state = svc.concern_state(db, concern)
    overdue = is_overdue(state.current, now.date())
    can_act = concern.status == "open" and svc.can_act(
        db, concern, user_id=user.id, is_lead=user.can(Permission.manage_governance)
    )
    nexts = next_stages(rules, Stage(concern.stage)) if concern.status == "open" else ()
    return render(
        request,
        "govconcerns/concern.html",
        PageMeta(
            f"{concern.reference}: {concern.title}", breadcrumbs=(HOME, GOVERNANCE, _CONCERNS)
        ),
        data_as_at=now,
        status_code=status_code,
        concern=concern,
        summary=concern_summary_list(concern, owner, rules, overdue),
        timeline=timeline_rows(timeline(db, concern.id), rules, now.date()),
        can_act=can_act,
        next_stages=[
            {"value": s.value, "text": f"{rules.name(s)} ({rules.rule(s).days} working days)"}
            for s in nexts
        ],
        owners=_people_options(db),
        error=error,
    )


@router.get("/governance/concerns/{reference}", response_class=HTMLResponse)
def concern_page(request: Request, reference: str, db: Db, user: Raiser) -> Response:
    """One concern: where it stands, its stages with clocks and outcomes, and what is next."""
    return _concern_page(request, db, user, reference)


def _act(
    request: Request,
    db: Session,
    user: CurrentUser,
    reference: str,
    action: Callable[[int], object],
) -> Response:
    concern = svc.concern_by_reference(db, reference)
    if concern is None:
        raise HTTPException(404, f"There is no concern {reference}.")
    try:
        action(concern.id)
    except svc.NotAllowed as exc:
        db.rollback()
        raise HTTPException(403, str(exc)) from None
    except DisputeError as exc:
        db.rollback()
        return _concern_page(request, db, user, reference, error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse(f"/governance/concerns/{reference}", status_code=303)


@router.post("/governance/concerns/{reference}/escalate", response_class=HTMLResponse)
def escalate_concern(
    request: Request,
    reference: str,
    db: Db,
    user: Raiser,
    to: Annotated[str, Form(max_length=32)] = "",
    owner: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Close the current stage as escalated and move to the next (owner or lead only)."""
    return _act(
        request,
        db,
        user,
        reference,
        lambda cid: svc.escalate_concern(
            db,
            cid,
            to=to,
            owner_person_id=int(owner) if owner.isdigit() else None,
            reason=reason,
            actor=user.username,
            now=current_time(request.app),
            user_id=user.id,
            is_lead=user.can(Permission.manage_governance),
        ),
    )


@router.post("/governance/concerns/{reference}/resolve", response_class=HTMLResponse)
def resolve_concern(
    request: Request,
    reference: str,
    db: Db,
    user: Raiser,
    outcome: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Close the concern as resolved at its current stage, with the outcome."""
    return _act(
        request,
        db,
        user,
        reference,
        lambda cid: svc.resolve_concern(
            db,
            cid,
            outcome=outcome,
            actor=user.username,
            now=current_time(request.app),
            user_id=user.id,
            is_lead=user.can(Permission.manage_governance),
        ),
    )


# ---------------------------------------------------------------------------- challenge


def _subject_items(chosen: str | None) -> list[dict[str, Any]]:
    return [
        {"value": k.value, "text": k.label, "selected": k.value == chosen} for k in svc.SubjectKind
    ]


def _kind_items(chosen: str | None) -> list[dict[str, Any]]:
    return [
        {"value": "question", "text": "A question", "checked": chosen != "comment"},
        {"value": "comment", "text": "A comment", "checked": chosen == "comment"},
    ]


def _question_filters(status: str | None, subject: str | None) -> QuestionFilters:
    if status and status not in {"received", "answered"}:
        raise HTTPException(400, f"'{status}' is not a question status (received or answered).")
    if subject and subject not in {k.value for k in svc.SubjectKind}:
        raise HTTPException(400, f"'{subject}' is not a subject (decision, paper or plan).")
    return QuestionFilters(status or None, subject or None)


def _challenge_page(
    request: Request,
    db: Session,
    f: QuestionFilters,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    now = current_time(request.app)
    questions = list_questions(db, f)
    query = urlencode(f.as_query())
    return render(
        request,
        "govconcerns/challenge.html",
        PageMeta("Questions to answer", breadcrumbs=(HOME, GOVERNANCE)),
        data_as_at=now,
        status_code=status_code,
        error=error,
        questions=[
            {"q": q, "tag": question_status_tag(q, now.date()), "asked_by": row[5]}
            for q, row in zip(questions, question_csv_rows(questions), strict=True)
        ],
        csv_href="/governance/challenge.csv" + (f"?{query}" if query else ""),
        statuses=_opts(
            [("received", "Awaiting an answer"), ("answered", "Answered")], f.status, "Any status"
        ),
        subjects=_opts(
            [(k.value, k.label) for k in svc.SubjectKind], f.subject_kind, "Any subject"
        ),
    )


@router.get("/governance/challenge", response_class=HTMLResponse)
def challenge_page(
    request: Request, db: Db, user: Lead, status: Q32 = None, subject: Q32 = None
) -> Response:
    """Questions and comments to answer, oldest due first, with the answer forms."""
    return _challenge_page(request, db, _question_filters(status, subject))


@router.get("/governance/challenge.csv")
def challenge_csv(db: Db, user: Lead, status: Q32 = None, subject: Q32 = None) -> Response:
    """The answer queue as CSV (email addresses are never exported)."""
    questions = list_questions(db, _question_filters(status, subject))
    return csv_response("questions.csv", QUESTION_CSV_COLUMNS, question_csv_rows(questions))


@router.post("/governance/challenge/{reference}/answer", response_class=HTMLResponse)
def answer(
    request: Request,
    reference: str,
    db: Db,
    user: Lead,
    answer: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Record the answer; it is published with the question."""
    found = db.scalar(select(Question).where(Question.reference == reference))
    if found is None:
        raise HTTPException(404, f"There is no question {reference}.")
    try:
        svc.answer_question(
            db, found.id, answer=answer, actor=user.username, now=current_time(request.app)
        )
    except DisputeError as exc:
        db.rollback()
        return _challenge_page(request, db, QuestionFilters(), error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse("/governance/challenge", status_code=303)


def _member_page(
    request: Request,
    db: Session,
    user: CurrentUser,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    form = form or {}
    now = current_time(request.app)
    mine = list_questions(db, QuestionFilters(), username=user.username)
    return render(
        request,
        "govconcerns/questions.html",
        PageMeta("Ask a question or comment", breadcrumbs=(HOME, GOVERNANCE)),
        data_as_at=now,
        status_code=status_code,
        error=error,
        form=form,
        subjects=_subject_items(form.get("subject_kind")),
        kinds=_kind_items(form.get("kind")),
        mine=[{"q": q, "tag": question_status_tag(q, now.date())} for q in mine],
    )


@router.get("/governance/questions", response_class=HTMLResponse)
def member_questions(
    request: Request, db: Db, user: Challenger, subject_kind: Q32 = None, subject_ref: Q32 = None
) -> Response:
    """Non-executives, lay members and councillors: ask, and follow your questions."""
    return _member_page(
        request,
        db,
        user,
        form={"subject_kind": subject_kind or "", "subject_ref": subject_ref or ""},
    )


@router.post("/governance/questions", response_class=HTMLResponse)
def member_ask(
    request: Request,
    db: Db,
    user: Challenger,
    subject_kind: Annotated[str, Form(max_length=16)] = "",
    subject_ref: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=16)] = "question",
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Put a question or comment as a member; tracked until answered."""
    form = {"subject_kind": subject_kind, "subject_ref": subject_ref, "kind": kind, "text": text}
    try:
        svc.ask_question(
            db,
            subject_kind=subject_kind,
            subject_ref=subject_ref,
            kind=kind,
            text=text,
            asker_kind=svc.AskerKind.member,
            asker_name=user.display_name,
            asker_username=user.username,
            asker_role=user.role.label,
            now=current_time(request.app),
        )
    except DisputeError as exc:
        db.rollback()
        return _member_page(request, db, user, form=form, error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse("/governance/questions", status_code=303)


# ------------------------------------------------------------------------------- public


def _public_page(
    request: Request,
    db: Session,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    sent: str | None = None,
    status_code: int = 200,
) -> Response:
    form = form or {}
    now = current_time(request.app)
    answered = list_questions(db, QuestionFilters(), answered_only=True)
    waiting = list_questions(db, QuestionFilters(status="received"))
    return render(
        request,
        "govconcerns/public_questions.html",
        PageMeta("Questions and answers", breadcrumbs=(HOME, _PUBLIC)),
        data_as_at=now,
        status_code=status_code,
        error=error,
        sent=sent,
        form=form,
        subjects=_subject_items(form.get("subject_kind")),
        kinds=_kind_items(form.get("kind")),
        answered=[
            dict(zip(PUBLIC_QUESTION_COLUMNS, row, strict=True))
            for row in public_question_rows(answered)
        ],
        waiting=len(waiting),
        answer_days=svc.concern_rules().answer_days,
    )


@public_router.get("/public/governance/questions", response_class=HTMLResponse)
def public_questions(
    request: Request, db: Db, subject_kind: Q32 = None, subject_ref: Q32 = None, sent: Q32 = None
) -> Response:
    """Answered questions, and the form for anyone to ask one (no sign-in)."""
    return _public_page(
        request,
        db,
        form={"subject_kind": subject_kind or "", "subject_ref": subject_ref or ""},
        # Only a question reference is echoed back (the thank-you after sending one).
        sent=sent if sent and re.fullmatch(r"Q-\d{4,8}", sent) else None,
    )


@public_router.get("/public/governance/questions.csv")
def public_questions_csv(db: Db) -> Response:
    rows = public_question_rows(list_questions(db, QuestionFilters(), answered_only=True))
    return csv_response("questions-and-answers.csv", PUBLIC_QUESTION_COLUMNS, rows)


@public_router.post("/public/governance/questions", response_class=HTMLResponse)
def public_ask(
    request: Request,
    db: Db,
    subject_kind: Annotated[str, Form(max_length=16)] = "",
    subject_ref: Annotated[str, Form(max_length=64)] = "",
    kind: Annotated[str, Form(max_length=16)] = "question",
    text: Annotated[str, Form(max_length=4000)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    """A question from the public: CSRF-protected like every form, and rate-limited."""
    form = {
        "subject_kind": subject_kind,
        "subject_ref": subject_ref,
        "kind": kind,
        "text": text,
        "name": name,
        "email": email,
    }
    secret = request.app.state.settings.secret_key.get_secret_value()
    try:
        question = svc.ask_question(
            db,
            subject_kind=subject_kind,
            subject_ref=subject_ref,
            kind=kind,
            text=text,
            asker_kind=svc.AskerKind.public,
            asker_name=name,
            asker_email=email,
            client=svc.client_key(secret, client_ip(request)),
            now=current_time(request.app),
        )
    except DisputeError as exc:
        db.rollback()
        return _public_page(request, db, form=form, error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse(
        f"/public/governance/questions?sent={question.reference}", status_code=303
    )


@public_router.get("/public/governance/open-data", response_class=HTMLResponse)
def open_data(request: Request, db: Db) -> Response:
    """The published governance registers as CSV and JSON."""
    now = current_time(request.app)
    return render(
        request,
        "govconcerns/open_data.html",
        PageMeta("Governance open data", breadcrumbs=(HOME, _PUBLIC)),
        data_as_at=now,
        datasets=[
            {
                "title": d.title,
                "description": d.description,
                "rows": len(d.build(db, now.date())[1]),
                "csv": Markup(
                    '<a href="/public/governance/open-data/{}.csv" download>CSV</a>'
                ).format(d.name),
                "json": Markup(
                    '<a href="/public/governance/open-data/{}.json" download>JSON</a>'
                ).format(d.name),
            }
            for d in DATASETS
        ],
    )


def _dataset(name: str) -> Any:
    found = dataset(name)
    if found is None:
        raise HTTPException(404, f"There is no open dataset '{name}'.")
    return found


@public_router.get("/public/governance/open-data/{name}.csv")
def open_data_csv(request: Request, name: str, db: Db) -> Response:
    d = _dataset(name)
    columns, rows = d.build(db, current_time(request.app).date())
    return csv_response(f"{d.name}.csv", columns, rows)


@public_router.get("/public/governance/open-data/{name}.json")
def open_data_json(request: Request, name: str, db: Db) -> Response:
    d = _dataset(name)
    now = current_time(request.app)
    columns, rows = d.build(db, now.date())
    body = {
        "dataset": d.name,
        "title": d.title,
        "data_as_at": now.isoformat(),
        "columns": list(columns),
        "rows": json_records(columns, rows),
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{d.name}.json"'},
    )


@api_router.get("/governance/concerns")
def concerns_json(
    request: Request,
    db: Db,
    f: ConcernQuery,
) -> list[dict[str, object]]:
    """Concerns as JSON: the rows of ``/governance/concerns.csv``, with the same filters."""
    rows = list_concerns(db, f, current_time(request.app).date())
    return [dict(zip(CONCERN_CSV_COLUMNS, r, strict=True)) for r in concern_csv_rows(rows)]
