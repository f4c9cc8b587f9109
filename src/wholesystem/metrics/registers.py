"""Metrics from the operational registers (the database), not the lake.

Most of the catalogue is counted in the lake (:mod:`wholesystem.metrics.compute`); a few
measures are about how the system works, and their facts live in the registers the web
application keeps. Each is computed here into the same :class:`ComputedValue` rows, for
the same data cut-off, so one snapshot holds them all.

* ``place_decision_share``: of the decisions made (approved or ratified) in each quarter,
  the share a place board made (:func:`wholesystem.governance.metrics.decision_split`),
  for the system only. A quarter is counted once it has ended by the cut-off; quarters
  before the first decision, and quarters without any decision, have no value (a gap,
  not a zero: no decisions is not a 0% share).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wholesystem.governance.metrics import decision_split
from wholesystem.governance.models import DecisionVersion
from wholesystem.metrics.catalogue import Frequency, by_id
from wholesystem.metrics.compute import ComputedValue, metric_value

__all__ = ["REGISTER_METRICS", "quarters", "register_values"]

REGISTER_METRICS = ("place_decision_share",)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _next_quarter(start: date) -> date:
    month = start.month + 3
    return date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def quarters(first: date, cut_off: date) -> list[tuple[date, date]]:
    """(start, end) of each calendar quarter from ``first``'s to the last one ended by
    ``cut_off`` (empty when none has)."""
    out: list[tuple[date, date]] = []
    start = _quarter_start(first)
    while True:
        end = _next_quarter(start) - timedelta(days=1)
        if end > cut_off:
            return out
        out.append((start, end))
        start = _next_quarter(start)


def register_values(session: Session, system_code: str, cut_off: date) -> list[ComputedValue]:
    """Every register metric's values up to ``cut_off``."""
    metric = by_id("place_decision_share")
    assert metric.frequency is Frequency.quarterly
    first = session.scalar(select(func.min(DecisionVersion.decided_on)))
    if first is None:
        return []
    values: list[ComputedValue] = []
    for start, end in quarters(first, cut_off):
        split = decision_split(session, start, end)
        if split.total == 0:
            continue
        values.append(
            ComputedValue(
                metric_id=metric.id,
                area_code=system_code,
                area_kind="system",
                period=start,
                numerator=Decimal(split.place),
                denominator=Decimal(split.total),
                value=metric_value(metric, Decimal(split.place), Decimal(split.total)),
            )
        )
    return values
