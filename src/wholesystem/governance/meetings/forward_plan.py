"""The 28-day rule for key decisions. Pure: no database, no web.

A key decision may only be taken at a meeting if it has been on the published forward plan
for at least 28 clear days before that meeting (the notice the Local Authorities (Executive
Arrangements) Regulations 2012 ask of councils, which the ICS adopts for joint decisions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

__all__ = ["NOTICE_DAYS", "LateItem", "PlanEntry", "late_key_decisions", "notice_days"]

NOTICE_DAYS = 28


@dataclass(frozen=True)
class PlanEntry:
    """An agenda item as the forward plan sees it."""

    item_id: int
    title: str
    key_decision: bool
    published_on: date


@dataclass(frozen=True)
class LateItem:
    """A key decision published with less than the required notice."""

    item_id: int
    title: str
    notice_days: int

    @property
    def reason(self) -> str:
        return (
            f"'{self.title}' was put on the forward plan {self.notice_days} days before the "
            f"meeting; a key decision needs at least {NOTICE_DAYS} days' notice."
        )


def notice_days(published_on: date, meeting_on: date) -> int:
    """Whole days between publication on the forward plan and the meeting."""
    return (meeting_on - published_on).days


def late_key_decisions(entries: Iterable[PlanEntry], meeting_on: date) -> list[LateItem]:
    """The key decisions among ``entries`` with less than 28 days' notice of ``meeting_on``."""
    return [
        LateItem(e.item_id, e.title, notice_days(e.published_on, meeting_on))
        for e in entries
        if e.key_decision and notice_days(e.published_on, meeting_on) < NOTICE_DAYS
    ]
