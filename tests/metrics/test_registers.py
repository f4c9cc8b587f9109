"""Metrics from the registers: the place/system split of decisions, by quarter."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from tests.governance.conftest import factory, session  # noqa: F401 (fixtures)
from wholesystem.governance.demo import HISTORY, load_demo_governance
from wholesystem.metrics.catalogue import CATALOGUE
from wholesystem.metrics.registers import REGISTER_METRICS, quarters, register_values

D = date


@pytest.mark.parametrize(
    ("first", "cut_off", "expected"),
    [
        # a quarter counts once it has ended by the cut-off
        (D(2026, 4, 11), D(2026, 6, 29), []),
        (D(2026, 4, 11), D(2026, 6, 30), [(D(2026, 4, 1), D(2026, 6, 30))]),
        (
            D(2025, 12, 31),
            D(2026, 7, 1),
            [
                (D(2025, 10, 1), D(2025, 12, 31)),
                (D(2026, 1, 1), D(2026, 3, 31)),
                (D(2026, 4, 1), D(2026, 6, 30)),
            ],
        ),
        (D(2026, 1, 1), D(2025, 12, 31), []),
    ],
)
def test_quarters(first: date, cut_off: date, expected: list[tuple[date, date]]) -> None:
    assert quarters(first, cut_off) == expected


def test_register_metrics_are_in_the_catalogue() -> None:
    assert set(REGISTER_METRICS) <= {m.id for m in CATALOGUE}


def test_place_decision_share_from_the_demo_register(session: Session) -> None:  # noqa: F811
    assert register_values(session, "QXX", D(2026, 12, 31)) == []  # nothing decided yet
    # the demo's history: HISTORY per quarter for the eight quarters before May 2026's,
    # then four decisions at place in April 2026
    load_demo_governance(session, now=datetime(2026, 5, 1, 10, tzinfo=UTC))
    session.commit()
    values = register_values(session, "QXX", D(2026, 5, 31))  # the April quarter not ended
    assert len(values) == len(HISTORY)
    assert [(v.numerator, v.denominator) for v in values] == [
        (Decimal(p), Decimal(p + s)) for p, s in HISTORY
    ]
    assert {(v.metric_id, v.area_code, v.area_kind) for v in values} == {
        ("place_decision_share", "QXX", "system")
    }
    assert values[0].period == D(2024, 4, 1)
    assert values[-1].period == D(2026, 1, 1)
    assert values[1].value == Decimal("75.000000")  # 3 of 4
    [april] = register_values(session, "QXX", D(2026, 6, 30))[-1:]
    assert (april.period, april.numerator, april.denominator, april.value) == (
        D(2026, 4, 1),
        Decimal(4),
        Decimal(4),
        Decimal("100.000000"),
    )
