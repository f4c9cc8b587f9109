"""The SPC rules, one table each: limits, the four special-cause rules and their precedence,
points on the mean, ties, screening, fixed baselines, rebasing, point types and icons."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from wholesystem.metrics.spc import (
    CLOSE_FACTOR,
    LIMIT_FACTOR,
    MIN_GROUP_POINTS,
    MR_SCREEN_FACTOR,
    RUN_LENGTH,
    TREND_LENGTH,
    TRIAL_LIMIT_POINTS,
    TWO_OF_THREE_CLOSE,
    TWO_OF_THREE_WINDOW,
    AssuranceIcon,
    DateOrderError,
    Improvement,
    NonFiniteValueError,
    OptionError,
    PointType,
    RebaseDateError,
    Rule,
    SeriesLengthError,
    Side,
    SpcError,
    SpcResult,
    TooFewPointsError,
    VariationIcon,
    analyse,
    assurance_icon,
    classify,
    moving_ranges,
    rebase_groups,
    relative_to_mean,
    run_flags,
    trend_sides,
    two_of_three_flags,
    variation_icon,
    xmr_limits,
)

UP, DOWN, NEITHER = Improvement.up, Improvement.down, Improvement.neither
START = date(2024, 1, 1)


def dates(n: int) -> list[date]:
    return [START + timedelta(days=7 * k) for k in range(n)]


def run(values: list[float], improvement: Improvement = UP, **options: object) -> SpcResult:
    return analyse(dates(len(values)), values, improvement=improvement, **options)  # type: ignore[arg-type]


# Charts with a fixed baseline, so the limits are known whatever follows: the baseline 2, 0, 2,
# 0, 1 has mean 1, MRbar (2 + 2 + 2 + 1) / 4 = 1.75, so UPL 5.655, LPL -3.655, and the bands
# close to the limits start at 1 +/- 3.1033. It ends on the mean, so nothing it holds joins a
# run, a trend or a two-of-three window of the points after it.
BASELINE = [2.0, 0.0, 2.0, 0.0, 1.0]
ABOVE, BELOW = 6.0, -4.0  # beyond the process limits
NEAR_UP, NEAR_DOWN = 4.5, -2.5  # close to a limit
PLUS, MINUS, ON = 2.0, 0.0, 1.0  # above, below and exactly on the mean

CODES = {
    Rule.outside_limits: "o",
    Rule.trend: "t",
    Rule.two_of_three: "w",
    Rule.run: "r",
}


def labels(tail: list[float]) -> str:
    """The label of each point after the baseline: '.' common cause, o outside the limits, t
    trend, w two of three close to a limit, r run; upper case when the side is high."""
    result = run(BASELINE + tail, fix_after_n_points=len(BASELINE))
    assert result.latest.limits.mean == 1.0
    assert result.latest.limits.mr_bar == 1.75
    out = []
    for point in result.points[len(BASELINE) :]:
        if point.rule is None:
            out.append(".")
        else:
            code = CODES[point.rule]
            out.append(code.upper() if point.side is Side.high else code)
    return "".join(out)


def test_constants_are_making_data_count() -> None:
    assert LIMIT_FACTOR == 2.66
    assert CLOSE_FACTOR == 2 * (2.66 / 3)
    assert MR_SCREEN_FACTOR == 3.267
    assert (TREND_LENGTH, RUN_LENGTH) == (7, 7)
    assert (TWO_OF_THREE_WINDOW, TWO_OF_THREE_CLOSE) == (3, 2)
    assert TRIAL_LIMIT_POINTS == 12
    assert MIN_GROUP_POINTS == 2


def test_limits_by_hand() -> None:
    """mean 11.6; moving ranges 2, 1, 2, 1 so MRbar 1.5; limits mean +/- 2.66 x 1.5."""
    limits = xmr_limits([10, 12, 11, 13, 12])
    assert limits.mean == pytest.approx(11.6)
    assert limits.mr_bar == 1.5
    assert limits.lpl == pytest.approx(11.6 - 3.99)
    assert limits.upl == pytest.approx(11.6 + 3.99)
    assert limits.close_lower == pytest.approx(11.6 - 2.66)
    assert limits.close_upper == pytest.approx(11.6 + 2.66)
    assert (limits.moving_ranges, limits.screened_out) == (4, 0)
    assert not limits.flat
    assert moving_ranges([10, 12, 11, 13, 12]) == (2, 1, 2, 1)
    assert moving_ranges([3.0]) == ()


def test_mean_is_correctly_rounded() -> None:
    """The exact mean, rounded once (as R's long-double mean), not a float sum's drift."""
    assert sum([0.1] * 10) / 10 != 0.1
    assert xmr_limits([0.1] * 10).mean == 0.1
    assert xmr_limits([1e308, 1e308]).mean == 1e308  # no overflow in the sum


def test_baseline_limits() -> None:
    limits = run(BASELINE, fix_after_n_points=5).latest.limits
    assert limits.upl == pytest.approx(5.655)
    assert limits.lpl == pytest.approx(-3.655)
    assert limits.close_upper == pytest.approx(4.103333)
    assert limits.close_lower == pytest.approx(-2.103333)
    assert limits.lpl < BELOW + 1 < NEAR_DOWN < limits.close_lower < MINUS
    assert PLUS < limits.close_upper < NEAR_UP < limits.upl < ABOVE


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        # 1. outside the limits: strictly beyond, on the side of the mean
        ([ABOVE], "O"),
        ([BELOW], "o"),
        ([PLUS, ABOVE, PLUS], ".O."),
        # 3. two of three close to a limit: the close points only, all three on one side
        ([NEAR_UP, NEAR_UP, PLUS], "WW."),
        ([NEAR_UP, NEAR_UP], ".."),  # no window of three yet: the last two wait for a third
        ([NEAR_UP, PLUS, NEAR_UP], "W.W"),
        ([NEAR_DOWN, MINUS, NEAR_DOWN], "w.w"),
        ([NEAR_UP, PLUS, PLUS, NEAR_UP], "...."),  # too far apart
        ([NEAR_UP, MINUS, NEAR_UP], "..."),  # the middle point is below the mean
        ([NEAR_UP, ON, NEAR_UP], "..."),  # the middle point is on the mean: on neither side
        ([NEAR_UP, NEAR_DOWN], ".."),  # close to opposite limits
        ([NEAR_UP], "."),  # one close point is common cause
        ([ABOVE, NEAR_UP, PLUS], "O.."),  # a point beyond the limit is not "close"
        ([ABOVE, NEAR_UP, NEAR_UP], "OWW"),
        # 4. a run of seven on one side of the mean (alternating heights, so no trend)
        ([PLUS, 1.5] * 3 + [PLUS], "RRRRRRR"),
        ([MINUS, 0.5] * 3 + [MINUS], "rrrrrrr"),
        ([PLUS, 1.5] * 3, "......"),  # six is not a run
        ([PLUS, 1.5, PLUS, ON, PLUS, 1.5, PLUS, 1.5], "........"),  # the mean breaks it
        ([ON] * 8, "........"),  # points on the mean are on neither side
        # 2. a trend of seven, each point strictly beyond the one before
        ([-2, -1.5, -1, -0.5, 0, 0.5, 1.5], "TTTTTTT"),
        ([3, 2.5, 2, 1.5, 0.5, 0, -0.5], "ttttttt"),
        ([-2, -1.5, -1, -0.5, 0, 0.5], "......"),  # six is not a trend
        ([-2, -1.5, -1, -1, -0.5, 0, 1.5, 2], "........"),  # a tie breaks it
    ],
)
def test_each_rule(tail: list[float], expected: str) -> None:
    assert labels(tail) == expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        # outside beats a trend
        ([-2, -1.5, -1, -0.5, 0, 0.5, ABOVE], "TTTTTTO"),
        # a trend beats two of three close to a limit
        ([-2, -1, 0, 2, 3, 4.2, NEAR_UP], "TTTTTTT"),
        # a trend beats a run, and its side is its direction, not its side of the mean:
        # seven points above the mean, falling, make a decreasing trend
        ([4, 3.5, 3, 2.5, 2, 1.5, 1.2], "ttttttt"),
        # two of three beats a run
        ([PLUS, NEAR_UP, PLUS, NEAR_UP, PLUS, 1.5, PLUS], "RWRWRRR"),
        # outside beats a run
        ([PLUS, 1.5, PLUS, ABOVE, PLUS, 1.5, PLUS], "RRRORRR"),
        # a peak shared by an increasing and a decreasing trend takes the later one
        ([-2, -1.5, -1, -0.5, 0, 0.5, 3, 2.5, 2, 1.5, 0.2, -0.2, -1], "TTTTTTttttttt"),
        # a tie between two trends: the peak stays in its increasing trend (NHSRplotthedots
        # labels it decreasing: see docs/spc.md, deliberate differences)
        ([-2, -1.5, -1, -0.5, 0, 0.5, 3, 3, 2.5, 2, 1.5, 0.2, -0.2, -1], "TTTTTTTttttttt"),
        # two increasing trends with one fall between: both stay increasing (NHSRplotthedots
        # labels the first one's last point decreasing, the direction of the fall)
        ([-2, -1.8, -1.6, -1.4, -1.2, -1, -0.8, -0.9, -0.7, -0.5, -0.3, -0.1, 0.1, 0.3], "T" * 14),
    ],
)
def test_precedence(tail: list[float], expected: str) -> None:
    """One label per point, the first rule that applies: outside, trend, two of three, run."""
    assert labels(tail) == expected


def test_decreasing_trend_above_the_mean_is_concern_when_up_is_better() -> None:
    points = run([*BASELINE, 4, 3.5, 3, 2.5, 2, 1.5, 1.2], fix_after_n_points=5).points[5:]
    assert all(p.relative_to_mean == 1 for p in points)
    assert {p.point_type for p in points} == {PointType.special_cause_concern}


def test_points_on_the_mean() -> None:
    assert relative_to_mean([0.0, 1.0, 2.0], 1.0) == (-1, 0, 1)
    assert run_flags([1, 1, 1, 0, 1, 1, 1, 1]) == (False,) * 8
    assert run_flags([0] * 9) == (False,) * 9
    assert run_flags([]) == ()
    assert two_of_three_flags([True, False, True], [1, 0, 1]) == (False, False, False)
    assert two_of_three_flags([True, True, True], [0, 0, 0]) == (False, False, False)


def test_runs_longer_than_seven_flag_every_point() -> None:
    assert run_flags([1] * 10 + [-1] * 7) == (True,) * 17
    assert run_flags([1] * 6 + [-1] * 6) == (False,) * 12


def test_trends_longer_than_seven_flag_every_point() -> None:
    assert trend_sides(list(range(10))) == (Side.high,) * 10
    assert trend_sides(list(range(10, 0, -1))) == (Side.low,) * 10
    assert trend_sides([1.0] * 8) == (None,) * 8


# --- screening, flat series, fixed baselines -------------------------------------------------


def test_screening_is_off_by_default() -> None:
    values = [1.0, 2.0] * 5 + [20.0]
    default = run(values).latest.limits
    screened = run(values, screen_outliers=True).latest.limits
    assert default.screened_out == 0
    assert default.mr_bar == pytest.approx((9 * 1 + 18) / 10)
    # 18 >= 3.267 x 2.7 is dropped; MRbar recomputed from the nine ranges of 1.
    assert screened.screened_out == 1
    assert screened.mr_bar == 1.0
    assert screened.mean == default.mean  # screening changes the ranges, never the mean


def test_screening_keeps_ranges_below_the_threshold() -> None:
    values = [0.0, 1.0, 0.0, 1.0, 0.0, 3.0]  # ranges 1, 1, 1, 1, 3: MRbar 1.4, threshold 4.57
    limits = xmr_limits(values, screen_outliers=True)
    assert limits.screened_out == 0
    assert limits.mr_bar == pytest.approx(1.4)


@pytest.mark.parametrize("screen", [False, True])
def test_flat_series_has_no_signals(screen: bool) -> None:
    result = run([5.0] * 12, screen_outliers=screen)
    limits = result.latest.limits
    assert limits.flat
    assert (limits.lpl, limits.mean, limits.upl) == (5.0, 5.0, 5.0)
    assert not any(p.special_cause or p.outside_limits for p in result.points)
    assert result.variation_icon is VariationIcon.common_cause


def test_flat_after_screening_has_no_signals() -> None:
    """Ranges 0, 0, 0, 0, 0, 0, 10: the 10 is screened out, MRbar is 0, nothing is flagged."""
    result = run([1.0] * 7 + [11.0], screen_outliers=True)
    assert result.latest.limits.flat
    assert result.latest.limits.screened_out == 1
    assert not any(p.special_cause for p in result.points)
    # Unscreened the same series has limits and the jump is special cause.
    assert run([1.0] * 7 + [11.0]).points[-1].special_cause


def test_fixed_baseline_carries_limits_forward() -> None:
    base = run(BASELINE * 3, fix_after_n_points=5)
    wild = run(BASELINE + [100.0, -50.0] * 5, fix_after_n_points=5)
    assert base.latest.limits == wild.latest.limits
    assert wild.latest.baseline_points == 5
    assert wild.latest.points == 15
    assert wild.points[5].point_type is PointType.special_cause_improvement
    whole = run(BASELINE, fix_after_n_points=50)
    assert whole.latest.baseline_points == 5


@pytest.mark.parametrize(
    ("n", "fix", "trial"),
    [(11, None, True), (12, None, False), (30, 12, False), (30, 11, True), (10, 12, True)],
)
def test_trial_limits(n: int, fix: int | None, trial: bool) -> None:
    result = run([float(i % 3) for i in range(n)], fix_after_n_points=fix)
    assert result.latest.trial is trial
    assert result.trial_limits is trial


# --- rebasing ---------------------------------------------------------------------------------


def test_rebase_groups_have_their_own_limits() -> None:
    values = [1.0, 2.0, 1.0, 2.0, 100.0, 101.0, 100.0, 101.0]
    when = dates(8)
    result = run(values, rebase_at=[when[4]])
    first, second = result.groups
    assert (first.start, first.end, first.points) == (when[0], when[3], 4)
    assert (second.start, second.end, second.points) == (when[4], when[7], 4)
    # The jump of 98 between the groups is no moving range of either.
    assert first.limits.mr_bar == second.limits.mr_bar == 1.0
    assert first.limits.mean == 1.5
    assert second.limits.mean == 100.5
    assert [p.mean for p in result.points] == [1.5] * 4 + [100.5] * 4
    assert [p.group for p in result.points] == [0] * 4 + [1] * 4
    unrebased = run(values)
    assert unrebased.latest.limits.mr_bar > 10


def test_trends_and_runs_do_not_span_a_rebase() -> None:
    values = [float(v) for v in range(1, 11)]
    whole = run(values).points  # one group: a trend (and its ends beyond the limits)
    assert all(p.special_cause for p in whole)
    assert all(p.rule is Rule.trend for p in whole[3:7])
    rebased = run(values, rebase_at=[dates(10)[4]])  # 4 then 6 rising points: no trend
    assert not any(p.special_cause for p in rebased.points)
    # Four points above the first group's mean, then four above the second's: no run of eight.
    first = [0.0, 0.4, 0.0, 0.4, 1.0, 0.6, 1.0, 0.6]
    second = [1.0, 0.6, 1.0, 0.6, 0.0, 0.4, 0.0, 0.4]
    split = run(first + second, rebase_at=[dates(16)[8]]).points
    assert [p.relative_to_mean for p in split[4:12]] == [1] * 8
    assert not any(p.special_cause for p in split)


def test_rebase_on_the_first_date_changes_nothing() -> None:
    values = [1.0, 3.0, 2.0, 4.0]
    assert run(values, rebase_at=[START]) == run(values)
    assert rebase_groups(dates(4), [START]) == (0, 0, 0, 0)
    assert rebase_groups([], []) == ()


def test_rebase_dates_must_be_in_the_series() -> None:
    with pytest.raises(RebaseDateError, match="2024-01-02 is not a date in the series"):
        run([1.0, 2.0, 3.0], rebase_at=[date(2024, 1, 2)])


def test_rebase_group_needs_two_points() -> None:
    when = dates(5)
    with pytest.raises(TooFewPointsError, match=f"group starting {when[4]} has 1 point;") as exc:
        run([1.0, 2.0, 3.0, 4.0, 5.0], rebase_at=[when[4]])
    assert (exc.value.start, exc.value.count) == (when[4], 1)


# --- point types and icons --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "improvement", "expected"),
    [
        (None, UP, PointType.common_cause),
        (None, NEITHER, PointType.common_cause),
        (Side.high, UP, PointType.special_cause_improvement),
        (Side.low, UP, PointType.special_cause_concern),
        (Side.high, DOWN, PointType.special_cause_concern),
        (Side.low, DOWN, PointType.special_cause_improvement),
        (Side.high, NEITHER, PointType.special_cause_neutral_high),
        (Side.low, NEITHER, PointType.special_cause_neutral_low),
    ],
)
def test_classify(side: Side | None, improvement: Improvement, expected: PointType) -> None:
    assert classify(side, improvement) is expected


@pytest.mark.parametrize(
    ("side", "improvement", "icon", "letter", "point_type"),
    [
        (None, UP, VariationIcon.common_cause, "", PointType.common_cause),
        (Side.high, UP, VariationIcon.improvement_high, "H", PointType.special_cause_improvement),
        (Side.low, UP, VariationIcon.concern_low, "L", PointType.special_cause_concern),
        (Side.high, DOWN, VariationIcon.concern_high, "H", PointType.special_cause_concern),
        (Side.low, DOWN, VariationIcon.improvement_low, "L", PointType.special_cause_improvement),
        (Side.high, NEITHER, VariationIcon.neutral_high, "H", PointType.special_cause_neutral_high),
        (Side.low, NEITHER, VariationIcon.neutral_low, "L", PointType.special_cause_neutral_low),
    ],
)
def test_variation_icon(
    side: Side | None,
    improvement: Improvement,
    icon: VariationIcon,
    letter: str,
    point_type: PointType,
) -> None:
    assert variation_icon(side, improvement) is icon
    assert icon.letter == letter
    assert icon.point_type is point_type
    assert classify(side, improvement) is point_type


@pytest.mark.parametrize(
    ("improvement", "tail", "icon"),
    [
        (UP, [ABOVE], VariationIcon.improvement_high),
        (UP, [BELOW], VariationIcon.concern_low),
        (DOWN, [ABOVE], VariationIcon.concern_high),
        (DOWN, [BELOW], VariationIcon.improvement_low),
        (NEITHER, [ABOVE], VariationIcon.neutral_high),
        (NEITHER, [BELOW], VariationIcon.neutral_low),
        (UP, [ABOVE, PLUS], VariationIcon.common_cause),  # only the last point counts
    ],
)
def test_variation_icon_is_the_last_point(
    improvement: Improvement, tail: list[float], icon: VariationIcon
) -> None:
    result = run(BASELINE + tail, improvement, fix_after_n_points=5)
    assert result.variation_icon is icon


UPL, LPL = 10.0, 4.0


@pytest.mark.parametrize(
    ("target", "improvement", "expected"),
    [
        (11.0, UP, AssuranceIcon.consistent_fail),
        (UPL, UP, AssuranceIcon.inconsistent),  # on the limit: strict
        (7.0, UP, AssuranceIcon.inconsistent),
        (LPL, UP, AssuranceIcon.inconsistent),
        (3.0, UP, AssuranceIcon.consistent_pass),
        (11.0, DOWN, AssuranceIcon.consistent_pass),
        (UPL, DOWN, AssuranceIcon.inconsistent),
        (7.0, DOWN, AssuranceIcon.inconsistent),
        (LPL, DOWN, AssuranceIcon.inconsistent),
        (3.0, DOWN, AssuranceIcon.consistent_fail),
        (11.0, NEITHER, None),
        (3.0, NEITHER, None),
        (None, UP, None),
        (None, DOWN, None),
    ],
)
def test_assurance_icon(
    target: float | None, improvement: Improvement, expected: AssuranceIcon | None
) -> None:
    assert assurance_icon(LPL, UPL, target, improvement) is expected


def test_icon_letters() -> None:
    assert [icon.letter for icon in AssuranceIcon] == ["P", "F", "?"]
    assert (Side.high.letter, Side.low.letter) == ("H", "L")


def test_result_carries_its_options() -> None:
    result = run([1.0, 3.0, 2.0, 4.0], DOWN, target=2.5, screen_outliers=True, fix_after_n_points=3)
    assert (result.improvement, result.target) == (DOWN, 2.5)
    assert (result.screen_outliers, result.fix_after_n_points) == (True, 3)
    assert result.latest is result.groups[-1]
    assert result.assurance_icon is AssuranceIcon.inconsistent


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "values", "options", "error", "message"),
    [
        (dates(3), [1.0, 2.0], {}, SeriesLengthError, "3 dates but 2 values"),
        (dates(1), [1.0], {}, TooFewPointsError, "the series has 1 point; SPC needs at least 2"),
        ([], [], {}, TooFewPointsError, "the series has 0 points"),
        (dates(3), [1.0, math.nan, 2.0], {}, NonFiniteValueError, "value nan .point 2."),
        (dates(3), [1.0, 2.0, math.inf], {}, NonFiniteValueError, "value inf .point 3."),
        (
            [START, START + timedelta(days=2), START + timedelta(days=1)],
            [1.0, 2.0, 3.0],
            {},
            DateOrderError,
            "date 2024-01-02 .point 3. comes before the previous date 2024-01-03",
        ),
        ([START, START], [1.0, 2.0], {}, DateOrderError, "date 2024-01-01 .point 2. repeats"),
        (dates(3), [1.0, 2.0, 3.0], {"target": math.nan}, OptionError, "target nan"),
        (dates(3), [1.0, 2.0, 3.0], {"fix_after_n_points": 1}, OptionError, "at least 2, not 1"),
    ],
)
def test_bad_input(
    when: list[date],
    values: list[float],
    options: dict[str, object],
    error: type[SpcError],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        analyse(when, values, improvement=UP, **options)  # type: ignore[arg-type]


def test_errors_are_value_errors_with_details() -> None:
    with pytest.raises(ValueError, match="finite") as exc:
        run([1.0, math.nan])
    assert isinstance(exc.value, NonFiniteValueError)
    assert exc.value.index == 1
    with pytest.raises(TooFewPointsError) as few:
        xmr_limits([1.0])
    assert (few.value.start, few.value.count) == (None, 1)
    with pytest.raises(DateOrderError) as order:
        analyse([START, START], [1.0, 2.0], improvement=UP)
    assert (order.value.index, order.value.value, order.value.previous) == (1, START, START)
