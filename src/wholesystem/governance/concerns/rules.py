"""Concerns and disputes as a pure state machine: stages, clocks, outcomes. No database, no web.

A concern's history is a sequence of :class:`StageEvent` (entering a stage, closing it) that is
only ever appended to. :func:`fold` reads the history into a :class:`ConcernState`;
:func:`raise_concern`, :func:`escalate` and :func:`resolve` check a request against the state
and return the events to append, or raise :class:`DisputeError` with the reason (so a refused
request appends nothing).

The stages run in the agreed order: local resolution, escalation to chief executives,
facilitated mediation, then system board arbitration *or* expert determination (one of the two,
chosen on entering it). A stage cannot be skipped, nor a concern moved backwards; every stage
has an owner and a clock (working days from ``concerns.toml``); closing a stage needs an
outcome: resolved at this stage, or escalated to the next with a reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_RULES_PATH",
    "Action",
    "ConcernRules",
    "ConcernState",
    "DisputeError",
    "MetricConcernRules",
    "Outcome",
    "Stage",
    "StageEvent",
    "StageRecord",
    "StageRule",
    "add_working_days",
    "escalate",
    "fold",
    "is_overdue",
    "load_rules",
    "next_stages",
    "parse_rules",
    "raise_concern",
    "resolve",
]

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "concerns.toml"


class DisputeError(ValueError):
    """A request on a concern refused, with the reason; nothing was changed."""


class Stage(StrEnum):
    local_resolution = "local_resolution"
    chief_executives = "chief_executives"
    mediation = "mediation"
    board_arbitration = "board_arbitration"
    expert_determination = "expert_determination"


class Action(StrEnum):
    enter = "enter"
    close = "close"


class Outcome(StrEnum):
    resolved = "resolved"
    escalated = "escalated"

    @property
    def label(self) -> str:
        return "Resolved at this stage" if self is Outcome.resolved else "Escalated"


@dataclass(frozen=True)
class StageRule:
    stage: Stage
    name: str
    position: int
    days: int


@dataclass(frozen=True)
class MetricConcernRules:
    """Which failing metrics raise a concern, and who owns it (see ``concerns.toml``)."""

    area_kinds: tuple[str, ...]
    place_role: str
    organisation_title: str
    default_body: str
    default_role: str


@dataclass(frozen=True)
class ConcernRules:
    """The agreed stages and clocks, and the numbers for questions and metric concerns."""

    version: str
    source: str
    stages: Mapping[Stage, StageRule]
    answer_days: int
    public_per_hour: int
    metric: MetricConcernRules

    def rule(self, stage: Stage) -> StageRule:
        return self.stages[stage]

    def name(self, stage: Stage | str) -> str:
        return self.stages[Stage(stage)].name

    @property
    def last_position(self) -> int:
        return max(r.position for r in self.stages.values())


def _need(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise DisputeError(f"{where}: '{key}' must be a {kind.__name__}")
    return value


def parse_rules(data: Mapping[str, Any]) -> ConcernRules:
    """Check and read the rules; a malformed file names what is wrong."""
    stages: dict[Stage, StageRule] = {}
    raw_stages = data.get("stage")
    if not isinstance(raw_stages, list):
        raise DisputeError("concerns rules: there must be [[stage]] tables")
    for i, raw in enumerate(raw_stages, start=1):
        where = f"stage {i}"
        if not isinstance(raw, dict):
            raise DisputeError(f"{where}: must be a table")
        try:
            stage = Stage(_need(raw, "code", str, where))
        except ValueError:
            raise DisputeError(f"{where}: unknown stage code {raw.get('code')!r}") from None
        if stage in stages:
            raise DisputeError(f"{where}: stage {stage.value} is listed twice")
        days = _need(raw, "days", int, where)
        if days < 1:
            raise DisputeError(f"{where}: a stage's clock is at least one working day")
        stages[stage] = StageRule(
            stage, _need(raw, "name", str, where), _need(raw, "position", int, where), days
        )
    if set(stages) != set(Stage):
        missing = ", ".join(s.value for s in Stage if s not in stages)
        raise DisputeError(f"concerns rules: stages missing: {missing}")
    expected = {
        Stage.local_resolution: 1,
        Stage.chief_executives: 2,
        Stage.mediation: 3,
        Stage.board_arbitration: 4,
        Stage.expert_determination: 4,
    }
    for stage, position in expected.items():
        if stages[stage].position != position:
            raise DisputeError(
                f"concerns rules: {stage.value} is stage {position} of the agreed order"
            )
    questions = data.get("questions", {})
    metric = data.get("metric_concerns", {})
    if not isinstance(questions, dict) or not isinstance(metric, dict):
        raise DisputeError("concerns rules: [questions] and [metric_concerns] must be tables")
    kinds = metric.get("area_kinds")
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise DisputeError("metric_concerns: 'area_kinds' must be a list of strings")
    answer_days = _need(questions, "answer_days", int, "questions")
    per_hour = _need(questions, "public_per_hour", int, "questions")
    if answer_days < 1 or per_hour < 1:
        raise DisputeError("questions: answer_days and public_per_hour are at least 1")
    return ConcernRules(
        version=_need(data, "version", str, "concerns rules"),
        source=_need(data, "source", str, "concerns rules"),
        stages=stages,
        answer_days=answer_days,
        public_per_hour=per_hour,
        metric=MetricConcernRules(
            area_kinds=tuple(kinds),
            place_role=_need(metric, "place_role", str, "metric_concerns"),
            organisation_title=_need(metric, "organisation_title", str, "metric_concerns"),
            default_body=_need(metric, "default_body", str, "metric_concerns"),
            default_role=_need(metric, "default_role", str, "metric_concerns"),
        ),
    )


def load_rules(path: Path = DEFAULT_RULES_PATH) -> ConcernRules:
    """Read ``concerns.toml`` (or another file of the same shape)."""
    with path.open("rb") as fh:
        return parse_rules(tomllib.load(fh))


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days (Monday to Friday) after ``start``.

    Starting on a weekend counts from the next Monday's eve, so a clock started on Saturday
    with one day is due on Monday.
    """
    if days < 0:
        raise ValueError("a clock cannot run backwards")
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


# ------------------------------------------------------------------------ the history


@dataclass(frozen=True)
class StageEvent:
    """One appended event: a stage entered (owner, clock, due date) or closed (outcome)."""

    stage: Stage
    action: Action
    on: date
    owner_id: int | None = None
    days: int | None = None
    due_on: date | None = None
    outcome: Outcome | None = None
    reason: str = ""


@dataclass(frozen=True)
class StageRecord:
    """One stage as it stands, read from its events."""

    stage: Stage
    owner_id: int
    entered_on: date
    days: int
    due_on: date
    closed_on: date | None = None
    outcome: Outcome | None = None
    reason: str = ""

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


@dataclass(frozen=True)
class ConcernState:
    """Every stage the concern has been through, in order; the last is the current one."""

    stages: tuple[StageRecord, ...] = field(default_factory=tuple)

    @property
    def current(self) -> StageRecord | None:
        return self.stages[-1] if self.stages else None

    @property
    def is_open(self) -> bool:
        return self.current is not None and self.current.is_open

    @property
    def resolved(self) -> bool:
        return self.current is not None and self.current.outcome is Outcome.resolved


def fold(events: Sequence[StageEvent]) -> ConcernState:
    """Read a history into its state; a history that breaks the rules is refused."""
    records: list[StageRecord] = []
    for event in events:
        if event.action is Action.enter:
            if records and records[-1].is_open:
                raise DisputeError(f"history: {event.stage.value} entered while a stage is open")
            if event.owner_id is None or event.days is None or event.due_on is None:
                raise DisputeError(f"history: entering {event.stage.value} lacks owner or clock")
            records.append(
                StageRecord(event.stage, event.owner_id, event.on, event.days, event.due_on)
            )
        else:
            if not records or not records[-1].is_open or records[-1].stage is not event.stage:
                raise DisputeError(f"history: {event.stage.value} closed but it is not open")
            if event.outcome is None:
                raise DisputeError(f"history: {event.stage.value} closed without an outcome")
            last = records[-1]
            records[-1] = StageRecord(
                last.stage,
                last.owner_id,
                last.entered_on,
                last.days,
                last.due_on,
                event.on,
                event.outcome,
                event.reason,
            )
    return ConcernState(tuple(records))


def next_stages(rules: ConcernRules, current: Stage | None) -> tuple[Stage, ...]:
    """The stages a concern may move to next: the next position only (both at the last)."""
    position = 0 if current is None else rules.rule(current).position
    return tuple(
        s for s in Stage if rules.rule(s).position == position + 1
    )  # Stage order keeps arbitration before expert determination


def _enter(rules: ConcernRules, stage: Stage, owner_id: int, on: date) -> StageEvent:
    days = rules.rule(stage).days
    return StageEvent(
        stage,
        Action.enter,
        on,
        owner_id=owner_id,
        days=days,
        due_on=add_working_days(on, days),
    )


def raise_concern(rules: ConcernRules, owner_id: int, on: date) -> list[StageEvent]:
    """A new concern starts at local resolution with its owner and clock."""
    return [_enter(rules, Stage.local_resolution, owner_id, on)]


def _open_stage(state: ConcernState, on: date) -> StageRecord:
    current = state.current
    if current is None:
        raise DisputeError("the concern has no stages: it was never raised")
    if not current.is_open:
        raise DisputeError(
            "the concern is closed: it was resolved at "
            f"{current.stage.value.replace('_', ' ')} on {current.closed_on:%-d %b %Y}"
        )
    if on < current.entered_on:
        raise DisputeError("a stage cannot close before it was entered")
    return current


def escalate(
    rules: ConcernRules,
    state: ConcernState,
    *,
    to: Stage,
    owner_id: int,
    reason: str,
    on: date,
) -> list[StageEvent]:
    """Close the current stage as escalated (with the reason) and enter the next one.

    Refused: a closed concern, no reason, a stage skipped, a move backwards or sideways,
    and escalation beyond the last stage (arbitration or expert determination is final).
    """
    current = _open_stage(state, on)
    if not reason.strip():
        raise DisputeError("give the reason for escalating: the outcome of this stage")
    allowed = next_stages(rules, current.stage)
    if not allowed:
        raise DisputeError(
            f"{rules.name(current.stage)} is the last stage: its determination is final, "
            "so the concern can only be resolved"
        )
    if to not in allowed:
        here, there = rules.rule(current.stage).position, rules.rule(to).position
        if there > here + 1:
            skipped = ", ".join(
                rules.name(s) for s in Stage if here < rules.rule(s).position < there
            )
            raise DisputeError(
                f"a stage cannot be skipped: {rules.name(current.stage)} escalates to "
                f"{' or '.join(rules.name(s) for s in allowed)}, not {rules.name(to)} "
                f"(that would skip {skipped})"
            )
        raise DisputeError(
            f"{rules.name(current.stage)} escalates to "
            f"{' or '.join(rules.name(s) for s in allowed)}, not back to {rules.name(to)}"
        )
    closing = StageEvent(
        current.stage, Action.close, on, outcome=Outcome.escalated, reason=reason.strip()
    )
    return [closing, _enter(rules, to, owner_id, on)]


def resolve(state: ConcernState, *, outcome: str, on: date) -> list[StageEvent]:
    """Close the current stage, and the concern, as resolved; the outcome must be recorded."""
    current = _open_stage(state, on)
    if not outcome.strip():
        raise DisputeError("record the outcome: how the concern was resolved")
    return [
        StageEvent(
            current.stage, Action.close, on, outcome=Outcome.resolved, reason=outcome.strip()
        )
    ]


def is_overdue(record: StageRecord | None, today: date) -> bool:
    """An open stage whose clock has passed (due today is not yet overdue)."""
    return record is not None and record.is_open and today > record.due_on
