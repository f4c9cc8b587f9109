"""Moments on the pages are UK time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from wholesystem.times import uk_datetime, uk_stamp


@pytest.mark.parametrize(
    ("moment", "pattern", "shown"),
    [
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), None, "1 Jul 2026 13:00"),  # BST
        (datetime(2026, 1, 5, 9, 5, tzinfo=UTC), None, "5 Jan 2026 09:05"),  # GMT
        # Late evening UTC in summer is already the next day in the UK.
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "%d %b %Y %H:%M", "01 Jul 2026 00:30"),
        # The clocks go forward at 01:00 UTC on the last Sunday of March.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), None, "29 Mar 2026 00:59"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), None, "29 Mar 2026 02:00"),
        # Another zone is converted; no zone is taken as UTC.
        (
            datetime(2026, 7, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            None,
            "1 Jul 2026 13:00",
        ),
        (datetime(2026, 7, 1, 12, 0), "%-d %B %Y, %H:%M", "1 July 2026, 13:00"),
    ],
)
def test_uk_datetime(moment: datetime, pattern: str | None, shown: str) -> None:
    assert (uk_datetime(moment) if pattern is None else uk_datetime(moment, pattern)) == shown


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 11, 25, 9, 30, tzinfo=UTC), "25 Nov 2026 09:30 GMT"),
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "1 Jul 2026 13:00 BST"),
    ],
)
def test_uk_stamp_says_its_zone(moment: datetime, shown: str) -> None:
    assert uk_stamp(moment) == shown
