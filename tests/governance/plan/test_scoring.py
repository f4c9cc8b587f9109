"""The NHS 5x5 matrix, every cell, against NPSA "A risk matrix for risk managers" (2008)."""

from __future__ import annotations

import pytest

from wholesystem.governance.plan.scoring import (
    Band,
    RiskScore,
    ScoreError,
    Trend,
    band_for,
    check_target,
    score,
    trend,
)

L, M, H, E = Band.low, Band.moderate, Band.high, Band.extreme
# NPSA 2008 matrix as printed: rows likelihood 1 (rare) to 5 (almost certain), columns
# consequence 1 (negligible) to 5 (catastrophic); (score, grading).
MATRIX = {
    1: [(1, L), (2, L), (3, L), (4, M), (5, M)],
    2: [(2, L), (4, M), (6, M), (8, H), (10, H)],
    3: [(3, L), (6, M), (9, H), (12, H), (15, E)],
    4: [(4, M), (8, H), (12, H), (16, E), (20, E)],
    5: [(5, M), (10, H), (15, E), (20, E), (25, E)],
}
CELLS = [
    (lk, c, value, band)
    for lk, row in MATRIX.items()
    for c, (value, band) in enumerate(row, start=1)
]


def test_the_table_has_all_25_cells() -> None:
    assert len(CELLS) == 25
    assert len({(lk, c) for lk, c, _, _ in CELLS}) == 25


@pytest.mark.parametrize(("likelihood", "consequence", "value", "band"), CELLS)
def test_every_cell_scores_and_bands_as_npsa(
    likelihood: int, consequence: int, value: int, band: Band
) -> None:
    s = score(likelihood, consequence)
    assert s.value == value
    assert s.band is band


@pytest.mark.parametrize("impossible", [0, 7, 11, 13, 14, 17, 18, 19, 21, 24, 26])
def test_products_the_matrix_cannot_give_have_no_band(impossible: int) -> None:
    with pytest.raises(ScoreError, match=f"{impossible} is not a product"):
        band_for(impossible)


@pytest.mark.parametrize(
    ("likelihood", "consequence", "field"),
    [(0, 3, "likelihood"), (6, 3, "likelihood"), (3, 0, "consequence"), (3, 6, "consequence"),
     ("3", 3, "likelihood"), (True, 3, "likelihood"), (3, 2.5, "consequence"),
     (None, 3, "likelihood")],
)  # fmt: skip
def test_out_of_range_scores_are_refused_naming_the_field(
    likelihood: object, consequence: object, field: str
) -> None:
    with pytest.raises(ScoreError) as caught:
        score(likelihood, consequence)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: must be a whole number from 1 to 5")


def test_a_prefix_names_the_target_fields() -> None:
    with pytest.raises(ScoreError, match=r"^target likelihood"):
        score(0, 1, prefix="target ")


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [((4, 4), (2, 4), True), ((4, 4), (4, 4), True), ((2, 3), (3, 3), False),
     ((1, 1), (1, 2), False), ((5, 5), (1, 1), True)],
)  # fmt: skip
def test_a_target_is_never_above_the_current_score(
    current: tuple[int, int], target: tuple[int, int], ok: bool
) -> None:
    if ok:
        check_target(RiskScore(*current), RiskScore(*target))
    else:
        with pytest.raises(ScoreError, match=r"^target score: .* is above the current score"):
            check_target(RiskScore(*current), RiskScore(*target))


@pytest.mark.parametrize(
    ("history", "expected"),
    [([12], Trend.new), ([8, 12], Trend.rising), ([12, 8], Trend.falling),
     ([12, 12], Trend.stable), ([20, 12, 16], Trend.rising), ([4, 25, 25], Trend.stable),
     ([16, 20, 15], Trend.falling)],
)  # fmt: skip
def test_trend_compares_the_latest_score_with_the_one_before(
    history: list[int], expected: Trend
) -> None:
    assert trend(history) is expected


def test_an_empty_history_has_no_trend() -> None:
    with pytest.raises(ScoreError, match="score history"):
        trend([])
