"""Record ingest: one row per file ingest run and the quarantined rows.

Revision ID: 0004_record_ingest
Revises: 0003_access
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.store.db import UTCDateTime

revision: str = "0004_record_ingest"
down_revision: str | None = "0003_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("org_code", sa.String(length=16), nullable=False),
        sa.Column("dataset", sa.String(length=32), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["superseded_by"],
            ["ingest_run.id"],
            name=op.f("fk_ingest_run_superseded_by_ingest_run"),
        ),
        sa.CheckConstraint(
            "status IN ('running', 'loaded', 'rejected', 'superseded')",
            name=op.f("ck_ingest_run_status_known"),
        ),
        sa.CheckConstraint(
            "status IN ('running', 'rejected') OR rows_read = rows_loaded + rows_quarantined",
            name=op.f("ck_ingest_run_rows_balance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_run")),
    )
    op.create_index(op.f("ix_ingest_run_org_code"), "ingest_run", ["org_code"], unique=False)
    op.create_index(op.f("ix_ingest_run_dataset"), "ingest_run", ["dataset"], unique=False)
    op.create_index(op.f("ix_ingest_run_sha256"), "ingest_run", ["sha256"], unique=False)
    op.create_index(op.f("ix_ingest_run_status"), "ingest_run", ["status"], unique=False)
    op.create_table(
        "quarantine_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("column_name", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["ingest_run.id"], name=op.f("fk_quarantine_row_run_id_ingest_run")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'replayed', 'fixed')",
            name=op.f("ck_quarantine_row_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_row")),
    )
    op.create_index(op.f("ix_quarantine_row_run_id"), "quarantine_row", ["run_id"], unique=False)
    op.create_index(op.f("ix_quarantine_row_status"), "quarantine_row", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantine_row_status"), table_name="quarantine_row")
    op.drop_index(op.f("ix_quarantine_row_run_id"), table_name="quarantine_row")
    op.drop_table("quarantine_row")
    op.drop_index(op.f("ix_ingest_run_status"), table_name="ingest_run")
    op.drop_index(op.f("ix_ingest_run_sha256"), table_name="ingest_run")
    op.drop_index(op.f("ix_ingest_run_dataset"), table_name="ingest_run")
    op.drop_index(op.f("ix_ingest_run_org_code"), table_name="ingest_run")
    op.drop_table("ingest_run")
