"""Metric trajectories of plan objectives: the target due at a date, and on track or not.

A trajectory is a list of milestones (date, target value). Between two milestones the
target moves in a straight line (a trajectory is agreed as a path, not as steps); before the
first milestone the first applies (the plan gives no earlier baseline to interpolate from);
after the last, the last. A value is on track when it is at or better than the target due
at the end of its period, "better" being the metric's direction of improvement. Pure
functions: no database, no web.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from wholesystem.metrics.spc import Improvement

__all__ = [
    "Assessment",
    "Milestone",
    "Status",
    "TrajectoryError",
    "assess",
    "check_milestones",
    "due_target",
]


class TrajectoryError(ValueError):
    """A trajectory refused; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Status(StrEnum):
    on_track = "on_track"
    off_track = "off_track"
    no_data = "no_data"

    @property
    def label(self) -> str:
        return {
            Status.on_track: "On track",
            Status.off_track: "Off track",
            Status.no_data: "No data in the published snapshot",
        }[self]


@dataclass(frozen=True)
class Milestone:
    due_on: date
    target: Decimal


@dataclass(frozen=True)
class Assessment:
    status: Status
    value: Decimal | None
    period: date | None
    due_target: Decimal | None


def check_milestones(metric_id: str, milestones: Sequence[Milestone]) -> list[Milestone]:
    """Milestones sorted by date; none, or two on one date, is refused naming the metric."""
    if not milestones:
        raise TrajectoryError(f"trajectory for {metric_id}", "give at least one milestone")
    ordered = sorted(milestones, key=lambda m: m.due_on)
    for a, b in pairwise(ordered):
        if a.due_on == b.due_on:
            raise TrajectoryError(
                f"trajectory for {metric_id}", f"two milestones on {a.due_on.isoformat()}"
            )
    for m in ordered:
        if not m.target.is_finite():
            raise TrajectoryError(f"trajectory for {metric_id}", "targets are numbers")
    return ordered


def due_target(milestones: Sequence[Milestone], on: date) -> Decimal:
    """The target due on ``on`` (milestones sorted by date, at least one)."""
    if on <= milestones[0].due_on:
        return milestones[0].target
    for a, b in pairwise(milestones):
        if a.due_on <= on <= b.due_on:
            span = Decimal((b.due_on - a.due_on).days)
            done = Decimal((on - a.due_on).days)
            # Interpolated targets are kept to 4 places: finer than any published metric.
            return (a.target + (b.target - a.target) * done / span).quantize(Decimal("0.0001"))
    return milestones[-1].target


def assess(
    milestones: Sequence[Milestone],
    improvement: Improvement,
    latest: tuple[date, Decimal | None] | None,
) -> Assessment:
    """Whether the latest value (period end date, value) meets the target due then."""
    if latest is None:
        return Assessment(Status.no_data, None, None, None)
    period_end, value = latest
    if value is None:
        return Assessment(Status.no_data, None, period_end, None)
    target = due_target(milestones, period_end)
    # 'up', and 'neither', read as at-least: a trajectory states a level to reach.
    ok = value <= target if improvement is Improvement.down else value >= target
    return Assessment(Status.on_track if ok else Status.off_track, value, period_end, target)
