"""Turn meeting rows into what templates and CSV files show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from wholesystem.governance.conflicts import Conflict, InterestCategory, Management
from wholesystem.governance.meetings.actions import ActionStatus, days_overdue
from wholesystem.governance.meetings.forward_plan import NOTICE_DAYS
from wholesystem.governance.meetings.minutes import MinutesStatus
from wholesystem.governance.meetings.models import MeetingStatus, Part
from wholesystem.governance.meetings.queries import (
    ActionRow,
    ItemView,
    KeyDecisionRow,
    MeetingRow,
    SeatRow,
)
from wholesystem.governance.quorum import QuorumResult
from wholesystem.times import UK_TIME, uk_datetime

__all__ = [
    "ACTION_CSV_COLUMNS",
    "AGENDA_CSV_COLUMNS",
    "ATTENDANCE_CSV_COLUMNS",
    "CONFLICT_CSV_COLUMNS",
    "KEY_DECISION_CSV_COLUMNS",
    "MEETING_CSV_COLUMNS",
    "UK_TIME",
    "action_csv_rows",
    "action_table_rows",
    "agenda_csv_rows",
    "attendance_csv_rows",
    "attendance_table_rows",
    "conflict_csv_rows",
    "key_decision_csv_rows",
    "key_decision_table_rows",
    "meeting_csv_rows",
    "meeting_table_rows",
    "quorum_tag",
    "when",
]

MEETING_CSV_COLUMNS = (
    "meeting_id",
    "body_code",
    "body",
    "title",
    "starts_at",
    "location",
    "status",
    "agenda_items",
    "minutes",
)
AGENDA_CSV_COLUMNS = (
    "position",
    "title",
    "part",
    "presenter",
    "key_decision",
    "decision_reference",
    "parties",
    "matters",
    "forward_plan_published_on",
    "notice_days",
    "quorate_for_item",
    "outcome",
)
ATTENDANCE_CSV_COLUMNS = ("name", "role", "member_group", "voting", "attendance")
CONFLICT_CSV_COLUMNS = ("item", "name", "interest", "reason", "management", "recorded")
ACTION_CSV_COLUMNS = (
    "action_id",
    "body_code",
    "meeting_id",
    "meeting_date",
    "description",
    "owner",
    "due_on",
    "status",
    "days_overdue",
    "chases",
    "close_note",
)
KEY_DECISION_CSV_COLUMNS = (
    "meeting_date",
    "body",
    "item",
    "decision_reference",
    "published_on",
    "notice_days",
    "enough_notice",
)


def when(moment: datetime) -> str:
    """A meeting time in UK time: '3 Mar 2026, 10:00'."""
    return uk_datetime(moment, "%-d %b %Y, %H:%M")


def _day(value: date | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(escape(href), escape(text))


def _tag(text: str, colour: str) -> Markup:
    return Markup('<strong class="nhsuk-tag nhsuk-tag--{}">{}</strong>').format(colour, text)


_MEETING_COLOURS = {"scheduled": "blue", "held": "green", "cancelled": "grey"}
_MINUTES_COLOURS = {"draft": "yellow", "approved": "blue", "locked": "green"}


def quorum_tag(result: QuorumResult) -> Markup:
    """A green 'Quorate' or red 'Not quorate' tag."""
    return _tag("Quorate", "green") if result.quorate else _tag("Not quorate", "red")


def meeting_table_rows(rows: Sequence[MeetingRow], base: str) -> list[list[dict[str, Any]]]:
    """Rows for the meetings table; ``base`` is the meeting pages' path."""
    return [
        [
            {"html": _link(f"{base}/{r.meeting.id}", r.meeting.title)},
            {"text": r.body.name},
            {"text": when(r.meeting.starts_at)},
            {"text": r.meeting.location},
            {
                "html": _tag(
                    MeetingStatus(r.meeting.status).label, _MEETING_COLOURS[r.meeting.status]
                )
            },
            {"text": str(r.items), "format": "numeric"},
            {
                "html": _tag(
                    MinutesStatus(r.minutes_status).label, _MINUTES_COLOURS[r.minutes_status]
                )
                if r.minutes_status
                else Markup("None yet")
            },
        ]
        for r in rows
    ]


def meeting_csv_rows(rows: Sequence[MeetingRow]) -> list[list[object]]:
    return [
        [
            r.meeting.id,
            r.body.code,
            r.body.name,
            r.meeting.title,
            r.meeting.starts_at.isoformat(),
            r.meeting.location,
            r.meeting.status,
            r.items,
            r.minutes_status or "",
        ]
        for r in rows
    ]


def agenda_csv_rows(items: Sequence[ItemView]) -> list[list[object]]:
    return [
        [
            v.item.position,
            v.item.title,
            v.item.part,
            v.item.presenter,
            v.item.key_decision,
            v.decision_reference or "",
            "; ".join(v.item.parties),
            "; ".join(v.item.matters),
            v.item.published_on,
            v.notice_days,
            v.quorum.quorate,
            v.item.outcome,
        ]
        for v in items
    ]


def attendance_table_rows(seats: Sequence[SeatRow]) -> list[list[dict[str, Any]]]:
    return [
        [
            {"text": s.person.name},
            {"text": s.member.role},
            {"text": s.member.member_group.replace("_", " ")},
            {"text": "Voting" if s.member.voting else "Non-voting"},
            {"text": s.status.label if s.status else "Not recorded"},
        ]
        for s in seats
    ]


def attendance_csv_rows(seats: Sequence[SeatRow]) -> list[list[object]]:
    return [
        [
            s.person.name,
            s.member.role,
            s.member.member_group,
            s.member.voting,
            s.status.value if s.status else "",
        ]
        for s in seats
    ]


def _interest(c: Conflict) -> str:
    return c.category.label if c.category else "Employer is a party"


def _management(actions: Sequence[str]) -> str:
    return "; ".join(Management(m).label for m in actions)


def conflict_table_rows(view: ItemView) -> list[list[dict[str, Any]]]:
    """Detected conflicts on an item, with the management recorded (or proposed)."""
    recorded = {(c.person_id, c.interest_id): c for c, _ in view.recorded}
    out: list[list[dict[str, Any]]] = []
    for c in view.conflicts:
        row = recorded.get((c.person_id, c.interest_id))
        out.append(
            [
                {"text": c.name},
                {"text": _interest(c)},
                {"text": c.reason},
                {
                    "text": _management(row.management)
                    if row
                    else "Proposed: " + _management([m.value for m in c.management])
                },
            ]
        )
    return out


def conflict_csv_rows(items: Sequence[ItemView]) -> list[list[object]]:
    out: list[list[object]] = []
    for v in items:
        recorded = {(c.person_id, c.interest_id): c for c, _ in v.recorded}
        for c in v.conflicts:
            row = recorded.get((c.person_id, c.interest_id))
            out.append(
                [
                    v.item.position,
                    c.name,
                    c.category.value if c.category else "employer_party",
                    c.reason,
                    "; ".join(row.management if row else [m.value for m in c.management]),
                    bool(row),
                ]
            )
    return out


def action_table_rows(
    rows: Sequence[ActionRow], today: date, *, with_body: bool = True
) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    for r in rows:
        a = r.action
        late = days_overdue(ActionStatus(a.status), a.due_on, today)
        status = (
            _tag(f"Overdue by {late} days" if late != 1 else "Overdue by 1 day", "red")
            if late
            else _tag(ActionStatus(a.status).label, "green" if a.status == "done" else "blue")
        )
        cells: list[dict[str, Any]] = [
            {"text": a.description + (f" Closed: {a.close_note}" if a.close_note else "")},
            {"text": r.owner.name},
            {"text": _day(a.due_on)},
            {"html": status},
            {"text": str(a.chase_count), "format": "numeric"},
        ]
        if with_body:
            cells.insert(
                1,
                {
                    "html": _link(
                        f"/governance/meetings/{r.meeting.id}",
                        f"{r.body.name}, {_day(r.meeting.starts_at.astimezone(UK_TIME).date())}",
                    )
                },
            )
        out.append(cells)
    return out


def action_csv_rows(rows: Sequence[ActionRow], today: date) -> list[list[object]]:
    return [
        [
            r.action.id,
            r.body.code,
            r.meeting.id,
            r.meeting.starts_at.astimezone(UK_TIME).date(),
            r.action.description,
            r.owner.name,
            r.action.due_on,
            r.action.status,
            days_overdue(ActionStatus(r.action.status), r.action.due_on, today),
            r.action.chase_count,
            r.action.close_note,
        ]
        for r in rows
    ]


def key_decision_table_rows(rows: Sequence[KeyDecisionRow]) -> list[list[dict[str, Any]]]:
    return [
        [
            {"text": _day(r.meeting.starts_at.astimezone(UK_TIME).date())},
            {"html": _link(f"/public/governance/meetings/{r.meeting.id}", r.body.name)},
            {"text": r.item.title if r.item.part == Part.public.value else "Private item"},
            {
                "html": _link(
                    f"/public/governance/decisions/{r.decision_reference}", r.decision_reference
                )
                if r.decision_reference
                else Markup("")
            },
            {"text": _day(r.item.published_on)},
            {
                "text": "Yes"
                if r.notice_days >= NOTICE_DAYS
                else f"No: {r.notice_days} days' notice, {NOTICE_DAYS} needed"
            },
        ]
        for r in rows
    ]


def key_decision_csv_rows(rows: Sequence[KeyDecisionRow]) -> list[list[object]]:
    return [
        [
            r.meeting.starts_at.astimezone(UK_TIME).date(),
            r.body.name,
            r.item.title if r.item.part == Part.public.value else "Private item",
            r.decision_reference or "",
            r.item.published_on,
            r.notice_days,
            r.notice_days >= NOTICE_DAYS,
        ]
        for r in rows
    ]


def category_label(category: str | None) -> str:
    return InterestCategory(category).label if category else "Employer is a party"
