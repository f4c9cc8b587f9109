"""Concerns, escalation and disputes; questions and answers. Every write is audited.

Each function works in the caller's transaction (the caller commits) and raises
:class:`~wholesystem.governance.concerns.rules.DisputeError` with the reason *before* writing
anything when a request is refused, so a refused request changes nothing. The stage rules
themselves are the pure functions of :mod:`wholesystem.governance.concerns.rules`; this module
reads the history, asks them, and appends what they return.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.footprint.models import Area, Organisation
from wholesystem.governance.concerns.models import Concern, ConcernEvent, Question
from wholesystem.governance.concerns.rules import (
    Action,
    ConcernRules,
    ConcernState,
    DisputeError,
    Outcome,
    Stage,
    StageEvent,
    add_working_days,
    escalate,
    fold,
    load_rules,
    raise_concern,
    resolve,
)
from wholesystem.governance.models import Body, Decision, DecisionVersion, Member, Person
from wholesystem.governance.services import record_audit
from wholesystem.metrics.catalogue import by_id
from wholesystem.metrics.models import MetricRebase, MetricValue
from wholesystem.metrics.presenters import analyse_series
from wholesystem.metrics.snapshots import MetricPoint, current_snapshot
from wholesystem.store.db import session_scope, utcnow

__all__ = [
    "SUBJECT_CHECKS",
    "AskerKind",
    "MetricConcernRun",
    "NotAllowed",
    "QuestionKind",
    "SubjectKind",
    "answer_question",
    "ask_question",
    "can_act",
    "client_key",
    "concern_by_reference",
    "concern_rules",
    "concern_state",
    "escalate_concern",
    "events_of",
    "metric_owner",
    "open_concern",
    "people",
    "raise_metric_concerns",
    "raise_metric_concerns_now",
    "resolve_concern",
    "subject_title",
]

OBJECT = "governance_concern"
QUESTION_OBJECT = "governance_question"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REF = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")


class NotAllowed(DisputeError):
    """The person asking may not do this to the concern (not its owner, not a lead)."""


@cache
def concern_rules() -> ConcernRules:
    """The packaged rules (``concerns.toml``)."""
    return load_rules()


def people(session: Session) -> list[Person]:
    """Everyone on the governance records, by name: the people a stage can be owned by."""
    return list(session.scalars(select(Person).order_by(Person.name, Person.id)))


def _person(session: Session, person_id: int | None, what: str) -> Person:
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        raise DisputeError(f"choose the {what} from the people on the governance records")
    return person


# --------------------------------------------------------------------------- concerns


def _to_event(row: ConcernEvent) -> StageEvent:
    return StageEvent(
        stage=Stage(row.stage),
        action=Action(row.action),
        on=row.occurred_on,
        owner_id=row.owner_person_id,
        days=row.days_allowed,
        due_on=row.due_on,
        outcome=Outcome(row.outcome) if row.outcome else None,
        reason=row.reason,
    )


def events_of(session: Session, concern_id: int) -> list[ConcernEvent]:
    """A concern's history, in order."""
    return list(
        session.scalars(
            select(ConcernEvent)
            .where(ConcernEvent.concern_id == concern_id)
            .order_by(ConcernEvent.seq)
        )
    )


def concern_state(session: Session, concern: Concern) -> ConcernState:
    """Where a concern stands, read from its history."""
    return fold([_to_event(e) for e in events_of(session, concern.id)])


def concern_by_reference(session: Session, reference: str) -> Concern | None:
    return session.scalar(select(Concern).where(Concern.reference == reference))


def _append(
    session: Session,
    concern: Concern,
    events: Sequence[StageEvent],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Append events to the history and bring the concern's summary into step with it."""
    seq = int(
        session.scalar(
            select(func.coalesce(func.max(ConcernEvent.seq), 0)).where(
                ConcernEvent.concern_id == concern.id
            )
        )
        or 0
    )
    for event in events:
        seq += 1
        session.add(
            ConcernEvent(
                concern_id=concern.id,
                seq=seq,
                stage=event.stage.value,
                action=event.action.value,
                occurred_on=event.on,
                owner_person_id=event.owner_id,
                days_allowed=event.days,
                due_on=event.due_on,
                outcome=event.outcome.value if event.outcome else None,
                reason=event.reason,
                recorded_at=now,
                recorded_by=actor,
            )
        )
    session.flush()
    state = concern_state(session, concern)
    current = state.current
    if current is None:  # pragma: no cover - every concern is raised with a stage
        raise DisputeError("the concern has no stages")
    concern.stage = current.stage.value
    concern.owner_person_id = current.owner_id
    concern.due_on = current.due_on if current.is_open else None
    concern.status = "open" if current.is_open else "resolved"
    concern.closed_on = current.closed_on
    if not current.is_open:
        concern.open_key = None  # a metric failing again later raises a new concern
    session.flush()


def _next_reference(session: Session, model: type[Concern] | type[Question], prefix: str) -> str:
    count = int(session.scalar(select(func.count()).select_from(model)) or 0)
    return f"{prefix}-{count + 1:04d}"


def _check_orgs(session: Session, codes: Sequence[str]) -> list[str]:
    clean: list[str] = []
    for code in codes:
        code = code.strip().upper()
        if not code or code in clean:
            continue
        if session.get(Organisation, code) is None:
            raise DisputeError(f"there is no partner organisation with code {code!r}")
        clean.append(code)
    return clean


def open_concern(
    session: Session,
    *,
    title: str,
    detail: str,
    organisations: Sequence[str],
    owner_person_id: int | None,
    raised_by: str,
    raised_by_name: str,
    raised_by_org: str | None,
    now: datetime,
    source: str = "partner",
    owner_note: str = "",
    metric_id: str | None = None,
    area_code: str | None = None,
    snapshot_id: int | None = None,
    open_key: str | None = None,
) -> Concern:
    """Raise a concern: it starts at local resolution, owned, with its clock running."""
    title, detail = title.strip(), detail.strip()
    if not title:
        raise DisputeError("give the concern a title")
    if len(title) > 300:
        raise DisputeError("keep the title to 300 characters")
    if not detail:
        raise DisputeError("describe the concern: what is happening and why it matters")
    orgs = _check_orgs(session, organisations)
    if not orgs:
        raise DisputeError("name at least one organisation involved")
    owner = _person(session, owner_person_id, "owner")
    rules = concern_rules()
    events = raise_concern(rules, owner.id, now.date())
    concern = Concern(
        reference=_next_reference(session, Concern, "C"),
        title=title,
        detail=detail,
        organisations=orgs,
        source=source,
        metric_id=metric_id,
        area_code=area_code,
        snapshot_id=snapshot_id,
        open_key=open_key,
        raised_by=raised_by,
        raised_by_name=raised_by_name.strip() or raised_by,
        raised_by_org=raised_by_org,
        raised_at=now,
        owner_person_id=owner.id,
        owner_note=owner_note,
        stage=Stage.local_resolution.value,
        status="open",
    )
    session.add(concern)
    session.flush()
    _append(session, concern, events, actor=raised_by, now=now)
    record_audit(
        session,
        raised_by,
        "raise",
        OBJECT,
        concern.reference,
        now,
        {
            "title": title,
            "organisations": orgs,
            "owner_person_id": owner.id,
            "source": source,
            "metric_id": metric_id,
            "area_code": area_code,
        },
    )
    return concern


def can_act(session: Session, concern: Concern, *, user_id: int | None, is_lead: bool) -> bool:
    """The owner of the current stage (through their user) or a governance lead may act."""
    if is_lead:
        return True
    owner = session.get(Person, concern.owner_person_id)
    return owner is not None and user_id is not None and owner.user_id == user_id


def _guard(session: Session, concern: Concern, user_id: int | None, is_lead: bool) -> None:
    if not can_act(session, concern, user_id=user_id, is_lead=is_lead):
        raise NotAllowed(
            "only the owner of the current stage or a governance lead can move this concern on"
        )


def escalate_concern(
    session: Session,
    concern_id: int,
    *,
    to: str,
    owner_person_id: int | None,
    reason: str,
    actor: str,
    now: datetime,
    user_id: int | None = None,
    is_lead: bool = False,
) -> Concern:
    """Close the current stage as escalated and enter the next (a skip is refused)."""
    concern = session.get(Concern, concern_id)
    if concern is None:
        raise DisputeError("there is no such concern")
    _guard(session, concern, user_id, is_lead)
    try:
        stage = Stage(to)
    except ValueError:
        raise DisputeError(f"{to!r} is not a stage of the agreed process") from None
    owner = _person(session, owner_person_id, "owner of the next stage")
    rules = concern_rules()
    events = escalate(
        rules,
        concern_state(session, concern),
        to=stage,
        owner_id=owner.id,
        reason=reason,
        on=now.date(),
    )
    before = concern.stage
    _append(session, concern, events, actor=actor, now=now)
    record_audit(
        session,
        actor,
        "escalate",
        OBJECT,
        concern.reference,
        now,
        {"from": before, "to": stage.value, "owner_person_id": owner.id, "reason": reason.strip()},
    )
    return concern


def resolve_concern(
    session: Session,
    concern_id: int,
    *,
    outcome: str,
    actor: str,
    now: datetime,
    user_id: int | None = None,
    is_lead: bool = False,
) -> Concern:
    """Close the current stage, and the concern, as resolved with the outcome recorded."""
    concern = session.get(Concern, concern_id)
    if concern is None:
        raise DisputeError("there is no such concern")
    _guard(session, concern, user_id, is_lead)
    events = resolve(concern_state(session, concern), outcome=outcome, on=now.date())
    _append(session, concern, events, actor=actor, now=now)
    record_audit(
        session,
        actor,
        "resolve",
        OBJECT,
        concern.reference,
        now,
        {"stage": concern.stage, "outcome": outcome.strip()},
    )
    return concern


# ------------------------------------------------------------- concerns from metrics


MetricOwnerHook = Callable[[Session, str, str, str], tuple[int, str] | None]


def _has_table(session: Session, name: str) -> bool:
    return bool(inspect(session.get_bind()).has_table(name))


def _plan_owner(
    session: Session, metric_id: str, area_code: str, area_kind: str
) -> tuple[int, str] | None:
    """The owner of the published plan's objective measured by the metric, if there is one.

    A place objective is preferred for its place, then a system objective.
    """
    try:
        from wholesystem.governance.plan.models import (
            PlanMetric,
            PlanObjective,
            PlanVersion,
        )
    except ImportError:  # the plan subpackage is not installed
        return None
    if not _has_table(session, "gov_plan_metric"):
        return None
    version = session.scalar(
        select(PlanVersion)
        .where(PlanVersion.published_at.is_not(None))
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )
    if version is None:
        return None
    objectives = list(
        session.scalars(
            select(PlanObjective)
            .join(PlanMetric, PlanMetric.objective_id == PlanObjective.id)
            .where(PlanMetric.version_id == version.id, PlanMetric.metric_id == metric_id)
            .order_by(PlanObjective.position, PlanObjective.id)
        )
    )
    place_match = [o for o in objectives if area_kind == "place" and o.place_code == area_code]
    system = [o for o in objectives if o.place_code is None]
    for objective in place_match or system:
        return (
            objective.owner_person_id,
            f"owner of plan objective {objective.ref} ({objective.title}), which this "
            "metric measures",
        )
    return None


# Other ways to find a metric's owner may be added here; the first answer wins.
METRIC_OWNER_HOOKS: list[MetricOwnerHook] = [_plan_owner]


def _member_in_role(session: Session, body: Body | None, role: str) -> Person | None:
    if body is None:
        return None
    return session.scalar(
        select(Person)
        .join(Member, Member.person_id == Person.id)
        .where(Member.body_id == body.id, func.lower(Member.role) == role.lower())
        .order_by(Member.id)
        .limit(1)
    )


def metric_owner(
    session: Session, metric_id: str, area_code: str, area_kind: str
) -> tuple[int, str] | None:
    """Who owns a concern raised by a failing metric, and why (None: nobody fits).

    The owner of the plan objective the metric measures; failing that, for a place, its place
    board's member in the configured role; for a partner organisation, its chief executive;
    and otherwise the configured default (the system board's chief executive).
    """
    for hook in METRIC_OWNER_HOOKS:
        found = hook(session, metric_id, area_code, area_kind)
        if found is not None:
            return found
    cfg = concern_rules().metric
    if area_kind == "place":
        board = session.scalar(
            select(Body).where(
                Body.kind == "place_board", Body.area_code == area_code, Body.active.is_(True)
            )
        )
        person = _member_in_role(session, board, cfg.place_role)
        if person is not None and board is not None:
            return person.id, f"{cfg.place_role.lower()} on {board.name}"
    if area_kind == "organisation":
        person = session.scalar(
            select(Person)
            .where(
                Person.organisation_code == area_code,
                func.lower(Person.job_title) == cfg.organisation_title.lower(),
            )
            .order_by(Person.id)
            .limit(1)
        )
        if person is not None:
            return person.id, f"{cfg.organisation_title.lower()} of {area_code}"
    default = session.scalar(select(Body).where(Body.code == cfg.default_body))
    person = _member_in_role(session, default, cfg.default_role)
    if person is not None and default is not None:
        return person.id, f"{cfg.default_role.lower()} on {default.name} (the default owner)"
    return None


@dataclass
class MetricConcernRun:
    """What one run found: concerns raised, and failing metrics that already had one."""

    snapshot_id: int | None = None
    checked: int = 0
    failing: int = 0
    raised: list[str] = field(default_factory=list)
    already_open: int = 0
    no_owner: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.snapshot_id is None:
            return "No published snapshot: no metric concerns raised."
        text = (
            f"Snapshot {self.snapshot_id}: {self.checked} metric series checked, "
            f"{self.failing} failing; {len(self.raised)} concerns raised, "
            f"{self.already_open} already open."
        )
        if self.no_owner:
            text += f" No owner found for {len(self.no_owner)}: {', '.join(self.no_owner)}."
        return text


def _area_names(session: Session) -> dict[tuple[str, str], str]:
    """Names by (area kind, code): the system's code may also be the ICB's organisation code."""
    names = {("area", a.code): a.name for a in session.scalars(select(Area))}
    names.update({("organisation", o.code): o.name for o in session.scalars(select(Organisation))})
    return names


def raise_metric_concerns(
    session: Session, *, now: datetime, actor: str = "system"
) -> MetricConcernRun:
    """Raise a concern for each metric failing its agreed definition in the current snapshot.

    One open concern per metric and footprint area: a metric that already has an open concern
    is counted, not raised again (the unique ``open_key`` also holds this in the database).
    Only the configured area kinds are checked (``concerns.toml``).
    """
    run = MetricConcernRun()
    snapshot = current_snapshot(session)
    if snapshot is None:
        return run
    run.snapshot_id = snapshot.id
    cfg = concern_rules().metric
    series: dict[tuple[str, str, str], list[MetricPoint]] = defaultdict(list)
    rows = session.scalars(
        select(MetricValue)
        .where(MetricValue.snapshot_id == snapshot.id, MetricValue.area_kind.in_(cfg.area_kinds))
        .order_by(MetricValue.metric_id, MetricValue.area_code, MetricValue.period)
    )
    for v in rows:
        series[(v.metric_id, v.area_code, v.area_kind)].append(
            MetricPoint(v.period, v.numerator, v.denominator, v.value)
        )
    rebases: dict[tuple[str, str | None], list[date]] = defaultdict(list)
    for r in session.scalars(select(MetricRebase)):
        rebases[(r.metric_id, r.area_code)].append(r.rebase_date)
    open_keys = set(session.scalars(select(Concern.open_key).where(Concern.open_key.is_not(None))))
    names = _area_names(session)
    for (metric_id, area_code, area_kind), points in series.items():
        try:
            metric = by_id(metric_id)
        except KeyError:  # a metric since retired from the catalogue
            continue
        run.checked += 1
        agreed = rebases[(metric_id, area_code)] + rebases[(metric_id, None)]
        view = analyse_series(metric, points, agreed)
        if not view.failing:
            continue
        run.failing += 1
        key = f"metric:{metric_id}:{area_code}"
        if key in open_keys:
            run.already_open += 1
            continue
        owner = metric_owner(session, metric_id, area_code, area_kind)
        area_name = names.get(
            ("organisation" if area_kind == "organisation" else "area", area_code), area_code
        )
        if owner is None:
            run.no_owner.append(f"{metric_id} in {area_code}")
            continue
        owner_id, why = owner
        owner_person = session.get(Person, owner_id)
        latest = view.latest
        latest_text = (
            f" The latest value is {latest.value.normalize():f} for {latest.period:%B %Y}."
            if latest is not None and latest.value is not None
            else ""
        )
        orgs = [area_code] if area_kind == "organisation" else []
        if owner_person is not None and owner_person.organisation_code not in orgs:
            orgs.append(owner_person.organisation_code)
        concern = open_concern(
            session,
            title=f"{metric.name} failing in {area_name}",
            detail=(
                f"In published snapshot {snapshot.id} (data to "
                f"{snapshot.data_cut_off:%-d %B %Y}), {metric.name} for {area_name} "
                f"{metric.failure.text} (target: {metric.target.text}; "
                f"{metric.target.basis}).{latest_text} Raised automatically when the "
                "snapshot was published."
            ),
            organisations=orgs,
            owner_person_id=owner_id,
            raised_by=actor,
            raised_by_name="Published metric snapshot",
            raised_by_org=None,
            now=now,
            source="metric",
            owner_note=f"Owned by the {why}.",
            metric_id=metric_id,
            area_code=area_code,
            snapshot_id=snapshot.id,
            open_key=key,
        )
        open_keys.add(key)
        run.raised.append(concern.reference)
    return run


# -------------------------------------------------------------------------- questions


class SubjectKind(StrEnum):
    decision = "decision"
    paper = "paper"
    plan = "plan"

    @property
    def label(self) -> str:
        return {"decision": "Decision", "paper": "Meeting paper", "plan": "System plan"}[self.value]


class QuestionKind(StrEnum):
    question = "question"
    comment = "comment"


class AskerKind(StrEnum):
    public = "public"
    member = "member"


SubjectCheck = Callable[[Session, str], str | None]


def _decision_subject(session: Session, ref: str) -> str | None:
    """A decision on the published register (anything but withdrawn): its title."""
    row = session.execute(
        select(DecisionVersion.title, DecisionVersion.status)
        .join(
            Decision,
            (Decision.id == DecisionVersion.decision_id)
            & (Decision.latest_version == DecisionVersion.version),
        )
        .where(Decision.reference == ref)
    ).first()
    if row is None or row.status == "withdrawn":
        return None
    return str(row.title)


def _paper_subject(session: Session, ref: str) -> str | None:
    """A public meeting paper (the meetings subpackage's ``gov_paper``), by its number."""
    try:
        from wholesystem.governance.meetings.models import Paper
    except ImportError:
        return None
    if not ref.isdigit() or not _has_table(session, "gov_paper"):
        return None
    paper = session.get(Paper, int(ref))
    return paper.title if paper is not None and paper.public else None


def _plan_subject(session: Session, ref: str) -> str | None:
    """A published version of the system plan, by its number."""
    try:
        from wholesystem.governance.plan.models import PlanVersion
    except ImportError:
        return None
    if not ref.isdigit() or not _has_table(session, "gov_plan_version"):
        return None
    version = session.scalar(select(PlanVersion).where(PlanVersion.number == int(ref)))
    if version is None or version.published_at is None:
        return None
    return version.title


# How each kind of subject is checked; a subpackage may replace its entry.
SUBJECT_CHECKS: dict[SubjectKind, SubjectCheck] = {
    SubjectKind.decision: _decision_subject,
    SubjectKind.paper: _paper_subject,
    SubjectKind.plan: _plan_subject,
}


def subject_title(session: Session, kind: str, ref: str) -> tuple[SubjectKind, str]:
    """The subject's kind and title; refused when it does not exist or is not published."""
    try:
        subject = SubjectKind(kind)
    except ValueError:
        raise DisputeError(
            "choose what the question is about: a decision, a meeting paper or the plan"
        ) from None
    ref = ref.strip()
    if not _REF.fullmatch(ref):
        raise DisputeError("give the reference of the decision, paper or plan")
    title = SUBJECT_CHECKS[subject](session, ref)
    if title is None:
        raise DisputeError(f"there is no published {subject.label.lower()} {ref}")
    return subject, title


def client_key(secret: str, address: str) -> str:
    """A keyed hash of the sender's address: enough to rate-limit, not to identify anyone."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def ask_question(
    session: Session,
    *,
    subject_kind: str,
    subject_ref: str,
    kind: str,
    text: str,
    asker_kind: AskerKind,
    asker_name: str,
    now: datetime,
    asker_email: str | None = None,
    asker_username: str | None = None,
    asker_role: str = "",
    client: str | None = None,
) -> Question:
    """Put a question or comment on a published subject; it is due an answer in 20 working days.

    A member of the public gives a name and an email address (kept private) and is limited
    to the configured number of questions an hour from one address.
    """
    rules = concern_rules()
    subject, title = subject_title(session, subject_kind, subject_ref)
    try:
        qkind = QuestionKind(kind)
    except ValueError:
        raise DisputeError("say whether this is a question or a comment") from None
    text = text.strip()
    if not text:
        raise DisputeError("write your question or comment")
    if len(text) > 4000:
        raise DisputeError("keep your question or comment to 4,000 characters")
    name = asker_name.strip()
    email = (asker_email or "").strip() or None
    if asker_kind is AskerKind.public:
        if not name:
            raise DisputeError("give your name")
        if email is None or not _EMAIL.fullmatch(email) or len(email) > 254:
            raise DisputeError(
                "give an email address we can send the answer to, like name@example.com"
            )
        if client is not None:
            recent = int(
                session.scalar(
                    select(func.count())
                    .select_from(Question)
                    .where(
                        Question.client_key == client,
                        Question.received_at > now - timedelta(hours=1),
                    )
                )
                or 0
            )
            if recent >= rules.public_per_hour:
                raise DisputeError(
                    f"we take up to {rules.public_per_hour} questions an hour from one "
                    "address; please try again later"
                )
    elif not asker_username:
        raise DisputeError("a member's question needs their sign-in")
    question = Question(
        reference=_next_reference(session, Question, "Q"),
        subject_kind=subject.value,
        subject_ref=subject_ref.strip(),
        subject_title=title[:300],
        kind=qkind.value,
        text=text,
        asker_kind=asker_kind.value,
        asker_name=name or (asker_username or ""),
        asker_email=email if asker_kind is AskerKind.public else None,
        asker_username=asker_username,
        asker_role=asker_role,
        client_key=client if asker_kind is AskerKind.public else None,
        received_at=now,
        due_on=add_working_days(now.date(), rules.answer_days),
        status="received",
    )
    session.add(question)
    session.flush()
    record_audit(
        session,
        asker_username or "public",
        "ask",
        QUESTION_OBJECT,
        question.reference,
        now,
        {"subject": f"{subject.value}:{question.subject_ref}", "kind": qkind.value},
    )
    return question


def answer_question(
    session: Session, question_id: int, *, answer: str, actor: str, now: datetime
) -> Question:
    """Record the answer (published with the question); an answer once given is final."""
    question = session.get(Question, question_id)
    if question is None:
        raise DisputeError("there is no such question")
    if question.status == "answered":
        raise DisputeError(f"{question.reference} was answered already; answers are final")
    answer = answer.strip()
    if not answer:
        raise DisputeError("write the answer")
    if len(answer) > 8000:
        raise DisputeError("keep the answer to 8,000 characters")
    question.answer = answer
    question.answered_at = now
    question.answered_by = actor
    question.status = "answered"
    session.flush()
    record_audit(
        session,
        actor,
        "answer",
        QUESTION_OBJECT,
        question.reference,
        now,
        {"late": now.date() > question.due_on},
    )
    return question


def raise_metric_concerns_now(factory: sessionmaker[Session], *, actor: str = "system") -> str:
    """Run :func:`raise_metric_concerns` in its own transaction (after a publish); a summary."""
    with session_scope(factory) as session:
        run = raise_metric_concerns(session, now=utcnow(), actor=actor)
    return run.summary()
