"""System plan and shared risk register tables.

The plan is versioned: ``gov_plan_version`` rows are drafts until published, and a published
version and everything in it (priorities, objectives, metrics, milestones) is immutable in
the database itself (triggers in migration 0011 refuse INSERT, UPDATE and DELETE that touch a
published version). A revision is a new version. Every child row carries ``version_id`` so
the triggers need one lookup, however deep the row.

Risks keep their score history in ``gov_risk_score``, append-only (triggers refuse UPDATE
and DELETE): a re-score is a new row, so the trend is always computable.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wholesystem.metrics.models import ExactDecimal
from wholesystem.store.db import Base, UTCDateTime

__all__ = [
    "ObjectiveLevel",
    "PlanMetric",
    "PlanMilestone",
    "PlanObjective",
    "PlanPriority",
    "PlanStatus",
    "PlanVersion",
    "Risk",
    "RiskAction",
    "RiskControl",
    "RiskObjective",
    "RiskScoreRow",
]


class PlanStatus(StrEnum):
    draft = "draft"
    published = "published"


class ObjectiveLevel(StrEnum):
    """Where the work is done: across the whole system, or by one place."""

    system = "system"
    place = "place"


class PlanVersion(Base):
    """One version of the system plan."""

    __tablename__ = "gov_plan_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    vision: Mapped[str] = mapped_column(Text)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    change_note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class PlanPriority(Base):
    """A priority of one plan version."""

    __tablename__ = "gov_plan_priority"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_plan_version.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)


class PlanObjective(Base):
    """An objective under a priority; ``ref`` is stable across versions (risks link to it)."""

    __tablename__ = "gov_plan_objective"
    __table_args__ = (UniqueConstraint("version_id", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_plan_version.id"), index=True)
    priority_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_plan_priority.id"))
    ref: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    place_code: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("area.code"), nullable=True
    )
    owner_org_code: Mapped[str] = mapped_column(String(16), ForeignKey("organisation.code"))
    owner_person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))


class PlanMetric(Base):
    """A catalogue metric that measures an objective."""

    __tablename__ = "gov_plan_metric"
    __table_args__ = (UniqueConstraint("objective_id", "metric_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_plan_version.id"), index=True)
    objective_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("gov_plan_objective.id"), index=True
    )
    metric_id: Mapped[str] = mapped_column(String(64))


class PlanMilestone(Base):
    """One point of a metric's trajectory: the target value by a date."""

    __tablename__ = "gov_plan_milestone"
    __table_args__ = (UniqueConstraint("plan_metric_id", "due_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_plan_version.id"), index=True)
    plan_metric_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("gov_plan_metric.id"), index=True
    )
    due_on: Mapped[date] = mapped_column(Date)
    target: Mapped[Decimal] = mapped_column(ExactDecimal())


class Risk(Base):
    """A shared system risk; its scores live in ``gov_risk_score``."""

    __tablename__ = "gov_risk"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    owner_org_code: Mapped[str] = mapped_column(
        String(16), ForeignKey("organisation.code"), index=True
    )
    owner_person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    target_likelihood: Mapped[int] = mapped_column(Integer)
    target_consequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open, closed
    opened_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    # Set together when the risk is closed; a closed risk stays in the register, readable.
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closing_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class RiskScoreRow(Base):
    """One scoring of a risk (append-only)."""

    __tablename__ = "gov_risk_score"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_risk.id"), index=True)
    likelihood: Mapped[int] = mapped_column(Integer)
    consequence: Mapped[int] = mapped_column(Integer)
    scored_on: Mapped[date] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class RiskControl(Base):
    """A control in place on a risk."""

    __tablename__ = "gov_risk_control"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_risk.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(String(64))


class RiskAction(Base):
    """An action to bring a risk to its target, with an owner and a due date."""

    __tablename__ = "gov_risk_action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_risk.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_person_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_person.id"))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(String(64))


class RiskObjective(Base):
    """A link from a risk to a plan objective, by the objective's stable ``ref``."""

    __tablename__ = "gov_risk_objective"
    __table_args__ = (UniqueConstraint("risk_id", "objective_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int] = mapped_column(Integer, ForeignKey("gov_risk.id"), index=True)
    objective_ref: Mapped[str] = mapped_column(String(16))
