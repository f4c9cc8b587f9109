"""Disclosure control: small-number suppression, rounding to 5 and secondary suppression.

Rules: NHS Digital small-number practice for HES/ECDS (counts 1-7 shown as *, other
sub-national counts rounded to the nearest 5, a second cell suppressed where a total would
reveal a suppressed one), as summarised in /work/shared/reference/nhs-rules.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wholesystem.access.disclosure import (
    Protected,
    ProtectedTable,
    protect_count,
    protect_series,
    protect_table,
    round_to_base,
)

# ---------------------------------------------------------------------------- single counts


@pytest.mark.parametrize(
    ("count", "value", "text"),
    [
        (0, 0, "0"),  # a true zero is shown
        (8, 10, "10"),  # 8 is 2 from 10, 3 from 5
        (9, 10, "10"),
        (10, 10, "10"),
        (11, 10, "10"),
        (12, 10, "10"),  # remainder 2: down
        (13, 15, "15"),  # remainder 3: up
        (14, 15, "15"),
        (17, 15, "15"),
        (18, 20, "20"),
        (999, 1000, "1,000"),
        (1002, 1000, "1,000"),
        (1_234_568, 1_234_570, "1,234,570"),
    ],
)
def test_counts_of_eight_or_more_round_to_the_nearest_five(
    count: int, value: int, text: str
) -> None:
    assert protect_count(count) == Protected(value=value, suppressed=False, reason=None)
    assert protect_count(count).text == text


@pytest.mark.parametrize("count", range(1, 8))
def test_counts_one_to_seven_are_suppressed(count: int) -> None:
    protected = protect_count(count)
    assert protected == Protected(value=None, suppressed=True, reason="small")
    assert protected.text == "*"


def test_rounding_is_half_up_on_the_grid_of_fives() -> None:
    assert [round_to_base(n) for n in range(0, 16)] == [
        0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10, 10, 10, 15, 15, 15,
    ]  # fmt: skip


@pytest.mark.parametrize("bad", [-1, -8])
def test_negative_counts_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        protect_count(bad)
    with pytest.raises(ValueError, match="negative"):
        protect_table([[10, bad]])


def test_non_integer_counts_are_refused() -> None:
    with pytest.raises(TypeError):
        protect_count(True)
    with pytest.raises(TypeError):
        protect_table([[1.5]])  # type: ignore[list-item]


def test_ragged_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 counts; row 1 has 2"):
        protect_table([[10, 20], [30]])


# ---------------------------------------------------------------------------- tables


def texts(table: ProtectedTable) -> list[list[str]]:
    """The table as published: each row with its total, then the totals row."""
    rows = [
        [p.text for p in row] + [total.text]
        for row, total in zip(table.cells, table.row_totals, strict=True)
    ]
    rows.append([p.text for p in table.column_totals] + [table.grand_total.text])
    return rows


def test_a_table_with_nothing_small_is_only_rounded() -> None:
    table = protect_table([[10, 22], [33, 48]])
    assert texts(table) == [["10", "20", "30"], ["35", "50", "80"], ["45", "70", "115"]]
    assert table.suppressed_count == 0


def test_a_small_cell_takes_the_next_smallest_in_its_row_and_column() -> None:
    # Row 1: 3 is small; 50 is the next smallest cell. Column 1: 20 is next smallest;
    # then row 2 has one suppression (20), and 30 (whose column already has one) fixes
    # row 2 and column 2 together.
    table = protect_table([[3, 50, 60], [20, 30, 40]])
    assert texts(table) == [
        ["*", "*", "60", "115"],
        ["*", "*", "40", "90"],
        ["25", "80", "100", "205"],
    ]
    assert table.cells[0][0].reason == "small"
    assert [table.cells[0][1].reason, table.cells[1][0].reason, table.cells[1][1].reason] == [
        "secondary",
        "secondary",
        "secondary",
    ]


def test_a_small_total_is_suppressed_and_protected_too() -> None:
    # Row 1 total 5 is small; the row's cells 2 and 3 are small too.
    table = protect_table([[2, 3], [40, 50]])
    published = texts(table)
    assert published[0] == ["*", "*", "*"]
    # Columns then each hold one suppression and need a second: the row 2 cells.
    assert published[1][:2] == ["*", "*"]
    assert_no_line_reveals(table)


def test_zero_is_never_chosen_while_a_non_zero_entry_can_be() -> None:
    table = protect_table([[5, 0, 20], [30, 40, 50]])
    assert table.cells[0][1] == Protected(value=0, suppressed=False, reason=None)
    assert table.cells[0][2].suppressed
    assert_no_line_reveals(table)


def test_a_zero_is_suppressed_when_nothing_else_can_protect_the_line() -> None:
    # Row 1 is [4, 0] with total 4: both 4s are small, so the row is safe; column 1 holds
    # 4 and needs a second suppression, and column 2 then the same.
    table = protect_table([[4, 0], [0, 0]])
    assert_no_line_reveals(table)
    assert_no_recoverable_entry(table)


def test_two_blocks_joined_by_one_entry_do_not_leave_that_entry_recoverable() -> None:
    # Two 2 x 2 blocks of small cells, each safe by itself. The line rule alone would
    # accept them; protection still holds because no entry is a bridge.
    rows = [
        [3, 3, 100, 100],
        [3, 3, 100, 100],
        [100, 100, 3, 3],
        [100, 100, 3, 3],
    ]
    table = protect_table(rows)
    assert_no_line_reveals(table)
    assert_no_recoverable_entry(table)


BRIDGED = [
    [3, 3, 100, 100, 100],
    [3, 3, 3, 100, 100],
    [100, 100, 3, 3, 100],
    [100, 100, 3, 3, 100],
    [100, 100, 100, 100, 100],
]


def _primary_only(rows: list[list[int]]) -> ProtectedTable:
    def p(n: int) -> Protected:
        return protect_count(n)

    truth = true_bordered(rows)
    return ProtectedTable(
        cells=tuple(tuple(p(n) for n in row[:-1]) for row in truth[:-1]),
        row_totals=tuple(p(row[-1]) for row in truth[:-1]),
        column_totals=tuple(p(n) for n in truth[-1][:-1]),
        grand_total=p(truth[-1][-1]),
    )


def test_the_line_rule_alone_leaves_a_bridge_recoverable() -> None:
    # Two 2 x 2 blocks of small cells joined by the small cell (1, 2): every line has 0
    # or at least 2 suppressions, yet (1, 2) is fixed by the equations.
    naive = _primary_only(BRIDGED)
    assert_no_line_reveals(naive)
    with pytest.raises(AssertionError, match=r"\(1, 2\) is recoverable"):
        assert_no_recoverable_entry(naive)


def test_a_bridge_between_two_safe_blocks_is_closed_by_a_secondary() -> None:
    table = protect_table(BRIDGED)
    assert_no_line_reveals(table)
    assert_no_recoverable_entry(table)
    secondary = [
        (i, j)
        for i, row in enumerate(table.cells)
        for j, p in enumerate(row)
        if p.reason == "secondary"
    ]
    assert len(secondary) == 1, secondary


def test_a_series_is_one_row_with_its_total() -> None:
    table = protect_series([3, 50, 60])
    assert [p.text for p in table.cells[0]] == ["*", "*", "60"]
    assert table.row_totals[0].text == "115"
    assert [p.text for p in table.column_totals] == ["*", "*", "60"]
    assert table.grand_total.text == "115"


def test_an_empty_table_has_a_zero_grand_total() -> None:
    table = protect_table([])
    assert table.cells == ()
    assert table.grand_total == Protected(value=0, suppressed=False, reason=None)


def test_a_table_of_zeros_is_published_as_zeros() -> None:
    table = protect_table([[0, 0], [0, 0]])
    assert texts(table) == [["0", "0", "0"]] * 3


def test_a_single_small_cell_table_suppresses_its_totals() -> None:
    table = protect_table([[5]])
    assert texts(table) == [["*", "*"], ["*", "*"]]


# ---------------------------------------------------------------------------- properties


def bordered(table: ProtectedTable) -> list[list[Protected]]:
    grid = [[*row, total] for row, total in zip(table.cells, table.row_totals, strict=True)]
    grid.append([*table.column_totals, table.grand_total])
    return grid


def true_bordered(rows: Sequence[Sequence[int]]) -> list[list[int]]:
    grid = [[*row, sum(row)] for row in rows]
    width = len(rows[0]) if rows else 0
    columns = [sum(row[j] for row in rows) for j in range(width)]
    grid.append([*columns, sum(columns)])
    return grid


def assert_no_line_reveals(table: ProtectedTable) -> None:
    grid = bordered(table)
    for i, line in enumerate(grid):
        count = sum(p.suppressed for p in line)
        assert count != 1, f"row {i} has exactly one suppressed entry"
    for j in range(len(grid[0])):
        count = sum(grid[i][j].suppressed for i in range(len(grid)))
        assert count != 1, f"column {j} has exactly one suppressed entry"


def _rank(matrix: list[list[int]]) -> int:
    """Rank over the rationals (exact, by fraction-free elimination)."""
    m = [row[:] for row in matrix]
    rank = 0
    columns = len(m[0]) if m else 0
    for c in range(columns):
        pivot = next((r for r in range(rank, len(m)) if m[r][c] != 0), None)
        if pivot is None:
            continue
        m[rank], m[pivot] = m[pivot], m[rank]
        for r in range(len(m)):
            if r != rank and m[r][c] != 0:
                f, g = m[r][c], m[rank][c]
                m[r] = [g * a - f * b for a, b in zip(m[r], m[rank], strict=True)]
        rank += 1
    return rank


def assert_no_recoverable_entry(table: ProtectedTable) -> None:
    """No suppressed entry is fixed by the additive relations (independent check by algebra).

    Unknowns are the suppressed entries; each row and column of the bordered grid gives
    one linear equation in them. An unknown is determined exactly when its unit vector lies
    in the row space of the equations, i.e. adding it does not raise the rank.
    """
    grid = bordered(table)
    unknowns = [(i, j) for i, line in enumerate(grid) for j, p in enumerate(line) if p.suppressed]
    if not unknowns:
        return
    height, width = len(grid), len(grid[0])
    equations: list[list[int]] = []
    for i in range(height):
        # cells of the row minus its total (the last entry)
        equations.append([(1 if j < width - 1 else -1) if ui == i else 0 for ui, j in unknowns])
    for j in range(width):
        equations.append([(1 if i < height - 1 else -1) if uj == j else 0 for i, uj in unknowns])
    base = _rank(equations)
    for k, entry in enumerate(unknowns):
        unit = [1 if n == k else 0 for n in range(len(unknowns))]
        assert _rank([*equations, unit]) > base, f"suppressed entry {entry} is recoverable"


counts = st.one_of(st.integers(0, 12), st.integers(0, 400))
tables = st.integers(1, 5).flatmap(
    lambda width: st.lists(st.lists(counts, min_size=width, max_size=width), min_size=1, max_size=5)
)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_no_published_figure_is_between_one_and_seven(rows: list[list[int]]) -> None:
    for line in bordered(protect_table(rows)):
        for p in line:
            assert p.suppressed or (p.value is not None and not 1 <= p.value <= 7)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_every_line_has_zero_or_at_least_two_suppressions(rows: list[list[int]]) -> None:
    assert_no_line_reveals(protect_table(rows))


@settings(max_examples=200, deadline=None)
@given(tables)
def test_no_suppressed_entry_can_be_recovered_by_algebra(rows: list[list[int]]) -> None:
    assert_no_recoverable_entry(protect_table(rows))


@settings(max_examples=300, deadline=None)
@given(tables)
def test_published_values_are_multiples_of_five_within_two(rows: list[list[int]]) -> None:
    table = protect_table(rows)
    truth = true_bordered(rows)
    for i, line in enumerate(bordered(table)):
        for j, p in enumerate(line):
            if p.suppressed:
                assert p.value is None
                assert p.reason in {"small", "secondary"}
                assert (p.reason == "small") == (1 <= truth[i][j] <= 7)
            else:
                assert p.value is not None
                assert p.value % 5 == 0
                assert abs(p.value - truth[i][j]) <= 2
                assert (p.value == 0) == (truth[i][j] == 0)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_small_entries_are_always_suppressed_and_the_result_is_deterministic(
    rows: list[list[int]],
) -> None:
    table = protect_table(rows)
    truth = true_bordered(rows)
    for i, line in enumerate(bordered(table)):
        for j, p in enumerate(line):
            if 1 <= truth[i][j] <= 7:
                assert p.suppressed
                assert p.reason == "small"
    assert protect_table(rows) == table


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000))
def test_a_lone_count_is_never_shown_between_one_and_seven(n: int) -> None:
    p = protect_count(n)
    if 1 <= n <= 7:
        assert p.suppressed
        assert p.text == "*"
    else:
        assert p.value is not None
        assert p.value % 5 == 0
        assert abs(p.value - n) <= 2


def test_secondary_suppression_is_minimal_for_a_single_small_cell() -> None:
    """One small cell in a big table costs exactly three secondaries (a 2 x 2 rectangle)."""
    rows = [[100 + 10 * i + j for j in range(4)] for i in range(4)]
    rows[2][1] = 4
    table = protect_table(rows)
    suppressed = [
        (i, j) for i, row in enumerate(table.cells) for j, p in enumerate(row) if p.suppressed
    ]
    assert len(suppressed) == 4
    assert {i for i, _ in suppressed} | {j for _, j in suppressed} <= {0, 1, 2, 3}
    # the rectangle's corners pair up
    rows_used = {i for i, _ in suppressed}
    cols_used = {j for _, j in suppressed}
    assert len(rows_used) == 2
    assert len(cols_used) == 2
    assert set(suppressed) == {(i, j) for i in rows_used for j in cols_used}
    assert not any(p.suppressed for p in table.row_totals + table.column_totals)
