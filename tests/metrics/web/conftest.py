"""Published snapshots for the dashboard tests.

Written through the compute helper's ``write_snapshot`` (the same path a publish takes).
The values are made up to exercise the pages: a failing A&E series with special-cause
concern, population metrics for every level of the small footprint (with small counts at
neighbourhood level for disclosure control), a count metric of small numbers, money.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal

import pytest

from tests.web.conftest import (  # noqa: F401 (fixtures)
    app_settings,
    client,
    csrf_from,
    sign_in,
)
from wholesystem.config import Settings
from wholesystem.metrics.compute import ComputedValue
from wholesystem.metrics.pipeline import write_snapshot
from wholesystem.store.db import make_engine, make_session_factory, session_scope

Row = tuple[str, str, str, date, Decimal | None, Decimal | None, Decimal | None]
WriteSnapshot = Callable[..., int]


def months(n: int, start: date = date(2024, 4, 1)) -> list[date]:
    out = []
    y, m = start.year, start.month
    for _ in range(n):
        out.append(date(y, m, 1))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


PERIODS = months(24)

# A&E 4-hour at the acute trust: common cause around 80%, then three months far below.
AE_PCT = [
    80,
    81,
    79,
    82,
    80,
    81,
    79,
    80,
    82,
    81,
    80,
    79,
    81,
    80,
    82,
    80,
    79,
    81,
    80,
    81,
    80,
    70,
    69,
    68,
]


def rate_rows(
    metric: str, area: str, kind: str, nums: Iterable[int], dens: Iterable[int], scale: int
) -> list[Row]:
    rows: list[Row] = []
    for period, n, d in zip(PERIODS, nums, dens, strict=False):
        value = Decimal(n) / Decimal(d) * scale if d else None
        rows.append((metric, area, kind, period, Decimal(n), Decimal(d), value))
    return rows


def sample_rows() -> list[Row]:
    rows: list[Row] = []
    # ae_4hr: organisation RA1 and the system (the same attendances).
    dens = [1000 + 10 * i for i in range(24)]
    nums = [round(d * p / 100) for d, p in zip(dens, AE_PCT, strict=True)]
    rows += rate_rows("ae_4hr", "RA1", "organisation", nums, dens, 100)
    rows += rate_rows("ae_4hr", "QXX", "system", nums, dens, 100)
    # emergency admissions per 1,000: practices add up to neighbourhoods, places, system.
    practice_pop = {"A00001": 8000, "A00002": 7500, "A00003": 9100}
    base = {"A00001": 60, "A00002": 3, "A00003": 70}
    by_area: dict[str, tuple[list[int], list[int], str]] = {}
    for code, pop in practice_pop.items():
        nums_p = [base[code] + (i % 3) for i in range(24)]
        by_area[code] = (nums_p, [pop] * 24, "practice")
    tree = {"U00001": ["A00001", "A00002"], "U00002": ["A00003"]}
    for hood, practices in tree.items():
        by_area[hood] = (
            [sum(by_area[p][0][i] for p in practices) for i in range(24)],
            [sum(by_area[p][1][i] for p in practices) for i in range(24)],
            "neighbourhood",
        )
    by_area["PL1"] = (by_area["U00001"][0], by_area["U00001"][1], "place")
    by_area["PL2"] = (by_area["U00002"][0], by_area["U00002"][1], "place")
    by_area["QXX"] = (
        [a + b for a, b in zip(by_area["PL1"][0], by_area["PL2"][0], strict=True)],
        [a + b for a, b in zip(by_area["PL1"][1], by_area["PL2"][1], strict=True)],
        "system",
    )
    for code, (n, d, kind) in by_area.items():
        rows += rate_rows("emergency_admissions_rate", code, kind, n, d, 1000)
    # Out-of-area placements: a count of small numbers at the mental health trust.
    for i, period in enumerate(PERIODS):
        n = Decimal([3, 0, 5, 2, 9, 1][i % 6])
        rows.append(("mh_out_of_area", "RC1", "organisation", period, n, None, n))
        rows.append(("mh_out_of_area", "QXX", "system", period, n, None, n))
    # Money: the acute trust's year-to-date position against plan.
    for i, period in enumerate(PERIODS):
        amount = Decimal(-250000 - 10000 * i)
        rows.append(("finance_ytd_variance", "RA1", "organisation", period, amount, None, amount))
    return rows


@pytest.fixture
def snapshot_writer(app_settings: Settings) -> Iterable[WriteSnapshot]:  # noqa: F811
    engine = make_engine(app_settings.resolved_database_url)
    factory = make_session_factory(engine)

    def write(
        rows: list[Row] | None = None,
        *,
        published_by: str = "analyst",
        cut_off: date = PERIODS[-1],
        note: str = "",
    ) -> int:
        data = sample_rows() if rows is None else rows
        with session_scope(factory) as s:
            info = write_snapshot(
                s,
                [ComputedValue(*row) for row in data],
                actor=published_by,
                data_cut_off=cut_off,
                note=note,
            )
        return info.id

    yield write
    engine.dispose()
