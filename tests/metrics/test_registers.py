"""Metrics from the registers: the place/system split of decisions, by quarter."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from tests.governance.conftest import factory, session  # noqa: F401 (fixtures)
from wholesystem.governance.demo import load_demo_governance
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
    # the demo's decisions were made at place, 20-23 days before 1 May 2026 (April)
    load_demo_governance(session, now=datetime(2026, 5, 1, 10, tzinfo=UTC))
    session.commit()
    assert register_values(session, "QXX", D(2026, 5, 31)) == []  # quarter not ended
    [value] = register_values(session, "QXX", D(2026, 6, 30))
    assert (value.metric_id, value.area_code, value.area_kind, value.period) == (
        "place_decision_share",
        "QXX",
        "system",
        D(2026, 4, 1),
    )
    assert (value.numerator, value.denominator, value.value) == (
        Decimal(4),
        Decimal(4),
        Decimal("100.000000"),
    )
