"""Meetings end to end on SQLite and PostgreSQL: the demo, quorum refusals, conflicts per
item, locked minutes (service and database trigger), errata, actions; every refusal leaves
the database as it was."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from tests.governance.conftest import demo_over_footprint
from wholesystem.access.models import AuditEvent
from wholesystem.governance import services as gov
from wholesystem.governance.meetings import services as mtg
from wholesystem.governance.meetings.attendance import AttendanceStatus
from wholesystem.governance.meetings.demo import load_demo_meetings
from wholesystem.governance.meetings.minutes import ApprovalBy
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
from wholesystem.governance.models import Body, Member, Person

NOW = datetime(2026, 5, 1, 10, tzinfo=UTC)
TABLES = (
    Meeting,
    AgendaItem,
    Paper,
    Attendance,
    ItemConflict,
    Minutes,
    MinutesErratum,
    Action,
    AuditEvent,
)


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES)


@pytest.fixture
def demo(session: Session, footprint_file: Path) -> Session:
    return demo_over_footprint(session, footprint_file, NOW)


def _body(session: Session, code: str) -> Body:
    body = session.scalar(select(Body).where(Body.code == code))
    assert body is not None
    return body


def _people(session: Session, code: str) -> dict[str, int]:
    rows = session.execute(
        select(Person.name, Person.id)
        .join(Member, Member.person_id == Person.id)
        .where(Member.body_id == _body(session, code).id)
    ).all()
    return {name: pid for name, pid in rows}


def _meetings(session: Session, code: str) -> list[Meeting]:
    return list(
        session.scalars(
            select(Meeting)
            .where(Meeting.body_id == _body(session, code).id)
            .order_by(Meeting.starts_at)
        )
    )


def _held_meeting(session: Session, code: str = "SB", *, days_ago: int = 1) -> Meeting:
    meeting = mtg.create_meeting(
        session,
        body_id=_body(session, code).id,
        title="Extraordinary meeting",
        starts_at=NOW - timedelta(days=days_ago),
        location="Online",
        actor="gail",
        now=NOW - timedelta(days=60),
    )
    mtg.set_meeting_status(session, meeting.id, status=MeetingStatus.held, actor="gail", now=NOW)
    return meeting


def _attend(session: Session, meeting: Meeting, who: dict[str, int], *names: str) -> None:
    for name in names:
        mtg.record_attendance(
            session,
            meeting.id,
            person_id=who[name],
            status=AttendanceStatus.present,
            actor="gail",
            now=NOW,
        )


def test_the_demo_has_past_and_upcoming_meetings_for_every_board(demo: Session) -> None:
    assert load_demo_meetings(demo, now=NOW) == "meetings demo already loaded"
    boards = [b.code for b in demo.scalars(select(Body).where(Body.kind.like("%board")))]
    assert "SB" in boards
    assert len(boards) >= 2
    for code in boards:
        first, latest, upcoming = _meetings(demo, code)
        assert upcoming.starts_at > NOW > latest.starts_at > first.starts_at
        for meeting in (first, latest, upcoming):
            item = mtg.items_of(demo, meeting.id)[0]
            assert (item.position, item.title, item.standing) == (
                1,
                "Declarations of interest",
                True,
            )
        statuses = [
            demo.scalar(select(Minutes.status).where(Minutes.meeting_id == m.id))
            for m in (first, latest, upcoming)
        ]
        assert statuses == ["locked", "draft", None]
        minutes = demo.scalar(select(Minutes).where(Minutes.meeting_id == first.id))
        assert minutes is not None
        assert minutes.approved_at_meeting_id == latest.id
    # One item at the system board had a conflict detected and its management recorded.
    conflict = demo.scalar(select(ItemConflict))
    assert conflict is not None
    assert "Dr Sita Rao" in conflict.reason
    assert conflict.management == ["papers_withheld", "leave_discussion", "no_vote"]
    overdue = demo.scalars(
        select(Action).where(Action.status == "open", Action.due_on < NOW.date())
    ).all()
    assert len(overdue) == len(boards)
    assert all(a.chase_count == 1 for a in overdue)


def test_a_meeting_without_quorum_cannot_record_outcomes(demo: Session) -> None:
    meeting = _held_meeting(demo)
    item = mtg.add_agenda_item  # the agenda is closed once held: add before holding
    with pytest.raises(gov.GovernanceError, match="agenda is closed"):
        item(
            demo, meeting.id, title="Late item", part=Part.public, presenter="X", actor="g", now=NOW
        )
    demo.rollback()
    meeting = mtg.create_meeting(
        demo,
        body_id=_body(demo, "SB").id,
        title="Quorum test",
        starts_at=NOW - timedelta(hours=2),
        location="Online",
        actor="gail",
        now=NOW - timedelta(days=40),
    )
    business = mtg.add_agenda_item(
        demo,
        meeting.id,
        title="Winter plan",
        part=Part.public,
        presenter="Chief executive",
        actor="gail",
        now=NOW - timedelta(days=40),
    )
    mtg.set_meeting_status(demo, meeting.id, status=MeetingStatus.held, actor="gail", now=NOW)
    who = _people(demo, "SB")
    _attend(demo, meeting, who, "Bob Board", "Nadia Nonexec", "Dr Morgan Reid")
    demo.commit()
    assert not mtg.meeting_quorum_of(demo, meeting).quorate
    before = _counts(demo)
    with pytest.raises(gov.GovernanceError, match=r"cannot transact.*only 3 voting members"):
        mtg.record_outcome(demo, business.id, outcome="Approved", actor="gail", now=NOW)
    demo.rollback()
    assert _counts(demo) == before
    assert demo.get(AgendaItem, business.id).outcome == ""  # type: ignore[union-attr]
    # Quorum follows attendance live: two more voting members, one a councillor, arrive.
    _attend(demo, meeting, who, "Jo Hart", "Cllr Chris Council")
    assert mtg.meeting_quorum_of(demo, meeting).quorate
    mtg.record_outcome(demo, business.id, outcome="Approved", actor="gail", now=NOW)
    demo.commit()
    assert demo.get(AgendaItem, business.id).outcome == "Approved"  # type: ignore[union-attr]


def test_a_conflicted_member_is_excluded_and_quorum_rechecked_per_item(demo: Session) -> None:
    community = demo.scalar(select(Person.organisation_code).where(Person.name == "Amira Khan"))
    assert community is not None
    meeting = mtg.create_meeting(
        demo,
        body_id=_body(demo, "SB").id,
        title="Conflict test",
        starts_at=NOW - timedelta(hours=1),
        location="Online",
        actor="gail",
        now=NOW - timedelta(days=40),
    )
    item = mtg.add_agenda_item(
        demo,
        meeting.id,
        title="Community ophthalmology contract",
        part=Part.private,
        presenter="Chief medical officer",
        parties=[community],
        actor="gail",
        now=NOW - timedelta(days=40),
    )
    mtg.set_meeting_status(demo, meeting.id, status=MeetingStatus.held, actor="gail", now=NOW)
    who = _people(demo, "SB")
    # Six voting members present: quorate (5 needed) even without the conflicted GP lead...
    _attend(
        demo,
        meeting,
        who,
        "Bob Board",
        "Cllr Chris Council",
        "Dr Morgan Reid",
        "Jo Hart",
        "Dr Sita Rao",
    )
    demo.commit()
    assert mtg.meeting_quorum_of(demo, meeting).quorate
    conflicts = mtg.item_conflicts(demo, item)
    assert [c.person_id for c in conflicts] == [who["Dr Sita Rao"]]
    result = mtg.item_quorum_of(demo, item)
    assert not result.quorate
    assert result.excluded == (who["Dr Sita Rao"],)
    assert "after excluding conflicted members" in result.explanation
    before = _counts(demo)
    with pytest.raises(gov.GovernanceError, match="only 4 voting members count"):
        mtg.record_outcome(demo, item.id, outcome="Award", actor="gail", now=NOW)
    demo.rollback()
    assert _counts(demo) == before
    # ...a sixth voting member arrives: quorate for the item; the conflict is recorded.
    _attend(demo, meeting, who, "Nadia Nonexec")
    mtg.record_outcome(demo, item.id, outcome="Award", actor="gail", now=NOW)
    demo.commit()
    recorded = mtg.recorded_management(demo, item.id)
    assert set(recorded) == {who["Dr Sita Rao"]}
    with pytest.raises(gov.GovernanceError, match="no unrecorded conflicts"):
        mtg.record_item_conflicts(demo, item.id, actor="gail", now=NOW)


def test_a_key_decision_without_28_days_notice_is_refused(demo: Session) -> None:
    meeting = mtg.create_meeting(
        demo,
        body_id=_body(demo, "SB").id,
        title="Short notice",
        starts_at=NOW - timedelta(hours=1),
        location="Online",
        actor="gail",
        now=NOW - timedelta(days=10),
    )
    item = mtg.add_agenda_item(
        demo,
        meeting.id,
        title="Close the minor injuries unit",
        part=Part.public,
        presenter="Chief executive",
        key_decision=True,
        actor="gail",
        now=NOW - timedelta(days=10),
    )
    mtg.set_meeting_status(demo, meeting.id, status=MeetingStatus.held, actor="gail", now=NOW)
    who = _people(demo, "SB")
    _attend(demo, meeting, who, *[n for n in who if n != "Pat Owen"])
    demo.commit()
    before = _counts(demo)
    with pytest.raises(gov.GovernanceError, match="10 days before the meeting"):
        mtg.record_outcome(demo, item.id, outcome="Agreed", actor="gail", now=NOW)
    demo.rollback()
    assert _counts(demo) == before


def test_locked_minutes_refuse_every_edit_and_take_errata(demo: Session) -> None:
    first = _meetings(demo, "SB")[0]
    minutes = demo.scalar(select(Minutes).where(Minutes.meeting_id == first.id))
    assert minutes is not None
    assert minutes.status == "locked"
    text_before = minutes.text
    before = _counts(demo)
    for attempt, reason in (
        (lambda: mtg.save_minutes(demo, first.id, text="Rewritten", actor="g", now=NOW), "locked"),
        (
            lambda: mtg.approve_minutes(demo, first.id, by=ApprovalBy.chair, actor="g", now=NOW),
            "already locked",
        ),
        (lambda: mtg.lock_minutes(demo, first.id, actor="g", now=NOW), "already locked"),
        (
            lambda: mtg.record_attendance(
                demo,
                first.id,
                person_id=_people(demo, "SB")["Pat Owen"],
                status=AttendanceStatus.present,
                actor="g",
                now=NOW,
            ),
            "locked",
        ),
        (
            lambda: mtg.add_paper(
                demo,
                mtg.items_of(demo, first.id)[1].id,
                title="Late paper",
                summary="",
                body="Text",
                public=True,
                actor="g",
                now=NOW,
            ),
            "locked",
        ),
        (lambda: mtg.add_erratum(demo, first.id, text="  ", actor="g", now=NOW), "correction"),
    ):
        with pytest.raises(gov.GovernanceError, match=reason):
            attempt()
        demo.rollback()
    assert _counts(demo) == before
    demo.expire_all()
    assert demo.get(Minutes, minutes.id).text == text_before  # type: ignore[union-attr]
    erratum = mtg.add_erratum(
        demo, first.id, text="Item 2: the forecast was balanced, not a surplus.", actor="g", now=NOW
    )
    demo.commit()
    assert erratum.minutes_id == minutes.id
    assert demo.get(Minutes, minutes.id).text == text_before  # type: ignore[union-attr]


def test_the_database_refuses_changes_to_locked_minutes_and_errata(demo: Session) -> None:
    first, latest, _ = _meetings(demo, "SB")
    locked = demo.scalar(select(Minutes.id).where(Minutes.meeting_id == first.id))
    draft = demo.scalar(select(Minutes.id).where(Minutes.meeting_id == latest.id))
    erratum = mtg.add_erratum(demo, first.id, text="A correction.", actor="g", now=NOW)
    demo.commit()
    for statement, row in (
        (text("UPDATE gov_minutes SET text = 'forged' WHERE id = :i"), locked),
        (text("UPDATE gov_minutes SET status = 'draft' WHERE id = :i"), locked),
        (text("DELETE FROM gov_minutes WHERE id = :i"), locked),
        (text("UPDATE gov_minutes_erratum SET text = 'forged' WHERE id = :i"), erratum.id),
        (text("DELETE FROM gov_minutes_erratum WHERE id = :i"), erratum.id),
    ):
        with pytest.raises((IntegrityError, DBAPIError), match=r"locked|append-only"):
            demo.execute(statement, {"i": row})
        demo.rollback()
    # Draft minutes are still edited in place.
    demo.execute(text("UPDATE gov_minutes SET text = 'Redrafted' WHERE id = :i"), {"i": draft})
    demo.commit()
    assert demo.scalar(select(Minutes.text).where(Minutes.id == draft)) == "Redrafted"


def test_minutes_are_approved_at_a_later_meeting_of_the_same_body(demo: Session) -> None:
    _, latest, upcoming = _meetings(demo, "SB")
    place_meeting = _meetings(
        demo, next(b.code for b in demo.scalars(select(Body).where(Body.kind == "place_board")))
    )[1]
    before = _counts(demo)
    for kwargs, reason in (
        ({"by": ApprovalBy.body}, "name the later meeting"),
        ({"by": ApprovalBy.body, "approving_meeting_id": latest.id}, "later meeting, not"),
        ({"by": ApprovalBy.body, "approving_meeting_id": upcoming.id}, "not been held"),
        ({"by": ApprovalBy.body, "approving_meeting_id": place_meeting.id}, "same body"),
        ({"by": ApprovalBy.body, "approving_meeting_id": 99999}, "no meeting 99999"),
    ):
        with pytest.raises(gov.GovernanceError, match=reason):
            mtg.approve_minutes(demo, latest.id, actor="g", now=NOW, **kwargs)  # type: ignore[arg-type]
        demo.rollback()
    with pytest.raises(gov.GovernanceError, match="only approved minutes"):
        mtg.lock_minutes(demo, latest.id, actor="g", now=NOW)
    demo.rollback()
    assert _counts(demo) == before
    approved = mtg.approve_minutes(demo, latest.id, by=ApprovalBy.chair, actor="g", now=NOW)
    assert (approved.status, approved.approved_on) == ("approved", NOW.date())
    with pytest.raises(gov.GovernanceError, match="only draft minutes"):
        mtg.save_minutes(demo, latest.id, text="Changed after approval", actor="g", now=NOW)


def test_bad_requests_are_refused_and_change_nothing(demo: Session) -> None:
    sb = _body(demo, "SB")
    who = _people(demo, "SB")
    first, _, upcoming = _meetings(demo, "SB")
    private_item = next(i for i in mtg.items_of(demo, first.id) if i.part == "private")
    stranger = demo.scalar(select(Person.id).where(Person.name == "Lee Carter"))
    assert stranger is not None
    assert stranger not in who.values()
    before = _counts(demo)
    cases = [
        (
            lambda: mtg.create_meeting(
                demo,
                body_id=sb.id,
                title="Naive",
                starts_at=datetime(2026, 6, 1, 10),
                location="Here",
                actor="g",
                now=NOW,
            ),
            "time zone",
        ),
        (
            lambda: mtg.create_meeting(
                demo, body_id=9999, title="X", starts_at=NOW, location="Y", actor="g", now=NOW
            ),
            "no such active body",
        ),
        (
            lambda: mtg.record_attendance(
                demo,
                upcoming.id,
                person_id=stranger,
                status=AttendanceStatus.present,
                actor="g",
                now=NOW,
            ),
            "current member",
        ),
        (
            lambda: mtg.add_paper(
                demo,
                private_item.id,
                title="Leak",
                summary="",
                body="Secret",
                public=True,
                actor="g",
                now=NOW,
            ),
            "private part",
        ),
        (
            lambda: mtg.add_agenda_item(
                demo,
                upcoming.id,
                title="Unknown decision",
                part=Part.public,
                presenter="X",
                decision_reference="NOPE-1",
                actor="g",
                now=NOW,
            ),
            "no decision 'NOPE-1'",
        ),
        (
            lambda: mtg.add_agenda_item(
                demo,
                upcoming.id,
                title="Unknown party",
                part=Part.public,
                presenter="X",
                parties=["ZZZ99"],
                actor="g",
                now=NOW,
            ),
            "no partner organisation",
        ),
        (
            lambda: mtg.set_meeting_status(
                demo, upcoming.id, status=MeetingStatus.held, actor="g", now=NOW
            ),
            "before it starts",
        ),
        (
            lambda: mtg.set_meeting_status(
                demo, first.id, status=MeetingStatus.cancelled, actor="g", now=NOW
            ),
            "already held",
        ),
        (
            lambda: mtg.save_minutes(demo, upcoming.id, text="Early", actor="g", now=NOW),
            "has been held",
        ),
        (
            lambda: mtg.record_outcome(
                demo, mtg.items_of(demo, upcoming.id)[1].id, outcome="X", actor="g", now=NOW
            ),
            "once it is held",
        ),
        (
            lambda: mtg.add_action(
                demo,
                upcoming.id,
                description="Too early",
                owner_person_id=who["Bob Board"],
                due_on=date(2026, 5, 2),
                actor="g",
                now=NOW,
            ),
            "due before the meeting",
        ),
        (
            lambda: mtg.add_action(
                demo,
                upcoming.id,
                description="Nobody",
                owner_person_id=99999,
                due_on=date(2026, 12, 1),
                actor="g",
                now=NOW,
            ),
            "owner",
        ),
        (
            lambda: mtg.add_action(
                demo,
                upcoming.id,
                description="Wrong item",
                owner_person_id=who["Bob Board"],
                due_on=date(2026, 12, 1),
                item_id=private_item.id,
                actor="g",
                now=NOW,
            ),
            "another meeting",
        ),
    ]
    open_action = demo.scalar(select(Action).where(Action.status == "open"))
    done_action = demo.scalar(select(Action).where(Action.status == "done"))
    assert open_action is not None
    assert done_action is not None
    cases += [
        (lambda: mtg.close_action(demo, open_action.id, note=" ", actor="g", now=NOW), "say what"),
        (
            lambda: mtg.close_action(demo, done_action.id, note="Again", actor="g", now=NOW),
            "already done",
        ),
        (lambda: mtg.chase_action(demo, done_action.id, actor="g", now=NOW), "already done"),
    ]
    for attempt, reason in cases:
        with pytest.raises(gov.GovernanceError, match=reason):
            attempt()
        demo.rollback()
    assert _counts(demo) == before


def test_actions_are_chased_and_closed_with_a_note_and_audited(demo: Session) -> None:
    action = demo.scalar(select(Action).where(Action.status == "open").order_by(Action.id))
    assert action is not None
    audits = demo.scalar(select(func.count()).select_from(AuditEvent)) or 0
    mtg.chase_action(demo, action.id, actor="gail", now=NOW)
    closed = mtg.close_action(demo, action.id, note="Report circulated.", actor="gail", now=NOW)
    demo.commit()
    assert (closed.status, closed.close_note, closed.closed_by) == (
        "done",
        "Report circulated.",
        "gail",
    )
    actions = demo.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "governance_action")
        .order_by(AuditEvent.seq.desc())
        .limit(2)
    ).all()
    assert list(actions) == ["close", "chase"]
    assert (demo.scalar(select(func.count()).select_from(AuditEvent)) or 0) == audits + 2


def test_cancelled_meetings_take_no_attendance(demo: Session) -> None:
    _, _, upcoming = _meetings(demo, "SB")
    mtg.set_meeting_status(demo, upcoming.id, status=MeetingStatus.cancelled, actor="g", now=NOW)
    demo.commit()
    with pytest.raises(gov.GovernanceError, match="cancelled"):
        mtg.record_attendance(
            demo,
            upcoming.id,
            person_id=_people(demo, "SB")["Bob Board"],
            status=AttendanceStatus.apologies,
            actor="g",
            now=NOW,
        )
