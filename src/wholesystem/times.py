"""How the pages show a moment: UK time (GMT or BST), as the people who use them read it.

The database and the lake keep instants in UTC; a page that showed them as they are would
be an hour out for half the year, and a date taken from a late-evening UTC instant a day out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["UK_TIME", "in_uk", "uk_datetime", "uk_stamp"]

UK_TIME = ZoneInfo("Europe/London")


def in_uk(moment: datetime) -> datetime:
    """``moment`` in UK time; a moment without a zone is taken as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UK_TIME)


def uk_datetime(moment: datetime, pattern: str = "%-d %b %Y %H:%M") -> str:
    """``moment`` in UK time, formatted (see :func:`in_uk`)."""
    return in_uk(moment).strftime(pattern)


def uk_stamp(moment: datetime, pattern: str = "%-d %b %Y %H:%M") -> str:
    """:func:`uk_datetime` with the zone said: '25 Nov 2026 09:30 GMT', '1 Jul 2026 13:00 BST'."""
    return uk_datetime(moment, pattern + " %Z")
