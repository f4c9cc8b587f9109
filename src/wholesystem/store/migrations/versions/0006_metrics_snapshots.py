"""Metrics: published snapshots, their values, and agreed SPC rebases.

Revision ID: 0006_metrics_snapshots
Revises: 0005_access_ig

Snapshots are immutable in the database itself: triggers refuse UPDATE and DELETE of a
published ``metric_snapshot`` row and any UPDATE or DELETE of ``metric_value`` (and
TRUNCATE of either on PostgreSQL). A correction is a new snapshot.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.metrics.models import ExactDecimal
from wholesystem.store.db import UTCDateTime

revision: str = "0006_metrics_snapshots"
down_revision: str | None = "0005_access_ig"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER metric_snapshot_no_update BEFORE UPDATE ON metric_snapshot
    WHEN OLD.status = 'published'
    BEGIN SELECT RAISE(ABORT, 'metric_snapshot is immutable once published: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER metric_snapshot_no_delete BEFORE DELETE ON metric_snapshot
    WHEN OLD.status = 'published'
    BEGIN SELECT RAISE(ABORT, 'metric_snapshot is immutable once published: DELETE refused'); END
    """,
    """
    CREATE TRIGGER metric_value_no_update BEFORE UPDATE ON metric_value
    BEGIN SELECT RAISE(ABORT, 'metric_value is immutable: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER metric_value_no_delete BEFORE DELETE ON metric_value
    BEGIN SELECT RAISE(ABORT, 'metric_value is immutable: DELETE refused'); END
    """,
)

_POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION metric_snapshot_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'TRUNCATE' AND OLD.status <> 'published' THEN
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'metric_snapshot is immutable once published: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER metric_snapshot_immutable BEFORE UPDATE OR DELETE ON metric_snapshot
    FOR EACH ROW EXECUTE FUNCTION metric_snapshot_immutable()
    """,
    """
    CREATE TRIGGER metric_snapshot_no_truncate BEFORE TRUNCATE ON metric_snapshot
    FOR EACH STATEMENT EXECUTE FUNCTION metric_snapshot_immutable()
    """,
    """
    CREATE FUNCTION metric_value_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'metric_value is immutable: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER metric_value_immutable BEFORE UPDATE OR DELETE ON metric_value
    FOR EACH ROW EXECUTE FUNCTION metric_value_immutable()
    """,
    """
    CREATE TRIGGER metric_value_no_truncate BEFORE TRUNCATE ON metric_value
    FOR EACH STATEMENT EXECUTE FUNCTION metric_value_immutable()
    """,
)


def upgrade() -> None:
    op.create_table(
        "metric_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("data_cut_off", sa.Date(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("metric_count", sa.Integer(), nullable=False),
        sa.Column("value_count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("audit_head_seq", sa.Integer(), nullable=False),
        sa.Column("audit_head_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "status IN ('publishing', 'published')",
            name=op.f("ck_metric_snapshot_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_snapshot")),
    )
    op.create_index(
        op.f("ix_metric_snapshot_published_at"), "metric_snapshot", ["published_at"], unique=False
    )
    op.create_index(
        op.f("ix_metric_snapshot_content_hash"), "metric_snapshot", ["content_hash"], unique=False
    )
    op.create_index(op.f("ix_metric_snapshot_status"), "metric_snapshot", ["status"], unique=False)
    op.create_table(
        "metric_value",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.String(length=64), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("area_kind", sa.String(length=16), nullable=False),
        sa.Column("numerator", ExactDecimal(), nullable=True),
        sa.Column("denominator", ExactDecimal(), nullable=True),
        sa.Column("value", ExactDecimal(), nullable=True),
        sa.CheckConstraint(
            "area_kind IN ('system', 'place', 'neighbourhood', 'practice', 'organisation')",
            name=op.f("ck_metric_value_area_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["metric_snapshot.id"],
            name=op.f("fk_metric_value_snapshot_id_metric_snapshot"),
        ),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "metric_id", "area_code", "period", name=op.f("pk_metric_value")
        ),
    )
    op.create_index(
        "ix_metric_value_snapshot_area", "metric_value", ["snapshot_id", "area_code"], unique=False
    )
    op.create_table(
        "metric_rebase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.String(length=64), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("rebase_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("agreed_by", sa.String(length=64), nullable=False),
        sa.Column("agreed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_rebase")),
    )
    op.create_index(
        "ix_metric_rebase_metric_area", "metric_rebase", ["metric_id", "area_code"], unique=False
    )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        statements: Sequence[str] = _SQLITE_TRIGGERS
    elif dialect == "postgresql":
        statements = _POSTGRESQL_TRIGGERS
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"no immutability triggers for database dialect {dialect!r}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_metric_rebase_metric_area", table_name="metric_rebase")
    op.drop_table("metric_rebase")
    # DROP TABLE fires no row triggers, so the immutability triggers do not stop a downgrade.
    op.execute("DROP TABLE metric_value")
    op.execute("DROP TABLE metric_snapshot")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION metric_value_immutable()")
        op.execute("DROP FUNCTION metric_snapshot_immutable()")
