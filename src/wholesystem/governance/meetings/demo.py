"""Demo meetings for the demo ICS: past and upcoming meetings of the system board and each
place board, with agendas, papers, attendance, minutes (approved and locked for the older
meeting, a draft for the latest), actions (some overdue) and a conflict detected and handled.

Called at the end of :func:`wholesystem.governance.demo.load_demo_governance`, once the
bodies, members, interests and decisions exist. Idempotent: if any meeting exists, nothing
is added.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.governance.meetings import services as mtg
from wholesystem.governance.meetings.attendance import AttendanceStatus
from wholesystem.governance.meetings.minutes import ApprovalBy
from wholesystem.governance.meetings.models import Meeting, MeetingStatus, Part
from wholesystem.governance.meetings.presenters import UK_TIME
from wholesystem.governance.models import Body, Decision, DecisionVersion, Person
from wholesystem.governance.scheme import BodyKind
from wholesystem.store.db import utcnow

__all__ = ["load_demo_meetings"]


def _reference(session: Session, title: str) -> str | None:
    return session.scalar(
        select(Decision.reference)
        .join(DecisionVersion, DecisionVersion.decision_id == Decision.id)
        .where(DecisionVersion.title == title)
        .limit(1)
    )


def load_demo_meetings(
    session: Session, *, actor: str = "demo", now: datetime | None = None
) -> str:
    """Create the demo meetings (the caller commits); returns a one-line summary."""
    now = now or utcnow()
    if session.scalar(select(Meeting.id).limit(1)) is not None:
        return "meetings demo already loaded"
    boards = list(
        session.scalars(
            select(Body)
            .where(
                Body.kind.in_([BodyKind.system_board.value, BodyKind.place_board.value]),
                Body.active.is_(True),
            )
            .order_by(Body.id)
        )
    )
    if not boards:
        return "meetings demo: no boards to meet"
    today = now.astimezone(UK_TIME).date()

    def at(days: int) -> datetime:
        return datetime.combine(today + timedelta(days=days), time(10, 0), UK_TIME)

    meetings = actions = 0
    for body in boards:
        system = body.kind == BodyKind.system_board.value
        seats = mtg.member_ids(session, body.id, today)
        if not seats:
            continue
        names = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(seats)))}
        chair, secretary = seats[0], seats[-1]
        place = "" if system else body.name.removesuffix(" place board")
        where = "ICB headquarters, Board room" if system else f"{place} civic centre"

        # Two past meetings, agendas set 40 days ahead of each.
        past = []
        for days in (-70, -35):
            start = at(days)
            agenda_time = start - timedelta(days=40)
            meeting = mtg.create_meeting(
                session,
                body_id=body.id,
                title=f"{body.name} meeting",
                starts_at=start,
                location=where,
                actor=actor,
                now=agenda_time,
            )
            past.append(meeting)
            finance = mtg.add_agenda_item(
                session,
                meeting.id,
                title="Finance report",
                part=Part.public,
                presenter="Chief finance officer" if system else "Place director",
                actor=actor,
                now=agenda_time,
            )
            mtg.add_paper(
                session,
                finance.id,
                title="Finance report",
                summary="Year-to-date position against plan.",
                body=(
                    "The system is forecasting a balanced position at year end.\n\n"
                    "Pressures in urgent care are offset by vacancies in community services."
                ),
                public=True,
                actor=actor,
                now=agenda_time,
            )
            if system and days == -35:
                # The GP lead holds shares in the community trust's subcontractor: detected.
                community = session.scalar(
                    select(DecisionVersion.parties)
                    .where(
                        DecisionVersion.title
                        == "Move community ophthalmology into one system-wide service"
                    )
                    .limit(1)
                )
                conflicted = mtg.add_agenda_item(
                    session,
                    meeting.id,
                    title="Community ophthalmology: options appraisal",
                    part=Part.public,
                    presenter="Chief medical officer",
                    parties=list(community or []),
                    matters=["community ophthalmology"],
                    actor=actor,
                    now=agenda_time,
                )
                mtg.add_paper(
                    session,
                    conflicted.id,
                    title="Options appraisal",
                    summary="Three options for one system-wide community ophthalmology service.",
                    body=(
                        "Waits differ threefold between places.\n\n"
                        "Option 1: keep separate services. Option 2: one service run by the "
                        "community trust. Option 3: outsource."
                    ),
                    public=True,
                    actor=actor,
                    now=agenda_time,
                )
            private = mtg.add_agenda_item(
                session,
                meeting.id,
                title="Contract negotiations" if system else "Estates options",
                part=Part.private,
                presenter="Chief executive" if system else "Place director",
                actor=actor,
                now=agenda_time,
            )
            mtg.add_paper(
                session,
                private.id,
                title="Commercial position (private)",
                summary="Commercially confidential: not for publication.",
                body="Negotiating positions with two providers; see the appendix for figures.",
                public=False,
                actor=actor,
                now=agenda_time,
            )
            mtg.set_meeting_status(
                session, meeting.id, status=MeetingStatus.held, actor=actor, now=now
            )
            for i, pid in enumerate(seats):
                status = (
                    AttendanceStatus.apologies
                    if i == len(seats) - 1 and days == -70
                    else AttendanceStatus.present
                )
                mtg.record_attendance(
                    session, meeting.id, person_id=pid, status=status, actor=actor, now=now
                )
            for item in mtg.items_of(session, meeting.id):
                if item.standing:
                    continue
                if mtg.item_conflicts(session, item):
                    mtg.record_item_conflicts(session, item.id, actor=actor, now=now)
                    outcome = (
                        "Noted. Option 2 preferred, to go to the clinical reference group. "
                        "The conflicted member left the room and did not take part."
                    )
                else:
                    outcome = (
                        "Noted and discussed."
                        if item.part == Part.public.value
                        else ("Approach agreed in private session.")
                    )
                mtg.record_outcome(session, item.id, outcome=outcome, actor=actor, now=now)
            mtg.save_minutes(
                session,
                meeting.id,
                text=(
                    f"Present: {', '.join(names[p].name for p in seats if p in names)}.\n\n"
                    "1. Declarations of interest: as recorded on the agenda.\n\n"
                    "2. Finance report: noted.\n\n"
                    "The chair closed the meeting at 12:30."
                ),
                actor=actor,
                now=now,
            )
            meetings += 1

        first, latest = past
        mtg.approve_minutes(
            session,
            first.id,
            by=ApprovalBy.body,
            approving_meeting_id=latest.id,
            actor=actor,
            now=now,
        )
        mtg.lock_minutes(session, first.id, actor=actor, now=now)

        # Actions: one done, one overdue (chased), one not yet due.
        done = mtg.add_action(
            session,
            first.id,
            description="Circulate the revised finance plan",
            owner_person_id=chair,
            due_on=first.starts_at.date() + timedelta(days=14),
            actor=actor,
            now=now,
        )
        mtg.close_action(
            session, done.id, note="Circulated to all members by email.", actor=actor, now=now
        )
        late = mtg.add_action(
            session,
            latest.id,
            description="Report back on the urgent care pressures",
            owner_person_id=secretary,
            due_on=today - timedelta(days=10),
            actor=actor,
            now=now,
        )
        mtg.chase_action(session, late.id, actor=actor, now=now)
        mtg.add_action(
            session,
            latest.id,
            description="Bring the winter plan to the next meeting",
            owner_person_id=chair,
            due_on=today + timedelta(days=14),
            actor=actor,
            now=now,
        )
        actions += 3

        # The next meeting: key decisions on the agenda, one of them with too little notice.
        upcoming = mtg.create_meeting(
            session,
            body_id=body.id,
            title=f"{body.name} meeting",
            starts_at=at(35 if system else 21),
            location=where,
            actor=actor,
            now=now,
        )
        meetings += 1
        if system:
            for title in (
                "Move community ophthalmology into one system-wide service",
                "System risk-share agreement for 2026/27",
            ):
                mtg.add_agenda_item(
                    session,
                    upcoming.id,
                    title=title,
                    part=Part.public,
                    presenter="Chief executive",
                    key_decision=True,
                    decision_reference=_reference(session, title),
                    actor=actor,
                    now=now,
                )
        else:
            mtg.add_agenda_item(
                session,
                upcoming.id,
                title="Falls prevention: phase two",
                part=Part.public,
                presenter="Place director",
                key_decision=True,
                actor=actor,
                now=now,
            )
    return f"meetings demo: {meetings} meetings, {actions} actions"
