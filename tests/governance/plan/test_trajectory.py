"""Trajectories: the target due at a date, and on or off track by direction of improvement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from wholesystem.governance.plan.trajectory import (
    Milestone,
    Status,
    TrajectoryError,
    assess,
    check_milestones,
    due_target,
)
from wholesystem.metrics.spc import Improvement

PATH = [Milestone(date(2026, 1, 1), Decimal("70")), Milestone(date(2026, 12, 31), Decimal("78"))]


@pytest.mark.parametrize(
    ("on", "expected"),
    [(date(2025, 6, 1), "70"), (date(2026, 1, 1), "70"), (date(2026, 12, 31), "78"),
     (date(2027, 5, 1), "78"), (date(2026, 7, 2), "74.0000")],
)  # fmt: skip
def test_due_target_interpolates_between_milestones(on: date, expected: str) -> None:
    assert due_target(PATH, on) == Decimal(expected)


@pytest.mark.parametrize(
    ("improvement", "value", "status"),
    [(Improvement.up, "74", Status.on_track), (Improvement.up, "73.99", Status.off_track),
     (Improvement.down, "74", Status.on_track), (Improvement.down, "74.01", Status.off_track),
     (Improvement.neither, "80", Status.on_track)],
)  # fmt: skip
def test_on_track_follows_the_direction_of_improvement(
    improvement: Improvement, value: str, status: Status
) -> None:
    result = assess(PATH, improvement, (date(2026, 7, 2), Decimal(value)))
    assert result.status is status
    assert result.due_target == Decimal("74.0000")


def test_no_value_is_no_data_not_off_track() -> None:
    assert assess(PATH, Improvement.up, None).status is Status.no_data
    assert assess(PATH, Improvement.up, (date(2026, 3, 31), None)).status is Status.no_data


def test_milestones_are_sorted_and_checked() -> None:
    assert check_milestones("ae_4hr", list(reversed(PATH))) == PATH
    with pytest.raises(TrajectoryError, match=r"^trajectory for ae_4hr: give at least one"):
        check_milestones("ae_4hr", [])
    with pytest.raises(TrajectoryError, match="two milestones on 2026-01-01"):
        check_milestones("ae_4hr", [PATH[0], PATH[0]])
