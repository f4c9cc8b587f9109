"""Read the meeting tables for pages and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.governance.conflicts import Conflict
from wholesystem.governance.meetings import services as mtg
from wholesystem.governance.meetings.actions import ActionStatus, is_overdue
from wholesystem.governance.meetings.attendance import AttendanceStatus
from wholesystem.governance.meetings.forward_plan import notice_days
from wholesystem.governance.meetings.models import (
    Action,
    AgendaItem,
    ItemConflict,
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesErratum,
    Paper,
    Part,
)
from wholesystem.governance.models import Body, Decision, Member, Person
from wholesystem.governance.quorum import QuorumResult

__all__ = [
    "ACTION_VIEWS",
    "WHEN",
    "ActionFilters",
    "ActionRow",
    "ItemView",
    "KeyDecisionRow",
    "MeetingDetail",
    "MeetingFilters",
    "MeetingRow",
    "SeatRow",
    "key_decisions_ahead",
    "list_actions",
    "list_meetings",
    "meeting_detail",
]

WHEN = ("upcoming", "past")
ACTION_VIEWS = ("open", "overdue", "done", "all")


@dataclass(frozen=True)
class MeetingFilters:
    body: str | None = None
    status: str | None = None
    when: str | None = None

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass(frozen=True)
class MeetingRow:
    meeting: Meeting
    body: Body
    items: int
    minutes_status: str | None


def list_meetings(
    session: Session, filters: MeetingFilters, *, now: datetime, public: bool = False
) -> list[MeetingRow]:
    """Meetings, soonest upcoming first then the most recent past; filtered."""
    query = select(Meeting, Body).join(Body, Body.id == Meeting.body_id)
    if filters.body:
        query = query.where(Body.code == filters.body)
    if filters.status:
        query = query.where(Meeting.status == filters.status)
    if filters.when == "upcoming":
        query = query.where(Meeting.starts_at >= now)
    elif filters.when == "past":
        query = query.where(Meeting.starts_at < now)
    rows = session.execute(query).all()
    minutes = {m.meeting_id: m.status for m in session.scalars(select(Minutes))}
    out = []
    for meeting, body in rows:
        items = session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id))
        count = sum(1 for i in items if not public or i.part == Part.public.value)
        out.append(MeetingRow(meeting, body, count, minutes.get(meeting.id)))
    upcoming = sorted((r for r in out if r.meeting.starts_at >= now), key=_start)
    past = sorted((r for r in out if r.meeting.starts_at < now), key=_start, reverse=True)
    return upcoming + past


def _reference(session: Session, decision_id: int | None) -> str | None:
    decision = session.get(Decision, decision_id) if decision_id is not None else None
    return decision.reference if decision else None


def _start(row: MeetingRow) -> datetime:
    return row.meeting.starts_at


@dataclass(frozen=True)
class ItemView:
    item: AgendaItem
    decision_reference: str | None
    papers: list[Paper]
    conflicts: list[Conflict]  # detected now, for every current member
    recorded: list[tuple[ItemConflict, Person]]
    unrecorded: int
    quorum: QuorumResult
    notice_days: int


@dataclass(frozen=True)
class SeatRow:
    person: Person
    member: Member
    status: AttendanceStatus | None


@dataclass(frozen=True)
class MeetingDetail:
    meeting: Meeting
    body: Body
    items: list[ItemView]
    seats: list[SeatRow]
    quorum: QuorumResult
    minutes: Minutes | None
    errata: list[MinutesErratum]
    approved_at: Meeting | None
    actions: list[ActionRow]
    body_open_actions: list[ActionRow]
    later_meetings: list[Meeting]


@dataclass(frozen=True)
class ActionRow:
    action: Action
    owner: Person
    meeting: Meeting
    body: Body

    def overdue(self, today: date) -> bool:
        return is_overdue(ActionStatus(self.action.status), self.action.due_on, today)


def meeting_detail(session: Session, meeting_id: int, *, public: bool) -> MeetingDetail | None:
    """Everything the meeting page shows; the public view keeps to the public part."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    body = session.get(Body, meeting.body_id)
    assert body is not None
    items: list[ItemView] = []
    query = select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
    if public:
        query = query.where(AgendaItem.part == Part.public.value)
    for item in session.scalars(query.order_by(AgendaItem.position)):
        papers = select(Paper).where(Paper.item_id == item.id).order_by(Paper.id)
        if public:
            papers = papers.where(Paper.public.is_(True))
        ref = _reference(session, item.decision_id)
        recorded = [
            (c, p)
            for c, p in session.execute(
                select(ItemConflict, Person)
                .join(Person, Person.id == ItemConflict.person_id)
                .where(ItemConflict.item_id == item.id)
                .order_by(ItemConflict.id)
            ).all()
        ]
        items.append(
            ItemView(
                item,
                ref,
                list(session.scalars(papers)),
                mtg.item_conflicts(session, item),
                recorded,
                len(mtg.unrecorded_conflicts(session, item)),
                mtg.item_quorum_of(session, item),
                notice_days(item.published_on, meeting.starts_at.date()),
            )
        )
    attendance = mtg.attendance_of(session, meeting.id)
    seats = sorted(
        (
            SeatRow(person, member, attendance.get(person.id))
            for member, person in (
                (m, session.get(Person, pid))
                for pid, (m, _) in mtg.seats_of(session, meeting).items()
            )
            if person is not None
        ),
        key=lambda s: s.person.name,
    )
    minutes = session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))
    errata = (
        list(
            session.scalars(
                select(MinutesErratum)
                .where(MinutesErratum.minutes_id == minutes.id)
                .order_by(MinutesErratum.id)
            )
        )
        if minutes
        else []
    )
    approved_at = (
        session.get(Meeting, minutes.approved_at_meeting_id)
        if minutes and minutes.approved_at_meeting_id
        else None
    )
    later = list(
        session.scalars(
            select(Meeting)
            .where(
                Meeting.body_id == body.id,
                Meeting.starts_at > meeting.starts_at,
                Meeting.status == MeetingStatus.held.value,
            )
            .order_by(Meeting.starts_at)
        )
    )
    return MeetingDetail(
        meeting,
        body,
        items,
        seats,
        mtg.meeting_quorum_of(session, meeting),
        minutes,
        errata,
        approved_at,
        list_actions(session, ActionFilters(meeting_id=meeting.id, view="all"), today=None),
        list_actions(session, ActionFilters(body=body.code, view="open"), today=None),
        later,
    )


@dataclass(frozen=True)
class ActionFilters:
    view: str = "open"
    body: str | None = None
    meeting_id: int | None = None

    def as_query(self) -> dict[str, str]:
        out = {"view": self.view} if self.view != "open" else {}
        if self.body:
            out["body"] = self.body
        return out


def list_actions(
    session: Session, filters: ActionFilters, *, today: date | None
) -> list[ActionRow]:
    """Actions, earliest due first; ``overdue`` needs ``today``."""
    query = (
        select(Action, Person, Meeting, Body)
        .join(Person, Person.id == Action.owner_person_id)
        .join(Meeting, Meeting.id == Action.meeting_id)
        .join(Body, Body.id == Meeting.body_id)
        .order_by(Action.due_on, Action.id)
    )
    if filters.view in {"open", "overdue"}:
        query = query.where(Action.status == ActionStatus.open.value)
    elif filters.view == "done":
        query = query.where(Action.status == ActionStatus.done.value)
    if filters.body:
        query = query.where(Body.code == filters.body)
    if filters.meeting_id is not None:
        query = query.where(Action.meeting_id == filters.meeting_id)
    rows = [ActionRow(a, p, m, b) for a, p, m, b in session.execute(query).all()]
    if filters.view == "overdue":
        assert today is not None
        rows = [r for r in rows if r.overdue(today)]
    return rows


@dataclass(frozen=True)
class KeyDecisionRow:
    item: AgendaItem
    meeting: Meeting
    body: Body
    decision_reference: str | None
    notice_days: int


def key_decisions_ahead(session: Session, *, now: datetime) -> list[KeyDecisionRow]:
    """Key decisions on the agendas of scheduled meetings still to come, soonest first."""
    rows = session.execute(
        select(AgendaItem, Meeting, Body)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .join(Body, Body.id == Meeting.body_id)
        .where(
            AgendaItem.key_decision.is_(True),
            Meeting.status == MeetingStatus.scheduled.value,
            Meeting.starts_at >= now,
        )
        .order_by(Meeting.starts_at, AgendaItem.position)
    ).all()
    return [
        KeyDecisionRow(
            item,
            meeting,
            body,
            _reference(session, item.decision_id),
            notice_days(item.published_on, meeting.starts_at.date()),
        )
        for item, meeting, body in rows
    ]
