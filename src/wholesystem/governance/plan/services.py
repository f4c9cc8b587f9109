"""System plan and risk register operations on the database, and the reads the pages use.

Each write works in the caller's transaction (the caller commits), checks everything first
and raises :class:`PlanError` naming the field at fault *before* writing, so a refused
request changes nothing. Every write is audited.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wholesystem.footprint.models import Area, Level, Organisation
from wholesystem.governance.models import Person
from wholesystem.governance.plan.models import (
    ObjectiveLevel,
    PlanMetric,
    PlanMilestone,
    PlanObjective,
    PlanPriority,
    PlanStatus,
    PlanVersion,
    Risk,
    RiskAction,
    RiskControl,
    RiskObjective,
    RiskScoreRow,
)
from wholesystem.governance.plan.scoring import (
    Band,
    RiskScore,
    ScoreError,
    Trend,
    check_target,
    score,
    trend,
)
from wholesystem.governance.plan.trajectory import (
    Assessment,
    Milestone,
    TrajectoryError,
    assess,
    check_milestones,
)
from wholesystem.governance.services import GovernanceError, place_codes, record_audit
from wholesystem.metrics.catalogue import Frequency, Metric, MetricLevel, by_id
from wholesystem.metrics.snapshots import SnapshotInfo, current_snapshot, series

__all__ = [
    "MetricProgress",
    "ObjectiveView",
    "PlanError",
    "PlanView",
    "RiskFilters",
    "RiskView",
    "add_action",
    "add_control",
    "add_objective",
    "add_priority",
    "check_metric",
    "close_risk",
    "complete_action",
    "create_risk",
    "current_objective_refs",
    "current_plan",
    "discard_draft",
    "heat_map",
    "list_risks",
    "objective_view",
    "open_draft",
    "period_end",
    "plan_versions",
    "plan_view",
    "publish_plan",
    "remove_objective",
    "rescore_risk",
    "risk_view",
    "start_draft",
    "system_area_code",
    "update_draft",
]

PLACE_LEVELS = {MetricLevel.place, MetricLevel.neighbourhood}


class PlanError(GovernanceError):
    """A plan or risk request refused; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _audit(
    session: Session, actor: str, action: str, kind: str, oid: object, now: datetime, **detail: Any
) -> None:
    record_audit(session, actor, action, kind, oid, now, detail)


def _text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise PlanError(field, "cannot be blank")
    if len(value) > limit:
        raise PlanError(field, f"is {len(value)} characters; the most is {limit}")
    return value


def _org(session: Session, field: str, code: str) -> str:
    if session.get(Organisation, code) is None:
        raise PlanError(field, f"there is no partner organisation with code {code!r}")
    return code


def _person(session: Session, field: str, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise PlanError(field, f"there is no person with id {person_id}")
    return person


# ------------------------------------------------------------------------------- plan


def current_plan(session: Session) -> PlanVersion | None:
    """The newest published version, or None before the first is published."""
    return session.scalars(
        select(PlanVersion)
        .where(PlanVersion.status == PlanStatus.published.value)
        .order_by(PlanVersion.number.desc())
        .limit(1)
    ).first()


def open_draft(session: Session) -> PlanVersion | None:
    """The draft being prepared (there is at most one)."""
    return session.scalars(
        select(PlanVersion).where(PlanVersion.status == PlanStatus.draft.value)
    ).first()


def plan_versions(session: Session) -> list[PlanVersion]:
    """Every version, newest first."""
    return list(session.scalars(select(PlanVersion).order_by(PlanVersion.number.desc())))


def _draft(session: Session, version_id: int) -> PlanVersion:
    version = session.get(PlanVersion, version_id)
    if version is None:
        raise PlanError("version", f"there is no plan version with id {version_id}")
    if version.status != PlanStatus.draft.value:
        raise PlanError(
            "version",
            f"version {version.number} is published and published versions are immutable; "
            "start a new version to revise it",
        )
    return version


def _period(start: date, end: date) -> None:
    if end <= start:
        raise PlanError("period end", "must be after the period start")


def start_draft(
    session: Session,
    *,
    title: str,
    vision: str,
    period_start: date,
    period_end: date,
    change_note: str,
    actor: str,
    now: datetime,
) -> PlanVersion:
    """A new draft version: a copy of the current published plan (if any) to revise."""
    existing = open_draft(session)
    if existing is not None:
        raise PlanError(
            "version", f"version {existing.number} is already in draft; finish or discard it"
        )
    title = _text("title", title, 200)
    vision = _text("vision", vision, 8000)
    change_note = _text("change note", change_note, 4000)
    _period(period_start, period_end)
    number = (session.scalar(select(func.max(PlanVersion.number))) or 0) + 1
    draft = PlanVersion(
        number=number,
        title=title,
        vision=vision,
        period_start=period_start,
        period_end=period_end,
        status=PlanStatus.draft.value,
        change_note=change_note,
        created_at=now,
        created_by=actor,
    )
    session.add(draft)
    session.flush()
    base = current_plan(session)
    if base is not None:
        _copy_contents(session, base, draft)
    _audit(
        session,
        actor,
        "draft",
        "governance_plan",
        number,
        now,
        based_on=base.number if base else None,
    )
    return draft


def _copy_contents(session: Session, source: PlanVersion, target: PlanVersion) -> None:
    view = plan_view(session, source, with_progress=False)
    for p in view.priorities:
        priority = PlanPriority(
            version_id=target.id,
            position=p.priority.position,
            title=p.priority.title,
            description=p.priority.description,
        )
        session.add(priority)
        session.flush()
        for o in p.objectives:
            obj = o.objective
            new = PlanObjective(
                version_id=target.id,
                priority_id=priority.id,
                ref=obj.ref,
                position=obj.position,
                title=obj.title,
                description=obj.description,
                level=obj.level,
                place_code=obj.place_code,
                owner_org_code=obj.owner_org_code,
                owner_person_id=obj.owner_person_id,
            )
            session.add(new)
            session.flush()
            for m in o.metrics:
                _add_metric(session, target.id, new.id, m.metric.id, m.milestones)
    session.flush()


def update_draft(
    session: Session,
    version_id: int,
    *,
    title: str,
    vision: str,
    period_start: date,
    period_end: date,
    change_note: str,
    actor: str,
    now: datetime,
) -> PlanVersion:
    """Change the draft's title, vision, period or change note."""
    draft = _draft(session, version_id)
    title = _text("title", title, 200)
    vision = _text("vision", vision, 8000)
    change_note = _text("change note", change_note, 4000)
    _period(period_start, period_end)
    draft.title, draft.vision, draft.change_note = title, vision, change_note
    draft.period_start, draft.period_end = period_start, period_end
    session.flush()
    _audit(session, actor, "update_draft", "governance_plan", draft.number, now, title=title)
    return draft


def add_priority(
    session: Session,
    version_id: int,
    *,
    title: str,
    description: str,
    actor: str,
    now: datetime,
) -> PlanPriority:
    """Add a priority at the end of the draft's list."""
    draft = _draft(session, version_id)
    title = _text("priority title", title, 200)
    position = (
        session.scalar(
            select(func.max(PlanPriority.position)).where(PlanPriority.version_id == draft.id)
        )
        or 0
    ) + 1
    priority = PlanPriority(
        version_id=draft.id, position=position, title=title, description=description.strip()
    )
    session.add(priority)
    session.flush()
    _audit(session, actor, "add_priority", "governance_plan", draft.number, now, title=title)
    return priority


def check_metric(metric_id: str, level: ObjectiveLevel) -> Metric:
    """The catalogue metric, refused if unknown or not measured at the objective's level."""
    try:
        metric = by_id(metric_id)
    except KeyError:
        raise PlanError(
            "metric", f"{metric_id!r} is not in the dashboard metric catalogue"
        ) from None
    if level is ObjectiveLevel.place and metric.lowest_level not in PLACE_LEVELS:
        raise PlanError(
            "metric",
            f"{metric_id!r} is measured per {metric.lowest_level.value} and for the system, "
            "not per place, so it cannot measure a place objective",
        )
    return metric


def _add_metric(
    session: Session,
    version_id: int,
    objective_id: int,
    metric_id: str,
    milestones: Sequence[Milestone],
) -> None:
    row = PlanMetric(version_id=version_id, objective_id=objective_id, metric_id=metric_id)
    session.add(row)
    session.flush()
    session.add_all(
        PlanMilestone(
            version_id=version_id, plan_metric_id=row.id, due_on=m.due_on, target=m.target
        )
        for m in milestones
    )


def add_objective(
    session: Session,
    version_id: int,
    *,
    priority_id: int,
    ref: str,
    title: str,
    level: ObjectiveLevel,
    place_code: str | None,
    owner_org_code: str,
    owner_person_id: int,
    metrics: Mapping[str, Sequence[Milestone]],
    actor: str,
    now: datetime,
    description: str = "",
) -> PlanObjective:
    """Add an objective with its metrics and their trajectories to the draft."""
    draft = _draft(session, version_id)
    priority = session.get(PlanPriority, priority_id)
    if priority is None or priority.version_id != draft.id:
        raise PlanError("priority", f"version {draft.number} has no priority with id {priority_id}")
    ref = _text("reference", ref, 16).upper()
    if session.scalar(
        select(PlanObjective.id).where(
            PlanObjective.version_id == draft.id, PlanObjective.ref == ref
        )
    ):
        raise PlanError("reference", f"there is already an objective {ref} in this version")
    title = _text("objective title", title, 300)
    if level is ObjectiveLevel.place:
        if place_code not in place_codes(session):
            raise PlanError(
                "place", f"a place objective names a place of the footprint, not {place_code!r}"
            )
    elif place_code:
        raise PlanError("place", "a system objective is for the whole system; leave place blank")
    _org(session, "owner organisation", owner_org_code)
    _person(session, "owner", owner_person_id)
    if not metrics:
        raise PlanError("metrics", "name at least one catalogue metric that measures it")
    checked: dict[str, list[Milestone]] = {}
    for metric_id, milestones in metrics.items():
        check_metric(metric_id, level)
        try:
            checked[metric_id] = check_milestones(metric_id, milestones)
        except TrajectoryError as exc:
            raise PlanError(exc.field, str(exc).split(": ", 1)[1]) from None
    position = (
        session.scalar(
            select(func.max(PlanObjective.position)).where(PlanObjective.priority_id == priority.id)
        )
        or 0
    ) + 1
    objective = PlanObjective(
        version_id=draft.id,
        priority_id=priority.id,
        ref=ref,
        position=position,
        title=title,
        description=description.strip(),
        level=level.value,
        place_code=place_code if level is ObjectiveLevel.place else None,
        owner_org_code=owner_org_code,
        owner_person_id=owner_person_id,
    )
    session.add(objective)
    session.flush()
    for metric_id, milestones in checked.items():
        _add_metric(session, draft.id, objective.id, metric_id, milestones)
    session.flush()
    _audit(
        session,
        actor,
        "add_objective",
        "governance_plan",
        draft.number,
        now,
        ref=ref,
        level=level.value,
        place=place_code,
        metrics=sorted(checked),
    )
    return objective


def remove_objective(session: Session, objective_id: int, *, actor: str, now: datetime) -> None:
    """Take an objective (and its metrics and trajectories) out of the draft."""
    objective = session.get(PlanObjective, objective_id)
    if objective is None:
        raise PlanError("objective", f"there is no objective with id {objective_id}")
    draft = _draft(session, objective.version_id)
    metric_ids = list(
        session.scalars(select(PlanMetric.id).where(PlanMetric.objective_id == objective.id))
    )
    for milestone in session.scalars(
        select(PlanMilestone).where(PlanMilestone.plan_metric_id.in_(metric_ids))
    ):
        session.delete(milestone)
    session.flush()
    for metric in session.scalars(select(PlanMetric).where(PlanMetric.id.in_(metric_ids))):
        session.delete(metric)
    session.flush()
    ref = objective.ref
    session.delete(objective)
    session.flush()
    _audit(session, actor, "remove_objective", "governance_plan", draft.number, now, ref=ref)


def publish_plan(session: Session, version_id: int, *, actor: str, now: datetime) -> PlanVersion:
    """Publish the draft: from now on it is immutable and the current plan."""
    draft = _draft(session, version_id)
    view = plan_view(session, draft, with_progress=False)
    if not view.priorities:
        raise PlanError("priorities", "a plan needs at least one priority")
    for p in view.priorities:
        if not p.objectives:
            raise PlanError("priorities", f"priority {p.priority.title!r} has no objectives yet")
    draft.status = PlanStatus.published.value
    draft.published_at = now
    draft.published_by = actor
    session.flush()
    _audit(
        session,
        actor,
        "publish",
        "governance_plan",
        draft.number,
        now,
        objectives=sum(len(p.objectives) for p in view.priorities),
    )
    return draft


def discard_draft(session: Session, version_id: int, *, actor: str, now: datetime) -> None:
    """Throw the draft away (published versions cannot be)."""
    draft = _draft(session, version_id)
    for model in (PlanMilestone, PlanMetric, PlanObjective, PlanPriority):
        for row in session.scalars(select(model).where(model.version_id == draft.id)):
            session.delete(row)
        session.flush()
    number = draft.number
    session.delete(draft)
    session.flush()
    _audit(session, actor, "discard_draft", "governance_plan", number, now)


# ------------------------------------------------------------------------- plan reads


@dataclass(frozen=True)
class MetricProgress:
    """A metric of an objective: its trajectory and where the published snapshot has it."""

    metric: Metric
    milestones: list[Milestone]
    assessment: Assessment | None


@dataclass(frozen=True)
class ObjectiveView:
    objective: PlanObjective
    owner: Person
    owner_org: Organisation
    place: Area | None
    metrics: list[MetricProgress]


@dataclass(frozen=True)
class PriorityView:
    priority: PlanPriority
    objectives: list[ObjectiveView] = field(default_factory=list)


@dataclass(frozen=True)
class PlanView:
    version: PlanVersion
    priorities: list[PriorityView]
    snapshot: SnapshotInfo | None

    @property
    def objectives(self) -> list[ObjectiveView]:
        return [o for p in self.priorities for o in p.objectives]


def system_area_code(session: Session) -> str | None:
    """The code of the footprint's system area (metric values for the whole system)."""
    return session.scalar(
        select(Area.code).where(Area.level == Level.system.value).order_by(Area.code).limit(1)
    )


def period_end(period: date, frequency: Frequency) -> date:
    """The last day of a metric period that starts on ``period``."""
    if frequency is Frequency.weekly:
        return period + timedelta(days=6)
    months = 3 if frequency is Frequency.quarterly else 1
    month = period.month + months - 1
    year, month = period.year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def _progress(
    session: Session,
    snapshot: SnapshotInfo | None,
    area_code: str | None,
    metric: Metric,
    milestones: list[Milestone],
) -> Assessment:
    latest: tuple[date, Any] | None = None
    if snapshot is not None and area_code is not None:
        points = [p for p in series(session, snapshot.id, metric.id, area_code)]
        valued = [(p.period, p.value) for p in points if p.value is not None]
        if valued:
            latest = (period_end(valued[-1][0], metric.frequency), valued[-1][1])
    return assess(milestones, metric.improvement, latest)


def _objective_views(
    session: Session,
    objectives: Sequence[PlanObjective],
    snapshot: SnapshotInfo | None,
    with_progress: bool,
) -> list[ObjectiveView]:
    ids = [o.id for o in objectives]
    metrics = list(
        session.scalars(
            select(PlanMetric).where(PlanMetric.objective_id.in_(ids)).order_by(PlanMetric.id)
        )
    )
    milestones: dict[int, list[Milestone]] = defaultdict(list)
    for row in session.scalars(
        select(PlanMilestone)
        .where(PlanMilestone.plan_metric_id.in_([m.id for m in metrics]))
        .order_by(PlanMilestone.due_on)
    ):
        milestones[row.plan_metric_id].append(Milestone(row.due_on, row.target))
    by_objective: dict[int, list[PlanMetric]] = defaultdict(list)
    for m in metrics:
        by_objective[m.objective_id].append(m)
    system_code = system_area_code(session) if with_progress else None
    out = []
    for o in objectives:
        area_code = o.place_code if o.level == ObjectiveLevel.place.value else system_code
        progress = []
        for m in by_objective[o.id]:
            metric = by_id(m.metric_id)
            ms = milestones[m.id]
            progress.append(
                MetricProgress(
                    metric,
                    ms,
                    _progress(session, snapshot, area_code, metric, ms) if with_progress else None,
                )
            )
        owner = session.get(Person, o.owner_person_id)
        org = session.get(Organisation, o.owner_org_code)
        assert owner is not None  # foreign keys
        assert org is not None
        place = session.get(Area, o.place_code) if o.place_code else None
        out.append(ObjectiveView(o, owner, org, place, progress))
    return out


def plan_view(session: Session, version: PlanVersion, *, with_progress: bool = True) -> PlanView:
    """A version with its priorities, objectives and (optionally) progress on each metric."""
    snapshot = current_snapshot(session) if with_progress else None
    priorities = list(
        session.scalars(
            select(PlanPriority)
            .where(PlanPriority.version_id == version.id)
            .order_by(PlanPriority.position)
        )
    )
    objectives = list(
        session.scalars(
            select(PlanObjective)
            .where(PlanObjective.version_id == version.id)
            .order_by(PlanObjective.position, PlanObjective.ref)
        )
    )
    views = _objective_views(session, objectives, snapshot, with_progress)
    grouped: dict[int, list[ObjectiveView]] = defaultdict(list)
    for v in views:
        grouped[v.objective.priority_id].append(v)
    return PlanView(version, [PriorityView(p, grouped[p.id]) for p in priorities], snapshot)


def objective_view(session: Session, objective_id: int) -> tuple[PlanVersion, ObjectiveView] | None:
    """One objective with progress from the current snapshot, or None."""
    objective = session.get(PlanObjective, objective_id)
    if objective is None:
        return None
    version = session.get(PlanVersion, objective.version_id)
    assert version is not None
    view = _objective_views(session, [objective], current_snapshot(session), True)[0]
    return version, view


def current_objective_refs(session: Session) -> dict[str, PlanObjective]:
    """The current published plan's objectives by ``ref``."""
    plan = current_plan(session)
    if plan is None:
        return {}
    return {
        o.ref: o
        for o in session.scalars(select(PlanObjective).where(PlanObjective.version_id == plan.id))
    }


# ----------------------------------------------------------------------------- risks


def _score(likelihood: object, consequence: object, prefix: str = "") -> RiskScore:
    try:
        return score(likelihood, consequence, prefix=prefix)
    except ScoreError as exc:
        raise PlanError(exc.field, str(exc).split(": ", 1)[1]) from None


def _objective_refs(session: Session, refs: Sequence[str]) -> list[str]:
    known = current_objective_refs(session)
    out = []
    for raw in refs:
        ref = raw.strip().upper()
        if not ref:
            continue
        if ref not in known:
            raise PlanError(
                "linked objective",
                f"{ref!r} is not an objective of the current published plan",
            )
        if ref not in out:
            out.append(ref)
    return out


def create_risk(
    session: Session,
    *,
    title: str,
    description: str,
    owner_org_code: str,
    owner_person_id: int,
    likelihood: object,
    consequence: object,
    target_likelihood: object,
    target_consequence: object,
    rationale: str,
    opened_on: date,
    actor: str,
    now: datetime,
    controls: Sequence[str] = (),
    objective_refs: Sequence[str] = (),
) -> Risk:
    """Add a shared risk with its first score, target, controls and linked objectives."""
    title = _text("title", title, 300)
    description = _text("description", description, 8000)
    _org(session, "owner organisation", owner_org_code)
    _person(session, "owner", owner_person_id)
    current = _score(likelihood, consequence)
    target = _score(target_likelihood, target_consequence, "target ")
    try:
        check_target(current, target)
    except ScoreError as exc:
        raise PlanError(exc.field, str(exc).split(": ", 1)[1]) from None
    rationale = _text("rationale", rationale, 4000)
    refs = _objective_refs(session, objective_refs)
    if opened_on > now.date():
        raise PlanError("opened on", "cannot be in the future")
    number = (session.scalar(select(func.count()).select_from(Risk)) or 0) + 1
    risk = Risk(
        reference=f"R{number:03d}",
        title=title,
        description=description,
        owner_org_code=owner_org_code,
        owner_person_id=owner_person_id,
        target_likelihood=target.likelihood,
        target_consequence=target.consequence,
        status="open",
        opened_on=opened_on,
        created_at=now,
        created_by=actor,
    )
    session.add(risk)
    session.flush()
    session.add(
        RiskScoreRow(
            risk_id=risk.id,
            likelihood=current.likelihood,
            consequence=current.consequence,
            scored_on=opened_on,
            rationale=rationale,
            recorded_at=now,
            recorded_by=actor,
        )
    )
    for text in controls:
        if text.strip():
            session.add(
                RiskControl(risk_id=risk.id, description=text.strip(), added_at=now, added_by=actor)
            )
    session.add_all(RiskObjective(risk_id=risk.id, objective_ref=r) for r in refs)
    session.flush()
    _audit(
        session,
        actor,
        "create",
        "governance_risk",
        risk.reference,
        now,
        score=current.value,
        target=target.value,
        owner_org=owner_org_code,
        objectives=refs,
    )
    return risk


def _risk(session: Session, risk_id: int) -> Risk:
    risk = session.get(Risk, risk_id)
    if risk is None:
        raise PlanError("risk", f"there is no risk with id {risk_id}")
    return risk


def _open_risk(session: Session, risk_id: int) -> Risk:
    # A closed risk is a record of what happened: no new scores, actions or controls.
    risk = _risk(session, risk_id)
    if risk.status != "open":
        closed = f" on {risk.closed_on.isoformat()}" if risk.closed_on else ""
        raise PlanError("risk", f"{risk.reference} was closed{closed} and cannot be changed")
    return risk


def rescore_risk(
    session: Session,
    risk_id: int,
    *,
    likelihood: object,
    consequence: object,
    scored_on: date,
    rationale: str,
    actor: str,
    now: datetime,
) -> RiskScoreRow:
    """Append a new score; history is never changed, so the trend can always be shown."""
    risk = _open_risk(session, risk_id)
    new = _score(likelihood, consequence)
    rationale = _text("rationale", rationale, 4000)
    last = session.scalar(
        select(func.max(RiskScoreRow.scored_on)).where(RiskScoreRow.risk_id == risk.id)
    )
    if last is not None and scored_on < last:
        raise PlanError(
            "scored on", f"{scored_on.isoformat()} is before the last score ({last.isoformat()})"
        )
    if scored_on > now.date():
        raise PlanError("scored on", "cannot be in the future")
    row = RiskScoreRow(
        risk_id=risk.id,
        likelihood=new.likelihood,
        consequence=new.consequence,
        scored_on=scored_on,
        rationale=rationale,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    _audit(session, actor, "rescore", "governance_risk", risk.reference, now, score=new.value)
    return row


def add_control(
    session: Session, risk_id: int, *, description: str, actor: str, now: datetime
) -> RiskControl:
    """Record a control now in place."""
    risk = _open_risk(session, risk_id)
    text = _text("control", description, 4000)
    control = RiskControl(risk_id=risk.id, description=text, added_at=now, added_by=actor)
    session.add(control)
    session.flush()
    _audit(session, actor, "add_control", "governance_risk", risk.reference, now)
    return control


def add_action(
    session: Session,
    risk_id: int,
    *,
    description: str,
    owner_person_id: int,
    due_on: date,
    actor: str,
    now: datetime,
) -> RiskAction:
    """An action to bring the risk towards its target, with an owner and a due date."""
    risk = _open_risk(session, risk_id)
    text = _text("action", description, 4000)
    _person(session, "action owner", owner_person_id)
    if due_on < now.date():
        raise PlanError("due date", f"{due_on.isoformat()} has already passed")
    action = RiskAction(
        risk_id=risk.id,
        description=text,
        owner_person_id=owner_person_id,
        due_on=due_on,
        added_at=now,
        added_by=actor,
    )
    session.add(action)
    session.flush()
    _audit(
        session,
        actor,
        "add_action",
        "governance_risk",
        risk.reference,
        now,
        owner=owner_person_id,
        due=due_on.isoformat(),
    )
    return action


def complete_action(
    session: Session, action_id: int, *, done_on: date, actor: str, now: datetime
) -> RiskAction:
    """Mark an action done."""
    action = session.get(RiskAction, action_id)
    if action is None:
        raise PlanError("action", f"there is no action with id {action_id}")
    risk = _open_risk(session, action.risk_id)
    if action.done_on is not None:
        raise PlanError("action", f"already done on {action.done_on.isoformat()}")
    if done_on > now.date():
        raise PlanError("done on", "cannot be in the future")
    action.done_on = done_on
    session.flush()
    _audit(session, actor, "complete_action", "governance_risk", risk.reference, now, id=action.id)
    return action


def close_risk(
    session: Session, risk_id: int, *, note: str, closed_on: date, actor: str, now: datetime
) -> Risk:
    """Close a risk with a note saying why; it stays in the register, readable, but frozen."""
    risk = _open_risk(session, risk_id)
    note = _text("closing note", note, 4000)
    if closed_on > now.date():
        raise PlanError("closed on", "cannot be in the future")
    last = session.scalar(
        select(func.max(RiskScoreRow.scored_on)).where(RiskScoreRow.risk_id == risk.id)
    )
    floor = max(d for d in (risk.opened_on, last) if d is not None)
    if closed_on < floor:
        raise PlanError(
            "closed on",
            f"{closed_on.isoformat()} is before the risk's last score or opening "
            f"({floor.isoformat()})",
        )
    risk.status = "closed"
    risk.closed_on = closed_on
    risk.closed_by = actor
    risk.closing_note = note
    session.flush()
    _audit(
        session,
        actor,
        "close",
        "governance_risk",
        risk.reference,
        now,
        closed_on=closed_on.isoformat(),
        note=note,
    )
    return risk


# ------------------------------------------------------------------------- risk reads


@dataclass(frozen=True)
class RiskView:
    risk: Risk
    owner: Person
    owner_org: Organisation
    scores: list[RiskScoreRow]
    controls: list[RiskControl]
    actions: list[tuple[RiskAction, Person]]
    objective_refs: list[str]

    @property
    def current(self) -> RiskScore:
        last = self.scores[-1]
        return RiskScore(last.likelihood, last.consequence)

    @property
    def target(self) -> RiskScore:
        return RiskScore(self.risk.target_likelihood, self.risk.target_consequence)

    @property
    def trend(self) -> Trend:
        return trend([s.likelihood * s.consequence for s in self.scores])


@dataclass(frozen=True)
class RiskFilters:
    """The register's filters, kept in the URL."""

    band: Band | None = None
    org: str | None = None
    trend: Trend | None = None
    objective: str | None = None
    likelihood: int | None = None
    consequence: int | None = None
    status: str | None = "open"

    def as_query(self) -> dict[str, str]:
        out = {
            "band": self.band.value if self.band else None,
            "org": self.org,
            "trend": self.trend.value if self.trend else None,
            "objective": self.objective,
            "likelihood": str(self.likelihood) if self.likelihood else None,
            "consequence": str(self.consequence) if self.consequence else None,
            "status": self.status if self.status != "open" else None,
        }
        return {k: v for k, v in out.items() if v}

    def matches(self, view: RiskView) -> bool:
        return (
            (self.band is None or view.current.band is self.band)
            and (self.org is None or view.risk.owner_org_code == self.org)
            and (self.trend is None or view.trend is self.trend)
            and (self.objective is None or self.objective in view.objective_refs)
            and (self.likelihood is None or view.current.likelihood == self.likelihood)
            and (self.consequence is None or view.current.consequence == self.consequence)
            and (self.status in (None, "all") or view.risk.status == self.status)
        )


def _risk_views(session: Session, risks: Sequence[Risk]) -> list[RiskView]:
    ids = [r.id for r in risks]
    scores: dict[int, list[RiskScoreRow]] = defaultdict(list)
    for s in session.scalars(
        select(RiskScoreRow)
        .where(RiskScoreRow.risk_id.in_(ids))
        .order_by(RiskScoreRow.scored_on, RiskScoreRow.id)
    ):
        scores[s.risk_id].append(s)
    controls: dict[int, list[RiskControl]] = defaultdict(list)
    for c in session.scalars(
        select(RiskControl).where(RiskControl.risk_id.in_(ids)).order_by(RiskControl.id)
    ):
        controls[c.risk_id].append(c)
    actions: dict[int, list[tuple[RiskAction, Person]]] = defaultdict(list)
    for a, p in session.execute(
        select(RiskAction, Person)
        .join(Person, Person.id == RiskAction.owner_person_id)
        .where(RiskAction.risk_id.in_(ids))
        .order_by(RiskAction.due_on, RiskAction.id)
    ):
        actions[a.risk_id].append((a, p))
    refs: dict[int, list[str]] = defaultdict(list)
    for link in session.scalars(
        select(RiskObjective)
        .where(RiskObjective.risk_id.in_(ids))
        .order_by(RiskObjective.objective_ref)
    ):
        refs[link.risk_id].append(link.objective_ref)
    out = []
    for r in risks:
        owner = session.get(Person, r.owner_person_id)
        org = session.get(Organisation, r.owner_org_code)
        assert owner is not None  # foreign keys
        assert org is not None
        out.append(RiskView(r, owner, org, scores[r.id], controls[r.id], actions[r.id], refs[r.id]))
    return out


def list_risks(session: Session, filters: RiskFilters | None = None) -> list[RiskView]:
    """Risks matching the filters, highest current score first."""
    f = filters or RiskFilters()
    views = [v for v in _risk_views(session, list(session.scalars(select(Risk)))) if f.matches(v)]
    views.sort(key=lambda v: (-v.current.value, v.risk.reference))
    return views


def risk_view(session: Session, risk_id: int) -> RiskView | None:
    """One risk with its history, controls, actions and links, or None."""
    risk = session.get(Risk, risk_id)
    return _risk_views(session, [risk])[0] if risk is not None else None


def heat_map(views: Sequence[RiskView]) -> dict[tuple[int, int], int]:
    """Counts of risks by (likelihood, consequence) of their current score, all 25 cells."""
    counts = {(lk, c): 0 for lk in range(1, 6) for c in range(1, 6)}
    for v in views:
        counts[(v.current.likelihood, v.current.consequence)] += 1
    return counts
