"""The pure meeting rules as table tests: 28 days' notice, the minutes state machine,
quorum per item with conflicted members excluded, overdue actions."""

from __future__ import annotations

from datetime import date

import pytest

from wholesystem.governance.conflicts import (
    Conflict,
    ConflictSource,
    InterestCategory,
    Management,
)
from wholesystem.governance.meetings.actions import ActionStatus, days_overdue, is_overdue
from wholesystem.governance.meetings.attendance import (
    AttendanceStatus,
    Seat,
    item_quorum,
    meeting_quorum,
)
from wholesystem.governance.meetings.forward_plan import (
    PlanEntry,
    late_key_decisions,
    notice_days,
)
from wholesystem.governance.meetings.minutes import (
    Approval,
    ApprovalBy,
    MinutesAction,
    MinutesError,
    MinutesStatus,
    next_status,
)
from wholesystem.governance.scheme import QuorumRule

MEETING = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("published", "key", "late_days"),
    [
        (date(2026, 6, 2), True, None),  # exactly 28 days: enough
        (date(2026, 6, 3), True, 27),  # 27 days: late
        (date(2026, 6, 30), True, 0),  # added on the day
        (date(2026, 5, 1), True, None),
        (date(2026, 6, 20), False, None),  # not a key decision: no notice rule
    ],
)
def test_key_decisions_need_28_days_on_the_forward_plan(
    published: date, key: bool, late_days: int | None
) -> None:
    late = late_key_decisions([PlanEntry(7, "Close a ward", key, published)], MEETING)
    if late_days is None:
        assert late == []
    else:
        assert [(x.item_id, x.notice_days) for x in late] == [(7, late_days)]
        assert "at least 28 days" in late[0].reason
    assert notice_days(published, MEETING) == (MEETING - published).days


def _approval(
    by: ApprovalBy,
    later: date | None = None,
    *,
    same_body: bool = True,
    held: bool = True,
) -> Approval:
    return Approval(by, date(2026, 3, 1), later, same_body, held)


@pytest.mark.parametrize(
    ("status", "action", "approval", "result"),
    [
        ("draft", "edit", None, "draft"),
        ("approved", "edit", None, "only draft minutes"),
        ("locked", "edit", None, "add an erratum instead"),
        ("draft", "approve", _approval(ApprovalBy.chair), "approved"),
        ("draft", "approve", _approval(ApprovalBy.body, date(2026, 4, 1)), "approved"),
        ("draft", "approve", None, "say who approved"),
        ("draft", "approve", _approval(ApprovalBy.body), "name the later meeting"),
        ("draft", "approve", _approval(ApprovalBy.body, date(2026, 3, 1)), "a later meeting"),
        (
            "draft",
            "approve",
            _approval(ApprovalBy.body, date(2026, 4, 1), same_body=False),
            "same body",
        ),
        (
            "draft",
            "approve",
            _approval(ApprovalBy.body, date(2026, 4, 1), held=False),
            "not been held",
        ),
        ("approved", "approve", _approval(ApprovalBy.chair), "already approved"),
        ("draft", "lock", None, "only approved minutes can be locked"),
        ("approved", "lock", None, "locked"),
        ("locked", "lock", None, "already locked"),
        ("locked", "erratum", None, "locked"),
        ("draft", "erratum", None, "errata are for locked minutes"),
        ("approved", "erratum", None, "errata are for locked minutes"),
    ],
)
def test_the_minutes_state_machine(
    status: str, action: str, approval: Approval | None, result: str
) -> None:
    if result in {s.value for s in MinutesStatus}:
        assert next_status(MinutesStatus(status), MinutesAction(action), approval) == result
    else:
        with pytest.raises(MinutesError, match=result):
            next_status(MinutesStatus(status), MinutesAction(action), approval)


RULE = QuorumRule(4, ("clinical", "local_authority"))
SEATS = [
    Seat(1, True, "executive"),
    Seat(2, True, "local_authority"),
    Seat(3, True, "clinical"),
    Seat(4, True, "nhs_trust"),
    Seat(5, True, "clinical"),
    Seat(6, False, "voluntary_sector"),
]
P, A = AttendanceStatus.present, AttendanceStatus.apologies


def _conflict(person_id: int) -> Conflict:
    return Conflict(
        person_id,
        f"Member {person_id}",
        ConflictSource.interest,
        InterestCategory.financial,
        1,
        "RC1",
        None,
        "shares",
        (Management.no_vote,),
    )


@pytest.mark.parametrize(
    ("attendance", "conflicted", "managed", "quorate", "counted", "missing"),
    [
        ({1: P, 2: P, 3: P, 4: P, 5: P, 6: P}, [], {}, True, 5, ()),
        ({1: P, 2: P, 3: P, 4: P, 5: P}, [5], {}, True, 4, ()),  # one excluded, still 4
        ({1: P, 2: P, 3: P, 4: P, 5: A}, [3], {}, False, 3, ("clinical",)),
        ({1: P, 2: P, 3: P, 4: P, 5: P}, [2], {}, False, 4, ("local_authority",)),
        ({1: P, 2: P, 3: P, 4: A, 5: P, 6: P}, [], {}, True, 4, ()),  # non-voting not counted
        ({1: P, 2: P, 3: P, 4: A, 5: P}, [], {1: (Management.no_vote,)}, False, 3, ()),
        ({1: P, 2: P, 3: P, 4: P, 5: P}, [], {1: (Management.papers_withheld,)}, True, 5, ()),
        ({1: P, 2: P, 3: P, 4: P, 5: P}, [9], {}, True, 5, ()),  # not present: no effect
        ({1: P, 2: P, 3: P}, [], {}, False, 3, ()),
        ({}, [], {}, False, 0, ("clinical", "local_authority")),
    ],
)
def test_quorum_per_item_leaves_out_conflicted_members(
    attendance: dict[int, AttendanceStatus],
    conflicted: list[int],
    managed: dict[int, tuple[Management, ...]],
    quorate: bool,
    counted: int,
    missing: tuple[str, ...],
) -> None:
    result = item_quorum(RULE, SEATS, attendance, [_conflict(p) for p in conflicted], managed)
    assert (result.quorate, result.voting_counted, result.missing_groups) == (
        quorate,
        counted,
        missing,
    )
    if conflicted and not quorate:
        assert "after excluding conflicted members" in result.explanation
    # Without the item's conflicts, the meeting as a whole counts everyone present.
    whole = meeting_quorum(RULE, SEATS, attendance)
    assert whole.voting_counted >= result.voting_counted


@pytest.mark.parametrize(
    ("status", "due", "today", "overdue", "days"),
    [
        (ActionStatus.open, date(2026, 5, 1), date(2026, 5, 1), False, 0),  # due today
        (ActionStatus.open, date(2026, 5, 1), date(2026, 5, 2), True, 1),
        (ActionStatus.open, date(2026, 5, 1), date(2026, 5, 31), True, 30),
        (ActionStatus.done, date(2026, 5, 1), date(2026, 5, 31), False, 0),
        (ActionStatus.open, date(2026, 6, 1), date(2026, 5, 31), False, 0),
    ],
)
def test_open_actions_are_overdue_after_their_due_date(
    status: ActionStatus, due: date, today: date, overdue: bool, days: int
) -> None:
    assert is_overdue(status, due, today) is overdue
    assert days_overdue(status, due, today) == days
