"""Attendance and live quorum per agenda item. Pure: no database, no web.

Quorum is the body's rule from the scheme of delegation, checked by
:func:`wholesystem.governance.quorum.check_quorum` over the members marked present. For an
item, members conflicted on it (detected by :mod:`wholesystem.governance.conflicts`, or
recorded as not voting) are left out, so an item can be inquorate at a quorate meeting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from wholesystem.governance.conflicts import Conflict, Management, excluded_from_vote
from wholesystem.governance.quorum import Attendee, QuorumResult, check_quorum
from wholesystem.governance.scheme import QuorumRule

__all__ = [
    "AttendanceStatus",
    "Seat",
    "item_quorum",
    "meeting_quorum",
    "present_attendees",
]


class AttendanceStatus(StrEnum):
    present = "present"
    apologies = "apologies"
    absent = "absent"

    @property
    def label(self) -> str:
        return {
            AttendanceStatus.present: "Present",
            AttendanceStatus.apologies: "Apologies",
            AttendanceStatus.absent: "Absent",
        }[self]


@dataclass(frozen=True)
class Seat:
    """A current member of the body: who, whether they vote, and their member group."""

    person_id: int
    voting: bool
    group: str


def present_attendees(
    seats: Iterable[Seat], attendance: Mapping[int, AttendanceStatus]
) -> list[Attendee]:
    """The seats marked present; no record means not (yet) present."""
    return [
        Attendee(s.person_id, s.voting, s.group)
        for s in seats
        if attendance.get(s.person_id) is AttendanceStatus.present
    ]


def meeting_quorum(
    rule: QuorumRule, seats: Iterable[Seat], attendance: Mapping[int, AttendanceStatus]
) -> QuorumResult:
    """Is the meeting as a whole quorate, before any item's conflicts?"""
    return check_quorum(rule, present_attendees(seats, attendance))


def item_quorum(
    rule: QuorumRule,
    seats: Sequence[Seat],
    attendance: Mapping[int, AttendanceStatus],
    conflicts: Sequence[Conflict],
    managed: Mapping[int, tuple[Management, ...]] | None = None,
) -> QuorumResult:
    """Quorum for one item: those present, less everyone excluded for a conflict on it."""
    present = present_attendees(seats, attendance)
    here = {a.person_id for a in present}
    excluded = excluded_from_vote(conflicts, dict(managed or {})) & here
    return check_quorum(rule, present, excluded)
