"""The minutes state machine: draft → approved → locked. Pure: no database, no web.

Draft minutes may be edited. They are approved either by the body at a later meeting of the
same body that has been held, or by the chair (between meetings). Approved minutes are then
locked; locked minutes are never edited again: a correction is an appended erratum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "Approval",
    "ApprovalBy",
    "MinutesAction",
    "MinutesError",
    "MinutesStatus",
    "next_status",
]


class MinutesError(ValueError):
    """A change to minutes that the state machine refuses; the message says why."""


class MinutesStatus(StrEnum):
    draft = "draft"
    approved = "approved"
    locked = "locked"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class MinutesAction(StrEnum):
    edit = "edit"
    approve = "approve"
    lock = "lock"
    erratum = "erratum"


class ApprovalBy(StrEnum):
    body = "body"
    chair = "chair"


@dataclass(frozen=True)
class Approval:
    """Who approves the minutes and, for the body, at which meeting."""

    by: ApprovalBy
    meeting_on: date  # the day of the meeting the minutes record
    approving_meeting_on: date | None = None  # the later meeting, when the body approves
    approving_meeting_same_body: bool = False
    approving_meeting_held: bool = False


def _approval_problem(approval: Approval) -> str | None:
    if approval.by is ApprovalBy.chair:
        return None
    if approval.approving_meeting_on is None:
        return "name the later meeting of the body at which the minutes were approved"
    if not approval.approving_meeting_same_body:
        return "minutes are approved at a later meeting of the same body"
    if approval.approving_meeting_on <= approval.meeting_on:
        return "minutes are approved at a later meeting, not the one they record"
    if not approval.approving_meeting_held:
        return "the approving meeting has not been held"
    return None


def next_status(
    status: MinutesStatus, action: MinutesAction, approval: Approval | None = None
) -> MinutesStatus:
    """The status after ``action``, or :class:`MinutesError` with the reason it is refused."""
    if action is MinutesAction.edit:
        if status is not MinutesStatus.draft:
            raise MinutesError(
                f"the minutes are {status.value}: only draft minutes can be edited"
                + ("; add an erratum instead" if status is MinutesStatus.locked else "")
            )
        return MinutesStatus.draft
    if action is MinutesAction.approve:
        if status is not MinutesStatus.draft:
            raise MinutesError(f"the minutes are already {status.value}")
        if approval is None:
            raise MinutesError("say who approved the minutes: the body or the chair")
        problem = _approval_problem(approval)
        if problem:
            raise MinutesError(problem)
        return MinutesStatus.approved
    if action is MinutesAction.lock:
        if status is not MinutesStatus.approved:
            raise MinutesError(
                "only approved minutes can be locked"
                if status is MinutesStatus.draft
                else "the minutes are already locked"
            )
        return MinutesStatus.locked
    # An erratum corrects the permanent record; drafts and approved minutes are still edited.
    if status is not MinutesStatus.locked:
        raise MinutesError("errata are for locked minutes; edit the draft instead")
    return MinutesStatus.locked
