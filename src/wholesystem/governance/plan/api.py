"""The system plan and the shared risk register as JSON, under ``/api/v1/governance``.

Each list holds the same rows as the matching CSV file, keyed by the CSV's column names: the
rows are built once by the presenters (``objective_csv_rows``, ``trajectory_csv_rows``,
``risk_csv_rows``) and both the CSV and the JSON write them, so the two cannot disagree.
``/governance/plan`` adds the version, its priorities and objectives; one risk adds its
score history, controls and actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel
from sqlalchemy import select

from wholesystem.access.permissions import Permission
from wholesystem.access.web import require
from wholesystem.governance.plan import services as plan
from wholesystem.governance.plan.models import Risk
from wholesystem.governance.plan.presenters import (
    OBJECTIVE_CSV_COLUMNS,
    RISK_ACTION_CSV_COLUMNS,
    RISK_CSV_COLUMNS,
    RISK_HISTORY_CSV_COLUMNS,
    TRAJECTORY_CSV_COLUMNS,
    objective_csv_rows,
    risk_action_csv_rows,
    risk_csv_rows,
    risk_history_csv_rows,
    trajectory_csv_rows,
)
from wholesystem.governance.plan.routes import plan_version, risk_filters
from wholesystem.web.rendering import Db

__all__ = ["api_router"]

api_router = APIRouter(
    dependencies=[Depends(require(Permission.view_dashboard))], tags=["governance"]
)
Q = Annotated[str | None, Query(max_length=32)]


def _keyed(columns: Sequence[str], rows: list[list[object]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


class VersionOut(BaseModel):
    """The plan version shown."""

    number: int
    title: str
    vision: str
    period_start: date
    period_end: date
    published_at: datetime | None
    published_by: str | None
    change_note: str
    is_current: bool


class PriorityOut(BaseModel):
    position: int
    title: str
    description: str
    objectives: list[str]


class ObjectiveOut(BaseModel):
    """An objective: who owns it, where the work is done, and what measures it."""

    ref: str
    priority: str
    title: str
    description: str
    level: str
    place: str | None
    owner_organisation: str
    owner: str
    metrics: list[str]


class PlanMetricRow(BaseModel):
    """A row of ``/governance/plan.csv``: one metric of one objective against trajectory."""

    plan_version: int
    priority: str
    objective_ref: str
    objective: str
    level: str
    place: str
    owner_organisation: str
    owner: str
    metric_id: str
    metric: str
    latest_period_end: str
    latest_value: str
    target_due: str
    status: str


class TrajectoryRow(BaseModel):
    """A row of an objective's ``trajectory.csv``: one milestone."""

    objective_ref: str
    metric_id: str
    metric: str
    due_on: str
    target: str


class PlanOut(BaseModel):
    version: VersionOut
    snapshot_published_at: datetime | None
    priorities: list[PriorityOut]
    objectives: list[ObjectiveOut]
    metrics: list[PlanMetricRow]
    trajectories: list[TrajectoryRow]


class RiskRow(BaseModel):
    """A row of ``/governance/risks.csv``."""

    reference: str
    title: str
    status: str
    owner_organisation: str
    owner: str
    likelihood: int
    consequence: int
    score: int
    band: str
    target_score: int
    target_band: str
    trend: str
    last_scored: str
    objectives: str
    open_actions: int


class ScoreRow(BaseModel):
    """A row of a risk's ``history.csv``."""

    reference: str
    scored_on: date
    likelihood: int
    consequence: int
    score: int
    band: str
    rationale: str
    recorded_by: str


class ActionRow(BaseModel):
    """A row of a risk's ``actions.csv``."""

    reference: str
    action: str
    owner: str
    due_on: date
    done_on: date | None


class ControlOut(BaseModel):
    description: str
    added_at: datetime
    added_by: str


class RiskDetailOut(RiskRow):
    id: int
    description: str
    owner_organisation_name: str
    target_likelihood: int
    target_consequence: int
    opened_on: date
    closed_on: date | None
    closed_by: str | None
    closing_note: str | None
    history: list[ScoreRow]
    controls: list[ControlOut]
    actions: list[ActionRow]


@api_router.get("/governance/plan", response_model=PlanOut)
def api_plan(db: Db, version: Annotated[int | None, Query(ge=1)] = None) -> PlanOut:
    """The current (or an earlier published) plan with progress on every metric."""
    found = plan_version(db, version)
    if found is None:
        raise HTTPException(404, "No version of the system plan has been published yet.")
    view = plan.plan_view(db, found)
    current = plan.current_plan(db)
    return PlanOut(
        version=VersionOut(
            number=found.number,
            title=found.title,
            vision=found.vision,
            period_start=found.period_start,
            period_end=found.period_end,
            published_at=found.published_at,
            published_by=found.published_by,
            change_note=found.change_note,
            is_current=current is not None and current.id == found.id,
        ),
        snapshot_published_at=view.snapshot.published_at if view.snapshot else None,
        priorities=[
            PriorityOut(
                position=p.priority.position,
                title=p.priority.title,
                description=p.priority.description,
                objectives=[o.objective.ref for o in p.objectives],
            )
            for p in view.priorities
        ],
        objectives=[
            ObjectiveOut(
                ref=o.objective.ref,
                priority=p.priority.title,
                title=o.objective.title,
                description=o.objective.description,
                level=o.objective.level,
                place=o.objective.place_code,
                owner_organisation=o.objective.owner_org_code,
                owner=o.owner.name,
                metrics=[m.metric.id for m in o.metrics],
            )
            for p in view.priorities
            for o in p.objectives
        ],
        metrics=[
            PlanMetricRow.model_validate(r)
            for r in _keyed(OBJECTIVE_CSV_COLUMNS, objective_csv_rows(view))
        ],
        trajectories=[
            TrajectoryRow.model_validate(r)
            for o in view.objectives
            for r in _keyed(TRAJECTORY_CSV_COLUMNS, trajectory_csv_rows(o))
        ],
    )


@api_router.get("/governance/risks", response_model=list[RiskRow])
def api_risks(
    db: Db,
    band: Q = None,
    org: Q = None,
    trend: Q = None,
    objective: Q = None,
    likelihood: Q = None,
    consequence: Q = None,
    status: Q = None,
) -> list[RiskRow]:
    """The register, highest score first, filtered like the page and the CSV (open by default)."""
    f = risk_filters(band, org, trend, objective, likelihood, consequence, status)
    views = plan.list_risks(db, f)
    return [
        RiskRow.model_validate(r)
        for r in _keyed(RISK_CSV_COLUMNS, risk_csv_rows(views, public=False))
    ]


@api_router.get("/governance/risks/{risk}", response_model=RiskDetailOut)
def api_risk(risk: Annotated[str, Path(max_length=16)], db: Db) -> RiskDetailOut:
    """One risk, open or closed, by id or reference (``R001``): history, controls, actions."""
    # Nine digits at most, so an id can never overflow the database's integer column.
    risk_id = (
        (int(risk) if len(risk) <= 9 else None)
        if risk.isdigit()
        else db.scalar(select(Risk.id).where(Risk.reference == risk.upper()))
    )
    v = plan.risk_view(db, risk_id) if risk_id is not None else None
    if v is None:
        raise HTTPException(404, f"There is no risk {risk}.")
    (row,) = _keyed(RISK_CSV_COLUMNS, risk_csv_rows([v], public=False))
    return RiskDetailOut(
        **row,
        id=v.risk.id,
        description=v.risk.description,
        owner_organisation_name=v.owner_org.name,
        target_likelihood=v.risk.target_likelihood,
        target_consequence=v.risk.target_consequence,
        opened_on=v.risk.opened_on,
        closed_on=v.risk.closed_on,
        closed_by=v.risk.closed_by,
        closing_note=v.risk.closing_note,
        history=[
            ScoreRow.model_validate(r)
            for r in _keyed(RISK_HISTORY_CSV_COLUMNS, risk_history_csv_rows(v))
        ],
        controls=[
            ControlOut(description=c.description, added_at=c.added_at, added_by=c.added_by)
            for c in v.controls
        ],
        actions=[
            ActionRow.model_validate(r)
            for r in _keyed(RISK_ACTION_CSV_COLUMNS, risk_action_csv_rows(v))
        ],
    )
