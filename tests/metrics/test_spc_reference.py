"""Golden vectors: NHSRplotthedots' own test expectations, reproduced by our SPC engine.

Each test names the reference file and ``test_that()`` it reproduces, in
github.com/nhs-r-community/NHSRplotthedots ``tests/testthat/``. Where a reference test builds
its data with ``set.seed(123); rnorm(...)``, ``RRandom`` replays R's generator exactly. The
reference's defaults are ``improvement_direction = "increase"`` and ``screen_outliers = TRUE``
(ours are explicit: ``screen_outliers`` is off by default here, so these tests turn it on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.metrics.r_rng import RRandom
from tests.metrics.rserialize import SpcSnapshot, load_spc_snapshot
from wholesystem.metrics.spc import (
    AssuranceIcon,
    Improvement,
    PointType,
    Side,
    SpcResult,
    VariationIcon,
    analyse,
    assurance_icon,
    label_point,
    rebase_groups,
    run_flags,
    trend_sides,
    two_of_three_flags,
)

FIXTURES = Path(__file__).parent / "fixtures" / "nhsr"
UP, DOWN, NEITHER = Improvement.up, Improvement.down, Improvement.neither


def days_from(start: date, n: int) -> list[date]:
    """R: ``as.Date(start) + 1:n``."""
    return [start + timedelta(days=k) for k in range(1, n + 1)]


def ptd_spc(
    values: list[float],
    improvement: Improvement = UP,
    *,
    target: float | None = None,
    rebase_at: tuple[date, ...] = (),
    fix_after_n_points: int | None = None,
) -> SpcResult:
    """``ptd_spc(data.frame(x = as.Date("2020-01-01") + 1:n, y = values), "y", "x", ...)``."""
    return analyse(
        days_from(date(2020, 1, 1), len(values)),
        values,
        improvement=improvement,
        target=target,
        rebase_at=rebase_at,
        screen_outliers=True,
        fix_after_n_points=fix_after_n_points,
    )


def sig(value: float, digits: int) -> str:
    """A value as R prints it with ``digits`` significant digits (pillar, print)."""
    return f"{value:.{digits}g}"


def rnorm20() -> list[float]:
    """``set.seed(123); rnorm(20)``: the data of test-ptd_spc_standard.R and test-ptd_spc.R."""
    return RRandom(123).rnorm(20)


# --- tests/testthat/test-ptd_spc_standard.R -------------------------------------------------------


def test_spc_standard_expected_values() -> None:
    """test-ptd_spc_standard.R "it returns expected values", _snaps/ptd_spc_standard.md (r1).

    ``pillar::glimpse(r1)``: mean_col 0.1416238, lpl -3.01138, upl 3.294627, outside_limits and
    close_to_limits FALSE, FALSE, ..., relative_to_mean -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1,
    1, -1, -1, ...
    """
    y = rnorm20()
    assert sig(y[0], 8) == "-0.56047565"  # glimpse's first y: R's generator is replayed exactly
    result = ptd_spc(y)
    limits = result.latest.limits
    assert (sig(limits.mean, 7), sig(limits.lpl, 7), sig(limits.upl, 7)) == (
        "0.1416238",
        "-3.01138",
        "3.294627",
    )
    sides = [p.relative_to_mean for p in result.points]
    assert sides[:15] == [-1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    # glimpse shows outside_limits and close_to_limits FALSE for the first 8 points (the 18th,
    # -1.97, is just close to the lower limit, a lone close point: still common cause).
    assert not any(p.outside_limits or p.close_to_limits for p in result.points[:8])


def test_spc_standard_screen_outliers() -> None:
    """test-ptd_spc_standard.R "it returns expected values", _snaps/ptd_spc_standard.md (r2, r3).

    With ``data$y[15] <- 10``: screened (r2) mean_col 0.6694159, lpl -2.383666, upl 3.722497;
    unscreened (r3) lpl -4.596625, upl 5.935457; relative_to_mean -1, -1, 1, -1, -1, 1, -1, -1,
    -1, -1, 1, -1, -1, -1, ...; the three sets of limits all differ and r3's range is wider.
    """
    y = rnorm20()
    y[14] = 10
    r1 = ptd_spc(rnorm20()).latest.limits
    r2 = ptd_spc(y).latest.limits
    r3 = analyse(days_from(date(2020, 1, 1), 20), y, improvement=UP).latest.limits
    assert (sig(r2.mean, 7), sig(r2.lpl, 7), sig(r2.upl, 7)) == (
        "0.6694159",
        "-2.383666",
        "3.722497",
    )
    assert (sig(r3.mean, 7), sig(r3.lpl, 7), sig(r3.upl, 7)) == (
        "0.6694159",
        "-4.596625",
        "5.935457",
    )
    assert r2.screened_out == 2  # the moving ranges into and out of the outlier
    assert r3.screened_out == 0
    assert len({r1.lpl, r2.lpl, r3.lpl}) == 3
    assert len({r1.upl, r2.upl, r3.upl}) == 3
    assert r3.upl - r3.lpl > r2.upl - r2.lpl
    sides = [p.relative_to_mean for p in ptd_spc(y).points]
    assert sides[:14] == [-1, -1, 1, -1, -1, 1, -1, -1, -1, -1, 1, -1, -1, -1]


def test_spc_standard_fix_after_n_points() -> None:
    """test-ptd_spc_standard.R "setting fix_after_n_points changes the calculations"."""
    s0 = ptd_spc(rnorm20()).latest.limits
    s1 = ptd_spc(rnorm20(), fix_after_n_points=12).latest
    assert s1.limits.lpl != s0.lpl
    assert s1.limits.upl != s0.upl
    assert s1.baseline_points == 12
    assert s1.points == 20


def test_spc_standard_rebase_group() -> None:
    """test-ptd_spc_standard.R "it sets the rebase_group field".

    No rebase: every point in group 0; a rebase at the 11th point: ten in 0, ten in 1.
    """
    dates = days_from(date(2020, 1, 1), 20)
    assert [p.group for p in ptd_spc(rnorm20()).points] == [0] * 20
    rebased = ptd_spc(rnorm20(), rebase_at=(dates[10],))
    assert [p.group for p in rebased.points] == [0] * 10 + [1] * 10


def test_spc_standard_two_of_three_same_side_only() -> None:
    """test-ptd_spc_standard.R "it only reports special cause for 2of3 points close to limits
    when they are on the same side of the mean".

    ``rep(c(1, -1), 8)`` with the last two points set to 5.5 and -5.5: both close to a limit but
    on opposite sides of the mean, so both common cause.
    """
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    points = ptd_spc(values).points
    assert points[-2].close_to_limits
    assert points[-1].close_to_limits
    assert [p.point_type for p in points[-2:]] == [PointType.common_cause] * 2


# --- tests/testthat/test-ptd_calculate_point_type.R ----------------------------------------------


@pytest.mark.parametrize(
    ("sides", "expected"),
    [
        ([], []),
        ([1] * 6, [False] * 6),
        ([1] * 6 + [-1], [False] * 7),
        ([1] * 8 + [-1], [True] * 8 + [False]),
        ([-1] * 8 + [1], [True] * 8 + [False]),
    ],
)
def test_seven_point_one_side_mean(sides: list[int], expected: list[bool]) -> None:
    """test-ptd_calculate_point_type.R "ptd_seven_point_one_side_mean works as expected" with
    "ptd_part_of_seven_trend works as expected": a run flags all of its points.

    The reference marks where a run of 7 is reached (``c(rep(1, 8), -1)`` gives
    0,0,0,0,0,0,1,1,0) and then every point of it (``ptd_part_of_seven_trend``); ``run_flags``
    returns the composition.
    """
    assert list(run_flags(sides)) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ""),
        ([1, 2, 3, 4, 5, 6], "......"),
        ([1, 2, 3, 3, 4, 5, 6], "......."),
        ([1, 2, 3, 4, 5, 6, 7], "HHHHHHH"),
        ([2, 1, 2, 3, 4, 5, 6, 7, 3], ".HHHHHHH."),
        ([7, 6, 5, 4, 3, 2, 1], "LLLLLLL"),
        ([2, 7, 6, 5, 4, 3, 2, 1, 3], ".LLLLLLL."),
    ],
)
def test_seven_point_trend(values: list[float], expected: str) -> None:
    """test-ptd_calculate_point_type.R "ptd_seven_point_trend works as expected" (with
    "ptd_part_of_seven_trend works as expected": every point of a trend is flagged).

    ``1:6`` is too short, ``c(1:3, 3:6)`` is broken by the tie, ``1:7`` increases,
    ``c(2, 1:7, 3)`` increases from the 2nd to the 8th point, ``7:1`` and ``c(2, 7:1, 3)``
    decrease. H: increasing trend, L: decreasing, dot: none.
    """
    letters = "".join(side.letter if side else "." for side in trend_sides(values))
    assert letters == expected


@pytest.mark.parametrize(
    ("close", "sides", "expected"),
    [
        # "ptd_two_in_three works as expected" + "ptd_part_of_two_in_three works as expected"
        ([], [], []),
        ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
        ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
        ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
        ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
        ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
        # "ptd_two_in_three works as expected when points are on opposite sides of the mean"
        ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
        ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
        ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
        ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
    ],
)
def test_two_in_three(close: list[int], sides: list[int], expected: list[int]) -> None:
    """test-ptd_calculate_point_type.R "ptd_two_in_three works as expected", "... when points are
    on opposite sides of the mean" and "ptd_part_of_two_in_three works as expected".

    The reference first marks every point of a qualifying window (``c(1, 0, 1)`` gives 1, 1, 1)
    and then keeps the close ones (``ptd_part_of_two_in_three``: 1, 0, 1); ``two_of_three_flags``
    returns the latter.
    """
    flags = two_of_three_flags([bool(c) for c in close], sides)
    assert flags == tuple(bool(e) for e in expected)


def test_special_cause_type_precedence() -> None:
    """test-ptd_calculate_point_type.R "ptd_special_cause_type works as expected".

    The reference mocks the rule helpers: y = 1:8, relative_to_mean = (1, 1, 1, 1, -1, -1, -1,
    -1), part of a trend = (1, -1, 0, ...), part of a run = (0, 0, 1, -1, 0, ...), part of two in
    three = (0, 0, 0, 0, 1, 0, 0, 0), outside = (0, 0, 0, 0, 0, 1, -1, 0); expected "7 Point Trend
    (Increasing)" x2 (y increases), "7 Points Above CL" x2, "2 in 3 Below CL", "Below LCL" x2,
    "Common Cause".
    """
    sides_of_mean = [1, 1, 1, 1, -1, -1, -1, -1]
    trend = [Side.high, Side.high, None, None, None, None, None, None]  # direction from y = 1:8
    run = [0, 0, 1, 1, 0, 0, 0, 0]
    two_in_three = [0, 0, 0, 0, 1, 0, 0, 0]
    outside = [0, 0, 0, 0, 0, 1, 1, 0]
    labels = [
        label_point(
            outside=bool(outside[i]),
            trend=trend[i],
            two_of_three=bool(two_in_three[i]),
            run=bool(run[i]),
            side_of_mean=sides_of_mean[i],
        )
        for i in range(8)
    ]
    as_reference = [
        "Common Cause" if label is None else f"{label[0].value} {label[1].value}"
        for label in labels
    ]
    assert as_reference == [
        "trend high",  # 7 Point Trend (Increasing)
        "trend high",
        "run high",  # 7 Points Above CL
        "run high",
        "two_of_three low",  # 2 in 3 Below CL
        "outside_limits low",  # Below LCL
        "outside_limits low",
        "Common Cause",
    ]


# --- tests/testthat/test-ptd_calculate_assurance_type.R ------------------------------------------

LIMITS = [(1.0, 3.0), (5.0, 7.0), (1.0, 5.0)]  # (lpl, upl) of facets a, b, c; target 4


@pytest.mark.parametrize(
    ("improvement", "expected"),
    [
        (
            UP,
            [
                AssuranceIcon.consistent_fail,
                AssuranceIcon.consistent_pass,
                AssuranceIcon.inconsistent,
            ],
        ),
        (
            DOWN,
            [
                AssuranceIcon.consistent_pass,
                AssuranceIcon.consistent_fail,
                AssuranceIcon.inconsistent,
            ],
        ),
        (NEITHER, [None, None, None]),
    ],
)
def test_assurance_type(improvement: Improvement, expected: list[AssuranceIcon | None]) -> None:
    """test-ptd_calculate_assurance_type.R "it returns correct values for assurance when
    improvement_direction is increase", "... is decrease" and "... is neutral"."""
    assert [assurance_icon(lpl, upl, 4.0, improvement) for lpl, upl in LIMITS] == expected


def test_assurance_type_without_target() -> None:
    """test-ptd_calculate_assurance_type.R "it returns a column of NA's if there is no target"."""
    assert assurance_icon(1.0, 3.0, None, UP) is None


def test_assurance_type_uses_latest_group() -> None:
    """test-ptd_calculate_assurance_type.R "it returns correct values for assurance when rebase".

    The last row's limits decide: with improvement decrease and target 4, rows (lpl, upl) ordered
    c(1, 2, 3), c(2, 3, 1), c(3, 1, 2) end with (1, 5), (1, 3), (5, 7) and give inconsistent,
    consistent_pass, consistent_fail.
    Here each ordering is a rebased series whose latest group has those limits.
    """

    def group(lpl: float, upl: float) -> list[float]:
        # A group of 8 points with mean (lpl + upl) / 2 and limits mean +/- (upl - lpl) / 2:
        # alternating values give MRbar = 2 * half_width, so use half_width / 2.66 / 2.
        mean, half = (lpl + upl) / 2, (upl - lpl) / 2
        swing = half / 2.66 / 2
        return [mean - swing, mean + swing] * 4

    orders = {
        ((1, 3), (5, 7), (1, 5)): AssuranceIcon.inconsistent,
        ((5, 7), (1, 5), (1, 3)): AssuranceIcon.consistent_pass,
        ((1, 5), (1, 3), (5, 7)): AssuranceIcon.consistent_fail,
    }
    for order, expected in orders.items():
        values = [v for lpl, upl in order for v in group(lpl, upl)]
        dates = days_from(date(2020, 1, 1), len(values))
        result = analyse(
            dates, values, improvement=DOWN, target=4.0, rebase_at=[dates[8], dates[16]]
        )
        assert result.latest.limits.lpl == pytest.approx(order[-1][0])
        assert result.latest.limits.upl == pytest.approx(order[-1][1])
        assert result.assurance_icon is expected


# --- tests/testthat/test-geom_ptd_icon.R ----------------------------------------------------------


@dataclass(frozen=True)
class IconCase:
    name: str
    values: str  # which data: "d" (rnorm 24), "d5" (2nd facet ~ N(5, 1)), "dm5" (~ N(-5, 1))
    improvement: Improvement
    target: float | None
    variation: VariationIcon
    assurance: AssuranceIcon | None


def icon_data() -> dict[str, list[float]]:
    """``set.seed(123); d$y <- rnorm(24)``, then ``d$y[d$f == 1] <- rnorm(12, 5)``, then
    ``d$y[d$f == 1] <- rnorm(12, -5)``: the draws continue one stream."""
    rng = RRandom(123)
    d = rng.rnorm(24)
    d5 = d[:12] + rng.rnorm(12, 5)
    dm5 = d[:12] + rng.rnorm(12, -5)
    return {"d": d, "d5": d5, "dm5": dm5}


ICON_CASES = [
    IconCase("s1", "d", UP, None, VariationIcon.common_cause, None),
    IconCase("s2", "d", UP, 0.5, VariationIcon.common_cause, AssuranceIcon.inconsistent),
    IconCase("s5", "d5", UP, -3, VariationIcon.improvement_high, AssuranceIcon.consistent_pass),
    IconCase("s6", "d5", DOWN, -3, VariationIcon.concern_high, AssuranceIcon.consistent_fail),
    IconCase("s7", "dm5", UP, 3, VariationIcon.concern_low, AssuranceIcon.consistent_fail),
    IconCase("s8", "dm5", DOWN, 3, VariationIcon.improvement_low, AssuranceIcon.consistent_pass),
    IconCase("s9", "dm5", NEITHER, 3, VariationIcon.neutral_low, None),
]


@pytest.mark.parametrize("case", ICON_CASES, ids=lambda c: c.name)
def test_get_icons(case: IconCase) -> None:
    """test-geom_ptd_icon.R "ptd_get_icons transforms the data correctly" (s1, s2, s5 to s9).

    Icons: variation/common_cause.svg (s1, s2) with assurance/inconsistent.svg (s2);
    improvement_high + pass (s5), concern_high + fail (s6), concern_low + fail (s7),
    improvement_low + pass (s8), neutral_low and no assurance icon (s9, neutral).
    """
    result = ptd_spc(icon_data()[case.values], case.improvement, target=case.target)
    assert result.variation_icon is case.variation
    assert result.assurance_icon is case.assurance


def test_get_icons_facets() -> None:
    """test-geom_ptd_icon.R "ptd_get_icons transforms the data correctly" (s3, s4).

    Facets f = 0 and f = 1 (12 points each) are analysed separately: common cause each; with
    target 0.5 each is inconsistent.
    """
    d = icon_data()["d"]
    for facet in (d[:12], d[12:]):
        assert ptd_spc(facet).variation_icon is VariationIcon.common_cause
        assert ptd_spc(facet, target=0.5).assurance_icon is AssuranceIcon.inconsistent


# --- tests/testthat/test-ptd_spc.R ----------------------------------------------------------------


def test_spc_summary() -> None:
    """test-ptd_spc.R "it outputs expected content", _snaps/ptd_spc.md.

    ``summary(s1)``: mean_col 0.142, lpl -3.01, upl 3.29, n 20, common_cause 20,
    special_cause_improvement 0. ``summary(s3)`` (facet 0 = first 10 points, facet 1 = last 10):
    0.0746, -2.60, 2.75 and 0.209, -3.28, 3.70, all common cause.
    """
    y = rnorm20()
    s1 = ptd_spc(y)
    limits = s1.latest.limits
    assert (sig(limits.mean, 3), sig(limits.lpl, 3), sig(limits.upl, 3)) == (
        "0.142",
        "-3.01",
        "3.29",
    )
    assert len(s1.points) == 20
    assert not any(p.special_cause for p in s1.points)
    expected = [("0.0746", "-2.6", "2.75"), ("0.209", "-3.28", "3.7")]
    for facet, (mean, lpl, upl) in zip((y[:10], y[10:]), expected, strict=True):
        result = ptd_spc(facet)
        got = result.latest.limits
        assert (sig(got.mean, 3), sig(got.lpl, 3), sig(got.upl, 3)) == (mean, lpl, upl)
        assert not any(p.special_cause for p in result.points)
        assert result.trial_limits  # 10 points: the reference warns of trial limits


# --- tests/testthat/test-ptd_add_rebase_column.R -------------------------------------------------


def test_add_rebase_column() -> None:
    """test-ptd_add_rebase_column.R "it correctly sets rebase column when a date vector is passed".

    Dates 2020-01-02 to 2020-01-11, rebase at 2020-01-03 and 2020-01-08: rebase flags
    0, 1, 0, 0, 0, 0, 1, 0, 0, 0, so groups (their cumulative sum) 0, 1, 1, 1, 1, 1, 2, 2, 2, 2.
    """
    dates = days_from(date(2020, 1, 1), 10)
    groups = rebase_groups(dates, [date(2020, 1, 3), date(2020, 1, 8)])
    assert groups == (0, 1, 1, 1, 1, 1, 2, 2, 2, 2)
    assert rebase_groups(dates, []) == (0,) * 10  # "it adds a column of zeros if no rebase"


# --- tests/testthat/test-ptd_add_short_group_warnings.R ------------------------------------------


@pytest.mark.parametrize(
    ("sizes", "trial"),
    [
        ((11,), (True,)),  # "it warns when a group is shorter than the warning_threshold"
        ((12,), (False,)),  # "it does not warn when a group is equal to the warning_threshold"
        ((20, 20), (False, False)),  # "it handles facets and rebase groups - no warnings"
        ((35, 5), (False, True)),  # "... - warning on one facet" (facet a: 35 then 5 points)
    ],
)
def test_short_group_warnings(sizes: tuple[int, ...], trial: tuple[bool, ...]) -> None:
    """test-ptd_add_short_group_warnings.R, with its ``warning_threshold <- 12``."""
    values = [float(i % 5) for i in range(sum(sizes))]
    dates = days_from(date(2020, 1, 1), len(values))
    starts = [dates[sum(sizes[:k])] for k in range(1, len(sizes))]
    result = analyse(dates, values, improvement=UP, rebase_at=starts)
    assert tuple(group.trial for group in result.groups) == trial
    assert result.trial_limits == any(trial)


# --- tests/testthat/test-integration_tests.R (_snaps/integration_tests.md) -----------------------

SNAPSHOTS = {
    "ae_all_attendances": "ae_all attendances spc returns expected values",
    "ae_all_attendances_rebase": "ae_all attendances spc with rebase returns expected values",
    "ae_all_performance": "ae_all performance spc returns expected values",
    "ae_all_performance_plot_args": "plot arguments behave as expected",
    "ae_rl4_by_type_attendances": "ae_rl4_by_type attendances spc returns expected values",
}

# Points the pre-0.2.2 snapshot flags by the 2-in-3 rule across the mean, which NHSRplotthedots
# 0.2.2 fixed (NEWS.md: issue #143) and its current unit tests forbid (see
# test_spc_standard_two_of_three_same_side_only and test_two_in_three): we expect common cause.
SUPERSEDED = {
    ("ae_rl4_by_type_attendances", "1", date(2019, 1, 1)),
    ("ae_rl4_by_type_attendances", "1", date(2019, 3, 1)),
}


def snapshot_cases() -> list[tuple[str, SpcSnapshot]]:
    return [
        (name, facet) for name in SNAPSHOTS for facet in load_spc_snapshot(FIXTURES / f"{name}.b64")
    ]


@pytest.mark.parametrize(
    ("name", "snapshot"), snapshot_cases(), ids=lambda v: v if isinstance(v, str) else v.facet
)
def test_integration_snapshot(name: str, snapshot: SpcSnapshot) -> None:
    """test-integration_tests.R, the ``expect_snapshot_value(spc_obj, style = "serialize")`` of
    each case in SNAPSHOTS (stored verbatim in tests/metrics/fixtures/nhsr, see its README).

    Same input and options (facets analysed separately, as the reference groups by facet): the
    same mean and limits to the last bit, the same outside/close/side-of-mean flags, and the same
    point type at every point, except the two points in SUPERSEDED.
    """
    assert snapshot.improvement_direction == "increase"
    assert not snapshot.has_target
    result = analyse(
        snapshot.dates,
        snapshot.y,
        improvement=UP,
        rebase_at=snapshot.rebase,
        screen_outliers=snapshot.screen_outliers,
        fix_after_n_points=snapshot.fix_after_n_points,
    )
    points = result.points
    assert [p.group for p in points] == snapshot.rebase_group
    assert [p.mean for p in points] == snapshot.mean
    assert [p.lpl for p in points] == snapshot.lpl
    assert [p.upl for p in points] == snapshot.upl
    assert [p.relative_to_mean for p in points] == snapshot.relative_to_mean
    assert [p.outside_limits for p in points] == snapshot.outside_limits
    assert [p.close_to_limits for p in points] == snapshot.close_to_limits
    expected = [
        "common_cause" if (name, snapshot.facet, when) in SUPERSEDED else point_type
        for when, point_type in zip(snapshot.dates, snapshot.point_type, strict=True)
    ]
    assert [p.point_type.value for p in points] == expected
    superseded = [
        (when, old)
        for when, old in zip(snapshot.dates, snapshot.point_type, strict=True)
        if (name, snapshot.facet, when) in SUPERSEDED
    ]
    assert all(old == "special_cause_improvement" for _, old in superseded)


def test_integration_snapshots_cover_the_rules() -> None:
    """The stored snapshots exercise limits, rebasing, a fixed baseline, screening and every
    point type for improvement ``increase`` (so they are a meaningful check, not all common)."""
    seen = {
        (name, point_type)
        for name, snapshot in snapshot_cases()
        for point_type in snapshot.point_type
    }
    assert ("ae_all_performance", "special_cause_improvement") in seen
    assert ("ae_all_performance", "special_cause_concern") in seen
    assert ("ae_all_performance_plot_args", "special_cause_concern") in seen
    plot_args = load_spc_snapshot(FIXTURES / "ae_all_performance_plot_args.b64")[0]
    screened = analyse(plot_args.dates, plot_args.y, improvement=UP, screen_outliers=True)
    assert screened.latest.limits.screened_out == 2
