"""Statistical process control (XmR charts) exactly as NHS England's Making Data Count.

Pure, typed functions and frozen dataclasses: no I/O, no pandas. The reference implementation is
the NHS-R Community package NHSRplotthedots (``ptd_spc``); the same input gives the same limits,
flags and icons, except where ``docs/spc.md`` lists a deliberate difference.

Per rebase group (each gets its own mean and limits; moving ranges never span a rebase):

* mean = mean(x); MR_i = |x_i - x_(i-1)|; MRbar = mean(MR), optionally after dropping moving
  ranges >= 3.267 x MRbar (``screen_outliers``, off by default as in the MDC Excel tools);
* process limits mean +/- 2.66 x MRbar; "close to a limit" beyond mean +/- 2/3 x 2.66 x MRbar but
  not beyond the process limit;
* optionally the mean and limits come from the first ``fix_after_n_points`` points only.

Special-cause rules, one label per point, the first that applies wins:

1. outside the process limits (strictly above UPL or below LPL);
2. a trend of ``TREND_LENGTH`` points each strictly higher (or lower) than the one before;
3. in a window of ``TWO_OF_THREE_WINDOW`` consecutive points all on the same side of the mean, at
   least ``TWO_OF_THREE_CLOSE`` close to that side's limit: the close points are flagged;
4. a run of ``RUN_LENGTH`` consecutive points on the same side of the mean (a point exactly on
   the mean is on neither side and breaks a run).

A group whose MRbar is 0 (a flat series) has no meaningful limits and is never flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise

__all__ = [
    "CLOSE_FACTOR",
    "LIMIT_FACTOR",
    "MIN_GROUP_POINTS",
    "MR_SCREEN_FACTOR",
    "RUN_LENGTH",
    "TREND_LENGTH",
    "TRIAL_LIMIT_POINTS",
    "TWO_OF_THREE_CLOSE",
    "TWO_OF_THREE_WINDOW",
    "AssuranceIcon",
    "DateOrderError",
    "Improvement",
    "Limits",
    "NonFiniteValueError",
    "OptionError",
    "PointType",
    "RebaseDateError",
    "Rule",
    "SeriesLengthError",
    "Side",
    "SpcError",
    "SpcGroup",
    "SpcPoint",
    "SpcResult",
    "TooFewPointsError",
    "VariationIcon",
    "analyse",
    "assurance_icon",
    "classify",
    "label_point",
    "moving_ranges",
    "rebase_groups",
    "relative_to_mean",
    "run_flags",
    "trend_sides",
    "two_of_three_flags",
    "variation_icon",
    "xmr_limits",
]

# --- Constants (Making Data Count; NHSRplotthedots `ptd_spc_standard`) -------------------------

LIMIT_FACTOR = 2.66
"""Process limits are mean +/- 2.66 x MRbar (the fixed MDC constant, not 3 / 1.128)."""

CLOSE_FACTOR = 2 * (LIMIT_FACTOR / 3)
"""The "close to a limit" band starts at mean +/- 2/3 of the way to the process limit."""

MR_SCREEN_FACTOR = 3.267
"""With screening, moving ranges >= 3.267 x MRbar are dropped and MRbar is recomputed."""

TREND_LENGTH = 7
"""Points in a trend: each strictly higher (or lower) than the one before."""

RUN_LENGTH = 7
"""Consecutive points on one side of the mean that make a run (a shift)."""

TWO_OF_THREE_WINDOW = 3
"""Window of consecutive points for the "two of three close to a limit" rule."""

TWO_OF_THREE_CLOSE = 2
"""Points of that window that must be close to the same limit."""

TRIAL_LIMIT_POINTS = 12
"""Limits computed from fewer points than this are trial limits."""

MIN_GROUP_POINTS = 2
"""A rebase group needs at least one moving range, so at least two points."""


# --- Vocabulary ----------------------------------------------------------------------------------


class Improvement(StrEnum):
    """Which direction of change is an improvement (NHSRplotthedots: increase/decrease/neutral)."""

    up = "up"
    down = "down"
    neither = "neither"


class Side(StrEnum):
    """The side of a special cause: above the mean / increasing, or below / decreasing."""

    high = "high"
    low = "low"

    @property
    def letter(self) -> str:
        """The letter on the Making Data Count icon: H or L."""
        return "H" if self is Side.high else "L"


class Rule(StrEnum):
    """The special-cause rule that labelled a point, in order of precedence."""

    outside_limits = "outside_limits"
    trend = "trend"
    two_of_three = "two_of_three"
    run = "run"


class PointType(StrEnum):
    """A point's type, named as NHSRplotthedots' ``point_type`` column."""

    common_cause = "common_cause"
    special_cause_improvement = "special_cause_improvement"
    special_cause_concern = "special_cause_concern"
    special_cause_neutral_high = "special_cause_neutral_high"
    special_cause_neutral_low = "special_cause_neutral_low"


class VariationIcon(StrEnum):
    """The variation icon, named as NHSRplotthedots' icon files (``icons/variation/*.svg``)."""

    common_cause = "common_cause"
    improvement_high = "improvement_high"
    improvement_low = "improvement_low"
    concern_high = "concern_high"
    concern_low = "concern_low"
    neutral_high = "neutral_high"
    neutral_low = "neutral_low"

    @property
    def letter(self) -> str:
        """H or L for a special cause; empty for common cause (the icon carries no letter)."""
        if self is VariationIcon.common_cause:
            return ""
        return "H" if self.value.endswith("_high") else "L"

    @property
    def point_type(self) -> PointType:
        """The point type of the last point, which this icon shows."""
        return _ICON_POINT_TYPES[self]


_ICON_POINT_TYPES = {
    VariationIcon.common_cause: PointType.common_cause,
    VariationIcon.improvement_high: PointType.special_cause_improvement,
    VariationIcon.improvement_low: PointType.special_cause_improvement,
    VariationIcon.concern_high: PointType.special_cause_concern,
    VariationIcon.concern_low: PointType.special_cause_concern,
    VariationIcon.neutral_high: PointType.special_cause_neutral_high,
    VariationIcon.neutral_low: PointType.special_cause_neutral_low,
}


class AssuranceIcon(StrEnum):
    """The assurance icon, named as NHSRplotthedots' ``assurance_type``."""

    consistent_pass = "consistent_pass"  # noqa: S105 - an icon name, not a secret
    consistent_fail = "consistent_fail"
    inconsistent = "inconsistent"

    @property
    def letter(self) -> str:
        """P (consistently passes), F (consistently fails) or ? (hit and miss)."""
        return {"consistent_pass": "P", "consistent_fail": "F", "inconsistent": "?"}[self.value]


# --- Errors --------------------------------------------------------------------------------------


class SpcError(ValueError):
    """Input on which SPC cannot be computed."""


class SeriesLengthError(SpcError):
    """Dates and values differ in length."""


class TooFewPointsError(SpcError):
    """A series or a rebase group has fewer than ``MIN_GROUP_POINTS`` points."""

    def __init__(self, start: date | None, count: int) -> None:
        self.start, self.count = start, count
        where = "the series" if start is None else f"the rebase group starting {start}"
        super().__init__(
            f"{where} has {count} point{'s' if count != 1 else ''}; "
            f"SPC needs at least {MIN_GROUP_POINTS}"
        )


class DateOrderError(SpcError):
    """Dates are not strictly increasing (unsorted or duplicated)."""

    def __init__(self, index: int, value: date, previous: date) -> None:
        self.index, self.value, self.previous = index, value, previous
        what = "repeats" if value == previous else "comes before"
        super().__init__(
            f"date {value} (point {index + 1}) {what} the previous date {previous}; "
            "dates must be strictly increasing"
        )


class NonFiniteValueError(SpcError):
    """A value is NaN or infinite."""

    def __init__(self, index: int, value: float) -> None:
        self.index, self.value = index, value
        super().__init__(f"value {value} (point {index + 1}) is not a finite number")


class RebaseDateError(SpcError):
    """A rebase date is not one of the series' dates."""

    def __init__(self, value: date) -> None:
        self.value = value
        super().__init__(f"rebase date {value} is not a date in the series")


class OptionError(SpcError):
    """An option is out of range (a non-finite target, a fixed baseline under two points)."""


# --- Results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """XmR limits of one baseline."""

    mean: float
    mr_bar: float
    lpl: float
    upl: float
    close_lower: float
    close_upper: float
    moving_ranges: int
    """Moving ranges in MRbar (after screening)."""
    screened_out: int
    """Moving ranges dropped by outlier screening."""

    @property
    def flat(self) -> bool:
        """MRbar is 0: no meaningful limits, so no signals."""
        return self.mr_bar == 0


@dataclass(frozen=True, slots=True)
class SpcPoint:
    """One point with its group's limits and its label."""

    date: date
    value: float
    group: int
    mean: float
    lpl: float
    upl: float
    close_lower: float
    """Edge of the band close to the lower limit (mean - 2/3 x 2.66 x MRbar)."""
    close_upper: float
    """Edge of the band close to the upper limit (mean + 2/3 x 2.66 x MRbar)."""
    relative_to_mean: int
    """+1 above the mean, -1 below, 0 exactly on it."""
    outside_limits: bool
    close_to_limits: bool
    rule: Rule | None
    """The rule that labelled the point, or None for common cause."""
    side: Side | None
    point_type: PointType

    @property
    def special_cause(self) -> bool:
        return self.point_type is not PointType.common_cause


@dataclass(frozen=True, slots=True)
class SpcGroup:
    """A rebase group: consecutive points sharing one mean and one set of limits."""

    index: int
    start: date
    end: date
    points: int
    baseline_points: int
    """Points the mean and limits are computed from (all, or the first ``fix_after_n_points``)."""
    limits: Limits

    @property
    def trial(self) -> bool:
        """Limits from fewer than ``TRIAL_LIMIT_POINTS`` points are trial limits."""
        return self.baseline_points < TRIAL_LIMIT_POINTS


@dataclass(frozen=True, slots=True)
class SpcResult:
    """A series analysed: its points, its rebase groups and its icons."""

    points: tuple[SpcPoint, ...]
    groups: tuple[SpcGroup, ...]
    improvement: Improvement
    target: float | None
    screen_outliers: bool
    fix_after_n_points: int | None
    variation_icon: VariationIcon
    """From the last point (so from the latest rebase group)."""
    assurance_icon: AssuranceIcon | None
    """From the latest limits; None without a target or when improvement is ``neither``."""

    @property
    def trial_limits(self) -> bool:
        """Some group has trial limits (NHSRplotthedots warns in the same case)."""
        return any(group.trial for group in self.groups)

    @property
    def latest(self) -> SpcGroup:
        return self.groups[-1]


# --- Building blocks -----------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    """The correctly rounded mean, from the exact sum (R's ``mean`` accumulates in long double
    and corrects in a second pass to the same end; a naive float sum can differ in the last bit).

    Each float is an integer over a power of two, so the sum is exact over the largest such
    denominator, and Python's integer true division rounds correctly.
    """
    ratios = [value.as_integer_ratio() for value in values]
    denominator = max(d for _, d in ratios)
    total = sum(n * (denominator // d) for n, d in ratios)
    return total / (denominator * len(values))


def moving_ranges(values: Sequence[float]) -> tuple[float, ...]:
    """|x_i - x_(i-1)| for each consecutive pair: one fewer than the values."""
    return tuple(abs(b - a) for a, b in pairwise(values))


def xmr_limits(values: Sequence[float], *, screen_outliers: bool = False) -> Limits:
    """Mean, MRbar and limits of a baseline of at least ``MIN_GROUP_POINTS`` values."""
    if len(values) < MIN_GROUP_POINTS:
        raise TooFewPointsError(None, len(values))
    mean = _mean(values)
    ranges = moving_ranges(values)
    mr_bar = _mean(ranges)
    kept = ranges
    if screen_outliers:
        kept = tuple(r for r in ranges if r < MR_SCREEN_FACTOR * mr_bar)
        # Only a flat baseline (every range 0) loses every range; its MRbar stays 0.
        mr_bar = _mean(kept) if kept else 0.0
    return Limits(
        mean=mean,
        mr_bar=mr_bar,
        lpl=mean - LIMIT_FACTOR * mr_bar,
        upl=mean + LIMIT_FACTOR * mr_bar,
        close_lower=mean - CLOSE_FACTOR * mr_bar,
        close_upper=mean + CLOSE_FACTOR * mr_bar,
        moving_ranges=len(kept),
        screened_out=len(ranges) - len(kept),
    )


def relative_to_mean(values: Sequence[float], mean: float) -> tuple[int, ...]:
    """+1 above the mean, -1 below, 0 exactly on it."""
    return tuple((v > mean) - (v < mean) for v in values)


def trend_sides(values: Sequence[float]) -> tuple[Side | None, ...]:
    """Each point's trend: ``high`` in an increasing trend, ``low`` in a decreasing one.

    A trend is ``TREND_LENGTH`` consecutive points each strictly higher (or lower) than the one
    before; a tie breaks it and every point of the trend is flagged. A point shared by two trends
    (the peak or trough between them) takes the direction of the trend that starts there.
    """
    n = len(values)
    up = [False] * n
    down = [False] * n
    steps = [(b > a) - (b < a) for a, b in pairwise(values)]
    span = TREND_LENGTH - 1
    for first in range(len(steps) - span + 1):
        window = steps[first : first + span]
        for direction, members in ((1, up), (-1, down)):
            if all(step == direction for step in window):
                members[first : first + TREND_LENGTH] = [True] * TREND_LENGTH
    sides: list[Side | None] = []
    for i in range(n):
        if up[i] and down[i]:
            sides.append(Side.high if steps[i] > 0 else Side.low)
        elif up[i]:
            sides.append(Side.high)
        elif down[i]:
            sides.append(Side.low)
        else:
            sides.append(None)
    return tuple(sides)


def two_of_three_flags(close: Sequence[bool], sides: Sequence[int]) -> tuple[bool, ...]:
    """Close points in a window of three all on one side of the mean with two or more close.

    ``close`` says whether each point is close to a limit (beyond two thirds of the way, not beyond
    the limit itself); ``sides`` is each point's side of the mean (+1, -1, or 0 on the mean).
    """
    flags = [False] * len(close)
    for first in range(len(close) - TWO_OF_THREE_WINDOW + 1):
        window = range(first, first + TWO_OF_THREE_WINDOW)
        same_side = sides[first] != 0 and all(sides[k] == sides[first] for k in window)
        if same_side and sum(close[k] for k in window) >= TWO_OF_THREE_CLOSE:
            for k in window:
                flags[k] = flags[k] or close[k]
    return tuple(flags)


def run_flags(sides: Sequence[int]) -> tuple[bool, ...]:
    """Points in a run of ``RUN_LENGTH`` or more on the same side of the mean (0 breaks a run)."""
    flags = [False] * len(sides)
    start = 0
    for i in range(1, len(sides) + 1):
        if i == len(sides) or sides[i] != sides[start]:
            if sides[start] != 0 and i - start >= RUN_LENGTH:
                flags[start:i] = [True] * (i - start)
            start = i
    return tuple(flags)


def classify(side: Side | None, improvement: Improvement) -> PointType:
    """A point type from the side of its special cause (None: common cause)."""
    if side is None:
        return PointType.common_cause
    if improvement is Improvement.neither:
        return (
            PointType.special_cause_neutral_high
            if side is Side.high
            else PointType.special_cause_neutral_low
        )
    good = Side.high if improvement is Improvement.up else Side.low
    return PointType.special_cause_improvement if side is good else PointType.special_cause_concern


def variation_icon(side: Side | None, improvement: Improvement) -> VariationIcon:
    """The variation icon of a series from the side of its last point's special cause."""
    if side is None:
        return VariationIcon.common_cause
    point_type = classify(side, improvement)
    kind = {
        PointType.special_cause_improvement: "improvement",
        PointType.special_cause_concern: "concern",
    }.get(point_type, "neutral")
    return VariationIcon(f"{kind}_{side.value}")


def assurance_icon(
    lpl: float, upl: float, target: float | None, improvement: Improvement
) -> AssuranceIcon | None:
    """Will the process meet the target? Strict comparisons against the latest limits.

    Improvement up: a target above the UPL is consistently failed, below the LPL consistently
    passed, otherwise hit and miss. Down: pass and fail swap. No target, or improvement
    ``neither``: no assurance icon.
    """
    if target is None or improvement is Improvement.neither:
        return None
    up = improvement is Improvement.up
    if target > upl:
        return AssuranceIcon.consistent_fail if up else AssuranceIcon.consistent_pass
    if target < lpl:
        return AssuranceIcon.consistent_pass if up else AssuranceIcon.consistent_fail
    return AssuranceIcon.inconsistent


def rebase_groups(dates: Sequence[date], rebase_at: Sequence[date]) -> tuple[int, ...]:
    """Each point's rebase group: 0 until the first rebase date, then 1, and so on.

    A rebase date starts a new group at that point; one on the first date changes nothing.
    Every rebase date must be a date of the series.
    """
    known = set(dates)
    for when in rebase_at:
        if when not in known:
            raise RebaseDateError(when)
    starts = set(rebase_at) - {dates[0]} if dates else set()
    groups: list[int] = []
    current = 0
    for when in dates:
        current += when in starts
        groups.append(current)
    return tuple(groups)


# --- The analysis --------------------------------------------------------------------------------


def _validate(
    dates: Sequence[date],
    values: Sequence[float],
    target: float | None,
    fix_after_n_points: int | None,
) -> None:
    if len(dates) != len(values):
        raise SeriesLengthError(f"{len(dates)} dates but {len(values)} values")
    if len(values) < MIN_GROUP_POINTS:
        raise TooFewPointsError(None, len(values))
    for i, value in enumerate(values):
        if not math.isfinite(value):
            raise NonFiniteValueError(i, value)
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            raise DateOrderError(i, dates[i], dates[i - 1])
    if target is not None and not math.isfinite(target):
        raise OptionError(f"target {target} is not a finite number")
    if fix_after_n_points is not None and fix_after_n_points < MIN_GROUP_POINTS:
        raise OptionError(
            f"fix_after_n_points must be at least {MIN_GROUP_POINTS}, not {fix_after_n_points}"
        )


def label_point(
    *, outside: bool, trend: Side | None, two_of_three: bool, run: bool, side_of_mean: int
) -> tuple[Rule, Side] | None:
    """The winning rule and side of one point, given which rules flag it (None: common cause).

    Precedence: outside the limits, then a trend (its side is its direction), then two of
    three close to a limit, then a run; the other rules take the side of the mean.
    """
    of_mean = Side.high if side_of_mean > 0 else Side.low
    if outside:
        return Rule.outside_limits, of_mean
    if trend is not None:
        return Rule.trend, trend
    if two_of_three:
        return Rule.two_of_three, of_mean
    if run:
        return Rule.run, of_mean
    return None


def _label_group(
    values: Sequence[float], limits: Limits
) -> tuple[tuple[int, ...], list[bool], list[bool], list[tuple[Rule, Side] | None]]:
    """Side of the mean, outside/close flags and the winning rule of each point of one group."""
    sides = relative_to_mean(values, limits.mean)
    if limits.flat:
        return sides, [False] * len(values), [False] * len(values), [None] * len(values)
    outside = [v > limits.upl or v < limits.lpl for v in values]
    close = [
        not out and (v < limits.close_lower or v > limits.close_upper)
        for v, out in zip(values, outside, strict=True)
    ]
    trends = trend_sides(values)
    two_of_three = two_of_three_flags(close, sides)
    runs = run_flags(sides)
    labels = [
        label_point(
            outside=outside[i],
            trend=trends[i],
            two_of_three=two_of_three[i],
            run=runs[i],
            side_of_mean=sides[i],
        )
        for i in range(len(values))
    ]
    return sides, outside, close, labels


def analyse(
    dates: Sequence[date],
    values: Sequence[float],
    *,
    improvement: Improvement,
    target: float | None = None,
    rebase_at: Sequence[date] = (),
    screen_outliers: bool = False,
    fix_after_n_points: int | None = None,
) -> SpcResult:
    """Analyse a series: limits per rebase group, each point's label, and the two icons.

    ``dates`` must be strictly increasing; ``rebase_at`` dates must be dates of the series and
    each rebase group needs ``MIN_GROUP_POINTS`` points. ``fix_after_n_points`` computes each
    group's mean and limits from its first N points and carries them forward.
    """
    _validate(dates, values, target, fix_after_n_points)
    group_of = rebase_groups(dates, rebase_at)
    points: list[SpcPoint] = []
    groups: list[SpcGroup] = []
    start = 0
    while start < len(values):
        index = group_of[start]
        end = start
        while end < len(values) and group_of[end] == index:
            end += 1
        group_values = values[start:end]
        if len(group_values) < MIN_GROUP_POINTS:
            raise TooFewPointsError(dates[start], len(group_values))
        baseline = group_values[: fix_after_n_points or len(group_values)]
        limits = xmr_limits(baseline, screen_outliers=screen_outliers)
        groups.append(
            SpcGroup(
                index=len(groups),
                start=dates[start],
                end=dates[end - 1],
                points=len(group_values),
                baseline_points=len(baseline),
                limits=limits,
            )
        )
        sides, outside, close, labels = _label_group(group_values, limits)
        for offset, value in enumerate(group_values):
            label = labels[offset]
            side = label[1] if label else None
            points.append(
                SpcPoint(
                    date=dates[start + offset],
                    value=value,
                    group=len(groups) - 1,
                    mean=limits.mean,
                    lpl=limits.lpl,
                    upl=limits.upl,
                    close_lower=limits.close_lower,
                    close_upper=limits.close_upper,
                    relative_to_mean=sides[offset],
                    outside_limits=outside[offset],
                    close_to_limits=close[offset],
                    rule=label[0] if label else None,
                    side=side,
                    point_type=classify(side, improvement),
                )
            )
        start = end
    last = points[-1]
    latest = groups[-1].limits
    return SpcResult(
        points=tuple(points),
        groups=tuple(groups),
        improvement=improvement,
        target=target,
        screen_outliers=screen_outliers,
        fix_after_n_points=fix_after_n_points,
        variation_icon=variation_icon(last.side, improvement),
        assurance_icon=assurance_icon(latest.lpl, latest.upl, target, improvement),
    )
