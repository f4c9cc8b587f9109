"""The place/system split of decisions made: a dashboard metric (aim about 80/20)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from wholesystem.governance.models import Decision, DecisionStatus, DecisionVersion

__all__ = ["DecisionSplit", "decision_split"]

_MADE = (DecisionStatus.made.value, DecisionStatus.ratified.value)


@dataclass(frozen=True)
class DecisionSplit:
    start: date
    end: date
    place: int
    system: int

    @property
    def total(self) -> int:
        return self.place + self.system

    @property
    def place_share(self) -> Decimal | None:
        """Share made at place (0 to 1, four places), None when nothing was decided."""
        if self.total == 0:
            return None
        return (Decimal(self.place) / Decimal(self.total)).quantize(Decimal("0.0001"))


def decision_split(session: Session, start: date, end: date) -> DecisionSplit:
    """Decisions approved with ``start <= decided_on <= end``, by the level that made them.

    Counts each decision once, by its current version; rejected and withdrawn ones are
    not decisions made.
    """
    if end < start:
        raise ValueError("the period ends before it starts")
    rows = (
        session.execute(
            select(DecisionVersion.routed_level)
            .join(
                Decision,
                and_(
                    Decision.id == DecisionVersion.decision_id,
                    Decision.latest_version == DecisionVersion.version,
                ),
            )
            .where(
                DecisionVersion.status.in_(_MADE),
                DecisionVersion.decided_on >= start,
                DecisionVersion.decided_on <= end,
            )
        )
        .scalars()
        .all()
    )
    return DecisionSplit(
        start, end, sum(1 for r in rows if r == "place"), sum(1 for r in rows if r == "system")
    )
