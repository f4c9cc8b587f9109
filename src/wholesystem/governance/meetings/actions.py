"""Which actions are overdue and how late. Pure: no database, no web."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

__all__ = ["ActionStatus", "days_overdue", "is_overdue"]


class ActionStatus(StrEnum):
    open = "open"
    done = "done"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def is_overdue(status: ActionStatus, due_on: date, today: date) -> bool:
    """An open action is overdue the day after it was due."""
    return status is ActionStatus.open and today > due_on


def days_overdue(status: ActionStatus, due_on: date, today: date) -> int:
    """Days past due for an open action; 0 when not overdue."""
    return (today - due_on).days if is_overdue(status, due_on, today) else 0
