"""Finance: contracts and settlements stored in the database.

Revision ID: 0012_finance_contracts
Revises: 0011_governance_plan

A contracts file is stored whole as a version (``finance_contract_set``) with one row per
contract; a settlement is stored once with each party's amount per component, and its
proposal as a transfer set is a row of ``finance_settlement_proposal``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.finance.models import Money
from wholesystem.store.db import UTCDateTime

revision: str = "0012_finance_contracts"
down_revision: str | None = "0011_governance_plan"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_contract_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("contract_count", sa.Integer(), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_finance_contract_set_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_contract_set")),
        sa.UniqueConstraint("version", name=op.f("uq_finance_contract_set_version")),
    )
    op.create_index(
        op.f("ix_finance_contract_set_sha256"), "finance_contract_set", ["sha256"], unique=False
    )
    op.create_table(
        "finance_contract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("commissioner", sa.String(length=16), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("mechanisms", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["finance_contract_set.id"],
            name=op.f("fk_finance_contract_set_id_finance_contract_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_contract")),
        sa.UniqueConstraint("set_id", "contract_id", name=op.f("uq_finance_contract_set_id")),
    )
    op.create_index(
        op.f("ix_finance_contract_set_id"), "finance_contract", ["set_id"], unique=False
    )
    op.create_table(
        "finance_settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_set_id", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("actuals_file_name", sa.String(length=200), nullable=False),
        sa.Column("actuals_text", sa.Text(), nullable=False),
        sa.Column("actuals_sha256", sa.String(length=64), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("run_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "period_from <= period_to", name=op.f("ck_finance_settlement_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["contract_set_id"],
            ["finance_contract_set.id"],
            name=op.f("fk_finance_settlement_contract_set_id_finance_contract_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_settlement")),
        sa.UniqueConstraint("inputs_sha256", name=op.f("uq_finance_settlement_inputs_sha256")),
    )
    op.create_index(
        op.f("ix_finance_settlement_contract_set_id"),
        "finance_settlement",
        ["contract_set_id"],
        unique=False,
    )
    op.create_table(
        "finance_settlement_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=False),
        sa.Column("component_id", sa.String(length=64), nullable=False),
        sa.Column("mechanism", sa.String(length=32), nullable=False),
        sa.Column("transfer", sa.Boolean(), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("component_total", Money(), nullable=False),
        sa.Column("workings", sa.Text(), nullable=False),
        sa.Column("notices", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["finance_settlement.id"],
            name=op.f("fk_finance_settlement_line_settlement_id_finance_settlement"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_settlement_line")),
    )
    op.create_index(
        op.f("ix_finance_settlement_line_settlement_id"),
        "finance_settlement_line",
        ["settlement_id"],
        unique=False,
    )
    op.create_table(
        "finance_settlement_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settlement_id", sa.Integer(), nullable=False),
        sa.Column("transfer_set_id", sa.Integer(), nullable=False),
        sa.Column("pool_host", sa.String(length=16), nullable=True),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["finance_settlement.id"],
            name=op.f("fk_finance_settlement_proposal_settlement_id_finance_settlement"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_set_id"],
            ["finance_transfer_set.id"],
            name=op.f("fk_finance_settlement_proposal_transfer_set_id_finance_transfer_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_settlement_proposal")),
        sa.UniqueConstraint(
            "transfer_set_id", name=op.f("uq_finance_settlement_proposal_transfer_set_id")
        ),
    )
    op.create_index(
        op.f("ix_finance_settlement_proposal_settlement_id"),
        "finance_settlement_proposal",
        ["settlement_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_finance_settlement_proposal_settlement_id"),
        table_name="finance_settlement_proposal",
    )
    op.drop_table("finance_settlement_proposal")
    op.drop_index(
        op.f("ix_finance_settlement_line_settlement_id"), table_name="finance_settlement_line"
    )
    op.drop_table("finance_settlement_line")
    op.drop_index(op.f("ix_finance_settlement_contract_set_id"), table_name="finance_settlement")
    op.drop_table("finance_settlement")
    op.drop_index(op.f("ix_finance_contract_set_id"), table_name="finance_contract")
    op.drop_table("finance_contract")
    op.drop_index(op.f("ix_finance_contract_set_sha256"), table_name="finance_contract_set")
    op.drop_table("finance_contract_set")
