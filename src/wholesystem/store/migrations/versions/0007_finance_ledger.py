"""Finance: the open-book ledger (versioned returns), control totals and transfer sets.

Revision ID: 0007_finance_ledger
Revises: 0006_metrics_snapshots

Returns are versioned, never overwritten: a resubmission is a new ``finance_submission``
row. Transfer decisions are rows of ``finance_transfer_event``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.finance.models import Money
from wholesystem.store.db import UTCDateTime

revision: str = "0007_finance_ledger"
down_revision: str | None = "0006_metrics_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_finance_submission_version_positive")),
        sa.CheckConstraint(
            "source IN ('upload', 'form', 'returns', 'backfill')",
            name=op.f("ck_finance_submission_source_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_submission")),
        sa.UniqueConstraint(
            "org_code", "period", "version", name=op.f("uq_finance_submission_org_code")
        ),
    )
    op.create_index(
        op.f("ix_finance_submission_org_code"), "finance_submission", ["org_code"], unique=False
    )
    op.create_index(
        op.f("ix_finance_submission_period"), "finance_submission", ["period"], unique=False
    )
    op.create_table(
        "finance_submission_line",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("plan", Money(), nullable=False),
        sa.Column("actual", Money(), nullable=False),
        sa.Column("forecast", Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["finance_submission.id"],
            name=op.f("fk_finance_submission_line_submission_id_finance_submission"),
        ),
        sa.PrimaryKeyConstraint(
            "submission_id", "account", name=op.f("pk_finance_submission_line")
        ),
    )
    op.create_table(
        "finance_control_total",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_control_total")),
    )
    op.create_index(
        op.f("ix_finance_control_total_org_code"),
        "finance_control_total",
        ["org_code"],
        unique=False,
    )
    op.create_table(
        "finance_transfer_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("financial_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected')",
            name=op.f("ck_finance_transfer_set_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_transfer_set")),
    )
    op.create_table(
        "finance_transfer_leg",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["finance_transfer_set.id"],
            name=op.f("fk_finance_transfer_leg_set_id_finance_transfer_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_transfer_leg")),
    )
    op.create_index(
        op.f("ix_finance_transfer_leg_set_id"), "finance_transfer_leg", ["set_id"], unique=False
    )
    op.create_table(
        "finance_transfer_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["finance_transfer_set.id"],
            name=op.f("fk_finance_transfer_event_set_id_finance_transfer_set"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_transfer_event")),
    )
    op.create_index(
        op.f("ix_finance_transfer_event_set_id"),
        "finance_transfer_event",
        ["set_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_finance_transfer_event_set_id"), table_name="finance_transfer_event")
    op.drop_table("finance_transfer_event")
    op.drop_index(op.f("ix_finance_transfer_leg_set_id"), table_name="finance_transfer_leg")
    op.drop_table("finance_transfer_leg")
    op.drop_table("finance_transfer_set")
    op.drop_index(op.f("ix_finance_control_total_org_code"), table_name="finance_control_total")
    op.drop_table("finance_control_total")
    op.drop_table("finance_submission_line")
    op.drop_index(op.f("ix_finance_submission_period"), table_name="finance_submission")
    op.drop_index(op.f("ix_finance_submission_org_code"), table_name="finance_submission")
    op.drop_table("finance_submission")
