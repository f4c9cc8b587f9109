"""Meeting operations on the database. Every write is audited.

Each function works in the caller's transaction (the caller commits) and raises
:class:`~wholesystem.governance.services.GovernanceError` with a reason *before* writing
anything when the request is refused, so a refused request changes nothing. Quorum, conflict
detection and the members current on a date are the governance package's own
(:mod:`~wholesystem.governance.quorum`, :mod:`~wholesystem.governance.conflicts`,
:func:`~wholesystem.governance.services.decision_conflicts`' member facts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wholesystem.governance import services as gov
from wholesystem.governance.conflicts import (
    Conflict,
    ItemFacts,
    Management,
    MemberFacts,
    detect_conflicts,
)
from wholesystem.governance.meetings.actions import ActionStatus
from wholesystem.governance.meetings.attendance import (
    AttendanceStatus,
    Seat,
    item_quorum,
    meeting_quorum,
)
from wholesystem.governance.meetings.forward_plan import PlanEntry, late_key_decisions
from wholesystem.governance.meetings.minutes import (
    Approval,
    ApprovalBy,
    MinutesAction,
    MinutesError,
    MinutesStatus,
    next_status,
)
from wholesystem.governance.meetings.models import (
    Action,
    AgendaItem,
    Attendance,
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
from wholesystem.governance.scheme import BodyKind, QuorumRule

__all__ = [
    "DECLARATIONS_TITLE",
    "add_action",
    "add_agenda_item",
    "add_erratum",
    "add_paper",
    "approve_minutes",
    "attendance_of",
    "chase_action",
    "close_action",
    "create_meeting",
    "item_conflicts",
    "item_quorum_of",
    "items_of",
    "lock_minutes",
    "meeting_quorum_of",
    "member_ids",
    "record_attendance",
    "record_item_conflicts",
    "record_outcome",
    "recorded_management",
    "save_minutes",
    "seats_of",
    "set_meeting_status",
    "unrecorded_conflicts",
]

Error = gov.GovernanceError
DECLARATIONS_TITLE = "Declarations of interest"
MEETING = "governance_meeting"
ACTION = "governance_action"


def _meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise Error(f"there is no meeting {meeting_id}")
    return meeting


def _item(session: Session, item_id: int) -> AgendaItem:
    item = session.get(AgendaItem, item_id)
    if item is None:
        raise Error(f"there is no agenda item {item_id}")
    return item


def _minutes(session: Session, meeting_id: int) -> Minutes | None:
    return session.scalar(select(Minutes).where(Minutes.meeting_id == meeting_id))


def _refuse_if_locked(session: Session, meeting_id: int, what: str) -> None:
    minutes = _minutes(session, meeting_id)
    if minutes is not None and minutes.status == MinutesStatus.locked.value:
        raise Error(f"the minutes of this meeting are locked: {what} can no longer change")


# ------------------------------------------------------------------ meetings and agendas


def create_meeting(
    session: Session,
    *,
    body_id: int,
    title: str,
    starts_at: datetime,
    location: str,
    actor: str,
    now: datetime,
) -> Meeting:
    """Schedule a meeting; its agenda opens with the standing declarations of interest item."""
    body = session.get(Body, body_id)
    if body is None or not body.active:
        raise Error("there is no such active body")
    if not title.strip() or not location.strip():
        raise Error("a meeting needs a title and a location")
    if starts_at.tzinfo is None:
        raise Error("give the meeting's start with its time zone")
    meeting = Meeting(
        body_id=body.id,
        title=title.strip(),
        starts_at=starts_at,
        location=location.strip(),
        status=MeetingStatus.scheduled.value,
        created_at=now,
        created_by=actor,
    )
    session.add(meeting)
    session.flush()
    # Every agenda starts with declarations (NHS England conflicts guidance): item 1, public.
    session.add(
        AgendaItem(
            meeting_id=meeting.id,
            position=1,
            title=DECLARATIONS_TITLE,
            part=Part.public.value,
            presenter="Chair",
            standing=True,
            key_decision=False,
            decision_id=None,
            parties=[],
            matters=[],
            published_on=now.date(),
            outcome="",
            created_at=now,
            created_by=actor,
        )
    )
    session.flush()
    gov.record_audit(
        session,
        actor,
        "create",
        MEETING,
        meeting.id,
        now,
        {"body": body.code, "starts_at": starts_at.isoformat(), "title": meeting.title},
    )
    return meeting


def _clean(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v and v not in out:
            out.append(v)
    return out


def add_agenda_item(
    session: Session,
    meeting_id: int,
    *,
    title: str,
    part: Part,
    presenter: str,
    actor: str,
    now: datetime,
    key_decision: bool = False,
    decision_reference: str | None = None,
    parties: Sequence[str] = (),
    matters: Sequence[str] = (),
) -> AgendaItem:
    """Add an item at the end of a scheduled meeting's agenda.

    An item linked to a decision in the register takes the decision's parties and matters
    unless others are given, and counts as published on the forward plan from the day the
    decision was proposed with a planned date; otherwise from today.
    """
    meeting = _meeting(session, meeting_id)
    if meeting.status != MeetingStatus.scheduled.value:
        raise Error(f"the meeting is {meeting.status}: its agenda is closed")
    if not title.strip() or not presenter.strip():
        raise Error("an agenda item needs a title and a presenter")
    for code in parties:
        gov.check_organisation(session, code.strip().upper(), "party")
    published_on = now.date()
    decision_id: int | None = None
    if decision_reference:
        decision = session.scalar(
            select(Decision).where(Decision.reference == decision_reference.strip())
        )
        if decision is None:
            raise Error(f"there is no decision {decision_reference!r} in the register")
        latest = gov.latest_version(session, decision.id)
        decision_id = decision.id
        parties = parties or latest.parties
        matters = matters or latest.matters
        if latest.planned_on is not None:
            published_on = min(published_on, decision.created_at.date())
    position = (
        session.scalar(
            select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
        )
        or 0
    ) + 1
    item = AgendaItem(
        meeting_id=meeting.id,
        position=position,
        title=title.strip(),
        part=part.value,
        presenter=presenter.strip(),
        standing=False,
        key_decision=key_decision,
        decision_id=decision_id,
        parties=[p.upper() for p in _clean(parties)],
        matters=_clean(matters),
        published_on=published_on,
        outcome="",
        created_at=now,
        created_by=actor,
    )
    session.add(item)
    session.flush()
    gov.record_audit(
        session,
        actor,
        "add_item",
        MEETING,
        meeting.id,
        now,
        {"item": position, "title": item.title, "part": part.value, "key": key_decision},
    )
    return item


def add_paper(
    session: Session,
    item_id: int,
    *,
    title: str,
    summary: str,
    body: str,
    public: bool,
    actor: str,
    now: datetime,
) -> Paper:
    """Attach a paper to an item; a paper for the private part cannot be public."""
    item = _item(session, item_id)
    if not title.strip() or not body.strip():
        raise Error("a paper needs a title and its text")
    if public and item.part == Part.private.value:
        raise Error("a paper for the private part of the agenda cannot be public")
    _refuse_if_locked(session, item.meeting_id, "its papers")
    paper = Paper(
        item_id=item.id,
        title=title.strip(),
        summary=summary.strip(),
        body=body.strip(),
        public=public,
        created_at=now,
        created_by=actor,
    )
    session.add(paper)
    session.flush()
    gov.record_audit(
        session,
        actor,
        "add_paper",
        MEETING,
        item.meeting_id,
        now,
        {"item_id": item.id, "paper_id": paper.id, "public": public},
    )
    return paper


def set_meeting_status(
    session: Session, meeting_id: int, *, status: MeetingStatus, actor: str, now: datetime
) -> Meeting:
    """Mark a scheduled meeting held (once it has started) or cancelled; both are final."""
    meeting = _meeting(session, meeting_id)
    current = MeetingStatus(meeting.status)
    if current is not MeetingStatus.scheduled:
        raise Error(f"the meeting is already {current.value}")
    if status is MeetingStatus.scheduled:
        raise Error("the meeting is already scheduled")
    if status is MeetingStatus.held and meeting.starts_at > now:
        raise Error("a meeting cannot be marked held before it starts")
    meeting.status = status.value
    session.flush()
    gov.record_audit(session, actor, "status", MEETING, meeting.id, now, {"status": status.value})
    return meeting


# ------------------------------------------------------------------ attendance and quorum


def seats_of(session: Session, meeting: Meeting) -> dict[int, tuple[Member, MemberFacts]]:
    """The body's members current on the meeting's day, by person id."""
    return gov.member_facts(session, meeting.body_id, meeting.starts_at.date())


def member_ids(session: Session, body_id: int, on: date) -> list[int]:
    """Person ids of the body's members current on ``on``, in the order they were seated."""
    return [
        m.person_id
        for m in session.scalars(
            select(Member).where(Member.body_id == body_id).order_by(Member.id)
        )
        if m.term_start <= on and (m.term_end is None or m.term_end >= on)
    ]


def items_of(session: Session, meeting_id: int) -> list[AgendaItem]:
    """A meeting's agenda in order."""
    return list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.position)
        )
    )


def attendance_of(session: Session, meeting_id: int) -> dict[int, AttendanceStatus]:
    """Recorded attendance by person id."""
    return {
        a.person_id: AttendanceStatus(a.status)
        for a in session.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id))
    }


def record_attendance(
    session: Session,
    meeting_id: int,
    *,
    person_id: int,
    status: AttendanceStatus,
    actor: str,
    now: datetime,
) -> Attendance:
    """Record (or change) a current member's attendance; quorum follows live."""
    meeting = _meeting(session, meeting_id)
    if meeting.status == MeetingStatus.cancelled.value:
        raise Error("the meeting was cancelled")
    if person_id not in seats_of(session, meeting):
        raise Error("only a current member of the body has attendance recorded")
    _refuse_if_locked(session, meeting.id, "attendance")
    row = session.scalar(
        select(Attendance).where(
            Attendance.meeting_id == meeting.id, Attendance.person_id == person_id
        )
    )
    before = row.status if row else None
    if row is None:
        row = Attendance(meeting_id=meeting.id, person_id=person_id)
        session.add(row)
    row.status = status.value
    row.recorded_at = now
    row.recorded_by = actor
    session.flush()
    gov.record_audit(
        session,
        actor,
        "attendance",
        MEETING,
        meeting.id,
        now,
        {"person_id": person_id, "from": before, "to": status.value},
    )
    return row


def _rule_and_seats(session: Session, meeting: Meeting) -> tuple[QuorumRule, list[Seat]]:
    body = session.get(Body, meeting.body_id)
    assert body is not None
    rule = gov.current_scheme().quorum_for(BodyKind(body.kind))
    seats = [
        Seat(pid, member.voting, member.member_group)
        for pid, (member, _) in seats_of(session, meeting).items()
    ]
    return rule, seats


def meeting_quorum_of(session: Session, meeting: Meeting) -> QuorumResult:
    """Whether the meeting is quorate with the attendance recorded so far."""
    rule, seats = _rule_and_seats(session, meeting)
    return meeting_quorum(rule, seats, attendance_of(session, meeting.id))


def item_conflicts(session: Session, item: AgendaItem) -> list[Conflict]:
    """Conflicts of the body's current members on the item's organisations and matters."""
    meeting = _meeting(session, item.meeting_id)
    if not item.parties and not item.matters:
        return []
    members = [facts for _, facts in seats_of(session, meeting).values()]
    facts = ItemFacts(tuple(item.parties), tuple(item.matters), meeting.starts_at.date())
    return detect_conflicts(members, facts)


def recorded_management(session: Session, item_id: int) -> dict[int, tuple[Management, ...]]:
    """The management recorded per conflicted person on an item (every action, merged)."""
    out: dict[int, tuple[Management, ...]] = {}
    for row in session.scalars(select(ItemConflict).where(ItemConflict.item_id == item_id)):
        merged = set(out.get(row.person_id, ())) | {Management(m) for m in row.management}
        out[row.person_id] = tuple(m for m in Management if m in merged)
    return out


def item_quorum_of(session: Session, item: AgendaItem) -> QuorumResult:
    """Quorum for an item once those conflicted on it are excluded."""
    meeting = _meeting(session, item.meeting_id)
    rule, seats = _rule_and_seats(session, meeting)
    return item_quorum(
        rule,
        seats,
        attendance_of(session, meeting.id),
        item_conflicts(session, item),
        recorded_management(session, item.id),
    )


def _key(c: Conflict) -> tuple[int, int | None, str | None]:
    # An interest conflict is identified by the interest; an employer one by the employer.
    return (c.person_id, c.interest_id, c.organisation_code if c.interest_id is None else None)


def unrecorded_conflicts(session: Session, item: AgendaItem) -> list[Conflict]:
    """Conflicts detected on an item whose management has not been recorded yet."""
    done = {
        (c.person_id, c.interest_id, c.organisation_code)
        for c in session.scalars(select(ItemConflict).where(ItemConflict.item_id == item.id))
    }
    return [c for c in item_conflicts(session, item) if _key(c) not in done]


def _record_conflicts(
    session: Session, item: AgendaItem, conflicts: Sequence[Conflict], actor: str, now: datetime
) -> list[ItemConflict]:
    rows = [
        ItemConflict(
            item_id=item.id,
            person_id=c.person_id,
            source=c.source.value,
            category=c.category.value if c.category else None,
            interest_id=c.interest_id,
            organisation_code=_key(c)[2],
            reason=c.reason,
            management=[m.value for m in c.management],
            recorded_at=now,
            recorded_by=actor,
        )
        for c in conflicts
    ]
    session.add_all(rows)
    session.flush()
    return rows


def record_item_conflicts(
    session: Session, item_id: int, *, actor: str, now: datetime
) -> list[ItemConflict]:
    """Record the detected conflicts on an item with their management (leave the discussion,
    no vote, papers withheld as the guidance proposes); refused when there are none new."""
    item = _item(session, item_id)
    _refuse_if_locked(session, item.meeting_id, "conflicts")
    new = unrecorded_conflicts(session, item)
    if not new:
        raise Error("there are no unrecorded conflicts on this item")
    rows = _record_conflicts(session, item, new, actor, now)
    gov.record_audit(
        session,
        actor,
        "conflicts",
        MEETING,
        item.meeting_id,
        now,
        {"item_id": item.id, "people": sorted({r.person_id for r in rows})},
    )
    return rows


def _late_problem(session: Session, item: AgendaItem, meeting: Meeting) -> str | None:
    late = late_key_decisions(
        [PlanEntry(item.id, item.title, item.key_decision, item.published_on)],
        meeting.starts_at.date(),
    )
    return late[0].reason if late else None


def record_outcome(
    session: Session, item_id: int, *, outcome: str, actor: str, now: datetime
) -> AgendaItem:
    """Record what the meeting resolved on an item.

    Refused, nothing changed, unless the meeting has been held and is quorate for the item
    once conflicted members are excluded, and a key decision had 28 days' notice on the
    forward plan. Detected conflicts not yet recorded are recorded with their management.
    """
    item = _item(session, item_id)
    meeting = _meeting(session, item.meeting_id)
    if meeting.status != MeetingStatus.held.value:
        raise Error(f"the meeting is {meeting.status}: outcomes are recorded once it is held")
    if not outcome.strip():
        raise Error("say what the meeting resolved")
    _refuse_if_locked(session, meeting.id, "outcomes")
    quorum = item_quorum_of(session, item)
    if not quorum.quorate:
        raise Error("the meeting cannot transact this business. " + quorum.explanation)
    late = _late_problem(session, item, meeting)
    if late:
        raise Error(late)
    conflicts = unrecorded_conflicts(session, item)
    _record_conflicts(session, item, conflicts, actor, now)
    item.outcome = outcome.strip()
    item.outcome_recorded_at = now
    item.outcome_recorded_by = actor
    session.flush()
    gov.record_audit(
        session,
        actor,
        "outcome",
        MEETING,
        meeting.id,
        now,
        {"item_id": item.id, "quorum": quorum.explanation, "excluded": list(quorum.excluded)},
    )
    return item


# ----------------------------------------------------------------------------- minutes


def _step(current: MinutesStatus, action: MinutesAction, approval: Approval | None = None) -> None:
    try:
        next_status(current, action, approval)
    except MinutesError as exc:
        raise Error(str(exc)) from None


def save_minutes(
    session: Session, meeting_id: int, *, text: str, actor: str, now: datetime
) -> Minutes:
    """Write or edit the draft minutes of a held meeting."""
    meeting = _meeting(session, meeting_id)
    if meeting.status != MeetingStatus.held.value:
        raise Error("minutes are written for a meeting that has been held")
    if not text.strip():
        raise Error("the minutes are empty")
    minutes = _minutes(session, meeting.id)
    if minutes is not None:
        _step(MinutesStatus(minutes.status), MinutesAction.edit)
    else:
        minutes = Minutes(meeting_id=meeting.id, status=MinutesStatus.draft.value)
        session.add(minutes)
    minutes.text = text.strip()
    minutes.updated_at = now
    minutes.updated_by = actor
    session.flush()
    gov.record_audit(
        session, actor, "minutes_draft", MEETING, meeting.id, now, {"chars": len(text)}
    )
    return minutes


def approve_minutes(
    session: Session,
    meeting_id: int,
    *,
    by: ApprovalBy,
    actor: str,
    now: datetime,
    approving_meeting_id: int | None = None,
) -> Minutes:
    """Approve draft minutes: by the body at a later held meeting of it, or by the chair."""
    meeting = _meeting(session, meeting_id)
    minutes = _minutes(session, meeting.id)
    if minutes is None:
        raise Error("there are no minutes to approve")
    later = session.get(Meeting, approving_meeting_id) if approving_meeting_id else None
    if approving_meeting_id and later is None:
        raise Error(f"there is no meeting {approving_meeting_id}")
    approval = Approval(
        by,
        meeting.starts_at.date(),
        later.starts_at.date() if later else None,
        bool(later and later.body_id == meeting.body_id),
        bool(later and later.status == MeetingStatus.held.value),
    )
    _step(MinutesStatus(minutes.status), MinutesAction.approve, approval)
    minutes.status = MinutesStatus.approved.value
    minutes.approved_by = by.value
    minutes.approved_at_meeting_id = later.id if later and by is ApprovalBy.body else None
    minutes.approved_on = later.starts_at.date() if later and by is ApprovalBy.body else now.date()
    minutes.updated_at = now
    minutes.updated_by = actor
    session.flush()
    gov.record_audit(
        session,
        actor,
        "minutes_approve",
        MEETING,
        meeting.id,
        now,
        {"by": by.value, "at_meeting": minutes.approved_at_meeting_id},
    )
    return minutes


def lock_minutes(session: Session, meeting_id: int, *, actor: str, now: datetime) -> Minutes:
    """Lock approved minutes for good."""
    minutes = _minutes(session, meeting_id)
    if minutes is None:
        raise Error("there are no minutes to lock")
    _step(MinutesStatus(minutes.status), MinutesAction.lock)
    minutes.status = MinutesStatus.locked.value
    minutes.locked_at = now
    minutes.updated_at = now
    minutes.updated_by = actor
    session.flush()
    gov.record_audit(session, actor, "minutes_lock", MEETING, meeting_id, now)
    return minutes


def add_erratum(
    session: Session, meeting_id: int, *, text: str, actor: str, now: datetime
) -> MinutesErratum:
    """Append a correction to locked minutes (the minutes themselves never change)."""
    minutes = _minutes(session, meeting_id)
    if minutes is None:
        raise Error("there are no minutes to correct")
    _step(MinutesStatus(minutes.status), MinutesAction.erratum)
    if not text.strip():
        raise Error("say what the correction is")
    row = MinutesErratum(
        minutes_id=minutes.id, text=text.strip(), recorded_at=now, recorded_by=actor
    )
    session.add(row)
    session.flush()
    gov.record_audit(
        session, actor, "minutes_erratum", MEETING, meeting_id, now, {"erratum": row.id}
    )
    return row


# ----------------------------------------------------------------------------- actions


def add_action(
    session: Session,
    meeting_id: int,
    *,
    description: str,
    owner_person_id: int,
    due_on: date,
    actor: str,
    now: datetime,
    item_id: int | None = None,
) -> Action:
    """Give someone an action from a meeting, due on a day no earlier than the meeting."""
    meeting = _meeting(session, meeting_id)
    if meeting.status == MeetingStatus.cancelled.value:
        raise Error("the meeting was cancelled")
    if not description.strip():
        raise Error("describe the action")
    if session.get(Person, owner_person_id) is None:
        raise Error("the owner must be a person in the governance directory")
    if due_on < meeting.starts_at.date():
        raise Error("an action cannot be due before the meeting that set it")
    if item_id is not None and _item(session, item_id).meeting_id != meeting.id:
        raise Error("that agenda item belongs to another meeting")
    action = Action(
        meeting_id=meeting.id,
        item_id=item_id,
        description=description.strip(),
        owner_person_id=owner_person_id,
        due_on=due_on,
        status=ActionStatus.open.value,
        chase_count=0,
        close_note="",
        created_at=now,
        created_by=actor,
    )
    session.add(action)
    session.flush()
    gov.record_audit(
        session,
        actor,
        "create",
        ACTION,
        action.id,
        now,
        {"meeting": meeting.id, "owner": owner_person_id, "due_on": due_on.isoformat()},
    )
    return action


def _open_action(session: Session, action_id: int) -> Action:
    action = session.get(Action, action_id)
    if action is None:
        raise Error(f"there is no action {action_id}")
    if action.status != ActionStatus.open.value:
        raise Error("the action is already done")
    return action


def close_action(
    session: Session, action_id: int, *, note: str, actor: str, now: datetime
) -> Action:
    """Mark an open action done; a note saying what was done is required."""
    action = _open_action(session, action_id)
    if not note.strip():
        raise Error("say what was done to close the action")
    action.status = ActionStatus.done.value
    action.close_note = note.strip()
    action.closed_at = now
    action.closed_by = actor
    session.flush()
    gov.record_audit(session, actor, "close", ACTION, action.id, now, {"note": action.close_note})
    return action


def chase_action(session: Session, action_id: int, *, actor: str, now: datetime) -> Action:
    """Record that an open action was chased with its owner."""
    action = _open_action(session, action_id)
    action.chase_count += 1
    action.last_chased_at = now
    session.flush()
    gov.record_audit(
        session, actor, "chase", ACTION, action.id, now, {"chases": action.chase_count}
    )
    return action
