"""The public dashboard: no sign-in, and no person count between 1 and 7 anywhere on it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.metrics.web.conftest import PERIODS, Row, WriteSnapshot
from wholesystem.access.disclosure import Protected
from wholesystem.metrics.public import _Line, protect_tree

SignIn = Callable[[str], TestClient]
COUNT_COLUMNS = ("numerator", "denominator")


class _Cells(HTMLParser):
    """Text of every public table cell marked as a count (``ws-count``), row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag == "td" and "ws-count" in classes:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _count_cells(html: str) -> list[list[list[str]]]:
    parser = _Cells()
    parser.feed(html)
    return parser.tables


def _small(text: str) -> bool:
    cleaned = text.replace(",", "").strip()
    return bool(re.fullmatch(r"\d+", cleaned)) and 1 <= int(cleaned) <= 7


def _rate_rows(metric: str, area: str, kind: str, nums: list[int], dens: list[int]) -> list[Row]:
    return [
        (
            metric,
            area,
            kind,
            period,
            Decimal(n),
            Decimal(d),
            Decimal(n) * 1000 / Decimal(d) if d else None,
        )
        for period, n, d in zip(PERIODS, nums, dens, strict=False)
    ]


def _hierarchy(
    practice_nums: dict[str, list[int]], practice_dens: dict[str, list[int]]
) -> list[Row]:
    """Practice counts rolled up the small footprint, as the compute step rolls them up."""
    tree = {"U00001": ["A00001", "A00002"], "U00002": ["A00003"]}
    places = {"PL1": "U00001", "PL2": "U00002"}
    n = len(next(iter(practice_nums.values())))
    nums: dict[str, list[int]] = dict(practice_nums)
    dens: dict[str, list[int]] = dict(practice_dens)
    for hood, practices in tree.items():
        nums[hood] = [sum(nums[p][i] for p in practices) for i in range(n)]
        dens[hood] = [sum(dens[p][i] for p in practices) for i in range(n)]
    for place, hood in places.items():
        nums[place], dens[place] = nums[hood], dens[hood]
    nums["QXX"] = [nums["PL1"][i] + nums["PL2"][i] for i in range(n)]
    dens["QXX"] = [dens["PL1"][i] + dens["PL2"][i] for i in range(n)]
    kinds = {"QXX": "system", "PL1": "place", "PL2": "place", "U00001": "neighbourhood"}
    kinds |= {"U00002": "neighbourhood", "A00001": "practice", "A00002": "practice"}
    kinds["A00003"] = "practice"
    rows: list[Row] = []
    for code, kind in kinds.items():
        rows += _rate_rows("emergency_admissions_rate", code, kind, nums[code], dens[code])
    return rows


PUBLIC_PATHS = [
    "/public/dashboard",
    "/public/dashboard?area=PL1",
    "/public/dashboard?area=PL2",
    "/public/dashboard?area=U00001",
    "/public/dashboard?area=U00002",
    "/public/dashboard?area=RC1",
    "/public/dashboard/metrics/emergency_admissions_rate",
    "/public/dashboard/metrics/emergency_admissions_rate?area=PL1",
    "/public/dashboard/metrics/emergency_admissions_rate?area=PL2",
    "/public/dashboard/metrics/emergency_admissions_rate?area=U00001",
    "/public/dashboard/metrics/mh_out_of_area",
    "/public/dashboard/metrics/mh_out_of_area?area=RC1",
]


def _check_public_output(client: TestClient) -> None:
    for path in PUBLIC_PATHS:
        page = client.get(path)
        assert page.status_code == 200, path
        for table in _count_cells(page.text):
            for row in table:
                assert not any(_small(c) for c in row), (path, row)
        base, _, query = path.partition("?")
        csv_path = base + ".csv" + (f"?{query}" if query else "")
        response = client.get(csv_path)
        assert response.status_code == 200, csv_path
        for record in csv.DictReader(io.StringIO(response.text)):
            cells = [record[c] for c in COUNT_COLUMNS]
            if record["unit"] == "count":
                cells.append(record["value"])
            assert not any(_small(c) for c in cells), (csv_path, record)


counts = st.lists(st.integers(0, 40), min_size=3, max_size=3)


@hsettings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    a=counts,
    b=counts,
    c=counts,
    pops=st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60)),
    placements=st.lists(st.integers(0, 12), min_size=3, max_size=3),
)
def test_no_public_table_or_csv_reveals_a_count_from_1_to_7(
    client: TestClient,
    snapshot_writer: WriteSnapshot,
    a: list[int],
    b: list[int],
    c: list[int],
    pops: tuple[int, int, int],
    placements: list[int],
) -> None:
    """Over random snapshot contents, the published HTML and CSV never show 1 to 7 where a
    count of people stands (numerators, denominators, a count metric's value)."""
    nums = {"A00001": a, "A00002": b, "A00003": c}
    dens = {code: [pops[i]] * 3 for i, code in enumerate(nums)}
    rows = _hierarchy(nums, dens)
    for period, n in zip(PERIODS, placements, strict=False):
        rows.append(("mh_out_of_area", "RC1", "organisation", period, Decimal(n), None, Decimal(n)))
        rows.append(("mh_out_of_area", "QXX", "system", period, Decimal(n), None, Decimal(n)))
    snapshot_writer(rows, cut_off=PERIODS[2])
    _check_public_output(client)


def test_public_pages_need_no_sign_in_and_suppress_and_round(
    client: TestClient, snapshot_writer: WriteSnapshot
) -> None:
    snapshot_writer()  # the sample: small practice counts, out-of-area placements of 0-9
    page = client.get("/public/dashboard/metrics/mh_out_of_area", follow_redirects=False)
    assert page.status_code == 200
    assert "Sign out" not in page.text
    cells = [row for table in _count_cells(page.text) for row in table if row]
    flat = [c for row in cells for c in row]
    assert "*" in flat  # 3, 5, 2, 1 suppressed
    assert "10" in flat  # 9 rounded to 10
    # The money metric is shown exactly (not a count of people), and says why.
    money = client.get("/public/dashboard/metrics/finance_ytd_variance?area=RA1").text
    assert "not counts of people" in money
    assert "-£480k" in money
    # Rates come from the published counts: 65 / 15,500 x 1,000 = 4.19 (the true 62 gives 4.0).
    place = client.get("/public/dashboard/metrics/emergency_admissions_rate?area=PL1").text
    assert ">4.2<" in place
    assert client.get("/public/dashboard?area=A00001").status_code == 404  # below the lowest level
    assert 'data-testid="snapshot-stamp"' in place
    assert 'data-testid="data-as-at"' in place


def test_public_dashboard_without_a_snapshot_is_a_clear_404(client: TestClient) -> None:
    response = client.get("/public/dashboard")
    assert response.status_code == 404
    assert "No dashboard has been published yet" in response.text


def _p(value: int | None) -> Protected:
    return Protected(value=value, suppressed=value is None, reason=None)


def test_linked_tables_close_suppression_across_levels() -> None:
    """A place hidden in the system's table is hidden as the total of its own table too,
    and one more of its neighbourhoods goes so that the hidden place cannot be rebuilt."""
    counts = {"S": 40, "P1": 5, "P2": 35, "~S": 0, "N1": 3, "N2": 2, "~P1": 0}
    lines = [_Line("S", ("P1", "P2", "~S")), _Line("P1", ("N1", "N2", "~P1"))]
    out = protect_tree(counts, lines)
    assert out["P1"].suppressed
    assert out["N1"].suppressed
    assert out["N2"].suppressed
    # In the system's line, P1 hidden alone would be S - P2: a second entry is hidden.
    assert sum(out[k].suppressed for k in ("S", "P1", "P2", "~S")) >= 2
    assert all(p.value is None or p.value % 5 == 0 for p in out.values())


def test_a_bridge_across_tables_is_closed() -> None:
    """Small counts in both tables (~S = 5, N1 = 6): each table hides a second entry, and
    the place (P1) hidden in the system's table is hidden as its own table's total, so no
    line of either table is left with exactly one hidden entry."""
    counts = {"S": 100, "P1": 20, "P2": 75, "~S": 5, "N1": 6, "N2": 14, "~P1": 0}
    lines = [_Line("S", ("P1", "P2", "~S")), _Line("P1", ("N1", "N2", "~P1"))]
    out = protect_tree(counts, lines)
    hidden = {k for k, p in out.items() if p.suppressed}
    assert {"~S", "N1"} <= hidden
    for line in lines:
        members = [line.total, *line.members]
        assert sum(k in hidden for k in members) != 1


def test_protect_tree_with_no_small_counts_only_rounds() -> None:
    counts = {"S": 101, "P1": 52, "P2": 49, "~S": 0}
    out = protect_tree(counts, [_Line("S", ("P1", "P2", "~S"))])
    assert [out[k].value for k in ("S", "P1", "P2", "~S")] == [100, 50, 50, 0]
    assert not any(p.suppressed for p in out.values())
