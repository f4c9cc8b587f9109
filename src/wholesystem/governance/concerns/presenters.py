"""Turn concerns, their histories and questions into what templates, CSV and JSON show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from wholesystem.governance.concerns.models import Concern, ConcernEvent, Question
from wholesystem.governance.concerns.queries import ConcernRow
from wholesystem.governance.concerns.rules import ConcernRules, Outcome
from wholesystem.governance.models import Person

__all__ = [
    "CONCERN_CSV_COLUMNS",
    "CONCERN_SUMMARY_COLUMNS",
    "PUBLIC_QUESTION_COLUMNS",
    "QUESTION_CSV_COLUMNS",
    "concern_csv_rows",
    "concern_summary_list",
    "concern_table_rows",
    "json_records",
    "public_question_rows",
    "question_csv_rows",
    "question_status_tag",
    "timeline_rows",
]

CONCERN_CSV_COLUMNS = (
    "reference",
    "title",
    "source",
    "metric_id",
    "area_code",
    "organisations",
    "stage",
    "status",
    "owner",
    "owner_organisation",
    "due_on",
    "overdue",
    "raised_by",
    "raised_at",
    "closed_on",
)
CONCERN_SUMMARY_COLUMNS = ("stage", "status", "source", "concerns", "overdue")
QUESTION_CSV_COLUMNS = (
    "reference",
    "subject_kind",
    "subject_ref",
    "subject_title",
    "kind",
    "asked_by",
    "received_at",
    "due_on",
    "status",
    "answered_at",
    "answered_by",
)
# The published questions: no names or addresses of members of the public.
PUBLIC_QUESTION_COLUMNS = (
    "reference",
    "subject_kind",
    "subject_ref",
    "subject_title",
    "kind",
    "asked_by",
    "question",
    "received_on",
    "answered_on",
    "answer",
)


def _day(value: date | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(escape(href), escape(text))


def _tag(colour: str, text: str) -> Markup:
    return Markup('<strong class="nhsuk-tag nhsuk-tag--{}">{}</strong>').format(colour, text)


def _stage_name(rules: ConcernRules, stage: str) -> str:
    try:
        return rules.name(stage)
    except (KeyError, ValueError):
        return stage


def _status_cell(row: ConcernRow) -> Markup:
    if row.concern.status == "resolved":
        return _tag("green", "Resolved")
    if row.overdue:
        return _tag("red", "Overdue")
    return _tag("blue", "Open")


def concern_table_rows(
    rows: Sequence[ConcernRow], rules: ConcernRules
) -> list[list[dict[str, Any]]]:
    """Rows for the NHS.UK table macro; an overdue concern says so in red."""
    return [
        [
            {"html": _link(f"/governance/concerns/{r.concern.reference}", r.concern.reference)},
            {"text": r.concern.title},
            {"text": "Failing metric" if r.concern.source == "metric" else "Partner"},
            {"text": _stage_name(rules, r.concern.stage)},
            {"text": f"{r.owner.name} ({r.owner.organisation_code})"},
            {"text": _day(r.concern.due_on) if r.concern.status == "open" else ""},
            {"html": _status_cell(r)},
        ]
        for r in rows
    ]


def concern_csv_rows(rows: Sequence[ConcernRow]) -> list[list[object]]:
    return [
        [
            r.concern.reference,
            r.concern.title,
            r.concern.source,
            r.concern.metric_id or "",
            r.concern.area_code or "",
            " ".join(r.concern.organisations),
            r.concern.stage,
            r.concern.status,
            r.owner.name,
            r.owner.organisation_code,
            r.concern.due_on or "",
            "yes" if r.overdue else "no",
            r.concern.raised_by_name,
            r.concern.raised_at.isoformat(),
            r.concern.closed_on or "",
        ]
        for r in rows
    ]


def concern_summary_list(
    concern: Concern, owner: Person, rules: ConcernRules, overdue: bool
) -> list[dict[str, Any]]:
    """Summary-list rows for one concern."""
    status: Markup | str
    if concern.status == "resolved":
        status = _tag("green", "Resolved")
    else:
        status = _tag("red", "Overdue") if overdue else _tag("blue", "Open")
    pairs: list[tuple[str, Markup | str]] = [
        ("Status", status),
        ("Stage", _stage_name(rules, concern.stage)),
        ("Owner", f"{owner.name}, {owner.job_title or 'no job title'} ({owner.organisation_code})"),
        ("Due", _day(concern.due_on) if concern.status == "open" else "Closed"),
        ("Organisations involved", ", ".join(concern.organisations)),
        ("Raised by", f"{concern.raised_by_name} on {_day(concern.raised_at.date())}"),
        ("What it is about", concern.detail),
    ]
    if concern.source == "metric":
        pairs.append(("Raised from", f"Metric {concern.metric_id} in {concern.area_code}"))
    if concern.owner_note:
        pairs.append(("Why this owner", concern.owner_note))
    if concern.closed_on:
        pairs.append(("Closed", _day(concern.closed_on)))
    return [
        {"key": {"text": k}, "value": {"html": v} if isinstance(v, Markup) else {"text": v}}
        for k, v in pairs
    ]


def timeline_rows(
    events: Sequence[tuple[ConcernEvent, Person | None]], rules: ConcernRules, today: date
) -> list[dict[str, Any]]:
    """The stages, each entered (owner, clock, due) and, once closed, with its outcome."""
    out: list[dict[str, Any]] = []
    for event, owner in events:
        stage = _stage_name(rules, event.stage)
        if event.action == "enter":
            closed = any(
                e.stage == event.stage and e.action == "close" and e.seq > event.seq
                for e, _ in events
            )
            late = not closed and event.due_on is not None and today > event.due_on
            out.append(
                {
                    "heading": f"{stage}: entered",
                    "when": _day(event.occurred_on),
                    "text": (
                        f"Owner: {owner.name if owner else 'unknown'}. Clock: "
                        f"{event.days_allowed} working days, due {_day(event.due_on)}."
                    ),
                    "overdue": late,
                    "by": event.recorded_by,
                }
            )
        else:
            outcome = Outcome(event.outcome) if event.outcome else None
            out.append(
                {
                    "heading": f"{stage}: {outcome.label.lower() if outcome else 'closed'}",
                    "when": _day(event.occurred_on),
                    "text": event.reason,
                    "overdue": False,
                    "by": event.recorded_by,
                }
            )
    return out


def question_status_tag(question: Question, today: date) -> Markup:
    if question.status == "answered":
        return _tag("green", "Answered")
    if today > question.due_on:
        return _tag("red", "Overdue")
    return _tag("blue", "Received")


def _asked_by(question: Question) -> str:
    """Members are named with their role; a member of the public is never named in public."""
    if question.asker_kind == "public":
        return "A member of the public"
    return (
        f"{question.asker_name} ({question.asker_role})"
        if question.asker_role
        else (question.asker_name)
    )


def question_csv_rows(questions: Sequence[Question]) -> list[list[object]]:
    """The answer queue as CSV (internal: the asker is named; no email addresses)."""
    return [
        [
            q.reference,
            q.subject_kind,
            q.subject_ref,
            q.subject_title,
            q.kind,
            q.asker_name if q.asker_kind == "public" else _asked_by(q),
            q.received_at.isoformat(),
            q.due_on,
            q.status,
            q.answered_at.isoformat() if q.answered_at else "",
            q.answered_by or "",
        ]
        for q in questions
    ]


def public_question_rows(questions: Sequence[Question]) -> list[list[object]]:
    """Answered questions as published (CSV and JSON): no personal detail of the public."""
    return [
        [
            q.reference,
            q.subject_kind,
            q.subject_ref,
            q.subject_title,
            q.kind,
            _asked_by(q),
            q.text,
            q.received_at.date(),
            q.answered_at.date() if q.answered_at else "",
            q.answer or "",
        ]
        for q in questions
        if q.status == "answered"
    ]


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def json_records(
    columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> list[dict[str, object]]:
    """The same rows as the CSV, as JSON objects keyed by the CSV's column names."""
    return [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
