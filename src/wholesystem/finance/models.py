"""Open-book ledger tables: versioned monthly returns, control totals, transfer sets,
contracts and settlements.

Nothing here is ever overwritten: a resubmission is a new ``finance_submission`` row with
the next version number, a transfer set's approval or rejection is a new
``finance_transfer_event`` row, a changed control total is a new ``finance_control_total``
row (the latest by ``set_at`` counts), a changed contracts file is a new
``finance_contract_set`` version and a settlement is written once and never changed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from wholesystem.store.db import Base, UTCDateTime, utcnow

__all__ = [
    "ContractSetVersion",
    "ControlTotal",
    "FinanceSubmission",
    "Money",
    "SettlementLineRecord",
    "SettlementProposal",
    "SettlementRun",
    "StoredContract",
    "SubmissionLine",
    "TransferEvent",
    "TransferLeg",
    "TransferSet",
]

PENNY = Decimal("0.01")
MONEY_PRECISION = 18


class Money(TypeDecorator[Decimal]):
    """Pounds and pence, exact on every backend.

    PostgreSQL stores NUMERIC(18, 2). SQLite has no exact decimal type (NUMERIC affinity
    turns text into a binary float), so there the amount is stored as its canonical text.
    """

    impl = Numeric(MONEY_PRECISION, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(MONEY_PRECISION + 3))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value).quantize(PENNY)
        return format(exact, "f") if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value if isinstance(value, (str, Decimal)) else str(value)).quantize(PENNY)


class FinanceSubmission(Base):
    """One version of one organisation's monthly return (plan, actual, forecast per line).

    ``received_on`` is the date the return counts as received for the due-date rule; it is
    the date of ``submitted_at`` except for history backfilled from a returns file, which
    says so in ``source`` and ``note``.
    """

    __tablename__ = "finance_submission"
    __table_args__ = (
        UniqueConstraint("org_code", "period", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("source IN ('upload', 'form', 'returns', 'backfill')", name="source_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(16), index=True)
    period: Mapped[date] = mapped_column(Date, index=True)  # first day of the month
    version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_on: Mapped[date] = mapped_column(Date)
    submitted_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class SubmissionLine(Base):
    """One account line of one submission version."""

    __tablename__ = "finance_submission_line"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("finance_submission.id"), primary_key=True
    )
    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    plan: Mapped[Decimal] = mapped_column(Money())
    actual: Mapped[Decimal] = mapped_column(Money())
    forecast: Mapped[Decimal] = mapped_column(Money())


class ControlTotal(Base):
    """A partner's control total (planned surplus, negative a deficit) for a financial year.

    ``financial_year`` is the calendar year the year starts in (2024 is 2024/25). The latest
    row by ``set_at`` for an organisation and year applies; without one, the plan applies.
    """

    __tablename__ = "finance_control_total"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(16), index=True)
    financial_year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money())
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    set_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class TransferSet(Base):
    """A set of money movements between organisations, net-neutral for the system."""

    __tablename__ = "finance_transfer_set"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    financial_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    note: Mapped[str] = mapped_column(Text, default="")


class TransferLeg(Base):
    """One organisation's part in a transfer set: positive receives, negative pays."""

    __tablename__ = "finance_transfer_leg"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("finance_transfer_set.id"), index=True)
    org_code: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money())
    memo: Mapped[str] = mapped_column(Text, default="")


class TransferEvent(Base):
    """What happened to a transfer set: proposed, approved or rejected, by whom and when."""

    __tablename__ = "finance_transfer_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("finance_transfer_set.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class ContractSetVersion(Base):
    """One version of the system's contracts file: its text, hash, who loaded it and when.

    The latest version is the current one. The TOML text is kept whole, so every earlier
    version can be read (and re-settled) exactly as it was loaded.
    """

    __tablename__ = "finance_contract_set"
    __table_args__ = (
        UniqueConstraint("version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_text: Mapped[str] = mapped_column(Text)
    contract_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class StoredContract(Base):
    """One contract of one contracts-file version (its page is ``/finance/contracts/{id}``)."""

    __tablename__ = "finance_contract"
    __table_args__ = (UniqueConstraint("set_id", "contract_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("finance_contract_set.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order in the file
    contract_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    commissioner: Mapped[str | None] = mapped_column(String(16), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(16), nullable=True)
    mechanisms: Mapped[str] = mapped_column(String(200))  # comma-separated, file order


class SettlementRun(Base):
    """A settlement of one contracts version on measured values for a period (immutable).

    ``inputs_sha256`` covers the contracts text, the actuals text and the period, so running
    the same settlement again finds this row instead of adding another.
    """

    __tablename__ = "finance_settlement"
    __table_args__ = (
        UniqueConstraint("inputs_sha256"),
        CheckConstraint("period_from <= period_to", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_set_id: Mapped[int] = mapped_column(ForeignKey("finance_contract_set.id"), index=True)
    period_from: Mapped[date] = mapped_column(Date)  # first day of the first month
    period_to: Mapped[date] = mapped_column(Date)  # first day of the last month
    financial_year: Mapped[int] = mapped_column(Integer)
    actuals_file_name: Mapped[str] = mapped_column(String(200))
    actuals_text: Mapped[str] = mapped_column(Text)
    actuals_sha256: Mapped[str] = mapped_column(String(64))
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class SettlementLineRecord(Base):
    """One party's amount in one component of a stored settlement."""

    __tablename__ = "finance_settlement_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("finance_settlement.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # component order, then party order
    contract_id: Mapped[str] = mapped_column(String(64))
    component_id: Mapped[str] = mapped_column(String(64))
    mechanism: Mapped[str] = mapped_column(String(32))
    transfer: Mapped[bool] = mapped_column(Boolean)
    party: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money())
    component_total: Mapped[Decimal] = mapped_column(Money())
    workings: Mapped[str] = mapped_column(Text)
    notices: Mapped[str] = mapped_column(Text, default="")  # one a line


class SettlementProposal(Base):
    """A stored settlement proposed as a transfer set (its approval is the set's)."""

    __tablename__ = "finance_settlement_proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("finance_settlement.id"), index=True)
    transfer_set_id: Mapped[int] = mapped_column(ForeignKey("finance_transfer_set.id"), unique=True)
    pool_host: Mapped[str | None] = mapped_column(String(16), nullable=True)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    proposed_by: Mapped[str] = mapped_column(String(64))
