"""Pages of the system plan and the shared risk register, with their public versions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access.permissions import Permission
from wholesystem.access.web import CurrentUser, current_time
from wholesystem.footprint.models import Organisation
from wholesystem.governance.deps import GOVERNANCE, Lead, Viewer
from wholesystem.governance.models import Person
from wholesystem.governance.plan import services as plan
from wholesystem.governance.plan.models import ObjectiveLevel, PlanPriority, PlanVersion
from wholesystem.governance.plan.presenters import (
    OBJECTIVE_CSV_COLUMNS,
    PUBLIC_RISK_CSV_COLUMNS,
    RISK_ACTION_CSV_COLUMNS,
    RISK_CSV_COLUMNS,
    RISK_HISTORY_CSV_COLUMNS,
    TRAJECTORY_CSV_COLUMNS,
    band_tag,
    heat_map_rows,
    objective_csv_rows,
    objective_table_rows,
    risk_action_csv_rows,
    risk_csv_rows,
    risk_history_csv_rows,
    risk_table_rows,
    score_text,
    trajectory_csv_rows,
    trajectory_rows,
)
from wholesystem.governance.plan.scoring import (
    CONSEQUENCE_LABELS,
    LIKELIHOOD_LABELS,
    Band,
    RiskScore,
    Trend,
)
from wholesystem.governance.plan.trajectory import Milestone
from wholesystem.governance.services import place_codes
from wholesystem.metrics.snapshots import current_snapshot
from wholesystem.web.csvfiles import csv_response
from wholesystem.web.rendering import HOME, Crumb, Db, PageMeta, render

__all__ = ["plan_version", "public_router", "risk_filters", "router"]

router = APIRouter(include_in_schema=False)
public_router = APIRouter(include_in_schema=False)
Q = Annotated[str | None, Query(max_length=32)]
F = Annotated[str, Form(max_length=8000)]
_PLAN = Crumb("System plan", "/governance/plan")
_RISKS = Crumb("Shared risk register", "/governance/risks")
_PUBLIC = Crumb("Published governance", "/public/governance/decisions")


# ------------------------------------------------------------------------------- plan


def plan_version(db: Session, number: int | None) -> PlanVersion | None:
    """The current plan, or published version ``number`` (404 if there is none)."""
    if number is None:
        return plan.current_plan(db)
    found = db.scalar(select(PlanVersion).where(PlanVersion.number == number))
    if found is None or found.status != "published":
        raise HTTPException(404, f"There is no published version {number} of the plan.")
    return found


def _plan_page(
    request: Request,
    db: Session,
    *,
    public: bool,
    number: int | None,
    user: CurrentUser | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    version = plan_version(db, number)
    view = plan.plan_view(db, version) if version else None
    base = "/public/governance/plan" if public else "/governance/plan"
    priorities = [
        {
            "title": p.priority.title,
            "description": p.priority.description,
            "system": objective_table_rows(
                [o for o in p.objectives if o.place is None],
                None if public else f"{base}/objectives",
            ),
            "place": objective_table_rows(
                [o for o in p.objectives if o.place is not None],
                None if public else f"{base}/objectives",
            ),
        }
        for p in (view.priorities if view else [])
    ]
    versions = [
        [
            {"text": str(v.number), "format": "numeric"},
            {"text": v.title},
            {"text": f"{v.published_at:%-d %b %Y}" if v.published_at else "Draft"},
            {"text": v.change_note},
        ]
        for v in plan.plan_versions(db)
        if v.status == "published"
    ]
    can_manage = user is not None and user.can(Permission.manage_governance)
    draft = plan.open_draft(db) if can_manage else None
    query = f"?version={number}" if number else ""
    return render(
        request,
        "govplan/plan.html",
        PageMeta("System plan", breadcrumbs=(HOME, _PUBLIC if public else GOVERNANCE)),
        data_as_at=current_time(request.app),
        status_code=status_code,
        view=view,
        priorities=priorities,
        versions=versions,
        public=public,
        can_manage=can_manage,
        draft=draft,
        error=error,
        csv_href=f"{base}.csv{query}",
        versions_csv=f"{base}/versions.csv",
        is_current=number is None or (view is not None and view.version == plan.current_plan(db)),
        today=current_time(request.app).date().isoformat(),
    )


def _plan_csv(db: Session, number: int | None) -> Response:
    version = plan_version(db, number)
    rows = objective_csv_rows(plan.plan_view(db, version)) if version else []
    return csv_response("system-plan.csv", OBJECTIVE_CSV_COLUMNS, rows)


def _versions_csv(db: Session) -> Response:
    rows = [
        [v.number, v.title, v.period_start, v.period_end, v.published_at or "", v.change_note]
        for v in plan.plan_versions(db)
        if v.status == "published"
    ]
    return csv_response(
        "system-plan-versions.csv",
        ("version", "title", "period_start", "period_end", "published_at", "change_note"),
        rows,
    )


@router.get("/governance/plan", response_class=HTMLResponse)
def plan_page(
    request: Request, db: Db, user: Viewer, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """The current (or an earlier) plan: priorities, objectives at system and at place."""
    return _plan_page(request, db, public=False, number=version, user=user)


@router.get("/governance/plan.csv")
def plan_csv(db: Db, user: Viewer, version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """Every objective's metrics against trajectory, as CSV."""
    return _plan_csv(db, version)


@router.get("/governance/plan/versions.csv")
def versions_csv(db: Db, user: Viewer) -> Response:
    """The version history as CSV."""
    return _versions_csv(db)


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise plan.PlanError(field, f"give a date as YYYY-MM-DD, not {text!r}") from None


@router.post("/governance/plan/drafts", response_class=HTMLResponse)
def start_draft(
    request: Request,
    db: Db,
    user: Lead,
    title: F = "",
    vision: F = "",
    period_start: F = "",
    period_end: F = "",
    change_note: F = "",
) -> Response:
    """Start a new version: a draft copy of the current plan to revise."""
    now = current_time(request.app)
    try:
        plan.start_draft(
            db,
            title=title,
            vision=vision,
            period_start=_day(period_start, "period start"),
            period_end=_day(period_end, "period end"),
            change_note=change_note,
            actor=user.username,
            now=now,
        )
    except plan.PlanError as exc:
        db.rollback()
        return _plan_page(
            request, db, public=False, number=None, user=user, error=str(exc), status_code=400
        )
    db.commit()
    return RedirectResponse("/governance/plan/draft", status_code=303)


def _draft_page(
    request: Request,
    db: Session,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    draft = plan.open_draft(db)
    if draft is None:
        raise HTTPException(404, "There is no draft plan. Start a new version from the plan page.")
    view = plan.plan_view(db, draft, with_progress=False)
    people = db.scalars(select(Person).order_by(Person.name))
    orgs = db.scalars(select(Organisation).where(Organisation.active.is_(True)))
    return render(
        request,
        "govplan/draft.html",
        PageMeta(f"Draft version {draft.number}", breadcrumbs=(HOME, GOVERNANCE, _PLAN)),
        data_as_at=current_time(request.app),
        status_code=status_code,
        draft=draft,
        view=view,
        error=error,
        priorities=[{"value": p.priority.id, "text": p.priority.title} for p in view.priorities],
        people=[{"value": p.id, "text": f"{p.name} ({p.job_title})"} for p in people],
        orgs=[{"value": o.code, "text": f"{o.name} ({o.code})"} for o in orgs],
        places=[{"value": "", "text": "Not a place objective"}]
        + [{"value": p, "text": p} for p in place_codes(db)],
    )


@router.get("/governance/plan/draft", response_class=HTMLResponse)
def draft_page(request: Request, db: Db, user: Lead) -> Response:
    """The draft being prepared, with forms to change it and to publish it."""
    return _draft_page(request, db)


def _draft_id(db: Session) -> int:
    draft = plan.open_draft(db)
    if draft is None:
        raise HTTPException(404, "There is no draft plan.")
    return draft.id


def _draft_write(request: Request, db: Session, action: Any) -> Response:
    try:
        action()
    except plan.PlanError as exc:
        db.rollback()
        return _draft_page(request, db, error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse("/governance/plan/draft", status_code=303)


@router.post("/governance/plan/draft/details", response_class=HTMLResponse)
def draft_details(
    request: Request,
    db: Db,
    user: Lead,
    title: F = "",
    vision: F = "",
    period_start: F = "",
    period_end: F = "",
    change_note: F = "",
) -> Response:
    """Change the draft's title, vision, period and change note."""
    draft_id, now = _draft_id(db), current_time(request.app)
    return _draft_write(
        request,
        db,
        lambda: plan.update_draft(
            db,
            draft_id,
            title=title,
            vision=vision,
            period_start=_day(period_start, "period start"),
            period_end=_day(period_end, "period end"),
            change_note=change_note,
            actor=user.username,
            now=now,
        ),
    )


@router.post("/governance/plan/draft/priorities", response_class=HTMLResponse)
def draft_priority(
    request: Request, db: Db, user: Lead, title: F = "", description: F = ""
) -> Response:
    """Add a priority to the draft."""
    draft_id, now = _draft_id(db), current_time(request.app)
    return _draft_write(
        request,
        db,
        lambda: plan.add_priority(
            db, draft_id, title=title, description=description, actor=user.username, now=now
        ),
    )


def parse_trajectories(text: str) -> dict[str, list[Milestone]]:
    """Lines of ``metric_id YYYY-MM-DD target`` into milestones by metric (in order seen)."""
    out: dict[str, list[Milestone]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            raise plan.PlanError(
                "trajectories", f"line {n}: write 'metric_id YYYY-MM-DD target', not {line!r}"
            )
        metric_id, due, target = parts
        try:
            milestone = Milestone(date.fromisoformat(due), Decimal(target))
        except (ValueError, InvalidOperation):
            raise plan.PlanError(
                "trajectories", f"line {n}: {due!r} is not a date or {target!r} is not a number"
            ) from None
        out.setdefault(metric_id, []).append(milestone)
    return out


@router.post("/governance/plan/draft/objectives", response_class=HTMLResponse)
def draft_objective(
    request: Request,
    db: Db,
    user: Lead,
    priority: F = "",
    ref: F = "",
    title: F = "",
    description: F = "",
    level: F = "",
    place: F = "",
    owner_org: F = "",
    owner: F = "",
    trajectories: F = "",
) -> Response:
    """Add an objective with its metrics and trajectories to the draft."""
    draft_id, now = _draft_id(db), current_time(request.app)

    def add() -> None:
        try:
            lvl = ObjectiveLevel(level)
        except ValueError:
            raise plan.PlanError("level", "choose system or place") from None
        if not priority.isdigit() or db.get(PlanPriority, int(priority)) is None:
            raise plan.PlanError("priority", "choose one of the draft's priorities")
        if not owner.isdigit():
            raise plan.PlanError("owner", "choose the person who owns the objective")
        plan.add_objective(
            db,
            draft_id,
            priority_id=int(priority),
            ref=ref,
            title=title,
            description=description,
            level=lvl,
            place_code=place or None,
            owner_org_code=owner_org,
            owner_person_id=int(owner),
            metrics=parse_trajectories(trajectories),
            actor=user.username,
            now=now,
        )

    return _draft_write(request, db, add)


@router.post("/governance/plan/draft/objectives/{objective_id}/remove", response_class=HTMLResponse)
def draft_remove_objective(request: Request, objective_id: int, db: Db, user: Lead) -> Response:
    """Take an objective out of the draft."""
    now = current_time(request.app)
    return _draft_write(
        request,
        db,
        lambda: plan.remove_objective(db, objective_id, actor=user.username, now=now),
    )


@router.post("/governance/plan/draft/publish", response_class=HTMLResponse)
def draft_publish(request: Request, db: Db, user: Lead) -> Response:
    """Publish the draft; it becomes the current plan and cannot be changed."""
    draft_id, now = _draft_id(db), current_time(request.app)
    try:
        plan.publish_plan(db, draft_id, actor=user.username, now=now)
    except plan.PlanError as exc:
        db.rollback()
        return _draft_page(request, db, error=str(exc), status_code=400)
    db.commit()
    return RedirectResponse("/governance/plan", status_code=303)


@router.post("/governance/plan/draft/discard", response_class=HTMLResponse)
def draft_discard(request: Request, db: Db, user: Lead) -> Response:
    """Throw the draft away."""
    draft_id, now = _draft_id(db), current_time(request.app)
    plan.discard_draft(db, draft_id, actor=user.username, now=now)
    db.commit()
    return RedirectResponse("/governance/plan", status_code=303)


def _objective(db: Session, objective_id: int) -> tuple[PlanVersion, plan.ObjectiveView]:
    found = plan.objective_view(db, objective_id)
    if found is None or found[0].status != "published":
        raise HTTPException(404, f"There is no published objective {objective_id}.")
    return found


@router.get("/governance/plan/objectives/{objective_id}", response_class=HTMLResponse)
def objective_page(request: Request, objective_id: int, db: Db, user: Viewer) -> Response:
    """One objective: owners, level, each metric's latest value against its trajectory."""
    version, o = _objective(db, objective_id)
    snapshot = current_snapshot(db)
    risks = plan.list_risks(db, plan.RiskFilters(objective=o.objective.ref, status=None))
    return render(
        request,
        "govplan/objective.html",
        PageMeta(f"{o.objective.ref}: {o.objective.title}", breadcrumbs=(HOME, GOVERNANCE, _PLAN)),
        data_as_at=snapshot.published_at if snapshot else current_time(request.app),
        version=version,
        o=o,
        snapshot=snapshot,
        metrics=trajectory_rows(o),
        csv_href=f"/governance/plan/objectives/{objective_id}/trajectory.csv",
        risks=risk_table_rows(risks, "/governance/risks", public=False),
    )


@router.get("/governance/plan/objectives/{objective_id}/trajectory.csv")
def objective_csv(objective_id: int, db: Db, user: Viewer) -> Response:
    """The objective's trajectories as CSV."""
    _, o = _objective(db, objective_id)
    return csv_response(
        f"trajectory-{o.objective.ref}.csv", TRAJECTORY_CSV_COLUMNS, trajectory_csv_rows(o)
    )


# ------------------------------------------------------------------------------ risks


def risk_filters(
    band: str | None,
    org: str | None,
    trend: str | None,
    objective: str | None,
    likelihood: str | None,
    consequence: str | None,
    status: str | None,
) -> plan.RiskFilters:
    """The register's filters from the query string (400 naming a bad value)."""

    def one_to_five(name: str, value: str | None) -> int | None:
        if not value:
            return None
        if value not in {"1", "2", "3", "4", "5"}:
            raise HTTPException(400, f"{name} is a whole number from 1 to 5, not '{value}'.")
        return int(value)

    try:
        return plan.RiskFilters(
            band=Band(band) if band else None,
            org=org or None,
            trend=Trend(trend) if trend else None,
            objective=(objective or "").upper() or None,
            likelihood=one_to_five("Likelihood", likelihood),
            consequence=one_to_five("Consequence", consequence),
            status=status if status in {"closed", "all"} else "open",
        )
    except ValueError:
        raise HTTPException(400, "That is not a risk band or a trend.") from None


def _risks_page(
    request: Request,
    db: Session,
    f: plan.RiskFilters,
    *,
    public: bool,
    user: CurrentUser | None = None,
) -> Response:
    views = plan.list_risks(db, f)
    every = plan.list_risks(db, plan.RiskFilters(status=f.status))
    base = "/public/governance/risks" if public else "/governance/risks"
    query = urlencode(f.as_query())
    orgs = sorted({(v.owner_org.code, v.owner_org.name) for v in every}, key=lambda x: x[1])

    def opts(pairs: list[tuple[str, str]], chosen: str | None, empty: str) -> list[Any]:
        return [{"value": "", "text": empty}] + [
            {"value": v, "text": t, "selected": v == chosen} for v, t in pairs
        ]

    return render(
        request,
        "govplan/risks.html",
        PageMeta("Shared risk register", breadcrumbs=(HOME, _PUBLIC if public else GOVERNANCE)),
        data_as_at=current_time(request.app),
        rows=risk_table_rows(views, base, public=public),
        count=len(views),
        heat=heat_map_rows(plan.heat_map(every), base),
        consequences=CONSEQUENCE_LABELS,
        public=public,
        base=base,
        csv_href=f"{base}.csv" + (f"?{query}" if query else ""),
        filtered=bool(query),
        bands=opts(
            [(b.value, f"{b.label} ({b.range_text})") for b in Band],
            f.band and f.band.value,
            "All bands",
        ),
        orgs=opts(orgs, f.org, "All organisations"),
        trends=opts([(t.value, t.label) for t in Trend], f.trend and f.trend.value, "All trends"),
        statuses=opts(
            [("closed", "Closed"), ("all", "Open and closed")],
            f.status if f.status != "open" else None,
            "Open",
        ),
        likelihood=f.likelihood,
        consequence=f.consequence,
        objective=f.objective or "",
        can_manage=user is not None and user.can(Permission.manage_governance),
    )


@router.get("/governance/risks", response_class=HTMLResponse)
def risks_page(
    request: Request,
    db: Db,
    user: Viewer,
    band: Q = None,
    org: Q = None,
    trend: Q = None,
    objective: Q = None,
    likelihood: Q = None,
    consequence: Q = None,
    status: Q = None,
) -> Response:
    """The register with a 5x5 heat map; filters kept in the URL."""
    f = risk_filters(band, org, trend, objective, likelihood, consequence, status)
    return _risks_page(request, db, f, public=False, user=user)


@router.get("/governance/risks.csv")
def risks_csv(
    db: Db,
    user: Viewer,
    band: Q = None,
    org: Q = None,
    trend: Q = None,
    objective: Q = None,
    likelihood: Q = None,
    consequence: Q = None,
    status: Q = None,
) -> Response:
    """The register as CSV, with the same filters."""
    f = risk_filters(band, org, trend, objective, likelihood, consequence, status)
    views = plan.list_risks(db, f)
    return csv_response("risk-register.csv", RISK_CSV_COLUMNS, risk_csv_rows(views, public=False))


# Where the error summary sends the reader for each field a refusal names.
_FIELD_IDS = {
    "title": "title",
    "description": "description",
    "owner organisation": "owner_org",
    "owner": "owner",
    "likelihood": "likelihood",
    "consequence": "consequence",
    "target likelihood": "target_likelihood",
    "target consequence": "target_consequence",
    "target score": "target_likelihood",
    "rationale": "rationale",
    "opened on": "opened_on",
    "linked objective": "objectives",
    "scored on": "scored_on",
    "action": "description",
    "action owner": "action_owner",
    "due date": "due_on",
    "control": "control",
    "closing note": "closing_note",
    "closed on": "closed_on",
}


def _error(exc: plan.PlanError) -> dict[str, str]:
    return {"text": str(exc), "href": f"#{_FIELD_IDS.get(exc.field, 'maincontent')}"}


def _choices(pairs: list[tuple[str, str]], chosen: str, empty: str) -> list[dict[str, Any]]:
    return [{"value": "", "text": empty}] + [
        {"value": v, "text": t, "selected": v == chosen} for v, t in pairs
    ]


def _new_risk_page(
    request: Request,
    db: Session,
    *,
    form: dict[str, str] | None = None,
    linked: list[str] | None = None,
    error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    form = form or {}
    now = current_time(request.app)
    refs = plan.current_objective_refs(db)
    scale = [(str(k), f"{k} {t}") for k, t in LIKELIHOOD_LABELS.items()]
    cons = [(str(k), f"{k} {t}") for k, t in CONSEQUENCE_LABELS.items()]
    orgs = db.scalars(select(Organisation).where(Organisation.active.is_(True)))
    people = db.scalars(select(Person).order_by(Person.name))
    return render(
        request,
        "govplan/risk_new.html",
        PageMeta("Add a shared risk", breadcrumbs=(HOME, GOVERNANCE, _RISKS)),
        status_code=status_code,
        form=form,
        error=error,
        orgs=_choices(
            [(o.code, f"{o.name} ({o.code})") for o in orgs],
            form.get("owner_org", ""),
            "Choose the organisation",
        ),
        people=_choices(
            [(str(p.id), f"{p.name} ({p.job_title})") for p in people],
            form.get("owner", ""),
            "Choose the owner",
        ),
        likelihoods=_choices(scale, form.get("likelihood", ""), "Choose"),
        consequences=_choices(cons, form.get("consequence", ""), "Choose"),
        target_likelihoods=_choices(scale, form.get("target_likelihood", ""), "Choose"),
        target_consequences=_choices(cons, form.get("target_consequence", ""), "Choose"),
        objectives=[
            {"value": ref, "text": f"{ref}: {o.title}", "checked": ref in (linked or [])}
            for ref, o in sorted(refs.items(), key=lambda kv: (len(kv[0]), kv[0]))
        ],
        today=form.get("opened_on") or now.date().isoformat(),
    )


@router.get("/governance/risks/new", response_class=HTMLResponse)
def new_risk(request: Request, db: Db, user: Lead) -> Response:
    """The form to add a shared risk with its first score, target, controls and objectives."""
    return _new_risk_page(request, db)


@router.post("/governance/risks", response_class=HTMLResponse)
async def create_risk(request: Request, db: Db, user: Lead) -> Response:
    """Add a risk from the form; refused with the field at fault, nothing saved."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if k != "csrf_token" and isinstance(v, str)}
    linked = [str(v) for v in raw.getlist("objectives")]
    now = current_time(request.app)
    try:
        owner = form.get("owner", "").strip()
        if not owner.isdigit():
            raise plan.PlanError("owner", "choose the person who owns the risk")
        opened = form.get("opened_on", "").strip()
        risk = plan.create_risk(
            db,
            title=form.get("title", ""),
            description=form.get("description", ""),
            owner_org_code=form.get("owner_org", "").strip(),
            owner_person_id=int(owner),
            likelihood=_int(form.get("likelihood", "")),
            consequence=_int(form.get("consequence", "")),
            target_likelihood=_int(form.get("target_likelihood", "")),
            target_consequence=_int(form.get("target_consequence", "")),
            rationale=form.get("rationale", ""),
            opened_on=_day(opened, "opened on") if opened else now.date(),
            controls=form.get("controls", "").splitlines(),
            objective_refs=linked,
            actor=user.username,
            now=now,
        )
    except plan.PlanError as exc:
        db.rollback()
        return _new_risk_page(
            request, db, form=form, linked=linked, error=_error(exc), status_code=400
        )
    db.commit()
    return RedirectResponse(f"/governance/risks/{risk.id}", status_code=303)


def _risk_page(
    request: Request,
    db: Session,
    risk_id: int,
    user: CurrentUser,
    *,
    error: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    v = plan.risk_view(db, risk_id)
    if v is None:
        raise HTTPException(404, f"There is no risk {risk_id}.")
    refs = plan.current_objective_refs(db)
    history = []
    previous: int | None = None
    for s in v.scores:
        value = s.likelihood * s.consequence
        change = (
            ""
            if previous is None
            else ("Up" if value > previous else "Down" if value < previous else "No change")
        )
        history.append(
            [
                {"text": f"{s.scored_on:%-d %b %Y}"},
                {"text": str(s.likelihood), "format": "numeric"},
                {"text": str(s.consequence), "format": "numeric"},
                {"html": band_tag(RiskScore(s.likelihood, s.consequence))},
                {"text": change},
                {"text": s.rationale},
                {"text": s.recorded_by},
            ]
        )
        previous = value
    now = current_time(request.app)
    return render(
        request,
        "govplan/risk.html",
        PageMeta(f"{v.risk.reference}: {v.risk.title}", breadcrumbs=(HOME, GOVERNANCE, _RISKS)),
        data_as_at=now,
        status_code=status_code,
        v=v,
        current=score_text(v.current),
        target=score_text(v.target),
        current_tag=band_tag(v.current),
        history=list(reversed(history)),
        actions=[
            {
                "id": a.id,
                "row": [
                    {"text": a.description},
                    {"text": p.name},
                    {"text": f"{a.due_on:%-d %b %Y}"},
                    {
                        "text": f"Done {a.done_on:%-d %b %Y}"
                        if a.done_on
                        else ("Overdue" if a.due_on < now.date() else "Open")
                    },
                ],
                "open": a.done_on is None,
            }
            for a, p in v.actions
        ],
        objectives=[
            {"ref": r, "href": f"/governance/plan/objectives/{refs[r].id}" if r in refs else None}
            for r in v.objective_refs
        ],
        can_manage=user.can(Permission.manage_governance),
        error=error,
        likelihoods=[{"value": k, "text": f"{k} {t}"} for k, t in LIKELIHOOD_LABELS.items()],
        consequences=[{"value": k, "text": f"{k} {t}"} for k, t in CONSEQUENCE_LABELS.items()],
        people=[
            {"value": p.id, "text": f"{p.name} ({p.job_title})"}
            for p in db.scalars(select(Person).order_by(Person.name))
        ],
        today=now.date().isoformat(),
    )


@router.get("/governance/risks/{risk_id}", response_class=HTMLResponse)
def risk_page(request: Request, risk_id: int, db: Db, user: Viewer) -> Response:
    """One risk: scores over time, controls, actions and the plan objectives it threatens."""
    return _risk_page(request, db, risk_id, user)


@router.get("/governance/risks/{risk_id}/history.csv")
def risk_history_csv(risk_id: int, db: Db, user: Viewer) -> Response:
    """Every score of the risk, oldest first."""
    v = plan.risk_view(db, risk_id)
    if v is None:
        raise HTTPException(404, f"There is no risk {risk_id}.")
    return csv_response(
        f"risk-{v.risk.reference}-history.csv",
        RISK_HISTORY_CSV_COLUMNS,
        risk_history_csv_rows(v),
    )


@router.get("/governance/risks/{risk_id}/actions.csv")
def risk_actions_csv(risk_id: int, db: Db, user: Viewer) -> Response:
    """The risk's actions, with owners and due dates."""
    v = plan.risk_view(db, risk_id)
    if v is None:
        raise HTTPException(404, f"There is no risk {risk_id}.")
    return csv_response(
        f"risk-{v.risk.reference}-actions.csv", RISK_ACTION_CSV_COLUMNS, risk_action_csv_rows(v)
    )


def _risk_write(
    request: Request, db: Session, risk_id: int, user: CurrentUser, action: Any
) -> Response:
    if plan.risk_view(db, risk_id) is None:
        raise HTTPException(404, f"There is no risk {risk_id}.")
    try:
        action()
    except plan.PlanError as exc:
        db.rollback()
        return _risk_page(request, db, risk_id, user, error=_error(exc), status_code=400)
    db.commit()
    return RedirectResponse(f"/governance/risks/{risk_id}", status_code=303)


def _int(value: str) -> object:
    # Left as text when not a whole number, so the scoring check names the field and value.
    return int(value) if value.strip().lstrip("-").isdigit() else value


@router.post("/governance/risks/{risk_id}/scores", response_class=HTMLResponse)
def rescore(
    request: Request,
    risk_id: int,
    db: Db,
    user: Lead,
    likelihood: F = "",
    consequence: F = "",
    scored_on: F = "",
    rationale: F = "",
) -> Response:
    """Re-score the risk (a new row in its history)."""
    now = current_time(request.app)
    return _risk_write(
        request,
        db,
        risk_id,
        user,
        lambda: plan.rescore_risk(
            db,
            risk_id,
            likelihood=_int(likelihood),
            consequence=_int(consequence),
            scored_on=_day(scored_on, "scored on") if scored_on else now.date(),
            rationale=rationale,
            actor=user.username,
            now=now,
        ),
    )


@router.post("/governance/risks/{risk_id}/actions", response_class=HTMLResponse)
def add_action(
    request: Request,
    risk_id: int,
    db: Db,
    user: Lead,
    description: F = "",
    owner: F = "",
    due_on: F = "",
) -> Response:
    """Add an action with its owner and due date."""
    now = current_time(request.app)

    def add() -> None:
        if not owner.isdigit():
            raise plan.PlanError("action owner", "choose who owns the action")
        plan.add_action(
            db,
            risk_id,
            description=description,
            owner_person_id=int(owner),
            due_on=_day(due_on, "due date"),
            actor=user.username,
            now=now,
        )

    return _risk_write(request, db, risk_id, user, add)


@router.post("/governance/risks/{risk_id}/actions/{action_id}/done", response_class=HTMLResponse)
def action_done(request: Request, risk_id: int, action_id: int, db: Db, user: Lead) -> Response:
    """Mark an action done today."""
    now = current_time(request.app)
    return _risk_write(
        request,
        db,
        risk_id,
        user,
        lambda: plan.complete_action(
            db, action_id, done_on=now.date(), actor=user.username, now=now
        ),
    )


@router.post("/governance/risks/{risk_id}/controls", response_class=HTMLResponse)
def add_control(
    request: Request, risk_id: int, db: Db, user: Lead, description: F = ""
) -> Response:
    """Record a control now in place."""
    now = current_time(request.app)
    return _risk_write(
        request,
        db,
        risk_id,
        user,
        lambda: plan.add_control(
            db, risk_id, description=description, actor=user.username, now=now
        ),
    )


@router.post("/governance/risks/{risk_id}/close", response_class=HTMLResponse)
def close_risk(
    request: Request,
    risk_id: int,
    db: Db,
    user: Lead,
    closing_note: F = "",
    closed_on: F = "",
) -> Response:
    """Close the risk with a note; it stays readable, out of the register's default view."""
    now = current_time(request.app)
    return _risk_write(
        request,
        db,
        risk_id,
        user,
        lambda: plan.close_risk(
            db,
            risk_id,
            note=closing_note,
            closed_on=_day(closed_on, "closed on") if closed_on.strip() else now.date(),
            actor=user.username,
            now=now,
        ),
    )


# ----------------------------------------------------------------------------- public


@public_router.get("/public/governance/plan", response_class=HTMLResponse)
def public_plan(
    request: Request, db: Db, version: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    """The published system plan (no sign-in)."""
    return _plan_page(request, db, public=True, number=version)


@public_router.get("/public/governance/plan.csv")
def public_plan_csv(db: Db, version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    return _plan_csv(db, version)


@public_router.get("/public/governance/plan/versions.csv")
def public_versions_csv(db: Db) -> Response:
    return _versions_csv(db)


@public_router.get("/public/governance/risks", response_class=HTMLResponse)
def public_risks(
    request: Request,
    db: Db,
    band: Q = None,
    org: Q = None,
    trend: Q = None,
    likelihood: Q = None,
    consequence: Q = None,
) -> Response:
    """System risks as published in board papers: title, scores, owner organisation, trend."""
    f = risk_filters(band, org, trend, None, likelihood, consequence, None)
    return _risks_page(request, db, f, public=True)


@public_router.get("/public/governance/risks.csv")
def public_risks_csv(
    db: Db,
    band: Q = None,
    org: Q = None,
    trend: Q = None,
    likelihood: Q = None,
    consequence: Q = None,
) -> Response:
    f = risk_filters(band, org, trend, None, likelihood, consequence, None)
    views = plan.list_risks(db, f)
    return csv_response(
        "risk-register.csv", PUBLIC_RISK_CSV_COLUMNS, risk_csv_rows(views, public=True)
    )
