"""Disclosure control for anything public or exported in aggregate. Pure: no DB, no web.

The rules (DESIGN.md, Information governance; NHS Digital's small-number practice for
HES/ECDS, summarised in ``/work/shared/reference/nhs-rules.md``):

* a count of 1 to 7 is suppressed (shown as ``*``): *primary* suppression;
* every other count is rounded to the nearest 5. Counts are whole numbers, so there is no
  tie: a count whose remainder by 5 is 0, 1 or 2 goes down, 3 or 4 goes up (8 → 10,
  12 → 10, 13 → 15). This is round-half-up on the grid of fives, and it never moves a
  value by more than 2. A count of 8 or more never rounds to 5, so no published figure is
  ever in 1-7;
* zero is shown as 0. A true zero discloses nothing about any person, and the guidance
  suppresses 1-7, not 0;
* in a table with totals, *secondary* suppression hides further entries so that no
  suppressed entry can be worked out from the others by adding and subtracting.

Totals (row, column and grand) are computed from the true counts, then protected like any
other entry: a total of 1-7 is itself suppressed.

Secondary suppression works on the table bordered by its totals, in which every row and
every column is an additive line (the cells of a row plus its total; the column totals
plus the grand total; and so on). It guarantees:

1. no line has exactly one suppressed entry (otherwise the line's other entries give it
   away), and, stronger,
2. no suppressed entry is determined by any combination of lines. Treating rows and
   columns as the nodes of a graph and suppressed entries as its edges, an entry is
   determined exactly when its edge is a *bridge* (on no cycle); so suppression goes on
   until the graph has no bridge. Rule 1 alone is not enough: two separate 2 x 2
   blocks of suppressions joined through one further suppressed entry leave that entry
   recoverable.

Each secondary suppression is the smallest entry that repairs the first broken line
(or the first bridge), preferring a non-zero count over a zero (zeros are often known to
be structural, so hiding them protects nothing), an inner cell over a total, and an entry
that also repairs the crossing line. Published values are rounded besides, so even bounds
that non-negativity gives on a suppressed entry are blurred.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ROUNDING_BASE",
    "SMALL_MAX",
    "Protected",
    "ProtectedTable",
    "protect_count",
    "protect_series",
    "protect_table",
    "round_to_base",
]

SMALL_MAX = 7
ROUNDING_BASE = 5

SMALL = "small"
SECONDARY = "secondary"


@dataclass(frozen=True)
class Protected:
    """One published figure: a rounded count, or suppressed."""

    value: int | None
    suppressed: bool
    reason: str | None

    @property
    def text(self) -> str:
        """``*`` when suppressed, else the number with thousands separators."""
        if self.suppressed or self.value is None:
            return "*"
        return f"{self.value:,}"


@dataclass(frozen=True)
class ProtectedTable:
    """A protected grid of counts with its row, column and grand totals."""

    cells: tuple[tuple[Protected, ...], ...]
    row_totals: tuple[Protected, ...]
    column_totals: tuple[Protected, ...]
    grand_total: Protected

    @property
    def suppressed_count(self) -> int:
        """How many entries (cells and totals) are suppressed."""
        entries = [p for row in self.cells for p in row]
        entries += [*self.row_totals, *self.column_totals, self.grand_total]
        return sum(1 for p in entries if p.suppressed)


def round_to_base(n: int, base: int = ROUNDING_BASE) -> int:
    """``n`` (a count, not negative) rounded to the nearest multiple of ``base``, half up."""
    if n < 0:
        raise ValueError(f"counts cannot be negative (got {n})")
    return ((n + base // 2) // base) * base


def _check_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"counts must be integers (got {n!r})")
    if n < 0:
        raise ValueError(f"counts cannot be negative (got {n})")
    return n


def _published(n: int, reason: str | None) -> Protected:
    if reason is not None:
        return Protected(value=None, suppressed=True, reason=reason)
    return Protected(value=round_to_base(n), suppressed=False, reason=None)


def _is_small(n: int) -> bool:
    return 1 <= n <= SMALL_MAX


def protect_count(n: int) -> Protected:
    """A lone count with no totals: 1-7 suppressed, otherwise rounded to the nearest 5."""
    _check_count(n)
    return _published(n, SMALL if _is_small(n) else None)


def protect_series(values: Sequence[int]) -> ProtectedTable:
    """One row of counts with its total (its column totals repeat the cells)."""
    return protect_table([list(values)])


def protect_table(rows: Sequence[Sequence[int]]) -> ProtectedTable:
    """Protect a grid of counts together with its row, column and grand totals.

    Primary suppression of 1-7 (cells and totals), then secondary suppression until no
    suppressed entry can be recovered from the table's additive relations (see the
    module docstring), then rounding of everything else to the nearest 5.
    """
    grid = [[_check_count(n) for n in row] for row in rows]
    width = len(grid[0]) if grid else 0
    for number, row in enumerate(grid, start=1):
        if len(row) != width:
            raise ValueError(f"row {number} has {len(row)} counts; row 1 has {width}")
    height = len(grid)

    # The bordered grid: row `height` holds the column totals, column `width` the row
    # totals, and the corner the grand total. Each of its rows and columns is a line.
    bordered = [[*row, sum(row)] for row in grid]
    column_totals = [sum(grid[i][j] for i in range(height)) for j in range(width)]
    bordered.append([*column_totals, sum(column_totals)])

    reasons: dict[tuple[int, int], str] = {
        (i, j): SMALL
        for i in range(height + 1)
        for j in range(width + 1)
        if _is_small(bordered[i][j])
    }
    _suppress_secondary(bordered, reasons, height, width)

    def entry(i: int, j: int) -> Protected:
        return _published(bordered[i][j], reasons.get((i, j)))

    return ProtectedTable(
        cells=tuple(tuple(entry(i, j) for j in range(width)) for i in range(height)),
        row_totals=tuple(entry(i, width) for i in range(height)),
        column_totals=tuple(entry(height, j) for j in range(width)),
        grand_total=entry(height, width),
    )


# --------------------------------------------------------------------------- secondary

_Entry = tuple[int, int]


def _suppress_secondary(
    bordered: list[list[int]], reasons: dict[_Entry, str], height: int, width: int
) -> None:
    """Add secondary suppressions to ``reasons`` until no suppressed entry is recoverable."""
    rows = range(height + 1)
    columns = range(width + 1)

    def in_row(i: int) -> list[_Entry]:
        return [(i, j) for j in columns if (i, j) in reasons]

    def in_column(j: int) -> list[_Entry]:
        return [(i, j) for i in rows if (i, j) in reasons]

    def choose(candidates: list[_Entry]) -> _Entry:
        def cost(e: _Entry) -> tuple[bool, int, bool, bool, int, int]:
            i, j = e
            value = bordered[i][j]
            is_total = i == height or j == width
            # Suppressing an entry whose crossing line has exactly one suppression
            # repairs two lines at once.
            fixes_other = len(in_column(j)) == 1 or len(in_row(i)) == 1
            return (value == 0, value, is_total, not fixes_other, i, j)

        return min(candidates, key=cost)

    while True:
        lonely_line: list[_Entry] | None = None
        for i in rows:
            if len(in_row(i)) == 1:
                lonely_line = [(i, j) for j in columns if (i, j) not in reasons]
                break
        if lonely_line is None:
            for j in columns:
                if len(in_column(j)) == 1:
                    lonely_line = [(i, j) for i in rows if (i, j) not in reasons]
                    break
        if lonely_line is not None:
            # A line always has at least two entries (a cell and its total), so a line
            # with one suppression always has something left to suppress.
            reasons[choose(lonely_line)] = SECONDARY
            continue
        bridge = _find_bridge(set(reasons), height + 1, width + 1)
        if bridge is None:
            return
        reasons[choose(_cycle_closers(bridge, set(reasons)))] = SECONDARY


def _adjacency(
    edges: set[_Entry], n_rows: int, n_columns: int
) -> dict[int, list[tuple[int, _Entry]]]:
    # Node k < n_rows is row k; node n_rows + j is column j.
    adjacent: dict[int, list[tuple[int, _Entry]]] = {k: [] for k in range(n_rows + n_columns)}
    for i, j in sorted(edges):
        adjacent[i].append((n_rows + j, (i, j)))
        adjacent[n_rows + j].append((i, (i, j)))
    return adjacent


def _find_bridge(edges: set[_Entry], n_rows: int, n_columns: int) -> _Entry | None:
    """The first suppressed entry that lies on no cycle (Tarjan, iterative), or None."""
    adjacent = _adjacency(edges, n_rows, n_columns)
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    bridges: list[_Entry] = []
    counter = 0
    for root in adjacent:
        if root in order or not adjacent[root]:
            continue
        order[root] = low[root] = counter
        counter += 1
        # Stack of (node, edge used to reach it, iterator position).
        stack: list[tuple[int, _Entry | None, int]] = [(root, None, 0)]
        while stack:
            node, via, position = stack[-1]
            if position < len(adjacent[node]):
                stack[-1] = (node, via, position + 1)
                neighbour, edge = adjacent[node][position]
                if edge == via:
                    continue
                if neighbour in order:
                    low[node] = min(low[node], order[neighbour])
                else:
                    order[neighbour] = low[neighbour] = counter
                    counter += 1
                    stack.append((neighbour, edge, 0))
            else:
                stack.pop()
                if stack and via is not None:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        bridges.append(via)
    return min(bridges) if bridges else None


def _cycle_closers(bridge: _Entry, edges: set[_Entry]) -> list[_Entry]:
    """Unsuppressed entries that, suppressed, would put ``bridge`` on a cycle.

    Removing the bridge splits its component into the side of its row and the side of
    its column; any entry joining a row of one side to a column of the other closes a
    cycle through the bridge. When every line has 0 or ≥ 2 suppressions such an entry
    always exists and is unsuppressed (otherwise the bridge would not be one).
    """
    rest = edges - {bridge}
    row_side_rows, row_side_columns = _reach(rest, row=bridge[0])
    column_side_rows, column_side_columns = _reach(rest, column=bridge[1])
    candidates = [(i, j) for i in row_side_rows for j in column_side_columns]
    candidates += [(i, j) for i in column_side_rows for j in row_side_columns]
    return sorted(e for e in candidates if e not in edges)


def _reach(
    edges: set[_Entry], *, row: int | None = None, column: int | None = None
) -> tuple[set[int], set[int]]:
    """Rows and columns connected to the start row or column through ``edges``."""
    rows: set[int] = set() if row is None else {row}
    columns: set[int] = set() if column is None else {column}
    changed = True
    while changed:
        changed = False
        for i, j in edges:
            if (i in rows) != (j in columns):
                rows.add(i)
                columns.add(j)
                changed = True
    return rows, columns
